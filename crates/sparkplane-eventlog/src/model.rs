//! The application model: what an event log says about one Spark application.
//!
//! Owns: [`AppSummary`] (the one model `run`'s summary, `sparkplane-analysis`'s
//! `analyze`, `cost` and `tune`, and the exporter read) and the types it is made of, [`Warning`]s
//! about the log among them, and [`AppFacts`], its outcome and counts as
//! Spark's History Server lists them. Stage attempts have their own room
//! (`stage`, re-exported here); how events become this model is the
//! business of `fold`.
//!
//! Must not: fold events, read files or parse JSON text — these are plain
//! data with the few derived figures that need nothing but themselves.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::cause::FailureCause;
use crate::lineage::Lineage;
use crate::peak_memory::PeakMemory;
pub use crate::sketch::TASK_TIME_SKETCH_GROWTH;
pub use crate::stage::{StageAttemptState, StageStats, TaskTimeDistribution};
use crate::timing::Timing;

/// Warnings kept in a summary; further ones are only counted.
pub const MAX_WARNINGS: usize = 100;

/// Something wrong with the log that did not stop the summary: a corrupt line,
/// a missing field, an unreadable part, a cut-off in-progress line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Warning {
    /// The file it concerns, when it concerns one.
    pub file: Option<String>,
    /// The 1-based line within that file, when it concerns one line.
    pub line: Option<u64>,
    /// What was wrong and what was done about it.
    pub message: String,
}

impl Warning {
    /// A warning about one line of a file.
    pub fn at(file: &Path, line: u64, message: String) -> Warning {
        Warning { file: Some(file.display().to_string()), line: Some(line), message }
    }

    /// A warning about a whole file.
    pub fn in_file(file: &Path, message: String) -> Warning {
        Warning { file: Some(file.display().to_string()), line: None, message }
    }

    /// A warning about the application as a whole.
    pub fn general(message: String) -> Warning {
        Warning { file: None, line: None, message }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: {}", self.message),
            (Some(file), None) => write!(f, "{file}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// How the application ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The application ended and no job failed (and the exit code, if logged, was 0).
    Succeeded,
    /// The application ended and a job failed or the driver exited non-zero.
    Failed,
    /// The log has no application end: still running, killed, or cut short.
    Incomplete,
}

/// Why the application failed: the first failed job and the stage that failed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The first job that failed.
    pub job_id: u32,
    /// First line of the job's exception message (or its first stack frame when it has no message).
    pub message: String,
    /// The underlying error when the message buries it: the last line of a
    /// Python traceback, or the last `Caused by:` of a JVM exception.
    pub root_cause: Option<String>,
    /// The failed stage of that job.
    pub stage_id: Option<u32>,
    /// That stage's attempt number.
    pub stage_attempt_id: Option<u32>,
    /// First line of that stage's "Failure Reason".
    pub stage_failure: Option<String>,
    /// What kind of failure it was, from the message, root cause and stage reason.
    pub cause: FailureCause,
}

/// Job counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCounts {
    /// Jobs seen.
    pub total: u64,
    /// Jobs that ended with `JobSucceeded`.
    pub succeeded: u64,
    /// Jobs that ended with `JobFailed`.
    pub failed: u64,
    /// Jobs started but not ended when the log stops.
    pub running: u64,
}

/// Stage counts, by the latest attempt of each stage id.
/// `total = completed + failed + skipped + active`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageCounts {
    /// Distinct stages seen.
    pub total: u64,
    /// Stages whose latest attempt completed.
    pub completed: u64,
    /// Stages whose latest attempt failed or was cancelled.
    pub failed: u64,
    /// Stages a finished job needed but never ran, because their output already existed.
    pub skipped: u64,
    /// Stages running or waiting when the log stops.
    pub active: u64,
}

/// Task-attempt counts, bucketed as the History Server does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCounts {
    /// Task attempts that finished (one `SparkListenerTaskEnd` each).
    pub total: u64,
    /// Attempts that ended with `Success`.
    pub succeeded: u64,
    /// Attempts that failed (exception, fetch failure, lost executor, …).
    pub failed: u64,
    /// Attempts killed (including speculative losers and denied commits).
    pub killed: u64,
    /// Failed attempts by cause (only causes that occurred).
    pub failed_by_cause: BTreeMap<FailureCause, u64>,
}

