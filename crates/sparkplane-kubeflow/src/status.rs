//! A run's status in the Kubeflow operator's v1beta2 shape, and back: what
//! the operator writes to a `SparkApplication`'s `status` after the one state
//! machine (`sparkplane_lifecycle::lifecycle`) decided, and the run status it
//! decides on, read from that `status`.
//!
//! Kubeflow's status is all there is to store: its CRD's status schema has
//! no room for anything else (the API server prunes unknown fields), so every
//! field the state machine relies on is written where Kubeflow keeps the
//! same fact, and read back from there:
//! - the state: Kubeflow's names ([`NEW`], [`SUBMITTED`], [`RUNNING`],
//!   [`FAILING`], [`PENDING_RERUN`], [`SUCCEEDING`], [`COMPLETED`],
//!   [`FAILED`], [`SUSPENDED`]), with the failure in `errorMessage`;
//! - the run's spec hash and attempt in `submissionID`
//!   (`<spec hash>-<attempt>`, the two labels of the attempt's driver pod);
//! - the attempts of the run in `executionAttempts` and `submissionAttempts`
//!   (a failed application with 3 retries ends at 4, as Kubeflow's own
//!   end-to-end test expects), so the retries used are read back from them;
//! - when the attempt failed in `terminationTime`, from which the next
//!   attempt's time follows by the restart rule, as Kubeflow computes it from
//!   its own fields;
//! - the driver in `driverInfo.podName`, Spark's id in `sparkApplicationId`,
//!   each executor pod's state in `executorState`, bounded as Kubeflow's
//!   `--max-tracked-executor-per-app` bounds it (executor ids above the bound
//!   are not kept, [`MAX_TRACKED_EXECUTORS`] by default).
//!
//! What the shape cannot hold (the bounded transition history, the last
//! trigger, the archived log's address) lives only while the operator runs;
//! `sparkplane status` of a SparkJob shows it, the Events of a SparkApplication
//! record the transitions.
//!
//! Owns: the state names, the attempt counts, the executor map and its bound,
//! and reading them back. Must not: decide (the state machine does), or read
//! the clock or the API.

use std::collections::BTreeMap;

use sparkplane_api::job::{DriverExit, ExecutorStates, JobState, SparkJobStatus};
use sparkplane_api::kubeflow::{ApplicationState, DriverInfo, SparkApplicationStatus};
use sparkplane_lifecycle::{PodPhase, RetryRule, parse_time, rfc3339};

/// A new application, not submitted yet (Kubeflow's `ApplicationStateNew`).
pub const NEW: &str = "";
/// The driver pod was created.
pub const SUBMITTED: &str = "SUBMITTED";
/// The driver runs.
pub const RUNNING: &str = "RUNNING";
/// The application ended well.
pub const COMPLETED: &str = "COMPLETED";
/// The application ended badly and will not be retried.
pub const FAILED: &str = "FAILED";
/// Kubeflow's spark-submit failed (sparkplane never writes it: a driver create
/// the API server refuses is tried again, it is no attempt).
pub const SUBMISSION_FAILED: &str = "SUBMISSION_FAILED";
/// Waiting to be submitted again after a failure.
pub const PENDING_RERUN: &str = "PENDING_RERUN";
/// Kubeflow's: the spec changed, the run is being stopped.
pub const INVALIDATING: &str = "INVALIDATING";
/// The driver succeeded; what comes next (a restart, the gates) is not decided yet.
pub const SUCCEEDING: &str = "SUCCEEDING";
/// The attempt failed; the next one starts after the retry interval.
pub const FAILING: &str = "FAILING";
/// Kubeflow's: `spec.suspend` was set, the driver is being stopped.
pub const SUSPENDING: &str = "SUSPENDING";
/// Held by `spec.suspend`.
pub const SUSPENDED: &str = "SUSPENDED";
/// Kubeflow's: `spec.suspend` was cleared, the run resumes.
pub const RESUMING: &str = "RESUMING";
/// Kubeflow's: the driver's state is unknown.
pub const UNKNOWN: &str = "UNKNOWN";

/// Kubeflow's executor states.
pub mod executor {
    /// Created, not running yet.
    pub const PENDING: &str = "PENDING";
    /// Running.
    pub const RUNNING: &str = "RUNNING";
    /// Ended well.
    pub const COMPLETED: &str = "COMPLETED";
    /// Ended badly, or gone while the application had not completed.
    pub const FAILED: &str = "FAILED";
    /// Gone while the driver runs, or on a node that stopped reporting.
    pub const UNKNOWN: &str = "UNKNOWN";
}

