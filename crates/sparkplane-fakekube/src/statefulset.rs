//! The simulated cluster's StatefulSet controller, as Kubernetes' own
//! behaves for the StatefulSets sparkplane renders (a Spark Connect server:
//! one replica, `OrderedReady`, `RollingUpdate`): pod `<name>-<ordinal>` is
//! created from the template for each ordinal below `spec.replicas`, owned by
//! the StatefulSet; a pod that ended (`Failed` or `Succeeded`) is deleted and
//! created again; a pod of an older template is replaced; ordinals at or
//! above `spec.replicas` are deleted (scale down); `status` counts replicas
//! and ready ones. A pod whose node stopped reporting (`Unknown`) is left
//! alone, as Kubernetes leaves it, until someone deletes it.
//!
//! Owns: the pods of StatefulSets. It reads the store's change history as a
//! controller reads its watch and only looks at StatefulSets something
//! happened to. Must not: move pods along (the simulation loop's, `simulation.rs`).

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use crate::store::{Answer, Store, WriteOptions, pod_path};

/// The label Kubernetes puts on a StatefulSet's pods: the template's revision.
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// The label naming the pod's own name (for per-pod Services).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

type SetKey = (String, String);

/// The controller's memory between ticks: how far it has read the history.
#[derive(Debug, Default)]
pub struct StatefulSets {
    cursor: Option<u64>,
}

fn set_key(namespace: Option<&str>, name: &str) -> SetKey {
    (namespace.unwrap_or_default().to_owned(), name.to_owned())
}

/// The StatefulSet that owns `pod` as its controller, if one does.
fn owner_set(pod: &Value) -> Option<(String, String)> {
    let refs = pod["metadata"]["ownerReferences"].as_array()?;
    let owner = refs.iter().find(|r| r["kind"] == "StatefulSet" && r["controller"] == true)?;
    Some((owner["name"].as_str()?.to_owned(), owner["uid"].as_str()?.to_owned()))
}

