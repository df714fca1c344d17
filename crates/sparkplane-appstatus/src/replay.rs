//! One application's detail as Spark's status store keeps it: jobs, stage
//! attempts, tasks, executors, environment and RDDs, replayed from the lines
//! of its event log.
//!
//! Owns: folding listener events into the records the REST API serves
//! ([`AppDetail`]), with Spark's own counting rules (a job's tasks are the sum
//! of its stages', stages never submitted are skipped when the job ends,
//! completed indices are distinct, metrics of every ended task count).
//!
//! Task starts and ends, nearly every line of a large log, are read by the
//! event-log engine's typed parser (`sparkplane_eventlog::parse::task_detail`)
//! in place; the few other events as JSON values.
//!
//! A log listed and replayed in one pass is parsed once: [`parse_line_with_summary`]
//! also hands on what the listing's summary takes from each line ([`SummaryLine`]).
//!
//! Must not: do I/O (lines come in through [`DetailBuilder::push_line`]), shape
//! JSON answers (the api module does), parse task events itself, or summarise
//! an application for listing (that is `sparkplane_eventlog`'s `AppSummary`).
//! The tasks are the only part that grows with task count; they are kept
//! compactly ([`crate::tasks::TaskStore`]) and callers cache details within a
//! memory budget ([`AppDetail::approx_bytes`]).

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use serde::Deserialize;
use serde_json::Value;
use sparkplane_eventlog::parse::TaskEnd;
use sparkplane_eventlog::parse::task_detail::{
    AccumulableDetail, TaskDetailEvent, TaskEndDetail, TaskEndReasonDetail, TaskInfoDetail, TaskStartDetail,
    parse_task_detail,
};

use crate::storage::{self, BlockUpdate, ExecutorStorage, Level};
use crate::tasks::TaskStore;
pub use crate::tasks::{Accumulable, Metrics, Task};

fn int(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// Spark 4.1's executor metric names, in the order its API lists them in
/// `peakExecutorMetrics` and `peakMemoryMetrics` (the event-log engine's list).
pub use sparkplane_eventlog::parse::task_detail::EXECUTOR_METRIC_NAMES;

/// Peak values of the executor metrics, by [`EXECUTOR_METRIC_NAMES`] position.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeakMetrics(pub [i64; EXECUTOR_METRIC_NAMES.len()]);

impl PeakMetrics {
    /// Reads an `"Executor Metrics"` object (name → value; missing names are 0, as Spark reads them).
    pub fn from_json(value: &Value) -> PeakMetrics {
        let mut out = PeakMetrics::default();
        for (slot, name) in out.0.iter_mut().zip(EXECUTOR_METRIC_NAMES) {
            *slot = int(value, name);
        }
        out
    }

    /// Keeps the greater of each value.
    pub fn update(&mut self, other: &PeakMetrics) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = (*mine).max(theirs);
        }
    }

    /// The value of one metric by name (0 for an unknown name).
    pub fn get(&self, name: &str) -> i64 {
        EXECUTOR_METRIC_NAMES.iter().position(|n| *n == name).map_or(0, |i| self.0[i])
    }
}

/// Spark's `toString` of an accumulator value as the log holds it.
fn value_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The accumulables of a stage or task info, without internal and SQL ones.
fn accumulables(list: Option<&Value>) -> Vec<Accumulable> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| !a.get("Internal").and_then(Value::as_bool).unwrap_or(false))
        .filter(|a| a.get("Metadata").and_then(Value::as_str) != Some("sql"))
        .map(|a| Accumulable {
            id: int(a, "ID"),
            name: text(a, "Name"),
            update: value_text(a.get("Update")),
            value: value_text(a.get("Value")),
        })
        .collect()
}

/// One executor's share of a stage attempt, as Spark's `ExecutorStageSummary`.
#[derive(Debug, Clone, Default)]
pub struct ExecutorStageSummary {
    pub task_time: i64,
    pub failed_tasks: i64,
    pub succeeded_tasks: i64,
    pub killed_tasks: i64,
    pub metrics: Metrics,
    /// Excluded (blacklisted) for this stage.
    pub excluded: bool,
    /// Its peaks in this stage; `None` until a task of the stage ended on it or
    /// it reported metrics for the stage (an executor only excluded with its
    /// node has none, and Spark leaves `peakMemoryMetrics` out).
    pub peak: Option<PeakMetrics>,
}

/// A job, counted as Spark's `JobData`.
#[derive(Debug, Clone, Default)]
pub struct Job {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub submission_time: Option<i64>,
    pub completion_time: Option<i64>,
    pub stage_ids: Vec<i64>,
    pub job_group: Option<String>,
    pub tags: Vec<String>,
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `UNKNOWN`.
    pub status: &'static str,
    pub num_tasks: i64,
    pub active_tasks: i64,
    pub completed_tasks: i64,
    pub skipped_tasks: i64,
    pub failed_tasks: i64,
    pub killed_tasks: i64,
    pub completed_indices: BTreeSet<(i64, i64)>,
    pub active_stages: BTreeSet<i64>,
    pub completed_stages: BTreeSet<i64>,
    pub skipped_stages: i64,
    pub failed_stages: i64,
    pub killed_summary: BTreeMap<String, i64>,
}

