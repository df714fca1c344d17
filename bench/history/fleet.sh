#!/usr/bin/env bash
# The History Server over a fleet (issue #41): `sparkplane history serve`
# against Spark's own History Server (pinned 4.1 runtime) on the same
# 100,000 logs, the two servers run one after the other, never at once:
#   1. the first complete listing of all applications: time from start until
#      `applications` returns every one (its last byte received; and, as
#      measured before, until the client has decoded its JSON), and peak RSS
#      (VmHWM) then;
#   2. a restart: sparkplane with the persisted index its first start filled
#      (ADR 0066), Spark with the listing store its first start filled
#      (spark.history.store.path, its LevelDB/RocksDB): time until
#      `applications` returns every one again, and peak RSS;
#   3. what sparkplane's listing keeps per application: its RSS once 10,000,
#      50,000 and 100,000 logs are listed (no request for the list), and once
#      10,000 logs of 25 times as many tasks are;
#   4. a log added while sparkplane serves the 100,000 with the default
#      --interval 10: time from the log's appearance until its application
#      answers, over 100 additions (p50, p90, p99, max);
#   5. the persisted index's size on disk.
# bench/history/fleet.py makes each measurement (see its header for how a
# complete listing is detected without loading either server with polls).
#
#   bench/history/fleet.sh                        # release build, 100,000 applications
#   SPARKPLANE_BENCH_DIR=/tmp/hist-bench bench/history/fleet.sh
#   SPARK_HEAP=8g FLEET_TIMEOUT=7200 bench/history/fleet.sh
#   FLEET_SKIP_SPARK=1 bench/history/fleet.sh     # sparkplane's cases only
#   CASES="listing appear" bench/history/fleet.sh # some of: listing restart steady appear (default all)
#
# Inputs are made once under $SPARKPLANE_BENCH_DIR (default
# ~/.cache/sparkplane/bench/history-fleet): 100,000 copies of Spark's own
# test log local-1426533911241 (a real application: 1 job, 1 stage, 8 tasks,
# 17 KB), each with its own application id (about 2 GB), the 10,000 and
# 50,000 subsets as hard links to them, and 10,000 copies of the same log
# with 200 tasks (bench/history/make_logs.py wide; about 2 GB).
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java

n="${FLEET_APPS:-100000}"
cases=" ${CASES:-listing restart steady appear} "
has() { [[ "$cases" == *" $1 "* ]]; }
data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/history-fleet}"
heap="${SPARK_HEAP:-4g}"
source_log=crates/sparkplane-history/tests/data/spark-history/spark-events/local-1426533911241
if [ -z "${SPARKPLANE_BIN:-}" ]; then
  cargo build --release --locked -q -p sparkplane
fi
sp="${SPARKPLANE_BIN:-$CARGO_TARGET_DIR/release/sparkplane}"
"$sp" runtime install 4.1 >&2
record="${SPARKPLANE_HOME:-$HOME/.local/share/sparkplane}/runtimes/4.1/runtime.json"
spark_home="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sparkHome"])' "$record")"

mkdir -p "$data"
if [ "$(ls "$data/apps-$n" 2>/dev/null | wc -l)" != "$n" ]; then
  echo "==> $n copies of $source_log" >&2
  rm -rf "$data/apps-$n"
  python3 bench/history/make_logs.py copies "$source_log" "$data/apps-$n" "$n"
fi
subsets=()
for m in 10000 50000; do
  [ "$m" -lt "$n" ] || continue
  subsets+=("$m")
  if [ "$(ls "$data/apps-$m" 2>/dev/null | wc -l)" != "$m" ]; then
    rm -rf "$data/apps-$m" && mkdir -p "$data/apps-$m"
    # sed reads to the end (head would stop early, and under pipefail the SIGPIPE it leaves ends the script).
    ls "$data/apps-$n" | sort | sed -n "1,${m}p" | while read -r f; do ln "$data/apps-$n/$f" "$data/apps-$m/$f"; done
  fi
done
if has steady && [ "$(ls "$data/wide-10000" 2>/dev/null | wc -l)" != 10000 ]; then
  echo "==> 10000 copies of $source_log with 25 times its tasks" >&2
  rm -rf "$data/wide-10000"
  python3 bench/history/make_logs.py wide "$source_log" "$data/wide-10000" 10000 25
