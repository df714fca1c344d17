//! The fold: the rules that turn [`SparkEvent`]s, one at a time, into an
//! [`AppSummary`].
//!
//! Owns: [`AppSummaryBuilder`] and its working state (per stage attempt,
//! `StageFold`), and the figures derived when the fold ends (wall time,
//! executor concurrency, critical path through [`crate::timing`]).
//!
//! Must not: read files or parse JSON text (events arrive typed, or one line
//! at a time through [`parse_event`]), look at the clock, or keep anything per
//! task or per line — memory grows with jobs, stages, executors and the
//! distinct datasets SQL plans name (see [`crate::lineage`]), never with the size of the log.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::cause;
use crate::lineage::{self, Lineage};
use crate::model::{
    AppSummary, ConnectActivity, ExecutorSpan, Executors, Failure, JobCounts, LogStats, MAX_WARNINGS, Outcome,
    SparkConfig, StageCounts, TaskCounts, TaskTotals, WallTime, Warning,
};
use crate::parse::{ConnectEventKind, ExecutorMetrics, SparkEvent, TaskOutcome, parse_event};
use crate::peak_memory::PeakMemory;
use crate::root_cause::{clip, first_line, root_cause};
use crate::sketch::TaskTimeSketch;
use crate::stage::{StageAttemptState, StageStats};

/// A stage's state, by its latest attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StageState {
    /// Named by a job but not submitted (yet).
    Pending,
    /// Submitted, not completed.
    Active,
    Completed,
    Failed,
    /// Its job ended without running it.
    Skipped,
}

/// The most recent failed stage attempt, kept to explain the next failed job.
#[derive(Debug, Clone)]
struct FailedStage {
    stage_id: u32,
    attempt_id: u32,
    reason: String,
}

/// An executor while the log is folded.
#[derive(Debug, Clone)]
struct LiveExecutor {
    host: Option<String>,
    cores: Option<u32>,
    added_ms: u64,
    removed_ms: Option<u64>,
    removed_reason: Option<String>,
}

/// One stage attempt while the log is folded: sums, times and a bounded sketch.
#[derive(Debug, Clone)]
pub(crate) struct StageFold {
    name: Option<String>,
    state: StageAttemptState,
    num_tasks: Option<u32>,
    tasks: u64,
    failed_tasks: u64,
    killed_tasks: u64,
    speculative_tasks: u64,
    task_times: TaskTimeSketch,
    task_time_ms: u64,
    gc_time_ms: u64,
    input_bytes: u64,
    output_bytes: u64,
    output_tasks: u64,
    shuffle_read_bytes: u64,
    shuffle_write_bytes: u64,
    memory_spill_bytes: u64,
    disk_spill_bytes: u64,
    submitted_ms: Option<u64>,
    completed_ms: Option<u64>,
    first_launch_ms: Option<u64>,
    last_finish_ms: Option<u64>,
}

impl Default for StageFold {
    fn default() -> StageFold {
        StageFold {
            name: None,
            state: StageAttemptState::Active,
            num_tasks: None,
            tasks: 0,
            failed_tasks: 0,
            killed_tasks: 0,
            speculative_tasks: 0,
            task_times: TaskTimeSketch::default(),
            task_time_ms: 0,
            gc_time_ms: 0,
            input_bytes: 0,
            output_bytes: 0,
            output_tasks: 0,
            shuffle_read_bytes: 0,
            shuffle_write_bytes: 0,
            memory_spill_bytes: 0,
            disk_spill_bytes: 0,
            submitted_ms: None,
            completed_ms: None,
            first_launch_ms: None,
            last_finish_ms: None,
        }
    }
}

impl StageFold {
    /// Keeps the first name the log gives the stage, cut to a readable length.
    fn set_name(&mut self, name: Option<&str>) {
        if self.name.is_none() {
            self.name = name.map(clip);
        }
    }

