//! `submit --metrics-file FILE`: adds the submission's latency to the
//! `sparkplane_submit_duration_seconds` histogram kept in FILE, for
//! node_exporter's textfile collector (`--collector.textfile.directory`).
//!
//! Owns the file I/O only (an exclusive lock on a sibling lock file, then a
//! temporary file renamed over FILE, so a scrape never reads half a file and
//! concurrent submissions never lose an observation); the histogram itself is
//! `sparkplane_observe::textfile`.

use std::path::{Path, PathBuf};

use sparkplane_observe::textfile::record_submission;

use crate::exit::Failure;

fn write_failure(path: &Path, error: &std::io::Error) -> Failure {
    Failure::file(
        path,
        error,
        "the metrics file's directory must exist and be writable (node_exporter's textfile directory)",
    )
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// The file's text; empty when it does not exist yet.
fn read_existing(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        other => other,
    }
}

fn not_ours(path: &Path, error: &sparkplane_observe::textfile::TextfileError) -> Failure {
    Failure::invalid(
        "bad-metrics-file",
        "--metrics-file",
        format!("{}: {error}", path.display()),
        "point --metrics-file at a file only sparkplane writes (one per metric family), e.g. sparkplane_submit.prom",
    )
}

/// Checks, before anything is submitted, that `path` is absent or a histogram
/// file sparkplane wrote, so a submission is never followed by a refusal.
pub fn check(path: &Path) -> Result<(), Failure> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        let missing =
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} is not a directory", folder.display()));
        return Err(write_failure(path, &missing));
    }
    let existing = read_existing(path).map_err(|e| write_failure(path, &e))?;
    record_submission(&existing, "check", "check", 0.0).map(|_| ()).map_err(|e| not_ours(path, &e))
}

/// Adds one submission (`seconds`, to `namespace` through `target`) to the
/// histogram in `path`. The job is already submitted when this runs, so a
/// failure is a message for a warning, not a failed command.
pub fn record(path: &Path, namespace: &str, target: &str, seconds: f64) -> Result<(), String> {
    let shown = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    let lock_path = sibling(path, ".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| shown(&lock_path, &e))?;
    lock.lock().map_err(|e| shown(&lock_path, &e))?;
    let existing = read_existing(path).map_err(|e| shown(path, &e))?;
    let text = record_submission(&existing, namespace, target, seconds).map_err(|e| shown(path, &e))?;
    // node_exporter reads only `*.prom`; the temporary file beside it is `.NAME.PID.tmp`.
    sparkplane_storage::write_file_atomically(path, text.as_bytes()).map_err(|e| shown(path, &e))
}
