//! One reconcile of a Kubeflow SparkConnect (`sparkoperator.k8s.io/v1alpha1`,
//! a Spark Connect server) sparkplane serves (`--kubeflow`, ADR 0077): the
//! one importer converts it into a `type: Connect` SparkJob (at every look:
//! servers are few; a field it cannot honour is a Warning Event and a
//! condition, one it cannot read stops it and nothing is applied), which is
//! served by the same `connect::reconcile` as a Connect SparkJob — the same
//! plan, render, server state machine and objects, owned by the
//! SparkConnect — deciding on the server status remembered from its last
//! write or read back from Kubeflow's shape
//! (`sparkplane_kubeflow::connect_status`); every status it writes goes to
//! the SparkConnect in that shape (`kubeflow_writes`).
//!
//! Owns: the gather particular to a SparkConnect. Must not: decide (the
//! lifecycle does), convert (the importer does), map a status, render, or
//! be imported by a module below it (see the layers in `lib.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::controller::Action as Requeue;
use sparkplane_api::SparkJob;
use sparkplane_kube::error::KubeError;
use sparkplane_kubeflow::connect_status::server_status;
use sparkplane_lifecycle::connect::{self as server_machine, ServerAction, ServerObserved};
use sparkplane_lifecycle::{Cause, Prepared};

use super::context::Context;
use super::converted::{connect_conversion, mark};
use super::kubeflow_state::{Conn, KubeflowState, key};
use super::kubeflow_writes::sync_conditions;
use super::writes::{publish, write_status};

fn target(conn: &Conn) -> String {
    format!("{}/{}", conn.namespace().unwrap_or_default(), conn.name_any())
}

/// Reconciles one SparkConnect.
pub async fn reconcile(conn: Arc<Conn>, ctx: Arc<Context>) -> Result<Requeue, KubeError> {
    let started = Instant::now();
    let Some(kubeflow) = ctx.kubeflow.get().cloned() else { return Ok(Requeue::await_change()) };
    if conn.metadata.deletion_timestamp.is_some() {
        return Ok(Requeue::await_change());
    }
    let result = serve(&conn, &ctx, &kubeflow).await;
    ctx.metrics.reconciled(started.elapsed().as_secs_f64(), result.is_ok());
    result
}

/// After an error: look again soon.
pub fn error_policy(conn: Arc<Conn>, error: &KubeError, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(server = %target(&conn), %error, "reconcile failed; retrying");
    Requeue::requeue(Duration::from_secs(2))
}

async fn serve(conn: &Conn, ctx: &Context, kubeflow: &KubeflowState) -> Result<Requeue, KubeError> {
    let (namespace, name) = (conn.namespace().unwrap_or_default(), conn.name_any());
    let conversion = connect_conversion(conn);
    // A patched annotation moved the resource version: the rest of this look
    // decides on, and writes over, what the patch answered.
    let patched = sync_conditions(ctx, conn, &conversion.conditions).await?;
    let conn = patched.as_ref().unwrap_or(conn);
    let (mut job, prepared) = match &conversion.job {
        Ok(job) => (job.clone(), None),
        Err(_) => {
            let message = conversion.problems().unwrap_or_default();
            let refused = Prepared::Refused { cause: Cause::InvalidSpec, message };
            (SparkJob::new(&name, sparkplane_api::SparkJobSpec::default()), Some(Arc::new(refused)))
        }
    };
    mark(&mut job, conn);
    let prepared = prepared.unwrap_or_else(|| ctx.prepared(&job));
    let hash = match &*prepared {
        Prepared::Ready(plan) => plan.spec_hash.clone(),
        Prepared::Refused { .. } => String::new(),
    };
    let freshest = kubeflow
        .conn_writes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .freshest(&key(&namespace, &name), conn.metadata.resource_version.as_deref());
    job.status = Some(match freshest {
        Some((written, version)) => {
            job.metadata.resource_version = version;
            written.0.clone()
        }
        None => server_status(&conn.status.clone().unwrap_or_default(), conn.metadata.generation, &hash),
    });
    if let Prepared::Ready(plan) = &*prepared
        && let Some(server) = &plan.server
    {
        return super::connect::reconcile(&job, ctx, &prepared, server).await;
    }
    refused(ctx, &job, &prepared).await
}

/// A SparkConnect that cannot be served: the server state machine decides
/// on the refusal (it fails with the cause; nothing is applied) and the
/// status is written.
async fn refused(ctx: &Context, job: &SparkJob, prepared: &Prepared) -> Result<Requeue, KubeError> {
    let status = job.status.clone().unwrap_or_default();
    let observed = ServerObserved {
        now: jiff::Timestamp::now(),
        generation: job.metadata.generation.unwrap_or_default(),
        status: &status,
        prepared,
        replicas: None,
        pod: None,
        activity: None,
        trigger: None,
    };
    let decision = server_machine::decide(&observed);
    for action in &decision.actions {
        // A refusal applies and deletes nothing.
        if let ServerAction::Event { warning, reason, message } = action {
            publish(ctx, job, *warning, reason, message).await;
        }
    }
    write_status(ctx, job, &status, &decision.status).await?;
    Ok(Requeue::await_change())
}
