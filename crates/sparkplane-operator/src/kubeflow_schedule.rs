//! One reconcile of a Kubeflow ScheduledSparkApplication sparkplane serves:
//! the one importer converts it, the one schedule decision
//! (`sparkplane_lifecycle::schedule::decide`, the same as a scheduled
//! SparkJob's) says which runs start and go, and each run is a
//! SparkApplication created from the schedule's `template` as Kubeflow's
//! operator creates them (its labels, the `sparkoperator.k8s.io/scheduled-app-name`
//! label, owned by the schedule), which sparkplane then serves like any other;
//! the status is written in Kubeflow's shape (`sparkplane_kubeflow::schedule_status`).
//!
//! Owns: the gather and the writes particular to a ScheduledSparkApplication.
//! Must not: decide, convert or map a status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action as Requeue;
use serde_json::{Value, json};
use sparkplane_api::job::JobState;
use sparkplane_api::kubeflow::{API_VERSION, KIND_SCHEDULED_SPARK_APPLICATION, ScheduledSparkApplicationStatus};
use sparkplane_api::labels;
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kube::submit::FIELD_MANAGER;
use sparkplane_kubeflow::resource::{CONDITIONS, Live, annotation, convert, event_note, not_converted, not_honoured};
use sparkplane_kubeflow::schedule_status::{run_state, schedule_run_status, scheduled_status};
use sparkplane_lifecycle::schedule::{self, RunView, ScheduleAction, ScheduleObserved};
use sparkplane_lifecycle::{SCHEDULED_AT_ANNOTATION, STARTED_BY_ANNOTATION, parse_time, rfc3339};

use super::context::Context;
use super::kubeflow_state::{App, Cached, KubeflowState, Scheduled, regarding};
use super::kubeflow_writes::patch_status;
use super::writes::delete_if_present;

fn target(s: &Scheduled) -> String {
    format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any())
}

/// Reconciles one ScheduledSparkApplication.
pub async fn reconcile(scheduled: Arc<Scheduled>, ctx: Arc<Context>) -> Result<Requeue, KubeError> {
    let started = Instant::now();
    let Some(kubeflow) = ctx.kubeflow.get().cloned() else { return Ok(Requeue::await_change()) };
    if scheduled.metadata.deletion_timestamp.is_some() {
        return Ok(Requeue::await_change());
    }
    let result = run(&scheduled, &ctx, &kubeflow).await;
    ctx.metrics.reconciled(started.elapsed().as_secs_f64(), result.is_ok());
    result
}

/// After an error: look again soon.
pub fn error_policy(scheduled: Arc<Scheduled>, error: &KubeError, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(schedule = %target(&scheduled), %error, "reconcile failed; retrying");
    Requeue::requeue(Duration::from_secs(2))
}

async fn publish(ctx: &Context, scheduled: &Scheduled, warning: bool, reason: &str, message: &str) {
    ctx.metrics.request("create", "Event");
    if let Err(error) = ctx.recorder.publish(&regarding(scheduled), warning, reason, message).await {
        tracing::info!(schedule = %target(scheduled), %error, "an Event could not be recorded");
    }
}

/// The runs of `scheduled` the operator serves, as the decision sees them.
fn runs(kubeflow: &KubeflowState, namespace: &str, name: &str) -> Vec<RunView> {
    kubeflow
        .apps
        .state()
        .iter()
        .filter(|a| a.namespace().as_deref() == Some(namespace))
        .filter(|a| a.labels().get(labels::KUBEFLOW_SCHEDULED_APP_NAME).map(String::as_str) == Some(name))
        .map(|a| RunView {
            name: a.name_any(),
            scheduled_at: a
                .annotations()
                .get(SCHEDULED_AT_ANNOTATION)
                .and_then(|t| parse_time(t))
                .or_else(|| a.metadata.creation_timestamp.as_ref().map(|t| t.0)),
            state: Some(run_state(
                a.status.as_ref().and_then(|s| s.application_state.as_ref()).map_or("", |s| s.state.as_str()),
            )),
        })
        .collect()
}

