//! Where the door is (ADR 0095): every target's `…-ui-door` NetworkPolicy
//! admits the door's pods from the namespace the job's tenant names
//! (`spec.platformNamespace`, the namespace its `allow-spark-ui` policy
//! admits too), the tenant found by the rule its queue is found by (its
//! namespace, or its team when the job names none, the namespace settled on
//! the command line included); with no such tenant, from the chart's
//! documented namespace, `sparkplane-system`. The operator's path
//! (`resolve_resource`) gives the same.

use serde_json::json;
use sparkplane_api::SparkJob;
use sparkplane_api::tenant::Tenant;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::{load, resolve_resource};
use sparkplane_core::render::{Target, size_and_render};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob, settle_namespace};
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;

fn tenant(name: &str, team: &str, platform_namespace: Option<&str>) -> Tenant {
    let mut spec = json!({"team": team, "costCenter": "cc-1", "namespace": name});
    if let Some(namespace) = platform_namespace {
        spec["platformNamespace"] = json!(namespace);
    }
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": name}, "spec": spec,
    }))
    .expect("a Tenant")
}

/// Team a's tenant names the platform's namespace; team b's does not.
fn catalog() -> Catalog {
    let mut catalog = Catalog::builtin().expect("built-in catalog");
    catalog.add_tenant(tenant("team-a", "a", Some("platform")), "platform/tenants/team-a.yaml").expect("a");
    catalog.add_tenant(tenant("team-b", "b", None), "platform/tenants/team-b.yaml").expect("b");
    catalog
}

fn job(metadata: &str, team: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {metadata}
spec:
  team: {team}
  costCenter: cc-1
  type: Python
  mainApplicationFile: local:///opt/app/main.py
  sparkVersion: \"3.5.3\"
  image: {{repository: registry.example.com/spark/py, tag: \"3.5.3\"}}
"
    )
}

fn resolve(catalog: &Catalog, text: &str) -> ResolvedJob {
    let doc = parse_single(&Source::new("job.yaml", text)).expect("parses");
    let request = ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    };
    load(request).unwrap_or_else(|d| panic!("resolves:\n{d}"))
}

/// The namespace each target's door policy admits the door from (one policy per target).
fn door_namespaces(resolved: &ResolvedJob) -> Vec<String> {
    Target::ALL
        .iter()
        .map(|target| {
            let objects = size_and_render(resolved, *target);
            let doors: Vec<_> = objects.iter().filter(|o| o.name.ends_with("-ui-door")).collect();
            assert_eq!(doors.len(), 1, "{target:?}");
            let peer = &doors[0].body["spec"]["ingress"][0]["from"][0];
            assert_eq!(peer["podSelector"], json!({"matchLabels": {"sparkplane.dev/door": "true"}}), "{target:?}");
            let namespace = &peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"];
            namespace.as_str().expect("one namespace").to_owned()
        })
        .collect()
}

#[test]
fn the_door_is_where_the_jobs_tenant_says_the_platform_runs() {
    let catalog = catalog();
    let resolved = resolve(&catalog, &job("{name: etl, namespace: team-a}", "a"));
    assert_eq!(resolved.door_namespace(), "platform");
    assert_eq!(door_namespaces(&resolved), ["platform"; 3]);
    // By team when the job names no namespace.
    let by_team = resolve(&catalog, &job("{name: etl}", "a"));
    assert_eq!(door_namespaces(&by_team), ["platform"; 3]);
}

#[test]
fn without_a_tenant_that_names_it_the_door_is_in_sparkplane_system() {
    let catalog = catalog();
    for (metadata, team) in [("{name: etl, namespace: team-b}", "b"), ("{name: etl, namespace: elsewhere}", "c")] {
        let resolved = resolve(&catalog, &job(metadata, team));
        assert_eq!(resolved.platform_namespace, None, "{metadata}");
        assert_eq!(door_namespaces(&resolved), ["sparkplane-system"; 3], "{metadata}");
    }
    let no_tenants = Catalog::builtin().expect("built-in catalog");
    let resolved = resolve(&no_tenants, &job("{name: etl, namespace: team-a}", "a"));
    assert_eq!(door_namespaces(&resolved), ["sparkplane-system"; 3]);
}

#[test]
fn a_namespace_settled_on_the_command_line_finds_its_tenants_door() {
    let catalog = catalog();
    // Team b's job (its tenant names no platform namespace) sent to team a's namespace with -n.
    let mut moved = resolve(&catalog, &job("{name: etl}", "b"));
    assert_eq!(moved.door_namespace(), "sparkplane-system");
    settle_namespace(&mut moved, &catalog, Some("team-a"), None);
    assert_eq!(door_namespaces(&moved), ["platform"; 3]);
    // And away again, to a namespace no tenant has: the default, not the team's guess.
    let mut away = resolve(&catalog, &job("{name: etl}", "a"));
    assert_eq!(away.door_namespace(), "platform");
    settle_namespace(&mut away, &catalog, Some("elsewhere"), None);
    assert_eq!(door_namespaces(&away), ["sparkplane-system"; 3]);
}

#[test]
fn a_resource_the_operator_reads_finds_the_same_door() {
    let doc = parse_single(&Source::new("job.yaml", job("{name: etl, namespace: team-a}", "a"))).expect("parses");
    let resource: SparkJob = serde_json::from_value(doc.to_json()).expect("a SparkJob");
    let resolved = resolve_resource(&resource, &catalog()).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(door_namespaces(&resolved), ["platform"; 3]);
}
