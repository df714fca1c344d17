//! Prometheus alerting and recording rules for Spark jobs run by sparkplane,
//! and their two output shapes: a plain rule file (`groups:`) and a
//! `monitoring.coreos.com/v1` PrometheusRule.
//!
//! Owns: the built-in alerts (what they select, thresholds, severities,
//! annotations and the runbook each links) and the typed rule model, which
//! the SLO rules build on too (this module knows nothing of SLOs).
//!
//! Must not: invent metric names (every selector uses a name from
//! [`crate::registry`], which a test enforces by parsing each expression),
//! read files, or format YAML itself beyond handing a `serde_json::Value` to
//! the one deterministic emitter.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sparkplane_core::render::common::{DRIVER_CONTAINER, EXECUTOR_CONTAINER};

use crate::registry::OPERATOR_START_FAILURE_CAUSES;

/// Where `runbook_url` annotations point unless told otherwise.
pub const DEFAULT_RUNBOOK_BASE: &str = "https://github.com/sparkplane/sparkplane/blob/main/docs/runbooks/";

/// The scrape job name Prometheus gives the exporter unless told otherwise.
pub const DEFAULT_EXPORTER_JOB: &str = "sparkplane-exporter";

/// The scrape job name Prometheus gives the operator's replicas unless told otherwise.
pub const DEFAULT_OPERATOR_JOB: &str = "sparkplane-operator";

/// How urgently an alert needs a human.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Page someone now.
    Critical,
    /// Open a ticket; look within a working day.
    Warning,
    /// Worth knowing; no action required.
    Info,
}

impl Severity {
    /// The value of the `severity` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// An alerting rule.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// `alert:` name, CamelCase.
    pub name: String,
    /// PromQL expression; every result series is an alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires (`None`: at once).
    pub for_: Option<String>,
    /// The `severity` label.
    pub severity: Severity,
    /// Further static labels.
    pub labels: BTreeMap<String, String>,
    /// One-line summary (may use `{{ $labels.x }}` and `{{ $value }}`).
    pub summary: String,
    /// What is wrong and what it costs, in a few sentences.
    pub description: String,
    /// File stem of the runbook in docs/runbooks/ (`job-failed` for job-failed.md).
    pub runbook: String,
}

/// A recording rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingRule {
    /// `record:` name, `level:metric:operations`.
    pub record: String,
    /// PromQL expression.
    pub expr: String,
    /// Static labels added to the result.
    pub labels: BTreeMap<String, String>,
}

/// One rule of a group.
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// An alerting rule.
    Alert(AlertRule),
    /// A recording rule.
    Record(RecordingRule),
}

/// A named group of rules, evaluated together at one interval.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleGroup {
    /// Group name, unique in a file.
    pub name: String,
    /// The rules in evaluation order.
    pub rules: Vec<Rule>,
}

/// Settings for rule generation.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleOptions {
    /// Prefix of every `runbook_url`; the runbook's file name (`job-failed.md`) is appended.
    pub runbook_base: String,
    /// The scrape job name of the exporter in Prometheus (`up{job=…}`).
    pub exporter_job: String,
    /// The scrape job name of the operator's replicas in Prometheus (`up{job=…}`).
    pub operator_job: String,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            runbook_base: DEFAULT_RUNBOOK_BASE.to_owned(),
            exporter_job: DEFAULT_EXPORTER_JOB.to_owned(),
            operator_job: DEFAULT_OPERATOR_JOB.to_owned(),
        }
    }
}

impl RuleOptions {
    /// The `runbook_url` for a runbook file stem.
    pub fn runbook_url(&self, runbook: &str) -> String {
        format!("{}{runbook}.md", self.runbook_base)
    }
}

/// Escapes a string for use inside a double-quoted PromQL label value.
pub fn promql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `sum by (sparkjob, team, cost_center, namespace)`: the per-job grouping every job alert uses.
const BY_JOB: &str = "sum by (sparkjob, team, cost_center, namespace)";
const MAX_BY_JOB: &str = "max by (sparkjob, team, cost_center, namespace)";
/// The grouping of the live alerts over Spark's own metrics: per application,
/// keeping the job, team and namespace labels the PodMonitor copies from the
/// driver pod (`observe monitors`), so Alertmanager routes them to the team.
const LIVE_BY: &str = "sum by (application_name, sparkjob, team, cost_center, namespace)";
const ON_JOB: &str = "on (sparkjob, team, cost_center, namespace)";

