//! `sparkplane runs list|show`, and the end-of-run summary `run` prints.

use sparkplane_documents::Diagnostic;
use sparkplane_local::history::{self, RunRecord};
use sparkplane_local::runtime;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

fn seconds(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if s >= 60.0 { format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64) } else { format!("{s:.1}s") }
}

fn bytes(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} {}", units[unit]) } else { format!("{value:.1} {}", units[unit]) }
}

/// The human summary of a run.
pub fn summary_text(record: &RunRecord) -> String {
    let mut out = format!(
        "run {} {} in {} ({} on {}, spec {})\n",
        record.run_id,
        record.state.as_str(),
        seconds(record.duration_ms()),
        record.job,
        record.master,
        record.spec_hash
    );
    if let Some(failure) = &record.failure {
        out.push_str(&format!("  reason:     {failure}\n"));
    }
    if let Some(s) = &record.summary {
        out.push_str(&format!(
            "  work:       {} jobs ({} failed) · {} stages ({} failed) · {} tasks ({} failed)\n",
            s.jobs, s.jobs_failed, s.stages, s.stages_failed, s.tasks, s.tasks_failed
        ));
        out.push_str(&format!(
            "  data:       input {} · output {} · shuffle {} · spill {}\n",
            bytes(s.input_bytes as f64),
            bytes(s.output_bytes as f64),
            bytes(s.shuffle_bytes as f64),
            bytes(s.spill_bytes as f64)
        ));
        out.push_str(&format!(
            "  time:       GC {:.1}% of task time · executor utilisation {:.0}%\n",
            s.gc_share * 100.0,
            s.utilisation * 100.0
        ));
        out.push_str(&format!(
            "  usage:      {:.1} core-seconds · {:.1} GiB-seconds · ${:.4} at OpenCost default prices\n",
            s.core_seconds, s.gib_seconds, s.cost_usd
        ));
    }
    if let Some(log) = &record.event_log {
        out.push_str(&format!("  event log:  {log}\n"));
    }
    out.push_str(&format!("  driver log: {}\n", record.driver_log));
    out
}

/// Prints a run's summary in the chosen format.
pub fn print_summary(record: &RunRecord, printer: &Printer) {
    printer.result(record, || summary_text(record));
}

fn home() -> Result<std::path::PathBuf, Failure> {
    runtime::default_home().map_err(|e| Failure::Infrastructure(Diagnostic::error(e.code(), "", e.to_string()).into()))
}

/// What `runs list` and `cost --by job` say when they leave `count` interactive sessions out of `what`.
pub fn sessions_left_out(count: usize, cost: &str, what: &str) -> String {
    let (s, them) = if count == 1 { ("", "it") } else { ("s", "them") };
    format!(
        "{count} interactive Spark Connect session{s}{cost} left out of the {what}; --include-sessions lists {them}"
    )
}

/// Runs `runs list`: job runs, and interactive sessions only when asked.
pub fn list(include_sessions: bool, printer: &Printer) -> CommandResult {
    let home = home()?;
    let (mut runs, unreadable) = history::list(&home);
    for path in &unreadable {
        printer.status(&format!("warning: {path} cannot be read; it is left out"));
    }
    if !include_sessions {
        let before = runs.len();
        runs.retain(|r| !r.is_session());
        if before > runs.len() {
            printer.status(&sessions_left_out(before - runs.len(), "", "runs"));
        }
    }
    printer.result(&runs, || {
        let mut t = super::Table::new(&["RUN", "JOB", "STATE", "STARTED", "DURATION", "ENV"]);
        for r in &runs {
            t.row(vec![
                r.run_id.clone(),
                r.job.clone(),
                r.state.as_str().to_owned(),
                history::rfc3339(r.started_ms),
                seconds(r.duration_ms()),
                r.environment.clone().unwrap_or_default(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// Runs `runs show RUN`.
pub fn show(id: &str, printer: &Printer) -> CommandResult {
    let home = home()?;
    let record =
        history::find(&home, id).map_err(|why| Failure::Invalid(Diagnostic::error("unknown-run", "", why).into()))?;
    print_summary(&record, printer);
    Ok(())
}