/// One stage attempt, as Spark's `StageData`.
#[derive(Debug, Clone, Default)]
pub struct Stage {
    pub stage_id: i64,
    pub attempt_id: i64,
    /// `ACTIVE`, `COMPLETE`, `FAILED`, `PENDING`, `SKIPPED`.
    pub status: &'static str,
    pub name: String,
    pub description: Option<String>,
    pub details: String,
    pub num_tasks: i64,
    pub submission_time: Option<i64>,
    pub completion_time: Option<i64>,
    pub first_task_launched_time: Option<i64>,
    pub failure_reason: Option<String>,
    pub scheduling_pool: String,
    pub rdd_ids: Vec<i64>,
    pub resource_profile_id: i64,
    pub job_ids: BTreeSet<i64>,
    pub active_tasks: i64,
    pub complete_tasks: i64,
    pub failed_tasks: i64,
    pub killed_tasks: i64,
    pub completed_indices: BTreeSet<i64>,
    pub killed_summary: BTreeMap<String, i64>,
    pub metrics: Metrics,
    /// Its task attempts, compactly ([`Stage::tasks`] decodes them).
    pub tasks: TaskStore,
    /// Per executor that ran a task of it (or reported metrics for it).
    pub executor_summary: BTreeMap<String, ExecutorStageSummary>,
    /// Peak executor metrics over the stage's tasks and reports; `None`
    /// until a task ended in it or an executor reported for it (a skipped
    /// stage has none, and Spark's API then leaves `peakExecutorMetrics` out).
    pub peak: Option<PeakMetrics>,
    pub accumulables: Vec<Accumulable>,
    /// Speculative task counts (tasks, active, completed, failed, killed), once one started.
    pub speculation: Option<[i64; 5]>,
}

/// One executor, as Spark's `ExecutorSummary`.
#[derive(Debug, Clone, Default)]
pub struct Executor {
    pub id: String,
    pub host_port: String,
    pub is_active: bool,
    pub total_cores: i64,
    pub max_memory: i64,
    pub add_time: Option<i64>,
    pub remove_time: Option<i64>,
    pub remove_reason: Option<String>,
    pub active_tasks: i64,
    pub failed_tasks: i64,
    pub completed_tasks: i64,
    /// Task attempts started on it, whatever became of them (Spark's
    /// `totalTasks`: a killed attempt counts here but neither as completed
    /// nor as failed).
    pub total_tasks: i64,
    pub total_duration: i64,
    pub total_gc_time: i64,
    pub total_input_bytes: i64,
    pub total_shuffle_read: i64,
    pub total_shuffle_write: i64,
    pub logs: BTreeMap<String, String>,
    pub attributes: BTreeMap<String, String>,
    /// `Resources` of the executor info (name → `{name, addresses}`), as logged.
    pub resources: BTreeMap<String, Value>,
    pub resource_profile_id: i64,
    /// `maxTasks` when a resource profile says how many cpus a task takes.
    pub max_tasks: Option<i64>,
    /// Peak executor metrics; set once a task ended on it or it reported metrics.
    pub peak: Option<PeakMetrics>,
    /// On-heap and off-heap storage memory from the block manager, when logged.
    pub storage_memory: Option<(i64, i64)>,
    /// Excluded (blacklisted) now, and in which live stages.
    pub excluded: bool,
    pub excluded_in_stages: BTreeSet<i64>,
    /// RDD blocks and storage memory used, from block updates.
    pub storage: ExecutorStorage,
}

/// Everything the per-application endpoints answer from.
#[derive(Debug, Clone, Default)]
pub struct AppDetail {
    pub jobs: BTreeMap<i64, Job>,
    pub stages: BTreeMap<(i64, i64), Stage>,
    pub executors: BTreeMap<String, Executor>,
    /// The `SparkListenerEnvironmentUpdate` event as written.
    pub environment: Option<Value>,
    /// RDDs a stage ran with a storage level, by id, until unpersisted (Spark's live RDDs).
    pub rdds: BTreeMap<i64, StoredRdd>,
    /// `SparkListenerBlockUpdated` events seen: only they tell which partitions
    /// are cached (Spark logs them only with `spark.eventLog.logBlockUpdates.enabled`).
    pub block_updates: u64,
    /// Bad lines seen while replaying (line number and reason).
    pub warnings: Vec<String>,
    /// Application start and end (epoch ms), for the driver's `totalDuration`.
    pub app_start: Option<i64>,
    pub app_end: Option<i64>,
    /// The attempt's `lastUpdated` (epoch ms) when the log was replayed — the
    /// log's last modification, or while the application runs the time the
    /// index read it: what a running task's `duration` is measured to, as
    /// Spark's History Server measures it ([`crate::tasks::Task::duration_as_of`]).
    pub last_updated_ms: Option<i64>,
    /// `SparkListenerResourceProfileAdded` events, by profile id.
    pub resource_profiles: BTreeMap<i64, Value>,
    /// Miscellaneous processes (`SparkListenerMiscellaneousProcessAdded`), by id.
    pub processes: BTreeMap<String, Value>,
    /// SQL executions with their plans and metric totals (the SQL tab).
    pub sql: crate::sql_executions::SqlExecutions,
    /// sparkplane's findings, critical path and failure cause, when the detail
    /// was folded together with the application's summary (the index does).
    pub insight: Option<crate::insight::Insight>,
}

pub use crate::storage::StoredRdd;

/// A logged `"Storage Level"`.
fn level_of(level: &Value) -> Level {
    let flag = |key: &str| level.get(key).and_then(Value::as_bool).unwrap_or(false);
    Level {
        use_disk: flag("Use Disk"),
        use_memory: flag("Use Memory"),
        use_off_heap: flag("Use Off Heap"),
        deserialized: flag("Deserialized"),
        replication: int(level, "Replication"),
    }
}

impl AppDetail {
    /// A rough size in memory, for the detail cache's budget.
    pub fn approx_bytes(&self) -> u64 {
        let tasks: u64 = self.stages.values().map(|s| s.tasks.approx_bytes()).sum();
        let stages = self.stages.len() as u64 * 2048;
        let rest = (self.jobs.len() + self.executors.len() + self.rdds.len()) as u64 * 512;
        let insight = self.insight.as_ref().map_or(0, crate::insight::Insight::approx_bytes);
        tasks + stages + rest + self.sql.approx_bytes() + insight + 4096
    }

