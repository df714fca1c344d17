//! A Spark Connect server on this machine, from start to stop: the checks
//! before it starts (a Spark line with a Connect server, a free port, Java,
//! the managed runtime — installed when missing), the server's JVM started
//! from `connect`'s launch plan (directly, by the command `connect_launch`
//! caches, or through spark-submit when it cannot) in its own process group
//! with its output in the session's log, the wait until it answers, a clean
//! stop (SIGTERM to the group, so Spark closes its event log and the JVM
//! writes its class-data archive; SIGKILL only after a grace period), the
//! archive kept or dropped once the JVM has gone,
//! the session's record in the local run history (so `runs`, `analyze` and
//! `cost` see it), and a background server's start, status (and how
//! `connect status` shows it) and stop through the state file.
//!
//! It must not print or read flags: install progress and warnings go to a
//! [`LocalRunObserver`] as the local run's events, and everything read from
//! the environment comes in through [`ConnectSettings`]. The token leaves this
//! module only through [`Server::url`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sparkplane_category::Category;

use crate::connect::{self, ConnectError, ServerState, Token};
use crate::connect_launch::{self, JvmInputs, PendingArchive};
use crate::history::{self, RunRecord, RunState, SESSION_JOB};
use crate::java::{self, JavaError};
use crate::progress::{Progress, ProgressReader};
use crate::runtime::{self, RuntimeError};
use crate::summary;
use crate::workflow::{LocalRunEvent, LocalRunObserver, install_runtime};

/// How long Spark gets to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(30);
/// How long a server that writes its class-data archive as it exits gets
/// (the write takes seconds on a busy machine; a killed one is not kept).
pub const STOP_GRACE_WRITING_ARCHIVE: Duration = Duration::from_secs(90);
/// How long a server gets to answer after it starts.
pub const START_TIMEOUT: Duration = Duration::from_secs(240);
/// Driver memory of a local server (Spark's default), for the session's figures.
const DRIVER_MEMORY_MIB: u64 = 1024;

/// Everything a server takes, in plain terms.
#[derive(Clone, Debug)]
pub struct ConnectSettings {
    /// SPARKPLANE_HOME: runtimes, run history, event logs, the state file.
    pub home: PathBuf,
    /// `JAVA_HOME`, looked at before `PATH`.
    pub java_home: Option<PathBuf>,
    /// `PATH`, searched for `java`.
    pub path: Option<OsString>,
    /// The Python that creates a missing runtime.
    pub python: OsString,
    /// The Spark line or version asked for (`4.1`).
    pub spark: String,
    /// The gRPC port on 127.0.0.1.
    pub port: u16,
    /// Spark settings from the preset (cluster-only ones are dropped later).
    pub conf: BTreeMap<String, String>,
    /// The preset's name, for the session's record.
    pub preset: Option<String>,
    /// A server for one query (`sql`'s own, and the data-quality engine's):
    /// no Spark UI, and the JIT's quick tier only unless the query reads
    /// more than [`QUICK_JIT_READS_UP_TO`] (ADR 0022, "Cold start", and its
    /// addendum of 2026-11-27).
    pub one_query: bool,
    /// Bytes the one query will read, when the caller knows (a data-quality
    /// run's dataset on disk); `None` for a query nobody sized (`sql`).
    pub reads: Option<u64>,
}

/// Up to this many bytes read, a one-query server runs the JIT's quick tier
/// only (C1): its code is compiled sooner and the optimising tier's compile
/// threads do not compete with the query for the cores. Past it, the
/// optimised code repays its compile time: on the benchmark's shared
/// data-quality query the quick tier led by 1.0–1.4 s at 100 MB of Parquet
/// and by 0.3 s at 200 MB, and took 21–27 s against 9–11 s with both tiers
/// at 1 GB (ADR 0022's addendum of 2026-11-27; docs/benchmarks.md,
/// "Data-quality checks on Spark").
pub const QUICK_JIT_READS_UP_TO: u64 = 256 << 20;

