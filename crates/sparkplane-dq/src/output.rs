//! Reports of a run for machines: JUnit XML (one test case per check; a
//! failed error-severity check is a failure, a failed warn-severity check is
//! recorded in system-out), written by core's one JUnit writer
//! ([`sparkplane_documents::junit`]); Prometheus text with the observability
//! registry's names, written by its one writer
//! ([`sparkplane_observe::exposition`]). JSON is the report's serde form.
//! Also the gate table a person reads ([`table`]: a row per check, then the
//! summary lines: verdict, quarantine, the spark engine's queries and scans).
//! Must not: write either format itself, or do I/O.

use sparkplane_api::dq::CheckSeverity;
use sparkplane_documents::junit::{CaseResult, TestCase, TestSuite};
use sparkplane_documents::table::Table;
use sparkplane_observe::exposition::{self, Family, Sample};

use std::fmt::Write as _;

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

/// The report as `dq check` and a job's gates print it: a row per check
/// (a failed warn-severity check says `warn`), then the [`summary`].
pub fn table(report: &DqReport) -> String {
    let mut table = Table::new(&["CHECK", "KIND", "SEVERITY", "STATUS", "DETAILS"]);
    for check in &report.checks {
        let status = match (check.status, check.severity) {
            (Status::Pass, _) => "pass",
            (Status::Fail, CheckSeverity::Error) => "FAIL",
            (Status::Fail, CheckSeverity::Warn) => "warn",
        };
        let mut details = check.message.clone();
        if !check.examples.is_empty() {
            let _ = write!(details, " (e.g. {})", check.examples.join(", "));
        }
        let severity = severity_name(check.severity);
        table.row(vec![check.name.clone(), check.kind.clone(), severity.into(), status.into(), details]);
    }
    let mut out = table.render();
    out.push_str(&summary(report));
    out
}

/// The lines under the gate table: the verdict with the data's size, what
/// quarantine did, and the spark engine's queries and scans (counted in the
/// event log when the host read it, else as planned).
pub fn summary(report: &DqReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{}: {} checks, {} failed; {} rows in {} files ({} bytes), selection {}",
        if report.passed { "PASSED" } else { "FAILED" },
        report.checks.len(),
        report.errors().count(),
        report.rows,
        report.files,
        report.bytes,
        report.selection,
    );
    if let Some(q) = &report.quarantine {
        let _ = writeln!(out, "quarantine: {q}");
    }
    if let Some(spark) = &report.spark {
        let scans = match spark.scans {
            _ if spark.queries == 0 => "no scans (the dataset has no files)".to_owned(),
            Some(n) => format!("{n} scans of the dataset counted in the event log (planned {})", spark.planned_scans),
            None => format!("{} scans planned (a --connect server's event log is not read)", spark.planned_scans),
        };
        let _ = writeln!(out, "spark engine: {} queries, {scans}", spark.queries);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckResult;

    fn report() -> DqReport {
        let check = |name: &str, severity, status, examples: &[&str]| CheckResult {
            name: name.into(),
            kind: "notNull".into(),
            severity,
            status,
            message: format!("{name} <says> \"so\""),
            observed: None,
            failing_rows: (status == Status::Fail).then_some(3),
            examples: examples.iter().map(|e| (*e).to_owned()).collect(),
        };
        DqReport {
            spec: "trips".into(),
            selection: "all".into(),
            passed: false,
            files: 1,
            bytes: 2048,
            rows: 10,
            row_groups_pruned: 0,
            checks: vec![
                check("ok", CheckSeverity::Error, Status::Pass, &[]),
                check("ids", CheckSeverity::Error, Status::Fail, &["a&b"]),
                check("soft", CheckSeverity::Warn, Status::Fail, &[]),
            ],
            quarantine: None,
            spark: None,
        }
    }

    #[test]
    fn junit_has_a_case_per_check_and_fails_only_error_checks() {
        assert_eq!(
            to_junit(&report()),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuite name=\"sparkplane-dq.trips\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\">\n  \
             <testcase classname=\"sparkplane.dq.trips\" name=\"ok\">\n    \
             <system-out>ok &lt;says&gt; &quot;so&quot;</system-out>\n  </testcase>\n  \
             <testcase classname=\"sparkplane.dq.trips\" name=\"ids\">\n    \
             <failure type=\"notNull\" message=\"ids &lt;says&gt; &quot;so&quot;\">ids &lt;says&gt; &quot;so&quot;\n\
             examples: a&amp;b</failure>\n  </testcase>\n  \
             <testcase classname=\"sparkplane.dq.trips\" name=\"soft\">\n    \
             <system-out>warn: soft &lt;says&gt; &quot;so&quot;</system-out>\n  </testcase>\n\
             </testsuite>\n"
        );
    }

    #[test]
    fn metrics_carry_every_check_with_its_severity() {
        let text = to_prometheus(&report(), 1.23456, 1_795_264_496.7);
        for line in [
            "sparkplane_dq_gate_passed{spec=\"trips\"} 0",
            "sparkplane_dq_check_passed{spec=\"trips\",check=\"ok\",severity=\"error\"} 1",
            "sparkplane_dq_check_failing_rows{spec=\"trips\",check=\"soft\",severity=\"warn\"} 3",
            "sparkplane_dq_scanned_bytes{spec=\"trips\"} 2048",
            "sparkplane_dq_duration_seconds{spec=\"trips\"} 1.235",
            "sparkplane_dq_last_run_timestamp_seconds{spec=\"trips\"} 1795264496",
            "# TYPE sparkplane_dq_rows gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert_eq!(text.lines().filter(|l| l.starts_with("# HELP ")).count(), 7);
    }

    #[test]
    fn the_summary_says_the_verdict_and_how_spark_scanned() {
        let mut report = report();
        assert_eq!(summary(&report), "\nFAILED: 3 checks, 1 failed; 10 rows in 1 files (2048 bytes), selection all\n");
        let cases = [
            ((4, 4, Some(4)), "spark engine: 4 queries, 4 scans of the dataset counted in the event log (planned 4)"),
            ((4, 4, None), "spark engine: 4 queries, 4 scans planned (a --connect server's event log is not read)"),
            ((0, 0, None), "spark engine: 0 queries, no scans (the dataset has no files)"),
        ];
        for ((queries, planned_scans, scans), line) in cases {
            report.spark = Some(crate::evaluate::SparkFigures { queries, planned_scans, scans });
            assert_eq!(summary(&report).lines().last(), Some(line));
        }
    }

    #[test]
    fn the_table_has_a_row_per_check_then_the_summary() {
        assert_eq!(
            table(&report()),
            "CHECK  KIND     SEVERITY  STATUS  DETAILS\n\
             ok     notNull  error     pass    ok <says> \"so\"\n\
             ids    notNull  error     FAIL    ids <says> \"so\" (e.g. a&b)\n\
             soft   notNull  warn      warn    soft <says> \"so\"\n\
             \nFAILED: 3 checks, 1 failed; 10 rows in 1 files (2048 bytes), selection all\n"
        );
    }
}
