//! Where event logs come from: a local path or an object-store location
//! (`s3://bucket/prefix`, `s3a://…`, `gs://…`, `az://…`), and the application
//! logs found there.
//!
//! Owns: opening a location ([`LogSource`]), finding one application's log at
//! it ([`LogSource::event_log`]), listing the application logs under it with the
//! size, modification time and fingerprint that tell a changed log from an
//! unchanged one — in this process or in a later one reading a persisted
//! index ([`LogSource::app_logs`], [`AppLog`]) —, and summarising many logs on
//! all cores ([`summarize_logs`], [`summarize_dir`] for a local directory), or
//! doing any other work over them there ([`on_all_cores`], as
//! `sparkplane-analysis`'s fleet records do). The threads are the one work queue's
//! (`sparkplane_workqueue`); this module says what each does.
//!
//! Must not: decide layouts itself — the rules (single files, rolling
//! directories, status markers, codecs from extensions) live in [`crate::read`]
//! and apply to local and object-store listings alike —, download whole objects
//! (parts are streamed in ranged requests), or put a credential in a message.
//! Local paths keep their `std::fs` fast path; only remote locations go through
//! [`sparkplane_storage::Store`].

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};
use sparkplane_storage::{Entry, Location, Store};
use sparkplane_workqueue::WorkQueue;

use crate::model::{AppSummary, Warning};
use crate::read::{self, EventLog, ListedFile, ROLLING_DIR_PREFIX, ReadError, RemoteObject};

/// Where event logs are read from.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// A local file or directory, read with `std::fs`.
    Local(PathBuf),
    /// A prefix or object in object storage; credentials and endpoint came from
    /// the environment (or explicit options) when it was opened.
    Remote(Store),
}

impl LogSource {
    /// Parses what the user typed (a path, `file://`, `s3://`, `s3a://`, `gs://`,
    /// `az://`, `abfss://`) and opens it with credentials from the environment.
    pub fn parse(text: &str) -> Result<LogSource, ReadError> {
        LogSource::open(&Location::parse(text)?)
    }

    /// Opens a location with credentials from the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …).
    pub fn open(location: &Location) -> Result<LogSource, ReadError> {
        LogSource::open_with(location, &[])
    }

    /// Opens a location with object_store settings on top of the environment's
    /// (`("aws_endpoint", "http://127.0.0.1:8333")`, …). Nothing is requested yet.
    pub fn open_with(location: &Location, options: &[(&str, &str)]) -> Result<LogSource, ReadError> {
        Ok(match location {
            Location::Local(path) => LogSource::Local(path.clone()),
            Location::Remote { .. } => LogSource::Remote(Store::open_with(location, options)?),
        })
    }

    /// The location as the user reads it: the path, or the normalised URL (`s3a://` shown as `s3://`).
    pub fn describe(&self) -> String {
        match self {
            LogSource::Local(path) => path.display().to_string(),
            LogSource::Remote(store) => store.location().to_string(),
        }
    }

    /// The location as a URI, as Spark's History Server names a log directory
    /// (`file:///abs/path` for a local folder, made absolute against the
    /// working directory; the object-storage URL as [`LogSource::describe`] gives it).
    pub fn uri(&self) -> String {
        match self {
            LogSource::Local(path) => {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                format!("file://{}", path.display())
            }
            LogSource::Remote(store) => store.location().to_string(),
        }
    }

    /// True for object storage.
    pub fn is_remote(&self) -> bool {
        matches!(self, LogSource::Remote(_))
    }

    /// The one application's log at this location: a single log file (object) or
    /// a rolling `eventlog_v2_*` directory (prefix).
    pub fn event_log(&self) -> Result<EventLog, ReadError> {
        match self {
            LogSource::Local(path) => EventLog::open(path),
            LogSource::Remote(store) => {
                let entries = store.list()?;
                if let [only] = entries.as_slice()
                    && only.key.is_empty()
                {
                    return Ok(read::single_file_log(listed(store, only)));
                }
                let direct = entries.iter().filter(|e| !e.key.contains('/')).map(|e| listed(store, e)).collect();
                read::rolling_log(Path::new(&store.location().to_string()), direct)
            }
        }
    }

