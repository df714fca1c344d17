//! The local chaos experiments on a real Spark in `local-cluster` mode (the
//! managed 3.5 runtime, Java 17, promtool, and for the object store SeaweedFS
//! and the S3A jars; `scripts/test.sh` installs them).
//! Slow: each starts a Spark application with two executor JVMs.

use sparkplane_chaos::{Experiment, Outcome, Settings, run};

fn check<'a>(outcome: &'a Outcome, what: &str) -> &'a sparkplane_chaos::Check {
    outcome.checks.iter().find(|c| c.what.starts_with(what)).unwrap_or_else(|| panic!("no check {what}: {outcome:#?}"))
}

#[test]
fn slow_executor_killed_mid_stage_is_retried_and_reported() {
    let outcome = run(Experiment::ExecutorKilled, &Settings::default()).expect("the experiment ran");
    assert!(outcome.passed(), "{:#?}\n{:?}", outcome, outcome.failures());
    assert!(check(&outcome, "one executor JVM").seen.starts_with("killed executor "), "{outcome:#?}");
    assert!(check(&outcome, "the job succeeded").seen.contains("CHAOS-RESULT rows=600"), "{outcome:#?}");
    assert!(check(&outcome, "the event-log model records").held, "{outcome:#?}");
    assert!(check(&outcome, "`analyze` reports").seen.contains("executor"), "{outcome:#?}");
    assert!(check(&outcome, "the run summary").seen.starts_with("outcome succeeded"), "{outcome:#?}");
    assert_eq!(outcome.alerts.len(), 1);
    assert_eq!(outcome.alerts[0].alert, "SparkJobFailed");
    assert!(!outcome.alerts[0].fired, "{outcome:#?}");
}

#[test]
fn slow_metastore_stopped_fails_new_jobs_fast_and_lets_running_ones_finish() {
    let outcome = run(Experiment::MetastoreStopped, &Settings::default()).expect("the experiment ran");
    eprintln!("{outcome:#?}");
    assert!(check(&outcome, "while PostgreSQL was up").held, "{outcome:#?}");
    assert!(check(&outcome, "PostgreSQL was stopped").held, "{outcome:#?}");
    assert!(check(&outcome, "the running job, which needs no table, finished").held, "{outcome:#?}");
    assert!(check(&outcome, "the new job that reads a table failed").held, "{outcome:#?}");
    let cause = check(&outcome, "its failure names the metastore");
    assert!(cause.held && cause.seen.starts_with("cause metastore: "), "{outcome:#?}");
    assert!(check(&outcome, "it failed fast").held, "{outcome:#?}");
    assert!(cause.seen.contains("root cause: org.postgresql."), "{outcome:#?}");
    // The reading application fails at table lookup, before any Spark job, so
    // its event log holds no failure (Spark 3.5 writes no exit code) and the
    // exporter counts it succeeded; the operator's reading of its failed
    // driver's log names the metastore, and the alert fires on that series.
    let seen = check(&outcome, "a source the alert reads saw the new job fail on the metastore");
    assert!(seen.held, "{outcome:#?}");
    assert!(seen.seen.starts_with("the operator's reading of the driver log: cause metastore ("), "{outcome:#?}");
    assert!(seen.seen.contains("; the event-log model: outcome Succeeded, cause none, 0 Spark jobs"), "{outcome:#?}");
    assert_eq!(outcome.alerts.len(), 1);
    assert_eq!(outcome.alerts[0].alert, "SparkJobsMetastoreErrors");
    assert!(outcome.alerts[0].fired, "{outcome:#?}");
    assert!(outcome.passed(), "{:#?}\n{:?}", outcome, outcome.failures());
}

#[test]
fn slow_object_store_stopped_mid_write_fails_fast_with_a_storage_cause_and_publishes_nothing() {
    let outcome = run(Experiment::ObjectStoreStopped, &Settings::default()).expect("the experiment ran");
    eprintln!("{outcome:#?}");
    assert!(outcome.passed(), "{:#?}\n{:?}", outcome, outcome.failures());
    assert!(check(&outcome, "the S3 server (SeaweedFS) was killed").seen.starts_with("killed "), "{outcome:#?}");
    assert!(check(&outcome, "the job failed").seen.contains("CHAOS-FAILED"), "{outcome:#?}");
    assert!(check(&outcome, "it failed fast").held, "{outcome:#?}");
    let cause = check(&outcome, "its failure has a storage cause");
    assert!(cause.held && cause.seen.starts_with("cause storage; root cause: "), "{outcome:#?}");
    assert!(check(&outcome, "nothing half-written is left").seen.contains("all under _temporary/"), "{outcome:#?}");
    assert!(check(&outcome, "the stop came mid-write").held, "{outcome:#?}");
    assert!(check(&outcome, "the secret key is in neither").held, "{outcome:#?}");
    let alerts: Vec<(&str, bool)> = outcome.alerts.iter().map(|a| (a.alert.as_str(), a.fired)).collect();
    assert_eq!(alerts, [("SparkJobsStorageErrors", true), ("SparkJobFailed", true)], "{outcome:#?}");
}
