//! The door to a running application's Spark UI (issue #65, ADR 0095): the
//! chart's History Server pod carries the door's label (Spark's own History
//! Server, which forwards nothing, does not) and stays Pod Security
//! "restricted"; and a SparkJob the operator runs from the chart's
//! Deployment on the simulated cluster gets NetworkPolicies of which exactly
//! one rule admits that pod — from the release's namespace — and it names
//! the driver's UI port, on the driver and on no executor.
//!
//! What differs from a cluster: no CNI enforces the policies here, so the
//! test reads them the way the NetworkPolicy API defines them (policies add
//! up; a peer's namespace and pod selectors hold together) against the pods
//! the simulated cluster made: the driver the operator created and the
//! executors its driver stand-in made as Spark does.

use std::collections::BTreeMap;

use sparkplane_fakekube::{Cluster, DriverRun};

use super::*;

/// The sign-in values of a default (OpenID Connect) install; the provider is not contacted on install.
fn oidc_values() -> Value {
    json!({
        "eventLogs": {"location": "s3a://spark-events"},
        "operator": {"replicas": 1},
        "history": {"signIn": {"oidc": {
            "issuer": "https://login.example.com/realms/data", "clientId": "sparkplane-history",
            "clientSecret": {"existingSecret": "history-oidc"}, "publicUrl": "https://spark.example.com",
        }}},
    })
}

/// The labels a selector of a rendered policy is over: `matchLabels` and `Exists`, the only parts they use.
fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let object = selector.as_object().unwrap_or_else(|| panic!("not a selector: {selector}"));
    assert!(object.keys().all(|k| k == "matchLabels" || k == "matchExpressions"), "{selector}");
    let by_labels = object.get("matchLabels").and_then(Value::as_object).is_none_or(|wanted| {
        wanted.iter().all(|(k, v)| labels.get(k).map(String::as_str) == Some(v.as_str().unwrap_or_default()))
    });
    let by_expressions = object.get("matchExpressions").and_then(Value::as_array).is_none_or(|expressions| {
        expressions.iter().all(|e| {
            assert_eq!(e["operator"], "Exists", "the test reads only Exists: {e}");
            labels.contains_key(e["key"].as_str().unwrap_or_default())
        })
    });
    by_labels && by_expressions
}

/// A pod as a NetworkPolicy sees it.
struct PodView {
    namespace: String,
    labels: BTreeMap<String, String>,
}

impl PodView {
    fn of(pod: &Value) -> PodView {
        PodView {
            namespace: pod["metadata"]["namespace"].as_str().unwrap_or_default().to_owned(),
            labels: serde_json::from_value(pod["metadata"]["labels"].clone()).unwrap_or_default(),
        }
    }
}

/// Whether `peer` of a rule in a policy of `policy_namespace` names `pod`: both selectors of one peer must hold.
fn peer_admits(peer: &Value, policy_namespace: &str, pod: &PodView) -> bool {
    assert!(peer.get("ipBlock").is_none(), "{peer}");
    let namespace = BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), pod.namespace.clone())]);
    let namespace_ok = match peer.get("namespaceSelector") {
        Some(selector) => selects(selector, &namespace),
        None => pod.namespace == policy_namespace,
    };
    namespace_ok && peer.get("podSelector").is_none_or(|s| selects(s, &pod.labels))
}

/// Every (policy, rule) of `policies` whose peers admit `pod`.
fn rules_admitting<'p>(policies: &'p [Value], pod: &PodView) -> Vec<(&'p Value, &'p Value)> {
    let mut found = Vec::new();
    for policy in policies {
        let namespace = policy["metadata"]["namespace"].as_str().unwrap_or_default();
        for rule in policy["spec"]["ingress"].as_array().into_iter().flatten() {
            let peers = rule["from"].as_array().expect("every rendered rule names its peers");
            if peers.iter().any(|peer| peer_admits(peer, namespace, pod)) {
                found.push((policy, rule));
            }
        }
    }
    found
}

