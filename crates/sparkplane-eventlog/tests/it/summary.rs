//! The model from hand-written logs, fed line by line without files.

use crate::common;

use std::path::Path;

use common::*;
use serde_json::json;
use sparkplane_eventlog::{AppSummary, AppSummaryBuilder, Outcome, parse_event};

const T0: i64 = 1_700_000_000_000;

fn summarize_text(text: &str) -> AppSummary {
    let mut builder = AppSummaryBuilder::new();
    for (index, line) in text.lines().enumerate() {
        builder.push_line(Path::new("app.log"), index as u64 + 1, line);
    }
    builder.finish()
}

/// A two-job application on a local[2] driver: job 0 runs stages 0 and 1 (one task
/// killed), job 1 skips stage 2 and runs stage 3.
pub fn successful_app() -> Vec<String> {
    let m = |run_ms, cpu_ns| Metrics { run_ms, cpu_ns, ..Metrics::default() };
    vec![
        log_start("3.5.9"),
        block_manager_added("driver", T0 + 900),
        environment(&[
            ("spark.master", "local[2]"),
            ("spark.app.name", "etl"),
            ("spark.driver.memory", "2g"),
            ("spark.executor.memory", "1g"),
            ("spark.executor.cores", "2"),
            ("spark.kubernetes.driver.label.sparkplane.dev/team", "data"),
            ("spark.kubernetes.executor.label.sparkplane.dev/team", "other"),
            ("spark.kubernetes.executor.label.sparkplane.dev/cost-center", "cc-1"),
            ("spark.kubernetes.driver.label.app", "not-ours"),
        ]),
        app_start("etl", "local-1700000000000", T0),
        executor_added("driver", T0 + 1000, 2),
        job_start(0, T0 + 2000, &[0, 1]),
        stage_submitted(0, 0, 2, T0 + 2100),
        task_end(
            0,
            0,
            success(),
            T0 + 3000,
            Metrics { gc_ms: 40, input: 1000, shuffle_write: 300, ..m(800, 500_000_000) },
        ),
        task_end(
            0,
            1,
            success(),
            T0 + 3100,
            Metrics { gc_ms: 60, input: 2000, shuffle_write: 200, ..m(900, 600_000_000) },
        ),
        stage_completed(0, 0, 2, T0 + 3100, None),
        stage_submitted(1, 0, 2, T0 + 3200),
        task_end(
            1,
            2,
            success(),
            T0 + 4000,
            Metrics {
                remote_read: 100,
                local_read: 400,
                output: 5000,
                memory_spill: 64,
                disk_spill: 32,
                ..m(700, 300_000_000)
            },
        ),
        task_end(1, 3, killed(), T0 + 4100, m(100, 50_000_000)),
        stage_completed(1, 0, 2, T0 + 4100, None),
        job_succeeded(0, T0 + 4200),
        job_start(1, T0 + 5000, &[2, 3]),
        stage_submitted(3, 0, 1, T0 + 5100),
        task_end(3, 4, success(), T0 + 6000, Metrics { local_read: 500, ..m(500, 250_000_000) }),
        stage_completed(3, 0, 1, T0 + 6000, None),
        job_succeeded(1, T0 + 6100),
        app_end(T0 + 7000),
    ]
}

