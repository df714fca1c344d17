"""The checks of checks.json with Great Expectations (pandas engine).

Usage: ge_check.py DATASET_DIR   (prints a JSON line: load and validate seconds, success)
"""

import glob
import json
import os
import sys
import time

import pandas as pd
import great_expectations as gx


def main() -> None:
    checks = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks.json")))
    numeric_only = "--numeric-only" in sys.argv
    t0 = time.perf_counter()
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.parquet")))
    columns = list(checks["range"]) if numeric_only else None
    df = pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
    t1 = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("t")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = context.suites.add(gx.ExpectationSuite(name="bench"))
    E = gx.expectations
    suite.add_expectation(E.ExpectTableRowCountToBeBetween(min_value=checks["row_count_min"]))
    numeric = set(checks["range"])
    for col in checks["not_null"]:
        if not numeric_only or col in numeric:
            suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column=col))
    for col, (lo, hi) in checks["range"].items():
        suite.add_expectation(E.ExpectColumnValuesToBeBetween(column=col, min_value=lo, max_value=hi))
    if not numeric_only:
        for col, values in checks["accepted"].items():
            suite.add_expectation(E.ExpectColumnValuesToBeInSet(column=col, value_set=values))
        for col, pattern in checks["regex"].items():
            suite.add_expectation(E.ExpectColumnValuesToMatchRegex(column=col, regex=f"^{pattern}$"))
        for col in checks["unique"]:
            suite.add_expectation(E.ExpectColumnValuesToBeUnique(column=col))
    result = batch.validate(suite)
    t2 = time.perf_counter()
    print(json.dumps({"tool": "great_expectations", "version": gx.__version__, "rows": len(df),
                      "load_s": round(t1 - t0, 2), "validate_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
                      "success": bool(result.success), "expectations": len(suite.expectations)}))


if __name__ == "__main__":
    main()
