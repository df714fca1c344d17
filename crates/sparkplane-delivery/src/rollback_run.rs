//! `rollback` as one workflow: who rolls back, the environment's deployments
//! log read, the deployment to go back to chosen (`deployments::
//! rollback_target`: the release named, else the last other one), its spec
//! rendered again by the one render step exactly as it was deployed,
//! recorded as a new deployment (`action: rollback`, `rollbackOf`) with its
//! manifests, written where `--out-dir` says, and `service.rolledback`
//! picked; and the outcome as `rollback` reports it.
//!
//! Owns: that order, the new record's fields, which refusal is bad input
//! (a release never deployed there: exit 2) and which is a failed request
//! (nothing to go back to: exit 1). Must not: read or write the log or files,
//! send events or print — the caller's [`RollbackHost`] does (the CLI;
//! tests a fake) — nor choose the target (`deployments` does).

use serde_json::{Value, json};
use sparkplane_core::render::{RenderedObject, Target, size_and_render};
use sparkplane_documents::Diagnostic;

use crate::cdevents::{Step, release_purl};
use crate::deployments::{Action, DeploymentRecord, RollbackError, rollback_target};
use crate::promote_run::{Recorded, manifest_files};

/// What the workflow itself refuses.
#[derive(Clone, Debug)]
pub enum RollbackProblem {
    /// Bad input: the release named was never deployed there (exit 2).
    Invalid(Diagnostic),
    /// Nothing to go back to, or a deployment that cannot be rendered again (exit 1).
    Failed(Diagnostic),
}

/// What is rolled back where.
#[derive(Clone, Copy, Debug)]
pub struct RollbackRequest<'a> {
    /// The job's name.
    pub job: &'a str,
    /// The job as the command was given it (a file or a name), for fixes.
    pub job_arg: &'a str,
    /// The environment.
    pub environment: &'a str,
    /// The release to go back to; default the last other one.
    pub to: Option<&'a str>,
}

/// The I/O a rollback needs, behind one interface.
pub trait RollbackHost {
    /// The host's error; the workflow's own refusals convert into it.
    type Error: From<RollbackProblem>;
    /// Who rolls back.
    fn deployed_by(&mut self) -> Result<String, Self::Error>;
    /// The environment's deployments log, oldest first.
    fn deployments(&mut self) -> Result<Vec<DeploymentRecord>, Self::Error>;
    /// Appends `record` with `files` to that log.
    fn record(&mut self, record: DeploymentRecord, files: &[(String, String)]) -> Result<Recorded, Self::Error>;
    /// Writes the manifests where `--out-dir` says (the paths written; none without it).
    fn write_out(&mut self, objects: &[RenderedObject], job: &str) -> Result<Vec<String>, Self::Error>;
    /// Now, RFC 3339 UTC.
    fn now(&mut self) -> String;
}

/// A recorded rollback.
#[derive(Clone, Debug, PartialEq)]
pub struct RolledBack {
    /// The release deployed again.
    pub release: String,
    /// The deployment as written.
    pub recorded: Recorded,
    /// The deployment whose release it went back to.
    pub rollback_of: u64,
    /// The deployment it replaced (the log's last before it; 0 for none).
    pub replaced: u64,
    /// The manifests written to `--out-dir`.
    pub out: Vec<String>,
    /// The CDEvent: `service.rolledback`.
    pub event: Step,
}

/// Runs a rollback over `host`.
pub fn run<H: RollbackHost>(request: &RollbackRequest<'_>, host: &mut H) -> Result<RolledBack, H::Error> {
    let (job, env) = (request.job, request.environment);
    let by = host.deployed_by()?;
    let history = host.deployments()?;
    let target = rollback_target(&history, request.to, job, env).map_err(|e| match e {
        RollbackError::NeverDeployed { .. } => RollbackProblem::Invalid(
            Diagnostic::error("unknown-release", "--to", e.to_string())
                .with_help(format!("pass a release `sparkplane deployments {} --env {env}` lists", request.job_arg)),
        ),
        _ => RollbackProblem::Failed(
            Diagnostic::error("nothing-to-roll-back", "", e.to_string())
                .with_help(format!("promote a release to {env} first (`sparkplane promote`)")),
        ),
    })?;
    let replaced = history.last().map_or(0, |d| d.sequence);
    let resolved = target.resolved_job().map_err(|e| {
        RollbackProblem::Failed(
            Diagnostic::error(
                "bad-deployment",
                "spec",
                format!("deployment {} of {job} in {env}: {e}", target.sequence),
            )
            .with_help("roll back to another release with --to"),
        )
    })?;
    let objects = size_and_render(&resolved, Target::Native);
    let record = DeploymentRecord {
        sequence: 0,
        action: Action::Rollback,
        from: None,
        rollback_of: Some(target.sequence),
        deployed_by: by,
        deployed_at: host.now(),
        ..target.clone()
    };
    let release = record.release.clone();
    let recorded = host.record(record, &manifest_files(&objects))?;
    let out = host.write_out(&objects, job)?;
    let event = Step::ServiceRolledBack {
        service: job.to_owned(),
        environment: env.to_owned(),
        artifact: release_purl(job, &release),
    };
    Ok(RolledBack { release, recorded, rollback_of: target.sequence, replaced, out, event })
}

impl RolledBack {
    /// `rollback -o json`'s answer for `environment`.
    pub fn report_json(&self, environment: &str) -> Value {
        let manifests = &self.recorded.manifests;
        json!({
            "rolledBack": true, "release": self.release, "env": environment, "sequence": self.recorded.sequence,
            "rollbackOf": self.rollback_of, "replaced": self.replaced, "dir": manifests.strip_suffix("/manifests"),
            "manifests": manifests, "outDir": self.out,
        })
    }

    /// What `rollback` says it did to `job` in `environment`.
    pub fn text(&self, job: &str, environment: &str) -> String {
        let mut text = format!(
            "rolled {job} in {environment} back to {} (deployment {} again, recorded as {})\n  manifests in {}\n",
            self.release, self.rollback_of, self.recorded.sequence, self.recorded.manifests
        );
        text.extend(self.out.iter().map(|p| format!("wrote {p}\n")));
        text
    }
}

#[cfg(test)]
#[path = "rollback_run_tests.rs"]
mod tests;
