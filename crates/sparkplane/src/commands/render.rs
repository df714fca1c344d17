//! `sparkplane render`: a job as Kubernetes objects, as one sorted YAML stream
//! or one file per object; the ConfigMaps and ServiceAccounts written beside
//! the SparkJob in its file come with them, in the job's namespace (ADR 0081).

use std::path::Path;

use sparkplane_core::job_file::with_companions;
use sparkplane_core::render::{RenderedObject, Target};

pub use super::manifests::{print_objects, write_files};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job_file, settle_namespace};
use sparkplane_core::validate::ValidationTarget;

/// Whether a manifest file holds an object sparkplane rendered for `job` in `namespace`.
fn rendered_for(path: &Path, job: &str, namespace: Option<&str>) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Ok(doc) =
        sparkplane_documents::yaml::parse_single(&sparkplane_documents::Source::new(path.display().to_string(), text))
    else {
        return false;
    };
    let value = doc.to_json();
    let labels = &value["metadata"]["labels"];
    labels[sparkplane_api::labels::MANAGED_BY] == sparkplane_api::labels::SPARKPLANE
        && labels[sparkplane_api::labels::JOB] == job
        && value["metadata"]["namespace"].as_str() == namespace
}

/// Removes manifests this job rendered into `dir` earlier that the new render
/// no longer has (a changed spec renames per-run objects): a GitOps directory
/// must not keep applying a stale driver. Only files whose labels say
/// sparkplane rendered them for this job and namespace are touched.
pub(crate) fn prune_stale(dir: &Path, objects: &[RenderedObject], job: &str) -> Result<Vec<String>, Failure> {
    let keep: std::collections::BTreeSet<String> = objects.iter().map(RenderedObject::file_name).collect();
    let namespace = objects.first().and_then(|o| o.namespace.as_deref());
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(removed) };
    let mut paths: Vec<std::path::PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.ends_with(".yaml") || keep.contains(&name) || !rendered_for(&path, job, namespace) {
            continue;
        }
        std::fs::remove_file(&path).map_err(|e| Failure::file(&path, e, "check that the directory can be written"))?;
        removed.push(path.display().to_string());
    }
    Ok(removed)
}

/// Where `render` puts the objects.
#[derive(Clone, Copy, Debug, Default)]
pub struct Out<'a> {
    /// `--out-dir`: one file per object; None: a YAML stream on stdout.
    pub dir: Option<&'a Path>,
    /// `-n`: the namespace the job goes to (default: its own), which also says its tenant (ADR 0079).
    pub namespace: Option<&'a str>,
}

/// Runs `render`: refused (exit 1) when the job breaks a deny policy, unless `audit`. The policies see
/// the companions too (applied with the job); what the route's schedulers will not enforce is warned (ADR 0099).
pub fn run(
    settings: &JobSettings,
    policy: &super::policy::PolicySettings,
    target: Target,
    out: Out<'_>,
    audit: bool,
    printer: &Printer,
) -> CommandResult {
    let (mut resolved, companions) = resolve_job_file(settings, ValidationTarget::Cluster)?;
    if let Some(namespace) = out.namespace {
        settle_namespace(&mut resolved, settings, Some(namespace), None)?;
    }
    sparkplane_core::render::queue_routes::add_notes(&mut resolved, Some(target))?;
    let rendered = sparkplane_core::render::size_and_render(&resolved, target);
    let objects = with_companions(rendered, &companions, resolved.namespace())?;
    printer.warnings(&resolved.warnings);
    super::policy::enforce_with(&resolved, &objects, policy, printer, audit)?;
    let job = resolved.name().to_owned();
    match out.dir {
        Some(dir) => {
            let written = write_files(dir, &objects)?;
            let removed = prune_stale(dir, &objects, &job)?;
            let report = serde_json::json!({"written": written, "removed": removed});
            printer.result(&report, || {
                let mut text: String = written.iter().map(|p| format!("wrote {p}\n")).collect();
                text.extend(removed.iter().map(|p| format!("removed {p} (no longer rendered)\n")));
                text
            });
        }
        None => print_objects(&objects, printer),
    }
    Ok(())
}
