"""Would observed metrics make the spark engine's shared query cheaper?
(docs/benchmarks.md, "Data-quality checks on Spark", the observed-metrics
probe; issue #40.) Times, in one classic Spark session configured as the
local Connect server and ge_spark_check.py run theirs (local[2], 1g driver,
UTC, ANSI off), over the benchmark's Parquet, variants of the queries the
planner sends for the benchmark's suite (probe-plan.json, which
crates/sparkplane-dq/tests/it/bench_plan.rs keeps equal to the planner's plan):

  A  today's plan: the shared query (measures and bounded examples in one
     grouping over inline_outer), then the uniqueness query
  B  the measures as observed metrics (DataFrame.observe, Spark Connect's
     CollectMetrics) on the scan, only the failing rows streamed into the
     examples' grouping (the same grouping and rank), then the uniqueness query
  C  the measures alone as one global aggregation, no examples (a floor for
     the shared query: what it would cost if examples were free)
  D  the measures observed on the uniqueness query's own scan, no examples
     (a floor for folding the shared pass into the grouping check's)

Prints one JSON line per run, with the load average before it, then whether
every run answered as A did (every measure, the examples, the uniqueness
counts).

Usage: observe_probe.py DATASET_DIR [ORDER]   ORDER e.g. ABAB (default), CBABAC
Run with SPARK_HOME pointing at the managed 4.1 runtime's pyspark.
"""

import json
import os
import sys
import time

from pyspark.sql import functions as F

from probe_session import session

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK, VALUE = "sparkplane_dq_check", "sparkplane_dq_value"


def split_top(text):
    """`text` split at the commas outside parentheses and quotes."""
    out, depth, cur, quote, i = [], 0, "", None, 0
    while i < len(text):
        c = text[i]
        cur += c
        if quote:
            if c == "\\":
                cur += text[i + 1]
                i += 1
            elif c == quote:
                quote = None
        elif c in "'`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(cur[:-1].strip())
            cur = ""
        i += 1
    out.append(cur.strip())
    return out


def between(text, start, end):
    i = text.index(start) + len(start)
    return text[i : text.index(end, i)]


def parts(shared):
    """The shared query's measures, flags, any-failure condition and failing entries."""
    grouped = shared[shared.index(f"SELECT {CHECK}, {VALUE}, ") :]
    measures = between(grouped, f"SELECT {CHECK}, {VALUE}, ", " FROM (SELECT *, ")
    flags = between(grouped, " FROM (SELECT *, ", " FROM `sparkplane_dq_data`) AS x LATERAL VIEW inline_outer(")
    failing = between(grouped, "inline_outer(", f") AS {CHECK}, {VALUE} GROUP BY")
    any_flag = between(failing, "CASE WHEN ", " THEN ")
    entries = failing[failing.index("filter(array(") : failing.rindex(")) END") + 1]
    return split_top(measures), flags, any_flag, entries


def main():
    data = os.path.abspath(sys.argv[1])
    order = sys.argv[2] if len(sys.argv) > 2 else "ABAB"
    plan = json.load(open(os.path.join(HERE, "probe-plan.json")))
    shared, unique = plan["queries"]
    measures, flags, any_flag, entries = parts(shared)
    spark = session()
    for statement in plan["setup"]:
        spark.sql(statement.replace("'file:/DATA'", "'file:" + data + "'"))
    source = f"SELECT *, {flags} FROM `sparkplane_dq_data`"

    def observed(view, name):
        frame = spark.sql(source).observe(name, *[F.expr(m) for m in measures])
        frame.createOrReplaceTempView(view)

    def metrics(frame, name):
        return json.loads(frame._jdf.queryExecution().observedMetrics().get(name).get().json())

    def run_a():
        t0 = time.perf_counter()
        rows = spark.sql(shared).collect()
        t1 = time.perf_counter()
        u = spark.sql(unique).collect()[0]
        m = [r.asDict() for r in rows if r["ex_check"] is None][0]
        ex = sorted((r["ex_check"], r["ex_value"]) for r in rows if r["ex_check"] is not None)
        return {"shared_s": t1 - t0, "unique_s": time.perf_counter() - t1, "m": m, "ex": ex, "u": u.asDict()}

    def run_b():
        t0 = time.perf_counter()
        observed("sparkplane_dq_observed", "sparkplane_dq")
        frame = spark.sql(
            f"SELECT qc AS ex_check, qv AS ex_value FROM (SELECT qc, qv, row_number() OVER (PARTITION BY qc ORDER BY qv) AS qr "
            f"FROM (SELECT qc, qv FROM (SELECT * FROM sparkplane_dq_observed WHERE {any_flag}) AS x "
            f"LATERAL VIEW inline({entries}) AS qc, qv GROUP BY qc, qv) AS g) AS w WHERE qr <= 5"
        )
        ex = sorted((r["ex_check"], r["ex_value"]) for r in frame.collect())
        m = metrics(frame, "sparkplane_dq")
        t1 = time.perf_counter()
        u = spark.sql(unique).collect()[0]
        return {"shared_s": t1 - t0, "unique_s": time.perf_counter() - t1, "m": m, "ex": ex, "u": u.asDict()}

    def run_c():
        t0 = time.perf_counter()
        m = spark.sql(f"SELECT {', '.join(measures)} FROM ({source}) AS x").collect()[0].asDict()
        return {"shared_s": time.perf_counter() - t0, "m": m}

    def run_d():
        t0 = time.perf_counter()
        observed("sparkplane_dq_observed_u", "sparkplane_dq_u")
        frame = spark.sql(unique.replace("`sparkplane_dq_data`", "sparkplane_dq_observed_u"))
        u = frame.collect()[0]
        m = metrics(frame, "sparkplane_dq_u")
        return {"fused_s": time.perf_counter() - t0, "m": m, "u": u.asDict()}

    runs = []
    for variant in order:
        load = open("/proc/loadavg").read().split()[0]
        r = {"A": run_a, "B": run_b, "C": run_c, "D": run_d}[variant]()
        runs.append(r)
        out = {"variant": variant, "load1": float(load)}
        out.update({k: round(v, 1) for k, v in r.items() if k.endswith("_s")})
        out.update({"rows": r["m"]["m0"], "examples": len(r.get("ex", [])), "distinct_keys": r.get("u", {}).get("distinct_keys")})
        print(json.dumps(out), flush=True)
    # Every run answered as today's plan did: each measure (floats to 1e-9 relative, since
    # Spark sums in partition order), the examples, the uniqueness counts.
    reference = next((r for v, r in zip(order, runs) if v == "A"), None)

    def close(a, b):
        if isinstance(a, float) and isinstance(b, float):
            return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
        return a == b

    agree = reference is not None and all(
        all(close(r["m"][k], v) for k, v in reference["m"].items() if k.startswith("m"))
        and r.get("ex", reference["ex"]) == reference["ex"]
        and r.get("u", reference["u"]) == reference["u"]
        for r in runs
    )
    print(json.dumps({"answers_agree_with_A": agree if reference else None}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
