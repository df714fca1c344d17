//! `sparkplane sql`'s workflow: a script's statements run through Spark
//! Connect, on a server the user names (`--connect`) or on a local server
//! started for this query and stopped after it.
//!
//! Owns: what is refused before any server is asked (an empty script, a URL
//! that is not `sc://…` or holds a character copied from an example, a
//! Parquet file's missing folder, a Spark line without Connect), which server
//! answers, and how each failure ends the command — a statement at the
//! script's own line and column (invalid for SQLSTATE class 42, failed
//! otherwise), the server's or client's failures by their category. The
//! servers and the client are behind [`SqlHost`]; [`LocalConnect`] is the real
//! one. Must not: print, read the script (the caller passes its `Source`), or
//! show a token (URLs in messages go through `connect_client::without_token`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sparkplane_category::Category;
use sparkplane_documents::{Diagnostic, Source};

use crate::connect;
use crate::connect_client::{self, QueryError, QueryRequest, QueryResult};
use crate::connect_server::{self, ConnectServerError, ConnectSettings, START_TIMEOUT};
use crate::history::RunRecord;
use crate::runtime;
use crate::sql_script::{self, Statement};
use crate::workflow::LocalRunObserver;

/// What `sql` was asked, in plain terms.
#[derive(Clone, Copy, Debug)]
pub struct SqlRequest<'a> {
    /// The script (an argument or a file's text).
    pub source: &'a Source,
    /// A running server's `sc://` line (with its token); None starts a local one.
    pub connect: Option<&'a str>,
    /// The Spark line (or version) of the client and of a server started for the query.
    pub spark: &'a str,
    /// Also write the last statement's rows to this Parquet file.
    pub parquet: Option<&'a Path>,
}

/// Why `sql` stopped, and how the command ends.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlError {
    /// Failed (a statement failed running), invalid input, or unreachable.
    pub category: Category,
    /// What to show, with the script's line and column where there is one.
    pub diagnostic: Diagnostic,
}

impl SqlError {
    fn invalid(code: &'static str, message: String, help: &str) -> SqlError {
        SqlError { category: Category::Invalid, diagnostic: Diagnostic::error(code, "", message).with_help(help) }
    }
}

/// What a host's server or client reports.
#[derive(Debug)]
pub enum HostFailure {
    /// The query through the client.
    Query(QueryError),
    /// Preparing, starting or reaching a local server.
    Server(ConnectServerError),
}

impl From<QueryError> for HostFailure {
    fn from(e: QueryError) -> Self {
        HostFailure::Query(e)
    }
}

impl From<ConnectServerError> for HostFailure {
    fn from(e: ConnectServerError) -> Self {
        HostFailure::Server(e)
    }
}

/// The statements of one `sql` run, as the host runs them.
#[derive(Clone, Copy, Debug)]
pub struct Statements<'a> {
    /// The Spark line, e.g. `4.1` (checked to have Connect).
    pub line: &'a str,
    /// The statements' texts, in order; the last one's rows are returned.
    pub texts: &'a [String],
    /// Also write the rows to this Parquet file.
    pub parquet: Option<&'a Path>,
}

