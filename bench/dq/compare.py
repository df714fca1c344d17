"""Do sparkplane (native and spark engines) and Great Expectations report the same failures?

Reads `sparkplane dq check -o json` reports and, optionally, ge_spark_check.py's
JSON line, and compares check by check (make_spec.py's names):
- the verdict (pass/fail) of every check, in every report;
- the failing count: ours `failingRows` against GE's `unexpected_count`, except
  for `rows` (row count: ours `observed` against GE's observed value) and
  `unique` (ours counts duplicate keys, rows beyond the first of each key; GE
  counts every row whose key is not unique: with each duplicated key present
  exactly twice, as generate.py --faults writes them, GE's count is twice ours);
- between the two sparkplane engines also the examples (5 smallest distinct
  failing values). GE's partial list is the first 20 failing rows in scan order,
  with values rendered by Python, so it is not compared.
Prints one line per difference and exits 1 if there is any, else prints a summary.

Usage: compare.py NATIVE.json SPARK.json [GE.json]
"""

import json
import sys


def ours(path: str) -> dict:
    report = json.load(open(path))
    return {c["name"]: c for c in report["checks"]}


def main() -> None:
    native, spark = ours(sys.argv[1]), ours(sys.argv[2])
    ge = None
    if len(sys.argv) > 3:
        ge = json.loads(open(sys.argv[3]).read().strip().splitlines()[-1])["checks"]
    problems = []
    if set(native) != set(spark):
        problems.append(f"check names differ: native {sorted(native)} spark {sorted(spark)}")
    for name, n in sorted(native.items()):
        s = spark.get(name, {})
        for field in ("status", "failingRows", "observed", "examples"):
            if n.get(field) != s.get(field):
                problems.append(f"{name}: native {field}={n.get(field)!r}, spark {field}={s.get(field)!r}")
        if ge is None:
            continue
        g = ge.get(name)
        if g is None:
            problems.append(f"{name}: no GE expectation")
            continue
        if (n["status"] == "pass") != g["success"]:
            problems.append(f"{name}: sparkplane {n['status']}, GE success={g['success']}")
        if n["kind"] == "rowCount":
            mine, theirs = n.get("observed"), g["unexpected"]
        elif n["kind"] == "unique":
            mine, theirs = 2 * (n.get("failingRows") or 0), g["unexpected"]
        else:
            mine, theirs = n.get("failingRows") or 0, g["unexpected"]
        if mine is None or theirs is None or float(mine) != float(theirs):
            problems.append(f"{name}: sparkplane count {mine}, GE count {theirs}")
    for line in problems:
        print(line)
    failing = sorted(k for k, v in native.items() if v["status"] == "fail")
    tools = "native, spark and GE" if ge is not None else "native and spark"
    if problems:
        sys.exit(1)
    print(f"same verdicts and counts ({tools}) on {len(native)} checks; failing: {', '.join(failing) or 'none'}")


if __name__ == "__main__":
    main()
