//! The metrics a backup run reports, in Prometheus' text format, and the
//! push to a Pushgateway. A run pushes with POST, which replaces only the
//! metrics it sends: a failure keeps the last success's timestamp and size.

use crate::BackupError;
use crate::manifest::Manifest;

/// Seconds since the epoch of the last successful run.
pub const LAST_SUCCESS: &str = "sparkplane_backup_last_success_timestamp_seconds";
/// Seconds since the epoch of the last failed run.
pub const LAST_FAILURE: &str = "sparkplane_backup_last_failure_timestamp_seconds";
/// Bytes the last successful run refers to (dump and objects).
pub const LAST_SIZE: &str = "sparkplane_backup_last_size_bytes";
/// Duration of the last successful run.
pub const LAST_DURATION: &str = "sparkplane_backup_last_duration_seconds";

fn gauge(out: &mut String, name: &str, help: &str, backup: &str, value: f64) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{backup=\"{backup}\"}} {value}\n"));
}

/// The exposition of a successful run.
pub fn success(manifest: &Manifest, finished_s: f64) -> String {
    let mut out = String::new();
    let b = &manifest.backup;
    gauge(&mut out, LAST_SUCCESS, "When the last backup run completed (its manifest written).", b, finished_s);
    gauge(
        &mut out,
        LAST_SIZE,
        "Bytes the last complete backup refers to: the metastore dump and every object copy.",
        b,
        manifest.total_bytes as f64,
    );
    gauge(
        &mut out,
        LAST_DURATION,
        "How long the last complete backup run took.",
        b,
        manifest.duration_ms as f64 / 1000.0,
    );
    out
}

/// The exposition of a failed run.
pub fn failure(backup: &str, at_s: f64) -> String {
    let mut out = String::new();
    gauge(&mut out, LAST_FAILURE, "When a backup run last failed.", backup, at_s);
    out
}

/// The Pushgateway URL of a backup's group.
pub fn group_url(pushgateway: &str, backup: &str) -> String {
    format!("{}/metrics/job/sparkplane_backup/backup/{backup}", pushgateway.trim_end_matches('/'))
}

/// Pushes `text` to the backup's group.
pub fn push(pushgateway: &str, backup: &str, text: &str) -> Result<(), BackupError> {
    let url = group_url(pushgateway, backup);
    ureq::post(&url).header("Content-Type", "text/plain; version=0.0.4").send(text.as_bytes()).map(|_| ()).map_err(
        |e| BackupError::Unreachable {
            message: format!("{url}: push failed: {e}"),
            help: "check spec.metrics.pushgateway".into(),
        },
    )
}