    /// The latest attempt of `stage_id`, if any.
    pub fn stage_attempts(&self, stage_id: i64) -> Vec<&Stage> {
        self.stages.range((stage_id, i64::MIN)..=(stage_id, i64::MAX)).map(|(_, s)| s).collect()
    }
}

/// A task start, read and owned: ready to fold on any thread.
#[derive(Debug, Clone)]
pub struct StartedTask {
    /// (stage id, stage attempt id).
    pub key: (i64, i64),
    pub task: Task,
}

impl StartedTask {
    fn from_detail(event: &TaskStartDetail<'_>) -> StartedTask {
        StartedTask { key: (event.stage_id, event.stage_attempt_id), task: task_from_info(&event.info) }
    }
}

/// A task end, read and owned: the attempt as it ended, with its status,
/// error, metrics and the executor's peaks while it ran.
#[derive(Debug, Clone)]
pub struct EndedTask {
    /// (stage id, stage attempt id).
    pub key: (i64, i64),
    pub task: Task,
    /// Why it was killed (`KILLED` only), as Spark counts it in `killedTasksSummary`.
    pub killed_reason: Option<String>,
    pub peak: PeakMetrics,
    /// Its SQL metrics' updates, (accumulator id, update), for the SQL model
    /// (`SqlExecutions::task_end`); not kept with the task.
    pub sql_updates: Vec<(i64, i64)>,
}

impl EndedTask {
    fn from_detail(event: &TaskEndDetail<'_>) -> EndedTask {
        let success = TaskEndReasonDetail { reason: "Success".into(), ..TaskEndReasonDetail::default() };
        let reason = event.reason.as_ref().unwrap_or(&success);
        let mut task = task_from_info(&event.info);
        task.metrics = event.metrics.as_ref().map(Metrics::from_detail);
        let (status, killed_reason, error) = match reason.reason.as_ref() {
            "Success" => ("SUCCESS", None, None),
            "TaskKilled" => {
                let why = reason
                    .kill_reason
                    .as_deref()
                    .or(reason.kill_description.as_deref())
                    .unwrap_or("unknown reason")
                    .to_owned();
                ("KILLED", Some(why.clone()), Some(why))
            }
            "TaskCommitDenied" => {
                let why = failure_message(reason);
                ("KILLED", Some(why.clone()), Some(why))
            }
            _ => ("FAILED", None, Some(failure_message(reason))),
        };
        task.status = status;
        task.error_message = error;
        // Absent in older logs: Spark then reads all zeros, which still marks the peak as set.
        let peak = PeakMetrics(event.executor_metrics.as_ref().map(|m| m.values()).unwrap_or_default());
        let sql_updates = crate::sql_executions::task_updates(&event.info.accumulables);
        EndedTask { key: (event.stage_id, event.stage_attempt_id), task, killed_reason, peak, sql_updates }
    }
}

/// One line of a log as [`parse_line`] read it: everything [`DetailBuilder`]
/// needs, owned, so lines can be read on several threads and folded in order.
#[derive(Debug, Clone)]
// Task starts and ends are nearly every line of a large log: boxing them would
// allocate once more per line (as TaskDetailEvent and SparkEvent leave them unboxed).
#[allow(clippy::large_enum_variant)]
pub enum ParsedLine {
    TaskStart(StartedTask),
    TaskEnd(EndedTask),
    /// Any other event, as a JSON value.
    Event(Value),
    /// The warning for a line that is not a JSON event.
    NotJson(String),
}

/// Reads one line of a log (pure: no state, any thread). Task events, nearly
/// every line of a large log, are read by the event-log engine's typed parser;
/// the rest (and any line the typed reading refuses) as JSON values. `None` for
/// a blank line.
pub fn parse_line(line_number: u64, line: &str) -> Option<ParsedLine> {
    parse_line_for(line_number, line, false).0
}

/// What the listing's summary (`sparkplane_eventlog`'s `AppSummaryBuilder`)
/// takes from one line, read on a worker together with the detail's reading.
#[derive(Debug, Clone)]
// Task ends are nearly every summary line of a large log: boxing them would
// allocate once more per line, to shrink the rare ones.
#[allow(clippy::large_enum_variant)]
pub enum SummaryLine {
    /// A line without an event the summary folds (a task start).
    NoEvent,
    /// A task end: the summary's reading, taken from the detail's
    /// (`TaskEndDetail::summary_event`), so the line is parsed once.
    TaskEnd(TaskEnd<'static>),
    /// Any other line (a few per log, and any line the detail's typed reading
    /// refuses): the summary reads its text itself.
    Text(String),
}

/// As [`parse_line`], and also what the listing's summary takes from the line
/// ([`SummaryLine`]), from the same parse where it can.
pub fn parse_line_with_summary(line_number: u64, line: &str) -> (Option<ParsedLine>, SummaryLine) {
    parse_line_for(line_number, line, true)
}

fn parse_line_for(line_number: u64, line: &str, with_summary: bool) -> (Option<ParsedLine>, SummaryLine) {
    let text = || if with_summary { SummaryLine::Text(line.to_owned()) } else { SummaryLine::NoEvent };
    if line.trim().is_empty() {
        return (None, text());
    }
    match parse_task_detail(line) {
        Ok(Some(TaskDetailEvent::Start(start))) => {
            // `parse_event` gives no event for a task start it could read.
            return (Some(ParsedLine::TaskStart(StartedTask::from_detail(&start))), SummaryLine::NoEvent);
        }
        Ok(Some(TaskDetailEvent::End(end))) => {
            let summary = match with_summary.then(|| end.summary_event(line)).flatten() {
                Some(event) => SummaryLine::TaskEnd(event.into_owned()),
                None => text(),
            };
            return (Some(ParsedLine::TaskEnd(EndedTask::from_detail(&end))), summary);
        }
        Ok(None) | Err(_) => {}
    }
    let parsed = match serde_json::from_str::<Value>(line) {
        Ok(event) => ParsedLine::Event(event),
        Err(e) => ParsedLine::NotJson(format!("line {line_number}: not a JSON event ({e})")),
    };
    (Some(parsed), text())
}

/// Folds event-log lines into an [`AppDetail`].
#[derive(Debug, Default)]
pub struct DetailBuilder {
    detail: AppDetail,
    /// Stage id → jobs that contain it.
    stage_jobs: BTreeMap<i64, BTreeSet<i64>>,
    /// Stage infos announced by job starts, used for stages never submitted.
    pending: BTreeMap<i64, Value>,
}

const MAX_WARNINGS: usize = 100;

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn prop(event: &Value, key: &str) -> Option<String> {
    event.get("Properties").and_then(|p| p.get(key)).and_then(Value::as_str).map(str::to_owned)
}

impl DetailBuilder {
    pub fn new() -> DetailBuilder {
        DetailBuilder::default()
    }

