use super::*;

fn cluster_queue(name: &str, cohort: Option<&str>, flavors: &[(&str, &str)], extra: Value) -> Value {
    let flavors: Vec<Value> = flavors
        .iter()
        .map(|(f, cpu)| json!({"name": f, "resources": [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": "100Gi"}]}))
        .collect();
    let mut spec = json!({
        "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": flavors}],
        "preemption": {"withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "Any"},
    });
    if let Some(c) = cohort {
        spec["cohortName"] = json!(c);
    }
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({"apiVersion": API_VERSION, "kind": "ClusterQueue", "metadata": {"name": name}, "spec": spec})
}

fn local_queue(ns: &str, name: &str, cq: &str, weight: Option<u32>) -> Value {
    let mut lq = json!({"apiVersion": API_VERSION, "kind": "LocalQueue", "metadata": {"name": name, "namespace": ns}, "spec": {"clusterQueue": cq}});
    if let Some(w) = weight {
        lq["spec"]["fairSharing"] = json!({"weight": w.to_string()});
    }
    lq
}

/// A Spark-shaped Workload: a driver of 1 CPU and `executors` of 1 CPU each.
fn workload(
    ns: &str,
    name: &str,
    queue: &str,
    priority: i64,
    executors: u32,
    min: Option<u32>,
    created: &str,
) -> Value {
    let pod =
        json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}});
    let mut exec = json!({"name": "executor", "count": executors, "template": pod});
    if let Some(m) = min {
        exec["minCount"] = json!(m);
    }
    json!({
        "apiVersion": API_VERSION, "kind": "Workload",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "creationTimestamp": created},
        "spec": {"queueName": queue, "priority": priority, "podSets": [{"name": "driver", "count": 1, "template": pod}, exec]},
    })
}

fn get<'a>(store: &'a Store, ns: &str, name: &str) -> &'a Value {
    store.stored(API_VERSION, "workloads", Some(ns), name).expect("workload")
}

fn condition<'a>(w: &'a Value, kind: &str) -> &'a Value {
    w["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == kind)).unwrap_or(&Value::Null)
}

fn admitted(store: &Store, ns: &str, name: &str) -> bool {
    condition(get(store, ns, name), "Admitted")["status"] == "True"
}

/// What the job's controller does once it stopped an evicted job (Kueue's
/// job framework): the admission cleared, `QuotaReserved=False`, `Requeued`.
fn release(store: &mut Store, ns: &str, name: &str) {
    let mut w = get(store, ns, name).clone();
    let message = condition(&w, "Evicted")["message"].as_str().unwrap_or_default().to_owned();
    w["status"]["admission"] = Value::Null;
    set_condition(&mut w, "QuotaReserved", false, "Pending", &message);
    set_condition(&mut w, "Admitted", false, "NoReservation", "The workload has no reservation");
    set_condition(&mut w, "Requeued", true, "Preempted", &message);
    store.put(w);
}

fn finish(store: &mut Store, ns: &str, name: &str) {
    let mut w = get(store, ns, name).clone();
    set_condition(&mut w, "Finished", true, "Succeeded", "Job finished successfully");
    store.put(w);
}

