//! Where driver logs outlive their pods: `<store>/<namespace>/<job>/<pod>.log`
//! in object storage or a folder — the same kind of location event logs use.
//! The operator writes a driver's log here before it removes the pod
//! (`ttlAfterFinished`), and `sparkplane logs` reads it once the pod is gone.
//!
//! Owns: the key layout. Must not: talk to the Kubernetes API.
//!
//! Every call blocks on the store's own runtime: call it outside an async
//! runtime (or from `spawn_blocking`).

use sparkplane_storage::{Location, StorageError, Store};

/// The key of a driver's log under the store.
pub fn key(namespace: &str, job: &str, pod: &str) -> String {
    format!("{namespace}/{job}/{pod}.log")
}

/// The driver pod an archived log belongs to, from its location's last
/// segment (`…/<pod>.log`); None for a location this layout did not write.
pub fn pod_of(archive: &str) -> Option<&str> {
    archive.trim_end_matches('/').rsplit('/').next()?.strip_suffix(".log").filter(|pod| !pod.is_empty())
}

fn open(store: &str) -> Result<Store, StorageError> {
    let location = Location::parse(store)?;
    Store::open(&location)
}

/// One object as text; None when nothing is there. Any other failure
/// (denied, unreachable) is an error, never "no log".
fn fetch(store: &Store, key: &str) -> Result<Option<String>, StorageError> {
    match store.get(key) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(StorageError::NotFound { .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Writes a log; answers its URL.
pub fn put(store: &str, key: &str, log: String) -> Result<String, String> {
    let store = open(store).map_err(|e| e.to_string())?;
    store.put(key, log.into_bytes()).map_err(|e| e.to_string())?;
    Ok(store.describe(key))
}

/// Reads an archived log (None when there is none).
pub fn get(store: &str, key: &str) -> Result<Option<String>, String> {
    let store = open(store).map_err(|e| e.to_string())?;
    fetch(&store, key).map_err(|e| e.to_string())
}

/// Reads the log archived at `archive`, the URL [`put`] answered (a
/// SparkJob's `status.logArchive`); None when it is not there (any more).
pub fn read(archive: &str) -> Result<Option<String>, StorageError> {
    fetch(&open(archive)?, "")
}

/// Why an archived driver log has no text to show, in the words `sparkplane
/// logs` and the console both use.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The store answered that nothing is at the location (any more).
    #[error("the archived log {url} is not there (any more)")]
    Gone {
        /// The archive's location.
        url: String,
    },
    /// The store could not be read (denied, unreachable, a bad location).
    #[error("cannot read the archived log: {0}")]
    Unreadable(StorageError),
}

impl ArchiveError {
    /// Unreachable when the store could not be reached; invalid otherwise.
    pub fn category(&self) -> sparkplane_category::Category {
        match self {
            ArchiveError::Gone { .. } => sparkplane_category::Category::Invalid,
            ArchiveError::Unreadable(error) => error.category(),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            ArchiveError::Gone { .. } => "a retention rule on the log store may have removed it",
            ArchiveError::Unreadable(_) => "check that this machine can read the operator's --log-store",
        }
    }
}

/// [`read`], with nothing there an error as well: the archived log's text.
pub fn read_text(archive: &str) -> Result<String, ArchiveError> {
    read(archive).map_err(ArchiveError::Unreadable)?.ok_or_else(|| ArchiveError::Gone { url: archive.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::{ArchiveError, get, key, pod_of, put, read, read_text};
    use sparkplane_category::Category;

    #[test]
    fn a_log_put_is_read_back_by_key_and_by_the_url_put_answered() {
        let dir = tempfile::tempdir().expect("dir");
        let store = dir.path().display().to_string();
        let url = put(&store, &key("team-a", "nightly", "nightly-1-driver"), "line one\n".into()).expect("put");
        assert_eq!(url, dir.path().join("team-a/nightly/nightly-1-driver.log").display().to_string());
        assert_eq!(get(&store, &key("team-a", "nightly", "nightly-1-driver")).expect("get"), Some("line one\n".into()));
        assert_eq!(read(&url).expect("read"), Some("line one\n".into()));
        assert_eq!(pod_of(&url), Some("nightly-1-driver"));
    }

    #[test]
    fn a_missing_log_is_none_and_a_bad_location_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("team-a/nightly/gone-driver.log").display().to_string();
        assert_eq!(read(&missing).expect("read"), None);
        assert_eq!(get(&dir.path().display().to_string(), "team-a/x/y.log").expect("get"), None);
        assert!(read("ftp://host/x.log").is_err());
        let gone = read_text(&missing).expect_err("gone");
        assert_eq!(gone.to_string(), format!("the archived log {missing} is not there (any more)"));
        assert_eq!(
            (gone.category(), gone.help()),
            (Category::Invalid, "a retention rule on the log store may have removed it")
        );
        let bad = read_text("ftp://host/x.log").expect_err("unreadable");
        assert!(matches!(bad, ArchiveError::Unreadable(_)), "{bad:?}");
        assert!(bad.to_string().starts_with("cannot read the archived log: "), "{bad}");
    }

    #[test]
    fn the_pod_of_an_archive_is_its_file_name_without_log() {
        assert_eq!(pod_of("s3://logs/drivers/team-a/nightly/nightly-abc-driver.log"), Some("nightly-abc-driver"));
        assert_eq!(pod_of("/var/logs/team-a/nightly/p.log"), Some("p"));
        assert_eq!(pod_of("s3://logs/drivers/other.txt"), None);
        assert_eq!(pod_of("s3://logs/.log"), None);
    }
}
