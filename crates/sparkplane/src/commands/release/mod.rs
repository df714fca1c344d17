//! The release family of commands, one module per concept: a release made
//! (`sparkplane release`, here), the keys that sign and check it ([`keys`]),
//! the stamp every record carries — who, which commit, when ([`stamp`]) —,
//! the store releases and deployments are kept in ([`store`]), a stored
//! release checked and a job's releases listed ([`releases`]), a release
//! promoted ([`promote`]) with its shadow run ([`shadow`]), and an
//! environment's deployments listed and rolled back ([`deployments`]).
//!
//! `sparkplane release`: settings and output around
//! `sparkplane_delivery::release_run`, the release workflow (ADR 0069),
//! made over this module's host — the job rendered and passed through the
//! one policy gate `render` uses, the stamp, the CI report, requirements and
//! key read from disk, and the release store `--store` picks.
//!
//! Owns: settings and their defaults (store `releases/` next to the job,
//! requirements `requirements.txt` next to it) and output. Must not: order
//! the steps, build records, SBOMs or signatures, or pick the CDEvents
//! (`sparkplane_delivery` does).

pub mod deployments;
pub mod keys;
pub mod promote;
pub mod releases;
pub mod shadow;
pub mod stamp;
pub mod store;

use std::path::{Path, PathBuf};

use sparkplane_core::render::{RenderedObject, Target};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_delivery::release::Release;
use sparkplane_delivery::release_run::{self, CiReportFile, ReleaseHost, ReleaseProblem, ReleaseRequest, Stored};
use sparkplane_delivery::sbom::{Requirement, parse_requirements};
use sparkplane_delivery::sign::PrivateKey;
use sparkplane_kube::Target as ClusterTarget;

use crate::commands::policy::PolicySettings;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::JobSettings;
use stamp::job_dir;
use store::{OpenStore, StoreChoice, store_failure};

/// What `release` needs, in plain terms.
#[derive(Clone, Debug)]
pub struct ReleaseSettings {
    /// The job and the environment released (`env` is always set).
    pub job: JobSettings,
    /// The policy gate's settings.
    pub policy: PolicySettings,
    /// `--commit`; default `git rev-parse HEAD` in the job file's directory.
    pub commit: Option<String>,
    /// `--ci-report`.
    pub ci_report: Option<PathBuf>,
    /// `--key`: the private key that signs; unsigned without.
    pub key: Option<PathBuf>,
    /// `--out`/`--store`: the release store (`cluster`: ConfigMaps in the cluster); default `releases/` next
    /// to the job file.
    pub out: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster` (default namespace: the job's in the environment).
    pub cluster: ClusterTarget,
    /// `--by`, else `$SPARKPLANE_USER`, `$USER`, the git author, the OS user (`release_facts::released_by`).
    pub by: Option<String>,
    /// `--requirements`; default `requirements.txt` next to the job file, when there.
    pub requirements: Option<PathBuf>,
    /// Where the release's CDEvents go (artifact packaged, signed, published).
    pub events: crate::events::Events,
}

/// The store a command uses: `--out`/`--store`, else `releases/` next to the job file.
pub fn default_store(job: &Path) -> PathBuf {
    job_dir(job).join("releases")
}

impl From<ReleaseProblem> for Failure {
    fn from(problem: ReleaseProblem) -> Failure {
        Failure::Invalid(problem.0.into())
    }
}

/// The CLI's side of a release.
struct Host<'a> {
    settings: &'a ReleaseSettings,
    printer: &'a Printer,
    /// Where the release was stored, for the output.
    store: Option<OpenStore>,
}

impl ReleaseHost for Host<'_> {
    type Error = Failure;

    fn released_by(&mut self) -> Result<String, Failure> {
        stamp::released_by(self.settings.by.as_deref(), &self.settings.job.path, self.printer)
    }

    fn render(&mut self, _env: &str) -> Result<(ResolvedJob, Vec<RenderedObject>), Failure> {
        let (resolved, objects) = crate::workspace::render_objects(&self.settings.job, Target::Native)?;
        self.printer.warnings(&resolved.warnings);
        Ok((resolved, objects))
    }

    fn policy_gate(&mut self, job: &ResolvedJob, objects: &[RenderedObject]) -> Result<(), Failure> {
        crate::commands::policy::enforce_with(job, objects, &self.settings.policy, self.printer, false)
    }

    fn commit(&mut self) -> Result<String, Failure> {
        stamp::source_commit(self.settings.commit.as_deref(), &self.settings.job.path)
    }

    fn ci_report(&mut self) -> Result<Option<CiReportFile>, Failure> {
        let Some(path) = &self.settings.ci_report else { return Ok(None) };
        let bytes = std::fs::read(path).map_err(|e| Failure::unreadable(path, &e))?;
        Ok(Some(CiReportFile { path: path.display().to_string(), bytes }))
    }

    /// `--requirements`, else `requirements.txt` next to the job file when it is there.
    fn requirements(&mut self) -> Result<(Vec<Requirement>, Option<String>), Failure> {
        let path = match &self.settings.requirements {
            Some(path) => path.clone(),
            None => {
                let default = job_dir(&self.settings.job.path).join("requirements.txt");
                if !default.is_file() {
                    return Ok((Vec::new(), None));
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Failure::unreadable(&path, &e))?;
        let list = parse_requirements(&text).map_err(|e| {
            Failure::invalid(
                "bad-requirements",
                "",
                format!("{}: {e}", path.display()),
                "write one `name==version` a line",
            )
        })?;
        Ok((list, Some(path.display().to_string())))
    }

    fn key(&mut self) -> Result<Option<PrivateKey>, Failure> {
        let Some(path) = &self.settings.key else { return Ok(None) };
        keys::read_private(path).map(Some)
    }

    fn now(&mut self) -> String {
        stamp::now()
    }

    fn store(&mut self, release: &Release, namespace: &str) -> Result<Stored, Failure> {
        let choice = StoreChoice::of(self.settings.out.as_deref(), default_store(&self.settings.job.path));
        let store = OpenStore::open(&choice, &self.settings.cluster, namespace)?;
        let outcome = store.store().put(&release.files, &release.record).map_err(|e| store_failure(&e))?;
        let dir = store.dir_of(&release.record.id).map(|d| d.display().to_string());
        self.store = Some(store);
        Ok(Stored { outcome, dir })
    }

    fn note(&mut self, line: &str) {
        self.printer.status(line);
    }
}

/// Runs `release` (`sparkplane_delivery::release_run` over the CLI's host):
/// the release made and stored, its CDEvents sent when it is new.
pub fn run(settings: &ReleaseSettings, printer: &Printer) -> CommandResult {
    let job_file = settings.job.path.display().to_string();
    let request = ReleaseRequest {
        environment: settings.job.env.as_deref(),
        job_file: &job_file,
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    let mut host = Host { settings, printer, store: None };
    let done = release_run::run(&request, &mut host)?;
    settings.events.emit(&done.events, printer);
    let place = host.store.as_ref().map(|s| s.place_of(&done.release.record.id)).unwrap_or_default();
    let config_map = matches!(host.store, Some(OpenStore::Cluster(_))).then(|| place.trim_start_matches("ConfigMap "));
    printer.result(&done.report_json(config_map), || done.text(&place));
    Ok(())
}
