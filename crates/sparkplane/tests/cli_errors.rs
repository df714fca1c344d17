//! Bad input through the real binary: each class of mistake gets its exact
//! message, its location, exit code 2, and writes nothing.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const HEAD: &str = "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\n";

const GOOD_SPEC: &str = "spec:
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/job.py
  image: {repository: apache/spark, tag: \"3.5.7\"}
  eventLog: {dir: \"s3a://events/x\"}
";

fn sparkplane() -> Command {
    let mut cmd = Command::cargo_bin("sparkplane").expect("binary is built");
    cmd.env_remove("SPARKPLANE_PLATFORM_DIR").env("NO_COLOR", "1");
    cmd
}

fn job_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("job.yaml");
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// Runs `args` on a job holding `text`; returns stderr, asserting exit 2 and empty stdout.
fn fails_with_2(text: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = job_file(dir.path(), text);
    let out = sparkplane().args(args).arg(&path).current_dir(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).replace(&*path.display().to_string(), "job.yaml")
}

#[test]
fn malformed_yaml() {
    let err = fails_with_2(&format!("{HEAD}metadata:\n  name: [unclosed\n{GOOD_SPEC}"), &["validate"]);
    // The unclosed bracket is only noticed where the next key begins.
    assert!(err.starts_with("job.yaml:5:5: error: malformed YAML:"), "{err}");
    assert!(err.contains("error: malformed YAML:"), "{err}");
    assert!(err.contains("help: fix the YAML syntax"), "{err}");
}

#[test]
fn unknown_field_with_suggestion() {
    let err =
        fails_with_2(&format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  executr: {{memory: 4g}}\n"), &["validate"]);
    assert_eq!(err, "job.yaml:10:3: error: spec.executr: unknown field `executr`\n  help: did you mean `executor`?\n");
}

#[test]
fn bad_quantity() {
    let err =
        fails_with_2(&format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  driver: {{memory: 4096}}\n"), &["validate"]);
    assert_eq!(
        err,
        "job.yaml:10:20: error: spec.driver.memory: `4096` has no unit, and Spark reads a bare number as MiB while Kubernetes reads bytes: write `4096m` for MiB or `4096Mi`\n"
    );
}

#[test]
fn bad_cron() {
    let err = fails_with_2(
        &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  schedule: {{cron: \"61 * * * *\"}}\n"),
        &["validate"],
    );
    assert!(
        err.starts_with("job.yaml:10:20: error: spec.schedule.cron: `61 * * * *` is not a valid cron expression"),
        "{err}"
    );
    assert!(err.contains("help: write five fields, e.g. \"0 3 * * *\""), "{err}");
    let err = fails_with_2(
        &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  schedule: {{cron: \"0 0 3 * * *\"}}\n"),
        &["validate"],
    );
    assert!(err.contains("it has 6 fields; Kubernetes CronJobs take 5"), "{err}");
}

#[test]
fn name_too_long() {
    let name = "a".repeat(39);
    let err = fails_with_2(&format!("{HEAD}metadata: {{name: {name}}}\n{GOOD_SPEC}"), &["validate"]);
    assert_eq!(
        err,
        format!(
            "job.yaml:3:18: error: metadata.name: `{name}` is 39 characters; job names can have at most 38, because Spark limits executor pod-name prefixes (`<name>-<hash>`) to 47\n  help: shorten it, e.g. `{}`\n",
            "a".repeat(38)
        )
    );
}

#[test]
fn conflicting_fields_name_both_places() {
    let err = fails_with_2(
        &format!(
            "{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  executor: {{memory: 4g}}\n  sparkConf: {{spark.executor.memory: 8g}}\n"
        ),
        &["validate"],
    );
    assert_eq!(
        err,
        "job.yaml:11:38: error: spec.sparkConf.\"spark.executor.memory\": `spark.executor.memory` is set in sparkConf and `spec.executor.memory` is set too\n  help: remove `spark.executor.memory` from sparkConf; `spec.executor.memory` decides\n  note: job.yaml:10:22: `spec.executor.memory` is set here\n"
    );
}

#[test]
fn missing_file() {
    let out = sparkplane().args(["validate", "does-not-exist.yaml"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: cannot read does-not-exist.yaml: No such file or directory"), "{err}");
    assert!(err.contains("help: check the path"), "{err}");
}

#[test]
fn several_errors_are_reported_at_once() {
    let err = fails_with_2(
        &format!(
            "{HEAD}metadata: {{name: Bad_Name}}\n{GOOD_SPEC}  executor: {{cores: 0, memory: 100m}}\n  env:\n  - {{name: DB_PASSWORD, value: hunter2}}\n"
        ),
        &["validate"],
    );
    assert!(err.contains("metadata.name: `Bad_Name` is not a valid name"), "{err}");
    assert!(err.contains("spec.executor.cores: the executor needs at least 1 core"), "{err}");
    assert!(err.contains("spec.executor.memory: 100Mi is below Spark's minimum heap of 450 MiB"), "{err}");
    assert!(err.contains("spec.env[0].value: `DB_PASSWORD` looks like a credential"), "{err}");
    assert!(!err.contains("hunter2"), "a secret value is never echoed: {err}");
    assert!(err.ends_with("4 errors\n"), "{err}");
}

#[test]
fn json_errors_are_structured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = job_file(dir.path(), &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  executr: {{}}\n"));
    let out = sparkplane().args(["validate", "-o", "json"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["ok"], false);
    let error = &json["errors"][0];
    assert_eq!(error["code"], "unknown-field");
    assert_eq!(error["path"], "spec.executr");
    assert_eq!(error["line"], 10);
    assert_eq!(error["column"], 3);
    assert_eq!(error["help"], "did you mean `executor`?");
}

#[test]
fn bad_set_flag_and_unknown_preset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = job_file(dir.path(), &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}"));
    let out = sparkplane().args(["resolve", "--set", "executor.instances"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("--set:1:1: error: `executor.instances` has no `=`"), "{err}");
    let out = sparkplane().args(["resolve", "--set", "preset=etl-smal"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: spec.preset: there is no preset `etl-smal`"), "{err}");
    assert!(err.contains("did you mean `etl-small`?"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let out = sparkplane().args(["render", "x.yaml", "--target", "helm"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'helm'"));
    let out = sparkplane().args(["help", "rendr"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `render`?"));
}

#[test]
fn render_out_dir_writes_nothing_on_invalid_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = job_file(dir.path(), &format!("{HEAD}metadata: {{name: a}}\nspec: {{type: Python}}\n"));
    let out_dir = dir.path().join("deploy");
    let out = sparkplane().args(["render", "--out-dir"]).arg(&out_dir).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(!out_dir.exists(), "no directory is created for invalid input");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spec.image.repository: a cluster job needs a container image"), "{err}");
    assert!(err.contains("spec.mainApplicationFile: the application file is not set"), "{err}");
}
