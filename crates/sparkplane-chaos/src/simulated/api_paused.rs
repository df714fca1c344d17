//! The API server stops answering while four jobs run.
//!
//! Owns: the api-server-paused experiment. Four SparkJobs run (three end
//! well, one's driver exits 1); while every driver runs, the API server is
//! paused for longer than the drivers take to end, so their ends happen
//! while the operator can neither read nor write. After the pause every
//! job must end as it would have — nothing lost, nothing submitted twice.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use sparkplane_fakekube::{Cluster, DriverRule, DriverRun, Timings};

use super::{Lab, Observed, PATIENCE, each, series, state};
use crate::ChaosError;
use crate::outcome::Check;

/// How long the API server stays paused.
const PAUSE: Duration = Duration::from_millis(1500);

pub(super) fn run() -> Result<Observed, ChaosError> {
    let names: Vec<String> = (1..=4).map(|i| format!("api-paused-{i}")).collect();
    let failing = names[3].clone();
    let mut lab = Lab::start(Cluster {
        timings: Timings { schedule: Duration::from_millis(10), start: Duration::from_millis(30) },
        drivers: vec![DriverRule {
            job: failing.clone(),
            attempt: None,
            run: DriverRun::fails(Duration::from_millis(500), 1, "bad input\n"),
        }],
        default_run: DriverRun::succeeds(Duration::from_millis(500), "done\n"),
        ..Cluster::default()
    })?;
    lab.start_operator()?;
    // What each job ends as without a pause.
    let expected: BTreeMap<&str, &str> = names
        .iter()
        .map(|n| (n.as_str(), if *n == failing { "Failed/DriverFailed" } else { "Succeeded/Succeeded" }))
        .collect();
    for name in &names {
        lab.create(name, 1, json!({}))?;
    }
    let drivers_running =
        |lab: &Lab| names.iter().all(|n| lab.drivers(n).iter().any(|p| p["status"]["phase"] == "Running"));
    let running = lab.wait_until(PATIENCE, drivers_running);
    let before = lab.metrics();
    let statuses = |lab: &Lab| names.iter().map(|n| lab.job(n)["status"].clone()).collect::<Vec<_>>();
    lab.fake.pause();
    let at_pause = statuses(&lab);
    std::thread::sleep(PAUSE);
    let ended_in_pause = names
        .iter()
        .filter(|n| {
            lab.drivers(n).iter().any(|p| matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
        })
        .count();
    let unchanged = statuses(&lab) == at_pause;
    lab.fake.resume();
    let mut checks = vec![Check::new(
        "the drivers ended while the API server was paused, and no status moved until it answered again",
        running && ended_in_pause == names.len() && unchanged,
        format!(
            "{ended_in_pause} of {} drivers ended during the {} ms pause; statuses {}",
            names.len(),
            PAUSE.as_millis(),
            if unchanged { "unchanged" } else { "changed" }
        ),
    )];
    let finished = lab.wait_finished(&names);
    let as_expected = finished && names.iter().all(|n| state(&lab.job(n)) == expected[n.as_str()]);
    checks.push(Check::new(
        "every job ended as it would have without the pause",
        as_expected,
        each(&names, |n| format!("{} (expected {})", state(&lab.job(n)), expected[n])),
    ));
    let once = names.iter().all(|n| lab.drivers(n).len() == 1 && lab.job(n)["status"]["attempt"] == 1);
    checks.push(Check::new(
        "no submission was lost or duplicated",
        once && lab.pod_creations() == names.len(),
        format!(
            "{}; {} driver pods created",
            each(&names, |n| format!("{} driver(s)", lab.drivers(n).len())),
            lab.pod_creations()
        ),
    ));
    let after = lab.metrics();
    Ok(Observed { checks, series: series(&before, &after) })
}
