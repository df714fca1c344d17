//! Driver↔executor traffic is allowed within one application and nowhere
//! else, and the door reaches the driver's UI only: a tenant's
//! NetworkPolicies plus each job's `-peers` and `-ui-door` policies, evaluated
//! the way the Kubernetes NetworkPolicy API defines it (policies add up; a
//! connection needs the source's egress and the destination's ingress).
//!
//! No cluster or CNI can run here, so the evaluator below implements the
//! parts of the API the rendered policies use (pod and namespace selectors
//! with matchLabels and matchExpressions, policy types, ports) and refuses
//! anything else, so a rendered policy it cannot judge fails the test.

use std::collections::BTreeMap;

use serde_json::Value;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::common::RenderedObject;
use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::resolve::ResolveRequest;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_policy::tenant::{load_tenant, render_tenant};

const TENANT: &str = include_str!("../../../../examples/tenants/data-eng.yaml");
const DRIVER_PORT: i64 = 7078;
const BLOCK_MANAGER_PORT: i64 = 7079;
const UI_PORT: i64 = 4040;

/// A pod as NetworkPolicy sees it: its namespace and labels.
#[derive(Clone, Debug)]
struct Pod {
    namespace: String,
    labels: BTreeMap<String, String>,
}

impl Pod {
    fn new(namespace: &str, labels: &[(&str, &str)]) -> Pod {
        Pod {
            namespace: namespace.into(),
            labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }
}

fn matches(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let object = selector.as_object().unwrap_or_else(|| panic!("selector is not an object: {selector}"));
    for key in object.keys() {
        assert!(key == "matchLabels" || key == "matchExpressions", "the evaluator does not know selector field {key}");
    }
    let by_labels = object.get("matchLabels").and_then(Value::as_object).is_none_or(|wanted| {
        wanted.iter().all(|(k, v)| labels.get(k).map(String::as_str) == Some(v.as_str().unwrap_or_default()))
    });
    let by_expressions = object.get("matchExpressions").and_then(Value::as_array).is_none_or(|expressions| {
        expressions.iter().all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> =
                e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            match e["operator"].as_str() {
                Some("Exists") => labels.contains_key(key),
                Some("DoesNotExist") => !labels.contains_key(key),
                Some("In") => labels.get(key).is_some_and(|v| values.contains(&v.as_str())),
                Some("NotIn") => labels.get(key).is_none_or(|v| !values.contains(&v.as_str())),
                other => panic!("the evaluator does not know operator {other:?}"),
            }
        })
    });
    by_labels && by_expressions
}

/// Whether a peer of a rule (in a policy of `policy_namespace`) names `pod`.
fn peer_names(peer: &Value, policy_namespace: &str, pod: &Pod) -> bool {
    assert!(peer.get("ipBlock").is_none() || peer.as_object().is_some_and(|o| o.len() == 1));
    if peer.get("ipBlock").is_some() {
        return false; // the pods of this test have no addresses inside declared CIDRs
    }
    let namespace_ok = match peer.get("namespaceSelector") {
        Some(selector) => {
            matches(selector, &BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), pod.namespace.clone())]))
        }
        None => pod.namespace == policy_namespace,
    };
    namespace_ok && peer.get("podSelector").is_none_or(|s| matches(s, &pod.labels))
}

fn port_open(ports: Option<&Value>, port: i64, protocol: &str) -> bool {
    ports.and_then(Value::as_array).is_none_or(|ports| {
        ports.iter().any(|p| {
            p["port"].as_i64() == Some(port) && p.get("protocol").and_then(Value::as_str).unwrap_or("TCP") == protocol
        })
    })
}

/// `Ingress` or `Egress` admits the connection at `pod`'s end.
fn admits(policies: &[&Value], pod: &Pod, other: &Pod, direction: &str, port: i64, protocol: &str) -> bool {
    let (rules_key, peers_key) = if direction == "Ingress" { ("ingress", "from") } else { ("egress", "to") };
    let selecting: Vec<&&Value> = policies
        .iter()
        .filter(|p| p["metadata"]["namespace"].as_str() == Some(pod.namespace.as_str()))
        .filter(|p| matches(&p["spec"]["podSelector"], &pod.labels))
        .filter(|p| {
            p["spec"]["policyTypes"].as_array().is_some_and(|t| t.iter().any(|t| t.as_str() == Some(direction)))
        })
        .collect();
    if selecting.is_empty() {
        return true; // not isolated in this direction
    }
    selecting.iter().any(|policy| {
        let namespace = policy["metadata"]["namespace"].as_str().unwrap_or_default();
        policy["spec"].get(rules_key).and_then(Value::as_array).into_iter().flatten().any(|rule| {
            let peers_ok = rule
                .get(peers_key)
                .and_then(Value::as_array)
                .is_none_or(|peers| peers.iter().any(|peer| peer_names(peer, namespace, other)));
            peers_ok && port_open(rule.get("ports"), port, protocol)
        })
    })
}

