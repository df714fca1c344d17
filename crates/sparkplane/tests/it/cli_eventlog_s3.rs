//! `analyze`, `cost` and `exporter` on event logs in S3, through the real binary
//! with credentials in the environment as a user sets them, against a real S3
//! server (SeaweedFS from the testkit, on 127.0.0.1): the same output as for
//! the same logs on disk, and errors with the right exit codes and no secret.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn fixtures() -> PathBuf {
    repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9")
}

/// The binary with S3 credentials and endpoint in its environment, as `aws` would read them.
fn sparkplane(endpoint: &str) -> Command {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(repo())
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env("NO_COLOR", "1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1");
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(endpoint: &str, args: &[&str]) -> Run {
    let out = sparkplane(endpoint).args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The Spark 3.5.9 fixtures (finished, failed, killed) under `s3://logs/spark-events/`.
fn server_with_logs() -> S3Server {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("logs").expect("bucket");
    let options = [
        ("aws_endpoint", server.endpoint.as_str()),
        ("aws_access_key_id", ACCESS_KEY),
        ("aws_secret_access_key", SECRET_KEY),
    ];
    let store = Store::open_with(&Location::parse("s3://logs/spark-events").unwrap(), &options).expect("store");
    for log in std::fs::read_dir(fixtures()).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for file in std::fs::read_dir(log.path()).unwrap().flatten() {
            let key = format!("{}/{}", log.file_name().to_string_lossy(), file.file_name().to_string_lossy());
            store.put(&key, std::fs::read(file.path()).unwrap()).expect("upload");
        }
    }
    server
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn analyze_and_cost_read_s3_like_local_directories() {
    let server = server_with_logs();
    let endpoint = server.endpoint.as_str();
    let failed = "eventlog_v2_local-1795265044180";

    let remote = run(endpoint, &["analyze", &format!("s3a://logs/spark-events/{failed}"), "-o", "json"]);
    assert_eq!(remote.code, Some(0), "{}", remote.stderr);
    let local_path = fixtures().join(failed);
    let local = run(endpoint, &["analyze", local_path.to_str().unwrap(), "-o", "json"]);
    assert_eq!(local.code, Some(0), "{}", local.stderr);
    let (mut remote_report, mut local_report) = (json(&remote.stdout), json(&local.stdout));
    assert_eq!(remote_report["path"], format!("s3a://logs/spark-events/{failed}"));
    remote_report["path"] = serde_json::Value::Null;
    local_report["path"] = serde_json::Value::Null;
    assert_eq!(remote_report, local_report);
    assert!(remote_report["findings"].as_array().is_some_and(|f| f.iter().any(|f| f["id"] == "failed-tasks")));

    let remote = run(endpoint, &["cost", "s3://logs/spark-events", "--by", "app", "-o", "json"]);
    assert_eq!(remote.code, Some(0), "{}", remote.stderr);
    let local = run(endpoint, &["cost", fixtures().to_str().unwrap(), "--by", "app", "-o", "json"]);
    let (remote_report, local_report) = (json(&remote.stdout), json(&local.stdout));
    assert_eq!(remote_report["apps"], 3, "{remote_report}");
    assert_eq!(remote_report["rows"], local_report["rows"]);
    assert_eq!(remote_report["totalCost"], local_report["totalCost"]);
    {
        let secret = SECRET_KEY;
        assert!(!remote.stdout.contains(secret) && !remote.stderr.contains(secret));
    }
}

#[test]
fn a_missing_prefix_is_exit_2_with_the_url() {
    let server = server_with_logs();
    let r = run(&server.endpoint, &["cost", "s3://logs/no-such-prefix"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: s3://logs/no-such-prefix: not found\n  help: pass the directory Spark writes event logs to \
         (spark.eventLog.dir) as a path or an object-store URL such as s3://bucket/spark-events, or one \
         application's log\n"
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn an_unreachable_endpoint_is_exit_3_with_the_url_and_no_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["analyze", "s3://logs/spark-events/eventlog_v2_local-1795265044180"],
        vec!["cost", "s3://logs/spark-events"],
        vec!["exporter", "--history", "s3://logs/spark-events", "--listen", "127.0.0.1:0"],
    ] {
        let r = run(&endpoint, &args);
        assert_eq!(r.code, Some(3), "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: s3://logs/spark-events"), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("object storage unreachable"), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("help: check AWS_ENDPOINT_URL"), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains(SECRET_KEY) && !r.stdout.contains(SECRET_KEY), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn the_exporter_serves_metrics_from_s3() {
    let server = server_with_logs();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = sparkplane_testkit::sparkplane_process()
        .args(["exporter", "--history", "s3://logs/spark-events", "--listen", &listen, "--interval", "1"])
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("a status line");
    let serving = line.clone();
    let body = ureq::get(&format!("http://{listen}/metrics")).call().map(|mut r| r.body_mut().read_to_string());
    // SAFETY: sends SIGINT to the exporter we started, as Ctrl-C would.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().expect("stops");
    assert!(serving.contains("from s3://logs/spark-events (3 logs"), "{serving}");
    let body = body.expect("scrape").expect("body");
    assert!(body.contains("sparkplane_app_outcome_total{sparkjob=\"sparkplane-eventlog-fixture\""), "{body}");
    assert!(body.contains("sparkplane_exporter_log_errors_total 0"), "{body}");
    assert_eq!(status.code(), Some(0));
}
