#!/bin/bash
# The operator bench with two builds crossed (issue #64): each build's operator binary against each
# build's bench binary, which holds the simulated API server. Tells a slower operator from a slower fake.
# usage: BUILDS=DIR bench/operator-crossed.sh ROUNDS
#   DIR/bench-before/ and DIR/bench-after/ each hold `sparkplane` (cargo build --release -p sparkplane)
#   and `operator-bench` (cargo bench -p sparkplane --bench operator --no-run; its executable), as for
#   bench/history/compare_builds.sh. The bench runs the operator from target/release/sparkplane, so each
#   run copies the chosen build's binary there first.
set -u
B=${BUILDS:?set BUILDS to the folder holding bench-before/ and bench-after/}
T=${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}
rounds=${1:-2}
mkdir -p "$T/release"
run() { # operator-build fake-build
  cp "$B/bench-$1/sparkplane" "$T/release/sparkplane"
  local log
  log="$B/crossed-operator-$1-fake-$2-$(date +%s).log"
  OPERATOR_BENCH_JOBS=10000 "$B/bench-$2/operator-bench" --bench >"$log" 2>&1
  echo "operator=$1 fake=$2 $(date -u +%T)" \
    "$(grep -E 'driver pod created, all jobs' "$log" | cut -d'|' -f3)" \
    "CPU:$(grep 'operator CPU' "$log" | cut -d'|' -f3)"
}
order=("before before" "after after" "before after" "after before")
for _ in $(seq 1 "$rounds"); do
  for pair in "${order[@]}"; do
    # shellcheck disable=SC2086
    run $pair
  done
  order=("after before" "before after" "after after" "before before")
done
