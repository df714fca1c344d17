use super::*;
use crate::render::job::tests::job;

const DYNAMIC: &str = r#"
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
  priorityClassName: batch
  nodeSelector: {disk: ssd}
  driver: {cores: 1, memory: 1g}
  executor: {cores: 2, memory: 2g}
  dynamicAllocation: {enabled: true, minExecutors: 2, maxExecutors: 6}
"#;

#[test]
fn the_workload_holds_the_driver_and_the_most_executors_from_the_sizing_model() {
    let (resolved, sized) = job(DYNAMIC);
    let of = WorkloadOf { queue: "team-a", priority: Some(("batch", 100)), owner_uid: Some("uid-1") };
    let w = workload(&resolved, &of).body;
    assert_eq!(w["apiVersion"], "kueue.x-k8s.io/v1beta2");
    assert_eq!(w["kind"], "Workload");
    assert_eq!(w["metadata"]["name"], format!("sparkjob-etl-{}", resolved.short_hash()));
    assert_eq!(w["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a");
    assert_eq!(w["metadata"]["ownerReferences"][0]["kind"], "SparkJob");
    assert_eq!(w["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    assert_eq!(w["spec"]["queueName"], "team-a");
    assert_eq!(
        w["spec"]["priorityClassRef"],
        json!({"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass", "name": "batch"})
    );
    assert_eq!(w["spec"]["priority"], 100);
    let sets = w["spec"]["podSets"].as_array().expect("pod sets");
    assert_eq!(sets[0]["name"], "driver");
    assert_eq!(sets[0]["count"], 1);
    assert_eq!(sets[1]["name"], "executor");
    assert_eq!(sets[1]["count"], 6, "maxExecutors");
    assert_eq!(sets[1]["minCount"], 2, "minExecutors: Kueue may admit fewer, never below it");
    let exec = &sets[1]["template"]["spec"]["containers"][0]["resources"]["requests"];
    assert_eq!(exec["cpu"], sized.executor.cpu_request.to_kubernetes());
    assert_eq!(exec["memory"], format!("{}Mi", sized.executor.pod_memory.mib()));
    assert_eq!(exec["memory"], "2432Mi", "2g heap + 384Mi overhead, as Spark sizes it");
    assert_eq!(sets[1]["template"]["spec"]["nodeSelector"]["disk"], "ssd");
}

#[test]
fn a_static_job_is_admitted_whole_and_a_job_without_priority_names_none() {
    let (resolved, _) = job(&DYNAMIC.replace(
        "dynamicAllocation: {enabled: true, minExecutors: 2, maxExecutors: 6}",
        "dynamicAllocation: {enabled: false}",
    ));
    let w = workload(&resolved, &WorkloadOf { queue: "q", priority: None, owner_uid: None }).body;
    assert_eq!(w["spec"]["podSets"][1]["count"], 2, "the default two executors");
    assert!(w["spec"]["podSets"][1].get("minCount").is_none());
    assert!(w["spec"].get("priorityClassRef").is_none() && w["spec"].get("priority").is_none());
    assert!(w["metadata"].get("ownerReferences").is_none());
}

fn properties(objects: &[RenderedObject]) -> String {
    objects
        .iter()
        .find_map(|o| o.body["data"]["spark.properties"].as_str().map(str::to_owned))
        .expect("the driver's properties")
}

#[test]
fn an_admitted_run_asks_spark_for_no_more_executors_than_admitted() {
    let (resolved, _) = job(DYNAMIC);
    let full = render_admitted(&resolved, &Admitted { executors: 6, ..Admitted::default() });
    assert!(properties(&full).contains("spark.dynamicAllocation.maxExecutors=6\n"));
    let partial = render_admitted(&resolved, &Admitted { executors: 3, ..Admitted::default() });
    let text = properties(&partial);
    assert!(text.contains("spark.dynamicAllocation.maxExecutors=3\n"), "{text}");
    assert!(text.contains("spark.dynamicAllocation.minExecutors=2\n"), "{text}");
    // Fewer admitted than the minimum: the floor comes down with it.
    let text = properties(&render_admitted(&resolved, &Admitted { executors: 1, ..Admitted::default() }));
    assert!(text.contains("spark.dynamicAllocation.maxExecutors=1\n"), "{text}");
    assert!(text.contains("spark.dynamicAllocation.minExecutors=1\n"), "{text}");
}

#[test]
fn the_flavor_places_the_driver_the_executors_and_their_template() {
    let (resolved, _) = job(DYNAMIC);
    let toleration: Toleration =
        serde_json::from_value(json!({"key": "spot", "operator": "Exists", "effect": "NoSchedule"}))
            .expect("toleration");
    let admitted = Admitted {
        executors: 6,
        node_selector: BTreeMap::from([("pool".to_owned(), "spot".to_owned())]),
        tolerations: vec![toleration],
    };
    let objects = render_admitted(&resolved, &admitted);
    let pod = objects.iter().find(|o| o.kind == "Pod").expect("driver");
    assert_eq!(pod.body["spec"]["nodeSelector"], json!({"disk": "ssd", "pool": "spot"}));
    assert_eq!(pod.body["spec"]["tolerations"], json!([{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]));
    assert!(properties(&objects).ends_with("spark.kubernetes.node.selector.pool=spot\n"));
    let template =
        objects.iter().find_map(|o| o.body["data"][native::POD_TEMPLATE_KEY].as_str()).expect("executor template");
    assert!(template.contains("pool: spot") && template.contains("key: spot"), "{template}");
    // Nothing admitted beyond the count: the render is the plain one.
    let plain = render_admitted(&resolved, &Admitted { executors: 6, ..Admitted::default() });
    assert_eq!(plain, super::super::size_and_render(&resolved, Target::Native));
}

#[test]
fn objects_kueue_admits_itself_carry_the_queue_label_and_pods_do_not() {
    // Issue #69: Kueue admits a SparkApplication itself only without dynamic
    // allocation, and a Job only when nothing else gates it (a CronJob's runs);
    // a plain Job is gated by its own Workload, which names the queue instead.
    let fixed = DYNAMIC.replace("  dynamicAllocation: {enabled: true, minExecutors: 2, maxExecutors: 6}\n", "");
    let cron = format!("{fixed}  schedule: {{cron: \"0 2 * * *\"}}\n");
    for (text, kind) in [(fixed.as_str(), "SparkApplication"), (cron.as_str(), "CronJob")] {
        let (resolved, sized) = job(text);
        let input = RenderInput { job: &resolved, sized: &sized };
        let target = if kind == "CronJob" { Target::Job } else { Target::Kubeflow };
        let objects = super::super::render(&input, target);
        let top = objects.iter().find(|o| o.kind == kind).expect("top object");
        assert_eq!(top.body["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a", "{kind}");
    }
    let (resolved, sized) = job(DYNAMIC);
    let input = RenderInput { job: &resolved, sized: &sized };
    let jobs = super::super::render(&input, Target::Job);
    let gate = jobs.iter().find(|o| o.kind == "Workload").expect("the Job's Workload");
    assert_eq!(gate.body["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a");
    assert_eq!(gate.body["spec"]["queueName"], "team-a");
    let native = super::super::render(&input, Target::Native);
    for o in &native {
        assert!(o.body["metadata"]["labels"].get("kueue.x-k8s.io/queue-name").is_none(), "{}", o.kind);
    }
}
