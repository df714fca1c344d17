//! Governance through the real binary: Rego policies in `policy check` and
//! `render`, `policy test`, the Gatekeeper export, approvals, the tenant's
//! quota, and the exact errors for bad policy, tenant and flag input.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(repo()).env_remove("SPARKPLANE_PLATFORM_DIR").env("NO_COLOR", "1");
    let out = cmd.args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const JOB: &str = "examples/trips-etl/trips-etl.yaml";

#[test]
fn policy_test_runs_the_shipped_rego_tests() {
    let r = run(&["policy", "test", "policies"]);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "policies/pull_policy_test.rego: data.sparkplane.pull_policy_test.test_always_in_prod_is_denied: PASS"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with(" passed, 0 failed (7 tests)\n"), "{}", r.stdout);
    // A failing test is exit 1; a directory without tests is exit 2.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.rego"), "package p\n\nimport rego.v1\n\ndeny contains \"x\" if input.a\n")
        .unwrap();
    let empty = run(&["policy", "test", dir.path().to_str().unwrap()]);
    assert_eq!(empty.code, Some(2));
    assert!(empty.stderr.starts_with("error: no `test_*` rules in "), "{}", empty.stderr);
    std::fs::write(dir.path().join("p_test.rego"), "package p_test\n\nimport rego.v1\n\nimport data.p\n\ntest_fires if { count(p.deny) == 1 with input as {\"a\": false} }\n").unwrap();
    let failing = run(&["policy", "test", dir.path().to_str().unwrap()]);
    assert_eq!(failing.code, Some(1), "{}", failing.stdout);
    assert!(failing.stdout.contains("data.p_test.test_fires: FAIL"), "{}", failing.stdout);
}

#[test]
fn bad_rego_is_exit_2_at_its_line_and_column_and_nothing_is_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.rego");
    std::fs::write(&file, "package sparkplane.bad\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n")
        .unwrap();
    let out = dir.path().join("out");
    for args in [
        vec!["policy", "check", JOB, "--policy-dir", dir.path().to_str().unwrap()],
        vec!["render", JOB, "--policy-dir", dir.path().to_str().unwrap(), "--out-dir", out.to_str().unwrap()],
        vec!["policy", "test", dir.path().to_str().unwrap()],
    ] {
        let r = run(&args);
        assert_eq!(r.code, Some(2), "{args:?}");
        assert_eq!(
            r.stderr,
            format!(
                "{}:6:7: error: expecting `}}` while parsing set\n  help: fix the Rego (policies are Rego v1: `deny contains msg if {{ … }}`); `sparkplane policy test DIR` checks a directory\n",
                file.display()
            ),
            "{args:?}"
        );
    }
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn rego_policies_gate_render_like_builtins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("few.rego"),
        "package sparkplane.few_executors\n\nimport rego.v1\n\ndeny contains {\"msg\": \"too many executors\", \"path\": \"spec.executor.instances\"} if input.job.spec.executor.instances > 3\n",
    )
    .unwrap();
    let policy_dir = dir.path().to_str().unwrap();
    let r =
        run(&["policy", "check", JOB, "--policy-dir", policy_dir, "--set", "executor.instances=4", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let found = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["policy"] == "few-executors")
        .cloned()
        .expect("the Rego finding");
    assert_eq!(found["severity"], "deny");
    assert_eq!(found["file"], "--set executor.instances");
    let rendered = run(&["render", JOB, "--policy-dir", policy_dir, "--set", "executor.instances=4"]);
    assert_eq!(rendered.code, Some(1));
    assert!(
        rendered.stderr.contains("error: spec.executor.instances: [few-executors] too many executors"),
        "{}",
        rendered.stderr
    );
    let audit =
        run(&["render", JOB, "--policy-dir", policy_dir, "--set", "executor.instances=4", "--policy-mode", "audit"]);
    assert_eq!(audit.code, Some(0), "{}", audit.stderr);
    assert!(audit.stderr.contains("audit mode: 1 deny violation not enforced"), "{}", audit.stderr);
}

