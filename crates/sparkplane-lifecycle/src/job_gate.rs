//! The Job route's gate in Kueue mode (issue #69, ADR 0099): `render
//! --target job` with a queue writes the batch Job `suspend: true` beside a
//! Workload of its own (driver and executors from the one sizing model),
//! labelled `sparkplane.dev/gates-job: <job>`. The operator plays Kueue's
//! job framework for that pair, by the rules it plays for SparkJobs
//! ([`crate::admission`]): an admitted Workload unsuspends its Job; an
//! evicted one (or one whose quota was taken back) suspends the Job again,
//! stops the Spark application it started, and once nothing of the run is
//! left gives the quota back ([`WorkloadAction::Release`]); a Job that ended
//! marks its Workload `Finished` ([`WorkloadAction::Finish`]) so Kueue frees
//! the quota; and a Workload whose Job is gone is deleted.
//!
//! [`JobView`] is what a batch Job says; [`gate_actions`] decides.
//!
//! Owns: those rules. Must not: read the API or the clock, or build the
//! Workload (`sparkplane_core::render::kueue::job_workload` does).

use serde_json::Value;

use crate::admission::{WorkloadAction, WorkloadView};

/// Kueue's job framework's reason for stopping a job whose Workload holds no quota.
pub const NOT_ADMITTED: &str = "NotAdmitted";
/// Its message.
pub const NOT_ADMITTED_MESSAGE: &str = "Not admitted by cluster queue";

/// How a batch Job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEnd {
    /// `Complete` (true) or `Failed`.
    pub succeeded: bool,
    /// The condition's message.
    pub message: String,
}

/// What a batch/v1 Job says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobView {
    /// Its uid.
    pub uid: String,
    /// `spec.suspend` is true.
    pub suspended: bool,
    /// `status.active`: its pods not ended.
    pub active: u64,
    /// Its `Complete` or `Failed` condition, once true.
    pub ended: Option<JobEnd>,
    /// Being deleted.
    pub deleting: bool,
}

impl JobView {
    /// Reads a Job as the API returned it.
    pub fn of(job: &Value) -> JobView {
        let ended = job["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
            .map(|c| JobEnd {
                succeeded: c["type"] == "Complete",
                message: c["message"].as_str().unwrap_or_default().to_owned(),
            });
        JobView {
            uid: job["metadata"]["uid"].as_str().unwrap_or_default().to_owned(),
            suspended: job["spec"]["suspend"] == true,
            active: job["status"]["active"].as_u64().unwrap_or(0),
            ended,
            deleting: job["metadata"]["deletionTimestamp"].is_string(),
        }
    }
}

/// What the gate's decision looks at.
#[derive(Clone, Debug)]
pub struct GateFacts<'a> {
    /// The gate Workload.
    pub workload: &'a WorkloadView,
    /// The uid of the Job the Workload is owned by (adopted), if any.
    pub owner: Option<&'a str>,
    /// The Job it names, if it exists.
    pub job: Option<&'a JobView>,
    /// A driver of the run that is not being deleted yet.
    pub driver_live: bool,
    /// A pod of the run (driver or executor) still exists, even one being deleted.
    pub spark_pods_left: bool,
}

/// What the operator does to a gated Job and its Workload, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateAction {
    /// Make the Job the Workload's owner (not its controller), so the
    /// Workload goes with the Job.
    Adopt {
        /// The Job's uid.
        uid: String,
    },
    /// Admitted: `spec.suspend: false`.
    Unsuspend,
    /// Not (or no longer) admitted: `spec.suspend: true`.
    Suspend {
        /// Why (Kueue's eviction reason, or [`NOT_ADMITTED`]).
        reason: String,
        /// Kueue's message.
        message: String,
    },
    /// Delete the run's driver (its executors go with it): suspending the
    /// Job stops spark-submit, not the application it started.
    StopDriver,
    /// To the Workload, by the rules SparkJob Workloads follow.
    Workload(WorkloadAction),
}

/// What to do, in order.
pub fn gate_actions(f: &GateFacts<'_>) -> Vec<GateAction> {
    let w = f.workload;
    if w.deleting {
        return Vec::new();
    }
    let Some(job) = f.job.filter(|j| !j.deleting) else {
        // Adopted by a Job that is gone: nothing left to gate. Never adopted: its Job is not there yet.
        return if f.owner.is_some() { vec![GateAction::Workload(WorkloadAction::Delete)] } else { Vec::new() };
    };
    if f.owner.is_some_and(|uid| uid != job.uid) {
        // The Job it gated was replaced by another of the same name: the new one needs a new Workload.
        return vec![GateAction::Workload(WorkloadAction::Delete)];
    }
    let mut actions = Vec::new();
    if f.owner.is_none() {
        actions.push(GateAction::Adopt { uid: job.uid.clone() });
    }
    if let Some(end) = &job.ended {
        if !w.finished {
            actions.push(GateAction::Workload(WorkloadAction::Finish {
                reason: if end.succeeded { "Succeeded" } else { "Failed" }.to_owned(),
                message: end.message.clone(),
            }));
        }
        return actions;
    }
    if w.finished {
        return actions;
    }
    let stop = |actions: &mut Vec<GateAction>, reason: &str, message: &str| {
        if !job.suspended {
            actions.push(GateAction::Suspend { reason: reason.to_owned(), message: message.to_owned() });
        }
        if f.driver_live {
            actions.push(GateAction::StopDriver);
        }
    };
    if let Some(evicted) = &w.evicted
        && w.quota_reserved
    {
        // Kueue's Preempted condition names the preemptor and why.
        let message = w.preempted.as_ref().map_or(&evicted.message, |p| &p.message);
        stop(&mut actions, &evicted.reason, message);
        if job.suspended && job.active == 0 && !f.spark_pods_left {
            actions.push(GateAction::Workload(WorkloadAction::Release {
                reason: evicted.reason.clone(),
                message: evicted.message.clone(),
            }));
        }
        return actions;
    }
    if w.admitted {
        if job.suspended {
            actions.push(GateAction::Unsuspend);
        }
    } else if !w.quota_reserved {
        stop(&mut actions, NOT_ADMITTED, NOT_ADMITTED_MESSAGE);
    }
    actions
}

#[cfg(test)]
#[path = "job_gate_tests.rs"]
mod tests;
