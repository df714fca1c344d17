//! `sparkplane status | logs | list | delete`: applications on a cluster.
//!
//! Owns: turning a name or job file into a lookup and showing the answers.
//! Must not: talk to the API except through `sparkplane_kube`.

use std::path::Path;

use sparkplane_core::validate::ValidationTarget;
use sparkplane_kube::apps::{self, Lookup};
use sparkplane_kube::{Settings, Target as ClusterTarget};

use super::Table;
use super::submit::{application_table, kube_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// How long ago an RFC 3339 time was, as kubectl shows ages: `42s`, `5m`, `3h`, `2d`.
pub fn age(created: &str) -> String {
    let Ok(then) = created.parse::<k8s_openapi::jiff::Timestamp>() else { return "-".to_owned() };
    let seconds = (k8s_openapi::jiff::Timestamp::now().as_second() - then.as_second()).max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Reads the kubeconfig (or in-cluster configuration) for `target`.
pub fn connect(target: &ClusterTarget) -> Result<Settings, Failure> {
    sparkplane_kube::connect::load(target).map_err(|e| kube_failure(&e))
}

/// Runs one command's requests on a single-threaded runtime, kube errors as failures.
pub fn block_on<T>(
    settings: &Settings,
    work: impl AsyncFnOnce(kube::Client, String) -> Result<T, sparkplane_kube::KubeError>,
) -> Result<T, Failure> {
    let runtime = sparkplane_kube::runtime().map_err(|e| kube_failure(&e))?;
    runtime
        .block_on(async {
            let client = sparkplane_kube::connect::client(settings)?;
            work(client, settings.server()).await
        })
        .map_err(|e| kube_failure(&e))
}

/// A job file's lookup (its resolved spec) and namespace, or a plain name's.
fn lookup(
    target: &str,
    env: Option<&str>,
    sets: &[String],
    platform_dir: Option<&Path>,
    cluster: &Settings,
    namespace_flag: Option<&str>,
) -> Result<(Lookup, String), Failure> {
    let path = Path::new(target);
    if path.is_file() {
        let settings = JobSettings {
            path: path.to_owned(),
            env: env.map(str::to_owned),
            sets: sets.to_vec(),
            platform_dir: platform_dir.map(Path::to_owned),
        };
        let mut job = resolve_job(&settings, ValidationTarget::Cluster)?;
        if let Some(ns) = namespace_flag {
            job.job.metadata.namespace = Some(ns.to_owned());
        } else if job.job.metadata.namespace.is_none() && cluster.namespace_explicit {
            job.job.metadata.namespace = Some(cluster.namespace.clone());
        }
        let namespace = job.namespace().to_owned();
        return Ok((Lookup::Job { name: job.name().to_owned(), spec_hash: job.short_hash() }, namespace));
    }
    Ok((Lookup::Name(target.to_owned()), cluster.namespace.clone()))
}

/// What `status` was asked.
#[derive(Clone, Debug)]
pub struct StatusSettings {
    /// A job file or a name.
    pub target: String,
    /// `--env` (with a job file).
    pub env: Option<String>,
    /// `--set` (with a job file).
    pub sets: Vec<String>,
    /// `--platform-dir`.
    pub platform_dir: Option<std::path::PathBuf>,
    /// Context and namespace.
    pub cluster: ClusterTarget,
}

/// Runs `status`.
pub fn status(settings: &StatusSettings, printer: &Printer) -> CommandResult {
    let cluster = connect(&settings.cluster)?;
    let (lookup, namespace) = lookup(
        &settings.target,
        settings.env.as_deref(),
        &settings.sets,
        settings.platform_dir.as_deref(),
        &cluster,
        settings.cluster.namespace.as_deref(),
    )?;
    let app = block_on(&cluster, async |client, server| apps::status(&client, &server, &namespace, &lookup).await)?;
    printer.result(&app, || application_table(&app));
    Ok(())
}

/// Runs `logs`.
pub fn logs(name: &str, follow: bool, target: &ClusterTarget, printer: &Printer) -> CommandResult {
    let cluster = connect(target)?;
    let namespace = cluster.namespace.clone();
    let lookup = Lookup::Name(name.to_owned());
    block_on(&cluster, async |client, server| {
        let pod = apps::find_driver(&client, &server, &namespace, &lookup).await?;
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        apps::logs(&client, &server, &namespace, &pod_name, follow, |line| printer.raw(&format!("{line}\n"))).await
    })
}

/// Runs `list`.
pub fn list(all_namespaces: bool, selector: Option<&str>, target: &ClusterTarget, printer: &Printer) -> CommandResult {
    let cluster = connect(target)?;
    let namespace = (!all_namespaces).then(|| cluster.namespace.clone());
    let apps =
        block_on(&cluster, async |client, server| apps::list(&client, &server, namespace.as_deref(), selector).await)?;
    printer.result(&apps, || {
        if apps.is_empty() {
            return match &namespace {
                Some(ns) => format!("no sparkplane applications in namespace {ns}\n"),
                None => "no sparkplane applications\n".to_owned(),
            };
        }
        let mut table = Table::new(&["NAME", "NAMESPACE", "PHASE", "EXECUTORS", "AGE", "ATTEMPT"]);
        for app in &apps {
            table.row(vec![
                app.name.clone(),
                app.namespace.clone(),
                app.phase.clone(),
                app.executors.summary(),
                app.created.as_deref().map_or_else(|| "-".to_owned(), age),
                app.attempt.to_string(),
            ]);
        }
        table.render()
    });
    Ok(())
}

/// Runs `delete`.
pub fn delete(name: &str, all: bool, target: &ClusterTarget, printer: &Printer) -> CommandResult {
    let cluster = connect(target)?;
    let namespace = cluster.namespace.clone();
    let lookup = Lookup::Name(name.to_owned());
    let deleted =
        block_on(&cluster, async |client, server| apps::delete(&client, &server, &namespace, &lookup, all).await)?;
    printer.result(&deleted, || {
        let mut text: String = deleted.objects.iter().map(|o| format!("deleted {namespace}/{o}\n")).collect();
        if !all {
            text.push_str(
                "its ConfigMaps, Service and NetworkPolicy are removed with the driver pod; RBAC objects stay (--all removes them)\n",
            );
        }
        text
    });
    Ok(())
}