#[test]
fn gatekeeper_export_emits_templates_then_constraints() {
    let r = run(&["policy", "export", "gatekeeper", "--policy-dir", "policies", "--env", "prod", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let list: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let kinds: Vec<&str> = list["items"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ConstraintTemplate", "ConstraintTemplate", "SparkplaneDurableEventLog", "SparkplaneProdPullPolicy"]
    );
    let yaml = run(&["policy", "export", "gatekeeper", "--policy-dir", "policies"]);
    assert_eq!(yaml.code, Some(0));
    assert!(yaml.stdout.contains("apiVersion: templates.gatekeeper.sh/v1\n"), "{}", yaml.stdout);
    let none = run(&["policy", "export", "gatekeeper"]);
    assert_eq!(none.code, Some(2));
    assert_eq!(
        none.stderr,
        "error: no Rego policies to export\n  help: pass --policy-dir DIR (e.g. policies/), or --env ENV whose environment lists regoDirs\n"
    );
}

#[test]
fn approvals_gate_prod_and_go_stale_when_the_spec_changes() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = dir.path().join("approvals");
    let a = approvals.to_str().unwrap();
    let platform = ["--platform-dir", "examples/platform"];
    let render = |extra: &[&str]| {
        let mut args = vec!["render", JOB, "--env", "prod", "--approvals-dir", a];
        args.extend_from_slice(&platform);
        args.extend_from_slice(extra);
        run(&args)
    };
    let refused = render(&[]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("error: metadata.name: deploying to `prod` needs 1 approval of spec "),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("; none was found"), "{}", refused.stderr);
    let mut approve =
        vec!["approve", JOB, "--env", "prod", "--by", "alice", "--reason", "reviewed", "--approvals-dir", a];
    approve.extend_from_slice(&platform);
    let ok = run(&approve);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    let files: Vec<PathBuf> = std::fs::read_dir(&approvals).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(
        (record["kind"].as_str(), record["by"].as_str(), record["environment"].as_str()),
        (Some("Approval"), Some("alice"), Some("prod"))
    );
    assert_eq!(record["specHash"].as_str().map(str::len), Some(64));
    assert!(ok.stdout.contains(&format!("wrote {}", files[0].display())), "{}", ok.stdout);
    assert_eq!(render(&[]).code, Some(0), "approved spec renders");
    // Approving again keeps the record as it was.
    let before = std::fs::read_to_string(&files[0]).unwrap();
    let again = run(&approve);
    assert_eq!(again.code, Some(0));
    assert!(again.stdout.contains("alice already approved spec "), "{}", again.stdout);
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), before);
    // A changed spec needs a new approval; the old one is reported stale.
    let changed = render(&["--set", "executor.instances=5"]);
    assert_eq!(changed.code, Some(1));
    assert!(changed.stderr.contains("stale (the spec changed since): alice approved spec "), "{}", changed.stderr);
    // A corrupt record is exit 2, naming the file.
    std::fs::write(approvals.join("junk.json"), "{}").unwrap();
    let bad = render(&[]);
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr.starts_with(&format!(
            "error: {}: not an approval record: missing field `apiVersion`",
            approvals.join("junk.json").display()
        )),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_tenant_quota_and_budget_inputs() {
    let tenant = ["--env", "prod", "--tenant", "examples/tenants/data-eng.yaml"];
    let mut big = vec!["policy", "check", JOB, "--set", "dynamicAllocation.maxExecutors=400"];
    big.extend_from_slice(&tenant);
    let r = run(&big);
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "deny[quota-fit] spec.dynamicAllocation.maxExecutors: tenant `data-eng`: the job needs 801 CPU of requests.cpu"
        ),
        "{}",
        r.stdout
    );
    let mut fits = vec!["policy", "check", JOB];
    fits.extend_from_slice(&tenant);
    let fits = run(&fits);
    assert_eq!(fits.code, Some(0), "{}{}", fits.stdout, fits.stderr);
    // A file that is not a tenant is exit 2 with the loader's message.
    let bad = run(&["policy", "check", JOB, "--tenant", JOB]);
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr.starts_with(
            "examples/trips-etl/trips-etl.yaml:7:7: error: kind: expected `kind: Tenant`, found `SparkJob`\n  help: a tenant file starts with `apiVersion: sparkplane.dev/v1alpha1` and `kind: Tenant`"
        ),
        "{}",
        bad.stderr
    );
    let history = run(&["policy", "check", JOB, "--history", "examples"]);
    assert_eq!(history.code, Some(2));
    assert_eq!(
        history.stderr,
        "error: --history: --history needs the job's tenant to know its budget\n  help: add --tenant FILE, or --tenants DIR holding a tenant for the job's namespace\n"
    );
}

