//! One reconcile of a Kubeflow SparkApplication sparkplane serves: the one
//! importer converts it, once a spec (`Context::converted` keeps the
//! conversion and its plan while the spec and labels stay the same; a field
//! it cannot honour is a Warning Event and a condition; one it cannot read
//! stops it, and nothing is submitted), the SparkJob it converts into runs through the same `reconcile::one_run` as
//! any SparkJob, deciding on the run status read back from Kubeflow's shape
//! (`sparkplane_kubeflow::status`), and every status the run writes goes to
//! the SparkApplication in that shape.
//!
//! Owns: the gather particular to a SparkApplication (its status and
//! conditions annotation are written by `kubeflow_writes`). Must not:
//! decide (the lifecycle does), convert (the importer does), map a status
//! (`sparkplane_kubeflow::status` does), or be imported by a module below it
//! (see the layers in `lib.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action as Requeue;
use sparkplane_api::SparkJob;
use sparkplane_api::job::JobState;
use sparkplane_kube::error::KubeError;
use sparkplane_kubeflow::status::run_status;
use sparkplane_lifecycle::lifecycle::{self, Action, Admission, Observed};
use sparkplane_lifecycle::{Prepared, RetryRule};

use super::context::Context;
use super::converted::mark;
use super::kubeflow_state::{App, KubeflowState, key};
use super::kubeflow_writes::{sync_conditions, write_status};
use super::reconcile::one_run;
use super::writes::{delete_if_present, publish};

fn target(app: &App) -> String {
    format!("{}/{}", app.namespace().unwrap_or_default(), app.name_any())
}

/// Reconciles one SparkApplication.
pub async fn reconcile(app: Arc<App>, ctx: Arc<Context>) -> Result<Requeue, KubeError> {
    let started = Instant::now();
    let Some(kubeflow) = ctx.kubeflow.get().cloned() else { return Ok(Requeue::await_change()) };
    ctx.prefill().await;
    kubeflow
        .prefill(|app| {
            if let Ok(job) = &ctx.converted(app).0.job {
                ctx.hold_room(job);
            }
        })
        .await;
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

async fn run(app: &App, ctx: &Context, kubeflow: &KubeflowState) -> Result<Requeue, KubeError> {
    let (namespace, name) = (app.namespace().unwrap_or_default(), app.name_any());
    // Converted and planned once for this spec; a refusal when it cannot be converted.
    let (conversion, prepared) = ctx.converted(app);
    // A patched annotation moved the resource version: the rest of this look
    // decides on, and writes over, what the patch answered.
    let patched = sync_conditions(ctx, app, &conversion.conditions).await?;
    let app = patched.as_ref().unwrap_or(app);
    let mut job = match &conversion.job {
        Ok(job) => job.clone(),
        Err(_) => SparkJob::new(&name, sparkplane_api::SparkJobSpec::default()),
    };
    mark(&mut job, app);
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
    match &conversion.job {
        Ok(_) => one_run(&job, ctx).await,
        Err(_) => refused(ctx, &job, &prepared).await,
    }
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
