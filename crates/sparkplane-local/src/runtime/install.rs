//! Installing a runtime: a Python virtual environment with the line's pinned
//! pyspark, its output logged to `install.log`, progress reported as
//! [`InstallEvent`]s, the marker written last.
//!
//! Owns: [`install`], [`InstallEvent`], running python and pip and telling
//! their failures apart (no Python, too old, no venv, index unreachable).
//! Must not: print (progress goes through the callback) or leave a partial
//! install that could be taken for a complete one.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::{RuntimeError, io_error};
use super::home::{INSTALL_LOG, MARKER_FILE, lock, runtime_dir};
use super::inventory::{Runtime, discard, inspect, spark_submit_in};
use super::line::{line_of, min_python, pinned_version, supported_lines};

/// Lines pip prints when it cannot reach the package index.
const NETWORK_SYMPTOMS: &[&str] = &[
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Connection refused",
    "Network is unreachable",
    "No route to host",
    "ProxyError",
    "SSLError",
    "Could not fetch URL",
];

/// Progress of an install, for a spinner or status lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallEvent {
    /// The line is already installed; nothing will be done.
    AlreadyInstalled,
    /// Another sparkplane is installing or removing this line; waiting for it.
    WaitingForLock,
    /// An incomplete or damaged runtime is deleted before installing again.
    Repairing {
        /// What was wrong with it.
        problem: String,
    },
    /// `python -m venv` is running.
    CreatingVenv,
    /// pip is fetching something (its line, e.g. `Downloading pyspark-3.5.9.tar.gz (317.2 MB)`).
    Downloading(String),
    /// pip is building or installing something (its line).
    Installing(String),
    /// The runtime is installed and marked complete.
    Done,
}

/// Installs the runtime of a Spark line (`"3.5"` or any `3.5.x`) with `python`
/// (see [`default_python`](super::home::default_python)), reporting progress to `on_event`. Installing an
/// installed line does nothing and returns it; an incomplete or damaged one is
/// deleted and installed again. The marker is written last, so a failed or
/// interrupted install is never taken for a complete one; after a failure the
/// virtual environment is deleted and only `install.log` remains.
pub fn install(
    home: &Path,
    spark_version: &str,
    python: &OsStr,
    on_event: &mut dyn FnMut(InstallEvent),
) -> Result<Runtime, RuntimeError> {
    let line = line_of(spark_version)?;
    let version = pinned_version(line).ok_or_else(|| RuntimeError::UnsupportedLine {
        requested: spark_version.to_owned(),
        supported: supported_lines(),
    })?;
    let _lock = lock(home, line, &mut || on_event(InstallEvent::WaitingForLock))?;
    let dir = runtime_dir(home, line);
    if dir.exists() {
        match inspect(&dir, line) {
            Ok(runtime) => {
                on_event(InstallEvent::AlreadyInstalled);
                return Ok(runtime);
            }
            Err(problem) => {
                on_event(InstallEvent::Repairing { problem });
                discard(&dir)?;
            }
        }
    }
    fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
    let log_path = dir.join(INSTALL_LOG);
    let mut log = File::create(&log_path).map_err(io_error("create", &log_path))?;
    let job = Install { line, version, python, dir: &dir, log_path: &log_path };
    match job.run(&mut log, on_event) {
        Ok(runtime) => {
            on_event(InstallEvent::Done);
            Ok(runtime)
        }
        Err(e) => {
            let _ = writeln!(log, "sparkplane: install failed: {e}");
            // Keep the log for diagnosis, free the space the partial environment takes.
            let _ = fs::remove_dir_all(dir.join("venv"));
            Err(e)
        }
    }
}

/// One install in progress.
struct Install<'a> {
    line: &'static str,
    version: &'static str,
    python: &'a OsStr,
    dir: &'a Path,
    log_path: &'a Path,
}

