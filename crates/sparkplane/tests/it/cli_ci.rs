//! `sparkplane ci` through the real binary: a passing example, a job with a
//! failure in each kind of check in one run (each named in JUnit and SARIF
//! at its file:line:col), exit codes, and the example CI workflows running
//! the command these tests run.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(dir).env_remove("SPARKPLANE_PLATFORM_DIR").env("NO_COLOR", "1");
    let out = cmd.args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command the example workflows run (after `sparkplane` and before the output flags).
const EXAMPLE_CI: [&str; 5] =
    ["ci", "examples/trips-etl/trips-etl.yaml", "--nodes", "presets/nodes/standard.yaml", "--no-local-run"];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_example_passes_every_check_and_says_so_in_junit_sarif_and_the_report() {
    let out = tempfile::tempdir().expect("tempdir");
    let (junit, sarif, report) =
        (out.path().join("ci.xml"), out.path().join("ci.sarif"), out.path().join("ci-report.json"));
    let mut args = vec![
        "ci",
        "examples/trips-report/trips-report.yaml",
        "--nodes",
        "presets/nodes/standard.yaml",
        "--no-local-run",
    ];
    args.extend(["--env", "dev", "--env", "staging", "--env", "local"]);
    let (j, s, r) = (junit.display().to_string(), sarif.display().to_string(), report.display().to_string());
    args.extend(["--junit", &j, "--sarif", &s, "--report", &r]);
    let run = run_in(&repo(), &args);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "PASS  validate [dev]\n\
         PASS  policy [dev]\n\
         PASS  fit [dev]\n\
         PASS  validate [staging]\n\
         PASS  policy [staging]\n\
         PASS  fit [staging]\n\
         PASS  validate [local]\n\
         PASS  policy [local]\n\
         PASS  fit [local]\n\
         PASS  sql\n\
         SKIP  unit-tests: spec.ci.testCommand is not set\n\
         SKIP  local-run [local]: local runs are off (--no-local-run)\n\
         ci pass for trips-report: 10 passed, 0 failed, 0 could not run, 2 skipped\n"
    );
    let xml = read(&junit);
    assert!(
        xml.contains(r#"<testsuite name="sparkplane ci trips-report" tests="12" failures="0" errors="0" skipped="2">"#),
        "{xml}"
    );
    assert!(xml.contains(r#"<testcase classname="sparkplane.ci.trips-report" name="sql"/>"#), "{xml}");
    let log: serde_json::Value = serde_json::from_str(&read(&sarif)).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], true);
    let report = sparkplane_delivery::ci_report::CiReport::from_json(&read(&report)).expect("the report reads back");
    assert!(report.passed());
    assert_eq!(report.environments, ["dev", "staging", "local"]);
    assert_eq!(report.checks.len(), 12);
}

