//! `sparkplane rollback` and `deployments`: the I/O around the delivery
//! crate's deployments log — which store and namespace the log is in, the
//! earlier deployment's spec rendered again by the one render step, and
//! output.
//!
//! Owns: settings, opening the log, and output. Must not: choose a rollback
//! target or lay out the log (`sparkplane_delivery::deployments` does), nor
//! render any other way than `render` does.

use std::path::{Path, PathBuf};

use sparkplane_core::render::RenderedObject;
use sparkplane_delivery::deployments::{self, DeploymentRecord};
use sparkplane_delivery::promote_run::Recorded;
use sparkplane_delivery::rollback_run::{self, RollbackHost, RollbackProblem, RollbackRequest};
use sparkplane_kube::Target as ClusterTarget;

use super::stamp;
use super::store::{OpenStore, StoreChoice, log_failure};
use crate::events::Events;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// What `rollback` needs.
#[derive(Clone, Debug)]
pub struct RollbackSettings {
    /// The job's file or name.
    pub job: String,
    /// `--env`.
    pub env: String,
    /// `--to`: the release to go back to; default the one before the current.
    pub to: Option<String>,
    /// `--store`.
    pub store: Option<PathBuf>,
    /// `--by`.
    pub by: Option<String>,
    /// `--out-dir`.
    pub out_dir: Option<PathBuf>,
    /// `--platform-dir`.
    pub platform_dir: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    pub cluster: ClusterTarget,
    /// Where the rollback's CDEvent goes.
    pub events: Events,
}

/// The job's name and default store from JOB (a job file or a name), as `releases` reads it.
fn job_and_store(job: &str, store: Option<&Path>) -> Result<(String, StoreChoice, Option<PathBuf>), Failure> {
    let path = Path::new(job);
    if path.is_file() {
        let doc = crate::workspace::read_yaml(path)?;
        let field = sparkplane_documents::yaml::FieldPath::parse("metadata.name").unwrap_or_default();
        let name = doc.get(&field).and_then(sparkplane_documents::yaml::Node::as_str).unwrap_or_default().to_owned();
        let store = StoreChoice::of(store, super::default_store(path));
        return Ok((name, store, Some(path.to_owned())));
    }
    Ok((job.to_owned(), StoreChoice::of(store, PathBuf::from("releases")), None))
}

/// The store holding the deployments log of `env`, a cluster store in the namespace the one rule picks
/// (`store::namespace`: `--namespace`, else the job file's in `env`, else the context's).
fn open_log(
    choice: &StoreChoice,
    job_file: Option<&Path>,
    env: &str,
    cluster: &ClusterTarget,
    platform_dir: Option<&Path>,
) -> Result<OpenStore, Failure> {
    let namespace = super::store::namespace(choice, cluster, job_file, Some(env), platform_dir)?;
    OpenStore::open(choice, cluster, &namespace)
}

/// Exit 2 unless `env` is a known environment (the platform's, or the job's own overlay).
fn known_environment(env: &str, job_file: Option<&Path>, platform_dir: Option<&Path>) -> Result<(), Failure> {
    let catalog = crate::workspace::load_catalog(platform_dir)?;
    let own = job_file.and_then(|j| crate::workspace::job_environment_path(j, env)).is_some();
    if catalog.environment(env).is_some() || own {
        return Ok(());
    }
    let known: Vec<&str> = catalog.environment_names().collect();
    Err(Failure::invalid(
        "unknown-environment",
        "--env",
        format!("there is no environment `{env}`"),
        sparkplane_core::resolve::environment_help(env, &known),
    ))
}

/// The CLI's side of a rollback: who rolls back, the log in the store
/// `--store` picks (opened when the workflow first reads it), `--out-dir`
/// and the clock.
struct Host<'a> {
    settings: &'a RollbackSettings,
    printer: &'a Printer,
    job: &'a str,
    store: &'a StoreChoice,
    job_file: Option<&'a Path>,
    opened: Option<OpenStore>,
}

