#!/usr/bin/env bash
# Submission benchmark (issue #3 §3): real spark-submit (the pinned 3.5
# runtime, cluster mode, waitAppCompletion=false) against `sparkplane submit`
# (release build) of the equivalent job, both against the same fake
# Kubernetes API server (`fake-kube-apiserver`), in the same run.
#
# Measures wall time (nanosecond clock), CPU time (user+sys) and peak RSS (/usr/bin/time -v),
# for 1 submission (the median of 5 separate runs) and for N sequential
# submissions (default 100). Every
# submission is a distinct application on both sides: spark-submit gets a new
# --name, sparkplane a job file with a new metadata.name (written before the
# timing starts), as 100 teams' jobs would be.
#
# Usage (from the repository root): bench/submit.sh [N]
#   N                    sequential submissions of the second round (default 100)
#   BENCH_SKIP_BUILD=1   use the release binaries already in $CARGO_TARGET_DIR/release
#   BENCH_KEEP=1         keep the work directory (logs, kubeconfig, timings) and print it
set -euo pipefail

n="${1:-100}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"

if [ ! -x /usr/bin/time ]; then
  echo "bench/submit.sh needs GNU time (/usr/bin/time): apt-get install time" >&2
  exit 3
fi

case "$n" in
  ''|*[!0-9]*|0) echo "bench/submit.sh: N must be a positive whole number, got '$n'" >&2; exit 2 ;;
esac

sparkplane="$CARGO_TARGET_DIR/release/sparkplane"
fake="$CARGO_TARGET_DIR/release/fake-kube-apiserver"
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
  for bin in "$sparkplane" "$fake"; do
    [ -x "$bin" ] || { echo "BENCH_SKIP_BUILD=1 but $bin is missing: build it or unset BENCH_SKIP_BUILD" >&2; exit 2; }
  done
else
  echo "==> building sparkplane and fake-kube-apiserver (release)" >&2
  cargo build --release -q -p sparkplane --bin sparkplane -p sparkplane-fakekube --bin fake-kube-apiserver
fi

spark_submit="$("$sparkplane" runtime list -o json | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if str(r.get("line")) == "3.5" and r.get("status") == "ok":
        print(r["path"] + "/venv/bin/spark-submit")
' || true)"
if [ ! -x "$spark_submit" ]; then
  echo "no Spark 3.5 runtime: run 'sparkplane runtime install 3.5' first" >&2
  exit 3
fi
# spark-submit finds SPARK_HOME through whatever `python3` is on PATH, which does not
# see the runtime's venv; name it from the runtime's record instead.
spark_home="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["sparkHome"])' \
  "$(dirname "$(dirname "$(dirname "$spark_submit")")")/runtime.json")"

