//! The exporter's SLO, failure-cause, skew and History Server series, over
//! sparkplane-eventlog's real Spark 3.5.9 logs.

use crate::exporter_common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exporter_common::{copy_fixtures, parse_samples};
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_observe::exporter::Exporter;

const OK: &str = "local-1795265030698";
const FAILING: &str = "local-1795265044180";
const KILLED: &str = "local-1795265065682";

fn job(sparkjob: &str, team: &str) -> String {
    format!("sparkjob=\"{sparkjob}\",team=\"{team}\",cost_center=\"(unattributed)\",namespace=\"(unattributed)\"")
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> Option<f64> {
    samples.get(series).copied()
}

/// Adds Spark properties to a fixture's environment, as sparkplane's render
/// would have: decompresses the log, edits the EnvironmentUpdate line, and
/// compresses it back.
fn add_properties(dir: &Path, app: &str, properties: &[(&str, &str)]) {
    let file = dir.join(format!("eventlog_v2_{app}/events_1_{app}.zstd"));
    let mut text = String::new();
    zstd::Decoder::new(std::fs::File::open(&file).expect("open"))
        .expect("zstd")
        .read_to_string(&mut text)
        .expect("read");
    let extra: String = properties.iter().map(|(k, v)| format!("\"{k}\":\"{v}\",")).collect();
    let marker = "\"Spark Properties\":{";
    assert!(text.contains(marker), "{app}: no environment update");
    let edited = text.replacen(marker, &format!("{marker}{extra}"), 1);
    std::fs::write(&file, zstd::encode_all(edited.as_bytes(), 3).expect("compress")).expect("write");
}

fn an_hour_after_the_killed_app() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_265_065_682 + 3_600_000)
}

#[test]
fn duration_objectives_come_from_the_logs_and_breaches_are_counted() {
    let dir = copy_fixtures();
    // The succeeded run took 7.3 s: over a 5 s objective. The killed run is still in progress.
    add_properties(dir.path(), OK, &[("spark.sparkplane.slo.maxDurationSeconds", "5")]);
    add_properties(dir.path(), KILLED, &[("spark.sparkplane.slo.maxDurationSeconds", "600")]);
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    exporter.scan_at(an_hour_after_the_killed_app());
    let s = parse_samples(&exporter.encode());

    let ok = job("sparkplane-eventlog-fixture", "data-platform");
    assert_eq!(value(&s, &format!("sparkplane_app_slo_duration_seconds{{{ok}}}")), Some(5.0));
    assert_eq!(value(&s, &format!("sparkplane_app_slo_duration_breaches_total{{{ok}}}")), Some(1.0));
    // A running application publishes its objective before it finishes, so the over-SLO alert can compare.
    let killed = job("sparkplane-eventlog-killed", "(unattributed)");
    assert_eq!(value(&s, &format!("sparkplane_app_slo_duration_seconds{{{killed}}}")), Some(600.0));
    assert_eq!(value(&s, &format!("sparkplane_app_slo_duration_breaches_total{{{killed}}}")), Some(0.0));
    assert!(value(&s, &format!("sparkplane_app_running_seconds{{{killed}}}")).is_some_and(|r| r > 600.0));
    // A job without an objective has neither series.
    let failing = job("sparkplane-eventlog-failing", "(unattributed)");
    assert_eq!(value(&s, &format!("sparkplane_app_slo_duration_seconds{{{failing}}}")), None);
    assert_eq!(value(&s, &format!("sparkplane_app_slo_duration_breaches_total{{{failing}}}")), None);
}

#[test]
fn failures_are_counted_by_cause() {
    let dir = copy_fixtures();
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    exporter.scan_at(an_hour_after_the_killed_app());
    let s = parse_samples(&exporter.encode());
    let summary = sparkplane_eventlog::summarize(&dir.path().join(format!("eventlog_v2_{FAILING}"))).expect("readable");
    assert!(summary.tasks.failed > 0, "the failing fixture has failed tasks");
    let failing = job("sparkplane-eventlog-failing", "(unattributed)");
    // The job raises a Python exception: its own error, not infrastructure.
    assert_eq!(
        value(&s, &format!("sparkplane_app_task_failures_total{{{failing},cause=\"other\"}}")),
        Some(summary.tasks.failed as f64)
    );
    assert_eq!(value(&s, &format!("sparkplane_app_failures_total{{{failing},cause=\"other\"}}")), Some(1.0));
    let causes: Vec<&String> = s.keys().filter(|k| k.contains("cause=")).collect();
    assert_eq!(causes.len(), 2, "only causes that occurred have series: {causes:?}");
}

#[test]
fn a_storage_failure_is_told_apart() {
    let dir = copy_fixtures();
    let file = dir.path().join(format!("eventlog_v2_{FAILING}/events_1_{FAILING}.zstd"));
    let mut text = String::new();
    zstd::Decoder::new(std::fs::File::open(&file).expect("open"))
        .expect("zstd")
        .read_to_string(&mut text)
        .expect("read");
    // The same run, as if its tasks had failed reading from S3.
    let edited = text.replace(
        "\"Class Name\":\"org.apache.spark.api.python.PythonException\"",
        "\"Class Name\":\"org.apache.hadoop.fs.s3a.AWSClientIOException\"",
    );
    assert_ne!(edited, text, "the fixture's tasks fail with a PythonException");
    std::fs::write(&file, zstd::encode_all(edited.as_bytes(), 3).expect("compress")).expect("write");
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    exporter.scan_at(an_hour_after_the_killed_app());
    let s = parse_samples(&exporter.encode());
    let failing = job("sparkplane-eventlog-failing", "(unattributed)");
    assert!(value(&s, &format!("sparkplane_app_task_failures_total{{{failing},cause=\"storage\"}}")).is_some());
}

#[test]
fn the_history_server_probe_follows_the_server() {
    let (probed, probes) = std::sync::mpsc::channel();
    let probed = std::sync::Mutex::new(probed);
    let addr = "127.0.0.1:0".parse().expect("an address");
    let server = sparkplane_http::serve(addr, "probe-target", 1, move |request: &sparkplane_http::Request| {
        let _ = probed.lock().map(|p| p.send(format!("{}?{}", request.path, request.query)));
        sparkplane_http::Reply::text(200, "application/json", "[]")
    })
    .expect("listen");
    let port = server.addr().port();
    let answering = std::thread::spawn(move || {
        // Answer one probe like the History Server's REST API, then stop listening.
        if let Ok(url) = probes.recv() {
            assert_eq!(url, "/api/v1/applications?limit=1");
        }
        server.stop();
    });
    let dir = copy_fixtures();
    let exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    let up = |exporter: &Exporter| parse_samples(&exporter.encode()).get("sparkplane_history_server_up{}").copied();
    assert_eq!(up(&exporter), None, "absent until probed");
    let base = format!("http://127.0.0.1:{port}/");
    assert!(exporter.probe_history_server(&base, Duration::from_secs(5)));
    assert_eq!(up(&exporter), Some(1.0));
    answering.join().expect("server thread");
    assert!(!exporter.probe_history_server(&base, Duration::from_secs(2)));
    assert_eq!(up(&exporter), Some(0.0));
}
