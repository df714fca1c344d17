//! The end-of-run summary of a local run, from the application's event log
//! (the one event-log model of `sparkplane-eventlog`), in the compact form the
//! run record keeps and `run` prints.

use std::path::{Path, PathBuf};

use sparkplane_analysis::cost::{PriceSheet, app_cost};
use sparkplane_eventlog::{AppSummary, find_app_log, summarize};

use crate::history::RunFigures;

/// What a run's summary adds to its record.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// The event log read.
    pub event_log: Option<String>,
    /// The application id found in it.
    pub app_id: Option<String>,
    /// The failure the log records, if any.
    pub failure: Option<String>,
    /// The Spark version that wrote the log.
    pub spark_version: Option<String>,
    /// Key figures for the record and the printed summary.
    pub figures: RunFigures,
}

/// The newest event log in `dir` (used when the application id was never seen,
/// e.g. a job that finished before its UI answered).
fn newest_log(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, path)| path)
}

/// Key figures of an application: what `run` prints and records.
pub fn figures(app: &AppSummary, memory_mib: u64) -> RunFigures {
    let m = &app.metrics;
    RunFigures {
        outcome: format!("{:?}", app.outcome).to_ascii_lowercase(),
        duration_ms: app.duration_ms,
        jobs: app.jobs.total,
        jobs_failed: app.jobs.failed,
        stages: app.stages.total,
        stages_failed: app.stages.failed,
        tasks: app.tasks.total,
        tasks_failed: app.tasks.failed,
        input_bytes: m.input_bytes,
        output_bytes: m.output_bytes,
        shuffle_bytes: m.shuffle_read_bytes + m.shuffle_write_bytes,
        spill_bytes: m.memory_spill_bytes + m.disk_spill_bytes,
        task_time_ms: m.task_time_ms,
        gc_share: m.gc_share.unwrap_or_default(),
        utilisation: app.executors.utilisation.unwrap_or_default(),
        core_seconds: app.core_seconds(),
        gib_seconds: app.gib_seconds(memory_mib),
        // What the same work costs on a cluster at OpenCost's default prices (the cost engine's sizing).
        cost_usd: app_cost(app, &PriceSheet::opencost_defaults()).cost,
        warnings: app.warnings.len() as u64 + app.warnings_omitted,
    }
}

/// Summarises a finished run from the event logs in `event_dir`. None when no
/// log can be found or read (the run record then says so through its absence).
pub fn summarize_run(event_dir: &Path, app_id: Option<&str>, memory_mib: u64) -> Option<RunSummary> {
    let path = app_id.and_then(|id| find_app_log(event_dir, id)).or_else(|| newest_log(event_dir))?;
    let app = summarize(&path).ok()?;
    let failure = app
        .failure
        .as_ref()
        .map(|f| f.root_cause.clone().or_else(|| f.stage_failure.clone()).unwrap_or_else(|| f.message.clone()));
    Some(RunSummary {
        event_log: Some(path.display().to_string()),
        app_id: app.app_id.clone(),
        failure,
        spark_version: app.spark_version.clone(),
        figures: figures(&app, memory_mib),
    })
}
