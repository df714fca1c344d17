//! `sparkplane history serve`: Spark's REST API over a folder of event logs
//! (Spark's own HistoryServerSuite logs, see
//! crates/sparkplane-history/tests/data/spark-history/NOTICE.md), new logs
//! picked up without a restart, a log downloaded as Spark's `logs` zip, a
//! corrupt log listed with what could be read,
//! and an unreadable store refused at start with exit 3 (2 for a missing folder).
//! The server binds 127.0.0.1 on a free port and is killed when the test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn spark_logs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events")
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start_with(logs: &Path, args: &[&std::ffi::OsStr]) -> Server {
        Server::start_rescanning(logs, "--interval", args)
    }

    /// A server rescanning every second, set by `rescan_flag` (`--interval`, or its alias `--refresh`).
    fn start_rescanning(logs: &Path, rescan_flag: &str, args: &[&std::ffi::OsStr]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = sparkplane_testkit::sparkplane_process()
            .args(["history", "serve", "--logs"])
            .arg(logs)
            .args(["--listen", &format!("127.0.0.1:{port}"), rescan_flag, "1"])
            .args(args)
            // The live UIs it forwards to are those of the runs of this home: the logs' folder, which has none.
            .env("SPARKPLANE_HOME", logs)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let server = Server { child, port };
        server.wait_until(Duration::from_secs(30), |s| s.get("/api/v1/version").0 == 200);
        server
    }

    /// Stops the server and returns what it printed on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        stderr
    }

    fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        match agent.get(&url).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }

    /// Status, `Content-Disposition` and the body's bytes.
    fn download(&self, path: &str) -> (u16, Option<String>, Vec<u8>) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut reply = agent.get(&url).call().expect("answers");
        let disposition = reply.headers().get("content-disposition").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (reply.status().as_u16(), disposition, reply.body_mut().read_to_vec().unwrap_or_default())
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    fn wait_until(&self, within: Duration, ok: impl Fn(&Server) -> bool) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the server did not get there within {within:?}");
    }
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect()
}

/// What `history serve` says at start on a loopback address without `--auth` (ADR 0092).
const LOCAL_USER: &str =
    "no sign-in: on a loopback address, every request is served as the local user, who sees every application";

/// What it says next: where the running local runs whose live UIs it forwards to are found.
fn live_line(home: &std::path::Path) -> String {
    format!("live Spark UIs of the runs in {}/live at /jobs/<namespace>/<job>/ while they run", home.display())
}

