//! `sparkplane exporter`: serves per-job metrics from a directory of Spark
//! event logs (local, or an object-store prefix such as `s3://bucket/spark-events`)
//! as OpenMetrics on `/metrics`, rescanning it every few seconds, until Ctrl-C.
//!
//! Owns: checking the flags, starting the server and the scan loop, and saying
//! where it serves. Must not: compute metrics or serve HTTP itself (that is
//! `sparkplane_observe::exporter`), or listen anywhere but the address given.

use std::path::Path;
use std::time::Duration;

use sparkplane_analysis::cost::PriceSheet;
use sparkplane_emit::trace_send::OtlpProtocol;
use sparkplane_eventlog::{LogSource, ReadError};
use sparkplane_facts::ExportedRecords;
use sparkplane_observe::exporter::{DEFAULT_LISTEN, Exporter, serve};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

fn history_failure(error: &ReadError) -> Failure {
    super::analyze::log_failure(
        error,
        "point --history at the directory Spark writes event logs to (spark.eventLog.dir), as a path or an \
         object-store URL such as s3://bucket/spark-events",
    )
}

/// The address to listen on (the History Server's rule, with the exporter's default).
/// The History Server's address as given, without a trailing slash: an
/// `http://` or `https://` URL with a host and no query.
fn history_server_url(url: &str) -> Result<String, Failure> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed.strip_prefix("http://").or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(['?', '#', ' ']) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(Failure::invalid(
            "invalid-history-server",
            "--history-server",
            format!("`{url}` is not an http:// or https:// address of a History Server"),
            "give the History Server's base address, e.g. --history-server http://spark-history:18080".to_owned(),
        )),
    }
}

/// Runs `exporter`: scans `history` every `interval_secs` seconds and serves its
/// metrics on `listen` until Ctrl-C; with `history_server`, probes that History
/// Server on every scan. Bad flags and a missing directory or prefix are
/// [`Failure::Invalid`] (exit 2); an address that cannot be bound, or object
/// storage that cannot be reached, is [`Failure::Infrastructure`] (exit 3). A
/// History Server that does not answer is a metric, not a failure. With `otlp`
/// (a URL and transport), each finished application's trace is sent there; a bad
/// URL is exit 2, an endpoint that fails a warning (tried again every scan).
/// With `facts` (an export of the logs), finished applications it holds as
/// their logs are now are counted from it, their logs not read; a target that
/// holds no export is exit 2, one that cannot be read exit 3.
pub fn run(
    history: &Path,
    listen: &str,
    interval_secs: u64,
    history_server: Option<&str>,
    otlp: Option<(&str, OtlpProtocol)>,
    facts: Option<&str>,
    printer: &Printer,
) -> CommandResult {
    let addr = super::serving::listen_address(listen, DEFAULT_LISTEN)?;
    let history_server = history_server.map(history_server_url).transpose()?;
    let otlp = otlp.map(|(url, protocol)| super::trace::otlp_endpoint(url, protocol, "--otlp")).transpose()?;
    super::serving::interval(interval_secs, "scan", 30)?;
    let shown = history.display().to_string();
    let source = LogSource::parse(&shown).map_err(|error| history_failure(&error))?;
    // List once before serving: a missing directory or prefix is exit 2, unreachable storage exit 3.
    source.app_logs().map_err(|error| history_failure(&error))?;
    let shown = source.describe();

    let known = match facts {
        Some(at) => Some(ExportedRecords::open(at, &shown).map_err(|e| super::history::facts_failure(&e, "--facts"))?),
        None => None,
    };
    let mut exporter = Exporter::with_source(source, PriceSheet::opencost_defaults());
    if let Some(known) = known {
        exporter.use_known_records(Box::new(known));
    }
    if let Some(base) = &history_server {
        // A probe never holds a scan up for longer than the scan interval (nor 10 s).
        exporter.watch_history_server(base, Duration::from_secs(interval_secs.min(10)));
    }
    if let Some(endpoint) = otlp {
        exporter.send_traces_to(endpoint);
    }
    // One scan before serving, so the first scrape already has every finished application.
    let first = exporter.scan();
    if let Some(error) = &first.trace_error {
        printer.status(&format!("warning: {error}; tried again on every scan"));
    }
    if let Some(at) = facts {
        printer.status(&format!(
            "{} finished application(s) counted from the facts exported to {at}, {} log(s) read",
            first.from_records, first.read
        ));
    }
    if first.errors > 0 {
        printer.status(&format!(
            "warning: {} of {} event logs could not be read (counted in sparkplane_exporter_log_errors_total)",
            first.errors, first.logs
        ));
    }
    if let (Some(base), Some(false)) = (&history_server, first.history_server_up) {
        printer.status(&format!(
            "warning: the History Server at {base} did not answer {base}/api/v1/applications \
             (sparkplane_history_server_up is 0; probed again every scan)"
        ));
    }
    let server = serve(addr, exporter.view()).map_err(super::serving::listen_failed)?;

    let stop = crate::interrupt::stop_flag(printer, "stop the exporter with kill");
    printer.status(&format!(
        "serving OpenMetrics on http://{}/metrics from {shown} ({} logs, rescanned every {interval_secs}s); Ctrl-C stops",
        server.local_addr(),
        first.logs,
    ));
    exporter.run_until(Duration::from_secs(interval_secs), &stop);
    drop(server);
    printer.status("exporter stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_server_urls_are_http_base_addresses() {
        assert_eq!(
            history_server_url("http://spark-history:18080/").ok().as_deref(),
            Some("http://spark-history:18080")
        );
        assert_eq!(history_server_url("https://hs.example/spark").ok().as_deref(), Some("https://hs.example/spark"));
        for bad in ["", "spark-history:18080", "ftp://hs", "http://", "http:///x", "http://hs/?a=1", "http://h s"] {
            assert!(matches!(history_server_url(bad), Err(Failure::Invalid(_))), "{bad}");
        }
    }
}
