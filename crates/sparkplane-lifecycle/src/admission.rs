//! Kueue mode (`sparkplane operator --kueue`, ADR 0073): a run's admission
//! is its Kueue `Workload`'s, and the operator plays Kueue's job framework
//! for SparkJobs — it creates the Workload before any pod, starts the
//! driver only once Kueue admitted it (with the flavor's placement and at
//! most the admitted executors), stops the run when Kueue evicts it and
//! then gives the quota back, and marks the Workload finished when the run
//! ends.
//!
//! [`WorkloadView`] is what a Workload says; [`admission`] turns it into
//! the state machine's [`Admission`]; [`workload_actions`] says what the
//! operator does to the Workload after a decision; [`placement`] reads the
//! admission's flavors.
//!
//! Owns: those rules. Must not: read the API or the clock, or build the
//! Workload (`sparkplane_core::render::kueue` does, from the sizing model).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use serde_json::Value;
use sparkplane_api::job::JobState;
use sparkplane_core::render::kueue::{Admitted, EXECUTOR_POD_SET};

use crate::queue::Admission;

/// The state's reason while Kueue has not admitted the run.
pub const WAITING_FOR_ADMISSION: &str = "WaitingForAdmission";

/// A condition of a Workload: reason and message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Said {
    /// One word.
    pub reason: String,
    /// Kueue's sentence.
    pub message: String,
}

/// What the run's Workload says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadView {
    /// Its name.
    pub name: String,
    /// `QuotaReserved` is true (it holds quota).
    pub quota_reserved: bool,
    /// `Admitted` is true.
    pub admitted: bool,
    /// `Evicted` is true: why and who.
    pub evicted: Option<Said>,
    /// `Preempted` is true: Kueue's finer reason (`InClusterQueue`, …).
    pub preempted: Option<Said>,
    /// `Finished` is true.
    pub finished: bool,
    /// `QuotaReserved` is false: why it waits.
    pub pending: Option<Said>,
    /// The ClusterQueue that admitted it.
    pub cluster_queue: Option<String>,
    /// Executors admitted (the executor pod set's count).
    pub executors: Option<u32>,
    /// The flavors assigned, by name (one per pod set resource, deduplicated).
    pub flavors: Vec<String>,
    /// Being deleted.
    pub deleting: bool,
}

fn condition<'a>(workload: &'a Value, kind: &str) -> Option<&'a Value> {
    workload["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)
}

fn said(c: &Value) -> Said {
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
    Said { reason: s("reason"), message: s("message") }
}

impl WorkloadView {
    /// Reads a Workload (`kueue.x-k8s.io/v1beta2`) as the API returned it.
    pub fn of(workload: &Value) -> WorkloadView {
        let is_true = |kind: &str| condition(workload, kind).is_some_and(|c| c["status"] == "True");
        let when_true = |kind: &str| condition(workload, kind).filter(|c| c["status"] == "True").map(said);
        let admission = &workload["status"]["admission"];
        let assignments = admission["podSetAssignments"].as_array();
        let executors = assignments
            .and_then(|a| a.iter().find(|p| p["name"] == EXECUTOR_POD_SET))
            .and_then(|p| p["count"].as_u64())
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let mut flavors: Vec<String> = assignments
            .into_iter()
            .flatten()
            .flat_map(|p| p["flavors"].as_object().into_iter().flat_map(|f| f.values()))
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        flavors.sort();
        flavors.dedup();
        WorkloadView {
            name: workload["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            quota_reserved: is_true("QuotaReserved"),
            admitted: is_true("Admitted"),
            evicted: when_true("Evicted"),
            preempted: when_true("Preempted"),
            finished: is_true("Finished"),
            pending: condition(workload, "QuotaReserved").filter(|c| c["status"] == "False").map(said),
            cluster_queue: admission["clusterQueue"].as_str().map(str::to_owned),
            executors,
            flavors,
            deleting: workload["metadata"]["deletionTimestamp"].is_string(),
        }
    }
}

/// The run's admission, as its Workload says (None: not created yet).
pub fn admission(workload: Option<&WorkloadView>) -> Admission {
    let waiting = |message: String| Admission::Waiting { reason: WAITING_FOR_ADMISSION.to_owned(), message };
    let Some(w) = workload else {
        return waiting("the Workload is being created for Kueue to admit".to_owned());
    };
    if w.finished || w.deleting {
        return waiting(format!("the Workload {} ended; a new one is made for this run", w.name));
    }
    if let Some(evicted) = &w.evicted
        && w.quota_reserved
    {
        // Kueue's Preempted condition names the preemptor and why.
        let message = w.preempted.as_ref().map_or(&evicted.message, |p| &p.message).clone();
        return Admission::Evicted { reason: evicted.reason.clone(), message };
    }
    if w.admitted {
        return Admission::Admit;
    }
    match &w.pending {
        Some(p) if !p.message.is_empty() => waiting(format!("Kueue: {}", p.message)),
        _ => waiting(format!("the Workload {} waits for Kueue to admit it", w.name)),
    }
}

/// What the operator does to the run's Workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkloadAction {
    /// Create it (from the sizing model, owned by the SparkJob).
    Create,
    /// Delete it: the run no longer needs admission (suspended), or it
    /// ended and a new run needs a new one.
    Delete,
    /// The evicted run has stopped: give the quota back (`status.admission`
    /// cleared, `QuotaReserved=False`, `Requeued`), as Kueue's job framework does.
    Release {
        /// The eviction's reason.
        reason: String,
        /// The eviction's message.
        message: String,
    },
    /// The run ended: `Finished=True`, so Kueue frees its quota.
    Finish {
        /// `Succeeded` or `Failed`.
        reason: String,
        /// The run's last message.
        message: String,
    },
}

