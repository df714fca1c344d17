#!/usr/bin/env bash
# The line matrix: installs every supported Spark line (the lines `sparkplane version`
# names, from the one line table, crates/sparkplane-core/src/spark_lines.rs), runs each
# line's real-Spark suites and writes docs/compatibility.md, the table of lines × proofs
# with the commit and date of this run. CI (scripts/test.sh) proves only the oldest and the
# newest line; the tests of a line in between are #[ignore]d there and run here.
#
# A suite's tests of a line are the tests of its module whose names say the line
# (`spark_4_3` for 4.3). A cell reads "passed", "failed" or "no test" (the suite has
# none for that line yet). Each line's suites run in one nextest run (they share the parity
# logs testkit writes once a run, two tests at a time); the cells come from its JUnit report.
# The script also prints how long each line took. Exit 1 when any cell failed.
#   scripts/compat.sh            every line
#   scripts/compat.sh 4.2 4.3    those lines only
#   COMPAT_SUITES='analyze counts|DQ spark engine' scripts/compat.sh 4.0
#                                those suites only (labels as in the table, `|` between)
# Each cell says the commit and the date it was last run; the cells this run leaves out keep
# what the table said before ("not run" when it said nothing).
source "$(dirname "$0")/common.sh"
need_rust
need_java

if cargo nextest --version >/dev/null 2>&1; then :; else
  echo "scripts/compat.sh needs cargo-nextest (cargo install cargo-nextest --locked), then run this again." >&2
  exit 3
fi

cargo nextest run --workspace --locked --all-targets --no-run
sp="$CARGO_TARGET_DIR/debug/sparkplane"
all_lines="$("$sp" version -o json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["sparkLines"]))')"
lines="${*:-$all_lines}"
SPARKPLANE_LINES="$lines" need_runtime "$sp"
export SPARK_SUBMIT_OPTS="${SPARK_SUBMIT_OPTS--XX:TieredStopAtLevel=1}"
export SPARK_DAEMON_JAVA_OPTS="${SPARK_DAEMON_JAVA_OPTS--XX:TieredStopAtLevel=1}"

# label|package|test module (the real-Spark suites a line is proven by)
suites=(
  "submission conformance|sparkplane-fakekube|spark_submit_conformance"
  "History Server parity|sparkplane-history|spark_history_parity"
  "History UI pages|sparkplane-history|ui_spark_chromium"
  "analyze counts|sparkplane|cli_analyze_counts"
  "local run|sparkplane|run_local_lines"
  "DQ spark engine|sparkplane|cli_dq_spark"
  "sql over Connect|sparkplane|cli_connect"
)

all_suites=("${suites[@]}")
if [ -n "${COMPAT_SUITES:-}" ]; then
  chosen=()
  for suite in "${suites[@]}"; do
    IFS='|' read -r label _ _ <<<"$suite"
    case "|$COMPAT_SUITES|" in *"|$label|"*) chosen+=("$suite") ;; esac
  done
  [ "${#chosen[@]}" -gt 0 ] || { echo "COMPAT_SUITES names no suite of: ${suites[*]}" >&2; exit 2; }
  suites=("${chosen[@]}")
fi

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
failed=0
# nextest keeps its store under the workspace's target/, whatever CARGO_TARGET_DIR says.
junit="target/nextest/default/junit.xml"
for line in $lines; do
  tag="spark_${line/./_}"
  # One nextest run a line, every suite in it: the suites share what testkit writes once a run
  # (the parity applications' logs), and two tests run at a time. Each suite's cell is then read
  # from the run's JUnit report.
  union=""
  present=()
  for suite in "${suites[@]}"; do
    IFS='|' read -r label package module <<<"$suite"
    filter="package($package) & test(/^${module}::.*${tag}/)"
    if cargo nextest list --workspace --locked --run-ignored all -E "$filter" 2>/dev/null | grep -q "${module}::"; then
      union="${union:+$union | }($filter)"
      present+=("$suite")
    else
      printf '%s|%s|%s\n' "$line" "$label" "no test" >>"$results"
      echo "==> Spark $line, $label: no test" >&2
    fi
  done
  [ -n "$union" ] || continue
  rm -f "$junit"
  line_started="$(date +%s)"
  cargo nextest run --workspace --locked --run-ignored all --no-fail-fast -E "$union" >&2 || true
  echo "==> Spark $line: its suites took $(($(date +%s) - line_started)) s" >&2
  for suite in "${present[@]}"; do
    IFS='|' read -r label package module <<<"$suite"
    # passed: every test of the suite for this line passed; failed: one failed or none reported.
    cell="$(python3 - "$junit" "$package" "$module" "$tag" <<'PY'
