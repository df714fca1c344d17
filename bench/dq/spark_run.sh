#!/usr/bin/env bash
# The data-quality engines on Spark (docs/benchmarks.md, "Data-quality checks
# on Spark"; ADR 0060, 0075): over a ladder of dataset sizes, the same 24 checks
# (checks.json, make_spec.py) with
#   native   sparkplane's native engine, --threads 1 (the quality-gate Job's one CPU)
#            and --threads 2 (every core of this machine); uniqueness exact as in
#            the other two (approximateAbove 1e9), and once with the default
#            (native-1t-approx: HyperLogLog above 10M keys)
#   spark    sparkplane's spark engine: the managed Spark 4.1's local Connect
#            server (local[*] = local[2] here, 1g driver memory), started and
#            stopped by the run
#   ge       Great Expectations' Spark execution engine (ge_spark_check.py) on a
#            classic session of the same Spark installation (SPARK_HOME is the
#            managed 4.1 runtime), local[2], 1g driver memory
#   floor    no engine: a classic session of the same Spark reading every column
#            once and checking nothing (spark_floor.py), and once more reading
#            only the columns whose values a check needs, with the suite's regex
#            check in that pass and then the planner's uniqueness query
#            (floor+regex+unique): what any plan on this Spark costs at least,
#            at GE's sizes, once per size
# interleaved size by size and repetition by repetition, so the machine's load
# falls on all of them alike; the load average is written beside every run.
# Every size's reports are compared check by check (compare.py): the run fails
# if the engines or GE disagree on a verdict or a count.
#
#   bench/dq/spark_run.sh [SIZE_GB...]        default: 0.1 0.5 1 2 5 10
#
# Env: DQ_SPARK_BENCH_DIR  data (outside the repo; default ~/.cache/sparkplane/bench-dq)
#      GE_SIZES            sizes GE runs at (default "1 10")
#      GE_PERSIST          GE's persist setting: "no" (default) or "yes" (GE's own default)
#      REPS                repetitions at sizes under 5 GB (default 2; 1 at 5 GB and above)
#      APPROX=0            skip the native-1t-approx run (default: run it once per size)
#      KEEP_DATA=1         keep the generated data (default: deleted at the end)
#      SPARKPLANE_BIN      a sparkplane binary to use instead of building the release one
# Writes results.tsv (one line per run) and the reports under $DQ_SPARK_BENCH_DIR/out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0.1 0.5 1 2 5 10)
base="${DQ_SPARK_BENCH_DIR:-$HOME/.cache/sparkplane/bench-dq}"
ge_sizes=" ${GE_SIZES:-1 10} "
reps="${REPS:-2}"
rows_per_file=1250000 # about 100 MB of Parquet per file
(cd "$repo" && bash -c 'source scripts/common.sh; need_java; need_ge_spark')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"
sp="${SPARKPLANE_BIN:-$CARGO_TARGET_DIR/release/sparkplane}"
[ -n "${SPARKPLANE_BIN:-}" ] || (cd "$repo" && cargo build --release --locked -q -p sparkplane)
source "$here/spark_home.sh"
spark_home="$(spark41_home "$sp")" || exit 3
py="$HOME/.cache/sparkplane/tools/ge-spark/bin/python"

# One pool of files, about 100 MB each; a size's dataset is hard links to its first files.
max_files=$(python3 -c "import sys; print(max(1, round(max(map(float, sys.argv[1:])) * 10)))" "${sizes[@]}")
pool="$base/pool"
if [ ! -f "$pool/.files-$max_files-rows-$rows_per_file" ]; then
  rm -rf "$pool"
  "$py" "$here/generate.py" --rows $((max_files * rows_per_file)) --files "$max_files" --out "$pool" --faults --variants with-stats
  touch "$pool/.files-$max_files-rows-$rows_per_file"
