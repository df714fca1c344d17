//! What the CLI's Kubeflow tests share: a simulated cluster with Kubeflow's
//! own CRDs (charts/sparkplane/files/kubeflow) and the SparkJob CRD,
//! kubectl against it, `sparkplane migrate kubeflow`, Kubeflow's status
//! schema, and waiting for a status.
//!
//! Owns: that setup. Must not: assert a test's outcome for it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer, Node};

pub const CRD_FILES: [&str; 3] = [
    "sparkoperator.k8s.io_sparkapplications.yaml",
    "sparkoperator.k8s.io_scheduledsparkapplications.yaml",
    "sparkoperator.k8s.io_sparkconnects.yaml",
];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// Kubeflow's `spark-pi` example as vendored (tests/data/kubeflow-examples),
/// named `name` in `namespace` with `labels` on it: the application a team
/// moving to sparkplane has.
pub fn spark_pi(name: &str, namespace: &str, labels: Value) -> Value {
    let path = repo().join("crates/sparkplane/tests/data/kubeflow-examples/spark-pi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut app =
        sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new("spark-pi.yaml", text))
            .expect("the example parses")
            .remove(0)
            .to_json();
    app["metadata"] = json!({"name": name, "namespace": namespace, "labels": labels});
    app
}

/// Kubeflow's `sparkconnect/spark-connect.yaml` example as vendored, named
/// `name` in `namespace`, opted in to sparkplane with its owner labels.
pub fn spark_connect(name: &str, namespace: &str) -> Value {
    let path = repo().join("crates/sparkplane/tests/data/kubeflow-examples/sparkconnect/spark-connect.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut server =
        sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new("spark-connect.yaml", text))
            .expect("the example parses")
            .remove(0)
            .to_json();
    server["metadata"] = json!({"name": name, "namespace": namespace, "labels": {
        "sparkplane.dev/operator": "sparkplane", "sparkplane.dev/team": "data-eng", "sparkplane.dev/cost-center": "cc-42"}});
    server
}

/// Kubeflow's CRD in `file`, as vendored.
pub fn crd(file: &str) -> Value {
    let path = repo().join("charts/sparkplane/files/kubeflow").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new(file, text))
        .expect("Kubeflow's CRD parses");
    docs.iter().map(|d| d.to_json()).find(|d| d["kind"] == "CustomResourceDefinition").expect("a CRD")
}

/// Every error Kubeflow's status schema (of the CRD in `file`) finds in `status`.
pub fn status_errors(file: &str, status: &Value) -> Vec<String> {
    let crd = crd(file);
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
    let validator = jsonschema::validator_for(schema).expect("Kubeflow's status schema compiles");
    validator.iter_errors(status).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// The simulated cluster: Kubeflow's CRDs and the SparkJob CRD stored, the
/// namespace `default` (where Kubeflow's examples go) and `data`, nodes for
/// a few drivers at once that run each driver for `run_ms` and end it well.
pub struct KubeflowCluster {
    pub fake: FakeApiServer,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl KubeflowCluster {
    pub fn start(run_ms: u64) -> KubeflowCluster {
        let fake = FakeApiServer::start().expect("the simulated cluster starts");
        for file in CRD_FILES {
            fake.insert(crd(file)).expect("Kubeflow's CRD is stored");
        }
        let sparkjobs = serde_json::to_value(sparkplane_api::crd::crd()).expect("the SparkJob CRD");
        fake.insert(sparkjobs).expect("the SparkJob CRD is stored");
        for namespace in ["default", "data"] {
            fake.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}))
                .expect("namespace stored");
        }
        fake.set_cluster(Cluster {
            nodes: (0..4).map(|i| Node::new(&format!("node-{i}"), 64, 256)).collect(),
            default_run: DriverRun::succeeds(Duration::from_millis(run_ms), "Pi is roughly 3.14\n"),
            ..Cluster::default()
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, fake.kubeconfig("default")).expect("kubeconfig written");
        KubeflowCluster { fake, dir, kubeconfig }
    }

    /// `kubectl` against the simulated cluster, its discovery cache in the test's folder.
    pub fn kubectl(&self, args: &[&str]) -> std::process::Output {
        let kubectl = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("kubectl"))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| panic!("kubectl is not on PATH: run `bash scripts/test.sh` (need_kubectl installs it)"));
        Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    /// `sparkplane ARGS` against the simulated cluster.
    pub fn sparkplane(&self, args: &[&str]) -> super::cluster_support::Run {
        let cmd = super::cluster_support::command(self.dir.path(), &self.kubeconfig);
        super::cluster_support::run(cmd, args, Duration::from_secs(120))
    }

    /// `sparkplane operator --kubeflow` watching `namespace`, stopped when dropped.
    pub fn operator(&self, namespace: &str) -> sparkplane_testkit::StopOnDrop {
        let cmd = super::cluster_support::command(self.dir.path(), &self.kubeconfig);
        super::cluster_support::operator(cmd, namespace, &["--kubeflow"])
    }

    /// The stored object.
    pub fn object(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let api_version = match kind {
            "SparkApplication" | "ScheduledSparkApplication" => "sparkoperator.k8s.io/v1beta2",
            "SparkConnect" => "sparkoperator.k8s.io/v1alpha1",
            _ => "v1",
        };
        self.fake.object(api_version, kind, Some(namespace), name)
    }

    /// Polls the resource until `done` holds for it; panics after `limit` with what it shows.
    pub fn wait(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let object = self.object(kind, namespace, name).unwrap_or(Value::Null);
            if done(&object) {
                return object;
            }
            assert!(
                started.elapsed() < limit,
                "{kind} {namespace}/{name} did not get there in {limit:?}: {:#}",
                object["status"]
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `status.applicationState.state` of an application.
pub fn state(app: &Value) -> &str {
    app["status"]["applicationState"]["state"].as_str().unwrap_or("")
}

/// Whether every value in `expected` is in `actual` at the same place (what
/// the API server adds — defaults, owner references, status — is allowed).
pub fn contained(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let here = format!("{at}.{key}");
                contained(value, a.get(key).unwrap_or(&Value::Null), &here)?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            e.iter().zip(a).enumerate().try_for_each(|(i, (e, a))| contained(e, a, &format!("{at}[{i}]")))
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, found {actual}")),
    }
}
