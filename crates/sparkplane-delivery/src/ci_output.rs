//! Views of a CI report for people and CI systems: text, JUnit XML and SARIF.
//!
//! Owns: what each check looks like in each view — a JUnit test case per
//! check (`classname` `sparkplane.ci.<environment>`, name the check's), a
//! SARIF rule per check and a result per finding at its file:line:col.
//! The XML and SARIF encodings are the core's (`junit`, `sarif`); this module
//! never writes either format by hand.
//! Must not: decide outcomes (the report has them) or do I/O.

use std::fmt::Write as _;

use sparkplane_documents::junit::{CaseResult, TestCase, TestSuite};
use sparkplane_documents::sarif;

use crate::ci_report::{Check, CiReport, Finding, Outcome, Severity};

/// Where the checks are documented.
pub const CHECKS_URI: &str = "https://sparkplane.dev/docs/guide#ci-in-one-command";

/// What each check is, for SARIF's rules and the guide: (id, name, description).
pub const CHECKS: [(&str, &str, &str); 6] = [
    ("validate", "JobIsValid", "The job loads, resolves and validates for the environment (schema and meaning)."),
    ("policy", "PoliciesPass", "The environment's built-in and Rego policies pass (deny fails, warn reports)."),
    ("fit", "PodsFit", "The driver and executors fit the node pools and the tenant's quota."),
    ("sql", "SparkSqlIsValid", "The job's Spark SQL parses and reads only declared tables and columns."),
    ("unit-tests", "UnitTestsPass", "The job's unit-test command (spec.ci.testCommand) exits 0."),
    ("local-run", "SampleRunPasses", "The job runs on this machine on sample data and its quality gates pass."),
];

fn case_name(check: &Check) -> String {
    match &check.environment {
        Some(env) => format!("{} [{env}]", check.name),
        None => check.name.clone(),
    }
}

/// One finding as a line: `file:line:col: error: code: message` and its help.
pub fn finding_line(f: &Finding) -> String {
    let mut out = String::new();
    if let Some(at) = &f.location {
        let _ = write!(out, "{at}: ");
    }
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    };
    let _ = write!(out, "{level}: ");
    if let Some(field) = &f.field {
        let _ = write!(out, "{field}: ");
    }
    let _ = write!(out, "{} [{}]", f.message, f.code);
    if let Some(help) = &f.help {
        let _ = write!(out, "\n  help: {help}");
    }
    out
}

/// The report for a terminal: one line per check, its findings under it, a summary.
pub fn to_text(report: &CiReport) -> String {
    let mut out = String::new();
    for check in &report.checks {
        let _ = write!(out, "{:<5} {}", check.outcome.as_str().to_uppercase(), case_name(check));
        if let Some(summary) = &check.summary {
            let _ = write!(out, ": {summary}");
        }
        out.push('\n');
        for f in &check.diagnostics {
            for line in finding_line(f).lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    let count = |o: Outcome| report.checks.iter().filter(|c| c.outcome == o).count();
    let _ = writeln!(
        out,
        "ci {} for {}: {} passed, {} failed, {} could not run, {} skipped",
        report.outcome,
        report.job,
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Error),
        count(Outcome::Skip)
    );
    out
}

/// The report as one JUnit test suite, a test case per check.
pub fn to_junit(report: &CiReport) -> String {
    let cases = report
        .checks
        .iter()
        .map(|check| {
            let body = check.diagnostics.iter().map(finding_line).collect::<Vec<_>>().join("\n");
            let first_error = check.diagnostics.iter().find(|f| f.severity == Severity::Error);
            let result = match check.outcome {
                Outcome::Pass if body.is_empty() => CaseResult::Passed,
                Outcome::Pass => CaseResult::Output(body),
                Outcome::Skip => CaseResult::Skipped(check.summary.clone().unwrap_or_default()),
                Outcome::Fail | Outcome::Error => CaseResult::Failure {
                    kind: if check.outcome == Outcome::Fail { "fail".into() } else { "unavailable".into() },
                    message: first_error.map(|f| f.message.clone()).unwrap_or_default(),
                    body,
                },
            };
            TestCase {
                classname: format!("sparkplane.ci.{}", check.environment.as_deref().unwrap_or(&report.job)),
                name: case_name(check),
                result,
            }
        })
        .collect();
    TestSuite { name: format!("sparkplane ci {}", report.job), cases }.to_xml()
}

/// The report as a SARIF 2.1.0 log: a rule per check, a result per finding.
/// Findings without a place are put at the job file's first line.
pub fn to_sarif(report: &CiReport) -> serde_json::Value {
    let rules: Vec<sarif::Rule> = CHECKS
        .iter()
        .map(|(id, name, description)| sarif::Rule {
            id: (*id).into(),
            name: Some((*name).into()),
            short_description: sarif::Message::new(*description),
            full_description: None,
            help: None,
            default_configuration: sarif::Configuration { level: sarif::Level::Error },
        })
        .collect();
    let mut results = Vec::new();
    for check in &report.checks {
        let rule_index = CHECKS.iter().position(|(id, _, _)| *id == check.name).unwrap_or_default();
        for f in &check.diagnostics {
            let location = match &f.location {
                Some(at) => sarif::Location::at(at.file.clone(), at.line, at.column),
                None => sarif::Location::at(report.job_file.clone(), 1, 1),
            };
            let mut properties = serde_json::Map::new();
            properties.insert("code".into(), f.code.clone().into());
            if let Some(env) = &check.environment {
                properties.insert("environment".into(), env.clone().into());
            }
            if let Some(field) = &f.field {
                properties.insert("field".into(), field.clone().into());
            }
            let mut text = f.message.clone();
            if let Some(help) = &f.help {
                let _ = write!(text, " (help: {help})");
            }
            results.push(sarif::SarifResult {
                rule_id: check.name.clone(),
                rule_index,
                level: match f.severity {
                    Severity::Error => sarif::Level::Error,
                    Severity::Warning => sarif::Level::Warning,
                    Severity::Note => sarif::Level::Note,
                },
                message: sarif::Message::new(text),
                locations: vec![location],
                properties: Some(properties),
            });
        }
    }
    let invocation = sarif::Invocation {
        execution_successful: report.checks.iter().all(|c| c.outcome != Outcome::Error),
        start_time_utc: Some(report.started_at.to_string()),
        end_time_utc: Some(report.finished_at.to_string()),
    };
    sarif::Log::sparkplane(CHECKS_URI, rules, results, vec![invocation]).to_json()
}
