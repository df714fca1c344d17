//! The I/O of a run's quality-gate check (ADR 0043, ADR 0063): reading the
//! current attempt's check Job and its pod — or its check application's Pod
//! — and, once it failed, its containers' logs into the core's
//! [`GateCheckView`]; listing the gates' datasets for their size when no
//! check exists yet and a gate's engine is `spark` or `auto`; creating the
//! check's ConfigMap and Job or Pod, rendered by the one render path
//! (`plan::render_gate_check`), owned by the SparkJob.
//!
//! Owns: those reads, listings and creates. Must not: decide which engine a
//! gate gets or what the check's outcome means
//! (`sparkplane_lifecycle::lifecycle::gates`).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, LogParams, PostParams};
use sparkplane_api::SparkJob;
use sparkplane_core::render::quality_gates::{application_name, check_name};
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kube::submit::FIELD_MANAGER;
use sparkplane_lifecycle::lifecycle::{GateCheckView, GateEngine};
use sparkplane_lifecycle::plan::{self, PlannedGate};

use super::context::Context;
use super::writes::owner_of;

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

/// What the operator read of the current attempt's check: the check as the
/// decision reads it, its failed containers' log, and — when there is no
/// check yet and a gate needs it — each gate's dataset size.
pub type Observation = (Option<GateCheckView>, Option<String>, Option<Vec<Option<u64>>>);

/// The check of `attempt` as the decision reads it — its Job, or else its
/// check application's Pod — and its failed containers' log; when neither
/// exists (yet), the sizes of the gates' datasets if a gate of `gates` needs
/// them.
pub async fn observe(
    ctx: &Context,
    job: &SparkJob,
    namespace: &str,
    attempt: u32,
    gates: &[PlannedGate],
) -> Result<Observation, KubeError> {
    let resolved = resolved(ctx, job, attempt)?;
    let name = check_name(&resolved);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), namespace);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("get", "Job");
    let Some(check) =
        jobs.get_opt(&name).await.map_err(|e| failed(ctx, "get", "Job", format!("{namespace}/{name}"), e))?
    else {
        let application = application_name(&resolved);
        ctx.metrics.request("get", "Pod");
        let found = pods
            .get_opt(&application)
            .await
            .map_err(|e| failed(ctx, "get", "Pod", format!("{namespace}/{application}"), e))?;
        if let Some(pod) = found.filter(|p| super::context::owned_by(p, job.metadata.uid.as_deref())) {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            let finished = match phase {
                Some("Succeeded") => Some(true),
                Some("Failed") => Some(false),
                _ => None,
            };
            let (view, log) = view_of(ctx, &pods, application, finished, Some(pod)).await;
            return Ok((Some(GateCheckView { application: true, ..view }), log, None));
        }
        let sizes = if gates.iter().any(PlannedGate::needs_size) { Some(sizes(gates).await) } else { None };
        return Ok((None, None, sizes));
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
    ctx.metrics.request("list", "Pod");
    let listed = pods
        .list(&ListParams::default().labels(&format!("{JOB_NAME_LABEL}={name}")))
        .await
        .map_err(|e| failed(ctx, "list", "Pod", format!("{namespace} {JOB_NAME_LABEL}={name}"), e))?;
    // The newest pod is the one that speaks for the Job (it makes one: backoffLimit 0).
    let pod = listed.items.into_iter().max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let (view, log) = view_of(ctx, &pods, name, finished, pod).await;
    Ok((Some(view), log, None))
}

/// How long listing one gate's dataset may take before its size counts as unknown.
const LIST_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Each gate's dataset size in bytes, from its listing (no object read):
/// the objects under `dataset.path` whose names do not start with `_` or `.`
/// (Spark's and Hadoop's markers and hidden files, which no engine reads).
/// None for a gate that needs no size, and for a dataset that cannot be
/// listed within [`LIST_LIMIT`] (logged: the decision then runs an `auto`
/// gate natively and a `spark` gate at the smallest size).
async fn sizes(gates: &[PlannedGate]) -> Vec<Option<u64>> {
    let mut out = Vec::with_capacity(gates.len());
    for gate in gates {
        if !gate.needs_size() {
            out.push(None);
            continue;
        }
        let path = gate.dataset.clone();
        let listing = tokio::task::spawn_blocking(move || {
            let location = sparkplane_storage::Location::parse(&path)?;
            let store = sparkplane_storage::Store::open(&location)?;
            let entries = store.list()?;
            let read = |key: &str| key.rsplit('/').next().is_some_and(|n| !n.starts_with(['_', '.']));
            Ok::<u64, sparkplane_storage::StorageError>(entries.iter().filter(|e| read(&e.key)).map(|e| e.size).sum())
        });
        let size = match tokio::time::timeout(LIST_LIMIT, listing).await {
            Ok(Ok(Ok(bytes))) => Some(bytes),
            Ok(Ok(Err(error))) => {
                tracing::warn!(gate = %gate.spec, dataset = %gate.dataset, %error, "a gate's dataset could not be listed");
                None
            }
            Ok(Err(error)) => {
                tracing::warn!(gate = %gate.spec, %error, "listing a gate's dataset failed");
                None
            }
            Err(_) => {
                tracing::warn!(gate = %gate.spec, dataset = %gate.dataset, "listing a gate's dataset took too long");
                None
            }
        };
        out.push(size);
    }
    out
}

/// The view of a check whose pod is `pod` (None: none yet), and its failed
/// containers' log once it `finished` unsuccessfully.
async fn view_of(
    ctx: &Context,
    pods: &Api<Pod>,
    name: String,
    finished: Option<bool>,
    pod: Option<Pod>,
) -> (GateCheckView, Option<String>) {
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
    (GateCheckView { name, application: false, finished, exits, waiting, started }, log)
}

/// Creates the check of `attempt` with `engines`: its ConfigMap, then its
/// Job (or its check application's Pod), both owned by the SparkJob; an
/// object that exists already is left as it is.
pub async fn create(
    ctx: &Context,
    job: &SparkJob,
    namespace: &str,
    attempt: u32,
    engines: &[GateEngine],
) -> Result<(), KubeError> {
    let objects = plan::render_gate_check(&resolved(ctx, job, attempt)?, attempt, &ctx.platform.gate_image, engines);
    let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
    let owner = owner_of(job);
    for object in objects {
        let target = format!("{namespace}/{}", object.name);
        let mut body = object.body;
        body["metadata"]["ownerReferences"] = serde_json::json!([owner]);
        let kind: &'static str = match object.kind.as_str() {
            "ConfigMap" => "ConfigMap",
            "Pod" => "Pod",
            _ => "Job",
        };
        ctx.metrics.request("create", kind);
        let created = match kind {
            "ConfigMap" => create_one::<ConfigMap>(ctx, namespace, &params, body, &target).await?,
            "Pod" => create_one::<Pod>(ctx, namespace, &params, body, &target).await?,
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