    /// Reads one line; a line that is not a JSON event becomes a warning.
    pub fn push_line(&mut self, line_number: u64, line: &str) {
        if let Some(parsed) = parse_line(line_number, line) {
            self.push_parsed(parsed);
        }
    }

    /// Folds one line read by [`parse_line`] (possibly on another thread).
    pub fn push_parsed(&mut self, parsed: ParsedLine) {
        match parsed {
            ParsedLine::TaskStart(started) => self.task_start(started),
            ParsedLine::TaskEnd(ended) => self.task_end(ended),
            ParsedLine::Event(event) => self.apply(&event),
            ParsedLine::NotJson(message) => self.warn(message),
        }
    }

    /// Applies one parsed event.
    pub fn apply(&mut self, event: &Value) {
        let Some(name) = event.get("Event").and_then(Value::as_str) else { return };
        self.detail.sql.apply(name, event);
        match name {
            "SparkListenerEnvironmentUpdate" => self.detail.environment = Some(event.clone()),
            "SparkListenerJobStart" => self.job_start(event),
            "SparkListenerJobEnd" => self.job_end(event),
            "SparkListenerStageSubmitted" => self.stage_submitted(event),
            "SparkListenerStageCompleted" => self.stage_completed(event),
            "SparkListenerTaskStart" => match TaskStartDetail::deserialize(event) {
                Ok(start) => self.task_start(StartedTask::from_detail(&start)),
                Err(e) => self.warn(format!("SparkListenerTaskStart: {e}")),
            },
            "SparkListenerTaskEnd" => match TaskEndDetail::deserialize(event) {
                Ok(end) => self.task_end(EndedTask::from_detail(&end)),
                Err(e) => self.warn(format!("SparkListenerTaskEnd: {e}")),
            },
            "SparkListenerExecutorAdded" => self.executor_added(event),
            "SparkListenerExecutorRemoved" => self.executor_removed(event),
            "SparkListenerBlockManagerAdded" => self.block_manager_added(event),
            "SparkListenerBlockUpdated" => self.block_updated(event),
            "SparkListenerStageExecutorMetrics" => self.stage_executor_metrics(event),
            "SparkListenerExecutorMetricsUpdate" => self.executor_metrics_update(event),
            "SparkListenerApplicationStart" => self.application_start(event),
            "SparkListenerApplicationEnd" => self.detail.app_end = event.get("Timestamp").and_then(Value::as_i64),
            "SparkListenerResourceProfileAdded" => {
                self.detail.resource_profiles.insert(int(event, "Resource Profile Id"), event.clone());
            }
            "org.apache.spark.scheduler.SparkListenerMiscellaneousProcessAdded" => {
                let id = text(event, "processId").unwrap_or_default();
                self.detail.processes.insert(id, event.clone());
            }
            "org.apache.spark.scheduler.SparkListenerExecutorBlacklisted"
            | "org.apache.spark.scheduler.SparkListenerExecutorExcluded" => {
                self.set_excluded(&text(event, "executorId").unwrap_or_default(), true)
            }
            "org.apache.spark.scheduler.SparkListenerExecutorUnblacklisted"
            | "org.apache.spark.scheduler.SparkListenerExecutorUnexcluded" => {
                self.set_excluded(&text(event, "executorId").unwrap_or_default(), false)
            }
            "org.apache.spark.scheduler.SparkListenerNodeBlacklisted"
            | "org.apache.spark.scheduler.SparkListenerNodeExcluded" => {
                self.set_node_excluded(&text(event, "hostId").unwrap_or_default(), true)
            }
            "org.apache.spark.scheduler.SparkListenerNodeUnblacklisted"
            | "org.apache.spark.scheduler.SparkListenerNodeUnexcluded" => {
                self.set_node_excluded(&text(event, "hostId").unwrap_or_default(), false)
            }
            "org.apache.spark.scheduler.SparkListenerExecutorBlacklistedForStage"
            | "org.apache.spark.scheduler.SparkListenerExecutorExcludedForStage" => {
                let id = text(event, "executorId").unwrap_or_default();
                self.exclude_for_stage(int(event, "stageId"), int(event, "stageAttemptId"), &[id]);
            }
            "org.apache.spark.scheduler.SparkListenerNodeBlacklistedForStage"
            | "org.apache.spark.scheduler.SparkListenerNodeExcludedForStage" => {
                let host = text(event, "hostId").unwrap_or_default();
                let ids: Vec<String> = self
                    .detail
                    .executors
                    .values()
                    .filter(|e| e.is_active && e.id != "driver" && host_of(&e.host_port) == host)
                    .map(|e| e.id.clone())
                    .collect();
                self.exclude_for_stage(int(event, "stageId"), int(event, "stageAttemptId"), &ids);
            }
            "SparkListenerUnpersistRDD" => {
                for (id, released) in storage::unpersist(&mut self.detail.rdds, int(event, "RDD ID")) {
                    if let Some(e) = self.detail.executors.get_mut(&id).filter(|e| e.is_active) {
                        storage::release(&mut e.storage, &released);
                    }
                }
            }
            _ => {}
        }
    }

