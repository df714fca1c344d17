//! Applications on a cluster: those submitted directly, seen through their
//! driver pods, and SparkJobs the operator manages. One module per verb,
//! each with the row type it answers with: find a name ([`find`](mod@find)), show its
//! state ([`status`](mod@status)), list ([`list`](mod@list)), delete ([`delete`](mod@delete)), read or follow
//! the driver's log, or where the operator archived it ([`logs`](mod@logs)), and wait
//! for the outcome while counting executors ([`wait`](mod@wait)). Their items are this
//! module's too (`apps::list`, `apps::Listed`), so callers name the verb,
//! not the file.
//!
//! A directly submitted application is a driver pod labelled
//! `app.kubernetes.io/managed-by: sparkplane` and `spark-role: driver`; its
//! executors are the pods labelled `spark-role: executor` and
//! `spark-app-selector: <app id>`. The operator's driver pods carry the same
//! labels and an ownerReference (controller) to their SparkJob: that is how
//! a driver is told apart as the operator's, so an application is never
//! shown twice. A name is looked up as a SparkJob first, then as a job's or
//! a driver pod's.
//!
//! Owns (here): what the verbs share — the driver selector, who manages an
//! application ([`ManagedBy`]), executor counts, and turning a driver pod
//! into an [`Application`] (pure functions, tested here). Must not: print
//! (progress goes to a callback, views are returned as text), or decide
//! exit codes.

pub mod delete;
pub mod find;
pub mod list;
pub mod logs;
pub mod status;
pub mod wait;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;
use sparkplane_api::SparkJob;
use sparkplane_api::job::ExecutorStates;
use sparkplane_api::labels;

use crate::error::{KubeError, Operation};

pub use delete::{Deleted, delete, owned_by};
pub use find::{Located, Lookup, find_driver, find_drivers, locate};
pub use list::{Listed, list, merge};
pub use logs::{LogRead, LogSource, job_log_source, log_source, logs};
pub use status::{ManagedJob, NEW_STATE, Status, status};
pub(crate) use wait::wait_backoff;
pub use wait::{WaitEvent, wait};

/// Selector of every driver pod sparkplane manages.
pub fn managed_drivers() -> String {
    format!("{},spark-role=driver", labels::MANAGED_BY_SELECTOR)
}

/// The Spark container in the driver pod.
pub const DRIVER_CONTAINER: &str = sparkplane_core::render::common::DRIVER_CONTAINER;

/// Who runs an application.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagedBy {
    /// Submitted directly (`sparkplane submit`): its driver pods are all there is.
    #[default]
    Direct,
    /// A SparkJob the operator reconciles; its driver pods are owned by it.
    Operator,
}

impl ManagedBy {
    /// `direct` or `operator`, as tables and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedBy::Direct => "direct",
            ManagedBy::Operator => "operator",
        }
    }
}

/// Executor pods of an application by phase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExecutorCounts {
    /// Pending.
    pub pending: u32,
    /// Running.
    pub running: u32,
    /// Succeeded.
    pub succeeded: u32,
    /// Failed.
    pub failed: u32,
}

impl ExecutorCounts {
    /// Counts `pods` by phase.
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> ExecutorCounts {
        let mut counts = ExecutorCounts::default();
        for pod in pods {
            match phase(pod).as_str() {
                "Running" => counts.running += 1,
                "Succeeded" => counts.succeeded += 1,
                "Failed" => counts.failed += 1,
                _ => counts.pending += 1,
            }
        }
        counts
    }

    /// `2 running, 1 pending`; `0` when there are none.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (self.running, "running"),
            (self.pending, "pending"),
            (self.succeeded, "succeeded"),
            (self.failed, "failed"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() { "0".to_owned() } else { parts.join(", ") }
    }
}

impl From<ExecutorStates> for ExecutorCounts {
    fn from(states: ExecutorStates) -> ExecutorCounts {
        ExecutorCounts {
            pending: states.pending,
            running: states.running,
            succeeded: states.succeeded,
            failed: states.failed,
        }
    }
}

/// One application: its driver pod and what is known about it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The job's name (`sparkplane.dev/job`), or the pod's name without one.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `operator` when a SparkJob owns the driver pod, else `direct`.
    pub managed_by: ManagedBy,
    /// The driver pod's name.
    pub driver_pod: String,
    /// The driver pod's uid.
    pub uid: String,
    /// Spark application id (`spark-app-selector`).
    pub app_id: String,
    /// The resolved spec's short hash (`sparkplane.dev/spec-hash`).
    pub spec_hash: String,
    /// Attempt number (`sparkplane.dev/attempt`, 1 when absent).
    pub attempt: u32,
    /// The driver pod's phase: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    /// Why the driver ended or waits, when Kubernetes says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Creation time (RFC 3339), when the server set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Executors by phase (filled by [`status()`] and [`list()`]).
    pub executors: ExecutorCounts,
}

