//! Reports of a run for machines: JUnit XML (one test case per check; a
//! failed error-severity check is a failure, a failed warn-severity check is
//! recorded in system-out), written by core's one JUnit writer
//! ([`sparkplane_core::junit`]); Prometheus text with the observability
//! registry's names, written by its one writer
//! ([`sparkplane_observe::exposition`]). JSON is the report's serde form.
//! Must not: write either format itself, or do I/O.

use sparkplane_api::dq::CheckSeverity;
use sparkplane_core::junit::{CaseResult, TestCase, TestSuite};
use sparkplane_observe::exposition::{self, Family, Sample};

use crate::evaluate::{DqReport, Status};

/// The report as a JUnit test suite.
pub fn to_junit(report: &DqReport) -> String {
    let cases = report
        .checks
        .iter()
        .map(|check| {
            let mut body = check.message.clone();
            if !check.examples.is_empty() {
                body.push_str(&format!("\nexamples: {}", check.examples.join(", ")));
            }
            let result = match (check.status, check.severity) {
                (Status::Pass, _) => CaseResult::Output(body),
                (Status::Fail, CheckSeverity::Error) => {
                    CaseResult::Failure { kind: check.kind.clone(), message: check.message.clone(), body }
                }
                (Status::Fail, CheckSeverity::Warn) => CaseResult::Output(format!("warn: {body}")),
            };
            TestCase { classname: format!("sparkplane.dq.{}", report.spec), name: check.name.clone(), result }
        })
        .collect();
    TestSuite { name: format!("sparkplane-dq.{}", report.spec), cases }.to_xml()
}

/// The lower-case name of a severity, as labels and tables write it.
pub fn severity_name(severity: CheckSeverity) -> &'static str {
    match severity {
        CheckSeverity::Error => "error",
        CheckSeverity::Warn => "warn",
    }
}

/// The report as Prometheus text for node_exporter's textfile collector:
/// the gate, each check, rows, bytes, `seconds` the run took (to the
/// millisecond) and `now_secs` (seconds since 1970, to the second).
pub fn to_prometheus(report: &DqReport, seconds: f64, now_secs: f64) -> String {
    let spec = || vec![("spec", report.spec.clone())];
    let per_check = |value: &dyn Fn(&crate::CheckResult) -> f64| {
        report
            .checks
            .iter()
            .map(|c| {
                let labels = vec![
                    ("spec", report.spec.clone()),
                    ("check", c.name.clone()),
                    ("severity", severity_name(c.severity).to_owned()),
                ];
                Sample::new(labels, value(c))
            })
            .collect()
    };
    let family = |name: &'static str, samples: Vec<Sample>| Family { name, samples };
    exposition::encode(&[
        family("sparkplane_dq_gate_passed", vec![Sample::new(spec(), f64::from(u8::from(report.passed)))]),
        family("sparkplane_dq_check_passed", per_check(&|c| f64::from(u8::from(c.status == Status::Pass)))),
        family("sparkplane_dq_check_failing_rows", per_check(&|c| c.failing_rows.unwrap_or(0) as f64)),
        family("sparkplane_dq_rows", vec![Sample::new(spec(), report.rows as f64)]),
        family("sparkplane_dq_scanned_bytes", vec![Sample::new(spec(), report.bytes as f64)]),
        family("sparkplane_dq_duration_seconds", vec![Sample::new(spec(), (seconds * 1000.0).round() / 1000.0)]),
        family("sparkplane_dq_last_run_timestamp_seconds", vec![Sample::new(spec(), now_secs.floor())]),
    ])
}
