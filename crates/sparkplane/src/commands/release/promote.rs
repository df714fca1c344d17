//! `sparkplane promote`: the CLI's host of `sparkplane_delivery::promote_run`,
//! the promotion workflow (ADR 0069) — the release store `--store` picks,
//! the job resolved and rendered by the one render step, the trusted keys
//! on disk, the last run in the source environment (this machine's run
//! history, or the SparkJob in the cluster, ADR 0043), the policy gate's
//! verdict, the deployments log, `--out-dir`, and `--shadow`'s run through
//! `shadow` — and the outcome printed.
//!
//! Owns: `promote`'s settings and their defaults (store `releases/` next to
//! the job, trusted keys `.sparkplane/trusted-keys/<env>/*.pub` next to it),
//! reading those files, stores and runs, their failures as exit codes, and
//! the output. Must not: order the steps, judge a gate or a run, decide on
//! the shadow run, build the deployment record or pick the CDEvent
//! (`promote_run` and `promote` do).

use std::path::{Path, PathBuf};

use sparkplane_core::render::{RenderedObject, Target};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::deployments::DeploymentRecord;
use sparkplane_delivery::promote::{Denial, QualityGates, RunRelease, SourceRun};
use sparkplane_delivery::promote_run::{self, PromoteHost, PromoteProblem, PromoteRequest, Promotion, Recorded};
use sparkplane_delivery::release_record::ReleaseRecord;
use sparkplane_delivery::shadow::ShadowOutcome;
use sparkplane_delivery::sign::PublicKey;
use sparkplane_delivery::store::{StoredRelease, environment_of};
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_policy::PolicySeverity;

use super::stamp;
use super::store::{OpenStore, StoreChoice, log_failure, namespace, store_failure};
use crate::commands::policy::{self, PolicySettings};
use crate::events::Events;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::JobSettings;

/// What `promote` needs, in plain terms.
#[derive(Clone, Debug)]
pub struct PromoteSettings {
    /// The job file, resolved again for the target environment.
    pub job: PathBuf,
    /// `--release`: the release's id in the store.
    pub release: String,
    /// `--to`: the target environment.
    pub to: String,
    /// `--from`: the source environment; default the release's.
    pub from: Option<String>,
    /// `--store`; default `releases/` next to the job file; `cluster` reads the release from its ConfigMap.
    pub store: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    pub cluster: ClusterTarget,
    /// `--trusted-key`; default every `*.pub` in `.sparkplane/trusted-keys/<to>/` next to the job file.
    pub trusted_keys: Vec<PathBuf>,
    /// `--commit`: the commit the job file is at; default `git rev-parse HEAD`.
    pub commit: Option<String>,
    /// `--by`, else `$SPARKPLANE_USER`, `$USER`, the git author, the OS user.
    pub by: Option<String>,
    /// `--out-dir`: also write the rendered manifests there (a GitOps directory).
    pub out_dir: Option<PathBuf>,
    /// `--platform-dir`.
    pub platform_dir: Option<PathBuf>,
    /// What the target's policies are checked against (approvals among it).
    pub policy: PolicySettings,
    /// Where the deployment's CDEvent goes.
    pub events: Events,
    /// `--shadow`: where the shadow run is made and the environment it resolves the job for.
    pub shadow: Option<super::shadow::ShadowSettings>,
}

impl From<PromoteProblem> for Failure {
    fn from(problem: PromoteProblem) -> Failure {
        Failure::Invalid(problem.0.into())
    }
}

/// The CLI's side of a promotion.
struct Host<'a> {
    settings: &'a PromoteSettings,
    printer: &'a Printer,
    choice: StoreChoice,
}

impl<'a> Host<'a> {
    /// A host for `settings`, the store chosen as `--store` says.
    fn new(settings: &'a PromoteSettings, printer: &'a Printer) -> Host<'a> {
        let choice = StoreChoice::of(settings.store.as_deref(), super::default_store(&settings.job));
        Host { settings, printer, choice }
    }

    fn job_settings(&self, env: Option<&str>) -> JobSettings {
        JobSettings {
            path: self.settings.job.clone(),
            env: env.map(str::to_owned),
            sets: Vec::new(),
            platform_dir: self.settings.platform_dir.clone(),
        }
    }

    /// The store the release is read from. A cluster store is in `--namespace`, else in the namespace of the
    /// job resolved for the environment the release id names (releases live beside their job, ADR 0031).
    fn open_releases(&self) -> Result<OpenStore, Failure> {
        if self.choice != StoreChoice::Cluster || self.settings.cluster.namespace.is_some() {
            return OpenStore::open(&self.choice, &self.settings.cluster, "");
        }
        let base = crate::workspace::resolve_job(&self.job_settings(None), ValidationTarget::Cluster)?;
        let Some(env) = environment_of(&self.settings.release, base.name()) else {
            return Err(Failure::invalid(
                "unknown-release",
                "--release",
                format!(
                    "`{}` is not a release id of job `{}` (<job>-<environment>-<12 hex digits>)",
                    self.settings.release,
                    base.name()
                ),
                "pass an id that `sparkplane releases JOB --store cluster` lists",
            ));
        };
        let (cluster, platform_dir) = (&self.settings.cluster, self.settings.platform_dir.as_deref());
        let namespace = namespace(&self.choice, cluster, Some(&self.settings.job), Some(env), platform_dir)?;
        OpenStore::open(&self.choice, cluster, &namespace)
    }
}

