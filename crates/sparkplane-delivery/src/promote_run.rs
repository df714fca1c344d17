//! `promote` as one workflow (ADR 0069): the order in which a promotion's
//! facts are gathered and its gates judged, whether the shadow run is made,
//! the deployment record it writes and the CDEvent it picks.
//!
//! The steps, in order: the release read; the job rendered for the target
//! and resolved for the source and the release's own environment (bad input
//! — a release of another job, a promotion to its own environment — is
//! refused before any gate is judged or anything written); who, which
//! commit, the trusted keys and the shadow plan; every gate judged
//! (`promote::decide`); the target's deployments log read; the shadow run
//! made only once every other gate holds and the target does not already run
//! the release, then the gates judged again with it; then either the refusal
//! (`incident.detected`), nothing (the release is already current), or the
//! deployment recorded with its manifests (`service.deployed` the first time,
//! `service.upgraded` after).
//!
//! Owns: that order, those decisions, the deployment record's fields, the
//! key a signature is checked with ([`check_signature`]), and the outcome as
//! `promote` reports it ([`Promotion::report_json`], [`Promotion::text`],
//! [`Promotion::refusals`]). Must not: read
//! files or stores, render, run policies or Spark, talk to a cluster, send
//! events or print — the caller's [`PromoteHost`] does (the CLI; tests a
//! fake); nor judge a gate (`promote` does) or lay out the log (`deployments`).

use sparkplane_core::image::ImageRef;
use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::Diagnostic;

use crate::cdevents::{Step, release_purl};
use crate::deployments::{self, Action, Change, DeploymentRecord};
use crate::promote::{self, Candidate, Decision, Denial, Facts, Gate, SignatureCheck, SourceRun};
use crate::release_record::ReleaseRecord;
use crate::release_verify::{self, Verdict};
use crate::shadow::ShadowOutcome;
use crate::sign::{PublicKey, sha256_digest};
use crate::store::StoredRelease;

/// What the workflow itself refuses: bad input (exit 2, nothing judged or written).
#[derive(Clone, Debug)]
pub struct PromoteProblem(pub Diagnostic);

/// What is promoted where.
#[derive(Clone, Copy, Debug)]
pub struct PromoteRequest<'a> {
    /// The release's id.
    pub release: &'a str,
    /// The target environment.
    pub to: &'a str,
    /// The source environment; default the release's.
    pub from: Option<&'a str>,
    /// The job file as given (for messages and fixes).
    pub job_file: &'a str,
}

/// A deployment as the log wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Its sequence number in the log.
    pub sequence: u64,
    /// Where its manifests are (a folder, or ConfigMaps).
    pub manifests: String,
}

/// The I/O a promotion needs, behind one interface.
pub trait PromoteHost {
    /// The host's error; the workflow's own refusals convert into it.
    type Error: From<PromoteProblem>;
    /// A shadow run planned before any gate is judged.
    type ShadowPlan;
    /// Release `id` as stored and its record (the host names its store in errors).
    fn release(&mut self, id: &str) -> Result<(StoredRelease, ReleaseRecord), Self::Error>;
    /// The job rendered for `env` by the one render step (its warnings shown).
    fn render(&mut self, env: &str) -> Result<(ResolvedJob, Vec<RenderedObject>), Self::Error>;
    /// The job resolved and validated for `env` as a cluster job.
    fn resolve(&mut self, env: &str) -> Result<ResolvedJob, Self::Error>;
    /// Who promotes.
    fn deployed_by(&mut self) -> Result<String, Self::Error>;
    /// The commit the job file is at.
    fn commit(&mut self) -> Result<String, Self::Error>;
    /// The keys trusted for the target.
    fn trusted_keys(&mut self) -> Result<Vec<PublicKey>, Self::Error>;
    /// The shadow run of `release`, when one is asked for (a bad declaration is an error).
    fn plan_shadow(&mut self, release: &str) -> Result<Option<Self::ShadowPlan>, Self::Error>;
    /// Whether the source environment's runs are the operator's rather than this machine's.
    fn cluster_runs(&self) -> bool;
    /// The last run of `job` in `env` (the operator's or this machine's, as [`Self::cluster_runs`] says).
    fn source_run(&mut self, job: &str, env: &str) -> Result<Option<SourceRun>, Self::Error>;
    /// The target's deny policies that fail for `job` (warnings shown).
    fn denials(&mut self, job: &ResolvedJob, objects: &[RenderedObject]) -> Result<Vec<Denial>, Self::Error>;
    /// The deployments log of `job` in `env`, kept in `namespace` for a cluster store; oldest first.
    fn deployments(&mut self, job: &str, env: &str, namespace: &str) -> Result<Vec<DeploymentRecord>, Self::Error>;
    /// Makes the planned shadow run and compares its outputs.
    fn run_shadow(&mut self, plan: &Self::ShadowPlan) -> Result<ShadowOutcome, Self::Error>;
    /// Appends `record` with `files` to the log [`Self::deployments`] read.
    fn record(&mut self, record: DeploymentRecord, files: &[(String, String)]) -> Result<Recorded, Self::Error>;
    /// Writes the manifests where `--out-dir` says (the paths written; none without it).
    fn write_out(&mut self, objects: &[RenderedObject], job: &str) -> Result<Vec<String>, Self::Error>;
    /// Now, RFC 3339 UTC.
    fn now(&mut self) -> String;
    /// Says something worth knowing that does not change the outcome.
    fn note(&mut self, line: &str);
}

