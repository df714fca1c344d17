//! A Spark Connect server's status in the shape of Kubeflow's `SparkConnect`
//! (`sparkoperator.k8s.io/v1alpha1`), and back: what the operator writes to
//! a SparkConnect it serves after the one server state machine
//! (`sparkplane_lifecycle::connect`) decided, and the server status it
//! decides on, read from that `status` when the operator has no memory of
//! its own writes (it restarted).
//!
//! Kubeflow's status schema is all there is to store (the API server prunes
//! what it does not list):
//! - `state`: Kubeflow's names ([`PROVISIONING`], [`READY`], [`NOT_READY`],
//!   [`FAILED`]; empty while new). A server asleep (idle, or
//!   `spec.suspend`) is `NotReady`: Kubeflow has no such state;
//! - `conditions`: Kubeflow's `ServerPodReady` ([`SERVER_POD_READY`], with
//!   Kubeflow's two reasons) and sparkplane's own [`SERVER_CONDITION`]
//!   (`sparkplane.dev/Server`: sparkplane's reason and message, e.g.
//!   `Idle`, `CrashLoopBackOff`), both with the generation they were written
//!   for, so a status read back names why the server is where it is and
//!   whether the spec changed since;
//! - `server`: its pod, the pod's IP and the clients' Service;
//! - `executors`: executor pods by phase in lower case, as Kubeflow counts them;
//! - `startTime` (first served) and `lastUpdateTime` (the last change).
//!
//! What the shape cannot hold (the restart count, the clients' activity, the
//! transition history) lives only while the operator runs; the Events of the
//! SparkConnect record the transitions.
//!
//! Owns: the state names, the two conditions and reading them back. Must
//! not: decide (the state machine does), or read the clock or the API.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_api::kubeflow::{SparkConnectServerStatus, SparkConnectStatus};
use sparkplane_lifecycle::rfc3339;

/// The server's objects are being created, its pod is not running yet.
pub const PROVISIONING: &str = "Provisioning";
/// The server's pod is ready: it answers on its gRPC port.
pub const READY: &str = "Ready";
/// The server's pod is not ready (starting, restarting, or asleep).
pub const NOT_READY: &str = "NotReady";
/// The server cannot run (its spec cannot be served).
pub const FAILED: &str = "Failed";
/// Kubeflow's condition type, and its reason when the pod is ready.
pub const SERVER_POD_READY: &str = "ServerPodReady";
/// Kubeflow's reason when the pod is not ready.
pub const SERVER_POD_NOT_READY: &str = "ServerPodNotReady";
/// sparkplane's condition: its own reason and message for the server.
pub const SERVER_CONDITION: &str = "sparkplane.dev/Server";
/// The longest condition message Kubeflow's schema takes.
pub const MAX_MESSAGE: usize = 32_768;
/// The reasons of a server that sleeps on purpose (no pod is wanted).
const ASLEEP: [&str; 2] = ["Idle", "Suspended"];

/// What the operator saw of the server when it wrote the status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerSeen {
    /// The server's pod, when it exists.
    pub pod_name: Option<String>,
    /// Its IP, once it has one.
    pub pod_ip: Option<String>,
    /// The Service clients reach the server through (empty: none, as for a
    /// server that cannot be served).
    pub service_name: String,
    /// The phase of each executor pod of the server (`Running`, `Pending`…).
    pub executor_phases: Vec<String>,
}

/// Kubeflow's state for a server in sparkplane's state `state`.
pub fn state_name(state: JobState) -> &'static str {
    match state {
        JobState::Queued | JobState::Submitted => PROVISIONING,
        JobState::Running => READY,
        JobState::Failed => FAILED,
        JobState::DriverRunning
        | JobState::Retrying
        | JobState::Suspended
        | JobState::Checking
        | JobState::Scheduled
        | JobState::Succeeded => NOT_READY,
    }
}