impl Install<'_> {
    fn python_name(&self) -> String {
        self.python.to_string_lossy().into_owned()
    }

    fn run(&self, log: &mut File, on_event: &mut dyn FnMut(InstallEvent)) -> Result<Runtime, RuntimeError> {
        self.check_python(log)?;

        on_event(InstallEvent::CreatingVenv);
        let venv = self.dir.join("venv");
        let mut command = Command::new(self.python);
        command.arg("-m").arg("venv").arg(&venv);
        let outcome = run_logged(&mut command, log, &mut |_| {}).map_err(|e| self.spawn_error(e))?;
        if !outcome.status.success() {
            return Err(RuntimeError::VenvFailed { python: self.python_name(), log: self.log_path.to_owned() });
        }

        let venv_python = venv.join("bin").join("python");
        let requirement = format!("pyspark=={}", self.version);
        on_event(InstallEvent::Downloading(format!("pip install {requirement}")));
        let mut command = Command::new(&venv_python);
        command
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"])
            .arg(&requirement)
            .env("PYTHONUNBUFFERED", "1");
        let outcome = run_logged(&mut command, log, &mut |line| {
            if let Some(event) = pip_event(line) {
                on_event(event);
            }
        })
        .map_err(io_error("run", &venv_python))?;
        if !outcome.status.success() {
            return Err(self.pip_error(&outcome.lines));
        }

        on_event(InstallEvent::Installing("checking the installed Spark".to_owned()));
        let spark_home = self.find_spark_home(&venv_python, log)?;
        let spark_submit = spark_submit_in(&spark_home);
        if !spark_submit.is_file() {
            return Err(self.failed(format!("{} is missing after pip finished", spark_submit.display())));
        }

        let runtime = Runtime {
            line: self.line.to_owned(),
            pyspark_version: self.version.to_owned(),
            python: venv_python,
            spark_home,
            installed_at: rfc3339(SystemTime::now()),
        };
        self.write_marker(&runtime)?;
        Ok(runtime)
    }

    /// Fails early, with a clear message, when the interpreter is missing or too old for pyspark.
    fn check_python(&self, log: &mut File) -> Result<(), RuntimeError> {
        let mut command = Command::new(self.python);
        command.args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
        let outcome = run_logged(&mut command, log, &mut |_| {}).map_err(|e| self.spawn_error(e))?;
        let needs = min_python(self.line);
        let found = outcome.lines.iter().rev().find_map(|l| parse_major_minor(l));
        match found {
            Some(found) if found >= needs => Ok(()),
            Some((major, minor)) => Err(RuntimeError::PythonTooOld {
                python: self.python_name(),
                found: format!("{major}.{minor}"),
                pyspark: self.version.to_owned(),
                needs,
            }),
            None => Err(RuntimeError::PythonNotFound { python: self.python_name(), needs }),
        }
    }

    fn spawn_error(&self, e: io::Error) -> RuntimeError {
        if e.kind() == io::ErrorKind::NotFound {
            RuntimeError::PythonNotFound { python: self.python_name(), needs: min_python(self.line) }
        } else {
            RuntimeError::Io { action: "run", path: PathBuf::from(self.python), source: e }
        }
    }

    fn failed(&self, reason: String) -> RuntimeError {
        RuntimeError::InstallFailed {
            line: self.line.to_owned(),
            version: self.version.to_owned(),
            reason,
            log: self.log_path.to_owned(),
        }
    }

    fn pip_error(&self, lines: &[String]) -> RuntimeError {
        if lines.iter().any(|l| NETWORK_SYMPTOMS.iter().any(|s| l.contains(s))) {
            return RuntimeError::IndexUnreachable { version: self.version.to_owned(), log: self.log_path.to_owned() };
        }
        let reason = lines
            .iter()
            .rev()
            .find(|l| l.starts_with("ERROR:"))
            .or_else(|| lines.iter().rev().find(|l| !l.trim().is_empty()))
            .map_or_else(|| "pip failed without saying why".to_owned(), |l| l.trim().to_owned());
        self.failed(reason)
    }

    /// Asks the environment's Python where pyspark is: that directory is the Spark home.
    fn find_spark_home(&self, venv_python: &Path, log: &mut File) -> Result<PathBuf, RuntimeError> {
        let mut command = Command::new(venv_python);
        command.args(["-c", "import os, pyspark; print(os.path.dirname(os.path.abspath(pyspark.__file__)))"]);
        let outcome = run_logged(&mut command, log, &mut |_| {}).map_err(io_error("run", venv_python))?;
        let found = outcome.lines.iter().rev().map(|l| l.trim()).find(|l| l.starts_with('/'));
        match found {
            Some(path) if outcome.status.success() => Ok(PathBuf::from(path)),
            _ => Err(self.failed("pyspark cannot be imported from the new environment".to_owned())),
        }
    }

    /// Writes `runtime.json` atomically (a temporary file renamed over it).
    fn write_marker(&self, runtime: &Runtime) -> Result<(), RuntimeError> {
        let path = self.dir.join(MARKER_FILE);
        let temporary = self.dir.join(format!("{MARKER_FILE}.partial"));
        let mut text = serde_json::to_string_pretty(runtime).map_err(|e| RuntimeError::Io {
            action: "write",
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        text.push('\n');
        let write = || -> io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, &path)
        };
        write().map_err(io_error("write", &path))
    }
}

