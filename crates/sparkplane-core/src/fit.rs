//! `fit`: whether a sized job can be scheduled on the cluster's node shapes
//! and within its namespace's quota, and, when it cannot, why (with numbers)
//! and what to change.
//!
//! This module owns node-pool eligibility (node selectors; taints and
//! tolerations with Kubernetes' matching rules), per-node packing of driver
//! and executor pods, placement of the most executors a job may run under
//! each pool's `maxNodes`, the ResourceQuota check, and the conversion of
//! `kubectl get nodes` output into node pools.
//!
//! It must not derive pod resources: those come from [`crate::sizing`] as a
//! [`SizedJob`]. It must not read files or talk to a cluster: callers pass
//! node pools, quotas and `kubectl` output in as typed values.
//!
//! The model: a node of a pool offers *allocatable − reserved* (reserved is
//! what DaemonSets and system pods take on every node); every pod needs its
//! own resources plus the pool's `podOverhead`. Capacities round down and
//! demands round up, so a job never looks like it fits when it does not.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, ResourceQuota, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::{Deserialize, Serialize, Serializer};
use sparkplane_api::job::{RoleSpec, SparkJobSpec};
use sparkplane_api::quantity::QuantityError;
use sparkplane_api::{CpuAmount, MemorySize, NodePool};

use crate::diagnostic::{Diagnostic, Severity};
use crate::kube_quantity::{self, KubeQuantity, Rounding};
use crate::recommend::NodeLimit;
use crate::sizing::{OverheadRule, PodResources, SizedJob, largest_heap_within};

/// Node labels that differ from node to node of one pool; `kubectl` nodes
/// are grouped into pools without them (a pool keeps such a label only when
/// all of its nodes share the value).
pub const PER_NODE_LABELS: &[&str] = &[
    "kubernetes.io/hostname",
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.gke.io/zone",
    "topology.ebs.csi.aws.com/zone",
    "topology.k8s.aws/zone-id",
    "topology.disk.csi.azure.com/zone",
];

/// Labels naming a node's machine type, used as the pool name of `kubectl` nodes.
const INSTANCE_TYPE_LABELS: &[&str] = &["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"];

/// One of a job's two kinds of pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The driver pod.
    Driver,
    /// Each executor pod.
    Executor,
}

impl Role {
    /// `driver` or `executor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Executor => "executor",
        }
    }

    fn spec_path(self) -> &'static str {
        match self {
            Role::Driver => "spec.driver",
            Role::Executor => "spec.executor",
        }
    }

    fn role_spec(self, spec: &SparkJobSpec) -> Option<&RoleSpec> {
        match self {
            Role::Driver => spec.driver.as_ref().map(|d| &d.role),
            Role::Executor => spec.executor.as_ref().map(|e| &e.role),
        }
    }
}

/// What one node of a pool offers to pods.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeCapacity {
    /// CPU.
    pub cpu: CpuAmount,
    /// Memory.
    pub memory: MemorySize,
    /// Extended resources (`nvidia.com/gpu`, …), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extended: BTreeMap<String, u64>,
    /// Pod slots, when the pool says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<u64>,
}

impl NodeCapacity {
    /// What is left after taking `cpu`, `memory`, `extended` and `pods` slots
    /// (never below zero).
    fn minus(&self, cpu: CpuAmount, memory: MemorySize, extended: &BTreeMap<String, u64>, pods: u64) -> NodeCapacity {
        NodeCapacity {
            cpu: CpuAmount::from_millis(self.cpu.millis().saturating_sub(cpu.millis())),
            memory: MemorySize::from_mib(self.memory.mib().saturating_sub(memory.mib())),
            extended: self
                .extended
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(extended.get(k).copied().unwrap_or(0))))
                .collect(),
            pods: self.pods.map(|p| p.saturating_sub(pods)),
        }
    }
}

/// What one pod asks of a node (or what a pod's overhead takes).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDemand {
    /// CPU.
    pub cpu: CpuAmount,
    /// Memory.
    pub memory: MemorySize,
    /// Extended resources (`nvidia.com/gpu`, …), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extended: BTreeMap<String, u64>,
}

impl PodDemand {
    /// What a pod sized by [`crate::sizing`] asks for, before any pod overhead.
    pub fn of_pod(pod: &PodResources) -> Self {
        let mut extended = BTreeMap::new();
        if let Some(gpu) = pod.gpu.as_ref().filter(|g| g.amount > 0) {
            extended.insert(gpu.name.clone(), u64::from(gpu.amount));
        }
        Self { cpu: pod.cpu_request, memory: pod.pod_memory, extended }
    }

    fn plus(&self, other: &PodDemand) -> PodDemand {
        let mut extended = self.extended.clone();
        for (name, amount) in &other.extended {
            *extended.entry(name.clone()).or_default() += amount;
        }
        PodDemand {
            cpu: CpuAmount::from_millis(self.cpu.millis() + other.cpu.millis()),
            memory: self.memory.saturating_add(other.memory),
            extended,
        }
    }
}

/// How one role's pod fares on one pool.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolFit {
    /// The pool.
    pub pool: String,
    /// Whether the pod may be scheduled there at all (node selector and taints).
    pub eligible: bool,
    /// Why it may not, when it may not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_eligible_because: Vec<String>,
    /// What each node offers to pods: allocatable − reserved.
    pub usable: NodeCapacity,
    /// What the pod needs there: its resources plus the pool's pod overhead.
    pub needs: PodDemand,
    /// Whether at least one such pod fits on an empty node.
    pub fits: bool,
    /// How many such pods fit on one empty node (the least over CPU, memory,
    /// extended resources and pod slots).
    pub per_node: u64,
    /// The resource that bounds `per_node`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limited_by: Option<String>,
    /// Each resource the pod needs more of than a node offers, with numbers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shortfalls: Vec<String>,
    /// Most nodes of the pool, when bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
}

/// How one role fares on every pool.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleFit {
    /// Driver or executor.
    pub role: Role,
    /// What one pod of the role asks for, before pod overhead.
    pub pod: PodDemand,
    /// Whether some eligible pool fits one pod.
    pub fits: bool,
    /// One row per usable pool, in the order given.
    pub pools: Vec<PoolFit>,
}

/// Whether the most executors the job may run can all be placed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The most executors the job may run.
    pub executors: u32,
    /// The most executors the pools hold beside the driver; none when a pool
    /// that fits executors has no `maxNodes`.
    pub capacity: Option<u64>,
    /// The pool the driver was placed on to reach `capacity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_pool: Option<String>,
    /// Whether `executors` ≤ `capacity` (false when driver or executor fits nowhere).
    pub fits: bool,
}

/// One resource of a ResourceQuota against the job at its largest.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaRow {
    /// The quota's key: `requests.cpu`, `limits.memory`, `pods`, `requests.nvidia.com/gpu`, …
    pub resource: String,
    /// What the job needs with the driver and its most executors running.
    pub needed: String,
    /// What the quota leaves: hard − used.
    pub available: String,
    /// The quota's hard limit.
    pub hard: String,
    /// What is already used, when the quota's status says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<String>,
    /// Whether needed ≤ available.
    pub ok: bool,
}

/// The answer of `sparkplane fit`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FitReport {
    /// Whether the job fits: no problem is an error.
    pub fits: bool,
    /// The driver on each pool.
    pub driver: RoleFit,
    /// An executor on each pool.
    pub executor: RoleFit,
    /// The most executors against the pools' node limits.
    pub placement: Placement,
    /// The job at its largest against the quota (empty without a quota).
    pub quota: Vec<QuotaRow>,
    /// What does not fit and how to fix it.
    #[serde(serialize_with = "serialize_problems")]
    pub problems: Vec<Diagnostic>,
}

fn serialize_problems<S: Serializer>(problems: &[Diagnostic], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(problems.iter().map(Diagnostic::to_json))
}

/// Whether `toleration` tolerates `taint`, by Kubernetes' rules: an effect,
/// when set, must match; a key, when set, must match (an empty key with
/// `Exists` tolerates every taint); `Exists` matches any value, `Equal` (the
/// default) the same value.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    fn set(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|s| !s.is_empty())
    }
    if set(&toleration.effect).is_some_and(|effect| effect != taint.effect) {
        return false;
    }
    if set(&toleration.key).is_some_and(|key| key != taint.key) {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "Exists" => true,
        "" | "Equal" => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// Whether a taint keeps pods that do not tolerate it off a node
/// (`PreferNoSchedule` only discourages).
fn taint_repels(taint: &Taint) -> bool {
    matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
}

fn taint_text(taint: &Taint) -> String {
    match taint.value.as_deref().filter(|v| !v.is_empty()) {
        Some(value) => format!("{}={value}:{}", taint.key, taint.effect),
        None => format!("{}:{}", taint.key, taint.effect),
    }
}

// ---------------------------------------------------------------------------
// Formatting in the user's words.

fn fmt_cpu(cpu: CpuAmount) -> String {
    let millis = cpu.millis();
    if millis.is_multiple_of(1000) {
        format!("{} CPU", millis / 1000)
    } else {
        let text = format!("{}.{:03}", millis / 1000, millis % 1000);
        format!("{} CPU", text.trim_end_matches('0'))
    }
}

fn fmt_mem(memory: MemorySize) -> String {
    let mib = memory.mib();
    if mib < 1024 {
        return format!("{mib} MiB");
    }
    let tenths = (mib * 10 + 512) / 1024;
    if tenths.is_multiple_of(10) {
        format!("{} GiB", tenths / 10)
    } else {
        format!("{}.{} GiB", tenths / 10, tenths % 10)
    }
}

/// Two memory sizes that read differently even when they round alike.
fn fmt_mem_pair(a: MemorySize, b: MemorySize) -> (String, String) {
    let (x, y) = (fmt_mem(a), fmt_mem(b));
    if x == y && a != b { (format!("{} MiB", a.mib()), format!("{} MiB", b.mib())) } else { (x, y) }
}

/// A heap no larger than `memory`, in the spelling users write (`6.2g`, `900m`).
fn spark_memory_at_most(memory: MemorySize) -> String {
    let mib = memory.mib();
    if mib < 1024 {
        return format!("{mib}m");
    }
    let tenths = mib * 10 / 1024;
    if tenths.is_multiple_of(10) { format!("{}g", tenths / 10) } else { format!("{}.{}g", tenths / 10, tenths % 10) }
}

// ---------------------------------------------------------------------------
// Pools, read once into numbers.

/// Reads a pool's quantity map (allocatable, reserved or pod overhead).
fn read_amounts(
    map: &BTreeMap<String, Quantity>,
    rounding: Rounding,
    path: &str,
    pool: &str,
    problems: &mut Vec<Diagnostic>,
) -> NodeCapacity {
    let mut out = NodeCapacity::default();
    for (key, quantity) in map {
        let result = match key.as_str() {
            "cpu" => kube_quantity::cpu_amount(quantity, rounding).map(|v| out.cpu = v),
            "memory" => kube_quantity::memory_size(quantity, rounding).map(|v| out.memory = v),
            "pods" => kube_quantity::count(quantity, rounding).map(|v| out.pods = Some(v)),
            // Extended resources are domain-prefixed; others (ephemeral-storage,
            // hugepages-*) are not what Spark pods are sized by.
            name if name.contains('/') => kube_quantity::count(quantity, rounding).map(|v| {
                out.extended.insert(name.to_string(), v);
            }),
            _ => Ok(()),
        };
        if let Err(err) = result {
            problems.push(
                Diagnostic::error("bad-node-pool", format!("{path}.{key}"), format!("pool {pool}: {err}"))
                    .with_help("fix the quantity in the node pools"),
            );
        }
    }
    out
}

/// A pool with its quantities read.
struct Shape<'a> {
    pool: &'a NodePool,
    allocatable: NodeCapacity,
    reserved: NodeCapacity,
    usable: NodeCapacity,
    overhead: PodDemand,
}

