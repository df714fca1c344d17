//! Table tests of the Connect server's decisions: no API, no clock.

use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::{ConnectStatus, JobState, SparkJobStatus};

use super::*;
use crate::plan::{Platform, prepare};

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + minutes * 60).expect("time")
}

fn job(extra: Value) -> SparkJob {
    let mut spec = json!({
        "team": "data-eng", "costCenter": "cc-42", "type": "Connect", "sparkVersion": "4.0.1",
        "image": {"repository": "registry.example.com/spark/connect", "tag": "4.0.1"},
        "eventLog": {"enabled": true, "dir": "s3a://spark-events/data-eng"},
        "connect": {"idleTimeout": "30m"},
    });
    if let (Some(base), Some(more)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
        "metadata": {"name": "notebooks", "namespace": "data", "uid": "u-1"},
        "spec": spec,
    }))
    .expect("a SparkJob")
}

fn prepared(extra: Value) -> Prepared {
    prepare(&job(extra), &Platform::builtin().expect("catalog"))
}

fn hash(p: &Prepared) -> String {
    match p {
        Prepared::Ready(plan) => plan.spec_hash.clone(),
        Prepared::Refused { message, .. } => panic!("refused: {message}"),
    }
}

fn pod(p: &Prepared, uid: &str, phase: PodPhase, ready: bool, restarts: u32) -> ServerPod {
    ServerPod {
        driver: DriverView {
            name: "notebooks-connect-0".into(),
            attempt: 1,
            spec_hash: Some(hash(p)),
            app_id: None,
            phase,
            waiting: None,
            unschedulable: None,
            terminated: None,
            pod_reason: None,
            running_since: Some(at(0)),
            deleting: false,
        },
        uid: uid.into(),
        ready,
        restarts,
        last_exit: None,
    }
}

/// A status as the operator leaves a serving server.
fn serving(p: &Prepared, since: i64, last_activity: i64) -> SparkJobStatus {
    SparkJobStatus {
        state: Some(JobState::Running),
        reason: Some(SERVING.into()),
        spec_hash: Some(hash(p)),
        started_at: Some(rfc3339(at(since))),
        connect: Some(ConnectStatus {
            endpoint: Some("sc://notebooks-connect.data.svc:15002".into()),
            replicas: Some(1),
            last_activity: Some(rfc3339(at(last_activity))),
            restarts: None,
            pod_uid: Some("pod-a".into()),
            pod_restarts: Some(0),
            ..ConnectStatus::default()
        }),
        ..SparkJobStatus::default()
    }
}

fn observe<'a>(
    now: Timestamp,
    status: &'a SparkJobStatus,
    prepared: &'a Prepared,
    replicas: Option<i32>,
    pod: Option<&'a ServerPod>,
    activity: Option<Activity>,
    trigger: Option<&'a str>,
) -> ServerDecision {
    decide(&ServerObserved { now, generation: 1, status, prepared, replicas, pod, activity, trigger })
}

fn applies(d: &ServerDecision) -> Vec<i32> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            ServerAction::Apply { replicas } => Some(*replicas),
            _ => None,
        })
        .collect()
}

fn state(d: &ServerDecision) -> (Option<JobState>, Option<&str>) {
    (d.status.state, d.status.reason.as_deref())
}

fn idle(sessions: u64, operations: u64, last: Option<i64>) -> Option<Activity> {
    Some(Activity { sessions, operations, last: last.map(at) })
}

#[test]
fn a_new_server_is_applied_with_one_replica_and_reports_its_endpoint() {
    let p = prepared(json!({}));
    let d = observe(at(0), &SparkJobStatus::default(), &p, None, None, None, None);
    assert_eq!(applies(&d), [1]);
    assert_eq!(state(&d), (Some(JobState::Submitted), Some("Created")));
    let c = d.status.connect.as_ref().expect("connect status");
    assert_eq!(c.endpoint.as_deref(), Some("sc://notebooks-connect.data.svc:15002"));
    assert_eq!(c.replicas, Some(1));
    assert_eq!(d.status.spec_hash.as_deref(), Some(hash(&p).as_str()));
    assert!(d.requeue_after.is_some());
}

