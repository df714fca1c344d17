//! One batch of statements on Spark for a library caller (the data-quality
//! spark engine): through Spark Connect against a URL the caller names, or on
//! a local server started for this batch alone and stopped after it (the same
//! client, server and timeouts `sparkplane sql` uses); or, for Spark lines
//! without a Connect server (3.5), as a local Spark application of the
//! managed runtime. The caller may read the local run's event log afterwards.
//! Nothing printed.
//!
//! Owns: that sequence. Must not: print, or show the session token (the URL
//! goes to the client on stdin; messages carry it without the token).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use sparkplane_category::Category;

use crate::connect_client::{self, QueryError, QueryResult};
use crate::connect_server::{ConnectServerError, ConnectSettings};
use crate::runtime;
use crate::sql_run::HostFailure;
use crate::workflow::LocalRunObserver;

/// Where the statements run.
#[derive(Clone, Debug)]
pub enum Endpoint {
    /// A running server's `sc://host:port/;token=…` URL.
    Url(String),
    /// A local server of this Spark line, started for the batch.
    Local {
        /// The Spark line (`4.1`).
        spark: String,
    },
    /// A local Spark application of this line (classic pyspark, `local[2]`),
    /// for lines without a Spark Connect server (3.5).
    Application {
        /// The Spark line (`3.5`).
        spark: String,
    },
}

impl Endpoint {
    /// A local server for lines that ship Spark Connect (4.x), else a local application.
    pub fn local(spark: &str) -> Endpoint {
        let line = runtime::line_of(spark).unwrap_or("4.1");
        match crate::connect::check_line(line) {
            Ok(()) => Endpoint::Local { spark: spark.to_owned() },
            Err(_) => Endpoint::Application { spark: spark.to_owned() },
        }
    }
}

impl Endpoint {
    /// What a caller may tell the user before a batch here starts a local
    /// Spark (nothing for a URL's server, which is already running).
    pub fn starting(&self, what: &str) -> Option<String> {
        match self {
            Endpoint::Local { spark } => {
                Some(format!("starting a local Spark Connect server (Spark {spark}) for {what}"))
            }
            Endpoint::Application { spark } => Some(format!("running {what} as a local Spark {spark} application")),
            Endpoint::Url(_) => None,
        }
    }
}

