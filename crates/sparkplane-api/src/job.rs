//! The SparkJob spec: one YAML document per Spark application.
//!
//! This type is also the operator's CRD (`sparkplane crd` prints it). Every
//! field is optional in the type so that presets and environment overlays can
//! be partial documents of the same shape; what a complete job must have is
//! checked by the core's validation, which can point at the line at fault.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, LocalObjectReference, PodTemplateSpec, Toleration, Volume, VolumeMount};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::{CpuAmount, Duration, MemorySize};

/// The API group and version of every sparkplane document.
pub const API_VERSION: &str = "sparkplane.dev/v1alpha1";

/// A declarative Spark application: what to run, with what resources, how
/// pods are shaped, how it is retried and scheduled, and how it is observed.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "sparkplane.dev",
    version = "v1alpha1",
    kind = "SparkJob",
    plural = "sparkjobs",
    shortname = "sj",
    namespaced,
    status = "SparkJobStatus",
    doc = "A Spark application managed by sparkplane: what to run, its resources, pod shaping, lifecycle and observability.",
    printcolumn = r#"{"name":"Team","type":"string","jsonPath":".spec.team"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.reason"}"#,
    printcolumn = r#"{"name":"Attempt","type":"integer","jsonPath":".status.attempt"}"#,
    printcolumn = r#"{"name":"Gates","type":"string","jsonPath":".status.qualityGates"}"#,
    printcolumn = r#"{"name":"Driver","type":"string","jsonPath":".status.driverPod","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SparkJobSpec {
    /// Owning team; becomes the `sparkplane.dev/team` label and the unit of chargeback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Cost center billed for the job; becomes the `sparkplane.dev/cost-center` label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// Golden-path preset the job starts from (see `sparkplane presets list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Default environment overlay when `--env` is not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,

    /// Application language: Python, Scala, Java, R or SQL; or `Connect`, a
    /// long-running Spark Connect server that clients attach to (ADR 0039).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub app_type: Option<AppType>,
    /// The application: a `.py`, `.jar`, `.R` or `.sql` file (`local://`, `s3a://`, `https://`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_application_file: Option<String>,
    /// Entry class for Scala and Java applications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_class: Option<String>,
    /// Arguments passed to the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// Spark version the application is built for (selects the runtime and image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_version: Option<String>,
    /// Container image of driver and executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Extra jars, Python files, files, archives and Maven packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deps: Option<Dependencies>,
    /// Spark properties (`spark.*`). Resource settings belong in `driver`/`executor`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spark_conf: BTreeMap<String, String>,
    /// Hadoop properties, passed as `spark.hadoop.*`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hadoop_conf: BTreeMap<String, String>,

    /// Driver resources and pod shaping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<DriverSpec>,
    /// Executor resources and pod shaping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorSpec>,
    /// Dynamic allocation of executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_allocation: Option<DynamicAllocation>,

    /// Environment variables for driver and executors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Volumes available to driver and executors (mounted per role).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Node labels every pod must match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations of every pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Affinity of every pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Priority class of every pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Scheduler of every pod (e.g. `volcano`, `yunikorn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// Service account of the driver; rendered with least-privilege RBAC when sparkplane creates it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// The Kueue LocalQueue the job waits in when the operator admits through
    /// Kueue (`sparkplane operator --kueue`, ADR 0073); default: the queue of
    /// the job's tenant (the Tenant file's `spec.queue.name`), else the
    /// namespace's LocalQueue `default`, as Kueue itself defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Gang scheduling by Volcano or YuniKorn: the driver starts only when
    /// room for it and its minimum executors is there (ADR 0073).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Scheduling>,

    /// What happens when the application fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Time limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// How long finished driver objects are kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_after_finished: Option<Duration>,
    /// Create the objects but do not start the application (or suspend its schedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Run on a cron schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,

    /// Spark event logs: the input of `analyze`, `cost` and `tune`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_log: Option<EventLog>,
    /// Service-level objective of the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// Data-quality gates run on the job's outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality_gates: Vec<QualityGate>,
    /// What `sparkplane ci` runs besides validation, policies and fit: the
    /// job's unit tests, its SQL files with the tables they read, a local run on sample data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiSpec>,
    /// How `sparkplane promote` treats the job beyond its gates: the shadow
    /// run of `promote --shadow` (ADR 0040).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySpec>,
    /// How the operator runs a `type: Connect` server: idle shutdown (ADR 0042).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectSpec>,
}

/// Gang scheduling of a job's pods (ADR 0073).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scheduling {
    /// The gang scheduler: `Volcano` (a PodGroup) or `YuniKorn` (task-group
    /// annotations); it also becomes every pod's scheduler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gang: Option<GangScheduler>,
}