/// Kubeflow's default `--max-tracked-executor-per-app`: executors with a
/// higher Spark executor id are left out of `executorState`.
pub const MAX_TRACKED_EXECUTORS: u32 = 1000;

/// An executor pod of the current attempt, as the pod index holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorPod {
    /// Pod name.
    pub name: String,
    /// Spark's executor id (`spark-exec-id`, or the pod name's `-exec-N`).
    pub id: Option<u32>,
    /// Phase.
    pub phase: PodPhase,
}

/// Spark's executor id from an executor pod's name (`<prefix>-exec-<id>`).
pub fn executor_id(pod_name: &str) -> Option<u32> {
    pod_name.rsplit_once("-exec-").and_then(|(_, id)| id.parse().ok())
}

/// `submissionID`: the run's spec hash and the attempt, as the attempt's
/// driver pod is labelled (`sparkplane.dev/spec-hash`, `sparkplane.dev/attempt`).
pub fn submission_id(spec_hash: &str, attempt: u32) -> String {
    format!("{spec_hash}-{attempt}")
}

/// The spec hash and attempt of a `submissionID` sparkplane wrote; None for
/// one Kubeflow wrote (a UUID) or none.
pub fn parse_submission_id(id: &str) -> Option<(String, u32)> {
    let (hash, attempt) = id.rsplit_once('-')?;
    let hex = hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let digits = !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit());
    (hex && digits).then(|| attempt.parse().ok().map(|a| (hash.to_owned(), a))).flatten()
}

/// The Kubeflow state name of a run's state.
pub fn state_name(run: &SparkJobStatus) -> &'static str {
    match run.state {
        None | Some(JobState::Scheduled) => NEW,
        Some(JobState::Queued) if run.retries.unwrap_or(0) > 0 => PENDING_RERUN,
        Some(JobState::Queued) => NEW,
        Some(JobState::Submitted) => SUBMITTED,
        Some(JobState::DriverRunning | JobState::Running) => RUNNING,
        Some(JobState::Checking) => SUCCEEDING,
        Some(JobState::Retrying) if restarting(run) => SUCCEEDING,
        Some(JobState::Retrying) => FAILING,
        Some(JobState::Suspended) => SUSPENDED,
        Some(JobState::Succeeded) => COMPLETED,
        Some(JobState::Failed) => FAILED,
    }
}

/// A Retrying run that restarts after a success (`restartPolicy: Always`).
fn restarting(run: &SparkJobStatus) -> bool {
    run.reason.as_deref() == Some(RESTART_REASON)
}

/// The state machine's reason for a restart after a success.
const RESTART_REASON: &str = "Restart";

/// Whether the run submitted a driver since it started.
fn submitted(run: &SparkJobStatus) -> bool {
    run.submitted_at.is_some() || run.retries.unwrap_or(0) > 0
}

/// Attempts of the run submitted so far (Kubeflow's `executionAttempts`).
fn execution_attempts(run: &SparkJobStatus) -> u32 {
    let retries = run.retries.unwrap_or(0);
    match run.state {
        _ if !submitted(run) => 0,
        Some(JobState::Retrying | JobState::Queued) => retries,
        _ => retries + 1,
    }
}

/// The wait before the next attempt of a Retrying run.
fn retry_delay(run: &SparkJobStatus, rule: &RetryRule) -> jiff::SignedDuration {
    let n = if restarting(run) { 1 } else { run.retries.unwrap_or(1).max(1) };
    // Whole seconds, both ways, so writing and reading back agree to the second.
    jiff::SignedDuration::from_secs(i64::try_from(rule.delay(n).as_secs()).unwrap_or(i64::MAX))
}

/// The words before the failure's cause in a driver's `errorMessage`, as
/// Kubeflow's operator writes them (scripts look for them).
const DRIVER_FAILED: &str = "driver container failed with ExitCode: ";

/// `errorMessage`: the failure of a failed or failing run, with its cause
/// first so it reads back: `driver container failed with ExitCode: <code>,
/// Reason: <cause>; <message>` when the driver exited, else `<cause>: <message>`.
fn error_message(run: &SparkJobStatus) -> Option<String> {
    if !matches!(run.state, Some(JobState::Failed | JobState::Retrying)) || restarting(run) {
        return None;
    }
    let message = run.message.as_deref().unwrap_or_default();
    let cause = run.reason.as_deref().unwrap_or("Failed");
    Some(match run.driver_exit.as_ref().and_then(|e| e.exit_code) {
        Some(code) => format!("{DRIVER_FAILED}{code}, Reason: {cause}; {message}"),
        None => format!("{cause}: {message}"),
    })
}

