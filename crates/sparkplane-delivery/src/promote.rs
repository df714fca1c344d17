//! Promotion's gates: whether a release may go to a target environment,
//! decided from facts gathered beforehand — the release record, how its
//! signature checked against the trusted keys, the last run in the source
//! environment, the target environment's policy verdict, and what would be
//! deployed there.
//!
//! Owns: the six gates (CI, source run, policy, signature, provenance and,
//! with `--shadow`, the shadow run's comparison), their order, and each
//! refusal's message and fix. Every gate is judged and every
//! failure reported at once. Pure: it must not read the store, run policies,
//! verify signatures or render — the caller gathers those facts (the policy
//! engine, `release_verify` and the render step stay their owners').

use std::fmt;

use sparkplane_api::job::GatesOutcome;

use crate::release_diff::{self, Change};
use crate::release_record::ReleaseRecord;
use crate::shadow::ShadowOutcome;

/// The one field a release may pin beyond its job file: the image digest
/// (`release --set spec.image.digest=…`), which the provenance gate compares
/// with the target's on its own.
const PINNED_BY_RELEASE: &str = "spec.image.digest";

/// A promotion gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Gate {
    /// The release's CI result is a pass.
    Ci,
    /// The last run of the job in the source environment succeeded, with its quality gates.
    SourceRun,
    /// The target environment's policies (and its approvals) pass.
    Policy,
    /// The release verifies against a trusted key.
    Signature,
    /// What would be deployed is what was released: commit, image digest, SBOM digest.
    Provenance,
    /// The candidate's shadow run stayed within the declared bounds of the current output (`--shadow` only).
    Shadow,
}

impl Gate {
    /// The gate's name in messages and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::Ci => "ci",
            Gate::SourceRun => "source-run",
            Gate::Policy => "policy",
            Gate::Signature => "signature",
            Gate::Provenance => "provenance",
            Gate::Shadow => "shadow",
        }
    }

    /// Every gate, in the order they are judged and reported.
    pub const ALL: [Gate; 6] =
        [Gate::Ci, Gate::SourceRun, Gate::Policy, Gate::Signature, Gate::Provenance, Gate::Shadow];
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The quality gates of a run, as its record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QualityGates {
    /// Every blocking gate passed (or the job has none).
    Passed,
    /// A blocking gate failed.
    Failed,
    /// A gate could not be checked.
    Error,
    /// The record does not say (written before runs recorded their gates, or the run did not get that far).
    Unknown,
}

impl QualityGates {
    /// How a run's gates ended, as its record or the SparkJob's status says
    /// (`status.qualityGates`): the one reading of a gate's outcome for
    /// promotion, local and cluster runs alike.
    pub fn from_outcome(outcome: Option<GatesOutcome>) -> QualityGates {
        match outcome {
            Some(GatesOutcome::Passed) => QualityGates::Passed,
            Some(GatesOutcome::Failed) => QualityGates::Failed,
            Some(GatesOutcome::Error) => QualityGates::Error,
            None => QualityGates::Unknown,
        }
    }
}

/// Which release a run ran, as its record says (ADR 0043).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunRelease {
    /// A local run (`sparkplane run`): it resolves the job for this machine and names no release; its spec
    /// hash is compared with the release's in a note only.
    Local,
    /// A cluster run of the SparkJob labelled `sparkplane.dev/release` with this id, the label part of the spec
    /// the run started from.
    Release(String),
    /// A cluster run of a SparkJob with no release label.
    Unlabelled,
}

/// The last run of the job in the source environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRun {
    /// Its id.
    pub run_id: String,
    /// `succeeded`, `failed`, … (the run history's state).
    pub state: String,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// Its quality gates.
    pub quality_gates: QualityGates,
    /// The short hash of the spec it ran.
    pub spec_hash: String,
    /// The release it ran.
    pub release: RunRelease,
}

