//! What a controller needs from the API server: the SparkJob status
//! subresource, generation, optimistic concurrency with the real Conflict
//! message, finalizers holding a deleted object, and the Lease, events.k8s.io
//! Event and CustomResourceDefinition kinds.

use std::time::Duration;

use serde_json::{Value, json};
use sparkplane_fakekube::{Behaviour, FakeApiServer, WriteRace};

fn call(server: &FakeApiServer, method: &str, path: &str, content_type: &str, body: Option<&Value>) -> (u16, Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent();
    let url = format!("{}{path}", server.url());
    let body = body.map(Value::to_string);
    let result = match (method, body) {
        ("GET", _) => agent.get(&url).call(),
        ("DELETE", _) => agent.delete(&url).call(),
        ("POST", Some(b)) => agent.post(&url).header("Content-Type", content_type).send(&b),
        ("PUT", Some(b)) => agent.put(&url).header("Content-Type", content_type).send(&b),
        ("PATCH", Some(b)) => agent.patch(&url).header("Content-Type", content_type).send(&b),
        _ => panic!("unsupported {method}"),
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const JOBS: &str = "/apis/sparkplane.dev/v1alpha1/namespaces/ns/sparkjobs";
const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";

fn job() -> Value {
    json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "metadata": {"name": "x"},
           "spec": {"app": "a"}, "status": {"phase": "ignored"}})
}

#[test]
fn status_subresource_changes_only_status_and_generation_follows_spec() {
    let server = FakeApiServer::start().expect("starts");
    let (code, created) = call(&server, "POST", JOBS, JSON, Some(&job()));
    assert_eq!(code, 201);
    assert_eq!(created["metadata"]["generation"], 1);

    // A status patch changes .status only, and not the generation.
    let patch = json!({"spec": {"app": "changed"}, "status": {"phase": "Running"}});
    let (code, after) = call(&server, "PATCH", &format!("{JOBS}/x/status"), MERGE, Some(&patch));
    assert_eq!(code, 200);
    assert_eq!(after["spec"], json!({"app": "a"}));
    assert_eq!(after["status"]["phase"], "Running");
    assert_eq!(after["metadata"]["generation"], 1);
    let (_, got) = call(&server, "GET", &format!("{JOBS}/x/status"), JSON, None);
    assert_eq!(got["status"]["phase"], "Running");

    // Server-side apply on the status subresource, too.
    let apply = json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "metadata": {"name": "x"},
                       "status": {"phase": "Succeeded"}});
    let (code, applied) = call(
        &server,
        "PATCH",
        &format!("{JOBS}/x/status?fieldManager=op&force=true"),
        "application/apply-patch+yaml",
        Some(&apply),
    );
    assert_eq!(code, 200);
    assert_eq!(applied["status"]["phase"], "Succeeded");
    assert_eq!(applied["spec"], json!({"app": "a"}));

    // A write to the main resource leaves .status alone; a spec change bumps the generation.
    let patch = json!({"spec": {"app": "b"}, "status": {"phase": "Lost"}});
    let (_, after) = call(&server, "PATCH", &format!("{JOBS}/x"), MERGE, Some(&patch));
    assert_eq!(after["status"]["phase"], "Succeeded");
    assert_eq!(after["metadata"]["generation"], 2);
    let (_, after) =
        call(&server, "PATCH", &format!("{JOBS}/x"), MERGE, Some(&json!({"metadata": {"labels": {"l": "v"}}})));
    assert_eq!(after["metadata"]["generation"], 2);

    // PUT to status replaces .status only.
    let mut put = after.clone();
    put["status"] = json!({"phase": "Failed"});
    put["spec"] = json!({"app": "nope"});
    let (code, after) = call(&server, "PUT", &format!("{JOBS}/x/status"), JSON, Some(&put));
    assert_eq!(code, 200);
    assert_eq!(after["status"], json!({"phase": "Failed"}));
    assert_eq!(after["spec"], json!({"app": "b"}));
}

#[test]
fn a_stale_resource_version_answers_409_conflict_with_the_real_message() {
    let server = FakeApiServer::start().expect("starts");
    let (_, created) = call(&server, "POST", JOBS, JSON, Some(&job()));
    let stale = created["metadata"]["resourceVersion"].as_str().expect("rv").to_owned();
    call(&server, "PATCH", &format!("{JOBS}/x"), MERGE, Some(&json!({"spec": {"app": "b"}})));
    let message = "Operation cannot be fulfilled on sparkjobs.sparkplane.dev \"x\": the object has been modified; \
                   please apply your changes to the latest version and try again";
    for (method, path, content_type, body) in [
        ("PUT", format!("{JOBS}/x"), JSON, created.clone()),
        ("PATCH", format!("{JOBS}/x/status"), MERGE, json!({"metadata": {"resourceVersion": stale}, "status": {}})),
    ] {
        let (code, answer) = call(&server, method, &path, content_type, Some(&body));
        assert_eq!(code, 409, "{method} {path}");
        assert_eq!(answer["reason"], "Conflict");
        assert_eq!(answer["message"], message);
    }
    let (_, pod) = call(
        &server,
        "POST",
        "/api/v1/namespaces/ns/pods",
        JSON,
        Some(&json!({"metadata": {"name": "p"}, "spec": {"containers": []}})),
    );
    let mut stale_pod = pod.clone();
    stale_pod["metadata"]["resourceVersion"] = json!("1");
    let (code, answer) = call(&server, "PUT", "/api/v1/namespaces/ns/pods/p", JSON, Some(&stale_pod));
    assert_eq!(code, 409);
    assert_eq!(
        answer["message"],
        "Operation cannot be fulfilled on pods \"p\": the object has been modified; \
         please apply your changes to the latest version and try again"
    );
}

