//! Policy reports: a [`Verdict`] as text, JSON, SARIF 2.1.0 or JUnit XML,
//! each violation as a diagnostic, and what the gate before an action makes
//! of a verdict ([`Verdict::gate`]: warnings, refusals, audit mode); the
//! policies an environment evaluates as `policy list` shows them; and Rego
//! tests' results as `policy test` reports them.
//!
//! Owns the report formats only (JUnit's XML is written by [`sparkplane_documents::junit`]). Built-in and Rego policies are reported the
//! same way: every policy evaluated is a SARIF rule and a JUnit testcase.
//! Must not evaluate anything.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::rego::{TestOutcome, TestResult};
use crate::{Policy, PolicySeverity, Verdict, Violation};
use sparkplane_documents::junit::{CaseResult, TestCase, TestSuite};
use sparkplane_documents::sarif;
use sparkplane_documents::source::Span;
use sparkplane_documents::table::Table;
use sparkplane_documents::{Diagnostic, Diagnostics, Severity};

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

impl Violation {
    /// The violation as a diagnostic (error for deny, warning for warn),
    /// with its fix and where the field was written.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let (code, message) = match self.policy.static_id() {
            Some(id) => (id, self.message.clone()),
            None => ("rego-policy", format!("[{}] {}", self.policy.id, self.message)),
        };
        let diagnostic = match self.severity() {
            PolicySeverity::Deny => Diagnostic::error(code, self.path.clone(), message),
            PolicySeverity::Warn => Diagnostic::warning(code, self.path.clone(), message),
        };
        diagnostic.with_help(self.fix()).with_span(self.span.clone())
    }
}

/// What the gate before an action (`render`, `submit`, `run`, `apply`,
/// `release`) makes of a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// To show: the warn violations, and in audit mode the deny ones too.
    pub warnings: Diagnostics,
    /// What refuses the action (the deny violations; none in audit mode).
    pub refused: Diagnostics,
    /// In audit mode with deny violations, the line that says they were not enforced.
    pub note: Option<String>,
}

/// The line audit mode adds when `denied` deny violations were not enforced.
pub fn audit_note(denied: usize) -> String {
    format!("audit mode: {denied} deny violation{} not enforced", if denied == 1 { "" } else { "s" })
}

impl Verdict {
    /// The deny violations as error diagnostics.
    pub fn denials(&self) -> Diagnostics {
        Diagnostics(
            self.violations
                .iter()
                .filter(|v| v.severity() == PolicySeverity::Deny)
                .map(Violation::to_diagnostic)
                .collect(),
        )
    }

    /// The gate's answer: warnings always shown; a deny violation refuses
    /// the action unless `audit`, which shows it as a warning instead.
    pub fn gate(&self, audit: bool) -> Gate {
        let mut warnings = Diagnostics(
            self.violations
                .iter()
                .filter(|v| v.severity() == PolicySeverity::Warn)
                .map(Violation::to_diagnostic)
                .collect(),
        );
        let denied = self.denials();
        if !audit || denied.is_empty() {
            return Gate { warnings, refused: denied, note: None };
        }
        let note = Some(audit_note(denied.0.len()));
        warnings.0.extend(denied.0.into_iter().map(|d| Diagnostic { severity: Severity::Warning, ..d }));
        Gate { warnings, refused: Diagnostics::new(), note }
    }
}

/// The policies an environment evaluates, as `policy list -o json` gives
/// them: id, severity, title and where each comes from.
pub fn catalogue_rows(policies: &[Policy]) -> Vec<Value> {
    policies
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "severity": p.severity.as_str(), "title": p.title,
                "source": p.origin.as_deref().unwrap_or("builtin"),
            })
        })
        .collect()
}

/// [`catalogue_rows`] as `policy list`'s table.
pub fn catalogue_table(rows: &[Value]) -> String {
    let mut table = Table::new(&["ID", "SEVERITY", "SOURCE", "TITLE"]);
    for row in rows {
        let cell = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
        table.row(vec![cell("id"), cell("severity"), cell("source"), cell("title")]);
    }
    table.render()
}

/// Rego tests' results as `policy test -o json` gives them.
pub fn test_rows(results: &[TestResult]) -> Vec<Value> {
    results
        .iter()
        .map(|r| {
            let (outcome, error) = match &r.outcome {
                TestOutcome::Pass => ("pass", None),
                TestOutcome::Fail => ("fail", None),
                TestOutcome::Error(e) => ("error", Some(e.clone())),
            };
            json!({"file": r.file, "test": format!("data.{}.{}", r.package, r.name), "outcome": outcome, "error": error})
        })
        .collect()
}

