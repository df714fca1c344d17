//! The Job route's gate in Kueue mode (`--kueue`, issue #69, ADR 0099):
//! `render --target job` with a queue writes its batch Job suspended beside
//! a Workload of its own labelled `sparkplane.dev/gates-job: <job>`, and
//! this controller plays Kueue's job framework for the pair. Gather: the
//! Workload (a watch of those labelled Workloads, woken too by a change of
//! a Job of sparkplane's), its Job, and when the run is to be stopped the
//! run's Spark pods. Decide: `sparkplane_lifecycle::job_gate`. Act: adopt
//! the Workload by its Job (an owner, not its controller, so Kueue's own
//! Job integration leaves the pair alone), unsuspend or suspend the Job,
//! delete the run's driver, release, finish or delete the Workload (by the
//! same status writes `kueue` makes for SparkJob Workloads), each action's
//! Event on the Job right after it.
//!
//! Owns: those requests and the watch. Must not: decide (the lifecycle
//! crate does) or build the Workload (the core renders it).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action as Requeue, Config as ControllerConfig, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use serde_json::{Value, json};
use sparkplane_api::labels;
use sparkplane_core::render::common::SPARK_ROLE_LABEL;
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kube::kueue::resource;
use sparkplane_lifecycle::admission::{WorkloadAction, WorkloadView};
use sparkplane_lifecycle::job_gate::{GateAction, GateFacts, JobView, gate_actions};

use super::context::Context;
use super::kueue::{patch_status, released, set};

/// How soon a stopped run is looked at again, while its pods end.
const WHILE_STOPPING: Duration = Duration::from_secs(1);

/// The label selector of the Workloads this controller serves.
pub fn selector() -> String {
    labels::GATES_JOB.to_owned()
}

/// Runs the gate's controller until `stopping` turns true.
pub fn start(
    client: &kube::Client,
    namespace: Option<&str>,
    ctx: &Arc<Context>,
    stopping: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let ar = resource("Workload");
    let workloads: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let jobs: Api<Job> = super::watches::scoped(client, namespace);
    let of_job = ar.clone();
    let controller = Controller::new_with(workloads, watcher::Config::default().labels(&selector()), ar)
        // A gated Job's change (its end, its deletion) wakes its Workload: named as the Job.
        .watches(jobs, watcher::Config::default().labels(labels::JOB), move |job: Job| {
            Some(ObjectRef::new_with(&job.name_any(), of_job.clone()).within(&job.namespace().unwrap_or_default()))
        })
        .with_config(ControllerConfig::default().concurrency(ctx.settings.concurrency))
        .graceful_shutdown_on(stopping)
        .run(reconcile, error_policy, Arc::clone(ctx))
        .for_each(|_| futures::future::ready(()));
    tokio::spawn(controller)
}

fn target(workload: &DynamicObject) -> String {
    format!("{}/{}", workload.namespace().unwrap_or_default(), workload.name_any())
}

/// Retries a failed reconcile shortly.
pub fn error_policy(workload: Arc<DynamicObject>, error: &KubeError, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(workload = %target(&workload), %error, "gate reconcile failed; retrying");
    Requeue::requeue(Duration::from_secs(2))
}

/// What the gate gathered for one Workload.
struct Gathered {
    namespace: String,
    /// The Job's name (the Workload's label).
    job_name: String,
    object: Value,
    view: WorkloadView,
    owner: Option<String>,
    job: Option<JobView>,
    /// The run's drivers not being deleted yet.
    drivers: Vec<String>,
    spark_pods_left: bool,
}

/// Gather → decide → act for one gate Workload.
pub async fn reconcile(workload: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Requeue, KubeError> {
    let gathered = gather(&ctx, &workload).await?;
    let facts = GateFacts {
        workload: &gathered.view,
        owner: gathered.owner.as_deref(),
        job: gathered.job.as_ref(),
        driver_live: !gathered.drivers.is_empty(),
        spark_pods_left: gathered.spark_pods_left,
    };
    let actions = gate_actions(&facts);
    let stopping = actions.iter().any(|a| matches!(a, GateAction::Suspend { .. } | GateAction::StopDriver));
    let waiting_for_pods = gathered.view.evicted.is_some() && gathered.view.quota_reserved && actions.is_empty();
    for action in actions {
        act(&ctx, &gathered, action).await?;
    }
    Ok(if stopping || waiting_for_pods { Requeue::requeue(WHILE_STOPPING) } else { Requeue::await_change() })
}

async fn gather(ctx: &Context, workload: &DynamicObject) -> Result<Gathered, KubeError> {
    let namespace = workload.namespace().unwrap_or_default();
    let object = serde_json::to_value(workload).unwrap_or(Value::Null);
    let view = WorkloadView::of(&object);
    let job_name = workload.labels().get(labels::GATES_JOB).cloned().unwrap_or_else(|| workload.name_any());
    let owner =
        workload.owner_references().iter().find(|o| o.kind == "Job" && o.name == job_name).map(|o| o.uid.clone());
    let server = &ctx.settings.server;
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("get", "Job");
    let job = jobs
        .get_opt(&job_name)
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("get", "Job", format!("{namespace}/{job_name}")), server))?
        .map(|j| JobView::of(&serde_json::to_value(j).unwrap_or(Value::Null)));
    let mut out =
        Gathered { namespace, job_name, object, view, owner, job, drivers: Vec::new(), spark_pods_left: false };
    // The run's Spark pods matter only once it is to be stopped (evicted, or its quota taken back).
    let stopping = out.view.evicted.is_some() || !out.view.quota_reserved;
    if stopping && !out.view.finished && out.job.is_some() {
        let (drivers, left) = spark_pods(ctx, workload, &out.namespace).await?;
        out.drivers = drivers;
        out.spark_pods_left = left;
    }
    Ok(out)
}