/// The attempt a driver pod belongs to (1 when unlabelled).
pub fn attempt_of(pod: &Pod) -> u32 {
    label(pod, sparkplane_api::labels::ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(1)
}

pub(crate) fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str)
}

/// A pod's phase (`Pending` when the server has not set one yet).
pub fn phase(pod: &Pod) -> String {
    pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".to_owned())
}

/// Why a driver ended or waits: the Spark container's terminated or waiting
/// reason and message, else the pod's.
fn reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let container = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == DRIVER_CONTAINER)
        .or_else(|| status.container_statuses.iter().flatten().next());
    if let Some(state) = container.and_then(|c| c.state.as_ref()) {
        if let Some(t) = &state.terminated {
            let mut text = t.reason.clone().unwrap_or_else(|| "Terminated".into());
            text.push_str(&format!(" (exit code {})", t.exit_code));
            if let Some(m) = &t.message {
                text.push_str(&format!(": {}", m.trim()));
            }
            return Some(text);
        }
        if let Some(w) = &state.waiting {
            return w.reason.clone().map(|r| match &w.message {
                Some(m) => format!("{r}: {}", m.trim()),
                None => r,
            });
        }
    }
    match (&status.reason, &status.message) {
        (Some(r), Some(m)) => Some(format!("{r}: {m}")),
        (Some(r), None) => Some(r.clone()),
        (None, Some(m)) => Some(m.clone()),
        (None, None) => None,
    }
}

/// The SparkJob that owns a pod (an ownerReference of kind SparkJob in
/// group `sparkplane.dev`, as the operator sets on its driver pods): its
/// name and uid.
pub fn owning_job(pod: &Pod) -> Option<(&str, &str)> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "SparkJob" && o.api_version.starts_with("sparkplane.dev/"))
        .map(|o| (o.name.as_str(), o.uid.as_str()))
}

/// Whether `job` owns `pod`: same namespace, and the pod's SparkJob owner
/// has the job's uid (its name when either uid is unknown).
pub(crate) fn owns(job: &SparkJob, pod: &Pod) -> bool {
    let Some((name, uid)) = owning_job(pod) else { return false };
    if job.metadata.namespace != pod.metadata.namespace {
        return false;
    }
    match job.metadata.uid.as_deref() {
        Some(job_uid) if !job_uid.is_empty() && !uid.is_empty() => job_uid == uid,
        _ => job.metadata.name.as_deref() == Some(name),
    }
}

/// The application a driver pod stands for (executor counts empty).
pub fn application(pod: &Pod) -> Application {
    let meta = &pod.metadata;
    let pod_name = meta.name.clone().unwrap_or_default();
    Application {
        name: label(pod, sparkplane_api::labels::JOB).map_or_else(|| pod_name.clone(), str::to_owned),
        namespace: meta.namespace.clone().unwrap_or_default(),
        managed_by: if owning_job(pod).is_some() { ManagedBy::Operator } else { ManagedBy::Direct },
        driver_pod: pod_name,
        uid: meta.uid.clone().unwrap_or_default(),
        app_id: label(pod, "spark-app-selector").unwrap_or_default().to_owned(),
        spec_hash: label(pod, sparkplane_api::labels::SPEC_HASH).unwrap_or_default().to_owned(),
        attempt: attempt_of(pod),
        phase: phase(pod),
        reason: reason(pod),
        created: meta.creation_timestamp.as_ref().map(|t| t.0.to_string()),
        executors: ExecutorCounts::default(),
    }
}

/// How long ago an RFC 3339 time was, as kubectl shows ages: `42s`, `5m`,
/// `3h`, `2d`; `-` for a time that cannot be read.
pub fn age(created: &str) -> String {
    age_at(created, k8s_openapi::jiff::Timestamp::now().as_second())
}