impl ConnectSettings {
    /// Whether the server's JVM stops at the JIT's quick tier
    /// (`-XX:TieredStopAtLevel=1`): a one-query server whose query is not
    /// known to read more than [`QUICK_JIT_READS_UP_TO`].
    pub fn quick_jit(&self) -> bool {
        self.one_query && self.reads.is_none_or(|bytes| bytes <= QUICK_JIT_READS_UP_TO)
    }

    /// Settings from this process's environment (SPARKPLANE_HOME, JAVA_HOME,
    /// PATH, SPARKPLANE_PYTHON).
    pub fn from_environment(spark: &str, port: u16) -> Result<Self, ConnectServerError> {
        Ok(ConnectSettings {
            home: runtime::default_home()?,
            java_home: std::env::var_os("JAVA_HOME").map(PathBuf::from),
            path: std::env::var_os("PATH"),
            python: runtime::default_python(),
            spark: spark.to_owned(),
            port,
            conf: BTreeMap::new(),
            preset: None,
            one_query: false,
            reads: None,
        })
    }
}

/// Why a server could not be started, waited for or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConnectServerError {
    /// A busy port, an old Spark, an unreadable state file.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The runtime cannot be found, installed or used.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// No Java, or one that cannot run the line.
    #[error(transparent)]
    Java(#[from] JavaError),
    /// A background server is running already (one per SPARKPLANE_HOME).
    #[error(
        "a Spark Connect server is already running in the background (pid {pid}, port {port}); stop it with `sparkplane connect stop`"
    )]
    AlreadyRunning {
        /// Its process.
        pid: u32,
        /// Its port.
        port: u16,
    },
    /// spark-submit ended before the server answered.
    #[error("the Spark Connect server stopped before it answered ({status}); the end of its log {}:\n{tail}", log.display())]
    Exited {
        /// How it ended.
        status: String,
        /// The session's log.
        log: PathBuf,
        /// Its last lines.
        tail: String,
    },
    /// The server did not answer in time.
    #[error("the Spark Connect server did not answer on port {port} within {} s; see its log {}", timeout.as_secs(), log.display())]
    Timeout {
        /// Its port.
        port: u16,
        /// How long it was given.
        timeout: Duration,
        /// The session's log.
        log: PathBuf,
    },
    /// The user stopped it before it answered.
    #[error("stopped before the Spark Connect server answered")]
    Cancelled,
    /// A file or process could not be made.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was tried.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

impl ConnectServerError {
    /// Whether the request (`Usage`, exit 2) or the machine (`Environment`, exit 3) is at fault.
    pub fn category(&self) -> Category {
        match self {
            ConnectServerError::Connect(e) => e.category(),
            ConnectServerError::Runtime(e) => e.category(),
            ConnectServerError::Java(e) => e.category(),
            ConnectServerError::AlreadyRunning { .. } => Category::Invalid,
            ConnectServerError::Exited { .. }
            | ConnectServerError::Timeout { .. }
            | ConnectServerError::Cancelled
            | ConnectServerError::Io { .. } => Category::Unreachable,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectServerError::Connect(e) => e.code(),
            ConnectServerError::Runtime(e) => e.code(),
            ConnectServerError::Java(e) => e.code(),
            ConnectServerError::AlreadyRunning { .. } => "connect-already-running",
            ConnectServerError::Exited { .. } => "connect-exited",
            ConnectServerError::Timeout { .. } => "connect-timeout",
            ConnectServerError::Cancelled => "connect-cancelled",
            ConnectServerError::Io { .. } => "connect-io",
        }
    }
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ConnectServerError + 'a {
    move |source| ConnectServerError::Io { action, path: path.to_owned(), source }
}

/// What the checks found: the Spark and Java a server starts with.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The runtime's SPARK_HOME.
    pub spark_home: PathBuf,
    /// The runtime's Python.
    pub python: PathBuf,
    /// The pinned pyspark release, e.g. `4.1.4`.
    pub version: String,
    /// The Spark line, e.g. `4.1`.
    pub line: String,
    /// JAVA_HOME of the Java found.
    pub java_home: Option<PathBuf>,
    /// The Java found, its version, and whether it shares classes.
    pub java: java::JavaInfo,
    /// Where the JVM launch cache lives (`connect_launch`): the managed
    /// runtime's folder (removed with it), or `<home>/cache` for a user's Spark.
    pub launch_cache: PathBuf,
}

