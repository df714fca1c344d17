//! `--store cluster` end to end: the real binary stores releases of the
//! example job as ConfigMaps on the fake API server (`sparkplane-fakekube`),
//! lists them, refuses a different release under an existing id, and
//! `promote` reads the release from there; two clients no one here wrote —
//! kubectl and the Python Kubernetes client (installed by `need_kubectl` and
//! `need_python_clients` in scripts/common.sh) — read the objects back to
//! show they are what a real cluster would hold. An unreachable API server
//! is exit 3 naming its URL; a malformed release id is exit 2. With the
//! operator running against the same fake server, `apply --release` labels
//! the staging SparkJob and `promote --store cluster` reads its run (ADR 0043).

use crate::cluster_support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use cluster_support::Run;
use serde_json::Value;
use sparkplane_fakekube::FakeApiServer;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const OTHER_COMMIT: &str = "89abcdef0123456789abcdef0123456789abcdef";
const DIGEST: &str = "sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
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
        cluster_support::run(cluster_support::command(self.dir.path(), kubeconfig), args, Duration::from_secs(60))
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
        other.stderr.contains(&format!("release {id} already exists with different content (released by alice at ")),
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
    assert_eq!(
        rows.as_array().map(|r| r.iter().map(|r| r["id"].clone()).collect::<Vec<_>>()),
        Some(vec![Value::from(id.clone())])
    );
    let none = w.ok(&["releases", "trips-etl.yaml", "--env", "prod", "--store", "cluster"]);
    assert!(
        none.stdout
            .starts_with("no releases of trips-etl in ConfigMaps in namespace data-eng-prod at http://127.0.0.1:"),
        "{}",
        none.stdout
    );

    // `promote` reads the release from its ConfigMap (in the namespace of the environment it names): every
    // gate that reads the release holds; the source-run gate reads the cluster, where staging has not run it.
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
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error: ")).collect::<Vec<_>>(),
        ["error: source-run: trips-etl has no recorded run in staging"],
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "help: apply the release in staging (`sparkplane apply trips-etl.yaml --env staging --release {id}`)"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(w.fake.objects().iter().filter(|o| o["kind"] == "ConfigMap").count(), 1, "promote wrote no release");

    // `verify --store cluster` checks the release where it lives: intact, it verifies.
    let verify =
        |w: &World| w.run(&["verify", &id, "--key", "keys/release.pub", "--store", "cluster", "-n", "data-eng"]);
    let r = verify(&w);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with(&format!("verified {id}: content hash, SBOM digest and both signatures match")),
        "{}",
        r.stdout
    );
    // The ConfigMap is immutable: the simulated API server refuses an edit of its data, as a real one does.
    let name = format!("release-{id}");
    let patch = Process::new("kubectl")
        .arg("--kubeconfig")
        .arg(w.path("kubeconfig"))
        .args(["patch", "configmap", &name, "-n", "data-eng", "--type", "merge", "-p", r#"{"data":{"sbom.sig":""}}"#])
        .env("HOME", w.dir.path())
        .output()
        .expect("kubectl runs");
    assert!(!patch.status.success());
    assert!(
        String::from_utf8_lossy(&patch.stderr).contains(&format!(
            "ConfigMap \"{name}\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
        )),
        "{}",
        String::from_utf8_lossy(&patch.stderr)
    );
    // Someone allowed to delete ConfigMaps recreates it with more executors: verify names the field (exit 1).
    let mut cm: Value =
        serde_json::from_str(&w.kubectl(&["get", "configmap", &name, "-n", "data-eng", "-o", "json"])).expect("json");
    let mut record: Value = serde_json::from_str(cm["data"]["release.json"].as_str().expect("text")).expect("record");
    record["spec"]["spec"]["executor"]["instances"] = serde_json::json!(40);
    cm["data"]["release.json"] = Value::from(record.to_string());
    for field in ["resourceVersion", "uid", "creationTimestamp", "managedFields"] {
        cm["metadata"].as_object_mut().expect("metadata").remove(field);
    }
    std::fs::write(w.path("tampered.json"), cm.to_string()).expect("write");
    w.kubectl(&["delete", "configmap", &name, "-n", "data-eng"]);
    w.kubectl(&["create", "-f", w.path("tampered.json").to_str().expect("utf-8")]);
    let r = verify(&w);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.starts_with("error: contentHash: content hash mismatch: spec was changed after release"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("error: release.sig: signature mismatch"), "{}", r.stderr);
    // An id the store does not hold is exit 2 naming where it looked.
    let r = w.run(&[
        "verify",
        "trips-etl-staging-000000000000",
        "--key",
        "keys/release.pub",
        "--store",
        "cluster",
        "-n",
        "data-eng",
    ]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "no release `trips-etl-staging-000000000000` in ConfigMaps in namespace data-eng at http://127.0.0.1:"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unreachable_cluster_is_exit_3_with_its_url_and_a_bad_id_exit_2() {
    let w = World::new();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(w.path("down"), w.fake.kubeconfig("default").replace(&w.fake.url(), &url)).expect("kubeconfig");
    let digest = format!("spec.image.digest={DIGEST}");
    let r = w.run_with(
        &w.path("down"),
        &["release", "trips-etl.yaml", "--env", "staging", "--commit", COMMIT, "--set", &digest, "--store", "cluster"],
    );
    assert_eq!(r.code, Some(3), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "cannot reach the Kubernetes API at {url} (get ConfigMap data-eng/release-trips-etl-staging-"
        )),
        "{}",
        r.stderr
    );
    let r = w.run_with(&w.path("down"), &["releases", "trips-etl.yaml", "--store", "cluster"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("cannot reach the Kubernetes API at {url} (list ConfigMap data-eng)")),
        "{}",
        r.stderr
    );

    let r = w.run(&["promote", "trips-etl.yaml", "--release", "trips-etl-nope", "--to", "prod", "--store", "cluster"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("`trips-etl-nope` is not a release id of job `trips-etl` (<job>-<environment>-<12 hex digits>)"),
        "{}",
        r.stderr
    );
}

/// The operator of the test's cluster, watching `data-eng`.
fn operator(w: &World) -> sparkplane_testkit::StopOnDrop {
    cluster_support::operator(cluster_support::command(w.dir.path(), &w.path("kubeconfig")), "data-eng", &[])
}

impl World {
    /// The staging SparkJob once the operator has finished a run of the object as it is now (its spec hash
    /// differs from `before`'s).
    fn finished_run(&self, before: Option<&str>) -> Value {
        let started = std::time::Instant::now();
        loop {
            let job = self.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng"), "trips-etl");
            let job = job.unwrap_or(Value::Null);
            let status = &job["status"];
            if status["state"] == "Succeeded" && status["specHash"].as_str() != before {
                return job;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "no finished run: {status:#}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn promote_from_staging(&self, id: &str) -> Run {
        self.run(&[
            "promote",
            "trips-etl.yaml",
            "--release",
            id,
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
        ])
    }
}

#[test]
fn a_cluster_run_of_the_release_in_staging_passes_the_source_run_gate_and_one_of_another_does_not() {
    let w = World::new();
    w.fake.set_behaviour(sparkplane_fakekube::Behaviour {
        advance_driver_pods: Some(sparkplane_fakekube::PodScript {
            step: Duration::from_millis(200),
            final_phase: "Succeeded".into(),
            log: "ok\n".into(),
        }),
        ..sparkplane_fakekube::Behaviour::default()
    });
    // The operator does not evaluate data-quality gates yet (ADR 0043): this copy of the example declares none.
    let job = w.path("trips-etl.yaml");
    let text = std::fs::read_to_string(&job).expect("job");
    let without = text.replace("  qualityGates:\n    - spec: trips-dq.yaml\n", "");
    assert_ne!(text, without, "the example's quality gates were removed");
    std::fs::write(&job, without).expect("job");
    let r = w.release(COMMIT);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let id = r.stdout.lines().next().and_then(|l| l.strip_prefix("released ")).expect("the release id").to_owned();

    // No SparkJob in staging yet.
    let r = w.promote_from_staging(&id);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("error: source-run: trips-etl has no recorded run in staging"), "{}", r.stderr);

    // A run of another release in staging does not vouch for this one.
    let _operator = operator(&w);
    let other = "trips-etl-staging-000000000000";
    w.ok(&["apply", "trips-etl.yaml", "--env", "staging", "--release", other]);
    let first = w.finished_run(None);
    assert_eq!(first["metadata"]["labels"]["sparkplane.dev/release"], other);
    let r = w.promote_from_staging(&id);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: source-run: no successful run of release {id} in staging: the last run there, sparkjob \
             data-eng/trips-etl attempt 1, ran release {other}\n  help: apply the release in staging (`sparkplane \
             apply trips-etl.yaml --env staging --release {id}`) and let the operator run it until it and its \
             quality gates pass"
        )),
        "{}",
        r.stderr
    );

    // This release applied and run by the operator: the gate holds, and it goes to prod.
    w.ok(&["apply", "trips-etl.yaml", "--env", "staging", "--release", &id]);
    let second = w.finished_run(first["status"]["specHash"].as_str());
    assert_eq!(second["metadata"]["labels"]["sparkplane.dev/release"], id.as_str());
    let r = w.promote_from_staging(&id);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {id} from staging to prod (deployment 1, the first there)")));

    // The deployment is an immutable ConfigMap in prod's namespace, and the log reads back from there.
    assert!(
        r.stdout.contains("  manifests in ConfigMap data-eng-prod/deployment-trips-etl-prod-000001\n"),
        "{}",
        r.stdout
    );
    assert!(!w.path("releases").exists(), "nothing written as files");
    let stored = w
        .fake
        .object("v1", "ConfigMap", Some("data-eng-prod"), "deployment-trips-etl-prod-000001")
        .expect("the deployment's ConfigMap");
    assert_eq!(stored["immutable"], true);
    assert!(stored["data"]["deployment.json"].as_str().is_some_and(|t| t.contains(&id)), "{stored:#}");
    let log = w.ok(&["deployments", "trips-etl.yaml", "--env", "prod", "--store", "cluster", "-o", "json"]);
    let rows: Value = serde_json::from_str(&log.stdout).expect("json");
    assert_eq!((rows[0]["release"].as_str(), rows[0]["action"].as_str()), (Some(id.as_str()), Some("promote")));
    let r = w.run(&["rollback", "trips-etl.yaml", "--env", "prod", "--store", "cluster"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "nothing to roll back to: trips-etl has only ever run release {id} in prod (1 deployment)"
        )),
        "{}",
        r.stderr
    );

    // A release id that is not this job's is refused before anything is sent.
    let r = w.run(&["apply", "trips-etl.yaml", "--env", "staging", "--release", "other-job-staging-000000000000"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "`other-job-staging-000000000000` is not a release id of job `trips-etl` (<job>-<environment>-<12 hex \
             digits>, at most 63 characters)"
        ),
        "{}",
        r.stderr
    );
}
