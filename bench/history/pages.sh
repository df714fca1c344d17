#!/usr/bin/env bash
# Web UI benchmark (issue #43): sparkplane's History Server pages against
# Spark's own History Server pages (pinned 4.1 runtime, pyspark 4.1.4), both
# serving the same logs in the same run, opened in the same headless Chromium
# (crates/sparkplane-history/examples/page_timing.rs, over the DevTools
# protocol). Each server has read its logs before a page is timed (the
# application loaded, the list complete), so what is timed is opening a page:
#   - the stage page of a 260,000-task stage of a 1 GB application (first page
#     of tasks and the summary quantiles), made by make_wide_stage.py;
#   - the stage page of the largest stage (10,000 tasks) of run.sh's 1 GB
#     application (260,000 tasks over 32 stages);
#   - the application list at 10,000 applications (run.sh's copies);
#   - and, sparkplane alone, the SQL execution page of a 6,001-operator plan
#     (make_plan.py): time to complete, first paint, the longest main-thread
#     task and the page's elements, to show the browser does not freeze.
# A page is complete when its load event has fired and its figures are on it
# (Spark's pages fetch them with scripts after load; sparkplane's come with
# the page). Cold: browser cache off (a first visit); warm: cache on, after
# one load. Page weight: every byte the page pulled over the network. Three
# runs each; the median is printed.
#
#   bench/history/pages.sh              # from the repo root
#   SPARKPLANE_BIN=path bench/history/pages.sh   # a release build made earlier
#   PAGE_TIMING=path bench/history/pages.sh      # and the page_timing example built earlier
#   CASES="list plan" bench/history/pages.sh     # some of: wide large list plan (default all)
#
# Inputs are shared with bench/history/run.sh under $SPARKPLANE_BENCH_DIR
# (default ~/.cache/sparkplane/bench/history), made here with the same
# commands when missing, plus the 1 GB wide-stage application (wide/).
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java
need_chromium

data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/history}"
runs="${RUNS:-3}"
cases=" ${CASES:-wide large list plan} "
wants() { [[ "$cases" == *" $1 "* ]]; }
if [ -z "${SPARKPLANE_BIN:-}" ]; then
  cargo build --release --locked -q -p sparkplane
fi
if [ -z "${PAGE_TIMING:-}" ]; then
  cargo build --locked -q -p sparkplane-history --example page_timing
fi
sp="${SPARKPLANE_BIN:-$CARGO_TARGET_DIR/release/sparkplane}"
timing="${PAGE_TIMING:-$CARGO_TARGET_DIR/debug/examples/page_timing}"
"$sp" runtime install 4.1 >&2
record="${SPARKPLANE_HOME:-$HOME/.local/share/sparkplane}/runtimes/4.1/runtime.json"
python="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"])' "$record")"
spark_home="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sparkHome"])' "$record")"
mkdir -p "$data"

# run.sh's inputs (the same commands), when missing.
if [ ! -s "$data/source.json" ]; then
  rm -rf "$data/source-logs" && mkdir -p "$data/source-logs"
  "$python" crates/sparkplane-history/tests/data/cross-check/write_logs.py "$data/source-logs" >/dev/null 2>&1 || true
  first="$(ls -d "$data"/source-logs/eventlog_v2_* | sort | head -n1)"
  zstd -q -dc "$first"/events_* >"$data/source.json"
fi
if [ "$(ls "$data/apps-10000" 2>/dev/null | wc -l)" != 10000 ]; then
  rm -rf "$data/apps-10000"
  python3 bench/history/make_logs.py copies "$data/source.json" "$data/apps-10000" 10000
fi
if [ ! -s "$data/large/local-1799999999999" ]; then
  mkdir -p "$data/large"
  python3 bench/history/make_logs.py large "$data/source.json" "$data/large/local-1799999999999.tmp" 1000000000
  sed 's/"App ID":"[^"]*"/"App ID":"local-1799999999999"/' "$data/large/local-1799999999999.tmp" >"$data/large/local-1799999999999"
  rm -f "$data/large/local-1799999999999.tmp"
fi
# This benchmark's own: one stage of 260,000 tasks (about 1 GB), and a plan of 6,001 operators.
wide_app=local-1799999999998
if [ ! -s "$data/wide/$wide_app" ]; then
  mkdir -p "$data/wide"
  (cd bench/history && python3 make_wide_stage.py "$data/source.json" "$data/wide/$wide_app.tmp" 260000 "$wide_app")
  mv "$data/wide/$wide_app.tmp" "$data/wide/$wide_app"
fi
if [ ! -s "$data/plan/local-1700000000000" ]; then
  mkdir -p "$data/plan"
  python3 bench/history/make_plan.py "$data/plan/local-1700000000000"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