#[test]
fn serves_the_api_page_and_metrics_and_picks_up_new_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(spark_logs().join("local-1430917381535_1"), dir.path().join("local-1430917381535_1")).expect("copy");
    // A corrupt log: the start of a real one, a garbage line, and a line cut in half.
    let real = std::fs::read_to_string(spark_logs().join("local-1422981780767")).expect("log");
    let cut: String = real.lines().take(30).collect::<Vec<_>>().join("\n");
    let corrupt = cut.replace("local-1422981780767", "local-1000000000001")
        + "\nnot json at all\n{\"Event\":\"SparkListenerTaskEnd\",\"Sta";
    std::fs::write(dir.path().join("local-1000000000001"), corrupt).expect("write");
    // A log that stops before the application starts: left out, and said so.
    std::fs::write(
        dir.path().join("local-1000000000004"),
        "{\"Event\":\"SparkListenerLogStart\",\"Spark Version\":\"4.0.1\"}\n",
    )
    .expect("write");

    // `--refresh` (the name Spark users know from its update interval) sets the rescan interval as `--interval` does.
    let server = Server::start_rescanning(dir.path(), "--refresh", &[]);
    let apps = server.json("/api/v1/applications");
    assert_eq!(ids(&apps), ["local-1430917381535", "local-1000000000001"], "{apps}");
    let corrupt = server.json("/api/v1/applications/local-1000000000001");
    assert_eq!(corrupt["attempts"][0]["completed"], false, "a cut-off log is an incomplete application");
    let jobs = server.json("/api/v1/applications/local-1000000000001/jobs");
    // What could be read is served: job 0 finished, job 1 was cut off while running.
    assert_eq!((jobs[0]["jobId"].clone(), jobs[0]["status"].clone()), (1.into(), "RUNNING".into()), "{jobs}");
    assert_eq!((jobs[1]["jobId"].clone(), jobs[1]["status"].clone()), (0.into(), "SUCCEEDED".into()), "{jobs}");

    // A log written after start shows without a restart.
    std::fs::copy(spark_logs().join("local-1422981780767"), dir.path().join("local-1422981780767")).expect("copy");
    server.wait_until(Duration::from_secs(15), |s| ids(&s.json("/api/v1/applications")).len() == 3);
    let stages = server.json("/api/v1/applications/local-1422981780767/stages");
    assert_eq!(stages.as_array().map(Vec::len), Some(4));

    // `logs`: the log as stored, in a zip named as Spark names it.
    let (status, disposition, zip) = server.download("/api/v1/applications/local-1422981780767/logs");
    assert_eq!(status, 200);
    assert_eq!(disposition.as_deref(), Some("attachment; filename=eventLogs-local-1422981780767.zip"));
    let log = std::fs::read(spark_logs().join("local-1422981780767")).expect("log");
    assert!(zip.starts_with(b"PK\x03\x04") && zip.windows(log.len()).any(|w| w == log.as_slice()), "the log, stored");
    assert_eq!(
        server.get("/api/v1/applications/local-1422981780767/1/logs"),
        (404, "no such app: local-1422981780767/1".to_owned())
    );

    let (status, page) = server.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("local-1422981780767") && page.contains("/report/local%2D1422981780767"), "{page}");
    let (status, report) = server.get("/report/local-1422981780767");
    assert_eq!(status, 200);
    assert!(report.contains("<html"), "the analyze --html report");
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("sparkplane_history_index_applications 3"), "{metrics}");
    assert!(metrics.contains("sparkplane_history_requests_total{endpoint=\"stages\",code=\"200\"} 1"), "{metrics}");
    assert_eq!(server.get("/api/v1/applications/nope").0, 404);

    let port = server.port;
    let stderr = server.stop();
    let shown = dir.path().display();
    let cut_off = "line is not a JSON object (cut off or corrupt); line skipped";
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            format!(
                "warning: {shown}/local-1000000000004 is left out of the list: no SparkListenerApplicationStart event \
                 could be read"
            ),
            format!("warning: {shown}/local-1000000000001 was read in part: {cut_off}; {cut_off}"),
            LOCAL_USER.to_owned(),
            live_line(dir.path()),
            format!(
                "serving Spark's History Server API on http://127.0.0.1:{port}/api/v1 from {shown} (2 applications, \
                 rescanned every 1s); Ctrl-C stops"
            ),
        ],
        "{stderr}"
    );
}

