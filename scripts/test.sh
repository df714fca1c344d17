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
need_oidc_provider
need_sarif_multitool
# One build of every target, with the workspace's features: the binary the runtimes and the tests
# run, xtask (release_artifacts hands it to scripts/release.sh as SPARKPLANE_XTASK) and every test
# binary. A `cargo build -p X` of its own resolves X's features, not the workspace's, and rebuilds
# much of the tree a second time (ADR 0082).
# cargo-nextest runs each test in its own process (faster, clearer output); plain cargo test otherwise.
phase build
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --all-targets --no-run
else
  cargo test --workspace --locked --all-targets --no-run
fi
# The local-run tests use a real Spark: install its runtimes with the binary just built.
phase runtimes
need_runtime "$CARGO_TARGET_DIR/debug/sparkplane"

# The tests' Spark JVMs (drivers spark-submit or pyspark starts, Connect servers, Spark's own History
# Servers) live seconds on small data: there the optimising JIT's compiler threads cost more CPU than
# the code they compile saves (the example's local run: 17 -> 10 CPU-seconds). Only here, and only when
# the caller set nothing: what users run keeps Spark's JVM defaults (ADR 0100).
export SPARK_SUBMIT_OPTS="${SPARK_SUBMIT_OPTS--XX:TieredStopAtLevel=1}"
export SPARK_DAEMON_JAVA_OPTS="${SPARK_DAEMON_JAVA_OPTS--XX:TieredStopAtLevel=1}"

if cargo nextest --version >/dev/null 2>&1; then
  phase tests
  cargo nextest run --workspace --locked --all-targets --no-fail-fast
  phase doctests
  cargo test --workspace --locked --doc
else
  phase tests
  cargo test --workspace --locked --all-targets --no-fail-fast
fi
