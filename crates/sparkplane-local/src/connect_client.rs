//! The Spark Connect client `sparkplane sql` speaks through (ADR 0022):
//! Spark's Python thin client (PyPI `pyspark-client`, pinned per Spark line)
//! in its own virtual environment under the sparkplane home, installed on
//! first use, and the script that runs statements with it and answers in one
//! JSON document, read here into a [`QueryResult`] or a [`QueryError`]; and
//! the result as `sql` shows it (a table, CSV, or objects for JSON/YAML).
//!
//! It must not print or place errors in the user's file (the core's
//! `sql_script` does); the connection URL, which holds the token, goes to the
//! client on stdin, never in argv.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use serde::Deserialize;
use sparkplane_category::Category;
use sparkplane_core::spark_lines;

use crate::sql_script::{SqlFailure, SqlPosition};

/// The client script, written next to the client's environment on each use.
const CLIENT_SCRIPT: &str = include_str!("connect_sql.py");

/// Written last into a client's directory: its presence means "complete".
const MARKER: &str = "client.json";

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Spark refused or failed a statement (exit 1).
    #[error("{}", .failure.message)]
    Sql {
        /// Which statement (0-based).
        statement: usize,
        /// What Spark said.
        failure: SqlFailure,
    },
    /// The server refused the token (exit 2: the URL is wrong).
    #[error("the Spark Connect server refused the token ({0}); copy the whole line `sparkplane connect` printed")]
    Unauthenticated(String),
    /// Nothing answered at the URL (exit 3).
    #[error("no Spark Connect server answers at {url}: {message}; start one with `sparkplane connect`")]
    Unreachable {
        /// The URL without its token.
        url: String,
        /// What the client said.
        message: String,
    },
    /// The client could not be installed or run, or answered nonsense (exit 3).
    #[error("{0}")]
    Client(String),
}

impl QueryError {
    /// How the error ends a command: a statement Spark refused is invalid
    /// input when it cannot parse or resolve (SQLSTATE class 42) and failed
    /// otherwise; a refused token is invalid; an unreachable server or a
    /// broken client is unreachable.
    pub fn category(&self) -> Category {
        match self {
            QueryError::Sql { failure, .. } if crate::sql_script::is_invalid_statement(failure) => Category::Invalid,
            QueryError::Sql { .. } => Category::Failed,
            QueryError::Unauthenticated(_) => Category::Invalid,
            QueryError::Unreachable { .. } | QueryError::Client(_) => Category::Unreachable,
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::Sql { .. } => "sql-failed",
            QueryError::Unauthenticated(_) => "connect-unauthenticated",
            QueryError::Unreachable { .. } => "connect-unreachable",
            QueryError::Client(_) => "connect-client",
        }
    }
}

