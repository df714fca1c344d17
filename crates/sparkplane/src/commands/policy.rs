//! `sparkplane policy check|list`, and the policy gate `render`, `submit`,
//! `run`, `release` and `promote` pass through before they act.
//!
//! Owns: printing a [`Verdict`] (text, JSON, SARIF, JUnit) and the gate's
//! answer (`Verdict::gate`: warnings, refusal, audit mode) with an exit code.
//! Must not: gather what the policies are checked against
//! (`sparkplane_policy::inputs` does, over `policy_sources`), evaluate
//! policies (`sparkplane_policy`), or size or render differently from
//! `render`.

use std::path::Path;

use sparkplane_api::layer::EnvironmentPolicy;
use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_policy::inputs::{self, RegoDirs};
use sparkplane_policy::{self as policy, Verdict};

use super::policy_sources::Sources;
pub use super::policy_sources::{PolicySettings, default_approvals_dir, find_tenant};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, load_catalog};

/// The report formats `policy check --format` accepts.
pub const FORMATS: &[&str] = &["text", "json", "sarif", "junit"];

/// An environment's `policy:` configuration from the catalog (built-in or
/// the platform directory's); empty when it has none.
pub fn environment_policy(platform_dir: Option<&Path>, env: Option<&str>) -> Result<EnvironmentPolicy, Failure> {
    let Some(env) = env else { return Ok(EnvironmentPolicy::default()) };
    Ok(inputs::environment_policy(&load_catalog(platform_dir)?, env)?)
}

/// Where relative `regoDirs` are found and the `--policy-dir`s added.
pub(crate) fn rego_dirs(settings: &PolicySettings) -> RegoDirs<'_> {
    RegoDirs { base: settings.platform_dir.as_deref(), extra: &settings.policy_dirs }
}

/// The environment's configuration and Rego policies, checked together.
pub(crate) fn configured(
    env: Option<&str>,
    settings: &PolicySettings,
    printer: &Printer,
) -> Result<inputs::Configured, Failure> {
    inputs::configured(&mut Sources { settings, printer }, env, rego_dirs(settings))
}

/// Everything the policies see, gathered from disk (`policy::inputs` over
/// `policy_sources`), and the verdict.
pub fn verdict(
    job: &ResolvedJob,
    objects: &[RenderedObject],
    settings: &PolicySettings,
    printer: &Printer,
) -> Result<Verdict, Failure> {
    inputs::verdict(job, objects, &mut Sources { settings, printer }, rego_dirs(settings))
}

/// Runs `policy check`: resolves, sizes and renders the job (native target),
/// evaluates the built-in and Rego policies and prints them in `format`.
/// Exit 1 when a deny policy fails, unless `mode_audit`; warnings never fail.
pub fn check(
    settings: &JobSettings,
    policy_settings: &PolicySettings,
    format: &str,
    mode_audit: bool,
    printer: &Printer,
) -> CommandResult {
    if !FORMATS.contains(&format) {
        return Err(Failure::invalid(
            "bad-flag",
            "",
            format!("`{format}` is not a policy report format"),
            format!("use one of: {}", FORMATS.join(", ")),
        ));
    }
    let (resolved, objects) = crate::workspace::render_objects(settings, sparkplane_core::render::Target::Native)?;
    printer.warnings(&resolved.warnings);
    let verdict = verdict(&resolved, &objects, policy_settings, printer)?;
    let report = match format {
        "json" => pretty(&policy::to_json(&verdict)),
        "sarif" => pretty(&policy::to_sarif(&verdict, &settings.path.display().to_string())),
        "junit" => policy::to_junit(&verdict),
        _ => policy::to_text(&verdict),
    };
    printer.raw(&report);
    let denied = verdict.denials();
    if denied.is_empty() {
        return Ok(());
    }
    if mode_audit {
        printer.status(&policy::report::audit_note(denied.0.len()));
        return Ok(());
    }
    Err(Failure::Failed(denied))
}

fn pretty(value: &serde_json::Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default())
}

/// The gate before `render`, `submit` and `run` act, with the job's
/// environment's configuration and nothing else from disk (no Rego
/// directories beyond the environment's, no tenant, no approvals): see
/// [`enforce_with`].
#[allow(dead_code, reason = "the gate's stable entry point for `submit`; render and run pass settings")]
pub fn enforce(job: &ResolvedJob, objects: &[RenderedObject], printer: &Printer, audit: bool) -> Result<(), Failure> {
    enforce_with(job, objects, &PolicySettings::default(), printer, audit)
}

/// The gate before `render`, `submit` and `run` act: evaluates the built-in
/// and Rego policies, prints warnings (and, in audit mode, the deny
/// violations as warnings), and refuses (exit 1) when a deny policy fails
/// outside audit mode. Bad policy, tenant or approval files are exit 2.
pub fn enforce_with(
    job: &ResolvedJob,
    objects: &[RenderedObject],
    settings: &PolicySettings,
    printer: &Printer,
    audit: bool,
) -> Result<(), Failure> {
    let gate = verdict(job, objects, settings, printer)?.gate(audit);
    printer.warnings(&gate.warnings);
    if let Some(note) = &gate.note {
        printer.status(note);
    }
    if gate.refused.is_empty() { Ok(()) } else { Err(Failure::Failed(gate.refused)) }
}

/// Runs `policy list`: every policy an environment evaluates, with its severity and source.
pub fn list(env: Option<&str>, settings: &PolicySettings, printer: &Printer) -> CommandResult {
    let inputs::Configured { config, rego, .. } = configured(env, settings, printer)?;
    let rows = policy::report::catalogue_rows(&policy::catalogue(&config, rego.as_ref()));
    printer.result(&rows, || policy::report::catalogue_table(&rows));
    Ok(())
}

/// The job's resolution for `approve`, shared with `check` (the same resolve the gate sees).
pub fn resolve_for_approval(settings: &JobSettings) -> Result<ResolvedJob, Failure> {
    crate::workspace::resolve_job(settings, ValidationTarget::Cluster)
}
