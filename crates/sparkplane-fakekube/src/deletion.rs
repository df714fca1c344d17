//! What a DELETE does to one object, as the API server decides it: remove
//! it now, or mark it (`deletionTimestamp`, `deletionGracePeriodSeconds`,
//! the finalizers a propagation policy adds) and let the kubelet and the
//! finalizers' owners finish the job.
//!
//! Owns: graceful deletion of pods (a pod bound to a node and not yet
//! finished waits for its kubelet, `pod.spec.terminationGracePeriodSeconds`
//! or the request's `gracePeriodSeconds`, 30 s by default; an unbound or
//! finished pod goes at once, as the pod registry decides), the
//! `foregroundDeletion` and `orphan` finalizers of the propagation policies,
//! and when a marked object is released. Must not: touch the store (`store`
//! applies the plan) or follow owner references (the garbage collector,
//! `gc`, does, asynchronously).

use serde_json::{Value, json};

use crate::resources::ResourcePath;

/// The finalizer foreground deletion puts on the owner: it goes once the
/// garbage collector has deleted every dependent that blocks it.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer orphan deletion puts on the owner: the garbage collector
/// removes the owner's references from its dependents, then the finalizer.
pub const ORPHAN: &str = "orphan";

/// The pod grace period when neither the request nor the pod sets one
/// (the API server's default for `terminationGracePeriodSeconds`).
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

/// What a delete request asks for besides its target (`DeleteOptions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `propagationPolicy`: `Background` (the default), `Foreground` or `Orphan`.
    pub propagation: Option<String>,
    /// `gracePeriodSeconds`: for pods, how long the kubelet may take (0: at once).
    pub grace_period: Option<i64>,
    /// `dryRun=All`: answer, change nothing.
    pub dry_run: bool,
}

/// What a delete does to the stored object.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// It goes now.
    Remove,
    /// It is already marked and the request changes nothing.
    Unchanged,
    /// It is marked (or re-marked) and stays for now.
    Mark(Box<Value>),
}

fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn is_pod(path: &ResourcePath) -> bool {
    path.group.is_empty() && path.plural == "pods"
}

