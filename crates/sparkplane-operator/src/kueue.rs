//! The operator in Kueue mode (`--kueue`, ADR 0073): Kueue admits runs and
//! the operator plays Kueue's job framework for SparkJobs. Gather: the
//! run's Workload from a watch (the watch also wakes its SparkJob), and
//! before it exists whether the job's LocalQueue and priority class do;
//! the admission's flavors when a driver is to be created. Act: create,
//! release, finish or delete the Workload as
//! `sparkplane_lifecycle::admission` says, after the state machine decided.
//!
//! Owns: those requests (the Workload watch and the Workloads created that
//! it has not shown yet are `kueue_cache`'s). Must not: decide (the
//! lifecycle crate does), build the Workload (the core renders it), or be
//! imported by the shared context (see the layers in `lib.rs`).

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_core::render::kueue::{Admitted, WorkloadOf, name_for, workload};
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kube::kueue::{check_references, queue_of, resource};
use sparkplane_lifecycle::admission::{self, RunFacts, WorkloadAction, WorkloadView, requeued_after};
use sparkplane_lifecycle::{Admission, Plan, plan};

use super::context::Context;
use super::kueue_cache::KueueCache;

/// What Kueue mode gathered for one reconcile.
#[derive(Clone, Debug, Default)]
pub struct Gathered {
    /// The run's Workload name.
    pub name: String,
    /// The Workload, as the watch has it.
    pub workload: Option<WorkloadView>,
    /// Its whole object (for status writes).
    pub object: Option<Value>,
    /// The run's admission.
    pub admission: Option<Admission>,
    /// Why the job cannot be queued (its LocalQueue or priority class does not exist).
    pub refused: Option<String>,
    /// The priority class's value, for a Workload to be created.
    pub priority: Option<i32>,
    /// The admission's placement, when a driver may be created.
    pub placement: Option<Admitted>,
}

fn api(ctx: &Context, namespace: &str, kind: &str) -> Api<DynamicObject> {
    Api::namespaced_with(ctx.client.clone(), namespace, &resource(kind))
}

/// Reads the run's Workload, and what admission it means.
pub async fn gather(
    ctx: &Context,
    cache: &KueueCache,
    job: &SparkJob,
    plan: &Plan,
    status: &SparkJobStatus,
) -> Result<Gathered, KubeError> {
    let namespace = job.namespace().unwrap_or_default();
    let name = name_for(&job.name_any(), &plan.spec_hash);
    let object = cache.workload(&namespace, &name);
    let view = object.as_ref().map(WorkloadView::of);
    let mut out = Gathered { name, workload: view.clone(), object, ..Gathered::default() };
    let waiting = matches!(status.state, None | Some(JobState::Queued | JobState::Retrying | JobState::Suspended));
    // A job refused for its references (no run started: no spec hash) is looked at again: it
    // stays refused while they are missing, and runs once they exist.
    let refused_before = status.state == Some(JobState::Failed) && status.spec_hash.is_none();
    if view.is_none() && (waiting || refused_before) {
        ctx.metrics.request("get", "LocalQueue");
        let priority = job.spec.priority_class_name.as_deref();
        if priority.is_some() {
            ctx.metrics.request("get", "WorkloadPriorityClass");
        }
        let refs =
            check_references(&ctx.client, &ctx.settings.server, &namespace, &queue_of(plan.queue.as_deref()), priority)
                .await?;
        if !refs.unresolved.is_empty() {
            let lines: Vec<String> = refs.unresolved.iter().map(ToString::to_string).collect();
            out.refused = Some(lines.join("\n"));
        }
        out.priority = refs.priority;
    }
    let admission = admission::admission(view.as_ref());
    if admission == Admission::Admit
        && waiting
        && let Some(view) = &view
    {
        let mut flavors = Vec::new();
        let all: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &resource("ResourceFlavor"));
        for flavor in &view.flavors {
            ctx.metrics.request("get", "ResourceFlavor");
            let found = all.get_opt(flavor).await.map_err(|e| {
                KubeError::from_kube(e, Operation::new("get", "ResourceFlavor", flavor), &ctx.settings.server)
            })?;
            flavors.extend(found.map(|f| serde_json::to_value(f).unwrap_or(Value::Null)));
        }
        out.placement = Some(admission::placement(view, &flavors, plan.initial_executors));
    }
    out.admission = Some(admission);
    Ok(out)
}