/// How the release's signature checked against the trusted keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Verified with the trusted key of this id.
    Verified(String),
    /// The release is not signed.
    Unsigned,
    /// No key is trusted for the target environment.
    NoTrustedKeys,
    /// Signed by a key none of the trusted keys is (its id).
    Untrusted(String),
    /// Checked with the trusted key and refused: each problem as `field: message`.
    Invalid(Vec<String>),
}

/// A deny policy of the target environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The policy's id.
    pub policy: String,
    /// What it found.
    pub message: String,
    /// How to pass it.
    pub fix: String,
}

/// What would be deployed to the target environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The job file's commit now.
    pub commit: String,
    /// The image digest of the job resolved for the target, when pinned.
    pub image_digest: Option<String>,
    /// The digest of the release's SBOM file as stored.
    pub sbom_digest: String,
    /// The job file resolved now for the release's own environment: it must
    /// be the release's spec, or promoting (which resolves the job file
    /// again) would drop what the release holds beyond it.
    pub source_spec: serde_json::Value,
}

/// Everything the gates judge.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// The release.
    pub release: &'a ReleaseRecord,
    /// The environment it comes from.
    pub source: &'a str,
    /// The environment it goes to.
    pub target: &'a str,
    /// The job file (for fixes).
    pub job_file: &'a str,
    /// The last run in the source environment, when there is one.
    pub source_run: Option<SourceRun>,
    /// Whether the source environment's runs are the operator's (`--store cluster`, ADR 0043) rather than the
    /// local history: it decides how a refusal says to run the job again.
    pub cluster_runs: bool,
    /// The target's deny policies that fail.
    pub denials: Vec<Denial>,
    /// The signature check.
    pub signature: SignatureCheck,
    /// What would be deployed.
    pub candidate: Candidate,
    /// How the shadow run ended, when one was asked for and made (it is made
    /// only once every other gate holds).
    pub shadow: Option<ShadowOutcome>,
}

/// A gate that does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Which gate.
    pub gate: Gate,
    /// What is wrong.
    pub message: String,
    /// How to pass it.
    pub fix: String,
}

/// The decision: promote when `refusals` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Every gate that failed, in gate order.
    pub refusals: Vec<Refusal>,
    /// Things worth knowing that do not block.
    pub notes: Vec<String>,
    /// Whether the shadow gate was judged.
    pub shadow_judged: bool,
}

impl Decision {
    /// Whether every gate holds.
    pub fn promote(&self) -> bool {
        self.refusals.is_empty()
    }

    /// The gates that held, in order.
    pub fn passed(&self) -> Vec<Gate> {
        Gate::ALL
            .into_iter()
            .filter(|g| *g != Gate::Shadow || self.shadow_judged)
            .filter(|g| !self.refusals.iter().any(|r| r.gate == *g))
            .collect()
    }
}

