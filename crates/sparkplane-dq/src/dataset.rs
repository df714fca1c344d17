//! Finding a dataset's files and reading them as Arrow record batches, in
//! a local folder or in object storage (`s3://`, `s3a://`, `gs://`, `az://`
//! through `sparkplane-storage`).
//!
//! Discovery is one pure function over a listing ([`select_files`]): Spark's
//! `_SUCCESS`, `.crc` and other `_`/`.` files and folders skipped, hive
//! `key=value` folders turned into partition values, a `--partition`
//! selection applied. Local folders are listed with `std::fs` (the fast
//! path), object storage with [`Store::list`].
//!
//! Reading: Parquet per row group, with column projection; local files
//! through the OS, objects through ranged reads (the footer, then only the
//! projected column chunks of the row groups actually decoded — see
//! [`RangedObject`]). CSV and JSON lines files are read whole.
//!
//! Owns: I/O for datasets. Must not: evaluate checks (that is `engine`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Seek};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use bytes::{Buf, Bytes};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};
use sparkplane_api::dq::{DataFormat, Dataset, Partitioning};
use sparkplane_storage::{Location, StorageError, Store};

use crate::DqError;

/// Rows per record batch: large enough that per-batch work is amortised,
/// small enough to stay in cache.
pub const BATCH_ROWS: usize = 65_536;

/// Bytes read from the end of a Parquet object in the first request: the
/// footer of most files fits, so opening costs one request.
const FOOTER_GUESS: u64 = 64 * 1024;

/// Column chunks closer than this are fetched in one ranged request.
const MERGE_GAP: u64 = 256 * 1024;

/// Where a dataset lives: a local folder or file, or a prefix (or one
/// object) in object storage.
#[derive(Clone, Debug)]
pub enum Root {
    /// A local folder or file (already made absolute or relative to the working directory).
    Local(PathBuf),
    /// An object-store location, opened.
    Remote(Store),
}

impl Root {
    /// Opens a dataset location: a path relative to `base` (the spec's
    /// folder), an absolute path, or an object-store URL. `options` are extra
    /// object-store settings (tests pass the endpoint and keys; the CLI
    /// passes none and credentials come from the environment).
    pub fn open(text: &str, base: &Path, options: &[(String, String)]) -> Result<Root, DqError> {
        match Location::parse(text).map_err(DqError::Storage)? {
            Location::Local(path) => Ok(Root::Local(if path.is_absolute() { path } else { base.join(path) })),
            remote => {
                let pairs: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                Ok(Root::Remote(Store::open_with(&remote, &pairs).map_err(DqError::Storage)?))
            }
        }
    }

    /// The root as the user reads it (a path or a URL).
    pub fn display(&self) -> String {
        match self {
            Root::Local(path) => path.display().to_string(),
            Root::Remote(store) => store.location().to_string(),
        }
    }

    /// Where `relative` (a `/`-separated key below the root; empty for the root itself) is.
    pub fn describe(&self, relative: &str) -> String {
        match self {
            Root::Local(path) if relative.is_empty() => path.display().to_string(),
            Root::Local(path) => path.join(relative).display().to_string(),
            Root::Remote(store) => store.describe(relative),
        }
    }

    /// A [`Store`] over this root (object_store's local filesystem for a local folder).
    pub fn store(&self, options: &[(String, String)]) -> Result<Store, DqError> {
        match self {
            Root::Remote(store) => Ok(store.clone()),
            Root::Local(path) => {
                let pairs: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                Store::open_with(&Location::Local(path.clone()), &pairs).map_err(DqError::Storage)
            }
        }
    }
}

/// One data file of a dataset.
#[derive(Clone, Debug)]
pub struct DataFile {
    /// The dataset it belongs to.
    pub root: Root,
    /// Its key below the dataset root (`/`-separated; empty when the root is the file itself).
    pub relative: String,
    /// Size in bytes, from the listing.
    pub size: u64,
    /// Hive partition values from its folders (empty without hive partitioning).
    pub partition: BTreeMap<String, String>,
}

impl DataFile {
    /// The file as the user reads it: a path or a URL.
    pub fn location(&self) -> String {
        self.root.describe(&self.relative)
    }

