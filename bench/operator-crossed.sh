#!/bin/bash
# The operator bench with two builds crossed (issue #64): each build's operator binary against each
# build's bench binary, which holds the simulated API server. Tells a slower operator from a slower fake.
# usage: BUILDS=DIR bench/operator-crossed.sh ROUNDS
#   DIR/bench-before/ and DIR/bench-after/ each hold `sparkplane` (cargo build --release -p sparkplane)
#   and `operator-bench` (cargo bench -p sparkplane --bench operator --no-run; its executable), as for
#   bench/history/compare_builds.sh. Each run first puts the chosen operator where that bench executable
#   starts one (bench/operator-binary.sh). PAIRS=same runs only before/before and after/after.
set -u
B=${BUILDS:?set BUILDS to the folder holding bench-before/ and bench-after/}
# shellcheck source=bench/operator-binary.sh
source "$(dirname "$0")/operator-binary.sh"
rounds=${1:-2}
run() { # operator-build fake-build
  place_operator "$B/bench-$1/sparkplane" "$B/bench-$2/operator-bench" || exit 1
  local log
  log="$B/crossed-operator-$1-fake-$2-$(date +%s).log"
  OPERATOR_BENCH_JOBS=10000 "$B/bench-$2/operator-bench" --bench >"$log" 2>&1
  echo "operator=$1 fake=$2 $(date -u +%T)" \
    "$(grep -E 'driver pod created, all jobs' "$log" | cut -d'|' -f3)" \
    "CPU:$(grep 'operator CPU' "$log" | cut -d'|' -f3)"
}
order=("before before" "after after" "before after" "after before")
reverse=("after before" "before after" "after after" "before before")
if [ "${PAIRS:-}" = same ]; then
  order=("before before" "after after") reverse=("after after" "before before")
fi
for _ in $(seq 1 "$rounds"); do
  for pair in "${order[@]}"; do
    # shellcheck disable=SC2086
    run $pair
  done
  swap=("${order[@]}") order=("${reverse[@]}") reverse=("${swap[@]}")
done
