//! Verifying a stored release: the spec still hashes to the recorded content
//! hash, the id still derives from it, the SBOM file still has the recorded
//! digest, and both signatures verify with the given public key.
//!
//! Owns: the checks and their messages, each naming the field or file that
//! does not match. Must not read files (the caller hands over a
//! [`StoredRelease`]) or decide exit codes.

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
