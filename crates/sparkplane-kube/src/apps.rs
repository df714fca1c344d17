//! Applications on a cluster: those submitted directly, seen through their
//! driver pods, and SparkJobs the operator manages. Find, list, show,
//! delete, read or follow the driver's log (or, once the operator removed
//! the pod, where its log was archived), and wait for the outcome while
//! counting executors.
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
//! Owns: the requests, and turning pods and SparkJobs into [`Application`],
//! [`Listed`] and [`ManagedJob`] summaries (pure functions, tested here).
//! Must not: print (progress goes to a callback), or decide exit codes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::Serialize;
use sparkplane_api::SparkJob;
use sparkplane_api::job::{ExecutorStates, SparkJobStatus};
use sparkplane_api::labels;

use crate::error::{KubeError, Operation};

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
    /// Executors by phase (filled by [`status`] and [`list`]).
    pub executors: ExecutorCounts,
}

/// The attempt a driver pod belongs to (1 when unlabelled).
pub fn attempt_of(pod: &Pod) -> u32 {
    label(pod, sparkplane_api::labels::ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(1)
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
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
fn owns(job: &SparkJob, pod: &Pod) -> bool {
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

/// Where to look for an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A resolved job: its name and spec hash (latest attempt wins).
    Job {
        /// Job name.
        name: String,
        /// Short spec hash.
        spec_hash: String,
    },
    /// A name: a job's (latest driver of any spec) or a driver pod's.
    Name(String),
}

/// The driver pods `lookup` matches in `namespace`, newest attempt first.
pub async fn find_drivers(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Vec<Pod>, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list_op = || Operation::new("list", "Pod", namespace);
    let selector = match lookup {
        Lookup::Job { name, spec_hash } => crate::ownership::driver_selector(name, spec_hash),
        Lookup::Name(name) => format!("{},{}={name}", managed_drivers(), labels::JOB),
    };
    let mut found = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube(e, list_op(), server))?
        .items;
    if found.is_empty()
        && let Lookup::Name(name) = lookup
    {
        match pods.get_opt(name).await {
            Ok(Some(pod)) if label(&pod, "spark-role") == Some("driver") => found.push(pod),
            Ok(_) => {}
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    Operation::new("get", "Pod", format!("{namespace}/{name}")),
                    server,
                ));
            }
        }
    }
    found.sort_by(|a, b| {
        attempt_of(b)
            .cmp(&attempt_of(a))
            .then_with(|| b.metadata.creation_timestamp.cmp(&a.metadata.creation_timestamp))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    Ok(found)
}

/// The newest driver `lookup` matches, or [`KubeError::NotFound`].
pub async fn find_driver(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Pod, KubeError> {
    let found = find_drivers(client, server, namespace, lookup).await?;
    found.into_iter().next().ok_or_else(|| {
        let what = match lookup {
            Lookup::Job { name, spec_hash } => format!("{name} (spec {spec_hash})"),
            Lookup::Name(name) => name.clone(),
        };
        KubeError::NotFound {
            operation: Operation::new("get", "application", format!("{namespace}/{what}")),
            message: format!("no sparkplane driver pod for {what} in namespace {namespace}"),
        }
    })
}

/// Executor pods per application id in `namespace` (all namespaces when None).
async fn executors_by_app(
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

/// What a name stands for on the cluster.
#[derive(Clone, Debug)]
pub enum Located {
    /// A SparkJob of that name: the operator's.
    Job(Box<SparkJob>),
    /// No SparkJob: the newest driver pod the lookup matches.
    Driver(Box<Pod>),
}

fn lookup_name(lookup: &Lookup) -> &str {
    match lookup {
        Lookup::Job { name, .. } | Lookup::Name(name) => name,
    }
}

/// The SparkJob `lookup` names (a name, or a job file's name) when there is
/// one; else the newest driver pod it matches; else [`KubeError::NotFound`]
/// saying neither exists. A cluster without the SparkJob CRD has no SparkJobs.
pub async fn locate(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Located, KubeError> {
    let name = lookup_name(lookup);
    if let Some(job) = crate::jobs::get(client, server, namespace, name).await? {
        return Ok(Located::Job(Box::new(job)));
    }
    let found = find_drivers(client, server, namespace, lookup).await?;
    found.into_iter().next().map(|pod| Located::Driver(Box::new(pod))).ok_or_else(|| {
        let what = match lookup {
            Lookup::Job { name, spec_hash } => format!("{name} (spec {spec_hash})"),
            Lookup::Name(name) => name.clone(),
        };
        KubeError::NotFound {
            operation: Operation::new("get", "application", format!("{namespace}/{what}")),
            message: format!("no SparkJob {name} and no sparkplane driver pod for {what} in namespace {namespace}"),
        }
    })
}

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
async fn current_driver(
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

/// Where `logs` reads an application's driver log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// A driver pod that exists: its log from the API server.
    Pod {
        /// The pod.
        pod: String,
    },
    /// A SparkJob whose current driver pod is gone (or was never recorded)
    /// and whose driver log the operator archived.
    Archive {
        /// Where (`status.logArchive`), for [`crate::logstore::read`].
        url: String,
        /// The driver pod the archived log is of (from its name).
        archived_pod: Option<String>,
        /// The driver pod the SparkJob's status names now.
        current_pod: Option<String>,
    },
    /// There is no log to read: why, and what to do about it.
    Unavailable {
        /// What is missing.
        message: String,
        /// How to get a log next time, or where else to look.
        help: String,
    },
}

/// Where a SparkJob's driver log is: its current driver pod when that
/// exists (`driver_exists`), else the archive the operator wrote before it
/// removed the pod, else why there is none.
pub fn job_log_source(job: &SparkJob, driver_exists: bool) -> LogSource {
    let status = job.status.clone().unwrap_or_default();
    let name = job.metadata.name.as_deref().unwrap_or_default();
    let namespace = job.metadata.namespace.as_deref().unwrap_or_default();
    match (&status.driver_pod, &status.log_archive) {
        (Some(pod), _) if driver_exists => LogSource::Pod { pod: pod.clone() },
        (current, Some(url)) => LogSource::Archive {
            url: url.clone(),
            archived_pod: crate::logstore::pod_of(url).map(str::to_owned),
            current_pod: current.clone(),
        },
        (Some(pod), None) => {
            let tail = status.driver_exit.as_ref().map_or(0, |e| e.log_tail.len());
            let elsewhere = if tail > 0 {
                format!(
                    "; `sparkplane status {name}` shows the driver's last {tail} log lines, which the operator kept"
                )
            } else {
                String::new()
            };
            LogSource::Unavailable {
                message: format!(
                    "the driver pod {pod} of SparkJob {namespace}/{name} is gone and its log was not archived"
                ),
                help: format!(
                    "run the operator with --log-store (object storage) so it keeps driver logs before it removes \
                     pods{elsewhere}"
                ),
            }
        }
        (None, None) => {
            let state = ManagedJob::of(job, None).state();
            let why = match &status.reason {
                Some(reason) => format!("state {state}, reason {reason}"),
                None => format!("state {state}"),
            };
            let help = match (status.state, &status.schedule) {
                (None, _) => "the operator has not acted on it yet: check that `sparkplane operator` runs and watches \
                              this namespace"
                    .to_owned(),
                (Some(sparkplane_api::job::JobState::Scheduled), schedule) => {
                    let active = schedule.as_ref().map(|s| s.active.join(", ")).unwrap_or_default();
                    let active = if active.is_empty() { String::new() } else { format!(" (running now: {active})") };
                    format!(
                        "its runs are SparkJobs of their own{active}; `sparkplane list` shows them and `sparkplane logs RUN` reads one's log"
                    )
                }
                (Some(state), _) if state.is_final() => {
                    format!(
                        "the run ended without a driver pod to read; `sparkplane status {name}` shows what happened"
                    )
                }
                _ => format!(
                    "a log exists once the operator has started its driver; `sparkplane status {name}` shows why it \
                     waits"
                ),
            };
            LogSource::Unavailable { message: format!("SparkJob {namespace}/{name} has no driver pod ({why})"), help }
        }
    }
}

/// Where the driver log of what `lookup` names is (see [`job_log_source`]
/// for a SparkJob; a directly submitted application's newest driver pod).
pub async fn log_source(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<LogSource, KubeError> {
    match locate(client, server, namespace, lookup).await? {
        Located::Job(job) => {
            let exists = current_driver(client, server, namespace, &job).await?.is_some();
            Ok(job_log_source(&job, exists))
        }
        Located::Driver(pod) => Ok(LogSource::Pod { pod: pod.metadata.name.clone().unwrap_or_default() }),
    }
}

/// One row of `list`: a SparkJob, or an application submitted directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The SparkJob's name, or the job's (`sparkplane.dev/job`, else the pod's).
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `operator` or `direct`.
    pub managed_by: ManagedBy,
    /// A SparkJob's state (`New` before the operator wrote one); a direct
    /// application's driver phase.
    pub state: String,
    /// Why: the SparkJob's reason, or why the driver ended or waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The attempt (0 before a SparkJob's first driver).
    pub attempt: u32,
    /// Executors by phase: a SparkJob's as the operator last recorded them,
    /// a direct application's counted from its executor pods.
    pub executors: ExecutorCounts,
    /// Creation time (RFC 3339) of the SparkJob or the driver pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The current driver pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_pod: Option<String>,
    /// That pod's phase, when it was listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Spark application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Short hash of the resolved spec the run started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
}

impl Listed {
    /// A SparkJob's row; `driver` is its current driver pod when listed.
    pub fn of_job(job: &SparkJob, driver: Option<&Pod>) -> Listed {
        let view = ManagedJob::of(job, driver.map(phase));
        let state = view.state().to_owned();
        let status = view.status;
        Listed {
            name: view.name,
            namespace: view.namespace,
            managed_by: ManagedBy::Operator,
            state,
            reason: status.reason,
            attempt: status.attempt.unwrap_or(0),
            executors: status.executors.map(ExecutorCounts::from).unwrap_or_default(),
            created: view.created,
            driver_pod: status.driver_pod,
            phase: view.driver_phase,
            app_id: status.application_id,
            spec_hash: status.spec_hash,
        }
    }

    /// A driver pod's row (its SparkJob is not listed: submitted directly,
    /// or its owner is gone and garbage collection has not removed it yet).
    pub fn of_application(app: Application) -> Listed {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Listed {
            name: app.name,
            namespace: app.namespace,
            managed_by: app.managed_by,
            state: app.phase.clone(),
            reason: app.reason,
            attempt: app.attempt,
            executors: app.executors,
            created: app.created,
            driver_pod: non_empty(app.driver_pod),
            phase: Some(app.phase),
            app_id: non_empty(app.app_id),
            spec_hash: non_empty(app.spec_hash),
        }
    }
}

/// The rows of `list`, each application once, sorted by namespace, name,
/// how it is managed, attempt and driver pod.
///
/// A SparkJob of `jobs` is listed when `selected` (the `(namespace, name)`
/// of those whose own labels match the selector; None: no selector) holds
/// it, or when it owns one of `drivers`; the drivers it owns are its row,
/// not rows of their own. Every other driver is a row, with its executors
/// counted from `executors` (executor pods by application id).
pub fn merge(
    jobs: &[SparkJob],
    selected: Option<&std::collections::BTreeSet<(String, String)>>,
    drivers: &[Pod],
    executors: &BTreeMap<String, Vec<Pod>>,
) -> Vec<Listed> {
    let mut claimed = vec![false; drivers.len()];
    let mut rows = Vec::new();
    for job in jobs {
        let mine: Vec<usize> = (0..drivers.len()).filter(|&i| owns(job, &drivers[i])).collect();
        let key = (job.metadata.namespace.clone().unwrap_or_default(), job.metadata.name.clone().unwrap_or_default());
        if !mine.is_empty() || selected.is_none_or(|s| s.contains(&key)) {
            let current = job.status.as_ref().and_then(|s| s.driver_pod.as_deref());
            let driver = mine.iter().map(|&i| &drivers[i]).find(|p| p.metadata.name.as_deref() == current);
            rows.push(Listed::of_job(job, driver));
            mine.iter().for_each(|&i| claimed[i] = true);
        }
    }
    for (pod, _) in drivers.iter().zip(&claimed).filter(|(_, claimed)| !**claimed) {
        let mut app = application(pod);
        app.executors = ExecutorCounts::of(executors.get(&app.app_id).into_iter().flatten());
        rows.push(Listed::of_application(app));
    }
    rows.sort_by(|a, b| {
        (a.namespace.as_str(), a.name.as_str(), a.managed_by, a.attempt, &a.driver_pod).cmp(&(
            b.namespace.as_str(),
            b.name.as_str(),
            b.managed_by,
            b.attempt,
            &b.driver_pod,
        ))
    });
    rows
}

/// Every application in `namespace` (all namespaces when None): SparkJobs
/// and directly submitted drivers, each once (see [`merge`]). With a label
/// `selector`, the drivers that match it, and the SparkJobs that match it
/// or own such a driver.
pub async fn list(
    client: &kube::Client,
    server: &str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Listed>, KubeError> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let selector = selector.map(str::trim).filter(|s| !s.is_empty());
    let labels = match selector {
        Some(extra) => format!("{},{extra}", managed_drivers()),
        None => managed_drivers(),
    };
    let drivers = api
        .list(&ListParams::default().labels(&labels))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace.unwrap_or("(all)")), server))?;
    let executors = executors_by_app(client, server, namespace, None).await?;
    let jobs = crate::jobs::list(client, server, namespace, None).await?;
    let selected = match selector {
        Some(labels) => Some(
            crate::jobs::list(client, server, namespace, Some(labels))
                .await?
                .into_iter()
                .map(|j| (j.metadata.namespace.unwrap_or_default(), j.metadata.name.unwrap_or_default()))
                .collect(),
        ),
        None => None,
    };
    Ok(merge(&jobs, selected.as_ref(), &drivers.items, &executors))
}

/// What `delete` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    /// How the deleted application was managed.
    pub managed_by: ManagedBy,
    /// `Kind/name` of each object this command deleted.
    pub objects: Vec<String>,
    /// `Kind/name` of what the deleted SparkJob owned (driver pods, a
    /// schedule's runs) and was already gone right after: removed with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_with_it: Vec<String>,
    /// `Kind/name` of what it owned and was still there: Kubernetes' garbage
    /// collector removes it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collecting: Vec<String>,
    /// SparkJobs whose driver pods were deleted by pod name: the operator
    /// sees their driver lost.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operator_jobs: Vec<String>,
}

