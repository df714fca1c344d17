//! The one registry of metric names: every metric sparkplane emits and every
//! standard metric (kube-state-metrics, Prometheus's own `up`) its rules rely on.
//!
//! Owns: names, types, label names, help text and units, plus the contract each
//! metric's emitter must keep (label values, initialisation). Alert rules, SLO
//! rules, dashboards and the exporter take names only from here; a test parses
//! every generated expression and fails on any name or label not listed.
//!
//! Must not: compute metric values, open sockets or files, or depend on the
//! exporter's implementation. It is plain static data.

/// How a metric behaves over time, as Prometheus types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MetricType {
    /// Only goes up (resets on restart); the exposed name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in cumulative buckets: `_bucket{le}`, `_sum` and `_count` series.
    Histogram,
}

impl MetricType {
    /// The type's name in the Prometheus exposition format.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// Who emits a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Emitter {
    /// `sparkplane exporter`, from Spark event logs and its own state.
    Exporter,
    /// sparkplane's submission path (CLI or operator) when it submits to a cluster.
    Submitter,
    /// kube-state-metrics (v2 label names).
    KubeStateMetrics,
    /// Prometheus itself, for every scrape target.
    Prometheus,
    /// `sparkplane dq check --metrics FILE` (text exposition for node_exporter's textfile collector or a push).
    DataQuality,
    /// Spark itself: the driver's `/metrics/executors/prometheus` endpoint
    /// (`spark.ui.prometheus.enabled=true`, Spark 3.0+), one series per
    /// executor labelled `application_id`, `application_name`, `executor_id`.
    Spark,
    /// `sparkplane history serve`, about its own requests, index and cache.
    HistoryServer,
    /// `sparkplane operator`, about the SparkJobs it reconciles and its own work
    /// (`sparkplane_operator::Metrics`, served on `--metrics-address`).
    Operator,
    /// `sparkplane backup run` (the backup CronJob), pushed to a Pushgateway after each run.
    Backup,
}

/// The unit of a metric's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    /// Seconds (durations, or Unix time for `_timestamp_seconds`).
    Seconds,
    /// Bytes.
    Bytes,
    /// CPU core-hours.
    CoreHours,
    /// US dollars.
    Usd,
    /// A share between 0 and 1.
    Ratio,
    /// A count of events or objects, or a 0/1 state.
    Count,
}

/// One metric: what a query may select and what it may match on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metric {
    /// The exposed name (counters with their `_total` suffix; histograms without `_bucket`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricType,
    /// Every label the series carry (histogram series also carry `le` on `_bucket`).
    pub labels: &'static [&'static str],
    /// What the value means, and the emitter's contract.
    pub help: &'static str,
    /// The value's unit.
    pub unit: Unit,
    /// Who emits it.
    pub emitter: Emitter,
    /// Histogram bucket upper bounds (empty for other types).
    pub buckets: &'static [f64],
}

/// Labels on every per-application metric. Bounded: one value per SparkJob,
/// team, cost-center and namespace; never per application, task or executor.
///
/// The job's label is `sparkjob`, not `job`: Prometheus attaches `job` (the
/// scrape job) to every scraped series, and a scraped `job` label would be
/// renamed `exported_job` or, with `honor_labels`, overwrite the scrape job.
pub const APP_LABELS: &[&str] = &["sparkjob", "team", "cost_center", "namespace"];

/// Labels of per-cause failure counters: [`APP_LABELS`] plus `cause`, whose
/// values are the closed set of `sparkplane_eventlog::cause::FailureCause`.
pub const APP_CAUSE_LABELS: &[&str] = &["sparkjob", "team", "cost_center", "namespace", "cause"];

/// Labels Spark's executor metrics carry (values from Spark, not sparkplane).
pub const SPARK_EXECUTOR_LABELS: &[&str] = &["application_id", "application_name", "executor_id"];

/// Values of the `outcome` label on `sparkplane_app_outcome_total`.
pub const OUTCOMES: &[&str] = &["succeeded", "failed"];

/// Buckets for application durations: 30 s to 24 h.
const DURATION_BUCKETS: &[f64] = &[30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0];

/// Buckets for submission latency: 0.25 s to 5 min.
const SUBMIT_BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];

const APP_OUTCOME_LABELS: &[&str] = &["sparkjob", "team", "cost_center", "namespace", "outcome"];
/// Labels of data-quality metrics: the spec's name (bounded: one per spec).
pub const DQ_LABELS: &[&str] = &["spec"];
/// Labels of per-check data-quality metrics (bounded: the checks listed in the spec).
pub const DQ_CHECK_LABELS: &[&str] = &["spec", "check", "severity"];
const KSM_CONTAINER_REASON: &[&str] = &["namespace", "pod", "uid", "container", "reason"];

