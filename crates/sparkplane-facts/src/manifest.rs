//! The export's memory, kept in the target beside the tables
//! (`_sparkplane_export.json`; the leading `_` keeps Spark from reading it
//! as data): which log each application came from, the log's size,
//! modification time and fingerprint when it was written, whether it had
//! completed, and the files it wrote.
//!
//! Owns: [`Manifest`] (load, record, save) and [`decide`], the one rule for
//! whether a log is written: new → write; in progress and changed → write
//! again; unchanged, or completed and written once → leave. Must not: read
//! logs or build rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::read::ListedLog;
use crate::sink::Sink;
use crate::{ExportError, SCHEMA_VERSION};

/// The manifest's file name in the target.
pub const MANIFEST_FILE: &str = "_sparkplane_export.json";

/// What the target holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// The tables' layout version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// By log key: the log's name below the source, without `.inprogress`
    /// (so a log keeps its entry when Spark renames it at the end).
    pub logs: BTreeMap<String, ManifestEntry>,
    #[serde(skip)]
    state: State,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
enum State {
    #[default]
    Saved,
    New,
    Dirty,
}

/// One log as it was when its application was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestEntry {
    /// The application (`id` or `id/attempt`).
    pub app: String,
    /// Bytes stored (a rolling log's parts summed).
    pub size: u64,
    /// Last modification, epoch milliseconds (`None` when the store did not say).
    pub modified_ms: Option<i64>,
    /// The listing's fingerprint of the log (its files' names, sizes, times
    /// and ETags), which tells an object rewritten to the same size within the
    /// store's second from the one written. Absent in manifests written before
    /// it was kept: those logs compare by size and time alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<u64>,
    /// The application had ended when it was written: it is never written again.
    pub completed: bool,
    /// The files written for it, relative to the target.
    pub files: Vec<String>,
}

/// What to do with one listed log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not written yet: write it.
    Write,
    /// Written while in progress and changed since: write it again.
    Rewrite,
    /// Written, and the log is as it was.
    Unchanged,
    /// Written after it completed: final, whatever the log does now.
    Final,
}

/// Whether `log` is written, given what the manifest says of it.
pub fn decide(previous: Option<&ManifestEntry>, log: &ListedLog) -> Decision {
    match previous {
        None => Decision::Write,
        Some(entry) if entry.completed => Decision::Final,
        Some(entry)
            if entry.size == log.size
                && entry.modified_ms == log.modified_ms
                && entry.fingerprint.is_none_or(|kept| kept == log.fingerprint) =>
        {
            Decision::Unchanged
        }
        Some(_) => Decision::Rewrite,
    }
}

