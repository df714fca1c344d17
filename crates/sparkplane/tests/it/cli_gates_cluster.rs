//! The example job taken dev → staging with its quality gates checked in the
//! cluster (ADR 0043), end to end with the real binary: the fake API server is
//! a simulated cluster whose kubelet runs the `sparkplane` image's containers
//! as the built `sparkplane` binary; `release` and `apply --release` put the
//! example in dev (apply embeds trips-dq.yaml into the SparkJob); the operator
//! (a child process) runs the driver (simulated), then a check Job whose pod
//! really runs `sparkplane dq check` over the job's output — here the
//! example's own output as Spark 3.5 wrote it (crates/sparkplane-dq/tests/
//! fixtures/spark-3.5/trips-daily, see its README) — and records
//! `status.qualityGates`; `promote --store cluster` reads it. No run record is
//! written by hand. Bad input: a gate the output fails fails the run
//! (`QualityGatesFailed`) and promote exits 1 naming the gate and its fix.
//! A gate with `engine: spark` (ADR 0063) is checked by the check
//! application instead, whose container runs `dq check --engine spark` on
//! the managed Spark 3.5 runtime (`scripts/common.sh` `need_runtime`; the
//! image declares its `SPARKPLANE_HOME`), and promote reads its outcome the
//! same way.

use crate::cluster_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cluster_support::Run;
use serde_json::Value;
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer, ImageProgram};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const DIGEST: &str = "sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";
/// The sparkplane image the operator checks gates with; the simulated kubelet runs it as the built binary.
const GATE_IMAGE: &str = "ghcr.io/sparkplane/sparkplane:test";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

