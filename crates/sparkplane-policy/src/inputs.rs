//! Gathering what the policies are checked against, as one function every
//! caller shares (ADR 0069): the environment's `policy:` configuration from
//! the catalog, the Rego policies of its `regoDirs` and of the caller's own
//! directories, the tenant, the month's spend against its budget and the
//! approval records — then the one [`check`](crate::check).
//!
//! Owns: which of those are read and in which order; the one reading of an
//! environment's `policy:` block ([`environment_policy`]); where relative
//! `regoDirs` are found ([`rego_dirs`]); that a spend reading needs the job's
//! tenant. Must not: read files, event logs, the clock or a cluster — the
//! caller's [`PolicySources`] does (the CLI from disk; tests a fake).

use std::path::{Path, PathBuf};

use sparkplane_api::layer::EnvironmentPolicy;
use sparkplane_api::tenant::Tenant;

use crate::rego::{RegoFile, RegoPolicies};
use crate::{Approval, BudgetReading, PolicyContext, Verdict};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::yaml::FieldPath;

/// Where the policy inputs come from, behind one interface.
pub trait PolicySources {
    /// The caller's error; the gathering's own refusals convert into it.
    type Error: From<Diagnostics>;
    /// The catalog of environments (asked only when the job has an environment).
    fn catalog(&mut self) -> Result<Catalog, Self::Error>;
    /// Every `*.rego` file under `dirs`, sorted by path.
    fn rego_files(&mut self, dirs: &[PathBuf]) -> Result<Vec<RegoFile>, Self::Error>;
    /// The tenant `job` runs under, when one is named.
    fn tenant(&mut self, job: &ResolvedJob) -> Result<Option<Tenant>, Self::Error>;
    /// Whether a spend history was given (`--history`).
    fn has_history(&self) -> bool;
    /// The tenant's spend this month against its budget, from that history.
    fn budget(&mut self, tenant: &Tenant) -> Result<Option<BudgetReading>, Self::Error>;
    /// The approval records.
    fn approvals(&mut self) -> Result<Vec<Approval>, Self::Error>;
}

/// The Rego directories a caller adds, and where relative `regoDirs` are found.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegoDirs<'a> {
    /// The platform directory (relative `regoDirs` are under it, else under the current directory).
    pub base: Option<&'a Path>,
    /// The caller's own directories (`--policy-dir`), after the environment's.
    pub extra: &'a [PathBuf],
}

/// An environment's policy configuration and its Rego policies, checked together.
#[derive(Debug)]
pub struct Configured {
    /// The environment's `policy:` block (defaults when it has none).
    pub config: EnvironmentPolicy,
    /// The Rego directories read, in order.
    pub dirs: Vec<PathBuf>,
    /// The Rego policies; none when the directories hold only tests or nothing.
    pub rego: Option<RegoPolicies>,
}

/// An environment's `policy:` configuration in the catalog (defaults when the
/// environment is unknown or has none); a block that does not read is an
/// error at its span.
pub fn environment_policy(catalog: &Catalog, env: &str) -> Result<EnvironmentPolicy, Diagnostic> {
    let Some(node) = catalog.environment(env) else { return Ok(EnvironmentPolicy::default()) };
    let Some(config) = node.get(&FieldPath::parse("policy").unwrap_or_default()) else {
        return Ok(EnvironmentPolicy::default());
    };
    serde_json::from_value(config.to_json()).map_err(|e| {
        Diagnostic::error("bad-policy-config", "policy", format!("environment `{env}`: {e}"))
            .with_span(Some(config.span.clone()))
            .with_help("see the policy section of docs/guide.md for the fields `policy:` takes")
    })
}

/// The Rego directories to load: the environment's `regoDirs` (relative ones
/// under `dirs.base`, else the current directory), then the caller's.
pub fn rego_dirs(config: &EnvironmentPolicy, dirs: RegoDirs<'_>) -> Vec<PathBuf> {
    let base = dirs.base.map(Path::to_owned).unwrap_or_default();
    let mut out: Vec<PathBuf> = config
        .rego_dirs
        .iter()
        .map(|d| if Path::new(d).is_absolute() { PathBuf::from(d) } else { base.join(d) })
        .collect();
    out.extend(dirs.extra.iter().cloned());
    out
}

/// The Rego policies of `files`; none when they are only tests (or none at all).
pub fn load_rego(files: &[RegoFile]) -> Result<Option<RegoPolicies>, Diagnostics> {
    if files.iter().all(RegoFile::is_test) {
        return Ok(None);
    }
    RegoPolicies::load(files).map(Some)
}

/// The environment's configuration and Rego policies, checked against each
/// other (an unknown id in `disable`, a bad severity override) — what
/// `policy list` and the Gatekeeper export show, and what [`verdict`] checks with.
pub fn configured<S: PolicySources>(
    sources: &mut S,
    env: Option<&str>,
    dirs: RegoDirs<'_>,
) -> Result<Configured, S::Error> {
    let config = match env {
        Some(env) => environment_policy(&sources.catalog()?, env).map_err(Diagnostics::from)?,
        None => EnvironmentPolicy::default(),
    };
    let dirs = rego_dirs(&config, dirs);
    let rego = load_rego(&sources.rego_files(&dirs)?)?;
    let problems = crate::check_config(&config, rego.as_ref(), &format!("environment `{}`", env.unwrap_or("(none)")));
    if problems.has_errors() {
        return Err(problems.into());
    }
    Ok(Configured { config, dirs, rego })
}

/// Everything the policies see for `job`, gathered through `sources`, and the verdict.
pub fn verdict<S: PolicySources>(
    job: &ResolvedJob,
    objects: &[RenderedObject],
    sources: &mut S,
    dirs: RegoDirs<'_>,
) -> Result<Verdict, S::Error> {
    let env = job.environment.as_deref();
    let Configured { config, rego, .. } = configured(sources, env, dirs)?;
    let tenant = sources.tenant(job)?;
    let budget = match (sources.has_history(), &tenant) {
        (true, Some(tenant)) => sources.budget(tenant)?,
        (true, None) => {
            return Err(Diagnostics::from(
                Diagnostic::error("bad-flag", "--history", "--history needs the job's tenant to know its budget")
                    .with_help("add --tenant FILE, or --tenants DIR holding a tenant for the job's namespace"),
            )
            .into());
        }
        (false, _) => None,
    };
    let approvals = sources.approvals()?;
    let mut ctx =
        PolicyContext { environment: env, approvals, tenant: tenant.as_ref(), budget, ..PolicyContext::default() };
    ctx.configure(&config);
    Ok(crate::check(job, objects, &ctx, rego.as_ref(), &config)?)
}

#[cfg(test)]
#[path = "inputs_tests.rs"]
mod tests;
