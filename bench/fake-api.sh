# Sourced by bench/submit.sh and bench/hot-functions.sh: what both need to
# submit to the fake Kubernetes API server.
#
# start_fake_api FAKE_BINARY WORK_DIR
#   starts FAKE_BINARY on a free port of 127.0.0.1, sets `url`, `feeder` and
#   `server` (stop them with stop_fake_api), and writes WORK_DIR/kubeconfig
#   (namespace bench) and WORK_DIR/probe.yaml (a SparkJob named NAME, for sed).

start_fake_api() {
  local fake="$1" work="$2"
  # The fake serves until its stdin closes: keep it open with a sleeping feeder.
  mkfifo "$work/stdin"
  sleep 1000000 >"$work/stdin" &
  feeder=$!
  "$fake" --port 0 <"$work/stdin" >"$work/url" 2>"$work/fake.log" &
  server=$!
  for _ in $(seq 100); do
    [ -s "$work/url" ] && break
    sleep 0.1
  done
  url="$(head -n1 "$work/url")"
  [ -n "$url" ] || { echo "fake-kube-apiserver did not start: $(cat "$work/fake.log")" >&2; exit 3; }

  cat >"$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "$url"}}]
contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: bench}}]
current-context: fake
users: [{name: fake, user: {token: fake-token}}]
EOF

  cat >"$work/probe.yaml" <<'EOF'
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: NAME, namespace: bench}
spec:
  team: bench
  costCenter: cc-1
  type: Python
  sparkVersion: "3.5.7"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/bench/probe, tag: "1.0.0"}
  driver: {cores: 1, memory: 1g}
  executor: {cores: 1, memory: 1g, instances: 2}
  eventLog: {dir: "s3a://spark-events/bench"}
  timeouts: {maxDuration: 2h}
EOF
}

stop_fake_api() {
  [ -n "${feeder:-}" ] && kill "$feeder" 2>/dev/null || true
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
}
