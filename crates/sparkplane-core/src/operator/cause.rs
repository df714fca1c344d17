//! Why a run ended or waits, and whether it is tried again: failure causes
//! read from the driver pod, the spec's restart policy as a rule, and the
//! exponential backoff between attempts.
//!
//! Owns: the classification of failures (the application's own, or the
//! infrastructure's) and the retry arithmetic. Must not: look at anything
//! but the views and the spec it is given.

use std::time::Duration;

use sparkplane_api::SparkJobSpec;
use sparkplane_api::job::RestartKind;

use super::view::DriverView;

/// Why a run failed (or, for the waiting ones, why it waits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    /// The driver image cannot be pulled.
    ImagePullBackOff,
    /// No node can take the driver.
    Unschedulable,
    /// The driver did not start within `timeouts.driverStart`.
    DriverStartTimeout,
    /// An executor waited longer than `timeouts.executorStart`.
    ExecutorStartTimeout,
    /// The run took longer than `timeouts.maxDuration`.
    MaxDurationExceeded,
    /// The kubelet evicted the driver (node pressure, drain, node removed).
    Evicted,
    /// The driver went over its memory limit.
    OOMKilled,
    /// The application failed (its exit code and log say why).
    DriverFailed,
    /// The driver pod disappeared or its node stopped answering.
    DriverLost,
    /// A deny policy refused the job.
    PolicyDenied,
    /// The spec is not valid.
    InvalidSpec,
    /// The job needs more than its namespace's quota allows, even with nothing else running.
    QuotaExceeded,
}

impl Cause {
    /// The word in `status.reason` and in Events.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::ImagePullBackOff => "ImagePullBackOff",
            Cause::Unschedulable => "Unschedulable",
            Cause::DriverStartTimeout => "DriverStartTimeout",
            Cause::ExecutorStartTimeout => "ExecutorStartTimeout",
            Cause::MaxDurationExceeded => "MaxDurationExceeded",
            Cause::Evicted => "Evicted",
            Cause::OOMKilled => "OOMKilled",
            Cause::DriverFailed => "DriverFailed",
            Cause::DriverLost => "DriverLost",
            Cause::PolicyDenied => "PolicyDenied",
            Cause::InvalidSpec => "InvalidSpec",
            Cause::QuotaExceeded => "QuotaExceeded",
        }
    }

    /// Whether the infrastructure, not the application or its spec, caused
    /// it: what `OnInfrastructureFailure` retries.
    pub fn is_infrastructure(self) -> bool {
        matches!(self, Cause::Evicted | Cause::DriverLost)
    }

    /// Whether another attempt could change the outcome at all (a refused
    /// spec stays refused until it is edited).
    pub fn is_retryable(self) -> bool {
        !matches!(self, Cause::PolicyDenied | Cause::InvalidSpec | Cause::QuotaExceeded)
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an ended driver failed, with a sentence saying so.
pub fn failure_of(driver: &DriverView) -> (Cause, String) {
    let name = &driver.name;
    if let Some((reason, message)) = &driver.pod_reason {
        match reason.as_str() {
            "Evicted" | "Preempting" | "Terminated" | "Shutdown" | "NodeShutdown" => {
                return (Cause::Evicted, with_detail(format!("the driver pod {name} was evicted ({reason})"), message));
            }
            "DeadlineExceeded" => {
                return (
                    Cause::MaxDurationExceeded,
                    with_detail(format!("the driver pod {name} ran past its activeDeadlineSeconds"), message),
                );
            }
            "NodeLost" | "UnexpectedAdmissionError" => {
                return (Cause::DriverLost, with_detail(format!("the driver pod {name} was lost ({reason})"), message));
            }
            _ => {}
        }
    }
    match &driver.terminated {
        Some(t) if t.reason.as_deref() == Some("OOMKilled") => (
            Cause::OOMKilled,
            format!(
                "the driver container of {name} went over its memory limit and was killed (exit code {}): raise spec.driver.memory or spec.driver.memoryOverhead",
                t.exit_code
            ),
        ),
        Some(t) => (
            Cause::DriverFailed,
            with_detail(
                format!("the driver of {name} exited with code {}", t.exit_code),
                t.message.as_deref().unwrap_or(""),
            ),
        ),
        None => (Cause::DriverFailed, format!("the driver pod {name} failed")),
    }
}

fn with_detail(text: String, detail: &str) -> String {
    let detail = detail.trim();
    if detail.is_empty() { text } else { format!("{text}: {detail}") }
}

/// When a run is tried again, as the spec's `restartPolicy` says.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryRule {
    /// The policy.
    pub kind: RestartKind,
    /// Retries allowed after failures.
    pub retries: u32,
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Growth per retry.
    pub multiplier: f64,
}

