//! The decisions of a backup, as pure functions: which objects to copy and
//! which earlier copies to reuse, which runs and copies retention removes,
//! and what a verify's observations mean.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::{DumpRecord, Manifest, ObjectRecord};

/// One object found at a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceObject {
    /// The source's name.
    pub source: String,
    /// Key below the source's URL.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// Modification time, ms since the epoch.
    pub modified_ms: i64,
}

/// What to do with one source object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyStep {
    /// The previous run copied it, and its size and modification time are
    /// unchanged and its copy is still there: refer to that copy.
    Reuse(ObjectRecord),
    /// Copy (and hash) it.
    Copy(SourceObject),
}

/// The incremental plan: an object whose size and modification time match
/// the previous manifest's record, and whose copy exists, is reused; every
/// other object is copied. Sorted by source and key.
pub fn plan_copies(found: &[SourceObject], previous: Option<&Manifest>, blobs: &BTreeSet<String>) -> Vec<CopyStep> {
    let known: BTreeMap<(&str, &str), &ObjectRecord> = previous
        .map(|m| m.objects.iter().map(|o| ((o.source.as_str(), o.key.as_str()), o)).collect())
        .unwrap_or_default();
    let mut steps: Vec<CopyStep> = found
        .iter()
        .map(|object| match known.get(&(object.source.as_str(), object.key.as_str())) {
            Some(record)
                if record.size == object.size
                    && record.modified_ms == object.modified_ms
                    && blobs.contains(&record.sha256) =>
            {
                CopyStep::Reuse((*record).clone())
            }
            _ => CopyStep::Copy(object.clone()),
        })
        .collect();
    steps.sort_by(|a, b| key(a).cmp(&key(b)));
    steps
}

fn key(step: &CopyStep) -> (&str, &str) {
    match step {
        CopyStep::Reuse(r) => (&r.source, &r.key),
        CopyStep::Copy(o) => (&o.source, &o.key),
    }
}

/// A complete run, as retention sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunInfo {
    /// Its id (sorts by time).
    pub id: String,
    /// When it started, ms since the epoch.
    pub started_ms: i64,
}

/// The complete runs retention removes: beyond the newest `count`, or older
/// than `max_age_ms` at `now_ms`. The newest run is always kept.
pub fn plan_retention(runs: &[RunInfo], count: Option<u32>, max_age_ms: Option<u64>, now_ms: i64) -> Vec<String> {
    let mut sorted: Vec<&RunInfo> = runs.iter().collect();
    sorted.sort_by(|a, b| b.id.cmp(&a.id));
    sorted
        .iter()
        .enumerate()
        .filter(|(index, run)| {
            *index > 0
                && (count.is_some_and(|c| *index >= c as usize)
                    || max_age_ms.is_some_and(|age| now_ms.saturating_sub(run.started_ms) > age as i64))
        })
        .map(|(_, run)| run.id.clone())
        .collect()
}

/// Copies no kept manifest refers to.
pub fn unreferenced_blobs(blobs: &BTreeSet<String>, kept: &[Manifest]) -> Vec<String> {
    let referenced: BTreeSet<&str> = kept.iter().flat_map(|m| m.objects.iter().map(|o| o.sha256.as_str())).collect();
    blobs.iter().filter(|b| !referenced.contains(b.as_str())).cloned().collect()
}

/// What verify saw of one copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Not there.
    Missing,
    /// There, with this size and SHA-256.
    Present {
        /// Bytes.
        size: u64,
        /// SHA-256, hex.
        sha256: String,
    },
}

/// Problems with one copy: nothing when it is what the manifest recorded.
pub fn check_copy(what: &str, at: &str, size: u64, sha256: &str, observed: &Observed) -> Option<String> {
    match observed {
        Observed::Missing => Some(format!("{what}: missing (expected at {at})")),
        Observed::Present { size: s, sha256: h } if *s != size || h != sha256 => Some(format!(
            "{what}: corrupt at {at}: {s} bytes with sha256 {h}, the manifest recorded {size} bytes with sha256 {sha256}"
        )),
        Observed::Present { .. } => None,
    }
}