fn connects(policies: &[&Value], from: &Pod, to: &Pod, port: i64, protocol: &str) -> bool {
    admits(policies, from, to, "Egress", port, protocol) && admits(policies, to, from, "Ingress", port, protocol)
}

/// Each application's driver and executor reach each other on Spark's
/// ports, and neither reaches the other application's pods.
fn assert_apart(policies: &[&Value], mine: (&Pod, &Pod), theirs: (&Pod, &Pod), what: &str) {
    let ((driver, executor), (other_driver, other_executor)) = (mine, theirs);
    for port in [DRIVER_PORT, BLOCK_MANAGER_PORT] {
        assert!(connects(policies, executor, driver, port, "TCP"), "{what}: executor → its driver on {port}");
        assert!(connects(policies, driver, executor, port, "TCP"), "{what}: driver → its executor on {port}");
        assert!(connects(policies, other_executor, other_driver, port, "TCP"), "{what}: the other one works too");
        assert!(!connects(policies, other_executor, driver, port, "TCP"), "{what}: other executor → driver");
        assert!(!connects(policies, driver, other_executor, port, "TCP"), "{what}: driver → other executor");
        assert!(!connects(policies, executor, other_executor, port, "TCP"), "{what}: executor → other executor");
    }
}

fn job(name: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {{name: {name}, namespace: data-eng}}
spec:
  team: data-eng
  costCenter: cc-4410
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/main.py
  image: {{repository: registry.example.com/data-eng/job, tag: \"1.0.0\"}}
  driver: {{cores: 1, memory: 1g}}
  executor: {{cores: 1, memory: 1g, instances: 2}}
"
    )
}

fn rendered(name: &str, target: Target) -> Vec<RenderedObject> {
    rendered_attempt(name, target, 1)
}

fn rendered_attempt(name: &str, target: Target, attempt: u32) -> Vec<RenderedObject> {
    let catalog = Catalog::builtin().expect("catalog");
    let text = job(name);
    let doc = parse_single(&Source::new("job.yaml", text.as_str())).expect("parses");
    let resolved = load(ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("{d}"));
    let mut resolved = resolved;
    resolved.attempt = attempt;
    let sized = size_job(&resolved.job.spec);
    render::render(&RenderInput { job: &resolved, sized: &sized }, target)
}

/// The driver pod as rendered, and an executor as Spark labels it: the
/// application id, `spark-role: executor`, an executor id, and the
/// `spark.kubernetes.executor.label.*` properties of the rendered ConfigMap.
fn application_pods(objects: &[RenderedObject]) -> (Pod, Pod) {
    let driver = objects.iter().find(|o| o.kind == "Pod").expect("a driver pod");
    let labels = &driver.body["metadata"]["labels"];
    let driver_labels: BTreeMap<String, String> = labels
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let properties = objects
        .iter()
        .filter(|o| o.kind == "ConfigMap")
        .find_map(|o| o.body["data"]["spark.properties"].as_str())
        .expect("spark.properties");
    let mut executor_labels: BTreeMap<String, String> = properties
        .lines()
        .filter_map(|line| line.strip_prefix("spark.kubernetes.executor.label."))
        .filter_map(|rest| rest.split_once('='))
        .map(|(k, v)| (k.replace("\\:", ":"), v.to_owned()))
        .collect();
    executor_labels.insert("spark-app-selector".into(), driver_labels["spark-app-selector"].clone());
    executor_labels.insert("spark-role".into(), "executor".into());
    executor_labels.insert("spark-exec-id".into(), "1".into());
    let namespace = driver.namespace.clone().expect("namespace");
    (Pod { namespace: namespace.clone(), labels: driver_labels }, Pod { namespace, labels: executor_labels })
}

fn network_policies(objects: &[RenderedObject]) -> Vec<&Value> {
    objects.iter().filter(|o| o.kind == "NetworkPolicy").map(|o| &o.body).collect()
}

#[test]
fn applications_of_one_tenant_talk_only_to_themselves() {
    let tenant = render_tenant(&load_tenant(&Source::new("tenant.yaml", TENANT)).expect("tenant loads").tenant);
    let a = rendered("ingest", Target::Native);
    let b = rendered("curate", Target::Native);
    let (driver_a, executor_a) = application_pods(&a);
    let (driver_b, executor_b) = application_pods(&b);
    let mut policies = network_policies(&tenant);
    policies.extend(network_policies(&a));
    policies.extend(network_policies(&b));

    assert_apart(&policies, (&driver_a, &executor_a), (&driver_b, &executor_b), "two jobs");

    let dns = Pod::new("kube-system", &[("k8s-app", "kube-dns")]);
    assert!(connects(&policies, &executor_a, &dns, 53, "UDP"), "DNS");
    let platform = Pod::new("sparkplane-system", &[("app", "spark-history")]);
    assert!(connects(&policies, &platform, &driver_a, UI_PORT, "TCP"), "the UI from the platform namespace");
    assert!(!connects(&policies, &platform, &executor_a, DRIVER_PORT, "TCP"), "the platform cannot reach executors");
    let stranger = Pod::new("other-team", &[("app", "web")]);
    assert!(!connects(&policies, &stranger, &driver_a, DRIVER_PORT, "TCP"), "other namespaces are denied");
    let helper = Pod::new("data-eng", &[("app", "notebook")]);
    assert!(!connects(&policies, &helper, &executor_a, BLOCK_MANAGER_PORT, "TCP"), "a non-Spark pod of the tenant");

    // A second run of the same job (`submit --rerun`) is another application.
    let rerun = rendered_attempt("ingest", Target::Native, 2);
    let (rerun_driver, rerun_executor) = application_pods(&rerun);
    policies.extend(network_policies(&rerun));
    assert_apart(&policies, (&driver_a, &executor_a), (&rerun_driver, &rerun_executor), "two runs of one job");

    // The application's own policy is what lets its pods talk: without it the
    // tenant's default deny holds.
    let tenant_only = network_policies(&tenant);
    assert!(!connects(&tenant_only, &executor_a, &driver_a, DRIVER_PORT, "TCP"));
}

#[test]
fn the_peers_policy_alone_closes_ingress_and_leaves_egress_open() {
    let a = rendered("ingest", Target::Native);
    let (driver, executor) = application_pods(&a);
    let policies = network_policies(&a);
    // The peers policy and the door's (ADR 0095), both ingress only.
    let names: Vec<&str> = policies.iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].ends_with("-peers") && names[1].ends_with("-ui-door"), "{names:?}");
    for policy in &policies {
        assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
    }
    // In a namespace without a tenant: storage and DNS stay reachable…
    let s3 = Pod::new("storage", &[("app", "s3")]);
    assert!(connects(&policies, &driver, &s3, 443, "TCP"));
    assert!(connects(&policies, &executor, &driver, DRIVER_PORT, "TCP"));
    // …and nothing outside the application gets in.
    let stranger = Pod::new("data-eng", &[("app", "web")]);
    assert!(!connects(&policies, &stranger, &driver, DRIVER_PORT, "TCP"));
}

