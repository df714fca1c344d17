//! The exporter: per-job metrics from a directory of Spark event logs (local or
//! in object storage), served as OpenMetrics on `/metrics`.
//!
//! Owns: scanning an event-log directory or object-store prefix incrementally
//! ([`Exporter::scan`]: one listing per scan, by name, size and modification time),
//! the per-log state that keeps a finished log from ever being read twice, turning
//! application summaries into the registered exporter metrics, and the small HTTP
//! server ([`serve`]) that hands their encoding to Prometheus. With
//! [`Exporter::send_traces_to`], each application's trace
//! (`sparkplane_emit::trace`) goes to an OTLP endpoint once its log has been
//! read whole; a send that fails is kept and tried again on the next scan.
//! With [`Exporter::use_known_records`] (an export of the logs), a finished
//! application the export holds as its log is now is counted from its
//! exported record (`sparkplane_analysis::fleet`), its log not read.
//!
//! Must not: parse event logs or price applications itself (that is
//! `sparkplane_eventlog::summarize` and `sparkplane_analysis::cost::app_cost`), emit a metric or label
//! that [`crate::registry`] does not list, label a series by application, task or
//! executor (cardinality stays bounded by jobs, teams, cost centers and
//! namespaces), or stop because one log cannot be read (it is counted in
//! `sparkplane_exporter_log_errors_total` instead).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sparkplane_analysis::cost::{PriceSheet, UNATTRIBUTED, app_cost};
use sparkplane_analysis::fleet::{FleetRecord, KnownRecords};
use sparkplane_emit::trace::{Trace, TraceOptions, build_trace, trace_log};
use sparkplane_emit::trace_otlp::export_request;
use sparkplane_emit::trace_send::{self, OtlpEndpoint};
use sparkplane_eventlog::cause::FailureCause;
use sparkplane_eventlog::{AppSummary, LogSource, Outcome};

use crate::registry::{self, APP_LABELS, MetricType};

/// The `Content-Type` of the OpenMetrics text format served on `/metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The address `sparkplane exporter` listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// Seconds between scans unless told otherwise.
pub const DEFAULT_INTERVAL_SECS: u64 = 30;

const OUTCOME: &str = "sparkplane_app_outcome_total";
const DURATION: &str = "sparkplane_app_duration_seconds";
const RUNNING: &str = "sparkplane_app_running_seconds";
const CORE_HOURS: &str = "sparkplane_app_core_hours_total";
const COST: &str = "sparkplane_app_cost_usd_total";
const GC_SHARE: &str = "sparkplane_app_gc_share";
const SPILL: &str = "sparkplane_app_spill_bytes_total";
const UTILISATION: &str = "sparkplane_app_executor_utilisation";
const UP: &str = "sparkplane_exporter_up";
const LOG_ERRORS: &str = "sparkplane_exporter_log_errors_total";
const LAST_SCAN: &str = "sparkplane_exporter_last_scan_timestamp_seconds";
const SLO_DURATION: &str = "sparkplane_app_slo_duration_seconds";
const SLO_BREACHES: &str = "sparkplane_app_slo_duration_breaches_total";
const TASK_FAILURES: &str = "sparkplane_app_task_failures_total";
const FAILURES: &str = "sparkplane_app_failures_total";
const STAGE_SKEW: &str = "sparkplane_app_stage_skew";
const HISTORY_SERVER_UP: &str = "sparkplane_history_server_up";
const CONNECT_SESSIONS: &str = "sparkplane_connect_sessions";
const CONNECT_OPERATIONS: &str = "sparkplane_connect_operations";

/// Every metric name the exporter emits (a subset of [`crate::registry`]).
pub const EMITTED: &[&str] = &[
    OUTCOME,
    CONNECT_SESSIONS,
    CONNECT_OPERATIONS,
    DURATION,
    RUNNING,
    SLO_DURATION,
    SLO_BREACHES,
    TASK_FAILURES,
    FAILURES,
    STAGE_SKEW,
    CORE_HOURS,
    COST,
    GC_SHARE,
    SPILL,
    UTILISATION,
    UP,
    LOG_ERRORS,
    HISTORY_SERVER_UP,
    LAST_SCAN,
];

