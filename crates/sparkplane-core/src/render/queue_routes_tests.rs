use serde_json::{Value, json};

use super::*;
use crate::render::job::tests::job;
use crate::render::{RenderInput, RenderedObject, render};

const JOB: &str = r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: etl, namespace: data}
spec:
  type: Scala
  mainClass: x.Main
  mainApplicationFile: local:///opt/app.jar
  sparkVersion: "3.5.3"
  image: {repository: spark, tag: "3.5.3"}
  queue: team-a
  driver: {cores: 1, memory: 1g}
  executor: {cores: 2, memory: 2g, instances: 3}
"#;

fn with(extra: &str) -> String {
    format!("{JOB}  {extra}\n")
}

fn objects(text: &str, target: Target) -> Vec<RenderedObject> {
    let (resolved, sized) = job(text);
    render(&RenderInput { job: &resolved, sized: &sized }, target)
}

fn one<'a>(objects: &'a [RenderedObject], kind: &str) -> &'a Value {
    &objects.iter().find(|o| o.kind == kind).unwrap_or_else(|| panic!("no {kind}")).body
}

#[test]
fn one_mapping_names_the_tenants_queue_for_each_scheduler() {
    assert_eq!(scheduler_queue(QueueScheduler::Kueue, "data", "team-a"), "team-a");
    assert_eq!(scheduler_queue(QueueScheduler::Volcano, "data", "team-a"), "data-team-a");
    assert_eq!(scheduler_queue(QueueScheduler::YuniKorn, "data", "team-a"), "root.data.team-a");
    assert_eq!(unusable(QueueScheduler::YuniKorn, "root.data.team-a"), None);
    assert_eq!(
        unusable(QueueScheduler::YuniKorn, "root.data.team.a").as_deref(),
        Some(
            "YuniKorn queue `root.data.team.a` is not one queue under root.<namespace> (each part 1 to 64 letters, digits or `_:#/@-`, no `.`)"
        )
    );
    let long = format!("root.data.{}", "q".repeat(65));
    assert!(unusable(QueueScheduler::YuniKorn, &long).is_some(), "65 characters");
    assert_eq!(unusable(QueueScheduler::YuniKorn, &format!("root.data.{}", "q".repeat(64))), None);
    assert!(unusable(QueueScheduler::Volcano, "data-Team").is_some());
}

#[test]
fn volcano_and_yunikorn_get_the_mapped_queue_on_every_route() {
    let volcano = with("scheduling: {gang: Volcano}");
    for target in [Target::Native, Target::Job] {
        assert_eq!(one(&objects(&volcano, target), "PodGroup")["spec"]["queue"], "data-team-a", "{target:?}");
    }
    let app = one(&objects(&volcano, Target::Kubeflow), "SparkApplication").clone();
    assert_eq!(app["spec"]["batchSchedulerOptions"], json!({"queue": "data-team-a"}));

    let yunikorn = with("scheduling: {gang: YuniKorn}");
    let native = objects(&yunikorn, Target::Native);
    assert_eq!(one(&native, "Pod")["metadata"]["annotations"]["yunikorn.apache.org/queue"], "root.data.team-a");
    let props = native.iter().find_map(|o| o.body["data"]["spark.properties"].as_str()).expect("properties");
    assert!(props.contains("spark.kubernetes.executor.annotation.yunikorn.apache.org/queue=root.data.team-a\n"));
    let app = one(&objects(&yunikorn, Target::Kubeflow), "SparkApplication").clone();
    assert_eq!(app["spec"]["batchSchedulerOptions"], json!({"queue": "root.data.team-a"}));
    // No queue: nothing named, the scheduler's own placement decides.
    let plain = with("scheduling: {gang: Volcano}").replace("  queue: team-a\n", "");
    assert!(one(&objects(&plain, Target::Native), "PodGroup")["spec"].get("queue").is_none());
}

#[test]
fn with_no_minimum_executors_yunikorn_executors_name_no_group_task_groups_does_not_list() {
    let text =
        with("scheduling: {gang: YuniKorn}\n  dynamicAllocation: {enabled: true, minExecutors: 0, maxExecutors: 4}");
    let native = objects(&text, Target::Native);
    let props = native.iter().find_map(|o| o.body["data"]["spark.properties"].as_str()).expect("properties");
    assert!(!props.contains("task-group-name"), "{props}");
    let annotations = &one(&native, "Pod")["metadata"]["annotations"];
    assert_eq!(annotations["yunikorn.apache.org/task-group-name"], "spark-driver");
}

