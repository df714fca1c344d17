//! The figures `fit` answers with: roles, a node's capacity and a pod's
//! demand in whole units, each pool's and role's fit, the placement, quota
//! rows and the report. Must not: decide anything (the sibling modules do).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use sparkplane_api::job::{RoleSpec, SparkJobSpec};
use sparkplane_api::{CpuAmount, MemorySize};

use sparkplane_core::sizing::PodResources;
use sparkplane_documents::diagnostic::Diagnostic;

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
pub(super) const INSTANCE_TYPE_LABELS: &[&str] =
    &["node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type"];

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

    pub(super) fn spec_path(self) -> &'static str {
        match self {
            Role::Driver => "spec.driver",
            Role::Executor => "spec.executor",
        }
    }

    pub(super) fn role_spec(self, spec: &SparkJobSpec) -> Option<&RoleSpec> {
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
    pub(super) fn minus(
        &self,
        cpu: CpuAmount,
        memory: MemorySize,
        extended: &BTreeMap<String, u64>,
        pods: u64,
    ) -> NodeCapacity {
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
    /// What a pod sized by [`sparkplane_core::sizing`] asks for, before any pod overhead.
    pub fn of_pod(pod: &PodResources) -> Self {
        let mut extended = BTreeMap::new();
        if let Some(gpu) = pod.gpu.as_ref().filter(|g| g.amount > 0) {
            extended.insert(gpu.name.clone(), u64::from(gpu.amount));
        }
        Self { cpu: pod.cpu_request, memory: pod.pod_memory, extended }
    }

    pub(super) fn plus(&self, other: &PodDemand) -> PodDemand {
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

/// Whether a Kueue ClusterQueue's quota could ever admit the job (ADR 0073).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueFit {
    /// The ClusterQueue.
    pub name: String,
    /// Whether some flavor of it could hold the whole job at once.
    pub admissible: bool,
    /// What is short, flavor by flavor, when none could.
    pub short: Vec<sparkplane_core::queues::Shortfall>,
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
    /// The job against its Kueue ClusterQueue's quota (`fit --queues`), when checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_queue: Option<QueueFit>,
    /// What does not fit and how to fix it.
    #[serde(serialize_with = "serialize_problems")]
    pub problems: Vec<Diagnostic>,
}

pub(super) fn serialize_problems<S: Serializer>(problems: &[Diagnostic], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(problems.iter().map(Diagnostic::to_json))
}
