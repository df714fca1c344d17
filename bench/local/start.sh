#!/usr/bin/env bash
# A short local job's wall time: `sparkplane run` (its driver maps the
# runtime's class-data archive, ADR 0022 "Cold start") against the anchor,
# plain spark-submit of the same script with the same managed runtime
# (no archive), alternated RUNS rounds (default 5) after one untimed run of
# each (warm disk caches; sparkplane's first run writes the archive when the
# runtime has none). The job: Spark 3.5 (or SPARK_LINE), local[2], one small
# aggregation, the UI off for both.
#
#   bench/local/start.sh                   # from the repo root
#   SPARKPLANE_BIN=~/.cache/sparkplane/target/debug/sparkplane RUNS=7 bench/local/start.sh
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java

runs="${RUNS:-5}"
line="${SPARK_LINE:-3.5}"
if [ -z "${SPARKPLANE_BIN:-}" ]; then
  cargo build --release --locked -q -p sparkplane
fi
sp="${SPARKPLANE_BIN:-$CARGO_TARGET_DIR/release/sparkplane}"
"$sp" runtime install "$line" >&2
record="${SPARKPLANE_HOME:-$HOME/.local/share/sparkplane}/runtimes/$line/runtime.json"
python="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"])' "$record")"
spark_home="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sparkHome"])' "$record")"
version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pysparkVersion"])' "$record")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/small.py" <<'PY'
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("sum", spark.range(0, 100000, numPartitions=2).selectExpr("sum(id)").collect()[0][0])
spark.stop()
PY
cat >"$work/small.yaml" <<YAML
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: small}
spec:
  team: bench
  type: Python
  sparkVersion: "$version"
  mainApplicationFile: small.py
  sparkConf: {spark.ui.enabled: "false"}
YAML

ours() { (cd "$work" && "$sp" run small.yaml >/dev/null 2>"$work/ours.err") || { cat "$work/ours.err" >&2; exit 1; }; }
anchor() {
  (cd "$work" && SPARK_HOME="$spark_home" PYSPARK_PYTHON="$python" PYSPARK_DRIVER_PYTHON="$python" \
    "$spark_home/bin/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false small.py >"$work/anchor.out" 2>&1) \
    || { cat "$work/anchor.out" >&2; exit 1; }
  grep -q '^sum 4999950000$' "$work/anchor.out" || { cat "$work/anchor.out" >&2; exit 1; }
}
seconds() { local start end; start="$(date +%s.%N)"; "$@"; end="$(date +%s.%N)"; echo "$end - $start" | bc; }

ours; anchor
: >"$work/times"
for round in $(seq "$runs"); do
  echo "ours $(seconds ours)" >>"$work/times"
  echo "anchor $(seconds anchor)" >>"$work/times"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/times" "$line" <<'PY'
import statistics, sys
times = {}
for row in open(sys.argv[1]):
    who, s = row.split()
    times.setdefault(who, []).append(float(s))
print(f"| Spark {sys.argv[2]} short job, {len(times['ours'])} rounds | median s | min s | max s |")
print("|---|---|---|---|")
for who, label in (("ours", "sparkplane run (class-data archive)"), ("anchor", "spark-submit (no archive)")):
    v = times[who]
    print(f"| {label} | {statistics.median(v):.1f} | {min(v):.1f} | {max(v):.1f} |")
print(f"anchor / ours: {statistics.median(times['anchor']) / statistics.median(times['ours']):.2f}x")
PY
