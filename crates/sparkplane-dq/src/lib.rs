//! sparkplane's data-quality gates: a `kind: DataQuality` spec names a
//! dataset (Parquet, CSV or JSON lines; hive-partitioned or not) and checks;
//! `check` reads the data once, decides every check, keeps a profile for the
//! next run's row-count-change and drift checks, and quarantines failing data
//! as configured — never deleting any.
//!
//! Layout: `spec` (load with spans), `sql` (custom SQL predicates: parse,
//! type-check, vectorized evaluation), `engine` (plans and runs the one-pass
//! scan), `stats` (what the scan accumulates), `columns` (Arrow values in
//! Spark's terms: types, numbers, text, key hashes, dates), `evaluate`
//! (pass/fail and profiles, sans-IO), `sketch` (histograms, HyperLogLog,
//! PSI), `dataset` (files and readers, local or object storage), `store`
//! (profiles, local or object storage),
//! `quarantine`, `output` (JUnit, Prometheus text), `run` (a spec file's
//! options, a job's quality gates), `spark_plan` and `spark` (the same
//! checks as Spark SQL queries, run by a host the caller supplies),
//! `workflow` (a spec file or a job's gates run end to end with the engine
//! chosen, behind a host trait). The CLI only supplies the host.

pub mod columns;
pub mod dataset;
pub mod engine;
pub mod evaluate;
pub mod output;
pub mod quarantine;
pub mod run;
pub mod sketch;
pub mod spark;
pub mod spark_plan;
pub mod spec;
pub mod sql;
pub mod stats;
pub mod store;
pub mod workflow;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sparkplane_api::dq::DqSpec;
use sparkplane_category::Category;

pub use evaluate::{CheckResult, DqReport, Profile, Status};
pub use spec::{LoadedSpec, load_spec, relative_datasets};

/// What can stop a check run before any check is decided.
#[derive(Debug, thiserror::Error)]
pub enum DqError {
    /// The dataset path or URL does not exist.
    #[error("dataset {path} not found: {error}")]
    NotFound {
        /// The path or URL.
        path: String,
        /// The OS's or the store's words.
        error: String,
    },
    /// A data file cannot be decoded (truncated, not the format it claims).
    #[error("cannot read {path}: {error}")]
    Corrupt {
        /// The file (a path or a URL).
        path: String,
        /// The decoder's error.
        error: String,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder (a path or a URL).
        path: String,
        /// The OS error.
        error: String,
    },
    /// Object storage refused or could not be reached, or a location is malformed
    /// (`StorageError::category` says which).
    #[error("{0}")]
    Storage(sparkplane_storage::StorageError),
    /// The partition selection does not fit the dataset (or the dataset is not supported).
    #[error("{0}")]
    Selection(String),
    /// A check of the spec does not fit the dataset (a SQL predicate naming a
    /// column the data does not have); points into the spec.
    #[error("{field}: {message}")]
    Spec {
        /// Field path in the spec, e.g. `checks[3].sql`.
        field: String,
        /// 1-based line and column inside the SQL text, when known.
        at: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
        /// What to write instead.
        help: String,
    },
    /// The spark engine could not run the checks: Spark refused the query
    /// (`Failed`: the data could not be read as the spec says), no Spark
    /// answered (`Unreachable`), or the endpoint refused the request (`Invalid`).
    #[error("{message}")]
    Spark {
        /// What happened, with the dataset's path and Spark's own words.
        message: String,
        /// How it ends the command.
        category: Category,
    },
    /// Quarantine could not finish; the source data is intact.
    #[error("{done}: {error}")]
    Quarantine {
        /// What was and was not done, and that the source is intact.
        done: String,
        /// The storage failure.
        error: sparkplane_storage::StorageError,
    },
}

