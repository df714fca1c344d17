//! The fake API server answers like the real one: CRUD, 404/409 Status
//! objects, server-side apply, patches, selectors, dry runs, cascading
//! deletes, watches in order, logs and scripted faults.

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::{Behaviour, FakeApiServer, PodScript};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

/// Sends one request; answers (status, JSON body or Null).
fn call(server: &FakeApiServer, method: &str, path: &str, content_type: &str, body: Option<&str>) -> (u16, Value) {
    let url = format!("{}{path}", server.url());
    let agent = agent();
    let result = match (method, body) {
        ("GET", _) => agent.get(&url).call(),
        ("DELETE", _) => agent.delete(&url).call(),
        ("POST", Some(b)) => agent.post(&url).header("Content-Type", content_type).send(b),
        ("PUT", Some(b)) => agent.put(&url).header("Content-Type", content_type).send(b),
        ("PATCH", Some(b)) => agent.patch(&url).header("Content-Type", content_type).send(b),
        _ => panic!("unsupported {method}"),
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let code = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn post(server: &FakeApiServer, path: &str, body: &Value) -> (u16, Value) {
    call(server, "POST", path, "application/json", Some(&body.to_string()))
}

fn pod(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
           "spec": {"containers": [{"name": "c", "image": "i"}]}})
}

const PODS: &str = "/api/v1/namespaces/ns/pods";

#[test]
fn create_get_list_replace_and_delete() {
    let server = FakeApiServer::start().expect("starts");
    let (code, created) = post(&server, PODS, &pod("p1", json!({"spark-role": "driver"})));
    assert_eq!(code, 201);
    let meta = &created["metadata"];
    assert!(meta["uid"].as_str().is_some_and(|u| !u.is_empty()), "{created}");
    assert!(meta["creationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{created}");
    assert_eq!(meta["generation"], 1);
    assert_eq!(meta["namespace"], "ns");
    assert_eq!(created["status"]["phase"], "Pending");

    let (code, again) = post(&server, PODS, &pod("p1", json!({})));
    assert_eq!(code, 409);
    assert_eq!(
        (again["kind"].as_str(), again["reason"].as_str(), again["code"].as_u64()),
        (Some("Status"), Some("AlreadyExists"), Some(409))
    );

    let (code, got) = call(&server, "GET", &format!("{PODS}/p1"), "", None);
    assert_eq!((code, &got["metadata"]["uid"]), (200, &meta["uid"]));
    let (code, missing) = call(&server, "GET", &format!("{PODS}/nope"), "", None);
    assert_eq!((code, missing["reason"].as_str()), (404, Some("NotFound")));

    post(&server, PODS, &pod("p2", json!({"spark-role": "executor"})));
    post(&server, "/api/v1/namespaces/other/pods", &pod("p3", json!({"spark-role": "executor"})));
    let names = |path: &str| -> Vec<String> {
        let (code, list) = call(&server, "GET", path, "", None);
        assert_eq!(code, 200, "{path}: {list}");
        list["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    assert_eq!(names(PODS), ["p1", "p2"]);
    assert_eq!(names("/api/v1/pods"), ["p1", "p2", "p3"], "all namespaces");
    assert_eq!(names(&format!("{PODS}?labelSelector=spark-role%3Ddriver")), ["p1"]);
    assert_eq!(names(&format!("{PODS}?labelSelector=spark-role%20in%20(driver,executor)")), ["p1", "p2"]);
    assert_eq!(names(&format!("{PODS}?labelSelector=spark-role!%3Ddriver")), ["p2"]);
    assert_eq!(names(&format!("{PODS}?fieldSelector=metadata.name%3Dp2")), ["p2"]);

    let mut replaced = got.clone();
    replaced["metadata"]["labels"]["extra"] = json!("yes");
    let (code, after) = call(&server, "PUT", &format!("{PODS}/p1"), "application/json", Some(&replaced.to_string()));
    assert_eq!(code, 200, "{after}");
    assert_eq!(after["metadata"]["labels"]["extra"], "yes");
    assert_ne!(after["metadata"]["resourceVersion"], got["metadata"]["resourceVersion"]);
    // The old resourceVersion is stale now.
    let (code, conflict) = call(&server, "PUT", &format!("{PODS}/p1"), "application/json", Some(&replaced.to_string()));
    assert_eq!((code, conflict["reason"].as_str()), (409, Some("Conflict")));

    let (code, _) = call(&server, "DELETE", &format!("{PODS}/p1"), "", None);
    assert_eq!(code, 200);
    assert!(server.object("v1", "Pod", Some("ns"), "p1").is_none());
    assert_eq!(call(&server, "DELETE", &format!("{PODS}/p1"), "", None).0, 404);
}

#[test]
fn server_side_apply_creates_then_applies_again_and_records_its_manager() {
    let server = FakeApiServer::start().expect("starts");
    let path = "/api/v1/namespaces/ns/configmaps/cm?fieldManager=sparkplane&force=true";
    let first = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: \"1\"\n";
    let (code, created) = call(&server, "PATCH", path, "application/apply-patch+yaml", Some(first));
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["data"]["a"], "1");
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"b": "2"}});
    let (code, merged) = call(&server, "PATCH", path, "application/apply-patch+yaml", Some(&second.to_string()));
    assert_eq!(code, 200, "{merged}");
    // The same manager no longer applies `a`, and no one else owns it: it goes, as on a real API server.
    assert_eq!(merged["data"], json!({"b": "2"}));
    assert_eq!(merged["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(merged["metadata"]["managedFields"][0]["manager"], "sparkplane");
    let recorded = server.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].query.get("fieldManager").map(String::as_str), Some("sparkplane"));
    assert_eq!(recorded[0].query.get("force").map(String::as_str), Some("true"));
    assert_eq!(recorded[0].content_type.as_deref(), Some("application/apply-patch+yaml"));
    assert_eq!(recorded[0].body.as_ref().map(|b| b["data"]["a"].clone()), Some(json!("1")), "YAML bodies are parsed");
    // Apply without a field manager is refused, as by the real server.
    let (code, _) =
        call(&server, "PATCH", "/api/v1/namespaces/ns/configmaps/cm", "application/apply-patch+yaml", Some(first));
    assert_eq!(code, 422);
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[test]
fn recorded_requests_keep_the_user_agent_that_tells_clients_apart() {
    let server = FakeApiServer::start().expect("starts");
    let url = format!("{}/api/v1/namespaces/ns/pods", server.url());
    agent().get(&url).header("User-Agent", "sparkplane-bench").call().expect("lists");
    let recorded = server.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].user_agent.as_deref(), Some("sparkplane-bench"));
    assert_eq!(recorded[0].to_json()["userAgent"], "sparkplane-bench");
}

