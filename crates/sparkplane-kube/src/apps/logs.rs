//! `logs`: where an application's driver log is — its driver pod, else the
//! archive the operator wrote before it removed the pod, else why there is
//! none — and the log itself, read or followed. Owns [`LogSource`]. Must
//! not: print (lines go to a callback).

use futures::{AsyncBufReadExt, AsyncReadExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use sparkplane_api::SparkJob;

use super::DRIVER_CONTAINER;
use super::find::{Located, Lookup, locate};
use super::status::{ManagedJob, current_driver};
use crate::error::{KubeError, Operation};

/// Where `logs` reads an application's driver log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// A driver pod that exists: its log from the API server.
    Pod {
        /// The pod.
        pod: String,
    },
    /// A SparkJob whose current driver pod is gone (or was never recorded)
    /// and whose driver log the operator archived.
    Archive {
        /// Where (`status.logArchive`), for [`crate::logstore::read`].
        url: String,
        /// The driver pod the archived log is of (from its name).
        archived_pod: Option<String>,
        /// The driver pod the SparkJob's status names now.
        current_pod: Option<String>,
    },
    /// There is no log to read: why, and what to do about it.
    Unavailable {
        /// What is missing.
        message: String,
        /// How to get a log next time, or where else to look.
        help: String,
    },
}

/// Where a SparkJob's driver log is: its current driver pod when that
/// exists (`driver_exists`), else the archive the operator wrote before it
/// removed the pod, else why there is none.
pub fn job_log_source(job: &SparkJob, driver_exists: bool) -> LogSource {
    let status = job.status.clone().unwrap_or_default();
    let name = job.metadata.name.as_deref().unwrap_or_default();
    let namespace = job.metadata.namespace.as_deref().unwrap_or_default();
    match (&status.driver_pod, &status.log_archive) {
        (Some(pod), _) if driver_exists => LogSource::Pod { pod: pod.clone() },
        (current, Some(url)) => LogSource::Archive {
            url: url.clone(),
            archived_pod: crate::logstore::pod_of(url).map(str::to_owned),
            current_pod: current.clone(),
        },
        (Some(pod), None) => {
            let tail = status.driver_exit.as_ref().map_or(0, |e| e.log_tail.len());
            let elsewhere = if tail > 0 {
                format!(
                    "; `sparkplane status {name}` shows the driver's last {tail} log lines, which the operator kept"
                )
            } else {
                String::new()
            };
            LogSource::Unavailable {
                message: format!(
                    "the driver pod {pod} of SparkJob {namespace}/{name} is gone and its log was not archived"
                ),
                help: format!(
                    "run the operator with --log-store (object storage) so it keeps driver logs before it removes \
                     pods{elsewhere}"
                ),
            }
        }
        (None, None) => {
            let state = ManagedJob::of(job, None).state();
            let why = match &status.reason {
                Some(reason) => format!("state {state}, reason {reason}"),
                None => format!("state {state}"),
            };
            let help = match (status.state, &status.schedule) {
                (None, _) => "the operator has not acted on it yet: check that `sparkplane operator` runs and watches \
                              this namespace"
                    .to_owned(),
                (Some(sparkplane_api::job::JobState::Scheduled), schedule) => {
                    let active = schedule.as_ref().map(|s| s.active.join(", ")).unwrap_or_default();
                    let active = if active.is_empty() { String::new() } else { format!(" (running now: {active})") };
                    format!(
                        "its runs are SparkJobs of their own{active}; `sparkplane list` shows them and `sparkplane logs RUN` reads one's log"
                    )
                }
                (Some(state), _) if state.is_final() => {
                    format!(
                        "the run ended without a driver pod to read; `sparkplane status {name}` shows what happened"
                    )
                }
                _ => format!(
                    "a log exists once the operator has started its driver; `sparkplane status {name}` shows why it \
                     waits"
                ),
            };
            LogSource::Unavailable { message: format!("SparkJob {namespace}/{name} has no driver pod ({why})"), help }
        }
    }
}