/// The backoff when a job gives none: 10 s doubling up to 5 minutes.
pub const DEFAULT_BACKOFF: (Duration, Duration, f64) = (Duration::from_secs(10), Duration::from_secs(300), 2.0);

impl RetryRule {
    /// The rule a spec states (`Never` without a policy).
    pub fn of(spec: &SparkJobSpec) -> RetryRule {
        let policy = spec.restart_policy.as_ref();
        let backoff = policy.and_then(|p| p.backoff.as_ref());
        let (initial, max, multiplier) = DEFAULT_BACKOFF;
        let initial = backoff.and_then(|b| b.initial).map_or(initial, |d| d.to_std());
        RetryRule {
            kind: policy.and_then(|p| p.kind).unwrap_or(RestartKind::Never),
            retries: policy.and_then(|p| p.retries).unwrap_or(0),
            initial,
            max: backoff.and_then(|b| b.max).map_or(max.max(initial), |d| d.to_std()),
            multiplier: backoff.and_then(|b| b.multiplier).filter(|m| m.is_finite() && *m >= 1.0).unwrap_or(multiplier),
        }
    }

    /// Whether a run that failed with `cause`, having used `used` retries, is tried again.
    pub fn retries_after(&self, cause: Cause, used: u32) -> bool {
        if !cause.is_retryable() || used >= self.retries {
            return false;
        }
        match self.kind {
            RestartKind::Never => false,
            RestartKind::OnFailure | RestartKind::Always => true,
            RestartKind::OnInfrastructureFailure => cause.is_infrastructure(),
        }
    }

    /// Whether a run that succeeded starts again (`Always`).
    pub fn restarts_after_success(&self) -> bool {
        self.kind == RestartKind::Always
    }

    /// The wait before retry number `n` (1 for the first): initial × multiplier^(n−1), at most `max`.
    pub fn delay(&self, n: u32) -> Duration {
        let exponent = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.initial.as_secs_f64() * self.multiplier.powi(exponent);
        if !seconds.is_finite() || seconds >= self.max.as_secs_f64() {
            return self.max;
        }
        Duration::from_secs_f64(seconds.max(0.0))
    }
}

/// The most log lines a status keeps.
pub const LOG_TAIL_LINES: usize = 20;
/// The longest log line a status keeps (longer ones are cut, with `…`).
pub const LOG_LINE_CHARS: usize = 300;