    /// The application logs at this location, in name order: every log in a
    /// directory of many (`spark.eventLog.dir`), or the one log when the location
    /// is a log file or an `eventlog_v2_*` directory itself.
    ///
    /// Fails when the location cannot be listed: missing (`Invalid`) or, for
    /// object storage, unreachable or denied (`Unreachable`; see
    /// [`ReadError::category`]).
    pub fn app_logs(&self) -> Result<Vec<AppLog>, ReadError> {
        match self {
            LogSource::Local(path) => local_app_logs(path),
            LogSource::Remote(store) => remote_app_logs(store),
        }
    }
}

/// One application's log found by [`LogSource::app_logs`], not read yet.
#[derive(Debug, Clone)]
pub struct AppLog {
    /// Its local path or URL, which names it in messages and keys it between scans.
    pub name: String,
    /// Bytes stored: the file's size, or the sum over a rolling directory's files.
    pub size: u64,
    /// Last modification in epoch milliseconds: the file's, or the latest of a
    /// rolling directory and its files (a finished application's renamed status
    /// marker moves it). `None` when the filesystem does not say.
    pub modified_ms: Option<i64>,
    /// A hash of every file's name, size, modification time and (object
    /// storage) ETag: changes when a file is added, grows, is renamed (Spark
    /// renames `appstatus_*.inprogress` when the application ends) or is
    /// rewritten to the same size within the store's one-second clock (its
    /// ETag changes). The same files give the same value in every process
    /// and build (SHA-256 over a fixed encoding, see [`log_fingerprint`]), so
    /// an index persisted by one run can be compared by the next.
    pub fingerprint: u64,
    place: Place,
}

/// How to open an [`AppLog`]: small, as a listing of many logs holds one each.
#[derive(Debug, Clone)]
enum Place {
    /// A local file or rolling directory: its path, or `None` when the log's
    /// name is its path (every path that is valid UTF-8).
    Local(Option<PathBuf>),
    /// As `Local`, a log the listing found to be one file: opened without
    /// looking at its metadata again.
    LocalFile(Option<PathBuf>),
    /// One object.
    RemoteFile(Box<ListedFile>),
    /// A rolling directory's prefix (its URL) and the objects directly in it.
    RemoteRolling(Box<(PathBuf, Vec<ListedFile>)>),
}

impl AppLog {
    /// Its local path's bytes, by which a folder's logs are sorted (its
    /// name's, unless the path is not UTF-8); its name's for a remote log.
    fn path_bytes(&self) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        match &self.place {
            Place::Local(Some(path)) | Place::LocalFile(Some(path)) => path.as_os_str().as_bytes(),
            _ => self.name.as_bytes(),
        }
    }

    /// Lays the log out (parts, codecs, in-progress state) without reading it.
    /// Remote logs need no further request for this: the listing had every name.
    pub fn open(&self) -> Result<EventLog, ReadError> {
        match &self.place {
            Place::Local(path) => EventLog::open(path.as_deref().unwrap_or_else(|| Path::new(&self.name))),
            Place::LocalFile(path) => {
                Ok(EventLog::open_file_of_size(path.as_deref().unwrap_or_else(|| Path::new(&self.name)), self.size))
            }
            Place::RemoteFile(file) => Ok(read::single_file_log(file.as_ref().clone())),
            Place::RemoteRolling(rolling) => read::rolling_log(&rolling.0, rolling.1.clone()),
        }
    }

    /// A local log known by what a listing said of it (a record kept of it):
    /// the file or rolling directory at the path `name`.
    pub fn local(name: String, size: u64, modified_ms: Option<i64>, fingerprint: u64) -> AppLog {
        AppLog { name, size, modified_ms, fingerprint, place: Place::Local(None) }
    }

    /// Whether [`AppLog::local`] gives this log back from its name, size,
    /// modification time and fingerprint alone (a local log at a UTF-8 path).
    pub fn is_local_by_name(&self) -> bool {
        matches!(self.place, Place::Local(None) | Place::LocalFile(None))
    }

    /// Reads and summarises the application (see [`crate::summarize_log`]).
    pub fn summarize(&self) -> Result<AppSummary, ReadError> {
        crate::summarize_log(&self.open()?)
    }

    /// Reads the application for a listing record: only the events a record
    /// needs are parsed (see [`crate::summarize_log_for_listing`]).
    pub fn summarize_for_listing(&self) -> Result<AppSummary, ReadError> {
        crate::summarize_log_for_listing(&self.open()?)
    }
}

/// A listed object as the layout rules see it.
fn listed(store: &Store, entry: &Entry) -> ListedFile {
    let url = store.describe(&entry.key);
    let name = entry.key.rsplit('/').next().filter(|n| !n.is_empty()).map(str::to_owned);
    let name = name.or_else(|| store.location().file_name()).unwrap_or_default();
    ListedFile {
        name,
        path: PathBuf::from(url),
        object: Some(RemoteObject { store: store.clone(), key: entry.key.clone() }),
    }
}

