#!/usr/bin/env bash
# History Server benchmark: `sparkplane history serve` against Spark's own
# History Server (pinned 4.1 runtime, pyspark 4.1.4), side by side on the same
# logs, in one run:
#   - time from start until `applications` lists 1,000 and 10,000 applications
#     (copies of one real Spark 4.1 log with distinct ids);
#   - time from start until one large application's `stages` answers (a log of
#     at least 1 GB made from the same real log, bench/history/make_logs.py);
#   - peak RSS of each server at that moment (VmHWM, bench/history/measure.py);
#   - sparkplane's restart over 10,000 applications with its persisted index
#     (ADR 0066): time until `applications` lists them all again, and RSS.
#     Every other sparkplane start gets a fresh --index-dir, so it lists cold.
#
#   bench/history/run.sh                 # from the repo root
#   SPARK_APPS="1000" bench/history/run.sh   # Spark's History Server on 1,000 only
#
# Inputs are made once under $SPARKPLANE_BENCH_DIR (default
# ~/.cache/sparkplane/bench/history): about 2.2 GB for 10,000 copies and 1 GB
# for the large log.
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java

data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/history}"
spark_apps="${SPARK_APPS:-1000 10000}"
cargo build --release --locked -q -p sparkplane
sp="$CARGO_TARGET_DIR/release/sparkplane"
"$sp" runtime install 4.1 >&2
record="${SPARKPLANE_HOME:-$HOME/.local/share/sparkplane}/runtimes/4.1/runtime.json"
python="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"])' "$record")"
spark_home="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sparkHome"])' "$record")"
mkdir -p "$data"

# One real Spark 4.1 application (zstd rolling), decompressed to a single JSON file.
if [ ! -s "$data/source.json" ]; then
  echo "==> writing real Spark 4.1 logs into $data/source-logs" >&2
  rm -rf "$data/source-logs" && mkdir -p "$data/source-logs"
  "$python" crates/sparkplane-history/tests/data/cross-check/write_logs.py "$data/source-logs" >/dev/null 2>&1 || true
  first="$(ls -d "$data"/source-logs/eventlog_v2_* | sort | head -n1)"
  zstd -q -dc "$first"/events_* >"$data/source.json"
fi
for n in 1000 10000; do
  if [ "$(ls "$data/apps-$n" 2>/dev/null | wc -l)" != "$n" ]; then
    echo "==> $n copies" >&2
    rm -rf "$data/apps-$n"
    python3 bench/history/make_logs.py copies "$data/source.json" "$data/apps-$n" "$n"
  fi
done
if [ ! -s "$data/large/local-1799999999999" ]; then
  mkdir -p "$data/large"
  python3 bench/history/make_logs.py large "$data/source.json" "$data/large/local-1799999999999.tmp" 1000000000
  sed 's/"App ID":"[^"]*"/"App ID":"local-1799999999999"/' "$data/large/local-1799999999999.tmp" >"$data/large/local-1799999999999"
  rm -f "$data/large/local-1799999999999.tmp"
fi
large_mb="$(( $(wc -c <"$data/large/local-1799999999999") / 1000000 ))"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ours() { # logs port [index folder]; without one, a fresh persisted index, so the start lists every log
  echo "$sp" history serve --logs "$1" --listen "127.0.0.1:$2" --interval 3600 --index-dir "${3:-$(mktemp -d)}"
}
spark() { # logs port
  local props; props="$(mktemp -d)/history.properties"
  printf 'spark.history.fs.logDirectory=file://%s\nspark.history.ui.port=%s\nspark.history.fs.update.interval=1s\nspark.ui.bindAddress=127.0.0.1\n' "$1" "$2" >"$props"
  echo env SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 SPARK_DAEMON_MEMORY=4g \
    "$spark_home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer --properties-file "$props"
}
warm() { cat "$1"/* >/dev/null 2>&1 || true; }

echo
echo "sparkplane $("$sp" --version | awk '{print $2}') and Spark $(basename "$(ls "$spark_home"/jars/spark-core_*.jar)" .jar | sed 's/.*-//') on $(nproc) cores"
echo
echo "| server, case | start → answer (s) | peak RSS (MiB) |"
echo "|---|---|---|"
for n in 1000 10000; do
  warm "$data/apps-$n"
  p="$(free_port)"
  python3 bench/history/measure.py "sparkplane, $n applications listed" "http://127.0.0.1:$p/api/v1/applications" "apps:$n" -- $(ours "$data/apps-$n" "$p")
  if [[ " $spark_apps " == *" $n "* ]]; then
    warm "$data/apps-$n"
    p="$(free_port)"
    python3 bench/history/measure.py "Spark 4.1.4, $n applications listed" "http://127.0.0.1:$p/api/v1/applications" "apps:$n" -- $(spark "$data/apps-$n" "$p")
  fi
done
# A restart (ADR 0066): the first start fills a persisted index, the second answers from it before listing.
index="$(mktemp -d)"
warm "$data/apps-10000"
p="$(free_port)"
python3 bench/history/measure.py "sparkplane, 10000 applications, start filling the persisted index" "http://127.0.0.1:$p/api/v1/applications" "apps:10000" -- $(ours "$data/apps-10000" "$p" "$index")
p="$(free_port)"
python3 bench/history/measure.py "sparkplane, 10000 applications, restart with the persisted index" "http://127.0.0.1:$p/api/v1/applications" "apps:10000" -- $(ours "$data/apps-10000" "$p" "$index")
rm -rf "$index"
warm "$data/large"
p="$(free_port)"
python3 bench/history/measure.py "sparkplane, stages of one ${large_mb} MB application" "http://127.0.0.1:$p/api/v1/applications/local-1799999999999/stages" ok -- $(ours "$data/large" "$p")
warm "$data/large"
p="$(free_port)"
python3 bench/history/measure.py "Spark 4.1.4, stages of one ${large_mb} MB application" "http://127.0.0.1:$p/api/v1/applications/local-1799999999999/stages" ok -- $(spark "$data/large" "$p")
