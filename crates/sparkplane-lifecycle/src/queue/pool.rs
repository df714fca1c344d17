//! The small-cluster mode's shared pool (ADR 0073): with it on, a run its
//! namespace would admit (quota and cap, [`super::admission`]) starts only
//! when the whole run — its driver and first executors, sized by the one
//! model (`sparkplane_core::queues::demand`) — fits the pool's free room,
//! and only when it is first among every tenant's runs waiting for the pool.
//!
//! Order among the tenants' runs: higher priority first; at equal priority
//! the tenant (namespace) with the smallest share for its weight, where a
//! share is the pool's dominant resource its running runs hold (as Kueue's
//! fair sharing measures it) plus what it was given lately (each admission
//! charges its dominant share, halving every [`HALF_LIFE`], as Kueue's
//! admission fair sharing remembers usage); then first queued, then name.
//! The first in that order goes first: a run that does not fit yet holds
//! back the runs after it (no backfill: a large run is never starved by a
//! stream of small ones, and priority means what it says), except a run
//! too large for the whole pool, which waits as `PoolTooSmall` and holds
//! back nothing. Nothing running is preempted: Kueue mode preempts.
//!
//! Owns: the pool's order and answer, its units, and the fair-share
//! history's arithmetic. Must not: read the API or the clock.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};
use sparkplane_core::queues::demand;
use sparkplane_core::sizing::SizedJob;

use super::{Admission, Waiting};

/// How fast a tenant's past admissions stop counting against it: its
/// remembered share halves every ten minutes (a quiet hour forgets it).
pub const HALF_LIFE: Duration = Duration::from_secs(600);

/// The reason of a run waiting for the pool's room or its turn in it.
pub const POOL_WAIT: &str = "PoolWait";
/// The reason of a run larger than the whole pool.
pub const POOL_TOO_SMALL: &str = "PoolTooSmall";

/// Amounts per resource, in the one demand model's units: thousandths of a
/// CPU, of a byte, of a pod, of a GPU.
pub type Amounts = BTreeMap<String, u128>;

/// The pool every tenant's runs share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pool {
    /// Where the capacity comes from, for messages ("the nodes' allocatable").
    pub source: String,
    /// What the pool holds in all. A resource it does not name is not limited.
    pub capacity: Amounts,
    /// What is held besides the admitted runs' reservations: other pods,
    /// and runs' pods beyond what their run reserved.
    pub used: Amounts,
}

/// A run that holds room in the pool: its tenant (namespace) and what it reserved.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    /// The run's namespace (its tenant).
    pub namespace: String,
    /// Its driver and first executors.
    pub demand: SizedJob,
}

/// A run its namespace would admit now, waiting for the pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The run's namespace (its tenant).
    pub namespace: String,
    /// Its name, priority and queue time.
    pub waiting: Waiting,
    /// Its driver and first executors.
    pub demand: SizedJob,
}

/// A tenant's standing in the pool.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    /// Its weight (the Tenant's `spec.queue.weight`; 1 when it says none).
    pub weight: u32,
    /// What it was given lately, as [`History::at`] says.
    pub history: f64,
}

impl Default for Standing {
    fn default() -> Self {
        Standing { weight: 1, history: 0.0 }
    }
}

/// Everything the pool's answer depends on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SharedQueue {
    /// The pool.
    pub pool: Pool,
    /// Runs holding room, of every tenant.
    pub admitted: Vec<Held>,
    /// Runs waiting for the pool (each namespace's first in its own order that its quota and cap let in).
    pub candidates: Vec<Candidate>,
    /// Tenants by namespace; one not listed has weight 1 and no history.
    pub tenants: BTreeMap<String, Standing>,
}

/// What `sized` asks of the pool.
pub fn needs(sized: &SizedJob) -> Amounts {
    demand(sized)
}

