//! Creating a rendered native job on a cluster, in spark-submit's order:
//! the driver's RBAC first (server-side apply), then the driver Pod (create),
//! then the ConfigMaps, the headless Service and the application's
//! NetworkPolicy (server-side apply) with an ownerReference to the created
//! pod's uid (`render::native::with_owner`), so they go when the pod goes.
//!
//! Idempotent: the driver's labels carry the job's name and spec hash, so a
//! second submission of the same resolved job finds the first driver and
//! creates nothing. `rerun` starts the next attempt, whose names the core
//! derives from the attempt number.
//!
//! Owns: the request sequence and its failure handling (a driver whose
//! objects could not be created is deleted again, as spark-submit does),
//! and the outcome as `submit` says it ([`SubmitOutcome::text`]).
//! Must not: render, enforce policy or print — the caller does.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde::Serialize;
use serde_json::Value;
use sparkplane_core::render::RenderedObject;

use crate::apps::{Application, application, attempt_of};
use crate::error::{KubeError, Operation};

pub use crate::ownership::{FIELD_MANAGER, driver_selector};

/// Kinds created before the driver pod (the identity it runs as); the operator completes the rest after it.
pub const BEFORE_DRIVER: &[&str] = &["ServiceAccount", "Role", "RoleBinding"];

/// Kinds applied before the driver as well as after it (then owned by the driver): a gang's PodGroup.
const GANG_BEFORE_DRIVER: &[&str] = &["PodGroup"];

/// What to submit.
#[derive(Clone, Debug)]
pub struct SubmitRequest {
    /// The job's name (`sparkplane.dev/job`).
    pub job: String,
    /// Its namespace.
    pub namespace: String,
    /// The resolved spec's short hash (`sparkplane.dev/spec-hash`).
    pub spec_hash: String,
    /// Start a new attempt even when a driver for this resolved job exists.
    pub rerun: bool,
    /// Send every request with `dryRun=All`: the server validates, nothing is stored.
    pub dry_run: bool,
}

/// One object as the API server answered for it.
#[derive(Clone, Debug, Serialize)]
pub struct Sent {
    /// `created` (POST) or `applied` (server-side apply).
    pub action: &'static str,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// The object the server returned.
    pub object: Value,
}

/// How a submission ended.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum SubmitOutcome {
    /// A new driver was created (or, with `dry_run`, would be).
    Created {
        /// The application started.
        application: Application,
        /// Every object, in the order sent.
        objects: Vec<Sent>,
        /// Whether this was a server-side dry run.
        dry_run: bool,
    },
    /// A driver for this resolved job already exists; nothing was created.
    Exists {
        /// The existing application (its latest attempt).
        application: Application,
    },
}

impl SubmitOutcome {
    /// The application submitted, or found already submitted.
    pub fn application(&self) -> &Application {
        match self {
            SubmitOutcome::Created { application, .. } | SubmitOutcome::Exists { application } => application,
        }
    }

    /// What `submit` says: each object sent and the driver started, or the
    /// application already there.
    pub fn text(&self) -> String {
        match self {
            SubmitOutcome::Exists { application } => application.text(),
            SubmitOutcome::Created { application, objects, .. } => {
                let mut text: String = objects
                    .iter()
                    .map(|s| format!("{} {}/{} {}\n", s.action, application.namespace, s.name, s.kind))
                    .collect();
                text.push_str(&format!(
                    "submitted {} (attempt {}): driver pod {}/{}\n",
                    application.name, application.attempt, application.namespace, application.driver_pod
                ));
                text
            }
        }
    }
}

/// A server-side-apply-able API for a rendered object's kind.
fn dynamic_api(client: &kube::Client, object: &RenderedObject, namespace: &str) -> Api<DynamicObject> {
    let (group, version) = match object.api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", object.api_version.as_str()),
    };
    let gvk = kube::core::GroupVersionKind::gvk(group, version, &object.kind);
    let resource = ApiResource::from_gvk(&gvk);
    Api::namespaced_with(client.clone(), object.namespace.as_deref().unwrap_or(namespace), &resource)
}

