//! `sparkplane analyze PATH`: what one application's event log says happened
//! (outcome, jobs, stages, tasks, bytes) and tuning advice from it.
//!
//! Owns: opening the log, handing its summary to
//! [`sparkplane_analysis::analyze::analyze`], and printing its facts
//! ([`sparkplane_eventlog::AppSummary::facts`], counted as Spark's History
//! Server counts them) and the findings as a table or JSON, and with
//! `--html FILE` writing the HTML report
//! ([`sparkplane_analysis::report_html`]) atomically. Must not: judge anything itself (the rules live in sparkplane-analysis,
//! over the model they read) or fail because of a finding — findings are advice,
//! so the exit code is 0 whenever the log can be read.

use std::path::Path;

use serde::Serialize;
use sparkplane_analysis::analyze::{Finding, analyze, describe_facts, duration};
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_documents::Diagnostic;
use sparkplane_eventlog::{AppFacts, LogSource, ReadError, Timing, WallTime, summarize_log};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// What `analyze -o json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AnalyzeReport<'a> {
    /// The log that was read.
    path: String,
    /// The application id, when the log names it.
    app_id: Option<&'a str>,
    /// The attempt id, where the cluster manager retries applications.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt_id: Option<&'a str>,
    /// The application name.
    name: Option<&'a str>,
    /// Outcome, jobs, stage attempts, task attempts (with the failed ones) and
    /// bytes moved, as Spark's History Server counts them.
    #[serde(flatten)]
    facts: AppFacts,
    /// Wall time split into task and driver-only time.
    wall_time: Option<WallTime>,
    /// Critical path and ideal run time.
    timing: Option<&'a Timing>,
    /// Findings, most severe first.
    findings: &'a [Finding],
}

/// Runs `analyze` on one application's event log (a file or an `eventlog_v2_*`
/// directory, local or in object storage): exit 0 with or without findings; 2
/// when the log cannot be opened or the `html` report cannot be written (then
/// nothing is left at that path); 3 when object storage is unreachable or denied.
pub fn run(path: &Path, html: Option<&Path>, printer: &Printer) -> CommandResult {
    let app = LogSource::parse(&path.to_string_lossy())
        .and_then(|source| summarize_log(&source.event_log()?))
        .map_err(|error| unreadable_log(&error))?;
    for warning in &app.warnings {
        printer.status(&format!("warning: {warning}"));
    }
    if let Some(html) = html {
        let report = sparkplane_analysis::report_html(&app, &PriceSheet::opencost_defaults());
        write_atomically(html, &report)?;
        printer.status(&format!("wrote the HTML report to {} ({} KiB)", html.display(), report.len().div_ceil(1024)));
    }
    let findings = analyze(&app);
    let report = AnalyzeReport {
        path: path.display().to_string(),
        app_id: app.app_id.as_deref(),
        attempt_id: app.attempt_id.as_deref(),
        name: app.name.as_deref(),
        facts: app.facts(),
        wall_time: app.wall_time,
        timing: app.timing.as_ref(),
        findings: &findings,
    };
    printer.result(&report, || table(&report));
    Ok(())
}

/// Writes the report whole or not at all (an older report stays until replaced).
fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    sparkplane_storage::write_file_atomically(path, text.as_bytes()).map_err(|err| {
        Failure::invalid(
            "unwritable-report",
            "--html",
            format!("cannot write the HTML report {}: {err}", path.display()),
            "pass --html a file in an existing, writable directory",
        )
    })
}

fn unreadable_log(error: &ReadError) -> Failure {
    log_failure(
        error,
        "pass one application's event log: a file such as local-1700000000000[.zstd] or a rolling \
         eventlog_v2_<app-id> directory, as found under spark.eventLog.dir (a path or s3://bucket/prefix)",
    )
}

/// An event-log location that could not be read, as a failure with sparkplane's
/// exit code: 3 (infrastructure) when object storage is unreachable or refuses
/// the credentials, 2 otherwise with `help` saying what to pass instead.
pub(super) fn log_failure(error: &ReadError, help: &str) -> Failure {
    // ReadError's message names the file, object or part that failed, never a credential.
    let diagnostic = Diagnostic::error("unreadable-event-log", "", error.to_string());
    if error.category() == sparkplane_category::Category::Unreachable {
        let help = "check AWS_ENDPOINT_URL (or the cloud's endpoint), the network, and the credentials in the \
                    environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, \
                    AZURE_STORAGE_ACCOUNT_KEY)";
        return Failure::Infrastructure(diagnostic.with_help(help).into());
    }
    Failure::Invalid(diagnostic.with_help(help).into())
}

fn table(report: &AnalyzeReport<'_>) -> String {
    let app = report.app_id.or(report.name).unwrap_or(report.path.as_str());
    let mut head = format!("{}\n", describe_facts(&report.facts));
    if let (Some(wall), Some(t)) = (report.wall_time, report.timing) {
        head.push_str(&format!(
            "Ran {} ({} with no task running). Critical path {}; ideal on its {} executor cores {}.\n",
            duration(wall.total_ms),
            duration(wall.driver_only_ms),
            duration(t.critical_path_ms),
            t.cores,
            duration(t.ideal_ms)
        ));
    }
    if report.findings.is_empty() {
        return format!("{head}No findings for {app}: nothing in its event log calls for a change.\n");
    }
    let mut t = super::Table::new(&["SEVERITY", "ID", "STAGE", "TITLE", "EVIDENCE", "FIX"]);
    for f in report.findings {
        t.row(vec![
            f.severity.as_str().to_owned(),
            f.id.to_owned(),
            f.stage.map(|s| s.to_string()).unwrap_or_else(|| "-".to_owned()),
            f.title.clone(),
            f.evidence.clone(),
            f.fix.clone(),
        ]);
    }
    let count = report.findings.len();
    format!("{head}{}\n{count} finding{} for {app}.\n", t.render(), if count == 1 { "" } else { "s" })
}
