//! `stages`, `stages/{id}` and `stages/{id}/{attempt}`: Spark's
//! `StageData` with its options (`details`, `taskStatus`, `withSummaries`,
//! `quantiles`), an executor's figures in a stage (`ExecutorStageSummary`)
//! and their distributions (`ExecutorMetricsDistributions`).
//!
//! Owns: those shapes and options. Must not: decide a stage's status or
//! figures (the replay does); a stage's tasks are answered by
//! [`super::tasks`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::executors::OrderedMetrics;
use super::quantiles::{parse_quantiles, quantiles_of};
use super::tasks::{AccumulableJson, TASK_STATUSES, TaskJson, accumulable_json, task_distributions, task_json};
use super::{Query, Response, count};
use crate::time::format_gmt;
use sparkplane_appstatus::replay::{AppDetail, EXECUTOR_METRIC_NAMES, ExecutorStageSummary, PeakMetrics, Stage};

pub(super) struct StageOptions {
    details: bool,
    task_status: Vec<&'static str>,
    /// `withSummaries=true`: the quantiles (sorted) of the distributions to add.
    summaries: Option<Vec<f64>>,
}

impl StageOptions {
    /// `details` defaults to false for the stage list and to true for one stage, as in Spark.
    pub(super) fn from_query(query: &Query, details_by_default: bool) -> Result<StageOptions, Response> {
        let details = if query.get("details").is_some() { query.flag("details") } else { details_by_default };
        let summaries = if query.flag("withSummaries") {
            let mut quantiles = parse_quantiles(query.get("quantiles").unwrap_or("0.0,0.25,0.5,0.75,1.0"))?;
            quantiles.sort_by(f64::total_cmp);
            Some(quantiles)
        } else {
            None
        };
        Ok(StageOptions { details, task_status: query.statuses("taskStatus", TASK_STATUSES)?, summaries })
    }
}

/// Spark's `ExecutorStageSummary`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutorStageSummaryJson {
    task_time: i64,
    failed_tasks: i64,
    succeeded_tasks: i64,
    killed_tasks: i64,
    input_bytes: i64,
    input_records: i64,
    output_bytes: i64,
    output_records: i64,
    shuffle_read: i64,
    shuffle_read_records: i64,
    shuffle_write: i64,
    shuffle_write_records: i64,
    memory_bytes_spilled: i64,
    disk_bytes_spilled: i64,
    is_blacklisted_for_stage: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory_metrics: Option<OrderedMetrics>,
    is_excluded_for_stage: bool,
}

fn executor_stage_summary_json(e: &ExecutorStageSummary) -> ExecutorStageSummaryJson {
    let m = &e.metrics;
    ExecutorStageSummaryJson {
        task_time: e.task_time,
        failed_tasks: e.failed_tasks,
        succeeded_tasks: e.succeeded_tasks,
        killed_tasks: e.killed_tasks,
        input_bytes: m.input_bytes,
        input_records: m.input_records,
        output_bytes: m.output_bytes,
        output_records: m.output_records,
        shuffle_read: m.shuffle_read_bytes(),
        shuffle_read_records: m.shuffle_records_read,
        shuffle_write: m.shuffle_bytes_written,
        shuffle_write_records: m.shuffle_records_written,
        memory_bytes_spilled: m.memory_bytes_spilled,
        disk_bytes_spilled: m.disk_bytes_spilled,
        is_blacklisted_for_stage: e.excluded,
        peak_memory_metrics: e.peak.map(OrderedMetrics),
        is_excluded_for_stage: e.excluded,
    }
}

