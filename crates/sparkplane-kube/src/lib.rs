//! sparkplane's Kubernetes I/O, over kube-rs: connect as kubectl does,
//! submit a rendered native job in spark-submit's order with server-side
//! apply, and find, list, follow, wait for and delete applications; the
//! release store in the cluster (`release_store`); and the
//! operator that reconciles SparkJob resources in a cluster (`operator`).
//!
//! Owns: requests and their error categories. Must not: resolve, render or
//! check policy (the core does), or print (callers get values and callbacks).

pub mod apps;
pub mod error;
pub mod jobs;
pub mod kubeconfig;
pub mod kubeflow;
pub mod kueue;
pub mod logstore;
pub mod operator;
pub mod ownership;
pub mod release_store;
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
