//! The promotion workflow over a fake host: the order of its steps, when the
//! shadow run is made, the deployment record and the CDEvent it picks, and
//! the bad input it refuses before anything is judged or written.

use std::collections::BTreeMap;

use serde_json::json;
use sparkplane_api::SparkJob;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;

use super::*;
use crate::promote::{QualityGates, RunRelease};
use crate::release::{self, ReleaseInput};
use crate::release_record::CiResult;
use crate::sign::PrivateKey;

const DIGEST: &str = "sha256:78c9e2a1";

fn resolved(name: &str, env: &str) -> ResolvedJob {
    let spec = json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "SparkJob",
        "metadata": {"name": name, "namespace": "etl"},
        "spec": {
            "type": "Python",
            "mainApplicationFile": "local:///app/main.py",
            "image": {"repository": "r/etl", "tag": "1.0", "digest": DIGEST},
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

/// A signed release of `etl` for staging, made as `release` makes one.
fn signed_release(key: &PrivateKey) -> (StoredRelease, ReleaseRecord) {
    let job = resolved("etl", "staging");
    let ci = CiResult { outcome: "pass".into(), report_digest: "sha256:aa".into() };
    let made = release::make(&ReleaseInput {
        resolved: &job,
        environment: "staging",
        job_file: "etl.yaml",
        commit: "c0ffee00c0ffee00",
        ci: Some(&ci),
        requirements: &[],
        released_by: "alice",
        released_at: "2026-11-23T18:00:00Z",
        key: Some(key),
        tool_version: "0.1.0",
    });
    (made.files, made.record)
}

fn green_run() -> SourceRun {
    SourceRun {
        run_id: "etl-1".into(),
        state: "succeeded".into(),
        failure: None,
        quality_gates: QualityGates::Passed,
        spec_hash: String::new(),
        release: RunRelease::Local,
    }
}

fn comparison(within: bool) -> ShadowOutcome {
    ShadowOutcome::Compared(vec![crate::shadow::OutputComparison {
        name: "trips".into(),
        current: "data/trips".into(),
        candidate: "/s/trips".into(),
        differences: vec![crate::shadow::Difference {
            what: "rows".into(),
            message: "1100 rows, the current output has 1000".into(),
            within,
        }],
    }])
}

/// A host answering from fields, recording every call.
struct Fake {
    key: PrivateKey,
    release: (StoredRelease, ReleaseRecord),
    job_name: String,
    source_run: Option<SourceRun>,
    denials: Vec<Denial>,
    history: Vec<DeploymentRecord>,
    shadow: Option<ShadowOutcome>,
    calls: Vec<String>,
    notes: Vec<String>,
    recorded: Vec<(DeploymentRecord, Vec<String>)>,
}

impl Fake {
    fn new() -> Fake {
        let key = PrivateKey::generate();
        let release = signed_release(&key);
        Fake {
            key,
            release,
            job_name: "etl".into(),
            source_run: Some(green_run()),
            denials: Vec::new(),
            history: Vec::new(),
            shadow: None,
            calls: Vec::new(),
            notes: Vec::new(),
            recorded: Vec::new(),
        }
    }

    fn deployed(&self, sequence: u64, release: &str) -> DeploymentRecord {
        let mut record =
            deployment(&self.release.1, &resolved("etl", "prod"), "prod", "staging", "bob".into(), "t".into());
        record.sequence = sequence;
        record.release = release.to_owned();
        record
    }
}

impl PromoteHost for Fake {
    type Error = Diagnostic;
    type ShadowPlan = &'static str;

    fn release(&mut self, id: &str) -> Result<(StoredRelease, ReleaseRecord), Diagnostic> {
        self.calls.push(format!("release {id}"));
        Ok(self.release.clone())
    }
    fn render(&mut self, env: &str) -> Result<(ResolvedJob, Vec<RenderedObject>), Diagnostic> {
        self.calls.push(format!("render {env}"));
        Ok((resolved(&self.job_name, env), Vec::new()))
    }
    fn resolve(&mut self, env: &str) -> Result<ResolvedJob, Diagnostic> {
        self.calls.push(format!("resolve {env}"));
        Ok(resolved(&self.job_name, env))
    }
    fn deployed_by(&mut self) -> Result<String, Diagnostic> {
        Ok("bob".into())
    }
    fn commit(&mut self) -> Result<String, Diagnostic> {
        Ok("c0ffee00c0ffee00".into())
    }
    fn trusted_keys(&mut self) -> Result<Vec<PublicKey>, Diagnostic> {
        Ok(vec![self.key.public()])
    }
    fn plan_shadow(&mut self, release: &str) -> Result<Option<&'static str>, Diagnostic> {
        self.calls.push(format!("plan shadow {release}"));
        Ok(self.shadow.as_ref().map(|_| "plan"))
    }
    fn cluster_runs(&self) -> bool {
        false
    }
    fn source_run(&mut self, job: &str, env: &str) -> Result<Option<SourceRun>, Diagnostic> {
        self.calls.push(format!("source run {job} {env}"));
        Ok(self.source_run.clone())
    }
    fn denials(&mut self, _: &ResolvedJob, _: &[RenderedObject]) -> Result<Vec<Denial>, Diagnostic> {
        Ok(self.denials.clone())
    }
    fn deployments(&mut self, job: &str, env: &str, namespace: &str) -> Result<Vec<DeploymentRecord>, Diagnostic> {
        self.calls.push(format!("deployments {job} {env} {namespace}"));
        Ok(self.history.clone())
    }
    fn run_shadow(&mut self, plan: &&'static str) -> Result<ShadowOutcome, Diagnostic> {
        self.calls.push(format!("run shadow {plan}"));
        Ok(self.shadow.clone().expect("planned"))
    }
    fn record(&mut self, record: DeploymentRecord, files: &[(String, String)]) -> Result<Recorded, Diagnostic> {
        self.calls.push("record".into());
        let sequence = self.history.last().map_or(1, |d| d.sequence + 1);
        self.recorded.push((record, files.iter().map(|f| f.0.clone()).collect()));
        Ok(Recorded { sequence, manifests: format!("deployments/etl/prod/{sequence}/manifests") })
    }
    fn write_out(&mut self, _: &[RenderedObject], job: &str) -> Result<Vec<String>, Diagnostic> {
        self.calls.push(format!("write out {job}"));
        Ok(Vec::new())
    }
    fn now(&mut self) -> String {
        "2026-11-25T12:00:00Z".into()
    }
    fn note(&mut self, line: &str) {
        self.notes.push(line.to_owned());
    }
}

impl From<PromoteProblem> for Diagnostic {
    fn from(problem: PromoteProblem) -> Diagnostic {
        problem.0
    }
}

fn request(from: Option<&'static str>) -> PromoteRequest<'static> {
    PromoteRequest { release: "etl-staging-x", to: "prod", from, job_file: "etl.yaml" }
}

#[test]
fn a_first_promotion_records_the_release_as_resolved_for_the_target_and_says_deployed() {
    let mut host = Fake::new();
    let Promotion::Promoted(done) = run(&request(None), &mut host).expect("runs") else { panic!("not promoted") };
    assert!(done.first);
    assert_eq!(done.source, "staging");
    assert_eq!(done.recorded.sequence, 1);
    assert!(done.shadow.is_none());
    assert_eq!(done.passed, vec![Gate::Ci, Gate::SourceRun, Gate::Policy, Gate::Signature, Gate::Provenance]);
    let id = host.release.1.id.clone();
    assert_eq!(
        done.event,
        Step::ServiceDeployed { service: "etl".into(), environment: "prod".into(), artifact: release_purl("etl", &id) }
    );
    let (record, _) = &host.recorded[0];
    assert_eq!(
        (record.action, record.environment.as_str(), record.namespace.as_str(), record.from.as_deref()),
        (Action::Promote, "prod", "etl", Some("staging"))
    );
    assert_eq!((record.deployed_by.as_str(), record.deployed_at.as_str()), ("bob", "2026-11-25T12:00:00Z"));
    assert_eq!(record.release, id);
    assert_eq!(record.spec_hash, resolved("etl", "prod").spec_hash());
    assert_eq!(
        host.calls,
        vec![
            "release etl-staging-x".to_owned(),
            "render prod".into(),
            "resolve staging".into(),
            format!("plan shadow {id}"),
            "source run etl staging".into(),
            "deployments etl prod etl".into(),
            "record".into(),
            "write out etl".into(),
        ]
    );
}

#[test]
fn a_later_promotion_says_upgraded_and_the_current_release_writes_nothing() {
    let mut host = Fake::new();
    host.history = vec![host.deployed(4, "etl-staging-older")];
    let Promotion::Promoted(done) = run(&request(None), &mut host).expect("runs") else { panic!("not promoted") };
    assert!(!done.first);
    assert_eq!(done.recorded.sequence, 5);
    assert!(matches!(done.event, Step::ServiceUpgraded { .. }));

    let mut host = Fake::new();
    let id = host.release.1.id.clone();
    host.history = vec![host.deployed(4, &id)];
    let outcome = run(&request(None), &mut host).expect("runs");
    assert!(matches!(outcome, Promotion::Current { sequence: 4, .. }), "{outcome:?}");
    assert!(host.recorded.is_empty());
    assert!(!host.calls.iter().any(|c| c == "record" || c.starts_with("write out")));
}

#[test]
fn a_refusal_records_nothing_and_names_every_refusing_gate_in_its_incident() {
    let mut host = Fake::new();
    host.source_run = None;
    host.denials = vec![Denial { policy: "no-latest".into(), message: "m".into(), fix: "f".into() }];
    let outcome = run(&request(None), &mut host).expect("runs");
    let Promotion::Refused { decision, event, shadow, .. } = outcome else { panic!("not refused") };
    assert!(shadow.is_none());
    assert_eq!(decision.refusals.iter().map(|r| r.gate).collect::<Vec<_>>(), vec![Gate::SourceRun, Gate::Policy]);
    let Step::IncidentDetected { incident, description, environment, service, .. } = event else { panic!("{event:?}") };
    let id = &host.release.1.id;
    assert_eq!(incident, format!("promote/etl/prod/{id}"));
    assert_eq!(description, format!("promotion of {id} to prod refused by 2 gates: source-run, policy"));
    assert_eq!((environment.as_str(), service.as_deref()), ("prod", Some("etl")));
    assert!(host.recorded.is_empty());
}

#[test]
fn each_outcome_reads_as_promote_reports_it() {
    let mut host = Fake::new();
    let promoted = run(&request(None), &mut host).expect("runs");
    let id = host.release.1.id.clone();
    assert_eq!(
        promoted.text("prod"),
        format!(
            "promoted {id} from staging to prod (deployment 1, the first there)\n  gates passed: ci, source-run, \
             policy, signature, provenance\n  manifests in deployments/etl/prod/1/manifests\n"
        )
    );
    let json = promoted.report_json("prod");
    assert_eq!((json["promoted"].as_bool(), json["dir"].as_str()), (Some(true), Some("deployments/etl/prod/1")));
    assert!(promoted.refusals().is_empty());

    let current = Promotion::Current { release: id.clone(), sequence: 4 };
    assert_eq!(current.text("prod"), format!("prod already runs {id} (deployment 4); nothing written\n"));
    assert_eq!(current.report_json("prod")["current"], 4);

    let mut host = Fake::new();
    host.source_run = None;
    let refused = run(&request(None), &mut host).expect("runs");
    let errors = refused.refusals();
    assert_eq!((errors.0[0].code, errors.0[0].path.as_str()), ("promotion-gate", "source-run"));
    assert_eq!(refused.report_json("prod")["refused"][0]["gate"], "source-run");
    assert_eq!(refused.text("prod"), "", "no shadow run: the refusals are the diagnostics");
}

#[test]
fn the_shadow_run_is_made_only_when_every_other_gate_holds_and_the_release_is_new_there() {
    // Other gates refuse: not made, and said so.
    let mut host = Fake::new();
    host.shadow = Some(comparison(true));
    host.source_run = None;
    assert!(matches!(run(&request(None), &mut host).expect("runs"), Promotion::Refused { shadow: None, .. }));
    assert!(!host.calls.iter().any(|c| c.starts_with("run shadow")));
    assert_eq!(host.notes, vec!["note: the shadow run was not made: other gates refuse".to_owned()]);

    // The target already runs the release: not made, nothing written.
    let mut host = Fake::new();
    host.shadow = Some(comparison(false));
    let id = host.release.1.id.clone();
    host.history = vec![host.deployed(2, &id)];
    assert!(matches!(run(&request(None), &mut host).expect("runs"), Promotion::Current { .. }));
    assert!(!host.calls.iter().any(|c| c.starts_with("run shadow")));

    // Every other gate holds: made, and its comparison judged — within bounds promotes ...
    let mut host = Fake::new();
    host.shadow = Some(comparison(true));
    let Promotion::Promoted(done) = run(&request(None), &mut host).expect("runs") else { panic!("not promoted") };
    assert!(done.passed.contains(&Gate::Shadow));
    assert_eq!(done.shadow, Some(comparison(true)));

    // ... out of bounds refuses on the shadow gate alone, after the run.
    let mut host = Fake::new();
    host.shadow = Some(comparison(false));
    let Promotion::Refused { decision, shadow, .. } = run(&request(None), &mut host).expect("runs") else {
        panic!("not refused")
    };
    assert_eq!(decision.refusals.iter().map(|r| r.gate).collect::<Vec<_>>(), vec![Gate::Shadow]);
    assert_eq!(shadow, Some(comparison(false)));
    assert!(host.calls.contains(&"run shadow plan".to_owned()));
    assert!(host.recorded.is_empty());
}

#[test]
fn bad_input_is_refused_before_any_gate_is_judged() {
    let mut host = Fake::new();
    host.job_name = "other".into();
    let err = run(&request(None), &mut host).expect_err("another job's release");
    assert_eq!(err.code, "wrong-job");
    assert!(err.message.contains("is of job `etl`, not `other`"), "{}", err.message);
    assert!(!host.calls.iter().any(|c| c.starts_with("source run") || c.starts_with("plan shadow")));

    let mut host = Fake::new();
    let err = run(&request(Some("prod")), &mut host).expect_err("to itself");
    assert_eq!((err.code, err.path.as_str()), ("bad-flag", "--to"));
    assert_eq!(err.message, "the release would be promoted from prod to itself");
    // The source environment is resolved too when it is not the release's own.
    assert!(host.calls.contains(&"resolve prod".to_owned()));
    assert!(host.recorded.is_empty());
}

#[test]
fn the_signature_is_checked_with_the_key_the_release_names() {
    let key = PrivateKey::generate();
    let (stored, record) = signed_release(&key);
    let other = PrivateKey::generate().public();
    assert_eq!(
        check_signature(&stored, &record, &[other.clone(), key.public()]),
        SignatureCheck::Verified(key.public().key_id())
    );
    assert_eq!(check_signature(&stored, &record, &[]), SignatureCheck::NoTrustedKeys);
    assert_eq!(check_signature(&stored, &record, &[other]), SignatureCheck::Untrusted(key.public().key_id()));
    let unsigned = ReleaseRecord { signed_by: None, ..record.clone() };
    assert_eq!(check_signature(&stored, &unsigned, &[key.public()]), SignatureCheck::Unsigned);
    let tampered = StoredRelease { sbom: format!("{} ", stored.sbom), ..stored };
    assert!(matches!(check_signature(&tampered, &record, &[key.public()]), SignatureCheck::Invalid(_)));
}
