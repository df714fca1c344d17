//! The operator runs `type: Connect` SparkJobs (Spark Connect servers)
//! against the simulated cluster: the StatefulSet, Services and
//! NetworkPolicies applied, the status serving with its endpoint, a failed
//! server pod replaced and counted, idle shutdown read from the server's
//! event log, wake-up by `sparkplane trigger`, and a bad idle timeout
//! refused with its message (ADR 0042).

use crate::support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::JobState;
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer};
use support::*;

fn server_job(name: &str, event_log_dir: &str, extra: Value) -> SparkJob {
    let mut spec = json!({
        "team": "data-eng", "costCenter": "cc-42", "type": "Connect", "sparkVersion": "4.0.1",
        "image": {"repository": "registry.example.com/spark/connect", "tag": "4.0.1"},
        "eventLog": {"enabled": true, "dir": event_log_dir},
    });
    if let (Some(base), Some(more)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
        "metadata": {"name": name, "namespace": "data"},
        "spec": spec,
    }))
    .expect("a SparkJob")
}

/// A simulated cluster whose server JVMs run until stopped.
fn cluster(fake: &FakeApiServer) {
    fake.set_cluster(Cluster { default_run: DriverRun::forever(), ..Cluster::default() });
}

fn serving(status: &Value) -> bool {
    status["state"] == "Running" && status["reason"] == "Serving"
}

fn replicas(fake: &FakeApiServer, name: &str) -> Option<i64> {
    fake.object("apps/v1", "StatefulSet", Some("data"), name)?["spec"]["replicas"].as_i64()
}