/// Does to the Workload what the decision calls for (status `next`, pods still there or not).
pub async fn act(
    ctx: &Context,
    job: &SparkJob,
    gathered: &Gathered,
    next: &SparkJobStatus,
    pods_left: bool,
) -> Result<(), KubeError> {
    let namespace = job.namespace().unwrap_or_default();
    let facts = RunFacts {
        workload: gathered.workload.as_ref(),
        state: next.state,
        reason: next.reason.as_deref(),
        message: next.message.as_deref(),
        pods_left,
    };
    let workloads = api(ctx, &namespace, "Workload");
    let target = format!("{namespace}/{}", gathered.name);
    let server = &ctx.settings.server;
    for action in admission::workload_actions(&facts) {
        match action {
            WorkloadAction::Create => {
                let resolved = plan::resolve_resource(job, &ctx.platform.catalog).map_err(|d| KubeError::Invalid {
                    operation: Operation::new("render", "Workload", &target),
                    message: d.0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "),
                    fields: Vec::new(),
                })?;
                let queue = queue_of(resolved.job.spec.queue.as_deref());
                let class = job.spec.priority_class_name.as_deref();
                let uid = job.meta().uid.clone();
                let of = WorkloadOf {
                    queue: &queue,
                    priority: class.map(|c| (c, gathered.priority.unwrap_or(0))),
                    owner_uid: uid.as_deref(),
                };
                let mut body: DynamicObject = serde_json::from_value(workload(&resolved, &of).body)
                    .map_err(|e| invalid(&target, &e.to_string()))?;
                // A Kubeflow resource's run: its Workload belongs to the resource (there is no SparkJob).
                if let Some(owner) = super::converted::owner_of(job) {
                    body.metadata.owner_references = Some(vec![owner]);
                }
                ctx.metrics.request("create", "Workload");
                match workloads.create(&PostParams::default(), &body).await {
                    Ok(created) => remember(ctx, &namespace, &gathered.name, serde_json::to_value(created).ok()),
                    // Made by an earlier reconcile the watch has not shown yet.
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => {
                        return Err(KubeError::from_kube(e, Operation::new("create", "Workload", &target), server));
                    }
                }
            }
            WorkloadAction::Delete => {
                ctx.metrics.request("delete", "Workload");
                remember(ctx, &namespace, &gathered.name, None);
                match workloads.delete(&gathered.name, &Default::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(KubeError::from_kube(e, Operation::new("delete", "Workload", &target), server));
                    }
                }
            }
            WorkloadAction::Release { reason, message } => {
                let released = released(conditions_of(gathered), &reason, &message);
                patch_status(ctx, &workloads, &target, &gathered.name, released).await?;
            }
            WorkloadAction::Finish { reason, message } => {
                let mut conditions = conditions_of(gathered);
                let message = if message.is_empty() { format!("the run {reason}") } else { message };
                set(&mut conditions, "Finished", true, &reason, &message);
                patch_status(ctx, &workloads, &target, &gathered.name, json!({"conditions": conditions})).await?;
            }
        }
    }
    Ok(())
}

fn remember(ctx: &Context, namespace: &str, name: &str, object: Option<Value>) {
    if let Some(cache) = &ctx.kueue {
        cache.remember(namespace, name, object);
    }
}

fn invalid(target: &str, message: &str) -> KubeError {
    KubeError::Invalid {
        operation: Operation::new("create", "Workload", target),
        message: message.to_owned(),
        fields: Vec::new(),
    }
}

fn conditions_of(gathered: &Gathered) -> Vec<Value> {
    gathered.object.as_ref().and_then(|w| w["status"]["conditions"].as_array().cloned()).unwrap_or_default()
}

/// The status that gives a Workload's quota back once its run stopped
/// (Kueue's job framework after an eviction): `Requeued` as the reason says,
/// no reservation, no admission — for a SparkJob's Workload and a Job
/// route's gate alike.
pub(crate) fn released(mut conditions: Vec<Value>, reason: &str, message: &str) -> Value {
    set(&mut conditions, "Requeued", requeued_after(reason), reason, message);
    set(&mut conditions, "QuotaReserved", false, "Pending", message);
    set(&mut conditions, "Admitted", false, "NoReservation", "The workload has no reservation");
    json!({"admission": null, "conditions": conditions})
}

/// Sets a condition as Kubernetes' `SetStatusCondition` does: the
/// transition time moves only when the status does.
pub(crate) fn set(conditions: &mut Vec<Value>, kind: &str, status: bool, reason: &str, message: &str) {
    let status = if status { "True" } else { "False" };
    let now = sparkplane_lifecycle::rfc3339(jiff::Timestamp::now());
    let at = match conditions.iter().find(|c| c["type"] == kind) {
        Some(old) if old["status"] == status => old["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let new = json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": at});
    match conditions.iter_mut().find(|c| c["type"] == kind) {
        Some(slot) => *slot = new,
        None => conditions.push(new),
    }
}

pub(crate) async fn patch_status(
    ctx: &Context,
    api: &Api<DynamicObject>,
    target: &str,
    name: &str,
    status: Value,
) -> Result<(), KubeError> {
    ctx.metrics.request("patch", "Workload/status");
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status})))
        .await
        .map(|_| ())
        .map_err(|e| KubeError::from_kube(e, Operation::new("patch", "Workload/status", target), &ctx.settings.server))
}