/// Sums over every finished task attempt, failed ones included: their time was spent too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskTotals {
    /// Σ Executor Run Time, milliseconds.
    pub task_time_ms: u64,
    /// Σ Executor CPU Time, milliseconds (Spark logs nanoseconds).
    pub cpu_time_ms: u64,
    /// Σ JVM GC Time, milliseconds.
    pub gc_time_ms: u64,
    /// GC time ÷ task time; `None` when no task time was logged.
    pub gc_share: Option<f64>,
    /// Σ Input Metrics → Bytes Read.
    pub input_bytes: u64,
    /// Σ Output Metrics → Bytes Written.
    pub output_bytes: u64,
    /// Σ Shuffle Read Metrics → Remote Bytes Read + Local Bytes Read.
    pub shuffle_read_bytes: u64,
    /// Σ Shuffle Write Metrics → Shuffle Bytes Written.
    pub shuffle_write_bytes: u64,
    /// Σ Memory Bytes Spilled.
    pub memory_spill_bytes: u64,
    /// Σ Disk Bytes Spilled.
    pub disk_spill_bytes: u64,
}

/// The application's wall time split by whether any task was running.
///
/// A stage attempt counts as running from its first task launch to its last task
/// finish; time covered by no stage attempt is driver-side (planning, `collect()`,
/// Python on the driver, waiting for executors, listing files, …).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WallTime {
    /// Application wall time, milliseconds (as [`AppSummary::duration_ms`]).
    pub total_ms: u64,
    /// Time with at least one task running, milliseconds.
    pub tasks_running_ms: u64,
    /// Time with no task running, milliseconds.
    pub driver_only_ms: u64,
    /// `driver_only_ms ÷ total_ms`; `None` for a zero-length application.
    pub driver_share: Option<f64>,
}

/// One executor's life. In local mode the driver (`driver`) is the only executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorSpan {
    /// The executor id.
    pub id: String,
    /// Its host.
    pub host: Option<String>,
    /// Cores it offered to tasks; `None` when the log does not say.
    pub cores: Option<u32>,
    /// When it was added, epoch milliseconds.
    pub added_ms: u64,
    /// When it was removed, epoch milliseconds; `None` if it lived to the end of the log.
    pub removed_ms: Option<u64>,
    /// Why it was removed.
    pub removed_reason: Option<String>,
    /// Lifetime, milliseconds: to its removal, else to the application end, else to the last event.
    pub lifetime_ms: u64,
}

/// Executors over the application's life and how busy they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Executors {
    /// Executors seen.
    pub count: u64,
    /// Most executors alive at once.
    pub max_concurrent: u64,
    /// Most executor cores alive at once (executors with unknown cores count 0).
    pub max_concurrent_cores: u64,
    /// Σ cores × lifetime over executors with known cores, core-seconds.
    pub core_seconds: f64,
    /// Σ task run time ÷ Σ executor core time; `None` without core time.
    pub utilisation: Option<f64>,
    /// Each executor, ordered by when it was added.
    pub timeline: Vec<ExecutorSpan>,
}

/// The Spark properties sparkplane cares about, from `SparkListenerEnvironmentUpdate`.
/// Memory stays as Spark spelled it; sparkplane's sizing model parses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SparkConfig {
    /// `spark.app.name`.
    pub app_name: Option<String>,
    /// `spark.master`.
    pub master: Option<String>,
    /// `spark.submit.deployMode`.
    pub deploy_mode: Option<String>,
    /// `spark.driver.memory`.
    pub driver_memory: Option<String>,
    /// `spark.executor.memory`.
    pub executor_memory: Option<String>,
    /// `spark.executor.cores`.
    pub executor_cores: Option<u32>,
    /// `spark.executor.instances`.
    pub executor_instances: Option<u32>,
    /// `spark.dynamicAllocation.enabled`.
    pub dynamic_allocation: Option<bool>,
    /// sparkplane labels (`sparkplane.dev/…`) from `spark.kubernetes.{driver,executor}.label.*`,
    /// keyed by label name; the driver's value wins.
    pub labels: BTreeMap<String, String>,
    /// Every Spark property the log records, as Spark spelled it (a later update wins).
    pub properties: BTreeMap<String, String>,
}

