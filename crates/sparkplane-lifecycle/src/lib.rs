//! The operator's decisions, without I/O: what a SparkJob should do next,
//! given what the cluster looks like now.
//!
//! The operator (`sparkplane operator`, in `sparkplane-operator`) gathers the
//! job, its driver and executor pods, its namespace's quota and queue, then
//! calls [`lifecycle::decide`] (one run), [`schedule::decide`] (a job with
//! `spec.schedule`) or [`connect::decide`] (a `type: Connect` server), then
//! acts on the answer. Everything here is a pure
//! function of its inputs, the clock included (`now` is an argument), so the
//! state machine, retries and backoff, timeouts, queueing and cron catch-up
//! are table-tested without an API server.
//!
//! Owns: the state machine, failure causes and retry rules, admission
//! order, schedule ticks. Must not: talk to the API, read the clock, or
//! resolve, size, render or evaluate policy differently from the CLI —
//! [`plan`] calls the same functions `render` and `submit` do.

pub mod admission;
pub mod cause;
pub mod connect;
pub mod job_gate;
pub mod lifecycle;
pub mod plan;
pub mod queue;
pub mod schedule;
pub mod view;

pub use cause::{Cause, RetryRule};
pub use lifecycle::{Action, Decision, Observed, decide};
pub use plan::{Plan, Platform, Prepared};
pub use queue::Admission;
pub use view::{DriverView, ExecutorFacts, ExecutorParent, ExecutorView, PodPhase};

/// The annotation `sparkplane trigger` sets: a new value asks for a manual run.
pub const TRIGGER_ANNOTATION: &str = sparkplane_api::labels::TRIGGER;
/// The label a scheduled run carries: the name of the job that started it.
pub const SCHEDULED_BY_LABEL: &str = sparkplane_api::labels::SCHEDULED_BY;
/// The annotation on a scheduled run: the tick it was started for (RFC 3339).
pub const SCHEDULED_AT_ANNOTATION: &str = sparkplane_api::labels::SCHEDULED_AT;
/// The annotation on a scheduled run: `schedule` or `manual`.
pub const STARTED_BY_ANNOTATION: &str = sparkplane_api::labels::STARTED_BY;
/// The annotation a ResourceQuota may carry: most applications running at once in its namespace.
pub const MAX_RUNNING_ANNOTATION: &str = sparkplane_api::labels::MAX_RUNNING_APPLICATIONS;

/// A duration as Kubernetes users write it (`90s`, `5m`, `2h`).
pub fn human(duration: std::time::Duration) -> String {
    sparkplane_api::Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)).to_string()
}

/// RFC 3339 to the second, as the API server writes timestamps.
pub fn rfc3339(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Reads an RFC 3339 timestamp written by [`rfc3339`] or the API server.
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse().ok()
}

/// `at + duration`, saturating at the largest timestamp.
pub fn after(at: jiff::Timestamp, duration: std::time::Duration) -> jiff::Timestamp {
    jiff::SignedDuration::try_from(duration).ok().and_then(|d| at.checked_add(d).ok()).unwrap_or(jiff::Timestamp::MAX)
}

/// How long from `now` until `at` (zero when `at` has passed).
pub fn until(now: jiff::Timestamp, at: jiff::Timestamp) -> std::time::Duration {
    std::time::Duration::try_from(at.duration_since(now)).unwrap_or_default()
}
