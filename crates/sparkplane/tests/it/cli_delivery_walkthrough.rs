//! README's delivery walk-through, run for real on a copy of examples/trips-etl
//! with generated sample data and the managed Spark 3.5 runtime: `ci` (with its
//! local run on the sample, whose output is the "current" output), `release`
//! for dev, `promote` dev → staging → prod with a shadow run before prod, a
//! second release refused by the shadow gate when its output differs beyond the
//! declared bounds and promoted once it does not, then `rollback` to the first.
//!
//! Runs in dev and staging happen in a cluster. `promote --store cluster` reads
//! the operator's run of a release there (ADR 0043, tests/it/cli_release_cluster.rs),
//! but the operator does not evaluate data-quality gates yet and this example
//! declares them, so its dev and staging run records are written into the test's
//! SPARKPLANE_HOME as `sparkplane run` writes them, as tests/it/cli_promote.rs does.
//! The shadow runs are real Spark runs.

use std::path::{Path, PathBuf};

const DIGEST: &str = "sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";
const FIRST_COMMIT: &str = "1111111111111111111111111111111111111111";
const SECOND_COMMIT: &str = "2222222222222222222222222222222222222222";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The example job copied into a folder of its own, with a SPARKPLANE_HOME sharing the installed runtimes.
struct Walk {
    job_dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Walk {
    fn new() -> Walk {
        let installed = sparkplane_local::runtime::runtimes_dir(
            &sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME"),
        );
        assert!(
            installed.join("3.5").join(sparkplane_local::runtime::MARKER_FILE).is_file(),
            "no Spark 3.5 runtime in {}: run `sparkplane runtime install 3.5` (scripts/test.sh does)",
            installed.display()
        );
        let home = tempfile::tempdir().expect("tmp");
        std::os::unix::fs::symlink(&installed, home.path().join("runtimes")).expect("symlink");
        let job_dir = tempfile::tempdir().expect("tmp");
        let example = repo().join("examples/trips-etl");
        for name in [
            "trips-etl.yaml",
            "trips-etl.local.yaml",
            "trips-etl.staging.yaml",
            "trips-etl.prod.yaml",
            "trips_etl.py",
            "generate_trips.py",
            "trips-dq.yaml",
        ] {
            std::fs::copy(example.join(name), job_dir.path().join(name)).expect("copy");
        }
        std::fs::create_dir(job_dir.path().join("tests")).expect("mkdir");
        std::fs::copy(
            example.join("tests/test_generate_trips.py"),
            job_dir.path().join("tests/test_generate_trips.py"),
        )
        .expect("copy");
        let walk = Walk { job_dir, home };
        walk.generate(3000);
        walk
    }

    /// Sample input: `rows` trips in one file (the same seed every time).
    fn generate(&self, rows: u32) {
        let out = std::process::Command::new("python3")
            .args(["generate_trips.py", "--rows", &rows.to_string(), "--files", "1"])
            .current_dir(self.job_dir.path())
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = sparkplane_testkit::sparkplane();
        cmd.current_dir(self.job_dir.path())
            .env_remove("SPARKPLANE_PLATFORM_DIR")
            .env_remove("SPARKPLANE_CDEVENTS_SINK")
            .env_remove("SPARK_HOME")
            .env("SPARKPLANE_USER", "alice")
            .env("SPARKPLANE_HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir());
        let out = cmd.args(args).output().expect("runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, Some(0), "{args:?}\n{}\n{}", r.stdout, r.stderr);
        r
    }

    /// A green run of the job in `env` (dev and staging run in a cluster), as `sparkplane run` records one.
    fn ran(&self, env: &str, n: u32) {
        let id = format!("trips-etl-20261123-17000{n}-{env}");
        let dir = self.home.path().join("runs").join(&id);
        std::fs::create_dir_all(&dir).expect("run dir");
        let record = serde_json::json!({
            "runId": id, "job": "trips-etl", "jobFile": "trips-etl.yaml", "specHash": "00000000", "environment": env,
            "preset": "etl-small", "sparkVersion": "3.5.9", "master": "k8s", "state": "succeeded",
            "startedMs": 1_795_280_400_000_u64 + u64::from(n), "endedMs": 1_795_280_460_000_u64, "pid": null,
            "exitCode": 0, "failure": null, "appId": "spark-1", "uiUrl": null, "driverLog": "driver.log",
            "eventLog": null, "summary": null, "qualityGates": "passed",
        });
        std::fs::write(dir.join("run.json"), record.to_string()).expect("record");
    }

    /// `release … --env dev`, signed, with the CI report; the release id.
    fn release(&self, commit: &str) -> String {
        let digest = format!("spec.image.digest={DIGEST}");
        let r = self.ok(&[
            "release",
            "trips-etl.yaml",
            "--env",
            "dev",
            "--commit",
            commit,
            "--ci-report",
            "ci.json",
            "--key",
            "keys/release.key",
            "--set",
            &digest,
        ]);
        r.stdout.lines().next().and_then(|l| l.strip_prefix("released ")).expect("the release id").to_owned()
    }

    fn promote(&self, id: &str, from: &str, to: &str, commit: &str, shadow: bool) -> Run {
        let mut args =
            vec!["promote", "trips-etl.yaml", "--release", id, "--from", from, "--to", to, "--commit", commit];
        args.extend(["--trusted-key", "keys/release.pub"]);
        if shadow {
            args.push("--shadow");
        }
        self.run(&args)
    }

    fn prod_deployments(&self) -> usize {
        std::fs::read_dir(self.job_dir.path().join("releases/deployments/trips-etl/prod"))
            .map(|d| d.flatten().count())
            .unwrap_or(0)
    }
}

#[test]
fn the_example_goes_ci_release_dev_staging_prod_with_a_shadow_run_and_rolls_back() {
    let w = Walk::new();
    // ci: every environment, the unit tests and the local run on the sample with its quality gates.
    let ci = w.ok(&[
        "ci",
        "trips-etl.yaml",
        "-e",
        "local",
        "-e",
        "dev",
        "-e",
        "staging",
        "-e",
        "prod",
        "--report",
        "ci.json",
    ]);
    assert!(ci.stdout.contains("PASS  local-run [local]"), "{}", ci.stdout);
    assert!(w.job_dir.path().join("data/curated/trips").is_dir(), "the local run left the current output");
    w.ok(&["release", "keygen", "--out", "keys"]);

    // The first release: dev → staging → prod, a shadow run before prod.
    let first = w.release(FIRST_COMMIT);
    w.ran("dev", 1);
    let r = w.promote(&first, "dev", "staging", FIRST_COMMIT, false);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {first} from dev to staging (deployment 1, the first there)")));
    w.ran("staging", 2);
    let r = w.promote(&first, "staging", "prod", FIRST_COMMIT, true);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("  gates passed: ci, source-run, policy, signature, provenance, shadow\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  shadow: `trips-daily` is the same as the current output\n"), "{}", r.stdout);
    assert!(r.stderr.contains("shadow run trips-etl-"), "{}", r.stderr);
    let shadow_dir = w.job_dir.path().join(".sparkplane/shadow").join(&first).join("trips-daily");
    assert!(shadow_dir.is_dir(), "the candidate wrote to the shadow location, not the real one");
    assert_eq!(w.prod_deployments(), 1);

    // A second release (more executor memory, a new commit), through dev and staging.
    let job = w.job_dir.path().join("trips-etl.yaml");
    let text = std::fs::read_to_string(&job).expect("job").replace("memory: 6g", "memory: 8g");
    std::fs::write(&job, text).expect("edit");
    let second = w.release(SECOND_COMMIT);
    assert_ne!(first, second);
    w.ran("dev", 3);
    assert_eq!(w.promote(&second, "dev", "staging", SECOND_COMMIT, false).code, Some(0));
    w.ran("staging", 4);

    // The input changed under it (twice the trips): its output is not the current one's. Refused by the shadow gate.
    w.generate(6000);
    let r = w.promote(&second, "staging", "prod", SECOND_COMMIT, true);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("shadow: the candidate's output `trips-daily`")
            && r.stderr.contains("differs from the current")
            && r.stderr.contains("`trips` drifted: PSI"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("BEYOND BOUNDS"), "{}", r.stdout);
    assert_eq!(w.prod_deployments(), 1, "nothing written when refused");

    // The same input again: within bounds, promoted.
    w.generate(3000);
    let r = w.promote(&second, "staging", "prod", SECOND_COMMIT, true);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {second} from staging to prod (deployment 2)")), "{}", r.stdout);

    // Rollback: prod runs the first release again.
    let r = w.ok(&["rollback", "trips-etl.yaml", "--env", "prod"]);
    assert!(
        r.stdout.starts_with(&format!("rolled trips-etl in prod back to {first} (deployment 1 again, recorded as 3)"))
    );
    let log = w.ok(&["deployments", "trips-etl.yaml", "--env", "prod", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&log.stdout).expect("json");
    let got: Vec<(&str, &str)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (r["action"].as_str().expect("action"), r["release"].as_str().expect("release")))
        .collect();
    assert_eq!(got, [("promote", first.as_str()), ("promote", second.as_str()), ("rollback", first.as_str())]);
}

#[test]
fn shadow_without_a_declaration_is_exit_2_before_anything_runs() {
    let w = Walk::new();
    let local = w.job_dir.path().join("trips-etl.local.yaml");
    let text = std::fs::read_to_string(&local).expect("overlay");
    let cut = text.find("    # What `sparkplane promote --shadow`").expect("the shadow block");
    std::fs::write(&local, &text[..cut]).expect("write");
    std::fs::write(w.job_dir.path().join("ci.json"), ci_report()).expect("report");
    w.ok(&["release", "keygen", "--out", "keys"]);
    let id = w.release(FIRST_COMMIT);
    let r = w.promote(&id, "dev", "prod", FIRST_COMMIT, true);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("trips-etl.yaml declares no shadow run (spec.delivery.shadow) for local"),
        "{}",
        r.stderr
    );
    assert_eq!(w.prod_deployments(), 0);
    assert!(!w.job_dir.path().join(".sparkplane/shadow").exists());
}

fn ci_report() -> String {
    serde_json::json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": "trips-etl", "jobFile": "trips-etl.yaml",
        "environments": ["dev"], "toolVersion": "0.1.0", "startedAt": "2026-11-23T15:00:00Z",
        "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": [],
    })
    .to_string()
}
