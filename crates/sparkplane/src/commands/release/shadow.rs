//! `promote --shadow`'s shadow run (ADR 0040): the host of
//! `sparkplane_delivery::shadow_run` — the job resolved as `render` does,
//! outputs read by `shadow_observe`, the local run as `run` makes it, the
//! SparkJob's requests through `sparkplane_kube`. Must not: plan, order the
//! steps or decide what a run's end means (`shadow_run` does).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sparkplane_api::SparkJob;
use sparkplane_api::dq::DqSpec;
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_category::Category;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::shadow::{Observation, ShadowOutcome};
use sparkplane_delivery::shadow_observe;
pub use sparkplane_delivery::shadow_run::Place;
use sparkplane_delivery::shadow_run::{self, LocalRunEnd, ShadowHost, ShadowOutput, ShadowProblem, ShadowRequest};
use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_kube::wait_job::{Until, Waited};
use sparkplane_storage::{Location, StorageError, Store};

use crate::exit::Failure;
use crate::printer::Printer;
use crate::workspace::JobSettings;

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

/// The shadow run, planned before any gate is judged (a bad declaration is
/// exit 2 with nothing run), with what its host needs to make it.
pub struct ShadowPlan {
    plan: shadow_run::ShadowPlan,
    cluster: ClusterTarget,
    job_file: PathBuf,
    platform_dir: Option<PathBuf>,
}

impl From<ShadowProblem> for Failure {
    fn from(problem: ShadowProblem) -> Failure {
        match problem {
            ShadowProblem::Invalid(d) => Failure::Invalid(d.into()),
            ShadowProblem::Unreachable(d) => Failure::Infrastructure(d.into()),
        }
    }
}

/// A failure reading (`DqError`) or clearing (`StorageError`) an output, by the library's category.
fn output_failure(category: Category, what: &str, err: impl std::fmt::Display, invalid_help: &str) -> Failure {
    let diagnostic = Diagnostic::error("shadow-output", "spec.delivery.shadow", format!("{what}: {err}"));
    let help = match category {
        Category::Failed => "the output is damaged; run the job again",
        Category::Unreachable => "check the storage endpoint and credentials",
        Category::Invalid => invalid_help,
    };
    Failure::of(category, diagnostic.with_help(help).into())
}

fn dq_failure(err: &sparkplane_dq::DqError, what: &str) -> Failure {
    output_failure(err.category(), what, err, "check the output's data-quality spec (dataset.path)")
}

fn storage_failure(err: &StorageError, what: &str) -> Failure {
    output_failure(err.category(), what, err, "check the outputs spec.delivery.shadow.outputs names")
}

/// The CLI's side of the shadow run: files, data, Spark and the cluster.
struct Host<'a> {
    job_file: &'a Path,
    platform_dir: Option<&'a Path>,
    cluster: &'a ClusterTarget,
    /// None while planning, which prints nothing.
    printer: Option<&'a Printer>,
}

impl Host<'_> {
    fn wait(&self, namespace: &str, name: &str, until: Until, limit: Duration) -> Result<Waited, Failure> {
        let cluster = self.cluster_at(namespace)?;
        let printer = self.printer;
        crate::commands::kube_view::block_on(&cluster, async |client, server| {
            // Only the new run's states are news; the earlier shadow SparkJob's are not.
            let mut on_state = |state: JobState| {
                if let Some(printer) = printer.filter(|_| until == Until::Ended) {
                    printer.status(&format!("shadow run: {state}"));
                }
            };
            sparkplane_kube::wait_job::wait_job(&client, &server, (namespace, name), until, limit, &mut on_state).await
        })
    }

    fn cluster_at(&self, namespace: &str) -> Result<sparkplane_kube::Settings, Failure> {
        let namespace = Some(namespace.to_owned());
        crate::commands::kube_view::cluster_settings(&ClusterTarget {
            context: self.cluster.context.clone(),
            namespace,
        })
    }
}

