//! What the API server and Pod Security admission would say about rendered
//! objects, checked offline: names, labels, quantities, required fields,
//! the "restricted" profile, and that no secret value is written anywhere.
//!
//! No cluster runs where sparkplane is built, so every renderer's output is
//! held to these checks in tests. Pure: JSON in, problems out.

use serde_json::Value;

use super::common::RenderedObject;
use crate::kube_quantity::KubeQuantity;
use crate::names::{is_dns1123_label, is_dns1123_subdomain, is_label_key, is_label_value};
use crate::pod_security::RESTRICTED_VOLUME_TYPES;
use crate::secrets::{is_inline_property, looks_secret};

fn is_dns1035_label(name: &str) -> bool {
    is_dns1123_label(name) && name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Every problem with one object, each as `Kind/name: where: what`.
pub fn check_object(object: &RenderedObject) -> Vec<String> {
    let mut problems = Vec::new();
    let id = format!("{}/{}", object.kind, object.name);
    let mut problem = |text: String| problems.push(format!("{id}: {text}"));
    let body = &object.body;
    if body["apiVersion"].as_str().is_none_or(str::is_empty) || body["kind"].as_str().is_none_or(str::is_empty) {
        problem("apiVersion and kind are required".into());
    }
    let name = &object.name;
    let name_ok = match object.kind.as_str() {
        "Service" => is_dns1035_label(name),
        "CronJob" => is_dns1123_subdomain(name) && name.len() <= 52,
        "Pod" | "Job" | "Namespace" => is_dns1123_label(name),
        _ => is_dns1123_subdomain(name),
    };
    if !name_ok {
        problem(format!("metadata.name `{name}` is not a valid {} name", object.kind));
    }
    if let Some(ns) = &object.namespace
        && !is_dns1123_label(ns)
    {
        problem(format!("metadata.namespace `{ns}` is not a valid namespace"));
    }
    check_labels(&body["metadata"], "metadata", &mut problem);
    walk(body, "", &mut |path, value| check_node(path, value, &mut problem));
    problems
}

/// Checks every object; returns all problems.
pub fn check_objects(objects: &[RenderedObject]) -> Vec<String> {
    objects.iter().flat_map(check_object).collect()
}

fn check_labels(meta: &Value, at: &str, problem: &mut impl FnMut(String)) {
    if let Some(labels) = meta["labels"].as_object() {
        for (k, v) in labels {
            let value = v.as_str().unwrap_or_default();
            if !is_label_key(k) || !is_label_value(value) {
                problem(format!("{at}.labels: `{k}: {value}` is not a valid label"));
            }
        }
    }
    if let Some(annotations) = meta["annotations"].as_object() {
        for k in annotations.keys() {
            if !is_label_key(k) {
                problem(format!("{at}.annotations: `{k}` is not a valid annotation key"));
            }
        }
    }
}

fn walk(value: &Value, path: &str, visit: &mut impl FnMut(&str, &Value)) {
    visit(path, value);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk(v, &format!("{path}.{k}"), visit);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}[{i}]"), visit);
            }
        }
        Value::String(text) if path.ends_with("podspec-configmap-key") => {
            // An executor pod template carried as YAML: check it as a pod.
            if let Ok(node) =
                sparkplane_documents::yaml::parse_single(&sparkplane_documents::Source::new("template", text.as_str()))
            {
                walk(&node.to_json(), &format!("{path}(template)"), visit);
            }
        }
        _ => {}
    }
}

fn check_node(path: &str, value: &Value, problem: &mut impl FnMut(String)) {
    let Some(map) = value.as_object() else { return };
    if map.contains_key("containers") && map["containers"].is_array() {
        check_pod_spec(path, value, problem);
    }
    if let Some(resources) = map.get("resources").and_then(Value::as_object) {
        for kind in ["requests", "limits"] {
            for (name, q) in resources.get(kind).and_then(Value::as_object).into_iter().flatten() {
                let text = q.as_str().map(str::to_owned).unwrap_or_else(|| q.to_string());
                if text.parse::<KubeQuantity>().is_err() {
                    problem(format!("{path}.resources.{kind}.{name}: `{text}` is not a Kubernetes quantity"));
                }
            }
        }
    }
    // Kubeflow's SparkApplication carries security per role.
    for role in ["driver", "executor"] {
        if (path.ends_with(".spec") || path.ends_with(".template"))
            && let Some(pod) = map.get(role).and_then(Value::as_object)
            && (map.contains_key("sparkVersion") || map.contains_key("mainApplicationFile"))
        {
            check_security(
                &format!("{path}.{role}"),
                pod.get("podSecurityContext"),
                pod.get("securityContext"),
                problem,
            );
        }
    }
    if let Some(env) = map.get("env").and_then(Value::as_array) {
        for var in env {
            let name = var["name"].as_str().unwrap_or_default();
            if var.get("value").and_then(Value::as_str).is_some_and(|v| !v.is_empty()) && looks_secret(name) {
                problem(format!("{path}.env: `{name}` carries a credential as a plain value"));
            }
        }
    }
    if let Some(props) = map.get("spark.properties").and_then(Value::as_str) {
        for line in props.lines() {
            if let Some((key, value)) = line.split_once('=')
                && is_inline_property(key, value)
            {
                problem(format!("{path}: spark.properties holds `{key}` in plain text"));
            }
        }
    }
}

