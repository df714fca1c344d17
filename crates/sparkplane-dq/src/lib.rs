//! sparkplane's data-quality gates: a `kind: DataQuality` spec names a
//! dataset (Parquet, CSV or JSON lines; hive-partitioned or not) and checks;
//! `check` reads the data once, decides every check, keeps a profile for the
//! next run's row-count-change and drift checks, and quarantines failing data
//! as configured — never deleting any.
//!
//! Layout: `spec` (load with spans), `engine` (one-pass scan), `evaluate`
//! (pass/fail and profiles, sans-IO), `sketch` (histograms, HyperLogLog,
//! PSI), `dataset` (files and readers), `store` (profiles on disk),
//! `quarantine`, `output` (JUnit, Prometheus text). The CLI is thin glue
//! over `check`.

pub mod dataset;
pub mod engine;
pub mod evaluate;
pub mod output;
pub mod quarantine;
pub mod sketch;
pub mod spec;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sparkplane_api::dq::DqSpec;

pub use evaluate::{CheckResult, DqReport, Profile, Status};
pub use spec::{LoadedSpec, load_spec};

/// What can stop a check run before any check is decided.
#[derive(Debug, thiserror::Error)]
pub enum DqError {
    /// The dataset path does not exist.
    #[error("dataset {path} not found: {error}")]
    NotFound {
        /// The path.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// A data file cannot be decoded (truncated, not the format it claims).
    #[error("cannot read {path}: {error}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        error: String,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// The partition selection does not fit the dataset (or the dataset is not supported).
    #[error("{0}")]
    Selection(String),
}

/// How to run the checks.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Folder the spec's relative paths are relative to (the spec file's folder).
    pub base_dir: PathBuf,
    /// Partition selection.
    pub selection: dataset::Selection,
    /// Worker threads.
    pub threads: usize,
    /// Now, in seconds since 1970.
    pub now_secs: f64,
    /// Whether to write this run's profile (when the gate passes).
    pub write_profile: bool,
    /// Whether to quarantine on failure.
    pub quarantine: bool,
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() { p.to_owned() } else { base.join(p) }
}

/// Runs a spec end to end: discover, scan once, evaluate against the stored
/// baseline, store the profile when the gate passes, quarantine when it fails.
pub fn check(spec: &DqSpec, options: &CheckOptions) -> Result<DqReport, DqError> {
    if spec.dataset.path.starts_with("s3://") || spec.dataset.path.starts_with("s3a://") {
        return Err(DqError::Selection(format!(
            "{}: datasets in object storage are not supported yet; check a local copy",
            spec.dataset.path
        )));
    }
    let root = resolve(&options.base_dir, &spec.dataset.path);
    let files = dataset::discover(&root, &spec.dataset, &options.selection)?;
    let mut refs = BTreeMap::new();
    let mut missing_refs = BTreeMap::new();
    for (i, check) in spec.checks.iter().enumerate() {
        if let Some(r) = &check.referential_integrity {
            let ref_root = resolve(&options.base_dir, &r.dataset.path);
            let ref_files = dataset::discover(&ref_root, &r.dataset, &dataset::Selection::new())?;
            let column = r.ref_column.as_deref().unwrap_or(&r.column);
            let (keys, found) = engine::read_keys(&ref_files, r.dataset.format, column)?;
            if !found {
                missing_refs.insert(i, format!("column `{column}` not found in {}", ref_root.display()));
            }
            refs.insert(i, keys);
        }
    }
    let scan = engine::scan(&files, spec.dataset.format, spec, &refs, options.threads)?;
    let label = dataset::selection_label(&options.selection);
    let store_root = resolve(&options.base_dir, spec.profile_store.as_deref().unwrap_or(store::DEFAULT_DIR));
    let baseline = store::baseline(&store_root, &spec.metadata.name, &options.selection)?;
    let ctx = evaluate::EvalContext {
        now_secs: options.now_secs,
        baseline: baseline.as_ref(),
        selection: &label,
        missing_refs: &missing_refs,
    };
    let mut report = evaluate::evaluate(spec, &scan, &ctx);
    if report.passed && options.write_profile {
        store::save(&store_root, &evaluate::profile(spec, &label, &scan))?;
    }
    if !report.passed
        && options.quarantine
        && let Some(q) = &spec.quarantine
    {
        let target = resolve(&options.base_dir, &q.location);
        report.quarantine = Some(quarantine::apply(q.mode, &root, &files, &target, spec, &label, &report)?);
    }
    Ok(report)
}
