//! Quarantine: what happens to data that failed an error-severity check,
//! in a local folder or object storage, to a local folder or object storage.
//! Data is never lost: every copy is verified before anything is removed.
//!
//! - `copy-partition`: every checked file is copied to
//!   `<location>/<spec>/<selection>/<key below the dataset>` (server-side
//!   when source and target are in the same bucket or on the same disk);
//!   the copies are then listed and their sizes compared with the sources.
//! - `move-partition`: the same verified copy, and only then the source
//!   files are removed, one by one, and a `_QUARANTINED` note saying where
//!   they went is left in each source folder (Spark skips `_` files). Any
//!   failure before the removal leaves the source untouched; a failure during
//!   it says which files were removed (their copies are verified).
//! - `failing-rows`: the rows failing a row-level error check (not-null,
//!   accepted values, range, regex, SQL predicate) are written as Parquet,
//!   one `<file name without extension>.failing.parquet` per source file that has any.
//!
//! A failure says what was and was not done (`DqError::Quarantine`).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, BooleanArray, RecordBatch};
use parquet::arrow::ArrowWriter;
use sparkplane_api::dq::{CheckSeverity, DqSpec, QuarantineMode};
use sparkplane_storage::{Location, StorageError, Store};

use crate::DqError;
use crate::columns;
use crate::dataset::{self, DataFile, Root, Unit};
use crate::evaluate::DqReport;
use crate::sql::Predicate;

/// Name of the note `move-partition` leaves in each source folder.
pub const MARKER: &str = "_QUARANTINED";

/// What to quarantine and where.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// The dataset.
    pub source: &'a Root,
    /// The files checked (the partition).
    pub files: &'a [DataFile],
    /// The quarantine location.
    pub target: &'a Root,
    /// The spec (its name is a folder of the target).
    pub spec: &'a DqSpec,
    /// The selection label (a folder of the target).
    pub selection: &'a str,
}

fn local_absolute(path: &std::path::Path) -> Result<std::path::PathBuf, DqError> {
    std::path::absolute(path).map_err(|e| DqError::Io { path: path.display().to_string(), error: e.to_string() })
}

/// Source and target stores; one connection (server-side copies) when both
/// are on this machine or in the same bucket.
fn stores(plan: &Plan<'_>, options: &[(String, String)]) -> Result<(Store, Store), DqError> {
    let pairs: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let open = |location: Location| Store::open_with(&location, &pairs).map_err(DqError::Storage);
    match (plan.source, plan.target) {
        (Root::Local(a), Root::Local(b)) => {
            let shared = open(Location::Local("/".into()))?;
            let key = |p: &std::path::Path| -> Result<String, DqError> {
                Ok(local_absolute(p)?.to_string_lossy().trim_start_matches('/').to_owned())
            };
            Ok((shared.child(&key(a)?), shared.child(&key(b)?)))
        }
        (Root::Remote(a), Root::Remote(b)) => match (a.location(), b.location()) {
            (
                Location::Remote { url: ua, bucket: ba, prefix: pa, .. },
                Location::Remote { url: ub, bucket: bb, prefix: pb, .. },
            ) if ua.scheme() == ub.scheme() && ba == bb && ua.scheme() != "az" && ua.host_str() == ub.host_str() => {
                let bucket = Location::parse(&format!("{}://{ba}", ua.scheme())).map_err(DqError::Storage)?;
                let shared = open(bucket)?;
                Ok((shared.child(pa), shared.child(pb)))
            }
            _ => Ok((a.clone(), b.clone())),
        },
        (source, target) => Ok((source.store(options)?, target.store(options)?)),
    }
}

/// Applies `mode` and says what was done, in a sentence.
pub fn apply(
    mode: QuarantineMode,
    plan: &Plan<'_>,
    report: &DqReport,
    predicates: &BTreeMap<usize, Predicate>,
    options: &[(String, String)],
) -> Result<String, DqError> {
    let (source, target_root) = stores(plan, options)?;
    let target = target_root.child(&format!("{}/{}", plan.spec.metadata.name, plan.selection));
    let shown = plan.target.describe(&format!("{}/{}", plan.spec.metadata.name, plan.selection));
    match mode {
        QuarantineMode::CopyPartition | QuarantineMode::MovePartition => {
            let bytes = copy_verified(&source, &target, plan.files, &shown)?;
            let n = plan.files.len();
            if mode == QuarantineMode::CopyPartition {
                return Ok(format!("copied {n} files ({bytes} bytes) to {shown}"));
            }
            let failed: Vec<&str> = report.errors().map(|c| c.name.as_str()).collect();
            remove_sources(&source, plan, &shown, &failed)
        }
        QuarantineMode::FailingRows => {
            let (rows, written) = write_failing_rows(plan, predicates, &target, &shown)?;
            Ok(format!("wrote {rows} failing rows in {written} Parquet files to {shown}"))
        }
    }
}

