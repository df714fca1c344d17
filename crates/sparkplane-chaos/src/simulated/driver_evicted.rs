//! The kubelet evicts the drivers of three running jobs.
//!
//! Owns: the driver-evicted experiment. Three SparkJobs under
//! `restartPolicy: OnInfrastructureFailure` (one retry) run; each driver is
//! evicted (phase Failed, reason Evicted). Every run must be marked Evicted
//! and retried, and every retry must succeed, with never two drivers for
//! one attempt.

use std::time::Duration;

use serde_json::json;
use sparkplane_fakekube::{Cluster, DriverRule, DriverRun, Node, Timings};

use super::{Lab, NAMESPACE, Observed, PATIENCE, each, series, state, transitions};
use crate::ChaosError;
use crate::outcome::Check;

pub(super) fn run() -> Result<Observed, ChaosError> {
    let mut lab = Lab::start(Cluster {
        nodes: vec![Node::new("node-a", 16, 64), Node::new("node-b", 16, 64)],
        timings: Timings { schedule: Duration::from_millis(10), start: Duration::from_millis(30) },
        executors: true,
        // The first attempt runs until something stops it; the retry ends well.
        drivers: vec![DriverRule { job: "*".into(), attempt: Some(1), run: DriverRun::forever() }],
        default_run: DriverRun::succeeds(Duration::from_millis(300), "done\n"),
        ..Cluster::default()
    })?;
    lab.start_operator()?;
    let names: Vec<String> = (1..=3).map(|i| format!("driver-evicted-{i}")).collect();
    let policy =
        json!({"restartPolicy": {"type": "OnInfrastructureFailure", "retries": 1, "backoff": {"initial": "1s"}}});
    for name in &names {
        lab.create(name, 1, policy.clone())?;
    }
    let running = lab.wait_until(PATIENCE, |lab| names.iter().all(|n| lab.job(n)["status"]["state"] == "Running"));
    let before = lab.metrics();
    let mut evicted = Vec::new();
    for name in &names {
        let driver = lab.job(name)["status"]["driverPod"].as_str().unwrap_or_default().to_owned();
        if running && lab.fake.evict_pod(NAMESPACE, &driver) {
            evicted.push(driver);
        }
    }
    let mut checks = vec![Check::new(
        "every job's running driver was evicted",
        evicted.len() == names.len(),
        format!("evicted: {}", if evicted.is_empty() { "none".to_owned() } else { evicted.join(", ") }),
    )];
    let finished = lab.wait_finished(&names);
    let retried = names.iter().all(|n| transitions(&lab.job(n)).iter().any(|t| t == "Retrying/Evicted"));
    checks.push(Check::new(
        "each run was marked Evicted and retried",
        retried,
        each(&names, |n| transitions(&lab.job(n)).join(" → ")),
    ));
    let succeeded = finished
        && names.iter().all(|n| {
            let job = lab.job(n);
            job["status"]["state"] == "Succeeded" && job["status"]["attempt"] == 2
        });
    checks.push(Check::new(
        "every retry succeeded",
        succeeded,
        each(&names, |n| format!("{} at attempt {}", state(&lab.job(n)), lab.job(n)["status"]["attempt"])),
    ));
    // Never two drivers for one attempt: at most one per attempt label, exactly one for the retry.
    let per_attempt = |n: &str, attempt: &str| {
        lab.drivers(n).iter().filter(|p| p["metadata"]["labels"][sparkplane_api::labels::ATTEMPT] == attempt).count()
    };
    let single = names.iter().all(|n| per_attempt(n, "1") <= 1 && per_attempt(n, "2") == 1);
    checks.push(Check::new(
        "never two drivers for one attempt",
        single && lab.pod_creations() == 2 * names.len(),
        format!(
            "{}; {} driver pods created",
            each(&names, |n| format!("attempt 1: {}, attempt 2: {}", per_attempt(n, "1"), per_attempt(n, "2"))),
            lab.pod_creations()
        ),
    ));
    let after = lab.metrics();
    Ok(Observed { checks, series: series(&before, &after) })
}
