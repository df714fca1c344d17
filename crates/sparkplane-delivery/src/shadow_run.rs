//! `promote --shadow`'s shadow run as one workflow (ADR 0040): the candidate
//! run on the same input with its declared outputs redirected ([`plan`]),
//! both outputs read and compared ([`run`]).
//!
//! The run is made in one of two places:
//! - on this machine ([`Place::Local`]), with outputs under
//!   `.sparkplane/shadow/<release>/` next to the job file;
//! - in the cluster ([`Place::Cluster`]): as a SparkJob `<job>-shadow`
//!   ([`shadow_job`]) in the namespace the job resolves to, run by the
//!   operator like any other, with outputs under
//!   `<scheme>://<bucket>/.sparkplane/shadow/<release>/` in the first declared
//!   output's bucket ([`cluster_root`]), since a cluster job writes to object
//!   storage, never to this machine.
//!
//! Owns: the shadow environment, name and location rules, the spec rewrite
//! into the shadow SparkJob, the order of the steps (an earlier shadow
//! SparkJob deleted and gone before the outputs are cleared and the new one
//! applied; the SparkJob deleted once its run ended) and what each end of the
//! run means. Must not: read files or data, run Spark, talk to a cluster or
//! print — the caller's [`ShadowHost`] does (the CLI; tests a fake); nor
//! judge the shadow gate (`promote`) or compare outputs itself (`shadow`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sparkplane_api::SparkJob;
use sparkplane_api::dq::DqSpec;
use sparkplane_api::job::{JobState, ShadowBounds, SparkJobStatus};
use sparkplane_core::names::MAX_JOB_NAME;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::Diagnostic;
use sparkplane_storage::Location;

use crate::shadow::{self, Observation, OutputComparison, ShadowOutcome};

/// What the shadow SparkJob's name adds to the job's.
pub const SHADOW_SUFFIX: &str = "-shadow";

/// How long a shadow SparkJob may wait for an operator to take it up (or,
/// once deleted, for its finalizers to let it go).
pub const PICK_UP: Duration = Duration::from_secs(120);

/// Where the shadow run is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// On this machine, as `sparkplane run`.
    Local,
    /// In the cluster, through the operator.
    Cluster,
}

/// What the workflow itself refuses.
#[derive(Clone, Debug)]
pub enum ShadowProblem {
    /// The declaration is missing or wrong (exit 2, nothing run).
    Invalid(Diagnostic),
    /// The cluster did not do its part in time (exit 3).
    Unreachable(Diagnostic),
}

/// One output of the shadow run: its name, its data-quality spec and that
/// spec's folder, and where the candidate writes it.
#[derive(Clone, Debug)]
pub struct ShadowOutput {
    /// The data-quality spec's name.
    pub name: String,
    /// The data-quality spec that reads the output.
    pub spec: DqSpec,
    /// The spec's folder (its dataset path is relative to it).
    pub base: PathBuf,
    /// The shadow location the candidate writes the output to.
    pub location: String,
}

impl ShadowOutput {
    /// Where the current output is: the spec's object-store URL, or its
    /// path under the spec's folder.
    pub fn current_location(&self) -> String {
        match Location::parse(&self.spec.dataset.path) {
            Ok(l) if l.is_remote() => self.spec.dataset.path.clone(),
            _ => self.base.join(&self.spec.dataset.path).display().to_string(),
        }
    }
}

/// The shadow run, planned before any gate is judged.
#[derive(Clone, Debug)]
pub struct ShadowPlan {
    /// The job resolved for the shadow environment, outputs redirected.
    pub job: ResolvedJob,
    /// That environment.
    pub env: String,
    /// The redirected outputs, in declaration order.
    pub outputs: Vec<ShadowOutput>,
    /// How far the candidate's outputs may differ.
    pub bounds: ShadowBounds,
    /// The shadow location: a folder on this machine, or an object-store URL.
    pub root: String,
    /// The release the run is for.
    pub release: String,
    /// Where the run is made.
    pub place: Place,
}

/// What [`plan`] is asked for.
#[derive(Clone, Copy, Debug)]
pub struct ShadowRequest<'a> {
    /// Where the run is made.
    pub place: Place,
    /// `--shadow-env`.
    pub env: Option<&'a str>,
    /// The target environment (`--to`).
    pub to: &'a str,
    /// The job file as given (for messages).
    pub job_file: &'a Path,
    /// The job file's folder, absolute.
    pub job_dir: &'a Path,
    /// The release's id.
    pub release: &'a str,
}

/// How a run on this machine ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalRunEnd {
    /// Its run id.
    pub run_id: String,
    /// None when it succeeded; else its state and why, in words.
    pub failure: Option<String>,
}

