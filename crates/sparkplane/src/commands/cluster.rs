//! `sparkplane status | logs | list | delete`: applications on a cluster,
//! submitted directly or SparkJobs the operator manages; `sparkplane ui`: a
//! job's link at the door.
//!
//! Owns: turning a name or job file into a lookup and showing the answers.
//! Must not: talk to the API except through `sparkplane_kube`.

use std::path::Path;

use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Diagnostic;
use sparkplane_kube::apps::{self, LogSource, Lookup};
use sparkplane_kube::{Settings, Target as ClusterTarget};

use super::kube_view::{block_on, cluster_settings, kube_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// A job file's lookup (its spec resolved for `validation`) and namespace, or a plain name's
/// (`-n`, else the context's, else `default` when there is no kubeconfig).
fn lookup(
    validation: ValidationTarget,
    of: &StatusSettings,
    cluster: Option<&Settings>,
) -> Result<(Lookup, String), Failure> {
    let (path, flag) = (Path::new(&of.target), of.cluster.namespace.as_deref());
    if path.is_file() {
        let settings = JobSettings {
            path: path.to_owned(),
            env: of.env.clone(),
            sets: of.sets.clone(),
            platform_dir: of.platform_dir.clone(),
        };
        let mut job = resolve_job(&settings, validation)?;
        let context = cluster.filter(|c| c.namespace_explicit).map(|c| c.namespace.as_str());
        crate::workspace::settle_namespace(&mut job, &settings, flag, context)?;
        let namespace = job.namespace().to_owned();
        return Ok((Lookup::Job { name: job.name().to_owned(), spec_hash: job.short_hash() }, namespace));
    }
    let namespace = cluster.map_or(flag.unwrap_or("default"), |c| c.namespace.as_str());
    Ok((Lookup::Name(of.target.clone()), namespace.to_owned()))
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
    let (lookup, namespace) = lookup(ValidationTarget::Cluster, settings, Some(&cluster))?;
    let found = block_on(&cluster, async |client, server| apps::status(&client, &server, &namespace, &lookup).await)?;
    printer.result(&found, || found.text());
    Ok(())
}

/// Runs `ui`: the link at `door` of the job `of` names (`sparkplane_history::live::job_link`), printed
/// and, with `open`, handed to the browser. No cluster is contacted; without a kubeconfig a name's
/// namespace is `-n`'s or `default`.
pub fn ui(of: &StatusSettings, door: &str, open: bool, printer: &Printer) -> CommandResult {
    let cluster = sparkplane_kube::kubeconfig::load_if_any(&of.cluster).map_err(|e| kube_failure(&e))?;
    // Only the name and namespace matter: a job run locally (no image) has a link too.
    let (job, namespace) = lookup(ValidationTarget::Any, of, cluster.as_ref())?;
    let (Lookup::Job { name, .. } | Lookup::Name(name)) = job;
    let link = sparkplane_history::live::job_link(door, &namespace, &name)
        .map_err(|error| Failure::invalid("bad-ui-link", error.flag(), error.to_string(), error.help()))?;
    printer.result(&serde_json::json!({ "link": link }), || format!("{link}\n"));
    if open {
        opener::open_browser(&link).map_err(|error| {
            let help = "set BROWSER to your browser's command, or open the link above yourself";
            Failure::unreachable("no-browser", "--open", format!("cannot start a browser: {error}"), help)
        })?;
    }
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
            let read = if follow { apps::LogRead::Follow } else { apps::LogRead::All };
            apps::logs(&client, &server, &namespace, pod, read, |line| printer.raw(&format!("{}\n", shown(line))))
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
                Failure::of(
                    e.category(),
                    Diagnostic::error("log-archive", "", e.to_string()).with_help(e.help()).into(),
                )
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
