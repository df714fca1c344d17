//! `sparkplane import kubeflow`: the Kubeflow applications of a file or a
//! directory become SparkJobs; the ConfigMaps and ServiceAccounts beside them
//! are kept, every other document is listed with why it was left out (a
//! Secret by its key names only), and every field not carried over is listed
//! with the reason. The files are read here; what becomes of each document is
//! `sparkplane_kubeflow::import_kubeflow_files`.

use std::path::{Path, PathBuf};

use sparkplane_documents::Source;
use sparkplane_documents::yaml::to_yaml_stream;
use sparkplane_kubeflow::import_kubeflow_files;

use crate::exit::{CommandResult, Failure};
use crate::printer::OutputFormat;
use crate::printer::Printer;
use crate::workspace::read_source;

/// Runs `import kubeflow`.
pub fn kubeflow(input: &Path, out: Option<&Path>, printer: &Printer) -> CommandResult {
    let sources = read_inputs(input)?;
    let imported = import_kubeflow_files(&sources)?;
    let yaml = to_yaml_stream(imported.documents());
    match out {
        Some(path) => {
            crate::workspace::write_file(path, yaml.as_bytes(), "check the file can be written")?;
            printer.status(&format!("wrote {}", path.display()));
        }
        None if printer.format == OutputFormat::Json => {
            printer.raw(&format!("{}\n", serde_json::to_string_pretty(&imported.to_json()).unwrap_or_default()));
        }
        None => printer.raw(&yaml),
    }
    printer.warnings(&imported.warnings());
    if !printer.quiet {
        printer.status(&imported.summary());
    }
    Ok(())
}

/// The file, or every `.yaml`, `.yml` and `.json` file under the directory
/// (hidden entries skipped), in sorted path order.
fn read_inputs(input: &Path) -> Result<Vec<Source>, Failure> {
    if !input.is_dir() {
        return Ok(vec![read_source(input)?]);
    }
    let mut files = Vec::new();
    let mut dirs = vec![input.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|err| Failure::unreadable(&dir, &err))?;
        for entry in entries {
            let path = entry.map_err(|err| Failure::unreadable(&dir, &err))?.path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yaml" | "yml" | "json")) {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Failure::file(
            input,
            "the directory holds no .yaml, .yml or .json file",
            "name a file, or a directory holding the Kubeflow YAML files",
        ));
    }
    files.iter().map(|file: &PathBuf| read_source(file)).collect()
}
