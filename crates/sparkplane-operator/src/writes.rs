//! The writes every reconcile makes the same way, whatever it reconciles
//! (runs, schedules, Connect servers): the owner reference that ties an
//! object to its SparkJob, Events, and the status patch (a merge diff of
//! what changed, remembered until the job cache shows it). For a run the
//! operator serves from Kubeflow's API, the owner, the Events and the status
//! are its SparkApplication's (`converted`, `kubeflow_writes`).
//!
//! Owns: those writes, and deleting an object the operator made (a delete
//! of what is already gone is done, not an error). Must not: decide, or
//! import a controller (see the layers in `lib.rs`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Map, Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::SparkJobStatus;
use sparkplane_kube::error::{KubeError, Operation};

use super::context::Context;
use super::converted;
use super::kubeflow_writes;
use super::merge_patch::merge_diff;

fn target(job: &SparkJob) -> String {
    format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any())
}

/// The owner reference (controller) naming `job` (the SparkApplication it
/// was converted from, for one the operator serves from Kubeflow's API).
pub fn owner_of(job: &SparkJob) -> OwnerReference {
    if let Some(owner) = converted::owner_of(job) {
        return owner;
    }
    OwnerReference {
        api_version: sparkplane_api::API_VERSION.into(),
        kind: "SparkJob".into(),
        name: job.name_any(),
        uid: job.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Records an Event on the job (a failure to record is logged, never an error).
pub async fn publish(ctx: &Context, job: &SparkJob, warning: bool, reason: &str, message: &str) {
    ctx.metrics.request("create", "Event");
    let regarding = converted::object_ref(job).unwrap_or_else(|| job.object_ref(&()));
    if let Err(error) = ctx.recorder.publish(&regarding, warning, reason, message).await {
        tracing::info!(job = %target(job), %error, "an Event could not be recorded");
    }
}

/// Deletes `name` (kind `kind`, in `namespace`) in the background; one that is
/// already gone (404) counts as deleted.
pub async fn delete_if_present<K>(
    ctx: &Context,
    api: &Api<K>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<(), KubeError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    ctx.metrics.request("delete", kind);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(KubeError::from_kube(
            e,
            Operation::new("delete", kind, format!("{namespace}/{name}")),
            &ctx.settings.server,
        )),
    }
}

/// Writes `new` as the status when it differs from `old`: a merge patch of
/// what changed, carrying the resourceVersion the decision was made on
/// (`Context::status_version`), so a change someone else made since is
/// refused (409, the reconcile runs again on it) instead of written over.
pub async fn write_status(
    ctx: &Context,
    job: &SparkJob,
    old: &SparkJobStatus,
    new: &SparkJobStatus,
) -> Result<(), KubeError> {
    if converted::converted(job) {
        // Written in Kubeflow's shape, to the SparkApplication.
        return kubeflow_writes::write_status(ctx, job, new).await;
    }
    if old == new {
        return Ok(());
    }
    let diff = merge_diff(
        &serde_json::to_value(old).unwrap_or(Value::Null),
        &serde_json::to_value(new).unwrap_or(Value::Null),
    );
    if diff.as_object().is_some_and(Map::is_empty) {
        return Ok(());
    }
    let api: Api<SparkJob> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    ctx.metrics.request("patch", "SparkJob/status");
    let mut patch = json!({ "status": diff });
    if let Some(version) = ctx.status_version(job) {
        patch["metadata"] = json!({ "resourceVersion": version });
    }
    let answer =
        api.patch_status(&job.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
            KubeError::from_kube(e, Operation::new("patch", "SparkJob/status", target(job)), &ctx.settings.server)
        })?;
    ctx.remember_write(job, answer);
    Ok(())
}
