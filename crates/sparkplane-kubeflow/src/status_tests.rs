//! The Kubeflow shape against the one state machine: a run driven through
//! `lifecycle::decide` step by step, deciding each time on the status read
//! back from Kubeflow's shape (as the operator does), must take the same
//! actions as on the exact status, and end where Kubeflow's documentation
//! and end-to-end tests say.

use std::time::Duration;

use jiff::Timestamp;
use sparkplane_api::job::{ExecutorStates, JobState, RestartKind, SparkJobStatus};
use sparkplane_api::kubeflow::{ApplicationState, SparkApplicationStatus};
use sparkplane_lifecycle::lifecycle::{Action, Admission, Observed, decide};
use sparkplane_lifecycle::plan::{Plan, Prepared};
use sparkplane_lifecycle::view::{DriverView, ExecutorView, PodPhase, Terminated};
use sparkplane_lifecycle::{Cause, RetryRule};

use super::*;

const HASH: &str = "abcd1234";

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + seconds).expect("time")
}

/// Kubeflow's `fail-application` example: `restartPolicy: OnFailure`,
/// `onFailureRetries: 3`, `onFailureRetryInterval: 1` (as the import maps it:
/// the same wait before every retry).
fn plan() -> Plan {
    Plan {
        spec_hash: HASH.into(),
        suspend: false,
        retry: RetryRule {
            kind: RestartKind::OnFailure,
            retries: 3,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            multiplier: 1.0,
        },
        driver_start: Duration::from_secs(120),
        executor_start: None,
        max_duration: None,
        ttl: None,
        initial_executors: 1,
        admission: sparkplane_core::sizing::size_job(&sparkplane_api::SparkJobSpec::default()),
        priority_class: None,
        queue: None,
        schedule: None,
        server: None,
        quality_gates: Vec::new(),
    }
}

fn driver(attempt: u32, phase: PodPhase) -> DriverView {
    DriverView {
        name: format!("fail-submission-{HASH}-{attempt}-driver"),
        attempt,
        spec_hash: Some(HASH.into()),
        app_id: Some(format!("spark-{attempt}")),
        phase,
        waiting: None,
        unschedulable: None,
        terminated: (phase == PodPhase::Failed).then(|| Terminated {
            reason: Some("Error".into()),
            exit_code: 1,
            message: None,
        }),
        pod_reason: None,
        running_since: Some(t(0)),
        deleting: false,
    }
}

