//! The Workloads of Kueue mode (`--kueue`, ADR 0073) as the operator keeps
//! them: a watch of every Workload labelled with a SparkJob, gate Workloads
//! of the Job route left out ([`selector`]; the watch also says
//! which SparkJob to wake when one changes), and the Workloads this operator
//! created that the watch has not shown yet.
//!
//! Each Workload is kept slim ([`slim`]): only what the operator reads of it
//! (`sparkplane_lifecycle::admission::WorkloadView::of` and the conditions a
//! status write carries), not its pod sets' templates or managed fields —
//! with every run's Workload cached at once, the whole objects were most of
//! the operator's memory in Kueue mode (docs/benchmarks.md).
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
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_kube::kueue::resource;

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
            // Kept slim by the watch (`slim`).
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
            Some(mut object) => {
                slim_value(&mut object);
                created.insert(id, (Instant::now(), object))
            }
            None => created.remove(&id),
        };
    }
}

/// What a changed Workload wakes: its SparkJob, or the Kubeflow
/// SparkApplication it belongs to (a converted run, `--kubeflow`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Woken {
    /// The SparkJob its label names.
    Job(ObjectRef<SparkJob>),
    /// The SparkApplication that owns it: namespace and name.
    Application(String, String),
}

/// Starts watching Workloads: the cache, and what to wake when one changes.
pub fn watch(
    client: &kube::Client,
    namespace: Option<&str>,
) -> (KueueCache, impl Stream<Item = Woken> + Send + 'static) {
    let ar = resource("Workload");
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    let writer = reflector::store::Writer::<DynamicObject>::new(ar);
    let store = writer.as_reader();
    let wakes = watcher(api, watcher::Config::default().labels(&selector()))
        .default_backoff()
        .modify(slim)
        .reflect(writer)
        .applied_objects()
        .filter_map(|item| async move { woken(&item.ok()?) });
    (KueueCache { workloads: store, created: Arc::default() }, wakes)
}

/// What a Workload's change wakes.
fn woken(workload: &DynamicObject) -> Option<Woken> {
    let namespace = workload.namespace().unwrap_or_default();
    let job = workload.labels().get(sparkplane_api::labels::JOB)?.clone();
    let application =
        workload.owner_references().iter().any(|o| o.kind == sparkplane_api::kubeflow::KIND_SPARK_APPLICATION);
    Some(if application {
        Woken::Application(namespace, job)
    } else {
        Woken::Job(ObjectRef::new(&job).within(&namespace))
    })
}

/// The Workloads of SparkJobs: labelled with a job, and not the gate of a
/// Job-route Job (those are `job_gates`', named as their Job, issue #69).
pub fn selector() -> String {
    format!("{},!{}", sparkplane_api::labels::JOB, sparkplane_api::labels::GATES_JOB)
}

/// Strips a Workload to what the operator reads of it: its metadata without
/// managed fields (labels, owner, deletion timestamp kept), no spec, and of
/// its status the conditions, whole (a status write sends the whole list
/// back), and the admission's ClusterQueue and each pod set's name, count
/// and flavors.
pub fn slim(workload: &mut DynamicObject) {
    workload.metadata.managed_fields = None;
    slim_data(&mut workload.data);
}

/// [`slim`] for a Workload as JSON (a create's answer).
fn slim_value(workload: &mut Value) {
    if let Some(metadata) = workload.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    slim_data(workload);
}