fn local_app_logs(path: &Path) -> Result<Vec<AppLog>, ReadError> {
    let io_error = |source| ReadError::Io { path: path.to_path_buf(), source };
    let meta = fs::metadata(path).map_err(io_error)?;
    let is_rolling = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(ROLLING_DIR_PREFIX));
    if meta.is_dir() && !is_rolling {
        return local_dir_logs(path).map_err(io_error);
    }
    Ok(local_logs(vec![read::DirLog { path: path.to_path_buf(), entry: None }]))
}

/// The application logs in the local directory `dir` (see [`read::list_app_logs`]),
/// and those one level below it in per-team folders (`<dir>/<team>/<log>`, the
/// layout sparkplane's presets write): a folder that is neither a rolling log
/// nor hidden is a team's. In the order [`read::read_app_dir`] gives each
/// folder: `dir`'s logs by name, then each team folder's in the folders' name
/// order.
///
/// Each directory is read once, on every core: the threads take its entries
/// in turns while it is read, look at each log's metadata relative to it
/// ([`read::DirLog::meta`]), make its [`AppLog`] and sort what they made;
/// the sorted runs are then merged. No step of a folder of 100,000 logs is
/// left to one thread alone (ADR 0016, eleventh addendum).
pub(crate) fn local_dir_logs(dir: &Path) -> std::io::Result<Vec<AppLog>> {
    const RUN: usize = 256;
    let mut walk = DirWalk::open(dir)?;
    let runs = WorkQueue::on_all_cores().in_runs_of(RUN).each_worker(&mut walk, |turns| {
        let (mut taken, mut made) = (Vec::with_capacity(RUN), Vec::new());
        while turns.take(&mut taken).is_some() {
            for (folder, found) in taken.drain(..) {
                // A log whose look panicked is left out, as one gone since its folder was read is.
                if let Ok(Some(log)) = std::panic::catch_unwind(|| local_log(found)) {
                    made.push((folder, log));
                }
            }
        }
        made.sort_unstable_by(listing_order);
        made
    });
    if let Some(error) = walk.error.take() {
        return Err(error);
    }
    // A thread that panicked outside a log's look (none does) leaves its logs out.
    let runs: Vec<Vec<(usize, AppLog)>> = runs.into_iter().filter_map(Result::ok).collect();
    Ok(merge_runs(runs, &walk.failed))
}

/// The folders of one listing, read in turns by several threads: the one
/// being read (index 0 the listed folder, then its team folders in name
/// order), the team folders still to read, and what went wrong.
struct DirWalk {
    current: Option<(usize, read::AppDir)>,
    teams: std::vec::IntoIter<PathBuf>,
    next_team: usize,
    /// Team folders that failed partway: their logs are left out, as a team folder that cannot be read is.
    failed: Vec<usize>,
    /// The listed folder's own read error, which fails the listing.
    error: Option<std::io::Error>,
}

impl DirWalk {
    fn open(dir: &Path) -> std::io::Result<DirWalk> {
        Ok(DirWalk {
            current: Some((0, read::AppDir::open(dir)?)),
            teams: Vec::new().into_iter(),
            next_team: 0,
            failed: Vec::new(),
            error: None,
        })
    }

    /// Moves on to the next team folder that opens; after the listed folder,
    /// its team folders are known and put in name order.
    fn next_folder(&mut self) {
        if let Some((0, listed)) = self.current.take() {
            let mut teams = listed.folders;
            teams.sort_unstable_by(|a, b| a.file_name().cmp(&b.file_name()));
            self.teams = teams.into_iter();
        }
        for team in self.teams.by_ref() {
            self.next_team += 1;
            // A team folder that cannot be read is skipped, as an unreadable log is.
            if let Ok(dir) = read::AppDir::open(&team) {
                self.current = Some((self.next_team, dir));
                return;
            }
        }
    }
}

impl Iterator for DirWalk {
    type Item = (usize, read::DirLog);

    /// The next log with its folder's index; none once every folder is read
    /// (or the listed one failed).
    fn next(&mut self) -> Option<(usize, read::DirLog)> {
        loop {
            let (index, dir) = self.current.as_mut()?;
            let index = *index;
            match dir.next() {
                Some(Ok(log)) => return Some((index, log)),
                Some(Err(error)) if index == 0 => {
                    self.error = Some(error);
                    self.current = None;
                    return None;
                }
                Some(Err(_)) => {
                    self.failed.push(index);
                    self.next_folder();
                }
                None => self.next_folder(),
            }
        }
    }
}

