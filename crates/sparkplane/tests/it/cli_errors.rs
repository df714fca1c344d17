//! Bad input through the real binary: each class of mistake gets its exact
//! message, its location, exit code 2, and writes nothing.

use std::path::{Path, PathBuf};

use sparkplane_testkit::sparkplane;

const HEAD: &str = "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\n";

const GOOD_SPEC: &str = "spec:
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/job.py
  image: {repository: apache/spark, tag: \"3.5.7\"}
  eventLog: {dir: \"s3a://events/x\"}
";

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
    // An inline credential is the `inline-secrets` policy's, not validation's (ADR 0028).
    assert!(!err.contains("DB_PASSWORD"), "{err}");
    assert!(!err.contains("hunter2"), "a secret value is never echoed: {err}");
    assert!(err.ends_with("3 errors\n"), "{err}");
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

#[test]
fn cron_extensions_kubernetes_refuses() {
    let help = "write the days explicitly, e.g. `28-31` or `1-7` with a day of week, or run the job more often and check the date in it";
    for (cron, why) in [
        ("0 0 L * *", "the day of month field `L`: `L` (last) is a Quartz extension that Kubernetes does not accept"),
        (
            "0 0 15W * *",
            "the day of month field `15W`: `W` (nearest weekday) is a Quartz extension that Kubernetes does not accept",
        ),
        (
            "0 0 * * 5#3",
            "the day of week field `5#3`: `#` (nth weekday of the month) is a Quartz extension that Kubernetes does not accept",
        ),
    ] {
        let err = fails_with_2(
            &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  schedule: {{cron: \"{cron}\"}}\n"),
            &["validate"],
        );
        assert_eq!(
            err,
            format!(
                "job.yaml:10:20: error: spec.schedule.cron: `{cron}` is not a valid cron expression: {why}\n  help: {help}\n"
            )
        );
    }
    // Day of week 7 (croner's Sunday) is beyond Kubernetes' 0-6.
    let err = fails_with_2(
        &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  schedule: {{cron: \"0 0 * * 7\"}}\n"),
        &["validate"],
    );
    assert!(err.starts_with("job.yaml:10:20: error: spec.schedule.cron: `0 0 * * 7` is not a valid cron expression: the day of week field `7`: 7 is above the maximum of 6\n"), "{err}");
    // An interval names the cron expression to write instead.
    let err = fails_with_2(
        &format!("{HEAD}metadata: {{name: a}}\n{GOOD_SPEC}  schedule: {{cron: \"@every 5m\"}}\n"),
        &["validate"],
    );
    assert_eq!(
        err,
        "job.yaml:10:20: error: spec.schedule.cron: `@every 5m` is not a valid cron expression: `@every 5m` is an interval, which a SparkJob schedule does not take\n  help: write `*/5 * * * *`, which fires at the same interval on the clock\n"
    );
}

/// Nine levels of nine aliases (9^9 strings when expanded); also the fuzz seed.
const BILLION_LAUGHS: &str = include_str!("../../../../fuzz/seeds/yaml_load/billion-laughs.yaml");

#[test]
fn alias_bomb_is_refused_in_bounded_time_and_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = job_file(dir.path(), BILLION_LAUGHS);
    let bin = sparkplane_testkit::cli::binary();
    for args in ["validate", "policy check"] {
        let start = std::time::Instant::now();
        // 2 GiB of address space: expanding the file would need tens of GiB.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v 2097152 && exec \"$0\" {args} \"$1\""))
            .arg(&bin)
            .arg(&path)
            .env_remove("SPARKPLANE_PLATFORM_DIR")
            .env("NO_COLOR", "1")
            .current_dir(dir.path())
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr).replace(&*path.display().to_string(), "job.yaml");
        assert_eq!(out.status.code(), Some(2), "{args}: {err}");
        assert!(out.stdout.is_empty(), "{args}: nothing on stdout");
        assert_eq!(
            err,
            "job.yaml:12:10: error: aliases in this file expand to more than 10000 values; this one alone copies 7381\n  help: write the values out instead of nesting anchors in anchors; sparkplane refuses files whose aliases expand this far (a \"billion laughs\" file)\n",
            "{args}"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{args} took {:?}", start.elapsed());
    }
}

/// Runs `args` (`{}` is `file`, holding `text`) in an empty directory; asserts
/// exit 2, nothing on stdout and nothing written; returns stderr.
fn file_fails_with_2(file: &str, text: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(file), text).expect("write fixture");
    std::fs::create_dir(dir.path().join("logs")).expect("logs dir");
    let args: Vec<&str> = args.iter().map(|a| if *a == "{}" { file } else { a }).collect();
    let out = sparkplane().args(&args).current_dir(dir.path()).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout: {}", String::from_utf8_lossy(&out.stdout));
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut expected = vec!["logs".to_owned(), file.to_owned()];
    expected.sort();
    assert_eq!(left, expected, "{args:?} wrote nothing");
    stderr
}

#[test]
fn tenant_file_every_mistake_at_once() {
    let text = "apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: data-eng}
spec:
  team: data-eng
  costCenter: cc-1
  quota:
    cpu: \"200\"
    memory: 800 gigs
    team: data-eng
    pods: many
  allowSecretRead: false
";
    let err = file_fails_with_2("tenant.yaml", text, &["tenant", "render", "{}", "--out-dir", "out"]);
    assert_eq!(
        err,
        "tenant.yaml:9:13: error: spec.quota.memory: `800 gigs` is not a Kubernetes quantity: the suffix ` gigs` is unknown; write a number with an optional sign and fraction, then a decimal suffix (n, u, m, k, M, G, T, P, E), a binary suffix (Ki, Mi, Gi, Ti, Pi, Ei) or an exponent (e3), e.g. `4Gi`, `129G`, `7910m` or `1e3`
  help: write a number with an optional suffix: `8`, `500m` (CPU), `64Gi` (memory)
tenant.yaml:10:5: error: spec.quota.team: unknown field `team`
  help: fields allowed here: configmaps, cpu, gpus, memory, pods, pvcs, services
tenant.yaml:11:11: error: spec.quota.pods: expected a whole number, found `many`
tenant.yaml:12:3: error: spec.allowSecretRead: unknown field `allowSecretRead`
  help: did you mean `allowSecretReads`?
4 errors
"
    );
}

#[test]
fn price_sheet_every_mistake_at_once() {
    let text =
        "coreHour: \"0.05\"\ngibHour: 0.005\nspotMultiplyer: 0.3\nnodePools:\n  spot: {coreHour: 0.01, gpuHours: 1}\n";
    let err = file_fails_with_2("prices.yaml", text, &["cost", "logs", "--price-sheet", "{}"]);
    assert_eq!(
        err,
        "prices.yaml:1:11: error: coreHour: expected a number, found `0.05`
prices.yaml:3:1: error: spotMultiplyer: unknown field `spotMultiplyer`
  help: did you mean `spotMultiplier`?
prices.yaml:5:26: error: nodePools.spot.gpuHours: unknown field `gpuHours`
  help: did you mean `gpuHour`?
prices.yaml:1:1: error: gpuHour: required field `gpuHour` is missing
  help: add `gpuHour:` under `the document root`
4 errors
"
    );
}

#[test]
fn budgets_every_mistake_at_once() {
    let text =
        "warningPercent: eighty\nteams:\n  data-platform: {monthly: 1200, warnPercent: 70}\n  ml: {monthly: [5000]}\n";
    let err = file_fails_with_2("budgets.yaml", text, &["cost", "logs", "--budget", "{}"]);
    assert_eq!(
        err,
        "budgets.yaml:1:17: error: warningPercent: expected a number, found `eighty`
budgets.yaml:3:34: error: teams.data-platform.warnPercent: unknown field `warnPercent`
  help: did you mean `warningPercent`?
budgets.yaml:4:17: error: teams.ml.monthly: expected a number, found a list
3 errors
"
    );
}

#[test]
fn a_file_of_another_kind_is_refused_as_a_budget_or_price_sheet() {
    let tenant =
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata: {name: data-eng}\nspec: {team: data-eng}\n";
    let err = file_fails_with_2("tenant.yaml", tenant, &["cost", "logs", "--budget", "{}"]);
    assert_eq!(
        err,
        "tenant.yaml:2:7: error: kind: expected `kind: Budgets`, found `Tenant`
  help: this option reads a Budgets file: pass one, or drop `kind`
"
    );
    let err = file_fails_with_2("tenant.yaml", tenant, &["cost", "logs", "--price-sheet", "{}"]);
    assert!(err.starts_with("tenant.yaml:2:7: error: kind: expected `kind: PriceSheet`, found `Tenant`\n"), "{err}");
}

#[test]
fn slo_file_every_mistake_at_once() {
    let text = "- name: trips\n  scope: {jobb: trips-etl}\n  objective: 0.99\n- name: ml\n  scope: {team: ml}\n  objectiv: 0.9\n";
    let err = file_fails_with_2("slos.yaml", text, &["observe", "rules", "--slo", "{}"]);
    assert_eq!(
        err,
        "slos.yaml:2:10: error: [0].scope: a mapping is not an accepted value here
  help: did you mean `job`?
slos.yaml:6:3: error: [1].objectiv: unknown field `objectiv`
  help: did you mean `objective`?
2 errors
"
    );
}
