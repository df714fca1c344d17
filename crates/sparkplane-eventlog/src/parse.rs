//! Parsing one event-log line into a typed Spark listener event.
//!
//! Owns: the JSON shape of the listener events sparkplane uses, spelled with
//! the field names Spark's `JsonProtocol` writes ("Event", "Task Info",
//! "Task Metrics", …), and a cheap dispatch on the event name so that events
//! nobody needs (SQL metric updates, block updates, …) are skipped without parsing.
//! [`task_detail`] reads task starts and ends in full, for readers that keep
//! every task attempt (the History Server); `environment` reads the environment
//! update only up to its Spark properties.
//!
//! Must not: do I/O, keep state between lines, or aggregate anything — one
//! line in, at most one event out. Events borrow from the line where they can,
//! so parsing allocates little; the model copies what it keeps.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

mod environment;
pub mod task_detail;

pub use task_detail::{TaskDetailEvent, parse_task_detail};

/// A Spark listener event that sparkplane reads; every other event is skipped.
#[derive(Debug, Clone, PartialEq)]
// TaskEnd is the largest variant and by far the most frequent event: boxing it
// would allocate once per task in the hot loop, to shrink the rare ones.
#[allow(clippy::large_enum_variant)]
pub enum SparkEvent<'a> {
    /// `SparkListenerLogStart`: the first line of every log.
    LogStart(LogStart<'a>),
    /// `SparkListenerApplicationStart`.
    ApplicationStart(ApplicationStart<'a>),
    /// `SparkListenerApplicationEnd`.
    ApplicationEnd(ApplicationEnd),
    /// `SparkListenerEnvironmentUpdate`: Spark properties and more.
    EnvironmentUpdate(EnvironmentUpdate<'a>),
    /// `SparkListenerJobStart`.
    JobStart(JobStart),
    /// `SparkListenerJobEnd`.
    JobEnd(JobEnd<'a>),
    /// `SparkListenerStageSubmitted`.
    StageSubmitted(StageEvent<'a>),
    /// `SparkListenerStageCompleted` (successful or not).
    StageCompleted(StageEvent<'a>),
    /// `SparkListenerTaskEnd`: one finished task attempt with its metrics.
    TaskEnd(TaskEnd<'a>),
    /// `SparkListenerExecutorAdded`.
    ExecutorAdded(ExecutorAdded<'a>),
    /// `SparkListenerExecutorRemoved`.
    ExecutorRemoved(ExecutorRemoved<'a>),
    /// `SparkListenerBlockManagerAdded`: also how a local-mode driver shows up in old logs.
    BlockManagerAdded(BlockManagerAdded<'a>),
    /// `SparkListenerStageExecutorMetrics`: an executor's peak memory during one stage
    /// (written when `spark.eventLog.logStageExecutorMetrics` is true).
    StageExecutorMetrics(StageExecutorMetrics<'a>),
    /// `SparkListenerSQLExecutionStart`: one SQL/DataFrame action and its physical plan.
    SqlExecutionStart(SqlExecutionStart<'a>),
    /// A Spark Connect server's session or operation event (Spark 4's
    /// `org.apache.spark.sql.connect.service.SparkListenerConnect…`).
    Connect(ConnectEvent),
}

/// The prefix of the Spark Connect server's listener events.
pub const CONNECT_EVENT_PREFIX: &str = "org.apache.spark.sql.connect.service.SparkListenerConnect";

/// What happened to a Spark Connect session or operation. Only counts and
/// times are read: a statement's text and the user's id stay in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnectEventKind {
    /// `SessionStarted`: a client opened a session.
    SessionStarted,
    /// `SessionClosed`.
    SessionClosed,
    /// `OperationStarted`: a query or command arrived.
    OperationStarted,
    /// `OperationFinished`: it ran to completion (results may still stream).
    OperationFinished,
    /// `OperationFailed`.
    OperationFailed,
    /// `OperationCanceled`.
    OperationCanceled,
    /// `OperationClosed`: its results were consumed or it was released; always last.
    OperationClosed,
}

impl ConnectEventKind {
    /// The kind an event name (after [`CONNECT_EVENT_PREFIX`]) stands for; `None` for
    /// the ones nobody counts (`ServiceStarted`, `OperationAnalyzed`, …).
    pub fn from_suffix(suffix: &str) -> Option<ConnectEventKind> {
        Some(match suffix {
            "SessionStarted" => ConnectEventKind::SessionStarted,
            "SessionClosed" => ConnectEventKind::SessionClosed,
            "OperationStarted" => ConnectEventKind::OperationStarted,
            "OperationFinished" => ConnectEventKind::OperationFinished,
            "OperationFailed" => ConnectEventKind::OperationFailed,
            "OperationCanceled" => ConnectEventKind::OperationCanceled,
            "OperationClosed" => ConnectEventKind::OperationClosed,
            _ => return None,
        })
    }
}

/// One Spark Connect event: its kind and `eventTime` (epoch milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectEvent {
    /// What happened.
    pub kind: ConnectEventKind,
    /// When, epoch milliseconds.
    pub time_ms: Option<i64>,
}

#[derive(Deserialize)]
struct ConnectEventTime {
    #[serde(rename = "eventTime", default)]
    event_time: Option<i64>,
}

/// `org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart`; only the
/// plan's text is read (its datasets are `lineage`'s business).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SqlExecutionStart<'a> {
    /// The execution id.
    #[serde(rename = "executionId")]
    pub execution_id: i64,
    /// What Spark calls the action (`parquet at …`).
    #[serde(borrow, default)]
    pub description: Cow<'a, str>,
    /// `explain`'s formatted physical plan: numbered nodes, then one section per node.
    #[serde(rename = "physicalPlanDescription", borrow, default)]
    pub physical_plan_description: Cow<'a, str>,
    /// Start time, epoch milliseconds.
    #[serde(default)]
    pub time: Option<i64>,
}

/// `SparkListenerLogStart`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogStart<'a> {
    /// The Spark version that wrote the log.
    #[serde(rename = "Spark Version", borrow)]
    pub spark_version: Cow<'a, str>,
}

/// `SparkListenerApplicationStart`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApplicationStart<'a> {
    /// `spark.app.name`.
    #[serde(rename = "App Name", borrow)]
    pub app_name: Cow<'a, str>,
    /// The application id (absent in very old logs).
    #[serde(rename = "App ID", borrow, default)]
    pub app_id: Option<Cow<'a, str>>,
    /// The attempt id, for cluster managers that retry applications.
    #[serde(rename = "App Attempt ID", borrow, default)]
    pub attempt_id: Option<Cow<'a, str>>,
    /// Start time, epoch milliseconds.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// The user the application ran as.
    #[serde(rename = "User", borrow, default)]
    pub user: Option<Cow<'a, str>>,
}

/// `SparkListenerApplicationEnd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct ApplicationEnd {
    /// End time, epoch milliseconds.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// The driver's exit code (Spark 4 and later).
    #[serde(rename = "ExitCode", default)]
    pub exit_code: Option<i32>,
}

/// `SparkListenerEnvironmentUpdate`; only the Spark properties are read, and
/// the line only up to them (`environment`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EnvironmentUpdate<'a> {
    /// The application's resolved Spark configuration.
    #[serde(rename = "Spark Properties", borrow, default)]
    pub spark_properties: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
}

/// `SparkListenerJobStart`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobStart {
    /// The job id.
    #[serde(rename = "Job ID")]
    pub job_id: u32,
    /// Submission time, epoch milliseconds.
    #[serde(rename = "Submission Time", default)]
    pub submission_time: Option<i64>,
    /// Every stage the job needs, including ones it will skip because their output exists.
    #[serde(rename = "Stage IDs", default)]
    pub stage_ids: Vec<u32>,
}

/// `SparkListenerJobEnd`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobEnd<'a> {
    /// The job id.
    #[serde(rename = "Job ID")]
    pub job_id: u32,
    /// Completion time, epoch milliseconds.
    #[serde(rename = "Completion Time", default)]
    pub completion_time: Option<i64>,
    /// Success, or the exception that failed the job.
    #[serde(rename = "Job Result", borrow)]
    pub result: JobResult<'a>,
}

/// A job's `"Job Result"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobResult<'a> {
    /// `JobSucceeded` or `JobFailed`.
    #[serde(rename = "Result", borrow)]
    pub result: Cow<'a, str>,
    /// The exception of a failed job.
    #[serde(rename = "Exception", borrow, default)]
    pub exception: Option<ExceptionInfo<'a>>,
}

impl JobResult<'_> {
    /// Whether the job succeeded.
    pub fn succeeded(&self) -> bool {
        self.result == "JobSucceeded"
    }
}

