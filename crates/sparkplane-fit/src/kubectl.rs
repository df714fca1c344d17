//! `kubectl get nodes -o json` turned into node pools (nodes grouped by
//! their shared labels, taints and least allocatable). Must not: read files
//! or run kubectl.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::Deserialize;
use sparkplane_api::NodePool;
use sparkplane_api::quantity::QuantityError;

use super::model::*;
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};

// ---------------------------------------------------------------------------
// `kubectl get nodes` → node pools.

pub(super) type GroupKey = (String, Vec<(String, String)>, Vec<(String, String, String)>);

/// Converts `kubectl get nodes -o json` (or `-o yaml`, parsed) into node
/// pools: a `List`/`NodeList` of nodes, or one `Node`.
///
/// Nodes with the same machine type (the `node.kubernetes.io/instance-type`
/// label, else the node's own name), the same taints and the same labels
/// apart from [`PER_NODE_LABELS`] form one pool with `maxNodes` = their count.
/// A pool's allocatable is the least each of its nodes reports (identical
/// machines differ by a few KiB), and it keeps the labels all its nodes
/// share. Pools that would share a name get `-2`, `-3`, … in a stable order.
pub fn pools_from_kubectl_nodes(value: &serde_json::Value) -> Result<Vec<NodePool>, String> {
    let kind = value.get("kind").and_then(serde_json::Value::as_str).unwrap_or("");
    let items: Vec<&serde_json::Value> = match kind {
        "List" | "NodeList" => value
            .get("items")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| format!("the {kind} has no `items` list"))?
            .iter()
            .collect(),
        "Node" => vec![value],
        "" => {
            return Err(
                "expected the output of `kubectl get nodes -o yaml`, but the document has no `kind`".to_string()
            );
        }
        other => {
            return Err(format!(
                "expected the output of `kubectl get nodes -o yaml` (kind List, NodeList or Node), found kind {other}"
            ));
        }
    };
    let mut groups: BTreeMap<GroupKey, Vec<Node>> = BTreeMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let item_kind = item.get("kind").and_then(serde_json::Value::as_str).unwrap_or("Node");
        if item_kind != "Node" {
            return Err(format!("items[{i}] is a {item_kind}, not a Node"));
        }
        let node = Node::deserialize(item).map_err(|e| format!("items[{i}] is not a valid Node: {e}"))?;
        let name = node.metadata.name.clone().ok_or_else(|| format!("items[{i}] has no metadata.name"))?;
        if node.status.as_ref().and_then(|s| s.allocatable.as_ref()).is_none() {
            return Err(format!("node {name} has no status.allocatable"));
        }
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let base = INSTANCE_TYPE_LABELS.iter().find_map(|l| labels.get(*l)).cloned().unwrap_or_else(|| name.clone());
        let stable: Vec<(String, String)> =
            labels.into_iter().filter(|(k, _)| !PER_NODE_LABELS.contains(&k.as_str())).collect();
        let mut taints: Vec<(String, String, String)> = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default(), t.effect.clone()))
            .collect();
        taints.sort();
        taints.dedup();
        groups.entry((base, stable, taints)).or_default().push(node);
    }
    // Of the groups sharing a machine type, the largest keeps the plain name.
    let mut groups: Vec<(GroupKey, Vec<Node>)> = groups.into_iter().collect();
    groups.sort_by(|(a, a_nodes), (b, b_nodes)| a.0.cmp(&b.0).then(b_nodes.len().cmp(&a_nodes.len())).then(a.cmp(b)));
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut pools = Vec::new();
    for ((base, _, taints), nodes) in groups {
        let count = seen.entry(base.clone()).or_default();
        *count += 1;
        let name = if *count == 1 { base } else { format!("{base}-{count}") };
        pools.push(NodePool {
            name,
            allocatable: least_allocatable(&nodes)?,
            reserved: BTreeMap::new(),
            pod_overhead: BTreeMap::new(),
            max_nodes: Some(u32::try_from(nodes.len()).unwrap_or(u32::MAX)),
            labels: shared_labels(&nodes),
            taints: taints
                .into_iter()
                .map(|(key, value, effect)| Taint {
                    key,
                    value: (!value.is_empty()).then_some(value),
                    effect,
                    time_added: None,
                })
                .collect(),
        });
    }
    Ok(pools)
}

/// Per resource, the smallest allocatable among `nodes` (resources some node lacks are left out).
pub(super) fn least_allocatable(nodes: &[Node]) -> Result<BTreeMap<String, Quantity>, String> {
    let mut least: BTreeMap<String, (u128, Quantity)> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for node in nodes {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        for (key, quantity) in node.status.as_ref().and_then(|s| s.allocatable.as_ref()).into_iter().flatten() {
            let parsed: KubeQuantity =
                quantity.0.parse().map_err(|e: QuantityError| format!("node {name}: status.allocatable.{key}: {e}"))?;
            // Milli-units order every quantity finely enough to pick the least.
            let value = parsed
                .scaled_magnitude(3, Rounding::Down)
                .ok_or_else(|| format!("node {name}: status.allocatable.{key}: `{}` is too large", quantity.0))?;
            *counts.entry(key.clone()).or_default() += 1;
            let entry = least.entry(key.clone()).or_insert_with(|| (value, quantity.clone()));
            if value < entry.0 {
                *entry = (value, quantity.clone());
            }
        }
    }
    Ok(least.into_iter().filter(|(key, _)| counts.get(key) == Some(&nodes.len())).map(|(k, (_, q))| (k, q)).collect())
}

/// The labels every one of `nodes` carries with the same value.
pub(super) fn shared_labels(nodes: &[Node]) -> BTreeMap<String, String> {
    let mut labels = nodes.first().and_then(|n| n.metadata.labels.clone()).unwrap_or_default();
    for node in nodes.iter().skip(1) {
        let theirs = node.metadata.labels.as_ref();
        labels.retain(|k, v| theirs.and_then(|l| l.get(k)) == Some(v));
    }
    labels
}
