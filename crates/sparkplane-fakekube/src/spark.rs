//! A stand-in for Spark's driver on Kubernetes: it reads the driver's
//! `spark.properties` from the ConfigMap mounted into the driver pod, as
//! the real driver does, and makes the executor pods Spark's
//! `ExecutorPodsAllocator` would — named `<podNamePrefix>-exec-<n>`,
//! labelled `spark-app-selector`, `spark-role=executor`, `spark-exec-id`
//! plus `spark.kubernetes.executor.label.*`, owned by the driver pod, with
//! memory and CPU request as the one sizing model
//! (`sparkplane_core::sizing::size_properties`) reads Spark's properties.
//!
//! Owns: what the stand-in reads and the executor pods it makes. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Reads Java properties text (`key=value`, `key: value`, `#`/`!`
/// comments, backslash escapes); later keys win.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let mut key = String::new();
        let mut chars = line.chars();
        let mut escaped = false;
        for c in chars.by_ref() {
            if escaped {
                key.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '=' || c == ':' {
                break;
            } else {
                key.push(c);
            }
        }
        let mut value = String::new();
        let mut escaped = false;
        for c in chars.as_str().trim_start().chars() {
            if escaped {
                value.push(match c {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else {
                value.push(c);
            }
        }
        out.insert(key.trim_end().to_owned(), value);
    }
    out
}

/// The key of the executors' pod template in the ConfigMap spark-submit
/// mounts into the driver (`sparkplane_core::render::native::POD_TEMPLATE_KEY`).
pub const POD_TEMPLATE_KEY: &str = "podspec-configmap-key";

/// A pod template file (YAML) as a JSON pod; None when it does not parse.
pub fn read_template(text: &str) -> Option<Value> {
    crate::parse_body(text).filter(Value::is_object)
}

/// An executor pod with its pod template applied as Spark applies one:
/// the template's labels and annotations, node selector and tolerations
/// join what Spark sets (Spark's own keys win).
pub fn with_template(executor: &mut Value, template: &Value) {
    for part in ["labels", "annotations"] {
        if let Some(theirs) = template["metadata"][part].as_object() {
            let mut merged = theirs.clone();
            if let Some(ours) = executor["metadata"][part].as_object() {
                merged.extend(ours.clone());
            }
            executor["metadata"][part] = Value::Object(merged);
        }
    }
    if let Some(theirs) = template["spec"]["nodeSelector"].as_object() {
        let mut merged = theirs.clone();
        if let Some(ours) = executor["spec"]["nodeSelector"].as_object() {
            merged.extend(ours.clone());
        }
        executor["spec"]["nodeSelector"] = Value::Object(merged);
    }
    if let Some(tolerations) = template["spec"]["tolerations"].as_array() {
        executor["spec"]["tolerations"] = Value::Array(tolerations.clone());
    }
    if let Some(scheduler) = template["spec"]["schedulerName"].as_str() {
        executor["spec"]["schedulerName"] = json!(scheduler);
    }
}

/// The Spark properties a client-mode driver (a Spark Connect server) is
/// given on its spark-submit command line: each `--conf KEY=VALUE` (or
/// `--conf=KEY=VALUE`) of its first container's command and args, the last
/// one of a key winning as spark-submit takes it.
pub fn command_line_properties(pod: &Value) -> BTreeMap<String, String> {
    let container = &pod["spec"]["containers"][0];
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .flat_map(|part| container[*part].as_array().into_iter().flatten().filter_map(Value::as_str))
        .collect();
    let mut props = BTreeMap::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let pair = match word.strip_prefix("--conf=") {
            Some(pair) => Some(pair),
            None if word == "--conf" => words.next(),
            None => None,
        };
        if let Some((key, value)) = pair.and_then(|p| p.split_once('=')) {
            props.insert(key.to_owned(), value.to_owned());
        }
    }
    props
}

/// The ConfigMap names mounted into a pod.
pub fn mounted_config_maps(pod: &Value) -> Vec<String> {
    pod["spec"]["volumes"]
        .as_array()
        .map(|vs| vs.iter().filter_map(|v| v["configMap"]["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// How many executors the driver wants: the initial count, or under
/// dynamic allocation with a `demand`, that many within
/// `[minExecutors, maxExecutors]` — Spark's `ExecutorAllocationManager`
/// never targets more than `maxExecutors`.
pub fn wanted_executors(props: &BTreeMap<String, String>, demand: Option<u32>) -> u32 {
    let sized = sparkplane_core::sizing::size_properties(props).sized;
    match demand {
        Some(n) if sized.executors.dynamic => {
            n.clamp(sized.executors.min, sized.executors.max.max(sized.executors.min))
        }
        _ => sized.executors.initial,
    }
}

/// The executor pods a driver pod creates, given its properties and what
/// dynamic allocation asks for ([`wanted_executors`]).
pub fn executor_pods(driver: &Value, props: &BTreeMap<String, String>, demand: Option<u32>) -> Vec<Value> {
    let meta = &driver["metadata"];
    let driver_name = meta["name"].as_str().unwrap_or_default();
    let prefix = props
        .get("spark.kubernetes.executor.podNamePrefix")
        .cloned()
        .unwrap_or_else(|| driver_name.strip_suffix("-driver").unwrap_or(driver_name).to_owned());
    let app_id = meta["labels"]["spark-app-selector"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| props.get("spark.app.id").cloned())
        .unwrap_or_else(|| format!("spark-{prefix}"));
    let image = props
        .get("spark.kubernetes.executor.container.image")
        .or_else(|| props.get("spark.kubernetes.container.image"))
        .cloned()
        .or_else(|| driver["spec"]["containers"][0]["image"].as_str().map(str::to_owned))
        .unwrap_or_default();
    // Sized as Spark sizes them, by the one sizing model (sparkplane-core).
    let sized = sparkplane_core::sizing::size_properties(props).sized;
    let memory = sized.executor.pod_memory.mib();
    let cpu = sized.executor.cpu_request.to_kubernetes();
    let count = wanted_executors(props, demand);
    let mut selector = serde_json::Map::new();
    for (key, value) in props {
        let node_key = key
            .strip_prefix("spark.kubernetes.node.selector.")
            .or_else(|| key.strip_prefix("spark.kubernetes.executor.node.selector."));
        if let Some(k) = node_key {
            selector.insert(k.to_owned(), json!(value));
        }
    }
    (1..=count)
        .map(|id| {
            let mut labels = serde_json::Map::new();
            for (key, value) in props {
                if let Some(k) = key.strip_prefix("spark.kubernetes.executor.label.") {
                    labels.insert(k.to_owned(), json!(value));
                }
            }
            labels.insert("spark-app-selector".into(), json!(app_id));
            labels.insert("spark-role".into(), json!("executor"));
            labels.insert("spark-exec-id".into(), json!(id.to_string()));
            labels.insert("spark-exec-resourceprofile-id".into(), json!("0"));
            if let Some(name) = meta["labels"]["spark-app-name"].as_str() {
                labels.insert("spark-app-name".into(), json!(name));
            }
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("{prefix}-exec-{id}"),
                    "namespace": meta["namespace"],
                    "labels": labels,
                    "ownerReferences": [{
                        "apiVersion": "v1", "kind": "Pod", "name": driver_name, "uid": meta["uid"],
                        "controller": true,
                    }],
                },
                "spec": {
                    "restartPolicy": "Never",
                    "hostname": format!("{prefix}-exec-{id}"),
                    "nodeSelector": selector,
                    "serviceAccountName": driver["spec"]["serviceAccountName"],
                    "securityContext": driver["spec"]["securityContext"],
                    "containers": [{
                        "name": "spark-kubernetes-executor",
                        "image": image,
                        "args": ["executor"],
                        "resources": {
                            "requests": {"cpu": cpu, "memory": format!("{memory}Mi")},
                            "limits": {"memory": format!("{memory}Mi")},
                        },
                    }],
                },
            })
        })
        .collect()
}

/// The executor id Spark 4.2's Deployment allocator builds its pod template
/// with; each executor asks the driver for its real id when it starts.
pub const TEMPLATE_EXECUTOR_ID: &str = "EXECID";

/// The property that is required with the Deployment allocator under dynamic allocation.
pub const DELETION_COST_PROPERTY: &str = "spark.kubernetes.executor.podDeletionCost";

/// Whether the driver's properties pick Spark 4.2's `DeploymentPodsAllocator`
/// (read as sparkplane's render reads it, `sparkplane_core`'s one rule).
pub fn uses_deployment(props: &BTreeMap<String, String>) -> bool {
    sparkplane_core::render::common::uses_deployment_allocator(props)
}

/// Why Spark 4.2's driver refuses to start with the Deployment allocator:
/// under dynamic allocation it needs [`DELETION_COST_PROPERTY`] set.
pub fn deployment_refused(props: &BTreeMap<String, String>) -> Option<String> {
    let dynamic = sparkplane_core::sizing::size_properties(props).sized.executors.dynamic;
    (dynamic && !props.contains_key(DELETION_COST_PROPERTY)).then(|| {
        format!(
            "org.apache.spark.SparkException: Dynamic allocation with the deployment pods allocator requires '{DELETION_COST_PROPERTY}' to be configured."
        )
    })
}

/// The Deployment Spark 4.2's `DeploymentPodsAllocator` creates for the
/// default resource profile: named `spark-d-<app id>-0`, in the driver's
/// namespace, `spec.replicas` the executors wanted ([`wanted_executors`]),
/// selecting `spark-app-selector`, `spark-role=executor` and
/// `spark-exec-resourceprofile-id=0`, its template the executor pod Spark
/// builds for executor id [`TEMPLATE_EXECUTOR_ID`] (with
/// `controller.kubernetes.io/pod-deletion-cost: "0"` unless the template has
/// one), and the driver pod its only owner (`controller: true`). The
/// Deployment itself carries no labels, as Spark sets none.
pub fn executor_deployment(driver: &Value, props: &BTreeMap<String, String>, demand: Option<u32>) -> Option<Value> {
    let mut one = props.clone();
    one.insert("spark.executor.instances".into(), "1".into());
    one.remove("spark.dynamicAllocation.enabled");
    let mut pod = executor_pods(driver, &one, None).into_iter().next()?;
    let labels = &mut pod["metadata"]["labels"];
    labels["spark-exec-id"] = json!(TEMPLATE_EXECUTOR_ID);
    let app_id = labels["spark-app-selector"].as_str().unwrap_or_default().to_owned();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let template_name = format!("{}-exec-{TEMPLATE_EXECUTOR_ID}", name.rsplit_once("-exec-").map_or(name, |(p, _)| p));
    pod["metadata"]["name"] = json!(template_name);
    pod["spec"]["hostname"] = json!(template_name);
    let owner = pod["metadata"]["ownerReferences"].take();
    if let Some(meta) = pod["metadata"].as_object_mut() {
        meta.remove("ownerReferences");
        meta.remove("namespace");
    }
    if pod["metadata"]["annotations"][crate::deployment::DELETION_COST].is_null() {
        pod["metadata"]["annotations"][crate::deployment::DELETION_COST] = json!("0");
    }
    Some(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": format!("spark-d-{app_id}-0"),
            "namespace": driver["metadata"]["namespace"],
            "ownerReferences": owner,
        },
        "spec": {
            "replicas": wanted_executors(props, demand),
            "selector": {"matchLabels": {
                "spark-app-selector": app_id, "spark-role": "executor", "spark-exec-resourceprofile-id": "0",
            }},
            "template": {"metadata": pod["metadata"], "spec": pod["spec"]},
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executor_pod_template_adds_its_placement_and_annotations() {
        let template = read_template(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations: {scheduling.k8s.io/group-name: etl-pg}\n  labels: {spark-role: wrong, team: a}\nspec:\n  nodeSelector: {pool: spot}\n  tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]\n  schedulerName: volcano\n",
        )
        .expect("parses");
        let mut executor =
            json!({"metadata": {"labels": {"spark-role": "executor"}}, "spec": {"nodeSelector": {"disk": "ssd"}}});
        with_template(&mut executor, &template);
        assert_eq!(executor["metadata"]["labels"], json!({"spark-role": "executor", "team": "a"}));
        assert_eq!(executor["metadata"]["annotations"]["scheduling.k8s.io/group-name"], "etl-pg");
        assert_eq!(executor["spec"]["nodeSelector"], json!({"disk": "ssd", "pool": "spot"}));
        assert_eq!(executor["spec"]["tolerations"][0]["key"], "spot");
        assert_eq!(executor["spec"]["schedulerName"], "volcano");
        assert!(read_template("[unclosed").is_none());
    }

    #[test]
    fn the_deployment_allocator_makes_one_deployment_owned_by_the_driver() {
        let driver = json!({
            "metadata": {"name": "etl-1-driver", "namespace": "data", "uid": "u-1",
                         "labels": {"spark-app-selector": "spark-abc", "spark-app-name": "etl"}},
            "spec": {"containers": [{"image": "img:1"}], "serviceAccountName": "spark"},
        });
        let props = parse_properties(
            "spark.executor.instances=3\nspark.kubernetes.allocation.pods.allocator=deployment\nspark.kubernetes.executor.label.sparkplane.dev/attempt=1\nspark.kubernetes.executor.podNamePrefix=etl-1\n",
        );
        assert!(uses_deployment(&props));
        assert!(!uses_deployment(&parse_properties("spark.kubernetes.allocation.pods.allocator=statefulset\n")));
        let d = executor_deployment(&driver, &props, None).expect("a Deployment");
        assert_eq!(d["metadata"]["name"], "spark-d-spark-abc-0");
        assert_eq!(d["metadata"]["namespace"], "data");
        assert!(d["metadata"]["labels"].is_null(), "Spark labels the pods, not the Deployment");
        assert_eq!(
            d["metadata"]["ownerReferences"],
            json!([{"apiVersion": "v1", "kind": "Pod", "name": "etl-1-driver", "uid": "u-1", "controller": true}])
        );
        assert_eq!(d["spec"]["replicas"], 3);
        assert_eq!(
            d["spec"]["selector"]["matchLabels"],
            json!({"spark-app-selector": "spark-abc", "spark-role": "executor", "spark-exec-resourceprofile-id": "0"})
        );
        let template = &d["spec"]["template"];
        assert_eq!(template["metadata"]["name"], "etl-1-exec-EXECID");
        assert_eq!(template["metadata"]["labels"]["spark-exec-id"], "EXECID");
        assert_eq!(template["metadata"]["labels"]["sparkplane.dev/attempt"], "1");
        assert_eq!(template["metadata"]["annotations"]["controller.kubernetes.io/pod-deletion-cost"], "0");
        assert!(template["metadata"]["ownerReferences"].is_null());
        assert_eq!(template["spec"]["containers"][0]["image"], "img:1");
        // Under dynamic allocation, Spark 4.2 wants the deletion cost set, and targets the demand.
        let mut dynamic = props.clone();
        dynamic.insert("spark.dynamicAllocation.enabled".into(), "true".into());
        dynamic.insert("spark.dynamicAllocation.maxExecutors".into(), "4".into());
        assert_eq!(
            deployment_refused(&dynamic).as_deref(),
            Some(
                "org.apache.spark.SparkException: Dynamic allocation with the deployment pods allocator requires 'spark.kubernetes.executor.podDeletionCost' to be configured."
            )
        );
        dynamic.insert(DELETION_COST_PROPERTY.into(), "5".into());
        assert_eq!(deployment_refused(&dynamic), None);
        assert_eq!(deployment_refused(&props), None);
        assert_eq!(executor_deployment(&driver, &dynamic, Some(9)).expect("d")["spec"]["replicas"], 4);
    }

    #[test]
    fn properties_read_as_java_writes_them() {
        let props = parse_properties(
            "#Spark configuration\nspark.app.name=etl\nspark.kubernetes.driver.label.a\\:b = c\n! note\nspark.x: y\\nz\n",
        );
        assert_eq!(props.get("spark.app.name").map(String::as_str), Some("etl"));
        assert_eq!(props.get("spark.kubernetes.driver.label.a:b").map(String::as_str), Some("c"));
        assert_eq!(props.get("spark.x").map(String::as_str), Some("y\nz"));
        assert_eq!(props.len(), 3);
    }

    #[test]
    fn a_client_mode_driver_is_read_from_its_command_line() {
        let driver = json!({"spec": {"containers": [{"args": [
            "--master", "k8s://https://kubernetes.default.svc:443", "--deploy-mode", "client",
            "--conf", "spark.executor.instances=2", "--conf=spark.executor.memory=1g",
            "--conf", "spark.executor.instances=3", "--conf", "not-a-pair", "--class", "X",
        ]}]}});
        let props = command_line_properties(&driver);
        assert_eq!(
            props,
            BTreeMap::from([
                ("spark.executor.instances".to_owned(), "3".to_owned()),
                ("spark.executor.memory".to_owned(), "1g".to_owned()),
            ])
        );
        assert!(command_line_properties(&json!({"spec": {}})).is_empty());
    }

    #[test]
    fn executors_follow_the_driver_conf() {
        let driver = json!({
            "metadata": {"name": "etl-1-driver", "namespace": "data", "uid": "u-1",
                         "labels": {"spark-app-selector": "spark-abc", "spark-app-name": "etl"}},
            "spec": {"containers": [{"image": "img:1"}], "serviceAccountName": "spark"},
        });
        let props = parse_properties(
            "spark.executor.instances=2\nspark.executor.memory=2g\nspark.executor.memoryOverhead=512m\nspark.kubernetes.executor.request.cores=500m\nspark.kubernetes.executor.label.sparkplane.dev/attempt=1\nspark.kubernetes.executor.podNamePrefix=etl-1\nspark.kubernetes.node.selector.pool=spark\n",
        );
        let pods = executor_pods(&driver, &props, None);
        assert_eq!(pods.len(), 2);
        let e = &pods[1];
        assert_eq!(e["metadata"]["name"], "etl-1-exec-2");
        assert_eq!(e["metadata"]["labels"]["spark-role"], "executor");
        assert_eq!(e["metadata"]["labels"]["spark-exec-id"], "2");
        assert_eq!(e["metadata"]["labels"]["spark-app-selector"], "spark-abc");
        assert_eq!(e["metadata"]["labels"]["sparkplane.dev/attempt"], "1");
        assert_eq!(e["metadata"]["ownerReferences"][0]["uid"], "u-1");
        assert_eq!(e["spec"]["containers"][0]["resources"]["limits"]["memory"], "2560Mi");
        assert_eq!(e["spec"]["containers"][0]["resources"]["requests"]["cpu"], "500m");
        assert_eq!(e["spec"]["containers"][0]["image"], "img:1");
        assert_eq!(e["spec"]["nodeSelector"]["pool"], "spark");
        // Without an overhead, Spark adds 10 % of the heap, at least 384 MiB.
        let plain =
            executor_pods(&driver, &parse_properties("spark.executor.instances=1\nspark.executor.memory=8g\n"), None);
        assert_eq!(plain[0]["spec"]["containers"][0]["resources"]["limits"]["memory"], "9011Mi");
        let dynamic =
            parse_properties("spark.dynamicAllocation.enabled=true\nspark.dynamicAllocation.minExecutors=3\n");
        assert_eq!(executor_pods(&driver, &dynamic, None).len(), 3, "the initial count under dynamic allocation");
        // Asked for more than its maximum, Spark stays at the maximum.
        let capped = parse_properties(
            "spark.dynamicAllocation.enabled=true\nspark.dynamicAllocation.minExecutors=1\nspark.dynamicAllocation.maxExecutors=3\n",
        );
        assert_eq!(executor_pods(&driver, &capped, Some(50)).len(), 3);
        assert_eq!(executor_pods(&driver, &capped, Some(2)).len(), 2);
        assert_eq!(executor_pods(&driver, &capped, Some(0)).len(), 1, "never below the minimum");
        // Without dynamic allocation the demand changes nothing.
        assert_eq!(executor_pods(&driver, &parse_properties("spark.executor.instances=2\n"), Some(50)).len(), 2);
    }
}
