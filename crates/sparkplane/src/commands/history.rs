//! `sparkplane history serve`: Spark's History Server REST API from a folder or
//! object-store prefix of event logs, until Ctrl-C; `sparkplane history
//! export`: the fleet's facts as Parquet tables.
//!
//! Owns: checking the flags, opening the persisted index (its folder from
//! `--index-dir` or the default), the first listing when the index held
//! nothing (an unreadable location stops here: exit 2 when it does not exist,
//! 3 when storage cannot be reached),
//! starting the server, and saying where it serves; for `export`, reading the
//! price sheet, mapping the export's failure to an exit code and printing its
//! report. Must not: list, replay, answer or export anything itself (that is
//! `sparkplane_history` and its `export` module).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sparkplane_core::Diagnostic;
use sparkplane_eventlog::cost::PriceSheet;
use sparkplane_eventlog::{LogSource, ReadError};
use sparkplane_history::export::repeat::ExportLoop;
use sparkplane_history::export::{ExportError, ExportReport, export_location};
use sparkplane_history::persist::default_dir;
use sparkplane_history::{DEFAULT_LISTEN, Index, serve as serve_http};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

fn invalid(code: &'static str, field: &str, message: String, help: String) -> Failure {
    Failure::Invalid(Diagnostic::error(code, field, message).with_help(help).into())
}

/// An unreadable location: exit 2 when it does not exist, 3 when storage cannot be
/// reached; the message names the URL and the reason, never a credential.
fn logs_failure(error: &ReadError) -> Failure {
    super::analyze::log_failure(
        error,
        "point --logs at the directory Spark writes event logs to (spark.eventLog.dir), as a path or an \
         object-store URL such as s3://bucket/spark-events",
    )
}

fn listen_address(listen: &str) -> Result<SocketAddr, Failure> {
    listen.trim().parse::<SocketAddr>().map_err(|_| {
        invalid(
            "invalid-listen",
            "--listen",
            format!("`{listen}` is not an IP address and port"),
            format!(
                "give an address and port such as {DEFAULT_LISTEN} (or 0.0.0.0:18080 to listen on every interface)"
            ),
        )
    })
}

/// Warnings of each kind printed at start, one line per log; the rest are counted.
const MAX_WARNINGS: usize = 20;

/// What `history serve` was asked for.
pub struct ServeSettings<'a> {
    pub logs: &'a str,
    pub listen: &'a str,
    pub interval_secs: u64,
    pub cache_mib: u64,
    pub export_to: Option<&'a str>,
    /// `--index-dir`; `None` for the default under the user's cache folder.
    pub index_dir: Option<&'a Path>,
}

/// Runs `history serve` until Ctrl-C. With records in the persisted index the
/// server answers from them at once and catches up with the location in the
/// background (an unreadable location is then a warning, not exit 2/3);
/// without, the first listing happens before it serves.
pub fn serve(settings: &ServeSettings<'_>, printer: &Printer) -> CommandResult {
    let (logs, interval_secs) = (settings.logs, settings.interval_secs);
    let addr = listen_address(settings.listen)?;
    if interval_secs == 0 {
        return Err(invalid(
            "invalid-interval",
            "--interval",
            "the rescan interval must be at least 1 second".to_owned(),
            "use --interval 10 (the default) or another number of seconds".to_owned(),
        ));
    }
    let source = LogSource::parse(logs).map_err(|error| logs_failure(&error))?;
    let shown = source.describe();
    let cache_bytes = settings.cache_mib.saturating_mul(1024 * 1024);
    let index_dir = settings.index_dir.map(Path::to_path_buf).or_else(|| default_dir(&shown));
    let index = match &index_dir {
        Some(dir) => {
            let (index, warnings) = Index::with_persisted(source, cache_bytes, dir);
            for warning in warnings {
                printer.status(&format!("warning: {warning}"));
            }
            index
        }
        None => {
            printer.status(
                "warning: no persisted index (neither XDG_CACHE_HOME nor HOME is set): a restart reads every log \
                 again; give --index-dir a folder to keep it",
            );
            Index::new(source, cache_bytes)
        }
    };
    let index = Arc::new(index);
    if index.restored_pending() {
        printer.status(&format!(
            "answering {} applications from the persisted index {} while {shown} is listed again",
            index.application_count(),
            index.persisted_path().map(|p| p.display().to_string()).unwrap_or_default()
        ));
    } else {
        index.refresh().map_err(|error| logs_failure(&error))?;
    }
    print_left_out(&index, printer);
    let server = serve_http(addr, Arc::clone(&index), Duration::from_secs(interval_secs)).map_err(|e| {
        Failure::Infrastructure(
            Diagnostic::error("listen-failed", "--listen", e.to_string())
                .with_help("choose a free port with --listen, or stop whatever listens there")
                .into(),
        )
    })?;
    let exporter = match settings.export_to {
        Some(to) => Some(start_exports(logs, to, Duration::from_secs(interval_secs), printer)?),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        printer.status(&format!("warning: cannot handle Ctrl-C ({err}); stop the server with kill"));
    }
    printer.status(&format!(
        "serving Spark's History Server API on http://{}/api/v1 from {shown} ({} applications, rescanned every \
         {interval_secs}s); Ctrl-C stops",
        server.addr(),
        index.application_count(),
    ));
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
    }
    server.stop();
    if let Some(exporter) = exporter {
        exporter.stop();
    }
    printer.status("history server stopped");
    Ok(())
}

