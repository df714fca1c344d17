//! `sparkplane policy check|list|test|export`, and the policy gate `render`,
//! `submit` and `run` pass through before they act.
//!
//! Owns: gathering what the policies are checked against from disk — the
//! environment's policy configuration (from the catalog), Rego files, the
//! tenant, approval records, the month's spend from event logs — and turning
//! the core's [`Verdict`] into output (text, JSON, SARIF, JUnit) and an exit
//! code, and audit mode. Must not evaluate policies itself (that is
//! `sparkplane_core::policy`), price runs (that is the event-log engine's
//! cost ledger), or size or render differently from `render`.

use std::path::{Path, PathBuf};

use sparkplane_api::layer::EnvironmentPolicy;
use sparkplane_api::tenant::Tenant;
use sparkplane_core::policy::rego::{RegoFile, RegoPolicies, TestOutcome};
use sparkplane_core::policy::{
    self, Approval, BudgetReading, PolicyContext, PolicySeverity, Verdict, Violation, gatekeeper,
};
use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_core::yaml::to_yaml_stream;
use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_eventlog::cost::{PriceSheet, month_start_ms, summarize_dir, tenant_budget};

use crate::exit::{CommandResult, Failure};
use crate::printer::OutputFormat;
use crate::printer::Printer;
use crate::workspace::{JobSettings, load_catalog, read_source};

/// The report formats `policy check --format` accepts.
pub const FORMATS: &[&str] = &["text", "json", "sarif", "junit"];

/// Where the facts policies are checked against come from (plain settings;
/// every field is optional and the default checks built-ins only, with the
/// job's environment's configuration).
#[derive(Clone, Debug, Default)]
pub struct PolicySettings {
    /// `--policy-dir`: directories of Rego policies, added to the environment's `regoDirs`.
    pub policy_dirs: Vec<PathBuf>,
    /// `--tenant`: the tenant file the job runs under.
    pub tenant: Option<PathBuf>,
    /// `--tenants`: a directory of tenant files; the tenant is the one whose namespace is the job's.
    pub tenants_dir: Option<PathBuf>,
    /// `--history`: event logs whose cost this month is checked against the tenant's budget.
    pub history: Option<PathBuf>,
    /// `--price-sheet`: prices for the history's spend; default OpenCost's.
    pub price_sheet: Option<PathBuf>,
    /// `--approvals-dir`; default `.sparkplane/approvals/` next to the job file.
    pub approvals_dir: Option<PathBuf>,
    /// The job file (for the default approvals directory).
    pub job_path: Option<PathBuf>,
    /// `--platform-dir`, for the environment's configuration and relative `regoDirs`.
    pub platform_dir: Option<PathBuf>,
}

/// The default approvals directory: `.sparkplane/approvals/` next to the job file.
pub fn default_approvals_dir(job: &Path) -> PathBuf {
    job.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join(".sparkplane").join("approvals")
}

/// An environment's `policy:` configuration from the catalog (built-in or
/// the platform directory's); empty when it has none.
pub fn environment_policy(platform_dir: Option<&Path>, env: Option<&str>) -> Result<EnvironmentPolicy, Failure> {
    let Some(env) = env else { return Ok(EnvironmentPolicy::default()) };
    let catalog = load_catalog(platform_dir)?;
    let Some(node) = catalog.environment(env) else { return Ok(EnvironmentPolicy::default()) };
    let Some(config) = node.get(&sparkplane_core::yaml::FieldPath::parse("policy").unwrap_or_default()) else {
        return Ok(EnvironmentPolicy::default());
    };
    serde_json::from_value(config.to_json()).map_err(|e| {
        Failure::Invalid(
            Diagnostic::error("bad-policy-config", "policy", format!("environment `{env}`: {e}"))
                .with_span(Some(config.span.clone()))
                .with_help("see the policy section of docs/guide.md for the fields `policy:` takes")
                .into(),
        )
    })
}

fn rego_paths(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::unreadable(dir, &e))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rego_paths(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rego") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every `*.rego` file under `dirs` (recursively, sorted by path).
pub fn read_rego_dirs(dirs: &[PathBuf]) -> Result<Vec<RegoFile>, Failure> {
    let mut files = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(Failure::File {
                path: dir.clone(),
                error: "not a directory".into(),
                help: "a policy directory holds *.rego files (and *_test.rego tests)".into(),
            });
        }
        let mut paths = Vec::new();
        rego_paths(dir, &mut paths)?;
        for path in paths {
            let source = read_source(&path)?;
            files.push(RegoFile::new(source.name.to_string(), source.text.to_string()));
        }
    }
    Ok(files)
}

