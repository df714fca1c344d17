//! Making a release: from a job resolved for one environment (by the core's
//! one loader, as `render` and `validate` do) and the facts around it — the
//! source commit, the CI report, the Python requirements, who and when —
//! to the record, the SBOM and their signatures, ready for a
//! [`ReleaseStore`](crate::store::ReleaseStore).
//!
//! Owns: putting a release together and reading the CI report's outcome for
//! it. Must not resolve jobs, apply policies (the caller runs the policy
//! gate first, as `render` does), read files or look at the clock.

use sparkplane_core::image::ImageRef;
use sparkplane_core::resolved::ResolvedJob;

use crate::ci_report::CiReport;
use crate::release_record::{
    CiResult, FileRef, KIND, ReleaseRecord, ReleasedImage, SBOM_FILE, SourceRef, content_hash, release_id,
};
use crate::sbom::{self, Requirement, SbomInput};
use crate::sign::{PrivateKey, sha256_digest};
use crate::store::StoredRelease;

/// Why a release could not be made from what was given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    /// The CI report cannot be read.
    #[error("{0}")]
    CiReport(String),
    /// The CI report is about another job.
    #[error("the CI report is for job `{report}`, not `{job}`")]
    CiReportJob {
        /// The job in the report.
        report: String,
        /// The job released.
        job: String,
    },
}

/// Everything a release is made of besides the resolved job.
#[derive(Clone, Copy, Debug)]
pub struct ReleaseInput<'a> {
    /// The job, resolved and validated for `environment`, past the policy gate.
    pub resolved: &'a ResolvedJob,
    /// The environment.
    pub environment: &'a str,
    /// The job file as given (recorded, not read).
    pub job_file: &'a str,
    /// The source commit.
    pub commit: &'a str,
    /// The CI result, from [`ci_result`].
    pub ci: Option<&'a CiResult>,
    /// The job's Python requirements, when it lists them.
    pub requirements: &'a [Requirement],
    /// Who releases.
    pub released_by: &'a str,
    /// When, RFC 3339 UTC.
    pub released_at: &'a str,
    /// The signing key; an unsigned release when none.
    pub key: Option<&'a PrivateKey>,
    /// sparkplane's version (in the SBOM's tools).
    pub tool_version: &'a str,
}

/// A release made: its record and its files.
#[derive(Clone, Debug)]
pub struct Release {
    /// The record.
    pub record: ReleaseRecord,
    /// The files to store.
    pub files: StoredRelease,
}

/// Reads a CI report (the JSON `sparkplane ci --format json` writes, read by
/// its owner [`CiReport::from_json`], which refuses other kinds and edited
/// outcomes): its overall outcome, and the digest of the file's bytes that
/// pins the rest. The report must be about the job released.
pub fn ci_result(report: &[u8], job: &str) -> Result<CiResult, ReleaseError> {
    let text = std::str::from_utf8(report).map_err(|_| ReleaseError::CiReport("not UTF-8 text".into()))?;
    let parsed = CiReport::from_json(text).map_err(|e| ReleaseError::CiReport(e.to_string()))?;
    if parsed.job != job {
        return Err(ReleaseError::CiReportJob { report: parsed.job, job: job.to_owned() });
    }
    Ok(CiResult { outcome: parsed.outcome.as_str().to_owned(), report_digest: sha256_digest(report) })
}

fn released_image(resolved: &ResolvedJob) -> ReleasedImage {
    let image = resolved.job.spec.image.as_ref().and_then(ImageRef::of);
    match image {
        Some(image) => ReleasedImage {
            reference: sbom::reference(&image),
            repository: image.repository,
            tag: image.tag,
            digest: image.digest,
        },
        None => ReleasedImage { reference: String::new(), repository: String::new(), tag: None, digest: None },
    }
}

fn signature_file(key: Option<&PrivateKey>, data: &str) -> String {
    key.map(|k| format!("{}\n", k.sign(data.as_bytes()))).unwrap_or_default()
}

/// Puts a release together: the spec and its content hash, the SBOM and its
/// digest, the record, and — with a key — both signatures (each over the
/// exact bytes of its file, as `cosign sign-blob` signs).
pub fn make(input: &ReleaseInput<'_>) -> Release {
    let resolved = input.resolved;
    let spec = serde_json::to_value(&resolved.job).unwrap_or_default();
    let hash = content_hash(&spec);
    let id = release_id(resolved.name(), input.environment, &hash);
    let sbom_value = sbom::build(&SbomInput {
        job: &resolved.job,
        environment: input.environment,
        release_id: &id,
        content_hash: &hash,
        released_at: input.released_at,
        requirements: input.requirements,
        tool_version: input.tool_version,
    });
    let sbom_text = sbom::to_json(&sbom_value);
    let record = ReleaseRecord {
        api_version: sparkplane_api::API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        id: id.clone(),
        job: resolved.name().to_owned(),
        namespace: resolved.namespace().to_owned(),
        environment: input.environment.to_owned(),
        content_hash: hash,
        spec_hash: resolved.spec_hash(),
        image: released_image(resolved),
        source: SourceRef { commit: input.commit.to_owned(), job_file: input.job_file.to_owned() },
        ci: input.ci.cloned(),
        sbom: FileRef { file: SBOM_FILE.to_owned(), digest: sha256_digest(sbom_text.as_bytes()) },
        released_by: input.released_by.to_owned(),
        released_at: input.released_at.to_owned(),
        signed_by: input.key.map(|k| k.public().key_id()),
        spec,
    };
    let record_text = record.to_json();
    let files = StoredRelease {
        id,
        record_signature: signature_file(input.key, &record_text),
        sbom_signature: signature_file(input.key, &sbom_text),
        record: record_text,
        sbom: sbom_text,
    };
    Release { record, files }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ci_report_gives_its_outcome_and_digest() {
        let report =
            br#"{"apiVersion": "sparkplane.dev/v1alpha1", "kind": "CiReport", "job": "etl", "jobFile": "etl.yaml",
            "environments": ["prod"], "toolVersion": "0.1.0", "startedAt": "2026-11-23T15:00:00Z",
            "finishedAt": "2026-11-23T15:01:00Z", "outcome": "pass", "checks": []}"#;
        let got = ci_result(report, "etl").expect("reads");
        assert_eq!(got.outcome, "pass");
        assert_eq!(got.report_digest, sha256_digest(report));
        assert_eq!(
            ci_result(report, "other").map_err(|e| e.to_string()),
            Err("the CI report is for job `etl`, not `other`".into())
        );
        let edited = String::from_utf8_lossy(report).replace("\"pass\"", "\"fail\"");
        assert_eq!(
            ci_result(edited.as_bytes(), "etl").map_err(|e| e.to_string()),
            Err("outcome is fail but its checks give pass; the report was edited after `sparkplane ci` wrote it".into())
        );
        assert!(ci_result(b"<xml/>", "etl").is_err());
    }
}
