//! The simulated cluster's Job controller (batch/v1), as Kubernetes' own
//! behaves for the Jobs sparkplane creates (one completion, pods that do
//! not restart): while the Job is neither complete nor failed, a pod is
//! created from the template whenever none is active, named
//! `<job>-<n>` and labelled `job-name`, `controller-uid` (and their
//! `batch.kubernetes.io/` spellings), owned by the Job; a pod that
//! succeeded counts toward `spec.completions` (1 when unset), one that
//! failed toward `spec.backoffLimit` (6 when unset). The status counts
//! `active`, `succeeded` and `failed` pods and, once decided, carries the
//! condition `Complete` or `Failed` (reason `BackoffLimitExceeded`) and
//! `completionTime`. A suspended Job (`spec.suspend`) creates no pods and
//! has its active ones deleted, with the condition `Suspended` (reason
//! `JobSuspended`); resumed, the condition turns false (`JobResumed`) and
//! `startTime` is the resume's.
//! `parallelism`, indexed completion, pod failure policies, deadlines and
//! TTLs are not simulated.
//!
//! Owns: the pods of Jobs. It reads the store's change history as a
//! controller reads its watch and only looks at Jobs something happened
//! to. Must not: move pods along (the simulation loop's, `simulation.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::store::now as timestamp;
use crate::store::{Answer, Store, WriteOptions, pod_path};

type JobKey = (String, String);

/// The label Kubernetes puts on a Job's pods: the Job's name.
pub const JOB_NAME_LABEL: &str = "job-name";
/// The label Kubernetes puts on a Job's pods: the Job's uid.
pub const CONTROLLER_UID_LABEL: &str = "controller-uid";

/// Kubernetes' default `backoffLimit`.
const DEFAULT_BACKOFF_LIMIT: u64 = 6;

/// The controller's memory between ticks.
#[derive(Debug, Default)]
pub struct Jobs {
    cursor: Option<u64>,
    /// Pods created per Job uid (for the next pod's name).
    created: BTreeMap<String, u64>,
}

/// The Job that owns `pod` as its controller: name and uid.
fn owner_job(pod: &Value) -> Option<(String, String)> {
    let refs = pod["metadata"]["ownerReferences"].as_array()?;
    let owner = refs.iter().find(|r| r["kind"] == "Job" && r["controller"] == true)?;
    Some((owner["name"].as_str()?.to_owned(), owner["uid"].as_str()?.to_owned()))
}

fn condition(kind: &str, reason: &str, message: &str, at: &str) -> Value {
    json!({
        "type": kind, "status": "True", "reason": reason, "message": message,
        "lastProbeTime": at, "lastTransitionTime": at,
    })
}

/// Puts `new` in the status's conditions, in place of one of its type.
fn add_condition(status: &mut Value, new: Value) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let Some(conditions) = status["conditions"].as_array_mut() else { return };
    match conditions.iter_mut().find(|c| c["type"] == new["type"]) {
        Some(slot) => *slot = new,
        None => conditions.push(new),
    }
}

/// The Job's `Suspended` condition is true.
fn suspended_now(status: &Value) -> bool {
    status["conditions"].as_array().is_some_and(|c| c.iter().any(|c| c["type"] == "Suspended" && c["status"] == "True"))
}

impl Jobs {
    /// Acts on what changed since the last call. Returns whether it wrote anything.
    pub fn tick(&mut self, store: &mut Store) -> bool {
        let since = self.cursor.unwrap_or(0);
        let mut dirty: BTreeSet<JobKey> = BTreeSet::new();
        for event in store.events_after(since) {
            let namespace = event.namespace.clone().unwrap_or_default();
            if event.api_version == "batch/v1" && event.plural == "jobs" {
                dirty.insert((namespace, event.object["metadata"]["name"].as_str().unwrap_or("").to_owned()));
            } else if event.api_version == "v1"
                && event.plural == "pods"
                && let Some((owner, _)) = owner_job(&event.object)
            {
                dirty.insert((namespace, owner));
            }
        }
        if self.cursor.is_none() {
            dirty.extend(
                store
                    .objects
                    .keys()
                    .filter(|(av, plural, _, _)| av == "batch/v1" && plural == "jobs")
                    .map(|(_, _, ns, name)| (ns.clone().unwrap_or_default(), name.clone())),
            );
        }
        let before = store.rv;
        for (namespace, name) in dirty {
            self.reconcile(store, &namespace, &name);
        }
        // Its own writes are history too; they need no second look.
        self.cursor = Some(store.rv);
        store.rv != before
    }

