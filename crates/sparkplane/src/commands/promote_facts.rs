//! What the promotion gates read from this machine besides the release
//! store: the last run in the source environment (this machine's run
//! history, or the SparkJob in the cluster, ADR 0043) and the trusted keys
//! on disk.
//!
//! Owns: reading those and their failures as exit codes. Must not: judge a
//! run or a signature (`sparkplane_delivery::promote` does).

use std::path::{Path, PathBuf};

use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::promote::{QualityGates, RunRelease, SourceRun};
use sparkplane_delivery::sign::PublicKey;
use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;

use crate::exit::Failure;
use crate::workspace::JobSettings;

/// The default trusted keys of `env`: `.sparkplane/trusted-keys/<env>/` next to the job file.
pub fn default_trusted_keys_dir(job: &Path, env: &str) -> PathBuf {
    job.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".sparkplane")
        .join("trusted-keys")
        .join(env)
}

/// The keys trusted for `to`: the `--trusted-key` files, else the `*.pub` files of the default directory.
pub fn trusted_keys(flags: &[PathBuf], job: &Path, to: &str) -> Result<Vec<PublicKey>, Failure> {
    let paths = if flags.is_empty() {
        let dir = default_trusted_keys_dir(job, to);
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "pub")).collect();
        paths.sort();
        paths
    } else {
        flags.to_vec()
    };
    let read = |path: &PathBuf| {
        let text = std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))?;
        PublicKey::from_pem(&text).map_err(|e| {
            Failure::Invalid(
                Diagnostic::error("bad-key", "--trusted-key", format!("{}: {e}", path.display()))
                    .with_help("list public keys only (release.pub, cosign.pub)")
                    .into(),
            )
        })
    };
    paths.iter().map(read).collect()
}

/// The last run of `job` in `env` in the run history; shadow runs (outputs redirected) are no such run.
pub fn local_run(job: &str, env: &str) -> Result<Option<SourceRun>, Failure> {
    let home = sparkplane_local::runtime::default_home().map_err(|e| {
        Failure::Infrastructure(Diagnostic::error("home", "", e.to_string()).with_help("set SPARKPLANE_HOME").into())
    })?;
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
    let cluster = super::kube_view::cluster_settings(&target)?;
    let found = super::kube_view::block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::get(&client, &server, &namespace, &name).await
    })?;
    let Some(job) = found else { return Ok(None) };
    let catalog = crate::workspace::load_catalog(platform_dir)?;
    let current = sparkplane_lifecycle::plan::resolve_resource(&job, &catalog).ok().map(|r| r.short_hash());
    Ok(Some(sparkplane_delivery::cluster_run::source_run(&job, current.as_deref())))
}
