use super::*;
use crate::render::job::tests::job;

const QUEUES: &str = r#"apiVersion: sparkplane.dev/v1alpha1
kind: Queues
metadata: {name: shared}
spec:
  flavors:
    - name: on-demand
      nodeLabels: {pool: general}
    - name: spot
      nodeLabels: {pool: spot}
      tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
  priorityClasses:
    - {name: batch, value: 100, description: nightly batch}
    - {name: urgent, value: 1000}
  clusterQueues:
    - name: analytics
      cohort: shared
      fairSharingWeight: 2
      preemption: {withinClusterQueue: LowerPriority, reclaimWithinCohort: Any}
      quotas:
        - flavor: on-demand
          resources:
            cpu: {nominal: "10", borrowingLimit: "4", lendingLimit: "2"}
            memory: {nominal: 40Gi}
        - flavor: spot
          resources:
            cpu: {nominal: "20"}
            memory: {nominal: 80Gi}
    - name: ml
      quotas:
        - flavor: on-demand
          resources:
            cpu: {nominal: "4"}
            memory: {nominal: 16Gi}
"#;

fn load(text: &str) -> Result<LoadedQueues, Diagnostics> {
    load_queues(&Source::new("queues.yaml", text))
}

#[test]
fn a_queues_file_renders_flavors_priorities_and_cluster_queues() {
    let queues = load(QUEUES).expect("valid").queues;
    let objects = render_queues(&queues);
    let ids: Vec<(&str, &str)> = objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect();
    assert_eq!(
        ids,
        [
            ("ResourceFlavor", "on-demand"),
            ("ResourceFlavor", "spot"),
            ("PriorityClass", "batch"),
            ("PriorityClass", "urgent"),
            ("WorkloadPriorityClass", "batch"),
            ("WorkloadPriorityClass", "urgent"),
            ("ClusterQueue", "analytics"),
            ("ClusterQueue", "ml"),
        ]
    );
    let spot = &objects[1].body;
    assert_eq!(spot["spec"]["nodeLabels"], json!({"pool": "spot"}));
    assert_eq!(spot["spec"]["tolerations"][0]["key"], "spot");
    assert_eq!(objects[4].body["value"], 100);
    assert_eq!(objects[4].body["description"], "nightly batch");
    assert_eq!(objects[2].body["value"], 100, "the pods' PriorityClass has the same value");
    let cq = &objects[6].body["spec"];
    assert_eq!(cq["cohortName"], "shared");
    assert_eq!(cq["fairSharing"]["weight"], "2");
    assert_eq!(cq["preemption"], json!({"withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "Any"}));
    assert_eq!(cq["admissionScope"]["admissionMode"], "UsageBasedAdmissionFairSharing");
    let group = &cq["resourceGroups"][0];
    assert_eq!(group["coveredResources"], json!(["cpu", "memory"]));
    assert_eq!(
        group["flavors"][0],
        json!({"name": "on-demand", "resources": [
            {"name": "cpu", "nominalQuota": "10", "borrowingLimit": "4", "lendingLimit": "2"},
            {"name": "memory", "nominalQuota": "40Gi"},
        ]})
    );
    assert!(objects[7].body["spec"].get("cohortName").is_none());
}

#[test]
fn every_mistake_in_a_queues_file_is_reported_with_its_field_path_and_line() {
    let bad = QUEUES
        .replace("flavor: spot\n", "flavor: spto\n")
        .replace("memory: {nominal: 16Gi}", "memory: {nominal: lots}")
        .replace("cpu: {nominal: \"4\"}", "cpu: {nominal: \"4\", borrowingLimit: \"1\"}")
        .replace("fairSharingWeight: 2", "fairSharingWeight: 0")
        .replace("{name: urgent, value: 1000}", "{name: batch, value: 1000}");
    let problems = load(&bad).expect_err("refused");
    let found: Vec<(String, String)> = problems.0.iter().map(|d| (d.path.clone(), d.message.clone())).collect();
    let has = |path: &str, words: &str| found.iter().any(|(p, m)| p == path && m.contains(words));
    assert!(has("spec.clusterQueues[0].quotas[1].flavor", "no flavor is named `spto`"), "{found:?}");
    assert!(has("spec.clusterQueues[1].quotas[0].resources.memory.nominal", "`lots` is not a quantity"), "{found:?}");
    assert!(has("spec.clusterQueues[1].quotas[0].resources.cpu", "is in no cohort"), "{found:?}");
    assert!(has("spec.clusterQueues[0].fairSharingWeight", "weight of 0"), "{found:?}");
    assert!(has("spec.priorityClasses[1].name", "declared twice"), "{found:?}");
    let line =
        problems.0.iter().find(|d| d.path == "spec.clusterQueues[0].quotas[1].flavor").and_then(|d| d.span.clone());
    assert_eq!(line.map(|s| s.at.line), Some(24));
    // An unknown field is the schema's: refused with its place too.
    let problems = load(&QUEUES.replace("cohort: shared", "cohrt: shared")).expect_err("refused");
    assert!(problems.0.iter().any(|d| d.message.contains("cohrt")), "{problems:?}");
}

#[test]
fn a_tenant_gets_its_local_queue_and_must_name_a_declared_cluster_queue() {
    let queues = load(QUEUES).expect("valid").queues;
    let tenant: Tenant = serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant",
        "metadata": {"name": "data-eng"},
        "spec": {"team": "data", "costCenter": "cc1", "queue": {"clusterQueue": "analytics", "weight": 2}},
    }))
    .expect("tenant");
    let lq = local_queue(&tenant, &BTreeMap::new()).expect("a LocalQueue").body;
    assert_eq!(lq["metadata"], json!({"name": "default", "namespace": "data-eng", "labels": {}}));
    assert_eq!(lq["spec"], json!({"clusterQueue": "analytics", "fairSharing": {"weight": "2"}}));
    assert_eq!(check_tenant_queue(&tenant, &queues), None);
    let mut lost = tenant.clone();
    if let Some(q) = lost.spec.queue.as_mut() {
        q.cluster_queue = "analytcs".into();
    }
    let problem = check_tenant_queue(&lost, &queues).expect("refused");
    assert_eq!(problem.path, "spec.queue.clusterQueue");
    assert!(
        problem.message.contains("`analytcs`") && problem.help.as_deref().is_some_and(|h| h.contains("analytics, ml"))
    );
    let mut none = tenant;
    none.spec.queue = None;
    assert!(local_queue(&none, &BTreeMap::new()).is_none());
}

