//! `sparkplane dq check` through the real binary on datasets in S3 (SeaweedFS
//! from the testkit, credentials and endpoint from the environment) and with
//! custom SQL checks: exit codes, exact messages, no secret in any output.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use sparkplane_testkit::sparkplane;

fn with_s3(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1");
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-dq/tests/fixtures/spark-3.5/trips-daily")
}

/// Uploads the Spark-written fixture dataset under `prefix` of bucket `lake`.
fn upload_fixtures(server: &S3Server, prefix: &str) {
    let store = Store::open_with(
        &Location::parse(&format!("s3://lake/{prefix}")).expect("url"),
        &[("aws_endpoint", &server.endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)],
    )
    .expect("store");
    let mut stack = vec![(fixtures(), String::new())];
    while let Some((dir, key)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if key.is_empty() { name } else { format!("{key}/{name}") };
            if entry.path().is_dir() {
                stack.push((entry.path(), child));
            } else {
                store.put(&child, std::fs::read(entry.path()).expect("read")).expect("put");
            }
        }
    }
}

fn spec(dataset: &str, checks: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: trips-daily}}\n\
         dataset: {{path: '{dataset}', partitioning: hive}}\nchecks:\n  - name: rows-present\n    rowCount: {{min: 1}}\n{checks}"
    )
}

fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("dq.yaml");
    std::fs::write(&path, text).expect("spec");
    path
}

#[test]
fn a_dataset_in_s3_is_checked_with_credentials_from_the_environment() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("lake").expect("bucket");
    upload_fixtures(&server, "trips-daily");
    let dir = tempfile::tempdir().expect("tempdir");
    let checks = "  - name: fares-positive\n    sql: \"fare_total >= 0 AND trips > 0\"\n";
    let remote = write_spec(dir.path(), &spec("s3a://lake/trips-daily/", checks));
    let mut cmd = sparkplane();
    with_s3(&mut cmd, &server.endpoint);
    let out = cmd.args(["dq", "check", "-o", "json", "--no-profile", "--partition", "pickup_date=2026-11-02"]);
    let out = out.arg(&remote).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let from_s3: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");

    let local = write_spec(dir.path(), &spec(&fixtures().display().to_string(), checks));
    let out = sparkplane()
        .args(["dq", "check", "-o", "json", "--no-profile", "--partition", "pickup_date=2026-11-02"])
        .arg(&local)
        .output()
        .expect("runs");
    let from_disk: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(from_s3, from_disk, "the same data gives the same report in S3 and on disk");
    assert_eq!(from_s3["checks"][1]["message"].as_str().map(|m| m.starts_with("all ")), Some(true));
}

#[test]
fn an_unreachable_endpoint_is_exit_3_naming_the_url_and_no_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write_spec(dir.path(), &spec("s3://lake/trips-daily", ""));
    let mut cmd = sparkplane();
    with_s3(&mut cmd, &format!("http://127.0.0.1:{port}"));
    let out = cmd.args(["dq", "check"]).arg(&spec).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.starts_with("error: s3://lake/trips-daily: object storage unreachable or failing: "), "{stderr}");
    assert!(stderr.contains("help: check the endpoint and credentials in the environment"), "{stderr}");
    let all = format!("{stderr}{}", String::from_utf8_lossy(&out.stdout));
    assert!(!all.contains(SECRET_KEY), "{all}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_dataset_in_s3_is_exit_2_with_the_exact_message() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("lake").expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write_spec(dir.path(), &spec("s3://lake/nope/", ""));
    let mut cmd = sparkplane();
    with_s3(&mut cmd, &server.endpoint);
    let out = cmd.args(["dq", "check"]).arg(&spec).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: dataset s3://lake/nope not found: no object or prefix with that name\n  help: check `dataset.path`; \
         a relative path is relative to the spec file, a URL names bucket/prefix\n"
    );
    assert!(!dir.path().join(".sparkplane").exists(), "nothing written");
}

