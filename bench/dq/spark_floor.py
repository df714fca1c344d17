"""The floor under any check engine on Spark: the time a fresh classic
session (probe_session's: local[2], 1 GiB driver) takes to start and read
every column of DATASET_DIR's Parquet once, checking nothing.

With --suite it is the floor of bench/dq's suite (checks.json) instead. The
pass reads only the columns whose values some check needs: a plan may take
a column's null count and the row count from the Parquet footers'
statistics, so a column that only a not-null check names (or only a
not-null and a uniqueness check, which reads the column itself) need not
be read. The same pass counts the values that miss the suite's regex, sent
as the spark engine sends it (the whole value, `(?U)` for Rust's Unicode
classes), and a second query then counts the duplicate ids with the
planner's own uniqueness query (probe-plan.json's second). Those are the
two checks of the suite whose cost per value no plan can share away, so a
goal below this cannot be met by any query plan on the same Spark.

Prints one JSON line: seconds to start Spark, to read, to count the
duplicates, in total (from the interpreter's start); the rows and columns
read; the regex misses and duplicate ids it counted (to hold against the
engines' reports).

Usage: spark_floor.py DATASET_DIR [--suite]
Run with SPARK_HOME pointing at the managed 4.1 runtime's pyspark (spark_run.sh does).
"""

import argparse
import json
import os
import time

START = time.time()

from pyspark.sql import functions as F  # noqa: E402 - timed from the interpreter's start

from probe_session import session  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--suite", action="store_true")
    args = parser.parse_args()
    spark = session()
    started = time.time()
    frame = spark.read.parquet(args.dataset)
    columns = frame.columns
    regex = None
    if args.suite:
        checks = load("checks.json")
        columns = list(dict.fromkeys([*checks["range"], *checks["accepted"], *checks["regex"]]))
        column, pattern = next(iter(checks["regex"].items()))
        regex = F.count_if(~F.col(f"`{column}`").rlike(f"(?U)\\A(?:{pattern})\\z"))
    measures = [F.count(F.col(f"`{name}`")) for name in columns]
    counts = frame.select(F.count(F.lit(1)), *measures, *([regex] if regex is not None else [])).first()
    read = time.time()
    keyed = distinct = None
    if args.suite:
        frame.createOrReplaceTempView("sparkplane_dq_data")
        keyed, distinct = spark.sql(load("probe-plan.json")["queries"][1]).first()
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
                "regexMisses": counts[-1] if regex is not None else None,
                "duplicates": None if keyed is None else keyed - distinct,
            }
        )
    )


if __name__ == "__main__":
    main()