/// The order of a listing: by folder, then by path (every path in a folder
/// starts with the folder's, so its bytes sort as the names do).
fn listing_order(a: &(usize, AppLog), b: &(usize, AppLog)) -> std::cmp::Ordering {
    a.0.cmp(&b.0).then_with(|| a.1.path_bytes().cmp(b.1.path_bytes()))
}

/// The threads' sorted runs as one list in [`listing_order`], without the
/// logs of folders that failed partway.
fn merge_runs(runs: Vec<Vec<(usize, AppLog)>>, failed: &[usize]) -> Vec<AppLog> {
    let mut merged = Vec::with_capacity(runs.iter().map(Vec::len).sum());
    let mut heads: Vec<_> = runs.into_iter().map(|run| run.into_iter().peekable()).collect();
    loop {
        let next = heads
            .iter_mut()
            .enumerate()
            .filter_map(|(at, run)| run.peek().map(|first| (at, first)))
            .min_by(|(_, a), (_, b)| listing_order(a, b))
            .map(|(at, _)| at);
        let Some((folder, log)) = next.and_then(|at| heads[at].next()) else { break };
        if !failed.contains(&folder) {
            merged.push(log);
        }
    }
    merged
}

/// Each found log with its size, modification time and fingerprint, looked
/// at on every core (a folder of 100,000 logs is 100,000 `statx` calls and
/// hashes), in the order found. Each log is made, and its directory entry
/// freed, on the thread that looked at it: nothing is left for the listing's
/// thread to do alone after the threads end.
fn local_logs(found: Vec<read::DirLog>) -> Vec<AppLog> {
    const RUN: usize = 256;
    // In place: `Option<Option<AppLog>>` is laid out as `AppLog` is (checked below, when compiled), so the results'
    // buffer becomes the list.
    const _: () = assert!(size_of::<Option<Option<AppLog>>>() == size_of::<AppLog>());
    on_all_cores(found, RUN, local_log).into_iter().filter_map(Option::flatten).collect()
}

/// A found log as the listing keeps it; `None` when it is gone since the
/// folder was read (a log removed between listing and looking is simply not
/// there any more).
fn local_log(found: read::DirLog) -> Option<AppLog> {
    let (signature, is_file) = local_signature(&found.path, found.meta()).ok()?;
    let (size, modified_ms, fingerprint) = signature.totals();
    // The name is the path's text (the path's own buffer, made on the listing's thread: names made on the workers
    // stayed on their heaps, which the allocator keeps apart); a path that is not UTF-8 is named as displayed and
    // keeps its own path.
    let (name, own_path) = match found.path.into_os_string().into_string() {
        Ok(text) => (text, None),
        Err(other) => {
            let path = PathBuf::from(other);
            (path.display().to_string(), Some(path))
        }
    };
    let place = if is_file { Place::LocalFile(own_path) } else { Place::Local(own_path) };
    Some(AppLog { name, size, modified_ms, fingerprint, place })
}

/// One file of a log as its fingerprint sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFile<'a> {
    /// Its name (a local rolling directory's file name, an object's key below the
    /// listed location; empty for a local log's own path).
    pub name: &'a str,
    /// Bytes stored.
    pub size: u64,
    /// Last modification in epoch milliseconds, when known.
    pub modified_ms: Option<i64>,
    /// The object store's entity tag, when it gives one.
    pub e_tag: Option<&'a str>,
}

/// The fingerprint of a log made of `files` (in the order listed): the first 8
/// bytes, little-endian, of SHA-256 over each file's name, size, modification
/// time and ETag, every field length-prefixed or tagged so that no two
/// different lists encode alike. Fixed by this definition, not by the Rust
/// version or the process (std's `DefaultHasher` promises neither): changing
/// the encoding makes every persisted index reread its logs once.
pub fn log_fingerprint<'a>(files: impl IntoIterator<Item = LogFile<'a>>) -> u64 {
    let mut signature = Signature::default();
    for file in files {
        signature.add(file);
    }
    signature.totals().2
}

/// Sizes, modification times and the fingerprint of a log's files, folded as they are visited.
struct Signature {
    size: u64,
    modified_ms: Option<i64>,
    hash: Sha256,
}

