"""Reads a `sparkplane history export` with Spark SQL and checks it against `sparkplane cost`.

    PYSPARK_PYTHON bench/history/export_check.py SPARKPLANE LOGS FACTS

Run with the managed runtime's Python (it imports pyspark). Prints the rows of
each table and how long Spark took to count them, then, for every day in the
export, compares each team's cost that day (Spark's round(sum(cost_usd), 2))
with `sparkplane cost --by team -o json` over that day's logs (hard links in a
temporary folder). Exits 1 when any team and day differ by a cent or more.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from pyspark.sql import SparkSession

TABLES = ["applications", "jobs", "stages", "executors", "sql_executions"]


def main(sparkplane, logs, facts):
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for table in TABLES:
        started = time.time()
        spark.read.parquet(f"{facts}/{table}").createOrReplaceTempView(table)
        rows = spark.sql(f"SELECT count(*) AS n FROM {table}").collect()[0]["n"]
        print(f"{table}: {rows} rows, read and counted by Spark in {time.time() - started:.1f} s")
    started = time.time()
    by_day = spark.sql("SELECT CAST(date AS STRING) AS d, team, round(sum(cost_usd), 2) AS usd "
                       "FROM applications GROUP BY 1, 2").collect()
    print(f"per-team cost by day: {len(by_day)} rows in {time.time() - started:.1f} s")
    logs_of_day = defaultdict(list)
    for row in spark.sql("SELECT CAST(date AS STRING) AS d, log FROM applications").collect():
        logs_of_day[row["d"]].append(row["log"])
    exported = defaultdict(dict)
    for row in by_day:
        team = "(unattributed)" if row["team"] == "unknown" else row["team"]
        exported[row["d"]][team] = round(row["usd"] * 100)
    differ = 0
    with tempfile.TemporaryDirectory() as work:
        for day, names in sorted(logs_of_day.items()):
            folder = os.path.join(work, day or "none")
            os.makedirs(folder)
            for name in names:
                os.link(os.path.join(logs, name), os.path.join(folder, name))
            out = subprocess.run([sparkplane, "cost", folder, "--by", "team", "-o", "json"],
                                 capture_output=True, text=True, check=True)
            cost = {r["key"]: round(r["cost"] * 100) for r in json.loads(out.stdout)["rows"]}
            if cost != exported[day]:
                differ += 1
                print(f"{day}: cost says {cost}, the export says {exported[day]}")
    pairs = sum(len(t) for t in exported.values())
    print(f"{pairs} team-day totals over {len(exported)} days: {pairs if not differ else 'NOT all'} equal to the cent")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
