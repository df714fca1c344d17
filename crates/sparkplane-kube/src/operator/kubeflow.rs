//! Kubeflow's v1beta2 resources in the one operator (`--kubeflow`, ADR 0077).
//!
//! SparkApplications and ScheduledSparkApplications labelled
//! `sparkplane.dev/operator: sparkplane` (only those: the watches select them
//! by label, so the Kubeflow operator's own resources are never read) are
//! converted by the one importer (`sparkplane_kubeflow::resource`) into the
//! SparkJob they run as and run by the same reconcile as a SparkJob
//! (`reconcile::one_run`: the same plan, state machine, render, queue, ledger
//! and pod index); only where it writes is different — the driver's owner,
//! the Events' subject and the status are the SparkApplication's, its status
//! in Kubeflow's shape (`kubeflow_run`). A schedule's runs are
//! SparkApplications, as Kubeflow's are (`kubeflow_schedule`).
//!
//! The SparkJob a SparkApplication runs as lives in memory only, marked by
//! the `sparkplane.dev/converted-from` annotation (never rendered: a job's
//! annotations are not part of its document), which is how the shared writes
//! know whose they are.
//!
//! Owns: the watches and controllers of the two kinds, what the operator
//! caches of them, the marks of a converted job, their wake-ups and the
//! memory of status writes the caches have not shown yet. Must not: decide
//! (the lifecycle does) or convert (the kubeflow crate does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::{Deserialize, Serialize};
use sparkplane_api::SparkJob;
use sparkplane_api::kubeflow::{
    API_VERSION, KIND_SCHEDULED_SPARK_APPLICATION, KIND_SPARK_APPLICATION, ScheduledSparkApplicationStatus,
    SparkApplicationStatus,
};
use sparkplane_api::labels;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::context::Context;

/// How the operator serves Kubeflow's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeflowSettings {
    /// Kubeflow's `--max-tracked-executor-per-app`: executors with a higher id
    /// are left out of `status.executorState`.
    pub max_tracked_executors: u32,
}

impl Default for KubeflowSettings {
    fn default() -> Self {
        KubeflowSettings { max_tracked_executors: sparkplane_kubeflow::status::MAX_TRACKED_EXECUTORS }
    }
}

/// A Kubeflow resource as the operator caches it: its metadata, its spec as
/// the compact JSON text the API server sent (the importer reads it when the
/// plan is made), and its status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cached<S> {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The spec, as compact JSON text.
    #[serde(with = "spec_text", default = "empty_spec")]
    pub spec: Arc<str>,
    /// The status.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub status: Option<S>,
}

fn empty_spec() -> Arc<str> {
    Arc::from("{}")
}

mod spec_text {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::from_str::<serde_json::Value>(text).unwrap_or(serde_json::Value::Null).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        Ok(Arc::from(serde_json::Value::deserialize(deserializer)?.to_string()))
    }
}

impl<S> Cached<S> {
    /// The spec as JSON.
    pub fn spec_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.spec).unwrap_or(serde_json::Value::Null)
    }
}

/// A SparkApplication.
pub type App = Cached<SparkApplicationStatus>;
/// A ScheduledSparkApplication.
pub type Scheduled = Cached<ScheduledSparkApplicationStatus>;

