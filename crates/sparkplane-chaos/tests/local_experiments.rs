//! The local chaos experiments on a real Spark in `local-cluster` mode (the
//! managed 3.5 runtime, Java 17 and promtool; `scripts/test.sh` installs them).
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
