//! The operator end to end against the fake API server: SparkJobs created
//! through the API, drivers moved along by the fake, and the exact status
//! the operator writes.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_api::job::JobState;
use sparkplane_core::operator::Platform;
use sparkplane_fakekube::{Behaviour, FakeApiServer, PodScript};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_to_success_with_every_transition_recorded() {
    let fake = FakeApiServer::start().expect("fake");
    drivers_end(&fake, 300, "Succeeded", "done\n");
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("trips", json!({}))).await;
    let done = wait_for(&fake, "trips", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    let status = &done["status"];
    assert_eq!(status["reason"], "Succeeded");
    assert_eq!(status["attempt"], 1);
    assert_eq!(status["observedGeneration"], 1);
    let driver = status["driverPod"].as_str().expect("driver pod named").to_owned();
    assert!(driver.starts_with("trips-") && driver.ends_with("-driver"), "{driver}");
    assert_eq!(
        transitions(&done),
        ["Queued/Created", "Submitted/Submitted", "DriverRunning/DriverRunning", "Succeeded/Succeeded"]
    );
    for field in ["queuedAt", "submittedAt", "startedAt", "finishedAt", "specHash", "applicationId"] {
        assert!(status[field].is_string(), "{field} set: {status:#}");
    }
    // The driver belongs to the SparkJob, so deleting the job deletes its pods.
    let pod = fake.object("v1", "Pod", Some("data"), &driver).expect("driver pod");
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["name"].as_str(), owner["controller"].as_bool()),
        (Some("SparkJob"), Some("trips"), Some(true))
    );
    assert_eq!(driver_creates(&fake), 1);
    // One Event per transition.
    let events: Vec<String> = fake
        .objects()
        .iter()
        .filter(|o| o["kind"] == "Event" && o["regarding"]["name"] == "trips")
        .map(|o| o["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    for reason in ["Created", "Submitted", "DriverRunning", "Succeeded"] {
        assert!(events.iter().any(|e| e == reason), "an Event {reason} in {events:?}");
    }
    let metrics = operator.metrics.render();
    assert!(metrics.contains("sparkplane_operator_submissions_total 1"), "{metrics}");
    assert!(metrics.contains("sparkplane_operator_applications{state=\"Succeeded\"} 1"), "{metrics}");
    operator.stop().await;
}

/// The status line of a plain HTTP GET.
fn status_line(address: std::net::SocketAddr, path: &str) -> String {
    use std::io::{BufRead, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").expect("send");
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line).expect("answer");
    line.trim_end().to_owned()
}

