//! Why a run ended or waits, and whether it is tried again: failure causes
//! read from the driver pod, the spec's restart policy as a rule, and the
//! exponential backoff between attempts.
//!
//! Owns: the classification of failures (the application's own, or the
//! infrastructure's), which application cause a failed driver's log tail
//! names (by `failure_cause`'s message rules, the ones `analyze` uses), and
//! the retry arithmetic. Must not: look at anything but the views, the
//! status, the log and the spec it is given.

use std::time::Duration;

use sparkplane_api::SparkJobSpec;
use sparkplane_api::job::{RestartKind, SparkJobStatus};

use super::view::DriverView;
use sparkplane_core::failure_cause::{FailureCause, of_message};

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
    /// The driver succeeded but a blocking data-quality gate failed on its output.
    QualityGatesFailed,
    /// The driver succeeded but its data-quality gates could not be checked
    /// (the check Job could not start, run or finish, or its storage was unreachable).
    QualityGatesError,
    /// The driver succeeded but a data-quality gate's spec, or the data it
    /// names, could not be read (`dq check` exit 2, or a gate `apply` did not
    /// embed): another attempt would read the same spec.
    QualityGatesInvalid,
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
            Cause::QualityGatesFailed => "QualityGatesFailed",
            Cause::QualityGatesError => "QualityGatesError",
            Cause::QualityGatesInvalid => "QualityGatesInvalid",
        }
    }

    /// Whether the infrastructure, not the application or its spec, caused
    /// it: what `OnInfrastructureFailure` retries.
    pub fn is_infrastructure(self) -> bool {
        matches!(self, Cause::Evicted | Cause::DriverLost | Cause::QualityGatesError)
    }

    /// Whether another attempt could change the outcome at all (a refused
    /// spec stays refused until it is edited).
    pub fn is_retryable(self) -> bool {
        // Failed gates judged the data the application wrote: a new attempt is not asked for.
        !matches!(
            self,
            Cause::PolicyDenied
                | Cause::InvalidSpec
                | Cause::QuotaExceeded
                | Cause::QualityGatesFailed
                | Cause::QualityGatesInvalid
        )
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

/// The lines at the end of a failed driver's log the operator reads (the
/// log API's `tailLines`, once per failed attempt), from which [`log_tail`]
/// keeps the status's. Spark's shutdown after the application's error is
/// long: 486 non-empty lines in `local-cluster` mode in the metastore-stopped
/// experiment, so 200 lines missed the error.
pub const DRIVER_LOG_READ_LINES: u16 = 1000;
/// The most log lines a status keeps.
pub const LOG_TAIL_LINES: usize = 20;
/// The longest log line a status keeps (longer ones are cut, with `…`).
pub const LOG_LINE_CHARS: usize = 300;

/// The last lines of a driver log for the status: at most
/// [`LOG_TAIL_LINES`] lines of at most [`LOG_LINE_CHARS`] characters, with
/// the telling error line first when it is not among them: the last error
/// line that names a failure cause (`failure_cause`'s rules), else the last
/// exception or Python error line. Spark's shutdown often logs an error of
/// its own after the application's (a `RejectedExecutionException` from a
/// pool shutting down, seen in the metastore-stopped experiment), which
/// would otherwise hide it.
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
    let errors = || lines.iter().enumerate().rev().filter(|(_, l)| is_error_line(l));
    let telling = errors().find(|(_, l)| of_message(l) != FailureCause::Other).or_else(|| errors().next());
    if let Some((position, _)) = telling
        && position < start
    {
        tail.remove(0);
        tail.insert(0, cut(lines[position]));
    }
    tail
}

/// Whether a log line reports an error (an exception with its message, a
/// Python error or traceback), not a stack frame or an ordinary log line.
fn is_error_line(line: &str) -> bool {
    let t = line.trim_start();
    !t.starts_with("at ")
        && (t.contains("Exception:")
            || t.contains("Error:")
            || t.starts_with("Traceback")
            || t.contains("Exception in thread"))
}

