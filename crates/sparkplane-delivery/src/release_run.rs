//! `release` as one workflow (ADR 0069): the order in which a release's
//! facts are gathered, the release made from them, where it is stored and
//! which CDEvents it sends.
//!
//! The steps, in order: the environment (a release is for one); who
//! releases; the job rendered for it and passed through the policy gate;
//! the source commit; the CI report (a report that does not say `pass` is
//! warned about: promotion will refuse the release); the requirements; the
//! signing key (none is warned about: `verify` will refuse it); the release
//! made (`release::make`); it stored beside its job (the namespace the job
//! resolves to); and, only when it was new, its CDEvents ([`events`]).
//!
//! Owns: that order, the warnings, the rule for a `--commit` value
//! ([`commit_id`]), which CDEvents a release sends, and the outcome as
//! `release` reports it ([`Released::report_json`], [`Released::text`]).
//! Must not: read files,
//! run git, look at the clock, render, run policies, store or send anything
//! — the caller's [`ReleaseHost`] does (the CLI; tests a fake); nor put the
//! release together (`release::make`) or lay out the store (`store`).

use std::path::Path;

use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::Diagnostic;

use crate::cdevents::{Step, release_purl};
use crate::release::{self, Release, ReleaseInput};
use crate::release_record::{CiResult, ReleaseRecord, SBOM_FILE};
use crate::sbom::Requirement;
use crate::sign::PrivateKey;
use crate::store::PutOutcome;

/// What the workflow itself refuses: bad input (exit 2, nothing made or written).
#[derive(Clone, Debug)]
pub struct ReleaseProblem(pub Diagnostic);

/// What is released.
#[derive(Clone, Copy, Debug)]
pub struct ReleaseRequest<'a> {
    /// `--env`: the environment released; a release is for exactly one.
    pub environment: Option<&'a str>,
    /// The job file as given (recorded, not read).
    pub job_file: &'a str,
    /// sparkplane's version (in the SBOM's tools).
    pub tool_version: &'a str,
}

/// A CI report as the host read it.
#[derive(Clone, Debug)]
pub struct CiReportFile {
    /// Where it was read from (for messages).
    pub path: String,
    /// Its bytes, as `sparkplane ci --format json` wrote them.
    pub bytes: Vec<u8>,
}

/// Where a release was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Whether it was new there, or the same release was already stored.
    pub outcome: PutOutcome,
    /// Its directory, for a directory store (the SBOM's location in its CDEvents).
    pub dir: Option<String>,
}

/// The I/O a release needs, behind one interface.
pub trait ReleaseHost {
    /// The host's error; the workflow's own refusals convert into it.
    type Error: From<ReleaseProblem>;
    /// Who releases.
    fn released_by(&mut self) -> Result<String, Self::Error>;
    /// The job rendered for `env` by the one render step (its warnings shown).
    fn render(&mut self, env: &str) -> Result<(ResolvedJob, Vec<RenderedObject>), Self::Error>;
    /// The policy gate `render` runs; a deny refuses (the host's error).
    fn policy_gate(&mut self, job: &ResolvedJob, objects: &[RenderedObject]) -> Result<(), Self::Error>;
    /// The source commit (`--commit`, checked with [`commit_id`], else the checkout's HEAD).
    fn commit(&mut self) -> Result<String, Self::Error>;
    /// The CI report, when one is given.
    fn ci_report(&mut self) -> Result<Option<CiReportFile>, Self::Error>;
    /// The job's Python requirements, and the file they were read from.
    fn requirements(&mut self) -> Result<(Vec<Requirement>, Option<String>), Self::Error>;
    /// The signing key, when one is given.
    fn key(&mut self) -> Result<Option<PrivateKey>, Self::Error>;
    /// Now, RFC 3339 UTC.
    fn now(&mut self) -> String;
    /// Stores `release` in the store the flags pick, a cluster store in `namespace` unless told another.
    fn store(&mut self, release: &Release, namespace: &str) -> Result<Stored, Self::Error>;
    /// Says something worth knowing that does not change the outcome.
    fn note(&mut self, line: &str);
}

/// A release made and stored.
#[derive(Clone, Debug)]
pub struct Released {
    /// The release.
    pub release: Release,
    /// Where and whether it was written.
    pub stored: Stored,
    /// The requirements file read, when there was one.
    pub requirements_file: Option<String>,
    /// The CDEvents to send: none when the release was already stored.
    pub events: Vec<Step>,
}

impl Released {
    /// The release as `release -o json` gives it; `config_map` is its
    /// `<namespace>/<name>` in a cluster store.
    pub fn report_json(&self, config_map: Option<&str>) -> serde_json::Value {
        let record = &self.release.record;
        serde_json::json!({
            "id": record.id, "dir": self.stored.dir,
            "configMap": config_map,
            "written": self.stored.outcome == PutOutcome::Created,
            "contentHash": record.content_hash, "image": record.image.reference, "commit": record.source.commit,
            "sbomDigest": record.sbom.digest, "signedBy": record.signed_by,
            "requirements": self.requirements_file,
        })
    }

