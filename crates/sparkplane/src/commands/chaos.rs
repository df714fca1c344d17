//! `sparkplane chaos list | run`: named chaos experiments, each stating what
//! should happen, what did, and which alerts and runbook apply.
//!
//! Thin: the catalog, the runners and the verdicts are `sparkplane_chaos`'s;
//! this module turns names into experiments, shows outcomes and maps them to
//! exit codes. Must not: decide whether an experiment passed.

use std::path::PathBuf;

use sparkplane_chaos::outcome::to_junit;
use sparkplane_chaos::{ChaosError, Experiment, Outcome, Settings};
use sparkplane_documents::{Diagnostic, Diagnostics};

use super::Table;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// What `chaos run` does, in plain terms.
#[derive(Clone, Debug, Default)]
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
    let mut outcomes = Vec::new();
    for experiment in chosen {
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
