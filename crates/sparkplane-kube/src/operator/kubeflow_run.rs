//! One reconcile of a Kubeflow SparkApplication sparkplane serves: the one
//! importer converts it (a field it cannot honour is a Warning Event and a
//! condition; one it cannot read stops it, and nothing is submitted), the
//! SparkJob it converts into runs through the same `reconcile::one_run` as
//! any SparkJob, deciding on the run status read back from Kubeflow's shape
//! (`sparkplane_kubeflow::status`), and every status the run writes goes to
//! the SparkApplication in that shape.
//!
//! Owns: the gather and the writes particular to a SparkApplication. Must
//! not: decide (the lifecycle does), convert (the importer does) or map a
//! status (`sparkplane_kubeflow::status` does).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_api::kubeflow::{KIND_SPARK_APPLICATION, SparkApplicationStatus};
use sparkplane_api::labels;
use sparkplane_documents::diagnostic::Diagnostics;
use sparkplane_kubeflow::resource::{
    CONDITIONS, Condition, Live, annotation, convert, event_note, not_converted, not_honoured, read_annotation,
};
use sparkplane_kubeflow::status::{COMPLETED, ExecutorPod, FAILED, application_status, executor_id, run_status};
use sparkplane_lifecycle::lifecycle::{self, Action, Admission, Observed};
use sparkplane_lifecycle::{Cause, Prepared, RetryRule};

use super::context::Context;
use super::kubeflow::{App, KubeflowState, regarding};
use super::writes::{delete_if_present, merge_diff, publish};
use crate::error::{KubeError, Operation};

fn target(app: &App) -> String {
    format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any())
}

fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}

/// Reconciles one SparkApplication.
pub async fn reconcile(app: Arc<App>, ctx: Arc<Context>) -> Result<Requeue, KubeError> {
    let started = Instant::now();
    let Some(kubeflow) = ctx.kubeflow.get().cloned() else { return Ok(Requeue::await_change()) };
    ctx.prefill().await;
    kubeflow.prefill(&ctx).await;
    if app.metadata.deletion_timestamp.is_some() {
        return Ok(Requeue::await_change());
    }
    let result = run(&app, &ctx, &kubeflow).await;
    ctx.metrics.reconciled(started.elapsed().as_secs_f64(), result.is_ok());
    result
}

/// After an error: look again soon.
pub fn error_policy(app: Arc<App>, error: &KubeError, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(application = %target(&app), %error, "reconcile failed; retrying");
    Requeue::requeue(Duration::from_secs(2))
}

/// The SparkJob a SparkApplication converts into, marked as converted, with
/// the application's identity (uid, generation, creation time, version).
pub fn converted_job(app: &App) -> Result<SparkJob, Diagnostics> {
    let labels = app.metadata.labels.clone().unwrap_or_default();
    let spec = app.spec_value();
    let (namespace, name) = (app.namespace().unwrap_or_default(), app.name_any());
    let live = Live { kind: KIND_SPARK_APPLICATION, name: &name, namespace: &namespace, labels: &labels, spec: &spec };
    let mut job = convert(&live)?.job;
    mark(&mut job, app);
    Ok(job)
}

fn mark(job: &mut SparkJob, app: &App) {
    job.metadata.name = Some(app.name_any());
    job.metadata.namespace = app.namespace();
    job.metadata.uid.clone_from(&app.metadata.uid);
    job.metadata.generation = app.metadata.generation;
    job.metadata.creation_timestamp.clone_from(&app.metadata.creation_timestamp);
    job.metadata.resource_version.clone_from(&app.metadata.resource_version);
    job.metadata.labels.clone_from(&app.metadata.labels);
    job.metadata.annotations =
        Some([(labels::CONVERTED_FROM.to_owned(), KIND_SPARK_APPLICATION.to_owned())].into_iter().collect());
}