/// The I/O the shadow run needs, behind one interface.
pub trait ShadowHost {
    /// The host's error; the workflow's own refusals convert into it.
    type Error: From<ShadowProblem>;
    /// The job resolved and validated for `env` (for a run on this machine or in a cluster).
    fn resolve(&mut self, env: &str, place: Place) -> Result<ResolvedJob, Self::Error>;
    /// The data-quality spec in `path`.
    fn load_output_spec(&mut self, path: &Path) -> Result<DqSpec, Self::Error>;
    /// Reads an output: the current one, or the candidate's at its shadow location (None: there is none).
    fn observe(&mut self, output: &ShadowOutput, candidate: bool) -> Result<Option<Observation>, Self::Error>;
    /// Clears the plan's root and runs the job on this machine, marking the run as the release's shadow run.
    fn run_here(&mut self, plan: &ShadowPlan) -> Result<LocalRunEnd, Self::Error>;
    /// Deletes a SparkJob (nothing when there is none).
    fn delete_job(&mut self, namespace: &str, name: &str) -> Result<(), Self::Error>;
    /// Waits until a SparkJob is gone; false when it is still there after `limit`.
    fn wait_gone(&mut self, namespace: &str, name: &str, limit: Duration) -> Result<bool, Self::Error>;
    /// Removes what is stored under an output's shadow location.
    fn clear_output(&mut self, location: &str) -> Result<(), Self::Error>;
    /// Creates or updates a SparkJob (its namespace set).
    fn apply_job(&mut self, job: &SparkJob) -> Result<(), Self::Error>;
    /// Waits until a SparkJob's run ended; None when it had no state after `limit`.
    fn wait_ended(
        &mut self,
        namespace: &str,
        name: &str,
        limit: Duration,
    ) -> Result<Option<SparkJobStatus>, Self::Error>;
    /// A progress line or warning for the user.
    fn status(&mut self, line: &str);
}

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> ShadowProblem {
    ShadowProblem::Invalid(Diagnostic::error(code, path, message).with_help(help))
}

/// The environment the shadow run resolves the job for: `--shadow-env`, else
/// `local` on this machine and the target environment in the cluster.
pub fn shadow_env(place: Place, env: Option<&str>, to: &str) -> String {
    match (env, place) {
        (Some(env), _) => env.to_owned(),
        (None, Place::Local) => "local".to_owned(),
        (None, Place::Cluster) => to.to_owned(),
    }
}

/// The shadow SparkJob's name for job `job`.
pub fn shadow_name(job: &str) -> String {
    format!("{job}{SHADOW_SUFFIX}")
}

/// The shadow SparkJob's name, refused (exit 2) when longer than a job name may be.
pub fn cluster_name(job: &str) -> Result<String, ShadowProblem> {
    let name = shadow_name(job);
    if name.len() <= MAX_JOB_NAME {
        return Ok(name);
    }
    Err(invalid(
        "shadow-name",
        "metadata.name",
        format!("the shadow SparkJob `{name}` would be longer than the {MAX_JOB_NAME} characters a job name may have"),
        format!(
            "shorten the job's name to at most {} characters, or make the shadow run on this machine \
             (--shadow-in local)",
            MAX_JOB_NAME - SHADOW_SUFFIX.len()
        ),
    ))
}

/// The shadow location on this machine: `.sparkplane/shadow/<release>` in the job file's folder.
pub fn local_root(job_dir: &Path, release: &str) -> String {
    job_dir.join(".sparkplane").join("shadow").join(release).display().to_string()
}

/// The shadow location in the cluster: `.sparkplane/shadow/<release>` in the
/// bucket of the first output, written with the scheme the job uses. Exit 2
/// when that output is not in object storage.
pub fn cluster_root(first: &str, env: &str, release: &str) -> Result<String, ShadowProblem> {
    let remote = Location::parse(first).is_ok_and(|l| l.is_remote());
    let split = first.split_once("://").and_then(|(scheme, rest)| {
        let bucket = rest.split('/').next().filter(|b| !b.is_empty())?;
        Some(format!("{scheme}://{bucket}"))
    });
    match split {
        Some(bucket) if remote => Ok(format!("{bucket}/.sparkplane/shadow/{release}")),
        _ => Err(invalid(
            "shadow-output",
            "spec.delivery.shadow.outputs[0].path",
            format!(
                "a shadow run in the cluster writes beside its outputs in object storage, but the job resolved for \
                 {env} declares the output `{first}`"
            ),
            format!(
                "declare the outputs as the job names them in {env} (s3a://, gs:// or abfss:// URLs, in the \
                 environment's overlay), or make the shadow run on this machine (--shadow-in local)"
            ),
        )),
    }
}

