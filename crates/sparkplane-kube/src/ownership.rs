//! How sparkplane marks what it owns on a cluster: the field manager of its
//! server-side applies and creates, and the labels that find a resolved
//! job's driver pods.
//!
//! Owns: those two names, so submitting, looking applications up and
//! applying jobs share them without importing each other. Must not: call the
//! API.

/// The field manager sparkplane's server-side applies and creates use.
pub const FIELD_MANAGER: &str = "sparkplane";

/// The label selector of a resolved job's driver pods (every attempt).
pub fn driver_selector(job: &str, spec_hash: &str) -> String {
    format!("sparkplane.dev/job={job},sparkplane.dev/spec-hash={spec_hash},spark-role=driver")
}