    fn add_task(&mut self, e: &crate::parse::TaskEnd<'_>) {
        self.tasks += 1;
        match e.reason.outcome() {
            TaskOutcome::Succeeded => {}
            TaskOutcome::Failed => self.failed_tasks += 1,
            TaskOutcome::Killed => self.killed_tasks += 1,
        }
        if e.info.speculative {
            self.speculative_tasks += 1;
        }
        let launch = e.info.launch_time.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
        let finish = e.info.finish_time.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
        if let Some(launch) = launch {
            self.first_launch_ms = Some(self.first_launch_ms.map_or(launch, |first| first.min(launch)));
        }
        if let Some(finish) = finish {
            self.last_finish_ms = Some(self.last_finish_ms.map_or(finish, |last| last.max(finish)));
        }
        let run_time = match &e.metrics {
            Some(m) => u64::try_from(m.executor_run_time_ms).ok(),
            None => launch.zip(finish).map(|(launch, finish)| finish.saturating_sub(launch)),
        };
        if let Some(run_time) = run_time {
            self.task_times.add(run_time);
        }
        if let Some(m) = &e.metrics {
            add(&mut self.task_time_ms, m.executor_run_time_ms);
            add(&mut self.gc_time_ms, m.jvm_gc_time_ms);
            add(&mut self.input_bytes, m.input.bytes_read);
            add(&mut self.output_bytes, m.output.bytes_written);
            if m.output.bytes_written > 0 {
                self.output_tasks += 1;
            }
            add(&mut self.shuffle_read_bytes, m.shuffle_read.remote_bytes_read);
            add(&mut self.shuffle_read_bytes, m.shuffle_read.local_bytes_read);
            add(&mut self.shuffle_write_bytes, m.shuffle_write.bytes_written);
            add(&mut self.memory_spill_bytes, m.memory_bytes_spilled);
            add(&mut self.disk_spill_bytes, m.disk_bytes_spilled);
        }
    }

    pub(crate) fn finish(self, (stage_id, attempt_id): (u32, u32)) -> StageStats {
        StageStats {
            stage_id,
            attempt_id,
            name: self.name,
            state: self.state,
            num_tasks: self.num_tasks,
            tasks: self.tasks,
            failed_tasks: self.failed_tasks,
            killed_tasks: self.killed_tasks,
            speculative_tasks: self.speculative_tasks,
            task_time: self.task_times.distribution(),
            task_time_ms: self.task_time_ms,
            gc_time_ms: self.gc_time_ms,
            input_bytes: self.input_bytes,
            output_bytes: self.output_bytes,
            output_tasks: self.output_tasks,
            shuffle_read_bytes: self.shuffle_read_bytes,
            shuffle_write_bytes: self.shuffle_write_bytes,
            memory_spill_bytes: self.memory_spill_bytes,
            disk_spill_bytes: self.disk_spill_bytes,
            submitted_ms: self.submitted_ms,
            completed_ms: self.completed_ms,
            first_launch_ms: self.first_launch_ms,
            last_finish_ms: self.last_finish_ms,
        }
    }
}

/// Folds events, one at a time, into an [`AppSummary`].
///
/// Feed it lines ([`AppSummaryBuilder::push_line`]) or already parsed events
/// ([`AppSummaryBuilder::apply`]), then call [`AppSummaryBuilder::finish`].
#[derive(Debug, Default)]
pub struct AppSummaryBuilder {
    app_id: Option<String>,
    attempt_id: Option<String>,
    name: Option<String>,
    user: Option<String>,
    spark_version: Option<String>,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    exit_code: Option<i32>,
    last_event_ms: Option<u64>,
    jobs: JobCounts,
    /// Stage ids of jobs that have started and not ended.
    active_jobs: HashMap<u32, Vec<u32>>,
    /// Every job's stage ids, in the order the jobs started.
    job_stages: Vec<(u32, Vec<u32>)>,
    /// Each submitted stage's parents.
    stage_parents: HashMap<u32, Vec<u32>>,
    stages: HashMap<u32, StageState>,
    stage_stats: BTreeMap<(u32, u32), StageFold>,
    last_failed_stage: Option<FailedStage>,
    failure: Option<Failure>,
    tasks: TaskCounts,
    totals: TaskTotals,
    cpu_time_ns: u64,
    executors: HashMap<String, LiveExecutor>,
    /// Peak memory of executors other than the driver.
    executor_peaks: PeakMemory,
    /// Peak memory of the driver: the executor in local mode.
    driver_peaks: PeakMemory,
    driver_block_manager: Option<(u64, Option<String>)>,
    config: SparkConfig,
    log: LogStats,
    warnings: Vec<Warning>,
    warnings_omitted: u64,
    lineage: Lineage,
    connect: Option<ConnectActivity>,
    /// What a listing leaves unread ([`AppSummaryBuilder::for_listing`]).
    listing: Listing,
    /// A line left unread by [`Listing::Record`] could have moved the end of the log.
    skipped_times: bool,
}

/// How much of a log a listing reads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// Everything (not a listing).
    #[default]
    No,
    /// Everything but a task end's body: of a task end only its finish time.
    Times,
    /// Only the events a listing record needs: the lines of job starts, stage
    /// submissions and completions, task ends, executor metrics and SQL
    /// executions are recognised by their event name and counted, not parsed.
    Record,
}