#[test]
fn the_server_moves_from_starting_to_serving_as_its_pod_runs_and_becomes_ready() {
    let p = prepared(json!({}));
    let first = observe(at(0), &SparkJobStatus::default(), &p, None, None, None, None);
    let running = pod(&p, "pod-a", PodPhase::Running, false, 0);
    let starting = observe(at(1), &first.status, &p, Some(1), Some(&running), None, None);
    assert_eq!(state(&starting), (Some(JobState::DriverRunning), Some("Starting")));
    assert_eq!(applies(&starting), Vec::<i32>::new());
    let ready = pod(&p, "pod-a", PodPhase::Running, true, 0);
    let serving = observe(at(2), &starting.status, &p, Some(1), Some(&ready), None, None);
    assert_eq!(state(&serving), (Some(JobState::Running), Some(SERVING)));
    assert_eq!(serving.status.message.as_deref(), Some("serving at sc://notebooks-connect.data.svc:15002"));
    // The idle clock starts when the server becomes ready.
    assert_eq!(serving.status.connect.as_ref().and_then(|c| c.last_activity.clone()), Some(rfc3339(at(2))));
    let pending = pod(&p, "pod-a", PodPhase::Pending, false, 0);
    let waiting = observe(at(0), &first.status, &p, Some(1), Some(&pending), None, None);
    assert_eq!(state(&waiting), (Some(JobState::Submitted), Some("Starting")));
}

#[test]
fn idle_shutdown_follows_sessions_operations_and_the_timeout() {
    let p = prepared(json!({}));
    let ready = pod(&p, "pod-a", PodPhase::Running, true, 0);
    let status = serving(&p, 0, 0);
    // (minute, activity, expected replicas applied, state reason)
    let table: Vec<(i64, Option<Activity>, Vec<i32>, &str)> = vec![
        (29, idle(0, 0, None), vec![], SERVING),
        (30, idle(0, 0, None), vec![0], IDLE),
        (45, idle(0, 0, Some(20)), vec![], SERVING),
        (50, idle(0, 0, Some(20)), vec![0], IDLE),
        (90, idle(1, 0, Some(5)), vec![], SERVING),
        (90, idle(0, 1, None), vec![], SERVING),
        // Activity that could not be read never stops a server.
        (90, None, vec![], SERVING),
    ];
    for (minute, activity, replicas, reason) in table {
        let d = observe(at(minute), &status, &p, Some(1), Some(&ready), activity, None);
        assert_eq!(applies(&d), replicas, "minute {minute}, {activity:?}");
        assert_eq!(d.status.reason.as_deref(), Some(reason), "minute {minute}, {activity:?}");
    }
    let asleep = observe(at(30), &status, &p, Some(1), Some(&ready), idle(0, 0, None), None);
    assert_eq!(state(&asleep), (Some(JobState::Suspended), Some(IDLE)));
    assert_eq!(
        asleep.status.message.as_deref(),
        Some(
            "no open session or operation since 2027-01-15T08:00:00Z (spec.connect.idleTimeout 30m): scaled to 0; `sparkplane trigger` starts it again"
        )
    );
    assert_eq!(asleep.status.connect.as_ref().and_then(|c| c.replicas), Some(0));
    // Busy: the last activity is now, and the server looks again a timeout later.
    let busy = observe(at(90), &status, &p, Some(1), Some(&ready), idle(2, 1, Some(80)), None);
    let c = busy.status.connect.as_ref().expect("connect");
    assert_eq!((c.sessions, c.operations, c.last_activity.clone()), (Some(2), Some(1), Some(rfc3339(at(90)))));
    assert_eq!(busy.requeue_after, Some(Duration::from_secs(1800)));
    // Not due yet: wake when it will be.
    let early = observe(at(10), &status, &p, Some(1), Some(&ready), idle(0, 0, None), None);
    assert_eq!(early.requeue_after, Some(Duration::from_secs(20 * 60)));
}