/// A restart answers `applications` from the persisted index before it lists
/// the location: with the folder moved away only the index can answer (a first
/// start would exit 2); once it is back, the catch-up lists it and details are read.
#[test]
fn a_restart_answers_from_the_persisted_index_then_catches_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, away, index) = (dir.path().join("logs"), dir.path().join("away"), dir.path().join("index"));
    std::fs::create_dir(&logs).expect("mkdir");
    for app in ["local-1422981780767", "local-1425081759269", "local-1426533911241"] {
        std::fs::copy(spark_logs().join(app), logs.join(app)).expect("copy");
    }
    let args = [std::ffi::OsStr::new("--index-dir"), index.as_os_str()];
    let first = Server::start_with(&logs, &args);
    let listed = first.json("/api/v1/applications");
    assert_eq!(ids(&listed).len(), 3, "{listed}");
    let restored = |server: &Server| {
        let (_, metrics) = server.get("/metrics");
        metrics.lines().find(|l| l.starts_with("sparkplane_history_index_restored ")).map(str::to_owned)
    };
    assert_eq!(restored(&first).as_deref(), Some("sparkplane_history_index_restored 0"), "an empty index at first");
    first.stop();

    std::fs::rename(&logs, &away).expect("move the logs away");
    let second = Server::start_with(&logs, &args);
    assert_eq!(second.json("/api/v1/applications"), listed, "the same answer, from the persisted index alone");
    // The records restored, as a metric beside the line on stderr.
    assert_eq!(restored(&second).as_deref(), Some("sparkplane_history_index_restored 3"));
    let (status, body) = second.get("/api/v1/applications/local-1422981780767/stages");
    assert_eq!(status, 404, "{body}");
    std::fs::rename(&away, &logs).expect("move the logs back");
    second.wait_until(Duration::from_secs(15), |s| s.get("/api/v1/applications/local-1422981780767/stages").0 == 200);
    assert_eq!(second.json("/api/v1/applications"), listed);

    let port = second.port;
    let stderr = second.stop();
    let (shown, file) = (logs.display(), index.join("index.redb"));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[..4],
        [
            format!(
                "answering 3 applications from the persisted index {} while {shown} is listed again",
                file.display()
            ),
            LOCAL_USER.to_owned(),
            live_line(&logs),
            format!(
                "serving Spark's History Server API on http://127.0.0.1:{port}/api/v1 from {shown} (3 applications, \
                 rescanned every 1s); Ctrl-C stops"
            ),
        ],
        "{stderr}"
    );
    assert!(lines[4].starts_with(&format!("warning: cannot list {shown}: ")), "{stderr}");
    assert_eq!(lines[5..], [format!("sparkplane history: {shown} lists again")], "{stderr}");
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = sparkplane_testkit::sparkplane_process();
    command.args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command.output().expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unreachable_store_is_exit_3_with_the_url_and_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let envs = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "history-test-key"),
        ("AWS_SECRET_ACCESS_KEY", "history-test-secret"),
        ("AWS_REGION", "us-east-1"),
    ];
    let (code, stdout, stderr) =
        run(&["history", "serve", "--logs", "s3a://logs/spark-events", "--listen", "127.0.0.1:0"], &envs);
    assert_eq!(code, Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    let reason = format!(
        "error: s3://logs/spark-events: object storage unreachable or failing: Generic S3 error: Error performing \
         list request: Error performing GET {endpoint}/logs?list-type=2&prefix=spark-events%2F&max-keys=1000 in "
    );
    assert!(lines[0].starts_with(&reason), "{stderr}");
    assert!(lines[0].ends_with("Connection refused (os error 111)"), "{stderr}");
    assert_eq!(lines[1], STORE_HELP);
    assert!(!stderr.contains("history-test-secret") && stdout.is_empty(), "{stderr}");
}

const STORE_HELP: &str = "  help: check AWS_ENDPOINT_URL (or the cloud's endpoint), the network, and the credentials in the \
                          environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, \
                          AZURE_STORAGE_ACCOUNT_KEY)";

/// A store that refuses every request with S3's 403 AccessDenied.
fn denying_store() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut request = [0u8; 8192];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access \
                        Denied</Message></Error>";
            let reply = format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: \
                 close\r\n\r\n{body}",
                body.len()
            );
            let _ = std::io::Write::write_all(&mut stream, reply.as_bytes());
        }
    });
    endpoint
}

#[test]
fn a_store_that_denies_access_is_exit_3_with_the_url_and_reason() {
    let endpoint = denying_store();
    let envs = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "history-test-key"),
        ("AWS_SECRET_ACCESS_KEY", "history-test-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ];
    let (code, stdout, stderr) =
        run(&["history", "serve", "--logs", "s3a://logs/spark-events", "--listen", "127.0.0.1:0"], &envs);
    assert_eq!(code, Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    let reason = format!(
        "error: s3://logs/spark-events: object storage unreachable or failing: Generic S3 error: Error performing \
         list request: Error performing GET {endpoint}/logs?list-type=2&prefix=spark-events%2F&max-keys=1000 in "
    );
    assert!(lines[0].starts_with(&reason), "{stderr}");
    assert!(
        lines[0].ends_with(
            " - Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>\
             <Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        ),
        "{stderr}"
    );
    assert_eq!(lines[1], STORE_HELP);
    assert!(!stderr.contains("history-test-secret") && stdout.is_empty(), "{stderr}");
}

#[test]
fn a_missing_folder_and_bad_flags_are_exit_2() {
    let (code, stdout, stderr) = run(&["history", "serve", "--logs", "/no/such/spark-events"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/no/such/spark-events"), "{stderr}");
    assert!(stdout.is_empty());
    let (code, _, stderr) = run(&["history", "serve", "--logs", ".", "--listen", "localhost"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`localhost` is not an IP address and port"), "{stderr}");
}
