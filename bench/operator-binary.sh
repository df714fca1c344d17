# Sourced by bench/operator-crossed.sh and bench/history/compare_builds.sh: puts an operator build
# where a bench executable starts it. The bench starts the `sparkplane` its own build made
# (`env!("CARGO_BIN_EXE_sparkplane")`, a path fixed when it was compiled: target/release/ of the
# target folder it was built in, which need not be the one these scripts use), so the operator is
# copied to the path written in that executable, and the copy is checked. What was at that path
# first (cargo's own build, which cargo would otherwise take for fresh) is put back on exit.
# usage: place_operator OPERATOR BENCH_EXECUTABLE
placed=()
place_operator() {
  local operator="$1" bench="$2" path
  # Under $HOME, where the project's target folders are (strings run together in the executable,
  # so the path is found by its known start); BENCH_TARGETS_UNDER names another folder.
  path="$(grep -aoE "${BENCH_TARGETS_UNDER:-$HOME}/[A-Za-z0-9._/+-]*/release/sparkplane" "$bench" | head -1)"
  if [ -z "$path" ]; then
    echo "no operator path in $bench" >&2
    return 1
  fi
  mkdir -p "$(dirname "$path")"
  if [ ! -e "$path.before-bench" ]; then
    if [ -e "$path" ]; then cp -p "$path" "$path.before-bench"; else : >"$path.before-bench"; fi
    placed+=("$path")
  fi
  cp "$operator" "$path.placing" && mv "$path.placing" "$path"
  if ! cmp -s "$operator" "$path"; then
    echo "$path is not $operator after the copy" >&2
    return 1
  fi
}
restore_operators() {
  local path
  for path in "${placed[@]}"; do
    if [ -s "$path.before-bench" ]; then mv "$path.before-bench" "$path"; else rm -f "$path" "$path.before-bench"; fi
  done
}
trap restore_operators EXIT
