//! What the operator does with a `type: Connect` SparkJob — a Spark Connect
//! server, a StatefulSet of one (ADR 0039) — as a pure function of what was
//! observed: apply the server's rendered objects with the replicas it should
//! have, report whether it starts, serves, restarts or sleeps, delete a
//! server pod whose node stopped reporting (the StatefulSet does not replace
//! it until it is gone), scale an idle server to none after
//! `spec.connect.idleTimeout`, and wake it on `sparkplane trigger` or a spec
//! change (ADR 0042).
//!
//! States, in the job's one state field: `Submitted` (objects applied, pod
//! not running), `DriverRunning` (pod running, gRPC not ready), `Running`
//! (ready, reason `Serving`), `Retrying` (the server failed and is being
//! restarted; reason from [`super::cause`]), `Suspended` (reason `Idle` or
//! `Suspended`: no replica), `Failed` (the spec is refused).
//!
//! Owns: those transitions, the idle clock, restart counting and the
//! replicas the server's StatefulSet gets. Must not: read the clock, the API
//! or event logs (activity comes in as [`Activity`]), or render — objects
//! come from the one render path ([`super::plan::render_resolved`]), and
//! only their replicas are set here ([`with_replicas`]).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use sparkplane_api::job::{ConnectStatus, JobState, MAX_TRANSITIONS, SparkJobStatus, Transition};

use super::cause::{Cause, failure_of};
use super::lifecycle::CACHE_RECHECK;
use super::plan::{Plan, Prepared, ServerPlan};
use super::view::{DriverView, PodPhase, Terminated};
use super::{after, human, parse_time, rfc3339, until};
use sparkplane_core::render::RenderedObject;

/// The reason of a server scaled to none for want of clients.
pub const IDLE: &str = "Idle";
/// The reason of a server that answers clients.
pub const SERVING: &str = "Serving";

/// The rendered objects with the StatefulSet's `spec.replicas` set to `replicas`.
pub fn with_replicas(mut objects: Vec<RenderedObject>, replicas: i32) -> Vec<RenderedObject> {
    for object in objects.iter_mut().filter(|o| o.kind == "StatefulSet") {
        object.body["spec"]["replicas"] = serde_json::json!(replicas);
    }
    objects
}

/// The server pod, as the decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPod {
    /// Phase, waiting and termination reasons, spec hash (the driver's view).
    pub driver: DriverView,
    /// `metadata.uid`: a new one is a new pod.
    pub uid: String,
    /// The `Ready` condition (the gRPC port answers its readiness probe).
    pub ready: bool,
    /// The server container's `restartCount`.
    pub restarts: u32,
    /// How the container ended the last time it was restarted.
    pub last_exit: Option<Terminated>,
}

impl ServerPod {
    /// Reads a server pod.
    pub fn of(pod: &Pod) -> ServerPod {
        let status = pod.status.as_ref();
        let ready = status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let container = status.and_then(|s| s.container_statuses.as_ref()).and_then(|c| c.first());
        let last_exit = container
            .and_then(|c| c.last_state.as_ref())
            .and_then(|s| s.terminated.as_ref())
            .map(|t| Terminated { reason: t.reason.clone(), exit_code: t.exit_code, message: t.message.clone() });
        ServerPod {
            driver: DriverView::of(pod),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            ready,
            restarts: container.map_or(0, |c| u32::try_from(c.restart_count).unwrap_or(0)),
            last_exit,
        }
    }
}

/// What clients do on the server, from its event log (ADR 0042).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Sessions open.
    pub sessions: u64,
    /// Operations open.
    pub operations: u64,
    /// The last session or operation event.
    pub last: Option<Timestamp>,
}

/// Everything the decision looks at.
#[derive(Clone, Debug)]
pub struct ServerObserved<'a> {
    /// Now.
    pub now: Timestamp,
    /// `metadata.generation`.
    pub generation: i64,
    /// The status as last written.
    pub status: &'a SparkJobStatus,
    /// The job, prepared (or refused).
    pub prepared: &'a Prepared,
    /// `spec.replicas` of the server's StatefulSet; None when it does not exist.
    pub replicas: Option<i32>,
    /// The server pod, when it exists.
    pub pod: Option<&'a ServerPod>,
    /// Client activity; None when it could not be read.
    pub activity: Option<Activity>,
    /// The `sparkplane.dev/trigger` annotation.
    pub trigger: Option<&'a str>,
}

