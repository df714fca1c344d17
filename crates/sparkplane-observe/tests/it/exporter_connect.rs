//! A Spark Connect server's sessions and queries as metrics: the exporter over
//! a real Spark 4.1.4 Connect server's event log (tests/data/connect, see its
//! README), while it runs (sessions and operations open) and once it ended
//! (the series are gone).

use crate::exporter_common;

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use exporter_common::parse_samples;
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_eventlog::{AppSummary, EventLog, summarize_log};
use sparkplane_observe::exporter::Exporter;

const LOG: &str = "local-1795480344927";

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/connect").join(name)
}

fn summarize(path: &Path) -> AppSummary {
    summarize_log(&EventLog::open(path).expect("opens")).expect("reads")
}

fn connect_series(text: &str) -> Vec<(String, f64)> {
    parse_samples(text).into_iter().filter(|(name, _)| name.starts_with("sparkplane_connect_")).collect()
}

#[test]
fn the_event_log_model_counts_a_real_servers_sessions_and_operations() {
    let summary = summarize(&data(LOG));
    let connect = summary.connect.expect("a Connect server's log");
    assert_eq!((connect.sessions_started, connect.sessions_closed), (2, 2));
    assert_eq!(
        (
            connect.operations_started,
            connect.operations_finished,
            connect.operations_failed,
            connect.operations_canceled,
            connect.operations_closed
        ),
        (3, 2, 1, 0, 3)
    );
    assert_eq!((connect.open_sessions(), connect.open_operations()), (0, 0));
    assert!(connect.last_activity_ms.is_some_and(|t| t > 1_795_480_344_927));

    let running = summarize(&data(&format!("{LOG}.inprogress")));
    let connect = running.connect.expect("a Connect server's log");
    assert_eq!((connect.open_sessions(), connect.open_operations()), (1, 1));

    // An application that is not a Connect server has none.
    let plain = std::fs::read_to_string(data(LOG)).expect("log");
    let without: String =
        plain.lines().filter(|l| !l.contains("SparkListenerConnect")).map(|l| format!("{l}\n")).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("local-1"), without).expect("write");
    assert!(summarize(&dir.path().join("local-1")).connect.is_none());
}

#[test]
fn a_running_server_shows_its_open_sessions_and_queries_and_they_go_when_it_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let in_progress = dir.path().join(format!("{LOG}.inprogress"));
    std::fs::copy(data(&format!("{LOG}.inprogress")), &in_progress).expect("copy");
    let mut exporter = Exporter::new(dir.path(), PriceSheet::opencost_defaults());
    let now = UNIX_EPOCH + Duration::from_millis(1_795_480_360_000);
    let report = exporter.scan_at(now);
    assert_eq!((report.logs, report.read, report.errors), (1, 1, 0), "{report:?}");
    let series = connect_series(&exporter.encode());
    let names: Vec<(&str, f64)> =
        series.iter().map(|(name, value)| (name.split('{').next().unwrap_or_default(), *value)).collect();
    assert_eq!(names, [("sparkplane_connect_operations", 1.0), ("sparkplane_connect_sessions", 1.0)], "{series:?}");
    // Labelled as every per-job series is, so alerts and dashboards can group by team.
    for (name, _) in &series {
        for label in ["sparkjob=", "team=", "cost_center=", "namespace="] {
            assert!(name.contains(label), "{name} lacks {label}");
        }
    }

    // The server stops: its log is complete under its final name.
    std::fs::remove_file(&in_progress).expect("remove");
    std::fs::copy(data(LOG), dir.path().join(LOG)).expect("copy");
    exporter.scan_at(now + Duration::from_secs(30));
    assert_eq!(connect_series(&exporter.encode()), Vec::<(String, f64)>::new());
}
