//! The CLI's host of `sparkplane_delivery::promote_run` (ADR 0069): the
//! release store `--store` picks, the job resolved and rendered by the one
//! render step, the trusted keys on disk, the run history on this machine or
//! the SparkJob in the cluster, the policy gate's verdict, the deployments
//! log and `--out-dir`.
//!
//! Owns: `promote`'s settings and their defaults (store `releases/` next to
//! the job, trusted keys `.sparkplane/trusted-keys/<env>/*.pub` next to it),
//! reading those files and stores, and their failures as exit codes. Must
//! not: order the steps, judge a gate, decide on the shadow run, build the
//! deployment record or pick the CDEvent (`promote_run` does).

use std::path::PathBuf;

use sparkplane_core::render::{RenderedObject, Target};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::deployments::DeploymentRecord;
use sparkplane_delivery::promote::{Denial, SourceRun};
use sparkplane_delivery::promote_run::{PromoteHost, PromoteProblem, Recorded};
use sparkplane_delivery::release_record::ReleaseRecord;
use sparkplane_delivery::shadow::ShadowOutcome;
use sparkplane_delivery::sign::PublicKey;
use sparkplane_delivery::store::{StoredRelease, environment_of};
use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_policy::PolicySeverity;

use super::policy::PolicySettings;
use super::release_store::{OpenStore, StoreChoice, log_failure, namespace, store_failure};
use crate::events::Events;
use crate::exit::Failure;
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

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::Invalid(Diagnostic::error(code, path, message).with_help(help).into())
}

/// The CLI's side of a promotion.
pub struct Host<'a> {
    settings: &'a PromoteSettings,
    printer: &'a Printer,
    choice: StoreChoice,
}

impl<'a> Host<'a> {
    /// A host for `settings`, the store chosen as `--store` says.
    pub fn new(settings: &'a PromoteSettings, printer: &'a Printer) -> Host<'a> {
        let choice = StoreChoice::of(settings.store.as_deref(), super::release::default_store(&settings.job));
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
            return Err(invalid(
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
            invalid(
                "unknown-release",
                "--release",
                format!("no release `{id}` in {}", store.location()),
                "pass an id that `sparkplane releases JOB` lists (or --store for another release store)",
            )
        })?;
        let record = ReleaseRecord::from_json(&stored.record).map_err(|message| {
            Failure::Failed(
                Diagnostic::error("release-unreadable", "--release", format!("release {id}: {message}"))
                    .with_help("do not deploy this release; release the job again from its source")
                    .into(),
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
        super::release_facts::released_by(self.settings.by.as_deref(), &self.settings.job, self.printer)
    }

    fn commit(&mut self) -> Result<String, Failure> {
        super::release_facts::source_commit(self.settings.commit.as_deref(), &self.settings.job)
    }

    fn trusted_keys(&mut self) -> Result<Vec<PublicKey>, Failure> {
        super::promote_facts::trusted_keys(&self.settings.trusted_keys, &self.settings.job, &self.settings.to)
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
            return super::promote_facts::local_run(job, env);
        }
        let (job_settings, cluster) = (self.job_settings(Some(env)), &self.settings.cluster);
        super::promote_facts::cluster_run(&job_settings, cluster.context.clone(), self.settings.platform_dir.as_deref())
    }

    /// The target's deny policies that fail, through the one policy gate's verdict; warnings are shown.
    fn denials(&mut self, job: &ResolvedJob, objects: &[RenderedObject]) -> Result<Vec<Denial>, Failure> {
        let verdict = super::policy::verdict(job, objects, &self.settings.policy, self.printer)?;
        let mut warnings = sparkplane_documents::Diagnostics::new();
        let mut out = Vec::new();
        for v in &verdict.violations {
            match v.severity() {
                PolicySeverity::Deny => out.push(Denial {
                    policy: v.policy.id.to_string(),
                    message: v.message.clone(),
                    fix: v.fix().to_owned(),
                }),
                PolicySeverity::Warn => warnings.push(super::policy::to_diagnostic(v)),
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
        let written = super::render::write_files(dir, objects)?;
        super::render::prune_stale(dir, objects, job)?;
        Ok(written)
    }

    fn now(&mut self) -> String {
        super::release_facts::now()
    }

    fn note(&mut self, line: &str) {
        self.printer.status(line);
    }
}