fn target(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Server-side applies one object (forced, field manager [`FIELD_MANAGER`]).
pub async fn apply(
    client: &kube::Client,
    server: &str,
    object: &RenderedObject,
    namespace: &str,
    dry_run: bool,
) -> Result<Sent, KubeError> {
    let api = dynamic_api(client, object, namespace);
    let mut params = PatchParams::apply(FIELD_MANAGER).force();
    params.dry_run = dry_run;
    let answer = api.patch(&object.name, &params, &Patch::Apply(&object.body)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("apply", &object.kind, target(namespace, &object.name)), server)
    })?;
    Ok(Sent {
        action: "applied",
        api_version: object.api_version.clone(),
        kind: object.kind.clone(),
        name: object.name.clone(),
        object: serde_json::to_value(&answer).unwrap_or(Value::Null),
    })
}

/// Submits a job: `render(attempt)` gives the native objects for an attempt
/// (attempt 1 unless `rerun`). Requests are sent in spark-submit's order;
/// `server` is the API URL, for messages.
pub async fn submit(
    client: &kube::Client,
    server: &str,
    request: &SubmitRequest,
    render: impl FnOnce(u32) -> Vec<RenderedObject>,
) -> Result<SubmitOutcome, KubeError> {
    let namespace = request.namespace.as_str();
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let selector = driver_selector(&request.job, &request.spec_hash);
    let existing = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace), server))?;
    let latest = existing.items.iter().max_by_key(|p| attempt_of(p));
    if !request.rerun
        && let Some(pod) = latest
    {
        return Ok(SubmitOutcome::Exists { application: application(pod) });
    }
    let attempt = latest.map_or(0, attempt_of) + 1;
    let objects = render(attempt);
    match create(client, server, namespace, &objects, None, request.dry_run, Partial::DeleteDriver).await? {
        Created::New { driver, objects } => {
            Ok(SubmitOutcome::Created { application: application(&driver), objects, dry_run: request.dry_run })
        }
        // Another submission created this attempt's driver first.
        Created::Existing(pod) => Ok(SubmitOutcome::Exists { application: application(&pod) }),
    }
}

/// What [`create`] found or made.
#[derive(Clone, Debug)]
pub enum Created {
    /// The driver pod was created, then its objects; every object as sent.
    New {
        /// The driver pod as the API server answered.
        driver: Box<Pod>,
        /// Every object, in the order sent.
        objects: Vec<Sent>,
    },
    /// The attempt's driver pod existed already (its name is the attempt's).
    Existing(Box<Pod>),
}

/// What [`create`] does when the driver exists but its own objects could not all be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partial {
    /// Delete the driver again, as spark-submit does (one-shot submissions).
    DeleteDriver,
    /// Keep it: the caller tries again and completes it (the operator,
    /// whose next reconcile adopts the driver and applies what is missing).
    /// A driver that already existed (409) is completed too.
    Complete,
}

