//! Reading one SparkJob's driver log when a viewer opens its page, the way
//! `sparkplane logs` finds it (`sparkplane_kube::apps::job_log_source`): the
//! current driver pod's log from the API server while the pod exists, else
//! the archive the operator wrote (`status.logArchive`,
//! `sparkplane_kube::logstore::read_text`), else why there is none. Read at
//! request time, never followed, on a runtime and client of its own (the
//! gather's stay its own), within [`READ_LIMIT`], at most [`MAX_READS`] at
//! once, its lines kept in a [`Tail`] of the last [`LOG_LIMIT_BYTES`].
//!
//! Owns: that runtime and client, the time and concurrency bounds, and what
//! each read's outcome shows (whether the driver pod exists is learned from
//! its log's read: a 404 is a pod that is gone). Must not: decide who may read it (the
//! surface asks the model's [`crate::model::visible_job`] first), read a
//! pod or archive the model does not name ([`driver_pod`],
//! [`archive_in_layout`]), write markup, or write to the cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use sparkplane_api::SparkJob;
use sparkplane_kube::apps::{LogRead, LogSource, job_log_source};
use sparkplane_kube::logstore::ArchiveError;
use sparkplane_kube::{KubeError, Settings};

use crate::model::{DriverLog, LOG_LIMIT_BYTES, Tail, archive_in_layout, driver_pod};

/// How long one driver log's read may take, from the API server or the log store.
pub const READ_LIMIT: Duration = Duration::from_secs(10);
/// How many driver logs are read at once; one more is told to come back. A read waits on the
/// History Server's worker thread that asked for it, so half of its workers at most: slow reads
/// never hold every page of the door for their [`READ_LIMIT`].
pub const MAX_READS: usize = sparkplane_history::server::WORKERS / 2;

/// The most lines asked of the API server for a driver pod's log (its `tailLines`): with
/// lines of at most `sparkplane_kube::apps::logs::MAX_LINE_BYTES`, a read is bounded in
/// what crosses the network too, not only in what the page keeps.
pub const LOG_TAIL_LINES: u32 = 20_000;

/// Reads driver logs from one cluster.
pub struct DriverLogs {
    /// Always Some until dropped (taken to shut it down without waiting).
    runtime: Option<tokio::runtime::Runtime>,
    client: kube::Client,
    server: String,
    reading: Arc<AtomicUsize>,
}