/// How a promotion ended.
#[derive(Clone, Debug)]
pub enum Promotion {
    /// A gate refused (exit 1); `event` is the `incident.detected` to send.
    Refused {
        /// The release.
        release: String,
        /// The gates' decision.
        decision: Decision,
        /// How the shadow run ended, when it was made.
        shadow: Option<ShadowOutcome>,
        /// The CDEvent.
        event: Step,
    },
    /// The target already runs the release: nothing written.
    Current {
        /// The release.
        release: String,
        /// The current deployment's sequence.
        sequence: u64,
    },
    /// The deployment was recorded.
    Promoted(Promoted),
}

/// A recorded promotion.
#[derive(Clone, Debug)]
pub struct Promoted {
    /// The release.
    pub release: String,
    /// The source environment.
    pub source: String,
    /// The deployment as written.
    pub recorded: Recorded,
    /// Whether it is the first deployment in the target.
    pub first: bool,
    /// The manifests written to `--out-dir`.
    pub out: Vec<String>,
    /// The gates that held, in gate order.
    pub passed: Vec<Gate>,
    /// How the shadow run ended, when it was made.
    pub shadow: Option<ShadowOutcome>,
    /// The CDEvent: `service.deployed` or `service.upgraded`.
    pub event: Step,
}

/// How the release checks against the trusted keys: `release_verify` judges;
/// this picks the key the release names.
pub fn check_signature(stored: &StoredRelease, record: &ReleaseRecord, keys: &[PublicKey]) -> SignatureCheck {
    let Some(signed_by) = &record.signed_by else { return SignatureCheck::Unsigned };
    if keys.is_empty() {
        return SignatureCheck::NoTrustedKeys;
    }
    let Some(key) = keys.iter().find(|k| k.key_id() == *signed_by) else {
        return SignatureCheck::Untrusted(signed_by.clone());
    };
    match release_verify::verify(stored, key) {
        Verdict::Valid(_) => SignatureCheck::Verified(key.key_id()),
        Verdict::Invalid(_, problems) => {
            SignatureCheck::Invalid(problems.into_iter().map(|p| format!("{}: {}", p.field, p.message)).collect())
        }
        Verdict::Unreadable(message) => SignatureCheck::Invalid(vec![message]),
    }
}

/// Manifests as the files of a deployment (`manifests/<object file>`).
pub fn manifest_files(objects: &[RenderedObject]) -> Vec<(String, String)> {
    objects
        .iter()
        .map(|o| (format!("manifests/{}", o.file_name()), sparkplane_documents::yaml::to_yaml(&o.body)))
        .collect()
}

fn invalid(path: &str, code: &'static str, message: String, help: String) -> PromoteProblem {
    PromoteProblem(Diagnostic::error(code, path, message).with_help(help))
}