/// Every start of the operator becomes ready and reconciles. kube-runtime
/// 5's store readiness keeps a single waker: when a second task waited on it
/// too, the controller could lose the wake-up and never start reconciling
/// (about one start in three, on this machine). Twenty starts in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_start_becomes_ready_and_reconciles() {
    for round in 0..20 {
        let fake = FakeApiServer::start().expect("fake");
        drivers_end(&fake, 20, "Succeeded", "done\n");
        let operator = Operator::start(&fake, |_| {});
        let address = operator.metrics.serve("127.0.0.1:0").expect("metrics endpoint");
        let name = format!("start-{round}");
        create(&fake, &job(&name, json!({}))).await;
        wait_for(&fake, &name, Duration::from_secs(10), state_is(JobState::Succeeded)).await;
        let ready = tokio::task::spawn_blocking(move || status_line(address, "/readyz")).await.expect("joined");
        assert_eq!(ready, "HTTP/1.1 200 OK", "start {round}: /readyz once the job cache is filled");
        operator.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_driver_is_retried_then_fails_with_its_cause_and_log() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_behaviour(Behaviour {
        advance_driver_pods: Some(PodScript {
            step: Duration::from_millis(200),
            final_phase: "Failed".into(),
            log: "reading input\nTraceback (most recent call last):\n  File \"main.py\", line 3\nValueError: bad row 17\n"
                .into(),
        }),
        ..Behaviour::default()
    });
    let operator = Operator::start(&fake, |_| {});
    let retrying =
        json!({"restartPolicy": {"type": "OnFailure", "retries": 1, "backoff": {"initial": "1s", "max": "1s"}}});
    create(&fake, &job("etl", retrying)).await;
    let done = wait_for(&fake, "etl", Duration::from_secs(30), state_is(JobState::Failed)).await;
    let status = &done["status"];
    assert_eq!(status["reason"], "DriverFailed");
    assert_eq!(status["attempt"], 2);
    assert_eq!(status["retries"], 1);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the driver of etl-") && message.ends_with("exited with code 1 (no retries left: 1 used)"),
        "{message}"
    );
    assert_eq!(status["driverExit"]["exitCode"], 1);
    let tail: Vec<&str> =
        status["driverExit"]["logTail"].as_array().expect("tail").iter().filter_map(Value::as_str).collect();
    assert_eq!(tail.last(), Some(&"ValueError: bad row 17"));
    let seen = transitions(&done);
    assert!(seen.contains(&"Retrying/DriverFailed".to_owned()), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("Failed/DriverFailed"));
    // Two attempts, two drivers with different names.
    assert_eq!(driver_creates(&fake), 2);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_created_before_a_lost_status_write_is_adopted_not_created_again() {
    let fake = FakeApiServer::start().expect("fake");
    let spark_job = job("adopt", json!({}));
    // The operator created attempt 1's driver, then died before writing the status.
    let platform = Platform::builtin().expect("catalog");
    let resolved = sparkplane_core::operator::plan::resolve_resource(&spark_job, &platform.catalog).expect("resolves");
    let objects = sparkplane_core::operator::plan::render_resolved(&resolved, 1);
    let driver = objects.iter().find(|o| o.kind == "Pod").expect("a driver pod");
    fake.insert(driver.body.clone()).expect("driver stored");
    fake.set_pod_phase("data", &driver.name, "Running");
    create(&fake, &spark_job).await;
    let operator = Operator::start(&fake, |_| {});
    let adopted = wait_for(&fake, "adopt", Duration::from_secs(20), state_is(JobState::DriverRunning)).await;
    assert_eq!(adopted["status"]["driverPod"], driver.name.as_str());
    assert!(transitions(&adopted).contains(&"Submitted/Adopted".to_owned()), "{:?}", transitions(&adopted));
    assert_eq!(driver_creates(&fake), 0, "no second driver");
    fake.set_pod_phase("data", &driver.name, "Succeeded");
    wait_for(&fake, "adopt", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(driver_creates(&fake), 0);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_breaks_a_policy_fails_with_the_policy_message_and_creates_nothing() {
    let fake = FakeApiServer::start().expect("fake");
    let operator = Operator::start(&fake, |_| {});
    let mut denied = job("nocost", json!({}));
    denied.spec.cost_center = None;
    create(&fake, &denied).await;
    let failed = wait_for(&fake, "nocost", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(failed["status"]["reason"], "PolicyDenied");
    assert_eq!(
        failed["status"]["message"],
        "spec.costCenter: the job names no cost center (fix: set spec.team and spec.costCenter)"
    );
    assert_eq!(driver_creates(&fake), 0);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_the_driver_and_resume_continues_with_the_next_attempt() {
    let fake = FakeApiServer::start().expect("fake");
    let slow = PodScript { step: Duration::from_secs(3600), final_phase: "Succeeded".into(), log: String::new() };
    fake.set_behaviour(Behaviour { advance_driver_pods: Some(slow), ..Behaviour::default() });
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("hold", json!({}))).await;
    let submitted = wait_for(&fake, "hold", Duration::from_secs(20), state_is(JobState::Submitted)).await;
    let first = submitted["status"]["driverPod"].as_str().expect("driver").to_owned();
    patch_spec(&fake, "hold", json!({"suspend": true})).await;
    let suspended = wait_for(&fake, "hold", Duration::from_secs(20), state_is(JobState::Suspended)).await;
    assert_eq!(suspended["status"]["message"], "spec.suspend is true: the driver was stopped");
    assert!(fake.object("v1", "Pod", Some("data"), &first).is_none(), "the driver pod was deleted");
    drivers_end(&fake, 200, "Succeeded", "");
    patch_spec(&fake, "hold", json!({"suspend": false})).await;
    let done = wait_for(&fake, "hold", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(done["status"]["attempt"], 2);
    assert_ne!(done["status"]["driverPod"].as_str(), Some(first.as_str()));
    let seen = transitions(&done);
    let resumed = seen.iter().position(|t| t == "Queued/Resumed").expect("resumed");
    assert!(seen.iter().position(|t| t == "Suspended/Suspended").is_some_and(|s| s < resumed), "{seen:?}");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_queued_jobs_start_in_order_as_others_finish() {
    let fake = FakeApiServer::start().expect("fake");
    drivers_end(&fake, 400, "Succeeded", "");
    // Room for one application: the driver (1 CPU) and two executors (1 CPU each).
    fake.insert(json!({
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "data-eng-quota", "namespace": "data"},
        "spec": {"hard": {"requests.cpu": "4", "requests.memory": "64Gi", "pods": "50"}}
    }))
    .expect("quota");
    let operator = Operator::start(&fake, |_| {});
    for name in ["q-a", "q-b", "q-c"] {
        create(&fake, &job(name, json!({}))).await;
    }
    let mut finished = Vec::new();
    for name in ["q-a", "q-b", "q-c"] {
        finished.push(wait_for(&fake, name, Duration::from_secs(30), state_is(JobState::Succeeded)).await);
    }
    // Drivers were created one after another, in queue order.
    let order: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/namespaces/data/pods")
        .filter_map(|r| r.body.as_ref()?["metadata"]["labels"]["sparkplane.dev/job"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(order, ["q-a", "q-b", "q-c"]);
    for later in &finished[1..] {
        let seen = transitions(later);
        assert!(seen.contains(&"Queued/QuotaWait".to_owned()), "{seen:?}");
    }
    let message = finished[2]["status"]["transitions"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["reason"] == "QuotaWait"))
        .and_then(|t| t["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.starts_with("queued behind")
            || message.starts_with("waiting for room in the ResourceQuota data-eng-quota"),
        "{message}"
    );
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_removes_the_pods_after_archiving_the_driver_log() {
    let fake = FakeApiServer::start().expect("fake");
    drivers_end(&fake, 200, "Succeeded", "rows written: 1000\n");
    let store = tempfile::tempdir().expect("log store");
    let url = store.path().display().to_string();
    let operator = Operator::start(&fake, |s| s.log_store = Some(url.clone()));
    create(&fake, &job("short", json!({"ttlAfterFinished": "1s"}))).await;
    let done = wait_for(&fake, "short", Duration::from_secs(20), |s| s["logArchive"].is_string()).await;
    let driver = done["status"]["driverPod"].as_str().expect("driver").to_owned();
    let archived = store.path().join("data").join("short").join(format!("{driver}.log"));
    assert_eq!(std::fs::read_to_string(&archived).expect("archived log"), "rows written: 1000\n");
    assert_eq!(done["status"]["state"], "Succeeded");
    let started = Instant::now();
    while fake.object("v1", "Pod", Some("data"), &driver).is_some() {
        assert!(started.elapsed() < Duration::from_secs(10), "the driver pod is removed after its TTL");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = sparkplane_kube::logstore::key("data", "short", &driver);
    let read = tokio::task::spawn_blocking(move || sparkplane_kube::logstore::get(&url, &key)).await.expect("joined");
    assert_eq!(read.expect("reads"), Some("rows written: 1000\n".to_owned()));
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_catches_up_three_missed_runs_in_order_and_a_trigger_starts_a_manual_one() {
    let fake = FakeApiServer::start().expect("fake");
    drivers_end(&fake, 200, "Succeeded", "");
    let now = jiff::Timestamp::now();
    let minute = now.as_second().div_euclid(60) * 60;
    let last = jiff::Timestamp::from_second(minute - 180).expect("time");
    let schedule = json!({"schedule": {"cron": "* * * * *", "startingDeadline": "10m", "concurrencyPolicy": "Allow"}});
    let mut parent = serde_json::to_value(job("nightly", schedule)).expect("json");
    parent["status"] = json!({"schedule": {"lastScheduleTime": sparkplane_core::operator::rfc3339(last)}});
    fake.insert(parent).expect("scheduled job");
    let operator = Operator::start(&fake, |_| {});
    let expected: Vec<String> = (1..=3)
        .map(|i| {
            sparkplane_core::operator::schedule::run_name(
                "nightly",
                jiff::Timestamp::from_second(minute - 180 + i * 60).expect("t"),
            )
        })
        .collect();
    let parent = wait_for(&fake, "nightly", Duration::from_secs(20), |s| {
        s["schedule"]["lastScheduleTime"].as_str().is_some_and(|t| t != sparkplane_core::operator::rfc3339(last))
    })
    .await;
    let created: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/apis/sparkplane.dev/v1alpha1/namespaces/data/sparkjobs")
        .filter_map(|r| r.body.as_ref()?["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(created[..3], expected[..], "the missed runs, oldest first");
    assert_eq!(parent["status"]["state"], "Scheduled");
    for (i, name) in expected.iter().enumerate() {
        let run = wait_for(&fake, name, Duration::from_secs(30), state_is(JobState::Succeeded)).await;
        assert_eq!(run["metadata"]["labels"]["sparkplane.dev/scheduled-by"], "nightly");
        assert_eq!(run["metadata"]["annotations"]["sparkplane.dev/started-by"], "schedule");
        let tick = jiff::Timestamp::from_second(minute - 180 + (i as i64 + 1) * 60).expect("t");
        assert_eq!(
            run["metadata"]["annotations"]["sparkplane.dev/scheduled-at"],
            sparkplane_core::operator::rfc3339(tick)
        );
        assert_eq!(run["metadata"]["ownerReferences"][0]["name"], "nightly");
        assert!(run["spec"]["schedule"].is_null(), "a run has no schedule of its own");
    }
    // A manual run.
    sparkplane_kube::jobs::trigger(&client(&fake), &fake.url(), "data", "nightly", "manual-1")
        .await
        .expect("triggered");
    let manual = sparkplane_core::operator::schedule::manual_run_name("nightly", "manual-1");
    let run = wait_for(&fake, &manual, Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(run["metadata"]["annotations"]["sparkplane.dev/started-by"], "manual");
    let parent = wait_for(&fake, "nightly", Duration::from_secs(10), |s| s["lastTrigger"] == "manual-1").await;
    assert_eq!(parent["status"]["lastTrigger"], "manual-1");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_replicas_one_acts_and_the_other_takes_over_when_it_stops() {
    let fake = FakeApiServer::start().expect("fake");
    drivers_end(&fake, 200, "Succeeded", "");
    let elect = |identity: &str| {
        let mut leader = sparkplane_kube::operator::LeaderSettings::new("data", identity);
        leader.duration = Duration::from_secs(3);
        leader.retry = Duration::from_millis(200);
        leader
    };
    let a = Operator::start(&fake, |s| s.leader = Some(elect("replica-a")));
    let lease = |fake: &FakeApiServer| {
        fake.object("coordination.k8s.io/v1", "Lease", Some("data"), "sparkplane-operator")
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_owned))
    };
    let started = Instant::now();
    while lease(&fake).as_deref() != Some("replica-a") {
        assert!(started.elapsed() < Duration::from_secs(10), "replica a leads");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let b = Operator::start(&fake, |s| s.leader = Some(elect("replica-b")));
    create(&fake, &job("first", json!({}))).await;
    wait_for(&fake, "first", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(driver_creates(&fake), 1, "exactly one replica acted");
    assert!(a.metrics.render().contains("sparkplane_operator_leader 1"));
    assert!(b.metrics.render().contains("sparkplane_operator_leader 0"));
    assert_eq!(lease(&fake).as_deref(), Some("replica-a"));
    a.stop().await;
    create(&fake, &job("second", json!({}))).await;
    wait_for(&fake, "second", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(lease(&fake).as_deref(), Some("replica-b"));
    assert!(b.metrics.render().contains("sparkplane_operator_leader 1"));
    assert_eq!(driver_creates(&fake), 2);
    b.stop().await;
}
