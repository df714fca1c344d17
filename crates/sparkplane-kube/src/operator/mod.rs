//! `sparkplane operator`: reconciles SparkJob resources inside a cluster
//! with kube-rs's runtime — a `Controller` over SparkJobs that also wakes a
//! job when one of its pods changes, when room frees in its namespace's
//! queue, or when one of its scheduled runs ends. With `--kubeflow` the same
//! operator also serves Kubeflow's SparkApplications and
//! ScheduledSparkApplications that opted in (`kubeflow`): two more
//! controllers over the same caches, queue and state machine.
//!
//! Each reconcile is gather → decide → act (`reconcile`); every decision is
//! the core's (`sparkplane_lifecycle`), and drivers are created through
//! the same `submit::create` the CLI's `submit` uses. With leader election
//! (`leader`), only the replica holding the Lease acts; a replica that loses
//! it stops.
//!
//! Layers, lowest first: a module imports only modules of the layers below
//! its own (`module-circles` checks there is no circle), and none imports
//! this one.
//! 1. Leaves, importing no other operator module: `events`, `metrics`,
//!    `leader`, `watches`, `merge_patch`, `kueue_cache`, `kubeflow_state`.
//! 2. `converted` (the SparkJob a SparkApplication runs as; `kubeflow_state`).
//! 3. `context`: the state every reconcile shares, over the leaves.
//! 4. The shared writes: `kubeflow_writes`, then `writes` (which routes a
//!    converted job's status to it).
//! 5. The steps of a reconcile: `gates`, `connect`, `kueue`.
//! 6. `reconcile`: the SparkJob controller (`one_run`, a run's reconcile).
//! 7. The Kubeflow controllers, over `one_run`: `kubeflow_run`, `kubeflow_schedule`.
//! 8. `kubeflow`: their watches and wiring.
//! 9. This module: `run_with` wires everything.
//!
//! Owns: wiring the watches, caches and controller, and shutdown. Must not:
//! decide, render or print.

pub mod connect;
pub mod context;
pub mod converted;
pub mod events;
pub mod gates;
pub mod kubeflow;
pub mod kubeflow_run;
pub mod kubeflow_schedule;
pub mod kubeflow_state;
pub mod kubeflow_writes;
pub mod kueue;
pub mod kueue_cache;
pub mod leader;
pub mod merge_patch;
pub mod metrics;
pub mod reconcile;
pub mod watches;
pub mod writes;

use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use sparkplane_api::SparkJob;
use sparkplane_lifecycle::Platform;

pub use context::{Context, OperatorSettings, PodIndex};
pub use leader::{Elector, LeaderSettings};
pub use metrics::Metrics;
use watches::{reflect, scoped, slim, stream_of};

use crate::error::KubeError;

/// The name the operator reports Events and field ownership as.
pub const CONTROLLER_NAME: &str = "sparkplane-operator";

/// Who admits runs before any of their pods exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Admitter {
    /// The operator's own queue: ResourceQuota, running-applications cap, priorities, team weights.
    #[default]
    BuiltIn,
    /// Kueue, through each run's Workload (ADR 0073).
    Kueue,
}

/// Runs the operator with the built-in queue; see [`run_with`].
pub async fn run(
    client: kube::Client,
    settings: OperatorSettings,
    platform: Platform,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), KubeError> {
    run_with(client, settings, platform, metrics, Admitter::BuiltIn, shutdown).await
}

