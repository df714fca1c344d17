//! The state machine as a table: each row is a status, what the cluster
//! shows, and the state, reason and actions that must follow.

use std::time::Duration;

use jiff::Timestamp;
use sparkplane_api::job::{ExecutorStates, JobState, RestartKind, SparkJobStatus};

use super::*;
use crate::cause::RetryRule;
use crate::plan::Plan;
use crate::view::Terminated;
use sparkplane_core::sizing::size_job;

const HASH: &str = "abcd1234";

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_795_000_000 + seconds).expect("time")
}

fn plan(kind: RestartKind, retries: u32) -> Plan {
    Plan {
        spec_hash: HASH.into(),
        suspend: false,
        retry: RetryRule {
            kind,
            retries,
            initial: Duration::from_secs(30),
            max: Duration::from_secs(600),
            multiplier: 2.0,
        },
        driver_start: Duration::from_secs(120),
        executor_start: Some(Duration::from_secs(300)),
        max_duration: Some(Duration::from_secs(3600)),
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

fn status(state: JobState, attempt: u32, at: i64) -> SparkJobStatus {
    SparkJobStatus {
        state: Some(state),
        reason: Some(state.as_str().into()),
        spec_hash: Some(HASH.into()),
        attempt: Some(attempt),
        driver_pod: Some(format!("job-{attempt}-driver")),
        queued_at: Some(crate::rfc3339(t(0))),
        submitted_at: Some(crate::rfc3339(t(at))),
        started_at: matches!(state, JobState::DriverRunning | JobState::Running).then(|| crate::rfc3339(t(at))),
        ..SparkJobStatus::default()
    }
}

fn driver(attempt: u32, phase: PodPhase) -> DriverView {
    DriverView {
        name: format!("job-{attempt}-driver"),
        attempt,
        spec_hash: Some(HASH.into()),
        app_id: Some(format!("spark-{attempt}")),
        phase,
        waiting: None,
        unschedulable: None,
        terminated: None,
        pod_reason: None,
        running_since: Some(t(10)),
        deleting: false,
    }
}

struct Row {
    name: &'static str,
    plan: Plan,
    status: SparkJobStatus,
    driver: Option<DriverView>,
    driver_gone: bool,
    executors: ExecutorView,
    admission: Admission,
    now: i64,
    log: Option<&'static str>,
    taken: Vec<DriverView>,
    state: JobState,
    reason: &'static str,
    actions: Vec<Action>,
}

fn row(name: &'static str, status: SparkJobStatus, driver: Option<DriverView>, now: i64) -> Row {
    Row {
        name,
        plan: plan(RestartKind::OnFailure, 2),
        status,
        driver,
        driver_gone: false,
        executors: ExecutorView::default(),
        admission: Admission::Admit,
        now,
        log: None,
        taken: vec![],
        state: JobState::Queued,
        reason: "",
        actions: vec![],
    }
}

fn run(r: &Row) -> Decision {
    run_with_gates(r, None, None)
}

fn run_with_gates(r: &Row, gate_check: Option<&GateCheckView>, gate_log: Option<&str>) -> Decision {
    let prepared = Prepared::Ready(Box::new(r.plan.clone()));
    let observed = Observed {
        now: t(r.now),
        generation: 1,
        status: &r.status,
        prepared: &prepared,
        driver: r.driver.as_ref(),
        driver_gone: r.driver_gone,
        executors: r.executors.clone(),
        driver_log: r.log,
        admission: r.admission.clone(),
        trigger: None,
        archive_logs: false,
        taken: &r.taken,
        gate_check,
        gate_log,
        gate_bytes: None,
    };
    decide(&observed)
}

fn without_events(actions: &[Action]) -> Vec<Action> {
    actions.iter().filter(|a| !matches!(a, Action::Event { .. })).cloned().collect()
}

#[test]
fn the_state_machine_table() {
    let submit = |attempt| Action::Submit { attempt };
    let delete = |pod: &str| Action::DeleteDriver { pod: pod.into() };
    let running_execs =
        ExecutorView { states: ExecutorStates { running: 2, ..Default::default() }, ..Default::default() };
    let rows = vec![
        Row {
            state: JobState::Submitted,
            reason: "Submitted",
            actions: vec![submit(1)],
            ..row("new job is admitted and submitted", SparkJobStatus::default(), None, 0)
        },
        Row {
            admission: Admission::Wait("queued behind 1 other application(s)".into()),
            state: JobState::Queued,
            reason: "QuotaWait",
            ..row("new job waits for room", SparkJobStatus::default(), None, 0)
        },
        Row {
            taken: vec![driver(1, PodPhase::Running)],
            state: JobState::Queued,
            reason: "DriverNameTaken",
            ..row(
                "a pod of another owner holds the driver's name: wait, never adopt",
                SparkJobStatus::default(),
                None,
                0,
            )
        },
        Row {
            taken: vec![driver(1, PodPhase::Running)],
            state: JobState::Submitted,
            reason: "Submitted",
            actions: vec![submit(3)],
            ..row(
                "another owner's pod of an older attempt is no obstacle",
                SparkJobStatus { next_retry_at: Some(crate::rfc3339(t(10))), ..status(JobState::Retrying, 2, 0) },
                None,
                10,
            )
        },
        Row {
            admission: Admission::Never("too big".into()),
            state: JobState::Failed,
            reason: "QuotaExceeded",
            ..row("new job can never fit", SparkJobStatus::default(), None, 0)
        },
        Row {
            state: JobState::Submitted,
            reason: "Submitted",
            ..row("driver created, cache lags: wait", status(JobState::Submitted, 1, 0), None, 1)
        },
        Row {
            driver_gone: true,
            state: JobState::Retrying,
            reason: "DriverLost",
            ..row("driver deleted by someone: retried", status(JobState::Submitted, 1, 0), None, 5)
        },
        Row {
            state: JobState::DriverRunning,
            reason: "DriverRunning",
            ..row("driver runs", status(JobState::Submitted, 1, 0), Some(driver(1, PodPhase::Running)), 12)
        },
        Row {
            executors: running_execs.clone(),
            state: JobState::Running,
            reason: "Running",
            ..row("executors run", status(JobState::DriverRunning, 1, 0), Some(driver(1, PodPhase::Running)), 20)
        },
        Row {
            state: JobState::Succeeded,
            reason: "Succeeded",
            ..row("driver succeeded", status(JobState::Running, 1, 0), Some(driver(1, PodPhase::Succeeded)), 90)
        },
        Row {
            log: Some("Traceback (most recent call last):\nValueError: bad row\n"),
            driver: Some(DriverView {
                terminated: Some(Terminated { reason: Some("Error".into()), exit_code: 1, message: None }),
                ..driver(1, PodPhase::Failed)
            }),
            state: JobState::Retrying,
            reason: "DriverFailed",
            ..row("driver failed, retries left", status(JobState::Running, 1, 0), None, 90)
        },
        Row {
            plan: plan(RestartKind::Never, 0),
            driver: Some(DriverView {
                terminated: Some(Terminated { reason: Some("OOMKilled".into()), exit_code: 137, message: None }),
                ..driver(1, PodPhase::Failed)
            }),
            state: JobState::Failed,
            reason: "OOMKilled",
            ..row("OOMKilled under Never fails", status(JobState::Running, 1, 0), None, 90)
        },
        Row {
            plan: plan(RestartKind::OnInfrastructureFailure, 1),
            driver: Some(DriverView {
                pod_reason: Some(("Evicted".into(), "node drained".into())),
                ..driver(1, PodPhase::Failed)
            }),
            state: JobState::Retrying,
            reason: "Evicted",
            ..row("eviction retried under OnInfrastructureFailure", status(JobState::Running, 1, 0), None, 90)
        },
        Row {
            plan: plan(RestartKind::OnInfrastructureFailure, 1),
            driver: Some(DriverView {
                terminated: Some(Terminated { reason: Some("Error".into()), exit_code: 1, message: None }),
                ..driver(1, PodPhase::Failed)
            }),
            state: JobState::Failed,
            reason: "DriverFailed",
            ..row("app failure not retried under OnInfrastructureFailure", status(JobState::Running, 1, 0), None, 90)
        },
        Row {
            plan: plan(RestartKind::OnFailure, 1),
            status: SparkJobStatus { retries: Some(1), ..status(JobState::Running, 2, 0) },
            driver: Some(DriverView {
                pod_reason: Some(("Evicted".into(), String::new())),
                ..driver(2, PodPhase::Failed)
            }),
            state: JobState::Failed,
            reason: "Evicted",
            ..row("retries spent", SparkJobStatus::default(), None, 90)
        },
        Row {
            driver: Some(DriverView {
                waiting: Some(("ImagePullBackOff".into(), "Back-off pulling image".into())),
                ..driver(1, PodPhase::Pending)
            }),
            state: JobState::Submitted,
            reason: "ImagePullBackOff",
            ..row("image pull failing before the deadline: reported", status(JobState::Submitted, 1, 0), None, 60)
        },
        Row {
            plan: plan(RestartKind::Never, 0),
            driver: Some(DriverView {
                waiting: Some(("ImagePullBackOff".into(), "Back-off pulling image".into())),
                ..driver(1, PodPhase::Pending)
            }),
            state: JobState::Failed,
            reason: "ImagePullBackOff",
            actions: vec![delete("job-1-driver")],
            ..row("image pull failing past driverStart: failed", status(JobState::Submitted, 1, 0), None, 121)
        },
        Row {
            plan: plan(RestartKind::Never, 0),
            driver: Some(DriverView {
                unschedulable: Some("0/3 nodes are available".into()),
                ..driver(1, PodPhase::Pending)
            }),
            state: JobState::Failed,
            reason: "Unschedulable",
            actions: vec![delete("job-1-driver")],
            ..row("unschedulable past driverStart", status(JobState::Submitted, 1, 0), None, 200)
        },
        Row {
            plan: plan(RestartKind::Never, 0),
            executors: ExecutorView {
                states: ExecutorStates { pending: 2, ..Default::default() },
                oldest_pending: Some(t(15)),
                oom_killed: 0,
            },
            state: JobState::Failed,
            reason: "ExecutorStartTimeout",
            actions: vec![delete("job-1-driver")],
            ..row(
                "executors pending past executorStart",
                status(JobState::DriverRunning, 1, 10),
                Some(driver(1, PodPhase::Running)),
                316,
            )
        },
        Row {
            plan: plan(RestartKind::Never, 0),
            executors: running_execs.clone(),
            state: JobState::Failed,
            reason: "MaxDurationExceeded",
            actions: vec![delete("job-1-driver")],
            ..row(
                "running past maxDuration",
                status(JobState::Running, 1, 10),
                Some(driver(1, PodPhase::Running)),
                3611,
            )
        },
        Row {
            status: SparkJobStatus { attempt: Some(1), ..status(JobState::Queued, 1, 0) },
            driver: Some(driver(2, PodPhase::Running)),
            state: JobState::DriverRunning,
            reason: "DriverRunning",
            // Adopted: not created again, but its own objects are made sure of.
            actions: vec![Action::Complete { attempt: 2, pod: "job-2-driver".into() }],
            ..row("a driver newer than the status is adopted, not created again", SparkJobStatus::default(), None, 30)
        },
        Row {
            status: SparkJobStatus { next_retry_at: Some(crate::rfc3339(t(100))), ..status(JobState::Retrying, 1, 0) },
            state: JobState::Retrying,
            reason: "Retrying",
            ..row("backoff not over: wait", SparkJobStatus::default(), None, 99)
        },
        Row {
            status: SparkJobStatus { next_retry_at: Some(crate::rfc3339(t(100))), ..status(JobState::Retrying, 1, 0) },
            state: JobState::Submitted,
            reason: "Submitted",
            actions: vec![submit(2)],
            ..row("backoff over: next attempt", SparkJobStatus::default(), None, 100)
        },
        Row {
            plan: Plan { suspend: true, ..plan(RestartKind::Never, 0) },
            state: JobState::Suspended,
            reason: "Suspended",
            actions: vec![delete("job-1-driver")],
            ..row(
                "suspend stops a running driver",
                status(JobState::Running, 1, 0),
                Some(driver(1, PodPhase::Running)),
                50,
            )
        },
        Row {
            status: SparkJobStatus { driver_pod: None, ..status(JobState::Suspended, 1, 0) },
            state: JobState::Submitted,
            reason: "Submitted",
            actions: vec![submit(2)],
            ..row("resume continues with the next attempt", SparkJobStatus::default(), None, 60)
        },
        Row {
            status: SparkJobStatus { spec_hash: Some("0ld0ld00".into()), ..status(JobState::Running, 1, 0) },
            state: JobState::Submitted,
            reason: "Submitted",
            actions: vec![delete("job-1-driver"), submit(2)],
            ..row("a changed spec restarts the run", SparkJobStatus::default(), None, 60)
        },
        Row {
            plan: Plan { ttl: Some(Duration::from_secs(60)), ..plan(RestartKind::Never, 0) },
            status: SparkJobStatus { finished_at: Some(crate::rfc3339(t(100))), ..status(JobState::Succeeded, 1, 0) },
            driver: Some(driver(1, PodPhase::Succeeded)),
            state: JobState::Succeeded,
            reason: "Succeeded",
            actions: vec![delete("job-1-driver")],
            ..row("TTL removes the driver", SparkJobStatus::default(), None, 161)
        },
    ];
    for r in &rows {
        let d = run(r);
        assert_eq!(
            (d.status.state, d.status.reason.as_deref()),
            (Some(r.state), Some(r.reason)),
            "{}: {:?}",
            r.name,
            d.status.message
        );
        assert_eq!(without_events(&d.actions), r.actions, "{}", r.name);
    }
}

#[test]
fn every_transition_records_an_event_and_the_history_is_bounded() {
    let mut s = SparkJobStatus::default();
    let mut transitions = 0;
    for i in 0..30 {
        let now = i * 1000;
        let view = (s.state == Some(JobState::Submitted)).then(|| driver(s.attempt.unwrap_or(1), PodPhase::Running));
        let d = run(&row("loop", s.clone(), view, now));
        let events = d.actions.iter().filter(|a| matches!(a, Action::Event { .. })).count();
        let added = d.status.transitions.iter().filter(|t| t.time == crate::rfc3339(t_at(now))).count();
        assert_eq!(events, added, "one Event per transition at step {i}");
        transitions += added;
        s = d.status;
        if s.state == Some(JobState::DriverRunning) {
            // A changed spec starts the run over, so states keep moving.
            s.spec_hash = Some(format!("{i:08}"));
        }
    }
    assert!(transitions > sparkplane_api::job::MAX_TRANSITIONS, "{transitions} transitions");
    assert_eq!(s.transitions.len(), sparkplane_api::job::MAX_TRANSITIONS);
}

fn t_at(seconds: i64) -> Timestamp {
    t(seconds)
}

#[test]
fn failures_keep_the_exit_code_and_log_tail_and_say_when_the_retry_starts() {
    let r = Row {
        log: Some("starting\nTraceback (most recent call last):\nValueError: bad row 17\n"),
        driver: Some(DriverView {
            terminated: Some(Terminated { reason: Some("Error".into()), exit_code: 1, message: None }),
            ..driver(1, PodPhase::Failed)
        }),
        ..row("x", status(JobState::Running, 1, 0), None, 90)
    };
    let d = run(&r);
    let exit = d.status.driver_exit.expect("driver exit");
    assert_eq!(exit.exit_code, Some(1));
    assert_eq!(exit.log_tail, ["starting", "Traceback (most recent call last):", "ValueError: bad row 17"]);
    assert_eq!(d.status.retries, Some(1));
    assert_eq!(d.status.next_retry_at.as_deref(), Some(crate::rfc3339(t(120)).as_str()));
    assert_eq!(
        d.status.message.as_deref(),
        Some(
            format!("the driver of job-1-driver exited with code 1; retry 1 of 2 starts at {}", crate::rfc3339(t(120)))
                .as_str()
        )
    );
    assert_eq!(d.requeue_after, Some(Duration::from_secs(30)));
}

#[test]
fn refused_specs_fail_without_creating_anything() {
    let prepared = Prepared::Refused { cause: Cause::PolicyDenied, message: "spec.costCenter: missing".into() };
    let s = SparkJobStatus::default();
    let observed = Observed {
        now: t(0),
        generation: 3,
        status: &s,
        prepared: &prepared,
        driver: None,
        driver_gone: false,
        executors: ExecutorView::default(),
        driver_log: None,
        admission: Admission::Admit,
        trigger: None,
        archive_logs: true,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let d = decide(&observed);
    assert_eq!(d.status.state, Some(JobState::Failed));
    assert_eq!(d.status.reason.as_deref(), Some("PolicyDenied"));
    assert_eq!(d.status.message.as_deref(), Some("spec.costCenter: missing"));
    assert_eq!(d.status.observed_generation, Some(3));
    assert!(without_events(&d.actions).is_empty());
    assert_eq!(d.requeue_after, None);
}

#[test]
fn a_trigger_reruns_a_finished_job_once() {
    let prepared = Prepared::Ready(Box::new(plan(RestartKind::Never, 0)));
    let s = SparkJobStatus { finished_at: Some(crate::rfc3339(t(50))), ..status(JobState::Succeeded, 1, 0) };
    let mut observed = Observed {
        now: t(100),
        generation: 1,
        status: &s,
        prepared: &prepared,
        driver: None,
        driver_gone: false,
        executors: ExecutorView::default(),
        driver_log: None,
        admission: Admission::Admit,
        trigger: Some("2026-11-22T10:00:00Z"),
        archive_logs: false,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let d = decide(&observed);
    assert_eq!(without_events(&d.actions), [Action::Submit { attempt: 2 }]);
    assert_eq!(d.status.last_trigger.as_deref(), Some("2026-11-22T10:00:00Z"));
    assert!(d.status.transitions.iter().any(|t| t.reason.as_deref() == Some("ManualTrigger")));
    let after = d.status.clone();
    observed.status = &after;
    let again = decide(&observed);
    assert!(without_events(&again.actions).is_empty(), "{:?}", again.actions);
}

#[test]
fn a_new_attempt_forgets_the_log_archived_for_the_last_one() {
    let prepared = Prepared::Ready(Box::new(plan(RestartKind::OnFailure, 2)));
    let s = SparkJobStatus {
        next_retry_at: Some(crate::rfc3339(t(100))),
        log_archive: Some("file:///logs/data/job/job-1-driver.log".into()),
        ..status(JobState::Retrying, 1, 0)
    };
    let observed = Observed {
        now: t(100),
        generation: 1,
        status: &s,
        prepared: &prepared,
        driver: None,
        driver_gone: false,
        executors: ExecutorView::default(),
        driver_log: None,
        admission: Admission::Admit,
        trigger: None,
        archive_logs: true,
        taken: &[],
        gate_check: None,
        gate_log: None,
        gate_bytes: None,
    };
    let d = decide(&observed);
    assert_eq!(without_events(&d.actions), [Action::Submit { attempt: 2 }]);
    assert_eq!(d.status.log_archive, None, "attempt 1's log is not attempt 2's");
    // While the attempt waits for its backoff, the last attempt's log stays named.
    let waiting = decide(&Observed { now: t(99), ..observed });
    assert_eq!(waiting.status.log_archive, s.log_archive);
}

/// A plan whose job declares two gates, the second not blocking.
fn gated(restart: RestartKind, retries: u32) -> Plan {
    let gate = |spec: &str, blocking: bool| crate::plan::PlannedGate {
        spec: spec.into(),
        blocking,
        embedded: true,
        engine: sparkplane_api::dq::DqEngine::Native,
        spark_above: sparkplane_api::dq::DEFAULT_SPARK_ABOVE,
        dataset: "s3a://lake/trips/".into(),
    };
    Plan { quality_gates: vec![gate("trips-dq.yaml", true), gate("extra-dq.yaml", false)], ..plan(restart, retries) }
}

fn checking(at: i64) -> SparkJobStatus {
    let mut s = status(JobState::Checking, 1, 0);
    s.reason = Some(gates::CHECKING.into());
    s.transitions.push(sparkplane_api::job::Transition {
        state: "Checking".into(),
        reason: Some(gates::CHECKING.into()),
        message: None,
        time: crate::rfc3339(t(at)),
    });
    s
}

fn check(finished: Option<bool>, exits: &[(&str, i32)], waiting: Option<(&str, &str)>) -> GateCheckView {
    GateCheckView {
        name: "job-abcd1234-gates".into(),
        application: false,
        finished,
        exits: exits.iter().map(|(n, c)| ((*n).to_owned(), *c)).collect(),
        waiting: waiting.map(|(r, m)| (r.to_owned(), m.to_owned())),
        // A pod with a container that cannot start has not started; the rows' other pods have.
        started: waiting.is_none(),
    }
}

/// A check Job whose pod has not started and says nothing of why (not scheduled, or never created).
fn unstarted() -> GateCheckView {
    GateCheckView { started: false, ..check(None, &[], None) }
}

const FAILED_LOG: &str =
    "CHECK ...\nerror: gate-0.yaml: check `zones-known` failed: 3 rows outside the accepted values\n  help: …\n";

#[test]
fn quality_gates_hold_the_run_in_checking_until_their_job_ends() {
    use sparkplane_api::job::GatesOutcome;
    // (name, plan, status, check job, its log, now) → (state, reason, gates, message, actions without events)
    type Case = (&'static str, Plan, SparkJobStatus, Option<GateCheckView>, Option<&'static str>, i64);
    type Want = (JobState, &'static str, Option<GatesOutcome>, &'static str, Vec<Action>);
    let running = || status(JobState::Running, 1, 0);
    let table: Vec<(Case, Want)> = vec![
        (
            (
                "a succeeded driver of a gated job starts the check",
                gated(RestartKind::Never, 0),
                running(),
                None,
                None,
                50,
            ),
            (
                JobState::Checking,
                gates::CHECKING,
                None,
                "the application completed; checking its 2 quality gate(s) with `sparkplane dq check`",
                vec![Action::CheckGates { attempt: 1, engines: vec![GateEngine::Native; 2] }],
            ),
        ),
        (
            (
                "a check not visible yet is created again (idempotent)",
                gated(RestartKind::Never, 0),
                checking(50),
                None,
                None,
                52,
            ),
            (
                JobState::Checking,
                gates::CHECKING,
                None,
                "",
                vec![Action::CheckGates { attempt: 1, engines: vec![GateEngine::Native; 2] }],
            ),
        ),
        (
            (
                "a check Job still missing at timeouts.driverStart is an error",
                gated(RestartKind::Never, 0),
                checking(50),
                None,
                None,
                170,
            ),
            (
                JobState::Failed,
                "QualityGatesError",
                Some(GatesOutcome::Error),
                "no quality-gate check Job was found within timeouts.driverStart (2m): it could not be created (the \
                 operator's log says why), or it was deleted",
                vec![],
            ),
        ),
        (
            (
                "a running check is waited for",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(None, &[], None)),
                None,
                60,
            ),
            (JobState::Checking, gates::CHECKING, None, "", vec![]),
        ),
        (
            (
                "a completed check: succeeded, gates passed",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(Some(true), &[("gate-0", 0), ("gate-1", 0)], None)),
                None,
                70,
            ),
            (
                JobState::Succeeded,
                "Succeeded",
                Some(GatesOutcome::Passed),
                "the application completed and its quality gates passed",
                vec![],
            ),
        ),
        (
            (
                "a failed blocking gate fails the run, never retried",
                gated(RestartKind::OnFailure, 3),
                checking(50),
                Some(check(Some(false), &[("gate-0", 1), ("gate-1", 0)], None)),
                Some(FAILED_LOG),
                70,
            ),
            (
                JobState::Failed,
                "QualityGatesFailed",
                Some(GatesOutcome::Failed),
                "quality gate `trips-dq.yaml` failed: check `zones-known` failed: 3 rows outside the accepted values \
              (`kubectl logs job/job-abcd1234-gates --all-containers` shows the check)",
                vec![],
            ),
        ),
        (
            (
                "only a non-blocking gate failed: succeeded, with a warning",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(Some(false), &[("gate-0", 0), ("gate-1", 1)], None)),
                None,
                70,
            ),
            (
                JobState::Succeeded,
                "Succeeded",
                Some(GatesOutcome::Passed),
                "the application completed and its blocking quality gates passed",
                vec![],
            ),
        ),
        (
            (
                "a gate that could not be checked is an error the restart policy retries",
                gated(RestartKind::OnFailure, 1),
                checking(50),
                Some(check(Some(false), &[("gate-0", 3), ("gate-1", 0)], None)),
                None,
                70,
            ),
            (
                JobState::Retrying,
                "QualityGatesError",
                Some(GatesOutcome::Error),
                "quality gate `trips-dq.yaml` could not be checked (`dq check` exited with 3) (`kubectl logs \
              job/job-abcd1234-gates --all-containers` shows the check); retry 1 of 1 starts at 2026-11-18T11:08:20Z",
                vec![],
            ),
        ),
        (
            (
                "… and reported when no retry is left",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(Some(false), &[("gate-1", 0)], None)),
                None,
                70,
            ),
            (
                JobState::Failed,
                "QualityGatesError",
                Some(GatesOutcome::Error),
                "quality gate `trips-dq.yaml` was not checked (its container did not run) (`kubectl logs \
              job/job-abcd1234-gates --all-containers` shows the check)",
                vec![],
            ),
        ),
        (
            (
                "a check pod that cannot start waits until timeouts.driverStart",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(None, &[], Some(("ImagePullBackOff", "Back-off pulling image")))),
                None,
                100,
            ),
            (
                JobState::Checking,
                gates::CHECKING,
                None,
                "the quality-gate check Job job-abcd1234-gates cannot start its pod (ImagePullBackOff: Back-off pulling \
              image); the check fails at 2026-11-18T11:09:30Z unless that changes",
                vec![],
            ),
        ),
        (
            (
                "… then it is an error",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(None, &[], Some(("ImagePullBackOff", "Back-off pulling image")))),
                None,
                170,
            ),
            (
                JobState::Failed,
                "QualityGatesError",
                Some(GatesOutcome::Error),
                "the quality-gate check Job job-abcd1234-gates cannot start its pod (ImagePullBackOff: Back-off pulling \
              image) within timeouts.driverStart (2m)",
                vec![],
            ),
        ),
        (
            (
                "a gate apply did not embed cannot be checked",
                {
                    let mut p = gated(RestartKind::Never, 0);
                    p.quality_gates[1].embedded = false;
                    p
                },
                running(),
                None,
                None,
                50,
            ),
            (
                JobState::Failed,
                "QualityGatesInvalid",
                Some(GatesOutcome::Error),
                "spec.qualityGates[1] (`extra-dq.yaml`) carries no data-quality spec (`definition`), so it cannot be \
              checked in the cluster: apply the job with `sparkplane apply`, which embeds each gate's spec",
                vec![],
            ),
        ),
        (
            (
                "a check pod that is never scheduled fails at timeouts.driverStart too",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(unstarted()),
                None,
                170,
            ),
            (
                JobState::Failed,
                "QualityGatesError",
                Some(GatesOutcome::Error),
                "the quality-gate check Job job-abcd1234-gates has no running pod (not scheduled yet, or refused by a \
                 quota or an admission policy: `kubectl describe job/job-abcd1234-gates` says which) within \
                 timeouts.driverStart (2m)",
                vec![],
            ),
        ),
        (
            (
                "… and is waited for before that, with no message of its own",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(unstarted()),
                None,
                100,
            ),
            (JobState::Checking, gates::CHECKING, None, "", vec![]),
        ),
        (
            (
                "a started check that outlives the run limit is an error",
                gated(RestartKind::Never, 0),
                checking(50),
                Some(check(None, &[], None)),
                None,
                50 + 120 + 3600,
            ),
            (
                JobState::Failed,
                "QualityGatesError",
                Some(GatesOutcome::Error),
                "the quality-gate check Job job-abcd1234-gates did not finish within 1h of its start deadline \
                 (`kubectl logs job/job-abcd1234-gates --all-containers` shows where it stands)",
                vec![],
            ),
        ),
        (
            (
                "a spec or dataset dq check cannot read (exit 2) is invalid and never retried",
                gated(RestartKind::OnFailure, 3),
                checking(50),
                Some(check(Some(false), &[("gate-0", 2), ("gate-1", 0)], None)),
                Some("error: gate-0.yaml: dataset.path `data/curated/trips`: no such file or directory\n"),
                70,
            ),
            (
                JobState::Failed,
                "QualityGatesInvalid",
                Some(GatesOutcome::Error),
                "quality gate `trips-dq.yaml` could not read its spec or data (`dq check` exited with 2): \
                 dataset.path `data/curated/trips`: no such file or directory (`kubectl logs job/job-abcd1234-gates \
                 --all-containers` shows the check)",
                vec![],
            ),
        ),
    ];
    for ((name, plan, status, view, log, now), (state, reason, outcome, message, actions)) in table {
        let driver = (status.state == Some(JobState::Running)).then(|| driver(1, PodPhase::Succeeded));
        let mut r = row(name, status, driver, now);
        r.plan = plan;
        let d = run_with_gates(&r, view.as_ref(), log);
        assert_eq!((d.status.state, d.status.reason.as_deref()), (Some(state), Some(reason)), "{name}");
        assert_eq!(d.status.quality_gates, outcome, "{name}");
        if !message.is_empty() {
            assert_eq!(d.status.message.as_deref(), Some(message), "{name}");
        }
        if let Some(outcome) = outcome.filter(|o| *o != GatesOutcome::Passed) {
            assert_eq!(
                d.status.quality_gates_message.as_deref().map(|m| m.starts_with(&message[..20])),
                Some(true),
                "{name}: {outcome:?}"
            );
        }
        assert_eq!(without_events(&d.actions), actions, "{name}");
        if state == JobState::Checking {
            assert!(d.requeue_after.is_some(), "{name}: a check is looked at again");
        }
    }
}

