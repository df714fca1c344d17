//! `sparkplane tenant render|list|show`: a team's onboarding objects from
//! its tenant file (with the platform's Kueue objects from a Queues file),
//! and a directory of tenant files as a table.
//!
//! Owns reading and writing files and printing. Must not check, list or
//! render tenants itself: that is `sparkplane_policy::tenant`.

use std::path::{Path, PathBuf};

use sparkplane_api::tenant::Tenant;
use sparkplane_documents::Diagnostics;
use sparkplane_documents::yaml::to_yaml;
use sparkplane_policy::tenant::{ListRow, LoadedTenant, load_tenant, render_tenant_with_queues};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::read_source;

/// Reads and checks one tenant file.
pub(crate) fn read_tenant(path: &Path) -> Result<LoadedTenant, Failure> {
    let source = read_source(path)?;
    Ok(load_tenant(&source)?)
}

/// Runs `tenant render FILE [--queues QUEUES]`: the objects (with `queues`, the platform's Kueue objects
/// first) as one YAML stream (a List with `-o json`), or one file per object under `out_dir`; on stderr,
/// a `note:` line for each scheduler setting they need (`queues::configuration_needed`, ADR 0099).
pub fn render(file: &Path, queues: Option<&Path>, out_dir: Option<&Path>, printer: &Printer) -> CommandResult {
    let rendered = render_tenant_with_queues(&read_source(file)?, queues.map(read_source).transpose()?.as_ref())?;
    printer.warnings(&rendered.warnings);
    sparkplane_core::queues::configuration_needed(&rendered.objects).iter().for_each(|n| printer.status(n));
    super::manifests::emit(&rendered.objects, out_dir, printer)
}

/// Every tenant file (`*.yaml`, `*.yml`) in `dir`, sorted by path; all
/// problems of all files are reported together.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, Tenant)>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::unreadable(dir, &e))?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    let mut tenants = Vec::new();
    let mut problems = Diagnostics::new();
    for path in paths {
        match read_tenant(&path) {
            Ok(loaded) => tenants.push((path, loaded.tenant)),
            Err(Failure::Invalid(d)) => problems.extend(d),
            Err(other) => return Err(other),
        }
    }
    if problems.has_errors() {
        return Err(Failure::Invalid(problems));
    }
    problems.extend(sparkplane_policy::tenant::check_unique(&tenants));
    problems.into_result(tenants).map_err(Failure::Invalid)
}

/// Runs `tenant list DIR`: one row per tenant file.
pub fn list(dir: &Path, printer: &Printer) -> CommandResult {
    let rows: Vec<ListRow> = read_dir(dir)?.into_iter().map(|(path, t)| ListRow::of(&path, t)).collect();
    printer.result(&rows, || ListRow::table(&rows));
    Ok(())
}

/// Runs `tenant show DIR NAME`: the tenant as written (its file, with
/// comments), or as JSON/YAML of the typed tenant.
pub fn show(dir: &Path, name: &str, printer: &Printer) -> CommandResult {
    let tenants = read_dir(dir)?;
    let Some((path, tenant)) = tenants.iter().find(|(_, t)| t.metadata.name == name) else {
        return Err(Failure::Invalid(sparkplane_policy::tenant::unknown_tenant(name, dir, &tenants).into()));
    };
    printer.result(tenant, || {
        std::fs::read_to_string(path).unwrap_or_else(|_| to_yaml(&serde_json::to_value(tenant).unwrap_or_default()))
    });
    Ok(())
}
