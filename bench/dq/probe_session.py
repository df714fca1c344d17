"""The one Spark session bench/dq's probes time queries in: classic Spark set
up as the spark engine's local Connect server runs the checks (local[2], a
1 GiB driver, UTC, ANSI off, no UI) and as ge_spark_check.py runs GE's."""

from pyspark.sql import SparkSession


def session():
    """A new (or the current) session, logging errors only."""
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
