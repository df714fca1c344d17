//! An application as a trace: the typed spans OpenTelemetry shows for one Spark
//! application, derived from the one application model.
//!
//! Owns: [`Trace`] and [`Span`] (a root span for the application, a child per
//! job, a grandchild per stage attempt, and optionally task attempts sampled by
//! duration under their stage attempt), the attribute names (OpenTelemetry's
//! semantic conventions where one exists — `service.name`,
//! `deployment.environment.name`, `process.exit.code`, `host.name`,
//! `error.type`, `exception.*` — else `spark.*` for what Spark measured and
//! `sparkplane.*` for sparkplane's own labels), the deterministic ids (a
//! SHA-256 of the application key and the span's path, so a resend carries the
//! same ids), and [`TraceBuilder`], the fold that keeps what the summary
//! deliberately does not: each job's times and result, and a bounded sample of
//! task attempts (the slowest N and the failed ones, at most
//! [`MAX_FAILED_TASKS`]), folded beside the model in the event-log reader's one
//! pass ([`trace_log`], through [`sparkplane_eventlog::LogFold`]).
//!
//! Must not: read files itself (the event-log crate reads them), talk OTLP (that is `trace_otlp` and `trace_send`) or
//! recompute what [`AppSummary`] already holds (stage attempts, the failure,
//! labels, the critical path come from it). Memory stays bounded by jobs,
//! stages and the sample size, never by the number of tasks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sparkplane_eventlog::attribution::{cost_center_of, job_of, team_of};
use sparkplane_eventlog::fold::AppSummaryBuilder;
use sparkplane_eventlog::model::{AppSummary, Outcome, Warning};
use sparkplane_eventlog::parse::{SparkEvent, TaskOutcome};
use sparkplane_eventlog::read::{EventLog, ReadError};
use sparkplane_eventlog::root_cause::{clip, first_line, root_cause};
use sparkplane_eventlog::stage::{StageAttemptState, StageStats};

/// Failed task attempts kept as spans; further ones are only counted.
pub const MAX_FAILED_TASKS: usize = 100;

/// Longest exception message or stack trace kept on a span event, in characters.
const MAX_EXCEPTION_CHARS: usize = 8_000;

/// What to put in a trace beyond the application, its jobs and stage attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceOptions {
    /// The slowest task attempts to add as spans (0: no task spans). Failed
    /// attempts are added whenever this is above 0, up to [`MAX_FAILED_TASKS`].
    pub tasks: usize,
}

/// One attribute value, as OTLP's `AnyValue` holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Text.
    Str(String),
    /// A whole number.
    Int(i64),
    /// A fraction.
    Double(f64),
    /// Yes or no.
    Bool(bool),
    /// A list of whole numbers (a job's stage ids).
    Ints(Vec<i64>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Double(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

/// Attributes by name; sorted, so output is deterministic.
pub type Attributes = BTreeMap<String, Value>;

/// How a span ended, as OTLP's `Status` says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "code", content = "message")]
pub enum Status {
    /// Nothing went wrong (OpenTelemetry leaves successful spans unset).
    Unset,
    /// It failed; the first line of why.
    Error(String),
}

/// Something that happened at an instant within a span: here, an `exception`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanEvent {
    /// The event name (`exception`, as the semantic conventions name it).
    pub name: String,
    /// When, epoch milliseconds.
    pub time_ms: u64,
    /// `exception.type`, `exception.message`, `exception.stacktrace`, …
    pub attributes: Attributes,
}

/// One span: an application, a job, a stage attempt or a task attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// 8 bytes, hex: SHA-256 of the application key and [`Span::path`].
    pub span_id: String,
    /// The parent's id; `None` for the application's root span.
    pub parent_span_id: Option<String>,
    /// Where the span sits: `app`, `app/job/1`, `app/job/1/stage/3.0`, `app/job/1/stage/3.0/task/12`.
    pub path: String,
    /// What people read: the application name, `job 1`, `stage 3.0`, `task 12`.
    pub name: String,
    /// Start, epoch milliseconds (as Spark logged it).
    pub start_ms: u64,
    /// End, epoch milliseconds; the end of the log for what never ended.
    pub end_ms: u64,
    /// Attributes.
    pub attributes: Attributes,
    /// How it ended.
    pub status: Status,
    /// Exceptions recorded on it.
    pub events: Vec<SpanEvent>,
}

/// One application's trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// 16 bytes, hex: SHA-256 of the application key.
    pub trace_id: String,
    /// The application key the ids derive from (see [`AppSummary::key`]).
    pub app_key: String,
    /// Resource attributes: who ran it, where and with what.
    pub resource: Attributes,
    /// Root first; each job followed by its stage attempts, each followed by its sampled tasks.
    pub spans: Vec<Span>,
    /// Failed task attempts beyond [`MAX_FAILED_TASKS`], not added as spans.
    pub failed_tasks_omitted: u64,
}

/// Why an application gives no trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoTrace(pub String);

/// A job as the trace needs it: its times and result.
#[derive(Debug, Clone, PartialEq)]
struct JobRecord {
    job_id: u32,
    submitted_ms: Option<u64>,
    completed_ms: Option<u64>,
    stage_ids: Vec<u32>,
    /// `JobSucceeded`, `JobFailed`, …; `None` while running.
    result: Option<String>,
    exception: Option<ExceptionRecord>,
}

#[derive(Debug, Clone, PartialEq)]
struct ExceptionRecord {
    kind: Option<String>,
    message: String,
    stacktrace: Option<String>,
}

