//! The operator is killed mid-flight and started again.
//!
//! Owns: the operator-killed experiment. Six SparkJobs are created; once
//! some have their drivers and others are still on their way, the operator
//! is killed without a graceful shutdown (as a crash or an OOM kill ends
//! it). While it is down, drivers end and two more SparkJobs are created.
//! A new operator then takes over from the status the first one wrote:
//! it adopts the drivers it finds, submits nothing twice, and every job
//! ends Succeeded.

use std::time::Duration;

use serde_json::json;
use sparkplane_fakekube::{Cluster, DriverRun, Timings};
use sparkplane_observe::rules::DEFAULT_OPERATOR_JOB;

use super::{Lab, Observed, PATIENCE, each, series, state};
use crate::ChaosError;
use crate::alerts::Series;
use crate::outcome::Check;

/// How long the operator stays down.
const DOWN: Duration = Duration::from_millis(1000);

pub(super) fn run() -> Result<Observed, ChaosError> {
    let mut lab = Lab::start(Cluster {
        timings: Timings { schedule: Duration::from_millis(10), start: Duration::from_millis(30) },
        default_run: DriverRun::succeeds(Duration::from_millis(600), "done\n"),
        ..Cluster::default()
    })?;
    lab.start_operator()?;
    let first: Vec<String> = (1..=6).map(|i| format!("operator-killed-{i}")).collect();
    let late: Vec<String> = (7..=8).map(|i| format!("operator-killed-{i}")).collect();
    for name in &first {
        lab.create(name, 1, json!({}))?;
    }
    let submitted = |lab: &Lab, n: &String| lab.job(n)["status"]["driverPod"].is_string();
    let mid_flight = lab.wait_until(PATIENCE, |lab| first.iter().any(|n| submitted(lab, n)));
    let up_before = lab.operator_up();
    let before = lab.kill_operator();
    let adopted: Vec<(String, String)> = first
        .iter()
        .filter_map(|n| Some((n.clone(), lab.job(n)["status"]["driverPod"].as_str()?.to_owned())))
        .collect();
    let unfinished = first.iter().filter(|n| !super::is_final(&lab.job(n))).count();
    let up_while_down = lab.operator_up();
    for name in &late {
        lab.create(name, 1, json!({}))?;
    }
    std::thread::sleep(DOWN);
    let mut checks = vec![Check::new(
        "the operator was killed mid-flight",
        mid_flight && up_before && !up_while_down && unfinished > 0,
        format!(
            "killed with {} of {} jobs submitted and {unfinished} not finished; {} more created while it was down",
            adopted.len(),
            first.len(),
            late.len()
        ),
    )];
    lab.start_operator()?;
    let names: Vec<String> = first.iter().chain(&late).cloned().collect();
    let finished = lab.wait_finished(&names);
    let succeeded = finished && names.iter().all(|n| lab.job(n)["status"]["state"] == "Succeeded");
    checks.push(Check::new("every job ended Succeeded", succeeded, each(&names, |n| state(&lab.job(n)))));
    let once = names.iter().all(|n| lab.drivers(n).len() == 1 && lab.job(n)["status"]["attempt"] == 1);
    checks.push(Check::new(
        "no job was submitted twice",
        once && lab.pod_creations() == names.len(),
        format!(
            "{}; {} driver pods created for {} jobs",
            each(&names, |n| format!("{} driver(s)", lab.drivers(n).len())),
            lab.pod_creations(),
            names.len()
        ),
    ));
    let kept = adopted.iter().all(|(n, pod)| lab.job(n)["status"]["driverPod"] == pod.as_str());
    checks.push(Check::new(
        "the new operator took over the drivers the killed one had started",
        !adopted.is_empty() && kept,
        adopted
            .iter()
            .map(|(n, pod)| format!("{n}: {pod} → {}", lab.job(n)["status"]["driverPod"].as_str().unwrap_or("none")))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    let after = lab.metrics();
    // What a scrape saw of the operator: up before the kill, down after it.
    let up = |alive: bool| if alive { 1.0 } else { 0.0 };
    let mut produced = series(&before, &after);
    produced.push(Series::step(
        format!("up{{job=\"{DEFAULT_OPERATOR_JOB}\",instance=\"operator-0\"}}"),
        up(up_before),
        up(up_while_down),
    ));
    Ok(Observed { checks, series: produced })
}