#[test]
fn without_an_idle_timeout_a_server_runs_on_and_still_reports_sessions() {
    let p = prepared(json!({"connect": null}));
    let ready = pod(&p, "pod-a", PodPhase::Running, true, 0);
    let d = observe(at(600), &serving(&p, 0, 0), &p, Some(1), Some(&ready), idle(0, 0, None), None);
    assert_eq!(applies(&d), Vec::<i32>::new());
    assert_eq!(state(&d), (Some(JobState::Running), Some(SERVING)));
    assert_eq!(d.status.connect.as_ref().and_then(|c| c.sessions), Some(0));
}

#[test]
fn an_idle_server_stays_down_until_a_trigger_or_a_spec_change_wakes_it() {
    let p = prepared(json!({}));
    let ready = pod(&p, "pod-a", PodPhase::Running, true, 0);
    let asleep = observe(at(30), &serving(&p, 0, 0), &p, Some(1), Some(&ready), idle(0, 0, None), None).status;
    // Nothing new: nothing done, even an hour later.
    let still = observe(at(90), &asleep, &p, Some(0), None, None, None);
    assert_eq!((applies(&still), state(&still)), (vec![], (Some(JobState::Suspended), Some(IDLE))));
    // Someone scaled it up by hand: put back to none.
    let scaled = observe(at(91), &asleep, &p, Some(1), None, None, None);
    assert_eq!(applies(&scaled), [0]);
    // `sparkplane trigger`.
    let woken = observe(at(92), &asleep, &p, Some(0), None, None, Some("t-1"));
    assert_eq!(applies(&woken), [1]);
    assert_eq!(state(&woken), (Some(JobState::Submitted), Some("Woken")));
    assert_eq!(woken.status.last_trigger.as_deref(), Some("t-1"));
    assert_eq!(woken.status.connect.as_ref().and_then(|c| c.last_activity.clone()), Some(rfc3339(at(92))));
    // The same trigger again does not wake it a second time.
    let again = observe(at(200), &asleep_with_trigger(&asleep, "t-1"), &p, Some(0), None, None, Some("t-1"));
    assert_eq!(applies(&again), Vec::<i32>::new());
    // A spec change wakes it too.
    let changed = prepared(json!({"executor": {"memory": "4g"}}));
    let d = observe(at(93), &asleep, &changed, Some(0), None, None, None);
    assert_eq!((applies(&d), state(&d)), (vec![1], (Some(JobState::Submitted), Some("SpecChanged"))));
}

fn asleep_with_trigger(status: &SparkJobStatus, trigger: &str) -> SparkJobStatus {
    SparkJobStatus { last_trigger: Some(trigger.into()), ..status.clone() }
}

#[test]
fn restarts_count_container_restarts_and_replaced_pods_under_the_same_spec() {
    let p = prepared(json!({}));
    let status = serving(&p, 0, 0);
    let table: Vec<(&str, u32, Option<u32>)> = vec![
        ("pod-a", 0, None),
        ("pod-a", 2, Some(2)),
        // A new pod that has already restarted once: the replacement and its restart.
        ("pod-b", 1, Some(2)),
    ];
    for (uid, restarts, counted) in table {
        let ready = pod(&p, uid, PodPhase::Running, true, restarts);
        let d = observe(at(1), &status, &p, Some(1), Some(&ready), None, None);
        let c = d.status.connect.as_ref().expect("connect");
        assert_eq!(c.restarts, counted, "{uid} with {restarts} restarts");
        assert_eq!((c.pod_uid.as_deref(), c.pod_restarts), (Some(uid), Some(restarts)));
    }
    // The first pod of a new spec is not a restart, nor is the old spec's pod still going.
    let changed = prepared(json!({"executor": {"memory": "4g"}}));
    let old = pod(&p, "pod-a", PodPhase::Running, true, 0);
    let rolling = observe(at(2), &status, &changed, Some(1), Some(&old), None, None);
    let new = pod(&changed, "pod-c", PodPhase::Running, true, 0);
    let rolled = observe(at(3), &rolling.status, &changed, Some(1), Some(&new), None, None);
    assert_eq!(rolled.status.connect.as_ref().and_then(|c| c.restarts), None);
    assert_eq!(state(&rolled), (Some(JobState::Running), Some(SERVING)));
}

