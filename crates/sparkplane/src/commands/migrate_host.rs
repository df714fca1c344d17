//! The host of `migrate kubeflow`'s workflow: the cluster's requests
//! (`sparkplane_kube::kubeflow`) on one runtime, and the operator's plan of a
//! converted job with this platform's catalog.
//!
//! Owns: that wiring. Must not: decide what moves.

use std::collections::BTreeMap;

use sparkplane_api::SparkJob;
use sparkplane_kube::KubeError;
use sparkplane_kube::kubeconfig::Settings;
use sparkplane_kubeflow::migrate::{Listed, MigrateHost};
use sparkplane_lifecycle::plan::{DEFAULT_DRIVER_START, DEFAULT_GATE_IMAGE, Platform, Prepared, prepare};

/// The cluster and the platform.
pub struct Host {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    server: String,
    platform: Platform,
}

impl Host {
    /// Connects as `settings` says; plans with `catalog`.
    pub fn new(settings: &Settings, catalog: sparkplane_core::catalog::Catalog) -> Result<Host, KubeError> {
        let runtime = sparkplane_kube::runtime()?;
        let client = {
            let _entered = runtime.enter();
            sparkplane_kube::kubeconfig::client(settings)?
        };
        let platform =
            Platform { catalog, default_driver_start: DEFAULT_DRIVER_START, gate_image: DEFAULT_GATE_IMAGE.to_owned() };
        Ok(Host { runtime, client, server: settings.server(), platform })
    }
}

impl MigrateHost for Host {
    type Error = KubeError;

    fn list(
        &mut self,
        kind: &'static str,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Listed>, KubeError> {
        self.runtime.block_on(sparkplane_kube::kubeflow::list(&self.client, &self.server, kind, namespace, selector))
    }

    fn label(&mut self, resource: &Listed, changes: &BTreeMap<String, Option<String>>) -> Result<(), KubeError> {
        self.runtime.block_on(sparkplane_kube::kubeflow::label(&self.client, &self.server, resource, changes))
    }

    fn plan(&mut self, job: &SparkJob) -> Prepared {
        prepare(job, &self.platform)
    }
}