#[test]
fn the_history_servers_pod_is_the_door_and_a_sparkjob_admits_it_to_its_drivers_ui_port_only() {
    let platform = Platform::start();
    // Drivers run until deleted and make their executors, so the run's pods are there to be looked at.
    platform.fake.set_cluster(Cluster {
        executors: true,
        default_run: DriverRun { runs_for: None, ..DriverRun::succeeds(Duration::ZERO, "") },
        ..Cluster::default()
    });
    let objects = platform.install(&oidc_values());

    // The door's label is on the pod, not in the Deployment's selector (which an upgrade cannot change).
    let history = find(&objects, "Deployment", "sparkplane-history").clone();
    let template = &history["spec"]["template"];
    assert_eq!(template["metadata"]["labels"]["sparkplane.dev/door"], "true", "{:#}", template["metadata"]);
    assert!(history["spec"]["selector"]["matchLabels"].get("sparkplane.dev/door").is_none(), "{history:#}");
    // Still Pod Security "restricted".
    super::assert_restricted_history(&history);
    // No other pod of the release carries the label.
    for object in objects.iter().filter(|o| o["kind"] == "Deployment" && o["metadata"]["name"] != "sparkplane-history")
    {
        let labels = &object["spec"]["template"]["metadata"]["labels"];
        assert!(labels.get("sparkplane.dev/door").is_none(), "{}", object["metadata"]["name"]);
    }

    // A SparkJob, run by the operator from its Deployment.
    let operator = find(&objects, "Deployment", "sparkplane-operator").clone();
    let _operator = run_operator(&platform, &operator, "sparkplane-operator-0");
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let good = platform.write("good.yaml", GOOD);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let in_data_eng = |kind: &str| -> Vec<Value> {
        platform
            .fake
            .objects()
            .into_iter()
            .filter(|o| o["kind"] == kind && o["metadata"]["namespace"] == "data-eng")
            .collect()
    };
    let role = |pod: &Value| pod["metadata"]["labels"]["spark-role"].as_str().unwrap_or_default().to_owned();
    wait_for("the driver, its executors and the run's NetworkPolicies", || {
        let pods = in_data_eng("Pod");
        let policies = in_data_eng("NetworkPolicy");
        let ready = pods.iter().any(|p| role(p) == "driver")
            && pods.iter().any(|p| role(p) == "executor")
            && policies.iter().any(|p| p["metadata"]["name"].as_str().is_some_and(|n| n.ends_with("-ui-door")));
        ready.then_some(Value::Null)
    });
    let pods = in_data_eng("Pod");
    let policies = in_data_eng("NetworkPolicy");
    let driver = pods.iter().find(|p| role(p) == "driver").expect("the driver");
    let executors: Vec<&Value> = pods.iter().filter(|p| role(p) == "executor").collect();

    // The door, as the chart runs it: its pod's labels, in the release's namespace.
    let door = PodView {
        namespace: NAMESPACE.to_owned(),
        labels: serde_json::from_value(template["metadata"]["labels"].clone()).expect("labels"),
    };
    let admitting = rules_admitting(&policies, &door);
    assert_eq!(admitting.len(), 1, "one rule admits the door: {admitting:#?}");
    let (policy, rule) = admitting[0];
    assert_eq!(rule["ports"], json!([{"port": 4040, "protocol": "TCP"}]), "{policy:#}");
    // It is the driver's UI port.
    let ui = driver["spec"]["containers"][0]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "spark-ui")
        .expect("the driver's UI port");
    assert_eq!(ui["containerPort"], 4040);
    // On the driver, and on no executor.
    let selector = &policy["spec"]["podSelector"];
    assert!(selects(selector, &PodView::of(driver).labels), "{selector} misses the driver");
    assert!(!executors.is_empty());
    for executor in &executors {
        assert!(
            !selects(selector, &PodView::of(executor).labels),
            "{selector} selects {}",
            executor["metadata"]["name"]
        );
    }

    // One peer holds both: a pod of the release's namespace without the label is not let in, nor a pod with the
    // label in another namespace.
    let exporter = find(&objects, "Deployment", "sparkplane-exporter");
    let unlabelled = PodView {
        namespace: NAMESPACE.to_owned(),
        labels: serde_json::from_value(exporter["spec"]["template"]["metadata"]["labels"].clone()).expect("labels"),
    };
    assert!(rules_admitting(&policies, &unlabelled).is_empty(), "the exporter's pod is not the door");
    for namespace in ["data-eng", "elsewhere"] {
        let elsewhere = PodView { namespace: namespace.to_owned(), labels: door.labels.clone() };
        assert!(rules_admitting(&policies, &elsewhere).is_empty(), "the door's label in {namespace}");
    }
}

#[test]
fn sparks_own_history_server_forwards_no_ui_and_is_not_the_door() {
    let platform = Platform::start();
    let objects = platform.install(&json!({
        "eventLogs": {"location": "s3a://spark-events"},
        "history": {"implementation": "spark", "signIn": {"mode": "none"}},
    }));
    let history = find(&objects, "Deployment", "sparkplane-history");
    let labels = &history["spec"]["template"]["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/component"], "history", "{labels}");
    assert!(labels.get("sparkplane.dev/door").is_none(), "{labels}");
}