/// The example in a folder of its own, its output where the driver wrote it, and a cluster.
struct World {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World::with_image_env(Vec::new())
    }

    /// A world whose gate image declares `env` (a Dockerfile's `ENV`).
    fn with_image_env(env: Vec<(String, String)>) -> World {
        let fake = FakeApiServer::start().expect("the fake API server starts");
        // The SparkJob CRD as the chart installs it: SparkJobs are pruned and validated against its schema.
        fake.insert(serde_json::to_value(sparkplane_api::crd::crd()).expect("the CRD serializes")).expect("CRD stored");
        fake.set_cluster(Cluster {
            programs: vec![ImageProgram {
                image: "ghcr.io/sparkplane/sparkplane".into(),
                program: sparkplane_testkit::cli::binary(),
            }],
            default_run: DriverRun::succeeds(Duration::from_millis(200), "ok\n"),
            image_env: vec![("ghcr.io/sparkplane/sparkplane".into(), env)],
            ..Cluster::default()
        });
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("default")).expect("kubeconfig");
        for name in ["trips-etl.yaml", "trips-etl.staging.yaml", "trips-etl.prod.yaml", "trips-dq.yaml"] {
            std::fs::copy(repo().join("examples/trips-etl").join(name), dir.path().join(name)).expect("copy");
        }
        // The job's output, as its driver wrote it, where the check's pod reads it.
        let output = dir.path().join("lake/curated/trips");
        copy_dir(&repo().join("crates/sparkplane-dq/tests/fixtures/spark-3.5/trips-daily"), &output);
        let spec = std::fs::read_to_string(dir.path().join("trips-dq.yaml")).expect("spec");
        let pointed = spec.replace("path: data/curated/trips", &format!("path: {}", output.display()));
        assert_ne!(spec, pointed, "the gate reads the job's output");
        std::fs::write(dir.path().join("trips-dq.yaml"), pointed).expect("spec");
        let ci = serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": "trips-etl",
            "jobFile": "trips-etl.yaml", "environments": ["dev"], "toolVersion": "0.1.0",
            "startedAt": "2026-11-23T15:00:00Z", "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": [],
        });
        std::fs::write(dir.path().join("ci.json"), ci.to_string()).expect("ci report");
        // The Secret the job's environment refers to, as the cluster holds it.
        fake.insert(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "lake-credentials", "namespace": "data-eng"},
            "data": {"access-key-id": "QUtJQUVYQU1QTEU=", "secret-access-key": "c2VjcmV0"},
        }))
        .expect("the secret");
        let world = World { fake, dir };
        world.ok(&["release", "keygen", "--out", "keys"]);
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Run {
        let cmd = cluster_support::command(self.dir.path(), &self.path("kubeconfig"));
        cluster_support::run(cmd, args, Duration::from_secs(60))
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, Some(0), "{args:?}\n{}\n{}", r.stdout, r.stderr);
        r
    }

    /// `release trips-etl.yaml --env dev --store cluster`, signed, with the CI report; the release id.
    fn release(&self) -> String {
        let digest = format!("spec.image.digest={DIGEST}");
        let r = self.ok(&[
            "release",
            "trips-etl.yaml",
            "--env",
            "dev",
            "--commit",
            COMMIT,
            "--ci-report",
            "ci.json",
            "--key",
            "keys/release.key",
            "--set",
            &digest,
            "--store",
            "cluster",
        ]);
        r.stdout.lines().next().and_then(|l| l.strip_prefix("released ")).expect("the release id").to_owned()
    }

    /// The dev SparkJob once the operator has ended its run (Succeeded or Failed).
    fn ended(&self) -> Value {
        self.ended_within(Duration::from_secs(90))
    }

    fn ended_within(&self, limit: Duration) -> Value {
        let started = std::time::Instant::now();
        loop {
            let job = self.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng"), "trips-etl");
            let job = job.unwrap_or(Value::Null);
            if matches!(job["status"]["state"].as_str(), Some("Succeeded" | "Failed")) {
                return job;
            }
            assert!(started.elapsed() < limit, "no ended run: {:#}", job["status"]);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn promote(&self, id: &str) -> Run {
        self.run(&[
            "promote",
            "trips-etl.yaml",
            "--release",
            id,
            "--from",
            "dev",
            "--to",
            "staging",
            "--commit",
            COMMIT,
            "--trusted-key",
            "keys/release.pub",
            "--store",
            "cluster",
            "--approvals-dir",
            "approvals",
        ])
    }

    /// The check Job of the run, and its one pod.
    fn check(&self) -> (Value, Value) {
        let jobs: Vec<Value> = self.fake.objects().into_iter().filter(|o| o["kind"] == "Job").collect();
        assert_eq!(jobs.len(), 1, "one check Job: {jobs:#?}");
        let name = jobs[0]["metadata"]["name"].as_str().expect("name").to_owned();
        let pod = self
            .fake
            .objects()
            .into_iter()
            .find(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["job-name"] == name.as_str())
            .expect("the check's pod");
        (jobs[0].clone(), pod)
    }

    fn pod_log(&self, pod: &str) -> String {
        ureq::get(&format!("{}/api/v1/namespaces/data-eng/pods/{pod}/log", self.fake.url()))
            .call()
            .expect("the log")
            .into_body()
            .read_to_string()
            .expect("text")
    }
}

/// The operator of the test's cluster, checking gates with the test's image.
fn operator(w: &World) -> sparkplane_testkit::StopOnDrop {
    let cmd = cluster_support::command(w.dir.path(), &w.path("kubeconfig"));
    cluster_support::operator(cmd, "data-eng", &["--quality-gate-image", GATE_IMAGE])
}

#[test]
fn the_example_goes_dev_to_staging_with_its_quality_gates_checked_in_the_cluster() {
    let w = World::new();
    let id = w.release();
    let _operator = operator(&w);
    w.ok(&["apply", "trips-etl.yaml", "--env", "dev", "--release", &id]);
    let job = w.ended();
    let status = &job["status"];
    assert_eq!(
        (status["state"].as_str(), status["qualityGates"].as_str()),
        (Some("Succeeded"), Some("passed")),
        "{status:#}"
    );
    let states: Vec<&str> =
        status["transitions"].as_array().expect("transitions").iter().filter_map(|t| t["state"].as_str()).collect();
    assert!(states.ends_with(&["Checking", "Succeeded"]), "{states:?}");
    assert_eq!(
        job["spec"]["qualityGates"][0]["definition"]["metadata"]["name"], "trips-daily",
        "apply embedded the spec"
    );

    // The check ran for real: a restricted pod of the sparkplane image, the spec mounted, the secret a reference.
    let (check, pod) = w.check();
    assert_eq!(check["metadata"]["ownerReferences"][0]["kind"], "SparkJob");
    assert_eq!(check["status"]["conditions"][0]["type"], "Complete");
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["image"], GATE_IMAGE);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
    let env = container["env"].as_array().expect("env");
    let secret = env.iter().find(|e| e["name"] == "AWS_SECRET_ACCESS_KEY").expect("the secret's variable");
    assert!(secret["value"].is_null() && secret["valueFrom"]["secretKeyRef"]["name"] == "lake-credentials");
    assert!(!serde_json::to_string(&check).expect("json").contains("c2VjcmV0"), "no secret value in the Job");
    let log = w.pod_log(pod["metadata"]["name"].as_str().expect("name"));
    assert!(log.contains("zones-known") && log.contains("PASSED: 9 checks, 0 failed"), "{log}");

    // promote reads the run and its gates from the cluster: no run record was written.
    let r = w.promote(&id);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with(&format!("promoted {id} from dev to staging (deployment 1, the first there)")),
        "{}",
        r.stdout
    );
    assert!(!w.path("home/runs").exists(), "no local run record");
}