/// [`age`] as of `now` (seconds since the epoch).
fn age_at(created: &str, now: i64) -> String {
    let Ok(then) = created.parse::<k8s_openapi::jiff::Timestamp>() else { return "-".to_owned() };
    let seconds = (now - then.as_second()).max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

impl Application {
    /// The application as `status` (and `submit`) show it: one `key: value` line each.
    pub fn text(&self) -> String {
        let mut rows = vec![
            ("name", self.name.clone()),
            ("namespace", self.namespace.clone()),
            ("driver", self.driver_pod.clone()),
            ("phase", self.phase.clone()),
            ("attempt", self.attempt.to_string()),
            ("executors", self.executors.summary()),
            ("app id", self.app_id.clone()),
            ("spec hash", self.spec_hash.clone()),
        ];
        if let Some(created) = &self.created {
            rows.push(("age", age(created)));
        }
        if let Some(reason) = &self.reason {
            rows.push(("reason", reason.clone()));
        }
        if self.managed_by == ManagedBy::Operator {
            rows.push(("managed", format!("operator (a driver pod of SparkJob {})", self.name)));
        }
        rows.iter().map(|(k, v)| format!("{:<10} {v}\n", format!("{k}:"))).collect()
    }
}

/// Executor pods per application id in `namespace` (all namespaces when None).
pub(crate) async fn executors_by_app(
    client: &kube::Client,
    server: &str,
    namespace: Option<&str>,
    app_id: Option<&str>,
) -> Result<BTreeMap<String, Vec<Pod>>, KubeError> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let selector = match app_id {
        Some(id) => format!("spark-role=executor,spark-app-selector={id}"),
        None => "spark-role=executor".to_owned(),
    };
    let pods = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace.unwrap_or("(all)")), server))?;
    let mut by_app: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for pod in pods.items {
        let id = label(&pod, "spark-app-selector").unwrap_or_default().to_owned();
        by_app.entry(id).or_default().push(pod);
    }
    Ok(by_app)
}

/// The SparkJobs and pods the verbs' unit tests are made of.
#[cfg(test)]
mod fixtures {
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::{Value, json};
    use sparkplane_api::SparkJob;

    use super::ManagedBy;
    use super::list::Listed;

    pub fn job(name: &str, uid: &str, status: Value) -> SparkJob {
        serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": name, "namespace": "team-a", "uid": uid, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {},
            "status": status,
        }))
        .expect("a SparkJob")
    }

    /// A driver pod of job `job`; owned by the SparkJob with `owner` (name, uid) when given.
    pub fn driver(name: &str, job: &str, phase: &str, owner: Option<(&str, &str)>) -> Pod {
        let owners: Vec<Value> = owner
            .map(|(n, uid)| {
                json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "name": n, "uid": uid, "controller": true})
            })
            .into_iter()
            .collect();
        serde_json::from_value(json!({
            "metadata": {
                "name": name, "namespace": "team-a", "uid": format!("uid-{name}"),
                "labels": {"app.kubernetes.io/managed-by": "sparkplane", "spark-role": "driver",
                           "sparkplane.dev/job": job, "spark-app-selector": format!("spark-{name}")},
                "ownerReferences": owners,
            },
            "status": {"phase": phase},
        }))
        .expect("a pod")
    }

    pub fn executor(app_id: &str, phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{app_id}-exec"), "namespace": "team-a",
                         "labels": {"spark-role": "executor", "spark-app-selector": app_id}},
            "status": {"phase": phase},
        }))
        .expect("a pod")
    }

    pub fn names(rows: &[Listed]) -> Vec<(String, ManagedBy, String)> {
        rows.iter().map(|r| (r.name.clone(), r.managed_by, r.state.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::driver;
    use super::{ManagedBy, age_at, application, owning_job};

    #[test]
    fn only_a_sparkplane_dev_sparkjob_owner_makes_a_pod_the_operators() {
        let owned = driver("a-driver", "a", "Running", Some(("a", "u-a")));
        assert_eq!(owning_job(&owned), Some(("a", "u-a")));
        assert_eq!(application(&owned).managed_by, ManagedBy::Operator);
        let mut other = driver("b-driver", "b", "Running", None);
        other.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "example.com/v1".into(),
            kind: "SparkJob".into(),
            name: "b".into(),
            uid: "u-b".into(),
            ..Default::default()
        }]);
        assert_eq!(owning_job(&other), None);
        assert_eq!(application(&other).managed_by, ManagedBy::Direct);
    }

    #[test]
    fn an_age_is_said_as_kubectl_says_it() {
        let created = "2026-01-01T00:00:00Z";
        let at = |seconds: i64| age_at(created, 1_767_225_600 + seconds);
        assert_eq!(
            [at(-5), at(42), at(119), at(120), at(7199), at(7200), at(172_799), at(172_800)],
            ["0s", "42s", "119s", "2m", "119m", "2h", "47h", "2d"]
        );
        assert_eq!(age_at("yesterday", 0), "-");
    }

    #[test]
    fn an_application_shows_one_aligned_line_per_field_and_who_manages_it() {
        let mut pod = driver("a-driver", "a", "Failed", Some(("a", "u-a")));
        pod.metadata.creation_timestamp = None;
        let mut app = application(&pod);
        app.reason = Some("Error (exit code 1)".into());
        assert_eq!(
            app.text(),
            "name:      a\nnamespace: team-a\ndriver:    a-driver\nphase:     Failed\nattempt:   1\n\
             executors: 0\napp id:    spark-a-driver\nspec hash: \nreason:    Error (exit code 1)\n\
             managed:   operator (a driver pod of SparkJob a)\n"
        );
    }
}
