//! sparkplane's operator, `sparkplane operator`: reconciles SparkJob
//! resources inside a cluster with kube-rs's runtime — a `Controller` over SparkJobs that also wakes a
//! job when one of its pods changes, when room frees in its namespace's
//! queue, or when one of its scheduled runs ends. With `--kubeflow` the same
//! operator also serves Kubeflow's SparkApplications,
//! ScheduledSparkApplications and SparkConnects that opted in (`kubeflow`):
//! three more controllers over the same caches, queue and state machines.
//!
//! Each reconcile is gather → decide → act (`reconcile`); every decision is
//! the core's (`sparkplane_lifecycle`), and where the CLI has the same
//! request it is `sparkplane_kube`'s one verb: drivers are created through
//! the same `submit::create` the CLI's `submit` uses. With leader election
//! (`leader`), only the replica holding the Lease acts; a replica that loses
//! it stops.
//!
//! Layers, lowest first: a module imports only modules of the layers below
//! its own (`module-circles` checks there is no circle), and none imports
//! this one.
//! 1. Leaves, importing no other operator module: `events`, `metrics`,
//!    `leader`, `watches`, `merge_patch`, `kueue_cache`, `kubeflow_state`, `pool`.
//! 2. `converted` (the SparkJob a Kubeflow resource runs as; `kubeflow_state`).
//! 3. `context`: the state every reconcile shares, over the leaves and `converted`.
//! 4. The shared writes: `kubeflow_writes`, then `writes` (which routes a
//!    converted job's status to it).
//! 5. The steps of a reconcile: `gates`, `connect`, `kueue`, `builtin_queue`.
//! 6. `reconcile`: the SparkJob controller (`one_run`, a run's reconcile);
//!    `job_gates`: the Job route's gate in Kueue mode (over `kueue`'s status writes).
//! 7. The Kubeflow controllers, over `one_run` and `connect`: `kubeflow_run`,
//!    `kubeflow_schedule`, `kubeflow_connect`.
//! 8. `kubeflow`: their watches and wiring.
//! 9. This module, the crate's root: `run_with` wires everything.
//!
//! Owns: wiring the watches, caches and controller, and shutdown. Must not:
//! decide, render or print, or send a request `sparkplane_kube` has a verb
//! for (submit, Kueue's objects, the log archive) any other way.

pub mod builtin_queue;
pub mod connect;
pub mod context;
pub mod converted;
pub mod events;
pub mod gates;
pub mod job_gates;
pub mod kubeflow;
pub mod kubeflow_connect;
pub mod kubeflow_run;
pub mod kubeflow_schedule;
pub mod kubeflow_state;
pub mod kubeflow_writes;
pub mod kueue;
pub mod kueue_cache;
pub mod leader;
pub mod merge_patch;
pub mod metrics;
pub mod pool;
pub mod reconcile;
pub mod watches;
pub mod writes;

use std::sync::{Arc, Mutex};

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use sparkplane_api::SparkJob;
use sparkplane_kube::error::KubeError;
use sparkplane_lifecycle::Platform;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

pub use context::{Context, OperatorSettings, PodIndex};
pub use leader::{Elector, LeaderSettings};
pub use metrics::Metrics;
use watches::{reflect, scoped, slim, stream_of};

/// The name the operator reports Events and field ownership as.
pub const CONTROLLER_NAME: &str = "sparkplane-operator";

/// Who admits runs before any of their pods exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Admitter {
    /// The operator's own queue: ResourceQuota, running-applications cap, priorities; with
    /// [`OperatorSettings::queue_pool`], a pool every tenant shares by priority and weight.
    #[default]
    BuiltIn,
    /// Kueue, through each run's Workload (ADR 0073).
    Kueue,
}

