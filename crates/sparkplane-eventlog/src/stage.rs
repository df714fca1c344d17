//! One stage attempt as the model shows it: what it did, how it ended, and how
//! its task run times were spread.
//!
//! Owns: [`StageStats`], [`StageAttemptState`] and [`TaskTimeDistribution`].
//!
//! Must not: fold events or hold per-task data (the running fold of an
//! attempt is `fold`'s, its task-time sketch `sketch`'s);
//! these are the finished figures only.

use serde::Serialize;

/// How a stage attempt ended, as far as the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StageAttemptState {
    /// Submitted (or only seen through its tasks) and not completed when the log stops.
    Active,
    /// Completed without a failure reason.
    Completed,
    /// Completed with a failure reason (failed or cancelled).
    Failed,
}

/// The distribution of one stage attempt's task run times (Executor Run Time, or
/// finish − launch for attempts without metrics), in milliseconds.
///
/// Min and max are exact; median and p99 come from a log-bucket sketch whose
/// buckets are `TASK_TIME_SKETCH_GROWTH` (×1.02) wide, so they are within about 1% of the
/// exact nearest-rank quantile whatever the number of tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskTimeDistribution {
    /// Task attempts sampled.
    pub count: u64,
    /// Shortest, milliseconds.
    pub min_ms: u64,
    /// Median (nearest rank), milliseconds.
    pub median_ms: u64,
    /// 99th percentile (nearest rank), milliseconds.
    pub p99_ms: u64,
    /// Longest, milliseconds.
    pub max_ms: u64,
}

/// What one stage attempt did, summed over its finished task attempts (failed ones included).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageStats {
    /// The stage id.
    pub stage_id: u32,
    /// The attempt number (0 for the first).
    pub attempt_id: u32,
    /// What the stage runs, as Spark names it (`collect at job.py:12`); text from the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the attempt ended.
    pub state: StageAttemptState,
    /// Tasks the stage declared (its partition count); `None` when the log does not say.
    pub num_tasks: Option<u32>,
    /// Task attempts that finished.
    pub tasks: u64,
    /// Task attempts that failed.
    pub failed_tasks: u64,
    /// Task attempts that were killed (speculative losers included).
    pub killed_tasks: u64,
    /// Task attempts that were speculative copies.
    pub speculative_tasks: u64,
    /// Task run times; `None` when no attempt had a run time.
    pub task_time: Option<TaskTimeDistribution>,
    /// Σ Executor Run Time, milliseconds.
    pub task_time_ms: u64,
    /// Σ JVM GC Time, milliseconds.
    pub gc_time_ms: u64,
    /// Σ input bytes read.
    pub input_bytes: u64,
    /// Σ output bytes written.
    pub output_bytes: u64,
    /// Task attempts that wrote output (bytes written > 0): roughly the files written.
    pub output_tasks: u64,
    /// Σ shuffle bytes read (remote + local).
    pub shuffle_read_bytes: u64,
    /// Σ shuffle bytes written.
    pub shuffle_write_bytes: u64,
    /// Σ Memory Bytes Spilled.
    pub memory_spill_bytes: u64,
    /// Σ Disk Bytes Spilled.
    pub disk_spill_bytes: u64,
    /// When the attempt was submitted, epoch milliseconds.
    pub submitted_ms: Option<u64>,
    /// When the attempt completed, epoch milliseconds.
    pub completed_ms: Option<u64>,
    /// Earliest task launch, epoch milliseconds.
    pub first_launch_ms: Option<u64>,
    /// Latest task finish, epoch milliseconds.
    pub last_finish_ms: Option<u64>,
}

impl StageStats {
    /// Output bytes per task that wrote output; `None` when no task wrote any.
    pub fn output_bytes_per_task(&self) -> Option<u64> {
        (self.output_tasks > 0).then(|| self.output_bytes / self.output_tasks)
    }
}
