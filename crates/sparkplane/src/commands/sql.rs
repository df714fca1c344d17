//! `sparkplane sql`: Spark SQL through Spark Connect.
//!
//! Thin: this module reads the SQL (an argument or `--file`), has the core
//! split it into statements, starts a local server through
//! `sparkplane_local::connect_server` when no `--connect` URL is given, runs
//! the statements with `sparkplane_local::connect_client`, and prints the last
//! statement's rows (table, `-o json|yaml`, `--csv`; `--parquet FILE` as
//! well). A failed statement is reported at the file's line and column by the
//! local crate's `sql_script`: exit 2 for a statement Spark cannot parse or resolve
//! (SQLSTATE class 42, like any invalid input), 1 for one that failed while
//! running; an unreachable server is 3.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sparkplane_core::{Diagnostic, Source};
use sparkplane_local::connect;
use sparkplane_local::sql_script::{self, Statement};
use sparkplane_local::connect_client::{self, QueryError, QueryRequest, QueryResult};
use sparkplane_local::connect_server::{self, START_TIMEOUT};
use sparkplane_local::runtime::{self, Category};

use super::connect::{failure, settings};
use super::runtime::InstallObserver;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// What `sql` was asked, in plain terms.
#[derive(Clone, Debug, Default)]
pub struct SqlSettings {
    /// The SQL given on the command line.
    pub query: Option<String>,
    /// A file holding the SQL.
    pub file: Option<PathBuf>,
    /// A running server's `sc://` line (with its token).
    pub connect: Option<String>,
    /// The Spark line of a server started for the query.
    pub spark: String,
    /// Rows as CSV.
    pub csv: bool,
    /// Also write the rows to this Parquet file.
    pub parquet: Option<PathBuf>,
}

fn invalid(code: &'static str, message: String, help: &str) -> Failure {
    Failure::Invalid(Diagnostic::error(code, "", message).with_help(help.to_owned()).into())
}

/// The SQL to run, as a named source.
fn read_sql(args: &SqlSettings) -> Result<Source, Failure> {
    match (&args.query, &args.file) {
        (Some(query), None) => Ok(Source::new("<query>", query.as_str())),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|e| Failure::unreadable(file, &e))?;
            Ok(Source::new(file.display().to_string(), text))
        }
        _ => Err(invalid(
            "sql-input",
            "give the SQL either as an argument or with --file, not both".into(),
            "sparkplane sql \"SELECT …\" or sparkplane sql --file query.sql",
        )),
    }
}

fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "NULL".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(result: &QueryResult) -> String {
    let names: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    let mut table = super::Table::new(&names);
    for row in &result.rows {
        table.row(row.iter().map(cell).collect());
    }
    let rows = result.rows.len();
    format!("{}({rows} row{})\n", table.render(), if rows == 1 { "" } else { "s" })
}

fn csv(result: &QueryResult) -> String {
    let mut out = sparkplane_core::csv::line(result.columns.iter().map(|c| c.name.as_str()));
    for row in &result.rows {
        let cells: Vec<String> = row.iter().map(|v| if v.is_null() { String::new() } else { cell(v) }).collect();
        out.push_str(&sparkplane_core::csv::line(cells.iter().map(String::as_str)));
    }
    out
}

/// Rows as objects keyed by column name, for `-o json|yaml`.
fn objects(result: &QueryResult) -> Vec<serde_json::Map<String, serde_json::Value>> {
    result
        .rows
        .iter()
        .map(|row| result.columns.iter().map(|c| c.name.clone()).zip(row.iter().cloned()).collect())
        .collect()
}

fn query_failure(err: QueryError, source: &Source, statements: &[Statement]) -> Failure {
    match err {
        QueryError::Sql { statement, failure } => {
            let fallback = Statement { text: source.text.to_string(), start: 0 };
            let statement = statements.get(statement).unwrap_or(&fallback);
            let diagnostic = sql_script::failure_diagnostic(source, statement, &failure).into();
            if sql_script::is_invalid_statement(&failure) {
                Failure::Invalid(diagnostic)
            } else {
                Failure::Failed(diagnostic)
            }
        }
        other => {
            let diagnostic = Diagnostic::error(other.code(), "", other.to_string());
            match other.category() {
                Some(Category::Usage) => Failure::Invalid(diagnostic.into()),
                _ => Failure::Infrastructure(diagnostic.into()),
            }
        }
    }
}