/// What the operator does, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerAction {
    /// Server-side apply the server's rendered objects with this many replicas.
    Apply {
        /// 1 to serve, 0 to stop.
        replicas: i32,
    },
    /// Delete the server pod so the StatefulSet creates it again.
    DeletePod {
        /// The pod.
        pod: String,
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
pub struct ServerDecision {
    /// The status to write.
    pub status: SparkJobStatus,
    /// Actions, in order.
    pub actions: Vec<ServerAction>,
    /// When to look again even if nothing changes.
    pub requeue_after: Option<Duration>,
    /// A failure newly seen (for the failure counter), if any.
    pub failure: Option<Cause>,
}

struct Draft<'a> {
    o: &'a ServerObserved<'a>,
    status: SparkJobStatus,
    actions: Vec<ServerAction>,
    wake: Option<Timestamp>,
    failure: Option<Cause>,
}

impl Draft<'_> {
    fn state(&self) -> Option<JobState> {
        self.status.state
    }

    fn reason(&self) -> Option<&str> {
        self.status.reason.as_deref()
    }

    fn connect(&mut self) -> &mut ConnectStatus {
        self.status.connect.get_or_insert_with(ConnectStatus::default)
    }

    /// Enters a state (or a new reason in it), with a transition and an Event; a
    /// repeat only updates the message.
    fn enter(&mut self, state: JobState, reason: &str, message: String) {
        let same = self.status.state == Some(state) && self.reason() == Some(reason);
        self.status.state = Some(state);
        self.status.reason = Some(reason.to_owned());
        self.status.message = Some(message.clone());
        if same {
            return;
        }
        let warning = matches!(state, JobState::Failed | JobState::Retrying)
            || matches!(reason, "ImagePullBackOff" | "Unschedulable");
        self.actions.push(ServerAction::Event { warning, reason: reason.to_owned(), message: message.clone() });
        self.status.transitions.push(Transition {
            state: state.as_str().to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message),
            time: rfc3339(self.o.now),
        });
        let excess = self.status.transitions.len().saturating_sub(MAX_TRANSITIONS);
        self.status.transitions.drain(..excess);
    }

    fn apply(&mut self, replicas: i32) {
        self.actions.retain(|a| !matches!(a, ServerAction::Apply { .. }));
        self.actions.push(ServerAction::Apply { replicas });
        self.connect().replicas = Some(replicas);
    }

    fn applying(&self) -> bool {
        self.actions.iter().any(|a| matches!(a, ServerAction::Apply { .. }))
    }

    fn wake_at(&mut self, at: Timestamp) {
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    fn wake_in(&mut self, after_: Duration) {
        self.wake_at(after(self.o.now, after_));
    }

    /// A new server pod starts with a fresh idle clock and is counted from its own restarts.
    fn fresh_start(&mut self) {
        let now = rfc3339(self.o.now);
        let c = self.connect();
        c.pod_uid = None;
        c.pod_restarts = None;
        c.sessions = None;
        c.operations = None;
        c.last_activity = Some(now);
        self.status.started_at = None;
        self.status.next_retry_at = None;
        self.status.submitted_at = Some(rfc3339(self.o.now));
    }

    fn finish(self) -> ServerDecision {
        let requeue_after = self.wake.map(|at| until(self.o.now, at).max(Duration::from_millis(100)));
        ServerDecision { status: self.status, actions: self.actions, requeue_after, failure: self.failure }
    }
}

/// Decides the next step for a Connect server.
pub fn decide(o: &ServerObserved<'_>) -> ServerDecision {
    let mut d = Draft { o, status: o.status.clone(), actions: Vec::new(), wake: None, failure: None };
    d.status.observed_generation = Some(o.generation);
    let plan = match o.prepared {
        Prepared::Refused { cause, message } => {
            if !(d.state() == Some(JobState::Failed) && d.reason() == Some(cause.as_str())) {
                d.status.finished_at = Some(rfc3339(o.now));
            }
            d.enter(JobState::Failed, cause.as_str(), message.clone());
            return d.finish();
        }
        Prepared::Ready(plan) => plan,
    };
    let Some(server) = plan.server.as_ref() else { return d.finish() };
    d.connect().endpoint = Some(server.endpoint.clone());
    serve(&mut d, plan, server);
    d.finish()
}

