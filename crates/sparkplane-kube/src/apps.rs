//! Applications on a cluster, seen through their driver pods: find, list,
//! delete, read or follow the driver's log, and wait for the outcome while
//! counting executors.
//!
//! An application is a driver pod labelled `app.kubernetes.io/managed-by:
//! sparkplane` and `spark-role: driver`; its executors are the pods labelled
//! `spark-role: executor` and `spark-app-selector: <app id>`.
//!
//! Owns: the requests and turning pods into [`Application`] summaries.
//! Must not: print (progress goes to a callback), or decide exit codes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::Serialize;

use crate::error::{KubeError, Operation};

/// Selector of every driver pod sparkplane manages.
pub const MANAGED_DRIVERS: &str = "app.kubernetes.io/managed-by=sparkplane,spark-role=driver";

/// The Spark container in the driver pod.
pub const DRIVER_CONTAINER: &str = sparkplane_core::render::common::DRIVER_CONTAINER;

/// Executor pods of an application by phase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExecutorCounts {
    /// Pending.
    pub pending: u32,
    /// Running.
    pub running: u32,
    /// Succeeded.
    pub succeeded: u32,
    /// Failed.
    pub failed: u32,
}

impl ExecutorCounts {
    /// Counts `pods` by phase.
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> ExecutorCounts {
        let mut counts = ExecutorCounts::default();
        for pod in pods {
            match phase(pod).as_str() {
                "Running" => counts.running += 1,
                "Succeeded" => counts.succeeded += 1,
                "Failed" => counts.failed += 1,
                _ => counts.pending += 1,
            }
        }
        counts
    }

    /// `2 running, 1 pending`; `0` when there are none.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            (self.running, "running"),
            (self.pending, "pending"),
            (self.succeeded, "succeeded"),
            (self.failed, "failed"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        if parts.is_empty() { "0".to_owned() } else { parts.join(", ") }
    }
}

/// One application: its driver pod and what is known about it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The job's name (`sparkplane.dev/job`), or the pod's name without one.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// The driver pod's name.
    pub driver_pod: String,
    /// The driver pod's uid.
    pub uid: String,
    /// Spark application id (`spark-app-selector`).
    pub app_id: String,
    /// The resolved spec's short hash (`sparkplane.dev/spec-hash`).
    pub spec_hash: String,
    /// Attempt number (`sparkplane.dev/attempt`, 1 when absent).
    pub attempt: u32,
    /// The driver pod's phase: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    /// Why the driver ended or waits, when Kubernetes says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Creation time (RFC 3339), when the server set one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Executors by phase (filled by [`status`] and [`list`]).
    pub executors: ExecutorCounts,
}

/// The attempt a driver pod belongs to (1 when unlabelled).
pub fn attempt_of(pod: &Pod) -> u32 {
    label(pod, "sparkplane.dev/attempt").and_then(|a| a.parse().ok()).unwrap_or(1)
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str)
}

/// A pod's phase (`Pending` when the server has not set one yet).
pub fn phase(pod: &Pod) -> String {
    pod.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".to_owned())
}

/// Why a driver ended or waits: the Spark container's terminated or waiting
/// reason and message, else the pod's.
fn reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let container = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == DRIVER_CONTAINER)
        .or_else(|| status.container_statuses.iter().flatten().next());
    if let Some(state) = container.and_then(|c| c.state.as_ref()) {
        if let Some(t) = &state.terminated {
            let mut text = t.reason.clone().unwrap_or_else(|| "Terminated".into());
            text.push_str(&format!(" (exit code {})", t.exit_code));
            if let Some(m) = &t.message {
                text.push_str(&format!(": {}", m.trim()));
            }
            return Some(text);
        }
        if let Some(w) = &state.waiting {
            return w.reason.clone().map(|r| match &w.message {
                Some(m) => format!("{r}: {}", m.trim()),
                None => r,
            });
        }
    }
    match (&status.reason, &status.message) {
        (Some(r), Some(m)) => Some(format!("{r}: {m}")),
        (Some(r), None) => Some(r.clone()),
        (None, Some(m)) => Some(m.clone()),
        (None, None) => None,
    }
}

