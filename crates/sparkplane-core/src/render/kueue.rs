//! A job as Kueue sees it, and a job run as Kueue admitted it (ADR 0073).
//!
//! [`workload`] builds the Kueue `Workload` of a job from the one sizing
//! model: a `driver` pod set of one and an `executor` pod set of the
//! job's most executors (`maxExecutors` under dynamic allocation, with
//! `minCount` at its minimum so Kueue may admit fewer), with the requests
//! its pods will have, its queue and its priority class.
//! [`render_admitted`] renders the native objects of an attempt as admitted:
//! at most the admitted executors (`spark.dynamicAllocation.maxExecutors`
//! is the admitted count, so Spark cannot ask past the quota), and the
//! admission's flavor — node labels and tolerations — on the driver, in
//! the executors' properties and in their pod template.
//!
//! Owns: the Workload's shape and what an admission changes in a render.
//! Must not: decide admission (Kueue does, or the simulated cluster's
//! stand-in), or read the cluster.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use serde_json::{Value, json};

use super::common::{self, RenderInput, RenderedObject, SparkRole};
use super::{Target, native};
use crate::queues::KUEUE_API_VERSION;
use crate::resolved::ResolvedJob;
use crate::sizing::{PodResources, SizedJob, size_job};

/// The driver's pod set.
pub const DRIVER_POD_SET: &str = "driver";
/// The executors' pod set.
pub const EXECUTOR_POD_SET: &str = "executor";

pub use super::queue_routes::queue_label;

/// What a Workload names besides the job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadOf<'a> {
    /// The LocalQueue.
    pub queue: &'a str,
    /// The WorkloadPriorityClass and its value.
    pub priority: Option<(&'a str, i32)>,
    /// The SparkJob's uid (its owner); None renders no owner reference.
    pub owner_uid: Option<&'a str>,
}

/// The Workload's name: `sparkjob-<job>-<spec hash>`, one per spec.
pub fn workload_name(job: &ResolvedJob) -> String {
    name_for(job.name(), &job.short_hash())
}

/// The Workload's name for a job's name and its spec's short hash.
pub fn name_for(job: &str, short_hash: &str) -> String {
    let mut name = format!("sparkjob-{job}");
    name.truncate(253 - 1 - short_hash.len());
    format!("{name}-{short_hash}")
}

/// The job's Workload.
pub fn workload(job: &ResolvedJob, of: &WorkloadOf<'_>) -> RenderedObject {
    let sized = size_job(&job.job.spec);
    let input = RenderInput { job, sized: &sized };
    let mut labels = common::standard_labels(job, "workload");
    labels.insert(sparkplane_api::labels::KUEUE_QUEUE_NAME.to_owned(), of.queue.to_owned());
    let mut executors = json!({
        "name": EXECUTOR_POD_SET,
        "count": sized.executors.max,
        "template": pod_set_template(&input, SparkRole::Executor, &sized.executor),
    });
    // Under dynamic allocation Kueue may admit fewer (partial admission),
    // never fewer than the minimum; the run then asks Spark for no more.
    if sized.executors.dynamic && sized.executors.max > 1 {
        let least = sized.executors.min.max(1);
        if least < sized.executors.max {
            executors["minCount"] = json!(least);
        }
    }
    let mut spec = json!({
        "queueName": of.queue,
        "podSets": [
            {"name": DRIVER_POD_SET, "count": 1, "template": pod_set_template(&input, SparkRole::Driver, &sized.driver)},
            executors,
        ],
    });
    if let Some((class, value)) = of.priority {
        labels.insert(sparkplane_api::labels::KUEUE_PRIORITY_CLASS.to_owned(), class.to_owned());
        spec["priorityClassRef"] = json!({"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": class});
        spec["priority"] = json!(value);
    }
    let mut metadata = json!({"name": workload_name(job), "namespace": job.namespace(), "labels": labels});
    if let Some(uid) = of.owner_uid {
        metadata["ownerReferences"] = json!([{
            "apiVersion": sparkplane_api::API_VERSION, "kind": "SparkJob", "name": job.name(), "uid": uid,
            "controller": true, "blockOwnerDeletion": true,
        }]);
    }
    RenderedObject::from_custom(
        json!({"apiVersion": KUEUE_API_VERSION, "kind": "Workload", "metadata": metadata, "spec": spec}),
    )
}

/// The Workload that gates the Job route's Job `job_name` (issue #69, ADR
/// 0099): the job's own Workload ([`workload`], the driver and executors
/// from the one sizing model, in the job's queue), owned by nothing, named
/// as the Job it gates and labelled with it
/// ([`sparkplane_api::labels::GATES_JOB`]), so it is never taken for the
/// Workload of a SparkJob (`sparkjob-<job>-<hash>`, which the operator in
/// Kueue mode makes and watches). Its executors are all or nothing (no
/// `minCount`): nothing caps the Job's Spark at a partial admission's
/// count. None when the Job is not gated
/// (`queue_routes::job_gated`).
pub fn job_workload(job: &ResolvedJob, job_name: &str) -> Option<RenderedObject> {
    if !super::queue_routes::job_gated(job) {
        return None;
    }
    let queue = job.job.spec.queue.as_deref()?;
    let mut object = workload(job, &WorkloadOf { queue, priority: None, owner_uid: None });
    object.body["metadata"]["name"] = json!(job_name);
    // All or nothing: no one caps the Job's Spark at a partial admission's count.
    for set in object.body["spec"]["podSets"].as_array_mut().into_iter().flatten() {
        if let Some(set) = set.as_object_mut() {
            set.remove("minCount");
        }
    }
    object.body["metadata"]["labels"][sparkplane_api::labels::GATES_JOB] = json!(job_name);
    Some(RenderedObject::from_custom(object.body))
}

