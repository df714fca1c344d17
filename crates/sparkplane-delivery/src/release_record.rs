//! The release record: what one release of a job for one environment is —
//! the resolved spec, its content hash, the image, the source commit, the CI
//! result, the SBOM's digest, who released it and when.
//!
//! Owns: the record's shape (`kind: Release`, JSON on disk and in the
//! cluster), the canonical JSON encoding the content hash is taken over, the
//! release id, the file names of a release's parts, and a job's releases as
//! `releases` lists them ([`history_row`], [`history_table`]). Must not build
//! SBOMs, sign, read files or look at the clock; it is the leaf every other
//! release module reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::sign::hex;

/// The `kind` of a release record.
pub const KIND: &str = "Release";
/// The record's file name in a release directory.
pub const RECORD_FILE: &str = "release.json";
/// The record signature's file name.
pub const RECORD_SIGNATURE_FILE: &str = "release.sig";
/// The SBOM's file name.
pub const SBOM_FILE: &str = "sbom.cdx.json";
/// The SBOM signature's file name.
pub const SBOM_SIGNATURE_FILE: &str = "sbom.sig";

/// One release of one job for one environment. Immutable once written.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRecord {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Release`.
    pub kind: String,
    /// `<job>-<environment>-<first 12 hex digits of the content hash>`.
    pub id: String,
    /// The job's name.
    pub job: String,
    /// The namespace the job runs in, as resolved for the environment.
    pub namespace: String,
    /// The environment the spec was resolved for.
    pub environment: String,
    /// `sha256:` and the SHA-256 of [`canonical_json`] of `spec`.
    pub content_hash: String,
    /// The core's spec hash (approvals and rendered names use it).
    pub spec_hash: String,
    /// The container image.
    pub image: ReleasedImage,
    /// Where the spec came from.
    pub source: SourceRef,
    /// The CI run the release was made from, when a report was given.
    #[serde(default)]
    pub ci: Option<CiResult>,
    /// The SBOM file and its digest.
    pub sbom: FileRef,
    /// Who released it.
    pub released_by: String,
    /// When, RFC 3339 UTC.
    pub released_at: String,
    /// The key that signed the record and the SBOM (`sha256:` of its DER), when signed.
    #[serde(default)]
    pub signed_by: Option<String>,
    /// The fully resolved SparkJob for the environment.
    pub spec: Value,
}

/// The image a release runs.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleasedImage {
    /// `repository@digest` when pinned, else `repository:tag`.
    pub reference: String,
    /// The repository.
    pub repository: String,
    /// The tag, when given.
    #[serde(default)]
    pub tag: Option<String>,
    /// The digest (`sha256:…`); none for a tag-only image, which policy refuses for prod.
    #[serde(default)]
    pub digest: Option<String>,
}

/// The commit the job file was released from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceRef {
    /// The commit id.
    pub commit: String,
    /// The job file, as given.
    pub job_file: String,
}

/// What the CI report given to `release` said.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiResult {
    /// The report's overall `outcome` (`pass`, `fail`, `error`).
    pub outcome: String,
    /// `sha256:` of the report file's bytes.
    pub report_digest: String,
}

/// A file of the release and its digest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileRef {
    /// Its name in the release directory.
    pub file: String,
    /// `sha256:` of its bytes.
    pub digest: String,
}