/// The application's cause of an attempt that failed with `cause`, from the
/// driver's log tail (as [`log_tail`] keeps it): for a driver that exited
/// with an error, the message rules `analyze` uses over the tail's error
/// lines (ordinary log lines are not read: an INFO line naming an S3 client
/// is no storage failure); for one killed over its memory limit, out of
/// memory. None for a failure that is not the driver's exit (eviction,
/// timeouts, refusals).
pub fn application_cause(cause: Cause, log_tail: &[String]) -> Option<FailureCause> {
    match cause {
        Cause::OOMKilled => Some(FailureCause::OutOfMemory),
        Cause::DriverFailed => {
            let errors: Vec<&str> = log_tail.iter().map(String::as_str).filter(|l| is_error_line(l)).collect();
            Some(of_message(&errors.join("\n")))
        }
        _ => None,
    }
}

/// A failed driver's status message, with the application cause its log
/// tail names appended (`…: its log shows a Hive metastore error (cause
/// metastore)`) when that is not the application's own error. Only for
/// `DriverFailed`: an `OOMKilled` message already says memory.
pub fn naming_application_cause(message: String, cause: Cause, log_tail: &[String]) -> String {
    match application_cause(cause, log_tail) {
        Some(app) if cause == Cause::DriverFailed && app != FailureCause::Other => {
            format!("{message}; its log shows {} (cause {})", app.what(), app.as_str())
        }
        _ => message,
    }
}

