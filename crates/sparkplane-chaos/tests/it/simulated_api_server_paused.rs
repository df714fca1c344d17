//! api-server-paused on the simulated cluster with the operator: drivers end
//! during the pause, and afterwards every job ends as it would have.

use sparkplane_chaos::{Experiment, Settings, run};

#[test]
fn after_a_pause_every_job_ends_as_it_would_have() {
    let outcome = run(Experiment::ApiServerPaused, &Settings::default()).expect("the experiment ran");
    assert!(outcome.passed(), "{:#?}", outcome.failures());
    assert_eq!(outcome.checks.len(), 3);
    assert!(
        outcome.checks[0].seen.starts_with("4 of 4 drivers ended during the 1500 ms pause"),
        "{:?}",
        outcome.checks[0]
    );
    assert_eq!(
        outcome.checks[1].seen,
        "api-paused-1: Succeeded/Succeeded (expected Succeeded/Succeeded), api-paused-2: Succeeded/Succeeded \
         (expected Succeeded/Succeeded), api-paused-3: Succeeded/Succeeded (expected Succeeded/Succeeded), \
         api-paused-4: Failed/DriverFailed (expected Failed/DriverFailed)"
    );
    assert!(outcome.checks[2].seen.ends_with("; 4 driver pods created"), "{:?}", outcome.checks[2]);
}
