//! The application index and the detail cache behind `sparkplane history serve`.
//!
//! Owns: listing a log location incrementally ([`Index::refresh`]: one listing,
//! then only new or changed logs — by size, modification time and parts — are
//! summarised again; vanished ones are dropped), one small listing record per
//! log whose size does not grow with the log's task count (ADR 0016) and
//! points to its application's access facts (read from its Spark properties
//! and user by `sparkplane_access`, each distinct one kept once), the
//! warnings of logs read only in part, the logs left out and why (kept until
//! they change, so a broken log is neither re-read nor re-counted on every
//! rescan), and a byte-budgeted cache of replayed
//! details ([`Index::detail`]).
//!
//! Must not: shape API answers (that is [`crate::api`]), parse events itself
//! (listing uses `sparkplane_eventlog`'s summary, detail [`sparkplane_appstatus::replay`]), or
//! fail the whole listing because one log is unreadable (it is skipped and its
//! reason kept for the metrics and the log).
//!
//! With a persisted index ([`Index::with_persisted`], [`crate::persist`]) the
//! records start as the store kept them — answered before the location is
//! listed — and each refresh writes what it changed (or leaves it for a later
//! write, [`Index::refresh_deferring_write`], so a list is answered before
//! its write); the first listing after a restart rereads only logs whose key
//! (name, size, modification time, fingerprint) differs from the stored one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sparkplane_access::AppFacts;
use sparkplane_analysis::cost::{PriceSheet, app_cost};
use sparkplane_eventlog::{AppLog, AppSummary, AppSummaryBuilder, LogSource, ReadError};
use sparkplane_workqueue::WorkQueue;

use crate::api::{AttemptInfo, AttemptSnapshot, Catalog};
use crate::persist::{self, Changes, PersistedIndex, StoredSkip};
use crate::pipeline::{BATCH_BYTES, replay_batches, summarize_and_replay_batches};
pub use crate::records::{Entry, EntryLog};
use crate::records::{FactsTable, Record, Records};
use sparkplane_appstatus::insight::Insight;
use sparkplane_appstatus::replay::AppDetail;

/// Counters for the metrics registry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexStats {
    pub logs: u64,
    pub refreshes: u64,
    pub summarised: u64,
    /// Logs left out of the list, by reason ([`SKIP_UNREADABLE`], [`SKIP_NO_START`]).
    pub skipped: BTreeMap<String, u64>,
    pub detail_cache_bytes: u64,
    pub detail_cache_entries: u64,
    /// Logs listed now with reading warnings: read in part (a line cut off or corrupt).
    pub partial: u64,
    /// Refreshes whose listing of the location failed (the last good list was kept).
    pub refresh_failures: u64,
    /// Why the last refresh could not list the location; `None` once one lists again.
    pub last_refresh_error: Option<String>,
    /// Detail requests for a listed log that could not be read any more (deleted or changed since listed).
    pub unreadable_details: u64,
    /// Records answered from the persisted index at start, before the location was listed.
    pub restored: u64,
    /// Why the last write of the persisted index failed; `None` once one succeeds (or without a store).
    pub last_store_error: Option<String>,
}

struct Cache {
    budget: u64,
    used: u64,
    tick: u64,
    /// (log name, fingerprint) → (last use, detail).
    entries: BTreeMap<(String, u64), (u64, Arc<AppDetail>)>,
}

impl Cache {
    fn get(&mut self, key: &(String, u64)) -> Option<Arc<AppDetail>> {
        self.tick += 1;
        let tick = self.tick;
        let (used, detail) = self.entries.get_mut(key)?;
        *used = tick;
        Some(Arc::clone(detail))
    }

    fn put(&mut self, key: (String, u64), detail: Arc<AppDetail>) {
        let size = detail.approx_bytes();
        if size > self.budget {
            return;
        }
        while self.used + size > self.budget {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, (used, _))| *used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some((_, gone)) = self.entries.remove(&oldest) {
                self.used -= gone.approx_bytes();
            }
        }
        self.tick += 1;
        self.used += size;
        if let Some((_, old)) = self.entries.insert(key, (self.tick, detail)) {
            self.used -= old.approx_bytes();
        }
    }
}

/// A log left out of the list, remembered so it is read again only once it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedLog {
    pub fingerprint: u64,
    /// [`SKIP_UNREADABLE`] or [`SKIP_NO_START`].
    pub reason: &'static str,
    /// What went wrong, for the user: the read error, or why no application could be found.
    pub message: String,
}