/// Copies every file, then lists the target and compares sizes. Returns the bytes copied.
fn copy_verified(source: &Store, target: &Store, files: &[DataFile], shown: &str) -> Result<u64, DqError> {
    let stopped = |done: usize, error: StorageError| DqError::Quarantine {
        done: format!(
            "quarantine stopped after copying {done} of {} files to {shown}; nothing was removed from the source",
            files.len()
        ),
        error,
    };
    for (done, file) in files.iter().enumerate() {
        source.copy_to(&file.relative, target, &file.quarantine_key()).map_err(|e| stopped(done, e))?;
    }
    let listed: BTreeMap<String, u64> = match target.list() {
        Ok(entries) => entries.into_iter().map(|e| (e.key, e.size)).collect(),
        Err(StorageError::NotFound { .. }) if files.is_empty() => BTreeMap::new(),
        Err(e) => return Err(stopped(files.len(), e)),
    };
    let mut bytes = 0;
    for file in files {
        let key = file.quarantine_key();
        if listed.get(&key) != Some(&file.size) {
            return Err(DqError::Quarantine {
                done: format!(
                    "the copy of {} in {shown} does not match the source ({} bytes listed, {} expected); \
                     nothing was removed from the source",
                    file.location(),
                    listed.get(&key).map_or("no".to_owned(), u64::to_string),
                    file.size
                ),
                error: StorageError::Unavailable { url: target.describe(&key), detail: "copy not verified".into() },
            });
        }
        bytes += file.size;
    }
    Ok(bytes)
}

/// Removes the verified sources and leaves a note in each source folder.
fn remove_sources(source: &Store, plan: &Plan<'_>, shown: &str, failed: &[&str]) -> Result<String, DqError> {
    let n = plan.files.len();
    for (removed, file) in plan.files.iter().enumerate() {
        source.delete(&file.relative).map_err(|error| DqError::Quarantine {
            done: format!(
                "copied and verified {n} files in {shown}, then removed {removed} of {n} source files before this \
                 failure; the other sources remain and every file has a verified copy"
            ),
            error,
        })?;
    }
    let mut folders: Vec<String> = plan
        .files
        .iter()
        .filter(|f| !f.relative.is_empty())
        .map(|f| f.relative.rsplit_once('/').map_or(String::new(), |(dir, _)| dir.to_owned()))
        .collect();
    folders.sort();
    folders.dedup();
    let note = format!(
        "quarantined by sparkplane dq check (spec {}, selection {}); failed: {}\nmoved to: {shown}\n",
        plan.spec.metadata.name,
        plan.selection,
        failed.join(", ")
    );
    for folder in &folders {
        let key = if folder.is_empty() { MARKER.to_owned() } else { format!("{folder}/{MARKER}") };
        source.put(&key, note.clone().into_bytes()).map_err(|error| DqError::Quarantine {
            done: format!("moved {n} files to {shown} (verified) but could not leave the {MARKER} note"),
            error,
        })?;
    }
    Ok(format!(
        "moved {n} files to {shown} (copies verified before the sources were removed; {MARKER} notes left in {} \
         source folders)",
        folders.len()
    ))
}