/// The last lines of a driver log for the status: at most
/// [`LOG_TAIL_LINES`] lines of at most [`LOG_LINE_CHARS`] characters, with
/// the last exception or Python error line first when it is not among them.
pub fn log_tail(log: &str) -> Vec<String> {
    let cut = |line: &str| -> String {
        let line = line.trim_end();
        match line.char_indices().nth(LOG_LINE_CHARS) {
            Some((at, _)) => format!("{}…", &line[..at]),
            None => line.to_owned(),
        }
    };
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(LOG_TAIL_LINES);
    let mut tail: Vec<String> = lines[start..].iter().map(|l| cut(l)).collect();
    let is_error = |line: &&str| {
        let t = line.trim_start();
        !t.starts_with("at ")
            && (t.contains("Exception:")
                || t.contains("Error:")
                || t.starts_with("Traceback")
                || t.contains("Exception in thread"))
    };
    if let Some(position) = lines.iter().rposition(is_error)
        && position < start
    {
        tail.remove(0);
        tail.insert(0, cut(lines[position]));
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::view::{PodPhase, Terminated};
    use sparkplane_api::job::{Backoff, RestartPolicy};

    fn driver() -> DriverView {
        DriverView {
            name: "etl-1234abcd-driver".into(),
            attempt: 1,
            spec_hash: None,
            app_id: None,
            phase: PodPhase::Failed,
            waiting: None,
            unschedulable: None,
            terminated: None,
            pod_reason: None,
            running_since: None,
            deleting: false,
        }
    }

    #[test]
    fn failures_are_classified_from_the_pod() {
        let table: Vec<(DriverView, Cause, &str)> = vec![
            (
                DriverView {
                    pod_reason: Some(("Evicted".into(), "The node was low on resource: memory.".into())),
                    ..driver()
                },
                Cause::Evicted,
                "the driver pod etl-1234abcd-driver was evicted (Evicted): The node was low on resource: memory.",
            ),
            (
                DriverView {
                    terminated: Some(Terminated { reason: Some("OOMKilled".into()), exit_code: 137, message: None }),
                    ..driver()
                },
                Cause::OOMKilled,
                "the driver container of etl-1234abcd-driver went over its memory limit and was killed (exit code 137): raise spec.driver.memory or spec.driver.memoryOverhead",
            ),
            (
                DriverView {
                    terminated: Some(Terminated { reason: Some("Error".into()), exit_code: 1, message: None }),
                    ..driver()
                },
                Cause::DriverFailed,
                "the driver of etl-1234abcd-driver exited with code 1",
            ),
            (
                DriverView { pod_reason: Some(("DeadlineExceeded".into(), String::new())), ..driver() },
                Cause::MaxDurationExceeded,
                "the driver pod etl-1234abcd-driver ran past its activeDeadlineSeconds",
            ),
            (
                DriverView { pod_reason: Some(("NodeLost".into(), "node n1 is gone".into())), ..driver() },
                Cause::DriverLost,
                "the driver pod etl-1234abcd-driver was lost (NodeLost): node n1 is gone",
            ),
        ];
        for (view, cause, message) in table {
            assert_eq!(failure_of(&view), (cause, message.to_owned()));
        }
    }

    fn rule(kind: RestartKind, retries: u32) -> RetryRule {
        let spec = SparkJobSpec {
            restart_policy: Some(RestartPolicy {
                kind: Some(kind),
                retries: Some(retries),
                backoff: Some(Backoff {
                    initial: Some(sparkplane_api::Duration::from_secs(30)),
                    max: Some(sparkplane_api::Duration::from_secs(100)),
                    multiplier: Some(2.0),
                }),
            }),
            ..SparkJobSpec::default()
        };
        RetryRule::of(&spec)
    }

    #[test]
    fn retry_rules_follow_the_policy_kind() {
        use Cause::*;
        // (kind, retries, cause, used, retried?)
        let table = [
            (RestartKind::Never, 3, DriverFailed, 0, false),
            (RestartKind::OnFailure, 2, DriverFailed, 0, true),
            (RestartKind::OnFailure, 2, OOMKilled, 1, true),
            (RestartKind::OnFailure, 2, OOMKilled, 2, false),
            (RestartKind::OnFailure, 2, PolicyDenied, 0, false),
            (RestartKind::OnInfrastructureFailure, 1, Evicted, 0, true),
            (RestartKind::OnInfrastructureFailure, 1, Evicted, 1, false),
            (RestartKind::OnInfrastructureFailure, 1, DriverLost, 0, true),
            (RestartKind::OnInfrastructureFailure, 1, DriverFailed, 0, false),
            (RestartKind::OnInfrastructureFailure, 1, OOMKilled, 0, false),
            (RestartKind::Always, 1, ImagePullBackOff, 0, true),
        ];
        for (kind, retries, cause, used, expected) in table {
            assert_eq!(rule(kind, retries).retries_after(cause, used), expected, "{kind:?} {retries} {cause} {used}");
        }
        assert!(rule(RestartKind::Always, 0).restarts_after_success());
        assert!(!rule(RestartKind::OnFailure, 0).restarts_after_success());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = rule(RestartKind::OnFailure, 5);
        let delays: Vec<u64> = (1..=4).map(|n| r.delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 100, 100]);
        let default = RetryRule::of(&SparkJobSpec::default());
        assert_eq!((default.kind, default.retries, default.delay(1).as_secs()), (RestartKind::Never, 0, 10));
        assert_eq!(default.delay(40).as_secs(), 300);
    }

    #[test]
    fn log_tail_keeps_the_exception() {
        let mut log = String::from("starting\nTraceback (most recent call last):\nValueError: bad row 17\n");
        for i in 0..30 {
            log.push_str(&format!("shutdown line {i}\n"));
        }
        let tail = log_tail(&log);
        assert_eq!(tail.len(), LOG_TAIL_LINES);
        assert_eq!(tail[0], "ValueError: bad row 17");
        assert_eq!(tail.last().map(String::as_str), Some("shutdown line 29"));
        let long = "x".repeat(400);
        assert_eq!(log_tail(&long)[0].chars().count(), LOG_LINE_CHARS + 1);
        assert!(log_tail("").is_empty());
    }
}
