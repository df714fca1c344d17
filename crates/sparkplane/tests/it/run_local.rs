//! `sparkplane run` on a real local Spark (the managed 3.5 runtime that
//! scripts/test.sh installs): a successful job, a job that raises in the
//! driver, a job cancelled mid-run, invalid specs and a missing Java. Each
//! test has its own SPARKPLANE_HOME; all waits are bounded.
//!
//! Without an installed runtime these tests fail with the command to install one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn bin() -> PathBuf {
    sparkplane_testkit::cli::binary()
}

/// The runtimes the user (or scripts/test.sh) installed, under the default SPARKPLANE_HOME.
pub(crate) fn installed_runtimes() -> PathBuf {
    let home = sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME");
    let runtimes = sparkplane_local::runtime::runtimes_dir(&home);
    let marker = runtimes.join("3.5").join(sparkplane_local::runtime::MARKER_FILE);
    assert!(
        marker.is_file(),
        "no Spark 3.5 runtime in {}: run `sparkplane runtime install 3.5` (scripts/test.sh does)",
        runtimes.display()
    );
    runtimes
}

struct Env {
    home: tempfile::TempDir,
    jobs: tempfile::TempDir,
}

/// A fresh SPARKPLANE_HOME (its own run history) sharing the installed runtimes.
fn env() -> Env {
    let home = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(installed_runtimes(), home.path().join("runtimes")).unwrap();
    Env { home, jobs: tempfile::tempdir().unwrap() }
}

impl Env {
    fn job(&self, name: &str, script: &str) -> PathBuf {
        std::fs::write(self.jobs.path().join(format!("{name}.py")), script).unwrap();
        let path = self.jobs.path().join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!("apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {{name: {name}}}\nspec:\n  team: qa\n  type: Python\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: {name}.py\n  driver: {{memory: 1g}}\n"),
        )
        .unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("SPARKPLANE_HOME", self.home.path())
            .env_remove("SPARK_HOME")
            .env("NO_COLOR", "1")
            .current_dir(repo());
        cmd
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.command(args).output().expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn runs(&self) -> Vec<serde_json::Value> {
        let (_, out, _) = self.run(&["runs", "list", "-o", "json"]);
        serde_json::from_str(&out).expect("runs list JSON")
    }
}

