#!/usr/bin/env bash
# Spark Connect cold start: the time from nothing running to the first query
# answered, in one run, for
#   - `sparkplane sql "<query>"`: starts a local Spark Connect server from the
#     managed Spark 4.1 runtime (its JVM started directly with Connect's server
#     class, mapping the runtime's class-data archive), the
#     PyPI thin client (pyspark-client) in parallel, runs the query, prints the
#     rows and stops the server;
#   - the anchor, `pyspark --remote local` (pyspark 4.1.4 with its connect
#     extras, in its own venv) given the same query on stdin (python -i, so
#     the shell's startup script makes `spark` as it does on a terminal):
#     pyspark starts its own local Connect server and answers through the
#     same client code.
# bench/connect/first_answer.py runs them in turn, RUNS rounds (default 5),
# after one untimed run of each (warm disk caches for both), and reports the
# median, min and max time to the first answer (the rows on stdout) and to
# the command's exit (with its server's shutdown).
#
#   bench/connect/run.sh                 # from the repo root
#   RUNS=10 bench/connect/run.sh
#   SPARKPLANE_BIN=~/.cache/sparkplane/target/debug/sparkplane bench/connect/run.sh   # skip the release build
#
# The anchor's venv is made once under $SPARKPLANE_BENCH_DIR (default
# ~/.cache/sparkplane/bench/connect).
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java

runs="${RUNS:-5}"
data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/connect}"
query="SELECT count(*) AS n, sum(id) AS total FROM range(1000000)"
if [ -n "${SPARKPLANE_BIN:-}" ]; then
  sp="$SPARKPLANE_BIN"   # e.g. a debug build: the command's own work is milliseconds beside the JVM's seconds
else
  cargo build --release --locked -q -p sparkplane
  sp="$CARGO_TARGET_DIR/release/sparkplane"
fi
"$sp" runtime install 4.1 >&2
# The first `sql` also installs the thin client, caches the JVM's launch command and
# writes the runtime's class-data archive as its server stops (ADR 0022, "Cold
# start"): first-use costs, kept out of the timed runs.
"$sp" sql "SELECT 1" >/dev/null

mkdir -p "$data"
anchor="$data/anchor"
if ! "$anchor/bin/python" -c 'import pyspark, grpc, pandas, pyarrow; assert pyspark.__version__ == "4.1.4"' 2>/dev/null; then
  echo "==> installing pyspark[connect]==4.1.4 into $anchor (the anchor)" >&2
  rm -rf "$anchor" && python3 -m venv "$anchor" && "$anchor/bin/pip" install -q "pyspark[connect]==4.1.4" >&2
fi
printf 'print(spark.sql("%s").collect())\n' "$query" >"$data/anchor-input.py"
# The untimed runs.
PATH="$anchor/bin:$PATH" PYSPARK_DRIVER_PYTHON_OPTS=-i "$anchor/bin/pyspark" --remote local <"$data/anchor-input.py" >/dev/null 2>&1

java_version="$(java -version 2>&1 | head -n1)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); $java_version; load $(cut -d' ' -f1-3 /proc/loadavg)"
# First answer: sparkplane's table header line; pyspark's printed Row list.
python3 bench/connect/first_answer.py "$runs" \
  "sparkplane sql=^n +total=exec '$sp' sql '$query'" \
  "pyspark --remote local=Row\(n.1000000=PATH='$anchor/bin':\$PATH PYSPARK_DRIVER_PYTHON_OPTS=-i exec '$anchor/bin/pyspark' --remote local <'$data/anchor-input.py'"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
