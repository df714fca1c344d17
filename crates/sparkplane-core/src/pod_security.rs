//! What Pod Security's "restricted" profile admits, as data both sides read.
//!
//! Owns: the volume types the profile admits. Must not: refuse anything by
//! itself — validation refuses the volume types no environment may use,
//! the `host-path-volumes` policy owns hostPath, and `render::check` holds
//! rendered objects to the whole profile in tests (ADR 0028).

/// Volume types Pod Security "restricted" admits.
pub const RESTRICTED_VOLUME_TYPES: &[&str] =
    &["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

/// The volume type a job may declare that "restricted" refuses but a policy
/// owns, so an environment can allow it: hostPath (`host-path-volumes`).
pub const POLICY_OWNED_VOLUME_TYPES: &[&str] = &["hostPath"];