#[test]
fn a_broken_job_fails_each_kind_of_check_in_one_run_with_places() {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["job.yaml", "job.prod.yaml", "report.sql"] {
        std::fs::copy(repo().join("crates/sparkplane/tests/data/ci-broken").join(file), dir.path().join(file))
            .expect("copy");
    }
    let nodes = repo().join("presets/nodes/standard.yaml").display().to_string();
    let args =
        ["ci", "job.yaml", "-e", "dev", "-e", "prod", "--nodes", &nodes, "--junit", "ci.xml", "--sarif", "ci.sarif"];
    let run = run_in(dir.path(), &args);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let expected = [
        "PASS  validate [dev]",
        "FAIL  policy [dev]",
        "      job.yaml:14:10: error: spec.image.tag: image `registry.example.com/data-eng/report` uses the `latest` tag [image-tag]",
        "        help: set spec.image.tag to a release version, or pin a digest",
        "PASS  fit [dev]",
        "FAIL  validate [prod]",
        "      job.prod.yaml:8:15: error: template.spec.executor.memory: `lots` is not a memory size: write a number and a unit, e.g. `4g`, `4096m` or `4Gi` [bad-quantity]",
        "SKIP  policy [prod]: the job is not valid for prod",
        "SKIP  fit [prod]: the job is not valid for prod",
        "FAIL  sql",
        "      report.sql:1:18: error: column `fares` is not in the tables it reads [sql-unknown-column]",
        "        help: did you mean `fare`? columns: fare, zone",
        "      report.sql:5:29: error: Spark SQL does not parse: Expected: an expression, found: EOF [sql-syntax]",
        "        help: fix the statement; `${name}` placeholders are read as identifiers",
        "FAIL  unit-tests",
        "      error: spec.ci.testCommand: `sh -c echo 'FAIL: test_totals'; exit 3` exited with 3",
        "      FAIL: test_totals [unit-tests-failed]",
        "        help: run `sh -c echo 'FAIL: test_totals'; exit 3` in . to see every failure",
        "SKIP  local-run: no sample inputs: the job has no `local` overlay of its own and no spec.ci.sampleEnvironment",
        "ci fail for broken-report: 2 passed, 4 failed, 0 could not run, 3 skipped",
    ];
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);

    let xml = read(&dir.path().join("ci.xml"));
    assert!(
        xml.contains(r#"<testsuite name="sparkplane ci broken-report" tests="9" failures="4" errors="0" skipped="3">"#),
        "{xml}"
    );
    for (class, name, message) in [
        ("dev", "policy [dev]", "image `registry.example.com/data-eng/report` uses the `latest` tag"),
        (
            "prod",
            "validate [prod]",
            "`lots` is not a memory size: write a number and a unit, e.g. `4g`, `4096m` or `4Gi`",
        ),
        ("broken-report", "sql", "column `fares` is not in the tables it reads"),
    ] {
        let case = format!(
            "<testcase classname=\"sparkplane.ci.{class}\" name=\"{name}\">\n    <failure type=\"fail\" message=\"{message}\">"
        );
        assert!(xml.contains(&case), "{case}\nnot in\n{xml}");
    }
    assert!(xml.contains("report.sql:5:29: error: Spark SQL does not parse"), "{xml}");
    assert!(
        xml.contains(
            r#"<testcase classname="sparkplane.ci.prod" name="policy [prod]">
    <skipped message="the job is not valid for prod"/>"#
        ),
        "{xml}"
    );

    let log: serde_json::Value = serde_json::from_str(&read(&dir.path().join("ci.sarif"))).expect("SARIF is JSON");
    let results: Vec<(String, String, u64, u64, String)> = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let at = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap_or_default().to_owned(),
                at["artifactLocation"]["uri"].as_str().unwrap_or_default().to_owned(),
                at["region"]["startLine"].as_u64().unwrap_or_default(),
                at["region"]["startColumn"].as_u64().unwrap_or_default(),
                r["properties"]["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("policy", "job.yaml", 14, 10, "image-tag"),
        ("validate", "job.prod.yaml", 8, 15, "bad-quantity"),
        ("sql", "report.sql", 1, 18, "sql-unknown-column"),
        ("sql", "report.sql", 5, 29, "sql-syntax"),
        ("unit-tests", "job.yaml", 1, 1, "unit-tests-failed"),
    ];
    let expected: Vec<(String, String, u64, u64, String)> =
        expected.iter().map(|(r, f, l, c, k)| (r.to_string(), f.to_string(), *l, *c, k.to_string())).collect();
    assert_eq!(results, expected);
    // Each result points at its rule.
    for result in log["runs"][0]["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][index]["id"], result["ruleId"]);
    }
}

#[test]
fn the_workflows_command_passes_on_the_example_job_with_its_unit_tests() {
    let out = tempfile::tempdir().expect("tempdir");
    let paths: Vec<String> =
        ["ci.xml", "ci.sarif", "ci-report.json"].iter().map(|f| out.path().join(f).display().to_string()).collect();
    let mut args: Vec<&str> = EXAMPLE_CI.to_vec();
    args.extend(["--junit", &paths[0], "--sarif", &paths[1], "--report", &paths[2]]);
    let run = run_in(&repo(), &args);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("PASS  unit-tests\n"), "{}", run.stdout);
    assert!(run.stdout.contains("PASS  policy [prod]\n"), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("ci pass for trips-etl: 13 passed, 0 failed, 0 could not run, 2 skipped\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn json_output_is_the_report_release_reads() {
    let args = ["ci", "examples/trips-report/trips-report.yaml", "-e", "local", "--no-local-run", "--format", "json"];
    let run = run_in(&repo(), &args);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let report = sparkplane_delivery::ci_report::CiReport::from_json(&run.stdout).expect("stdout is the report");
    assert_eq!(report.job, "trips-report");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["validate", "policy", "fit", "sql", "unit-tests", "local-run"]);
}

