//! What a converted job writes to and reads from its Kubeflow resource
//! (`--kubeflow`, ADR 0077): a run's status in a SparkApplication's shape
//! (mapped by `sparkplane_kubeflow::status`) and a Connect server's in a
//! SparkConnect's (`sparkplane_kubeflow::connect_status`, with the server's
//! pod and executors read for it), each as a merge patch of what changed
//! carrying the version the decision was made on, remembered until the
//! cache shows it; the conditions annotation (fields not honoured, or why
//! the resource cannot be converted) with a Warning Event for each new
//! field; and whether an application still exists.
//!
//! Imports only the shared context and the leaves (`kubeflow_state`,
//! `merge_patch`), so the shared writes (`writes`) can route a converted
//! job's status here without a circle.
//!
//! Owns: those requests. Must not: decide, convert or map a status.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::SparkJobStatus;
use sparkplane_api::kubeflow::{SparkApplicationStatus, SparkConnectStatus};
use sparkplane_api::labels;
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kubeflow::connect_status::{ServerSeen, connect_status};
use sparkplane_kubeflow::resource::{CONDITIONS, Condition, annotation, event_note, read_annotation};
use sparkplane_kubeflow::status::{COMPLETED, ExecutorPod, FAILED, application_status, executor_id};
use sparkplane_lifecycle::{Prepared, RetryRule};

use super::context::Context;
use super::converted;
use super::kubeflow_state::{App, Cached, key, regarding};
use super::merge_patch::merge_diff;

/// Writes the run status `new` to the converted job's SparkApplication in
/// Kubeflow's shape, when that differs from what it holds: a merge patch of
/// what changed, carrying the resource version the decision was made on.
pub async fn write_status(ctx: &Context, job: &SparkJob, new: &SparkJobStatus) -> Result<(), KubeError> {
    if converted::from_spark_connect(job) {
        return write_connect_status(ctx, job, new).await;
    }
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
    let answer =
        patch_status::<SparkApplicationStatus>(ctx, (&namespace, &name), &old, &written, version.as_deref()).await?;
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

/// Writes the Connect server status `new` to the converted job's
/// SparkConnect in Kubeflow's shape, with the server's pod and executors as
/// read now, when that differs from what it holds.
async fn write_connect_status(ctx: &Context, job: &SparkJob, new: &SparkJobStatus) -> Result<(), KubeError> {
    let Some(kubeflow) = ctx.kubeflow.get() else { return Ok(()) };
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    let read = job.metadata.resource_version.clone();
    let ours = kubeflow
        .conn_writes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .current(&key(&namespace, &name), read.as_deref());
    let (old, version) = match ours {
        Some((written, version)) => (written.1.clone(), version),
        None => {
            let cached = kubeflow.conns.get(&ObjectRef::new(&name).within(&namespace));
            (cached.and_then(|c| c.status.clone()).unwrap_or_default(), read.clone())
        }
    };
    let seen = server_seen(ctx, job, &namespace).await?;
    let written = connect_status(new, &old, &seen, jiff::Timestamp::now());
    let mut exact = new.clone();
    exact.transitions.clear();
    if written == old {
        // Nothing to write; what the state machine decided is still remembered for the next look.
        if let Some(version) = &version {
            kubeflow.conn_writes.lock().unwrap_or_else(|p| p.into_inner()).remember(
                key(&namespace, &name),
                Some(version.clone()),
                Some(version.clone()),
                (exact, written),
            );
        }
        return Ok(());
    }
    let answer =
        patch_status::<SparkConnectStatus>(ctx, (&namespace, &name), &old, &written, version.as_deref()).await?;
    let shown =
        kubeflow.conns.get(&ObjectRef::new(&name).within(&namespace)).and_then(|c| c.metadata.resource_version.clone());
    kubeflow.conn_writes.lock().unwrap_or_else(|p| p.into_inner()).remember(
        key(&namespace, &name),
        version.into_iter().chain(shown),
        answer.metadata.resource_version.clone(),
        (exact, written),
    );
    Ok(())
}

/// Patches the status of the Kubeflow resource `name` of `namespace` from
/// `old` to `new`: a merge patch of what changed, carrying `version` (the
/// resource version the decision was made on), so a change someone else
/// made since is refused (409, and the reconcile runs again on it) instead
/// of written over. The resource as the API server answered.
pub async fn patch_status<S>(
    ctx: &Context,
    (namespace, name): (&str, &str),
    old: &S,
    new: &S,
    version: Option<&str>,
) -> Result<Cached<S>, KubeError>
where
    S: serde::Serialize,
    Cached<S>: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let diff = merge_diff(
        &serde_json::to_value(old).unwrap_or(Value::Null),
        &serde_json::to_value(new).unwrap_or(Value::Null),
    );
    let mut patch = json!({ "status": diff });
    if let Some(version) = version {
        patch["metadata"] = json!({ "resourceVersion": version });
    }
    let what = format!("{}/status", Cached::<S>::kind(&()));
    let api: Api<Cached<S>> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("patch", &what);
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("patch", what, format!("{namespace}/{name}")), &ctx.settings.server)
    })
}

