//! The drill's workflow over a fake host: the ends the end-to-end drills
//! cannot reach (a damaged manifest, a failed job, a failed step with the
//! scratch still cleaned up, a kept scratch) and the order of the steps.

use serde_json::json;
use sparkplane_api::backup::Backup;
use sparkplane_api::job::QualityGate;

use super::*;
use crate::drill::{DrillFailure, RestoreFault, RestoreFinding};

/// A host that answers from fields and records every call.
struct Fake {
    clock: Vec<i64>,
    report: VerifyReport,
    job: Result<(), String>,
    gate_failures: Vec<String>,
    fail_restore: bool,
    fail_gates: bool,
    calls: Vec<String>,
}

#[derive(Debug)]
enum FakeError {
    Backup(String),
    Manifest(Diagnostic),
}

impl From<BackupError> for FakeError {
    fn from(e: BackupError) -> Self {
        FakeError::Backup(e.to_string())
    }
}

impl From<DamagedManifest> for FakeError {
    fn from(e: DamagedManifest) -> Self {
        FakeError::Manifest(e.0)
    }
}

fn unreachable(what: &str) -> BackupError {
    BackupError::Unreachable { message: format!("{what}: connection refused"), help: "check it".into() }
}

impl DrillHost for Fake {
    type Error = FakeError;

    fn now_ms(&mut self) -> i64 {
        self.calls.push("now".into());
        if self.clock.len() > 1 { self.clock.remove(0) } else { self.clock[0] }
    }
    fn restore(&mut self, serve_catalog: bool) -> Result<VerifyReport, FakeError> {
        self.calls.push(format!("restore serve_catalog={serve_catalog}"));
        if self.fail_restore {
            return Err(unreachable("the target").into());
        }
        Ok(self.report.clone())
    }
    fn relocate(&mut self, database: &str) -> Result<(), FakeError> {
        self.calls.push(format!("relocate {database}"));
        Ok(())
    }
    fn run_job(&mut self, catalog: Option<&str>) -> Result<Result<(), String>, FakeError> {
        self.calls.push(format!("run catalog={catalog:?}"));
        Ok(self.job.clone())
    }
    fn check_gate(&mut self, gate: &QualityGate) -> Result<Result<(), Vec<String>>, FakeError> {
        self.calls.push(format!("gate {}", gate.spec));
        if self.fail_gates {
            return Err(unreachable("the output").into());
        }
        if gate.is_blocking() && !self.gate_failures.is_empty() {
            return Ok(Err(self.gate_failures.clone()));
        }
        Ok(Ok(()))
    }
    fn drop_scratch_database(&mut self, database: &str) -> Result<(), FakeError> {
        self.calls.push(format!("drop {database}"));
        Ok(())
    }
    fn empty_scratch_bucket(&mut self) -> Result<Option<usize>, FakeError> {
        self.calls.push("empty".into());
        Ok(Some(3))
    }
}

const HOUR_MS: i64 = 3_600_000;
/// 2026-11-25T08:00:00Z.
const BACKED_UP_MS: i64 = 1_795_593_600_000;

fn report(scratch_database: Option<&str>) -> VerifyReport {
    VerifyReport {
        id: "20261125T080000Z".into(),
        manifest_url: "s3://backups/runs/20261125T080000Z/manifest.json".into(),
        tables: 1,
        rows: 10,
        hive_tables: vec![],
        objects: 2,
        bytes: 100,
        problems: vec![],
        findings: vec![],
        started: "2026-11-25T08:00:00Z".into(),
        scratch_database: scratch_database.map(str::to_owned),
    }
}

fn fake(scratch_database: Option<&str>) -> Fake {
    Fake {
        // The drill starts 2 h after the backup; the job is green 30 min later.
        clock: vec![BACKED_UP_MS + 2 * HOUR_MS, BACKED_UP_MS + 2 * HOUR_MS + HOUR_MS / 2],
        report: report(scratch_database),
        job: Ok(()),
        gate_failures: vec![],
        fail_restore: false,
        fail_gates: false,
        calls: vec![],
    }
}

fn backup() -> Backup {
    let mut backup = Backup::default();
    backup.spec.objectives = Some(serde_json::from_value(json!({"rto": "1h", "rpo": "3h"})).expect("objectives"));
    backup
}

fn gates() -> Vec<QualityGate> {
    serde_json::from_value(json!([{"spec": "dq/trips.yaml"}, {"spec": "dq/soft.yaml", "blocking": false}]))
        .expect("gates")
}

fn plan<'a>(backup: &'a Backup, gates: &'a [QualityGate], serves_catalog: bool, keep: bool) -> DrillPlan<'a> {
    DrillPlan { backup, gates, serves_catalog, keep_scratch: keep }
}

#[test]
fn the_s3_endpoint_is_the_targets_else_aws_for_its_region_else_aws_global() {
    let target = |endpoint: Option<&str>, region: Option<&str>| StoreRef {
        url: "s3://b".into(),
        endpoint: endpoint.map(str::to_owned),
        region: region.map(str::to_owned),
        credentials: None,
    };
    let cases = [
        (Some("http://127.0.0.1:8333"), Some("eu-west-1"), "http://127.0.0.1:8333"),
        (None, Some("eu-west-1"), "https://s3.eu-west-1.amazonaws.com"),
        (None, None, "https://s3.amazonaws.com"),
    ];
    for (endpoint, region, want) in cases {
        assert_eq!(s3a_endpoint(&target(endpoint, region)), want);
    }
}

