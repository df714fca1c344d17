//! The small-cluster mode's shared pool as the cluster shows it (ADR 0073):
//! the nodes' allocatable and what the pods on them request, kept current
//! from a watch on nodes and one on every pod, so the built-in queue can
//! tell how much room the pool has without listing anything per decision.
//!
//! A node is in the pool while it is Ready, not cordoned and without a
//! `NoSchedule`/`NoExecute` taint (room a pod that tolerates nothing can
//! use); a pod holds room on its node from the moment it is bound until it
//! ends (Succeeded or Failed), its request as the scheduler counts it: the
//! containers' sum or the largest init container, whichever is larger,
//! plus the pod's overhead.
//!
//! A leaf of the operator: it imports no other operator module.
//!
//! Owns: that index and its watches. Must not: decide (the pool's answer is
//! `sparkplane_lifecycle::queue::pool`) or write.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};
use sparkplane_lifecycle::queue::pool::Amounts;

/// Where the pool's capacity comes from (`--queue-pool`, `--queue-capacity`).
#[derive(Clone, Debug, PartialEq)]
pub enum PoolCapacity {
    /// The nodes' allocatable less what pods other than the admitted runs
    /// request (nodes and pods are watched).
    Nodes,
    /// A fixed capacity, held by the admitted runs alone.
    Fixed(Amounts),
}

impl PoolCapacity {
    /// How messages name the pool's capacity.
    pub fn source(&self) -> &'static str {
        match self {
            PoolCapacity::Nodes => "the nodes' allocatable less what running pods request",
            PoolCapacity::Fixed(_) => "--queue-capacity",
        }
    }
}

/// A pod holding room: its node, the job its `sparkplane.dev/job` label names, what it requests.
#[derive(Debug)]
struct Holding {
    node: String,
    job: Option<String>,
    requests: Amounts,
}

/// The nodes of the pool and the pods bound to them.
#[derive(Debug, Default)]
pub struct PoolIndex {
    /// Allocatable of each node in the pool.
    nodes: HashMap<String, Amounts>,
    /// Bound, unfinished pods, by namespace and name.
    pods: HashMap<(String, String), Holding>,
    relist_nodes: Option<HashMap<String, Amounts>>,
    relist_pods: Option<HashMap<(String, String), Holding>>,
    nodes_listed: bool,
    pods_listed: bool,
}

/// A quantity in thousandths; capacities round down, requests up, so the
/// pool never looks larger than it is.
fn amount(quantity: &Quantity, rounding: Rounding) -> Option<u128> {
    let parsed: KubeQuantity = quantity.0.parse().ok()?;
    parsed.scaled_magnitude(3, rounding)
}

/// A node's allocatable when it is in the pool.
fn in_pool(node: &Node) -> Option<Amounts> {
    let spec = node.spec.as_ref();
    if spec.and_then(|s| s.unschedulable).unwrap_or(false) {
        return None;
    }
    let tainted = spec
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.effect == "NoSchedule" || t.effect == "NoExecute"));
    let status = node.status.as_ref()?;
    let ready = status
        .conditions
        .as_ref()
        .is_none_or(|c| c.iter().find(|c| c.type_ == "Ready").is_none_or(|c| c.status == "True"));
    if tainted || !ready {
        return None;
    }
    let allocatable = status.allocatable.as_ref()?;
    Some(allocatable.iter().filter_map(|(k, q)| Some((k.clone(), amount(q, Rounding::Down)?))).collect())
}

fn requested(resources: Option<&ResourceRequirements>) -> Amounts {
    let requests = resources.and_then(|r| r.requests.as_ref().or(r.limits.as_ref()));
    requests.into_iter().flatten().filter_map(|(k, q)| Some((k.clone(), amount(q, Rounding::Up)?))).collect()
}

/// What a pod requests, as the scheduler counts it.
pub fn pod_requests(pod: &Pod) -> Amounts {
    let Some(spec) = pod.spec.as_ref() else { return Amounts::new() };
    let mut total = Amounts::new();
    for c in &spec.containers {
        for (k, v) in requested(c.resources.as_ref()) {
            *total.entry(k).or_default() += v;
        }
    }
    for c in spec.init_containers.iter().flatten() {
        for (k, v) in requested(c.resources.as_ref()) {
            let t = total.entry(k).or_default();
            *t = (*t).max(v);
        }
    }
    for (k, q) in spec.overhead.iter().flatten() {
        if let Some(v) = amount(q, Rounding::Up) {
            *total.entry(k.clone()).or_default() += v;
        }
    }
    // Every pod takes one of its node's pod slots.
    *total.entry("pods".to_owned()).or_default() += 1000;
    total
}

