//! `sparkplane chaos` through the real binary: the catalog as `chaos list`
//! shows it, and bad input (an unknown experiment, `run` without a name)
//! refused with exit 2 before anything starts. The experiments themselves are
//! tested in crates/sparkplane-chaos/tests.

use serde_json::Value;
use sparkplane_testkit::sparkplane;

#[test]
fn list_shows_every_experiment_with_its_alerts_and_runbook() {
    let out = sparkplane().args(["chaos", "list"]).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).expect("utf-8");
    let names: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(
        names,
        [
            "executor-killed",
            "object-store-stopped",
            "metastore-stopped",
            "node-lost",
            "node-drained",
            "driver-evicted",
            "api-server-paused",
            "operator-killed"
        ]
    );
    assert!(text.contains("SparkJobFailed stays silent"), "{text}");
    assert!(text.contains("s3-connectivity"), "{text}");

    let json = sparkplane().args(["chaos", "list", "-o", "json"]).assert().success().get_output().stdout.clone();
    let rows: Value = serde_json::from_slice(&json).expect("json");
    assert_eq!(rows[0]["name"], "executor-killed");
    assert_eq!(rows[0]["setting"], "local-cluster");
    assert_eq!(rows[1]["alerts"][0], "SparkJobsStorageErrors fires");
}

#[test]
fn an_unknown_experiment_is_exit_2_naming_the_known_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("chaos.xml");
    let assert = sparkplane().args(["chaos", "run", "disk-full", "--junit"]).arg(&junit).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains(
            "unknown chaos experiment `disk-full`: the experiments are executor-killed, object-store-stopped, \
             metastore-stopped, node-lost, node-drained, driver-evicted, api-server-paused, operator-killed"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("see `sparkplane chaos list`"), "{stderr}");
    assert!(!junit.exists(), "nothing is written for bad input");
}

#[test]
fn run_without_a_name_is_a_usage_error() {
    let assert = sparkplane().args(["chaos", "run"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("the following required arguments were not provided"), "{stderr}");
    assert!(stderr.contains("<EXPERIMENT>"), "{stderr}");
}

#[test]
fn object_store_stopped_without_the_s3a_jars_is_exit_3_saying_how_to_install_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("chaos.xml");
    let jars = dir.path().join("no-jars");
    let assert = sparkplane()
        .args(["chaos", "run", "object-store-stopped", "--junit"])
        .arg(&junit)
        .env("SPARKPLANE_S3A_JARS", &jars)
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let expected = format!(
        "object-store-stopped: no S3A jars in {}: hadoop-aws-3.3.1.jar and aws-java-sdk-bundle-1.11.901.jar missing; \
         install them (`source scripts/common.sh && need_s3a`; scripts/test.sh does) or point SPARKPLANE_S3A_JARS at \
         a folder holding hadoop-aws-3.3.1.jar and aws-java-sdk-bundle-1.11.901.jar",
        jars.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!junit.exists(), "nothing is written for an experiment that cannot run");
}
