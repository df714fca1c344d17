//! Event logs written by real Spark 3.5.9 and 4.3.0 (PySpark, local[2], rolling, zstd);
//! see tests/fixtures/README.md for how they were made and what the jobs did.

use std::path::{Path, PathBuf};

use sparkplane_eventlog::{EventLog, Layout, Outcome, find_app_log, summarize};

fn fixture(app_id: &str) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    ["spark-3.5.9", "spark-4.3.0"]
        .iter()
        .find_map(|version| find_app_log(&fixtures.join(version), app_id))
        .unwrap_or_else(|| panic!("fixture {app_id} is missing"))
}

/// job_ok.py: saveAsTextFile of 1000 six-byte lines in 4 partitions, read them back,
/// then the same 4→2 partition reduceByKey collected twice (the second time its map stage is skipped).
#[test]
fn successful_pyspark_app() {
    let path = fixture("local-1795265030698");
    let log = EventLog::open(&path).expect("opens");
    assert_eq!((log.layout, log.parts.len(), log.in_progress), (Layout::Rolling, 1, false));
    let s = summarize(&path).expect("readable");
    assert_eq!(s.warnings, vec![]);
    assert_eq!(s.app_id.as_deref(), Some("local-1795265030698"));
    assert_eq!(s.name.as_deref(), Some("sparkplane-eventlog-fixture"));
    assert_eq!(s.user.as_deref(), Some("root"));
    assert_eq!(s.spark_version.as_deref(), Some("3.5.9"));
    assert_eq!((s.start_time_ms, s.end_time_ms, s.duration_ms), (Some(1795265029629), Some(1795265036890), Some(7261)));
    assert_eq!(s.outcome, Outcome::Succeeded);
    assert_eq!((s.jobs.total, s.jobs.succeeded, s.jobs.failed, s.jobs.running), (4, 4, 0, 0));
    let st = s.stages;
    assert_eq!((st.total, st.completed, st.failed, st.skipped, st.active), (6, 5, 0, 1, 0));
    // 4 (write) + 4 (read) + 4 map + 2 reduce + 2 reduce (map skipped).
    assert_eq!((s.tasks.total, s.tasks.succeeded, s.tasks.failed, s.tasks.killed), (16, 16, 0, 0));
    let m = s.metrics;
    assert_eq!((m.task_time_ms, m.cpu_time_ms, m.gc_time_ms), (5427, 405, 72));
    // 6000 bytes of text, as Hadoop's local filesystem counts them (its checksums included).
    assert_eq!((m.output_bytes, m.input_bytes), (6048, 6096));
    // 4 map tasks × 176 bytes written; read back by 2 reduce tasks, twice.
    assert_eq!((m.shuffle_write_bytes, m.shuffle_read_bytes), (704, 1408));
    assert_eq!((m.memory_spill_bytes, m.disk_spill_bytes), (0, 0));
    assert_eq!(s.executors.count, 1);
    let driver = &s.executors.timeline[0];
    assert_eq!((driver.id.as_str(), driver.cores, driver.added_ms), ("driver", Some(2), 1795265030902));
    assert_eq!((driver.removed_ms, driver.lifetime_ms), (None, 5988));
    assert!((s.core_seconds() - 11.976).abs() < 1e-9);
    assert!(s.executors.utilisation.is_some_and(|u| (u - 5427.0 / 11976.0).abs() < 1e-12));
    assert_eq!(s.config.master.as_deref(), Some("local[2]"));
    assert_eq!(s.config.app_name.as_deref(), Some("sparkplane-eventlog-fixture"));
    assert_eq!((s.config.driver_memory.as_deref(), s.config.executor_memory.as_deref()), (Some("1g"), Some("1g")));
    assert_eq!(s.config.labels.get("sparkplane.dev/team").map(String::as_str), Some("data-platform"));
    assert_eq!((s.log.lines, s.log.in_progress), (57, false));
}

