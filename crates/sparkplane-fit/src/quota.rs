//! The ResourceQuota check: the job's requests and limits against what the
//! namespace has left. Must not: look at nodes.

use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use sparkplane_api::{CpuAmount, MemorySize};

use super::{model::*, packing::*, pools::*, units::*};
use sparkplane_core::kube_quantity::{self, Rounding};
use sparkplane_core::sizing::{PodResources, SizedJob};
use sparkplane_documents::diagnostic::Diagnostic;

// ---------------------------------------------------------------------------
// Quota.

#[derive(Clone, Copy)]
pub(super) enum QuotaKind {
    Cpu,
    CpuLimit,
    Memory,
    Pods,
    Extended,
}

pub(super) fn quota_kind(key: &str) -> Option<(QuotaKind, Option<&str>)> {
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
pub(super) fn quota_overhead(fit: &RoleFit, shapes: &[Shape]) -> PodDemand {
    let mut out = PodDemand::default();
    for i in (0..fit.pools.len()).filter(|&i| fit.pools[i].fits) {
        out.cpu = out.cpu.max(shapes[i].overhead.cpu);
        out.memory = out.memory.max(shapes[i].overhead.memory);
    }
    out
}

pub(super) fn check_quota(
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