fi
out="$base/out"
mkdir -p "$out"
results="$out/results.tsv"
printf 'size_gb\tbytes\trows\ttool\trep\twall_s\tpeak_rss_mb\tload1\tnote\n' > "$results"
load() { cut -d' ' -f1 /proc/loadavg; }
timed() { # tool rep outfile command...: runs it, appends a results line
  local tool="$1" rep="$2" file="$3"; shift 3
  local before; before="$(load)"
  /usr/bin/time -f "%e %M" -o "$out/time" "$@" > "$file" 2> "$file.err" || true
  read -r wall rss < <(tail -1 "$out/time")
  local note=""
  [ "$tool" = ge ] && note="$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print("in-process %ss (start %ss, validate %ss); %d queries, %d Parquet scans" % (d["total_s"], d["start_s"], d["validate_s"], d["sqlExecutions"], d["parquetScans"]))' "$file" 2>/dev/null || echo "no answer: see $file.err")"
  [[ "$tool" = floor* ]] && note="$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print("in-process %ss (start %ss, read %ss, unique %ss); %d columns; regex misses %s, duplicates %s" % (d["total_s"], d["start_s"], d["read_s"], d["unique_s"], d["columns"], d["regexMisses"], d["duplicates"]))' "$file" 2>/dev/null || echo "no answer: see $file.err")"
  [ "$tool" = native-1t-approx ] && note="$(python3 -c 'import json,sys; print([c["message"] for c in json.load(open(sys.argv[1]))["checks"] if c["kind"] == "unique"][0])' "$file" 2>/dev/null || true)"
  [ "$tool" = spark ] && note="$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["spark"]; print("%d queries, %d scans (event log)" % (s["queries"], s.get("scans", -1)))' "$file" 2>/dev/null || echo "no answer: see $file.err")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$bytes" "$rows" "$tool" "$rep" "$wall" $((rss / 1024)) "$before" "$note" | tee -a "$results"
}

mismatch=0
echo "== $(nproc) cores; $(free -g | awk '/Mem:/ {print $2}') GiB memory; sparkplane $("$sp" --version | head -1); Spark 4.1 at $spark_home"
for size in "${sizes[@]}"; do
  files=$(python3 -c "import sys; print(max(1, round(float(sys.argv[1]) * 10)))" "$size")
  data="$base/ladder/$size"
  rm -rf "$data" && mkdir -p "$data"
  for f in $(seq 0 $((files - 1))); do ln "$pool/with-stats/$(printf 'part-%05d.parquet' "$f")" "$data/"; done
  bytes=$(du -b --apparent-size -c "$data"/*.parquet | tail -1 | cut -f1)
  rows=$((files * rows_per_file))
  # Exact uniqueness in every engine (Spark's grouping query and GE are exact; the native
  # engine turns approximate above approximateAbove keys, 10M by default: run once as well).
  python3 "$here/make_spec.py" "$data" "bench-${size//./-}gb" --approximate-above 1000000000 > "$out/spec-$size.yaml"
  python3 "$here/make_spec.py" "$data" "bench-${size//./-}gb" > "$out/spec-default-$size.yaml"
  n=$reps
  python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 5 else 1)" "$size" && n=1
  for rep in $(seq "$n"); do
    timed native-1t "$rep" "$out/native-1t-$size.json" "$sp" dq check "$out/spec-$size.yaml" --no-profile --threads 1 -o json
    timed native-2t "$rep" "$out/native-2t-$size.json" "$sp" dq check "$out/spec-$size.yaml" --no-profile --threads 2 -o json
    [ "$rep" = 1 ] && [ "${APPROX:-1}" = 1 ] && timed native-1t-approx "$rep" "$out/native-1t-approx-$size.json" \
      "$sp" dq check "$out/spec-default-$size.yaml" --no-profile --threads 1 -o json
    timed spark "$rep" "$out/spark-$size.json" "$sp" dq check "$out/spec-$size.yaml" --no-profile --engine spark -o json
    if [[ "$ge_sizes" == *" $size "* ]]; then
      persist=(--no-persist)
      [ "${GE_PERSIST:-no}" = yes ] && persist=()
      timed ge "$rep" "$out/ge-$size.json" env SPARK_HOME="$spark_home" "$py" "$here/ge_spark_check.py" "$data" \
        --event-log-dir "$out/ge-events" "${persist[@]}"
    fi
  done
  if [[ "$ge_sizes" == *" $size "* ]]; then
    timed floor 1 "$out/floor-$size.json" env SPARK_HOME="$spark_home" "$py" "$here/spark_floor.py" "$data"
    timed floor+regex+unique 1 "$out/floor-checks-$size.json" env SPARK_HOME="$spark_home" "$py" "$here/spark_floor.py" "$data" --suite
  fi
  ge_report=()
  [ -s "$out/ge-$size.json" ] && [[ "$ge_sizes" == *" $size "* ]] && ge_report=("$out/ge-$size.json")
  for native in native-2t native-1t; do
    extra=()
    [ "$native" = native-2t ] && extra=("${ge_report[@]}")
    if verdict="$(python3 "$here/compare.py" "$out/$native-$size.json" "$out/spark-$size.json" "${extra[@]}")"; then
      echo "size $size GB, $native: $verdict"
    else
      echo "size $size GB, $native: DIFFERENT: $verdict"; mismatch=1
    fi
  done
  rm -rf "$data"
done
[ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$pool" "$base/ladder"
echo "results: $results"
exit "$mismatch"