/// Names each log left out or read only in part once, with why; past a
/// screenful the rest is counted (the metrics keep the totals).
fn print_left_out(index: &Index, printer: &Printer) {
    let left_out = index.skipped_logs();
    for (name, skipped) in left_out.iter().take(MAX_WARNINGS) {
        printer.status(&format!("warning: {name} is left out of the list: {}", skipped.message));
    }
    if left_out.len() > MAX_WARNINGS {
        printer.status(&format!(
            "warning: {} more event logs are left out of the list (counted in sparkplane_history_logs_skipped_total)",
            left_out.len() - MAX_WARNINGS
        ));
    }
    let partial = index.partial_entries();
    for entry in partial.iter().take(MAX_WARNINGS) {
        printer.status(&format!("warning: {} was read in part: {}", entry.log.name(), entry.warnings.join("; ")));
    }
    if partial.len() > MAX_WARNINGS {
        printer.status(&format!("warning: {} more event logs were read in part", partial.len() - MAX_WARNINGS));
    }
}

/// What `history export` says when the target cannot be written or the store reached.
const TARGET_HELP: &str = "check that it names a folder this user can write (it is created when missing), or \
                           for object storage AWS_ENDPOINT_URL (or the cloud's endpoint), the network and the \
                           credentials in the environment; a rerun continues where this one stopped";

/// Runs `history export`: every application at `from` not yet in the export
/// at `to` (and in-progress ones whose log changed) as Parquet. Exit 0 also
/// when some logs could not be read (each is named in a warning and read
/// again next time), 2 for a missing source or a target holding another
/// export, 3 when the target cannot be written or storage cannot be reached.
pub fn export(from: &str, to: &str, price_sheet: Option<&std::path::Path>, printer: &Printer) -> CommandResult {
    let sheet = match price_sheet {
        Some(path) => super::cost::read_document::<PriceSheet>(path, "PriceSheet")?,
        None => PriceSheet::opencost_defaults(),
    };
    let problems = sheet.problems();
    if let Some(problem) = problems.first() {
        return Err(invalid("bad-value", "--price-sheet", problem.clone(), "prices must be zero or more".to_owned()));
    }
    let report = export_location(from, to, &sheet).map_err(|error| export_failure(&error, "--to"))?;
    for skipped in report.skipped.iter().take(MAX_WARNINGS) {
        printer.status(&format!("warning: {} was skipped: {}", skipped.log, skipped.reason));
    }
    if report.skipped.len() > MAX_WARNINGS {
        printer.status(&format!("warning: {} more event logs were skipped", report.skipped.len() - MAX_WARNINGS));
    }
    printer.result(&report, || export_table(&report));
    Ok(())
}

/// `serve --export-to`: the export loop beside the server; each run that wrote
/// something, skipped a log or failed is one line on stderr (a failed run is
/// tried again at the next interval; the server keeps answering).
fn start_exports(logs: &str, to: &str, interval: Duration, printer: &Printer) -> Result<ExportLoop, Failure> {
    let quiet = printer.clone();
    let report = move |outcome: Result<&ExportReport, &ExportError>| match outcome {
        Ok(report) => {
            for skipped in report.skipped.iter().take(MAX_WARNINGS) {
                quiet.status(&format!("warning: {} was not exported: {}", skipped.log, skipped.reason));
            }
            if report.exported + report.updated > 0 {
                quiet.status(&format!(
                    "exported {} application(s) and updated {} in progress to {}",
                    report.exported, report.updated, report.target
                ));
            }
        }
        Err(error) => {
            quiet.status(&format!("warning: the export failed and is tried again in {}s: {error}", interval.as_secs()))
        }
    };
    ExportLoop::start(logs, to, PriceSheet::opencost_defaults(), interval, report)
        .map_err(|error| export_failure(&error, "--export-to"))
}

fn export_failure(error: &ExportError, flag: &str) -> Failure {
    match error {
        ExportError::Source(error) => logs_failure(error),
        ExportError::Target(_) => Failure::Infrastructure(
            Diagnostic::error("unwritable-target", flag, error.to_string()).with_help(TARGET_HELP).into(),
        ),
        ExportError::Location(_) | ExportError::Manifest { .. } if error.exit_code() == 3 => Failure::Infrastructure(
            Diagnostic::error("unwritable-target", flag, error.to_string()).with_help(TARGET_HELP).into(),
        ),
        ExportError::Location(_) | ExportError::Manifest { .. } => invalid(
            "bad-target",
            flag,
            error.to_string(),
            "give --to a folder or an object-store URL such as s3://bucket/spark-facts".to_owned(),
        ),
    }
}

fn export_table(report: &ExportReport) -> String {
    let mut out = format!(
        "exported {} application(s) and updated {} in progress from {} to {} (schema version {}); {} unchanged, {} skipped\n",
        report.exported,
        report.updated,
        report.source,
        report.target,
        report.schema_version,
        report.unchanged,
        report.skipped.len()
    );
    if report.files_written > 0 {
        let rows: Vec<String> = report.rows.iter().map(|(table, rows)| format!("{table} {rows}")).collect();
        out.push_str(&format!("wrote {} file(s): rows {}\n", report.files_written, rows.join(", ")));
    }
    out
}
