//! Kubeflow's resources in the one operator (`--kubeflow`, ADR 0077).
//!
//! SparkApplications, ScheduledSparkApplications and SparkConnects labelled
//! `sparkplane.dev/operator: sparkplane` (only those: the watches select them
//! by label, so the Kubeflow operator's own resources are never read) are
//! converted by the one importer (`sparkplane_kubeflow::resource`) into the
//! SparkJob they run as and run by the same reconcile as a SparkJob
//! (`reconcile::one_run`: the same plan, state machine, render, queue, ledger
//! and pod index); only where it writes is different — the driver's owner,
//! the Events' subject and the status are the SparkApplication's, its status
//! in Kubeflow's shape (`kubeflow_run`). A schedule's runs are
//! SparkApplications, as Kubeflow's are (`kubeflow_schedule`). A
//! SparkConnect is served by the same reconcile as a Connect SparkJob
//! (`kubeflow_connect`). A kind the cluster has no CRD for (SparkConnect
//! before Kubeflow 2.3), or that the operator may not list, is not served,
//! and the operator says so once at start.
//!
//! The SparkJob a SparkApplication runs as lives in memory only, marked by
//! the `sparkplane.dev/converted-from` annotation (never rendered: a job's
//! annotations are not part of its document), which is how the shared writes
//! know whose they are.
//!
//! What the operator keeps of the two kinds is `kubeflow_state`'s, the marks
//! of a converted job `converted`'s and the writes to an application
//! `kubeflow_writes`'s: this module only wires them up, as the top of the
//! operator's Kubeflow side (see the layers in `lib.rs`).
//!
//! Owns: the watches and controllers of the three kinds and their wake-ups.
//! Must not: decide (the lifecycle does), convert (the kubeflow crate does),
//! or be imported by anything but the crate's root (`lib.rs`).

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use sparkplane_api::kubeflow::KIND_SPARK_APPLICATION;
use sparkplane_api::labels;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::context::Context;
use super::kubeflow_connect;
use super::kubeflow_run;
use super::kubeflow_schedule;
pub use super::kubeflow_state::KubeflowSettings;
use super::kubeflow_state::{App, Conn, KubeflowState, Scheduled, selector};
use super::watches::{scoped, slim, stream_of};

/// The watches and wake-up channels, made before the shared context exists.
pub struct Wiring {
    client: kube::Client,
    namespace: Option<String>,
    settings: KubeflowSettings,
    app_wake: (UnboundedSender<ObjectRef<App>>, UnboundedReceiver<ObjectRef<App>>),
    schedule_wake: (UnboundedSender<ObjectRef<Scheduled>>, UnboundedReceiver<ObjectRef<Scheduled>>),
    conn_wake: (UnboundedSender<ObjectRef<Conn>>, UnboundedReceiver<ObjectRef<Conn>>),
}

/// Wakes a SparkApplication whose driver or executor pod changed, and a
/// SparkConnect whose server pod did.
#[derive(Clone)]
pub struct PodWaker(UnboundedSender<ObjectRef<App>>, UnboundedSender<ObjectRef<Conn>>);

impl PodWaker {
    /// Looks at one pod watch event.
    /// Wakes the SparkApplication `namespace/name` (its Kueue Workload changed).
    pub fn wake_application(&self, namespace: &str, name: &str) {
        let _ = self.0.send(ObjectRef::new(name).within(namespace));
    }

    pub fn saw(&self, event: &watcher::Event<Pod>) {
        let pod = match event {
            watcher::Event::Apply(pod) | watcher::Event::Delete(pod) | watcher::Event::InitApply(pod) => pod,
            _ => return,
        };
        let owned = pod
            .owner_references()
            .iter()
            .any(|o| o.kind == KIND_SPARK_APPLICATION || o.kind == "Pod" && pod.labels().contains_key(labels::JOB));
        if let (true, Some(job)) = (owned, pod.labels().get(labels::JOB)) {
            let _ = self.0.send(ObjectRef::new(job).within(&pod.namespace().unwrap_or_default()));
        }
        // A server's pod (its StatefulSet's): a SparkConnect of that name, when one is served, looks again.
        if let (true, Some(job)) = (pod.labels().contains_key(labels::CONNECT_SERVER), pod.labels().get(labels::JOB)) {
            let _ = self.1.send(ObjectRef::new(job).within(&pod.namespace().unwrap_or_default()));
        }
    }
}