/// Events a listing record does not need ([`Listing::Record`]), and whether
/// each carries a time that moves the end of a log without an application end.
const UNREAD_BY_A_LISTING: &[(&str, bool)] = &[
    ("SparkListenerTaskEnd", true),
    ("SparkListenerJobStart", true),
    ("SparkListenerStageSubmitted", true),
    ("SparkListenerStageCompleted", true),
    ("SparkListenerStageExecutorMetrics", false),
    ("org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", false),
];

impl AppSummaryBuilder {
    /// An empty builder.
    pub fn new() -> AppSummaryBuilder {
        AppSummaryBuilder::default()
    }

    /// An empty builder for a listing record (the History Server's list):
    /// the application's ids, times, outcome, configuration and executors are
    /// folded as [`AppSummaryBuilder::new`] folds them — so its cost and
    /// attribution are the full summary's — but the lines of the events a
    /// record does not need (job starts, stage submissions and completions,
    /// task ends, executor metrics, SQL executions) are recognised by their
    /// event name and counted, not parsed. Its job totals, stage and task
    /// figures are not the full summary's: a listing that skips the bulk of a
    /// log. A line cut off or not an object is still read, for its warning.
    /// Those events' times move the end of a log only when it has no
    /// application end: then [`AppSummaryBuilder::needs_times`] says so, and
    /// the log is to be read again with [`AppSummaryBuilder::for_listing_times`].
    pub fn for_listing() -> AppSummaryBuilder {
        AppSummaryBuilder { listing: Listing::Record, ..AppSummaryBuilder::default() }
    }

    /// As [`AppSummaryBuilder::for_listing`], reading every event but a task
    /// end's body: of a task end only its finish time. Its times, and so the
    /// end of a log without an application end, are the full summary's.
    pub fn for_listing_times() -> AppSummaryBuilder {
        AppSummaryBuilder { listing: Listing::Times, ..AppSummaryBuilder::default() }
    }

    /// True when a listing left lines unread whose times would move the end
    /// of this log, which has no application end: read it again with
    /// [`AppSummaryBuilder::for_listing_times`].
    pub fn needs_times(&self) -> bool {
        self.listing == Listing::Record && self.skipped_times && self.end_ms.is_none()
    }

    /// Parses one line and folds its event in; a line that does not parse becomes a warning.
    pub fn push_line(&mut self, file: &Path, line: u64, text: &str) {
        self.push_line_and(file, line, text, |_| {});
    }

    /// As [`AppSummaryBuilder::push_line`], and hands each parsed event to `observe`
    /// too, so a finer fold alongside this one (the trace's) parses each line once.
    pub fn push_line_and(&mut self, file: &Path, line: u64, text: &str, mut observe: impl FnMut(&SparkEvent<'_>)) {
        self.log.lines += 1;
        match self.listing {
            Listing::No => {}
            Listing::Times => {
                if let Some(finish) = task_end_finish_time(text) {
                    self.log.events += 1;
                    self.saw_time(finish);
                    return;
                }
            }
            Listing::Record => {
                if let Some(timed) = unread_by_a_listing(text) {
                    self.log.events += 1;
                    self.skipped_times |= timed;
                    return;
                }
            }
        }
        match parse_event(text) {
            Ok(Some(event)) => {
                self.log.events += 1;
                self.apply_at(&event, Some((file, line)));
                observe(&event);
            }
            Ok(None) => {}
            Err(error) => self.warn(Warning::at(file, line, format!("{error}; line skipped"))),
        }
    }

    /// Folds in one line read elsewhere, as [`AppSummaryBuilder::push_line`]
    /// would have: `event` is what [`parse_event`] gives for that line (`None`:
    /// an event the summary does not use). A line that does not parse goes
    /// through `push_line` instead, for its warning.
    pub fn push_parsed(&mut self, file: &Path, line: u64, event: Option<&SparkEvent<'_>>) {
        self.log.lines += 1;
        if let Some(event) = event {
            self.log.events += 1;
            self.apply_at(event, Some((file, line)));
        }
    }

    /// Folds in one event parsed elsewhere.
    pub fn apply(&mut self, event: &SparkEvent<'_>) {
        self.apply_at(event, None);
    }

    /// Records a warning, keeping at most [`MAX_WARNINGS`].
    pub fn warn(&mut self, warning: Warning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else {
            self.warnings_omitted += 1;
        }
    }

    /// Marks the log as one Spark is still writing.
    pub fn set_in_progress(&mut self, in_progress: bool) {
        self.log.in_progress = in_progress;
    }

    fn saw_time(&mut self, time: Option<i64>) -> Option<u64> {
        let time = time.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0)?;
        self.last_event_ms = Some(self.last_event_ms.map_or(time, |last| last.max(time)));
        Some(time)
    }

