//! Admission: which queued run of a namespace may start now. Runs start in
//! order — higher priority first, then first queued — and only while the
//! namespace's cap on running applications and its ResourceQuota leave
//! room for the driver and the executors it starts with, so no pod is
//! created to sit Pending on quota.
//!
//! Quota room is the one fit model's answer (`sparkplane_fit::check_quota_fit`), with
//! the quota's `used` raised to what the operator has already admitted:
//! the API server counts a pod only once it exists, and admitting on that
//! alone would let several runs in at once.
//!
//! With the small-cluster mode's shared pool on (`pool`, ADR 0073), a run
//! its namespace admits also waits for its turn and room in the pool every
//! tenant shares.
//!
//! Owns: queue order and the admission answer. Must not: read the API.

pub mod pool;

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use sparkplane_core::kube_quantity::{self, Rounding};
use sparkplane_core::sizing::SizedJob;
use sparkplane_fit::check_quota_fit;

/// The reason a run waits with in this queue (`status.reason` of a Queued
/// run; its message says for what: its position, the cap, or the quota).
pub const QUOTA_WAIT: &str = "QuotaWait";

/// One queued run.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    /// The SparkJob's name.
    pub name: String,
    /// Its priority (the PriorityClass value; 0 without one).
    pub priority: i32,
    /// When it was queued.
    pub queued_at: Timestamp,
}

/// A namespace's queue as the operator sees it.
#[derive(Clone, Debug, Default)]
pub struct NamespaceQueue {
    /// Most applications running at once (None: no cap).
    pub cap: Option<u32>,
    /// The namespace's ResourceQuotas.
    pub quotas: Vec<ResourceQuota>,
    /// What admitted, unfinished runs hold (driver and first executors each).
    pub admitted: Vec<SizedJob>,
    /// Queued runs, in any order.
    pub waiting: Vec<Waiting>,
}

/// The answer for one queued run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Start it now.
    Admit,
    /// Not yet: the reason says what it waits for.
    Wait(String),
    /// Never: it needs more than the quota allows with nothing else running.
    Never(String),
    /// Not yet, for a named reason, in the admitting system's words (Kueue
    /// mode: `WaitingForAdmission` with the Workload's message; the shared
    /// pool: `PoolWait` or `PoolTooSmall`, ADR 0073).
    Waiting {
        /// One word.
        reason: String,
        /// What the run waits for.
        message: String,
    },
    /// The admission was taken back (Kueue evicted the run's Workload): a
    /// running attempt is stopped and the run queued again, not counted as
    /// a failure.
    Evicted {
        /// Why, as Kueue's `Evicted` condition says (`Preempted`, `ClusterQueueStopped`, …).
        reason: String,
        /// What happened, in Kueue's words (who preempted it).
        message: String,
    },
}

/// `waiting` in admission order: priority (highest first), then queue time, then name.
pub fn order(waiting: &mut [Waiting]) {
    waiting.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.queued_at.cmp(&b.queued_at)).then(a.name.cmp(&b.name)));
}

