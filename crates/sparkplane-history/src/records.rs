//! The index's listing records, kept compactly: a fleet of a million
//! applications is a million of them, so each holds its texts in one
//! allocation, its times and log key as numbers, and nothing that grows with
//! the application's jobs, stages or tasks (ADR 0016).
//!
//! Owns: [`Record`] (one listed log: its name, the application's ids, name,
//! user, Spark version and team joined in one string; its times, outcome and
//! cost; the log's size, modification time and fingerprint; a pointer to its
//! application's [`AccessFacts`], shared with every record of the same ones
//! through the index's [`FactsTable`]; and only for a log
//! that cannot be opened again from its name alone — an object in object
//! storage, a local path that is not UTF-8 — the listed log itself), the
//! [`Records`] of a location in log-name order (found by binary search), and
//! the views built from a record on demand: the API's `AttemptInfo`, the
//! index's `Entry`, the persisted index's `StoredEntry` (borrowed from it), the
//! records one viewer may see ([`VisibleSnapshot`]).
//!
//! Must not: read logs, decide which logs changed (the `index` module does),
//! or answer requests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use sparkplane_access::AppFacts;
use sparkplane_eventlog::{AppLog, Outcome};

use crate::api::{AttemptInfo, AttemptSnapshot, AttemptView};
use crate::persist::{LogKey, StoredEntry, decode_facts, encode_facts};

/// What the access decision reads of an application (ADR 0090), shared by
/// every record with the same: a fleet's applications have few distinct ones
/// (a team, its namespace, the users that ran them), so each record holds a
/// pointer, and a request decides once per distinct facts, not per record.
#[derive(Debug)]
pub struct AccessFacts {
    pub facts: AppFacts,
    /// As the persisted index keeps them ([`encode_facts`]): also what they are shared by.
    bytes: Box<[u8]>,
}

/// The distinct [`AccessFacts`] of an index's records, each kept once.
#[derive(Debug, Default)]
pub struct FactsTable(Mutex<HashMap<Box<[u8]>, Arc<AccessFacts>>>);

impl FactsTable {
    /// The shared facts equal to `facts`.
    pub fn of(&self, facts: AppFacts) -> Arc<AccessFacts> {
        let Ok(shared) = self.shared::<Infallible>(&encode_facts(&facts), || Ok(facts));
        shared
    }

    /// The shared facts a record of the persisted index holds; what is wrong when they are not [`encode_facts`]'s.
    pub fn stored(&self, bytes: &[u8]) -> Result<Arc<AccessFacts>, String> {
        self.shared(bytes, || decode_facts(bytes))
    }

    fn shared<E>(&self, bytes: &[u8], make: impl FnOnce() -> Result<AppFacts, E>) -> Result<Arc<AccessFacts>, E> {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = table.get(bytes) {
            return Ok(Arc::clone(shared));
        }
        let shared = Arc::new(AccessFacts { facts: make()?, bytes: bytes.into() });
        table.insert(bytes.into(), Arc::clone(&shared));
        Ok(shared)
    }

    /// Forgets the facts no record holds any more.
    pub fn prune(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).retain(|_, shared| Arc::strong_count(shared) > 1);
    }

    /// How many distinct facts are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// The log behind an [`Entry`]: as listed, or only its key, restored from the
/// persisted index and not listed since the restart (its detail cannot be read until it is).
#[derive(Debug, Clone)]
pub enum EntryLog {
    Listed(AppLog),
    Restored(LogKey),
}

impl EntryLog {
    /// The log's local path or URL.
    pub fn name(&self) -> &str {
        match self {
            EntryLog::Listed(log) => &log.name,
            EntryLog::Restored(key) => &key.name,
        }
    }

    /// The log as listed, to open; `None` until a restored record is listed again.
    pub fn listed(&self) -> Option<&AppLog> {
        match self {
            EntryLog::Listed(log) => Some(log),
            EntryLog::Restored(_) => None,
        }
    }
}

