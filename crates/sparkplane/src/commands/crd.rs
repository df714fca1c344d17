//! `sparkplane crd`: the SparkJob CustomResourceDefinition.

use sparkplane_documents::yaml::to_yaml;

use crate::exit::CommandResult;
use crate::printer::OutputFormat;
use crate::printer::Printer;

/// Runs `crd`.
pub fn run(printer: &Printer) -> CommandResult {
    let crd = serde_json::to_value(sparkplane_api::crd::crd()).unwrap_or_default();
    match printer.format {
        OutputFormat::Json => printer.raw(&format!("{}\n", serde_json::to_string_pretty(&crd).unwrap_or_default())),
        _ => printer.raw(&to_yaml(&crd)),
    }
    Ok(())
}