/// The refusal's `incident.detected`.
fn incident(record: &ReleaseRecord, to: &str, decision: &Decision) -> Step {
    let gates: Vec<&str> = decision.refusals.iter().map(|r| r.gate.as_str()).collect();
    Step::IncidentDetected {
        incident: format!("promote/{}/{to}/{}", record.job, record.id),
        description: format!(
            "promotion of {} to {to} refused by {} gate{}: {}",
            record.id,
            gates.len(),
            if gates.len() == 1 { "" } else { "s" },
            gates.join(", ")
        ),
        environment: to.to_owned(),
        service: Some(record.job.clone()),
        artifact: Some(release_purl(&record.job, &record.id)),
    }
}

/// The new deployment's record: the release as resolved for the target now.
fn deployment(
    record: &ReleaseRecord,
    resolved: &ResolvedJob,
    to: &str,
    source: &str,
    by: String,
    at: String,
) -> DeploymentRecord {
    DeploymentRecord {
        api_version: sparkplane_api::API_VERSION.to_owned(),
        kind: deployments::KIND.to_owned(),
        sequence: 0,
        job: record.job.clone(),
        environment: to.to_owned(),
        namespace: resolved.namespace().to_owned(),
        action: Action::Promote,
        release: record.id.clone(),
        content_hash: record.content_hash.clone(),
        spec_hash: resolved.spec_hash(),
        image: record.image.reference.clone(),
        commit: record.source.commit.clone(),
        sbom_digest: record.sbom.digest.clone(),
        signed_by: record.signed_by.clone(),
        from: Some(source.to_owned()),
        rollback_of: None,
        deployed_by: by,
        deployed_at: at,
        spec: serde_json::to_value(&resolved.job).unwrap_or_default(),
    }
}

/// Runs a promotion: every gate judged, all refusals at once; when all hold,
/// the deployment recorded and its manifests written. The caller prints the
/// outcome and sends its event.
pub fn run<H: PromoteHost>(request: &PromoteRequest<'_>, host: &mut H) -> Result<Promotion, H::Error> {
    let (stored, record) = host.release(request.release)?;
    let source = request.from.map_or_else(|| record.environment.clone(), str::to_owned);
    // Bad input first (exit 2), before any gate is judged or anything written.
    let (resolved, objects) = host.render(request.to)?;
    if source != record.environment {
        host.resolve(&source)?;
    }
    // The job file as the release's own environment resolves it now: the release must be exactly that.
    let released = host.resolve(&record.environment)?;
    if record.job != resolved.name() {
        return Err(invalid(
            "--release",
            "wrong-job",
            format!("release {} is of job `{}`, not `{}`", record.id, record.job, resolved.name()),
            format!("pass a release of `{}` (`sparkplane releases {}`)", resolved.name(), request.job_file),
        )
        .into());
    }
    if source == request.to {
        return Err(invalid(
            "--to",
            "bad-flag",
            format!("the release would be promoted from {source} to itself"),
            "pass --to another environment (and --from the one it comes from)".into(),
        )
        .into());
    }
    let by = host.deployed_by()?;
    let commit = host.commit()?;
    let keys = host.trusted_keys()?;
    let shadow_plan = host.plan_shadow(&record.id)?;
    let facts = Facts {
        release: &record,
        source: &source,
        target: request.to,
        job_file: request.job_file,
        source_run: host.source_run(&record.job, &source)?,
        cluster_runs: host.cluster_runs(),
        denials: host.denials(&resolved, &objects)?,
        signature: check_signature(&stored, &record, &keys),
        candidate: Candidate {
            commit,
            image_digest: resolved.job.spec.image.as_ref().and_then(ImageRef::of).and_then(|i| i.digest),
            sbom_digest: sha256_digest(stored.sbom.as_bytes()),
            source_spec: serde_json::to_value(&released.job).unwrap_or_default(),
        },
        shadow: None,
    };
    let mut decision = promote::decide(&facts);
    let history = host.deployments(&record.job, request.to, resolved.namespace())?;
    let change = deployments::change(&history, &record.id);
    // The shadow run costs a whole run of the job: it is made only once every other gate holds, and not for
    // a release the target already runs.
    let shadow = match &shadow_plan {
        Some(plan) if decision.promote() && change != Change::Current => Some(host.run_shadow(plan)?),
        Some(_) if !decision.promote() => {
            host.note("note: the shadow run was not made: other gates refuse");
            None
        }
        _ => None,
    };
    if shadow.is_some() {
        decision = promote::decide(&Facts { shadow: shadow.clone(), ..facts });
    }
    for note in &decision.notes {
        host.note(&format!("note: {note}"));
    }
    if !decision.promote() {
        let event = incident(&record, request.to, &decision);
        return Ok(Promotion::Refused { release: record.id, decision, shadow, event });
    }
    if change == Change::Current {
        let sequence = history.last().map_or(0, |d| d.sequence);
        return Ok(Promotion::Current { release: record.id, sequence });
    }
    let new = deployment(&record, &resolved, request.to, &source, by, host.now());
    let recorded = host.record(new, &manifest_files(&objects))?;
    let out = host.write_out(&objects, &record.job)?;
    let (service, environment, artifact) =
        (record.job.clone(), request.to.to_owned(), release_purl(&record.job, &record.id));
    let event = match change {
        Change::First => Step::ServiceDeployed { service, environment, artifact },
        _ => Step::ServiceUpgraded { service, environment, artifact },
    };
    Ok(Promotion::Promoted(Promoted {
        release: record.id,
        source,
        recorded,
        first: change == Change::First,
        out,
        passed: decision.passed(),
        shadow,
        event,
    }))
}

