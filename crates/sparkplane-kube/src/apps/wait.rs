//! `wait`: a driver watched until it Succeeds or Fails (or is deleted),
//! its log followed once it runs and its executors counted; dropped watches
//! are re-established with a backoff (`wait_backoff`, which `wait_job`
//! shares). Owns [`WaitEvent`] and how a waited-for driver ended
//! ([`Application::outcome`]). Must not: print (events go to a callback).

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::{Application, DRIVER_CONTAINER, ExecutorCounts, application, phase};
use crate::error::{KubeError, Operation};

/// What happens while waiting for a driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitEvent {
    /// The driver pod's phase changed.
    Phase(String),
    /// Executor counts changed.
    Executors(ExecutorCounts),
    /// A line of the driver's log.
    Log(String),
}

impl Application {
    /// How a driver [`wait`] followed ended: the line saying it succeeded,
    /// else the error naming its phase and why, with where its log is.
    pub fn outcome(&self) -> Result<String, sparkplane_documents::Diagnostic> {
        if self.phase == "Succeeded" {
            return Ok(format!("{} succeeded (driver {}/{})", self.name, self.namespace, self.driver_pod));
        }
        let reason = self.reason.clone().map(|r| format!(": {r}")).unwrap_or_default();
        let message =
            format!("{} ended {} (driver {}/{}){reason}", self.name, self.phase, self.namespace, self.driver_pod);
        Err(sparkplane_documents::Diagnostic::error("driver-failed", "", message)
            .with_help(format!("`sparkplane logs {} -n {}` shows the driver's log", self.name, self.namespace)))
    }
}

/// How many watch failures in a row end the wait as an infrastructure error.
const MAX_WATCH_FAILURES: u32 = 6;

/// Backoff between watch retries while waiting: 0.25 s doubling to 4 s
/// (reset by every event), so [`MAX_WATCH_FAILURES`] failures in a row end
/// the wait after about 8 s, and a short outage is ridden out.
pub(crate) struct WaitBackoff {
    next: Duration,
}

impl WaitBackoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(4);
}

pub(crate) fn wait_backoff() -> WaitBackoff {
    WaitBackoff { next: WaitBackoff::FIRST }
}

impl Iterator for WaitBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (now * 2).min(WaitBackoff::MAX);
        Some(now)
    }
}

impl kube::runtime::utils::Backoff for WaitBackoff {
    fn reset(&mut self) {
        self.next = WaitBackoff::FIRST;
    }
}

/// Follows the driver's log into `lines` until the container ends. Sets
/// `opened` once the log stream is open, so the caller knows whether to
/// fetch the log itself at the end.
fn spawn_log_follower(
    pods: Api<Pod>,
    pod: String,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
    opened: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    tokio::spawn(async move {
        let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), follow: true, ..LogParams::default() };
        let Ok(stream) = pods.log_stream(&pod, &params).await else { return };
        opened.store(true, std::sync::atomic::Ordering::SeqCst);
        // Bounded lines (logs::bounded_lines), until nobody reads them any more.
        let _ = super::logs::bounded_lines(stream, |text| lines.send(text.to_owned()).is_ok()).await;
    });
}

/// A watch of the pods `config` selects, retried with [`wait_backoff`].
///
/// The watcher announces every (re)list with `Init` before it is attempted; it
/// is no sign of a working server, so it must neither reset the failure count
/// nor the backoff (with it, a server failing every list is retried every
/// 0.25 s for ever).
fn watch_pods(
    pods: Api<Pod>,
    config: watcher::Config,
) -> futures::stream::BoxStream<'static, Result<Event<Pod>, watcher::Error>> {
    watcher::watcher(pods, config)
        .filter(|event| std::future::ready(!matches!(event, Ok(Event::Init))))
        .backoff(wait_backoff())
        .boxed()
}

/// What one event of the driver's watch says.
enum DriverNews {
    /// Nothing (a relist's markers).
    Nothing,
    /// The pod is in `phase`; with its final application once that phase ends the run.
    Pod { phase: String, ended: Option<Application> },
    /// The pod was deleted before it finished: its application as last seen.
    Deleted(Application),
}

fn driver_news(event: Event<Pod>) -> DriverNews {
    match event {
        Event::Apply(p) | Event::InitApply(p) => {
            let phase = phase(&p);
            let ended = (phase == "Succeeded" || phase == "Failed").then(|| application(&p));
            DriverNews::Pod { phase, ended }
        }
        Event::Delete(p) => {
            let mut app = application(&p);
            app.phase = "Deleted".into();
            app.reason = Some("the driver pod was deleted before it finished".into());
            DriverNews::Deleted(app)
        }
        Event::Init | Event::InitDone => DriverNews::Nothing,
    }
}

