//! node-lost on the simulated cluster with the operator: the lost node's
//! executors are replaced and both jobs succeed with one driver each.

use sparkplane_chaos::{Experiment, Settings, run};

#[test]
fn a_lost_node_s_executors_are_replaced_and_the_jobs_succeed_with_one_driver() {
    let outcome = run(Experiment::NodeLost, &Settings::default()).expect("the experiment ran");
    assert!(outcome.passed(), "{:#?}", outcome.failures());
    let whats: Vec<&str> = outcome.checks.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "a node holding executors and no driver was removed",
            "the lost executors were replaced on the remaining nodes",
            "every job succeeded",
            "each job kept exactly one driver, its first attempt's",
        ]
    );
    assert!(outcome.checks[0].seen.contains("-exec-"), "{:?}", outcome.checks[0]);
    assert_eq!(outcome.checks[2].seen, "node-lost-1: Succeeded/Succeeded, node-lost-2: Succeeded/Succeeded");
    assert!(outcome.checks[3].seen.ends_with("; 2 driver pods created"), "{:?}", outcome.checks[3]);
    assert_eq!(outcome.alerts.len(), 1);
    assert_eq!(outcome.alerts[0].alert, "SparkplaneOperatorSubmissionFailures");
    assert!(!outcome.alerts[0].fired, "{:?}", outcome.alerts);
}
