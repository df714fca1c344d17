//! Policy reports: a [`Verdict`] as text, JSON, SARIF 2.1.0 or JUnit XML.
//!
//! Owns the report formats only (JUnit's XML is written by [`crate::junit`]). Built-in and Rego policies are reported the
//! same way: every policy evaluated is a SARIF rule and a JUnit testcase.
//! Must not evaluate anything.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{PolicySeverity, Verdict, Violation};
use crate::junit::{CaseResult, TestCase, TestSuite};
use crate::source::Span;

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
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF 2.1.0 log for code scanning. Violations without a span are
/// reported at line 1 of `artifact` (the job file).
pub fn to_sarif(verdict: &Verdict, artifact: &str) -> Value {
    let rules: Vec<Value> = verdict
        .policies
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.id,
                "shortDescription": {"text": p.title},
                "fullDescription": {"text": p.rationale},
                "help": {"text": p.fix},
                "defaultConfiguration": {"level": sarif_level(p.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = verdict
        .violations
        .iter()
        .map(|v| {
            let (uri, line, column) = match &v.span {
                Some(s) => (s.source.name.to_string(), s.at.line.max(1), s.at.column.max(1)),
                None => (artifact.to_owned(), 1, 1),
            };
            json!({
                "ruleId": v.policy.id,
                "ruleIndex": verdict.policies.iter().position(|p| p.id == v.policy.id),
                "level": sarif_level(v.severity()),
                "message": {"text": format!("{}: {}", v.path, v.message)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line, "startColumn": column},
                    },
                }],
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sparkplane",
                "informationUri": "https://sparkplane.dev/docs/policies",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_level(severity: PolicySeverity) -> &'static str {
    match severity {
        PolicySeverity::Deny => "error",
        PolicySeverity::Warn => "warning",
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
