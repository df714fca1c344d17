//! A node is drained while two jobs run, as `kubectl drain` does it: the
//! node is cordoned, then each of its pods is evicted through the Eviction
//! API, again and again while a PodDisruptionBudget refuses (429).
//!
//! Owns: the node-drained experiment. Two SparkJobs with two executors each
//! run on three nodes under a budget that lets no running driver be evicted
//! (`spark-role=driver`, `maxUnavailable: 0` — what a platform team sets so
//! maintenance waits for batch drivers instead of restarting whole
//! applications). The node holding the first job's driver is drained: its
//! executors go (gracefully) and Spark's driver stand-in replaces them on
//! the other nodes, none on the cordoned one; the driver's eviction is
//! refused until its run ended, when it goes too. Each job must succeed
//! with its one first driver, and the node must end empty.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, DriverRun, Node as SimNode, Timings};

use super::{Lab, NAMESPACE, Observed, PATIENCE, each, series, state};
use crate::ChaosError;
use crate::outcome::Check;

const EXECUTORS: usize = 2;
/// How long a drain waits between rounds of evictions (kubectl waits 5 s after a 429).
const RETRY: Duration = Duration::from_millis(200);

/// What the drain did.
#[derive(Debug, Default)]
struct Drain {
    /// Pods the Eviction API let go.
    evicted: BTreeSet<String>,
    /// Pods bound to the node after it was cordoned that were not there before.
    newcomers: BTreeSet<String>,
    /// Whether the node was empty before the patience ran out.
    emptied: bool,
    /// Errors other than 429.
    errors: Vec<String>,
}

/// Cordons `node` and evicts its pods, each in its own task as kubectl
/// does, until none is left or `limit` passes. kube-rs's client retries a
/// 429 itself (with back-off), so a refused eviction shows here as a slow
/// one; the refusals are counted from the requests the simulated cluster
/// received.
async fn drain(client: kube::Client, node: &str, limit: Duration) -> Drain {
    let mut done = Drain::default();
    let nodes: Api<Node> = Api::all(client.clone());
    let cordon = Patch::Merge(json!({"spec": {"unschedulable": true}}));
    if let Err(e) = nodes.patch(node, &PatchParams::default(), &cordon).await {
        done.errors.push(format!("cordon: {e}"));
        return done;
    }
    let all: Api<Pod> = Api::all(client.clone());
    let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let mut first: Option<BTreeSet<String>> = None;
    let mut asking: BTreeSet<String> = BTreeSet::new();
    let mut evictions: tokio::task::JoinSet<(String, Result<(), kube::Error>)> = tokio::task::JoinSet::new();
    let started = Instant::now();
    while started.elapsed() < limit {
        while let Some(Ok((name, answer))) = evictions.try_join_next() {
            asking.remove(&name);
            match answer {
                Ok(()) => {
                    done.evicted.insert(name);
                }
                // Refused past the client's own retries, or gone meanwhile: the next round asks again.
                Err(kube::Error::Api(status)) if status.code == 429 || status.code == 404 => {}
                Err(e) => done.errors.push(format!("evict {name}: {e}")),
            }
        }
        let pods = match all.list(&on_node).await {
            Ok(list) => list.items,
            Err(e) => {
                done.errors.push(format!("list: {e}"));
                break;
            }
        };
        let names: BTreeSet<String> = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
        let known = first.get_or_insert_with(|| names.clone());
        done.newcomers.extend(names.difference(known).cloned());
        if pods.is_empty() {
            done.emptied = true;
            break;
        }
        for pod in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
            let name = pod.metadata.name.clone().unwrap_or_default();
            if !asking.insert(name.clone()) {
                continue;
            }
            let api: Api<Pod> = Api::namespaced(client.clone(), pod.metadata.namespace.as_deref().unwrap_or_default());
            evictions.spawn(async move {
                let answer = api.evict(&name, &EvictParams::default()).await.map(|_| ());
                (name, answer)
            });
        }
        tokio::time::sleep(RETRY).await;
    }
    evictions.abort_all();
    done
}

