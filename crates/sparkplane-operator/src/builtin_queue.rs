//! The built-in queue's gathering (without `--kueue`): a namespace's queue
//! — its ResourceQuotas, its cap on running applications, the runs the
//! operator admitted there and the runs waiting — and, in the small-cluster
//! mode (`--queue-pool`, `--queue-capacity`, ADR 0073), the pool every
//! tenant shares: its capacity and what holds it, every namespace's run
//! that goes next, the tenants' weights (a Tenant's `spec.queue.weight`)
//! and what each was given lately.
//!
//! Owns: that gathering, the fair-share history's charge when a run is
//! admitted, and waking the runs that go next. Must not: decide (every
//! answer is `sparkplane_lifecycle::queue`'s) or write.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use sparkplane_api::SparkJob;
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_core::sizing::SizedJob;
use sparkplane_lifecycle::queue::pool::{self, Candidate, Held, Pool, SharedQueue, Standing};
use sparkplane_lifecycle::queue::{self, Admission, NamespaceQueue, Waiting};
use sparkplane_lifecycle::{MAX_RUNNING_ANNOTATION, Prepared, parse_time};

use super::context::Context;
use super::pool::PoolCapacity;

/// The runs waiting, by namespace, each with what it would hold once
/// admitted (gathered only for the shared pool; None: not gathered, or its
/// plan is refused).
type WaitingRuns = BTreeMap<String, Vec<(Waiting, Option<SizedJob>)>>;

/// A run holding room: namespace, name, what it holds.
type Admitted = Vec<(String, String, SizedJob)>;

/// The priority of `job`: its PriorityClass's value, 0 without one.
pub fn priority_of(ctx: &Context, job: &SparkJob) -> i32 {
    let Some(class) = job.spec.priority_class_name.as_deref() else { return 0 };
    ctx.priorities.get(&ObjectRef::new(class)).map_or(0, |p| p.value)
}

/// Whether the run `job` (`status` as this reconcile sees it), needing
/// `plan`'s admission, may start: its namespace's answer, then — with the
/// shared pool on — the pool's. A run larger than the whole pool waits
/// aside and holds back no run, of its namespace either.
pub fn admission(
    ctx: &Context,
    job: &SparkJob,
    status: &SparkJobStatus,
    plan: &sparkplane_lifecycle::Plan,
) -> Admission {
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    let pooled = ctx.settings.queue_pool.as_ref().filter(|_| ctx.kueue.is_none());
    // Without the pool, a namespace without quota and cap admits at once, as it always did.
    if pooled.is_none() && no_limits(ctx, &namespace) {
        return Admission::Admit;
    }
    let mut waiting = waiting_runs(ctx, if pooled.is_some() { None } else { Some(namespace.as_str()) });
    let own = waiting.entry(namespace.clone()).or_default();
    own.retain(|(w, _)| w.name != name);
    let queued_at = status.queued_at.as_deref().and_then(parse_time).unwrap_or_else(jiff::Timestamp::now);
    // This run as this reconcile sees it (the cache may lag behind it), with `plan`'s demand.
    own.push((
        Waiting { name: name.clone(), priority: priority_of(ctx, job), queued_at },
        Some(plan.admission.clone()),
    ));
    let Some(capacity) = pooled else { return namespace_admission(ctx, &namespace, &name, &waiting, &plan.admission) };
    let admitted: Admitted = ctx
        .ledger()
        .all()
        .into_iter()
        .filter(|(ns, job, _)| {
            (ns.as_str(), job.as_str()) != (namespace.as_str(), name.as_str()) && exists(ctx, ns, job)
        })
        .collect();
    let Some(pool) = pool_now(ctx, capacity, &admitted) else {
        return Admission::Waiting {
            reason: pool::POOL_WAIT.into(),
            message: "waiting for the first list of the cluster's nodes and pods (the shared pool)".into(),
        };
    };
    if let Some(too_small) = pool::too_small(&pool, &plan.admission) {
        return too_small;
    }
    for runs in waiting.values_mut() {
        runs.retain(|(_, demand)| demand.as_ref().is_none_or(|d| pool::too_small(&pool, d).is_none()));
    }
    let answer = namespace_admission(ctx, &namespace, &name, &waiting, &plan.admission);
    if answer != Admission::Admit {
        return answer;
    }
    let shared = shared_queue(ctx, pool, admitted, &waiting);
    let answer = pool::admission(&shared, &namespace, &name, &plan.admission);
    // The run that goes first is looked at now, not at its next recheck.
    if let Some(first) = pool::order(&shared).first()
        && !(first.namespace == namespace && first.waiting.name == name)
    {
        let _ = ctx.wake.send(ObjectRef::new(&first.waiting.name).within(&first.namespace));
    }
    answer
}

