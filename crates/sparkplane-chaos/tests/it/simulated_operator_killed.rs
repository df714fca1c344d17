//! operator-killed on the simulated cluster: a new operator takes over from
//! the status the killed one wrote; SparkplaneOperatorDown fires on `up`.

use sparkplane_chaos::{Experiment, Settings, run};

#[test]
fn a_restarted_operator_submits_nothing_twice_and_every_job_succeeds() {
    let outcome = run(Experiment::OperatorKilled, &Settings::default()).expect("the experiment ran");
    assert!(outcome.passed(), "{:#?}", outcome.failures());
    let whats: Vec<&str> = outcome.checks.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "the operator was killed mid-flight",
            "every job ended Succeeded",
            "no job was submitted twice",
            "the new operator took over the drivers the killed one had started",
        ]
    );
    assert!(outcome.checks[2].seen.ends_with("; 8 driver pods created for 8 jobs"), "{:?}", outcome.checks[2]);
    let down = outcome.alerts.iter().find(|a| a.alert == "SparkplaneOperatorDown").expect("checked");
    assert!(down.fired && down.detail.contains("severity=\"critical\""), "{down:?}");
    let failures = outcome.alerts.iter().find(|a| a.alert == "SparkplaneOperatorSubmissionFailures").expect("checked");
    assert!(!failures.fired, "{failures:?}");
}