/// The exit code, cause and message an [`error_message`] holds (a message
/// Kubeflow wrote has no cause: the whole text is the message).
fn read_error(text: &str) -> (Option<i32>, Option<String>, String) {
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric());
    if let Some(rest) = text.strip_prefix(DRIVER_FAILED)
        && let Some((code, rest)) = rest.split_once(", Reason: ")
        && let Ok(code) = code.parse::<i32>()
        && let Some((cause, message)) = rest.split_once("; ")
        && word(cause)
    {
        return (Some(code), Some(cause.to_owned()), message.to_owned());
    }
    match text.split_once(": ") {
        Some((cause, message)) if word(cause) => (None, Some(cause.to_owned()), message.to_owned()),
        _ => (None, None, text.to_owned()),
    }
}

/// The executor map: the current attempt's executors (those Kubeflow's bound
/// keeps), and those `old` knew that are gone — completed when the
/// application completed, unknown while the driver runs, failed otherwise.
/// A new driver starts a new map.
fn executor_state(
    run: &SparkJobStatus,
    old: &SparkApplicationStatus,
    executors: &[ExecutorPod],
    max_tracked: u32,
) -> BTreeMap<String, String> {
    let same_driver = old.driver_info.as_ref().and_then(|d| d.pod_name.as_deref()) == run.driver_pod.as_deref();
    let mut map = if same_driver && run.driver_pod.is_some() { old.executor_state.clone() } else { BTreeMap::new() };
    let mut seen = std::collections::BTreeSet::new();
    for pod in executors.iter().filter(|p| p.id.is_none_or(|id| id <= max_tracked)) {
        let state = match pod.phase {
            PodPhase::Pending => executor::PENDING,
            PodPhase::Running => executor::RUNNING,
            PodPhase::Succeeded => executor::COMPLETED,
            PodPhase::Failed => executor::FAILED,
            PodPhase::Unknown => executor::UNKNOWN,
        };
        map.insert(pod.name.clone(), state.to_owned());
        seen.insert(pod.name.as_str());
    }
    let driver_runs = matches!(run.state, Some(JobState::Submitted | JobState::DriverRunning | JobState::Running));
    for (_, state) in map.iter_mut().filter(|(name, _)| !seen.contains(name.as_str())) {
        if matches!(state.as_str(), executor::COMPLETED | executor::FAILED) {
            continue;
        }
        *state = if driver_runs {
            executor::UNKNOWN
        } else if run.state == Some(JobState::Succeeded) {
            executor::COMPLETED
        } else {
            executor::FAILED
        }
        .to_owned();
    }
    map
}

/// The status to write for `run` (what the state machine decided), given the
/// status the resource holds now (`old`), the current attempt's executor pods
/// and Kubeflow's bound on the executors kept.
pub fn application_status(
    run: &SparkJobStatus,
    rule: &RetryRule,
    old: &SparkApplicationStatus,
    executors: &[ExecutorPod],
    max_tracked: u32,
) -> SparkApplicationStatus {
    // An application Kubeflow's operator ran to its end, taken over: its
    // status stays as Kubeflow wrote it while nothing new happens to it.
    let foreign = old.submission_id.as_deref().is_some_and(|id| parse_submission_id(id).is_none());
    let same_state = old.application_state.as_ref().map(|s| s.state.as_str()) == Some(state_name(run));
    if foreign
        && run.attempt.unwrap_or(0) == 0
        && same_state
        && matches!(run.state, Some(JobState::Succeeded | JobState::Failed))
    {
        return old.clone();
    }
    let attempts = execution_attempts(run);
    let termination = match run.state {
        Some(JobState::Succeeded | JobState::Failed) => run.finished_at.clone(),
        Some(JobState::Retrying) => run
            .next_retry_at
            .as_deref()
            .and_then(parse_time)
            .and_then(|at| at.checked_sub(retry_delay(run, rule)).ok())
            .map(rfc3339),
        _ => None,
    };
    let counted = (attempts > 0).then(|| i32::try_from(attempts).unwrap_or(i32::MAX));
    SparkApplicationStatus {
        spark_application_id: run.application_id.clone(),
        submission_id: run.spec_hash.as_deref().map(|hash| submission_id(hash, run.attempt.unwrap_or(0))),
        last_submission_attempt_time: run.submitted_at.clone(),
        termination_time: termination,
        // Required by Kubeflow's schema, even when no driver exists yet.
        driver_info: Some(DriverInfo { pod_name: run.driver_pod.clone(), ..DriverInfo::default() }),
        application_state: Some(ApplicationState {
            state: state_name(run).to_owned(),
            error_message: error_message(run),
        }),
        executor_state: executor_state(run, old, executors, max_tracked),
        execution_attempts: counted,
        submission_attempts: counted,
    }
}

