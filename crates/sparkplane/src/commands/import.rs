//! `sparkplane import kubeflow`: a Kubeflow SparkApplication or
//! ScheduledSparkApplication becomes a SparkJob; every field that could not be
//! carried over is listed with the reason.

use std::path::Path;

use sparkplane_core::import_kubeflow::import_kubeflow;
use sparkplane_core::yaml::to_yaml;

use crate::exit::{CommandResult, Failure};
use crate::printer::OutputFormat;
use crate::printer::Printer;
use crate::workspace::read_yaml;

/// Runs `import kubeflow`.
pub fn kubeflow(file: &Path, out: Option<&Path>, printer: &Printer) -> CommandResult {
    let doc = read_yaml(file)?;
    let report = import_kubeflow(&doc)?;
    let yaml = to_yaml(&report.document);
    let not_carried: Vec<serde_json::Value> = report
        .not_carried
        .iter()
        .map(|n| serde_json::json!({"path": n.path, "reason": n.reason, "line": n.span.at.line, "column": n.span.at.column}))
        .collect();
    match out {
        Some(path) => {
            let tmp = path.with_extension("sparkplane-tmp");
            if let Err(err) = std::fs::write(&tmp, &yaml).and_then(|()| std::fs::rename(&tmp, path)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(Failure::File {
                    path: path.to_owned(),
                    error: err.to_string(),
                    help: "check the file can be written".into(),
                });
            }
            printer.status(&format!("wrote {} (from a {})", path.display(), report.source_kind));
        }
        None if printer.format == OutputFormat::Json => {
            let json =
                serde_json::json!({"sparkJob": report.document, "from": report.source_kind, "notCarried": not_carried});
            printer.raw(&format!("{}\n", serde_json::to_string_pretty(&json).unwrap_or_default()));
        }
        None => printer.raw(&yaml),
    }
    printer.warnings(&report.warnings());
    if !printer.quiet {
        printer.status(&format!(
            "{} field{} not carried over{}",
            report.not_carried.len(),
            if report.not_carried.len() == 1 { "" } else { "s" },
            if report.not_carried.is_empty() { "" } else { " (listed above)" }
        ));
    }
    Ok(())
}
