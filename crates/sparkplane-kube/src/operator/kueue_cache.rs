//! The Workloads of Kueue mode (`--kueue`, ADR 0073) as the operator keeps
//! them: a watch of every Workload labelled with a SparkJob (which also says
//! which SparkJob to wake when one changes), and the Workloads this operator
//! created that the watch has not shown yet.
//!
//! A leaf of the operator: it imports no other operator module, so the
//! shared context can hold it.
//!
//! Owns: that cache. Must not: create, change or delete a Workload (`kueue`
//! does, after the state machine decided) or decide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use sparkplane_api::SparkJob;

use crate::kueue::resource;

/// The Workloads the operator made, as a watch keeps them.
#[derive(Clone)]
pub struct KueueCache {
    /// Every Workload labelled with a SparkJob.
    pub workloads: Store<DynamicObject>,
    /// Workloads this operator created that the watch has not shown yet (the create's answer, and when):
    /// a reconcile in between (woken by the job's own status write) takes the Workload as made, rather
    /// than looking the queue up and creating it again.
    created: Arc<Mutex<Created>>,
}

/// Created Workloads by namespace and name: when, and the create's answer.
type Created = HashMap<(String, String), (Instant, Value)>;

/// How long a created Workload stands in for the watch's copy.
const CREATED_FOR: Duration = Duration::from_secs(30);

impl KueueCache {
    /// The Workload `namespace/name`: the watch's copy, else the one just created.
    pub(super) fn workload(&self, namespace: &str, name: &str) -> Option<Value> {
        let key = ObjectRef::new_with(name, resource("Workload")).within(namespace);
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        let id = (namespace.to_owned(), name.to_owned());
        if let Some(seen) = self.workloads.get(&key) {
            created.remove(&id);
            return Some(serde_json::to_value(&*seen).unwrap_or(Value::Null));
        }
        created.retain(|_, (at, _)| at.elapsed() < CREATED_FOR);
        created.get(&id).map(|(_, object)| object.clone())
    }

    /// Remembers the Workload `namespace/name` just created (None: forgets it, deleted).
    pub(super) fn remember(&self, namespace: &str, name: &str, object: Option<Value>) {
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        let id = (namespace.to_owned(), name.to_owned());
        match object {
            Some(object) => created.insert(id, (Instant::now(), object)),
            None => created.remove(&id),
        };
    }
}

/// Starts watching Workloads: the cache, and the SparkJobs to wake when one changes.
pub fn watch(
    client: &kube::Client,
    namespace: Option<&str>,
) -> (KueueCache, impl Stream<Item = ObjectRef<SparkJob>> + Send + 'static) {
    let ar = resource("Workload");
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let writer = reflector::store::Writer::<DynamicObject>::new(ar);
    let store = writer.as_reader();
    let wakes = watcher(api, watcher::Config::default().labels(sparkplane_api::labels::JOB))
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .filter_map(|item| async move {
            let workload = item.ok()?;
            let job = workload.labels().get(sparkplane_api::labels::JOB)?.clone();
            Some(ObjectRef::new(&job).within(&workload.namespace().unwrap_or_default()))
        });
    (KueueCache { workloads: store, created: Arc::default() }, wakes)
}
