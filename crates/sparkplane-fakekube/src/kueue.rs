//! A stand-in for Kueue's admission (ADR 0073), small on purpose: it
//! follows Kueue v0.19's documented conditions and messages, not its
//! scheduler's every rule. With [`crate::FakeApiServer::install_kueue`]
//! the simulated cluster stores Kueue's own CRDs (v1beta2, vendored from
//! v0.19.2) and this controller admits `Workload`s:
//!
//! - A pending Workload (no quota reserved, `spec.active` not false, not
//!   `Finished`) is matched to its LocalQueue (`spec.queueName` in its
//!   namespace) and that queue's ClusterQueue; a missing one leaves it
//!   `QuotaReserved=False` (reason `Inadmissible`, "LocalQueue q doesn't
//!   exist").
//! - Per ClusterQueue, pending Workloads are tried in Kueue's order:
//!   with admission fair sharing (the ClusterQueue's
//!   `admissionScope.admissionMode: UsageBasedAdmissionFairSharing`) the
//!   LocalQueue that consumed least per its `fairSharing.weight` first,
//!   then higher `spec.priority`, then the older (`Requeued` time, else
//!   creation). ClusterQueues of a cohort take turns by their borrowed
//!   share per `fairSharing.weight`. `BestEffortFIFO`: a Workload that
//!   does not fit does not block the next.
//! - A Workload fits a flavor (tried in the ClusterQueue's order; all its
//!   pod sets get the same one) when, for every covered resource, its
//!   requests fit the nominal quota left, plus what the cohort lends
//!   (each member keeps `nominal − lendingLimit`), within `borrowingLimit`.
//!   A pod set with `minCount` may be admitted with fewer pods (partial
//!   admission: the most that fit). It then gets `status.admission`
//!   (ClusterQueue, flavors, resource usage, count) and `QuotaReserved`
//!   and `Admitted` true, with Kueue's reasons and messages; an earlier
//!   `Evicted`/`Preempted` turns false ("Previously: …").
//! - One that does not fit may preempt: with `withinClusterQueue:
//!   LowerPriority`, admitted Workloads of lower priority in its queue
//!   (lowest first, newest first); with `reclaimWithinCohort` `Any` (or
//!   `LowerPriority`), Workloads of cohort members that borrow, when it
//!   would fit its own nominal quota. Each target gets `Evicted=True`
//!   (reason `Preempted`) and `Preempted=True` (reason `InClusterQueue`
//!   or `InCohortReclamation`) with Kueue's message naming the preemptor's
//!   UID. A target keeps its quota until the job's controller — here the
//!   operator, as Kueue's job framework does — has stopped the job and
//!   cleared `status.admission` (`QuotaReserved=False`).
//! - Otherwise it stays `QuotaReserved=False`, reason `Pending`, with
//!   Kueue's message ("couldn't assign flavors to pod set executor:
//!   insufficient unused quota for cpu in flavor default, 2 more needed").
//!
//! Not modelled: admission checks, topology, flavor fungibility beyond
//! "first flavor that fits", waitForPodsReady, usage decay of fair
//! sharing (consumption is counted at admission, Kueue's entry penalty,
//! and never decays), fair-sharing preemption between cohort members,
//! StrictFIFO, finalizers, LocalQueue and ClusterQueue status.
//!
//! Owns: Workload admission in the simulated cluster. Must not: touch
//! pods (the job's controller does) or any object but Workloads.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};

use crate::store::{Store, now};

/// Kueue's API version (ADR 0072).
pub const API_VERSION: &str = "kueue.x-k8s.io/v1beta2";

/// Kueue's CRDs as its v0.19.2 release installs them (v1beta2, descriptions removed).
pub const CRDS: [&str; 5] = [
    include_str!("../tests/data/kueue/workloads.json"),
    include_str!("../tests/data/kueue/localqueues.json"),
    include_str!("../tests/data/kueue/clusterqueues.json"),
    include_str!("../tests/data/kueue/resourceflavors.json"),
    include_str!("../tests/data/kueue/workloadpriorityclasses.json"),
];

