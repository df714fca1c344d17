#!/usr/bin/env bash
# Fuzzes the event-log reader, parser and model for a bounded time per target
# (FUZZ_SECONDS, default 45): `parse_line` (lines through the parser and the model
# fold) and `read_log` (files through the real line reader and every codec). The
# corpus is seeded from the committed real Spark logs. A crash fails the script and
# leaves the input under fuzz/artifacts/<target>/. Safe to run again; `.ci/run` calls it.
source "$(dirname "$0")/common.sh"
need_rust
need_cargo_fuzz

seconds="${FUZZ_SECONDS:-45}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse_line read_log)

# cargo-fuzz passes nightly-only flags (sanitizers). Use a nightly toolchain when there is
# one; otherwise let the stable compiler accept them, as its own bootstrap does.
toolchain=()
if cargo +nightly --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

# Seeds: every line and every part of the committed real logs, read by sparkplane's own reader.
corpus="$HOME/.cache/sparkplane/fuzz-corpus"
fixtures=crates/sparkplane-eventlog/tests/fixtures
logs=()
while IFS= read -r log; do logs+=("$log"); done < <(
  find "$fixtures" -mindepth 2 -maxdepth 2 \( -name 'eventlog_v2_*' -o -name 'local-*' \) | sort
)
cargo run --locked -q -p sparkplane-eventlog --example fuzz_seeds -- "$corpus" "${logs[@]}"

# Sanitizer builds differ from the workspace's: they get their own target directory.
export CARGO_TARGET_DIR="$HOME/.cache/sparkplane/fuzz-target"
for target in "${targets[@]}"; do
  echo "==> fuzzing $target for ${seconds}s" >&2
  cargo "${toolchain[@]}" fuzz run --fuzz-dir fuzz "$target" "$corpus/$target" -- \
    -max_total_time="$seconds" -dict=fuzz/event_log.dict -max_len=65536 -timeout=10 -print_final_stats=1
done
