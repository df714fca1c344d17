//! node-drained on the simulated cluster with the operator: the drain
//! evicts through the Eviction API, the PodDisruptionBudget holds the
//! running driver (429) until its run ended, and both jobs succeed with
//! their first driver.

use sparkplane_chaos::{Experiment, Settings, run};

#[test]
fn a_drain_evicts_executors_waits_for_the_budget_and_the_jobs_succeed_with_their_first_driver() {
    let outcome = run(Experiment::NodeDrained, &Settings::default()).expect("the experiment ran");
    assert!(outcome.passed(), "{:#?}", outcome.checks);
    let whats: Vec<&str> = outcome.checks.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "the node was cordoned and its pods evicted through the Eviction API",
            "the budget refused the running driver's eviction (429) until its run ended",
            "nothing new landed on the cordoned node and it ended empty",
            "every job succeeded",
            "each job kept its first attempt's driver",
        ]
    );
    assert!(outcome.checks[0].seen.contains("-exec-"), "executors were evicted: {:?}", outcome.checks[0]);
    assert!(outcome.checks[1].seen.contains("node-drained-1-"), "{:?}", outcome.checks[1]);
    assert_eq!(outcome.checks[3].seen, "node-drained-1: Succeeded/Succeeded, node-drained-2: Succeeded/Succeeded");
    assert!(outcome.checks[4].seen.ends_with("; 2 driver pods created"), "{:?}", outcome.checks[4]);
    assert_eq!(outcome.alerts.len(), 1);
    assert!(!outcome.alerts[0].fired, "{:?}", outcome.alerts);
}