/// The shutdown a process running the operator waits for: Ctrl-C or
/// SIGTERM (what Kubernetes sends a pod that stops).
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
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
    let (stopper, stop) = Stopper::new();
    let shutdown = {
        let stopper = stopper.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopper.stop(String::new());
        })
    };
    let holder = match lead(&client, &settings, &metrics, &stopper).await {
        Leading::ShutDown => return Ok(()),
        Leading::Alone => None,
        Leading::Holding(holder) => Some(holder),
    };
    let why = serve(client, &settings, platform, metrics.clone(), admitter, stop).await;
    shutdown.abort();
    // Stop renewing; a clean stop hands the Lease over at once.
    if let Some(holder) = holder {
        holder.step_down(&metrics).await;
    }
    outcome(&why, &settings.server)
}

/// Stops the operator once, with why (empty: a clean shutdown; else why it
/// stopped acting). The first reason given wins.
#[derive(Clone)]
struct Stopper(Arc<Mutex<Option<oneshot::Sender<String>>>>);

impl Stopper {
    fn new() -> (Stopper, oneshot::Receiver<String>) {
        let (tx, rx) = oneshot::channel::<String>();
        (Stopper(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    fn stop(&self, why: String) {
        if let Some(tx) = self.0.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(why);
        }
    }

    /// Resolves once a stop was given (the shutdown task has taken the sender: the signal came).
    async fn stopped(&self) {
        loop {
            if self.0.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// Whether this replica acts, and how.
enum Leading {
    /// Without leader election: this replica is the one that acts.
    Alone,
    /// Holding the Lease.
    Holding(Holder),
    /// Shutdown came while waiting for the Lease.
    ShutDown,
}

/// The Lease held: the task renewing it (which stops the operator if it is
/// lost), and the way to tell that task to stop renewing.
struct Holder {
    keep: oneshot::Sender<()>,
    renewing: tokio::task::JoinHandle<Elector>,
}

impl Holder {
    /// Stops renewing and releases the Lease, so a standby takes over at once.
    async fn step_down(self, metrics: &Metrics) {
        let _ = self.keep.send(());
        if let Ok(mut elector) = self.renewing.await {
            elector.release().await;
        }
        metrics.leading(false);
    }
}

/// Becomes the replica that acts: at once without leader election, else
/// once this replica holds the Lease (ready meanwhile, as a standby).
async fn lead(client: &kube::Client, settings: &OperatorSettings, metrics: &Metrics, stopper: &Stopper) -> Leading {
    let Some(leader) = settings.leader.clone() else {
        metrics.leading(true);
        return Leading::Alone;
    };
    let mut elector = Elector::new(client.clone(), leader.clone(), &settings.server);
    metrics.set_ready(true);
    tracing::info!(lease = %leader.lease, identity = %leader.identity, "waiting to lead");
    tokio::select! {
        () = elector.acquire() => {}
        () = stopper.stopped() => return Leading::ShutDown,
    }
    tracing::info!(identity = %leader.identity, "leading");
    metrics.leading(true);
    let lost = stopper.clone();
    let (keep, kept) = oneshot::channel::<()>();
    let renewing = tokio::spawn(async move {
        tokio::select! {
            why = elector.hold() => lost.stop(why),
            _ = kept => {}
        }
        elector
    });
    Leading::Holding(Holder { keep, renewing })
}

/// Runs the controllers (SparkJobs, and with `--kubeflow` Kubeflow's two
/// kinds) over the shared caches until `stop` says why; returns why.
async fn serve(
    client: kube::Client,
    settings: &OperatorSettings,
    platform: Platform,
    metrics: Metrics,
    admitter: Admitter,
    stop: oneshot::Receiver<String>,
) -> String {
    let namespace = settings.namespace.as_deref();
    let (quotas, quota_task) = reflect(scoped::<ResourceQuota>(&client, namespace), watcher::Config::default());
    let (priorities, priority_task) = reflect(Api::<PriorityClass>::all(client.clone()), watcher::Config::default());
    let index = Arc::new(Mutex::new(PodIndex::default()));
    // Kubeflow's v1beta2 resources (`--kubeflow`): their own watches, woken by their drivers' pods too.
    let kubeflow = settings.kubeflow.clone().map(|k| kubeflow::Wiring::new(&client, namespace, k));
    let kubeflow_pods = kubeflow.as_ref().map(kubeflow::Wiring::pod_waker);
    let app_waker = kubeflow_pods.clone();
    let pod_events = pod_events(scoped(&client, namespace), Arc::clone(&index), kubeflow_pods);
    let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel::<ObjectRef<SparkJob>>();
    let (job_store, job_writer) = reflector::store::<SparkJob>();
    let plans = context::Plans::default();
    let job_events = job_events(scoped(&client, namespace), job_writer, &metrics, plans.clone());
    let controller = Controller::for_stream(job_events, job_store);
    let stores = (controller.store(), index, quotas, priorities);
    let (ctx, workload_wakes) = context(&client, settings, platform, stores, metrics, (wake_tx, app_waker), admitter);
    // The small-cluster mode's pool, as the nodes and pods show it (`--queue-pool`, ADR 0073).
    let (ctx, pool_tasks) = match (&settings.queue_pool, admitter) {
        (Some(pool::PoolCapacity::Nodes), Admitter::BuiltIn) => {
            let index = Arc::new(Mutex::new(pool::PoolIndex::default()));
            let tasks = pool::watch(&client, &index);
            (ctx.with_pool(index), tasks)
        }
        _ => (ctx, Vec::new()),
    };
    let ctx = Arc::new(ctx.with_plans(plans));
    let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
    // Kueue mode: the Job route's gated Jobs, unsuspended when their own Workload is admitted (issue #69).
    let gate_task = (admitter == Admitter::Kueue)
        .then(|| job_gates::start(&client, namespace, &ctx, kubeflow::stop_when(stopping_rx.clone())));
    let kubeflow = kubeflow.map(|k| k.start(&ctx, stopping_rx));
    let (why_tx, why_rx) = oneshot::channel::<String>();
    let stop = async move {
        let why = stop.await.unwrap_or_default();
        let _ = stopping_tx.send(true);
        let _ = why_tx.send(why);
    };
    Controller::watches_stream(controller, pod_events, job_of_pod)
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
    if let Some(task) = gate_task {
        let _ = task.await;
    }
    quota_task.abort();
    priority_task.abort();
    for task in pool_tasks {
        task.abort();
    }
    why_rx.await.unwrap_or_default()
}

/// The pods of every job, as watch events: each also updates the pod index
/// and, with `--kubeflow`, wakes the SparkApplication whose pod it is.
fn pod_events(
    pods: Api<Pod>,
    index: Arc<Mutex<PodIndex>>,
    kubeflow_pods: Option<kubeflow::PodWaker>,
) -> impl futures::Stream<Item = Result<Pod, watcher::Error>> + Send + 'static {
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
}

/// The SparkJobs, as watch events, filling the job cache through `writer`.
///
/// The job cache is filled here rather than by `Controller::new`, so that
/// readiness comes from the watch's first complete list (InitDone) and
/// nothing but the controller ever waits on the store's readiness.
/// kube-runtime 5's `Store::wait_until_ready` keeps one waker: a second
/// waiter (a readiness task did) can take the controller's, and the
/// controller then never starts its runner — the operator sat idle,
/// unready, with every job frozen (seen about one start in three).
///
/// A deleted job is not reconciled again: its plan is forgotten here and its
/// series of `sparkplane_operator_applications` leaves its state.
fn job_events(
    jobs: Api<SparkJob>,
    writer: reflector::store::Writer<SparkJob>,
    metrics: &Metrics,
    plans: context::Plans,
) -> impl futures::Stream<Item = Result<SparkJob, watcher::Error>> + Send + 'static {
    let metrics = metrics.clone();
    watcher(jobs, watcher::Config::default())
        .default_backoff()
        // The cache keeps every job, slimmed.
        .modify(slim)
        .reflect(writer)
        .inspect_ok(move |event| match event {
            watcher::Event::InitDone => metrics.set_ready(true),
            watcher::Event::Delete(job) => {
                plans.forget(job.metadata.uid.as_deref().unwrap_or_default());
                metrics.state(&format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any()), None);
            }
            _ => {}
        })
        .applied_objects()
}

/// The SparkJob a pod's change wakes: the one its job label names, in its namespace.
fn job_of_pod(pod: Pod) -> Option<ObjectRef<SparkJob>> {
    let job = pod.labels().get(sparkplane_api::labels::JOB)?.clone();
    Some(ObjectRef::new(&job).within(&pod.namespace().unwrap_or_default()))
}

/// The shared context over the caches; in Kueue mode with the Workloads'
/// cache, and the SparkJobs a changed Workload wakes.
fn context(
    client: &kube::Client,
    settings: &OperatorSettings,
    platform: Platform,
    stores: (Store<SparkJob>, Arc<Mutex<PodIndex>>, Store<ResourceQuota>, Store<PriorityClass>),
    metrics: Metrics,
    (wake, app_waker): (UnboundedSender<ObjectRef<SparkJob>>, Option<kubeflow::PodWaker>),
    admitter: Admitter,
) -> (Context, Option<BoxStream<'static, ObjectRef<SparkJob>>>) {
    let recorder = events::EventWriter::new(
        client.clone(),
        CONTROLLER_NAME,
        settings.leader.as_ref().map(|l| l.identity.as_str()),
    );
    let context = Context::new(client.clone(), settings.clone(), platform, stores, recorder, metrics, wake);
    match admitter {
        Admitter::BuiltIn => (context, None),
        // Kueue mode: a Workload that changes wakes its SparkJob, or the SparkApplication it belongs to.
        Admitter::Kueue => {
            let (cache, wakes) = kueue_cache::watch(client, settings.namespace.as_deref());
            let wakes = wakes.filter_map(move |woken| {
                futures::future::ready(match woken {
                    kueue_cache::Woken::Job(job) => Some(job),
                    kueue_cache::Woken::Application(namespace, name) => {
                        if let Some(waker) = &app_waker {
                            waker.wake_application(&namespace, &name);
                        }
                        None
                    }
                })
            });
            (context.with_kueue(cache), Some(wakes.boxed()))
        }
    }
}

/// How the operator's run ends: why it stopped (empty: a clean shutdown).
fn outcome(why: &str, server: &str) -> Result<(), KubeError> {
    if why.is_empty() {
        return Ok(());
    }
    Err(KubeError::Server {
        server: server.to_owned(),
        operation: sparkplane_kube::error::Operation::new("hold", "Lease", "leader election"),
        code: 0,
        message: format!("stopped acting: {why}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_shutdown_is_ok_and_a_lost_lease_is_an_error_saying_why() {
        assert!(outcome("", "https://k8s").is_ok());
        match outcome("the Lease was taken by b", "https://k8s") {
            Err(KubeError::Server { server, code, message, .. }) => {
                assert_eq!((server.as_str(), code), ("https://k8s", 0));
                assert_eq!(message, "stopped acting: the Lease was taken by b");
            }
            other => panic!("expected a server error, got {other:?}"),
        }
    }

    #[test]
    fn a_pod_wakes_the_job_its_label_names_in_its_namespace() {
        let pod = |labels: serde_json::Value| -> Pod {
            serde_json::from_value(
                serde_json::json!({"metadata": {"name": "d", "namespace": "data", "labels": labels}}),
            )
            .expect("a Pod")
        };
        assert_eq!(
            job_of_pod(pod(serde_json::json!({"sparkplane.dev/job": "etl"}))),
            Some(ObjectRef::new("etl").within("data"))
        );
        assert_eq!(job_of_pod(pod(serde_json::json!({"spark-role": "driver"}))), None);
    }

    #[tokio::test]
    async fn the_first_stop_wins_and_is_seen() {
        let (stopper, rx) = Stopper::new();
        stopper.stop("lost".into());
        stopper.stop(String::new());
        stopper.stopped().await;
        assert_eq!(rx.await.as_deref(), Ok("lost"));
    }
}
