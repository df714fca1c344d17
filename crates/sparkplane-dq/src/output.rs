//! Reports of a run for machines: JUnit XML (one test case per check; a
//! failed error-severity check is a failure, a failed warn-severity check is
//! recorded in system-out). JSON is the report's serde form; Prometheus text
//! is written by the CLI with the observability registry's names.

use std::fmt::Write;

use sparkplane_api::dq::CheckSeverity;
use sparkplane_core::policy::xml_escape;

use crate::evaluate::{DqReport, Status};

/// The report as a JUnit test suite.
pub fn to_junit(report: &DqReport) -> String {
    let failures = report.errors().count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"sparkplane-dq.{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        xml_escape(&report.spec),
        report.checks.len()
    );
    for check in &report.checks {
        let _ = write!(
            out,
            "  <testcase classname=\"sparkplane.dq.{}\" name=\"{}\"",
            xml_escape(&report.spec),
            xml_escape(&check.name)
        );
        let mut body = check.message.clone();
        if !check.examples.is_empty() {
            let _ = write!(body, "\nexamples: {}", check.examples.join(", "));
        }
        match (check.status, check.severity) {
            (Status::Pass, _) => {
                let _ = writeln!(out, ">\n    <system-out>{}</system-out>\n  </testcase>", xml_escape(&body));
            }
            (Status::Fail, CheckSeverity::Error) => {
                let _ = writeln!(
                    out,
                    ">\n    <failure type=\"{}\" message=\"{}\">{}</failure>\n  </testcase>",
                    xml_escape(&check.kind),
                    xml_escape(&check.message),
                    xml_escape(&body)
                );
            }
            (Status::Fail, CheckSeverity::Warn) => {
                let _ = writeln!(out, ">\n    <system-out>warn: {}</system-out>\n  </testcase>", xml_escape(&body));
            }
        }
    }
    out.push_str("</testsuite>\n");
    out
}