impl ShadowHost for Host<'_> {
    type Error = Failure;

    fn resolve(&mut self, env: &str, place: Place) -> Result<ResolvedJob, Failure> {
        let settings = JobSettings {
            path: self.job_file.to_owned(),
            env: Some(env.to_owned()),
            sets: Vec::new(),
            platform_dir: self.platform_dir.map(Path::to_owned),
        };
        let target = if place == Place::Local { ValidationTarget::Local } else { ValidationTarget::Cluster };
        crate::workspace::resolve_job(&settings, target)
    }

    fn load_output_spec(&mut self, path: &Path) -> Result<DqSpec, Failure> {
        let source = crate::workspace::read_source(path)?;
        Ok(sparkplane_dq::load_spec(&source)?.spec)
    }

    fn observe(&mut self, output: &ShadowOutput, candidate: bool) -> Result<Option<Observation>, Failure> {
        let at = candidate.then_some(output.location.as_str());
        let what = format!("the {} output `{}`", if candidate { "candidate's" } else { "current" }, output.name);
        shadow_observe::observe(&output.spec, &output.base, at).map_err(|e| dq_failure(&e, &what))
    }

    fn run_here(&mut self, plan: &shadow_run::ShadowPlan) -> Result<LocalRunEnd, Failure> {
        // A fresh shadow location: what an earlier shadow run of this release left is not the candidate's output.
        let root = Path::new(&plan.root);
        if root.exists() {
            std::fs::remove_dir_all(root)
                .map_err(|e| Failure::file(root, e, "remove the old shadow output by hand"))?;
        }
        use sparkplane_local::workflow::{LocalRunEvent, LocalRunSettings, run_local};
        let local = LocalRunSettings::from_environment(self.job_file, &plan.env, false)
            .map_err(|e| crate::commands::run::failure(&e))?;
        let printer = self.printer;
        let say = |line: String| printer.iter().for_each(|p| p.status(&line));
        let mut observer = |event: LocalRunEvent<'_>| match event {
            LocalRunEvent::Warning(w) => say(format!("warning: {w}")),
            LocalRunEvent::Starting { run_id, master, .. } => {
                say(format!("shadow run {run_id} on {master}: outputs under {}", plan.root))
            }
            _ => {}
        };
        let outcome = run_local(&plan.job, &local, &mut observer).map_err(|e| crate::commands::run::failure(&e))?;
        // Marked as the release's shadow run: it is no run of the job in its environment for a later promotion.
        let marked =
            sparkplane_local::history::RunRecord { shadow_of: Some(plan.release.clone()), ..outcome.record.clone() };
        if let Err(e) = sparkplane_local::history::write(&local.home, &marked) {
            self.status(&format!("warning: the shadow run is not marked as one in the run history: {e}"));
        }
        let record = &outcome.record;
        let why = record.failure.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
        let failure = (!outcome.succeeded()).then(|| format!("{}{why}", record.state.as_str()));
        Ok(LocalRunEnd { run_id: record.run_id.clone(), failure })
    }

    fn delete_job(&mut self, namespace: &str, name: &str) -> Result<(), Failure> {
        let cluster = self.cluster_at(namespace)?;
        crate::commands::kube_view::block_on(&cluster, async |client, server| {
            sparkplane_kube::jobs::delete(&client, &server, namespace, name).await
        })
        .map(|_| ())
    }

    fn wait_gone(&mut self, namespace: &str, name: &str, limit: Duration) -> Result<bool, Failure> {
        Ok(self.wait(namespace, name, Until::Gone, limit)? == Waited::Gone)
    }

    fn clear_output(&mut self, location: &str) -> Result<(), Failure> {
        let what = format!("the shadow location {location}");
        let parsed = Location::parse(location).map_err(|e| storage_failure(&e, &what))?;
        let store = Store::open(&parsed).map_err(|e| storage_failure(&e, &what))?;
        let entries = match store.list() {
            Ok(entries) => entries,
            Err(StorageError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(storage_failure(&e, &what)),
        };
        for entry in entries {
            store.delete(&entry.key).map_err(|e| storage_failure(&e, &what))?;
        }
        Ok(())
    }

    fn apply_job(&mut self, job: &SparkJob) -> Result<(), Failure> {
        let cluster = self.cluster_at(job.metadata.namespace.as_deref().unwrap_or("default"))?;
        crate::commands::kube_view::block_on(&cluster, async |client, server| {
            sparkplane_kube::jobs::apply(&client, &server, job, false).await
        })
        .map(|_| ())
    }

    fn wait_ended(&mut self, namespace: &str, name: &str, limit: Duration) -> Result<Option<SparkJobStatus>, Failure> {
        let waited = self.wait(namespace, name, Until::Ended, limit)?;
        Ok(if let Waited::Ended(status) = waited { Some(*status) } else { None })
    }

    fn status(&mut self, line: &str) {
        self.printer.iter().for_each(|p| p.status(line));
    }
}

/// Plans the shadow run of `release` (exit 2, nothing run, for a missing or bad declaration).
pub fn plan(settings: &Promotion<'_>, shadow: &ShadowSettings, release: &str) -> Result<ShadowPlan, Failure> {
    let job_dir = settings.job.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let job_dir = std::path::absolute(job_dir).map_err(|e| Failure::unreadable(job_dir, &e))?;
    let request = ShadowRequest {
        place: shadow.place,
        env: shadow.env.as_deref(),
        to: settings.to,
        job_file: settings.job,
        job_dir: &job_dir,
        release,
    };
    let mut host =
        Host { job_file: settings.job, platform_dir: settings.platform_dir, cluster: settings.cluster, printer: None };
    Ok(ShadowPlan {
        plan: shadow_run::plan(&request, &mut host)?,
        cluster: settings.cluster.clone(),
        job_file: settings.job.to_owned(),
        platform_dir: settings.platform_dir.map(Path::to_owned),
    })
}

/// Makes the shadow run and compares its outputs with the current ones.
pub fn run(plan: &ShadowPlan, printer: &Printer) -> Result<ShadowOutcome, Failure> {
    let (job_file, platform_dir, cluster) = (&plan.job_file, plan.platform_dir.as_deref(), &plan.cluster);
    shadow_run::run(&plan.plan, &mut Host { job_file, platform_dir, cluster, printer: Some(printer) })
}
