//! `delete`: a SparkJob (what it owns follows by owner reference, read back
//! to say what is already gone), else a job's driver pods, with `--all`
//! their RBAC objects. Owns [`Deleted`] (and how `delete` says it) and
//! [`owned_by`]. Must not: print.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde::Serialize;
use sparkplane_api::SparkJob;
use sparkplane_api::labels;

use super::find::{Located, Lookup, find_drivers, locate};
use super::{ManagedBy, label, managed_drivers, owning_job, owns};
use crate::error::{KubeError, Operation};

/// What `delete` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    /// How the deleted application was managed.
    pub managed_by: ManagedBy,
    /// `Kind/name` of each object this command deleted.
    pub objects: Vec<String>,
    /// `Kind/name` of what the deleted SparkJob owned (driver pods, a
    /// schedule's runs) and was already gone right after: removed with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_with_it: Vec<String>,
    /// `Kind/name` of what it owned and was still there: Kubernetes' garbage
    /// collector removes it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collecting: Vec<String>,
    /// SparkJobs whose driver pods were deleted by pod name: the operator
    /// sees their driver lost.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operator_jobs: Vec<String>,
}

/// What a SparkJob owns, as `Kind/name`, sorted: the runs of a schedule
/// among `runs`, and the driver pods among `drivers` it or those runs own.
pub fn owned_by(job: &SparkJob, runs: &[SparkJob], drivers: &[Pod]) -> Vec<String> {
    let job_uid = job.metadata.uid.as_deref().unwrap_or_default();
    let mine: Vec<&SparkJob> = runs
        .iter()
        .filter(|run| run.metadata.owner_references.iter().flatten().any(|o| o.kind == "SparkJob" && o.uid == job_uid))
        .collect();
    let mut owned: Vec<String> =
        mine.iter().map(|run| format!("SparkJob/{}", run.metadata.name.as_deref().unwrap_or_default())).collect();
    for pod in drivers {
        if owns(job, pod) || mine.iter().any(|run| owns(run, pod)) {
            owned.push(format!("Pod/{}", pod.metadata.name.as_deref().unwrap_or_default()));
        }
    }
    owned.sort();
    owned
}

/// Deletes what `lookup` names. A SparkJob: the resource itself (its driver
/// pods, their objects and a schedule's runs follow by owner reference),
/// then reads back which of those are already gone. Else the driver pods
/// `lookup` matches (every attempt); their ConfigMaps, Service and
/// NetworkPolicy follow by cascade. With `rbac`, also the job's (and its
/// runs') ServiceAccount, Role and RoleBinding (component `rbac`).
pub async fn delete(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    match locate(client, server, namespace, lookup).await? {
        Located::Job(job) => delete_job(client, server, namespace, &job, rbac).await,
        Located::Driver(_) => delete_drivers(client, server, namespace, lookup, rbac).await,
    }
}

async fn delete_job(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    job: &SparkJob,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let runs = match job.spec.schedule {
        Some(_) => {
            let selector = format!("{}={name}", sparkplane_lifecycle::SCHEDULED_BY_LABEL);
            crate::jobs::list(client, server, Some(namespace), Some(&selector)).await?
        }
        None => Vec::new(),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let drivers = pods
        .list(&ListParams::default().labels(&managed_drivers()))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace), server))?;
    let owned = owned_by(job, &runs, &drivers.items);
    let mut deleted = Deleted { managed_by: ManagedBy::Operator, ..Deleted::default() };
    if crate::jobs::delete(client, server, namespace, &name).await? {
        deleted.objects.push(format!("SparkJob/{name}"));
    }
    for object in owned {
        let still_there = match object.split_once('/') {
            Some(("Pod", pod)) => pods
                .get_opt(pod)
                .await
                .map_err(|e| {
                    KubeError::from_kube(e, Operation::new("get", "Pod", format!("{namespace}/{pod}")), server)
                })?
                .is_some(),
            Some((_, run)) => crate::jobs::get(client, server, namespace, run).await?.is_some(),
            None => false,
        };
        if still_there {
            deleted.collecting.push(object);
        } else {
            deleted.removed_with_it.push(object);
        }
    }
    if rbac {
        let run_names = runs.iter().filter_map(|r| r.metadata.name.clone());
        for job_name in std::iter::once(name.clone()).chain(run_names) {
            deleted.objects.extend(delete_rbac(client, server, namespace, &job_name).await?);
        }
    }
    Ok(deleted)
}

/// Deletes the driver pods `lookup` matches (every attempt); with `rbac`,
/// also their jobs' RBAC objects.
async fn delete_drivers(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    let drivers = find_drivers(client, server, namespace, lookup).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut deleted = Deleted { managed_by: ManagedBy::Direct, ..Deleted::default() };
    let mut jobs = std::collections::BTreeSet::new();
    for pod in &drivers {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if let Some(job) = label(pod, sparkplane_api::labels::JOB) {
            jobs.insert(job.to_owned());
        }
        if let Some((owner, _)) = owning_job(pod)
            && !deleted.operator_jobs.iter().any(|j| j == owner)
        {
            deleted.operator_jobs.push(owner.to_owned());
        }
        match pods.delete(&name, &DeleteParams::background()).await {
            Ok(_) => deleted.objects.push(format!("Pod/{name}")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    Operation::new("delete", "Pod", format!("{namespace}/{name}")),
                    server,
                ));
            }
        }
    }
    if rbac {
        for job in jobs {
            deleted.objects.extend(delete_rbac(client, server, namespace, &job).await?);
        }
    }
    Ok(deleted)
}