/// One log's listing record and what the web page shows, as the index hands
/// it out (it keeps each compactly, as a [`Record`]).
#[derive(Debug, Clone)]
pub struct Entry {
    pub log: EntryLog,
    pub attempt: AttemptInfo,
    pub outcome: Outcome,
    pub team: Option<String>,
    /// What the application cost at the default price sheet (`sparkplane cost`'s model), USD.
    pub cost_usd: f64,
    /// Reading problems (a corrupt line, a cut-off tail), first few only.
    pub warnings: Vec<String>,
    /// What the access decision reads of the application.
    pub facts: Arc<AccessFacts>,
}

/// The texts of a record, in this order, joined.
const NAME: usize = 0;
const APP_ID: usize = 1;
const ATTEMPT_ID: usize = 2;
const APP_NAME: usize = 3;
const USER: usize = 4;
const SPARK_VERSION: usize = 5;
const TEAM: usize = 6;
const TEXTS: usize = 7;

const HAS_ATTEMPT: u8 = 1;
const HAS_TEAM: u8 = 2;
const COMPLETED: u8 = 4;
/// Known from the persisted index and not listed since the start: its log cannot be opened yet.
const RESTORED: u8 = 8;
/// Read from its log and not yet written to the persisted index (set by [`Record::of`] for a listed log).
const UNSTORED: u8 = 16;
/// The application's end event gave the driver's exit code (`exit_code`).
const HAS_EXIT: u8 = 32;

/// One listed log's record.
#[derive(Debug, Clone)]
pub struct Record {
    texts: Box<str>,
    /// Where each text but the last ends in `texts`.
    ends: [u32; TEXTS - 1],
    flags: u8,
    outcome: Outcome,
    /// The driver's exit code when [`HAS_EXIT`] is set.
    exit_code: i32,
    start_ms: i64,
    end_ms: i64,
    last_updated_ms: i64,
    cost_usd: f64,
    size: u64,
    modified_ms: Option<i64>,
    fingerprint: u64,
    facts: Arc<AccessFacts>,
    /// The listed log when [`AppLog::local`] cannot give it back, and reading warnings: rare, so boxed.
    extra: Option<Box<Extra>>,
}

#[derive(Debug, Clone, Default)]
struct Extra {
    log: Option<AppLog>,
    warnings: Vec<String>,
}

impl Record {
    /// The record of a listed (or restored) entry.
    pub fn of(entry: Entry) -> Record {
        // The log's name and file facts, borrowed: its name is copied once, into the texts.
        let (name, size, modified_ms, fingerprint) = match &entry.log {
            EntryLog::Listed(log) => (log.name.as_str(), log.size, log.modified_ms, log.fingerprint),
            EntryLog::Restored(key) => (key.name.as_str(), key.size, key.modified_ms, key.fingerprint),
        };
        let a = &entry.attempt;
        let (texts, ends) = joined([
            name,
            &a.app_id,
            a.attempt_id.as_deref().unwrap_or_default(),
            &a.name,
            &a.user,
            &a.spark_version,
            entry.team.as_deref().unwrap_or_default(),
        ]);
        // A listed log is kept unless its name is its path; a restored one has none to keep.
        let (restored, kept_log) = match entry.log {
            EntryLog::Listed(log) => (false, (!log.is_local_by_name()).then_some(log)),
            EntryLog::Restored(_) => (true, None),
        };
        let mut flags = flags_of(a.attempt_id.is_some(), entry.team.is_some(), a.completed, restored);
        if !restored {
            flags |= UNSTORED;
        }
        if a.exit_code.is_some() {
            flags |= HAS_EXIT;
        }
        let (outcome, start_ms, end_ms, last_updated_ms) = (entry.outcome, a.start_ms, a.end_ms, a.last_updated_ms);
        let extra = (kept_log.is_some() || !entry.warnings.is_empty())
            .then(|| Box::new(Extra { log: kept_log, warnings: entry.warnings }));
        Record {
            texts,
            ends,
            flags,
            outcome,
            exit_code: a.exit_code.unwrap_or(0),
            start_ms,
            end_ms,
            last_updated_ms,
            cost_usd: entry.cost_usd,
            size,
            modified_ms,
            fingerprint,
            facts: entry.facts,
            extra,
        }
    }