/// A task attempt kept as a span.
#[derive(Debug, Clone, PartialEq)]
struct TaskRecord {
    stage_id: u32,
    stage_attempt: u32,
    task_id: u64,
    index: Option<u32>,
    attempt: Option<u32>,
    executor_id: Option<String>,
    host: Option<String>,
    speculative: bool,
    launch_ms: u64,
    finish_ms: u64,
    outcome: TaskOutcome,
    reason: String,
    exception: Option<ExceptionRecord>,
    metrics: Option<sparkplane_eventlog::parse::TaskMetrics>,
}

impl TaskRecord {
    fn wall_ms(&self) -> u64 {
        self.finish_ms.saturating_sub(self.launch_ms)
    }
}

/// What a trace needs beyond the summary, folded alongside it.
#[derive(Debug, Default)]
pub struct TraceDetail {
    options: TraceOptions,
    jobs: Vec<JobRecord>,
    /// Index into `jobs` by job id.
    job_index: BTreeMap<u32, usize>,
    slowest: Vec<TaskRecord>,
    failed: Vec<TaskRecord>,
    failed_omitted: u64,
}

impl TraceDetail {
    fn observe(&mut self, event: &SparkEvent<'_>) {
        match event {
            SparkEvent::JobStart(e) => {
                self.job_index.insert(e.job_id, self.jobs.len());
                self.jobs.push(JobRecord {
                    job_id: e.job_id,
                    submitted_ms: positive(e.submission_time),
                    completed_ms: None,
                    stage_ids: e.stage_ids.clone(),
                    result: None,
                    exception: None,
                });
            }
            SparkEvent::JobEnd(e) => {
                let index = match self.job_index.get(&e.job_id) {
                    Some(index) => *index,
                    None => {
                        // The start was lost: the job still ended, at least.
                        self.job_index.insert(e.job_id, self.jobs.len());
                        self.jobs.push(JobRecord {
                            job_id: e.job_id,
                            submitted_ms: None,
                            completed_ms: None,
                            stage_ids: Vec::new(),
                            result: None,
                            exception: None,
                        });
                        self.jobs.len() - 1
                    }
                };
                let job = &mut self.jobs[index];
                job.completed_ms = positive(e.completion_time);
                job.result = Some(e.result.result.to_string());
                job.exception = e.result.exception.as_ref().map(|x| ExceptionRecord {
                    kind: None,
                    message: clip_exception(x.message.as_deref().unwrap_or("")),
                    stacktrace: x.stack_trace.as_ref().and_then(stack_trace_text),
                });
            }
            SparkEvent::TaskEnd(e) if self.options.tasks > 0 => {
                let (Some(launch_ms), Some(finish_ms)) = (positive(e.info.launch_time), positive(e.info.finish_time))
                else {
                    return;
                };
                let outcome = e.reason.outcome();
                let record = || TaskRecord {
                    stage_id: e.stage_id,
                    stage_attempt: e.stage_attempt_id,
                    task_id: e.info.task_id.unwrap_or(0),
                    index: e.info.index,
                    attempt: e.info.attempt,
                    executor_id: e.info.executor_id.as_deref().map(str::to_owned),
                    host: e.info.host.as_deref().map(str::to_owned),
                    speculative: e.info.speculative,
                    launch_ms,
                    finish_ms,
                    outcome,
                    reason: e.reason.reason.to_string(),
                    exception: (outcome == TaskOutcome::Failed).then(|| ExceptionRecord {
                        kind: e.reason.class_name.as_deref().map(str::to_owned),
                        message: clip_exception(e.reason.description.as_deref().unwrap_or(&e.reason.reason)),
                        stacktrace: None,
                    }),
                    metrics: e.metrics,
                };
                if outcome == TaskOutcome::Failed {
                    if self.failed.len() < MAX_FAILED_TASKS {
                        self.failed.push(record());
                    } else {
                        self.failed_omitted += 1;
                    }
                    return;
                }
                let wall = finish_ms.saturating_sub(launch_ms);
                let n = self.options.tasks;
                // Only a task that could still be among the N slowest is copied.
                if self.slowest.len() >= n && self.slowest.iter().all(|t| t.wall_ms() >= wall) {
                    return;
                }
                self.slowest.push(record());
                if self.slowest.len() >= 2 * n {
                    keep_slowest(&mut self.slowest, n);
                }
            }
            _ => {}
        }
    }
}

/// Sorts task records slowest first (then by task id) and keeps `n`.
fn keep_slowest(tasks: &mut Vec<TaskRecord>, n: usize) {
    tasks.sort_by(|a, b| b.wall_ms().cmp(&a.wall_ms()).then(a.task_id.cmp(&b.task_id)));
    tasks.truncate(n);
}

/// Folds an event log into its summary and what its trace needs, parsing each line once.
#[derive(Debug, Default)]
pub struct TraceBuilder {
    summary: AppSummaryBuilder,
    detail: TraceDetail,
}

impl TraceBuilder {
    /// An empty builder.
    pub fn new(options: TraceOptions) -> TraceBuilder {
        TraceBuilder { summary: AppSummaryBuilder::new(), detail: TraceDetail { options, ..TraceDetail::default() } }
    }

    /// Parses one line and folds its event into both (see [`AppSummaryBuilder::push_line`]).
    pub fn push_line(&mut self, file: &Path, line: u64, text: &str) {
        let detail = &mut self.detail;
        self.summary.push_line_and(file, line, text, |event| detail.observe(event));
    }

    /// Folds in one event parsed elsewhere.
    pub fn apply(&mut self, event: &SparkEvent<'_>) {
        self.summary.apply(event);
        self.detail.observe(event);
    }

    /// Records a reading warning in the summary.
    pub fn warn(&mut self, warning: Warning) {
        self.summary.warn(warning);
    }

