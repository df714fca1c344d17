"""Trips ETL: raw trips (CSV) -> cleaned, deduplicated, daily-aggregated Parquet.

Usage: trips_etl.py --input DIR --output DIR
"""

import argparse

from pyspark.sql import SparkSession, functions as F


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    spark = SparkSession.builder.appName("trips-etl").getOrCreate()
    raw = spark.read.option("header", True).option("inferSchema", True).csv(args.input)
    clean = (
        raw.where((F.col("distance_km") > 0) & (F.col("fare") >= 0))
        .withColumn("pickup_date", F.to_date("pickup_ts"))
        .dropDuplicates(["trip_id"])
    )
    daily = clean.groupBy("pickup_date", "zone").agg(
        F.count("*").alias("trips"),
        F.sum("fare").alias("fare_total"),
        F.avg("distance_km").alias("distance_avg_km"),
    )
    daily.write.mode("overwrite").partitionBy("pickup_date").parquet(args.output)
    spark.stop()


if __name__ == "__main__":
    main()
