#!/usr/bin/env bash
# README's first command: builds sparkplane, installs its local Spark, runs the
# example ETL job on this machine, then takes the same job through the cluster
# steps: resolve -> size -> fit -> render (native, kubeflow, job). Safe to run again.
source "$(dirname "$0")/common.sh"
need_rust
need_java

# The dev profile (dependencies optimised, sparkplane's own crates not): on a fresh 2-core machine
# the quickest way to a working binary (docs/benchmarks.md, "Building sparkplane"; ADR 0083). The
# image and release artifacts are built with the release profile (scripts/image.sh, release.sh).
echo "==> building sparkplane (dev profile, dependencies optimised)" >&2
cargo build --locked -q -p sparkplane
sp="$CARGO_TARGET_DIR/debug/sparkplane"
job=examples/trips-etl/trips-etl.yaml
out="${SPARKPLANE_EXAMPLE_OUT:-out/trips-etl}"

if [ -t 2 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s==> %s%s\n$ %s\n' "$bold" "$1" "$plain" "${*:2}" >&2; "${@:2}"; }

need_runtime "$sp"
if [ ! -d examples/trips-etl/data/raw/trips ]; then
  step "generate sample trips" python3 examples/trips-etl/generate_trips.py
fi
step "run the job on this machine (local Spark)" "$sp" run "$job"
step "run a Spark SQL report over its output" "$sp" run examples/trips-report/trips-report.yaml
step "resolve the job for prod, showing which layer set each field" "$sp" resolve "$job" --env prod --explain
step "recommend sizes for 200 GiB of input" "$sp" size --input-size 200GiB --workload etl
step "check the prod job fits the standard node pools" "$sp" fit "$job" --env prod --nodes presets/nodes/standard.yaml
for target in native kubeflow job; do
  step "render for the $target target" "$sp" render "$job" --env prod --target "$target" --out-dir "$out/$target"
done
echo >&2
echo "Rendered manifests are in $out/. Next: sparkplane help render" >&2