/// A scheduler that starts a gang of pods all or none.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum GangScheduler {
    /// Volcano: a `scheduling.volcano.sh/v1beta1` PodGroup, pods with `schedulerName: volcano`.
    Volcano,
    /// Apache YuniKorn: task groups in pod annotations, pods with `schedulerName: yunikorn`.
    YuniKorn,
}

impl GangScheduler {
    /// The pods' `schedulerName`.
    pub fn scheduler_name(self) -> &'static str {
        match self {
            GangScheduler::Volcano => "volcano",
            GangScheduler::YuniKorn => "yunikorn",
        }
    }
}

/// How the operator runs a `type: Connect` server (ADR 0042).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectSpec {
    /// Scale the server to no replica after this long with no open session
    /// or operation (at least `1m`); `sparkplane trigger` or a spec change
    /// starts it again. Unset: the server runs until suspended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Duration>,
}

/// Observed state of a SparkJob, written by the operator (`sparkplane
/// operator`) after every action it takes. Bounded on purpose: executors are
/// counted by state, never listed, and only the last
/// [`MAX_TRANSITIONS`] transitions are kept, so the object stays small
/// however large the application or however often it is retried.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SparkJobStatus {
    /// Where the application is in its lifecycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<JobState>,
    /// Why it is there, as one word: `QuotaWait`, `ImagePullBackOff`, `OOMKilled`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened, in a sentence a person can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Hash of the resolved spec the current run was started from (`sparkplane.dev/spec-hash`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// The current attempt (1 for the first driver; names of per-run objects derive from it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Retries used after failures in this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Name of the current driver pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_pod: Option<String>,
    /// Spark application id of the current attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// When the run was queued (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<String>,
    /// When the current attempt's driver pod was created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    /// When the current attempt's driver started running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the run ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// When the next attempt starts (state Retrying).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<String>,
    /// Executors of the current attempt by state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executors: Option<ExecutorStates>,
    /// The driver's exit: code and last log lines, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_exit: Option<DriverExit>,
    /// Where the driver's log was archived before its pod was removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_archive: Option<String>,
    /// The last `sparkplane.dev/trigger` annotation value acted on (a manual run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_trigger: Option<String>,
    /// The last transitions, oldest first (at most [`MAX_TRANSITIONS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<Transition>,
    /// The runs a scheduled job started (jobs with `spec.schedule`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleStatus>,
    /// A Spark Connect server's endpoint, sessions and restarts (`type: Connect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectStatus>,
    /// How the run's data-quality gates (`spec.qualityGates`), checked in the
    /// cluster after the driver succeeded, ended (ADR 0043).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_gates: Option<GatesOutcome>,
    /// What the gate check said: the failed checks, or why it could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_gates_message: Option<String>,
}

/// How a run's quality gates ended: the values `sparkplane run` records locally.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GatesOutcome {
    /// Every blocking gate passed.
    Passed,
    /// A blocking gate failed.
    Failed,
    /// The gates could not be checked (the check could not run, or could not read its spec or data).
    Error,
}

impl GatesOutcome {
    /// The spelling in the status.
    pub fn as_str(self) -> &'static str {
        match self {
            GatesOutcome::Passed => "passed",
            GatesOutcome::Failed => "failed",
            GatesOutcome::Error => "error",
        }
    }
}

/// What the operator knows of a Spark Connect server: where clients reach
/// it, what they do on it, and how often it was restarted. Counts only, so
/// it stays small however many sessions come and go.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectStatus {
    /// The address clients connect to: `sc://<job>-connect.<namespace>.svc:15002`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Replicas the operator last applied to the server's StatefulSet (1 serving, 0 idle or suspended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Sessions open, from the server's event log at the last look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
    /// Operations (queries, commands) open, from the server's event log at the last look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operations: Option<u64>,
    /// The last client activity the operator knows of (RFC 3339): a session
    /// or operation event, or the server becoming ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<String>,
    /// Times the server was restarted after a failure (container restarts and replaced pods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
    /// The uid of the server pod the counts above were last read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    /// That pod's container restarts already counted in `restarts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_restarts: Option<u32>,
}

/// How many transitions a status keeps.
pub const MAX_TRANSITIONS: usize = 10;