    fn apply_at(&mut self, event: &SparkEvent<'_>, at: Option<(&Path, u64)>) {
        match event {
            SparkEvent::LogStart(e) => self.spark_version = Some(e.spark_version.to_string()),
            SparkEvent::ApplicationStart(e) => {
                self.name = Some(e.app_name.to_string());
                self.app_id = e.app_id.as_ref().map(|s| s.to_string());
                self.attempt_id = e.attempt_id.as_ref().map(|s| s.to_string());
                self.user = e.user.as_ref().map(|s| s.to_string());
                self.start_ms = self.saw_time(Some(e.timestamp));
            }
            SparkEvent::ApplicationEnd(e) => {
                self.end_ms = self.saw_time(Some(e.timestamp));
                self.exit_code = e.exit_code;
            }
            SparkEvent::EnvironmentUpdate(e) => {
                for (key, value) in &e.spark_properties {
                    self.apply_property(key, value, at);
                    self.config.properties.insert(key.to_string(), value.to_string());
                }
            }
            SparkEvent::JobStart(e) => {
                self.saw_time(e.submission_time);
                self.jobs.total += 1;
                for stage in &e.stage_ids {
                    self.stages.entry(*stage).or_insert(StageState::Pending);
                }
                self.active_jobs.insert(e.job_id, e.stage_ids.clone());
                self.job_stages.push((e.job_id, e.stage_ids.clone()));
            }
            SparkEvent::JobEnd(e) => self.apply_job_end(e),
            SparkEvent::StageSubmitted(e) => self.apply_stage_submitted(e),
            SparkEvent::StageCompleted(e) => self.apply_stage_completed(e),
            SparkEvent::TaskEnd(e) => self.apply_task_end(e),
            SparkEvent::ExecutorAdded(e) => {
                let added_ms = self.saw_time(Some(e.timestamp)).unwrap_or(0);
                let executor = LiveExecutor {
                    host: e.info.host.as_ref().map(|h| h.to_string()),
                    cores: e.info.total_cores,
                    added_ms,
                    removed_ms: None,
                    removed_reason: None,
                };
                self.executors.insert(e.executor_id.to_string(), executor);
            }
            SparkEvent::ExecutorRemoved(e) => self.apply_executor_removed(e, at),
            SparkEvent::StageExecutorMetrics(e) => self.observe_memory(&e.executor_id, &e.metrics),
            SparkEvent::SqlExecutionStart(e) => {
                self.lineage.add(lineage::plan_datasets(&e.physical_plan_description));
            }
            SparkEvent::Connect(e) => self.apply_connect(e),
            SparkEvent::BlockManagerAdded(e) => {
                let time = self.saw_time(e.timestamp);
                if e.block_manager.executor_id == "driver" && self.driver_block_manager.is_none() {
                    let host = e.block_manager.host.as_ref().map(|h| h.to_string());
                    self.driver_block_manager = Some((time.unwrap_or(0), host));
                }
            }
        }
    }

    /// A stage attempt submitted: active, with its parents, tasks, time and name.
    fn apply_stage_submitted(&mut self, e: &crate::parse::StageEvent<'_>) {
        let submitted = self.saw_time(e.stage.submission_time);
        self.stages.insert(e.stage.stage_id, StageState::Active);
        if !e.stage.parent_ids.is_empty() {
            self.stage_parents.insert(e.stage.stage_id, e.stage.parent_ids.clone());
        }
        let fold = self.stage_fold(e.stage.stage_id, e.stage.attempt_id);
        fold.num_tasks = e.stage.num_tasks.or(fold.num_tasks);
        fold.submitted_ms = submitted.or(fold.submitted_ms);
        fold.set_name(e.stage.name.as_deref());
    }

    /// A stage attempt completed or failed (the last failed stage remembered for the failure's cause).
    fn apply_stage_completed(&mut self, e: &crate::parse::StageEvent<'_>) {
        let completed = self.saw_time(e.stage.completion_time);
        let fold = self.stage_fold(e.stage.stage_id, e.stage.attempt_id);
        fold.num_tasks = e.stage.num_tasks.or(fold.num_tasks);
        fold.completed_ms = completed;
        fold.set_name(e.stage.name.as_deref());
        fold.state =
            if e.stage.failure_reason.is_some() { StageAttemptState::Failed } else { StageAttemptState::Completed };
        let state = match &e.stage.failure_reason {
            Some(reason) => {
                self.last_failed_stage = Some(FailedStage {
                    stage_id: e.stage.stage_id,
                    attempt_id: e.stage.attempt_id,
                    reason: first_line(reason),
                });
                StageState::Failed
            }
            None => StageState::Completed,
        };
        self.stages.insert(e.stage.stage_id, state);
    }

