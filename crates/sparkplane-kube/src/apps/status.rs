//! `status`: a SparkJob's state as the operator wrote it, with its driver
//! pod's phase now, or a directly submitted driver with its executors.
//! Owns [`ManagedJob`] and [`Status`], and how `status` shows them as text.
//! Must not: print.

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde::Serialize;
use sparkplane_api::SparkJob;
use sparkplane_api::job::{SparkJobStatus, Transition};
use sparkplane_documents::table::Table;

use super::find::{Located, Lookup, locate};
use super::{Application, ExecutorCounts, ManagedBy, age, application, executors_by_app, phase};
use crate::error::{KubeError, Operation};

/// The state a SparkJob shows before the operator has written a status.
pub const NEW_STATE: &str = "New";

/// A SparkJob as `status` shows it: the operator's status (flattened, as
/// `kubectl get sparkjob -o json` has it under `status`) with what the job
/// itself says about its schedule, and its driver pod's phase now.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedJob {
    /// The SparkJob's name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Always `operator`.
    pub managed_by: ManagedBy,
    /// The SparkJob's creation time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `spec.schedule.cron` of a scheduled job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// The scheduled job that started this run (`sparkplane.dev/scheduled-by`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_by: Option<String>,
    /// `spec.suspend`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// The phase of the driver pod `driverPod` names, as the API server has
    /// it now; absent when there is no such pod (not yet, or no more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_phase: Option<String>,
    /// What the operator last wrote (empty before it acted).
    #[serde(flatten)]
    pub status: SparkJobStatus,
}

impl ManagedJob {
    /// `job` with the phase of its current driver pod (None: no such pod).
    pub fn of(job: &SparkJob, driver_phase: Option<String>) -> ManagedJob {
        let labels = job.metadata.labels.as_ref();
        ManagedJob {
            name: job.metadata.name.clone().unwrap_or_default(),
            namespace: job.metadata.namespace.clone().unwrap_or_default(),
            managed_by: ManagedBy::Operator,
            created: job.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()),
            cron: job.spec.schedule.as_ref().and_then(|s| s.cron.clone()),
            scheduled_by: labels.and_then(|l| l.get(sparkplane_lifecycle::SCHEDULED_BY_LABEL)).cloned(),
            suspend: job.spec.suspend.unwrap_or(false),
            driver_phase,
            status: job.status.clone().unwrap_or_default(),
        }
    }

    /// The operator's state, or [`NEW_STATE`] before it wrote one.
    pub fn state(&self) -> &'static str {
        self.status.state.map_or(NEW_STATE, |s| s.as_str())
    }
}

/// What `status` found.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Status {
    /// A driver pod (submitted directly, or named by its pod name).
    Application(Box<Application>),
    /// A SparkJob.
    Job(Box<ManagedJob>),
}

/// What `lookup` names, with its state: a SparkJob's status and its driver
/// pod's phase now, else the newest matching driver with its executor counts.
pub async fn status(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Status, KubeError> {
    match locate(client, server, namespace, lookup).await? {
        Located::Job(job) => {
            let driver = current_driver(client, server, namespace, &job).await?;
            Ok(Status::Job(Box::new(ManagedJob::of(&job, driver.as_ref().map(phase)))))
        }
        Located::Driver(pod) => {
            let mut app = application(&pod);
            let executors = executors_by_app(client, server, Some(namespace), Some(&app.app_id)).await?;
            app.executors = ExecutorCounts::of(executors.get(&app.app_id).into_iter().flatten());
            Ok(Status::Application(Box::new(app)))
        }
    }
}

/// The driver pod a SparkJob's status names, when it exists.
pub(super) async fn current_driver(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    job: &SparkJob,
) -> Result<Option<Pod>, KubeError> {
    let Some(pod) = job.status.as_ref().and_then(|s| s.driver_pod.as_deref()) else { return Ok(None) };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    pods.get_opt(pod)
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("get", "Pod", format!("{namespace}/{pod}")), server))
}

/// `key:` padded so values line up, then the value.
fn field(key: &str, value: &str) -> String {
    format!("{:<12} {value}\n", format!("{key}:"))
}

/// Transitions as an indented table, oldest first.
fn transition_rows(transitions: &[Transition]) -> Vec<String> {
    let mut table = Table::new(&["TIME", "STATE", "REASON", "MESSAGE"]);
    for t in transitions {
        table.row(vec![
            t.time.clone(),
            t.state.clone(),
            t.reason.clone().unwrap_or_else(|| "-".into()),
            t.message.clone().unwrap_or_default(),
        ]);
    }
    table.render().lines().map(|line| format!("  {line}\n")).collect()
}

