//! How many of a role's pods fit on a node of each pool, and the placement
//! of the most executors a job may run under each pool's `maxNodes`. Must
//! not: explain (that is `explain`).

use super::{eligibility::*, model::*, pools::*, units::*};
use sparkplane_core::sizing::{PodResources, SizedJob};
use sparkplane_documents::diagnostic::Diagnostic;

// ---------------------------------------------------------------------------
// Packing.

/// How many pods needing `need` fit in `room`, and what bounds the number.
pub(super) fn pods_per_node(room: &NodeCapacity, need: &PodDemand) -> (u64, Option<String>) {
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

pub(super) fn shortfalls(room: &NodeCapacity, need: &PodDemand) -> Vec<String> {
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

pub(super) fn role_fit(role: Role, pod: &PodResources, constraints: &Constraints, shapes: &[Shape]) -> RoleFit {
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
// Placement of the most executors.

pub(super) fn executors_path(sized: &SizedJob) -> &'static str {
    if sized.executors.dynamic { "spec.dynamicAllocation.maxExecutors" } else { "spec.executor.instances" }
}

pub(super) fn place(
    sized: &SizedJob,
    driver: &RoleFit,
    executor: &RoleFit,
    shapes: &[Shape],
) -> (Placement, Option<Diagnostic>) {
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
