//! `backup run`: one backup from where it runs. The metastore is dumped
//! (custom format) straight into the target while it is hashed; each source
//! object the incremental plan says to copy is streamed into the target,
//! hashed on the way and stored by content; the manifest is written last, so
//! a run that fails part-way never looks complete. Retention then removes
//! old runs and copies no kept manifest refers to.

use std::collections::BTreeSet;
use std::io::Read;

use crate::document::object_sources;
use sha2::{Digest, Sha256};
use sparkplane_api::backup::Backup;
use sparkplane_storage::{StorageError, Store};

use crate::manifest::{DumpRecord, KIND, Manifest, ObjectRecord};
use crate::plan::{CopyStep, RunInfo, SourceObject, plan_copies, plan_retention, unreferenced_blobs};
use crate::{BackupError, layout, metrics, pg, stores};

/// Parts of multipart uploads (S3's minimum is 5 MiB).
const PART: usize = 8 * 1024 * 1024;

/// What a run did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// The manifest written.
    pub manifest: Manifest,
    /// Where it was written.
    pub manifest_url: String,
    /// Objects copied in this run.
    pub copied: usize,
    /// Objects reused from earlier runs.
    pub reused: usize,
    /// Runs retention removed.
    pub removed_runs: Vec<String>,
    /// Copies retention removed.
    pub removed_blobs: usize,
    /// Sources that held no object (a wrong URL looks like this too).
    pub empty_sources: Vec<String>,
}

