//! A Spark Connect server for a test: `sparkplane connect` in the
//! foreground (the binary under test, a managed runtime line that ships
//! Connect — 4.x, installed by scripts/common.sh `need_runtime`), on
//! 127.0.0.1 and a free port, so a test that runs many queries or CLI runs
//! against Spark starts one JVM instead of one a run (`--connect URL`).
//!
//! The server has a SPARKPLANE_HOME of its own (the installed runtimes and
//! Connect clients shared through links), so its session record, event log
//! and state never mix with the developer's. It stops itself: when the guard
//! drops it gets SIGTERM (`connect` then stops Spark in order), bounded, then
//! SIGKILL; and it gets SIGTERM from the kernel if the thread that started it
//! dies without dropping the guard (a test process killed at its timeout).
//!
//! Owns: that server's start and stop. Must not: run queries or CLI runs
//! against it (the test does, with [`ConnectServer::url`]).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// How long `connect` gets to print its connection line (the JVM's start,
/// 10–60 s on a loaded 2-core machine).
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `connect` gets to stop Spark after SIGTERM (it gives Spark 30 s,
/// 90 s while Spark writes its class-data archive) before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `sparkplane connect`, stopped when dropped.
#[derive(Debug)]
pub struct ConnectServer {
    child: Child,
    url: String,
    home: tempfile::TempDir,
}

impl ConnectServer {
    /// Starts `sparkplane connect --spark LINE` on a free port and waits for
    /// its connection line. Keep the guard on the thread that started it: the
    /// server is also stopped when that thread ends.
    pub fn start(line: &str) -> Result<ConnectServer, String> {
        let shared = crate::history::runtime_home();
        let marker = shared.join(format!("runtimes/{line}/runtime.json"));
        if !marker.is_file() {
            return Err(format!(
                "no Spark {line} runtime at {}: run `sparkplane runtime install {line}` (scripts/common.sh \
                 need_runtime, which scripts/test.sh calls)",
                marker.display()
            ));
        }
        let home = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        for dir in ["runtimes", "clients"] {
            std::fs::create_dir_all(shared.join(dir)).map_err(|e| format!("{}: {e}", shared.join(dir).display()))?;
            std::os::unix::fs::symlink(shared.join(dir), home.path().join(dir))
                .map_err(|e| format!("link {dir}: {e}"))?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
        let log = home.path().join("connect.stderr");
        let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = crate::cli::sparkplane_process();
        command
            .args(["connect", "--spark", line, "--port", &port.to_string()])
            .env("SPARKPLANE_HOME", home.path())
            .env_remove("SPARK_HOME")
            .env_remove("SPARKPLANE_CONNECT_URL")
            .current_dir(home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        crate::process::stop_with_the_test(&mut command);
        let mut child = command.spawn().map_err(|e| format!("cannot start sparkplane connect: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = ConnectServer { child, url: String::new(), home };
        let started = Instant::now();
        loop {
            match receive.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.starts_with("sc://") => {
                    server.url = line;
                    return Ok(server);
                }
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = server.child.wait();
                    return Err(format!("sparkplane connect ended before it answered:\n{}", server.stderr()));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "sparkplane connect printed no connection line within {} s:\n{}",
                    START_TIMEOUT.as_secs(),
                    server.stderr()
                ));
            }
        }
    }

    /// `sc://localhost:PORT/;token=…`, what `--connect` takes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What `connect` wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.home.path().join("connect.stderr")).unwrap_or_default()
    }

    /// The server's SPARKPLANE_HOME (its session record and event log).
    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Drop for ConnectServer {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with the pid of a child this guard started and has not reaped, and a valid signal.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
