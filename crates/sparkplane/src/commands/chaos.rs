//! `sparkplane chaos list | run`: named chaos experiments, each stating what
//! should happen, what did, and which alerts and runbook apply.
//!
//! Thin: the catalog (and which experiments a run asks for), the runners,
//! the verdicts and their text are `sparkplane_chaos`'s; this module prints
//! them and maps outcomes to exit codes. Must not: decide whether an
//! experiment passed.

use std::path::PathBuf;

#[cfg(feature = "chaos-runners")]
use sparkplane_chaos::outcome::to_junit;
#[cfg(feature = "chaos-runners")]
use sparkplane_chaos::{ChaosError, Outcome};
use sparkplane_chaos::{Experiment, ListRow, Settings};
#[cfg(feature = "chaos-runners")]
use sparkplane_documents::Diagnostic;
#[cfg(feature = "chaos-runners")]
use sparkplane_documents::Diagnostics;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// What `chaos run` does, in plain terms (a binary without the runners reads only the names).
#[derive(Clone, Debug, Default)]
#[cfg_attr(not(feature = "chaos-runners"), allow(dead_code))]
pub struct RunSettings {
    /// The experiments' names, in the order given; empty with `all`.
    pub names: Vec<String>,
    /// Every experiment.
    pub all: bool,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// What the runners need (runtime, work folder, promtool).
    pub chaos: Settings,
}

/// Runs `chaos list`.
pub fn list(printer: &Printer) -> CommandResult {
    let rows = ListRow::all();
    printer.result(&rows, || ListRow::table(&rows));
    Ok(())
}

fn unknown(message: String) -> Failure {
    Failure::invalid("unknown-experiment", "", message, "see `sparkplane chaos list`")
}

/// Runs `chaos run`: exit 0 when every experiment passed, 1 naming each that did not, 2 bad names, 3 a part
/// missing (Java, Spark, the S3A jars, promtool, a server that would not start).
pub fn run(settings: &RunSettings, printer: &Printer) -> CommandResult {
    let chosen = Experiment::chosen(&settings.names, settings.all).map_err(|e| unknown(e.to_string()))?;
    run_experiments(&chosen, settings, printer)
}

/// Why `chaos run` cannot run in a binary built without the runners (exit 2), and how to get them.
/// Built in every binary so that it is unit-tested in the developer build too.
#[cfg_attr(feature = "chaos-runners", allow(dead_code))]
fn runners_missing() -> Failure {
    Failure::invalid(
        "chaos-runners-missing",
        "",
        "this sparkplane was built without the chaos experiments' runners: they start throwaway PostgreSQL and \
             SeaweedFS servers and a simulated Kubernetes API server, which the image and the release binaries \
             leave out",
        "run them from a developer build, whose default features include them: `cargo build --locked -p \
             sparkplane` in sparkplane's repository, then `target/debug/sparkplane chaos run …` (`chaos list` \
             works in every build)",
    )
}

#[cfg(not(feature = "chaos-runners"))]
fn run_experiments(_chosen: &[Experiment], _settings: &RunSettings, _printer: &Printer) -> CommandResult {
    Err(runners_missing())
}

#[cfg(feature = "chaos-runners")]
fn run_experiments(chosen: &[Experiment], settings: &RunSettings, printer: &Printer) -> CommandResult {
    let mut outcomes = Vec::new();
    for &experiment in chosen {
        printer.status(&format!("chaos: {}", experiment.name()));
        let outcome = match sparkplane_chaos::run(experiment, &settings.chaos) {
            Ok(outcome) => outcome,
            Err(ChaosError::Infrastructure(m)) => {
                return Err(Failure::Infrastructure(
                    Diagnostic::error("chaos-infrastructure", "", format!("{}: {m}", experiment.name())).into(),
                ));
            }
            Err(ChaosError::Invalid(m)) => {
                return Err(Failure::Invalid(
                    Diagnostic::error("chaos-invalid", "", format!("{}: {m}", experiment.name())).into(),
                ));
            }
        };
        outcomes.push(outcome);
    }
    if let Some(path) = &settings.junit {
        let junit = to_junit(&outcomes).to_xml();
        crate::workspace::write_file(
            path,
            junit.as_bytes(),
            "check that the JUnit file's folder exists and is writable",
        )?;
    }
    printer.result(&outcomes, || outcomes.iter().map(Outcome::text).collect::<Vec<_>>().join("\n"));
    let failed: Vec<Diagnostic> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| {
            Diagnostic::error("chaos-failed", "", format!("{}: {}", o.experiment.name(), o.failures().join("; ")))
                .with_help(format!("see docs/runbooks/{}.md", o.runbook))
        })
        .collect();
    if failed.is_empty() { Ok(()) } else { Err(Failure::Failed(Diagnostics(failed))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_without_the_runners_says_why_and_how_to_build_one_that_has_them_with_exit_2() {
        let failure = runners_missing();
        assert_eq!(failure.exit_code(), std::process::ExitCode::from(2));
        let Failure::Invalid(diagnostics) = failure else { panic!("not an invalid-usage failure") };
        let text: Vec<String> = diagnostics.errors().map(Diagnostic::to_plain).collect();
        assert_eq!(text.len(), 1, "{text:?}");
        for part in
            ["PostgreSQL", "simulated Kubernetes API server", "cargo build --locked -p sparkplane", "chaos list"]
        {
            assert!(text[0].contains(part), "{part} missing from: {}", text[0]);
        }
    }
}