/// The executor pods of an application as their watch shows them, and the
/// counts last reported.
#[derive(Default)]
struct ExecutorPods {
    pods: BTreeMap<String, Pod>,
    /// A (re)list in progress: its pods replace the known ones when it is done.
    relisted: Option<BTreeMap<String, Pod>>,
    counts: ExecutorCounts,
}

impl ExecutorPods {
    /// Applies one event of the watch; the counts when they changed.
    fn apply(&mut self, event: Event<Pod>) -> Option<ExecutorCounts> {
        match event {
            Event::Apply(p) => {
                self.pods.insert(p.metadata.name.clone().unwrap_or_default(), p);
            }
            Event::InitApply(p) => {
                self.relisted.get_or_insert_default().insert(p.metadata.name.clone().unwrap_or_default(), p);
                return None;
            }
            Event::InitDone => self.pods = self.relisted.take().unwrap_or_default(),
            Event::Delete(p) => {
                self.pods.remove(&p.metadata.name.clone().unwrap_or_default());
            }
            Event::Init => return None,
        }
        let counts = ExecutorCounts::of(self.pods.values());
        (counts != self.counts).then(|| {
            self.counts = counts.clone();
            counts
        })
    }
}

/// The driver's log as the wait passes it on: followed by a task once the
/// driver runs, its lines arriving on a channel.
struct LogFollower {
    /// Taken when the follower starts.
    lines: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    opened: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl LogFollower {
    fn new() -> (LogFollower, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        (LogFollower { lines: Some(tx), opened: std::sync::Arc::default() }, rx)
    }

    /// Starts following the log of `pod`, the first time only.
    fn start(&mut self, pods: &Api<Pod>, pod: &str) {
        if let Some(tx) = self.lines.take() {
            spawn_log_follower(pods.clone(), pod.to_owned(), tx, self.opened.clone());
        }
    }

    /// The rest of the log once the driver ended: what the follower still
    /// sends, or all of it when the driver ended before its log could be
    /// followed or the follower could not open the log (a failing API server).
    async fn finish(
        mut self,
        mut lines: tokio::sync::mpsc::UnboundedReceiver<String>,
        pods: &Api<Pod>,
        pod: &str,
        event: &mut impl FnMut(WaitEvent),
    ) {
        let followed = self.lines.take().is_none();
        if followed {
            let rest = async {
                while let Some(line) = lines.recv().await {
                    event(WaitEvent::Log(line));
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(10), rest).await;
        }
        if !followed || !self.opened.load(std::sync::atomic::Ordering::SeqCst) {
            let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), ..LogParams::default() };
            if let Ok(Ok(text)) = tokio::time::timeout(Duration::from_secs(10), pods.logs(pod, &params)).await {
                text.lines().for_each(|l| event(WaitEvent::Log(l.to_owned())));
            }
        }
    }
}

