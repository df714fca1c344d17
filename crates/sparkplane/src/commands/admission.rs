//! `sparkplane policy export admission`: the built-in policies the API
//! server can check by itself, as ValidatingAdmissionPolicies (the chart
//! ships this output and binds it).
//!
//! Owns: flags to settings and the output. The rules, their CEL and the
//! objects are `sparkplane_policy::admission`'s.

use std::path::Path;

use sparkplane_documents::yaml::to_yaml_stream;
use sparkplane_policy::admission;

use super::policy::environment_policy;
use crate::exit::CommandResult;
use crate::printer::OutputFormat;
use crate::printer::Printer;

/// Prints the policies for `env`'s configuration (its disabled ids and severity overrides).
pub fn export(platform_dir: Option<&Path>, env: Option<&str>, printer: &Printer) -> CommandResult {
    let config = environment_policy(platform_dir, env)?;
    let objects = admission::export(&config);
    match printer.format {
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            printer.raw(&format!("{}\n", serde_json::to_string_pretty(&list).unwrap_or_default()));
        }
        _ => printer.raw(&to_yaml_stream(objects.iter())),
    }
    Ok(())
}