/// GC share above which [`builtin_groups`] alerts (matches `sparkplane analyze`'s critical level).
pub const GC_SHARE_THRESHOLD: f64 = 0.25;
/// Spill per job per hour above which [`builtin_groups`] alerts: 10 GiB.
pub const SPILL_BYTES_PER_HOUR_THRESHOLD: u64 = 10 * 1024 * 1024 * 1024;
/// Worst stage skew (slowest task ÷ median) above which [`builtin_groups`] alerts: `sparkplane analyze`'s own threshold.
pub const SKEW_THRESHOLD: f64 = sparkplane_analysis::analyze::SKEW_MAX_OVER_MEDIAN;
/// Executor utilisation below which a job that burns real core-hours is flagged.
pub const LOW_UTILISATION_THRESHOLD: f64 = 0.3;
/// Core-hours a job must have used in a day before its low utilisation matters.
pub const LOW_UTILISATION_MIN_CORE_HOURS_PER_DAY: f64 = 1.0;
/// Share of executor task time spent in GC, live from Spark's own metrics, above which [`builtin_groups`] alerts.
pub const LIVE_GC_SHARE_THRESHOLD: f64 = 0.3;
/// Share of an executor's storage memory in use above which [`builtin_groups`] alerts.
pub const STORAGE_MEMORY_THRESHOLD: f64 = 0.9;
/// p95 submission latency above which [`builtin_groups`] alerts, in seconds.
pub const SLOW_SUBMIT_SECONDS: u32 = 60;
/// Minutes a namespace's operator queue may stay non-empty while no 5-minute span
/// saw a driver pod created anywhere, before [`builtin_groups`] alerts.
pub const OPERATOR_QUEUE_STUCK_MINUTES: u32 = 30;
/// How long a run may wait for admission (the operator's queue, or Kueue in
/// Kueue mode) before SparkplaneApplicationsUnadmitted fires.
pub const OPERATOR_UNADMITTED_MINUTES: u32 = 60;
/// Runs of one queue Kueue may take the admission back from within an hour
/// (preempted, reclaimed by the cohort, evicted) before SparkplaneQueuePreemptions fires.
pub const QUEUE_PREEMPTIONS_PER_HOUR: u32 = 5;
/// Share of the operator's driver pods whose driver never ran (image pull,
/// scheduling, start timeout) above which [`builtin_groups`] alerts.
pub const OPERATOR_START_FAILURE_RATIO: f64 = 0.25;
/// Fewest such failures in the window before that share is alerted on.
pub const OPERATOR_START_FAILURES_MIN: u32 = 3;
/// Window over which the operator's start failures and submissions are counted, in minutes.
pub const OPERATOR_START_FAILURE_WINDOW_MINUTES: u32 = 30;
/// Hours since a backup's last complete run after which [`builtin_groups`] alerts when the
/// backup's runs did not report their own threshold (`sparkplane_backup_late_after_seconds`).
pub const BACKUP_LATE_HOURS: u64 = 26;
/// Share of the operator's reconciles ending in an error above which [`builtin_groups`] alerts.
pub const OPERATOR_RECONCILE_ERROR_RATIO: f64 = 0.1;

fn alert(
    name: &str,
    expr: String,
    for_: Option<&str>,
    severity: Severity,
    summary: &str,
    description: &str,
    runbook: &str,
) -> Rule {
    Rule::Alert(AlertRule {
        name: name.to_owned(),
        expr,
        for_: for_.map(str::to_owned),
        severity,
        labels: BTreeMap::new(),
        summary: summary.to_owned(),
        description: description.to_owned(),
        runbook: runbook.to_owned(),
    })
}