/// Runs the operator until `shutdown` completes (Ctrl-C, SIGTERM) or, with
/// leader election, until this replica loses the Lease (an error then, so
/// the process exits and restarts as a standby). `admitter` says who admits runs.
pub async fn run_with(
    client: kube::Client,
    settings: OperatorSettings,
    platform: Platform,
    metrics: Metrics,
    admitter: Admitter,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), KubeError> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<String>();
    let mut release_on_stop: Option<tokio::sync::oneshot::Sender<()>> = None;
    let stop_tx = Arc::new(Mutex::new(Some(stop_tx)));
    let stopper = {
        let stop_tx = Arc::clone(&stop_tx);
        move |why: String| {
            if let Some(tx) = stop_tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = tx.send(why);
            }
        }
    };
    let shutdown_stop = stopper.clone();
    let shutdown = tokio::spawn(async move {
        shutdown.await;
        shutdown_stop(String::new());
    });

    let mut holder: Option<tokio::task::JoinHandle<Elector>> = None;
    if let Some(leader) = settings.leader.clone() {
        let mut elector = Elector::new(client.clone(), leader.clone(), &settings.server);
        metrics.set_ready(true);
        tracing::info!(lease = %leader.lease, identity = %leader.identity, "waiting to lead");
        tokio::select! {
            () = elector.acquire() => {}
            _ = shutdown_signal(&stop_tx) => return Ok(()),
        }
        tracing::info!(identity = %leader.identity, "leading");
        metrics.leading(true);
        let lost = stopper.clone();
        let (keep_tx, keep_rx) = tokio::sync::oneshot::channel::<()>();
        holder = Some(tokio::spawn(async move {
            tokio::select! {
                why = elector.hold() => lost(why),
                _ = keep_rx => {}
            }
            elector
        }));
        release_on_stop = Some(keep_tx);
    } else {
        // Without leader election this replica is the one that acts.
        metrics.leading(true);
    }

    let namespace = settings.namespace.clone();
    let jobs: Api<SparkJob> = scoped(&client, namespace.as_deref());
    let pods: Api<Pod> = scoped(&client, namespace.as_deref());
    let (quotas, quota_task) =
        reflect(scoped::<ResourceQuota>(&client, namespace.as_deref()), watcher::Config::default());
    let (priorities, priority_task) = reflect(Api::<PriorityClass>::all(client.clone()), watcher::Config::default());
    let index = Arc::new(Mutex::new(PodIndex::default()));
    // Kubeflow's v1beta2 resources (`--kubeflow`): their own watches, woken by their drivers' pods too.
    let kubeflow = settings.kubeflow.clone().map(|k| kubeflow::Wiring::new(&client, namespace.as_deref(), k));
    let pod_events = {
        let index = Arc::clone(&index);
        let kubeflow_pods = kubeflow.as_ref().map(kubeflow::Wiring::pod_waker);
        watcher(pods, watcher::Config::default().labels(sparkplane_api::labels::JOB))
            .default_backoff()
            .map_ok(move |event| {
                index.lock().unwrap_or_else(|p| p.into_inner()).apply(&event);
                if let Some(waker) = &kubeflow_pods {
                    waker.saw(&event);
                }
                event
            })
            .touched_objects()
    };
    let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel::<ObjectRef<SparkJob>>();

    // The job cache is filled here rather than by `Controller::new`, so that
    // readiness comes from the watch's first complete list (InitDone) and
    // nothing but the controller ever waits on the store's readiness.
    // kube-runtime 5's `Store::wait_until_ready` keeps one waker: a second
    // waiter (a readiness task did) can take the controller's, and the
    // controller then never starts its runner — the operator sat idle,
    // unready, with every job frozen (seen about one start in three).
    let (job_store, job_writer) = reflector::store::<SparkJob>();
    let job_events = {
        let metrics = metrics.clone();
        watcher(jobs, watcher::Config::default())
            .default_backoff()
            // The cache keeps every job, slimmed.
            .modify(slim)
            .reflect(job_writer)
            .inspect_ok(move |event| {
                if matches!(event, watcher::Event::InitDone) {
                    metrics.set_ready(true);
                }
            })
            .applied_objects()
    };
    let controller = Controller::for_stream(job_events, job_store);
    let recorder = events::EventWriter::new(
        client.clone(),
        CONTROLLER_NAME,
        settings.leader.as_ref().map(|l| l.identity.as_str()),
    );
    let mut context = Context::new(
        client.clone(),
        settings.clone(),
        platform,
        (controller.store(), index, quotas, priorities),
        recorder,
        metrics.clone(),
        wake_tx,
    );
    // Kueue mode: a Workload that changes wakes its SparkJob.
    let mut workload_wakes = None;
    if admitter == Admitter::Kueue {
        let (cache, wakes) = kueue_cache::watch(&client, namespace.as_deref());
        context = context.with_kueue(cache);
        workload_wakes = Some(wakes.boxed());
    }
    let ctx = Arc::new(context);
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    let kubeflow = kubeflow.map(|k| k.start(&ctx, stopping_rx));
    let (why_tx, why_rx) = tokio::sync::oneshot::channel::<String>();
    let stop = async move {
        let why = stop_rx.await.unwrap_or_default();
        let _ = stopping_tx.send(true);
        let _ = why_tx.send(why);
    };
    Controller::watches_stream(controller, pod_events, |pod: Pod| {
        let job = pod.labels().get(sparkplane_api::labels::JOB)?.clone();
        Some(ObjectRef::new(&job).within(&pod.namespace().unwrap_or_default()))
    })
    .reconcile_on(stream_of(wake_rx))
    .reconcile_on(workload_wakes.unwrap_or_else(|| futures::stream::empty().boxed()))
    .with_config(ControllerConfig::default().concurrency(settings.concurrency))
    .graceful_shutdown_on(stop)
    .run(reconcile::reconcile, reconcile::error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
    if let Some(kubeflow) = kubeflow {
        kubeflow.stopped().await;
    }
    shutdown.abort();
    quota_task.abort();
    priority_task.abort();
    // Stop renewing; a clean stop hands the Lease over at once.
    if let (Some(keep), Some(holder)) = (release_on_stop.take(), holder.take()) {
        let _ = keep.send(());
        if let Ok(mut elector) = holder.await {
            elector.release().await;
        }
        metrics.leading(false);
    }
    match why_rx.await.unwrap_or_default() {
        why if why.is_empty() => Ok(()),
        why => Err(KubeError::Server {
            server: settings.server.clone(),
            operation: crate::error::Operation::new("hold", "Lease", "leader election"),
            code: 0,
            message: format!("stopped acting: {why}"),
        }),
    }
}

async fn shutdown_signal(stop: &Arc<Mutex<Option<tokio::sync::oneshot::Sender<String>>>>) {
    // Resolves once the shutdown task has taken the sender (the signal came).
    loop {
        if stop.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
