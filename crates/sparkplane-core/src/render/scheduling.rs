//! Gang scheduling (`spec.scheduling.gang`, ADR 0073): what Volcano and
//! YuniKorn need so a job starts with room for its driver and its minimum
//! executors, or does not start.
//!
//! Spark's driver creates its executors after it runs, so no scheduler can
//! hold all of a job's pods before the first starts. Each does it its way:
//!
//! - **Volcano**: a `PodGroup` (`scheduling.volcano.sh/v1beta1`) the pods
//!   join by the `scheduling.k8s.io/group-name` annotation, with
//!   `minMember: 1` (the driver, the only pod there at first) and
//!   `minResources` the driver's and the minimum executors' requests, so
//!   Volcano lets the driver in only while its queue has room for all of
//!   them — as Spark's own Volcano feature step does.
//! - **YuniKorn**: task groups in the driver's annotations (`spark-driver`
//!   of one, `spark-executor` of the minimum executors, each with one pod's
//!   resources); YuniKorn reserves every member with placeholders before
//!   the driver starts, and each executor takes a placeholder's place by
//!   its `task-group-name` annotation.
//!
//! Both set every pod's `schedulerName`, and both get the job's queue as
//! `queue_routes::scheduler_queue` names it (the PodGroup's `spec.queue`,
//! every YuniKorn pod's `yunikorn.apache.org/queue`). Owns: those objects, annotations
//! and properties. Must not: size (the one sizing model does), or add
//! anything when the job asks for no gang.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sparkplane_api::job::GangScheduler;
use sparkplane_api::labels;

use super::base::{self, Names, RenderInput, RenderedObject, SparkRole};
use crate::sizing::PodResources;

/// YuniKorn's task group of the driver.
pub const DRIVER_TASK_GROUP: &str = "spark-driver";
/// YuniKorn's task group of the executors.
pub const EXECUTOR_TASK_GROUP: &str = "spark-executor";
/// How long YuniKorn's placeholders hold room for a gang that cannot all
/// be placed; then `Hard` fails the application instead of running part of it.
pub const YUNIKORN_POLICY: &str = "placeholderTimeoutInSeconds=600 gangSchedulingStyle=Hard";

/// The gang scheduler a job asks for.
pub fn gang(input: &RenderInput<'_>) -> Option<GangScheduler> {
    input.job.job.spec.scheduling.as_ref().and_then(|s| s.gang)
}

/// The Volcano PodGroup's name: the prefix of the run's objects.
pub fn pod_group_name(input: &RenderInput<'_>) -> String {
    format!("{}-podgroup", Names::of(input.job).prefix)
}

/// The executors a gang holds room for: the minimum under dynamic allocation, else all.
fn gang_executors(input: &RenderInput<'_>) -> u32 {
    let e = input.sized.executors;
    if e.dynamic { e.min } else { e.initial }
}

/// A role's requests for `count` pods: CPU in millicores, memory in MiB, anything else a count.
fn amounts(pod: &PodResources, count: u64) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::from([
        ("cpu".to_owned(), pod.cpu_request.millis() * count),
        ("memory".to_owned(), pod.pod_memory.mib() * count),
    ]);
    if let Some(gpu) = &pod.gpu {
        out.insert(gpu.name.clone(), u64::from(gpu.amount) * count);
    }
    out
}

/// Amounts as Kubernetes quantities.
fn quantities(amounts: &BTreeMap<String, u64>) -> BTreeMap<String, String> {
    amounts
        .iter()
        .map(|(key, n)| {
            let text = match key.as_str() {
                "cpu" => sparkplane_api::CpuAmount::from_millis(*n).to_kubernetes(),
                "memory" => format!("{n}Mi"),
                _ => n.to_string(),
            };
            (key.clone(), text)
        })
        .collect()
}