/// The Rego directories to load: the environment's `regoDirs` (relative to
/// the platform directory, else the current directory), then `--policy-dir`s.
fn rego_dirs(config: &EnvironmentPolicy, settings: &PolicySettings) -> Vec<PathBuf> {
    let base = settings.platform_dir.clone().unwrap_or_default();
    let mut dirs: Vec<PathBuf> = config
        .rego_dirs
        .iter()
        .map(|d| if Path::new(d).is_absolute() { PathBuf::from(d) } else { base.join(d) })
        .collect();
    dirs.extend(settings.policy_dirs.iter().cloned());
    dirs
}

fn load_rego(files: &[RegoFile]) -> Result<Option<RegoPolicies>, Failure> {
    if files.iter().all(RegoFile::is_test) {
        return Ok(None);
    }
    RegoPolicies::load(files).map(Some).map_err(Failure::Invalid)
}

/// The tenant the job runs under: `--tenant`, or the one in `--tenants`
/// whose namespace is the job's; when the job names no namespace, the one
/// tenant of the job's team. A `--tenants` directory without the job's
/// tenant is an error (exit 2): its quota and budget would go unchecked.
pub(crate) fn find_tenant(
    job: &ResolvedJob,
    settings: &PolicySettings,
    printer: &Printer,
) -> Result<Option<Tenant>, Failure> {
    if let Some(path) = &settings.tenant {
        let loaded = super::tenant::read_tenant(path)?;
        printer.warnings(&loaded.warnings);
        return Ok(Some(loaded.tenant));
    }
    let Some(dir) = &settings.tenants_dir else { return Ok(None) };
    let tenants: Vec<Tenant> = super::tenant::read_dir(dir)?.into_iter().map(|(_, t)| t).collect();
    sparkplane_core::tenant::tenant_for_job(job, tenants, dir).map(Some).map_err(|d| Failure::Invalid(d.into()))
}

/// The approval records in `dir` (`*.json`); none when it does not exist.
pub fn read_approvals(dir: &Path) -> Result<Vec<Approval>, Failure> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut paths: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    paths.sort();
    let mut approvals = Vec::new();
    let mut problems = Diagnostics::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| Failure::unreadable(&path, &e))?;
        match policy::approval::parse(&text, &path.display().to_string()) {
            Ok(a) => approvals.push(a),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.has_errors() {
        return Err(Failure::Invalid(problems));
    }
    Ok(approvals)
}

/// The tenant's spend this month against its budget, from the cost ledger;
/// logs the ledger skips are shown as warnings (the spend may be low).
fn budget_reading(
    tenant: &Tenant,
    history: &Path,
    prices: Option<&Path>,
    printer: &Printer,
) -> Result<Option<BudgetReading>, Failure> {
    let sheet = match prices {
        Some(path) => {
            let sheet = super::cost::read_document::<PriceSheet>(path, "PriceSheet")?;
            let problems: Vec<Diagnostic> = sheet
                .problems()
                .into_iter()
                .map(|p| {
                    Diagnostic::error("bad-value", "--price-sheet", format!("{}: {p}", path.display()))
                        .with_help("prices are US dollars per hour (and a spot multiplier), each zero or more")
                })
                .collect();
            if !problems.is_empty() {
                return Err(Failure::Invalid(Diagnostics(problems)));
            }
            sheet
        }
        None => PriceSheet::opencost_defaults(),
    };
    if tenant.spec.budget.is_none() {
        return Ok(None);
    }
    if !history.is_dir() {
        return Err(Failure::File {
            path: history.to_owned(),
            error: "not a directory".into(),
            help: "--history names a directory of Spark event logs (spark.eventLog.dir)".into(),
        });
    }
    let (since, window) = month_start_ms(sparkplane_local::history::now_ms());
    let (summaries, warnings) = summarize_dir(history, Some(since));
    for warning in &warnings {
        let file = warning.file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
        printer.status(&format!("warning: budget spend: {file}{}", warning.message));
    }
    Ok(tenant_budget(tenant, &summaries, &sheet, window))
}