/// Per row, whether it fails any row-level error-severity check.
fn failing_mask(
    spec: &DqSpec,
    predicates: &BTreeMap<usize, Predicate>,
    batch: &RecordBatch,
    file: &DataFile,
) -> Vec<bool> {
    let rows = batch.num_rows();
    let mut mask = vec![false; rows];
    let column = |name: &str| -> Option<arrow_array::ArrayRef> {
        batch.column_by_name(name).cloned().or_else(|| {
            file.partition.get(name).map(|v| {
                Arc::new(arrow_array::StringArray::from_iter_values(std::iter::repeat_n(v, rows)))
                    as arrow_array::ArrayRef
            })
        })
    };
    for (i, check) in spec.checks.iter().enumerate().filter(|(_, c)| c.severity == CheckSeverity::Error) {
        if let Some(predicate) = predicates.get(&i)
            && let Ok(verdict) = predicate.evaluate(rows, &|name| column(name))
        {
            for (row, m) in mask.iter_mut().enumerate() {
                *m |= verdict.is_valid(row) && !verdict.value(row);
            }
        }
        if let Some(nn) = &check.not_null
            && nn.max_fraction.unwrap_or(0.0) == 0.0
        {
            match column(&nn.column) {
                Some(a) => (0..rows).for_each(|r| mask[r] |= a.is_null(r)),
                None => mask.iter_mut().for_each(|m| *m = true),
            }
        }
        if let Some(range) = &check.range
            && let Some(a) = column(&range.column)
        {
            let (lo, hi) = (range.min.unwrap_or(f64::NEG_INFINITY), range.max.unwrap_or(f64::INFINITY));
            let mut scratch = Vec::new();
            let valid: Vec<usize> = (0..rows).filter(|r| a.is_valid(*r)).collect();
            if let Some(values) = columns::numeric(a.as_ref(), &mut scratch) {
                for (row, v) in valid.iter().zip(values) {
                    mask[*row] |= !(*v >= lo && *v <= hi);
                }
            }
        }
        if let Some(accepted) = &check.accepted_values
            && let Some(a) = column(&accepted.column)
        {
            columns::for_each_text(a.as_ref(), |row, text| {
                if let Some(t) = text {
                    mask[row] |= !accepted.values.iter().any(|v| v == t);
                }
            });
        }
        if let Some(re) = &check.regex
            && let Some(a) = column(&re.column)
            && let Ok(re) = regex::Regex::new(&format!("^(?:{})$", re.pattern))
        {
            columns::for_each_text(a.as_ref(), |row, text| {
                if let Some(t) = text {
                    mask[row] |= !re.is_match(t);
                }
            });
        }
    }
    mask
}

fn write_failing_rows(
    plan: &Plan<'_>,
    predicates: &BTreeMap<usize, Predicate>,
    target: &Store,
    shown: &str,
) -> Result<(u64, usize), DqError> {
    let spec = plan.spec;
    let mut total = 0u64;
    let mut written = 0usize;
    for file in plan.files {
        let opened = dataset::open(file, spec.dataset.format)?;
        let all: Vec<String> = opened.schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut writer: Option<ArrowWriter<Vec<u8>>> = None;
        let mut rows = 0u64;
        let units: Vec<Unit> = match opened.metadata() {
            Some(meta) => (0..meta.num_row_groups()).map(|rg| Unit { file: 0, row_group: Some(rg) }).collect(),
            None => vec![Unit { file: 0, row_group: None }],
        };
        let key = std::path::Path::new(&file.quarantine_key())
            .with_extension("failing.parquet")
            .to_string_lossy()
            .into_owned();
        let encode =
            |e: parquet::errors::ParquetError| DqError::Io { path: target.describe(&key), error: e.to_string() };
        for unit in &units {
            dataset::read_unit(file, &opened, unit, spec.dataset.format, &all, |batch| {
                let mask = failing_mask(spec, predicates, batch, file);
                if !mask.iter().any(|m| *m) {
                    return Ok(());
                }
                let filtered = arrow_select::filter::filter_record_batch(batch, &BooleanArray::from(mask))
                    .map_err(|e| DqError::Io { path: file.location(), error: e.to_string() })?;
                rows += filtered.num_rows() as u64;
                if writer.is_none() {
                    writer = Some(ArrowWriter::try_new(Vec::new(), batch.schema(), None).map_err(encode)?);
                }
                if let Some(w) = writer.as_mut() {
                    w.write(&filtered).map_err(encode)?;
                }
                Ok(())
            })?;
        }
        if let Some(w) = writer {
            let bytes = w.into_inner().map_err(encode)?;
            target.put(&key, bytes).map_err(|error| DqError::Quarantine {
                done: format!(
                    "wrote failing rows of {written} files to {shown} before this failure; the source is untouched"
                ),
                error,
            })?;
            total += rows;
            written += 1;
        }
    }
    Ok((total, written))
}