    /// Marks the log as one Spark is still writing.
    pub fn set_in_progress(&mut self, in_progress: bool) {
        self.summary.set_in_progress(in_progress);
    }

    /// Ends the fold: the summary, and what [`build_trace`] needs besides it.
    pub fn finish(self) -> (AppSummary, TraceDetail) {
        let mut detail = self.detail;
        keep_slowest(&mut detail.slowest, detail.options.tasks);
        (self.summary.finish(), detail)
    }
}

impl sparkplane_eventlog::LogFold for TraceBuilder {
    fn warn(&mut self, warning: Warning) {
        TraceBuilder::warn(self, warning);
    }
    fn push_line(&mut self, file: &Path, line: u64, text: &str) {
        TraceBuilder::push_line(self, file, line, text);
    }
}

/// Reads an event log in one streaming pass, as
/// [`sparkplane_eventlog::summarize_log`] does, and also folds what its trace
/// needs ([`TraceBuilder`]); pass the result to [`build_trace`]. Fails and
/// warns as [`sparkplane_eventlog::summarize`] does.
pub fn trace_log(log: &EventLog, options: TraceOptions) -> Result<(AppSummary, TraceDetail), ReadError> {
    let mut builder = TraceBuilder::new(options);
    builder.set_in_progress(log.in_progress);
    sparkplane_eventlog::fold_log(log, &mut builder)?;
    Ok(builder.finish())
}

/// Builds the trace of `app` from its summary and the detail folded with it.
/// Fails only when the log has no application start (nothing to anchor the root span).
pub fn build_trace(app: &AppSummary, detail: &TraceDetail) -> Result<Trace, NoTrace> {
    let named = app.app_id.as_deref().or(app.name.as_deref()).unwrap_or("(unnamed)");
    let (Some(start_ms), Some(key)) = (app.start_time_ms, app.key()) else {
        return Err(NoTrace(format!("application {named}: the log has no application start, so it gives no trace")));
    };
    let app_end = app.end_time_ms.unwrap_or_else(|| start_ms.saturating_add(app.duration_ms.unwrap_or(0)));
    let ids = Ids::new(&key);
    let mut spans = Vec::new();

    // The root: the application.
    let mut root = Span {
        span_id: ids.span("app"),
        parent_span_id: None,
        path: "app".to_owned(),
        name: app.name.clone().unwrap_or_else(|| named.to_owned()),
        start_ms,
        end_ms: app_end.max(start_ms),
        attributes: app_attributes(app),
        status: Status::Unset,
        events: Vec::new(),
    };
    if app.outcome == Outcome::Failed {
        let message = match (&app.failure, app.exit_code) {
            (Some(failure), _) => failure.message.clone(),
            (None, Some(code)) => format!("the driver exited with code {code}"),
            (None, None) => "the application failed".to_owned(),
        };
        root.status = Status::Error(message);
        let cause = app.failure.as_ref().map_or("driver_exit", |f| f.cause.as_str());
        root.attributes.insert("error.type".into(), cause.into());
    }
    spans.push(root);

    // Each stage attempt goes under the first job that lists its stage.
    let mut owner: BTreeMap<u32, u32> = BTreeMap::new();
    for job in &detail.jobs {
        for stage in &job.stage_ids {
            owner.entry(*stage).or_insert(job.job_id);
        }
    }
    let tasks = sampled_tasks(detail);
    let critical: BTreeSet<u32> = app.timing.iter().flat_map(|t| t.critical_stages.iter().copied()).collect();
    let job_paths: BTreeMap<u32, String> =
        detail.jobs.iter().map(|j| (j.job_id, format!("app/job/{}", j.job_id))).collect();

    for job in &detail.jobs {
        let path = &job_paths[&job.job_id];
        let stages: Vec<&StageStats> =
            app.stage_stats.iter().filter(|s| owner.get(&s.stage_id) == Some(&job.job_id)).collect();
        let start = job.submitted_ms.or_else(|| stages.iter().filter_map(|s| stage_start(s)).min()).unwrap_or(start_ms);
        let end = job.completed_ms.unwrap_or(app_end).max(start);
        let mut attributes = Attributes::new();
        attributes.insert("spark.job.id".into(), job.job_id.into());
        attributes.insert("spark.job.result".into(), job.result.clone().unwrap_or_else(|| "running".into()).into());
        attributes
            .insert("spark.job.stage_ids".into(), Value::Ints(job.stage_ids.iter().map(|s| i64::from(*s)).collect()));
        if let Some(timing) = app.timing.as_ref().and_then(|t| t.jobs.iter().find(|j| j.job_id == job.job_id)) {
            attributes.insert("spark.job.critical_path_ms".into(), timing.critical_path_ms.into());
            attributes.insert("spark.job.task_time_ms".into(), timing.task_time_ms.into());
        }
        let mut span = Span {
            span_id: ids.span(path),
            parent_span_id: Some(ids.span("app")),
            path: path.clone(),
            name: format!("job {}", job.job_id),
            start_ms: start,
            end_ms: end,
            attributes,
            status: Status::Unset,
            events: Vec::new(),
        };
        if job.result.as_deref().is_some_and(|r| r != "JobSucceeded") {
            let message = job.exception.as_ref().map(|x| first_line(&x.message)).filter(|m| !m.is_empty());
            span.status = Status::Error(message.unwrap_or_else(|| job.result.clone().unwrap_or_default()));
            if let Some(failure) = app.failure.as_ref().filter(|f| f.job_id == job.job_id) {
                span.attributes.insert("error.type".into(), failure.cause.as_str().into());
            }
            if let Some(exception) = &job.exception {
                let mut event = exception_event(exception, end);
                if let Some(root) = root_cause(&exception.message) {
                    event.attributes.insert("spark.exception.root_cause".into(), root.into());
                }
                span.events.push(event);
            }
        }
        spans.push(span);
        for stage in stages {
            push_stage(&mut spans, &ids, stage, path, app_end, &critical, &tasks);
        }
    }
    // Stage attempts no job lists (their job's start was lost) hang off the root.
    for stage in app.stage_stats.iter().filter(|s| !owner.contains_key(&s.stage_id)) {
        push_stage(&mut spans, &ids, stage, "app", app_end, &critical, &tasks);
    }
    Ok(Trace {
        trace_id: ids.trace_id(),
        app_key: key,
        resource: resource_attributes(app),
        spans,
        failed_tasks_omitted: detail.failed_omitted,
    })
}