    /// What `release` says it made (or found already made), and where
    /// (`place`: its directory, or `ConfigMap <namespace>/<name>`).
    pub fn text(&self, place: &str) -> String {
        let record = &self.release.record;
        let signed = record.signed_by.as_deref().map_or("unsigned".to_owned(), |k| format!("signed by key {k}"));
        let head = if self.stored.outcome == PutOutcome::Created {
            format!("released {}", record.id)
        } else {
            format!("{} was already released (same spec, commit and CI report); kept as it was", record.id)
        };
        format!(
            "{head}\n  job {} for {}, commit {}\n  image {}\n  content {}\n  sbom {}\n  {signed}\nin {}\n",
            record.job,
            record.environment,
            record.source.commit,
            if record.image.reference.is_empty() { "-" } else { &record.image.reference },
            record.content_hash,
            record.sbom.digest,
            place
        )
    }
}

/// A commit id as `--commit` gives it: trimmed, not empty, and only
/// letters, digits and `-_./` (a SHA, a tag or a ref name). None when it is
/// no commit id.
pub fn commit_id(given: &str) -> Option<&str> {
    let commit = given.trim();
    let usable = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/');
    (!commit.is_empty() && commit.bytes().all(usable)).then_some(commit)
}

/// A new release's CDEvents: packaged (from its commit, with its SBOM),
/// signed (when it is), published (stored where deployments read it). `dir`
/// is the release's directory in a directory store, where its SBOM is.
pub fn events(record: &ReleaseRecord, signature: &str, dir: Option<&str>) -> Vec<Step> {
    let artifact = release_purl(&record.job, &record.id);
    let sbom = dir.map(|d| Path::new(d).join(SBOM_FILE).display().to_string());
    let mut steps = vec![Step::ArtifactPackaged {
        artifact: artifact.clone(),
        commit: record.source.commit.clone(),
        sbom: sbom.clone(),
    }];
    if !signature.trim().is_empty() {
        steps.push(Step::ArtifactSigned { artifact: artifact.clone(), signature: signature.trim().to_owned() });
    }
    steps.push(Step::ArtifactPublished { artifact, user: Some(record.released_by.clone()), sbom });
    steps
}

/// The CI report read for `job`, warned about unless it says `pass`.
fn ci_result<H: ReleaseHost>(host: &mut H, job: &str) -> Result<Option<CiResult>, H::Error> {
    let Some(report) = host.ci_report()? else { return Ok(None) };
    let ci = release::ci_result(&report.bytes, job).map_err(|e| {
        ReleaseProblem(
            Diagnostic::error("bad-ci-report", "--ci-report", format!("{}: {e}", report.path))
                .with_help("pass the file `sparkplane ci --format json` wrote for this job"),
        )
    })?;
    if ci.outcome != "pass" {
        host.note(&format!(
            "warning: the CI report says `{}`; promotion will refuse this release until CI passes",
            ci.outcome
        ));
    }
    Ok(Some(ci))
}

/// Runs a release: its facts gathered, the release made and stored, and —
/// when it is new — its CDEvents picked. The caller prints and sends them.
pub fn run<H: ReleaseHost>(request: &ReleaseRequest<'_>, host: &mut H) -> Result<Released, H::Error> {
    let Some(env) = request.environment else {
        let problem = Diagnostic::error("bad-flag", "--env", "a release is for one environment");
        return Err(ReleaseProblem(problem.with_help("pass --env prod")).into());
    };
    let by = host.released_by()?;
    // The one load step and policy gate `render` runs: a tag-only image is refused for prod here.
    let (resolved, objects) = host.render(env)?;
    host.policy_gate(&resolved, &objects)?;
    let commit = host.commit()?;
    let ci = ci_result(host, resolved.name())?;
    let (requirements, requirements_file) = host.requirements()?;
    let key = host.key()?;
    if key.is_none() {
        host.note("warning: no --key: the release is not signed, and `sparkplane verify` will refuse it");
    }
    let released_at = host.now();
    let made = release::make(&ReleaseInput {
        resolved: &resolved,
        environment: env,
        job_file: request.job_file,
        commit: &commit,
        ci: ci.as_ref(),
        requirements: &requirements,
        released_by: &by,
        released_at: &released_at,
        key: key.as_ref(),
        tool_version: request.tool_version,
    });
    // Releases live beside the job they were made for (ADR 0031).
    let stored = host.store(&made, resolved.namespace())?;
    let events = match stored.outcome {
        PutOutcome::Created => events(&made.record, &made.files.record_signature, stored.dir.as_deref()),
        PutOutcome::Unchanged => Vec::new(),
    };
    Ok(Released { release: made, stored, requirements_file, events })
}

#[cfg(test)]
#[path = "release_run_tests.rs"]
mod tests;
