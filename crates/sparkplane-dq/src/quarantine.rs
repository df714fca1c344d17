//! Quarantine: what happens to data that failed an error-severity check.
//! Nothing is ever deleted.
//!
//! - `copy-partition`: every checked file is copied to
//!   `<location>/<spec>/<selection>/<path below the dataset>`; each copy is
//!   written to a temporary name, its size verified, then renamed.
//! - `move-partition`: the same copy, then a `_QUARANTINED` marker file in
//!   each source folder (Spark and most readers skip `_` files, so the marker
//!   is for orchestrators and consumers to honour). The source stays: a
//!   "move" that deletes would lose data if the copy were later lost.
//! - `failing-rows`: the rows failing a row-level error check (not-null,
//!   accepted values, range, regex) are written as Parquet, one file per
//!   source file that has any, under the same folder.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, BooleanArray, RecordBatch};
use parquet::arrow::ArrowWriter;
use sparkplane_api::dq::{CheckSeverity, DqSpec, QuarantineMode};

use crate::DqError;
use crate::dataset::{self, DataFile, Unit};
use crate::engine;
use crate::evaluate::DqReport;

/// Name of the marker `move-partition` leaves in each source folder.
pub const MARKER: &str = "_QUARANTINED";

fn io(path: &Path, e: impl std::fmt::Display) -> DqError {
    DqError::Io { path: path.to_owned(), error: e.to_string() }
}

/// Applies `mode` and says what was done, in a sentence.
pub fn apply(
    mode: QuarantineMode,
    root: &Path,
    files: &[DataFile],
    location: &Path,
    spec: &DqSpec,
    selection: &str,
    report: &DqReport,
) -> Result<String, DqError> {
    let target = location.join(&spec.metadata.name).join(selection);
    let failed: Vec<&str> = report.errors().map(|c| c.name.as_str()).collect();
    match mode {
        QuarantineMode::CopyPartition | QuarantineMode::MovePartition => {
            let copied = copy_files(files, &target)?;
            if mode == QuarantineMode::CopyPartition {
                return Ok(format!("copied {copied} files to {}", target.display()));
            }
            let mut folders: Vec<PathBuf> =
                files.iter().filter_map(|f| f.path.parent().map(Path::to_path_buf)).collect();
            folders.sort();
            folders.dedup();
            if folders.is_empty() && root.is_dir() {
                folders.push(root.to_owned());
            }
            for folder in &folders {
                let marker = folder.join(MARKER);
                let note = format!(
                    "quarantined by sparkplane dq check (spec {}, selection {selection}); failed: {}\ncopy: {}\n",
                    spec.metadata.name,
                    failed.join(", "),
                    target.display()
                );
                fs::write(&marker, note).map_err(|e| io(&marker, e))?;
            }
            Ok(format!(
                "copied {copied} files to {} and marked {} source folders with {MARKER} (sources kept)",
                target.display(),
                folders.len()
            ))
        }
        QuarantineMode::FailingRows => {
            let (rows, written) = write_failing_rows(files, spec, &target)?;
            Ok(format!("wrote {rows} failing rows in {written} Parquet files to {}", target.display()))
        }
    }
}

fn copy_files(files: &[DataFile], target: &Path) -> Result<usize, DqError> {
    for file in files {
        let dest = target.join(&file.relative);
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| target.to_owned());
        fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let tmp = dir
            .join(format!(".{}.tmp", dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
        let written = fs::copy(&file.path, &tmp).map_err(|e| io(&file.path, e))?;
        let expected = fs::metadata(&file.path).map_err(|e| io(&file.path, e))?.len();
        if written != expected {
            let _ = fs::remove_file(&tmp);
            return Err(io(&dest, format!("copy has {written} bytes, source {expected}; source kept")));
        }
        fs::rename(&tmp, &dest).map_err(|e| io(&dest, e))?;
    }
    Ok(files.len())
}

/// Per row, whether it fails any row-level error-severity check.
fn failing_mask(spec: &DqSpec, batch: &RecordBatch, file: &DataFile) -> Vec<bool> {
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
    for check in spec.checks.iter().filter(|c| c.severity == CheckSeverity::Error) {
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
            if let Some(values) = engine::numeric(a.as_ref(), &mut scratch) {
                for (row, v) in valid.iter().zip(values) {
                    mask[*row] |= !(*v >= lo && *v <= hi);
                }
            }
        }
        if let Some(accepted) = &check.accepted_values
            && let Some(a) = column(&accepted.column)
        {
            engine::for_each_text(a.as_ref(), |row, text| {
                if let Some(t) = text {
                    mask[row] |= !accepted.values.iter().any(|v| v == t);
                }
            });
        }
        if let Some(re) = &check.regex
            && let Some(a) = column(&re.column)
            && let Ok(re) = regex::Regex::new(&format!("^(?:{})$", re.pattern))
        {
            engine::for_each_text(a.as_ref(), |row, text| {
                if let Some(t) = text {
                    mask[row] |= !re.is_match(t);
                }
            });
        }
    }
    mask
}

fn write_failing_rows(files: &[DataFile], spec: &DqSpec, target: &Path) -> Result<(u64, usize), DqError> {
    let mut total = 0u64;
    let mut written = 0usize;
    for file in files {
        let opened = dataset::open(file, spec.dataset.format)?;
        let all: Vec<String> = opened.schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut dest = target.join(&file.relative);
        dest.set_extension("failing.parquet");
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_else(|| target.to_owned());
        let tmp = dir
            .join(format!(".{}.tmp", dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()));
        let mut writer: Option<ArrowWriter<fs::File>> = None;
        let mut rows = 0u64;
        let units: Vec<Unit> = match opened.metadata() {
            Some(meta) => (0..meta.num_row_groups()).map(|rg| Unit { file: 0, row_group: Some(rg) }).collect(),
            None => vec![Unit { file: 0, row_group: None }],
        };
        for unit in &units {
            dataset::read_unit(file, &opened, unit, spec.dataset.format, &all, |batch| {
                let mask = failing_mask(spec, batch, file);
                if !mask.iter().any(|m| *m) {
                    return Ok(());
                }
                let filtered = arrow_select::filter::filter_record_batch(batch, &BooleanArray::from(mask))
                    .map_err(|e| io(&file.path, e))?;
                rows += filtered.num_rows() as u64;
                if writer.is_none() {
                    fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
                    let handle = fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
                    writer = Some(ArrowWriter::try_new(handle, batch.schema(), None).map_err(|e| io(&tmp, e))?);
                }
                if let Some(w) = writer.as_mut() {
                    w.write(&filtered).map_err(|e| io(&tmp, e))?;
                }
                Ok(())
            })?;
        }
        if let Some(w) = writer {
            w.close().map_err(|e| io(&tmp, e))?;
            fs::rename(&tmp, &dest).map_err(|e| io(&dest, e))?;
            total += rows;
            written += 1;
        }
    }
    Ok((total, written))
}
