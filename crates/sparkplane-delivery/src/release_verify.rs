//! Verifying a stored release: the spec still hashes to the recorded content
//! hash, the id still derives from it, the SBOM file still has the recorded
//! digest, and both signatures verify with the given public key.
//!
//! Owns: the checks and their messages, each naming the field or file that
//! does not match, and the verdict as `verify` reports it. Must not read
//! files (the caller hands over a [`StoredRelease`]) or decide exit codes.

use crate::release_record::{
    RECORD_FILE, RECORD_SIGNATURE_FILE, ReleaseRecord, SBOM_FILE, SBOM_SIGNATURE_FILE, content_hash, release_id,
};
use crate::sign::{PublicKey, SignError, sha256_digest};
use crate::store::StoredRelease;

/// One thing about a release that does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field or file at fault (`contentHash`, `sbom.digest`, `release.sig`, …).
    pub field: String,
    /// What is wrong, in one line.
    pub message: String,
}

/// What verification found.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Every check passed.
    Valid(Box<ReleaseRecord>),
    /// The record could not be read at all.
    Unreadable(String),
    /// The record was read; these checks failed.
    Invalid(Box<ReleaseRecord>, Vec<Problem>),
}

impl Verdict {
    /// The verdict as `verify -o json` gives it, checked with the key
    /// `key_id`; None when the record could not be read.
    pub fn report_json(&self, key_id: &str) -> Option<serde_json::Value> {
        match self {
            Verdict::Unreadable(_) => None,
            Verdict::Valid(record) => {
                Some(serde_json::json!({"ok": true, "id": record.id, "keyId": key_id, "problems": []}))
            }
            Verdict::Invalid(record, problems) => Some(serde_json::json!({
                "ok": false, "id": record.id, "keyId": key_id,
                "problems": problems.iter().map(|p| serde_json::json!({"field": p.field, "message": p.message})).collect::<Vec<_>>(),
            })),
        }
    }

    /// What `verify` says of a release that holds (nothing otherwise: the problems say it).
    pub fn text(&self, key_id: &str) -> String {
        match self {
            Verdict::Valid(record) => {
                format!("verified {}: content hash, SBOM digest and both signatures match (key {key_id})\n", record.id)
            }
            _ => String::new(),
        }
    }

    /// What does not hold, as errors: an unreadable record, or each field
    /// that changed (with what to do: never use it).
    pub fn problems(&self) -> sparkplane_documents::Diagnostics {
        use sparkplane_documents::{Diagnostic, Diagnostics};
        match self {
            Verdict::Valid(_) => Diagnostics::new(),
            Verdict::Unreadable(message) => Diagnostic::error("release-unreadable", "", message.clone()).into(),
            Verdict::Invalid(_, problems) => Diagnostics(
                problems
                    .iter()
                    .map(|p| {
                        Diagnostic::error("release-tampered", p.field.clone(), p.message.clone())
                            .with_help("do not use this release; release the job again from its source")
                    })
                    .collect(),
            ),
        }
    }
}

fn problem(field: &str, message: String) -> Problem {
    Problem { field: field.to_owned(), message }
}

fn check_signature(key: &PublicKey, data: &str, signature: &str, file: &str, signed: &str) -> Option<Problem> {
    if signature.trim().is_empty() {
        return Some(problem(file, format!("{file} is missing: the release is not signed")));
    }
    match key.verify(data.as_bytes(), signature) {
        Ok(()) => None,
        Err(SignError::Mismatch) => Some(problem(
            file,
            format!(
                "signature mismatch: {file} does not verify {signed} with key {}: {signed} was changed after it was signed, or another key signed it",
                key.key_id()
            ),
        )),
        Err(err) => Some(problem(file, format!("{file}: {err}"))),
    }
}

/// Checks a stored release against `key`.
pub fn verify(release: &StoredRelease, key: &PublicKey) -> Verdict {
    let record = match ReleaseRecord::from_json(&release.record) {
        Ok(record) => record,
        Err(message) => return Verdict::Unreadable(format!("{RECORD_FILE}: {message}")),
    };
    let mut problems = Vec::new();
    let actual = content_hash(&record.spec);
    if actual != record.content_hash {
        problems.push(problem(
            "contentHash",
            format!(
                "content hash mismatch: spec was changed after release (recorded {}, spec hashes to {actual})",
                record.content_hash
            ),
        ));
    }
    let id = release_id(&record.job, &record.environment, &record.content_hash);
    if id != record.id {
        problems.push(problem(
            "id",
            format!("id mismatch: recorded `{}`, the job, environment and content hash give `{id}`", record.id),
        ));
    }
    let sbom_digest = sha256_digest(release.sbom.as_bytes());
    if sbom_digest != record.sbom.digest {
        problems.push(problem(
            "sbom.digest",
            format!(
                "sbom digest mismatch: {SBOM_FILE} was changed after release (recorded {}, file is {sbom_digest})",
                record.sbom.digest
            ),
        ));
    }
    if let Some(signed_by) = &record.signed_by
        && *signed_by != key.key_id()
    {
        problems
            .push(problem("signedBy", format!("signed by key {signed_by}, not by the key given ({})", key.key_id())));
    }
    problems.extend(check_signature(
        key,
        &release.record,
        &release.record_signature,
        RECORD_SIGNATURE_FILE,
        RECORD_FILE,
    ));
    problems.extend(check_signature(key, &release.sbom, &release.sbom_signature, SBOM_SIGNATURE_FILE, SBOM_FILE));
    if problems.is_empty() { Verdict::Valid(Box::new(record)) } else { Verdict::Invalid(Box::new(record), problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Box<ReleaseRecord> {
        Box::new(
            serde_json::from_value(serde_json::json!({
                "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Release", "id": "etl-prod-0123456789ab",
                "job": "etl", "namespace": "data", "environment": "prod", "contentHash": "sha256:00", "specHash": "ab",
                "image": {"reference": "r/etl:1", "repository": "r/etl"}, "source": {"commit": "c0", "jobFile": "etl.yaml"},
                "sbom": {"file": "sbom.cdx.json", "digest": "sha256:22"}, "releasedBy": "alice",
                "releasedAt": "2026-11-25T12:00:00Z", "spec": {},
            }))
            .expect("a release record"),
        )
    }

    #[test]
    fn a_verdict_reads_as_verify_reports_it() {
        let valid = Verdict::Valid(record());
        assert_eq!(
            valid.text("k1"),
            "verified etl-prod-0123456789ab: content hash, SBOM digest and both signatures match (key k1)\n"
        );
        assert_eq!(valid.report_json("k1").map(|j| j["ok"].clone()), Some(serde_json::json!(true)));
        assert!(valid.problems().is_empty());
        let invalid = Verdict::Invalid(record(), vec![problem("contentHash", "changed".into())]);
        assert_eq!(invalid.text("k1"), "");
        assert_eq!(
            invalid.report_json("k1").map(|j| j["problems"][0]["field"].clone()),
            Some(serde_json::json!("contentHash"))
        );
        let problems = invalid.problems();
        assert_eq!((problems.0[0].code, problems.0[0].path.as_str()), ("release-tampered", "contentHash"));
        let unreadable = Verdict::Unreadable("release.json: bad".into());
        assert_eq!(unreadable.report_json("k1"), None);
        assert_eq!(unreadable.problems().0[0].code, "release-unreadable");
    }
}