/// About the log itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStats {
    /// Non-empty lines read.
    pub lines: u64,
    /// Lines that were events sparkplane uses.
    pub events: u64,
    /// Whether Spark marked the log as still being written.
    pub in_progress: bool,
}

/// Everything sparkplane knows about one application from its event log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSummary {
    /// The application id (`local-…`, `spark-…`, `application_…`).
    pub app_id: Option<String>,
    /// The attempt id, where the cluster manager retries applications.
    pub attempt_id: Option<String>,
    /// The application name.
    pub name: Option<String>,
    /// The user it ran as.
    pub user: Option<String>,
    /// The Spark version that wrote the log.
    pub spark_version: Option<String>,
    /// Application start, epoch milliseconds.
    pub start_time_ms: Option<u64>,
    /// Application end, epoch milliseconds; `None` when the log has no end.
    pub end_time_ms: Option<u64>,
    /// Wall-clock milliseconds from start to end, or to the last event of an incomplete log.
    pub duration_ms: Option<u64>,
    /// Wall time split into task time and driver-only time; `None` without a duration.
    pub wall_time: Option<WallTime>,
    /// Critical path and ideal run time; `None` without a duration.
    pub timing: Option<Timing>,
    /// How the application ended.
    pub outcome: Outcome,
    /// The driver's exit code, where Spark logs it (Spark 4+).
    pub exit_code: Option<i32>,
    /// Why it failed, when a job failed.
    pub failure: Option<Failure>,
    /// Job counts.
    pub jobs: JobCounts,
    /// Stage counts.
    pub stages: StageCounts,
    /// Per stage attempt, ordered by stage id then attempt.
    pub stage_stats: Vec<StageStats>,
    /// Task-attempt counts.
    pub tasks: TaskCounts,
    /// Time and bytes summed over task attempts.
    pub metrics: TaskTotals,
    /// Executors and their use.
    pub executors: Executors,
    /// The executors' peak memory; `None` when the log carries no measured executor metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_memory: Option<PeakMemory>,
    /// Spark properties of interest.
    pub config: SparkConfig,
    /// About the log.
    pub log: LogStats,
    /// Problems met while reading (at most [`MAX_WARNINGS`]).
    pub warnings: Vec<Warning>,
    /// Warnings beyond [`MAX_WARNINGS`], counted but not kept.
    pub warnings_omitted: u64,
    /// A Spark Connect server's sessions and operations; `None` for an application that is not one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectActivity>,
    /// The datasets the SQL executions read and wrote (`lineage`); not part of the summary's JSON.
    #[serde(skip)]
    pub lineage: Lineage,
}

/// What clients did on a Spark Connect server, counted from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectActivity {
    /// Sessions opened.
    pub sessions_started: u64,
    /// Sessions closed.
    pub sessions_closed: u64,
    /// Operations (queries and commands) started.
    pub operations_started: u64,
    /// Operations that ran to completion.
    pub operations_finished: u64,
    /// Operations that failed.
    pub operations_failed: u64,
    /// Operations canceled.
    pub operations_canceled: u64,
    /// Operations closed (results consumed or released).
    pub operations_closed: u64,
    /// The last session or operation event, epoch milliseconds.
    pub last_activity_ms: Option<u64>,
}

impl ConnectActivity {
    /// Sessions open now: started and not closed.
    pub fn open_sessions(&self) -> u64 {
        self.sessions_started.saturating_sub(self.sessions_closed)
    }

    /// Operations open now: started and not closed (running, or streaming results).
    pub fn open_operations(&self) -> u64 {
        self.operations_started.saturating_sub(self.operations_closed)
    }
}

/// Stage attempts as Spark's History Server lists them (`applications/{id}/stages`):
/// each attempt once, a retried stage once per attempt, and a stage that never ran
/// (skipped, or pending in a log that stops) once.
/// `total = completed + failed + skipped + active`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageAttemptCounts {
    /// Entries in the list.
    pub total: u64,
    /// Attempts that completed.
    pub completed: u64,
    /// Attempts that failed or were cancelled.
    pub failed: u64,
    /// Stages a finished job needed but never ran.
    pub skipped: u64,
    /// Attempts running, and stages waiting, when the log stops.
    pub active: u64,
}