/// An exception as Spark logs it: message and stack frames.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExceptionInfo<'a> {
    /// The exception message; may span many lines (e.g. a whole Python traceback).
    #[serde(rename = "Message", borrow, default)]
    pub message: Option<Cow<'a, str>>,
    /// Stack frames, kept loose: only the first is ever looked at.
    #[serde(rename = "Stack Trace", default)]
    pub stack_trace: Option<serde_json::Value>,
}

impl ExceptionInfo<'_> {
    /// The first stack frame as `Class.method(File:line)`, if there is one.
    pub fn first_frame(&self) -> Option<String> {
        let frame = self.stack_trace.as_ref()?.as_array()?.first()?;
        let class = frame.get("Declaring Class")?.as_str()?;
        let method = frame.get("Method Name").and_then(|m| m.as_str()).unwrap_or("?");
        let file = frame.get("File Name").and_then(|f| f.as_str()).unwrap_or("?");
        let line = frame.get("Line Number").and_then(|l| l.as_i64()).unwrap_or(-1);
        Some(format!("{class}.{method}({file}:{line})"))
    }
}

/// `SparkListenerStageSubmitted` and `SparkListenerStageCompleted`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StageEvent<'a> {
    /// The stage attempt.
    #[serde(rename = "Stage Info", borrow)]
    pub stage: StageInfo<'a>,
}