/// Problems with a restored metastore: tables missing and row counts that
/// differ from what the manifest recorded (tables the restore has beyond the
/// manifest's are not problems).
pub fn check_tables(dump: &DumpRecord, restored: &BTreeMap<String, u64>) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, rows) in &dump.tables {
        match restored.get(table) {
            None => problems.push(format!("metastore table {table}: missing after restore")),
            Some(found) if found != rows => problems
                .push(format!("metastore table {table}: {found} rows after restore, the manifest recorded {rows}")),
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, size: u64, modified_ms: i64) -> SourceObject {
        SourceObject { source: "event-logs".into(), key: key.into(), size, modified_ms }
    }

    fn record(key: &str, size: u64, modified_ms: i64, sha256: &str) -> ObjectRecord {
        ObjectRecord { source: "event-logs".into(), key: key.into(), size, sha256: sha256.into(), modified_ms }
    }

    fn manifest(objects: Vec<ObjectRecord>) -> Manifest {
        Manifest {
            api_version: "sparkplane.dev/v1alpha1".into(),
            kind: crate::manifest::KIND.into(),
            backup: "b".into(),
            id: "1".into(),
            started: String::new(),
            finished: String::new(),
            duration_ms: 0,
            metastore: None,
            sources: BTreeMap::new(),
            objects,
            total_bytes: 0,
            written_bytes: 0,
        }
    }

    #[test]
    fn unchanged_objects_with_their_copy_are_reused_everything_else_copied() {
        let previous = manifest(vec![
            record("same", 10, 1, "aa"),
            record("grown", 10, 1, "bb"),
            record("touched", 10, 1, "cc"),
            record("copy-lost", 10, 1, "dd"),
        ]);
        let blobs: BTreeSet<String> = ["aa", "bb", "cc"].map(String::from).into();
        let found = [
            object("same", 10, 1),
            object("grown", 11, 1),
            object("touched", 10, 2),
            object("copy-lost", 10, 1),
            object("new", 1, 1),
        ];
        let steps = plan_copies(&found, Some(&previous), &blobs);
        assert_eq!(
            steps,
            [
                CopyStep::Copy(object("copy-lost", 10, 1)),
                CopyStep::Copy(object("grown", 11, 1)),
                CopyStep::Copy(object("new", 1, 1)),
                CopyStep::Reuse(record("same", 10, 1, "aa")),
                CopyStep::Copy(object("touched", 10, 2)),
            ]
        );
        assert!(plan_copies(&found, None, &blobs).iter().all(|s| matches!(s, CopyStep::Copy(_))));
    }

    #[test]
    fn retention_keeps_the_newest_always_and_removes_by_count_or_age() {
        let day = 86_400_000;
        let runs: Vec<RunInfo> =
            (1..=5).map(|d| RunInfo { id: format!("2026010{d}T000000Z"), started_ms: d * day }).collect();
        assert_eq!(plan_retention(&runs, Some(3), None, 6 * day), ["20260102T000000Z", "20260101T000000Z"]);
        assert_eq!(
            plan_retention(&runs, None, Some(2 * day as u64), 6 * day),
            ["20260103T000000Z", "20260102T000000Z", "20260101T000000Z"]
        );
        // Everything is too old, but the newest run stays.
        assert_eq!(plan_retention(&runs, Some(1), Some(1), 100 * day).len(), 4);
    }

    #[test]
    fn copies_are_checked_by_size_and_checksum() {
        let ok = Observed::Present { size: 3, sha256: "ab".into() };
        assert_eq!(check_copy("x", "s3://t/x", 3, "ab", &ok), None);
        assert_eq!(
            check_copy("x", "s3://t/x", 3, "ab", &Observed::Missing).as_deref(),
            Some("x: missing (expected at s3://t/x)")
        );
        let bad = Observed::Present { size: 3, sha256: "cd".into() };
        assert_eq!(
            check_copy("x", "s3://t/x", 3, "ab", &bad).as_deref(),
            Some("x: corrupt at s3://t/x: 3 bytes with sha256 cd, the manifest recorded 3 bytes with sha256 ab")
        );
    }
}
