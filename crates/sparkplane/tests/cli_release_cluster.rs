//! `--store cluster` end to end: the real binary stores releases of the
//! example job as ConfigMaps on the fake API server (`sparkplane-fakekube`),
//! lists them, refuses a different release under an existing id, and
//! `promote` reads the release from there; two clients no one here wrote —
//! kubectl and the Python Kubernetes client (installed by `need_kubectl` and
//! `need_python_clients` in scripts/common.sh) — read the objects back to
//! show they are what a real cluster would hold. An unreachable API server
//! is exit 3 naming its URL; a malformed release id is exit 2.
//!
//! The staging run promote's source-run gate reads is a run record written
//! into the test's SPARKPLANE_HOME, as tests/cli_promote.rs does.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use sparkplane_fakekube::FakeApiServer;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const OTHER_COMMIT: &str = "89abcdef0123456789abcdef0123456789abcdef";
const DIGEST: &str = "sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The example job in a folder of its own, a kubeconfig for the fake API server, a key pair and a CI report.
struct World {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let fake = FakeApiServer::start().expect("the fake API server starts");
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("default")).expect("kubeconfig");
        for name in ["trips-etl.yaml", "trips-etl.staging.yaml", "trips-etl.prod.yaml", "trips-dq.yaml"] {
            std::fs::copy(repo().join("examples/trips-etl").join(name), dir.path().join(name)).expect("copy");
        }
        let ci = serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": "trips-etl",
            "jobFile": "trips-etl.yaml", "environments": ["staging"], "toolVersion": "0.1.0",
            "startedAt": "2026-11-23T15:00:00Z", "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": [],
        });
        std::fs::write(dir.path().join("ci.json"), ci.to_string()).expect("ci report");
        let world = World { fake, dir };
        world.ok(&["release", "keygen", "--out", "keys"]);
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run_with(&self, kubeconfig: &Path, args: &[&str]) -> Run {
        let mut cmd = Command::cargo_bin("sparkplane").expect("binary is built");
        cmd.current_dir(self.dir.path())
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .env_remove("SPARKPLANE_PLATFORM_DIR")
            .env_remove("SPARKPLANE_CDEVENTS_SINK")
            .env("SPARKPLANE_USER", "alice")
            .env("SPARKPLANE_HOME", self.path("home"))
            .env("NO_COLOR", "1")
            .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir())
            .timeout(Duration::from_secs(60));
        let out = cmd.args(args).output().expect("runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(&self.path("kubeconfig"), args)
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, Some(0), "{args:?}\n{}\n{}", r.stdout, r.stderr);
        r
    }

    /// `release trips-etl.yaml --env staging --store cluster` at `commit`, signed, with the CI report.
    fn release(&self, commit: &str) -> Run {
        let digest = format!("spec.image.digest={DIGEST}");
        self.run(&[
            "release",
            "trips-etl.yaml",
            "--env",
            "staging",
            "--commit",
            commit,
            "--ci-report",
            "ci.json",
            "--key",
            "keys/release.key",
            "--set",
            &digest,
            "--store",
            "cluster",
        ])
    }

    /// A green staging run as `sparkplane run` records one (the source-run gate reads the local history).
    fn ran_in_staging(&self) {
        let id = "trips-etl-20261123-170000-staging";
        let dir = self.path("home/runs").join(id);
        std::fs::create_dir_all(&dir).expect("run dir");
        let record = serde_json::json!({
            "runId": id, "job": "trips-etl", "jobFile": "trips-etl.yaml", "specHash": "00000000",
            "environment": "staging", "preset": "etl-small", "sparkVersion": "3.5.9", "master": "k8s",
            "state": "succeeded", "startedMs": 1_795_280_400_000_u64, "endedMs": 1_795_280_460_000_u64, "pid": null,
            "exitCode": 0, "failure": null, "appId": "spark-1", "uiUrl": null, "driverLog": "driver.log",
            "eventLog": null, "summary": null, "qualityGates": "passed",
        });
        std::fs::write(dir.join("run.json"), record.to_string()).expect("record");
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let out = Process::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.path("kubeconfig"))
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .expect("kubectl runs (scripts/common.sh need_kubectl installs it)");
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn python_client() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let python = home.join(".cache/sparkplane/tools/pyclients/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run `bash scripts/test.sh` (need_python_clients installs PyPI kubernetes there)",
        python.display()
    );
    python
}

/// What the Python Kubernetes client lists with the release label selector: one line per ConfigMap.
const PYTHON_LIST: &str = r#"
import sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
items = client.CoreV1Api().list_namespaced_config_map(sys.argv[2], label_selector=sys.argv[3]).items
for cm in items:
    print(cm.metadata.name, cm.immutable, cm.metadata.labels["sparkplane.dev/environment"], " ".join(sorted(cm.data)))
"#;

