//! The simulated cluster's Deployment and ReplicaSet controllers, as
//! kube-controller-manager's behave for the Deployments Spark 4.2's
//! `DeploymentPodsAllocator` makes (ADR 0105): a Deployment gets one
//! ReplicaSet for its pod template, named `<deployment>-<pod-template-hash>`,
//! labelled and selecting with `pod-template-hash`, owned by the Deployment
//! (`controller: true`, `blockOwnerDeletion: true`), with the Deployment's
//! `spec.replicas`; a ReplicaSet of an older template is scaled to zero. A
//! ReplicaSet keeps `spec.replicas` active pods (not `Succeeded`, `Failed`
//! or being deleted): missing ones are created from its template with
//! `generateName: <replicaset>-`, owned by it the same way; surplus ones are
//! deleted, those not yet scheduled first, then pending before running, then
//! the lowest `controller.kubernetes.io/pod-deletion-cost`, then the newest.
//! Both write `status` (replicas, ready, available) only when it changes.
//! A pod the quota refuses is asked for again on the next tick.
//!
//! Not modelled: rolling updates with surge and unavailability budgets
//! (an old template is scaled down at once), `minReadySeconds`, revision
//! history, pausing.
//!
//! Owns: the ReplicaSets of Deployments and the pods of ReplicaSets. It
//! reads the store's change history as a controller reads its watch. Must
//! not: move pods along (the simulation loop's, `simulation.rs`) or delete
//! what the garbage collector deletes (`gc.rs`: a deleted Deployment's
//! ReplicaSets and their pods).

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use crate::store::{Answer, Store, WriteOptions, pod_path};

/// The label the Deployment controller puts on a ReplicaSet and its pods: its template's hash.
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// The annotation that orders which pods a ReplicaSet deletes first when it scales down.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

const APPS: &str = "apps/v1";
type Key = (String, String);

/// The controllers' memory between ticks.
#[derive(Debug, Default)]
pub struct Deployments {
    cursor: Option<u64>,
    /// ReplicaSets short of pods the quota refused, looked at again next tick.
    retry: BTreeSet<Key>,
}

fn key(namespace: Option<&str>, name: &str) -> Key {
    (namespace.unwrap_or_default().to_owned(), name.to_owned())
}

/// The `kind` that controls `object`: its name and uid.
fn controller<'a>(object: &'a Value, kind: &str) -> Option<(&'a str, &'a str)> {
    let refs = object["metadata"]["ownerReferences"].as_array()?;
    let owner = refs.iter().find(|r| r["kind"] == kind && r["controller"] == true)?;
    Some((owner["name"].as_str()?, owner["uid"].as_str()?))
}

/// A short hash of a pod template, in the alphabet Kubernetes' names use.
pub fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hasher = DefaultHasher::new();
    template.to_string().hash(&mut hasher);
    let mut n = hasher.finish();
    (0..10)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn is_active(pod: &Value) -> bool {
    !matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        && !pod["metadata"]["deletionTimestamp"].is_string()
}

fn owner_ref(kind: &str, object: &Value) -> Value {
    json!({
        "apiVersion": APPS, "kind": kind, "name": object["metadata"]["name"], "uid": object["metadata"]["uid"],
        "controller": true, "blockOwnerDeletion": true,
    })
}

fn controller_options() -> WriteOptions {
    WriteOptions { field_manager: Some("kube-controller-manager".into()), ..WriteOptions::default() }
}

fn collection(plural: &str, namespace: &str) -> crate::resources::ResourcePath {
    crate::resources::ResourcePath {
        group: if plural == "pods" { String::new() } else { "apps".into() },
        version: "v1".into(),
        namespace: Some(namespace.to_owned()),
        plural: plural.into(),
        name: None,
        subresource: None,
    }
}

/// Writes `status` onto the stored object `key` when it differs.
fn write_status(store: &mut Store, plural: &str, (namespace, name): &Key, status: Value) {
    let stored = (APPS.to_owned(), plural.to_owned(), Some(namespace.clone()), name.clone());
    if let Some(mut latest) = store.objects.get(&stored).cloned()
        && latest["status"] != status
    {
        latest["status"] = status;
        store.put(latest);
    }
}