/// Runs `sql`.
pub fn run(args: &SqlSettings, printer: &Printer) -> CommandResult {
    let source = read_sql(args)?;
    let statements = sql_script::split_statements(&source.text);
    if statements.is_empty() {
        return Err(invalid(
            "sql-empty",
            format!("{} holds no SQL statement", source.name),
            "write a statement such as SELECT 1; statements end with `;` at the end of a line",
        ));
    }
    if let Some(url) = &args.connect
        && !url.starts_with("sc://")
    {
        return Err(invalid(
            "connect-url",
            format!("--connect takes a Spark Connect URL, not `{}`", connect_client::without_token(url)),
            "copy the line `sparkplane connect` printed: sc://localhost:PORT/;token=…",
        ));
    }
    // A URL copied from documentation (`token=…`) would reach the gRPC client, which never answers on it.
    if let Some(url) = &args.connect
        && !url.is_ascii()
    {
        return Err(invalid(
            "connect-url",
            format!(
                "--connect `{}` holds a character that is not ASCII (a `…` copied from an example?)",
                connect_client::without_token(url)
            ),
            "copy the whole line `sparkplane connect` printed: sc://localhost:PORT/;token= and 64 hex digits",
        ));
    }
    if let Some(parquet) = &args.parquet {
        let parent = parquet.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(Failure::File {
                path: parquet.clone(),
                error: format!("its directory {} does not exist", parent.display()),
                help: "create the directory first, or write the file elsewhere".into(),
            });
        }
    }
    let line = runtime::line_of(&args.spark).map_err(|e| failure(&e.into()))?;
    connect::check_line(line).map_err(|e| failure(&e.into()))?;
    let texts: Vec<String> = statements.iter().map(|s| s.text.clone()).collect();
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
    }

    // A server started for this query stops after the rows are printed (or the error reported), by
    // `stop` or, on an early return, by its Drop.
    let mut local = None;
    let result = match &args.connect {
        Some(url) => {
            let home = runtime::default_home().map_err(|e| failure(&e.into()))?;
            let python = client(&home, line, printer)?;
            let request = QueryRequest {
                python: &python,
                lib_dir: &home.join("lib"),
                url,
                statements: &texts,
                parquet: args.parquet.as_deref(),
                wait: std::time::Duration::ZERO,
                release_session: true,
            };
            connect_client::run_query(&request, &mut || cancelled(&cancel))
        }
        None => {
            // A local server on a free port, for this query only.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| {
                    Failure::Infrastructure(Diagnostic::error("no-port", "", format!("no free local port: {e}")).into())
                })?;
            let mut settings = settings(&args.spark, port, None)?;
            settings.one_query = true;
            let prepared =
                connect_server::prepare(&settings, &mut InstallObserver::new(printer)).map_err(|e| failure(&e))?;
            let python = client(&settings.home, line, printer)?;
            let mut server = connect_server::start(&settings, &prepared).map_err(|e| failure(&e))?;
            printer.status(&format!(
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
                statements: &texts,
                parquet: args.parquet.as_deref(),
                wait: START_TIMEOUT,
                // The server stops right after the rows are printed; its session goes with it.
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
                cancelled(&cancel)
            });
            local = Some(server);
            result
        }
    };
    let result = result.map_err(|e| query_failure(e, &source, &statements))?;
    if args.csv {
        printer.raw(&csv(&result));
    } else {
        printer.result(&objects(&result), || table(&result));
    }
    if let Some(server) = local {
        server.stop();
    }
    Ok(())
}

fn cancelled(cancel: &AtomicBool) -> Option<String> {
    cancel.load(Ordering::SeqCst).then(|| "cancelled (Ctrl-C)".to_owned())
}

/// The client's Python, installed first when missing.
fn client(home: &Path, line: &str, printer: &Printer) -> Result<std::path::PathBuf, Failure> {
    connect_client::ensure_client(home, line, &runtime::default_python(), &mut |step| printer.status(step))
        .map_err(|e| Failure::Infrastructure(Diagnostic::error(e.code(), "", e.to_string()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_local::connect_client::Column;

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
        assert_eq!(table(&result), "id  note\n1   a, \"b\"\n2   NULL\n(2 rows)\n");
        assert_eq!(csv(&result), "id,note\n1,\"a, \"\"b\"\"\"\n2,\n");
        assert_eq!(
            serde_json::to_string(&objects(&result)).unwrap(),
            r#"[{"id":1,"note":"a, \"b\""},{"id":2,"note":null}]"#
        );
    }
}