/// A label set: the registry's label names, in its order, with their values.
type Labels = Vec<(&'static str, String)>;
type FloatCounter = Counter<f64, AtomicU64>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// A job's identity: one value per [`APP_LABELS`] name, in that order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobKey {
    /// `sparkjob`: the `sparkplane.dev/job` label, else `spark.app.name`, else the application name.
    pub sparkjob: String,
    /// `team`.
    pub team: String,
    /// `cost_center`.
    pub cost_center: String,
    /// `namespace` (`spark.kubernetes.namespace`).
    pub namespace: String,
}

impl JobKey {
    /// The job an application belongs to, attributed as `sparkplane cost` attributes it;
    /// anything unknown is [`UNATTRIBUTED`].
    pub fn of(app: &AppSummary, prices: &PriceSheet) -> JobKey {
        Self::from_cost(&app_cost(app, prices))
    }

    fn from_cost(cost: &sparkplane_analysis::cost::AppCost) -> JobKey {
        let or_unattributed = |value: &Option<String>| value.clone().unwrap_or_else(|| UNATTRIBUTED.to_owned());
        JobKey {
            sparkjob: or_unattributed(&cost.job),
            team: or_unattributed(&cost.team),
            cost_center: or_unattributed(&cost.cost_center),
            namespace: or_unattributed(&cost.namespace),
        }
    }

    /// The label set of per-application metrics, named as [`APP_LABELS`] names them.
    fn labels(&self) -> Labels {
        let values = [&self.sparkjob, &self.team, &self.cost_center, &self.namespace];
        APP_LABELS.iter().copied().zip(values.into_iter().cloned()).collect()
    }

    fn outcome_labels(&self, outcome: &'static str) -> Labels {
        let mut labels = self.labels();
        labels.push(("outcome", outcome.to_owned()));
        labels
    }

    fn cause_labels(&self, cause: FailureCause) -> Labels {
        let mut labels = self.labels();
        labels.push(("cause", cause.as_str().to_owned()));
        labels
    }
}

/// What changes of a log are detected by: its size, last modification in epoch
/// milliseconds (for a rolling directory, summed and latest over its files, and
/// locally the directory itself) and the names in it, as the listing reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signature {
    size: u64,
    modified_ms: Option<i64>,
    /// Every file's name, size and time hashed: a renamed status marker changes it
    /// even within object storage's one-second clock.
    fingerprint: u64,
}

/// What the exporter remembers about one log between scans.
#[derive(Debug, Clone)]
pub struct LogState {
    signature: Signature,
    /// The application ended (the log is no longer in progress): never read again.
    pub finished: bool,
    /// The log could not be read or held no events, as of its current signature.
    pub failed: bool,
    /// The job it belongs to, once read.
    pub job: Option<JobKey>,
    /// The latest summary of a log still in progress (dropped once finished,
    /// so memory does not grow with the history).
    pub summary: Option<AppSummary>,
}

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Logs in the directory.
    pub logs: usize,
    /// Logs read in this scan (new or changed).
    pub read: usize,
    /// Finished applications counted in this scan from their kept records, their logs not read.
    pub from_records: usize,
    /// Logs that finished in this scan and were counted.
    pub finished: usize,
    /// Logs that could not be read in this scan.
    pub errors: usize,
    /// Why the directory itself could not be listed, if it could not.
    pub listing_error: Option<String>,
    /// Whether the watched History Server answered (`None` when none is watched).
    pub history_server_up: Option<bool>,
    /// Applications whose traces were sent in this scan.
    pub traces_sent: usize,
    /// Why sending traces failed in this scan (they are tried again on the next).
    pub trace_error: Option<String>,
}

/// Traces waiting to be sent at most; older ones are dropped past it (the endpoint has been down that long).
pub const MAX_PENDING_TRACES: usize = 1_000;