/// Pod labels kube-state-metrics exposes on `kube_pod_labels` when started with
/// `--metric-labels-allowlist=pods=[spark-role,spark-app-selector,sparkplane.dev/job,sparkplane.dev/team]`
/// (kube-prometheus-stack: `kube-state-metrics.metricLabelsAllowlist`).
pub const KSM_POD_LABEL_ALLOWLIST: &[&str] =
    &["spark-role", "spark-app-selector", sparkplane_api::labels::JOB, sparkplane_api::labels::TEAM];

/// StatefulSet labels kube-state-metrics exposes on `kube_statefulset_labels`
/// when started with
/// `--metric-labels-allowlist=statefulsets=[app.kubernetes.io/component,sparkplane.dev/job,sparkplane.dev/team]`:
/// how `SparkConnectServerDown` tells a Spark Connect server's StatefulSet
/// (component `connect-server`) from others, and whose team it is.
pub const KSM_STATEFULSET_LABEL_ALLOWLIST: &[&str] =
    &[sparkplane_api::labels::APP_COMPONENT, sparkplane_api::labels::JOB, sparkplane_api::labels::TEAM];

/// Values of the `result` label on `sparkplane_operator_reconciles_total`.
pub const RECONCILE_RESULTS: &[&str] = &["ok", "error"];

/// The `cause` values of `sparkplane_operator_failures_total` that mean an
/// attempt's driver never ran: its image could not be pulled, no node took it,
/// or it did not start within `timeouts.driverStart`. The operator creates
/// these series at 0 when it starts, so `increase()` sees the first failure;
/// the spellings are `sparkplane_lifecycle::Cause::as_str`'s (a test checks).
pub const OPERATOR_START_FAILURE_CAUSES: &[&str] = &["ImagePullBackOff", "Unschedulable", "DriverStartTimeout"];

/// Buckets for the operator's latencies from a SparkJob's creation to its driver
/// pod and to its driver running: 0.05 s doubling to 1638.4 s (the queue wait included).
const OPERATOR_LATENCY_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6, 819.2, 1638.4];

/// Buckets for one reconcile: 0.5 ms doubling to 16.384 s.
const RECONCILE_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];

/// Labels of the backup metrics: the Backup's `metadata.name`.
pub const BACKUP_LABELS: &[&str] = &["backup"];

/// The metrics `sparkplane backup run` pushes after each run (prefix `sparkplane_backup_`).
/// A run pushes with POST, which replaces only the metrics it sends: a failed run
/// sets [`backup::LAST_FAILURE`] and keeps the last success's series.
pub mod backup {
    use super::{BACKUP_LABELS, Emitter, Metric, MetricType, Unit};

    /// When the last complete run wrote its manifest.
    pub const LAST_SUCCESS: Metric = Metric {
        name: "sparkplane_backup_last_success_timestamp_seconds",
        kind: MetricType::Gauge,
        labels: BACKUP_LABELS,
        help: "When the backup's last complete run wrote its manifest (Unix time).",
        unit: Unit::Seconds,
        emitter: Emitter::Backup,
        buckets: &[],
    };
    /// When a run last failed.
    pub const LAST_FAILURE: Metric = Metric {
        name: "sparkplane_backup_last_failure_timestamp_seconds",
        kind: MetricType::Gauge,
        labels: BACKUP_LABELS,
        help: "When a run of the backup last failed (Unix time); absent until one fails.",
        unit: Unit::Seconds,
        emitter: Emitter::Backup,
        buckets: &[],
    };
    /// Bytes the last complete run refers to.
    pub const LAST_SIZE: Metric = Metric {
        name: "sparkplane_backup_last_size_bytes",
        kind: MetricType::Gauge,
        labels: BACKUP_LABELS,
        help: "Bytes the backup's last complete run refers to: the metastore dump and every object copy.",
        unit: Unit::Bytes,
        emitter: Emitter::Backup,
        buckets: &[],
    };
    /// How old the last success may get before the backup is late.
    pub const LATE_AFTER: Metric = Metric {
        name: "sparkplane_backup_late_after_seconds",
        kind: MetricType::Gauge,
        labels: BACKUP_LABELS,
        help: "How long after its last success the backup is late: the longest wait between two runs of its \
               schedule plus at most two hours. Sent with every run.",
        unit: Unit::Seconds,
        emitter: Emitter::Backup,
        buckets: &[],
    };
    /// How long the last complete run took.
    pub const LAST_DURATION: Metric = Metric {
        name: "sparkplane_backup_last_duration_seconds",
        kind: MetricType::Gauge,
        labels: BACKUP_LABELS,
        help: "How long the backup's last complete run took, from its start to its manifest.",
        unit: Unit::Seconds,
        emitter: Emitter::Backup,
        buckets: &[],
    };
}

