//! The task events in full, for readers that keep every task attempt (the
//! History Server's task list and task summary): `SparkListenerTaskStart` and
//! `SparkListenerTaskEnd` with all of `"Task Info"`, the whole `"Task Metrics"`
//! (push-based shuffle included), every executor metric and the failure's
//! details, spelled as Spark's `JsonProtocol` writes them.
//!
//! Owns: the typed shape of those two events, their serde reading, and
//! [`parse_task_detail`], which reads a line into one of them with the same
//! name dispatch and error text as [`super::parse_event`] — directly where the
//! [`scan`] module can, by serde otherwise. Must not: keep state or aggregate —
//! the caller folds; every other event is `Ok(None)`, left to the caller's own
//! reading.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

mod scan;

use super::{
    ExecutorMetrics, InputMetrics, OutputMetrics, ParseError, ShuffleReadMetrics, ShuffleWriteMetrics, TaskEnd,
    TaskEndReason, TaskInfo, TaskMetrics, fast_event_name, slow_event_name, typed,
};

/// A task event read in full.
#[derive(Debug, Clone, PartialEq)]
// TaskEnd is the larger and the more frequent: boxing it would allocate once per task.
#[allow(clippy::large_enum_variant)]
pub enum TaskDetailEvent<'a> {
    /// `SparkListenerTaskStart`.
    Start(TaskStartDetail<'a>),
    /// `SparkListenerTaskEnd`.
    End(TaskEndDetail<'a>),
}

/// `SparkListenerTaskStart`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskStartDetail<'a> {
    /// The stage the task belongs to.
    #[serde(rename = "Stage ID", default)]
    pub stage_id: i64,
    /// The stage attempt it belongs to.
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: i64,
    /// The attempt as launched.
    #[serde(rename = "Task Info", borrow)]
    pub info: TaskInfoDetail<'a>,
}

/// `SparkListenerTaskEnd`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskEndDetail<'a> {
    /// The stage the task belongs to.
    #[serde(rename = "Stage ID", default)]
    pub stage_id: i64,
    /// The stage attempt it belongs to.
    #[serde(rename = "Stage Attempt ID", default)]
    pub stage_attempt_id: i64,
    /// How it ended; absent means `Success`, as Spark reads it.
    #[serde(rename = "Task End Reason", borrow, default)]
    pub reason: Option<TaskEndReasonDetail<'a>>,
    /// The attempt as it ended.
    #[serde(rename = "Task Info", borrow)]
    pub info: TaskInfoDetail<'a>,
    /// What it did; absent or null for some failures.
    #[serde(rename = "Task Metrics", default)]
    pub metrics: Option<TaskMetricsDetail>,
    /// The executor's peaks while it ran (Spark 3.0+).
    #[serde(rename = "Task Executor Metrics", default)]
    pub executor_metrics: Option<ExecutorMetricsDetail>,
}

impl<'a> TaskEndDetail<'a> {
    /// The summary's reading of the same `line` (the `TaskEnd` that
    /// [`super::parse_event`] gives), taken from this one so that a reader that
    /// needs both reads the line once.
    ///
    /// What the summary's fold reads is equal to `parse_event`'s reading of the
    /// line; the fields it does not read (task id, index, attempt, host) are this
    /// reading's, so an absent one is 0 or empty rather than `None`. `None` when
    /// the summary's stricter reading might refuse the line or read it
    /// differently (no `"Stage ID"` where Spark writes it, no `"Task End
    /// Reason"` or an empty one, an id out of the summary's range, a null or
    /// repeated executor metric): read the line with `parse_event` then.
    pub fn summary_event(&self, line: &str) -> Option<TaskEnd<'a>> {
        if !line.trim_start().starts_with(r#"{"Event":"SparkListenerTaskEnd","Stage ID":"#) {
            return None;
        }
        let reason = self.reason.as_ref().filter(|r| !r.reason.is_empty())?;
        let executor_metrics = match &self.executor_metrics {
            Some(m) if m.lenient => return None,
            Some(m) => Some(m.summary_metrics()),
            None => None,
        };
        let info = &self.info;
        Some(TaskEnd {
            stage_id: u32::try_from(self.stage_id).ok()?,
            stage_attempt_id: u32::try_from(self.stage_attempt_id).ok()?,
            reason: TaskEndReason {
                reason: reason.reason.clone(),
                class_name: reason.class_name.clone(),
                description: reason.description.clone(),
            },
            info: TaskInfo {
                executor_id: Some(info.executor_id.clone()),
                launch_time: Some(info.launch_time),
                finish_time: Some(info.finish_time),
                speculative: info.speculative,
                task_id: Some(u64::try_from(info.task_id).ok()?),
                index: Some(u32::try_from(info.index).ok()?),
                attempt: Some(u32::try_from(info.attempt).ok()?),
                host: Some(info.host.clone()),
            },
            metrics: self.metrics.as_ref().map(TaskMetricsDetail::summary_metrics),
            executor_metrics,
        })
    }
}

