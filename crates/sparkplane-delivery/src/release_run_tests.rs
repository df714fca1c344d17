//! The release workflow over a fake host: the order of its steps, the
//! warnings, where the release is stored and the CDEvents it picks.

use std::collections::BTreeMap;

use serde_json::json;
use sparkplane_api::SparkJob;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;

use super::*;

fn resolved(env: &str) -> ResolvedJob {
    let spec = json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "SparkJob",
        "metadata": {"name": "etl", "namespace": "data"},
        "spec": {
            "type": "Python",
            "mainApplicationFile": "local:///app/main.py",
            "image": {"repository": "r/etl", "tag": "1.0", "digest": "sha256:78c9e2a1"},
        },
    });
    let job: SparkJob = serde_json::from_value(spec.clone()).expect("a SparkJob");
    let span =
        Span { source: Source::new("test", String::new()), start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
    ResolvedJob {
        job,
        tree: Node::from_json(&spec, &span),
        provenance: BTreeMap::new(),
        environment: Some(env.into()),
        preset: None,
        warnings: sparkplane_documents::Diagnostics::new(),
        attempt: 1,
        platform_namespace: None,
    }
}

/// A CI report of `job` whose one check ended `outcome` (the report's outcome follows from its checks).
fn ci_report(job: &str, outcome: &str) -> Vec<u8> {
    let check = json!({"name": "validate", "outcome": outcome, "durationMs": 1, "diagnostics": [
        {"severity": "error", "code": "bad-value", "message": "m"},
    ]});
    let checks = if outcome == "pass" { Vec::new() } else { vec![check] };
    json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": job, "jobFile": "etl.yaml",
        "environments": ["prod"], "toolVersion": "0.1.0", "startedAt": "2026-11-23T15:00:00Z",
        "finishedAt": "2026-11-23T15:01:00Z", "outcome": outcome, "checks": checks,
    })
    .to_string()
    .into_bytes()
}