/// Where the driver log of what `lookup` names is (see [`job_log_source`]
/// for a SparkJob; a directly submitted application's newest driver pod).
pub async fn log_source(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<LogSource, KubeError> {
    match locate(client, server, namespace, lookup).await? {
        Located::Job(job) => {
            let exists = current_driver(client, server, namespace, &job).await?.is_some();
            Ok(job_log_source(&job, exists))
        }
        Located::Driver(pod) => Ok(LogSource::Pod { pod: pod.metadata.name.clone().unwrap_or_default() }),
    }
}

/// How much of a driver's log [`logs`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRead {
    /// All of it, as it is now.
    All,
    /// The last this many lines, as it is now (the API server's `tailLines`).
    Last(u32),
    /// All of it, then what is written until the container ends.
    Follow,
}

/// The longest line handed on whole; the rest of a longer one is dropped and
/// [`CUT_MARK`] ends what is handed on, so a log without newlines never fills memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What ends a line cut at [`MAX_LINE_BYTES`].
pub const CUT_MARK: &str = " [… line cut]";

/// The driver's log as `read` says, line by line to `line`, streamed: never
/// more than one line of at most [`MAX_LINE_BYTES`] held.
pub async fn logs(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    pod: &str,
    read: LogRead,
    line: impl FnMut(&str),
) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let op = || Operation::new("log", "Pod", format!("{namespace}/{pod}"));
    let params = LogParams {
        container: Some(DRIVER_CONTAINER.to_owned()),
        follow: read == LogRead::Follow,
        tail_lines: if let LogRead::Last(n) = read { Some(i64::from(n)) } else { None },
        ..LogParams::default()
    };
    let stream = api.log_stream(pod, &params).await.map_err(|e| KubeError::from_kube(e, op(), server))?;
    let mut line = line;
    bounded_lines(stream, |text| {
        line(text);
        true
    })
    .await
    .map_err(|e| KubeError::Unreachable { server: server.to_owned(), operation: op(), detail: e.to_string() })
}

/// Each line of `reader` to `line` (its `\n` or `\r\n` removed, invalid UTF-8
/// replaced), a line longer than [`MAX_LINE_BYTES`] cut there and marked,
/// until the reader ends or `line` answers false.
pub(crate) async fn bounded_lines(
    reader: impl futures::AsyncBufRead,
    mut line: impl FnMut(&str) -> bool,
) -> std::io::Result<()> {
    let mut reader = Box::pin(reader);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let read = (&mut reader).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut buf).await?;
        if read == 0 {
            return Ok(());
        }
        let ended = buf.last() == Some(&b'\n');
        if ended {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let text = String::from_utf8_lossy(&buf);
        if !ended && read == MAX_LINE_BYTES {
            if !line(&format!("{text}{CUT_MARK}")) {
                return Ok(());
            }
            // The rest of the long line, read and dropped a bounded piece at a time.
            loop {
                buf.clear();
                let more = (&mut reader).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut buf).await?;
                if more == 0 || buf.last() == Some(&b'\n') {
                    break;
                }
            }
        } else if !line(&text) {
            return Ok(());
        }
    }
}