/// The checks before a start, cheapest and the user's own first: the line has
/// a Connect server, the port is free, Java runs it, and the managed runtime
/// is there (installed now, with its progress sent to `observer`, when not).
pub fn prepare(
    settings: &ConnectSettings,
    observer: &mut dyn LocalRunObserver,
) -> Result<Prepared, ConnectServerError> {
    let line = runtime::line_of(&settings.spark)?;
    connect::check_line(line)?;
    connect::check_port(settings.port)?;
    let java = java::check_java(line, settings.java_home.as_deref(), settings.path.as_deref())?;
    if let Some(warning) = &java.warning {
        observer.event(LocalRunEvent::Warning(warning));
    }
    let located = match runtime::locate(&settings.home, line, None) {
        Ok(located) => located,
        Err(RuntimeError::NotInstalled { .. }) => {
            install_runtime(&settings.home, line, &settings.python, observer)?;
            runtime::locate(&settings.home, line, None)?
        }
        Err(e) => return Err(e.into()),
    };
    let (version, launch_cache) = connect_launch::cache_dir(&settings.home, line, &located.source);
    Ok(Prepared {
        spark_home: located.spark_home,
        python: located.python.unwrap_or_default(),
        version,
        line: line.to_owned(),
        java_home: java.java.parent().and_then(Path::parent).map(Path::to_owned),
        launch_cache,
        java,
    })
}

/// A started server. Dropped without [`Server::stop`] or [`Server::detach`],
/// it stops the server (so a failing caller never leaves a JVM behind).
pub struct Server {
    child: Child,
    port: u16,
    ui_port: Option<u16>,
    token: Token,
    log: PathBuf,
    record: RunRecord,
    home: PathBuf,
    event_dir: PathBuf,
    version: String,
    /// The class-data archive the JVM writes as it exits.
    archive_written: Option<PendingArchive>,
    /// The one it maps.
    archive_mapped: Option<PathBuf>,
    done: bool,
}

fn grace(writing_archive: bool) -> Duration {
    if writing_archive { STOP_GRACE_WRITING_ARCHIVE } else { STOP_GRACE }
}

/// A port nothing listens on now, on 127.0.0.1.
pub(crate) fn free_port() -> Result<u16, ConnectServerError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(io_error("find a free port on", Path::new("127.0.0.1")))
}