/// The pod as the index keeps it: bound and not finished, else None.
fn holding(pod: &Pod) -> Option<Holding> {
    let node = pod.spec.as_ref()?.node_name.clone().filter(|n| !n.is_empty())?;
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return None;
    }
    let job = pod.labels().get(sparkplane_api::labels::JOB).cloned();
    Some(Holding { node, job, requests: pod_requests(pod) })
}

fn pod_key(pod: &Pod) -> (String, String) {
    (pod.namespace().unwrap_or_default(), pod.name_any())
}

impl PoolIndex {
    /// Applies one event of the node watch.
    pub fn node(&mut self, event: &watcher::Event<Node>) {
        match event {
            watcher::Event::Apply(node) | watcher::Event::InitApply(node) => {
                let nodes = match (event, self.relist_nodes.as_mut()) {
                    (watcher::Event::InitApply(_), Some(relist)) => relist,
                    _ => &mut self.nodes,
                };
                match in_pool(node) {
                    Some(allocatable) => nodes.insert(node.name_any(), allocatable),
                    None => nodes.remove(&node.name_any()),
                };
            }
            watcher::Event::Delete(node) => {
                self.nodes.remove(&node.name_any());
            }
            watcher::Event::Init => self.relist_nodes = Some(HashMap::new()),
            watcher::Event::InitDone => {
                if let Some(nodes) = self.relist_nodes.take() {
                    self.nodes = nodes;
                }
                self.nodes_listed = true;
            }
        }
    }

    /// Applies one event of the pod watch.
    pub fn pod(&mut self, event: &watcher::Event<Pod>) {
        match event {
            watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                let pods = match (event, self.relist_pods.as_mut()) {
                    (watcher::Event::InitApply(_), Some(relist)) => relist,
                    _ => &mut self.pods,
                };
                match holding(pod) {
                    Some(h) => pods.insert(pod_key(pod), h),
                    None => pods.remove(&pod_key(pod)),
                };
            }
            watcher::Event::Delete(pod) => {
                self.pods.remove(&pod_key(pod));
            }
            watcher::Event::Init => self.relist_pods = Some(HashMap::new()),
            watcher::Event::InitDone => {
                if let Some(pods) = self.relist_pods.take() {
                    self.pods = pods;
                }
                self.pods_listed = true;
            }
        }
    }

    /// Whether both watches have listed once (before, the pool looks empty).
    pub fn listed(&self) -> bool {
        self.nodes_listed && self.pods_listed
    }

    /// The pool's capacity: the allocatable of its nodes, summed. CPU,
    /// memory and pods are always named (0 without a node: a resource the
    /// pool does not name is not limited).
    pub fn capacity(&self) -> Amounts {
        let mut total: Amounts = ["cpu", "memory", "pods"].into_iter().map(|r| (r.to_owned(), 0)).collect();
        for allocatable in self.nodes.values() {
            for (k, v) in allocatable {
                *total.entry(k.clone()).or_default() += v;
            }
        }
        total
    }

    /// What the pool's pods hold besides the admitted runs' reservations:
    /// every pod of the pool's nodes that is not an admitted run's, and what
    /// an admitted run's pods request beyond its reservation. `reserved`
    /// gives an admitted run's reservation by namespace and job.
    pub fn used(&self, reserved: &BTreeMap<(String, String), Amounts>) -> Amounts {
        let mut used = Amounts::new();
        let mut runs: BTreeMap<(String, String), Amounts> = BTreeMap::new();
        for ((namespace, _), pod) in self.pods.iter().filter(|(_, p)| self.nodes.contains_key(&p.node)) {
            let run = pod.job.as_ref().map(|job| (namespace.clone(), job.clone())).filter(|k| reserved.contains_key(k));
            let into = match run {
                Some(key) => runs.entry(key).or_default(),
                None => &mut used,
            };
            for (k, v) in &pod.requests {
                *into.entry(k.clone()).or_default() += v;
            }
        }
        for (key, actual) in runs {
            let reservation = reserved.get(&key).cloned().unwrap_or_default();
            for (k, v) in actual {
                let beyond = v.saturating_sub(reservation.get(&k).copied().unwrap_or(0));
                *used.entry(k).or_default() += beyond;
            }
        }
        used
    }
}

