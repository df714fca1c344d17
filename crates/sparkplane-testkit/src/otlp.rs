//! A real OTLP trace receiver for tests: `data/otlp_receiver.py` on
//! OpenTelemetry's own generated Python messages (PyPI `opentelemetry-proto`)
//! and `grpcio`, installed by `need_otlp_receiver` in scripts/common.sh. It
//! listens on 127.0.0.1 on two free ports (OTLP/HTTP and OTLP/gRPC), writes
//! each request it decodes as a JSON line (protobuf's `MessageToDict`), and
//! stops when the handle drops.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running receiver.
pub struct OtlpReceiver {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`: the OTLP/HTTP endpoint (requests go to `/v1/traces`).
    pub http_url: String,
    /// `http://127.0.0.1:<port>`: the OTLP/gRPC endpoint.
    pub grpc_url: String,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        // Closing stdin stops it; kill in case it does not.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OtlpReceiver {
    /// Starts the receiver and waits until both ports listen.
    pub fn start() -> Result<OtlpReceiver, String> {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let python = home.join(".cache/sparkplane/tools/otlp/bin/python");
        if !python.exists() {
            return Err(format!(
                "{} is missing: run scripts/test.sh (need_otlp_receiver installs opentelemetry-proto and grpcio)",
                python.display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let script = crate::data_dir().join("otlp_receiver.py");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(dir.path().join("received.jsonl"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("receiver: {e}"))?;
        let ports: Vec<&str> = line.trim().strip_prefix("PORTS ").unwrap_or("").split(' ').collect();
        let [http, grpc] = ports[..] else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("receiver said {line:?}"));
        };
        Ok(OtlpReceiver {
            http_url: format!("http://127.0.0.1:{http}"),
            grpc_url: format!("http://127.0.0.1:{grpc}"),
            stdin: child.stdin.take(),
            child,
            dir,
        })
    }

    /// Every request decoded so far, in arrival order: `resourceSpans` as
    /// OTLP/JSON spells them (ids in base64, times as strings of nanoseconds),
    /// and `transport` (`http` or `grpc`).
    pub fn received(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.dir.path().join("received.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("the receiver writes JSON lines: {e}")))
            .collect()
    }
}
