#!/usr/bin/env bash
# Event-log benchmark: sparkplane against Spark's own History Server, on the
# same real event logs written by real Spark (bench/eventlog/make_logs.py).
#
#   bench/eventlog/run.sh            # from the repo root
#
# Measures, with /usr/bin/time (wall, user+sys CPU, peak RSS):
#   - `sparkplane analyze LOG` on one application, uncompressed and zstd, small
#     to >= 1 GB: MB/s of uncompressed JSON per core (it reads one log on one core);
#   - `sparkplane cost DIR` over a directory of many applications (all cores);
#   - the History Server from the same pinned runtime on the same log: time from
#     its start until its REST API returns the application's stages, and the
#     stages request alone (the replay), with its peak RSS.
# Logs are made once and kept under $SPARKPLANE_BENCH_DIR
# (default ~/.cache/sparkplane/bench/eventlog); the 1 GB log takes ~45 min of
# Spark on a 2-core machine.
source "$(dirname "$0")/../../scripts/common.sh"
need_rust
need_java

data="${SPARKPLANE_BENCH_DIR:-$HOME/.cache/sparkplane/bench/eventlog}"
cargo build --release --locked -q -p sparkplane
sp="$CARGO_TARGET_DIR/release/sparkplane"
"$sp" runtime install 3.5 >&2
record="${SPARKPLANE_HOME:-$HOME/.local/share/sparkplane}/runtimes/3.5/runtime.json"
python="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["python"])' "$record")"
spark_home="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sparkHome"])' "$record")"

make_log() { # dir tasks-per-stage rounds name
  if ! ls "$1"/local-* >/dev/null 2>&1; then
    echo "==> writing a real event log with Spark into $1 (tasks per stage $2, rounds $3)" >&2
    "$python" bench/eventlog/make_logs.py --out "$1" --tasks-per-stage "$2" --rounds "$3" --name "$4" >&2
  fi
  ls "$1"/local-* | grep -v inprogress | head -n1
}
big="$(make_log "$data/raw" 25000 4 sparkplane-eventlog-bench)"
medium="$(make_log "$data/medium" 5000 2 sparkplane-eventlog-bench-medium)"
small="crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9/eventlog_v2_local-1795265030698"

# zstd copies, as Spark names them (<app-id>.zstd); level 1 is Spark's default.
mkdir -p "$data/zstd"
big_zstd="$data/zstd/$(basename "$big").zstd"
[ -f "$big_zstd" ] || zstd -q -1 -T0 "$big" -o "$big_zstd"
# A directory of many applications: 12 copies of the medium log.
mkdir -p "$data/many"
for i in $(seq -w 1 12); do
  [ -e "$data/many/local-17000000000$i" ] || ln "$medium" "$data/many/local-17000000000$i" 2>/dev/null || cp "$medium" "$data/many/local-17000000000$i"
done

mb() { python3 -c 'import sys; print(round(int(sys.argv[1]) / 1e6, 1))' "$1"; }
size_of() { # uncompressed bytes of a log (a file, or a rolling dir's parts)
  if [ -d "$1" ]; then zstd -dc "$1"/events_* | wc -c
  elif [[ "$1" == *.zstd ]]; then zstd -dc "$1" | wc -c
  else wc -c <"$1"; fi
}
measure() { # label bytes command…
  local label="$1" bytes="$2"; shift 2
  local stats arg
  # Read each input once first: this machine reclaims idle page cache, and a
  # cold first read would measure the disk, not the tool (the History Server
  # below always gets the log warm, right after this).
  for arg in "$@"; do [ -f "$arg" ] && cat "$arg" >/dev/null; done
  stats="$(mktemp)"
  /usr/bin/time -o "$stats" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || true
  read -r wall user sys rss <"$stats"
  rm -f "$stats"
  last_wall="$wall"
  python3 - "$label" "$bytes" "$wall" "$user" "$sys" "$rss" <<'PY'
import sys
label, size, wall, user, sys_, rss = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:7])
cpu = user + sys_
print(f"| {label} | {size/1e6:,.1f} | {wall:.2f} | {cpu:.2f} | {size/1e6/max(cpu,1e-3):,.0f} | {size/1e6/max(wall,1e-3):,.0f} | {rss/1024:,.0f} |")
PY
}