/// Starts a server from `prepared` with a fresh token and records the session
/// as running. It does not wait for it: call [`Server::wait_until_answering`].
pub fn start(settings: &ConnectSettings, prepared: &Prepared) -> Result<Server, ConnectServerError> {
    let home = &settings.home;
    // The port again, right before the JVM binds it: it may have been taken since `prepare`.
    connect::check_port(settings.port)?;
    let token = Token::generate()?;
    let event_dir = home.join("history");
    std::fs::create_dir_all(&event_dir).map_err(io_error("create", &event_dir))?;
    let started = history::now_ms();
    let run_id = history::new_run_id(SESSION_JOB, started);
    let run_dir = history::run_dir(home, &run_id);
    std::fs::create_dir_all(&run_dir).map_err(io_error("create", &run_dir))?;
    let log = run_dir.join("driver.log");
    let out = File::create(&log).map_err(io_error("create", &log))?;
    let err = out.try_clone().map_err(io_error("open", &log))?;
    let ui = !settings.one_query;
    let ui_port = if ui { Some(free_port()?) } else { None };
    let mut conf = connect::server_conf(settings.port, &event_dir, &settings.conf, ui);
    if let Some(ui_port) = ui_port {
        conf.insert("spark.ui.port".into(), ui_port.to_string());
    }
    let jvm = connect_launch::plan(
        &prepared.launch_cache,
        &JvmInputs {
            java: &prepared.java.java,
            java_version: &prepared.java.version.text,
            sharing: prepared.java.sharing,
            spark_home: &prepared.spark_home,
            spark_version: &prepared.version,
            conf: &conf,
        },
    );
    // One small query: the JIT's quick tier compiles its code sooner, and nothing would
    // repay the optimising tier's compile time.
    let extra: &[&str] = if settings.quick_jit() { &["-XX:TieredStopAtLevel=1"] } else { &[] };
    let jvm_command = jvm.as_ref().map(|j| j.jvm_command(extra));
    let plan = connect::launch_plan(&prepared.spark_home, jvm_command.as_deref(), &conf, &token);
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
        .env("SPARK_HOME", &prepared.spark_home)
        .env("PYSPARK_PYTHON", &prepared.python)
        // What spark-submit's script sets before the launcher runs.
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own group: a terminal's Ctrl-C reaches sparkplane, which stops Spark in order,
        // and a background server outlives the command that started it.
        .process_group(0);
    if let Some(java_home) = &prepared.java_home {
        command.env("JAVA_HOME", java_home);
    }
    let child = command.spawn().map_err(io_error("start", &plan.program))?;
    // A record written through serde keeps working when the history's record grows a field.
    let record: RunRecord = serde_json::from_value(serde_json::json!({
        "runId": run_id,
        "job": SESSION_JOB,
        "interactive": true,
        "jobFile": "",
        "specHash": "",
        "environment": "local",
        "preset": settings.preset,
        "sparkVersion": prepared.version,
        "master": conf.get("spark.master").cloned().unwrap_or_default(),
        "state": "running",
        "startedMs": started,
        "endedMs": null,
        "pid": child.id(),
        "exitCode": null,
        "failure": null,
        "appId": null,
        "uiUrl": ui_port.map(|p| format!("http://127.0.0.1:{p}")),
        "driverLog": log.display().to_string(),
        "eventLog": null,
        "summary": null,
    }))
    .map_err(|e| ConnectServerError::Io {
        action: "record the session in",
        path: run_dir.clone(),
        source: io::Error::other(e),
    })?;
    let mut server = Server {
        child,
        port: settings.port,
        ui_port,
        token,
        log,
        record,
        home: home.clone(),
        event_dir,
        version: prepared.version.clone(),
        archive_written: jvm.as_ref().and_then(|j| j.pending().cloned()),
        archive_mapped: jvm.as_ref().and_then(|j| j.mapped().map(Path::to_owned)),
        done: false,
    };
    history::write(home, &server.record).map_err(io_error("record the session in", &run_dir))?;
    server.done = false;
    Ok(server)
}

/// The last `n` lines of a log, for an error message.
fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The application id in the server's log (`Logging events to …/eventlog_v2_local-…`).
fn app_id_in_log(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("Logging events to"))?;
    let at = line.rfind("local-")?;
    let id: String = line[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    Some(id)
}

fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: killpg only sends a signal to the process group the server leads.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
}

/// The queries a foreground server runs now, as [`Server::serve`] reports them.
#[derive(Clone, Copy, Debug)]
pub struct RunningQueries<'a> {
    /// Their progress, from the Spark UI.
    pub progress: &'a Progress,
    /// How long queries have run without a pause.
    pub running_for: Duration,
}

/// How often a foreground server's Spark UI is asked for running queries.
const PROGRESS_POLL: Duration = Duration::from_secs(1);

/// Fills in a session's end: when, how, and its figures from the event log.
fn finish_record(record: &mut RunRecord, event_dir: &Path, log: &Path, stopped: bool, exit: Option<i32>) {
    record.pid = None;
    record.ui_url = None;
    record.ended_ms = Some(history::now_ms());
    record.app_id = record.app_id.clone().or_else(|| app_id_in_log(log));
    if stopped {
        // A session the user stopped ended normally.
        record.state = RunState::Succeeded;
    } else {
        record.state = RunState::Failed;
        record.exit_code = exit;
        record.failure = Some(format!("the Spark Connect server ended on its own; see {}", log.display()));
    }
    if let Some(app_id) = record.app_id.clone()
        && let Some(s) = summary::summarize_run(event_dir, Some(&app_id), DRIVER_MEMORY_MIB)
    {
        record.event_log = s.event_log.clone();
        record.spark_version = s.spark_version.clone().or(record.spark_version.take());
        record.summary = Some(s.figures.clone());
    }
}

impl Server {
    /// The copyable connection line, with the token.
    pub fn url(&self) -> String {
        connect::connection_url(self.port, &self.token)
    }

