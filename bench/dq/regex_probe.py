"""What Java's Unicode flag costs a regex check on Spark (ADR 0075, addendum
of 2026-11-27 afternoon): in one classic session (probe_session's), the
suite's regex over DATASET_DIR's `code` column as the spark engine sends it
(`(?U)\\A(?:…)\\z`) and without the flag (the same matches for a pattern with
no backslash and no inline flag), alternating, ROUNDS times each, plus a
plain count of the column (the read alone). Prints one JSON line per query
and round: which, seconds, and the count (the two regex forms must agree).
Round 0 is cold, and whichever query runs first pays more of the JIT's
warm-up, so compare the warm rounds' medians.

Usage: regex_probe.py DATASET_DIR [ROUNDS]   (default 4)
Run with SPARK_HOME pointing at the managed 4.1 runtime's pyspark.
"""

import json
import os
import sys
import time

from probe_session import session


def main():
    dataset, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4
    spark = session()
    spark.read.parquet(dataset).createOrReplaceTempView("t")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks.json")) as f:
        column, pattern = next(iter(json.load(f)["regex"].items()))
    whole = "\\\\A(?:%s)\\\\z" % pattern
    queries = {
        "flag": f"SELECT count_if(NOT (`{column}` RLIKE '(?U){whole}')) FROM t",
        "no-flag": f"SELECT count_if(NOT (`{column}` RLIKE '{whole}')) FROM t",
        "read": f"SELECT count(`{column}`) FROM t",
    }
    for r in range(rounds):
        for name, query in queries.items():
            started = time.time()
            count = spark.sql(query).first()[0]
            print(json.dumps({"round": r, "query": name, "s": round(time.time() - started, 2), "count": count}), flush=True)


if __name__ == "__main__":
    main()