#[test]
fn merge_and_json_patches_change_the_stored_object() {
    let server = FakeApiServer::start().expect("starts");
    post(&server, PODS, &pod("p", json!({"a": "1"})));
    let path = format!("{PODS}/p");
    let (code, merged) = call(
        &server,
        "PATCH",
        &path,
        "application/merge-patch+json",
        Some(r#"{"metadata":{"labels":{"a":null,"b":"2"}}}"#),
    );
    assert_eq!(code, 200, "{merged}");
    assert_eq!(merged["metadata"]["labels"], json!({"b": "2"}));
    let (code, strategic) = call(
        &server,
        "PATCH",
        &path,
        "application/strategic-merge-patch+json",
        Some(r#"{"metadata":{"labels":{"c":"3"}}}"#),
    );
    assert_eq!((code, &strategic["metadata"]["labels"]["c"]), (200, &json!("3")));
    let ops = r#"[{"op":"add","path":"/metadata/annotations","value":{"x":"y"}}]"#;
    let (code, patched) = call(&server, "PATCH", &path, "application/json-patch+json", Some(ops));
    assert_eq!((code, &patched["metadata"]["annotations"]), (200, &json!({"x": "y"})));
    let stored = server.object("v1", "Pod", Some("ns"), "p").expect("stored");
    assert_eq!(stored["metadata"]["annotations"]["x"], "y");
    assert_eq!(call(&server, "PATCH", &format!("{PODS}/missing"), "application/merge-patch+json", Some("{}")).0, 404);
}

#[test]
fn dry_run_answers_without_storing() {
    let server = FakeApiServer::start().expect("starts");
    let (code, answer) = post(&server, &format!("{PODS}?dryRun=All"), &pod("p", json!({})));
    assert_eq!(code, 201);
    assert_eq!(answer["metadata"]["name"], "p");
    assert!(server.objects().is_empty());
    let apply = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
    let (code, _) = call(
        &server,
        "PATCH",
        "/api/v1/namespaces/ns/services/s?dryRun=All&fieldManager=m",
        "application/apply-patch+yaml",
        Some(&apply.to_string()),
    );
    assert_eq!(code, 201);
    assert!(server.objects().is_empty());
    post(&server, PODS, &pod("p", json!({})));
    assert_eq!(call(&server, "DELETE", &format!("{PODS}/p?dryRun=All"), "", None).0, 200);
    assert!(server.object("v1", "Pod", Some("ns"), "p").is_some());
}

#[test]
fn deleting_an_owner_deletes_what_it_owns_unless_orphaned() {
    let server = FakeApiServer::start().expect("starts");
    let (_, owner) = post(&server, PODS, &pod("driver", json!({})));
    let uid = owner["metadata"]["uid"].as_str().expect("uid").to_owned();
    let owned = |name: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name,
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "driver", "uid": uid, "controller": true}]}})
    };
    post(&server, "/api/v1/namespaces/ns/configmaps", &owned("conf"));
    post(&server, "/api/v1/namespaces/ns/configmaps", &json!({"metadata": {"name": "unrelated"}}));
    call(&server, "DELETE", &format!("{PODS}/driver?propagationPolicy=Background"), "", None);
    // The garbage collector runs asynchronously, as kube-controller-manager's does.
    let left = || -> Vec<String> {
        server.objects().iter().filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned)).collect()
    };
    let started = std::time::Instant::now();
    while left() != ["unrelated"] && started.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(left(), ["unrelated"]);

    let (_, owner) = post(&server, PODS, &pod("driver2", json!({})));
    let uid = owner["metadata"]["uid"].as_str().expect("uid").to_owned();
    let orphan = json!({"metadata": {"name": "kept", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "driver2", "uid": uid}]}});
    post(&server, "/api/v1/namespaces/ns/configmaps", &orphan);
    call(&server, "DELETE", &format!("{PODS}/driver2?propagationPolicy=Orphan"), "", None);
    let started = std::time::Instant::now();
    while server.object("v1", "Pod", Some("ns"), "driver2").is_some() && started.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(server.object("v1", "Pod", Some("ns"), "driver2").is_none(), "the orphan finalizer was removed");
    let kept = server.object("v1", "ConfigMap", Some("ns"), "kept").expect("orphaned, not deleted");
    assert!(kept["metadata"].get("ownerReferences").is_none(), "{kept}");
}

