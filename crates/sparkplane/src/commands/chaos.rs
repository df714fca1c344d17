//! `sparkplane chaos list | run`: named chaos experiments, each stating what
//! should happen, what did, and which alerts and runbook apply.
//!
//! Thin: the catalog, the runners and the verdicts are `sparkplane_chaos`'s;
//! this module turns names into experiments, shows outcomes and maps them to
//! exit codes. Must not: decide whether an experiment passed.

use std::path::PathBuf;

#[cfg(feature = "chaos-runners")]
use sparkplane_chaos::outcome::to_junit;
#[cfg(feature = "chaos-runners")]
use sparkplane_chaos::{ChaosError, Outcome};
use sparkplane_chaos::{Experiment, Settings};
use sparkplane_documents::Diagnostic;
#[cfg(feature = "chaos-runners")]
use sparkplane_documents::Diagnostics;

use super::Table;
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

/// One row of `chaos list`.
#[derive(serde::Serialize)]
struct Row {
    name: &'static str,
    setting: sparkplane_chaos::Setting,
    should: &'static str,
    alerts: Vec<String>,
    runbook: &'static str,
}

/// Runs `chaos list`.
pub fn list(printer: &Printer) -> CommandResult {
    let rows: Vec<Row> = Experiment::ALL
        .into_iter()
        .map(|experiment| {
            let expectation = experiment.expectation();
            Row {
                name: experiment.name(),
                setting: experiment.setting(),
                should: expectation.should,
                alerts: expectation
                    .alerts
                    .iter()
                    .map(|a| format!("{} {}", a.alert, if a.fires { "fires" } else { "stays silent" }))
                    .collect(),
                runbook: expectation.runbook,
            }
        })
        .collect();
    printer.result(&rows, || {
        let mut table = Table::new(&["EXPERIMENT", "WHERE", "ALERTS", "RUNBOOK"]);
        for row in &rows {
            let place = match row.setting {
                sparkplane_chaos::Setting::LocalCluster => "local-cluster",
                sparkplane_chaos::Setting::SimulatedCluster => "simulated cluster",
            };
            table.row(vec![row.name.into(), place.into(), row.alerts.join(", "), row.runbook.into()]);
        }
        table.render()
    });
    Ok(())
}

fn unknown(message: String) -> Failure {
    Failure::Invalid(
        Diagnostic::error("unknown-experiment", "", message).with_help("see `sparkplane chaos list`").into(),
    )
}

/// The experiments asked for: every one with `all`, else each name once, in the order given.
fn experiments(settings: &RunSettings) -> Result<Vec<Experiment>, Failure> {
    if settings.all {
        return Ok(Experiment::ALL.to_vec());
    }
    let mut chosen = Vec::new();
    for name in &settings.names {
        let experiment = Experiment::parse(name).map_err(|e| unknown(e.to_string()))?;
        if !chosen.contains(&experiment) {
            chosen.push(experiment);
        }
    }
    Ok(chosen)
}

#[cfg(feature = "chaos-runners")]
fn text(outcome: &Outcome) -> String {
    let mut out = format!(
        "{} ({}): {}\n  should: {}\n",
        outcome.experiment.name(),
        if outcome.passed() { "passed" } else { "FAILED" },
        format_args!("{:.1} s", outcome.seconds),
        outcome.should
    );
    for check in &outcome.checks {
        out.push_str(&format!("  [{}] {}: {}\n", if check.held { "ok" } else { "FAILED" }, check.what, check.seen));
    }
    for alert in &outcome.alerts {
        let wanted = if alert.expected_firing { "should fire" } else { "should stay silent" };
        out.push_str(&format!(
            "  [{}] alert {} {wanted}: {}\n",
            if alert.held() { "ok" } else { "FAILED" },
            alert.alert,
            alert.detail
        ));
    }
    out.push_str(&format!("  runbook: docs/runbooks/{}.md\n", outcome.runbook));
    out
}

/// Runs `chaos run`: exit 0 when every experiment passed, 1 naming each that did not, 2 bad names, 3 a part
/// missing (Java, Spark, the S3A jars, promtool, a server that would not start).
pub fn run(settings: &RunSettings, printer: &Printer) -> CommandResult {
    let chosen = experiments(settings)?;
    run_experiments(&chosen, settings, printer)
}

/// Why `chaos run` cannot run in a binary built without the runners (exit 2), and how to get them.
/// Built in every binary so that it is unit-tested in the developer build too.
#[cfg_attr(feature = "chaos-runners", allow(dead_code))]
fn runners_missing() -> Failure {
    Failure::Invalid(
        Diagnostic::error(
            "chaos-runners-missing",
            "",
            "this sparkplane was built without the chaos experiments' runners: they start throwaway PostgreSQL and \
             SeaweedFS servers and a simulated Kubernetes API server, which the image and the release binaries \
             leave out",
        )
        .with_help(
            "run them from a developer build, whose default features include them: `cargo build --locked -p \
             sparkplane` in sparkplane's repository, then `target/debug/sparkplane chaos run …` (`chaos list` \
             works in every build)",
        )
        .into(),
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
        std::fs::write(path, to_junit(&outcomes).to_xml()).map_err(|e| Failure::File {
            path: path.clone(),
            error: e.to_string(),
            help: "check that the JUnit file's folder exists and is writable".into(),
        })?;
    }
    printer.result(&outcomes, || outcomes.iter().map(text).collect::<Vec<_>>().join("\n"));
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