/// What Kueue counts of a role's pods: the Spark container's requests and
/// limits, and where the pods may go (for flavor assignment).
fn pod_set_template(input: &RenderInput<'_>, role: SparkRole, sized: &PodResources) -> Value {
    let spec = &input.job.job.spec;
    let role_spec = common::role_spec(input, role);
    let mut requests = BTreeMap::from([
        ("cpu".to_owned(), sized.cpu_request.to_kubernetes()),
        ("memory".to_owned(), format!("{}Mi", sized.pod_memory.mib())),
    ]);
    let mut limits = BTreeMap::from([("memory".to_owned(), format!("{}Mi", sized.pod_memory.mib()))]);
    if let Some(cpu) = sized.cpu_limit {
        limits.insert("cpu".to_owned(), cpu.to_kubernetes());
    }
    if let Some(gpu) = &sized.gpu {
        requests.insert(gpu.name.clone(), gpu.amount.to_string());
        limits.insert(gpu.name.clone(), gpu.amount.to_string());
    }
    let name = match role {
        SparkRole::Driver => common::DRIVER_CONTAINER,
        SparkRole::Executor => common::EXECUTOR_CONTAINER,
    };
    let mut pod = json!({"containers": [{"name": name, "resources": {"requests": requests, "limits": limits}}]});
    let mut selector = spec.node_selector.clone();
    let mut tolerations = spec.tolerations.clone();
    if let Some(r) = role_spec {
        selector.extend(r.node_selector.clone());
        tolerations.extend(r.tolerations.iter().cloned());
    }
    if !selector.is_empty() {
        pod["nodeSelector"] = json!(selector);
    }
    if !tolerations.is_empty() {
        pod["tolerations"] = json!(tolerations);
    }
    if let Some(class) = &spec.priority_class_name {
        pod["priorityClassName"] = json!(class);
    }
    json!({"spec": pod})
}

/// What Kueue's admission gave a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Admitted {
    /// Executors admitted (the executor pod set's count).
    pub executors: u32,
    /// The flavors' node labels, as node selectors of every pod.
    pub node_selector: BTreeMap<String, String>,
    /// The flavors' tolerations, added to every pod.
    pub tolerations: Vec<Toleration>,
}

/// `sized` with at most `admitted` executors: the most Spark may ask for,
/// and its start and floor no higher.
pub fn cap_executors(sized: &mut SizedJob, admitted: u32) {
    let e = &mut sized.executors;
    e.max = e.max.min(admitted);
    e.min = e.min.min(e.max);
    e.initial = e.initial.min(e.max);
}

/// The native objects of `job`'s attempt as admitted: executors capped at
/// the admitted count, and the flavor's placement on every pod.
pub fn render_admitted(job: &ResolvedJob, admitted: &Admitted) -> Vec<RenderedObject> {
    let mut sized = size_job(&job.job.spec);
    cap_executors(&mut sized, admitted.executors);
    let mut objects = super::render(&RenderInput { job, sized: &sized }, Target::Native);
    place(&mut objects, admitted);
    objects
}

/// Puts the admission's node selector and tolerations on the driver pod,
/// in the driver's `spark.properties` (Spark gives its executors
/// `spark.kubernetes.node.selector.*`) and in the executors' pod template.
fn place(objects: &mut [RenderedObject], admitted: &Admitted) {
    if admitted.node_selector.is_empty() && admitted.tolerations.is_empty() {
        return;
    }
    let tolerations: Vec<Value> = admitted.tolerations.iter().filter_map(|t| serde_json::to_value(t).ok()).collect();
    let add = |pod_spec: &mut Value| {
        if !admitted.node_selector.is_empty() {
            let selector = pod_spec["nodeSelector"].as_object().cloned().unwrap_or_default();
            let mut merged: BTreeMap<String, Value> = selector.into_iter().collect();
            merged.extend(admitted.node_selector.iter().map(|(k, v)| (k.clone(), json!(v))));
            pod_spec["nodeSelector"] = json!(merged);
        }
        if !tolerations.is_empty() {
            let mut list = pod_spec["tolerations"].as_array().cloned().unwrap_or_default();
            list.extend(tolerations.iter().cloned());
            pod_spec["tolerations"] = Value::Array(list);
        }
    };
    for object in objects.iter_mut() {
        match object.kind.as_str() {
            "Pod" => add(&mut object.body["spec"]),
            "ConfigMap" => {
                let data = &mut object.body["data"];
                if let Some(text) = data["spark.properties"].as_str() {
                    let extra: BTreeMap<String, String> = admitted
                        .node_selector
                        .iter()
                        .map(|(k, v)| (format!("spark.kubernetes.node.selector.{k}"), v.clone()))
                        .collect();
                    // Java properties: a later line wins over an earlier one.
                    data["spark.properties"] =
                        json!(format!("{text}{}", sparkplane_documents::java_properties::to_text(&extra)));
                }
                if let Some(text) = data[native::POD_TEMPLATE_KEY].as_str() {
                    let source = sparkplane_documents::source::Source::new("pod template", text);
                    if let Ok(node) = sparkplane_documents::yaml::parse_single(&source) {
                        let mut pod = node.to_json();
                        add(&mut pod["spec"]);
                        let text = sparkplane_documents::yaml::to_yaml(&pod);
                        data[native::POD_TEMPLATE_KEY] = json!(text.strip_prefix("---\n").unwrap_or(&text));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "kueue_tests.rs"]
mod tests;