#[test]
fn a_failed_server_pod_reports_its_cause_once_and_serves_again_when_replaced() {
    let p = prepared(json!({}));
    let mut failed = pod(&p, "pod-a", PodPhase::Failed, false, 0);
    failed.driver.terminated = Some(Terminated { reason: Some("OOMKilled".into()), exit_code: 137, message: None });
    let d = observe(at(5), &serving(&p, 0, 0), &p, Some(1), Some(&failed), None, None);
    assert_eq!(state(&d), (Some(JobState::Retrying), Some("OOMKilled")));
    assert_eq!(d.failure, Some(Cause::OOMKilled));
    assert!(d.status.message.as_deref().is_some_and(|m| m.ends_with("; the StatefulSet creates it again")));
    assert!(
        d.actions
            .iter()
            .any(|a| matches!(a, ServerAction::Event { warning: true, reason, .. } if reason == "OOMKilled"))
    );
    // Seen again: not a second failure.
    let again = observe(at(5), &d.status, &p, Some(1), Some(&failed), None, None);
    assert_eq!(again.failure, None);
    let replaced = pod(&p, "pod-b", PodPhase::Running, true, 0);
    let back = observe(at(6), &again.status, &p, Some(1), Some(&replaced), None, None);
    assert_eq!(state(&back), (Some(JobState::Running), Some(SERVING)));
    assert_eq!(back.status.connect.as_ref().and_then(|c| c.restarts), Some(1));
}

#[test]
fn a_crash_looping_server_is_retrying_with_its_last_exit() {
    let p = prepared(json!({}));
    let mut looping = pod(&p, "pod-a", PodPhase::Running, false, 3);
    looping.driver.waiting = Some(("CrashLoopBackOff".into(), "back-off 40s".into()));
    looping.last_exit = Some(Terminated { reason: Some("Error".into()), exit_code: 1, message: None });
    let d = observe(at(5), &serving(&p, 0, 0), &p, Some(1), Some(&looping), None, None);
    assert_eq!(state(&d), (Some(JobState::Retrying), Some("CrashLoopBackOff")));
    assert_eq!(
        d.status.message.as_deref(),
        Some(
            "the server in notebooks-connect-0 keeps ending (last exit code 1, Error); the kubelet restarts it with back-off"
        )
    );
    assert_eq!(d.status.connect.as_ref().and_then(|c| c.restarts), Some(3));
}

#[test]
fn a_lost_server_pod_is_deleted_at_once_then_with_the_specs_backoff() {
    let p = prepared(json!({"restartPolicy": {"backoff": {"initial": "20s"}}}));
    let lost = pod(&p, "pod-a", PodPhase::Unknown, false, 0);
    let d = observe(at(5), &serving(&p, 0, 0), &p, Some(1), Some(&lost), None, None);
    assert_eq!(state(&d), (Some(JobState::Retrying), Some("DriverLost")));
    assert!(d.actions.contains(&ServerAction::DeletePod { pod: "notebooks-connect-0".into() }));
    assert_eq!(d.failure, Some(Cause::DriverLost));
    // Lost again after one restart: the delete waits the first back-off step.
    let mut status = serving(&p, 0, 0);
    status.connect.as_mut().expect("connect").restarts = Some(1);
    let later = observe(at(5), &status, &p, Some(1), Some(&lost), None, None);
    assert!(!later.actions.iter().any(|a| matches!(a, ServerAction::DeletePod { .. })));
    assert_eq!(later.status.next_retry_at, Some(rfc3339(after(at(5), Duration::from_secs(20)))));
    assert_eq!(later.requeue_after, Some(Duration::from_secs(20)));
    let due = observe(after(at(5), Duration::from_secs(20)), &later.status, &p, Some(1), Some(&lost), None, None);
    assert!(due.actions.contains(&ServerAction::DeletePod { pod: "notebooks-connect-0".into() }));
}

