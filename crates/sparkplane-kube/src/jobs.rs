//! SparkJob resources as the CLI writes and reads them for the operator:
//! `apply` creates or updates one by server-side apply, `trigger` asks for a
//! manual run by setting the `sparkplane.dev/trigger` annotation, `get` reads
//! one, `list` lists them and `delete` removes one.
//!
//! Owns: those requests. Must not: resolve or check the job (the CLI does,
//! with the same steps as `render`).

use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;
use sparkplane_api::SparkJob;

use crate::error::{KubeError, Operation};
use crate::ownership::FIELD_MANAGER;

/// Creates or updates a SparkJob (server-side apply, forced, field manager `sparkplane`).
pub async fn apply(client: &kube::Client, server: &str, job: &SparkJob, dry_run: bool) -> Result<SparkJob, KubeError> {
    let namespace = job.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let name = job.metadata.name.clone().unwrap_or_default();
    let api: Api<SparkJob> = Api::namespaced(client.clone(), &namespace);
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let body = json!({
        "apiVersion": sparkplane_api::API_VERSION,
        "kind": "SparkJob",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": job.metadata.labels,
            "annotations": job.metadata.annotations,
        },
        "spec": job.spec,
    });
    api.patch(&name, &params, &Patch::Apply(&body)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("apply", "SparkJob", format!("{namespace}/{name}")), server)
    })
}

/// Reads a SparkJob (None when there is none).
pub async fn get(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<SparkJob>, KubeError> {
    let api: Api<SparkJob> = Api::namespaced(client.clone(), namespace);
    api.get_opt(name)
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("get", "SparkJob", format!("{namespace}/{name}")), server))
}

/// Asks the operator for a manual run: sets `sparkplane.dev/trigger` to `value`.
pub async fn trigger(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    name: &str,
    value: &str,
) -> Result<SparkJob, KubeError> {
    let api: Api<SparkJob> = Api::namespaced(client.clone(), namespace);
    let patch = json!({"metadata": {"annotations": {sparkplane_lifecycle::TRIGGER_ANNOTATION: value}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("patch", "SparkJob", format!("{namespace}/{name}")), server)
    })
}

/// The SparkJobs of `namespace` (every namespace when None) whose labels
/// match `selector`. A cluster without the SparkJob CRD answers 404: that is
/// no SparkJobs, not an error.
pub async fn list(
    client: &kube::Client,
    server: &str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<SparkJob>, KubeError> {
    let api: Api<SparkJob> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let params = match selector {
        Some(labels) => ListParams::default().labels(labels),
        None => ListParams::default(),
    };
    match api.list(&params).await {
        Ok(list) => Ok(list.items),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
        Err(e) => {
            Err(KubeError::from_kube(e, Operation::new("list", "SparkJob", namespace.unwrap_or("(all)")), server))
        }
    }
}

/// Deletes a SparkJob with background propagation: what it owns (its driver
/// pods, a schedule's runs) is left to Kubernetes' garbage collector. True
/// when it was deleted, false when it was already gone.
pub async fn delete(client: &kube::Client, server: &str, namespace: &str, name: &str) -> Result<bool, KubeError> {
    let api: Api<SparkJob> = Api::namespaced(client.clone(), namespace);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => {
            Err(KubeError::from_kube(e, Operation::new("delete", "SparkJob", format!("{namespace}/{name}")), server))
        }
    }
}
