#!/usr/bin/env bash
# Regenerates crates/sparkplane/link/hot-functions.txt: the functions that the
# short commands (submit, status, list, validate, render) run, in the order
# the linker should place them first in the binary (crates/sparkplane/build.rs
# passes the file to rust-lld as --symbol-ordering-file).
#
# Why: a command that runs for 15 ms touches ~300 places scattered over 42 MiB
# of code, and the kernel maps up to 64 KiB around each page fault, so
# scattered code costs RSS out of proportion (docs/benchmarks.md, submission).
# Placed together, the same code fills a few MiB.
#
# How: runs each command once under valgrind's callgrind against the fake
# API server, keeps the function names callgrind saw that are symbols of the
# release binary, and writes them submit's first. Names that go stale after
# code changes are skipped by the linker, so an old file costs memory, not
# correctness; rerun this after large changes and before benchmarking.
#
# Usage (from the repository root): bench/hot-functions.sh
#   BENCH_SKIP_BUILD=1   use the release binaries already in $CARGO_TARGET_DIR/release
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"
for tool in valgrind nm python3; do
  command -v "$tool" >/dev/null || { echo "bench/hot-functions.sh needs $tool" >&2; exit 3; }
done

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -q -p sparkplane --bin sparkplane -p sparkplane-fakekube --bin fake-kube-apiserver
fi
sparkplane="$CARGO_TARGET_DIR/release/sparkplane"
fake="$CARGO_TARGET_DIR/release/fake-kube-apiserver"

# shellcheck source=bench/fake-api.sh
source "$repo_root/bench/fake-api.sh"
work="$(mktemp -d)"
cleanup() {
  stop_fake_api
  rm -rf "$work"
}
trap cleanup EXIT
start_fake_api "$fake" "$work"
sed "s/name: NAME,/name: probe,/" "$work/probe.yaml" >"$work/job.yaml"

export KUBECONFIG="$work/kubeconfig"
i=0
# The first submit creates; the second finds the driver it created.
for command in "submit $work/job.yaml -q" "submit $work/job.yaml -q" "status $work/job.yaml" list \
  "validate $work/job.yaml" "render $work/job.yaml"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # the command's words are meant to split
  valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/profile.$i" \
    "$sparkplane" $command >/dev/null 2>>"$work/valgrind.log"
done
nm --defined-only "$sparkplane" | awk '$2 ~ /^[tTwW]$/ {print $3}' >"$work/symbols"

mkdir -p crates/sparkplane/link
python3 - "$work" "$i" crates/sparkplane/link/hot-functions.txt <<'PY'
import re, sys
work, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
symbols = set(open(f"{work}/symbols").read().split())
ordered, seen = [], set()
for run in range(1, runs + 1):
    for line in open(f"{work}/profile.{run}"):
        m = re.match(r"^c?fn=\(\d+\) (\S+)$", line.rstrip("\n"))
        if m and m.group(1) in symbols and m.group(1) not in seen:
            seen.add(m.group(1))
            ordered.append(m.group(1))
with open(out, "w") as f:
    f.write("\n".join(ordered) + "\n")
print(f"{len(ordered)} functions written to {out}")
PY