/// The index over one log location.
pub struct Index {
    source: LogSource,
    /// The location as the user reads it (`source.describe()`, said once).
    root: String,
    records: Mutex<Records>,
    /// The records' access facts, each distinct one kept once.
    facts: FactsTable,
    skipped_logs: Mutex<BTreeMap<String, SkippedLog>>,
    stats: Mutex<IndexStats>,
    cache: Mutex<Cache>,
    /// Listed logs whose replay failed since the last refresh: log name → why.
    unreadable: Mutex<BTreeMap<String, String>>,
    /// Where each refresh's changes are kept across restarts.
    store: Option<PersistedIndex>,
    /// What the listings changed that the store has not been told yet.
    unwritten: Mutex<Unwritten>,
    /// True from a start with records restored from the store until a listing succeeds.
    restored_pending: AtomicBool,
    /// True from a start with records restored from the store until the first listing ends
    /// (listed or failed): a detail request for a restored record waits for it ([`Index::log_of`]).
    first_listing_due: AtomicBool,
}

/// How long a detail request for a restored record waits for the first listing after a restart.
pub const FIRST_LISTING_WAIT: Duration = Duration::from_secs(30);

/// Reason label of a log that could not be opened or decoded.
pub const SKIP_UNREADABLE: &str = "unreadable";
/// Reason label of a log without an application start event.
pub const SKIP_NO_START: &str = "no_application_start";

/// The default detail-cache budget: 256 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

fn team_of(root: &str, log_name: &str) -> Option<String> {
    let relative = log_name.strip_prefix(root.trim_end_matches('/'))?.trim_start_matches('/');
    let (team, rest) = relative.split_once('/')?;
    (!rest.is_empty() && !team.starts_with("eventlog_v2_")).then(|| team.to_owned())
}

/// Spark's `lastUpdated` of an attempt: its log's last modification once the
/// application has ended, and while it runs the time its log was read for the
/// listing (`AppListingListener` sets it to its clock at the application's
/// start, to the log's time at its end). A running task's `duration` is
/// measured to it.
fn last_updated_ms(summary: &AppSummary, log: &AppLog, read_at_ms: i64) -> i64 {
    if summary.end_time_ms.is_some() { log.modified_ms.unwrap_or(0) } else { read_at_ms }
}

fn attempt_of(summary: &AppSummary, log: &AppLog, read_at_ms: i64) -> AttemptInfo {
    let completed = !summary.log.in_progress && summary.end_time_ms.is_some();
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let fallback_id = log.name.rsplit('/').next().unwrap_or(&log.name).to_owned();
    AttemptInfo {
        app_id: summary.app_id.clone().unwrap_or(fallback_id),
        attempt_id: summary.attempt_id.clone(),
        name: summary.name.clone().unwrap_or_default(),
        start_ms: summary.start_time_ms.map_or(-1, as_i64),
        end_ms: if completed { summary.end_time_ms.map_or(-1, as_i64) } else { -1 },
        last_updated_ms: last_updated_ms(summary, log, read_at_ms),
        user: summary.user.clone().unwrap_or_default(),
        completed,
        spark_version: summary.spark_version.clone().unwrap_or_default(),
        exit_code: summary.exit_code,
    }
}

impl Index {
    /// An empty index over `source`; call [`Index::refresh`] to fill it.
    pub fn new(source: LogSource, cache_bytes: u64) -> Index {
        Index {
            root: source.describe(),
            source,
            records: Mutex::new(Records::default()),
            facts: FactsTable::default(),
            skipped_logs: Mutex::new(BTreeMap::new()),
            stats: Mutex::new(IndexStats::default()),
            cache: Mutex::new(Cache { budget: cache_bytes, used: 0, tick: 0, entries: BTreeMap::new() }),
            unreadable: Mutex::new(BTreeMap::new()),
            store: None,
            unwritten: Mutex::new(Unwritten::default()),
            restored_pending: AtomicBool::new(false),
            first_listing_due: AtomicBool::new(false),
        }
    }

    /// An index over `source` kept in the persisted index in `dir`
    /// ([`crate::persist`]): it starts with the records the store holds (answered
    /// at once, [`Index::restored_pending`] until a listing succeeds), and each
    /// refresh writes its changes there. The warnings say what the user should
    /// know: a store rebuilt (corrupt, another format version or location) or
    /// not used (in use, unwritable); the server runs either way.
    pub fn with_persisted(source: LogSource, cache_bytes: u64, dir: &Path) -> (Index, Vec<String>) {
        let facts = FactsTable::default();
        let opened = persist::open(dir, &source.describe(), |name, stored| {
            Some(Record::restored(name, &stored, facts.stored(stored.facts).ok()?))
        });
        let mut index = Index::new(source, cache_bytes);
        index.facts = facts;
        let records = Records::new(opened.restored.entries);
        let skipped: BTreeMap<String, SkippedLog> =
            opened.restored.skipped.into_iter().filter_map(|(name, stored)| restored_skip(name, stored)).collect();
        let pending = !records.is_empty() || !skipped.is_empty();
        {
            let stats = index.stats.get_mut().unwrap_or_else(|p| p.into_inner());
            stats.logs = records.len() as u64;
            stats.restored = records.len() as u64;
            stats.partial = records.iter().filter(|r| !r.warnings().is_empty()).count() as u64;
        }
        index.records = Mutex::new(records);
        index.skipped_logs = Mutex::new(skipped);
        index.store = opened.store;
        index.restored_pending = AtomicBool::new(pending);
        index.first_listing_due = AtomicBool::new(pending);
        (index, opened.warnings)
    }

