//! `promote --shadow --shadow-in cluster` end to end: the real binary, the
//! real operator (a child process) on the simulated cluster
//! (`sparkplane-fakekube`), and a real S3 server (SeaweedFS) holding prod's
//! current output. The candidate runs as the SparkJob `trips-etl-shadow` in
//! prod's namespace with its output redirected into the bucket's shadow
//! prefix; both outputs are read from S3 by the data-quality engine and
//! compared.
//!
//! No Spark runs in the simulated cluster, so the test plays the shadow
//! driver's writes: when the shadow SparkJob appears it uploads a
//! Spark-written dataset (the data-quality fixtures) to the location the
//! SparkJob's arguments name, while the driver stand-in runs for five
//! seconds. Everything else is the product: the redirect, the SparkJob the
//! operator runs, waiting for its status, deleting it, the comparison and the
//! gate. Bad input: an output that is not in object storage is exit 2 before
//! anything is applied.

use crate::cluster_support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cluster_support::Run;
use serde_json::Value;
use sparkplane_fakekube::{Cluster, DriverRule, DriverRun, FakeApiServer};
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const DIGEST: &str = "sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-dq/tests/fixtures/spark-3.5/trips-daily")
}

/// Uploads the Spark-written fixture dataset to `url` (`s3a://lake/…`), only the partitions `keep` accepts.
fn upload(endpoint: &str, url: &str, keep: impl Fn(&str) -> bool) {
    let store = Store::open_with(
        &Location::parse(url).expect("url"),
        &[("aws_endpoint", endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)],
    )
    .expect("store");
    let mut stack = vec![(fixtures(), String::new())];
    while let Some((dir, key)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if key.is_empty() { name } else { format!("{key}/{name}") };
            if entry.path().is_dir() {
                if keep(&child) {
                    stack.push((entry.path(), child));
                }
            } else {
                store.put(&child, std::fs::read(entry.path()).expect("read")).expect("put");
            }
        }
    }
}

struct World {
    fake: FakeApiServer,
    s3: S3Server,
    dir: tempfile::TempDir,
}

/// The prod overlay's shadow declaration: prod's output in S3, read by a data-quality spec that points there.
const PROD_SHADOW: &str = "    delivery:
      shadow:
        outputs:
          - path: s3a://lake/curated/trips/
            dataQuality: trips-dq.prod.yaml
        bounds:
          rowCountChangePercent: 0
";