/// Spark's `ExecutorMetricsDistributions` over a stage's executor summaries.
fn executor_metrics_distributions(stage: &Stage, quantiles: &[f64]) -> Option<Value> {
    let summaries: Vec<&ExecutorStageSummary> = stage.executor_summary.values().collect();
    if summaries.is_empty() {
        return None;
    }
    let pick = |f: &dyn Fn(&ExecutorStageSummary) -> i64| -> Vec<f64> {
        quantiles_of(summaries.iter().map(|s| f(s) as f64).collect(), quantiles)
    };
    // Spark's peak distributions are over the executors whose peaks are set.
    let set: Vec<PeakMetrics> = summaries.iter().filter_map(|s| s.peak).collect();
    let peaks: serde_json::Map<String, Value> = EXECUTOR_METRIC_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values = quantiles_of(set.iter().map(|p| p.0[i] as f64).collect(), quantiles);
            ((*name).to_owned(), serde_json::json!(values))
        })
        .collect();
    Some(serde_json::json!({
        "quantiles": quantiles,
        "taskTime": pick(&|s| s.task_time),
        "failedTasks": pick(&|s| s.failed_tasks),
        "succeededTasks": pick(&|s| s.succeeded_tasks),
        "killedTasks": pick(&|s| s.killed_tasks),
        "inputBytes": pick(&|s| s.metrics.input_bytes),
        "inputRecords": pick(&|s| s.metrics.input_records),
        "outputBytes": pick(&|s| s.metrics.output_bytes),
        "outputRecords": pick(&|s| s.metrics.output_records),
        "shuffleRead": pick(&|s| s.metrics.shuffle_read_bytes()),
        "shuffleReadRecords": pick(&|s| s.metrics.shuffle_records_read),
        "shuffleWrite": pick(&|s| s.metrics.shuffle_bytes_written),
        "shuffleWriteRecords": pick(&|s| s.metrics.shuffle_records_written),
        "memoryBytesSpilled": pick(&|s| s.metrics.memory_bytes_spilled),
        "diskBytesSpilled": pick(&|s| s.metrics.disk_bytes_spilled),
        "peakMemoryMetrics": peaks,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StageJson {
    status: &'static str,
    stage_id: i64,
    attempt_id: i64,
    num_tasks: i64,
    num_active_tasks: i64,
    num_complete_tasks: i64,
    num_failed_tasks: i64,
    num_killed_tasks: i64,
    num_completed_indices: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    submission_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_task_launched_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completion_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
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
    input_bytes: i64,
    input_records: i64,
    output_bytes: i64,
    output_records: i64,
    shuffle_remote_blocks_fetched: i64,
    shuffle_local_blocks_fetched: i64,
    shuffle_fetch_wait_time: i64,
    shuffle_remote_bytes_read: i64,
    shuffle_remote_bytes_read_to_disk: i64,
    shuffle_local_bytes_read: i64,
    shuffle_read_bytes: i64,
    shuffle_read_records: i64,
    shuffle_corrupt_merged_block_chunks: i64,
    shuffle_merged_fetch_fallback_count: i64,
    shuffle_merged_remote_blocks_fetched: i64,
    shuffle_merged_local_blocks_fetched: i64,
    shuffle_merged_remote_chunks_fetched: i64,
    shuffle_merged_local_chunks_fetched: i64,
    shuffle_merged_remote_bytes_read: i64,
    shuffle_merged_local_bytes_read: i64,
    shuffle_remote_reqs_duration: i64,
    shuffle_merged_remote_reqs_duration: i64,
    shuffle_write_bytes: i64,
    shuffle_write_time: i64,
    shuffle_write_records: i64,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    details: String,
    scheduling_pool: String,
    rdd_ids: Vec<i64>,
    accumulator_updates: Vec<AccumulableJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<BTreeMap<String, TaskJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    executor_summary: Option<BTreeMap<String, ExecutorStageSummaryJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speculation_summary: Option<Value>,
    killed_tasks_summary: BTreeMap<String, i64>,
    resource_profile_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_executor_metrics: Option<OrderedMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_metrics_distributions: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    executor_metrics_distributions: Option<Value>,
    is_shuffle_push_enabled: bool,
    shuffle_mergers_count: i64,
}

pub(super) fn stage_json(s: &Stage, d: &AppDetail, options: &StageOptions) -> StageJson {
    let m = &s.metrics;
    let tasks = options.details.then(|| {
        s.tasks
            .tasks()
            .iter()
            .filter(|t| options.task_status.is_empty() || options.task_status.contains(&t.status))
            .map(|t| (t.task_id.to_string(), task_json(t, d)))
            .collect()
    });
    let executor_summary = options
        .details
        .then(|| s.executor_summary.iter().map(|(id, e)| (id.clone(), executor_stage_summary_json(e))).collect());
    let speculation_summary = s.speculation.filter(|_| options.details).map(|[tasks, active, done, failed, killed]| {
        serde_json::json!({
            "numTasks": tasks, "numActiveTasks": active, "numCompletedTasks": done,
            "numFailedTasks": failed, "numKilledTasks": killed,
        })
    });
    let (task_metrics_distributions, executor_metrics_distributions) = match &options.summaries {
        Some(quantiles) => (task_distributions(s, quantiles), executor_metrics_distributions(s, quantiles)),
        None => (None, None),
    };
    StageJson {
        status: s.status,
        stage_id: s.stage_id,
        attempt_id: s.attempt_id,
        num_tasks: s.num_tasks,
        num_active_tasks: s.active_tasks,
        num_complete_tasks: s.complete_tasks,
        num_failed_tasks: s.failed_tasks,
        num_killed_tasks: s.killed_tasks,
        num_completed_indices: count(&s.completed_indices),
        submission_time: s.submission_time.map(format_gmt),
        first_task_launched_time: s.first_task_launched_time.map(format_gmt),
        completion_time: s.completion_time.map(format_gmt),
        failure_reason: s.failure_reason.clone(),
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
        input_bytes: m.input_bytes,
        input_records: m.input_records,
        output_bytes: m.output_bytes,
        output_records: m.output_records,
        shuffle_remote_blocks_fetched: m.shuffle_remote_blocks_fetched,
        shuffle_local_blocks_fetched: m.shuffle_local_blocks_fetched,
        shuffle_fetch_wait_time: m.shuffle_fetch_wait_time,
        shuffle_remote_bytes_read: m.shuffle_remote_bytes_read,
        shuffle_remote_bytes_read_to_disk: m.shuffle_remote_bytes_read_to_disk,
        shuffle_local_bytes_read: m.shuffle_local_bytes_read,
        shuffle_read_bytes: m.shuffle_read_bytes(),
        shuffle_read_records: m.shuffle_records_read,
        shuffle_corrupt_merged_block_chunks: m.shuffle_corrupt_merged_block_chunks,
        shuffle_merged_fetch_fallback_count: m.shuffle_merged_fetch_fallback_count,
        shuffle_merged_remote_blocks_fetched: m.shuffle_merged_remote_blocks_fetched,
        shuffle_merged_local_blocks_fetched: m.shuffle_merged_local_blocks_fetched,
        shuffle_merged_remote_chunks_fetched: m.shuffle_merged_remote_chunks_fetched,
        shuffle_merged_local_chunks_fetched: m.shuffle_merged_local_chunks_fetched,
        shuffle_merged_remote_bytes_read: m.shuffle_merged_remote_bytes_read,
        shuffle_merged_local_bytes_read: m.shuffle_merged_local_bytes_read,
        shuffle_remote_reqs_duration: m.shuffle_remote_reqs_duration,
        shuffle_merged_remote_reqs_duration: m.shuffle_merged_remote_reqs_duration,
        shuffle_write_bytes: m.shuffle_bytes_written,
        shuffle_write_time: m.shuffle_write_time,
        shuffle_write_records: m.shuffle_records_written,
        name: s.name.clone(),
        description: s.description.clone(),
        details: s.details.clone(),
        scheduling_pool: s.scheduling_pool.clone(),
        rdd_ids: s.rdd_ids.clone(),
        accumulator_updates: s.accumulables.iter().map(accumulable_json).collect(),
        tasks,
        executor_summary,
        speculation_summary,
        killed_tasks_summary: s.killed_summary.clone(),
        resource_profile_id: s.resource_profile_id,
        peak_executor_metrics: s.peak.map(OrderedMetrics),
        task_metrics_distributions,
        executor_metrics_distributions,
        is_shuffle_push_enabled: false,
        shuffle_mergers_count: 0,
    }
}

/// One executor's figures in a stage attempt as the API's `executorSummary`
/// answers them, as JSON (the web UI's stage page shows these).
pub(crate) fn executor_stage_value(e: &ExecutorStageSummary) -> Value {
    serde_json::to_value(executor_stage_summary_json(e)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use crate::api::fixture::{answer, failed_job_with_skipped_stage_and_killed_sibling};

    #[test]
    fn a_skipped_stage_has_no_peak_executor_metrics_and_a_stage_that_ran_has_them() {
        let app = failed_job_with_skipped_stage_and_killed_sibling();
        let stages = answer(&app, "stages");
        let by_id = |id: i64| stages.as_array().into_iter().flatten().find(|s| s["stageId"] == id).cloned();
        let skipped = by_id(0).expect("stage 0 listed");
        assert_eq!(skipped["status"], "SKIPPED");
        assert_eq!(skipped.get("peakExecutorMetrics"), None, "{skipped}");
        let ran = by_id(1).expect("stage 1 listed");
        assert_eq!(ran["status"], "FAILED");
        assert_eq!(ran["peakExecutorMetrics"]["JVMHeapMemory"], 200, "{ran}");
        let one = answer(&app, "stages/0/0");
        assert_eq!(one.get("peakExecutorMetrics"), None, "{one}");
    }

    #[test]
    fn an_executor_that_ran_nothing_in_a_stage_has_no_peak_memory_metrics_there_nor_in_its_distributions() {
        let app = failed_job_with_skipped_stage_and_killed_sibling();
        let stage = answer(&app, "stages/1/0?details=true&withSummaries=true&quantiles=0.0");
        let summary = &stage["executorSummary"];
        assert_eq!(summary["2"]["isExcludedForStage"], true, "{summary}");
        assert_eq!(summary["2"].get("peakMemoryMetrics"), None, "{summary}");
        assert_eq!(summary["1"]["peakMemoryMetrics"]["JVMHeapMemory"], 200, "{summary}");
        // The least peak over the executors whose peaks are set: executor 1's alone.
        let peaks = &stage["executorMetricsDistributions"]["peakMemoryMetrics"];
        assert_eq!(peaks["JVMHeapMemory"], serde_json::json!([200.0]), "{peaks}");
    }
}
