//! A real CDEvents receiver for tests: `data/cdevents_receiver.py` on the
//! CloudEvents SDK for Python (installed by `need_cdevents_receiver` in
//! scripts/common.sh), which validates every event against the CDEvents 0.5.0
//! schemas in `data/cdevents-0.5.1`. Started on 127.0.0.1 and a free port,
//! stopped when the handle drops.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running receiver.
pub struct CdEventsReceiver {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:<port>/events`: give it to sparkplane as the sink.
    pub url: String,
    base: String,
}

impl Drop for CdEventsReceiver {
    fn drop(&mut self) {
        let _ = sparkplane_http::agent(None).get(&format!("{}/stop", self.base)).call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data() -> PathBuf {
    crate::data_dir()
}

impl CdEventsReceiver {
    /// Starts the receiver and waits until it listens.
    pub fn start() -> Result<CdEventsReceiver, String> {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let python = home.join(".cache/sparkplane/tools/cdevents/bin/python");
        if !python.exists() {
            return Err(format!(
                "{} is missing: run scripts/test.sh (need_cdevents_receiver installs the CloudEvents SDK for Python)",
                python.display()
            ));
        }
        let mut child = Command::new(&python)
            .arg(data().join("cdevents_receiver.py"))
            .arg(data().join("cdevents-0.5.1"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("receiver: {e}"))?;
        let port = line.trim().strip_prefix("PORT ").ok_or_else(|| format!("receiver said {line:?}"))?.to_owned();
        let base = format!("http://127.0.0.1:{port}");
        Ok(CdEventsReceiver { _stdin: child.stdin.take(), child, url: format!("{base}/events"), base })
    }

    /// What it received so far, one record per POST: `type`, `id`, `source`,
    /// `subject`, `data` (the CDEvent), `contentType` and `errors` (schema
    /// violations; empty when the event is valid).
    pub fn received(&self) -> Vec<serde_json::Value> {
        let body = sparkplane_http::agent(None)
            .get(&format!("{}/received", self.base))
            .call()
            .and_then(|mut r| r.body_mut().read_to_string())
            .unwrap_or_else(|e| panic!("the receiver answers: {e}"));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("the receiver's records are JSON: {e}"))
    }
}