/// SeaweedFS creates a bucket on the first PUT, so the fault here is a
/// quarantine folder that cannot be created (a file is in the way).
#[test]
fn a_quarantine_that_cannot_be_written_keeps_the_s3_source_and_says_so() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("lake").expect("bucket");
    upload_fixtures(&server, "t");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("q")).expect("mkdir");
    std::fs::write(dir.path().join("q/trips-daily"), b"in the way").expect("file");
    let text = spec("s3://lake/t", "  - name: no-trips\n    sql: \"trips < 0\"\n")
        + "quarantine: {mode: move-partition, location: q}\n";
    let spec = write_spec(dir.path(), &text);
    let mut cmd = sparkplane();
    with_s3(&mut cmd, &server.endpoint);
    let out = cmd.args(["dq", "check", "--partition", "pickup_date=2026-11-02"]).arg(&spec).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let shown = dir.path().join("q/trips-daily/pickup_date=2026-11-02").display().to_string();
    assert!(
        stderr.starts_with(&format!(
            "error: quarantine stopped after copying 0 of 1 files to {shown}; nothing was removed from the source: "
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET_KEY), "{stderr}");
    let store = Store::open_with(
        &Location::parse("s3://lake/t/pickup_date=2026-11-02").expect("url"),
        &[("aws_endpoint", &server.endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)],
    )
    .expect("store");
    let left: Vec<String> = store.list().expect("list").into_iter().map(|e| e.key).collect();
    assert!(left.iter().any(|k| k.ends_with(".parquet")), "source intact: {left:?}");
    assert!(!left.iter().any(|k| k.ends_with("_QUARANTINED")), "{left:?}");
}

#[test]
fn sql_checks_fail_with_examples_and_bad_sql_points_into_the_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = fixtures().display().to_string();
    let failing = spec(&data, "  - name: big-days\n    sql: \"trips < 20 OR zone IN ('airport')\"\n");
    let spec_path = write_spec(dir.path(), &failing);
    let out = sparkplane().args(["dq", "check", "-o", "json", "--no-profile"]).arg(&spec_path).output().expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let check = &report["checks"][1];
    assert_eq!(check["kind"], "sql");
    assert_eq!(check["status"], "fail");
    assert!(check["failingRows"].as_u64().is_some_and(|n| n > 0), "{check}");
    assert!(check["examples"][0].as_str().is_some_and(|e| e.starts_with("trips=2") && e.contains(" zone=")), "{check}");

    // An unknown column: exit 2, the spec's line and the column inside the predicate, and what to write.
    let typo = spec(&data, "  - name: typo\n    sql: \"tripz >= 0\"\n");
    let spec_path = write_spec(dir.path(), &typo);
    let out = sparkplane().args(["dq", "check"]).arg(&spec_path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).replace(&*spec_path.display().to_string(), "dq.yaml");
    assert_eq!(
        err,
        "dq.yaml:9:11: error: checks[1].sql: column `tripz` is not in the dataset (columns: \
         distance_avg_km, fare_total, pickup_date, trips, zone)\n  help: write `trips`; quote names with spaces or \
         capitals as \"Name\"\n"
    );
    assert!(out.stdout.is_empty());

    // Unsupported SQL is refused when the spec is loaded, before any data is read.
    let sub = spec("s3://never-read/x", "  - name: sub\n    sql: 'trips > (SELECT 1)'\n");
    let spec_path = write_spec(dir.path(), &sub);
    let out = sparkplane().args(["dq", "check"]).arg(&spec_path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).replace(&*spec_path.display().to_string(), "dq.yaml");
    assert!(
        err.starts_with(
            "dq.yaml:9:20: error: checks[1].sql: `trips > (SELECT 1)`: `(SELECT…` is not supported in a check predicate\n"
        ),
        "{err}"
    );
    assert!(err.contains("help: use comparisons (= <> < <= > >=)"), "{err}");
}