impl PromoteHost for Host<'_> {
    type Error = Failure;
    type ShadowPlan = super::shadow::ShadowPlan;

    fn release(&mut self, id: &str) -> Result<(StoredRelease, ReleaseRecord), Failure> {
        let store = self.open_releases()?;
        let stored = store.store().get(id).map_err(|e| store_failure(&e))?.ok_or_else(|| {
            Failure::invalid(
                "unknown-release",
                "--release",
                format!("no release `{id}` in {}", store.location()),
                "pass an id that `sparkplane releases JOB` lists (or --store for another release store)",
            )
        })?;
        let record = ReleaseRecord::from_json(&stored.record).map_err(|message| {
            Failure::failed(
                "release-unreadable",
                "--release",
                format!("release {id}: {message}"),
                "do not deploy this release; release the job again from its source",
            )
        })?;
        Ok((stored, record))
    }

    fn render(&mut self, env: &str) -> Result<(ResolvedJob, Vec<RenderedObject>), Failure> {
        let (resolved, objects) = crate::workspace::render_objects(&self.job_settings(Some(env)), Target::Native)?;
        self.printer.warnings(&resolved.warnings);
        Ok((resolved, objects))
    }

    fn resolve(&mut self, env: &str) -> Result<ResolvedJob, Failure> {
        crate::workspace::resolve_job(&self.job_settings(Some(env)), ValidationTarget::Cluster)
    }

    fn deployed_by(&mut self) -> Result<String, Failure> {
        stamp::released_by(self.settings.by.as_deref(), &self.settings.job, self.printer)
    }

    fn commit(&mut self) -> Result<String, Failure> {
        stamp::source_commit(self.settings.commit.as_deref(), &self.settings.job)
    }

    fn trusted_keys(&mut self) -> Result<Vec<PublicKey>, Failure> {
        super::keys::trusted_keys(&self.settings.trusted_keys, &self.settings.job, &self.settings.to)
    }

    fn plan_shadow(&mut self, release: &str) -> Result<Option<super::shadow::ShadowPlan>, Failure> {
        let Some(place) = &self.settings.shadow else { return Ok(None) };
        let promotion = super::shadow::Promotion {
            job: &self.settings.job,
            to: &self.settings.to,
            platform_dir: self.settings.platform_dir.as_deref(),
            cluster: &self.settings.cluster,
        };
        super::shadow::plan(&promotion, place, release).map(Some)
    }

    /// With the cluster store, the source environment's runs are the operator's (ADR 0043).
    fn cluster_runs(&self) -> bool {
        self.choice == StoreChoice::Cluster
    }

    fn source_run(&mut self, job: &str, env: &str) -> Result<Option<SourceRun>, Failure> {
        if !self.cluster_runs() {
            return local_run(job, env);
        }
        let (job_settings, cluster) = (self.job_settings(Some(env)), &self.settings.cluster);
        cluster_run(&job_settings, cluster.context.clone(), self.settings.platform_dir.as_deref())
    }

    /// The target's deny policies that fail, through the one policy gate's verdict; warnings are shown.
    fn denials(&mut self, job: &ResolvedJob, objects: &[RenderedObject]) -> Result<Vec<Denial>, Failure> {
        let verdict = policy::verdict(job, objects, &self.settings.policy, self.printer)?;
        let mut warnings = sparkplane_documents::Diagnostics::new();
        let mut out = Vec::new();
        for v in &verdict.violations {
            match v.severity() {
                PolicySeverity::Deny => out.push(Denial {
                    policy: v.policy.id.to_string(),
                    message: v.message.clone(),
                    fix: v.fix().to_owned(),
                }),
                PolicySeverity::Warn => warnings.push(v.to_diagnostic()),
            }
        }
        self.printer.warnings(&warnings);
        Ok(out)
    }

    /// The log is kept beside the releases: in the store's directory, or as ConfigMaps in the target's namespace.
    fn deployments(&mut self, job: &str, env: &str, namespace: &str) -> Result<Vec<DeploymentRecord>, Failure> {
        let store = OpenStore::open(&self.choice, &self.settings.cluster, namespace)?;
        store.deployments(job, env).list().map_err(|e| log_failure(&e))
    }

    fn run_shadow(&mut self, plan: &super::shadow::ShadowPlan) -> Result<ShadowOutcome, Failure> {
        super::shadow::run(plan, self.printer)
    }

    fn record(&mut self, record: DeploymentRecord, files: &[(String, String)]) -> Result<Recorded, Failure> {
        // The log `deployments` read: the record names its job, environment and namespace.
        let store = OpenStore::open(&self.choice, &self.settings.cluster, &record.namespace)?;
        let log = store.deployments(&record.job, &record.environment);
        let written = log.append(record, files).map_err(|e| log_failure(&e))?;
        Ok(Recorded { sequence: written.sequence, manifests: log.manifests_of(written.sequence) })
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

    fn note(&mut self, line: &str) {
        self.printer.status(line);
    }
}

