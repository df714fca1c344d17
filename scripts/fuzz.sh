#!/usr/bin/env bash
# Fuzzes the event-log reader, parser and model for a bounded time per target
# (FUZZ_SECONDS, default 45): `parse_line` (lines through the parser and the model
# fold), `read_log` (files through the real line reader and every codec) and
# `yaml_load` (files through the YAML loader and every schema). The event-log
# corpus is seeded from the committed real Spark logs; the YAML corpus from
# fuzz/seeds/yaml_load/ (e.g. the "billion laughs" file) and the examples. A crash fails the script and
# leaves the input under fuzz/artifacts/<target>/. Safe to run again; `.ci/run` calls it.
source "$(dirname "$0")/common.sh"
need_rust
need_cargo_fuzz

seconds="${FUZZ_SECONDS:-45}"
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

# Seeds: every line and every part of the committed real logs, read by sparkplane's own reader.
corpus="$HOME/.cache/sparkplane/fuzz-corpus"
fixtures=crates/sparkplane-eventlog/tests/fixtures
logs=()
while IFS= read -r log; do logs+=("$log"); done < <(
  find "$fixtures" -mindepth 2 -maxdepth 2 \( -name 'eventlog_v2_*' -o -name 'local-*' \) | sort
)
# The seed writer is an example of the workspace: built with the whole workspace's selection (the
# features scripts/test.sh builds with), it is the test build's binary, not a fourth build of the
# event-log crates with other features (ADR 0082).
cargo build --locked -q --workspace --examples
"$CARGO_TARGET_DIR/debug/examples/fuzz_seeds" "$corpus" "${logs[@]}"
mkdir -p "$corpus/yaml_load"
cp fuzz/seeds/yaml_load/*.yaml "$corpus/yaml_load/"
find examples presets environments -name '*.yaml' -size -64k -exec cp {} "$corpus/yaml_load/" \; 2>/dev/null || true

# Sanitizer builds differ from the workspace's: they get their own target directory.
export CARGO_TARGET_DIR="$HOME/.cache/sparkplane/fuzz-target"
for target in "${targets[@]}"; do
  echo "==> fuzzing $target for ${seconds}s" >&2
  dict=()
  [ "$target" = yaml_load ] || dict=(-dict=fuzz/event_log.dict)
  cargo "${toolchain[@]}" fuzz run --fuzz-dir fuzz "$target" "$corpus/$target" -- \
    -max_total_time="$seconds" "${dict[@]}" -max_len=65536 -timeout=10 -print_final_stats=1
done