/// Lifecycle states of a SparkJob.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub enum JobState {
    /// Waiting for its turn: the tenant's cap or quota has no room yet.
    Queued,
    /// The driver pod was created and has not started running.
    Submitted,
    /// The driver runs; no executor runs yet.
    DriverRunning,
    /// Driver and executors run.
    Running,
    /// The driver succeeded; the run's quality gates are being checked by a
    /// Job in the cluster, and the run counts as succeeded only once they pass.
    Checking,
    /// The attempt failed and another starts at `nextRetryAt`.
    Retrying,
    /// Held by `spec.suspend`; nothing runs.
    Suspended,
    /// A job with `spec.schedule`: it starts runs as child SparkJobs.
    Scheduled,
    /// The application ended well.
    Succeeded,
    /// The application ended badly and will not be retried.
    Failed,
}

impl JobState {
    /// The spelling in status and printer columns.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "Queued",
            JobState::Submitted => "Submitted",
            JobState::DriverRunning => "DriverRunning",
            JobState::Running => "Running",
            JobState::Checking => "Checking",
            JobState::Retrying => "Retrying",
            JobState::Suspended => "Suspended",
            JobState::Scheduled => "Scheduled",
            JobState::Succeeded => "Succeeded",
            JobState::Failed => "Failed",
        }
    }

    /// Whether the run has ended for good.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }

    /// Whether a driver of this run may exist and hold resources.
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Submitted | JobState::DriverRunning | JobState::Running)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Executors by state: counts only, so the status does not grow with the application.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorStates {
    /// Created, not running yet.
    pub pending: u32,
    /// Running.
    pub running: u32,
    /// Ended well.
    pub succeeded: u32,
    /// Ended badly (OOMKilled, evicted, lost, failed).
    pub failed: u32,
}

/// How the driver ended, when it failed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverExit {
    /// Exit code of the driver container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The driver's last log lines (bounded), the exception first when one was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

/// One change of state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// The state entered.
    pub state: String,
    /// Why, as one word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When (RFC 3339).
    pub time: String,
}

/// What a scheduled job has started.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    /// The latest tick a run was started for (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<String>,
    /// The next tick (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_schedule_time: Option<String>,
    /// Runs that have not ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<String>,
    /// Ticks skipped, with why (bounded like transitions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Transition>,
}

/// Application language.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum AppType {
    /// PySpark.
    Python,
    /// Scala on the JVM.
    Scala,
    /// Java on the JVM.
    Java,
    /// SparkR.
    R,
    /// A `.sql` file run statement by statement.
    #[serde(rename = "SQL")]
    Sql,
    /// A Spark Connect server (Spark 4+): no application file, the driver is
    /// Spark's `SparkConnectServer` and clients send it DataFrames and SQL
    /// over gRPC (ADR 0039).
    Connect,
}

impl AppType {
    /// Whether the driver runs a non-JVM process beside the JVM (Spark then
    /// reserves more memory overhead: factor 0.4 instead of 0.1).
    pub fn is_jvm(self) -> bool {
        // A Connect server's driver is a JVM only: its clients' Python runs elsewhere.
        matches!(self, AppType::Scala | AppType::Java | AppType::Connect)
    }
}

/// Container image.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Repository, e.g. `registry.example.com/spark/py`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Tag, e.g. `3.5.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Digest, e.g. `sha256:…`; pins the image (required in prod by policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Pull policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    /// Names of image pull secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<String>,
}

impl Image {
    /// `repository[:tag][@digest]`, or None without a repository.
    pub fn reference(&self) -> Option<String> {
        let mut out = self.repository.clone()?;
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        Some(out)
    }

    /// Pull secrets as Kubernetes references.
    pub fn pull_secret_refs(&self) -> Vec<LocalObjectReference> {
        self.pull_secrets.iter().map(|name| LocalObjectReference { name: name.clone() }).collect()
    }
}

/// Image pull policy.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PullPolicy {
    /// Always pull.
    Always,
    /// Pull when not present on the node.
    IfNotPresent,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// Application dependencies.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dependencies {
    /// Jars on the driver and executor class paths (`spark.jars`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jars: Vec<String>,
    /// Python files (`spark.submit.pyFiles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub py_files: Vec<String>,
    /// Files placed in each working directory (`spark.files`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Archives extracted into each working directory (`spark.archives`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archives: Vec<String>,
    /// Maven coordinates `group:artifact:version` (`spark.jars.packages`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Maven coordinates `group:artifact` to exclude (`spark.jars.excludes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_packages: Vec<String>,
    /// Extra Maven repositories (`spark.jars.repositories`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<String>,
}

/// A GPU or other extended resource.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gpu {
    /// Kubernetes resource name, e.g. `nvidia.com/gpu`.
    pub name: String,
    /// Devices per pod.
    pub amount: u32,
    /// Script that discovers the devices (`spark.{driver,executor}.resource.gpu.discoveryScript`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery_script: Option<String>,
}

