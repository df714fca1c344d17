//! The operator against another writer of the same SparkJob, end to end on
//! the fake API server: a status write decided on a version someone else
//! has changed since is refused (409 Conflict, as the API server refuses a
//! stale resourceVersion), and the operator reads the job again and decides
//! on what the other writer wrote, instead of writing over it.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use sparkplane_api::job::JobState;
use sparkplane_fakekube::{Behaviour, FakeApiServer, WriteRace};
use support::*;

const STATUS: &str = "/apis/sparkplane.dev/v1alpha1/namespaces/data/sparkjobs/race/status";

fn status_patches(fake: &FakeApiServer) -> Vec<Value> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path == STATUS)
        .map(|r| r.body.unwrap_or(Value::Null))
        .collect()
}

/// The job once its resourceVersion has not changed for `still` (panics after `within`).
async fn quiet(fake: &FakeApiServer, name: &str, still: Duration, within: Duration) -> Value {
    let started = std::time::Instant::now();
    let read = || fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data"), name).expect("the job");
    let mut last = read();
    let mut since = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = read();
        assert!(started.elapsed() < within, "{name} kept changing for {within:?}: {:#}", now["status"]);
        if resource_version(&now) != resource_version(&last) {
            (last, since) = (now, std::time::Instant::now());
        } else if since.elapsed() >= still {
            return now;
        }
    }
}

fn resource_version(job: &Value) -> String {
    job["metadata"]["resourceVersion"].as_str().expect("a resourceVersion").to_owned()
}

/// Another writer of the status (a replica that has not yet seen that it
/// lost its lease, say) records a transition between the operator's read of
/// the job and its write of DriverRunning. The transitions are one list, so
/// a write that did not name the version it read would replace the list and
/// lose the other writer's entry; the operator's write names it, is refused,
/// and the decision made again on the new version keeps the entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_write_made_stale_by_another_writer_is_refused_and_decided_again_on_its_change() {
    let fake = FakeApiServer::start().expect("fake");
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("race", json!({}))).await;
    let submitted = wait_for(&fake, "race", Duration::from_secs(20), state_is(JobState::Submitted)).await;
    let driver = submitted["status"]["driverPod"].as_str().expect("a driver").to_owned();
    // What the race starts from: the job quiet (its driver Pending), after the operator's follow-up
    // writes of Submitted (its executor counts), which a loaded machine may delay past the wait above.
    let read = quiet(&fake, "race", Duration::from_millis(500), Duration::from_secs(10)).await;
    assert_eq!(read["status"]["driverPod"], submitted["status"]["driverPod"], "the same run: {:#}", read["status"]);
    assert_eq!(transitions(&read), ["Queued/Created", "Submitted/Submitted"]);

    let mut list = read["status"]["transitions"].as_array().cloned().expect("transitions");
    let theirs = json!({"state": "Submitted", "reason": "Noted", "message": "written by another replica",
                        "time": "2026-01-01T00:00:00Z"});
    list.push(theirs.clone());
    fake.set_behaviour(Behaviour {
        write_race: Some(WriteRace {
            path: STATUS.into(),
            times: 1,
            racer_path: STATUS.into(),
            patch: json!({"status": {"transitions": list}}),
        }),
        ..Behaviour::default()
    });
    let before = status_patches(&fake).len();
    fake.set_pod_phase("data", &driver, "Running");
    let running = wait_for(&fake, "race", Duration::from_secs(20), state_is(JobState::DriverRunning)).await;
    assert_eq!(fake.behaviour().write_race.map(|r| r.times), Some(0), "the race was run");
    assert_eq!(
        transitions(&running),
        ["Queued/Created", "Submitted/Submitted", "Submitted/Noted", "DriverRunning/DriverRunning"],
        "the other writer's transition is kept: {:#}",
        running["status"]
    );

    // The write that lost carried the version it was decided on, and was
    // refused; the one after carried the version the other writer made.
    let writes = status_patches(&fake).split_off(before);
    assert!(writes.len() >= 2, "a refused write and its retry: {writes:#?}");
    let stale = &writes[0];
    assert_eq!(stale["metadata"]["resourceVersion"], resource_version(&read), "{stale:#}");
    assert_eq!(stale["status"]["state"], "DriverRunning");
    let retry = writes.iter().rfind(|w| w["status"]["state"] == "DriverRunning").expect("the write that landed");
    let version: u64 = retry["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok()).expect("a version");
    assert!(version > resource_version(&read).parse::<u64>().expect("numeric"), "{retry:#}");

    // The run goes on to its end, the other writer's entry still there.
    fake.set_pod_phase("data", &driver, "Succeeded");
    let done = wait_for(&fake, "race", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert_eq!(
        transitions(&done),
        [
            "Queued/Created",
            "Submitted/Submitted",
            "Submitted/Noted",
            "DriverRunning/DriverRunning",
            "Succeeded/Succeeded"
        ]
    );
    assert_eq!(driver_creates(&fake), 1, "one driver: the retry did not submit again");
    operator.stop().await;
}

/// The write right after a driver is created loses the race: the status
/// that would name the driver is refused. Decided again on the other
/// writer's version, the run finds its driver (created, not yet named in
/// the status) and goes on with it: one driver pod, the run succeeds, and
/// the other writer's entry is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_after_submission_finds_its_driver_and_submits_nothing_twice() {
    let fake = FakeApiServer::start().expect("fake");
    let theirs = json!({"state": "Queued", "reason": "Noted", "message": "written by another replica",
                        "time": "2026-01-01T00:00:00Z"});
    fake.set_behaviour(Behaviour {
        write_race: Some(WriteRace {
            path: STATUS.into(),
            times: 1,
            racer_path: STATUS.into(),
            patch: json!({"status": {"transitions": [theirs]}}),
        }),
        ..Behaviour::default()
    });
    let operator = Operator::start(&fake, |_| {});
    create(&fake, &job("race", json!({}))).await;
    let submitted = wait_for(&fake, "race", Duration::from_secs(20), |s| s["driverPod"].is_string()).await;
    assert_eq!(fake.behaviour().write_race.map(|r| r.times), Some(0), "the race was run");
    let refused = status_patches(&fake).into_iter().next().expect("a first status write");
    assert!(refused["metadata"]["resourceVersion"].is_string(), "it named its version: {refused:#}");
    let driver = submitted["status"]["driverPod"].as_str().expect("a driver").to_owned();
    let pods: Vec<String> = fake
        .objects()
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "driver")
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(pods, std::slice::from_ref(&driver), "one driver");
    fake.set_pod_phase("data", &driver, "Running");
    wait_for(&fake, "race", Duration::from_secs(20), state_is(JobState::DriverRunning)).await;
    fake.set_pod_phase("data", &driver, "Succeeded");
    let done = wait_for(&fake, "race", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    // Adopted: the driver the refused write would have named, not a second one.
    assert_eq!(
        transitions(&done),
        ["Queued/Noted", "Queued/Created", "Submitted/Adopted", "DriverRunning/DriverRunning", "Succeeded/Succeeded"],
        "the other writer's entry is kept"
    );
    assert_eq!(driver_creates(&fake), 1);
    operator.stop().await;
}
