//! The state machine of one SparkJob run: Queued → Submitted →
//! DriverRunning → Running → (Checking, for a job with quality gates:
//! [`gates`]) → Succeeded | Failed, with Retrying and Suspended, as a pure
//! function from what was observed to the next status and the actions that
//! get there.
//!
//! Rules that keep a run honest:
//! - A driver is tied to its attempt by a deterministic name and labels. A
//!   driver of this spec with a newer attempt than the status knows is
//!   adopted (the status write after a create was lost, or the operator
//!   restarted), never created twice.
//! - A driver the status names but the cache does not show is waited for
//!   until the API confirms it is gone (`driver_gone`); an informer that
//!   lags never fails a run.
//! - Every wait has a deadline (driver start, executor start, run time, the
//!   next retry, the TTL), and the decision says when to look again.
//!
//! Owns: transitions, their reasons and messages, and the bounded history.
//! Must not: read the clock or the API (everything comes in [`Observed`]).

use std::time::Duration;

use jiff::Timestamp;
use sparkplane_api::job::{DriverExit, JobState, MAX_TRANSITIONS, SparkJobStatus, Transition};

use super::cause::{Cause, failure_of};
use super::plan::{Plan, Prepared};
pub use super::queue::Admission;
use super::view::{DriverView, ExecutorView, PodPhase};
use super::{after, human, parse_time, rfc3339, until};

pub mod gates;
pub use gates::GateCheckView;
pub use sparkplane_core::render::quality_gates::GateEngine;

/// Everything the decision looks at.
#[derive(Clone, Debug)]
pub struct Observed<'a> {
    /// Now.
    pub now: Timestamp,
    /// `metadata.generation` of the job.
    pub generation: i64,
    /// The status as last written.
    pub status: &'a SparkJobStatus,
    /// The job's spec, prepared (or refused).
    pub prepared: &'a Prepared,
    /// The newest driver pod of this job and spec hash, if any.
    pub driver: Option<&'a DriverView>,
    /// The API answered that the driver the status names does not exist.
    pub driver_gone: bool,
    /// The current attempt's executors.
    pub executors: ExecutorView,
    /// The failed driver's log, when it was read.
    pub driver_log: Option<&'a str>,
    /// Whether the run may start now (asked only for queued runs).
    pub admission: Admission,
    /// The `sparkplane.dev/trigger` annotation.
    pub trigger: Option<&'a str>,
    /// The operator archives driver logs before it removes pods.
    pub archive_logs: bool,
    /// Driver pods with this job's name on them that another owner holds
    /// (an earlier SparkJob of the same name not yet garbage-collected, a
    /// direct submission): never adopted, and their names are not free.
    pub taken: &'a [DriverView],
    /// The current attempt's quality-gate check Job, when the run is `Checking` and it exists.
    pub gate_check: Option<&'a GateCheckView>,
    /// The failed check's log (its containers' output), when it was read.
    pub gate_log: Option<&'a str>,
    /// The size in bytes of each gate's dataset (`[n]` for
    /// `spec.qualityGates[n]`; None: not listed or unlistable), listed when the
    /// run is `Checking` without a check and a gate's engine is `spark` or
    /// `auto` (ADR 0063); None when not listed.
    pub gate_bytes: Option<&'a [Option<u64>]>,
}