/// The built-in alert groups: jobs (from the exporter), Kubernetes pods (from
/// kube-state-metrics), the exporter itself, submission, the operator and backups.
pub fn builtin_groups(options: &RuleOptions) -> Vec<RuleGroup> {
    let jobs = vec![
        alert(
            "SparkJobFailed",
            format!("{BY_JOB} (increase(sparkplane_app_outcome_total{{outcome=\"failed\"}}[15m])) > 0"),
            None,
            Severity::Warning,
            "Spark job {{ $labels.sparkjob }} in {{ $labels.namespace }} failed",
            "An application of SparkJob {{ $labels.sparkjob }} (team {{ $labels.team }}) ended failed in the last 15 minutes. \
             Its outputs may be missing or partial.",
            "job-failed",
        ),
        alert(
            "SparkJobHighFailureRate",
            format!(
                "({BY_JOB} (increase(sparkplane_app_outcome_total{{outcome=\"failed\"}}[6h])) \
                 / {BY_JOB} (increase(sparkplane_app_outcome_total[6h])) > 0.25) \
                 and {ON_JOB} ({BY_JOB} (increase(sparkplane_app_outcome_total[6h])) >= 4)"
            ),
            Some("15m"),
            Severity::Critical,
            "Spark job {{ $labels.sparkjob }} fails {{ $value | humanizePercentage }} of its runs",
            "More than a quarter of SparkJob {{ $labels.sparkjob }}'s runs in the last 6 hours failed (at least 4 runs). \
             Retries are not recovering it.",
            "job-failed",
        ),
        alert(
            "SparkJobOverSloDuration",
            format!(
                "{MAX_BY_JOB} (sparkplane_app_running_seconds) > {ON_JOB} {MAX_BY_JOB} (sparkplane_app_slo_duration_seconds)"
            ),
            None,
            Severity::Warning,
            "Spark job {{ $labels.sparkjob }} has been running {{ $value | humanizeDuration }}, past its duration objective",
            "An application of SparkJob {{ $labels.sparkjob }} is still running after its spec.slo.maxDuration. \
             It is slow or stalled; downstream consumers will see late data.",
            "job-over-slo",
        ),
        alert(
            "SparkJobSloDurationBreached",
            format!("{BY_JOB} (increase(sparkplane_app_slo_duration_breaches_total[1h])) > 0"),
            None,
            Severity::Info,
            "Spark job {{ $labels.sparkjob }} finished later than its duration objective",
            "An application of SparkJob {{ $labels.sparkjob }} finished in the last hour but took longer than spec.slo.maxDuration.",
            "job-over-slo",
        ),
        alert(
            "SparkJobHighGcShare",
            format!("{MAX_BY_JOB} (sparkplane_app_gc_share) > {GC_SHARE_THRESHOLD}"),
            None,
            Severity::Info,
            "Spark job {{ $labels.sparkjob }} spent {{ $value | humanizePercentage }} of task time in GC",
            "The latest run of SparkJob {{ $labels.sparkjob }} spent more than 25% of its task time in JVM garbage \
             collection: executors are short of heap. Runs are slower and closer to OOM.",
            "gc-and-spill",
        ),
        alert(
            "SparkJobLargeSpill",
            format!("{BY_JOB} (increase(sparkplane_app_spill_bytes_total[1h])) > {SPILL_BYTES_PER_HOUR_THRESHOLD}"),
            None,
            Severity::Info,
            "Spark job {{ $labels.sparkjob }} spilled {{ $value | humanize1024 }}B to disk in the last hour",
            "Runs of SparkJob {{ $labels.sparkjob }} spilled more than 10 GiB to disk in the last hour: too few \
             partitions, too little execution memory, or skew.",
            "gc-and-spill",
        ),
        alert(
            "SparkJobShuffleFetchFailures",
            format!("{BY_JOB} (increase(sparkplane_app_task_failures_total{{cause=\"fetch_failed\"}}[1h])) > 0"),
            None,
            Severity::Info,
            "Spark job {{ $labels.sparkjob }} had {{ $value }} shuffle fetch failures in the last hour",
            "Reducers of SparkJob {{ $labels.sparkjob }} could not fetch map output: executors holding shuffle files \
             were lost (OOMKilled, evicted, preempted) or overloaded. Spark reran the map stages, so the run was slower; \
             repeated failures fail the job.",
            "shuffle-fetch-failures",
        ),
        alert(
            "SparkJobStageSkew",
            format!("{MAX_BY_JOB} (sparkplane_app_stage_skew) > {SKEW_THRESHOLD}"),
            None,
            Severity::Info,
            "Spark job {{ $labels.sparkjob }}'s slowest task ran {{ $value | humanize }}× its stage's median",
            "The latest run of SparkJob {{ $labels.sparkjob }} had a stage whose slowest task took more than 5 times the \
             median task (and over 30 s): a few keys or partitions carry most of the data, and the whole stage waits \
             for them.",
            "data-skew",
        ),
        alert(
            "SparkJobLowUtilisation",
            format!(
                "({MAX_BY_JOB} (sparkplane_app_executor_utilisation) < {LOW_UTILISATION_THRESHOLD}) \
                 and {ON_JOB} ({BY_JOB} (increase(sparkplane_app_core_hours_total[1d])) > {LOW_UTILISATION_MIN_CORE_HOURS_PER_DAY})"
            ),
            None,
            Severity::Info,
            "Spark job {{ $labels.sparkjob }} kept its executors busy only {{ $value | humanizePercentage }} of the time",
            "The latest run of SparkJob {{ $labels.sparkjob }} used less than 30% of the executor core time it paid for, \
             and the job burns more than a core-hour a day: too many or too large executors, a driver bottleneck, or \
             idle executors held by dynamic allocation.",
            "performance-tuning",
        ),
    ];
    let dependencies = vec![
        alert(
            "SparkJobsStorageErrors",
            "sum by (namespace) (increase(sparkplane_app_failures_total{cause=\"storage\"}[30m])) > 0 \
             or sum by (namespace) (increase(sparkplane_app_task_failures_total{cause=\"storage\"}[30m])) > 10 \
             or sum by (namespace) (increase(sparkplane_operator_driver_failures_total{cause=\"storage\"}[30m])) > 0"
                .to_owned(),
            None,
            Severity::Warning,
            "Spark jobs in {{ $labels.namespace }} are failing on object storage",
            "Applications in {{ $labels.namespace }} failed (by their event logs, or by their drivers' logs as the \
             operator read them), or their tasks failed more than 10 times in 30 minutes, with errors from the \
             object-storage client (S3, GCS or Azure): the store, the network path to it, credentials or request \
             throttling.",
            "s3-connectivity",
        ),
        alert(
            "SparkJobsMetastoreErrors",
            "sum by (namespace) (increase(sparkplane_app_failures_total{cause=\"metastore\"}[30m])) > 0 \
             or sum by (namespace) (increase(sparkplane_app_task_failures_total{cause=\"metastore\"}[30m])) > 0 \
             or sum by (namespace) (increase(sparkplane_operator_driver_failures_total{cause=\"metastore\"}[30m])) > 0"
                .to_owned(),
            None,
            Severity::Warning,
            "Spark jobs in {{ $labels.namespace }} are failing on the Hive metastore",
            "Applications or tasks in {{ $labels.namespace }} failed in the last 30 minutes with Hive metastore (or Glue) \
             errors, seen in their event logs or, for jobs that failed at table lookup before any Spark job, in their \
             drivers' logs as the operator read them. Every job that reads or writes tables is affected while it lasts.",
            "metastore-outage",
        ),
    ];
    let spark = vec![
        alert(
            "SparkExecutorGcPressure",
            format!(
                "({LIVE_BY} (rate(metrics_executor_totalGCTime_seconds_total[10m])) \
                 / {LIVE_BY} (rate(metrics_executor_totalDuration_seconds_total[10m]))) > {LIVE_GC_SHARE_THRESHOLD}"
            ),
            Some("10m"),
            Severity::Warning,
            "Spark application {{ $labels.application_name }} spends {{ $value | humanizePercentage }} of task time in GC",
            "Live, from Spark's own executor metrics: for 10 minutes the application's tasks have spent more than 30% of \
             their time in JVM garbage collection. Executors are short of heap and at risk of OOM before the run ends.",
            "gc-and-spill",
        ),
        alert(
            "SparkExecutorStorageMemoryFull",
            format!(
                "max by (application_name, executor_id, sparkjob, team, cost_center, namespace) (metrics_executor_memoryUsed_bytes \
                 / (metrics_executor_maxMemory_bytes > 0)) > {STORAGE_MEMORY_THRESHOLD}"
            ),
            Some("15m"),
            Severity::Info,
            "Executor {{ $labels.executor_id }} of {{ $labels.application_name }} has {{ $value | humanizePercentage }} of its storage memory in use",
            "Cached blocks fill more than 90% of the executor's unified memory for 15 minutes: execution memory is \
             squeezed, so tasks spill, and cached data is evicted and recomputed.",
            "executor-oomkilled",
        ),
    ];
    let pods = vec![
        alert(
            "SparkExecutorOOMKilled",
            format!(
                "max by (namespace, pod) (max_over_time(kube_pod_container_status_terminated_reason{{reason=\"OOMKilled\", container=\"{EXECUTOR_CONTAINER}\"}}[10m])) > 0 \
                 or max by (namespace, pod) (max_over_time(kube_pod_container_status_last_terminated_reason{{reason=\"OOMKilled\", container=\"{EXECUTOR_CONTAINER}\"}}[10m])) > 0"
            ),
            None,
            Severity::Warning,
            "Spark executor pod {{ $labels.namespace }}/{{ $labels.pod }} was OOMKilled",
            &format!(
                "The kernel killed executor container {EXECUTOR_CONTAINER} for exceeding its memory limit. Spark reruns \
                 its tasks, but repeated kills fail the stage and the job."
            ),
            "executor-oomkilled",
        ),
        alert(
            "SparkDriverPodNotReady",
            "max by (namespace, pod) (kube_pod_status_ready{condition=\"false\"} == 1) \
             and on (namespace, pod) max by (namespace, pod) (kube_pod_status_phase{phase=~\"Pending|Running|Unknown\"} == 1) \
             and on (namespace, pod) max by (namespace, pod) (kube_pod_labels{label_spark_role=\"driver\"})"
                .to_owned(),
            Some("10m"),
            Severity::Warning,
            "Spark driver pod {{ $labels.namespace }}/{{ $labels.pod }} has not been ready for 10 minutes",
            "The driver pod is Pending, pulling its image, or failing to start its container. The application has not \
             started; nothing runs until it does.",
            "driver-not-starting",
        ),
        alert(
            "SparkConnectServerDown",
            "((max by (namespace, statefulset) (kube_statefulset_replicas) > 0) \
             unless on (namespace, statefulset) (max by (namespace, statefulset) (kube_statefulset_status_replicas_ready) > 0)) \
             * on (namespace, statefulset) group_left (sparkjob, team) max by (namespace, statefulset, sparkjob, team) (\
             label_replace(label_replace(kube_statefulset_labels{label_app_kubernetes_io_component=\"connect-server\"}, \
             \"team\", \"$1\", \"label_sparkplane_dev_team\", \"(.*)\"), \"sparkjob\", \"$1\", \"label_sparkplane_dev_job\", \"(.*)\"))"
                .to_owned(),
            Some("5m"),
            Severity::Critical,
            "Spark Connect server {{ $labels.namespace }}/{{ $labels.statefulset }} has had no ready server for 5 minutes",
            "The server's StatefulSet wants a replica but none is Ready: notebooks and SQL clients cannot connect, and \
             the sessions they had are gone. A server scaled to zero (suspended or idle) does not fire.",
            "connect-server-down",
        ),
        alert(
            "SparkDriverCrashLooping",
            format!(
                "max by (namespace, pod) (increase(kube_pod_container_status_restarts_total{{container=\"{DRIVER_CONTAINER}\"}}[15m])) > 2 \
                 or max by (namespace, pod) (kube_pod_container_status_waiting_reason{{reason=\"CrashLoopBackOff\", container=\"{DRIVER_CONTAINER}\"}}) > 0"
            ),
            Some("5m"),
            Severity::Warning,
            "Spark driver pod {{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
            "The driver container keeps restarting (more than 2 restarts in 15 minutes, or in CrashLoopBackOff). \
             Each restart resubmits the application's work from the start.",
            "driver-not-starting",
        ),
        alert(
            "SparkExecutorPodsPending",
            "count by (namespace) ((kube_pod_status_phase{phase=\"Pending\"} == 1) \
             and on (namespace, pod) max by (namespace, pod) (kube_pod_labels{label_spark_role=\"executor\"})) > 0"
                .to_owned(),
            Some("15m"),
            Severity::Warning,
            "{{ $value }} Spark executor pods in {{ $labels.namespace }} have been Pending for 15 minutes",
            "Executors cannot be scheduled: the cluster has no room (the autoscaler has not added nodes, or cannot), the \
             namespace quota is exhausted, or no node matches the pods' selectors and tolerations. Jobs run with fewer \
             executors than they asked for, or wait.",
            "cluster-scaling",
        ),
    ];
    let exporter_job = promql_string(&options.exporter_job);
    let exporter = vec![
        alert(
            "SparkplaneExporterDown",
            format!("up{{job=\"{exporter_job}\"}} == 0 or absent(up{{job=\"{exporter_job}\"}})"),
            Some("10m"),
            Severity::Warning,
            "The sparkplane exporter is down or not scraped",
            "Prometheus cannot scrape the sparkplane exporter. Job metrics are frozen, so job alerts and SLO alerts \
             cannot fire.",
            "exporter-down",
        ),
        alert(
            "SparkplaneHistoryUnreadable",
            "max(sparkplane_exporter_up) == 0".to_owned(),
            Some("10m"),
            Severity::Warning,
            "The sparkplane exporter cannot read the event-log location",
            "The exporter runs but its scans of the event-log location (History Server directory or bucket) fail. \
             New runs are not counted.",
            "exporter-down",
        ),
        alert(
            "SparkplaneExporterScanStale",
            "time() - max(sparkplane_exporter_last_scan_timestamp_seconds) > 900".to_owned(),
            Some("5m"),
            Severity::Warning,
            "The sparkplane exporter has not finished a scan for {{ $value | humanizeDuration }}",
            "The exporter is up but its scans have not finished for more than 15 minutes: a hung read or a very large backlog.",
            "exporter-down",
        ),
        alert(
            "SparkplaneEventLogErrors",
            "sum(increase(sparkplane_exporter_log_errors_total[30m])) > 0".to_owned(),
            None,
            Severity::Info,
            "The sparkplane exporter could not read {{ $value }} event logs in the last 30 minutes",
            "Some event logs are unreadable (corrupt, truncated or in an unknown codec). Their applications are missing \
             from job metrics and cost.",
            "exporter-down",
        ),
        alert(
            "SparkHistoryServerDown",
            "max(sparkplane_history_server_up) == 0".to_owned(),
            Some("5m"),
            Severity::Warning,
            "The Spark History Server does not answer",
            "The sparkplane exporter's probe of the Spark History Server's REST API has failed for 5 minutes. Engineers \
             cannot open finished applications' UIs; the exporter's own metrics do not depend on it.",
            "history-server-down",
        ),
    ];
    let submit = vec![alert(
        "SparkSubmissionSlow",
        format!(
            "histogram_quantile(0.95, sum by (le, namespace) (rate(sparkplane_submit_duration_seconds_bucket[15m]))) > {SLOW_SUBMIT_SECONDS}"
        ),
        Some("15m"),
        Severity::Warning,
        "Spark submissions to {{ $labels.namespace }} take {{ $value | humanizeDuration }} at p95",
        "95th-percentile submission latency is over a minute: the API server, admission webhooks or quota checks are slow.",
        "slow-submission",
    )];
    let operator = operator_alerts(options);
    let backup = vec![
        alert(
            "SparkplaneBackupFailed",
            "max by (backup) (sparkplane_backup_last_failure_timestamp_seconds) \
             > max by (backup) (sparkplane_backup_last_success_timestamp_seconds) \
             or max by (backup) (sparkplane_backup_last_failure_timestamp_seconds) \
             unless on (backup) max by (backup) (sparkplane_backup_last_success_timestamp_seconds)"
                .to_owned(),
            None,
            Severity::Critical,
            "Backup {{ $labels.backup }} failed",
            "The last run of backup {{ $labels.backup }} failed after its last complete run (or no run has completed). \
             The metastore, event logs and lake prefixes it protects are only as safe as its last complete run.",
            "backup-failed",
        ),
        alert(
            "SparkplaneBackupLate",
            format!(
                "(time() - max by (backup) (sparkplane_backup_last_success_timestamp_seconds)) \
                 > max by (backup) (sparkplane_backup_late_after_seconds) \
                 or (time() - max by (backup) (sparkplane_backup_last_success_timestamp_seconds) > {BACKUP_LATE_HOURS} * 3600 \
                 unless on (backup) max by (backup) (sparkplane_backup_late_after_seconds))"
            ),
            None,
            Severity::Warning,
            "Backup {{ $labels.backup }} last completed {{ $value | humanizeDuration }} ago",
            "No run of backup {{ $labels.backup }} has completed for longer than its schedule allows (its longest wait \
             between two runs plus at most two hours, as each run reports; 26 hours for runs that do not): the \
             CronJob is not scheduled, is suspended, or its runs fail before they can report. The recovery point is \
             growing older.",
            "backup-failed",
        ),
    ];
    vec![
        RuleGroup { name: "sparkplane-jobs".into(), rules: jobs },
        RuleGroup { name: "sparkplane-dependencies".into(), rules: dependencies },
        RuleGroup { name: "sparkplane-spark".into(), rules: spark },
        RuleGroup { name: "sparkplane-pods".into(), rules: pods },
        RuleGroup { name: "sparkplane-exporter".into(), rules: exporter },
        RuleGroup { name: "sparkplane-submission".into(), rules: submit },
        RuleGroup { name: "sparkplane-operator".into(), rules: operator },
        RuleGroup { name: "sparkplane-backup".into(), rules: backup },
    ]
}