echo
echo "sparkplane $("$sp" --version | awk '{print $2}') on $(nproc) cores; logs in $data"
echo
echo "| case | MB (JSON) | wall s | CPU s | MB/s per core | MB/s wall | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
measure "analyze, small (rolling, zstd)" "$(size_of "$small")" "$sp" analyze "$small" -o json
measure "analyze, medium (uncompressed)" "$(size_of "$medium")" "$sp" analyze "$medium" -o json
measure "analyze, 1 GB (uncompressed)" "$(size_of "$big")" "$sp" analyze "$big" -o json
wall_plain="$last_wall"
measure "analyze, 1 GB (zstd)" "$(size_of "$big")" "$sp" analyze "$big_zstd" -o json
wall_zstd="$last_wall"
many_bytes=$(( $(size_of "$medium") * 12 ))
measure "cost, 12 applications (all cores)" "$many_bytes" "$sp" cost "$data/many" -o json

# The History Server on one log at a time, as it would serve it.
history_server() { # label log sparkplane-wall
  local label="$1" log="$2" ours="$3" dir port props pid started listed t0 t1 rss app
  dir="$(mktemp -d)"
  ln "$log" "$dir/" 2>/dev/null || cp "$log" "$dir/"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  props="$dir.properties"
  printf 'spark.history.fs.logDirectory=file://%s\nspark.history.ui.port=%s\nspark.history.fs.update.interval=1s\n' "$dir" "$port" >"$props"
  app="$(basename "$log")"; app="${app%.zstd}"
  started=$(date +%s.%N)
  SPARK_HOME="$spark_home" SPARK_DAEMON_MEMORY=8g SPARK_LOCAL_IP=127.0.0.1 \
    setsid "$spark_home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer --properties-file "$props" >/dev/null 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$port/api/v1/applications" | grep -q "$app"; do sleep 0.2; done
  listed=$(date +%s.%N)
  t0=$(date +%s.%N)
  curl -sf "http://127.0.0.1:$port/api/v1/applications/$app/stages" -o "$dir.stages.json"
  t1=$(date +%s.%N)
  rss=$(ps -o rss= -p "$(pgrep -f "HistoryServer --properties-file $props" | head -n1)" | tr -d ' ')
  kill -- -"$pid" 2>/dev/null || kill "$pid"
  wait "$pid" 2>/dev/null || true
  python3 - "$label" "$(size_of "$log")" "$started" "$listed" "$t0" "$t1" "${rss:-0}" "$dir.stages.json" "$ours" <<'PY'
import json, sys
label, size, started, listed, t0, t1, rss, stages, ours = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:7]), int(sys.argv[7]), sys.argv[8], float(sys.argv[9])
n = len(json.load(open(stages)))
total = t1 - started
print(f"| {label} | {size/1e6:,.1f} | {total:.1f} s ({listed-started:.1f} s to list it, {t1-t0:.1f} s for the stages request; {n} stages) | {size/1e6/max(t1-t0,1e-3):,.0f} MB/s | {rss/1024:,.0f} MiB | {ours:.2f} s | {total/max(ours,1e-3):.1f}× |")
PY
  rm -rf "$dir" "$props" "$dir.stages.json"
}
echo
echo "| History Server on | MB (JSON) | start → stages returned | replay rate | RSS after | sparkplane analyze wall | sparkplane faster by |"
echo "|---|---|---|---|---|---|---|"
history_server "1 GB (uncompressed)" "$big" "$wall_plain"
history_server "1 GB (zstd)" "$big_zstd" "$wall_zstd"
