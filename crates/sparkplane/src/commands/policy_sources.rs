//! The CLI's sources of policy inputs (`sparkplane_policy::inputs`,
//! ADR 0069): the catalog of `--platform-dir`, the Rego files of a
//! directory tree, the tenant (`--tenant`, or the one in `--tenants` whose
//! namespace is the job's), the approval records on disk and the month's
//! spend from `--history`'s event logs.
//!
//! Owns: the policy settings and their defaults (approvals in
//! `.sparkplane/approvals/` next to the job), reading those files and
//! their failures as exit codes. Must not: decide which inputs a check
//! needs or in which order, read an environment's `policy:` block, evaluate
//! policies (`sparkplane_policy` does) or price runs (the event-log
//! engine's cost ledger does).

use std::path::{Path, PathBuf};

use sparkplane_analysis::cost::{month_start_ms, tenant_budget};
use sparkplane_api::tenant::Tenant;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_documents::Diagnostics;
use sparkplane_eventlog::summarize_dir;
use sparkplane_policy::inputs::PolicySources;
use sparkplane_policy::rego::RegoFile;
use sparkplane_policy::{self as policy, Approval, BudgetReading};

use crate::exit::Failure;
use crate::printer::Printer;
use crate::workspace::{load_catalog, read_source};

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

/// The policy inputs on this machine, as `settings` name them.
pub struct Sources<'a> {
    /// What names them.
    pub settings: &'a PolicySettings,
    /// Where warnings go.
    pub printer: &'a Printer,
}

impl PolicySources for Sources<'_> {
    type Error = Failure;

    fn catalog(&mut self) -> Result<Catalog, Failure> {
        load_catalog(self.settings.platform_dir.as_deref())
    }

    fn rego_files(&mut self, dirs: &[PathBuf]) -> Result<Vec<RegoFile>, Failure> {
        read_rego_dirs(dirs)
    }

    fn tenant(&mut self, job: &ResolvedJob) -> Result<Option<Tenant>, Failure> {
        find_tenant(job, self.settings, self.printer)
    }

    fn has_history(&self) -> bool {
        self.settings.history.is_some()
    }

    fn budget(&mut self, tenant: &Tenant) -> Result<Option<BudgetReading>, Failure> {
        let Some(history) = &self.settings.history else { return Ok(None) };
        budget_reading(tenant, history, self.settings.price_sheet.as_deref(), self.printer)
    }

    /// `--approvals-dir`, else `.sparkplane/approvals/` next to the job file; none without either.
    fn approvals(&mut self) -> Result<Vec<Approval>, Failure> {
        let settings = self.settings;
        let dir = settings.approvals_dir.clone().or_else(|| settings.job_path.as_deref().map(default_approvals_dir));
        dir.map_or_else(|| Ok(Vec::new()), |dir| read_approvals(&dir))
    }
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

/// The tenant the job runs under: `--tenant`, or the one in `--tenants`
/// whose namespace is the job's; when the job names no namespace, the one
/// tenant of the job's team. A `--tenants` directory without the job's
/// tenant is an error (exit 2): its quota and budget would go unchecked.
pub fn find_tenant(job: &ResolvedJob, settings: &PolicySettings, printer: &Printer) -> Result<Option<Tenant>, Failure> {
    if let Some(path) = &settings.tenant {
        let loaded = super::tenant::read_tenant(path)?;
        printer.warnings(&loaded.warnings);
        return Ok(Some(loaded.tenant));
    }
    let Some(dir) = &settings.tenants_dir else { return Ok(None) };
    let tenants: Vec<Tenant> = super::tenant::read_dir(dir)?.into_iter().map(|(_, t)| t).collect();
    sparkplane_policy::tenant::tenant_for_job(job, tenants, dir).map(Some).map_err(|d| Failure::Invalid(d.into()))
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
    let sheet = crate::workspace::read_price_sheet(prices)?;
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