    fn reconcile(&mut self, store: &mut Store, namespace: &str, name: &str) {
        let key = ("batch/v1".to_owned(), "jobs".to_owned(), Some(namespace.to_owned()), name.to_owned());
        let Some(job) = store.objects.get(&key).cloned() else { return };
        if job["metadata"]["deletionTimestamp"].is_string() {
            return;
        }
        let uid = job["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
        let pods: Vec<Value> = store
            .objects
            .iter()
            .filter(|((av, plural, ns, _), _)| av == "v1" && plural == "pods" && ns.as_deref() == Some(namespace))
            .filter(|(_, pod)| owner_job(pod).is_some_and(|(_, owner)| owner == uid))
            .map(|(_, pod)| pod.clone())
            .collect();
        let phase = |pod: &Value| pod["status"]["phase"].as_str().unwrap_or("Pending").to_owned();
        let succeeded = pods.iter().filter(|p| phase(p) == "Succeeded").count() as u64;
        let failed = pods.iter().filter(|p| phase(p) == "Failed").count() as u64;
        let mut active: Vec<&Value> = pods
            .iter()
            .filter(|p| !matches!(phase(p).as_str(), "Succeeded" | "Failed"))
            .filter(|p| !p["metadata"]["deletionTimestamp"].is_string())
            .collect();
        let completions = job["spec"]["completions"].as_u64().unwrap_or(1);
        let backoff_limit = job["spec"]["backoffLimit"].as_u64().unwrap_or(DEFAULT_BACKOFF_LIMIT);
        let decided = job["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
        });
        let mut status = job["status"].clone();
        if !status.is_object() {
            status = json!({});
        }
        let now = timestamp();
        if status["startTime"].is_null() && job["spec"]["suspend"] != true {
            status["startTime"] = json!(now);
        }
        let mut active_count = active.len();
        if !decided {
            if succeeded >= completions {
                let reached = "Reached expected number of succeeded pods";
                add_condition(&mut status, condition("Complete", "CompletionsReached", reached, &now));
                status["completionTime"] = json!(now);
            } else if failed > backoff_limit {
                let limit = "Job has reached the specified backoff limit";
                add_condition(&mut status, condition("Failed", "BackoffLimitExceeded", limit, &now));
                // A failed Job's remaining pods are stopped.
                for pod in active.drain(..) {
                    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                    store.delete(&pod_path(namespace, &pod_name), &pod_name, None, false);
                }
                active_count = 0;
            } else if job["spec"]["suspend"] == true {
                // Suspended: its active pods are stopped, and it says so.
                for pod in active.drain(..) {
                    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                    store.delete(&pod_path(namespace, &pod_name), &pod_name, None, false);
                }
                active_count = 0;
                if !suspended_now(&status) {
                    add_condition(&mut status, condition("Suspended", "JobSuspended", "Job suspended", &now));
                }
            } else if suspended_now(&status) {
                // Resumed: the condition turns false and the start time is the resume's.
                let mut resumed = condition("Suspended", "JobResumed", "Job resumed", &now);
                resumed["status"] = json!("False");
                add_condition(&mut status, resumed);
                status["startTime"] = json!(now);
                if active.is_empty() && self.create_pod(store, &job, namespace, name, &uid) {
                    active_count = 1;
                }
            } else if active.is_empty() && self.create_pod(store, &job, namespace, name, &uid) {
                active_count = 1;
            }
        }
        status["succeeded"] = json!(succeeded);
        status["failed"] = json!(failed);
        status["ready"] = json!(0);
        if active_count > 0 {
            status["active"] = json!(active_count);
        } else if let Some(fields) = status.as_object_mut() {
            fields.remove("active");
        }
        if let Some(mut latest) = store.objects.get(&key).cloned()
            && latest["status"] != status
        {
            latest["status"] = status;
            store.put(latest);
        }
    }