/// The metric handles (cheap clones sharing their values with the [`Registry`]).
#[derive(Debug, Clone)]
struct Metrics {
    outcome: Family<Labels, Counter>,
    duration: Family<Labels, Histogram, fn() -> Histogram>,
    running: Family<Labels, FloatGauge>,
    core_hours: Family<Labels, FloatCounter>,
    cost: Family<Labels, FloatCounter>,
    gc_share: Family<Labels, FloatGauge>,
    spill: Family<Labels, Counter>,
    utilisation: Family<Labels, FloatGauge>,
    slo_duration: Family<Labels, FloatGauge>,
    slo_breaches: Family<Labels, Counter>,
    task_failures: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    stage_skew: Family<Labels, FloatGauge>,
    up: Gauge,
    log_errors: Counter,
    history_server_up: Family<Labels, Gauge>,
    last_scan: FloatGauge,
    connect_sessions: Family<Labels, Gauge>,
    connect_operations: Family<Labels, Gauge>,
}

fn duration_histogram() -> Histogram {
    let buckets = registry::lookup(DURATION).map(|m| m.buckets).unwrap_or_default();
    Histogram::new(buckets.iter().copied())
}

/// Registers `metric` under its registered name and help. prometheus-client
/// appends `_total` to counters itself, so a counter is registered without it.
fn register(target: &mut Registry, name: &'static str, metric: impl prometheus_client::registry::Metric) {
    let entry = registry::lookup(name);
    // prometheus-client ends the help with a full stop of its own.
    let help = entry.map(|m| m.help).unwrap_or_default().trim_end_matches('.');
    let base = match entry.map(|m| m.kind) {
        Some(MetricType::Counter) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    target.register(base, help, metric);
}

impl Metrics {
    fn new() -> (Metrics, Registry) {
        let metrics = Metrics {
            outcome: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            running: Family::default(),
            core_hours: Family::default(),
            cost: Family::default(),
            gc_share: Family::default(),
            spill: Family::default(),
            utilisation: Family::default(),
            slo_duration: Family::default(),
            slo_breaches: Family::default(),
            task_failures: Family::default(),
            failures: Family::default(),
            stage_skew: Family::default(),
            up: Gauge::default(),
            log_errors: Counter::default(),
            history_server_up: Family::default(),
            last_scan: Gauge::default(),
            connect_sessions: Family::default(),
            connect_operations: Family::default(),
        };
        let mut reg = Registry::default();
        let m = metrics.clone();
        register(&mut reg, OUTCOME, m.outcome);
        register(&mut reg, DURATION, m.duration);
        register(&mut reg, RUNNING, m.running);
        register(&mut reg, CORE_HOURS, m.core_hours);
        register(&mut reg, COST, m.cost);
        register(&mut reg, GC_SHARE, m.gc_share);
        register(&mut reg, SPILL, m.spill);
        register(&mut reg, UTILISATION, m.utilisation);
        register(&mut reg, SLO_DURATION, m.slo_duration);
        register(&mut reg, SLO_BREACHES, m.slo_breaches);
        register(&mut reg, TASK_FAILURES, m.task_failures);
        register(&mut reg, FAILURES, m.failures);
        register(&mut reg, STAGE_SKEW, m.stage_skew);
        register(&mut reg, UP, m.up);
        register(&mut reg, LOG_ERRORS, m.log_errors);
        // A family without labels: no series at all until a History Server is probed.
        register(&mut reg, HISTORY_SERVER_UP, m.history_server_up);
        register(&mut reg, LAST_SCAN, m.last_scan);
        register(&mut reg, CONNECT_SESSIONS, m.connect_sessions);
        register(&mut reg, CONNECT_OPERATIONS, m.connect_operations);
        (metrics, reg)
    }
}

/// A read-only, thread-safe view of the exporter's metrics, for the HTTP server.
#[derive(Clone)]
pub struct MetricsView(Arc<Registry>);

impl fmt::Debug for MetricsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsView")
    }
}

impl MetricsView {
    /// The metrics in the OpenMetrics text format (ending in `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would leave a partial body, which Prometheus rejects.
        if prometheus_client::encoding::text::encode(&mut out, &self.0).is_err() {
            out.clear();
        }
        out
    }
}