#[test]
fn workloads_are_admitted_while_quota_lasts_and_the_rest_wait_with_kueues_message() {
    let mut store = Store::default();
    store.put(cluster_queue("team", None, &[("default", "4")], json!({})));
    store.put(local_queue("data", "default", "team", None));
    store.put(workload("data", "a", "default", 0, 2, None, "2026-01-01T00:00:01Z"));
    store.put(workload("data", "b", "default", 0, 2, None, "2026-01-01T00:00:02Z"));
    store.put(workload("data", "c", "nope", 0, 2, None, "2026-01-01T00:00:03Z"));
    let mut kueue = Kueue::default();
    assert!(kueue.tick(&mut store));
    let a = get(&store, "data", "a");
    assert_eq!(condition(a, "QuotaReserved")["message"], "Quota reserved in ClusterQueue team");
    assert_eq!(condition(a, "Admitted")["reason"], "Admitted");
    assert_eq!(a["status"]["admission"]["clusterQueue"], "team");
    assert_eq!(
        a["status"]["admission"]["podSetAssignments"][1]["flavors"],
        json!({"cpu": "default", "memory": "default"})
    );
    assert_eq!(a["status"]["admission"]["podSetAssignments"][1]["resourceUsage"], json!({"cpu": "2", "memory": "2Gi"}));
    assert_eq!(a["status"]["admission"]["podSetAssignments"][1]["count"], 2);
    let b = condition(get(&store, "data", "b"), "QuotaReserved").clone();
    assert_eq!((b["status"].as_str(), b["reason"].as_str()), (Some("False"), Some("Pending")));
    assert_eq!(
        b["message"],
        "couldn't assign flavors to pod set executor: insufficient unused quota for cpu in flavor default, 2 more needed"
    );
    let c = condition(get(&store, "data", "c"), "QuotaReserved").clone();
    assert_eq!(
        (c["reason"].as_str(), c["message"].as_str()),
        (Some("Inadmissible"), Some("LocalQueue nope doesn't exist"))
    );
    // Nothing changed: nothing written.
    assert!(!kueue.tick(&mut store));
    // The first finishes: the second gets its quota.
    finish(&mut store, "data", "a");
    kueue.tick(&mut store);
    assert!(admitted(&store, "data", "b"));
}

#[test]
fn a_higher_priority_workload_preempts_a_lower_one_which_keeps_its_quota_until_stopped() {
    let mut store = Store::default();
    store.put(cluster_queue("team", None, &[("default", "3")], json!({})));
    store.put(local_queue("data", "default", "team", None));
    store.put(workload("data", "low", "default", 10, 2, None, "2026-01-01T00:00:01Z"));
    let mut kueue = Kueue::default();
    kueue.tick(&mut store);
    assert!(admitted(&store, "data", "low"));
    store.put(workload("data", "high", "default", 100, 2, None, "2026-01-01T00:00:02Z"));
    kueue.tick(&mut store);
    let low = get(&store, "data", "low").clone();
    let message = "Preempted to accommodate a workload (UID: uid-high, JobUID: UNKNOWN) due to prioritization in the ClusterQueue; preemptor path: /team; preemptee path: /team";
    assert_eq!(condition(&low, "Evicted")["reason"], "Preempted");
    assert_eq!(condition(&low, "Evicted")["message"], message);
    assert_eq!(condition(&low, "Preempted")["reason"], "InClusterQueue");
    assert!(admitted(&store, "data", "low"), "still holding its quota until its controller stops it");
    assert!(!admitted(&store, "data", "high"));
    // Ticks in between preempt nothing more.
    store.put(workload("data", "other", "default", 5, 0, None, "2026-01-01T00:00:03Z"));
    kueue.tick(&mut store);
    assert_eq!(condition(get(&store, "data", "other"), "QuotaReserved")["status"], "False");
    release(&mut store, "data", "low");
    kueue.tick(&mut store);
    assert!(admitted(&store, "data", "high"));
    assert!(!admitted(&store, "data", "low"));
    // When room comes back the preempted one is admitted again; Evicted turns false.
    finish(&mut store, "data", "high");
    finish(&mut store, "data", "other");
    kueue.tick(&mut store);
    let low = get(&store, "data", "low");
    assert!(admitted(&store, "data", "low"));
    assert_eq!(condition(low, "Evicted")["status"], "False");
    assert_eq!(condition(low, "Evicted")["message"], format!("Previously: {message}"));
}

#[test]
fn a_pod_set_with_a_minimum_is_admitted_with_as_many_pods_as_fit() {
    let mut store = Store::default();
    store.put(cluster_queue("team", None, &[("default", "4")], json!({})));
    store.put(local_queue("data", "default", "team", None));
    store.put(workload("data", "elastic", "default", 0, 8, Some(2), "2026-01-01T00:00:01Z"));
    Kueue::default().tick(&mut store);
    let w = get(&store, "data", "elastic");
    assert_eq!(
        w["status"]["admission"]["podSetAssignments"][1]["count"], 3,
        "1 CPU left for the driver, 3 for executors"
    );
    // Below its minimum it waits.
    let mut store = Store::default();
    store.put(cluster_queue("team", None, &[("default", "2")], json!({})));
    store.put(local_queue("data", "default", "team", None));
    store.put(workload("data", "elastic", "default", 0, 8, Some(2), "2026-01-01T00:00:01Z"));
    Kueue::default().tick(&mut store);
    assert!(!admitted(&store, "data", "elastic"));
}

