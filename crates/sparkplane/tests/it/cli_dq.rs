//! `sparkplane dq check` through the real binary, on Parquet written by real
//! Spark 3.5 (trips-etl's own output and its cleaned rows, see
//! crates/sparkplane-dq/tests/fixtures/README.md): exit codes, table, JSON,
//! JUnit, Prometheus metrics from the registry, bad specs, corrupt files.

use std::path::{Path, PathBuf};

use sparkplane_testkit::sparkplane;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-dq/tests/fixtures/spark-3.5")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A temp dir with the Spark fixtures under `data/` and `spec` written as `dq.yaml`.
fn workspace(spec: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixtures(), &dir.path().join("data"));
    let path = dir.path().join("dq.yaml");
    std::fs::write(&path, spec).expect("spec");
    (dir, path)
}

const DAILY: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: DataQuality
metadata: {name: trips-daily}
dataset: {path: data/trips-daily, partitioning: hive}
checks:
  - name: rows-present
    rowCount: {min: 1}
  - name: schema
    schema:
      columns: {zone: string, trips: long, fare_total: double, distance_avg_km: double, pickup_date: date}
      unexpectedColumns: error
  - name: zones-known
    acceptedValues: {column: zone, values: [airport, downtown, harbor, midtown, north, old-town, stadium, university]}
  - name: one-row-per-zone-and-day
    unique: {columns: [pickup_date, zone]}
  - name: fares-positive
    range: {column: fare_total, min: 0}
";

#[test]
fn trips_etl_output_written_by_spark_passes_its_gate() {
    let (dir, spec) = workspace(DAILY);
    let junit = dir.path().join("dq.xml");
    let metrics = dir.path().join("dq.prom");
    let out = sparkplane()
        .args(["dq", "check"])
        .arg(&spec)
        .arg("--junit")
        .arg(&junit)
        .arg("--metrics")
        .arg(&metrics)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("CHECK "), "{stdout}");
    assert!(stdout.contains("PASSED: 5 checks, 0 failed"), "{stdout}");
    let junit = std::fs::read_to_string(junit).expect("junit");
    assert!(junit.contains("tests=\"5\" failures=\"0\""), "{junit}");
    let metrics = std::fs::read_to_string(metrics).expect("metrics");
    assert!(metrics.contains("sparkplane_dq_gate_passed{spec=\"trips-daily\"} 1\n"), "{metrics}");
    // Every exposed family is the registry's, with its type.
    for line in metrics.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line["# TYPE ".len()..].split(' ');
        let (name, kind) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
        let metric = sparkplane_observe::registry::lookup(name).unwrap_or_else(|| panic!("{name} is not registered"));
        assert_eq!(metric.kind.as_str(), kind);
    }
    assert!(dir.path().join(".sparkplane/dq/trips-daily/all/profile.json").is_file());
}

#[test]
fn failing_checks_exit_1_with_json_results() {
    let spec = DAILY.replace("values: [airport, downtown,", "values: [downtown,").replace("min: 0}", "max: 10}");
    let (_dir, spec) = workspace(&spec);
    let out = sparkplane().args(["dq", "check", "-o", "json"]).arg(&spec).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(report["passed"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "fail")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(failed, vec!["zones-known", "fares-positive"]);
    assert_eq!(report["checks"][2]["examples"][0], "airport");
}

#[test]
fn row_level_checks_on_spark_written_trips() {
    let spec = "apiVersion: sparkplane.dev/v1alpha1
kind: DataQuality
metadata: {name: trips-clean}
dataset: {path: data/trips-clean, partitioning: hive}
checks:
  - name: ids
    unique: {columns: [trip_id]}
  - name: id-format
    regex: {column: trip_id, pattern: 't[0-9]{9}'}
  - name: fresh
    freshness: {column: pickup_ts, maxAge: 36500d}
  - name: stale
    freshness: {column: pickup_ts, maxAge: 1h}
    severity: warn
  - name: days
    acceptedValues: {column: pickup_date, values: ['2026-11-01', '2026-11-02', '2026-11-03']}
";
    let (_dir, spec) = workspace(spec);
    let out =
        sparkplane().args(["dq", "check", "--partition", "pickup_date=2026-11-02"]).arg(&spec).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("selection pickup_date=2026-11-02"), "{stdout}");
    let stale = stdout.lines().find(|l| l.starts_with("stale ")).unwrap_or_default();
    assert!(stale.contains(" warn ") && stale.contains("allowed 1h"), "{stale}");
}