/// What a SparkJob owns, as `Kind/name`, sorted: the runs of a schedule
/// among `runs`, and the driver pods among `drivers` it or those runs own.
pub fn owned_by(job: &SparkJob, runs: &[SparkJob], drivers: &[Pod]) -> Vec<String> {
    let job_uid = job.metadata.uid.as_deref().unwrap_or_default();
    let mine: Vec<&SparkJob> = runs
        .iter()
        .filter(|run| run.metadata.owner_references.iter().flatten().any(|o| o.kind == "SparkJob" && o.uid == job_uid))
        .collect();
    let mut owned: Vec<String> =
        mine.iter().map(|run| format!("SparkJob/{}", run.metadata.name.as_deref().unwrap_or_default())).collect();
    for pod in drivers {
        if owns(job, pod) || mine.iter().any(|run| owns(run, pod)) {
            owned.push(format!("Pod/{}", pod.metadata.name.as_deref().unwrap_or_default()));
        }
    }
    owned.sort();
    owned
}

/// Deletes what `lookup` names. A SparkJob: the resource itself (its driver
/// pods, their objects and a schedule's runs follow by owner reference),
/// then reads back which of those are already gone. Else the driver pods
/// `lookup` matches (every attempt); their ConfigMaps, Service and
/// NetworkPolicy follow by cascade. With `rbac`, also the job's (and its
/// runs') ServiceAccount, Role and RoleBinding (component `rbac`).
pub async fn delete(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    match locate(client, server, namespace, lookup).await? {
        Located::Job(job) => delete_job(client, server, namespace, &job, rbac).await,
        Located::Driver(_) => delete_drivers(client, server, namespace, lookup, rbac).await,
    }
}