/// The application a driver pod stands for (executor counts empty).
pub fn application(pod: &Pod) -> Application {
    let meta = &pod.metadata;
    let pod_name = meta.name.clone().unwrap_or_default();
    Application {
        name: label(pod, "sparkplane.dev/job").map_or_else(|| pod_name.clone(), str::to_owned),
        namespace: meta.namespace.clone().unwrap_or_default(),
        driver_pod: pod_name,
        uid: meta.uid.clone().unwrap_or_default(),
        app_id: label(pod, "spark-app-selector").unwrap_or_default().to_owned(),
        spec_hash: label(pod, "sparkplane.dev/spec-hash").unwrap_or_default().to_owned(),
        attempt: attempt_of(pod),
        phase: phase(pod),
        reason: reason(pod),
        created: meta.creation_timestamp.as_ref().map(|t| t.0.to_string()),
        executors: ExecutorCounts::default(),
    }
}

/// Where to look for an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A resolved job: its name and spec hash (latest attempt wins).
    Job {
        /// Job name.
        name: String,
        /// Short spec hash.
        spec_hash: String,
    },
    /// A name: a job's (latest driver of any spec) or a driver pod's.
    Name(String),
}

/// The driver pods `lookup` matches in `namespace`, newest attempt first.
pub async fn find_drivers(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Vec<Pod>, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list_op = || Operation::new("list", "Pod", namespace);
    let selector = match lookup {
        Lookup::Job { name, spec_hash } => crate::submit::driver_selector(name, spec_hash),
        Lookup::Name(name) => format!("{MANAGED_DRIVERS},sparkplane.dev/job={name}"),
    };
    let mut found = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube(e, list_op(), server))?
        .items;
    if found.is_empty()
        && let Lookup::Name(name) = lookup
    {
        match pods.get_opt(name).await {
            Ok(Some(pod)) if label(&pod, "spark-role") == Some("driver") => found.push(pod),
            Ok(_) => {}
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    Operation::new("get", "Pod", format!("{namespace}/{name}")),
                    server,
                ));
            }
        }
    }
    found.sort_by(|a, b| {
        attempt_of(b)
            .cmp(&attempt_of(a))
            .then_with(|| b.metadata.creation_timestamp.cmp(&a.metadata.creation_timestamp))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    Ok(found)
}

/// The newest driver `lookup` matches, or [`KubeError::NotFound`].
pub async fn find_driver(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Pod, KubeError> {
    let found = find_drivers(client, server, namespace, lookup).await?;
    found.into_iter().next().ok_or_else(|| {
        let what = match lookup {
            Lookup::Job { name, spec_hash } => format!("{name} (spec {spec_hash})"),
            Lookup::Name(name) => name.clone(),
        };
        KubeError::NotFound {
            operation: Operation::new("get", "application", format!("{namespace}/{what}")),
            message: format!("no sparkplane driver pod for {what} in namespace {namespace}"),
        }
    })
}

/// Executor pods per application id in `namespace` (all namespaces when None).
async fn executors_by_app(
    client: &kube::Client,
    server: &str,
    namespace: Option<&str>,
    app_id: Option<&str>,
) -> Result<BTreeMap<String, Vec<Pod>>, KubeError> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let selector = match app_id {
        Some(id) => format!("spark-role=executor,spark-app-selector={id}"),
        None => "spark-role=executor".to_owned(),
    };
    let pods = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace.unwrap_or("(all)")), server))?;
    let mut by_app: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for pod in pods.items {
        let id = label(&pod, "spark-app-selector").unwrap_or_default().to_owned();
        by_app.entry(id).or_default().push(pod);
    }
    Ok(by_app)
}

/// The newest application `lookup` matches, with its executor counts.
pub async fn status(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
) -> Result<Application, KubeError> {
    let pod = find_driver(client, server, namespace, lookup).await?;
    let mut app = application(&pod);
    let executors = executors_by_app(client, server, Some(namespace), Some(&app.app_id)).await?;
    app.executors = ExecutorCounts::of(executors.get(&app.app_id).into_iter().flatten());
    Ok(app)
}

/// Every sparkplane application in `namespace` (all namespaces when None)
/// whose driver matches the extra label `selector`, sorted by namespace and name.
pub async fn list(
    client: &kube::Client,
    server: &str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Application>, KubeError> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let labels = match selector {
        Some(extra) if !extra.trim().is_empty() => format!("{MANAGED_DRIVERS},{extra}"),
        _ => MANAGED_DRIVERS.to_owned(),
    };
    let drivers = api
        .list(&ListParams::default().labels(&labels))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace.unwrap_or("(all)")), server))?;
    let executors = executors_by_app(client, server, namespace, None).await?;
    let mut apps: Vec<Application> = drivers
        .items
        .iter()
        .map(|pod| {
            let mut app = application(pod);
            app.executors = ExecutorCounts::of(executors.get(&app.app_id).into_iter().flatten());
            app
        })
        .collect();
    apps.sort_by(|a, b| {
        (a.namespace.as_str(), a.name.as_str(), a.attempt).cmp(&(b.namespace.as_str(), b.name.as_str(), b.attempt))
    });
    Ok(apps)
}

