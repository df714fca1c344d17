//! What a converted job's run writes to and reads from its Kubeflow
//! SparkApplication (`--kubeflow`, ADR 0077): its status in Kubeflow's shape
//! (mapped by `sparkplane_kubeflow::status`), as a merge patch of what
//! changed carrying the version the decision was made on, remembered until
//! the application cache shows it; and whether the application still exists.
//!
//! Imports only the shared context and the leaves (`kubeflow_state`,
//! `merge_patch`), so the shared writes (`writes`) can route a converted
//! job's status here without a circle.
//!
//! Owns: those requests. Must not: decide, convert or map a status.

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::SparkJobStatus;
use sparkplane_api::kubeflow::SparkApplicationStatus;
use sparkplane_api::labels;
use sparkplane_kubeflow::status::{COMPLETED, ExecutorPod, FAILED, application_status, executor_id};
use sparkplane_lifecycle::{Prepared, RetryRule};

use super::context::Context;
use super::kubeflow_state::{App, key};
use super::merge_patch::merge_diff;
use crate::error::{KubeError, Operation};

/// Writes the run status `new` to the converted job's SparkApplication in
/// Kubeflow's shape, when that differs from what it holds: a merge patch of
/// what changed, carrying the resource version the decision was made on.
pub async fn write_status(ctx: &Context, job: &SparkJob, new: &SparkJobStatus) -> Result<(), KubeError> {
    let Some(kubeflow) = ctx.kubeflow.get() else { return Ok(()) };
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    let read = job.metadata.resource_version.clone();
    let ours =
        kubeflow.app_writes.lock().unwrap_or_else(|p| p.into_inner()).current(&key(&namespace, &name), read.as_deref());
    let (old, version) = match ours {
        Some((written, version)) => (written.1.clone(), version),
        None => {
            let cached = kubeflow.apps.get(&ObjectRef::new(&name).within(&namespace));
            (cached.and_then(|a| a.status.clone()).unwrap_or_default(), read.clone())
        }
    };
    let rule = match &*ctx.prepared(job) {
        Prepared::Ready(plan) => plan.retry.clone(),
        Prepared::Refused { .. } => RetryRule::of(&job.spec),
    };
    let executors: Vec<ExecutorPod> = new
        .driver_pod
        .as_deref()
        .map(|driver| ctx.pod_index().executors_of(&namespace, &name, driver))
        .unwrap_or_default()
        .into_iter()
        .map(|(pod, phase)| ExecutorPod { id: executor_id(&pod), name: pod, phase })
        .collect();
    let written = application_status(new, &rule, &old, &executors, kubeflow.settings.max_tracked_executors);
    if written == old {
        return Ok(());
    }
    let diff = merge_diff(
        &serde_json::to_value(&old).unwrap_or(Value::Null),
        &serde_json::to_value(&written).unwrap_or(Value::Null),
    );
    let mut patch = json!({ "status": diff });
    if let Some(version) = &version {
        patch["metadata"] = json!({ "resourceVersion": version });
    }
    let api: Api<App> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("patch", "SparkApplication/status");
    let answer = api.patch_status(&name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
        KubeError::from_kube(
            e,
            Operation::new("patch", "SparkApplication/status", format!("{namespace}/{name}")),
            &ctx.settings.server,
        )
    })?;
    let ended = |s: &SparkApplicationStatus| {
        s.application_state.as_ref().is_some_and(|a| a.state == COMPLETED || a.state == FAILED)
    };
    let just_ended = ended(&written) && !ended(&old);
    let mut exact = new.clone();
    // The bounded history is Events' to keep here: the memory holds what decisions need.
    exact.transitions.clear();
    // Whatever the cache shows now is older than this write: the version the
    // decision read, or one before an annotation patch of the same look.
    let shown =
        kubeflow.apps.get(&ObjectRef::new(&name).within(&namespace)).and_then(|a| a.metadata.resource_version.clone());
    kubeflow.app_writes.lock().unwrap_or_else(|p| p.into_inner()).remember(
        key(&namespace, &name),
        version.into_iter().chain(shown),
        answer.metadata.resource_version.clone(),
        (exact, written),
    );
    // A schedule's run that ended wakes its schedule (history, Forbid).
    if just_ended && let Some(parent) = job.labels().get(labels::KUBEFLOW_SCHEDULED_APP_NAME) {
        kubeflow.wake_schedule(&namespace, parent);
    }
    Ok(())
}

/// Whether the converted job's SparkApplication (this uid) still exists and
/// is not being deleted, read from the API.
pub async fn still_exists(ctx: &Context, job: &SparkJob) -> Result<bool, KubeError> {
    let namespace = job.namespace().unwrap_or_default();
    let api: Api<App> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("get", "SparkApplication");
    match api.get_opt(&job.name_any()).await {
        Ok(found) => Ok(found.is_some_and(|found| {
            found.metadata.deletion_timestamp.is_none() && found.metadata.uid == job.metadata.uid
        })),
        Err(e) => Err(KubeError::from_kube(
            e,
            Operation::new("get", "SparkApplication", format!("{namespace}/{}", job.name_any())),
            &ctx.settings.server,
        )),
    }
}
