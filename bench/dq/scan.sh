#!/usr/bin/env bash
# sparkplane's numeric scan throughput (issue #8 target: >= 1 GB/s per core).
# Runs the numeric-only spec (not-null + range on the 8 numeric columns a..h)
# over the Parquet written WITHOUT statistics, so every value is decoded,
# RUNS times per thread count, and prints best and median wall time and
# throughput. Bytes counted two ways:
#   decoded = 8 columns x rows x 8 bytes (uncompressed in-memory Arrow bytes)
#   on-disk = compressed bytes of those 8 columns' chunks (from the footers)
#
#   bench/dq/scan.sh [RUNS]        (data from bench/dq/generate.py; see run.sh)
#
# Env: DQ_BENCH_DIR (default $HOME/.cache/sparkplane/bench/dq),
#      DQ_BENCH_VENV (a venv with pyarrow; default $HOME/.cache/sparkplane/bench/dq-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${1:-5}"
data="${DQ_BENCH_DIR:-$HOME/.cache/sparkplane/bench/dq}"
venv="${DQ_BENCH_VENV:-$HOME/.cache/sparkplane/bench/dq-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"
[ -d "$data/no-stats" ] || { echo "no data in $data: run bench/dq/generate.py first (see run.sh)" >&2; exit 2; }
(cd "$repo" && cargo build --release --locked -q -p sparkplane)
sp="$CARGO_TARGET_DIR/release/sparkplane"
specs="$(mktemp -d)"
trap 'rm -rf "$specs"' EXIT
python3 "$here/make_spec.py" "$data/no-stats" bench-numeric --numeric-only > "$specs/numeric.yaml"
rows=$("$sp" dq check "$specs/numeric.yaml" --no-profile -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])')
decoded=$((rows * 8 * 8))
ondisk=$("$venv/bin/python" - "$data/no-stats" <<'PY'
import glob, sys
import pyarrow.parquet as pq
total = 0
for path in glob.glob(sys.argv[1] + "/*.parquet"):
    md = pq.ParquetFile(path).metadata
    for rg in range(md.num_row_groups):
        for c in range(md.num_columns):
            col = md.row_group(rg).column(c)
            if col.path_in_schema in list("abcdefgh"):
                total += col.total_compressed_size
print(total)
PY
)
echo "== $rows rows; decoded numeric bytes $decoded; on-disk bytes of those columns $ondisk; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
# Wall time is what a user waits; CPU time (user+sys, from /usr/bin/time) is
# what one core spends, and is the fairer per-core figure on a shared machine.
for threads in 1 2; do
  walls=(); cpus=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -o "$specs/time" "$sp" dq check "$specs/numeric.yaml" --no-profile --threads "$threads" > /dev/null
    read -r wall user sys < "$specs/time"
    walls+=("$wall"); cpus+=("$(echo "$user + $sys" | bc)")
  done
  stat() { # best median of a list
    local sorted; sorted=$(printf '%s\n' "$@" | sort -n)
    echo "$(echo "$sorted" | head -1) $(echo "$sorted" | sed -n "$(( ($# + 1) / 2 ))p")"
  }
  read -r wbest wmed <<< "$(stat "${walls[@]}")"
  read -r cbest cmed <<< "$(stat "${cpus[@]}")"
  gbs() { echo "scale=3; $1 / $2 / 1000000000" | bc; }
  echo "threads=$threads runs=$runs wall best=${wbest}s median=${wmed}s; cpu best=${cbest}s median=${cmed}s"
  echo "  decoded GB/s per core (wall x threads): best $(gbs "$decoded" "$(echo "$wbest * $threads" | bc)")" \
    "median $(gbs "$decoded" "$(echo "$wmed * $threads" | bc)");" \
    "per CPU-second: best $(gbs "$decoded" "$cbest") median $(gbs "$decoded" "$cmed")"
  echo "  on-disk GB/s per core (wall x threads): best $(gbs "$ondisk" "$(echo "$wbest * $threads" | bc)")" \
    "median $(gbs "$ondisk" "$(echo "$wmed * $threads" | bc)");" \
    "per CPU-second: best $(gbs "$ondisk" "$cbest") median $(gbs "$ondisk" "$cmed")"
  echo "  wall: ${walls[*]}; cpu: ${cpus[*]}"
done
