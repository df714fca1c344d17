//! `sparkplane promote`, `rollback` and `deployments`: the I/O around the
//! delivery crate's promotion gates and deployments log — gathering the facts
//! the gates judge (the release and its signature against the trusted keys,
//! the last local run in the source environment, the target's policy verdict
//! through the one policy gate, what would be deployed), then acting on the
//! decision: the deployment record, the manifests rendered by the one render
//! step, and the CDEvent.
//!
//! With `--shadow`, once every other gate holds, the candidate's shadow run
//! is made (`super::shadow`: on this machine or through the operator) and
//! the shadow gate judges its comparison.
//!
//! Owns: settings and their defaults (store `releases/` next to the job,
//! trusted keys `.sparkplane/trusted-keys/<env>/*.pub` next to it), reading
//! those files, and output. Must not judge a gate, choose a rollback target
//! or lay out the log (`sparkplane_delivery::{promote, deployments}` do), nor
//! evaluate policies or render any other way than `render` does.

use std::path::{Path, PathBuf};

use sparkplane_core::Diagnostic;
use sparkplane_core::image::ImageRef;
use sparkplane_core::policy::PolicySeverity;
use sparkplane_core::render::{RenderedObject, Target};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_delivery::cdevents::{Step, release_purl};
use sparkplane_delivery::deployments::{self, Action, Change, DeploymentRecord};
use sparkplane_delivery::promote::{
    self, Candidate, Decision, Denial, Facts, QualityGates, RunRelease, SignatureCheck, SourceRun,
};
use sparkplane_delivery::release_record::ReleaseRecord;
use sparkplane_delivery::release_verify::{self, Verdict};
use sparkplane_delivery::sign::{PublicKey, sha256_digest};
use sparkplane_delivery::store::{StoredRelease, environment_of};
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_local::history::{GateOutcome, RunRecord};

use super::policy::PolicySettings;
use super::release_store::{OpenStore, StoreChoice, log_failure, store_failure};
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

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::Invalid(Diagnostic::error(code, path, message).with_help(help).into())
}

fn failed(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::Failed(Diagnostic::error(code, path, message).with_help(help).into())
}

/// The default trusted keys of `env`: `.sparkplane/trusted-keys/<env>/` next to the job file.
pub fn default_trusted_keys_dir(job: &Path, env: &str) -> PathBuf {
    job.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".sparkplane")
        .join("trusted-keys")
        .join(env)
}

/// The keys trusted for the target: `--trusted-key` files, else the `*.pub` files of the default directory.
fn trusted_keys(settings: &PromoteSettings) -> Result<Vec<PublicKey>, Failure> {
    let paths = if settings.trusted_keys.is_empty() {
        let dir = default_trusted_keys_dir(&settings.job, &settings.to);
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "pub")).collect();
        paths.sort();
        paths
    } else {
        settings.trusted_keys.clone()
    };
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))?;
            PublicKey::from_pem(&text).map_err(|e| {
                invalid(
                    "bad-key",
                    "--trusted-key",
                    format!("{}: {e}", path.display()),
                    "list public keys only (release.pub, cosign.pub)",
                )
            })
        })
        .collect()
}

