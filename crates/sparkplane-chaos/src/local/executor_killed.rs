//! executor-killed: one executor JVM is killed (SIGKILL) while a stage runs;
//! its tasks must be retried on the other executor and the job succeed, and
//! the event-log model, `analyze` and the run summary must report the loss.
//!
//! Owns: the job (a stage of slow tasks that mark when they start), when and
//! which executor to kill, and the checks. Must not: decide the expectation.

use std::path::Path;
use std::time::{Duration, Instant};

use sparkplane_analysis::analyze::analyze;
use sparkplane_eventlog::summarize;
use sparkplane_local::summary::summarize_run;

use super::{Spark, event_log, executor_processes, exporter_series};
use crate::alerts;
use crate::catalog::Experiment;
use crate::outcome::{Check, Outcome};
use crate::{ChaosError, Settings};

/// Six tasks of four seconds on two one-core executors: three waves, so a
/// kill after the first task starts lands mid-stage.
const JOB: &str = r#"import os, sys, time
from pyspark.sql import SparkSession
marks = sys.argv[1]
spark = SparkSession.builder.appName("chaos-executor-killed").getOrCreate()
def slow(index, rows):
    open(os.path.join(marks, "started-%d-%d" % (index, os.getpid())), "w").close()
    time.sleep(4)
    return [sum(1 for _ in rows)]
total = sum(spark.sparkContext.parallelize(range(600), 6).mapPartitionsWithIndex(slow).collect())
sys.stdout.write("CHAOS-RESULT rows=%d\n" % total)
spark.stop()
"#;

/// How long the job may take in all.
const LIMIT: Duration = Duration::from_secs(240);

pub(super) fn run(spark: &Spark, work: &Path, settings: &Settings) -> Result<Outcome, ChaosError> {
    let infra = |what: &str, e: std::io::Error| ChaosError::Infrastructure(format!("cannot {what}: {e}"));
    let script = work.join("executor_killed.py");
    let marks = work.join("marks");
    let events = work.join("events");
    std::fs::write(&script, JOB).map_err(|e| infra("write the job", e))?;
    std::fs::create_dir_all(&marks).map_err(|e| infra("make the marks folder", e))?;
    let started = Instant::now();
    let job = spark.submit(&script, &[marks.display().to_string()], &events, &work.join("driver.log"), None)?;
    let driver = job.pid();

    // Wait until a task has started and two executors run, then kill one.
    let mut killed = None;
    while started.elapsed() < LIMIT {
        let running = std::fs::read_dir(&marks).map(|d| d.count()).unwrap_or(0);
        let executors = executor_processes(driver);
        if running > 0 && executors.len() >= 2 {
            let victim = executors[0].clone();
            if let Ok(pid) = libc::pid_t::try_from(victim.pid) {
                // SAFETY: kill signals one executor process of the job this experiment started.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            killed = Some((victim, started.elapsed()));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let end = job.wait(started, LIMIT);

    let mut outcome = Outcome::begin(Experiment::ExecutorKilled);
    let checks = &mut outcome.checks;
    checks.push(Check::new(
        "one executor JVM (CoarseGrainedExecutorBackend, a child of the driver) was killed mid-stage",
        killed.is_some(),
        match &killed {
            Some((victim, at)) => {
                format!("killed executor {} (pid {}) at {:.1} s", victim.executor_id, victim.pid, at.as_secs_f64())
            }
            None => "no running task with two executors was seen".to_string(),
        },
    ));
    let result = end.output.lines().find(|l| l.starts_with("CHAOS-RESULT")).unwrap_or("no result line");
    checks.push(Check::new(
        "the job succeeded with every row counted",
        end.code == Some(0) && result == "CHAOS-RESULT rows=600",
        format!(
            "exit {}, {result}, {:.1} s",
            end.code.map_or_else(|| "by a signal or the time limit".to_string(), |c| c.to_string()),
            end.elapsed.as_secs_f64()
        ),
    ));

    let log = event_log(&events);
    let app = log.as_deref().and_then(|path| summarize(path).ok());
    let victim_id = killed.as_ref().map(|(v, _)| v.executor_id.clone()).unwrap_or_default();
    let removed = app
        .as_ref()
        .and_then(|app| app.executors.timeline.iter().find(|span| span.id == victim_id && span.removed_ms.is_some()));
    checks.push(Check::new(
        "the event-log model records the killed executor as removed",
        removed.is_some(),
        match (removed, &app) {
            (Some(span), _) => {
                format!("executor {} removed: {}", span.id, span.removed_reason.as_deref().unwrap_or("no reason given"))
            }
            (None, Some(app)) => format!("{} executors, none removed with id {victim_id}", app.executors.count),
            (None, None) => "no readable event log".to_string(),
        },
    ));
    let finding = app.as_ref().and_then(|app| analyze(app).into_iter().find(|f| f.id == "failed-tasks"));
    checks.push(Check::new(
        "`analyze` reports the task attempts lost with the executor",
        finding.as_ref().is_some_and(|f| f.evidence.contains("executor")),
        finding.map(|f| f.evidence).unwrap_or_else(|| "no failed-tasks finding".to_string()),
    ));
    let summary = summarize_run(&events, app.as_ref().and_then(|a| a.app_id.as_deref()), 1024);
    checks.push(Check::new(
        "the run summary reports the application succeeded with failed task attempts",
        summary.as_ref().is_some_and(|s| s.figures.outcome == "succeeded" && s.figures.tasks_failed > 0),
        summary
            .map(|s| {
                format!(
                    "outcome {}, {} of {} task attempts failed",
                    s.figures.outcome, s.figures.tasks_failed, s.figures.tasks
                )
            })
            .unwrap_or_else(|| "no summary".to_string()),
    ));

    let series = exporter_series(&events);
    outcome.alerts =
        alerts::check(settings.promtool.as_deref(), &series, Experiment::ExecutorKilled.expectation().alerts)?;
    Ok(outcome)
}