async fn delete_job(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    job: &SparkJob,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let runs = match job.spec.schedule {
        Some(_) => {
            let selector = format!("{}={name}", sparkplane_lifecycle::SCHEDULED_BY_LABEL);
            crate::jobs::list(client, server, Some(namespace), Some(&selector)).await?
        }
        None => Vec::new(),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let drivers = pods
        .list(&ListParams::default().labels(&managed_drivers()))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace), server))?;
    let owned = owned_by(job, &runs, &drivers.items);
    let mut deleted = Deleted { managed_by: ManagedBy::Operator, ..Deleted::default() };
    if crate::jobs::delete(client, server, namespace, &name).await? {
        deleted.objects.push(format!("SparkJob/{name}"));
    }
    for object in owned {
        let still_there = match object.split_once('/') {
            Some(("Pod", pod)) => pods
                .get_opt(pod)
                .await
                .map_err(|e| {
                    KubeError::from_kube(e, Operation::new("get", "Pod", format!("{namespace}/{pod}")), server)
                })?
                .is_some(),
            Some((_, run)) => crate::jobs::get(client, server, namespace, run).await?.is_some(),
            None => false,
        };
        if still_there {
            deleted.collecting.push(object);
        } else {
            deleted.removed_with_it.push(object);
        }
    }
    if rbac {
        let run_names = runs.iter().filter_map(|r| r.metadata.name.clone());
        for job_name in std::iter::once(name.clone()).chain(run_names) {
            deleted.objects.extend(delete_rbac(client, server, namespace, &job_name).await?);
        }
    }
    Ok(deleted)
}

