#!/usr/bin/env bash
# History Server restart with its persisted index (ADR 0066): N applications
# (default 100,000) as copies of one small real Spark log from the repository
# (Spark's own test log local-1430917381535_1, 5 KB), then
#   - a first start with an empty --index-dir: time until `applications`
#     lists all N (every log read, the index filled), and peak RSS;
#   - two restarts with that index: time until `applications` lists all N
#     again (answered from the index while the location is listed), and RSS.
# Times and RSS by bench/history/measure.py (start of the process until the
# answer; VmHWM). The page cache is warmed first; nothing else is timed.
#
#   bench/history/restart.sh                      # release build, 100,000 applications
#   PROFILE=dev RESTART_APPS=10000 bench/history/restart.sh
#
# Inputs are made once under $SPARKPLANE_BENCH_DIR (default
# ~/.cache/sparkplane/bench/history-restart): about 800 MB for 100,000 copies.
source "$(dirname "$0")/../../scripts/common.sh"
need_rust

n="${RESTART_APPS:-100000}"
profile="${PROFILE:-release}"
data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/history-restart}"
source_log=crates/sparkplane-history/tests/data/spark-history/spark-events/local-1430917381535_1
cargo build --profile "$profile" --locked -q -p sparkplane
dir="$profile"; [ "$profile" = dev ] && dir=debug
sp="$CARGO_TARGET_DIR/$dir/sparkplane"

mkdir -p "$data"
if [ "$(ls "$data/apps-$n" 2>/dev/null | wc -l)" != "$n" ]; then
  echo "==> $n copies of $source_log" >&2
  rm -rf "$data/apps-$n"
  python3 bench/history/make_logs.py copies "$source_log" "$data/apps-$n" "$n"
fi
find "$data/apps-$n" -type f -exec cat {} + >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
index="$(mktemp -d)"
trap 'rm -rf "$index"' EXIT
serve() { # port
  echo "$sp" history serve --logs "$data/apps-$n" --listen "127.0.0.1:$1" --interval 3600 --index-dir "$index"
}

echo
echo "sparkplane $("$sp" --version | awk '{print $2}') ($profile build) on $(nproc) cores, $n applications"
echo
echo "| case | start → applications lists all (s) | peak RSS (MiB) |"
echo "|---|---|---|"
p="$(free_port)"
python3 bench/history/measure.py "first start, empty index" "http://127.0.0.1:$p/api/v1/applications" "apps:$n" -- $(serve "$p")
for run in 1 2; do
  p="$(free_port)"
  python3 bench/history/measure.py "restart $run with the persisted index" "http://127.0.0.1:$p/api/v1/applications" "apps:$n" -- $(serve "$p")
done
echo
echo "index file: $(du -h "$index/index.redb" | cut -f1) on disk"
