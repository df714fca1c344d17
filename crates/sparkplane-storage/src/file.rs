//! Writing one local file so that readers see either the old file or the
//! whole new one, never a part: the bytes go to a hidden temporary file
//! beside the target (`.NAME.PID.tmp`, so globs such as `*.prom` or `*.yaml`
//! skip it), are flushed to disk, then renamed over the target; on any
//! failure the temporary file is removed and the target is untouched.
//!
//! Owns: that sequence, for every command and crate that writes a report,
//! a patched job file, manifests or a metrics file. Must not: decide what a
//! failure means to a user (callers turn the `io::Error` into their own
//! message and exit code) or write to object storage ([`crate::Store`] does).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (see the module's documentation).
/// Fails when `path` names no file, its folder does not exist or cannot be
/// written, or the rename fails; the target is then as it was.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = temporary_beside(path)?;
    let written = std::fs::File::create(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        // The temporary file may not exist at all; nothing half-written stays behind either way.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The hidden temporary name beside `path` this process writes to.
fn temporary_beside(path: &Path) -> std::io::Result<PathBuf> {
    let Some(name) = path.file_name() else {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file"));
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok(folder.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read the folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("job.yaml");
        std::fs::write(&target, "old").expect("old file");
        write_file_atomically(&target, b"new").expect("written");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "new");
        assert_eq!(names(dir.path()), ["job.yaml"]);
    }

    #[test]
    fn a_failed_rename_keeps_the_old_file_and_removes_the_temporary_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A folder where the file should go: the rename over it fails.
        let target = dir.path().join("report.html");
        std::fs::create_dir(&target).expect("a folder in the way");
        std::fs::write(target.join("keep"), "kept").expect("content");
        let error = write_file_atomically(&target, b"<html>").expect_err("cannot replace a folder");
        assert!(
            matches!(
                error.kind(),
                std::io::ErrorKind::IsADirectory
                    | std::io::ErrorKind::DirectoryNotEmpty
                    | std::io::ErrorKind::AlreadyExists
                    | std::io::ErrorKind::Other
            ),
            "{error:?}"
        );
        assert_eq!(std::fs::read_to_string(target.join("keep")).expect("read"), "kept");
        assert_eq!(names(dir.path()), ["report.html"]);
    }

    #[test]
    fn a_missing_folder_or_no_file_name_is_an_error_that_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = write_file_atomically(&dir.path().join("missing/out.csv"), b"x").expect_err("no folder");
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
        let error = write_file_atomically(Path::new("/"), b"x").expect_err("no file name");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "the path names no file");
        assert!(names(dir.path()).is_empty());
    }
}
