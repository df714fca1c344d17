//! Reading what commands need from disk: job files, their environment
//! overlays, the platform directory, and one-document YAML files read into a
//! typed value (price sheets, budgets); and writing a file whole or not at all,
//! a job file patched in place among them. All parsing and checking is the core's.

use std::path::{Path, PathBuf};

use sparkplane_core::catalog::Catalog;
use sparkplane_core::job_file::{Companion, read_job_file};
use sparkplane_core::load::load;
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob, SetFlag};
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::yaml::{Node, parse_single};
use sparkplane_documents::{Diagnostics, Source};

use crate::exit::Failure;

/// Reads a file as a named source.
/// The price sheet at `path` (`--price-sheet`), else OpenCost's default prices; a sheet
/// with a negative price is refused (exit 2), each problem named with the file.
pub fn read_price_sheet(path: Option<&Path>) -> Result<sparkplane_analysis::cost::PriceSheet, Failure> {
    let Some(path) = path else {
        return Ok(sparkplane_analysis::cost::PriceSheet::opencost_defaults());
    };
    let sheet = read_document::<sparkplane_analysis::cost::PriceSheet>(path, "PriceSheet")?;
    let mut problems = Diagnostics::new();
    for problem in sheet.problems() {
        problems.push(
            sparkplane_documents::Diagnostic::error(
                "bad-value",
                "--price-sheet",
                format!("{}: {problem}", path.display()),
            )
            .with_help("prices are US dollars per hour (and a spot multiplier), each zero or more"),
        );
    }
    if problems.has_errors() { Err(problems.into()) } else { Ok(sheet) }
}

/// Writes `bytes` to `path` whole or not at all (`sparkplane_storage::write_file_atomically`);
/// a failure names the file and says `help` (exit 2).
pub fn write_file(path: &Path, bytes: &[u8], help: &str) -> Result<(), Failure> {
    sparkplane_storage::write_file_atomically(path, bytes).map_err(|error| Failure::file(path, error, help))
}

/// Applies `patch` to the YAML file at `path`, comments and layout kept, and writes it back whole.
pub fn patch_file(path: &Path, patch: &serde_json::Value) -> Result<(), Failure> {
    let patched = sparkplane_documents::yaml::patch_yaml(&read_source(path)?, patch)?;
    write_file(path, patched.as_bytes(), "check the file can be written")
}

pub fn read_source(path: &Path) -> Result<Source, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Source::new(path.display().to_string(), text)),
        Err(err) => Err(Failure::unreadable(path, &err)),
    }
}

/// Reads and parses a one-document YAML file.
pub fn read_yaml(path: &Path) -> Result<Node, Failure> {
    let source = read_source(path)?;
    Ok(parse_single(&source)?)
}

/// Reads a one-document YAML file into `T`, every structural mistake at once with its
/// line and column; `apiVersion` and `kind`, when present, are allowed and dropped.
pub fn read_document<T: serde::de::DeserializeOwned + schemars::JsonSchema>(
    path: &Path,
    what: &str,
) -> Result<T, Failure> {
    let doc = read_yaml(path)?;
    sparkplane_documents::schema::load_typed::<T>(&doc, what).map_err(Failure::Invalid)
}

/// The built-in catalog plus a platform directory's `presets/*.yaml` and
/// `environments/*.yaml`, which add to or replace built-in entries, and its
/// `tenants/*.yaml` (checked as `tenant render` checks them).
pub fn load_catalog(platform_dir: Option<&Path>) -> Result<Catalog, Failure> {
    let mut catalog = Catalog::builtin()?;
    let Some(dir) = platform_dir else {
        tracing::info!(presets = catalog.preset_names().count(), "using the built-in catalog");
        return Ok(catalog);
    };
    if !dir.is_dir() {
        return Err(Failure::file(
            dir,
            "not a directory",
            "--platform-dir (or SPARKPLANE_PLATFORM_DIR) names a directory holding presets/, environments/ and tenants/",
        ));
    }
    let mut problems = Diagnostics::new();
    for sub in ["presets", "environments"] {
        for file in yaml_files(&dir.join(sub)) {
            let source = read_source(&file)?;
            if let Err(d) = catalog.add(&source, &file.display().to_string()) {
                problems.extend(d);
            }
        }
    }
    // The platform's tenants: a job of theirs that names no queue waits in the tenant's (ADR 0079).
    for file in yaml_files(&dir.join("tenants")) {
        match sparkplane_policy::tenant::load_tenant(&read_source(&file)?) {
            Ok(loaded) => {
                if let Err(d) = catalog.add_tenant(loaded.tenant, &file.display().to_string()) {
                    problems.push(d);
                }
            }
            Err(d) => problems.extend(d),
        }
    }
    if problems.has_errors() {
        return Err(problems.into());
    }
    tracing::info!(
        presets = catalog.preset_names().count(),
        tenants = catalog.tenants().count(),
        environments = catalog.environment_names().count(),
        platform_dir = %dir.display(),
        "loaded the catalog"
    );
    Ok(catalog)
}

/// The `.yaml`/`.yml` files in `dir`, sorted; none when it cannot be read.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok);
    let mut files: Vec<PathBuf> = entries.map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    files
}

