//! `submit --metrics-file`: each real submission to the fake API server adds
//! one observation to the submission-latency histogram in a Prometheus text
//! file that real `promtool check metrics` accepts; re-submitting an existing
//! job, a dry run and a file sparkplane did not write add nothing.

use std::path::Path;
use std::time::Duration;

use sparkplane_fakekube::FakeApiServer;

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: metrics-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/team-a/probe, tag: \"1.0.0\"}
";

fn submit(dir: &Path, extra: &[&str]) -> std::process::Output {
    submit_to(dir, &dir.join("sparkplane_submit.prom"), extra)
}

fn submit_to(dir: &Path, metrics: &Path, extra: &[&str]) -> std::process::Output {
    sparkplane_testkit::sparkplane()
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env_remove("SPARKPLANE_METRICS_FILE")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60))
        .arg("submit")
        .arg(dir.join("job.yaml"))
        .arg("--metrics-file")
        .arg(metrics)
        .args(extra)
        .output()
        .expect("runs")
}

fn count(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("sparkplane_submit_duration_seconds_count{namespace=\"team-a\",target=\"native\"} ")
        })
        .and_then(|v| v.parse().ok())
}

#[test]
fn each_submission_adds_one_observation() {
    let fake = FakeApiServer::start().expect("fake API server");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("team-a")).expect("kubeconfig");
    std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
    let file = dir.path().join("sparkplane_submit.prom");

    let first = submit(dir.path(), &[]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(count(&std::fs::read_to_string(&file).expect("written")), Some(1.0));
    // The same resolved job again creates nothing, so it is not a submission.
    let again = submit(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(count(&std::fs::read_to_string(&file).expect("kept")), Some(1.0));
    let rerun = submit(dir.path(), &["--rerun"]);
    assert_eq!(rerun.status.code(), Some(0), "{}", String::from_utf8_lossy(&rerun.stderr));
    let text = std::fs::read_to_string(&file).expect("kept");
    assert_eq!(count(&text), Some(2.0));
    let left: Vec<_> =
        std::fs::read_dir(dir.path()).expect("the folder").map(|e| e.expect("entry").file_name()).collect();
    assert!(left.iter().all(|name| !name.to_string_lossy().ends_with(".tmp")), "a temporary file is left: {left:?}");

    // Prometheus's own tool reads it as valid exposition text.
    let check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("promtool (scripts/test.sh installs it)");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_file_sparkplane_did_not_write_is_left_alone() {
    let fake = FakeApiServer::start().expect("fake API server");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("team-a")).expect("kubeconfig");
    std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
    let file = dir.path().join("sparkplane_submit.prom");
    std::fs::write(&file, "node_load1 0.5\n").expect("foreign file");
    let output = submit(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 1: `node_load1 0.5` is not a sample sparkplane writes"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "node_load1 0.5\n");
    let pods = fake.objects().into_iter().filter(|o| o["kind"] == "Pod").count();
    assert_eq!(pods, 0, "refused before anything was submitted");
}

#[test]
fn a_metrics_file_in_a_missing_directory_is_refused_before_submitting() {
    let fake = FakeApiServer::start().expect("fake API server");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("team-a")).expect("kubeconfig");
    std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
    let file = dir.path().join("textfile").join("sparkplane_submit.prom");
    let output = submit_to(dir.path(), &file, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{} is not a directory", dir.path().join("textfile").display())), "{stderr}");
    assert!(stderr.contains("the metrics file's directory must exist and be writable"), "{stderr}");
    let pods = fake.objects().into_iter().filter(|o| o["kind"] == "Pod").count();
    assert_eq!(pods, 0, "refused before anything was submitted");
    assert!(!dir.path().join("textfile").exists(), "nothing created");
}