/// How the release checks against the trusted keys (`release_verify` judges; this picks the key).
fn check_signature(stored: &StoredRelease, record: &ReleaseRecord, keys: &[PublicKey]) -> SignatureCheck {
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

/// The last local run of `job` in `env`, from the run history; shadow runs (outputs redirected) are no such run.
fn source_run(job: &str, env: &str) -> Result<Option<SourceRun>, Failure> {
    let home = sparkplane_local::runtime::default_home().map_err(|e| {
        Failure::Infrastructure(Diagnostic::error("home", "", e.to_string()).with_help("set SPARKPLANE_HOME").into())
    })?;
    let (runs, _) = sparkplane_local::history::list(&home);
    let of_the_job = |r: &RunRecord| r.job == job && r.environment.as_deref() == Some(env) && r.shadow_of.is_none();
    Ok(runs.into_iter().find(of_the_job).map(|r: RunRecord| SourceRun {
        quality_gates: match r.quality_gates {
            Some(GateOutcome::Passed) => QualityGates::Passed,
            Some(GateOutcome::Failed) => QualityGates::Failed,
            Some(GateOutcome::Error) => QualityGates::Error,
            None => QualityGates::Unknown,
        },
        state: r.state.as_str().to_owned(),
        failure: r.failure,
        spec_hash: r.spec_hash,
        run_id: r.run_id,
        release: RunRelease::Local,
    }))
}

/// The last run of the job in `env` in the cluster (ADR 0043): the status of
/// the SparkJob in the namespace the job resolves to there, bound to the
/// object as it is now by its spec hash, computed as the operator computes it
/// (with `--platform-dir`'s catalog, as the operator's).
fn cluster_source_run(settings: &PromoteSettings, env: &str) -> Result<Option<SourceRun>, Failure> {
    let job_settings = JobSettings {
        path: settings.job.clone(),
        env: Some(env.to_owned()),
        sets: Vec::new(),
        platform_dir: settings.platform_dir.clone(),
    };
    let resolved = crate::workspace::resolve_job(&job_settings, sparkplane_core::validate::ValidationTarget::Cluster)?;
    let (namespace, name) = (resolved.namespace().to_owned(), resolved.name().to_owned());
    let target = ClusterTarget { context: settings.cluster.context.clone(), namespace: Some(namespace.clone()) };
    let cluster = super::kube_view::cluster_settings(&target)?;
    let found = super::kube_view::block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::get(&client, &server, &namespace, &name).await
    })?;
    let Some(job) = found else { return Ok(None) };
    let catalog = crate::workspace::load_catalog(settings.platform_dir.as_deref())?;
    let current = sparkplane_core::operator::plan::resolve_resource(&job, &catalog).ok().map(|r| r.short_hash());
    Ok(Some(sparkplane_delivery::cluster_run::source_run(&job, current.as_deref())))
}

/// The target's deny policies that fail, through the one policy gate's verdict; warnings are shown.
fn denials(
    resolved: &ResolvedJob,
    objects: &[RenderedObject],
    settings: &PolicySettings,
    printer: &Printer,
) -> Result<Vec<Denial>, Failure> {
    let verdict = super::policy::verdict(resolved, objects, settings, printer)?;
    let mut warnings = sparkplane_core::Diagnostics::new();
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
    printer.warnings(&warnings);
    Ok(out)
}

/// A stored release and its record, or exit 2 naming the id and the store (exit 1 when it does not read).
fn load_release(store: &OpenStore, id: &str) -> Result<(StoredRelease, ReleaseRecord), Failure> {
    let stored = store.store().get(id).map_err(|e| store_failure(&e))?.ok_or_else(|| {
        invalid(
            "unknown-release",
            "--release",
            format!("no release `{id}` in {}", store.location()),
            "pass an id that `sparkplane releases JOB` lists (or --store for another release store)",
        )
    })?;
    let record = ReleaseRecord::from_json(&stored.record).map_err(|message| {
        failed(
            "release-unreadable",
            "--release",
            format!("release {id}: {message}"),
            "do not deploy this release; release the job again from its source",
        )
    })?;
    Ok((stored, record))
}

/// Manifests as the files of a deployment (`manifests/<object file>`).
fn manifest_files(objects: &[RenderedObject]) -> Vec<(String, String)> {
    objects.iter().map(|o| (format!("manifests/{}", o.file_name()), sparkplane_core::yaml::to_yaml(&o.body))).collect()
}

/// Writes the manifests into `out_dir` (as `render --out-dir`, stale ones of the job removed).
fn write_out_dir(out_dir: Option<&Path>, objects: &[RenderedObject], job: &str) -> Result<Vec<String>, Failure> {
    let Some(dir) = out_dir else { return Ok(Vec::new()) };
    let written = super::render::write_files(dir, objects)?;
    super::render::prune_stale(dir, objects, job)?;
    Ok(written)
}