/// `sparkplane operator`: no replica up, none leading, a queue that does not
/// move, drivers that never start, reconciles that fail.
fn operator_alerts(options: &RuleOptions) -> Vec<Rule> {
    let job = promql_string(&options.operator_job);
    let window = OPERATOR_START_FAILURE_WINDOW_MINUTES;
    let start_failures = format!(
        "sum(increase(sparkplane_operator_failures_total{{cause=~\"{}\"}}[{window}m]))",
        OPERATOR_START_FAILURE_CAUSES.join("|")
    );
    vec![
        alert(
            "SparkplaneOperatorDown",
            format!("sum(up{{job=\"{job}\"}}) == 0 or absent(up{{job=\"{job}\"}})"),
            Some("5m"),
            Severity::Critical,
            "No sparkplane operator replica is up",
            "Prometheus has scraped no live replica of the sparkplane operator for 5 minutes. No SparkJob is \
             admitted, submitted, retried, timed out or cleaned up, and no scheduled run starts (missed runs within \
             startingDeadline are caught up once it is back). Applications already running keep running.",
            "operator-down",
        ),
        alert(
            "SparkplaneOperatorNoLeader",
            "max(sparkplane_operator_leader) == 0".to_owned(),
            Some("5m"),
            Severity::Critical,
            "No sparkplane operator replica holds the leader Lease",
            "Operator replicas answer, but for 5 minutes none has led, so none acts: nothing is admitted, submitted \
             or recorded. A replica run without --leader-elect acts alone and reports 1.",
            "operator-down",
        ),
        alert(
            "SparkplaneOperatorQueueStuck",
            "(max by (namespace) (sparkplane_operator_queue_depth) > 0) \
             unless on () (sum(increase(sparkplane_operator_submissions_total[5m])) > 0)"
                .to_owned(),
            Some(&format!("{OPERATOR_QUEUE_STUCK_MINUTES}m")),
            Severity::Warning,
            "{{ $value }} SparkJobs in {{ $labels.namespace }} have waited 30 minutes while no driver pod was created",
            "The namespace's queue has not been empty for 30 minutes and in that time the operator created no driver \
             pod in any namespace. Either the room the queue waits for is held (long runs, a ResourceQuota or \
             running-applications cap too small for the work) or the operator stopped admitting.",
            "operator-queue-stuck",
        ),
        alert(
            "SparkplaneApplicationsUnadmitted",
            format!(
                "time() - min by (namespace) (sparkplane_operator_oldest_unadmitted_timestamp_seconds > 0) > {}",
                OPERATOR_UNADMITTED_MINUTES * 60
            ),
            Some("5m"),
            Severity::Warning,
            "A SparkJob in {{ $labels.namespace }} has waited {{ $value | humanizeDuration }} for admission",
            "The namespace's oldest queued run has waited more than an hour to be admitted: by Kueue in Kueue mode \
             (its Workload is not admitted: quota used up, a LocalQueue or ClusterQueue missing or stopped, the \
             job too big for its queue), or by the operator's own queue. Nothing of it runs; no pod exists.",
            "applications-unadmitted",
        ),
        alert(
            "SparkplaneQueuePreemptions",
            format!(
                "sum by (namespace, queue) (increase(sparkplane_operator_preemptions_total[1h])) >= {QUEUE_PREEMPTIONS_PER_HOUR}"
            ),
            None,
            Severity::Warning,
            "{{ $value | humanize }} runs of queue {{ $labels.queue }} in {{ $labels.namespace }} were preempted in the last hour",
            "Kueue took the admission back from at least 5 runs of this LocalQueue within an hour: preempted by \
             higher-priority work in their ClusterQueue, reclaimed by the cohort they borrowed from, or evicted \
             (ClusterQueue stopped, node failures). The operator stopped each run and queued it again — not a \
             failure, but the work each had done is lost and done again, and runs preempted over and over may \
             never finish.",
            "queue-preemptions",
        ),
        alert(
            "SparkplaneOperatorSubmissionFailures",
            format!(
                "({start_failures} / sum(increase(sparkplane_operator_submissions_total[{window}m])) > {OPERATOR_START_FAILURE_RATIO}) \
                 and on () ({start_failures} >= {OPERATOR_START_FAILURES_MIN})"
            ),
            Some("10m"),
            Severity::Warning,
            "{{ $value | humanizePercentage }} of the operator's driver pods never ran",
            "More than a quarter of the driver pods the operator created in the last 30 minutes (at least 3) failed \
             before their driver ran: the image could not be pulled, no node took the pod, or it did not start \
             within timeouts.driverStart. A registry, node pool or admission problem blocks every job it touches.",
            "operator-submission-failures",
        ),
        alert(
            "SparkplaneOperatorReconcileErrors",
            format!(
                "sum(rate(sparkplane_operator_reconciles_total{{result=\"error\"}}[15m])) \
                 / sum(rate(sparkplane_operator_reconciles_total[15m])) > {OPERATOR_RECONCILE_ERROR_RATIO}"
            ),
            Some("15m"),
            Severity::Warning,
            "{{ $value | humanizePercentage }} of the operator's reconciles fail",
            "More than 10% of reconciles have failed for 15 minutes on a request to the API server (RBAC, an \
             admission webhook refusing driver pods, an overloaded API server). The failing jobs do not move; each \
             is tried again every 2 seconds.",
            "operator-submission-failures",
        ),
    ]
}

