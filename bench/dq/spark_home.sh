# Sourced by bench/dq's Spark benchmarks (spark_run.sh, observe_probe.sh): the
# one place they find the managed Spark 4.1 runtime.
#
# spark41_home BIN   installs Spark 4.1 with the sparkplane binary BIN when it is
#                    missing and prints its SPARK_HOME; fails (status 3, the
#                    infrastructure code) when the runtime cannot be found.
spark41_home() {
  "$1" runtime install 4.1 >&2
  local home
  home="$("$1" runtime list -o json | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r.get("line") == "4.1": print(json.load(open(r["path"] + "/runtime.json"))["sparkHome"])')"
  if [ ! -d "$home" ]; then
    echo "no managed Spark 4.1 runtime found (sparkplane runtime install 4.1)" >&2
    return 3
  fi
  printf '%s\n' "$home"
}
