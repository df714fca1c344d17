//! Finding a dataset's files and reading them as Arrow record batches:
//! local folders (recursively; Spark's `_SUCCESS`, `.crc` and other `_`/`.`
//! files skipped), hive `key=value` folders turned into partition values,
//! a `--partition` selection, and Parquet (per row group, with column
//! projection and row-group statistics), CSV and JSON lines readers.
//!
//! Owns: file I/O for datasets. Must not: evaluate checks (that is `engine`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;
use sparkplane_api::dq::{DataFormat, Dataset, Partitioning};

use crate::DqError;

/// Rows per record batch: large enough that per-batch work is amortised,
/// small enough to stay in cache.
pub const BATCH_ROWS: usize = 65_536;

/// One data file of a dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DataFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its path below the dataset root (for quarantine copies and messages).
    pub relative: PathBuf,
    /// Hive partition values from its folders (empty without hive partitioning).
    pub partition: BTreeMap<String, String>,
}

/// A `key=value` selection of partitions (`--partition date=2026-11-20`).
pub type Selection = BTreeMap<String, String>;

/// Parses `key=value[,key=value]` flags into a selection.
pub fn parse_selection(flags: &[String]) -> Result<Selection, String> {
    let mut out = Selection::new();
    for flag in flags {
        for part in flag.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value (e.g. --partition date=2026-11-20)"))?;
            if key.trim().is_empty() {
                return Err(format!("`{part}` has an empty partition key"));
            }
            out.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    Ok(out)
}

/// A selection as a folder-safe label: `all`, or `key=value,key=value`.
pub fn selection_label(selection: &Selection) -> String {
    if selection.is_empty() {
        return "all".to_owned();
    }
    selection.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

fn extensions(format: DataFormat) -> &'static [&'static str] {
    match format {
        DataFormat::Parquet => &["parquet"],
        DataFormat::Csv => &["csv"],
        DataFormat::Json => &["json", "jsonl", "ndjson"],
    }
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.')
}

/// Finds the files of `dataset` (its path already made absolute as `root`),
/// keeping those whose partition values match `selection`. Sorted by path.
pub fn discover(root: &Path, dataset: &Dataset, selection: &Selection) -> Result<Vec<DataFile>, DqError> {
    let meta =
        std::fs::metadata(root).map_err(|e| DqError::NotFound { path: root.to_owned(), error: e.to_string() })?;
    if meta.is_file() {
        if !selection.is_empty() {
            return Err(DqError::Selection(format!(
                "{} is a single file; --partition needs a hive-partitioned folder",
                root.display()
            )));
        }
        let relative = root.file_name().map(PathBuf::from).unwrap_or_default();
        return Ok(vec![DataFile { path: root.to_owned(), relative, partition: BTreeMap::new() }]);
    }
    if !selection.is_empty() && dataset.partitioning != Partitioning::Hive {
        return Err(DqError::Selection("--partition needs `dataset.partitioning: hive` in the spec".to_owned()));
    }
    let mut files = Vec::new();
    walk(root, root, dataset, &BTreeMap::new(), &mut files)?;
    files.retain(|f| selection.iter().all(|(k, v)| f.partition.get(k) == Some(v)));
    if files.is_empty() && !selection.is_empty() {
        let mut known = Vec::new();
        walk(root, root, dataset, &BTreeMap::new(), &mut known)?;
        let keys: std::collections::BTreeSet<&String> = known.iter().flat_map(|f| f.partition.keys()).collect();
        if let Some(missing) = selection.keys().find(|k| !keys.contains(k)) {
            let listed: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
            return Err(DqError::Selection(format!(
                "partition key `{missing}` is not in the dataset (keys: {})",
                if listed.is_empty() { "none".to_owned() } else { listed.join(", ") }
            )));
        }
    }
    files.sort();
    Ok(files)
}

fn walk(
    root: &Path,
    dir: &Path,
    dataset: &Dataset,
    partition: &BTreeMap<String, String>,
    out: &mut Vec<DataFile>,
) -> Result<(), DqError> {
    let io = |e: std::io::Error| DqError::Io { path: dir.to_owned(), error: e.to_string() };
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(io)?.collect::<Result<_, _>>().map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_hidden(&name) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            let mut inner = partition.clone();
            if dataset.partitioning == Partitioning::Hive
                && let Some((key, value)) = name.split_once('=')
            {
                inner.insert(key.to_owned(), value.to_owned());
            }
            walk(root, &path, dataset, &inner, out)?;
        } else {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
            if extensions(dataset.format).contains(&ext.as_str()) {
                let relative = path.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
                out.push(DataFile { path, relative, partition: partition.clone() });
            }
        }
    }
    Ok(())
}

