//! Which release store a delivery command uses: `--store DIR` (or
//! `release --out DIR`), the default `releases/` next to the job file, or
//! `--store cluster` — ConfigMaps in the cluster kubectl would use
//! (`sparkplane_delivery::cluster_store` over `sparkplane_kube::config_maps`,
//! ADR 0031) in the namespace of the environment the release is for.
//!
//! Owns: reading that flag, opening the store, adapting kube's ConfigMap
//! client to delivery's [`ConfigMapHost`] ([`KubeConfigMaps`]), naming where
//! a release is for messages, and store errors as failures (exit 3 when the
//! cluster is unreachable, with its URL), and looking up the namespace the
//! one rule picks ([`namespace`]). Must not: lay out or judge records, retry
//! a taken name, or decide where a namespace comes from
//! (`sparkplane_delivery::{store, cluster_store}` do), or send requests
//! itself.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use sparkplane_category::Category;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::cluster_store::{ClusterStore, ConfigMapHost, CreateOutcome, HostError};
use sparkplane_delivery::deployments::{DeploymentLog, DeploymentStore, LogError};
use sparkplane_delivery::store::{DirStore, ReleaseStore, StoreError, StoreNamespace, store_namespace};
use sparkplane_documents::Diagnostic;
use sparkplane_kube::config_maps::{self, ConfigMaps};
use sparkplane_kube::{KubeError, Target as ClusterTarget};

use crate::exit::Failure;
use crate::workspace::JobSettings;

/// The `--store` value that names the cluster store (a directory named so is `./cluster`).
pub const CLUSTER: &str = "cluster";

/// Where releases are kept, as the flags say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    /// One directory per release under this directory.
    Dir(PathBuf),
    /// ConfigMaps in the cluster.
    Cluster,
}

impl StoreChoice {
    /// `--store`/`--out` when given (`cluster` is the cluster store), else `default`.
    pub fn of(flag: Option<&Path>, default: PathBuf) -> StoreChoice {
        match flag {
            Some(path) if path.as_os_str() == CLUSTER => StoreChoice::Cluster,
            Some(path) => StoreChoice::Dir(path.to_owned()),
            None => StoreChoice::Dir(default),
        }
    }
}

/// An opened release store.
#[derive(Debug)]
pub enum OpenStore {
    /// Files.
    Dir(DirStore, PathBuf),
    /// ConfigMaps in one namespace of the cluster.
    Cluster(ClusterStore<KubeConfigMaps>),
}

/// Kube's ConfigMaps in one namespace as the host of delivery's cluster
/// store: each failure keeps the API server's URL, the request and its
/// category, as kube words them.
#[derive(Debug)]
pub struct KubeConfigMaps(ConfigMaps);

fn host_error(error: KubeError) -> HostError {
    HostError { message: error.to_string(), help: error.help(), category: error.category() }
}

impl ConfigMapHost for KubeConfigMaps {
    fn namespace(&self) -> &str {
        self.0.namespace()
    }

    fn server(&self) -> &str {
        self.0.server()
    }

    fn get(&self, name: &str) -> Result<Option<ConfigMap>, HostError> {
        self.0.get_opt(name).map_err(host_error)
    }

    fn create(&self, config_map: &ConfigMap) -> Result<CreateOutcome, HostError> {
        match self.0.create(config_map).map_err(host_error)? {
            config_maps::CreateOutcome::Created => Ok(CreateOutcome::Created),
            config_maps::CreateOutcome::AlreadyExists => Ok(CreateOutcome::AlreadyExists),
        }
    }

    fn list(&self, selector: &str) -> Result<Vec<ConfigMap>, HostError> {
        self.0.list(selector).map_err(host_error)
    }
}

impl OpenStore {
    /// Opens `choice`; the cluster store in `--namespace` when given, else in `namespace`.
    pub fn open(choice: &StoreChoice, cluster: &ClusterTarget, namespace: &str) -> Result<OpenStore, Failure> {
        match choice {
            StoreChoice::Dir(root) => Ok(OpenStore::Dir(DirStore::new(root), root.clone())),
            StoreChoice::Cluster => {
                let settings = crate::commands::kube_view::cluster_settings(cluster)?;
                let namespace = cluster.namespace.as_deref().unwrap_or(namespace);
                let maps =
                    ConfigMaps::new(&settings, namespace).map_err(|e| crate::commands::kube_view::kube_failure(&e))?;
                Ok(OpenStore::Cluster(ClusterStore::new(KubeConfigMaps(maps))))
            }
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn ReleaseStore {
        match self {
            OpenStore::Dir(store, _) => store,
            OpenStore::Cluster(store) => store,
        }
    }

    /// Where the store is, for messages: its directory, or `ConfigMaps in namespace N at URL`.
    pub fn location(&self) -> String {
        match self {
            OpenStore::Dir(_, root) => root.display().to_string(),
            OpenStore::Cluster(store) => store.location(),
        }
    }

    /// Where release `id` is kept: its directory, or `ConfigMap namespace/release-<id>`.
    pub fn place_of(&self, id: &str) -> String {
        match self {
            OpenStore::Dir(store, _) => store.dir_of(id).display().to_string(),
            OpenStore::Cluster(store) => format!("ConfigMap {}", store.object_of(id)),
        }
    }

    /// The deployments log of `job` in `environment`: under the store's
    /// directory (`deployments/<job>/<env>/`), or ConfigMaps in its namespace.
    pub fn deployments<'a>(&'a self, job: &str, environment: &str) -> Box<dyn DeploymentStore + 'a> {
        match self {
            OpenStore::Dir(_, root) => Box::new(DeploymentLog::new(root, job, environment)),
            OpenStore::Cluster(store) => Box::new(store.deployments(job, environment)),
        }
    }