/// The run's drivers not being deleted, and whether any driver or executor is left: the pods labelled
/// with the Workload's job and spec hash (the labels the render gives the Job, its Workload and its pods).
async fn spark_pods(
    ctx: &Context,
    workload: &DynamicObject,
    namespace: &str,
) -> Result<(Vec<String>, bool), KubeError> {
    let (Some(job), Some(hash)) = (workload.labels().get(labels::JOB), workload.labels().get(labels::SPEC_HASH)) else {
        return Ok((Vec::new(), false));
    };
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let selector = format!("{}={job},{}={hash},{}", labels::JOB, labels::SPEC_HASH, SPARK_ROLE_LABEL);
    ctx.metrics.request("list", "Pod");
    let listed = pods.list(&ListParams::default().labels(&selector)).await.map_err(|e| {
        KubeError::from_kube(e, Operation::new("list", "Pod", format!("{namespace}/{selector}")), &ctx.settings.server)
    })?;
    let drivers = listed
        .items
        .iter()
        .filter(|p| p.labels().get(SPARK_ROLE_LABEL).is_some_and(|r| r == "driver"))
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(ResourceExt::name_any)
        .collect();
    Ok((drivers, !listed.items.is_empty()))
}

fn job_ref(g: &Gathered) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: Some(g.job_name.clone()),
        namespace: Some(g.namespace.clone()),
        uid: g.job.as_ref().map(|j| j.uid.clone()),
        ..ObjectReference::default()
    }
}

/// An Event on the Job, after the action it reports; one that cannot be written is logged, not retried.
async fn tell(ctx: &Context, g: &Gathered, warning: bool, reason: &str, note: &str) {
    ctx.metrics.request("create", "Event");
    if let Err(e) = ctx.recorder.publish(&job_ref(g), warning, reason, note).await {
        tracing::warn!(job = %format!("{}/{}", g.namespace, g.job_name), error = %e, "could not write an Event");
    }
}

async fn act(ctx: &Context, g: &Gathered, action: GateAction) -> Result<(), KubeError> {
    let server = &ctx.settings.server;
    let name = g.object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let workloads: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &g.namespace, &resource("Workload"));
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &g.namespace);
    let workload_target = format!("{}/{name}", g.namespace);
    let job_target = format!("{}/{}", g.namespace, g.job_name);
    let suspend = |value: bool| async move {
        ctx.metrics.request("patch", "Job");
        jobs.patch(&g.job_name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"suspend": value}})))
            .await
            .map(|_| ())
            .map_err(|e| KubeError::from_kube(e, Operation::new("patch", "Job", &job_target), server))
    };
    match action {
        GateAction::Adopt { uid } => {
            let owner = json!({"apiVersion": "batch/v1", "kind": "Job", "name": g.job_name, "uid": uid});
            let mut owners: Vec<Value> =
                g.object["metadata"]["ownerReferences"].as_array().cloned().unwrap_or_default();
            owners.push(owner);
            ctx.metrics.request("patch", "Workload");
            workloads
                .patch(&name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"ownerReferences": owners}})))
                .await
                .map_err(|e| KubeError::from_kube(e, Operation::new("patch", "Workload", &workload_target), server))?;
        }
        GateAction::Unsuspend => {
            suspend(false).await?;
            let queue = g.view.cluster_queue.as_deref().unwrap_or_default();
            tell(ctx, g, false, "Started", &format!("Admitted by ClusterQueue {queue}")).await;
        }
        GateAction::Suspend { reason, message } => {
            suspend(true).await?;
            tell(ctx, g, true, "Stopped", &format!("{reason}: {message}")).await;
        }
        GateAction::StopDriver => {
            let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &g.namespace);
            for driver in &g.drivers {
                ctx.metrics.request("delete", "Pod");
                match pods.delete(driver, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        let pod = format!("{}/{driver}", g.namespace);
                        return Err(KubeError::from_kube(e, Operation::new("delete", "Pod", &pod), server));
                    }
                }
            }
        }
        GateAction::Workload(WorkloadAction::Delete) => {
            ctx.metrics.request("delete", "Workload");
            match workloads.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(KubeError::from_kube(
                        e,
                        Operation::new("delete", "Workload", &workload_target),
                        server,
                    ));
                }
            }
        }
        GateAction::Workload(WorkloadAction::Release { reason, message }) => {
            let status = released(conditions_of(&g.object), &reason, &message);
            patch_status(ctx, &workloads, &workload_target, &name, status).await?;
        }
        GateAction::Workload(WorkloadAction::Finish { reason, message }) => {
            let mut conditions = conditions_of(&g.object);
            let message = if message.is_empty() { format!("the Job {reason}") } else { message };
            set(&mut conditions, "Finished", true, &reason, &message);
            patch_status(ctx, &workloads, &workload_target, &name, json!({"conditions": conditions})).await?;
        }
        // A gate Workload is made by `render`, never by the operator.
        GateAction::Workload(WorkloadAction::Create) => {}
    }
    Ok(())
}

fn conditions_of(workload: &Value) -> Vec<Value> {
    workload["status"]["conditions"].as_array().cloned().unwrap_or_default()
}