/// What the operator does, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Render and create attempt `attempt`'s driver and its objects.
    Submit {
        /// The attempt (names derive from it).
        attempt: u32,
    },
    /// Make sure an adopted driver's own objects (ConfigMaps, Service,
    /// NetworkPolicy) exist: a reconcile cut short after creating the driver
    /// may not have applied them. Idempotent.
    Complete {
        /// The attempt whose objects to apply.
        attempt: u32,
        /// The driver pod that owns them.
        pod: String,
    },
    /// Copy the driver's log to the log store.
    ArchiveLog {
        /// The driver pod.
        pod: String,
    },
    /// Delete a driver pod (its objects and executors go with it).
    DeleteDriver {
        /// The driver pod.
        pod: String,
    },
    /// Render and create attempt `attempt`'s quality-gate check (its
    /// ConfigMap and Job, or its check application when a gate runs on
    /// Spark); one that exists is left as it is.
    CheckGates {
        /// The attempt (the check's names derive from it).
        attempt: u32,
        /// The engine of each gate (`[n]` for `spec.qualityGates[n]`).
        engines: Vec<GateEngine>,
    },
    /// Record a Kubernetes Event on the job.
    Event {
        /// A Warning (else Normal).
        warning: bool,
        /// One word.
        reason: String,
        /// A sentence.
        message: String,
    },
}

/// The answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The status to write (written only when it differs from the last one).
    pub status: SparkJobStatus,
    /// Actions, in order.
    pub actions: Vec<Action>,
    /// When to look again even if nothing changes.
    pub requeue_after: Option<Duration>,
}

/// How often a queued run looks at its queue again when nothing wakes it.
pub const QUEUE_RECHECK: Duration = Duration::from_secs(10);
/// How long to wait for the cache to show a driver just created.
pub const CACHE_RECHECK: Duration = Duration::from_secs(2);

struct Draft<'a> {
    o: &'a Observed<'a>,
    status: SparkJobStatus,
    actions: Vec<Action>,
    wake: Option<Timestamp>,
}

impl<'a> Draft<'a> {
    fn state(&self) -> Option<JobState> {
        self.status.state
    }

    /// Enters a state (or changes the reason within one), recording the transition and an Event.
    fn enter(&mut self, state: JobState, reason: &str, message: String) {
        let same = self.status.state == Some(state) && self.status.reason.as_deref() == Some(reason);
        self.status.state = Some(state);
        self.status.reason = Some(reason.to_owned());
        self.status.message = Some(message.clone());
        if same {
            return;
        }
        let warning = matches!(state, JobState::Failed | JobState::Retrying)
            || (matches!(state, JobState::Submitted | JobState::Queued) && is_trouble(reason));
        self.actions.push(Action::Event { warning, reason: reason.to_owned(), message: message.clone() });
        self.status.transitions.push(Transition {
            state: state.as_str().to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message),
            time: rfc3339(self.o.now),
        });
        let excess = self.status.transitions.len().saturating_sub(MAX_TRANSITIONS);
        self.status.transitions.drain(..excess);
    }

    /// Updates the message of the current state without a transition.
    fn note(&mut self, reason: &str, message: String) {
        self.status.reason = Some(reason.to_owned());
        self.status.message = Some(message);
    }

    fn wake_at(&mut self, at: Timestamp) {
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    fn wake_in(&mut self, after_: Duration) {
        self.wake_at(after(self.o.now, after_));
    }

    fn delete_driver(&mut self, pod: &str) {
        if self.o.archive_logs {
            self.actions.push(Action::ArchiveLog { pod: pod.to_owned() });
        }
        self.actions.push(Action::DeleteDriver { pod: pod.to_owned() });
    }

    /// Forgets the current attempt's driver (a new one will be created).
    fn clear_attempt(&mut self) {
        let s = &mut self.status;
        s.driver_pod = None;
        s.application_id = None;
        s.submitted_at = None;
        s.started_at = None;
        s.executors = None;
        // The archived log is the ended attempt's: `sparkplane logs` must
        // not show it as the new attempt's.
        s.log_archive = None;
        // So are the gates' outcome and message: a rerun's column shows none until its own check.
        s.quality_gates = None;
        s.quality_gates_message = None;
    }

    fn finish(self) -> Decision {
        let requeue_after = self.wake.map(|at| until(self.o.now, at).max(Duration::from_millis(100)));
        Decision { status: self.status, actions: self.actions, requeue_after }
    }
}

fn is_trouble(reason: &str) -> bool {
    matches!(reason, "ImagePullBackOff" | "Unschedulable" | super::queue::QUOTA_WAIT)
}