impl Manifest {
    /// The target's manifest, or an empty one when the target holds none.
    /// A manifest of another schema version, or one that is not ours, stops
    /// the export (exit 2): mixing layouts in one table would break readers.
    pub fn load(sink: &dyn Sink) -> Result<Manifest, ExportError> {
        let Some(bytes) = sink.read(MANIFEST_FILE).map_err(ExportError::Target)? else {
            return Ok(Manifest { schema_version: SCHEMA_VERSION, logs: BTreeMap::new(), state: State::New });
        };
        let url = sink.describe(MANIFEST_FILE);
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| ExportError::Manifest {
            url: url.clone(),
            detail: format!(
                "not a sparkplane export manifest ({e}); export to an empty folder or prefix, or remove the file \
                 to export everything again"
            ),
        })?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(ExportError::Manifest {
                url,
                detail: format!(
                    "the export there has schema version {}, this sparkplane writes version {SCHEMA_VERSION}; \
                     export to a new folder or prefix (see docs/history-export.md)",
                    manifest.schema_version
                ),
            });
        }
        Ok(manifest)
    }

    /// True when the target had no manifest and none has been saved yet.
    pub fn is_new(&self) -> bool {
        self.state == State::New
    }

    /// True when entries changed since the last save.
    pub fn is_dirty(&self) -> bool {
        self.state == State::Dirty
    }

    /// Records that `log`'s application was written to `files`.
    pub fn record(&mut self, log: &ListedLog, completed: bool, app: String, files: Vec<String>) {
        let (size, modified_ms, fingerprint) = (log.size, log.modified_ms, Some(log.fingerprint));
        let entry = ManifestEntry { app, size, modified_ms, fingerprint, completed, files };
        self.logs.insert(log.key.clone(), entry);
        self.state = State::Dirty;
    }

    /// Writes the manifest, compact (it grows with the fleet), keys sorted: the same content gives the same bytes.
    pub fn save(&mut self, sink: &dyn Sink) -> Result<(), ExportError> {
        let mut bytes = serde_json::to_vec(self).map_err(|e| ExportError::Manifest {
            url: sink.describe(MANIFEST_FILE),
            detail: format!("cannot encode the manifest: {e}"),
        })?;
        bytes.push(b'\n');
        sink.write_atomically(MANIFEST_FILE, bytes).map_err(ExportError::Target)?;
        self.state = State::Saved;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::MemorySink;

    fn log(size: u64, modified_ms: i64) -> ListedLog {
        let modified_ms = Some(modified_ms);
        ListedLog { key: "app-1".into(), name: "/logs/app-1".into(), size, modified_ms, fingerprint: 1 }
    }

    fn entry(size: u64, modified_ms: i64, completed: bool) -> ManifestEntry {
        let (modified_ms, fingerprint) = (Some(modified_ms), Some(1));
        ManifestEntry { app: "app-1".into(), size, modified_ms, fingerprint, completed, files: vec![] }
    }

    fn rewritten(mut log: ListedLog) -> ListedLog {
        log.fingerprint = 2;
        log
    }

    fn unfingerprinted(mut entry: ManifestEntry) -> ManifestEntry {
        entry.fingerprint = None;
        entry
    }

    #[test]
    fn each_log_is_written_once_unless_it_was_in_progress_and_changed() {
        let cases = [
            (None, log(10, 5), Decision::Write),
            (Some(entry(10, 5, false)), log(10, 5), Decision::Unchanged),
            (Some(entry(10, 5, false)), log(12, 5), Decision::Rewrite),
            (Some(entry(10, 5, false)), log(10, 6), Decision::Rewrite),
            // Same size and second, another ETag: the object was rewritten.
            (Some(entry(10, 5, false)), rewritten(log(10, 5)), Decision::Rewrite),
            // A manifest from before fingerprints were kept compares size and time.
            (Some(unfingerprinted(entry(10, 5, false))), rewritten(log(10, 5)), Decision::Unchanged),
            (Some(entry(10, 5, true)), log(10, 5), Decision::Final),
            (Some(entry(10, 5, true)), log(99, 9), Decision::Final),
        ];
        for (previous, listed, expected) in cases {
            assert_eq!(decide(previous.as_ref(), &listed), expected, "{previous:?} / {listed:?}");
        }
    }

    #[test]
    fn a_manifest_round_trips_and_another_schema_version_is_refused() {
        let sink = MemorySink::default();
        let mut manifest = Manifest::load(&sink).expect("empty target");
        assert!(manifest.is_new());
        manifest.record(&log(10, 5), true, "app-1".into(), vec!["applications/x.parquet".into()]);
        assert!(manifest.is_dirty());
        manifest.save(&sink).expect("saved");
        let again = Manifest::load(&sink).expect("loads");
        assert_eq!(again.logs, manifest.logs);
        assert!(!again.is_new() && !again.is_dirty());

        let text = String::from_utf8(sink.get(MANIFEST_FILE).expect("written")).expect("utf-8");
        sink.write_atomically(MANIFEST_FILE, text.replace("\"schemaVersion\":1", "\"schemaVersion\":7").into_bytes())
            .expect("put");
        let error = Manifest::load(&sink).expect_err("version 7 is not ours");
        assert_eq!(error.category(), sparkplane_category::Category::Invalid);
        assert!(
            error.to_string().starts_with("memory://_sparkplane_export.json: the export there has schema version 7")
        );

        sink.write_atomically(MANIFEST_FILE, b"{\"other\": true}".to_vec()).expect("put");
        let error = Manifest::load(&sink).expect_err("not ours");
        assert!(error.to_string().contains("not a sparkplane export manifest"), "{error}");
    }
}