fn refusal_report(decision: &Decision, record: &ReleaseRecord, target: &str) -> serde_json::Value {
    serde_json::json!({
        "promoted": false, "release": record.id, "to": target,
        "passed": decision.passed().iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "refused": decision.refusals.iter().map(|r| serde_json::json!({"gate": r.gate.as_str(), "message": r.message, "fix": r.fix})).collect::<Vec<_>>(),
    })
}

/// The store the release is read from. A cluster store is in `--namespace`,
/// else in the namespace of the job resolved for the environment the release
/// id names (releases live beside the job they were made for, ADR 0031).
fn open_releases(settings: &PromoteSettings, choice: &StoreChoice) -> Result<OpenStore, Failure> {
    if *choice != StoreChoice::Cluster || settings.cluster.namespace.is_some() {
        return OpenStore::open(choice, &settings.cluster, "");
    }
    let job_settings = |env: Option<String>| JobSettings {
        path: settings.job.clone(),
        env,
        sets: Vec::new(),
        platform_dir: settings.platform_dir.clone(),
    };
    let cluster = sparkplane_core::validate::ValidationTarget::Cluster;
    let base = crate::workspace::resolve_job(&job_settings(None), cluster)?;
    let Some(env) = environment_of(&settings.release, base.name()) else {
        return Err(invalid(
            "unknown-release",
            "--release",
            format!(
                "`{}` is not a release id of job `{}` (<job>-<environment>-<12 hex digits>)",
                settings.release,
                base.name()
            ),
            "pass an id that `sparkplane releases JOB --store cluster` lists",
        ));
    };
    let resolved = crate::workspace::resolve_job(&job_settings(Some(env.to_owned())), cluster)?;
    OpenStore::open(choice, &settings.cluster, resolved.namespace())
}

/// What the shadow run needs of these settings.
fn promotion(settings: &PromoteSettings) -> super::shadow::Promotion<'_> {
    super::shadow::Promotion {
        job: &settings.job,
        to: &settings.to,
        platform_dir: settings.platform_dir.as_deref(),
        cluster: &settings.cluster,
    }
}