/// What `delete` removed.
#[derive(Clone, Debug, Serialize)]
pub struct Deleted {
    /// `Kind/name` of each object deleted.
    pub objects: Vec<String>,
}

/// Deletes the driver pods `lookup` matches (every attempt); their
/// ConfigMaps, Service and NetworkPolicy follow by cascade. With `rbac`, also the job's
/// ServiceAccount, Role and RoleBinding (component `rbac`).
pub async fn delete(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    lookup: &Lookup,
    rbac: bool,
) -> Result<Deleted, KubeError> {
    let drivers = find_drivers(client, server, namespace, lookup).await?;
    if drivers.is_empty() {
        find_driver(client, server, namespace, lookup).await?;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut objects = Vec::new();
    let mut jobs = std::collections::BTreeSet::new();
    for pod in &drivers {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if let Some(job) = label(pod, "sparkplane.dev/job") {
            jobs.insert(job.to_owned());
        }
        match pods.delete(&name, &DeleteParams::background()).await {
            Ok(_) => objects.push(format!("Pod/{name}")),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(KubeError::from_kube(
                    e,
                    Operation::new("delete", "Pod", format!("{namespace}/{name}")),
                    server,
                ));
            }
        }
    }
    if rbac {
        for job in jobs {
            objects.extend(delete_rbac(client, server, namespace, &job).await?);
        }
    }
    Ok(Deleted { objects })
}

async fn delete_rbac(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    job: &str,
) -> Result<Vec<String>, KubeError> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    let selector =
        format!("app.kubernetes.io/managed-by=sparkplane,sparkplane.dev/job={job},app.kubernetes.io/component=rbac");
    let mut deleted = Vec::new();
    macro_rules! sweep {
        ($kind:ty, $name:literal) => {{
            let api: Api<$kind> = Api::namespaced(client.clone(), namespace);
            let items = api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| KubeError::from_kube(e, Operation::new("list", $name, namespace), server))?;
            for item in items.items {
                let name = item.metadata.name.clone().unwrap_or_default();
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => deleted.push(format!("{}/{name}", $name)),
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(KubeError::from_kube(
                            e,
                            Operation::new("delete", $name, format!("{namespace}/{name}")),
                            server,
                        ));
                    }
                }
            }
        }};
    }
    sweep!(RoleBinding, "RoleBinding");
    sweep!(Role, "Role");
    sweep!(ServiceAccount, "ServiceAccount");
    Ok(deleted)
}