/// One of the [`MAX_READS`] reads, given back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl DriverLogs {
    /// A reader of the cluster `settings` name, on a runtime of its own (one I/O thread).
    pub fn connect(settings: &Settings) -> Result<DriverLogs, KubeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sparkplane-console-logs")
            .enable_all()
            .build()
            .map_err(|e| KubeError::NoConfig { detail: format!("cannot start the console's log runtime: {e}") })?;
        let client = {
            let _entered = runtime.enter();
            sparkplane_kube::kubeconfig::client(settings)?
        };
        Ok(DriverLogs {
            runtime: Some(runtime),
            client,
            server: settings.server(),
            reading: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn slot(&self) -> Option<Slot> {
        let taken = self.reading.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(&self.reading));
        (taken < MAX_READS).then_some(slot)
    }

    /// The driver log of `job`, the SparkJob `namespace`/`name` (Kubernetes
    /// names), each line as `shown` turns it (to text, or as written).
    pub fn read(&self, job: &SparkJob, namespace: &str, name: &str, shown: impl Fn(&str) -> String) -> DriverLog {
        let Some(slot) = self.slot() else { return DriverLog::Busy };
        let Some(runtime) = &self.runtime else {
            return DriverLog::Failed { timed_out: false, message: "the console is stopping".to_owned() };
        };
        let mut tail = Tail::new(LOG_LIMIT_BYTES);
        let pod = driver_pod(job);
        let exists = match pod {
            None => false,
            Some(pod) => {
                let last = LogRead::Last(LOG_TAIL_LINES);
                let read = sparkplane_kube::apps::logs(&self.client, &self.server, namespace, pod, last, |line| {
                    tail.push(&shown(line));
                });
                match runtime.block_on(async { tokio::time::timeout(READ_LIMIT, read).await }) {
                    Ok(Ok(())) => true,
                    Ok(Err(KubeError::NotFound { .. })) => false,
                    // The pod is there, its container not (yet, or any more): the API server says which.
                    Ok(Err(KubeError::Invalid { message, .. })) => {
                        return DriverLog::Missing {
                            message: format!("the driver pod {pod} has no log to read: {message}"),
                            help: "a log exists once the driver's container has started; the job's page says why \
                                   it waits"
                                .to_owned(),
                        };
                    }
                    Ok(Err(error)) => {
                        return DriverLog::Failed {
                            timed_out: false,
                            message: format!("cannot read the driver log from the cluster at {}: {error}", self.server),
                        };
                    }
                    Err(_) => {
                        return DriverLog::Failed {
                            timed_out: true,
                            message: format!(
                                "the cluster at {} did not answer within {}s reading the log of the driver pod \
                                 {namespace}/{pod}",
                                self.server,
                                READ_LIMIT.as_secs()
                            ),
                        };
                    }
                }
            }
        };
        // A driver pod name the console does not ask for is none at all.
        let mut named = job.clone();
        if pod.is_none()
            && let Some(status) = named.status.as_mut()
        {
            status.driver_pod = None;
        }
        let source = job_log_source(&named, exists);
        match source {
            // The API server sent its last LOG_TAIL_LINES lines: whether it had more is not said, so the page says it may.
            LogSource::Pod { pod } if tail.pushed() >= u64::from(LOG_TAIL_LINES) => DriverLog::Read {
                source: format!(
                    "the driver pod {pod}, read now: its last {LOG_TAIL_LINES} lines, as many as the console asks \
                     for (earlier lines are not read; `sparkplane logs {name} -n {namespace}` prints them all)"
                ),
                tail,
            },
            LogSource::Pod { pod } => DriverLog::Read { source: format!("the driver pod {pod}, read now"), tail },
            LogSource::Archive { ref url, .. } => {
                let note = source.archive_note(name).unwrap_or_default();
                archived(url, note, namespace, name, slot, &shown)
            }
            LogSource::Unavailable { message, help } => DriverLog::Missing { message, help },
        }
    }
}

/// The archived log at `url` (`note` says whose it is), read on a thread of its own within
/// [`READ_LIMIT`] (the slot goes with it, so a store that holds the read
/// still counts); only where the operator writes driver logs.
fn archived(
    url: &str,
    note: String,
    namespace: &str,
    name: &str,
    slot: Slot,
    shown: &dyn Fn(&str) -> String,
) -> DriverLog {
    if !archive_in_layout(url, namespace, name) {
        return DriverLog::Missing {
            message: format!(
                "the driver log's archive {url} is not where the operator writes driver logs \
                 (<store>/{namespace}/{name}/<pod>.log); the console reads no other location"
            ),
            help: format!("`sparkplane logs {name} -n {namespace}` reads it with your own access"),
        };
    }
    let (send, receive) = mpsc::channel();
    let location = url.to_owned();
    let started = std::thread::Builder::new().name("sparkplane-console-archive".to_owned()).spawn(move || {
        let _slot = slot;
        let _ = send.send(sparkplane_kube::logstore::read_text(&location));
    });
    if let Err(error) = started {
        return DriverLog::Failed { timed_out: false, message: format!("cannot start the archive's read: {error}") };
    }
    match receive.recv_timeout(READ_LIMIT) {
        Ok(Ok(text)) => {
            let mut tail = Tail::new(LOG_LIMIT_BYTES);
            text.lines().for_each(|line| tail.push(&shown(line)));
            DriverLog::Read { source: note, tail }
        }
        // In the words `sparkplane logs` uses.
        Ok(Err(gone @ ArchiveError::Gone { .. })) => {
            DriverLog::Missing { message: gone.to_string(), help: gone.help().to_owned() }
        }
        Ok(Err(error)) => DriverLog::Failed { timed_out: false, message: format!("{error}; {}", error.help()) },
        Err(_) => DriverLog::Failed {
            timed_out: true,
            message: format!("the log store did not answer within {}s reading {url}", READ_LIMIT.as_secs()),
        },
    }
}

impl Drop for DriverLogs {
    fn drop(&mut self) {
        // Without waiting: the last holder may be a thread of another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