/// A world whose gate image carries the managed Spark 3.5 runtime (as a gate
/// image for Spark gates must, ADR 0063), the example's gate on Spark
/// (without `drift`, which compares the native engine's histogram and which
/// Spark refuses, ADR 0060) and `edit` applied to its spec.
fn spark_world(edit: &dyn Fn(String) -> String) -> World {
    let python = sparkplane_testkit::history::runtime_path("3.5", "python")
        .unwrap_or_else(|e| panic!("the Spark gate runs on the managed Spark 3.5 runtime: {e}"));
    assert!(python.exists(), "{}", python.display());
    let home = sparkplane_testkit::history::runtime_home();
    let w = World::with_image_env(vec![("SPARKPLANE_HOME".into(), home.display().to_string())]);
    let spec = std::fs::read_to_string(w.path("trips-dq.yaml")).expect("spec");
    let on_spark = spec
        .replace("  - name: fares-stable\n    drift: {column: fare_total, maxPsi: 0.25}\n    severity: warn\n", "")
        .replace("checks:\n", "engine: spark\nchecks:\n");
    assert_eq!(on_spark.matches("engine: spark").count(), 1);
    assert!(!on_spark.contains("drift:"));
    std::fs::write(w.path("trips-dq.yaml"), edit(on_spark)).expect("spec");
    w
}

#[test]
fn a_gate_on_spark_is_checked_by_a_check_application_on_local_spark_and_promote_reads_it() {
    let w = spark_world(&|spec| spec);
    let id = w.release();
    let _operator = operator(&w);
    w.ok(&["apply", "trips-etl.yaml", "--env", "dev", "--release", &id]);
    let job = w.ended_within(Duration::from_secs(300));
    let status = &job["status"];
    assert_eq!(
        (status["state"].as_str(), status["qualityGates"].as_str()),
        (Some("Succeeded"), Some("passed")),
        "{status:#}"
    );
    // No check Job: the check application, a Pod owned by the SparkJob.
    assert!(w.fake.objects().iter().all(|o| o["kind"] != "Job"), "no check Job");
    let pod = w
        .fake
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["app.kubernetes.io/component"] == "quality-gates-spark")
        .expect("the check application");
    let name = pod["metadata"]["name"].as_str().expect("name");
    assert_eq!(
        status["qualityGatesMessage"].as_str(),
        Some(format!("1 quality gate(s) passed (application {name})").as_str())
    );
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "SparkJob");
    assert_eq!(pod["status"]["phase"], "Succeeded");
    assert_eq!(pod["spec"]["activeDeadlineSeconds"], 3600);
    let container = &pod["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    assert!(args.ends_with(&["--engine", "spark", "--spark", "3.5"]), "{args:?}");
    // The output is a few KiB: the smallest row, 2 cores and a 4 GiB heap, as the one sizing model sizes it.
    assert_eq!(container["resources"]["requests"]["cpu"], "2");
    // The operator said so, with the size it listed.
    let said: Vec<String> = w
        .fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Event" && o["reason"] == "QualityGatesOnSpark")
        .filter_map(|o| o["note"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains("`trips-dq.yaml` on Spark (30.2 KiB listed: 2 cores, 4 GiB heap)"), "{said:?}");
    // The check ran on Spark for real: its log has the spark engine's line and the gate's verdict.
    let log = w.pod_log(name);
    assert!(log.contains("spark engine: ") && log.contains("zones-known"), "{log}");
    assert!(log.contains("PASSED: 8 checks, 0 failed"), "{log}");

    // promote reads the run and its gates from the cluster.
    let r = w.promote(&id);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {id} from dev to staging")), "{}", r.stdout);
}

#[test]
fn a_gate_on_spark_the_output_fails_fails_the_run_and_promote_names_the_check_application() {
    let w = spark_world(&|spec| spec.replace("values: [airport, downtown,", "values: [downtown,"));
    let id = w.release();
    let _operator = operator(&w);
    w.ok(&["apply", "trips-etl.yaml", "--env", "dev", "--release", &id]);
    let job = w.ended_within(Duration::from_secs(300));
    let status = &job["status"];
    assert_eq!(
        (status["state"].as_str(), status["reason"].as_str(), status["qualityGates"].as_str()),
        (Some("Failed"), Some("QualityGatesFailed"), Some("failed")),
        "{status:#}"
    );
    let pod = w
        .fake
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["app.kubernetes.io/component"] == "quality-gates-spark")
        .expect("the check application");
    let name = pod["metadata"]["name"].as_str().expect("name");
    let r = w.promote(&id);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    // The same counts as the native engine's (the test above with the Job), from Spark.
    let want = format!(
        "error: source-run: the last run in dev, sparkjob data-eng/trips-etl attempt 1, failed its quality gates: \
         quality gate `trips-dq.yaml` failed: check `zones-known` failed: 20 of 160 values are not accepted \
         (`kubectl logs pod/{name} --all-containers` shows the check)"
    );
    assert!(r.stderr.lines().any(|l| l == want), "{}", r.stderr);
}

