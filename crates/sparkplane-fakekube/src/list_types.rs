//! How each list of an object merges, as its schema declares it: a list
//! keyed by some of its items' fields (`x-kubernetes-list-type: map` with
//! `x-kubernetes-list-map-keys`, the `patchMergeKey` of strategic merge
//! patch), a set of scalars, or atomic (replaced whole). Server-side apply,
//! managed fields and strategic merge patch read it.
//!
//! Owns: the table of the built-in lists sparkplane and its tools write
//! (by field name, as Kubernetes' OpenAPI declares them) and the reading of
//! a CustomResourceDefinition's schema for the same markers. Lists neither
//! names are atomic, as for a schema that does not say.

use serde_json::Value;

/// How one list merges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListType {
    /// Replaced whole.
    Atomic,
    /// Scalars, merged by value.
    Set,
    /// Objects, merged by these key fields.
    Map(Vec<String>),
}

/// Where list types come from.
pub trait ListTypes {
    /// The type of the list at these field names from the root (list steps left out).
    fn list_type(&self, fields: &[&str]) -> ListType;
}

/// Kubernetes' built-in kinds (and object metadata of every kind): one
/// table serves every kind, the field names decide.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuiltIn;

fn keys(names: &[&str]) -> ListType {
    ListType::Map(names.iter().map(|n| (*n).to_owned()).collect())
}

impl ListTypes for BuiltIn {
    fn list_type(&self, fields: &[&str]) -> ListType {
        let Some(last) = fields.last() else { return ListType::Atomic };
        let in_container = fields.len() >= 2
            && matches!(fields[fields.len() - 2], "containers" | "initContainers" | "ephemeralContainers");
        match (fields, *last) {
            (["metadata", "finalizers"], _) => ListType::Set,
            (["metadata", "ownerReferences"], _) => keys(&["uid"]),
            (_, "containers" | "initContainers" | "ephemeralContainers") => keys(&["name"]),
            (_, "env" | "imagePullSecrets" | "resourceClaims" | "schedulingGates") => keys(&["name"]),
            (_, "volumes") if !in_container => keys(&["name"]),
            (_, "volumeMounts") => keys(&["mountPath"]),
            (_, "volumeDevices") => keys(&["devicePath"]),
            (_, "ports") if in_container => keys(&["containerPort", "protocol"]),
            (_, "ports") => keys(&["port", "protocol"]),
            (_, "conditions") => keys(&["type"]),
            (_, "hostAliases") => keys(&["ip"]),
            (_, "topologySpreadConstraints") => keys(&["topologyKey", "whenUnsatisfiable"]),
            _ => ListType::Atomic,
        }
    }
}

/// A custom resource's lists, read from its CRD version's `openAPIV3Schema`
/// (metadata as for built-ins).
#[derive(Clone, Debug)]
pub struct Schema<'a> {
    /// The version's `schema.openAPIV3Schema`.
    pub root: &'a Value,
}

impl ListTypes for Schema<'_> {
    fn list_type(&self, fields: &[&str]) -> ListType {
        if fields.first() == Some(&"metadata") {
            return BuiltIn.list_type(fields);
        }
        let mut node = self.root;
        for field in fields {
            // Lists are looked through: the next field is a field of the items.
            while node["type"] == "array" {
                node = &node["items"];
            }
            node = match node["properties"].get(*field) {
                Some(child) => child,
                None => &node["additionalProperties"],
            };
            if node.is_null() {
                return ListType::Atomic;
            }
        }
        match node["x-kubernetes-list-type"].as_str() {
            Some("map") => ListType::Map(
                node["x-kubernetes-list-map-keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect(),
            ),
            Some("set") => ListType::Set,
            _ => ListType::Atomic,
        }
    }
}

/// The `openAPIV3Schema` of the stored CRD serving `group`, `version` and `plural`.
pub fn crd_schema<'a>(
    mut crds: impl Iterator<Item = &'a Value>,
    group: &str,
    version: &str,
    plural: &str,
) -> Option<&'a Value> {
    let crd = crds.find(|crd| crd["spec"]["group"] == group && crd["spec"]["names"]["plural"] == plural)?;
    let versions = crd["spec"]["versions"].as_array()?;
    let served = versions.iter().find(|v| v["name"] == version)?;
    Some(&served["schema"]["openAPIV3Schema"]).filter(|s| s.is_object())
}

/// The list types of a resource: its CRD's schema when one is stored, else the built-in table.
pub fn for_resource<'a>(
    crds: impl Iterator<Item = &'a Value>,
    group: &str,
    version: &str,
    plural: &str,
) -> Box<dyn ListTypes + 'a> {
    match crd_schema(crds, group, version, plural) {
        Some(root) => Box::new(Schema { root }),
        None => Box::new(BuiltIn),
    }
}

/// Whether a group is Kubernetes' own (strategic merge patch is served for
/// its kinds; custom resources answer it with 415).
pub fn built_in_group(group: &str) -> bool {
    matches!(group, "" | "apps" | "batch" | "policy" | "autoscaling")
        || (group.ends_with(".k8s.io") && group != "sparkoperator.k8s.io")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn built_in_lists_merge_by_the_keys_kubernetes_declares() {
        let t = BuiltIn;
        assert_eq!(t.list_type(&["spec", "containers"]), keys(&["name"]));
        assert_eq!(t.list_type(&["spec", "template", "spec", "containers", "env"]), keys(&["name"]));
        assert_eq!(t.list_type(&["spec", "containers", "ports"]), keys(&["containerPort", "protocol"]));
        assert_eq!(t.list_type(&["spec", "ports"]), keys(&["port", "protocol"]));
        assert_eq!(t.list_type(&["metadata", "finalizers"]), ListType::Set);
        assert_eq!(t.list_type(&["spec", "containers", "args"]), ListType::Atomic);
        assert_eq!(t.list_type(&["spec", "tolerations"]), ListType::Atomic);
    }

    #[test]
    fn a_crd_schema_declares_its_own_lists() {
        let root = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "volumes": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                        "items": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set"}}}},
            "args": {"type": "array", "items": {"type": "string"}},
        }}}});
        let t = Schema { root: &root };
        assert_eq!(t.list_type(&["spec", "volumes"]), keys(&["name"]));
        assert_eq!(t.list_type(&["spec", "volumes", "tags"]), ListType::Set);
        assert_eq!(t.list_type(&["spec", "args"]), ListType::Atomic);
        assert_eq!(t.list_type(&["metadata", "finalizers"]), ListType::Set);
    }
}
