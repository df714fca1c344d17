//! Cross-check against Spark's own History Server: the real one from the
//! pinned 3.5 runtime (`sparkplane runtime install 3.5`, done by
//! scripts/test.sh) replays the same real event logs, and the figures its REST
//! API reports must equal the ones sparkplane's model computes.
//!
//! The History Server is started on 127.0.0.1 on a free port over a copy of
//! the fixtures and stopped when the test ends, whatever happens.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sparkplane_eventlog::{AppSummary, Outcome, StageAttemptState, find_app_log, summarize};

/// The real logs the History Server and sparkplane both read: three apps from
/// Spark 3.5.9 (ok, failed, killed in flight) and one per codec.
const APPS: &[(&str, &str)] = &[
    ("spark-3.5.9", "local-1795265030698"),
    ("spark-3.5.9", "local-1795265044180"),
    ("spark-3.5.9", "local-1795265065682"),
    ("codecs", "local-1795266977692"),
    ("codecs", "local-1795266987953"),
    ("codecs", "local-1795266999318"),
    ("codecs", "local-1795267010554"),
    ("codecs", "local-1795267020467"),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable fixture dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The real History Server over a copy of [`APPS`] (the copy lives as long as the server).
struct HistoryServer {
    _server: sparkplane_testkit::HistoryServer,
    base: String,
    _logs: tempfile::TempDir,
}

fn start_history_server() -> HistoryServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    for (version, app) in APPS {
        let path = find_app_log(&fixtures().join(version), app).unwrap_or_else(|| panic!("fixture {app} missing"));
        let target = logs.join(path.file_name().expect("named"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::create_dir_all(&logs).expect("mkdir");
            std::fs::copy(&path, &target).expect("copy");
        }
    }
    let server = sparkplane_testkit::HistoryServer::start(&logs).unwrap_or_else(|e| panic!("{e}"));
    let base = server.api();
    HistoryServer { _server: server, base, _logs: dir }
}

impl HistoryServer {
    fn get(&self, path: &str) -> Option<Value> {
        let url = format!("{}{path}", self.base);
        let mut response = ureq::get(&url).call().ok()?;
        response.body_mut().read_json::<Value>().ok()
    }

    /// Waits until the server lists every fixture app (it scans once a second).
    fn wait_for_apps(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(Value::Array(apps)) = self.get("/applications?status=completed&limit=100").and_then(|done| {
                let running = self.get("/applications?status=running&limit=100")?;
                let mut all = done.as_array()?.clone();
                all.extend(running.as_array()?.iter().cloned());
                Some(Value::Array(all))
            }) && APPS.iter().all(|(_, id)| apps.iter().any(|a| a["id"] == *id))
            {
                return;
            }
            assert!(Instant::now() < deadline, "the History Server did not list the fixtures within 90 s");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn summary(version: &str, app: &str) -> AppSummary {
    let path = find_app_log(&fixtures().join(version), app).expect("fixture present");
    summarize(&path).expect("readable")
}

fn u(value: &Value, key: &str) -> u64 {
    value[key].as_u64().unwrap_or_else(|| panic!("History Server stage lacks {key}: {value}"))
}

/// Per-stage-attempt figures as the History Server reports them, keyed by (stage, attempt).
type StageFigures = BTreeMap<(u64, u64), BTreeMap<&'static str, u64>>;

fn history_server_stages(stages: &Value) -> StageFigures {
    let mut out = BTreeMap::new();
    for stage in stages.as_array().expect("stages are a list") {
        let status = stage["status"].as_str().unwrap_or_default();
        let figures = BTreeMap::from([
            ("tasks", u(stage, "numCompleteTasks") + u(stage, "numFailedTasks") + u(stage, "numKilledTasks")),
            ("failedTasks", u(stage, "numFailedTasks")),
            ("killedTasks", u(stage, "numKilledTasks")),
            ("executorRunTime", u(stage, "executorRunTime")),
            ("jvmGcTime", u(stage, "jvmGcTime")),
            ("inputBytes", u(stage, "inputBytes")),
            ("outputBytes", u(stage, "outputBytes")),
            ("shuffleReadBytes", u(stage, "shuffleReadBytes")),
            ("shuffleWriteBytes", u(stage, "shuffleWriteBytes")),
            ("memoryBytesSpilled", u(stage, "memoryBytesSpilled")),
            ("diskBytesSpilled", u(stage, "diskBytesSpilled")),
            (
                "state",
                match status {
                    "COMPLETE" => 0,
                    "FAILED" => 1,
                    "SKIPPED" => 2,
                    "PENDING" => 4,
                    _ => 3,
                },
            ),
        ]);
        out.insert((u(stage, "stageId"), u(stage, "attemptId")), figures);
    }
    out
}

fn sparkplane_stages(summary: &AppSummary) -> StageFigures {
    let mut out = BTreeMap::new();
    for stage in &summary.stage_stats {
        let state = match stage.state {
            StageAttemptState::Completed => 0,
            StageAttemptState::Failed => 1,
            StageAttemptState::Active => 3,
        };
        let figures = BTreeMap::from([
            ("tasks", stage.tasks),
            ("failedTasks", stage.failed_tasks),
            ("killedTasks", stage.killed_tasks),
            ("executorRunTime", stage.task_time_ms),
            ("jvmGcTime", stage.gc_time_ms),
            ("inputBytes", stage.input_bytes),
            ("outputBytes", stage.output_bytes),
            ("shuffleReadBytes", stage.shuffle_read_bytes),
            ("shuffleWriteBytes", stage.shuffle_write_bytes),
            ("memoryBytesSpilled", stage.memory_spill_bytes),
            ("diskBytesSpilled", stage.disk_spill_bytes),
            ("state", state),
        ]);
        out.insert((u64::from(stage.stage_id), u64::from(stage.attempt_id)), figures);
    }
    out
}

#[test]
fn figures_equal_the_history_servers() {
    let server = start_history_server();
    server.wait_for_apps();
    for (version, app) in APPS {
        let ours = summary(version, app);
        let info = server.get(&format!("/applications/{app}")).unwrap_or_else(|| panic!("{app}: no application"));
        let attempt = &info["attempts"][0];
        assert_eq!(ours.name.as_deref(), info["name"].as_str(), "{app}: name");
        assert_eq!(ours.user.as_deref(), attempt["sparkUser"].as_str(), "{app}: user");
        assert_eq!(ours.spark_version.as_deref(), attempt["appSparkVersion"].as_str(), "{app}: Spark version");
        let completed = attempt["completed"].as_bool().unwrap_or(false);
        if completed {
            assert_eq!(ours.duration_ms, attempt["duration"].as_u64(), "{app}: duration");
            assert_ne!(ours.outcome, Outcome::Incomplete, "{app}: the History Server saw it finish");
        } else {
            assert!(ours.end_time_ms.is_none(), "{app}: the History Server saw no end");
        }

        // Jobs: count and how many failed.
        let jobs = server.get(&format!("/applications/{app}/jobs")).expect("jobs");
        let jobs = jobs.as_array().expect("list");
        let failed_jobs = jobs.iter().filter(|j| j["status"] == "FAILED").count() as u64;
        let succeeded_jobs = jobs.iter().filter(|j| j["status"] == "SUCCEEDED").count() as u64;
        assert_eq!(
            (ours.jobs.total, ours.jobs.failed, ours.jobs.succeeded),
            (jobs.len() as u64, failed_jobs, succeeded_jobs),
            "{app}: jobs"
        );

        // Stages, attempt by attempt, every figure.
        let stages = server.get(&format!("/applications/{app}/stages")).expect("stages");
        let mut theirs = history_server_stages(&stages);
        // A skipped stage never ran an attempt: the History Server lists it as SKIPPED,
        // sparkplane counts it without per-attempt figures.
        let skipped = theirs.values().filter(|f| f["state"] == 2).count() as u64;
        // A pending stage (its job started, the stage never submitted: a log cut off)
        // has no attempt either; sparkplane counts it as active.
        let unfinished = theirs.values().filter(|f| f["state"] == 3 || f["state"] == 4).count() as u64;
        theirs.retain(|_, f| f["state"] != 2 && f["state"] != 4);
        assert_eq!(ours.stages.skipped, skipped, "{app}: skipped stages");
        assert_eq!(ours.stages.active, unfinished, "{app}: unfinished stages");
        let ours_by_stage = sparkplane_stages(&ours);
        assert_eq!(
            ours_by_stage.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{app}: stage attempts"
        );
        for (key, figures) in &theirs {
            let mine = &ours_by_stage[key];
            for (name, value) in figures {
                if *name == "state" && *value == 3 {
                    // Active or pending in the History Server (a log cut off mid-stage).
                    assert!(mine["state"] == 3 || mine["state"] == 1, "{app} stage {key:?}: state");
                    continue;
                }
                assert_eq!(mine[name], *value, "{app} stage {key:?}: {name}");
            }
        }

        // App totals: Σ stage figures (the History Server has no app-level sums) and CPU time.
        let total = |name: &str| theirs.values().map(|f| f[name]).sum::<u64>();
        assert_eq!(ours.metrics.task_time_ms, total("executorRunTime"), "{app}: Σ executor run time");
        assert_eq!(ours.metrics.shuffle_write_bytes, total("shuffleWriteBytes"), "{app}: Σ shuffle write");
        assert_eq!(ours.metrics.output_bytes, total("outputBytes"), "{app}: Σ output bytes");
        let cpu_ns: u64 = stages.as_array().expect("list").iter().map(|s| u(s, "executorCpuTime")).sum();
        assert_eq!(ours.metrics.cpu_time_ms, cpu_ns / 1_000_000, "{app}: Σ executor CPU time");

        // Executors, the driver included (local mode runs tasks in it).
        let executors = server.get(&format!("/applications/{app}/allexecutors")).expect("executors");
        assert_eq!(ours.executors.count, executors.as_array().expect("list").len() as u64, "{app}: executors");
    }
}
