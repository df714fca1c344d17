//! A node with executors on it leaves the cluster while two jobs run.
//!
//! Owns: the node-lost experiment. Two SparkJobs with two executors each
//! run on three nodes; once every executor runs, a node that holds
//! executors and no driver is removed (its pods deleted as the pod garbage
//! collector does). Spark's driver stand-in asks for replacements, which
//! land on the remaining nodes; each job must still succeed with its one
//! first driver.

use std::time::Duration;

use serde_json::json;
use sparkplane_fakekube::{Cluster, DriverRun, Node, Timings};

use super::{Lab, Observed, PATIENCE, each, series, state};
use crate::ChaosError;
use crate::outcome::Check;

const EXECUTORS: usize = 2;

pub(super) fn run() -> Result<Observed, ChaosError> {
    let mut lab = Lab::start(Cluster {
        nodes: vec![Node::new("node-a", 8, 32), Node::new("node-b", 8, 32), Node::new("node-c", 8, 32)],
        timings: Timings { schedule: Duration::from_millis(10), start: Duration::from_millis(30) },
        executors: true,
        default_run: DriverRun::succeeds(Duration::from_millis(2500), "done\n"),
        ..Cluster::default()
    })?;
    lab.start_operator()?;
    let names: Vec<String> = (1..=2).map(|i| format!("node-lost-{i}")).collect();
    for name in &names {
        lab.create(name, u32::try_from(EXECUTORS).unwrap_or(2), json!({}))?;
    }
    let driver_of = |lab: &Lab, job: &str| lab.job(job)["status"]["driverPod"].as_str().unwrap_or_default().to_owned();
    let all_running = lab
        .wait_until(PATIENCE, |lab| names.iter().all(|n| lab.running_executors(&driver_of(lab, n)).len() == EXECUTORS));
    let mut checks = Vec::new();
    // A node that holds executors and no driver.
    let pods = lab.pods();
    let node_of = |p: &serde_json::Value| p["spec"]["nodeName"].as_str().unwrap_or_default().to_owned();
    let driver_nodes: Vec<String> =
        pods.iter().filter(|p| p["metadata"]["labels"]["spark-role"] == "driver").map(node_of).collect();
    let victim = ["node-a", "node-b", "node-c"].into_iter().find(|node| {
        !driver_nodes.iter().any(|d| d == node)
            && pods.iter().any(|p| p["metadata"]["labels"]["spark-role"] == "executor" && node_of(p) == *node)
    });
    let Some(victim) = victim.filter(|_| all_running) else {
        checks.push(Check::new(
            "a node holding executors and no driver was removed",
            false,
            format!(
                "no such node once the jobs ran (executors all running: {all_running}; drivers on {driver_nodes:?})"
            ),
        ));
        return Ok(Observed { checks, series: Vec::new() });
    };
    let before = lab.metrics();
    let lost = lab.fake.remove_node(victim);
    checks.push(Check::new(
        "a node holding executors and no driver was removed",
        !lost.is_empty(),
        format!("{victim} removed; its pods deleted: {}", lost.join(", ")),
    ));
    // Replacements: each job back to its executors, none lost, none on the removed node.
    let replaced = lab.wait_until(PATIENCE, |lab| {
        names.iter().all(|n| {
            let running = lab.running_executors(&driver_of(lab, n));
            running.len() == EXECUTORS
                && running
                    .iter()
                    .all(|p| node_of(p) != victim && !lost.iter().any(|l| p["metadata"]["name"] == l.as_str()))
        })
    });
    let seen = each(&names, |n| {
        let mut placed: Vec<String> = lab
            .running_executors(&driver_of(&lab, n))
            .iter()
            .map(|p| format!("{} on {}", p["metadata"]["name"].as_str().unwrap_or_default(), node_of(p)))
            .collect();
        placed.sort();
        placed.join(" + ")
    });
    checks.push(Check::new("the lost executors were replaced on the remaining nodes", replaced, seen));
    let finished = lab.wait_finished(&names);
    let succeeded = finished && names.iter().all(|n| lab.job(n)["status"]["state"] == "Succeeded");
    checks.push(Check::new("every job succeeded", succeeded, each(&names, |n| state(&lab.job(n)))));
    let one_driver = names.iter().all(|n| lab.drivers(n).len() == 1 && lab.job(n)["status"]["attempt"] == 1);
    checks.push(Check::new(
        "each job kept exactly one driver, its first attempt's",
        one_driver && lab.pod_creations() == names.len(),
        format!(
            "{}; {} driver pods created",
            each(&names, |n| format!(
                "{} driver(s), attempt {}",
                lab.drivers(n).len(),
                lab.job(n)["status"]["attempt"]
            )),
            lab.pod_creations()
        ),
    ));
    let after = lab.metrics();
    Ok(Observed { checks, series: series(&before, &after) })
}
