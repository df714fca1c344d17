//! `find`: what a name stands for on the cluster — a SparkJob, else the
//! newest driver pod a job's lookup matches — the step `status`, `logs` and
//! `delete` begin with. Owns [`Lookup`] and [`Located`]. Must not: print.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use sparkplane_api::SparkJob;
use sparkplane_api::labels;

use super::{attempt_of, label, managed_drivers};
use crate::error::{KubeError, Operation};

/// Where to look for an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A resolved job: its name and spec hash (latest attempt wins).
    Job {
        /// Job name.
        name: String,
        /// Short spec hash.
        spec_hash: String,
    },
    /// A name: a job's (latest driver of any spec) or a driver pod's.
    Name(String),
}

/// The driver pods `lookup` matches in `namespace`, newest attempt first.
pub async fn find_drivers(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Vec<Pod>, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list_op = || Operation::new("list", "Pod", namespace);
    let selector = match lookup {
        Lookup::Job { name, spec_hash } => crate::ownership::driver_selector(name, spec_hash),
        Lookup::Name(name) => format!("{},{}={name}", managed_drivers(), labels::JOB),
    };
    let mut found = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube(e, list_op(), server))?
        .items;
    if found.is_empty()
        && let Lookup::Name(name) = lookup
    {
        match pods.get_opt(name).await {
            Ok(Some(pod)) if label(&pod, "spark-role") == Some("driver") => found.push(pod),
            Ok(_) => {}
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    Operation::new("get", "Pod", format!("{namespace}/{name}")),
                    server,
                ));
            }
        }
    }
    found.sort_by(|a, b| {
        attempt_of(b)
            .cmp(&attempt_of(a))
            .then_with(|| b.metadata.creation_timestamp.cmp(&a.metadata.creation_timestamp))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    Ok(found)
}

/// The newest driver `lookup` matches, or [`KubeError::NotFound`].
pub async fn find_driver(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Pod, KubeError> {
    let found = find_drivers(client, server, namespace, lookup).await?;
    found.into_iter().next().ok_or_else(|| {
        let what = match lookup {
            Lookup::Job { name, spec_hash } => format!("{name} (spec {spec_hash})"),
            Lookup::Name(name) => name.clone(),
        };
        KubeError::NotFound {
            operation: Operation::new("get", "application", format!("{namespace}/{what}")),
            message: format!("no sparkplane driver pod for {what} in namespace {namespace}"),
        }
    })
}

/// What a name stands for on the cluster.
#[derive(Clone, Debug)]
pub enum Located {
    /// A SparkJob of that name: the operator's.
    Job(Box<SparkJob>),
    /// No SparkJob: the newest driver pod the lookup matches.
    Driver(Box<Pod>),
}

fn lookup_name(lookup: &Lookup) -> &str {
    match lookup {
        Lookup::Job { name, .. } | Lookup::Name(name) => name,
    }
}

/// The SparkJob `lookup` names (a name, or a job file's name) when there is
/// one; else the newest driver pod it matches; else [`KubeError::NotFound`]
/// saying neither exists. A cluster without the SparkJob CRD has no SparkJobs.
pub async fn locate(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Located, KubeError> {
    let name = lookup_name(lookup);
    if let Some(job) = crate::jobs::get(client, server, namespace, name).await? {
        return Ok(Located::Job(Box::new(job)));
    }
    let found = find_drivers(client, server, namespace, lookup).await?;
    found.into_iter().next().map(|pod| Located::Driver(Box::new(pod))).ok_or_else(|| {
        let what = match lookup {
            Lookup::Job { name, spec_hash } => format!("{name} (spec {spec_hash})"),
            Lookup::Name(name) => name.clone(),
        };
        KubeError::NotFound {
            operation: Operation::new("get", "application", format!("{namespace}/{what}")),
            message: format!("no SparkJob {name} and no sparkplane driver pod for {what} in namespace {namespace}"),
        }
    })
}