/// A stage attempt's `"Stage Info"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StageInfo<'a> {
    /// The stage id.
    #[serde(rename = "Stage ID")]
    pub stage_id: u32,
    /// The attempt number (0 for the first).
    #[serde(rename = "Stage Attempt ID", default)]
    pub attempt_id: u32,
    /// What the stage runs, as Spark names it (`collect at job.py:12`); log text, so anything.
    #[serde(rename = "Stage Name", borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// Tasks in the stage.
    #[serde(rename = "Number of Tasks", default)]
    pub num_tasks: Option<u32>,
    /// When the attempt was submitted, epoch milliseconds.
    #[serde(rename = "Submission Time", default)]
    pub submission_time: Option<i64>,
    /// When the attempt finished, epoch milliseconds.
    #[serde(rename = "Completion Time", default)]
    pub completion_time: Option<i64>,
    /// Set when the attempt failed (or was cancelled); often a multi-line stack.
    #[serde(rename = "Failure Reason", borrow, default)]
    pub failure_reason: Option<Cow<'a, str>>,
    /// The stages whose output this stage reads.
    #[serde(rename = "Parent IDs", default)]
    pub parent_ids: Vec<u32>,
}

/// `SparkListenerTaskEnd`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskEnd<'a> {
    /// The stage the task belongs to.
    #[serde(rename = "Stage ID")]
    pub stage_id: u32,
    /// The stage attempt the task belongs to.
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: u32,
    /// How the task ended.
    #[serde(rename = "Task End Reason", borrow)]
    pub reason: TaskEndReason<'a>,
    /// Where and when the task ran.
    #[serde(rename = "Task Info", borrow)]
    pub info: TaskInfo<'a>,
    /// What the task did; absent for some failures.
    #[serde(rename = "Task Metrics", default)]
    pub metrics: Option<TaskMetrics>,
    /// The running executor's peak memory while the task ran (Spark 3.0+); all zero when
    /// no heartbeat or poll fell inside the task.
    #[serde(rename = "Task Executor Metrics", default)]
    pub executor_metrics: Option<ExecutorMetrics>,
}

impl TaskEnd<'_> {
    /// The same event, owning its text: to hand to a fold on another thread.
    pub fn into_owned(self) -> TaskEnd<'static> {
        let own = |text: Option<Cow<'_, str>>| text.map(|t| Cow::Owned(t.into_owned()));
        TaskEnd {
            stage_id: self.stage_id,
            stage_attempt_id: self.stage_attempt_id,
            reason: TaskEndReason {
                reason: static_reason(&self.reason.reason)
                    .map_or_else(|| Cow::Owned(self.reason.reason.into_owned()), Cow::Borrowed),
                class_name: own(self.reason.class_name),
                description: own(self.reason.description),
            },
            info: TaskInfo { executor_id: own(self.info.executor_id), host: own(self.info.host), ..self.info },
            metrics: self.metrics,
            executor_metrics: self.executor_metrics,
        }
    }
}