/// Whether the run `name`, holding `demand` once admitted, may start.
pub fn admission(queue: &NamespaceQueue, name: &str, demand: &SizedJob) -> Admission {
    for quota in &queue.quotas {
        // With nothing else running: the quota's hard limits alone.
        let empty = ResourceQuota { status: None, ..quota.clone() };
        let (rows, _) = check_quota_fit(demand, &empty);
        if let Some(row) = rows.iter().find(|r| !r.ok) {
            return Admission::Never(format!(
                "the driver and its first executors need {} {} but the ResourceQuota {} allows {}",
                row.needed,
                row.resource,
                quota.metadata.name.as_deref().unwrap_or_default(),
                row.hard
            ));
        }
    }
    let mut waiting = queue.waiting.clone();
    order(&mut waiting);
    let position = waiting.iter().position(|w| w.name == name);
    if let Some(first) = waiting.first()
        && position.is_some_and(|p| p > 0)
    {
        return Admission::Wait(format!(
            "queued behind {} other application(s) of this namespace; next is {}",
            position.unwrap_or_default(),
            first.name
        ));
    }
    let running = u32::try_from(queue.admitted.len()).unwrap_or(u32::MAX);
    if let Some(cap) = queue.cap
        && running >= cap
    {
        return Admission::Wait(format!(
            "the namespace runs {running} of at most {cap} applications (the ResourceQuota's {} annotation)",
            super::MAX_RUNNING_ANNOTATION
        ));
    }
    for quota in &queue.quotas {
        let reserved = with_used(quota, &queue.admitted);
        let (rows, _) = check_quota_fit(demand, &reserved);
        let short: Vec<String> = rows
            .iter()
            .filter(|r| !r.ok)
            .map(|r| format!("{} needs {}, {} left", r.resource, r.needed, r.available))
            .collect();
        if !short.is_empty() {
            return Admission::Wait(format!(
                "waiting for room in the ResourceQuota {}: {}",
                quota.metadata.name.as_deref().unwrap_or_default(),
                short.join("; ")
            ));
        }
    }
    Admission::Admit
}

/// The quota with `status.used` the larger of what it says and what the
/// admitted runs hold, for every resource it limits.
fn with_used(quota: &ResourceQuota, admitted: &[SizedJob]) -> ResourceQuota {
    let mut out = quota.clone();
    let Some(hard) = quota.spec.as_ref().and_then(|s| s.hard.as_ref()) else { return out };
    let reported = quota.status.as_ref().and_then(|s| s.used.clone()).unwrap_or_default();
    let totals: Vec<_> = admitted.iter().map(SizedJob::totals).collect();
    let mut used = BTreeMap::new();
    for key in hard.keys() {
        let reserved = match key.as_str() {
            "pods" => Some(totals.iter().map(|t| u64::from(t.pods)).sum::<u64>().to_string()),
            "cpu" | "requests.cpu" => Some(format!("{}m", totals.iter().map(|t| t.cpu_request.millis()).sum::<u64>())),
            "limits.cpu" => {
                Some(format!("{}m", totals.iter().map(|t| t.cpu_limit.map_or(0, |c| c.millis())).sum::<u64>()))
            }
            "memory" | "requests.memory" | "limits.memory" => {
                Some(format!("{}Mi", totals.iter().map(|t| t.memory.mib()).sum::<u64>()))
            }
            other => other.strip_prefix("requests.").map(|gpu| {
                totals
                    .iter()
                    .flat_map(|t| t.gpus.iter())
                    .filter(|(name, _)| name == gpu)
                    .map(|(_, n)| *n)
                    .sum::<u64>()
                    .to_string()
            }),
        };
        let Some(reserved) = reserved else { continue };
        let larger = match reported.get(key) {
            Some(q) if at_least(q, &reserved, key) => q.clone(),
            _ => Quantity(reserved),
        };
        used.insert(key.clone(), larger);
    }
    out.status.get_or_insert_with(Default::default).used = Some(used);
    out
}

