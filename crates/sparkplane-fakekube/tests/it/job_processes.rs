//! The simulated cluster runs Jobs, and runs containers of mapped images as
//! local processes: a Job whose pod's program exits 0 completes with the
//! program's output as the pod's log; one whose program exits non-zero is
//! retried up to `backoffLimit` and then fails; a pod of an image with no
//! mapping starts and keeps running, as every pod did before.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, FakeApiServer, ImageProgram};

fn cluster() -> Cluster {
    Cluster {
        programs: vec![ImageProgram { image: "example.com/shell".into(), program: "/bin/sh".into() }],
        ..Cluster::default()
    }
}

fn job(name: &str, script: &str, backoff_limit: u32) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "data"},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "example.com/shell:1",
                                "command": ["sh", "-c"], "args": [script],
                                "env": [{"name": "GREETING", "value": "hello"}]}],
            }},
        },
    })
}

/// The Job's decided condition (`Complete` or `Failed`), waited for.
fn decided(fake: &FakeApiServer, name: &str) -> Value {
    let started = Instant::now();
    loop {
        let job = fake.object("batch/v1", "Job", Some("data"), name).expect("the job");
        if job["status"]["conditions"][0]["status"] == "True" {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the job did not end: {:#}", job["status"]);
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log(fake: &FakeApiServer, pod: &str) -> String {
    ureq::get(&format!("{}/api/v1/namespaces/data/pods/{pod}/log", fake.url()))
        .call()
        .expect("the log")
        .into_body()
        .read_to_string()
        .expect("text")
}

#[test]
fn a_job_runs_its_container_as_a_local_process_and_completes_or_fails_by_its_exit_code() {
    let fake = FakeApiServer::start().expect("starts");
    fake.set_cluster(cluster());

    fake.insert(job("ok", "echo \"$GREETING from $(pwd)\" >&2; exit 0", 0)).expect("created");
    let done = decided(&fake, "ok");
    assert_eq!(done["status"]["conditions"][0]["type"], "Complete");
    assert_eq!(done["status"]["succeeded"], 1);
    let pod = fake.object("v1", "Pod", Some("data"), "ok-1").expect("its pod");
    assert_eq!(pod["status"]["phase"], "Succeeded");
    assert_eq!(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
    assert!(log(&fake, "ok-1").starts_with("hello from /"), "{}", log(&fake, "ok-1"));

    fake.insert(job("bad", "echo failing; exit 4", 1)).expect("created");
    let done = decided(&fake, "bad");
    assert_eq!(done["status"]["conditions"][0]["type"], "Failed");
    assert_eq!(done["status"]["conditions"][0]["reason"], "BackoffLimitExceeded");
    assert_eq!(done["status"]["failed"], 2, "one retry (backoffLimit 1), then failed");
    let pod = fake.object("v1", "Pod", Some("data"), "bad-2").expect("the retry's pod");
    let terminated = &pod["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!((terminated["exitCode"].as_i64(), terminated["reason"].as_str()), (Some(4), Some("Error")));
    assert_eq!(log(&fake, "bad-2"), "failing\n");
}

#[test]
fn a_pod_of_an_unmapped_image_keeps_running_as_before() {
    let fake = FakeApiServer::start().expect("starts");
    fake.set_cluster(cluster());
    let mut other = job("other", "exit 0", 0);
    other["spec"]["template"]["spec"]["containers"][0]["image"] = json!("example.com/other:1");
    fake.insert(other).expect("created");
    let started = Instant::now();
    loop {
        let pod = fake.object("v1", "Pod", Some("data"), "other-1");
        if pod.as_ref().is_some_and(|p| p["status"]["phase"] == "Running") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{pod:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pod = fake.object("v1", "Pod", Some("data"), "other-1").expect("pod");
    assert_eq!(pod["status"]["phase"], "Running");
    let job = fake.object("batch/v1", "Job", Some("data"), "other").expect("job");
    assert_eq!(job["status"]["active"], 1);
    assert!(job["status"]["conditions"].is_null());
}