/// The controllers, running.
pub struct Running {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until both controllers have stopped.
    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

pub(crate) async fn stop_when(mut stopping: tokio::sync::watch::Receiver<bool>) {
    while !*stopping.borrow() {
        if stopping.changed().await.is_err() {
            return;
        }
    }
}

impl Wiring {
    /// The channels for `settings` over `client`, in `namespace` (None: every namespace).
    pub fn new(client: &kube::Client, namespace: Option<&str>, settings: KubeflowSettings) -> Wiring {
        Wiring {
            client: client.clone(),
            namespace: namespace.map(str::to_owned),
            settings,
            app_wake: tokio::sync::mpsc::unbounded_channel(),
            schedule_wake: tokio::sync::mpsc::unbounded_channel(),
            conn_wake: tokio::sync::mpsc::unbounded_channel(),
        }
    }

    /// What the pod watch calls for each event.
    pub fn pod_waker(&self) -> PodWaker {
        PodWaker(self.app_wake.0.clone(), self.conn_wake.0.clone())
    }

    /// Starts the watches and the three controllers over the shared context;
    /// they stop when `stopping` turns true.
    pub fn start(self, ctx: &Arc<Context>, stopping: tokio::sync::watch::Receiver<bool>) -> Running {
        let Wiring { client, namespace, settings, app_wake, schedule_wake, conn_wake } = self;
        let config = || watcher::Config::default().labels(&selector());
        let (app_store, app_writer) = reflector::store::<App>();
        let apps = watcher(scoped::<App>(&client, namespace.as_deref()), config())
            .default_backoff()
            .modify(slim)
            .reflect(app_writer)
            .applied_objects();
        let (schedule_store, schedule_writer) = reflector::store::<Scheduled>();
        let schedules = watcher(scoped::<Scheduled>(&client, namespace.as_deref()), config())
            .default_backoff()
            .modify(slim)
            .reflect(schedule_writer)
            .applied_objects();
        let (conn_store, conn_writer) = reflector::store::<Conn>();
        let conns = watcher(scoped::<Conn>(&client, namespace.as_deref()), config())
            .default_backoff()
            .modify(slim)
            .reflect(conn_writer)
            .applied_objects();
        let state = Arc::new(KubeflowState::new(
            settings,
            (app_store.clone(), schedule_store.clone(), conn_store.clone()),
            app_wake.0.clone(),
            schedule_wake.0.clone(),
        ));
        if ctx.kubeflow.set(state).is_err() {
            tracing::warn!("Kubeflow's resources were already being served");
        }
        let concurrency = ctx.settings.concurrency;
        let app_controller = Controller::for_stream(apps, app_store)
            .reconcile_on(stream_of(app_wake.1))
            .with_config(ControllerConfig::default().concurrency(concurrency))
            .graceful_shutdown_on(stop_when(stopping.clone()))
            .run(kubeflow_run::reconcile, kubeflow_run::error_policy, Arc::clone(ctx))
            .for_each(|_| futures::future::ready(()));
        let schedule_controller = Controller::for_stream(schedules, schedule_store)
            .reconcile_on(stream_of(schedule_wake.1))
            .with_config(ControllerConfig::default().concurrency(concurrency))
            .graceful_shutdown_on(stop_when(stopping.clone()))
            .run(kubeflow_schedule::reconcile, kubeflow_schedule::error_policy, Arc::clone(ctx))
            .for_each(|_| futures::future::ready(()));
        let conn_controller = Controller::for_stream(conns, conn_store)
            .reconcile_on(stream_of(conn_wake.1))
            .with_config(ControllerConfig::default().concurrency(concurrency))
            .graceful_shutdown_on(stop_when(stopping))
            .run(kubeflow_connect::reconcile, kubeflow_connect::error_policy, Arc::clone(ctx))
            .for_each(|_| futures::future::ready(()));
        let ns = namespace.as_deref();
        let tasks = vec![
            tokio::spawn(when_servable(scoped::<App>(&client, ns), app_controller)),
            tokio::spawn(when_servable(scoped::<Scheduled>(&client, ns), schedule_controller)),
            tokio::spawn(when_servable(scoped::<Conn>(&client, ns), conn_controller)),
        ];
        Running { tasks }
    }
}

/// Runs `controller` when its kind can be served: the API server has the
/// kind and the operator may list it. When not, the operator says so once
/// and serves the other kinds (a watch of a kind the API server does not
/// have would retry for as long as the operator runs, and a controller
/// over it would not stop when asked).
async fn when_servable<K>(api: Api<K>, controller: impl std::future::Future<Output = ()>)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.list_metadata(&ListParams::default().labels(&selector()).limit(1)).await {
        Err(kube::Error::Api(status)) if matches!(status.code, 403 | 404) => {
            let (kind, version) = (K::kind(&()), K::api_version(&()));
            tracing::warn!(
                code = status.code,
                "{kind}s ({version}) are not served: {} (install Kubeflow's CRD for them, e.g. with the chart's \
                 kubeflow.installCRDs, and grant the operator access to them; then restart it)",
                status.message
            );
        }
        // Listed, or the API server unreachable for a moment (the watch retries as the others do).
        _ => controller.await,
    }
}