    /// The record of the log `name` as the persisted index kept it, restored
    /// (not listed since the start): its texts copied once, into the record,
    /// and its access facts, shared (`facts`, from its `stored.facts`).
    pub fn restored(name: &str, stored: &StoredEntry<'_>, facts: Arc<AccessFacts>) -> Record {
        let (texts, ends) = joined([
            name,
            stored.app_id,
            stored.attempt_id.unwrap_or_default(),
            stored.name,
            stored.user,
            stored.spark_version,
            stored.team.unwrap_or_default(),
        ]);
        let extra = (!stored.warnings.is_empty()).then(|| {
            Box::new(Extra { log: None, warnings: stored.warnings.iter().map(|w| (*w).to_owned()).collect() })
        });
        Record {
            texts,
            ends,
            flags: flags_of(stored.attempt_id.is_some(), stored.team.is_some(), stored.completed, true)
                | if stored.exit_code.is_some() { HAS_EXIT } else { 0 },
            outcome: stored.outcome,
            exit_code: stored.exit_code.unwrap_or(0),
            start_ms: stored.start_ms,
            end_ms: stored.end_ms,
            last_updated_ms: stored.last_updated_ms,
            cost_usd: stored.cost_usd,
            size: stored.size,
            modified_ms: stored.modified_ms,
            fingerprint: stored.fingerprint,
            facts,
            extra,
        }
    }

    fn text(&self, which: usize) -> &str {
        let start = if which == 0 { 0 } else { self.ends[which - 1] as usize };
        let end = if which < TEXTS - 1 { self.ends[which] as usize } else { self.texts.len() };
        self.texts.get(start..end).unwrap_or_default()
    }

    /// The log's local path or URL.
    pub fn name(&self) -> &str {
        self.text(NAME)
    }

    /// The application id.
    pub fn app_id(&self) -> &str {
        self.text(APP_ID)
    }

    /// The attempt id.
    pub fn attempt_id(&self) -> Option<&str> {
        (self.flags & HAS_ATTEMPT != 0).then(|| self.text(ATTEMPT_ID))
    }

    /// What the access decision reads of the application, shared.
    pub fn facts(&self) -> &Arc<AccessFacts> {
        &self.facts
    }

