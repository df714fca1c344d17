//! Peak executor memory from the log's executor metrics, through the parser and the
//! model, and `tune`'s lowering rule fed by it.

use std::path::Path;

use serde_json::{Value, json};
use sparkplane_analysis::tune::{Confidence, tune};
use sparkplane_api::MemorySize;
use sparkplane_api::job::{AppType, ExecutorSpec, RoleSpec, SparkJobSpec};
use sparkplane_eventlog::{AppSummary, AppSummaryBuilder, summarize};

const T0: i64 = 1_700_000_000_000;
const MIB: i64 = 1 << 20;

fn fold(events: &[Value]) -> AppSummary {
    let mut builder = AppSummaryBuilder::new();
    for (i, event) in events.iter().enumerate() {
        builder.push_line(Path::new("app.log"), i as u64 + 1, &event.to_string());
    }
    builder.finish()
}

/// A run of `etl` on two 4-core executors with 4g heaps: one stage of 16 one-minute tasks,
/// GC at 1%, whose tasks report executor metrics with the heap peaking at `heap_mib`.
fn run(heap_mib: i64) -> AppSummary {
    let mut events = vec![
        json!({"Event": "SparkListenerLogStart", "Spark Version": "3.5.1"}),
        json!({"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": {
            "spark.master": "k8s://https://api:6443", "spark.app.name": "etl", "spark.executor.memory": "4g",
            "spark.executor.cores": "4", "spark.executor.instances": "2"}}),
        json!({"Event": "SparkListenerApplicationStart", "App Name": "etl", "App ID": "spark-1", "Timestamp": T0}),
    ];
    for id in ["1", "2"] {
        events.push(json!({"Event": "SparkListenerExecutorAdded", "Timestamp": T0 + 1_000, "Executor ID": id,
                           "Executor Info": {"Host": "node", "Total Cores": 4}}));
    }
    let stage = json!({"Stage ID": 0, "Stage Attempt ID": 0, "Stage Name": "map at etl.py:1",
                       "Number of Tasks": 16, "Submission Time": T0 + 2_000});
    events.push(json!({"Event": "SparkListenerStageSubmitted", "Stage Info": stage}));
    for task in 0..16i64 {
        let launch = T0 + 2_000 + (task / 8) * 60_000;
        // Heaps climb task by task; the last task sees the peak. The first task saw no sample (zeros).
        let heap = if task == 0 { 0 } else { heap_mib * MIB * task / 15 };
        events.push(json!({
            "Event": "SparkListenerTaskEnd", "Stage ID": 0, "Stage Attempt ID": 0,
            "Task End Reason": {"Reason": "Success"},
            "Task Info": {"Executor ID": if task % 2 == 0 { "1" } else { "2" }, "Launch Time": launch,
                          "Finish Time": launch + 60_000},
            "Task Metrics": {"Executor Run Time": 60_000, "JVM GC Time": 600, "Peak Execution Memory": 64 * MIB},
            "Task Executor Metrics": {"JVMHeapMemory": heap, "JVMOffHeapMemory": if task == 0 { 0 } else { 90 * MIB },
                                      "OnHeapExecutionMemory": 64 * MIB, "DirectPoolMemory": 8 * MIB,
                                      "MappedPoolMemory": 0, "ProcessTreeJVMRSSMemory": 0}
        }));
    }
    let mut done = stage.clone();
    done["Completion Time"] = json!(T0 + 122_000);
    events.push(json!({"Event": "SparkListenerStageCompleted", "Stage Info": done}));
    // Spark's per-stage peaks (spark.eventLog.logStageExecutorMetrics): the driver's is not an executor's.
    events.push(json!({"Event": "SparkListenerStageExecutorMetrics", "Executor ID": "driver", "Stage ID": 0,
                       "Stage Attempt ID": 0, "Executor Metrics": {"JVMHeapMemory": 3_000 * MIB}}));
    events.push(json!({"Event": "SparkListenerStageExecutorMetrics", "Executor ID": "2", "Stage ID": 0,
                       "Stage Attempt ID": 0, "Executor Metrics": {"JVMHeapMemory": heap_mib * MIB / 2,
                                                                   "ProcessTreeJVMRSSMemory": 1_700 * MIB}}));
    events.push(json!({"Event": "SparkListenerApplicationEnd", "Timestamp": T0 + 125_000}));
    fold(&events)
}

fn spec() -> SparkJobSpec {
    SparkJobSpec {
        app_type: Some(AppType::Scala),
        executor: Some(ExecutorSpec {
            role: RoleSpec { cores: Some(4), memory: Some(MemorySize::from_gib(4)), ..Default::default() },
            instances: Some(2),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn executor_metrics_fold_into_peaks_without_the_drivers() {
    let app = run(1_536);
    assert_eq!(app.warnings, vec![]);
    let peak = app.peak_memory.expect("the log carries executor metrics");
    assert_eq!(peak.jvm_heap_bytes, Some(1_536 << 20));
    assert_eq!(peak.jvm_off_heap_bytes, Some(90 << 20));
    assert_eq!(peak.buffer_pools_bytes, Some(8 << 20));
    assert_eq!(peak.jvm_rss_bytes, Some(1_700 << 20));
    assert_eq!(peak.task_peak_execution_bytes, Some(64 << 20));
    // 15 task samples with a heap (the first task's were zeros) and one stage sample; the driver's is left out.
    assert_eq!(peak.samples, 16);
    assert_eq!(app.stage_stats[0].name.as_deref(), Some("map at etl.py:1"));
}

#[test]
fn tune_lowers_memory_from_the_runs_peaks() {
    let proposal = tune(&spec(), &[run(1_536)]);
    let got: Vec<(&str, &str)> = proposal.changes.iter().map(|c| (c.path.as_str(), c.to.as_str())).collect();
    // 1536 MiB × 1.5 headroom for one run = 2304 MiB; the pod (2688 MiB) still holds the 1700 MiB RSS × 1.5.
    assert_eq!(got, [("spec.executor.memory", "2304Mi")]);
    assert_eq!(proposal.patch, json!({"spec": {"executor": {"memory": "2304Mi"}}}));
    assert_eq!(proposal.confidence, Confidence::Low);
    let five: Vec<AppSummary> = (0..5).map(|_| run(1_536)).collect();
    let proposal = tune(&spec(), &five);
    assert_eq!(proposal.confidence, Confidence::High);
    assert_eq!(proposal.patch, json!({"spec": {"executor": {"memory": "2Gi"}}}));
}

#[test]
fn the_committed_real_logs_carry_only_unmeasured_zeros() {
    // Spark wrote "Task Executor Metrics" for every task of these short local jobs, all zero (no
    // heartbeat fell inside a task), so the model has no peaks and tune leaves memory alone.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures");
    for log in ["spark-3.5.9/eventlog_v2_local-1795265030698", "spark-4.3.0/eventlog_v2_local-1795265641966"] {
        let app = summarize(&dir.join(log)).expect("the fixture reads");
        assert_eq!(app.peak_memory, None, "{log}");
    }
}