/// Scans one event-log directory and keeps the metrics built from it.
#[derive(Debug)]
pub struct Exporter {
    source: LogSource,
    prices: PriceSheet,
    logs: BTreeMap<String, LogState>,
    /// Per job, the end time (epoch ms) of the finished application the gauges show.
    latest: BTreeMap<JobKey, u64>,
    /// Jobs whose `sparkplane_app_running_seconds` series is currently set.
    running: BTreeSet<JobKey>,
    /// Jobs whose `sparkplane_connect_*` series are currently set.
    serving: BTreeSet<JobKey>,
    metrics: Metrics,
    view: MetricsView,
    reads: u64,
    /// The History Server probed on every scan, and how long a probe may take.
    history_server: Option<(String, Duration)>,
    /// Where finished applications' traces go, if anywhere.
    otlp: Option<OtlpEndpoint>,
    /// Traces of finished applications not sent yet (at most [`MAX_PENDING_TRACES`]).
    pending_traces: Vec<Trace>,
    /// Records kept of finished applications (an export), counted instead of reading their logs.
    known: Option<Known>,
}

/// Records kept elsewhere, asked before a log is read.
struct Known(Box<dyn KnownRecords + Send>);

impl fmt::Debug for Known {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KnownRecords")
    }
}

impl Exporter {
    /// An exporter of the logs in `dir`, pricing applications with `prices`
    /// (usually [`PriceSheet::opencost_defaults`]). Nothing is read until [`Exporter::scan`].
    pub fn new(dir: &Path, prices: PriceSheet) -> Exporter {
        Exporter::with_source(LogSource::Local(dir.to_owned()), prices)
    }

    /// An exporter of the logs at `source`: a local directory or an object-store
    /// prefix (listed once per scan). Nothing is read until [`Exporter::scan`].
    pub fn with_source(source: LogSource, prices: PriceSheet) -> Exporter {
        let (metrics, reg) = Metrics::new();
        Exporter {
            source,
            prices,
            logs: BTreeMap::new(),
            latest: BTreeMap::new(),
            running: BTreeSet::new(),
            serving: BTreeSet::new(),
            metrics,
            view: MetricsView(Arc::new(reg)),
            reads: 0,
            history_server: None,
            otlp: None,
            pending_traces: Vec::new(),
            known: None,
        }
    }

    /// Counts a finished application from the record `known` keeps of its log
    /// (an export holding the log as it is now) instead of reading the log.
    /// Not with [`Exporter::send_traces_to`]: a trace is built from the log.
    pub fn use_known_records(&mut self, known: Box<dyn KnownRecords + Send>) {
        self.known = Some(Known(known));
    }

    /// Sends each application's trace to `endpoint` once its log has been read whole
    /// (at the end of the scan that read it; retried on later scans while the endpoint fails).
    pub fn send_traces_to(&mut self, endpoint: OtlpEndpoint) {
        self.otlp = Some(endpoint);
    }

    /// Sends the pending traces in one request; keeps them when the endpoint fails.
    fn send_pending_traces(&mut self, report: &mut ScanReport) {
        let Some(endpoint) = &self.otlp else { return };
        if self.pending_traces.is_empty() {
            return;
        }
        match trace_send::send(endpoint, &export_request(&self.pending_traces)) {
            Ok(_) => report.traces_sent = std::mem::take(&mut self.pending_traces).len(),
            Err(error) => {
                let excess = self.pending_traces.len().saturating_sub(MAX_PENDING_TRACES);
                self.pending_traces.drain(..excess);
                report.trace_error = Some(error.to_string());
            }
        }
    }

    /// Probes the History Server at `base` (e.g. `http://spark-history:18080`)
    /// on every scan, allowing each probe `timeout` (see [`Exporter::probe_history_server`]).
    pub fn watch_history_server(&mut self, base: &str, timeout: Duration) {
        self.history_server = Some((base.to_owned(), timeout));
    }

    /// Where the logs are scanned.
    pub fn source(&self) -> &LogSource {
        &self.source
    }