#[test]
fn an_unknown_environment_or_a_missing_job_is_usage_exit_2() {
    let run = run_in(&repo(), &["ci", "examples/trips-etl/trips-etl.yaml", "--env", "qa"]);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        "error: --env: environment `qa` is not declared\n  help: use one of: dev, local, prod, staging — or add a `qa` \
         overlay next to the job or in the platform directory\n"
    );
    assert_eq!(run.stdout, "");
    let run = run_in(&repo(), &["ci", "examples/trips-etl/trips-etl.yaml", "--env", "prd"]);
    assert_eq!((run.code, run.stdout.as_str()), (Some(2), ""), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "error: --env: environment `prd` is not declared\n  help: did you mean `prod`? (known: dev, local, prod, staging)\n"
    );
    let run = run_in(&repo(), &["ci", "examples/nope.yaml"]);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.starts_with("error: cannot read examples/nope.yaml: "), "{}", run.stderr);
}

/// The `sparkplane ci …` line of a workflow step's script.
fn ci_command(script: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    let line = joined
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("sparkplane ci "))
        .unwrap_or_else(|| panic!("no `sparkplane ci` line in:\n{script}"));
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

fn yaml(path: &Path) -> serde_json::Value {
    let source = sparkplane_documents::Source::new(path.display().to_string(), read(path));
    sparkplane_documents::yaml::parse_single(&source).expect("the workflow is YAML").to_json()
}

/// The flags after the example command: --junit FILE --sarif FILE (and --report FILE).
fn assert_runs_the_tested_command(args: &[String], file: &str) {
    assert_eq!(args[..EXAMPLE_CI.len()], EXAMPLE_CI.map(str::to_owned), "{file}: {args:?}");
    let rest = &args[EXAMPLE_CI.len()..];
    let flags: Vec<&str> = rest.iter().step_by(2).map(String::as_str).collect();
    assert_eq!(flags, ["--junit", "--sarif", "--report"], "{file}: {args:?}");
}

#[test]
fn the_example_workflows_run_the_command_these_tests_run_and_publish_both_reports() {
    let github = repo().join("examples/ci/github-actions.yaml");
    let workflow = yaml(&github);
    let steps = workflow["jobs"]["ci"]["steps"].as_array().expect("jobs.ci.steps");
    let script =
        steps.iter().find_map(|s| s["run"].as_str().filter(|r| r.contains("sparkplane ci "))).expect("ci step");
    let args = ci_command(script);
    assert_runs_the_tested_command(&args, "github-actions.yaml");
    let sarif = &args[args.iter().position(|a| a == "--sarif").expect("--sarif") + 1];
    let upload = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@")))
        .expect("a SARIF upload step");
    assert_eq!(upload["with"]["sarif_file"].as_str(), Some(sarif.as_str()));
    assert_eq!(upload["if"].as_str(), Some("always()"));
    assert_eq!(workflow["permissions"]["security-events"], "write");

    let gitlab = repo().join("examples/ci/gitlab-ci.yaml");
    let pipeline = yaml(&gitlab);
    let job = &pipeline["sparkplane-ci"];
    let script: Vec<&str> = job["script"].as_array().expect("script").iter().filter_map(|l| l.as_str()).collect();
    let args = ci_command(&script.join("\n"));
    assert_runs_the_tested_command(&args, "gitlab-ci.yaml");
    let junit = &args[args.iter().position(|a| a == "--junit").expect("--junit") + 1];
    assert_eq!(job["artifacts"]["reports"]["junit"].as_str(), Some(junit.as_str()));
    assert_eq!(job["artifacts"]["when"], "always");
}

