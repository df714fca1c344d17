//! Releases through the real binary on the example job: `release keygen`,
//! `release` (record, SBOM, signatures, the store's no-overwrite rule, the
//! policy gate), `verify` (a good release, and each kind of tampering with
//! its exact message and exit 1), `releases`, and the exact errors for bad
//! input (unknown environment, no commit, bad key).

use std::path::{Path, PathBuf};

use sparkplane_delivery::release_record::content_hash;
use sparkplane_delivery::sign::{PublicKey, sha256_digest};

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
    cmd.current_dir(dir)
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env_remove("SPARKPLANE_USER")
        .env("NO_COLOR", "1")
        // A temporary directory must not find a repository above it.
        .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir());
    let out = cmd.args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_in(&repo(), args)
}

const JOB: &str = "examples/trips-etl/trips-etl.yaml";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A key pair in `dir/keys`; (private, public) paths.
fn keys(dir: &Path) -> (String, String) {
    let out = dir.join("keys");
    let r = run(&["release", "keygen", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    (out.join("release.key").display().to_string(), out.join("release.pub").display().to_string())
}

/// Releases the example job for prod into `dir/releases`; the release directory.
fn release_prod(dir: &Path, key: Option<&str>, commit: &str) -> (Run, PathBuf) {
    let store = dir.join("releases").display().to_string();
    let mut args = vec!["release", JOB, "--env", "prod", "--commit", commit, "--by", "alice", "--out", &store];
    if let Some(key) = key {
        args.extend(["--key", key]);
    }
    let r = run(&args);
    let id = r.stdout.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or_default().to_owned();
    (r, dir.join("releases").join(id))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("json")
}

/// A passing CI report for `job`, in the shape `sparkplane ci --format json` writes.
fn ci_report(job: &str) -> String {
    serde_json::json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": job, "jobFile": JOB,
        "environments": ["prod"], "toolVersion": "0.1.0", "startedAt": "2026-11-23T15:00:00Z",
        "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": [],
    })
    .to_string()
}

#[test]
fn a_signed_release_records_what_was_released_and_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keys(dir.path());
    let report = dir.path().join("ci.json");
    std::fs::write(&report, ci_report("trips-etl")).expect("report");
    let store = dir.path().join("releases").display().to_string();
    let args = [
        "release",
        JOB,
        "--env",
        "prod",
        "--commit",
        COMMIT,
        "--key",
        &key,
        "--out",
        &store,
        "--ci-report",
        report.to_str().expect("utf-8"),
    ];
    let mut cmd = sparkplane_testkit::sparkplane();
    let out = cmd
        .current_dir(repo())
        .env("SPARKPLANE_USER", "release-bot")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("released trips-etl-prod-"), "{stdout}");
    let id = first.trim_start_matches("released ");
    let release = dir.path().join("releases").join(id);
    let names: Vec<String> = std::fs::read_dir(&release)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(names, ["release.json", "release.sig", "sbom.cdx.json", "sbom.sig"]);

    let record = json(&release.join("release.json"));
    assert_eq!(record["kind"], "Release");
    assert_eq!(record["id"], id);
    assert_eq!(record["environment"], "prod");
    assert_eq!(record["namespace"], "data-eng-prod");
    assert_eq!(record["contentHash"], content_hash(&record["spec"]));
    assert_eq!(id, format!("trips-etl-prod-{}", &record["contentHash"].as_str().expect("hash")[7..19]));
    assert_eq!(
        record["image"]["reference"],
        "registry.example.com/data-eng/trips-etl@sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b"
    );
    assert_eq!(record["source"]["commit"], COMMIT);
    assert_eq!(record["ci"]["outcome"], "pass");
    assert_eq!(record["ci"]["reportDigest"], sha256_digest(&std::fs::read(&report).expect("report")));
    assert_eq!(record["releasedBy"], "release-bot");
    let public_key = PublicKey::from_pem(&std::fs::read_to_string(&public).expect("pub")).expect("pem");
    assert_eq!(record["signedBy"], public_key.key_id());
    assert_eq!(record["spec"]["spec"]["executor"]["instances"], 4, "the prod overlay is resolved in");
    let sbom_bytes = std::fs::read(release.join("sbom.cdx.json")).expect("sbom");
    assert_eq!(record["sbom"]["digest"], sha256_digest(&sbom_bytes));
    let sbom = json(&release.join("sbom.cdx.json"));
    assert_eq!(sbom["specVersion"], "1.6");
    assert_eq!(sbom["metadata"]["timestamp"], record["releasedAt"]);
    assert_eq!(sbom["metadata"]["component"]["version"], id);

    let r = run(&["verify", release.to_str().expect("utf-8"), "--key", &public]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!("verified {id}: content hash, SBOM digest and both signatures match (key {})\n", public_key.key_id())
    );
}

