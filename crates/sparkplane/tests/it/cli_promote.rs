//! Promotion and rollback through the real binary on the example job: a signed
//! staging release promoted to prod (deployment record, manifests equal to
//! `render`'s, service.deployed), another promoted over it (service.upgraded),
//! a rollback (the first manifests again, service.rolledback) and the log;
//! every gate refusing at once; a tampered release refused; nothing to roll
//! back; and the exact errors for bad input with nothing written. The last
//! run in the source environment is a run record written into a temporary
//! SPARKPLANE_HOME, as `sparkplane run` writes it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sparkplane_delivery::sign::PublicKey;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

const JOB: &str = "examples/trips-etl/trips-etl.yaml";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const DIGEST: &str = "sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";

/// A promotion's world: a temporary release store, key pair, run history and GitOps directory.
struct World {
    dir: tempfile::TempDir,
    public: String,
    private: String,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tmp");
        let keys = dir.path().join("keys");
        let world = World { public: String::new(), private: String::new(), dir };
        let r = world.run(&["release", "keygen", "--out", keys.to_str().expect("utf-8")]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        World {
            public: keys.join("release.pub").display().to_string(),
            private: keys.join("release.key").display().to_string(),
            ..world
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn store(&self) -> String {
        self.path("releases")
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = sparkplane_testkit::sparkplane();
        cmd.current_dir(repo())
            .env_remove("SPARKPLANE_PLATFORM_DIR")
            .env_remove("SPARKPLANE_CDEVENTS_SINK")
            .env("SPARKPLANE_USER", "alice")
            .env("SPARKPLANE_HOME", self.dir.path().join("home"))
            .env("NO_COLOR", "1")
            .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir());
        let out = cmd.args(args).output().expect("runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Releases the job for staging with its image pinned, a passing CI report, signed; extra `--set`s make
    /// another release. The release id.
    fn release_staging(&self, sets: &[&str], signed: bool) -> String {
        self.release_staging_of(JOB, sets, signed)
    }

    /// `release_staging` of another job file.
    fn release_staging_of(&self, job: &str, sets: &[&str], signed: bool) -> String {
        let report = self.dir.path().join("ci.json");
        std::fs::write(&report, ci_report()).expect("report");
        let store = self.store();
        let digest = format!("spec.image.digest={DIGEST}");
        let mut args = vec!["release", job, "--env", "staging", "--commit", COMMIT, "--out", &store, "--set", &digest];
        let report = report.display().to_string();
        args.extend(["--ci-report", &report]);
        if signed {
            args.extend(["--key", &self.private]);
        }
        for set in sets {
            args.extend(["--set", set]);
        }
        let r = self.run(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stdout.lines().next().and_then(|l| l.split_whitespace().nth(1)).expect("the release id").to_owned()
    }

    fn record(&self, id: &str) -> serde_json::Value {
        json(&self.dir.path().join("releases").join(id).join("release.json"))
    }

    /// A run of the job in `env` as `sparkplane run` records it, with its quality gates' outcome.
    fn ran(&self, env: &str, spec_hash: &str, state: &str, gates: Option<&str>) {
        let id = format!("trips-etl-20261123-170000-{env}");
        let dir = self.dir.path().join("home/runs").join(&id);
        std::fs::create_dir_all(&dir).expect("run dir");
        let mut record = serde_json::json!({
            "runId": id, "job": "trips-etl", "jobFile": JOB, "specHash": &spec_hash[..8], "environment": env,
            "preset": "etl-small", "sparkVersion": "3.5.9", "master": "local[2]", "state": state,
            "startedMs": 1_795_280_400_000_u64, "endedMs": 1_795_280_460_000_u64, "pid": null, "exitCode": 0,
            "failure": null, "appId": "local-1795280401000", "uiUrl": null, "driverLog": "driver.log",
            "eventLog": null, "summary": null,
        });
        if let Some(gates) = gates {
            record["qualityGates"] = serde_json::json!(gates);
        }
        std::fs::write(dir.join("run.json"), serde_json::to_string_pretty(&record).expect("json")).expect("record");
    }

    fn promote(&self, id: &str, extra: &[&str]) -> Run {
        self.promote_job(JOB, id, COMMIT, extra)
    }

    /// `promote` with the job file at `commit`.
    fn promote_at(&self, id: &str, commit: &str, extra: &[&str]) -> Run {
        self.promote_job(JOB, id, commit, extra)
    }

    /// `promote` of `job` (a file) at `commit`.
    fn promote_job(&self, job: &str, id: &str, commit: &str, extra: &[&str]) -> Run {
        let store = self.store();
        let approvals = self.path("approvals");
        let mut args = vec![
            "promote",
            job,
            "--release",
            id,
            "--to",
            "prod",
            "--commit",
            commit,
            "--store",
            &store,
            "--trusted-key",
            &self.public,
            "--approvals-dir",
            &approvals,
        ];
        args.extend(extra);
        self.run(&args)
    }

    /// The example job copied with more executor memory: the next commit's job file.
    fn edited_job(&self) -> String {
        let dir = self.dir.path().join("edited");
        std::fs::create_dir_all(&dir).expect("dir");
        for name in ["trips-etl.yaml", "trips-etl.prod.yaml", "trips-dq.yaml"] {
            std::fs::copy(repo().join("examples/trips-etl").join(name), dir.join(name)).expect("copy");
        }
        let job = dir.join("trips-etl.yaml");
        let text = std::fs::read_to_string(&job).expect("job").replace("memory: 6g", "memory: 8g");
        std::fs::write(&job, text).expect("edit");
        job.display().to_string()
    }

    fn deployments_dir(&self) -> PathBuf {
        self.dir.path().join("releases/deployments/trips-etl/prod")
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json")
}

fn ci_report() -> String {
    serde_json::json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": "trips-etl", "jobFile": JOB,
        "environments": ["staging"], "toolVersion": "0.1.0", "startedAt": "2026-11-23T15:00:00Z",
        "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": [],
    })
    .to_string()
}

/// Every file under `dir`, by name, with its text.
fn files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read_to_string(e.path()).expect("text")))
        .collect()
}

