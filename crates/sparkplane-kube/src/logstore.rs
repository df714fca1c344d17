//! Where driver logs outlive their pods: `<store>/<namespace>/<job>/<pod>.log`
//! in object storage or a folder — the same kind of location event logs use.
//! The operator writes a driver's log here before it removes the pod
//! (`ttlAfterFinished`), and `sparkplane logs` reads it once the pod is gone.
//!
//! Owns: the key layout. Must not: talk to the Kubernetes API.

use sparkplane_storage::{Location, Store};

/// The key of a driver's log under the store.
pub fn key(namespace: &str, job: &str, pod: &str) -> String {
    format!("{namespace}/{job}/{pod}.log")
}

fn open(store: &str) -> Result<Store, String> {
    let location = Location::parse(store).map_err(|e| e.to_string())?;
    Store::open(&location).map_err(|e| e.to_string())
}

/// Writes a log; answers its URL.
pub fn put(store: &str, key: &str, log: String) -> Result<String, String> {
    let store = open(store)?;
    store.put(key, log.into_bytes()).map_err(|e| e.to_string())?;
    Ok(store.describe(key))
}

/// Reads an archived log (None when there is none).
pub fn get(store: &str, key: &str) -> Result<Option<String>, String> {
    let store = open(store)?;
    match store.head(key) {
        Ok(_) => {}
        Err(_) => return Ok(None),
    }
    let bytes = store.get(key).map_err(|e| e.to_string())?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}