/// Everything the policies see, read from disk, and the verdict.
pub fn verdict(
    job: &ResolvedJob,
    objects: &[RenderedObject],
    settings: &PolicySettings,
    printer: &Printer,
) -> Result<Verdict, Failure> {
    let env = job.environment.as_deref();
    let config = environment_policy(settings.platform_dir.as_deref(), env)?;
    let rego = load_rego(&read_rego_dirs(&rego_dirs(&config, settings))?)?;
    let origin = format!("environment `{}`", env.unwrap_or("(none)"));
    let problems = policy::check_config(&config, rego.as_ref(), &origin);
    if problems.has_errors() {
        return Err(Failure::Invalid(problems));
    }
    let tenant = find_tenant(job, settings, printer)?;
    let budget = match (&settings.history, &tenant) {
        (Some(history), Some(tenant)) => budget_reading(tenant, history, settings.price_sheet.as_deref(), printer)?,
        (Some(_), None) => {
            return Err(Failure::Invalid(
                Diagnostic::error("bad-flag", "--history", "--history needs the job's tenant to know its budget")
                    .with_help("add --tenant FILE, or --tenants DIR holding a tenant for the job's namespace")
                    .into(),
            ));
        }
        _ => None,
    };
    let approvals_dir =
        settings.approvals_dir.clone().or_else(|| settings.job_path.as_deref().map(default_approvals_dir));
    let approvals = match &approvals_dir {
        Some(dir) => read_approvals(dir)?,
        None => Vec::new(),
    };
    let mut ctx =
        PolicyContext { environment: env, approvals, tenant: tenant.as_ref(), budget, ..PolicyContext::default() };
    ctx.configure(&config);
    policy::check(job, objects, &ctx, rego.as_ref(), &config).map_err(Failure::Invalid)
}

/// A violation as a diagnostic (error for deny, warning for warn), with its span.
pub fn to_diagnostic(violation: &Violation) -> Diagnostic {
    let (code, message) = match violation.policy.static_id() {
        Some(id) => (id, violation.message.clone()),
        None => ("rego-policy", format!("[{}] {}", violation.policy.id, violation.message)),
    };
    let diagnostic = match violation.severity() {
        PolicySeverity::Deny => Diagnostic::error(code, violation.path.clone(), message),
        PolicySeverity::Warn => Diagnostic::warning(code, violation.path.clone(), message),
    };
    diagnostic.with_help(violation.fix()).with_span(violation.span.clone())
}

fn deny_diagnostics(violations: &[Violation]) -> Diagnostics {
    Diagnostics(violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).map(to_diagnostic).collect())
}

fn audit_note(denied: usize) -> String {
    format!("audit mode: {denied} deny violation{} not enforced", if denied == 1 { "" } else { "s" })
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
        return Err(Failure::Invalid(
            Diagnostic::error("bad-flag", "", format!("`{format}` is not a policy report format"))
                .with_help(format!("use one of: {}", FORMATS.join(", ")))
                .into(),
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
    let denied = deny_diagnostics(&verdict.violations);
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
    let verdict = verdict(job, objects, settings, printer)?;
    let warnings = Diagnostics(
        verdict.violations.iter().filter(|v| v.severity() == PolicySeverity::Warn).map(to_diagnostic).collect(),
    );
    printer.warnings(&warnings);
    let denied = deny_diagnostics(&verdict.violations);
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

/// Runs `policy list`: every policy an environment evaluates, with its severity and source.
pub fn list(env: Option<&str>, settings: &PolicySettings, printer: &Printer) -> CommandResult {
    let config = environment_policy(settings.platform_dir.as_deref(), env)?;
    let rego = load_rego(&read_rego_dirs(&rego_dirs(&config, settings))?)?;
    let problems = policy::check_config(&config, rego.as_ref(), &format!("environment `{}`", env.unwrap_or("(none)")));
    if problems.has_errors() {
        return Err(Failure::Invalid(problems));
    }
    let rows: Vec<serde_json::Value> = policy::catalogue(&config, rego.as_ref())
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id, "severity": p.severity.as_str(), "title": p.title,
                "source": p.origin.as_deref().unwrap_or("builtin"),
            })
        })
        .collect();
    printer.result(&rows, || {
        let mut table = super::Table::new(&["ID", "SEVERITY", "SOURCE", "TITLE"]);
        for row in &rows {
            let cell = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
            table.row(vec![cell("id"), cell("severity"), cell("source"), cell("title")]);
        }
        table.render()
    });
    Ok(())
}