# shellcheck source=bench/fake-api.sh
source "$repo_root/bench/fake-api.sh"
work="$(mktemp -d)"
cleanup() {
  stop_fake_api
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "==> work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
start_fake_api "$fake" "$work"
echo "==> fake API server at $url" >&2

# The same application for spark-submit: what `sparkplane render --target job` passes it, in short.
cat >"$work/spark-submit.sh" <<EOF
#!/usr/bin/env bash
set -e
export SPARK_LOCAL_IP=127.0.0.1 SPARK_USER=spark SPARK_HOME="$spark_home"
unset SPARK_CONF_DIR HADOOP_CONF_DIR
for i in \$(seq "\$2"); do
  "$spark_submit" --master "k8s://$url" --deploy-mode cluster --name "probe-\$1-\$i" \\
    --conf spark.kubernetes.namespace=bench \\
    --conf spark.kubernetes.container.image=registry.example.com/bench/probe:1.0.0 \\
    --conf spark.kubernetes.authenticate.driver.serviceAccountName=probe-spark \\
    --conf spark.driver.cores=1 --conf spark.driver.memory=1g \\
    --conf spark.executor.cores=1 --conf spark.executor.memory=1g --conf spark.executor.instances=2 \\
    --conf spark.eventLog.enabled=true --conf spark.eventLog.dir=s3a://spark-events/bench \\
    --conf spark.kubernetes.submission.waitAppCompletion=false \\
    local:///opt/app/probe.py >/dev/null 2>>"$work/spark-submit.log"
done
EOF
cat >"$work/sparkplane.sh" <<EOF
#!/usr/bin/env bash
set -e
export KUBECONFIG="$work/kubeconfig"
for i in \$(seq "\$2"); do
  "$sparkplane" submit "$work/jobs/\$1-\$i.yaml" -q >/dev/null 2>>"$work/sparkplane.log"
done
EOF
chmod +x "$work/spark-submit.sh" "$work/sparkplane.sh"

# One job file per sparkplane submission of every round, named like spark-submit's.
mkdir "$work/jobs"
singles=5
for round_count in warm:1 one1:1 one2:1 one3:1 one4:1 one5:1 many:"$n"; do
  round="${round_count%%:*}"
  for i in $(seq "${round_count#*:}"); do
    sed "s/name: NAME,/name: probe-$round-$i,/" "$work/probe.yaml" >"$work/jobs/$round-$i.yaml"
  done
done

# measure NAME ROUND COUNT -> "wall_s cpu_s maxrss_kib"
measure() {
  local script="$1" round="$2" count="$3" out="$work/time.$1.$2" started ended
  started="$(date +%s%N)"
  if ! /usr/bin/time -v -o "$out" "$work/$script.sh" "$round" "$count"; then
    echo "$script failed after $(grep -c . "$work/$script.log" 2>/dev/null || echo 0) log lines; its last ones:" >&2
    tail -20 "$work/$script.log" >&2 2>/dev/null || true
    exit 1
  fi
  ended="$(date +%s%N)"
  # Wall time from the nanosecond clock (time -v rounds it to 10 ms); CPU and
  # peak RSS from time -v (getrusage of the whole run).
  python3 - "$out" "$started" "$ended" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def field(name):
    return re.search(re.escape(name) + r":\s*(.+)", text).group(1).strip()
user, sys_ = float(field("User time (seconds)")), float(field("System time (seconds)"))
seconds = (int(sys.argv[3]) - int(sys.argv[2])) / 1e9
print(f"{seconds:.3f} {user + sys_:.3f} {field('Maximum resident set size (kbytes)')}")
PY
}

# Warm both (JIT-less first start, page cache), then measure.
measure spark-submit warm 1 >/dev/null
measure sparkplane warm 1 >/dev/null

# One submission: a single process run is noisy, so take the median of
# $singles separate runs, metric by metric.
median() {
  python3 -c '
import statistics, sys
rows = [[float(x) for x in line.split()] for line in sys.stdin if line.strip()]
print(" ".join(f"{statistics.median(col):.3f}" for col in zip(*rows)))'
}
declare -A result
for tool in spark-submit sparkplane; do
  echo "==> 1 submission, median of $singles runs: $tool" >&2
  result[$tool.1]="$(for i in $(seq "$singles"); do measure "$tool" "one$i" 1; done | median)"
done
for tool in spark-submit sparkplane; do
  echo "==> $n sequential submissions: $tool" >&2
  result[$tool.$n]="$(measure "$tool" many "$n")"
done

python3 - "$n" "${result[spark-submit.1]}" "${result[sparkplane.1]}" \
  "${result[spark-submit.$n]}" "${result[sparkplane.$n]}" <<'PY'
import sys
n = int(sys.argv[1])
rows = [(1, sys.argv[2], sys.argv[3]), (n, sys.argv[4], sys.argv[5])]
print(f"{'submissions':>11}  {'tool':<17} {'wall/sub':>10} {'cpu/sub':>10} {'peak RSS':>10}")
for count, anchor, ours in rows:
    a = [float(x) for x in anchor.split()]
    o = [float(x) for x in ours.split()]
    for tool, v in (("spark-submit", a), ("sparkplane submit", o)):
        print(f"{count:>11}  {tool:<17} {v[0]/count*1000:>8.1f}ms {v[1]/count*1000:>8.1f}ms {v[2]/1024:>8.1f}MiB")
    ratio = lambda i: a[i] / o[i] if o[i] > 0 else float("inf")
    print(f"{count:>11}  {'ratio':<17} {ratio(0):>9.0f}x {ratio(1):>9.0f}x {ratio(2):>9.0f}x")
PY