/// The status to write for the server status `new`, over `old` (what the
/// SparkConnect holds): conditions keep their transition time while their
/// status (and for sparkplane's, its reason) stays; `lastUpdateTime` moves
/// only when something else changed.
pub fn connect_status(
    new: &SparkJobStatus,
    old: &SparkConnectStatus,
    seen: &ServerSeen,
    now: jiff::Timestamp,
) -> SparkConnectStatus {
    let Some(state) = new.state else { return old.clone() };
    let name = state_name(state);
    let ready = name == READY;
    let message = bounded(new.message.as_deref().unwrap_or_default());
    let generation = new.observed_generation;
    let kubeflows = Condition {
        type_: SERVER_POD_READY.into(),
        status: if ready { "True" } else { "False" }.into(),
        reason: if ready { SERVER_POD_READY } else { SERVER_POD_NOT_READY }.into(),
        message: message.clone(),
        observed_generation: generation,
        last_transition_time: Time(now),
    };
    let ours = Condition {
        type_: SERVER_CONDITION.into(),
        status: if ready { "True" } else { "False" }.into(),
        reason: reason_word(new.reason.as_deref()),
        message,
        observed_generation: generation,
        last_transition_time: Time(now),
    };
    let conditions = [kubeflows, ours].into_iter().map(|c| kept_time(c, &old.conditions)).collect();
    let mut executors = BTreeMap::new();
    for phase in &seen.executor_phases {
        *executors.entry(phase.to_lowercase()).or_insert(0) += 1;
    }
    let mut written = SparkConnectStatus {
        conditions,
        state: Some(name.to_owned()),
        server: Some(SparkConnectServerStatus {
            pod_name: seen.pod_name.clone(),
            pod_ip: seen.pod_ip.clone(),
            service_name: Some(seen.service_name.clone()).filter(|s| !s.is_empty()),
        })
        .filter(|s| *s != SparkConnectServerStatus::default()),
        executors,
        start_time: old.start_time.clone().or_else(|| new.submitted_at.clone()).or_else(|| Some(rfc3339(now))),
        last_update_time: old.last_update_time.clone(),
    };
    if written != *old {
        written.last_update_time = Some(rfc3339(now));
    }
    written
}

/// The server status the state machine decides on, read from a
/// SparkConnect's `status` (`generation`: the resource's; `spec_hash`: the
/// hash of the spec it holds now). A status written for another generation
/// has no spec hash: the state machine applies the spec it holds now.
pub fn server_status(status: &SparkConnectStatus, generation: Option<i64>, spec_hash: &str) -> SparkJobStatus {
    let Some(name) = status.state.as_deref().filter(|s| !s.is_empty()) else { return SparkJobStatus::default() };
    let ours = status.conditions.iter().find(|c| c.type_ == SERVER_CONDITION);
    let reason = ours.map(|c| c.reason.clone());
    let state = match name {
        PROVISIONING => JobState::Submitted,
        READY => JobState::Running,
        FAILED => JobState::Failed,
        _ if reason.as_deref().is_some_and(|r| ASLEEP.contains(&r)) => JobState::Suspended,
        _ if reason.as_deref() == Some("Starting") => JobState::DriverRunning,
        _ => JobState::Retrying,
    };
    let written_for = ours.and_then(|c| c.observed_generation);
    let same_spec = written_for.is_some() && written_for == generation;
    SparkJobStatus {
        state: Some(state),
        reason,
        message: ours.map(|c| c.message.clone()).filter(|m| !m.is_empty()),
        observed_generation: written_for,
        spec_hash: same_spec.then(|| spec_hash.to_owned()),
        submitted_at: status.start_time.clone(),
        started_at: (state == JobState::Running).then(|| status.start_time.clone()).flatten(),
        ..SparkJobStatus::default()
    }
}

/// `condition` with the transition time `old` has for its type, when its
/// status (and reason) are the same there.
fn kept_time(mut condition: Condition, old: &[Condition]) -> Condition {
    if let Some(before) = old.iter().find(|c| c.type_ == condition.type_)
        && before.status == condition.status
        && before.reason == condition.reason
    {
        condition.last_transition_time = before.last_transition_time.clone();
    }
    condition
}

/// A condition reason as Kubernetes' schema takes it (a letter, then
/// letters, digits, `_`, `,` or `:`, not ending in `,` or `:`): sparkplane's
/// reasons are such words; anything else is `Unknown`.
fn reason_word(reason: Option<&str>) -> String {
    let ok = |r: &str| {
        let mut chars = r.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ',' | ':'))
            && !r.ends_with([',', ':'])
            && r.len() <= 1024
    };
    reason.filter(|r| ok(r)).unwrap_or("Unknown").to_owned()
}

/// `message` cut to [`MAX_MESSAGE`] bytes on a character boundary.
fn bounded(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_owned()
}

#[cfg(test)]
#[path = "connect_status_tests.rs"]
mod tests;
