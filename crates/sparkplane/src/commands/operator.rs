//! `sparkplane operator`: the operator that reconciles SparkJob resources
//! in a cluster (`apply` and `trigger`, which hand it work, are in
//! `apply.rs`).
//!
//! Owns: turning flags into settings and outcomes into output. Must not:
//! reconcile (`sparkplane_operator`) or decide (`sparkplane_lifecycle`).

use std::path::PathBuf;
use std::time::Duration;

use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_lifecycle::Platform;
use sparkplane_operator::pool::PoolCapacity;
use sparkplane_operator::{Admitter, LeaderSettings, Metrics, OperatorSettings};

use super::kube_view::{cluster_settings, kube_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::load_catalog;

/// What `operator` was asked.
#[derive(Clone, Debug)]
pub struct OperatorCommandSettings {
    /// Context (and, with `namespace`, the only namespace watched).
    pub cluster: ClusterTarget,
    /// Watch every namespace (the default) or only `cluster.namespace`.
    pub namespace: Option<String>,
    /// Reconciles at once.
    pub concurrency: u16,
    /// `--metrics-address`.
    pub metrics_address: Option<String>,
    /// `--leader-elect`: the Lease's namespace and this replica's identity.
    pub leader: Option<(String, String)>,
    /// `--log-store`.
    pub log_store: Option<String>,
    /// `--max-running-per-namespace`.
    pub max_running: Option<u32>,
    /// `--driver-start-timeout`.
    pub driver_start: Duration,
    /// `--resync`.
    pub resync: Duration,
    /// `--quality-gate-image` (None: the release image of this version).
    pub gate_image: Option<String>,
    /// `--platform-dir`.
    pub platform_dir: Option<PathBuf>,
    /// `--kubeflow`: serve Kubeflow's opted-in resources too, keeping at most this many executors in a status.
    pub kubeflow: Option<u32>,
    /// `--kueue`: Kueue admits runs (ADR 0073).
    pub kueue: bool,
    /// `--queue-pool`: the built-in queue's shared pool, the nodes' room.
    pub queue_pool: bool,
    /// `--queue-capacity`: the shared pool with this capacity.
    pub queue_capacity: Option<String>,
}

/// Runs the operator until Ctrl-C or SIGTERM.
pub fn run(settings: &OperatorCommandSettings, printer: &Printer) -> CommandResult {
    let catalog = load_catalog(settings.platform_dir.as_deref())?;
    if settings.resync < Duration::from_secs(1) {
        return Err(Failure::invalid(
            "bad-flag",
            "--resync",
            format!("{} ms is shorter than one second", settings.resync.as_millis()),
            "give 1s or more, e.g. --resync 60s (each active application is read again that often)",
        ));
    }
    if let Some(store) = &settings.log_store {
        sparkplane_storage::Location::parse(store).map_err(|e| {
            Failure::invalid(
                "bad-flag",
                "--log-store",
                format!("`{store}` is not a location: {e}"),
                "give a folder or an s3://, gs:// or az:// URL",
            )
        })?;
    }
    let queue_pool = pool_capacity(settings)?;
    let gate_image =
        settings.gate_image.clone().unwrap_or_else(|| sparkplane_lifecycle::plan::DEFAULT_GATE_IMAGE.to_owned());
    let platform = Platform { catalog, default_driver_start: settings.driver_start, gate_image };
    let cluster = cluster_settings(&settings.cluster)?;
    let server = cluster.server();
    let metrics = Metrics::new();
    // Held until the operator returns; dropping it stops the endpoint.
    let mut _metrics_server = None;
    if let Some(address) = &settings.metrics_address {
        let server = metrics.serve(address).map_err(|e| {
            Failure::invalid(
                "bad-flag",
                "--metrics-address",
                format!("cannot listen on {address}: {e}"),
                "choose a free address, e.g. --metrics-address 127.0.0.1:8080, or 0.0.0.0:8080 in a pod",
            )
        })?;
        printer.status(&format!("metrics on http://{}/metrics (health /healthz, readiness /readyz)", server.addr()));
        _metrics_server = Some(server);
    }
    let operator = OperatorSettings {
        namespace: settings.namespace.clone(),
        concurrency: settings.concurrency,
        log_store: settings.log_store.clone(),
        max_running_per_namespace: settings.max_running,
        metrics_address: settings.metrics_address.clone(),
        leader: settings.leader.as_ref().map(|(ns, identity)| LeaderSettings::new(ns, identity)),
        server: server.clone(),
        resync: settings.resync,
        kubeflow: settings
            .kubeflow
            .map(|max| sparkplane_operator::kubeflow::KubeflowSettings { max_tracked_executors: max }),
        queue_pool,
    };
    let admitter = if settings.kueue { Admitter::Kueue } else { Admitter::BuiltIn };
    printer.status(&format!("sparkplane operator {}", operator.describe(admitter)));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| {
            Failure::Infrastructure(Diagnostic::error("runtime", "", format!("cannot start: {e}")).into())
        })?;
    runtime
        .block_on(async {
            let client = sparkplane_kube::kubeconfig::client(&cluster)?;
            sparkplane_operator::run_with(
                client,
                operator,
                platform,
                metrics,
                admitter,
                sparkplane_operator::shutdown_signal(),
            )
            .await
        })
        .map_err(|e| kube_failure(&e))?;
    printer.status("sparkplane operator stopped");
    Ok(())
}

/// The shared pool `--queue-pool` or `--queue-capacity` asks for (None: neither).
fn pool_capacity(settings: &OperatorCommandSettings) -> Result<Option<PoolCapacity>, Failure> {
    match &settings.queue_capacity {
        Some(text) => {
            sparkplane_lifecycle::queue::pool::parse_capacity(text).map(|c| Some(PoolCapacity::Fixed(c))).map_err(|e| {
                Failure::invalid(
                    "bad-flag",
                    "--queue-capacity",
                    format!("`{text}`: {e}"),
                    "give resource=amount pairs, e.g. --queue-capacity cpu=16,memory=64Gi",
                )
            })
        }
        None => Ok(settings.queue_pool.then_some(PoolCapacity::Nodes)),
    }
}