async fn run(scheduled: &Scheduled, ctx: &Context, kubeflow: &KubeflowState) -> Result<Requeue, KubeError> {
    let (namespace, name) = (scheduled.namespace().unwrap_or_default(), scheduled.name_any());
    let labels = scheduled.metadata.labels.clone().unwrap_or_default();
    let spec = scheduled.spec_value();
    let live = Live {
        kind: KIND_SCHEDULED_SPARK_APPLICATION,
        name: &name,
        namespace: &namespace,
        labels: &labels,
        spec: &spec,
    };
    let converted = convert(&live);
    let conditions = match &converted {
        Ok(c) => not_honoured(&c.not_carried),
        Err(d) => not_converted(d),
    };
    let key = (namespace.clone(), name.clone());
    let freshest = kubeflow
        .schedule_writes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .freshest(&key, scheduled.metadata.resource_version.as_deref());
    let (mut old, mut version) = match freshest {
        Some((written, version)) => ((*written).clone(), version),
        None => (scheduled.status.clone().unwrap_or_default(), scheduled.metadata.resource_version.clone()),
    };
    let current = scheduled.annotations().get(CONDITIONS).map(String::as_str);
    let wanted = annotation(&conditions);
    if current != wanted.as_deref() {
        let api: Api<Scheduled> = Api::namespaced(ctx.client.clone(), &namespace);
        ctx.metrics.request("patch", "ScheduledSparkApplication");
        let patch = json!({"metadata": {"annotations": {CONDITIONS: wanted}}});
        let answer = api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| {
            KubeError::from_kube(
                e,
                Operation::new("patch", "ScheduledSparkApplication", target(scheduled)),
                &ctx.settings.server,
            )
        })?;
        // The patch moved the resource version: the status write below carries
        // the one it answered, with the status it answered as what it replaces.
        old = answer.status.unwrap_or_default();
        version = answer.metadata.resource_version;
        if !conditions.is_empty() {
            let reason = if converted.is_ok() { "FieldNotHonoured" } else { "InvalidSpec" };
            publish(ctx, scheduled, true, reason, &event_note(&conditions)).await;
        }
    }
    let job = match converted {
        Ok(c) => c.job,
        Err(diagnostics) => {
            let reason = not_converted(&diagnostics).iter().map(|c| c.message.clone()).collect::<Vec<_>>().join("\n");
            let failed = ScheduledSparkApplicationStatus {
                schedule_state: Some(sparkplane_kubeflow::schedule_status::FAILED_VALIDATION.into()),
                reason: Some(reason),
                ..old.clone()
            };
            write(ctx, kubeflow, scheduled, &old, &failed, version).await?;
            return Ok(Requeue::await_change());
        }
    };
    let Some(schedule_spec) = job.spec.schedule.as_ref() else { return Ok(Requeue::await_change()) };
    let suspend = job.spec.suspend.unwrap_or(false);
    let status = schedule_run_status(&old, suspend);
    let mut runs = runs(kubeflow, &namespace, &name);
    let observed = ScheduleObserved {
        now: jiff::Timestamp::now(),
        job: &name,
        created: scheduled.metadata.creation_timestamp.as_ref().map_or_else(jiff::Timestamp::now, |t| t.0),
        generation: scheduled.metadata.generation.unwrap_or_default(),
        status: &status,
        schedule: schedule_spec,
        suspend,
        runs: runs.clone(),
        trigger: None,
    };
    let decision = schedule::decide(&observed);
    ctx.metrics.state(&format!("{namespace}/{name}"), decision.status.state);
    let apps: Api<App> = Api::namespaced(ctx.client.clone(), &namespace);
    for action in &decision.actions {
        match action {
            ScheduleAction::Start(start) => {
                create_run(ctx, &apps, scheduled, &spec, start).await?;
                runs.push(RunView {
                    name: start.name.clone(),
                    scheduled_at: Some(start.at),
                    state: Some(JobState::Queued),
                });
            }
            ScheduleAction::Delete { name: run, .. } => {
                delete_if_present(ctx, &apps, "SparkApplication", &namespace, run).await?;
                runs.retain(|r| r.name != *run);
            }
            ScheduleAction::Event { warning, reason, message } => {
                publish(ctx, scheduled, *warning, reason, message).await
            }
        }
    }
    let written = scheduled_status(&decision.status, &runs);
    write(ctx, kubeflow, scheduled, &old, &written, version).await?;
    Ok(decision.requeue_after.map_or_else(Requeue::await_change, Requeue::requeue))
}

/// Creates one run: a SparkApplication of the schedule's template, with the
/// schedule's labels and Kubeflow's run label, owned by the schedule. One
/// that exists (the tick was started already) is left as it is.
async fn create_run(
    ctx: &Context,
    apps: &Api<App>,
    scheduled: &Scheduled,
    spec: &Value,
    start: &schedule::Start,
) -> Result<(), KubeError> {
    let mut labels = scheduled.metadata.labels.clone().unwrap_or_default();
    labels.insert(labels::KUBEFLOW_SCHEDULED_APP_NAME.to_owned(), scheduled.name_any());
    let started_by = if start.manual { "manual" } else { "schedule" };
    let run = Cached {
        metadata: ObjectMeta {
            name: Some(start.name.clone()),
            namespace: scheduled.namespace(),
            labels: Some(labels),
            annotations: Some(
                [
                    (SCHEDULED_AT_ANNOTATION.to_owned(), rfc3339(start.at)),
                    (STARTED_BY_ANNOTATION.to_owned(), started_by.to_owned()),
                ]
                .into_iter()
                .collect(),
            ),
            owner_references: Some(vec![OwnerReference {
                api_version: API_VERSION.into(),
                kind: KIND_SCHEDULED_SPARK_APPLICATION.into(),
                name: scheduled.name_any(),
                uid: scheduled.uid().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Arc::from(spec["template"].to_string()),
        status: None,
    };
    ctx.metrics.request("create", "SparkApplication");
    let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
    match apps.create(&params, &run).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(KubeError::from_kube(
            e,
            Operation::new(
                "create",
                "SparkApplication",
                format!("{}/{}", scheduled.namespace().unwrap_or_default(), start.name),
            ),
            &ctx.settings.server,
        )),
    }
}

/// Writes `new` over `old` (what the schedule holds now) when they differ.
async fn write(
    ctx: &Context,
    kubeflow: &KubeflowState,
    scheduled: &Scheduled,
    old: &ScheduledSparkApplicationStatus,
    new: &ScheduledSparkApplicationStatus,
    version: Option<String>,
) -> Result<(), KubeError> {
    if old == new {
        return Ok(());
    }
    let (namespace, name) = (scheduled.namespace().unwrap_or_default(), scheduled.name_any());
    let answer = patch_status(ctx, (&namespace, &name), old, new, version.as_deref()).await?;
    // The cache may show the version read before this reconcile's annotation patch, or the one it answered.
    let read = scheduled.metadata.resource_version.clone().into_iter().chain(version);
    kubeflow.schedule_writes.lock().unwrap_or_else(|p| p.into_inner()).remember(
        (namespace, name),
        read,
        answer.metadata.resource_version.clone(),
        new.clone(),
    );
    Ok(())
}