async fn run(app: &App, ctx: &Context, kubeflow: &KubeflowState) -> Result<Requeue, KubeError> {
    let labels = app.metadata.labels.clone().unwrap_or_default();
    let spec = app.spec_value();
    let (namespace, name) = (app.namespace().unwrap_or_default(), app.name_any());
    let live = Live { kind: KIND_SPARK_APPLICATION, name: &name, namespace: &namespace, labels: &labels, spec: &spec };
    let converted = convert(&live);
    let conditions = match &converted {
        Ok(c) => not_honoured(&c.not_carried),
        Err(diagnostics) => not_converted(diagnostics),
    };
    sync_conditions(ctx, app, &conditions).await?;
    let (mut job, refusal) = match converted {
        Ok(c) => (c.job, None),
        Err(diagnostics) => (SparkJob::new(&name, sparkplane_api::SparkJobSpec::default()), Some(diagnostics)),
    };
    mark(&mut job, app);
    let prepared = match &refusal {
        None => ctx.prepared(&job),
        Some(diagnostics) => Arc::new(Prepared::Refused { cause: Cause::InvalidSpec, message: lines(diagnostics) }),
    };
    let (hash, rule) = match &*prepared {
        Prepared::Ready(plan) => (Some(plan.spec_hash.clone()), plan.retry.clone()),
        Prepared::Refused { .. } => (None, RetryRule::of(&job.spec)),
    };
    let freshest = kubeflow
        .app_writes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .freshest(&key(&namespace, &name), app.metadata.resource_version.as_deref());
    let status = match freshest {
        Some((written, version)) => {
            job.metadata.resource_version = version;
            written.0.clone()
        }
        None => {
            let mut status = run_status(&app.status.clone().unwrap_or_default(), hash.as_deref(), &rule);
            if status.state == Some(JobState::Queued) && status.queued_at.is_none() {
                status.queued_at = app.metadata.creation_timestamp.as_ref().map(|t| sparkplane_lifecycle::rfc3339(t.0));
            }
            status
        }
    };
    job.status = Some(status);
    match refusal {
        None => super::reconcile::one_run(&job, ctx).await,
        Some(_) => refused(ctx, &job, &prepared).await,
    }
}

/// Every problem, one a line (`path: message (fix: help)`).
fn lines(diagnostics: &Diagnostics) -> String {
    not_converted(diagnostics).iter().map(|c| c.message.clone()).collect::<Vec<_>>().join("\n")
}

/// An application that cannot be converted: the one state machine decides
/// on the refusal (it fails, a driver of an earlier spec is stopped, nothing
/// is submitted) and the status is written.
async fn refused(ctx: &Context, job: &SparkJob, prepared: &Prepared) -> Result<Requeue, KubeError> {
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    let status = job.status.clone().unwrap_or_default();
    let (driver, executors) = ctx.pod_index().view(&namespace, &name, job.metadata.uid.as_deref(), None);
    let observed = Observed {
        now: jiff::Timestamp::now(),
        generation: job.metadata.generation.unwrap_or_default(),
        status: &status,
        prepared,
        driver: driver.as_ref(),
        driver_gone: false,
        executors,
        driver_log: None,
        admission: Admission::Admit,
        trigger: None,
        archive_logs: false,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let decision = lifecycle::decide(&observed);
    for action in &decision.actions {
        match action {
            Action::DeleteDriver { pod } => {
                let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
                delete_if_present(ctx, &pods, "Pod", &namespace, pod).await?;
            }
            Action::Event { warning, reason, message } => publish(ctx, job, *warning, reason, message).await,
            // A refusal never submits or checks anything.
            _ => {}
        }
    }
    write_status(ctx, job, &decision.status).await?;
    Ok(Requeue::await_change())
}

/// Keeps the conditions annotation what the conversion found, with a Warning
/// Event naming each field that is new there.
async fn sync_conditions(ctx: &Context, app: &App, conditions: &[Condition]) -> Result<(), KubeError> {
    let current = app.annotations().get(CONDITIONS).map(String::as_str);
    let wanted = annotation(conditions);
    if current == wanted.as_deref() {
        return Ok(());
    }
    let known = read_annotation(current);
    let fresh: Vec<Condition> = conditions.iter().filter(|c| !known.contains(c)).cloned().collect();
    let api: Api<App> = Api::namespaced(ctx.client.clone(), &app.namespace().unwrap_or_default());
    ctx.metrics.request("patch", "SparkApplication");
    let patch = json!({"metadata": {"annotations": {CONDITIONS: wanted}}});
    api.patch(&app.name_any(), &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("patch", "SparkApplication", target(app)), &ctx.settings.server)
    })?;
    let honoured = fresh.iter().filter(|c| c.kind == "FieldNotHonoured").cloned().collect::<Vec<_>>();
    if !honoured.is_empty() {
        ctx.metrics.request("create", "Event");
        let note = format!("fields sparkplane does not honour:\n{}", event_note(&honoured));
        if let Err(error) = ctx.recorder.publish(&regarding(app), true, "FieldNotHonoured", &note).await {
            tracing::info!(application = %target(app), %error, "an Event could not be recorded");
        }
    }
    Ok(())
}

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
    kubeflow.app_writes.lock().unwrap_or_else(|p| p.into_inner()).remember(
        key(&namespace, &name),
        version,
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
