//! Where a pod may run: its resource requests against each node's free
//! allocatable, its node selector against the node's labels, its
//! tolerations against the node's taints — the checks kube-scheduler's
//! default filters make — and, when no node passes, the message the
//! scheduler writes on the pod's `PodScheduled` condition.
//!
//! Owns: the placement rule and pod resource demands. Pure: no store, no clock.

use std::collections::BTreeMap;

use serde_json::Value;
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};

use crate::cluster::Node;

/// What a pod asks of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// CPU requests in millicores.
    pub cpu_millis: u64,
    /// Memory requests in bytes.
    pub memory_bytes: u64,
}

impl Demand {
    /// Adds another demand.
    pub fn plus(self, other: Demand) -> Demand {
        Demand {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
        }
    }
}

/// What is placed on one node so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeUse {
    /// Sum of the bound pods' demands.
    pub demand: Demand,
    /// Bound pods.
    pub pods: u32,
}

/// A quantity in units of 10^-`scale`, rounded up (a demand); 0 when unreadable.
pub fn units(value: &Value, scale: i32) -> u64 {
    let Some(text) = value.as_str().map(str::to_owned).or_else(|| value.as_f64().map(|f| f.to_string())) else {
        return 0;
    };
    text.parse::<KubeQuantity>()
        .ok()
        .filter(|q| !q.is_negative())
        .and_then(|q| q.scaled_magnitude(scale, Rounding::Up))
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// A container's request for `resource`, falling back to its limit as the API server defaults it.
fn request(container: &Value, resource: &str) -> Value {
    let resources = &container["resources"];
    match &resources["requests"][resource] {
        Value::Null => resources["limits"][resource].clone(),
        v => v.clone(),
    }
}

/// The sum of a pod's container requests (init containers run before, one at a time: the largest counts).
pub fn demand(pod: &Value) -> Demand {
    let of = |containers: &Value| -> Vec<Demand> {
        containers
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| Demand {
                        cpu_millis: units(&request(c, "cpu"), 3),
                        memory_bytes: units(&request(c, "memory"), 0),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let main = of(&pod["spec"]["containers"]).into_iter().fold(Demand::default(), Demand::plus);
    let init = of(&pod["spec"]["initContainers"]);
    Demand {
        cpu_millis: init.iter().map(|d| d.cpu_millis).fold(main.cpu_millis, u64::max),
        memory_bytes: init.iter().map(|d| d.memory_bytes).fold(main.memory_bytes, u64::max),
    }
}

/// A container's memory limit in bytes.
pub fn memory_limit(container: &Value) -> Option<u64> {
    let limit = &container["resources"]["limits"]["memory"];
    (!limit.is_null()).then(|| units(limit, 0))
}

fn tolerates(pod: &Value, key: &str, value: &str, effect: &str) -> bool {
    pod["spec"]["tolerations"].as_array().is_some_and(|ts| {
        ts.iter().any(|t| {
            let exists = t["operator"] == "Exists";
            // An empty key with Exists tolerates every taint.
            let key_ok = match t["key"].as_str().unwrap_or("") {
                "" => exists,
                k => k == key,
            };
            let value_ok = exists || t["value"].as_str().unwrap_or("") == value;
            let effect_ok = t["effect"].as_str().unwrap_or("").is_empty() || t["effect"] == effect;
            key_ok && value_ok && effect_ok
        })
    })
}

/// Why a node cannot take a pod, as the scheduler counts reasons.
fn refusal(pod: &Value, demand: Demand, node: &Node, used: NodeUse) -> Option<String> {
    if let Some(selector) = pod["spec"]["nodeSelector"].as_object()
        && selector.iter().any(|(k, v)| {
            // The labels every kubelet sets on its node, as the simulation writes the Node objects.
            let have = match k.as_str() {
                "kubernetes.io/hostname" => Some(node.name.as_str()),
                "kubernetes.io/os" => Some("linux"),
                _ => node.labels.get(k).map(String::as_str),
            };
            have != v.as_str()
        })
    {
        return Some("node(s) didn't match Pod's node affinity/selector".into());
    }
    for (key, value, effect) in &node.taints {
        if matches!(effect.as_str(), "NoSchedule" | "NoExecute") && !tolerates(pod, key, value, effect) {
            return Some(format!("node(s) had untolerated taint {{{key}: {value}}}"));
        }
    }
    if used.pods >= node.max_pods {
        return Some("Too many pods".into());
    }
    if used.demand.cpu_millis.saturating_add(demand.cpu_millis) > node.cpu_millis {
        return Some("Insufficient cpu".into());
    }
    if used.demand.memory_bytes.saturating_add(demand.memory_bytes) > node.memory_bytes {
        return Some("Insufficient memory".into());
    }
    None
}

/// The node a pod goes to (the one with the most free memory, then by
/// name), or the scheduler's message saying why none can take it.
pub fn place(pod: &Value, nodes: &[Node], used: &BTreeMap<String, NodeUse>) -> Result<String, String> {
    let demand = demand(pod);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut best: Option<(&Node, u64)> = None;
    for node in nodes {
        let use_ = used.get(&node.name).copied().unwrap_or_default();
        match refusal(pod, demand, node, use_) {
            Some(reason) => *reasons.entry(reason).or_default() += 1,
            None => {
                let free = node.memory_bytes.saturating_sub(use_.demand.memory_bytes);
                if best.is_none_or(|(_, f)| free > f) {
                    best = Some((node, free));
                }
            }
        }
    }
    match best {
        Some((node, _)) => Ok(node.name.clone()),
        None => {
            let parts: Vec<String> = reasons.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
            Err(format!(
                "0/{} nodes are available: {}. preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
                nodes.len(),
                parts.join(", "),
                nodes.len(),
                nodes.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(cpu: &str, memory: &str) -> Value {
        json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}, "limits": {"memory": memory}}}]}})
    }

    #[test]
    fn demands_add_containers_and_default_requests_to_limits() {
        let mut p = pod("500m", "2Gi");
        p["spec"]["containers"]
            .as_array_mut()
            .expect("list")
            .push(json!({"resources": {"requests": {"cpu": "1", "memory": "512Mi"}}}));
        p["spec"]["initContainers"] = json!([{"resources": {"requests": {"cpu": "4", "memory": "1Mi"}}}]);
        assert_eq!(demand(&p), Demand { cpu_millis: 4000, memory_bytes: (2 << 30) + (512 << 20) });
        assert_eq!(memory_limit(&p["spec"]["containers"][0]), Some(2 << 30));
        assert_eq!(memory_limit(&p["spec"]["containers"][1]), None);
    }

    #[test]
    fn pods_go_where_they_fit_and_the_message_counts_each_reason() {
        let mut tainted = Node::new("gpu-1", 64, 256);
        tainted.taints.push(("nvidia.com/gpu".into(), "present".into(), "NoSchedule".into()));
        let nodes = vec![Node::new("small-1", 2, 4), Node::new("small-2", 2, 4), tainted];
        let mut used = BTreeMap::new();
        used.insert("small-1".to_owned(), NodeUse { demand: Demand { cpu_millis: 0, memory_bytes: 3 << 30 }, pods: 1 });
        assert_eq!(place(&pod("1", "2Gi"), &nodes, &used), Ok("small-2".into()));
        assert_eq!(
            place(&pod("1", "8Gi"), &nodes, &used),
            Err("0/3 nodes are available: 2 Insufficient memory, 1 node(s) had untolerated taint {nvidia.com/gpu: present}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.".into())
        );
        let mut tolerant = pod("1", "8Gi");
        tolerant["spec"]["tolerations"] =
            json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
        assert_eq!(place(&tolerant, &nodes, &used), Ok("gpu-1".into()));
        let mut selected = pod("1", "1Gi");
        selected["spec"]["nodeSelector"] = json!({"pool": "spark"});
        assert!(
            place(&selected, &nodes, &used)
                .is_err_and(|m| m.contains("3 node(s) didn't match Pod's node affinity/selector"))
        );
        // Every node is labelled with its host name and `kubernetes.io/os: linux`, as a kubelet labels it
        // (Kubeflow's pod-template example selects `kubernetes.io/os: linux`).
        selected["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux", "kubernetes.io/hostname": "small-2"});
        assert_eq!(place(&selected, &nodes, &used), Ok("small-2".into()));
        selected["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
        assert!(place(&selected, &nodes, &used).is_err());
    }
}