/// Whether `namespace` has neither ResourceQuota nor a cap on running applications.
fn no_limits(ctx: &Context, namespace: &str) -> bool {
    ctx.settings.max_running_per_namespace.is_none()
        && !ctx.quotas.state().iter().any(|q| q.namespace().as_deref() == Some(namespace))
}

/// The answer of `namespace`'s own queue (quota, cap, order) for `name`.
fn namespace_admission(
    ctx: &Context,
    namespace: &str,
    name: &str,
    waiting: &WaitingRuns,
    demand: &SizedJob,
) -> Admission {
    let quotas: Vec<_> = ctx
        .quotas
        .state()
        .iter()
        .filter(|q| q.namespace().as_deref() == Some(namespace))
        .map(|q| (**q).clone())
        .collect();
    let cap = quotas
        .iter()
        .filter_map(|q| q.annotations().get(MAX_RUNNING_ANNOTATION)?.parse::<u32>().ok())
        .min()
        .or(ctx.settings.max_running_per_namespace);
    if quotas.is_empty() && cap.is_none() {
        // Without quota and cap the namespace lets in its first waiting run
        // when a pool orders them, any run otherwise (as before the pool).
        let pooled = ctx.settings.queue_pool.is_some() && ctx.kueue.is_none();
        let mut own: Vec<Waiting> = waiting.get(namespace).into_iter().flatten().map(|(w, _)| w.clone()).collect();
        queue::order(&mut own);
        return match own.first() {
            Some(first) if pooled && first.name != name => Admission::Wait(format!(
                "queued behind {} other application(s) of this namespace; next is {}",
                own.iter().position(|w| w.name == name).unwrap_or(own.len()),
                first.name
            )),
            _ => Admission::Admit,
        };
    }
    let admitted = admitted_in(ctx, namespace, name).into_iter().map(|(_, d)| d).collect();
    let waiting = waiting.get(namespace).into_iter().flatten().map(|(w, _)| w.clone()).collect();
    let queue = NamespaceQueue { cap, quotas, admitted, waiting };
    queue::admission(&queue, name, demand)
}

/// Runs of `namespace` holding room, but `except`, whose jobs still exist
/// (runs admitted earlier whose jobs are gone hold nothing).
fn admitted_in(ctx: &Context, namespace: &str, except: &str) -> Vec<(String, SizedJob)> {
    let ledger = ctx.ledger();
    ledger
        .entries(namespace)
        .into_iter()
        .filter(|(job_name, _)| job_name != except && exists(ctx, namespace, job_name))
        .collect()
}

fn exists(ctx: &Context, namespace: &str, job: &str) -> bool {
    ctx.jobs.get(&ObjectRef::new(job).within(namespace)).is_some()
        || ctx.kubeflow.get().is_some_and(|k| k.serves(namespace, job))
}