    /// A view of the metrics for another thread (the HTTP server).
    pub fn view(&self) -> MetricsView {
        self.view.clone()
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        self.view.encode()
    }

    /// How many times a log has been read since the exporter started.
    pub fn reads(&self) -> u64 {
        self.reads
    }

    /// What the exporter remembers about each log, by path or URL.
    pub fn logs(&self) -> &BTreeMap<String, LogState> {
        &self.logs
    }

    /// Scans the directory now (see [`Exporter::scan_at`]).
    pub fn scan(&mut self) -> ScanReport {
        self.scan_at(SystemTime::now())
    }

    /// Scans the directory as of `now`: reads new logs and logs in progress that
    /// changed, counts applications that finished, and updates the gauges. A
    /// finished log is never read again; a log that cannot be read is counted in
    /// `sparkplane_exporter_log_errors_total` once per change and otherwise ignored.
    /// Logs that disappeared are forgotten.
    pub fn scan_at(&mut self, now: SystemTime) -> ScanReport {
        let mut report = ScanReport::default();
        if let Some((base, timeout)) = &self.history_server {
            report.history_server_up = Some(self.probe_history_server(base, *timeout));
        }
        let listed = match self.source.app_logs() {
            Ok(listed) => listed,
            Err(err) => {
                report.listing_error = Some(format!("cannot list {}: {err}", self.source.describe()));
                self.metrics.up.set(0);
                self.metrics.last_scan.set(unix_seconds(now));
                return report;
            }
        };
        report.logs = listed.len();
        let present: BTreeSet<&str> = listed.iter().map(|log| log.name.as_str()).collect();
        self.logs.retain(|name, _| present.contains(name.as_str()));

        for log in &listed {
            let known = self.logs.get(&log.name);
            if known.is_some_and(|state| state.finished) {
                continue;
            }
            let signature = Signature { size: log.size, modified_ms: log.modified_ms, fingerprint: log.fingerprint };
            if known.is_some_and(|state| state.signature == signature) {
                continue;
            }
            let kept = match (&self.known, &self.otlp) {
                (Some(records), None) => records.0.record(log).filter(|record| record.completed),
                _ => None,
            };
            if let Some(record) = kept {
                report.from_records += 1;
                report.finished += 1;
                let job = self.count(&record, true);
                let state = LogState { signature, finished: true, failed: false, job: Some(job), summary: None };
                self.logs.insert(log.name.clone(), state);
                continue;
            }
            self.reads += 1;
            report.read += 1;
            let read = match &self.otlp {
                None => log.summarize().map(|summary| (summary, None)),
                Some(_) => log.open().and_then(|opened| trace_log(&opened, TraceOptions::default())).map(
                    |(summary, detail)| {
                        let trace = (!summary.log.in_progress).then(|| build_trace(&summary, &detail).ok()).flatten();
                        (summary, trace)
                    },
                ),
            };
            let state = match read {
                Ok((summary, _)) if summary.log.events == 0 && !summary.log.in_progress => None,
                Ok((summary, trace)) => {
                    self.pending_traces.extend(trace);
                    Some(summary)
                }
                Err(_) => None,
            };
            let Some(summary) = state else {
                report.errors += 1;
                self.metrics.log_errors.inc();
                let state = LogState { signature, finished: false, failed: true, job: None, summary: None };
                self.logs.insert(log.name.clone(), state);
                continue;
            };
            let finished = !summary.log.in_progress;
            let job = self.count(&FleetRecord::of(&summary, &self.prices), finished);
            if finished {
                report.finished += 1;
            }
            let summary = if finished { None } else { Some(summary) };
            let state = LogState { signature, finished, failed: false, job: Some(job), summary };
            self.logs.insert(log.name.clone(), state);
        }

        self.send_pending_traces(&mut report);
        self.update_running(now);
        self.metrics.up.set(1);
        self.metrics.last_scan.set(unix_seconds(now));
        report
    }

