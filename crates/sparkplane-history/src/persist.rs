//! The persisted index of `sparkplane history serve`: the listing records of
//! the `index` module kept in an embedded store on local disk (redb, ADR 0066),
//! so a restarted server answers `applications` before it lists the location
//! again, and its catch-up rereads only logs that changed meanwhile.
//!
//! Owns: the store's file (`index.redb` in the index folder) and its format
//! version, the default folder (under the user's cache folder, keyed by the
//! location), the record of one log (its key — name, size, modification time,
//! fingerprint — and what the listing keeps of it, its application's access
//! facts included: a restarted server shows each team its applications before
//! it reads a log again), reading every record at
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
use sparkplane_access::AppFacts;
use sparkplane_access::app::Acl;
use sparkplane_eventlog::Outcome;

/// The version of the records and tables written here. A store of another
/// version is rebuilt from the logs (ADR 0066); raise it whenever
/// [`StoredEntry`]'s encoding, [`StoredSkip`] or the tables change meaning.
/// Version 2: a record held the API's `AttemptInfo` whole, as JSON (version 1
/// repeated its fields). Version 3: a record is [`StoredEntry::encode`]'s
/// compact binary layout, read without a copy of its texts (ADR 0066, third addendum).
/// Version 4: a record ends with its application's access facts ([`encode_facts`], ADR 0090):
/// a store of version 3 holds none, so it is rebuilt rather than restored with every application hidden.
/// Version 5: a local run's facts name the namespace it recorded (`spark.sparkplane.namespace`), which
/// version 4 left out; rebuilt so a job's link (`/jobs/<namespace>/<job>/`) finds its earlier runs.
/// Version 6: a record holds the driver's exit code (Spark 4.3's `exitCode`), which version 5 did not read.
pub const FORMAT_VERSION: u32 = 6;

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

/// One listed application as the store keeps it: its key (but the name,
/// which is the row's key) and what the index's `Entry` holds besides the log —
/// the listing record the API answers and what the web page shows. Its texts
/// are borrowed: from a record being written, or from the store's page being
/// read ([`StoredEntry::decode`]), so a restart copies each text once, into
/// the index's own record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry<'a> {
    pub size: u64,
    pub modified_ms: Option<i64>,
    pub fingerprint: u64,
    pub app_id: &'a str,
    pub attempt_id: Option<&'a str>,
    pub name: &'a str,
    pub start_ms: i64,
    pub end_ms: i64,
    pub last_updated_ms: i64,
    pub user: &'a str,
    pub completed: bool,
    pub spark_version: &'a str,
    /// The driver's exit code from the application's end event.
    pub exit_code: Option<i32>,
    pub outcome: Outcome,
    pub team: Option<&'a str>,
    pub cost_usd: f64,
    pub warnings: Vec<&'a str>,
    /// What the access decision reads of the application, as [`encode_facts`] writes it.
    pub facts: &'a [u8],
}

const COMPLETED: u8 = 1;
const HAS_ATTEMPT: u8 = 2;
const HAS_TEAM: u8 = 4;
const HAS_MODIFIED: u8 = 8;
const HAS_EXIT: u8 = 16;
/// Bytes before the texts: size, modification time, fingerprint, start, end,
/// last update, cost (8 each), the exit code (4), flags and outcome (1 each).
const FIXED: usize = 7 * 8 + 4 + 2;

