//! `sparkplane trace LOG… [--otlp URL] [--protocol http|grpc] [--tasks N]`:
//! each application in the event logs as an OpenTelemetry trace, printed (a
//! tree as text, the spans with `-o json`) or sent by OTLP.
//!
//! Owns: turning the flags into [`TraceSettings`], opening the logs through
//! the event-log reader ([`sparkplane_emit::trace::trace_log`]), printing, handing the
//! request to [`sparkplane_emit::trace_send`], and mapping failures to exit
//! codes. Must not: decide spans or attributes (that is
//! [`sparkplane_emit::trace`]) or build OTLP messages
//! ([`sparkplane_emit::trace_otlp`]).

use std::path::{Path, PathBuf};

use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_emit::trace::{Trace, TraceOptions, build_trace, trace_log};
use sparkplane_emit::trace_otlp::export_request;
use sparkplane_emit::trace_send::{self, OtlpEndpoint, OtlpProtocol};
use sparkplane_eventlog::{LogSource, Warning};

use crate::exit::{CommandResult, Failure};
use crate::printer::{OutputFormat, Printer};

/// What to say when an event-log location cannot be read.
const LOG_HELP: &str = "pass one application's event log (a file or an eventlog_v2_<app-id> directory) or the \
                        directory Spark writes logs to (spark.eventLog.dir), as a path or an object-store URL";

/// Plain settings of `trace`.
#[derive(Debug, Clone)]
pub struct TraceSettings {
    /// The logs or directories of logs, as given.
    pub paths: Vec<PathBuf>,
    /// The OTLP endpoint; print the traces when `None`.
    pub otlp: Option<String>,
    /// The OTLP transport.
    pub protocol: OtlpProtocol,
    /// The slowest task attempts to add as spans (failed ones come along when above 0).
    pub tasks: usize,
}

/// The `--otlp` endpoint checked, or exit 2 naming what is wrong.
pub fn otlp_endpoint(url: &str, protocol: OtlpProtocol, flag: &str) -> Result<OtlpEndpoint, Failure> {
    OtlpEndpoint::parse(url, protocol).map_err(|error| {
        Failure::invalid(
            "invalid-otlp-endpoint",
            flag,
            error.to_string(),
            "give the collector's address, e.g. http://otel-collector:4318 for OTLP/HTTP or \
                     http://otel-collector:4317 with --protocol grpc",
        )
    })
}

/// The failure for a request the endpoint did not take (exit 3).
pub fn send_failure(error: &trace_send::SendError, flag: &str) -> Failure {
    Failure::unreachable(
        "otlp-unreachable",
        flag,
        error.to_string(),
        "check the URL and protocol, and that the collector is up and listens there",
    )
}

/// Runs `trace`: exit 0 with traces printed or sent; 2 for a bad URL or logs
/// that cannot be read or hold no application; 3 when the endpoint does not take them.
pub fn run(settings: &TraceSettings, printer: &Printer) -> CommandResult {
    let endpoint = settings.otlp.as_deref().map(|url| otlp_endpoint(url, settings.protocol, "--otlp")).transpose()?;
    let options = TraceOptions { tasks: settings.tasks };
    let mut traces: Vec<Trace> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    for path in &settings.paths {
        let logs = LogSource::parse(&path.to_string_lossy())
            .and_then(|source| source.app_logs())
            .map_err(|error| super::analyze::log_failure(&error, LOG_HELP))?;
        for log in &logs {
            let name = Path::new(&log.name);
            let read = log.open().and_then(|opened| trace_log(&opened, options));
            match read {
                Ok((app, _)) if app.log.events == 0 => {
                    warnings.push(Warning::in_file(name, "holds no Spark events; skipped".into()).to_string());
                }
                Ok((app, detail)) => match build_trace(&app, &detail) {
                    Ok(trace) => traces.push(trace),
                    Err(no_trace) => warnings.push(no_trace.to_string()),
                },
                Err(error) => warnings.push(Warning::in_file(name, format!("skipped: {error}")).to_string()),
            }
        }
    }
    if traces.is_empty() {
        let shown: Vec<String> = settings.paths.iter().map(|p| p.display().to_string()).collect();
        let mut message = format!("no Spark application could be read from {}", shown.join(", "));
        if let Some(first) = warnings.first() {
            message.push_str(&format!(" ({first})"));
        }
        let mut problems = Diagnostics::new();
        problems.push(Diagnostic::error("unreadable-event-log", "", message).with_help(LOG_HELP));
        return Err(Failure::Invalid(problems));
    }
    for warning in &warnings {
        printer.status(&format!("warning: {warning}"));
    }
    match &endpoint {
        Some(endpoint) => {
            let spans = trace_send::send(endpoint, &export_request(&traces)).map_err(|e| send_failure(&e, "--otlp"))?;
            printer.status(&format!(
                "sent {spans} spans of {} applications to {} (OTLP/{})",
                traces.len(),
                endpoint.url,
                endpoint.protocol
            ));
        }
        None if printer.format == OutputFormat::Table => {
            let text: Vec<String> = traces.iter().map(Trace::to_text).collect();
            printer.raw(&text.join("\n"));
        }
        None => printer.result(&traces, String::new),
    }
    Ok(())
}