fn decide_on(status: &SparkJobStatus, prepared: &Prepared, driver: Option<&DriverView>, now: Timestamp) -> Vec<Action> {
    let executors = ExecutorView {
        states: ExecutorStates {
            running: u32::from(driver.is_some_and(|d| d.phase == PodPhase::Running)),
            ..ExecutorStates::default()
        },
        ..ExecutorView::default()
    };
    let o = Observed {
        now,
        generation: 1,
        status,
        prepared,
        driver,
        driver_gone: false,
        executors,
        driver_log: None,
        admission: Admission::Admit,
        trigger: None,
        archive_logs: false,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let mut d = decide(&o);
    d.actions.retain(|a| !matches!(a, Action::Event { .. }));
    d.actions
}

/// Decides on the status read back from Kubeflow's shape, checks the exact
/// status decides the same, and returns the new exact status with the
/// Kubeflow status written for it.
fn step(
    exact: &SparkJobStatus,
    written: &SparkApplicationStatus,
    driver: Option<&DriverView>,
    now: Timestamp,
    log: &mut Vec<String>,
) -> (SparkJobStatus, SparkApplicationStatus) {
    let prepared = Prepared::Ready(Box::new(plan()));
    let read_back = run_status(written, Some(HASH), &plan().retry);
    let o = |status| Observed {
        now,
        generation: 1,
        status,
        prepared: &prepared,
        driver,
        driver_gone: false,
        executors: ExecutorView {
            states: ExecutorStates {
                running: u32::from(driver.is_some_and(|d| d.phase == PodPhase::Running)),
                ..ExecutorStates::default()
            },
            ..ExecutorView::default()
        },
        driver_log: None,
        admission: Admission::Admit,
        trigger: None,
        archive_logs: false,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let on_exact = decide(&o(exact));
    let on_read = decide(&o(&read_back));
    let actions = |d: &sparkplane_lifecycle::Decision| -> Vec<Action> {
        d.actions.iter().filter(|a| !matches!(a, Action::Event { .. })).cloned().collect()
    };
    assert_eq!(actions(&on_read), actions(&on_exact), "the same actions on the status read back (now {now})");
    let pods = [];
    let from_exact = application_status(&on_exact.status, &plan().retry, written, &pods, MAX_TRACKED_EXECUTORS);
    let from_read = application_status(&on_read.status, &plan().retry, written, &pods, MAX_TRACKED_EXECUTORS);
    assert_eq!(from_read, from_exact, "the same Kubeflow status either way (now {now})");
    let again = application_status(
        &run_status(&from_exact, Some(HASH), &plan().retry),
        &plan().retry,
        &from_exact,
        &pods,
        MAX_TRACKED_EXECUTORS,
    );
    assert_eq!(again, from_exact, "reading back and writing again changes nothing");
    let state = from_exact.application_state.as_ref().map(|s| s.state.clone()).unwrap_or_default();
    if log.last() != Some(&state) {
        log.push(state);
    }
    (on_exact.status, from_exact)
}

#[test]
fn a_failing_application_ends_failed_after_its_retries_as_kubeflows_end_to_end_test_expects() {
    let mut exact = SparkJobStatus::default();
    let mut written = SparkApplicationStatus::default();
    let mut states = Vec::new();
    let mut now = 0;
    for attempt in 1..=4 {
        // Queued (or due for a retry) → Submitted.
        (exact, written) = step(&exact, &written, None, t(now), &mut states);
        assert_eq!(exact.attempt, Some(attempt));
        now += 1;
        (exact, written) = step(&exact, &written, Some(&driver(attempt, PodPhase::Running)), t(now), &mut states);
        now += 1;
        (exact, written) = step(&exact, &written, Some(&driver(attempt, PodPhase::Failed)), t(now), &mut states);
        // The retry interval (1 s) passes.
        now += 2;
    }
    assert_eq!(exact.state, Some(JobState::Failed));
    let state = written.application_state.clone().unwrap_or_default();
    assert_eq!(state.state, FAILED);
    assert!(
        state.error_message.as_deref().is_some_and(|m| m.contains("driver container failed")),
        "{:?}",
        state.error_message
    );
    assert_eq!(written.execution_attempts, Some(4), "onFailureRetries + 1");
    assert_eq!(written.submission_attempts, Some(4));
    assert_eq!(written.termination_time.as_deref(), exact.finished_at.as_deref());
    // Every state before the last is one Kubeflow's test allows for a failing application.
    let allowed = [NEW, SUBMITTED, RUNNING, FAILING, PENDING_RERUN];
    assert!(states[..states.len() - 1].iter().all(|s| allowed.contains(&s.as_str())), "{states:?}");
    assert_eq!(
        states,
        [
            SUBMITTED, RUNNING, FAILING, SUBMITTED, RUNNING, FAILING, SUBMITTED, RUNNING, FAILING, SUBMITTED, RUNNING,
            FAILED
        ]
    );
}

#[test]
fn a_succeeding_application_is_submitted_running_and_completed() {
    let mut exact = SparkJobStatus::default();
    let mut written = SparkApplicationStatus::default();
    let mut states = Vec::new();
    (exact, written) = step(&exact, &written, None, t(0), &mut states);
    (exact, written) = step(&exact, &written, Some(&driver(1, PodPhase::Pending)), t(1), &mut states);
    (exact, written) = step(&exact, &written, Some(&driver(1, PodPhase::Running)), t(2), &mut states);
    (exact, written) = step(&exact, &written, Some(&driver(1, PodPhase::Succeeded)), t(3), &mut states);
    assert_eq!(exact.state, Some(JobState::Succeeded));
    assert_eq!(states, [SUBMITTED, RUNNING, COMPLETED]);
    assert_eq!(written.execution_attempts, Some(1));
    assert_eq!(written.submission_id.as_deref(), Some("abcd1234-1"));
    assert_eq!(written.driver_info.and_then(|d| d.pod_name), Some(format!("fail-submission-{HASH}-1-driver")));
    assert_eq!(written.spark_application_id.as_deref(), Some("spark-1"));
    assert_eq!(written.last_submission_attempt_time, Some(sparkplane_lifecycle::rfc3339(t(0))));
    assert_eq!(written.termination_time, Some(sparkplane_lifecycle::rfc3339(t(3))));
    assert!(written.application_state.and_then(|s| s.error_message).is_none());
}

#[test]
fn an_invalid_application_fails_once_without_a_submission() {
    let prepared = Prepared::Refused { cause: Cause::InvalidSpec, message: "spec.driver.memory: bad".into() };
    let first = decide_on(&SparkJobStatus::default(), &prepared, None, t(0));
    assert!(first.is_empty(), "{first:?}");
    let o = |status| Observed {
        now: t(5),
        generation: 1,
        status,
        prepared: &prepared,
        driver: None,
        driver_gone: false,
        executors: ExecutorView::default(),
        driver_log: None,
        admission: Admission::Admit,
        trigger: None,
        archive_logs: false,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let fresh = SparkJobStatus::default();
    let failed = decide(&o(&fresh)).status;
    let written =
        application_status(&failed, &plan().retry, &SparkApplicationStatus::default(), &[], MAX_TRACKED_EXECUTORS);
    let state = written.application_state.clone().unwrap_or_default();
    assert_eq!(
        (state.state.as_str(), state.error_message.as_deref()),
        (FAILED, Some("InvalidSpec: spec.driver.memory: bad"))
    );
    assert_eq!(written.execution_attempts, None, "nothing was submitted");
    // Read back later, the decision is the same failure: no new time, no Event.
    let read_back = run_status(&written, None, &plan().retry);
    let again = decide(&o(&read_back));
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert_eq!(application_status(&again.status, &plan().retry, &written, &[], MAX_TRACKED_EXECUTORS), written);
}

#[test]
fn a_status_kubeflow_wrote_is_taken_over_not_run_again() {
    let kubeflow = |state: &str| SparkApplicationStatus {
        submission_id: Some("5b7c8e7a-2f0e-4b8e-9c61-3b1e2f4d6a10".into()),
        application_state: Some(ApplicationState { state: state.into(), error_message: None }),
        execution_attempts: Some(1),
        termination_time: Some("2026-11-20T10:00:00Z".into()),
        ..SparkApplicationStatus::default()
    };
    let rule = plan().retry;
    let completed = run_status(&kubeflow(COMPLETED), Some(HASH), &rule);
    assert_eq!((completed.state, completed.spec_hash.as_deref()), (Some(JobState::Succeeded), Some(HASH)));
    assert_eq!(completed.finished_at.as_deref(), Some("2026-11-20T10:00:00Z"));
    assert_eq!(run_status(&kubeflow(FAILED), Some(HASH), &rule).state, Some(JobState::Failed));
    // Its status is not rewritten while nothing new happens: Kubeflow's own words and counts stay.
    let mut ended = kubeflow(FAILED);
    ended.application_state = Some(ApplicationState {
        state: FAILED.into(),
        error_message: Some("driver container failed with ExitCode: 1, Reason: Error".into()),
    });
    ended.submission_attempts = Some(2);
    ended.driver_info = Some(sparkplane_api::kubeflow::DriverInfo {
        pod_name: Some("pi-driver".into()),
        web_ui_port: Some(4040),
        ..Default::default()
    });
    let read = run_status(&ended, Some(HASH), &rule);
    assert_eq!(application_status(&read, &rule, &ended, &[], MAX_TRACKED_EXECUTORS), ended);
    // New, or invalidated by a spec change: a run starts.
    assert_eq!(run_status(&kubeflow(NEW), Some(HASH), &rule).state, None);
    assert_eq!(run_status(&kubeflow(INVALIDATING), Some(HASH), &rule).state, None);
}

#[test]
fn submission_ids_sparkplane_wrote_are_told_from_kubeflows() {
    assert_eq!(parse_submission_id(&submission_id("abcd1234", 7)), Some(("abcd1234".into(), 7)));
    assert_eq!(parse_submission_id("5b7c8e7a-2f0e-4b8e-9c61-3b1e2f4d6a10"), None);
    assert_eq!(parse_submission_id("abcd1234-"), None);
    assert_eq!(parse_submission_id("ABCD1234-1"), None);
    assert_eq!(parse_submission_id(""), None);
}

#[test]
fn error_messages_read_back_to_their_cause() {
    assert_eq!(
        read_error("driver container failed with ExitCode: 137, Reason: OOMKilled; the driver ran out of memory"),
        (Some(137), Some("OOMKilled".into()), "the driver ran out of memory".into())
    );
    assert_eq!(
        read_error("DriverLost: the pod was deleted"),
        (None, Some("DriverLost".into()), "the pod was deleted".into())
    );
    // Kubeflow's own message: no cause of ours in it.
    assert_eq!(
        read_error("failed to run spark-submit: exit status 1"),
        (None, None, "failed to run spark-submit: exit status 1".into())
    );
}

#[test]
fn executors_are_kept_as_kubeflow_keeps_them_and_bounded_by_their_id() {
    let run = |state| SparkJobStatus { state: Some(state), driver_pod: Some("d".into()), ..SparkJobStatus::default() };
    let pods: Vec<ExecutorPod> = [(1, PodPhase::Running), (2, PodPhase::Pending), (3, PodPhase::Failed)]
        .into_iter()
        .map(|(id, phase)| ExecutorPod {
            name: format!("app-exec-{id}"),
            id: executor_id(&format!("app-exec-{id}")),
            phase,
        })
        .collect();
    let rule = plan().retry;
    let running = application_status(&run(JobState::Running), &rule, &SparkApplicationStatus::default(), &pods, 2);
    let names: Vec<(&str, &str)> = running.executor_state.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(names, [("app-exec-1", "RUNNING"), ("app-exec-2", "PENDING")], "id 3 is above the bound of 2");
    // Gone while the driver runs: unknown; once the application completed: completed; failed otherwise.
    let gone = application_status(&run(JobState::Running), &rule, &running, &[], 2);
    assert!(gone.executor_state.values().all(|s| s == "UNKNOWN"), "{:?}", gone.executor_state);
    let done = application_status(&run(JobState::Succeeded), &rule, &running, &[], 2);
    assert!(done.executor_state.values().all(|s| s == "COMPLETED"), "{:?}", done.executor_state);
    let failed = application_status(&run(JobState::Failed), &rule, &running, &[], 2);
    assert!(failed.executor_state.values().all(|s| s == "FAILED"), "{:?}", failed.executor_state);
    // A new driver starts a new map.
    let next = SparkJobStatus { driver_pod: Some("d2".into()), ..run(JobState::Submitted) };
    assert!(application_status(&next, &rule, &running, &[], 2).executor_state.is_empty());
    assert_eq!(executor_id("spark-pi-abc-exec-12"), Some(12));
    assert_eq!(executor_id("spark-pi-driver"), None);
}