/// Rego tests' results as `opa test` prints them: a line per test, then the counts.
pub fn test_text(results: &[TestResult]) -> String {
    let mut out = String::new();
    for r in results {
        let label = match &r.outcome {
            TestOutcome::Pass => "PASS".to_owned(),
            TestOutcome::Fail => "FAIL".to_owned(),
            TestOutcome::Error(e) => format!("ERROR ({e})"),
        };
        let _ = writeln!(out, "{}: data.{}.{}: {label}", r.file, r.package, r.name);
    }
    let failed = results.iter().filter(|r| r.outcome != TestOutcome::Pass).count();
    let _ = writeln!(out, "{} passed, {failed} failed ({} tests)", results.len() - failed, results.len());
    out
}

/// An error per Rego test that did not pass.
pub fn test_failures(results: &[TestResult]) -> Diagnostics {
    Diagnostics(
        results
            .iter()
            .filter(|r| r.outcome != TestOutcome::Pass)
            .map(|r| {
                Diagnostic::error("rego-test", "", format!("{}: data.{}.{} failed", r.file, r.package, r.name))
                    .with_help("the rule was false or undefined; see the test's inputs")
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn violation(id: &'static str, severity: PolicySeverity) -> Violation {
        let mut policy = crate::policy(id).cloned().unwrap_or_else(|| Policy {
            id: Cow::Owned(id.to_owned()),
            severity,
            title: Cow::Borrowed("a Rego policy"),
            rationale: Cow::Borrowed(""),
            fix: Cow::Borrowed("fix it"),
            origin: Some("p.rego".into()),
        });
        policy.severity = severity;
        Violation { policy, message: format!("{id} broken"), path: "spec.image".into(), span: None, fix: None }
    }

    #[test]
    fn a_violation_is_a_diagnostic_of_its_severity_and_a_rego_one_names_its_policy() {
        let rego = violation("team-rule", PolicySeverity::Warn).to_diagnostic();
        assert_eq!(
            (rego.code, rego.severity, rego.message.as_str()),
            ("rego-policy", Severity::Warning, "[team-rule] team-rule broken")
        );
        assert_eq!(rego.help.as_deref(), Some("fix it"));
        let builtin = violation(crate::INLINE_SECRETS, PolicySeverity::Deny).to_diagnostic();
        assert_eq!((builtin.code, builtin.severity), (crate::INLINE_SECRETS, Severity::Error));
    }

    #[test]
    fn the_gate_refuses_a_deny_unless_audit_shows_it_as_a_warning_with_a_note() {
        let verdict = Verdict {
            policies: Vec::new(),
            violations: vec![violation("a-deny", PolicySeverity::Deny), violation("a-warn", PolicySeverity::Warn)],
        };
        let enforced = verdict.gate(false);
        assert_eq!((enforced.warnings.0.len(), enforced.refused.0.len(), enforced.note), (1, 1, None));
        let audited = verdict.gate(true);
        assert!(audited.refused.is_empty());
        assert_eq!(
            audited.warnings.0.iter().map(|d| (d.message.as_str(), d.severity)).collect::<Vec<_>>(),
            [("[a-warn] a-warn broken", Severity::Warning), ("[a-deny] a-deny broken", Severity::Warning),]
        );
        assert_eq!(audited.note.as_deref(), Some("audit mode: 1 deny violation not enforced"));
        assert_eq!(audit_note(2), "audit mode: 2 deny violations not enforced");
        let clean = Verdict::default().gate(true);
        assert_eq!((clean.warnings.is_empty(), clean.refused.is_empty(), clean.note), (true, true, None));
    }

    #[test]
    fn the_catalogue_lists_each_policy_with_its_source() {
        let rows = catalogue_rows(&[violation("team-rule", PolicySeverity::Warn).policy]);
        assert_eq!(rows[0]["source"], "p.rego");
        assert_eq!(
            catalogue_table(&rows),
            "ID         SEVERITY  SOURCE  TITLE\nteam-rule  warn      p.rego  a Rego policy\n"
        );
    }

    #[test]
    fn rego_test_results_read_as_opa_test_prints_them() {
        let result = |name: &str, outcome| TestResult {
            file: "p_test.rego".into(),
            package: "p".into(),
            name: name.into(),
            outcome,
        };
        let results = [result("test_a", TestOutcome::Pass), result("test_b", TestOutcome::Error("boom".into()))];
        assert_eq!(
            test_text(&results),
            "p_test.rego: data.p.test_a: PASS\np_test.rego: data.p.test_b: ERROR (boom)\n1 passed, 1 failed (2 tests)\n"
        );
        assert_eq!(test_rows(&results)[1]["error"], "boom");
        assert_eq!(test_failures(&results).0[0].message, "p_test.rego: data.p.test_b failed");
    }
}
