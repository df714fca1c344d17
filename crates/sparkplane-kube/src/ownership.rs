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
    use sparkplane_api::labels::{JOB, SPEC_HASH};
    use sparkplane_core::render::common::SPARK_ROLE_LABEL;
    format!("{JOB}={job},{SPEC_HASH}={spec_hash},{SPARK_ROLE_LABEL}=driver")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_jobs_drivers_are_selected_by_job_spec_hash_and_role() {
        assert_eq!(
            super::driver_selector("etl", "0123abcd"),
            "sparkplane.dev/job=etl,sparkplane.dev/spec-hash=0123abcd,spark-role=driver"
        );
    }
}
