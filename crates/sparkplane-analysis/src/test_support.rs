//! Fixtures shared by this crate's unit tests (compiled for tests only): an
//! application built by feeding hand-written event JSON through the model.

use std::path::Path;

use serde_json::{Value, json};
use sparkplane_eventlog::fold::AppSummaryBuilder;
use sparkplane_eventlog::model::AppSummary;

/// When the fixture application starts (epoch milliseconds).
pub const T0: i64 = 1_700_000_000_000;

/// A successful task of `stage` on executor 1.
pub fn task_end(stage: u32, launch: i64, run_ms: i64, gc_ms: i64) -> Value {
    json!({
        "Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": 0,
        "Task End Reason": {"Reason": "Success"},
        "Task Info": {"Executor ID": "1", "Launch Time": launch, "Finish Time": launch + run_ms,
                      "Speculative": false},
        "Task Metrics": {"Executor Run Time": run_ms, "JVM GC Time": gc_ms,
                         "Output Metrics": {"Bytes Written": 0}}
    })
}

/// A healthy application `etl` on two 4-core executors: one stage of 16
/// one-minute tasks in two full waves (GC 1.7 % of task time, nothing spilled,
/// no shuffle), 5 s of driver time at each end.
pub fn healthy_app() -> AppSummary {
    let mut events = vec![
        json!({"Event": "SparkListenerLogStart", "Spark Version": "3.5.1"}),
        json!({"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": {
            "spark.master": "k8s://https://api:6443", "spark.app.name": "etl",
            "spark.executor.memory": "4g", "spark.executor.cores": "4", "spark.executor.instances": "2"}}),
        json!({"Event": "SparkListenerApplicationStart", "App Name": "etl", "App ID": "spark-1",
               "Timestamp": T0, "User": "etl"}),
    ];
    for id in ["1", "2"] {
        events.push(json!({"Event": "SparkListenerExecutorAdded", "Timestamp": T0 + 2_000, "Executor ID": id,
                           "Executor Info": {"Host": "node", "Total Cores": 4}}));
    }
    events.push(json!({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": T0 + 5_000,
                       "Stage IDs": [0]}));
    let stage = json!({"Stage ID": 0, "Stage Attempt ID": 0, "Number of Tasks": 16,
                       "Submission Time": T0 + 5_000});
    events.push(json!({"Event": "SparkListenerStageSubmitted", "Stage Info": stage}));
    for wave in 0..2 {
        for _ in 0..8 {
            events.push(task_end(0, T0 + 5_000 + wave * 60_000, 60_000, 1_000));
        }
    }
    let mut done = stage.clone();
    done["Completion Time"] = json!(T0 + 125_000);
    events.push(json!({"Event": "SparkListenerStageCompleted", "Stage Info": done}));
    events.push(json!({"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": T0 + 125_000,
                       "Job Result": {"Result": "JobSucceeded"}}));
    events.push(json!({"Event": "SparkListenerApplicationEnd", "Timestamp": T0 + 130_000}));
    let mut builder = AppSummaryBuilder::new();
    for (i, event) in events.iter().enumerate() {
        builder.push_line(Path::new("app.log"), i as u64 + 1, &event.to_string());
    }
    builder.finish()
}
