//! Where a drill restores: a fresh folder on this machine, or an empty
//! scratch bucket on the backup target's store (`stores::scratch_bucket`).
//!
//! Owns: the freshness rule for a restore folder (new or empty, made
//! absolute so the job finds it from its own folder), what `{restored}`
//! stands for in each place, when the restored metastore serves the job
//! ([`Scratch::serves_catalog`]), and emptying the bucket afterwards. Must not:
//! restore or decide a drill (`verify`, `drill_run`).

use std::path::{Path, PathBuf};

use sparkplane_documents::Diagnostic;
use sparkplane_storage::Store;

use crate::BackupError;
use crate::drill::s3a_prefix;
use crate::verify::RestoreTarget;

/// Where this drill restores the objects.
pub enum Scratch {
    /// A fresh folder.
    Folder(PathBuf),
    /// An empty bucket (or prefix) on the backup's target store.
    Bucket {
        /// Its URL as given.
        url: String,
        /// The store, opened with the target's endpoint and keys (boxed: a store is large beside a path).
        store: Box<Store>,
    },
}

impl Scratch {
    /// What `{restored}` stands for: the folder, or the bucket's `s3a://` URL.
    pub fn restored(&self) -> String {
        match self {
            Scratch::Folder(dir) => dir.to_string_lossy().into_owned(),
            Scratch::Bucket { url, .. } => s3a_prefix(url),
        }
    }

    /// Whether the restored scratch database serves the drilled job as its
    /// catalog: only beside a scratch bucket (a local Spark reads the
    /// restored tables there) and when `backup` has a metastore.
    pub fn serves_catalog(&self, backup: &sparkplane_api::backup::Backup) -> bool {
        matches!(self, Scratch::Bucket { .. }) && backup.spec.metastore.is_some()
    }

    /// The place in words.
    pub fn describe(&self) -> String {
        match self {
            Scratch::Folder(dir) => dir.display().to_string(),
            Scratch::Bucket { url, .. } => url.clone(),
        }
    }

    /// The restore's target.
    pub fn target(&self) -> RestoreTarget<'_> {
        match self {
            Scratch::Folder(dir) => RestoreTarget::Folder(dir),
            Scratch::Bucket { store, .. } => RestoreTarget::Bucket(store),
        }
    }

    /// Deletes what the drill restored into a bucket; the objects deleted (None for a folder, which stays).
    pub fn empty(&self) -> Result<Option<usize>, BackupError> {
        match self {
            Scratch::Bucket { store, .. } => crate::stores::empty_scratch_bucket(store).map(Some),
            Scratch::Folder(_) => Ok(None),
        }
    }
}

fn bad_folder(message: String, help: &str) -> Diagnostic {
    Diagnostic::error("drill-restore-dir", "", message).with_help(help)
}

/// The restore folder: `asked`, else a new one under TMPDIR named by `unique`;
/// refused unless it is new or empty; created, and made absolute.
pub fn fresh_folder(asked: Option<&Path>, unique: &str) -> Result<PathBuf, Diagnostic> {
    let dir = asked.map_or_else(|| std::env::temp_dir().join(format!("sparkplane-drill-{unique}")), Path::to_owned);
    let writable = "give a folder this user can write to";
    let fresh = match std::fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => return Err(bad_folder(format!("{}: {e}", dir.display()), writable)),
    };
    if !fresh {
        return Err(bad_folder(
            format!("restore folder {} is not empty", dir.display()),
            "a drill restores into a fresh target: give a new or empty folder with --restore-dir",
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| bad_folder(format!("{}: {e}", dir.display()), writable))?;
    // Absolute, so the job (whose working directory is its own folder) finds it.
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_scratch_bucket_beside_a_metastore_serves_the_catalog() {
        let mut backup = sparkplane_api::backup::Backup::default();
        let folder = Scratch::Folder(PathBuf::from("/tmp/r"));
        assert!(!folder.serves_catalog(&backup));
        backup.spec.metastore = Some(
            serde_json::from_value(serde_json::json!({"host": "pg", "database": "metastore", "user": "hive"}))
                .expect("a metastore"),
        );
        assert!(!folder.serves_catalog(&backup), "a folder never serves it");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store =
            Store::open(&sparkplane_storage::Location::parse(&dir.path().display().to_string()).expect("a location"))
                .expect("a store");
        let bucket = Scratch::Bucket { url: "s3://scratch/r".into(), store: Box::new(store) };
        assert!(bucket.serves_catalog(&backup));
        backup.spec.metastore = None;
        assert!(!bucket.serves_catalog(&backup));
    }

    #[test]
    fn a_restore_folder_must_be_new_or_empty_and_comes_back_absolute() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let new = dir.path().join("new");
        assert_eq!(fresh_folder(Some(&new), "x").expect("a new folder"), new);
        assert!(new.is_dir(), "created");
        assert_eq!(fresh_folder(Some(&new), "x").expect("an empty folder"), new);
        std::fs::write(new.join("left-over"), "x").expect("a file");
        let err = fresh_folder(Some(&new), "x").expect_err("not empty");
        assert_eq!(err.code, "drill-restore-dir");
        assert_eq!(err.message, format!("restore folder {} is not empty", new.display()));
        let unnamed = fresh_folder(None, &format!("test-{}", std::process::id())).expect("a folder under TMPDIR");
        assert!(unnamed.is_absolute() && unnamed.starts_with(std::env::temp_dir()), "{}", unnamed.display());
        std::fs::remove_dir(&unnamed).expect("removed");
    }

    #[test]
    fn restored_stands_for_the_folder_or_the_buckets_s3a_url() {
        let folder = Scratch::Folder(PathBuf::from("/tmp/r"));
        assert_eq!((folder.restored(), folder.describe()), ("/tmp/r".to_owned(), "/tmp/r".to_owned()));
        assert_eq!(folder.empty().map_err(|e| e.to_string()), Ok(None), "a folder stays");
    }
}