#[test]
fn successful_app_is_summarized() {
    let s = summarize_text(&log(&successful_app()));
    assert_eq!(s.warnings, vec![]);
    assert_eq!(s.app_id.as_deref(), Some("local-1700000000000"));
    assert_eq!(s.name.as_deref(), Some("etl"));
    assert_eq!(s.user.as_deref(), Some("alice"));
    assert_eq!(s.spark_version.as_deref(), Some("3.5.9"));
    assert_eq!((s.start_time_ms, s.end_time_ms, s.duration_ms), (Some(T0 as u64), Some(T0 as u64 + 7000), Some(7000)));
    assert_eq!(s.outcome, Outcome::Succeeded);
    assert_eq!(s.failure, None);
    assert_eq!((s.jobs.total, s.jobs.succeeded, s.jobs.failed, s.jobs.running), (2, 2, 0, 0));
    let st = s.stages;
    assert_eq!((st.total, st.completed, st.failed, st.skipped, st.active), (4, 3, 0, 1, 0));
    assert_eq!((s.tasks.total, s.tasks.succeeded, s.tasks.failed, s.tasks.killed), (5, 4, 0, 1));
    let m = s.metrics;
    assert_eq!((m.task_time_ms, m.cpu_time_ms, m.gc_time_ms), (3000, 1700, 100));
    assert_eq!(m.gc_share, Some(100.0 / 3000.0));
    assert_eq!((m.input_bytes, m.output_bytes), (3000, 5000));
    assert_eq!((m.shuffle_read_bytes, m.shuffle_write_bytes), (1000, 500));
    assert_eq!((m.memory_spill_bytes, m.disk_spill_bytes), (64, 32));
    assert_eq!(s.executors.count, 1);
    assert_eq!(s.executors.max_concurrent, 1);
    let driver = &s.executors.timeline[0];
    assert_eq!((driver.id.as_str(), driver.cores, driver.lifetime_ms), ("driver", Some(2), 6000));
    assert_eq!(s.core_seconds(), 12.0);
    assert_eq!(s.executors.utilisation, Some(0.25));
    assert_eq!(s.gib_seconds(4096), 24.0);
    let c = &s.config;
    assert_eq!(c.master.as_deref(), Some("local[2]"));
    assert_eq!((c.driver_memory.as_deref(), c.executor_memory.as_deref()), (Some("2g"), Some("1g")));
    assert_eq!(c.executor_cores, Some(2));
    let labels: Vec<(&str, &str)> = c.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(labels, vec![("sparkplane.dev/cost-center", "cc-1"), ("sparkplane.dev/team", "data")]);
    assert_eq!((s.log.lines, s.log.events), (21, 21));
}

#[test]
fn summary_serializes_as_camel_case_json() {
    let s = summarize_text(&log(&successful_app()));
    let value = serde_json::to_value(&s).expect("serializable");
    assert_eq!(value["appId"], json!("local-1700000000000"));
    assert_eq!(value["outcome"], json!("succeeded"));
    assert_eq!(value["metrics"]["taskTimeMs"], json!(3000));
    assert_eq!(value["executors"]["coreSeconds"], json!(12.0));
    assert_eq!(value["executors"]["timeline"][0]["lifetimeMs"], json!(6000));
    assert_eq!(value["config"]["labels"]["sparkplane.dev/team"], json!("data"));
    assert_eq!(value["warningsOmitted"], json!(0));
}

const PY_MESSAGE: &str = "Job aborted due to stage failure: Task 0 in stage 0.0 failed 1 times, most recent failure: \
Lost task 0.0 in stage 0.0 (TID 0) (10.0.0.1 executor driver): org.apache.spark.api.python.PythonException: \
Traceback (most recent call last):\n  File \"/jobs/etl.py\", line 9, in boom\n    raise ValueError(\"bad record 7\")\n\
ValueError: bad record 7\n\n\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(PythonRunner.scala:572)\n\
\tat org.apache.spark.scheduler.Task.run(Task.scala:141)\n\nDriver stacktrace:";

fn failing_app() -> Vec<String> {
    vec![
        log_start("3.5.9"),
        block_manager_added("driver", T0 + 500),
        environment(&[("spark.master", "local[1]"), ("spark.app.name", "etl")]),
        app_start("etl", "local-1700000000001", T0),
        job_start(0, T0 + 1000, &[0]),
        stage_submitted(0, 0, 2, T0 + 1100),
        task_end(
            0,
            0,
            exception("org.apache.spark.api.python.PythonException", "Traceback…\nValueError: bad record 7\n"),
            T0 + 1500,
            Metrics { run_ms: 300, ..Metrics::default() },
        ),
        task_end(0, 1, success(), T0 + 1600, Metrics { run_ms: 400, ..Metrics::default() }),
        stage_completed(0, 0, 2, T0 + 1700, Some(PY_MESSAGE)),
        job_failed(0, T0 + 1700, PY_MESSAGE),
        app_end(T0 + 2500),
    ]
}

