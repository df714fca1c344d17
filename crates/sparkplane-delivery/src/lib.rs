//! sparkplane's delivery: what takes a job from a commit to production — the CI
//! run of every check in one report, the immutable release record with its SBOM
//! and signature, promotion gates and rollback. Each step is a plain function over
//! typed data that the CLI (and later the operator) wires up.

pub mod cdevents;
pub mod ci;
pub mod ci_output;
pub mod ci_report;
pub mod ci_sql;
pub mod cluster_run;
pub mod cluster_store;
pub mod deployments;
pub mod promote;
pub mod promote_run;
pub mod release;
pub mod release_diff;
pub mod release_record;
pub mod release_run;
pub mod release_verify;
pub mod rollback_run;
pub mod sbom;
pub mod shadow;
pub mod shadow_observe;
pub mod shadow_run;
pub mod sign;
pub mod sink;
pub mod store;
