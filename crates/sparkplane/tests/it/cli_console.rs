//! `sparkplane history serve --cluster` (ADR 0097): the console over the
//! simulated cluster behind the trusted-proxy sign-in. A team-A person sees
//! team A's running SparkJob with its link; a team-B person does not, and
//! its page answers 404 as an unknown job's does. Servers bind 127.0.0.1 on
//! free ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::json;
use sparkplane_fakekube::FakeApiServer;

fn spark_logs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A `history serve` started by [`serve_cluster`], killed when dropped; what it said up to serving.
pub(crate) struct Served {
    child: Child,
    pub(crate) said: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `history serve --cluster --auth proxy` over `logs`, against `dir`'s kubeconfig and Tenant folder
/// (`dir/tenants`), its index in `dir/index-<port>`, with `args` added; returns once it serves.
pub(crate) fn serve_cluster(dir: &Path, port: u16, logs: &Path, args: &[&std::ffi::OsStr]) -> Served {
    let mut child = sparkplane_testkit::sparkplane_process()
        .args(["history", "serve", "--logs"])
        .arg(logs)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--index-dir"])
        .arg(dir.join(format!("index-{port}")))
        .args(["--cluster", "--auth", "proxy", "--tenants"])
        .arg(dir.join("tenants"))
        .args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    match sparkplane_testkit::process::said_until(&mut child, SERVING, Duration::from_secs(120)) {
        Ok(said) => Served { child, said },
        Err(said) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start, or ended: {said:?}");
        }
    }
}

const SERVING: &str = "serving Spark's History Server API";

/// One Tenant file per team `t` in `folder`: Tenant `team-t` of team `t`, its editors the group `t-dev`.
pub(crate) fn write_tenants(folder: &Path, teams: &[&str]) {
    std::fs::create_dir_all(folder).expect("tenants");
    for team in teams {
        std::fs::write(
            folder.join(format!("team-{team}.yaml")),
            format!(
                "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: team-{team}}}\n\
                 spec: {{team: {team}, costCenter: cc-{team}, groups: {{editors: [{team}-dev]}}}}\n"
            ),
        )
        .expect("tenant");
    }
}

/// A GET as the trusted proxy sends it for `user` in `groups`.
fn get(port: u16, path: &str, user: &str, groups: &str) -> (u16, String) {
    let agent: ureq::Agent =
        sparkplane_http::agent_config(Some(Duration::from_secs(20))).max_redirects(0).build().into();
    let mut answer = agent
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .header("X-Forwarded-User", user)
        .header("X-Forwarded-Groups", groups)
        .call()
        .expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn each_team_sees_its_running_jobs_and_another_teams_are_not_found() {
    let fake = FakeApiServer::start().expect("the fake API server starts");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("default")).expect("kubeconfig");
    write_tenants(&dir.path().join("tenants"), &["a", "b"]);
    let job = |namespace: &str, name: &str, team: &str, driver: &str| {
        json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"team": team},
            "status": {"state": "Running", "attempt": 1, "driverPod": driver},
        })
    };
    assert!(fake.insert(job("team-a", "nightly", "a", "nightly-0a1b2c3d-driver")).is_some());
    assert!(fake.insert(job("team-b", "report", "b", "report-99aa88bb-driver")).is_some());

    let port = free_port();
    let args = ["--live-runs", "none", "--trusted-proxy", "127.0.0.1"].map(std::ffi::OsStr::new);
    let served = serve_cluster(dir.path(), port, &spark_logs(), &args);
    let said = &served.said;
    assert!(
        said.iter().any(|l| l
            == &format!(
                "console of the cluster at {} on /console (its SparkJobs and quotas, read every 2s)",
                fake.url().trim_end_matches('/')
            )),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|l| l == "live Spark UIs of the cluster's SparkJobs at /jobs/<namespace>/<job>/ while they run"),
        "{said:?}"
    );

    let (status, page) = get(port, "/console", "ann", "a-dev");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("href=\"/jobs/team-a/nightly/\""), "team A's job and its link: {page}");
    assert!(page.contains("sparkplane logs nightly -n team-a"), "{page}");
    assert!(!page.contains("report"), "nothing of team B: {page}");
    let (status, page) = get(port, "/console/jobs/team-a/nightly", "ann", "a-dev");
    assert_eq!(status, 200, "{page}");

    let (status, page) = get(port, "/console", "bob", "b-dev");
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("nightly"), "team A's job is not listed for team B: {page}");
    assert!(page.contains("href=\"/jobs/team-b/report/\""), "{page}");
    let hidden = get(port, "/console/jobs/team-a/nightly", "bob", "b-dev");
    let unknown = get(port, "/console/jobs/team-a/never-was", "bob", "b-dev");
    assert_eq!(hidden.0, 404, "{}", hidden.1);
    assert_eq!(hidden, unknown, "a hidden job answers what an unknown one does");

    // The job's link: team A's request is forwarded to the driver Service derived from the cluster (which does not
    // resolve here: the door's 502 or 504), team B's answers as a job that never ran.
    let (status, body) = get(port, "/jobs/team-a/nightly/", "ann", "a-dev");
    assert!(status == 502 || status == 504, "forwarded: {status} {body}");
    let (status, body) = get(port, "/jobs/team-a/nightly/", "bob", "b-dev");
    assert_eq!(status, 404, "{body}");

    // Not through the proxy's headers: nothing.
    let (status, _) = get(port, "/console", "", "");
    assert_ne!(status, 200);
}

#[test]
fn a_bad_kill_setting_is_a_usage_error_and_a_cluster_that_cannot_be_found_is_exit_3_before_serving() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = spark_logs();
    let logs = logs.to_str().expect("utf-8");
    let listen = format!("127.0.0.1:{}", free_port());
    let run = |args: &[&str], kubeconfig: &Path| {
        let out = sparkplane_testkit::sparkplane_process()
            .args(["history", "serve", "--logs", logs, "--listen", &listen, "--live-runs", "none"])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", dir.path())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .output()
            .expect("runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run(&["--live-ui-kill", "sometimes"], &dir.path().join("none"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid value 'sometimes' for '--live-ui-kill <WHO>'"), "{stderr}");
    assert!(stderr.contains("[possible values: team, off]"), "{stderr}");
    // No kubeconfig and not in a cluster: the console cannot start, and nothing is served.
    let (code, stderr) = run(&["--cluster"], &dir.path().join("no-such-kubeconfig"));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(!stderr.contains(SERVING), "{stderr}");
    assert!(stderr.contains("error: no usable Kubernetes configuration: "), "{stderr}");
    assert!(stderr.contains("no-such-kubeconfig"), "names the file it tried: {stderr}");
    assert!(stderr.contains("help: set KUBECONFIG (or create ~/.kube/config)"), "{stderr}");
}
