//! `sparkplane resolve` and `sparkplane validate` (which also checks the
//! ConfigMaps and ServiceAccounts a job file holds beside its SparkJob).

use sparkplane_core::resolved::explain_table;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::yaml::to_yaml;

use crate::exit::CommandResult;
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job, resolve_job_file};

/// Runs `resolve`.
pub fn resolve(settings: &JobSettings, explain: bool, printer: &Printer) -> CommandResult {
    let resolved = resolve_job(settings, ValidationTarget::Any)?;
    printer.warnings(&resolved.warnings);
    if explain {
        let rows = resolved.explain();
        printer.result(&rows, || explain_table(&rows));
        return Ok(());
    }
    let mut value = serde_json::to_value(&resolved.job).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("status");
    }
    printer.result(&value, || to_yaml(&value));
    Ok(())
}

/// Runs `validate`: the SparkJob, and the ConfigMaps and ServiceAccounts
/// written beside it in its file (ADR 0081).
pub fn validate(settings: &JobSettings, cluster: bool, printer: &Printer) -> CommandResult {
    let target = if cluster { ValidationTarget::Cluster } else { ValidationTarget::Any };
    let (mut resolved, companions) = resolve_job_file(settings, target)?;
    sparkplane_core::render::queue_routes::add_notes(&mut resolved, None)?;
    printer.warnings(&resolved.warnings);
    let warnings: Vec<serde_json::Value> = resolved.warnings.0.iter().map(|d| d.to_json()).collect();
    let beside: Vec<serde_json::Value> =
        companions.iter().map(|c| serde_json::json!({"kind": c.kind, "name": c.name})).collect();
    let summary = serde_json::json!({
        "ok": true,
        "job": resolved.name(),
        "namespace": resolved.namespace(),
        "environment": resolved.environment,
        "preset": resolved.preset,
        "specHash": resolved.spec_hash(),
        "companions": beside,
        "warnings": warnings,
    });
    printer.result(&summary, || {
        let titles: Vec<String> = companions.iter().map(|c| c.title()).collect();
        format!(
            "{} is valid{} ({} warning{}){}\n",
            settings.path.display(),
            resolved.environment.as_deref().map(|e| format!(" for {e}")).unwrap_or_default(),
            warnings.len(),
            if warnings.len() == 1 { "" } else { "s" },
            if titles.is_empty() { String::new() } else { format!("; beside the job: {}", titles.join(", ")) }
        )
    });
    Ok(())
}