/// The sampled task attempts by stage attempt, each list in task-id order.
fn sampled_tasks(detail: &TraceDetail) -> BTreeMap<(u32, u32), Vec<&TaskRecord>> {
    let mut by_stage: BTreeMap<(u32, u32), Vec<&TaskRecord>> = BTreeMap::new();
    for task in detail.slowest.iter().chain(&detail.failed) {
        by_stage.entry((task.stage_id, task.stage_attempt)).or_default().push(task);
    }
    for tasks in by_stage.values_mut() {
        tasks.sort_by_key(|t| t.task_id);
    }
    by_stage
}

fn stage_start(stage: &StageStats) -> Option<u64> {
    stage.submitted_ms.or(stage.first_launch_ms)
}

fn push_stage(
    spans: &mut Vec<Span>,
    ids: &Ids,
    stage: &StageStats,
    parent_path: &str,
    app_end: u64,
    critical: &BTreeSet<u32>,
    tasks: &BTreeMap<(u32, u32), Vec<&TaskRecord>>,
) {
    let path = format!("{parent_path}/stage/{}.{}", stage.stage_id, stage.attempt_id);
    let start = stage_start(stage).unwrap_or(app_end);
    let end = stage.completed_ms.or(stage.last_finish_ms).unwrap_or(app_end).max(start);
    let mut a = Attributes::new();
    a.insert("spark.stage.id".into(), stage.stage_id.into());
    a.insert("spark.stage.attempt".into(), stage.attempt_id.into());
    if let Some(name) = &stage.name {
        a.insert("spark.stage.name".into(), name.clone().into());
    }
    let state = match stage.state {
        StageAttemptState::Active => "active",
        StageAttemptState::Completed => "completed",
        StageAttemptState::Failed => "failed",
    };
    a.insert("spark.stage.state".into(), state.into());
    if let Some(n) = stage.num_tasks {
        a.insert("spark.stage.num_tasks".into(), n.into());
    }
    a.insert("spark.stage.critical_path".into(), critical.contains(&stage.stage_id).into());
    a.insert("spark.stage.tasks.finished".into(), stage.tasks.into());
    a.insert("spark.stage.tasks.failed".into(), stage.failed_tasks.into());
    a.insert("spark.stage.tasks.killed".into(), stage.killed_tasks.into());
    a.insert("spark.stage.tasks.speculative".into(), stage.speculative_tasks.into());
    if let Some(d) = &stage.task_time {
        a.insert("spark.stage.task_time.min_ms".into(), d.min_ms.into());
        a.insert("spark.stage.task_time.median_ms".into(), d.median_ms.into());
        a.insert("spark.stage.task_time.p99_ms".into(), d.p99_ms.into());
        a.insert("spark.stage.task_time.max_ms".into(), d.max_ms.into());
    }
    let sums = [
        ("spark.executor.run_time_ms", stage.task_time_ms),
        ("spark.jvm.gc_time_ms", stage.gc_time_ms),
        ("spark.input.bytes", stage.input_bytes),
        ("spark.output.bytes", stage.output_bytes),
        ("spark.shuffle.read.bytes", stage.shuffle_read_bytes),
        ("spark.shuffle.write.bytes", stage.shuffle_write_bytes),
        ("spark.spill.memory.bytes", stage.memory_spill_bytes),
        ("spark.spill.disk.bytes", stage.disk_spill_bytes),
    ];
    for (name, value) in sums {
        a.insert(name.into(), value.into());
    }
    let mut span = Span {
        span_id: ids.span(&path),
        parent_span_id: Some(ids.span(parent_path)),
        path: path.clone(),
        name: format!("stage {}.{}", stage.stage_id, stage.attempt_id),
        start_ms: start,
        end_ms: end,
        attributes: a,
        status: Status::Unset,
        events: Vec::new(),
    };
    if stage.state == StageAttemptState::Failed {
        span.status = Status::Error(format!("stage {}.{} failed", stage.stage_id, stage.attempt_id));
    }
    spans.push(span);
    for task in tasks.get(&(stage.stage_id, stage.attempt_id)).into_iter().flatten() {
        spans.push(task_span(ids, task, &path));
    }
}