type Key = (String, String);

/// Usage of one ClusterQueue by (flavor, resource), in thousandths.
type FlavorUsage = BTreeMap<(String, String), u128>;

/// The stand-in's memory between ticks.
#[derive(Debug, Default)]
pub struct Kueue {
    cursor: Option<u64>,
    /// What each LocalQueue consumed (admission fair sharing): CPU millicores admitted, summed.
    consumed: BTreeMap<Key, u128>,
}

/// One quota of one resource in one flavor, in thousandths.
#[derive(Clone, Debug, Default, PartialEq)]
struct Quota {
    nominal: u128,
    borrowing: Option<u128>,
    lending: Option<u128>,
}

impl Quota {
    /// What the queue keeps for itself whatever the cohort needs.
    fn guaranteed(&self) -> u128 {
        self.nominal - self.lending.map_or(self.nominal, |l| l.min(self.nominal))
    }
}

#[derive(Clone, Debug, Default)]
struct ClusterQueue {
    name: String,
    cohort: Option<String>,
    weight: u128,
    afs: bool,
    within: String,
    reclaim: String,
    /// Flavors in order, each with its quotas by resource.
    flavors: Vec<(String, BTreeMap<String, Quota>)>,
}

#[derive(Clone, Debug)]
struct PodSet {
    name: String,
    count: u32,
    min_count: Option<u32>,
    /// One pod's requests, in thousandths.
    per_pod: BTreeMap<String, u128>,
}

#[derive(Clone, Debug)]
struct Workload {
    key: Key,
    uid: String,
    object: Value,
    queue: String,
    priority: i64,
    since: String,
    pod_sets: Vec<PodSet>,
    /// The ClusterQueue and usage by (flavor, resource), when quota is reserved.
    reserved: Option<(String, FlavorUsage)>,
    evicted: bool,
}

fn milli(value: &Value) -> Option<u128> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    text.parse::<KubeQuantity>().ok().filter(|q| !q.is_negative())?.scaled_magnitude(3, Rounding::Up)
}

fn condition_is(object: &Value, kind: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

fn condition_time(object: &Value, kind: &str) -> Option<String> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)?["lastTransitionTime"]
        .as_str()
        .map(str::to_owned)
}

/// Sets a condition as `apimeta.SetStatusCondition` does: the transition
/// time changes only with the status.
fn set_condition(object: &mut Value, kind: &str, status: bool, reason: &str, message: &str) {
    let status = if status { "True" } else { "False" };
    let mut list = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let at = match list.iter().find(|c| c["type"] == kind) {
        Some(old) if old["status"] == status => old["lastTransitionTime"].clone(),
        _ => json!(now()),
    };
    let generation = object["metadata"]["generation"].clone();
    let mut new =
        json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": at});
    if generation.is_i64() {
        new["observedGeneration"] = generation;
    }
    match list.iter_mut().find(|c| c["type"] == kind) {
        Some(slot) => *slot = new,
        None => list.push(new),
    }
    object["status"]["conditions"] = Value::Array(list);
}

/// Turns a true condition false, its message "Previously: …" (Kueue's `resetActiveCondition`).
fn reset_condition(object: &mut Value, kind: &str, reason: &str) {
    let Some(message) = object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind && c["status"] == "True"))
        .map(|c| c["message"].as_str().unwrap_or_default().to_owned())
    else {
        return;
    };
    set_condition(object, kind, false, reason, &format!("Previously: {message}"));
}

