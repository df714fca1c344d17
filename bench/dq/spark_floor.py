"""The floor under any check engine on Spark: the time a fresh classic
session (probe_session's: local[2], 1 GiB driver) takes to start and read
every column of DATASET_DIR's Parquet once, checking nothing.

With --columns A,B,… the pass reads only those columns: the ones whose
values some check needs. A plan may take a column's null count and the row
count from the Parquet footers' statistics, so a column that only a
not-null check names (or only a not-null and a uniqueness check, which
reads the column itself) need not be read. With --regex COLUMN PATTERN the
same pass also counts the values of COLUMN that do not match PATTERN as a
whole (Java syntax, as the spark engine sends it), and with --unique a
second query then counts the suite's duplicate ids with the planner's own
uniqueness query (probe-plan.json's second): the two checks of bench/dq's
suite whose cost per value no plan can share away. Together that is what
any plan for the suite costs at least on the same Spark, so a goal below it
cannot be met by any query plan.

Prints one JSON line: seconds to start Spark, to read, to count the
duplicates, in total (from the interpreter's start); the rows and columns
read; the regex misses and duplicate ids it counted (to hold against the
engines' reports).

Usage: spark_floor.py DATASET_DIR [--columns A,B,…] [--regex COLUMN PATTERN] [--unique]
Run with SPARK_HOME pointing at the managed 4.1 runtime's pyspark (spark_run.sh does).
"""

import argparse
import json
import os
import time

START = time.time()

from pyspark.sql import functions as F  # noqa: E402 - timed from the interpreter's start

from probe_session import session  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--regex", nargs=2, metavar=("COLUMN", "PATTERN"))
    parser.add_argument("--unique", action="store_true")
    parser.add_argument("--columns", help="comma-separated; default: every column")
    args = parser.parse_args()
    spark = session()
    started = time.time()
    frame = spark.read.parquet(args.dataset)
    columns = args.columns.split(",") if args.columns else frame.columns
    measures = [F.count(F.col(f"`{name}`")) for name in columns]
    if args.regex:
        column, pattern = args.regex
        measures.append(F.count_if(~F.col(f"`{column}`").rlike(pattern)))
    counts = frame.select(F.count(F.lit(1)), *measures).first()
    read = time.time()
    keyed = distinct = None
    if args.unique:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe-plan.json")) as f:
            query = json.load(f)["queries"][1]
        frame.createOrReplaceTempView("sparkplane_dq_data")
        keyed, distinct = spark.sql(query).first()
    unique = time.time()
    spark.stop()
    print(
        json.dumps(
            {
                "start_s": round(started - START, 2),
                "read_s": round(read - started, 2),
                "unique_s": round(unique - read, 2),
                "total_s": round(time.time() - START, 2),
                "rows": counts[0],
                "columns": len(columns),
                "regexMisses": counts[-1] if args.regex else None,
                "duplicates": None if keyed is None else keyed - distinct,
            }
        )
    )


if __name__ == "__main__":
    main()