    /// The gRPC port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Spark UI's port, `http://127.0.0.1:<port>` (progress of running
    /// queries); none for a server of one query.
    pub fn ui_port(&self) -> Option<u16> {
        self.ui_port
    }

    /// The session's id in the run history.
    pub fn run_id(&self) -> &str {
        &self.record.run_id
    }

    /// The session's log (spark-submit's output).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The pyspark release the server runs.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The server's process id (it leads its own process group).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the server accepts connections. Fails when spark-submit
    /// ends first (with the end of its log), after `timeout`, or when `cancel`
    /// is set; the server is stopped then.
    pub fn wait_until_answering(&mut self, timeout: Duration, cancel: &AtomicBool) -> Result<(), ConnectServerError> {
        let started = Instant::now();
        loop {
            if connect::answers(self.port) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.settle(false, status.code());
                // Should the archive be what failed, the next start goes without it (and writes another).
                if let Some(archive) = &self.archive_mapped {
                    connect_launch::discard(archive);
                }
                return Err(ConnectServerError::Exited {
                    status: status.to_string(),
                    log: self.log.clone(),
                    tail: tail(&self.log, 8),
                });
            }
            if cancel.load(Ordering::SeqCst) {
                self.terminate();
                return Err(ConnectServerError::Cancelled);
            }
            if started.elapsed() > timeout {
                self.terminate();
                return Err(ConnectServerError::Timeout { port: self.port, timeout, log: self.log.clone() });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Keeps a foreground server until `cancel` is set (None) or the server
    /// ends on its own (its exit code). While queries run, `on_queries` gets
    /// their progress and how long they have run, at most once a second;
    /// `None` once none runs (the Spark UI answers nothing running).
    pub fn serve(
        &mut self,
        cancel: &AtomicBool,
        on_queries: &mut dyn FnMut(Option<RunningQueries<'_>>),
    ) -> Option<Option<i32>> {
        let mut reader = self.ui_port.map(|port| ProgressReader::new(port, 0));
        // Since when the queries running now run.
        let mut running: Option<Instant> = None;
        let mut last_poll: Option<Instant> = None;
        loop {
            if cancel.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(exit) = self.ended() {
                return Some(exit);
            }
            if let Some(reader) = &mut reader
                && last_poll.is_none_or(|at| at.elapsed() >= PROGRESS_POLL)
            {
                last_poll = Some(Instant::now());
                match reader.poll().filter(|p| p.jobs_done < p.jobs_total) {
                    Some(progress) => {
                        let since = *running.get_or_insert_with(Instant::now);
                        on_queries(Some(RunningQueries { progress: &progress, running_for: since.elapsed() }));
                    }
                    None => {
                        if running.take().is_some() {
                            on_queries(None);
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether spark-submit has ended, and with which exit code.
    pub fn ended(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().ok().flatten().map(|s| s.code())
    }

    /// Stops the server cleanly and records the session's end; returns the record.
    pub fn stop(mut self) -> RunRecord {
        self.terminate();
        self.record.clone()
    }

    /// Records that the server ended on its own (exit code `exit`); returns the record.
    pub fn ended_on_its_own(mut self, exit: Option<i32>) -> RunRecord {
        self.settle(false, exit);
        self.record.clone()
    }

    /// Leaves the server running after this process exits and writes the
    /// state file `connect status` and `connect stop` read.
    pub fn detach(mut self) -> Result<ServerState, ConnectServerError> {
        let state = ServerState {
            pid: self.child.id(),
            port: self.port,
            spark_line: self.version.clone(),
            started_at: history::rfc3339(self.record.started_ms),
            run_id: Some(self.record.run_id.clone()),
            class_archive: self.archive_written.clone(),
        };
        if let Err(e) = connect::write_state(&self.home, &state) {
            self.terminate();
            return Err(e.into());
        }
        self.done = true;
        Ok(state)
    }

    fn terminate(&mut self) {
        if self.done {
            return;
        }
        let pid = self.child.id();
        signal_group(pid, libc::SIGTERM);
        let started = Instant::now();
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if started.elapsed() > grace(self.archive_written.is_some()) {
                signal_group(pid, libc::SIGKILL);
                break self.child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.settle(true, status.and_then(|s| s.code()));
    }

    fn settle(&mut self, stopped: bool, exit: Option<i32>) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(pending) = self.archive_written.take() {
            connect_launch::finish(&pending);
        }
        finish_record(&mut self.record, &self.event_dir, &self.log, stopped, exit);
        let _ = history::write(&self.home, &self.record);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A background server, as `connect status` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// What the state file says.
    pub state: ServerState,
    /// Whether it accepts connections now.
    pub answering: bool,
}

/// A background server as `connect status -o json` shows it (never its token).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    running: bool,
    answering: bool,
    url: String,
    pid: u32,
    port: u16,
    spark: String,
    started_at: String,
    run_id: Option<String>,
}

/// What `connect status` says when no server runs in the background.
pub const NOT_RUNNING: &str =
    "not running: no Spark Connect server runs in the background (`sparkplane connect --background` starts one)\n";

impl Running {
    /// The server as `connect status` shows it.
    pub fn view(&self) -> StatusView {
        let s = &self.state;
        StatusView {
            running: true,
            answering: self.answering,
            url: connect::public_url(s.port),
            pid: s.pid,
            port: s.port,
            spark: s.spark_line.clone(),
            started_at: s.started_at.clone(),
            run_id: s.run_id.clone(),
        }
    }
}

impl StatusView {
    /// One line: where it runs, since when, its session; the token is never shown again.
    pub fn text(&self) -> String {
        format!(
            "running {} (pid {}, Spark {}, since {}{}); session {}; the token was shown once, by `sparkplane connect`\n",
            self.url,
            self.pid,
            self.spark,
            self.started_at,
            if self.answering { "" } else { ", not answering yet" },
            self.run_id.as_deref().unwrap_or("-")
        )
    }
}

/// The background server of `home`, if one runs. A state file whose process
/// has gone is removed (and its session recorded as ended on its own).
pub fn status(home: &Path) -> Result<Option<Running>, ConnectServerError> {
    let Some(state) = connect::read_state(home)? else { return Ok(None) };
    if !connect::is_alive(state.pid) {
        settle_background(home, &state, false);
        connect::clear_state(home)?;
        return Ok(None);
    }
    let answering = connect::answers(state.port);
    Ok(Some(Running { state, answering }))
}

/// Refuses to start a second background server in one home.
pub fn check_no_background(home: &Path) -> Result<(), ConnectServerError> {
    match status(home)? {
        Some(running) => Err(ConnectServerError::AlreadyRunning { pid: running.state.pid, port: running.state.port }),
        None => Ok(()),
    }
}

fn settle_background(home: &Path, state: &ServerState, stopped: bool) -> Option<RunRecord> {
    if let Some(pending) = &state.class_archive {
        connect_launch::finish(pending);
    }
    let run_id = state.run_id.as_deref()?;
    let mut record = history::find(home, run_id).ok()?;
    let log = PathBuf::from(&record.driver_log);
    finish_record(&mut record, &home.join("history"), &log, stopped, None);
    history::write(home, &record).ok()?;
    Some(record)
}

/// Stops the background server of `home`: SIGTERM to its group, SIGKILL
/// after [`STOP_GRACE`]; its session is recorded and the state file removed.
/// `None` when none was running (stopping is then a no-op).
pub fn stop_background(home: &Path) -> Result<Option<(ServerState, Option<RunRecord>)>, ConnectServerError> {
    let Some(state) = connect::read_state(home)? else { return Ok(None) };
    if !connect::is_alive(state.pid) {
        settle_background(home, &state, false);
        connect::clear_state(home)?;
        return Ok(None);
    }
    signal_group(state.pid, libc::SIGTERM);
    let started = Instant::now();
    while connect::is_alive(state.pid) {
        if started.elapsed() > grace(state.class_archive.is_some()) {
            signal_group(state.pid, libc::SIGKILL);
            std::thread::sleep(Duration::from_millis(200));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let record = settle_background(home, &state, true);
    connect::clear_state(home)?;
    Ok(Some((state, record)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_id_is_read_from_the_event_log_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("driver.log");
        std::fs::write(
            &log,
            "26/11/23 17:41:55 INFO RollingEventLogFilesWriter: Logging events to file:/h/history/eventlog_v2_local-1795455713197/events_1_local-1795455713197.zstd\n",
        )
        .unwrap();
        assert_eq!(app_id_in_log(&log).as_deref(), Some("local-1795455713197"));
        std::fs::write(&log, "nothing\n").unwrap();
        assert_eq!(app_id_in_log(&log), None);
    }

    #[test]
    fn a_spark_3_line_is_refused_before_java_or_the_port_are_looked_at() {
        let home = tempfile::tempdir().unwrap();
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let settings = ConnectSettings {
            home: home.path().to_owned(),
            java_home: None,
            path: Some("/nonexistent".into()),
            python: "/nonexistent/python3".into(),
            spark: "3.5".into(),
            port: held.local_addr().unwrap().port(),
            conf: BTreeMap::new(),
            preset: None,
            one_query: false,
            reads: None,
        };
        let err = prepare(&settings, &mut |_: LocalRunEvent<'_>| {}).err().unwrap();
        assert_eq!((err.code(), err.category()), ("no-connect-server", Category::Invalid));
        // A 4.1 request with the port taken names the port, still before Java.
        let settings = ConnectSettings { spark: "4.1".into(), ..settings };
        let err = prepare(&settings, &mut |_: LocalRunEvent<'_>| {}).err().unwrap();
        assert_eq!((err.code(), err.category()), ("port-busy", Category::Invalid));
        drop(held);
        let err = prepare(&settings, &mut |_: LocalRunEvent<'_>| {}).err().unwrap();
        assert_eq!((err.code(), err.category()), ("java-not-found", Category::Unreachable));
        assert!(!home.path().join("runs").exists(), "nothing recorded");
    }

    #[test]
    fn only_a_one_query_server_not_known_to_read_much_stops_at_the_quick_jit_tier() {
        let home = tempfile::tempdir().unwrap();
        let mut settings = ConnectSettings::from_environment("4.1", 15002).unwrap();
        settings.home = home.path().to_owned();
        let cases = [
            // (one query, bytes read, quick tier only)
            (false, None, false),
            (false, Some(1), false),
            (true, None, true),
            (true, Some(0), true),
            (true, Some(QUICK_JIT_READS_UP_TO), true),
            (true, Some(QUICK_JIT_READS_UP_TO + 1), false),
            (true, Some(10 << 30), false),
        ];
        for (one_query, reads, quick) in cases {
            let settings = ConnectSettings { one_query, reads, ..settings.clone() };
            assert_eq!(settings.quick_jit(), quick, "one query {one_query}, reads {reads:?}");
        }
    }

    #[test]
    fn status_and_stop_without_a_server_do_nothing() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(status(home.path()).unwrap(), None);
        assert!(stop_background(home.path()).unwrap().is_none());
        // A state file whose process has gone is cleared.
        let state = ServerState {
            pid: 999_999_999,
            port: 15002,
            spark_line: "4.1.4".into(),
            started_at: "2026-11-23T00:00:00Z".into(),
            run_id: None,
            class_archive: None,
        };
        connect::write_state(home.path(), &state).unwrap();
        assert_eq!(status(home.path()).unwrap(), None);
        assert!(!connect::state_path(home.path()).exists());
    }

    #[test]
    fn a_background_servers_status_shows_where_and_since_when_but_never_its_token() {
        let state = ServerState {
            pid: 42,
            port: 15002,
            spark_line: "4.1".into(),
            started_at: "2026-11-23T00:00:00Z".into(),
            run_id: Some("sparkplane-connect-1".into()),
            class_archive: None,
        };
        let view = Running { state, answering: false }.view();
        assert_eq!(
            view.text(),
            format!(
                "running {} (pid 42, Spark 4.1, since 2026-11-23T00:00:00Z, not answering yet); session \
                 sparkplane-connect-1; the token was shown once, by `sparkplane connect`\n",
                connect::public_url(15002)
            )
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!((json["running"].as_bool(), json["runId"].as_str()), (Some(true), Some("sparkplane-connect-1")));
        assert!(!json.to_string().contains("token="), "{json}");
    }
}