    /// Reading problems of the log (a corrupt line, a cut-off tail), first few only.
    pub fn warnings(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.warnings)
    }

    /// Known from the persisted index and not listed since the start.
    pub fn is_restored(&self) -> bool {
        self.flags & RESTORED != 0
    }

    /// Read from its log and not yet written to the persisted index.
    pub fn is_unstored(&self) -> bool {
        self.flags & UNSTORED != 0
    }

    /// The listing record the API answers.
    pub fn attempt(&self) -> AttemptInfo {
        self.view().to_info()
    }

    /// The listing record, borrowed (what the application list is written from).
    pub fn view(&self) -> AttemptView<'_> {
        AttemptView {
            app_id: self.app_id(),
            attempt_id: self.attempt_id(),
            name: self.text(APP_NAME),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            last_updated_ms: self.last_updated_ms,
            user: self.text(USER),
            completed: self.flags & COMPLETED != 0,
            spark_version: self.text(SPARK_VERSION),
            exit_code: self.exit_code(),
        }
    }

    /// The driver's exit code, when the application's end event gave one.
    fn exit_code(&self) -> Option<i32> {
        (self.flags & HAS_EXIT != 0).then_some(self.exit_code)
    }

    /// The log's key: name, size, modification time, fingerprint.
    pub fn key(&self) -> LogKey {
        LogKey {
            name: self.name().to_owned(),
            size: self.size,
            modified_ms: self.modified_ms,
            fingerprint: self.fingerprint,
        }
    }

    /// The log as listed, to open; `None` for a restored record not listed since the start.
    pub fn log(&self) -> Option<AppLog> {
        if self.is_restored() {
            return None;
        }
        match self.extra.as_ref().and_then(|e| e.log.clone()) {
            Some(log) => Some(log),
            None => Some(AppLog::local(self.name().to_owned(), self.size, self.modified_ms, self.fingerprint)),
        }
    }

    /// The index's view of the record.
    pub fn entry(&self) -> Entry {
        let log = match self.log() {
            Some(log) => EntryLog::Listed(log),
            None => EntryLog::Restored(self.key()),
        };
        Entry {
            log,
            attempt: self.attempt(),
            outcome: self.outcome,
            team: (self.flags & HAS_TEAM != 0).then(|| self.text(TEAM).to_owned()),
            cost_usd: self.cost_usd,
            warnings: self.warnings().to_vec(),
            facts: Arc::clone(&self.facts),
        }
    }

    /// Whether `log`, as listed now, is the log this record was read from.
    pub fn is_unchanged(&self, log: &AppLog) -> bool {
        (self.size, self.modified_ms, self.fingerprint) == (log.size, log.modified_ms, log.fingerprint)
    }

    /// A restored record whose log was listed unchanged: from now on its log can be opened.
    pub fn mark_listed(&mut self, log: AppLog) {
        self.flags &= !RESTORED;
        if !log.is_local_by_name() {
            self.extra.get_or_insert_with(Box::default).log = Some(log);
        }
    }

    /// What the persisted index keeps of the record, borrowed from it.
    pub fn stored(&self) -> StoredEntry<'_> {
        StoredEntry {
            size: self.size,
            modified_ms: self.modified_ms,
            fingerprint: self.fingerprint,
            app_id: self.app_id(),
            attempt_id: self.attempt_id(),
            name: self.text(APP_NAME),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            last_updated_ms: self.last_updated_ms,
            user: self.text(USER),
            completed: self.flags & COMPLETED != 0,
            spark_version: self.text(SPARK_VERSION),
            exit_code: self.exit_code(),
            outcome: self.outcome,
            team: (self.flags & HAS_TEAM != 0).then(|| self.text(TEAM)),
            cost_usd: self.cost_usd,
            warnings: self.warnings().iter().map(String::as_str).collect(),
            facts: &self.facts.bytes,
        }
    }
}

/// A record's texts joined in one allocation, and where each but the last ends.
fn joined(texts: [&str; TEXTS]) -> (Box<str>, [u32; TEXTS - 1]) {
    let mut joined = String::with_capacity(texts.iter().map(|t| t.len()).sum());
    let mut ends = [0u32; TEXTS - 1];
    for (i, text) in texts.iter().enumerate() {
        joined.push_str(text);
        if i < TEXTS - 1 {
            ends[i] = u32::try_from(joined.len()).unwrap_or(u32::MAX);
        }
    }
    (joined.into_boxed_str(), ends)
}

fn flags_of(has_attempt: bool, has_team: bool, completed: bool, restored: bool) -> u8 {
    let mut flags = 0;
    for (set, flag) in [(has_attempt, HAS_ATTEMPT), (has_team, HAS_TEAM), (completed, COMPLETED), (restored, RESTORED)]
    {
        if set {
            flags |= flag;
        }
    }
    flags
}

/// Every record of a location, in log-name order. The list is shared: a
/// request for the application list takes it ([`Records::snapshot`]) and
/// reads it while it is sent, without a copy; a change made meanwhile copies
/// it first (and only a change does).
#[derive(Debug, Clone, Default)]
pub struct Records {
    sorted: Arc<Vec<Record>>,
    /// Every record in `sorted` is in the persisted index, though some still
    /// say otherwise: they were marked stored while a snapshot shared the list,
    /// and clearing their flags would have copied it ([`Records::mark_stored`]).
    all_stored: bool,
}

