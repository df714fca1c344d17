//! Approval records: who approved which resolved spec of a job, for which
//! environment, and when — and which records still count for a spec.
//!
//! Owns the record's shape (`kind: Approval`, JSON on disk), its file name,
//! and the pure judgement of which approvals are valid or stale for a
//! resolved job. Must not read or write files or look at the clock: the
//! `approve` command stamps the time and writes the record atomically.

use serde::{Deserialize, Serialize};

use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::diagnostic::Diagnostic;

/// The `kind` of an approval record.
pub const KIND: &str = "Approval";

/// One approval of one resolved spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Approval {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Approval`.
    pub kind: String,
    /// The job's name.
    pub job: String,
    /// The job's namespace.
    pub namespace: String,
    /// The environment the approval is for.
    pub environment: String,
    /// SHA-256 of the resolved spec approved (the hash names derive from).
    pub spec_hash: String,
    /// Who approved.
    pub by: String,
    /// When, as RFC 3339 UTC (`2026-11-21T14:03:00Z`).
    pub at: String,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Approval {
    /// An approval of `job` as resolved for `environment`.
    pub fn of(job: &ResolvedJob, environment: &str, by: &str, at: &str, reason: Option<&str>) -> Approval {
        Approval {
            api_version: sparkplane_api::API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            job: job.name().to_owned(),
            namespace: job.namespace().to_owned(),
            environment: environment.to_owned(),
            spec_hash: job.spec_hash(),
            by: by.to_owned(),
            at: at.to_owned(),
            reason: reason.map(str::to_owned),
        }
    }

    /// The first 8 hex digits of the approved spec's hash.
    pub fn short_hash(&self) -> &str {
        self.spec_hash.get(..8).unwrap_or(&self.spec_hash)
    }

    /// The record's file name: `<job>.<env>.<short hash>.<approver>.json`,
    /// the approver reduced to letters, digits, `-`, `_` and `.`. One
    /// approver approves one spec for one environment once.
    pub fn file_name(&self) -> String {
        let by: String = self
            .by
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .collect();
        format!("{}.{}.{}.{by}.json", self.job, self.environment, self.short_hash())
    }
}

/// The approvals that count for a job in an environment, and those that no
/// longer do because the spec changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ApprovalStanding<'a> {
    /// Approvals of this exact spec, one per approver, in approver order.
    pub valid: Vec<&'a Approval>,
    /// Approvals of this job and environment for another spec.
    pub stale: Vec<&'a Approval>,
}

/// Sorts `approvals` into those valid for `job` deployed to `environment`
/// (same job, namespace, environment and spec hash; one per approver) and
/// the stale ones (same job, namespace and environment, another spec).
pub fn approval_standing<'a>(
    job: &ResolvedJob,
    environment: Option<&str>,
    approvals: &'a [Approval],
) -> ApprovalStanding<'a> {
    let hash = job.spec_hash();
    let mut standing = ApprovalStanding::default();
    let mine = approvals.iter().filter(|a| {
        a.job == job.name() && a.namespace == job.namespace() && Some(a.environment.as_str()) == environment
    });
    for approval in mine {
        if approval.spec_hash == hash {
            if !standing.valid.iter().any(|a| a.by == approval.by) {
                standing.valid.push(approval);
            }
        } else {
            standing.stale.push(approval);
        }
    }
    standing.valid.sort_by(|a, b| a.by.cmp(&b.by));
    standing.stale.sort_by(|a, b| (&a.at, &a.by).cmp(&(&b.at, &b.by)));
    standing
}

/// An approval record from its JSON text (`file` names it in messages): a
/// `bad-approval` error when it is not JSON of that shape or of another kind.
pub fn parse(text: &str, file: &str) -> Result<Approval, Diagnostic> {
    match serde_json::from_str::<Approval>(text) {
        Ok(a) if a.kind == KIND => Ok(a),
        Ok(a) => Err(Diagnostic::error(
            "bad-approval",
            "kind",
            format!("{file}: expected `kind: Approval`, found `{}`", a.kind),
        )
        .with_help("the approvals directory holds only records written by `sparkplane approve`")),
        Err(e) => Err(Diagnostic::error("bad-approval", "", format!("{file}: not an approval record: {e}"))
            .with_help("remove or restore the file; records are written by `sparkplane approve`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(by: &str, hash: &str) -> Approval {
        Approval {
            api_version: sparkplane_api::API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            job: "etl".into(),
            namespace: "data".into(),
            environment: "prod".into(),
            spec_hash: hash.into(),
            by: by.into(),
            at: "2026-11-21T10:00:00Z".into(),
            reason: None,
        }
    }

    #[test]
    fn file_names_keep_the_approver_safe_for_a_path() {
        assert_eq!(approval("alice", "0123456789abcdef").file_name(), "etl.prod.01234567.alice.json");
        assert_eq!(approval("../Bob Smith", "0123456789abcdef").file_name(), "etl.prod.01234567..._Bob_Smith.json");
    }

    #[test]
    fn records_round_trip_and_refuse_unknown_fields() {
        let a = approval("alice", "ab");
        let text = serde_json::to_string(&a).expect("serialises");
        assert_eq!(serde_json::from_str::<Approval>(&text).expect("parses"), a);
        let extra = text.replace("\"by\"", "\"approvedBy\":\"x\",\"by\"");
        assert!(serde_json::from_str::<Approval>(&extra).is_err());
    }
}