fn task_span(ids: &Ids, task: &TaskRecord, parent_path: &str) -> Span {
    let path = format!("{parent_path}/task/{}", task.task_id);
    let mut a = Attributes::new();
    a.insert("spark.task.id".into(), task.task_id.into());
    if let Some(index) = task.index {
        a.insert("spark.task.index".into(), index.into());
    }
    if let Some(attempt) = task.attempt {
        a.insert("spark.task.attempt".into(), attempt.into());
    }
    if let Some(executor) = &task.executor_id {
        a.insert("spark.executor.id".into(), executor.clone().into());
    }
    if let Some(host) = &task.host {
        a.insert("host.name".into(), host.clone().into());
    }
    a.insert("spark.task.speculative".into(), task.speculative.into());
    a.insert("spark.task.end_reason".into(), task.reason.clone().into());
    if let Some(m) = &task.metrics {
        let figures = [
            ("spark.executor.run_time_ms", m.executor_run_time_ms),
            ("spark.executor.cpu_time_ms", m.executor_cpu_time_ns / 1_000_000),
            ("spark.jvm.gc_time_ms", m.jvm_gc_time_ms),
            ("spark.memory.peak_execution.bytes", m.peak_execution_memory),
            ("spark.input.bytes", m.input.bytes_read),
            ("spark.output.bytes", m.output.bytes_written),
            (
                "spark.shuffle.read.bytes",
                m.shuffle_read.remote_bytes_read.saturating_add(m.shuffle_read.local_bytes_read),
            ),
            ("spark.shuffle.write.bytes", m.shuffle_write.bytes_written),
            ("spark.spill.memory.bytes", m.memory_bytes_spilled),
            ("spark.spill.disk.bytes", m.disk_bytes_spilled),
        ];
        for (name, value) in figures {
            a.insert(name.into(), Value::Int(value.max(0)));
        }
    }
    let mut span = Span {
        span_id: ids.span(&path),
        parent_span_id: Some(ids.span(parent_path)),
        path,
        name: format!("task {}", task.task_id),
        start_ms: task.launch_ms,
        end_ms: task.finish_ms.max(task.launch_ms),
        attributes: a,
        status: Status::Unset,
        events: Vec::new(),
    };
    if let Some(exception) = &task.exception {
        span.status = Status::Error(first_line(&exception.message));
        let cause =
            sparkplane_eventlog::cause::of_task(&task.reason, exception.kind.as_deref(), Some(&exception.message));
        span.attributes.insert("error.type".into(), cause.as_str().into());
        span.events.push(exception_event(exception, task.finish_ms));
    }
    span
}

fn exception_event(exception: &ExceptionRecord, time_ms: u64) -> SpanEvent {
    let mut attributes = Attributes::new();
    if let Some(kind) = &exception.kind {
        attributes.insert("exception.type".into(), kind.clone().into());
    }
    attributes.insert("exception.message".into(), exception.message.clone().into());
    if let Some(stack) = &exception.stacktrace {
        attributes.insert("exception.stacktrace".into(), stack.clone().into());
    }
    SpanEvent { name: "exception".to_owned(), time_ms, attributes }
}

fn app_attributes(app: &AppSummary) -> Attributes {
    let mut a = Attributes::new();
    let text = [
        ("spark.app.id", &app.app_id),
        ("spark.app.attempt_id", &app.attempt_id),
        ("spark.app.name", &app.name),
        ("spark.app.user", &app.user),
        ("spark.master", &app.config.master),
        ("spark.submit.deploy_mode", &app.config.deploy_mode),
    ];
    for (name, value) in text {
        if let Some(value) = value {
            a.insert(name.into(), value.clone().into());
        }
    }
    let outcome = match app.outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Incomplete => "incomplete",
    };
    a.insert("spark.app.outcome".into(), outcome.into());
    if let Some(code) = app.exit_code {
        a.insert("process.exit.code".into(), code.into());
    }
    let counts = [
        ("spark.jobs.total", app.jobs.total),
        ("spark.jobs.failed", app.jobs.failed),
        ("spark.stages.total", app.stages.total),
        ("spark.stages.failed", app.stages.failed),
        ("spark.stages.skipped", app.stages.skipped),
        ("spark.tasks.total", app.tasks.total),
        ("spark.tasks.failed", app.tasks.failed),
        ("spark.tasks.killed", app.tasks.killed),
        ("spark.executors.count", app.executors.count),
        ("spark.executors.max_concurrent_cores", app.executors.max_concurrent_cores),
        ("spark.executor.run_time_ms", app.metrics.task_time_ms),
        ("spark.executor.cpu_time_ms", app.metrics.cpu_time_ms),
        ("spark.jvm.gc_time_ms", app.metrics.gc_time_ms),
        ("spark.input.bytes", app.metrics.input_bytes),
        ("spark.output.bytes", app.metrics.output_bytes),
        ("spark.shuffle.read.bytes", app.metrics.shuffle_read_bytes),
        ("spark.shuffle.write.bytes", app.metrics.shuffle_write_bytes),
        ("spark.spill.memory.bytes", app.metrics.memory_spill_bytes),
        ("spark.spill.disk.bytes", app.metrics.disk_spill_bytes),
    ];
    for (name, value) in counts {
        a.insert(name.into(), value.into());
    }
    a.insert("spark.executors.core_seconds".into(), app.executors.core_seconds.into());
    if let Some(wall) = &app.wall_time {
        a.insert("spark.app.driver_only_ms".into(), wall.driver_only_ms.into());
    }
    if let Some(timing) = &app.timing {
        a.insert("spark.app.critical_path_ms".into(), timing.critical_path_ms.into());
        a.insert("spark.app.ideal_ms".into(), timing.ideal_ms.into());
    }
    a
}

/// The resource: the job as sparkplane labels it, and the Spark that ran it.
fn resource_attributes(app: &AppSummary) -> Attributes {
    let mut a = Attributes::new();
    let job = job_of(app);
    a.insert("service.name".into(), job.clone().unwrap_or_else(|| "spark".to_owned()).into());
    let environment =
        app.config.labels.get(sparkplane_api::labels::ENVIRONMENT).filter(|v| !v.trim().is_empty()).cloned();
    let labels = [
        ("sparkplane.job", job),
        ("sparkplane.team", team_of(app)),
        ("sparkplane.cost_center", cost_center_of(app)),
        ("deployment.environment.name", environment),
        ("spark.version", app.spark_version.clone()),
        ("spark.app.id", app.app_id.clone()),
    ];
    for (name, value) in labels {
        if let Some(value) = value {
            a.insert(name.into(), value.into());
        }
    }
    a
}

