//! sparkplane's sans-IO core.
//!
//! Pure functions over typed data: YAML text in (as `Source`s the caller
//! read), diagnostics, resolved jobs, sized jobs and Kubernetes objects out.
//! Nothing here touches files, the network, processes or the clock; the
//! `sparkplane` binary and the I/O crates do that and call in here.

pub mod catalog;
/// Cron as a Kubernetes CronJob reads it: its own crate, `sparkplane-cron`.
pub use sparkplane_cron as cron;
pub mod failure_cause;
pub mod first_sizing;
pub mod image;
pub mod job_file;
pub mod kube_quantity;
pub mod load;
pub mod local_plan;
pub mod names;
pub mod pod_security;
pub mod queues;
pub mod render;
pub mod resolve;
pub mod resolved;
pub mod secrets;
pub mod sizing;
pub mod spark_connect;
pub mod spark_lines;
pub mod validate;