/// What a Workload decision looks at.
#[derive(Clone, Debug)]
pub struct RunFacts<'a> {
    /// The run's Workload, if it exists.
    pub workload: Option<&'a WorkloadView>,
    /// The run's state after the state machine decided.
    pub state: Option<JobState>,
    /// Its reason and message after the decision.
    pub reason: Option<&'a str>,
    /// The message.
    pub message: Option<&'a str>,
    /// A pod of the run (driver or executor) still exists.
    pub pods_left: bool,
}

/// What to do to the Workload, in order.
pub fn workload_actions(run: &RunFacts<'_>) -> Vec<WorkloadAction> {
    let queued = matches!(run.state, Some(JobState::Queued) | None);
    let Some(w) = run.workload else {
        return if queued { vec![WorkloadAction::Create] } else { Vec::new() };
    };
    if w.deleting {
        return Vec::new();
    }
    match run.state {
        // A new run of a job whose Workload ended (a manual trigger, `restartPolicy: Always`).
        _ if queued && w.finished => vec![WorkloadAction::Delete],
        Some(JobState::Suspended) => vec![WorkloadAction::Delete],
        Some(state) if state.is_final() && !w.finished => vec![WorkloadAction::Finish {
            reason: if state == JobState::Succeeded { "Succeeded" } else { "Failed" }.to_owned(),
            message: run.message.unwrap_or_default().to_owned(),
        }],
        _ => match &w.evicted {
            Some(e) if w.quota_reserved && !run.pods_left && !run.state.is_some_and(JobState::is_active) => {
                vec![WorkloadAction::Release { reason: e.reason.clone(), message: e.message.clone() }]
            }
            _ => Vec::new(),
        },
    }
}

/// Whether Kueue's job framework marks a release `Requeued=True`: after a
/// preemption or a node failure (the workload is queued again at once).
pub fn requeued_after(reason: &str) -> bool {
    matches!(reason, "Preempted" | "NodeFailures")
}

/// The admission's placement: executors admitted and the assigned
/// flavors' node labels and tolerations (`flavors`: the ResourceFlavors, as
/// the API returned them).
pub fn placement(workload: &WorkloadView, flavors: &[Value], asked_executors: u32) -> Admitted {
    let mut node_selector = BTreeMap::new();
    let mut tolerations: Vec<Toleration> = Vec::new();
    for name in &workload.flavors {
        let Some(flavor) = flavors.iter().find(|f| f["metadata"]["name"] == name.as_str()) else { continue };
        if let Some(labels) = flavor["spec"]["nodeLabels"].as_object() {
            for (k, v) in labels {
                if let Some(v) = v.as_str() {
                    node_selector.insert(k.clone(), v.to_owned());
                }
            }
        }
        for t in flavor["spec"]["tolerations"].as_array().into_iter().flatten() {
            if let Ok(t) = serde_json::from_value::<Toleration>(t.clone())
                && !tolerations.contains(&t)
            {
                tolerations.push(t);
            }
        }
    }
    Admitted { executors: workload.executors.unwrap_or(asked_executors), node_selector, tolerations }
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
