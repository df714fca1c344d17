//! Installed runtimes: reading a runtime directory's marker, listing every
//! runtime (complete or broken) and removing one so no reader ever sees it
//! half-deleted.
//!
//! Owns: [`Runtime`] (the contents of `runtime.json`), [`RuntimeInfo`],
//! [`RuntimeStatus`], [`list`] and [`remove`].
//! Must not: install anything (that is `install`) or choose the Spark a job
//! runs with (that is `locate`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::{RuntimeError, io_error};
use super::home::{INSTALL_LOG, MARKER_FILE, lock, runtime_dir, runtimes_dir};
use super::line::{is_line_shaped, line_of, version_key};

/// A completely installed runtime: the contents of its `runtime.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    /// The Spark line, e.g. `3.5`.
    pub line: String,
    /// The pyspark (and so Spark) release installed, e.g. `3.5.9`.
    pub pyspark_version: String,
    /// The virtual environment's Python (use it as PYSPARK_PYTHON).
    pub python: PathBuf,
    /// The Spark home: pyspark's package directory, holding `bin/` and `jars/`.
    pub spark_home: PathBuf,
    /// When the install finished, RFC 3339 in UTC.
    pub installed_at: String,
}

impl Runtime {
    /// `<spark_home>/bin/spark-submit`.
    pub fn spark_submit(&self) -> PathBuf {
        spark_submit_in(&self.spark_home)
    }
}

pub(super) fn spark_submit_in(spark_home: &Path) -> PathBuf {
    spark_home.join("bin").join("spark-submit")
}

/// Reads and checks the runtime in `dir`; the error says what is wrong with it.
pub(super) fn inspect(dir: &Path, line: &str) -> Result<Runtime, String> {
    let marker = dir.join(MARKER_FILE);
    let text = match fs::read_to_string(&marker) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!("incomplete install: no {MARKER_FILE}; the last install's output is in {INSTALL_LOG}"));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", marker.display())),
    };
    let runtime: Runtime =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a runtime marker: {e}", marker.display()))?;
    if runtime.line != line {
        return Err(format!("{} describes Spark {}, not {line}", marker.display(), runtime.line));
    }
    let spark_submit = runtime.spark_submit();
    if !spark_submit.is_file() {
        return Err(format!("{} is missing", spark_submit.display()));
    }
    if !runtime.python.is_file() {
        return Err(format!("{} is missing", runtime.python.display()));
    }
    Ok(runtime)
}

/// Whether a listed runtime can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeStatus {
    /// Completely installed and usable.
    Ok,
    /// Incomplete or damaged; `sparkplane runtime install <line>` repairs it.
    Broken,
}

/// One runtime directory, as `list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    /// The Spark line (the directory's name).
    pub line: String,
    /// The pyspark release, when the marker says.
    pub version: Option<String>,
    /// The runtime's directory.
    pub path: PathBuf,
    /// Usable or broken.
    pub status: RuntimeStatus,
    /// What is wrong, when broken.
    pub problem: Option<String>,
    /// Bytes the directory takes on disk.
    pub size_bytes: u64,
}

fn info(dir: &Path, line: &str) -> RuntimeInfo {
    let size_bytes = size_on_disk(dir);
    match inspect(dir, line) {
        Ok(runtime) => RuntimeInfo {
            line: line.to_owned(),
            version: Some(runtime.pyspark_version),
            path: dir.to_owned(),
            status: RuntimeStatus::Ok,
            problem: None,
            size_bytes,
        },
        Err(problem) => RuntimeInfo {
            line: line.to_owned(),
            version: None,
            path: dir.to_owned(),
            status: RuntimeStatus::Broken,
            problem: Some(problem),
            size_bytes,
        },
    }
}

/// Every runtime directory under `<home>/runtimes`, complete or not, ordered by line.
/// No runtimes directory means no runtimes.
pub fn list(home: &Path) -> Result<Vec<RuntimeInfo>, RuntimeError> {
    let root = runtimes_dir(home);
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("read", &root)(e)),
    };
    let mut runtimes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("read", &root))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        // Hidden entries are lock files and directories being removed.
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        runtimes.push(info(&entry.path(), &name));
    }
    runtimes.sort_by(|a, b| version_key(&a.line).cmp(&version_key(&b.line)).then_with(|| a.line.cmp(&b.line)));
    Ok(runtimes)
}

/// Removes a line's runtime (complete or broken) and returns what it was, or
/// `None` when there was nothing to remove. `line` may also be a full version
/// (`3.5.7`) or a line sparkplane no longer supports whose directory remains.
pub fn remove(home: &Path, line: &str) -> Result<Option<RuntimeInfo>, RuntimeError> {
    let name = match line_of(line) {
        Ok(line) => line.to_owned(),
        // A directory left by an older sparkplane with other pins can still be removed.
        Err(_) if is_line_shaped(line) => line.to_owned(),
        Err(e) => return Err(e),
    };
    let dir = runtime_dir(home, &name);
    if !dir.is_dir() {
        return Ok(None);
    }
    let _lock = lock(home, &name, &mut || {})?;
    if !dir.is_dir() {
        return Ok(None);
    }
    let removed = info(&dir, &name);
    discard(&dir)?;
    Ok(Some(removed))
}

/// Deletes a runtime directory so that no reader ever sees it half-deleted:
/// it is first renamed to a hidden name, then removed. Leftovers of earlier
/// interrupted removals are swept on the way.
pub(super) fn discard(dir: &Path) -> Result<(), RuntimeError> {
    let Some(root) = dir.parent() else { return Ok(()) };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let doomed = root.join(format!(".{name}.removing.{}.{nanos}", std::process::id()));
    match fs::rename(dir, &doomed) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("move", dir)(e)),
    }
    fs::remove_dir_all(&doomed).map_err(io_error("remove", &doomed))?;
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().contains(".removing.") {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(())
}

/// Bytes a directory tree takes on disk (allocated blocks, as `du` counts);
/// unreadable entries count as nothing.
fn size_on_disk(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    let own = allocated(&meta);
    if !meta.is_dir() {
        return own;
    }
    let children = fs::read_dir(path).map(|entries| entries.flatten().map(|e| size_on_disk(&e.path())).sum());
    own + children.unwrap_or(0)
}

#[cfg(unix)]
fn allocated(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(meta: &fs::Metadata) -> u64 {
    meta.len()
}
