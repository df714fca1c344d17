//! One reconcile of a `type: Connect` SparkJob (a Spark Connect server):
//! gather (its StatefulSet and pod, read from the API; its clients'
//! activity, read from the server's event log), decide
//! (`sparkplane_lifecycle::connect::decide`), act (server-side apply of
//! the rendered objects with the decided replicas, owned by the SparkJob;
//! delete a lost pod; Events), and write the status right after each action
//! that changes the cluster.
//!
//! Owns: the I/O of a server's reconcile and where activity is read from
//! (ADR 0042: the event log through the one event-log model). Must not:
//! decide, or render other than through `plan::render_resolved`.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action as Requeue;
use sparkplane_api::SparkJob;
use sparkplane_api::job::JobState;
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kube::submit;
use sparkplane_lifecycle::connect::{self, Activity, ServerAction, ServerObserved, ServerPod};
use sparkplane_lifecycle::plan::ServerPlan;
use sparkplane_lifecycle::{Prepared, TRIGGER_ANNOTATION, plan};

use super::context::Context;
use super::writes::{delete_if_present, owner_of, publish, write_status};

fn target(job: &SparkJob) -> String {
    format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any())
}

/// Reconciles a Connect server. `prepared` is the job's plan, with a server.
pub async fn reconcile(
    job: &SparkJob,
    ctx: &Context,
    prepared: &Prepared,
    server: &ServerPlan,
) -> Result<Requeue, KubeError> {
    let namespace = job.namespace().unwrap_or_default();
    let status = job.status.clone().unwrap_or_default();

    // Gather: the StatefulSet and its pod from the API (servers are few; the
    // pod index holds drivers the job owns, and the StatefulSet owns this one).
    let sets: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("get", "StatefulSet");
    let set = sets.get_opt(&server.stateful_set).await.map_err(|e| {
        KubeError::from_kube(
            e,
            Operation::new("get", "StatefulSet", format!("{namespace}/{}", server.stateful_set)),
            &ctx.settings.server,
        )
    })?;
    let replicas = set.as_ref().map(|s| s.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(1));
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("get", "Pod");
    let pod = pods
        .get_opt(&server.pod)
        .await
        .map_err(|e| {
            KubeError::from_kube(
                e,
                Operation::new("get", "Pod", format!("{namespace}/{}", server.pod)),
                &ctx.settings.server,
            )
        })?
        .map(|p| ServerPod::of(&p));
    let serving = status.state == Some(JobState::Running) && pod.as_ref().is_some_and(|p| p.ready);
    let activity = match (&server.event_log_dir, serving) {
        (Some(dir), true) => read_activity(dir.clone(), job.name_any()).await,
        _ => None,
    };

    let observed = ServerObserved {
        now: jiff::Timestamp::now(),
        generation: job.metadata.generation.unwrap_or_default(),
        status: &status,
        prepared,
        replicas,
        pod: pod.as_ref(),
        activity,
        trigger: job.annotations().get(TRIGGER_ANNOTATION).map(String::as_str),
    };
    let decision = connect::decide(&observed);
    tracing::debug!(job = %target(job), from = ?status.state, to = ?decision.status.state, actions = decision.actions.len(), "decided (Connect)");
    ctx.metrics.state(&target(job), decision.status.state);
    if let Some(cause) = decision.failure {
        ctx.metrics.failed(cause.as_str());
    }

    // Act.
    let mut written = status.clone();
    for action in &decision.actions {
        match action {
            ServerAction::Apply { replicas } => {
                apply(ctx, job, &namespace, *replicas).await?;
                // Written at once: a restarted operator knows what it applied.
                write_status(ctx, job, &written, &decision.status).await?;
                written = decision.status.clone();
            }
            ServerAction::DeletePod { pod } => {
                delete_if_present(ctx, &pods, "Pod", &namespace, pod).await?;
            }
            ServerAction::Event { warning, reason, message } => publish(ctx, job, *warning, reason, message).await,
        }
    }
    write_status(ctx, job, &written, &decision.status).await?;

    // A server that should run is looked at again within the resync period
    // (activity is read then); an idle or refused one waits for a change.
    let resync = match decision.status.state {
        Some(JobState::Failed | JobState::Suspended) => None,
        _ => Some(ctx.settings.resync),
    };
    let requeue = match (decision.requeue_after, resync) {
        (Some(after), Some(resync)) => Some(after.min(resync)),
        (after, resync) => after.or(resync),
    };
    Ok(requeue.map_or_else(Requeue::await_change, Requeue::requeue))
}

/// Renders the server by the one render path and applies every object
/// (owned by the SparkJob) with the StatefulSet at `replicas`.
async fn apply(ctx: &Context, job: &SparkJob, namespace: &str, replicas: i32) -> Result<(), KubeError> {
    let resolved = plan::resolve_resource(job, &ctx.platform.catalog).map_err(|d| KubeError::Invalid {
        operation: Operation::new("render", "SparkJob", target(job)),
        message: d.0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "),
        fields: Vec::new(),
    })?;
    let objects = connect::with_replicas(plan::render_resolved(&resolved, 1), replicas);
    let owner = serde_json::to_value(owner_of(job)).unwrap_or_default();
    for mut object in objects {
        if object.body["metadata"]["ownerReferences"].is_null() {
            object.body["metadata"]["ownerReferences"] = serde_json::json!([owner.clone()]);
        }
        ctx.metrics.request("apply", &object.kind);
        submit::apply(&ctx.client, &ctx.settings.server, &object, namespace, false).await?;
    }
    Ok(())
}

/// The clients' activity on the server named `job`, from its event log in
/// progress under `dir` (the newest one whose application is the job's).
/// None when it cannot be read or no log of the server is in progress: an
/// unknown activity never stops a server.
async fn read_activity(dir: String, job: String) -> Option<Activity> {
    let read = tokio::time::timeout(ACTIVITY_TIMEOUT, tokio::task::spawn_blocking(move || activity_in(&dir, &job)));
    match read.await {
        Ok(Ok(Ok(activity))) => activity,
        Ok(Ok(Err(message))) => {
            tracing::info!(%message, "a Connect server's activity could not be read");
            None
        }
        _ => None,
    }
}

/// How many logs, newest first, are looked at for the server's: its own is
/// written to for as long as it runs, so it is among the newest.
const LOGS_READ: usize = 8;

fn activity_in(dir: &str, job: &str) -> Result<Option<Activity>, String> {
    let source = sparkplane_eventlog::LogSource::parse(dir).map_err(|e| format!("{dir}: {e}"))?;
    let mut logs = source.app_logs().map_err(|e| format!("{dir}: {e}"))?;
    logs.sort_by_key(|log| std::cmp::Reverse(log.modified_ms));
    for log in logs.iter().take(LOGS_READ) {
        let Ok(opened) = log.open() else { continue };
        if !opened.in_progress {
            continue;
        }
        let Ok(summary) = sparkplane_eventlog::summarize_log(&opened) else { continue };
        if !sparkplane_analysis::tune::is_run_of(&summary, job) {
            continue;
        }
        let counted = summary.connect.unwrap_or_default();
        let last = counted
            .last_activity_ms
            .and_then(|ms| i64::try_from(ms).ok())
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        return Ok(Some(Activity { sessions: counted.open_sessions(), operations: counted.open_operations(), last }));
    }
    Ok(None)
}

/// How long [`read_activity`] may take before the reconcile goes on without it.
pub const ACTIVITY_TIMEOUT: Duration = Duration::from_secs(20);