    /// Publishes what one application says of its job (its series created, its
    /// objective), and counts it when `finished`; its job. The record's cost is
    /// priced at the exporter's sheet.
    fn count(&mut self, record: &FleetRecord, finished: bool) -> JobKey {
        let cost = record.cost_at(&self.prices);
        let job = JobKey::from_cost(&cost);
        self.see_job(&job);
        self.see_objective(&job, record.slo_max_duration_s);
        if finished {
            self.count_finished(&job, record, cost.cost);
        }
        job
    }

    /// Creates every outcome series of a job at 0, so `increase()` sees its first failure.
    fn see_job(&self, job: &JobKey) {
        for outcome in registry::OUTCOMES {
            let _created = self.metrics.outcome.get_or_create(&job.outcome_labels(outcome));
        }
    }

    /// Publishes the job's duration objective, from the application's
    /// `spark.sparkplane.slo.maxDurationSeconds` (sparkplane renders it from
    /// `spec.slo.maxDuration`), as soon as any of its logs is read — running
    /// ones included, so an overlong first run is caught. Creates the breach
    /// counter at 0 so `increase()` sees the first breach.
    fn see_objective(&self, job: &JobKey, objective: Option<f64>) {
        let Some(objective) = objective else { return };
        let labels = job.labels();
        self.metrics.slo_duration.get_or_create(&labels).set(objective);
        let _created = self.metrics.slo_breaches.get_or_create(&labels);
    }

    /// Adds one finished application to its job's counters and, when it is the
    /// job's latest, to the gauges. An application whose log ended without an
    /// end event counts as failed: it stopped without reporting success.
    fn count_finished(&mut self, job: &JobKey, app: &FleetRecord, cost: f64) {
        let m = &self.metrics;
        let labels = job.labels();
        let outcome = match app.outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed | Outcome::Incomplete => "failed",
        };
        m.outcome.get_or_create(&job.outcome_labels(outcome)).inc();
        if let Some(ms) = app.duration_ms.filter(|_| app.end_time_ms.is_some()) {
            m.duration.get_or_create(&labels).observe(ms as f64 / 1000.0);
        }
        m.core_hours.get_or_create(&labels).inc_by(app.cost.core_hours);
        m.cost.get_or_create(&labels).inc_by(cost);
        let spill = app.memory_spill_bytes.saturating_add(app.disk_spill_bytes);
        m.spill.get_or_create(&labels).inc_by(spill);
        for (cause, count) in &app.task_failures_by_cause {
            m.task_failures.get_or_create(&job.cause_labels(*cause)).inc_by(*count);
        }
        if outcome == "failed" {
            let cause = app.failure_cause.unwrap_or(FailureCause::Other);
            m.failures.get_or_create(&job.cause_labels(cause)).inc();
        }
        if let (Some(objective), Some(ms)) = (app.slo_max_duration_s, app.duration_ms)
            && ms as f64 / 1000.0 > objective
        {
            m.slo_breaches.get_or_create(&labels).inc();
        }

