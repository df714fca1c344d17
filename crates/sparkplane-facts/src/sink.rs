//! Where the export's files go: a local folder ([`LocalDir`]), an
//! object-store prefix ([`ObjectStoreSink`], through `sparkplane-storage`) or
//! memory ([`MemorySink`], for tests).
//!
//! Owns: the [`Sink`] seam and its one promise — a file is visible whole or
//! not at all. Locally a file is written to a hidden temporary name in the
//! same folder (`.<name>.inflight`: Spark, Hive and Trino skip names starting
//! with `.` or `_`), flushed to disk, then renamed over the target; the
//! temporary name is fixed per file, so a crashed run's leftover is replaced
//! by the next run's write of that file. In object storage one PUT is atomic.
//! Must not: decide what to write.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sparkplane_storage::{StorageError, Store};

/// A file that could not be read or written, named by its path or URL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{url}: {detail}")]
pub struct SinkError {
    /// The file's path or URL (never a credential).
    pub url: String,
    /// What went wrong.
    pub detail: String,
}

/// Where export files go; paths are relative, `/`-separated.
pub trait Sink: Sync {
    /// The full path or URL of `path`, for messages.
    fn describe(&self, path: &str) -> String;
    /// A small file's bytes (the manifest); `None` when it does not exist.
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, SinkError>;
    /// Writes a file so readers see the old file (or none) until the whole new one is there.
    fn write_atomically(&self, path: &str, bytes: Vec<u8>) -> Result<(), SinkError>;
    /// Removes a file; one that is already gone is fine.
    fn remove(&self, path: &str) -> Result<(), SinkError>;
}

/// A local folder, created when missing.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// The folder at `root`.
    pub fn new(root: &Path) -> LocalDir {
        LocalDir { root: root.to_path_buf() }
    }

    fn error(&self, path: &Path, error: &std::io::Error) -> SinkError {
        SinkError { url: path.display().to_string(), detail: error.to_string() }
    }
}

/// The hidden name a file is written under before it is renamed into place.
pub fn temporary_name(name: &str) -> String {
    format!(".{name}.inflight")
}

impl Sink for LocalDir {
    fn describe(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, SinkError> {
        let full = self.root.join(path);
        match fs::read(&full) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(&full, &e)),
        }
    }

    fn write_atomically(&self, path: &str, bytes: Vec<u8>) -> Result<(), SinkError> {
        let full = self.root.join(path);
        let dir = full.parent().unwrap_or(&self.root).to_path_buf();
        let name = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = dir.join(temporary_name(&name));
        fs::create_dir_all(&dir).map_err(|e| self.error(&dir, &e))?;
        let written = fs::File::create(&temporary)
            .and_then(|mut file| file.write_all(&bytes).and_then(|()| file.sync_all()))
            .and_then(|()| fs::rename(&temporary, &full));
        written.map_err(|e| {
            // Nothing half-written stays behind when we can help it.
            let _ = fs::remove_file(&temporary);
            self.error(&full, &e)
        })
    }

    fn remove(&self, path: &str) -> Result<(), SinkError> {
        let full = self.root.join(path);
        match fs::remove_file(&full) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.error(&full, &e)),
            _ => Ok(()),
        }
    }
}

/// A prefix in object storage (S3, GCS, Azure).
#[derive(Debug, Clone)]
pub struct ObjectStoreSink {
    store: Store,
}

impl ObjectStoreSink {
    /// Writes below `store`'s location.
    pub fn new(store: Store) -> ObjectStoreSink {
        ObjectStoreSink { store }
    }

    fn error(&self, error: StorageError) -> SinkError {
        // StorageError's message starts with the URL, never a credential.
        let text = error.to_string();
        match &error {
            StorageError::NotFound { url }
            | StorageError::Denied { url, .. }
            | StorageError::Unavailable { url, .. }
            | StorageError::Local { url, .. } => {
                let detail = text.strip_prefix(&format!("{url}: ")).unwrap_or(&text).to_owned();
                SinkError { url: url.clone(), detail }
            }
            StorageError::BadLocation { input, .. } => SinkError { url: input.clone(), detail: text },
        }
    }
}