fn labels_value(labels: &BTreeMap<String, String>) -> Value {
    Value::Object(labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

fn rule_value(rule: &Rule, options: &RuleOptions) -> Value {
    let mut out = Map::new();
    match rule {
        Rule::Alert(a) => {
            out.insert("alert".into(), json!(a.name));
            out.insert("expr".into(), json!(a.expr));
            if let Some(f) = &a.for_ {
                out.insert("for".into(), json!(f));
            }
            let mut labels = a.labels.clone();
            labels.insert("severity".into(), a.severity.as_str().into());
            out.insert("labels".into(), labels_value(&labels));
            out.insert(
                "annotations".into(),
                json!({
                    "summary": a.summary,
                    "description": a.description,
                    "runbook_url": options.runbook_url(&a.runbook),
                }),
            );
        }
        Rule::Record(r) => {
            out.insert("record".into(), json!(r.record));
            out.insert("expr".into(), json!(r.expr));
            if !r.labels.is_empty() {
                out.insert("labels".into(), labels_value(&r.labels));
            }
        }
    }
    Value::Object(out)
}

fn groups_value(groups: &[RuleGroup], options: &RuleOptions) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|g| json!({"name": g.name, "rules": g.rules.iter().map(|r| rule_value(r, options)).collect::<Vec<_>>()}))
            .collect(),
    )
}