import sys, xml.etree.ElementTree as ET
junit, package, module, tag = sys.argv[1:]
try:
    cases = list(ET.parse(junit).iter("testcase"))
except (OSError, ET.ParseError):
    cases = []
mine = [c for c in cases if c.get("classname", "").split("::")[0] == package
        and c.get("name", "").startswith(module + "::") and tag in c.get("name", "")]
bad = [c for c in mine if c.find("failure") is not None or c.find("error") is not None]
print("passed" if mine and not bad else "failed")
PY
)"
    [ "$cell" = passed ] || failed=1
    printf '%s|%s|%s\n' "$line" "$label" "$cell" >>"$results"
    echo "==> Spark $line, $label: $cell" >&2
  done
done

commit="$(git rev-parse --short HEAD)"
[ -z "$(git status --porcelain --untracked-files=no)" ] || commit="$commit with uncommitted changes"
previous="$(cat docs/compatibility.md 2>/dev/null || true)"
python3 - "$results" "$commit" "$(date -u +%Y-%m-%d)" "$all_lines" "$previous" "${all_suites[@]}" >docs/compatibility.md <<'EOF'
import sys
results_file, commit, date, all_lines, previous, *suites = sys.argv[1:]
labels = [s.split("|")[0] for s in suites]
cells = {}
# The cells of the table before this run, kept where this run did not run them.
header = None
# A table written before cells said their run: its one "Last run" line says it for every cell.
import re
last = re.search(r"Last run: (\S+), commit ([0-9a-f]+)", previous)
for row in previous.splitlines():
    parts = [p.strip() for p in row.strip().strip("|").split("|")]
    if row.startswith("| Spark line |"):
        header = parts[1:]
    elif header and row.startswith("| ") and not row.startswith("|---"):
        for label, cell in zip(header, parts[1:]):
            if last and "(" not in cell and cell != "not run":
                cell = f"{cell} ({last.group(2)[:7]}, {last.group(1)[:10]})"
            cells[(parts[0], label)] = cell
for row in open(results_file):
    line, label, cell = row.rstrip("\n").split("|")
    cells[(line, label)] = f"{cell} ({commit}, {date})"
print("# Compatibility: Spark lines × proofs\n")
print("Written by `scripts/compat.sh` (do not edit by hand): each supported Spark line's real-Spark")
print("suites, run against that line's managed runtime (`sparkplane runtime install <line>`).")
print("A suite's tests of a line are those whose names say it (`spark_4_3`); each cell says the")
print("commit and the date it was last run; \"no test\" means the suite has none for that line")
print("(Spark 3.5 has no Spark Connect), \"not run\" that no run of the script ran it yet.")
print("CI (`scripts/test.sh`) runs the oldest and the newest line; the lines between run here.")
print("Adding a line: one row in `crates/sparkplane-core/src/spark_lines.rs` (its pins, its Java, the Spark properties it added, which a job of an older line is refused, what its spark-submit creates), its tests, then this script.\n")
print("| Spark line | " + " | ".join(labels) + " |")
print("|---|" + "---|" * len(labels))
for line in all_lines.split():
    print(f"| {line} | " + " | ".join(cells.get((line, l), "not run") for l in labels) + " |")
EOF
echo "==> wrote docs/compatibility.md" >&2
exit "$failed"
