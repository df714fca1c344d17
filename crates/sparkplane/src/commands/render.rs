//! `sparkplane render`: a job as Kubernetes objects, as one sorted YAML stream or one file per object.

use std::path::Path;

use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_core::yaml::{to_yaml, to_yaml_stream};

use crate::cli::OutputFormat;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// Resolves, sizes and renders a job.
pub fn render_objects(
    settings: &JobSettings,
    target: Target,
) -> Result<(sparkplane_core::resolve::ResolvedJob, Vec<RenderedObject>), Failure> {
    let resolved = resolve_job(settings, ValidationTarget::Cluster)?;
    let objects = render_resolved(&resolved, target);
    Ok((resolved, objects))
}

/// Sizes and renders an already resolved job (e.g. `submit`'s, after its
/// namespace and attempt are settled).
pub fn render_resolved(resolved: &sparkplane_core::resolve::ResolvedJob, target: Target) -> Vec<RenderedObject> {
    let sized = size_job(&resolved.job.spec);
    render::render(&RenderInput { job: resolved, sized: &sized }, target)
}

/// Whether a manifest file holds an object sparkplane rendered for `job` in `namespace`.
fn rendered_for(path: &Path, job: &str, namespace: Option<&str>) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Ok(doc) = sparkplane_core::yaml::parse_single(&sparkplane_core::Source::new(path.display().to_string(), text))
    else {
        return false;
    };
    let value = doc.to_json();
    let labels = &value["metadata"]["labels"];
    labels["app.kubernetes.io/managed-by"] == "sparkplane"
        && labels["sparkplane.dev/job"] == job
        && value["metadata"]["namespace"].as_str() == namespace
}

/// Removes manifests this job rendered into `dir` earlier that the new render
/// no longer has (a changed spec renames per-run objects): a GitOps directory
/// must not keep applying a stale driver. Only files whose labels say
/// sparkplane rendered them for this job and namespace are touched.
fn prune_stale(dir: &Path, objects: &[RenderedObject], job: &str) -> Result<Vec<String>, Failure> {
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
        std::fs::remove_file(&path).map_err(|e| Failure::File {
            path: path.clone(),
            error: e.to_string(),
            help: "check that the directory can be written".into(),
        })?;
        removed.push(path.display().to_string());
    }
    Ok(removed)
}

/// Writes each object to `<dir>/<kind>-<name>.yaml`. Files are written to a
/// temporary name and renamed, so a failure leaves no half-written file.
pub fn write_files(dir: &Path, objects: &[RenderedObject]) -> Result<Vec<String>, Failure> {
    let io = |path: &Path, err: std::io::Error| Failure::File {
        path: path.to_owned(),
        error: err.to_string(),
        help: "check that the directory can be created and written".into(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = Vec::new();
    for object in objects {
        let path = dir.join(object.file_name());
        let tmp = dir.join(format!(".{}.tmp", object.file_name()));
        std::fs::write(&tmp, to_yaml(&object.body)).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Runs `render`: refused (exit 1) when the job breaks a deny policy, unless `audit`.
pub fn run(
    settings: &JobSettings,
    policy: &super::policy::PolicySettings,
    target: Target,
    out_dir: Option<&Path>,
    audit: bool,
    printer: &Printer,
) -> CommandResult {
    let (resolved, objects) = render_objects(settings, target)?;
    printer.warnings(&resolved.warnings);
    super::policy::enforce_with(&resolved, &objects, policy, printer, audit)?;
    let job = resolved.name().to_owned();
    match out_dir {
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

/// Prints objects as a Kubernetes `List` with `-o json`, else as a YAML stream.
pub fn print_objects(objects: &[RenderedObject], printer: &Printer) {
    match printer.format {
        OutputFormat::Json => {
            let items: Vec<&serde_json::Value> = objects.iter().map(|o| &o.body).collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            printer.raw(&format!("{}\n", serde_json::to_string_pretty(&list).unwrap_or_default()));
        }
        _ => printer.raw(&to_yaml_stream(objects.iter().map(|o| &o.body))),
    }
}