/// Keeps `index` current from a watch on every node and every pod until the tasks are aborted.
pub fn watch(client: &kube::Client, index: &Arc<Mutex<PoolIndex>>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        follow(Api::<Node>::all(client.clone()), index, PoolIndex::node, "node"),
        follow(Api::<Pod>::all(client.clone()), index, PoolIndex::pod, "pod"),
    ]
}

/// A task giving every event of a watch on `api` to `apply` on `index`.
fn follow<K>(
    api: Api<K>,
    index: &Arc<Mutex<PoolIndex>>,
    apply: fn(&mut PoolIndex, &watcher::Event<K>),
    kind: &'static str,
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let index = Arc::clone(index);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => apply(&mut index.lock().unwrap_or_else(|p| p.into_inner()), &event),
                Err(error) => tracing::warn!(%error, kind, "the pool's watch failed; it is retried"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, extra: serde_json::Value) -> Node {
        let mut body = json!({
            "metadata": {"name": name},
            "spec": {},
            "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]},
        });
        if let (Some(base), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                base.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(body).expect("a Node")
    }

    fn pod(name: &str, node: Option<&str>, job: Option<&str>, cpu: &str, phase: &str) -> Pod {
        let labels = job.map_or_else(|| json!({}), |j| json!({"sparkplane.dev/job": j}));
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "data", "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}],
                     "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "3"}}}]},
            "status": {"phase": phase},
        }))
        .expect("a Pod")
    }

    #[test]
    fn the_pool_is_its_schedulable_nodes_and_holds_what_their_pods_request() {
        let mut index = PoolIndex::default();
        assert_eq!(index.capacity()["cpu"], 0, "no node: no room, not an unlimited pool");
        index.node(&watcher::Event::Init);
        index.node(&watcher::Event::InitApply(node("a", json!({}))));
        index.node(&watcher::Event::InitApply(node("cordoned", json!({"spec": {"unschedulable": true}}))));
        let taint = json!({"spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]}});
        index.node(&watcher::Event::InitApply(node("tainted", taint)));
        let not_ready =
            json!({"status": {"allocatable": {"cpu": "4"}, "conditions": [{"type": "Ready", "status": "False"}]}});
        index.node(&watcher::Event::InitApply(node("down", not_ready)));
        index.node(&watcher::Event::InitDone);
        assert_eq!(index.capacity()["cpu"], 4000, "a alone");
        index.node(&watcher::Event::Apply(node("b", json!({}))));
        let capacity = index.capacity();
        assert_eq!((capacity["cpu"], capacity["pods"]), (8000, 220_000), "a and b");
        assert!(!index.listed(), "pods not listed yet");
        for (name, node, job, cpu, phase) in [
            ("web", Some("a"), None, "500m", "Running"),
            ("etl-driver", Some("a"), Some("etl"), "1", "Running"),
            ("etl-exec-1", Some("b"), Some("etl"), "4", "Running"),
            ("done", Some("b"), None, "2", "Succeeded"),
            ("pending", None, None, "2", "Pending"),
            ("elsewhere", Some("cordoned"), None, "2", "Running"),
            ("old-driver", Some("b"), Some("old"), "1", "Running"),
        ] {
            index.pod(&watcher::Event::Apply(pod(name, node, job, cpu, phase)));
        }
        index.pod(&watcher::Event::Init);
        index.pod(&watcher::Event::InitDone);
        assert!(index.listed());
        assert_eq!(index.used(&BTreeMap::new()).get("cpu"), None, "the relist found no pod");
        for (name, node, job, cpu) in [
            ("web", "a", None, "500m"),
            ("etl-driver", "a", Some("etl"), "1"),
            ("etl-exec-1", "b", Some("etl"), "4"),
            ("old-driver", "b", Some("old"), "1"),
        ] {
            index.pod(&watcher::Event::Apply(pod(name, Some(node), job, cpu, "Running")));
        }
        // etl is admitted with 2 CPUs reserved: its pods ask 3 (init) + 4 (the executor's 4 beats its init's 3) = 7, 5 beyond.
        let reserved =
            BTreeMap::from([(("data".to_owned(), "etl".to_owned()), Amounts::from([("cpu".to_owned(), 2000)]))]);
        let used = index.used(&reserved);
        // web: 3 (its init container's 3 beats 500m); old (not admitted): 3; etl beyond its reservation: 5.
        assert_eq!(used["cpu"], 11_000);
        assert_eq!(used["pods"], 4000, "web, old-driver, and etl's two pods beyond a reservation of no pods");
        index.pod(&watcher::Event::Delete(pod("web", Some("a"), None, "500m", "Running")));
        assert_eq!(index.used(&reserved)["cpu"], 8000);
    }
}