/// Creates one attempt's rendered native objects in spark-submit's order:
/// RBAC, a gang's PodGroup, the driver pod (with `owner` as its controller, when given), then
/// the ConfigMaps, Service and NetworkPolicy owned by the pod; `partial`
/// says what happens when those cannot all be applied. `submit` and the
/// operator both create through here.
pub async fn create(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    objects: &[RenderedObject],
    owner: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
    dry_run: bool,
    partial: Partial,
) -> Result<Created, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut sent = Vec::new();

    for kind in BEFORE_DRIVER {
        for object in objects.iter().filter(|o| o.kind == *kind) {
            sent.push(apply(client, server, object, namespace, dry_run).await?);
        }
    }

    // A gang's PodGroup exists before its first pod, or the scheduler meets a pod of an unknown group
    // (as spark-submit creates its pre-resources first). Owned by `owner` until the driver exists; the
    // driver then owns it (applied again below), so it goes with the run.
    for object in objects.iter().filter(|o| GANG_BEFORE_DRIVER.contains(&o.kind.as_str())) {
        let mut object = object.clone();
        if let (Some(owner), Some(meta)) = (owner, object.body.get_mut("metadata").and_then(|m| m.as_object_mut())) {
            meta.insert("ownerReferences".to_owned(), serde_json::json!([owner]));
        }
        sent.push(apply(client, server, &object, namespace, dry_run).await?);
    }

    let Some(driver) = objects.iter().find(|o| o.kind == "Pod") else {
        return Err(KubeError::Invalid {
            operation: Operation::new("create", "Pod", namespace),
            message: "the rendered objects hold no driver pod".into(),
            fields: Vec::new(),
        });
    };
    let mut pod: Pod = serde_json::from_value(driver.body.clone()).map_err(|e| KubeError::Invalid {
        operation: Operation::new("create", "Pod", target(namespace, &driver.name)),
        message: e.to_string(),
        fields: Vec::new(),
    })?;
    if let Some(owner) = owner {
        pod.metadata.owner_references.get_or_insert_with(Vec::new).push(owner.clone());
    }
    let params = PostParams { dry_run, field_manager: Some(FIELD_MANAGER.to_owned()) };
    let created = match pods.create(&params, &pod).await {
        Ok(pod) => pod,
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let pod = pods.get(&driver.name).await.map_err(|e| {
                KubeError::from_kube(e, Operation::new("get", "Pod", target(namespace, &driver.name)), server)
            })?;
            if partial == Partial::Complete {
                complete(client, server, namespace, objects, &pod, dry_run).await?;
            }
            return Ok(Created::Existing(Box::new(pod)));
        }
        Err(e) => {
            return Err(KubeError::from_kube(
                e,
                Operation::new("create", "Pod", target(namespace, &driver.name)),
                server,
            ));
        }
    };
    let uid = created.metadata.uid.clone().unwrap_or_default();
    sent.push(Sent {
        action: "created",
        api_version: driver.api_version.clone(),
        kind: driver.kind.clone(),
        name: driver.name.clone(),
        object: serde_json::to_value(&created).unwrap_or(Value::Null),
    });

    let driver_name = driver.name.clone();
    let owned = sparkplane_core::render::native::with_owner(objects.to_vec(), &driver_name, &uid);
    for object in owned.iter().filter(|o| o.kind != "Pod" && !BEFORE_DRIVER.contains(&o.kind.as_str())) {
        match apply(client, server, object, namespace, dry_run).await {
            Ok(s) => sent.push(s),
            Err(error) => {
                if !dry_run && partial == Partial::DeleteDriver {
                    // Leave no driver behind whose configuration is missing.
                    let _ = pods.delete(&driver_name, &DeleteParams::background()).await;
                }
                return Err(error);
            }
        }
    }
    Ok(Created::New { driver: Box::new(created), objects: sent })
}

/// Applies the objects an existing driver pod owns (ConfigMaps, Service,
/// NetworkPolicy), owned by it: idempotent, so a driver whose creation was
/// cut short ends up with everything it mounts.
pub async fn complete(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    objects: &[RenderedObject],
    driver: &Pod,
    dry_run: bool,
) -> Result<(), KubeError> {
    let name = driver.metadata.name.clone().unwrap_or_default();
    let uid = driver.metadata.uid.clone().unwrap_or_default();
    let owned = sparkplane_core::render::native::with_owner(objects.to_vec(), &name, &uid);
    for object in owned.iter().filter(|o| o.kind != "Pod" && !BEFORE_DRIVER.contains(&o.kind.as_str())) {
        apply(client, server, object, namespace, dry_run).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> Application {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "etl-ab12-1-driver", "namespace": "data",
                         "labels": {"sparkplane.dev/job": "etl", "spark-role": "driver"}},
            "status": {"phase": "Pending"},
        }))
        .expect("a pod");
        crate::apps::application(&pod)
    }

    #[test]
    fn a_submission_says_each_object_sent_and_the_driver_or_the_application_already_there() {
        let sent = |action, kind: &str, name: &str| Sent {
            action,
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            object: Value::Null,
        };
        let created = SubmitOutcome::Created {
            application: app(),
            objects: vec![sent("applied", "ServiceAccount", "etl"), sent("created", "Pod", "etl-ab12-1-driver")],
            dry_run: false,
        };
        assert_eq!(
            created.text(),
            "applied data/etl ServiceAccount\ncreated data/etl-ab12-1-driver Pod\n\
             submitted etl (attempt 1): driver pod data/etl-ab12-1-driver\n"
        );
        let exists = SubmitOutcome::Exists { application: app() };
        assert_eq!(exists.text(), app().text());
        assert_eq!(exists.application().driver_pod, "etl-ab12-1-driver");
    }
}
