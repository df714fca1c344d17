//! The operator on the simulated cluster: nodes, a scheduler, kubelets and
//! Spark's driver stand-in (sparkplane-fakekube) produce the failures a real
//! cluster does — an image that cannot be pulled, a pod no node can take,
//! executors that never start, a run that does not end, a container over its
//! memory limit, a node under pressure — and each test checks the exact
//! status the operator ends with.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use sparkplane_api::job::JobState;
use sparkplane_fakekube::{Cluster, DriverRule, DriverRun, FakeApiServer, Node, Timings};
use sparkplane_lifecycle::parse_time;
use support::*;

/// Two 8-core, 32 GiB nodes; pods scheduled at once and started 100 ms later.
fn cluster() -> Cluster {
    Cluster {
        nodes: vec![Node::new("node-a", 8, 32), Node::new("node-b", 8, 32)],
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(100) },
        executors: true,
        default_run: DriverRun::succeeds(Duration::from_millis(300), "done\n"),
        ..Cluster::default()
    }
}

fn driver_pods(fake: &FakeApiServer, job: &str) -> Vec<Value> {
    fake.objects()
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["sparkplane.dev/job"] == job)
        .filter(|o| o["metadata"]["labels"]["spark-role"] == "driver")
        .collect()
}

fn message(job: &Value) -> String {
    job["status"]["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_start_and_the_job_passes_through_running_to_success() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(cluster());
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("wide", json!({}))).await;
    let done = wait_for(&fake, "wide", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
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
    // The driver stand-in made the two executors the spec asks for; they went with the driver.
    let executors_made = fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/pods")).count();
    assert_eq!(executors_made, 1, "the operator created only the driver; executors come from the driver");
    let nodes: Vec<Value> = fake.objects().into_iter().filter(|o| o["kind"] == "Node").collect();
    assert_eq!(nodes.len(), 2);
    // Run without leader election, this replica is the one acting: the
    // no-leader alert must not fire for it.
    assert!(operator.metrics.render().contains("sparkplane_operator_leader 1"), "{}", operator.metrics.render());
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_fails_the_run_at_the_driver_start_timeout() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster { unpullable_images: vec!["registry.example.com/spark/py".into()], ..cluster() });
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("nopull", json!({"timeouts": {"driverStart": "2s"}}))).await;
    let failed = wait_for(&fake, "nopull", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "ImagePullBackOff", "{:#}", failed["status"]);
    assert_eq!(
        message(&failed),
        "the driver image cannot be pulled (ImagePullBackOff: Back-off pulling image \"registry.example.com/spark/py:3.5.3\") within timeouts.driverStart (2s)"
    );
    assert_eq!(transitions(&failed).last().map(String::as_str), Some("Failed/ImagePullBackOff"));
    // Not stuck and not left behind: the pending driver was deleted.
    assert!(driver_pods(&fake, "nopull").is_empty());
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_no_node_can_take_fails_as_unschedulable_with_the_schedulers_message() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster { nodes: vec![Node::new("small", 2, 4)], ..cluster() });
    let operator = Operator::start(&fake, |_| {});
    let big = json!({"driver": {"memory": "16g", "cores": 1}, "timeouts": {"driverStart": "2s"}});
    create(&fake, &job("huge", big)).await;
    let failed = wait_for(&fake, "huge", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "Unschedulable", "{:#}", failed["status"]);
    assert_eq!(
        message(&failed),
        "no node can take the driver pod: 0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod. within timeouts.driverStart (2s)"
    );
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_that_never_start_fail_the_run_at_the_executor_start_timeout() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster { default_run: DriverRun::forever(), ..cluster() });
    let operator = Operator::start(&fake, |_| {});
    // Executors must go to a pool no node belongs to.
    let stranded = json!({
        "executor": {"instances": 2, "memory": "2g", "cores": 1, "nodeSelector": {"pool": "gpu"}},
        "timeouts": {"executorStart": "2s"},
    });
    create(&fake, &job("stranded", stranded)).await;
    let failed = wait_for(&fake, "stranded", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "ExecutorStartTimeout");
    assert_eq!(message(&failed), "2 executor pod(s) waited longer than timeouts.executorStart (2s) to start");
    assert_eq!(failed["status"]["executors"]["pending"], 2);
    assert!(driver_pods(&fake, "stranded").is_empty(), "the driver was stopped");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_max_duration_is_stopped() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster { default_run: DriverRun::forever(), ..cluster() });
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("endless", json!({"timeouts": {"maxDuration": "2s"}}))).await;
    let failed = wait_for(&fake, "endless", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "MaxDurationExceeded");
    assert_eq!(message(&failed), "the application ran longer than timeouts.maxDuration (2s) and was stopped");
    let seen = transitions(&failed);
    assert!(seen.contains(&"Running/Running".to_owned()), "{seen:?}");
    assert!(driver_pods(&fake, "endless").is_empty(), "the driver was stopped");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_killed_driver_is_retried_after_the_backoff_and_then_succeeds() {
    let fake = FakeApiServer::start().expect("fake");
    let greedy = DriverRun { peak_memory_bytes: Some(64 << 30), ..DriverRun::succeeds(Duration::from_millis(200), "") };
    fake.set_cluster(Cluster {
        drivers: vec![DriverRule { job: "greedy".into(), attempt: Some(1), run: greedy }],
        ..cluster()
    });
    let operator = Operator::start(&fake, |_| {});
    let retried =
        json!({"restartPolicy": {"type": "OnFailure", "retries": 2, "backoff": {"initial": "2s", "max": "10s"}}});
    create(&fake, &job("greedy", retried)).await;
    let done = wait_for(&fake, "greedy", Duration::from_secs(30), state_is(JobState::Succeeded)).await;
    assert_eq!(done["status"]["attempt"], 2);
    assert_eq!(done["status"]["retries"], 1);
    let retry = done["status"]["transitions"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["state"] == "Retrying"))
        .cloned()
        .expect("a Retrying transition");
    assert_eq!(retry["reason"], "OOMKilled");
    let text = retry["message"].as_str().unwrap_or_default();
    let prefix = "the driver container of greedy-";
    assert!(text.starts_with(prefix), "{text}");
    assert!(
        text.contains("went over its memory limit and was killed (exit code 137): raise spec.driver.memory or spec.driver.memoryOverhead; retry 1 of 2 starts at "),
        "{text}"
    );
    // The second driver was not created before the backoff ran out.
    let starts_at = text.rsplit(' ').next().and_then(parse_time).expect("a retry time");
    let second: Vec<Value> = driver_pods(&fake, "greedy")
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["sparkplane.dev/attempt"] == "2")
        .collect();
    assert_eq!(second.len(), 1, "one driver for attempt 2");
    let created = second[0]["metadata"]["creationTimestamp"].as_str().and_then(parse_time).expect("created");
    assert!(created >= starts_at, "created {created} before the retry time {starts_at}");
    let failed_at = retry["time"].as_str().and_then(parse_time).expect("transition time");
    assert!(starts_at.duration_since(failed_at).as_secs() >= 2, "backoff of 2s: {failed_at} → {starts_at}");
    operator.stop().await;
}

