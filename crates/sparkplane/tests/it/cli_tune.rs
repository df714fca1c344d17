//! `sparkplane tune job.yaml --history DIR` through the real binary, on histories of
//! event logs whose executors report peak memory: lowering memory with the exact patch,
//! holding it when a run spilled, confidence by number of runs, and bad input.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sparkplane_testkit::sparkplane;

const JOB: &str = "\
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: etl
spec:
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/etl.py
  executor:
    # Sized for the worst day.
    cores: 4
    memory: 4g
    instances: 2
";

const T0: i64 = 1_700_000_000_000;
const MIB: i64 = 1 << 20;

/// One run of `etl` on two 4-core executors (16 one-minute tasks, GC 1%) whose executors'
/// heap peaked at `heap_mib`, as the uncompressed event log Spark writes; `spill` bytes
/// spilled to disk by each task.
fn run_log(id: u32, heap_mib: i64, spill: i64) -> String {
    let start = T0 + i64::from(id) * 3_600_000;
    let mut events = vec![
        json!({"Event": "SparkListenerLogStart", "Spark Version": "3.5.7"}),
        json!({"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": {
            "spark.master": "k8s://https://api:6443", "spark.app.name": "etl", "spark.executor.memory": "4g",
            "spark.executor.cores": "4", "spark.executor.instances": "2"}}),
        json!({"Event": "SparkListenerApplicationStart", "App Name": "etl", "App ID": format!("spark-{id}"),
               "Timestamp": start}),
    ];
    for executor in ["1", "2"] {
        events.push(json!({"Event": "SparkListenerExecutorAdded", "Timestamp": start + 1_000,
                           "Executor ID": executor, "Executor Info": {"Host": "node", "Total Cores": 4}}));
    }
    let stage = json!({"Stage ID": 0, "Stage Attempt ID": 0, "Stage Name": "map at etl.py:3", "Number of Tasks": 16,
                       "Submission Time": start + 2_000});
    events.push(json!({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": start + 2_000,
                       "Stage IDs": [0]}));
    events.push(json!({"Event": "SparkListenerStageSubmitted", "Stage Info": stage}));
    for task in 0..16i64 {
        let launch = start + 2_000 + (task / 8) * 60_000;
        events.push(json!({
            "Event": "SparkListenerTaskEnd", "Stage ID": 0, "Stage Attempt ID": 0,
            "Task End Reason": {"Reason": "Success"},
            "Task Info": {"Executor ID": if task % 2 == 0 { "1" } else { "2" }, "Launch Time": launch,
                          "Finish Time": launch + 60_000},
            "Task Metrics": {"Executor Run Time": 60_000, "JVM GC Time": 600, "Disk Bytes Spilled": spill,
                             "Memory Bytes Spilled": spill},
            "Task Executor Metrics": {"JVMHeapMemory": heap_mib * MIB * (task + 1) / 16,
                                      "JVMOffHeapMemory": 90 * MIB}
        }));
    }
    let mut done = stage.clone();
    done["Completion Time"] = json!(start + 122_000);
    events.push(json!({"Event": "SparkListenerStageCompleted", "Stage Info": done}));
    events.push(json!({"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": start + 122_000,
                       "Job Result": {"Result": "JobSucceeded"}}));
    events.push(json!({"Event": "SparkListenerApplicationEnd", "Timestamp": start + 125_000}));
    events.iter().map(|e| format!("{e}\n")).collect()
}

/// A job file and a history directory holding one log per `(heap_mib, spill)`.
fn workspace(runs: &[(i64, i64)]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = dir.path().join("etl.yaml");
    std::fs::write(&job, JOB).expect("the job file is written");
    let history = dir.path().join("history");
    std::fs::create_dir(&history).expect("the history directory");
    for (i, (heap, spill)) in runs.iter().enumerate() {
        let id = i as u32 + 1;
        std::fs::write(history.join(format!("spark-{id}")), run_log(id, *heap, *spill)).expect("a log");
    }
    (dir, job, history)
}

fn tune_json(job: &Path, history: &Path, extra: &[&str]) -> Value {
    let out = sparkplane()
        .args(["tune", "-o", "json"])
        .arg(job)
        .arg("--history")
        .arg(history)
        .args(extra)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn changes(report: &Value) -> Vec<(String, String)> {
    report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["path"].as_str().unwrap_or("").to_owned(), c["to"].as_str().unwrap_or("").to_owned()))
        .collect()
}

#[test]
fn one_over_provisioned_run_lowers_the_heap_with_low_confidence_and_write_patches_it() {
    let (_dir, job, history) = workspace(&[(1_536, 0)]);
    let report = tune_json(&job, &history, &[]);
    // 1536 MiB × 1.5 (one run) = 2304 MiB, rounded to 256 MiB; Python's overhead follows from the model.
    assert_eq!(changes(&report), [("spec.executor.memory".to_owned(), "2304Mi".to_owned())]);
    assert_eq!(report["patch"], json!({"spec": {"executor": {"memory": "2304Mi"}}}));
    assert_eq!(report["confidence"], "low");
    assert_eq!(report["changes"][0]["from"], "4Gi");
    let why = report["changes"][0]["why"].as_str().unwrap_or("");
    assert!(why.contains("from 5734Mi to 3225Mi"), "{why}");
    assert_eq!(report["changes"][0]["bounds"]["max"], "1.5 GiB");

    let written = tune_json(&job, &history, &["--write"]);
    assert_eq!(written["written"], true);
    let text = std::fs::read_to_string(&job).expect("the job file reads");
    assert!(text.contains("    memory: 2304Mi\n"), "{text}");
    assert!(text.contains("# Sized for the worst day."), "{text}");
    // Tuned again on the same history, the job is already where the peaks say.
    let again = tune_json(&job, &history, &[]);
    assert_eq!(changes(&again), Vec::<(String, String)>::new());
}

#[test]
fn five_consistent_runs_give_high_confidence_and_less_headroom() {
    let (_dir, job, history) = workspace(&[(1_536, 0); 5]);
    let report = tune_json(&job, &history, &[]);
    assert_eq!(report["confidence"], "high");
    assert_eq!(report["runsConsidered"], 5);
    assert_eq!(report["patch"], json!({"spec": {"executor": {"memory": "2Gi"}}}));
}

#[test]
fn a_run_that_spilled_holds_memory_whatever_the_peaks() {
    let (_dir, job, history) = workspace(&[(1_536, 0), (1_536, 64 * MIB), (1_536, 0)]);
    let report = tune_json(&job, &history, &[]);
    // Spill raises memory instead (×1.5 pod memory); it is never lowered.
    let memory: Vec<(String, String)> =
        changes(&report).into_iter().filter(|(path, _)| path == "spec.executor.memory").collect();
    assert_eq!(memory, [("spec.executor.memory".to_owned(), "6Gi".to_owned())]);
}

#[test]
fn a_missing_history_is_an_input_error() {
    let (dir, job, _history) = workspace(&[]);
    let missing = dir.path().join("nope");
    let out = sparkplane().arg("tune").arg(&job).arg("--history").arg(&missing).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: cannot read event log {}: No such file or directory (os error 2)\n  help: pass the directory \
             Spark writes event logs to (spark.eventLog.dir), as a path or an object-store URL such as \
             s3://bucket/spark-events\n",
            missing.display()
        )
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&job).expect("the job reads"), JOB, "the job file is untouched");
}