impl Shape<'_> {
    /// "pool general: 8 GiB allocatable − 512 MiB reserved"
    fn origin(&self, resource: &str) -> String {
        let (allocatable, reserved) = match resource {
            "cpu" => {
                (fmt_cpu(self.allocatable.cpu), (self.reserved.cpu.millis() > 0).then(|| fmt_cpu(self.reserved.cpu)))
            }
            "memory" => (
                fmt_mem(self.allocatable.memory),
                (self.reserved.memory.mib() > 0).then(|| fmt_mem(self.reserved.memory)),
            ),
            name => (
                format!("{} {name}", self.allocatable.extended.get(name).copied().unwrap_or(0)),
                self.reserved.extended.get(name).filter(|n| **n > 0).map(|n| format!("{n} {name}")),
            ),
        };
        match reserved {
            Some(reserved) => format!("pool {}: {allocatable} allocatable − {reserved} reserved", self.pool.name),
            None => format!("pool {}: {allocatable} allocatable", self.pool.name),
        }
    }

    /// Room on one node for the pod itself in `resource` (pod overhead taken off).
    fn room(&self, resource: &str) -> u64 {
        match resource {
            "cpu" => self.usable.cpu.millis().saturating_sub(self.overhead.cpu.millis()),
            "memory" => self.usable.memory.mib().saturating_sub(self.overhead.memory.mib()),
            name => self
                .usable
                .extended
                .get(name)
                .copied()
                .unwrap_or(0)
                .saturating_sub(self.overhead.extended.get(name).copied().unwrap_or(0)),
        }
    }
}

/// The room one pod has on a node of each pool (allocatable − reserved − pod
/// overhead), and whether the pool is tainted against ordinary pods — what
/// `size --nodes` keeps a recommendation within.
pub fn pod_room(pools: &[NodePool]) -> Result<Vec<(String, bool, NodeLimit)>, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut rooms = Vec::new();
    for (index, pool) in pools.iter().enumerate() {
        if let Some(shape) = read_shape(index, pool, &mut problems) {
            let tainted = pool.taints.iter().any(|t| t.effect == "NoSchedule" || t.effect == "NoExecute");
            let limit = NodeLimit {
                cpu: CpuAmount::from_millis(shape.room("cpu")),
                memory: MemorySize::from_mib(shape.room("memory")),
            };
            rooms.push((pool.name.clone(), tainted, limit));
        }
    }
    if problems.is_empty() { Ok(rooms) } else { Err(problems) }
}

/// The pool a general job lands on: the untainted one with the most room
/// per pod (memory, then CPU), or the roomiest of all when every pool is
/// tainted; `None` when no pool is listed. Its name and room.
pub fn general_pool(pools: &[NodePool]) -> Result<Option<(String, NodeLimit)>, Vec<Diagnostic>> {
    let rooms = pod_room(pools)?;
    let best = |untainted_only: bool| {
        rooms
            .iter()
            .filter(|(_, tainted, _)| !untainted_only || !tainted)
            .max_by_key(|(_, _, room)| (room.memory, room.cpu))
            .cloned()
    };
    Ok(best(true).or_else(|| best(false)).map(|(name, _, room)| (name, room)))
}

fn read_shape<'a>(index: usize, pool: &'a NodePool, problems: &mut Vec<Diagnostic>) -> Option<Shape<'a>> {
    let before = problems.len();
    let path = format!("pools[{index}]");
    let name = &pool.name;
    let allocatable = read_amounts(&pool.allocatable, Rounding::Down, &format!("{path}.allocatable"), name, problems);
    let reserved = read_amounts(&pool.reserved, Rounding::Up, &format!("{path}.reserved"), name, problems);
    let overhead = read_amounts(&pool.pod_overhead, Rounding::Up, &format!("{path}.podOverhead"), name, problems);
    for resource in ["cpu", "memory"] {
        if !pool.allocatable.contains_key(resource) {
            problems.push(
                Diagnostic::error(
                    "bad-node-pool",
                    format!("{path}.allocatable"),
                    format!("pool {name}: allocatable does not say how much {resource} a node has"),
                )
                .with_help(format!("add `{resource}` to the pool's allocatable (see `kubectl describe node`)")),
            );
        }
    }
    if problems.len() > before {
        return None;
    }
    let usable = allocatable.minus(reserved.cpu, reserved.memory, &reserved.extended, reserved.pods.unwrap_or(0));
    let overhead = PodDemand { cpu: overhead.cpu, memory: overhead.memory, extended: overhead.extended };
    Some(Shape { pool, allocatable, reserved, usable, overhead })
}

// ---------------------------------------------------------------------------
// Eligibility.

/// A role's scheduling constraints: the job's merged with the role's.
struct Constraints {
    /// label → (value, whether the role's own selector set it)
    selector: BTreeMap<String, (String, bool)>,
    tolerations: Vec<Toleration>,
}

fn constraints(spec: &SparkJobSpec, role: Role) -> Constraints {
    let mut selector: BTreeMap<String, (String, bool)> =
        spec.node_selector.iter().map(|(k, v)| (k.clone(), (v.clone(), false))).collect();
    let mut tolerations = spec.tolerations.clone();
    if let Some(role_spec) = role.role_spec(spec) {
        selector.extend(role_spec.node_selector.iter().map(|(k, v)| (k.clone(), (v.clone(), true))));
        tolerations.extend(role_spec.tolerations.iter().cloned());
    }
    Constraints { selector, tolerations }
}

