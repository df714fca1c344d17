//! The release store in the cluster (ADR 0031): one immutable ConfigMap per
//! release in a namespace, created and never updated, listed by label
//! selector — the [`ReleaseStore`] `release`, `releases` and `promote` use
//! with `--store cluster` — and, beside it, the deployments log of ADR 0035
//! as one immutable ConfigMap per deployment ([`ClusterDeploymentLog`]).
//!
//! Owns: the requests (get, create, list) and turning their failures into
//! store errors that keep the API server's URL and category. Must not: lay
//! out the ConfigMaps or decide whether a put may happen
//! (`sparkplane_delivery::{store, deployments}` do: `to_config_map`,
//! `decide_put`, `records_of`), sign or verify.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, PostParams};
use sparkplane_delivery::deployments::{self, DeploymentRecord, DeploymentStore, LogError};
use sparkplane_delivery::release_record::ReleaseRecord;
use sparkplane_delivery::store::{
    PutOutcome, ReleaseStore, StoreError, StoredRelease, config_map_name, decide_put, from_config_map, records_of,
    release_selector, to_config_map,
};

use crate::error::{KubeError, Operation};
use crate::kubeconfig::Settings;

/// Releases as ConfigMaps in one namespace of a cluster.
pub struct ClusterStore {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    namespace: String,
    server: String,
}

impl std::fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterStore").field("namespace", &self.namespace).field("server", &self.server).finish()
    }
}

/// A kube error as a store error, keeping its message (server URL and
/// request), help and category.
pub fn store_error(error: &KubeError) -> StoreError {
    StoreError::Backend { message: error.to_string(), help: error.help(), category: error.category() }
}

impl ClusterStore {
    /// A store in `namespace` of the cluster `settings` names. Nothing is
    /// sent until the first request.
    pub fn new(settings: &Settings, namespace: &str) -> Result<ClusterStore, KubeError> {
        let runtime = crate::runtime()?;
        // kube's client spawns its connection tasks: build it inside the runtime.
        let client = runtime.block_on(async { crate::kubeconfig::client(settings) })?;
        Ok(ClusterStore { runtime, client, namespace: namespace.to_owned(), server: settings.server() })
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Where the store is, for messages: `ConfigMaps in namespace data-eng at https://…`.
    pub fn location(&self) -> String {
        format!("ConfigMaps in namespace {} at {}", self.namespace, self.server)
    }

    /// `namespace/name` of release `id`'s ConfigMap.
    pub fn object_of(&self, id: &str) -> String {
        format!("{}/{}", self.namespace, config_map_name(id))
    }

    fn api(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn fail(&self, error: kube::Error, verb: &'static str, target: String) -> StoreError {
        store_error(&KubeError::from_kube(error, Operation::new(verb, "ConfigMap", target), &self.server))
    }

    /// The deployments log of `job` in `environment`, in this store's namespace.
    pub fn deployments(&self, job: &str, environment: &str) -> ClusterDeploymentLog<'_> {
        ClusterDeploymentLog { store: self, job: job.to_owned(), environment: environment.to_owned() }
    }

    fn log_error(&self, error: kube::Error, verb: &'static str, target: String) -> LogError {
        let error = KubeError::from_kube(error, Operation::new(verb, "ConfigMap", target), &self.server);
        LogError::Backend { message: error.to_string(), help: error.help(), category: error.category() }
    }

    fn record_of(&self, stored: &StoredRelease) -> Result<ReleaseRecord, StoreError> {
        ReleaseRecord::from_json(&stored.record).map_err(|message| StoreError::Corrupt {
            path: format!("ConfigMap {}", self.object_of(&stored.id)),
            message,
        })
    }
}

impl ReleaseStore for ClusterStore {
    fn get(&self, id: &str) -> Result<Option<StoredRelease>, StoreError> {
        let name = config_map_name(id);
        let found =
            self.runtime.block_on(self.api().get_opt(&name)).map_err(|e| self.fail(e, "get", self.object_of(id)))?;
        Ok(found.as_ref().and_then(from_config_map))
    }

    /// Creates the ConfigMap unless one is there ([`decide_put`] judges it);
    /// a create that loses a race (409) is judged against the winner's.
    fn put(&self, release: &StoredRelease, record: &ReleaseRecord) -> Result<PutOutcome, StoreError> {
        let existing = self.get(&release.id)?.map(|s| self.record_of(&s)).transpose()?;
        if decide_put(existing.as_ref(), record)? == PutOutcome::Unchanged {
            return Ok(PutOutcome::Unchanged);
        }
        let config_map = to_config_map(release, record, &self.namespace);
        match self.runtime.block_on(self.api().create(&PostParams::default(), &config_map)) {
            Ok(_) => Ok(PutOutcome::Created),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let theirs = self.get(&release.id)?.map(|s| self.record_of(&s)).transpose()?;
                decide_put(theirs.as_ref(), record)
            }
            Err(e) => Err(self.fail(e, "create", self.object_of(&release.id))),
        }
    }

    fn list(&self, job: &str, environment: Option<&str>) -> Result<Vec<ReleaseRecord>, StoreError> {
        let params = ListParams::default().labels(&release_selector(job, environment));
        let list = self
            .runtime
            .block_on(self.api().list(&params))
            .map_err(|e| self.fail(e, "list", self.namespace.clone()))?;
        records_of(&list.items, &self.namespace, job, environment)
    }
}

/// One job's deployments to one environment as ConfigMaps in the store's namespace.
#[derive(Debug)]
pub struct ClusterDeploymentLog<'a> {
    store: &'a ClusterStore,
    job: String,
    environment: String,
}

impl DeploymentStore for ClusterDeploymentLog<'_> {
    fn list(&self) -> Result<Vec<DeploymentRecord>, LogError> {
        let params = ListParams::default().labels(&deployments::deployment_selector(&self.job, &self.environment));
        let namespace = &self.store.namespace;
        let list = self
            .store
            .runtime
            .block_on(self.store.api().list(&params))
            .map_err(|e| self.store.log_error(e, "list", namespace.clone()))?;
        deployments::records_of(&list.items, namespace)
    }

    /// Creates the next sequence's ConfigMap; a sequence another deployment
    /// took meanwhile (409) is skipped, never overwritten.
    fn append(&self, mut record: DeploymentRecord, files: &[(String, String)]) -> Result<DeploymentRecord, LogError> {
        let namespace = &self.store.namespace;
        let mut next = self.list()?.last().map_or(1, |d| d.sequence + 1);
        for _ in 0..deployments::APPEND_ATTEMPTS {
            record.sequence = next;
            let config_map = deployments::to_config_map(&record, files, namespace);
            match self.store.runtime.block_on(self.store.api().create(&PostParams::default(), &config_map)) {
                Ok(_) => return Ok(record),
                Err(kube::Error::Api(status)) if status.code == 409 => next += 1,
                Err(e) => {
                    let name = deployments::config_map_name(&self.job, &self.environment, next);
                    return Err(self.store.log_error(e, "create", format!("{namespace}/{name}")));
                }
            }
        }
        Err(LogError::Io {
            path: self.store.location(),
            message: format!("{} other deployments were appended meanwhile; try again", deployments::APPEND_ATTEMPTS),
        })
    }

    fn manifests_of(&self, sequence: u64) -> String {
        let name = deployments::config_map_name(&self.job, &self.environment, sequence);
        format!("ConfigMap {}/{name}", self.store.namespace)
    }
}
