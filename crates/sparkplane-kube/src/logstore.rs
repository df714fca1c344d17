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

#[cfg(test)]
mod tests {
    use super::{get, key, pod_of, put, read};

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
    }

    #[test]
    fn the_pod_of_an_archive_is_its_file_name_without_log() {
        assert_eq!(pod_of("s3://logs/drivers/team-a/nightly/nightly-abc-driver.log"), Some("nightly-abc-driver"));
        assert_eq!(pod_of("/var/logs/team-a/nightly/p.log"), Some("p"));
        assert_eq!(pod_of("s3://logs/drivers/other.txt"), None);
        assert_eq!(pod_of("s3://logs/.log"), None);
    }
}