/// job_fail.py: one good job, then a job whose Python function raises on record 7.
#[test]
fn failed_pyspark_app() {
    let s = summarize(&fixture("local-1795265044180")).expect("readable");
    assert_eq!(s.warnings, vec![]);
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!((s.jobs.total, s.jobs.succeeded, s.jobs.failed), (2, 1, 1));
    assert_eq!((s.stages.total, s.stages.completed, s.stages.failed), (2, 1, 1));
    assert_eq!((s.tasks.total, s.tasks.succeeded, s.tasks.failed, s.tasks.killed), (4, 3, 1, 0));
    let failure = s.failure.as_ref().expect("a failure");
    assert_eq!(failure.job_id, 1);
    assert!(failure.message.starts_with("Job aborted due to stage failure: Task 1 in stage 1.0 failed 1 times"));
    assert_eq!(failure.root_cause.as_deref(), Some("ValueError: sparkplane fixture: bad record 7"));
    assert_eq!((failure.stage_id, failure.stage_attempt_id), (Some(1), Some(0)));
    assert!(failure.stage_failure.as_deref().is_some_and(|r| r.starts_with("Job aborted due to stage failure")));
    assert_eq!((s.metrics.task_time_ms, s.metrics.cpu_time_ms), (2944, 59));
    assert_eq!(s.duration_ms, Some(5414));
}

/// job_killed.py: the driver was killed with SIGKILL while its second job ran.
#[test]
fn killed_pyspark_app_is_in_progress() {
    let path = fixture("local-1795265065682");
    let s = summarize(&path).expect("readable");
    // Spark flushes its zstd stream after events, so what reached the disk decodes cleanly.
    assert_eq!(s.warnings, vec![]);
    assert!(s.log.in_progress);
    assert_eq!(s.outcome, Outcome::Incomplete);
    assert_eq!((s.jobs.total, s.jobs.succeeded, s.jobs.running), (2, 1, 1));
    assert_eq!((s.stages.total, s.stages.completed, s.stages.active), (2, 1, 1));
    assert_eq!((s.tasks.total, s.tasks.succeeded), (2, 2));
    assert_eq!(s.end_time_ms, None);
    assert_eq!(s.duration_ms, Some(4297), "start to the last event logged");
    assert!((s.core_seconds() - 5.63).abs() < 1e-9);
}

/// job_ok.py again on Spark 4.3.0: the same figures where the job fixes them, and the exit code Spark 4 logs.
#[test]
fn successful_pyspark_app_on_spark_4() {
    let s = summarize(&fixture("local-1795265641966")).expect("readable");
    assert_eq!(s.warnings, vec![]);
    assert_eq!(s.spark_version.as_deref(), Some("4.3.0"));
    assert_eq!((s.outcome, s.exit_code), (Outcome::Succeeded, Some(0)));
    assert_eq!((s.jobs.total, s.jobs.succeeded), (4, 4));
    let st = s.stages;
    assert_eq!((st.total, st.completed, st.skipped), (6, 5, 1));
    assert_eq!((s.tasks.total, s.tasks.succeeded), (16, 16));
    let m = s.metrics;
    assert_eq!((m.task_time_ms, m.cpu_time_ms, m.gc_time_ms), (5239, 528, 81));
    assert_eq!((m.output_bytes, m.input_bytes, m.shuffle_write_bytes, m.shuffle_read_bytes), (6048, 6096, 704, 1408));
    assert_eq!((s.start_time_ms, s.end_time_ms), (Some(1795265640898), Some(1795265651040)));
    assert!((s.core_seconds() - 17.716).abs() < 1e-9);
}

/// job_fail.py on Spark 4.3.0: the Python error is wrapped in Spark 4's error-class message.
#[test]
fn failed_pyspark_app_on_spark_4() {
    let s = summarize(&fixture("local-1795265657108")).expect("readable");
    assert_eq!(s.warnings, vec![]);
    // The script catches the failure, so the driver exits 0; a failed job still fails the run.
    assert_eq!((s.outcome, s.exit_code), (Outcome::Failed, Some(0)));
    assert_eq!((s.jobs.succeeded, s.jobs.failed), (1, 1));
    assert_eq!((s.tasks.succeeded, s.tasks.failed), (3, 1));
    let failure = s.failure.as_ref().expect("a failure");
    assert_eq!(failure.job_id, 1);
    assert!(failure.message.starts_with("[PYTHON_EXCEPTION] An exception was thrown from the Python worker"));
    assert_eq!(failure.root_cause.as_deref(), Some("ValueError: sparkplane fixture: bad record 7"));
    assert_eq!(failure.stage_id, Some(1));
}
