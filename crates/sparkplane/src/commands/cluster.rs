//! `sparkplane status | logs | list | delete`: applications on a cluster,
//! submitted directly or SparkJobs the operator manages.
//!
//! Owns: turning a name or job file into a lookup and showing the answers.
//! Must not: talk to the API except through `sparkplane_kube`.

use std::path::Path;

use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Diagnostic;
use sparkplane_kube::apps::{self, LogSource, Lookup};
use sparkplane_kube::{Settings, Target as ClusterTarget};

use super::kube_view::{block_on, cluster_settings};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

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
        let context = cluster.namespace_explicit.then_some(cluster.namespace.as_str());
        crate::workspace::settle_namespace(&mut job, &settings, namespace_flag, context)?;
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

/// Runs `status`: a SparkJob's status when one has the name, else the
/// newest driver the name or job file matches.
pub fn status(settings: &StatusSettings, printer: &Printer) -> CommandResult {
    let cluster = cluster_settings(&settings.cluster)?;
    let (lookup, namespace) = lookup(
        &settings.target,
        settings.env.as_deref(),
        &settings.sets,
        settings.platform_dir.as_deref(),
        &cluster,
        settings.cluster.namespace.as_deref(),
    )?;
    let found = block_on(&cluster, async |client, server| apps::status(&client, &server, &namespace, &lookup).await)?;
    printer.result(&found, || found.text());
    Ok(())
}

/// What `logs` was asked.
#[derive(Clone, Debug)]
pub struct LogsSettings {
    /// The SparkJob or application.
    pub name: String,
    /// `--follow`: stream until the driver ends.
    pub follow: bool,
    /// `--raw`: the lines as written, not read back as text (render::logging::as_text).
    pub raw: bool,
    /// Context and namespace.
    pub cluster: ClusterTarget,
}

/// Runs `logs`: the current driver pod's log, else (a SparkJob whose pod
/// the operator removed) the archived one, else why there is none.
pub fn logs(settings: &LogsSettings, printer: &Printer) -> CommandResult {
    let (name, follow) = (settings.name.as_str(), settings.follow);
    let shown = |line: &str| -> String {
        if settings.raw { line.to_owned() } else { sparkplane_core::render::logging::as_text(line).into_owned() }
    };
    let cluster = cluster_settings(&settings.cluster)?;
    let namespace = cluster.namespace.clone();
    let lookup = Lookup::Name(name.to_owned());
    let source = block_on(&cluster, async |client, server| {
        let source = apps::log_source(&client, &server, &namespace, &lookup).await?;
        if let LogSource::Pod { pod } = &source {
            apps::logs(&client, &server, &namespace, pod, follow, |line| printer.raw(&format!("{}\n", shown(line))))
                .await?;
        }
        Ok(source)
    })?;
    match source {
        LogSource::Pod { .. } => Ok(()),
        LogSource::Archive { ref url, .. } => {
            let note = source.archive_note(name).unwrap_or_default();
            printer.status(&note);
            if follow {
                printer.status("nothing to follow: that driver has ended");
            }
            let text = sparkplane_kube::logstore::read_text(url).map_err(|e| {
                Failure::of(e.category(), Diagnostic::error("log-archive", "", e.to_string()).with_help(e.help()).into())
            })?;
            for line in text.lines() {
                printer.raw(&format!("{}\n", shown(line)));
            }
            Ok(())
        }
        LogSource::Unavailable { message, help } => Err(Failure::invalid("no-log", "", message, help)),
    }
}

/// What `list` was asked.
#[derive(Clone, Debug)]
pub struct ListSettings {
    /// Every namespace instead of the current one.
    pub all_namespaces: bool,
    /// A label selector.
    pub selector: Option<String>,
    /// Context and namespace.
    pub cluster: ClusterTarget,
}

/// Runs `list`: SparkJobs and directly submitted applications, each once.
pub fn list(settings: &ListSettings, printer: &Printer) -> CommandResult {
    let selector = settings.selector.as_deref();
    let cluster = cluster_settings(&settings.cluster)?;
    let namespace = (!settings.all_namespaces).then(|| cluster.namespace.clone());
    let apps =
        block_on(&cluster, async |client, server| apps::list(&client, &server, namespace.as_deref(), selector).await)?;
    printer.result(&apps, || apps::list::table(&apps, namespace.as_deref()));
    Ok(())
}

/// What `delete` was asked.
#[derive(Clone, Debug)]
pub struct DeleteSettings {
    /// The SparkJob or application.
    pub name: String,
    /// `--all`: also its RBAC objects.
    pub all: bool,
    /// Context and namespace.
    pub cluster: ClusterTarget,
}

/// Runs `delete`: a SparkJob (what it owns follows), else a job's driver pods.
pub fn delete(settings: &DeleteSettings, printer: &Printer) -> CommandResult {
    let (name, all) = (settings.name.as_str(), settings.all);
    let cluster = cluster_settings(&settings.cluster)?;
    let namespace = cluster.namespace.clone();
    let lookup = Lookup::Name(name.to_owned());
    let deleted =
        block_on(&cluster, async |client, server| apps::delete(&client, &server, &namespace, &lookup, all).await)?;
    printer.result(&deleted, || deleted.text(&namespace, all));
    Ok(())
}
