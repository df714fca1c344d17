//! `sparkplane exporter --history-server`: the exporter probes a real Spark
//! History Server (from the pinned 3.5 runtime) on every scan and exports
//! whether it answered; when the server goes away the gauge drops to 0 and
//! the exporter keeps serving. A bad address is exit 2 before anything starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sparkplane_testkit::HistoryServer;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The exporter process, interrupted and reaped on drop.
struct ExporterProcess {
    child: Child,
    port: u16,
}

impl Drop for ExporterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ExporterProcess {
    fn start(history: &Path, history_server: &str) -> ExporterProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = sparkplane_testkit::sparkplane_process()
            .args(["exporter", "--history"])
            .arg(history)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1", "--history-server", history_server])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the exporter starts");
        ExporterProcess { child, port }
    }

    /// The `sparkplane_history_server_up` sample, once the exporter serves.
    fn up(&self) -> Option<String> {
        let mut response = ureq::get(format!("http://127.0.0.1:{}/metrics", self.port)).call().ok()?;
        let body = response.body_mut().read_to_string().ok()?;
        body.lines().find(|l| l.starts_with("sparkplane_history_server_up")).map(str::to_owned)
    }

    fn wait_for(&self, sample: &str, within: Duration) {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.up();
            if last.as_deref() == Some(sample) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the exporter never showed `{sample}` within {within:?}; last: {last:?}");
    }
}

#[test]
fn the_probe_follows_a_real_history_server_up_and_down() {
    let history = repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9");
    let mut server = HistoryServer::start(&history).unwrap_or_else(|e| panic!("{e}"));
    server.wait_until_answering(Duration::from_secs(90)).unwrap_or_else(|e| panic!("{e}"));
    let exporter = ExporterProcess::start(&history, &format!("{}/", server.base_url));
    exporter.wait_for("sparkplane_history_server_up{} 1", Duration::from_secs(30));
    server.kill();
    // Still serving, and saying the History Server is gone.
    exporter.wait_for("sparkplane_history_server_up{} 0", Duration::from_secs(30));
}

#[test]
fn an_address_that_is_not_http_is_exit_2_with_the_flag_named() {
    let history = repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9");
    let out = sparkplane_testkit::sparkplane_process()
        .args(["exporter", "--history"])
        .arg(&history)
        .args(["--listen", "127.0.0.1:0", "--history-server", "spark-history:18080"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`spark-history:18080` is not an http:// or https:// address of a History Server"),
        "{stderr}"
    );
    assert!(stderr.contains("--history-server http://spark-history:18080"), "{stderr}");
    assert!(out.stdout.is_empty());
}