impl Default for Signature {
    fn default() -> Signature {
        Signature { size: 0, modified_ms: None, hash: Sha256::new() }
    }
}

impl Signature {
    fn add(&mut self, file: LogFile<'_>) {
        self.size = self.size.saturating_add(file.size);
        self.modified_ms = self.modified_ms.max(file.modified_ms);
        let hash = &mut self.hash;
        hash.update((file.name.len() as u64).to_le_bytes());
        hash.update(file.name.as_bytes());
        hash.update(file.size.to_le_bytes());
        match file.modified_ms {
            Some(ms) => {
                hash.update([1u8]);
                hash.update(ms.to_le_bytes());
            }
            None => hash.update([0u8]),
        }
        match file.e_tag {
            Some(tag) => {
                hash.update([1u8]);
                hash.update((tag.len() as u64).to_le_bytes());
                hash.update(tag.as_bytes());
            }
            None => hash.update([0u8]),
        }
    }

    fn totals(&self) -> (u64, Option<i64>, u64) {
        let digest = self.hash.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (self.size, self.modified_ms, u64::from_le_bytes(first))
    }
}

/// A local log's size and last change; for a rolling directory the sizes of its
/// files summed and the latest change of the directory (files added or renamed)
/// or of any file in it, every file's name in the fingerprint. `meta` is the
/// path's metadata when the listing read it already (not through a link).
/// Also says whether the log is a single file.
fn local_signature(path: &Path, meta: Option<fs::Metadata>) -> std::io::Result<(Signature, bool)> {
    let millis = |meta: &fs::Metadata| {
        let since_epoch = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        i64::try_from(since_epoch.as_millis()).ok()
    };
    let meta = match meta {
        Some(meta) => meta,
        None => fs::metadata(path)?,
    };
    let mut signature = Signature::default();
    let size = if meta.is_dir() { 0 } else { meta.len() };
    signature.add(LogFile { name: "", size, modified_ms: millis(&meta), e_tag: None });
    if !meta.is_dir() {
        return Ok((signature, true));
    }
    // read_dir's order is the filesystem's; sorted, the fingerprint does not depend on it.
    let mut files = Vec::new();
    for entry in fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        files.push((entry.file_name().to_string_lossy().into_owned(), meta.len(), millis(&meta)));
    }
    files.sort();
    for (name, size, modified_ms) in files {
        signature.add(LogFile { name: &name, size, modified_ms, e_tag: None });
    }
    Ok((signature, false))
}

fn remote_app_logs(store: &Store) -> Result<Vec<AppLog>, ReadError> {
    let entries = store.list()?;
    let location_name = store.location().file_name().unwrap_or_default();
    let whole_location_is_one_log = matches!(entries.as_slice(), [only] if only.key.is_empty());
    if whole_location_is_one_log || location_name.starts_with(ROLLING_DIR_PREFIX) {
        let url = store.location().to_string();
        let files: Vec<ListedFile> =
            entries.iter().filter(|e| !e.key.contains('/')).map(|e| listed(store, e)).collect();
        let (size, modified_ms, fingerprint) = remote_signature(entries.iter()).totals();
        let place = match files.as_slice() {
            [only] if whole_location_is_one_log => Place::RemoteFile(Box::new(only.clone())),
            _ => Place::RemoteRolling(Box::new((PathBuf::from(&url), files))),
        };
        return Ok(vec![AppLog { name: url, size, modified_ms, fingerprint, place }]);
    }
    // Group the recursive listing by its first segment: a top-level object is a
    // single-file log, a top-level `eventlog_v2_*` prefix a rolling log; any other
    // top-level prefix is a team's, holding logs of the same two kinds.
    let mut groups: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in &entries {
        match entry.key.split_once('/') {
            None if read::is_app_log(&entry.key, false) => groups.entry(entry.key.as_str()).or_default().push(entry),
            Some((dir, rest)) if !rest.contains('/') && read::is_app_log(dir, true) => {
                groups.entry(dir).or_default().push(entry)
            }
            // Per-team prefixes (`<team>/<log>`, `<team>/eventlog_v2_*/<part>`), one level down.
            Some((team, rest)) if !team.starts_with('.') && !team.starts_with(ROLLING_DIR_PREFIX) => {
                let group = match rest.split_once('/') {
                    None if read::is_app_log(rest, false) => Some(entry.key.as_str()),
                    Some((dir, part)) if !part.contains('/') && read::is_app_log(dir, true) => {
                        Some(&entry.key[..team.len() + 1 + dir.len()])
                    }
                    _ => None,
                };
                if let Some(group) = group {
                    groups.entry(group).or_default().push(entry);
                }
            }
            _ => {}
        }
    }
    let mut logs = Vec::with_capacity(groups.len());
    for (name, members) in groups {
        let url = store.describe(name);
        let (size, modified_ms, fingerprint) = remote_signature(members.iter().copied()).totals();
        let place = match members.as_slice() {
            [only] if only.key == name => Place::RemoteFile(Box::new(listed(store, only))),
            _ => Place::RemoteRolling(Box::new((
                PathBuf::from(&url),
                members.iter().map(|e| listed(store, e)).collect(),
            ))),
        };
        logs.push(AppLog { name: url, size, modified_ms, fingerprint, place });
    }
    Ok(logs)
}

