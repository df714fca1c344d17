//! `sparkplane sql`: Spark SQL through Spark Connect.
//!
//! Thin: this module reads the SQL (an argument or `--file`), hands it to
//! `sparkplane_local::sql_run` (which checks it, runs it on the `--connect`
//! server or a local one started for it, and says how a failure ends), and
//! prints the last statement's rows (table, `-o json|yaml`, `--csv`;
//! `--parquet FILE` as well). A failed statement is shown at the file's line
//! and column: exit 2 for a statement Spark cannot parse or resolve (SQLSTATE
//! class 42, like any invalid input), 1 for one that failed while running; an
//! unreachable server is 3.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sparkplane_documents::{Diagnostic, Source};
use sparkplane_local::connect_client::QueryResult;
use sparkplane_local::sql_run::{LocalConnect, SqlRequest, run_sql};

use super::progress::InstallObserver;
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
    let mut out = sparkplane_documents::csv::line(result.columns.iter().map(|c| c.name.as_str()));
    for row in &result.rows {
        let cells: Vec<String> = row.iter().map(|v| if v.is_null() { String::new() } else { cell(v) }).collect();
        out.push_str(&sparkplane_documents::csv::line(cells.iter().map(String::as_str)));
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

/// Runs `sql`.
pub fn run(args: &SqlSettings, printer: &Printer) -> CommandResult {
    let source = read_sql(args)?;
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = Arc::clone(&cancel);
        let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
    }
    let mut observer = InstallObserver::new(printer);
    let mut status = |line: &str| printer.status(line);
    let mut host = LocalConnect { observer: &mut observer, status: &mut status, cancel: &cancel };
    let request = SqlRequest {
        source: &source,
        connect: args.connect.as_deref(),
        spark: &args.spark,
        parquet: args.parquet.as_deref(),
    };
    let result = run_sql(&request, &mut host).map_err(|e| Failure::of(e.category, e.diagnostic.into()))?;
    if args.csv {
        printer.raw(&csv(&result));
    } else {
        printer.result(&objects(&result), || table(&result));
    }
    Ok(())
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
