#!/usr/bin/env bash
# The observed-metrics probe (docs/benchmarks.md, "Data-quality checks on
# Spark"; issue #40): Great Expectations' Spark engine (ge_spark_check.py) and
# observe_probe.py's variants of the spark engine's queries, alternated on the
# benchmark's 1 GB of Parquet: GE, then the probe's ORDER in one session, then
# GE again. Each line carries the load average before its run.
#
#   bench/dq/observe_probe.sh [ORDER]      default: BAB
#
# Env: DQ_SPARK_BENCH_DIR  data (default ~/.cache/sparkplane/bench-dq; the pool
#                          spark_run.sh generates, generated here when missing)
#      SPARKPLANE_BIN      the sparkplane binary that finds the managed Spark 4.1
#                          (default: sparkplane on PATH)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
order="${1:-BAB}"
base="${DQ_SPARK_BENCH_DIR:-$HOME/.cache/sparkplane/bench-dq}"
(cd "$repo" && bash -c 'source scripts/common.sh; need_java; need_ge_spark')
sp="${SPARKPLANE_BIN:-sparkplane}"
source "$here/spark_home.sh"
spark_home="$(spark41_home "$sp")" || exit 3
py="$HOME/.cache/sparkplane/tools/ge-spark/bin/python"
pool="$base/pool"
if [ ! -f "$pool/.files-10-rows-1250000" ]; then
  rm -rf "$pool"
  "$py" "$here/generate.py" --rows 12500000 --files 10 --out "$pool" --faults --variants with-stats
  touch "$pool/.files-10-rows-1250000"
fi
data="$base/probe-1gb"
rm -rf "$data" && mkdir -p "$data"
for f in $(seq 0 9); do ln "$pool/with-stats/$(printf 'part-%05d.parquet' "$f")" "$data/"; done
out="$base/probe-out"
mkdir -p "$out"
ge() {
  local load; load="$(cut -d' ' -f1 /proc/loadavg)"
  /usr/bin/time -f "%e" -o "$out/ge.time" env SPARK_HOME="$spark_home" "$py" "$here/ge_spark_check.py" "$data" \
    --event-log-dir "$out/ge-events" --no-persist > "$out/ge.json" 2> "$out/ge.err"
  python3 -c 'import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(json.dumps({"variant": "GE", "load1": float(sys.argv[3]), "wall_s": float(open(sys.argv[2]).read().split()[-1]),
                  "start_s": d["start_s"], "validate_s": d["validate_s"], "queries": d["sqlExecutions"], "scans": d["parquetScans"]}))' \
    "$out/ge.json" "$out/ge.time" "$load"
}
ge
SPARK_HOME="$spark_home" "$py" "$here/observe_probe.py" "$data" "$order" 2> "$out/probe.err"
ge
rm -rf "$data"