/// A host answering from fields, recording every call.
struct Fake {
    key: Option<PrivateKey>,
    ci: Option<Vec<u8>>,
    outcome: PutOutcome,
    dir: Option<String>,
    calls: Vec<String>,
    notes: Vec<String>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            key: Some(PrivateKey::generate()),
            ci: None,
            outcome: PutOutcome::Created,
            dir: Some("releases/etl-prod-0123456789ab".into()),
            calls: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl ReleaseHost for Fake {
    type Error = Diagnostic;

    fn released_by(&mut self) -> Result<String, Diagnostic> {
        self.calls.push("by".into());
        Ok("alice".into())
    }
    fn render(&mut self, env: &str) -> Result<(ResolvedJob, Vec<RenderedObject>), Diagnostic> {
        self.calls.push(format!("render {env}"));
        Ok((resolved(env), Vec::new()))
    }
    fn policy_gate(&mut self, job: &ResolvedJob, _: &[RenderedObject]) -> Result<(), Diagnostic> {
        self.calls.push(format!("policy {}", job.name()));
        Ok(())
    }
    fn commit(&mut self) -> Result<String, Diagnostic> {
        self.calls.push("commit".into());
        Ok("c0ffee00".into())
    }
    fn ci_report(&mut self) -> Result<Option<CiReportFile>, Diagnostic> {
        self.calls.push("ci report".into());
        Ok(self.ci.clone().map(|bytes| CiReportFile { path: "ci.json".into(), bytes }))
    }
    fn requirements(&mut self) -> Result<(Vec<Requirement>, Option<String>), Diagnostic> {
        self.calls.push("requirements".into());
        Ok((Vec::new(), None))
    }
    fn key(&mut self) -> Result<Option<PrivateKey>, Diagnostic> {
        self.calls.push("key".into());
        Ok(self.key.clone())
    }
    fn now(&mut self) -> String {
        "2026-11-25T12:00:00Z".into()
    }
    fn store(&mut self, release: &Release, namespace: &str) -> Result<Stored, Diagnostic> {
        self.calls.push(format!("store {} in {namespace}", release.record.id));
        Ok(Stored { outcome: self.outcome, dir: self.dir.clone() })
    }
    fn note(&mut self, line: &str) {
        self.notes.push(line.to_owned());
    }
}

impl From<ReleaseProblem> for Diagnostic {
    fn from(problem: ReleaseProblem) -> Diagnostic {
        problem.0
    }
}

fn request(environment: Option<&'static str>) -> ReleaseRequest<'static> {
    ReleaseRequest { environment, job_file: "etl.yaml", tool_version: "0.1.0" }
}

#[test]
fn a_new_signed_release_is_stored_beside_its_job_and_sends_packaged_signed_published() {
    let mut host = Fake::new();
    let done = run(&request(Some("prod")), &mut host).expect("releases");
    let record = &done.release.record;
    assert_eq!((record.job.as_str(), record.environment.as_str()), ("etl", "prod"));
    assert_eq!((record.source.commit.as_str(), record.released_by.as_str()), ("c0ffee00", "alice"));
    assert_eq!(record.released_at, "2026-11-25T12:00:00Z");
    assert_eq!(
        host.calls,
        vec![
            "by".to_owned(),
            "render prod".into(),
            "policy etl".into(),
            "commit".into(),
            "ci report".into(),
            "requirements".into(),
            "key".into(),
            format!("store {} in data", record.id),
        ]
    );
    assert!(host.notes.is_empty(), "{:?}", host.notes);
    let artifact = release_purl("etl", &record.id);
    let sbom = Some(format!("releases/etl-prod-0123456789ab/{SBOM_FILE}"));
    assert_eq!(
        done.events,
        vec![
            Step::ArtifactPackaged { artifact: artifact.clone(), commit: "c0ffee00".into(), sbom: sbom.clone() },
            Step::ArtifactSigned {
                artifact: artifact.clone(),
                signature: done.release.files.record_signature.trim().to_owned()
            },
            Step::ArtifactPublished { artifact, user: Some("alice".into()), sbom },
        ]
    );
}

#[test]
fn an_unsigned_release_in_a_cluster_store_is_warned_about_and_sends_no_signed_event_nor_an_sbom_path() {
    let mut host = Fake::new();
    host.key = None;
    host.dir = None;
    let done = run(&request(Some("prod")), &mut host).expect("releases");
    assert_eq!(
        host.notes,
        vec!["warning: no --key: the release is not signed, and `sparkplane verify` will refuse it".to_owned()]
    );
    assert!(done.release.record.signed_by.is_none());
    let artifact = release_purl("etl", &done.release.record.id);
    assert_eq!(
        done.events,
        vec![
            Step::ArtifactPackaged { artifact: artifact.clone(), commit: "c0ffee00".into(), sbom: None },
            Step::ArtifactPublished { artifact, user: Some("alice".into()), sbom: None },
        ]
    );
}

#[test]
fn a_release_already_stored_sends_nothing() {
    let mut host = Fake::new();
    host.outcome = PutOutcome::Unchanged;
    let done = run(&request(Some("prod")), &mut host).expect("releases");
    assert_eq!(done.stored.outcome, PutOutcome::Unchanged);
    assert!(done.events.is_empty());
    let id = &done.release.record.id;
    assert!(
        done.text("releases/x").starts_with(&format!("{id} was already released (same spec, commit and CI report)"))
    );
    assert_eq!(done.report_json(None)["written"], false);
}

#[test]
fn a_release_reads_as_release_reports_it_and_names_its_config_map_in_a_cluster() {
    let mut host = Fake::new();
    let done = run(&request(Some("prod")), &mut host).expect("releases");
    let record = &done.release.record;
    let text = done.text("ConfigMap data/release-x");
    assert_eq!(
        text,
        format!(
            "released {}\n  job etl for prod, commit c0ffee00\n  image {}\n  content {}\n  sbom {}\n  signed by key {}\n\
             in ConfigMap data/release-x\n",
            record.id,
            record.image.reference,
            record.content_hash,
            record.sbom.digest,
            record.signed_by.as_deref().unwrap_or_default()
        )
    );
    let json = done.report_json(Some("data/release-x"));
    assert_eq!((json["configMap"].as_str(), json["written"].as_bool()), (Some("data/release-x"), Some(true)));
    assert!(done.report_json(None)["configMap"].is_null());
}

#[test]
fn a_ci_report_is_recorded_warned_about_unless_it_passed_and_refused_when_of_another_job() {
    let mut host = Fake::new();
    host.ci = Some(ci_report("etl", "fail"));
    let done = run(&request(Some("prod")), &mut host).expect("releases");
    assert_eq!(done.release.record.ci.as_ref().map(|c| c.outcome.as_str()), Some("fail"));
    assert_eq!(
        host.notes,
        vec!["warning: the CI report says `fail`; promotion will refuse this release until CI passes".to_owned()]
    );

    let mut host = Fake::new();
    host.ci = Some(ci_report("other", "pass"));
    let err = run(&request(Some("prod")), &mut host).expect_err("another job's report");
    assert_eq!((err.code, err.path.as_str()), ("bad-ci-report", "--ci-report"));
    assert_eq!(err.message, "ci.json: the CI report is for job `other`, not `etl`");
    assert!(!host.calls.iter().any(|c| c.starts_with("store")), "{:?}", host.calls);
}

#[test]
fn a_release_without_an_environment_is_refused_before_anything_is_asked() {
    let mut host = Fake::new();
    let err = run(&request(None), &mut host).expect_err("no --env");
    assert_eq!(
        (err.code, err.path.as_str(), err.message.as_str()),
        ("bad-flag", "--env", "a release is for one environment")
    );
    assert!(host.calls.is_empty());
}

#[test]
fn a_commit_id_is_a_sha_tag_or_ref_name_and_nothing_else() {
    assert_eq!(commit_id(" c0ffee00 \n"), Some("c0ffee00"));
    assert_eq!(commit_id("v1.2.0"), Some("v1.2.0"));
    assert_eq!(commit_id("refs/heads/main_2"), Some("refs/heads/main_2"));
    for bad in ["", "  ", "abc def", "$(rm -rf /)", "a;b", "ü1"] {
        assert_eq!(commit_id(bad), None, "{bad:?}");
    }
}
