#!/usr/bin/env bash
# Export benchmark: `sparkplane history export` of a fleet of applications
# (default 10,000: copies of one real Spark 4.1 log, five teams, 28 days,
# bench/history/make_fleet.py) to a local folder, read by Spark 4.1 SQL:
#   - the first export's wall time and peak RSS;
#   - a rerun's wall time, and that it wrote nothing (report and file times);
#   - per-team cost by day from Spark SQL against `sparkplane cost --by team`
#     over each day's logs, to the cent (bench/history/export_check.py).
#
#   bench/history/export.sh                 # from the repo root
#   EXPORT_APPS=1000 bench/history/export.sh
#
# Inputs are made once under $SPARKPLANE_BENCH_DIR (default
# ~/.cache/sparkplane/bench/history): about 3 GB for 10,000 copies.
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java

data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/history}"
n="${EXPORT_APPS:-10000}"
cargo build --release --locked -q -p sparkplane
sp="$CARGO_TARGET_DIR/release/sparkplane"
"$sp" runtime install 4.1 >&2
record="${SPARKPLANE_HOME:-$HOME/.local/share/sparkplane}/runtimes/4.1/runtime.json"
python="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"])' "$record")"
mkdir -p "$data"

# One real Spark 4.1 application, uncompressed: the export test's job (SQL, a spilling sort).
if [ ! -s "$data/export-source.json" ]; then
  echo "==> writing a real Spark 4.1 log" >&2
  tmp="$(mktemp -d)"
  "$python" crates/sparkplane/tests/data/history-export/write_logs.py "$tmp" >/dev/null 2>&1
  cp "$(ls "$tmp"/local-* | sort | head -n1)" "$data/export-source.json"
  rm -rf "$tmp"
fi
fleet="$data/fleet-$n"
if [ "$(ls "$fleet" 2>/dev/null | wc -l)" != "$n" ]; then
  echo "==> $n applications" >&2
  rm -rf "$fleet"
  python3 bench/history/make_fleet.py "$data/export-source.json" "$fleet" "$n"
fi
facts="$data/fleet-$n-facts"
rm -rf "$facts"
cat "$fleet"/* >/dev/null

timed() { # label, command…: wall seconds and peak RSS (MiB) of the command
  local label="$1"; shift
  local start end
  start="$(date +%s.%N)"
  /usr/bin/time -f '%M' -o "$data/export-rss" "$@" >"$data/export-report.json" 2>"$data/export-stderr"
  end="$(date +%s.%N)"
  printf '| %s | %.2f | %s |\n' "$label" "$(echo "$end - $start" | bc)" "$(( $(tail -n1 "$data/export-rss") / 1024 ))"
}

echo
echo "sparkplane $("$sp" --version | awk '{print $2}') on $(nproc) cores, $n applications ($(du -sh "$fleet" | cut -f1))"
echo
echo "| run | wall (s) | peak RSS (MiB) |"
echo "|---|---|---|"
timed "first export" "$sp" history export --from "$fleet" --to "$facts" -o json
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("exported", r["exported"], "files", r["filesWritten"], "rows", r["rows"], file=sys.stderr)' "$data/export-report.json"
before="$(find "$facts" -type f -printf '%p %s %T@\n' | sort | sha256sum)"
timed "rerun, nothing changed" "$sp" history export --from "$fleet" --to "$facts" -o json
after="$(find "$facts" -type f -printf '%p %s %T@\n' | sort | sha256sum)"
written="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["filesWritten"])' "$data/export-report.json")"
echo
echo "rerun: $written files written; file list, sizes and times $([ "$before" = "$after" ] && echo unchanged || echo CHANGED)"
echo
"$python" bench/history/export_check.py "$sp" "$fleet" "$facts"