impl<'a> StoredEntry<'a> {
    /// The record's bytes, little-endian: the size, modification time (0 when
    /// unknown), fingerprint, start, end and last update as 8-byte integers and
    /// the cost as an 8-byte float; the exit code as a 4-byte integer (0 when
    /// none); one byte of flags (completed, has an attempt id, has a team, has
    /// a modification time, has an exit code) and one of outcome
    /// (0 succeeded, 1 failed, 2 incomplete); then the application id, attempt
    /// id, name, user, Spark version and team, each a 4-byte length and its
    /// UTF-8 bytes (an absent one empty); then the count of warnings (4 bytes)
    /// and each as a text; then the access facts' bytes, as a text is (a
    /// 4-byte length first). Appended to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        for (set, flag) in [
            (self.completed, COMPLETED),
            (self.attempt_id.is_some(), HAS_ATTEMPT),
            (self.team.is_some(), HAS_TEAM),
            (self.modified_ms.is_some(), HAS_MODIFIED),
            (self.exit_code.is_some(), HAS_EXIT),
        ] {
            if set {
                flags |= flag;
            }
        }
        let outcome = match self.outcome {
            Outcome::Succeeded => 0,
            Outcome::Failed => 1,
            Outcome::Incomplete => 2,
        };
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.modified_ms.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        for number in [self.start_ms, self.end_ms, self.last_updated_ms] {
            out.extend_from_slice(&number.to_le_bytes());
        }
        out.extend_from_slice(&self.cost_usd.to_bits().to_le_bytes());
        out.extend_from_slice(&self.exit_code.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&[flags, outcome]);
        let texts = [
            self.app_id,
            self.attempt_id.unwrap_or_default(),
            self.name,
            self.user,
            self.spark_version,
            self.team.unwrap_or_default(),
        ];
        for text in texts {
            put_text(out, text);
        }
        out.extend_from_slice(&u32::try_from(self.warnings.len()).unwrap_or(u32::MAX).to_le_bytes());
        for warning in &self.warnings {
            put_text(out, warning);
        }
        put_bytes(out, self.facts);
    }

    /// A record [`StoredEntry::encode`] wrote, its texts borrowed from `bytes`;
    /// what is wrong when `bytes` is not one (cut short, bytes left over, an
    /// unknown outcome, a text that is not UTF-8, access facts that are not [`encode_facts`]'s).
    pub fn decode(bytes: &'a [u8]) -> Result<StoredEntry<'a>, String> {
        let mut at = Reader { bytes, at: 0 };
        let fixed = at.take(FIXED)?;
        let word = |i: usize| {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(&fixed[i * 8..i * 8 + 8]);
            eight
        };
        let (flags, outcome) = (fixed[FIXED - 2], fixed[FIXED - 1]);
        let outcome = match outcome {
            0 => Outcome::Succeeded,
            1 => Outcome::Failed,
            2 => Outcome::Incomplete,
            other => return Err(format!("an unknown outcome {other}")),
        };
        let app_id = at.text()?;
        let attempt_id = at.text()?;
        let name = at.text()?;
        let user = at.text()?;
        let spark_version = at.text()?;
        let team = at.text()?;
        let count = at.number()?;
        let mut warnings = Vec::new();
        for _ in 0..count {
            warnings.push(at.text()?);
        }
        let facts = at.bytes()?;
        fact_texts(facts).map_err(|e| format!("access facts {e}"))?;
        if at.at != bytes.len() {
            return Err(format!("{} bytes after the record", bytes.len() - at.at));
        }
        Ok(StoredEntry {
            size: u64::from_le_bytes(word(0)),
            modified_ms: (flags & HAS_MODIFIED != 0).then(|| i64::from_le_bytes(word(1))),
            fingerprint: u64::from_le_bytes(word(2)),
            app_id,
            attempt_id: (flags & HAS_ATTEMPT != 0).then_some(attempt_id),
            name,
            start_ms: i64::from_le_bytes(word(3)),
            end_ms: i64::from_le_bytes(word(4)),
            last_updated_ms: i64::from_le_bytes(word(5)),
            user,
            completed: flags & COMPLETED != 0,
            spark_version,
            exit_code: (flags & HAS_EXIT != 0).then(|| {
                let mut four = [0u8; 4];
                four.copy_from_slice(&fixed[7 * 8..7 * 8 + 4]);
                i32::from_le_bytes(four)
            }),
            outcome,
            team: (flags & HAS_TEAM != 0).then_some(team),
            cost_usd: f64::from_bits(u64::from_le_bytes(word(6))),
            warnings,
            facts,
        })
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_bytes(out, text.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// An application's access facts (ADR 0090) as a record keeps them: its
/// team, namespace and owner, then its view, modify and admin ACLs' users and
/// groups, each list joined by commas as Spark writes it (an entry holds none),
/// each a text as [`StoredEntry::encode`] writes one, an absent one empty.
/// Equal facts are equal bytes: the index shares them by these.
pub fn encode_facts(facts: &AppFacts) -> Vec<u8> {
    let AppFacts { team, namespace, owner, view, modify, admin } = facts;
    let mut out = Vec::new();
    for one in [team, namespace, owner] {
        put_text(&mut out, one.as_deref().unwrap_or_default());
    }
    for list in [&view.users, &view.groups, &modify.users, &modify.groups, &admin.users, &admin.groups] {
        put_text(&mut out, &list.iter().map(String::as_str).collect::<Vec<_>>().join(","));
    }
    out
}

/// The facts [`encode_facts`] wrote; what is wrong when `bytes` are not theirs.
pub fn decode_facts(bytes: &[u8]) -> Result<AppFacts, String> {
    let [team, namespace, owner, view_users, view_groups, modify_users, modify_groups, admin_users, admin_groups] =
        fact_texts(bytes)?;
    let one = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let list = |text: &str| text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let acl = |users, groups| Acl { users: list(users), groups: list(groups) };
    Ok(AppFacts {
        team: one(team),
        namespace: one(namespace),
        owner: one(owner),
        view: acl(view_users, view_groups),
        modify: acl(modify_users, modify_groups),
        admin: acl(admin_users, admin_groups),
    })
}

/// The nine texts of [`encode_facts`], borrowed.
fn fact_texts(bytes: &[u8]) -> Result<[&str; 9], String> {
    let mut at = Reader { bytes, at: 0 };
    let mut texts = [""; 9];
    for text in &mut texts {
        *text = at.text()?;
    }
    match bytes.len() - at.at {
        0 => Ok(texts),
        left => Err(format!("with {left} bytes after them")),
    }
}

/// Reads a record's bytes in order; every read is bounded by what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| format!("cut short at byte {} of {}", self.at, self.bytes.len()))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn number(&mut self) -> Result<usize, String> {
        let mut four = [0u8; 4];
        four.copy_from_slice(self.take(4)?);
        usize::try_from(u32::from_le_bytes(four)).map_err(|e| e.to_string())
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.number()?;
        self.take(len)
    }

    fn text(&mut self) -> Result<&'a str, String> {
        let at = self.at + 4;
        std::str::from_utf8(self.bytes()?).map_err(|e| format!("a text at byte {at} that is not UTF-8 ({e})"))
    }
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
    /// Records to write, encoded (more can come from [`PersistedIndex::apply`]'s `more`).
    pub entries: Chunk,
    pub skipped: Vec<(String, StoredSkip)>,
    /// Logs gone from the list and from the left-out ones.
    pub removed: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.skipped.is_empty() && self.removed.is_empty()
    }
}

