//! The release store and the deployments log in a cluster (ADR 0031, ADR
//! 0035), over any [`ConfigMapHost`] — ConfigMaps in one namespace, got,
//! created and listed by label selector. [`ClusterStore`] is the
//! [`ReleaseStore`] `release`, `releases` and `promote` use with `--store
//! cluster`; [`ClusterDeploymentLog`] is the [`DeploymentStore`] beside it.
//!
//! Owns: which requests a put and an append make and how their answers are
//! judged — a put is decided ([`decide_put`]) before its create and, when
//! the create loses a race (the name is taken), judged again against the
//! winner's record; an append takes the sequence after the last and skips
//! one another deployment took meanwhile, up to [`APPEND_ATTEMPTS`] times —
//! and a host's failure as a store error that keeps its message (the API
//! server's URL and the request), help and category. Must not: send
//! requests (the host does; the CLI adapts `sparkplane_kube::config_maps`),
//! or lay out the ConfigMaps (`store` and `deployments` do).

use k8s_openapi::api::core::v1::ConfigMap;
use sparkplane_category::Category;

use crate::deployments::{self, APPEND_ATTEMPTS, DeploymentRecord, DeploymentStore, LogError};
use crate::release_record::ReleaseRecord;
use crate::store::{
    PutOutcome, ReleaseStore, StoreError, StoredRelease, config_map_name, decide_put, from_config_map, records_of,
    release_selector, to_config_map,
};

/// What a create did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The ConfigMap was created.
    Created,
    /// One of that name exists already (409): nothing was written.
    AlreadyExists,
}

/// Why the host could not do a request, as the host words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostError {
    /// What failed, naming the server and the request.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// `Unreachable` when the cluster or network must be fixed, `Invalid` when the input must.
    pub category: Category,
}

impl From<HostError> for StoreError {
    fn from(error: HostError) -> StoreError {
        StoreError::Backend { message: error.message, help: error.help, category: error.category }
    }
}

impl From<HostError> for LogError {
    fn from(error: HostError) -> LogError {
        LogError::Backend { message: error.message, help: error.help, category: error.category }
    }
}

/// ConfigMaps in one namespace of a cluster: what the cluster store needs
/// of it. Created, never updated.
pub trait ConfigMapHost {
    /// The namespace the ConfigMaps are in.
    fn namespace(&self) -> &str;
    /// The API server's URL, for messages.
    fn server(&self) -> &str;
    /// The ConfigMap `name`, when it exists.
    fn get(&self, name: &str) -> Result<Option<ConfigMap>, HostError>;
    /// Creates `config_map`; a name already taken is [`CreateOutcome::AlreadyExists`], not an error.
    fn create(&self, config_map: &ConfigMap) -> Result<CreateOutcome, HostError>;
    /// The ConfigMaps the label selector `selector` matches.
    fn list(&self, selector: &str) -> Result<Vec<ConfigMap>, HostError>;
}

/// Releases as ConfigMaps in the host's namespace.
#[derive(Debug)]
pub struct ClusterStore<H> {
    host: H,
}

impl<H: ConfigMapHost> ClusterStore<H> {
    /// A store over `host`. Nothing is sent until the first request.
    pub fn new(host: H) -> ClusterStore<H> {
        ClusterStore { host }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        self.host.namespace()
    }

    /// Where the store is, for messages: `ConfigMaps in namespace data-eng at https://…`.
    pub fn location(&self) -> String {
        format!("ConfigMaps in namespace {} at {}", self.host.namespace(), self.host.server())
    }

    /// `namespace/name` of release `id`'s ConfigMap.
    pub fn object_of(&self, id: &str) -> String {
        format!("{}/{}", self.host.namespace(), config_map_name(id))
    }

    /// The deployments log of `job` in `environment`, in this store's namespace.
    pub fn deployments(&self, job: &str, environment: &str) -> ClusterDeploymentLog<'_, H> {
        ClusterDeploymentLog { store: self, job: job.to_owned(), environment: environment.to_owned() }
    }

    fn record_of(&self, stored: &StoredRelease) -> Result<ReleaseRecord, StoreError> {
        ReleaseRecord::from_json(&stored.record).map_err(|message| StoreError::Corrupt {
            path: format!("ConfigMap {}", self.object_of(&stored.id)),
            message,
        })
    }

    fn stored_record(&self, id: &str) -> Result<Option<ReleaseRecord>, StoreError> {
        self.get(id)?.map(|s| self.record_of(&s)).transpose()
    }
}

impl<H: ConfigMapHost> ReleaseStore for ClusterStore<H> {
    fn get(&self, id: &str) -> Result<Option<StoredRelease>, StoreError> {
        let found = self.host.get(&config_map_name(id))?;
        Ok(found.as_ref().and_then(from_config_map))
    }

    /// Creates the ConfigMap unless one is there ([`decide_put`] judges it);
    /// a create that loses a race (409) is judged against the winner's.
    fn put(&self, release: &StoredRelease, record: &ReleaseRecord) -> Result<PutOutcome, StoreError> {
        let existing = self.stored_record(&release.id)?;
        if decide_put(existing.as_ref(), record)? == PutOutcome::Unchanged {
            return Ok(PutOutcome::Unchanged);
        }
        match self.host.create(&to_config_map(release, record, self.host.namespace()))? {
            CreateOutcome::Created => Ok(PutOutcome::Created),
            CreateOutcome::AlreadyExists => decide_put(self.stored_record(&release.id)?.as_ref(), record),
        }
    }

    fn list(&self, job: &str, environment: Option<&str>) -> Result<Vec<ReleaseRecord>, StoreError> {
        let config_maps = self.host.list(&release_selector(job, environment))?;
        records_of(&config_maps, self.host.namespace(), job, environment)
    }
}

/// One job's deployments to one environment as ConfigMaps in the store's namespace.
#[derive(Debug)]
pub struct ClusterDeploymentLog<'a, H> {
    store: &'a ClusterStore<H>,
    job: String,
    environment: String,
}

impl<H: ConfigMapHost> DeploymentStore for ClusterDeploymentLog<'_, H> {
    fn list(&self) -> Result<Vec<DeploymentRecord>, LogError> {
        let host = &self.store.host;
        let config_maps = host.list(&deployments::deployment_selector(&self.job, &self.environment))?;
        deployments::records_of(&config_maps, host.namespace())
    }

    /// Creates the next sequence's ConfigMap; a sequence another deployment
    /// took meanwhile (409) is skipped, never overwritten.
    fn append(&self, mut record: DeploymentRecord, files: &[(String, String)]) -> Result<DeploymentRecord, LogError> {
        let host = &self.store.host;
        let mut next = self.list()?.last().map_or(1, |d| d.sequence + 1);
        for _ in 0..APPEND_ATTEMPTS {
            record.sequence = next;
            match host.create(&deployments::to_config_map(&record, files, host.namespace()))? {
                CreateOutcome::Created => return Ok(record),
                CreateOutcome::AlreadyExists => next += 1,
            }
        }
        Err(LogError::Io {
            path: self.store.location(),
            message: format!("{APPEND_ATTEMPTS} other deployments were appended meanwhile; try again"),
        })
    }

    fn manifests_of(&self, sequence: u64) -> String {
        let name = deployments::config_map_name(&self.job, &self.environment, sequence);
        format!("ConfigMap {}/{name}", self.store.host.namespace())
    }
}

#[cfg(test)]
#[path = "cluster_store_tests.rs"]
mod tests;