    /// A task attempt ended: its stage's figures, the outcome by cause, memory peaks and the totals.
    fn apply_task_end(&mut self, e: &crate::parse::TaskEnd<'_>) {
        self.saw_time(e.info.finish_time);
        self.stage_fold(e.stage_id, e.stage_attempt_id).add_task(e);
        self.tasks.total += 1;
        match e.reason.outcome() {
            TaskOutcome::Succeeded => self.tasks.succeeded += 1,
            TaskOutcome::Failed => {
                self.tasks.failed += 1;
                let r = &e.reason;
                let cause = cause::of_task(&r.reason, r.class_name.as_deref(), r.description.as_deref());
                *self.tasks.failed_by_cause.entry(cause).or_default() += 1;
            }
            TaskOutcome::Killed => self.tasks.killed += 1,
        }
        let executor = e.info.executor_id.as_deref().unwrap_or("");
        if let Some(metrics) = &e.executor_metrics {
            self.observe_memory(executor, metrics);
        }
        if let Some(m) = &e.metrics {
            self.peaks_of(executor).observe_task_peak(m.peak_execution_memory);
            let t = &mut self.totals;
            add(&mut t.task_time_ms, m.executor_run_time_ms);
            add(&mut self.cpu_time_ns, m.executor_cpu_time_ns);
            add(&mut t.gc_time_ms, m.jvm_gc_time_ms);
            add(&mut t.input_bytes, m.input.bytes_read);
            add(&mut t.output_bytes, m.output.bytes_written);
            add(&mut t.shuffle_read_bytes, m.shuffle_read.remote_bytes_read);
            add(&mut t.shuffle_read_bytes, m.shuffle_read.local_bytes_read);
            add(&mut t.shuffle_write_bytes, m.shuffle_write.bytes_written);
            add(&mut t.memory_spill_bytes, m.memory_bytes_spilled);
            add(&mut t.disk_spill_bytes, m.disk_bytes_spilled);
        }
    }

    /// An executor removed, with its reason; one never added is a warning.
    fn apply_executor_removed(&mut self, e: &crate::parse::ExecutorRemoved<'_>, at: Option<(&Path, u64)>) {
        let removed_ms = self.saw_time(Some(e.timestamp));
        match self.executors.get_mut(e.executor_id.as_ref()) {
            Some(executor) => {
                executor.removed_ms = removed_ms;
                executor.removed_reason = e.reason.as_ref().map(|r| r.to_string());
            }
            None => {
                let message = format!("executor {} was removed but never added; ignored", e.executor_id);
                self.warn(warning(at, message));
            }
        }
    }

    /// A Spark Connect session or operation event, counted by kind.
    fn apply_connect(&mut self, e: &crate::parse::ConnectEvent) {
        let time = self.saw_time(e.time_ms);
        let activity = self.connect.get_or_insert_with(ConnectActivity::default);
        let count = match e.kind {
            ConnectEventKind::SessionStarted => &mut activity.sessions_started,
            ConnectEventKind::SessionClosed => &mut activity.sessions_closed,
            ConnectEventKind::OperationStarted => &mut activity.operations_started,
            ConnectEventKind::OperationFinished => &mut activity.operations_finished,
            ConnectEventKind::OperationFailed => &mut activity.operations_failed,
            ConnectEventKind::OperationCanceled => &mut activity.operations_canceled,
            ConnectEventKind::OperationClosed => &mut activity.operations_closed,
        };
        *count += 1;
        activity.last_activity_ms = activity.last_activity_ms.max(time);
    }

    /// The peaks `executor`'s memory samples go to.
    fn peaks_of(&mut self, executor: &str) -> &mut PeakMemory {
        if executor == "driver" { &mut self.driver_peaks } else { &mut self.executor_peaks }
    }

    fn observe_memory(&mut self, executor: &str, metrics: &ExecutorMetrics) {
        self.peaks_of(executor).observe(metrics);
    }

    /// The fold of one stage attempt, created on first sight (a task may outlive a lost
    /// `StageSubmitted`).
    fn stage_fold(&mut self, stage_id: u32, attempt_id: u32) -> &mut StageFold {
        self.stage_stats.entry((stage_id, attempt_id)).or_default()
    }