/// A short hash of the pod template: pods of another revision are replaced.
fn revision(template: &Value) -> String {
    let mut hasher = DefaultHasher::new();
    template.to_string().hash(&mut hasher);
    format!("{:010x}", hasher.finish() & 0xff_ffff_ffff)
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

impl StatefulSets {
    /// Acts on what changed since the last call. Returns whether it wrote anything.
    pub fn tick(&mut self, store: &mut Store) -> bool {
        let since = self.cursor.unwrap_or(0);
        let mut dirty: BTreeSet<SetKey> = BTreeSet::new();
        for event in store.events_after(since) {
            if event.api_version == "apps/v1" && event.plural == "statefulsets" {
                dirty.insert(set_key(
                    event.namespace.as_deref(),
                    event.object["metadata"]["name"].as_str().unwrap_or(""),
                ));
            } else if event.api_version == "v1"
                && event.plural == "pods"
                && let Some((owner, _)) = owner_set(&event.object)
            {
                dirty.insert(set_key(event.namespace.as_deref(), &owner));
            }
        }
        if self.cursor.is_none() {
            // The first look (or a history already compacted): every StatefulSet.
            dirty.extend(
                store
                    .objects
                    .keys()
                    .filter(|(av, plural, _, _)| av == "apps/v1" && plural == "statefulsets")
                    .map(|(_, _, ns, name)| set_key(ns.as_deref(), name)),
            );
        }
        self.cursor = Some(store.rv);
        let before = store.rv;
        for (namespace, name) in dirty {
            reconcile(store, &namespace, &name);
        }
        // Its own writes are history too; they need no second look.
        self.cursor = Some(store.rv);
        store.rv != before
    }
}

fn reconcile(store: &mut Store, namespace: &str, name: &str) {
    let key = ("apps/v1".to_owned(), "statefulsets".to_owned(), Some(namespace.to_owned()), name.to_owned());
    let Some(set) = store.objects.get(&key).cloned() else { return };
    if set["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let uid = set["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    let replicas = set["spec"]["replicas"].as_u64().unwrap_or(1);
    let template = &set["spec"]["template"];
    let current = revision(template);

    // Pods of this StatefulSet by ordinal.
    let prefix = format!("{name}-");
    let owned: Vec<(u64, Value)> = store
        .objects
        .iter()
        .filter(|((av, plural, ns, _), _)| av == "v1" && plural == "pods" && ns.as_deref() == Some(namespace))
        .filter(|(_, pod)| owner_set(pod).is_some_and(|(_, owner)| owner == uid))
        .filter_map(|((_, _, _, pod_name), pod)| {
            Some((pod_name.strip_prefix(&prefix)?.parse::<u64>().ok()?, pod.clone()))
        })
        .collect();

    for (ordinal, pod) in &owned {
        let pod_name = format!("{name}-{ordinal}");
        let ended = matches!(pod["status"]["phase"].as_str(), Some("Failed" | "Succeeded"));
        let stale = pod["metadata"]["labels"][REVISION_LABEL].as_str() != Some(current.as_str());
        if *ordinal >= replicas || ended || stale {
            store.delete(&pod_path(namespace, &pod_name), &pod_name, None, false);
        }
    }
    for ordinal in 0..replicas {
        let pod_name = format!("{name}-{ordinal}");
        if store.pod(namespace, &pod_name).is_some() {
            continue;
        }
        let mut pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": template["metadata"].clone(),
            "spec": template["spec"].clone(),
            "status": {"phase": "Pending"},
        });
        if !pod["metadata"].is_object() {
            pod["metadata"] = json!({});
        }
        pod["metadata"]["name"] = json!(pod_name);
        pod["metadata"]["namespace"] = json!(namespace);
        pod["metadata"]["labels"][REVISION_LABEL] = json!(current);
        pod["metadata"]["labels"][POD_NAME_LABEL] = json!(pod_name);
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "apps/v1", "kind": "StatefulSet", "name": name, "uid": uid,
            "controller": true, "blockOwnerDeletion": true,
        }]);
        pod["spec"]["hostname"] = json!(pod_name);
        if let Some(service) = set["spec"]["serviceName"].as_str() {
            pod["spec"]["subdomain"] = json!(service);
        }
        let mut path = pod_path(namespace, &pod_name);
        path.name = None;
        let options = WriteOptions { field_manager: Some("kube-controller-manager".into()), ..WriteOptions::default() };
        if !matches!(store.create(&path, pod, &options), Answer::Json(201, _)) {
            // Refused (a quota): tried again on the next change.
            continue;
        }
    }

    // Status, written only when it changes.
    let pods: Vec<Value> =
        (0..replicas).filter_map(|o| store.pod(namespace, &format!("{name}-{o}")).cloned()).collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let status = json!({
        "observedGeneration": set["metadata"]["generation"].as_i64().unwrap_or(1),
        "replicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": pods.len(),
        "updatedReplicas": pods.len(),
        "currentRevision": current,
        "updateRevision": current,
    });
    if let Some(mut latest) = store.objects.get(&key).cloned()
        && latest["status"] != status
    {
        latest["status"] = status;
        store.put(latest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ResourcePath;

    fn sets_path(name: Option<&str>) -> ResourcePath {
        ResourcePath {
            group: "apps".into(),
            version: "v1".into(),
            namespace: Some("data".into()),
            plural: "statefulsets".into(),
            name: name.map(str::to_owned),
            subresource: None,
        }
    }

    fn set(replicas: u64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "srv", "namespace": "data"},
            "spec": {
                "replicas": replicas, "serviceName": "srv-driver",
                "selector": {"matchLabels": {"app": "srv"}},
                "template": {"metadata": {"labels": {"app": "srv"}}, "spec": {"containers": [{"name": "c", "image": image}]}},
            },
        })
    }

    fn pod_uid(store: &Store) -> Option<String> {
        store.pod("data", "srv-0").map(|p| p["metadata"]["uid"].as_str().unwrap_or_default().to_owned())
    }

    #[test]
    fn pods_follow_replicas_ended_pods_and_new_templates() {
        let mut store = Store::default();
        let mut sets = StatefulSets::default();
        store.create(&sets_path(None), set(1, "a:1"), &WriteOptions::default());
        assert!(sets.tick(&mut store));
        let pod = store.pod("data", "srv-0").cloned().expect("pod 0 created");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
        assert_eq!(
            (pod["spec"]["hostname"].as_str(), pod["spec"]["subdomain"].as_str()),
            (Some("srv-0"), Some("srv-driver"))
        );
        assert_eq!(pod["status"]["phase"], "Pending");
        let first = pod_uid(&store);
        // Nothing changed: nothing written.
        assert!(!sets.tick(&mut store));
        assert_eq!(pod_uid(&store), first);

        // A failed pod is replaced under the same name.
        store.set_pod_phase("data", "srv-0", "Failed");
        sets.tick(&mut store);
        let second = pod_uid(&store);
        assert!(second.is_some() && second != first);

        // A new template rolls the pod.
        let mut changed = store
            .objects
            .get(&("apps/v1".into(), "statefulsets".into(), Some("data".into()), "srv".into()))
            .cloned()
            .expect("set");
        changed["spec"]["template"] = set(1, "a:2")["spec"]["template"].clone();
        store.put(changed.clone());
        sets.tick(&mut store);
        let third = store.pod("data", "srv-0").cloned().expect("rolled pod");
        assert_eq!(third["spec"]["containers"][0]["image"], "a:2");

        // Scaled to none: the pod goes, and the status says so.
        let mut scaled = store
            .objects
            .get(&("apps/v1".into(), "statefulsets".into(), Some("data".into()), "srv".into()))
            .cloned()
            .expect("set");
        scaled["spec"]["replicas"] = json!(0);
        store.put(scaled);
        sets.tick(&mut store);
        assert!(store.pod("data", "srv-0").is_none());
        let status = &store.objects
            [&("apps/v1".to_owned(), "statefulsets".to_owned(), Some("data".to_owned()), "srv".to_owned())]["status"];
        assert_eq!((status["replicas"].as_u64(), status["readyReplicas"].as_u64()), (Some(0), Some(0)));
    }
}