impl LogSource {
    /// For an archived log of `name`'s driver: which driver's log it is and
    /// where it comes from (None for any other source).
    pub fn archive_note(&self, name: &str) -> Option<String> {
        let LogSource::Archive { url, archived_pod, current_pod } = self else { return None };
        let archived = archived_pod.as_deref().unwrap_or("the driver");
        Some(match current_pod.as_deref() {
            Some(current) if current != archived => format!(
                "the driver pod {current} is gone and its log was not archived; this is the archived log of \
                 {archived}, an earlier driver of {name}, from {url}"
            ),
            _ => format!("the driver pod {archived} is gone; its log comes from the archive at {url}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::fixtures::job;
    use super::{CUT_MARK, LogSource, MAX_LINE_BYTES, bounded_lines, job_log_source};

    fn lines_of(bytes: Vec<u8>) -> Vec<String> {
        let mut seen = Vec::new();
        let reader = futures::io::BufReader::with_capacity(1000, futures::io::Cursor::new(bytes));
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(bounded_lines(reader, |line| {
                seen.push(line.to_owned());
                seen.len() < 100
            }))
            .expect("read");
        seen
    }

    #[test]
    fn log_lines_are_split_at_newlines_and_a_line_without_end_is_cut_and_marked_not_held() {
        assert_eq!(lines_of(b"one\r\ntwo\n\nthree".to_vec()), ["one", "two", "", "three"]);
        assert_eq!(lines_of(b"bad \xff byte\n".to_vec()), ["bad \u{fffd} byte"]);
        assert!(lines_of(Vec::new()).is_empty());
        // Three lines' worth of bytes with no newline, then a short line: one cut line, then the next.
        let mut hostile = vec![b'x'; 3 * MAX_LINE_BYTES + 17];
        hostile.extend_from_slice(b"\nafter\n");
        let seen = lines_of(hostile);
        assert_eq!(seen.len(), 2, "{:?}", seen.iter().map(String::len).collect::<Vec<_>>());
        assert_eq!(seen[0], format!("{}{CUT_MARK}", "x".repeat(MAX_LINE_BYTES)));
        assert_eq!(seen[1], "after");
        // A long line at the very end.
        let seen = lines_of(vec![b'y'; MAX_LINE_BYTES + 1]);
        assert_eq!(seen, [format!("{}{CUT_MARK}", "y".repeat(MAX_LINE_BYTES))]);
        // The reader stops when told: 100 of 1,000 lines.
        assert_eq!(lines_of("z\n".repeat(1000).into_bytes()).len(), 100);
    }

    #[test]
    fn a_jobs_log_is_its_live_driver_then_the_archive_then_an_explanation() {
        let archived =
            json!({"state": "Succeeded", "driverPod": "n-driver", "logArchive": "s3://logs/team-a/n/n-driver.log"});
        assert_eq!(job_log_source(&job("n", "u", archived.clone()), true), LogSource::Pod { pod: "n-driver".into() });
        assert_eq!(
            job_log_source(&job("n", "u", archived), false),
            LogSource::Archive {
                url: "s3://logs/team-a/n/n-driver.log".into(),
                archived_pod: Some("n-driver".into()),
                current_pod: Some("n-driver".into()),
            }
        );
        let LogSource::Unavailable { message, help } = job_log_source(
            &job(
                "n",
                "u",
                json!({"state": "Failed", "driverPod": "n-driver", "driverExit": {"exitCode": 1, "logTail": ["a", "b"]}}),
            ),
            false,
        ) else {
            panic!("no log")
        };
        assert_eq!(message, "the driver pod n-driver of SparkJob team-a/n is gone and its log was not archived");
        assert_eq!(
            help,
            "run the operator with --log-store (object storage) so it keeps driver logs before it removes pods; \
             `sparkplane status n` shows the driver's last 2 log lines, which the operator kept"
        );
        let LogSource::Unavailable { message, help } =
            job_log_source(&job("n", "u", json!({"state": "Queued", "reason": "QuotaWait"})), false)
        else {
            panic!("no log")
        };
        assert_eq!(message, "SparkJob team-a/n has no driver pod (state Queued, reason QuotaWait)");
        assert!(help.ends_with("`sparkplane status n` shows why it waits"), "{help}");
        let LogSource::Unavailable { message, help } = job_log_source(&job("n", "u", Value::Null), false) else {
            panic!("no log")
        };
        assert_eq!(message, "SparkJob team-a/n has no driver pod (state New)");
        assert!(help.starts_with("the operator has not acted on it yet"), "{help}");
        let LogSource::Unavailable { help, .. } = job_log_source(
            &job("n", "u", json!({"state": "Scheduled", "schedule": {"active": ["n-1", "n-2"]}})),
            false,
        ) else {
            panic!("no log")
        };
        assert!(help.starts_with("its runs are SparkJobs of their own (running now: n-1, n-2)"), "{help}");
    }

    #[test]
    fn an_archived_log_says_whose_it_is_when_a_later_driver_lost_its_own() {
        let archive = |current: Option<&str>| LogSource::Archive {
            url: "s3://logs/team-a/n/n-1-driver.log".into(),
            archived_pod: Some("n-1-driver".into()),
            current_pod: current.map(str::to_owned),
        };
        assert_eq!(
            archive(Some("n-1-driver")).archive_note("n").as_deref(),
            Some(
                "the driver pod n-1-driver is gone; its log comes from the archive at s3://logs/team-a/n/n-1-driver.log"
            )
        );
        assert_eq!(
            archive(Some("n-2-driver")).archive_note("n").as_deref(),
            Some(
                "the driver pod n-2-driver is gone and its log was not archived; this is the archived log of \
                 n-1-driver, an earlier driver of n, from s3://logs/team-a/n/n-1-driver.log"
            )
        );
        assert_eq!(LogSource::Pod { pod: "p".into() }.archive_note("n"), None);
    }
}
