//! `sparkplane exporter`: serves per-job metrics from a directory of Spark
//! event logs (local, or an object-store prefix such as `s3://bucket/spark-events`)
//! as OpenMetrics on `/metrics`, rescanning it every few seconds, until Ctrl-C.
//!
//! Owns: checking the flags, starting the server and the scan loop, and saying
//! where it serves. Must not: compute metrics or serve HTTP itself (that is
//! `sparkplane_observe::exporter`), or listen anywhere but the address given.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sparkplane_core::Diagnostic;
use sparkplane_eventlog::cost::PriceSheet;
use sparkplane_eventlog::{LogSource, ReadError};
use sparkplane_observe::exporter::{DEFAULT_LISTEN, Exporter, serve};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

fn invalid(code: &'static str, field: &str, message: String, help: String) -> Failure {
    Failure::Invalid(Diagnostic::error(code, field, message).with_help(help).into())
}

fn history_failure(error: &ReadError) -> Failure {
    super::analyze::log_failure(
        error,
        "point --history at the directory Spark writes event logs to (spark.eventLog.dir), as a path or an \
         object-store URL such as s3://bucket/spark-events",
    )
}

/// The address to listen on: an IP address and a port, as given (no name lookup,
/// so the exporter binds exactly what was asked for).
fn listen_address(listen: &str) -> Result<SocketAddr, Failure> {
    listen.trim().parse::<SocketAddr>().map_err(|_| {
        invalid(
            "invalid-listen",
            "--listen",
            format!("`{listen}` is not an IP address and port"),
            format!("give an address and port such as {DEFAULT_LISTEN} (or 0.0.0.0:9464 to listen on every interface)"),
        )
    })
}

/// Runs `exporter`: scans `history` every `interval_secs` seconds and serves its
/// metrics on `listen` until Ctrl-C. Bad flags and a missing directory or prefix
/// are [`Failure::Invalid`] (exit 2); an address that cannot be bound, or object
/// storage that cannot be reached, is [`Failure::Infrastructure`] (exit 3).
pub fn run(history: &Path, listen: &str, interval_secs: u64, printer: &Printer) -> CommandResult {
    let addr = listen_address(listen)?;
    if interval_secs == 0 {
        return Err(invalid(
            "invalid-interval",
            "--interval",
            "the scan interval must be at least 1 second".to_owned(),
            "use --interval 30 (the default) or another number of seconds".to_owned(),
        ));
    }
    let shown = history.display().to_string();
    let source = LogSource::parse(&shown).map_err(|error| history_failure(&error))?;
    // List once before serving: a missing directory or prefix is exit 2, unreachable storage exit 3.
    source.app_logs().map_err(|error| history_failure(&error))?;
    let shown = source.describe();

    let mut exporter = Exporter::with_source(source, PriceSheet::opencost_defaults());
    // One scan before serving, so the first scrape already has every finished application.
    let first = exporter.scan();
    if first.errors > 0 {
        printer.status(&format!(
            "warning: {} of {} event logs could not be read (counted in sparkplane_exporter_log_errors_total)",
            first.errors, first.logs
        ));
    }
    let server = serve(addr, exporter.view()).map_err(|e| {
        Failure::Infrastructure(
            Diagnostic::error("listen-failed", "--listen", e.to_string())
                .with_help("choose a free port with --listen, or stop whatever listens there")
                .into(),
        )
    })?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        // Another handler is installed in this process already; it decides what Ctrl-C does.
        printer.status(&format!("warning: cannot handle Ctrl-C ({err}); stop the exporter with kill"));
    }
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
    fn listen_addresses_are_ip_and_port() {
        assert_eq!(listen_address("127.0.0.1:9464").ok(), "127.0.0.1:9464".parse().ok());
        assert_eq!(listen_address("[::1]:9464").ok(), "[::1]:9464".parse().ok());
        for bad in ["", "9464", "localhost:9464", "127.0.0.1", "127.0.0.1:99999", "http://127.0.0.1:9464"] {
            assert!(matches!(listen_address(bad), Err(Failure::Invalid(_))), "{bad}");
        }
    }
}