#[test]
fn a_successful_job_reports_its_summary_and_is_recorded() {
    let env = env();
    let job = env.job("count", "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\ndf = spark.range(0, 100000, numPartitions=4)\ndf.write.parquet('out')\nprint('rows', spark.read.parquet('out').count())\nspark.stop()\n");
    let (code, out, err) = env.run(&["run", job.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let record: serde_json::Value = serde_json::from_str(&out).expect("the run record as JSON");
    assert_eq!(record["state"], "succeeded");
    // Spark's defaults, 2 executors of 1 core, capped at this machine's cores.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(2);
    assert_eq!(record["master"], format!("local[{cores}]"), "{record}");
    let summary = &record["summary"];
    assert!(summary["jobs"].as_u64().unwrap() >= 2, "{summary}");
    assert_eq!(summary["tasksFailed"], 0);
    assert!(summary["outputBytes"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["coreSeconds"].as_f64().unwrap() > 0.0);
    assert!(Path::new(record["eventLog"].as_str().unwrap()).exists());
    let log = std::fs::read_to_string(record["driverLog"].as_str().unwrap()).unwrap();
    assert!(log.contains("rows 100000"), "the driver's output is in its log");
    assert!(env.jobs.path().join("out").is_dir(), "relative paths are read from the job's directory");
    let runs = env.runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["runId"], record["runId"]);
    let (code, out, _) = env.run(&["runs", "show", &record["runId"].as_str().unwrap()[..12]]);
    assert_eq!(code, Some(0));
    assert!(out.contains("succeeded"), "{out}");
}

#[test]
fn a_job_that_raises_fails_with_the_exception_in_its_summary() {
    let env = env();
    let job = env.job("boom", "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(10).count()\nraise ValueError('bad input: 42 rows failed the check')\n");
    let (code, out, err) = env.run(&["run", job.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("failed in"), "{out}");
    assert!(out.contains("reason:     ValueError: bad input: 42 rows failed the check"), "{out}");
    assert!(err.contains("error: run boom-"), "{err}");
    assert_eq!(env.runs()[0]["state"], "failed");
}

#[test]
fn a_cancelled_run_stops_spark_and_is_recorded_as_cancelled() {
    let env = env();
    let job = env.job("slow", "import time\nfrom pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(4).count()\nprint('ready', flush=True)\ntime.sleep(300)\n");
    let mut child =
        env.command(&["run", job.to_str().unwrap()]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait (bounded) until the driver is past its first job, then press Ctrl-C.
    let started = Instant::now();
    loop {
        let running = env.runs().first().map(|r| r["driverLog"].as_str().unwrap_or_default().to_owned());
        if let Some(log) = running
            && std::fs::read_to_string(&log).unwrap_or_default().contains("ready")
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the job never got ready");
        std::thread::sleep(Duration::from_millis(250));
    }
    // SAFETY: sends SIGINT to the child we started, as a terminal's Ctrl-C would.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "sparkplane did not stop Spark within 90 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status.code(), Some(1));
    let record = &env.runs()[0];
    assert_eq!(record["state"], "cancelled", "{record}");
    assert!(record["pid"].is_null());
}

#[test]
fn a_run_killed_without_recording_its_end_reads_as_interrupted() {
    let env = env();
    let job = env.job("victim", "import time\nfrom pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nprint('ready', flush=True)\ntime.sleep(300)\n");
    let mut child =
        env.command(&["run", job.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = env.runs().first().and_then(|r| r["pid"].as_u64()) {
            break pid;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the run never recorded its process");
        std::thread::sleep(Duration::from_millis(200));
    };
    // sparkplane and Spark both die at once, as when a laptop sleeps or a terminal is closed hard.
    // SAFETY: kills the child we started and the process group of the spark-submit it recorded.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGKILL);
        libc::killpg(pid as libc::pid_t, libc::SIGKILL);
    }
    let _ = child.wait();
    // The orphaned spark-submit may take a moment to be reaped; the record settles once it is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let record = env.runs()[0].clone();
        if record["state"] == "interrupted" {
            assert!(record["failure"].as_str().unwrap().contains("without recording an outcome"), "{record}");
            break;
        }
        assert!(Instant::now() < deadline, "the killed run never read as interrupted: {record}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn invalid_specs_fail_before_spark_starts() {
    let env = env();
    let job = env.job("bad", "print('never')\n");
    let text = std::fs::read_to_string(&job).unwrap().replace("driver: {memory: 1g}", "driver: {memory: 1 GB}");
    std::fs::write(&job, text).unwrap();
    let (code, _, err) = env.run(&["run", job.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("spec.driver.memory"), "{err}");
    let missing = env.job("nofile", "");
    std::fs::remove_file(env.jobs.path().join("nofile.py")).unwrap();
    let (code, _, err) = env.run(&["run", missing.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nofile.py does not exist on this machine"), "{err}");
    assert!(env.runs().is_empty(), "nothing was started, nothing is recorded");
}

#[test]
fn a_missing_java_is_named_with_what_to_install() {
    let env = env();
    let job = env.job("nojava", "print('never')\n");
    let out = env
        .command(&["run", job.to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .env_remove("JAVA_HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Java was not found") && err.contains("openjdk-17"), "{err}");
    assert!(env.runs().is_empty());
}

#[test]
fn a_sql_job_runs_its_statements_in_order() {
    let env = env();
    std::fs::write(
        env.jobs.path().join("numbers.sql"),
        "-- two statements and a substitution\nCREATE OR REPLACE TEMPORARY VIEW n AS SELECT id FROM range(${upto});\nSELECT count(*) AS rows, sum(id) AS total FROM n;\n",
    )
    .unwrap();
    let job = env.jobs.path().join("numbers.yaml");
    std::fs::write(
        &job,
        "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: numbers}\nspec:\n  type: SQL\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: numbers.sql\n  arguments: [\"upto=1000\"]\n",
    )
    .unwrap();
    let (code, out, err) = env.run(&["run", job.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let record: serde_json::Value = serde_json::from_str(&out).unwrap();
    let log = std::fs::read_to_string(record["driverLog"].as_str().unwrap()).unwrap();
    assert!(log.contains("sparkplane: statement 1: CREATE OR REPLACE TEMPORARY VIEW n"), "{log}");
    assert!(log.contains("sparkplane: statement 2: SELECT count(*)"), "{log}");
    assert!(log.contains("|1000|499500|"), "the last statement's result is shown: {log}");
}

#[test]
fn a_failing_quality_gate_fails_a_successful_run() {
    let env = env();
    let job = env.job("writer", "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(0, 1000, numPartitions=2).write.mode('overwrite').parquet('out')\nspark.stop()\n");
    let yaml = std::fs::read_to_string(&job).unwrap() + "  qualityGates:\n    - spec: writer-dq.yaml\n";
    std::fs::write(&job, yaml).unwrap();
    let with_gate = |max: u64| {
        std::fs::write(
            env.jobs.path().join("writer-dq.yaml"),
            format!("apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: writer-out}}\ndataset: {{path: out}}\nchecks:\n  - name: rows\n    rowCount: {{min: 1, max: {max}}}\n  - name: ids\n    unique: {{columns: [id]}}\n"),
        )
        .unwrap();
    };
    with_gate(100_000);
    let (code, _, err) = env.run(&["run", job.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("PASSED: 2 checks, 0 failed; 1000 rows"), "{err}");

    with_gate(10);
    let (code, _, err) = env.run(&["run", job.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("check `rows` failed: 1000 rows; expected 1..10"), "{err}");
    // The job itself succeeded and is recorded so; the gate is what failed the run.
    let runs = env.runs();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r["state"] == "succeeded"), "{runs:?}");
    // Each run records its gates' outcome (newest first): promotion's source-run gate reads it.
    let gates: Vec<&str> = runs.iter().map(|r| r["qualityGates"].as_str().unwrap_or("(none)")).collect();
    assert_eq!(gates, ["failed", "passed"], "{runs:?}");
}

#[test]
fn a_job_breaking_a_deny_policy_is_refused_before_spark_and_audit_lets_it_run() {
    let env = env();
    let job = env.job("long", "print('ran')\n");
    let text = std::fs::read_to_string(&job).unwrap() + "  timeouts: {maxDuration: 48h}\n";
    std::fs::write(&job, text).unwrap();
    let (code, out, err) = env.run(&["run", job.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(err.contains("maxDuration 2d is above the platform maximum of 1d"), "{err}");
    assert!(err.contains("help: lower spec.timeouts.maxDuration, or split the job"), "{err}");
    assert!(env.runs().is_empty(), "refused before Spark: nothing recorded");
    // Audit mode reports the same violation as a warning and runs the job.
    let (code, out, err) = env.run(&["run", job.to_str().unwrap(), "--policy-mode", "audit"]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(err.contains("maxDuration 2d is above the platform maximum of 1d"), "{err}");
    assert_eq!(env.runs().len(), 1);
    assert_eq!(env.runs()[0]["state"], "succeeded");
}

#[test]
fn a_run_and_its_failed_gate_send_cdevents_that_a_real_receiver_validates() {
    let receiver = sparkplane_testkit::CdEventsReceiver::start().expect("the CDEvents receiver starts");
    let env = env();
    let job = env.job("evented", "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(0, 50, numPartitions=1).write.mode('overwrite').parquet('out')\nspark.stop()\n");
    let yaml = std::fs::read_to_string(&job).unwrap() + "  qualityGates:\n    - spec: evented-dq.yaml\n";
    std::fs::write(&job, yaml).unwrap();
    std::fs::write(
        env.jobs.path().join("evented-dq.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {name: evented-out}\ndataset: {path: out}\nchecks:\n  - name: rows\n    rowCount: {min: 100}\n",
    )
    .unwrap();
    let (code, _, err) = env.run(&["run", job.to_str().unwrap(), "--cdevents-sink", &receiver.url]);
    assert_eq!(code, Some(1), "the gate fails the run: {err}");
    assert!(!err.contains("not delivered"), "{err}");
    let got = receiver.received();
    let types: Vec<&str> = got.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "dev.cdevents.taskrun.started.0.3.0",
            "dev.cdevents.taskrun.finished.0.3.0",
            "dev.cdevents.testcaserun.finished.0.3.0",
            "dev.cdevents.testsuiterun.finished.0.3.0",
            "dev.cdevents.incident.detected.0.3.0",
        ]
    );
    for record in &got {
        assert_eq!(record["errors"], serde_json::json!([]), "{record}");
    }
    let run_id = env.runs()[0]["runId"].as_str().expect("a run id").to_owned();
    assert_eq!(got[0]["subject"], run_id.as_str());
    assert_eq!(got[0]["data"]["subject"]["content"]["taskName"], "evented");
    assert_eq!(got[1]["data"]["subject"]["content"]["outcome"], "success", "the job itself succeeded");
    assert_eq!(got[3]["data"]["subject"]["content"]["environment"]["id"], "local");
    assert_eq!(got[4]["data"]["subject"]["content"]["service"]["id"], "evented");
}