    fn job_start(&mut self, event: &Value) {
        let id = int(event, "Job ID");
        let infos: Vec<&Value> =
            event.get("Stage Infos").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
        let stage_ids: Vec<i64> = match event.get("Stage IDs").and_then(Value::as_array) {
            Some(ids) => ids.iter().filter_map(Value::as_i64).collect(),
            None => infos.iter().map(|i| int(i, "Stage ID")).collect(),
        };
        let last = infos.iter().max_by_key(|i| int(i, "Stage ID"));
        let name = last.and_then(|i| text(i, "Stage Name")).unwrap_or_default();
        for info in &infos {
            let stage_id = int(info, "Stage ID");
            self.stage_jobs.entry(stage_id).or_default().insert(id);
            self.pending.entry(stage_id).or_insert_with(|| (*info).clone());
        }
        let tags = prop(event, "spark.job.tags")
            .map(|t| t.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect::<BTreeSet<_>>())
            .unwrap_or_default();
        let job = Job {
            id,
            name,
            description: prop(event, "spark.job.description"),
            submission_time: event.get("Submission Time").and_then(Value::as_i64),
            stage_ids,
            job_group: prop(event, "spark.jobGroup.id"),
            tags: tags.into_iter().collect(),
            status: "RUNNING",
            num_tasks: infos.iter().map(|i| int(i, "Number of Tasks")).sum(),
            ..Job::default()
        };
        self.detail.jobs.insert(id, job);
    }

    fn job_end(&mut self, event: &Value) {
        let id = int(event, "Job ID");
        let succeeded =
            event.get("Job Result").and_then(|r| r.get("Result")).and_then(Value::as_str) == Some("JobSucceeded");
        let Some(job) = self.detail.jobs.get_mut(&id) else { return };
        job.status = if succeeded { "SUCCEEDED" } else { "FAILED" };
        job.completion_time = event.get("Completion Time").and_then(Value::as_i64);
        // Stages of the job that never ran are skipped.
        for stage_id in job.stage_ids.clone() {
            let ran = self
                .detail
                .stages
                .range((stage_id, i64::MIN)..=(stage_id, i64::MAX))
                .any(|(_, s)| s.status != "PENDING");
            if !ran {
                job.skipped_stages += 1;
                let tasks = self.pending.get(&stage_id).map(|i| int(i, "Number of Tasks")).unwrap_or(0);
                job.skipped_tasks += tasks;
                let info = self.pending.get(&stage_id).cloned();
                if let Some(info) = info {
                    let stage = self
                        .detail
                        .stages
                        .entry((stage_id, int(&info, "Stage Attempt ID")))
                        .or_insert_with(|| stage_from_info(&info));
                    stage.status = "SKIPPED";
                    stage.job_ids.insert(id);
                }
            }
        }
    }

    fn stage_mut(&mut self, info: &Value) -> &mut Stage {
        let key = (int(info, "Stage ID"), int(info, "Stage Attempt ID"));
        let jobs = self.stage_jobs.get(&key.0).cloned().unwrap_or_default();
        let stage = self.detail.stages.entry(key).or_insert_with(|| stage_from_info(info));
        stage.job_ids.extend(jobs);
        stage
    }

    fn stage_submitted(&mut self, event: &Value) {
        let Some(info) = event.get("Stage Info") else { return };
        for rdd in info.get("RDD Info").and_then(Value::as_array).into_iter().flatten() {
            let level = level_of(rdd.get("Storage Level").unwrap_or(&Value::Null));
            let Some(description) = level.description() else { continue };
            let id = int(rdd, "RDD ID");
            // Spark keeps the RDD it first saw (getOrElseUpdate): a later stage does not reset its blocks.
            self.detail.rdds.entry(id).or_insert_with(|| {
                let name = text(rdd, "Name").unwrap_or_default();
                StoredRdd::new(id, name, int(rdd, "Number of Partitions"), level, description)
            });
        }
        let pool = prop(event, "spark.scheduler.pool");
        let description = prop(event, "spark.job.description");
        let stage = self.stage_mut(info);
        let fresh = stage_from_info(info);
        stage.status = "ACTIVE";
        stage.submission_time = fresh.submission_time.or(stage.submission_time);
        stage.name = fresh.name;
        stage.details = fresh.details;
        stage.rdd_ids = fresh.rdd_ids;
        stage.num_tasks = fresh.num_tasks;
        if let Some(pool) = pool {
            stage.scheduling_pool = pool;
        }
        if description.is_some() {
            stage.description = description;
        }
        let (stage_id, jobs) = (stage.stage_id, stage.job_ids.clone());
        for job in jobs {
            if let Some(job) = self.detail.jobs.get_mut(&job) {
                job.active_stages.insert(stage_id);
            }
        }
    }