/// Runs `promote`: every gate judged, all refusals reported at once (exit 1);
/// when all hold, the deployment recorded, its manifests written and its CDEvent sent.
pub fn promote(settings: &PromoteSettings, printer: &Printer) -> CommandResult {
    let choice = StoreChoice::of(settings.store.as_deref(), super::release::default_store(&settings.job));
    let releases = open_releases(settings, &choice)?;
    let (stored, record) = load_release(&releases, &settings.release)?;
    let source = settings.from.clone().unwrap_or_else(|| record.environment.clone());
    let job_settings = |env: &str| JobSettings {
        path: settings.job.clone(),
        env: Some(env.to_owned()),
        sets: Vec::new(),
        platform_dir: settings.platform_dir.clone(),
    };
    // Bad input first (exit 2), before any gate is judged or anything written.
    let (resolved, objects) = crate::workspace::render_objects(&job_settings(&settings.to), Target::Native)?;
    printer.warnings(&resolved.warnings);
    let cluster = sparkplane_core::validate::ValidationTarget::Cluster;
    if source != record.environment {
        crate::workspace::resolve_job(&job_settings(&source), cluster)?;
    }
    // The job file as the release's own environment resolves it now: the release must be exactly that.
    let released = crate::workspace::resolve_job(&job_settings(&record.environment), cluster)?;
    if record.job != resolved.name() {
        return Err(invalid(
            "wrong-job",
            "--release",
            format!("release {} is of job `{}`, not `{}`", record.id, record.job, resolved.name()),
            format!("pass a release of `{}` (`sparkplane releases {}`)", resolved.name(), settings.job.display()),
        ));
    }
    if source == settings.to {
        return Err(invalid(
            "bad-flag",
            "--to",
            format!("the release would be promoted from {source} to itself"),
            "pass --to another environment (and --from the one it comes from)",
        ));
    }
    let by = super::release::released_by(settings.by.as_deref(), &settings.job, printer)?;
    let commit = super::release::source_commit(settings.commit.as_deref(), &settings.job)?;
    let keys = trusted_keys(settings)?;
    let shadow_plan = settings
        .shadow
        .as_ref()
        .map(|place| super::shadow::plan(&promotion(settings), place, &record.id))
        .transpose()?;

    let job_file = settings.job.display().to_string();
    let facts = Facts {
        release: &record,
        source: &source,
        target: &settings.to,
        job_file: &job_file,
        // With the cluster store, the source environment's runs are the operator's (ADR 0043).
        source_run: match &choice {
            StoreChoice::Cluster => cluster_source_run(settings, &source)?,
            StoreChoice::Dir(_) => source_run(&record.job, &source)?,
        },
        cluster_runs: choice == StoreChoice::Cluster,
        denials: denials(&resolved, &objects, &settings.policy, printer)?,
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
    // The log is kept beside the releases: in the store's directory, or as ConfigMaps in the target's namespace.
    let logs = OpenStore::open(&choice, &settings.cluster, resolved.namespace())?;
    let log = logs.deployments(&record.job, &settings.to);
    let history = log.list().map_err(|e| log_failure(&e))?;
    let change = deployments::change(&history, &record.id);
    // The shadow run costs a whole run of the job: it is made only once every other gate holds, and
    // not for a release the target already runs.
    let shadow_outcome = match &shadow_plan {
        Some(plan) if decision.promote() && change != Change::Current => Some(super::shadow::run(plan, printer)?),
        Some(_) if !decision.promote() => {
            printer.status("note: the shadow run was not made: other gates refuse");
            None
        }
        _ => None,
    };
    if shadow_outcome.is_some() {
        let facts = Facts { shadow: shadow_outcome.clone(), ..facts };
        decision = promote::decide(&facts);
    }
    let decision = decision;
    for note in &decision.notes {
        printer.status(&format!("note: {note}"));
    }
    let artifact = release_purl(&record.job, &record.id);
    if !decision.promote() {
        let mut report = refusal_report(&decision, &record, &settings.to);
        report["shadow"] = super::shadow::report(shadow_outcome.as_ref());
        printer.result(&report, || super::shadow::lines(shadow_outcome.as_ref()));
        let gates: Vec<&str> = decision.refusals.iter().map(|r| r.gate.as_str()).collect();
        settings.events.emit(
            &[Step::IncidentDetected {
                incident: format!("promote/{}/{}/{}", record.job, settings.to, record.id),
                description: format!(
                    "promotion of {} to {} refused by {} gate{}: {}",
                    record.id,
                    settings.to,
                    gates.len(),
                    if gates.len() == 1 { "" } else { "s" },
                    gates.join(", ")
                ),
                environment: settings.to.clone(),
                service: Some(record.job.clone()),
                artifact: Some(artifact),
            }],
            printer,
        );
        let diagnostics = decision
            .refusals
            .iter()
            .map(|r| Diagnostic::error("promotion-gate", r.gate.as_str(), r.message.clone()).with_help(r.fix.clone()))
            .collect();
        return Err(Failure::Failed(sparkplane_core::Diagnostics(diagnostics)));
    }

    if change == Change::Current {
        let current = history.last().map_or(0, |d| d.sequence);
        let report =
            serde_json::json!({"promoted": false, "release": record.id, "to": settings.to, "current": current});
        printer.result(&report, || {
            format!("{} already runs {} (deployment {current}); nothing written\n", settings.to, record.id)
        });
        return Ok(());
    }
    let new = DeploymentRecord {
        api_version: sparkplane_api::API_VERSION.to_owned(),
        kind: deployments::KIND.to_owned(),
        sequence: 0,
        job: record.job.clone(),
        environment: settings.to.clone(),
        namespace: resolved.namespace().to_owned(),
        action: Action::Promote,
        release: record.id.clone(),
        content_hash: record.content_hash.clone(),
        spec_hash: resolved.spec_hash(),
        image: record.image.reference.clone(),
        commit: record.source.commit.clone(),
        sbom_digest: record.sbom.digest.clone(),
        signed_by: record.signed_by.clone(),
        from: Some(source.clone()),
        rollback_of: None,
        deployed_by: by,
        deployed_at: super::release::now(),
        spec: serde_json::to_value(&resolved.job).unwrap_or_default(),
    };
    let written = log.append(new, &manifest_files(&objects)).map_err(|e| log_failure(&e))?;
    let out = write_out_dir(settings.out_dir.as_deref(), &objects, &record.job)?;
    let step = match change {
        Change::First => Step::ServiceDeployed {
            service: record.job.clone(),
            environment: settings.to.clone(),
            artifact: artifact.clone(),
        },
        _ => Step::ServiceUpgraded { service: record.job.clone(), environment: settings.to.clone(), artifact },
    };
    settings.events.emit(&[step], printer);
    let manifests = log.manifests_of(written.sequence);
    let dir = manifests.strip_suffix("/manifests").map(str::to_owned);
    let report = serde_json::json!({
        "promoted": true, "release": record.id, "from": source, "to": settings.to, "sequence": written.sequence,
        "first": change == Change::First, "dir": dir, "manifests": manifests, "outDir": out,
        "passed": decision.passed().iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "shadow": super::shadow::report(shadow_outcome.as_ref()),
    });
    printer.result(&report, || {
        let mut text = format!(
            "promoted {} from {source} to {} (deployment {}{})\n  gates passed: {}\n  manifests in {}\n",
            record.id,
            settings.to,
            written.sequence,
            if change == Change::First { ", the first there" } else { "" },
            decision.passed().iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", "),
            manifests
        );
        text.push_str(&super::shadow::lines(shadow_outcome.as_ref()));
        text.extend(out.iter().map(|p| format!("wrote {p}\n")));
        text
    });
    Ok(())
}