/// The application cause of the failed attempt `status` records (its
/// `reason` and `driverExit`), as [`application_cause`] reads it; None when
/// its reason is not a driver's exit.
pub fn application_cause_of(status: &SparkJobStatus) -> Option<FailureCause> {
    let cause =
        [Cause::DriverFailed, Cause::OOMKilled].into_iter().find(|c| status.reason.as_deref() == Some(c.as_str()))?;
    application_cause(cause, status.driver_exit.as_ref().map_or(&[], |exit| exit.log_tail.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{PodPhase, Terminated};
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
            (RestartKind::OnInfrastructureFailure, 1, QualityGatesError, 0, true),
            (RestartKind::OnFailure, 2, QualityGatesFailed, 0, false),
            (RestartKind::Never, 2, QualityGatesError, 0, false),
            (RestartKind::OnFailure, 2, QualityGatesInvalid, 0, false),
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

    fn tail(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| (*l).to_owned()).collect()
    }

    /// The driver's log tail names the application's cause by the message
    /// rules `analyze` uses, read only from its error lines.
    #[test]
    fn a_failed_drivers_log_names_the_application_cause() {
        let metastore = tail(&[
            "Traceback (most recent call last):",
            "  File \"/opt/job/read.py\", line 5, in <module>",
            "pyspark.errors.exceptions.captured.AnalysisException: org.apache.hadoop.hive.ql.metadata.HiveException: \
             java.lang.RuntimeException: Unable to instantiate org.apache.hadoop.hive.ql.metadata.SessionHiveMetaStoreClient",
            "24/11/24 09:00:01 INFO SparkContext: Successfully stopped SparkContext",
        ]);
        let storage = tail(&[
            "Exception in thread \"main\" org.apache.hadoop.fs.s3a.AWSClientIOException: getFileStatus on s3a://lake/x: \
             com.amazonaws.SdkClientException: Unable to execute HTTP request: Connection refused",
            "\tat org.apache.hadoop.fs.s3a.S3AFileSystem.getFileStatus(S3AFileSystem.java:3286)",
        ]);
        // An ordinary line naming an S3 client is not the error; the error is the application's own.
        let own = tail(&[
            "24/11/24 09:00:00 INFO MetricsConfig: loaded properties from org.apache.hadoop.fs.s3a.S3AFileSystem",
            "ValueError: bad row 17",
        ]);
        let oom = tail(&["java.lang.OutOfMemoryError: Java heap space"]);
        let table: Vec<(Cause, &[String], Option<FailureCause>)> = vec![
            (Cause::DriverFailed, &metastore, Some(FailureCause::Metastore)),
            (Cause::DriverFailed, &storage, Some(FailureCause::Storage)),
            (Cause::DriverFailed, &own, Some(FailureCause::Other)),
            (Cause::DriverFailed, &oom, Some(FailureCause::OutOfMemory)),
            (Cause::DriverFailed, &[], Some(FailureCause::Other)),
            (Cause::OOMKilled, &[], Some(FailureCause::OutOfMemory)),
            (Cause::Evicted, &metastore, None),
            (Cause::DriverLost, &metastore, None),
            (Cause::MaxDurationExceeded, &metastore, None),
        ];
        for (cause, log, expected) in table {
            assert_eq!(application_cause(cause, log), expected, "{cause}: {log:?}");
        }
    }

    #[test]
    fn the_message_names_the_application_cause() {
        let hive = tail(&["org.apache.hadoop.hive.ql.metadata.HiveException: Unable to instantiate"]);
        let table = [
            (
                Cause::DriverFailed,
                hive.clone(),
                "exited with code 1; its log shows a Hive metastore error (cause metastore)",
            ),
            (Cause::DriverFailed, tail(&["ValueError: bad row 17"]), "exited with code 1"),
            (Cause::DriverFailed, Vec::new(), "exited with code 1"),
            (Cause::OOMKilled, hive.clone(), "exited with code 1"),
            (Cause::Evicted, hive, "exited with code 1"),
        ];
        for (cause, log, expected) in table {
            assert_eq!(naming_application_cause("exited with code 1".into(), cause, &log), expected, "{cause}");
        }
    }

    #[test]
    fn the_status_of_a_failed_attempt_names_its_application_cause() {
        use sparkplane_api::job::DriverExit;
        let status = |reason: &str, log: &[&str]| SparkJobStatus {
            reason: Some(reason.to_owned()),
            driver_exit: Some(DriverExit { exit_code: Some(1), log_tail: tail(log) }),
            ..SparkJobStatus::default()
        };
        let hive = ["org.apache.hadoop.hive.metastore.api.MetaException: Could not connect to meta store"];
        assert_eq!(application_cause_of(&status("DriverFailed", &hive)), Some(FailureCause::Metastore));
        assert_eq!(application_cause_of(&status("OOMKilled", &[])), Some(FailureCause::OutOfMemory));
        // An eviction is not the driver's exit, whatever else the status holds.
        assert_eq!(application_cause_of(&status("Evicted", &hive)), None);
        assert_eq!(application_cause_of(&SparkJobStatus::default()), None);
        let no_exit = SparkJobStatus { reason: Some("DriverFailed".into()), ..SparkJobStatus::default() };
        assert_eq!(application_cause_of(&no_exit), Some(FailureCause::Other));
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
        // Shutdown noise after the application's error does not hide it.
        let mut log = String::from(
            "pyspark.errors.exceptions.captured.AnalysisException: org.apache.hadoop.hive.ql.metadata.HiveException: x\n",
        );
        for i in 0..30 {
            log.push_str(&format!("shutdown line {i}\n"));
            if i == 5 || i == 25 {
                log.push_str(
                    "java.util.concurrent.RejectedExecutionException: Task rejected from ThreadPoolExecutor\n",
                );
            }
        }
        let tail = log_tail(&log);
        assert_eq!(tail.len(), LOG_TAIL_LINES);
        assert!(tail[0].contains("HiveException"), "{tail:?}");
        assert!(tail.iter().any(|l| l.starts_with("java.util.concurrent.RejectedExecutionException")), "{tail:?}");
        assert_eq!(application_cause(Cause::DriverFailed, &tail), Some(FailureCause::Metastore));
        let long = "x".repeat(400);
        assert_eq!(log_tail(&long)[0].chars().count(), LOG_LINE_CHARS + 1);
        assert!(log_tail("").is_empty());
    }
}
