//! Requests about Kubeflow's resources for `sparkplane migrate kubeflow`:
//! list SparkApplications, ScheduledSparkApplications and SparkConnects, and
//! change their labels (a JSON merge patch of `metadata.labels` only, so a
//! resource's spec and status are never written).
//!
//! Owns: those requests and their errors. Must not: decide what moves (the
//! kubeflow crate's migration does).

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use sparkplane_api::kubeflow::{GROUP, KIND_SPARK_APPLICATION, KIND_SPARK_CONNECT, plural_of, version_of};
use sparkplane_kubeflow::migrate::Listed;

use crate::error::{KubeError, Operation};

fn resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, version_of(kind), kind), plural_of(kind))
}

fn api(client: &kube::Client, kind: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource(kind)),
        None => Api::all_with(client.clone(), &resource(kind)),
    }
}

/// Every `kind` (SparkApplication, ScheduledSparkApplication or SparkConnect) in
/// `namespace` (every namespace: None) matching `selector`, page by page.
/// A cluster without Kubeflow's CRDs has none (an empty list, not an error).
pub async fn list(
    client: &kube::Client,
    server: &str,
    kind: &'static str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Listed>, KubeError> {
    let api = api(client, kind, namespace);
    let mut params = ListParams::default().limit(500);
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let mut out = Vec::new();
    loop {
        let page = match api.list(&params).await {
            Ok(page) => page,
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
            Err(e) => {
                return Err(KubeError::from_kube(e, Operation::new("list", kind, namespace.unwrap_or("*")), server));
            }
        };
        for object in page.items {
            let state = match kind {
                KIND_SPARK_APPLICATION => &object.data["status"]["applicationState"]["state"],
                KIND_SPARK_CONNECT => &object.data["status"]["state"],
                _ => &object.data["status"]["scheduleState"],
            };
            out.push(Listed {
                kind,
                namespace: object.metadata.namespace.clone().unwrap_or_default(),
                name: object.metadata.name.clone().unwrap_or_default(),
                labels: object.metadata.labels.clone().unwrap_or_default(),
                spec: object.data["spec"].clone(),
                state: state.as_str().unwrap_or_default().to_owned(),
            });
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// Sets (Some) or removes (None) labels of one resource, nothing else.
pub async fn label(
    client: &kube::Client,
    server: &str,
    resource: &Listed,
    changes: &BTreeMap<String, Option<String>>,
) -> Result<(), KubeError> {
    let api = api(client, resource.kind, Some(&resource.namespace));
    let labels: serde_json::Map<String, Value> =
        changes.iter().map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String))).collect();
    let patch = json!({"metadata": {"labels": labels}});
    api.patch(&resource.name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
        KubeError::from_kube(
            e,
            Operation::new("patch", resource.kind, format!("{}/{}", resource.namespace, resource.name)),
            server,
        )
    })?;
    Ok(())
}