/// The job's name and default store from JOB (a job file or a name), as `releases` reads it.
fn job_and_store(job: &str, store: Option<&Path>) -> Result<(String, StoreChoice, Option<PathBuf>), Failure> {
    let path = Path::new(job);
    if path.is_file() {
        let doc = crate::workspace::read_yaml(path)?;
        let field = sparkplane_core::yaml::FieldPath::parse("metadata.name").unwrap_or_default();
        let name = doc.get(&field).and_then(sparkplane_core::yaml::Node::as_str).unwrap_or_default().to_owned();
        let store = StoreChoice::of(store, super::release::default_store(path));
        return Ok((name, store, Some(path.to_owned())));
    }
    Ok((job.to_owned(), StoreChoice::of(store, PathBuf::from("releases")), None))
}

/// The store holding the deployments log of `env`: with `--store cluster`, in `--namespace`, else the namespace
/// the job file resolves to for `env`, else the context's.
fn open_log(
    choice: &StoreChoice,
    job_file: Option<&Path>,
    env: &str,
    cluster: &ClusterTarget,
    platform_dir: Option<&Path>,
) -> Result<OpenStore, Failure> {
    let namespace = match (choice, job_file) {
        (StoreChoice::Cluster, Some(path)) if cluster.namespace.is_none() => {
            let settings = JobSettings {
                path: path.to_owned(),
                env: Some(env.to_owned()),
                sets: Vec::new(),
                platform_dir: platform_dir.map(Path::to_owned),
            };
            let cluster_target = sparkplane_core::validate::ValidationTarget::Cluster;
            crate::workspace::resolve_job(&settings, cluster_target)?.namespace().to_owned()
        }
        (StoreChoice::Cluster, None) if cluster.namespace.is_none() => {
            super::kube_view::cluster_settings(cluster)?.namespace
        }
        _ => String::new(),
    };
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
    Err(invalid(
        "unknown-environment",
        "--env",
        format!("there is no environment `{env}`"),
        sparkplane_core::resolve::environment_help(env, &known),
    ))
}