/// Where a job's own overlay for `env` lives: `<dir>/<stem>.<env>.yaml` (or `.yml`).
pub fn job_environment_path(job: &Path, env: &str) -> Option<PathBuf> {
    let stem = job.file_stem()?.to_string_lossy().into_owned();
    let dir = job.parent().unwrap_or_else(|| Path::new(""));
    ["yaml", "yml"].iter().map(|ext| dir.join(format!("{stem}.{env}.{ext}"))).find(|p| p.is_file())
}

/// What to resolve, in plain terms.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// The job file.
    pub path: PathBuf,
    /// `--env`.
    pub env: Option<String>,
    /// `--set` flags as written.
    pub sets: Vec<String>,
    /// `--platform-dir`.
    pub platform_dir: Option<PathBuf>,
}

/// Reads a job and everything layered on it, and loads it with the core's
/// one load step (layers resolved, then validated for `target`). Every
/// command that needs a job calls this, or [`resolve_job_file`]; policies
/// are applied after it. The file holds one document.
pub fn resolve_job(settings: &JobSettings, target: ValidationTarget) -> Result<ResolvedJob, Failure> {
    let catalog = load_catalog(settings.platform_dir.as_deref())?;
    let job = read_yaml(&settings.path)?;
    load_job(settings, &catalog, &job, target)
}

/// [`resolve_job`] for a job file that may hold, beside its SparkJob, the
/// ConfigMaps and ServiceAccounts its pods read, as `import kubeflow` writes
/// them (`sparkplane_core::job_file`, ADR 0081): what `render`, `validate`
/// and `apply` read. Returns the loaded job and those companions.
pub fn resolve_job_file(
    settings: &JobSettings,
    target: ValidationTarget,
) -> Result<(ResolvedJob, Vec<Companion>), Failure> {
    let catalog = load_catalog(settings.platform_dir.as_deref())?;
    let file = read_job_file(&read_source(&settings.path)?)?;
    let resolved = load_job(settings, &catalog, &file.job, target)?;
    Ok((resolved, file.companions))
}

/// Loads `job`, the document of `settings`' job file, with its overlays and flags.
fn load_job(
    settings: &JobSettings,
    catalog: &Catalog,
    job: &Node,
    target: ValidationTarget,
) -> Result<ResolvedJob, Failure> {
    let mut problems = Diagnostics::new();
    let mut sets = Vec::new();
    for text in &settings.sets {
        match SetFlag::parse(text) {
            Ok(flag) => sets.push(flag),
            Err(d) => problems.push(d),
        }
    }
    if problems.has_errors() {
        return Err(problems.into());
    }
    // The overlay next to the job is found by the environment's name, which the job itself may give.
    let env_name = settings.env.clone().or_else(|| {
        job.get(&sparkplane_documents::yaml::FieldPath::parse("spec.environment").unwrap_or_default())
            .and_then(Node::as_str)
            .map(str::to_owned)
    });
    let job_env = match env_name.as_deref().and_then(|e| job_environment_path(&settings.path, e)) {
        Some(path) => {
            tracing::info!(overlay = %path.display(), "applying the job's own environment overlay");
            Some(read_yaml(&path)?)
        }
        None => None,
    };
    let request = ResolveRequest {
        job,
        job_environment: job_env.as_ref(),
        catalog,
        environment: settings.env.as_deref(),
        sets: &sets,
        target,
    };
    let resolved = load(request)?;
    tracing::info!(
        job = resolved.name(),
        preset = resolved.preset.as_deref().unwrap_or("-"),
        environment = resolved.environment.as_deref().unwrap_or("-"),
        spec_hash = %resolved.short_hash(),
        "resolved"
    );
    Ok(resolved)
}

/// Settles the namespace a resolved job goes to (`-n` as `flag`, else its
/// own, else the kubeconfig context's) and, when no layer named its queue,
/// gives it that namespace's tenant's from the platform directory
/// (`sparkplane_core::resolve::settle_namespace`, ADR 0079).
pub fn settle_namespace(
    resolved: &mut ResolvedJob,
    settings: &JobSettings,
    flag: Option<&str>,
    context: Option<&str>,
) -> Result<(), Failure> {
    match settings.platform_dir.as_deref() {
        // The built-in catalog has no tenants.
        None => resolved.settle_namespace(flag, context),
        Some(dir) => sparkplane_core::resolve::settle_namespace(resolved, &load_catalog(Some(dir))?, flag, context),
    }
    Ok(())
}

/// Loads `settings`' job for a cluster (resolved, then validated for one),
/// sized and rendered for `target`: the step `policy check`, `release`,
/// `promote` and `submit` share before their policy gate and I/O (`render`
/// takes the same steps through [`resolve_job_file`], with its companions).
pub fn render_objects(
    settings: &JobSettings,
    target: sparkplane_core::render::Target,
) -> Result<(ResolvedJob, Vec<sparkplane_core::render::RenderedObject>), Failure> {
    let resolved = resolve_job(settings, ValidationTarget::Cluster)?;
    let objects = sparkplane_core::render::size_and_render(&resolved, target);
    Ok((resolved, objects))
}
