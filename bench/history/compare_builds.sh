#!/bin/bash
# Two builds side by side (issue #64's "within 3 %" run): the History Server's start until it lists
# 1,000 / 10,000 / 100,000 applications and answers the 1 GB application's stages, and the operator
# bench (10,000 SparkJobs at once), before and after, taking turns and swapping order each round.
# usage: BUILDS=DIR bench/history/compare_builds.sh ROUNDS
#   DIR/bench-before/ and DIR/bench-after/ each hold `sparkplane` (cargo build --release -p sparkplane)
#   and `operator-bench` (cargo bench -p sparkplane --bench operator --no-run; its executable).
# The logs come from bench/history's generator (see docs/benchmarks.md, "The History Server").
set -u
cd "$(dirname "$0")/../.."
B=${BUILDS:?set BUILDS to the folder holding bench-before/ and bench-after/}
data=$HOME/.cache/sparkplane/bench/history
fleet=$HOME/.cache/sparkplane/bench/history-fleet
rounds=${1:-2}
# shellcheck source=bench/operator-binary.sh
source bench/operator-binary.sh
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
warm() { cat "$1"/* >/dev/null 2>&1 || true; }
hist() { # build label logs want url-path
  local sp=$B/bench-$1/sparkplane p; p=$(free_port); warm "$3"
  python3 bench/history/measure.py "$1 $2" "http://127.0.0.1:$p$5" "$4" -- \
    "$sp" history serve --logs "$3" --listen "127.0.0.1:$p" --interval 3600 --index-dir "$(mktemp -d)"
}
op() { # build
  local log
  place_operator "$B/bench-$1/sparkplane" "$B/bench-$1/operator-bench" || exit 1
  echo "== operator $1 $(date -u +%T)"
  log="$B/op-$1-$(date +%s).log"
  OPERATOR_BENCH_JOBS=10000 "$B/bench-$1/operator-bench" --bench >"$log" 2>&1
  grep -E "^\|" "$log" | grep -iE "minute|p50|RSS|total|wall|all|CPU|requests" | sed "s/^/$1 /"
}
order=(before after)
for r in $(seq 1 "$rounds"); do
  for b in "${order[@]}"; do
    echo "== round $r $b $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    hist "$b" "1000 listed" "$data/apps-1000" apps:1000 /api/v1/applications
    hist "$b" "10000 listed" "$data/apps-10000" apps:10000 /api/v1/applications
    hist "$b" "100000 listed" "$fleet/apps-100000" apps:100000 /api/v1/applications
    hist "$b" "stages of the 1 GB app" "$data/large" ok /api/v1/applications/local-1799999999999/stages
  done
  for b in "${order[@]}"; do op "$b"; done
  order=("${order[1]}" "${order[0]}")
done
