//! A job's queue defaults to its tenant's (ADR 0079): the platform's tenants
//! are in the catalog, and the one resolve step every caller shares (`render`,
//! `apply`, `fit`, the operator through `resolve_resource`) gives a job that
//! names no `spec.queue` the LocalQueue of its tenant — by namespace, or by
//! team when the job names no namespace. Any layer that names a queue wins.

use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::tenant::Tenant;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::{load, resolve_resource};
use sparkplane_core::render::kueue::{WorkloadOf, workload};
use sparkplane_core::render::{Target, size_and_render};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob, SetFlag, settle_namespace};
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::{FieldPath, parse_single};

const QUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";
const GATES_JOB: &str = "sparkplane.dev/gates-job";

fn tenant(name: &str, namespace: &str, team: &str, queue: Option<&str>) -> Tenant {
    let mut spec = json!({"team": team, "costCenter": "cc-1", "namespace": namespace});
    if let Some(q) = queue {
        spec["queue"] = json!({"name": q, "clusterQueue": "shared"});
    }
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": name}, "spec": spec,
    }))
    .expect("a Tenant")
}

fn catalog() -> Catalog {
    let mut catalog = Catalog::builtin().expect("built-in catalog");
    catalog.add_tenant(tenant("team-a", "team-a", "a", Some("team-a-q")), "platform/tenants/team-a.yaml").expect("a");
    // A tenant without a queue: its jobs keep Kueue's default.
    catalog.add_tenant(tenant("team-b", "team-b", "b", None), "platform/tenants/team-b.yaml").expect("b");
    catalog
}

