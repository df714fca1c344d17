//! ConfigMaps in one namespace of a cluster, one blocking request each: get
//! one (absent is `None`), create one (a name already taken is an answer,
//! [`CreateOutcome::AlreadyExists`], not an error), list by label selector.
//! The release store in the cluster runs over these
//! (`sparkplane_delivery::cluster_store`, which the CLI adapts them to).
//!
//! Owns: the requests and their failures as [`KubeError`]s naming the API
//! server, the operation (`get ConfigMap data/release-…`) and its category.
//! Must not: know what a ConfigMap holds, or decide what a taken name means.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, PostParams};

use crate::error::{KubeError, Operation};
use crate::kubeconfig::Settings;

/// What a create did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The ConfigMap was created.
    Created,
    /// One of that name exists already (409): nothing was written.
    AlreadyExists,
}

/// ConfigMaps in one namespace, with a runtime of their own for blocking callers.
pub struct ConfigMaps {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    namespace: String,
    server: String,
}

impl std::fmt::Debug for ConfigMaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigMaps").field("namespace", &self.namespace).field("server", &self.server).finish()
    }
}

impl ConfigMaps {
    /// ConfigMaps in `namespace` of the cluster `settings` names. Nothing is
    /// sent until the first request.
    pub fn new(settings: &Settings, namespace: &str) -> Result<ConfigMaps, KubeError> {
        let runtime = crate::runtime()?;
        // kube's client spawns its connection tasks: build it inside the runtime.
        let client = runtime.block_on(async { crate::kubeconfig::client(settings) })?;
        Ok(ConfigMaps { runtime, client, namespace: namespace.to_owned(), server: settings.server() })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The API server's URL, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn api(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn fail(&self, error: kube::Error, verb: &'static str, target: String) -> KubeError {
        KubeError::from_kube(error, Operation::new(verb, "ConfigMap", target), &self.server)
    }

    /// The ConfigMap `name`, when it exists.
    pub fn get_opt(&self, name: &str) -> Result<Option<ConfigMap>, KubeError> {
        self.runtime
            .block_on(self.api().get_opt(name))
            .map_err(|e| self.fail(e, "get", format!("{}/{name}", self.namespace)))
    }

    /// Creates `config_map` in the namespace; a 409 (its name is taken) is
    /// [`CreateOutcome::AlreadyExists`].
    pub fn create(&self, config_map: &ConfigMap) -> Result<CreateOutcome, KubeError> {
        match self.runtime.block_on(self.api().create(&PostParams::default(), config_map)) {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(CreateOutcome::AlreadyExists),
            Err(e) => {
                let name = config_map.metadata.name.as_deref().unwrap_or_default();
                Err(self.fail(e, "create", format!("{}/{name}", self.namespace)))
            }
        }
    }

    /// The ConfigMaps the label selector `selector` matches.
    pub fn list(&self, selector: &str) -> Result<Vec<ConfigMap>, KubeError> {
        let params = ListParams::default().labels(selector);
        let list = self
            .runtime
            .block_on(self.api().list(&params))
            .map_err(|e| self.fail(e, "list", self.namespace.clone()))?;
        Ok(list.items)
    }
}