impl TaskMetricsDetail {
    /// The counters the summary reads ([`super::TaskMetrics`]).
    fn summary_metrics(&self) -> TaskMetrics {
        TaskMetrics {
            executor_run_time_ms: self.executor_run_time,
            executor_cpu_time_ns: self.executor_cpu_time,
            jvm_gc_time_ms: self.jvm_gc_time,
            peak_execution_memory: self.peak_execution_memory,
            memory_bytes_spilled: self.memory_bytes_spilled,
            disk_bytes_spilled: self.disk_bytes_spilled,
            input: InputMetrics { bytes_read: self.input.bytes },
            output: OutputMetrics { bytes_written: self.output.bytes },
            shuffle_read: ShuffleReadMetrics {
                remote_bytes_read: self.shuffle_read.remote_bytes_read,
                local_bytes_read: self.shuffle_read.local_bytes_read,
            },
            shuffle_write: ShuffleWriteMetrics { bytes_written: self.shuffle_write.bytes_written },
        }
    }
}

/// A `"Task Info"` in full.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TaskInfoDetail<'a> {
    #[serde(rename = "Task ID")]
    pub task_id: i64,
    #[serde(rename = "Index")]
    pub index: i64,
    #[serde(rename = "Attempt")]
    pub attempt: i64,
    /// Absent before Spark 3.3; Spark then reports -1.
    #[serde(rename = "Partition ID")]
    pub partition_id: Option<i64>,
    #[serde(rename = "Launch Time")]
    pub launch_time: i64,
    #[serde(rename = "Finish Time")]
    pub finish_time: i64,
    #[serde(rename = "Getting Result Time")]
    pub getting_result_time: i64,
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Cow<'a, str>,
    #[serde(rename = "Host", borrow)]
    pub host: Cow<'a, str>,
    #[serde(rename = "Locality", borrow)]
    pub locality: Cow<'a, str>,
    #[serde(rename = "Speculative")]
    pub speculative: bool,
    /// Accumulator updates without the internal task metrics (`"Internal":
    /// true`, the task metrics again), dropped as they are read, so a task
    /// that has no other keeps no list at all. SQL metrics (`"Metadata":
    /// "sql"`, which Spark also marks internal) stay: Spark's SQL listener
    /// reads each task's update of them, while Spark's API of a task shows
    /// them not (the reader leaves them out).
    #[serde(rename = "Accumulables", borrow, deserialize_with = "shown_accumulables")]
    pub accumulables: Vec<AccumulableDetail<'a>>,
}

/// Reads an `"Accumulables"` list without the internal entries but the SQL ones.
fn shown_accumulables<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<AccumulableDetail<'a>>, D::Error> {
    struct Shown;
    impl<'de> Visitor<'de> for Shown {
        type Value = Vec<AccumulableDetail<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of accumulables")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut shown = Vec::new();
            while let Some(entry) = seq.next_element::<AccumulableDetail<'de>>()? {
                if !entry.internal || entry.metadata.as_deref() == Some("sql") {
                    shown.push(entry);
                }
            }
            Ok(shown)
        }
    }
    deserializer.deserialize_seq(Shown)
}

/// One `"Accumulables"` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AccumulableDetail<'a> {
    #[serde(rename = "ID")]
    pub id: i64,
    #[serde(rename = "Name", borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(rename = "Update", borrow)]
    pub update: AccumulableValue<'a>,
    #[serde(rename = "Value", borrow)]
    pub value: AccumulableValue<'a>,
    /// Spark's internal task metrics (`internal.metrics.*`).
    #[serde(rename = "Internal")]
    pub internal: bool,
    /// `sql` for SQL metrics.
    #[serde(rename = "Metadata", borrow)]
    pub metadata: Option<Cow<'a, str>>,
}

