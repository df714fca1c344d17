//! An experiment's verdict: what should have happened, what did, and
//! whether its alerts behaved.
//!
//! Owns: the outcome's shape, when it passes, its JUnit case, and how
//! `chaos run` shows it.
//! Must not: run experiments or print.

use serde::Serialize;
use sparkplane_documents::junit::{CaseResult, TestCase, TestSuite};

use crate::catalog::{Experiment, Setting};

/// One thing an experiment observed and held against its expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// What was checked, e.g. "the job succeeded".
    pub what: String,
    /// Whether it held.
    pub held: bool,
    /// What was seen (exit code, status, counts), shown beside the check.
    pub seen: String,
}

impl Check {
    /// A check that held when `held`, with what was seen.
    pub fn new(what: impl Into<String>, held: bool, seen: impl Into<String>) -> Check {
        Check { what: what.into(), held, seen: seen.into() }
    }
}

/// Whether an expected alert fired (or stayed silent) on the experiment's metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertVerdict {
    /// The alert's name.
    pub alert: String,
    /// Whether it was expected to fire.
    pub expected_firing: bool,
    /// Whether it fired on the experiment's metrics.
    pub fired: bool,
    /// What promtool said when the two differ (or the labels it fired with).
    pub detail: String,
}

impl AlertVerdict {
    /// Whether the alert behaved as expected.
    pub fn held(&self) -> bool {
        self.expected_firing == self.fired
    }
}

/// An experiment's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// Which experiment.
    pub experiment: Experiment,
    /// Where it ran.
    pub setting: Setting,
    /// What should have happened (the catalog's sentence).
    pub should: String,
    /// What was observed, check by check.
    pub checks: Vec<Check>,
    /// The expected alerts, each checked with promtool on the experiment's metrics.
    pub alerts: Vec<AlertVerdict>,
    /// The runbook that applies.
    pub runbook: String,
    /// How long the experiment took, in seconds.
    pub seconds: f64,
}

impl Outcome {
    /// An outcome for `experiment` with no checks yet, its expectation filled in from the catalog.
    pub fn begin(experiment: Experiment) -> Outcome {
        let expectation = experiment.expectation();
        Outcome {
            experiment,
            setting: experiment.setting(),
            should: expectation.should.to_string(),
            checks: Vec::new(),
            alerts: Vec::new(),
            runbook: expectation.runbook.to_string(),
            seconds: 0.0,
        }
    }

    /// Passed: at least one check was made, and every check and alert held.
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.held) && self.alerts.iter().all(AlertVerdict::held)
    }

    /// What went wrong, a line each (empty when it passed).
    pub fn failures(&self) -> Vec<String> {
        let mut lines: Vec<String> =
            self.checks.iter().filter(|c| !c.held).map(|c| format!("{}: saw {}", c.what, c.seen)).collect();
        if self.checks.is_empty() {
            lines.push("nothing was observed".to_string());
        }
        for alert in self.alerts.iter().filter(|a| !a.held()) {
            let wanted =
                if alert.expected_firing { "should fire but stayed silent" } else { "should stay silent but fired" };
            lines.push(format!("alert {} {wanted}: {}", alert.alert, alert.detail));
        }
        lines
    }
}

impl Outcome {
    /// The outcome as `chaos run` shows it: the verdict and time, what
    /// should happen, each check and alert, and the runbook.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} ({}): {}\n  should: {}\n",
            self.experiment.name(),
            if self.passed() { "passed" } else { "FAILED" },
            format_args!("{:.1} s", self.seconds),
            self.should
        );
        for check in &self.checks {
            out.push_str(&format!("  [{}] {}: {}\n", if check.held { "ok" } else { "FAILED" }, check.what, check.seen));
        }
        for alert in &self.alerts {
            let wanted = if alert.expected_firing { "should fire" } else { "should stay silent" };
            out.push_str(&format!(
                "  [{}] alert {} {wanted}: {}\n",
                if alert.held() { "ok" } else { "FAILED" },
                alert.alert,
                alert.detail
            ));
        }
        out.push_str(&format!("  runbook: docs/runbooks/{}.md\n", self.runbook));
        out
    }
}