    fn apply_job_end(&mut self, e: &crate::parse::JobEnd<'_>) {
        self.saw_time(e.completion_time);
        let stage_ids = match self.active_jobs.remove(&e.job_id) {
            Some(ids) => ids,
            None => {
                // The start was lost (compacted or corrupt log): count the job anyway.
                self.jobs.total += 1;
                Vec::new()
            }
        };
        for stage in &stage_ids {
            if let Some(state @ StageState::Pending) = self.stages.get_mut(stage) {
                *state = StageState::Skipped;
            }
        }
        if e.result.succeeded() {
            self.jobs.succeeded += 1;
            return;
        }
        self.jobs.failed += 1;
        if self.failure.is_some() {
            return;
        }
        let exception = e.result.exception.as_ref();
        let full_message = exception.and_then(|x| x.message.as_deref()).unwrap_or("");
        let mut message = first_line(full_message);
        if message.is_empty() {
            message = exception.and_then(|x| x.first_frame()).unwrap_or_else(|| e.result.result.to_string());
        }
        let stage = self.last_failed_stage.as_ref().filter(|s| stage_ids.is_empty() || stage_ids.contains(&s.stage_id));
        let stage_reason = stage.map(|s| s.reason.as_str()).unwrap_or_default();
        let cause = cause::of_message(&format!("{full_message}\n{stage_reason}"));
        self.failure = Some(Failure {
            job_id: e.job_id,
            message,
            root_cause: root_cause(full_message),
            stage_id: stage.map(|s| s.stage_id),
            stage_attempt_id: stage.map(|s| s.attempt_id),
            stage_failure: stage.map(|s| s.reason.clone()),
            cause,
        });
    }

    fn apply_property(&mut self, key: &str, value: &str, at: Option<(&Path, u64)>) {
        let config = &mut self.config;
        match key {
            "spark.app.name" => config.app_name = Some(value.to_string()),
            "spark.master" => config.master = Some(value.to_string()),
            "spark.submit.deployMode" => config.deploy_mode = Some(value.to_string()),
            "spark.driver.memory" => config.driver_memory = Some(value.to_string()),
            "spark.executor.memory" => config.executor_memory = Some(value.to_string()),
            "spark.executor.cores" | "spark.executor.instances" => match value.trim().parse::<u32>() {
                Ok(n) if key == "spark.executor.cores" => config.executor_cores = Some(n),
                Ok(n) => config.executor_instances = Some(n),
                Err(_) => self.warn(warning(at, format!("{key} = {value:?} is not a whole number; ignored"))),
            },
            "spark.dynamicAllocation.enabled" => match value.trim().to_ascii_lowercase().as_str() {
                "true" => config.dynamic_allocation = Some(true),
                "false" => config.dynamic_allocation = Some(false),
                _ => self.warn(warning(at, format!("{key} = {value:?} is not true or false; ignored"))),
            },
            _ => {
                if let Some(label) = key.strip_prefix("spark.kubernetes.driver.label.") {
                    if label.starts_with(sparkplane_api::labels::PREFIX) {
                        config.labels.insert(label.to_string(), value.to_string());
                    }
                } else if let Some(label) = key.strip_prefix("spark.kubernetes.executor.label.")
                    && label.starts_with(sparkplane_api::labels::PREFIX)
                {
                    config.labels.entry(label.to_string()).or_insert_with(|| value.to_string());
                }
            }
        }
    }