fn serve(d: &mut Draft<'_>, plan: &Plan, server: &ServerPlan) {
    let o = d.o;
    let want = if plan.suspend { 0 } else { 1 };

    // A new spec (or the first look): apply it; a spec change also wakes an idle server.
    if d.status.spec_hash.as_deref() != Some(plan.spec_hash.as_str()) {
        let changed = d.status.spec_hash.is_some();
        d.status.spec_hash = Some(plan.spec_hash.clone());
        d.status.finished_at = None;
        d.status.last_trigger = o.trigger.map(str::to_owned);
        d.fresh_start();
        d.apply(want);
        if want == 1 {
            let (reason, message) = if changed {
                ("SpecChanged", format!("the spec changed: the server {} is replaced", server.pod))
            } else {
                ("Created", format!("the server's objects were applied; waiting for {}", server.pod))
            };
            d.enter(JobState::Submitted, reason, message);
        }
    }

    // `sparkplane trigger` wakes an idle server.
    if let Some(trigger) = o.trigger
        && d.status.last_trigger.as_deref() != Some(trigger)
    {
        d.status.last_trigger = Some(trigger.to_owned());
        if d.state() == Some(JobState::Suspended) && d.reason() == Some(IDLE) && want == 1 {
            d.fresh_start();
            d.apply(1);
            d.enter(
                JobState::Submitted,
                "Woken",
                format!("started again by `sparkplane trigger` ({trigger}); waiting for {}", server.pod),
            );
        }
    }

    if plan.suspend {
        if d.state() != Some(JobState::Suspended) || d.reason() != Some("Suspended") {
            d.apply(0);
            d.enter(JobState::Suspended, "Suspended", "spec.suspend is true: the server was scaled to 0".into());
        } else if o.replicas.is_some_and(|r| r != 0) && !d.applying() {
            d.apply(0);
        }
        return;
    }
    if d.state() == Some(JobState::Suspended) && d.reason() == Some("Suspended") {
        d.fresh_start();
        d.apply(1);
        d.enter(JobState::Submitted, "Resumed", format!("spec.suspend is false again; waiting for {}", server.pod));
    }
    if d.state() == Some(JobState::Suspended) && d.reason() == Some(IDLE) {
        // Asleep: keep it at none (level-triggered) until a trigger or spec change.
        if o.replicas.is_some_and(|r| r != 0) && !d.applying() {
            d.apply(0);
        }
        return;
    }
    // Level-triggered: a StatefulSet deleted or scaled by someone else is put back.
    if o.replicas != Some(1) && !d.applying() {
        d.apply(1);
    }
    if d.state().is_none() || d.state().is_some_and(JobState::is_final) {
        d.enter(JobState::Submitted, "Created", format!("waiting for {}", server.pod));
    }
    pod(d, plan, server);
}

/// What the server pod says.
fn pod(d: &mut Draft<'_>, plan: &Plan, server: &ServerPlan) {
    let o = d.o;
    let Some(pod) = o.pod.filter(|p| p.driver.spec_hash.as_deref() == Some(plan.spec_hash.as_str())) else {
        // None yet, or the old spec's pod still being replaced.
        if o.pod.is_some() {
            d.status.message = Some(format!("the server pod {} is being replaced with the new spec", server.pod));
        }
        d.wake_in(CACHE_RECHECK);
        return;
    };
    count_restarts(d, pod);
    if pod.driver.deleting {
        d.wake_in(CACHE_RECHECK);
        return;
    }
    match pod.driver.phase {
        PodPhase::Pending => pending(d, plan, pod),
        PodPhase::Running if pod.ready => serving(d, server),
        PodPhase::Running => match pod.driver.waiting.as_ref() {
            Some((reason, _)) if reason == "CrashLoopBackOff" => {
                let message = match &pod.last_exit {
                    Some(exit) => format!(
                        "the server in {} keeps ending (last exit code {}{}); the kubelet restarts it with back-off",
                        pod.driver.name,
                        exit.exit_code,
                        exit.reason.as_deref().map(|r| format!(", {r}")).unwrap_or_default()
                    ),
                    None => format!("the server in {} keeps ending; the kubelet restarts it", pod.driver.name),
                };
                d.enter(JobState::Retrying, "CrashLoopBackOff", message);
                d.wake_in(CACHE_RECHECK);
            }
            _ => {
                if d.state() != Some(JobState::DriverRunning) {
                    d.status.started_at = Some(rfc3339(pod.driver.running_since.unwrap_or(o.now)));
                }
                d.enter(
                    JobState::DriverRunning,
                    "Starting",
                    format!("{} runs; its gRPC port does not answer yet", pod.driver.name),
                );
            }
        },
        PodPhase::Failed | PodPhase::Succeeded => {
            let (cause, message) = failure_of(&pod.driver);
            if d.reason() != Some(cause.as_str()) {
                d.failure = Some(cause);
            }
            d.enter(JobState::Retrying, cause.as_str(), format!("{message}; the StatefulSet creates it again"));
            d.wake_in(CACHE_RECHECK);
        }
        PodPhase::Unknown => lost(d, plan, pod),
    }
}