/// A Prometheus rule file (`groups:`), for `rule_files` or `promtool check rules`.
pub fn to_prometheus(groups: &[RuleGroup], options: &RuleOptions) -> Value {
    json!({ "groups": groups_value(groups, options) })
}

/// A `monitoring.coreos.com/v1` PrometheusRule (prometheus-operator, kube-prometheus-stack).
/// `labels` are the object's labels, e.g. the `release` a Prometheus's `ruleSelector` matches.
pub fn to_prometheus_rule(
    groups: &[RuleGroup],
    options: &RuleOptions,
    name: &str,
    namespace: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    let mut object_labels = labels.clone();
    object_labels.insert(sparkplane_api::labels::MANAGED_BY.into(), sparkplane_api::labels::SPARKPLANE.into());
    metadata.insert("labels".into(), labels_value(&object_labels));
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": { "groups": groups_value(groups, options) },
    })
}

/// Deterministic YAML for a rule file or PrometheusRule (keys sorted).
pub fn to_yaml(value: &Value) -> String {
    sparkplane_documents::yaml::to_yaml(value)
}

/// Every alerting rule in `groups`.
pub fn alerts(groups: &[RuleGroup]) -> impl Iterator<Item = &AlertRule> {
    groups.iter().flat_map(|g| &g.rules).filter_map(|r| match r {
        Rule::Alert(a) => Some(a),
        Rule::Record(_) => None,
    })
}

