//! driver-evicted on the simulated cluster with the operator: three evicted
//! drivers, each run retried under OnInfrastructureFailure and succeeding.

use sparkplane_chaos::{Experiment, Settings, run};

#[test]
fn evicted_drivers_are_retried_and_the_retries_succeed() {
    let outcome = run(Experiment::DriverEvicted, &Settings::default()).expect("the experiment ran");
    assert!(outcome.passed(), "{:#?}", outcome.failures());
    assert_eq!(outcome.checks.len(), 4);
    assert_eq!(outcome.checks[1].what, "each run was marked Evicted and retried");
    assert!(outcome.checks[1].seen.matches("Retrying/Evicted").count() == 3, "{:?}", outcome.checks[1]);
    assert_eq!(
        outcome.checks[2].seen,
        "driver-evicted-1: Succeeded/Succeeded at attempt 2, driver-evicted-2: Succeeded/Succeeded at attempt 2, \
         driver-evicted-3: Succeeded/Succeeded at attempt 2"
    );
    assert!(outcome.checks[3].seen.ends_with("; 6 driver pods created"), "{:?}", outcome.checks[3]);
    // Three evictions in six submissions would fire the alert if evictions counted as drivers that never started.
    assert_eq!(outcome.alerts.len(), 1);
    assert!(!outcome.alerts[0].fired, "{:?}", outcome.alerts);
}