fn check_security(path: &str, pod: Option<&Value>, container: Option<&Value>, problem: &mut impl FnMut(String)) {
    let pod = pod.cloned().unwrap_or(Value::Null);
    let container = container.cloned().unwrap_or(Value::Null);
    let non_root = pod["runAsNonRoot"] == Value::Bool(true) || container["runAsNonRoot"] == Value::Bool(true);
    if !non_root {
        problem(format!("{path}: runAsNonRoot must be true (restricted)"));
    }
    let seccomp =
        |v: &Value| v["seccompProfile"]["type"].as_str().is_some_and(|t| t == "RuntimeDefault" || t == "Localhost");
    if !seccomp(&pod) && !seccomp(&container) {
        problem(format!("{path}: seccompProfile must be RuntimeDefault (restricted)"));
    }
    check_container_security(path, &container, problem);
}

fn check_container_security(path: &str, csc: &Value, problem: &mut impl FnMut(String)) {
    if csc["allowPrivilegeEscalation"] != Value::Bool(false) {
        problem(format!("{path}: allowPrivilegeEscalation must be false (restricted)"));
    }
    if csc["privileged"] == Value::Bool(true) {
        problem(format!("{path}: privileged containers are not allowed (restricted)"));
    }
    let drops_all = csc["capabilities"]["drop"].as_array().is_some_and(|d| d.iter().any(|c| c == "ALL"));
    if !drops_all {
        problem(format!("{path}: capabilities must drop ALL (restricted)"));
    }
    if let Some(add) = csc["capabilities"]["add"].as_array()
        && add.iter().any(|c| c != "NET_BIND_SERVICE")
    {
        problem(format!("{path}: only NET_BIND_SERVICE may be added (restricted)"));
    }
    if csc["runAsUser"] == 0 {
        problem(format!("{path}: runAsUser 0 is root (restricted)"));
    }
}

fn check_pod_spec(path: &str, pod: &Value, problem: &mut impl FnMut(String)) {
    let psc = &pod["securityContext"];
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod[host] == Value::Bool(true) {
            problem(format!("{path}.{host}: host namespaces are not allowed (restricted)"));
        }
    }
    if pod["enableServiceLinks"] != Value::Bool(false) {
        problem(format!("{path}.enableServiceLinks must be false"));
    }
    if psc["runAsUser"] == 0 {
        problem(format!("{path}.securityContext.runAsUser 0 is root (restricted)"));
    }
    let pod_seccomp = psc["seccompProfile"]["type"].as_str().is_some_and(|t| t == "RuntimeDefault" || t == "Localhost");
    for list in ["containers", "initContainers"] {
        for (i, c) in pod[list].as_array().into_iter().flatten().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            if c["name"].as_str().is_none_or(str::is_empty) {
                problem(format!("{at}.name is required"));
            }
            let csc = &c["securityContext"];
            let non_root = psc["runAsNonRoot"] == Value::Bool(true) || csc["runAsNonRoot"] == Value::Bool(true);
            if !non_root {
                problem(format!("{at}: runAsNonRoot must be true (restricted)"));
            }
            let seccomp =
                csc["seccompProfile"]["type"].as_str().is_some_and(|t| t == "RuntimeDefault" || t == "Localhost");
            if !pod_seccomp && !seccomp {
                problem(format!("{at}: seccompProfile must be RuntimeDefault (restricted)"));
            }
            check_container_security(&at, csc, problem);
        }
    }
    for (i, volume) in pod["volumes"].as_array().into_iter().flatten().enumerate() {
        let kinds: Vec<&String> =
            volume.as_object().into_iter().flat_map(|m| m.keys()).filter(|k| *k != "name").collect();
        for kind in kinds {
            if !RESTRICTED_VOLUME_TYPES.contains(&kind.as_str()) {
                problem(format!("{path}.volumes[{i}]: `{kind}` volumes are not allowed (restricted)"));
            }
        }
    }
}