/// `3.11` → (3, 11).
fn parse_major_minor(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Turns a line of pip's output into a progress event, when it marks a step.
pub(super) fn pip_event(line: &str) -> Option<InstallEvent> {
    let text = line.trim();
    const FETCHING: &[&str] = &["Collecting", "Downloading", "Using cached"];
    const INSTALLING: &[&str] =
        &["Preparing metadata", "Building wheel", "Created wheel", "Installing collected", "Successfully installed"];
    if FETCHING.iter().any(|p| text.starts_with(p)) {
        Some(InstallEvent::Downloading(text.to_owned()))
    } else if INSTALLING.iter().any(|p| text.starts_with(p)) {
        Some(InstallEvent::Installing(text.to_owned()))
    } else {
        None
    }
}

/// What a finished command printed and how it ended.
struct Outcome {
    status: ExitStatus,
    /// The last lines of stdout and stderr together, in arrival order.
    lines: Vec<String>,
}

/// How many output lines a command's outcome keeps (the log keeps all).
const KEPT_LINES: usize = 400;

/// Runs a command with stdin closed, appending its stdout and stderr line by
/// line to `log` as they arrive and showing each line to `on_line`.
fn run_logged(command: &mut Command, log: &mut File, on_line: &mut dyn FnMut(&str)) -> io::Result<Outcome> {
    let _ = writeln!(log, "$ {}", describe(command));
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let (sender, receiver) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(forward_lines(stdout, sender.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(forward_lines(stderr, sender.clone()));
    }
    drop(sender);
    let mut lines = Vec::new();
    for line in receiver {
        let _ = writeln!(log, "{line}");
        on_line(&line);
        if lines.len() == KEPT_LINES {
            lines.remove(0);
        }
        lines.push(line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait()?;
    let _ = writeln!(log, "# {status}");
    let _ = log.flush();
    Ok(Outcome { status, lines })
}

fn forward_lines(stream: impl Read + Send + 'static, sender: mpsc::Sender<String>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buffer);
                    // Progress redraws use carriage returns; keep the last state of each line.
                    let text = text.trim_end_matches(['\n', '\r']).rsplit('\r').next().unwrap_or_default();
                    if sender.send(text.to_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// A time as RFC 3339 in UTC, to the second: `2025-06-01T12:30:05Z` (the run
/// history's format, so one function writes both).
pub(super) fn rfc3339(time: SystemTime) -> String {
    let ms = time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    crate::history::rfc3339(ms)
}
