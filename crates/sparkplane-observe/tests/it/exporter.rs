//! The exporter over real Spark 3.5.9 event logs (sparkplane-eventlog's fixtures):
//! the series it emits and their values, incremental scans, unreadable logs, and
//! that every family and label it emits is the registry's.

use crate::exporter_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use exporter_common::{copy_fixtures, parse_samples};
use sparkplane_analysis::cost::{PriceSheet, app_cost};
use sparkplane_observe::exporter::{CONTENT_TYPE, EMITTED, Exporter, serve};
use sparkplane_observe::registry::{self, MetricType};

const OK: &str = "eventlog_v2_local-1795265030698";
const KILLED: &str = "eventlog_v2_local-1795265065682";

/// 1795265065682 ms (the killed application's id) is within a second of its start; an hour later.
fn an_hour_after_the_killed_app() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_265_065_682 + 3_600_000)
}

fn job(sparkjob: &str, team: &str) -> String {
    format!("{{sparkjob=\"{sparkjob}\",team=\"{team}\",cost_center=\"(unattributed)\",namespace=\"(unattributed)\"}}")
}

fn outcome(sparkjob: &str, team: &str, outcome: &str) -> String {
    let labels = job(sparkjob, team);
    format!("sparkplane_app_outcome_total{},outcome=\"{outcome}\"}}", &labels[..labels.len() - 1])
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples.get(series).unwrap_or_else(|| panic!("no series {series} in {samples:#?}"))
}

#[test]
fn real_logs_become_the_registered_series() {
    let dir = copy_fixtures();
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    let report = exporter.scan_at(an_hour_after_the_killed_app());
    assert_eq!((report.logs, report.read, report.finished, report.errors), (3, 3, 2, 0), "{report:?}");
    let text = exporter.encode();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let s = parse_samples(&text);

    let (fixture, failing, killed) =
        ("sparkplane-eventlog-fixture", "sparkplane-eventlog-failing", "sparkplane-eventlog-killed");
    // Both outcome series of every job seen, the killed (still in-progress) one's at 0.
    assert_eq!(value(&s, &outcome(fixture, "data-platform", "succeeded")), 1.0);
    assert_eq!(value(&s, &outcome(fixture, "data-platform", "failed")), 0.0);
    assert_eq!(value(&s, &outcome(failing, "(unattributed)", "succeeded")), 0.0);
    assert_eq!(value(&s, &outcome(failing, "(unattributed)", "failed")), 1.0);
    assert_eq!(value(&s, &outcome(killed, "(unattributed)", "succeeded")), 0.0);
    assert_eq!(value(&s, &outcome(killed, "(unattributed)", "failed")), 0.0);
    assert_eq!(s.keys().filter(|k| k.starts_with("sparkplane_app_outcome_total")).count(), 6);

    let ok = job(fixture, "data-platform");
    // Duration 7.261 s (1795265029629 → 1795265036890): in the first bucket (30 s).
    assert_eq!(value(&s, &format!("sparkplane_app_duration_seconds_sum{ok}")), 7.261);
    assert_eq!(value(&s, &format!("sparkplane_app_duration_seconds_count{ok}")), 1.0);
    let first_bucket = format!("sparkplane_app_duration_seconds_bucket{{le=\"30.0\",{}", &ok[1..]);
    assert_eq!(value(&s, &first_bucket), 1.0);
    // The driver's 2 cores × 5.988 s, and what `sparkplane cost` charges for them.
    let core_hours = value(&s, &format!("sparkplane_app_core_hours_total{ok}"));
    assert!((core_hours - 11.976 / 3600.0).abs() < 1e-12, "{core_hours}");
    let summary = sparkplane_eventlog::summarize(&dir.path().join(OK)).expect("readable");
    let expected_cost = app_cost(&summary, &PriceSheet::opencost_defaults()).cost;
    assert!(expected_cost > 0.0);
    assert_eq!(value(&s, &format!("sparkplane_app_cost_usd_total{ok}")), expected_cost);
    assert_eq!(value(&s, &format!("sparkplane_app_spill_bytes_total{ok}")), 0.0);
    assert_eq!(value(&s, &format!("sparkplane_app_gc_share{ok}")), 72.0 / 5427.0);
    assert_eq!(value(&s, &format!("sparkplane_app_executor_utilisation{ok}")), 5427.0 / 11976.0);

    // Only the killed application is running; it started 1 s or so before its id's time.
    assert_eq!(s.keys().filter(|k| k.starts_with("sparkplane_app_running_seconds")).count(), 1);
    let running = value(&s, &format!("sparkplane_app_running_seconds{}", job(killed, "(unattributed)")));
    assert!((3600.0..3610.0).contains(&running), "{running}");
    assert!(!s.keys().any(|k| k.contains(killed) && k.starts_with("sparkplane_app_duration")), "not finished");

    assert_eq!(value(&s, "sparkplane_exporter_up"), 1.0);
    assert_eq!(value(&s, "sparkplane_exporter_log_errors_total"), 0.0);
    let scanned = an_hour_after_the_killed_app().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).ok();
    assert_eq!(Some(value(&s, "sparkplane_exporter_last_scan_timestamp_seconds")), scanned);
    // No per-application label anywhere.
    assert!(!text.contains("local-1795"), "{text}");
}

