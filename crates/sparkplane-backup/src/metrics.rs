//! The metrics a backup run reports, and the push to a Pushgateway. Names,
//! help and types are the one registry's (`sparkplane_observe::registry::backup`),
//! the text is its one writer's (`exposition`), and the alerts over them are
//! the built-in `sparkplane-backup` rule group. A run pushes with POST, which
//! replaces only the metrics it sends: a failure keeps the last success's
//! timestamp and size.

use std::time::Duration;

use sparkplane_observe::exposition::{self, Family, Sample};
use sparkplane_observe::registry::backup;

use crate::BackupError;
use crate::manifest::Manifest;

fn family(name: &'static str, backup: &str, value: f64) -> Family {
    Family { name, samples: vec![Sample::new(vec![("backup", backup.to_owned())], value)] }
}

/// The exposition of a successful run that finished at `finished_s` (Unix
/// seconds), with the backup's late threshold (`document::late_after`).
pub fn success(manifest: &Manifest, finished_s: f64, late_after: Duration) -> String {
    let b = &manifest.backup;
    exposition::encode(&[
        family(backup::LAST_SUCCESS.name, b, finished_s),
        family(backup::LAST_SIZE.name, b, manifest.total_bytes as f64),
        family(backup::LAST_DURATION.name, b, manifest.duration_ms as f64 / 1000.0),
        family(backup::LATE_AFTER.name, b, late_after.as_secs_f64()),
    ])
}

/// The exposition of a failed run, with the backup's late threshold: a
/// backup whose runs all fail is still held to its own schedule.
pub fn failure(backup_name: &str, at_s: f64, late_after: Duration) -> String {
    exposition::encode(&[
        family(backup::LAST_FAILURE.name, backup_name, at_s),
        family(backup::LATE_AFTER.name, backup_name, late_after.as_secs_f64()),
    ])
}

/// The Pushgateway URL of a backup's group (`job="sparkplane_backup"`, `backup="<name>"`).
pub fn group_url(pushgateway: &str, backup_name: &str) -> String {
    format!("{}/metrics/job/sparkplane_backup/backup/{backup_name}", pushgateway.trim_end_matches('/'))
}

/// Pushes `text` to the backup's group: a POST through the one retry rule
/// (`sparkplane_http::post`; a PUT would replace every metric of the group,
/// a failure's push the last success's too).
pub fn push(pushgateway: &str, backup_name: &str, text: &str) -> Result<(), BackupError> {
    let url = group_url(pushgateway, backup_name);
    let retry = sparkplane_http::Retry::default();
    sparkplane_http::post(&retry, &url, "text/plain; version=0.0.4", text.as_bytes()).map_err(|e| {
        BackupError::Unreachable {
            message: format!("{url}: push failed: {e}"),
            help: "check spec.metrics.pushgateway".into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_reports_when_how_big_and_how_long_with_the_registrys_names() {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "BackupManifest", "backup": "platform", "id": "x",
            "started": "", "finished": "", "durationMs": 1500, "totalBytes": 4096, "writtenBytes": 10
        }))
        .expect("manifest");
        let text = success(&manifest, 1_767_225_600.0, Duration::from_secs(26 * 3600));
        assert!(
            text.contains("sparkplane_backup_last_success_timestamp_seconds{backup=\"platform\"} 1767225600\n"),
            "{text}"
        );
        assert!(text.contains("sparkplane_backup_last_size_bytes{backup=\"platform\"} 4096\n"), "{text}");
        assert!(text.contains("sparkplane_backup_last_duration_seconds{backup=\"platform\"} 1.5\n"), "{text}");
        assert!(text.contains("# TYPE sparkplane_backup_last_size_bytes gauge\n"), "{text}");
        assert!(text.contains("sparkplane_backup_late_after_seconds{backup=\"platform\"} 93600\n"), "{text}");
        let failed = failure("platform", 5.0, Duration::from_secs(7200));
        assert!(
            failed.contains("sparkplane_backup_last_failure_timestamp_seconds{backup=\"platform\"} 5\n"),
            "{failed}"
        );
        assert!(failed.contains("sparkplane_backup_late_after_seconds{backup=\"platform\"} 7200\n"), "{failed}");
        assert!(!failed.contains("last_success"), "a failure keeps the last success's series: {failed}");
        assert_eq!(
            group_url("http://pg:9091/", "platform"),
            "http://pg:9091/metrics/job/sparkplane_backup/backup/platform"
        );
    }
}