fn job(metadata: &str, extra: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {metadata}
spec:
  team: a
  costCenter: cc-1
  type: Python
  mainApplicationFile: local:///opt/app/main.py
  sparkVersion: \"3.5.3\"
  image: {{repository: registry.example.com/spark/py, tag: \"3.5.3\"}}
  driver: {{cores: 1, memory: 1g}}
  executor: {{instances: 2, cores: 1, memory: 1g}}
{extra}"
    )
}

fn resolve_with(catalog: &Catalog, text: &str, sets: &[SetFlag]) -> ResolvedJob {
    let doc = parse_single(&Source::new("job.yaml", text)).expect("parses");
    load(ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog,
        environment: None,
        sets,
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("resolves:\n{d}"))
}

/// The queue Kueue reads for each object it admits: a SparkApplication's
/// label; for a Job, its label, or — when a Workload gates it (issue #69:
/// Kueue then counts the driver and executors, not the spark-submit pod) —
/// the gating Workload's, the Job then suspended and unlabelled.
fn queue_labels(resolved: &ResolvedJob, target: Target) -> Vec<Value> {
    let objects = size_and_render(resolved, target);
    let gate = |job: &Value| {
        objects
            .iter()
            .find(|o| o.kind == "Workload" && o.body["metadata"]["labels"][GATES_JOB] == job["metadata"]["name"])
    };
    objects
        .iter()
        .filter(|o| matches!(o.kind.as_str(), "Job" | "SparkApplication"))
        .map(|o| match gate(&o.body) {
            Some(workload) => {
                assert_eq!(o.body["spec"]["suspend"], true, "a gated Job waits suspended");
                assert!(o.body["metadata"]["labels"].get(QUEUE_LABEL).is_none(), "a gated Job is not Kueue's to admit");
                assert_eq!(workload.body["spec"]["queueName"], workload.body["metadata"]["labels"][QUEUE_LABEL]);
                workload.body["metadata"]["labels"][QUEUE_LABEL].clone()
            }
            None => o.body["metadata"]["labels"][QUEUE_LABEL].clone(),
        })
        .collect()
}

#[test]
fn a_job_without_a_queue_waits_in_its_tenants_and_its_objects_and_workload_name_it() {
    let catalog = catalog();
    let resolved = resolve_with(&catalog, &job("{name: etl, namespace: team-a}", ""), &[]);
    assert_eq!(resolved.job.spec.queue.as_deref(), Some("team-a-q"));
    // `--explain` says where it came from.
    let origin = resolved.provenance.get(&FieldPath::parse("spec.queue").expect("path")).expect("an origin");
    assert_eq!(origin.layer.to_string(), "tenant team-a");
    assert!(origin.span.source.name.contains("platform/tenants/team-a.yaml"), "{}", origin.span.source.name);
    for target in [Target::Job, Target::Kubeflow] {
        assert_eq!(queue_labels(&resolved, target), [json!("team-a-q")], "{target:?}");
    }
    // The Workload the operator makes names the queue the job resolved to.
    let queue = resolved.job.spec.queue.as_deref().expect("queue");
    let body = workload(&resolved, &WorkloadOf { queue, priority: None, owner_uid: None }).body;
    assert_eq!(body["spec"]["queueName"], "team-a-q");
    assert_eq!(body["metadata"]["labels"][QUEUE_LABEL], "team-a-q");
}

#[test]
fn a_job_that_names_no_namespace_takes_the_queue_of_its_teams_one_tenant() {
    let resolved = resolve_with(&catalog(), &job("{name: etl}", ""), &[]);
    assert_eq!(resolved.job.spec.queue.as_deref(), Some("team-a-q"));
}

#[test]
fn a_queue_any_layer_names_wins_over_the_tenants() {
    let catalog = catalog();
    let own = resolve_with(&catalog, &job("{name: etl, namespace: team-a}", "  queue: adhoc\n"), &[]);
    assert_eq!(own.job.spec.queue.as_deref(), Some("adhoc"));
    assert_eq!(queue_labels(&own, Target::Job), [json!("adhoc")]);
    let set = SetFlag::parse("spec.queue=urgent").expect("flag");
    let flagged = resolve_with(&catalog, &job("{name: etl, namespace: team-a}", ""), &[set]);
    assert_eq!(flagged.job.spec.queue.as_deref(), Some("urgent"));
}

#[test]
fn no_tenant_or_a_tenant_without_a_queue_leaves_the_queue_unset() {
    let catalog = catalog();
    for metadata in ["{name: etl, namespace: elsewhere}", "{name: etl, namespace: team-b}"] {
        let resolved = resolve_with(&catalog, &job(metadata, ""), &[]);
        assert_eq!(resolved.job.spec.queue, None, "{metadata}");
        assert_eq!(queue_labels(&resolved, Target::Job), [Value::Null], "{metadata}");
    }
    let plain = resolve_with(&Catalog::builtin().expect("catalog"), &job("{name: etl, namespace: team-a}", ""), &[]);
    assert_eq!(plain.job.spec.queue, None, "no tenants in the catalog");
}

#[test]
fn a_team_with_two_tenants_and_a_job_without_a_namespace_gets_no_queue_and_a_warning() {
    let mut catalog = catalog();
    catalog.add_tenant(tenant("team-a-ml", "team-a-ml", "a", Some("ml-q")), "t/team-a-ml.yaml").expect("added");
    let resolved = resolve_with(&catalog, &job("{name: etl}", ""), &[]);
    assert_eq!(resolved.job.spec.queue, None);
    let warning = resolved.warnings.0.iter().find(|d| d.code == "ambiguous-tenant").expect("a warning");
    assert_eq!(warning.path, "spec.queue");
    assert_eq!(
        warning.message,
        "tenants team-a, team-a-ml all belong to team `a` and the job names no namespace: no tenant's queue is its default"
    );
    // A second tenant of one name is refused where it is added.
    let err = catalog.add_tenant(tenant("team-a", "x", "x", None), "t/again.yaml").expect_err("duplicate");
    assert_eq!(err.message, "tenant `team-a` is defined in platform/tenants/team-a.yaml and t/again.yaml");
}

#[test]
fn a_resource_the_operator_reads_resolves_to_the_same_queue() {
    let doc = parse_single(&Source::new("job.yaml", job("{name: etl, namespace: team-a}", ""))).expect("parses");
    let resource: SparkJob = serde_json::from_value(doc.to_json()).expect("a SparkJob");
    let resolved = resolve_resource(&resource, &catalog()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(resolved.job.spec.queue.as_deref(), Some("team-a-q"));
}

/// The namespace a command settles after resolving (`apply -n`, `render -n`, `fit -n`, the kubeconfig
/// context's) finds its tenant by the same rule as one written in the job.
#[test]
fn a_namespace_given_only_on_the_command_line_picks_its_tenants_queue() {
    let mut catalog = catalog();
    catalog.add_tenant(tenant("team-c", "team-c", "c", Some("team-c-q")), "platform/tenants/team-c.yaml").expect("c");
    let queue = FieldPath::parse("spec.queue").expect("path");
    // Team a's job, sent to team-c's namespace with -n: team-c's queue, not the one its team matched.
    let mut moved = resolve_with(&catalog, &job("{name: etl}", ""), &[]);
    assert_eq!(moved.job.spec.queue.as_deref(), Some("team-a-q"), "by team before the namespace is known");
    settle_namespace(&mut moved, &catalog, Some("team-c"), None);
    assert_eq!((moved.namespace(), moved.job.spec.queue.as_deref()), ("team-c", Some("team-c-q")));
    assert_eq!(moved.provenance.get(&queue).map(|o| o.layer.to_string()).as_deref(), Some("tenant team-c"));
    assert_eq!(queue_labels(&moved, Target::Job), [json!("team-c-q")]);
    // The kubeconfig context's namespace counts when the job and -n name none.
    let mut by_context = resolve_with(&catalog, &job("{name: etl}", ""), &[]);
    settle_namespace(&mut by_context, &catalog, None, Some("team-c"));
    assert_eq!(by_context.job.spec.queue.as_deref(), Some("team-c-q"));
    // A namespace no tenant has: no tenant's queue (the team's is not guessed once the namespace is known).
    let mut elsewhere = resolve_with(&catalog, &job("{name: etl}", ""), &[]);
    settle_namespace(&mut elsewhere, &catalog, Some("elsewhere"), None);
    assert_eq!(elsewhere.job.spec.queue, None);
    assert!(elsewhere.tree.get(&queue).is_none() && !elsewhere.provenance.contains_key(&queue));
    // The spec hash follows the queue: the same job in another tenant's namespace is another spec.
    assert_ne!(moved.spec_hash(), elsewhere.spec_hash());
}

#[test]
fn settling_the_namespace_keeps_a_queue_a_layer_named_and_answers_an_ambiguous_team() {
    let mut catalog = catalog();
    catalog.add_tenant(tenant("team-a-ml", "team-a-ml", "a", Some("ml-q")), "t/team-a-ml.yaml").expect("added");
    // Named by the job: -n does not replace it.
    let mut own = resolve_with(&catalog, &job("{name: etl}", "  queue: adhoc\n"), &[]);
    settle_namespace(&mut own, &catalog, Some("team-a-ml"), None);
    assert_eq!(own.job.spec.queue.as_deref(), Some("adhoc"));
    // Two tenants of team a: no queue and a warning, until -n says which.
    let mut ambiguous = resolve_with(&catalog, &job("{name: etl}", ""), &[]);
    assert!(ambiguous.warnings.0.iter().any(|d| d.code == "ambiguous-tenant"));
    settle_namespace(&mut ambiguous, &catalog, Some("team-a-ml"), None);
    assert_eq!(ambiguous.job.spec.queue.as_deref(), Some("ml-q"));
    assert!(!ambiguous.warnings.0.iter().any(|d| d.code == "ambiguous-tenant"), "{:?}", ambiguous.warnings);
    // The job's own namespace wins over the context's, and keeps its tenant's queue.
    let mut own_ns = resolve_with(&catalog, &job("{name: etl, namespace: team-a}", ""), &[]);
    settle_namespace(&mut own_ns, &catalog, None, Some("team-a-ml"));
    assert_eq!((own_ns.namespace(), own_ns.job.spec.queue.as_deref()), ("team-a", Some("team-a-q")));
}
