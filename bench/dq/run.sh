#!/usr/bin/env bash
# Data-quality benchmark (docs/benchmarks.md): the same checks on the same
# Parquet with sparkplane (release build), Great Expectations (pandas) and
# pandera (pandas). The Python tools go into a throwaway venv, never into CI.
#
#   bench/dq/run.sh [ROWS] [FILES]      default 10000000 rows in 4 files
#
# Env: DQ_BENCH_DIR (data, default $HOME/.cache/sparkplane/bench/dq), DQ_BENCH_VENV (default /tmp/dq-bench-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rows="${1:-10000000}"
files="${2:-4}"
data="${DQ_BENCH_DIR:-$HOME/.cache/sparkplane/bench/dq}"
venv="${DQ_BENCH_VENV:-/tmp/dq-bench-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "great-expectations==1.24.1" "pandera==0.35.0" "pyarrow==26.0.1"
fi
py="$venv/bin/python"
if [ ! -f "$data/.rows-$rows-$files" ]; then
  rm -rf "$data" && mkdir -p "$data"
  "$py" "$here/generate.py" --rows "$rows" --files "$files" --out "$data"
  touch "$data/.rows-$rows-$files"
fi
(cd "$repo" && cargo build --release --locked -q -p sparkplane)
sp="$CARGO_TARGET_DIR/release/sparkplane"
specs="$(mktemp -d)"
trap 'rm -rf "$specs"' EXIT
"$py" "$here/make_spec.py" "$data/with-stats" bench-all > "$specs/all.yaml"
"$py" "$here/make_spec.py" "$data/no-stats" bench-numeric --numeric-only > "$specs/numeric.yaml"
"$py" "$here/make_spec.py" "$data/with-stats" bench-numeric-stats --numeric-only > "$specs/numeric-stats.yaml"

timed() { # label, command...: prints "label seconds"
  local label="$1"; shift
  local start end
  start=$(date +%s.%N); "$@" > "$specs/$label.out" 2>&1 || true; end=$(date +%s.%N)
  echo "$label $(echo "$end - $start" | bc)"
}
echo "== $rows rows, $files files, $(du -sh "$data/with-stats" | cut -f1) of Parquet; $(nproc) cores"
for threads in 1 2; do
  timed "sparkplane-all-${threads}t" "$sp" dq check "$specs/all.yaml" --no-profile --threads "$threads"
  timed "sparkplane-numeric-nostats-${threads}t" "$sp" dq check "$specs/numeric.yaml" --no-profile --threads "$threads"
  timed "sparkplane-numeric-stats-${threads}t" "$sp" dq check "$specs/numeric-stats.yaml" --no-profile --threads "$threads"
done
grep -h "PASSED\|FAILED" "$specs"/sparkplane-*.out | sort | uniq -c
echo "== Great Expectations and pandera (time inside the process; load = pandas.read_parquet)"
"$py" "$here/ge_check.py" "$data/with-stats"
"$py" "$here/pandera_check.py" "$data/with-stats"
"$py" "$here/ge_check.py" "$data/no-stats" --numeric-only
"$py" "$here/pandera_check.py" "$data/no-stats" --numeric-only