/// Decides the next step of a run.
pub fn decide(o: &Observed<'_>) -> Decision {
    let mut d = Draft { o, status: o.status.clone(), actions: Vec::new(), wake: None };
    d.status.observed_generation = Some(o.generation);
    match o.prepared {
        Prepared::Refused { cause, message } => {
            if let Some(driver) = o.driver.filter(|dv| !dv.deleting && d.state().is_some_and(JobState::is_active)) {
                let pod = driver.name.clone();
                d.delete_driver(&pod);
            }
            if !(d.state() == Some(JobState::Failed) && d.status.reason.as_deref() == Some(cause.as_str())) {
                d.status.finished_at = Some(rfc3339(o.now));
            }
            d.enter(JobState::Failed, cause.as_str(), message.clone());
        }
        Prepared::Ready(plan) => run(&mut d, plan),
    }
    d.finish()
}

fn run(d: &mut Draft<'_>, plan: &Plan) {
    let o = d.o;
    // A new spec (or the first look) starts a new run.
    if d.status.spec_hash.as_deref() != Some(plan.spec_hash.as_str()) {
        let changed = d.status.spec_hash.is_some();
        if changed
            && d.state().is_some_and(JobState::is_active)
            && let Some(pod) = d.status.driver_pod.clone()
        {
            d.delete_driver(&pod);
        }
        let attempt = d.status.attempt;
        d.status = SparkJobStatus {
            observed_generation: Some(o.generation),
            transitions: std::mem::take(&mut d.status.transitions),
            // Attempt numbers keep growing so a new run never reuses a name.
            attempt,
            last_trigger: o.trigger.map(str::to_owned),
            ..SparkJobStatus::default()
        };
        d.status.spec_hash = Some(plan.spec_hash.clone());
        d.status.queued_at = Some(rfc3339(o.now));
        let (reason, message) = if changed {
            ("SpecChanged", "the spec changed: the run starts again with the new spec".to_owned())
        } else {
            ("Created", "queued for admission".to_owned())
        };
        d.enter(JobState::Queued, reason, message);
    }

    // A manual trigger reruns a finished job.
    if let Some(trigger) = o.trigger
        && d.status.last_trigger.as_deref() != Some(trigger)
    {
        d.status.last_trigger = Some(trigger.to_owned());
        if d.state().is_some_and(JobState::is_final) {
            d.clear_attempt();
            d.status.retries = None;
            d.status.finished_at = None;
            d.status.driver_exit = None;
            d.status.queued_at = Some(rfc3339(o.now));
            d.enter(JobState::Queued, "ManualTrigger", format!("run again by `sparkplane trigger` ({trigger})"));
        }
    }

    // Adoption: a driver of this spec newer than the status knows.
    if let Some(driver) = o.driver
        && driver.spec_hash.as_deref() == Some(plan.spec_hash.as_str())
        && driver.attempt > d.status.attempt.unwrap_or(0)
        && !driver.deleting
    {
        d.status.attempt = Some(driver.attempt);
        d.status.driver_pod = Some(driver.name.clone());
        d.status.application_id.clone_from(&driver.app_id);
        d.status.submitted_at.get_or_insert_with(|| rfc3339(o.now));
        d.status.finished_at = None;
        d.enter(
            JobState::Submitted,
            "Adopted",
            format!("found driver pod {} of attempt {}", driver.name, driver.attempt),
        );
        d.actions.push(Action::Complete { attempt: driver.attempt, pod: driver.name.clone() });
    }

    if plan.suspend {
        match d.state() {
            Some(state) if state.is_active() => {
                if let Some(pod) = d.status.driver_pod.clone() {
                    d.delete_driver(&pod);
                }
                d.clear_attempt();
                d.enter(JobState::Suspended, "Suspended", "spec.suspend is true: the driver was stopped".into());
            }
            Some(JobState::Queued | JobState::Retrying) | None => {
                d.status.next_retry_at = None;
                d.enter(JobState::Suspended, "Suspended", "spec.suspend is true: the run is held".into());
            }
            // The application has run: its gates are still judged, and suspend holds what comes after.
            Some(JobState::Checking) => gates::checking(d, plan),
            _ => {}
        }
        return;
    }
    if d.state() == Some(JobState::Suspended) {
        d.status.queued_at = Some(rfc3339(o.now));
        d.enter(JobState::Queued, "Resumed", "spec.suspend is false again: the run continues".into());
    }

    if d.state() == Some(JobState::Retrying) {
        match d.status.next_retry_at.as_deref().and_then(parse_time) {
            Some(at) if at > o.now => {
                d.wake_at(at);
                return;
            }
            _ => {
                d.status.next_retry_at = None;
                d.status.queued_at = Some(rfc3339(o.now));
                d.enter(JobState::Queued, "RetryDue", "the backoff has passed: queued for the next attempt".into());
            }
        }
    }

    if let Admission::Evicted { reason, message } = &o.admission
        && d.state().is_some_and(|s| s.is_active() || s == JobState::Retrying)
    {
        evicted(d, reason, message);
        return;
    }
    match d.state() {
        Some(JobState::Queued) | None => admit(d, plan),
        Some(JobState::Submitted | JobState::DriverRunning | JobState::Running) => running(d, plan),
        Some(JobState::Checking) => gates::checking(d, plan),
        Some(JobState::Succeeded | JobState::Failed) => finished(d, plan),
        Some(JobState::Retrying | JobState::Suspended | JobState::Scheduled) => {}
    }
}