fn read_cluster_queue(cq: &Value) -> ClusterQueue {
    let spec = &cq["spec"];
    let group = &spec["resourceGroups"][0];
    let flavors = group["flavors"]
        .as_array()
        .map(|flavors| {
            flavors
                .iter()
                .map(|f| {
                    let quotas = f["resources"]
                        .as_array()
                        .map(|rs| {
                            rs.iter()
                                .map(|r| {
                                    let quota = Quota {
                                        nominal: milli(&r["nominalQuota"]).unwrap_or(0),
                                        borrowing: milli(&r["borrowingLimit"]),
                                        lending: milli(&r["lendingLimit"]),
                                    };
                                    (r["name"].as_str().unwrap_or_default().to_owned(), quota)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (f["name"].as_str().unwrap_or_default().to_owned(), quotas)
                })
                .collect()
        })
        .unwrap_or_default();
    ClusterQueue {
        name: cq["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
        cohort: spec["cohortName"].as_str().map(str::to_owned),
        weight: milli(&spec["fairSharing"]["weight"]).unwrap_or(1000).max(1),
        afs: spec["admissionScope"]["admissionMode"] == "UsageBasedAdmissionFairSharing",
        within: spec["preemption"]["withinClusterQueue"].as_str().unwrap_or("Never").to_owned(),
        reclaim: spec["preemption"]["reclaimWithinCohort"].as_str().unwrap_or("Never").to_owned(),
        flavors,
    }
}

/// One pod's requests (its containers' requests, a limit standing in for a missing request), and `pods`.
fn pod_requests(template: &Value) -> BTreeMap<String, u128> {
    let mut out = BTreeMap::from([("pods".to_owned(), 1000)]);
    for container in template["spec"]["containers"].as_array().into_iter().flatten() {
        let resources = &container["resources"];
        let mut names: BTreeSet<String> = BTreeSet::new();
        for part in ["requests", "limits"] {
            names.extend(resources[part].as_object().into_iter().flat_map(|m| m.keys().cloned()));
        }
        for name in names {
            let value = if resources["requests"][&name].is_null() {
                &resources["limits"][&name]
            } else {
                &resources["requests"][&name]
            };
            *out.entry(name).or_default() += milli(value).unwrap_or(0);
        }
    }
    out
}

fn read_workload(object: &Value) -> Workload {
    let meta = &object["metadata"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let pod_sets = object["spec"]["podSets"]
        .as_array()
        .map(|sets| {
            sets.iter()
                .map(|p| PodSet {
                    name: s(&p["name"]),
                    count: p["count"].as_u64().map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                    min_count: p["minCount"].as_u64().map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                    per_pod: pod_requests(&p["template"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let admission = &object["status"]["admission"];
    let reserved = (condition_is(object, "QuotaReserved") && admission.is_object()).then(|| {
        let mut usage = BTreeMap::new();
        for a in admission["podSetAssignments"].as_array().into_iter().flatten() {
            for (resource, amount) in a["resourceUsage"].as_object().into_iter().flatten() {
                let flavor = s(&a["flavors"][resource]);
                *usage.entry((flavor, resource.clone())).or_default() += milli(amount).unwrap_or(0);
            }
        }
        (s(&admission["clusterQueue"]), usage)
    });
    Workload {
        key: (s(&meta["namespace"]), s(&meta["name"])),
        uid: s(&meta["uid"]),
        object: object.clone(),
        queue: s(&object["spec"]["queueName"]),
        priority: object["spec"]["priority"].as_i64().unwrap_or(0),
        since: condition_time(object, "Requeued").unwrap_or_else(|| s(&meta["creationTimestamp"])),
        pod_sets,
        reserved,
        evicted: condition_is(object, "Evicted"),
    }
}

/// Usage by ClusterQueue, then (flavor, resource).
type Usage = BTreeMap<String, FlavorUsage>;

/// An assignment: the flavor, and each pod set's count.
#[derive(Clone, Debug, PartialEq)]
struct Assignment {
    flavor: String,
    counts: Vec<u32>,
}

fn demand(w: &Workload, counts: &[u32]) -> BTreeMap<String, u128> {
    let mut out = BTreeMap::new();
    for (set, n) in w.pod_sets.iter().zip(counts) {
        for (resource, amount) in &set.per_pod {
            *out.entry(resource.clone()).or_default() += amount * u128::from(*n);
        }
    }
    out
}

/// The admission state the decisions read.
struct View<'a> {
    queues: &'a BTreeMap<String, ClusterQueue>,
}

impl View<'_> {
    fn members<'b>(&'b self, cq: &'b ClusterQueue) -> Vec<&'b ClusterQueue> {
        match &cq.cohort {
            None => vec![cq],
            Some(c) => self.queues.values().filter(|q| q.cohort.as_deref() == Some(c)).collect(),
        }
    }

    /// Why `need` of `resource` does not fit `cq`'s `flavor` with `usage` as
    /// is: how much more is needed. Without `borrow`, within its nominal quota only.
    fn short(
        &self,
        cq: &ClusterQueue,
        flavor: &str,
        resource: &str,
        need: u128,
        usage: &Usage,
        borrow: bool,
    ) -> Option<u128> {
        let used = |q: &ClusterQueue| {
            usage.get(&q.name).and_then(|u| u.get(&(flavor.to_owned(), resource.to_owned()))).copied().unwrap_or(0)
        };
        let quota =
            |q: &ClusterQueue| q.flavors.iter().find(|(f, _)| f == flavor).and_then(|(_, r)| r.get(resource)).cloned();
        let Some(own) = quota(cq) else { return (need > 0 && resource != "pods").then_some(need) };
        let mine = used(cq);
        if cq.cohort.is_none() {
            return (mine + need > own.nominal).then(|| mine + need - own.nominal);
        }
        let mut over = 0;
        if let Some(b) = if borrow { own.borrowing } else { Some(0) }
            && mine + need > own.nominal + b
        {
            over = mine + need - own.nominal - b;
        }
        // The cohort's pool: what members lend, minus what is used of it.
        let (mut pool, mut taken) = (0u128, 0u128);
        for member in self.members(cq) {
            let Some(q) = quota(member) else { continue };
            pool += q.nominal - q.guaranteed();
            let u = if member.name == cq.name { mine + need } else { used(member) };
            taken += u.saturating_sub(q.guaranteed());
        }
        over = over.max(taken.saturating_sub(pool));
        (over > 0).then_some(over)
    }

    /// The first flavor `w` fits in `cq` (pod sets with `minCount` shrunk as
    /// far as needed), or Kueue's message saying why none does.
    fn assign(&self, cq: &ClusterQueue, w: &Workload, usage: &Usage, borrow: bool) -> Result<Assignment, String> {
        let full: Vec<u32> = w.pod_sets.iter().map(|p| p.count).collect();
        let mut first_problem = None;
        for (flavor, _) in &cq.flavors {
            let mut counts = full.clone();
            loop {
                let need = demand(w, &counts);
                let short: Vec<(String, u128)> = need
                    .iter()
                    .filter_map(|(r, n)| self.short(cq, flavor, r, *n, usage, borrow).map(|s| (r.clone(), s)))
                    .collect();
                if short.is_empty() {
                    return Ok(Assignment { flavor: flavor.clone(), counts });
                }
                if first_problem.is_none() {
                    let (resource, more) = &short[0];
                    // The pod set that asks for it most (the executors, usually).
                    let set = w
                        .pod_sets
                        .iter()
                        .zip(&full)
                        .max_by_key(|(p, n)| p.per_pod.get(resource).copied().unwrap_or(0) * u128::from(**n))
                        .map_or("main", |(p, _)| p.name.as_str());
                    first_problem = Some(format!(
                        "couldn't assign flavors to pod set {set}: insufficient unused quota for {resource} in flavor {flavor}, {} more needed",
                        show(resource, *more)
                    ));
                }
                // Partial admission: one pod fewer in the last pod set that may shrink.
                let Some(i) = w.pod_sets.iter().rposition(|p| p.min_count.is_some()) else { break };
                let least = w.pod_sets[i].min_count.unwrap_or(0);
                if counts[i] <= least {
                    break;
                }
                counts[i] -= 1;
            }
        }
        Err(first_problem.unwrap_or_else(|| format!("ClusterQueue {} has no flavor", cq.name)))
    }
}

/// An amount in thousandths as Kueue prints a quantity.
fn show(resource: &str, milli: u128) -> String {
    if resource == "memory" {
        let bytes = milli.div_ceil(1000);
        return if bytes.is_multiple_of(1 << 30) {
            format!("{}Gi", bytes >> 30)
        } else if bytes.is_multiple_of(1 << 20) {
            format!("{}Mi", bytes >> 20)
        } else {
            bytes.to_string()
        };
    }
    if milli.is_multiple_of(1000) { (milli / 1000).to_string() } else { format!("{milli}m") }
}

fn admit(w: &Workload, cq: &ClusterQueue, a: &Assignment) -> (Value, FlavorUsage) {
    let mut usage = BTreeMap::new();
    let assignments: Vec<Value> = w
        .pod_sets
        .iter()
        .zip(&a.counts)
        .map(|(set, n)| {
            let mut flavors = serde_json::Map::new();
            let mut used = serde_json::Map::new();
            for (resource, amount) in &set.per_pod {
                let covered = cq.flavors.iter().any(|(_, r)| r.contains_key(resource));
                if !covered {
                    continue;
                }
                let total = amount * u128::from(*n);
                flavors.insert(resource.clone(), json!(a.flavor));
                used.insert(resource.clone(), json!(show(resource, total)));
                *usage.entry((a.flavor.clone(), resource.clone())).or_default() += total;
            }
            json!({"name": set.name, "flavors": flavors, "resourceUsage": used, "count": n})
        })
        .collect();
    let mut object = w.object.clone();
    object["status"]["admission"] = json!({"clusterQueue": cq.name, "podSetAssignments": assignments});
    set_condition(
        &mut object,
        "QuotaReserved",
        true,
        "QuotaReserved",
        &format!("Quota reserved in ClusterQueue {}", cq.name),
    );
    reset_condition(&mut object, "Evicted", "QuotaReserved");
    reset_condition(&mut object, "Preempted", "QuotaReserved");
    set_condition(&mut object, "Admitted", true, "Admitted", "The workload is admitted");
    (object, usage)
}

fn preempted(
    target: &Workload,
    preemptor: &Workload,
    reason: &str,
    cq_of_target: &str,
    cq_of_preemptor: &str,
) -> Value {
    let why = match reason {
        "InClusterQueue" => "prioritization in the ClusterQueue",
        _ => "reclamation within the cohort",
    };
    let message = format!(
        "Preempted to accommodate a workload (UID: {}, JobUID: UNKNOWN) due to {why}; preemptor path: /{cq_of_preemptor}; preemptee path: /{cq_of_target}",
        if preemptor.uid.is_empty() { "UNKNOWN" } else { &preemptor.uid }
    );
    let mut object = target.object.clone();
    set_condition(&mut object, "Evicted", true, "Preempted", &message);
    set_condition(&mut object, "Preempted", true, reason, &message);
    object
}

impl Kueue {
    /// Acts when a Kueue object changed since the last call. Returns whether it wrote anything.
    pub fn tick(&mut self, store: &mut Store) -> bool {
        let since = self.cursor.unwrap_or(0);
        let changed = self.cursor.is_none() || store.events_after(since).iter().any(|e| e.api_version == API_VERSION);
        let before = store.rv;
        if changed {
            for object in self.decide(store) {
                store.put(object);
            }
        }
        self.cursor = Some(store.rv);
        store.rv != before
    }

    /// Every Workload whose status changes, as it should be stored.
    fn decide(&mut self, store: &Store) -> Vec<Value> {
        let queues: BTreeMap<String, ClusterQueue> =
            store.all(API_VERSION, "clusterqueues").map(read_cluster_queue).map(|q| (q.name.clone(), q)).collect();
        let local: BTreeMap<Key, (String, u128)> = store
            .all(API_VERSION, "localqueues")
            .map(|lq| {
                let s = |p: &str| lq.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
                let weight = milli(&lq["spec"]["fairSharing"]["weight"]).unwrap_or(1000).max(1);
                ((s("/metadata/namespace"), s("/metadata/name")), (s("/spec/clusterQueue"), weight))
            })
            .collect();
        let workloads: Vec<Workload> = store
            .all(API_VERSION, "workloads")
            .filter(|w| !w["metadata"]["deletionTimestamp"].is_string() && !condition_is(w, "Finished"))
            .map(read_workload)
            .collect();
        let view = View { queues: &queues };
        let mut usage: Usage = BTreeMap::new();
        for w in &workloads {
            if let Some((cq, used)) = &w.reserved {
                let total = usage.entry(cq.clone()).or_default();
                for (k, v) in used {
                    *total.entry(k.clone()).or_default() += v;
                }
            }
        }
        let mut out = Vec::new();
        let mut pending: BTreeMap<String, Vec<&Workload>> = BTreeMap::new();
        for w in workloads.iter().filter(|w| w.reserved.is_none() && w.object["spec"]["active"] != false) {
            let problem = match local.get(&(w.key.0.clone(), w.queue.clone())) {
                None => Some(format!("LocalQueue {} doesn't exist", w.queue)),
                Some((cq, _)) if !queues.contains_key(cq) => Some(format!("ClusterQueue {cq} doesn't exist")),
                Some((cq, _)) => {
                    pending.entry(cq.clone()).or_default().push(w);
                    None
                }
            };
            if let Some(message) = problem {
                out.extend(pending_status(w, "Inadmissible", &message));
            }
        }
        // Cohort fair sharing: the queue that borrowed least per weight goes first.
        let borrowed = |cq: &ClusterQueue, usage: &Usage| -> u128 {
            let mut over = 0;
            for (flavor, quotas) in &cq.flavors {
                for (resource, q) in quotas {
                    let used = usage.get(&cq.name).and_then(|u| u.get(&(flavor.clone(), resource.clone()))).copied();
                    over += used.unwrap_or(0).saturating_sub(q.nominal) * 1000 / q.nominal.max(1);
                }
            }
            over * 1000 / cq.weight
        };
        let mut order: Vec<&ClusterQueue> = pending.keys().filter_map(|n| queues.get(n)).collect();
        order.sort_by(|a, b| borrowed(a, &usage).cmp(&borrowed(b, &usage)).then(a.name.cmp(&b.name)));
        let share = |w: &Workload, consumed: &BTreeMap<Key, u128>| -> u128 {
            let lq = (w.key.0.clone(), w.queue.clone());
            let weight = local.get(&lq).map_or(1000, |(_, w)| *w);
            consumed.get(&lq).copied().unwrap_or(0) * 1_000_000 / weight
        };
        let mut preempting: BTreeSet<String> = BTreeSet::new();
        // Kueue admits what fits without borrowing before what needs to borrow.
        for borrow in [false, true] {
            for cq in &order {
                let mut waiting = pending.get(&cq.name).cloned().unwrap_or_default();
                let mut left = Vec::new();
                while !waiting.is_empty() {
                    waiting.sort_by(|a, b| {
                        let fair = if cq.afs {
                            share(a, &self.consumed).cmp(&share(b, &self.consumed))
                        } else {
                            std::cmp::Ordering::Equal
                        };
                        fair.then(b.priority.cmp(&a.priority)).then(a.since.cmp(&b.since)).then(a.key.cmp(&b.key))
                    });
                    let w = waiting.remove(0);
                    match view.assign(cq, w, &usage, borrow) {
                        Ok(assignment) => {
                            let (object, used) = admit(w, cq, &assignment);
                            let total = usage.entry(cq.name.clone()).or_default();
                            for (k, v) in used {
                                if k.1 == "cpu" {
                                    *self.consumed.entry((w.key.0.clone(), w.queue.clone())).or_default() += v;
                                }
                                *total.entry(k).or_default() += v;
                            }
                            out.push(object);
                        }
                        Err(_) if !borrow => left.push(w),
                        Err(message) => {
                            // One preemption at a time per queue, as Kueue's scheduling cycle issues them.
                            if !preempting.contains(&cq.name) {
                                let targets = preemption_targets(&view, cq, w, &workloads, &usage);
                                if !targets.is_empty() {
                                    preempting.insert(cq.name.clone());
                                    for (target, reason) in targets {
                                        let target_cq = target.reserved.as_ref().map_or("", |(c, _)| c.as_str());
                                        out.push(preempted(target, w, reason, target_cq, &cq.name));
                                    }
                                }
                            }
                            out.extend(pending_status(w, "Pending", &message));
                        }
                    }
                }
                pending.insert(cq.name.clone(), left);
            }
        }
        out
    }
}

/// `w` with `QuotaReserved=False` for `reason`/`message`, when that is news.
fn pending_status(w: &Workload, reason: &str, message: &str) -> Option<Value> {
    let same = w.object["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter().any(|c| {
            c["type"] == "QuotaReserved" && c["status"] == "False" && c["reason"] == reason && c["message"] == message
        })
    });
    if same {
        return None;
    }
    let mut object = w.object.clone();
    set_condition(&mut object, "QuotaReserved", false, reason, message);
    Some(object)
}

/// The admitted Workloads whose eviction lets `w` fit, with Kueue's reason
/// for each; empty when none would (or the queue preempts nothing).
fn preemption_targets<'a>(
    view: &View<'_>,
    cq: &ClusterQueue,
    w: &Workload,
    workloads: &'a [Workload],
    usage: &Usage,
) -> Vec<(&'a Workload, &'static str)> {
    let mut candidates: Vec<(&Workload, &'static str)> = Vec::new();
    let running = |x: &&Workload| x.reserved.is_some() && !x.evicted;
    if cq.within == "LowerPriority" || cq.within == "LowerOrNewerEqualPriority" {
        let mut mine: Vec<&Workload> = workloads
            .iter()
            .filter(running)
            .filter(|x| x.reserved.as_ref().is_some_and(|(c, _)| *c == cq.name) && x.priority < w.priority)
            .collect();
        mine.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.since.cmp(&a.since)));
        candidates.extend(mine.into_iter().map(|x| (x, "InClusterQueue")));
    }
    if cq.cohort.is_some() && cq.reclaim != "Never" {
        let borrowing = |name: &str| {
            view.queues.get(name).is_some_and(|q| {
                q.flavors.iter().any(|(f, quotas)| {
                    quotas.iter().any(|(r, quota)| {
                        usage.get(name).and_then(|u| u.get(&(f.clone(), r.clone()))).copied().unwrap_or(0)
                            > quota.nominal
                    })
                })
            })
        };
        let mut theirs: Vec<&Workload> = workloads
            .iter()
            .filter(running)
            .filter(|x| {
                x.reserved.as_ref().is_some_and(|(c, _)| {
                    *c != cq.name
                        && view.queues.get(c).is_some_and(|q| q.cohort == cq.cohort)
                        && borrowing(c)
                        && (cq.reclaim == "Any" || x.priority < w.priority)
                })
            })
            .collect();
        theirs.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.since.cmp(&a.since)));
        candidates.extend(theirs.into_iter().map(|x| (x, "InCohortReclamation")));
    }
    // Workloads evicted before and not yet stopped will give their quota back.
    let mut left = usage.clone();
    for x in workloads.iter().filter(|x| x.evicted) {
        if let Some((c, used)) = &x.reserved {
            let total = left.entry(c.clone()).or_default();
            for (k, v) in used {
                let slot = total.entry(k.clone()).or_default();
                *slot = slot.saturating_sub(*v);
            }
        }
    }
    if view.assign(cq, w, &left, true).is_ok() {
        return Vec::new();
    }
    let mut chosen = Vec::new();
    for (target, reason) in candidates {
        if let Some((c, used)) = &target.reserved {
            let total = left.entry(c.clone()).or_default();
            for (k, v) in used {
                let slot = total.entry(k.clone()).or_default();
                *slot = slot.saturating_sub(*v);
            }
        }
        chosen.push((target, reason));
        if view.assign(cq, w, &left, true).is_ok() {
            return chosen;
        }
    }
    Vec::new()
}

#[cfg(test)]
#[path = "kueue_tests.rs"]
mod tests;