#[test]
fn releasing_the_same_thing_twice_is_a_no_op_and_another_commit_under_the_id_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _) = keys(dir.path());
    let (first, release) = release_prod(dir.path(), Some(&key), COMMIT);
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let before = std::fs::read_to_string(release.join("release.json")).expect("record");
    let (again, _) = release_prod(dir.path(), Some(&key), COMMIT);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let id = release.file_name().expect("id").to_string_lossy().into_owned();
    assert!(
        again
            .stdout
            .starts_with(&format!("{id} was already released (same spec, commit and CI report); kept as it was\n")),
        "{}",
        again.stdout
    );
    let (other, _) = release_prod(dir.path(), Some(&key), "fedcba9876543210fedcba9876543210fedcba98");
    assert_eq!(other.code, Some(1));
    let record = json(&release.join("release.json"));
    assert_eq!(
        other.stderr,
        format!(
            "error: release {id} already exists with different content (released by alice at {}); records are never \
             overwritten: use the existing release, or change the spec to make a new one\n",
            record["releasedAt"].as_str().expect("at")
        )
    );
    assert_eq!(std::fs::read_to_string(release.join("release.json")).expect("record"), before);
}

/// Copies a release directory, changes one file with `edit`, and verifies the copy.
fn verify_tampered(release: &Path, public: &str, file: &str, edit: impl FnOnce(String) -> String) -> Run {
    let copy = release.parent().expect("store").join(format!("tampered-{file}"));
    std::fs::create_dir_all(&copy).expect("copy");
    for entry in std::fs::read_dir(release).expect("dir").flatten() {
        std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
    }
    let text = std::fs::read_to_string(copy.join(file)).expect("file");
    std::fs::write(copy.join(file), edit(text)).expect("write");
    run(&["verify", copy.to_str().expect("utf-8"), "--key", public])
}

