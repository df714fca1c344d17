//! Every queue and gang object sparkplane writes, held to the schemas of the
//! projects that read them (ADR 0072): Kueue v0.19.2's CRDs (Workload,
//! LocalQueue, ClusterQueue, ResourceFlavor, WorkloadPriorityClass),
//! Volcano v1.15.1's PodGroup CRD, and the schema of YuniKorn v1.9.0's
//! task-group annotations written from its sources — all vendored under
//! crates/sparkplane-fakekube/tests/data with their origin and commit.
//!
//! Strict: the API server prunes a field a CRD does not name, silently; here
//! every object schema that names its properties refuses any other, so a
//! field upstream does not know fails the test instead of vanishing on a
//! cluster. `metadata` (left open by every CRD) is held to the fields
//! sparkplane sets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sparkplane_api::tenant::Tenant;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::queues::{load_queues, local_queue, render_queues};
use sparkplane_core::render::kueue::{WorkloadOf, workload};
use sparkplane_core::render::{RenderInput, RenderedObject, Target, render};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;

pub(crate) fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-fakekube/tests/data")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `schema` with unknown fields refused wherever it names its properties.
fn strict(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    let open = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if object.contains_key("properties") && !object.contains_key("additionalProperties") && !open {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (key, child) in object.iter_mut() {
        match key.as_str() {
            "properties" => child.as_object_mut().into_iter().flat_map(|p| p.values_mut()).for_each(strict),
            "items" | "additionalProperties" | "not" => strict(child),
            "allOf" | "anyOf" | "oneOf" => child.as_array_mut().into_iter().flatten().for_each(strict),
            _ => {}
        }
    }
}

/// The metadata sparkplane sets on what it writes.
const METADATA: &[&str] = &["name", "namespace", "labels", "annotations", "ownerReferences"];

/// A CRD file: JSON as vendored here, or YAML as upstream writes it (the
/// Kubeflow CRDs the chart carries, charts/sparkplane/files/kubeflow).
fn read_crd(file: &Path) -> Value {
    if file.extension().is_some_and(|e| e == "json") {
        return read_json(file);
    }
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    parse_single(&Source::new(file.display().to_string(), text)).unwrap_or_else(|d| panic!("{d}")).to_json()
}

/// Every problem the CRD in `file` (strict) finds in `object`, and in its metadata.
pub(crate) fn crd_problems(file: &Path, object: &Value) -> Vec<String> {
    let crd = read_crd(file);
    let version = &crd["spec"]["versions"][0];
    let api_version = format!(
        "{}/{}",
        crd["spec"]["group"].as_str().unwrap_or_default(),
        version["name"].as_str().unwrap_or_default()
    );
    assert_eq!(object["apiVersion"], api_version.as_str(), "the version the CRD serves");
    assert_eq!(object["kind"], crd["spec"]["names"]["kind"]);
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    let validator = jsonschema::validator_for(&schema).expect("the CRD's schema compiles");
    let mut problems: Vec<String> =
        validator.iter_errors(object).map(|e| format!("{}: {e}", e.instance_path())).collect();
    for key in object["metadata"].as_object().into_iter().flat_map(|m| m.keys()) {
        if !METADATA.contains(&key.as_str()) {
            problems.push(format!("/metadata/{key}: not a field sparkplane sets"));
        }
    }
    problems
}

/// `object` passes the CRD in `file`, and the check would have caught a field it does not name.
pub(crate) fn assert_valid(file: &str, object: &Value) {
    let problems = crd_problems(&data().join(file), object);
    assert!(problems.is_empty(), "{file}: {problems:#?}\n{object:#}");
    let mut unknown = object.clone();
    let at = if object["spec"].is_object() { &mut unknown["spec"] } else { &mut unknown };
    at["sparkplaneUnknown"] = json!(1);
    let problems = crd_problems(&data().join(file), &unknown);
    assert!(problems.iter().any(|p| p.contains("sparkplaneUnknown")), "{file}: not strict: {problems:#?}");
}

pub(crate) fn resolve(text: &str) -> ResolvedJob {
    let catalog = Catalog::builtin().expect("the built-in catalog");
    let job = parse_single(&Source::new("job.yaml", text)).expect("parses");
    load(ResolveRequest {
        job: &job,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("resolves:\n{d}"))
}

const JOB: &str = r#"apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: etl, namespace: data}
spec:
  team: data
  costCenter: cc-1
  type: Scala
  mainClass: x.Main
  mainApplicationFile: local:///opt/app.jar
  sparkVersion: "3.5.3"
  image: {repository: registry.example.com/data/etl, tag: "3.5.3"}
  queue: team-a
  priorityClassName: batch
  nodeSelector: {disk: ssd}
  tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
  driver: {cores: 1, memory: 1g}
  executor: {cores: 2, memory: 2g}
  timeouts: {maxDuration: 2h}
"#;

/// The objects of the example Queues file (examples/platform/queues.yaml).
fn queue_objects() -> Vec<RenderedObject> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/platform/queues.yaml");
    let text = std::fs::read_to_string(&path).expect("the example Queues file");
    let loaded = load_queues(&Source::new("queues.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
    render_queues(&loaded.queues)
}

#[test]
fn every_workload_validates_against_kueues_workload_crd_and_an_unknown_field_would_not() {
    let dynamic =
        JOB.replace("  driver:", "  dynamicAllocation: {enabled: true, minExecutors: 2, maxExecutors: 6}\n  driver:");
    let mut checked = 0;
    for text in [JOB.to_owned(), dynamic, JOB.replace("  priorityClassName: batch\n", "")] {
        let resolved = resolve(&text);
        for of in [
            WorkloadOf {
                queue: "team-a",
                priority: Some(("batch", 100)),
                owner_uid: Some("0b0e2c9a-1f6b-4d2e-9c1a-5f8e7d6c5b4a"),
            },
            WorkloadOf { queue: "team-a", priority: None, owner_uid: None },
        ] {
            assert_valid("kueue/workloads.json", &workload(&resolved, &of).body);
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
    // The check is strict: a field Kueue does not know is refused, not pruned.
    let mut unknown = workload(&resolve(JOB), &WorkloadOf { queue: "q", priority: None, owner_uid: None }).body;
    unknown["spec"]["podSets"][0]["maxCount"] = json!(3);
    let problems = crd_problems(&data().join("kueue/workloads.json"), &unknown);
    assert!(problems.iter().any(|p| p.starts_with("/spec/podSets/0:") && p.contains("maxCount")), "{problems:#?}");
}

#[test]
fn a_tenants_local_queue_validates_against_kueues_local_queue_crd() {
    for queue in [json!({"clusterQueue": "analytics", "weight": 2}), json!({"clusterQueue": "ml", "name": "etl"})] {
        let tenant: Tenant = serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant",
            "metadata": {"name": "data-eng"},
            "spec": {"team": "data", "costCenter": "cc1", "queue": queue},
        }))
        .expect("a Tenant");
        let labels = BTreeMap::from([("sparkplane.dev/team".to_owned(), "data".to_owned())]);
        let lq = local_queue(&tenant, &labels).expect("a LocalQueue");
        assert_valid("kueue/localqueues.json", &lq.body);
    }
    // As `sparkplane tenant render` writes it for the example tenant given a queue.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tenants/data-eng.yaml");
    let text = std::fs::read_to_string(example).expect("the example tenant");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("data-eng.yaml");
    std::fs::write(&file, format!("{text}  queue: {{clusterQueue: analytics, weight: 2}}\n")).expect("write");
    let out = sparkplane_testkit::sparkplane()
        .args(["tenant", "render", "-o", "json"])
        .arg(&file)
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let queues: Vec<&Value> =
        list["items"].as_array().into_iter().flatten().filter(|o| o["kind"] == "LocalQueue").collect();
    assert_eq!(queues.len(), 1, "{list:#}");
    assert_eq!(queues[0]["metadata"]["namespace"], "data-eng");
    assert_eq!(queues[0]["spec"], json!({"clusterQueue": "analytics", "fairSharing": {"weight": "2"}}));
    assert_valid("kueue/localqueues.json", queues[0]);
}

#[test]
fn tenant_render_with_the_platforms_queues_writes_what_every_kueue_crd_accepts() {
    let example = |p: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p);
    let text = std::fs::read_to_string(example("examples/tenants/data-eng.yaml")).expect("the example tenant");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("data-eng.yaml");
    std::fs::write(&file, format!("{text}  queue: {{name: etl, clusterQueue: analytics, weight: 2}}\n"))
        .expect("write");
    let out = sparkplane_testkit::sparkplane()
        .args(["tenant", "render", "-o", "json", "--queues"])
        .arg(example("examples/platform/queues.yaml"))
        .arg(&file)
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut seen = BTreeMap::new();
    for object in list["items"].as_array().into_iter().flatten() {
        let file = match object["kind"].as_str().unwrap_or_default() {
            "ResourceFlavor" => "kueue/resourceflavors.json",
            "WorkloadPriorityClass" => "kueue/workloadpriorityclasses.json",
            "ClusterQueue" => "kueue/clusterqueues.json",
            "LocalQueue" => "kueue/localqueues.json",
            _ => continue,
        };
        assert_valid(file, object);
        *seen.entry(object["kind"].as_str().unwrap_or_default().to_owned()).or_insert(0) += 1;
    }
    let expected = [("ClusterQueue", 2), ("LocalQueue", 1), ("ResourceFlavor", 2), ("WorkloadPriorityClass", 2)];
    assert_eq!(seen, expected.into_iter().map(|(k, n)| (k.to_owned(), n)).collect::<BTreeMap<_, _>>());
}

#[test]
fn the_platforms_cluster_queues_validate_against_kueues_cluster_queue_crd() {
    let objects = queue_objects();
    let queues: Vec<&RenderedObject> = objects.iter().filter(|o| o.kind == "ClusterQueue").collect();
    assert_eq!(queues.len(), 2);
    for cq in queues {
        assert_valid("kueue/clusterqueues.json", &cq.body);
    }
}

#[test]
fn the_platforms_flavors_and_priority_classes_validate_against_kueues_crds() {
    let objects = queue_objects();
    let mut seen = BTreeMap::new();
    for object in &objects {
        let file = match object.kind.as_str() {
            "ResourceFlavor" => "kueue/resourceflavors.json",
            "WorkloadPriorityClass" => "kueue/workloadpriorityclasses.json",
            _ => continue,
        };
        assert_valid(file, &object.body);
        *seen.entry(object.kind.clone()).or_insert(0) += 1;
    }
    assert_eq!(seen, BTreeMap::from([("ResourceFlavor".to_owned(), 2), ("WorkloadPriorityClass".to_owned(), 2)]));
}

fn rendered(text: &str) -> Vec<RenderedObject> {
    let resolved = resolve(text);
    let sized = size_job(&resolved.job.spec);
    let mut objects = render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    objects.extend(render(&RenderInput { job: &resolved, sized: &sized }, Target::Job));
    objects
}

#[test]
fn the_volcano_pod_group_validates_against_volcanos_pod_group_crd() {
    for text in [
        JOB.replace("  driver:", "  scheduling: {gang: Volcano}\n  executor: {instances: 3}\n  driver:"),
        JOB.replace("  driver:", "  scheduling: {gang: Volcano}\n  dynamicAllocation: {enabled: true, minExecutors: 2, maxExecutors: 6}\n  driver:"),
    ] {
        let text = text.replace("  executor: {cores: 2, memory: 2g}\n", "").replace("executor: {instances: 3}", "executor: {cores: 2, memory: 2g, instances: 3}");
        let groups: Vec<RenderedObject> = rendered(&text).into_iter().filter(|o| o.kind == "PodGroup").collect();
        assert_eq!(groups.len(), 2, "the native and the Job route each make one");
        for group in groups {
            assert_valid("volcano/podgroups.json", &group.body);
        }
    }
}

/// The annotations a YuniKorn pod carries, checked as YuniKorn reads them.
pub(crate) fn yunikorn_problems(annotations: &BTreeMap<String, String>) -> Vec<String> {
    let mut schema = read_json(&data().join("yunikorn/annotations.schema.json"));
    // The queue annotation (issue #69), which the vendored schema does not list yet: k8shim v1.9.0
    // reads it (pkg/common/constants/constants.go `AnnotationQueueName`, pkg/common/utils/utils.go
    // `GetQueueNameFromPod`), a queue path whose parts match yunikorn-core's `QueueNameRegExp`.
    schema["properties"]["yunikorn.apache.org/queue"] =
        json!({"type": "string", "pattern": "^root(\\.[a-zA-Z0-9_:#/@-]{1,64})+$"});
    let groups = read_json(&data().join("yunikorn/task-groups.schema.json"));
    strict(&mut schema);
    let ours: serde_json::Map<String, Value> = annotations
        .iter()
        .filter(|(k, _)| k.starts_with("yunikorn.apache.org/"))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let value = Value::Object(ours);
    let mut problems: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{}: {e}", e.instance_path())).collect();
    if let Some(text) = annotations.get("yunikorn.apache.org/task-groups") {
        match serde_json::from_str::<Value>(text) {
            Ok(parsed) => {
                let validator = jsonschema::validator_for(&groups).expect("compiles");
                problems
                    .extend(validator.iter_errors(&parsed).map(|e| format!("task-groups{}: {e}", e.instance_path())));
            }
            Err(e) => problems.push(format!("task-groups is not JSON: {e}")),
        }
    }
    problems
}

#[test]
fn yunikorns_task_group_annotations_validate_against_the_schema_of_what_yunikorn_reads() {
    let text = JOB
        .replace("  driver:", "  scheduling: {gang: YuniKorn}\n  driver:")
        .replace("executor: {cores: 2, memory: 2g}", "executor: {cores: 2, memory: 2g, instances: 3}");
    let objects = rendered(&text);
    let mut checked = 0;
    for driver in objects.iter().filter(|o| o.kind == "Pod") {
        let annotations: BTreeMap<String, String> =
            serde_json::from_value(driver.body["metadata"]["annotations"].clone()).expect("annotations");
        assert!(annotations.contains_key("yunikorn.apache.org/task-groups"), "{annotations:?}");
        let problems = yunikorn_problems(&annotations);
        assert!(problems.is_empty(), "{problems:#?}");
        checked += 1;
    }
    // The executors' annotations travel as Spark properties.
    for properties in objects.iter().filter_map(|o| o.body["data"]["spark.properties"].as_str()) {
        let annotations: BTreeMap<String, String> = properties
            .lines()
            .filter_map(|l| l.strip_prefix("spark.kubernetes.executor.annotation."))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if annotations.keys().any(|k| k.starts_with("yunikorn.apache.org/")) {
            let problems = yunikorn_problems(&annotations);
            assert!(problems.is_empty(), "{problems:#?}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "the driver and the executors were checked ({checked})");
    // Strict: a field of a task group YuniKorn does not read is refused.
    let bad = BTreeMap::from([(
        "yunikorn.apache.org/task-groups".to_owned(),
        r#"[{"name": "spark-driver", "minMember": 1, "minResource": {"cpu": "1"}, "maxMember": 2}]"#.to_owned(),
    )]);
    assert!(yunikorn_problems(&bad).iter().any(|p| p.contains("maxMember")));
}
