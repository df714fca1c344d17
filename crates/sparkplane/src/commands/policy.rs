//! `sparkplane policy check`, and the policy gate `render`, `submit` and `run`
//! pass through before they act.
//!
//! Owns: turning the core's policy verdict into output (text, JSON, SARIF,
//! JUnit) and an exit code, and audit mode. Must not: evaluate policies
//! itself (that is `sparkplane_core::policy`), or size or render differently
//! from `render` (it uses the same sizing model and native renderer).

use sparkplane_core::policy::{self, PolicyContext, PolicySeverity, Violation};
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_core::{Diagnostic, Diagnostics};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// The report formats `policy check --format` accepts.
pub const FORMATS: &[&str] = &["text", "json", "sarif", "junit"];

/// The context used when no platform policy configuration is given: the
/// job's environment, a 24 h maximum, any registry, no naming prefix and no
/// approval gates.
pub fn default_context(job: &ResolvedJob) -> PolicyContext<'_> {
    PolicyContext { environment: job.environment.as_deref(), ..PolicyContext::default() }
}

/// A violation as a diagnostic (error for deny, warning for warn), with its span.
pub fn to_diagnostic(violation: &Violation) -> Diagnostic {
    let diagnostic = match violation.severity() {
        PolicySeverity::Deny => Diagnostic::error(violation.policy.id, violation.path.clone(), &violation.message),
        PolicySeverity::Warn => Diagnostic::warning(violation.policy.id, violation.path.clone(), &violation.message),
    };
    diagnostic.with_help(violation.policy.fix).with_span(violation.span.clone())
}

fn deny_diagnostics(violations: &[Violation]) -> Diagnostics {
    Diagnostics(violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).map(to_diagnostic).collect())
}

fn audit_note(denied: usize) -> String {
    format!("audit mode: {denied} deny violation{} not enforced", if denied == 1 { "" } else { "s" })
}

/// Runs `policy check`: resolves, sizes and renders the job (native target),
/// evaluates the built-in policies and prints them in `format`. Exit 1 when a
/// deny policy fails, unless `mode_audit`; warnings never fail.
pub fn check(settings: &JobSettings, format: &str, mode_audit: bool, printer: &Printer) -> CommandResult {
    if !FORMATS.contains(&format) {
        return Err(Failure::Invalid(
            Diagnostic::error("bad-flag", "", format!("`{format}` is not a policy report format"))
                .with_help(format!("use one of: {}", FORMATS.join(", ")))
                .into(),
        ));
    }
    let resolved = resolve_job(settings, ValidationTarget::Cluster)?;
    printer.warnings(&resolved.warnings);
    let sized = size_job(&resolved.job.spec);
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    let violations = policy::evaluate(&resolved, &objects, &default_context(&resolved));
    let report = match format {
        "json" => pretty(&policy::to_json(&violations)),
        "sarif" => pretty(&policy::to_sarif(&violations, &settings.path.display().to_string())),
        "junit" => policy::to_junit(&violations),
        _ => policy::to_text(&violations),
    };
    printer.raw(&report);
    let denied = deny_diagnostics(&violations);
    if denied.is_empty() {
        return Ok(());
    }
    if mode_audit {
        printer.status(&audit_note(denied.0.len()));
        return Ok(());
    }
    Err(Failure::Failed(denied))
}

fn pretty(value: &serde_json::Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default())
}

/// The gate before `render`, `submit` and `run` act: evaluates the built-in
/// policies with the default context, prints warnings (and, in audit mode,
/// the deny violations as warnings), and refuses (exit 1) when a deny policy
/// fails outside audit mode.
pub fn enforce(job: &ResolvedJob, objects: &[RenderedObject], printer: &Printer, audit: bool) -> Result<(), Failure> {
    let violations = policy::evaluate(job, objects, &default_context(job));
    let warnings =
        Diagnostics(violations.iter().filter(|v| v.severity() == PolicySeverity::Warn).map(to_diagnostic).collect());
    printer.warnings(&warnings);
    let denied = deny_diagnostics(&violations);
    if denied.is_empty() {
        return Ok(());
    }
    if audit {
        let as_warnings = Diagnostics(
            denied.0.into_iter().map(|d| Diagnostic { severity: sparkplane_core::Severity::Warning, ..d }).collect(),
        );
        let count = as_warnings.0.len();
        printer.warnings(&as_warnings);
        printer.status(&audit_note(count));
        return Ok(());
    }
    Err(Failure::Failed(denied))
}