/// The server's pod (its name and IP, when it exists), its clients'
/// Service and its executor pods' phases, read from the API at each status
/// write (a get and a list: servers are few, and looked at once a resync).
async fn server_seen(ctx: &Context, job: &SparkJob, namespace: &str) -> Result<ServerSeen, KubeError> {
    let Prepared::Ready(plan) = &*ctx.prepared(job) else { return Ok(ServerSeen::default()) };
    let Some(server) = plan.server.as_ref() else { return Ok(ServerSeen::default()) };
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let failed = |e, verb: &'static str, what: String| {
        KubeError::from_kube(e, Operation::new(verb, "Pod", what), &ctx.settings.server)
    };
    ctx.metrics.request("get", "Pod");
    let pod = pods.get_opt(&server.pod).await.map_err(|e| failed(e, "get", format!("{namespace}/{}", server.pod)))?;
    let role = sparkplane_core::render::common::SPARK_ROLE_LABEL;
    let selector = format!("{}={},{role}=executor", labels::JOB, job.name_any());
    ctx.metrics.request("list", "Pod");
    let executors = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| failed(e, "list", format!("{namespace} ({selector})")))?;
    let phase = |p: &Pod| p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into());
    Ok(ServerSeen {
        pod_ip: pod.as_ref().and_then(|p| p.status.as_ref()?.pod_ip.clone()),
        pod_name: pod.map(|p| p.name_any()),
        service_name: server.stateful_set.clone(),
        executor_phases: executors.items.iter().map(phase).collect(),
    })
}

/// Keeps the conditions annotation of a Kubeflow resource what its
/// conversion found, with a Warning Event naming each field that is new
/// there; the resource as the patch answered when it was patched.
pub async fn sync_conditions<S>(
    ctx: &Context,
    resource: &Cached<S>,
    conditions: &[Condition],
) -> Result<Option<Cached<S>>, KubeError>
where
    Cached<S>: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let current = resource.annotations().get(CONDITIONS).map(String::as_str);
    let wanted = annotation(conditions);
    if current == wanted.as_deref() {
        return Ok(None);
    }
    let known = read_annotation(current);
    let fresh: Vec<Condition> = conditions.iter().filter(|c| !known.contains(c)).cloned().collect();
    let (namespace, name) = (resource.namespace().unwrap_or_default(), resource.name_any());
    let kind = Cached::<S>::kind(&());
    let api: Api<Cached<S>> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("patch", &kind);
    let patch = json!({"metadata": {"annotations": {CONDITIONS: wanted}}});
    let answer = api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("patch", &*kind, format!("{namespace}/{name}")), &ctx.settings.server)
    })?;
    let honoured = fresh.iter().filter(|c| c.kind == "FieldNotHonoured").cloned().collect::<Vec<_>>();
    if !honoured.is_empty() {
        ctx.metrics.request("create", "Event");
        let note = format!("fields sparkplane does not honour:\n{}", event_note(&honoured));
        if let Err(error) = ctx.recorder.publish(&regarding(resource), true, "FieldNotHonoured", &note).await {
            tracing::info!(resource = %format!("{kind} {namespace}/{name}"), %error, "an Event could not be recorded");
        }
    }
    Ok(Some(answer))
}