/// Deletes the driver pods `lookup` matches (every attempt); with `rbac`,
/// also their jobs' RBAC objects.
async fn delete_drivers(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    let drivers = find_drivers(client, server, namespace, lookup).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut deleted = Deleted { managed_by: ManagedBy::Direct, ..Deleted::default() };
    let mut jobs = std::collections::BTreeSet::new();
    for pod in &drivers {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if let Some(job) = label(pod, sparkplane_api::labels::JOB) {
            jobs.insert(job.to_owned());
        }
        if let Some((owner, _)) = owning_job(pod)
            && !deleted.operator_jobs.iter().any(|j| j == owner)
        {
            deleted.operator_jobs.push(owner.to_owned());
        }
        match pods.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.objects.push(format!("Pod/{name}")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    Operation::new("delete", "Pod", format!("{namespace}/{name}")),
                    server,
                ));
            }
        }
    }
    if rbac {
        for job in jobs {
            deleted.objects.extend(delete_rbac(client, server, namespace, &job).await?);
        }
    }
    Ok(deleted)
}

async fn delete_rbac(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    job: &str,
) -> Result<Vec<String>, KubeError> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let selector = format!("{},{}={job},{}=rbac", labels::MANAGED_BY_SELECTOR, labels::JOB, labels::APP_COMPONENT);
    let mut deleted = Vec::new();
    macro_rules! sweep {
        ($kind:ty, $name:literal) => {{
            let api: Api<$kind> = Api::namespaced(client.clone(), namespace);
            let items = api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| KubeError::from_kube(e, Operation::new("list", $name, namespace), server))?;
            for item in items.items {
                let name = item.metadata.name.clone().unwrap_or_default();
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => deleted.push(format!("{}/{name}", $name)),
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(KubeError::from_kube(
                            e,
                            Operation::new("delete", $name, format!("{namespace}/{name}")),
                            server,
                        ));
                    }
                }
            }
        }};
    }
    sweep!(RoleBinding, "RoleBinding");
    sweep!(Role, "Role");
    sweep!(ServiceAccount, "ServiceAccount");
    Ok(deleted)
}

