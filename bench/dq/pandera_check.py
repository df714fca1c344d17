"""The checks of checks.json with pandera (pandas backend).

Usage: pandera_check.py DATASET_DIR   (prints a JSON line: load and validate seconds, success)
"""

import glob
import json
import os
import sys
import time

import pandas as pd
import pandera
import pandera.pandas as pa


def main() -> None:
    checks = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks.json")))
    numeric_only = "--numeric-only" in sys.argv
    t0 = time.perf_counter()
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.parquet")))
    columns = list(checks["range"]) if numeric_only else None
    df = pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
    t1 = time.perf_counter()
    numeric = set(checks["range"])
    cols = {}
    for col in checks["not_null"]:
        if numeric_only and col not in numeric:
            continue
        col_checks = []
        if col in checks["range"]:
            lo, hi = checks["range"][col]
            col_checks.append(pa.Check.in_range(lo, hi))
        if col in checks["accepted"]:
            col_checks.append(pa.Check.isin(checks["accepted"][col]))
        if col in checks["regex"]:
            col_checks.append(pa.Check.str_matches(f"^{checks['regex'][col]}$"))
        cols[col] = pa.Column(checks=col_checks, nullable=False, unique=(not numeric_only and col in checks["unique"]))
    schema = pa.DataFrameSchema(cols, checks=[pa.Check(lambda d: len(d) >= checks["row_count_min"])])
    success = True
    try:
        schema.validate(df, lazy=True)
    except pandera.errors.SchemaErrors:
        success = False
    t2 = time.perf_counter()
    print(json.dumps({"tool": "pandera", "version": pandera.__version__, "rows": len(df),
                      "load_s": round(t1 - t0, 2), "validate_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
                      "success": success}))


if __name__ == "__main__":
    main()