#[test]
fn releases_are_immutable_config_maps_that_real_clients_read_and_promote_reads_them() {
    let w = World::new();
    let r = w.release(COMMIT);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let id = r.stdout.lines().next().and_then(|l| l.strip_prefix("released ")).expect("the release id").to_owned();
    assert!(id.starts_with("trips-etl-staging-"), "{id}");
    assert!(r.stdout.ends_with(&format!("in ConfigMap data-eng/release-{id}\n")), "{}", r.stdout);
    assert!(!w.path("releases").exists(), "nothing written as files");

    // The same release again is a no-op; the same spec from another commit is refused (exit 1), as in files.
    let again = w.release(COMMIT);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.starts_with(&format!("{id} was already released")), "{}", again.stdout);
    let other = w.release(OTHER_COMMIT);
    assert_eq!(other.code, Some(1), "{}\n{}", other.stdout, other.stderr);
    assert!(
        other.stderr.contains(&format!(
            "release {id} already exists with different content (released by alice at "
        )),
        "{}",
        other.stderr
    );

    // kubectl reads what a real cluster would hold: one immutable, labelled ConfigMap with the four files.
    let listed: Value = serde_json::from_str(&w.kubectl(&[
        "get",
        "configmaps",
        "-n",
        "data-eng",
        "-l",
        "sparkplane.dev/release=true,sparkplane.dev/job=trips-etl",
        "-o",
        "json",
    ]))
    .expect("kubectl's JSON");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed:#}");
    let cm = &items[0];
    assert_eq!(cm["metadata"]["name"], format!("release-{id}"));
    assert_eq!(cm["immutable"], true);
    assert_eq!(cm["metadata"]["labels"]["sparkplane.dev/environment"], "staging");
    let keys: Vec<&str> = cm["data"].as_object().expect("data").keys().map(String::as_str).collect();
    assert_eq!(keys, ["release.json", "release.sig", "sbom.cdx.json", "sbom.sig"]);
    let record: Value = serde_json::from_str(cm["data"]["release.json"].as_str().expect("text")).expect("record");
    assert_eq!((record["id"].as_str(), record["source"]["commit"].as_str()), (Some(id.as_str()), Some(COMMIT)));

    // The Python Kubernetes client lists it by the same selector.
    let out = Process::new(python_client())
        .args(["-c", PYTHON_LIST])
        .arg(w.path("kubeconfig"))
        .args(["data-eng", "sparkplane.dev/release=true,sparkplane.dev/job=trips-etl"])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("release-{id} True staging release.json release.sig sbom.cdx.json sbom.sig\n")
    );

    // `releases` lists it from the cluster, in the job's namespace for --env.
    let rows = w.ok(&["releases", "trips-etl.yaml", "--env", "staging", "--store", "cluster", "-o", "json"]);
    let rows: Value = serde_json::from_str(&rows.stdout).expect("json");
    assert_eq!(rows.as_array().map(|r| r.iter().map(|r| r["id"].clone()).collect::<Vec<_>>()), Some(vec![
        Value::from(id.clone())
    ]));
    let none = w.ok(&["releases", "trips-etl.yaml", "--env", "prod", "--store", "cluster"]);
    assert!(none.stdout.starts_with("no releases of trips-etl in ConfigMaps in namespace data-eng-prod at http://127.0.0.1:"), "{}", none.stdout);

    // `promote` reads the release from its ConfigMap (in the namespace of the environment it names).
    w.ran_in_staging();
    let r = w.run(&[
        "promote",
        "trips-etl.yaml",
        "--release",
        &id,
        "--from",
        "staging",
        "--to",
        "prod",
        "--commit",
        COMMIT,
        "--trusted-key",
        "keys/release.pub",
        "--store",
        "cluster",
        "--approvals-dir",
        "approvals",
    ]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {id} from staging to prod (deployment 1, the first there)")));
    assert!(w.path("releases/deployments/trips-etl/prod/000001/deployment.json").is_file());
    assert_eq!(w.fake.objects().iter().filter(|o| o["kind"] == "ConfigMap").count(), 1, "promote wrote no release");
}

#[test]
fn an_unreachable_cluster_is_exit_3_with_its_url_and_a_bad_id_exit_2() {
    let w = World::new();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(w.path("down"), w.fake.kubeconfig("default").replace(&w.fake.url(), &url)).expect("kubeconfig");
    let digest = format!("spec.image.digest={DIGEST}");
    let r = w.run_with(&w.path("down"), &[
        "release",
        "trips-etl.yaml",
        "--env",
        "staging",
        "--commit",
        COMMIT,
        "--set",
        &digest,
        "--store",
        "cluster",
    ]);
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!("cannot reach the Kubernetes API at {url} (get ConfigMap data-eng/release-trips-etl-staging-")),
        "{}",
        r.stderr
    );
    let r = w.run_with(&w.path("down"), &["releases", "trips-etl.yaml", "--store", "cluster"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("cannot reach the Kubernetes API at {url} (list ConfigMap data-eng)")), "{}", r.stderr);

    let r = w.run(&["promote", "trips-etl.yaml", "--release", "trips-etl-nope", "--to", "prod", "--store", "cluster"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "`trips-etl-nope` is not a release id of job `trips-etl` (<job>-<environment>-<12 hex digits>)"
        ),
        "{}",
        r.stderr
    );
}