/// The driver's log so far, line by line to `line`; with `follow`, until the container ends.
pub async fn logs(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    pod: &str,
    follow: bool,
    mut line: impl FnMut(&str),
) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let op = || Operation::new("log", "Pod", format!("{namespace}/{pod}"));
    let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), follow, ..LogParams::default() };
    if !follow {
        let text = api.logs(pod, &params).await.map_err(|e| KubeError::from_kube(e, op(), server))?;
        text.lines().for_each(&mut line);
        return Ok(());
    }
    let stream = api.log_stream(pod, &params).await.map_err(|e| KubeError::from_kube(e, op(), server))?;
    let mut lines = Box::pin(stream.lines());
    while let Some(next) = lines.next().await {
        match next {
            Ok(text) => line(&text),
            Err(e) => {
                return Err(KubeError::Unreachable {
                    server: server.to_owned(),
                    operation: op(),
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// What happens while waiting for a driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitEvent {
    /// The driver pod's phase changed.
    Phase(String),
    /// Executor counts changed.
    Executors(ExecutorCounts),
    /// A line of the driver's log.
    Log(String),
}

/// How many watch failures in a row end the wait as an infrastructure error.
const MAX_WATCH_FAILURES: u32 = 6;

/// Backoff between watch retries while waiting: 0.25 s doubling to 4 s
/// (reset by every event), so [`MAX_WATCH_FAILURES`] failures in a row end
/// the wait after about 8 s, and a short outage is ridden out.
pub(crate) struct WaitBackoff {
    next: Duration,
}

impl WaitBackoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(4);
}

pub(crate) fn wait_backoff() -> WaitBackoff {
    WaitBackoff { next: WaitBackoff::FIRST }
}

impl Iterator for WaitBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (now * 2).min(WaitBackoff::MAX);
        Some(now)
    }
}

impl kube::runtime::utils::Backoff for WaitBackoff {
    fn reset(&mut self) {
        self.next = WaitBackoff::FIRST;
    }
}

/// Follows the driver's log into `lines` until the container ends. Sets
/// `opened` once the log stream is open, so the caller knows whether to
/// fetch the log itself at the end.
fn spawn_log_follower(
    pods: Api<Pod>,
    pod: String,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
    opened: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    tokio::spawn(async move {
        let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), follow: true, ..LogParams::default() };
        let Ok(stream) = pods.log_stream(&pod, &params).await else { return };
        opened.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut stream = Box::pin(stream.lines());
        while let Some(Ok(text)) = stream.next().await {
            if lines.send(text).is_err() {
                return;
            }
        }
    });
}

/// A watch of the pods `config` selects, retried with [`wait_backoff`].
///
/// The watcher announces every (re)list with `Init` before it is attempted; it
/// is no sign of a working server, so it must neither reset the failure count
/// nor the backoff (with it, a server failing every list is retried every
/// 0.25 s for ever).
fn watch_pods(
    pods: Api<Pod>,
    config: watcher::Config,
) -> futures::stream::BoxStream<'static, Result<Event<Pod>, watcher::Error>> {
    watcher::watcher(pods, config)
        .filter(|event| std::future::ready(!matches!(event, Ok(Event::Init))))
        .backoff(wait_backoff())
        .boxed()
}

/// What one event of the driver's watch says.
enum DriverNews {
    /// Nothing (a relist's markers).
    Nothing,
    /// The pod is in `phase`; with its final application once that phase ends the run.
    Pod { phase: String, ended: Option<Application> },
    /// The pod was deleted before it finished: its application as last seen.
    Deleted(Application),
}

fn driver_news(event: Event<Pod>) -> DriverNews {
    match event {
        Event::Apply(p) | Event::InitApply(p) => {
            let phase = phase(&p);
            let ended = (phase == "Succeeded" || phase == "Failed").then(|| application(&p));
            DriverNews::Pod { phase, ended }
        }
        Event::Delete(p) => {
            let mut app = application(&p);
            app.phase = "Deleted".into();
            app.reason = Some("the driver pod was deleted before it finished".into());
            DriverNews::Deleted(app)
        }
        Event::Init | Event::InitDone => DriverNews::Nothing,
    }
}

/// The executor pods of an application as their watch shows them, and the
/// counts last reported.
#[derive(Default)]
struct ExecutorPods {
    pods: BTreeMap<String, Pod>,
    /// A (re)list in progress: its pods replace the known ones when it is done.
    relisted: Option<BTreeMap<String, Pod>>,
    counts: ExecutorCounts,
}

impl ExecutorPods {
    /// Applies one event of the watch; the counts when they changed.
    fn apply(&mut self, event: Event<Pod>) -> Option<ExecutorCounts> {
        match event {
            Event::Apply(p) => {
                self.pods.insert(p.metadata.name.clone().unwrap_or_default(), p);
            }
            Event::InitApply(p) => {
                self.relisted.get_or_insert_default().insert(p.metadata.name.clone().unwrap_or_default(), p);
                return None;
            }
            Event::InitDone => self.pods = self.relisted.take().unwrap_or_default(),
            Event::Delete(p) => {
                self.pods.remove(&p.metadata.name.clone().unwrap_or_default());
            }
            Event::Init => return None,
        }
        let counts = ExecutorCounts::of(self.pods.values());
        (counts != self.counts).then(|| {
            self.counts = counts.clone();
            counts
        })
    }
}