    fn stage_completed(&mut self, event: &Value) {
        let Some(info) = event.get("Stage Info") else { return };
        let stage = self.stage_mut(info);
        let fresh = stage_from_info(info);
        stage.submission_time = fresh.submission_time.or(stage.submission_time);
        stage.completion_time = fresh.completion_time;
        stage.failure_reason = fresh.failure_reason.clone();
        stage.status = if fresh.failure_reason.is_some() { "FAILED" } else { "COMPLETE" };
        stage.accumulables = fresh.accumulables;
        let (stage_id, failed, jobs) = (stage.stage_id, fresh.failure_reason.is_some(), stage.job_ids.clone());
        let excluded: Vec<String> =
            stage.executor_summary.iter().filter(|(_, s)| s.excluded).map(|(id, _)| id.clone()).collect();
        for id in excluded {
            if let Some(e) = self.detail.executors.get_mut(&id) {
                e.excluded_in_stages.remove(&stage_id);
            }
        }
        for job in jobs {
            if let Some(job) = self.detail.jobs.get_mut(&job) {
                job.active_stages.remove(&stage_id);
                if failed {
                    job.failed_stages += 1;
                } else {
                    job.completed_stages.insert(stage_id);
                }
            }
        }
    }

    fn warn(&mut self, message: String) {
        if self.detail.warnings.len() < MAX_WARNINGS {
            self.detail.warnings.push(message);
        }
    }

    fn task_start(&mut self, started: StartedTask) {
        let StartedTask { key, task } = started;
        if let Some(e) = self.detail.executors.get_mut(task.executor_id.as_str()) {
            e.active_tasks += 1;
            e.total_tasks += 1;
        }
        if let Some(stage) = self.detail.stages.get_mut(&key) {
            stage.active_tasks += 1;
            stage.first_task_launched_time =
                Some(stage.first_task_launched_time.map_or(task.launch_time, |t| t.min(task.launch_time)));
            for job in &stage.job_ids {
                if let Some(job) = self.detail.jobs.get_mut(job) {
                    job.active_tasks += 1;
                }
            }
            if task.speculative {
                let counts = stage.speculation.get_or_insert([0; 5]);
                counts[0] += 1;
                counts[1] += 1;
            }
            stage.tasks.start(task);
        }
    }

    fn task_end(&mut self, ended: EndedTask) {
        let EndedTask { key, task, killed_reason, peak, sql_updates } = ended;
        let status = task.status;
        self.detail.sql.task_end(key, task.index, task.task_id, status == "SUCCESS", &sql_updates);
        let metrics = task.metrics.unwrap_or_default();
        let duration = task.duration().unwrap_or(0);
        let executor_id = task.executor_id.as_str();
        if let Some(stage) = self.detail.stages.get_mut(&key) {
            stage.peak.get_or_insert_with(PeakMetrics::default).update(&peak);
            let summary = match stage.executor_summary.get_mut(executor_id) {
                Some(summary) => summary,
                None => stage.executor_summary.entry(executor_id.to_owned()).or_default(),
            };
            summary.peak.get_or_insert_with(PeakMetrics::default).update(&peak);
            summary.task_time += duration;
            match status {
                "SUCCESS" => summary.succeeded_tasks += 1,
                "KILLED" => summary.killed_tasks += 1,
                _ => summary.failed_tasks += 1,
            }
            summary.metrics.add(&metrics);
            if task.speculative
                && let Some(counts) = stage.speculation.as_mut()
            {
                counts[1] -= 1;
                match status {
                    "SUCCESS" => counts[2] += 1,
                    "KILLED" => counts[4] += 1,
                    _ => counts[3] += 1,
                }
            }
            let was_running = stage.tasks.is_running(task.task_id);
            if was_running {
                stage.active_tasks -= 1;
            }
            match status {
                "SUCCESS" => {
                    stage.complete_tasks += 1;
                    stage.completed_indices.insert(task.index);
                }
                "KILLED" => {
                    stage.killed_tasks += 1;
                    *stage.killed_summary.entry(killed_reason.clone().unwrap_or_default()).or_default() += 1;
                }
                _ => stage.failed_tasks += 1,
            }
            stage.metrics.add(&metrics);
            for job_id in &stage.job_ids {
                if let Some(job) = self.detail.jobs.get_mut(job_id) {
                    if was_running {
                        job.active_tasks -= 1;
                    }
                    match status {
                        "SUCCESS" => {
                            job.completed_tasks += 1;
                            job.completed_indices.insert((key.0, task.index));
                        }
                        "KILLED" => {
                            job.killed_tasks += 1;
                            *job.killed_summary.entry(killed_reason.clone().unwrap_or_default()).or_default() += 1;
                        }
                        _ => job.failed_tasks += 1,
                    }
                }
            }
            stage.tasks.end(&task);
        }
        if let Some(e) = self.detail.executors.get_mut(executor_id) {
            if e.active_tasks > 0 {
                e.active_tasks -= 1;
            }
            match status {
                "SUCCESS" => e.completed_tasks += 1,
                "FAILED" => e.failed_tasks += 1,
                _ => {}
            }
            e.total_duration += duration;
            e.peak.get_or_insert_with(PeakMetrics::default).update(&peak);
            e.total_gc_time += metrics.jvm_gc_time;
            e.total_input_bytes += metrics.input_bytes;
            e.total_shuffle_read += metrics.shuffle_read_bytes();
            e.total_shuffle_write += metrics.shuffle_bytes_written;
        }
    }