impl Deployments {
    /// Acts on what changed since the last call. Returns whether it wrote anything.
    pub fn tick(&mut self, store: &mut Store) -> bool {
        let since = self.cursor.unwrap_or(0);
        let mut deployments: BTreeSet<Key> = BTreeSet::new();
        let mut sets: BTreeSet<Key> = std::mem::take(&mut self.retry);
        for event in store.events_after(since) {
            let (object, namespace) = (&event.object, event.namespace.as_deref());
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            match (event.api_version.as_str(), event.plural.as_str()) {
                (APPS, "deployments") => {
                    deployments.insert(key(namespace, name));
                }
                (APPS, "replicasets") => {
                    sets.insert(key(namespace, name));
                    if let Some((owner, _)) = controller(object, "Deployment") {
                        deployments.insert(key(namespace, owner));
                    }
                }
                ("v1", "pods") => {
                    if let Some((owner, _)) = controller(object, "ReplicaSet") {
                        sets.insert(key(namespace, owner));
                    }
                }
                _ => {}
            }
        }
        if self.cursor.is_none() {
            // The first look: every Deployment and ReplicaSet.
            for (av, plural, ns, name) in store.objects.keys() {
                if av == APPS && plural == "deployments" {
                    deployments.insert(key(ns.as_deref(), name));
                } else if av == APPS && plural == "replicasets" {
                    sets.insert(key(ns.as_deref(), name));
                }
            }
        }
        let before = store.rv;
        for deployment in &deployments {
            sets.extend(reconcile_deployment(store, deployment));
        }
        for set in &sets {
            if !reconcile_replica_set(store, set) {
                self.retry.insert(set.clone());
            }
        }
        // Its own writes are history too; they need no second look.
        self.cursor = Some(store.rv);
        store.rv != before
    }
}

