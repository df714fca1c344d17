//! What the cluster commands (`submit`, `status | logs | list | delete`,
//! `operator`, the release store in the cluster) share: connecting to a
//! cluster, and kube errors as failures. (How an application or a SparkJob
//! is shown is the verb's, in `sparkplane_kube::apps`.)
//!
//! Owns: those shared pieces, so no command imports another. Must not: talk
//! to the API except through `sparkplane_kube`.

use sparkplane_documents::Diagnostic;
use sparkplane_kube::{KubeError, Settings, Target as ClusterTarget};

use crate::exit::Failure;

/// A kube error as a failure: exit 3 when the cluster or network must be
/// fixed, exit 2 when the input must.
pub fn kube_failure(error: &KubeError) -> Failure {
    let diagnostic = Diagnostic::error(error.code(), error.fields(), error.to_string()).with_help(error.help());
    Failure::of(error.category(), diagnostic.into())
}

/// Reads the kubeconfig (or in-cluster configuration) for `target`.
pub fn cluster_settings(target: &ClusterTarget) -> Result<Settings, Failure> {
    sparkplane_kube::kubeconfig::load(target).map_err(|e| kube_failure(&e))
}

/// Runs one command's requests on a single-threaded runtime, kube errors as failures.
pub fn block_on<T>(
    settings: &Settings,
    work: impl AsyncFnOnce(kube::Client, String) -> Result<T, sparkplane_kube::KubeError>,
) -> Result<T, Failure> {
    let runtime = sparkplane_kube::runtime().map_err(|e| kube_failure(&e))?;
    runtime
        .block_on(async {
            let client = sparkplane_kube::kubeconfig::client(settings)?;
            work(client, settings.server()).await
        })
        .map_err(|e| kube_failure(&e))
}
