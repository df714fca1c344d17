//! Rendered objects out: as one sorted YAML stream (a Kubernetes `List`
//! with `-o json`), or one file per object in a directory. Shared by
//! `render`, `submit --dry-run`, `tenant render` and `backup render`.
//!
//! Owns: the file names and the atomic write. Must not: render, check or
//! judge objects; it imports no other command.

use std::path::Path;

use sparkplane_core::render::RenderedObject;
use sparkplane_documents::yaml::{to_yaml, to_yaml_stream};

use crate::exit::Failure;
use crate::printer::OutputFormat;
use crate::printer::Printer;

/// Writes each object to `<dir>/<kind>-<name>.yaml`. Files are written to a
/// temporary name and renamed, so a failure leaves no half-written file.
pub fn write_files(dir: &Path, objects: &[RenderedObject]) -> Result<Vec<String>, Failure> {
    let io = |path: &Path, err: std::io::Error| {
        Failure::file(path, err, "check that the directory can be created and written")
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = Vec::new();
    for object in objects {
        let path = dir.join(object.file_name());
        sparkplane_storage::write_file_atomically(&path, to_yaml(&object.body).as_bytes()).map_err(|e| io(&path, e))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// The objects one file each under `out_dir` (the files written reported),
/// or printed when there is none: what `tenant render` and `backup render` do.
pub fn emit(objects: &[RenderedObject], out_dir: Option<&Path>, printer: &Printer) -> Result<(), Failure> {
    match out_dir {
        Some(dir) => {
            let written = write_files(dir, objects)?;
            let report = serde_json::json!({ "written": written });
            printer.result(&report, || written.iter().map(|p| format!("wrote {p}\n")).collect());
        }
        None => print_objects(objects, printer),
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