/// A column of a result.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Spark's type, e.g. `bigint`, `array<string>`.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The last statement's rows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct QueryResult {
    /// Its columns, in order.
    pub columns: Vec<Column>,
    /// Its rows, a value per column (dates and timestamps as ISO 8601 text,
    /// decimals as text, binary as base64).
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// A value as a cell: text as it is, NULL for null, anything else as JSON.
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl QueryResult {
    /// The rows as a table with a count under it, as `sql` prints them.
    pub fn table(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let mut table = sparkplane_documents::table::Table::new(&names);
        for row in &self.rows {
            table.row(row.iter().map(cell).collect());
        }
        let rows = self.rows.len();
        format!("{}({rows} row{})\n", table.render(), if rows == 1 { "" } else { "s" })
    }

    /// The rows as CSV with a header line (`sql --csv`); null is an empty field.
    pub fn csv(&self) -> String {
        let mut out = sparkplane_documents::csv::line(self.columns.iter().map(|c| c.name.as_str()));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|v| if v.is_null() { String::new() } else { cell(v) }).collect();
            out.push_str(&sparkplane_documents::csv::line(cells.iter().map(String::as_str)));
        }
        out
    }

    /// The rows as objects keyed by column name, for `-o json|yaml`.
    pub fn objects(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.rows
            .iter()
            .map(|row| self.columns.iter().map(|c| c.name.clone()).zip(row.iter().cloned()).collect())
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDoc {
    kind: String,
    message: String,
    statement: Option<usize>,
    condition: Option<String>,
    sql_state: Option<String>,
    start_index: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Answer {
    Error { error: ErrorDoc },
    Result(QueryResult),
}

/// The pinned client release of a Spark line (its row in the line table).
/// A client of a line speaks to every server of that line; 4.1's newest
/// client on PyPI is 4.1.3 (the runtime's pyspark is 4.1.4).
pub fn client_version(line: &str) -> Option<&'static str> {
    spark_lines::row(line).and_then(|l| l.connect_client)
}

/// `<home>/clients/pyspark-client-<version>`.
pub fn client_dir(home: &Path, version: &str) -> PathBuf {
    home.join("clients").join(format!("pyspark-client-{version}"))
}

/// The client's Python for `line`, its environment created and
/// `pyspark-client` installed first when missing (`on_step` hears each step).
pub fn ensure_client(
    home: &Path,
    line: &str,
    python: &OsStr,
    on_step: &mut dyn FnMut(&str),
) -> Result<PathBuf, QueryError> {
    let version = client_version(line)
        .ok_or_else(|| QueryError::Client(format!("no Spark Connect client is pinned for Spark {line}")))?;
    let dir = client_dir(home, version);
    let venv_python = dir.join("venv/bin/python");
    if dir.join(MARKER).is_file() && venv_python.is_file() {
        return Ok(venv_python);
    }
    // One installer at a time (two `sql` commands, parallel tests); the second finds it done.
    let clients = home.join("clients");
    fs::create_dir_all(&clients)
        .map_err(|e| QueryError::Client(format!("cannot create {}: {e}", clients.display())))?;
    let lock_path = clients.join(format!(".pyspark-client-{version}.lock"));
    let lock = fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| QueryError::Client(format!("cannot lock {}: {e}", lock_path.display())))?;
    if dir.join(MARKER).is_file() && venv_python.is_file() {
        return Ok(venv_python);
    }
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| QueryError::Client(format!("cannot create {}: {e}", dir.display())))?;
    let log_path = dir.join("install.log");
    let mut log = fs::File::create(&log_path)
        .map_err(|e| QueryError::Client(format!("cannot write {}: {e}", log_path.display())))?;
    let requirement = format!("pyspark-client=={version}");
    on_step(&format!("creating the Spark Connect client's environment in {}", dir.display()));
    let venv = dir.join("venv");
    run_logged(Command::new(python).arg("-m").arg("venv").arg(&venv), &mut log).map_err(|e| {
        QueryError::Client(format!(
            "cannot create a Python environment with {}: {e}; install Python 3.10+ with venv (Debian: apt-get install python3-venv)",
            python.to_string_lossy()
        ))
    })?;
    on_step(&format!("pip install {requirement}"));
    run_logged(
        Command::new(&venv_python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            &requirement,
        ]),
        &mut log,
    )
    .map_err(|e| {
        let _ = fs::remove_dir_all(&venv);
        QueryError::Client(format!(
            "cannot install {requirement} ({e}); see {} (behind a proxy or mirror, set PIP_INDEX_URL)",
            log_path.display()
        ))
    })?;
    fs::write(dir.join(MARKER), format!("{{\"pysparkClient\": \"{version}\"}}\n"))
        .map_err(|e| QueryError::Client(format!("cannot write {}: {e}", dir.join(MARKER).display())))?;
    drop(lock);
    Ok(venv_python)
}

fn run_logged(command: &mut Command, log: &mut fs::File) -> io::Result<()> {
    let out = command.stdin(Stdio::null()).output()?;
    let _ = log.write_all(&out.stdout);
    let _ = log.write_all(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_owned();
        Err(io::Error::other(format!("{}: {last}", out.status)))
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct QueryRequest<'a> {
    /// The client's Python ([`ensure_client`]).
    pub python: &'a Path,
    /// Where the client script is written (`<home>/lib`).
    pub lib_dir: &'a Path,
    /// `sc://…;token=…`.
    pub url: &'a str,
    /// The statements, in order; the last one's rows are returned.
    pub statements: &'a [String],
    /// Also write the rows to this Parquet file (replaced atomically).
    pub parquet: Option<&'a Path>,
    /// How long the client waits for the server's port to answer.
    pub wait: Duration,
    /// Let the client release its session on the server after the answer
    /// (a server that outlives the query). Without, the answer is returned
    /// the moment it is printed and the client is stopped: its server is
    /// about to stop too.
    pub release_session: bool,
}

/// Runs the statements through the client. `keep_waiting` is asked about
/// fifty times a second while the client runs; when it returns a reason, the
/// client is killed and that reason is the error (a local server that died).
pub fn run_query(
    request: &QueryRequest<'_>,
    keep_waiting: &mut dyn FnMut() -> Option<String>,
) -> Result<QueryResult, QueryError> {
    fs::create_dir_all(request.lib_dir)
        .map_err(|e| QueryError::Client(format!("cannot create {}: {e}", request.lib_dir.display())))?;
    let script = request.lib_dir.join("connect_sql.py");
    // Written aside and renamed, so a concurrent `sql` never runs a half-written script.
    let partial = request.lib_dir.join(format!(".connect_sql.py.{}", std::process::id()));
    fs::write(&partial, CLIENT_SCRIPT)
        .and_then(|()| fs::rename(&partial, &script))
        .map_err(|e| QueryError::Client(format!("cannot write {}: {e}", script.display())))?;
    let input = serde_json::json!({
        "url": request.url,
        "statements": request.statements,
        "parquet": request.parquet.map(|p| p.display().to_string()),
        "waitSeconds": request.wait.as_secs(),
    });
    let mut child = Command::new(request.python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| QueryError::Client(format!("cannot run {}: {e}", request.python.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.to_string().as_bytes());
    }
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Answer lines are passed on as they come, so a query need not wait for the client's exit.
    let (answers, answer) = std::sync::mpsc::channel::<String>();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in stdout.map(BufReader::new).into_iter().flat_map(|r| r.lines()).map_while(Result::ok) {
            if line.starts_with('{') {
                let _ = answers.send(line.clone());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut text);
        }
        text
    });
    loop {
        match answer.recv_timeout(Duration::from_millis(20)) {
            Ok(line) if !request.release_session => {
                let _ = child.kill();
                let _ = child.wait();
                return parse_answer(&line, "", request.url);
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(20)),
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        if let Some(reason) = keep_waiting() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(QueryError::Client(reason));
        }
    }
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    parse_answer(&out, &err, request.url)
}