fn refusal(gate: Gate, message: String, fix: String) -> Refusal {
    Refusal { gate, message, fix }
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

fn ci(f: &Facts<'_>, out: &mut Vec<Refusal>) {
    let fix = format!(
        "run `sparkplane ci {} --report ci.json` until it passes, then release again with --ci-report ci.json",
        f.job_file
    );
    match &f.release.ci {
        None => out.push(refusal(
            Gate::Ci,
            format!("release {} has no CI result (it was released without --ci-report)", f.release.id),
            fix,
        )),
        Some(ci) if ci.outcome != "pass" => out.push(refusal(
            Gate::Ci,
            format!("release {} was made from a CI run whose outcome is `{}`", f.release.id, ci.outcome),
            fix,
        )),
        Some(_) => {}
    }
}

/// How to pass the source-run gate after a cluster run's quality gates failed.
fn gates_fix(source: &str) -> String {
    format!(
        "fix what the failed checks found in the job's output (or the gate's data-quality spec, if a check is wrong; \
         `sparkplane dq check <spec>` runs it on data you have), release the fix, apply it in {source} and let the \
         operator run it until its quality gates pass"
    )
}

fn source_run(f: &Facts<'_>, out: &mut Vec<Refusal>, notes: &mut Vec<String>) {
    let job = &f.release.job;
    let source = f.source;
    let id = &f.release.id;
    let apply = format!(
        "apply the release in {source} (`sparkplane apply {} --env {source} --release {id}`) and let the operator \
         run it until it and its quality gates pass",
        f.job_file
    );
    let rerun = if f.cluster_runs {
        apply.clone()
    } else {
        format!(
            "run the job in {source} until it and its quality gates pass (`sparkplane run {} --env {source}`)",
            f.job_file
        )
    };
    let Some(run) = &f.source_run else {
        // A cluster environment's job often cannot run here (its files are in the image): say the way that can.
        let fix = if f.cluster_runs || source == "local" {
            rerun
        } else {
            format!(
                "{rerun}; where {source} is out of reach, `--from local` vouches with the job's last run on this \
                 machine (`sparkplane run {}`)",
                f.job_file
            )
        };
        out.push(refusal(Gate::SourceRun, format!("{job} has no recorded run in {source}"), fix));
        return;
    };
    let of_other = match &run.release {
        RunRelease::Local => None,
        RunRelease::Release(ran) if ran == id => None,
        RunRelease::Release(ran) => Some(format!("ran release {ran}")),
        RunRelease::Unlabelled => Some(format!("ran a SparkJob with no {} label", sparkplane_api::labels::RELEASE)),
    };
    if let Some(what) = of_other {
        out.push(refusal(
            Gate::SourceRun,
            format!("no successful run of release {id} in {source}: the last run there, {}, {what}", run.run_id),
            apply,
        ));
        return;
    }
    let rerun = match run.release {
        RunRelease::Local => rerun,
        _ => format!(
            "run release {id} in {source} again (`sparkplane trigger {job}` in its namespace) until it and its \
             quality gates pass"
        ),
    };
    if run.state == "failed" && run.quality_gates == QualityGates::Failed && run.release != RunRelease::Local {
        // The application ran; its output failed a data-quality check in the cluster (ADR 0043).
        let why = run.failure.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
        out.push(refusal(
            Gate::SourceRun,
            format!("the last run in {source}, {}, failed its quality gates{why}", run.run_id),
            gates_fix(source),
        ));
        return;
    }
    if run.state != "succeeded" {
        let why = run.failure.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
        out.push(refusal(
            Gate::SourceRun,
            format!("the last run in {source}, {}, {}{why}", run.run_id, run.state),
            rerun,
        ));
        return;
    }
    let gates = match run.quality_gates {
        QualityGates::Passed => None,
        QualityGates::Failed => Some("failed its quality gates"),
        QualityGates::Error => Some("could not check its quality gates"),
        QualityGates::Unknown => Some("has no quality-gate outcome on record"),
    };
    if let Some(what) = gates {
        out.push(refusal(Gate::SourceRun, format!("the last run in {source}, {}, {what}", run.run_id), rerun));
    }
    if run.release == RunRelease::Local && !f.release.spec_hash.starts_with(&run.spec_hash) {
        notes.push(format!(
            "the last run in {source} ran spec {}, the release is spec {}: the run vouches for the job, not this exact spec",
            run.spec_hash,
            f.release.spec_hash.get(..8).unwrap_or(&f.release.spec_hash)
        ));
    }
}

fn policy(f: &Facts<'_>, out: &mut Vec<Refusal>) {
    for d in &f.denials {
        out.push(refusal(
            Gate::Policy,
            format!("policy `{}` denies it in {}: {}", d.policy, f.target, d.message),
            d.fix.clone(),
        ));
    }
}

fn signature(f: &Facts<'_>, out: &mut Vec<Refusal>) {
    let target = f.target;
    let keys = format!(".sparkplane/trusted-keys/{target}/ (next to the job) or --trusted-key");
    let (message, fix) = match &f.signature {
        SignatureCheck::Verified(_) => return,
        SignatureCheck::Unsigned => (
            format!("release {} is not signed", f.release.id),
            "release the job again with --key, with a key trusted for the target".to_owned(),
        ),
        SignatureCheck::NoTrustedKeys => (
            format!("no key is trusted for {target}, so the release's signature cannot be checked"),
            format!("list the signer's public key (release.pub) in {keys}"),
        ),
        SignatureCheck::Untrusted(key) => (
            format!("release {} is signed by key {key}, which is not trusted for {target}", f.release.id),
            format!("sign with a trusted key, or list that key's public half in {keys}"),
        ),
        SignatureCheck::Invalid(problems) => (
            format!("release {} does not verify: {}", f.release.id, problems.join("; ")),
            "do not deploy this release; release the job again from its source".to_owned(),
        ),
    };
    out.push(refusal(Gate::Signature, message, fix));
}

fn provenance(f: &Facts<'_>, out: &mut Vec<Refusal>) {
    let r = f.release;
    let c = &f.candidate;
    if c.commit != r.source.commit {
        out.push(refusal(
            Gate::Provenance,
            format!(
                "the job file is at commit {}, the release was made from {}",
                short(&c.commit),
                short(&r.source.commit)
            ),
            format!(
                "promote from a checkout of {} (or pass --commit with the commit the job file is at)",
                r.source.commit
            ),
        ));
    }
    match (&r.image.digest, &c.image_digest) {
        (None, _) => out.push(refusal(
            Gate::Provenance,
            format!(
                "release {} names its image by tag only ({}), so what runs can change under it",
                r.id, r.image.reference
            ),
            "pin spec.image.digest (in the job or its source overlay) and release again".to_owned(),
        )),
        (Some(_), None) => out.push(refusal(
            Gate::Provenance,
            format!("the job resolved for {} has no image digest, the release runs {}", f.target, r.image.reference),
            format!("pin the release's digest in the {} overlay", f.target),
        )),
        (Some(released), Some(candidate)) if released != candidate => out.push(refusal(
            Gate::Provenance,
            format!("the job resolved for {} runs image {candidate}, the release runs {released}", f.target),
            format!("make the {} overlay pin the release's digest, or release the image it names", f.target),
        )),
        _ => {}
    }
    let beyond: Vec<String> = release_diff::diff(&r.spec, &c.source_spec)
        .into_iter()
        .map(|change| match change {
            Change::Added { path, .. } | Change::Removed { path, .. } | Change::Changed { path, .. } => path,
        })
        .filter(|path| path != PINNED_BY_RELEASE)
        .collect();
    if !beyond.is_empty() {
        let shown: Vec<&str> = beyond.iter().take(3).map(String::as_str).collect();
        let more = if beyond.len() > 3 { format!(" and {} more", beyond.len() - 3) } else { String::new() };
        out.push(refusal(
            Gate::Provenance,
            format!(
                "release {} is not the job file resolved for {} (it differs at {}{more}): it was made with --set or \
                 from other files, and {} would get the job file's spec instead",
                r.id,
                r.environment,
                shown.join(", "),
                f.target
            ),
            "make the change in the job file or its overlays, commit it, and release again".to_owned(),
        ));
    }
    if c.sbom_digest != r.sbom.digest {
        out.push(refusal(
            Gate::Provenance,
            format!("the stored SBOM's digest is {}, the release records {}", c.sbom_digest, r.sbom.digest),
            "do not deploy this release; release the job again from its source".to_owned(),
        ));
    }
}

fn shadow(f: &Facts<'_>, out: &mut Vec<Refusal>) {
    let Some(outcome) = &f.shadow else { return };
    let job = f.job_file;
    match outcome {
        ShadowOutcome::Compared(outputs) => {
            for output in outputs {
                let beyond: Vec<&str> = output.beyond().map(|d| d.message.as_str()).collect();
                if beyond.is_empty() {
                    continue;
                }
                out.push(refusal(
                    Gate::Shadow,
                    format!(
                        "the candidate's output `{}` ({}) differs from the current ({}) beyond the declared bounds: {}",
                        output.name,
                        output.candidate,
                        output.current,
                        beyond.join("; ")
                    ),
                    format!(
                        "fix the job so its output matches, or widen spec.delivery.shadow.bounds in {job} if the change is                          intended, then release again"
                    ),
                ));
            }
        }
        ShadowOutcome::NoCurrentOutput { name, location } => out.push(refusal(
            Gate::Shadow,
            format!("there is no current output `{name}` at {location} to compare the candidate's with"),
            format!("run the current release first (`sparkplane run {job}`), or promote without --shadow"),
        )),
        ShadowOutcome::RunFailed { run_id, message } => out.push(refusal(
            Gate::Shadow,
            format!("the shadow run {run_id} did not succeed: {message}"),
            format!("see `sparkplane runs logs {run_id}`; fix the job and release again"),
        )),
        ShadowOutcome::NoCandidateOutput { name, location } => out.push(refusal(
            Gate::Shadow,
            format!("the shadow run wrote no output `{name}` at {location}"),
            format!("check that the job writes the output spec.delivery.shadow.outputs names (in {job})"),
        )),
    }
}

/// Judges every gate over `facts`.
pub fn decide(facts: &Facts<'_>) -> Decision {
    let mut refusals = Vec::new();
    let mut notes = Vec::new();
    ci(facts, &mut refusals);
    source_run(facts, &mut refusals, &mut notes);
    policy(facts, &mut refusals);
    signature(facts, &mut refusals);
    provenance(facts, &mut refusals);
    shadow(facts, &mut refusals);
    Decision { refusals, notes, shadow_judged: facts.shadow.is_some() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release_record::{CiResult, FileRef, ReleasedImage, SourceRef};

    const DIGEST: &str = "sha256:78c9";

    fn release() -> ReleaseRecord {
        ReleaseRecord {
            api_version: "sparkplane.dev/v1alpha1".into(),
            kind: "Release".into(),
            id: "etl-staging-0123456789ab".into(),
            job: "etl".into(),
            namespace: "data".into(),
            environment: "staging".into(),
            content_hash: "sha256:0123456789ab".into(),
            spec_hash: "abcd1234ffff".into(),
            image: ReleasedImage {
                reference: format!("r/etl@{DIGEST}"),
                repository: "r/etl".into(),
                tag: Some("1.0".into()),
                digest: Some(DIGEST.into()),
            },
            source: SourceRef { commit: "c0ffee00c0ffee00".into(), job_file: "etl.yaml".into() },
            ci: Some(CiResult { outcome: "pass".into(), report_digest: "sha256:aa".into() }),
            sbom: FileRef { file: "sbom.cdx.json".into(), digest: "sha256:5b".into() },
            released_by: "alice".into(),
            released_at: "2026-11-23T18:00:00Z".into(),
            signed_by: Some("sha256:key".into()),
            spec: serde_json::json!({"spec": {"executor": {"memory": "4g"}, "image": {"digest": DIGEST}}}),
        }
    }

    fn compared(within: bool) -> crate::shadow::OutputComparison {
        crate::shadow::OutputComparison {
            name: "trips".into(),
            current: "data/trips".into(),
            candidate: "/s/trips".into(),
            differences: vec![crate::shadow::Difference {
                what: "rows".into(),
                message: "1100 rows, the current output has 1000 (10% change, at most 0%)".into(),
                within,
            }],
        }
    }

    fn green_run() -> SourceRun {
        SourceRun {
            run_id: "etl-1".into(),
            state: "succeeded".into(),
            failure: None,
            quality_gates: QualityGates::Passed,
            spec_hash: "abcd1234".into(),
            release: RunRelease::Local,
        }
    }

    fn facts(release: &ReleaseRecord) -> Facts<'_> {
        Facts {
            release,
            source: "staging",
            target: "prod",
            job_file: "etl.yaml",
            source_run: Some(green_run()),
            cluster_runs: false,
            denials: Vec::new(),
            signature: SignatureCheck::Verified("sha256:key".into()),
            candidate: Candidate {
                commit: "c0ffee00c0ffee00".into(),
                image_digest: Some(DIGEST.into()),
                sbom_digest: "sha256:5b".into(),
                source_spec: serde_json::json!({"spec": {"executor": {"memory": "4g"}}}),
            },
            shadow: None,
        }
    }

    /// (what changes, the gates that then refuse, the first refusal's message)
    type Case = (&'static str, fn(&mut Facts<'_>, &mut ReleaseRecord), &'static [Gate], &'static str);

    #[test]
    fn each_gate_refuses_on_its_own_fact_with_its_message() {
        let cases: Vec<Case> = vec![
            ("nothing", |_, _| {}, &[], ""),
            (
                "no CI",
                |_, r| r.ci = None,
                &[Gate::Ci],
                "release etl-staging-0123456789ab has no CI result (it was released without --ci-report)",
            ),
            (
                "red CI",
                |_, r| r.ci = Some(CiResult { outcome: "fail".into(), report_digest: String::new() }),
                &[Gate::Ci],
                "release etl-staging-0123456789ab was made from a CI run whose outcome is `fail`",
            ),
            ("no run", |f, _| f.source_run = None, &[Gate::SourceRun], "etl has no recorded run in staging"),
            (
                "failed run",
                |f, _| {
                    f.source_run =
                        Some(SourceRun { state: "failed".into(), failure: Some("OOM".into()), ..green_run() })
                },
                &[Gate::SourceRun],
                "the last run in staging, etl-1, failed: OOM",
            ),
            (
                "gates failed in the cluster",
                |f, _| {
                    f.source_run = Some(SourceRun {
                        state: "failed".into(),
                        failure: Some("quality gate `dq.yaml` failed: check `rows` failed: 0 rows".into()),
                        quality_gates: QualityGates::Failed,
                        release: RunRelease::Release("etl-staging-0123456789ab".into()),
                        ..green_run()
                    })
                },
                &[Gate::SourceRun],
                "the last run in staging, etl-1, failed its quality gates: quality gate `dq.yaml` failed: check `rows` \
                 failed: 0 rows",
            ),
            (
                "failed gates",
                |f, _| f.source_run = Some(SourceRun { quality_gates: QualityGates::Failed, ..green_run() }),
                &[Gate::SourceRun],
                "the last run in staging, etl-1, failed its quality gates",
            ),
            (
                "gates not on record",
                |f, _| f.source_run = Some(SourceRun { quality_gates: QualityGates::Unknown, ..green_run() }),
                &[Gate::SourceRun],
                "the last run in staging, etl-1, has no quality-gate outcome on record",
            ),
            (
                "a cluster run of another release",
                |f, _| {
                    f.source_run = Some(SourceRun {
                        release: RunRelease::Release("etl-staging-ffffffffffff".into()),
                        ..green_run()
                    })
                },
                &[Gate::SourceRun],
                "no successful run of release etl-staging-0123456789ab in staging: the last run there, etl-1, ran \
                 release etl-staging-ffffffffffff",
            ),
            (
                "a cluster run of no release",
                |f, _| f.source_run = Some(SourceRun { release: RunRelease::Unlabelled, ..green_run() }),
                &[Gate::SourceRun],
                "no successful run of release etl-staging-0123456789ab in staging: the last run there, etl-1, ran a \
                 SparkJob with no sparkplane.dev/release label",
            ),
            (
                "a failed cluster run of this release",
                |f, r| {
                    f.source_run = Some(SourceRun {
                        state: "failed".into(),
                        failure: Some("OOMKilled".into()),
                        release: RunRelease::Release(r.id.clone()),
                        ..green_run()
                    })
                },
                &[Gate::SourceRun],
                "the last run in staging, etl-1, failed: OOMKilled",
            ),
            (
                "a deny policy",
                |f, _| {
                    f.denials = vec![Denial {
                        policy: "approval-required".into(),
                        message: "0 of 1 approvals".into(),
                        fix: "approve".into(),
                    }]
                },
                &[Gate::Policy],
                "policy `approval-required` denies it in prod: 0 of 1 approvals",
            ),
            (
                "unsigned",
                |f, _| f.signature = SignatureCheck::Unsigned,
                &[Gate::Signature],
                "release etl-staging-0123456789ab is not signed",
            ),
            (
                "no trusted keys",
                |f, _| f.signature = SignatureCheck::NoTrustedKeys,
                &[Gate::Signature],
                "no key is trusted for prod, so the release's signature cannot be checked",
            ),
            (
                "untrusted key",
                |f, _| f.signature = SignatureCheck::Untrusted("sha256:other".into()),
                &[Gate::Signature],
                "release etl-staging-0123456789ab is signed by key sha256:other, which is not trusted for prod",
            ),
            (
                "tampered",
                |f, _| f.signature = SignatureCheck::Invalid(vec!["contentHash: content hash mismatch".into()]),
                &[Gate::Signature],
                "release etl-staging-0123456789ab does not verify: contentHash: content hash mismatch",
            ),
            (
                "another commit",
                |f, _| f.candidate.commit = "deadbeefdeadbeef".into(),
                &[Gate::Provenance],
                "the job file is at commit deadbeefdead, the release was made from c0ffee00c0ff",
            ),
            (
                "tag-only release",
                |_, r| r.image.digest = None,
                &[Gate::Provenance],
                "release etl-staging-0123456789ab names its image by tag only (r/etl@sha256:78c9), so what runs can change under it",
            ),
            (
                "target unpinned",
                |f, _| f.candidate.image_digest = None,
                &[Gate::Provenance],
                "the job resolved for prod has no image digest, the release runs r/etl@sha256:78c9",
            ),
            (
                "another image",
                |f, _| f.candidate.image_digest = Some("sha256:ffff".into()),
                &[Gate::Provenance],
                "the job resolved for prod runs image sha256:ffff, the release runs sha256:78c9",
            ),
            (
                "release made with --set",
                |f, _| f.candidate.source_spec = serde_json::json!({"spec": {"executor": {"memory": "8g"}}}),
                &[Gate::Provenance],
                "release etl-staging-0123456789ab is not the job file resolved for staging (it differs at \
                 spec.executor.memory): it was made with --set or from other files, and prod would get the job file's \
                 spec instead",
            ),
            (
                "changed SBOM",
                |f, _| f.candidate.sbom_digest = "sha256:00".into(),
                &[Gate::Provenance],
                "the stored SBOM's digest is sha256:00, the release records sha256:5b",
            ),
            ("shadow within bounds", |f, _| f.shadow = Some(ShadowOutcome::Compared(vec![compared(true)])), &[], ""),
            (
                "shadow beyond bounds",
                |f, _| f.shadow = Some(ShadowOutcome::Compared(vec![compared(false)])),
                &[Gate::Shadow],
                "the candidate's output `trips` (/s/trips) differs from the current (data/trips) beyond the declared \
                 bounds: 1100 rows, the current output has 1000 (10% change, at most 0%)",
            ),
            (
                "shadow without a current output",
                |f, _| {
                    f.shadow =
                        Some(ShadowOutcome::NoCurrentOutput { name: "trips".into(), location: "data/trips".into() })
                },
                &[Gate::Shadow],
                "there is no current output `trips` at data/trips to compare the candidate's with",
            ),
            (
                "shadow run failed",
                |f, _| {
                    f.shadow = Some(ShadowOutcome::RunFailed { run_id: "etl-2".into(), message: "failed: OOM".into() })
                },
                &[Gate::Shadow],
                "the shadow run etl-2 did not succeed: failed: OOM",
            ),
            (
                "shadow wrote nothing",
                |f, _| {
                    f.shadow =
                        Some(ShadowOutcome::NoCandidateOutput { name: "trips".into(), location: "/s/trips".into() })
                },
                &[Gate::Shadow],
                "the shadow run wrote no output `trips` at /s/trips",
            ),
        ];
        for (name, change, gates, message) in cases {
            let base = release();
            let mut record = release();
            let mut scratch = facts(&base);
            change(&mut scratch, &mut record);
            let f = Facts { release: &record, ..scratch };
            let decision = decide(&f);
            let got: Vec<Gate> = decision.refusals.iter().map(|r| r.gate).collect();
            assert_eq!(got, gates, "{name}");
            assert_eq!(decision.promote(), gates.is_empty(), "{name}");
            if let Some(first) = decision.refusals.first() {
                assert_eq!(first.message, message, "{name}");
                assert!(!first.fix.is_empty(), "{name}: every refusal says how to pass");
            }
        }
    }

    #[test]
    fn a_missing_cluster_run_says_to_apply_the_release_and_a_local_one_to_run_the_job() {
        let record = release();
        let mut f = facts(&record);
        f.source_run = None;
        let fix = |f: &Facts<'_>| decide(f).refusals.first().map(|r| r.fix.clone()).unwrap_or_default();
        assert_eq!(
            fix(&f),
            "run the job in staging until it and its quality gates pass (`sparkplane run etl.yaml --env staging`); \
             where staging is out of reach, `--from local` vouches with the job's last run on this machine \
             (`sparkplane run etl.yaml`)"
        );
        f.cluster_runs = true;
        assert_eq!(
            fix(&f),
            "apply the release in staging (`sparkplane apply etl.yaml --env staging --release \
             etl-staging-0123456789ab`) and let the operator run it until it and its quality gates pass"
        );
        f.source_run = Some(SourceRun {
            state: "failed".into(),
            quality_gates: QualityGates::Failed,
            release: RunRelease::Release("etl-staging-0123456789ab".into()),
            ..green_run()
        });
        assert_eq!(
            fix(&f),
            "fix what the failed checks found in the job's output (or the gate's data-quality spec, if a check is \
             wrong; `sparkplane dq check <spec>` runs it on data you have), release the fix, apply it in staging and \
             let the operator run it until its quality gates pass"
        );
    }

    #[test]
    fn every_failing_gate_is_reported_at_once_in_gate_order() {
        let mut record = release();
        record.ci = None;
        let mut f = facts(&record);
        f.source_run = None;
        f.denials = vec![Denial { policy: "p".into(), message: "m".into(), fix: "x".into() }];
        f.signature = SignatureCheck::Unsigned;
        f.candidate.commit = "other".into();
        f.shadow = Some(ShadowOutcome::NoCurrentOutput { name: "trips".into(), location: "data/trips".into() });
        let decision = decide(&f);
        let gates: Vec<Gate> = decision.refusals.iter().map(|r| r.gate).collect();
        assert_eq!(gates, Gate::ALL);
        assert!(decision.passed().is_empty());
    }

    #[test]
    fn a_run_of_another_spec_is_a_note_not_a_refusal() {
        let record = release();
        let mut f = facts(&record);
        f.source_run = Some(SourceRun { spec_hash: "99999999".into(), ..green_run() });
        let decision = decide(&f);
        assert!(decision.promote());
        assert_eq!(decision.passed(), Gate::ALL[..5], "the shadow gate is not judged without --shadow");
        assert_eq!(
            decision.notes,
            [
                "the last run in staging ran spec 99999999, the release is spec abcd1234: the run vouches for the job, not this exact spec"
            ]
        );
    }
}
