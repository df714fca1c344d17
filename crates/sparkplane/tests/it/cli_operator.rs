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
        let mut cmd = sparkplane_testkit::sparkplane();
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
        OperatorProcess::start_with(cluster, home, &[])
    }

    /// Started with `extra` flags after the usual ones.
    fn start_with(cluster: &Cluster, home: &Path, extra: &[&str]) -> OperatorProcess {
        let binary = sparkplane_testkit::cli::binary();
        let child = std::process::Command::new(binary)
            .args(["operator", "-n", "team-a", "--metrics-address", "127.0.0.1:0"])
            .args(extra)
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

/// `apply` is a forced server-side apply with the field manager
/// `sparkplane`: a field the file no longer has goes, as on a real API
/// server, so deleting `schedule:` or `suspend:` from the file and applying
/// again stops the schedule. A field someone else set (a label another
/// manager applied) stays.
#[test]
fn apply_of_a_file_without_schedule_or_suspend_clears_them() {
    let cluster = Cluster::start();
    let crd = serde_json::to_value(sparkplane_api::crd::crd()).expect("the CRD serializes");
    cluster.fake.insert(crd).expect("the CRD is stored, as the chart installs it");
    let scheduled = format!("{JOB}  suspend: true\n  schedule: {{cron: \"0 2 * * *\", timeZone: Europe/Berlin}}\n");
    let job = cluster.write("nightly.yaml", &scheduled);
    let applied = cluster.cmd().arg("apply").arg(&job).output().expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", String::from_utf8_lossy(&applied.stderr));
    let stored = cluster.job("team-a-nightly").expect("stored");
    assert_eq!(stored["spec"]["schedule"]["cron"], "0 2 * * *", "{stored}");
    assert_eq!(stored["spec"]["suspend"], true);
    let owner = &stored["metadata"]["managedFields"][0];
    assert_eq!((&owner["manager"], &owner["operation"]), (&Value::from("sparkplane"), &Value::from("Apply")));

    let job = cluster.write("nightly.yaml", JOB);
    let applied = cluster.cmd().arg("apply").arg(&job).output().expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", String::from_utf8_lossy(&applied.stderr));
    let stored = cluster.job("team-a-nightly").expect("stored");
    assert_eq!(stored["spec"].get("schedule"), None, "the schedule went with the file's: {stored}");
    assert_eq!(stored["spec"].get("suspend"), None, "{stored}");
    assert_eq!(stored["spec"]["mainApplicationFile"], "local:///opt/app/nightly.py", "the rest stays");
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

/// The small-cluster mode's pool (ADR 0073): a capacity that does not read,
/// or the pool beside Kueue, is a usage error before anything is watched.
#[test]
fn a_bad_queue_capacity_or_the_pool_with_kueue_is_a_usage_error() {
    let cluster = Cluster::start();
    let out = cluster.cmd().args(["operator", "--queue-capacity", "cpu=lots"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--queue-capacity: `cpu=lots`: cpu: `lots` is not a quantity"), "{stderr}");
    assert!(stderr.contains("e.g. --queue-capacity cpu=16,memory=64Gi"), "{stderr}");
    let out = cluster.cmd().args(["operator", "--queue-capacity", "cpu=4,cpu=8"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cpu is given twice"));
    for flag in ["--queue-pool", "--queue-capacity=cpu=4"] {
        let out = cluster.cmd().args(["operator", "--kueue", flag]).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"), "{flag}");
    }
    assert!(
        !cluster.fake.requests().iter().any(|r| r.path.contains("nodes") || r.path.contains("sparkjobs")),
        "nothing was watched"
    );
}

#[test]
fn trigger_reports_an_unreachable_cluster_with_exit_3() {
    let cluster = Cluster::start();
    let port = cluster.fake.port();
    drop(cluster.fake);
    let kubeconfig = std::fs::read_to_string(cluster.dir.path().join("kubeconfig")).expect("kubeconfig");
    assert!(kubeconfig.contains(&port.to_string()));
    let mut cmd = sparkplane_testkit::sparkplane();
    configure(cmd.env("KUBECONFIG", cluster.dir.path().join("kubeconfig")).env("HOME", cluster.dir.path()));
    let out = cmd.args(["trigger", "anything"]).timeout(Duration::from_secs(60)).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot reach the Kubernetes API at http://127.0.0.1:{port}")), "{stderr}");
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The driver pods in team-a, by name.
fn driver_pods(cluster: &Cluster) -> Vec<String> {
    let mut names: Vec<String> = cluster
        .fake
        .objects()
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "driver")
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// `list`'s table rows split on whitespace, without the AGE column (it moves with the clock).
fn rows_without_age(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|line| {
            let mut cells: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            if cells.len() > 6 {
                cells.remove(6);
            }
            cells
        })
        .collect()
}

#[test]
fn list_status_and_logs_show_a_sparkjob_beside_a_directly_submitted_application() {
    let cluster = Cluster::start();
    let nightly = cluster.write("nightly.yaml", JOB);
    let adhoc = cluster.write("adhoc.yaml", &JOB.replace("team-a-nightly", "team-a-adhoc"));
    let submitted = cluster.cmd().arg("submit").arg(&adhoc).output().expect("runs");
    assert_eq!(submitted.status.code(), Some(0), "{}", stderr(&submitted));
    let applied = cluster.cmd().arg("apply").arg(&nightly).output().expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));

    // Before the operator acts, the SparkJob is New and has no log yet.
    let out = cluster.cmd().args(["status", "team-a-nightly", "-o", "json"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((status["state"].as_str(), status["managedBy"].as_str()), (None, Some("operator")), "{status:#}");
    let out = cluster.cmd().args(["status", "team-a-nightly"]).output().expect("runs");
    assert!(stdout(&out).contains("state:       New\n"), "{}", stdout(&out));
    let out = cluster.cmd().args(["logs", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: SparkJob team-a/team-a-nightly has no driver pod (state New)\n  help: the operator has not \
         acted on it yet: check that `sparkplane operator` runs and watches this namespace\n"
    );

    let operator = OperatorProcess::start(&cluster, cluster.dir.path());
    let submitted = wait_for_state(&cluster, "team-a-nightly", "Submitted");
    let pod = submitted["status"]["driverPod"].as_str().expect("driver pod").to_owned();
    cluster.fake.set_pod_phase("team-a", &pod, "Running");
    cluster.fake.set_pod_log("team-a", &pod, "starting\nstage 1 of 3\n");
    let running = wait_for_state(&cluster, "team-a-nightly", "DriverRunning");
    let drivers = driver_pods(&cluster);
    assert_eq!(drivers.len(), 2, "one direct driver and the operator's: {drivers:?}");
    let direct = drivers.iter().find(|d| **d != pod).expect("the direct driver").clone();

    // list: each application once, the operator's driver folded into its SparkJob.
    let out = cluster.cmd().args(["list"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        rows_without_age(&stdout(&out)),
        [
            vec!["NAME", "NAMESPACE", "MANAGED", "STATE", "ATTEMPT", "EXECUTORS", "REASON"],
            vec!["team-a-adhoc", "team-a", "direct", "Pending", "1", "0", "-"],
            vec!["team-a-nightly", "team-a", "operator", "DriverRunning", "1", "0", "DriverRunning"],
        ]
    );
    let out = cluster.cmd().args(["list", "-o", "json"]).output().expect("runs");
    let rows: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows:#}");
    assert_eq!(rows[0]["managedBy"], "direct");
    assert_eq!(rows[0]["driverPod"], Value::String(direct.clone()));
    assert_eq!(rows[1]["managedBy"], "operator");
    assert_eq!(rows[1]["state"], "DriverRunning");
    assert_eq!(rows[1]["driverPod"], Value::String(pod.clone()));
    assert_eq!(rows[1]["phase"], "Running");
    assert_eq!(rows[1]["specHash"], running["status"]["specHash"]);

    // status: the SparkJob's, with its driver's phase now.
    let out = cluster.cmd().args(["status", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let head = format!(
        "name:        team-a-nightly\nnamespace:   team-a\nmanaged:     operator (SparkJob)\nstate:       \
         DriverRunning\nreason:      DriverRunning\nmessage:     driver pod {pod} is running\nattempt:     1"
    );
    assert!(text.starts_with(&head), "{text}");
    assert!(text.contains(&format!("\ndriver:      {pod} (Running)\n")), "{text}");
    let transitions = text.split_once("transitions:\n").map(|(_, t)| t).unwrap_or_default();
    let states: Vec<&str> = transitions.lines().skip(1).filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(states, ["Queued", "Submitted", "DriverRunning"], "{text}");
    let out = cluster.cmd().args(["status", "team-a-nightly", "-o", "json"]).output().expect("runs");
    let status: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["state"], "DriverRunning");
    assert_eq!(status["driverPhase"], "Running");
    assert_eq!(status["driverPod"], Value::String(pod.clone()));
    // A directly submitted application keeps today's status.
    let out = cluster.cmd().args(["status", "team-a-adhoc", "-o", "json"]).output().expect("runs");
    let status: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((status["managedBy"].as_str(), status["phase"].as_str()), (Some("direct"), Some("Pending")));
    assert_eq!(status["driverPod"], Value::String(direct));

    // logs: the running driver's, nothing said about an archive.
    let out = cluster.cmd().args(["logs", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((stdout(&out).as_str(), stderr(&out).as_str()), ("starting\nstage 1 of 3\n", ""));

    let (code, stderr) = operator.terminate();
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn logs_come_from_the_archive_once_the_ttl_removed_the_driver_pod() {
    let cluster = Cluster::start();
    cluster.fake.set_behaviour(Behaviour {
        advance_driver_pods: Some(PodScript {
            step: Duration::from_millis(200),
            final_phase: "Succeeded".into(),
            log: "rows written: 1000\n".into(),
        }),
        ..Behaviour::default()
    });
    let store = tempfile::tempdir().expect("log store");
    let store_url = store.path().display().to_string();
    let job = cluster.write("nightly.yaml", &format!("{JOB}  ttlAfterFinished: 1s\n"));
    let applied = cluster.cmd().arg("apply").arg(&job).output().expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let operator = OperatorProcess::start_with(&cluster, cluster.dir.path(), &["--log-store", &store_url]);
    let started = Instant::now();
    let done = loop {
        let job = cluster.job("team-a-nightly").unwrap_or(Value::Null);
        if job["status"]["logArchive"].is_string() && driver_pods(&cluster).is_empty() {
            break job;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never archived and removed: {:#}", job["status"]);
        std::thread::sleep(Duration::from_millis(100));
    };
    let (code, operator_stderr) = operator.terminate();
    assert_eq!(code, Some(0), "{operator_stderr}");
    let pod = done["status"]["driverPod"].as_str().expect("driver pod").to_owned();
    let archive = store.path().join("team-a").join("team-a-nightly").join(format!("{pod}.log")).display().to_string();
    assert_eq!(done["status"]["logArchive"], Value::String(archive.clone()));

    let out = cluster.cmd().args(["logs", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "rows written: 1000\n");
    assert_eq!(stderr(&out), format!("the driver pod {pod} is gone; its log comes from the archive at {archive}\n"));

    let out = cluster.cmd().args(["status", "team-a-nightly"]).output().expect("runs");
    let text = stdout(&out);
    assert!(text.contains("state:       Succeeded\nreason:      Succeeded\n"), "{text}");
    assert!(text.contains(&format!("\ndriver:      {pod} (gone)\n")), "{text}");
    assert!(text.contains(&format!("\nlog archive: {archive}\n")), "{text}");

    // The archive itself gone too: an error that says so, not an empty log.
    std::fs::remove_file(&archive).expect("remove the archive");
    let out = cluster.cmd().args(["logs", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("error: the archived log {archive} is not there (any more)")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn delete_of_a_sparkjob_removes_it_and_its_driver_and_keeps_rbac() {
    let cluster = Cluster::start();
    let job = cluster.write("nightly.yaml", JOB);
    let applied = cluster.cmd().arg("apply").arg(&job).output().expect("runs");
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let operator = OperatorProcess::start(&cluster, cluster.dir.path());
    let submitted = wait_for_state(&cluster, "team-a-nightly", "Submitted");
    let pod = submitted["status"]["driverPod"].as_str().expect("driver pod").to_owned();
    assert_eq!(driver_pods(&cluster), std::slice::from_ref(&pod));

    let out = cluster.cmd().args(["delete", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The garbage collector deletes the driver asynchronously, as on a real
    // cluster: gone by the time delete looked again, or still going.
    let tail = "driver pods take their executors, ConfigMaps, Service and NetworkPolicy with them; RBAC objects \
                stay (--all removes them)\n";
    let said = stdout(&out);
    assert!(
        said == format!("deleted team-a/SparkJob/team-a-nightly\ndeleted team-a/Pod/{pod} with it\n{tail}")
            || said
                == format!(
                    "deleted team-a/SparkJob/team-a-nightly\nteam-a/Pod/{pod} goes by garbage collection (it is \
                     owned by the SparkJob)\n{tail}"
                ),
        "{said}"
    );
    assert!(cluster.job("team-a-nightly").is_none(), "the SparkJob is gone");
    let owned_left = || -> Vec<String> {
        cluster
            .fake
            .objects()
            .iter()
            .filter(|o| o["metadata"]["namespace"] == "team-a" && o["kind"] != "Event")
            .map(|o| o["kind"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let collected =
        |left: &[String]| !left.iter().any(|k| ["Pod", "ConfigMap", "Service", "NetworkPolicy"].contains(&k.as_str()));
    let started = std::time::Instant::now();
    while !collected(&owned_left()) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = owned_left();
    assert!(collected(&left), "{left:?}");
    assert!(left.iter().any(|k| k == "ServiceAccount"), "RBAC stays without --all: {left:?}");

    // The operator creates nothing for a deleted job.
    std::thread::sleep(Duration::from_millis(500));
    assert!(driver_pods(&cluster).is_empty());
    let (code, stderr) = operator.terminate();
    assert_eq!(code, Some(0), "{stderr}");

    let out = cluster.cmd().args(["delete", "team-a-nightly"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_missing_name_is_exit_2_for_status_logs_and_delete() {
    let cluster = Cluster::start();
    for command in ["status", "logs", "delete"] {
        let out = cluster.cmd().args([command, "nope"]).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{command}");
        assert_eq!(
            stderr(&out),
            "error: not found: get application team-a/nope: no SparkJob nope and no sparkplane \
             driver pod for nope in namespace team-a\n  help: check the name and namespace (`sparkplane list -A` \
             shows what exists)\n",
            "{command}"
        );
        assert_eq!(stdout(&out), "", "{command}");
    }
    let out = cluster.cmd().args(["list"]).output().expect("runs");
    assert_eq!(
        (out.status.code(), stdout(&out).as_str()),
        (Some(0), "no sparkplane applications in namespace team-a\n")
    );
}

#[test]
fn list_and_status_report_an_unreachable_cluster_with_exit_3() {
    let cluster = Cluster::start();
    let port = cluster.fake.port();
    drop(cluster.fake);
    for args in [&["list"][..], &["status", "anything"], &["logs", "anything"], &["delete", "anything"]] {
        let mut cmd = sparkplane_testkit::sparkplane();
        configure(cmd.env("KUBECONFIG", cluster.dir.path().join("kubeconfig")).env("HOME", cluster.dir.path()));
        let out = cmd.args(args).timeout(Duration::from_secs(60)).output().expect("runs");
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(
            stderr(&out).contains(&format!("cannot reach the Kubernetes API at http://127.0.0.1:{port}")),
            "{args:?}"
        );
    }
}
