//! `sparkplane history export`, and the export loop of `history serve
//! --export-to`: the fleet's facts as Parquet tables; and what an unusable
//! export means to a user, for the commands that read one (`cost --facts`,
//! `exporter --facts`).
//!
//! Owns: reading the price sheet, mapping the export's failure to an exit
//! code and printing its report (`ExportReport::summary` words it). Must
//! not: export or read anything itself (that is `sparkplane_facts`).

use std::time::Duration;

use sparkplane_analysis::cost::PriceSheet;
use sparkplane_category::Category;
use sparkplane_facts::repeat::ExportLoop;
use sparkplane_facts::{ExportError, ExportReport, export_location};

use super::{MAX_WARNINGS, logs_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

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
    let sheet = crate::workspace::read_price_sheet(price_sheet)?;
    let report = export_location(from, to, &sheet).map_err(|error| export_failure(&error, "--to"))?;
    report.skipped_lines(MAX_WARNINGS, "skipped").iter().for_each(|line| printer.status(line));
    printer.result(&report, || report.summary());
    Ok(())
}

/// `serve --export-to`: the export loop beside the server; each run that wrote
/// something, skipped a log or failed is one line on stderr (a failed run is
/// tried again at the next interval; the server keeps answering).
pub(super) fn start_exports(
    logs: &str,
    to: &str,
    interval: Duration,
    printer: &Printer,
) -> Result<ExportLoop, Failure> {
    let quiet = printer.clone();
    let report = move |outcome: Result<&ExportReport, &ExportError>| match outcome {
        Ok(report) => {
            report.skipped_lines(MAX_WARNINGS, "not exported").iter().for_each(|line| quiet.status(line));
            report.progress_line().iter().for_each(|line| quiet.status(line));
        }
        Err(error) => {
            quiet.status(&format!("warning: the export failed and is tried again in {}s: {error}", interval.as_secs()))
        }
    };
    ExportLoop::start(logs, to, PriceSheet::opencost_defaults(), interval, report)
        .map_err(|error| export_failure(&error, "--export-to"))
}

/// What reading an export found wrong, as `cost --facts` and `exporter --facts` say it:
/// exit 2 when it holds no export of this version, 3 when it cannot be read.
pub fn facts_failure(error: &ExportError, flag: &str) -> Failure {
    match error {
        ExportError::Manifest { .. } | ExportError::Location(_) if error.category() == Category::Invalid => {
            Failure::invalid(
                "bad-facts",
                flag,
                error.to_string(),
                format!("give {flag} the folder or object-store URL `sparkplane history export --to` wrote"),
            )
        }
        _ => Failure::unreachable(
            "unreadable-facts",
            flag,
            error.to_string(),
            "check the path, or for object storage the endpoint, network and credentials in the environment",
        ),
    }
}

fn export_failure(error: &ExportError, flag: &str) -> Failure {
    match error {
        ExportError::Source(error) => logs_failure(error),
        ExportError::Target(_) => Failure::unreachable("unwritable-target", flag, error.to_string(), TARGET_HELP),
        ExportError::Location(_) | ExportError::Manifest { .. } if error.category() == Category::Unreachable => {
            Failure::unreachable("unwritable-target", flag, error.to_string(), TARGET_HELP)
        }
        ExportError::Location(_) | ExportError::Manifest { .. } => Failure::invalid(
            "bad-target",
            flag,
            error.to_string(),
            "give --to a folder or an object-store URL such as s3://bucket/spark-facts".to_owned(),
        ),
    }
}