/// Reads watch events until `n` arrived or the stream ends.
fn read_events(reader: impl Read, n: usize) -> Vec<Value> {
    let mut events = Vec::new();
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        if let Ok(event) = serde_json::from_str::<Value>(&line) {
            events.push(event);
        }
        if events.len() == n {
            break;
        }
    }
    events
}

#[test]
fn a_watch_sees_every_change_in_order_from_its_resource_version() {
    let server = FakeApiServer::start().expect("starts");
    let (_, first) = post(&server, PODS, &pod("before", json!({"spark-role": "driver"})));
    let rv = first["metadata"]["resourceVersion"].as_str().expect("rv").to_owned();
    let url = format!("{}{PODS}?watch=true&resourceVersion={rv}&labelSelector=spark-role%3Ddriver", server.url());
    let reader = std::thread::spawn(move || {
        let response = agent().get(&url).call().expect("watch");
        read_events(response.into_body().into_reader(), 4)
    });
    std::thread::sleep(Duration::from_millis(300));
    post(&server, PODS, &pod("ignored", json!({"spark-role": "executor"})));
    post(&server, PODS, &pod("d", json!({"spark-role": "driver"})));
    server.set_pod_phase("ns", "d", "Running");
    server.set_pod_phase("ns", "d", "Succeeded");
    call(&server, "DELETE", &format!("{PODS}/d"), "", None);
    let events = reader.join().expect("reader");
    let seen: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            let s = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
            (s("/type"), s("/object/metadata/name"), s("/object/status/phase"))
        })
        .collect();
    let expected = [
        ("ADDED", "d", "Pending"),
        ("MODIFIED", "d", "Running"),
        ("MODIFIED", "d", "Succeeded"),
        ("DELETED", "d", "Succeeded"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(seen, expected);
    let rvs: Vec<u64> =
        events.iter().filter_map(|e| e["object"]["metadata"]["resourceVersion"].as_str()?.parse().ok()).collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");

    // Without a resource version, a watch starts with the current objects; a dropped watch ends early.
    server.set_behaviour(Behaviour { drop_watches_after: Some(1), ..Behaviour::default() });
    let url = format!("{}{PODS}?watch=1", server.url());
    let start = Instant::now();
    let response = agent().get(&url).call().expect("watch");
    let events = read_events(response.into_body().into_reader(), 10);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ADDED");
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn driver_pods_advance_and_logs_follow_to_the_end() {
    let server = FakeApiServer::start().expect("starts");
    server.set_behaviour(Behaviour {
        advance_driver_pods: Some(PodScript {
            step: Duration::from_millis(100),
            final_phase: "Failed".into(),
            log: "line 1\nline 2\n".into(),
        }),
        ..Behaviour::default()
    });
    post(&server, PODS, &pod("d", json!({"spark-role": "driver"})));
    let url = format!("{}{PODS}/d/log?follow=true", server.url());
    let mut response = agent().get(&url).call().expect("log");
    let log = response.body_mut().read_to_string().expect("log text");
    assert_eq!(log, "line 1\nline 2\n");
    let stored = server.object("v1", "Pod", Some("ns"), "d").expect("pod");
    assert_eq!(stored["status"]["phase"], "Failed");
    assert_eq!(stored["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 1);
    server.set_pod_log("ns", "d", "replaced\n");
    let (code, _) = call(&server, "GET", &format!("{PODS}/d/log"), "", None);
    assert_eq!(code, 200);
    assert_eq!(
        agent()
            .get(format!("{}{PODS}/d/log", server.url()))
            .call()
            .expect("log")
            .body_mut()
            .read_to_string()
            .expect("text"),
        "replaced\n"
    );
    assert_eq!(call(&server, "GET", &format!("{PODS}/none/log"), "", None).0, 404);
}

#[test]
fn injected_failures_discovery_and_kubeconfig() {
    let server = FakeApiServer::start().expect("starts");
    server.set_behaviour(Behaviour { fail_next: 1, fail_method: Some("POST".into()), ..Behaviour::default() });
    assert_eq!(call(&server, "GET", PODS, "", None).0, 200, "GETs do not count");
    let (code, failed) = post(&server, PODS, &pod("p", json!({})));
    assert_eq!((code, failed["reason"].as_str()), (500, Some("InternalError")));
    assert!(server.objects().is_empty());
    assert_eq!(post(&server, PODS, &pod("p", json!({}))).0, 201);
    for path in ["/version", "/api", "/apis", "/api/v1", "/apis/batch/v1", "/apis/networking.k8s.io/v1"] {
        assert_eq!(call(&server, "GET", path, "", None).0, 200, "{path}");
    }
    // Kubeflow's group is a CRD's: not there until its CRD is.
    assert_eq!(call(&server, "GET", "/apis/sparkoperator.k8s.io/v1beta2", "", None).0, 404);
    let (_, resources) = call(&server, "GET", "/apis/rbac.authorization.k8s.io/v1", "", None);
    assert!(resources["resources"].as_array().is_some_and(|r| r.iter().any(|r| r["name"] == "rolebindings")));
    let config = server.kubeconfig("team-a");
    assert!(config.contains(&format!("server: {}", server.url())), "{config}");
    assert!(config.contains("namespace: team-a"), "{config}");
    // A resource nothing serves (no built-in, no CRD) is the API server's 404, for every verb; its CRD serves it.
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let widgets = "/apis/example.com/v1/namespaces/ns/widgets";
    let not_found = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server could not find the requested resource", "reason": "NotFound", "details": {}, "code": 404});
    assert_eq!(post(&server, widgets, &widget), (404, not_found.clone()));
    assert_eq!(call(&server, "GET", widgets, "", None), (404, not_found.clone()));
    assert_eq!(call(&server, "GET", &format!("{widgets}?watch=true"), "", None), (404, not_found.clone()));
    assert_eq!(
        call(
            &server,
            "PATCH",
            &format!("{widgets}/w?fieldManager=m"),
            "application/apply-patch+yaml",
            Some(&widget.to_string())
        ),
        (404, not_found.clone())
    );
    assert_eq!(
        call(&server, "GET", "/apis/batch/v7/namespaces/ns/jobs", "", None),
        (404, not_found.clone()),
        "an unserved version"
    );
    assert!(server.objects().iter().all(|o| o["kind"] != "Widget"));
    server
        .insert(sparkplane_fakekube::schemaless_crd("example.com", "widgets", "widget", "Widget"))
        .expect("CRD stored");
    assert_eq!(post(&server, widgets, &widget).0, 201);
    assert!(server.object("example.com/v1", "Widget", Some("ns"), "w").is_some());
    let url = server.url();
    drop(server);
    assert!(agent().get(format!("{url}/version")).call().is_err(), "stopped when dropped");
}

/// Objects stored directly land where a client finds them: at the plural
/// discovery names for their kind (the built-in table, a stored CRD's
/// declared plural), irregular ones included.
#[test]
fn inserted_objects_are_served_at_the_plural_of_their_kind() {
    let server = FakeApiServer::start().expect("starts");
    server.insert(sparkplane_fakekube::schemaless_crd("example.com", "mice", "mouse", "Mouse")).expect("CRD stored");
    let objects = [
        ("networking.k8s.io/v1", "NetworkPolicy", "/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies/o"),
        ("networking.k8s.io/v1", "Ingress", "/apis/networking.k8s.io/v1/namespaces/ns/ingresses/o"),
        ("v1", "Endpoints", "/api/v1/namespaces/ns/endpoints/o"),
        ("example.com/v1", "Mouse", "/apis/example.com/v1/namespaces/ns/mice/o"),
    ];
    for (api_version, kind, path) in objects {
        let stored = server
            .insert(json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "o", "namespace": "ns"}}));
        assert!(stored.is_some(), "{kind} stored");
        let (code, read) = call(&server, "GET", path, "", None);
        assert_eq!((code, read["kind"].as_str()), (200, Some(kind)), "{path}");
        assert_eq!(server.object(api_version, kind, Some("ns"), "o").map(|o| o["kind"].clone()), Some(json!(kind)));
    }
}