/// Whether `q` ≥ `other` (both of the kind `key` names); false when either does not parse.
fn at_least(q: &Quantity, other: &str, key: &str) -> bool {
    let other = Quantity(other.to_owned());
    let read = |x: &Quantity| -> Option<u64> {
        if key.contains("cpu") {
            kube_quantity::cpu_amount(x, Rounding::Up).ok().map(|c| c.millis())
        } else if key.contains("memory") {
            kube_quantity::memory_size(x, Rounding::Up).ok().map(|m| m.mib())
        } else {
            kube_quantity::count(x, Rounding::Up).ok()
        }
    };
    matches!((read(q), read(&other)), (Some(a), Some(b)) if a >= b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sparkplane_api::SparkJobSpec;
    use sparkplane_core::sizing::size_job;

    /// A run of a 1-CPU driver and `executors` 1-CPU executors (1408Mi each pod).
    pub(super) fn demand(executors: u32) -> SizedJob {
        let spec: SparkJobSpec = serde_json::from_value(json!({
            "type": "Scala",
            "driver": {"cores": 1, "memory": "1g"},
            "executor": {"cores": 1, "memory": "1g", "instances": executors},
        }))
        .expect("spec");
        size_job(&spec)
    }

    fn quota(hard: serde_json::Value, used: Option<serde_json::Value>) -> ResourceQuota {
        let mut q = json!({"metadata": {"name": "team-quota", "namespace": "data"}, "spec": {"hard": hard}});
        if let Some(used) = used {
            q["status"] = json!({"hard": q["spec"]["hard"].clone(), "used": used});
        }
        serde_json::from_value(q).expect("quota")
    }

    fn waiting(name: &str, priority: i32, second: i64) -> Waiting {
        Waiting {
            name: name.into(),
            priority,
            queued_at: Timestamp::from_second(1_790_000_000 + second).expect("time"),
        }
    }

    #[test]
    fn order_is_priority_then_first_in() {
        let mut q = vec![waiting("c", 0, 1), waiting("a", 0, 3), waiting("b", 10, 5), waiting("d", 0, 1)];
        order(&mut q);
        let names: Vec<&str> = q.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "d", "a"]);
    }

    #[test]
    fn admission_table() {
        // One app: driver 1 CPU + 1408Mi, each executor 1 CPU + 1408Mi (1g heap + 384Mi overhead).
        let two = demand(2);
        let base = NamespaceQueue {
            cap: None,
            quotas: vec![quota(json!({"requests.cpu": "6", "requests.memory": "12Gi", "pods": "20"}), None)],
            admitted: vec![],
            waiting: vec![waiting("first", 0, 1), waiting("second", 0, 2)],
        };
        assert_eq!(admission(&base, "first", &two), Admission::Admit);
        assert_eq!(
            admission(&base, "second", &two),
            Admission::Wait("queued behind 1 other application(s) of this namespace; next is first".into())
        );
        // One admitted app holds 3 CPU: a second fits (6), a third does not.
        let one_running = NamespaceQueue { admitted: vec![two.clone()], ..base.clone() };
        assert_eq!(admission(&one_running, "first", &two), Admission::Admit);
        let two_running = NamespaceQueue { admitted: vec![two.clone(), two.clone()], ..base.clone() };
        assert_eq!(
            admission(&two_running, "first", &two),
            Admission::Wait(
                "waiting for room in the ResourceQuota team-quota: requests.cpu needs 3, 0 left; requests.memory needs 4224Mi, 3840Mi left"
                    .into()
            )
        );
        // The quota's own `used` counts when it is larger (pods of other kinds).
        let busy = NamespaceQueue {
            quotas: vec![quota(
                json!({"requests.cpu": "6", "requests.memory": "12Gi", "pods": "20"}),
                Some(json!({"requests.cpu": "4", "requests.memory": "1Gi", "pods": "2"})),
            )],
            ..base.clone()
        };
        assert!(
            matches!(admission(&busy, "first", &two), Admission::Wait(m) if m.contains("requests.cpu needs 3, 2 left"))
        );
        // A cap on running applications.
        let capped = NamespaceQueue { cap: Some(1), admitted: vec![demand(0)], ..base.clone() };
        assert_eq!(
            admission(&capped, "first", &two),
            Admission::Wait(
                "the namespace runs 1 of at most 1 applications (the ResourceQuota's sparkplane.dev/max-running-applications annotation)".into()
            )
        );
        // Too big for the quota even alone: never.
        let huge = demand(10);
        assert!(
            matches!(admission(&base, "first", &huge), Admission::Never(m) if m.contains("requests.cpu") && m.contains("team-quota"))
        );
        // No quota, no cap: admitted at once.
        let free = NamespaceQueue { waiting: vec![waiting("first", 0, 1)], ..NamespaceQueue::default() };
        assert_eq!(admission(&free, "first", &huge), Admission::Admit);
    }
}
