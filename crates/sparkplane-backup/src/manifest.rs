//! The manifest of one backup run: what was copied, its size and SHA-256,
//! the metastore's tables and row counts at the dump's snapshot, and when.
//! Written last, so a run without one never looks complete. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `kind` of a manifest.
pub const KIND: &str = "BackupManifest";

/// One backup run's record.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// [`KIND`].
    pub kind: String,
    /// The Backup's `metadata.name`.
    pub backup: String,
    /// The run id (its start, UTC).
    pub id: String,
    /// Start of the run (RFC 3339, UTC).
    pub started: String,
    /// End of the run, before the manifest was written.
    pub finished: String,
    /// `finished - started`, in milliseconds.
    pub duration_ms: u64,
    /// The metastore dump, when the Backup declares a metastore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metastore: Option<DumpRecord>,
    /// Each object source by name, and its URL.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Every object copied or reused, sorted by source and key.
    #[serde(default)]
    pub objects: Vec<ObjectRecord>,
    /// Bytes of the dump and every object this run refers to.
    pub total_bytes: u64,
    /// Bytes this run wrote (the dump and new objects).
    pub written_bytes: u64,
}

/// The metastore dump.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DumpRecord {
    /// Database dumped.
    pub database: String,
    /// Key of the dump below the target.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the dump, hex.
    pub sha256: String,
    /// Rows per table (`schema.table`) in the snapshot the dump was taken from.
    pub tables: BTreeMap<String, u64>,
}

/// One object copy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRecord {
    /// The source's name (`event-logs`, `releases`, a lake prefix).
    pub source: String,
    /// Key below the source's URL.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the content, hex; the copy is at `blobs/sha256/<sha256>`.
    pub sha256: String,
    /// The source object's modification time (ms since the epoch) when it was copied.
    pub modified_ms: i64,
}

impl Manifest {
    /// Pretty JSON, keys in a fixed order.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a manifest; the error says what is wrong.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        if manifest.kind != KIND {
            return Err(format!("kind is `{}`, not {KIND}", manifest.kind));
        }
        Ok(manifest)
    }
}