/// The outcomes as one JUnit suite, a case per experiment.
pub fn to_junit(outcomes: &[Outcome]) -> TestSuite {
    let cases = outcomes
        .iter()
        .map(|outcome| {
            let observed: Vec<String> = outcome
                .checks
                .iter()
                .map(|c| format!("[{}] {}: {}", if c.held { "ok" } else { "FAILED" }, c.what, c.seen))
                .collect();
            let body = format!("should: {}\n{}\nrunbook: {}", outcome.should, observed.join("\n"), outcome.runbook);
            let result = if outcome.passed() {
                CaseResult::Output(body)
            } else {
                let failures = outcome.failures();
                let message = failures.first().cloned().unwrap_or_default();
                CaseResult::Failure { kind: "chaos".into(), message, body: format!("{}\n{body}", failures.join("\n")) }
            };
            TestCase { classname: "sparkplane.chaos".into(), name: outcome.experiment.name().to_string(), result }
        })
        .collect();
    TestSuite { name: "chaos".into(), cases }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(checks: Vec<Check>, alerts: Vec<AlertVerdict>) -> Outcome {
        Outcome { checks, alerts, ..Outcome::begin(Experiment::ExecutorKilled) }
    }

    fn alert(expected_firing: bool, fired: bool) -> AlertVerdict {
        AlertVerdict { alert: "SparkJobFailed".into(), expected_firing, fired, detail: "promtool said so".into() }
    }

    #[test]
    fn passes_only_when_every_check_and_alert_held() {
        let ok = Check::new("the job succeeded", true, "exit 0");
        let bad = Check::new("the lost executor is reported", false, "0 executors removed");
        assert!(outcome(vec![ok.clone()], vec![alert(false, false)]).passed());
        assert!(!outcome(vec![ok.clone(), bad], vec![]).passed());
        assert!(!outcome(vec![ok], vec![alert(false, true)]).passed());
        assert!(!outcome(vec![], vec![]).passed(), "an experiment that observed nothing did not pass");
    }

    #[test]
    fn failures_say_what_differed() {
        let failed = outcome(
            vec![Check::new("the job succeeded", false, "exit 1")],
            vec![alert(true, false), alert(false, false)],
        );
        assert_eq!(
            failed.failures(),
            vec![
                "the job succeeded: saw exit 1".to_string(),
                "alert SparkJobFailed should fire but stayed silent: promtool said so".to_string(),
            ]
        );
    }

    #[test]
    fn junit_has_a_case_per_experiment_and_counts_failures() {
        let ok = outcome(vec![Check::new("the job succeeded", true, "exit 0")], vec![]);
        let failed = Outcome { checks: vec![Check::new("x", false, "y")], ..Outcome::begin(Experiment::NodeLost) };
        let xml = to_junit(&[ok, failed]).to_xml();
        assert!(xml.contains(r#"tests="2""#) && xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains(r#"name="executor-killed""#) && xml.contains(r#"name="node-lost""#), "{xml}");
        assert!(xml.contains("x: saw y"), "{xml}");
    }

    #[test]
    fn the_text_gives_the_verdict_each_check_and_alert_and_the_runbook() {
        let mut failed = outcome(vec![Check::new("the job succeeded", false, "exit 1")], vec![alert(true, true)]);
        failed.seconds = 12.34;
        assert_eq!(
            failed.text(),
            format!(
                "executor-killed (FAILED): 12.3 s\n  should: {}\n  [FAILED] the job succeeded: exit 1\n  \
                 [ok] alert SparkJobFailed should fire: promtool said so\n  runbook: docs/runbooks/{}.md\n",
                failed.should, failed.runbook
            )
        );
    }
}