/// The shadow SparkJob: the redirected job under `<name>-shadow`, labelled
/// with the job it stands in for and the release, run once (no schedule),
/// without its quality gates (they would read the real output) or its own
/// shadow declaration, not suspended, without a status.
pub fn shadow_job(job: &ResolvedJob, release: &str) -> SparkJob {
    let mut shadow = job.job.clone();
    let name = job.name().to_owned();
    shadow.metadata.name = Some(shadow_name(&name));
    let labels = shadow.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(sparkplane_api::labels::SHADOW_OF.to_owned(), name);
    labels.insert(sparkplane_api::labels::RELEASE.to_owned(), release.to_owned());
    shadow.spec.schedule = None;
    shadow.spec.suspend = None;
    shadow.spec.quality_gates.clear();
    shadow.spec.delivery = None;
    shadow.status = None;
    shadow
}

/// Plans the shadow run (exit 2, nothing run, for a missing or bad declaration).
pub fn plan<H: ShadowHost>(request: &ShadowRequest<'_>, host: &mut H) -> Result<ShadowPlan, H::Error> {
    let env = shadow_env(request.place, request.env, request.to);
    let mut job = host.resolve(&env, request.place)?;
    let Some(declared) = job.job.spec.delivery.as_ref().and_then(|d| d.shadow.clone()) else {
        return Err(invalid(
            "no-shadow",
            "spec.delivery.shadow",
            format!("{} declares no shadow run (spec.delivery.shadow) for {env}", request.job_file.display()),
            "declare the outputs to redirect and their bounds under spec.delivery.shadow (ADR 0040), or promote \
             without --shadow",
        )
        .into());
    };
    let root = match request.place {
        Place::Local => local_root(request.job_dir, request.release),
        Place::Cluster => {
            cluster_name(job.name())?;
            let first = declared.outputs.first().map(|o| o.path.as_str()).unwrap_or_default();
            cluster_root(first, &env, request.release)?
        }
    };
    let mut loaded = Vec::new();
    for output in &declared.outputs {
        let path = request.job_dir.join(&output.data_quality);
        let spec = host.load_output_spec(&path)?;
        let base = path.parent().map_or_else(|| request.job_dir.to_owned(), Path::to_owned);
        loaded.push((spec, base));
    }
    let names: Vec<String> = loaded.iter().map(|(spec, _)| spec.metadata.name.clone()).collect();
    let redirects = shadow::redirect(&mut job.job.spec, &declared, &names, &root, &env).map_err(|e| {
        invalid(
            "shadow-output",
            "spec.delivery.shadow.outputs",
            e.to_string(),
            "write each output's path exactly as the job passes it (an argument or a spark property value)",
        )
    })?;
    let outputs = loaded
        .into_iter()
        .zip(redirects)
        .map(|((spec, base), r)| ShadowOutput { name: r.name, spec, base, location: r.to })
        .collect();
    Ok(ShadowPlan {
        job,
        env,
        outputs,
        bounds: declared.bounds,
        root,
        release: request.release.to_owned(),
        place: request.place,
    })
}

/// Makes the shadow run and compares its outputs with the current ones. No
/// run is made when a current output is missing; no output is read when the
/// run failed.
pub fn run<H: ShadowHost>(plan: &ShadowPlan, host: &mut H) -> Result<ShadowOutcome, H::Error> {
    let mut current = Vec::new();
    for output in &plan.outputs {
        let Some(observed) = host.observe(output, false)? else {
            return Ok(ShadowOutcome::NoCurrentOutput {
                name: output.name.clone(),
                location: output.current_location(),
            });
        };
        current.push(observed);
    }
    let failed = match plan.place {
        Place::Local => {
            let end = host.run_here(plan)?;
            end.failure.map(|message| ShadowOutcome::RunFailed { run_id: end.run_id, message })
        }
        Place::Cluster => run_in_cluster(plan, host)?,
    };
    if let Some(failed) = failed {
        return Ok(failed);
    }
    let mut compared: Vec<OutputComparison> = Vec::new();
    for (output, current) in plan.outputs.iter().zip(&current) {
        let Some(candidate) = host.observe(output, true)? else {
            return Ok(ShadowOutcome::NoCandidateOutput {
                name: output.name.clone(),
                location: output.location.clone(),
            });
        };
        compared.push(shadow::compare(
            &output.name,
            (&output.current_location(), &output.location),
            current,
            &candidate,
            &plan.bounds,
        ));
    }
    Ok(ShadowOutcome::Compared(compared))
}