fn parse_answer(out: &str, err: &str, url: &str) -> Result<QueryResult, QueryError> {
    let last = out.lines().rev().find(|l| l.starts_with('{'));
    let Some(answer) = last.and_then(|l| serde_json::from_str::<Answer>(l).ok()) else {
        let why = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("it printed nothing");
        return Err(QueryError::Client(format!("the Spark Connect client gave no answer: {}", why.trim())));
    };
    match answer {
        Answer::Result(result) => Ok(result),
        Answer::Error { error } => Err(match error.kind.as_str() {
            "sql" => QueryError::Sql {
                statement: error.statement.unwrap_or(0),
                failure: SqlFailure {
                    condition: error.condition,
                    sql_state: error.sql_state,
                    message: error.message,
                    position: error.start_index.map(SqlPosition::Offset),
                },
            },
            "unauthenticated" => QueryError::Unauthenticated(error.message),
            "unreachable" => QueryError::Unreachable { url: without_token(url), message: error.message },
            _ => QueryError::Client(format!("the Spark Connect client failed: {}", error.message)),
        }),
    }
}

/// A URL with its `token=` parameter's value hidden.
pub fn without_token(url: &str) -> String {
    url.split(';').filter(|p| !p.starts_with("token=")).collect::<Vec<_>>().join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_results_or_typed_errors() {
        let ok = r#"{"columns": [{"name": "a", "type": "int"}], "rows": [[1], [null]]}"#;
        let result = parse_answer(ok, "", "sc://localhost:1/").unwrap();
        assert_eq!(result.columns[0], Column { name: "a".into(), data_type: "int".into() });
        assert_eq!(result.rows, vec![vec![serde_json::json!(1)], vec![serde_json::Value::Null]]);
        let sql = r#"{"error": {"kind": "sql", "statement": 1, "condition": "UNRESOLVED_COLUMN.WITH_SUGGESTION", "sqlState": "42703", "message": "m", "startIndex": 12}}"#;
        match parse_answer(sql, "", "sc://x:1/").unwrap_err() {
            QueryError::Sql { statement, failure } => {
                assert_eq!(statement, 1);
                assert_eq!(failure.position, Some(SqlPosition::Offset(12)));
                assert_eq!(failure.sql_state.as_deref(), Some("42703"));
            }
            other => panic!("{other:?}"),
        }
        let auth = r#"{"error": {"kind": "unauthenticated", "message": "Invalid authentication token"}}"#;
        let err = parse_answer(auth, "", "sc://localhost:1/;token=abc").unwrap_err();
        assert_eq!((err.code(), err.category()), ("connect-unauthenticated", Category::Invalid));
        let down = r#"{"error": {"kind": "unreachable", "message": "nothing answers"}}"#;
        let err = parse_answer(down, "", "sc://localhost:1/;token=abc").unwrap_err();
        assert!(!err.to_string().contains("abc"), "{err}");
        let err = parse_answer("", "Traceback\nModuleNotFoundError: No module named 'pyspark'\n", "u").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the Spark Connect client gave no answer: ModuleNotFoundError: No module named 'pyspark'"
        );
    }

    #[test]
    fn the_token_is_cut_from_urls_in_messages() {
        assert_eq!(without_token("sc://localhost:15002/;token=abc;user_id=u"), "sc://localhost:15002/;user_id=u");
        assert_eq!(without_token("sc://localhost:15002/"), "sc://localhost:15002/");
    }

    #[test]
    fn rows_print_as_a_table_csv_and_objects() {
        let result = QueryResult {
            columns: vec![
                Column { name: "id".into(), data_type: "bigint".into() },
                Column { name: "note".into(), data_type: "string".into() },
            ],
            rows: vec![
                vec![serde_json::json!(1), serde_json::json!("a, \"b\"")],
                vec![serde_json::json!(2), serde_json::Value::Null],
            ],
        };
        assert_eq!(result.table(), "id  note\n1   a, \"b\"\n2   NULL\n(2 rows)\n");
        assert_eq!(result.csv(), "id,note\n1,\"a, \"\"b\"\"\"\n2,\n");
        assert_eq!(
            serde_json::to_string(&result.objects()).unwrap(),
            r#"[{"id":1,"note":"a, \"b\""},{"id":2,"note":null}]"#
        );
    }
}