/// The reasons Spark writes (`TaskEndReason` subclasses), as static text: a
/// task end handed to another thread then owns no copy of its reason.
fn static_reason(reason: &str) -> Option<&'static str> {
    const REASONS: [&str; 9] = [
        "Success",
        "TaskKilled",
        "ExceptionFailure",
        "FetchFailed",
        "ExecutorLostFailure",
        "TaskResultLost",
        "TaskCommitDenied",
        "Resubmitted",
        "UnknownReason",
    ];
    REASONS.into_iter().find(|known| *known == reason)
}

/// A task's `"Task End Reason"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskEndReason<'a> {
    /// `Success`, `TaskKilled`, `ExceptionFailure`, `FetchFailed`, `ExecutorLostFailure`, …
    #[serde(rename = "Reason", borrow)]
    pub reason: Cow<'a, str>,
    /// The exception class of an `ExceptionFailure`.
    #[serde(rename = "Class Name", borrow, default)]
    pub class_name: Option<Cow<'a, str>>,
    /// The exception message of an `ExceptionFailure`.
    #[serde(rename = "Description", borrow, default)]
    pub description: Option<Cow<'a, str>>,
}

/// How a task attempt ended, in the History Server's three buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOutcome {
    /// `Success`.
    Succeeded,
    /// `TaskKilled` and `TaskCommitDenied` (the History Server counts both as killed).
    Killed,
    /// Every other reason.
    Failed,
}

impl TaskEndReason<'_> {
    /// The bucket this reason falls in.
    pub fn outcome(&self) -> TaskOutcome {
        match self.reason.as_ref() {
            "Success" => TaskOutcome::Succeeded,
            "TaskKilled" | "TaskCommitDenied" => TaskOutcome::Killed,
            _ => TaskOutcome::Failed,
        }
    }
}

/// A task's `"Task Info"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskInfo<'a> {
    /// The executor that ran the task (`driver` in local mode).
    #[serde(rename = "Executor ID", borrow, default)]
    pub executor_id: Option<Cow<'a, str>>,
    /// Launch time, epoch milliseconds.
    #[serde(rename = "Launch Time", default)]
    pub launch_time: Option<i64>,
    /// Finish time, epoch milliseconds.
    #[serde(rename = "Finish Time", default)]
    pub finish_time: Option<i64>,
    /// Whether the attempt was a speculative copy.
    #[serde(rename = "Speculative", default)]
    pub speculative: bool,
    /// The task id, unique within the application (`TID` in Spark's messages).
    #[serde(rename = "Task ID", default)]
    pub task_id: Option<u64>,
    /// The task's index within its stage attempt (its partition, for most stages).
    #[serde(rename = "Index", default)]
    pub index: Option<u32>,
    /// The attempt number of this task index (0 for the first).
    #[serde(rename = "Attempt", default)]
    pub attempt: Option<u32>,
    /// The host of the executor that ran the task.
    #[serde(rename = "Host", borrow, default)]
    pub host: Option<Cow<'a, str>>,
}

/// A task's `"Task Metrics"`: the counters sparkplane sums. Missing counters read as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TaskMetrics {
    /// Wall-clock time running the task body, milliseconds.
    #[serde(rename = "Executor Run Time")]
    pub executor_run_time_ms: i64,
    /// CPU time running the task body, nanoseconds.
    #[serde(rename = "Executor CPU Time")]
    pub executor_cpu_time_ns: i64,
    /// Time in JVM garbage collection while the task ran, milliseconds.
    #[serde(rename = "JVM GC Time")]
    pub jvm_gc_time_ms: i64,
    /// Peak bytes of Spark execution memory (sort, aggregation and join buffers) the task held.
    #[serde(rename = "Peak Execution Memory")]
    pub peak_execution_memory: i64,
    /// Bytes spilled from memory (deserialized size).
    #[serde(rename = "Memory Bytes Spilled")]
    pub memory_bytes_spilled: i64,
    /// Bytes spilled to disk (serialized size).
    #[serde(rename = "Disk Bytes Spilled")]
    pub disk_bytes_spilled: i64,
    /// Reading the task's input.
    #[serde(rename = "Input Metrics")]
    pub input: InputMetrics,
    /// Writing the task's output.
    #[serde(rename = "Output Metrics")]
    pub output: OutputMetrics,
    /// Reading shuffle blocks.
    #[serde(rename = "Shuffle Read Metrics")]
    pub shuffle_read: ShuffleReadMetrics,
    /// Writing shuffle blocks.
    #[serde(rename = "Shuffle Write Metrics")]
    pub shuffle_write: ShuffleWriteMetrics,
}