/// An accumulator's value as logged: a string, a number, or any other JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum AccumulableValue<'a> {
    /// Absent or null.
    #[default]
    Missing,
    Text(Cow<'a, str>),
    Int(i64),
    /// Any other JSON value, as its JSON text.
    Other(String),
}

impl AccumulableValue<'_> {
    /// The value as Spark's `toString` shows it (`None` when missing).
    pub fn to_text(&self) -> Option<String> {
        match self {
            AccumulableValue::Missing => None,
            AccumulableValue::Text(s) => Some(s.to_string()),
            AccumulableValue::Int(i) => Some(i.to_string()),
            AccumulableValue::Other(s) => Some(s.clone()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AccumulableValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AccumulableValue<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an accumulator value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Text(Cow::Owned(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or_else(|_| AccumulableValue::Other(v.to_string()), AccumulableValue::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Other(serde_json::Value::from(v).to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Other(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Missing)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(AccumulableValue::Missing)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                let value = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(AccumulableValue::Other(value.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let value = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(AccumulableValue::Other(value.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A `"Task End Reason"` with what Spark's messages for it need.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TaskEndReasonDetail<'a> {
    /// `Success`, `TaskKilled`, `ExceptionFailure`, `FetchFailed`, …
    #[serde(rename = "Reason", borrow)]
    pub reason: Cow<'a, str>,
    #[serde(rename = "Kill Reason", borrow)]
    pub kill_reason: Option<Cow<'a, str>>,
    #[serde(rename = "Kill Description", borrow)]
    pub kill_description: Option<Cow<'a, str>>,
    #[serde(rename = "Class Name", borrow)]
    pub class_name: Option<Cow<'a, str>>,
    #[serde(rename = "Description", borrow)]
    pub description: Option<Cow<'a, str>>,
    #[serde(rename = "Full Stack Trace", borrow)]
    pub full_stack_trace: Option<Cow<'a, str>>,
    #[serde(rename = "Block Manager Address", borrow)]
    pub block_manager: Option<BlockManagerAddress<'a>>,
    #[serde(rename = "Shuffle ID")]
    pub shuffle_id: i64,
    #[serde(rename = "Map Index")]
    pub map_index: i64,
    #[serde(rename = "Map ID")]
    pub map_id: i64,
    #[serde(rename = "Reduce ID")]
    pub reduce_id: i64,
    #[serde(rename = "Message", borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(rename = "Loss Reason", borrow)]
    pub loss_reason: Option<Cow<'a, str>>,
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Option<Cow<'a, str>>,
}

/// A fetch failure's `"Block Manager Address"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct BlockManagerAddress<'a> {
    #[serde(rename = "Executor ID", borrow)]
    pub executor_id: Option<Cow<'a, str>>,
}

/// `"Task Metrics"` in full; missing counters read as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TaskMetricsDetail {
    #[serde(rename = "Executor Deserialize Time")]
    pub executor_deserialize_time: i64,
    #[serde(rename = "Executor Deserialize CPU Time")]
    pub executor_deserialize_cpu_time: i64,
    #[serde(rename = "Executor Run Time")]
    pub executor_run_time: i64,
    #[serde(rename = "Executor CPU Time")]
    pub executor_cpu_time: i64,
    #[serde(rename = "Result Size")]
    pub result_size: i64,
    #[serde(rename = "JVM GC Time")]
    pub jvm_gc_time: i64,
    #[serde(rename = "Result Serialization Time")]
    pub result_serialization_time: i64,
    #[serde(rename = "Memory Bytes Spilled")]
    pub memory_bytes_spilled: i64,
    #[serde(rename = "Disk Bytes Spilled")]
    pub disk_bytes_spilled: i64,
    #[serde(rename = "Peak Execution Memory")]
    pub peak_execution_memory: i64,
    #[serde(rename = "Input Metrics")]
    pub input: InputMetricsDetail,
    #[serde(rename = "Output Metrics")]
    pub output: OutputMetricsDetail,
    #[serde(rename = "Shuffle Read Metrics")]
    pub shuffle_read: ShuffleReadDetail,
    #[serde(rename = "Shuffle Write Metrics")]
    pub shuffle_write: ShuffleWriteDetail,
}

/// `"Input Metrics"`: bytes and records read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InputMetricsDetail {
    #[serde(rename = "Bytes Read")]
    pub bytes: i64,
    #[serde(rename = "Records Read")]
    pub records: i64,
}

/// `"Output Metrics"`: bytes and records written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OutputMetricsDetail {
    #[serde(rename = "Bytes Written")]
    pub bytes: i64,
    #[serde(rename = "Records Written")]
    pub records: i64,
}

/// `"Shuffle Read Metrics"` in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShuffleReadDetail {
    #[serde(rename = "Remote Blocks Fetched")]
    pub remote_blocks_fetched: i64,
    #[serde(rename = "Local Blocks Fetched")]
    pub local_blocks_fetched: i64,
    #[serde(rename = "Fetch Wait Time")]
    pub fetch_wait_time: i64,
    #[serde(rename = "Remote Bytes Read")]
    pub remote_bytes_read: i64,
    #[serde(rename = "Remote Bytes Read To Disk")]
    pub remote_bytes_read_to_disk: i64,
    #[serde(rename = "Local Bytes Read")]
    pub local_bytes_read: i64,
    #[serde(rename = "Total Records Read")]
    pub records_read: i64,
    #[serde(rename = "Remote Requests Duration")]
    pub remote_reqs_duration: i64,
    #[serde(rename = "Push Based Shuffle")]
    pub push: PushShuffleDetail,
}

/// `"Push Based Shuffle"` of a shuffle read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PushShuffleDetail {
    #[serde(rename = "Corrupt Merged Block Chunks")]
    pub corrupt_merged_block_chunks: i64,
    #[serde(rename = "Merged Fetch Fallback Count")]
    pub merged_fetch_fallback_count: i64,
    #[serde(rename = "Merged Remote Blocks Fetched")]
    pub merged_remote_blocks_fetched: i64,
    #[serde(rename = "Merged Local Blocks Fetched")]
    pub merged_local_blocks_fetched: i64,
    #[serde(rename = "Merged Remote Chunks Fetched")]
    pub merged_remote_chunks_fetched: i64,
    #[serde(rename = "Merged Local Chunks Fetched")]
    pub merged_local_chunks_fetched: i64,
    #[serde(rename = "Merged Remote Bytes Read")]
    pub merged_remote_bytes_read: i64,
    #[serde(rename = "Merged Local Bytes Read")]
    pub merged_local_bytes_read: i64,
    #[serde(rename = "Merged Remote Requests Duration")]
    pub merged_remote_reqs_duration: i64,
}

/// `"Shuffle Write Metrics"` in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShuffleWriteDetail {
    #[serde(rename = "Shuffle Bytes Written")]
    pub bytes_written: i64,
    #[serde(rename = "Shuffle Write Time")]
    pub write_time: i64,
    #[serde(rename = "Shuffle Records Written")]
    pub records_written: i64,
}

/// Spark 4.1's executor metric names (`ExecutorMetricType`), in the order its
/// REST API lists them; [`ExecutorMetricsDetail::values`] follows it.
pub const EXECUTOR_METRIC_NAMES: [&str; 23] = [
    "JVMHeapMemory",
    "JVMOffHeapMemory",
    "OnHeapExecutionMemory",
    "OffHeapExecutionMemory",
    "OnHeapStorageMemory",
    "OffHeapStorageMemory",
    "OnHeapUnifiedMemory",
    "OffHeapUnifiedMemory",
    "DirectPoolMemory",
    "MappedPoolMemory",
    "ProcessTreeJVMVMemory",
    "ProcessTreeJVMRSSMemory",
    "ProcessTreePythonVMemory",
    "ProcessTreePythonRSSMemory",
    "ProcessTreeOtherVMemory",
    "ProcessTreeOtherRSSMemory",
    "MinorGCCount",
    "MinorGCTime",
    "MajorGCCount",
    "MajorGCTime",
    "TotalGCTime",
    "ConcurrentGCCount",
    "ConcurrentGCTime",
];

/// An executor metric's name as logged, borrowed from the line unless escaped.
#[derive(Deserialize)]
struct MetricName<'a>(#[serde(borrow)] Cow<'a, str>);

/// The position of a metric in [`EXECUTOR_METRIC_NAMES`] (a match, not a scan:
/// every task end names all of them).
fn metric_slot(name: &str) -> Option<usize> {
    Some(match name {
        "JVMHeapMemory" => 0,
        "JVMOffHeapMemory" => 1,
        "OnHeapExecutionMemory" => 2,
        "OffHeapExecutionMemory" => 3,
        "OnHeapStorageMemory" => 4,
        "OffHeapStorageMemory" => 5,
        "OnHeapUnifiedMemory" => 6,
        "OffHeapUnifiedMemory" => 7,
        "DirectPoolMemory" => 8,
        "MappedPoolMemory" => 9,
        "ProcessTreeJVMVMemory" => 10,
        "ProcessTreeJVMRSSMemory" => 11,
        "ProcessTreePythonVMemory" => 12,
        "ProcessTreePythonRSSMemory" => 13,
        "ProcessTreeOtherVMemory" => 14,
        "ProcessTreeOtherRSSMemory" => 15,
        "MinorGCCount" => 16,
        "MinorGCTime" => 17,
        "MajorGCCount" => 18,
        "MajorGCTime" => 19,
        "TotalGCTime" => 20,
        "ConcurrentGCCount" => 21,
        "ConcurrentGCTime" => 22,
        _ => return None,
    })
}

/// Every executor metric of a `"Task Executor Metrics"` object; missing ones
/// (and nulls) read as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecutorMetricsDetail {
    values: [i64; EXECUTOR_METRIC_NAMES.len()],
    /// A known metric was null or named twice: the summary's stricter reading
    /// ([`super::ExecutorMetrics`]) may refuse what this one accepted.
    lenient: bool,
}

impl ExecutorMetricsDetail {
    /// The values in [`EXECUTOR_METRIC_NAMES`] order.
    pub fn values(&self) -> [i64; EXECUTOR_METRIC_NAMES.len()] {
        self.values
    }

    /// The figures the summary reads ([`super::ExecutorMetrics`]).
    fn summary_metrics(&self) -> ExecutorMetrics {
        let v = |name: &str| metric_slot(name).map_or(0, |i| self.values[i]);
        ExecutorMetrics {
            jvm_heap: v("JVMHeapMemory"),
            jvm_off_heap: v("JVMOffHeapMemory"),
            on_heap_execution: v("OnHeapExecutionMemory"),
            off_heap_execution: v("OffHeapExecutionMemory"),
            on_heap_storage: v("OnHeapStorageMemory"),
            off_heap_storage: v("OffHeapStorageMemory"),
            direct_pool: v("DirectPoolMemory"),
            mapped_pool: v("MappedPoolMemory"),
            process_tree_jvm_rss: v("ProcessTreeJVMRSSMemory"),
            process_tree_python_rss: v("ProcessTreePythonRSSMemory"),
            process_tree_other_rss: v("ProcessTreeOtherRSSMemory"),
        }
    }
}

impl<'de> Deserialize<'de> for ExecutorMetricsDetail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExecutorMetricsDetail;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of executor metrics")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = ExecutorMetricsDetail::default();
                let mut seen = 0u32;
                // Borrowed from the line: a plain `Cow<str>` key would allocate a String per metric.
                while let Some(MetricName(name)) = map.next_key::<MetricName<'de>>()? {
                    match metric_slot(&name) {
                        Some(slot) => {
                            let value = map.next_value::<Option<i64>>()?;
                            out.lenient |= value.is_none() || seen & (1 << slot) != 0;
                            seen |= 1 << slot;
                            out.values[slot] = value.unwrap_or(0);
                        }
                        None => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Reads a task start or end in full; every other well-formed event is `Ok(None)`.
/// Errors are worded as [`super::parse_event`]'s.
///
/// Task events Spark wrote are read directly ([`scan_task_detail`]); a line
/// that reading declines is read by serde ([`serde_task_detail`]), with the
/// same result either way.
pub fn parse_task_detail(line: &str) -> Result<Option<TaskDetailEvent<'_>>, ParseError> {
    match scan_task_detail(line) {
        Some(event) => Ok(Some(event)),
        None => serde_task_detail(line),
    }
}

/// The direct reading of a task start or end ([`scan`]): `None` when the line
/// is not one, or is not written the way it is certain to read exactly as
/// [`serde_task_detail`] does. Public for the tests and the fuzz target that
/// hold the two readings equal.
pub fn scan_task_detail(line: &str) -> Option<TaskDetailEvent<'_>> {
    let line = line.trim();
    match fast_event_name(line)? {
        "SparkListenerTaskStart" => scan::task_start(line).map(TaskDetailEvent::Start),
        "SparkListenerTaskEnd" => scan::task_end(line).map(TaskDetailEvent::End),
        _ => None,
    }
}

/// serde's reading of a task start or end: the reference for every line, and
/// the reading of those [`scan_task_detail`] declines.
pub fn serde_task_detail(line: &str) -> Result<Option<TaskDetailEvent<'_>>, ParseError> {
    let line = line.trim();
    if !(line.starts_with('{') && line.ends_with('}')) {
        return Err(ParseError { event: None, message: "line is not a JSON object (cut off or corrupt)".to_string() });
    }
    let name = match fast_event_name(line) {
        Some(name) => Cow::Borrowed(name),
        None => slow_event_name(line)?,
    };
    Ok(match name.as_ref() {
        "SparkListenerTaskStart" => Some(TaskDetailEvent::Start(typed(&name, line)?)),
        "SparkListenerTaskEnd" => Some(TaskDetailEvent::End(typed(&name, line)?)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_task_end_in_full() {
        let line = r#"{"Event":"SparkListenerTaskEnd","Stage ID":3,"Stage Attempt ID":1,"Task Type":"ResultTask",
            "Task End Reason":{"Reason":"Success"},
            "Task Info":{"Task ID":7,"Index":2,"Attempt":0,"Partition ID":2,"Launch Time":10,"Executor ID":"1",
              "Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":30,
              "Failed":false,"Killed":false,"Accumulables":[
                {"ID":1,"Name":"internal.metrics.executorRunTime","Update":5,"Value":9,"Internal":true},
                {"ID":2,"Name":"my","Update":"1","Value":[1,2],"Internal":false}]},
            "Task Executor Metrics":{"JVMHeapMemory":100,"ConcurrentGCTime":4,"NewMetric":1},
            "Task Metrics":{"Executor Run Time":5,"Executor CPU Time":4000,
              "Input Metrics":{"Bytes Read":11,"Records Read":1},"Output Metrics":{"Bytes Written":12,"Records Written":2},
              "Shuffle Read Metrics":{"Remote Bytes Read":3,"Local Bytes Read":4,"Total Records Read":5,
                "Push Based Shuffle":{"Merged Remote Bytes Read":6}},
              "Shuffle Write Metrics":{"Shuffle Bytes Written":8,"Shuffle Write Time":9,"Shuffle Records Written":1}}}"#
            .replace('\n', "");
        let Ok(Some(TaskDetailEvent::End(end))) = parse_task_detail(&line) else { panic!("not a task end") };
        assert_eq!((end.stage_id, end.stage_attempt_id, end.info.task_id, end.info.index), (3, 1, 7, 2));
        assert_eq!(end.reason.map(|r| r.reason.into_owned()).as_deref(), Some("Success"));
        let m = end.metrics.unwrap_or_default();
        assert_eq!(
            (m.executor_run_time, m.input.bytes, m.input.records, m.output.bytes, m.output.records),
            (5, 11, 1, 12, 2)
        );
        assert_eq!(m.shuffle_read.push.merged_remote_bytes_read, 6);
        assert_eq!((m.shuffle_write.bytes_written, m.shuffle_write.write_time), (8, 9));
        let peaks = end.executor_metrics.unwrap_or_default().values();
        assert_eq!((peaks[0], peaks[22], peaks[1]), (100, 4, 0));
        // The internal one is dropped as it is read; the other kept with its values as text.
        let acc = &end.info.accumulables;
        assert_eq!(acc.len(), 1);
        assert_eq!(
            (acc[0].id, acc[0].update.to_text().as_deref(), acc[0].value.to_text().as_deref()),
            (2, Some("1"), Some("[1,2]"))
        );
    }

    #[test]
    fn metric_slots_follow_the_names() {
        for (slot, name) in EXECUTOR_METRIC_NAMES.iter().enumerate() {
            assert_eq!(metric_slot(name), Some(slot), "{name}");
        }
        assert_eq!(metric_slot("NewMetric"), None);
    }

    #[test]
    fn other_events_are_left_to_the_caller_and_bad_lines_say_why() {
        assert_eq!(parse_task_detail(r#"{"Event":"SparkListenerJobEnd","Job ID":1}"#), Ok(None));
        let error = parse_task_detail(r#"{"Event":"SparkListenerTaskStart","Stage ID":1}"#).err();
        let message = error.map(|e| e.message).unwrap_or_default();
        assert!(message.starts_with("SparkListenerTaskStart: missing field `Task Info`"), "{message}");
        assert!(parse_task_detail(r#"{"Event":"SparkListenerTaskEnd","Stage"#).is_err());
    }
}
