//! `sparkplane apply` and `trigger`: the two commands that hand the
//! operator work — a SparkJob created or updated (with the ConfigMaps and
//! ServiceAccounts its file holds beside it), and a manual run asked for.
//!
//! Owns: turning flags into settings and outcomes into output. Must not:
//! reconcile (`sparkplane_operator`), check a job differently from
//! `render` (it calls the same steps), read gates' specs differently
//! from `dq check` (`sparkplane_dq::run::embed_gate_specs`), or decide
//! which Kueue references must exist (`sparkplane_kube::kueue::refusals`).

use sparkplane_core::job_file::with_companions;
use sparkplane_core::render::Target;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_kube::Target as ClusterTarget;

use super::kube_view::{block_on, cluster_settings};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job_file, settle_namespace};

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
/// does, then apply the ConfigMaps and ServiceAccounts written beside it in
/// its file (into the job's namespace, ADR 0081) and create or update its
/// SparkJob resource for the operator.
pub fn apply(settings: &ApplySettings, printer: &Printer) -> CommandResult {
    let (mut resolved, companions) = resolve_job_file(&settings.job, ValidationTarget::Cluster)?;
    if let Some(id) = &settings.release {
        sparkplane_delivery::cluster_run::label_release(&mut resolved.job, id)?;
    }
    // Each gate's spec travels in the SparkJob: the cluster has no job files (ADR 0043).
    sparkplane_dq::run::embed_gate_specs(&mut resolved.job, &settings.job.path, crate::workspace::read_source)?;
    let cluster = cluster_settings(&settings.cluster)?;
    let context = cluster.namespace_explicit.then_some(cluster.namespace.as_str());
    settle_namespace(&mut resolved, &settings.job, settings.cluster.namespace.as_deref(), context)?;
    // After the namespace is settled: it may answer which tenant's queue (ADR 0079).
    printer.warnings(&resolved.warnings);
    let rendered = sparkplane_core::render::size_and_render(&resolved, Target::Native);
    let objects = with_companions(rendered, &companions, resolved.namespace())?;
    super::policy::enforce_with(&resolved, &objects, &settings.policy, printer, settings.audit)?;
    let mut job = resolved.job.clone();
    job.status = None;
    let namespace = resolved.namespace().to_owned();
    let name = resolved.name().to_owned();
    let hash = resolved.short_hash();
    let beside: Vec<_> = companions.iter().map(|c| c.object(&namespace)).collect();
    // A queue or priority class the cluster does not have is refused before anything is stored (ADR 0073).
    let applied = block_on(&cluster, async |client, server| {
        let refused = sparkplane_kube::kueue::refusals(&client, &server, &resolved).await?;
        if refused.has_errors() {
            return Ok(Err(refused));
        }
        printer.warnings(&refused);
        // What the job's pods read is there before the operator can start them.
        for object in &beside {
            sparkplane_kube::submit::apply(&client, &server, object, &namespace, settings.dry_run).await?;
        }
        sparkplane_kube::jobs::apply(&client, &server, &job, settings.dry_run).await.map(Ok)
    })?
    .map_err(Failure::Invalid)?;
    let state = applied.status.as_ref().and_then(|s| s.state).map_or("new".to_owned(), |s| s.to_string());
    let dry = if settings.dry_run { " (server dry run: nothing stored)" } else { "" };
    let applied_beside: Vec<serde_json::Value> =
        beside.iter().map(|o| serde_json::json!({"kind": o.kind, "name": o.name, "namespace": namespace})).collect();
    let result = serde_json::json!({"name": name, "namespace": namespace, "specHash": hash, "state": state,
        "dryRun": settings.dry_run, "companions": applied_beside});
    printer.result(&result, || {
        let mut text: String = beside
            .iter()
            .map(|o| format!("{} {namespace}/{} applied{dry}\n", o.kind.to_ascii_lowercase(), o.name))
            .collect();
        text.push_str(&format!("sparkjob {namespace}/{name} applied (spec {hash}, state {state}){dry}\n"));
        text
    });
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
        return Err(Failure::invalid(
            "unknown-job",
            "",
            format!("there is no SparkJob {name} in namespace {namespace}"),
            "`kubectl get sparkjobs` lists them; `sparkplane apply JOB.yaml` creates one",
        ));
    };
    let what = if job.spec.schedule.is_some() { "a manual run" } else { "a new run once the current one has ended" };
    let result = serde_json::json!({"name": name, "namespace": namespace, "trigger": value});
    printer.result(&result, || format!("sparkjob {namespace}/{name}: asked the operator for {what} ({value})\n"));
    Ok(())
}