/// Waits until the job's driver runs and returns the node it runs on.
async fn running_on(fake: &FakeApiServer, job: &str) -> String {
    wait_for(fake, job, Duration::from_secs(20), |s| s["state"] == "Running").await;
    let pods = driver_pods(fake, job);
    let running: Vec<&Value> = pods.iter().filter(|p| p["status"]["phase"] == "Running").collect();
    assert_eq!(running.len(), 1, "one running driver");
    running[0]["spec"]["nodeName"].as_str().expect("bound").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_is_retried_under_on_infrastructure_failure() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        drivers: vec![DriverRule { job: "*".into(), attempt: Some(1), run: DriverRun::forever() }],
        ..cluster()
    });
    let operator = Operator::start(&fake, |_| {});
    let infra =
        json!({"restartPolicy": {"type": "OnInfrastructureFailure", "retries": 1, "backoff": {"initial": "1s"}}});
    create(&fake, &job("evictee", infra)).await;
    let node = running_on(&fake, "evictee").await;
    assert!(fake.evict_node(&node) >= 1, "the driver (and executors on that node) evicted");
    let done = wait_for(&fake, "evictee", Duration::from_secs(30), state_is(JobState::Succeeded)).await;
    assert_eq!(done["status"]["attempt"], 2);
    let seen = transitions(&done);
    assert!(seen.contains(&"Retrying/Evicted".to_owned()), "{seen:?}");
    // The second driver ran on the other node: the evicted one is tainted.
    let tainted = fake.object("v1", "Node", None, &node).expect("node");
    assert_eq!(tainted["spec"]["taints"][0]["key"], "node.kubernetes.io/memory-pressure");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_failure_is_not_retried_under_on_infrastructure_failure() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        default_run: DriverRun::fails(Duration::from_millis(200), 3, "bad input\n"),
        ..cluster()
    });
    let operator = Operator::start(&fake, |_| {});
    let infra = json!({"restartPolicy": {"type": "OnInfrastructureFailure", "retries": 3}});
    create(&fake, &job("appbug", infra)).await;
    let failed = wait_for(&fake, "appbug", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "DriverFailed");
    assert_eq!(failed["status"]["attempt"], 1);
    assert_eq!(failed["status"]["driverExit"]["exitCode"], 3);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_fails_the_job_under_on_failure_once_retries_are_spent() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        drivers: vec![
            DriverRule { job: "*".into(), attempt: Some(1), run: DriverRun::fails(Duration::from_millis(200), 1, "") },
            DriverRule { job: "*".into(), attempt: Some(2), run: DriverRun::forever() },
        ],
        ..cluster()
    });
    let operator = Operator::start(&fake, |_| {});
    let once = json!({"restartPolicy": {"type": "OnFailure", "retries": 1, "backoff": {"initial": "1s"}}});
    create(&fake, &job("spent", once)).await;
    wait_for(&fake, "spent", Duration::from_secs(20), |s| s["attempt"] == 2 && s["state"] == "Running").await;
    let node = running_on(&fake, "spent").await;
    fake.evict_node(&node);
    let failed = wait_for(&fake, "spent", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "Evicted");
    let text = message(&failed);
    assert!(text.starts_with("the driver pod spent-"), "{text}");
    assert!(
        text.ends_with("was evicted (Evicted): The node was low on resource: memory. (no retries left: 1 used)"),
        "{text}"
    );
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_over_the_namespace_quota_are_refused_by_the_api_server() {
    // The simulated API server enforces ResourceQuota as the real one does,
    // so the operator's own queueing is checked against a server that would refuse.
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(cluster());
    fake.insert(json!({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "tiny", "namespace": "data"},
        "spec": {"hard": {"pods": "1"}}
    }))
    .expect("quota");
    let client = client(&fake);
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, "data");
    let pod = |name: &str| -> k8s_openapi::api::core::v1::Pod {
        serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .expect("pod")
    };
    pods.create(&Default::default(), &pod("first")).await.expect("fits");
    let refused = pods.create(&Default::default(), &pod("second")).await.expect_err("over the quota");
    let kube::Error::Api(status) = refused else { panic!("an API error: {refused:?}") };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "pods \"second\" is forbidden: exceeded quota: tiny, requested: pods=1, used: pods=1, limited: pods=1"
    );
    // The quota controller's part: status.used follows the running pod.
    wait_for_quota(&fake).await;
}