impl ReleaseRecord {
    /// The record as written to `release.json`: pretty JSON, one final newline.
    pub fn to_json(&self) -> String {
        format!("{}\n", serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// Reads a record; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<ReleaseRecord, String> {
        let record: ReleaseRecord = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if record.kind != KIND {
            return Err(format!("kind is `{}`, not `{KIND}`", record.kind));
        }
        Ok(record)
    }

    /// Whether `other` is the same release: the same spec, image, commit, CI
    /// report and signing key — all but who, when, and the SBOM's digest
    /// (the SBOM is stamped with the release time; the rest of it follows
    /// from the spec and the commit's requirements).
    pub fn same_release(&self, other: &ReleaseRecord) -> bool {
        let strip = |r: &ReleaseRecord| ReleaseRecord {
            released_by: String::new(),
            released_at: String::new(),
            sbom: FileRef { file: r.sbom.file.clone(), digest: String::new() },
            ..r.clone()
        };
        strip(self) == strip(other)
    }
}

/// JSON with object keys sorted (by their UTF-8 bytes), no insignificant
/// whitespace, strings and numbers as serde_json writes them: the same value
/// always gives the same bytes, whatever order its maps were built in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `sha256:` and the SHA-256 of the canonical JSON of `spec`.
pub fn content_hash(spec: &Value) -> String {
    format!("sha256:{}", hex(&Sha256::digest(canonical_json(spec).as_bytes())))
}

/// The release id: `<job>-<environment>-<first 12 hex digits of the content hash>`.
pub fn release_id(job: &str, environment: &str, content_hash: &str) -> String {
    let hex = content_hash.strip_prefix("sha256:").unwrap_or(content_hash);
    format!("{job}-{environment}-{}", hex.get(..12).unwrap_or(hex))
}

/// A release as a row of `releases -o json`.
pub fn history_row(r: &ReleaseRecord) -> Value {
    serde_json::json!({
        "id": r.id, "environment": r.environment, "releasedAt": r.released_at, "releasedBy": r.released_by,
        "commit": r.source.commit, "contentHash": r.content_hash, "ci": r.ci.as_ref().map(|c| &c.outcome),
    })
}

/// A job's releases as `releases` shows them: per environment, oldest first.
pub fn history_table(records: &[ReleaseRecord]) -> String {
    let mut table = sparkplane_documents::table::Table::new(&["ENVIRONMENT", "RELEASED", "BY", "ID", "COMMIT", "CI"]);
    let mut sorted: Vec<&ReleaseRecord> = records.iter().collect();
    sorted.sort_by(|a, b| (&a.environment, &a.released_at, &a.id).cmp(&(&b.environment, &b.released_at, &b.id)));
    for r in sorted {
        table.row(vec![
            r.environment.clone(),
            r.released_at.clone(),
            r.released_by.clone(),
            r.id.clone(),
            r.source.commit.chars().take(12).collect(),
            r.ci.as_ref().map_or("-".to_owned(), |c| c.outcome.clone()),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_keeps_array_order() {
        let a = json!({"b": 1, "a": {"z": [3, 1], "y": "é\"q"}, "c": null});
        assert_eq!(canonical_json(&a), r#"{"a":{"y":"é\"q","z":[3,1]},"b":1,"c":null}"#);
        let mut map = serde_json::Map::new();
        map.insert("c".into(), Value::Null);
        map.insert("b".into(), json!(1));
        map.insert("a".into(), json!({"y": "é\"q", "z": [3, 1]}));
        assert_eq!(content_hash(&Value::Object(map)), content_hash(&a));
        assert_ne!(content_hash(&json!({"a": [1, 3]})), content_hash(&json!({"a": [3, 1]})));
    }

    #[test]
    fn the_release_id_is_job_environment_and_twelve_hex_digits() {
        let hash = content_hash(&json!({}));
        assert_eq!(hash, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert_eq!(release_id("trips-etl", "prod", &hash), "trips-etl-prod-44136fa355b3");
    }

    fn record(environment: &str, released_at: &str, ci: Option<&str>) -> ReleaseRecord {
        serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Release",
            "id": format!("etl-{environment}-{}", &released_at[..4]), "job": "etl", "namespace": "data",
            "environment": environment, "contentHash": "sha256:00", "specHash": "ab",
            "image": {"reference": "r/etl:1", "repository": "r/etl", "tag": "1"},
            "source": {"commit": "0123456789abcdef", "jobFile": "etl.yaml"},
            "ci": ci.map(|outcome| json!({"outcome": outcome, "reportDigest": "sha256:11"})),
            "sbom": {"file": "sbom.cdx.json", "digest": "sha256:22"},
            "releasedBy": "alice", "releasedAt": released_at, "spec": {},
        }))
        .expect("a release record")
    }

    #[test]
    fn the_history_is_per_environment_oldest_first_with_the_commit_short() {
        let records = [record("prod", "2027-01-01", None), record("dev", "2026-01-01", Some("pass"))];
        assert_eq!(
            history_table(&records),
            "ENVIRONMENT  RELEASED    BY     ID             COMMIT        CI\n\
             dev          2026-01-01  alice  etl-dev-2026   0123456789ab  pass\n\
             prod         2027-01-01  alice  etl-prod-2027  0123456789ab  -\n"
        );
        let row = history_row(&records[0]);
        assert_eq!((row["commit"].as_str(), row["ci"].is_null()), (Some("0123456789abcdef"), true));
    }
}