    fn executor_added(&mut self, event: &Value) {
        let id = text(event, "Executor ID").unwrap_or_default();
        let info = event.get("Executor Info").cloned().unwrap_or(Value::Null);
        let e = self.detail.executors.entry(id.clone()).or_insert_with(|| Executor { id, ..Executor::default() });
        e.is_active = true;
        // Spark keeps the time the executor was first seen (a block manager may come first).
        e.add_time = e.add_time.or_else(|| event.get("Timestamp").and_then(Value::as_i64));
        e.total_cores = int(&info, "Total Cores");
        if let Some(host) = text(&info, "Host")
            && e.host_port.is_empty()
        {
            e.host_port = host;
        }
        e.logs = string_map(info.get("Log Urls"));
        e.attributes = string_map(info.get("Attributes"));
        e.resources = info
            .get("Resources")
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        e.resource_profile_id = int(&info, "Resource Profile Id");
        let cpus_per_task = self
            .detail
            .resource_profiles
            .get(&e.resource_profile_id)
            .and_then(|p| p.get("Task Resource Requests"))
            .and_then(|t| t.get("cpus"))
            .and_then(|c| c.get("Amount"))
            .and_then(Value::as_f64)
            .map(|a| a as i64)
            .filter(|a| *a > 0);
        e.max_tasks = cpus_per_task.map(|c| e.total_cores / c);
    }

    fn executor_removed(&mut self, event: &Value) {
        let id = text(event, "Executor ID").unwrap_or_default();
        if let Some(e) = self.detail.executors.get_mut(&id) {
            e.is_active = false;
            e.remove_time = event.get("Timestamp").and_then(Value::as_i64);
            e.remove_reason = text(event, "Removed Reason");
        }
    }

    /// The start time, and the driver's log links where the cluster manager
    /// logged them (`Driver Logs`: YARN, or Kubernetes with
    /// `SPARK_DRIVER_LOG_URL_*`): Spark's status listener gives them to the
    /// driver known by then, with its `Driver Attributes`.
    fn application_start(&mut self, event: &Value) {
        self.detail.app_start = event.get("Timestamp").and_then(Value::as_i64);
        if let (Some(logs), Some(driver)) = (event.get("Driver Logs"), self.detail.executors.get_mut("driver")) {
            driver.logs = string_map(Some(logs));
            driver.attributes = string_map(event.get("Driver Attributes"));
        }
    }

    fn block_manager_added(&mut self, event: &Value) {
        let Some(bm) = event.get("Block Manager ID") else { return };
        let id = text(bm, "Executor ID").unwrap_or_default();
        let host_port = format!("{}:{}", text(bm, "Host").unwrap_or_default(), int(bm, "Port"));
        let e = self.detail.executors.entry(id.clone()).or_insert_with(|| Executor {
            id,
            is_active: true,
            add_time: event.get("Timestamp").and_then(Value::as_i64),
            ..Executor::default()
        });
        e.host_port = host_port;
        e.is_active = true;
        e.max_memory = int(event, "Maximum Memory");
        if let Some(on_heap) = event.get("Maximum Onheap Memory").and_then(Value::as_i64) {
            e.storage_memory = Some((on_heap, int(event, "Maximum Offheap Memory")));
        }
        e.storage.max_memory = e.max_memory;
        e.storage.totals = e.storage_memory;
    }

    /// `SparkListenerBlockUpdated`: a block stored, changed or dropped on an executor.
    fn block_updated(&mut self, event: &Value) {
        self.detail.block_updates += 1;
        let Some(info) = event.get("Block Updated Info") else { return };
        let update = BlockUpdate {
            executor_id: info.get("Block Manager ID").and_then(|b| text(b, "Executor ID")).unwrap_or_default(),
            block_id: text(info, "Block ID").unwrap_or_default(),
            level: level_of(info.get("Storage Level").unwrap_or(&Value::Null)),
            memory_size: int(info, "Memory Size"),
            disk_size: int(info, "Disk Size"),
        };
        let exec = self.detail.executors.get_mut(&update.executor_id).filter(|e| e.is_active).map(|e| &mut e.storage);
        storage::block_update(&mut self.detail.rdds, exec, &update);
    }

    /// `SparkListenerStageExecutorMetrics`: an executor's peaks during one stage attempt.
    fn stage_executor_metrics(&mut self, event: &Value) {
        let executor = text(event, "Executor ID").unwrap_or_default();
        let Some(metrics) = event.get("Executor Metrics") else { return };
        let peak = PeakMetrics::from_json(metrics);
        self.stage_peak(int(event, "Stage ID"), int(event, "Stage Attempt ID"), &executor, &peak);
    }

    /// `SparkListenerExecutorMetricsUpdate`: peaks per stage attempt, when the log has them.
    fn executor_metrics_update(&mut self, event: &Value) {
        let executor = text(event, "Executor ID").unwrap_or_default();
        for entry in event.get("Executor Metrics Updated").and_then(Value::as_array).into_iter().flatten() {
            let Some(metrics) = entry.get("Executor Metrics") else { continue };
            let peak = PeakMetrics::from_json(metrics);
            self.stage_peak(int(entry, "Stage ID"), int(entry, "Stage Attempt ID"), &executor, &peak);
        }
    }

    fn stage_peak(&mut self, stage_id: i64, attempt: i64, executor: &str, peak: &PeakMetrics) {
        if let Some(e) = self.detail.executors.get_mut(executor) {
            e.peak.get_or_insert_with(PeakMetrics::default).update(peak);
        }
        if let Some(stage) = self.detail.stages.get_mut(&(stage_id, attempt)) {
            stage.peak.get_or_insert_with(PeakMetrics::default).update(peak);
            stage
                .executor_summary
                .entry(executor.to_owned())
                .or_default()
                .peak
                .get_or_insert_with(PeakMetrics::default)
                .update(peak);
        }
    }

    fn set_excluded(&mut self, executor: &str, excluded: bool) {
        if let Some(e) = self.detail.executors.get_mut(executor) {
            e.excluded = excluded;
        }
    }

