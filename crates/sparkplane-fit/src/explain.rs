//! Why a role does not fit, with numbers, and what to change. Must not:
//! decide fit (that is `packing`).

use sparkplane_api::job::SparkJobSpec;
use sparkplane_api::{CpuAmount, MemorySize};

use super::{eligibility::*, model::*, pools::*, units::*};
use sparkplane_core::sizing::{OverheadRule, PodResources, largest_heap_within};
use sparkplane_documents::diagnostic::Diagnostic;

// ---------------------------------------------------------------------------
// Why a role does not fit, and what to change.

pub(super) fn memory_breakdown(pod: &PodResources, pod_overhead: MemorySize) -> String {
    let mut parts = vec![format!("heap {}", fmt_mem(pod.heap)), format!("overhead {}", fmt_mem(pod.overhead))];
    for (what, size) in [("PySpark", pod.pyspark), ("off-heap", pod.off_heap), ("pod overhead", pod_overhead)] {
        if size.mib() > 0 {
            parts.push(format!("{what} {}", fmt_mem(size)));
        }
    }
    parts.join(" + ")
}

pub(super) fn explain_memory(role: Role, pod: &PodResources, best: &Shape) -> Diagnostic {
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

pub(super) fn explain_cpu(role: Role, spec: &SparkJobSpec, pod: &PodResources, best: &Shape) -> Diagnostic {
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

pub(super) fn explain_extended(role: Role, name: &str, amount: u64, shapes: &[Shape], rows: &[PoolFit]) -> Diagnostic {
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

pub(super) fn explain_role(
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