/// `"Input Metrics"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InputMetrics {
    /// Bytes read from the data source.
    #[serde(rename = "Bytes Read")]
    pub bytes_read: i64,
}

/// `"Output Metrics"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OutputMetrics {
    /// Bytes written to the data sink.
    #[serde(rename = "Bytes Written")]
    pub bytes_written: i64,
}

/// `"Shuffle Read Metrics"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShuffleReadMetrics {
    /// Shuffle bytes fetched from other executors.
    #[serde(rename = "Remote Bytes Read")]
    pub remote_bytes_read: i64,
    /// Shuffle bytes read from this executor's own disk.
    #[serde(rename = "Local Bytes Read")]
    pub local_bytes_read: i64,
}

/// `"Shuffle Write Metrics"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShuffleWriteMetrics {
    /// Shuffle bytes written.
    #[serde(rename = "Shuffle Bytes Written")]
    pub bytes_written: i64,
}

/// `SparkListenerExecutorAdded`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExecutorAdded<'a> {
    /// When the executor registered, epoch milliseconds.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// The executor id (`driver` for the local-mode driver).
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    /// Host and cores.
    #[serde(rename = "Executor Info", borrow, default)]
    pub info: ExecutorInfo<'a>,
}

/// An executor's `"Executor Info"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ExecutorInfo<'a> {
    /// The executor's host.
    #[serde(rename = "Host", borrow, default)]
    pub host: Option<Cow<'a, str>>,
    /// Cores the executor offers to tasks.
    #[serde(rename = "Total Cores", default)]
    pub total_cores: Option<u32>,
}

/// `SparkListenerExecutorRemoved`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExecutorRemoved<'a> {
    /// When the executor went away, epoch milliseconds.
    #[serde(rename = "Timestamp")]
    pub timestamp: i64,
    /// The executor id.
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    /// Why it went away.
    #[serde(rename = "Removed Reason", borrow, default)]
    pub reason: Option<Cow<'a, str>>,
}

/// An executor's peak memory figures, bytes, as Spark's `ExecutorMetricType`s name them.
/// Missing figures read as 0 (not measured); the process-tree ones need
/// `spark.executor.processTreeMetrics.enabled` and Linux.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ExecutorMetrics {
    /// Heap in use by the JVM (`MemoryMXBean` heap used).
    #[serde(rename = "JVMHeapMemory")]
    pub jvm_heap: i64,
    /// JVM memory outside the heap (metaspace, code cache, …).
    #[serde(rename = "JVMOffHeapMemory")]
    pub jvm_off_heap: i64,
    /// Spark execution memory on the heap.
    #[serde(rename = "OnHeapExecutionMemory")]
    pub on_heap_execution: i64,
    /// Spark execution memory off the heap.
    #[serde(rename = "OffHeapExecutionMemory")]
    pub off_heap_execution: i64,
    /// Spark storage (cache) memory on the heap.
    #[serde(rename = "OnHeapStorageMemory")]
    pub on_heap_storage: i64,
    /// Spark storage (cache) memory off the heap.
    #[serde(rename = "OffHeapStorageMemory")]
    pub off_heap_storage: i64,
    /// Direct byte buffers (netty, NIO).
    #[serde(rename = "DirectPoolMemory")]
    pub direct_pool: i64,
    /// Memory-mapped buffers.
    #[serde(rename = "MappedPoolMemory")]
    pub mapped_pool: i64,
    /// Resident set of the executor's JVM process tree.
    #[serde(rename = "ProcessTreeJVMRSSMemory")]
    pub process_tree_jvm_rss: i64,
    /// Resident set of its Python workers.
    #[serde(rename = "ProcessTreePythonRSSMemory")]
    pub process_tree_python_rss: i64,
    /// Resident set of its other child processes.
    #[serde(rename = "ProcessTreeOtherRSSMemory")]
    pub process_tree_other_rss: i64,
}

/// `SparkListenerStageExecutorMetrics`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StageExecutorMetrics<'a> {
    /// The executor (`driver` for the driver).
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    /// Its peaks during the stage.
    #[serde(rename = "Executor Metrics", default)]
    pub metrics: ExecutorMetrics,
}