/// Settings shared by driver and executor.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleSpec {
    /// Spark cores (`spark.{driver,executor}.cores`); whole cores, at least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// Kubernetes CPU request, when it should differ from `cores` (e.g. `500m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_request: Option<CpuAmount>,
    /// Kubernetes CPU limit (none by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_limit: Option<CpuAmount>,
    /// JVM heap (`spark.{driver,executor}.memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySize>,
    /// Non-heap memory of the container; by default max(384 MiB, factor × memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_overhead: Option<MemorySize>,
    /// Overhead as a fraction of memory (Spark: 0.1 for JVM, 0.4 for non-JVM jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_overhead_factor: Option<f64>,
    /// GPUs or other extended resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Gpu>,
    /// Extra environment variables for this role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Extra labels of this role's pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations of this role's pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Mounts of the job's `volumes` into this role's container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    /// Node labels for this role, added to the job's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for this role, added to the job's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Affinity for this role, replacing the job's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// A pod-template fragment merged under what sparkplane renders (sidecars, init containers, …).
    /// (Boxed: a PodTemplateSpec is 1.8 KiB even when empty, and an
    /// operator keeps every SparkJob in memory.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_template: Option<Box<PodTemplateSpec>>,
}

/// Driver settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriverSpec {
    /// Settings shared with the executor.
    #[serde(flatten)]
    pub role: RoleSpec,
    /// Service account of the driver pod (overrides the job's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

/// Executor settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorSpec {
    /// Settings shared with the driver.
    #[serde(flatten)]
    pub role: RoleSpec,
    /// Number of executors (the initial number under dynamic allocation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
    /// Memory of each executor's Python workers (`spark.executor.pyspark.memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pyspark_memory: Option<MemorySize>,
    /// Off-heap memory (`spark.memory.offHeap.size`; enables off-heap when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off_heap_memory: Option<MemorySize>,
}

/// Dynamic allocation of executors.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicAllocation {
    /// Turns dynamic allocation on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Lower bound of executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_executors: Option<u32>,
    /// Upper bound of executors; also what quota checks assume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_executors: Option<u32>,
    /// Executors at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_executors: Option<u32>,
    /// Shuffle tracking (needed on Kubernetes, which has no external shuffle service).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_tracking: Option<bool>,
}

/// An environment variable: a plain value or a reference to a Secret or ConfigMap key.
/// There is deliberately no way to put a secret's value inline.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// A plain, non-secret value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A key of a Secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyRef>,
    /// A key of a ConfigMap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyRef>,
}

/// A key of a Secret or ConfigMap.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyRef {
    /// Object name.
    pub name: String,
    /// Key within the object.
    pub key: String,
    /// Start even when the key is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// What happens when the application fails.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestartPolicy {
    /// Never, OnFailure, OnInfrastructureFailure or Always.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RestartKind>,
    /// Retries after a failure (OnFailure, OnInfrastructureFailure and Always).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// Exponential backoff between retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
}

/// Restart policy kind.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RestartKind {
    /// Never restart.
    Never,
    /// Restart after a failure, up to `retries` times.
    OnFailure,
    /// Restart after any end (streaming jobs).
    Always,
    /// Restart only after a failure the application did not cause (an
    /// evicted or lost driver, a node that went away), up to `retries` times.
    OnInfrastructureFailure,
}

/// Exponential backoff: initial × multiplier^(attempt-1), capped at max.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backoff {
    /// First delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial: Option<Duration>,
    /// Largest delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Duration>,
    /// Growth factor (≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
}

/// Time limits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeouts {
    /// Longest wait for the driver pod to start running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_start: Option<Duration>,
    /// Longest wait for a requested executor pod to start running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor_start: Option<Duration>,
    /// Longest run of the application; it is stopped after this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<Duration>,
}

/// A cron schedule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schedule {
    /// Five-field cron expression (or `@daily`, `@hourly`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// IANA time zone of the schedule, e.g. `Europe/Berlin` (default UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// What to do when a run is still going at the next tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    /// A run that cannot start within this of its tick is skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_deadline: Option<Duration>,
    /// Finished successful runs kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successful_history_limit: Option<u32>,
    /// Finished failed runs kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_history_limit: Option<u32>,
}

/// Concurrency policy of a schedule.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConcurrencyPolicy {
    /// Runs may overlap.
    Allow,
    /// Skip a tick while a run is going.
    Forbid,
    /// Stop the running one and start anew.
    Replace,
}