/// The share of the pool `amounts` are: of each resource the pool holds,
/// the fraction they take, the largest (the dominant resource).
pub fn dominant_share(pool: &Pool, amounts: &Amounts) -> f64 {
    pool.capacity
        .iter()
        .filter(|(_, cap)| **cap > 0)
        .map(|(r, cap)| amounts.get(r).copied().unwrap_or(0) as f64 / *cap as f64)
        .fold(0.0, f64::max)
}

fn add(total: &mut Amounts, more: &Amounts) {
    for (r, v) in more {
        *total.entry(r.clone()).or_default() += v;
    }
}

/// A tenant's share for its weight: what its running runs hold (dominant
/// resource) plus its history, over its weight.
fn share(queue: &SharedQueue, namespace: &str) -> f64 {
    let mut running = Amounts::new();
    for held in queue.admitted.iter().filter(|h| h.namespace == namespace) {
        add(&mut running, &needs(&held.demand));
    }
    let standing = queue.tenants.get(namespace).cloned().unwrap_or_default();
    (dominant_share(&queue.pool, &running) + standing.history) / f64::from(standing.weight.max(1))
}

/// The resources `need` exceeds the pool's whole capacity in: (resource, needed, capacity).
fn beyond_capacity(pool: &Pool, need: &Amounts) -> Vec<(String, u128, u128)> {
    need.iter()
        .filter_map(|(r, n)| pool.capacity.get(r).filter(|cap| n > *cap).map(|cap| (r.clone(), *n, *cap)))
        .collect()
}

/// The pool's free room: capacity less what is used and what admitted runs reserved.
pub fn free_room(queue: &SharedQueue) -> Amounts {
    let mut held = queue.pool.used.clone();
    for h in &queue.admitted {
        add(&mut held, &needs(&h.demand));
    }
    queue
        .pool
        .capacity
        .iter()
        .map(|(r, cap)| (r.clone(), cap.saturating_sub(held.get(r).copied().unwrap_or(0))))
        .collect()
}

/// The answer for a run larger than the whole pool (`PoolTooSmall`); None
/// when the pool could hold it once free.
pub fn too_small(pool: &Pool, demand: &SizedJob) -> Option<Admission> {
    let beyond = beyond_capacity(pool, &needs(demand));
    if beyond.is_empty() {
        return None;
    }
    let what: Vec<String> =
        beyond.iter().map(|(r, n, cap)| format!("{} {r} (it holds {} in all)", show(r, *n), show(r, *cap))).collect();
    Some(Admission::Waiting {
        reason: POOL_TOO_SMALL.into(),
        message: format!(
            "the driver and its first executors need {} but the shared pool ({}) is smaller; it waits for the pool to grow and holds back no other application",
            what.join(" and "),
            pool.source
        ),
    })
}

/// The candidates that could ever fit, in the order the pool admits them.
pub fn order(queue: &SharedQueue) -> Vec<&Candidate> {
    let mut out: Vec<(&Candidate, f64)> = queue
        .candidates
        .iter()
        .filter(|c| beyond_capacity(&queue.pool, &needs(&c.demand)).is_empty())
        .map(|c| (c, share(queue, &c.namespace)))
        .collect();
    out.sort_by(|(a, sa), (b, sb)| {
        b.waiting
            .priority
            .cmp(&a.waiting.priority)
            .then(sa.total_cmp(sb))
            .then(a.waiting.queued_at.cmp(&b.waiting.queued_at))
            .then(a.namespace.cmp(&b.namespace))
            .then(a.waiting.name.cmp(&b.waiting.name))
    });
    out.into_iter().map(|(c, _)| c).collect()
}