/// The servers and the client `sql` talks to.
pub trait SqlHost {
    /// Runs the statements on the server at `url`.
    fn query_at(&mut self, url: &str, statements: Statements<'_>) -> Result<QueryResult, HostFailure>;
    /// Starts a local server for these statements only, runs them on it and
    /// stops it (also when they fail).
    fn query_on_a_new_local_server(
        &mut self,
        spark: &str,
        statements: Statements<'_>,
    ) -> Result<QueryResult, HostFailure>;
}

/// Runs `sql`: the input checked, the statements run where the request
/// says, the last statement's rows returned.
pub fn run_sql(request: &SqlRequest<'_>, host: &mut dyn SqlHost) -> Result<QueryResult, SqlError> {
    let source = request.source;
    let statements = sql_script::split_statements(&source.text);
    if statements.is_empty() {
        return Err(SqlError::invalid(
            "sql-empty",
            format!("{} holds no SQL statement", source.name),
            "write a statement such as SELECT 1; statements end with `;` at the end of a line",
        ));
    }
    if let Some(url) = request.connect {
        check_url(url)?;
    }
    if let Some(parquet) = request.parquet {
        check_parquet_folder(parquet)?;
    }
    let line = runtime::line_of(request.spark).map_err(|e| by_category(e.category(), e.code(), e.to_string()))?;
    connect::check_line(line).map_err(|e| by_category(e.category(), e.code(), e.to_string()))?;
    let texts: Vec<String> = statements.iter().map(|s| s.text.clone()).collect();
    let run = Statements { line, texts: &texts, parquet: request.parquet };
    let result = match request.connect {
        Some(url) => host.query_at(url, run),
        None => host.query_on_a_new_local_server(request.spark, run),
    };
    result.map_err(|failure| query_failure(failure, source, &statements))
}

/// A `--connect` URL Spark Connect's client can use: `sc://…`, ASCII only (a
/// `…` copied from documentation would reach the gRPC client, which never
/// answers on it). Messages never show the token.
fn check_url(url: &str) -> Result<(), SqlError> {
    if !url.starts_with("sc://") {
        return Err(SqlError::invalid(
            "connect-url",
            format!("--connect takes a Spark Connect URL, not `{}`", connect_client::without_token(url)),
            "copy the line `sparkplane connect` printed: sc://localhost:PORT/;token=…",
        ));
    }
    if !url.is_ascii() {
        return Err(SqlError::invalid(
            "connect-url",
            format!(
                "--connect `{}` holds a character that is not ASCII (a `…` copied from an example?)",
                connect_client::without_token(url)
            ),
            "copy the whole line `sparkplane connect` printed: sc://localhost:PORT/;token= and 64 hex digits",
        ));
    }
    Ok(())
}

/// `--parquet FILE`'s folder must exist before any Spark starts.
fn check_parquet_folder(parquet: &Path) -> Result<(), SqlError> {
    let parent = parquet.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if parent.is_dir() {
        return Ok(());
    }
    Err(SqlError {
        category: Category::Invalid,
        diagnostic: Diagnostic::error(
            "file",
            "--parquet",
            format!("cannot write {}: its directory {} does not exist", parquet.display(), parent.display()),
        )
        .with_help("create the directory first, or write the file elsewhere"),
    })
}

fn by_category(category: Category, code: &'static str, message: String) -> SqlError {
    SqlError { category, diagnostic: Diagnostic::error(code, "", message) }
}

/// How a host's failure ends the command: a statement at the script's line
/// and column (invalid for SQLSTATE class 42, which no rerun mends; failed
/// otherwise), anything else by its own category.
fn query_failure(failure: HostFailure, source: &Source, statements: &[Statement]) -> SqlError {
    match failure {
        HostFailure::Query(QueryError::Sql { statement, failure }) => {
            let fallback = Statement { text: source.text.to_string(), start: 0 };
            let statement = statements.get(statement).unwrap_or(&fallback);
            let diagnostic = sql_script::failure_diagnostic(source, statement, &failure);
            let category =
                if sql_script::is_invalid_statement(&failure) { Category::Invalid } else { Category::Failed };
            SqlError { category, diagnostic }
        }
        HostFailure::Query(other) => by_category(other.category(), other.code(), other.to_string()),
        HostFailure::Server(e) => by_category(e.category(), e.code(), e.to_string()),
    }
}

/// Runs `statements` on the server at `url` with the client of Spark `line`
/// (installed first when missing; `on_step` hears its steps), in a session
/// of their own that is released after them. `cancel` stops the wait.
pub fn query_at(
    url: &str,
    line: &str,
    statements: &[String],
    parquet: Option<&Path>,
    on_step: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Result<QueryResult, HostFailure> {
    let home = runtime::default_home().map_err(ConnectServerError::from)?;
    let python = connect_client::ensure_client(&home, line, &runtime::default_python(), on_step)?;
    let request = QueryRequest {
        python: &python,
        lib_dir: &home.join("lib"),
        url,
        statements,
        parquet,
        wait: std::time::Duration::ZERO,
        release_session: true,
    };
    Ok(connect_client::run_query(&request, &mut || cancelled(cancel))?)
}

/// Runs `statements` on a local server of Spark `spark` started for them
/// alone and stopped right after (also when they fail): the one way `sql` and
/// the data-quality engine's batches do it. `reads` is how many bytes they
/// will read when the caller knows (it decides the server's JIT tiers,
/// [`ConnectSettings::quick_jit`]). `observer` hears a runtime being
/// installed, `on_status` the client's install steps and the server's start;
/// `cancel` stops the wait. The rows, and the session's record (with its
/// event log).
pub fn query_on_a_new_server(
    spark: &str,
    statements: &[String],
    parquet: Option<&Path>,
    reads: Option<u64>,
    observer: &mut dyn LocalRunObserver,
    on_status: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Result<(QueryResult, RunRecord), HostFailure> {
    let port = connect_server::free_port()?;
    let mut settings = ConnectSettings::from_environment(spark, port)?;
    settings.one_query = true;
    settings.reads = reads;
    let prepared = connect_server::prepare(&settings, observer)?;
    let python = connect_client::ensure_client(&settings.home, &prepared.line, &runtime::default_python(), on_status)?;
    // Dropped on every early return below, which stops the server.
    let mut server = connect_server::start(&settings, &prepared)?;
    on_status(&format!(
        "started a local Spark Connect server (Spark {}) for this query; session {}",
        prepared.version,
        server.run_id()
    ));
    let url = server.url();
    let lib_dir = settings.home.join("lib");
    let request = QueryRequest {
        python: &python,
        lib_dir: &lib_dir,
        url: &url,
        statements,
        parquet,
        wait: START_TIMEOUT,
        // The server stops right after the query; its session goes with it.
        release_session: false,
    };
    // The client starts while the JVM does and waits for the port; a server that dies ends the wait.
    let log = server.log().to_owned();
    let result = connect_client::run_query(&request, &mut || {
        if let Some(exit) = server.ended() {
            return Some(format!(
                "the local Spark Connect server stopped before answering (exit {exit:?}); see {}",
                log.display()
            ));
        }
        cancelled(cancel)
    });
    let record = server.stop();
    Ok((result?, record))
}

fn cancelled(cancel: &AtomicBool) -> Option<String> {
    cancel.load(Ordering::SeqCst).then(|| "cancelled (Ctrl-C)".to_owned())
}

/// The real host: the Connect client in the runtime's Python, and a local
/// server under SPARKPLANE_HOME.
pub struct LocalConnect<'a> {
    /// Shows a runtime's install, when the server's is missing.
    pub observer: &'a mut dyn LocalRunObserver,
    /// A line of progress for the user (stderr).
    pub status: &'a mut dyn FnMut(&str),
    /// Set by Ctrl-C.
    pub cancel: &'a AtomicBool,
}

impl SqlHost for LocalConnect<'_> {
    fn query_at(&mut self, url: &str, statements: Statements<'_>) -> Result<QueryResult, HostFailure> {
        query_at(url, statements.line, statements.texts, statements.parquet, self.status, self.cancel)
    }

    fn query_on_a_new_local_server(
        &mut self,
        spark: &str,
        statements: Statements<'_>,
    ) -> Result<QueryResult, HostFailure> {
        let (texts, parquet) = (statements.texts, statements.parquet);
        // What a statement reads is not known before Spark plans it.
        query_on_a_new_server(spark, texts, parquet, None, self.observer, self.status, self.cancel)
            .map(|(rows, _)| rows)
    }
}

#[cfg(test)]
#[path = "sql_run_tests.rs"]
mod tests;
