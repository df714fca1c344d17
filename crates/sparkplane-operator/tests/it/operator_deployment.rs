//! Spark 4.2's Deployment allocator (`spark.kubernetes.allocation.pods.allocator:
//! deployment`, SPARK-54173; ADR 0105) under the operator on the simulated
//! cluster: the driver stand-in makes a Deployment of executors instead of
//! the pods, the fake's Deployment and ReplicaSet controllers make the pods,
//! and the operator counts those ReplicaSet-owned executors in the status.
//! The driver's Role grants the Deployment calls only for such a job, and a
//! driver without them is refused as the API server refuses it.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_api::job::JobState;
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer, Node, Timings};
use support::*;

/// Two 8-core nodes; pods start 50 ms after they are scheduled; drivers run 1.5 s.
fn cluster() -> Cluster {
    Cluster {
        nodes: vec![Node::new("node-a", 8, 32), Node::new("node-b", 8, 32)],
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(50) },
        executors: true,
        default_run: DriverRun::succeeds(Duration::from_millis(1500), "done\n"),
        ..Cluster::default()
    }
}

/// A Spark 4.2 job with the Deployment allocator and three executors.
fn deployment_job(name: &str, extra: Value) -> sparkplane_api::SparkJob {
    let mut spec = json!({
        "sparkVersion": "4.2.1",
        "image": {"repository": "registry.example.com/spark/py", "tag": "4.2.1"},
        "executor": {"instances": 3, "memory": "1g", "cores": 1},
        "sparkConf": {"spark.kubernetes.allocation.pods.allocator": "deployment"},
    });
    if let (Some(base), Some(more)) = (spec.as_object_mut(), extra.as_object()) {
        base.extend(more.clone());
    }
    job(name, spec)
}

fn of_kind(fake: &FakeApiServer, kind: &str) -> Vec<Value> {
    fake.objects().into_iter().filter(|o| o["kind"] == kind).collect()
}

