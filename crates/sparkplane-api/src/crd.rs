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

/// Fields that take a string or an object (`sql: "amount >= 0"` or `sql:
/// {predicate: …}`). kube's structural rewrite of the untagged enum keeps
/// only the object form (`type: object`), so a real API server would refuse
/// the string form; their schema keeps what is sent instead
/// (`x-kubernetes-preserve-unknown-fields`, the only structural way to take
/// either), and the CLI and operator check the value when they read it.
pub const STRING_OR_OBJECT_FIELDS: &[&str] = &["sql"];

/// The SparkJob CRD.
pub fn crd() -> CustomResourceDefinition {
    let full = SparkJob::crd();
    let Ok(mut value) = serde_json::to_value(&full) else { return full };
    trim(&mut value);
    string_or_object(&mut value);
    serde_json::from_value(value).unwrap_or(full)
}

/// Gives each of [`STRING_OR_OBJECT_FIELDS`] a schema that takes a string or an object.
fn string_or_object(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                for (name, property) in properties.iter_mut() {
                    if STRING_OR_OBJECT_FIELDS.contains(&name.as_str()) && property.get("anyOf").is_some() {
                        let mut either = serde_json::json!({"x-kubernetes-preserve-unknown-fields": true});
                        for kept in ["description", "nullable"] {
                            if let Some(v) = property.get(kept) {
                                either[kept] = v.clone();
                            }
                        }
                        *property = either;
                    }
                }
            }
            map.values_mut().for_each(string_or_object);
        }
        Value::Array(items) => items.iter_mut().for_each(string_or_object),
        _ => {}
    }
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
        let mut full = serde_json::to_value(SparkJob::crd()).expect("JSON");
        string_or_object(&mut full);
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

    /// A structural schema has a type at every node; `sql` takes a string or
    /// an object, so it keeps what is sent instead of claiming `type: object`.
    #[test]
    fn a_string_or_object_field_keeps_both_forms() {
        let crd = serde_json::to_value(crd()).expect("JSON");
        let check = &spec_properties(&crd)["qualityGates"]["items"]["properties"]["definition"]["properties"]["checks"]
            ["items"]["properties"];
        let sql = &check["sql"];
        assert_eq!(sql["x-kubernetes-preserve-unknown-fields"], true, "{sql}");
        assert!(sql.get("type").is_none() && sql.get("anyOf").is_none(), "{sql}");
        assert!(sql["description"].as_str().is_some_and(|d| d.contains("sql: \"amount >= 0\"")));
        assert_eq!(check["rowCount"]["type"], "object", "other checks keep their schema");
    }
}
