//! Kubernetes' protobuf wire format for request bodies: client-go sends
//! built-in kinds this way (`application/vnd.kubernetes.protobuf`), and Helm
//! stores its releases as Secrets through it. The body is the `k8s\0` magic
//! and a `runtime.Unknown` whose `raw` is the object; the kinds decoded here
//! (Secret, ConfigMap, Namespace: what Helm and kubectl are known to send)
//! become the JSON the store keeps. Any other kind is refused with the
//! reason, so a test learns of it rather than storing nothing. Answers stay
//! JSON, which every client accepts (client-go asks for protobuf *or* JSON).

use std::collections::BTreeMap;

use base64::Engine;
use k8s_pb::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_pb::apimachinery::pkg::runtime::Unknown;
use prost::Message;
use serde_json::{Map, Value, json};

/// The content type client-go sends.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

/// The JSON form of a protobuf-encoded object.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body.strip_prefix(MAGIC).ok_or("the body does not start with the k8s protobuf magic")?;
    let unknown = Unknown::decode(envelope).map_err(|e| format!("not a runtime.Unknown: {e}"))?;
    if unknown.content_encoding.as_deref().is_some_and(|e| !e.is_empty()) {
        return Err(format!("content encoding {:?} is not supported", unknown.content_encoding));
    }
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    let raw = unknown.raw.unwrap_or_default();
    let mut object = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => secret(&Secret::decode(raw.as_slice()).map_err(|e| format!("not a Secret: {e}"))?),
        ("v1", "ConfigMap") => {
            config_map(&ConfigMap::decode(raw.as_slice()).map_err(|e| format!("not a ConfigMap: {e}"))?)
        }
        ("v1", "Namespace") => {
            let namespace = Namespace::decode(raw.as_slice()).map_err(|e| format!("not a Namespace: {e}"))?;
            json!({"metadata": metadata(namespace.metadata.as_ref())})
        }
        _ => return Err(format!("{api_version} {kind} in protobuf is not understood by the fake; send JSON")),
    };
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    Ok(object)
}

fn base64(bytes: &[u8]) -> Value {
    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn metadata(meta: Option<&ObjectMeta>) -> Value {
    let Some(meta) = meta else { return json!({}) };
    let mut out = Map::new();
    let mut text = |key: &str, value: &Option<String>| {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            out.insert(key.to_owned(), json!(v));
        }
    };
    text("name", &meta.name);
    text("generateName", &meta.generate_name);
    text("namespace", &meta.namespace);
    text("uid", &meta.uid);
    text("resourceVersion", &meta.resource_version);
    if !meta.labels.is_empty() {
        out.insert("labels".into(), json!(meta.labels));
    }
    if !meta.annotations.is_empty() {
        out.insert("annotations".into(), json!(meta.annotations));
    }
    if !meta.finalizers.is_empty() {
        out.insert("finalizers".into(), json!(meta.finalizers));
    }
    if !meta.owner_references.is_empty() {
        let owners: Vec<Value> = meta
            .owner_references
            .iter()
            .map(|o| {
                json!({"apiVersion": o.api_version, "kind": o.kind, "name": o.name, "uid": o.uid,
                       "controller": o.controller, "blockOwnerDeletion": o.block_owner_deletion})
            })
            .collect();
        out.insert("ownerReferences".into(), json!(owners));
    }
    Value::Object(out)
}

fn secret(secret: &Secret) -> Value {
    let data: BTreeMap<&String, Value> = secret.data.iter().map(|(k, v)| (k, base64(v))).collect();
    let mut out = json!({"metadata": metadata(secret.metadata.as_ref()), "data": data});
    if !secret.string_data.is_empty() {
        out["stringData"] = json!(secret.string_data);
    }
    if let Some(kind) = &secret.r#type {
        out["type"] = json!(kind);
    }
    if let Some(immutable) = secret.immutable {
        out["immutable"] = json!(immutable);
    }
    out
}

fn config_map(map: &ConfigMap) -> Value {
    let mut out = json!({"metadata": metadata(map.metadata.as_ref()), "data": map.data});
    if !map.binary_data.is_empty() {
        let binary: BTreeMap<&String, Value> = map.binary_data.iter().map(|(k, v)| (k, base64(v))).collect();
        out["binaryData"] = json!(binary);
    }
    if let Some(immutable) = map.immutable {
        out["immutable"] = json!(immutable);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_pb::apimachinery::pkg::runtime::TypeMeta;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta { api_version: Some(api_version.into()), kind: Some(kind.into()) }),
            raw: Some(raw),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        let mut body = MAGIC.to_vec();
        body.extend(unknown.encode_to_vec());
        body
    }

    #[test]
    fn a_secret_becomes_the_json_the_api_server_would_store() {
        let secret = Secret {
            metadata: Some(ObjectMeta {
                name: Some("sh.helm.release.v1.sparkplane.v1".into()),
                namespace: Some("sparkplane-system".into()),
                labels: [("owner".to_owned(), "helm".to_owned())].into_iter().collect(),
                ..ObjectMeta::default()
            }),
            data: [("release".to_owned(), b"H4sI".to_vec())].into_iter().collect(),
            r#type: Some("helm.sh/release.v1".into()),
            ..Secret::default()
        };
        let json = decode(&envelope("v1", "Secret", secret.encode_to_vec())).expect("decodes");
        assert_eq!(
            json,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                   "metadata": {"name": "sh.helm.release.v1.sparkplane.v1", "namespace": "sparkplane-system",
                                "labels": {"owner": "helm"}},
                   "data": {"release": "SDRzSQ=="}})
        );
    }

    #[test]
    fn other_kinds_and_bad_bodies_are_refused_with_the_reason() {
        assert_eq!(decode(b"{}"), Err("the body does not start with the k8s protobuf magic".into()));
        let refused = decode(&envelope("apps/v1", "Deployment", vec![]));
        assert_eq!(refused, Err("apps/v1 Deployment in protobuf is not understood by the fake; send JSON".into()));
        assert!(decode(b"k8s\0\xff\xff").is_err_and(|e| e.starts_with("not a runtime.Unknown")));
    }
}