#[test]
fn a_release_goes_staging_to_prod_is_upgraded_and_rolled_back_with_cdevents() {
    let receiver = sparkplane_testkit::CdEventsReceiver::start().expect("the CDEvents receiver starts");
    let w = World::new();
    let first = w.release_staging(&[], true);
    let spec_hash = w.record(&first)["specHash"].as_str().expect("hash").to_owned();
    w.ran("staging", &spec_hash, "succeeded", Some("passed"));
    let gitops = w.path("gitops");

    let r = w.promote(&first, &["--out-dir", &gitops, "--cdevents-sink", &receiver.url]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let one = w.deployments_dir().join("000001");
    assert_eq!(
        r.stdout.lines().take(3).collect::<Vec<_>>(),
        [
            format!("promoted {first} from staging to prod (deployment 1, the first there)"),
            "  gates passed: ci, source-run, policy, signature, provenance".to_owned(),
            format!("  manifests in {}", one.join("manifests").display()),
        ]
    );
    let record = json(&one.join("deployment.json"));
    let release = w.record(&first);
    assert_eq!(record["kind"], "Deployment");
    assert_eq!(record["sequence"], 1);
    assert_eq!(record["action"], "promote");
    assert_eq!(record["release"], first.as_str());
    assert_eq!(record["environment"], "prod");
    assert_eq!(record["from"], "staging");
    assert_eq!(record["namespace"], "data-eng-prod");
    assert_eq!(record["commit"], COMMIT);
    assert_eq!(record["image"], release["image"]["reference"]);
    assert_eq!(record["sbomDigest"], release["sbom"]["digest"]);
    assert_eq!(record["contentHash"], release["contentHash"]);
    assert_eq!(record["deployedBy"], "alice");
    assert_eq!(record["spec"]["spec"]["executor"]["instances"], 4, "resolved for prod");

    // The manifests are `render`'s, for prod, byte for byte.
    let rendered = w.path("rendered");
    let r = w.run(&["render", JOB, "--env", "prod", "--out-dir", &rendered]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let expected = files(Path::new(&rendered));
    assert!(!expected.is_empty());
    assert_eq!(files(&one.join("manifests")), expected);
    assert_eq!(files(Path::new(&gitops)), expected);

    // The same release again: nothing written, nothing sent.
    let again = w.promote(&first, &["--cdevents-sink", &receiver.url]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(again.stdout, format!("prod already runs {first} (deployment 1); nothing written\n"));

    // Another release over it is an upgrade.
    let edited = w.edited_job();
    let second = w.release_staging_of(&edited, &[], true);
    assert_ne!(first, second);
    let r = w.promote_job(&edited, &second, COMMIT, &["--cdevents-sink", &receiver.url]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {second} from staging to prod (deployment 2)\n")), "{}", r.stdout);

    assert_ne!(files(&w.deployments_dir().join("000002/manifests")), expected, "the upgrade changed what runs");

    // Rollback: the first release's manifests again, recorded as deployment 3.
    let r = w.run(&["rollback", JOB, "--env", "prod", "--store", &w.store(), "--cdevents-sink", &receiver.url]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let three = w.deployments_dir().join("000003");
    assert_eq!(
        r.stdout,
        format!(
            "rolled trips-etl in prod back to {first} (deployment 1 again, recorded as 3)\n  manifests in {}\n",
            three.join("manifests").display()
        )
    );
    assert_eq!(files(&three.join("manifests")), expected);
    let record = json(&three.join("deployment.json"));
    assert_eq!((record["action"].as_str(), record["rollbackOf"].as_u64()), (Some("rollback"), Some(1)));

    let log = w.run(&["deployments", JOB, "--env", "prod", "--store", &w.store(), "-o", "json"]);
    assert_eq!(log.code, Some(0), "{}", log.stderr);
    let rows: serde_json::Value = serde_json::from_str(&log.stdout).expect("json");
    let summary: Vec<(u64, &str, &str, bool)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["sequence"].as_u64().expect("seq"),
                r["action"].as_str().expect("action"),
                r["release"].as_str().expect("release"),
                r["current"].as_bool().expect("current"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "promote", first.as_str(), false),
            (2, "promote", second.as_str(), false),
            (3, "rollback", first.as_str(), true)
        ]
    );

    let got = receiver.received();
    let types: Vec<&str> = got.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "dev.cdevents.service.deployed.0.3.0",
            "dev.cdevents.service.upgraded.0.3.0",
            "dev.cdevents.service.rolledback.0.3.0"
        ]
    );
    for (event, id) in got.iter().zip([&first, &second, &first]) {
        assert_eq!(event["errors"], serde_json::json!([]), "valid against the CDEvents schema: {event}");
        assert_eq!(event["subject"], "trips-etl");
        assert_eq!(event["data"]["subject"]["content"]["environment"]["id"], "prod");
        assert_eq!(event["data"]["subject"]["content"]["artifactId"], format!("pkg:generic/trips-etl@{id}"));
    }
}

#[test]
fn every_failing_gate_is_reported_at_once_and_nothing_is_written() {
    let receiver = sparkplane_testkit::CdEventsReceiver::start().expect("the CDEvents receiver starts");
    let w = World::new();
    // Unsigned, no CI report, tag-only image: made by hand-picked flags rather than release_staging, for dev
    // (staging's overlay pins the image) and promoted from staging.
    let store = w.store();
    let r = w.run(&["release", JOB, "--env", "dev", "--commit", COMMIT, "--out", &store]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let id = r.stdout.lines().next().and_then(|l| l.split_whitespace().nth(1)).expect("id").to_owned();
    let spec_hash = w.record(&id)["specHash"].as_str().expect("hash").to_owned();
    w.ran("staging", &spec_hash, "succeeded", Some("failed"));
    let platform = repo().join("examples/platform").display().to_string();
    let r = w.promote_at(
        &id,
        "fedcba9876543210",
        &["--from", "staging", "--platform-dir", &platform, "--cdevents-sink", &receiver.url],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let image = "registry.example.com/data-eng/trips-etl:1.4.2";
    // The approval names the prod spec's hash; everything else is exact.
    let marker = "needs 1 approval of spec ";
    let at = r.stderr.find(marker).expect("the approval gate") + marker.len();
    let stderr = format!("{}<hash>{}", &r.stderr[..at], &r.stderr[at + 8..]);
    assert_eq!(
        stderr,
        format!(
            "error: ci: release {id} has no CI result (it was released without --ci-report)\n\
             \x20 help: run `sparkplane ci {JOB} --report ci.json` until it passes, then release again with --ci-report ci.json\n\
             error: source-run: the last run in staging, trips-etl-20261123-170000-staging, failed its quality gates\n\
             \x20 help: run the job in staging until it and its quality gates pass (`sparkplane run {JOB} --env staging`)\n\
             error: policy: policy `approval-required` denies it in prod: deploying to `prod` needs 1 approval of spec \
             <hash>; none was found\n\
             \x20 help: run `sparkplane approve JOB --env ENV --by NAME` for the spec you deploy (its hash is in the \
             message) and deploy that spec unchanged\n\
             error: signature: release {id} is not signed\n\
             \x20 help: release the job again with --key, with a key trusted for the target\n\
             error: provenance: the job file is at commit fedcba987654, the release was made from 0123456789ab\n\
             \x20 help: promote from a checkout of {COMMIT} (or pass --commit with the commit the job file is at)\n\
             error: provenance: release {id} names its image by tag only ({image}), so what runs can change under it\n\
             \x20 help: pin spec.image.digest (in the job or its source overlay) and release again\n\
             6 errors\n"
        )
    );
    assert!(!w.deployments_dir().exists(), "a refused promotion writes no deployment");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["type"], "dev.cdevents.incident.detected.0.3.0");
    assert_eq!(got[0]["errors"], serde_json::json!([]), "{}", got[0]);

    let json_out = w.promote_at(&id, "fedcba9876543210", &["--platform-dir", &platform, "-o", "json"]);
    assert_eq!(json_out.code, Some(1));
    let report: serde_json::Value = serde_json::from_str(&json_out.stdout).expect("json report");
    assert_eq!(report["promoted"], false);
    assert_eq!(report["passed"], serde_json::json!([]));
}

#[test]
fn a_tampered_release_is_refused_by_its_signature() {
    let w = World::new();
    let id = w.release_staging(&[], true);
    let record_path = w.dir.path().join("releases").join(&id).join("release.json");
    let mut record = json(&record_path);
    let spec_hash = record["specHash"].as_str().expect("hash").to_owned();
    w.ran("staging", &spec_hash, "succeeded", Some("passed"));
    record["spec"]["spec"]["executor"]["instances"] = serde_json::json!(40);
    std::fs::write(&record_path, format!("{}\n", serde_json::to_string_pretty(&record).expect("json"))).expect("edit");
    let key_id = PublicKey::from_pem(&std::fs::read_to_string(&w.public).expect("pub")).expect("pem").key_id();
    let r = w.promote(&id, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let first = r.stderr.lines().next().expect("a line");
    assert!(
        first.starts_with(&format!(
            "error: signature: release {id} does not verify: contentHash: content hash mismatch: spec was changed after release"
        )),
        "{}",
        r.stderr
    );
    assert!(
        first.ends_with(&format!(
            "; release.sig: signature mismatch: release.sig does not verify release.json with key {key_id}: release.json \
             was changed after it was signed, or another key signed it"
        )),
        "{first}"
    );
    // The edited spec is also not what the job file resolves to: the provenance gate says so too.
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 2, "{}", r.stderr);
    assert!(
        errors[1].starts_with(&format!(
            "error: provenance: release {id} is not the job file resolved for staging (it differs at \
             spec.executor.instances)"
        )),
        "{}",
        r.stderr
    );
    assert!(!w.deployments_dir().exists());

    // A release made with --set holds what the job file does not: promoting would drop it.
    let set = w.release_staging(&["spec.executor.memory=8g"], true);
    w.ran("staging", w.record(&set)["specHash"].as_str().expect("hash"), "succeeded", Some("passed"));
    let r = w.promote(&set, &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: provenance: release {set} is not the job file resolved for staging (it differs at \
             spec.executor.memory): it was made with --set or from other files, and prod would get the job file's spec \
             instead\n  help: make the change in the job file or its overlays, commit it, and release again\n"
        )
    );

    // A key nobody listed is not trusted either.
    let other = World::new();
    let clean = other.release_staging(&[], true);
    other.ran("staging", &spec_hash, "succeeded", Some("passed"));
    let r = other.run(&[
        "promote",
        JOB,
        "--release",
        &clean,
        "--to",
        "prod",
        "--commit",
        COMMIT,
        "--store",
        &other.store(),
        "--trusted-key",
        &w.public,
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let signer = PublicKey::from_pem(&std::fs::read_to_string(&other.public).expect("pub")).expect("pem").key_id();
    assert!(
        r.stderr.starts_with(&format!(
            "error: signature: release {clean} is signed by key {signer}, which is not trusted for prod\n"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_shadow_run_is_not_the_source_environments_last_run() {
    let w = World::new();
    let id = w.release_staging(&[], true);
    let spec_hash = w.record(&id)["specHash"].as_str().expect("hash").to_owned();
    w.ran("staging", &spec_hash, "succeeded", Some("passed"));
    // Later, an earlier promotion's shadow run in the same environment: outputs redirected, no quality gates.
    let shadow = "trips-etl-20261123-180000-5had";
    let dir = w.dir.path().join("home/runs").join(shadow);
    std::fs::create_dir_all(&dir).expect("run dir");
    let record = serde_json::json!({
        "runId": shadow, "job": "trips-etl", "jobFile": JOB, "specHash": "0badc0de", "environment": "staging",
        "preset": "etl-small", "sparkVersion": "3.5.9", "master": "local[2]", "state": "succeeded",
        "startedMs": 1_795_284_000_000_u64, "endedMs": 1_795_284_060_000_u64, "pid": null, "exitCode": 0,
        "failure": null, "appId": "local-1795284001000", "uiUrl": null, "driverLog": "driver.log",
        "eventLog": null, "summary": null, "shadowOf": "trips-etl-staging-000000000000",
    });
    std::fs::write(dir.join("run.json"), record.to_string()).expect("record");
    let r = w.promote(&id, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {id} from staging to prod (deployment 1, the first there)\n")));
}

#[test]
fn rollback_refuses_when_there_is_nothing_to_go_back_to() {
    let w = World::new();
    let store = w.store();
    let r = w.run(&["rollback", JOB, "--env", "prod", "--store", &store]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        "error: nothing to roll back: trips-etl has no deployments in prod\n  help: promote a release to prod first \
         (`sparkplane promote`)\n"
    );
    let id = w.release_staging(&[], true);
    let spec_hash = w.record(&id)["specHash"].as_str().expect("hash").to_owned();
    w.ran("staging", &spec_hash, "succeeded", Some("passed"));
    assert_eq!(w.promote(&id, &[]).code, Some(0));
    let r = w.run(&["rollback", JOB, "--env", "prod", "--store", &store]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "error: nothing to roll back to: trips-etl has only ever run release {id} in prod (1 deployment)\n  help: \
             promote a release to prod first (`sparkplane promote`)\n"
        )
    );
    let r = w.run(&["rollback", JOB, "--env", "prod", "--store", &store, "--to", "trips-etl-staging-000000000000"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: --to: release trips-etl-staging-000000000000 was never deployed to prod\n  help: pass a release \
             `sparkplane deployments {JOB} --env prod` lists\n"
        )
    );
    let entries = std::fs::read_dir(w.deployments_dir()).expect("log").count();
    assert_eq!(entries, 1, "refused rollbacks write nothing");
}

#[test]
fn bad_input_exits_2_with_the_exact_message_and_writes_nothing() {
    let w = World::new();
    let store = w.store();
    let r = w.promote("trips-etl-staging-000000000000", &[]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: --release: no release `trips-etl-staging-000000000000` in {store}\n  help: pass an id that \
             `sparkplane releases JOB` lists (or --store for another release store)\n"
        )
    );
    let id = w.release_staging(&[], true);
    let r = w.run(&[
        "promote",
        JOB,
        "--release",
        &id,
        "--to",
        "nowhere",
        "--commit",
        COMMIT,
        "--store",
        &store,
        "--trusted-key",
        &w.public,
    ]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: spec.environment: there is no environment `nowhere`\n  help: use one of: dev, local, prod, staging — or \
         add a `nowhere` overlay next to the job or in the platform directory\n"
    );
    let r = w.run(&["promote", JOB, "--release", &id, "--to", "staging", "--commit", COMMIT, "--store", &store]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --to: the release would be promoted from staging to itself\n  help: pass --to another environment (and \
         --from the one it comes from)\n"
    );
    let r = w.run(&["rollback", JOB, "--env", "nowhere", "--store", &store]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --env: there is no environment `nowhere`\n  help: use one of: dev, local, prod, staging — or add a \
         `nowhere` overlay next to the job or in the platform directory\n"
    );
    // A near miss names the environment meant.
    let r = w.run(&["rollback", JOB, "--env", "prd", "--store", &store]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --env: there is no environment `prd`\n  help: did you mean `prod`? (known: dev, local, prod, staging)\n"
    );
    let r = w.run(&["deployments", JOB, "--env", "nowhere", "--store", &store]);
    assert_eq!(r.code, Some(2));
    assert!(!w.dir.path().join("releases/deployments").exists(), "nothing written");
}

#[test]
fn a_prod_that_requires_an_approval_takes_the_release_once_approved() {
    let w = World::new();
    let id = w.release_staging(&[], true);
    let spec_hash = w.record(&id)["specHash"].as_str().expect("hash").to_owned();
    w.ran("staging", &spec_hash, "succeeded", Some("passed"));
    let platform = repo().join("examples/platform").display().to_string();
    let refused = w.promote(&id, &["--platform-dir", &platform]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    let gates: Vec<&str> = refused.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(gates.len(), 1, "only the approval is missing: {}", refused.stderr);
    assert!(gates[0].starts_with("error: policy: policy `approval-required` denies it in prod: "), "{}", gates[0]);

    let approvals = w.path("approvals");
    let approve =
        ["approve", JOB, "--env", "prod", "--by", "bob", "--approvals-dir", &approvals, "--platform-dir", &platform];
    let r = w.run(&approve);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = w.promote(&id, &["--platform-dir", &platform]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with(&format!("promoted {id} from staging to prod (deployment 1, the first there)\n")));

    // Another source environment must have its own green run.
    let r = w.promote(&id, &["--platform-dir", &platform, "--from", "dev"]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "error: source-run: trips-etl has no recorded run in dev\n  help: run the job in dev until it and its \
             quality gates pass (`sparkplane run {JOB} --env dev`); where dev is out of reach, `--from local` vouches \
             with the job's last run on this machine (`sparkplane run {JOB}`)\n"
        )
    );
    let r = w.promote(&id, &["--from", "nowhere"]);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.starts_with("error: spec.environment: there is no environment `nowhere`\n"), "{}", r.stderr);
    let table = w.run(&["deployments", JOB, "--env", "prod", "--store", &w.store()]);
    assert_eq!(table.code, Some(0));
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", table.stdout);
    assert!(lines[0].starts_with("SEQ") && lines[1].starts_with("1*"), "{}", table.stdout);
    assert!(lines[1].contains(&id) && lines[1].contains("promote") && lines[1].contains("staging"), "{}", table.stdout);
}
