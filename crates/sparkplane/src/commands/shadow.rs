//! `promote --shadow`'s shadow run (ADR 0040): the candidate run on the same
//! input with its declared outputs redirected (`sparkplane_delivery::shadow`
//! rewrites the spec), both outputs read by `shadow_observe` (the
//! data-quality engine) and compared by `shadow::compare`.
//!
//! The run is made in one of two places:
//! - on this machine (`--shadow-in local`, the default): through
//!   `sparkplane_local::workflow::run_local`, as `run` runs it, with outputs
//!   under `.sparkplane/shadow/<release>/` next to the job file;
//! - in the cluster (`--shadow-in cluster`): as a SparkJob `<job>-shadow` in
//!   the namespace the job resolves to, run by the operator like any other
//!   (the one render path, quotas and policies of the namespace), with
//!   outputs under `<scheme>://<bucket>/.sparkplane/shadow/<release>/` in the
//!   first declared output's bucket, since a cluster job writes to object
//!   storage, never to this machine.
//!
//! Owns: planning (resolving the job for the shadow environment, loading the
//! outputs' data-quality specs, choosing the shadow location), clearing that
//! location, making the run, waiting for it, and the report of the
//! comparison. Must not judge the shadow gate (`sparkplane_delivery::promote`)
//! or compare outputs itself (`sparkplane_delivery::shadow`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sparkplane_api::SparkJob;
use sparkplane_api::job::JobState;
use sparkplane_core::Diagnostic;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_delivery::cluster_run::RELEASE_LABEL;
use sparkplane_delivery::shadow::{self, OutputComparison, ShadowOutcome};
use sparkplane_delivery::shadow_observe;
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_storage::{Location, StorageError, Store};

use crate::exit::Failure;
use crate::printer::Printer;
use crate::workspace::JobSettings;

/// The label naming the SparkJob a shadow SparkJob stands in for.
pub const SHADOW_OF_LABEL: &str = sparkplane_api::labels::SHADOW_OF;

/// What the shadow SparkJob's name adds to the job's.
const SHADOW_SUFFIX: &str = "-shadow";

/// How long a shadow SparkJob may wait for an operator to take it up.
const PICK_UP: Duration = Duration::from_secs(120);

/// Where the shadow run is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// On this machine, as `sparkplane run`.
    Local,
    /// In the cluster, through the operator.
    Cluster,
}

/// `--shadow`, `--shadow-in` and `--shadow-env`.
#[derive(Clone, Debug)]
pub struct ShadowSettings {
    /// Where the run is made.
    pub place: Place,
    /// The environment the job is resolved for; default `local` on this
    /// machine, the target environment in the cluster.
    pub env: Option<String>,
}

/// What the shadow run needs of the promotion it is part of.
pub struct Promotion<'a> {
    /// The job file.
    pub job: &'a Path,
    /// The target environment (`--to`).
    pub to: &'a str,
    /// `--platform-dir`.
    pub platform_dir: Option<&'a Path>,
    /// The cluster (`--context`, `-n`).
    pub cluster: &'a ClusterTarget,
}

/// One output of the shadow run: its name, its data-quality spec and that
/// spec's folder, and where the candidate writes it.
struct ShadowOutput {
    name: String,
    spec: sparkplane_api::dq::DqSpec,
    base: PathBuf,
    location: String,
}

/// The shadow run, planned before any gate is judged (a bad declaration is
/// exit 2 with nothing run).
pub struct ShadowPlan {
    job: ResolvedJob,
    env: String,
    outputs: Vec<ShadowOutput>,
    bounds: sparkplane_api::job::ShadowBounds,
    /// The shadow location: a folder on this machine, or an object-store URL.
    root: String,
    release: String,
    place: Place,
    cluster: ClusterTarget,
    job_file: PathBuf,
}

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::Invalid(Diagnostic::error(code, path, message).with_help(help).into())
}

fn dq_failure(err: &sparkplane_dq::DqError, what: &str) -> Failure {
    let diagnostic = Diagnostic::error("shadow-output", "spec.delivery.shadow", format!("{what}: {err}"));
    match err.exit_code() {
        1 => Failure::Failed(diagnostic.with_help("the output is damaged; run the job again").into()),
        3 => Failure::Infrastructure(diagnostic.with_help("check the storage endpoint and credentials").into()),
        _ => Failure::Invalid(diagnostic.with_help("check the output's data-quality spec (dataset.path)").into()),
    }
}

fn storage_failure(err: &StorageError, what: &str) -> Failure {
    let diagnostic = Diagnostic::error("shadow-output", "spec.delivery.shadow", format!("{what}: {err}"));
    match err.exit_code() {
        3 => Failure::Infrastructure(diagnostic.with_help("check the storage endpoint and credentials").into()),
        _ => Failure::Invalid(diagnostic.with_help("check the outputs spec.delivery.shadow.outputs names").into()),
    }
}