#[test]
fn a_job_too_big_for_every_flavor_of_its_queue_could_never_be_admitted() {
    let queues = load(QUEUES).expect("valid").queues;
    let text = |executors: u32| {
        format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {{name: big, namespace: data}}\nspec:\n  type: Scala\n  mainClass: x.Main\n  mainApplicationFile: local:///a.jar\n  sparkVersion: \"3.5.3\"\n  image: {{repository: spark, tag: \"3.5.3\"}}\n  driver: {{cores: 1, memory: 1g}}\n  executor: {{cores: 1, memory: 1g, instances: {executors}}}\n"
        )
    };
    let ml = &queues.spec.cluster_queues[1];
    // 1 + 3 CPU fits ml's 4; 1 + 4 does not, and ml is in no cohort.
    assert_eq!(never_admitted(&job(&text(3)).1, ml), None);
    let never = never_admitted(&job(&text(4)).1, ml).expect("never");
    assert_eq!(
        never.reason,
        "ClusterQueue ml can never admit the job (driver and 4 executors at once): flavor on-demand: cpu: needs 5, at most 4 (nominal, and it is in no cohort), short by 1"
    );
    assert_eq!(
        never.short,
        [Shortfall {
            flavor: "on-demand".into(),
            resource: "cpu".into(),
            needs: "5".into(),
            at_most: Some("4".into()),
            short_by: "1".into(),
            limit: "nominal, and it is in no cohort".into(),
        }]
    );
    // analytics' on-demand flavor holds at most 10 + 4 CPUs, but its spot
    // flavor may borrow without a limit in its cohort: not "never".
    let analytics = &queues.spec.cluster_queues[0];
    assert_eq!(never_admitted(&job(&text(40)).1, analytics), None);
    let mut capped = analytics.clone();
    capped.quotas.truncate(1);
    let never = never_admitted(&job(&text(20)).1, &capped).expect("never");
    assert!(
        never.reason.contains("flavor on-demand: cpu: needs 21, at most 14 (nominal + borrowing limit), short by 7"),
        "{}",
        never.reason
    );
}