/// A real Spark 4.1.4 Connect server's event log (sparkplane-observe's test
/// data, see its README), as the server of job `job` in progress in `dir`:
/// `whole` gives every session and operation closed, otherwise the log as it
/// stood with one session and one operation open.
fn write_server_log(dir: &Path, job: &str, whole: bool) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-observe/tests/data/connect");
    let file = if whole { "local-1795480344927" } else { "local-1795480344927.inprogress" };
    let text = std::fs::read_to_string(data.join(file)).expect("test data");
    // A cluster server's application is named after its job (`--name <job>`).
    let text = text.replace("\"spark.app.name\":\"sparkplane-connect\"", &format!("\"spark.app.name\":\"{job}\""));
    std::fs::write(dir.join("local-1795480344927.inprogress"), text).expect("written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_is_applied_serves_at_its_endpoint_and_a_failed_pod_is_replaced_and_counted() {
    let fake = FakeApiServer::start().expect("fake");
    cluster(&fake);
    let operator = Operator::start(&fake, |s| s.resync = Duration::from_secs(1));
    create(&fake, &server_job("notebooks", "s3a://spark-events/data-eng", json!({}))).await;
    let up = wait_for(&fake, "notebooks", Duration::from_secs(30), serving).await;
    let status = &up["status"];
    assert_eq!(status["message"], "serving at sc://notebooks-connect.data.svc:15002");
    assert_eq!(status["connect"]["endpoint"], "sc://notebooks-connect.data.svc:15002");
    assert_eq!(status["connect"]["replicas"], 1);
    assert_eq!(transitions(&up).first().map(String::as_str), Some("Submitted/Created"));
    assert_eq!(transitions(&up).last().map(String::as_str), Some("Running/Serving"));

    // The objects `sparkplane render` prints for it, owned by the SparkJob.
    let set = fake.object("apps/v1", "StatefulSet", Some("data"), "notebooks-connect").expect("StatefulSet");
    assert_eq!(set["spec"]["replicas"], 1);
    assert_eq!(set["metadata"]["ownerReferences"][0]["kind"], "SparkJob");
    assert_eq!(set["metadata"]["ownerReferences"][0]["name"], "notebooks");
    for (api_version, kind, name) in [
        ("v1", "Service", "notebooks-connect"),
        ("v1", "Service", "notebooks-connect-driver"),
        ("v1", "ConfigMap", "notebooks-connect-pod-templates"),
        ("networking.k8s.io/v1", "NetworkPolicy", "notebooks-connect-clients"),
    ] {
        assert!(fake.object(api_version, kind, Some("data"), name).is_some(), "{kind} {name}");
    }
    let pod = fake.object("v1", "Pod", Some("data"), "notebooks-connect-0").expect("server pod");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "StatefulSet");
    let first_uid = pod["metadata"]["uid"].as_str().expect("uid").to_owned();

    // The server pod fails (evicted): the StatefulSet creates it again, the
    // operator counts the restart and reports it serving again.
    assert!(fake.evict_pod("data", "notebooks-connect-0"));
    let back =
        wait_for(&fake, "notebooks", Duration::from_secs(30), |s| serving(s) && s["connect"]["restarts"] == 1).await;
    let pod = fake.object("v1", "Pod", Some("data"), "notebooks-connect-0").expect("server pod again");
    assert_ne!(pod["metadata"]["uid"].as_str(), Some(first_uid.as_str()));
    assert_eq!(back["status"]["connect"]["podUid"], pod["metadata"]["uid"]);
    let metrics = operator.metrics.render();
    assert!(metrics.contains("sparkplane_operator_applications{state=\"Running\"} 1"), "{metrics}");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_is_scaled_to_none_and_a_trigger_wakes_it() {
    let fake = FakeApiServer::start().expect("fake");
    cluster(&fake);
    let logs = tempfile::tempdir().expect("tempdir");
    write_server_log(logs.path(), "notebooks", false);
    let operator = Operator::start(&fake, |s| s.resync = Duration::from_secs(1));
    let dir = logs.path().to_str().expect("UTF-8 path").to_owned();
    create(&fake, &server_job("notebooks", &dir, json!({"connect": {"idleTimeout": "1m"}}))).await;

    // A session and a query open: serving, and counted.
    let busy =
        wait_for(&fake, "notebooks", Duration::from_secs(30), |s| serving(s) && s["connect"]["sessions"] == 1).await;
    assert_eq!(busy["status"]["connect"]["operations"], 1);

    // Every session closed: a minute later the server is scaled to none.
    write_server_log(logs.path(), "notebooks", true);
    let idle = wait_for(&fake, "notebooks", Duration::from_secs(100), |s| s["reason"] == "Idle").await;
    assert_eq!(idle["status"]["state"], "Suspended");
    assert_eq!(idle["status"]["connect"]["sessions"], 0);
    assert_eq!(idle["status"]["connect"]["replicas"], 0);
    let message = idle["status"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("no open session or operation since ")
            && message.ends_with(" (spec.connect.idleTimeout 1m): scaled to 0; `sparkplane trigger` starts it again"),
        "{message}"
    );
    assert_eq!(replicas(&fake, "notebooks-connect"), Some(0));
    let started = std::time::Instant::now();
    while fake.object("v1", "Pod", Some("data"), "notebooks-connect-0").is_some() {
        assert!(started.elapsed() < Duration::from_secs(10), "the server pod is removed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // `sparkplane trigger` sets the annotation: the server comes back.
    let api: kube::Api<SparkJob> = kube::Api::namespaced(client(&fake), "data");
    let annotate = json!({"metadata": {"annotations": {"sparkplane.dev/trigger": "2026-11-24T07:00:00Z"}}});
    api.patch("notebooks", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(annotate))
        .await
        .expect("annotated");
    let woken = wait_for(&fake, "notebooks", Duration::from_secs(30), serving).await;
    assert_eq!(replicas(&fake, "notebooks-connect"), Some(1));
    let seen = transitions(&woken);
    assert!(seen.contains(&"Suspended/Idle".to_owned()) && seen.contains(&"Submitted/Woken".to_owned()), "{seen:?}");
    assert_eq!(woken["status"]["state"], JobState::Running.as_str());
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_timeout_under_a_minute_is_refused_with_its_field_and_fix() {
    let fake = FakeApiServer::start().expect("fake");
    cluster(&fake);
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &server_job("notebooks", "s3a://spark-events/data-eng", json!({"connect": {"idleTimeout": "30s"}})))
        .await;
    let done = wait_for(&fake, "notebooks", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(done["status"]["reason"], "InvalidSpec");
    assert_eq!(
        done["status"]["message"],
        "spec.connect.idleTimeout: `30s` is shorter than a minute: the server would stop between a notebook's cells (fix: use `idleTimeout: 30m` (at least `1m`), or leave it out to keep the server running)"
    );
    assert!(fake.object("apps/v1", "StatefulSet", Some("data"), "notebooks-connect").is_none());
    operator.stop().await;
}