#[test]
fn finished_logs_are_read_once_and_new_or_changed_ones_picked_up() {
    let dir = copy_fixtures();
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    exporter.scan();
    assert_eq!(exporter.reads(), 3);

    // Nothing changed: nothing read, not even the log in progress.
    let report = exporter.scan();
    assert_eq!((report.read, exporter.reads()), (0, 3), "{report:?}");
    let before = parse_samples(&exporter.encode());

    // A new application: read, and only it.
    copy_dir(&dir.path().join(OK), &dir.path().join("eventlog_v2_local-1795265099999"));
    let report = exporter.scan();
    assert_eq!((report.read, report.finished, exporter.reads()), (1, 1, 4), "{report:?}");
    let after = parse_samples(&exporter.encode());
    let ok = outcome("sparkplane-eventlog-fixture", "data-platform", "succeeded");
    assert_eq!((value(&before, &ok), value(&after, &ok)), (1.0, 2.0));

    // The application in progress ends without an end event (its status marker loses `.inprogress`):
    // read again, counted as failed, and no longer running.
    let killed = dir.path().join(KILLED);
    std::fs::rename(
        killed.join("appstatus_local-1795265065682.inprogress"),
        killed.join("appstatus_local-1795265065682"),
    )
    .expect("rename");
    let report = exporter.scan();
    assert_eq!((report.read, report.finished, exporter.reads()), (1, 1, 5), "{report:?}");
    let s = parse_samples(&exporter.encode());
    assert_eq!(value(&s, &outcome("sparkplane-eventlog-killed", "(unattributed)", "failed")), 1.0);
    assert!(!s.keys().any(|k| k.starts_with("sparkplane_app_running_seconds")), "{s:#?}");
    assert!(exporter.logs().values().all(|state| state.finished && state.summary.is_none()));

    // Every log finished: scans read nothing, whatever happens to the files' times.
    let report = exporter.scan();
    assert_eq!((report.read, exporter.reads()), (0, 5));
    assert_eq!(value(&parse_samples(&exporter.encode()), &ok), 2.0);
}

#[test]
fn unreadable_logs_are_counted_once_per_change_and_do_not_stop_the_scan() {
    let dir = copy_fixtures();
    let corrupt = dir.path().join("local-1795265000000");
    std::fs::write(&corrupt, b"\x00\x01 this is not an event log\n").expect("write");
    std::fs::write(dir.path().join("local-1795265000001.lz4"), b"not lz4 at all").expect("write");
    // Not logs at all: skipped, never counted.
    std::fs::write(dir.path().join(".local-1795265000000.crc"), b"crc").expect("write");
    std::fs::write(dir.path().join("appstatus_local-1"), b"").expect("write");
    std::fs::create_dir(dir.path().join("lost+found")).expect("mkdir");

    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    let report = exporter.scan();
    assert_eq!((report.logs, report.errors, report.finished), (5, 2, 2), "{report:?}");
    let s = parse_samples(&exporter.encode());
    assert_eq!(value(&s, "sparkplane_exporter_log_errors_total"), 2.0);
    assert_eq!(value(&s, "sparkplane_exporter_up"), 1.0);
    assert_eq!(value(&s, &outcome("sparkplane-eventlog-fixture", "data-platform", "succeeded")), 1.0);

    // Unchanged: not read or counted again.
    let report = exporter.scan();
    assert_eq!((report.read, report.errors), (0, 0));
    // Changed (still broken): counted once more.
    std::fs::write(&corrupt, b"{still not json\n{nor this\n").expect("write");
    let report = exporter.scan();
    assert_eq!((report.read, report.errors), (1, 1));
    assert_eq!(value(&parse_samples(&exporter.encode()), "sparkplane_exporter_log_errors_total"), 3.0);
}

