//! A stage attempt's tasks: `stages/{id}/{attempt}/taskList` (Spark's
//! `TaskData`, paged and sorted by id or run time), `taskSummary` (Spark's
//! `TaskMetricDistributions`, kept per stage until a task changes), the
//! task statuses Spark's parameters accept, and an accumulable's shape
//! (`AccumulableInfo`, a task's and a stage's).
//!
//! Owns: those answers, Spark's scheduler delay and result-fetching time.
//! Must not: hold tasks itself (the stage's compact task store does:
//! `sparkplane_appstatus::tasks`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::quantiles::{parse_quantiles, quantiles_of};
use super::{Query, Response, json, not_found, unconvertible};
use crate::time::format_gmt;
use sparkplane_appstatus::replay::{Accumulable, AppDetail, Metrics, Stage, Task};
use sparkplane_appstatus::tasks::TaskHead;

pub(super) const TASK_STATUSES: &[&str] = &["RUNNING", "KILLED", "FAILED", "SUCCESS", "UNKNOWN"];

/// Spark's `AccumulableInfo` (`update` only for a task's).
#[derive(Serialize)]
pub(super) struct AccumulableJson {
    id: i64,
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    update: Option<String>,
    value: Option<String>,
}

pub(super) fn accumulable_json(a: &Accumulable) -> AccumulableJson {
    AccumulableJson { id: a.id, name: a.name.clone(), update: a.update.clone(), value: a.value.clone() }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TaskJson {
    task_id: i64,
    index: i64,
    attempt: i64,
    partition_id: i64,
    launch_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    executor_id: String,
    host: String,
    status: &'static str,
    task_locality: String,
    speculative: bool,
    accumulator_updates: Vec<AccumulableJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_metrics: Option<TaskMetricsJson>,
    executor_logs: BTreeMap<String, String>,
    scheduler_delay: i64,
    getting_result_time: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskMetricsJson {
    executor_deserialize_time: i64,
    executor_deserialize_cpu_time: i64,
    executor_run_time: i64,
    executor_cpu_time: i64,
    result_size: i64,
    jvm_gc_time: i64,
    result_serialization_time: i64,
    memory_bytes_spilled: i64,
    disk_bytes_spilled: i64,
    peak_execution_memory: i64,
    input_metrics: Value,
    output_metrics: Value,
    shuffle_read_metrics: Value,
    shuffle_write_metrics: Value,
}

fn task_metrics_json(m: &Metrics) -> TaskMetricsJson {
    TaskMetricsJson {
        executor_deserialize_time: m.executor_deserialize_time,
        executor_deserialize_cpu_time: m.executor_deserialize_cpu_time,
        executor_run_time: m.executor_run_time,
        executor_cpu_time: m.executor_cpu_time,
        result_size: m.result_size,
        jvm_gc_time: m.jvm_gc_time,
        result_serialization_time: m.result_serialization_time,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        peak_execution_memory: m.peak_execution_memory,
        input_metrics: serde_json::json!({ "bytesRead": m.input_bytes, "recordsRead": m.input_records }),
        output_metrics: serde_json::json!({ "bytesWritten": m.output_bytes, "recordsWritten": m.output_records }),
        shuffle_read_metrics: serde_json::json!({
            "remoteBlocksFetched": m.shuffle_remote_blocks_fetched,
            "localBlocksFetched": m.shuffle_local_blocks_fetched,
            "fetchWaitTime": m.shuffle_fetch_wait_time,
            "remoteBytesRead": m.shuffle_remote_bytes_read,
            "remoteBytesReadToDisk": m.shuffle_remote_bytes_read_to_disk,
            "localBytesRead": m.shuffle_local_bytes_read,
            "recordsRead": m.shuffle_records_read,
            "remoteReqsDuration": m.shuffle_remote_reqs_duration,
            "shufflePushReadMetrics": {
                "corruptMergedBlockChunks": m.shuffle_corrupt_merged_block_chunks,
                "mergedFetchFallbackCount": m.shuffle_merged_fetch_fallback_count,
                "remoteMergedBlocksFetched": m.shuffle_merged_remote_blocks_fetched,
                "localMergedBlocksFetched": m.shuffle_merged_local_blocks_fetched,
                "remoteMergedChunksFetched": m.shuffle_merged_remote_chunks_fetched,
                "localMergedChunksFetched": m.shuffle_merged_local_chunks_fetched,
                "remoteMergedBytesRead": m.shuffle_merged_remote_bytes_read,
                "localMergedBytesRead": m.shuffle_merged_local_bytes_read,
                "remoteMergedReqsDuration": m.shuffle_merged_remote_reqs_duration,
            }
        }),
        shuffle_write_metrics: serde_json::json!({
            "bytesWritten": m.shuffle_bytes_written,
            "writeTime": m.shuffle_write_time,
            "recordsWritten": m.shuffle_records_written,
        }),
    }
}

/// Spark's scheduler delay: the part of a task's duration not spent deserialising,
/// running, serialising the result or fetching it (0 for a task without metrics).
pub(crate) fn scheduler_delay(t: &Task) -> i64 {
    t.metrics.as_ref().map_or(0, |m| scheduler_delay_of(&t.head(), m))
}

/// Spark's scheduler delay of an attempt that reported metrics: what its
/// run time leaves after deserialising, running, serialising the result
/// and fetching it.
fn scheduler_delay_of(t: &TaskHead, m: &Metrics) -> i64 {
    let Some(duration) = t.duration() else { return 0 };
    (duration - m.executor_deserialize_time - m.executor_run_time - m.result_serialization_time - fetching_time(t))
        .max(0)
}

/// Time spent fetching the result, as Spark's `gettingResultTime`.
pub(crate) fn fetching_time(t: &TaskHead) -> i64 {
    if t.getting_result_time > 0 { t.finish_time - t.getting_result_time } else { 0 }
}

pub(super) fn task_json(t: &Task, d: &AppDetail) -> TaskJson {
    TaskJson {
        task_id: t.task_id,
        index: t.index,
        attempt: t.attempt,
        partition_id: t.partition_id,
        launch_time: format_gmt(t.launch_time),
        duration: t.duration_as_of(d.last_updated_ms),
        executor_id: t.executor_id.to_string(),
        host: t.host.to_string(),
        status: t.status,
        task_locality: t.locality.to_string(),
        speculative: t.speculative,
        accumulator_updates: t.accumulables.iter().map(accumulable_json).collect(),
        error_message: t.error_message.clone(),
        task_metrics: t.metrics.as_ref().map(task_metrics_json),
        executor_logs: d.executors.get(t.executor_id.as_str()).map(|e| e.logs.clone()).unwrap_or_default(),
        scheduler_delay: scheduler_delay(t),
        getting_result_time: fetching_time(&t.head()),
    }
}

/// One task as the API's `taskList` answers it, as JSON (the web UI's task
/// table shows these rows, sorted and paged there).
pub(crate) fn task_value(t: &Task, d: &AppDetail) -> Value {
    serde_json::to_value(task_json(t, d)).unwrap_or(Value::Null)
}

pub(super) fn task_list(stage: &Stage, d: &AppDetail, query: &Query) -> Result<Response, Response> {
    let offset = query.int("offset", 0)?;
    let length = query.int("length", 20)?;
    let statuses = query.statuses("status", TASK_STATUSES)?;
    // Case-insensitive, with Spark's short names `runtime` and `-runtime`.
    let sort = query.get("sortBy").unwrap_or("ID").to_ascii_uppercase();
    let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
    let take = usize::try_from(length.max(0)).unwrap_or(usize::MAX);
    let wanted = |status: &str| statuses.is_empty() || statuses.contains(&status);
    let ids: Vec<i64> = match sort.as_str() {
        // In id order, as the store holds them: picked from the records' heads.
        "ID" => {
            stage.tasks.heads().iter().filter(|h| wanted(h.status)).skip(skip).take(take).map(|h| h.task_id).collect()
        }
        // By run time, a metric: picked without the accumulator updates, which only the page's own tasks need.
        "INCREASING_RUNTIME" | "RUNTIME" | "DECREASING_RUNTIME" | "-RUNTIME" => {
            let all = stage.tasks.tasks_without_accumulables();
            let mut tasks: Vec<&Task> = all.iter().filter(|t| wanted(t.status)).collect();
            if sort.starts_with('D') || sort.starts_with('-') {
                // Spark reads its run-time index backwards: ties come highest task id first.
                tasks.sort_by_key(|t| std::cmp::Reverse((t.metrics.map_or(-1, |m| m.executor_run_time), t.task_id)))
            } else {
                tasks.sort_by_key(|t| (t.metrics.map_or(-1, |m| m.executor_run_time), t.task_id))
            }
            tasks.into_iter().skip(skip).take(take).map(|t| t.task_id).collect()
        }
        _ => return Err(unconvertible()),
    };
    let page: Vec<TaskJson> = stage.tasks.whole(&ids).iter().map(|t| task_json(t, d)).collect();
    Ok(json(&page))
}

pub(super) fn task_summary(stage: &Stage, query: &Query) -> Result<Response, Response> {
    let quantiles = parse_quantiles(query.get("quantiles").unwrap_or("0.05,0.25,0.5,0.75,0.95"))?;
    // Made once per stage and quantiles until a task of the stage changes, as
    // Spark's status store keeps the quantiles it computed.
    let key = format!("taskSummary {quantiles:?}");
    match stage.tasks.derived(&key, || task_distributions(stage, &quantiles)).as_ref() {
        Some(body) => Ok(json(body)),
        None => Err(not_found(format!("No tasks reported metrics for {} / {} yet.", stage.stage_id, stage.attempt_id))),
    }
}

/// A figure of Spark's `TaskMetricDistributions`: its name and how it is read from a task.
type Figure = (&'static str, fn(&TaskHead, &Metrics) -> i64);

/// Every figure of the summary, in one table, so one pass over the tasks reads them all.
const FIGURES: [Figure; 38] = [
    ("duration", |t, _| t.duration().unwrap_or(0)),
    ("executorDeserializeTime", |_, m| m.executor_deserialize_time),
    ("executorDeserializeCpuTime", |_, m| m.executor_deserialize_cpu_time),
    ("executorRunTime", |_, m| m.executor_run_time),
    ("executorCpuTime", |_, m| m.executor_cpu_time),
    ("resultSize", |_, m| m.result_size),
    ("jvmGcTime", |_, m| m.jvm_gc_time),
    ("resultSerializationTime", |_, m| m.result_serialization_time),
    ("gettingResultTime", |t, _| fetching_time(t)),
    ("schedulerDelay", scheduler_delay_of),
    ("peakExecutionMemory", |_, m| m.peak_execution_memory),
    ("memoryBytesSpilled", |_, m| m.memory_bytes_spilled),
    ("diskBytesSpilled", |_, m| m.disk_bytes_spilled),
    ("bytesRead", |_, m| m.input_bytes),
    ("recordsRead", |_, m| m.input_records),
    ("bytesWritten", |_, m| m.output_bytes),
    ("recordsWritten", |_, m| m.output_records),
    ("readBytes", |_, m| m.shuffle_read_bytes()),
    ("readRecords", |_, m| m.shuffle_records_read),
    ("remoteBlocksFetched", |_, m| m.shuffle_remote_blocks_fetched),
    ("localBlocksFetched", |_, m| m.shuffle_local_blocks_fetched),
    ("fetchWaitTime", |_, m| m.shuffle_fetch_wait_time),
    ("remoteBytesRead", |_, m| m.shuffle_remote_bytes_read),
    ("remoteBytesReadToDisk", |_, m| m.shuffle_remote_bytes_read_to_disk),
    ("totalBlocksFetched", |_, m| m.shuffle_remote_blocks_fetched + m.shuffle_local_blocks_fetched),
    ("remoteReqsDuration", |_, m| m.shuffle_remote_reqs_duration),
    ("corruptMergedBlockChunks", |_, m| m.shuffle_corrupt_merged_block_chunks),
    ("mergedFetchFallbackCount", |_, m| m.shuffle_merged_fetch_fallback_count),
    ("remoteMergedBlocksFetched", |_, m| m.shuffle_merged_remote_blocks_fetched),
    ("localMergedBlocksFetched", |_, m| m.shuffle_merged_local_blocks_fetched),
    ("remoteMergedChunksFetched", |_, m| m.shuffle_merged_remote_chunks_fetched),
    ("localMergedChunksFetched", |_, m| m.shuffle_merged_local_chunks_fetched),
    ("remoteMergedBytesRead", |_, m| m.shuffle_merged_remote_bytes_read),
    ("localMergedBytesRead", |_, m| m.shuffle_merged_local_bytes_read),
    ("remoteMergedReqsDuration", |_, m| m.shuffle_merged_remote_reqs_duration),
    ("writeBytes", |_, m| m.shuffle_bytes_written),
    ("writeRecords", |_, m| m.shuffle_records_written),
    ("writeTime", |_, m| m.shuffle_write_time),
];

/// Spark's `TaskMetricDistributions` over the stage's successful tasks, if
/// any reported metrics: every figure's values gathered in one pass over
/// the records (no task materialised), then each figure's quantiles.
pub(super) fn task_distributions(stage: &Stage, quantiles: &[f64]) -> Option<Value> {
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); FIGURES.len()];
    stage.tasks.each_with_metrics("SUCCESS", |t, m| {
        for (column, (_, figure)) in columns.iter_mut().zip(FIGURES.iter()) {
            column.push(figure(t, m) as f64);
        }
    });
    if columns[0].is_empty() {
        return None;
    }
    let mut q: BTreeMap<&str, Vec<f64>> =
        FIGURES.iter().zip(columns).map(|((name, _), values)| (*name, quantiles_of(values, quantiles))).collect();
    let mut take = |name: &str| q.remove(name).unwrap_or_default();
    let body = serde_json::json!({
        "quantiles": quantiles,
        "duration": take("duration"),
        "executorDeserializeTime": take("executorDeserializeTime"),
        "executorDeserializeCpuTime": take("executorDeserializeCpuTime"),
        "executorRunTime": take("executorRunTime"),
        "executorCpuTime": take("executorCpuTime"),
        "resultSize": take("resultSize"),
        "jvmGcTime": take("jvmGcTime"),
        "resultSerializationTime": take("resultSerializationTime"),
        "gettingResultTime": take("gettingResultTime"),
        "schedulerDelay": take("schedulerDelay"),
        "peakExecutionMemory": take("peakExecutionMemory"),
        "memoryBytesSpilled": take("memoryBytesSpilled"),
        "diskBytesSpilled": take("diskBytesSpilled"),
        "inputMetrics": { "bytesRead": take("bytesRead"), "recordsRead": take("recordsRead") },
        "outputMetrics": { "bytesWritten": take("bytesWritten"), "recordsWritten": take("recordsWritten") },
        "shuffleReadMetrics": {
            "readBytes": take("readBytes"),
            "readRecords": take("readRecords"),
            "remoteBlocksFetched": take("remoteBlocksFetched"),
            "localBlocksFetched": take("localBlocksFetched"),
            "fetchWaitTime": take("fetchWaitTime"),
            "remoteBytesRead": take("remoteBytesRead"),
            "remoteBytesReadToDisk": take("remoteBytesReadToDisk"),
            "totalBlocksFetched": take("totalBlocksFetched"),
            "remoteReqsDuration": take("remoteReqsDuration"),
            "shufflePushReadMetricsDist": {
                "corruptMergedBlockChunks": take("corruptMergedBlockChunks"),
                "mergedFetchFallbackCount": take("mergedFetchFallbackCount"),
                "remoteMergedBlocksFetched": take("remoteMergedBlocksFetched"),
                "localMergedBlocksFetched": take("localMergedBlocksFetched"),
                "remoteMergedChunksFetched": take("remoteMergedChunksFetched"),
                "localMergedChunksFetched": take("localMergedChunksFetched"),
                "remoteMergedBytesRead": take("remoteMergedBytesRead"),
                "localMergedBytesRead": take("localMergedBytesRead"),
                "remoteMergedReqsDuration": take("remoteMergedReqsDuration"),
            },
        },
        "shuffleWriteMetrics": {
            "writeBytes": take("writeBytes"),
            "writeRecords": take("writeRecords"),
            "writeTime": take("writeTime"),
        },
    });
    Some(body)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::fixture::{OneApp, answer, task};
    use sparkplane_appstatus::replay::DetailBuilder;

    /// Spark's History Server measures a task still running to its attempt's
    /// `lastUpdated` (`LiveTask.timeRunning(lastUpdateTime)`), not to the request.
    #[test]
    fn a_running_tasks_duration_is_measured_to_the_attempts_last_update() {
        let lines = [
            r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1,"User":"u"}"#.to_owned(),
            r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":2,"Submission Time":4}}"#.to_owned(),
            task("SparkListenerTaskStart", 0, None),
            task("SparkListenerTaskStart", 1, None),
            task("SparkListenerTaskEnd", 0, Some(r#"{"Reason":"Success"}"#)),
        ];
        let mut builder = DetailBuilder::new();
        for (n, line) in lines.iter().enumerate() {
            builder.push_line(n as u64 + 1, line);
        }
        let mut detail = builder.finish();
        let durations = |detail: &AppDetail| {
            let tasks = answer(&OneApp(Arc::new(detail.clone())), "stages/1/0/taskList");
            tasks
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| (t["status"].clone(), t["duration"].clone()))
                .collect::<Vec<_>>()
        };
        // Launched at 10; the ended one finished at 20.
        assert_eq!(durations(&detail), [("SUCCESS".into(), 10.into()), ("RUNNING".into(), Value::Null)]);
        detail.last_updated_ms = Some(1_010);
        assert_eq!(durations(&detail), [("SUCCESS".into(), 10.into()), ("RUNNING".into(), 1_000.into())]);
    }
}
