//! Whether an experiment's metrics fire the alerts it expects: the series
//! it produced, fed to real `promtool test rules` with the rules
//! `observe rules` generates.
//!
//! Owns: the test file (each series holds its value from before the fault
//! for half an hour, then the value the experiment produced), the promtool
//! run, and reading its answer. Must not: decide which alerts an experiment
//! expects (the catalog's) or which series it produced (the runners').
//!
//! How an alert is judged: the test asks promtool for silence at minute 45,
//! a quarter of an hour after the fault. Success means the alert stayed
//! silent; a failure that lists what it `got` for that alert means it fired
//! (with those labels). Anything else is promtool's own error, reported as such.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use sparkplane_observe::rules::{RuleOptions, builtin_groups, to_prometheus, to_yaml};

use crate::ChaosError;
use crate::catalog::ExpectedAlert;
use crate::outcome::AlertVerdict;

/// Minutes each series holds its value from before the fault.
const BEFORE_MINUTES: u32 = 30;
/// Minutes each series holds the experiment's value after it.
const AFTER_MINUTES: u32 = 30;
/// When the alerts are evaluated, in minutes: late enough for `for:` clauses of up to 14 minutes.
const EVAL_MINUTE: u32 = 45;

/// One series an experiment produced: its selector and its value before and after the fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series in PromQL form, e.g. `sparkplane_app_failures_total{cause="storage",namespace="data"}`.
    pub selector: String,
    /// Its value before the fault (0 for a counter that had not moved).
    pub before: f64,
    /// Its value after the fault, as the experiment measured it.
    pub after: f64,
}

impl Series {
    /// A series that was `before`, then `after`.
    pub fn step(selector: impl Into<String>, before: f64, after: f64) -> Series {
        Series { selector: selector.into(), before, after }
    }
}

/// A promtool unit-test file asking for `alert` to be silent at minute 45 of `series`.
pub fn silence_test(rule_file: &str, series: &[Series], alert: &str) -> String {
    let input: Vec<_> = series
        .iter()
        .map(|s| {
            let values = format!("{}x{} {}x{}", s.before, BEFORE_MINUTES, s.after, AFTER_MINUTES - 1);
            json!({ "series": s.selector, "values": values })
        })
        .collect();
    let test = json!({
        "rule_files": [rule_file],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": input,
            "alert_rule_test": [{ "eval_time": format!("{EVAL_MINUTE}m"), "alertname": alert, "exp_alerts": [] }],
        }],
    });
    to_yaml(&test)
}

/// What promtool's answer to a silence test says about `alert`: `Ok(None)`
/// silent, `Ok(Some(labels))` fired with those labels, `Err` promtool's own error.
pub fn read_answer(alert: &str, success: bool, output: &str) -> Result<Option<String>, String> {
    if success {
        return Ok(None);
    }
    let marker = format!("alertname: {alert},");
    let Some(start) = output.find(&marker) else {
        return Err(output.trim().to_string());
    };
    let section = &output[start..];
    let Some(got) = section.find("got:[") else {
        return Err(output.trim().to_string());
    };
    let labels: Vec<&str> =
        section[got..].lines().filter_map(|line| line.trim().strip_prefix("Labels:")).map(str::trim).collect();
    if labels.is_empty() {
        return Err(output.trim().to_string());
    }
    Ok(Some(labels.join("; ")))
}

/// Checks each expected alert against `series` with real promtool and the built-in rules.
pub fn check(
    promtool: Option<&Path>,
    series: &[Series],
    expected: &[ExpectedAlert],
) -> Result<Vec<AlertVerdict>, ChaosError> {
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let options = RuleOptions::default();
    let rules = to_yaml(&to_prometheus(&builtin_groups(&options), &options));
    let dir =
        tempfile::tempdir().map_err(|e| ChaosError::Infrastructure(format!("cannot make a temporary folder: {e}")))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text)
            .map_err(|e| ChaosError::Infrastructure(format!("cannot write {name} for promtool: {e}")))
    };
    write("rules.yaml", &rules)?;
    let program = promtool.unwrap_or(Path::new("promtool"));
    let mut verdicts = Vec::new();
    for expectation in expected {
        write("test.yaml", &silence_test("rules.yaml", series, expectation.alert))?;
        let output =
            Command::new(program).args(["test", "rules", "test.yaml"]).current_dir(dir.path()).output().map_err(
                |e| {
                    ChaosError::Infrastructure(format!(
                        "cannot run {}: {e}; install it (Debian: apt-get install prometheus)",
                        program.display()
                    ))
                },
            )?;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let fired = read_answer(expectation.alert, output.status.success(), &text).map_err(|error| {
            ChaosError::Infrastructure(format!("promtool could not judge {}: {error}", expectation.alert))
        })?;
        let detail = match &fired {
            Some(labels) => format!("fired with {labels}"),
            None => "stayed silent".to_string(),
        };
        verdicts.push(AlertVerdict {
            alert: expectation.alert.to_string(),
            expected_firing: expectation.fires,
            fired: fired.is_some(),
            detail,
        });
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Experiment;
    use sparkplane_observe::rules::alerts;

    #[test]
    fn every_alert_the_catalog_names_exists() {
        let groups = builtin_groups(&RuleOptions::default());
        let names: Vec<&str> = alerts(&groups).map(|a| a.name.as_str()).collect();
        for experiment in Experiment::ALL {
            for expected in experiment.expectation().alerts {
                assert!(names.contains(&expected.alert), "{}: no alert {}", experiment.name(), expected.alert);
            }
        }
    }

    #[test]
    fn the_test_file_steps_each_series_at_the_fault() {
        let text = silence_test("rules.yaml", &[Series::step("up{job=\"x\"}", 1.0, 0.0)], "Down");
        assert!(text.contains("values: 1x30 0x29"), "{text}");
        assert!(text.contains("eval_time: 45m") && text.contains("alertname: Down"), "{text}");
    }

    #[test]
    fn reads_fired_silent_and_broken_answers() {
        let got = "  FAILED:\n    alertname: Down, time: 45m, \n        exp:[], \n        got:[\n            0:\n              \
                   Labels:{alertname=\"Down\", severity=\"critical\"}\n              Annotations:{}\n            ]\n";
        assert_eq!(read_answer("Down", false, got), Ok(Some("{alertname=\"Down\", severity=\"critical\"}".into())));
        assert_eq!(read_answer("Down", true, "SUCCESS"), Ok(None));
        assert_eq!(read_answer("Down", false, "yaml: bad file"), Err("yaml: bad file".into()));
    }

    fn promtool_available() -> bool {
        Command::new("promtool").arg("--version").output().is_ok()
    }

    #[test]
    fn real_promtool_tells_a_firing_alert_from_a_silent_one() {
        assert!(promtool_available(), "promtool is needed: apt-get install prometheus (scripts/test.sh installs it)");
        let storage = "sparkplane_app_failures_total{cause=\"storage\",namespace=\"data\"}";
        let expected = [ExpectedAlert { alert: "SparkJobsStorageErrors", fires: true }];
        let fired = check(None, &[Series::step(storage, 0.0, 1.0)], &expected).expect("promtool");
        assert_eq!(fired.len(), 1);
        assert!(fired[0].fired && fired[0].held(), "{fired:?}");
        assert!(fired[0].detail.contains("namespace=\"data\""), "{fired:?}");
        let quiet = check(None, &[Series::step(storage, 0.0, 0.0)], &expected).expect("promtool");
        assert!(!quiet[0].fired && !quiet[0].held(), "{quiet:?}");
    }
}
