//! Voluntary disruption as the API server and the disruption controller
//! handle it: the Eviction subresource (`POST pods/NAME/eviction`) deletes a
//! pod only when the PodDisruptionBudget that selects it allows one more
//! disruption (429 TooManyRequests otherwise, 500 when more than one budget
//! selects it; a pod that is Pending, finished or already terminating
//! ignores budgets), and every budget's status (`currentHealthy`,
//! `desiredHealthy`, `expectedPods`, `disruptionsAllowed`) is kept current.
//!
//! Simplified: the expected pod count is the budget's matching pods that
//! have not finished (the API server takes percentages and
//! `maxUnavailable` from the owning controller's scale); a healthy pod is
//! Ready and not terminating.
//!
//! Owns: eviction and budget status. Must not: delete pods any other way
//! than the store's delete (graceful, with finalizers).

use serde_json::{Value, json};

use crate::admission::selects;
use crate::answer::{Answer, status};
use crate::deletion::DeleteOptions;
use crate::resources::ResourcePath;
use crate::store::{Key, Store, pod_path};

/// The API server's message when a budget forbids an eviction.
pub const VIOLATES_BUDGET: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

const PDB_VERSION: &str = "policy/v1";
const PDBS: &str = "poddisruptionbudgets";

fn is_healthy(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn is_finished(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// `value` (an integer or a percentage) of `total`, rounded up as the
/// disruption controller rounds.
fn scaled(value: &Value, total: i64) -> i64 {
    match value {
        Value::String(text) => match text.strip_suffix('%').and_then(|p| p.trim().parse::<i64>().ok()) {
            Some(percent) => (percent * total + 99) / 100,
            None => text.parse().unwrap_or(0),
        },
        other => other.as_i64().unwrap_or(0),
    }
}

/// The budgets in `namespace` selecting `pod`.
fn budgets_for<'a>(store: &'a Store, namespace: &str, pod: &Value) -> Vec<(Key, &'a Value)> {
    store
        .objects
        .iter()
        .filter(|((av, plural, ns, _), _)| av == PDB_VERSION && plural == PDBS && ns.as_deref() == Some(namespace))
        .filter(|(_, pdb)| selects(&pdb["spec"]["selector"], Some(pod)))
        .map(|(k, v)| (k.clone(), v))
        .collect()
}

/// A budget's status as the disruption controller computes it now.
pub fn budget_status(store: &Store, pdb: &Value) -> Value {
    let namespace = pdb["metadata"]["namespace"].as_str().unwrap_or_default();
    let pods: Vec<&Value> = store
        .all("v1", "pods")
        .filter(|p| p["metadata"]["namespace"] == namespace && !is_finished(p))
        .filter(|p| selects(&pdb["spec"]["selector"], Some(p)))
        .collect();
    let expected = pods.len() as i64;
    let healthy = pods.iter().filter(|p| is_healthy(p)).count() as i64;
    let spec = &pdb["spec"];
    let desired = if !spec["minAvailable"].is_null() {
        scaled(&spec["minAvailable"], expected)
    } else if !spec["maxUnavailable"].is_null() {
        (expected - scaled(&spec["maxUnavailable"], expected)).max(0)
    } else {
        expected
    };
    let allowed = (healthy - desired).max(0);
    let (state, reason) = if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
    json!({
        "observedGeneration": pdb["metadata"]["generation"],
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "disruptionsAllowed": allowed,
        "conditions": [{
            "type": "DisruptionAllowed", "status": state, "reason": reason, "message": "",
            "observedGeneration": pdb["metadata"]["generation"],
            "lastTransitionTime": pdb["status"]["conditions"][0]["lastTransitionTime"]
                .as_str()
                .filter(|_| pdb["status"]["conditions"][0]["status"] == state)
                .map_or_else(crate::store::now, str::to_owned),
        }],
    })
}

/// The disruption controller: writes each budget's status when it changed.
pub fn refresh(store: &mut Store) {
    let first: Key = (PDB_VERSION.to_owned(), PDBS.to_owned(), None, String::new());
    let budgets: Vec<(Key, Value)> = store
        .objects
        .range(first..)
        .take_while(|((av, plural, _, _), _)| av == PDB_VERSION && plural == PDBS)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, mut pdb) in budgets {
        let fresh = budget_status(store, &pdb);
        if pdb["status"] != fresh {
            pdb["status"] = fresh;
            store.put_at(&key, pdb);
        }
    }
}