fn admit(d: &mut Draft<'_>, plan: &Plan) {
    match &d.o.admission {
        Admission::Admit => {
            let attempt = d.status.attempt.unwrap_or(0) + 1;
            let taken =
                d.o.taken
                    .iter()
                    .find(|pod| pod.attempt == attempt && pod.spec_hash.as_deref() == Some(plan.spec_hash.as_str()));
            if let Some(pod) = taken {
                let message = format!(
                    "the pod {} has the name of attempt {attempt}'s driver but belongs to another owner (an earlier SparkJob of this name, or a direct submission); the attempt starts once it is gone",
                    pod.name
                );
                d.enter(JobState::Queued, "DriverNameTaken", message);
                d.wake_in(CACHE_RECHECK);
                return;
            }
            d.clear_attempt();
            d.status.attempt = Some(attempt);
            d.status.submitted_at = Some(rfc3339(d.o.now));
            d.status.driver_exit = None;
            d.actions.push(Action::Submit { attempt });
            d.enter(JobState::Submitted, "Submitted", format!("attempt {attempt}: the driver pod was created"));
            d.wake_in(plan.driver_start);
        }
        Admission::Wait(message) => {
            d.enter(JobState::Queued, super::queue::QUOTA_WAIT, message.clone());
            d.wake_in(QUEUE_RECHECK);
        }
        Admission::Never(message) => {
            d.status.finished_at = Some(rfc3339(d.o.now));
            d.enter(JobState::Failed, Cause::QuotaExceeded.as_str(), message.clone());
        }
        Admission::Waiting { reason, message } | Admission::Evicted { reason, message } => {
            d.enter(JobState::Queued, reason, message.clone());
            d.wake_in(QUEUE_RECHECK);
        }
    }
}

/// The run's admission was taken back while it ran (Kueue preempted or
/// evicted its Workload): its driver is stopped (executors go with it) and
/// the run queued again; the attempt is not a failure, so no retry is used
/// (ADR 0073).
fn evicted(d: &mut Draft<'_>, reason: &str, message: &str) {
    if let Some(pod) = d.status.driver_pod.clone() {
        d.delete_driver(&pod);
    }
    d.clear_attempt();
    d.status.next_retry_at = None;
    d.status.queued_at = Some(rfc3339(d.o.now));
    d.enter(
        JobState::Queued,
        reason,
        format!("{message}; the driver was stopped and the run is queued again (not counted as a failure)"),
    );
    d.wake_in(QUEUE_RECHECK);
}

