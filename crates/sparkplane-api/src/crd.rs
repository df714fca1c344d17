//! The SparkJob CustomResourceDefinition, as `sparkplane crd` prints it and
//! the platform chart installs it.
//!
//! Owns: the CRD object. The schema is the SparkJob types' own, with one
//! change: inside the fields that embed Kubernetes' own types (the pod
//! templates, affinity, tolerations, volumes and volume mounts) Kubernetes'
//! descriptions of every nested field are left out; the field itself keeps
//! its description, and every type, format, required list and enumeration
//! stays, so the API server validates exactly as before. Those descriptions
//! were 80 % of the CRD (870 KB as JSON), which put `kubectl apply` past the
//! API server's 256 KiB annotation limit and a Helm release near its 1 MiB
//! Secret (ADR 0027). `kubectl explain` documents those nested fields where
//! Kubernetes' own types are documented: `kubectl explain pod.spec`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use crate::SparkJob;

/// Fields whose schema is one of Kubernetes' own types.
pub const KUBERNETES_TYPED_FIELDS: &[&str] = &["affinity", "podTemplate", "tolerations", "volumes", "volumeMounts"];

/// The SparkJob CRD.
pub fn crd() -> CustomResourceDefinition {
    let full = SparkJob::crd();
    let Ok(mut value) = serde_json::to_value(&full) else { return full };
    trim(&mut value);
    serde_json::from_value(value).unwrap_or(full)
}

/// Walks schemas; below a Kubernetes-typed property, drops descriptions.
fn trim(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "properties"
                    && let Value::Object(properties) = child
                {
                    for (name, property) in properties.iter_mut() {
                        if KUBERNETES_TYPED_FIELDS.contains(&name.as_str())
                            && let Value::Object(fields) = property
                        {
                            for (field, nested) in fields.iter_mut() {
                                if field != "description" {
                                    drop_descriptions(nested);
                                }
                            }
                        } else {
                            trim(property);
                        }
                    }
                } else {
                    trim(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(trim),
        _ => {}
    }
}

fn drop_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("description");
            map.values_mut().for_each(drop_descriptions);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_descriptions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_properties(crd: &Value) -> &Value {
        &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    }

    /// Everything but descriptions, to compare the two schemas' meaning.
    fn without_descriptions(mut value: Value) -> Value {
        drop_descriptions(&mut value);
        value
    }

    #[test]
    fn only_kubernetes_descriptions_go_and_the_schema_validates_as_before() {
        let full = serde_json::to_value(SparkJob::crd()).expect("JSON");
        let trimmed = serde_json::to_value(crd()).expect("JSON");
        assert_eq!(without_descriptions(full.clone()), without_descriptions(trimmed.clone()));
        let size = trimmed.to_string().len();
        assert!(size < 256 * 1024, "{size} bytes: kubectl's client-side apply keeps a copy in a 256 KiB annotation");
        assert!(full.to_string().len() > 4 * size, "the descriptions were most of it");
        let spec = spec_properties(&trimmed);
        let template = &spec["driver"]["properties"]["podTemplate"];
        assert!(template["description"].is_string(), "the field keeps its own description");
        assert!(template["properties"]["spec"].get("description").is_none());
        assert!(template["properties"]["spec"]["properties"]["containers"]["items"]["required"].is_array());
        assert!(spec["executor"]["properties"]["memory"]["description"].is_string(), "sparkplane's own stay");
        assert!(spec["restartPolicy"]["description"].is_string());
    }
}