#[test]
fn a_green_drill_serving_the_catalog_relocates_runs_checks_drops_and_empties_in_order() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(Some("drill_1"));
    let end = drill(&plan(&backup, &gates, true, false), &mut host).expect("a verdict");
    assert!(end.verdict.green, "{:?}", end.verdict.failures);
    assert_eq!(end.verdict.rto.measured_ms, Some((HOUR_MS / 2) as u64));
    assert_eq!(end.verdict.rpo.measured_ms, Some((2 * HOUR_MS) as u64));
    assert_eq!((end.catalog.as_deref(), end.deleted), (Some("drill_1"), Some(3)));
    let details: Vec<(&str, bool, &str)> =
        end.verdict.gates.iter().map(|g| (g.name.as_str(), g.passed, g.detail.as_str())).collect();
    assert_eq!(
        details,
        [("dq/trips.yaml", true, "passed"), ("dq/soft.yaml", true, "non-blocking: its failures only warn")]
    );
    assert_eq!(
        host.calls,
        [
            "now",
            "restore serve_catalog=true",
            "relocate drill_1",
            "run catalog=Some(\"drill_1\")",
            "gate dq/trips.yaml",
            "gate dq/soft.yaml",
            "now",
            "drop drill_1",
            "empty"
        ]
    );
}

#[test]
fn a_restore_with_findings_runs_no_job_and_the_drill_is_red() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(None);
    let finding = RestoreFinding { fault: RestoreFault::MissingObject, detail: "lake/t/part-0: missing".into() };
    host.report.findings = vec![finding.clone()];
    let end = drill(&plan(&backup, &gates, false, false), &mut host).expect("a verdict");
    assert!(!end.verdict.green);
    assert_eq!(end.verdict.failures, [DrillFailure::Restore(finding)]);
    assert_eq!(end.verdict.rto.measured_ms, None);
    assert!(!host.calls.iter().any(|c| c.starts_with("run") || c.starts_with("gate")), "{:?}", host.calls);
}

#[test]
fn a_failed_job_checks_no_gate_and_names_its_cause() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(None);
    host.job = Err("run r-1 failed: exit code 1".into());
    let end = drill(&plan(&backup, &gates, false, false), &mut host).expect("a verdict");
    assert_eq!(end.verdict.failures, [DrillFailure::JobFailed { cause: "run r-1 failed: exit code 1".into() }]);
    assert!(end.verdict.gates.is_empty());
    assert!(!host.calls.iter().any(|c| c.starts_with("gate")), "{:?}", host.calls);
}

#[test]
fn a_failed_blocking_gate_joins_its_messages_and_a_slow_drill_misses_its_rto() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(None);
    host.gate_failures = vec!["check `rows` failed".into(), "check `ids` failed".into()];
    host.clock = vec![BACKED_UP_MS + 2 * HOUR_MS, BACKED_UP_MS + 4 * HOUR_MS];
    let end = drill(&plan(&backup, &gates, false, false), &mut host).expect("a verdict");
    let gate = GateResult {
        name: "dq/trips.yaml".into(),
        passed: false,
        detail: "check `rows` failed; check `ids` failed".into(),
    };
    assert_eq!(end.verdict.failures, [DrillFailure::GateFailed(gate)]);
    assert_eq!(end.verdict.rto.measured_ms, None, "a red job is not green at any time");

    let mut host = fake(None);
    host.clock = vec![BACKED_UP_MS + 2 * HOUR_MS, BACKED_UP_MS + 4 * HOUR_MS];
    let end = drill(&plan(&backup, &gates, false, false), &mut host).expect("a verdict");
    assert_eq!(
        end.verdict.failures,
        [DrillFailure::RtoOverTarget { measured_ms: (2 * HOUR_MS) as u64, target_ms: HOUR_MS as u64 }]
    );
}

#[test]
fn a_damaged_manifest_is_its_own_error_and_the_scratch_is_still_cleaned_up() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(Some("drill_1"));
    host.report.started = "yesterday".into();
    let err = drill(&plan(&backup, &gates, true, false), &mut host).expect_err("damaged");
    let FakeError::Manifest(d) = err else { panic!("the manifest error: {err:?}") };
    assert_eq!(d.code, "drill-manifest");
    assert!(d.message.starts_with("backup run 20261125T080000Z: started `yesterday`: "), "{}", d.message);
    assert_eq!(host.calls, ["now", "restore serve_catalog=true", "drop drill_1", "empty"]);
}

#[test]
fn a_gate_that_cannot_be_checked_fails_the_drill_after_dropping_and_emptying_the_scratch() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(Some("drill_1"));
    host.fail_gates = true;
    let err = drill(&plan(&backup, &gates, true, false), &mut host).expect_err("unreachable");
    assert!(matches!(&err, FakeError::Backup(m) if m == "the output: connection refused"), "{err:?}");
    assert_eq!(host.calls.iter().rev().take(2).collect::<Vec<_>>(), ["empty", "drop drill_1"]);
}

#[test]
fn a_restore_that_fails_still_empties_the_bucket_and_a_kept_scratch_is_left_alone() {
    let (backup, gates) = (backup(), gates());
    let mut host = fake(None);
    host.fail_restore = true;
    let err = drill(&plan(&backup, &gates, false, false), &mut host).expect_err("unreachable");
    assert!(matches!(&err, FakeError::Backup(m) if m == "the target: connection refused"), "{err:?}");
    assert_eq!(host.calls, ["now", "restore serve_catalog=false", "empty"]);

    let mut host = fake(Some("drill_1"));
    let end = drill(&plan(&backup, &gates, true, true), &mut host).expect("a verdict");
    assert!(end.verdict.green);
    assert_eq!(end.deleted, None);
    assert!(!host.calls.iter().any(|c| c.starts_with("drop") || c == "empty"), "{:?}", host.calls);
}