    /// Ends the fold and computes the derived figures.
    pub fn finish(mut self) -> AppSummary {
        let end_of_log = self.end_ms.or(self.last_event_ms);
        self.add_local_driver();

        let mut stages = StageCounts { total: self.stages.len() as u64, ..StageCounts::default() };
        for state in self.stages.values() {
            match state {
                StageState::Completed => stages.completed += 1,
                StageState::Failed => stages.failed += 1,
                StageState::Skipped => stages.skipped += 1,
                StageState::Pending | StageState::Active => stages.active += 1,
            }
        }
        self.jobs.running = self.active_jobs.len() as u64;

        let mut totals = self.totals;
        totals.cpu_time_ms = self.cpu_time_ns / 1_000_000;
        totals.gc_share = ratio(totals.gc_time_ms as f64, totals.task_time_ms as f64);

        let mut timeline: Vec<ExecutorSpan> = self
            .executors
            .into_iter()
            .map(|(id, e)| {
                let end = e.removed_ms.or(end_of_log).unwrap_or(e.added_ms);
                ExecutorSpan {
                    id,
                    host: e.host,
                    cores: e.cores,
                    added_ms: e.added_ms,
                    removed_ms: e.removed_ms,
                    removed_reason: e.removed_reason,
                    lifetime_ms: end.saturating_sub(e.added_ms),
                }
            })
            .collect();
        timeline.sort_by(|a, b| a.added_ms.cmp(&b.added_ms).then_with(|| a.id.cmp(&b.id)));
        let core_ms: f64 = timeline.iter().map(|e| f64::from(e.cores.unwrap_or(0)) * e.lifetime_ms as f64).sum();
        let executors = Executors {
            count: timeline.len() as u64,
            max_concurrent: max_concurrent(&timeline),
            max_concurrent_cores: peak(&timeline, |e| i64::from(e.cores.unwrap_or(0))),
            core_seconds: core_ms / 1000.0,
            utilisation: ratio(totals.task_time_ms as f64, core_ms),
            timeline,
        };

        // Executors' peaks; in local mode the driver ran the tasks, so its peaks stand in.
        let local = executors.timeline.iter().all(|e| e.id == "driver");
        let mut peaks = self.executor_peaks;
        if local {
            peaks.merge(&self.driver_peaks);
        }
        let peak_memory = peaks.is_measured().then_some(peaks);

        let outcome = match self.end_ms {
            None => Outcome::Incomplete,
            Some(_) if self.jobs.failed > 0 || self.exit_code.is_some_and(|c| c != 0) => Outcome::Failed,
            Some(_) => Outcome::Succeeded,
        };
        let duration_ms = match (self.start_ms, end_of_log) {
            (Some(start), Some(end)) => Some(end.saturating_sub(start)),
            _ => None,
        };
        let stage_stats: Vec<StageStats> = self.stage_stats.into_iter().map(|(key, fold)| fold.finish(key)).collect();
        let wall_time = match (self.start_ms, end_of_log) {
            (Some(start), Some(end)) => Some(wall_time(start, end, &stage_stats)),
            _ => None,
        };
        let timing = wall_time.map(|wall| {
            crate::timing::timing(
                &stage_stats,
                &self.stage_parents,
                &self.job_stages,
                wall.driver_only_ms,
                executors.max_concurrent_cores,
            )
        });
        AppSummary {
            app_id: self.app_id,
            attempt_id: self.attempt_id,
            name: self.name.or_else(|| self.config.app_name.clone()),
            user: self.user,
            spark_version: self.spark_version,
            start_time_ms: self.start_ms,
            end_time_ms: self.end_ms,
            duration_ms,
            wall_time,
            timing,
            outcome,
            exit_code: self.exit_code,
            failure: self.failure,
            jobs: self.jobs,
            stages,
            stage_stats,
            tasks: self.tasks,
            metrics: totals,
            executors,
            peak_memory,
            config: self.config,
            log: self.log,
            warnings: self.warnings,
            warnings_omitted: self.warnings_omitted,
            connect: self.connect,
            lineage: self.lineage,
        }
    }

    /// Logs where the local-mode driver never appears as an executor (older Spark)
    /// still ran every task on it: add it from its block manager, with cores from `local[N]`.
    fn add_local_driver(&mut self) {
        if !self.executors.is_empty() {
            return;
        }
        let Some(master) = self.config.master.as_deref() else { return };
        let Some(cores) = local_master_cores(master) else { return };
        let Some((added_ms, host)) = self.driver_block_manager.clone() else { return };
        let added_ms = if added_ms > 0 { added_ms } else { self.start_ms.unwrap_or(0) };
        if cores.is_none() {
            let message = format!(
                "the local driver's cores are not in the log (spark.master = {master}); core-seconds leave it out"
            );
            self.warn(Warning::general(message));
        }
        let driver = LiveExecutor { host, cores, added_ms, removed_ms: None, removed_reason: None };
        self.executors.insert("driver".to_string(), driver);
    }
}

/// Cores of a local master: `Some(Some(n))` for `local` and `local[n]`/`local[n,f]`,
/// `Some(None)` for `local[*]`, `None` when the master is not local.
fn local_master_cores(master: &str) -> Option<Option<u32>> {
    let master = master.trim();
    if master == "local" {
        return Some(Some(1));
    }
    let inner = master.strip_prefix("local[")?.strip_suffix(']')?;
    let threads = inner.split(',').next().unwrap_or("").trim();
    Some(threads.parse::<u32>().ok())
}