/// The shadow location in the cluster: `.sparkplane/shadow/<release>` in the
/// bucket of the first output, written with the scheme the job uses. Exit 2
/// when that output is not in object storage.
pub fn cluster_root(first: &str, env: &str, release: &str) -> Result<String, Failure> {
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

/// Plans the shadow run of `release` (exit 2, nothing run, for a missing or bad declaration).
pub fn plan(settings: &Promotion<'_>, shadow: &ShadowSettings, release: &str) -> Result<ShadowPlan, Failure> {
    let env = shadow.env.clone().unwrap_or_else(|| match shadow.place {
        Place::Local => "local".to_owned(),
        Place::Cluster => settings.to.to_owned(),
    });
    let job_settings = JobSettings {
        path: settings.job.to_owned(),
        env: Some(env.clone()),
        sets: Vec::new(),
        platform_dir: settings.platform_dir.map(Path::to_owned),
    };
    let target = match shadow.place {
        Place::Local => sparkplane_core::validate::ValidationTarget::Local,
        Place::Cluster => sparkplane_core::validate::ValidationTarget::Cluster,
    };
    let mut job = crate::workspace::resolve_job(&job_settings, target)?;
    let Some(declared) = job.job.spec.delivery.as_ref().and_then(|d| d.shadow.clone()) else {
        return Err(invalid(
            "no-shadow",
            "spec.delivery.shadow",
            format!("{} declares no shadow run (spec.delivery.shadow) for {env}", settings.job.display()),
            "declare the outputs to redirect and their bounds under spec.delivery.shadow (ADR 0040), or promote \
             without --shadow",
        ));
    };
    let shadow_name = format!("{}{SHADOW_SUFFIX}", job.name());
    if shadow.place == Place::Cluster && shadow_name.len() > sparkplane_core::names::MAX_JOB_NAME {
        return Err(invalid(
            "shadow-name",
            "metadata.name",
            format!(
                "the shadow SparkJob `{shadow_name}` would be longer than the {} characters a job name may have",
                sparkplane_core::names::MAX_JOB_NAME
            ),
            format!(
                "shorten the job's name to at most {} characters, or make the shadow run on this machine \
                 (--shadow-in local)",
                sparkplane_core::names::MAX_JOB_NAME - SHADOW_SUFFIX.len()
            ),
        ));
    }
    let job_dir = settings.job.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let job_dir = std::path::absolute(job_dir).map_err(|e| Failure::unreadable(job_dir, &e))?;
    let root = match shadow.place {
        Place::Local => job_dir.join(".sparkplane").join("shadow").join(release).display().to_string(),
        Place::Cluster => {
            let first = declared.outputs.first().map(|o| o.path.as_str()).unwrap_or_default();
            cluster_root(first, &env, release)?
        }
    };
    let mut loaded = Vec::new();
    for output in &declared.outputs {
        let path = job_dir.join(&output.data_quality);
        let source = crate::workspace::read_source(&path)?;
        let spec = sparkplane_dq::load_spec(&source)?.spec;
        let base = path.parent().map(Path::to_owned).unwrap_or_else(|| job_dir.clone());
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
        release: release.to_owned(),
        place: shadow.place,
        cluster: settings.cluster.clone(),
        job_file: settings.job.to_owned(),
    })
}

/// Makes the shadow run and compares its outputs with the current ones.
pub fn run(plan: &ShadowPlan, printer: &Printer) -> Result<ShadowOutcome, Failure> {
    let mut current = Vec::new();
    for output in &plan.outputs {
        let observed = shadow_observe::observe(&output.spec, &output.base, None)
            .map_err(|e| dq_failure(&e, &format!("the current output `{}`", output.name)))?;
        let Some(observed) = observed else {
            let location = match Location::parse(&output.spec.dataset.path) {
                Ok(l) if l.is_remote() => output.spec.dataset.path.clone(),
                _ => output.base.join(&output.spec.dataset.path).display().to_string(),
            };
            return Ok(ShadowOutcome::NoCurrentOutput { name: output.name.clone(), location });
        };
        current.push(observed);
    }
    let ended = match plan.place {
        Place::Local => run_here(plan, printer)?,
        Place::Cluster => run_in_cluster(plan, printer)?,
    };
    if let Some(failed) = ended {
        return Ok(failed);
    }
    let mut compared: Vec<OutputComparison> = Vec::new();
    for (output, current) in plan.outputs.iter().zip(&current) {
        let candidate = shadow_observe::observe(&output.spec, &output.base, Some(&output.location))
            .map_err(|e| dq_failure(&e, &format!("the candidate's output `{}`", output.name)))?;
        let Some(candidate) = candidate else {
            return Ok(ShadowOutcome::NoCandidateOutput {
                name: output.name.clone(),
                location: output.location.clone(),
            });
        };
        let current_location = match Location::parse(&output.spec.dataset.path) {
            Ok(l) if l.is_remote() => output.spec.dataset.path.clone(),
            _ => output.base.join(&output.spec.dataset.path).display().to_string(),
        };
        compared.push(shadow::compare(
            &output.name,
            (&current_location, &output.location),
            current,
            &candidate,
            &plan.bounds,
        ));
    }
    Ok(ShadowOutcome::Compared(compared))
}