/// Every expression in `groups` (alerts and recording rules), with the rule's name.
pub fn expressions(groups: &[RuleGroup]) -> impl Iterator<Item = (&str, &str)> {
    groups.iter().flat_map(|g| &g.rules).map(|r| match r {
        Rule::Alert(a) => (a.name.as_str(), a.expr.as_str()),
        Rule::Record(r) => (r.record.as_str(), r.expr.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_has_severity_annotations_and_runbook() {
        let options = RuleOptions { runbook_base: "docs/runbooks/".into(), ..RuleOptions::default() };
        let value = to_prometheus(&builtin_groups(&options), &options);
        let groups = value["groups"].as_array().expect("groups");
        let mut names = std::collections::BTreeSet::new();
        for rule in groups.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()) {
            let name = rule["alert"].as_str().expect("alert name");
            assert!(names.insert(name.to_owned()), "{name} twice");
            assert!(rule["labels"]["severity"].is_string(), "{name}");
            for key in ["summary", "description", "runbook_url"] {
                assert!(!rule["annotations"][key].as_str().unwrap_or_default().is_empty(), "{name}: {key}");
            }
            assert!(rule["annotations"]["runbook_url"].as_str().is_some_and(|u| u.starts_with("docs/runbooks/")));
        }
    }

    #[test]
    fn output_is_deterministic_and_escapes_labels() {
        let options =
            RuleOptions { exporter_job: "a\"b".into(), operator_job: "c\"d".into(), ..RuleOptions::default() };
        let a = to_yaml(&to_prometheus(&builtin_groups(&options), &options));
        let b = to_yaml(&to_prometheus(&builtin_groups(&options), &options));
        assert_eq!(a, b);
        assert!(a.contains("a\\\"b") || a.contains("a\\\\\\\"b"), "{a}");
        assert!(a.contains("up{job=\\\"c\\\\\\\"d\\\"}"), "{a}");
        let rule =
            to_prometheus_rule(&builtin_groups(&options), &options, "sparkplane", Some("monitoring"), &BTreeMap::new());
        assert_eq!(rule["kind"], "PrometheusRule");
        assert_eq!(rule["spec"]["groups"], to_prometheus(&builtin_groups(&options), &options)["groups"]);
    }
}