    /// The server's index over `source`: persisted in `dir`, else in
    /// [`persist::default_dir`] of the location, else (no home folder) in
    /// memory only, with a warning that says so beside
    /// [`Index::with_persisted`]'s.
    pub fn open(source: LogSource, cache_bytes: u64, dir: Option<&Path>) -> (Index, Vec<String>) {
        match dir.map(Path::to_path_buf).or_else(|| persist::default_dir(&source.describe())) {
            Some(dir) => Index::with_persisted(source, cache_bytes, &dir),
            None => {
                let warning = "no persisted index (neither XDG_CACHE_HOME nor HOME is set): a restart reads every \
                               log again; give --index-dir a folder to keep it";
                (Index::new(source, cache_bytes), vec![warning.to_owned()])
            }
        }
    }

    /// What a server says when it answers from the persisted index while it lists the location again.
    pub fn restored_line(&self) -> String {
        format!(
            "answering {} applications from the persisted index {} while {} is listed again",
            self.application_count(),
            self.persisted_path().map(|p| p.display().to_string()).unwrap_or_default(),
            self.root,
        )
    }

    /// True while the records answered come from the persisted index and the
    /// location has not been listed since the start.
    pub fn restored_pending(&self) -> bool {
        self.restored_pending.load(Ordering::SeqCst)
    }

    /// The persisted index's file, when there is one.
    pub fn persisted_path(&self) -> Option<&Path> {
        self.store.as_ref().map(PersistedIndex::path)
    }

    /// The location as the user reads it.
    pub fn describe(&self) -> String {
        self.root.clone()
    }

    /// Lists the location once and summarises only new or changed logs (a log
    /// left out is not read again, nor counted again, until it changes), then
    /// writes what changed to the persisted index.
    /// Fails only when the location itself cannot be listed (or a page of its
    /// listing fails): the list is then left as it was, and the failure is
    /// counted and kept ([`IndexStats::last_refresh_error`]).
    pub fn refresh(&self) -> Result<(), ReadError> {
        self.refresh_deferring_write()?;
        self.write_deferred();
        Ok(())
    }

    /// As [`Index::refresh`], without writing to the persisted index: the new
    /// list is answered at once, and what changed is written by the next
    /// [`Index::write_deferred`] (or refresh). `history serve`'s first listing
    /// is served this way, its write made by the scan thread once serving
    /// (ADR 0066, fifth addendum). A process that ends before the write leaves
    /// the store as the last write left it: a restart answers that and catches
    /// up from the logs.
    pub fn refresh_deferring_write(&self) -> Result<(), ReadError> {
        let listed = match self.source.app_logs() {
            Ok(listed) => listed,
            Err(error) => {
                self.first_listing_due.store(false, Ordering::SeqCst);
                let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
                stats.refresh_failures += 1;
                stats.last_refresh_error = Some(error.to_string());
                return Err(error);
            }
        };
        let mut listed = listed;
        listed.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let (gone, changed) = {
            let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
            let mut left_out = self.skipped_logs.lock().unwrap_or_else(|p| p.into_inner());
            // Logs gone from the location are dropped now; the store hears of it with this refresh's other changes.
            let present: Vec<&str> = listed.iter().map(|log| log.name.as_str()).collect();
            let mut gone = records.retain_present(&present);
            left_out.retain(|name, _| {
                let keep = present.binary_search(&name.as_str()).is_ok();
                if !keep {
                    gone.push(name.clone());
                }
                keep
            });
            drop(present);
            // Collected in place: the changed logs reuse the listing's own buffer.
            let changed: Vec<AppLog> = listed
                .into_iter()
                .filter_map(|log| {
                    if let Some(record) = records.get(&log.name)
                        && record.is_unchanged(&log)
                    {
                        // A restored record whose log is unchanged: from now on its log can be opened,
                        // before the changed logs are summarised; nothing is read.
                        if record.is_restored()
                            && let Some(record) = records.get_mut(&log.name)
                        {
                            record.mark_listed(log);
                        }
                        return None;
                    }
                    if left_out.get(&log.name).is_some_and(|s| s.fingerprint == log.fingerprint) {
                        return None;
                    }
                    Some(log)
                })
                .collect();
            (gone, changed)
        };
        self.first_listing_due.store(false, Ordering::SeqCst);
        let (fresh, newly_skipped) = self.list_each(changed);
        let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
        for (_, left_out) in &newly_skipped {
            *skipped.entry(left_out.reason.to_owned()).or_default() += 1;
        }
        let count = {
            let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
            let mut left_out = self.skipped_logs.lock().unwrap_or_else(|p| p.into_inner());
            let mut unwritten = self.unwritten.lock().unwrap_or_else(|p| p.into_inner());
            let summarised = fresh.len() as u64;
            for record in &fresh {
                left_out.remove(record.name());
                // The record's own write replaces whatever the store holds of its log.
                unwritten.logs.remove(record.name());
            }
            let now_left_out: Vec<String> = newly_skipped.iter().map(|(name, _)| name.clone()).collect();
            records.update(fresh, &now_left_out);
            self.facts.prune();
            if self.store.is_some() {
                for name in gone {
                    unwritten.logs.insert(name, None);
                }
            }
            for (name, skipped) in newly_skipped {
                if self.store.is_some() {
                    unwritten.logs.insert(name.clone(), Some(stored_skip(&skipped)));
                }
                left_out.insert(name, skipped);
            }
            let (mut partial, mut unstored) = (0, false);
            for record in records.iter() {
                partial += u64::from(!record.warnings().is_empty());
                unstored |= records.is_unstored(record);
            }
            unwritten.records = self.store.is_some() && unstored;
            (records.len() as u64, summarised, partial)
        };
        self.restored_pending.store(false, Ordering::SeqCst);
        // A log that could not be replayed is tried again after each listing.
        self.unreadable.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.logs = count.0;
        stats.refreshes += 1;
        stats.summarised += count.1;
        stats.partial = count.2;
        stats.last_refresh_error = None;
        for (reason, n) in skipped {
            *stats.skipped.entry(reason).or_default() += n;
        }
        Ok(())
    }