    /// Creates the next pod of the Job; false when the API refused it (a quota).
    fn create_pod(&mut self, store: &mut Store, job: &Value, namespace: &str, name: &str, uid: &str) -> bool {
        let template = &job["spec"]["template"];
        let mut pod_name;
        loop {
            let n = self.created.entry(uid.to_owned()).or_insert(0);
            *n += 1;
            pod_name = format!("{name}-{n}");
            if store.pod(namespace, &pod_name).is_none() {
                break;
            }
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
        for (label, value) in [
            (JOB_NAME_LABEL, name),
            ("batch.kubernetes.io/job-name", name),
            (CONTROLLER_UID_LABEL, uid),
            ("batch.kubernetes.io/controller-uid", uid),
        ] {
            pod["metadata"]["labels"][label] = json!(value);
        }
        pod["metadata"]["ownerReferences"] = json!([{
            "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
            "controller": true, "blockOwnerDeletion": true,
        }]);
        let mut path = pod_path(namespace, &pod_name);
        path.name = None;
        let options = WriteOptions { field_manager: Some("kube-controller-manager".into()), ..WriteOptions::default() };
        matches!(store.create(&path, pod, &options), Answer::Json(201, _))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ResourcePath;

    fn jobs_path() -> ResourcePath {
        ResourcePath {
            group: "batch".into(),
            version: "v1".into(),
            namespace: Some("data".into()),
            plural: "jobs".into(),
            name: None,
            subresource: None,
        }
    }

    fn job(backoff_limit: u64) -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "check", "namespace": "data"},
            "spec": {
                "backoffLimit": backoff_limit,
                "template": {"metadata": {"labels": {"app": "check"}},
                             "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "a:1"}]}},
            },
        })
    }

    fn status(store: &Store) -> Value {
        store.stored("batch/v1", "jobs", Some("data"), "check").map(|j| j["status"].clone()).unwrap_or(Value::Null)
    }

    fn condition_of(store: &Store) -> Option<(String, String)> {
        let s = status(store);
        let c = &s["conditions"][0];
        Some((c["type"].as_str()?.to_owned(), c["reason"].as_str()?.to_owned()))
    }

    #[test]
    fn a_pod_that_succeeds_completes_the_job() {
        let mut store = Store::default();
        let mut jobs = Jobs::default();
        store.create(&jobs_path(), job(0), &WriteOptions::default());
        assert!(jobs.tick(&mut store));
        let pod = store.pod("data", "check-1").cloned().expect("the first pod");
        assert_eq!(pod["metadata"]["labels"]["job-name"], "check");
        assert_eq!(pod["metadata"]["labels"]["app"], "check");
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "Job");
        assert_eq!(status(&store)["active"], 1);
        assert!(!jobs.tick(&mut store), "nothing changed, nothing written");

        store.set_pod_phase("data", "check-1", "Succeeded");
        jobs.tick(&mut store);
        assert_eq!(condition_of(&store), Some(("Complete".into(), "CompletionsReached".into())));
        let s = status(&store);
        assert_eq!((s["succeeded"].as_u64(), s["failed"].as_u64(), s.get("active")), (Some(1), Some(0), None));
        assert!(s["completionTime"].is_string());
        assert!(store.pod("data", "check-2").is_none(), "no pod after completion");
    }

    fn suspend(store: &mut Store, value: bool) {
        let mut job = store.stored("batch/v1", "jobs", Some("data"), "check").cloned().expect("the Job");
        job["spec"]["suspend"] = json!(value);
        store.put(job);
    }

    fn suspended_condition(store: &Store) -> Option<(String, String, String)> {
        let s = status(store);
        let c = s["conditions"].as_array()?.iter().find(|c| c["type"] == "Suspended")?.clone();
        Some((c["status"].as_str()?.to_owned(), c["reason"].as_str()?.to_owned(), c["message"].as_str()?.to_owned()))
    }

    fn stopping(store: &Store, pod: &str) -> bool {
        store.pod("data", pod).is_none_or(|p| p["metadata"]["deletionTimestamp"].is_string())
    }

    #[test]
    fn a_suspended_job_has_no_pod_until_resumed_and_suspending_it_again_stops_its_pod() {
        let mut store = Store::default();
        let mut jobs = Jobs::default();
        let mut suspended = job(0);
        suspended["spec"]["suspend"] = json!(true);
        store.create(&jobs_path(), suspended, &WriteOptions::default());
        jobs.tick(&mut store);
        assert!(store.pod("data", "check-1").is_none(), "no pod while suspended");
        assert_eq!(suspended_condition(&store), Some(("True".into(), "JobSuspended".into(), "Job suspended".into())));
        assert!(status(&store)["startTime"].is_null(), "not started while suspended");

        suspend(&mut store, false);
        jobs.tick(&mut store);
        assert!(store.pod("data", "check-1").is_some(), "resumed: its pod");
        assert_eq!(suspended_condition(&store), Some(("False".into(), "JobResumed".into(), "Job resumed".into())));
        assert!(status(&store)["startTime"].is_string());
        assert_eq!(status(&store)["active"], 1);

        suspend(&mut store, true);
        jobs.tick(&mut store);
        assert!(stopping(&store, "check-1"), "suspended again: its active pod is stopped");
        assert_eq!(suspended_condition(&store).map(|c| c.0), Some("True".into()));
        assert!(status(&store).get("active").is_none(), "{}", status(&store));
        assert_eq!(condition_of(&store).map(|c| c.0), Some("Suspended".into()), "neither complete nor failed");
    }

    #[test]
    fn failed_pods_are_replaced_until_the_backoff_limit_then_the_job_fails() {
        let mut store = Store::default();
        let mut jobs = Jobs::default();
        store.create(&jobs_path(), job(1), &WriteOptions::default());
        jobs.tick(&mut store);
        store.set_pod_phase("data", "check-1", "Failed");
        jobs.tick(&mut store);
        assert!(store.pod("data", "check-2").is_some(), "a second pod after the first failure (backoffLimit 1)");
        assert_eq!(condition_of(&store), None);
        store.set_pod_phase("data", "check-2", "Failed");
        jobs.tick(&mut store);
        assert_eq!(condition_of(&store), Some(("Failed".into(), "BackoffLimitExceeded".into())));
        assert_eq!(status(&store)["failed"], 2);
        assert!(store.pod("data", "check-3").is_none());
    }
}