fn running(d: &mut Draft<'_>, plan: &Plan) {
    let o = d.o;
    let attempt = d.status.attempt.unwrap_or(1);
    let named = d.status.driver_pod.clone();
    let driver = o.driver.filter(|dv| {
        dv.attempt == attempt
            && dv.spec_hash.as_deref() == Some(plan.spec_hash.as_str())
            && named.as_deref().is_none_or(|n| n == dv.name)
    });
    let Some(driver) = driver else {
        if o.driver_gone {
            let pod = named.unwrap_or_else(|| format!("of attempt {attempt}"));
            fail(
                d,
                plan,
                Cause::DriverLost,
                format!("the driver pod {pod} was deleted before the application ended"),
                None,
            );
        } else {
            d.wake_in(CACHE_RECHECK);
        }
        return;
    };
    if d.status.driver_pod.is_none() {
        d.status.driver_pod = Some(driver.name.clone());
    }
    if d.status.application_id.is_none() {
        d.status.application_id.clone_from(&driver.app_id);
    }
    d.status.executors = Some(o.executors.states);

    if driver.deleting && !matches!(driver.phase, PodPhase::Succeeded | PodPhase::Failed) {
        fail(
            d,
            plan,
            Cause::DriverLost,
            format!("the driver pod {} is being deleted by someone else", driver.name),
            None,
        );
        return;
    }
    match driver.phase {
        PodPhase::Pending => pending(d, plan, driver),
        PodPhase::Running => started(d, plan, driver),
        PodPhase::Succeeded => succeeded(d, plan),
        PodPhase::Failed => {
            let (cause, message) = failure_of(driver);
            fail(d, plan, cause, message, None);
        }
        PodPhase::Unknown => {
            let message = format!("the node of driver pod {} stopped reporting", driver.name);
            fail(d, plan, Cause::DriverLost, message, Some(&driver.name.clone()));
        }
    }
}

fn pending(d: &mut Draft<'_>, plan: &Plan, driver: &DriverView) {
    let o = d.o;
    let submitted = d.status.submitted_at.as_deref().and_then(parse_time).unwrap_or(o.now);
    let deadline = after(submitted, plan.driver_start);
    let (cause, what) = if driver.image_pull_failing() {
        let (reason, message) = driver.waiting.clone().unwrap_or_default();
        (Cause::ImagePullBackOff, format!("the driver image cannot be pulled ({reason}: {message})"))
    } else if let Some(message) = &driver.unschedulable {
        (Cause::Unschedulable, format!("no node can take the driver pod: {message}"))
    } else {
        (Cause::DriverStartTimeout, format!("the driver pod {} did not start running", driver.name))
    };
    if o.now >= deadline {
        let message = format!("{what} within timeouts.driverStart ({})", human(plan.driver_start));
        fail(d, plan, cause, message, Some(&driver.name));
        return;
    }
    if cause != Cause::DriverStartTimeout {
        d.note(cause.as_str(), format!("{what}; the attempt fails at {} unless that changes", rfc3339(deadline)));
    }
    d.wake_at(deadline);
}

