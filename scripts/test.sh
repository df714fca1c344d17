#!/usr/bin/env bash
# README's second command: installs what the tests need and runs them all.
# Safe to run again.
source "$(dirname "$0")/common.sh"
# Phase wall times for .ci/run (scripts/common.sh `phase`; nothing is recorded otherwise).
trap phase_exit EXIT
# Not passed on: the scripts tests run (image.sh, release.sh) source common.sh too.
[ -z "${SPARKPLANE_PHASE_TIMES:-}" ] || export -n SPARKPLANE_PHASE_TIMES
phase setup
need_rust

need_java
need_promtool
need_alertmanager
need_seaweedfs
need_postgres
need_pg_jdbc
need_s3a
need_pushgateway
need_kubectl
need_python_clients
need_openlineage
need_otlp_receiver
need_release_tools
need_helm
need_containers
need_cdevents_receiver
need_notebook_tools
need_chromium
need_sarif_multitool
# The local-run tests use a real Spark: build the CLI and install its 3.5 runtime first.
phase build
cargo build --locked -q -p sparkplane
# release_artifacts runs scripts/release.sh, which builds xtask on its own: built here, no test compiles.
cargo build --locked -q -p xtask
phase runtimes
need_runtime "$CARGO_TARGET_DIR/debug/sparkplane"

# cargo-nextest runs each test in its own process (faster, clearer output); plain cargo test otherwise.
if cargo nextest --version >/dev/null 2>&1; then
  phase build-tests
  cargo nextest run --workspace --locked --all-targets --no-run
  phase tests
  cargo nextest run --workspace --locked --all-targets --no-fail-fast
  phase doctests
  cargo test --workspace --locked --doc
else
  phase tests
  cargo test --workspace --locked --all-targets --no-fail-fast
fi
