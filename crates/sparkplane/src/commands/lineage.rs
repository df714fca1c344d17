//! `sparkplane lineage LOG [--openlineage URL]`: OpenLineage run events for
//! each application in an event log (one log or a directory of them).
//!
//! Owns: turning the flags into [`LineageSettings`] (`--jdbc-url` read into a
//! [`JdbcDatabase`], never echoed: it may carry a password), opening the logs through
//! the one reader ([`sparkplane_eventlog::summarize_logs`]), printing the events
//! (JSON lines; a JSON array with `-o json`) or handing them to
//! [`sparkplane_emit::openlineage_send`], and mapping failures to exit codes.
//! Must not: read plans or build events — that is
//! [`sparkplane_eventlog::lineage`] and [`sparkplane_emit::openlineage`].

use std::path::PathBuf;

use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_emit::openlineage::{RunEvent, app_lineage};
use sparkplane_emit::openlineage_send;
use sparkplane_eventlog::lineage::JdbcDatabase;
use sparkplane_eventlog::{LogSource, summarize_logs};

use crate::exit::{CommandResult, Failure};
use crate::printer::{OutputFormat, Printer};

/// What to say when the event-log location cannot be read.
const LOG_HELP: &str = "pass one application's event log (a file or an eventlog_v2_<app-id> directory) or the \
                        directory Spark writes logs to (spark.eventLog.dir), as a path or an object-store URL";

/// Plain settings of `lineage`.
#[derive(Debug, Clone)]
pub struct LineageSettings {
    /// The log or directory of logs, as given.
    pub path: PathBuf,
    /// The OpenLineage endpoint to POST events to; print them when `None`.
    pub openlineage: Option<String>,
    /// The database of the applications' JDBC tables, as a JDBC URL (may carry credentials).
    pub jdbc_url: Option<String>,
}

/// Runs `lineage`: exit 0 with events printed or sent; 2 when the logs cannot
/// be read or hold no application, or `--jdbc-url` is not a JDBC URL it can name
/// datasets by; 3 when the endpoint does not accept them.
pub fn run(settings: &LineageSettings, printer: &Printer) -> CommandResult {
    let jdbc = match settings.jdbc_url.as_deref().map(JdbcDatabase::parse).transpose() {
        Ok(jdbc) => jdbc,
        Err(error) => {
            let problem = Diagnostic::error("invalid-jdbc-url", "--jdbc-url", error.to_string()).with_help(
                "pass the URL the application's JDBC reads and writes use, e.g. jdbc:postgresql://db:5432/shop",
            );
            return Err(Failure::Invalid(problem.into()));
        }
    };
    let logs = LogSource::parse(&settings.path.to_string_lossy())
        .and_then(|source| source.app_logs())
        .map_err(|error| super::analyze::log_failure(&error, LOG_HELP))?;
    let (apps, read_warnings) = summarize_logs(&logs, None);
    if apps.is_empty() {
        let mut problems = Diagnostics::new();
        let mut message = format!("no Spark application could be read from {}", settings.path.display());
        if let Some(first) = read_warnings.first() {
            message.push_str(&format!(" ({first})"));
        }
        problems.push(Diagnostic::error("unreadable-event-log", "", message).with_help(LOG_HELP));
        return Err(Failure::Invalid(problems));
    }
    for warning in &read_warnings {
        printer.status(&format!("warning: {warning}"));
    }
    let mut events: Vec<RunEvent> = Vec::new();
    for app in &apps {
        let lineage = app_lineage(app, jdbc.as_ref());
        for warning in &lineage.warnings {
            printer.status(&format!("warning: {warning}"));
        }
        events.extend(lineage.events);
    }
    match &settings.openlineage {
        Some(url) => {
            let sent = openlineage_send::send(url, &events).map_err(|error| {
                Failure::unreachable(
                    "openlineage-unreachable",
                    "--openlineage",
                    error.to_string(),
                    "check the URL (e.g. http://marquez:5000/api/v1/lineage) and that the endpoint is up",
                )
            })?;
            printer.status(&format!("sent {sent} OpenLineage events for {} applications to {url}", apps.len()));
        }
        None if printer.format == OutputFormat::Table => {
            let mut text = String::new();
            for event in &events {
                text.push_str(&serde_json::to_string(event).unwrap_or_default());
                text.push('\n');
            }
            printer.raw(&text);
        }
        None => printer.result(&events, String::new),
    }
    Ok(())
}