fn started(d: &mut Draft<'_>, plan: &Plan, driver: &DriverView) {
    let o = d.o;
    if d.state() == Some(JobState::Submitted) {
        let since = driver.running_since.unwrap_or(o.now);
        d.status.started_at = Some(rfc3339(since));
        d.enter(JobState::DriverRunning, "DriverRunning", format!("driver pod {} is running", driver.name));
    }
    if d.state() == Some(JobState::DriverRunning) && (o.executors.states.running > 0 || plan.initial_executors == 0) {
        let message = format!("{} executor(s) running", o.executors.states.running);
        d.enter(JobState::Running, "Running", message);
    }
    let started = d.status.started_at.as_deref().and_then(parse_time).unwrap_or(o.now);
    if let Some(max) = plan.max_duration {
        let deadline = after(started, max);
        if o.now >= deadline {
            let message =
                format!("the application ran longer than timeouts.maxDuration ({}) and was stopped", human(max));
            fail(d, plan, Cause::MaxDurationExceeded, message, Some(&driver.name));
            return;
        }
        d.wake_at(deadline);
    }
    if let (Some(limit), Some(oldest)) = (plan.executor_start, o.executors.oldest_pending) {
        let deadline = after(oldest, limit);
        if o.now >= deadline {
            let message = format!(
                "{} executor pod(s) waited longer than timeouts.executorStart ({}) to start",
                o.executors.states.pending,
                human(limit)
            );
            fail(d, plan, Cause::ExecutorStartTimeout, message, Some(&driver.name));
            return;
        }
        d.wake_at(deadline);
    }
}

fn succeeded(d: &mut Draft<'_>, plan: &Plan) {
    let o = d.o;
    if plan.retry.restarts_after_success() {
        let at = after(o.now, plan.retry.delay(1));
        d.status.next_retry_at = Some(rfc3339(at));
        d.enter(
            JobState::Retrying,
            "Restart",
            format!("restartPolicy Always: the next attempt starts at {}", rfc3339(at)),
        );
        d.wake_at(at);
        return;
    }
    if gates::begin(d, plan) {
        return;
    }
    d.status.finished_at = Some(rfc3339(o.now));
    d.enter(JobState::Succeeded, "Succeeded", "the application completed".into());
    finished(d, plan);
}

/// A failed attempt: stop its driver when it still runs, then retry or fail.
fn fail(d: &mut Draft<'_>, plan: &Plan, cause: Cause, message: String, stop: Option<&str>) {
    let o = d.o;
    if let Some(pod) = stop {
        d.delete_driver(pod);
    }
    let mut message = message;
    if matches!(cause, Cause::DriverFailed | Cause::OOMKilled) {
        let exit_code = o.driver.and_then(|dv| dv.terminated.as_ref()).map(|t| t.exit_code);
        let log_tail = o.driver_log.map(super::cause::log_tail).unwrap_or_default();
        message = super::cause::naming_application_cause(message, cause, &log_tail);
        d.status.driver_exit = Some(DriverExit { exit_code, log_tail });
    }
    let used = d.status.retries.unwrap_or(0);
    if plan.retry.retries_after(cause, used) {
        let n = used + 1;
        let at = after(o.now, plan.retry.delay(n));
        d.status.retries = Some(n);
        d.status.next_retry_at = Some(rfc3339(at));
        d.enter(
            JobState::Retrying,
            cause.as_str(),
            format!("{message}; retry {n} of {} starts at {}", plan.retry.retries, rfc3339(at)),
        );
        d.wake_at(at);
        return;
    }
    let message = if used > 0 { format!("{message} (no retries left: {used} used)") } else { message };
    d.status.finished_at = Some(rfc3339(o.now));
    d.enter(JobState::Failed, cause.as_str(), message);
    finished(d, plan);
}

/// Cleanup after a run ended: the driver pod goes `ttlAfterFinished` later.
fn finished(d: &mut Draft<'_>, plan: &Plan) {
    let o = d.o;
    let (Some(ttl), Some(driver)) = (plan.ttl, o.driver) else { return };
    if driver.deleting || d.actions.iter().any(|a| matches!(a, Action::DeleteDriver { .. })) {
        return;
    }
    let ended = d.status.finished_at.as_deref().and_then(parse_time).unwrap_or(o.now);
    let due = after(ended, ttl);
    if o.now >= due {
        let pod = driver.name.clone();
        d.delete_driver(&pod);
        d.note(
            d.status.reason.clone().unwrap_or_default().as_str(),
            format!(
                "{} (pods removed after ttlAfterFinished {})",
                d.status.message.clone().unwrap_or_default(),
                human(ttl)
            ),
        );
    } else {
        d.wake_at(due);
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
