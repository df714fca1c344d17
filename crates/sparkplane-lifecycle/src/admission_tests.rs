//! Kueue mode as tables: what a Workload says becomes an admission, and
//! what the run became says what happens to its Workload.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use sparkplane_api::job::{RestartKind, SparkJobStatus};

use super::*;
use crate::cause::RetryRule;
use crate::lifecycle::{Action, Observed, decide};
use crate::plan::{Plan, Prepared};
use crate::view::{DriverView, ExecutorView, PodPhase};
use sparkplane_core::sizing::size_job;

fn cond(kind: &str, status: bool, reason: &str, message: &str) -> serde_json::Value {
    json!({"type": kind, "status": if status { "True" } else { "False" }, "reason": reason, "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

fn workload(conditions: Vec<serde_json::Value>, admission: Option<serde_json::Value>) -> WorkloadView {
    let mut w = json!({"metadata": {"name": "sparkjob-etl-abcd1234"}, "status": {"conditions": conditions}});
    if let Some(a) = admission {
        w["status"]["admission"] = a;
    }
    WorkloadView::of(&w)
}

const PREEMPTED: &str = "Preempted to accommodate a workload (UID: u-2, JobUID: UNKNOWN) due to prioritization in the ClusterQueue; preemptor path: /team; preemptee path: /team";

fn admitted() -> serde_json::Value {
    json!({"clusterQueue": "team", "podSetAssignments": [
        {"name": "driver", "count": 1, "flavors": {"cpu": "spot", "memory": "spot"}},
        {"name": "executor", "count": 3, "flavors": {"cpu": "spot", "memory": "spot"}},
    ]})
}

#[test]
fn a_workload_becomes_the_runs_admission() {
    let waiting = |m: &str| Admission::Waiting { reason: "WaitingForAdmission".into(), message: m.into() };
    let rows: Vec<(&str, Option<WorkloadView>, Admission)> = vec![
        ("not created", None, waiting("the Workload is being created for Kueue to admit")),
        (
            "created, not looked at yet",
            Some(workload(vec![], None)),
            waiting("the Workload sparkjob-etl-abcd1234 waits for Kueue to admit it"),
        ),
        (
            "pending on quota: Kueue's words",
            Some(workload(
                vec![cond(
                    "QuotaReserved",
                    false,
                    "Pending",
                    "couldn't assign flavors to pod set executor: insufficient unused quota for cpu in flavor spot, 2 more needed",
                )],
                None,
            )),
            waiting(
                "Kueue: couldn't assign flavors to pod set executor: insufficient unused quota for cpu in flavor spot, 2 more needed",
            ),
        ),
        (
            "no such LocalQueue",
            Some(workload(vec![cond("QuotaReserved", false, "Inadmissible", "LocalQueue team doesn't exist")], None)),
            waiting("Kueue: LocalQueue team doesn't exist"),
        ),
        (
            "admitted",
            Some(workload(
                vec![
                    cond("QuotaReserved", true, "QuotaReserved", "Quota reserved in ClusterQueue team"),
                    cond("Admitted", true, "Admitted", "The workload is admitted"),
                ],
                Some(admitted()),
            )),
            Admission::Admit,
        ),
        (
            "evicted, still holding quota: the preemptor's reason",
            Some(workload(
                vec![
                    cond("QuotaReserved", true, "QuotaReserved", "Quota reserved in ClusterQueue team"),
                    cond("Admitted", true, "Admitted", "The workload is admitted"),
                    cond("Evicted", true, "Preempted", PREEMPTED),
                    cond("Preempted", true, "InClusterQueue", PREEMPTED),
                ],
                Some(admitted()),
            )),
            Admission::Evicted { reason: "Preempted".into(), message: PREEMPTED.into() },
        ),
        (
            "evicted and released: waiting again",
            Some(workload(
                vec![cond("QuotaReserved", false, "Pending", PREEMPTED), cond("Evicted", true, "Preempted", PREEMPTED)],
                None,
            )),
            waiting(&format!("Kueue: {PREEMPTED}")),
        ),
        (
            "finished: a new one is needed",
            Some(workload(vec![cond("Finished", true, "Succeeded", "done")], None)),
            waiting("the Workload sparkjob-etl-abcd1234 ended; a new one is made for this run"),
        ),
    ];
    for (name, w, expected) in rows {
        assert_eq!(admission(w.as_ref()), expected, "{name}");
    }
}

fn facts(w: Option<&WorkloadView>, state: Option<JobState>, pods_left: bool) -> RunFacts<'_> {
    RunFacts { workload: w, state, reason: None, message: Some("the application completed"), pods_left }
}

#[test]
fn the_runs_state_says_what_happens_to_its_workload() {
    let evicted = workload(
        vec![cond("QuotaReserved", true, "QuotaReserved", "q"), cond("Evicted", true, "Preempted", PREEMPTED)],
        Some(admitted()),
    );
    let running = workload(
        vec![cond("QuotaReserved", true, "QuotaReserved", "q"), cond("Admitted", true, "Admitted", "a")],
        Some(admitted()),
    );
    let finished = workload(vec![cond("Finished", true, "Succeeded", "done")], None);
    let release = vec![WorkloadAction::Release { reason: "Preempted".into(), message: PREEMPTED.into() }];
    let rows: Vec<(&str, RunFacts<'_>, Vec<WorkloadAction>)> = vec![
        ("queued without one: create it", facts(None, Some(JobState::Queued), false), vec![WorkloadAction::Create]),
        ("a new job: create it", facts(None, None, false), vec![WorkloadAction::Create]),
        ("running without one (adopted): leave it", facts(None, Some(JobState::Running), true), vec![]),
        ("admitted and running: nothing", facts(Some(&running), Some(JobState::Running), true), vec![]),
        ("evicted, pods still stopping: wait", facts(Some(&evicted), Some(JobState::Queued), true), vec![]),
        ("evicted, pods gone: give the quota back", facts(Some(&evicted), Some(JobState::Queued), false), release),
        (
            "evicted but still running (the stop comes first)",
            facts(Some(&evicted), Some(JobState::Running), false),
            vec![],
        ),
        (
            "succeeded: finished",
            facts(Some(&running), Some(JobState::Succeeded), false),
            vec![WorkloadAction::Finish { reason: "Succeeded".into(), message: "the application completed".into() }],
        ),
        (
            "failed: finished",
            facts(Some(&running), Some(JobState::Failed), false),
            vec![WorkloadAction::Finish { reason: "Failed".into(), message: "the application completed".into() }],
        ),
        ("finished and ended: nothing more", facts(Some(&finished), Some(JobState::Succeeded), false), vec![]),
        (
            "rerun after it finished: make room for a new one",
            facts(Some(&finished), Some(JobState::Queued), false),
            vec![WorkloadAction::Delete],
        ),
        (
            "suspended: no admission held",
            facts(Some(&running), Some(JobState::Suspended), false),
            vec![WorkloadAction::Delete],
        ),
    ];
    for (name, facts, expected) in rows {
        assert_eq!(workload_actions(&facts), expected, "{name}");
    }
    assert!(requeued_after("Preempted") && requeued_after("NodeFailures") && !requeued_after("ClusterQueueStopped"));
}

#[test]
fn the_admissions_flavors_place_the_pods_and_its_count_caps_the_executors() {
    let w = workload(vec![], Some(admitted()));
    assert_eq!(w.flavors, ["spot"]);
    let flavors = vec![
        json!({"metadata": {"name": "on-demand"}, "spec": {"nodeLabels": {"pool": "general"}}}),
        json!({"metadata": {"name": "spot"}, "spec": {"nodeLabels": {"pool": "spot"}, "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]}}),
    ];
    let placed = placement(&w, &flavors, 8);
    assert_eq!(placed.executors, 3);
    assert_eq!(placed.node_selector, BTreeMap::from([("pool".to_owned(), "spot".to_owned())]));
    assert_eq!(placed.tolerations.len(), 1);
    assert_eq!(placed.tolerations[0].key.as_deref(), Some("spot"));
    // A flavor Kueue names that is gone places nothing; the count falls back to what was asked.
    let bare = workload(
        vec![],
        Some(
            json!({"clusterQueue": "team", "podSetAssignments": [{"name": "driver", "count": 1, "flavors": {"cpu": "gone"}}]}),
        ),
    );
    let placed = placement(&bare, &flavors, 8);
    assert_eq!((placed.executors, placed.node_selector.len()), (8, 0));
}

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + seconds).expect("time")
}

fn plan() -> Plan {
    Plan {
        spec_hash: "abcd1234".into(),
        suspend: false,
        retry: RetryRule {
            kind: RestartKind::OnFailure,
            retries: 2,
            initial: Duration::from_secs(30),
            max: Duration::from_secs(600),
            multiplier: 2.0,
        },
        driver_start: Duration::from_secs(120),
        executor_start: None,
        max_duration: None,
        ttl: None,
        initial_executors: 2,
        admission: size_job(&sparkplane_api::SparkJobSpec::default()),
        priority_class: None,
        queue: None,
        schedule: None,
        server: None,
        quality_gates: Vec::new(),
    }
}

fn decided(status: &SparkJobStatus, driver: Option<&DriverView>, admission: Admission) -> crate::Decision {
    let prepared = Prepared::Ready(Box::new(plan()));
    decide(&Observed {
        now: t(100),
        generation: 1,
        status,
        prepared: &prepared,
        driver,
        driver_gone: false,
        executors: ExecutorView::default(),
        driver_log: None,
        admission,
        trigger: None,
        archive_logs: false,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    })
}

#[test]
fn an_evicted_run_is_stopped_and_queued_again_without_using_a_retry() {
    let status = SparkJobStatus {
        state: Some(JobState::Running),
        reason: Some("Running".into()),
        spec_hash: Some("abcd1234".into()),
        attempt: Some(1),
        retries: Some(1),
        driver_pod: Some("etl-1-driver".into()),
        submitted_at: Some(crate::rfc3339(t(0))),
        started_at: Some(crate::rfc3339(t(10))),
        ..SparkJobStatus::default()
    };
    let driver = DriverView {
        name: "etl-1-driver".into(),
        attempt: 1,
        spec_hash: Some("abcd1234".into()),
        app_id: None,
        phase: PodPhase::Running,
        waiting: None,
        unschedulable: None,
        terminated: None,
        pod_reason: None,
        running_since: Some(t(10)),
        deleting: false,
    };
    let d =
        decided(&status, Some(&driver), Admission::Evicted { reason: "Preempted".into(), message: PREEMPTED.into() });
    assert_eq!(d.status.state, Some(JobState::Queued));
    assert_eq!(d.status.reason.as_deref(), Some("Preempted"));
    assert_eq!(
        d.status.message.as_deref(),
        Some(
            format!("{PREEMPTED}; the driver was stopped and the run is queued again (not counted as a failure)")
                .as_str()
        )
    );
    assert_eq!(d.status.retries, Some(1), "no retry used");
    assert_eq!(d.status.driver_pod, None);
    assert!(d.actions.contains(&Action::DeleteDriver { pod: "etl-1-driver".into() }));
    assert!(d.actions.iter().any(|a| matches!(a, Action::Event { reason, .. } if reason == "Preempted")));
    assert_eq!(d.status.transitions.last().and_then(|t| t.reason.as_deref()), Some("Preempted"));
    // Queued again, while Kueue has not admitted it: Kueue's message.
    let waiting = Admission::Waiting { reason: "WaitingForAdmission".into(), message: format!("Kueue: {PREEMPTED}") };
    let again = decided(&d.status, None, waiting);
    assert_eq!(
        (again.status.state, again.status.reason.as_deref()),
        (Some(JobState::Queued), Some("WaitingForAdmission"))
    );
    assert!(again.actions.iter().all(|a| !matches!(a, Action::Submit { .. })), "no pod before admission");
    // Admitted again: the next attempt, retries untouched.
    let resumed = decided(&again.status, None, Admission::Admit);
    assert_eq!(resumed.status.state, Some(JobState::Submitted));
    assert!(resumed.actions.contains(&Action::Submit { attempt: 2 }));
    assert_eq!(resumed.status.retries, Some(1));
}
