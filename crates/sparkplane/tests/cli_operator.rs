//! `operator`, `apply` and `trigger` as a user runs them: the real binary
//! against the fake API server, through a kubeconfig the test writes. The
//! operator runs as a child process and is stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use sparkplane_fakekube::{Behaviour, FakeApiServer, PodScript};

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-nightly, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/nightly.py
  image: {repository: registry.example.com/team-a/nightly, tag: \"1.0.0\"}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  restartPolicy: {type: OnFailure, retries: 1}
";

struct Cluster {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let fake = FakeApiServer::start().expect("fake API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("team-a")).expect("kubeconfig");
        Cluster { fake, dir }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("sparkplane").expect("binary");
        configure(cmd.env("KUBECONFIG", self.kubeconfig()).env("HOME", self.dir.path()));
        cmd.timeout(Duration::from_secs(60));
        cmd
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn job(&self, name: &str) -> Option<Value> {
        self.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("team-a"), name)
    }
}

fn configure(cmd: &mut Command) {
    cmd.env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env_remove("POD_NAME")
        .env_remove("POD_NAMESPACE")
        .env("NO_COLOR", "1");
}

struct OperatorProcess(Child);

impl OperatorProcess {
    fn start(cluster: &Cluster, home: &Path) -> OperatorProcess {
        let binary = assert_cmd::cargo::cargo_bin("sparkplane");
        let child = std::process::Command::new(binary)
            .args(["operator", "-n", "team-a", "--metrics-address", "127.0.0.1:0"])
            .env("KUBECONFIG", cluster.kubeconfig())
            .env("HOME", home)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .env_remove("SPARKPLANE_PLATFORM_DIR")
            .env_remove("POD_NAME")
            .env_remove("POD_NAMESPACE")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("operator starts");
        OperatorProcess(child)
    }

    /// SIGTERM, as Kubernetes stops a pod; answers the exit code and stderr.
    fn terminate(mut self) -> (Option<i32>, String) {
        // SAFETY: kill(2) with a pid this test owns and a valid signal number.
        unsafe {
            libc::kill(i32::try_from(self.0.id()).unwrap_or(0), libc::SIGTERM);
        }
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.0.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = self.0.wait_with_output().expect("output");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn wait_for_state(cluster: &Cluster, name: &str, state: &str) -> Value {
    let started = Instant::now();
    loop {
        let job = cluster.job(name).unwrap_or(Value::Null);
        if job["status"]["state"] == state {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{name} never reached {state}: {:#}", job["status"]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn apply_then_the_operator_runs_the_job_and_stops_on_sigterm() {
    let cluster = Cluster::start();
    cluster.fake.set_behaviour(Behaviour {
        advance_driver_pods: Some(PodScript {
            step: Duration::from_millis(300),
            final_phase: "Succeeded".into(),
            log: "ok\n".into(),
        }),
        ..Behaviour::default()
    });
    let job = cluster.write("nightly.yaml", JOB);
    let applied = cluster.cmd().args(["apply"]).arg(&job).output().expect("runs");
    let out = String::from_utf8_lossy(&applied.stdout);
    assert_eq!(applied.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&applied.stderr));
    assert!(
        out.starts_with("sparkjob team-a/team-a-nightly applied (spec ") && out.ends_with(", state new)\n"),
        "{out}"
    );
    let stored = cluster.job("team-a-nightly").expect("the SparkJob is stored");
    assert_eq!(stored["spec"]["mainApplicationFile"], "local:///opt/app/nightly.py");
    assert!(stored["status"].is_null(), "apply writes no status");

    let operator = OperatorProcess::start(&cluster, cluster.dir.path());
    let done = wait_for_state(&cluster, "team-a-nightly", "Succeeded");
    assert_eq!(done["status"]["attempt"], 1);
    let (code, stderr) = operator.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("sparkplane operator reconciling SparkJobs in namespace team-a at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("metrics on http://127.0.0.1:"), "{stderr}");
    assert!(stderr.trim_end().ends_with("sparkplane operator stopped"), "{stderr}");

    // Applying the same file again changes nothing the operator would act on.
    let again = cluster.cmd().args(["apply", "-o", "json"]).arg(&job).output().expect("runs");
    let answer: Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(answer["state"], "Succeeded");
    assert_eq!(answer["specHash"], done["status"]["specHash"]);

    // A manual run of the finished job.
    let triggered = cluster.cmd().args(["trigger", "team-a-nightly"]).output().expect("runs");
    assert_eq!(triggered.status.code(), Some(0));
    let out = String::from_utf8_lossy(&triggered.stdout);
    assert!(
        out.starts_with(
            "sparkjob team-a/team-a-nightly: asked the operator for a new run once the current one has ended ("
        ),
        "{out}"
    );
    let annotated = cluster.job("team-a-nightly").expect("job");
    assert!(annotated["metadata"]["annotations"]["sparkplane.dev/trigger"].is_string());
}

#[test]
fn apply_refuses_a_job_that_breaks_a_policy_and_stores_nothing() {
    let cluster = Cluster::start();
    let job = cluster.write("nightly.yaml", &JOB.replace("  costCenter: cc-1\n", ""));
    let out = cluster.cmd().args(["apply"]).arg(&job).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the job names no cost center"), "{stderr}");
    assert!(cluster.job("team-a-nightly").is_none(), "nothing was stored");
    assert!(cluster.fake.requests().iter().all(|r| r.method == "GET"), "no write was sent");
}

#[test]
fn trigger_of_a_missing_job_and_bad_operator_flags_are_usage_errors() {
    let cluster = Cluster::start();
    let out = cluster.cmd().args(["trigger", "nope"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("there is no SparkJob nope in namespace team-a"), "{stderr}");

    let out = cluster.cmd().args(["operator", "--metrics-address", "not-an-address"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--metrics-address: cannot listen on not-an-address"), "{stderr}");

    let out = cluster.cmd().args(["operator", "--concurrency", "0"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));

    let out = cluster.cmd().args(["operator", "--driver-start-timeout", "ten"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--driver-start-timeout"));

    let out = cluster.cmd().args(["operator", "--resync", "500ms"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--resync: 500 ms is shorter than one second"), "{stderr}");
    assert!(stderr.contains("give 1s or more"), "{stderr}");
}

#[test]
fn trigger_reports_an_unreachable_cluster_with_exit_3() {
    let cluster = Cluster::start();
    let port = cluster.fake.port();
    drop(cluster.fake);
    let kubeconfig = std::fs::read_to_string(cluster.dir.path().join("kubeconfig")).expect("kubeconfig");
    assert!(kubeconfig.contains(&port.to_string()));
    let mut cmd = Command::cargo_bin("sparkplane").expect("binary");
    configure(cmd.env("KUBECONFIG", cluster.dir.path().join("kubeconfig")).env("HOME", cluster.dir.path()));
    let out = cmd.args(["trigger", "anything"]).timeout(Duration::from_secs(60)).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot reach the Kubernetes API at http://127.0.0.1:{port}")), "{stderr}");
}