/// The run through the operator; `Some` when it did not succeed.
fn run_in_cluster<H: ShadowHost>(plan: &ShadowPlan, host: &mut H) -> Result<Option<ShadowOutcome>, H::Error> {
    // The target's policy gate judged the candidate before this (promote's `policy` gate): the shadow is that
    // spec with its outputs redirected, under a name of its own, which per-job approvals would not recognise.
    // The cluster's own admission policies (`policy export`) apply to it as to any SparkJob.
    let mut job = shadow_job(&plan.job, &plan.release);
    let namespace = plan.job.namespace().to_owned();
    let name = job.metadata.name.clone().unwrap_or_default();
    job.metadata.namespace = Some(namespace.clone());
    // A fresh run: an earlier shadow SparkJob (and its status) goes, and so does its output.
    host.delete_job(&namespace, &name)?;
    if !host.wait_gone(&namespace, &name, PICK_UP)? {
        let message =
            format!("the earlier shadow SparkJob {namespace}/{name} was not deleted within {} s", PICK_UP.as_secs());
        let help = format!("check its finalizers (kubectl get sparkjob {name} -n {namespace} -o yaml)");
        return Err(ShadowProblem::Unreachable(Diagnostic::error("shadow-run", "", message).with_help(help)).into());
    }
    for output in &plan.outputs {
        host.clear_output(&output.location)?;
    }
    host.apply_job(&job)?;
    host.status(&format!("shadow run: SparkJob {namespace}/{name} applied; outputs under {}", plan.root));
    let Some(ended) = host.wait_ended(&namespace, &name, PICK_UP)? else {
        let message =
            format!("no operator took up the shadow SparkJob {namespace}/{name} within {} s", PICK_UP.as_secs());
        let help = format!(
            "check that the sparkplane operator runs and watches namespace {namespace} (`sparkplane operator`, or \
             the chart's deployment)"
        );
        return Err(ShadowProblem::Unreachable(Diagnostic::error("shadow-run", "", message).with_help(help)).into());
    };
    // The SparkJob has done its work; its driver goes with it. The outputs stay for inspection.
    if host.delete_job(&namespace, &name).is_err() {
        host.status(&format!(
            "warning: the shadow SparkJob {namespace}/{name} could not be deleted; delete it by hand \
             (kubectl delete sparkjob {name} -n {namespace})"
        ));
    }
    if ended.state == Some(JobState::Succeeded) {
        return Ok(None);
    }
    let why = match (ended.reason, ended.message) {
        (Some(reason), Some(message)) => format!(": {reason}: {message}"),
        (Some(one), None) | (None, Some(one)) => format!(": {one}"),
        (None, None) => String::new(),
    };
    Ok(Some(ShadowOutcome::RunFailed {
        run_id: format!("sparkjob {namespace}/{name} attempt {}", ended.attempt.unwrap_or(1)),
        message: format!("Failed{why}"),
    }))
}

/// The comparison as JSON (`null` when no shadow run was made).
pub fn report_json(outcome: Option<&ShadowOutcome>) -> serde_json::Value {
    match outcome {
        None => serde_json::Value::Null,
        Some(ShadowOutcome::Compared(outputs)) => serde_json::json!({
            "outputs": outputs.iter().map(|o| serde_json::json!({
                "name": o.name, "current": o.current, "candidate": o.candidate,
                "differences": o.differences.iter().map(|d| serde_json::json!({
                    "what": d.what, "message": d.message, "withinBounds": d.within,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
        Some(ShadowOutcome::NoCurrentOutput { name, location }) => {
            serde_json::json!({"outcome": "no-current-output", "output": name, "location": location})
        }
        Some(ShadowOutcome::NoCandidateOutput { name, location }) => {
            serde_json::json!({"outcome": "no-candidate-output", "output": name, "location": location})
        }
        Some(ShadowOutcome::RunFailed { run_id, message }) => {
            serde_json::json!({"outcome": "run-failed", "run": run_id, "message": message})
        }
    }
}

/// The comparison's lines in promote's text output (empty unless outputs were compared).
pub fn report_lines(outcome: Option<&ShadowOutcome>) -> String {
    let Some(ShadowOutcome::Compared(outputs)) = outcome else { return String::new() };
    let mut text = String::new();
    for o in outputs {
        if o.differences.is_empty() {
            text.push_str(&format!("  shadow: `{}` is the same as the current output\n", o.name));
        }
        for d in &o.differences {
            let mark = if d.within { "within bounds" } else { "BEYOND BOUNDS" };
            text.push_str(&format!("  shadow: `{}` {}: {} ({mark})\n", o.name, d.what, d.message));
        }
    }
    text
}

#[cfg(test)]
#[path = "shadow_run_tests.rs"]
mod tests;