/// The driver's log so far, line by line to `line`; with `follow`, until the container ends.
pub async fn logs(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    pod: &str,
    follow: bool,
    mut line: impl FnMut(&str),
) -> Result<(), KubeError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let op = || Operation::new("log", "Pod", format!("{namespace}/{pod}"));
    let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), follow, ..LogParams::default() };
    if !follow {
        let text = api.logs(pod, &params).await.map_err(|e| KubeError::from_kube(e, op(), server))?;
        text.lines().for_each(&mut line);
        return Ok(());
    }
    let stream = api.log_stream(pod, &params).await.map_err(|e| KubeError::from_kube(e, op(), server))?;
    let mut lines = Box::pin(stream.lines());
    while let Some(next) = lines.next().await {
        match next {
            Ok(text) => line(&text),
            Err(e) => {
                return Err(KubeError::Unreachable {
                    server: server.to_owned(),
                    operation: op(),
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

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

/// How many watch failures in a row end the wait as an infrastructure error.
const MAX_WATCH_FAILURES: u32 = 6;

/// Backoff between watch retries while waiting: 0.25 s doubling to 4 s
/// (reset by every event), so [`MAX_WATCH_FAILURES`] failures in a row end
/// the wait after about 8 s, and a short outage is ridden out.
struct WaitBackoff {
    next: Duration,
}

impl WaitBackoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(4);
}

fn wait_backoff() -> WaitBackoff {
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
        let mut stream = Box::pin(stream.lines());
        while let Some(Ok(text)) = stream.next().await {
            if lines.send(text).is_err() {
                return;
            }
        }
    });
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
    let driver_config = watcher::Config::default().fields(&format!("metadata.name={pod}"));
    // The watcher announces every (re)list with `Init` before it is attempted; it
    // is no sign of a working server, so it must neither reset the failure count
    // nor the backoff (with it, a server failing every list is retried every
    // 0.25 s for ever).
    let mut driver = watcher::watcher(pods.clone(), driver_config)
        .filter(|event| std::future::ready(!matches!(event, Ok(Event::Init))))
        .backoff(wait_backoff())
        .boxed();
    let executor_config =
        watcher::Config::default().labels(&format!("spark-role=executor,spark-app-selector={app_id}"));
    let mut executors = watcher::watcher(pods.clone(), executor_config)
        .filter(|event| std::future::ready(!matches!(event, Ok(Event::Init))))
        .backoff(wait_backoff())
        .boxed();
    let mut executor_pods: BTreeMap<String, Pod> = BTreeMap::new();
    // A (re)list in progress: its pods replace the known ones when it is done.
    let mut relisted: Option<BTreeMap<String, Pod>> = None;
    let mut last_counts = ExecutorCounts::default();
    let mut last_phase = String::new();
    let (log_tx, mut log_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut log_tx = Some(log_tx);
    let log_opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut failures = 0u32;

    let last = loop {
        tokio::select! {
            next = driver.next() => {
                let Some(next) = next else {
                    return Err(KubeError::Unreachable { server: server.to_owned(), operation: op(), detail: "the watch ended".into() });
                };
                let ev = match next {
                    Err(e) => {
                        failures += 1;
                        if failures >= MAX_WATCH_FAILURES {
                            return Err(crate::error::from_watcher(e, op(), server));
                        }
                        continue;
                    }
                    Ok(ev) => ev,
                };
                failures = 0;
                let p = match ev {
                    Event::Apply(p) | Event::InitApply(p) => p,
                    Event::Delete(p) => {
                        let mut app = application(&p);
                        app.phase = "Deleted".into();
                        app.reason = Some("the driver pod was deleted before it finished".into());
                        break app;
                    }
                    Event::Init | Event::InitDone => continue,
                };
                let now = phase(&p);
                if now != last_phase {
                    event(WaitEvent::Phase(now.clone()));
                    last_phase.clone_from(&now);
                }
                if now == "Running"
                    && let Some(tx) = log_tx.take()
                {
                    spawn_log_follower(pods.clone(), pod.to_owned(), tx, log_opened.clone());
                }
                if now == "Succeeded" || now == "Failed" {
                    break application(&p);
                }
            }
            next = executors.next() => {
                match next {
                    Some(Ok(Event::Apply(p))) => {
                        executor_pods.insert(p.metadata.name.clone().unwrap_or_default(), p);
                    }
                    Some(Ok(Event::InitApply(p))) => {
                        relisted.get_or_insert_default().insert(p.metadata.name.clone().unwrap_or_default(), p);
                        continue;
                    }
                    Some(Ok(Event::InitDone)) => executor_pods = relisted.take().unwrap_or_default(),
                    Some(Ok(Event::Delete(p))) => {
                        executor_pods.remove(&p.metadata.name.clone().unwrap_or_default());
                    }
                    Some(Ok(Event::Init) | Err(_)) | None => continue,
                }
                let counts = ExecutorCounts::of(executor_pods.values());
                if counts != last_counts {
                    event(WaitEvent::Executors(counts.clone()));
                    last_counts = counts;
                }
            }
            Some(line) = log_rx.recv() => event(WaitEvent::Log(line)),
        }
    };

    // The rest of the log: what the follower still sends, or all of it when
    // the driver ended before its log could be followed or the follower
    // could not open the log (a failing API server).
    let followed = log_tx.take().is_none();
    if followed {
        let rest = async {
            while let Some(line) = log_rx.recv().await {
                event(WaitEvent::Log(line));
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), rest).await;
    }
    if !followed || !log_opened.load(std::sync::atomic::Ordering::SeqCst) {
        let params = LogParams { container: Some(DRIVER_CONTAINER.to_owned()), ..LogParams::default() };
        if let Ok(Ok(text)) = tokio::time::timeout(Duration::from_secs(10), pods.logs(pod, &params)).await {
            text.lines().for_each(|l| event(WaitEvent::Log(l.to_owned())));
        }
    }
    let mut app = last;
    app.executors = last_counts;
    Ok(app)
}