impl DqError {
    /// How this failure ends a command: `Failed` for data that cannot be
    /// decoded (bad data must not pass the gate), `Unreachable` for
    /// unreachable or refusing storage, `Invalid` for everything the user
    /// fixes in the spec or command.
    pub fn category(&self) -> Category {
        match self {
            DqError::Corrupt { .. } => Category::Failed,
            DqError::Spark { category, .. } => *category,
            DqError::Storage(e) | DqError::Quarantine { error: e, .. } => storage_category(e),
            DqError::NotFound { .. } | DqError::Io { .. } | DqError::Selection(_) | DqError::Spec { .. } => {
                Category::Invalid
            }
        }
    }
}

/// A storage failure's category; a local folder that cannot be written is
/// a path the user chose (`Invalid`), not unreachable infrastructure.
fn storage_category(error: &sparkplane_storage::StorageError) -> Category {
    match error {
        sparkplane_storage::StorageError::Unavailable { url, .. } if !url.contains("://") => Category::Invalid,
        other => other.category(),
    }
}

/// How to run the checks.
#[derive(Clone, Debug, Default)]
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
    /// Extra object-store settings for every remote location (object_store
    /// keys such as `aws_endpoint`); empty in the CLI, where credentials and
    /// endpoint come from the environment.
    pub storage_options: Vec<(String, String)>,
}

/// Runs a spec end to end: discover, scan once, evaluate against the stored
/// baseline, store the profile when the gate passes, quarantine when it fails.
pub fn check(spec: &DqSpec, options: &CheckOptions) -> Result<DqReport, DqError> {
    let base = &options.base_dir;
    let root = dataset::Root::open(&spec.dataset.path, base, &options.storage_options)?;
    let files = dataset::discover(&root, &spec.dataset, &options.selection)?;
    let predicates = sql::compile_checks(spec)?;
    let mut refs = BTreeMap::new();
    let mut missing_refs = BTreeMap::new();
    for (i, check) in spec.checks.iter().enumerate() {
        if let Some(r) = &check.referential_integrity {
            let ref_root = dataset::Root::open(&r.dataset.path, base, &options.storage_options)?;
            let ref_files = dataset::discover(&ref_root, &r.dataset, &dataset::Selection::new())?;
            let column = r.ref_column.as_deref().unwrap_or(&r.column);
            let (keys, found) = engine::read_keys(&ref_files, r.dataset.format, column)?;
            if !found {
                missing_refs.insert(i, format!("column `{column}` not found in {}", ref_root.display()));
            }
            refs.insert(i, keys);
        }
    }
    let scan = engine::scan(&files, spec.dataset.format, spec, &refs, &predicates, options.threads)?;
    finish(spec, options, &root, &files, scan, &missing_refs, &predicates)
}

/// Decides the checks from a scan (either engine's) against the stored
/// baseline, stores the profile when the gate passes, quarantines when it fails.
pub(crate) fn finish(
    spec: &DqSpec,
    options: &CheckOptions,
    root: &dataset::Root,
    files: &[dataset::DataFile],
    scan: stats::Scan,
    missing_refs: &BTreeMap<usize, String>,
    predicates: &BTreeMap<usize, sql::Predicate>,
) -> Result<DqReport, DqError> {
    let base = &options.base_dir;
    let label = dataset::selection_label(&options.selection);
    let profiles = store::ProfileStore::open(
        spec.profile_store.as_deref().unwrap_or(store::DEFAULT_DIR),
        base,
        &options.storage_options,
    )?;
    let baseline = profiles.baseline(&spec.metadata.name, &options.selection)?;
    let ctx = evaluate::EvalContext {
        now_secs: options.now_secs,
        baseline: baseline.as_ref(),
        selection: &label,
        missing_refs,
    };
    let mut report = evaluate::evaluate(spec, &scan, &ctx);
    if report.passed && options.write_profile {
        profiles.save(&evaluate::profile(spec, &label, &scan))?;
    }
    if !report.passed
        && options.quarantine
        && let Some(q) = &spec.quarantine
    {
        let target = dataset::Root::open(&q.location, base, &options.storage_options)?;
        let plan = quarantine::Plan { source: root, files, target: &target, spec, selection: &label };
        report.quarantine = Some(quarantine::apply(q.mode, &plan, &report, predicates, &options.storage_options)?);
    }
    Ok(report)
}