        let ended = app.end_time_ms.or(app.start_time_ms).unwrap_or(0);
        let newer = self.latest.get(job).is_none_or(|&shown| ended >= shown);
        if newer {
            self.latest.insert(job.clone(), ended);
            // A latest application without the figure leaves no stale value from an older one.
            set_or_remove(&m.gc_share, &labels, app.gc_share);
            set_or_remove(&m.utilisation, &labels, app.executor_utilisation);
            set_or_remove(&m.stage_skew, &labels, app.worst_stage_skew);
        }
    }

    /// Probes a Spark History Server's REST API (`GET {base}/api/v1/applications?limit=1`)
    /// and sets `sparkplane_history_server_up` to 1 when it answers 200 within
    /// `timeout`, 0 otherwise. Returns whether it answered.
    pub fn probe_history_server(&self, base: &str, timeout: Duration) -> bool {
        let url = format!("{}/api/v1/applications?limit=1", base.trim_end_matches('/'));
        let agent = sparkplane_http::agent(Some(timeout));
        let up = agent.get(&url).call().is_ok_and(|r| r.status() == 200);
        self.metrics.history_server_up.get_or_create(&Vec::new()).set(i64::from(up));
        up
    }

    /// Sets each job's running gauge to the age of its oldest application in progress,
    /// and removes it for jobs with none; and, for jobs with a Spark Connect server
    /// running, its open sessions and operations (summed over its servers).
    fn update_running(&mut self, now: SystemTime) {
        let now_ms = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut oldest: BTreeMap<JobKey, u64> = BTreeMap::new();
        let mut connect: BTreeMap<JobKey, (u64, u64)> = BTreeMap::new();
        for state in self.logs.values() {
            let (Some(job), Some(summary)) = (&state.job, &state.summary) else { continue };
            if let Some(activity) = &summary.connect {
                let open = connect.entry(job.clone()).or_default();
                open.0 += activity.open_sessions();
                open.1 += activity.open_operations();
            }
            let Some(start) = summary.start_time_ms else { continue };
            let entry = oldest.entry(job.clone()).or_insert(start);
            *entry = (*entry).min(start);
        }
        for gone in self.running.iter().filter(|job| !oldest.contains_key(job)) {
            self.metrics.running.remove(&gone.labels());
        }
        for gone in self.serving.iter().filter(|job| !connect.contains_key(job)) {
            self.metrics.connect_sessions.remove(&gone.labels());
            self.metrics.connect_operations.remove(&gone.labels());
        }
        for (job, (sessions, operations)) in &connect {
            let labels = job.labels();
            self.metrics.connect_sessions.get_or_create(&labels).set(i64::try_from(*sessions).unwrap_or(i64::MAX));
            self.metrics.connect_operations.get_or_create(&labels).set(i64::try_from(*operations).unwrap_or(i64::MAX));
        }
        self.serving = connect.into_keys().collect();
        for (job, start) in &oldest {
            let age = now_ms.saturating_sub(*start) as f64 / 1000.0;
            self.metrics.running.get_or_create(&job.labels()).set(age);
        }
        self.running = oldest.into_keys().collect();
    }

    /// Scans every `interval` until `stop` is set, checking `stop` at least every 100 ms.
    pub fn run_until(&mut self, interval: Duration, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            self.scan();
            while started.elapsed() < interval && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100).min(interval));
            }
        }
    }
}

/// The job's duration objective in seconds, as the application's properties record it.
pub use sparkplane_analysis::fleet::slo_max_duration_seconds;

fn set_or_remove(family: &Family<Labels, FloatGauge>, labels: &Labels, value: Option<f64>) {
    match value.filter(|v| v.is_finite()) {
        Some(value) => {
            family.get_or_create(labels).set(value);
        }
        None => {
            family.remove(labels);
        }
    }
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Why the HTTP server could not start (the one scaffold's error).
pub use sparkplane_http::ServeError;

/// The running HTTP server; stops (and joins its thread) when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    http: sparkplane_http::HttpServer,
}

impl MetricsServer {
    /// The address it listens on (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.http.addr()
    }
}

/// Serves `view` on `addr` from a background thread: `GET /metrics` answers the
/// OpenMetrics text, `GET /` a pointer to it, anything else 404. Binds only `addr`.
pub fn serve(addr: SocketAddr, view: MetricsView) -> Result<MetricsServer, ServeError> {
    let http = sparkplane_http::serve(addr, "sparkplane-exporter-http", 1, move |request| answer(request, &view))?;
    Ok(MetricsServer { http })
}

fn answer(request: &sparkplane_http::Request, view: &MetricsView) -> sparkplane_http::Reply {
    const TEXT: &str = "text/plain; charset=utf-8";
    match (request.method.is_read(), request.path.as_str()) {
        (true, "/metrics") => sparkplane_http::Reply::text(200, CONTENT_TYPE, view.encode()),
        (true, "/") => sparkplane_http::Reply::text(200, TEXT, "sparkplane exporter: metrics on /metrics\n"),
        (false, "/metrics" | "/") => sparkplane_http::Reply::text(405, TEXT, "method not allowed\n"),
        _ => sparkplane_http::Reply::text(404, TEXT, "not found: metrics are on /metrics\n"),
    }
}