#[test]
fn verify_names_each_kind_of_tampering_and_exits_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keys(dir.path());
    let (made, release) = release_prod(dir.path(), Some(&key), COMMIT);
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let record = json(&release.join("release.json"));
    let key_id = PublicKey::from_pem(&std::fs::read_to_string(&public).expect("pub")).expect("pem").key_id();
    let recorded = record["contentHash"].as_str().expect("hash").to_owned();
    let help = "  help: do not use this release; release the job again from its source\n";

    // The spec: more executors in prod after the release.
    let mut changed = record.clone();
    changed["spec"]["spec"]["executor"]["instances"] = serde_json::json!(40);
    let spec_hash = content_hash(&changed["spec"]);
    let r = verify_tampered(&release, &public, "release.json", |_| {
        format!("{}\n", serde_json::to_string_pretty(&changed).expect("json"))
    });
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "error: contentHash: content hash mismatch: spec was changed after release (recorded {recorded}, spec hashes to {spec_hash})\n{help}\
             error: release.sig: signature mismatch: release.sig does not verify release.json with key {key_id}: release.json was changed after it was signed, or another key signed it\n{help}\
             2 errors\n"
        )
    );

    // The SBOM: a component dropped.
    let sbom_recorded = record["sbom"]["digest"].as_str().expect("digest").to_owned();
    let mut file_digest = String::new();
    let r = verify_tampered(&release, &public, "sbom.cdx.json", |text| {
        let changed = text.replacen("\"framework\"", "\"library\"", 1);
        file_digest = sha256_digest(changed.as_bytes());
        changed
    });
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "error: sbom.digest: sbom digest mismatch: sbom.cdx.json was changed after release (recorded {sbom_recorded}, file is {file_digest})\n{help}\
             error: sbom.sig: signature mismatch: sbom.sig does not verify sbom.cdx.json with key {key_id}: sbom.cdx.json was changed after it was signed, or another key signed it\n{help}\
             2 errors\n"
        )
    );

    // Another field of the record: only the signature catches it.
    let r = verify_tampered(&release, &public, "release.json", |text| text.replace("\"alice\"", "\"mallory\""));
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "error: release.sig: signature mismatch: release.sig does not verify release.json with key {key_id}: release.json was changed after it was signed, or another key signed it\n{help}"
        )
    );

    // A signature file that is not a signature.
    let r = verify_tampered(&release, &public, "sbom.sig", |_| "not a signature\n".into());
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!("error: sbom.sig: sbom.sig: the signature is not base64 of a DER-encoded ECDSA signature\n{help}")
    );

    // The right files, the wrong key.
    let other = tempfile::tempdir().expect("tmp");
    let (_, other_public) = keys(other.path());
    let other_id = PublicKey::from_pem(&std::fs::read_to_string(&other_public).expect("pub")).expect("pem").key_id();
    let r = run(&["verify", release.to_str().expect("utf-8"), "--key", &other_public, "-o", "json"]);
    assert_eq!(r.code, Some(1));
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let fields: Vec<&str> =
        report["problems"].as_array().expect("list").iter().filter_map(|p| p["field"].as_str()).collect();
    assert_eq!(fields, ["signedBy", "release.sig", "sbom.sig"]);
    assert_eq!(report["problems"][0]["message"], format!("signed by key {key_id}, not by the key given ({other_id})"));
}

#[test]
fn an_unsigned_release_is_written_with_a_warning_and_refused_by_verify() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, public) = keys(dir.path());
    let (made, release) = release_prod(dir.path(), None, COMMIT);
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    assert_eq!(made.stderr, "warning: no --key: the release is not signed, and `sparkplane verify` will refuse it\n");
    assert!(!release.join("release.sig").exists());
    let r = run(&["verify", release.to_str().expect("utf-8"), "--key", &public]);
    assert_eq!(r.code, Some(1));
    let help = "  help: do not use this release; release the job again from its source\n";
    assert_eq!(
        r.stderr,
        format!(
            "error: release.sig: release.sig is missing: the release is not signed\n{help}\
             error: sbom.sig: sbom.sig is missing: the release is not signed\n{help}2 errors\n"
        )
    );
}

#[test]
fn an_unknown_environment_is_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("releases");
    let r = run(&[
        "release",
        JOB,
        "--env",
        "nope",
        "--commit",
        COMMIT,
        "--by",
        "a",
        "--out",
        store.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: spec.environment: there is no environment `nope`\n  help: use one of: dev, local, prod, staging — or add a \
         `nope` overlay next to the job or in the platform directory\n"
    );
    assert!(!store.exists());
}

#[test]
fn a_tag_only_image_in_prod_is_refused_by_the_policy_gate() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("releases");
    let r = run(&[
        "release",
        JOB,
        "--env",
        "prod",
        "--set",
        "spec.image.digest=null",
        "--commit",
        COMMIT,
        "--by",
        "a",
        "--out",
        store.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "error: spec.image.digest: image `registry.example.com/data-eng/trips-etl` is not pinned by digest in prod"
        ),
        "{}",
        r.stderr
    );
    assert!(!store.exists());
}