/// Batches on one endpoint, one session each, keeping every local run's
/// event log so the caller can read what Spark did.
pub struct Session {
    endpoint: Endpoint,
    event_logs: Vec<PathBuf>,
    properties: BTreeMap<String, String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The properties may hold a secret key: only their names are shown.
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .field("event_logs", &self.event_logs)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Session {
    /// No batch run yet.
    pub fn new(endpoint: Endpoint) -> Session {
        Session { endpoint, event_logs: Vec::new(), properties: BTreeMap::new() }
    }

    /// Spark properties a local application's batches start with (S3A's
    /// endpoint and keys, `s3a::S3aEndpoint::spark_properties`): written to a
    /// spark-submit properties file readable by its owner only and removed
    /// after the batch, never put on a command line. The other endpoints
    /// ignore them (a URL's server has its own settings).
    pub fn with_properties(mut self, properties: BTreeMap<String, String>) -> Session {
        self.properties = properties;
        self
    }

    /// Where the batches run.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs one batch (see [`run_batch`]); the last statement's rows.
    pub fn run(
        &mut self,
        statements: &[String],
        reads: Option<u64>,
        observer: &mut dyn LocalRunObserver,
        cancel: &AtomicBool,
    ) -> Result<Vec<Vec<serde_json::Value>>, SessionError> {
        let batch = match &self.endpoint {
            Endpoint::Application { spark } => run_application(spark, statements, &self.properties, observer)?,
            endpoint => run_batch(endpoint, statements, reads, observer, cancel)?,
        };
        self.event_logs.extend(batch.event_log);
        Ok(batch.result.rows)
    }

    /// The local runs' event logs in run order, each its lines; `None` when
    /// there is none (a URL's server) or one cannot be read.
    pub fn event_logs(&self) -> Option<Vec<Vec<String>>> {
        if self.event_logs.is_empty() {
            return None;
        }
        self.event_logs.iter().map(|log| event_log_lines(log).ok()).collect()
    }
}

/// Why the batch did not run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The local server could not be prepared or started.
    #[error(transparent)]
    Server(#[from] ConnectServerError),
    /// The client failed, or Spark refused a statement.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// No free port or no sparkplane home.
    #[error("{0}")]
    Environment(String),
}

impl SessionError {
    /// `Invalid` for what the caller asked wrong, `Unreachable` for an
    /// unreachable or broken Spark; a statement Spark refused as the query
    /// error says (`QueryError::category`).
    pub fn category(&self) -> Category {
        match self {
            SessionError::Server(e) => e.category(),
            SessionError::Query(e) => e.category(),
            SessionError::Environment(_) => Category::Unreachable,
        }
    }
}

impl From<HostFailure> for SessionError {
    fn from(failure: HostFailure) -> Self {
        match failure {
            HostFailure::Query(e) => SessionError::Query(e),
            HostFailure::Server(e) => SessionError::Server(e),
        }
    }
}

/// The rows of the last statement, and the event log of the local server
/// that ran them (none for a URL's server, whose log is usually elsewhere).
#[derive(Debug)]
pub struct BatchResult {
    /// The last statement's rows.
    pub result: QueryResult,
    /// The local server's event log, once it stopped.
    pub event_log: Option<PathBuf>,
}

/// Runs `statements` in one session at `endpoint`; `reads`, the bytes they
/// will read when the caller knows, sizes a local server's JIT
/// (`sql_run::query_on_a_new_server`). `observer` hears a runtime or client
/// being installed; `cancel` stops the wait.
pub fn run_batch(
    endpoint: &Endpoint,
    statements: &[String],
    reads: Option<u64>,
    observer: &mut dyn LocalRunObserver,
    cancel: &AtomicBool,
) -> Result<BatchResult, SessionError> {
    match endpoint {
        Endpoint::Url(url) => {
            // A server at a URL is most often one `sparkplane connect` started: its default line.
            let line = crate::connect::DEFAULT_LINE;
            let result = crate::sql_run::query_at(url, line, statements, None, &mut |_| {}, cancel)?;
            Ok(BatchResult { result, event_log: None })
        }
        Endpoint::Local { spark } => {
            let (result, record) =
                crate::sql_run::query_on_a_new_server(spark, statements, None, reads, observer, &mut |_| {}, cancel)?;
            let event_log = record.event_log.map(PathBuf::from).filter(|p| p.exists());
            Ok(BatchResult { result, event_log })
        }
        Endpoint::Application { spark } => run_application(spark, statements, &BTreeMap::new(), observer),
    }
}

/// The application's script, written under `<home>/lib` on each use.
const APP_SCRIPT: &str = include_str!("sql_app.py");

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum AppAnswer {
    Error {
        error: AppError,
    },
    Rows {
        columns: Vec<connect_client::Column>,
        rows: Vec<Vec<serde_json::Value>>,
        #[serde(rename = "appId")]
        app_id: String,
    },
}

#[derive(serde::Deserialize)]
struct AppError {
    kind: String,
    message: String,
}

/// Runs the statements as a local Spark application of the managed runtime
/// (installed first when missing), its event log in `<home>/history`, with
/// `properties` from a private properties file (none when empty).
fn run_application(
    spark: &str,
    statements: &[String],
    properties: &BTreeMap<String, String>,
    observer: &mut dyn LocalRunObserver,
) -> Result<BatchResult, SessionError> {
    let env = |e: &dyn std::fmt::Display| SessionError::Environment(e.to_string());
    let settings = ConnectSettings::from_environment(spark, 0)?;
    let line = runtime::line_of(spark).map_err(|e| env(&e))?;
    let java =
        crate::java::check_java(line, settings.java_home.as_deref(), settings.path.as_deref()).map_err(|e| env(&e))?;
    if let Some(warning) = &java.warning {
        observer.event(crate::workflow::LocalRunEvent::Warning(warning));
    }
    let located = match runtime::locate(&settings.home, line, None) {
        Ok(located) => located,
        Err(runtime::RuntimeError::NotInstalled { .. }) => {
            crate::workflow::install_runtime(&settings.home, line, &settings.python, observer).map_err(|e| env(&e))?;
            runtime::locate(&settings.home, line, None).map_err(|e| env(&e))?
        }
        Err(e) => return Err(env(&e)),
    };
    let python = located.python.clone().ok_or_else(|| env(&"the managed runtime has no Python"))?;
    // The driver maps the runtime's class-data archive (or writes it at exit, the first time):
    // a third off a short application's start (ADR 0022, "Cold start").
    let jvm = crate::connect_launch::plan_for_application(&settings.home, line, &located, &java, properties);
    let properties = match &jvm {
        Some(jvm) => jvm.with_archive_options(properties),
        None => properties.clone(),
    };
    let lib = settings.home.join("lib");
    let history = settings.home.join("history");
    std::fs::create_dir_all(&lib).and_then(|()| std::fs::create_dir_all(&history)).map_err(|e| env(&e))?;
    let script = lib.join("sql_app.py");
    let partial = lib.join(format!(".sql_app.py.{}", std::process::id()));
    std::fs::write(&partial, APP_SCRIPT).and_then(|()| std::fs::rename(&partial, &script)).map_err(|e| env(&e))?;
    let request = serde_json::json!({
        "statements": statements,
        "master": "local[2]",
        "appName": "sparkplane-dq",
        "eventLogDir": format!("file:{}", history.display()),
    });
    let mut command = std::process::Command::new(&python);
    command.arg(&script).env("SPARK_HOME", &located.spark_home).env("PYSPARK_PYTHON", &python);
    if let Some(java_home) = java.java.parent().and_then(Path::parent) {
        command.env("JAVA_HOME", java_home);
    }
    let properties_file =
        (!properties.is_empty()).then(|| lib.join(format!(".sql_app.{}.properties", std::process::id())));
    if let Some(path) = &properties_file {
        crate::metastore::write_properties_file(path, &properties)
            .map_err(|e| env(&format!("{}: {e}", path.display())))?;
        // pyspark starts spark-submit with these arguments: the values stay in the file.
        command.env("PYSPARK_SUBMIT_ARGS", format!("--properties-file {} pyspark-shell", path.display()));
    }
    let output = application_output(command, &request);
    if let Some(path) = &properties_file {
        let _ = std::fs::remove_file(path);
    }
    // The driver JVM has exited once its output has closed: its archive is whole or absent.
    if let Some(pending) = jvm.as_ref().and_then(|j| j.pending()) {
        crate::connect_launch::finish(pending);
    }
    let out = output?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer =
        stdout.lines().rev().find(|l| l.starts_with('{')).and_then(|l| serde_json::from_str::<AppAnswer>(l).ok());
    match answer {
        Some(AppAnswer::Rows { columns, rows, app_id }) => {
            let event_log = sparkplane_eventlog::read::find_app_log(&history, &app_id);
            Ok(BatchResult { result: QueryResult { columns, rows }, event_log })
        }
        Some(AppAnswer::Error { error }) if error.kind == "sql" => Err(SessionError::Query(QueryError::Sql {
            statement: statements.len().saturating_sub(1),
            failure: crate::sql_script::SqlFailure {
                condition: None,
                sql_state: None,
                message: error.message,
                position: None,
            },
        })),
        Some(AppAnswer::Error { error }) => Err(env(&format!("the local Spark application failed: {}", error.message))),
        None => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("it printed nothing");
            Err(env(&format!("the local Spark application gave no answer ({}): {}", out.status, last.trim())))
        }
    }
}

/// Runs the application's Python with `request` on its stdin; what it wrote.
fn application_output(
    mut command: std::process::Command,
    request: &serde_json::Value,
) -> Result<std::process::Output, SessionError> {
    let program = Path::new(command.get_program()).display().to_string();
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| SessionError::Environment(format!("cannot run {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        let _ = stdin.write_all(request.to_string().as_bytes());
    }
    child.wait_with_output().map_err(|e| SessionError::Environment(e.to_string()))
}

/// Every line of an event log (a file or a rolling directory, any codec the
/// reader knows), for counting what the application did.
pub fn event_log_lines(path: &Path) -> Result<Vec<String>, String> {
    let log = sparkplane_eventlog::read::EventLog::open(path).map_err(|e| e.to_string())?;
    let mut lines = log.lines().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(line) = lines.next_line() {
        out.push(line.text.to_owned());
    }
    Ok(out)
}