/// Trace and span ids of one application.
struct Ids {
    key: String,
}

impl Ids {
    fn new(key: &str) -> Ids {
        Ids { key: key.to_owned() }
    }

    fn trace_id(&self) -> String {
        hex_id(&format!("sparkplane/trace/{}", self.key), 16)
    }

    fn span(&self, path: &str) -> String {
        hex_id(&format!("sparkplane/trace/{}/{path}", self.key), 8)
    }
}

/// The first `bytes` of SHA-256 of `text`, hex; never all zero (OTLP's "no id").
fn hex_id(text: &str, bytes: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut id = digest[..bytes].to_vec();
    if id.iter().all(|b| *b == 0) {
        id[bytes - 1] = 1;
    }
    id.iter().fold(String::with_capacity(bytes * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn positive(time: Option<i64>) -> Option<u64> {
    time.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0)
}

fn clip_exception(text: &str) -> String {
    match text.char_indices().nth(MAX_EXCEPTION_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A JVM stack as Java prints it, from the log's `Stack Trace` frames.
fn stack_trace_text(frames: &serde_json::Value) -> Option<String> {
    let frames = frames.as_array()?;
    let mut text = String::new();
    for frame in frames {
        let class = frame.get("Declaring Class").and_then(|v| v.as_str()).unwrap_or("?");
        let method = frame.get("Method Name").and_then(|v| v.as_str()).unwrap_or("?");
        let file = frame.get("File Name").and_then(|v| v.as_str()).unwrap_or("Unknown Source");
        match frame.get("Line Number").and_then(|v| v.as_i64()).filter(|l| *l >= 0) {
            Some(line) => {
                let _ = writeln!(text, "\tat {class}.{method}({file}:{line})");
            }
            None => {
                let _ = writeln!(text, "\tat {class}.{method}({file})");
            }
        }
    }
    (!text.is_empty()).then(|| clip_exception(&text))
}

impl Trace {
    /// The trace as text, one span a line, indented by depth:
    /// `name  +start ms  duration ms  [ERROR message]  span id`.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let root_start = self.spans.first().map_or(0, |s| s.start_ms);
        let _ = writeln!(out, "trace {} ({})", self.trace_id, self.app_key);
        for (name, value) in &self.resource {
            let _ = writeln!(out, "  resource {name} = {}", value_text(value));
        }
        let depth: BTreeMap<&str, usize> =
            self.spans.iter().map(|s| (s.path.as_str(), s.path.matches('/').count() / 2)).collect();
        for span in &self.spans {
            let indent = "  ".repeat(depth.get(span.path.as_str()).copied().unwrap_or(0) + 1);
            let status = match &span.status {
                Status::Unset => String::new(),
                Status::Error(message) => format!("  ERROR {}", clip(message)),
            };
            let _ = writeln!(
                out,
                "{indent}{}  +{} ms  {} ms{status}  span {}",
                span.name,
                span.start_ms.saturating_sub(root_start),
                span.end_ms.saturating_sub(span.start_ms),
                span.span_id
            );
        }
        if self.failed_tasks_omitted > 0 {
            let _ = writeln!(out, "  ({} further failed tasks not added as spans)", self.failed_tasks_omitted);
        }
        out
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Ints(list) => format!("{list:?}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::*;

    /// When the fixture application starts (epoch milliseconds).
    const T0: i64 = 1_700_000_000_000;

    fn t(offset: i64) -> i64 {
        T0 + offset
    }

    fn task(stage: u32, attempt: u32, id: u64, launch: i64, finish: i64, failed: bool) -> Json {
        let reason = if failed {
            json!({"Reason": "ExceptionFailure", "Class Name": "java.lang.IllegalStateException",
                   "Description": "bad row 7\nat Job.scala:12"})
        } else {
            json!({"Reason": "Success"})
        };
        json!({"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": attempt,
               "Task End Reason": reason,
               "Task Info": {"Task ID": id, "Index": id % 10, "Attempt": 0, "Executor ID": "1", "Host": "node-a",
                             "Launch Time": t(launch), "Finish Time": t(finish), "Speculative": false},
               "Task Metrics": {"Executor Run Time": finish - launch, "JVM GC Time": 5,
                                "Input Metrics": {"Bytes Read": 1000}}})
    }

    fn stage(
        event: &str,
        id: u32,
        attempt: u32,
        submitted: i64,
        completed: Option<i64>,
        failure: Option<&str>,
    ) -> Json {
        let mut info = json!({"Stage ID": id, "Stage Attempt ID": attempt, "Stage Name": format!("collect at job.py:{id}"),
                              "Number of Tasks": 3, "Submission Time": t(submitted)});
        if let Some(completed) = completed {
            info["Completion Time"] = json!(t(completed));
        }
        if let Some(failure) = failure {
            info["Failure Reason"] = json!(failure);
        }
        json!({"Event": event, "Stage Info": info})
    }

    /// `etl` of team `data-eng`: job 0 (stage 0, three tasks) succeeds; job 1's
    /// stage 1 fails on a task's exception, and so job 1 and the application fail.
    fn failing_app() -> Vec<Json> {
        vec![
            json!({"Event": "SparkListenerLogStart", "Spark Version": "3.5.9"}),
            json!({"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": {
                "spark.master": "k8s://https://api:6443", "spark.app.name": "etl",
                "spark.kubernetes.driver.label.sparkplane.dev/job": "nightly-etl",
                "spark.kubernetes.driver.label.sparkplane.dev/team": "data-eng",
                "spark.kubernetes.driver.label.sparkplane.dev/cost-center": "cc-42",
                "spark.kubernetes.driver.label.sparkplane.dev/environment": "prod"}}),
            json!({"Event": "SparkListenerApplicationStart", "App Name": "etl", "App ID": "spark-1",
                   "Timestamp": T0, "User": "etl"}),
            json!({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": t(1_000), "Stage IDs": [0]}),
            stage("SparkListenerStageSubmitted", 0, 0, 1_010, None, None),
            task(0, 0, 0, 1_100, 1_200, false),
            task(0, 0, 1, 1_100, 1_400, false),
            task(0, 0, 2, 1_100, 1_300, false),
            stage("SparkListenerStageCompleted", 0, 0, 1_010, Some(1_450), None),
            json!({"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": t(1_500),
                   "Job Result": {"Result": "JobSucceeded"}}),
            json!({"Event": "SparkListenerJobStart", "Job ID": 1, "Submission Time": t(2_000), "Stage IDs": [1]}),
            stage("SparkListenerStageSubmitted", 1, 0, 2_010, None, None),
            task(1, 0, 3, 2_100, 2_150, true),
            stage("SparkListenerStageCompleted", 1, 0, 2_010, Some(2_200), Some("Job aborted: bad row 7\nmore")),
            json!({"Event": "SparkListenerJobEnd", "Job ID": 1, "Completion Time": t(2_300),
                   "Job Result": {"Result": "JobFailed", "Exception": {
                       "Message": "Job aborted due to stage failure: bad row 7\nCaused by: java.lang.IllegalStateException: bad row 7",
                       "Stack Trace": [{"Declaring Class": "org.apache.spark.scheduler.DAGScheduler",
                                        "Method Name": "failJobAndIndependentStages",
                                        "File Name": "DAGScheduler.scala", "Line Number": 2898}]}}}),
            json!({"Event": "SparkListenerApplicationEnd", "Timestamp": t(3_000)}),
        ]
    }

    fn trace_of(events: &[Json], tasks: usize) -> Result<Trace, NoTrace> {
        let mut builder = TraceBuilder::new(TraceOptions { tasks });
        for (n, event) in events.iter().enumerate() {
            builder.push_line(Path::new("log"), n as u64 + 1, &event.to_string());
        }
        let (app, detail) = builder.finish();
        build_trace(&app, &detail)
    }

    fn attr<'a>(span: &'a Span, name: &str) -> Option<&'a Value> {
        span.attributes.get(name)
    }

    #[test]
    fn spans_nest_application_jobs_stages_and_sampled_tasks() {
        let trace = trace_of(&failing_app(), 1).expect("a trace");
        // (path, name, parent path, start offset, end offset, error message)
        type Row = (&'static str, &'static str, Option<&'static str>, i64, i64, Option<&'static str>);
        let expected: &[Row] = &[
            ("app", "etl", None, 0, 3_000, Some("Job aborted due to stage failure: bad row 7")),
            ("app/job/0", "job 0", Some("app"), 1_000, 1_500, None),
            ("app/job/0/stage/0.0", "stage 0.0", Some("app/job/0"), 1_010, 1_450, None),
            // The slowest task of the one asked for; the other two are left out.
            ("app/job/0/stage/0.0/task/1", "task 1", Some("app/job/0/stage/0.0"), 1_100, 1_400, None),
            ("app/job/1", "job 1", Some("app"), 2_000, 2_300, Some("Job aborted due to stage failure: bad row 7")),
            ("app/job/1/stage/1.0", "stage 1.0", Some("app/job/1"), 2_010, 2_200, Some("stage 1.0 failed")),
            // A failed task is always kept.
            ("app/job/1/stage/1.0/task/3", "task 3", Some("app/job/1/stage/1.0"), 2_100, 2_150, Some("bad row 7")),
        ];
        let got: Vec<_> = trace.spans.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(got, expected.iter().map(|e| e.0).collect::<Vec<_>>());
        let ids = Ids::new("spark-1");
        for ((path, name, parent, start, end, error), span) in expected.iter().zip(&trace.spans) {
            assert_eq!(span.name, *name, "{path}");
            assert_eq!(span.span_id, ids.span(path), "{path}");
            assert_eq!(span.parent_span_id, parent.map(|p| ids.span(p)), "{path}");
            assert_eq!((span.start_ms, span.end_ms), (t(*start) as u64, t(*end) as u64), "{path}");
            let status = error.map_or(Status::Unset, |m| Status::Error(m.to_owned()));
            assert_eq!(span.status, status, "{path}");
        }
        assert_eq!(trace.trace_id, ids.trace_id());
        assert_eq!(trace.trace_id.len(), 32);
        assert_eq!(trace.spans[0].span_id.len(), 16);
    }

    #[test]
    fn attributes_follow_the_semantic_conventions_where_they_exist() {
        let trace = trace_of(&failing_app(), 1).expect("a trace");
        let resource: Vec<(&str, &Value)> = trace.resource.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            resource,
            [
                ("deployment.environment.name", &Value::from("prod")),
                ("service.name", &Value::from("nightly-etl")),
                ("spark.app.id", &Value::from("spark-1")),
                ("spark.version", &Value::from("3.5.9")),
                ("sparkplane.cost_center", &Value::from("cc-42")),
                ("sparkplane.job", &Value::from("nightly-etl")),
                ("sparkplane.team", &Value::from("data-eng")),
            ]
        );
        let span = |path: &str| trace.spans.iter().find(|s| s.path == path).expect(path);
        let root = span("app");
        assert_eq!(attr(root, "spark.app.outcome"), Some(&Value::from("failed")));
        assert_eq!(attr(root, "error.type"), Some(&Value::from("other")));
        assert_eq!(attr(root, "spark.tasks.failed"), Some(&Value::Int(1)));
        let job = span("app/job/1");
        assert_eq!(attr(job, "spark.job.result"), Some(&Value::from("JobFailed")));
        assert_eq!(attr(job, "spark.job.stage_ids"), Some(&Value::Ints(vec![1])));
        let [exception] = &job.events[..] else { panic!("one exception event: {:?}", job.events) };
        assert_eq!((exception.name.as_str(), exception.time_ms), ("exception", t(2_300) as u64));
        assert_eq!(
            exception.attributes.get("exception.stacktrace"),
            Some(&Value::from(
                "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2898)\n"
            ))
        );
        assert_eq!(
            exception.attributes.get("spark.exception.root_cause"),
            Some(&Value::from("java.lang.IllegalStateException: bad row 7"))
        );
        let stage = span("app/job/0/stage/0.0");
        let figures = [
            ("spark.stage.name", Value::from("collect at job.py:0")),
            ("spark.stage.num_tasks", Value::Int(3)),
            ("spark.stage.tasks.finished", Value::Int(3)),
            ("spark.executor.run_time_ms", Value::Int(600)),
            ("spark.jvm.gc_time_ms", Value::Int(15)),
            ("spark.input.bytes", Value::Int(3000)),
            ("spark.stage.task_time.max_ms", Value::Int(300)),
        ];
        for (name, value) in figures {
            assert_eq!(attr(stage, name), Some(&value), "{name}");
        }
        let task = span("app/job/1/stage/1.0/task/3");
        assert_eq!(attr(task, "host.name"), Some(&Value::from("node-a")));
        assert_eq!(attr(task, "spark.executor.id"), Some(&Value::from("1")));
        assert_eq!(attr(task, "spark.task.end_reason"), Some(&Value::from("ExceptionFailure")));
        let [exception] = &task.events[..] else { panic!("one exception event") };
        assert_eq!(exception.attributes.get("exception.type"), Some(&Value::from("java.lang.IllegalStateException")));
        assert_eq!(exception.attributes.get("exception.message"), Some(&Value::from("bad row 7\nat Job.scala:12")));
    }

    #[test]
    fn ids_are_the_same_for_the_same_application_and_differ_for_another() {
        let once = trace_of(&failing_app(), 2).expect("a trace");
        let again = trace_of(&failing_app(), 2).expect("a trace");
        assert_eq!(once, again);
        let mut other = failing_app();
        other[2]["App ID"] = json!("spark-2");
        let other = trace_of(&other, 2).expect("a trace");
        assert_ne!(other.trace_id, once.trace_id);
        assert_ne!(other.spans[0].span_id, once.spans[0].span_id);
        let mut retried = failing_app();
        retried[2]["App Attempt ID"] = json!("2");
        assert_ne!(trace_of(&retried, 2).expect("a trace").trace_id, once.trace_id, "each attempt is its own trace");
    }

    #[test]
    fn task_sampling() {
        // (tasks asked for, task spans expected)
        let table: &[(usize, &[&str])] = &[
            (0, &[]),
            (1, &["task 1", "task 3"]),
            (2, &["task 1", "task 2", "task 3"]),
            (10, &["task 0", "task 1", "task 2", "task 3"]),
        ];
        for (tasks, expected) in table {
            let trace = trace_of(&failing_app(), *tasks).expect("a trace");
            let got: Vec<&str> =
                trace.spans.iter().filter(|s| s.path.contains("/task/")).map(|s| s.name.as_str()).collect();
            assert_eq!(got, *expected, "--tasks {tasks}");
        }
    }

    #[test]
    fn an_unfinished_application_ends_at_its_last_event_and_a_log_without_start_has_no_trace() {
        let mut events = failing_app();
        events.truncate(events.len() - 2); // no job 1 end, no application end
        let trace = trace_of(&events, 0).expect("a trace");
        let root = &trace.spans[0];
        assert_eq!((root.end_ms, &root.status), (t(2_200) as u64, &Status::Unset));
        assert_eq!(attr(root, "spark.app.outcome"), Some(&Value::from("incomplete")));
        let job = trace.spans.iter().find(|s| s.path == "app/job/1").expect("job 1");
        assert_eq!((job.end_ms, attr(job, "spark.job.result")), (t(2_200) as u64, Some(&Value::from("running"))));

        let no_start: Vec<Json> =
            failing_app().into_iter().filter(|e| e["Event"] != "SparkListenerApplicationStart").collect();
        assert_eq!(
            trace_of(&no_start, 0).err().map(|e| e.to_string()).as_deref(),
            Some("application etl: the log has no application start, so it gives no trace")
        );
    }

    #[test]
    fn the_text_shows_the_tree() {
        let trace = trace_of(&failing_app(), 0).expect("a trace");
        let text = trace.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("trace {} (spark-1)", trace.trace_id));
        assert!(lines.contains(&"  resource sparkplane.team = data-eng"), "{text}");
        let spans: Vec<String> = lines
            .iter()
            .filter(|l| l.contains("  span "))
            .map(|l| l.split("  span ").next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            spans,
            [
                "  etl  +0 ms  3000 ms  ERROR Job aborted due to stage failure: bad row 7",
                "    job 0  +1000 ms  500 ms",
                "      stage 0.0  +1010 ms  440 ms",
                "    job 1  +2000 ms  300 ms  ERROR Job aborted due to stage failure: bad row 7",
                "      stage 1.0  +2010 ms  190 ms  ERROR stage 1.0 failed",
            ]
        );
    }
}