/// `POST pods/NAME/eviction` with an `Eviction` body.
pub fn evict(store: &mut Store, path: &ResourcePath, name: &str, body: &Value) -> Answer {
    let namespace = path.namespace.clone().unwrap_or_default();
    let Some(pod) = store.pod(&namespace, name).cloned() else {
        return status(404, "NotFound", format!("pods \"{name}\" not found"), json!({"name": name, "kind": "pods"}));
    };
    if body["metadata"]["name"].as_str().is_some_and(|n| n != name) {
        return status(
            400,
            "BadRequest",
            "name in URL does not match name in Eviction object".into(),
            json!({"name": name, "group": "policy", "kind": "Eviction"}),
        );
    }
    let given = &body["deleteOptions"];
    let options = DeleteOptions {
        propagation: given["propagationPolicy"].as_str().map(str::to_owned),
        grace_period: given["gracePeriodSeconds"].as_i64(),
        dry_run: given["dryRun"].as_array().is_some_and(|d| d.iter().any(|v| v == "All")),
    };
    let ignores_budgets = matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed" | "Pending"))
        || pod["metadata"]["deletionTimestamp"].is_string();
    if !ignores_budgets {
        let budgets = budgets_for(store, &namespace, &pod);
        if budgets.len() > 1 {
            return status(
                500,
                "InternalError",
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                    .into(),
                json!({}),
            );
        }
        if let Some((key, pdb)) = budgets.first() {
            let (key, mut pdb) = (key.clone(), (*pdb).clone());
            let now = budget_status(store, &pdb);
            if now["disruptionsAllowed"].as_i64().unwrap_or(0) <= 0 {
                let pdb_name = pdb["metadata"]["name"].as_str().unwrap_or_default();
                let cause = format!(
                    "The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                    now["desiredHealthy"], now["currentHealthy"]
                );
                return status(
                    429,
                    "TooManyRequests",
                    VIOLATES_BUDGET.into(),
                    json!({"causes": [{"reason": "DisruptionBudget", "message": cause}]}),
                );
            }
            if !options.dry_run {
                let mut status = now;
                status["disruptionsAllowed"] = json!(status["disruptionsAllowed"].as_i64().unwrap_or(1) - 1);
                status["disruptedPods"] = json!({ name: crate::store::now() });
                pdb["status"] = status;
                store.put_at(&key, pdb);
            }
        }
    }
    match store.delete_with(&pod_path(&namespace, name), name, &options) {
        Answer::Json(200, _) => Answer::Json(
            201,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteOptions;

    fn pod(store: &mut Store, name: &str, ready: bool) {
        let mut path = pod_path("ns", name);
        path.name = None;
        let body =
            json!({"metadata": {"name": name, "labels": {"app": "a"}}, "spec": {"nodeName": "n", "containers": []}});
        store.create(&path, body, &WriteOptions::default());
        let mut stored = store.pod("ns", name).cloned().expect("created");
        stored["status"] = json!({"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]});
        store.put(stored);
    }

    #[test]
    fn an_eviction_the_budget_forbids_answers_429_and_one_it_allows_deletes_the_pod_gracefully() {
        let mut store = Store::default();
        pod(&mut store, "a", true);
        pod(&mut store, "b", true);
        pod(&mut store, "c", false);
        let pdbs = ResourcePath {
            group: "policy".into(),
            version: "v1".into(),
            namespace: Some("ns".into()),
            plural: PDBS.into(),
            name: None,
            subresource: None,
        };
        let pdb = json!({"metadata": {"name": "budget"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "a"}}}});
        store.create(&pdbs, pdb, &WriteOptions::default());
        refresh(&mut store);
        let stored = store.stored(PDB_VERSION, PDBS, Some("ns"), "budget").expect("stored");
        assert_eq!(
            (
                &stored["status"]["currentHealthy"],
                &stored["status"]["expectedPods"],
                &stored["status"]["disruptionsAllowed"]
            ),
            (&json!(2), &json!(3), &json!(1))
        );

        let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "a"}});
        let path = pod_path("ns", "a");
        assert_eq!(
            evict(&mut store, &path, "a", &eviction).clone(),
            Answer::Json(
                201,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
            )
        );
        let marked = store.pod("ns", "a").expect("terminating, not gone");
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);

        let Answer::Json(code, refused) =
            evict(&mut store, &pod_path("ns", "b"), "b", &json!({"metadata": {"name": "b"}}))
        else {
            panic!("JSON");
        };
        assert_eq!(
            (code, refused["reason"].as_str(), refused["message"].as_str()),
            (429, Some("TooManyRequests"), Some(VIOLATES_BUDGET))
        );
        assert_eq!(
            refused["details"]["causes"][0]["message"],
            "The disruption budget budget needs 1 healthy pods and has 1 currently"
        );
        assert!(store.pod("ns", "b").is_some_and(|p| p["metadata"]["deletionTimestamp"].is_null()));
        // A pod not yet running ignores the budget.
        let mut pending = store.pod("ns", "c").cloned().expect("stored");
        pending["status"]["phase"] = json!("Pending");
        store.put(pending);
        let Answer::Json(code, _) = evict(&mut store, &pod_path("ns", "c"), "c", &json!({})) else { panic!("JSON") };
        assert_eq!(code, 201);

        // Two budgets over one pod: the eviction subresource cannot decide (500).
        let second = json!({"metadata": {"name": "other"}, "spec": {"maxUnavailable": "50%", "selector": {}}});
        store.create(&pdbs, second, &WriteOptions::default());
        let Answer::Json(code, refused) = evict(&mut store, &pod_path("ns", "b"), "b", &json!({})) else {
            panic!("JSON")
        };
        assert_eq!(
            (code, refused["message"].as_str()),
            (
                500,
                Some(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
                )
            )
        );
        assert_eq!(
            evict(&mut store, &pod_path("ns", "gone"), "gone", &json!({})).clone(),
            status(404, "NotFound", "pods \"gone\" not found".into(), json!({"name": "gone", "kind": "pods"}))
        );
    }

    #[test]
    fn percentages_round_up_as_the_disruption_controller_rounds() {
        assert_eq!(scaled(&json!("50%"), 3), 2);
        assert_eq!(scaled(&json!("100%"), 3), 3);
        assert_eq!(scaled(&json!(2), 3), 2);
        assert_eq!(scaled(&json!("1"), 3), 1);
    }
}