impl Host<'_> {
    fn logs(&mut self) -> Result<OpenStore, Failure> {
        match self.opened.take() {
            Some(logs) => Ok(logs),
            None => {
                let s = self.settings;
                open_log(self.store, self.job_file, &s.env, &s.cluster, s.platform_dir.as_deref())
            }
        }
    }
}

impl RollbackHost for Host<'_> {
    type Error = Failure;

    fn deployed_by(&mut self) -> Result<String, Failure> {
        stamp::released_by(self.settings.by.as_deref(), Path::new(&self.settings.job), self.printer)
    }

    fn deployments(&mut self) -> Result<Vec<DeploymentRecord>, Failure> {
        let logs = self.logs()?;
        let history = logs.deployments(self.job, &self.settings.env).list().map_err(|e| log_failure(&e));
        self.opened = Some(logs);
        history
    }

    fn record(&mut self, record: DeploymentRecord, files: &[(String, String)]) -> Result<Recorded, Failure> {
        let logs = self.logs()?;
        let log = logs.deployments(self.job, &self.settings.env);
        let written = log.append(record, files).map_err(|e| log_failure(&e));
        let recorded = written.map(|w| Recorded { sequence: w.sequence, manifests: log.manifests_of(w.sequence) });
        drop(log);
        self.opened = Some(logs);
        recorded
    }

    /// Writes the manifests into `--out-dir` (as `render --out-dir`, stale ones of the job removed).
    fn write_out(&mut self, objects: &[RenderedObject], job: &str) -> Result<Vec<String>, Failure> {
        let Some(dir) = self.settings.out_dir.as_deref() else { return Ok(Vec::new()) };
        let written = crate::commands::render::write_files(dir, objects)?;
        crate::commands::render::prune_stale(dir, objects, job)?;
        Ok(written)
    }

    fn now(&mut self) -> String {
        stamp::now()
    }
}

impl From<RollbackProblem> for Failure {
    fn from(problem: RollbackProblem) -> Failure {
        match problem {
            RollbackProblem::Invalid(d) => Failure::Invalid(d.into()),
            RollbackProblem::Failed(d) => Failure::Failed(d.into()),
        }
    }
}

/// Runs `rollback` (`sparkplane_delivery::rollback_run` over the CLI's
/// host): the earlier deployment's spec rendered again by the one render
/// step, recorded as a new deployment, `service.rolledback` sent.
pub fn rollback(settings: &RollbackSettings, printer: &Printer) -> CommandResult {
    let (job, store, job_file) = job_and_store(&settings.job, settings.store.as_deref())?;
    known_environment(&settings.env, job_file.as_deref(), settings.platform_dir.as_deref())?;
    let request =
        RollbackRequest { job: &job, job_arg: &settings.job, environment: &settings.env, to: settings.to.as_deref() };
    let mut host = Host { settings, printer, job: &job, store: &store, job_file: job_file.as_deref(), opened: None };
    let done = rollback_run::run(&request, &mut host)?;
    settings.events.emit(std::slice::from_ref(&done.event), printer);
    printer.result(&done.report_json(&settings.env), || done.text(&job, &settings.env));
    Ok(())
}

/// Runs `deployments`: the log of a job in one environment, oldest first.
pub fn list(
    job: &str,
    env: &str,
    store: Option<&Path>,
    cluster: &ClusterTarget,
    platform_dir: Option<&Path>,
    printer: &Printer,
) -> CommandResult {
    let (name, store, job_file) = job_and_store(job, store)?;
    known_environment(env, job_file.as_deref(), platform_dir)?;
    let logs = open_log(&store, job_file.as_deref(), env, cluster, platform_dir)?;
    let history = logs.deployments(&name, env).list().map_err(|e| log_failure(&e))?;
    printer.result(&deployments::log_rows(&history), || {
        if history.is_empty() {
            return format!("no deployments of {name} in {env} ({})\n", logs.location());
        }
        deployments::log_table(&history)
    });
    Ok(())
}
