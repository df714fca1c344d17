"""Writes a real Spark event log of a chosen size for the event-log benchmark.

Run with the Python of a sparkplane-managed runtime, e.g.
    ~/.local/share/sparkplane/runtimes/3.5/venv/bin/python bench/eventlog/make_logs.py \
        --out ~/.cache/sparkplane/bench/eventlog/raw --tasks-per-stage 25000 --rounds 4

Each round is one SQL query (range -> aggregate) whose two stages have
`--tasks-per-stage` tasks each, so the log is dominated by task events, as the
logs of large production jobs are. About 5.4 KB of JSON per task with Spark 3.5:
200,000 tasks make a log of a little over 1 GB. The log is a single
uncompressed file (no rolling, no codec); compressed copies are made by
bench/eventlog/run.sh.
"""
import argparse
import os
import time

from pyspark.sql import SparkSession

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True, help="event-log directory to write into")
parser.add_argument("--tasks-per-stage", type=int, default=25000)
parser.add_argument("--rounds", type=int, default=4)
parser.add_argument("--name", default="sparkplane-eventlog-bench")
args = parser.parse_args()

os.makedirs(args.out, exist_ok=True)
spark = (
    SparkSession.builder.master("local[2]")
    .appName(args.name)
    .config("spark.eventLog.enabled", "true")
    .config("spark.eventLog.dir", "file://" + os.path.abspath(args.out))
    .config("spark.eventLog.compress", "false")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.sql.adaptive.enabled", "false")
    .config("spark.sql.shuffle.partitions", str(args.tasks_per_stage))
    .config("spark.driver.memory", "3g")
    .config("spark.kubernetes.driver.label.sparkplane.dev/team", "bench")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
started = time.time()
for _ in range(args.rounds):
    n = args.tasks_per_stage
    spark.range(0, n * 100, 1, n).selectExpr("id % 97 as k", "id as v").groupBy("k").sum("v").collect()
print("app", spark.sparkContext.applicationId, "seconds", round(time.time() - started, 1))
spark.stop()