/// `SparkListenerBlockManagerAdded`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockManagerAdded<'a> {
    /// Which executor (or `driver`) the block manager belongs to.
    #[serde(rename = "Block Manager ID", borrow)]
    pub block_manager: BlockManagerId<'a>,
    /// Storage memory available, bytes.
    #[serde(rename = "Maximum Memory", default)]
    pub max_memory: Option<i64>,
    /// When it registered, epoch milliseconds.
    #[serde(rename = "Timestamp", default)]
    pub timestamp: Option<i64>,
}

/// A `"Block Manager ID"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockManagerId<'a> {
    /// The executor id, `driver` for the driver's block manager.
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    /// The host.
    #[serde(rename = "Host", borrow, default)]
    pub host: Option<Cow<'a, str>>,
}

/// Why a line could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The event name, when it could be read.
    pub event: Option<String>,
    /// What was wrong, e.g. ``SparkListenerJobEnd: missing field `Job ID` (column 52)``.
    pub message: String,
}

/// Parses one line of an event log.
///
/// `Ok(None)` means a well-formed event sparkplane does not use; it is not
/// parsed beyond its name. A line that is not JSON, is cut off, or lacks a
/// field an event needs is an error; the caller records it and goes on.
pub fn parse_event(line: &str) -> Result<Option<SparkEvent<'_>>, ParseError> {
    let line = line.trim();
    if !(line.starts_with('{') && line.ends_with('}')) {
        return Err(ParseError { event: None, message: "line is not a JSON object (cut off or corrupt)".to_string() });
    }
    let name = match fast_event_name(line) {
        Some(name) => Cow::Borrowed(name),
        None => slow_event_name(line)?,
    };
    let event = match name.as_ref() {
        "SparkListenerLogStart" => SparkEvent::LogStart(typed(&name, line)?),
        "SparkListenerApplicationStart" => SparkEvent::ApplicationStart(typed(&name, line)?),
        "SparkListenerApplicationEnd" => SparkEvent::ApplicationEnd(typed(&name, line)?),
        "SparkListenerEnvironmentUpdate" => {
            SparkEvent::EnvironmentUpdate(environment::environment_update(&name, line)?)
        }
        "SparkListenerJobStart" => SparkEvent::JobStart(typed(&name, line)?),
        "SparkListenerJobEnd" => SparkEvent::JobEnd(typed(&name, line)?),
        "SparkListenerStageSubmitted" => SparkEvent::StageSubmitted(typed(&name, line)?),
        "SparkListenerStageCompleted" => SparkEvent::StageCompleted(typed(&name, line)?),
        "SparkListenerTaskEnd" => SparkEvent::TaskEnd(typed(&name, line)?),
        "SparkListenerExecutorAdded" => SparkEvent::ExecutorAdded(typed(&name, line)?),
        "SparkListenerExecutorRemoved" => SparkEvent::ExecutorRemoved(typed(&name, line)?),
        "SparkListenerBlockManagerAdded" => SparkEvent::BlockManagerAdded(typed(&name, line)?),
        "SparkListenerStageExecutorMetrics" => SparkEvent::StageExecutorMetrics(typed(&name, line)?),
        "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart" => {
            SparkEvent::SqlExecutionStart(typed(&name, line)?)
        }
        other => match other.strip_prefix(CONNECT_EVENT_PREFIX).and_then(ConnectEventKind::from_suffix) {
            Some(kind) => {
                let time: ConnectEventTime = typed(&name, line)?;
                SparkEvent::Connect(ConnectEvent { kind, time_ms: time.event_time })
            }
            None => return Ok(None),
        },
    };
    Ok(Some(event))
}

/// Spark writes `"Event"` first; read the name without parsing the line.
fn fast_event_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(r#"{"Event":""#)?;
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    (rest.as_bytes()[end] == b'"').then(|| &rest[..end])
}

/// The event name from a full parse, for lines not written the way Spark writes them.
fn slow_event_name(line: &str) -> Result<Cow<'_, str>, ParseError> {
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(rename = "Event", borrow)]
        event: Option<Cow<'a, str>>,
    }
    match serde_json::from_str::<Tag<'_>>(line) {
        Ok(Tag { event: Some(event) }) => Ok(event),
        Ok(Tag { event: None }) => {
            Err(ParseError { event: None, message: "JSON object has no \"Event\" field".to_string() })
        }
        Err(error) => Err(ParseError { event: None, message: format!("not valid JSON: {}", describe(&error)) }),
    }
}