impl Sink for ObjectStoreSink {
    fn describe(&self, path: &str) -> String {
        self.store.describe(path)
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, SinkError> {
        match self.store.get(path) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(StorageError::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn write_atomically(&self, path: &str, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.store.put(path, bytes).map_err(|e| self.error(e))
    }

    fn remove(&self, path: &str) -> Result<(), SinkError> {
        match self.store.delete(path) {
            Ok(()) | Err(StorageError::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }
}

/// Files in memory (tests), optionally failing every write after the first `fail_after`.
#[derive(Debug, Default)]
pub struct MemorySink {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    writes: Mutex<u64>,
    fail_after: Mutex<Option<u64>>,
}

impl MemorySink {
    /// A sink whose writes fail once `writes` have succeeded (a full disk, a store going away).
    pub fn failing_after(writes: u64) -> MemorySink {
        MemorySink { fail_after: Mutex::new(Some(writes)), ..MemorySink::default() }
    }

    /// Writes succeed again (the disk was freed, the store came back).
    pub fn heal(&self) {
        if let Ok(mut limit) = self.fail_after.lock() {
            *limit = None;
        }
    }

    /// One file's bytes.
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.files.lock().ok()?.get(path).cloned()
    }

    /// Every file and its bytes, by path.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.files.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// Successful writes so far.
    pub fn writes(&self) -> u64 {
        self.writes.lock().map(|w| *w).unwrap_or(0)
    }
}

impl Sink for MemorySink {
    fn describe(&self, path: &str) -> String {
        format!("memory://{path}")
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, SinkError> {
        Ok(self.get(path))
    }

    fn write_atomically(&self, path: &str, bytes: Vec<u8>) -> Result<(), SinkError> {
        let mut writes = self.writes.lock().map_err(|_| self.broken(path))?;
        let limit = *self.fail_after.lock().map_err(|_| self.broken(path))?;
        if limit.is_some_and(|limit| *writes >= limit) {
            return Err(SinkError { url: self.describe(path), detail: "injected write failure".into() });
        }
        *writes += 1;
        self.files.lock().map_err(|_| self.broken(path))?.insert(path.to_owned(), bytes);
        Ok(())
    }

    fn remove(&self, path: &str) -> Result<(), SinkError> {
        self.files.lock().map_err(|_| self.broken(path))?.remove(path);
        Ok(())
    }
}

impl MemorySink {
    fn broken(&self, path: &str) -> SinkError {
        SinkError { url: self.describe(path), detail: "a writer thread panicked".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_file_replaces_the_old_one_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sink = LocalDir::new(dir.path());
        sink.write_atomically("t/date=2026-11-25/part-a.parquet", b"old".to_vec()).expect("written");
        sink.write_atomically("t/date=2026-11-25/part-a.parquet", b"new".to_vec()).expect("written");
        let folder = dir.path().join("t/date=2026-11-25");
        let names: Vec<String> = fs::read_dir(&folder)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        assert_eq!(names, ["part-a.parquet"]);
        assert_eq!(sink.read("t/date=2026-11-25/part-a.parquet").expect("read"), Some(b"new".to_vec()));
        assert_eq!(sink.read("t/missing.parquet").expect("read"), None);
        sink.remove("t/date=2026-11-25/part-a.parquet").expect("removed");
        sink.remove("t/date=2026-11-25/part-a.parquet").expect("already gone is fine");
    }

    #[test]
    fn a_failed_local_write_names_the_file_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A file where the folder should be: nothing can be written below it.
        fs::write(dir.path().join("t"), b"x").expect("file");
        let sink = LocalDir::new(dir.path());
        let error = sink.write_atomically("t/part-a.parquet", b"new".to_vec()).expect_err("not a folder");
        assert_eq!(error.url, dir.path().join("t").display().to_string());
        assert_eq!(fs::read(dir.path().join("t")).expect("untouched"), b"x");
    }
}