#[test]
fn a_job_without_gates_succeeds_when_its_driver_does() {
    let r = row("plain", status(JobState::Running, 1, 0), Some(driver(1, PodPhase::Succeeded)), 50);
    let d = run(&r);
    assert_eq!(d.status.state, Some(JobState::Succeeded));
    assert_eq!(d.status.quality_gates, None);
}

#[test]
fn suspend_does_not_stop_a_check_and_a_rerun_forgets_the_last_gates() {
    use sparkplane_api::job::GatesOutcome;
    // Suspended while Checking: the application has run, its gates are still judged.
    let mut r = row("suspended", checking(50), None, 70);
    r.plan = Plan { suspend: true, ..gated(RestartKind::Never, 0) };
    let d = run_with_gates(&r, Some(&check(Some(true), &[("gate-0", 0), ("gate-1", 0)], None)), None);
    assert_eq!((d.status.state, d.status.quality_gates), (Some(JobState::Succeeded), Some(GatesOutcome::Passed)));

    // A new attempt (a retry, here after an error) clears the outcome the last attempt recorded.
    let mut failed = status(JobState::Retrying, 1, 1);
    failed.quality_gates = Some(GatesOutcome::Error);
    failed.quality_gates_message = Some("quality gate `trips-dq.yaml` could not be checked".into());
    failed.next_retry_at = Some(crate::rfc3339(t(60)));
    let mut r = row("retry", failed, None, 70);
    r.plan = gated(RestartKind::OnFailure, 3);
    let d = run_with_gates(&r, None, None);
    assert_eq!(without_events(&d.actions), [Action::Submit { attempt: 2 }]);
    assert_eq!((d.status.quality_gates, d.status.quality_gates_message), (None, None));
}