#[test]
fn unknown_policy_ids_in_an_environment_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("environments")).unwrap();
    std::fs::write(
        dir.path().join("environments/dev.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Environment\nmetadata: {name: dev}\ntemplate: {}\npolicy:\n  disabled: [image-tags]\n",
    )
    .unwrap();
    let r = run(&["policy", "check", JOB, "--env", "dev", "--platform-dir", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert_eq!(
        r.stderr,
        "error: policy.disabled: environment `dev`: `image-tags` is not a policy id\n  help: did you mean `image-tag`? (`sparkplane policy list` shows every id)\n"
    );
    let list = run(&["policy", "list", "--env", "local", "-o", "json"]);
    assert_eq!(list.code, Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).unwrap();
    assert!(rows.iter().all(|r| r["id"] != "team-and-cost-center"), "local disables the ownership labels");
}

#[test]
fn gatekeeper_export_keeps_both_rules_of_a_mixed_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mixed.rego"),
        "package sparkplane.mixed\n\nimport rego.v1\n\ndeny contains \"privileged\" if {\n\tsome o in input.objects\n\to.spec.containers[_].securityContext.privileged\n}\n\nwarn contains \"no team label\" if {\n\tsome o in input.objects\n\tnot o.metadata.labels[\"sparkplane.dev/team\"]\n}\n",
    )
    .unwrap();
    let policy_dir = dir.path().to_str().unwrap();
    let r = run(&["policy", "export", "gatekeeper", "--policy-dir", policy_dir, "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let list: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let got: Vec<(String, String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "SparkplaneMixed")
        .map(|o| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&o["metadata"]["name"]),
                text(&o["spec"]["enforcementAction"]),
                text(&o["spec"]["parameters"]["rule"]),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("mixed".to_owned(), "deny".to_owned(), "deny".to_owned()),
            ("mixed-warn".to_owned(), "warn".to_owned(), "warn".to_owned())
        ]
    );
    // An environment override to warn makes both Constraints warn, as the CLI's verdict would.
    let platform = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(platform.path().join("environments")).unwrap();
    std::fs::write(
        platform.path().join("environments/staging.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Environment\nmetadata: {name: staging}\ntemplate: {}\npolicy:\n  severityOverrides: {mixed: warn}\n",
    )
    .unwrap();
    let r = run(&[
        "policy",
        "export",
        "gatekeeper",
        "--policy-dir",
        policy_dir,
        "--env",
        "staging",
        "--platform-dir",
        platform.path().to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let list: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let actions: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "SparkplaneMixed")
        .map(|o| o["spec"]["enforcementAction"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(actions, ["warn", "warn"]);
}

#[test]
fn an_environments_rego_dirs_and_max_duration_apply_to_its_jobs() {
    let platform = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(platform.path().join("environments")).unwrap();
    std::fs::create_dir_all(platform.path().join("rego")).unwrap();
    std::fs::write(
        platform.path().join("rego/few.rego"),
        "package sparkplane.few_executors\n\nimport rego.v1\n\ndeny contains {\"msg\": \"too many executors\", \"path\": \"spec.executor.instances\"} if input.job.spec.executor.instances > 3\n",
    )
    .unwrap();
    std::fs::write(
        platform.path().join("environments/staging.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Environment\nmetadata: {name: staging}\ntemplate: {}\npolicy:\n  regoDirs: [rego]\n  maxDuration: 1h\n",
    )
    .unwrap();
    let dir = platform.path().to_str().unwrap();
    let check = |sets: &[&str]| {
        let mut args = vec!["policy", "check", JOB, "--env", "staging", "--platform-dir", dir, "--format", "json"];
        for set in sets {
            args.extend_from_slice(&["--set", set]);
        }
        run(&args)
    };
    let fired = |r: &Run| -> Vec<(String, String)> {
        let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
        report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["severity"] == "deny")
            .map(|v| (v["policy"].as_str().unwrap().to_owned(), v["message"].as_str().unwrap_or_default().to_owned()))
            .collect()
    };
    let both = check(&["executor.instances=4", "timeouts.maxDuration=2h"]);
    assert_eq!(both.code, Some(1), "{}", both.stderr);
    let denied = fired(&both);
    assert!(denied.iter().any(|(id, _)| id == "few-executors"), "the environment's Rego policy fires: {denied:?}");
    assert!(
        denied.contains(&("max-duration".to_owned(), "maxDuration 2h is above the platform maximum of 1h".to_owned())),
        "{denied:?}"
    );
    let within = check(&["executor.instances=2", "timeouts.maxDuration=1h"]);
    assert_eq!(within.code, Some(0), "{}{}", within.stdout, within.stderr);
    assert!(fired(&within).is_empty());

    // A maximum that is not a duration: exit 2 at its line and column, with the forms to write.
    let env_file = platform.path().join("environments/staging.yaml");
    std::fs::write(
        &env_file,
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Environment\nmetadata: {name: staging}\ntemplate: {}\npolicy:\n  maxDuration: soon\n",
    )
    .unwrap();
    let bad = run(&["policy", "check", JOB, "--env", "staging", "--platform-dir", dir]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert_eq!(
        bad.stderr.trim_end(),
        format!(
            "{}:6:16: error: policy.maxDuration: `soon` is not a duration: write e.g. `90s`, `10m`, `1h30m` or `7d`",
            env_file.display()
        )
    );
    assert!(bad.stdout.is_empty());
}