/// Records to write, each a log's name and its [`StoredEntry::encode`]d
/// bytes, kept in one buffer: a first listing of 100,000 logs hands them to
/// the store a chunk at a time rather than as 100,000 copies.
#[derive(Debug, Default)]
pub struct Chunk {
    bytes: Vec<u8>,
    /// Where each row's name starts, its value starts, and the row ends in `bytes`.
    rows: Vec<(usize, usize, usize)>,
}

impl Chunk {
    /// Adds one log's record, encoded.
    pub fn put(&mut self, name: &str, entry: &StoredEntry<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name.as_bytes());
        let value = self.bytes.len();
        entry.encode(&mut self.bytes);
        self.rows.push((start, value, self.bytes.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }

    /// Each row's name and value.
    fn rows(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.rows.iter().map(|&(start, value, end)| {
            // The name was put as a `&str`: its bytes are UTF-8.
            (std::str::from_utf8(&self.bytes[start..value]).unwrap_or_default(), &self.bytes[value..end])
        })
    }
}

/// What the store held at start: each record as the caller made it from the
/// stored one ([`open`]'s `restore`), and the logs left out.
#[derive(Debug)]
pub struct Restored<T> {
    pub entries: Vec<T>,
    pub skipped: Vec<(String, StoredSkip)>,
}

impl<T> Default for Restored<T> {
    fn default() -> Self {
        Restored { entries: Vec::new(), skipped: Vec::new() }
    }
}

/// An open store.
pub struct PersistedIndex {
    db: Database,
    path: PathBuf,
}

/// What opening the index folder gave: the store (`None` when it could not be
/// opened at all), what it held, and what the user should be told.
pub struct Opened<T> {
    pub store: Option<PersistedIndex>,
    pub restored: Restored<T>,
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
/// record, each handed to `restore` with its log's name as it is read (its
/// texts borrowed from the store's page; `None` leaves it out). A store that
/// cannot be read, or was written by another format version or for another
/// location, is moved aside and rebuilt empty, with a warning saying why (what
/// `restore` made of it is dropped); one that cannot be opened at all gives no store.
pub fn open<T>(dir: &Path, location: &str, restore: impl FnMut(&str, StoredEntry<'_>) -> Option<T>) -> Opened<T> {
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
    match read_store(&path, location, restore) {
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

fn read_store<T>(
    path: &Path,
    location: &str,
    restore: impl FnMut(&str, StoredEntry<'_>) -> Option<T>,
) -> Result<(Database, Restored<T>), Unusable> {
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
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_all(&db, location, restore)));
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
fn read_all<T>(
    db: &Database,
    location: &str,
    mut restore: impl FnMut(&str, StoredEntry<'_>) -> Option<T>,
) -> Result<Restored<T>, String> {
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
    let apps = txn.open_table(APPS).map_err(|e| unreadable(e.into()))?;
    let mut entries = Vec::with_capacity(usize::try_from(apps.len().unwrap_or(0)).unwrap_or(0));
    for row in apps.iter().map_err(|e| unreadable(e.into()))? {
        let (name, value) = row.map_err(|e| unreadable(e.into()))?;
        let stored = StoredEntry::decode(value.value())
            .map_err(|e| format!("holds a record for {} that cannot be read ({e})", name.value()))?;
        entries.extend(restore(name.value(), stored));
    }
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

    /// Writes one refresh's changes in one transaction (all or nothing):
    /// `changes`, then the records `more` puts into a chunk each time it is
    /// called (a chunk is written before the next is asked for, so what is
    /// held at once is one chunk), until it returns false. Nothing is written
    /// (no transaction) when `changes` is empty and `more`'s first chunk is
    /// empty and the last.
    pub fn apply(&self, changes: &Changes, mut more: impl FnMut(&mut Chunk) -> bool) -> Result<(), String> {
        let mut chunk = Chunk::default();
        let more_left = more(&mut chunk);
        if changes.is_empty() && chunk.is_empty() && !more_left {
            return Ok(());
        }
        self.write(changes, chunk, more_left, more)
            .map_err(|e| format!("cannot write the persisted index {}: {e}", self.path.display()))
    }

    fn write(
        &self,
        changes: &Changes,
        mut chunk: Chunk,
        mut more_left: bool,
        mut more: impl FnMut(&mut Chunk) -> bool,
    ) -> Result<(), redb::Error> {
        let txn = self.db.begin_write()?;
        {
            let mut apps = txn.open_table(APPS)?;
            let mut skipped = txn.open_table(SKIPPED)?;
            for name in &changes.removed {
                apps.remove(name.as_str())?;
                skipped.remove(name.as_str())?;
            }
            let mut put = |rows: &Chunk| -> Result<(), redb::Error> {
                for (name, value) in rows.rows() {
                    skipped.remove(name)?;
                    apps.insert(name, value)?;
                }
                Ok(())
            };
            put(&changes.entries)?;
            loop {
                put(&chunk)?;
                if !more_left {
                    break;
                }
                chunk.clear();
                more_left = more(&mut chunk);
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

    /// [`encode_facts`] of no facts: nine empty texts.
    const NO_FACTS: &[u8] = &[0; 36];

    fn entry(app: &'static str) -> StoredEntry<'static> {
        StoredEntry {
            size: 10,
            modified_ms: Some(5),
            fingerprint: 7,
            app_id: app,
            attempt_id: None,
            name: "n",
            start_ms: 1,
            end_ms: 2,
            last_updated_ms: 5,
            user: "u",
            completed: true,
            spark_version: "4.1.0",
            exit_code: Some(0),
            outcome: Outcome::Succeeded,
            team: Some("t"),
            cost_usd: 0.5,
            warnings: vec![],
            facts: NO_FACTS,
        }
    }

    /// Opens the store, each record restored as its name and its bytes encoded again.
    fn reopen(dir: &Path, location: &str) -> Opened<(String, Vec<u8>)> {
        open(dir, location, |name, stored| {
            let mut bytes = Vec::new();
            stored.encode(&mut bytes);
            Some((name.to_owned(), bytes))
        })
    }

    fn encoded(entry: &StoredEntry<'_>) -> Vec<u8> {
        let mut bytes = Vec::new();
        entry.encode(&mut bytes);
        bytes
    }

    #[test]
    fn changes_written_are_what_the_next_open_restores() {
        let dir = tempfile::tempdir().expect("temp dir");
        let opened = reopen(dir.path(), "/logs");
        assert!(opened.warnings.is_empty(), "{:?}", opened.warnings);
        let store = opened.store.expect("a store");
        let skip = StoredSkip { fingerprint: 3, reason: "unreadable".to_owned(), message: "m".to_owned() };
        let mut first = Changes { skipped: vec![("/logs/c".to_owned(), skip.clone())], ..Changes::default() };
        first.entries.put("/logs/a", &entry("a"));
        // The rest a chunk at a time: one more record, then an empty chunk, then the last.
        let mut chunks = vec![vec![("/logs/b", entry("b"))], vec![], vec![("/logs/d", entry("d"))]].into_iter();
        store
            .apply(&first, |chunk| {
                for (name, entry) in chunks.next().into_iter().flatten() {
                    chunk.put(name, &entry);
                }
                chunks.len() > 0
            })
            .expect("written");
        let second = Changes { removed: vec!["/logs/a".to_owned()], ..Changes::default() };
        store.apply(&second, |_| false).expect("written");
        drop(store);
        let again = reopen(dir.path(), "/logs");
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        assert_eq!(
            again.restored.entries,
            vec![("/logs/b".to_owned(), encoded(&entry("b"))), ("/logs/d".to_owned(), encoded(&entry("d")))]
        );
        assert_eq!(again.restored.skipped, vec![("/logs/c".to_owned(), skip)]);
    }

    #[test]
    fn a_record_decodes_to_what_was_encoded_and_bad_bytes_say_what_is_wrong() {
        let full = StoredEntry {
            modified_ms: None,
            attempt_id: Some("2"),
            team: None,
            user: "ü",
            outcome: Outcome::Incomplete,
            completed: false,
            end_ms: -1,
            cost_usd: f64::MAX,
            warnings: vec!["line 3 cut off", ""],
            exit_code: None,
            ..entry("app-1")
        };
        let failed = StoredEntry { exit_code: Some(-143), outcome: Outcome::Failed, ..entry("app-2") };
        for one in [entry("a"), full, failed, StoredEntry { attempt_id: Some(""), team: Some(""), ..entry("") }] {
            let bytes = encoded(&one);
            assert_eq!(StoredEntry::decode(&bytes), Ok(one.clone()));
        }
        let bytes = encoded(&entry("app-1"));
        assert_eq!(StoredEntry::decode(&bytes[..10]), Err("cut short at byte 0 of 10".to_owned()));
        // Cut in the last field, the access facts' bytes, which start `NO_FACTS.len()` before the end.
        let cut = bytes.len() - 3;
        let facts_start = bytes.len() - NO_FACTS.len();
        assert_eq!(StoredEntry::decode(&bytes[..cut]), Err(format!("cut short at byte {facts_start} of {cut}")));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(StoredEntry::decode(&longer), Err("1 bytes after the record".to_owned()));
        let mut outcome = bytes.clone();
        outcome[FIXED - 1] = 9;
        assert_eq!(StoredEntry::decode(&outcome), Err("an unknown outcome 9".to_owned()));
        let mut text = bytes.clone();
        text[FIXED + 4] = 0xff;
        let why = StoredEntry::decode(&text).expect_err("not UTF-8");
        assert!(why.starts_with(&format!("a text at byte {} that is not UTF-8", FIXED + 4)), "{why}");
        // A length past the end is bounded by the bytes there are.
        let mut huge = bytes;
        huge[FIXED..FIXED + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(StoredEntry::decode(&huge), Err(format!("cut short at byte {} of {}", FIXED + 4, huge.len())));
    }

    #[test]
    fn access_facts_decode_to_what_was_encoded_and_bad_ones_make_the_record_unreadable() {
        assert_eq!(encode_facts(&AppFacts::default()), NO_FACTS);
        let properties = [
            ("spark.kubernetes.driver.label.sparkplane.dev/team", "team-a"),
            ("spark.kubernetes.namespace", "ns-a"),
            ("spark.ui.view.acls", "vic, ü"),
            ("spark.ui.view.acls.groups", "auditors"),
            ("spark.modify.acls", "*"),
            ("spark.admin.acls.groups", "sre,ops"),
        ];
        let full = AppFacts::from_properties(Some("ann"), Some("team-a"), properties);
        for facts in [AppFacts::default(), full.clone()] {
            assert_eq!(decode_facts(&encode_facts(&facts)), Ok(facts));
        }
        let bytes = encode_facts(&full);
        let record = StoredEntry { facts: &bytes, ..entry("a") };
        assert_eq!(StoredEntry::decode(&encoded(&record)), Ok(record.clone()));
        // Cut in the last text ("ops,sre"), whose 7 bytes start 6 before the cut's end.
        let cut = &bytes[..bytes.len() - 1];
        assert_eq!(
            StoredEntry::decode(&encoded(&StoredEntry { facts: cut, ..entry("a") })),
            Err(format!("access facts cut short at byte {} of {}", cut.len() - 6, cut.len()))
        );
        let longer = [bytes.as_slice(), &[0]].concat();
        assert_eq!(decode_facts(&longer), Err("with 1 bytes after them".to_owned()));
    }

    #[test]
    fn a_store_of_another_location_is_rebuilt_with_a_warning_and_one_in_use_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = reopen(dir.path(), "/logs").store.expect("a store");
        let mut changes = Changes::default();
        changes.entries.put("/logs/a", &entry("a"));
        store.apply(&changes, |_| false).expect("w");
        let busy = reopen(dir.path(), "/logs");
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
        let other = reopen(dir.path(), "/elsewhere");
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
