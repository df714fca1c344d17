//! sparkplane's Kubernetes I/O, over kube-rs: connect as kubectl does,
//! submit a rendered native job in spark-submit's order with server-side
//! apply, and find, list, follow, wait for and delete applications and
//! SparkJobs; Kueue's objects (`apply`'s check) and Kubeflow's resources
//! (`migrate kubeflow`); the driver-log archive; every namespace's
//! ResourceQuotas (`quotas`, the console's); and ConfigMaps in one
//! namespace (`config_maps`), which the release store in the cluster runs
//! over. The operator that reconciles SparkJobs acts through these verbs
//! from its own crate, `sparkplane-operator`, as kube-runtime does over
//! kube-client.
//!
//! Owns: requests and their error categories. Must not: resolve, render or
//! check policy (the core does), decide what the operator does, or print
//! (callers get values and callbacks).

pub mod apps;
pub mod config_maps;
pub mod error;
pub mod jobs;
pub mod kubeconfig;
pub mod kubeflow;
pub mod kueue;
pub mod logstore;
pub mod ownership;
pub mod quotas;
pub mod submit;
pub mod wait_job;

pub use apps::{Application, ExecutorCounts, Lookup, WaitEvent};
pub use error::{KubeError, Operation};
pub use kubeconfig::{Settings, Target};
pub use submit::{FIELD_MANAGER, SubmitOutcome, SubmitRequest};

/// A single-threaded runtime for one command: sparkplane's requests are
/// sequential, and one thread starts fastest.
pub fn runtime() -> Result<tokio::runtime::Runtime, KubeError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KubeError::NoConfig { detail: format!("cannot start the I/O runtime: {e}") })
}