stop_all() { for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || true; done; pids=(); }
trap stop_all EXIT
start_ours() { # logs port
  setsid "$sp" history serve --logs "$1" --listen "127.0.0.1:$2" --interval 3600 --index-dir "$(mktemp -d)" >/dev/null 2>&1 &
  pids+=("$!")
}
start_spark() { # logs port
  local props; props="$(mktemp -d)/history.properties"
  printf 'spark.history.fs.logDirectory=file://%s\nspark.history.ui.port=%s\nspark.history.fs.update.interval=1s\nspark.ui.bindAddress=127.0.0.1\n' "$1" "$2" >"$props"
  SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 SPARK_DAEMON_MEMORY=4g \
    setsid "$spark_home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer --properties-file "$props" >/dev/null 2>&1 &
  pids+=("$!")
}
# Waits until URL answers 200 (and, with N, a JSON list of at least N entries).
wait_for() {
  python3 - "$1" "${2:-0}" <<'PY'
import json, sys, time, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 3600
while time.time() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=600) as r:
            if r.status == 200 and (n == 0 or len(json.load(r)) >= n):
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
sys.exit(f"{url} did not answer within an hour")
PY
}
results="$(mktemp)"
measure() { # label url condition
  for cache in cold warm; do
    "$timing" "$1" "$2" "$3" "$runs" "$cache" | tee -a "$results" >&2
  done
}

# sparkplane's pages are complete when the table and the summary are there; Spark's once its scripts filled them.
ours_stage="document.querySelector('table.tasks tbody tr') && document.querySelector('table.summary tbody tr')"
spark_stage="document.querySelector('#active-tasks-table tbody tr td:not(.dataTables_empty)') && document.querySelector('#summary-metrics-table tbody tr td')"
ours_list="document.querySelector('table tbody tr td a')"
spark_list="document.querySelector('#history-summary-table tbody tr td a')"

stage_case() { # label logs app stage
  local po ps
  po="$(free_port)"; start_ours "$2" "$po"
  ps="$(free_port)"; start_spark "$2" "$ps"
  wait_for "http://127.0.0.1:$po/api/v1/applications/$3/stages/$4/0"
  wait_for "http://127.0.0.1:$ps/api/v1/applications/$3/stages/$4/0"
  measure "sparkplane, $1" "http://127.0.0.1:$po/history/$3/stages/stage/?id=$4&attempt=0" "$ours_stage"
  measure "Spark 4.1.4, $1" "http://127.0.0.1:$ps/history/$3/stages/stage/?id=$4&attempt=0" "$spark_stage"
  stop_all
}

echo "sparkplane $("$sp" --version | awk '{print $2}') and Spark $(basename "$(ls "$spark_home"/jars/spark-core_*.jar)" .jar | sed 's/.*-//') on $(nproc) cores, $(chromium --version)" >&2
if wants wide; then
wide_stage="$(python3 -c 'import json,sys
n = {}
for line in open(sys.argv[1]):
    if "\"SparkListenerTaskEnd\"" in line:
        e = json.loads(line); n[e["Stage ID"]] = n.get(e["Stage ID"], 0) + 1
print(max(n, key=n.get))' "$data/wide/$wide_app")"
stage_case "stage of 260,000 tasks ($(( $(wc -c <"$data/wide/$wide_app") / 1000000 )) MB application)" "$data/wide" "$wide_app" "$wide_stage"
fi
wants large && stage_case "stage of 10,000 tasks ($(( $(wc -c <"$data/large/local-1799999999999") / 1000000 )) MB application)" "$data/large" local-1799999999999 0

if wants list; then
po="$(free_port)"; start_ours "$data/apps-10000" "$po"
ps="$(free_port)"; start_spark "$data/apps-10000" "$ps"
wait_for "http://127.0.0.1:$po/api/v1/applications" 10000
wait_for "http://127.0.0.1:$ps/api/v1/applications" 10000
measure "sparkplane, application list of 10,000" "http://127.0.0.1:$po/" "$ours_list"
measure "Spark 4.1.4, application list of 10,000" "http://127.0.0.1:$ps/" "$spark_list"
stop_all
fi

if wants plan; then
po="$(free_port)"; start_ours "$data/plan" "$po"
wait_for "http://127.0.0.1:$po/api/v1/applications/local-1700000000000/jobs"
"$timing" "sparkplane, SQL plan of 6,001 operators" "http://127.0.0.1:$po/history/local-1700000000000/SQL/execution/?id=0" plan "$runs" cold | tee -a "$results" >&2
stop_all
fi

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cases = {}
for r in rows:
    cases.setdefault((r["label"], r["cache"]), []).append(r)
print("| page | cache | complete (median ms) | runs (ms) | bytes | requests | script errors |")
print("|---|---|---|---|---|---|---|")
for (label, cache), rs in cases.items():
    times = [r["complete_ms"] for r in rs]
    errors = sum(len(r["script_errors"]) for r in rs)
    print(f"| {label} | {cache} | {statistics.median(times):,.0f} | {', '.join(f'{t:,.0f}' for t in times)} "
          f"| {statistics.median(r['bytes'] for r in rs):,.0f} | {rs[0]['requests']} | {errors} |")
for r in rows:
    if r["fcp_ms"] is not None and "plan" in r["label"]:
        print(f"plan run {r['run']}: complete {r['complete_ms']:,.0f} ms, first contentful paint {r['fcp_ms']:,.0f} ms, "
              f"longest main-thread task {r['longest_task_ms']:,.0f} ms, {r['elements']:,} elements, {r['bytes']:,} bytes")
PY