#[test]
fn a_gate_the_output_fails_fails_the_run_and_promote_names_the_gate_and_its_fix() {
    let w = World::new();
    // A gate stricter than the output: `airport` is no longer an accepted zone.
    let spec = std::fs::read_to_string(w.path("trips-dq.yaml")).expect("spec");
    let stricter = spec.replace("values: [airport, downtown,", "values: [downtown,");
    assert_ne!(spec, stricter);
    std::fs::write(w.path("trips-dq.yaml"), stricter).expect("spec");
    let id = w.release();
    let _operator = operator(&w);
    w.ok(&["apply", "trips-etl.yaml", "--env", "dev", "--release", &id]);
    let job = w.ended();
    let status = &job["status"];
    assert_eq!(
        (status["state"].as_str(), status["reason"].as_str(), status["qualityGates"].as_str()),
        (Some("Failed"), Some("QualityGatesFailed"), Some("failed")),
        "{status:#}"
    );
    let (check, _) = w.check();
    let name = check["metadata"]["name"].as_str().expect("name");
    let r = w.promote(&id);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| l.starts_with("error: ") || l.starts_with("  help: ")).collect::<Vec<_>>(),
        [
            format!(
                "error: source-run: the last run in dev, sparkjob data-eng/trips-etl attempt 1, failed its quality \
                 gates: quality gate `trips-dq.yaml` failed: check `zones-known` failed: 20 of 160 values are not \
                 accepted (`kubectl logs job/{name} --all-containers` shows the check)"
            )
            .as_str(),
            "  help: fix what the failed checks found in the job's output (or the gate's data-quality spec, if a check \
             is wrong; `sparkplane dq check <spec>` runs it on data you have), release the fix, apply it in dev and \
             let the operator run it until its quality gates pass",
        ],
        "{}",
        r.stderr
    );
}

#[test]
fn a_gate_naming_its_data_relative_to_its_spec_is_refused_by_apply_before_anything_is_written() {
    let w = World::new();
    // The example's own spec names its output relative to the spec's folder, as a local run reads it.
    std::fs::copy(repo().join("examples/trips-etl/trips-dq.yaml"), w.path("trips-dq.yaml")).expect("copy");
    let r = w.run(&["apply", "trips-etl.yaml", "--env", "dev"]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| l.contains("error") || l.starts_with("  help: ")).collect::<Vec<_>>(),
        [
            "trips-dq.yaml:17:9: error: dataset.path: `data/curated/trips` is relative to the spec's folder, which \
             the operator's check in the cluster does not have",
            "  help: name the dataset as the job writes it there (an object-store URL such as s3a://bucket/table/), \
             in a data-quality spec of that environment's overlay",
        ],
        "{}",
        r.stderr
    );
    let jobs: Vec<Value> = w.fake.objects().into_iter().filter(|o| o["kind"] == "SparkJob").collect();
    assert!(jobs.is_empty(), "nothing applied: {jobs:#?}");
}

#[test]
fn a_gate_spec_that_is_missing_or_invalid_is_refused_by_apply_with_its_file_and_line() {
    let w = World::new();
    let spec = std::fs::read_to_string(w.path("trips-dq.yaml")).expect("spec");
    std::fs::write(
        w.path("trips-dq.yaml"),
        spec.replacen("  format: parquet\n", "  format: parquet\n  colour: red\n", 1),
    )
    .expect("spec");
    let r = w.run(&["apply", "trips-etl.yaml", "--env", "dev"]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr,
        "trips-dq.yaml:19:3: error: dataset.colour: unknown field `colour`\n  help: fields allowed here: format, \
         partitioning, path\n"
    );
    std::fs::remove_file(w.path("trips-dq.yaml")).expect("rm");
    let r = w.run(&["apply", "trips-etl.yaml", "--env", "dev"]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr,
        "error: cannot read trips-dq.yaml: No such file or directory (os error 2)\n  help: check the path; it is \
         relative to the current directory\n"
    );
    let jobs: Vec<Value> = w.fake.objects().into_iter().filter(|o| o["kind"] == "SparkJob").collect();
    assert!(jobs.is_empty(), "nothing applied: {jobs:#?}");
}
