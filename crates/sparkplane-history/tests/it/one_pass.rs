//! A large log is listed and replayed in one pass (`summarize_and_replay`):
//! what that pass gives must equal the listing's summary and the detail a
//! separate replay gives, on every Spark test log (origin: apache/spark, see
//! tests/data/spark-history/NOTICE.md).

use std::path::PathBuf;

use sparkplane_appstatus::AppDetail;
use sparkplane_eventlog::LogSource;
use sparkplane_history::index::{replay, summarize_and_replay};

fn shape(detail: &AppDetail) -> String {
    let stages: Vec<String> = detail
        .stages
        .values()
        .map(|s| {
            format!(
                "{:?} {} {} {} {} {} {:?} {:?} {:?}",
                (s.stage_id, s.attempt_id),
                s.status,
                s.active_tasks,
                s.complete_tasks,
                s.failed_tasks,
                s.killed_tasks,
                s.metrics,
                s.executor_summary.keys().collect::<Vec<_>>(),
                s.tasks.tasks()
            )
        })
        .collect();
    format!("{stages:?}\n{:?}\n{:?}\n{:?}\n{:?}", detail.jobs, detail.executors, detail.rdds, detail.warnings)
}

#[test]
fn one_pass_gives_the_listing_summary_and_the_replayed_detail() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events");
    let logs = LogSource::Local(dir).app_logs().expect("lists");
    assert!(logs.len() >= 15, "{} logs", logs.len());
    let mut tasks = 0;
    for log in &logs {
        let (summary, detail) = summarize_and_replay(log).expect("reads");
        let detail = detail.expect("the one-pass fold finished");
        assert_eq!(summary, log.summarize().expect("summarises"), "{}", log.name);
        let replayed = replay(log).expect("replays");
        assert_eq!(shape(&detail), shape(&replayed), "{}", log.name);
        tasks += detail.stages.values().map(|s| s.tasks.len()).sum::<usize>();
    }
    assert!(tasks > 100, "the logs hold tasks ({tasks})");
}
