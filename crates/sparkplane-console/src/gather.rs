//! Reading the cluster for the console: every [`INTERVAL`], on a thread of
//! its own with its own small runtime, the SparkJobs of every namespace and
//! every ResourceQuota, through `sparkplane_kube`'s client (the kubeconfig
//! as kubectl reads it, or the pod's service account in the cluster).
//!
//! Owns: the thread, its runtime, the shared [`Snapshot`] it replaces, how
//! long a read may take ([`READ_LIMIT`]), and what a failed read does: the last good snapshot stays, marked stale with
//! the reason, and the failure is said once on stderr (and its end once).
//! Must not: shape what is shown (the model does) or answer a request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sparkplane_history::{LiveSource, Surface};
use sparkplane_kube::{KubeError, Operation, Settings, Target};

use crate::driver_log::DriverLogs;
use crate::model::{self, Snapshot};
use crate::surface::{Console, PREFIX, Shared};

/// How often the cluster is read.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// How long one read may take: an API server that holds the requests open is a failed read, not a stuck console.
pub const READ_LIMIT: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(100);

/// The console's view of one cluster: read every [`INTERVAL`] until dropped.
pub struct ClusterConsole {
    server: String,
    snapshot: Shared,
    logs: Arc<DriverLogs>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ClusterConsole {
    /// Connects to the cluster `target` names and reads it a first time
    /// before it returns (a failed first read is a stale, empty snapshot);
    /// Err only when no client can be made (no kubeconfig, no runtime).
    pub fn start(target: &Target) -> Result<ClusterConsole, KubeError> {
        ClusterConsole::connect(&sparkplane_kube::kubeconfig::load(target)?)
    }

    /// [`ClusterConsole::start`] with the configuration chosen already.
    pub fn connect(settings: &Settings) -> Result<ClusterConsole, KubeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| KubeError::NoConfig { detail: format!("cannot start the console's I/O runtime: {e}") })?;
        let client = {
            let _entered = runtime.enter();
            sparkplane_kube::kubeconfig::client(settings)?
        };
        // The driver logs are read on request, on a runtime of their own: a slow log never delays a gather.
        let logs = Arc::new(DriverLogs::connect(settings)?);
        let server = settings.server();
        let shown = server.clone();
        let snapshot: Shared = Arc::new(RwLock::new(Arc::new(Snapshot::default())));
        let mut failing = false;
        refresh(&runtime, &client, &server, &snapshot, &mut failing);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (snapshot, stop) = (Arc::clone(&snapshot), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("sparkplane-console-gather".to_owned())
                .spawn(move || {
                    let mut last = Instant::now();
                    while !stop.load(Ordering::SeqCst) {
                        std::thread::sleep(TICK);
                        if last.elapsed() >= INTERVAL {
                            last = Instant::now();
                            refresh(&runtime, &client, &server, &snapshot, &mut failing);
                        }
                    }
                })
                .map_err(|e| KubeError::NoConfig { detail: format!("cannot start the console's thread: {e}") })?
        };
        Ok(ClusterConsole { server: shown, snapshot, logs, stop, thread: Some(thread) })
    }

    /// The line a server prints when it starts: which cluster, where its console is.
    pub fn describe(&self) -> String {
        format!(
            "console of the cluster at {} on {PREFIX} (its SparkJobs and quotas, read every {}s)",
            self.server,
            INTERVAL.as_secs()
        )
    }

    /// What was read last (the last good read, marked stale when a later one failed).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().map(|s| Arc::clone(&s)).unwrap_or_default()
    }

    /// The console's pages, to mount on the door.
    pub fn surface(&self) -> Arc<dyn Surface> {
        Arc::new(Console::new(Arc::clone(&self.snapshot), Arc::clone(&self.logs)))
    }

    /// The running SparkJobs whose driver UI the door forwards to, from the latest snapshot.
    pub fn live_source(&self) -> LiveSource {
        let snapshot = Arc::clone(&self.snapshot);
        Arc::new(move || snapshot.read().map(|s| model::live_apps(&s)).unwrap_or_default())
    }
}

impl Drop for ClusterConsole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One read; on failure the last good snapshot stays, marked stale.
fn refresh(
    runtime: &tokio::runtime::Runtime,
    client: &kube::Client,
    server: &str,
    shared: &Shared,
    failing: &mut bool,
) {
    let read = runtime.block_on(async {
        let both = async {
            let jobs = sparkplane_kube::jobs::list(client, server, None, None).await?;
            let quotas = sparkplane_kube::quotas::list(client, server).await?;
            Ok(Snapshot { jobs, quotas, stale: None })
        };
        tokio::time::timeout(READ_LIMIT, both).await.unwrap_or_else(|_| {
            Err(KubeError::Unreachable {
                server: server.to_owned(),
                operation: Operation::new("list", "SparkJob", "(all)"),
                detail: format!("no answer within {}s", READ_LIMIT.as_secs()),
            })
        })
    });
    let next = match read {
        Ok(snapshot) => {
            if std::mem::replace(failing, false) {
                eprintln!("console: the cluster at {server} can be read again");
            }
            snapshot
        }
        Err(error) => {
            if !std::mem::replace(failing, true) {
                eprintln!("console: cannot read the cluster ({error}); showing what was last read until it can");
            }
            let last = shared.read().map(|s| Snapshot::clone(&s)).unwrap_or_default();
            Snapshot { stale: Some(error.to_string()), ..last }
        }
    };
    if let Ok(mut now) = shared.write() {
        *now = Arc::new(next);
    }
}