/// Bytes the application's task attempts moved (failed ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BytesMoved {
    /// Input bytes read.
    pub read: u64,
    /// Output bytes written.
    pub written: u64,
    /// Shuffle bytes read (remote and local).
    pub shuffle_read: u64,
    /// Shuffle bytes written.
    pub shuffle_written: u64,
}

/// What happened to an application, counted as Spark's History Server counts it
/// in `applications/{id}/jobs` and `stages`: its outcome, jobs, stage attempts and
/// task attempts with the failed ones, and the bytes its tasks moved. A view of
/// [`AppSummary`], so it agrees with every other figure read from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppFacts {
    /// How the application ended (`incomplete`: no application end in the log,
    /// which Spark's History Server lists as running).
    pub outcome: Outcome,
    /// Jobs: one per entry of the History Server's `jobs`.
    pub jobs: JobCounts,
    /// Stage attempts: one per entry of its `stages`.
    pub stages: StageAttemptCounts,
    /// Task attempts that ended: Σ of its stages' complete, failed and killed tasks.
    pub tasks: TaskCounts,
    /// Bytes: Σ of its stages' input, output, shuffle read and shuffle write bytes.
    pub bytes: BytesMoved,
}

impl AppSummary {
    /// The key that names this application run in what sparkplane derives from it
    /// (OpenLineage run ids, trace ids): `app-id/attempt`, the id alone without an
    /// attempt, else `name@start` for a log without an id; `None` without an id or a start.
    pub fn key(&self) -> Option<String> {
        match (&self.app_id, &self.attempt_id, self.start_time_ms) {
            (Some(id), Some(attempt), _) => Some(format!("{id}/{attempt}")),
            (Some(id), None, _) => Some(id.clone()),
            (None, _, Some(start_ms)) => Some(format!("{}@{start_ms}", self.name.as_deref().unwrap_or("unnamed"))),
            (None, _, None) => None,
        }
    }

    /// The application's outcome and counts as Spark's History Server lists them.
    pub fn facts(&self) -> AppFacts {
        let mut stages = StageAttemptCounts { skipped: self.stages.skipped, ..StageAttemptCounts::default() };
        // The latest attempt of each stage id that has one: a stage counted active
        // without a running latest attempt is waiting (pending), listed once.
        let mut latest: BTreeMap<u32, &StageStats> = BTreeMap::new();
        for stage in &self.stage_stats {
            match stage.state {
                StageAttemptState::Completed => stages.completed += 1,
                StageAttemptState::Failed => stages.failed += 1,
                StageAttemptState::Active => stages.active += 1,
            }
            latest.insert(stage.stage_id, stage);
        }
        let running = latest.values().filter(|s| s.state == StageAttemptState::Active).count() as u64;
        stages.active += self.stages.active.saturating_sub(running);
        stages.total = stages.completed + stages.failed + stages.skipped + stages.active;
        AppFacts {
            outcome: self.outcome,
            jobs: self.jobs,
            stages,
            tasks: self.tasks.clone(),
            bytes: BytesMoved {
                read: self.metrics.input_bytes,
                written: self.metrics.output_bytes,
                shuffle_read: self.metrics.shuffle_read_bytes,
                shuffle_written: self.metrics.shuffle_write_bytes,
            },
        }
    }

    /// Executor core-seconds: Σ cores × lifetime. In local mode, the driver's.
    pub fn core_seconds(&self) -> f64 {
        self.executors.core_seconds
    }

    /// Executor memory GiB-seconds: Σ executor lifetime × the memory of one executor pod,
    /// which the caller takes from sparkplane's sizing model (heap plus overhead).
    pub fn gib_seconds(&self, executor_pod_memory_mib: u64) -> f64 {
        let executor_seconds: f64 = self.executors.timeline.iter().map(|e| e.lifetime_ms as f64 / 1000.0).sum();
        executor_seconds * executor_pod_memory_mib as f64 / 1024.0
    }
}