impl Promotion {
    /// The outcome as `promote -o json` gives it, for a promotion to `to`.
    pub fn report_json(&self, to: &str) -> serde_json::Value {
        use serde_json::json;
        match self {
            Promotion::Refused { release, decision, shadow, .. } => json!({
                "promoted": false, "release": release, "to": to,
                "passed": decision.passed().iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                "refused": decision.refusals.iter().map(|r| json!({"gate": r.gate.as_str(), "message": r.message, "fix": r.fix})).collect::<Vec<_>>(),
                "shadow": crate::shadow_run::report_json(shadow.as_ref()),
            }),
            Promotion::Current { release, sequence } => {
                json!({"promoted": false, "release": release, "to": to, "current": sequence})
            }
            Promotion::Promoted(done) => {
                let (manifests, sequence) = (&done.recorded.manifests, done.recorded.sequence);
                let passed: Vec<&str> = done.passed.iter().map(|g| g.as_str()).collect();
                json!({
                    "promoted": true, "release": done.release, "from": done.source, "to": to, "sequence": sequence,
                    "first": done.first, "dir": manifests.strip_suffix("/manifests"), "manifests": manifests,
                    "outDir": done.out, "passed": passed, "shadow": crate::shadow_run::report_json(done.shadow.as_ref()),
                })
            }
        }
    }

    /// What `promote` says of the outcome (a refusal's gates are its refusals' diagnostics).
    pub fn text(&self, to: &str) -> String {
        match self {
            Promotion::Refused { shadow, .. } => crate::shadow_run::report_lines(shadow.as_ref()),
            Promotion::Current { release, sequence } => {
                format!("{to} already runs {release} (deployment {sequence}); nothing written\n")
            }
            Promotion::Promoted(done) => {
                let (manifests, sequence) = (&done.recorded.manifests, done.recorded.sequence);
                let passed: Vec<&str> = done.passed.iter().map(|g| g.as_str()).collect();
                let mut text = format!(
                    "promoted {} from {} to {to} (deployment {sequence}{})\n  gates passed: {}\n  manifests in {manifests}\n",
                    done.release,
                    done.source,
                    if done.first { ", the first there" } else { "" },
                    passed.join(", "),
                );
                text.push_str(&crate::shadow_run::report_lines(done.shadow.as_ref()));
                text.extend(done.out.iter().map(|p| format!("wrote {p}\n")));
                text
            }
        }
    }

    /// A refusal's gates as errors, each with its fix (none for another outcome).
    pub fn refusals(&self) -> sparkplane_documents::Diagnostics {
        let Promotion::Refused { decision, .. } = self else { return sparkplane_documents::Diagnostics::new() };
        let errors = decision
            .refusals
            .iter()
            .map(|r| Diagnostic::error("promotion-gate", r.gate.as_str(), r.message.clone()).with_help(r.fix.clone()));
        sparkplane_documents::Diagnostics(errors.collect())
    }
}

#[cfg(test)]
#[path = "promote_run_tests.rs"]
mod tests;
