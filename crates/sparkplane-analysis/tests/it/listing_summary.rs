//! The listing's summary (`AppLog::summarize_for_listing`, which parses only
//! the events a listing record needs: job starts, stage events, task ends,
//! executor metrics and SQL executions are recognised by their name and not
//! read, except for their times in a log without an application end) agrees
//! with the full summary on everything a listing record holds — ids, times,
//! outcome, configuration, executors, reading warnings and so cost — for
//! every log the repository holds: Spark 3.5 and 4.3 fixtures, the codec
//! fixtures, and Spark's own History Server test logs; in progress and cut
//! short among them.

use std::path::{Path, PathBuf};

use sparkplane_analysis::cost::{PriceSheet, app_cost};
use sparkplane_eventlog::{AppLog, LogSource};

fn logs(dir: &Path) -> Vec<AppLog> {
    LogSource::Local(dir.to_path_buf()).app_logs().unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[test]
fn the_listing_summary_agrees_with_the_full_one_on_what_a_listing_record_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs: Vec<PathBuf> = vec![
        root.join("../sparkplane-eventlog/tests/fixtures/spark-3.5.9"),
        root.join("../sparkplane-eventlog/tests/fixtures/spark-4.3.0"),
        root.join("../sparkplane-eventlog/tests/fixtures/codecs"),
        root.join("../sparkplane-eventlog/tests/fixtures/trips-etl"),
        root.join("../sparkplane-history/tests/data/spark-history/spark-events"),
    ];
    // Spark's test logs again without their application end: the end of each
    // (and so its executors' lifetimes and cost) is then its last event, read by the second reading.
    let unended = tempfile::tempdir().expect("temp dir");
    for log in logs(&dirs[4]) {
        let path = Path::new(&log.name);
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let kept: Vec<&str> =
            text.lines().filter(|l| !l.starts_with(r#"{"Event":"SparkListenerApplicationEnd""#)).collect();
        let name = path.file_name().expect("a file name");
        std::fs::write(unended.path().join(name), kept.join("\n") + "\n").expect("write");
    }
    let sheet = PriceSheet::opencost_defaults();
    let (mut compared, mut with_tasks, mut without_end) = (0, 0, 0);
    for dir in dirs.iter().map(PathBuf::as_path).chain([unended.path()]).filter(|d| d.is_dir()) {
        for log in logs(dir) {
            let (Ok(full), Ok(listing)) = (log.summarize(), log.summarize_for_listing()) else { continue };
            let name = &log.name;
            assert_eq!(
                (&listing.app_id, &listing.attempt_id, &listing.name, &listing.user, &listing.spark_version),
                (&full.app_id, &full.attempt_id, &full.name, &full.user, &full.spark_version),
                "{name}"
            );
            assert_eq!(
                (listing.start_time_ms, listing.end_time_ms, listing.duration_ms, listing.outcome, listing.exit_code),
                (full.start_time_ms, full.end_time_ms, full.duration_ms, full.outcome, full.exit_code),
                "{name}"
            );
            // The outcome's count; job starts are not read, so the totals are not the full summary's.
            assert_eq!(listing.jobs.failed, full.jobs.failed, "{name}");
            assert_eq!(listing.config, full.config, "{name}");
            assert_eq!(listing.executors.timeline, full.executors.timeline, "{name}");
            assert_eq!(listing.executors.core_seconds, full.executors.core_seconds, "{name}");
            assert_eq!(
                (listing.log.lines, listing.log.events, listing.log.in_progress),
                (full.log.lines, full.log.events, full.log.in_progress),
                "{name}"
            );
            assert_eq!(listing.warnings, full.warnings, "{name}");
            assert_eq!(app_cost(&listing, &sheet), app_cost(&full, &sheet), "{name}");
            // What the listing does not read: task figures stay zero.
            assert_eq!(listing.tasks.total, 0, "{name}");
            if full.tasks.total > 0 {
                with_tasks += 1;
            }
            if full.end_time_ms.is_none() && full.stages.total > 0 {
                without_end += 1;
            }
            compared += 1;
        }
    }
    assert!(
        compared >= 20 && with_tasks >= 15 && without_end >= 10,
        "{compared} logs compared, {with_tasks} with tasks, {without_end} with stages and no application end"
    );
}