/// A copy of examples/trips-etl with 3,000 generated trips, and a SPARKPLANE_HOME
/// sharing the installed runtimes (as run_local.rs does; scripts/test.sh installs 3.5).
fn sample_job(dq_min_rows: Option<u64>) -> (tempfile::TempDir, tempfile::TempDir) {
    let home = sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME");
    let runtimes = sparkplane_local::runtime::runtimes_dir(&home);
    assert!(
        runtimes.join("3.5").join(sparkplane_local::runtime::MARKER_FILE).is_file(),
        "no Spark 3.5 runtime in {}: run `sparkplane runtime install 3.5` (scripts/test.sh does)",
        runtimes.display()
    );
    let own_home = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(&runtimes, own_home.path().join("runtimes")).expect("symlink");
    let dir = tempfile::tempdir().expect("tempdir");
    let example = repo().join("examples/trips-etl");
    for file in ["trips-etl.yaml", "trips-etl.local.yaml", "trips_etl.py", "generate_trips.py", "trips-dq.yaml"] {
        std::fs::copy(example.join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::create_dir(dir.path().join("tests")).expect("mkdir");
    std::fs::copy(example.join("tests/test_generate_trips.py"), dir.path().join("tests/test_generate_trips.py"))
        .expect("copy");
    if let Some(min) = dq_min_rows {
        let dq =
            read(&dir.path().join("trips-dq.yaml")).replace("rowCount: {min: 1}", &format!("rowCount: {{min: {min}}}"));
        std::fs::write(dir.path().join("trips-dq.yaml"), dq).expect("write");
    }
    let generated = std::process::Command::new("python3")
        .args(["generate_trips.py", "--rows", "3000", "--files", "1"])
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    (dir, own_home)
}

fn ci_with_home(dir: &Path, home: &Path, args: &[&str]) -> Run {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(dir).env_remove("SPARKPLANE_PLATFORM_DIR").env("NO_COLOR", "1").env("SPARKPLANE_HOME", home);
    let out = cmd.args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn the_local_run_on_sample_data_passes_with_its_quality_gates() {
    let (dir, home) = sample_job(None);
    let run = ci_with_home(dir.path(), home.path(), &["ci", "trips-etl.yaml", "-e", "local", "--junit", "ci.xml"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.ends_with(
            "PASS  unit-tests\nPASS  local-run [local]\nci pass for trips-etl: 4 passed, 0 failed, 0 could not run, 2 skipped\n"
        ),
        "{}",
        run.stdout
    );
    let xml = read(&dir.path().join("ci.xml"));
    assert!(xml.contains(r#"<testcase classname="sparkplane.ci.local" name="local-run [local]"/>"#), "{xml}");
}

#[test]
fn a_failing_quality_gate_fails_the_local_run_check() {
    let (dir, home) = sample_job(Some(1_000_000));
    let run = ci_with_home(dir.path(), home.path(), &["ci", "trips-etl.yaml", "-e", "local", "--junit", "ci.xml"]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FAIL  local-run [local]\n"), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("ci fail for trips-etl: 3 passed, 1 failed, 0 could not run, 2 skipped\n"),
        "{}",
        run.stdout
    );
    let xml = read(&dir.path().join("ci.xml"));
    assert!(
        xml.contains(
            r#"<testcase classname="sparkplane.ci.local" name="local-run [local]">
    <failure type="fail""#
        ),
        "{xml}"
    );
}

#[test]
fn help_ci_shows_its_examples() {
    let run = run_in(&repo(), &["help", "ci"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let examples: Vec<&str> = run.stdout.lines().map(str::trim).filter(|l| l.starts_with("sparkplane ci ")).collect();
    assert_eq!(
        examples,
        [
            "sparkplane ci job.yaml --nodes presets/nodes/standard.yaml --junit ci.xml --sarif ci.sarif",
            "sparkplane ci job.yaml --env prod --no-local-run --report ci-report.json",
        ]
    );
}

#[test]
fn a_failing_ci_run_sends_a_case_per_check_its_suite_and_an_incident_to_a_cdevents_sink() {
    let receiver = sparkplane_testkit::CdEventsReceiver::start().expect("the CDEvents receiver starts");
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["job.yaml", "job.prod.yaml", "report.sql"] {
        std::fs::copy(repo().join("crates/sparkplane/tests/data/ci-broken").join(file), dir.path().join(file))
            .expect("copy");
    }
    let args = ["ci", "job.yaml", "-e", "dev", "--no-local-run", "--cdevents-sink", &receiver.url];
    let run = run_in(dir.path(), &args);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let got = receiver.received();
    for event in &got {
        assert_eq!(event["errors"], serde_json::json!([]), "{event}");
    }
    let types: Vec<&str> = got.iter().filter_map(|e| e["type"].as_str()).collect();
    let (suite_at, _) = types
        .iter()
        .enumerate()
        .find(|(_, t)| **t == "dev.cdevents.testsuiterun.finished.0.3.0")
        .expect("a suite event");
    assert!(types[..suite_at].iter().all(|t| *t == "dev.cdevents.testcaserun.finished.0.3.0"), "{types:?}");
    assert_eq!(types[suite_at + 1..], ["dev.cdevents.incident.detected.0.3.0"]);
    let suite = &got[suite_at]["data"]["subject"];
    assert_eq!(suite["content"]["outcome"], "failure");
    assert_eq!(suite["content"]["environment"]["id"], "ci");
    let cases: Vec<(&str, &str)> = got[..suite_at]
        .iter()
        .map(|e| {
            let content = &e["data"]["subject"]["content"];
            (content["testCase"]["name"].as_str().unwrap_or_default(), content["outcome"].as_str().unwrap_or_default())
        })
        .collect();
    assert!(cases.contains(&("policy@dev", "failure")), "{cases:?}");
    assert!(cases.contains(&("sql", "failure")), "{cases:?}");
    assert!(!cases.iter().any(|(name, _)| name.starts_with("local-run")), "skipped checks send no case: {cases:?}");
}