/// A reader that hashes and counts what passes through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Hashing { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The SHA-256 (hex) and byte count of everything read.
    pub fn finish(self) -> (String, u64) {
        (hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The metastore server a Backup names, with the password read from its variable.
pub fn server(backup: &Backup) -> Result<Option<(pg::Server, String)>, BackupError> {
    let Some(db) = &backup.spec.metastore else { return Ok(None) };
    let password = match &db.password {
        Some(p) => Some(pg::Password(stores::env_value(&p.env, "spec.metastore.password.env")?)),
        None => None,
    };
    let server = pg::Server {
        bin: pg::find_bin()?,
        host: db.host.clone(),
        port: db.port.unwrap_or(crate::document::DEFAULT_PG_PORT),
        user: db.user.clone(),
        password,
    };
    Ok(Some((server, db.database.clone())))
}

/// Every complete run under the target, oldest first, with its manifest.
pub fn complete_runs(target: &Store, backup: &str) -> Result<Vec<Manifest>, BackupError> {
    let runs = target.child(&layout::runs(backup));
    let entries = match runs.list() {
        Ok(entries) => entries,
        Err(StorageError::NotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(BackupError::storage(e)),
    };
    let mut manifests = Vec::new();
    for entry in entries {
        if let Some((id, "manifest.json")) = layout::split_run_key(&entry.key) {
            let bytes = target.get(&layout::manifest(backup, id)).map_err(BackupError::storage)?;
            let manifest = Manifest::parse(&bytes).map_err(|e| BackupError::Failed {
                message: format!("{}: not a backup manifest: {e}", target.describe(&layout::manifest(backup, id))),
                help: "remove or restore that run's manifest.json".into(),
            })?;
            manifests.push(manifest);
        }
    }
    manifests.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(manifests)
}

fn blobs(target: &Store, backup: &str) -> Result<BTreeSet<String>, BackupError> {
    match target.child(&layout::blobs(backup)).list() {
        Ok(entries) => Ok(entries.into_iter().map(|e| e.key).filter(|k| !k.is_empty()).collect()),
        Err(StorageError::NotFound { .. }) => Ok(BTreeSet::new()),
        Err(e) => Err(BackupError::storage(e)),
    }
}

/// The metastore's dump streamed to `key` on the target, hashed on the way; none without a metastore.
fn dump_metastore(backup: &Backup, target: &Store, key: &str) -> Result<Option<DumpRecord>, BackupError> {
    let Some((server, database)) = server(backup)? else { return Ok(None) };
    let mut dump = server.dump(&database)?;
    let tables = dump.tables.clone();
    let mut hashing = Hashing::new(&mut dump.stdout);
    let stored = target.put_from(key, &mut hashing, PART).map_err(BackupError::storage);
    let (sha256, size) = hashing.finish();
    let finished = dump.finish();
    stored?;
    finished?;
    Ok(Some(DumpRecord { database, key: key.to_owned(), size, sha256, tables }))
}

/// The object sources as listed now: every object, each source's location,
/// the opened stores, and the sources that hold nothing (a missing folder is empty).
struct Listed {
    found: Vec<SourceObject>,
    sources: std::collections::BTreeMap<String, String>,
    opened: std::collections::BTreeMap<String, Store>,
    empty_sources: Vec<String>,
}

fn list_sources(backup: &Backup) -> Result<Listed, BackupError> {
    let mut listed = Listed {
        found: Vec::new(),
        sources: std::collections::BTreeMap::new(),
        opened: std::collections::BTreeMap::new(),
        empty_sources: Vec::new(),
    };
    for source in object_sources(backup) {
        let store = stores::source(backup, &source.url)?;
        let entries = match store.list() {
            Ok(entries) => entries,
            Err(StorageError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(BackupError::storage(e)),
        };
        if entries.is_empty() {
            listed.empty_sources.push(format!("{} ({})", source.name, store.location()));
        }
        listed.found.extend(entries.into_iter().map(|e| SourceObject {
            source: source.name.clone(),
            key: e.key,
            size: e.size,
            modified_ms: e.modified_ms,
        }));
        listed.sources.insert(source.name.clone(), store.location().to_string());
        listed.opened.insert(source.name, store);
    }
    Ok(listed)
}

impl RunReport {
    /// The run as `backup run` says it: the manifest written, the metastore
    /// dump, the objects copied and reused, what retention removed, and how
    /// long it took.
    pub fn text(&self) -> String {
        let m = &self.manifest;
        let mut text = format!("backup {} run {} complete: {}\n", m.backup, m.id, self.manifest_url);
        if let Some(dump) = &m.metastore {
            let rows: u64 = dump.tables.values().sum();
            text.push_str(&format!(
                "  metastore {}: {} bytes, {} tables, {rows} rows, sha256 {}\n",
                dump.database,
                dump.size,
                dump.tables.len(),
                dump.sha256
            ));
        }
        text.push_str(&format!(
            "  objects: {} copied, {} reused from earlier runs ({} bytes in all, {} written)\n",
            self.copied, self.reused, m.total_bytes, m.written_bytes
        ));
        if !self.removed_runs.is_empty() {
            text.push_str(&format!("  retention removed runs {}\n", self.removed_runs.join(", ")));
        }
        text.push_str(&format!("  took {:.1}s\n", m.duration_ms as f64 / 1000.0));
        text
    }
}

/// Seconds since the epoch, as the exposition writes times.
fn epoch_seconds(t: jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// `backup run`: one backup now, then, when the Backup names a Pushgateway,
/// how it went pushed there (its freshness on success, the failure
/// otherwise; `metrics`). The run's outcome decides; a push that failed is
/// returned beside it, for a warning (alerts on staleness catch it).
pub fn run_and_push(backup: &Backup) -> (Result<RunReport, BackupError>, Option<BackupError>) {
    let outcome = run(backup, jiff::Timestamp::now());
    let late_after = crate::document::late_after(backup);
    let now = epoch_seconds(jiff::Timestamp::now());
    let exposition = match &outcome {
        Ok(report) => metrics::success(&report.manifest, now, late_after),
        Err(_) => metrics::failure(&backup.metadata.name, now, late_after),
    };
    let pushgateway = backup.spec.metrics.as_ref().map(|m| m.pushgateway.as_str());
    let pushed = pushgateway.and_then(|url| metrics::push(url, &backup.metadata.name, &exposition).err());
    (outcome, pushed)
}

/// Runs one backup at `now`.
pub fn run(backup: &Backup, now: jiff::Timestamp) -> Result<RunReport, BackupError> {
    let name = &backup.metadata.name;
    let id = layout::run_id(now);
    let target = stores::target(backup)?;
    let previous = complete_runs(&target, name)?;
    if previous.iter().any(|m| m.id == id) {
        return Err(BackupError::Failed {
            message: format!("a backup run {id} already exists at {}", target.describe(&layout::manifest(name, &id))),
            help: "runs are named by the second they start; run again a second later".into(),
        });
    }
    let metastore = dump_metastore(backup, &target, &layout::dump(name, &id))?;
    let mut written = metastore.as_ref().map_or(0, |m| m.size);
    let Listed { found, sources, opened, empty_sources } = list_sources(backup)?;
    let mut existing = blobs(&target, name)?;
    let steps = plan_copies(&found, previous.last(), &existing);
    let (mut copied, mut reused, mut objects) = (0, 0, Vec::new());
    for (n, step) in steps.into_iter().enumerate() {
        match step {
            CopyStep::Reuse(record) => {
                reused += 1;
                objects.push(record);
            }
            CopyStep::Copy(object) => {
                let store = &opened[&object.source];
                let incoming = layout::incoming(name, &id, n);
                let reader = match store.reader(&object.key, PART) {
                    Ok(reader) => reader,
                    // S3A marks a folder it creates with an empty object
                    // `name/`; listings show it under the folder's own name,
                    // which no GET finds. It holds no data: nothing to copy.
                    Err(StorageError::NotFound { .. }) if object.size == 0 => continue,
                    Err(e) => return Err(BackupError::storage(e)),
                };
                let mut hashing = Hashing::new(reader);
                target.put_from(&incoming, &mut hashing, PART).map_err(BackupError::storage)?;
                let (sha256, size) = hashing.finish();
                if !existing.contains(&sha256) {
                    target.copy_to(&incoming, &target, &layout::blob(name, &sha256)).map_err(BackupError::storage)?;
                    existing.insert(sha256.clone());
                    written += size;
                }
                target.delete(&incoming).map_err(BackupError::storage)?;
                copied += 1;
                objects.push(ObjectRecord {
                    source: object.source,
                    key: object.key,
                    size,
                    sha256,
                    modified_ms: object.modified_ms,
                });
            }
        }
    }
    let finished = jiff::Timestamp::now();
    let total_bytes = metastore.as_ref().map_or(0, |m| m.size) + objects.iter().map(|o| o.size).sum::<u64>();
    let manifest = Manifest {
        api_version: sparkplane_api::API_VERSION.into(),
        kind: KIND.into(),
        backup: name.clone(),
        id: id.clone(),
        started: now.to_string(),
        finished: finished.to_string(),
        duration_ms: u64::try_from(finished.as_millisecond().saturating_sub(now.as_millisecond())).unwrap_or(0),
        metastore,
        sources,
        objects,
        total_bytes,
        written_bytes: written,
    };
    let manifest_key = layout::manifest(name, &id);
    target.put(&manifest_key, manifest.to_json().into_bytes()).map_err(BackupError::storage)?;
    // Retention, only after this run is complete.
    let mut runs = previous;
    runs.push(manifest.clone());
    let infos: Vec<RunInfo> = runs
        .iter()
        .map(|m| RunInfo {
            id: m.id.clone(),
            started_ms: m.started.parse::<jiff::Timestamp>().map_or(0, |t| t.as_millisecond()),
        })
        .collect();
    let retention = &backup.spec.retention;
    let removed_runs =
        plan_retention(&infos, retention.count, retention.max_age.map(|d| d.as_millis()), now.as_millisecond());
    for run_id in &removed_runs {
        let run_folder = target.child(&format!("{}/{run_id}", layout::runs(name)));
        // The manifest first: a half-removed run must not look complete.
        target.delete(&layout::manifest(name, run_id)).map_err(BackupError::storage)?;
        for entry in run_folder.list().unwrap_or_default() {
            run_folder.delete(&entry.key).map_err(BackupError::storage)?;
        }
    }
    let kept: Vec<Manifest> = runs.into_iter().filter(|m| !removed_runs.contains(&m.id)).collect();
    let unreferenced = unreferenced_blobs(&blobs(&target, name)?, &kept);
    for blob in &unreferenced {
        target.delete(&layout::blob(name, blob)).map_err(BackupError::storage)?;
    }
    Ok(RunReport {
        manifest_url: target.describe(&manifest_key),
        manifest,
        copied,
        reused,
        removed_runs,
        removed_blobs: unreferenced.len(),
        empty_sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(target: &std::path::Path, lake: &std::path::Path, pushgateway: Option<&str>) -> Backup {
        let mut doc = serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Backup", "metadata": {"name": "platform"},
            "spec": {"image": "registry.example.com/sparkplane-backup:0.1.0", "schedule": "15 2 * * *",
                     "retention": {"count": 3}, "target": {"url": target.display().to_string()},
                     "objects": {"lake": [{"name": "sales", "url": lake.display().to_string()}]}},
        });
        if let Some(url) = pushgateway {
            doc["spec"]["metrics"] = serde_json::json!({"pushgateway": url});
        }
        serde_json::from_value(doc).expect("a Backup")
    }

    #[test]
    fn a_run_is_reported_and_a_push_that_fails_is_said_beside_it_without_failing_the_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (target, lake) = (dir.path().join("backups"), dir.path().join("lake"));
        std::fs::create_dir_all(&lake).expect("lake");
        std::fs::write(lake.join("part-0.parquet"), b"rows").expect("object");
        let (outcome, pushed) = run_and_push(&backup(&target, &lake, None));
        let report = outcome.expect("the run");
        assert!(pushed.is_none(), "no Pushgateway, no push");
        assert_eq!((report.copied, report.reused), (1, 0));
        let text = report.text();
        assert!(text.starts_with(&format!("backup platform run {} complete: ", report.manifest.id)), "{text}");
        assert!(
            text.contains("\n  objects: 1 copied, 0 reused from earlier runs (4 bytes in all, 4 written)\n"),
            "{text}"
        );
        assert!(text.ends_with("s\n") && text.contains("  took "), "{text}");
        // A second later, a second run reuses the copy; a Pushgateway nobody answers is a warning, not a failure.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let (outcome, pushed) = run_and_push(&backup(&target, &lake, Some("http://127.0.0.1:9")));
        assert_eq!(outcome.expect("the run").reused, 1);
        assert!(matches!(pushed, Some(BackupError::Unreachable { .. })), "{pushed:?}");
    }
}