#[test]
fn the_first_flavor_with_room_is_assigned() {
    let mut store = Store::default();
    store.put(cluster_queue("team", None, &[("on-demand", "3"), ("spot", "10")], json!({})));
    store.put(local_queue("data", "default", "team", None));
    store.put(workload("data", "a", "default", 0, 2, None, "2026-01-01T00:00:01Z"));
    store.put(workload("data", "b", "default", 0, 2, None, "2026-01-01T00:00:02Z"));
    Kueue::default().tick(&mut store);
    let flavor =
        |name: &str| get(&store, "data", name)["status"]["admission"]["podSetAssignments"][0]["flavors"]["cpu"].clone();
    assert_eq!((flavor("a"), flavor("b")), (json!("on-demand"), json!("spot")));
}

#[test]
fn teams_sharing_a_queue_are_admitted_in_proportion_to_their_weights() {
    let mut store = Store::default();
    store.put(cluster_queue(
        "shared",
        None,
        &[("default", "3")],
        json!({"admissionScope": {"admissionMode": "UsageBasedAdmissionFairSharing"}}),
    ));
    store.put(local_queue("a", "default", "shared", Some(2)));
    store.put(local_queue("b", "default", "shared", Some(1)));
    for i in 0..20 {
        store.put(workload("a", &format!("a{i:02}"), "default", 0, 2, None, "2026-01-01T00:00:01Z"));
        store.put(workload("b", &format!("b{i:02}"), "default", 0, 2, None, "2026-01-01T00:00:01Z"));
    }
    let mut kueue = Kueue::default();
    let mut order = Vec::new();
    for _ in 0..30 {
        kueue.tick(&mut store);
        let running: Vec<(String, String)> = store
            .all(API_VERSION, "workloads")
            .filter(|w| condition(w, "Admitted")["status"] == "True" && condition(w, "Finished").is_null())
            .map(|w| {
                (
                    w["metadata"]["namespace"].as_str().unwrap_or_default().to_owned(),
                    w["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(running.len(), 1, "one at a time fits");
        order.push(running[0].0.clone());
        finish(&mut store, &running[0].0, &running[0].1);
    }
    let a = order.iter().filter(|t| *t == "a").count();
    assert_eq!((a, 30 - a), (20, 10), "{order:?}");
}

#[test]
fn a_queue_takes_back_what_its_cohort_borrowed() {
    let mut store = Store::default();
    store.put(cluster_queue("a", Some("shared"), &[("default", "2")], json!({})));
    store.put(cluster_queue("b", Some("shared"), &[("default", "2")], json!({})));
    store.put(local_queue("ta", "default", "a", None));
    store.put(local_queue("tb", "default", "b", None));
    store.put(workload("ta", "big", "default", 0, 2, None, "2026-01-01T00:00:01Z"));
    let mut kueue = Kueue::default();
    kueue.tick(&mut store);
    assert!(admitted(&store, "ta", "big"), "3 CPUs: 2 of its own and 1 borrowed");
    store.put(workload("tb", "own", "default", 0, 1, None, "2026-01-01T00:00:02Z"));
    kueue.tick(&mut store);
    let big = get(&store, "ta", "big");
    assert_eq!(condition(big, "Preempted")["reason"], "InCohortReclamation");
    assert!(
        condition(big, "Preempted")["message"]
            .as_str()
            .is_some_and(|m| m.contains("reclamation within the cohort; preemptor path: /b; preemptee path: /a"))
    );
    release(&mut store, "ta", "big");
    kueue.tick(&mut store);
    assert!(admitted(&store, "tb", "own"));
}
