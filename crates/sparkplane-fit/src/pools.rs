//! Node pools read once into numbers: the room a pod has on a node of each
//! pool, and the pool a general job lands on. Must not: judge a job.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use sparkplane_api::{CpuAmount, MemorySize, NodePool};

use super::{model::*, units::*};
use sparkplane_core::first_sizing::NodeLimit;
use sparkplane_core::kube_quantity::{self, Rounding};
use sparkplane_documents::diagnostic::Diagnostic;

// ---------------------------------------------------------------------------
// Pools, read once into numbers.

/// Reads a pool's quantity map (allocatable, reserved or pod overhead).
pub(super) fn read_amounts(
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
pub(super) struct Shape<'a> {
    pub(super) pool: &'a NodePool,
    pub(super) allocatable: NodeCapacity,
    pub(super) reserved: NodeCapacity,
    pub(super) usable: NodeCapacity,
    pub(super) overhead: PodDemand,
}

impl Shape<'_> {
    /// "pool general: 8 GiB allocatable − 512 MiB reserved"
    pub(super) fn origin(&self, resource: &str) -> String {
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
    pub(super) fn room(&self, resource: &str) -> u64 {
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

pub(super) fn read_shape<'a>(index: usize, pool: &'a NodePool, problems: &mut Vec<Diagnostic>) -> Option<Shape<'a>> {
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