    /// The local path, for local datasets.
    pub fn local_path(&self) -> Option<PathBuf> {
        match &self.root {
            Root::Local(path) if self.relative.is_empty() => Some(path.clone()),
            Root::Local(path) => Some(path.join(&self.relative)),
            Root::Remote(_) => None,
        }
    }

    /// The name to use below a quarantine folder: the key, or the file name
    /// when the dataset root is the file itself.
    pub fn quarantine_key(&self) -> String {
        if !self.relative.is_empty() {
            return self.relative.clone();
        }
        match &self.root {
            Root::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            Root::Remote(store) => store.location().file_name().unwrap_or_default(),
        }
    }
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

/// One entry of a listing: a `/`-separated key below the root (empty when
/// the root is itself the file) and its size.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    /// Key below the root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A file chosen by [`select_files`]: its key, size and partition values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Selected {
    /// Key below the root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Hive partition values.
    pub partition: BTreeMap<String, String>,
}

/// The one discovery rule, for local folders and object storage alike: the
/// data files of `dataset` in a listing of everything below its root
/// (`root` names it in messages), sorted by key. Hidden files and folders
/// (`_…`, `.…`) are skipped, files need the format's extension, `key=value`
/// folders are partition values under hive partitioning, and `selection`
/// keeps the matching partitions. Pure.
pub fn select_files(
    listing: &[Listed],
    root: &str,
    dataset: &Dataset,
    selection: &Selection,
) -> Result<Vec<Selected>, DqError> {
    if let [single] = listing
        && single.key.is_empty()
    {
        if !selection.is_empty() {
            return Err(DqError::Selection(format!(
                "{root} is a single file; --partition needs a hive-partitioned folder"
            )));
        }
        return Ok(vec![Selected { key: String::new(), size: single.size, partition: BTreeMap::new() }]);
    }
    if !selection.is_empty() && dataset.partitioning != Partitioning::Hive {
        return Err(DqError::Selection("--partition needs `dataset.partitioning: hive` in the spec".to_owned()));
    }
    let mut all = Vec::new();
    for entry in listing {
        let parts: Vec<&str> = entry.key.split('/').filter(|p| !p.is_empty()).collect();
        let Some((name, folders)) = parts.split_last() else { continue };
        if parts.iter().any(|p| is_hidden(p)) {
            continue;
        }
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        if !extensions(dataset.format).contains(&ext.as_str()) {
            continue;
        }
        let mut partition = BTreeMap::new();
        if dataset.partitioning == Partitioning::Hive {
            for folder in folders {
                if let Some((key, value)) = folder.split_once('=') {
                    partition.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        all.push(Selected { key: parts.join("/"), size: entry.size, partition });
    }
    let mut files: Vec<Selected> =
        all.iter().filter(|f| selection.iter().all(|(k, v)| f.partition.get(k) == Some(v))).cloned().collect();
    if files.is_empty() && !selection.is_empty() {
        let keys: std::collections::BTreeSet<&String> = all.iter().flat_map(|f| f.partition.keys()).collect();
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

/// Everything below a local folder (or the file itself, with an empty
/// key), hidden folders not entered.
fn list_local(root: &Path) -> Result<Vec<Listed>, DqError> {
    let meta = std::fs::metadata(root)
        .map_err(|e| DqError::NotFound { path: root.display().to_string(), error: e.to_string() })?;
    if meta.is_file() {
        return Ok(vec![Listed { key: String::new(), size: meta.len() }]);
    }
    let mut out = Vec::new();
    let mut stack = vec![(root.to_owned(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let io = |e: std::io::Error| DqError::Io { path: dir.display().to_string(), error: e.to_string() };
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hidden(&name) {
                continue;
            }
            let key = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                stack.push((entry.path(), key));
            } else {
                let size = entry.metadata().map_err(io)?.len();
                out.push(Listed { key, size });
            }
        }
    }
    Ok(out)
}

fn list_remote(store: &Store) -> Result<Vec<Listed>, DqError> {
    match store.list() {
        Ok(entries) => Ok(entries.into_iter().map(|e| Listed { key: e.key, size: e.size }).collect()),
        Err(StorageError::NotFound { url }) => {
            Err(DqError::NotFound { path: url, error: "no object or prefix with that name".to_owned() })
        }
        Err(other) => Err(DqError::Storage(other)),
    }
}

/// Finds the files of `dataset` under `root`, keeping those whose partition
/// values match `selection`. Sorted by key.
pub fn discover(root: &Root, dataset: &Dataset, selection: &Selection) -> Result<Vec<DataFile>, DqError> {
    let listing = match root {
        Root::Local(path) => list_local(path)?,
        Root::Remote(store) => list_remote(store)?,
    };
    let selected = select_files(&listing, &root.display(), dataset, selection)?;
    Ok(selected
        .into_iter()
        .map(|s| DataFile { root: root.clone(), relative: s.key, size: s.size, partition: s.partition })
        .collect())
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
    /// The whole content of a CSV or JSON object in object storage (read once).
    content: Option<Bytes>,
}

impl OpenedFile {
    /// Parquet footer, when Parquet.
    pub fn metadata(&self) -> Option<&Arc<ParquetMetaData>> {
        self.parquet.as_ref().map(ArrowReaderMetadata::metadata)
    }
}

fn corrupt(file: &DataFile, error: impl std::fmt::Display) -> DqError {
    DqError::Corrupt { path: file.location(), error: error.to_string() }
}

/// A Parquet object in object storage read through ranged requests: the
/// byte ranges fetched ahead (the footer; a row group's projected column
/// chunks) are served from memory, anything else is one ranged request.
#[derive(Clone, Debug)]
pub struct RangedObject {
    store: Store,
    key: String,
    size: u64,
    loaded: Vec<(u64, Bytes)>,
}

impl RangedObject {
    fn new(store: &Store, key: &str, size: u64) -> RangedObject {
        RangedObject { store: store.clone(), key: key.to_owned(), size, loaded: Vec::new() }
    }

    /// Fetches `ranges` (merged where they nearly touch) so later reads inside them are served from memory.
    fn prefetch(&mut self, mut ranges: Vec<Range<u64>>) -> Result<(), StorageError> {
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::new();
        for r in ranges.into_iter().filter(|r| r.end > r.start) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end + MERGE_GAP => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        for r in merged {
            let start = r.start;
            let bytes = self.store.get_range(&self.key, r)?;
            self.loaded.push((start, bytes));
        }
        Ok(())
    }

    fn slice(&self, start: u64, length: Option<usize>) -> Result<Bytes, ParquetError> {
        for (at, bytes) in &self.loaded {
            let end = *at + bytes.len() as u64;
            if start >= *at && start < end {
                let from = (start - at) as usize;
                match length {
                    None => return Ok(bytes.slice(from..)),
                    Some(n) if from + n <= bytes.len() => return Ok(bytes.slice(from..from + n)),
                    Some(_) => {}
                }
            }
        }
        let end = match length {
            Some(n) => start + n as u64,
            None => self.size.min(start + MERGE_GAP),
        };
        self.store.get_range(&self.key, start..end).map_err(|e| ParquetError::External(Box::new(e)))
    }
}

impl Length for RangedObject {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for RangedObject {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        Ok(self.slice(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        self.slice(start, Some(length))
    }
}

fn local_file(file: &DataFile) -> Result<(File, PathBuf), DqError> {
    let path = file.local_path().unwrap_or_default();
    let handle = File::open(&path).map_err(|e| DqError::Io { path: file.location(), error: e.to_string() })?;
    Ok((handle, path))
}

/// A storage failure while reading a file: unreachable or denied storage is
/// infrastructure, anything else names the file.
fn read_error(file: &DataFile, error: StorageError) -> DqError {
    match error {
        StorageError::NotFound { .. } | StorageError::BadLocation { .. } | StorageError::Local { .. } => {
            DqError::Io { path: file.location(), error: error.to_string() }
        }
        other => DqError::Storage(other),
    }
}

/// A ParquetError that wraps a storage failure is that failure; anything else is a corrupt file.
fn parquet_error(file: &DataFile, error: ParquetError) -> DqError {
    if let ParquetError::External(inner) = error {
        return match inner.downcast::<StorageError>() {
            Ok(storage) => read_error(file, *storage),
            Err(other) => corrupt(file, other),
        };
    }
    corrupt(file, error)
}

fn remote_store(file: &DataFile) -> Option<&Store> {
    match &file.root {
        Root::Remote(store) => Some(store),
        Root::Local(_) => None,
    }
}

/// Opens a file and reads its schema (the footer for Parquet; inference
/// over the whole file for CSV and JSON).
pub fn open(file: &DataFile, format: DataFormat) -> Result<OpenedFile, DqError> {
    if let Some(store) = remote_store(file) {
        return open_remote(file, store, format);
    }
    let (handle, _) = local_file(file)?;
    match format {
        DataFormat::Parquet => {
            let meta = ArrowReaderMetadata::load(&handle, ArrowReaderOptions::new()).map_err(|e| corrupt(file, e))?;
            Ok(OpenedFile { schema: meta.schema().clone(), parquet: Some(meta), content: None })
        }
        DataFormat::Csv | DataFormat::Json => {
            let schema = infer_text_schema(file, format, BufReader::new(handle))?;
            Ok(OpenedFile { schema, parquet: None, content: None })
        }
    }
}

fn infer_text_schema<R: std::io::BufRead + Seek>(
    file: &DataFile,
    format: DataFormat,
    mut reader: R,
) -> Result<SchemaRef, DqError> {
    let schema = match format {
        DataFormat::Csv => {
            arrow_csv::reader::Format::default()
                .with_header(true)
                .infer_schema(reader, None)
                .map_err(|e| corrupt(file, e))?
                .0
        }
        _ => {
            let (schema, _) =
                arrow_json::reader::infer_json_schema_from_seekable(&mut reader, None).map_err(|e| corrupt(file, e))?;
            reader.rewind().map_err(|e| DqError::Io { path: file.location(), error: e.to_string() })?;
            schema
        }
    };
    Ok(Arc::new(schema))
}

fn open_remote(file: &DataFile, store: &Store, format: DataFormat) -> Result<OpenedFile, DqError> {
    match format {
        DataFormat::Parquet => {
            let mut object = RangedObject::new(store, &file.relative, file.size);
            let tail = file.size.saturating_sub(FOOTER_GUESS);
            object.prefetch(std::iter::once(tail..file.size).collect()).map_err(|e| read_error(file, e))?;
            let meta =
                ArrowReaderMetadata::load(&object, ArrowReaderOptions::new()).map_err(|e| parquet_error(file, e))?;
            Ok(OpenedFile { schema: meta.schema().clone(), parquet: Some(meta), content: None })
        }
        DataFormat::Csv | DataFormat::Json => {
            let content = store.get(&file.relative).map_err(|e| read_error(file, e))?;
            let schema = infer_text_schema(file, format, Cursor::new(content.clone()))?;
            Ok(OpenedFile { schema, parquet: None, content: Some(content) })
        }
    }
}

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>>>;

fn parquet_batches<T: ChunkReader + 'static>(
    reader: T,
    file: &DataFile,
    meta: &ArrowReaderMetadata,
    indices: &[usize],
    row_group: Option<usize>,
) -> Result<Batches, DqError> {
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, meta.clone());
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
    let mut builder = builder.with_projection(mask).with_batch_size(BATCH_ROWS);
    if let Some(group) = row_group {
        builder = builder.with_row_groups(vec![group]);
    }
    Ok(Box::new(builder.build().map_err(|e| parquet_error(file, e))?))
}

/// The byte ranges of the column chunks of `indices` (root columns) in row
/// group `group` — what a ranged read must fetch.
fn chunk_ranges(meta: &ParquetMetaData, group: usize, indices: &[usize]) -> Vec<Range<u64>> {
    let schema = meta.file_metadata().schema_descr();
    let rg = meta.row_group(group);
    (0..rg.num_columns())
        .filter(|leaf| indices.contains(&schema.get_column_root_idx(*leaf)))
        .map(|leaf| {
            let (start, len) = rg.column(leaf).byte_range();
            start..start + len
        })
        .collect()
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
    let mut indices: Vec<usize> = columns.iter().filter_map(|c| opened.schema.index_of(c).ok()).collect();
    indices.sort_unstable();
    indices.dedup();
    let batches: Batches = match (format, remote_store(file)) {
        (DataFormat::Parquet, remote) => {
            let Some(meta) = &opened.parquet else { return Ok(()) };
            match remote {
                None => parquet_batches(local_file(file)?.0, file, meta, &indices, unit.row_group)?,
                Some(store) => {
                    let mut object = RangedObject::new(store, &file.relative, file.size);
                    let groups: Vec<usize> = match unit.row_group {
                        Some(g) => vec![g],
                        None => (0..meta.metadata().num_row_groups()).collect(),
                    };
                    let ranges = groups.iter().flat_map(|g| chunk_ranges(meta.metadata(), *g, &indices)).collect();
                    object.prefetch(ranges).map_err(|e| read_error(file, e))?;
                    parquet_batches(object, file, meta, &indices, unit.row_group)?
                }
            }
        }
        (DataFormat::Csv, _) => {
            let reader = arrow_csv::ReaderBuilder::new(opened.schema.clone())
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .with_projection(indices);
            match &opened.content {
                Some(content) => Box::new(reader.build(Cursor::new(content.clone())).map_err(|e| corrupt(file, e))?),
                None => Box::new(reader.build(BufReader::new(local_file(file)?.0)).map_err(|e| corrupt(file, e))?),
            }
        }
        (DataFormat::Json, _) => {
            let projected: Arc<Schema> = Arc::new(opened.schema.project(&indices).map_err(|e| corrupt(file, e))?);
            let reader = arrow_json::ReaderBuilder::new(projected).with_batch_size(BATCH_ROWS);
            match &opened.content {
                Some(content) => Box::new(reader.build(Cursor::new(content.clone())).map_err(|e| corrupt(file, e))?),
                None => Box::new(reader.build(BufReader::new(local_file(file)?.0)).map_err(|e| corrupt(file, e))?),
            }
        }
    };
    for batch in batches {
        each(&batch.map_err(|e| match e {
            arrow_schema::ArrowError::ExternalError(inner) => match inner.downcast::<ParquetError>() {
                Ok(p) => parquet_error(file, *p),
                Err(other) => corrupt(file, other),
            },
            other => corrupt(file, other),
        })?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(keys: &[&str]) -> Vec<Listed> {
        keys.iter().map(|k| Listed { key: (*k).to_owned(), size: 1 }).collect()
    }

    fn hive() -> Dataset {
        Dataset { path: "d".into(), format: DataFormat::Parquet, partitioning: Partitioning::Hive }
    }

    #[test]
    fn discovery_skips_hidden_entries_and_reads_hive_folders() {
        let listing = listed(&[
            "_SUCCESS",
            "date=2026-11-20/part-0.parquet",
            "date=2026-11-20/.part-0.parquet.crc",
            "date=2026-11-19/part-0.parquet",
            "_temporary/0/part-9.parquet",
            "date=2026-11-19/notes.txt",
        ]);
        let files = select_files(&listing, "d", &hive(), &Selection::new()).unwrap_or_default();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["date=2026-11-19/part-0.parquet", "date=2026-11-20/part-0.parquet"]);
        assert_eq!(files[1].partition.get("date").map(String::as_str), Some("2026-11-20"));
    }

    #[test]
    fn a_selection_keeps_its_partitions_and_names_unknown_keys() {
        let listing = listed(&["date=1/a.parquet", "date=2/a.parquet"]);
        let pick = |k: &str, v: &str| Selection::from([(k.to_owned(), v.to_owned())]);
        let files = select_files(&listing, "d", &hive(), &pick("date", "2")).unwrap_or_default();
        assert_eq!(files.len(), 1);
        let err = select_files(&listing, "d", &hive(), &pick("day", "2")).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("partition key `day` is not in the dataset (keys: date)"));
        let single = [Listed { key: String::new(), size: 3 }];
        let err = select_files(&single, "s3://b/t.parquet", &hive(), &pick("date", "2")).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("s3://b/t.parquet is a single file; --partition needs a hive-partitioned folder")
        );
    }
}
