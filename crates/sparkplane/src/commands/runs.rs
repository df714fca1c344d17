//! `sparkplane runs list|show`, and the end-of-run summary `run` prints
//! (its text is the run history's, `sparkplane_local::history`).

use sparkplane_documents::Diagnostic;
use sparkplane_local::history::{self, RunRecord};
use sparkplane_local::runtime;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// Prints a run's summary in the chosen format.
pub fn print_summary(record: &RunRecord, printer: &Printer) {
    printer.result(record, || record.summary_text());
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
    printer.result(&runs, || history::runs_table(&runs));
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
