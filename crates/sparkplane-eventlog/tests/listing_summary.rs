//! The listing's summary (`AppLog::summarize_for_listing`, which does not
//! read task ends beyond their finish time) agrees with the full summary on
//! everything a listing record holds — ids, times, outcome, configuration,
//! executors and so cost — for every log the repository holds: Spark 3.5 and
//! 4.3 fixtures, the codec fixtures, and Spark's own History Server test logs;
//! in progress and cut short among them.

use std::path::{Path, PathBuf};

use sparkplane_eventlog::cost::{PriceSheet, app_cost};
use sparkplane_eventlog::{AppLog, LogSource};

fn logs(dir: &Path) -> Vec<AppLog> {
    LogSource::Local(dir.to_path_buf()).app_logs().unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[test]
fn the_listing_summary_agrees_with_the_full_one_on_what_a_listing_record_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs: Vec<PathBuf> = vec![
        root.join("tests/fixtures/spark-3.5.9"),
        root.join("tests/fixtures/spark-4.3.0"),
        root.join("tests/fixtures/codecs"),
        root.join("tests/fixtures/trips-etl"),
        root.join("../sparkplane-history/tests/data/spark-history/spark-events"),
    ];
    let sheet = PriceSheet::opencost_defaults();
    let (mut compared, mut with_tasks) = (0, 0);
    for dir in dirs.iter().filter(|d| d.is_dir()) {
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
            assert_eq!(listing.jobs, full.jobs, "{name}");
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
            compared += 1;
        }
    }
    assert!(compared >= 20 && with_tasks >= 15, "{compared} logs compared, {with_tasks} with tasks");
}