fi
warm() { find "$1" -type f -exec cat {} + >/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
ours() { # logs port index-folder [interval]
  echo "$sp" history serve --logs "$1" --listen "127.0.0.1:$2" --interval "${4:-3600}" --index-dir "$3"
}
spark() { # logs port [store folder]
  local props="$scratch/spark-$2.properties"
  printf 'spark.history.fs.logDirectory=file://%s\nspark.history.ui.port=%s\nspark.ui.bindAddress=127.0.0.1\n' "$1" "$2" >"$props"
  [ -z "${3:-}" ] || printf 'spark.history.store.path=%s\n' "$3" >>"$props"
  echo env SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 SPARK_DAEMON_MEMORY="$heap" \
    "$spark_home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer --properties-file "$props"
}
fleet() { python3 bench/history/fleet.py "$@"; }
parsed="Finished parsing"

echo
echo "sparkplane $("$sp" --version | awk '{print $2}') and Spark $(basename "$(ls "$spark_home"/jars/spark-core_*.jar)" .jar | sed 's/.*-//') (SPARK_DAEMON_MEMORY=$heap) on $(nproc) cores, $n applications, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| server, case | start → applications answered whole (s) | … and decoded by the client (s) | peak RSS (MiB) | RSS then (MiB) |"
echo "|---|---|---|---|---|"
if has listing; then
  warm "$data/apps-$n"
  p="$(free_port)"
  fleet listing "sparkplane, first listing, run 1" "http://127.0.0.1:$p" "$n" listen -- $(ours "$data/apps-$n" "$p" "$scratch/index-1")
  if [ -z "${FLEET_SKIP_SPARK:-}" ]; then
    warm "$data/apps-$n"
    p="$(free_port)"
    fleet listing "Spark 4.1, first listing (in-memory store)" "http://127.0.0.1:$p" "$n" "log:$scratch/spark-1.log:$parsed" -- $(spark "$data/apps-$n" "$p")
  fi
fi
if has restart; then
  warm "$data/apps-$n"
  p="$(free_port)"
  fleet listing "sparkplane, first listing, run 2 (fills the persisted index)" "http://127.0.0.1:$p" "$n" listen -- $(ours "$data/apps-$n" "$p" "$scratch/index")
  for run in 1 2 3; do
    p="$(free_port)"
    fleet listing "sparkplane, restart $run with the persisted index" "http://127.0.0.1:$p" "$n" listen -- $(ours "$data/apps-$n" "$p" "$scratch/index")
  done
  if [ -z "${FLEET_SKIP_SPARK:-}" ]; then
    warm "$data/apps-$n"
    p="$(free_port)"
    fleet listing "Spark 4.1, first listing filling its store (spark.history.store.path)" "http://127.0.0.1:$p" "$n" "log:$scratch/spark-2.log:$parsed" -- $(spark "$data/apps-$n" "$p" "$scratch/spark-store")
    p="$(free_port)"
    fleet listing "Spark 4.1, restart with its store" "http://127.0.0.1:$p" "$n" "poll:2" -- $(spark "$data/apps-$n" "$p" "$scratch/spark-store")
  fi
  echo
  echo "persisted index: $(du -k "$scratch/index/index.redb" | cut -f1) KiB for $n applications"
  [ -n "${FLEET_SKIP_SPARK:-}" ] || echo "Spark's store: $(du -sk "$scratch/spark-store" | cut -f1) KiB"
fi

if has steady; then
  echo
  echo "| what is listed | applications | start → listed (s) | RSS once listed (MiB) | peak RSS (MiB) |"
  echo "|---|---|---|---|---|"
  for m in "${subsets[@]}" "$n"; do
    warm "$data/apps-$m"
    p="$(free_port)"
    fleet steady "copies of the 8-task log" "http://127.0.0.1:$p" "$m" -- $(ours "$data/apps-$m" "$p" "$scratch/index-steady-$m")
  done
  warm "$data/wide-10000"
  p="$(free_port)"
  fleet steady "copies of the same log with 200 tasks" "http://127.0.0.1:$p" 10000 -- $(ours "$data/wide-10000" "$p" "$scratch/index-wide")
fi
if has appear; then
  echo
  echo "| case | logs added | p50 (s) | p90 (s) | p99 (s) | max (s) | never answered |"
  echo "|---|---|---|---|---|---|---|"
  warm "$data/apps-$n"
  p="$(free_port)"
  fleet appear "a log added while serving $n, --interval 10" "http://127.0.0.1:$p" "$n" "$data/apps-$n" "$source_log" 100 -- $(ours "$data/apps-$n" "$p" "$scratch/index" 10)
fi