#[test]
fn each_rule_of_a_queues_files_meaning_is_reported_at_its_field() {
    let many_labels: String = (0..9).map(|i| format!("l{i}: v")).collect::<Vec<_>>().join(", ");
    // (what is replaced, with what, the path reported, words of the message)
    let table: [(&str, String, &str, &str); 14] = [
        ("- name: spot", "- name: Spot_".into(), "spec.flavors[1].name", "`Spot_` cannot name a ResourceFlavor"),
        ("- name: spot", "- name: on-demand".into(), "spec.flavors[1].name", "flavor `on-demand` is declared twice"),
        ("{pool: spot}", format!("{{{many_labels}}}"), "spec.flavors[1]", "more than 8 node labels or tolerations"),
        (
            "{name: urgent, value: 1000}",
            "{name: Urgent!, value: 1000}".into(),
            "spec.priorityClasses[1].name",
            "`Urgent!` cannot name a priority class",
        ),
        (
            "{name: urgent, value: 1000}",
            "{name: urgent, value: 1000000001}".into(),
            "spec.priorityClasses[1].value",
            "1000000001 is above 1000000000",
        ),
        ("- name: ml", "- name: ML".into(), "spec.clusterQueues[1].name", "`ML` cannot name a ClusterQueue"),
        (
            "- name: ml",
            "- name: analytics".into(),
            "spec.clusterQueues[1].name",
            "ClusterQueue `analytics` is declared twice",
        ),
        ("cohort: shared", "cohort: Shared".into(), "spec.clusterQueues[0].cohort", "`Shared` cannot name a cohort"),
        (
            "withinClusterQueue: LowerPriority",
            "withinClusterQueue: Any".into(),
            "spec.clusterQueues[0].preemption.withinClusterQueue",
            "`Any` is not a policy within one ClusterQueue",
        ),
        (
            "      quotas:\n        - flavor: on-demand\n          resources:\n            cpu: {nominal: \"4\"}\n            memory: {nominal: 16Gi}\n",
            "      quotas: []\n".into(),
            "spec.clusterQueues[1].quotas",
            "ClusterQueue `ml` has no quota",
        ),
        (
            "memory: {nominal: 80Gi}",
            "gpu: {nominal: \"1\"}".into(),
            "spec.clusterQueues[0].quotas[0].resources",
            "flavor `on-demand` has no quota for gpu",
        ),
        (
            "borrowingLimit: \"4\"",
            "borrowingLimit: \"-4\"".into(),
            "spec.clusterQueues[0].quotas[0].resources.cpu.borrowingLimit",
            "`-4` is not a quantity of zero or more",
        ),
        (
            "lendingLimit: \"2\"",
            "lendingLimit: \"11\"".into(),
            "spec.clusterQueues[0].quotas[0].resources.cpu.lendingLimit",
            "the lending limit is above the nominal quota",
        ),
        (
            "cpu: {nominal: \"4\"}",
            "cpu: {nominal: \"4\", lendingLimit: \"1\"}".into(),
            "spec.clusterQueues[1].quotas[0].resources.cpu",
            "ClusterQueue `ml` borrows or lends but is in no cohort",
        ),
    ];
    for (from, to, path, words) in table {
        assert!(QUEUES.contains(from), "{from}");
        let problems = load(&QUEUES.replacen(from, &to, 1)).expect_err(path);
        let found: Vec<(&str, &str)> = problems.0.iter().map(|d| (d.path.as_str(), d.message.as_str())).collect();
        assert!(found.iter().any(|(p, m)| *p == path && m.contains(words)), "{path}: {found:?}");
        assert!(problems.0.iter().all(|d| d.span.is_some()), "{problems:?}");
    }
}

#[test]
fn a_jobs_cluster_queue_is_the_one_named_else_the_one_its_tenants_local_queue_feeds() {
    let queues = load(QUEUES).expect("valid").queues;
    let tenant: Tenant = serde_json::from_value(serde_json::json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "data-eng"},
        "spec": {"team": "data", "costCenter": "cc1", "queue": {"name": "etl", "clusterQueue": "ml"}},
    }))
    .expect("a Tenant");
    let name = |r: Result<&ClusterQueueSpec, Diagnostic>| r.map(|cq| cq.name.clone()).map_err(|d| d.message);
    assert_eq!(name(cluster_queue_for(&queues, Some("analytics"), Some(&tenant), Some("etl"))), Ok("analytics".into()));
    assert_eq!(name(cluster_queue_for(&queues, None, Some(&tenant), Some("etl"))), Ok("ml".into()));
    assert_eq!(
        name(cluster_queue_for(&queues, None, Some(&tenant), Some("adhoc"))),
        Err("which ClusterQueue admits the job is not known: the job waits in LocalQueue `adhoc`, which is not its tenant `data-eng`'s".into())
    );
    let unknown = cluster_queue_for(&queues, None, None, Some("etl")).expect_err("no tenant");
    assert!(
        unknown.message.ends_with(
            "the job's tenant is not known (no tenant in the platform directory's tenants/ has its namespace or team)"
        ),
        "{}",
        unknown.message
    );
    assert_eq!(unknown.help.as_deref(), Some("pass --cluster-queue with one of: analytics, ml"));
    let missing = cluster_queue_for(&queues, Some("gpu"), None, None).expect_err("undeclared");
    assert_eq!(
        (missing.path.as_str(), missing.message.as_str()),
        ("--cluster-queue", "the queues file declares no ClusterQueue `gpu`")
    );
}
