//! Kueue in a cluster (ADR 0073): the API of its objects, and the one
//! check that a job's queue and priority class exist — what `sparkplane
//! apply` refuses with exit 2 and the operator in Kueue mode refuses with
//! the same words in an Event.
//!
//! Owns: requests about Kueue objects, what a missing one means, and when
//! `apply` looks ([`refusals`]). Must not: build a Workload
//! (`sparkplane_core::render::kueue`) or decide admission (Kueue does; the
//! operator follows `sparkplane_lifecycle::admission`).

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use sparkplane_api::tenant::DEFAULT_LOCAL_QUEUE;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::yaml::FieldPath;
use sparkplane_documents::{Diagnostic, Diagnostics};

use crate::error::{KubeError, Operation};

/// Kueue's group.
pub const GROUP: &str = "kueue.x-k8s.io";
/// The version sparkplane writes and reads (ADR 0072).
pub const VERSION: &str = "v1beta2";

/// The API resource of a Kueue kind (`Workload`, `LocalQueue`, `ResourceFlavor`, …).
pub fn resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(GROUP, VERSION, kind))
}

/// The LocalQueue a job waits in: the resolved job's `spec.queue` (its
/// own, a layer's or its tenant's, ADR 0079), else Kueue's default.
pub fn queue_of(queue: Option<&str>) -> String {
    queue.unwrap_or(DEFAULT_LOCAL_QUEUE).to_owned()
}

/// A reference that does not resolve: the field, what is wrong, how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unresolved {
    /// `spec.queue` or `spec.priorityClassName`.
    pub path: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.help)
    }
}

/// What the job's references resolve to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    /// The priority class's value, when the job names one that exists.
    pub priority: Option<i32>,
    /// The references that do not resolve.
    pub unresolved: Vec<Unresolved>,
}

async fn get(
    api: &Api<DynamicObject>,
    name: &str,
    kind: &str,
    server: &str,
) -> Result<Option<DynamicObject>, KubeError> {
    api.get_opt(name).await.map_err(|e| KubeError::from_kube(e, Operation::new("get", kind, name), server))
}

/// Whether the LocalQueue `queue` exists in `namespace` and the
/// WorkloadPriorityClass `priority` (when given) exists; a cluster without
/// Kueue has neither.
pub async fn check_references(
    client: &kube::Client,
    server: &str,
    namespace: &str,
    queue: &str,
    priority: Option<&str>,
) -> Result<References, KubeError> {
    let mut out = References::default();
    let queues: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource("LocalQueue"));
    if get(&queues, queue, "LocalQueue", server).await?.is_none() {
        out.unresolved.push(Unresolved {
            path: "spec.queue",
            message: format!("there is no Kueue LocalQueue `{queue}` in namespace `{namespace}`"),
            help: format!(
                "name a LocalQueue of the namespace (`kubectl get localqueues -n {namespace}`), or create it with `sparkplane tenant render` (a tenant's `spec.queue`); is Kueue installed?"
            ),
        });
    }
    if let Some(class) = priority {
        let classes: Api<DynamicObject> = Api::all_with(client.clone(), &resource("WorkloadPriorityClass"));
        match get(&classes, class, "WorkloadPriorityClass", server).await? {
            Some(found) => out.priority = found.data["value"].as_i64().and_then(|v| i32::try_from(v).ok()),
            None => out.unresolved.push(Unresolved {
                path: "spec.priorityClassName",
                message: format!("there is no Kueue WorkloadPriorityClass `{class}`"),
                help: "name one of `kubectl get workloadpriorityclasses`, or declare it in the platform's Queues file (`spec.priorityClasses`)".into(),
            }),
        }
    }
    Ok(out)
}

/// What `sparkplane apply` refuses before it stores a job, in the words the
/// operator in Kueue mode uses for the same job ([`check_references`]).
///
/// A job that names its LocalQueue (`spec.queue`) is meant for Kueue
/// mode: its LocalQueue must exist in the job's namespace and its
/// `spec.priorityClassName`, if any, as a WorkloadPriorityClass. A job
/// that names none is left to the operator (in the built-in queue, its
/// priority class is a PriorityClass, which the pod's admission checks).
/// Each refusal is an error at its field path, placed in the file where the
/// job wrote it; an identity not allowed to read Kueue's objects gets a
/// warning instead (the operator still checks).
pub async fn refusals(client: &kube::Client, server: &str, resolved: &ResolvedJob) -> Result<Diagnostics, KubeError> {
    let mut out = Diagnostics::new();
    let Some(queue) = resolved.job.spec.queue.as_deref() else { return Ok(out) };
    let priority = resolved.job.spec.priority_class_name.as_deref();
    let refs = match check_references(client, server, resolved.namespace(), queue, priority).await {
        Ok(refs) => refs,
        Err(KubeError::Refused { operation, message, .. }) => {
            out.push(
                Diagnostic::warning("kueue-unchecked", "spec.queue", format!("could not {operation}: {message}"))
                    .with_help("the operator checks the queue and priority class when it takes the job"),
            );
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    for missing in refs.unresolved {
        let code = if missing.path == "spec.queue" { "unknown-queue" } else { "unknown-priority-class" };
        let span = FieldPath::parse(missing.path).ok().and_then(|p| resolved.span_of(&p));
        out.push(Diagnostic::error(code, missing.path, missing.message).with_help(missing.help).with_span(span));
    }
    Ok(out)
}