fn executors(fake: &FakeApiServer, job: &str) -> Vec<Value> {
    fake.objects()
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["sparkplane.dev/job"] == job)
        .filter(|o| o["metadata"]["labels"]["spark-role"] == "executor")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_allocator_executors_are_counted_and_the_job_succeeds() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(cluster());
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &deployment_job("dep", json!({}))).await;
    let running =
        wait_for(&fake, "dep", Duration::from_secs(20), |s| s["state"] == "Running" && s["executors"]["running"] == 3)
            .await;
    let driver_name = running["status"]["driverPod"].as_str().expect("driver named").to_owned();
    let driver = fake.object("v1", "Pod", Some("data"), &driver_name).expect("driver pod");
    let app_id = driver["metadata"]["labels"]["spark-app-selector"].as_str().expect("app id").to_owned();

    // The driver made one Deployment as Spark 4.2 makes it, owned by the driver pod.
    let deployments = of_kind(&fake, "Deployment");
    assert_eq!(deployments.len(), 1, "{deployments:#?}");
    let deployment = &deployments[0];
    assert_eq!(deployment["metadata"]["name"], format!("spark-d-{app_id}-0"));
    assert_eq!(deployment["spec"]["replicas"], 3);
    let owner = &deployment["metadata"]["ownerReferences"][0];
    assert_eq!((owner["kind"].as_str(), owner["uid"].clone()), (Some("Pod"), driver["metadata"]["uid"].clone()));
    assert_eq!(owner["controller"], true);
    // Its ReplicaSet, and the executors owned by that ReplicaSet, not by the driver.
    let sets = of_kind(&fake, "ReplicaSet");
    assert_eq!(sets.len(), 1);
    let set = &sets[0];
    assert_eq!(set["metadata"]["ownerReferences"][0]["uid"], deployment["metadata"]["uid"]);
    let hash = set["metadata"]["labels"]["pod-template-hash"].as_str().expect("hash").to_owned();
    let pods = executors(&fake, "dep");
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        let owner = &pod["metadata"]["ownerReferences"][0];
        assert_eq!((owner["kind"].as_str(), owner["controller"].as_bool()), (Some("ReplicaSet"), Some(true)));
        assert_eq!(owner["uid"], set["metadata"]["uid"]);
        assert_eq!(pod["metadata"]["labels"]["pod-template-hash"], hash.as_str());
        assert_eq!(pod["metadata"]["labels"]["spark-app-selector"], app_id.as_str());
    }
    // The operator created the driver only: no executor pod, no Deployment went through the API from it.
    let posts: Vec<String> = fake.requests().iter().filter(|r| r.method == "POST").map(|r| r.path.clone()).collect();
    assert_eq!(posts.iter().filter(|p| p.ends_with("/pods")).count(), 1, "{posts:?}");
    assert!(!posts.iter().any(|p| p.contains("/deployments")), "{posts:?}");

    // The driver's Role grants Spark's Deployment calls, and nothing more in the apps group.
    let role = fake
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Role" && o["metadata"]["name"] == driver["spec"]["serviceAccountName"])
        .expect("the driver's Role");
    let apps: Vec<&Value> =
        role["rules"].as_array().into_iter().flatten().filter(|r| r["apiGroups"] != json!([""])).collect();
    assert_eq!(
        apps,
        [
            &json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "delete", "get"]}),
            &json!({"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update"]}),
        ]
    );

    let done = wait_for(&fake, "dep", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(
        transitions(&done),
        [
            "Queued/Created",
            "Submitted/Submitted",
            "DriverRunning/DriverRunning",
            "Running/Running",
            "Succeeded/Succeeded"
        ]
    );
    // Spark's stop deleted the Deployment; the garbage collector took its ReplicaSet and executors.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(of_kind(&fake, "Deployment").is_empty()
        && of_kind(&fake, "ReplicaSet").is_empty()
        && executors(&fake, "dep").is_empty())
    {
        assert!(Instant::now() < deadline, "left behind: {:#?}", executors(&fake, "dep"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    operator.stop().await;
}

/// The attack: a driver whose Role does not grant Deployments (a job
/// bringing its own service account with the default allocator's rules)
/// cannot make executors by them; Spark's driver fails on the refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_allocator_without_the_grant_is_refused_and_the_driver_fails() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(cluster());
    let rules: Vec<Value> = sparkplane_core::render::common::DRIVER_RULES
        .iter()
        .map(|(resources, verbs)| json!({"apiGroups": [""], "resources": resources, "verbs": verbs}))
        .collect();
    fake.insert(
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "own", "namespace": "data"}}),
    )
    .expect("account");
    fake.insert(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "own", "namespace": "data"}, "rules": rules}))
        .expect("role");
    fake.insert(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "own", "namespace": "data"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "own"},
        "subjects": [{"kind": "ServiceAccount", "name": "own", "namespace": "data"}]}))
        .expect("binding");
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &deployment_job("refused", json!({"serviceAccount": "own"}))).await;
    let failed = wait_for(&fake, "refused", Duration::from_secs(20), state_is(JobState::Failed)).await;
    let status = &failed["status"];
    assert_eq!(status["reason"], "DriverFailed", "{status:#}");
    assert_eq!(status["driverExit"]["exitCode"], 1);
    let refusal = "Exception in thread \"main\" io.fabric8.kubernetes.client.KubernetesClientException: Failure executing: POST at: https://kubernetes.default.svc/apis/apps/v1/namespaces/data/deployments. Message: deployments.apps is forbidden: User \"system:serviceaccount:data:own\" cannot create resource \"deployments\" in API group \"apps\" in the namespace \"data\".";
    // The status keeps the log's last line, shortened; the driver's log has it whole.
    let tail: Vec<&str> =
        status["driverExit"]["logTail"].as_array().expect("tail").iter().filter_map(Value::as_str).collect();
    let last = tail.last().copied().unwrap_or_default();
    assert!(refusal.starts_with(last.trim_end_matches('…')), "{tail:?}");
    let driver = status["driverPod"].as_str().expect("driver named");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client(&fake), "data");
    let log = pods.logs(driver, &kube::api::LogParams::default()).await.expect("the driver's log");
    assert_eq!(log.lines().last(), Some(refusal), "{log}");
    assert!(of_kind(&fake, "Deployment").is_empty(), "nothing was made");
    assert!(executors(&fake, "refused").is_empty());
    operator.stop().await;
}
