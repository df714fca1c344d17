//! `ci --sarif` against the SARIF 2.1.0 JSON schema, and read back by the
//! SARIF SDK's own validator (an independent consumer), which scripts/test.sh
//! installs (`need_sarif_multitool` in scripts/common.sh); without it the test fails.

use std::path::{Path, PathBuf};

use sparkplane_delivery::ci::{StepResult, check};
use sparkplane_delivery::ci_output::to_sarif;
use sparkplane_delivery::ci_report::{API_VERSION, CiReport, Finding, KIND, Location, Severity};

fn finding(code: &str, at: Option<(&str, u32, u32)>, severity: Severity) -> Finding {
    Finding {
        severity,
        code: code.into(),
        message: format!("{code} happened"),
        help: Some("fix it".into()),
        field: Some("spec.image.tag".into()),
        location: at.map(|(file, line, column)| Location { file: file.into(), line, column }),
    }
}

/// A report with every kind of check and outcome: findings with and without places, warnings, skips, errors.
fn report() -> CiReport {
    let checks = vec![
        check("validate", Some("dev".into()), StepResult::Checked(vec![]), std::time::Duration::ZERO),
        check(
            "policy",
            Some("prod".into()),
            StepResult::Checked(vec![
                finding("image-tag", Some(("job.yaml", 14, 10)), Severity::Error),
                finding("pull-policy", Some(("job.yaml", 3, 1)), Severity::Warning),
            ]),
            std::time::Duration::from_millis(4),
        ),
        check("fit", Some("prod".into()), StepResult::Skipped("no node pools".into()), std::time::Duration::ZERO),
        check(
            "sql",
            None,
            StepResult::Checked(vec![finding("sql-syntax", Some(("q.sql", 2, 8)), Severity::Error)]),
            std::time::Duration::ZERO,
        ),
        check(
            "unit-tests",
            None,
            StepResult::Checked(vec![finding("unit-tests-failed", None, Severity::Error)]),
            std::time::Duration::ZERO,
        ),
        check("local-run", Some("local".into()), StepResult::Unavailable(vec![]), std::time::Duration::ZERO),
    ];
    CiReport {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        job: "trips-etl".into(),
        job_file: "job.yaml".into(),
        environments: vec!["dev".into(), "prod".into()],
        tool_version: "0.1.0".into(),
        started_at: "2026-11-23T14:00:00Z".parse().expect("time"),
        finished_at: "2026-11-23T14:00:03Z".parse().expect("time"),
        outcome: CiReport::outcome_of(&checks),
        checks,
    }
}

fn schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-2.1.0.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("schema is JSON")
}

#[test]
fn the_ci_log_is_valid_sarif_2_1_0() {
    let log = to_sarif(&report());
    let validator = jsonschema::validator_for(&schema()).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert_eq!(errors, Vec::<String>::new());
    // The schema is not a rubber stamp: a result without a message is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0].as_object_mut().expect("result").remove("message");
    assert!(!validator.is_valid(&broken));
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    assert_eq!(results[1]["level"], "warning");
    // A finding without a place is put at the job file's first line.
    assert_eq!(results[4]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "job.yaml");
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

fn multitool() -> Option<PathBuf> {
    let path = std::env::var_os("SARIF_MULTITOOL").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/sparkplane/tools/sarif-multitool/5.7.0/package/Sarif.Multitool")
    });
    path.is_file().then_some(path)
}

#[test]
fn the_sarif_sdks_validator_reads_the_log_without_errors_or_warnings() {
    let tool = multitool().unwrap_or_else(|| {
        panic!("the SARIF multitool is not installed: scripts/test.sh installs it (need_sarif_multitool in scripts/common.sh)")
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("ci.sarif"), dir.path().join("validation.sarif"));
    std::fs::write(&input, serde_json::to_string_pretty(&to_sarif(&report())).expect("json")).expect("write");
    let run = std::process::Command::new(&tool)
        .arg("validate")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("the multitool runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    let validation: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&output).expect("its log")).expect("its log is JSON");
    let problems: Vec<String> = validation["runs"][0]["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .filter(|r| r["level"] != "note" && r["level"] != "none")
                .map(|r| format!("{} {}", r["ruleId"], r["message"]))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(problems, Vec::<String>::new(), "{stdout}");
}