/// The run on this machine; `Some` when it did not succeed.
fn run_here(plan: &ShadowPlan, printer: &Printer) -> Result<Option<ShadowOutcome>, Failure> {
    // A fresh shadow location: what an earlier shadow run of this release left is not the candidate's output.
    let root = Path::new(&plan.root);
    if root.exists() {
        std::fs::remove_dir_all(root).map_err(|e| Failure::File {
            path: root.to_owned(),
            error: e.to_string(),
            help: "remove the old shadow output by hand".into(),
        })?;
    }
    let local = sparkplane_local::workflow::LocalRunSettings::from_environment(&plan.job_file, &plan.env, false)
        .map_err(|e| super::run::failure(&e))?;
    let mut observer = |event: sparkplane_local::workflow::LocalRunEvent<'_>| match event {
        sparkplane_local::workflow::LocalRunEvent::Warning(w) => printer.status(&format!("warning: {w}")),
        sparkplane_local::workflow::LocalRunEvent::Starting { run_id, master, .. } => {
            printer.status(&format!("shadow run {run_id} on {master}: outputs under {}", plan.root))
        }
        _ => {}
    };
    let outcome =
        sparkplane_local::workflow::run_local(&plan.job, &local, &mut observer).map_err(|e| super::run::failure(&e))?;
    // Marked as the release's shadow run: it is no run of the job in its environment for a later promotion.
    let marked =
        sparkplane_local::history::RunRecord { shadow_of: Some(plan.release.clone()), ..outcome.record.clone() };
    if let Err(e) = sparkplane_local::history::write(&local.home, &marked) {
        printer.status(&format!("warning: the shadow run is not marked as one in the run history: {e}"));
    }
    if outcome.succeeded() {
        return Ok(None);
    }
    let record = &outcome.record;
    let why = record.failure.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
    Ok(Some(ShadowOutcome::RunFailed {
        run_id: record.run_id.clone(),
        message: format!("{}{why}", record.state.as_str()),
    }))
}

/// The shadow SparkJob: the redirected job under `<name>-shadow`, labelled
/// with the job it stands in for and the release, run once (no schedule),
/// without its quality gates (they would read the real output) or its own
/// shadow declaration, not suspended.
pub fn shadow_job(job: &ResolvedJob, release: &str) -> SparkJob {
    let mut shadow = job.job.clone();
    let name = job.name().to_owned();
    shadow.metadata.name = Some(format!("{name}{SHADOW_SUFFIX}"));
    let labels = shadow.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(SHADOW_OF_LABEL.to_owned(), name);
    labels.insert(RELEASE_LABEL.to_owned(), release.to_owned());
    shadow.spec.schedule = None;
    shadow.spec.suspend = None;
    shadow.spec.quality_gates.clear();
    shadow.spec.delivery = None;
    shadow.status = None;
    shadow
}

/// Removes what an earlier shadow run left under each output's shadow location.
fn clear_outputs(plan: &ShadowPlan) -> Result<(), Failure> {
    for output in &plan.outputs {
        let what = format!("the shadow location {}", output.location);
        let location = Location::parse(&output.location).map_err(|e| storage_failure(&e, &what))?;
        let store = Store::open(&location).map_err(|e| storage_failure(&e, &what))?;
        let entries = match store.list() {
            Ok(entries) => entries,
            Err(StorageError::NotFound { .. }) => continue,
            Err(e) => return Err(storage_failure(&e, &what)),
        };
        for entry in entries {
            store.delete(&entry.key).map_err(|e| storage_failure(&e, &what))?;
        }
    }
    Ok(())
}

