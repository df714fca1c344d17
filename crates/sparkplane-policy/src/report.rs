//! Policy reports: a [`Verdict`] as text, JSON, SARIF 2.1.0 or JUnit XML.
//!
//! Owns the report formats only (JUnit's XML is written by [`sparkplane_documents::junit`]). Built-in and Rego policies are reported the
//! same way: every policy evaluated is a SARIF rule and a JUnit testcase.
//! Must not evaluate anything.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::{PolicySeverity, Verdict, Violation};
use sparkplane_documents::junit::{CaseResult, TestCase, TestSuite};
use sparkplane_documents::sarif;
use sparkplane_documents::source::Span;

fn location_suffix(span: Option<&Span>) -> String {
    span.map(|s| format!(" ({})", s.location())).unwrap_or_default()
}

/// A plain-text report: one paragraph per violation and a summary line.
pub fn to_text(verdict: &Verdict) -> String {
    let mut out = String::new();
    for v in &verdict.violations {
        let _ = writeln!(
            out,
            "{}[{}] {}: {}{}",
            v.severity().as_str(),
            v.policy.id,
            v.path,
            v.message,
            location_suffix(v.span.as_ref())
        );
        let _ = writeln!(out, "  fix: {}", v.fix());
    }
    let (deny, warn) = verdict.counts();
    let _ = writeln!(
        out,
        "{} policies checked: {deny} deny, {warn} warn violation{}",
        verdict.policies.len(),
        if verdict.violations.len() == 1 { "" } else { "s" }
    );
    out
}

/// A JSON report: `{violations: [...], summary: {policies, deny, warn}}`.
pub fn to_json(verdict: &Verdict) -> Value {
    let (deny, warn) = verdict.counts();
    json!({
        "violations": verdict.violations.iter().map(|v| json!({
            "policy": v.policy.id,
            "severity": v.severity().as_str(),
            "title": v.policy.title,
            "message": v.message,
            "path": v.path,
            "file": v.span.as_ref().map(|s| s.source.name.to_string()),
            "line": v.span.as_ref().map(|s| s.at.line),
            "column": v.span.as_ref().map(|s| s.at.column),
            "fix": v.fix(),
            "source": v.policy.origin.as_deref().unwrap_or("builtin"),
        })).collect::<Vec<_>>(),
        "summary": {"policies": verdict.policies.len(), "deny": deny, "warn": warn},
    })
}

/// The SARIF 2.1.0 schema location.
pub const SARIF_SCHEMA: &str = sarif::SCHEMA;

/// A SARIF 2.1.0 log for code scanning. Violations without a span are
/// reported at line 1 of `artifact` (the job file).
pub fn to_sarif(verdict: &Verdict, artifact: &str) -> Value {
    let rules: Vec<sarif::Rule> = verdict
        .policies
        .iter()
        .map(|p| sarif::Rule {
            id: p.id.to_string(),
            name: Some(p.id.to_string()),
            short_description: sarif::Message::new(p.title.clone()),
            full_description: Some(sarif::Message::new(p.rationale.clone())),
            help: Some(sarif::Message::new(p.fix.clone())),
            default_configuration: sarif::Configuration { level: sarif_level(p.severity) },
        })
        .collect();
    let results: Vec<sarif::SarifResult> = verdict
        .violations
        .iter()
        .map(|v| {
            let location = match &v.span {
                Some(s) => {
                    sarif::Location::at(s.source.name.to_string(), sarif::number(s.at.line), sarif::number(s.at.column))
                }
                None => sarif::Location::at(artifact, 1, 1),
            };
            sarif::SarifResult {
                rule_id: v.policy.id.to_string(),
                rule_index: verdict.policies.iter().position(|p| p.id == v.policy.id).unwrap_or_default(),
                level: sarif_level(v.severity()),
                message: sarif::Message::new(format!("{}: {}", v.path, v.message)),
                locations: vec![location],
                properties: None,
            }
        })
        .collect();
    sarif::Log::sparkplane("https://sparkplane.dev/docs/policies", rules, results, Vec::new()).to_json()
}

fn sarif_level(severity: PolicySeverity) -> sarif::Level {
    match severity {
        PolicySeverity::Deny => sarif::Level::Error,
        PolicySeverity::Warn => sarif::Level::Warning,
    }
}

/// A JUnit XML report: one testsuite, one testcase per policy evaluated; deny
/// violations are failures, warnings are written to the testcase's output.
pub fn to_junit(verdict: &Verdict) -> String {
    let cases = verdict
        .policies
        .iter()
        .map(|p| {
            let mine: Vec<&Violation> = verdict.violations.iter().filter(|v| v.policy.id == p.id).collect();
            let result = match mine.first() {
                None => CaseResult::Passed,
                Some(first_found) => {
                    let lines: Vec<String> = mine
                        .iter()
                        .map(|v| format!("{}: {}{}", v.path, v.message, location_suffix(v.span.as_ref())))
                        .collect();
                    let body = format!("{}\nfix: {}", lines.join("\n"), first_found.fix());
                    match mine.iter().find(|v| v.severity() == PolicySeverity::Deny) {
                        Some(first) => {
                            CaseResult::Failure { kind: "deny".into(), message: first.message.clone(), body }
                        }
                        None => CaseResult::Output(format!("warn: {body}")),
                    }
                }
            };
            TestCase { classname: "sparkplane.policy".into(), name: p.id.to_string(), result }
        })
        .collect();
    TestSuite { name: "sparkplane-policy".into(), cases }.to_xml()
}
