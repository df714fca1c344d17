//! The persisted index of `sparkplane history serve`: the listing records of
//! the `index` module kept in an embedded store on local disk (redb, ADR 0066),
//! so a restarted server answers `applications` before it lists the location
//! again, and its catch-up rereads only logs that changed meanwhile.
//!
//! Owns: the store's file (`index.redb` in the index folder) and its format
//! version, the default folder (under the user's cache folder, keyed by the
//! location), the record of one log (its key — name, size, modification time,
//! fingerprint — and what the listing keeps of it), reading every record at
//! start and writing each refresh's changes in one transaction. A store that
//! cannot be read (corrupt, another format version, another location) is set
//! aside and rebuilt from the logs with a warning; one that cannot be opened at
//! all (held by another server, a folder that cannot be written) leaves the
//! server running without persistence, with a warning. Never a crash.
//!
//! Must not: decide which logs changed (that is the `index` module, which
//! compares keys), read logs, or answer requests.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::AttemptInfo;

/// The version of the records and tables written here. A store of another
/// version is rebuilt from the logs (ADR 0066); raise it whenever
/// [`StoredEntry`], [`StoredSkip`] or the tables change meaning. Version 2:
/// a record holds the API's `AttemptInfo` whole (version 1 repeated its fields).
pub const FORMAT_VERSION: u32 = 2;

/// The store's file name inside the index folder.
pub const FILE_NAME: &str = "index.redb";

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const APPS: TableDefinition<&str, &[u8]> = TableDefinition::new("apps");
const SKIPPED: TableDefinition<&str, &[u8]> = TableDefinition::new("skipped");
const META_FORMAT: &str = "format_version";
const META_LOCATION: &str = "location";

/// What tells a changed log from an unchanged one across restarts: its name,
/// the bytes stored, the last modification and the listing's fingerprint of
/// its parts. A log whose key differs in any field is read again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogKey {
    pub name: String,
    pub size: u64,
    pub modified_ms: Option<i64>,
    pub fingerprint: u64,
}

/// One listed application as the store keeps it: its key and what
/// the index's `Entry` holds besides the log — the listing record the API
/// answers (`AttemptInfo`, as it is) and what the web page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEntry {
    pub size: u64,
    pub modified_ms: Option<i64>,
    pub fingerprint: u64,
    pub attempt: AttemptInfo,
    /// `succeeded`, `failed` or `incomplete`.
    pub outcome: String,
    pub team: Option<String>,
    pub cost_usd: f64,
    pub warnings: Vec<String>,
}

/// A log left out of the list, as the store keeps it (so it is not read again after a restart either).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSkip {
    pub fingerprint: u64,
    pub reason: String,
    pub message: String,
}

/// What one refresh changed, written in one transaction.
#[derive(Debug, Default)]
pub struct Changes {
    pub entries: Vec<(String, StoredEntry)>,
    pub skipped: Vec<(String, StoredSkip)>,
    /// Logs gone from the list and from the left-out ones.
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.skipped.is_empty() && self.removed.is_empty()
    }
}

/// What the store held at start.
#[derive(Debug, Default)]
pub struct Restored {
    pub entries: Vec<(String, StoredEntry)>,
    pub skipped: Vec<(String, StoredSkip)>,
}

/// An open store.
pub struct PersistedIndex {
    db: Database,
    path: PathBuf,
}

/// What opening the index folder gave: the store (`None` when it could not be
/// opened at all), what it held, and what the user should be told.
pub struct Opened {
    pub store: Option<PersistedIndex>,
    pub restored: Restored,
    pub warnings: Vec<String>,
}

/// The index folder used unless `--index-dir` says otherwise:
/// `$XDG_CACHE_HOME/sparkplane/history-index/<key>` (or `~/.cache/…`), where
/// `<key>` is the first 16 hex digits of the SHA-256 of the location as
/// [`sparkplane_eventlog::LogSource::describe`] writes it. `None` without a home folder.
pub fn default_dir(location: &str) -> Option<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    let digest = Sha256::digest(location.as_bytes());
    let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(cache.join("sparkplane").join("history-index").join(key))
}