    /// Release `id`'s directory, for a directory store.
    pub fn dir_of(&self, id: &str) -> Option<PathBuf> {
        match self {
            OpenStore::Dir(store, _) => Some(store.dir_of(id)),
            OpenStore::Cluster(_) => None,
        }
    }
}

/// The namespace a cluster store is opened in, by the one rule
/// (`sparkplane_delivery::store::store_namespace`): `--namespace`, else the
/// namespace `job_file` resolves to in `env`, else its `metadata.namespace`,
/// else the context's. Empty for a directory store, which has none.
pub fn namespace(
    choice: &StoreChoice,
    cluster: &ClusterTarget,
    job_file: Option<&Path>,
    env: Option<&str>,
    platform_dir: Option<&Path>,
) -> Result<String, Failure> {
    if *choice != StoreChoice::Cluster {
        return Ok(String::new());
    }
    let context = || crate::commands::kube_view::cluster_settings(cluster).map(|c| c.namespace);
    match (store_namespace(cluster.namespace.as_deref(), job_file.is_some(), env), job_file) {
        (StoreNamespace::Flag(namespace), _) => Ok(namespace.to_owned()),
        (StoreNamespace::JobIn(env), Some(path)) => {
            let settings = JobSettings {
                path: path.to_owned(),
                env: Some(env.to_owned()),
                sets: Vec::new(),
                platform_dir: platform_dir.map(Path::to_owned),
            };
            Ok(crate::workspace::resolve_job(&settings, ValidationTarget::Cluster)?.namespace().to_owned())
        }
        (StoreNamespace::JobFile, Some(path)) => {
            let doc = crate::workspace::read_yaml(path)?;
            let field = sparkplane_documents::yaml::FieldPath::parse("metadata.namespace").unwrap_or_default();
            match doc.get(&field).and_then(sparkplane_documents::yaml::Node::as_str) {
                Some(namespace) => Ok(namespace.to_owned()),
                None => context(),
            }
        }
        _ => context(),
    }
}

/// A store error as a failure: a refused overwrite is exit 1, an unreachable
/// or failing cluster exit 3 with the API server's URL, anything else about
/// the store's contents or files exit 2.
pub fn store_failure(err: &StoreError) -> Failure {
    match err {
        StoreError::Conflict { .. } => Failure::Failed(Diagnostic::error("release-exists", "", err.to_string()).into()),
        StoreError::Backend { help, category, .. } => backend_failure(err.to_string(), help, *category),
        _ => file_failure(err.to_string()),
    }
}

/// A deployments-log error as a failure: exit 3 for an unreachable or
/// failing cluster (with its URL), else about the log's files or records.
pub fn log_failure(err: &LogError) -> Failure {
    match err {
        LogError::Backend { help, category, .. } => backend_failure(err.to_string(), help, *category),
        _ => file_failure(err.to_string()),
    }
}

/// A cluster store's failure, by its category: exit 3 when the API server
/// could not be reached or failed, else exit 2 (what was asked of it is wrong).
fn backend_failure(message: String, help: &str, category: Category) -> Failure {
    Failure::of(category, Diagnostic::error("release-store", "--store", message).with_help(help).into())
}

/// A file store's failure to read or write its files.
fn file_failure(error: String) -> Failure {
    Failure::File { path: PathBuf::new(), error, help: "check that the release store can be read and written".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_the_cluster_store_and_anything_else_a_directory() {
        let default = PathBuf::from("job/releases");
        assert_eq!(StoreChoice::of(Some(Path::new("cluster")), default.clone()), StoreChoice::Cluster);
        assert_eq!(
            StoreChoice::of(Some(Path::new("./cluster")), default.clone()),
            StoreChoice::Dir(PathBuf::from("./cluster"))
        );
        assert_eq!(StoreChoice::of(None, default.clone()), StoreChoice::Dir(default));
    }

    #[test]
    fn an_unreachable_cluster_is_exit_3_and_a_conflict_exit_1() {
        let backend =
            StoreError::Backend { message: "down".into(), help: "fix".into(), category: Category::Unreachable };
        assert!(matches!(store_failure(&backend), Failure::Infrastructure(_)));
        let refused = StoreError::Backend { message: "no".into(), help: "fix".into(), category: Category::Invalid };
        assert!(matches!(store_failure(&refused), Failure::Invalid(_)));
        let conflict = StoreError::Conflict { id: "a".into(), by: "b".into(), at: "c".into() };
        assert!(matches!(store_failure(&conflict), Failure::Failed(_)));
    }
}