/// The operator's metrics (prefix `sparkplane_operator_`). `sparkplane_operator::Metrics`
/// registers each of these constants, so its names, help, labels and buckets are these.
/// Only the replica that acts (the leader, with `--leader-elect`) reconciles, so only it
/// has application, queue and reconcile series.
pub mod operator {
    use super::{Emitter, Metric, MetricType, Unit};

    /// SparkJobs by state.
    pub const APPLICATIONS: Metric = Metric {
        name: "sparkplane_operator_applications",
        kind: MetricType::Gauge,
        labels: &["state"],
        help: "SparkJobs the operator knows, by state (Queued, Submitted, DriverRunning, Running, Retrying, \
               Suspended, Scheduled, Succeeded, Failed). A state's series appears when a job first enters it and \
               stays, at 0, when the last one leaves.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Driver pods created.
    pub const SUBMISSIONS: Metric = Metric {
        name: "sparkplane_operator_submissions_total",
        kind: MetricType::Counter,
        labels: &[],
        help: "Driver pods the operator created, one per attempt (0 from the start).",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Failed attempts by cause.
    pub const FAILURES: Metric = Metric {
        name: "sparkplane_operator_failures_total",
        kind: MetricType::Counter,
        labels: &["cause"],
        help: "Failed attempts, retried or not, by cause (the job's status.reason: ImagePullBackOff, Unschedulable, \
               DriverStartTimeout, ExecutorStartTimeout, MaxDurationExceeded, Evicted, OOMKilled, DriverFailed, \
               DriverLost, PolicyDenied, InvalidSpec, QuotaExceeded, QualityGatesFailed, QualityGatesError, \
               QualityGatesInvalid). The causes a driver that never ran fails with \
               are created at 0 at start.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Failed drivers by namespace and application cause.
    pub const DRIVER_FAILURES: Metric = Metric {
        name: "sparkplane_operator_driver_failures_total",
        kind: MetricType::Counter,
        labels: &["namespace", "cause"],
        help: "Attempts whose driver exited with an error (DriverFailed) or over its memory limit (OOMKilled), by \
               namespace and the application cause the driver's log tail names, by the same rules as \
               sparkplane analyze (fetch_failed, executor_lost, out_of_memory, storage, metastore, other): one per \
               failed attempt, retried or not. Sees the failures event logs miss, such as a job failing at table \
               lookup before any Spark job. Every cause's series is created at 0 when the operator first \
               reconciles a job of the namespace, so increase() sees the first failure.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Queued SparkJobs per namespace.
    pub const QUEUE_DEPTH: Metric = Metric {
        name: "sparkplane_operator_queue_depth",
        kind: MetricType::Gauge,
        labels: &["namespace"],
        help: "SparkJobs of the namespace waiting for admission (its ResourceQuota or running-applications cap has \
               no room), as of its last reconcile; 0, not absent, once the queue empties.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Time a run waited for admission, per queue.
    pub const ADMISSION_WAIT: Metric = Metric {
        name: "sparkplane_operator_admission_wait_seconds",
        kind: MetricType::Histogram,
        labels: &["namespace", "queue"],
        help: "How long a run waited from queued to admitted (its driver pod created), by namespace and queue: the \
               Kueue LocalQueue in Kueue mode (--kueue), `builtin` for the operator's own queue. A run queued again \
               after a preemption counts again.",
        unit: Unit::Seconds,
        emitter: Emitter::Operator,
        buckets: super::OPERATOR_LATENCY_BUCKETS,
    };
    /// Runs stopped because Kueue took their admission back.
    pub const PREEMPTIONS: Metric = Metric {
        name: "sparkplane_operator_preemptions_total",
        kind: MetricType::Counter,
        labels: &["namespace", "queue", "reason"],
        help: "Runs the operator stopped and queued again because Kueue evicted their Workload, by namespace, \
               LocalQueue and Kueue's eviction reason (Preempted, ClusterQueueStopped, NodeFailures, …); counted \
               when the operator stops the run.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// When the oldest run of a namespace still waiting for admission was queued.
    pub const OLDEST_UNADMITTED: Metric = Metric {
        name: "sparkplane_operator_oldest_unadmitted_timestamp_seconds",
        kind: MetricType::Gauge,
        labels: &["namespace"],
        help: "When the namespace's oldest run still waiting for admission was queued (Unix time), as of its last \
               reconcile; 0 once none waits. time() minus it is how long that run has waited.",
        unit: Unit::Seconds,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Creation to driver pod.
    pub const CREATED_TO_DRIVER: Metric = Metric {
        name: "sparkplane_operator_created_to_driver_seconds",
        kind: MetricType::Histogram,
        labels: &[],
        help: "From a SparkJob's creation to its first driver pod created (queueing included).",
        unit: Unit::Seconds,
        emitter: Emitter::Operator,
        buckets: super::OPERATOR_LATENCY_BUCKETS,
    };
    /// Creation to driver running.
    pub const CREATED_TO_RUNNING: Metric = Metric {
        name: "sparkplane_operator_created_to_running_seconds",
        kind: MetricType::Histogram,
        labels: &[],
        help: "From a SparkJob's creation to its first attempt's driver running.",
        unit: Unit::Seconds,
        emitter: Emitter::Operator,
        buckets: super::OPERATOR_LATENCY_BUCKETS,
    };
    /// Creation to the end.
    pub const CREATED_TO_FINISHED: Metric = Metric {
        name: "sparkplane_operator_created_to_finished_seconds",
        kind: MetricType::Histogram,
        labels: &[],
        help: "From a SparkJob's creation to its end (Succeeded or Failed), retries included.",
        unit: Unit::Seconds,
        emitter: Emitter::Operator,
        buckets: super::DURATION_BUCKETS,
    };
    /// Reconciles by result.
    pub const RECONCILES: Metric = Metric {
        name: "sparkplane_operator_reconciles_total",
        kind: MetricType::Counter,
        labels: &["result"],
        help: "Reconciles by result: ok, or error (a request to the API server failed; the job is reconciled \
               again 2 s later). Both series are created at 0 at start.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Time one reconcile takes.
    pub const RECONCILE_DURATION: Metric = Metric {
        name: "sparkplane_operator_reconcile_duration_seconds",
        kind: MetricType::Histogram,
        labels: &[],
        help: "Time one reconcile takes, its API requests included.",
        unit: Unit::Seconds,
        emitter: Emitter::Operator,
        buckets: super::RECONCILE_BUCKETS,
    };
    /// API requests by verb and kind.
    pub const API_REQUESTS: Metric = Metric {
        name: "sparkplane_operator_api_requests_total",
        kind: MetricType::Counter,
        labels: &["verb", "kind"],
        help: "Requests reconciles sent to the API server, by verb (get, create, apply, patch, delete) and kind \
               (Pod, Pod/log, ConfigMap, Service, SparkJob, SparkJob/status, Event, …); watches and Lease \
               renewals are not counted.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
    /// Leadership.
    pub const LEADER: Metric = Metric {
        name: "sparkplane_operator_leader",
        kind: MetricType::Gauge,
        labels: &[],
        help: "1 while this replica acts: it holds the leader Lease (--leader-elect), or runs without \
               leader election; 0 while it stands by.",
        unit: Unit::Count,
        emitter: Emitter::Operator,
        buckets: &[],
    };
}

static METRICS: &[Metric] = &[
    // Per application, from event logs.
    Metric {
        name: "sparkplane_app_outcome_total",
        kind: MetricType::Counter,
        labels: APP_OUTCOME_LABELS,
        help: "Finished applications by outcome (succeeded, failed). The exporter creates every outcome's series at 0 \
               when it first sees a job, so increase() sees the first failure.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_duration_seconds",
        kind: MetricType::Histogram,
        labels: APP_LABELS,
        help: "Wall-clock duration of finished applications, from application start to end.",
        unit: Unit::Seconds,
        emitter: Emitter::Exporter,
        buckets: DURATION_BUCKETS,
    },
    Metric {
        name: "sparkplane_app_running_seconds",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "Age of the job's oldest application still running (an in-progress event log); absent when none runs.",
        unit: Unit::Seconds,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_connect_sessions",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "Client sessions open on the job's running Spark Connect servers (sessions started and not closed, \
               from each server's in-progress event log); absent when none runs.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_connect_operations",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "Queries and commands open on the job's running Spark Connect servers (started and not closed: \
               running or streaming results); absent when none runs.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_slo_duration_seconds",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "The job's duration objective (spec.slo.maxDuration); absent for jobs without one.",
        unit: Unit::Seconds,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_slo_duration_breaches_total",
        kind: MetricType::Counter,
        labels: APP_LABELS,
        help: "Finished applications that ran longer than the job's duration objective.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_task_failures_total",
        kind: MetricType::Counter,
        labels: APP_CAUSE_LABELS,
        help: "Failed task attempts of finished applications, by cause (fetch_failed, executor_lost, out_of_memory, \
               storage, metastore, other). Only causes that occurred have series.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_failures_total",
        kind: MetricType::Counter,
        labels: APP_CAUSE_LABELS,
        help: "Failed applications by the cause of the job failure that failed them (same causes as task failures).",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_stage_skew",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "Worst stage skew of the job's latest finished application: the largest ratio of a stage's slowest task \
               to its median task, over stages whose slowest task ran over 30 s; absent when none did.",
        unit: Unit::Ratio,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_core_hours_total",
        kind: MetricType::Counter,
        labels: APP_LABELS,
        help: "CPU core-hours of finished applications (driver and executors), as `sparkplane cost` attributes them.",
        unit: Unit::CoreHours,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_cost_usd_total",
        kind: MetricType::Counter,
        labels: APP_LABELS,
        help: "Cost of finished applications in US dollars at the exporter's price sheet, as `sparkplane cost` computes it.",
        unit: Unit::Usd,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_gc_share",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "Share of task time spent in JVM garbage collection in the job's latest finished application (0 to 1).",
        unit: Unit::Ratio,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_spill_bytes_total",
        kind: MetricType::Counter,
        labels: APP_LABELS,
        help: "Bytes spilled to disk (memory and disk spill) by finished applications' tasks.",
        unit: Unit::Bytes,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_app_executor_utilisation",
        kind: MetricType::Gauge,
        labels: APP_LABELS,
        help: "Share of executor core time spent running tasks in the job's latest finished application (0 to 1).",
        unit: Unit::Ratio,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    // The exporter's own health.
    Metric {
        name: "sparkplane_exporter_up",
        kind: MetricType::Gauge,
        labels: &[],
        help: "1 when the exporter's last scan of the event-log location succeeded, 0 when the location was unreadable.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_exporter_log_errors_total",
        kind: MetricType::Counter,
        labels: &[],
        help: "Event logs the exporter could not read or parse (each counted once per change of the log).",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_server_up",
        kind: MetricType::Gauge,
        labels: &[],
        help: "1 when the Spark History Server given to the exporter (--history-server) answered its REST API on the \
               last probe, 0 when it did not; absent when no History Server is configured.",
        unit: Unit::Count,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_exporter_last_scan_timestamp_seconds",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Unix time at which the exporter last finished a scan of the event-log location.",
        unit: Unit::Seconds,
        emitter: Emitter::Exporter,
        buckets: &[],
    },
    // `sparkplane history serve`: its own requests, index and cache (labels bounded:
    // endpoint kinds and status codes, never application ids).
    Metric {
        name: "sparkplane_history_requests_total",
        kind: MetricType::Counter,
        labels: &["endpoint", "code"],
        help: "Requests sparkplane's History Server answered, by endpoint kind (applications, jobs, stages, \
               executors, …; never an application id) and HTTP status code.",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_request_seconds_total",
        kind: MetricType::Counter,
        labels: &["endpoint"],
        help: "Seconds spent answering requests, by endpoint kind; divided by the requests' rate it is the mean latency.",
        unit: Unit::Seconds,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_index_applications",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Application attempts in the History Server's index after its last scan.",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_logs_skipped_total",
        kind: MetricType::Counter,
        labels: &["reason"],
        help: "Event logs left out of the History Server's list, by reason: `unreadable` (could not be opened or \
               decoded) or `no_application_start` (no SparkListenerApplicationStart event).",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_detail_cache_bytes",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Approximate bytes of replayed application details the History Server holds in its cache (bounded by \
               --cache-mib).",
        unit: Unit::Bytes,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_scan_failures_total",
        kind: MetricType::Counter,
        labels: &[],
        help: "Rescans of the event-log location that failed (the last good list keeps being served).",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_logs_partial",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Event logs in the History Server's list of which only part could be read (a line cut off or \
               corrupt, for example a log truncated mid-line); the rest of each is served.",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_index_restored",
        kind: MetricType::Gauge,
        labels: &[],
        help: "Application records the History Server answered from its persisted index at start, before it listed \
               the event-log location again (0 after a start without a persisted index or with an empty one).",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_history_unreadable_details_total",
        kind: MetricType::Counter,
        labels: &[],
        help: "Requests for a listed application whose event log could not be read any more (deleted or \
               shrunk since the last scan); each got a 404 naming the log; the next scan updates the list.",
        unit: Unit::Count,
        emitter: Emitter::HistoryServer,
        buckets: &[],
    },
    // Submission.
    Metric {
        name: "sparkplane_submit_duration_seconds",
        kind: MetricType::Histogram,
        labels: &["namespace", "target"],
        help: "Time from the start of a submission to the API server accepting every object (target: native, kubeflow, job).",
        unit: Unit::Seconds,
        emitter: Emitter::Submitter,
        buckets: SUBMIT_BUCKETS,
    },
    // kube-state-metrics v2.
    Metric {
        name: "kube_pod_status_phase",
        kind: MetricType::Gauge,
        labels: &["namespace", "pod", "uid", "phase"],
        help: "1 for the pod's current phase (Pending, Running, Succeeded, Failed, Unknown), 0 for the others.",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_pod_status_ready",
        kind: MetricType::Gauge,
        labels: &["namespace", "pod", "uid", "condition"],
        help: "The pod's Ready condition: 1 on the series whose condition label (true, false, unknown) holds.",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_pod_container_status_restarts_total",
        kind: MetricType::Counter,
        labels: &["namespace", "pod", "uid", "container"],
        help: "Restarts of a container.",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_pod_container_status_last_terminated_reason",
        kind: MetricType::Gauge,
        labels: KSM_CONTAINER_REASON,
        help: "Reason of a restarted container's previous termination (OOMKilled, Error, …). Only restarted containers have one.",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_pod_container_status_terminated_reason",
        kind: MetricType::Gauge,
        labels: KSM_CONTAINER_REASON,
        help: "Reason a container is currently terminated (OOMKilled, Error, Completed, …): Spark pods never restart, \
               so this is where an executor's OOMKilled shows.",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_pod_container_status_waiting_reason",
        kind: MetricType::Gauge,
        labels: KSM_CONTAINER_REASON,
        help: "Reason a container is waiting (CrashLoopBackOff, ImagePullBackOff, ErrImagePull, CreateContainerConfigError, …).",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_pod_labels",
        kind: MetricType::Gauge,
        labels: &[
            "namespace",
            "pod",
            "uid",
            "label_spark_role",
            "label_spark_app_selector",
            "label_sparkplane_dev_job",
            "label_sparkplane_dev_team",
        ],
        help: "Always 1; carries the pod labels kube-state-metrics is allowed to expose (see KSM_POD_LABEL_ALLOWLIST).",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_statefulset_replicas",
        kind: MetricType::Gauge,
        labels: &["namespace", "statefulset"],
        help: "The StatefulSet's desired replicas (0 while it is scaled down, e.g. a suspended Connect server).",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_statefulset_status_replicas_ready",
        kind: MetricType::Gauge,
        labels: &["namespace", "statefulset"],
        help: "The StatefulSet's replicas whose pod is Ready.",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    Metric {
        name: "kube_statefulset_labels",
        kind: MetricType::Gauge,
        labels: &[
            "namespace",
            "statefulset",
            "label_app_kubernetes_io_component",
            "label_sparkplane_dev_job",
            "label_sparkplane_dev_team",
        ],
        help: "Always 1; carries the StatefulSet labels kube-state-metrics is allowed to expose (see \
               KSM_STATEFULSET_LABEL_ALLOWLIST).",
        unit: Unit::Count,
        emitter: Emitter::KubeStateMetrics,
        buckets: &[],
    },
    // Data-quality gates, written by `sparkplane dq check --metrics FILE`; one file per run replaces the last.
    Metric {
        name: "sparkplane_dq_gate_passed",
        kind: MetricType::Gauge,
        labels: DQ_LABELS,
        help: "1 when every error-severity check of the data-quality spec passed in its last run, 0 when one failed.",
        unit: Unit::Count,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_dq_check_passed",
        kind: MetricType::Gauge,
        labels: DQ_CHECK_LABELS,
        help: "1 when the check passed in the spec's last run, 0 when it failed; every check of the spec has a series.",
        unit: Unit::Count,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_dq_check_failing_rows",
        kind: MetricType::Gauge,
        labels: DQ_CHECK_LABELS,
        help: "Rows failing a row-level check (not-null, accepted values, range, regex, referential integrity; \
               duplicate keys for uniqueness) in the spec's last run; 0 for checks without rows.",
        unit: Unit::Count,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_dq_rows",
        kind: MetricType::Gauge,
        labels: DQ_LABELS,
        help: "Rows of the dataset (or selected partition) in the spec's last run.",
        unit: Unit::Count,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_dq_scanned_bytes",
        kind: MetricType::Gauge,
        labels: DQ_LABELS,
        help: "Size of the data files the spec's last run read.",
        unit: Unit::Bytes,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_dq_duration_seconds",
        kind: MetricType::Gauge,
        labels: DQ_LABELS,
        help: "Wall time of the spec's last run (discover, scan, evaluate).",
        unit: Unit::Seconds,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    Metric {
        name: "sparkplane_dq_last_run_timestamp_seconds",
        kind: MetricType::Gauge,
        labels: DQ_LABELS,
        help: "Unix time the spec's last run finished; alert on its age to catch gates that stopped running.",
        unit: Unit::Seconds,
        emitter: Emitter::DataQuality,
        buckets: &[],
    },
    // Spark's own executor metrics (PrometheusResource), scraped from the driver.
    Metric {
        name: "metrics_executor_memoryUsed_bytes",
        kind: MetricType::Gauge,
        labels: SPARK_EXECUTOR_LABELS,
        help: "Storage memory the executor's block manager uses (cached blocks).",
        unit: Unit::Bytes,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    Metric {
        name: "metrics_executor_maxMemory_bytes",
        kind: MetricType::Gauge,
        labels: SPARK_EXECUTOR_LABELS,
        help: "Storage memory available to the executor's block manager.",
        unit: Unit::Bytes,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    Metric {
        name: "metrics_executor_JVMHeapMemory_bytes",
        kind: MetricType::Gauge,
        labels: SPARK_EXECUTOR_LABELS,
        help: "Peak JVM heap used by the executor since the last heartbeat.",
        unit: Unit::Bytes,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    Metric {
        name: "metrics_executor_totalGCTime_seconds_total",
        kind: MetricType::Counter,
        labels: SPARK_EXECUTOR_LABELS,
        help: "JVM garbage-collection time of the executor's tasks.",
        unit: Unit::Seconds,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    Metric {
        name: "metrics_executor_totalDuration_seconds_total",
        kind: MetricType::Counter,
        labels: SPARK_EXECUTOR_LABELS,
        help: "Run time of the executor's tasks.",
        unit: Unit::Seconds,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    Metric {
        name: "metrics_executor_failedTasks_total",
        kind: MetricType::Counter,
        labels: SPARK_EXECUTOR_LABELS,
        help: "Tasks that failed on the executor.",
        unit: Unit::Count,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    Metric {
        name: "metrics_executor_activeTasks",
        kind: MetricType::Gauge,
        labels: SPARK_EXECUTOR_LABELS,
        help: "Tasks running on the executor now.",
        unit: Unit::Count,
        emitter: Emitter::Spark,
        buckets: &[],
    },
    // The operator (`sparkplane operator`).
    operator::APPLICATIONS,
    operator::SUBMISSIONS,
    operator::FAILURES,
    operator::DRIVER_FAILURES,
    operator::QUEUE_DEPTH,
    operator::ADMISSION_WAIT,
    operator::PREEMPTIONS,
    operator::OLDEST_UNADMITTED,
    operator::CREATED_TO_DRIVER,
    operator::CREATED_TO_RUNNING,
    operator::CREATED_TO_FINISHED,
    operator::RECONCILES,
    operator::RECONCILE_DURATION,
    operator::API_REQUESTS,
    operator::LEADER,
    // Backups (`sparkplane backup run`, pushed).
    backup::LAST_SUCCESS,
    backup::LAST_FAILURE,
    backup::LAST_SIZE,
    backup::LAST_DURATION,
    backup::LATE_AFTER,
    // Prometheus.
    Metric {
        name: "up",
        kind: MetricType::Gauge,
        labels: &["job", "instance"],
        help: "1 when Prometheus's last scrape of the target succeeded, 0 when it failed.",
        unit: Unit::Count,
        emitter: Emitter::Prometheus,
        buckets: &[],
    },
];

/// Every registered metric, in a fixed order.
pub fn all() -> &'static [Metric] {
    METRICS
}

/// The metric registered under exactly `name`.
pub fn lookup(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// The metric a series name belongs to, and the labels that series carries:
/// a registered name itself, or a histogram's `_bucket` (with `le`), `_sum` or `_count`.
pub fn lookup_series(series: &str) -> Option<(&'static Metric, Vec<&'static str>)> {
    if let Some(metric) = lookup(series).filter(|m| m.kind != MetricType::Histogram) {
        return Some((metric, metric.labels.to_vec()));
    }
    for (suffix, extra) in [("_bucket", Some("le")), ("_sum", None), ("_count", None)] {
        let Some(base) = series.strip_suffix(suffix) else { continue };
        if let Some(metric) = lookup(base).filter(|m| m.kind == MetricType::Histogram) {
            let mut labels = metric.labels.to_vec();
            labels.extend(extra);
            return Some((metric, labels));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for m in all() {
            assert!(seen.insert(m.name), "{} registered twice", m.name);
            let ok = |s: &str| {
                s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            };
            assert!(ok(m.name), "{}", m.name);
            assert!(m.labels.iter().all(|l| ok(l) && !l.starts_with("__")), "{}", m.name);
            assert_eq!(
                m.kind == MetricType::Counter,
                m.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                m.name
            );
            assert_eq!(m.kind == MetricType::Histogram, !m.buckets.is_empty(), "{}", m.name);
            assert!(m.buckets.windows(2).all(|w| w[0] < w[1]), "{}", m.name);
            if matches!(
                m.emitter,
                Emitter::Exporter
                    | Emitter::Submitter
                    | Emitter::DataQuality
                    | Emitter::HistoryServer
                    | Emitter::Operator
                    | Emitter::Backup
            ) {
                assert!(m.name.starts_with("sparkplane_"), "{}", m.name);
                assert!(
                    !m.labels.iter().any(|l| ["job", "instance", "executor", "task", "app_id"].contains(l)),
                    "{}",
                    m.name
                );
            }
            assert!(!m.help.is_empty());
        }
    }

    #[test]
    fn lookup_finds_histogram_series() {
        assert_eq!(lookup("up").map(|m| m.kind), Some(MetricType::Gauge));
        let (m, labels) = lookup_series("sparkplane_submit_duration_seconds_bucket").expect("bucket series");
        assert_eq!(m.name, "sparkplane_submit_duration_seconds");
        assert!(labels.contains(&"le"));
        assert!(lookup_series("sparkplane_submit_duration_seconds").is_none());
        assert!(lookup_series("sparkplane_app_outcome_total_bucket").is_none());
        assert!(lookup_series("sparkplane_app_outcome_total").is_some());
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn allowlisted_pod_labels_are_registered() {
        let labels = lookup("kube_pod_labels").map(|m| m.labels).unwrap_or_default();
        for allowed in KSM_POD_LABEL_ALLOWLIST {
            let sanitised: String = allowed.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            assert!(labels.contains(&format!("label_{sanitised}").as_str()), "{allowed}");
        }
    }

    #[test]
    fn operator_metrics_are_registered_under_its_prefix() {
        let names: Vec<&str> = all().iter().filter(|m| m.emitter == Emitter::Operator).map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "sparkplane_operator_applications",
                "sparkplane_operator_submissions_total",
                "sparkplane_operator_failures_total",
                "sparkplane_operator_driver_failures_total",
                "sparkplane_operator_queue_depth",
                "sparkplane_operator_admission_wait_seconds",
                "sparkplane_operator_preemptions_total",
                "sparkplane_operator_oldest_unadmitted_timestamp_seconds",
                "sparkplane_operator_created_to_driver_seconds",
                "sparkplane_operator_created_to_running_seconds",
                "sparkplane_operator_created_to_finished_seconds",
                "sparkplane_operator_reconciles_total",
                "sparkplane_operator_reconcile_duration_seconds",
                "sparkplane_operator_api_requests_total",
                "sparkplane_operator_leader",
            ]
        );
        assert_eq!(lookup("sparkplane_operator_reconciles_total"), Some(&operator::RECONCILES));
        assert_eq!(operator::CREATED_TO_DRIVER.buckets.len(), 16);
        assert_eq!(operator::CREATED_TO_DRIVER.buckets.last(), Some(&1638.4));
        assert_eq!(operator::RECONCILE_DURATION.buckets.first(), Some(&0.0005));
        assert_eq!(operator::CREATED_TO_FINISHED.buckets.last(), Some(&86400.0));
    }

    #[test]
    fn start_failure_causes_are_the_cores_spelling() {
        use sparkplane_lifecycle::Cause;
        let causes = [Cause::ImagePullBackOff, Cause::Unschedulable, Cause::DriverStartTimeout];
        assert_eq!(OPERATOR_START_FAILURE_CAUSES, causes.map(Cause::as_str));
    }
}
