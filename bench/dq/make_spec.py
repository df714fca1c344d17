"""Writes the sparkplane DataQuality spec for checks.json over DATASET.

Usage: make_spec.py DATASET NAME [--numeric-only] [--approximate-above N] > spec.yaml

--approximate-above sets the uniqueness check's `approximateAbove` (the native
engine's exact key set turns into a HyperLogLog estimate above that many
distinct keys; default 10,000,000).
"""

import json
import os
import sys


def main() -> None:
    dataset, name = sys.argv[1], sys.argv[2]
    numeric_only = "--numeric-only" in sys.argv
    approximate_above = None
    if "--approximate-above" in sys.argv:
        approximate_above = int(sys.argv[sys.argv.index("--approximate-above") + 1])
    checks = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "checks.json")))
    out = [
        "apiVersion: sparkplane.dev/v1alpha1",
        "kind: DataQuality",
        f"metadata: {{name: {name}}}",
        f"dataset: {{path: {dataset}}}",
        "checks:",
        "  - name: rows",
        f"    rowCount: {{min: {checks['row_count_min']}}}",
    ]
    numeric = set(checks["range"])
    for col in checks["not_null"]:
        if numeric_only and col not in numeric:
            continue
        out += [f"  - name: {col}-not-null", f"    notNull: {{column: {col}}}"]
    for col, (lo, hi) in checks["range"].items():
        out += [f"  - name: {col}-range", f"    range: {{column: {col}, min: {lo}, max: {hi}}}"]
    if not numeric_only:
        for col, values in checks["accepted"].items():
            out += [f"  - name: {col}-accepted", f"    acceptedValues: {{column: {col}, values: {json.dumps(values)}}}"]
        for col, pattern in checks["regex"].items():
            out += [f"  - name: {col}-regex", f"    regex: {{column: {col}, pattern: '{pattern}'}}"]
        for col in checks["unique"]:
            extra = f", approximateAbove: {approximate_above}" if approximate_above else ""
            out += [f"  - name: {col}-unique", f"    unique: {{columns: [{col}]{extra}}}"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