/// `Behaviour::write_race`: another client writes between a read and a
/// write. A write carrying the version it read is refused; one without a
/// version is applied over the racer's change, which is then lost.
#[test]
fn a_write_race_refuses_the_stale_write_that_names_its_version() {
    let server = FakeApiServer::start().expect("starts");
    let (_, created) = call(&server, "POST", JOBS, JSON, Some(&job()));
    let read = created["metadata"]["resourceVersion"].as_str().expect("rv").to_owned();
    let status = format!("{JOBS}/x/status");
    server.set_behaviour(Behaviour {
        write_race: Some(WriteRace {
            path: status.clone(),
            times: 2,
            racer_path: status.clone(),
            patch: json!({"status": {"notes": ["racer"]}}),
        }),
        ..Behaviour::default()
    });
    let mine = json!({"metadata": {"resourceVersion": read}, "status": {"notes": ["mine"]}});
    let (code, answer) = call(&server, "PATCH", &status, MERGE, Some(&mine));
    assert_eq!((code, answer["reason"].as_str()), (409, Some("Conflict")));
    let (_, got) = call(&server, "GET", &format!("{JOBS}/x"), JSON, None);
    assert_eq!(got["status"]["notes"], json!(["racer"]), "the racer's change landed, the stale write did not");
    let managers: Vec<&str> = got["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["manager"].as_str())
        .collect();
    assert!(managers.contains(&"racer"), "{managers:?}");

    // Without a version the write goes over the racer's (the second race).
    let (code, answer) = call(&server, "PATCH", &status, MERGE, Some(&json!({"status": {"notes": ["mine"]}})));
    assert_eq!((code, &answer["status"]["notes"]), (200, &json!(["mine"])));
    assert_eq!(server.behaviour().write_race.map(|r| r.times), Some(0), "both races were run");
}

#[test]
fn finalizers_hold_a_deleted_object_until_they_are_removed() {
    let server = FakeApiServer::start().expect("starts");
    let mut body = job();
    body["metadata"]["finalizers"] = json!(["sparkplane.dev/cleanup"]);
    call(&server, "POST", JOBS, JSON, Some(&body));
    let (code, marked) = call(&server, "DELETE", &format!("{JOBS}/x"), JSON, None);
    assert_eq!(code, 200);
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    let (code, got) = call(&server, "GET", &format!("{JOBS}/x"), JSON, None);
    assert_eq!(code, 200);
    assert_eq!(got["metadata"]["deletionTimestamp"], marked["metadata"]["deletionTimestamp"]);
    assert_eq!(got["metadata"]["finalizers"], json!(["sparkplane.dev/cleanup"]));

    // A status write keeps the mark; removing the last finalizer deletes the object.
    let (_, after) =
        call(&server, "PATCH", &format!("{JOBS}/x/status"), MERGE, Some(&json!({"status": {"phase": "Done"}})));
    assert!(after["metadata"]["deletionTimestamp"].is_string());
    let (code, _) =
        call(&server, "PATCH", &format!("{JOBS}/x"), MERGE, Some(&json!({"metadata": {"finalizers": null}})));
    assert_eq!(code, 200);
    let (code, gone) = call(&server, "GET", &format!("{JOBS}/x"), JSON, None);
    assert_eq!(code, 404);
    assert_eq!(gone["message"], "sparkjobs.sparkplane.dev \"x\" not found");
}

#[test]
fn leases_events_and_crds_are_served_and_discovered() {
    let server = FakeApiServer::start().expect("starts");
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "op"},
                       "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
    let (code, created) =
        call(&server, "POST", "/apis/coordination.k8s.io/v1/namespaces/ns/leases", JSON, Some(&lease));
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["kind"], "Lease");
    let event = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
                       "reason": "Submitted", "action": "Submit", "type": "Normal"});
    let (code, _) = call(&server, "POST", "/apis/events.k8s.io/v1/namespaces/ns/events", JSON, Some(&event));
    assert_eq!(code, 201);
    let (code, _) =
        call(&server, "POST", "/api/v1/namespaces/ns/events", JSON, Some(&json!({"metadata": {"name": "e2"}})));
    assert_eq!(code, 201);
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                     "metadata": {"name": "sparkjobs.sparkplane.dev"}, "spec": {"group": "sparkplane.dev"}});
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let (code, created) = call(&server, "POST", crds, JSON, Some(&crd));
    assert_eq!(code, 201, "{created}");
    assert!(created["metadata"].get("namespace").is_none());
    let (_, list) = call(&server, "GET", crds, JSON, None);
    assert_eq!(list["kind"], "CustomResourceDefinitionList");
    assert_eq!(list["items"][0]["metadata"]["name"], "sparkjobs.sparkplane.dev");
    for (group, plural) in [
        ("coordination.k8s.io/v1", "leases"),
        ("events.k8s.io/v1", "events"),
        ("apiextensions.k8s.io/v1", "customresourcedefinitions"),
    ] {
        let (code, resources) = call(&server, "GET", &format!("/apis/{group}"), JSON, None);
        assert_eq!(code, 200, "{group}");
        let names: Vec<&str> =
            resources["resources"].as_array().expect("resources").iter().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&plural), "{group}: {names:?}");
    }
}