fn labels_of(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("labels are not a map: {value}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// A pod of role `role` with the labels the route gives it, plus the
/// `spark-role` label Spark adds.
fn spark_pod(namespace: &str, mut labels: BTreeMap<String, String>, role: &str) -> Pod {
    labels.insert("spark-role".into(), role.into());
    Pod { namespace: namespace.into(), labels }
}

/// The driver, an executor and (job route) the submitter, labelled as the
/// route's own objects say: the Kubeflow application's role labels, or the
/// job route's pod templates and submitter pod template.
fn route_pods(objects: &[RenderedObject], target: Target) -> (Pod, Pod, Option<Pod>) {
    if target == Target::Kubeflow {
        let app = objects.iter().find(|o| o.kind.ends_with("SparkApplication")).expect("application");
        let spec =
            if app.kind == "ScheduledSparkApplication" { &app.body["spec"]["template"] } else { &app.body["spec"] };
        return (
            spark_pod("data-eng", labels_of(&spec["driver"]["labels"]), "driver"),
            spark_pod("data-eng", labels_of(&spec["executor"]["labels"]), "executor"),
            None,
        );
    }
    let templates = objects.iter().find(|o| o.kind == "ConfigMap").expect("templates ConfigMap");
    let template_labels = |key: &str| {
        let text = templates.body["data"][key].as_str().unwrap_or_else(|| panic!("no {key}"));
        let doc = parse_single(&Source::new(key, text)).expect("template parses").to_json();
        labels_of(&doc["metadata"]["labels"])
    };
    let workload = objects.iter().find(|o| o.kind == "Job" || o.kind == "CronJob").expect("submitter workload");
    let pod_template =
        if workload.kind == "CronJob" { &workload.body["spec"]["jobTemplate"]["spec"] } else { &workload.body["spec"] };
    let submitter =
        Pod { namespace: "data-eng".into(), labels: labels_of(&pod_template["template"]["metadata"]["labels"]) };
    (
        spark_pod("data-eng", template_labels("driver-podspec-configmap-key"), "driver"),
        spark_pod("data-eng", template_labels("executor-podspec-configmap-key"), "executor"),
        Some(submitter),
    )
}

#[test]
fn job_and_kubeflow_routes_select_every_run_of_the_job_but_not_the_submitter() {
    for target in [Target::Job, Target::Kubeflow] {
        let objects = rendered("ingest", target);
        let (driver, executor, submitter) = route_pods(&objects, target);
        let others = rendered("curate", target);
        let (other_driver, other_executor, _) = route_pods(&others, target);
        let mut policies = network_policies(&objects);
        let names: Vec<&str> = policies.iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
        assert_eq!(names, ["ingest-spark-peers", "ingest-spark-ui-door"], "{target:?}");
        policies.extend(network_policies(&others));
        assert_apart(&policies, (&driver, &executor), (&other_driver, &other_executor), &format!("{target:?}"));
        if let Some(submitter) = submitter {
            assert_eq!(submitter.labels.get("sparkplane.dev/job").map(String::as_str), Some("ingest"));
            assert!(!connects(&policies, &submitter, &executor, BLOCK_MANAGER_PORT, "TCP"), "{target:?}");
        }
    }
}

/// The door (the chart's History Server, which forwards a running
/// application's UI; ADR 0095) reaches each route's driver on the UI port
/// and on nothing else, and only a pod that is in the door's namespace and
/// carries the door's label is the door.
#[test]
fn the_door_reaches_the_drivers_ui_and_nothing_else_on_every_route() {
    for target in Target::ALL {
        let objects = rendered("ingest", target);
        let (driver, executor) = match target {
            Target::Native => application_pods(&objects),
            _ => {
                let (driver, executor, _) = route_pods(&objects, target);
                (driver, executor)
            }
        };
        let policies = network_policies(&objects);
        let door = Pod::new(
            "sparkplane-system",
            &[("sparkplane.dev/door", "true"), ("app.kubernetes.io/component", "history")],
        );
        assert!(connects(&policies, &door, &driver, UI_PORT, "TCP"), "{target:?}: the door → the driver's UI");
        for port in [DRIVER_PORT, BLOCK_MANAGER_PORT] {
            assert!(!connects(&policies, &door, &driver, port, "TCP"), "{target:?}: the door → the driver on {port}");
        }
        for port in [UI_PORT, DRIVER_PORT, BLOCK_MANAGER_PORT] {
            assert!(
                !connects(&policies, &door, &executor, port, "TCP"),
                "{target:?}: the door → an executor on {port}"
            );
        }
        // One peer holds both selectors: the namespace without the label, or the label in another
        // namespace (another team's, or the application's own), is not the door.
        let impostors = [
            Pod::new("sparkplane-system", &[("app.kubernetes.io/component", "exporter")]),
            Pod::new("other-team", &[("sparkplane.dev/door", "true")]),
            Pod::new("data-eng", &[("sparkplane.dev/door", "true")]),
        ];
        for impostor in &impostors {
            assert!(!connects(&policies, impostor, &driver, UI_PORT, "TCP"), "{target:?}: {impostor:?}");
        }
    }
}