async fn wait_for_quota(fake: &FakeApiServer) {
    for _ in 0..100 {
        if let Some(q) = fake.object("v1", "ResourceQuota", Some("data"), "tiny")
            && q["status"]["used"]["pods"] == "1"
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("status.used never showed the pod");
}

/// The pod watch misses the driver's end (every pod event from then on is
/// lost): the run does not stay DriverRunning behind a Succeeded pod — the
/// operator reads an active run's driver from the API once per resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_end_the_watch_never_delivered_is_found_by_the_resync() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(200) },
        default_run: DriverRun::succeeds(Duration::from_millis(1500), "done\n"),
        ..cluster()
    });
    let operator = Operator::start(&fake, |s| s.resync = Duration::from_secs(2));
    create(&fake, &job("quiet", json!({}))).await;
    wait_for(&fake, "quiet", Duration::from_secs(10), state_is(JobState::DriverRunning)).await;
    let mut behaviour = fake.behaviour();
    behaviour.lose_pod_watch_events = 1_000;
    fake.set_behaviour(behaviour);
    let done = wait_for(&fake, "quiet", Duration::from_secs(10), state_is(JobState::Succeeded)).await;
    assert_eq!(done["status"]["reason"], "Succeeded");
    assert!(fake.behaviour().lose_pod_watch_events < 1_000, "the driver's end was lost to the watch");
    operator.stop().await;
}

