//! The operator serving Kubeflow's `SparkConnect` (`v1alpha1`, a Spark
//! Connect server) with `--kubeflow`, on the fake API server with Kubeflow's
//! own CRD for it installed (charts/sparkplane/files/kubeflow): the server's
//! objects applied and owned by the SparkConnect, its status in Kubeflow's
//! shape (checked against that CRD's schema), and an operator that restarts
//! reading the server's state back from that status — the same spec is not
//! applied again, a spec changed while it was down is. Only the SparkConnect
//! CRD is installed: the operator says it cannot serve the other two kinds
//! and still stops when asked (a controller over a kind the API server does
//! not have never did).

use crate::support;

use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer};
use sparkplane_operator::kubeflow::KubeflowSettings;
use support::*;

const CRD: &str = "sparkoperator.k8s.io_sparkconnects.yaml";

fn crd() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts/sparkplane/files/kubeflow").join(CRD);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new(CRD, text))
        .expect("Kubeflow's CRD parses");
    docs.iter().map(|d| d.to_json()).find(|d| d["kind"] == "CustomResourceDefinition").expect("a CRD")
}

fn assert_valid_status(status: &Value) {
    let crd = crd();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
    let validator = jsonschema::validator_for(schema).expect("Kubeflow's status schema compiles");
    let errors: Vec<String> = validator.iter_errors(status).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the status fails Kubeflow's schema: {errors:?}\n{status:#}");
}

fn servers(fake: &FakeApiServer) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("sparkoperator.k8s.io", "v1alpha1", "SparkConnect"),
        "sparkconnects",
    );
    Api::namespaced_with(client(fake), "data", &resource)
}

fn server(name: &str, instances: i64) -> Value {
    json!({
        "apiVersion": "sparkoperator.k8s.io/v1alpha1", "kind": "SparkConnect",
        "metadata": {"name": name, "namespace": "data", "labels": {
            "sparkplane.dev/operator": "sparkplane", "sparkplane.dev/team": "data-eng", "sparkplane.dev/cost-center": "cc-42"}},
        "spec": {"sparkVersion": "4.0.1", "image": "registry.example.com/spark:4.0.1",
                 "server": {"cores": 1, "memory": "1g"},
                 "executor": {"instances": instances, "cores": 1, "memory": "1g"}},
    })
}

fn kubeflow_on(settings: &mut sparkplane_operator::OperatorSettings) {
    settings.kubeflow = Some(KubeflowSettings::default());
    settings.resync = Duration::from_secs(1);
}

async fn wait_server(fake: &FakeApiServer, name: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let object =
            fake.object("sparkoperator.k8s.io/v1alpha1", "SparkConnect", Some("data"), name).unwrap_or(Value::Null);
        if done(&object) {
            return object;
        }
        assert!(started.elapsed() < limit, "{name} did not get there in {limit:?}; status now: {:#}", object["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn condition(object: &Value, kind: &str) -> Value {
    object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == kind)
        .cloned()
        .unwrap_or_default()
}

/// The reasons of the Events about the SparkConnect `name`, in order.
fn event_reasons(fake: &FakeApiServer, name: &str) -> Vec<String> {
    let mut events: Vec<Value> = fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Event" && o["regarding"]["kind"] == "SparkConnect" && o["regarding"]["name"] == name)
        .collect();
    events.sort_by_key(|e| e["metadata"]["creationTimestamp"].as_str().unwrap_or_default().to_owned());
    events.iter().filter_map(|e| e["reason"].as_str().map(str::to_owned)).collect()
}

/// The executor count the server's objects hand Spark.
fn rendered_instances(fake: &FakeApiServer, name: &str) -> Vec<String> {
    let text: String = fake
        .objects()
        .iter()
        .filter(|o| {
            o["metadata"]["namespace"] == "data" && o["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(name))
        })
        .map(Value::to_string)
        .collect();
    let mut found: Vec<String> = text
        .match_indices("spark.executor.instances")
        .map(|(at, _)| text[at..].chars().take(30).collect::<String>())
        .collect();
    found.sort();
    found.dedup();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spark_connect_is_served_and_a_restarted_operator_reads_its_state_back() {
    let fake = FakeApiServer::start().expect("fake");
    fake.insert(crd()).expect("Kubeflow's CRD is stored");
    // Server JVMs that run until stopped, and drivers that start their executors.
    fake.set_cluster(Cluster { default_run: DriverRun::forever(), executors: true, ..Cluster::default() });
    let operator = Operator::start(&fake, kubeflow_on);
    let created: DynamicObject = serde_json::from_value(server("notebooks", 2)).expect("an object");
    servers(&fake).create(&PostParams::default(), &created).await.expect("created");

    let ready = wait_server(&fake, "notebooks", Duration::from_secs(30), |c| {
        c["status"]["state"] == "Ready" && c["status"]["executors"]["running"] == 2
    })
    .await;
    assert_valid_status(&ready["status"]);
    assert_eq!(ready["status"]["server"]["podName"], "notebooks-connect-0");
    assert_eq!(condition(&ready, "sparkplane.dev/Server")["reason"], "Serving");
    // The server's two executors (the simulated driver starts them from its
    // command line, as a client-mode Spark driver does), by phase as Kubeflow counts them.
    assert_eq!(ready["status"]["executors"], json!({"running": 2}));
    let set = fake.object("apps/v1", "StatefulSet", Some("data"), "notebooks-connect").expect("the StatefulSet");
    let owner = &set["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["apiVersion"].as_str(), owner["kind"].as_str(), owner["name"].as_str()),
        (Some("sparkoperator.k8s.io/v1alpha1"), Some("SparkConnect"), Some("notebooks"))
    );
    assert!(
        fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data"), "notebooks").is_none(),
        "no SparkJob object"
    );
    let before = rendered_instances(&fake, "notebooks");
    assert!(!before.is_empty() && before.iter().all(|i| i.contains('2')), "{before:?}");
    let reasons = event_reasons(&fake, "notebooks");
    assert_eq!(reasons.iter().filter(|r| *r == "Created").count(), 1, "{reasons:?}");
    operator.stop().await;

    // A new operator (no memory of its writes) reads the server's state back:
    // the same spec is not applied again, nothing new happens.
    let operator = Operator::start(&fake, kubeflow_on);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = fake.object("sparkoperator.k8s.io/v1alpha1", "SparkConnect", Some("data"), "notebooks").expect("there");
    assert_eq!(after["status"]["state"], "Ready");
    assert_eq!(
        condition(&after, "sparkplane.dev/Server")["lastTransitionTime"],
        condition(&ready, "sparkplane.dev/Server")["lastTransitionTime"],
        "no new transition"
    );
    assert_eq!(event_reasons(&fake, "notebooks"), reasons, "no new Event");
    operator.stop().await;

    // The spec changes while no operator runs: the next one applies it.
    let patch = json!({"spec": {"executor": {"instances": 3}}});
    servers(&fake).patch("notebooks", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patched");
    let operator = Operator::start(&fake, kubeflow_on);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rendered_instances(&fake, "notebooks").iter().all(|i| i.contains('3')) {
        assert!(
            Instant::now() < deadline,
            "the new spec was not applied: {:?}",
            rendered_instances(&fake, "notebooks")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let served = wait_server(&fake, "notebooks", Duration::from_secs(30), |c| {
        c["status"]["state"] == "Ready"
            && condition(c, "sparkplane.dev/Server")["observedGeneration"] == c["metadata"]["generation"]
    })
    .await;
    assert_valid_status(&served["status"]);
    operator.stop().await;
}
