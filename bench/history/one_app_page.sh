#!/usr/bin/env bash
# One application's web page (/history/APP/1/jobs/) and its REST answer
# (/api/v1/applications/APP/1/jobs) while 100,000 applications are listed
# (docs/benchmarks.md, "History Server over a fleet"): the median of nine
# requests each, after one that replays the application. Uses the folder
# fleet.sh makes (bench/history/fleet.sh makes it once).
#
#   bench/history/one_app_page.sh BIN [PORT]
set -euo pipefail
bin="$1"
port="${2:-18301}"
logs="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/history-fleet}/apps-100000"
app=local-1800000099999
index="$(mktemp -d)"
"$bin" history serve --logs "$logs" --listen "127.0.0.1:$port" --index-dir "$index" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$index"' EXIT
listed() { curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "sparkplane_history_index_applications" {print $2}'; }
until [ "$(listed)" = 100000 ]; do sleep 0.2; done
median() { for _ in $(seq 9); do curl -s -o /dev/null -w "%{time_total}\n" "http://127.0.0.1:$port$1"; done | sort -n | sed -n 5p; }
curl -s -o /dev/null "http://127.0.0.1:$port/history/$app/1/jobs/"
echo "$(basename "$bin") page $(median "/history/$app/1/jobs/") s, api $(median "/api/v1/applications/$app/1/jobs") s"