/// A PySpark driver's log when the Hive metastore's database is down: the
/// table lookup fails before any Spark job, so the application's event log
/// records no failure (the metastore-stopped chaos experiment, ADR 0044); the
/// error is only in the driver's log. Shaped after the experiment's own
/// driver output (Spark 3.5, PostgreSQL-backed metastore).
const METASTORE_DOWN_LOG: &str = "\
24/11/24 09:12:01 INFO SparkContext: Running Spark version 3.5.3
24/11/24 09:12:04 INFO HiveConf: Found configuration file null
Traceback (most recent call last):
  File \"/opt/app/main.py\", line 5, in <module>
    rows = spark.table(\"trips\").count()
pyspark.errors.exceptions.captured.AnalysisException: org.apache.hadoop.hive.ql.metadata.HiveException: java.lang.RuntimeException: Unable to instantiate org.apache.hadoop.hive.ql.metadata.SessionHiveMetaStoreClient
24/11/24 09:12:09 INFO SparkContext: SparkContext is stopping with exitCode 0.
24/11/24 09:12:09 INFO SparkContext: Successfully stopped SparkContext
24/11/24 09:12:09 INFO ShutdownHookManager: Shutdown hook called
";

/// The operator classifies a failed driver's log tail by the rules `analyze`
/// uses, names the cause in the status and the Event, and counts the attempt
/// once in `sparkplane_operator_driver_failures_total{cause="metastore"}`
/// however often it reconciles the job afterwards (the retry runs to success).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_failing_on_the_metastore_is_counted_once_by_its_application_cause() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        drivers: vec![DriverRule {
            job: "*".into(),
            attempt: Some(1),
            run: DriverRun::fails(Duration::from_millis(200), 1, METASTORE_DOWN_LOG),
        }],
        ..cluster()
    });
    let operator = Operator::start(&fake, |_| {});
    let metric = |cause: &str| {
        let text = operator.metrics.render();
        let series = format!("sparkplane_operator_driver_failures_total{{namespace=\"data\",cause=\"{cause}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(series.as_str())).map(str::to_owned)
    };
    let once = json!({"restartPolicy": {"type": "OnFailure", "retries": 1, "backoff": {"initial": "1s"}}});
    create(&fake, &job("lookup", once)).await;
    let done = wait_for(&fake, "lookup", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(done["status"]["attempt"], 2);
    assert!(transitions(&done).contains(&"Retrying/DriverFailed".to_owned()), "{:?}", transitions(&done));
    let failed = done["status"]["transitions"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["reason"] == "DriverFailed"))
        .and_then(|t| t["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    let named = "exited with code 1; its log shows a Hive metastore error (cause metastore); retry 1 of 1 starts at ";
    assert!(failed.starts_with("the driver of lookup-") && failed.contains(named), "{failed}");
    let event = fake
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Event" && o["regarding"]["name"] == "lookup" && o["reason"] == "DriverFailed")
        .map(|e| e["note"].as_str().unwrap_or_default().to_owned());
    assert!(event.as_deref().is_some_and(|note| note.contains(named)), "{event:?}");
    // One failed attempt, one count, though the job was reconciled many times since.
    assert_eq!(metric("metastore").as_deref(), Some("1"));
    for other in ["fetch_failed", "executor_lost", "out_of_memory", "storage", "other"] {
        assert_eq!(metric(other).as_deref(), Some("0"), "{other}: created at 0, not moved");
    }
    let reconciles: u64 = operator
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("sparkplane_operator_reconciles_total{result=\"ok\"} ")?.parse().ok())
        .unwrap_or_default();
    assert!(reconciles > 3, "reconciled {reconciles} times");
    operator.stop().await;
}

/// A SparkJob deleted and created again under the same name meets its old
/// driver still terminating (its kubelet takes 2 s to stop it, as a driver
/// shutting Spark down does): the new run waits for the name
/// (`DriverNameTaken`) and creates its own driver once the old pod is gone.
/// On an API server that deleted pods at once this wait never showed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_created_again_waits_for_its_old_driver_to_terminate_before_reusing_the_name() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster { default_run: DriverRun::forever(), stop_time: Duration::from_secs(2), ..cluster() });
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("again", json!({}))).await;
    let first = wait_for(&fake, "again", Duration::from_secs(20), state_is(JobState::Running)).await;
    let driver = first["status"]["driverPod"].as_str().expect("a driver").to_owned();
    let old = fake.object("v1", "Pod", Some("data"), &driver).expect("the old driver");

    let api: kube::Api<sparkplane_api::SparkJob> = kube::Api::namespaced(client(&fake), "data");
    api.delete("again", &kube::api::DeleteParams::default()).await.expect("deleted");
    let deleted = std::time::Instant::now();
    // The collector deletes the old driver (background), which terminates for 2 s.
    create(&fake, &job("again", json!({}))).await;
    let waiting = wait_for(&fake, "again", Duration::from_secs(20), |s| s["reason"] == "DriverNameTaken").await;
    assert_eq!(waiting["status"]["state"], "Queued");
    let terminating = fake.object("v1", "Pod", Some("data"), &driver).expect("still there, terminating");
    assert_eq!(terminating["metadata"]["uid"], old["metadata"]["uid"]);
    assert!(terminating["metadata"]["deletionTimestamp"].is_string(), "{terminating}");

    let again = wait_for(&fake, "again", Duration::from_secs(20), |s| s["driverPod"] == driver.as_str()).await;
    let new = fake.object("v1", "Pod", Some("data"), &driver).expect("the new driver");
    assert_ne!(new["metadata"]["uid"], old["metadata"]["uid"]);
    assert_eq!(new["metadata"]["ownerReferences"][0]["uid"], again["metadata"]["uid"]);
    assert!(deleted.elapsed() >= Duration::from_millis(1500), "created only after the old one stopped");
    assert_eq!(transitions(&again)[..3], ["Queued/Created", "Queued/DriverNameTaken", "Submitted/Submitted"]);
    assert_eq!(driver_creates(&fake), 2, "one create per job: none was refused with 409");
    operator.stop().await;
}
