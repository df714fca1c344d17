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
) -> Result<(Vec<RenderedObject>, sparkplane_core::Diagnostics), Failure> {
    let resolved = resolve_job(settings, ValidationTarget::Cluster)?;
    let sized = size_job(&resolved.job.spec);
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, target);
    Ok((objects, resolved.warnings))
}

/// Writes each object to `<dir>/<kind>-<name>.yaml`. Files are written to a
/// temporary name and renamed, so a failure leaves no half-written file.
fn write_files(dir: &Path, objects: &[RenderedObject]) -> Result<Vec<String>, Failure> {
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

/// Runs `render`.
pub fn run(settings: &JobSettings, target: Target, out_dir: Option<&Path>, printer: &Printer) -> CommandResult {
    let (objects, warnings) = render_objects(settings, target)?;
    printer.warnings(&warnings);
    match out_dir {
        Some(dir) => {
            let written = write_files(dir, &objects)?;
            printer.result(&written, || written.iter().map(|p| format!("wrote {p}\n")).collect());
        }
        None => match printer.format {
            OutputFormat::Json => {
                let items: Vec<&serde_json::Value> = objects.iter().map(|o| &o.body).collect();
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
                printer.raw(&format!("{}\n", serde_json::to_string_pretty(&list).unwrap_or_default()));
            }
            _ => printer.raw(&to_yaml_stream(objects.iter().map(|o| &o.body))),
        },
    }
    Ok(())
}