pub(super) fn run() -> Result<Observed, ChaosError> {
    let mut lab = Lab::start(Cluster {
        nodes: vec![SimNode::new("node-a", 8, 32), SimNode::new("node-b", 8, 32), SimNode::new("node-c", 8, 32)],
        timings: Timings { schedule: Duration::from_millis(10), start: Duration::from_millis(30) },
        executors: true,
        default_run: DriverRun::succeeds(Duration::from_millis(3000), "done\n"),
        // Executors take a moment to stop once told to, as Spark's do.
        stop_time: Duration::from_millis(100),
        ..Cluster::default()
    })?;
    lab.fake
        .insert(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "spark-drivers", "namespace": NAMESPACE},
                       "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"spark-role": "driver"}}}}))
        .ok_or_else(|| ChaosError::Infrastructure("cannot create the PodDisruptionBudget".into()))?;
    lab.start_operator()?;
    let names: Vec<String> = (1..=2).map(|i| format!("node-drained-{i}")).collect();
    for name in &names {
        lab.create(name, u32::try_from(EXECUTORS).unwrap_or(2), json!({}))?;
    }
    let driver_of = |lab: &Lab, job: &str| lab.job(job)["status"]["driverPod"].as_str().unwrap_or_default().to_owned();
    let all_running = lab
        .wait_until(PATIENCE, |lab| names.iter().all(|n| lab.running_executors(&driver_of(lab, n)).len() == EXECUTORS));
    let driver = driver_of(&lab, &names[0]);
    let node_of = |p: &Value| p["spec"]["nodeName"].as_str().unwrap_or_default().to_owned();
    let victim = lab.pods().iter().find(|p| p["metadata"]["name"] == driver.as_str()).map(node_of);
    let mut checks = Vec::new();
    let Some(victim) = victim.filter(|_| all_running) else {
        checks.push(Check::new(
            "the node was cordoned and its pods evicted through the Eviction API",
            false,
            format!("the jobs did not run (executors all running: {all_running}; driver {driver})"),
        ));
        return Ok(Observed { checks, series: Vec::new() });
    };
    let before = lab.metrics();
    let held: Vec<String> = lab
        .pods()
        .iter()
        .filter(|p| node_of(p) == victim)
        .map(|p| p["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let done = lab.runtime.block_on(drain(lab.client.clone(), &victim, PATIENCE));
    let cordoned = lab.fake.object("v1", "Node", None, &victim).is_some_and(|n| n["spec"]["unschedulable"] == true);
    checks.push(Check::new(
        "the node was cordoned and its pods evicted through the Eviction API",
        cordoned && done.errors.is_empty() && !done.evicted.is_empty(),
        format!(
            "{victim} held {}; evicted {}{}",
            held.join(", "),
            done.evicted.iter().cloned().collect::<Vec<_>>().join(", "),
            if done.errors.is_empty() { String::new() } else { format!("; errors: {}", done.errors.join("; ")) }
        ),
    ));
    // Every eviction of a pod but its last was refused: an allowed one leaves it terminating, not asked again.
    let asked = |pod: &str| {
        let path = format!("/api/v1/namespaces/{NAMESPACE}/pods/{pod}/eviction");
        lab.fake.requests().iter().filter(|r| r.method == "POST" && r.path == path).count()
    };
    let refused = asked(&driver).saturating_sub(1);
    checks.push(Check::new(
        "the budget refused the running driver's eviction (429) until its run ended",
        refused > 0 && lab.job(&names[0])["status"]["attempt"] == 1,
        format!("{driver}: {refused} evictions refused before the one allowed"),
    ));
    checks.push(Check::new(
        "nothing new landed on the cordoned node and it ended empty",
        done.newcomers.is_empty() && done.emptied,
        format!(
            "newcomers: {}; empty: {}",
            if done.newcomers.is_empty() {
                "none".to_owned()
            } else {
                done.newcomers.iter().cloned().collect::<Vec<_>>().join(", ")
            },
            done.emptied
        ),
    ));
    let finished = lab.wait_finished(&names);
    let succeeded = finished && names.iter().all(|n| lab.job(n)["status"]["state"] == "Succeeded");
    checks.push(Check::new("every job succeeded", succeeded, each(&names, |n| state(&lab.job(n)))));
    let one_driver = names.iter().all(|n| lab.job(n)["status"]["attempt"] == 1);
    checks.push(Check::new(
        "each job kept its first attempt's driver",
        one_driver && lab.pod_creations() == names.len(),
        format!(
            "{}; {} driver pods created",
            each(&names, |n| format!("attempt {}", lab.job(n)["status"]["attempt"])),
            lab.pod_creations()
        ),
    ));
    let after = lab.metrics();
    Ok(Observed { checks, series: series(&before, &after) })
}
