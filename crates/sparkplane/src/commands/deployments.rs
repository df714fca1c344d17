//! `sparkplane rollback` and `deployments`: the I/O around the delivery
//! crate's deployments log — which store and namespace the log is in, the
//! earlier deployment's spec rendered again by the one render step, and
//! output.
//!
//! Owns: settings, opening the log, and output. Must not: choose a rollback
//! target or lay out the log (`sparkplane_delivery::deployments` does), nor
//! render any other way than `render` does.

use std::path::{Path, PathBuf};

use sparkplane_core::render::Target;
use sparkplane_delivery::cdevents::{Step, release_purl};
use sparkplane_delivery::deployments::{self, Action, DeploymentRecord};
use sparkplane_delivery::promote_run::manifest_files;
use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;

use super::release_store::{OpenStore, StoreChoice, log_failure};
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

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::Invalid(Diagnostic::error(code, path, message).with_help(help).into())
}

fn failed(code: &'static str, path: &str, message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure::Failed(Diagnostic::error(code, path, message).with_help(help).into())
}

/// Writes the manifests into `out_dir` (as `render --out-dir`, stale ones of the job removed).
fn write_out_dir(
    out_dir: Option<&Path>,
    objects: &[sparkplane_core::render::RenderedObject],
    job: &str,
) -> Result<Vec<String>, Failure> {
    let Some(dir) = out_dir else { return Ok(Vec::new()) };
    let written = super::render::write_files(dir, objects)?;
    super::render::prune_stale(dir, objects, job)?;
    Ok(written)
}

/// The job's name and default store from JOB (a job file or a name), as `releases` reads it.
fn job_and_store(job: &str, store: Option<&Path>) -> Result<(String, StoreChoice, Option<PathBuf>), Failure> {
    let path = Path::new(job);
    if path.is_file() {
        let doc = crate::workspace::read_yaml(path)?;
        let field = sparkplane_documents::yaml::FieldPath::parse("metadata.name").unwrap_or_default();
        let name = doc.get(&field).and_then(sparkplane_documents::yaml::Node::as_str).unwrap_or_default().to_owned();
        let store = StoreChoice::of(store, super::release::default_store(path));
        return Ok((name, store, Some(path.to_owned())));
    }
    Ok((job.to_owned(), StoreChoice::of(store, PathBuf::from("releases")), None))
}

/// The store holding the deployments log of `env`, a cluster store in the namespace the one rule picks
/// (`release_store::namespace`: `--namespace`, else the job file's in `env`, else the context's).
fn open_log(
    choice: &StoreChoice,
    job_file: Option<&Path>,
    env: &str,
    cluster: &ClusterTarget,
    platform_dir: Option<&Path>,
) -> Result<OpenStore, Failure> {
    let namespace = super::release_store::namespace(choice, cluster, job_file, Some(env), platform_dir)?;
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
    let by = super::release_facts::released_by(settings.by.as_deref(), Path::new(&settings.job), printer)?;
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
        deployed_at: super::release_facts::now(),
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