/// The objects of one log (listed in key order) folded into its signature.
fn remote_signature<'a>(entries: impl Iterator<Item = &'a Entry>) -> Signature {
    let mut signature = Signature::default();
    for entry in entries {
        let e_tag = entry.e_tag.as_deref();
        signature.add(LogFile { name: &entry.key, size: entry.size, modified_ms: Some(entry.modified_ms), e_tag });
    }
    signature
}

/// Summarises every log in `logs` (see [`AppLog::summarize`]) on as many threads
/// as the machine has cores. Applications that ended — or, without an end,
/// started — before `since_ms` (epoch milliseconds) are left out; so are
/// applications with neither time when `since_ms` is given. A log that cannot be
/// read, or holds no Spark events, becomes a warning naming it. Summaries come in
/// the order of `logs`.
pub fn summarize_logs(logs: &[AppLog], since_ms: Option<u64>) -> (Vec<AppSummary>, Vec<Warning>) {
    let results = on_all_cores(logs.iter().collect(), 1, summary_of);
    let (mut summaries, mut warnings) = (Vec::new(), Vec::new());
    for (log, result) in logs.iter().zip(results) {
        match result {
            Some(Ok(summary)) => {
                if in_window(since_ms, summary.end_time_ms.or(summary.start_time_ms)) {
                    summaries.push(summary);
                }
            }
            Some(Err(warning)) => warnings.push(warning),
            None => {
                let message = "was not read (a reader thread failed)".to_string();
                warnings.push(Warning::in_file(Path::new(&log.name), message));
            }
        }
    }
    (summaries, warnings)
}

/// Summarises every application log in `dir` (see [`crate::summarize`]) on as
/// many threads as the machine has cores. Applications that ended — or, without
/// an end, started — before `since_ms` (epoch milliseconds) are left out; so are
/// applications with neither time when `since_ms` is given. A log that cannot be
/// read, or holds no Spark events, becomes a warning naming the file. Summaries
/// come in file-name order.
pub fn summarize_dir(dir: &Path, since_ms: Option<u64>) -> (Vec<AppSummary>, Vec<Warning>) {
    let logs = match local_dir_logs(dir) {
        Ok(logs) => logs,
        Err(err) => return (Vec::new(), vec![Warning::in_file(dir, format!("cannot list event logs: {err}"))]),
    };
    summarize_logs(&logs, since_ms)
}

/// One log's summary, or the warning that says why it has none: it cannot be
/// read, or holds no Spark events.
pub fn summary_of(log: &AppLog) -> Result<AppSummary, Warning> {
    let path = Path::new(&log.name);
    match log.summarize() {
        Ok(summary) if summary.log.events == 0 => {
            Err(Warning::in_file(path, "holds no Spark events; skipped".to_string()))
        }
        Ok(summary) => Ok(summary),
        Err(err) => Err(Warning::in_file(path, format!("skipped: {err}"))),
    }
}

/// Runs `work` over every item on every core, each thread taking `run`
/// items at a time (1 for whole logs, so a few big ones spread over the
/// cores; more for small steps) and opening logs relative to their folder
/// (`folder`, the reader's); results in the order of `items`, `None` for the
/// items of a run whose thread panicked (the others still run; see
/// [`WorkQueue::map`]).
pub fn on_all_cores<I: Send, T: Send>(items: Vec<I>, run: usize, work: impl Fn(I) -> T + Sync) -> Vec<Option<T>> {
    let in_folders = |work: &mut dyn FnMut()| crate::folder::reading_folders(work);
    WorkQueue::on_all_cores().in_runs_of(run).each_thread_inside(&in_folders).map(items, work)
}