/// Runs `promote` (`sparkplane_delivery::promote_run` over the CLI's host):
/// every gate judged, all refusals reported at once (exit 1); when all hold,
/// the deployment recorded, its manifests written and its CDEvent sent.
pub fn promote(settings: &PromoteSettings, printer: &Printer) -> CommandResult {
    let job_file = settings.job.display().to_string();
    let request = PromoteRequest {
        release: &settings.release,
        to: &settings.to,
        from: settings.from.as_deref(),
        job_file: &job_file,
    };
    let outcome = promote_run::run(&request, &mut Host::new(settings, printer))?;
    let print = || printer.result(&outcome.report_json(&settings.to), || outcome.text(&settings.to));
    match &outcome {
        Promotion::Refused { event, .. } => {
            print();
            settings.events.emit(std::slice::from_ref(event), printer);
            Err(Failure::Failed(outcome.refusals()))
        }
        Promotion::Current { .. } => {
            print();
            Ok(())
        }
        Promotion::Promoted(done) => {
            settings.events.emit(std::slice::from_ref(&done.event), printer);
            print();
            Ok(())
        }
    }
}

/// The last run of `job` in `env` in the run history; shadow runs (outputs redirected) are no such run.
pub fn local_run(job: &str, env: &str) -> Result<Option<SourceRun>, Failure> {
    let home = sparkplane_local::runtime::default_home()
        .map_err(|e| Failure::unreachable("home", "", e.to_string(), "set SPARKPLANE_HOME"))?;
    let (runs, _) = sparkplane_local::history::list(&home);
    let run = runs.into_iter().find(|r| r.job == job && r.environment.as_deref() == Some(env) && r.shadow_of.is_none());
    Ok(run.map(|r| SourceRun {
        quality_gates: QualityGates::from_outcome(r.quality_gates),
        state: r.state.as_str().to_owned(),
        failure: r.failure,
        spec_hash: r.spec_hash,
        run_id: r.run_id,
        release: RunRelease::Local,
    }))
}

/// The last run of `job` (resolved for its environment) in the cluster (ADR 0043): the status of the SparkJob in the namespace
/// the job resolves to there, bound to the object as it is now by its spec hash, computed as the operator
/// computes it (with `--platform-dir`'s catalog, as the operator's).
pub fn cluster_run(
    job: &JobSettings,
    context: Option<String>,
    platform_dir: Option<&Path>,
) -> Result<Option<SourceRun>, Failure> {
    let resolved = crate::workspace::resolve_job(job, ValidationTarget::Cluster)?;
    let (namespace, name) = (resolved.namespace().to_owned(), resolved.name().to_owned());
    let target = ClusterTarget { context, namespace: Some(namespace.clone()) };
    let cluster = crate::commands::kube_view::cluster_settings(&target)?;
    let found = crate::commands::kube_view::block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::get(&client, &server, &namespace, &name).await
    })?;
    let Some(job) = found else { return Ok(None) };
    let catalog = crate::workspace::load_catalog(platform_dir)?;
    let current = sparkplane_lifecycle::plan::resolve_resource(&job, &catalog).ok().map(|r| r.short_hash());
    Ok(Some(sparkplane_delivery::cluster_run::source_run(&job, current.as_deref())))
}
