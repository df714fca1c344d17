//! `executors`, `allexecutors` and `allmiscellaneousprocess`: Spark's
//! `ExecutorSummary` (the driver's run time and GC time as Spark's status
//! store reports them), `ProcessSummary`, and peak executor metrics in
//! Spark's order, which a stage's figures use too.
//!
//! Owns: those shapes. Must not: decide an executor's figures (the replay
//! does) or read the clock (the catalog says what time it is).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::catalog::Catalog;
use crate::time::format_gmt;
use sparkplane_appstatus::replay::{AppDetail, EXECUTOR_METRIC_NAMES, Executor, PeakMetrics};

/// Peak executor metrics by name, in Spark's order.
pub(super) struct OrderedMetrics(pub(super) PeakMetrics);

impl Serialize for OrderedMetrics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(EXECUTOR_METRIC_NAMES.len()))?;
        for (k, v) in EXECUTOR_METRIC_NAMES.iter().zip(self.0.0) {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExecutorJson {
    id: String,
    host_port: String,
    is_active: bool,
    rdd_blocks: i64,
    memory_used: i64,
    disk_used: i64,
    total_cores: i64,
    max_tasks: i64,
    active_tasks: i64,
    failed_tasks: i64,
    completed_tasks: i64,
    total_tasks: i64,
    total_duration: i64,
    #[serde(rename = "totalGCTime")]
    total_gc_time: i64,
    total_input_bytes: i64,
    total_shuffle_read: i64,
    total_shuffle_write: i64,
    is_blacklisted: bool,
    max_memory: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    add_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remove_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remove_reason: Option<String>,
    executor_logs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_metrics: Option<Value>,
    blacklisted_in_stages: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peak_memory_metrics: Option<OrderedMetrics>,
    attributes: BTreeMap<String, String>,
    resources: BTreeMap<String, Value>,
    resource_profile_id: i64,
    is_excluded: bool,
    excluded_in_stages: Vec<i64>,
}

/// Spark's `ExecutorSummary`. The driver's `totalDuration` is the
/// application's run time and its `totalGCTime` its peak `TotalGCTime`, as
/// Spark's status store reports them.
pub(super) fn executor_json(e: &Executor, d: &AppDetail, catalog: &dyn Catalog) -> ExecutorJson {
    let driver = e.id == "driver";
    let app_time = d.app_start.map(|start| d.app_end.unwrap_or_else(|| catalog.now_ms()) - start);
    let total_duration = if driver { app_time.unwrap_or(e.total_duration) } else { e.total_duration };
    let total_gc_time = match (driver, e.peak) {
        (true, Some(peak)) => peak.get("TotalGCTime"),
        _ => e.total_gc_time,
    };
    let excluded_in_stages: Vec<i64> = e.excluded_in_stages.iter().copied().collect();
    ExecutorJson {
        id: e.id.clone(),
        host_port: e.host_port.clone(),
        is_active: e.is_active,
        rdd_blocks: e.storage.rdd_blocks,
        memory_used: e.storage.memory_used,
        disk_used: e.storage.disk_used,
        total_cores: e.total_cores,
        max_tasks: e.max_tasks.unwrap_or(e.total_cores),
        active_tasks: e.active_tasks,
        failed_tasks: e.failed_tasks,
        completed_tasks: e.completed_tasks,
        total_tasks: e.total_tasks,
        total_duration,
        total_gc_time,
        total_input_bytes: e.total_input_bytes,
        total_shuffle_read: e.total_shuffle_read,
        total_shuffle_write: e.total_shuffle_write,
        is_blacklisted: e.excluded,
        max_memory: e.max_memory,
        add_time: e.add_time.map(format_gmt),
        remove_time: e.remove_time.map(format_gmt),
        remove_reason: e.remove_reason.clone(),
        executor_logs: e.logs.clone(),
        memory_metrics: e.storage_memory.map(|(on_heap, off_heap)| {
            serde_json::json!({
                "usedOnHeapStorageMemory": e.storage.used_on_heap, "usedOffHeapStorageMemory": e.storage.used_off_heap,
                "totalOnHeapStorageMemory": on_heap, "totalOffHeapStorageMemory": off_heap,
            })
        }),
        blacklisted_in_stages: excluded_in_stages.clone(),
        peak_memory_metrics: e.peak.map(OrderedMetrics),
        attributes: e.attributes.clone(),
        resources: e.resources.clone(),
        resource_profile_id: e.resource_profile_id,
        is_excluded: e.excluded,
        excluded_in_stages,
    }
}

/// Spark's `ProcessSummary` of a `SparkListenerMiscellaneousProcessAdded` event.
pub(super) fn process_json(event: &Value) -> Value {
    let info = event.get("info").cloned().unwrap_or(Value::Null);
    serde_json::json!({
        "id": event.get("processId").cloned().unwrap_or(Value::Null),
        "hostPort": info.get("hostPort").cloned().unwrap_or(Value::Null),
        "isActive": true,
        "totalCores": info.get("cores").cloned().unwrap_or(Value::from(0)),
        "addTime": event.get("time").and_then(Value::as_i64).map(format_gmt),
        "processLogs": info.get("logUrlInfo").cloned().unwrap_or_else(|| serde_json::json!({})),
    })
}

#[cfg(test)]
mod tests {
    use crate::api::fixture::{answer, failed_job_with_skipped_stage_and_killed_sibling};

    #[test]
    fn an_executors_total_tasks_counts_a_killed_attempt() {
        let app = failed_job_with_skipped_stage_and_killed_sibling();
        for route in ["executors", "allexecutors"] {
            let executors = answer(&app, route);
            let one = executors.as_array().into_iter().flatten().find(|e| e["id"] == "1").expect("executor 1");
            let counts = ["activeTasks", "completedTasks", "failedTasks", "totalTasks"].map(|k| one[k].as_i64());
            assert_eq!(counts, [Some(0), Some(0), Some(1), Some(2)], "{route}: {one}");
        }
    }
}
