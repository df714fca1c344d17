"""A small ETL job over JDBC for crates/sparkplane/tests/it/cli_lineage.rs.

Reads sales.orders from PostgreSQL (the password inside the JDBC URL, as
users often write it), writes the totals per customer back to PostgreSQL
(sales.totals, the password as a connection property) and to a Parquet
directory, and counts the rows of a JDBC query. Arguments: the JDBC URL
without credentials, a file holding the password (so it is on no command
line), the Parquet output path.
"""

import sys

from pyspark.sql import SparkSession, functions as F

url, password_file, parquet_out = sys.argv[1], sys.argv[2], sys.argv[3]
with open(password_file) as f:
    password = f.read().strip()

spark = SparkSession.builder.appName("jdbc-lineage").getOrCreate()
orders = spark.read.jdbc(f"{url}?user=postgres&password={password}", "sales.orders")
totals = orders.groupBy("customer").agg(F.sum("amount").alias("total"))
properties = {"user": "postgres", "password": password, "driver": "org.postgresql.Driver"}
totals.write.jdbc(url, "sales.totals", mode="overwrite", properties=properties)
totals.write.mode("overwrite").parquet(parquet_out)
big = (
    spark.read.format("jdbc")
    .option("url", url)
    .option("user", "postgres")
    .option("password", password)
    .option("query", "select id from sales.orders where amount > 8")
    .load()
)
print(f"LINEAGE-JOB big_orders={big.count()}")
spark.stop()