/// A planned gate of `engine` whose `auto` threshold is 1 GiB.
fn engine_gate(spec: &str, engine: sparkplane_api::dq::DqEngine) -> crate::plan::PlannedGate {
    crate::plan::PlannedGate {
        spec: spec.into(),
        blocking: true,
        embedded: true,
        engine,
        spark_above: 1 << 30,
        dataset: format!("s3a://lake/{spec}/"),
    }
}

#[test]
fn each_gate_gets_the_engine_its_spec_and_its_datasets_listed_size_say() {
    use sparkplane_api::dq::DqEngine::{Auto, Native, Spark};
    const GIB: u64 = 1 << 30;
    // (spec's engine, listed bytes) → engine
    let table: [((sparkplane_api::dq::DqEngine, Option<u64>), GateEngine); 9] = [
        ((Native, None), GateEngine::Native),
        ((Native, Some(500 * GIB)), GateEngine::Native),
        ((Spark, None), GateEngine::Spark { bytes: None }),
        ((Spark, Some(10)), GateEngine::Spark { bytes: Some(10) }),
        ((Auto, None), GateEngine::Native),
        ((Auto, Some(0)), GateEngine::Native),
        ((Auto, Some(GIB)), GateEngine::Native),
        ((Auto, Some(GIB + 1)), GateEngine::Spark { bytes: Some(GIB + 1) }),
        ((Auto, Some(500 * GIB)), GateEngine::Spark { bytes: Some(500 * GIB) }),
    ];
    for ((engine, bytes), want) in table {
        let gates = [engine_gate("a", engine)];
        assert_eq!(gates::engines(&gates, &[bytes]), [want], "{engine:?} with {bytes:?} bytes");
    }
    // Sizes are per gate, in the gates' order; a missing entry is an unknown size.
    let gates = [engine_gate("a", Auto), engine_gate("b", Spark), engine_gate("c", Native)];
    assert_eq!(
        gates::engines(&gates, &[Some(2 * GIB)]),
        [GateEngine::Spark { bytes: Some(2 * GIB) }, GateEngine::Spark { bytes: None }, GateEngine::Native]
    );
    // The default threshold is the one `dq check` uses.
    let planned = crate::plan::PlannedGate::of(&sparkplane_api::job::QualityGate {
        spec: "dq.yaml".into(),
        blocking: None,
        definition: Some(Box::new(sparkplane_api::dq::DqSpec { engine: Some(Auto), ..Default::default() })),
    });
    assert_eq!((planned.engine, planned.spark_above), (Auto, sparkplane_api::dq::DEFAULT_SPARK_ABOVE));
    assert!(planned.needs_size());
}

