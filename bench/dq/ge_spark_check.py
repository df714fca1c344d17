"""The checks of checks.json with Great Expectations' Spark execution engine.

Runs on a classic local Spark session configured as sparkplane's local Spark
Connect server runs its sessions (local[2], 1g driver memory, UTC session time
zone, ANSI off, event log on), reads DATASET_DIR's Parquet into one DataFrame
and validates one suite, the GE form of bench/dq/make_spec.py's spec, check
for check (expectation names below). Prints one JSON line: seconds to start
Spark, to validate, in total; per expectation its success and unexpected
count; how many SQL executions and Parquet scans the event log shows.

Usage: ge_spark_check.py DATASET_DIR [--event-log-dir DIR] [--no-persist]
Run with SPARK_HOME pointing at the managed 4.1 runtime's pyspark (spark_run.sh does).
"""

import argparse
import glob
import io
import json
import os
import re
import time

import great_expectations as gx
import pyarrow as pa
from pyspark.sql import SparkSession

HERE = os.path.dirname(os.path.abspath(__file__))


def spark_config(event_log_dir: str) -> dict:
    return {
        "spark.master": "local[2]",
        "spark.driver.memory": "1g",
        "spark.app.name": "ge-bench",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": f"file:{event_log_dir}",
    }


def suite_for(checks: dict) -> list:
    """(our check name, GE expectation) in make_spec.py's order."""
    E = gx.expectations
    out = [("rows", E.ExpectTableRowCountToBeBetween(min_value=checks["row_count_min"]))]
    for col in checks["not_null"]:
        out.append((f"{col}-not-null", E.ExpectColumnValuesToNotBeNull(column=col)))
    for col, (lo, hi) in checks["range"].items():
        out.append((f"{col}-range", E.ExpectColumnValuesToBeBetween(column=col, min_value=lo, max_value=hi)))
    for col, values in checks["accepted"].items():
        out.append((f"{col}-accepted", E.ExpectColumnValuesToBeInSet(column=col, value_set=values)))
    for col, pattern in checks["regex"].items():
        # Ours matches the whole value; GE's regex is a search, so anchor it.
        out.append((f"{col}-regex", E.ExpectColumnValuesToMatchRegex(column=col, regex=f"^{pattern}$")))
    for col in checks["unique"]:
        out.append((f"{col}-unique", E.ExpectColumnValuesToBeUnique(column=col)))
    return out


def count_scans(event_log_dir: str, app_id: str) -> dict:
    """SQL executions and Parquet file scans in the application's event log
    (Spark 4's default: a rolling directory of zstd-compressed parts)."""
    executions, scans, cached = 0, 0, 0
    parts = sorted(glob.glob(os.path.join(event_log_dir, f"eventlog_v2_{app_id}", "events_*")))
    parts += glob.glob(os.path.join(event_log_dir, f"{app_id}*"))
    for path in parts:
        codec = "zstd" if path.endswith(".zstd") else None
        with pa.input_stream(path, compression=codec) as raw:
            for line in io.TextIOWrapper(raw, encoding="utf-8"):
                if "SparkListenerSQLExecutionStart" not in line:
                    continue
                event = json.loads(line)
                executions += 1
                # One numbered detail line per plan node: "(3) Scan parquet ", "(1) InMemoryTableScan".
                plan = event.get("physicalPlanDescription", "")
                scans += len(re.findall(r"(?m)^\(\d+\) Scan parquet ", plan))
                cached += len(re.findall(r"(?m)^\(\d+\) InMemoryTableScan", plan))
    return {"sqlExecutions": executions, "parquetScans": scans, "cachedScans": cached}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--event-log-dir", default="/tmp/ge-spark-events")
    parser.add_argument("--no-persist", action="store_true", help="GE's persist=False (default: GE's own, True)")
    args = parser.parse_args()
    checks = json.load(open(os.path.join(HERE, "checks.json")))
    os.makedirs(args.event_log_dir, exist_ok=True)
    t0 = time.perf_counter()
    conf = spark_config(args.event_log_dir)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    app_id = spark.sparkContext.applicationId
    t1 = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_spark("bench", spark_config=conf, persist=not args.no_persist)
    batch = (
        source.add_dataframe_asset("t")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": spark.read.parquet(args.dataset)})
    )
    named = suite_for(checks)
    suite = context.suites.add(gx.ExpectationSuite(name="bench"))
    for _, expectation in named:
        suite.add_expectation(expectation)
    result = batch.validate(suite)
    t2 = time.perf_counter()
    by_id = {r.expectation_config.id: r for r in result.results}
    per_check = {}
    for (name, _), expectation in zip(named, suite.expectations):
        r = by_id[expectation.id]
        res = r.result or {}
        per_check[name] = {
            "success": bool(r.success),
            "unexpected": res.get("unexpected_count", res.get("observed_value")),
            "examples": sorted(str(v) for v in (res.get("partial_unexpected_list") or []))[:5],
        }
    spark.stop()
    print(json.dumps({
        "tool": "great_expectations-spark", "version": gx.__version__, "spark": spark.version,
        "persist": not args.no_persist, "start_s": round(t1 - t0, 2), "validate_s": round(t2 - t1, 2),
        "total_s": round(t2 - t0, 2), "success": bool(result.success), "expectations": len(named),
        "checks": per_check, **count_scans(args.event_log_dir, app_id),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