/// Runs `rollback`: the earlier deployment's spec rendered again by the one
/// render step, recorded as a new deployment, `service.rolledback` sent.
pub fn rollback(settings: &RollbackSettings, printer: &Printer) -> CommandResult {
    let (job, store, job_file) = job_and_store(&settings.job, settings.store.as_deref())?;
    known_environment(&settings.env, job_file.as_deref(), settings.platform_dir.as_deref())?;
    let by = super::release::released_by(settings.by.as_deref(), Path::new(&settings.job), printer)?;
    let logs =
        open_log(&store, job_file.as_deref(), &settings.env, &settings.cluster, settings.platform_dir.as_deref())?;
    let log = logs.deployments(&job, &settings.env);
    let history = log.list().map_err(|e| log_failure(&e))?;
    let target =
        deployments::rollback_target(&history, settings.to.as_deref(), &job, &settings.env).map_err(|e| match e {
            deployments::RollbackError::NeverDeployed { .. } => invalid(
                "unknown-release",
                "--to",
                e.to_string(),
                format!("pass a release `sparkplane deployments {} --env {}` lists", settings.job, settings.env),
            ),
            _ => failed(
                "nothing-to-roll-back",
                "",
                e.to_string(),
                format!("promote a release to {} first (`sparkplane promote`)", settings.env),
            ),
        })?;
    let current = history.last().map_or(0, |d| d.sequence);
    let resolved = target.resolved_job().map_err(|e| {
        failed(
            "bad-deployment",
            "spec",
            format!("deployment {} of {job} in {}: {e}", target.sequence, settings.env),
            "roll back to another release with --to",
        )
    })?;
    let objects = sparkplane_core::render::size_and_render(&resolved, Target::Native);
    let new = DeploymentRecord {
        sequence: 0,
        action: Action::Rollback,
        from: None,
        rollback_of: Some(target.sequence),
        deployed_by: by,
        deployed_at: super::release::now(),
        ..target.clone()
    };
    let written = log.append(new, &manifest_files(&objects)).map_err(|e| log_failure(&e))?;
    let out = write_out_dir(settings.out_dir.as_deref(), &objects, &job)?;
    settings.events.emit(
        &[Step::ServiceRolledBack {
            service: job.clone(),
            environment: settings.env.clone(),
            artifact: release_purl(&job, &written.release),
        }],
        printer,
    );
    let manifests = log.manifests_of(written.sequence);
    let dir = manifests.strip_suffix("/manifests").map(str::to_owned);
    let report = serde_json::json!({
        "rolledBack": true, "release": written.release, "env": settings.env, "sequence": written.sequence,
        "rollbackOf": target.sequence, "replaced": current, "dir": dir, "manifests": manifests, "outDir": out,
    });
    printer.result(&report, || {
        let mut text = format!(
            "rolled {job} in {} back to {} (deployment {} again, recorded as {})\n  manifests in {}\n",
            settings.env, written.release, target.sequence, written.sequence, manifests
        );
        text.extend(out.iter().map(|p| format!("wrote {p}\n")));
        text
    });
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
    let rows: Vec<serde_json::Value> = history
        .iter()
        .map(|d| {
            serde_json::json!({
                "sequence": d.sequence, "action": d.action.as_str(), "release": d.release, "deployedAt": d.deployed_at,
                "deployedBy": d.deployed_by, "from": d.from, "rollbackOf": d.rollback_of, "image": d.image,
                "commit": d.commit, "contentHash": d.content_hash, "sbomDigest": d.sbom_digest, "signedBy": d.signed_by,
                "current": Some(d.sequence) == history.last().map(|l| l.sequence),
            })
        })
        .collect();
    printer.result(&rows, || {
        if history.is_empty() {
            return format!("no deployments of {name} in {env} ({})\n", logs.location());
        }
        let mut table = super::Table::new(&["SEQ", "DEPLOYED", "BY", "ACTION", "RELEASE", "FROM", "COMMIT"]);
        for d in &history {
            let current = Some(d.sequence) == history.last().map(|l| l.sequence);
            table.row(vec![
                format!("{}{}", d.sequence, if current { "*" } else { "" }),
                d.deployed_at.clone(),
                d.deployed_by.clone(),
                d.action.as_str().to_owned(),
                d.release.clone(),
                match (&d.from, d.rollback_of) {
                    (Some(env), _) => env.clone(),
                    (None, Some(seq)) => format!("#{seq}"),
                    _ => "-".to_owned(),
                },
                d.commit.chars().take(12).collect(),
            ]);
        }
        table.render()
    });
    Ok(())
}