    /// A node's exclusion applies to every executor on it but the driver.
    fn set_node_excluded(&mut self, host: &str, excluded: bool) {
        for e in self.detail.executors.values_mut() {
            if e.id != "driver" && host_of(&e.host_port) == host {
                e.excluded = excluded;
            }
        }
    }

    fn exclude_for_stage(&mut self, stage_id: i64, attempt: i64, executors: &[String]) {
        if let Some(stage) = self.detail.stages.get_mut(&(stage_id, attempt)) {
            for id in executors {
                stage.executor_summary.entry(id.clone()).or_default().excluded = true;
            }
        }
        for id in executors {
            if let Some(e) = self.detail.executors.get_mut(id) {
                e.excluded_in_stages.insert(stage_id);
            }
        }
    }

    /// The detail so far (an in-progress log gives what was written).
    pub fn finish(self) -> AppDetail {
        self.detail
    }
}

/// The host of `host:port` (the whole text when there is no port).
fn host_of(host_port: &str) -> &str {
    host_port.rsplit_once(':').map_or(host_port, |(host, _)| host)
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

fn failure_message(r: &TaskEndReasonDetail<'_>) -> String {
    let text = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().unwrap_or_default().to_owned();
    match r.reason.as_ref() {
        "ExceptionFailure" => {
            let stack = text(&r.full_stack_trace);
            if stack.is_empty() { format!("{}: {}", text(&r.class_name), text(&r.description)) } else { stack }
        }
        "FetchFailed" => format!(
            "FetchFailed(BlockManagerId({}), shuffleId={}, mapIndex={}, mapId={}, reduceId={}, message=\n{}\n)",
            r.block_manager.as_ref().map(|b| text(&b.executor_id)).unwrap_or_default(),
            r.shuffle_id,
            r.map_index,
            r.map_id,
            r.reduce_id,
            text(&r.message)
        ),
        "ExecutorLostFailure" => {
            format!("ExecutorLostFailure (executor {} exited) Reason: {}", text(&r.executor_id), text(&r.loss_reason))
        }
        "TaskResultLost" => "TaskResultLost (result lost from block manager)".to_owned(),
        "TaskCommitDenied" => "TaskCommitDenied".to_owned(),
        other => other.to_owned(),
    }
}

/// A task's accumulator updates as Spark's API shows them: without the SQL
/// ones (the typed reading has already left out the internal ones).
fn task_accumulables(list: &[AccumulableDetail<'_>]) -> Vec<Accumulable> {
    list.iter()
        .filter(|a| a.metadata.as_deref() != Some("sql"))
        .map(|a| Accumulable {
            id: a.id,
            name: a.name.as_deref().map(str::to_owned),
            update: a.update.to_text(),
            value: a.value.to_text(),
        })
        .collect()
}

fn task_from_info(info: &TaskInfoDetail<'_>) -> Task {
    Task {
        task_id: info.task_id,
        index: info.index,
        attempt: info.attempt,
        partition_id: info.partition_id.unwrap_or(-1),
        launch_time: info.launch_time,
        finish_time: info.finish_time,
        getting_result_time: info.getting_result_time,
        executor_id: CompactString::from(info.executor_id.as_ref()),
        host: CompactString::from(info.host.as_ref()),
        status: "RUNNING",
        locality: CompactString::from(info.locality.as_ref()),
        speculative: info.speculative,
        error_message: None,
        metrics: None,
        accumulables: task_accumulables(&info.accumulables),
    }
}

fn stage_from_info(info: &Value) -> Stage {
    Stage {
        stage_id: int(info, "Stage ID"),
        attempt_id: int(info, "Stage Attempt ID"),
        status: "PENDING",
        name: text(info, "Stage Name").unwrap_or_default(),
        description: None,
        details: text(info, "Details").unwrap_or_default(),
        num_tasks: int(info, "Number of Tasks"),
        submission_time: info.get("Submission Time").and_then(Value::as_i64),
        completion_time: info.get("Completion Time").and_then(Value::as_i64),
        failure_reason: text(info, "Failure Reason"),
        scheduling_pool: "default".to_owned(),
        rdd_ids: info
            .get("RDD Info")
            .and_then(Value::as_array)
            .map(|rdds| rdds.iter().map(|r| int(r, "RDD ID")).collect())
            .unwrap_or_default(),
        resource_profile_id: int(info, "Resource Profile Id"),
        accumulables: accumulables(info.get("Accumulables")),
        ..Stage::default()
    }
}

#[cfg(test)]
mod storage_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rdds_are_kept_from_stage_submission_until_unpersisted() {
        let mut builder = DetailBuilder::new();
        let stage = json!({"Event": "SparkListenerStageSubmitted", "Stage Info": {"Stage ID": 0, "Stage Attempt ID": 0,
        "RDD Info": [
            {"RDD ID": 1, "Name": "cached", "Number of Partitions": 4,
             "Storage Level": {"Use Disk": false, "Use Memory": true, "Deserialized": true, "Replication": 1}},
            {"RDD ID": 2, "Name": "plain", "Number of Partitions": 4,
             "Storage Level": {"Use Disk": false, "Use Memory": false, "Deserialized": false, "Replication": 1}}
        ]}});
        builder.apply(&stage);
        builder.apply(&json!({"Event": "SparkListenerBlockUpdated"}));
        let detail = builder.finish();
        let ids: Vec<i64> = detail.rdds.keys().copied().collect();
        assert_eq!(ids, [1]);
        assert_eq!(detail.block_updates, 1);

        let mut builder = DetailBuilder::new();
        builder.apply(&stage);
        builder.apply(&json!({"Event": "SparkListenerUnpersistRDD", "RDD ID": 1}));
        assert!(builder.finish().rdds.is_empty());
    }
}
