//! The simulated cluster's node faults: a node that leaves the cluster
//! (its pods failed and deleted, the Spark driver stand-in replacing the
//! executors it lost under new ids) and a single pod evicted by its kubelet.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer, Node, Timings};

fn cluster() -> Cluster {
    Cluster {
        nodes: vec![Node::new("node-a", 4, 16), Node::new("node-b", 4, 16), Node::new("node-c", 4, 16)],
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(10) },
        executors: true,
        default_run: DriverRun::forever(),
        ..Cluster::default()
    }
}

/// A driver pod mounting its Spark properties, as spark-submit leaves them.
fn start_driver(fake: &FakeApiServer) {
    fake.insert(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "etl-conf", "namespace": "data"},
        "data": {"spark.properties": "spark.executor.instances=2\nspark.executor.memory=2g\nspark.kubernetes.executor.podNamePrefix=etl\n"},
    }))
    .expect("config map");
    fake.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "etl-driver", "namespace": "data", "labels": {"spark-role": "driver", "spark-app-name": "etl"}},
        "spec": {
            "containers": [{"name": "spark-kubernetes-driver", "image": "spark:3.5.3",
                            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}}],
            "volumes": [{"name": "conf", "configMap": {"name": "etl-conf"}}],
        },
    }))
    .expect("driver");
}

fn pod(fake: &FakeApiServer, name: &str) -> Option<Value> {
    fake.object("v1", "Pod", Some("data"), name)
}

fn running_executors(fake: &FakeApiServer) -> Vec<Value> {
    fake.objects()
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "executor")
        .filter(|o| o["status"]["phase"] == "Running")
        .collect()
}

fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what} did not happen in 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_lost_node_takes_its_pods_and_the_driver_replaces_its_executors() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(cluster());
    start_driver(&fake);
    wait("two running executors", || running_executors(&fake).len() == 2);
    let driver_node = pod(&fake, "etl-driver").expect("driver")["spec"]["nodeName"].as_str().map(str::to_owned);
    assert_eq!(driver_node.as_deref(), Some("node-a"), "the first node by name, all being equally free");
    // Most free memory first: the executors went to the two empty nodes.
    let exec_2_node = pod(&fake, "etl-exec-2").expect("exec-2")["spec"]["nodeName"].clone();
    assert_eq!(exec_2_node, "node-c");

    assert_eq!(fake.remove_node("node-c"), vec!["etl-exec-2".to_owned()]);
    assert!(
        fake.object("v1", "Node", None, "node-c").is_none() || {
            wait("the Node object removed", || fake.object("v1", "Node", None, "node-c").is_none());
            true
        }
    );
    assert!(pod(&fake, "etl-exec-2").is_none(), "the lost node's pod is deleted");
    wait("a replacement executor running", || {
        pod(&fake, "etl-exec-3").is_some_and(|p| p["status"]["phase"] == "Running")
    });
    let replacement = pod(&fake, "etl-exec-3").expect("exec-3");
    assert_eq!(replacement["metadata"]["labels"]["spark-exec-id"], "3");
    assert_ne!(replacement["spec"]["nodeName"], "node-c");
    assert_eq!(running_executors(&fake).len(), 2, "back to the two executors asked for, no more");
    assert_eq!(pod(&fake, "etl-driver").expect("driver")["status"]["phase"], "Running", "the driver is untouched");
}

#[test]
fn an_evicted_pod_fails_with_the_kubelets_reason_and_its_node_stays_open() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(cluster());
    start_driver(&fake);
    wait("the driver running", || pod(&fake, "etl-driver").is_some_and(|p| p["status"]["phase"] == "Running"));
    assert!(fake.evict_pod("data", "etl-driver"));
    let driver = pod(&fake, "etl-driver").expect("driver");
    assert_eq!(driver["status"]["phase"], "Failed");
    assert_eq!(driver["status"]["reason"], "Evicted");
    assert_eq!(driver["status"]["conditions"][0]["reason"], "TerminationByKubelet");
    assert!(!fake.evict_pod("data", "etl-driver"), "a finished pod is not evicted again");
    assert!(!fake.evict_pod("data", "nope"));
    let node = fake.object("v1", "Node", None, "node-a").expect("node");
    assert_eq!(node["spec"]["taints"], json!([]), "one eviction does not taint the node");
}