#[test]
fn a_missing_directory_is_down_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut exporter = Exporter::new(&dir.path().join("nope"), PriceSheet::opencost_defaults());
    let report = exporter.scan();
    assert!(report.listing_error.is_some_and(|e| e.contains("nope")));
    let s = parse_samples(&exporter.encode());
    assert_eq!(value(&s, "sparkplane_exporter_up"), 0.0);
    assert!(value(&s, "sparkplane_exporter_last_scan_timestamp_seconds") > 0.0);
}

#[test]
fn every_family_and_label_is_the_registrys() {
    for name in EMITTED {
        let metric = registry::lookup(name).unwrap_or_else(|| panic!("{name} is not registered"));
        assert_eq!(metric.emitter, registry::Emitter::Exporter, "{name}");
    }
    let dir = copy_fixtures();
    std::fs::write(dir.path().join("local-1795265000000"), b"garbage").expect("write");
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    exporter.scan();
    let text = exporter.encode();

    let mut families = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line["# TYPE ".len()..].split(' ');
        let (Some(family), Some(kind)) = (words.next(), words.next()) else { panic!("{line}") };
        // OpenMetrics names a counter's family without `_total`; the registry names its series.
        let name = if kind == "counter" { format!("{family}_total") } else { family.to_owned() };
        let metric = registry::lookup(&name).unwrap_or_else(|| panic!("family {name} is not registered"));
        assert_eq!(metric.kind.as_str(), kind, "{name}");
        assert!(
            text.contains(&format!("# HELP {family} {}", metric.help.trim_end_matches('.'))),
            "{name}: help is the registry's"
        );
        families.insert(name);
    }
    let emitted: BTreeSet<String> = EMITTED.iter().map(|n| n.to_string()).collect();
    // Families with no series are not written. Over these fixtures those are exactly the
    // conditional ones: no job has a duration objective, no stage is slow enough to
    // count as skewed, no History Server was probed (exporter_objectives.rs shows them), no
    // Spark Connect server runs (exporter_connect.rs shows its two).
    let absent: BTreeSet<String> = emitted.difference(&families).cloned().collect();
    let conditional = [
        "sparkplane_app_slo_duration_seconds",
        "sparkplane_app_slo_duration_breaches_total",
        "sparkplane_app_stage_skew",
        "sparkplane_history_server_up",
        "sparkplane_connect_sessions",
        "sparkplane_connect_operations",
    ];
    assert_eq!(absent, conditional.iter().map(|n| n.to_string()).collect(), "every emitted metric has a family");
    assert!(families.is_subset(&emitted), "and only those");

    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let series = line.split(['{', ' ']).next().unwrap_or_default();
        let (metric, labels) = registry::lookup_series(series).unwrap_or_else(|| panic!("{series} not registered"));
        let got: BTreeSet<&str> = exporter_common::label_names(line).into_iter().collect();
        let want: BTreeSet<&str> = labels.into_iter().collect();
        assert_eq!(got, want, "{line}");
        if metric.kind == MetricType::Histogram {
            assert!(!metric.buckets.is_empty());
        }
    }
    // Histogram buckets are the registry's.
    let duration = registry::lookup("sparkplane_app_duration_seconds").map(|m| m.buckets).unwrap_or_default();
    for bound in duration {
        assert!(text.contains(&format!("le=\"{bound:?}\"")), "bucket {bound}");
    }
}

#[test]
fn serves_openmetrics_on_metrics_only() {
    let dir = copy_fixtures();
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    exporter.scan();
    let server = serve("127.0.0.1:0".parse().expect("addr"), exporter.view()).expect("serves");
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");

    let mut response = ureq::get(&format!("http://{addr}/metrics")).call().expect("GET /metrics");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some(CONTENT_TYPE));
    let body = response.body_mut().read_to_string().expect("body");
    assert_eq!(body, exporter.encode());

    // The server shows the exporter's latest scan.
    std::fs::write(dir.path().join("local-1795265000000"), b"garbage").expect("write");
    exporter.scan();
    let body = ureq::get(&format!("http://{addr}/metrics")).call().expect("GET").body_mut().read_to_string();
    assert!(body.expect("body").contains("sparkplane_exporter_log_errors_total 1"));

    let missing = ureq::get(&format!("http://{addr}/other")).config().http_status_as_error(false).build().call();
    assert_eq!(missing.expect("answers").status().as_u16(), 404);
    drop(server);
    assert!(ureq::get(&format!("http://{addr}/metrics")).call().is_err(), "stopped when dropped");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}