#[test]
fn a_bad_spec_is_exit_2_with_its_location_and_nothing_written() {
    let (dir, spec) = workspace(&DAILY.replace("acceptedValues:", "acceptedValue:"));
    let metrics = dir.path().join("dq.prom");
    let out = sparkplane().args(["dq", "check"]).arg(&spec).arg("--metrics").arg(&metrics).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr).replace(&*spec.display().to_string(), "dq.yaml");
    assert_eq!(
        err,
        "dq.yaml:13:5: error: checks[2].acceptedValue: unknown field `acceptedValue`\n  help: did you mean `acceptedValues`?\n"
    );
    assert!(!metrics.exists());
    assert!(!dir.path().join(".sparkplane").exists());
}

#[test]
fn a_missing_dataset_is_exit_2() {
    let (_dir, spec) = workspace(&DAILY.replace("data/trips-daily", "data/nope"));
    let out = sparkplane().args(["dq", "check"]).arg(&spec).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: dataset ") && err.contains("data/nope not found"), "{err}");
    assert!(err.contains("help: check `dataset.path`; a relative path is relative to the spec file"), "{err}");
}

#[test]
fn a_corrupt_file_fails_the_gate_naming_the_file() {
    let (dir, spec) = workspace(DAILY);
    let part = dir.path().join("data/trips-daily/pickup_date=2026-11-05");
    let victim = std::fs::read_dir(&part)
        .expect("partition")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a parquet file");
    let bytes = std::fs::read(&victim).expect("read");
    std::fs::write(&victim, &bytes[..bytes.len() - 20]).expect("truncate");
    let out = sparkplane().args(["dq", "check"]).arg(&spec).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("error: cannot read data file {}", victim.display())), "{err}");
}

#[test]
fn a_failed_gate_sends_its_cdevents_to_a_real_receiver_and_they_are_valid() {
    let receiver = sparkplane_testkit::CdEventsReceiver::start().expect("the CDEvents receiver starts");
    let spec = DAILY.replace("values: [airport, downtown,", "values: [downtown,");
    let (_dir, spec) = workspace(&spec);
    let out = sparkplane()
        .args(["dq", "check", "--env", "staging", "--cdevents-sink", &receiver.url])
        .arg(&spec)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let got = receiver.received();
    let types: Vec<&str> = got.iter().filter_map(|r| r["type"].as_str()).collect();
    let mut expected = vec!["dev.cdevents.testcaserun.finished.0.3.0"; 5];
    expected.extend(["dev.cdevents.testsuiterun.finished.0.3.0", "dev.cdevents.incident.detected.0.3.0"]);
    assert_eq!(types, expected);
    for record in &got {
        assert_eq!(record["errors"], serde_json::json!([]), "{record}");
        assert_eq!(record["source"], "/sparkplane/cli");
    }
    let suite = &got[5]["data"]["subject"];
    assert_eq!(suite["id"], "dq/trips-daily");
    assert_eq!(suite["content"]["outcome"], "failure");
    assert_eq!(suite["content"]["environment"]["id"], "staging");
    assert_eq!(suite["content"]["reason"], "1 of 5 checks did not pass: zones-known");
    assert_eq!(got[2]["data"]["subject"]["content"]["outcome"], "failure", "zones-known is the third check");
}

#[test]
fn an_unreachable_cdevents_sink_warns_and_leaves_the_exit_code_alone() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/events");
    let (_dir, spec) = workspace(DAILY);
    let out = sparkplane().args(["dq", "check", "--cdevents-sink", &url]).arg(&spec).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("6 of 6 CDEvents not delivered to {url}")), "{stderr}");
    assert!(stderr.contains("the step's own result is unchanged"), "{stderr}");
}