/// The driver's log as the wait passes it on: followed by a task once the
/// driver runs, its lines arriving on a channel.
struct LogFollower {
    /// Taken when the follower starts.
    lines: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    opened: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LogFollower {
    fn new() -> (LogFollower, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        (LogFollower { lines: Some(tx), opened: std::sync::Arc::default() }, rx)
    }

    /// Starts following the log of `pod`, the first time only.
    fn start(&mut self, pods: &Api<Pod>, pod: &str) {
        if let Some(tx) = self.lines.take() {
            spawn_log_follower(pods.clone(), pod.to_owned(), tx, self.opened.clone());
        }
    }

    /// The rest of the log once the driver ended: what the follower still
    /// sends, or all of it when the driver ended before its log could be
    /// followed or the follower could not open the log (a failing API server).
    async fn finish(
        mut self,
        mut lines: tokio::sync::mpsc::UnboundedReceiver<String>,
        pods: &Api<Pod>,
        pod: &str,
        event: &mut impl FnMut(WaitEvent),
    ) {
        let followed = self.lines.take().is_none();
        if followed {
            let rest = async {
                while let Some(line) = lines.recv().await {
                    event(WaitEvent::Log(line));
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), rest).await;
        }
        if !followed || !self.opened.load(std::sync::atomic::Ordering::SeqCst) {
            let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), ..LogParams::default() };
            if let Ok(Ok(text)) = tokio::time::timeout(Duration::from_secs(10), pods.logs(pod, &params)).await {
                text.lines().for_each(|l| event(WaitEvent::Log(l.to_owned())));
            }
        }
    }
}