/// Restarts: container restarts of the pod already seen, and pods replaced
/// under the same spec (a failed, evicted or lost one).
fn count_restarts(d: &mut Draft<'_>, pod: &ServerPod) {
    let c = d.connect();
    let mut added = 0;
    match c.pod_uid.as_deref() {
        Some(uid) if uid == pod.uid => added += pod.restarts.saturating_sub(c.pod_restarts.unwrap_or(0)),
        Some(_) => added += 1 + pod.restarts,
        None => {}
    }
    c.pod_uid = Some(pod.uid.clone());
    c.pod_restarts = Some(pod.restarts);
    if added > 0 {
        c.restarts = Some(c.restarts.unwrap_or(0) + added);
    }
}

fn pending(d: &mut Draft<'_>, plan: &Plan, pod: &ServerPod) {
    let driver = &pod.driver;
    let (reason, message) = if driver.image_pull_failing() {
        let (why, detail) = driver.waiting.clone().unwrap_or_default();
        (Cause::ImagePullBackOff.as_str(), format!("the server image cannot be pulled ({why}: {detail})"))
    } else if let Some(message) = &driver.unschedulable {
        (Cause::Unschedulable.as_str(), format!("no node can take the server pod: {message}"))
    } else {
        ("Starting", format!("waiting for {} to start", driver.name))
    };
    let submitted = d.status.submitted_at.as_deref().and_then(parse_time).unwrap_or(d.o.now);
    let late = after(submitted, plan.driver_start);
    let message = if d.o.now >= late && reason != "Starting" {
        format!("{message} (for longer than timeouts.driverStart, {})", human(plan.driver_start))
    } else {
        message
    };
    d.enter(JobState::Submitted, reason, message);
    d.wake_in(CACHE_RECHECK.max(Duration::from_secs(10)));
}

fn serving(d: &mut Draft<'_>, server: &ServerPlan) {
    let o = d.o;
    if d.state() != Some(JobState::Running) {
        d.status.started_at.get_or_insert_with(|| rfc3339(o.now));
        d.status.next_retry_at = None;
        // A server that just became ready has had no chance of a client yet.
        d.connect().last_activity = Some(rfc3339(o.now));
        d.enter(JobState::Running, SERVING, format!("serving at {}", server.endpoint));
    }
    let Some(activity) = o.activity else { return };
    let c = d.connect();
    c.sessions = Some(activity.sessions);
    c.operations = Some(activity.operations);
    let known = c.last_activity.as_deref().and_then(parse_time);
    let busy = activity.sessions > 0 || activity.operations > 0;
    let last = [known, activity.last, busy.then_some(o.now)].into_iter().flatten().max().unwrap_or(o.now);
    c.last_activity = Some(rfc3339(last));
    let Some(timeout) = server.idle_timeout else { return };
    if busy {
        d.wake_in(timeout);
        return;
    }
    let due = after(last, timeout);
    if o.now < due {
        d.wake_at(due);
        return;
    }
    d.apply(0);
    d.enter(
        JobState::Suspended,
        IDLE,
        format!(
            "no open session or operation since {} (spec.connect.idleTimeout {}): scaled to 0; `sparkplane trigger` starts it again",
            rfc3339(last),
            human(timeout)
        ),
    );
}

/// The node of the server pod stopped reporting: the StatefulSet keeps the
/// name until the pod is gone, so the operator deletes it — at once the
/// first time, then after the spec's back-off (`restartPolicy.backoff`).
fn lost(d: &mut Draft<'_>, plan: &Plan, pod: &ServerPod) {
    let o = d.o;
    let restarts = d.status.connect.as_ref().and_then(|c| c.restarts).unwrap_or(0);
    let due = match d.status.next_retry_at.as_deref().and_then(parse_time) {
        Some(at) if d.reason() == Some(Cause::DriverLost.as_str()) => at,
        _ => {
            let at = if restarts == 0 { o.now } else { after(o.now, plan.retry.delay(restarts)) };
            d.status.next_retry_at = Some(rfc3339(at));
            d.failure = Some(Cause::DriverLost);
            at
        }
    };
    let message = format!(
        "the node of server pod {} stopped reporting; it is deleted so the StatefulSet creates it again (at {})",
        pod.driver.name,
        rfc3339(due)
    );
    d.enter(JobState::Retrying, Cause::DriverLost.as_str(), message);
    if o.now >= due {
        d.actions.push(ServerAction::DeletePod { pod: pod.driver.name.clone() });
        d.status.next_retry_at = None;
        d.wake_in(CACHE_RECHECK);
    } else {
        d.wake_at(due);
    }
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