/// The object's fields beside its metadata (DynamicObject's `data`, or the whole JSON).
fn slim_data(data: &mut Value) {
    let Some(fields) = data.as_object_mut() else { return };
    fields.remove("spec");
    let Some(status) = fields.get_mut("status").and_then(Value::as_object_mut) else { return };
    let conditions = status.remove("conditions");
    let admission = status.remove("admission").map(|admission| {
        let pod_sets: Vec<Value> = admission["podSetAssignments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| json!({"name": p["name"], "count": p["count"], "flavors": p["flavors"]}))
            .collect();
        json!({"clusterQueue": admission["clusterQueue"], "podSetAssignments": pod_sets})
    });
    status.clear();
    if let Some(conditions) = conditions {
        status.insert("conditions".into(), conditions);
    }
    if let Some(admission) = admission {
        status.insert("admission".into(), admission);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_lifecycle::admission::WorkloadView;

    /// An admitted, then evicted Workload as the API server returns it (fields as Kueue v0.19 writes them).
    fn workload() -> Value {
        let template = json!({"spec": {"containers": [{"name": "spark", "image": "spark:3.5.3",
            "resources": {"requests": {"cpu": "1", "memory": "1408Mi"}}}]}});
        json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2",
            "kind": "Workload",
            "metadata": {
                "name": "sparkjob-etl-0123abcd",
                "namespace": "team-a",
                "uid": "u-1",
                "resourceVersion": "42",
                "deletionTimestamp": "2026-11-26T05:00:00Z",
                "labels": {"sparkplane.dev/job": "etl", "kueue.x-k8s.io/queue-name": "team-a"},
                "ownerReferences": [{"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "name": "etl", "uid": "j-1"}],
                "managedFields": [{"manager": "kueue", "operation": "Update", "fieldsV1": {"f:status": {}}}],
            },
            "spec": {
                "queueName": "team-a",
                "podSets": [
                    {"name": "driver", "count": 1, "template": template},
                    {"name": "executor", "count": 8, "minCount": 2, "template": template},
                ],
            },
            "status": {
                "conditions": [
                    {"type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "Quota reserved in ClusterQueue shared", "lastTransitionTime": "2026-11-26T04:59:00Z", "observedGeneration": 1},
                    {"type": "Admitted", "status": "True", "reason": "Admitted", "message": "The workload is admitted", "lastTransitionTime": "2026-11-26T04:59:00Z"},
                    {"type": "Evicted", "status": "True", "reason": "Preempted", "message": "Preempted to accommodate a workload (UID: w-9) due to prioritization in the ClusterQueue", "lastTransitionTime": "2026-11-26T04:59:30Z"},
                    {"type": "Preempted", "status": "True", "reason": "InClusterQueue", "message": "Preempted to accommodate a workload (UID: w-9) due to prioritization in the ClusterQueue", "lastTransitionTime": "2026-11-26T04:59:30Z"},
                ],
                "admission": {
                    "clusterQueue": "shared",
                    "podSetAssignments": [
                        {"name": "driver", "count": 1, "flavors": {"cpu": "spot", "memory": "spot"}, "resourceUsage": {"cpu": "1", "memory": "1408Mi"}},
                        {"name": "executor", "count": 5, "flavors": {"cpu": "on-demand", "memory": "on-demand"}, "resourceUsage": {"cpu": "5", "memory": "7040Mi"}},
                    ],
                },
                "requeueState": {"count": 1},
                "resourceRequests": [{"name": "driver", "resources": {"cpu": "1"}}],
            },
        })
    }

    #[test]
    fn a_slim_workload_reads_as_the_whole_one_and_keeps_every_condition() {
        let whole = workload();
        let mut object: DynamicObject = serde_json::from_value(whole.clone()).expect("a Workload");
        slim(&mut object);
        let kept = serde_json::to_value(&object).expect("json");
        let view = WorkloadView::of(&kept);
        assert_eq!(view, WorkloadView::of(&whole));
        // What the operator reads is there to read (not a view of an empty object).
        assert!(view.admitted && view.deleting && view.preempted.is_some());
        assert_eq!((view.cluster_queue.as_deref(), view.executors), (Some("shared"), Some(5)));
        assert_eq!(view.flavors, ["on-demand", "spot"]);
        // A status write sends the conditions back whole: none lost, no field of one dropped.
        assert_eq!(kept["status"]["conditions"], whole["status"]["conditions"]);
        // What the wake and the owner need stays; the pod templates and managed fields go.
        assert_eq!(kept["metadata"]["labels"], whole["metadata"]["labels"]);
        assert_eq!(kept["metadata"]["ownerReferences"], whole["metadata"]["ownerReferences"]);
        assert!(kept.get("spec").is_none(), "{kept}");
        assert!(kept["metadata"].get("managedFields").is_none(), "{kept}");
        assert!(kept["status"].get("requeueState").is_none() && kept["status"].get("resourceRequests").is_none());
        assert!(kept["status"]["admission"]["podSetAssignments"][0].get("resourceUsage").is_none());
        // A create's answer is kept the same way.
        let mut answer = whole.clone();
        slim_value(&mut answer);
        assert_eq!(answer, kept);
    }

    #[test]
    fn a_workload_wakes_its_sparkjob_or_the_application_that_owns_it() {
        let object: DynamicObject = serde_json::from_value(workload()).expect("a Workload");
        assert_eq!(woken(&object), Some(Woken::Job(ObjectRef::new("etl").within("team-a"))));
        let mut converted = workload();
        converted["metadata"]["ownerReferences"] = json!([{"apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "SparkApplication", "name": "etl", "uid": "a-1", "controller": true}]);
        let object: DynamicObject = serde_json::from_value(converted).expect("a Workload");
        assert_eq!(woken(&object), Some(Woken::Application("team-a".into(), "etl".into())));
        let mut unlabelled = workload();
        unlabelled["metadata"]["labels"] = json!({});
        let object: DynamicObject = serde_json::from_value(unlabelled).expect("a Workload");
        assert_eq!(woken(&object), None);
        assert_eq!(selector(), "sparkplane.dev/job,!sparkplane.dev/gates-job");
    }

    #[test]
    fn a_workload_not_admitted_yet_stays_without_an_admission() {
        let mut whole = workload();
        whole["status"] = json!({"conditions": [{"type": "QuotaReserved", "status": "False", "reason": "Pending", "message": "couldn't assign flavors"}]});
        let mut kept = whole.clone();
        slim_value(&mut kept);
        assert!(kept["status"].get("admission").is_none(), "{kept}");
        assert_eq!(WorkloadView::of(&kept), WorkloadView::of(&whole));
        let mut fresh = workload();
        fresh.as_object_mut().expect("object").remove("status");
        slim_value(&mut fresh);
        assert!(fresh.get("status").is_none() && fresh.get("spec").is_none(), "{fresh}");
    }
}