/// Watches the driver `pod` until it Succeeds or Fails (or is deleted),
/// following its log once it runs and counting executors of `app_id`.
/// Returns the final application. Dropped watches are re-established;
/// repeated failures end in [`KubeError::Unreachable`].
pub async fn wait(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    pod: &str,
    app_id: &str,
    mut event: impl FnMut(WaitEvent),
) -> Result<Application, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let op = || Operation::new("watch", "Pod", format!("{namespace}/{pod}"));
    let mut driver = watch_pods(pods.clone(), watcher::Config::default().fields(&format!("metadata.name={pod}")));
    let executor_selector = format!("spark-role=executor,spark-app-selector={app_id}");
    let mut executors = watch_pods(pods.clone(), watcher::Config::default().labels(&executor_selector));
    let mut executor_pods = ExecutorPods::default();
    let mut last_phase = String::new();
    let (mut log, mut log_lines) = LogFollower::new();
    let mut failures = 0u32;

    let last = loop {
        tokio::select! {
            next = driver.next() => {
                let Some(next) = next else {
                    return Err(KubeError::Unreachable { server: server.to_owned(), operation: op(), detail: "the watch ended".into() });
                };
                let news = match next {
                    Err(e) => {
                        failures += 1;
                        if failures >= MAX_WATCH_FAILURES {
                            return Err(crate::error::from_watcher(e, op(), server));
                        }
                        continue;
                    }
                    Ok(ev) => driver_news(ev),
                };
                failures = 0;
                match news {
                    DriverNews::Nothing => {}
                    DriverNews::Deleted(app) => break app,
                    DriverNews::Pod { phase, ended } => {
                        if phase != last_phase {
                            event(WaitEvent::Phase(phase.clone()));
                            last_phase.clone_from(&phase);
                        }
                        if phase == "Running" {
                            log.start(&pods, pod);
                        }
                        if let Some(app) = ended {
                            break app;
                        }
                    }
                }
            }
            next = executors.next() => {
                if let Some(Ok(ev)) = next
                    && let Some(counts) = executor_pods.apply(ev)
                {
                    event(WaitEvent::Executors(counts));
                }
            }
            Some(line) = log_lines.recv() => event(WaitEvent::Log(line)),
        }
    };

    log.finish(log_lines, &pods, pod, &mut event).await;
    let mut app = last;
    app.executors = executor_pods.counts;
    Ok(app)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use k8s_openapi::api::core::v1::Pod;
    use serde_json::{Value, json};
    use sparkplane_api::SparkJob;

    use super::{
        DriverNews, Event, ExecutorCounts, ExecutorPods, Listed, LogSource, ManagedBy, ManagedJob, application,
        driver_news, job_log_source, merge, owned_by, owning_job,
    };

    fn job(name: &str, uid: &str, status: Value) -> SparkJob {
        serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": name, "namespace": "team-a", "uid": uid, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {},
            "status": status,
        }))
        .expect("a SparkJob")
    }

    /// A driver pod of job `job`; owned by the SparkJob with `owner` (name, uid) when given.
    fn driver(name: &str, job: &str, phase: &str, owner: Option<(&str, &str)>) -> Pod {
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

    fn executor(app_id: &str, phase: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{app_id}-exec"), "namespace": "team-a",
                         "labels": {"spark-role": "executor", "spark-app-selector": app_id}},
            "status": {"phase": phase},
        }))
        .expect("a pod")
    }

    fn names(rows: &[Listed]) -> Vec<(String, ManagedBy, String)> {
        rows.iter().map(|r| (r.name.clone(), r.managed_by, r.state.clone())).collect()
    }

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
    fn a_sparkjob_and_its_driver_are_one_row_beside_a_direct_application_of_the_same_name() {
        let jobs = [job(
            "nightly",
            "u-1",
            json!({"state": "Running", "reason": "Running", "attempt": 2, "driverPod": "nightly-2-driver",
                   "applicationId": "spark-nightly-2-driver", "executors": {"pending": 0, "running": 3, "succeeded": 0, "failed": 1}}),
        )];
        let drivers = [
            driver("nightly-1-driver", "nightly", "Failed", Some(("nightly", "u-1"))),
            driver("nightly-2-driver", "nightly", "Running", Some(("nightly", "u-1"))),
            driver("nightly-x-driver", "nightly", "Succeeded", None),
            driver("adhoc-driver", "adhoc", "Pending", None),
        ];
        let executors =
            BTreeMap::from([("spark-adhoc-driver".to_owned(), vec![executor("spark-adhoc-driver", "Running")])]);
        let rows = merge(&jobs, None, &drivers, &executors);
        assert_eq!(
            names(&rows),
            [
                ("adhoc".to_owned(), ManagedBy::Direct, "Pending".to_owned()),
                ("nightly".to_owned(), ManagedBy::Direct, "Succeeded".to_owned()),
                ("nightly".to_owned(), ManagedBy::Operator, "Running".to_owned()),
            ]
        );
        let operator = &rows[2];
        assert_eq!(operator.attempt, 2);
        assert_eq!(operator.driver_pod.as_deref(), Some("nightly-2-driver"));
        assert_eq!(operator.phase.as_deref(), Some("Running"), "the current driver's phase, not attempt 1's");
        assert_eq!(operator.executors, ExecutorCounts { running: 3, failed: 1, ..ExecutorCounts::default() });
        assert_eq!(operator.reason.as_deref(), Some("Running"));
        assert_eq!(operator.created.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(rows[0].executors.running, 1);
        assert_eq!(rows[0].attempt, 1);
    }

    #[test]
    fn a_sparkjob_without_status_is_new_with_attempt_0() {
        let rows = merge(&[job("fresh", "u-f", Value::Null)], None, &[], &BTreeMap::new());
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].state.as_str(), rows[0].attempt, rows[0].driver_pod.as_deref()), ("New", 0, None));
        let json = serde_json::to_value(&rows[0]).expect("json");
        assert_eq!(json["managedBy"], "operator");
        assert!(json.get("phase").is_none() && json.get("reason").is_none(), "{json}");
    }

    #[test]
    fn with_a_selector_a_job_is_listed_when_it_matches_or_owns_a_matching_driver() {
        let jobs = [
            job("labelled", "u-l", Value::Null),
            job("owner", "u-o", json!({"state": "Running"})),
            job("other", "u-x", Value::Null),
        ];
        let selected = BTreeSet::from([("team-a".to_owned(), "labelled".to_owned())]);
        let drivers = [driver("owner-driver", "owner", "Running", Some(("owner", "u-o")))];
        let rows = merge(&jobs, Some(&selected), &drivers, &BTreeMap::new());
        assert_eq!(
            names(&rows),
            [
                ("labelled".to_owned(), ManagedBy::Operator, "New".to_owned()),
                ("owner".to_owned(), ManagedBy::Operator, "Running".to_owned()),
            ]
        );
    }

    #[test]
    fn a_driver_whose_sparkjob_is_gone_is_a_row_of_its_own_marked_operator() {
        // Same name, new uid: the job was deleted and created again; the old driver awaits garbage collection.
        let jobs = [job("nightly", "u-new", json!({"state": "Queued", "reason": "QuotaWait"}))];
        let drivers = [driver("nightly-old-driver", "nightly", "Running", Some(("nightly", "u-old")))];
        let rows = merge(&jobs, None, &drivers, &BTreeMap::new());
        assert_eq!(
            names(&rows),
            [
                ("nightly".to_owned(), ManagedBy::Operator, "Queued".to_owned()),
                ("nightly".to_owned(), ManagedBy::Operator, "Running".to_owned()),
            ]
        );
        assert_eq!(rows[0].driver_pod, None);
        assert_eq!(rows[1].driver_pod.as_deref(), Some("nightly-old-driver"));
    }

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
    fn a_jobs_log_is_its_live_driver_then_the_archive_then_an_explanation() {
        let archived =
            json!({"state": "Succeeded", "driverPod": "n-driver", "logArchive": "s3://logs/team-a/n/n-driver.log"});
        assert_eq!(job_log_source(&job("n", "u", archived.clone()), true), LogSource::Pod { pod: "n-driver".into() });
        assert_eq!(
            job_log_source(&job("n", "u", archived), false),
            LogSource::Archive {
                url: "s3://logs/team-a/n/n-driver.log".into(),
                archived_pod: Some("n-driver".into()),
                current_pod: Some("n-driver".into()),
            }
        );
        let LogSource::Unavailable { message, help } = job_log_source(
            &job(
                "n",
                "u",
                json!({"state": "Failed", "driverPod": "n-driver", "driverExit": {"exitCode": 1, "logTail": ["a", "b"]}}),
            ),
            false,
        ) else {
            panic!("no log")
        };
        assert_eq!(message, "the driver pod n-driver of SparkJob team-a/n is gone and its log was not archived");
        assert_eq!(
            help,
            "run the operator with --log-store (object storage) so it keeps driver logs before it removes pods; \
             `sparkplane status n` shows the driver's last 2 log lines, which the operator kept"
        );
        let LogSource::Unavailable { message, help } =
            job_log_source(&job("n", "u", json!({"state": "Queued", "reason": "QuotaWait"})), false)
        else {
            panic!("no log")
        };
        assert_eq!(message, "SparkJob team-a/n has no driver pod (state Queued, reason QuotaWait)");
        assert!(help.ends_with("`sparkplane status n` shows why it waits"), "{help}");
        let LogSource::Unavailable { message, help } = job_log_source(&job("n", "u", Value::Null), false) else {
            panic!("no log")
        };
        assert_eq!(message, "SparkJob team-a/n has no driver pod (state New)");
        assert!(help.starts_with("the operator has not acted on it yet"), "{help}");
        let LogSource::Unavailable { help, .. } = job_log_source(
            &job("n", "u", json!({"state": "Scheduled", "schedule": {"active": ["n-1", "n-2"]}})),
            false,
        ) else {
            panic!("no log")
        };
        assert!(help.starts_with("its runs are SparkJobs of their own (running now: n-1, n-2)"), "{help}");
    }

    #[test]
    fn a_sparkjob_owns_its_drivers_and_its_runs_drivers() {
        let parent = job("nightly", "u-p", json!({"state": "Scheduled"}));
        let mut run = job("nightly-29", "u-r", json!({"state": "Running"}));
        run.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "sparkplane.dev/v1alpha1".into(),
            kind: "SparkJob".into(),
            name: "nightly".into(),
            uid: "u-p".into(),
            ..Default::default()
        }]);
        let stranger = job("nightly-30", "u-s", Value::Null);
        let drivers = [
            driver("nightly-29-driver", "nightly-29", "Running", Some(("nightly-29", "u-r"))),
            driver("nightly-30-driver", "nightly-30", "Running", Some(("nightly-30", "u-s"))),
            driver("nightly-direct-driver", "nightly", "Running", None),
        ];
        assert_eq!(owned_by(&parent, &[run, stranger], &drivers), ["Pod/nightly-29-driver", "SparkJob/nightly-29"]);
    }

    fn counts(running: u32, pending: u32) -> ExecutorCounts {
        ExecutorCounts { running, pending, ..ExecutorCounts::default() }
    }

    fn named_executor(name: &str, phase: &str) -> Pod {
        let mut pod = executor("spark-1", phase);
        pod.metadata.name = Some(name.to_owned());
        pod
    }

    #[test]
    fn executor_counts_are_reported_when_they_change_and_a_relist_replaces_the_pods() {
        let mut seen = ExecutorPods::default();
        assert_eq!(seen.apply(Event::Apply(named_executor("e1", "Pending"))), Some(counts(0, 1)));
        assert_eq!(seen.apply(Event::Apply(named_executor("e1", "Pending"))), None, "no change, nothing reported");
        assert_eq!(seen.apply(Event::Apply(named_executor("e1", "Running"))), Some(counts(1, 0)));
        assert_eq!(seen.apply(Event::Apply(named_executor("e2", "Running"))), Some(counts(2, 0)));
        // A relist: its pods count only once it is done, and replace the known ones (e1 went meanwhile).
        assert_eq!(seen.apply(Event::Init), None);
        assert_eq!(seen.apply(Event::InitApply(named_executor("e2", "Running"))), None);
        assert_eq!(seen.apply(Event::InitDone), Some(counts(1, 0)));
        assert_eq!(seen.apply(Event::Delete(named_executor("e2", "Running"))), Some(counts(0, 0)));
        assert_eq!(seen.counts, counts(0, 0));
    }

    #[test]
    fn the_drivers_watch_says_its_phase_its_end_or_its_deletion() {
        let running = driver_news(Event::Apply(driver("a-driver", "a", "Running", None)));
        assert!(matches!(running, DriverNews::Pod { ref phase, ended: None } if phase == "Running"));
        for end in ["Succeeded", "Failed"] {
            let DriverNews::Pod { phase, ended: Some(app) } =
                driver_news(Event::InitApply(driver("a-driver", "a", end, None)))
            else {
                panic!("{end} ends the wait")
            };
            assert_eq!((phase.as_str(), app.phase.as_str(), app.driver_pod.as_str()), (end, end, "a-driver"));
        }
        let DriverNews::Deleted(app) = driver_news(Event::Delete(driver("a-driver", "a", "Running", None))) else {
            panic!("a deletion ends the wait")
        };
        assert_eq!(app.phase, "Deleted");
        assert_eq!(app.reason.as_deref(), Some("the driver pod was deleted before it finished"));
        assert!(matches!(driver_news(Event::InitDone), DriverNews::Nothing));
    }
}