/// Opens (or creates) the store in `dir` for `location` and reads every
/// record. A store that cannot be read, or was written by another format
/// version or for another location, is moved aside and rebuilt empty, with a
/// warning saying why; one that cannot be opened at all gives no store.
pub fn open(dir: &Path, location: &str) -> Opened {
    let path = dir.join(FILE_NAME);
    let mut warnings = Vec::new();
    if let Err(error) = std::fs::create_dir_all(dir) {
        warnings.push(format!(
            "cannot create the index folder {}: {error}; serving without a persisted index (a restart reads every \
             log again); give --index-dir a folder this user can write",
            dir.display()
        ));
        return Opened { store: None, restored: Restored::default(), warnings };
    }
    match read_store(&path, location) {
        Ok((db, restored)) => return Opened { store: Some(PersistedIndex { db, path }), restored, warnings },
        Err(Unusable::Busy(why)) => {
            warnings.push(format!(
                "the persisted index {} {why}; serving without it (a restart reads every log again)",
                path.display()
            ));
            return Opened { store: None, restored: Restored::default(), warnings };
        }
        Err(Unusable::Rebuild(why)) => {
            warnings.push(format!("the persisted index {} {why}; it is rebuilt from the logs", path.display()))
        }
    }
    let aside = dir.join(format!("{FILE_NAME}.unreadable"));
    let fresh = std::fs::rename(&path, &aside)
        .or_else(|_| std::fs::remove_file(&path))
        .map_err(|e| e.to_string())
        .and_then(|()| create_store(&path, location).map_err(|e| e.to_string()));
    match fresh {
        Ok(db) => Opened { store: Some(PersistedIndex { db, path }), restored: Restored::default(), warnings },
        Err(why) => {
            warnings
                .push(format!("cannot start a new persisted index at {}: {why}; serving without one", path.display()));
            Opened { store: None, restored: Restored::default(), warnings }
        }
    }
}

/// Why a store is not used as it is.
enum Unusable {
    /// Held by another process or not openable for a reason rebuilding would not fix.
    Busy(String),
    /// Corrupt, another format version or another location: rebuilt from the logs.
    Rebuild(String),
}

fn read_store(path: &Path, location: &str) -> Result<(Database, Restored), Unusable> {
    let existed = path.exists();
    // redb reports corruption as errors; a panic on a damaged file is caught too, so the server never stops on it.
    let opened = std::panic::catch_unwind(|| create(path));
    let db = match opened {
        Ok(Ok(db)) => db,
        Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
            return Err(Unusable::Busy("is in use by another server".to_owned()));
        }
        Ok(Err(redb::DatabaseError::Storage(redb::StorageError::Io(error)))) if !existed => {
            return Err(Unusable::Busy(format!("cannot be created: {error}")));
        }
        Ok(Err(error)) => return Err(Unusable::Rebuild(format!("cannot be read ({error})"))),
        Err(_) => return Err(Unusable::Rebuild("cannot be read (the store's reader failed on it)".to_owned())),
    };
    if !existed {
        init(&db, location).map_err(|e| Unusable::Busy(format!("cannot be written: {e}")))?;
        return Ok((db, Restored::default()));
    }
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_all(&db, location)));
    match read {
        Ok(Ok(restored)) => Ok((db, restored)),
        Ok(Err(why)) => Err(Unusable::Rebuild(why)),
        Err(_) => Err(Unusable::Rebuild("cannot be read (the store's reader failed on it)".to_owned())),
    }
}

/// redb's page cache: the records are read once at start and a refresh writes
/// a few, so a cache beyond a few MiB would only hold pages never read again
/// (its default, 1 GiB, showed as hundreds of MiB of RSS at 100,000 records).
const CACHE_BYTES: usize = 4 << 20;

/// Opens or creates the file with [`CACHE_BYTES`] of cache.
fn create(path: &Path) -> Result<Database, redb::DatabaseError> {
    Database::builder().set_cache_size(CACHE_BYTES).create(path)
}

fn create_store(path: &Path, location: &str) -> Result<Database, redb::Error> {
    let db = create(path)?;
    init(&db, location)?;
    Ok(db)
}

fn init(db: &Database, location: &str) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert(META_FORMAT, FORMAT_VERSION.to_string().as_bytes())?;
        meta.insert(META_LOCATION, location.as_bytes())?;
        txn.open_table(APPS)?;
        txn.open_table(SKIPPED)?;
    }
    txn.commit()?;
    Ok(())
}

/// Every record, or why the store is not this format's or this location's (or cannot be read).
fn read_all(db: &Database, location: &str) -> Result<Restored, String> {
    let unreadable = |e: redb::Error| format!("cannot be read ({e})");
    let txn = db.begin_read().map_err(|e| unreadable(e.into()))?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Err("holds no format version".to_owned()),
        Err(e) => return Err(unreadable(e.into())),
    };
    let text = |key: &str| -> Result<Option<String>, String> {
        let value = meta.get(key).map_err(|e| unreadable(e.into()))?;
        Ok(value.map(|v| String::from_utf8_lossy(v.value()).into_owned()))
    };
    let version = text(META_FORMAT)?.unwrap_or_default();
    if version != FORMAT_VERSION.to_string() {
        return Err(format!(
            "was written in format version {version:?}, this sparkplane reads version {FORMAT_VERSION}"
        ));
    }
    let stored_location = text(META_LOCATION)?.unwrap_or_default();
    if stored_location != location {
        return Err(format!("indexes {stored_location}, not {location}"));
    }
    let entries = records(&txn, APPS)?;
    let skipped = records(&txn, SKIPPED)?;
    Ok(Restored { entries, skipped })
}

