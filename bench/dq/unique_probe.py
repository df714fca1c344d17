"""How much of the spark engine's time is its exact uniqueness query, and
would Spark's bitmap functions (3.5+: bitmap_bucket_number,
bitmap_bit_position, bitmap_construct_agg, bitmap_count) count the distinct
keys of an integer column for less? (docs/benchmarks.md, "Data-quality checks
on Spark", the uniqueness probe; issue #40.) Times, in one classic Spark
session configured as the local Connect server runs the checks (local[2], 1g
driver, UTC, ANSI off), over the benchmark's Parquet, three ways of counting
the non-null and the distinct values of `id`:

  G  the grouping query the planner sends for a key that is not a dense
     integer (and sent for every key until the bitmaps were built): every
     key grouped and shuffled
  B  the planner's query for this dataset's dense integer ids (probe-plan.json's
     second query, which crates/sparkplane-dq/tests/it/bench_plan.rs keeps equal
     to the planner's): one bitmap of 32,768 bits per bucket of keys, grouped
     by bucket, the distinct count the bitmaps' set bits, so only the buckets
     are shuffled (each bucket costs 4 KiB however few keys it holds, hence
     dense keys only)
  D  count(DISTINCT id) in a global aggregation, as Spark plans it

Prints one JSON line per run (the load average before it, seconds, the two
counts), then whether every run counted what G counted.

Usage: unique_probe.py DATASET_DIR [ORDER]   ORDER e.g. GBDGBD (default)
Run with SPARK_HOME pointing at the managed 4.1 runtime's pyspark.
"""

import json
import os
import sys
import time


from probe_session import session

HERE = os.path.dirname(os.path.abspath(__file__))
VIEW = "sparkplane_dq_data"


def main():
    data = sys.argv[1]
    order = sys.argv[2] if len(sys.argv) > 2 else "GBDGBD"
    with open(os.path.join(HERE, "probe-plan.json")) as f:
        bitmaps = json.load(f)["queries"][1]
    queries = {
        "G": (
            "SELECT coalesce(sum(n), 0) AS keyed, count(*) AS distinct_keys FROM "
            f"(SELECT count(*) AS n FROM `{VIEW}` WHERE `id` IS NOT NULL GROUP BY `id`) AS g"
        ),
        "B": bitmaps,
        "D": f"SELECT count(`id`) AS keyed, count(DISTINCT `id`) AS distinct_keys FROM `{VIEW}`",
    }
    spark = session()
    spark.read.parquet(data).createOrReplaceTempView(VIEW)
    answers = []
    for variant in order:
        load = os.getloadavg()[0]
        started = time.time()
        row = spark.sql(queries[variant]).collect()[0]
        seconds = round(time.time() - started, 2)
        answer = [int(row["keyed"]), int(row["distinct_keys"])]
        answers.append(answer)
        print(json.dumps({"variant": variant, "load1": load, "seconds": seconds, "keyed_distinct": answer}), flush=True)
    print(json.dumps({"answers_agree": all(a == answers[0] for a in answers)}))
    spark.stop()


if __name__ == "__main__":
    main()