#[test]
fn failed_job_is_explained() {
    let s = summarize_text(&log(&failing_app()));
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!((s.jobs.total, s.jobs.succeeded, s.jobs.failed), (1, 0, 1));
    assert_eq!((s.stages.total, s.stages.completed, s.stages.failed), (1, 0, 1));
    assert_eq!((s.tasks.total, s.tasks.succeeded, s.tasks.failed, s.tasks.killed), (2, 1, 1, 0));
    let failure = s.failure.clone().expect("a failure");
    assert_eq!(failure.job_id, 0);
    assert_eq!(
        failure.message,
        "Job aborted due to stage failure: Task 0 in stage 0.0 failed 1 times, most recent failure: Lost task 0.0 in \
         stage 0.0 (TID 0) (10.0.0.1 executor driver): org.apache.spark.api.python.PythonException: Traceback (most \
         recent call last):"
    );
    assert_eq!(failure.root_cause.as_deref(), Some("ValueError: bad record 7"));
    assert_eq!((failure.stage_id, failure.stage_attempt_id), (Some(0), Some(0)));
    assert!(
        failure.stage_failure.is_some_and(|r| r.starts_with("Job aborted due to stage failure: Task 0 in stage 0.0"))
    );
    // No ExecutorAdded: the local driver comes from its block manager, with cores from local[1].
    let driver = &s.executors.timeline[0];
    assert_eq!((driver.id.as_str(), driver.cores, driver.lifetime_ms), ("driver", Some(1), 2000));
    assert_eq!(s.core_seconds(), 2.0);
}

#[test]
fn job_failure_without_message_falls_back_to_the_stack() {
    let line = event(
        "SparkListenerJobEnd",
        json!({"Job ID": 3, "Completion Time": T0, "Job Result": {"Result": "JobFailed", "Exception": {
            "Stack Trace": [{"Declaring Class": "a.B", "Method Name": "run", "File Name": "B.java", "Line Number": 7}]}}}),
    );
    let s = summarize_text(&log(&[app_start("x", "local-1", T0), line, app_end(T0 + 1)]));
    let failure = s.failure.expect("a failure");
    assert_eq!(failure.message, "a.B.run(B.java:7)");
    assert_eq!(failure.root_cause, None);
    assert_eq!(failure.stage_id, None);
}

#[test]
fn non_zero_exit_code_fails_the_app() {
    let end = event("SparkListenerApplicationEnd", json!({"Timestamp": T0 + 10, "ExitCode": 1}));
    let s = summarize_text(&log(&[app_start("x", "local-1", T0), end]));
    assert_eq!((s.outcome, s.exit_code), (Outcome::Failed, Some(1)));
}

#[test]
fn log_without_application_end_is_incomplete() {
    let mut lines = successful_app();
    lines.truncate(12); // through the first task of stage 1
    let s = summarize_text(&log(&lines));
    assert_eq!(s.outcome, Outcome::Incomplete);
    assert_eq!(s.end_time_ms, None);
    assert_eq!(s.duration_ms, Some(4000), "to the last event seen");
    assert_eq!((s.jobs.total, s.jobs.running), (1, 1));
    assert_eq!((s.stages.total, s.stages.completed, s.stages.active), (2, 1, 1));
    assert_eq!(s.executors.timeline[0].lifetime_ms, 3000);
}