/// The run through the operator; `Some` when it did not succeed.
fn run_in_cluster(plan: &ShadowPlan, printer: &Printer) -> Result<Option<ShadowOutcome>, Failure> {
    // The target's policy gate judged the candidate before this (promote's `policy` gate): the shadow is that
    // spec with its outputs redirected, under a name of its own, which per-job approvals would not recognise.
    // The cluster's own admission policies (`policy export`) apply to it as to any SparkJob.
    let job = shadow_job(&plan.job, &plan.release);
    let namespace = plan.job.namespace().to_owned();
    let name = job.metadata.name.clone().unwrap_or_default();
    let target = ClusterTarget { context: plan.cluster.context.clone(), namespace: Some(namespace.clone()) };
    let cluster = super::kube_view::connect(&target)?;
    // A fresh run: an earlier shadow SparkJob (and its status) goes, and so does its output.
    let get = |cluster: &sparkplane_kube::Settings| {
        super::kube_view::block_on(cluster, async |client, server| {
            sparkplane_kube::jobs::get(&client, &server, &namespace, &name).await
        })
    };
    super::kube_view::block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::delete(&client, &server, &namespace, &name).await
    })?;
    let started = Instant::now();
    while get(&cluster)?.is_some() {
        if started.elapsed() > PICK_UP {
            return Err(Failure::Infrastructure(
                Diagnostic::error(
                    "shadow-run",
                    "",
                    format!(
                        "the earlier shadow SparkJob {namespace}/{name} was not deleted within {} s",
                        PICK_UP.as_secs()
                    ),
                )
                .with_help(format!("check its finalizers (kubectl get sparkjob {name} -n {namespace} -o yaml)"))
                .into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    clear_outputs(plan)?;
    let mut body = job.clone();
    body.metadata.namespace = Some(namespace.clone());
    super::kube_view::block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::apply(&client, &server, &body, false).await
    })?;
    printer.status(&format!("shadow run: SparkJob {namespace}/{name} applied; outputs under {}", plan.root));
    let started = Instant::now();
    let mut last: Option<JobState> = None;
    let finished = loop {
        let status = get(&cluster)?.and_then(|j| j.status).unwrap_or_default();
        if status.state != last {
            if let Some(state) = status.state {
                printer.status(&format!("shadow run: {state}"));
            }
            last = status.state;
        }
        match status.state {
            Some(JobState::Succeeded | JobState::Failed) => break status,
            None if started.elapsed() > PICK_UP => {
                return Err(Failure::Infrastructure(
                    Diagnostic::error(
                        "shadow-run",
                        "",
                        format!(
                            "no operator took up the shadow SparkJob {namespace}/{name} within {} s",
                            PICK_UP.as_secs()
                        ),
                    )
                    .with_help(format!(
                        "check that the sparkplane operator runs and watches namespace {namespace} \
                         (`sparkplane operator`, or the chart's deployment)"
                    ))
                    .into(),
                ));
            }
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    // The SparkJob has done its work; its driver goes with it. The outputs stay for inspection.
    let deleted = super::kube_view::block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::delete(&client, &server, &namespace, &name).await
    });
    if deleted.is_err() {
        printer.status(&format!(
            "warning: the shadow SparkJob {namespace}/{name} could not be deleted; delete it by hand \
             (kubectl delete sparkjob {name} -n {namespace})"
        ));
    }
    if finished.state == Some(JobState::Succeeded) {
        return Ok(None);
    }
    let why = match (finished.reason, finished.message) {
        (Some(reason), Some(message)) => format!(": {reason}: {message}"),
        (Some(one), None) | (None, Some(one)) => format!(": {one}"),
        (None, None) => String::new(),
    };
    Ok(Some(ShadowOutcome::RunFailed {
        run_id: format!("sparkjob {namespace}/{name} attempt {}", finished.attempt.unwrap_or(1)),
        message: format!("Failed{why}"),
    }))
}

/// The comparison as JSON (`null` when no shadow run was made).
pub fn report(outcome: Option<&ShadowOutcome>) -> serde_json::Value {
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

/// The comparison's lines in promote's text output.
pub fn lines(outcome: Option<&ShadowOutcome>) -> String {
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
mod tests {
    use super::*;

    #[test]
    fn the_cluster_root_is_in_the_first_outputs_bucket_with_its_scheme() {
        let root = |first: &str| cluster_root(first, "prod", "trips-etl-staging-0123456789ab").map_err(|_| ());
        assert_eq!(
            root("s3a://lake/curated/trips/"),
            Ok("s3a://lake/.sparkplane/shadow/trips-etl-staging-0123456789ab".to_owned())
        );
        assert_eq!(root("gs://b/x"), Ok("gs://b/.sparkplane/shadow/trips-etl-staging-0123456789ab".to_owned()));
        assert_eq!(root("data/curated/trips"), Err(()));
        assert_eq!(root("file:///tmp/x"), Err(()));
        assert_eq!(root("s3a:///no-bucket"), Err(()));
        assert_eq!(root(""), Err(()));
    }
}