#[test]
fn kubeflow_under_dynamic_allocation_has_no_queue_label_and_render_says_why() {
    let text = with("dynamicAllocation: {enabled: true, minExecutors: 1, maxExecutors: 4}");
    let app = one(&objects(&text, Target::Kubeflow), "SparkApplication").clone();
    assert!(app["metadata"]["labels"].get("kueue.x-k8s.io/queue-name").is_none(), "{app:#}");
    let (resolved, _) = job(&text);
    let said = notes(&resolved, Target::Kubeflow);
    let note = said.warnings().next().expect("a warning");
    assert_eq!(note.path, "spec.dynamicAllocation.enabled");
    assert!(note.message.contains("Kueue's SparkApplication integration refuses dynamic allocation"));
    // Native: the operator's Workload admits it; nothing to say.
    assert!(notes(&resolved, Target::Native).0.is_empty());
    // Without dynamic allocation the SparkApplication keeps the label.
    let fixed = one(&objects(JOB, Target::Kubeflow), "SparkApplication").clone();
    assert_eq!(fixed["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a");
}

#[test]
fn a_job_with_a_queue_is_suspended_unlabelled_and_gated_by_a_workload_of_driver_and_executors() {
    let rendered = objects(JOB, Target::Job);
    let batch = one(&rendered, "Job");
    assert_eq!(batch["spec"]["suspend"], true);
    assert!(batch["metadata"]["labels"].get("kueue.x-k8s.io/queue-name").is_none());
    let gate = one(&rendered, "Workload");
    assert_eq!(gate["metadata"]["labels"]["sparkplane.dev/gates-job"], batch["metadata"]["name"]);
    assert!(gate["metadata"].get("ownerReferences").is_none());
    assert_eq!(gate["spec"]["queueName"], "team-a");
    let sets = gate["spec"]["podSets"].as_array().expect("pod sets");
    assert_eq!((sets[0]["name"].clone(), sets[0]["count"].clone()), (json!("driver"), json!(1)));
    assert_eq!((sets[1]["name"].clone(), sets[1]["count"].clone()), (json!("executor"), json!(3)));
    // Without a queue: neither suspended nor gated.
    let free = objects(&JOB.replace("  queue: team-a\n", ""), Target::Job);
    assert!(one(&free, "Job")["spec"].get("suspend").is_none());
    assert!(!free.iter().any(|o| o.kind == "Workload"));
    // A CronJob keeps Kueue's label, and render says only its start is gated.
    let cron = with("schedule: {cron: \"0 2 * * *\"}");
    let rendered = objects(&cron, Target::Job);
    assert_eq!(one(&rendered, "CronJob")["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a");
    assert!(!rendered.iter().any(|o| o.kind == "Workload"));
    let (resolved, _) = job(&cron);
    let note = notes(&resolved, Target::Job);
    assert_eq!(note.warnings().map(|d| d.code).collect::<Vec<_>>(), ["kueue-counts-submitter"]);
}

#[test]
fn a_queue_its_gang_scheduler_cannot_name_is_an_error_at_spec_queue_whatever_the_route() {
    let (resolved, _) = job(&with("scheduling: {gang: YuniKorn}").replace("queue: team-a", "queue: team.a"));
    let problems = check(&resolved);
    let error = problems.errors().next().expect("an error");
    assert_eq!((error.code, error.path.as_str()), ("scheduler-queue", "spec.queue"));
    for target in Target::ALL {
        assert!(notes(&resolved, target).has_errors(), "{target:?}");
    }
    // Kueue names the LocalQueue itself: a `.` is fine there.
    let (kueue, _) = job(&JOB.replace("queue: team-a", "queue: team.a"));
    assert!(check(&kueue).0.is_empty());
}

#[test]
fn on_the_kubeflow_route_a_yunikorn_queue_must_also_be_a_label_value() {
    // 61 characters of queue: `root.data.<queue>` is 71, too long for the `queue` label Kubeflow writes.
    let long = "q".repeat(61);
    let (resolved, _) = job(&with("scheduling: {gang: YuniKorn}").replace("queue: team-a", &format!("queue: {long}")));
    let said = notes(&resolved, Target::Kubeflow);
    let error = said.errors().next().expect("an error on the Kubeflow route");
    assert_eq!((error.code, error.path.as_str()), ("scheduler-queue", "spec.queue"));
    assert!(error.message.contains("`queue` label"), "{}", error.message);
    // The native route puts it in an annotation, which has no such bound.
    assert!(!notes(&resolved, Target::Native).has_errors());
}