#[test]
fn corrupt_lines_and_missing_fields_become_warnings() {
    let mut lines = successful_app();
    lines.insert(2, "this is not json".to_string());
    lines.insert(9, r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Task Info":{"Finish Time":1}}"#.to_string());
    lines.insert(
        10,
        r#"{"Event":"SparkListenerJobEnd","Job ID":"seven","Job Result":{"Result":"JobSucceeded"}}"#.to_string(),
    );
    lines.insert(11, r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Task End Re"#.to_string());
    let s = summarize_text(&log(&lines));
    let got: Vec<(Option<u64>, &str)> = s.warnings.iter().map(|w| (w.line, w.message.as_str())).collect();
    assert_eq!(got.len(), 4, "{got:#?}");
    assert_eq!(got[0].0, Some(3));
    assert!(got[0].1.starts_with("line is not a JSON object"), "{}", got[0].1);
    assert_eq!(got[1].0, Some(10));
    assert!(got[1].1.starts_with("SparkListenerTaskEnd: missing field `Task End Reason`"), "{}", got[1].1);
    assert_eq!(got[2].0, Some(11));
    assert!(got[2].1.starts_with("SparkListenerJobEnd: invalid type: string \"seven\""), "{}", got[2].1);
    assert_eq!(got[3].0, Some(12));
    assert!(s.warnings.iter().all(|w| w.file.as_deref() == Some("app.log")));
    // Everything else still counted.
    assert_eq!((s.outcome, s.tasks.total, s.jobs.succeeded), (Outcome::Succeeded, 5, 2));
}

#[test]
fn unknown_events_are_skipped_silently() {
    let mut lines = successful_app();
    let extra = [
        event("SparkListenerTaskStart", json!({"Stage ID": 0, "Task Info": {"Task ID": 0}})),
        event("SparkListenerResourceProfileAdded", json!({"Resource Profile Id": 0})),
        event(
            "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart",
            json!({"executionId": 0, "description": "save", "physicalPlanDescription": "== Physical Plan ==\n".repeat(500),
                     "sparkPlanInfo": {"nodeName": "Execute", "children": [], "metrics": []}, "time": T0}),
        ),
        event("SparkListenerStageExecutorMetrics", json!({"Executor ID": "driver", "Executor Metrics": {}})),
        event("SparkListenerFromTheFuture", json!({"Anything": [1, {"nested": true}]})),
        r#"{"Event":"SparkListenerBlockUpdated","Block Updated Info":{}}"#.to_string(),
    ];
    for (offset, line) in extra.into_iter().enumerate() {
        lines.insert(6 + offset * 2, line);
    }
    let with_unknown = summarize_text(&log(&lines));
    let plain = summarize_text(&log(&successful_app()));
    assert_eq!(with_unknown.warnings, vec![]);
    // Read: the 20 events of the plain log, the driver's StageExecutorMetrics (memory peaks) and the
    // SQL execution's start (its plan, for lineage: this one names no dataset).
    assert_eq!((with_unknown.log.lines, with_unknown.log.events), (27, 23));
    assert_eq!(with_unknown.lineage.sql_executions, 1);
    assert!(with_unknown.lineage.inputs().is_empty() && with_unknown.lineage.outputs().is_empty());
    assert_eq!(with_unknown.tasks, plain.tasks);
    assert_eq!(with_unknown.metrics, plain.metrics);
    assert_eq!(with_unknown.stages, plain.stages);
}

#[test]
fn warnings_are_capped() {
    let lines: Vec<String> = (0..150).map(|i| format!("garbage {i}")).collect();
    let s = summarize_text(&log(&lines));
    assert_eq!((s.warnings.len(), s.warnings_omitted), (100, 50));
    assert_eq!(s.outcome, Outcome::Incomplete);
}

#[test]
fn executors_come_and_go() {
    let lines = vec![
        app_start("x", "spark-1", T0),
        environment(&[("spark.master", "k8s://https://10.0.0.1:6443"), ("spark.executor.instances", "2")]),
        block_manager_added("driver", T0 + 10),
        executor_added("1", T0 + 1000, 4),
        executor_added("2", T0 + 2000, 4),
        executor_removed("1", T0 + 5000, "decommissioned"),
        executor_removed("9", T0 + 5000, "never added"),
        app_end(T0 + 11_000),
    ];
    let s = summarize_text(&log(&lines));
    // The cluster-mode driver's block manager is not an executor.
    let ids: Vec<&str> = s.executors.timeline.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, vec!["1", "2"]);
    assert_eq!(s.executors.timeline[0].removed_reason.as_deref(), Some("decommissioned"));
    assert_eq!((s.executors.timeline[0].lifetime_ms, s.executors.timeline[1].lifetime_ms), (4000, 9000));
    assert_eq!(s.executors.max_concurrent, 2);
    assert_eq!(s.core_seconds(), 4.0 * 4.0 + 4.0 * 9.0);
    assert_eq!(s.gib_seconds(2048), (4.0 + 9.0) * 2.0);
    assert_eq!(s.config.executor_instances, Some(2));
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].message.contains("executor 9 was removed but never added"));
}

#[test]
fn local_star_driver_has_unknown_cores() {
    let lines = vec![
        app_start("x", "local-1", T0),
        block_manager_added("driver", T0 + 10),
        environment(&[("spark.master", "local[*]")]),
        app_end(T0 + 1010),
    ];
    let s = summarize_text(&log(&lines));
    assert_eq!(s.executors.timeline[0].cores, None);
    assert_eq!(s.core_seconds(), 0.0);
    assert_eq!(s.executors.utilisation, None);
    assert!(s.warnings[0].message.contains("local[*]"));
}

/// Cuts every line of a realistic log at many points: the parser must answer, never panic.
#[test]
fn parser_survives_every_cut() {
    let mut lines = successful_app();
    lines.extend(failing_app());
    for line in &lines {
        let bytes = line.len();
        for cut in (0..bytes).step_by(3) {
            if let Some(prefix) = line.get(..cut) {
                let _ = parse_event(prefix);
            }
        }
        assert!(parse_event(line).is_ok(), "{line}");
    }
}