    /// True when the listings changed something the persisted index has not
    /// been told yet ([`Index::refresh_deferring_write`]).
    pub fn write_is_deferred(&self) -> bool {
        self.store.is_some() && !self.unwritten.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    /// Writes to the persisted index what the listings changed since its last
    /// write, in one transaction (nothing without a store or a change). A
    /// failed write is said once on stderr and kept for the metrics
    /// ([`IndexStats::last_store_error`]); what it was to write is written by
    /// the next one. Called by the thread that refreshes (the records do not
    /// change while it writes).
    pub fn write_deferred(&self) {
        let Some(store) = self.store.as_ref() else { return };
        let unwritten = std::mem::take(&mut *self.unwritten.lock().unwrap_or_else(|p| p.into_inner()));
        if unwritten.is_empty() {
            return;
        }
        let mut changes = Changes::default();
        for (name, change) in &unwritten.logs {
            match change {
                Some(skip) => changes.skipped.push((name.clone(), skip.clone())),
                None => changes.removed.push(name.clone()),
            }
        }
        let written = self.write_store(store, &changes, unwritten.records);
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        match written {
            Err(error) => {
                if stats.last_store_error.as_ref() != Some(&error) {
                    eprintln!("warning: {error} (the list is served from memory; retried at the next change)");
                }
                stats.last_store_error = Some(error);
                // Kept for the next write; anything a listing changed meanwhile is newer.
                let mut pending = self.unwritten.lock().unwrap_or_else(|p| p.into_inner());
                for (name, change) in unwritten.logs {
                    pending.logs.entry(name).or_insert(change);
                }
                pending.records |= unwritten.records;
            }
            Ok(()) => stats.last_store_error = None,
        }
    }

    /// Writes `changes` to the store with every record not stored yet (this
    /// refresh's, and any whose write failed before), read from the published
    /// records a chunk at a time: the records are not copied for the write,
    /// and a request waits at most for one chunk's encoding. Only the
    /// refreshing thread changes the records, so the chunks are stable; they
    /// are marked stored once the transaction is committed.
    fn write_store(&self, store: &PersistedIndex, changes: &Changes, unstored: bool) -> Result<(), String> {
        const CHUNK: usize = 1024;
        let mut at = 0;
        let written = store.apply(changes, |chunk| {
            if !unstored {
                return false;
            }
            let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
            let slice = records.slice(at, CHUNK);
            for record in slice.iter().filter(|r| records.is_unstored(r)) {
                chunk.put(record.name(), &record.stored());
            }
            at += slice.len();
            at < records.len()
        });
        if written.is_ok() && unstored {
            self.records.lock().unwrap_or_else(|p| p.into_inner()).mark_stored();
        }
        written
    }

    /// What `read` makes of the records as they are now.
    pub(crate) fn with_records<T>(&self, read: impl FnOnce(&Records) -> T) -> T {
        read(&self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Every indexed log, in name order.
    pub fn entries(&self) -> Vec<Entry> {
        self.records.lock().map(|r| r.iter().map(Record::entry).collect()).unwrap_or_default()
    }

    /// The listed entry of one attempt, copied alone (a page about one
    /// application needs its outcome, team and cost, not a copy of the list).
    pub fn entry_of(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Entry> {
        let records = self.records.lock().ok()?;
        records.iter().find(|r| r.app_id() == app_id && r.attempt_id() == attempt_id).map(Record::entry)
    }

    /// How many logs are listed now (without copying them).
    pub fn len(&self) -> usize {
        self.records.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// True when no log is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many distinct applications are listed now (attempts of one count once).
    pub fn application_count(&self) -> usize {
        let Ok(records) = self.records.lock() else { return 0 };
        let mut ids: Vec<&str> = records.iter().map(Record::app_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The listed logs read only in part, in name order.
    pub fn partial_entries(&self) -> Vec<Entry> {
        let Ok(records) = self.records.lock() else { return Vec::new() };
        records.iter().filter(|r| !r.warnings().is_empty()).map(Record::entry).collect()
    }

    /// The logs left out of the list now, in name order, with why.
    pub fn skipped_logs(&self) -> Vec<(String, SkippedLog)> {
        self.skipped_logs.lock().map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    /// What a start says about the logs left out of the list or read in
    /// part: one line each, with why; past `max` of a kind the rest are
    /// counted in one line (the metrics keep the totals).
    pub fn left_out_lines(&self, max: usize) -> Vec<String> {
        let (left_out, partial) = (self.skipped_logs(), self.partial_entries());
        let mut lines: Vec<String> = left_out
            .iter()
            .take(max)
            .map(|(name, skipped)| format!("warning: {name} is left out of the list: {}", skipped.message))
            .collect();
        if left_out.len() > max {
            lines.push(format!(
                "warning: {} more event logs are left out of the list (counted in sparkplane_history_logs_skipped_total)",
                left_out.len() - max
            ));
        }
        let read_in_part = |e: &Entry| format!("warning: {} was read in part: {}", e.log.name(), e.warnings.join("; "));
        lines.extend(partial.iter().take(max).map(read_in_part));
        if partial.len() > max {
            lines.push(format!("warning: {} more event logs were read in part", partial.len() - max));
        }
        lines
    }

    /// Counters for the metrics.
    pub fn stats(&self) -> IndexStats {
        let mut stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        if let Ok(cache) = self.cache.lock() {
            stats.detail_cache_bytes = cache.used;
            stats.detail_cache_entries = cache.entries.len() as u64;
        }
        stats
    }

    /// The log of one attempt, as listed. For a record restored from the
    /// persisted index this waits (up to [`FIRST_LISTING_WAIT`]) for the first
    /// listing after the restart; `None` when that listing failed or did not
    /// find the log unchanged.
    pub fn log_of(&self, app_id: &str, attempt_id: Option<&str>) -> Option<AppLog> {
        let deadline = Instant::now() + FIRST_LISTING_WAIT;
        loop {
            match self.log_of_attempt(app_id, attempt_id)? {
                EntryLog::Listed(log) => return Some(log),
                EntryLog::Restored(_) if self.first_listing_due.load(Ordering::SeqCst) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                EntryLog::Restored(_) => return None,
            }
        }
    }

    fn log_of_attempt(&self, app_id: &str, attempt_id: Option<&str>) -> Option<EntryLog> {
        let records = self.records.lock().ok()?;
        let record = records.iter().find(|r| r.app_id() == app_id && r.attempt_id() == attempt_id)?;
        Some(match record.log() {
            Some(log) => EntryLog::Listed(log),
            None => EntryLog::Restored(record.key()),
        })
    }
}

/// What the listings changed that the persisted index has not been told
/// yet, besides the records (each carries its own mark, [`Records::is_unstored`]).
#[derive(Debug, Default)]
struct Unwritten {
    /// Log name → `None` when the log is gone, what the store keeps of it when it is left out now.
    logs: BTreeMap<String, Option<StoredSkip>>,
    /// Some record is not stored yet.
    records: bool,
}

impl Unwritten {
    fn is_empty(&self) -> bool {
        self.logs.is_empty() && !self.records
    }
}

/// What listing one log gave: its record, or why it is left out.
enum Listed {
    Record(Record),
    Skipped(SkippedLog),
}

/// Logs at least this big are listed and replayed in one pass
/// ([`summarize_and_replay`]): their detail goes into the cache while they are
/// listed, so the first request for it reads nothing again.
pub const ONE_PASS_BYTES: u64 = 64 << 20;

impl Index {
    /// Reads one log and keeps only its listing record: the summary (which
    /// holds the whole configuration) is dropped here, on the worker, so a
    /// listing of many logs holds one summary per core at a time, not one per
    /// log. Task ends are not read beyond their finish time
    /// (`AppLog::summarize_for_listing`: the record holds no task figure). A log of [`ONE_PASS_BYTES`] or more is replayed in the same pass
    /// and its detail cached (within the cache's budget).
    fn listing_of(&self, log: &AppLog) -> Listed {
        let read_at = self.now_ms();
        let summary = if log.size >= ONE_PASS_BYTES {
            summarize_and_replay(log).map(|(summary, detail)| {
                if let (Some(mut detail), Ok(mut cache)) = (detail, self.cache.lock()) {
                    detail.last_updated_ms = Some(last_updated_ms(&summary, log, read_at));
                    cache.put((log.name.clone(), log.fingerprint), Arc::new(detail));
                }
                summary
            })
        } else {
            // The record needs the application's ids, times, outcome, attribution and cost, not its tasks.
            log.summarize_for_listing()
        };
        listed(&self.root, &self.facts, log, summary, read_at)
    }

    /// Lists `logs` on every core ([`Index::listing_of`] each): their records,
    /// in no particular order (`Records` sorts them), and the logs left out
    /// with why. The threads take the logs 64 at a time and drop
    /// each once read, and its record goes straight into the list returned: a
    /// first listing of 100,000 logs holds the logs not read yet, the records
    /// made so far and one run per core, no second list of either (ADR 0016,
    /// ninth addendum). A log whose reading panics (a bug) is left out as
    /// unreadable, saying so, and the others are listed.
    fn list_each(&self, logs: Vec<AppLog>) -> (Vec<Record>, Vec<(String, SkippedLog)>) {
        const RUN: usize = 64;
        let listed = Mutex::new((Vec::with_capacity(logs.len()), Vec::new()));
        // Each thread opens the logs of a folder relative to it (`sparkplane_eventlog::reading_folders`).
        let in_folders = |work: &mut dyn FnMut()| sparkplane_eventlog::reading_folders(work);
        let queue = WorkQueue::on_all_cores().in_runs_of(RUN).each_thread_inside(&in_folders);
        queue.each_worker(logs.into_iter(), |turns| {
            let mut run: Vec<AppLog> = Vec::with_capacity(RUN);
            let mut done: Vec<(AppLog, Listed)> = Vec::with_capacity(RUN);
            while turns.take(&mut run).is_some() {
                for log in run.drain(..) {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.listing_of(&log)));
                    let listed = outcome.unwrap_or_else(|_| {
                        Listed::Skipped(SkippedLog {
                            fingerprint: log.fingerprint,
                            reason: SKIP_UNREADABLE,
                            message: "reading it failed unexpectedly (a bug in sparkplane: please report it with \
                                      the log)"
                                .to_owned(),
                        })
                    });
                    done.push((log, listed));
                }
                let mut listed = listed.lock().unwrap_or_else(|p| p.into_inner());
                for (log, one) in done.drain(..) {
                    match one {
                        Listed::Record(record) => listed.0.push(record),
                        Listed::Skipped(left_out) => listed.1.push((log.name, left_out)),
                    }
                }
            }
        });
        listed.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

fn listed(
    root: &str,
    facts: &FactsTable,
    log: &AppLog,
    summary: Result<AppSummary, ReadError>,
    read_at_ms: i64,
) -> Listed {
    match summary {
        Ok(summary) if summary.start_time_ms.is_some() => {
            // Reading problems only (they name their file); the cost model's notes are not about the log.
            let warnings: Vec<String> =
                summary.warnings.iter().filter(|w| w.file.is_some()).take(5).map(|w| w.message.clone()).collect();
            let cost = app_cost(&summary, &PriceSheet::opencost_defaults());
            // One team for what the pages show and who may see it: the attribution's, else the team folder.
            let team = cost.team.clone().or_else(|| team_of(root, &log.name));
            let properties = summary.config.properties.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            let facts = facts.of(AppFacts::from_properties(summary.user.as_deref(), team.as_deref(), properties));
            Listed::Record(Record::of(Entry {
                attempt: attempt_of(&summary, log, read_at_ms),
                outcome: summary.outcome,
                team,
                cost_usd: cost.cost,
                warnings,
                log: EntryLog::Listed(log.clone()),
                facts,
            }))
        }
        Ok(summary) => {
            let mut message = "no SparkListenerApplicationStart event could be read".to_owned();
            if let Some(first) = summary.warnings.iter().find(|w| w.file.is_some()) {
                message.push_str(&format!(" ({})", first.message));
            }
            Listed::Skipped(SkippedLog { fingerprint: log.fingerprint, reason: SKIP_NO_START, message })
        }
        Err(error) => Listed::Skipped(SkippedLog {
            fingerprint: log.fingerprint,
            reason: SKIP_UNREADABLE,
            message: error.to_string(),
        }),
    }
}

/// Reads a log once into both its summary (what listing keeps, as
/// `AppLog::summarize` gives it) and its detail: each line is parsed once, on
/// every core, and both are folded from that parse in log order
/// ([`summarize_and_replay_batches`]).
/// The detail is `None` when that fold failed (a panic on its thread); the
/// summary is then read again on its own.
pub fn summarize_and_replay(log: &AppLog) -> Result<(AppSummary, Option<AppDetail>), ReadError> {
    let workers = sparkplane_workqueue::cores();
    match read_once(log, workers, |_| {})? {
        Some((summary, mut detail)) => {
            detail.insight = Some(Insight::of(&summary));
            Ok((summary, Some(detail)))
        }
        None => Ok((log.summarize()?, None)),
    }
}

/// The detail an application's pages and the API answer from, with what the
/// pages add ([`Insight`]) taken from the summary folded in the same pass
/// ([`summarize_and_replay`]); when that joint fold fails, the detail alone.
pub fn replay_with_insight(log: &AppLog) -> Result<AppDetail, ReadError> {
    match summarize_and_replay(log)? {
        (_, Some(detail)) => Ok(detail),
        (_, None) => replay(log),
    }
}

/// The one pass over a log that both the listing of a large log
/// ([`summarize_and_replay`]) and the facts export (`sparkplane_facts::read`) make: the
/// lines are read on this thread (each handed to `each_line` first: the export
/// picks its SQL executions out there), parsed on `workers` threads, and
/// folded in log order into the summary and the detail. `None` when the fold
/// failed (a panic on one of its threads).
pub fn read_once(
    log: &AppLog,
    workers: usize,
    mut each_line: impl FnMut(&str),
) -> Result<Option<(AppSummary, AppDetail)>, ReadError> {
    let event_log = log.open()?;
    let mut lines = event_log.lines()?;
    let mut summary = AppSummaryBuilder::new();
    summary.set_in_progress(event_log.in_progress);
    let folded = summarize_and_replay_batches(
        |batch| {
            while batch.bytes() < BATCH_BYTES {
                for warning in lines.take_warnings() {
                    batch.warn(warning);
                }
                let Some(line) = lines.next_line() else {
                    for warning in lines.take_warnings() {
                        batch.warn(warning);
                    }
                    return false;
                };
                each_line(line.text);
                batch.push_from(line.file, line.number, line.text);
            }
            true
        },
        workers,
        summary,
    );
    Ok(folded.map(|(mut detail, summary)| {
        detail.last_updated_ms = log.modified_ms;
        (summary.finish(), detail)
    }))
}

fn stored_skip(skipped: &SkippedLog) -> StoredSkip {
    StoredSkip { fingerprint: skipped.fingerprint, reason: skipped.reason.to_owned(), message: skipped.message.clone() }
}

fn restored_skip(name: String, stored: StoredSkip) -> Option<(String, SkippedLog)> {
    let reason = [SKIP_UNREADABLE, SKIP_NO_START].into_iter().find(|r| *r == stored.reason)?;
    Some((name, SkippedLog { fingerprint: stored.fingerprint, reason, message: stored.message }))
}

/// Why a local log holds fewer bytes now than when it was listed (a rolling
/// log's part deleted, a file cut short), which a replay would not notice: it
/// lays out the parts it finds now. `None` when it did not shrink, or lives in
/// object storage (whose parts were named by the listing, so a deleted one
/// fails its read).
fn shrunk_since_listed(log: &AppLog) -> Option<String> {
    let path = std::path::Path::new(&log.name);
    let meta = std::fs::metadata(path).ok()?;
    let now: u64 = if meta.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    } else {
        meta.len()
    };
    (now < log.size)
        .then(|| format!("it holds {now} bytes now, {} when it was listed (part of it was deleted)", log.size))
}

/// Replays one log into its detail (no cache), reading on this thread and
/// parsing on every core ([`crate::pipeline`]).
pub fn replay(log: &AppLog) -> Result<AppDetail, ReadError> {
    let event_log = log.open()?;
    let mut lines = event_log.lines()?;
    let workers = sparkplane_workqueue::cores();
    let mut detail = replay_batches(
        |batch| {
            while batch.bytes() < BATCH_BYTES {
                let Some(line) = lines.next_line() else { return false };
                batch.push(line.number, line.text);
            }
            true
        },
        workers,
    );
    detail.last_updated_ms = log.modified_ms;
    Ok(detail)
}

impl Catalog for Index {
    fn attempts(&self) -> Vec<AttemptInfo> {
        self.records.lock().map(|r| r.iter().map(Record::attempt).collect()).unwrap_or_default()
    }

    fn snapshot(&self) -> Arc<dyn AttemptSnapshot> {
        match self.records.lock() {
            Ok(records) => Arc::new(records.snapshot()),
            Err(_) => Arc::new(Vec::<AttemptInfo>::new()),
        }
    }

    fn attempts_of(&self, app_id: &str) -> Vec<AttemptInfo> {
        let Ok(records) = self.records.lock() else { return Vec::new() };
        records.iter().filter(|r| r.app_id() == app_id).map(Record::attempt).collect()
    }

    fn detail(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Arc<AppDetail>> {
        let log = self.log_of(app_id, attempt_id)?;
        let key = (log.name.clone(), log.fingerprint);
        if let Some(hit) = self.cache.lock().ok()?.get(&key) {
            return Some(hit);
        }
        let replayed = match shrunk_since_listed(&log) {
            Some(why) => Err(why),
            None => replay_with_insight(&log).map_err(|e| e.to_string()),
        };
        let detail = match replayed {
            Ok(mut detail) => {
                // A running task is measured to the attempt's lastUpdated, as Spark's replay measures it.
                let listed = self.attempts_of(app_id).into_iter().find(|a| a.attempt_id.as_deref() == attempt_id);
                detail.last_updated_ms = listed.map(|a| a.last_updated_ms).or(detail.last_updated_ms);
                Arc::new(detail)
            }
            Err(error) => {
                self.stats.lock().unwrap_or_else(|p| p.into_inner()).unreadable_details += 1;
                let mut unreadable = self.unreadable.lock().unwrap_or_else(|p| p.into_inner());
                unreadable.insert(log.name.clone(), error);
                return None;
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(key, Arc::clone(&detail));
        }
        Some(detail)
    }

    fn log_source(&self) -> Option<String> {
        Some(self.source.uri())
    }

    fn why_unreadable(&self, app_id: &str, attempt_id: Option<&str>) -> Option<String> {
        let log = match self.log_of_attempt(app_id, attempt_id)? {
            EntryLog::Listed(log) => log,
            EntryLog::Restored(key) => {
                return Some(format!(
                    "its event log {} is known from the persisted index and has not been read again since the restart",
                    key.name
                ));
            }
        };
        let unreadable = self.unreadable.lock().ok()?;
        unreadable.get(&log.name).map(|why| format!("its event log {} cannot be read: {why}", log.name))
    }

    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "{\"Event\":\"SparkListenerApplicationStart\",\"App Name\":\"a\",\"App ID\":\"app-1\",\
                       \"Timestamp\":1000,\"User\":\"u\"}\n";

    #[test]
    fn one_attempts_entry_is_the_listed_one_and_unknown_attempts_have_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("app-1"), LOG).expect("write");
        let attempt_2 =
            LOG.replace("\"User\":\"u\"", "\"User\":\"u\",\"App Attempt ID\":\"2\"").replace("app-1", "app-2");
        std::fs::write(dir.path().join("app-2_2"), attempt_2).expect("write");
        let index = Index::new(LogSource::Local(dir.path().to_owned()), 1 << 20);
        index.refresh().expect("lists");
        let listed = index.entries();
        assert_eq!(listed.len(), 2);
        for entry in &listed {
            let one = index.entry_of(&entry.attempt.app_id, entry.attempt.attempt_id.as_deref()).expect("found");
            assert_eq!(
                (one.attempt.app_id, one.attempt.attempt_id, one.outcome, one.team, one.cost_usd.to_bits()),
                (
                    entry.attempt.app_id.clone(),
                    entry.attempt.attempt_id.clone(),
                    entry.outcome,
                    entry.team.clone(),
                    entry.cost_usd.to_bits()
                )
            );
        }
        assert_eq!(index.entry_of("app-2", Some("2")).map(|e| e.attempt.app_id), Some("app-2".to_owned()));
        assert!(index.entry_of("app-2", None).is_none(), "an attempt is named to be found");
        assert!(index.entry_of("app-1", Some("1")).is_none() && index.entry_of("app-3", None).is_none());
    }

    #[test]
    fn a_failed_listing_keeps_the_last_list_and_says_why_until_the_location_lists_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("logs");
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::write(folder.join("app-1"), LOG).expect("write");
        let index = Index::new(LogSource::Local(folder.clone()), 1 << 20);
        index.refresh().expect("lists");
        assert_eq!(index.entries().len(), 1);

        std::fs::rename(&folder, dir.path().join("moved")).expect("rename");
        let error = index.refresh().expect_err("the folder is gone");
        let stats = index.stats();
        assert_eq!((stats.refresh_failures, stats.refreshes), (1, 1));
        assert_eq!(stats.last_refresh_error, Some(error.to_string()));
        assert_eq!(index.entries().len(), 1, "the last good list is kept");

        std::fs::rename(dir.path().join("moved"), &folder).expect("rename back");
        index.refresh().expect("lists again");
        let stats = index.stats();
        assert_eq!((stats.refresh_failures, stats.last_refresh_error, stats.refreshes), (1, None, 2));
    }

    #[test]
    fn a_listed_log_that_cannot_be_replayed_is_counted_and_named_until_the_next_listing() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("app-1"), LOG).expect("write");
        let index = Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 20);
        index.refresh().expect("lists");
        assert_eq!(index.why_unreadable("app-1", None), None);
        std::fs::remove_file(dir.path().join("app-1")).expect("delete");
        assert!(index.detail("app-1", None).is_none());
        let why = index.why_unreadable("app-1", None).expect("a reason");
        let log = dir.path().join("app-1").display().to_string();
        assert!(why.starts_with(&format!("its event log {log} cannot be read: ")), "{why}");
        assert_eq!(index.stats().unreadable_details, 1);
        index.refresh().expect("lists");
        assert!(index.entries().is_empty() && index.why_unreadable("app-1", None).is_none());
    }
}

#[cfg(test)]
#[path = "index_persist_tests.rs"]
mod persist_tests;