/// Whether the run `namespace`/`name`, asking `demand`, may start now that
/// its namespace would admit it.
pub fn admission(queue: &SharedQueue, namespace: &str, name: &str, demand: &SizedJob) -> Admission {
    if let Some(too_small) = too_small(&queue.pool, demand) {
        return too_small;
    }
    let need = needs(demand);
    let order = order(queue);
    let this = |c: &&Candidate| c.namespace == namespace && c.waiting.name == name;
    if let Some(first) = order.first()
        && !this(first)
    {
        let ahead = order.iter().position(this).unwrap_or(order.len());
        return Admission::Waiting {
            reason: POOL_WAIT.into(),
            message: format!(
                "queued for the shared pool behind {ahead} application(s) of higher priority or of a tenant with a smaller share for its weight; next is {}/{}",
                first.namespace, first.waiting.name
            ),
        };
    }
    let free = free_room(queue);
    let short: Vec<String> = need
        .iter()
        .filter_map(|(r, n)| {
            free.get(r).filter(|f| n > *f).map(|f| format!("{r} needs {}, {} free", show(r, *n), show(r, *f)))
        })
        .collect();
    if short.is_empty() {
        Admission::Admit
    } else {
        Admission::Waiting {
            reason: POOL_WAIT.into(),
            message: format!("waiting for room in the shared pool ({}): {}", queue.pool.source, short.join("; ")),
        }
    }
}

/// What tenants were given lately: per namespace, a share and when it was
/// last brought up to date. Each admission adds its dominant share; the
/// total halves every [`HALF_LIFE`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    tenants: BTreeMap<String, (f64, Timestamp)>,
}

impl History {
    /// The tenant's remembered share at `now`.
    pub fn at(&self, namespace: &str, now: Timestamp) -> f64 {
        self.tenants.get(namespace).map_or(0.0, |(value, since)| decayed(*value, *since, now))
    }

    /// Adds `share` (an admission's dominant share) to the tenant's history at `now`.
    pub fn charge(&mut self, namespace: &str, share: f64, now: Timestamp) {
        let value = self.at(namespace, now) + share;
        self.tenants.insert(namespace.to_owned(), (value, now));
    }
}

/// `value`, halved for every [`HALF_LIFE`] from `since` to `now`.
fn decayed(value: f64, since: Timestamp, now: Timestamp) -> f64 {
    let elapsed = now.duration_since(since).as_secs_f64().max(0.0);
    value * 0.5f64.powf(elapsed / HALF_LIFE.as_secs_f64())
}

/// Reads a pool's capacity as `--queue-capacity` gives it:
/// `cpu=16,memory=64Gi[,pods=110][,nvidia.com/gpu=2]`.
pub fn parse_capacity(text: &str) -> Result<Amounts, String> {
    let mut out = Amounts::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((resource, amount)) = part.split_once('=') else {
            return Err(format!("`{part}` is not resource=amount"));
        };
        let resource = resource.trim();
        if resource.is_empty() || !resource.chars().all(|c| c.is_ascii_alphanumeric() || "-./_".contains(c)) {
            return Err(format!("`{resource}` is not a resource name"));
        }
        let quantity: KubeQuantity =
            amount.trim().parse().map_err(|e| format!("{resource}: `{}` is not a quantity: {e}", amount.trim()))?;
        let value = quantity
            .scaled_magnitude(3, Rounding::Down)
            .ok_or_else(|| format!("{resource}: `{}` is too large", amount.trim()))?;
        if out.insert(resource.to_owned(), value).is_some() {
            return Err(format!("{resource} is given twice"));
        }
    }
    if out.is_empty() {
        return Err("no resource given".into());
    }
    Ok(out)
}

/// An amount in the demand model's units as a person writes it: CPUs
/// (`2`, `1500m`), memory in MiB (`1408Mi`), a count otherwise.
pub fn show(resource: &str, amount: u128) -> String {
    match resource {
        "cpu" if amount.is_multiple_of(1000) => (amount / 1000).to_string(),
        "cpu" => format!("{amount}m"),
        "memory" => format!("{}Mi", amount.div_ceil(1000 * 1024 * 1024)),
        _ => amount.div_ceil(1000).to_string(),
    }
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