/// Runs `policy test DIR…`: every `test_*` rule in the directories' Rego
/// files, as `opa test` runs them. Exit 1 when a test fails, 2 when a file
/// does not parse or compile or there are no tests.
pub fn test(dirs: &[PathBuf], printer: &Printer) -> CommandResult {
    let files = read_rego_dirs(dirs)?;
    let results = policy::rego::run_tests(&files).map_err(Failure::Invalid)?;
    if results.is_empty() {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Failure::Invalid(
            Diagnostic::error("no-tests", "", format!("no `test_*` rules in {}", shown.join(", ")))
                .with_help("tests are rules named test_… (usually in *_test.rego files), e.g. `test_denies_latest if { count(deny) == 1 with input as {…} }`")
                .into(),
        ));
    }
    let failed: Vec<_> = results.iter().filter(|r| r.outcome != TestOutcome::Pass).collect();
    let rows: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let (outcome, error) = match &r.outcome {
                TestOutcome::Pass => ("pass", None),
                TestOutcome::Fail => ("fail", None),
                TestOutcome::Error(e) => ("error", Some(e.clone())),
            };
            serde_json::json!({"file": r.file, "test": format!("data.{}.{}", r.package, r.name), "outcome": outcome, "error": error})
        })
        .collect();
    printer.result(&rows, || {
        let mut out = String::new();
        for r in &results {
            let label = match &r.outcome {
                TestOutcome::Pass => "PASS".to_owned(),
                TestOutcome::Fail => "FAIL".to_owned(),
                TestOutcome::Error(e) => format!("ERROR ({e})"),
            };
            out.push_str(&format!("{}: data.{}.{}: {label}\n", r.file, r.package, r.name));
        }
        out.push_str(&format!(
            "{} passed, {} failed ({} tests)\n",
            results.len() - failed.len(),
            failed.len(),
            results.len()
        ));
        out
    });
    if failed.is_empty() {
        return Ok(());
    }
    let diagnostics = failed
        .iter()
        .map(|r| {
            Diagnostic::error("rego-test", "", format!("{}: data.{}.{} failed", r.file, r.package, r.name))
                .with_help("the rule was false or undefined; see the test's inputs")
        })
        .collect();
    Err(Failure::Failed(Diagnostics(diagnostics)))
}

/// Runs `policy export gatekeeper`: the Rego policies (the environment's and
/// `--policy-dir`'s) as ConstraintTemplates and Constraints, validated and
/// compiled before they are printed.
pub fn export_gatekeeper(env: Option<&str>, settings: &PolicySettings, printer: &Printer) -> CommandResult {
    let config = environment_policy(settings.platform_dir.as_deref(), env)?;
    let dirs = rego_dirs(&config, settings);
    let Some(rego) = load_rego(&read_rego_dirs(&dirs)?)? else {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Failure::Invalid(
            Diagnostic::error(
                "no-policies",
                "",
                format!(
                    "no Rego policies to export{}",
                    if shown.is_empty() { String::new() } else { format!(" in {}", shown.join(", ")) }
                ),
            )
            .with_help("pass --policy-dir DIR (e.g. policies/), or --env ENV whose environment lists regoDirs")
            .into(),
        ));
    };
    let problems = policy::check_config(&config, Some(&rego), &format!("environment `{}`", env.unwrap_or("(none)")));
    if problems.has_errors() {
        return Err(Failure::Invalid(problems));
    }
    let objects = gatekeeper::export(&rego, &config, env).map_err(Failure::Invalid)?;
    match printer.format {
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            printer.raw(&pretty(&list));
        }
        _ => printer.raw(&to_yaml_stream(objects.iter())),
    }
    Ok(())
}

/// The job's resolution for `approve`, shared with `check` (the same resolve the gate sees).
pub fn resolve_for_approval(settings: &JobSettings) -> Result<ResolvedJob, Failure> {
    crate::workspace::resolve_job(settings, ValidationTarget::Cluster)
}