/// Every run not yet admitted, by namespace, including jobs the operator
/// has not reconciled yet (first in: their creation time): of `only` that
/// namespace; else of all, each with what it would hold (for the pool).
fn waiting_runs(ctx: &Context, only: Option<&str>) -> WaitingRuns {
    let mut out = WaitingRuns::new();
    for j in ctx.jobs.state() {
        if only.is_some_and(|ns| j.namespace().as_deref() != Some(ns)) {
            continue;
        }
        if j.spec.schedule.is_some() || j.spec.suspend.unwrap_or(false) || j.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let s = j.status.as_ref();
        if !matches!(s.and_then(|s| s.state), None | Some(JobState::Queued)) {
            continue;
        }
        let queued_at = s
            .and_then(|s| s.queued_at.as_deref())
            .and_then(parse_time)
            .or_else(|| j.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .unwrap_or_else(jiff::Timestamp::now);
        let entry = Waiting { name: j.name_any(), priority: priority_of(ctx, &j), queued_at };
        let holds = match only.is_none().then(|| ctx.prepared(&j)).as_deref() {
            Some(Prepared::Ready(plan)) => Some(plan.admission.clone()),
            _ => None,
        };
        out.entry(j.namespace().unwrap_or_default()).or_default().push((entry, holds));
    }
    out
}

/// The shared pool as it stands, with every namespace's next run its own
/// queue lets in (a run whose plan is refused goes nowhere).
fn shared_queue(ctx: &Context, pool: Pool, admitted: Admitted, waiting: &WaitingRuns) -> SharedQueue {
    let mut candidates = Vec::new();
    for (namespace, runs) in waiting {
        let Some((head, demand)) = runs.iter().min_by(|a, b| {
            b.0.priority.cmp(&a.0.priority).then(a.0.queued_at.cmp(&b.0.queued_at)).then(a.0.name.cmp(&b.0.name))
        }) else {
            continue;
        };
        let Some(demand) = demand else { continue };
        if matches!(namespace_admission(ctx, namespace, &head.name, waiting, demand), Admission::Admit) {
            candidates.push(Candidate { namespace: namespace.clone(), waiting: head.clone(), demand: demand.clone() });
        }
    }
    let now = jiff::Timestamp::now();
    let history = ctx.history();
    let tenants = candidates
        .iter()
        .map(|c| c.namespace.as_str())
        .chain(admitted.iter().map(|(ns, _, _)| ns.as_str()))
        .map(|ns| (ns.to_owned(), Standing { weight: weight_of(ctx, ns), history: history.at(ns, now) }))
        .collect();
    drop(history);
    let admitted = admitted.into_iter().map(|(namespace, _, demand)| Held { namespace, demand }).collect();
    SharedQueue { pool, admitted, candidates, tenants }
}

/// The pool's capacity and what holds it besides `admitted`'s reservations.
fn pool_now(ctx: &Context, capacity: &PoolCapacity, admitted: &Admitted) -> Option<Pool> {
    let source = capacity.source().to_owned();
    match capacity {
        PoolCapacity::Fixed(amounts) => Some(Pool { source, capacity: amounts.clone(), used: BTreeMap::new() }),
        PoolCapacity::Nodes => {
            let index = ctx.pool.as_ref()?;
            let index = index.lock().unwrap_or_else(|p| p.into_inner());
            if !index.listed() {
                return None;
            }
            let reserved = admitted.iter().map(|(ns, job, d)| ((ns.clone(), job.clone()), pool::needs(d))).collect();
            Some(Pool { source, capacity: index.capacity(), used: index.used(&reserved) })
        }
    }
}

/// A tenant's weight: the platform's Tenant of `namespace` says it in
/// `spec.queue.weight` (the same weight its Kueue LocalQueue gets); 1 otherwise.
fn weight_of(ctx: &Context, namespace: &str) -> u32 {
    ctx.platform
        .catalog
        .tenants()
        .find(|t| t.namespace() == namespace)
        .and_then(|t| t.spec.queue.as_ref()?.weight)
        .unwrap_or(1)
        .max(1)
}

/// Records that the run of `namespace` admitted with `demand` was given its
/// dominant share of the pool (the tenant's fair-share history).
pub fn charge(ctx: &Context, namespace: &str, demand: &SizedJob) {
    let Some(capacity) = ctx.settings.queue_pool.as_ref().filter(|_| ctx.kueue.is_none()) else { return };
    let Some(pool) = pool_now(ctx, capacity, &Vec::new()) else { return };
    let share = pool::dominant_share(&pool, &pool::needs(demand));
    ctx.history().charge(namespace, share, jiff::Timestamp::now());
}

/// Room freed in `namespace`: its queue's first run is looked at now; with
/// the shared pool, every namespace's first run (the room is everyone's).
pub fn wake_queue_heads(ctx: &Context, namespace: &str) {
    let pooled = ctx.settings.queue_pool.is_some() && ctx.kueue.is_none();
    let heads: Vec<(String, String)> = {
        let waiting = ctx.waiting();
        waiting
            .iter()
            .filter(|(ns, _)| pooled || ns.as_str() == namespace)
            .filter_map(|(ns, runs)| {
                let mut entries: Vec<Waiting> = runs.values().cloned().collect();
                queue::order(&mut entries);
                entries.first().map(|first| (ns.clone(), first.name.clone()))
            })
            .collect()
    };
    for (ns, name) in heads {
        let _ = ctx.wake.send(ObjectRef::new(&name).within(&ns));
        if let Some(kubeflow) = ctx.kubeflow.get() {
            kubeflow.wake(&ns, &name);
        }
    }
}
