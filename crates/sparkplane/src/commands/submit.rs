//! `sparkplane submit`: resolve, validate, size and render a job (native
//! target), pass the policy gate, then create its objects on the cluster;
//! with `--wait`, follow the driver to its outcome.
//!
//! Owns: the order of those steps (nothing is sent for a job that is
//! invalid or denied) and how the outcome is shown. Must not: render or
//! evaluate policy differently from `render` (it calls the same functions),
//! or talk to the API except through `sparkplane_kube`.

use sparkplane_core::render::{RenderedObject, Target};
use sparkplane_core::validate::ValidationTarget;
use sparkplane_kube::Target as ClusterTarget;
use sparkplane_kube::apps::{self, Application, WaitEvent};
use sparkplane_kube::submit::{self, SubmitOutcome, SubmitRequest};

use crate::exit::{CommandResult, Failure};
use crate::printer::{OutputFormat, Printer};
use crate::workspace::{JobSettings, resolve_job, settle_namespace};

use super::kube_view::kube_failure;
use super::render::print_objects;
use sparkplane_core::render::size_and_render;

/// How far `submit` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DryRun {
    /// Submit for real.
    None,
    /// Render only; nothing is sent.
    Client,
    /// Every request with dryRun=All: the API server validates, stores nothing.
    Server,
}

/// What `submit` was asked, in plain terms.
#[derive(Clone, Debug)]
pub struct SubmitSettings {
    /// The job.
    pub job: JobSettings,
    /// Context and namespace.
    pub cluster: ClusterTarget,
    /// `--rerun`.
    pub rerun: bool,
    /// `--wait`.
    pub wait: bool,
    /// `--dry-run`.
    pub dry_run: DryRun,
    /// `--policy-mode audit`.
    pub audit: bool,
    /// Custom policies, tenant, cost history and approvals.
    pub policy: super::policy::PolicySettings,
    /// `--metrics-file`: where to add the submission's latency.
    pub metrics_file: Option<std::path::PathBuf>,
}

/// Runs `submit`.
pub fn run(settings: &SubmitSettings, printer: &Printer) -> CommandResult {
    let started = std::time::Instant::now();
    let mut resolved = resolve_job(&settings.job, ValidationTarget::Cluster)?;

    if settings.dry_run == DryRun::Client {
        // Render only: the context's namespace is used when it can be read, nothing is sent.
        let context_ns = sparkplane_kube::kubeconfig::load(&settings.cluster).ok().map(|s| s.namespace);
        settle_namespace(&mut resolved, &settings.job, settings.cluster.namespace.as_deref(), context_ns.as_deref())?;
        printer.warnings(&resolved.warnings);
        let objects = size_and_render(&resolved, Target::Native);
        super::policy::enforce_with(&resolved, &objects, &settings.policy, printer, settings.audit)?;
        print_objects(&objects, printer);
        return Ok(());
    }

    if let Some(path) = &settings.metrics_file {
        super::submit_metrics::check(path)?;
    }
    let cluster = sparkplane_kube::kubeconfig::load(&settings.cluster).map_err(|e| kube_failure(&e))?;
    let context_ns = cluster.namespace_explicit.then_some(cluster.namespace.as_str());
    settle_namespace(&mut resolved, &settings.job, settings.cluster.namespace.as_deref(), context_ns)?;
    // After the namespace is settled: it may answer which tenant's queue (ADR 0079).
    printer.warnings(&resolved.warnings);
    let objects = size_and_render(&resolved, Target::Native);
    super::policy::enforce_with(&resolved, &objects, &settings.policy, printer, settings.audit)?;

    let server = cluster.server();
    let request = SubmitRequest {
        job: resolved.name().to_owned(),
        namespace: resolved.namespace().to_owned(),
        spec_hash: resolved.short_hash(),
        rerun: settings.rerun,
        dry_run: settings.dry_run == DryRun::Server,
    };
    let render_attempt = |attempt: u32| -> Vec<RenderedObject> {
        if attempt <= 1 {
            return objects.clone();
        }
        let mut job = resolved.clone();
        job.attempt = attempt;
        size_and_render(&job, Target::Native)
    };
    let runtime = sparkplane_kube::runtime().map_err(|e| kube_failure(&e))?;
    runtime.block_on(async {
        let client = sparkplane_kube::kubeconfig::client(&cluster).map_err(|e| kube_failure(&e))?;
        let outcome = submit::submit(&client, &server, &request, render_attempt).await.map_err(|e| kube_failure(&e))?;
        if let (Some(path), SubmitOutcome::Created { dry_run: false, .. }) = (&settings.metrics_file, &outcome) {
            // Resolve, render, policy and every API call: what a user waits for before the driver exists.
            let seconds = started.elapsed().as_secs_f64();
            if let Err(error) = super::submit_metrics::record(path, resolved.namespace(), "native", seconds) {
                printer.status(&format!("warning: submitted, but its latency was not recorded: {error}"));
            }
        }
        let app = report(&outcome, printer);
        if !settings.wait {
            return Ok(());
        }
        let app = follow(&client, &server, app, printer).await?;
        outcome_of(&app, printer)
    })
}

/// Prints a submission's outcome and returns the application.
fn report(outcome: &SubmitOutcome, printer: &Printer) -> Application {
    match outcome {
        SubmitOutcome::Exists { application } => printer.status(&format!(
            "{} is already submitted (attempt {}, spec {}): nothing created; use --rerun to start a new attempt",
            application.name, application.attempt, application.spec_hash
        )),
        SubmitOutcome::Created { application, objects, dry_run: true } if printer.format != OutputFormat::Json => {
            printer.status(&format!(
                "server dry run: the API server accepted {} objects for {} (attempt {}); nothing was stored",
                objects.len(),
                application.name,
                application.attempt
            ));
            let bodies: Vec<RenderedObject> =
                objects.iter().map(|s| RenderedObject::from_custom(s.object.clone())).collect();
            print_objects(&bodies, printer);
            return application.clone();
        }
        SubmitOutcome::Created { .. } => {}
    }
    printer.result(outcome, || outcome.text());
    outcome.application().clone()
}

/// Follows a driver to its end: phases and executor counts on stderr, the
/// log on stdout (on stderr with `-o json|yaml`, so stdout stays one document).
async fn follow(
    client: &kube::Client,
    server: &str,
    app: Application,
    printer: &Printer,
) -> Result<Application, Failure> {
    let name = app.name.clone();
    let log_to_stdout = printer.format == OutputFormat::Table;
    apps::wait(client, server, &app.namespace, &app.driver_pod, &app.app_id, |event| match event {
        WaitEvent::Phase(phase) => printer.status(&format!("{name}: driver {phase}")),
        WaitEvent::Executors(counts) => printer.status(&format!("{name}: executors {}", counts.summary())),
        WaitEvent::Log(line) if log_to_stdout => printer.raw(&format!("{line}\n")),
        WaitEvent::Log(line) => printer.status(&line),
    })
    .await
    .map_err(|e| kube_failure(&e))
}

/// Exit 0 when the driver Succeeded, 1 otherwise, after printing the outcome.
fn outcome_of(app: &Application, printer: &Printer) -> CommandResult {
    let outcome = app.outcome();
    if let Ok(line) = &outcome {
        printer.status(line);
    }
    if printer.format != OutputFormat::Table {
        printer.result(app, String::new);
    }
    outcome.map(|_| ()).map_err(|e| Failure::Failed(e.into()))
}
