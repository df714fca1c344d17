//! `sparkplane operator`, `apply` and `trigger`: the operator that
//! reconciles SparkJob resources in a cluster, and the two commands that
//! hand it work.
//!
//! Owns: turning flags into settings and outcomes into output. Must not:
//! reconcile (`sparkplane_kube::operator`), decide (`sparkplane_lifecycle`)
//! or check a job differently from `render` (it calls the same steps).

use std::path::PathBuf;
use std::time::Duration;

use sparkplane_core::Diagnostic;
use sparkplane_lifecycle::Platform;
use sparkplane_core::render::Target;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_kube::operator::{LeaderSettings, Metrics, OperatorSettings};

use super::kube_view::{block_on, cluster_settings, kube_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, load_catalog, resolve_job};

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
}

/// Runs the operator until Ctrl-C or SIGTERM.
pub fn run(settings: &OperatorCommandSettings, printer: &Printer) -> CommandResult {
    let catalog = load_catalog(settings.platform_dir.as_deref())?;
    if settings.resync < Duration::from_secs(1) {
        return Err(Failure::Invalid(
            Diagnostic::error(
                "bad-flag",
                "--resync",
                format!("{} ms is shorter than one second", settings.resync.as_millis()),
            )
            .with_help("give 1s or more, e.g. --resync 60s (each active application is read again that often)")
            .into(),
        ));
    }
    if let Some(store) = &settings.log_store {
        sparkplane_storage::Location::parse(store).map_err(|e| {
            Failure::Invalid(
                Diagnostic::error("bad-flag", "--log-store", format!("`{store}` is not a location: {e}"))
                    .with_help("give a folder or an s3://, gs:// or az:// URL")
                    .into(),
            )
        })?;
    }
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
            Failure::Invalid(
                Diagnostic::error("bad-flag", "--metrics-address", format!("cannot listen on {address}: {e}"))
                    .with_help("choose a free address, e.g. --metrics-address 127.0.0.1:8080, or 0.0.0.0:8080 in a pod")
                    .into(),
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
    };
    let scope =
        settings.namespace.as_deref().map_or_else(|| "every namespace".to_owned(), |n| format!("namespace {n}"));
    printer.status(&format!("sparkplane operator reconciling SparkJobs in {scope} at {server}"));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(|e| {
            Failure::Infrastructure(Diagnostic::error("runtime", "", format!("cannot start: {e}")).into())
        })?;
    runtime
        .block_on(async {
            let client = sparkplane_kube::kubeconfig::client(&cluster)?;
            sparkplane_kube::operator::run(client, operator, platform, metrics, shutdown_signal()).await
        })
        .map_err(|e| kube_failure(&e))?;
    printer.status("sparkplane operator stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM (what Kubernetes sends a pod that stops).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// What `apply` was asked.
#[derive(Clone, Debug)]
pub struct ApplySettings {
    /// The job.
    pub job: JobSettings,
    /// Context and namespace.
    pub cluster: ClusterTarget,
    /// `--dry-run=server`.
    pub dry_run: bool,
    /// `--policy-mode audit`.
    pub audit: bool,
    /// Custom policies, tenant, cost history and approvals.
    pub policy: super::policy::PolicySettings,
    /// `--release`: the release the SparkJob runs, as its `sparkplane.dev/release` label (ADR 0043).
    pub release: Option<String>,
}

/// Runs `apply`: resolve, validate, render and check the job as `render`
/// does, then create or update its SparkJob resource for the operator.
pub fn apply(settings: &ApplySettings, printer: &Printer) -> CommandResult {
    let mut resolved = resolve_job(&settings.job, ValidationTarget::Cluster)?;
    printer.warnings(&resolved.warnings);
    if let Some(id) = &settings.release {
        label_release(&mut resolved.job, id)?;
    }
    embed_gates(&mut resolved.job, &settings.job.path)?;
    let cluster = cluster_settings(&settings.cluster)?;
    if let Some(ns) = settings.cluster.namespace.as_deref() {
        resolved.job.metadata.namespace = Some(ns.to_owned());
    } else if resolved.job.metadata.namespace.is_none() && cluster.namespace_explicit {
        resolved.job.metadata.namespace = Some(cluster.namespace.clone());
    }
    let objects = sparkplane_core::render::size_and_render(&resolved, Target::Native);
    super::policy::enforce_with(&resolved, &objects, &settings.policy, printer, settings.audit)?;
    let mut job = resolved.job.clone();
    job.status = None;
    let namespace = resolved.namespace().to_owned();
    let name = resolved.name().to_owned();
    let hash = resolved.short_hash();
    let applied = block_on(&cluster, async |client, server| {
        sparkplane_kube::jobs::apply(&client, &server, &job, settings.dry_run).await
    })?;
    let state = applied.status.as_ref().and_then(|s| s.state).map_or("new".to_owned(), |s| s.to_string());
    let dry = if settings.dry_run { " (server dry run: nothing stored)" } else { "" };
    let result = serde_json::json!({"name": name, "namespace": namespace, "specHash": hash, "state": state, "dryRun": settings.dry_run});
    printer.result(&result, || format!("sparkjob {namespace}/{name} applied (spec {hash}, state {state}){dry}\n"));
    Ok(())
}

/// Embeds each quality gate's data-quality spec (`definition`), read and
/// checked as `dq check` reads it, so the operator can check the gates in
/// the cluster, where the job's files are not (ADR 0043). A spec that is
/// missing or invalid, or names a dataset relative to its own folder (which
/// the check in the cluster does not have), is exit 2, with its file and line.
fn embed_gates(job: &mut sparkplane_api::SparkJob, job_file: &std::path::Path) -> Result<(), Failure> {
    let files = sparkplane_dq::run::gates(job_file, &job.spec.quality_gates);
    for (gate, file) in job.spec.quality_gates.iter_mut().zip(files) {
        let source = crate::workspace::read_source(&file.spec)?;
        let loaded = sparkplane_dq::load_spec(&source)?;
        let relative = sparkplane_dq::relative_datasets(&loaded, "the operator's check in the cluster");
        if relative.has_errors() {
            return Err(relative.into());
        }
        gate.definition = Some(Box::new(loaded.spec));
    }
    Ok(())
}

/// Labels the job with the release it runs: part of the applied object, so
/// part of the spec hash the operator's status is bound to (ADR 0043).
fn label_release(job: &mut sparkplane_api::SparkJob, id: &str) -> Result<(), Failure> {
    use sparkplane_delivery::cluster_run::{RELEASE_LABEL, is_release_id};
    let name = job.metadata.name.clone().unwrap_or_default();
    if !is_release_id(id) || sparkplane_delivery::store::environment_of(id, &name).is_none() {
        return Err(Failure::Invalid(
            Diagnostic::error(
                "bad-flag",
                "--release",
                format!("`{id}` is not a release id of job `{name}` (<job>-<environment>-<12 hex digits>, at most 63 characters)"),
            )
            .with_help("pass an id that `sparkplane releases JOB` lists")
            .into(),
        ));
    }
    job.metadata.labels.get_or_insert_with(Default::default).insert(RELEASE_LABEL.to_owned(), id.to_owned());
    Ok(())
}

/// What `trigger` was asked.
#[derive(Clone, Debug)]
pub struct TriggerSettings {
    /// The SparkJob.
    pub name: String,
    /// Context and namespace.
    pub cluster: ClusterTarget,
}

/// Runs `trigger`: asks the operator for a manual run of a SparkJob.
pub fn trigger(settings: &TriggerSettings, printer: &Printer) -> CommandResult {
    let name = settings.name.as_str();
    let cluster = cluster_settings(&settings.cluster)?;
    let namespace = cluster.namespace.clone();
    let value = sparkplane_lifecycle::rfc3339(k8s_openapi::jiff::Timestamp::now());
    let job = block_on(&cluster, async |client, server| {
        match sparkplane_kube::jobs::get(&client, &server, &namespace, name).await? {
            Some(_) => sparkplane_kube::jobs::trigger(&client, &server, &namespace, name, &value).await.map(Some),
            None => Ok(None),
        }
    })?;
    let Some(job) = job else {
        return Err(Failure::Invalid(
            Diagnostic::error("unknown-job", "", format!("there is no SparkJob {name} in namespace {namespace}"))
                .with_help("`kubectl get sparkjobs` lists them; `sparkplane apply JOB.yaml` creates one")
                .into(),
        ));
    };
    let what = if job.spec.schedule.is_some() { "a manual run" } else { "a new run once the current one has ended" };
    let result = serde_json::json!({"name": name, "namespace": namespace, "trigger": value});
    printer.result(&result, || format!("sparkjob {namespace}/{name}: asked the operator for {what} ({value})\n"));
    Ok(())
}