fn typed<'a, T: Deserialize<'a>>(name: &str, line: &'a str) -> Result<T, ParseError> {
    serde_json::from_str(line)
        .map_err(|error| ParseError { event: Some(name.to_string()), message: format!("{name}: {}", describe(&error)) })
}

/// serde_json's message without its "at line 1 column N" (every event is one line).
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let message = text.rfind(" at line ").map_or(text.as_str(), |at| &text[..at]);
    format!("{message} (column {})", error.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_connect_events_are_counted_by_kind_without_their_text() {
        // Lines as Spark 4.1.4's Connect server wrote them (fields trimmed).
        let started = r#"{"Event":"org.apache.spark.sql.connect.service.SparkListenerConnectOperationStarted","jobTag":"t","operationId":"o","eventTime":1795480350057,"sessionId":"s","userId":"","userName":"","statementText":"sql { query: \"SELECT 1\" }","sparkSessionTags":[],"extraTags":{}}"#;
        assert_eq!(
            parse_event(started),
            Ok(Some(SparkEvent::Connect(ConnectEvent {
                kind: ConnectEventKind::OperationStarted,
                time_ms: Some(1795480350057)
            })))
        );
        let closed = r#"{"Event":"org.apache.spark.sql.connect.service.SparkListenerConnectSessionClosed","sessionId":"s","userId":"","eventTime":7,"extraTags":{}}"#;
        assert!(matches!(
            parse_event(closed),
            Ok(Some(SparkEvent::Connect(ConnectEvent { kind: ConnectEventKind::SessionClosed, time_ms: Some(7) })))
        ));
        let analyzed = r#"{"Event":"org.apache.spark.sql.connect.service.SparkListenerConnectOperationAnalyzed","jobTag":"t","operationId":"o","eventTime":1,"extraTags":{}}"#;
        assert_eq!(parse_event(analyzed), Ok(None));
        let bad =
            r#"{"Event":"org.apache.spark.sql.connect.service.SparkListenerConnectSessionStarted","eventTime":"soon"}"#;
        let error = parse_event(bad).expect_err("a string time");
        assert!(
            error
                .message
                .starts_with("org.apache.spark.sql.connect.service.SparkListenerConnectSessionStarted: invalid type"),
            "{}",
            error.message
        );
    }

    #[test]
    fn reads_the_event_name_without_parsing() {
        assert_eq!(fast_event_name(r#"{"Event":"SparkListenerJobEnd","Job ID":1}"#), Some("SparkListenerJobEnd"));
        assert_eq!(fast_event_name(r#"{ "Event": "X"}"#), None);
    }

    #[test]
    fn accepts_events_written_in_another_field_order() {
        let event = parse_event(r#"{"Spark Version":"3.5.1", "Event":"SparkListenerLogStart"}"#);
        assert!(matches!(event, Ok(Some(SparkEvent::LogStart(LogStart { spark_version })))
            if spark_version == "3.5.1"));
    }

    #[test]
    fn skips_unknown_events_but_not_cut_off_lines() {
        assert_eq!(parse_event(r#"{"Event":"org.apache.spark.sql.SomethingNew","x":[1,2]}"#), Ok(None));
        assert!(parse_event(r#"{"Event":"org.apache.spark.sql.SomethingNew","x":[1,"#).is_err());
    }

    #[test]
    fn names_the_missing_field() {
        let error = parse_event(r#"{"Event":"SparkListenerJobEnd","Completion Time":5}"#).err();
        let message = error.map(|e| e.message).unwrap_or_default();
        assert!(message.starts_with("SparkListenerJobEnd: missing field `Job ID`"), "{message}");
    }

    #[test]
    fn task_end_reasons_fall_in_history_server_buckets() {
        let reason = |r: &'static str| TaskEndReason { reason: r.into(), class_name: None, description: None };
        assert_eq!(reason("Success").outcome(), TaskOutcome::Succeeded);
        assert_eq!(reason("TaskKilled").outcome(), TaskOutcome::Killed);
        assert_eq!(reason("TaskCommitDenied").outcome(), TaskOutcome::Killed);
        assert_eq!(reason("FetchFailed").outcome(), TaskOutcome::Failed);
        assert_eq!(reason("ExecutorLostFailure").outcome(), TaskOutcome::Failed);
    }
}