/// Whether an application that ended (or, without an end, started) at
/// `when_ms` is inside a `--since` window starting at `since_ms`.
pub fn in_window(since_ms: Option<u64>, when_ms: Option<u64>) -> bool {
    match (since_ms, when_ms) {
        (None, _) => true,
        (Some(since), Some(when)) => when >= since,
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn part<'a>(name: &'a str, size: u64, modified_ms: i64, e_tag: Option<&'a str>) -> LogFile<'a> {
        LogFile { name, size, modified_ms: Some(modified_ms), e_tag }
    }

    fn object(key: &str, size: u64, modified_ms: i64, e_tag: &str) -> Entry {
        Entry { key: key.to_owned(), size, modified_ms, e_tag: Some(e_tag.to_owned()) }
    }

    /// The value is pinned: every process and every build computes it, so a
    /// persisted index written by one run is compared by the next. If this
    /// changes, every persisted index rereads its logs once — say so in the
    /// commit.
    #[test]
    fn the_fingerprint_is_the_same_in_every_process() {
        let files = [
            part(
                "eventlog_v2_app-1/events_1_app-1",
                1234,
                1_700_000_000_000,
                Some("\"9b2cf535f27731c974343645a3985328\""),
            ),
            LogFile { name: "eventlog_v2_app-1/appstatus_app-1.inprogress", size: 0, modified_ms: None, e_tag: None },
        ];
        // Also what Python's hashlib gives over the encoding documented on `log_fingerprint`.
        assert_eq!(log_fingerprint(files), 0xf549_1991_6645_7c4c);
    }

    #[test]
    fn two_listings_of_the_same_folder_give_the_same_fingerprint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let rolling = dir.path().join("eventlog_v2_app-1");
        fs::create_dir(&rolling).expect("mkdir");
        fs::write(rolling.join("events_1_app-1"), "{}\n").expect("write");
        fs::write(rolling.join("appstatus_app-1.inprogress"), "").expect("write");
        let first = local_app_logs(dir.path()).expect("lists");
        let second = local_app_logs(dir.path()).expect("lists again");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].fingerprint, second[0].fingerprint);
        // The listing's fingerprint is the defined function of what was listed, nothing else.
        let millis = |path: &Path| {
            let modified = fs::metadata(path).expect("meta").modified().expect("mtime");
            i64::try_from(modified.duration_since(UNIX_EPOCH).expect("after 1970").as_millis()).ok()
        };
        let status = rolling.join("appstatus_app-1.inprogress");
        let events = rolling.join("events_1_app-1");
        let expected = log_fingerprint([
            LogFile { name: "", size: 0, modified_ms: millis(&rolling), e_tag: None },
            LogFile { name: "appstatus_app-1.inprogress", size: 0, modified_ms: millis(&status), e_tag: None },
            LogFile { name: "events_1_app-1", size: 3, modified_ms: millis(&events), e_tag: None },
        ]);
        assert_eq!(first[0].fingerprint, expected);
    }

    /// An object rewritten to the same size within the same second is told
    /// apart by its ETag alone; the same listing twice is not.
    #[test]
    fn a_rewrite_of_the_same_size_and_time_with_another_etag_changes_the_fingerprint() {
        let before = [object("app-1", 4, 1_700_000_000_000, "\"aaaa\"")];
        let again = [object("app-1", 4, 1_700_000_000_000, "\"aaaa\"")];
        let rewritten = [object("app-1", 4, 1_700_000_000_000, "\"bbbb\"")];
        let fingerprint = |entries: &[Entry]| remote_signature(entries.iter()).totals();
        assert_eq!(fingerprint(&before), fingerprint(&again));
        let (size, modified, changed) = fingerprint(&rewritten);
        assert_eq!((size, modified), (fingerprint(&before).0, fingerprint(&before).1));
        assert_ne!(changed, fingerprint(&before).2);
    }

    #[test]
    fn a_folder_read_on_every_core_lists_its_logs_then_each_team_folder_s_in_name_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let write = |folder: &Path, names: &mut dyn Iterator<Item = String>| {
            fs::create_dir_all(folder).expect("mkdir");
            for name in names {
                fs::write(folder.join(name), b"{}\n").expect("write");
            }
        };
        // Enough logs for every thread to take several runs of entries; names of several lengths.
        write(root, &mut (1..=700).map(|i| format!("local-{i}")));
        write(&root.join("team-b"), &mut (1..=300).map(|i| format!("application_{i}_0001")));
        write(&root.join("team-a"), &mut ["local-9", "local-10", "local-1.crc"].into_iter().map(str::to_owned));
        write(&root.join(".hidden"), &mut std::iter::once("local-h".to_owned()));
        write(&root.join("eventlog_v2_local-r"), &mut std::iter::once("events_1_local-r".to_owned()));
        fs::write(root.join(".local-1.crc"), b"x").expect("write");
        std::os::unix::fs::symlink(root.join("local-2"), root.join("local-0")).expect("symlink");
        let listed: Vec<String> = local_dir_logs(root).expect("lists").into_iter().map(|log| log.name).collect();
        // The order of reading each folder whole, the listed one first, then the team folders by name.
        let mut expected = read::read_app_dir(root).expect("lists");
        for team in ["team-a", "team-b"] {
            expected.extend(read::read_app_dir(&root.join(team)).expect("lists"));
        }
        let expected: Vec<String> = expected.into_iter().map(|log| log.path.display().to_string()).collect();
        assert_eq!(listed.len(), 700 + 1 + 1 + 2 + 300, "logs, link, rolling log, team-a's two, team-b's");
        assert_eq!(listed, expected);
        assert!(listed.iter().all(|name| !name.contains(".hidden") && !name.ends_with(".crc")));
        // The listed folder itself unreadable fails the listing.
        let missing = local_dir_logs(&root.join("no-such-folder")).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn work_on_every_core_comes_back_in_order_and_a_panic_loses_only_its_own_items() {
        let items: Vec<u32> = (0..1000).collect();
        for run in [1, 7, 256, 5000] {
            let doubled = on_all_cores(items.clone(), run, |i| i * 2);
            assert_eq!(doubled, items.iter().map(|i| Some(i * 2)).collect::<Vec<_>>(), "run of {run}");
        }
        // A panic ends its thread: that run's items are None, and (with another thread left) every other item is done.
        let results = on_all_cores(items.clone(), 10, |i| {
            assert!(i != 503, "the item that fails");
            i
        });
        let missing: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(at, _)| at).collect();
        let one_thread = sparkplane_workqueue::cores() == 1;
        assert_eq!(missing, (500..if one_thread { 1000 } else { 510 }).collect::<Vec<_>>());
        assert!(on_all_cores(Vec::<u32>::new(), 4, |i| i).is_empty());
        // Each item ends on the thread that worked on it, panicked or not: none is left alive.
        let alive = Arc::new(());
        let results = on_all_cores(items.iter().map(|i| (*i, Arc::clone(&alive))).collect(), 10, |(i, _alive)| {
            assert!(i != 503, "the item that fails");
            i
        });
        assert_eq!(results.iter().filter(|r| r.is_none()).count(), missing.len());
        assert_eq!(Arc::strong_count(&alive), 1);
    }

    #[test]
    fn a_folder_of_many_logs_is_listed_in_name_order_each_with_its_own_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        for i in 0..1000 {
            fs::write(dir.path().join(format!("app-{i:04}")), "x".repeat(i % 7 + 1)).expect("write");
        }
        let logs = local_app_logs(dir.path()).expect("lists");
        assert_eq!(logs.len(), 1000);
        for (i, log) in logs.iter().enumerate() {
            assert_eq!(log.name, dir.path().join(format!("app-{i:04}")).display().to_string());
            assert_eq!(log.size, (i % 7 + 1) as u64);
            assert!(matches!(log.place, Place::LocalFile(None)), "{log:?}");
        }
    }

    /// Fields are length-prefixed and tagged: moving bytes between names, or an
    /// absent ETag or time against an empty one, never encodes alike.
    #[test]
    fn different_listings_never_encode_alike() {
        let one = |files: &[LogFile<'_>]| log_fingerprint(files.iter().copied());
        assert_ne!(
            one(&[part("ab", 1, 1, None), part("c", 1, 1, None)]),
            one(&[part("a", 1, 1, None), part("bc", 1, 1, None)])
        );
        assert_ne!(one(&[part("a", 1, 1, None)]), one(&[part("a", 1, 1, Some(""))]));
        let untimed = LogFile { name: "a", size: 1, modified_ms: None, e_tag: None };
        assert_ne!(one(&[untimed]), one(&[part("a", 1, 0, None)]));
        assert_ne!(
            one(&[part("a", 1, 1, None), part("b", 1, 1, None)]),
            one(&[part("b", 1, 1, None), part("a", 1, 1, None)])
        );
    }
}
