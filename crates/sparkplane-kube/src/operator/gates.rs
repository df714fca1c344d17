//! The I/O of a run's quality-gate check (ADR 0043): reading the current
//! attempt's check Job, its pod and, once it failed, its containers' logs
//! into the core's [`GateCheckView`]; creating the check's ConfigMap and Job,
//! rendered by the one render path (`plan::render_gate_check`), owned by
//! the SparkJob.
//!
//! Owns: those reads and creates. Must not: decide what the check's
//! outcome means (`sparkplane_core::operator::lifecycle::gates`).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, LogParams, PostParams};
use sparkplane_api::SparkJob;
use sparkplane_core::operator::lifecycle::GateCheckView;
use sparkplane_core::operator::plan;
use sparkplane_core::render::quality_gates::check_name;

use super::context::Context;
use super::writes::owner_of;
use crate::error::{KubeError, Operation};
use crate::submit::FIELD_MANAGER;

/// The label Kubernetes' Job controller puts on a Job's pods.
const JOB_NAME_LABEL: &str = "job-name";

/// The resolved job as the check of `attempt` renders it.
fn resolved(ctx: &Context, job: &SparkJob, attempt: u32) -> Result<sparkplane_core::resolved::ResolvedJob, KubeError> {
    let mut resolved = plan::resolve_resource(job, &ctx.platform.catalog).map_err(|d| KubeError::Invalid {
        operation: Operation::new(
            "render",
            "SparkJob",
            format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any()),
        ),
        message: d.0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "),
        fields: Vec::new(),
    })?;
    resolved.attempt = attempt.max(1);
    Ok(resolved)
}

fn failed(ctx: &Context, verb: &'static str, kind: &'static str, target: String, e: kube::Error) -> KubeError {
    KubeError::from_kube(e, Operation::new(verb, kind, target), &ctx.settings.server)
}

/// The check Job of `attempt` as the decision reads it, and its failed
/// containers' log; None when the Job does not exist (yet).
pub async fn observe(
    ctx: &Context,
    job: &SparkJob,
    namespace: &str,
    attempt: u32,
) -> Result<(Option<GateCheckView>, Option<String>), KubeError> {
    let name = check_name(&resolved(ctx, job, attempt)?);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("get", "Job");
    let Some(check) =
        jobs.get_opt(&name).await.map_err(|e| failed(ctx, "get", "Job", format!("{namespace}/{name}"), e))?
    else {
        return Ok((None, None));
    };
    let conditions = check.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    let holds = |kind: &str| conditions.iter().any(|c| c.type_ == kind && c.status == "True");
    let finished = if holds("Complete") {
        Some(true)
    } else if holds("Failed") {
        Some(false)
    } else {
        None
    };
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("list", "Pod");
    let listed = pods
        .list(&ListParams::default().labels(&format!("{JOB_NAME_LABEL}={name}")))
        .await
        .map_err(|e| failed(ctx, "list", "Pod", format!("{namespace} {JOB_NAME_LABEL}={name}"), e))?;
    // The newest pod is the one that speaks for the Job (it makes one: backoffLimit 0).
    let pod = listed.items.into_iter().max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let statuses =
        pod.as_ref().and_then(|p| p.status.as_ref()).and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    let exits: Vec<(String, i32)> = statuses
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.state.as_ref()?.terminated.as_ref()?.exit_code)))
        .collect();
    let waiting = statuses
        .iter()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
        .find(|w| !matches!(w.reason.as_deref(), None | Some("ContainerCreating" | "PodInitializing")))
        .map(|w| (w.reason.clone().unwrap_or_default(), w.message.clone().unwrap_or_default()));
    let started =
        statuses.iter().any(|c| c.state.as_ref().is_some_and(|s| s.running.is_some() || s.terminated.is_some()));
    let mut log = None;
    if finished == Some(false)
        && let Some(pod) = &pod
    {
        let mut text = String::new();
        for (container, code) in exits.iter().filter(|(_, code)| *code != 0) {
            ctx.metrics.request("get", "Pod/log");
            let params =
                LogParams { container: Some(container.clone()), tail_lines: Some(200), ..LogParams::default() };
            match pods.logs(&pod.name_any(), &params).await {
                Ok(lines) => text.push_str(&lines),
                Err(error) => {
                    tracing::info!(pod = %pod.name_any(), container, code, %error, "a check log could not be read")
                }
            }
        }
        log = Some(text);
    }
    Ok((Some(GateCheckView { name, finished, exits, waiting, started }), log))
}

/// Creates the check of `attempt`: its ConfigMap, then its Job, both owned
/// by the SparkJob; an object that exists already is left as it is.
pub async fn create(ctx: &Context, job: &SparkJob, namespace: &str, attempt: u32) -> Result<(), KubeError> {
    let objects = plan::render_gate_check(&resolved(ctx, job, attempt)?, attempt, &ctx.platform.gate_image);
    let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
    let owner = owner_of(job);
    for object in objects {
        let target = format!("{namespace}/{}", object.name);
        let mut body = object.body;
        body["metadata"]["ownerReferences"] = serde_json::json!([owner]);
        let kind: &'static str = if object.kind == "ConfigMap" { "ConfigMap" } else { "Job" };
        ctx.metrics.request("create", kind);
        let created = match kind {
            "ConfigMap" => create_one::<ConfigMap>(ctx, namespace, &params, body, &target).await?,
            _ => create_one::<Job>(ctx, namespace, &params, body, &target).await?,
        };
        match created {
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(failed(ctx, "create", kind, target, e)),
        }
    }
    Ok(())
}

/// Creates one rendered object of kind `K` from its JSON body: the API's
/// answer, or an error when the body is not a `K` (a render bug).
async fn create_one<K>(
    ctx: &Context,
    namespace: &str,
    params: &PostParams,
    body: serde_json::Value,
    target: &str,
) -> Result<Result<(), kube::Error>, KubeError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let kind = K::kind(&()).to_string();
    let value: K = serde_json::from_value(body).map_err(|e| KubeError::Invalid {
        operation: Operation::new("create", kind, target.to_owned()),
        message: e.to_string(),
        fields: Vec::new(),
    })?;
    Ok(Api::<K>::namespaced(ctx.client.clone(), namespace).create(params, &value).await.map(|_| ()))
}
