//! Builders for hand-written event-log lines, spelled as Spark's JsonProtocol writes them
//! ("Event" first, then the event's fields).

#![allow(dead_code)]

use std::path::Path;

use serde_json::{Value, json};

/// One event line: `{"Event":"<name>", …fields}`.
pub fn event(name: &str, fields: Value) -> String {
    let body = fields.to_string();
    let rest = body.strip_prefix('{').unwrap_or("}");
    if rest == "}" { format!(r#"{{"Event":"{name}"}}"#) } else { format!(r#"{{"Event":"{name}",{rest}"#) }
}

pub fn log_start(version: &str) -> String {
    event("SparkListenerLogStart", json!({"Spark Version": version}))
}

pub fn environment(properties: &[(&str, &str)]) -> String {
    let props: serde_json::Map<String, Value> =
        properties.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
    event(
        "SparkListenerEnvironmentUpdate",
        json!({
            "JVM Information": {"Java Version": "17.0.15 (Debian)"},
            "Spark Properties": props,
            "Hadoop Properties": {},
            "System Properties": {"user.name": "root"},
            "Metrics Properties": {},
            "Classpath Entries": {"/opt/spark/jars/spark-core.jar": "System Classpath"}
        }),
    )
}

pub fn app_start(name: &str, id: &str, at: i64) -> String {
    event("SparkListenerApplicationStart", json!({"App Name": name, "App ID": id, "Timestamp": at, "User": "alice"}))
}

pub fn app_end(at: i64) -> String {
    event("SparkListenerApplicationEnd", json!({"Timestamp": at}))
}

pub fn executor_added(id: &str, at: i64, cores: u32) -> String {
    event(
        "SparkListenerExecutorAdded",
        json!({"Timestamp": at, "Executor ID": id,
               "Executor Info": {"Host": "10.0.0.1", "Total Cores": cores, "Log Urls": {}, "Attributes": {},
                                 "Resources": {}, "Resource Profile Id": 0}}),
    )
}

pub fn executor_removed(id: &str, at: i64, reason: &str) -> String {
    event("SparkListenerExecutorRemoved", json!({"Timestamp": at, "Executor ID": id, "Removed Reason": reason}))
}

pub fn block_manager_added(id: &str, at: i64) -> String {
    event(
        "SparkListenerBlockManagerAdded",
        json!({"Block Manager ID": {"Executor ID": id, "Host": "10.0.0.1", "Port": 40000},
               "Maximum Memory": 455_501_414, "Timestamp": at}),
    )
}

pub fn job_start(id: u32, at: i64, stages: &[u32]) -> String {
    let infos: Vec<Value> = stages
        .iter()
        .map(|s| {
            json!({"Stage ID": s, "Stage Attempt ID": 0, "Stage Name": "collect at x.py:1", "Number of Tasks": 2,
                        "RDD Info": [], "Parent IDs": [], "Details": "", "Accumulables": []})
        })
        .collect();
    event(
        "SparkListenerJobStart",
        json!({"Job ID": id, "Submission Time": at, "Stage Infos": infos, "Stage IDs": stages, "Properties": {}}),
    )
}

pub fn job_succeeded(id: u32, at: i64) -> String {
    event("SparkListenerJobEnd", json!({"Job ID": id, "Completion Time": at, "Job Result": {"Result": "JobSucceeded"}}))
}

pub fn job_failed(id: u32, at: i64, message: &str) -> String {
    event(
        "SparkListenerJobEnd",
        json!({"Job ID": id, "Completion Time": at,
               "Job Result": {"Result": "JobFailed", "Exception": {"Message": message, "Stack Trace": [
                   {"Declaring Class": "org.apache.spark.scheduler.DAGScheduler", "Method Name": "failJobAndIndependentStages",
                    "File Name": "DAGScheduler.scala", "Line Number": 2898}]}}}),
    )
}

fn stage_info(
    id: u32,
    attempt: u32,
    tasks: u32,
    submitted: i64,
    completed: Option<i64>,
    failure: Option<&str>,
) -> Value {
    let mut info = json!({"Stage ID": id, "Stage Attempt ID": attempt, "Stage Name": "map at x.py:2",
                          "Number of Tasks": tasks, "RDD Info": [], "Parent IDs": [], "Details": "",
                          "Submission Time": submitted, "Accumulables": [], "Resource Profile Id": 0});
    if let Some(at) = completed {
        info["Completion Time"] = json!(at);
    }
    if let Some(reason) = failure {
        info["Failure Reason"] = json!(reason);
    }
    info
}

pub fn stage_submitted(id: u32, attempt: u32, tasks: u32, at: i64) -> String {
    event(
        "SparkListenerStageSubmitted",
        json!({"Stage Info": stage_info(id, attempt, tasks, at, None, None), "Properties": {}}),
    )
}

pub fn stage_completed(id: u32, attempt: u32, tasks: u32, at: i64, failure: Option<&str>) -> String {
    event(
        "SparkListenerStageCompleted",
        json!({"Stage Info": stage_info(id, attempt, tasks, at - 100, Some(at), failure)}),
    )
}

/// Task metrics, in Spark's units (CPU time in nanoseconds).
#[derive(Default, Clone, Copy)]
pub struct Metrics {
    pub run_ms: i64,
    pub cpu_ns: i64,
    pub gc_ms: i64,
    pub input: i64,
    pub output: i64,
    pub remote_read: i64,
    pub local_read: i64,
    pub shuffle_write: i64,
    pub memory_spill: i64,
    pub disk_spill: i64,
}

pub fn task_end(stage: u32, task: u64, reason: Value, finish: i64, m: Metrics) -> String {
    event(
        "SparkListenerTaskEnd",
        json!({
            "Stage ID": stage, "Stage Attempt ID": 0, "Task Type": "ResultTask", "Task End Reason": reason,
            "Task Info": {"Task ID": task, "Index": task, "Attempt": 0, "Partition ID": task, "Launch Time": finish - m.run_ms,
                          "Executor ID": "driver", "Host": "10.0.0.1", "Locality": "PROCESS_LOCAL", "Speculative": false,
                          "Getting Result Time": 0, "Finish Time": finish, "Failed": false, "Killed": false,
                          "Accumulables": [{"ID": 1, "Name": "internal.metrics.executorRunTime", "Update": m.run_ms, "Value": m.run_ms, "Internal": true, "Count Failed Values": true}]},
            "Task Executor Metrics": {"JVMHeapMemory": 0},
            "Task Metrics": {
                "Executor Deserialize Time": 10, "Executor Deserialize CPU Time": 1000, "Executor Run Time": m.run_ms,
                "Executor CPU Time": m.cpu_ns, "Peak Execution Memory": 0, "Result Size": 1000, "JVM GC Time": m.gc_ms,
                "Result Serialization Time": 0, "Memory Bytes Spilled": m.memory_spill, "Disk Bytes Spilled": m.disk_spill,
                "Shuffle Read Metrics": {"Remote Blocks Fetched": 0, "Local Blocks Fetched": 1, "Fetch Wait Time": 0,
                                         "Remote Bytes Read": m.remote_read, "Remote Bytes Read To Disk": 0,
                                         "Local Bytes Read": m.local_read, "Total Records Read": 1},
                "Shuffle Write Metrics": {"Shuffle Bytes Written": m.shuffle_write, "Shuffle Write Time": 1, "Shuffle Records Written": 1},
                "Input Metrics": {"Bytes Read": m.input, "Records Read": 1},
                "Output Metrics": {"Bytes Written": m.output, "Records Written": 1},
                "Updated Blocks": []
            }
        }),
    )
}

pub fn success() -> Value {
    json!({"Reason": "Success"})
}

pub fn killed() -> Value {
    json!({"Reason": "TaskKilled", "Kill Reason": "another attempt succeeded", "Accumulator Updates": []})
}

pub fn exception(class: &str, description: &str) -> Value {
    json!({"Reason": "ExceptionFailure", "Class Name": class, "Description": description,
           "Stack Trace": [], "Full Stack Trace": "", "Accumulator Updates": []})
}

/// Joins lines into a log body, each ending in a newline.
pub fn log(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// Compresses `text` the way Spark's zstd codec does (a zstd stream).
pub fn zstd(text: &str) -> Vec<u8> {
    zstd::encode_all(text.as_bytes(), 3).expect("zstd in memory")
}