macro_rules! kubeflow_resource {
    ($status:ty, $kind:expr, $plural:expr) => {
        impl Resource for Cached<$status> {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                sparkplane_api::kubeflow::GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                "v1beta2".into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

kubeflow_resource!(SparkApplicationStatus, KIND_SPARK_APPLICATION, "sparkapplications");
kubeflow_resource!(ScheduledSparkApplicationStatus, KIND_SCHEDULED_SPARK_APPLICATION, "scheduledsparkapplications");

/// The label selector of the resources sparkplane serves.
pub fn selector() -> String {
    format!("{}={}", labels::OPERATOR, sparkplane_kubeflow::resource::SPARKPLANE)
}

/// What a converted job's reconcile needs of the Kubeflow side.
pub struct KubeflowState {
    /// Settings.
    pub settings: KubeflowSettings,
    /// The SparkApplications sparkplane serves.
    pub apps: Store<App>,
    /// The ScheduledSparkApplications sparkplane serves.
    pub schedules: Store<Scheduled>,
    app_wake: UnboundedSender<ObjectRef<App>>,
    schedule_wake: UnboundedSender<ObjectRef<Scheduled>>,
    /// Status writes the application cache may not show yet.
    pub app_writes: Mutex<Writes<(sparkplane_api::job::SparkJobStatus, SparkApplicationStatus)>>,
    /// Status writes the schedule cache may not show yet.
    pub schedule_writes: Mutex<Writes<ScheduledSparkApplicationStatus>>,
    prefilled: tokio::sync::OnceCell<()>,
}

impl KubeflowState {
    /// Wakes the SparkApplication `name` of `namespace`.
    pub fn wake_app(&self, namespace: &str, name: &str) {
        let _ = self.app_wake.send(ObjectRef::new(name).within(namespace));
    }

    /// Wakes the ScheduledSparkApplication `name` of `namespace`.
    pub fn wake_schedule(&self, namespace: &str, name: &str) {
        let _ = self.schedule_wake.send(ObjectRef::new(name).within(namespace));
    }

    /// Once, before the first decision on an application: the ledger holds
    /// the room of every application that was running when the operator
    /// started, so a restart admits nothing twice (as `Context::prefill`
    /// does for SparkJobs).
    pub async fn prefill(&self, ctx: &Context) {
        self.prefilled
            .get_or_init(|| async {
                for app in self.apps.state() {
                    let Some(status) = app.status.as_ref() else { continue };
                    let state = status.application_state.as_ref().map(|s| s.state.as_str()).unwrap_or_default();
                    if !matches!(state, "SUBMITTED" | "RUNNING" | "UNKNOWN") {
                        continue;
                    }
                    let Ok(job) = super::kubeflow_run::converted_job(&app) else { continue };
                    if let sparkplane_lifecycle::Prepared::Ready(plan) = &*ctx.prepared(&job) {
                        ctx.ledger().admit(
                            &app.namespace().unwrap_or_default(),
                            &app.name_any(),
                            plan.admission.clone(),
                        );
                    }
                }
            })
            .await;
    }
}

/// Writes the cache may not have seen yet, per resource: the resource
/// versions read before them, the last write's answer and what was written
/// (the same rule as the SparkJob status writes, `context::StatusWrites`).
pub struct Writes<T> {
    entries: HashMap<(String, String), Written<T>>,
}

impl<T> Default for Writes<T> {
    fn default() -> Self {
        Writes { entries: HashMap::new() }
    }
}

struct Written<T> {
    superseded: Vec<String>,
    version: Option<String>,
    value: Arc<T>,
}

impl<T> Writes<T> {
    /// Records a write made after reading version `read`, answered at `answer`.
    pub fn remember(&mut self, key: (String, String), read: Option<String>, answer: Option<String>, value: T) {
        let value = Arc::new(value);
        let written = self.entries.entry(key).or_insert_with(|| Written {
            superseded: Vec::new(),
            version: answer.clone(),
            value: Arc::clone(&value),
        });
        let older = [read, (written.version != answer).then(|| written.version.take()).flatten()];
        for rv in older.into_iter().flatten() {
            if !written.superseded.contains(&rv) {
                written.superseded.push(rv);
            }
        }
        written.version = answer;
        written.value = value;
    }

    /// The last write and its version, when the cache still shows a version
    /// it superseded; otherwise the write is forgotten (the cache caught up,
    /// or someone else changed the resource since).
    pub fn freshest(&mut self, key: &(String, String), cached: Option<&str>) -> Option<(Arc<T>, Option<String>)> {
        let written = self.entries.get(key)?;
        if cached.is_some_and(|rv| written.superseded.iter().any(|s| s == rv)) {
            return Some((Arc::clone(&written.value), written.version.clone()));
        }
        self.entries.remove(key);
        None
    }

    /// What is stored now and the version a write must carry, for a decision
    /// made on version `read`: this operator's last write when it made one
    /// since that read (or the read was of it), else None (the cache's is current).
    pub fn current(&self, key: &(String, String), read: Option<&str>) -> Option<(Arc<T>, Option<String>)> {
        let written = self.entries.get(key)?;
        let ours =
            read.is_some_and(|rv| written.superseded.iter().any(|s| s == rv) || written.version.as_deref() == Some(rv));
        ours.then(|| (Arc::clone(&written.value), written.version.clone()))
    }
}

/// Whether `job` is the SparkJob a Kubeflow resource was converted into.
pub fn converted(job: &SparkJob) -> bool {
    converted_from(job).is_some()
}

fn converted_from(job: &SparkJob) -> Option<&str> {
    job.metadata.annotations.as_ref()?.get(labels::CONVERTED_FROM).map(String::as_str)
}

/// The owner reference (controller) of what a converted job's run creates:
/// its SparkApplication, which the driver then belongs to (and goes with).
pub fn owner_of(job: &SparkJob) -> Option<OwnerReference> {
    let kind = converted_from(job)?;
    Some(OwnerReference {
        api_version: API_VERSION.into(),
        kind: kind.into(),
        name: job.name_any(),
        uid: job.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// The subject of a converted job's Events: its SparkApplication.
pub fn object_ref(job: &SparkJob) -> Option<ObjectReference> {
    let kind = converted_from(job)?;
    Some(ObjectReference {
        api_version: Some(API_VERSION.into()),
        kind: Some(kind.into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..ObjectReference::default()
    })
}

/// The subject of Events about a cached Kubeflow resource.
pub fn regarding<S>(resource: &Cached<S>) -> ObjectReference
where
    Cached<S>: Resource<DynamicType = ()>,
{
    resource.object_ref(&())
}

/// Whether the operator serves a SparkApplication `name` in `namespace`.
pub fn serves(ctx: &Context, namespace: &str, name: &str) -> bool {
    ctx.kubeflow.get().is_some_and(|k| k.apps.get(&ObjectRef::new(name).within(namespace)).is_some())
}

/// Wakes the SparkApplication `name` of `namespace`, when the operator serves one.
pub fn wake(ctx: &Context, namespace: &str, name: &str) {
    if let Some(kubeflow) = ctx.kubeflow.get().filter(|_| serves(ctx, namespace, name)) {
        kubeflow.wake_app(namespace, name);
    }
}

/// The watches and wake-up channels, made before the shared context exists.
pub struct Wiring {
    client: kube::Client,
    namespace: Option<String>,
    settings: KubeflowSettings,
    app_wake: (UnboundedSender<ObjectRef<App>>, UnboundedReceiver<ObjectRef<App>>),
    schedule_wake: (UnboundedSender<ObjectRef<Scheduled>>, UnboundedReceiver<ObjectRef<Scheduled>>),
}

/// Wakes a SparkApplication whose driver or executor pod changed.
#[derive(Clone)]
pub struct PodWaker(UnboundedSender<ObjectRef<App>>);

impl PodWaker {
    /// Looks at one pod watch event.
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

async fn stop_when(mut stopping: tokio::sync::watch::Receiver<bool>) {
    while !*stopping.borrow() {
        if stopping.changed().await.is_err() {
            return;
        }
    }
}

fn stream_of<T: Send + 'static>(rx: UnboundedReceiver<T>) -> impl futures::Stream<Item = T> + Send {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) })
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
        }
    }

    /// What the pod watch calls for each event.
    pub fn pod_waker(&self) -> PodWaker {
        PodWaker(self.app_wake.0.clone())
    }

    /// Starts the watches and the two controllers over the shared context;
    /// they stop when `stopping` turns true.
    pub fn start(self, ctx: &Arc<Context>, stopping: tokio::sync::watch::Receiver<bool>) -> Running {
        let Wiring { client, namespace, settings, app_wake, schedule_wake } = self;
        let config = || watcher::Config::default().labels(&selector());
        let (app_store, app_writer) = reflector::store::<App>();
        let apps = watcher(super::scoped::<App>(&client, namespace.as_deref()), config())
            .default_backoff()
            .modify(|app| {
                app.managed_fields_mut().clear();
                app.annotations_mut().remove(super::LAST_APPLIED);
            })
            .reflect(app_writer)
            .applied_objects();
        let (schedule_store, schedule_writer) = reflector::store::<Scheduled>();
        let schedules = watcher(super::scoped::<Scheduled>(&client, namespace.as_deref()), config())
            .default_backoff()
            .modify(|s| {
                s.managed_fields_mut().clear();
                s.annotations_mut().remove(super::LAST_APPLIED);
            })
            .reflect(schedule_writer)
            .applied_objects();
        let state = Arc::new(KubeflowState {
            settings,
            apps: app_store.clone(),
            schedules: schedule_store.clone(),
            app_wake: app_wake.0.clone(),
            schedule_wake: schedule_wake.0.clone(),
            app_writes: Mutex::new(Writes::default()),
            schedule_writes: Mutex::new(Writes::default()),
            prefilled: tokio::sync::OnceCell::new(),
        });
        if ctx.kubeflow.set(state).is_err() {
            tracing::warn!("Kubeflow's resources were already being served");
        }
        let concurrency = ctx.settings.concurrency;
        let app_controller = Controller::for_stream(apps, app_store)
            .reconcile_on(stream_of(app_wake.1))
            .with_config(ControllerConfig::default().concurrency(concurrency))
            .graceful_shutdown_on(stop_when(stopping.clone()))
            .run(super::kubeflow_run::reconcile, super::kubeflow_run::error_policy, Arc::clone(ctx))
            .for_each(|_| futures::future::ready(()));
        let schedule_controller = Controller::for_stream(schedules, schedule_store)
            .reconcile_on(stream_of(schedule_wake.1))
            .with_config(ControllerConfig::default().concurrency(concurrency))
            .graceful_shutdown_on(stop_when(stopping))
            .run(super::kubeflow_schedule::reconcile, super::kubeflow_schedule::error_policy, Arc::clone(ctx))
            .for_each(|_| futures::future::ready(()));
        Running { tasks: vec![tokio::spawn(app_controller), tokio::spawn(schedule_controller)] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_application_keeps_its_spec_as_compact_text_and_reads_back() {
        let json = serde_json::json!({
            "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
            "metadata": {"name": "pi", "namespace": "data", "labels": {"sparkplane.dev/operator": "sparkplane"}},
            "spec": {"type": "Scala", "driver": {"cores": 1}},
            "status": {"applicationState": {"state": "RUNNING"}, "driverInfo": {"podName": "pi-driver"}},
        });
        let app: App = serde_json::from_value(json).expect("reads");
        assert_eq!(&*app.spec, r#"{"driver":{"cores":1},"type":"Scala"}"#);
        assert_eq!(app.spec_value()["driver"]["cores"], 1);
        assert_eq!(
            app.status.as_ref().and_then(|s| s.application_state.as_ref()).map(|s| s.state.as_str()),
            Some("RUNNING")
        );
        assert_eq!(App::plural(&()), "sparkapplications");
        assert_eq!(Scheduled::kind(&()), "ScheduledSparkApplication");
        assert_eq!(App::api_version(&()), "sparkoperator.k8s.io/v1beta2");
        let written = serde_json::to_value(&app).expect("writes");
        assert_eq!(written["spec"]["type"], "Scala");
    }

    #[test]
    fn a_write_is_used_until_the_cache_shows_it() {
        let key = ("data".to_owned(), "pi".to_owned());
        let mut writes: Writes<&str> = Writes::default();
        writes.remember(key.clone(), Some("10".into()), Some("11".into()), "submitted");
        assert_eq!(writes.current(&key, Some("10")).map(|(v, rv)| (*v, rv)), Some(("submitted", Some("11".into()))));
        assert_eq!(writes.freshest(&key, Some("10")).map(|(v, _)| *v), Some("submitted"), "the cache is behind");
        assert!(writes.freshest(&key, Some("11")).is_none(), "caught up: read from the cache");
        assert!(writes.current(&key, Some("11")).is_none(), "and forgotten");
    }
}
