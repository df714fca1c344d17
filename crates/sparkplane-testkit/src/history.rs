//! The real Spark History Server for tests: started from the pinned 3.5
//! runtime (`sparkplane runtime install 3.5`, done by scripts/test.sh), or
//! another installed runtime line, over a directory of event logs, on
//! 127.0.0.1 and a free port, and killed when the handle drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running History Server.
pub struct HistoryServer {
    child: Child,
    /// `http://127.0.0.1:<port>` — what a user would give as the server's address.
    pub base_url: String,
    _dir: tempfile::TempDir,
}

impl Drop for HistoryServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SPARK_HOME of the installed 3.5 runtime, read from its `runtime.json`
/// under `$SPARKPLANE_HOME` (default `~/.local/share/sparkplane`).
pub fn spark_home() -> Result<PathBuf, String> {
    runtime_path("3.5", "sparkHome")
}

/// Where the managed runtimes are installed: `$SPARKPLANE_HOME`, else
/// `~/.local/share/sparkplane`.
pub fn runtime_home() -> PathBuf {
    std::env::var_os("SPARKPLANE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        let user_home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        user_home.join(".local/share/sparkplane")
    })
}

/// A path field (`sparkHome`, `python`) of an installed runtime line's
/// `runtime.json` (`3.5`, `4.1`) under `$SPARKPLANE_HOME`.
pub fn runtime_path(line: &str, field: &str) -> Result<PathBuf, String> {
    let home = runtime_home();
    let record = home.join(format!("runtimes/{line}/runtime.json"));
    let text = std::fs::read_to_string(&record).map_err(|e| {
        format!(
            "the History Server needs the {line} runtime ({}: {e}); run `sparkplane runtime install {line}` \
             (scripts/test.sh does)",
            record.display()
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", record.display()))?;
    value[field].as_str().map(PathBuf::from).ok_or_else(|| format!("{} does not name {field}", record.display()))
}

impl HistoryServer {
    /// Starts a History Server over `logs` (rescanned every second). It is
    /// not answering yet: call [`HistoryServer::wait_until_answering`].
    pub fn start(logs: &Path) -> Result<HistoryServer, String> {
        HistoryServer::start_from(&spark_home()?, logs)
    }

    /// As [`HistoryServer::start`], from the Spark at `home` (a SPARK_HOME).
    pub fn start_from(home: &Path, logs: &Path) -> Result<HistoryServer, String> {
        let home = home.to_path_buf();
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        let props = dir.path().join("history.properties");
        std::fs::write(
            &props,
            format!(
                "spark.history.fs.logDirectory=file://{}\nspark.history.ui.port={port}\n\
                 spark.history.fs.update.interval=1s\nspark.ui.bindAddress=127.0.0.1\n",
                logs.display()
            ),
        )
        .map_err(|e| format!("{}: {e}", props.display()))?;
        let mut command = Command::new(home.join("bin/spark-class"));
        command
            .args(["org.apache.spark.deploy.history.HistoryServer", "--properties-file"])
            .arg(&props)
            .env("SPARK_HOME", &home)
            .env("SPARK_LOCAL_IP", "127.0.0.1")
            .env("SPARK_DAEMON_MEMORY", "512m")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        crate::process::stop_with_the_test(&mut command);
        let child = command.spawn().map_err(|e| format!("cannot start {}/bin/spark-class: {e}", home.display()))?;
        Ok(HistoryServer { child, base_url: format!("http://127.0.0.1:{port}"), _dir: dir })
    }

    /// The REST API's root, `<base_url>/api/v1`.
    pub fn api(&self) -> String {
        format!("{}/api/v1", self.base_url)
    }

    /// Waits until `GET /api/v1/applications?limit=1` answers 200.
    pub fn wait_until_answering(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/applications?limit=1", self.api());
        loop {
            if sparkplane_http::agent(None).get(&url).call().is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the History Server exited ({status}) before answering"));
            }
            if Instant::now() >= deadline {
                return Err(format!("the History Server did not answer {url} within {timeout:?}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server now (once; later calls do nothing). `spark-class`
    /// execs the JVM, so the child is the server itself.
    pub fn kill(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