#[test]
fn a_spark_gate_is_checked_by_a_check_application_sized_from_the_listing() {
    use sparkplane_api::dq::DqEngine;
    use sparkplane_api::job::GatesOutcome;
    let plan = || Plan {
        quality_gates: vec![engine_gate("big-dq.yaml", DqEngine::Spark), engine_gate("small-dq.yaml", DqEngine::Auto)],
        ..plan(RestartKind::Never, 0)
    };
    // The driver succeeded: the datasets are listed before anything is created.
    let mut r = row("driver done", status(JobState::Running, 1, 0), Some(driver(1, PodPhase::Succeeded)), 50);
    r.plan = plan();
    let d = run_with_gates(&r, None, None);
    assert_eq!(d.status.state, Some(JobState::Checking));
    assert_eq!(
        d.status.message.as_deref(),
        Some("the application completed; listing the datasets of its 2 quality gate(s) to size the check")
    );
    assert_eq!(without_events(&d.actions), []);
    assert_eq!(d.requeue_after, Some(CACHE_RECHECK));

    // Listed: the check application, each gate with its engine, and the status says which.
    let mut r = row("listed", checking(50), None, 52);
    r.plan = plan();
    let prepared = Prepared::Ready(Box::new(r.plan.clone()));
    let bytes = [Some(20 << 30), Some(5 << 20)];
    let observed = Observed {
        now: t(52),
        generation: 1,
        status: &r.status,
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
        gate_bytes: Some(&bytes),
    };
    let d = decide(&observed);
    assert_eq!(
        without_events(&d.actions),
        [Action::CheckGates {
            attempt: 1,
            engines: vec![GateEngine::Spark { bytes: Some(20 << 30) }, GateEngine::Native]
        }]
    );
    let said = "the application completed; checking its 2 quality gate(s) in a check application: `big-dq.yaml` on \
                Spark (20.0 GiB listed: 4 cores, 8 GiB heap), `small-dq.yaml` with the native engine";
    assert_eq!(d.status.message.as_deref(), Some(said));
    let event = Action::Event { warning: false, reason: gates::SPARK_CHECK.into(), message: said.into() };
    assert!(d.actions.contains(&event), "said once as an Event: {:?}", d.actions);
    // Created again while it is not visible yet, but said only once.
    let again = decide(&Observed { status: &d.status, ..observed });
    assert!(!again.actions.contains(&event), "{:?}", again.actions);
    assert_eq!(without_events(&again.actions), without_events(&d.actions));

    // The application's pod ends: its containers' exit codes are the gates' outcomes, as the Job's are.
    let app = |finished, exits: &[(&str, i32)]| GateCheckView {
        name: "job-abcd1234-dq".into(),
        application: true,
        ..check(finished, exits, None)
    };
    let mut r = row("passed", checking(50), None, 300);
    r.plan = plan();
    let d = run_with_gates(&r, Some(&app(Some(true), &[("gate-0", 0), ("gate-1", 0)])), None);
    assert_eq!((d.status.state, d.status.quality_gates), (Some(JobState::Succeeded), Some(GatesOutcome::Passed)));
    assert_eq!(
        d.status.quality_gates_message.as_deref(),
        Some("2 quality gate(s) passed (application job-abcd1234-dq)")
    );
    let d = run_with_gates(&r, Some(&app(Some(false), &[("gate-0", 1), ("gate-1", 0)])), Some(FAILED_LOG));
    assert_eq!((d.status.state, d.status.quality_gates), (Some(JobState::Failed), Some(GatesOutcome::Failed)));
    assert_eq!(
        d.status.quality_gates_message.as_deref(),
        Some(
            "quality gate `big-dq.yaml` failed: check `zones-known` failed: 3 rows outside the accepted values \
             (`kubectl logs pod/job-abcd1234-dq --all-containers` shows the check)"
        )
    );
    // Under the same deadlines: a check application that never starts is an error at timeouts.driverStart.
    let unstarted = GateCheckView { started: false, ..app(None, &[]) };
    let mut r = row("never started", checking(50), None, 170);
    r.plan = plan();
    let d = run_with_gates(&r, Some(&unstarted), None);
    assert_eq!(
        (d.status.reason.as_deref(), d.status.quality_gates_message.as_deref()),
        (
            Some("QualityGatesError"),
            Some(
                "the quality-gate check application job-abcd1234-dq has no running pod (not scheduled yet, or \
                 refused by a quota or an admission policy: `kubectl describe pod/job-abcd1234-dq` says which) \
                 within timeouts.driverStart (2m)"
            )
        )
    );
}