/// Makes the Deployment's ReplicaSet match it; returns the ReplicaSets it touched.
fn reconcile_deployment(store: &mut Store, (namespace, name): &Key) -> Vec<Key> {
    let stored = (APPS.to_owned(), "deployments".to_owned(), Some(namespace.clone()), name.clone());
    let Some(deployment) = store.objects.get(&stored).cloned() else { return Vec::new() };
    if deployment["metadata"]["deletionTimestamp"].is_string() {
        return Vec::new();
    }
    let uid = deployment["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    let replicas = deployment["spec"]["replicas"].as_u64().unwrap_or(1);
    let hash = template_hash(&deployment["spec"]["template"]);
    let current = format!("{name}-{hash}");
    let owned: Vec<Value> = store
        .all(APPS, "replicasets")
        .filter(|rs| rs["metadata"]["namespace"] == namespace.as_str())
        .filter(|rs| controller(rs, "Deployment").is_some_and(|(_, owner)| owner == uid))
        .cloned()
        .collect();
    let mut touched = vec![key(Some(namespace), &current)];
    for mut old in owned {
        let old_name = old["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let wanted = if old_name == current { replicas } else { 0 };
        if old["spec"]["replicas"].as_u64() != Some(wanted) {
            old["spec"]["replicas"] = json!(wanted);
            let generation = old["metadata"]["generation"].as_u64().unwrap_or(1);
            old["metadata"]["generation"] = json!(generation + 1);
            store.put(old);
        }
        touched.push(key(Some(namespace), &old_name));
    }
    if store.stored(APPS, "replicasets", Some(namespace), &current).is_none() {
        let mut template = deployment["spec"]["template"].clone();
        template["metadata"]["labels"][TEMPLATE_HASH_LABEL] = json!(hash);
        let mut selector = deployment["spec"]["selector"].clone();
        selector["matchLabels"][TEMPLATE_HASH_LABEL] = json!(hash);
        let mut labels = template["metadata"]["labels"].clone();
        if !labels.is_object() {
            labels = json!({TEMPLATE_HASH_LABEL: hash});
        }
        let set = json!({
            "apiVersion": APPS, "kind": "ReplicaSet",
            "metadata": {
                "name": current, "namespace": namespace, "labels": labels,
                "annotations": {"deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                                "deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [owner_ref("Deployment", &deployment)],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        });
        store.create(&collection("replicasets", namespace), set, &controller_options());
    }
    // Status, from the current ReplicaSet's pods.
    let (total, ready) = store
        .stored(APPS, "replicasets", Some(namespace), &current)
        .map(|rs| (rs["status"]["replicas"].as_u64().unwrap_or(0), rs["status"]["readyReplicas"].as_u64().unwrap_or(0)))
        .unwrap_or_default();
    let status = json!({
        "observedGeneration": deployment["metadata"]["generation"].as_u64().unwrap_or(1),
        "replicas": total, "updatedReplicas": total, "readyReplicas": ready, "availableReplicas": ready,
        "unavailableReplicas": replicas.saturating_sub(ready),
    });
    write_status(store, "deployments", &(namespace.clone(), name.clone()), status);
    touched
}

/// Makes the ReplicaSet's active pods number `spec.replicas`; false when
/// the quota refused a pod it still needs.
fn reconcile_replica_set(store: &mut Store, set_key: &Key) -> bool {
    let (namespace, name) = set_key;
    let Some(set) = store.stored(APPS, "replicasets", Some(namespace), name).cloned() else { return true };
    if set["metadata"]["deletionTimestamp"].is_string() {
        return true;
    }
    let uid = set["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    let replicas = set["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
    let owned = |store: &Store| -> Vec<Value> {
        store
            .objects
            .iter()
            .filter(|((av, plural, ns, _), _)| av == "v1" && plural == "pods" && ns.as_deref() == Some(namespace))
            .filter(|(_, pod)| controller(pod, "ReplicaSet").is_some_and(|(_, owner)| owner == uid))
            .map(|(_, pod)| pod.clone())
            .collect()
    };
    let mut active: Vec<Value> = owned(store).into_iter().filter(is_active).collect();
    let mut complete = true;
    if active.len() < replicas {
        for _ in active.len()..replicas {
            let template = &set["spec"]["template"];
            let mut pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "generateName": format!("{name}-"), "namespace": namespace,
                    "labels": template["metadata"]["labels"], "annotations": template["metadata"]["annotations"],
                    "ownerReferences": [owner_ref("ReplicaSet", &set)],
                },
                "spec": template["spec"],
                "status": {"phase": "Pending"},
            });
            for part in ["labels", "annotations"] {
                if pod["metadata"][part].is_null()
                    && let Some(meta) = pod["metadata"].as_object_mut()
                {
                    meta.remove(part);
                }
            }
            if !matches!(store.create(&collection("pods", namespace), pod, &controller_options()), Answer::Json(201, _))
            {
                // Refused (a quota): asked for again on the next tick.
                complete = false;
                break;
            }
        }
    } else if active.len() > replicas {
        // Which go first: unscheduled, then pending, then the cheapest to delete, then the newest.
        active.sort_by_key(|pod| {
            let cost =
                pod["metadata"]["annotations"][DELETION_COST].as_str().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
            (
                pod["spec"]["nodeName"].is_string(),
                pod["status"]["phase"] == "Running",
                cost,
                std::cmp::Reverse(pod["metadata"]["creationTimestamp"].as_str().unwrap_or_default().to_owned()),
                std::cmp::Reverse(pod["metadata"]["uid"].as_str().unwrap_or_default().to_owned()),
            )
        });
        for pod in active.drain(..active.len() - replicas) {
            let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            store.delete(&pod_path(namespace, &pod_name), &pod_name, None, false);
        }
    }
    let active: Vec<Value> = owned(store).into_iter().filter(is_active).collect();
    let ready = active.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "observedGeneration": set["metadata"]["generation"].as_u64().unwrap_or(1),
        "replicas": active.len(), "fullyLabeledReplicas": active.len(),
        "readyReplicas": ready, "availableReplicas": ready,
    });
    write_status(store, "replicasets", set_key, status);
    complete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(replicas: u64) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "spark-d-app-0", "namespace": "data",
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "d", "uid": "driver-uid", "controller": true}]},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"spark-app-selector": "app", "spark-role": "executor"}},
                "template": {"metadata": {"labels": {"spark-app-selector": "app", "spark-role": "executor"},
                                          "annotations": {DELETION_COST: "0"}},
                             "spec": {"containers": [{"name": "c", "image": "i"}]}},
            },
        })
    }

    fn pods(store: &Store) -> Vec<Value> {
        store.all("v1", "pods").cloned().collect()
    }

    fn replica_set(store: &Store) -> Value {
        store.all(APPS, "replicasets").next().cloned().expect("a ReplicaSet")
    }

    #[test]
    fn a_deployment_makes_a_replica_set_that_makes_its_pods_and_follows_its_scale() {
        let mut store = Store::default();
        let mut controllers = Deployments::default();
        store.create(&collection("deployments", "data"), deployment(2), &WriteOptions::default());
        assert!(controllers.tick(&mut store));
        // A second tick reads the ReplicaSet it made, and makes the pods.
        controllers.tick(&mut store);
        let rs = replica_set(&store);
        let hash = rs["metadata"]["labels"][TEMPLATE_HASH_LABEL].as_str().expect("hash label").to_owned();
        assert_eq!(rs["metadata"]["name"], format!("spark-d-app-0-{hash}"));
        assert_eq!(rs["spec"]["replicas"], 2);
        assert_eq!(rs["spec"]["selector"]["matchLabels"][TEMPLATE_HASH_LABEL], hash.as_str());
        let owner = &rs["metadata"]["ownerReferences"][0];
        assert_eq!((owner["kind"].as_str(), owner["controller"].as_bool()), (Some("Deployment"), Some(true)));
        let made = pods(&store);
        assert_eq!(made.len(), 2);
        for pod in &made {
            let name = pod["metadata"]["name"].as_str().unwrap_or_default();
            assert!(name.starts_with(&format!("spark-d-app-0-{hash}-")), "{name}");
            assert_eq!(pod["metadata"]["labels"][TEMPLATE_HASH_LABEL], hash.as_str());
            assert_eq!(pod["metadata"]["labels"]["spark-role"], "executor");
            assert_eq!(pod["metadata"]["annotations"][DELETION_COST], "0");
            let owner = &pod["metadata"]["ownerReferences"][0];
            assert_eq!((owner["kind"].as_str(), &owner["uid"]), (Some("ReplicaSet"), &rs["metadata"]["uid"]));
        }
        // Nothing changed: nothing written.
        assert!(!controllers.tick(&mut store));

        // A failed pod is not active: the ReplicaSet makes another, and leaves the failed one.
        let first = made[0]["metadata"]["name"].as_str().expect("name").to_owned();
        store.set_pod_phase("data", &first, "Failed");
        controllers.tick(&mut store);
        let now: Vec<Value> = pods(&store);
        assert_eq!(now.len(), 3);
        assert_eq!(now.iter().filter(|p| is_active(p)).count(), 2);

        // Scaled to 1 (as Spark's scale subresource call does): one active pod is deleted.
        let mut scaled = store.stored(APPS, "deployments", Some("data"), "spark-d-app-0").cloned().expect("stored");
        scaled["spec"]["replicas"] = json!(1);
        store.put(scaled);
        controllers.tick(&mut store);
        controllers.tick(&mut store);
        assert_eq!(replica_set(&store)["spec"]["replicas"], 1);
        assert_eq!(pods(&store).iter().filter(|p| is_active(p)).count(), 1);
        let status = &store
            .stored(
                APPS,
                "replicasets",
                Some("data"),
                replica_set(&store)["metadata"]["name"].as_str().unwrap_or_default(),
            )
            .cloned()
            .expect("rs")["status"];
        assert_eq!(status["replicas"], 1);
    }

    #[test]
    fn template_hashes_are_stable_and_differ_by_template() {
        let a = template_hash(&json!({"spec": {"containers": [{"image": "a"}]}}));
        assert_eq!(a, template_hash(&json!({"spec": {"containers": [{"image": "a"}]}})));
        assert_ne!(a, template_hash(&json!({"spec": {"containers": [{"image": "b"}]}})));
        assert_eq!(a.len(), 10);
        assert!(a.bytes().all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c)), "{a}");
    }
}