impl World {
    fn new() -> World {
        let s3 = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
        s3.create_bucket("lake").expect("bucket");
        upload(&s3.endpoint, "s3a://lake/curated/trips/", |_| true);
        let fake = FakeApiServer::start().expect("the fake API server starts");
        // The SparkJob CRD as the chart installs it: SparkJobs are pruned and validated against its schema.
        fake.insert(serde_json::to_value(sparkplane_api::crd::crd()).expect("the CRD serializes")).expect("CRD stored");
        // The shadow driver runs for five seconds: time for the test to write its output.
        fake.set_cluster(Cluster {
            drivers: vec![DriverRule {
                job: "trips-etl-shadow".into(),
                attempt: None,
                run: DriverRun::succeeds(Duration::from_secs(5), "shadow driver\n"),
            }],
            ..Cluster::default()
        });
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("default")).expect("kubeconfig");
        let example = repo().join("examples/trips-etl");
        for name in ["trips-etl.yaml", "trips-etl.staging.yaml", "trips-etl.local.yaml", "trips-dq.yaml"] {
            std::fs::copy(example.join(name), dir.path().join(name)).expect("copy");
        }
        let prod = std::fs::read_to_string(example.join("trips-etl.prod.yaml")).expect("prod overlay");
        std::fs::write(dir.path().join("trips-etl.prod.yaml"), format!("{prod}{PROD_SHADOW}")).expect("overlay");
        let dq = std::fs::read_to_string(example.join("trips-dq.yaml")).expect("dq spec");
        assert!(dq.contains("  path: data/curated/trips\n"));
        let dq = dq.replace("  path: data/curated/trips\n", "  path: s3a://lake/curated/trips/\n");
        std::fs::write(dir.path().join("trips-dq.prod.yaml"), dq).expect("dq spec");
        let ci = serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": "trips-etl",
            "jobFile": "trips-etl.yaml", "environments": ["staging"], "toolVersion": "0.1.0",
            "startedAt": "2026-11-23T15:00:00Z", "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": [],
        });
        std::fs::write(dir.path().join("ci.json"), ci.to_string()).expect("ci report");
        let world = World { fake, s3, dir };
        assert_eq!(world.run(&["release", "keygen", "--out", "keys"]).code, Some(0));
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `sparkplane` in the test's folder, with the S3 server's endpoint and keys as the only credentials.
    fn command(&self) -> Process {
        let mut cmd = cluster_support::command(self.dir.path(), &self.path("kubeconfig"));
        cmd.env("AWS_ENDPOINT_URL", &self.s3.endpoint)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1");
        for var in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT", "AWS_ALLOW_HTTP"] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        cluster_support::run(self.command(), args, Duration::from_secs(240))
    }

    /// A signed staging release with a passing CI report, and a green staging run of it on record.
    fn release_with_a_green_staging_run(&self) -> String {
        let digest = format!("spec.image.digest={DIGEST}");
        let r = self.run(&[
            "release",
            "trips-etl.yaml",
            "--env",
            "staging",
            "--commit",
            COMMIT,
            "--ci-report",
            "ci.json",
            "--key",
            "keys/release.key",
            "--set",
            &digest,
            "--out",
            "releases",
        ]);
        assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
        let id = r.stdout.lines().next().and_then(|l| l.split_whitespace().nth(1)).expect("the id").to_owned();
        let record: Value = serde_json::from_str(
            &std::fs::read_to_string(self.path("releases").join(&id).join("release.json")).expect("record"),
        )
        .expect("json");
        let hash = record["specHash"].as_str().expect("hash");
        let run = "trips-etl-20261124-090000-staging";
        let dir = self.path("home/runs").join(run);
        std::fs::create_dir_all(&dir).expect("run dir");
        let run = serde_json::json!({
            "runId": run, "job": "trips-etl", "jobFile": "trips-etl.yaml", "specHash": &hash[..8],
            "environment": "staging", "preset": "etl-small", "sparkVersion": "3.5.9", "master": "local[2]",
            "state": "succeeded", "startedMs": 1_795_280_400_000_u64, "endedMs": 1_795_280_460_000_u64, "pid": null,
            "exitCode": 0, "failure": null, "appId": "local-1795280401000", "uiUrl": null, "driverLog": "driver.log",
            "eventLog": null, "summary": null, "qualityGates": "passed",
        });
        std::fs::write(dir.join("run.json"), run.to_string()).expect("run record");
        id
    }

    fn promote(&self, id: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "promote",
            "trips-etl.yaml",
            "--release",
            id,
            "--from",
            "staging",
            "--to",
            "prod",
            "--commit",
            COMMIT,
            "--store",
            "releases",
            "--trusted-key",
            "keys/release.pub",
            "--approvals-dir",
            "approvals",
            "--shadow",
        ];
        args.extend(extra);
        self.run(&args)
    }
}

/// The operator watching prod's namespace.
fn operator(w: &World) -> sparkplane_testkit::StopOnDrop {
    cluster_support::operator(w.command(), "data-eng-prod", &[])
}

/// Runs `promote` while playing the shadow driver's writes: when the shadow SparkJob appears, uploads the
/// fixture dataset (without the partitions `drop` names) to the output location its arguments name. The
/// promote's result and the shadow SparkJob as it was applied.
fn promote_writing(w: &World, id: &str, drop: &'static [&'static str]) -> (Run, Value) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                let job =
                    w.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng-prod"), "trips-etl-shadow");
                if let Some(job) = job {
                    let args: Vec<&str> = job["spec"]["arguments"]
                        .as_array()
                        .expect("arguments")
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    let output =
                        args.iter().position(|a| *a == "--output").and_then(|i| args.get(i + 1)).expect("--output");
                    upload(&w.s3.endpoint, output, |key| !drop.contains(&key));
                    return Some(job);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        });
        let r = w.promote(id, &["--shadow-in", "cluster"]);
        stop.store(true, Ordering::SeqCst);
        let job =
            writer.join().expect("the writer").unwrap_or_else(|| panic!("no shadow SparkJob appeared\n{}", r.stderr));
        (r, job)
    })
}