impl ManagedJob {
    /// The SparkJob's status as `status` shows it: aligned `key: value`
    /// lines, the driver's exit and log tail, the schedule, then the
    /// transitions as a table.
    pub fn text(&self) -> String {
        let s = &self.status;
        let mut out = String::new();
        out.push_str(&field("name", &self.name));
        out.push_str(&field("namespace", &self.namespace));
        out.push_str(&field("managed", "operator (SparkJob)"));
        if let Some(parent) = &self.scheduled_by {
            out.push_str(&field("run of", &format!("SparkJob {parent} (scheduled)")));
        }
        out.push_str(&field("state", self.state()));
        for (key, value) in [("reason", &s.reason), ("message", &s.message)] {
            if let Some(value) = value {
                out.push_str(&field(key, value));
            }
        }
        if self.suspend {
            out.push_str(&field("suspended", "yes (spec.suspend)"));
        }
        if let Some(attempt) = s.attempt {
            let retries = s.retries.map_or_else(String::new, |r| format!(" (retries used: {r})"));
            out.push_str(&field("attempt", &format!("{attempt}{retries}")));
        }
        if let Some(pod) = &s.driver_pod {
            let phase = self.driver_phase.as_deref().map_or_else(|| "gone".to_owned(), str::to_owned);
            out.push_str(&field("driver", &format!("{pod} ({phase})")));
        }
        if let Some(executors) = s.executors {
            out.push_str(&field("executors", &ExecutorCounts::from(executors).summary()));
        }
        for (key, value) in [("app id", &s.application_id), ("spec hash", &s.spec_hash)] {
            if let Some(value) = value {
                out.push_str(&field(key, value));
            }
        }
        if let Some(created) = &self.created {
            out.push_str(&field("age", &age(created)));
        }
        for (key, value) in [
            ("queued", &s.queued_at),
            ("submitted", &s.submitted_at),
            ("started", &s.started_at),
            ("finished", &s.finished_at),
            ("next retry", &s.next_retry_at),
        ] {
            if let Some(value) = value {
                out.push_str(&field(key, value));
            }
        }
        if let Some(exit) = &s.driver_exit {
            if let Some(code) = exit.exit_code {
                out.push_str(&field("exit code", &code.to_string()));
            }
            if !exit.log_tail.is_empty() {
                out.push_str("log tail:\n");
                out.extend(exit.log_tail.iter().map(|line| format!("  {line}\n")));
            }
        }
        if let Some(url) = &s.log_archive {
            out.push_str(&field("log archive", url));
        }
        if let Some(cron) = &self.cron {
            out.push_str(&field("schedule", cron));
        }
        if let Some(schedule) = &s.schedule {
            for (key, value) in [("last run", &schedule.last_schedule_time), ("next run", &schedule.next_schedule_time)]
            {
                if let Some(value) = value {
                    out.push_str(&field(key, value));
                }
            }
            if !schedule.active.is_empty() {
                out.push_str(&field("active runs", &schedule.active.join(", ")));
            }
            if !schedule.skipped.is_empty() {
                out.push_str("skipped:\n");
                out.extend(transition_rows(&schedule.skipped));
            }
        }
        if !s.transitions.is_empty() {
            out.push_str("transitions:\n");
            out.extend(transition_rows(&s.transitions));
        }
        out
    }
}

impl Status {
    /// What was found as `status` shows it.
    pub fn text(&self) -> String {
        match self {
            Status::Application(app) => app.text(),
            Status::Job(job) => job.text(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::fixtures::job;
    use super::ManagedJob;

    #[test]
    fn a_managed_job_flattens_the_status_and_names_its_schedule() {
        let mut scheduled =
            job("nightly", "u-1", json!({"state": "Scheduled", "schedule": {"active": ["nightly-29"]}}));
        scheduled.spec.schedule = Some(serde_json::from_value(json!({"cron": "0 2 * * *"})).expect("schedule"));
        let view = ManagedJob::of(&scheduled, None);
        let json = serde_json::to_value(&view).expect("json");
        assert_eq!(json["state"], "Scheduled");
        assert_eq!(json["cron"], "0 2 * * *");
        assert_eq!(json["schedule"]["active"], json!(["nightly-29"]));
        assert_eq!(json["managedBy"], "operator");
        assert!(json.get("driverPhase").is_none() && json.get("suspend").is_none(), "{json}");
        assert_eq!(ManagedJob::of(&job("x", "u", Value::Null), None).state(), "New");
    }

    #[test]
    fn a_managed_job_shows_its_status_schedule_exit_and_transitions_aligned() {
        let mut failed = job(
            "nightly-29",
            "u-1",
            json!({"state": "Failed", "reason": "DriverFailed", "attempt": 2, "retries": 1,
                   "driverPod": "nightly-29-2-driver", "specHash": "abc123",
                   "driverExit": {"exitCode": 1, "logTail": ["boom"]},
                   "transitions": [{"time": "2026-01-01T00:00:00Z", "state": "Running"},
                                   {"time": "2026-01-01T00:05:00Z", "state": "Failed", "reason": "DriverFailed",
                                    "message": "exit code 1"}]}),
        );
        failed.metadata.creation_timestamp = None;
        failed.metadata.labels =
            Some([(sparkplane_lifecycle::SCHEDULED_BY_LABEL.to_owned(), "nightly".to_owned())].into());
        assert_eq!(
            ManagedJob::of(&failed, None).text(),
            "name:        nightly-29\nnamespace:   team-a\nmanaged:     operator (SparkJob)\n\
             run of:      SparkJob nightly (scheduled)\nstate:       Failed\nreason:      DriverFailed\n\
             attempt:     2 (retries used: 1)\ndriver:      nightly-29-2-driver (gone)\n\
             spec hash:   abc123\nexit code:   1\nlog tail:\n  boom\ntransitions:\n\
             \x20 TIME                  STATE    REASON        MESSAGE\n\
             \x20 2026-01-01T00:00:00Z  Running  -\n\
             \x20 2026-01-01T00:05:00Z  Failed   DriverFailed  exit code 1\n"
        );
    }
}