/// The grace period a pod's kubelet gets, or None when the pod goes at once
/// (not a pod, not bound to a node, already finished, or grace 0 asked for).
fn grace_period(path: &ResourcePath, object: &Value, asked: Option<i64>) -> Option<i64> {
    if !is_pod(path) {
        return None;
    }
    let bound = object["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty());
    let finished = matches!(object["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
    if !bound || finished {
        return None;
    }
    let seconds =
        asked.or_else(|| object["spec"]["terminationGracePeriodSeconds"].as_i64()).unwrap_or(DEFAULT_GRACE_SECONDS);
    (seconds > 0).then_some(seconds)
}

/// `seconds` from now, as the API server writes timestamps.
fn from_now(seconds: i64) -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    let at = now.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(seconds)).unwrap_or(now);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whether a marked object may go now: no finalizers left and no grace period pending.
pub fn released(object: &Value) -> bool {
    let meta = &object["metadata"];
    meta["deletionTimestamp"].is_string()
        && meta["finalizers"].as_array().is_none_or(Vec::is_empty)
        && meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0) == 0
}

/// What deleting `object` at `path` with `options` does.
pub fn plan(path: &ResourcePath, object: &Value, options: &DeleteOptions) -> Plan {
    let before = finalizers(object);
    let mut after = before.clone();
    let add = |name: &str, after: &mut Vec<String>| {
        if !after.iter().any(|f| f == name) {
            after.push(name.to_owned());
        }
    };
    match options.propagation.as_deref() {
        Some("Foreground") => {
            after.retain(|f| f != ORPHAN);
            add(FOREGROUND, &mut after);
        }
        Some("Orphan") => {
            after.retain(|f| f != FOREGROUND);
            add(ORPHAN, &mut after);
        }
        Some("Background") => after.retain(|f| f != ORPHAN && f != FOREGROUND),
        _ => {}
    }
    let mut marked = object.clone();
    let meta = &mut marked["metadata"];
    if after.is_empty() {
        if let Some(m) = meta.as_object_mut() {
            m.remove("finalizers");
        }
    } else {
        meta["finalizers"] = json!(after);
    }
    if object["metadata"]["deletionTimestamp"].is_string() {
        // Deleted again: a shorter grace period replaces a longer one
        // (`kubectl delete --grace-period=0 --force` ends the wait).
        let current = object["metadata"]["deletionGracePeriodSeconds"].as_i64().unwrap_or(0);
        let shorter = options.grace_period.filter(|g| is_pod(path) && *g >= 0 && *g < current);
        if shorter.is_none() && after == before {
            return Plan::Unchanged;
        }
        if let Some(seconds) = shorter {
            meta["deletionGracePeriodSeconds"] = json!(seconds);
            meta["deletionTimestamp"] = json!(from_now(seconds));
        }
        return if released(&marked) { Plan::Remove } else { Plan::Mark(Box::new(marked)) };
    }
    let grace = grace_period(path, object, options.grace_period);
    if after.is_empty() && grace.is_none() {
        return Plan::Remove;
    }
    let seconds = grace.unwrap_or(0);
    meta["deletionTimestamp"] = json!(from_now(seconds));
    meta["deletionGracePeriodSeconds"] = json!(seconds);
    Plan::Mark(Box::new(marked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(plural: &str) -> ResourcePath {
        ResourcePath {
            group: if plural == "pods" { String::new() } else { "sparkplane.dev".into() },
            version: "v1".into(),
            namespace: Some("ns".into()),
            plural: plural.into(),
            name: None,
            subresource: None,
        }
    }

    fn marked(plan: Plan) -> Value {
        match plan {
            Plan::Mark(object) => *object,
            other => panic!("expected a mark, got {other:?}"),
        }
    }

    #[test]
    fn a_running_bound_pod_waits_its_grace_period_and_an_unbound_or_finished_one_goes_at_once() {
        let pods = path("pods");
        let running = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n", "terminationGracePeriodSeconds": 5},
                             "status": {"phase": "Running"}});
        let pod = marked(plan(&pods, &running, &DeleteOptions::default()));
        assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 5);
        assert!(pod["metadata"]["deletionTimestamp"].is_string());
        assert!(!released(&pod));
        let asked = DeleteOptions { grace_period: Some(2), ..DeleteOptions::default() };
        assert_eq!(marked(plan(&pods, &running, &asked))["metadata"]["deletionGracePeriodSeconds"], 2);
        let mut default = running.clone();
        default["spec"].as_object_mut().map(|s| s.remove("terminationGracePeriodSeconds"));
        assert_eq!(
            marked(plan(&pods, &default, &DeleteOptions::default()))["metadata"]["deletionGracePeriodSeconds"],
            30
        );

        let force = DeleteOptions { grace_period: Some(0), ..DeleteOptions::default() };
        assert_eq!(plan(&pods, &running, &force), Plan::Remove);
        let unbound = json!({"metadata": {"name": "p"}, "spec": {}, "status": {"phase": "Pending"}});
        assert_eq!(plan(&pods, &unbound, &DeleteOptions::default()), Plan::Remove);
        let mut finished = running.clone();
        finished["status"]["phase"] = json!("Succeeded");
        assert_eq!(plan(&pods, &finished, &DeleteOptions::default()), Plan::Remove);

        // The kubelet's final delete (grace 0) releases it; a finalizer still holds it.
        assert_eq!(plan(&pods, &pod, &force), Plan::Remove);
        let mut held = pod.clone();
        held["metadata"]["finalizers"] = json!(["example.com/hold"]);
        let held = marked(plan(&pods, &held, &force));
        assert_eq!(held["metadata"]["deletionGracePeriodSeconds"], 0);
        assert!(!released(&held));
        assert_eq!(plan(&pods, &pod, &DeleteOptions::default()), Plan::Unchanged);
    }

    #[test]
    fn propagation_policies_add_their_finalizers_and_grace_periods_are_for_pods_only() {
        let jobs = path("sparkjobs");
        let job = json!({"metadata": {"name": "j"}, "spec": {"nodeName": "looks-bound"}});
        assert_eq!(plan(&jobs, &job, &DeleteOptions::default()), Plan::Remove);
        let foreground = DeleteOptions { propagation: Some("Foreground".into()), ..DeleteOptions::default() };
        let owner = marked(plan(&jobs, &job, &foreground));
        assert_eq!(owner["metadata"]["finalizers"], json!([FOREGROUND]));
        assert_eq!(owner["metadata"]["deletionGracePeriodSeconds"], 0);
        let orphan = DeleteOptions { propagation: Some("Orphan".into()), ..DeleteOptions::default() };
        assert_eq!(marked(plan(&jobs, &owner, &orphan))["metadata"]["finalizers"], json!([ORPHAN]));
        let background = DeleteOptions { propagation: Some("Background".into()), ..DeleteOptions::default() };
        assert_eq!(plan(&jobs, &owner, &background), Plan::Remove);
        let mut held = job.clone();
        held["metadata"]["finalizers"] = json!(["example.com/hold"]);
        let held = marked(plan(&jobs, &held, &background));
        assert_eq!(held["metadata"]["finalizers"], json!(["example.com/hold"]));
    }
}