#[test]
fn a_shadow_run_in_the_cluster_refuses_a_candidate_that_differs_and_promotes_one_that_matches() {
    let w = World::new();
    let _operator = operator(&w);
    let id = w.release_with_a_green_staging_run();
    let shadow_root = format!("s3a://lake/.sparkplane/shadow/{id}");

    // The candidate writes one partition fewer than prod's current output: refused by the shadow gate.
    let (r, job) = promote_writing(&w, &id, &["pickup_date=2026-11-09"]);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "shadow run: SparkJob data-eng-prod/trips-etl-shadow applied; outputs under {shadow_root}\n"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("shadow run: Succeeded\n"), "{}", r.stderr);
    assert!(r.stderr.contains("error: shadow: "), "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "  shadow: `trips-daily` rows: 152 rows, the current output has 160 (5% change, at most 0%) (BEYOND BOUNDS)\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        !w.path("releases/deployments").exists()
            || std::fs::read_dir(w.path("releases/deployments")).map(|d| d.count()).unwrap_or(0) == 0
    );

    // The SparkJob the operator ran: prod's job under another name, its output redirected, its input not,
    // run once, without quality gates (they would read the real output), labelled with the release.
    assert_eq!(job["metadata"]["labels"]["sparkplane.dev/shadow-of"], "trips-etl");
    assert_eq!(job["metadata"]["labels"]["sparkplane.dev/release"], id.as_str());
    let args: Vec<&str> = job["spec"]["arguments"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
    let candidate = format!("{shadow_root}/trips-daily");
    assert_eq!(args, ["--input", "s3a://lake/raw/trips/", "--output", candidate.as_str()]);
    assert!(job["spec"]["schedule"].is_null(), "{job:#}");
    assert!(job["spec"].get("qualityGates").is_none_or(|g| g.as_array().is_some_and(Vec::is_empty)), "{job:#}");
    assert_eq!(job["spec"]["executor"]["instances"], 4, "resolved for prod");
    // Deleted once it ended; the outputs stay for inspection.
    assert!(w.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng-prod"), "trips-etl-shadow").is_none());

    // Again, the candidate writes all of it: the earlier shadow output is cleared first, and the release goes.
    let (r, _) = promote_writing(&w, &id, &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("  gates passed: ci, source-run, policy, signature, provenance, shadow\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("  shadow: `trips-daily` is the same as the current output\n"), "{}", r.stdout);
}

#[test]
fn a_cluster_shadow_of_an_output_not_in_object_storage_is_exit_2_before_anything_is_applied() {
    let w = World::new();
    let id = w.release_with_a_green_staging_run();
    // The local environment declares its output as a folder: a cluster job cannot write there.
    let r = w.promote(&id, &["--shadow-in", "cluster", "--shadow-env", "local"]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr,
        "error: spec.delivery.shadow.outputs[0].path: a shadow run in the cluster writes beside its outputs in \
         object storage, but the job resolved for local declares the output `data/curated/trips`\n  help: declare \
         the outputs as the job names them in local (s3a://, gs:// or abfss:// URLs, in the environment's \
         overlay), or make the shadow run on this machine (--shadow-in local)\n"
    );
    assert!(w.fake.objects().iter().all(|o| o["kind"] != "SparkJob"), "nothing applied");
}

#[test]
fn a_job_name_too_long_for_its_shadow_sparkjob_is_exit_2_before_anything_is_applied() {
    let w = World::new();
    // 32 characters: with `-shadow`, 39, one more than a SparkJob's name may have.
    let long = "trips-etl-with-a-long-name-abcde";
    assert_eq!(long.len(), 32);
    let job = std::fs::read_to_string(w.path("trips-etl.yaml")).expect("job");
    std::fs::write(w.path("trips-etl.yaml"), job.replacen("name: trips-etl\n", &format!("name: {long}\n"), 1))
        .expect("job");
    let ci = std::fs::read_to_string(w.path("ci.json")).expect("ci report");
    std::fs::write(w.path("ci.json"), ci.replace("\"job\":\"trips-etl\"", &format!("\"job\":\"{long}\""))).expect("ci");
    let id = w.release_with_a_green_staging_run();
    assert!(id.starts_with(long), "{id}");
    let r = w.promote(&id, &["--shadow-in", "cluster"]);
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: metadata.name: the shadow SparkJob `{long}-shadow` would be longer than the 38 characters a job \
             name may have\n  help: shorten the job's name to at most 31 characters, or make the shadow run on \
             this machine (--shadow-in local)\n"
        )
    );
    assert!(w.fake.objects().iter().all(|o| o["kind"] != "SparkJob"), "nothing applied");
}