fn add(total: &mut u64, value: i64) {
    *total = total.saturating_add(u64::try_from(value).unwrap_or(0));
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

fn warning(at: Option<(&Path, u64)>, message: String) -> Warning {
    match at {
        Some((file, line)) => Warning::at(file, line, message),
        None => Warning::general(message),
    }
}

fn max_concurrent(timeline: &[ExecutorSpan]) -> u64 {
    peak(timeline, |_| 1)
}

/// The largest Σ `weight` over executors alive at the same instant.
fn peak(timeline: &[ExecutorSpan], weight: impl Fn(&ExecutorSpan) -> i64) -> u64 {
    let mut edges: Vec<(u64, i64)> = Vec::with_capacity(timeline.len() * 2);
    for e in timeline {
        edges.push((e.added_ms, weight(e)));
        edges.push((e.added_ms.saturating_add(e.lifetime_ms), -weight(e)));
    }
    // Removals sort before additions at the same instant.
    edges.sort_unstable();
    let (mut alive, mut most) = (0i64, 0i64);
    for (_, delta) in edges {
        alive += delta;
        most = most.max(alive);
    }
    u64::try_from(most).unwrap_or(0)
}

/// Splits `[start, end]` into time covered by some stage attempt's task span and the rest.
fn wall_time(start: u64, end: u64, stages: &[StageStats]) -> WallTime {
    let mut spans: Vec<(u64, u64)> = stages
        .iter()
        .filter_map(|s| Some((s.first_launch_ms?.max(start), s.last_finish_ms?.min(end))))
        .filter(|(from, to)| from < to)
        .collect();
    spans.sort_unstable();
    let mut busy = 0;
    let mut current: Option<(u64, u64)> = None;
    for (from, to) in spans {
        current = match current {
            Some((a, b)) if from <= b => Some((a, b.max(to))),
            Some((a, b)) => {
                busy += b - a;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((a, b)) = current {
        busy += b - a;
    }
    let total_ms = end.saturating_sub(start);
    let driver_only_ms = total_ms.saturating_sub(busy);
    WallTime {
        total_ms,
        tasks_running_ms: busy,
        driver_only_ms,
        driver_share: ratio(driver_only_ms as f64, total_ms as f64),
    }
}

/// For a line that is a whole object as Spark writes it (`"Event"` first)
/// whose event a listing record does not need ([`UNREAD_BY_A_LISTING`]):
/// whether that event carries a time. `None` for any other line, which is
/// parsed as usual (and warned of when it is not an object).
fn unread_by_a_listing(text: &str) -> Option<bool> {
    let line = text.trim();
    let name = line.strip_prefix(r#"{"Event":""#)?;
    if !line.ends_with('}') {
        return None;
    }
    UNREAD_BY_A_LISTING
        .iter()
        .find(|(event, _)| name.strip_prefix(event).is_some_and(|rest| rest.starts_with('"')))
        .map(|(_, timed)| *timed)
}

/// For a line that is a whole task end as Spark writes it (an object whose
/// `"Event"` comes first), its `Finish Time` (`None` when it has none);
/// `None` for any other line.
fn task_end_finish_time(text: &str) -> Option<Option<i64>> {
    let line = text.trim();
    if !(line.starts_with(r#"{"Event":"SparkListenerTaskEnd""#) && line.ends_with('}')) {
        return None;
    }
    const FIELD: &str = r#""Finish Time":"#;
    // One searcher for every line (building one costs about as much as a search through a task end).
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(FIELD));
    let Some(at) = FINDER.find(line.as_bytes()) else { return Some(None) };
    let digits: &str = &line[at + FIELD.len()..];
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    Some(digits[..end].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_masters() {
        assert_eq!(local_master_cores("local"), Some(Some(1)));
        assert_eq!(local_master_cores("local[4]"), Some(Some(4)));
        assert_eq!(local_master_cores("local[3,2]"), Some(Some(3)));
        assert_eq!(local_master_cores("local[*]"), Some(None));
        assert_eq!(local_master_cores("k8s://https://api:6443"), None);
        assert_eq!(local_master_cores("local-cluster[2,1,1024]"), None);
    }

    #[test]
    fn concurrency_counts_overlaps_only() {
        let span = |added_ms, lifetime_ms| ExecutorSpan {
            id: String::new(),
            host: None,
            cores: Some(1),
            added_ms,
            removed_ms: None,
            removed_reason: None,
            lifetime_ms,
        };
        assert_eq!(max_concurrent(&[span(0, 10), span(10, 10), span(5, 1)]), 2);
        assert_eq!(max_concurrent(&[]), 0);
    }

    #[test]
    fn wall_time_merges_overlapping_stage_spans() {
        let stage = |first_launch_ms, last_finish_ms| StageStats {
            first_launch_ms: Some(first_launch_ms),
            last_finish_ms: Some(last_finish_ms),
            ..StageFold::default().finish((0, 0))
        };
        // Busy 10–30 (two overlapping stages) and 50–60; a stage past the end is clipped.
        let stages = [stage(10, 20), stage(15, 30), stage(50, 60), stage(95, 120)];
        let wall = wall_time(0, 100, &stages);
        assert_eq!((wall.total_ms, wall.tasks_running_ms, wall.driver_only_ms), (100, 35, 65));
        assert_eq!(wall.driver_share, Some(0.65));
        assert_eq!(wall_time(5, 5, &[]).driver_share, None);
    }
}