/// Watches the driver `pod` until it Succeeds or Fails (or is deleted),
/// following its log once it runs and counting executors of `app_id`.
/// Returns the final application. Dropped watches are re-established;
/// repeated failures end in [`KubeError::Unreachable`].
pub async fn wait(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    pod: &str,
    app_id: &str,
    mut event: impl FnMut(WaitEvent),
) -> Result<Application, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let op = || Operation::new("watch", "Pod", format!("{namespace}/{pod}"));
    let mut driver = watch_pods(pods.clone(), watcher::Config::default().fields(&format!("metadata.name={pod}")));
    let executor_selector = format!("spark-role=executor,spark-app-selector={app_id}");
    let mut executors = watch_pods(pods.clone(), watcher::Config::default().labels(&executor_selector));
    let mut executor_pods = ExecutorPods::default();
    let mut last_phase = String::new();
    let (mut log, mut log_lines) = LogFollower::new();
    let mut failures = 0u32;

    let last = loop {
        tokio::select! {
            next = driver.next() => {
                let Some(next) = next else {
                    return Err(KubeError::Unreachable { server: server.to_owned(), operation: op(), detail: "the watch ended".into() });
                };
                let news = match next {
                    Err(e) => {
                        failures += 1;
                        if failures >= MAX_WATCH_FAILURES {
                            return Err(crate::error::from_watcher(e, op(), server));
                        }
                        continue;
                    }
                    Ok(ev) => driver_news(ev),
                };
                failures = 0;
                match news {
                    DriverNews::Nothing => {}
                    DriverNews::Deleted(app) => break app,
                    DriverNews::Pod { phase, ended } => {
                        if phase != last_phase {
                            event(WaitEvent::Phase(phase.clone()));
                            last_phase.clone_from(&phase);
                        }
                        if phase == "Running" {
                            log.start(&pods, pod);
                        }
                        if let Some(app) = ended {
                            break app;
                        }
                    }
                }
            }
            next = executors.next() => {
                if let Some(Ok(ev)) = next
                    && let Some(counts) = executor_pods.apply(ev)
                {
                    event(WaitEvent::Executors(counts));
                }
            }
            Some(line) = log_lines.recv() => event(WaitEvent::Log(line)),
        }
    };

    log.finish(log_lines, &pods, pod, &mut event).await;
    let mut app = last;
    app.executors = executor_pods.counts;
    Ok(app)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::super::ExecutorCounts;
    use super::super::fixtures::{driver, executor};
    use super::{DriverNews, Event, ExecutorPods, driver_news};

    fn counts(running: u32, pending: u32) -> ExecutorCounts {
        ExecutorCounts { running, pending, ..ExecutorCounts::default() }
    }

    fn named_executor(name: &str, phase: &str) -> Pod {
        let mut pod = executor("spark-1", phase);
        pod.metadata.name = Some(name.to_owned());
        pod
    }

    #[test]
    fn executor_counts_are_reported_when_they_change_and_a_relist_replaces_the_pods() {
        let mut seen = ExecutorPods::default();
        assert_eq!(seen.apply(Event::Apply(named_executor("e1", "Pending"))), Some(counts(0, 1)));
        assert_eq!(seen.apply(Event::Apply(named_executor("e1", "Pending"))), None, "no change, nothing reported");
        assert_eq!(seen.apply(Event::Apply(named_executor("e1", "Running"))), Some(counts(1, 0)));
        assert_eq!(seen.apply(Event::Apply(named_executor("e2", "Running"))), Some(counts(2, 0)));
        // A relist: its pods count only once it is done, and replace the known ones (e1 went meanwhile).
        assert_eq!(seen.apply(Event::Init), None);
        assert_eq!(seen.apply(Event::InitApply(named_executor("e2", "Running"))), None);
        assert_eq!(seen.apply(Event::InitDone), Some(counts(1, 0)));
        assert_eq!(seen.apply(Event::Delete(named_executor("e2", "Running"))), Some(counts(0, 0)));
        assert_eq!(seen.counts, counts(0, 0));
    }

    #[test]
    fn a_succeeded_driver_is_a_line_and_any_other_end_an_error_naming_its_log() {
        let done = crate::apps::application(&driver("a-driver", "a", "Succeeded", None));
        assert_eq!(done.outcome(), Ok("a succeeded (driver team-a/a-driver)".to_owned()));
        let mut failed = crate::apps::application(&driver("a-driver", "a", "Failed", None));
        failed.reason = Some("Error (exit code 1)".into());
        let error = failed.outcome().expect_err("failed");
        assert_eq!(
            (error.code, error.message.as_str()),
            ("driver-failed", "a ended Failed (driver team-a/a-driver): Error (exit code 1)")
        );
        assert_eq!(error.help.as_deref(), Some("`sparkplane logs a -n team-a` shows the driver's log"));
    }

    #[test]
    fn the_drivers_watch_says_its_phase_its_end_or_its_deletion() {
        let running = driver_news(Event::Apply(driver("a-driver", "a", "Running", None)));
        assert!(matches!(running, DriverNews::Pod { ref phase, ended: None } if phase == "Running"));
        for end in ["Succeeded", "Failed"] {
            let DriverNews::Pod { phase, ended: Some(app) } =
                driver_news(Event::InitApply(driver("a-driver", "a", end, None)))
            else {
                panic!("{end} ends the wait")
            };
            assert_eq!((phase.as_str(), app.phase.as_str(), app.driver_pod.as_str()), (end, end, "a-driver"));
        }
        let DriverNews::Deleted(app) = driver_news(Event::Delete(driver("a-driver", "a", "Running", None))) else {
            panic!("a deletion ends the wait")
        };
        assert_eq!(app.phase, "Deleted");
        assert_eq!(app.reason.as_deref(), Some("the driver pod was deleted before it finished"));
        assert!(matches!(driver_news(Event::InitDone), DriverNews::Nothing));
    }
}