#[test]
fn suspend_scales_to_none_and_resume_starts_again() {
    let p = prepared(json!({}));
    let ready = pod(&p, "pod-a", PodPhase::Running, true, 0);
    let held = match prepared(json!({})) {
        Prepared::Ready(mut plan) => {
            plan.suspend = true;
            Prepared::Ready(plan)
        }
        refused => refused,
    };
    let d = observe(at(5), &serving(&p, 0, 0), &held, Some(1), Some(&ready), None, None);
    assert_eq!((applies(&d), state(&d)), (vec![0], (Some(JobState::Suspended), Some("Suspended"))));
    let resumed = observe(at(6), &d.status, &p, Some(0), None, None, None);
    assert_eq!((applies(&resumed), state(&resumed)), (vec![1], (Some(JobState::Submitted), Some("Resumed"))));
}

#[test]
fn a_stateful_set_removed_or_scaled_by_someone_else_is_applied_again() {
    let p = prepared(json!({}));
    let ready = pod(&p, "pod-a", PodPhase::Running, true, 0);
    for replicas in [None, Some(0), Some(3)] {
        let d = observe(at(5), &serving(&p, 0, 4), &p, replicas, Some(&ready), None, None);
        assert_eq!(applies(&d), [1], "{replicas:?}");
    }
}

#[test]
fn a_refused_server_fails_with_the_validation_message() {
    let p = prepared(json!({"connect": {"idleTimeout": "30s"}}));
    let d = observe(at(0), &SparkJobStatus::default(), &p, None, None, None, None);
    assert_eq!(state(&d), (Some(JobState::Failed), Some("InvalidSpec")));
    assert_eq!(
        d.status.message.as_deref(),
        Some(
            "spec.connect.idleTimeout: `30s` is shorter than a minute: the server would stop between a notebook's cells (fix: use `idleTimeout: 30m` (at least `1m`), or leave it out to keep the server running)"
        )
    );
    assert!(d.actions.iter().all(|a| matches!(a, ServerAction::Event { .. })));
}

#[test]
fn the_image_that_cannot_be_pulled_is_named_while_the_server_waits() {
    let p = prepared(json!({}));
    let first = observe(at(0), &SparkJobStatus::default(), &p, None, None, None, None);
    let mut stuck = pod(&p, "pod-a", PodPhase::Pending, false, 0);
    stuck.driver.waiting = Some(("ImagePullBackOff".into(), "Back-off pulling image".into()));
    let d = observe(at(1), &first.status, &p, Some(1), Some(&stuck), None, None);
    assert_eq!(state(&d), (Some(JobState::Submitted), Some("ImagePullBackOff")));
    let late = observe(at(20), &first.status, &p, Some(1), Some(&stuck), None, None);
    assert!(late.status.message.as_deref().is_some_and(|m| m.ends_with("(for longer than timeouts.driverStart, 10m)")));
}

#[test]
fn with_replicas_sets_only_the_stateful_sets() {
    let objects = vec![
        RenderedObject {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            name: "a".into(),
            namespace: None,
            body: json!({"spec": {"replicas": 1}}),
        },
        RenderedObject {
            api_version: "v1".into(),
            kind: "Service".into(),
            name: "a".into(),
            namespace: None,
            body: json!({"spec": {}}),
        },
    ];
    let scaled = with_replicas(objects, 0);
    assert_eq!(scaled[0].body["spec"]["replicas"], 0);
    assert_eq!(scaled[1].body, json!({"spec": {}}));
}
