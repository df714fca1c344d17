#!/usr/bin/env bash
# Fuzzes the event-log reader, parser and model for a bounded time per target
# (FUZZ_SECONDS, default 45): `parse_line` (lines through the parser and the model
# fold), `read_log` (files through the real line reader and every codec) and
# `yaml_load` (files through the YAML loader and every schema). The event-log
# corpus is seeded from the committed real Spark logs; the YAML corpus from
# fuzz/seeds/yaml_load/ (e.g. the "billion laughs" file) and the examples. The targets are built in
# one cargo invocation, then run side by side, at most one a core (`nproc`, or FUZZ_JOBS), each for
# its full FUZZ_SECONDS; each target's output goes to its own log, printed whole when all have
# ended. A crash fails the script (naming the target and its input) and leaves the input under
# fuzz/artifacts/<target>/. Safe to run again; `.ci/run` calls it.
# FUZZ_BUILD_ONLY=1 only builds the targets (no seeds, no fuzzing, nothing in the workspace's target
# folder): `.ci/run` starts that early, at the lowest priority, beside the tests (ADR 0100).
source "$(dirname "$0")/common.sh"
need_rust
need_cargo_fuzz

seconds="${FUZZ_SECONDS:-45}"
# Targets run at once: one a core (libFuzzer's -max_total_time is wall time, and each run uses one core).
slots="${FUZZ_JOBS:-$(nproc)}"
case "$slots" in
  '' | *[!0-9]* | 0) echo "FUZZ_JOBS must be a whole number of targets to run at once (1 or more), not '$slots'" >&2 && exit 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse_line read_log yaml_load)

# cargo-fuzz passes nightly-only flags (sanitizers). Use a nightly toolchain when there is
# one; otherwise let the stable compiler accept them, as its own bootstrap does.
toolchain=()
if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

# Sanitizer builds differ from the workspace's: they get their own target directory.
workspace_target="$CARGO_TARGET_DIR"
export CARGO_TARGET_DIR="$HOME/.cache/sparkplane/fuzz-target"
# Every target's sanitizer build in one cargo invocation (one target's alone when only it is asked
# for), with the toolchain and flags `cargo fuzz run` uses: each run below finds its binary fresh
# and starts fuzzing at once, instead of the runs building one after the other.
build_only=()
[ ${#targets[@]} -ne 1 ] || build_only=("${targets[0]}")
echo "==> building the fuzz targets" >&2
cargo "${toolchain[@]}" fuzz build --fuzz-dir fuzz "${build_only[@]}"
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0

# Seeds: every line and every part of the committed real logs, read by sparkplane's own reader.
corpus="$HOME/.cache/sparkplane/fuzz-corpus"
fixtures=crates/sparkplane-eventlog/tests/fixtures
logs=()
while IFS= read -r log; do logs+=("$log"); done < <(
  find "$fixtures" -mindepth 2 -maxdepth 2 \( -name 'eventlog_v2_*' -o -name 'local-*' \) | sort
)
# The seed writer is an example of the workspace: built with the whole workspace's selection (the
# features scripts/test.sh builds with), it reuses the test build's libraries, not a fourth build of
# the event-log crates with other features (ADR 0082). Only this example is built: the test build
# compiled the examples in its own profile, so each one asked for here is compiled again.
CARGO_TARGET_DIR="$workspace_target" cargo build --locked -q --workspace --example fuzz_seeds
"$workspace_target/debug/examples/fuzz_seeds" "$corpus" "${logs[@]}"
mkdir -p "$corpus/yaml_load"
cp fuzz/seeds/yaml_load/*.yaml "$corpus/yaml_load/"
find examples presets environments -name '*.yaml' -size -64k -exec cp {} "$corpus/yaml_load/" \; 2>/dev/null || true

# Side by side, at most `slots` at once: with one target a core each is fuzzed as long as when they
# ran one after the other.
log_dir="$CARGO_TARGET_DIR/fuzz-logs"
mkdir -p "$log_dir"
fuzz_one() {
  local target="$1" dict=() status=0 started
  [ "$target" = yaml_load ] || dict=(-dict=fuzz/event_log.dict)
  started="$(date +%s)"
  cargo "${toolchain[@]}" fuzz run --fuzz-dir fuzz "$target" "$corpus/$target" -- \
    -max_total_time="$seconds" "${dict[@]}" -max_len=65536 -timeout=10 -print_final_stats=1 \
    >"$log_dir/$target.log" 2>&1 || status=$?
  echo "$status" >"$log_dir/$target.status"
  echo "==> $target ended after $(($(date +%s) - started))s, exit $status" >&2
}
# Each run in a process group of its own (job control on), so that a script stopped early (Ctrl-C,
# a TERM) stops every fuzzer it started rather than leaving them to run out their time.
# shellcheck disable=SC2317 # run by the traps below
stop_fuzzers() {
  trap - INT TERM
  local pid
  for pid in $(jobs -p); do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait || true
  exit "$1"
}
trap 'stop_fuzzers 130' INT
trap 'stop_fuzzers 143' TERM
set -m
running=0
for target in "${targets[@]}"; do
  rm -f "$log_dir/$target.log" "$log_dir/$target.status"
  if [ "$running" -ge "$slots" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "==> fuzzing $target for ${seconds}s (log: $log_dir/$target.log)" >&2
  fuzz_one "$target" </dev/null &
  running=$((running + 1))
done
wait
set +m
trap - INT TERM

# Each log whole, in the order the targets were named; then every failure, with its input.
failed=()
for target in "${targets[@]}"; do
  echo "==> $target: $log_dir/$target.log" >&2
  cat "$log_dir/$target.log" >&2 || true
  status="$(cat "$log_dir/$target.status" 2>/dev/null || echo 1)"
  [ "$status" = 0 ] || failed+=("$target:$status")
done
exit_status=0
for failure in "${failed[@]}"; do
  target="${failure%%:*}" status="${failure#*:}"
  input="$(grep -o 'Test unit written to [^ ]*' "$log_dir/$target.log" | sed 's/^Test unit written to //' | head -n1 || true)"
  if [ -n "$input" ]; then
    echo "==> fuzz target $target FAILED (exit $status); its input: $input (its log above says how to run it again)" >&2
  else
    echo "==> fuzz target $target FAILED (exit $status) without writing an input; see its log above ($log_dir/$target.log)" >&2
  fi
  [ "$exit_status" != 0 ] || exit_status="$status"
done
exit "$exit_status"