impl ConcurrencyPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// Spark event logs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventLog {
    /// Write event logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Where: `s3a://bucket/spark-events`, `file:///tmp/spark-events`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Roll logs into files of at most this size (Spark's rolling layout).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling: Option<bool>,
    /// Largest rolled file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<MemorySize>,
    /// Compression codec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<EventLogCodec>,
}

/// Event-log compression codec.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventLogCodec {
    /// Uncompressed JSON lines.
    None,
    /// Zstandard (Spark 4's default).
    Zstd,
    /// lz4-java block stream.
    Lz4,
    /// snappy-java stream.
    Snappy,
    /// LZF.
    Lzf,
}

impl EventLogCodec {
    /// Spark's name for the codec, or None for no compression.
    pub fn spark_name(self) -> Option<&'static str> {
        match self {
            EventLogCodec::None => None,
            EventLogCodec::Zstd => Some("zstd"),
            EventLogCodec::Lz4 => Some("lz4"),
            EventLogCodec::Snappy => Some("snappy"),
            EventLogCodec::Lzf => Some("lzf"),
        }
    }
}

/// Service-level objective.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Slo {
    /// A run longer than this breaks the SLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<Duration>,
    /// Share of runs that must succeed, e.g. 0.99.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
}

/// What `sparkplane ci` runs for a job beyond validation, policies and fit.
/// Paths are relative to the job file.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiSpec {
    /// The job's unit tests: a program and its arguments (no shell), run in
    /// the job file's directory; a non-zero exit fails the check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_command: Vec<String>,
    /// The environment whose overlay points the job's inputs at sample data
    /// (usually `local`): `ci` runs the job on this machine in it, with its
    /// quality gates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_environment: Option<String>,
    /// Spark SQL files to check besides a SQL job's main file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sql_files: Vec<String>,
    /// Tables the SQL reads, with their columns: references to other tables
    /// or to columns they lack fail the SQL check.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, CiTable>,
}

/// A table the job's SQL reads.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiTable {
    /// Column name to Spark SQL type (e.g. `string`, `bigint`, `double`, `date`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
    /// A data-quality spec whose `schema` check lists the columns (relative to the job file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<String>,
}

/// Delivery settings of a job (ADR 0040).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliverySpec {
    /// The shadow run `promote --shadow` makes before promoting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowSpec>,
}

/// A shadow run: the candidate release run on the same input with its
/// outputs redirected, compared with the current release's outputs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShadowSpec {
    /// The outputs to redirect and compare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<ShadowOutput>,
    /// How far the candidate's outputs may differ from the current ones.
    #[serde(default)]
    pub bounds: ShadowBounds,
}

/// One output of the job.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShadowOutput {
    /// The output location exactly as the job names it in `spec.arguments`
    /// or a `spec.sparkConf` value (as resolved for the environment the
    /// shadow runs in); the shadow run gets a shadow location instead.
    pub path: String,
    /// The data-quality spec that reads this output (relative to the job
    /// file): its dataset says where the current output is and how to read
    /// it, its checks are run on both outputs.
    pub data_quality: String,
}

/// Bounds on the differences between the candidate's and the current outputs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShadowBounds {
    /// Largest change of the row count, in percent of the current (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count_change_percent: Option<f64>,
    /// Schema: `same` (default) or `additive` (new columns allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<ShadowSchema>,
    /// Largest population stability index of any numeric column (default 0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_psi: Option<f64>,
    /// Largest change of any column's share of nulls, 0 to 1 (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_null_rate_change: Option<f64>,
}

/// What the candidate's schema may be.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ShadowSchema {
    /// The same columns with the same types.
    Same,
    /// The current columns with the same types; new columns allowed.
    Additive,
}

/// A data-quality gate on the job's outputs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QualityGate {
    /// Path of a data-quality spec, relative to the job file.
    pub spec: String,
    /// Fail the run when the gate fails (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocking: Option<bool>,
    /// The data-quality spec itself, as `sparkplane apply` embeds it from
    /// `spec` so the operator can check the gate in the cluster, where the
    /// job's files are not (ADR 0043). Not written by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<Box<crate::dq::DqSpec>>,
}

impl QualityGate {
    /// Whether a failure of this gate fails the run: unless it says
    /// `blocking: false`. The one place that default is applied.
    pub fn is_blocking(&self) -> bool {
        self.blocking.unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_blocks_unless_it_says_blocking_false() {
        let gate = |blocking| QualityGate { spec: "dq.yaml".into(), blocking, definition: None };
        assert!(gate(None).is_blocking());
        assert!(gate(Some(true)).is_blocking());
        assert!(!gate(Some(false)).is_blocking());
    }
}