async fn delete_rbac(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    job: &str,
) -> Result<Vec<String>, KubeError> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let selector = format!("{},{}={job},{}=rbac", labels::MANAGED_BY_SELECTOR, labels::JOB, labels::APP_COMPONENT);
    let mut deleted = Vec::new();
    macro_rules! sweep {
        ($kind:ty, $name:literal) => {{
            let api: Api<$kind> = Api::namespaced(client.clone(), namespace);
            let items = api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| KubeError::from_kube(e, Operation::new("list", $name, namespace), server))?;
            for item in items.items {
                let name = item.metadata.name.clone().unwrap_or_default();
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => deleted.push(format!("{}/{name}", $name)),
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(KubeError::from_kube(
                            e,
                            Operation::new("delete", $name, format!("{namespace}/{name}")),
                            server,
                        ));
                    }
                }
            }
        }};
    }
    sweep!(RoleBinding, "RoleBinding");
    sweep!(Role, "Role");
    sweep!(ServiceAccount, "ServiceAccount");
    Ok(deleted)
}

impl Deleted {
    /// What `delete` says it removed from `namespace`, and what follows:
    /// with `all`, the RBAC objects went too.
    pub fn text(&self, namespace: &str, all: bool) -> String {
        let mut text: String = self.objects.iter().map(|o| format!("deleted {namespace}/{o}\n")).collect();
        match self.managed_by {
            ManagedBy::Operator => {
                text.extend(self.removed_with_it.iter().map(|o| format!("deleted {namespace}/{o} with it\n")));
                text.extend(
                    self.collecting
                        .iter()
                        .map(|o| format!("{namespace}/{o} goes by garbage collection (it is owned by the SparkJob)\n")),
                );
                text.push_str("driver pods take their executors, ConfigMaps, Service and NetworkPolicy with them");
                text.push_str(if all { "\n" } else { "; RBAC objects stay (--all removes them)\n" });
            }
            ManagedBy::Direct => {
                if !all {
                    text.push_str(
                        "its ConfigMaps, Service and NetworkPolicy are removed with the driver pod; RBAC objects stay (--all removes them)\n",
                    );
                }
                for job in &self.operator_jobs {
                    text.push_str(&format!(
                        "the driver belonged to SparkJob {namespace}/{job}: its operator sees the driver lost and may \
                         start another attempt; `sparkplane delete {job}` removes the SparkJob\n"
                    ));
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::ManagedBy;
    use super::super::fixtures::{driver, job};
    use super::{Deleted, owned_by};

    #[test]
    fn a_sparkjob_owns_its_drivers_and_its_runs_drivers() {
        let parent = job("nightly", "u-p", json!({"state": "Scheduled"}));
        let mut run = job("nightly-29", "u-r", json!({"state": "Running"}));
        run.metadata.owner_references = Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "sparkplane.dev/v1alpha1".into(),
            kind: "SparkJob".into(),
            name: "nightly".into(),
            uid: "u-p".into(),
            ..Default::default()
        }]);
        let stranger = job("nightly-30", "u-s", Value::Null);
        let drivers = [
            driver("nightly-29-driver", "nightly-29", "Running", Some(("nightly-29", "u-r"))),
            driver("nightly-30-driver", "nightly-30", "Running", Some(("nightly-30", "u-s"))),
            driver("nightly-direct-driver", "nightly", "Running", None),
        ];
        assert_eq!(owned_by(&parent, &[run, stranger], &drivers), ["Pod/nightly-29-driver", "SparkJob/nightly-29"]);
    }

    #[test]
    fn what_was_deleted_says_what_follows_and_what_stays() {
        let job = Deleted {
            managed_by: ManagedBy::Operator,
            objects: vec!["SparkJob/n".into()],
            removed_with_it: vec!["Pod/n-driver".into()],
            collecting: vec!["SparkJob/n-29".into()],
            operator_jobs: Vec::new(),
        };
        assert_eq!(
            job.text("team-a", false),
            "deleted team-a/SparkJob/n\ndeleted team-a/Pod/n-driver with it\n\
             team-a/SparkJob/n-29 goes by garbage collection (it is owned by the SparkJob)\n\
             driver pods take their executors, ConfigMaps, Service and NetworkPolicy with them; RBAC objects stay \
             (--all removes them)\n"
        );
        let pods = Deleted {
            managed_by: ManagedBy::Direct,
            objects: vec!["Pod/d-driver".into(), "Role/d".into()],
            operator_jobs: vec!["n".into()],
            ..Deleted::default()
        };
        assert_eq!(
            pods.text("team-a", true),
            "deleted team-a/Pod/d-driver\ndeleted team-a/Role/d\nthe driver belonged to SparkJob team-a/n: its \
             operator sees the driver lost and may start another attempt; `sparkplane delete n` removes the SparkJob\n"
        );
    }
}