/// The reason the state machine leaves a run in `state` with while nothing
/// changes, so a status read back does not look like a transition.
fn steady_reason(state: JobState) -> &'static str {
    match state {
        JobState::Queued => "QuotaWait",
        JobState::Submitted => "Submitted",
        JobState::DriverRunning => "DriverRunning",
        JobState::Running => "Running",
        JobState::Checking => "Checking",
        JobState::Retrying => "Retrying",
        JobState::Suspended => "Suspended",
        JobState::Scheduled => "Scheduled",
        JobState::Succeeded => "Succeeded",
        JobState::Failed => "Failed",
    }
}

/// The run status a SparkApplication's `status` describes, for the state
/// machine to decide on. `spec_hash` is the current spec's (None when the spec
/// cannot run: the status then keeps none either): a status written
/// by Kubeflow's operator (no sparkplane `submissionID`) that has started a
/// run describes the current spec (Kubeflow stops the run when the spec
/// changes), so the run is taken over, not started again.
pub fn run_status(app: &SparkApplicationStatus, spec_hash: Option<&str>, rule: &RetryRule) -> SparkJobStatus {
    let kubeflow_state = app.application_state.as_ref().map_or(NEW, |s| s.state.as_str());
    let ours = app.submission_id.as_deref().and_then(parse_submission_id);
    let (hash, attempt, fresh) = match ours {
        Some((hash, attempt)) => (Some(hash), attempt, false),
        None if matches!(kubeflow_state, NEW | INVALIDATING) => (None, 0, true),
        None => (spec_hash.map(str::to_owned), 0, false),
    };
    let mut counts = ExecutorStates::default();
    for state in app.executor_state.values() {
        match state.as_str() {
            executor::PENDING => counts.pending += 1,
            executor::RUNNING => counts.running += 1,
            executor::COMPLETED => counts.succeeded += 1,
            _ => counts.failed += 1,
        }
    }
    let attempts = u32::try_from(app.execution_attempts.unwrap_or(0)).unwrap_or(0);
    let state = match kubeflow_state {
        _ if fresh => None,
        NEW => Some(JobState::Queued),
        PENDING_RERUN | RESUMING | SUBMISSION_FAILED => Some(JobState::Queued),
        SUBMITTED | UNKNOWN => Some(JobState::Submitted),
        RUNNING if app.executor_state.is_empty() => Some(JobState::DriverRunning),
        RUNNING => Some(JobState::Running),
        SUCCEEDING if rule.restarts_after_success() => Some(JobState::Retrying),
        SUCCEEDING => Some(JobState::Checking),
        FAILING => Some(JobState::Retrying),
        SUSPENDING | SUSPENDED => Some(JobState::Suspended),
        COMPLETED => Some(JobState::Succeeded),
        _ => Some(JobState::Failed),
    };
    let retries = match (state, kubeflow_state) {
        (Some(JobState::Retrying), SUCCEEDING) => attempts.saturating_sub(1),
        (Some(JobState::Retrying | JobState::Queued), _) => attempts,
        _ => attempts.saturating_sub(1),
    };
    let mut run = SparkJobStatus {
        state,
        reason: state.map(|s| {
            if kubeflow_state == SUCCEEDING && s == JobState::Retrying { RESTART_REASON } else { steady_reason(s) }
                .to_owned()
        }),
        spec_hash: hash,
        attempt: (attempt > 0).then_some(attempt),
        retries: (retries > 0).then_some(retries),
        driver_pod: app.driver_info.as_ref().and_then(|d| d.pod_name.clone()),
        application_id: app.spark_application_id.clone(),
        submitted_at: app.last_submission_attempt_time.clone(),
        executors: (!app.executor_state.is_empty()).then_some(counts),
        ..SparkJobStatus::default()
    };
    if let Some(text) = app.application_state.as_ref().and_then(|s| s.error_message.as_deref()) {
        let (code, cause, message) = read_error(text);
        run.message = Some(message);
        if let Some(cause) = cause {
            run.reason = Some(cause);
        }
        // The driver's log was read when the attempt failed: its message holds what it said.
        run.driver_exit = Some(DriverExit { exit_code: code, ..DriverExit::default() });
    }
    let terminated = app.termination_time.clone();
    match state {
        Some(JobState::Succeeded | JobState::Failed) => run.finished_at = terminated,
        Some(JobState::Retrying) => {
            run.next_retry_at = terminated
                .as_deref()
                .and_then(parse_time)
                .and_then(|at| at.checked_add(retry_delay(&run, rule)).ok())
                .map(rfc3339);
        }
        _ => {}
    }
    run
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
