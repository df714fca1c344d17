//! Where a backup's parts live under its target. Pure.
//!
//! ```text
//! <target>/<backup>/runs/<id>/metastore.dump    pg_dump --format=custom
//! <target>/<backup>/runs/<id>/manifest.json     written last: a run without it is incomplete
//! <target>/<backup>/blobs/sha256/<hex>          object copies, by content (shared by runs)
//! <target>/<backup>/incoming/<id>/<n>           an object while it is copied and hashed
//! ```
//!
//! Object copies are stored by content, so a run reuses what earlier runs
//! copied, an object changed at its source never overwrites what an older
//! manifest points at, and retention removes a copy only when no kept
//! manifest refers to it.

/// Run ids are UTC times to the second, so they sort as they happened.
pub fn run_id(now: jiff::Timestamp) -> String {
    now.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The folder of all runs of `backup`.
pub fn runs(backup: &str) -> String {
    format!("{backup}/runs")
}

/// The metastore dump of one run.
pub fn dump(backup: &str, id: &str) -> String {
    format!("{backup}/runs/{id}/metastore.dump")
}

/// The manifest of one run.
pub fn manifest(backup: &str, id: &str) -> String {
    format!("{backup}/runs/{id}/manifest.json")
}

/// The folder of content-addressed object copies.
pub fn blobs(backup: &str) -> String {
    format!("{backup}/blobs/sha256")
}

/// One object copy, by its SHA-256.
pub fn blob(backup: &str, sha256: &str) -> String {
    format!("{backup}/blobs/sha256/{sha256}")
}

/// Where an object is written while it is copied and hashed.
pub fn incoming(backup: &str, id: &str, n: usize) -> String {
    format!("{backup}/incoming/{id}/{n}")
}

/// The run id and file name of a key below [`runs`] (`<id>/manifest.json` → (`<id>`, `manifest.json`)).
pub fn split_run_key(relative: &str) -> Option<(&str, &str)> {
    relative.split_once('/')
}