/// The records as they were at one moment, shared with the index: what the
/// application list is written from.
pub struct RecordSnapshot(Arc<Vec<Record>>);

impl AttemptSnapshot for RecordSnapshot {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn attempt(&self, at: usize) -> AttemptView<'_> {
        self.0[at].view()
    }
}

/// The records one viewer may see, at one moment: the shared list and where the seen ones are in it.
pub struct VisibleSnapshot {
    all: Arc<Vec<Record>>,
    seen: Vec<u32>,
}

impl AttemptSnapshot for VisibleSnapshot {
    fn len(&self) -> usize {
        self.seen.len()
    }

    fn attempt(&self, at: usize) -> AttemptView<'_> {
        self.all[self.seen[at] as usize].view()
    }
}

impl Records {
    /// The records `sees` accepts, as they are now, sharing the list (their positions are copied, not they).
    pub fn snapshot_where(&self, mut sees: impl FnMut(&Record) -> bool) -> VisibleSnapshot {
        let seen = self.sorted.iter().zip(0u32..).filter(|&(r, _)| sees(r)).map(|(_, at)| at).collect();
        VisibleSnapshot { all: Arc::clone(&self.sorted), seen }
    }

    /// Records in any order (sorted here; a name given twice keeps the last).
    pub fn new(mut records: Vec<Record>) -> Records {
        records.sort_by(|a, b| a.name().cmp(b.name()));
        records.dedup_by(|later, earlier| {
            let same = later.name() == earlier.name();
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        Records { sorted: Arc::new(records), all_stored: false }
    }

    /// Every record as it is now, shared (no copy): later changes leave it as it is.
    pub fn snapshot(&self) -> RecordSnapshot {
        RecordSnapshot(Arc::clone(&self.sorted))
    }

    /// The record of the log named `name`.
    pub fn get(&self, name: &str) -> Option<&Record> {
        self.sorted.binary_search_by(|r| r.name().cmp(name)).ok().map(|at| &self.sorted[at])
    }

    /// The record of the log named `name`, to change.
    /// (A snapshot taken before is left as it was: the records are copied first then.)
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Record> {
        let at = self.sorted.binary_search_by(|r| r.name().cmp(name)).ok()?;
        self.owned().get_mut(at)
    }

    /// The list to change (a copy when a snapshot shares it), with the
    /// stored marks left pending applied.
    fn owned(&mut self) -> &mut Vec<Record> {
        let all = Arc::make_mut(&mut self.sorted);
        if std::mem::take(&mut self.all_stored) {
            clear_unstored(all);
        }
        all
    }

    /// Whether `record` (one of these) is still to be written to the persisted index.
    pub fn is_unstored(&self, record: &Record) -> bool {
        !self.all_stored && record.is_unstored()
    }

    /// Every record, in log-name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Record> {
        self.sorted.iter()
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Up to `len` records from the `at`th, in log-name order.
    pub fn slice(&self, at: usize, len: usize) -> &[Record] {
        let start = at.min(self.sorted.len());
        &self.sorted[start..start.saturating_add(len).min(self.sorted.len())]
    }

    /// Marks every record as written to the persisted index. While a
    /// snapshot shares the list (a list being sent as the store's write ends)
    /// the marks are kept pending rather than copying every record for them:
    /// they are applied by the next change, which copies the list anyway.
    pub fn mark_stored(&mut self) {
        if self.all_stored || !self.sorted.iter().any(Record::is_unstored) {
            return;
        }
        match Arc::get_mut(&mut self.sorted) {
            Some(all) => clear_unstored(all),
            None => self.all_stored = true,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Keeps the records of the logs `present` (sorted names) says are there;
    /// the names of the others, which are dropped.
    pub fn retain_present(&mut self, present: &[&str]) -> Vec<String> {
        let gone = |r: &Record| present.binary_search(&r.name()).is_err();
        let removed: Vec<String> = self.sorted.iter().filter(|r| gone(r)).map(|r| r.name().to_owned()).collect();
        if !removed.is_empty() {
            self.owned().retain(|r| !gone(r));
        }
        removed
    }

    /// Adds or replaces records (`fresh`, in any order, each log's at most
    /// once: one listing's), and drops the ones named in `gone`.
    pub fn update(&mut self, mut fresh: Vec<Record>, gone: &[String]) {
        if fresh.is_empty() && gone.is_empty() {
            return;
        }
        let mut gone: Vec<&str> = gone.iter().map(String::as_str).collect();
        gone.sort_unstable();
        // The list itself when no snapshot shares it, else a copy (the snapshot keeps the old one).
        let mut all = Arc::try_unwrap(std::mem::take(&mut self.sorted)).unwrap_or_else(|shared| shared.to_vec());
        if std::mem::take(&mut self.all_stored) {
            clear_unstored(&mut all);
        }
        all.retain(|r| gone.binary_search(&r.name()).is_err());
        // Sorted in place, on every core: a stable sort would take a second buffer of up to 8 MB for a first
        // listing's records.
        sparkplane_workqueue::sort_on_all_cores(&mut fresh, |a, b| a.name().cmp(b.name()));
        fresh.dedup_by(|later, earlier| later.name() == earlier.name());
        // A first listing's records are the list itself (no copy into an empty one).
        let sorted = if all.is_empty() { fresh } else { merged(all, fresh) };
        *self = Records { sorted: Arc::new(sorted), all_stored: false };
    }
}

/// The records of `old` and `fresh`, both in name order, in name order; a
/// name in both keeps `fresh`'s record.
fn merged(old: Vec<Record>, fresh: Vec<Record>) -> Vec<Record> {
    let mut all = Vec::with_capacity(old.len() + fresh.len());
    let mut old = old.into_iter().peekable();
    let mut fresh = fresh.into_iter().peekable();
    while let (Some(o), Some(f)) = (old.peek(), fresh.peek()) {
        match o.name().cmp(f.name()) {
            std::cmp::Ordering::Less => all.extend(old.next()),
            std::cmp::Ordering::Greater => all.extend(fresh.next()),
            std::cmp::Ordering::Equal => {
                old.next();
                all.extend(fresh.next());
            }
        }
    }
    all.extend(old);
    all.extend(fresh);
    all
}

fn clear_unstored(records: &mut [Record]) {
    for record in records {
        record.flags &= !UNSTORED;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, attempt: Option<&str>, team: Option<&str>, warnings: &[&str], restored: bool) -> Entry {
        let key = LogKey { name: name.to_owned(), size: 10, modified_ms: Some(5), fingerprint: 7 };
        let log = if restored {
            EntryLog::Restored(key)
        } else {
            EntryLog::Listed(AppLog::local(name.to_owned(), 10, Some(5), 7))
        };
        Entry {
            log,
            attempt: AttemptInfo {
                app_id: "app-1".to_owned(),
                attempt_id: attempt.map(str::to_owned),
                name: "a name".to_owned(),
                start_ms: 1,
                end_ms: 2,
                last_updated_ms: 5,
                user: "ü".to_owned(),
                completed: true,
                spark_version: "4.1.1".to_owned(),
                exit_code: None,
            },
            outcome: Outcome::Failed,
            team: team.map(str::to_owned),
            cost_usd: 0.25,
            warnings: warnings.iter().map(|w| (*w).to_owned()).collect(),
            // As a listing reads them (where an empty team is no team).
            facts: FactsTable::default().of(AppFacts::from_properties(Some("ü"), team, [])),
        }
    }

    fn same(a: &Entry, b: &Entry) -> bool {
        let logs = match (&a.log, &b.log) {
            (EntryLog::Listed(x), EntryLog::Listed(y)) => {
                (&x.name, x.size, x.modified_ms, x.fingerprint) == (&y.name, y.size, y.modified_ms, y.fingerprint)
            }
            (EntryLog::Restored(x), EntryLog::Restored(y)) => x == y,
            _ => false,
        };
        logs && a.attempt == b.attempt && a.outcome == b.outcome && a.team == b.team && a.warnings == b.warnings
    }

    #[test]
    fn a_record_gives_back_the_entry_it_was_made_of() {
        for restored in [false, true] {
            for (attempt, team, warnings) in [
                (None, None, &[][..]),
                (Some("1"), Some("payments"), &["line 3 cut off"][..]),
                (Some(""), Some(""), &[][..]),
            ] {
                let original = entry("/logs/local-1", attempt, team, warnings, restored);
                let record = Record::of(original.clone());
                assert!(same(&record.entry(), &original), "{:?} / {original:?}", record.entry());
                assert_eq!(record.is_restored(), restored);
                let table = FactsTable::default();
                let facts = table.stored(record.stored().facts).expect("the facts read back");
                assert_eq!(facts.facts, original.facts.facts);
                let back = Record::restored("/logs/local-1", &record.stored(), facts);
                assert_eq!(back.attempt(), original.attempt);
                let again = back.entry();
                assert_eq!(
                    (again.outcome, &again.team, &again.warnings),
                    (original.outcome, &original.team, &original.warnings)
                );
                assert!(back.is_restored() && back.key() == record.key());
                assert_eq!(record.is_unstored(), !restored, "a record read from its log is to be written");
                assert!(!back.is_unstored(), "a restored record is in the store");
            }
        }
    }

    #[test]
    fn a_record_holds_what_a_listing_keeps_in_a_few_hundred_bytes_at_most() {
        let record =
            Record::of(entry("/data/spark-events/local-1426533911241", Some("1"), Some("payments"), &[], false));
        let inline = std::mem::size_of::<Record>();
        let heap = record.texts.len();
        assert!(inline <= 128, "{inline} bytes inline");
        assert!(inline + heap <= 256, "{inline} + {heap} bytes");
        assert!(record.extra.is_none(), "a local log at a UTF-8 path is opened again from its name");
    }

    #[test]
    fn equal_access_facts_are_kept_once_until_no_record_holds_them() {
        let table = FactsTable::default();
        let team = |t: &str| AppFacts { team: Some(t.to_owned()), owner: Some("u".to_owned()), ..AppFacts::default() };
        let (a, also_a, b) = (table.of(team("a")), table.of(team("a")), table.of(team("b")));
        assert!(Arc::ptr_eq(&a, &also_a) && !Arc::ptr_eq(&a, &b));
        let restored = table.stored(&encode_facts(&team("a"))).expect("decodes");
        assert!(Arc::ptr_eq(&a, &restored), "facts restored from the store are the listed ones");
        assert_eq!(table.stored(&[1, 2]).map(|_| ()), Err("cut short at byte 0 of 2".to_owned()));
        assert_eq!(table.len(), 2);
        drop((b, restored));
        table.prune();
        assert_eq!(table.len(), 1, "`b` is forgotten, `a` is still held");
        drop((a, also_a));
        table.prune();
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn a_viewers_snapshot_holds_the_records_it_sees_in_name_order_without_copying_them() {
        let make = |name: &str| Record::of(entry(name, None, Some(name), &[], false));
        let records = Records::new(vec![make("/l/c"), make("/l/a"), make("/l/b")]);
        let seen = records.snapshot_where(|r| r.name() != "/l/b");
        assert!(Arc::ptr_eq(&seen.all, &records.sorted));
        let names: Vec<&str> = (0..seen.len()).map(|at| seen.all[seen.seen[at] as usize].name()).collect();
        assert_eq!(names, ["/l/a", "/l/c"]);
        assert_eq!(seen.attempt(1).app_id, "app-1");
    }

    #[test]
    fn records_are_found_by_name_and_updated_in_name_order() {
        let make = |name: &str| Record::of(entry(name, None, None, &[], false));
        let mut records = Records::new(vec![make("/l/c"), make("/l/a"), make("/l/b")]);
        assert_eq!(records.iter().map(Record::name).collect::<Vec<_>>(), ["/l/a", "/l/b", "/l/c"]);
        assert!(records.get("/l/b").is_some() && records.get("/l/d").is_none());
        let removed = records.retain_present(&["/l/a", "/l/c"]);
        assert_eq!(removed, ["/l/b"]);
        records.update(vec![make("/l/0"), make("/l/c")], &["/l/a".to_owned()]);
        assert_eq!(records.iter().map(Record::name).collect::<Vec<_>>(), ["/l/0", "/l/c"]);
        assert_eq!(records.slice(1, 5).iter().map(Record::name).collect::<Vec<_>>(), ["/l/c"]);
        assert!(records.slice(2, 5).is_empty() && records.slice(9, 1).is_empty());
        assert!(records.iter().all(Record::is_unstored));
        records.mark_stored();
        assert!(!records.iter().any(Record::is_unstored));
    }

    #[test]
    fn an_update_in_any_order_replaces_records_by_name_and_keeps_the_rest_in_name_order() {
        let make = |name: &str, user: &str| {
            let mut e = entry(name, None, None, &[], false);
            e.attempt.user = user.to_owned();
            Record::of(e)
        };
        let mut records = Records::new(vec![make("/l/b", "old"), make("/l/d", "old"), make("/l/f", "old")]);
        // A listing's records come in whatever order its threads finished them.
        records.update(vec![make("/l/g", "new"), make("/l/d", "new"), make("/l/a", "new"), make("/l/e", "new")], &[]);
        let listed: Vec<(String, String)> =
            records.iter().map(|r| (r.name().to_owned(), r.entry().attempt.user)).collect();
        let expected =
            [("/l/a", "new"), ("/l/b", "old"), ("/l/d", "new"), ("/l/e", "new"), ("/l/f", "old"), ("/l/g", "new")];
        assert_eq!(listed, expected.map(|(n, u)| (n.to_owned(), u.to_owned())));
        // A first listing's records become the list as they are, sorted.
        let mut first = Records::new(Vec::new());
        first.update(vec![make("/l/c", "x"), make("/l/a", "x"), make("/l/b", "x")], &[]);
        assert_eq!(first.iter().map(Record::name).collect::<Vec<_>>(), ["/l/a", "/l/b", "/l/c"]);
    }

    #[test]
    fn records_marked_stored_while_a_snapshot_shares_them_are_not_copied_and_stay_stored() {
        let make = |name: &str| Record::of(entry(name, None, None, &[], false));
        let mut records = Records::new(vec![make("/l/a"), make("/l/b")]);
        let snapshot = records.snapshot();
        records.mark_stored();
        assert!(Arc::ptr_eq(&records.sorted, &snapshot.0), "the shared list is not copied for the marks");
        assert!(records.iter().all(|r| !records.is_unstored(r)), "yet every record counts as stored");
        // The next change copies the list (the snapshot keeps its own) and applies the marks; its new record is not stored.
        records.update(vec![make("/l/c")], &[]);
        assert!(!Arc::ptr_eq(&records.sorted, &snapshot.0));
        let unstored: Vec<&str> = records.iter().filter(|r| records.is_unstored(r)).map(Record::name).collect();
        assert_eq!(unstored, ["/l/c"]);
        assert!(records.iter().filter(|r| r.name() != "/l/c").all(|r| !r.is_unstored()), "the pending marks applied");
        assert_eq!(snapshot.len(), 2);
    }
}