/// Objects the gang scheduler reads besides the pods: Volcano's PodGroup.
pub fn gang_objects(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    if gang(input) != Some(GangScheduler::Volcano) {
        return Vec::new();
    }
    let n = gang_executors(input);
    let mut min = amounts(&input.sized.driver, 1);
    for (key, n) in amounts(&input.sized.executor, u64::from(n)) {
        *min.entry(key).or_default() += n;
    }
    let meta = base::object_meta(input, &pod_group_name(input), "podgroup");
    let mut body = json!({
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "PodGroup",
        "metadata": serde_json::to_value(meta).unwrap_or(Value::Null),
        "spec": {"minMember": 1, "minResources": quantities(&min)},
    });
    if let Some(class) = &input.job.job.spec.priority_class_name {
        body["spec"]["priorityClassName"] = json!(class);
    }
    // The job's queue as Volcano names it (issue #69): without it every team lands in `default`.
    if let Some(queue) = super::queue_routes::gang_queue(input.job) {
        body["spec"]["queue"] = json!(queue);
    }
    vec![RenderedObject::from_custom(body)]
}

/// The annotations a role's pods carry for the gang scheduler.
pub fn gang_annotations(input: &RenderInput<'_>, role: SparkRole) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match gang(input) {
        None => {}
        Some(GangScheduler::Volcano) => {
            out.insert(labels::VOLCANO_GROUP_NAME.to_owned(), pod_group_name(input));
        }
        Some(GangScheduler::YuniKorn) => {
            // Every group a pod names is listed in task-groups (YuniKorn's rule): with no
            // executor group (a minimum of 0 executors) the executors name none.
            let group = match role {
                SparkRole::Driver => Some(DRIVER_TASK_GROUP),
                SparkRole::Executor => (gang_executors(input) > 0).then_some(EXECUTOR_TASK_GROUP),
            };
            if let Some(group) = group {
                out.insert(labels::YUNIKORN_TASK_GROUP_NAME.to_owned(), group.to_owned());
            }
            // The job's queue as YuniKorn names it (issue #69), for its `provided` placement rule.
            if let Some(queue) = super::queue_routes::gang_queue(input.job) {
                out.insert(labels::YUNIKORN_QUEUE.to_owned(), queue);
            }
            if role == SparkRole::Driver {
                out.insert(labels::YUNIKORN_TASK_GROUPS.to_owned(), task_groups(input).to_string());
                out.insert(labels::YUNIKORN_SCHEDULING_POLICY.to_owned(), YUNIKORN_POLICY.to_owned());
            }
        }
    }
    out
}

/// YuniKorn's task groups: the driver, and the minimum executors when there are any.
fn task_groups(input: &RenderInput<'_>) -> Value {
    let spec = &input.job.job.spec;
    let group = |name: &str, members: u32, pod: &PodResources, role: SparkRole| {
        let mut selector = spec.node_selector.clone();
        let mut tolerations = spec.tolerations.clone();
        if let Some(r) = base::role_spec(input, role) {
            selector.extend(r.node_selector.clone());
            tolerations.extend(r.tolerations.iter().cloned());
        }
        let mut g = json!({"name": name, "minMember": members, "minResource": quantities(&amounts(pod, 1))});
        if !selector.is_empty() {
            g["nodeSelector"] = json!(selector);
        }
        if !tolerations.is_empty() {
            g["tolerations"] = json!(tolerations);
        }
        g
    };
    let mut groups = vec![group(DRIVER_TASK_GROUP, 1, &input.sized.driver, SparkRole::Driver)];
    let n = gang_executors(input);
    if n > 0 {
        groups.push(group(EXECUTOR_TASK_GROUP, n, &input.sized.executor, SparkRole::Executor));
    }
    Value::Array(groups)
}

/// Spark properties the gang needs: every pod's scheduler, and the
/// executors' annotations (Spark gives executors `spark.kubernetes.executor.annotation.*`).
pub fn gang_properties(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    let Some(gang) = gang(input) else { return BTreeMap::new() };
    let mut out = BTreeMap::from([("spark.kubernetes.scheduler.name".to_owned(), gang.scheduler_name().to_owned())]);
    for (key, value) in gang_annotations(input, SparkRole::Executor) {
        out.insert(format!("spark.kubernetes.executor.annotation.{key}"), value);
    }
    out
}

#[cfg(test)]
#[path = "scheduling_tests.rs"]
mod tests;
