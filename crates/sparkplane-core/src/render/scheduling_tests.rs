use super::*;
use crate::render::job::tests::job;
use crate::render::{Target, render};

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
  driver: {cores: 1, memory: 1g}
  executor: {cores: 2, memory: 2g, instances: 3}
  scheduling: {gang: GANG}
"#;

fn rendered(gang: &str, target: Target) -> Vec<RenderedObject> {
    let (resolved, sized) = job(&JOB.replace("GANG", gang));
    render(&RenderInput { job: &resolved, sized: &sized }, target)
}

#[test]
fn volcano_gets_a_pod_group_holding_the_driver_and_every_executor_and_pods_join_it() {
    let objects = rendered("Volcano", Target::Native);
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
    let group = kinds.iter().position(|k| *k == "PodGroup").expect("a PodGroup");
    assert!(group < kinds.iter().position(|k| *k == "Pod").expect("a driver"), "created before the driver: {kinds:?}");
    let pg = &objects[group].body;
    assert_eq!(pg["apiVersion"], "scheduling.volcano.sh/v1beta1");
    assert_eq!(pg["spec"]["minMember"], 1);
    // Driver 1 CPU + 1408Mi, three executors of 2 CPU + 2432Mi.
    assert_eq!(pg["spec"]["minResources"], json!({"cpu": "7", "memory": "8704Mi"}));
    let name = pg["metadata"]["name"].as_str().expect("name");
    let driver = objects.iter().find(|o| o.kind == "Pod").expect("driver");
    assert_eq!(driver.body["spec"]["schedulerName"], "volcano");
    assert_eq!(driver.body["metadata"]["annotations"]["scheduling.k8s.io/group-name"], name);
    let props = objects.iter().find_map(|o| o.body["data"]["spark.properties"].as_str()).expect("properties");
    assert!(props.contains("spark.kubernetes.scheduler.name=volcano\n"), "{props}");
    assert!(props.contains(&format!("spark.kubernetes.executor.annotation.scheduling.k8s.io/group-name={name}\n")));
    // The Job route makes the same group; Kubeflow's operator makes its own.
    assert!(rendered("Volcano", Target::Job).iter().any(|o| o.kind == "PodGroup"));
    let kubeflow = rendered("Volcano", Target::Kubeflow);
    assert!(!kubeflow.iter().any(|o| o.kind == "PodGroup"));
    let app = kubeflow.iter().find(|o| o.kind == "SparkApplication").expect("app");
    assert_eq!(app.body["spec"]["batchScheduler"], "volcano");
    assert!(app.body["spec"]["driver"]["annotations"].get("scheduling.k8s.io/group-name").is_none());
}

#[test]
fn yunikorn_gets_task_groups_on_the_driver_and_a_group_name_on_every_pod() {
    let objects = rendered("YuniKorn", Target::Native);
    assert!(!objects.iter().any(|o| o.kind == "PodGroup"));
    let driver = objects.iter().find(|o| o.kind == "Pod").expect("driver");
    let annotations = &driver.body["metadata"]["annotations"];
    assert_eq!(driver.body["spec"]["schedulerName"], "yunikorn");
    assert_eq!(annotations["yunikorn.apache.org/task-group-name"], "spark-driver");
    assert_eq!(
        annotations["yunikorn.apache.org/schedulingPolicyParameters"],
        "placeholderTimeoutInSeconds=600 gangSchedulingStyle=Hard"
    );
    let groups: Value =
        serde_json::from_str(annotations["yunikorn.apache.org/task-groups"].as_str().expect("JSON text"))
            .expect("JSON");
    assert_eq!(
        groups,
        json!([
            {"name": "spark-driver", "minMember": 1, "minResource": {"cpu": "1", "memory": "1408Mi"}},
            {"name": "spark-executor", "minMember": 3, "minResource": {"cpu": "2", "memory": "2432Mi"}},
        ])
    );
    let props = objects.iter().find_map(|o| o.body["data"]["spark.properties"].as_str()).expect("properties");
    assert!(
        props.contains("spark.kubernetes.executor.annotation.yunikorn.apache.org/task-group-name=spark-executor\n")
    );
    assert!(props.contains("spark.kubernetes.scheduler.name=yunikorn\n"));
}

#[test]
fn under_dynamic_allocation_the_gang_is_the_minimum_and_none_without_a_gang() {
    let text = JOB.replace("GANG", "YuniKorn").replace(
        "instances: 3}",
        "instances: 3}\n  dynamicAllocation: {enabled: true, minExecutors: 0, maxExecutors: 8}",
    );
    let (resolved, sized) = job(&text);
    let input = RenderInput { job: &resolved, sized: &sized };
    let groups: Value =
        serde_json::from_str(&gang_annotations(&input, SparkRole::Driver)[labels::YUNIKORN_TASK_GROUPS]).expect("JSON");
    assert_eq!(groups.as_array().map(Vec::len), Some(1), "no executor group of 0 members: {groups}");
    let (plain, sized) = job(&JOB.replace("  scheduling: {gang: GANG}\n", ""));
    let input = RenderInput { job: &plain, sized: &sized };
    assert!(gang_objects(&input).is_empty() && gang_properties(&input).is_empty());
    assert!(gang_annotations(&input, SparkRole::Driver).is_empty());
}

#[test]
fn a_scheduler_name_other_than_the_gangs_is_refused_with_both_fields() {
    use crate::catalog::Catalog;
    use crate::load::load;
    use crate::resolve::ResolveRequest;
    use crate::validate::ValidationTarget;
    use sparkplane_documents::source::Source;
    let text = format!("{}  schedulerName: default-scheduler\n", JOB.replace("GANG", "Volcano"));
    let node = sparkplane_documents::yaml::parse_single(&Source::new("job.yaml", text.as_str())).expect("parses");
    let catalog = Catalog::empty();
    let request = ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Any,
    };
    let problems = load(request).expect_err("refused");
    let problem = problems.0.iter().find(|d| d.path == "spec.schedulerName").expect("at spec.schedulerName");
    assert_eq!(problem.message, "schedulerName `default-scheduler` is not the gang scheduler `volcano`");
    assert_eq!(problem.span.as_ref().map(|s| s.at.line), Some(14));
}
