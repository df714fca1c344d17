//! The simulated cluster with Kueue installed: Kueue's own CRDs (v0.19.2,
//! v1beta2) are stored, so a Workload is admitted to the store under their
//! structural schema and CEL rules as on a cluster, and the admission
//! stand-in (`kueue` module, ADR 0073) reserves quota, keeps the rest
//! pending with Kueue's message and preempts by priority.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

fn send(server: &FakeApiServer, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}{path}", server.url());
    let agent = agent();
    let result = match method {
        "POST" => agent.post(&url).header("Content-Type", "application/json").send(body.to_string()),
        "PATCH" => agent.patch(&url).header("Content-Type", "application/merge-patch+json").send(body.to_string()),
        _ => agent.get(&url).call(),
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const KUEUE: &str = "/apis/kueue.x-k8s.io/v1beta2";

fn workload(name: &str, priority: i64, cpu: &str) -> Value {
    json!({
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {
            "queueName": "team",
            "priorityClassRef": {"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": "p"},
            "priority": priority,
            "podSets": [{"name": "driver", "count": 1, "template": {"spec": {"containers": [
                {"name": "spark-kubernetes-driver", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}
            ]}}}],
        },
    })
}

fn condition(w: &Value, kind: &str) -> Value {
    w["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .cloned()
        .unwrap_or(Value::Null)
}

fn wait_for(server: &FakeApiServer, name: &str, what: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, w) = send(server, "GET", &format!("{KUEUE}/namespaces/data/workloads/{name}"), &Value::Null);
        if what(&w) {
            return w;
        }
        assert!(Instant::now() < deadline, "{name} never got there: {w}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn kueues_crds_admit_workloads_and_the_stand_in_reserves_quota_then_preempts() {
    let server = FakeApiServer::start().expect("starts");
    server.install_kueue();
    let (code, cq) = send(
        &server,
        "POST",
        &format!("{KUEUE}/clusterqueues"),
        &json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "shared"},
            "spec": {
                "namespaceSelector": {},
                "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [
                    {"name": "default", "resources": [{"name": "cpu", "nominalQuota": "2"}, {"name": "memory", "nominalQuota": "8Gi"}]}
                ]}],
                "preemption": {"withinClusterQueue": "LowerPriority"},
            },
        }),
    );
    assert_eq!(code, 201, "{cq}");
    // The CRD's defaults are filled in, as the API server does.
    assert_eq!(cq["spec"]["queueingStrategy"], "BestEffortFIFO");
    assert_eq!(cq["spec"]["preemption"]["reclaimWithinCohort"], "Never");
    let (code, lq) = send(
        &server,
        "POST",
        &format!("{KUEUE}/namespaces/data/localqueues"),
        &json!({
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "team", "namespace": "data"},
            "spec": {"clusterQueue": "shared"},
        }),
    );
    assert_eq!(code, 201, "{lq}");

    // The Workload CRD's CEL rule: a priorityClassRef needs a priority.
    let mut bad = workload("bad", 1, "1");
    bad["spec"].as_object_mut().map(|s| s.remove("priority"));
    let (code, refused) = send(&server, "POST", &format!("{KUEUE}/namespaces/data/workloads"), &bad);
    assert_eq!(code, 422, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("priority should not be nil when priorityClassRef is set")),
        "{refused}"
    );

    let (code, created) =
        send(&server, "POST", &format!("{KUEUE}/namespaces/data/workloads"), &workload("low", 10, "2"));
    assert_eq!(code, 201, "{created}");
    let low = wait_for(&server, "low", |w| condition(w, "Admitted")["status"] == "True");
    assert_eq!(condition(&low, "QuotaReserved")["message"], "Quota reserved in ClusterQueue shared");
    assert_eq!(low["status"]["admission"]["podSetAssignments"][0]["resourceUsage"]["cpu"], "2");

    send(&server, "POST", &format!("{KUEUE}/namespaces/data/workloads"), &workload("high", 100, "2"));
    let high = wait_for(&server, "high", |w| !condition(w, "QuotaReserved").is_null());
    assert_eq!(condition(&high, "QuotaReserved")["reason"], "Pending");
    let low = wait_for(&server, "low", |w| condition(w, "Evicted")["status"] == "True");
    assert_eq!(condition(&low, "Preempted")["reason"], "InClusterQueue");
    let uid = high["metadata"]["uid"].as_str().expect("uid");
    assert!(
        condition(&low, "Evicted")["message"].as_str().is_some_and(|m| m.contains(&format!("(UID: {uid}, "))),
        "{low}"
    );

    // The job's controller stopped it and gives the quota back: the higher one goes in.
    let release = json!({"status": {"admission": null, "conditions": [
        {"type": "QuotaReserved", "status": "False", "reason": "Pending", "message": "stopped", "lastTransitionTime": "2026-01-01T00:00:00Z"},
    ]}});
    let (code, answer) = send(&server, "PATCH", &format!("{KUEUE}/namespaces/data/workloads/low/status"), &release);
    assert_eq!(code, 200, "{answer}");
    wait_for(&server, "high", |w| condition(w, "Admitted")["status"] == "True");
}