/// A unit of parallel work: one Parquet row group, or one whole CSV/JSON file.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Index into the file list.
    pub file: usize,
    /// The row group (Parquet only).
    pub row_group: Option<usize>,
}

/// A file opened for reading: its Arrow schema and, for Parquet, its footer.
#[derive(Clone, Debug)]
pub struct OpenedFile {
    /// Arrow schema of the file's own columns (without partition columns).
    pub schema: SchemaRef,
    /// Parquet metadata (row groups, statistics); `None` for CSV and JSON.
    pub parquet: Option<ArrowReaderMetadata>,
}

impl OpenedFile {
    /// Parquet footer, when Parquet.
    pub fn metadata(&self) -> Option<&Arc<ParquetMetaData>> {
        self.parquet.as_ref().map(ArrowReaderMetadata::metadata)
    }
}

fn corrupt(file: &Path, error: impl std::fmt::Display) -> DqError {
    DqError::Corrupt { path: file.to_owned(), error: error.to_string() }
}

/// Opens a file and reads its schema (the footer for Parquet; inference
/// over the whole file for CSV and JSON).
pub fn open(file: &DataFile, format: DataFormat) -> Result<OpenedFile, DqError> {
    let handle = File::open(&file.path).map_err(|e| DqError::Io { path: file.path.clone(), error: e.to_string() })?;
    match format {
        DataFormat::Parquet => {
            let meta =
                ArrowReaderMetadata::load(&handle, ArrowReaderOptions::new()).map_err(|e| corrupt(&file.path, e))?;
            Ok(OpenedFile { schema: meta.schema().clone(), parquet: Some(meta) })
        }
        DataFormat::Csv => {
            let (schema, _) = arrow_csv::reader::Format::default()
                .with_header(true)
                .infer_schema(BufReader::new(handle), None)
                .map_err(|e| corrupt(&file.path, e))?;
            Ok(OpenedFile { schema: Arc::new(schema), parquet: None })
        }
        DataFormat::Json => {
            let mut reader = BufReader::new(handle);
            let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(&mut reader, None)
                .map_err(|e| corrupt(&file.path, e))?;
            reader.rewind().map_err(|e| DqError::Io { path: file.path.clone(), error: e.to_string() })?;
            Ok(OpenedFile { schema: Arc::new(schema), parquet: None })
        }
    }
}

/// Reads one unit's batches with only the `columns` (by name; names the
/// file lacks are left out) and hands each batch to `each`.
pub fn read_unit(
    file: &DataFile,
    opened: &OpenedFile,
    unit: &Unit,
    format: DataFormat,
    columns: &[String],
    mut each: impl FnMut(&RecordBatch) -> Result<(), DqError>,
) -> Result<(), DqError> {
    let handle = File::open(&file.path).map_err(|e| DqError::Io { path: file.path.clone(), error: e.to_string() })?;
    let mut indices: Vec<usize> = columns.iter().filter_map(|c| opened.schema.index_of(c).ok()).collect();
    indices.sort_unstable();
    indices.dedup();
    let batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>> = match format {
        DataFormat::Parquet => {
            let Some(meta) = &opened.parquet else { return Ok(()) };
            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(handle, meta.clone());
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
            let mut builder = builder.with_projection(mask).with_batch_size(BATCH_ROWS);
            if let Some(group) = unit.row_group {
                builder = builder.with_row_groups(vec![group]);
            }
            Box::new(builder.build().map_err(|e| corrupt(&file.path, e))?)
        }
        DataFormat::Csv => Box::new(
            arrow_csv::ReaderBuilder::new(opened.schema.clone())
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .with_projection(indices)
                .build(BufReader::new(handle))
                .map_err(|e| corrupt(&file.path, e))?,
        ),
        DataFormat::Json => {
            let projected: Arc<Schema> = Arc::new(opened.schema.project(&indices).map_err(|e| corrupt(&file.path, e))?);
            Box::new(
                arrow_json::ReaderBuilder::new(projected)
                    .with_batch_size(BATCH_ROWS)
                    .build(BufReader::new(handle))
                    .map_err(|e| corrupt(&file.path, e))?,
            )
        }
    };
    for batch in batches {
        each(&batch.map_err(|e| corrupt(&file.path, e))?)?;
    }
    Ok(())
}
