//! `sparkplane sql`: Spark SQL through Spark Connect.
//!
//! Thin: this module reads the SQL (an argument or `--file`), hands it to
//! `sparkplane_local::sql_run` (which checks it, runs it on the `--connect`
//! server or a local one started for it, and says how a failure ends), and
//! prints the last statement's rows (table, `-o json|yaml`, `--csv`;
//! `--parquet FILE` as well; the views are `connect_client::QueryResult`'s).
//! A failed statement is shown at the file's line and column: exit 2 for a
//! statement Spark cannot parse or resolve (SQLSTATE class 42, like any
//! invalid input), 1 for one that failed while running; an unreachable
//! server is 3.

use std::path::PathBuf;

use sparkplane_documents::Source;
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

/// The SQL to run, as a named source.
fn read_sql(args: &SqlSettings) -> Result<Source, Failure> {
    match (&args.query, &args.file) {
        (Some(query), None) => Ok(Source::new("<query>", query.as_str())),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|e| Failure::unreadable(file, &e))?;
            Ok(Source::new(file.display().to_string(), text))
        }
        _ => Err(Failure::invalid(
            "sql-input",
            "",
            "give the SQL either as an argument or with --file, not both",
            "sparkplane sql \"SELECT …\" or sparkplane sql --file query.sql",
        )),
    }
}

/// Runs `sql`.
pub fn run(args: &SqlSettings, printer: &Printer) -> CommandResult {
    let source = read_sql(args)?;
    let cancel = crate::interrupt::stop_flag(printer, "the query runs to its end");
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
        printer.raw(&result.csv());
    } else {
        printer.result(&result.objects(), || result.table());
    }
    Ok(())
}