/// Why a pool refuses a role's pods (empty when it accepts them).
fn refusals(pool: &NodePool, constraints: &Constraints, role: Role) -> Vec<String> {
    let mut out = Vec::new();
    for (key, (want, _)) in &constraints.selector {
        match pool.labels.get(key) {
            Some(have) if have == want => {}
            Some(have) => out.push(format!("node selector wants {key}={want}, nodes have {key}={have}")),
            None => out.push(format!("node selector wants {key}={want}, nodes have no {key} label")),
        }
    }
    for taint in pool.taints.iter().filter(|t| taint_repels(t)) {
        if !constraints.tolerations.iter().any(|t| tolerates(t, taint)) {
            out.push(format!("taint {} is not tolerated by the {}", taint_text(taint), role.as_str()));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Packing.

/// How many pods needing `need` fit in `room`, and what bounds the number.
fn pods_per_node(room: &NodeCapacity, need: &PodDemand) -> (u64, Option<String>) {
    let mut dims: Vec<(String, u64, u64)> = vec![
        ("cpu".to_string(), room.cpu.millis(), need.cpu.millis()),
        ("memory".to_string(), room.memory.mib(), need.memory.mib()),
    ];
    for (name, amount) in &need.extended {
        dims.push((name.clone(), room.extended.get(name).copied().unwrap_or(0), *amount));
    }
    if let Some(pods) = room.pods {
        dims.push(("pods".to_string(), pods, 1));
    }
    let mut best: (u64, Option<String>) = (u64::MAX, None);
    for (name, have, want) in dims {
        if want > 0 && have / want < best.0 {
            best = (have / want, Some(name));
        }
    }
    best
}

fn shortfalls(room: &NodeCapacity, need: &PodDemand) -> Vec<String> {
    let mut out = Vec::new();
    if need.cpu > room.cpu {
        out.push(format!("needs {}, nodes have {} free for pods", fmt_cpu(need.cpu), fmt_cpu(room.cpu)));
    }
    if need.memory > room.memory {
        let (need, room) = fmt_mem_pair(need.memory, room.memory);
        out.push(format!("needs {need} memory, nodes have {room} free for pods"));
    }
    for (name, amount) in &need.extended {
        let have = room.extended.get(name).copied().unwrap_or(0);
        if *amount > have {
            out.push(format!("needs {amount} {name}, nodes have {have}"));
        }
    }
    if room.pods == Some(0) {
        out.push("nodes have no free pod slots".to_string());
    }
    out
}

fn role_fit(role: Role, pod: &PodResources, constraints: &Constraints, shapes: &[Shape]) -> RoleFit {
    let demand = PodDemand::of_pod(pod);
    let pools: Vec<PoolFit> = shapes
        .iter()
        .map(|shape| {
            let not_eligible_because = refusals(shape.pool, constraints, role);
            let needs = demand.plus(&shape.overhead);
            let (per_node, limited_by) = pods_per_node(&shape.usable, &needs);
            let eligible = not_eligible_because.is_empty();
            PoolFit {
                pool: shape.pool.name.clone(),
                eligible,
                not_eligible_because,
                usable: shape.usable.clone(),
                fits: eligible && per_node >= 1,
                per_node,
                limited_by,
                shortfalls: shortfalls(&shape.usable, &needs),
                needs,
                max_nodes: shape.pool.max_nodes,
            }
        })
        .collect();
    RoleFit { role, pod: demand, fits: pools.iter().any(|p| p.fits), pools }
}

// ---------------------------------------------------------------------------
// Why a role does not fit, and what to change.

fn memory_breakdown(pod: &PodResources, pod_overhead: MemorySize) -> String {
    let mut parts = vec![format!("heap {}", fmt_mem(pod.heap)), format!("overhead {}", fmt_mem(pod.overhead))];
    for (what, size) in [("PySpark", pod.pyspark), ("off-heap", pod.off_heap), ("pod overhead", pod_overhead)] {
        if size.mib() > 0 {
            parts.push(format!("{what} {}", fmt_mem(size)));
        }
    }
    parts.join(" + ")
}

fn explain_memory(role: Role, pod: &PodResources, best: &Shape) -> Diagnostic {
    let need = pod.pod_memory.saturating_add(best.overhead.memory);
    let (need_text, room_text) = fmt_mem_pair(need, best.usable.memory);
    let path = format!("{}.memory", role.spec_path());
    let message = format!(
        "{} needs {need_text} memory ({}); the largest eligible node has {room_text} free for pods ({})",
        role.as_str(),
        memory_breakdown(pod, best.overhead.memory),
        best.origin("memory"),
    );
    let budget = MemorySize::from_mib(best.room("memory").saturating_sub(pod.pyspark.mib() + pod.off_heap.mib()));
    let (explicit, factor) = match pod.overhead_rule {
        OverheadRule::Explicit => (Some(pod.overhead), 0.0),
        OverheadRule::Factor { factor, .. } => (None, factor),
    };
    let help = match largest_heap_within(budget, explicit, factor).filter(|heap| heap.mib() > 0) {
        Some(heap) => format!("lower {path} to at most {} or use a pool with more memory", spark_memory_at_most(heap)),
        None => format!(
            "even with no heap, the {}'s other memory does not fit: lower {}.memoryOverhead, pysparkMemory or \
             offHeapMemory, or use a pool with more memory",
            role.as_str(),
            role.spec_path()
        ),
    };
    Diagnostic::error("does-not-fit", path, message).with_help(help)
}

fn explain_cpu(role: Role, spec: &SparkJobSpec, pod: &PodResources, best: &Shape) -> Diagnostic {
    let need = CpuAmount::from_millis(pod.cpu_request.millis() + best.overhead.cpu.millis());
    let has_core_request = role.role_spec(spec).is_some_and(|r| r.core_request.is_some());
    let asked = if has_core_request {
        format!("coreRequest {}", pod.cpu_request)
    } else {
        format!("{} cores", pod.spark_cores)
    };
    let pod_overhead = if best.overhead.cpu.millis() > 0 {
        format!(" + pod overhead {}", fmt_cpu(best.overhead.cpu))
    } else {
        String::new()
    };
    let message = format!(
        "{} needs {} ({asked}{pod_overhead}); the largest eligible node has {} free for pods ({})",
        role.as_str(),
        fmt_cpu(need),
        fmt_cpu(best.usable.cpu),
        best.origin("cpu"),
    );
    let room = best.room("cpu");
    let (path, help) = if has_core_request || room < 1000 {
        let path = format!("{}.coreRequest", role.spec_path());
        let help = if room > 0 {
            format!("set {path} to at most {} or use a pool with more CPU", CpuAmount::from_millis(room))
        } else {
            "use a pool with more CPU".to_string()
        };
        (path, help)
    } else {
        let path = format!("{}.cores", role.spec_path());
        let help = format!("lower {path} to at most {} or use a pool with more CPU", room / 1000);
        (path, help)
    };
    Diagnostic::error("does-not-fit", path, message).with_help(help)
}

fn explain_extended(role: Role, name: &str, amount: u64, shapes: &[Shape], rows: &[PoolFit]) -> Diagnostic {
    let path = format!("{}.gpu", role.spec_path());
    let having: Vec<usize> =
        (0..shapes.len()).filter(|&i| shapes[i].usable.extended.get(name).is_some_and(|n| *n > 0)).collect();
    if having.is_empty() {
        return Diagnostic::error(
            "does-not-fit",
            path.clone(),
            format!("{} needs {amount} {name}, but no node pool has {name}", role.as_str()),
        )
        .with_help(format!("add a pool with {name} to the node pools, or remove {path}"));
    }
    let eligible: Vec<usize> = having.iter().copied().filter(|&i| rows[i].eligible).collect();
    if eligible.is_empty() {
        let why: Vec<String> = having
            .iter()
            .map(|&i| format!("{}: {}", shapes[i].pool.name, rows[i].not_eligible_because.join("; ")))
            .collect();
        return Diagnostic::error(
            "does-not-fit",
            path,
            format!(
                "{} needs {amount} {name}; the pools that have {name} do not accept it ({})",
                role.as_str(),
                why.join("; ")
            ),
        )
        .with_help(format!(
            "add tolerations to {role}.tolerations or labels to {role}.nodeSelector that match a {name} pool",
            role = role.spec_path()
        ));
    }
    let best = eligible.iter().copied().max_by_key(|&i| shapes[i].room(name)).unwrap_or(eligible[0]);
    let room = shapes[best].room(name);
    let help = if room > 0 {
        format!("lower {path}.amount to at most {room} or use a pool with more {name}")
    } else {
        format!("use a pool with more {name}")
    };
    Diagnostic::error(
        "does-not-fit",
        format!("{path}.amount"),
        format!(
            "{} needs {amount} {name}; the largest eligible node has {room} ({})",
            role.as_str(),
            shapes[best].origin(name)
        ),
    )
    .with_help(help)
}

fn explain_role(
    role: Role,
    spec: &SparkJobSpec,
    pod: &PodResources,
    fit: &RoleFit,
    constraints: &Constraints,
    shapes: &[Shape],
) -> Vec<Diagnostic> {
    if fit.fits || shapes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let eligible: Vec<usize> = (0..shapes.len()).filter(|&i| fit.pools[i].eligible).collect();
    let demand = &fit.pod;
    if eligible.is_empty() {
        let role_selector = constraints.selector.values().any(|(_, from_role)| *from_role);
        let wants_label =
            fit.pools.iter().any(|p| p.not_eligible_because.iter().any(|r| r.starts_with("node selector")));
        let path = match (wants_label, role_selector) {
            (true, true) => format!("{}.nodeSelector", role.spec_path()),
            (true, false) => "spec.nodeSelector".to_string(),
            (false, _) => format!("{}.tolerations", role.spec_path()),
        };
        let why: Vec<String> =
            fit.pools.iter().map(|p| format!("{}: {}", p.pool, p.not_eligible_because.join("; "))).collect();
        out.push(
            Diagnostic::error(
                "no-eligible-pool",
                path,
                format!("no node pool accepts the {} ({})", role.as_str(), why.join("; ")),
            )
            .with_help("change the node selector or add tolerations so that at least one pool matches"),
        );
    } else {
        let best_for = |resource: &str| eligible.iter().copied().max_by_key(|&i| shapes[i].room(resource));
        if let Some(best) = best_for("cpu").filter(|&i| demand.cpu.millis() > shapes[i].room("cpu")) {
            out.push(explain_cpu(role, spec, pod, &shapes[best]));
        }
        if let Some(best) = best_for("memory").filter(|&i| demand.memory.mib() > shapes[i].room("memory")) {
            out.push(explain_memory(role, pod, &shapes[best]));
        }
    }
    for (name, amount) in &demand.extended {
        let room = eligible.iter().map(|&i| shapes[i].room(name)).max().unwrap_or(0);
        let anywhere = shapes.iter().any(|s| s.usable.extended.get(name).is_some_and(|n| *n > 0));
        // With no eligible pool, a missing resource is news only when no pool has it at all.
        if *amount > room && (!eligible.is_empty() || !anywhere) {
            out.push(explain_extended(role, name, *amount, shapes, &fit.pools));
        }
    }
    if out.is_empty() {
        // Every resource fits on some eligible pool, but no pool has all of them.
        let why: Vec<String> = eligible
            .iter()
            .map(|&i| format!("{}: {}", fit.pools[i].pool, fit.pools[i].shortfalls.join(", ")))
            .collect();
        out.push(
            Diagnostic::error(
                "does-not-fit",
                role.spec_path(),
                format!("no eligible pool has room for the {} ({})", role.as_str(), why.join("; ")),
            )
            .with_help("make the pod smaller in the resource each pool lacks, or use a pool that has it all"),
        );
    }
    out
}

// ---------------------------------------------------------------------------
// Placement of the most executors.

fn executors_path(sized: &SizedJob) -> &'static str {
    if sized.executors.dynamic { "spec.dynamicAllocation.maxExecutors" } else { "spec.executor.instances" }
}

fn place(sized: &SizedJob, driver: &RoleFit, executor: &RoleFit, shapes: &[Shape]) -> (Placement, Option<Diagnostic>) {
    let executors = sized.executors.max;
    let mut placement = Placement { executors, capacity: Some(0), driver_pool: None, fits: false };
    if !driver.fits || !executor.fits {
        return (placement, None);
    }
    let pool_capacity =
        |i: usize, per_node: u64| shapes[i].pool.max_nodes.map(|n| per_node.saturating_mul(u64::from(n)));
    // The driver takes one node's room; try it on each pool that fits it and keep the best.
    let mut best: Option<(Option<u64>, usize)> = None;
    for d in (0..shapes.len()).filter(|&i| driver.pools[i].fits && shapes[i].pool.max_nodes != Some(0)) {
        let mut total = Some(0u64);
        for (e, row) in executor.pools.iter().enumerate().filter(|(_, row)| row.fits) {
            let mut cap = pool_capacity(e, row.per_node);
            if e == d {
                let driver_needs = &driver.pools[d].needs;
                let left = shapes[e].usable.minus(driver_needs.cpu, driver_needs.memory, &driver_needs.extended, 1);
                let beside_driver = pods_per_node(&left, &row.needs).0.min(row.per_node);
                cap = cap.map(|c| c.saturating_sub(row.per_node - beside_driver));
            }
            total = match (total, cap) {
                (Some(t), Some(c)) => Some(t.saturating_add(c)),
                _ => None,
            };
        }
        let better = match best {
            None => true,
            Some((held, _)) => match (total, held) {
                (None, Some(_)) => true,
                (Some(t), Some(h)) => t > h,
                _ => false,
            },
        };
        if better {
            best = Some((total, d));
        }
    }
    let Some((capacity, driver_at)) = best else {
        return (placement, None);
    };
    placement.capacity = capacity;
    placement.driver_pool = Some(shapes[driver_at].pool.name.clone());
    placement.fits = capacity.is_none_or(|c| c >= u64::from(executors));
    if placement.fits {
        return (placement, None);
    }
    let cap = capacity.unwrap_or(0);
    let parts: Vec<String> = executor
        .pools
        .iter()
        .filter(|row| row.fits)
        .map(|row| format!("{}: {} per node × {} nodes", row.pool, row.per_node, row.max_nodes.unwrap_or(0)))
        .collect();
    let path = executors_path(sized);
    let diagnostic = Diagnostic::error(
        "exceeds-pool-capacity",
        path,
        format!(
            "the job may run {executors} executors, but the eligible pools hold at most {cap} beside the driver ({})",
            parts.join("; ")
        ),
    )
    .with_help(format!("lower {path} to at most {cap}, or raise maxNodes of a pool that fits executors"));
    (placement, Some(diagnostic))
}

// ---------------------------------------------------------------------------
// Quota.

#[derive(Clone, Copy)]
enum QuotaKind {
    Cpu,
    CpuLimit,
    Memory,
    Pods,
    Extended,
}

fn quota_kind(key: &str) -> Option<(QuotaKind, Option<&str>)> {
    match key {
        "cpu" | "requests.cpu" => Some((QuotaKind::Cpu, None)),
        "limits.cpu" => Some((QuotaKind::CpuLimit, None)),
        // Sparkplane sets memory limit = request, so both quotas count the same.
        "memory" | "requests.memory" | "limits.memory" => Some((QuotaKind::Memory, None)),
        "pods" => Some((QuotaKind::Pods, None)),
        _ => key
            .strip_prefix("requests.")
            .filter(|name| name.contains('/'))
            .map(|name| (QuotaKind::Extended, Some(name))),
    }
}

/// The largest pod overhead among the pools a role fits on (Kubernetes counts
/// pod overhead against quota).
fn quota_overhead(fit: &RoleFit, shapes: &[Shape]) -> PodDemand {
    let mut out = PodDemand::default();
    for i in (0..fit.pools.len()).filter(|&i| fit.pools[i].fits) {
        out.cpu = out.cpu.max(shapes[i].overhead.cpu);
        out.memory = out.memory.max(shapes[i].overhead.memory);
    }
    out
}

fn check_quota(
    quota: &ResourceQuota,
    sized: &SizedJob,
    overheads: (&PodDemand, &PodDemand),
    problems: &mut Vec<Diagnostic>,
) -> Vec<QuotaRow> {
    let mut rows = Vec::new();
    let Some(hard) = quota.spec.as_ref().and_then(|s| s.hard.as_ref()) else {
        return rows;
    };
    let used = quota.status.as_ref().and_then(|s| s.used.as_ref());
    let n = u64::from(sized.executors.max);
    let (driver, executor) = (&sized.driver, &sized.executor);
    let (d_over, e_over) = overheads;
    for (key, hard_q) in hard {
        let Some((kind, extended)) = quota_kind(key) else {
            continue;
        };
        let used_q = used.and_then(|u| u.get(key));
        let read = |q: &Quantity, rounding: Rounding| -> Result<u64, String> {
            let result = match kind {
                QuotaKind::Cpu | QuotaKind::CpuLimit => kube_quantity::cpu_amount(q, rounding).map(|c| c.millis()),
                QuotaKind::Memory => kube_quantity::memory_size(q, rounding).map(|m| m.mib()),
                QuotaKind::Pods | QuotaKind::Extended => kube_quantity::count(q, rounding),
            };
            result.map_err(|e| e.0)
        };
        let hard_v = read(hard_q, Rounding::Down);
        let used_v = used_q.map(|q| read(q, Rounding::Up)).transpose();
        let (hard_v, used_v) = match (hard_v, used_v) {
            (Ok(h), Ok(u)) => (h, u),
            (Err(err), _) | (_, Err(err)) => {
                problems.push(
                    Diagnostic::error("bad-quota", format!("quota.spec.hard.{key}"), format!("quota {key}: {err}"))
                        .with_help("fix the quantity in the ResourceQuota"),
                );
                continue;
            }
        };
        let per_pod = |pod: &PodResources, over: &PodDemand| -> Option<u64> {
            match kind {
                QuotaKind::Cpu => Some(pod.cpu_request.millis() + over.cpu.millis()),
                QuotaKind::CpuLimit => pod.cpu_limit.map(|l| l.millis() + over.cpu.millis()),
                QuotaKind::Memory => Some(pod.pod_memory.mib() + over.memory.mib()),
                QuotaKind::Pods => Some(1),
                QuotaKind::Extended => Some(
                    pod.gpu.as_ref().filter(|g| Some(g.name.as_str()) == extended).map_or(0, |g| u64::from(g.amount)),
                ),
            }
        };
        let (Some(need_driver), Some(need_executor)) = (per_pod(driver, d_over), per_pod(executor, e_over)) else {
            let role = if driver.cpu_limit.is_none() { Role::Driver } else { Role::Executor };
            problems.push(
                Diagnostic::warning(
                    "quota-needs-limits",
                    format!("{}.coreLimit", role.spec_path()),
                    format!(
                        "the quota limits {key}, so Kubernetes refuses pods without a CPU limit unless a LimitRange gives \
                         them one, and the job sets none for the {}",
                        role.as_str()
                    ),
                )
                .with_help("set spec.driver.coreLimit and spec.executor.coreLimit, or check the namespace's LimitRange"),
            );
            continue;
        };
        let need_total = need_driver.saturating_add(n.saturating_mul(need_executor));
        let available = hard_v.saturating_sub(used_v.unwrap_or(0));
        let spell = |v: u64| match kind {
            QuotaKind::Cpu | QuotaKind::CpuLimit => CpuAmount::from_millis(v).to_kubernetes(),
            QuotaKind::Memory => MemorySize::from_mib(v).to_kubernetes(),
            QuotaKind::Pods | QuotaKind::Extended => v.to_string(),
        };
        let human = |v: u64| match kind {
            QuotaKind::Cpu | QuotaKind::CpuLimit => fmt_cpu(CpuAmount::from_millis(v)),
            QuotaKind::Memory => fmt_mem(MemorySize::from_mib(v)),
            QuotaKind::Pods => format!("{v} pods"),
            QuotaKind::Extended => format!("{v} {}", extended.unwrap_or_default()),
        };
        let ok = need_total <= available;
        rows.push(QuotaRow {
            resource: key.clone(),
            needed: spell(need_total),
            available: spell(available),
            hard: spell(hard_v),
            used: used_v.map(spell),
            ok,
        });
        if ok {
            continue;
        }
        let path = executors_path(sized);
        let left = match used_v {
            Some(u) => format!("{} (hard {} − used {})", human(available), human(hard_v), human(u)),
            None => human(available),
        };
        let message = format!(
            "the job needs {} of {key} at its largest (driver {} + {n} executors × {}), but the quota leaves {left}",
            human(need_total),
            human(need_driver),
            human(need_executor),
        );
        // Under dynamic allocation, maxExecutors cannot go below minExecutors.
        let fewest = if sized.executors.dynamic { u64::from(sized.executors.min.max(1)) } else { 1 };
        let help = match available.checked_sub(need_driver).map(|rest| rest.checked_div(need_executor)) {
            Some(Some(most)) if most >= fewest => {
                format!("lower {path} to at most {most}, or ask for more {key} quota")
            }
            Some(None) => format!("the driver alone needs {}; ask for more {key} quota", human(need_driver)),
            _ => format!(
                "even the driver and {fewest} executor(s) need {}; make the pods smaller or ask for more {key} quota",
                human(need_driver.saturating_add(fewest.saturating_mul(need_executor)))
            ),
        };
        problems.push(Diagnostic::error("exceeds-quota", path, message).with_help(help));
    }
    rows
}

// ---------------------------------------------------------------------------
// The check.

/// Checks that the job `sized` from `spec` fits `pools` and, when given, `quota`.
///
/// `spec` supplies the scheduling constraints (job and role node selectors
/// and tolerations) and the spellings to suggest fixes in; `sized` the pod
/// resources. Pools whose quantities cannot be read are reported and left out.
pub fn check_fit(
    spec: &SparkJobSpec,
    sized: &SizedJob,
    pools: &[NodePool],
    quota: Option<&ResourceQuota>,
) -> FitReport {
    let mut problems = Vec::new();
    let shapes: Vec<Shape> =
        pools.iter().enumerate().filter_map(|(i, pool)| read_shape(i, pool, &mut problems)).collect();
    if pools.is_empty() {
        problems.push(
            Diagnostic::error("no-node-pools", "", "no node pools were given, so nothing can be placed")
                .with_help("pass a NodePools file or the output of `kubectl get nodes -o yaml`"),
        );
    }
    let driver_constraints = constraints(spec, Role::Driver);
    let executor_constraints = constraints(spec, Role::Executor);
    let driver = role_fit(Role::Driver, &sized.driver, &driver_constraints, &shapes);
    let executor = role_fit(Role::Executor, &sized.executor, &executor_constraints, &shapes);
    problems.extend(explain_role(Role::Driver, spec, &sized.driver, &driver, &driver_constraints, &shapes));
    problems.extend(explain_role(Role::Executor, spec, &sized.executor, &executor, &executor_constraints, &shapes));
    let (placement, placement_problem) = place(sized, &driver, &executor, &shapes);
    problems.extend(placement_problem);
    let quota = quota
        .map(|q| {
            let overheads = (quota_overhead(&driver, &shapes), quota_overhead(&executor, &shapes));
            check_quota(q, sized, (&overheads.0, &overheads.1), &mut problems)
        })
        .unwrap_or_default();
    let fits = !problems.iter().any(|p| p.severity == Severity::Error);
    FitReport { fits, driver, executor, placement, quota, problems }
}

/// Checks only the quota: the job at its largest (driver and most executors)
/// against `quota`, without node pools (so without pool pod overhead). The
/// same check [`check_fit`] makes; the quota-fit policy uses it.
pub fn check_quota_fit(sized: &SizedJob, quota: &ResourceQuota) -> (Vec<QuotaRow>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let none = PodDemand::default();
    let rows = check_quota(quota, sized, (&none, &none), &mut problems);
    (rows, problems)
}

// ---------------------------------------------------------------------------
// `kubectl get nodes` → node pools.

type GroupKey = (String, Vec<(String, String)>, Vec<(String, String, String)>);

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
fn least_allocatable(nodes: &[Node]) -> Result<BTreeMap<String, Quantity>, String> {
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
fn shared_labels(nodes: &[Node]) -> BTreeMap<String, String> {
    let mut labels = nodes.first().and_then(|n| n.metadata.labels.clone()).unwrap_or_default();
    for node in nodes.iter().skip(1) {
        let theirs = node.metadata.labels.as_ref();
        labels.retain(|k, v| theirs.and_then(|l| l.get(k)) == Some(v));
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ResourceQuotaSpec, ResourceQuotaStatus};
    use serde_json::json;
    use sparkplane_api::job::{AppType, DriverSpec, DynamicAllocation, ExecutorSpec, Gpu};
    use sparkplane_api::{NodePools, Preset};

    use crate::sizing::size_job;
    use crate::source::Source;

    fn mem(text: &str) -> MemorySize {
        text.parse().unwrap()
    }

    fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
    }

    fn pool(name: &str, allocatable: &[(&str, &str)], reserved: &[(&str, &str)]) -> NodePool {
        NodePool {
            name: name.to_string(),
            allocatable: quantities(allocatable),
            reserved: quantities(reserved),
            ..Default::default()
        }
    }

    #[test]
    fn a_general_job_lands_on_the_roomiest_untainted_pool_or_the_roomiest_of_all() {
        let small = pool("small", &[("cpu", "4"), ("memory", "16Gi")], &[]);
        let big = pool("big", &[("cpu", "8"), ("memory", "64Gi")], &[]);
        let mut gpu = pool("gpu", &[("cpu", "16"), ("memory", "128Gi")], &[]);
        gpu.taints = vec![taint("gpu", None, "NoSchedule")];
        let chosen = |pools: &[NodePool]| general_pool(pools).expect("valid").map(|(name, _)| name);
        assert_eq!(chosen(&[small.clone(), gpu.clone(), big]), Some("big".to_owned()));
        assert_eq!(chosen(&[gpu.clone()]), Some("gpu".to_owned()));
        assert_eq!(chosen(&[]), None);
        let bad = pool("bad", &[("cpu", "lots")], &[]);
        assert!(general_pool(&[bad]).is_err());
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint { key: key.into(), value: value.map(Into::into), effect: effect.into(), time_added: None }
    }

    fn toleration(key: Option<&str>, operator: Option<&str>, value: Option<&str>, effect: Option<&str>) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: operator.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        }
    }

    fn executor_job(app_type: AppType, cores: u32, memory: &str, instances: u32) -> SparkJobSpec {
        SparkJobSpec {
            app_type: Some(app_type),
            executor: Some(ExecutorSpec {
                role: RoleSpec { cores: Some(cores), memory: Some(mem(memory)), ..Default::default() },
                instances: Some(instances),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn fit(spec: &SparkJobSpec, pools: &[NodePool], quota: Option<&ResourceQuota>) -> FitReport {
        check_fit(spec, &size_job(spec), pools, quota)
    }

    fn codes(report: &FitReport) -> Vec<&'static str> {
        report.problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn tolerations_match_taints_by_kubernetes_rules() {
        let gpu = taint("nvidia.com/gpu", Some("present"), "NoSchedule");
        let bare = taint("dedicated", None, "NoExecute");
        for (toleration, taint, expected) in [
            (toleration(Some("nvidia.com/gpu"), Some("Exists"), None, Some("NoSchedule")), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), Some("Exists"), None, None), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), Some("Exists"), None, Some("NoExecute")), &gpu, false),
            (toleration(Some("nvidia.com/gpu"), Some("Equal"), Some("present"), None), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), None, Some("present"), Some("NoSchedule")), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), Some("Equal"), Some("absent"), None), &gpu, false),
            (toleration(Some("nvidia.com/gpu"), Some("Equal"), None, None), &gpu, false),
            (toleration(Some("other"), Some("Exists"), None, None), &gpu, false),
            (toleration(None, Some("Exists"), None, None), &gpu, true),
            (toleration(Some(""), Some("Exists"), None, Some("NoSchedule")), &gpu, true),
            (toleration(None, Some("Exists"), None, Some("NoExecute")), &gpu, false),
            (toleration(Some("nvidia.com/gpu"), Some("Gt"), Some("present"), None), &gpu, false),
            (toleration(Some("dedicated"), Some("Equal"), None, None), &bare, true),
            (toleration(Some("dedicated"), None, Some(""), Some("NoExecute")), &bare, true),
            (toleration(Some("dedicated"), Some("Equal"), Some("x"), None), &bare, false),
        ] {
            assert_eq!(tolerates(&toleration, taint), expected, "{toleration:?} vs {taint:?}");
        }
    }

    #[test]
    fn memory_shortfall_names_the_numbers_and_a_fix_that_works() {
        let pools = [pool("general", &[("cpu", "8"), ("memory", "8Gi")], &[("memory", "512Mi")])];
        // Scala: overhead 10%; 8.5g heap + 870m overhead = 9.3 GiB.
        let mut spec = executor_job(AppType::Scala, 2, "8704m", 2);
        let report = fit(&spec, &pools, None);
        assert!(!report.fits);
        assert!(report.driver.fits);
        assert_eq!(codes(&report), ["does-not-fit"]);
        let problem = &report.problems[0];
        assert_eq!(problem.path, "spec.executor.memory");
        assert_eq!(
            problem.message,
            "executor needs 9.3 GiB memory (heap 8.5 GiB + overhead 870 MiB); the largest eligible node has 7.5 GiB \
             free for pods (pool general: 8 GiB allocatable − 512 MiB reserved)"
        );
        assert_eq!(
            problem.help.as_deref(),
            Some("lower spec.executor.memory to at most 6.8g or use a pool with more memory")
        );
        let row = &report.executor.pools[0];
        assert!(row.eligible && !row.fits);
        assert_eq!(row.per_node, 0);
        assert_eq!(row.shortfalls, ["needs 9.3 GiB memory, nodes have 7.5 GiB free for pods"]);

        // Following the help makes it fit.
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.memory = Some(mem("6.8g"));
        }
        let report = fit(&spec, &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(report.executor.pools[0].per_node, 1);
    }

    #[test]
    fn python_overhead_and_pod_overhead_count_toward_memory() {
        let mut general = pool("general", &[("cpu", "16"), ("memory", "16Gi")], &[]);
        general.pod_overhead = quantities(&[("memory", "256Mi"), ("cpu", "250m")]);
        // Python: 10g heap + 4g overhead = 14 GiB, + 256 MiB pod overhead.
        let spec = executor_job(AppType::Python, 4, "10g", 1);
        let report = fit(&spec, std::slice::from_ref(&general), None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(report.executor.pools[0].needs.memory, mem("14592m"));
        assert_eq!(report.executor.pools[0].needs.cpu.millis(), 4250);
        general.allocatable = quantities(&[("cpu", "16"), ("memory", "14Gi")]);
        let report = fit(&spec, &[general], None);
        let problem = &report.problems[0];
        assert!(
            problem.message.contains("(heap 10 GiB + overhead 4 GiB + pod overhead 256 MiB)"),
            "{}",
            problem.message
        );
        assert!(
            problem.message.contains("has 14 GiB free for pods (pool general: 14 GiB allocatable)"),
            "{}",
            problem.message
        );
        // 14336 − 256 = 14080 for heap + overhead at 0.4 → 10057 MiB = 9.8g.
        assert_eq!(
            problem.help.as_deref(),
            Some("lower spec.executor.memory to at most 9.8g or use a pool with more memory")
        );
    }

    #[test]
    fn cpu_shortfall_suggests_cores_or_a_core_request() {
        let pools = [pool("small", &[("cpu", "4"), ("memory", "32Gi")], &[("cpu", "500m")])];
        let spec = executor_job(AppType::Scala, 5, "4g", 2);
        let report = fit(&spec, &pools, None);
        let problem = &report.problems[0];
        assert_eq!(problem.path, "spec.executor.cores");
        assert_eq!(
            problem.message,
            "executor needs 5 CPU (5 cores); the largest eligible node has 3.5 CPU free for pods (pool small: 4 CPU \
             allocatable − 0.5 CPU reserved)"
        );
        assert_eq!(problem.help.as_deref(), Some("lower spec.executor.cores to at most 3 or use a pool with more CPU"));

        let mut spec = spec;
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.core_request = Some("3800m".parse().unwrap());
        }
        let report = fit(&spec, &pools, None);
        let problem = &report.problems[0];
        assert_eq!(problem.path, "spec.executor.coreRequest");
        assert!(problem.message.contains("needs 3.8 CPU (coreRequest 3800m)"), "{}", problem.message);
        assert_eq!(
            problem.help.as_deref(),
            Some("set spec.executor.coreRequest to at most 3500m or use a pool with more CPU")
        );
    }

    #[test]
    fn executors_per_node_is_the_least_over_each_resource() {
        let standard = pool(
            "standard",
            &[("cpu", "8"), ("memory", "32Gi"), ("pods", "58")],
            &[("cpu", "500m"), ("memory", "1Gi"), ("pods", "8")],
        );
        for (cores, core_request, memory, per_node, limited_by) in [
            (4, None, "8g", 1, "cpu"),
            (4, Some("3500m"), "8g", 2, "cpu"),
            (2, None, "4g", 3, "cpu"),
            (1, None, "10g", 2, "memory"),
            (1, Some("10m"), "100m", 50, "pods"),
        ] {
            let mut spec = executor_job(AppType::Python, cores, memory, 2);
            if let Some(executor) = spec.executor.as_mut() {
                executor.role.core_request = core_request.map(|c| c.parse().unwrap());
            }
            let report = fit(&spec, std::slice::from_ref(&standard), None);
            let row = &report.executor.pools[0];
            assert_eq!((row.per_node, row.limited_by.as_deref()), (per_node, Some(limited_by)), "{cores} {memory}");
            assert_eq!(row.usable.cpu.millis(), 7500);
            assert_eq!(row.usable.memory, mem("31g"));
        }
    }

    #[test]
    fn node_selectors_and_taints_decide_eligibility() {
        let mut spot = pool("spot", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        spot.labels.insert("capacity".into(), "spot".into());
        spot.taints.push(taint("spot", Some("true"), "NoSchedule"));
        let mut on_demand = pool("on-demand", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        on_demand.labels.insert("capacity".into(), "on-demand".into());
        on_demand.taints.push(taint("soft", None, "PreferNoSchedule"));
        let pools = [spot, on_demand];

        let mut spec = executor_job(AppType::Python, 2, "4g", 2);
        spec.node_selector.insert("capacity".into(), "spot".into());
        let report = fit(&spec, &pools, None);
        assert_eq!(codes(&report), ["no-eligible-pool", "no-eligible-pool"]);
        let executor_problem = &report.problems[1];
        assert_eq!(executor_problem.path, "spec.nodeSelector");
        assert_eq!(
            executor_problem.message,
            "no node pool accepts the executor (spot: taint spot=true:NoSchedule is not tolerated by the executor; \
             on-demand: node selector wants capacity=spot, nodes have capacity=on-demand)"
        );

        // Tolerating the taint for the executors only; the driver goes on demand.
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.tolerations.push(toleration(Some("spot"), Some("Exists"), None, None));
        }
        spec.node_selector.clear();
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.node_selector.insert("capacity".into(), "spot".into());
        }
        let report = fit(&spec, &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        let eligible =
            |fit: &RoleFit| fit.pools.iter().filter(|p| p.eligible).map(|p| p.pool.clone()).collect::<Vec<_>>();
        assert_eq!(eligible(&report.driver), ["on-demand"]);
        assert_eq!(eligible(&report.executor), ["spot"]);

        // A role selector that matches nothing points at the role's selector.
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.node_selector.insert("zone".into(), "a".into());
        }
        let report = fit(&spec, &pools, None);
        assert_eq!(report.problems[0].path, "spec.executor.nodeSelector");
    }

    #[test]
    fn gpu_jobs_say_when_no_pool_has_gpus_or_none_accepts_them() {
        let general = pool("general", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        let mut gpu_pool = pool("gpu", &[("cpu", "16"), ("memory", "64Gi"), ("nvidia.com/gpu", "1")], &[]);
        gpu_pool.taints.push(taint("nvidia.com/gpu", Some("present"), "NoSchedule"));
        let mut spec = executor_job(AppType::Scala, 4, "8g", 1);
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.gpu = Some(Gpu { name: "nvidia.com/gpu".into(), amount: 1, discovery_script: None });
        }

        let report = fit(&spec, std::slice::from_ref(&general), None);
        assert_eq!(codes(&report), ["does-not-fit"]);
        assert_eq!(report.problems[0].path, "spec.executor.gpu");
        assert_eq!(report.problems[0].message, "executor needs 1 nvidia.com/gpu, but no node pool has nvidia.com/gpu");

        let pools = [general.clone(), gpu_pool.clone()];
        let report = fit(&spec, &pools, None);
        assert_eq!(codes(&report), ["does-not-fit"]);
        assert_eq!(
            report.problems[0].message,
            "executor needs 1 nvidia.com/gpu; the pools that have nvidia.com/gpu do not accept it (gpu: taint \
             nvidia.com/gpu=present:NoSchedule is not tolerated by the executor)"
        );
        assert!(report.problems[0].help.as_deref().unwrap_or_default().contains("spec.executor.tolerations"));

        if let Some(executor) = spec.executor.as_mut() {
            executor.role.tolerations.push(toleration(
                Some("nvidia.com/gpu"),
                Some("Exists"),
                None,
                Some("NoSchedule"),
            ));
        }
        let report = fit(&spec, &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(
            report.executor.pools.iter().filter(|p| p.fits).map(|p| p.pool.as_str()).collect::<Vec<_>>(),
            ["gpu"]
        );
        assert_eq!(report.executor.pools[1].limited_by.as_deref(), Some("nvidia.com/gpu"));

        if let Some(executor) = spec.executor.as_mut() {
            executor.role.gpu = Some(Gpu { name: "nvidia.com/gpu".into(), amount: 2, discovery_script: None });
        }
        let report = fit(&spec, &pools, None);
        assert_eq!(report.problems[0].path, "spec.executor.gpu.amount");
        assert_eq!(
            report.problems[0].message,
            "executor needs 2 nvidia.com/gpu; the largest eligible node has 1 (pool gpu: 1 nvidia.com/gpu allocatable)"
        );
    }

    #[test]
    fn no_single_pool_with_every_resource_is_explained_per_pool() {
        let cpu_rich = pool("cpu-rich", &[("cpu", "16"), ("memory", "8Gi")], &[]);
        let mem_rich = pool("mem-rich", &[("cpu", "2"), ("memory", "64Gi")], &[]);
        let spec = executor_job(AppType::Scala, 4, "16g", 1);
        let report = fit(&spec, &[cpu_rich, mem_rich], None);
        assert_eq!(codes(&report), ["does-not-fit"]);
        assert_eq!(report.problems[0].path, "spec.executor");
        assert_eq!(
            report.problems[0].message,
            "no eligible pool has room for the executor (cpu-rich: needs 17.6 GiB memory, nodes have 8 GiB free for \
             pods; mem-rich: needs 4 CPU, nodes have 2 CPU free for pods)"
        );
    }

    #[test]
    fn placement_respects_max_nodes_and_the_drivers_room() {
        let mut standard = pool("standard", &[("cpu", "8"), ("memory", "32Gi")], &[("cpu", "500m"), ("memory", "1Gi")]);
        standard.max_nodes = Some(3);
        // 2 executors per node (3.5 CPU each); the driver (1 CPU) displaces one executor on its node.
        let mut spec = executor_job(AppType::Python, 4, "8g", 5);
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.core_request = Some("3500m".parse().unwrap());
        }
        let report = fit(&spec, &[standard.clone()], None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(
            report.placement,
            Placement { executors: 5, capacity: Some(5), driver_pool: Some("standard".into()), fits: true }
        );

        spec.dynamic_allocation = Some(DynamicAllocation {
            enabled: Some(true),
            min_executors: Some(1),
            max_executors: Some(8),
            ..Default::default()
        });
        let report = fit(&spec, &[standard.clone()], None);
        assert!(!report.fits);
        assert_eq!(codes(&report), ["exceeds-pool-capacity"]);
        assert_eq!(report.problems[0].path, "spec.dynamicAllocation.maxExecutors");
        assert_eq!(
            report.problems[0].message,
            "the job may run 8 executors, but the eligible pools hold at most 5 beside the driver (standard: 2 per node × 3 nodes)"
        );
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some(
                "lower spec.dynamicAllocation.maxExecutors to at most 5, or raise maxNodes of a pool that fits executors"
            )
        );

        // A pool the driver can use but executors cannot keeps the executors' room whole.
        let mut small = pool("small", &[("cpu", "2"), ("memory", "8Gi")], &[]);
        small.max_nodes = Some(1);
        let report = fit(&spec, &[standard.clone(), small], None);
        assert_eq!(report.placement.capacity, Some(6));
        assert_eq!(report.placement.driver_pool.as_deref(), Some("small"));

        // A pool without maxNodes holds any number.
        standard.max_nodes = None;
        let report = fit(&spec, &[standard], None);
        assert!(report.fits);
        assert_eq!(report.placement.capacity, None);
    }

    fn quota(hard: &[(&str, &str)], used: &[(&str, &str)]) -> ResourceQuota {
        ResourceQuota {
            spec: Some(ResourceQuotaSpec { hard: Some(quantities(hard)), ..Default::default() }),
            status: (!used.is_empty()).then(|| ResourceQuotaStatus { used: Some(quantities(used)), hard: None }),
            ..Default::default()
        }
    }

    #[test]
    fn quota_rows_compare_the_job_at_its_largest_with_what_is_left() {
        let pools = [pool("big", &[("cpu", "64"), ("memory", "256Gi"), ("nvidia.com/gpu", "8")], &[])];
        // Scala driver 1 CPU / 1408 MiB; executors 4 CPU / 8g + 819m = 9011 MiB, one GPU each.
        let mut spec = executor_job(AppType::Scala, 4, "8g", 3);
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.gpu = Some(Gpu { name: "nvidia.com/gpu".into(), amount: 1, discovery_script: None });
        }
        let q = quota(
            &[
                ("requests.cpu", "20"),
                ("limits.memory", "64Gi"),
                ("pods", "10"),
                ("requests.nvidia.com/gpu", "4"),
                ("count/services", "5"),
                ("requests.storage", "1Ti"),
            ],
            &[("requests.cpu", "10"), ("pods", "7"), ("requests.nvidia.com/gpu", "2")],
        );
        let report = fit(&spec, &pools, Some(&q));
        let rows: Vec<(&str, &str, &str, bool)> =
            report.quota.iter().map(|r| (r.resource.as_str(), r.needed.as_str(), r.available.as_str(), r.ok)).collect();
        assert_eq!(
            rows,
            [
                ("limits.memory", "28441Mi", "64Gi", true),
                ("pods", "4", "3", false),
                ("requests.cpu", "13", "10", false),
                ("requests.nvidia.com/gpu", "3", "2", false),
            ]
        );
        assert_eq!(codes(&report), ["exceeds-quota", "exceeds-quota", "exceeds-quota"]);
        let cpu = &report.problems[1];
        assert_eq!(cpu.path, "spec.executor.instances");
        assert_eq!(
            cpu.message,
            "the job needs 13 CPU of requests.cpu at its largest (driver 1 CPU + 3 executors × 4 CPU), but the quota \
             leaves 10 CPU (hard 20 CPU − used 10 CPU)"
        );
        assert_eq!(
            cpu.help.as_deref(),
            Some("lower spec.executor.instances to at most 2, or ask for more requests.cpu quota")
        );
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some("lower spec.executor.instances to at most 2, or ask for more pods quota")
        );
        assert!(!report.fits);
    }

    #[test]
    fn quota_without_room_for_one_executor_or_with_limits_unset() {
        let pools = [pool("big", &[("cpu", "64"), ("memory", "256Gi")], &[])];
        let spec = executor_job(AppType::Scala, 4, "8g", 3);
        let report = fit(&spec, &pools, Some(&quota(&[("cpu", "4")], &[])));
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some("even the driver and 1 executor(s) need 5 CPU; make the pods smaller or ask for more cpu quota")
        );

        let report = fit(&spec, &pools, Some(&quota(&[("limits.cpu", "100")], &[])));
        assert!(report.fits, "a missing limit is a warning");
        assert!(report.quota.is_empty());
        assert_eq!(codes(&report), ["quota-needs-limits"]);

        let report = fit(&spec, &pools, Some(&quota(&[("memory", "lots")], &[])));
        assert_eq!(codes(&report), ["bad-quota"]);
        assert_eq!(report.problems[0].path, "quota.spec.hard.memory");
        assert!(report.problems[0].message.contains("`lots` is not a Kubernetes quantity"));

        // Used above hard leaves nothing rather than wrapping around.
        let report = fit(&spec, &pools, Some(&quota(&[("pods", "2")], &[("pods", "5")])));
        assert_eq!(report.quota[0].available, "0");
    }

    #[test]
    fn unreadable_or_missing_pools_are_errors() {
        let bad = pool("bad", &[("cpu", "eight"), ("memory", "32Gi")], &[("memory", "1GB")]);
        let no_memory = pool("no-memory", &[("cpu", "8")], &[]);
        let good = pool("good", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        let spec = executor_job(AppType::Scala, 2, "2g", 1);
        let report = fit(&spec, &[bad, no_memory, good], None);
        assert!(!report.fits);
        let paths: Vec<&str> = report.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["pools[0].allocatable.cpu", "pools[0].reserved.memory", "pools[1].allocatable"]);
        assert!(report.problems[0].message.starts_with("pool bad: `eight` is not a Kubernetes quantity"));
        assert_eq!(report.problems[2].message, "pool no-memory: allocatable does not say how much memory a node has");
        // The readable pool is still checked.
        assert_eq!(report.executor.pools.len(), 1);
        assert!(report.executor.fits);

        let report = fit(&spec, &[], None);
        assert_eq!(codes(&report), ["no-node-pools"]);
    }

    #[test]
    fn report_serializes_for_json_and_yaml_output() {
        let pools = [pool("general", &[("cpu", "8"), ("memory", "8Gi")], &[("memory", "512Mi")])];
        let spec = executor_job(AppType::Scala, 2, "8704m", 2);
        let value = serde_json::to_value(fit(&spec, &pools, None)).unwrap();
        assert_eq!(value["fits"], json!(false));
        assert_eq!(value["executor"]["pools"][0]["usable"], json!({"cpu": "8", "memory": "7680Mi"}));
        assert_eq!(value["executor"]["pools"][0]["perNode"], json!(0));
        assert_eq!(value["driver"]["pools"][0]["limitedBy"], json!("memory"));
        assert_eq!(value["problems"][0]["code"], json!("does-not-fit"));
        assert_eq!(value["problems"][0]["path"], json!("spec.executor.memory"));
        assert_eq!(value["problems"][0]["severity"], json!("error"));
        assert_eq!(value["placement"]["fits"], json!(false));
        assert_eq!(value["quota"], json!([]));
    }

    fn kubectl_node(
        name: &str,
        instance: Option<&str>,
        zone: &str,
        memory: &str,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let mut labels = json!({"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, "team": "data"});
        if let Some(instance) = instance {
            labels["node.kubernetes.io/instance-type"] = json!(instance);
        }
        let mut node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {},
            "status": {"allocatable": {"cpu": "7910m", "memory": memory, "pods": "58", "ephemeral-storage": "95551679124"}}
        });
        if let Some(map) = extra.as_object() {
            for (k, v) in map {
                match k.as_str() {
                    "taints" => node["spec"]["taints"] = v.clone(),
                    "labels" => {
                        for (lk, lv) in v.as_object().into_iter().flatten() {
                            node["metadata"]["labels"][lk] = lv.clone();
                        }
                    }
                    "allocatable" => {
                        for (ak, av) in v.as_object().into_iter().flatten() {
                            node["status"]["allocatable"][ak] = av.clone();
                        }
                    }
                    _ => {}
                }
            }
        }
        node
    }

    #[test]
    fn kubectl_nodes_group_into_pools() {
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                kubectl_node("ip-1", Some("m6i.2xlarge"), "eu-west-1a", "31554752Ki", json!({})),
                kubectl_node("ip-2", Some("m6i.2xlarge"), "eu-west-1b", "31554744Ki", json!({})),
                kubectl_node("ip-3", Some("m6i.2xlarge"), "eu-west-1a", "31554752Ki",
                    json!({"labels": {"karpenter.sh/capacity-type": "spot"}})),
                kubectl_node("ip-4", Some("g5.4xlarge"), "eu-west-1a", "63000000Ki", json!({
                    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule", "timeAdded": null}],
                    "allocatable": {"nvidia.com/gpu": "1"}
                })),
                kubectl_node("worker-7", None, "eu-west-1c", "16Gi", json!({})),
            ]
        });
        let pools = pools_from_kubectl_nodes(&list).unwrap();
        let summary: Vec<(&str, Option<u32>)> = pools.iter().map(|p| (p.name.as_str(), p.max_nodes)).collect();
        assert_eq!(
            summary,
            [("g5.4xlarge", Some(1)), ("m6i.2xlarge", Some(2)), ("m6i.2xlarge-2", Some(1)), ("worker-7", Some(1))]
        );
        let general = &pools[1];
        assert_eq!(general.allocatable["memory"], Quantity("31554744Ki".into()), "the least of the group");
        assert_eq!(general.allocatable["cpu"], Quantity("7910m".into()));
        assert!(!general.labels.contains_key("kubernetes.io/hostname"));
        assert!(!general.labels.contains_key("topology.kubernetes.io/zone"), "zones differ within the pool");
        assert_eq!(general.labels.get("team").map(String::as_str), Some("data"));
        assert_eq!(pools[2].labels.get("karpenter.sh/capacity-type").map(String::as_str), Some("spot"));
        assert_eq!(pools[2].labels.get("topology.kubernetes.io/zone").map(String::as_str), Some("eu-west-1a"));
        assert_eq!(pools[0].taints, [taint("nvidia.com/gpu", Some("present"), "NoSchedule")]);
        assert_eq!(pools[0].allocatable["nvidia.com/gpu"], Quantity("1".into()));

        // The pools feed `check_fit` directly.
        let spec = executor_job(AppType::Python, 2, "4g", 2);
        let report = check_fit(&spec, &size_job(&spec), &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        assert!(!report.executor.pools[0].eligible, "the GPU pool is tainted");
        assert_eq!(report.executor.pools[1].usable.cpu.millis(), 7910);

        let single = kubectl_node("solo", None, "a", "8Gi", json!({}));
        assert_eq!(pools_from_kubectl_nodes(&single).unwrap()[0].name, "solo");
        let node_list = json!({"kind": "NodeList", "items": []});
        assert_eq!(pools_from_kubectl_nodes(&node_list), Ok(Vec::new()));
    }

    #[test]
    fn kubectl_output_that_is_not_nodes_is_refused() {
        let mut no_allocatable = kubectl_node("n1", None, "a", "8Gi", json!({}));
        no_allocatable["status"] = json!({});
        let mut bad_quantity = kubectl_node("n2", None, "a", "8Gi", json!({}));
        bad_quantity["status"]["allocatable"]["cpu"] = json!("lots");
        for (value, expected) in [
            (json!({"kind": "PodList", "items": []}), "found kind PodList"),
            (json!({"items": []}), "has no `kind`"),
            (json!({"kind": "List"}), "the List has no `items` list"),
            (
                json!({"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}}]}),
                "items[0] is a Pod, not a Node",
            ),
            (json!({"kind": "List", "items": [{"kind": "Node", "metadata": {}}]}), "items[0] has no metadata.name"),
            (
                json!({"kind": "List", "items": [{"kind": "Node", "metadata": {"name": 5}}]}),
                "items[0] is not a valid Node",
            ),
            (json!({"kind": "List", "items": [no_allocatable]}), "node n1 has no status.allocatable"),
            (
                json!({"kind": "List", "items": [bad_quantity]}),
                "node n2: status.allocatable.cpu: `lots` is not a Kubernetes quantity",
            ),
        ] {
            let err = pools_from_kubectl_nodes(&value).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }

    // -----------------------------------------------------------------------
    // The shipped presets fit the shipped node shapes.

    const NODE_POOLS: &str = include_str!("../../../presets/nodes/standard.yaml");

    /// The built-in presets (as the binary embeds them), by name.
    fn presets() -> impl Iterator<Item = (&'static str, &'static str)> {
        crate::catalog::BUILTIN_PRESETS.iter().map(|(file, text)| {
            let name = file.trim_start_matches("presets/").trim_end_matches(".yaml");
            (name, *text)
        })
    }

    fn load(name: &str, text: &str) -> serde_json::Value {
        match crate::yaml::parse_single(&Source::new(name, text)) {
            Ok(node) => node.to_json(),
            Err(err) => panic!("{name}: {err}"),
        }
    }

    fn standard_pools() -> Vec<NodePool> {
        let pools: NodePools = serde_json::from_value(load("presets/nodes/standard.yaml", NODE_POOLS)).unwrap();
        assert_eq!(pools.kind, "NodePools");
        pools.pools
    }

    #[test]
    fn standard_node_pools_have_the_documented_shapes() {
        let pools = standard_pools();
        let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["general", "general-spot", "gpu"]);
        let spec = SparkJobSpec::default();
        let report = check_fit(&spec, &size_job(&spec), &pools, None);
        let usable: Vec<(u64, u64, Option<u64>)> = report
            .executor
            .pools
            .iter()
            .map(|p| (p.usable.cpu.millis(), p.usable.memory.mib(), p.usable.extended.get("nvidia.com/gpu").copied()))
            .collect();
        assert_eq!(usable, [(7500, 31 * 1024, None), (7500, 31 * 1024, None), (15_000, 62 * 1024, Some(1))]);
    }

    #[test]
    fn every_preset_fits_its_node_shape() {
        let names: Vec<&str> = presets().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            ["etl-small", "etl-medium", "etl-large", "streaming", "ml-gpu", "interactive", "cost-optimized"]
        );
        let pools = standard_pools();
        for (name, text) in presets() {
            let document = load(name, text);
            // The whole document is a valid Preset (unknown fields are refused).
            let preset: Preset = serde_json::from_value(document.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(preset.metadata.name, name);
            let spec: SparkJobSpec =
                serde_json::from_value(document["template"]["spec"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let sized = size_job(&spec);
            // ml-gpu's executors go to the GPU pool, every other preset stays on the 8 vCPU / 32 GiB shape.
            let shapes: Vec<NodePool> = if name == "ml-gpu" {
                pools.clone()
            } else {
                pools.iter().filter(|p| p.name != "gpu").cloned().collect()
            };
            let report = check_fit(&spec, &sized, &shapes, None);
            assert!(report.fits, "{name}: {:#?}", report.problems);
            assert!(report.problems.is_empty(), "{name}: {:#?}", report.problems);
            let executor_pools: Vec<&str> =
                report.executor.pools.iter().filter(|p| p.fits).map(|p| p.pool.as_str()).collect();
            let expected: &[&str] = match name {
                "ml-gpu" => &["gpu"],
                "cost-optimized" => &["general-spot"],
                _ => &["general"],
            };
            assert_eq!(executor_pools, expected, "{name}");
            // The packing each preset's comments promise.
            let per_node = report.executor.pools.iter().find(|p| p.fits).map(|p| p.per_node);
            let promised = match name {
                "etl-medium" | "etl-large" | "interactive" => 2,
                "etl-small" | "streaming" | "cost-optimized" => 3,
                _ => 1,
            };
            assert_eq!(per_node, Some(promised), "{name}: executors per node");
            let driver_pools: Vec<&str> =
                report.driver.pools.iter().filter(|p| p.fits).map(|p| p.pool.as_str()).collect();
            assert_eq!(driver_pools, ["general"], "{name}: the driver stays on on-demand, untainted nodes");
        }
    }

    #[test]
    fn preset_fields_all_exist_in_the_spec() {
        // `driver` and `executor` flatten RoleSpec, so serde would drop an unknown
        // field there silently: check every key survives a round trip.
        fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
            if let Some(map) = value.as_object() {
                for (k, v) in map {
                    let path = format!("{prefix}.{k}");
                    out.push(path.clone());
                    // Spark and Hadoop properties are free-form; only their keys count.
                    if !matches!(k.as_str(), "sparkConf" | "hadoopConf") {
                        keys(v, &path, out);
                    }
                }
            } else if let Some(items) = value.as_array() {
                for (i, v) in items.iter().enumerate() {
                    keys(v, &format!("{prefix}[{i}]"), out);
                }
            }
        }
        for (name, text) in presets() {
            let document = load(name, text);
            let spec: SparkJobSpec = serde_json::from_value(document["template"]["spec"].clone()).unwrap();
            let (mut written, mut kept) = (Vec::new(), Vec::new());
            keys(&document["template"]["spec"], "spec", &mut written);
            keys(&serde_json::to_value(&spec).unwrap(), "spec", &mut kept);
            for key in written {
                assert!(kept.contains(&key), "{name}: {key} is not a SparkJob field");
            }
        }
    }

    #[test]
    fn preset_spark_conf_leaves_typed_fields_alone() {
        const OWNED: &[&str] = &[
            "spark.driver.memory",
            "spark.driver.cores",
            "spark.driver.memoryOverhead",
            "spark.driver.memoryOverheadFactor",
            "spark.executor.memory",
            "spark.executor.cores",
            "spark.executor.instances",
            "spark.executor.memoryOverhead",
            "spark.executor.memoryOverheadFactor",
            "spark.executor.pyspark.memory",
            "spark.kubernetes.driver.request.cores",
            "spark.kubernetes.driver.limit.cores",
            "spark.kubernetes.executor.request.cores",
            "spark.kubernetes.executor.limit.cores",
        ];
        const OWNED_PREFIXES: &[&str] = &[
            "spark.dynamicAllocation.",
            "spark.memory.offHeap.",
            "spark.eventLog.",
            "spark.driver.resource.",
            "spark.executor.resource.",
        ];
        for (name, text) in presets() {
            let document = load(name, text);
            let conf = document["template"]["spec"]["sparkConf"].as_object().cloned().unwrap_or_default();
            assert!(!conf.is_empty(), "{name} has no sparkConf");
            for (key, value) in conf {
                assert!(!OWNED.contains(&key.as_str()), "{name}: {key} belongs in a typed field");
                assert!(!OWNED_PREFIXES.iter().any(|p| key.starts_with(p)), "{name}: {key} belongs in a typed field");
                assert!(value.is_string(), "{name}: {key} must be a quoted string");
            }
            let version = document["template"]["spec"]["sparkVersion"].as_str().unwrap_or_default();
            assert!(version.starts_with("3.5.") || version.starts_with("4."), "{name}: sparkVersion {version}");
            assert!(
                document["template"]["spec"].get("type").is_none(),
                "{name}: presets leave the app type to the job"
            );
        }
    }

    #[test]
    fn environments_are_valid_overlays() {
        let names: Vec<&str> = crate::catalog::BUILTIN_ENVIRONMENTS.iter().map(|(file, _)| *file).collect();
        assert_eq!(
            names,
            ["environments/dev.yaml", "environments/local.yaml", "environments/staging.yaml", "environments/prod.yaml"]
        );
        for (file, text) in crate::catalog::BUILTIN_ENVIRONMENTS {
            let name = file.trim_start_matches("environments/").trim_end_matches(".yaml");
            let env: sparkplane_api::Environment =
                serde_json::from_value(load(name, text)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((env.kind.as_str(), env.metadata.name.as_str()), ("Environment", name));
            let labels = env.template.metadata.map(|m| m.labels).unwrap_or_default();
            assert_eq!(labels.get("sparkplane.dev/env").map(String::as_str), Some(name));
            // Cluster environments keep their event logs apart; `run` writes local ones itself.
            let dir = env.template.spec.and_then(|s| s.event_log).and_then(|e| e.dir);
            let expected = (name != "local").then(|| format!("s3a://spark-events/{name}"));
            assert_eq!(dir, expected);
        }
    }

    #[test]
    fn drivers_with_gpus_are_checked_too() {
        let pools = [pool("general", &[("cpu", "8"), ("memory", "32Gi")], &[])];
        let spec = SparkJobSpec {
            driver: Some(DriverSpec {
                role: RoleSpec {
                    gpu: Some(Gpu { name: "amd.com/gpu".into(), amount: 1, discovery_script: None }),
                    ..Default::default()
                },
                service_account: None,
            }),
            ..Default::default()
        };
        let report = fit(&spec, &pools, None);
        assert_eq!(report.problems[0].path, "spec.driver.gpu");
        assert_eq!(report.problems[0].message, "driver needs 1 amd.com/gpu, but no node pool has amd.com/gpu");
        assert!(!report.placement.fits);
    }
}