#[test]
fn the_commit_comes_from_git_and_its_absence_is_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let jobs = dir.path().join("trips-etl");
    std::fs::create_dir_all(&jobs).expect("dir");
    for name in ["trips-etl.yaml", "trips-etl.prod.yaml"] {
        std::fs::copy(repo().join("examples/trips-etl").join(name), jobs.join(name)).expect("copy");
    }
    let r = run_in(dir.path(), &["release", "trips-etl/trips-etl.yaml", "--env", "prod", "--by", "a"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --commit: no source commit: trips-etl/trips-etl.yaml is not in a git repository with a commit\n  \
               help: release from a git checkout, or pass --commit SHA\n"
    );
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .status()
            .expect("git runs")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "job"]);
    let head =
        std::process::Command::new("git").current_dir(dir.path()).args(["rev-parse", "HEAD"]).output().expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let r = run_in(dir.path(), &["release", "trips-etl/trips-etl.yaml", "--env", "prod", "--by", "a", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(report["commit"], head);
    let dir_of = report["dir"].as_str().expect("dir");
    assert!(dir_of.starts_with("trips-etl/releases/trips-etl-prod-"), "the default store is next to the job: {dir_of}");

    let listed = run_in(dir.path(), &["releases", "trips-etl/trips-etl.yaml"]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", listed.stdout);
    assert!(lines[0].starts_with("ENVIRONMENT  RELEASED"), "{}", listed.stdout);
    assert!(lines[1].starts_with("prod "), "{}", listed.stdout);
    assert!(lines[1].contains(&head[..12]), "{}", listed.stdout);
    let none = run_in(dir.path(), &["releases", "trips-etl/trips-etl.yaml", "--env", "dev"]);
    assert_eq!(none.stdout, "no releases of trips-etl in trips-etl/releases\n");
}

#[test]
fn bad_keys_and_reports_are_exit_2_and_keys_are_never_overwritten() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, public) = keys(dir.path());
    let again = run(&["release", "keygen", "--out", dir.path().join("keys").to_str().expect("utf-8")]);
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.starts_with("error: "), "{}", again.stderr);
    assert!(again.stderr.contains("release.key exists; keys are never overwritten"), "{}", again.stderr);
    let store = dir.path().join("releases").display().to_string();
    let r = run(&["release", JOB, "--env", "prod", "--commit", COMMIT, "--by", "a", "--out", &store, "--key", &public]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: --key: {public}: not an ECDSA P-256 private key in PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`); \
             an encrypted cosign key must be exported first, or make one with `sparkplane release keygen`\n  \
             help: make a key pair with `sparkplane release keygen --out DIR`\n"
        )
    );
    let report = dir.path().join("ci.json");
    let release_with_report = || {
        let report = report.to_str().expect("utf-8");
        let args = ["release", JOB, "--env", "prod", "--commit", COMMIT, "--by", "a", "--out", &store, "--key", &key];
        run(&[&args[..], &["--ci-report", report]].concat())
    };
    std::fs::write(&report, ci_report("orders")).expect("write");
    let r = release_with_report();
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: --ci-report: {}: the CI report is for job `orders`, not `trips-etl`\n  help: pass the file \
             `sparkplane ci --format json` wrote for this job\n",
            report.display()
        )
    );
    std::fs::write(&report, ci_report("trips-etl").replace("\"pass\"", "\"fail\"")).expect("write");
    let r = release_with_report();
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: --ci-report: {}: outcome is fail but its checks give pass; the report was edited after `sparkplane \
             ci` wrote it\n  help: pass the file `sparkplane ci --format json` wrote for this job\n",
            report.display()
        )
    );
    assert!(!Path::new(&store).exists());
}

#[test]
fn releases_lists_each_environment_and_diffs_two_releases_field_by_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("releases").display().to_string();
    let mut ids = Vec::new();
    for env in ["staging", "prod"] {
        let r = run(&["release", JOB, "--env", env, "--commit", COMMIT, "--by", "alice", "--out", &store, "-q"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let report =
            run(&["release", JOB, "--env", env, "--commit", COMMIT, "--by", "alice", "--out", &store, "-o", "json"]);
        let report: serde_json::Value = serde_json::from_str(&report.stdout).expect("json");
        assert_eq!(report["written"], false, "the second release is a no-op");
        ids.push(report["id"].as_str().expect("id").to_owned());
    }
    let listed = run(&["releases", "trips-etl", "--store", &store]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let envs: Vec<&str> = listed.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(envs, ["prod", "staging"]);
    let only = run(&["releases", "trips-etl", "--store", &store, "--env", "staging", "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&only.stdout).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    assert_eq!(rows[0]["id"], ids[0].as_str());
    assert_eq!(rows[0]["releasedBy"], "alice");
    assert_eq!(rows[0]["commit"], COMMIT);

    let diff = run(&["releases", "trips-etl", "--store", &store, "--diff", &ids[0], &ids[1]]);
    assert_eq!(diff.code, Some(0), "{}", diff.stderr);
    for line in ["~ metadata.namespace: \"data-eng\" -> \"data-eng-prod\"", "~ spec.executor.instances: 2 -> 4"] {
        assert!(diff.stdout.lines().any(|l| l == line), "{line} missing from\n{}", diff.stdout);
    }
    // Staging's overlay pins the image prod runs: the digest is not a difference.
    assert!(!diff.stdout.contains("spec.image.digest"), "{}", diff.stdout);
    let same = run(&["releases", "trips-etl", "--store", &store, "--diff", &ids[1], &ids[1]]);
    assert_eq!(same.stdout, format!("{0} and {0} have the same spec\n", ids[1]));
    let unknown = run(&["releases", "trips-etl", "--store", &store, "--diff", &ids[0], "trips-etl-prod-000000000000"]);
    assert_eq!(unknown.code, Some(2));
    assert_eq!(
        unknown.stderr,
        format!(
            "error: --diff: no release `trips-etl-prod-000000000000` in {store}\n  help: pass ids that `sparkplane releases \
             JOB` lists\n"
        )
    );
}

#[test]
fn a_new_release_sends_packaged_signed_and_published_cdevents_and_a_repeat_sends_none() {
    let receiver = sparkplane_testkit::CdEventsReceiver::start().expect("the CDEvents receiver starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let (private, _) = keys(dir.path());
    let store = dir.path().join("releases").display().to_string();
    let args = [
        "release",
        JOB,
        "--env",
        "prod",
        "--commit",
        COMMIT,
        "--by",
        "alice",
        "--out",
        &store,
        "--key",
        &private,
        "--cdevents-sink",
        &receiver.url,
    ];
    let r = run(&args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let id = r.stdout.lines().next().and_then(|l| l.split_whitespace().nth(1)).expect("the release id").to_owned();
    let got = receiver.received();
    let types: Vec<&str> = got.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "dev.cdevents.artifact.packaged.0.3.0",
            "dev.cdevents.artifact.signed.0.3.0",
            "dev.cdevents.artifact.published.0.3.0"
        ]
    );
    for event in &got {
        assert_eq!(event["errors"], serde_json::json!([]), "{event}");
        assert_eq!(event["subject"], format!("pkg:generic/trips-etl@{id}"));
    }
    assert_eq!(got[0]["data"]["subject"]["content"]["change"]["id"], COMMIT);
    let signature = std::fs::read_to_string(dir.path().join("releases").join(&id).join("release.sig")).expect("sig");
    assert_eq!(got[1]["data"]["subject"]["content"]["signature"], signature.trim());
    assert_eq!(got[2]["data"]["subject"]["content"]["user"], "alice");

    let again = run(&args);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(receiver.received().len(), 3, "releasing the same thing again publishes nothing new");
}