fn records<T: for<'de> Deserialize<'de>>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<&str, &[u8]>,
) -> Result<Vec<(String, T)>, String> {
    let unreadable = |e: redb::Error| format!("cannot be read ({e})");
    let table = txn.open_table(table).map_err(|e| unreadable(e.into()))?;
    let mut out = Vec::with_capacity(usize::try_from(table.len().unwrap_or(0)).unwrap_or(0));
    for row in table.iter().map_err(|e| unreadable(e.into()))? {
        let (name, value) = row.map_err(|e| unreadable(e.into()))?;
        let record = serde_json::from_slice(value.value())
            .map_err(|e| format!("holds a record for {} that cannot be read ({e})", name.value()))?;
        out.push((name.value().to_owned(), record));
    }
    Ok(out)
}

impl PersistedIndex {
    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one refresh's changes in one transaction (all or nothing).
    pub fn apply(&self, changes: &Changes) -> Result<(), String> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(changes).map_err(|e| format!("cannot write the persisted index {}: {e}", self.path.display()))
    }

    fn write(&self, changes: &Changes) -> Result<(), redb::Error> {
        let txn = self.db.begin_write()?;
        {
            let mut apps = txn.open_table(APPS)?;
            let mut skipped = txn.open_table(SKIPPED)?;
            for name in &changes.removed {
                apps.remove(name.as_str())?;
                skipped.remove(name.as_str())?;
            }
            for (name, entry) in &changes.entries {
                let value = serde_json::to_vec(entry).unwrap_or_default();
                skipped.remove(name.as_str())?;
                apps.insert(name.as_str(), value.as_slice())?;
            }
            for (name, skip) in &changes.skipped {
                let value = serde_json::to_vec(skip).unwrap_or_default();
                apps.remove(name.as_str())?;
                skipped.insert(name.as_str(), value.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(app: &str) -> StoredEntry {
        StoredEntry {
            size: 10,
            modified_ms: Some(5),
            fingerprint: 7,
            attempt: AttemptInfo {
                app_id: app.to_owned(),
                attempt_id: None,
                name: "n".to_owned(),
                start_ms: 1,
                end_ms: 2,
                last_updated_ms: 5,
                user: "u".to_owned(),
                completed: true,
                spark_version: "4.1.0".to_owned(),
            },
            outcome: "succeeded".to_owned(),
            team: Some("t".to_owned()),
            cost_usd: 0.5,
            warnings: vec![],
        }
    }

    #[test]
    fn changes_written_are_what_the_next_open_restores() {
        let dir = tempfile::tempdir().expect("temp dir");
        let opened = open(dir.path(), "/logs");
        assert!(opened.warnings.is_empty(), "{:?}", opened.warnings);
        let store = opened.store.expect("a store");
        let skip = StoredSkip { fingerprint: 3, reason: "unreadable".to_owned(), message: "m".to_owned() };
        let first = Changes {
            entries: vec![("/logs/a".to_owned(), entry("a")), ("/logs/b".to_owned(), entry("b"))],
            skipped: vec![("/logs/c".to_owned(), skip.clone())],
            removed: vec![],
        };
        store.apply(&first).expect("written");
        let second = Changes { removed: vec!["/logs/a".to_owned()], ..Changes::default() };
        store.apply(&second).expect("written");
        drop(store);
        let again = open(dir.path(), "/logs");
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        assert_eq!(again.restored.entries, vec![("/logs/b".to_owned(), entry("b"))]);
        assert_eq!(again.restored.skipped, vec![("/logs/c".to_owned(), skip)]);
    }

    #[test]
    fn a_store_of_another_location_is_rebuilt_with_a_warning_and_one_in_use_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), "/logs").store.expect("a store");
        store.apply(&Changes { entries: vec![("/logs/a".to_owned(), entry("a"))], ..Changes::default() }).expect("w");
        let busy = open(dir.path(), "/logs");
        assert!(busy.store.is_none() && busy.restored.entries.is_empty());
        let file = dir.path().join(FILE_NAME).display().to_string();
        assert_eq!(
            busy.warnings,
            [format!(
                "the persisted index {file} is in use by another server; serving without it (a restart reads every log \
                 again)"
            )]
        );
        drop(store);
        let other = open(dir.path(), "/elsewhere");
        assert_eq!(
            other.warnings,
            [format!("the persisted index {file} indexes /logs, not /elsewhere; it is rebuilt from the logs")]
        );
        assert!(other.store.is_some() && other.restored.entries.is_empty());
    }

    #[test]
    fn the_default_folder_is_under_the_cache_folder_keyed_by_the_location() {
        let dir = default_dir("s3://bucket/spark-events").expect("a home");
        let key = dir.file_name().expect("a key").to_string_lossy().into_owned();
        assert_eq!(key.len(), 16);
        assert!(dir.parent().expect("parent").ends_with("sparkplane/history-index"), "{}", dir.display());
        assert_ne!(default_dir("s3://bucket/other"), Some(dir.clone()));
        assert_eq!(default_dir("s3://bucket/spark-events"), Some(dir));
    }
}
