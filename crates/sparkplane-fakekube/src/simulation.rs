//! The simulated cluster at work, in the spirit of KWOK: a loop that reads
//! the store's changes as a controller would and plays the scheduler (binds
//! pods that fit, marks the rest `Unschedulable` and retries them when room
//! frees up), the kubelets (pull images — some fail with `ErrImagePull` then
//! `ImagePullBackOff` — start containers, kill a container that used more
//! than its memory limit with `OOMKilled`, evict pods from a node under
//! pressure), Spark's driver (executor pods made as Spark makes them, a
//! run of the configured length, a log, an exit code, executors removed at
//! the end), containers of mapped images run as local processes
//! (`process`), and the quota controller (`status.used`).
//!
//! Owns: when each pod moves, and what its status says after. The rules it
//! applies are `scheduler`'s (placement), `spark`'s (executors) and
//! `quota`'s (accounting). It holds no lock and no thread: `lib.rs` calls
//! [`Sim::tick`] with the store under its lock.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::{Cluster, Node};
use crate::process::{self, Ended, Running};
use crate::scheduler::{self, Demand, NodeUse};
use crate::store::now as timestamp;
use crate::store::{Answer, DeleteOptions, Store, WriteOptions, pod_path};
use crate::{quota, spark};

type PodKey = (String, String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The scheduler looks at the pod.
    Schedule,
    /// The kubelet pulls the images and starts the containers.
    Start,
    /// A failed pull turns into a back-off.
    BackOff,
    /// The driver stand-in (re)creates missing executors.
    Executors,
    /// The driver's run ends.
    Finish,
    /// A deleted pod's simulated containers have exited after the stop signal.
    Stop,
    /// A deleted pod's grace period ran out: what still runs is killed.
    Kill,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    seq: u64,
    key: PodKey,
    uid: String,
    step: Step,
}

/// The kubelet's message on a pod it evicts under memory pressure.
const EVICTED: &str = "The node was low on resource: memory. ";

/// How long Spark waits between executor allocation batches (`spark.kubernetes.allocation.batch.delay`).
const BATCH_DELAY: Duration = Duration::from_secs(1);

/// The simulation's memory between ticks.
#[derive(Debug, Default)]
pub struct Sim {
    cursor: u64,
    started: bool,
    seq: u64,
    timers: BinaryHeap<Reverse<Timer>>,
    placed: HashMap<PodKey, (String, Demand)>,
    node_use: BTreeMap<String, NodeUse>,
    /// Pods no node could take, in the order they arrived.
    unschedulable: BTreeMap<u64, (PodKey, String)>,
    /// Executors each driver made (driver → executor names).
    executors: HashMap<PodKey, Vec<String>>,
    /// The executors' Deployment each driver made with Spark 4.2's
    /// Deployment allocator (driver → Deployment name).
    deployments: HashMap<PodKey, String>,
    generation: u64,
    nodes: Vec<Node>,
    /// Node objects this simulation wrote.
    written_nodes: BTreeSet<String>,
    /// Pods whose containers run as local processes.
    processes: Running,
    /// Deleted pods (and uids) being stopped.
    terminating: BTreeSet<(PodKey, String)>,
    /// Nodes cordoned (`spec.unschedulable`), as their Node objects say.
    cordoned: BTreeSet<String>,
    /// What Spark's dynamic allocation asks for ([`Cluster::executor_demand`]).
    executor_demand: Option<u32>,
}

/// How often the kubelet looks whether a local process ended.
const PROCESS_POLL: Duration = Duration::from_millis(25);

fn key_of(pod: &Value) -> PodKey {
    let s = |p: &str| pod.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
    (s("/metadata/namespace"), s("/metadata/name"))
}

fn uid_of(pod: &Value) -> String {
    pod["metadata"]["uid"].as_str().unwrap_or_default().to_owned()
}

fn is_final(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

fn is_driver(pod: &Value) -> bool {
    pod["metadata"]["labels"]["spark-role"] == "driver"
}

/// The containers' statuses, every one in `state`.
fn container_states(pod: &Value, state: &Value, ready: bool) -> Value {
    let list = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
    Value::Array(
        list.iter()
            .map(|c| {
                json!({
                    "name": c["name"], "image": c["image"], "imageID": "",
                    "ready": ready, "started": ready, "restartCount": 0, "state": state,
                })
            })
            .collect(),
    )
}

fn condition(kind: &str, ok: bool, reason: Option<&str>, message: Option<&str>) -> Value {
    let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": timestamp()});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

impl Sim {
    fn later(&mut self, at: Instant, key: PodKey, uid: String, step: Step) {
        self.seq += 1;
        self.timers.push(Reverse(Timer { at, seq: self.seq, key, uid, step }));
    }

    /// The live pod `key` if it is still the one with `uid`.
    fn current(store: &Store, key: &PodKey, uid: &str) -> Option<Value> {
        store.pod(&key.0, &key.1).filter(|p| p["metadata"]["uid"] == uid).cloned()
    }

    fn release(&mut self, key: &PodKey) -> bool {
        match self.placed.remove(key) {
            Some((node, demand)) => {
                if let Some(used) = self.node_use.get_mut(&node) {
                    used.pods = used.pods.saturating_sub(1);
                    used.demand.cpu_millis = used.demand.cpu_millis.saturating_sub(demand.cpu_millis);
                    used.demand.memory_bytes = used.demand.memory_bytes.saturating_sub(demand.memory_bytes);
                }
                true
            }
            None => false,
        }
    }

    /// Writes Node objects for the configured nodes (none for the
    /// unbounded default) and removes those it wrote before that are gone.
    fn sync_nodes(&mut self, store: &mut Store, cluster: &Cluster) {
        self.nodes = cluster.effective_nodes();
        let wanted: BTreeSet<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
        let path = |name: Option<String>| crate::resources::ResourcePath {
            group: String::new(),
            version: "v1".into(),
            namespace: None,
            plural: "nodes".into(),
            name,
            subresource: None,
        };
        for name in self.written_nodes.difference(&wanted) {
            store.delete(&path(Some(name.clone())), name, None, false);
        }
        self.written_nodes = wanted;
        for node in &cluster.nodes {
            let mut labels: BTreeMap<String, String> = node.labels.clone();
            labels.insert("kubernetes.io/hostname".into(), node.name.clone());
            labels.insert("kubernetes.io/os".into(), "linux".into());
            let taints: Vec<Value> =
                node.taints.iter().map(|(k, v, e)| json!({"key": k, "value": v, "effect": e})).collect();
            let resources = json!({
                "cpu": format!("{}m", node.cpu_millis),
                "memory": node.memory_bytes.to_string(),
                "pods": node.max_pods.to_string(),
            });
            let body = json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node.name, "labels": labels},
                "spec": {"taints": taints},
                "status": {
                    "capacity": resources, "allocatable": resources,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                },
            });
            match store.objects.get(&("v1".to_owned(), "nodes".to_owned(), None, node.name.clone())).cloned() {
                Some(mut old) => {
                    if old["metadata"]["labels"] != body["metadata"]["labels"]
                        || old["spec"]["taints"] != body["spec"]["taints"]
                        || old["status"] != body["status"]
                    {
                        old["metadata"]["labels"] = body["metadata"]["labels"].clone();
                        // A cordon (`kubectl cordon`/`drain`) is the administrator's, not the kubelet's.
                        let cordoned = old["spec"]["unschedulable"].clone();
                        old["spec"] = body["spec"].clone();
                        if cordoned == json!(true) {
                            old["spec"]["unschedulable"] = cordoned;
                        }
                        old["status"] = body["status"].clone();
                        store.put(old);
                    }
                }
                None => {
                    store.create(&path(None), body, &WriteOptions::default());
                }
            }
        }
    }

    /// Advances the simulation to `now`; returns when it next has something to do.
    /// `version` is the cluster's generation and the resource version it
    /// began at: pods created before stay as they are.
    pub fn tick(&mut self, store: &mut Store, cluster: &Cluster, version: (u64, u64), now: Instant) -> Option<Instant> {
        let mut room = self.follow_cluster(store, cluster, version);
        // Namespaces whose pods changed, for the quota controller.
        let mut touched: BTreeSet<String> = BTreeSet::new();
        room |= self.watch_cordons(store);
        room |= self.watch_pods(store, cluster, now, &mut touched);
        room |= self.reap_processes(store, &mut touched);
        if room {
            self.retry_unschedulable(store, now, cluster);
        }
        self.fire_timers(store, cluster, now, &mut touched);
        for namespace in touched {
            quota::refresh(store, &namespace);
        }
        self.next_wake(now)
    }

    /// The first tick starts reading changes at the resource version the
    /// simulation began at; a new cluster generation (or no nodes yet)
    /// writes the Node objects. True when that may have made room.
    fn follow_cluster(&mut self, store: &mut Store, cluster: &Cluster, (generation, since): (u64, u64)) -> bool {
        self.executor_demand = cluster.executor_demand;
        if !self.started {
            self.started = true;
            self.cursor = since;
        }
        if generation != self.generation || self.nodes.is_empty() {
            self.generation = generation;
            self.sync_nodes(store, cluster);
            return true;
        }
        false
    }

    /// A node cordoned or uncordoned since the last tick: the cordons are
    /// read again, and pods waiting for room look again (true).
    fn watch_cordons(&mut self, store: &Store) -> bool {
        if !store.events_after(self.cursor).iter().any(|e| e.api_version == "v1" && e.plural == "nodes") {
            return false;
        }
        self.cordoned = store
            .all("v1", "nodes")
            .filter(|node| node["spec"]["unschedulable"] == json!(true))
            .filter_map(|node| node["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        true
    }

    /// Pod changes since the last tick, as the controllers see them: a new
    /// pending pod is scheduled (or started, when bound already), a deleted
    /// one is stopped, a finished or removed one frees its room. True when
    /// room was freed.
    fn watch_pods(
        &mut self,
        store: &mut Store,
        cluster: &Cluster,
        now: Instant,
        touched: &mut BTreeSet<String>,
    ) -> bool {
        let fresh: Vec<(&'static str, Value)> = store
            .events_after(self.cursor)
            .iter()
            .filter(|e| e.api_version == "v1" && e.plural == "pods")
            .map(|e| (e.kind, Value::clone(&e.object)))
            .collect();
        self.cursor = store.rv;
        let mut room = false;
        for (kind, pod) in fresh {
            let key = key_of(&pod);
            touched.insert(key.0.clone());
            match kind {
                "ADDED" if !is_final(&pod) && pod["status"]["phase"] == "Pending" => {
                    self.pod_added(&pod, key, now, cluster);
                }
                "MODIFIED" if pod["metadata"]["deletionTimestamp"].is_string() && !is_final(&pod) => {
                    self.begin_termination(&pod, key, now, cluster);
                }
                "MODIFIED" if is_final(&pod) => {
                    room |= self.release(&key);
                    self.executor_lost(store, &pod, now);
                }
                "DELETED" => room |= self.pod_deleted(store, &pod, key, now),
                _ => {}
            }
        }
        room
    }

    /// A new pending pod: the scheduler looks at it, or the kubelet starts
    /// it when it names its node already.
    fn pod_added(&mut self, pod: &Value, key: PodKey, now: Instant, cluster: &Cluster) {
        let step = if pod["spec"]["nodeName"].is_string() { Step::Start } else { Step::Schedule };
        let delay = if step == Step::Start { cluster.timings.start } else { cluster.timings.schedule };
        if step == Step::Start {
            let node = pod["spec"]["nodeName"].as_str().unwrap_or_default().to_owned();
            self.place(&key, node, scheduler::demand(pod));
        }
        self.later(now + delay, key, uid_of(pod), step);
    }

    /// A pod removed from the store: whatever still runs for it stops, its
    /// room is freed, and a driver's executors go with it (owner
    /// references). True when room was freed.
    fn pod_deleted(&mut self, store: &mut Store, pod: &Value, key: PodKey, now: Instant) -> bool {
        self.terminating.remove(&(key.clone(), uid_of(pod)));
        self.processes.kill(&key);
        let room = self.release(&key);
        self.executor_lost(store, pod, now);
        self.unschedulable.retain(|_, (k, _)| *k != key);
        // A driver gone from the store: its Deployment goes with it (its owner reference).
        self.deployments.remove(&key);
        if let Some(names) = self.executors.remove(&key) {
            for name in names {
                store.delete(&pod_path(&key.0, &name), &name, None, false);
            }
        }
        room
    }

    /// Pods whose local processes all ended since the last tick end too.
    /// True when room was freed.
    fn reap_processes(&mut self, store: &mut Store, touched: &mut BTreeSet<String>) -> bool {
        let mut room = false;
        for ended in self.processes.finished() {
            touched.insert(ended.key.0.clone());
            if let Some(pod) = Self::current(store, &ended.key, &ended.uid) {
                room |= self.exited(store, pod, ended);
            }
        }
        room
    }

    /// Every step due by `now`, oldest first, on pods that are still the
    /// ones it was set for; a pod being deleted only stops.
    fn fire_timers(&mut self, store: &mut Store, cluster: &Cluster, now: Instant, touched: &mut BTreeSet<String>) {
        while self.timers.peek().is_some_and(|Reverse(t)| t.at <= now) {
            let Some(Reverse(timer)) = self.timers.pop() else { break };
            let Some(pod) = Self::current(store, &timer.key, &timer.uid) else { continue };
            if pod["metadata"]["deletionTimestamp"].is_string() && !matches!(timer.step, Step::Stop | Step::Kill) {
                continue;
            }
            touched.insert(timer.key.0.clone());
            self.fire(store, cluster, now, pod, timer);
        }
    }

    /// One due step on its pod.
    fn fire(&mut self, store: &mut Store, cluster: &Cluster, now: Instant, pod: Value, timer: Timer) {
        match timer.step {
            Step::Schedule => self.schedule(store, pod, timer.key, now, cluster),
            Step::Start => self.start(store, pod, timer.key, now, cluster),
            Step::BackOff => {
                let image = Self::unpullable_image(&pod, cluster).unwrap_or_default();
                let state = json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}});
                let mut pod = pod;
                pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
                store.put(pod);
            }
            Step::Executors => self.make_executors(store, &pod, timer.key, now),
            Step::Finish => {
                if self.finish(store, pod, &timer.key, cluster) {
                    self.retry_unschedulable(store, now, cluster);
                }
            }
            Step::Stop | Step::Kill if self.processes.runs(&timer.key) => {
                // Local programs report their own end (`exited`).
                self.processes.kill_running(&timer.key);
            }
            Step::Stop | Step::Kill => {
                let code = if timer.step == Step::Stop { 143 } else { 137 };
                if self.stopped(store, pod, &timer.key, code) {
                    self.retry_unschedulable(store, now, cluster);
                }
            }
        }
    }

    /// When the simulation next has something to do: its next step, and
    /// soon while local processes run (they are polled).
    fn next_wake(&self, now: Instant) -> Option<Instant> {
        let next = self.timers.peek().map(|Reverse(t)| t.at);
        if self.processes.busy() {
            let poll = now + PROCESS_POLL;
            return Some(next.map_or(poll, |at| at.min(poll)));
        }
        next
    }

    /// Ends a pod whose local processes all exited: each container
    /// terminated with its exit code, the pod Succeeded when all were 0,
    /// their output its log. True when room was freed.
    fn exited(&mut self, store: &mut Store, mut pod: Value, ended: Ended) -> bool {
        let marked = pod["metadata"]["deletionTimestamp"].is_string();
        if pod["status"]["phase"] != "Running" {
            if marked {
                Self::remove_deleted(store, &ended.key);
            }
            return false;
        }
        let finished = timestamp();
        let started = pod["status"]["startTime"].clone();
        let ok = ended.exits.iter().all(|(_, code)| *code == 0);
        let statuses: Vec<Value> = ended
            .exits
            .iter()
            .map(|(name, code)| {
                let image = pod["spec"]["containers"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|c| c["name"] == name.as_str()))
                    .map_or(Value::Null, |c| c["image"].clone());
                let reason = if *code == 0 { "Completed" } else { "Error" };
                json!({
                    "name": name, "image": image, "imageID": "", "ready": false, "started": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": finished}},
                })
            })
            .collect();
        pod["status"]["phase"] = json!(if ok { "Succeeded" } else { "Failed" });
        pod["status"]["containerStatuses"] = Value::Array(statuses);
        pod["status"]["conditions"] =
            json!([condition("PodScheduled", true, None, None), condition("Ready", false, Some("PodCompleted"), None)]);
        store.logs.insert(ended.key.clone(), ended.log);
        store.put(pod);
        if marked {
            Self::remove_deleted(store, &ended.key);
        }
        self.release(&ended.key)
    }

    /// A deleted pod seen for the first time: its containers get the stop
    /// signal now and are killed when the grace period runs out.
    fn begin_termination(&mut self, pod: &Value, key: PodKey, now: Instant, cluster: &Cluster) {
        if !pod["spec"]["nodeName"].is_string() || !self.terminating.insert((key.clone(), uid_of(pod))) {
            return;
        }
        let grace = Duration::from_secs(pod["metadata"]["deletionGracePeriodSeconds"].as_u64().unwrap_or(0));
        if self.processes.stop(&key) {
            self.later(now + grace, key, uid_of(pod), Step::Kill);
        } else if cluster.stop_time < grace {
            self.later(now + cluster.stop_time, key, uid_of(pod), Step::Stop);
        } else {
            self.later(now + grace, key, uid_of(pod), Step::Kill);
        }
    }

    /// A deleted pod's simulated containers ended with `exit_code`: its
    /// status says so (phase Failed), a driver's executors go, and the
    /// kubelet deletes the pod for good. True when room was freed.
    fn stopped(&mut self, store: &mut Store, mut pod: Value, key: &PodKey, exit_code: i32) -> bool {
        if !is_final(&pod) {
            if pod["status"]["phase"] == "Running" {
                let state = json!({"terminated": {"exitCode": exit_code, "reason": "Error",
                    "startedAt": pod["status"]["startTime"], "finishedAt": timestamp()}});
                pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
            }
            pod["status"]["phase"] = json!("Failed");
            pod["status"]["conditions"] = json!([
                condition("PodScheduled", true, None, None),
                condition("Ready", false, Some("PodCompleted"), None),
            ]);
            store.put(pod);
        }
        let current = store.pod(&key.0, &key.1).cloned();
        self.stop_deployment(store, current.as_ref(), key);
        if let Some(names) = self.executors.remove(key) {
            for name in names {
                store.delete(&pod_path(&key.0, &name), &name, None, false);
            }
        }
        Self::remove_deleted(store, key);
        self.release(key)
    }

    /// The kubelet's last word on a deleted pod whose containers all
    /// stopped: delete it with grace 0 (it goes unless finalizers hold it).
    fn remove_deleted(store: &mut Store, key: &PodKey) {
        let options = DeleteOptions { grace_period: Some(0), ..DeleteOptions::default() };
        store.delete_with(&pod_path(&key.0, &key.1), &key.1, &options);
    }

    fn place(&mut self, key: &PodKey, node: String, demand: Demand) {
        let used = self.node_use.entry(node.clone()).or_default();
        used.pods += 1;
        used.demand = used.demand.plus(demand);
        self.placed.insert(key.clone(), (node, demand));
    }

    fn schedule(&mut self, store: &mut Store, mut pod: Value, key: PodKey, now: Instant, cluster: &Cluster) {
        if pod["spec"]["nodeName"].is_string() || self.placed.contains_key(&key) {
            return;
        }
        // A cordoned node (`spec.unschedulable`) takes no new pods.
        let open: Vec<Node>;
        let nodes = if self.cordoned.is_empty() {
            &self.nodes
        } else {
            open = self.nodes.iter().filter(|n| !self.cordoned.contains(&n.name)).cloned().collect();
            &open
        };
        match scheduler::place(&pod, nodes, &self.node_use) {
            Ok(node) => {
                self.place(&key, node.clone(), scheduler::demand(&pod));
                pod["spec"]["nodeName"] = json!(node);
                pod["status"]["conditions"] = json!([condition("PodScheduled", true, None, None)]);
                pod["status"]["containerStatuses"] =
                    container_states(&pod, &json!({"waiting": {"reason": "ContainerCreating"}}), false);
                let uid = uid_of(&pod);
                store.put(pod);
                self.later(now + cluster.timings.start, key, uid, Step::Start);
            }
            Err(message) => {
                let uid = uid_of(&pod);
                let condition = condition("PodScheduled", false, Some("Unschedulable"), Some(&message));
                if pod["status"]["conditions"][0]["message"] != condition["message"] {
                    pod["status"]["conditions"] = json!([condition]);
                    store.put(pod);
                }
                if !self.unschedulable.values().any(|(k, _)| *k == key) {
                    self.seq += 1;
                    self.unschedulable.insert(self.seq, (key, uid));
                }
            }
        }
    }

    /// Tries the unschedulable pods again, oldest first, now that room or nodes changed.
    fn retry_unschedulable(&mut self, store: &mut Store, now: Instant, cluster: &Cluster) {
        let waiting = std::mem::take(&mut self.unschedulable);
        for (_, (key, uid)) in waiting {
            if let Some(pod) = Self::current(store, &key, &uid) {
                self.schedule(store, pod, key, now, cluster);
            }
        }
    }

    fn unpullable_image(pod: &Value, cluster: &Cluster) -> Option<String> {
        pod["spec"]["containers"]
            .as_array()?
            .iter()
            .filter_map(|c| c["image"].as_str())
            .find(|image| cluster.unpullable(image))
            .map(str::to_owned)
    }

    fn start(&mut self, store: &mut Store, mut pod: Value, key: PodKey, now: Instant, cluster: &Cluster) {
        if pod["status"]["phase"] != "Pending" {
            return;
        }
        self.unschedulable.retain(|_, (k, _)| *k != key);
        let uid = uid_of(&pod);
        if let Some(image) = Self::unpullable_image(&pod, cluster) {
            let message = format!(
                "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": not found"
            );
            let state = json!({"waiting": {"reason": "ErrImagePull", "message": message}});
            pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
            store.put(pod);
            self.later(now + cluster.timings.start.max(Duration::from_millis(10)), key, uid, Step::BackOff);
            return;
        }
        let local = !is_driver(&pod) && process::runs_locally(&pod, cluster);
        if local && let Err(message) = self.processes.start(store, &pod, cluster) {
            let state = json!({"waiting": {"reason": "CreateContainerConfigError", "message": message}});
            pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
            store.put(pod);
            return;
        }
        let started = timestamp();
        pod["status"]["phase"] = json!("Running");
        pod["status"]["startTime"] = json!(started);
        pod["status"]["podIP"] = json!(format!("10.0.{}.{}", (self.seq >> 8) & 0xff, self.seq & 0xff));
        pod["status"]["conditions"] = json!([
            condition("PodScheduled", true, None, None),
            condition("Initialized", true, None, None),
            condition("ContainersReady", true, None, None),
            condition("Ready", true, None, None),
        ]);
        pod["status"]["containerStatuses"] = container_states(&pod, &json!({"running": {"startedAt": started}}), true);
        if is_driver(&pod) {
            let (job, attempt) = driver_identity(&pod);
            let run = cluster.run_for(&job, attempt).clone();
            store.logs.insert(key.clone(), run.log.clone());
            store.put(pod);
            if cluster.executors {
                self.later(now, key.clone(), uid.clone(), Step::Executors);
            }
            if let Some(runs_for) = run.runs_for {
                self.later(now + runs_for, key, uid, Step::Finish);
            }
        } else {
            store.put(pod);
        }
    }

    /// Creates the executors the driver asks for that do not exist yet;
    /// those the quota refuses are asked for again a batch delay later.
    fn make_executors(&mut self, store: &mut Store, driver: &Value, key: PodKey, now: Instant) {
        if driver["status"]["phase"] != "Running" {
            return;
        }
        let mounted: Vec<&Value> = spark::mounted_config_maps(driver)
            .iter()
            .filter_map(|name| {
                store.objects.get(&("v1".to_owned(), "configmaps".to_owned(), Some(key.0.clone()), name.clone()))
            })
            .collect();
        // spark-submit's cluster mode hands the driver its properties in a
        // mounted ConfigMap; a client-mode driver (a Connect server) has them
        // on its command line.
        let props = mounted
            .iter()
            .filter_map(|cm| cm["data"]["spark.properties"].as_str().map(spark::parse_properties))
            .next()
            .unwrap_or_else(|| spark::command_line_properties(driver));
        // The executors' pod template, as spark-submit mounts it (`spark.kubernetes.executor.podTemplateFile`).
        let template =
            mounted.iter().find_map(|cm| cm["data"][spark::POD_TEMPLATE_KEY].as_str().map(spark::read_template));
        if spark::uses_deployment(&props) {
            self.allocate_by_deployment(store, driver, &key, &props, template.flatten().as_ref());
            return;
        }
        let mut templates = spark::executor_pods(driver, &props, self.executor_demand);
        if let Some(Some(template)) = &template {
            templates.iter_mut().for_each(|executor| spark::with_template(executor, template));
        }
        let mut refused = 0usize;
        for executor in &templates {
            let name = executor["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let made = self.executors.get(&key).is_some_and(|names| names.contains(&name));
            if made || store.pod(&key.0, &name).is_some() {
                continue;
            }
            if !self.create_executor(store, &key, executor.clone()) {
                refused += 1;
            }
        }
        // Executors lost since (their pod failed or was deleted) are
        // replaced under new ids, as Spark's allocator asks for more.
        let made = self.executors.get(&key).cloned().unwrap_or_default();
        let live = made.iter().filter(|n| store.pod(&key.0, n).is_some_and(|p| !is_final(p))).count();
        let missing = templates.len().saturating_sub(live + refused);
        if let Some(template) = templates.first() {
            let prefix = template["metadata"]["name"].as_str().and_then(|n| n.rsplit_once("-exec-")).map(|(p, _)| p);
            let highest = made.iter().filter_map(|n| n.rsplit_once("-exec-")?.1.parse::<usize>().ok()).max();
            let first = highest.unwrap_or(0).max(templates.len()) + 1;
            for next in first..first + missing {
                let name = format!("{}-exec-{next}", prefix.unwrap_or_default());
                let mut executor = template.clone();
                executor["metadata"]["name"] = json!(name);
                executor["metadata"]["labels"]["spark-exec-id"] = json!(next.to_string());
                executor["spec"]["hostname"] = json!(name);
                if !self.create_executor(store, &key, executor) {
                    refused += 1;
                }
            }
        }
        if refused > 0 {
            self.later(now + BATCH_DELAY, key, uid_of(driver), Step::Executors);
        }
    }

    /// Spark 4.2's `DeploymentPodsAllocator` (ADR 0105): the driver, as its
    /// service account, creates the executors' Deployment once and later
    /// scales it through the `scale` subresource (a GET and a PUT of
    /// `deployments/scale`, then a GET of the Deployment, as fabric8's
    /// `scale(n)` sends them); the Deployment and ReplicaSet controllers
    /// (`deployment`) make the pods. A request RBAC refuses ends the driver
    /// as the exception ends Spark's.
    fn allocate_by_deployment(
        &mut self,
        store: &mut Store,
        driver: &Value,
        key: &PodKey,
        props: &BTreeMap<String, String>,
        template: Option<&Value>,
    ) {
        if let Some(refused) = spark::deployment_refused(props) {
            self.crash(store, driver, key, &refused);
            return;
        }
        let Some(mut deployment) = spark::executor_deployment(driver, props, self.executor_demand) else { return };
        if let Some(template) = template {
            spark::with_template(&mut deployment["spec"]["template"], template);
        }
        let name = deployment["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let wanted = deployment["spec"]["replicas"].clone();
        if self.deployments.contains_key(key) {
            let Some(mut current) = store.stored("apps/v1", "deployments", Some(&key.0), &name).cloned() else {
                return;
            };
            if current["spec"]["replicas"] == wanted {
                return;
            }
            for (verb, resource) in
                [("get", "deployments/scale"), ("update", "deployments/scale"), ("get", "deployments")]
            {
                if let Err(message) = driver_may(store, driver, verb, resource, &name) {
                    let method = if verb == "update" { "PUT" } else { "GET" };
                    let url = format!(
                        "{}/{name}{}",
                        deployments_url(&key.0),
                        resource.strip_prefix("deployments").unwrap_or("")
                    );
                    self.crash(store, driver, key, &fabric8_failure(method, &url, &message));
                    return;
                }
            }
            current["spec"]["replicas"] = wanted;
            let generation = current["metadata"]["generation"].as_u64().unwrap_or(1);
            current["metadata"]["generation"] = json!(generation + 1);
            store.put(current);
            return;
        }
        if let Err(message) = driver_may(store, driver, "create", "deployments", "") {
            self.crash(store, driver, key, &fabric8_failure("POST", &deployments_url(&key.0), &message));
            return;
        }
        let mut path = deployment_path(&key.0, &name);
        path.name = None;
        let options =
            WriteOptions { field_manager: Some("fabric8-kubernetes-client".into()), ..WriteOptions::default() };
        match store.create(&path, deployment, &options) {
            Answer::Json(201 | 409, _) => {
                self.deployments.insert(key.clone(), name);
            }
            Answer::Json(_, body) => {
                let message = body["message"].as_str().unwrap_or_default().to_owned();
                self.crash(store, driver, key, &fabric8_failure("POST", &deployments_url(&key.0), &message));
            }
            Answer::Text(_, text) => self.crash(store, driver, key, &text),
        }
    }

    /// Spark's `stop` with the Deployment allocator: the driver deletes its
    /// executors' Deployment (the garbage collector takes the ReplicaSet and
    /// pods); a refusal is only logged, as Spark logs it.
    fn stop_deployment(&mut self, store: &mut Store, driver: Option<&Value>, key: &PodKey) {
        let Some(name) = self.deployments.remove(key) else { return };
        if let Some(driver) = driver
            && driver_may(store, driver, "delete", "deployments", &name).is_err()
        {
            return;
        }
        store.delete(&deployment_path(&key.0, &name), &name, None, false);
    }

    /// Ends a running driver at once as an uncaught exception ends Spark's:
    /// `Failed`, exit code 1, the exception the last line of its log.
    fn crash(&mut self, store: &mut Store, driver: &Value, key: &PodKey, exception: &str) {
        let mut pod = driver.clone();
        if pod["status"]["phase"] != "Running" {
            return;
        }
        let log = store.logs.entry(key.clone()).or_default();
        log.push_str(&format!("Exception in thread \"main\" {exception}\n"));
        let state = json!({"terminated": {"exitCode": 1, "reason": "Error",
            "startedAt": pod["status"]["startTime"], "finishedAt": timestamp()}});
        pod["status"]["phase"] = json!("Failed");
        pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
        pod["status"]["conditions"] =
            json!([condition("PodScheduled", true, None, None), condition("Ready", false, Some("PodCompleted"), None)]);
        store.put(pod);
        self.stop_deployment(store, Some(driver), key);
        self.release(key);
    }

    /// Creates one executor of the driver `key` unless the quota refuses it (false).
    fn create_executor(&mut self, store: &mut Store, key: &PodKey, executor: Value) -> bool {
        if quota::admit(store, &key.0, &executor).is_err() {
            return false;
        }
        let name = executor["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let mut path = pod_path(&key.0, &name);
        path.name = None;
        if let Answer::Json(201, _) = store.create(&path, executor, &WriteOptions::default()) {
            self.executors.entry(key.clone()).or_default().push(name);
        }
        true
    }

    /// When an executor of a running driver is lost, the driver asks for a replacement at once.
    fn executor_lost(&mut self, store: &Store, executor: &Value, now: Instant) {
        if executor["metadata"]["labels"]["spark-role"] != "executor" {
            return;
        }
        let owner = &executor["metadata"]["ownerReferences"][0];
        let (namespace, _) = key_of(executor);
        let driver = (namespace, owner["name"].as_str().unwrap_or_default().to_owned());
        if !self.executors.contains_key(&driver) {
            return;
        }
        if let Some(pod) = store.pod(&driver.0, &driver.1).filter(|p| p["metadata"]["uid"] == owner["uid"]) {
            let uid = uid_of(pod);
            self.later(now, driver, uid, Step::Executors);
        }
    }

    /// Ends a driver's run; true when room was freed.
    fn finish(&mut self, store: &mut Store, mut pod: Value, key: &PodKey, cluster: &Cluster) -> bool {
        if pod["status"]["phase"] != "Running" {
            return false;
        }
        let (job, attempt) = driver_identity(&pod);
        let run = cluster.run_for(&job, attempt).clone();
        let limit = scheduler::memory_limit(&pod["spec"]["containers"][0]);
        let oom = run.peak_memory_bytes.zip(limit).is_some_and(|(peak, limit)| peak > limit);
        let finished = timestamp();
        let started = pod["status"]["startTime"].clone();
        let (phase, exit_code, reason) = if oom {
            ("Failed", 137, "OOMKilled")
        } else if run.exit_code == 0 {
            ("Succeeded", 0, "Completed")
        } else {
            ("Failed", run.exit_code, "Error")
        };
        let state = json!({"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": finished}});
        pod["status"]["phase"] = json!(phase);
        pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
        pod["status"]["conditions"] =
            json!(
                [condition("PodScheduled", true, None, None), condition("Ready", false, Some("PodCompleted"), None),]
            );
        let ended = store.put(pod);
        // Spark's driver deletes its executors (or their Deployment) when it stops.
        self.stop_deployment(store, Some(&ended), key);
        if let Some(names) = self.executors.remove(key) {
            for name in names {
                store.delete(&pod_path(&key.0, &name), &name, None, false);
                self.release(&(key.0.clone(), name));
            }
        }
        self.release(key)
    }

    /// The unfinished pods bound to `node`.
    fn bound_to(store: &Store, node: &str) -> Vec<Value> {
        store
            .objects
            .iter()
            .filter(|((av, plural, _, _), v)| {
                av == "v1" && plural == "pods" && v["spec"]["nodeName"] == node && !is_final(v)
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Ends `pod` as Failed with `reason` and a `DisruptionTarget` condition.
    fn terminate(store: &mut Store, mut pod: Value, reason: Option<&str>, condition_reason: &str, message: &str) {
        pod["status"]["phase"] = json!("Failed");
        if let Some(reason) = reason {
            pod["status"]["reason"] = json!(reason);
        }
        pod["status"]["message"] = json!(message);
        let state = json!({"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": timestamp()}});
        pod["status"]["containerStatuses"] = container_states(&pod, &state, false);
        pod["status"]["conditions"] =
            json!([condition("DisruptionTarget", true, Some(condition_reason), Some(message))]);
        store.put(pod);
    }

    /// Evicts every unfinished pod bound to `node`, as the kubelet does under memory pressure.
    pub fn evict(store: &mut Store, node: &str) -> usize {
        let victims = Self::bound_to(store, node);
        let count = victims.len();
        for pod in victims {
            Self::terminate(store, pod, Some("Evicted"), "TerminationByKubelet", EVICTED);
        }
        count
    }

    /// Evicts one unfinished pod, as the kubelet does with the victim it picks under pressure.
    pub fn evict_pod(store: &mut Store, namespace: &str, name: &str) -> bool {
        match store.pod(namespace, name).filter(|p| !is_final(p)).cloned() {
            Some(pod) => {
                Self::terminate(store, pod, Some("Evicted"), "TerminationByKubelet", EVICTED);
                true
            }
            None => false,
        }
    }

    /// Fails and deletes every pod bound to `node`, as the pod garbage
    /// collector does once the node is gone; returns their names.
    pub fn lose_node(store: &mut Store, node: &str) -> Vec<String> {
        let mut gone = Vec::new();
        for pod in Self::bound_to(store, node) {
            let (namespace, name) = key_of(&pod);
            Self::terminate(store, pod, None, "DeletionByPodGC", "PodGC: node no longer exists");
            store.delete(&pod_path(&namespace, &name), &name, None, false);
            gone.push(name);
        }
        gone
    }
}

/// The SparkJob and attempt a driver pod belongs to.
fn driver_identity(pod: &Value) -> (String, u32) {
    let labels = &pod["metadata"]["labels"];
    let job = labels[sparkplane_api::labels::JOB]
        .as_str()
        .or_else(|| labels["spark-app-name"].as_str())
        .unwrap_or_default()
        .to_owned();
    let attempt = labels[sparkplane_api::labels::ATTEMPT].as_str().and_then(|a| a.parse().ok()).unwrap_or(1);
    (job, attempt)
}

/// The path of a Deployment.
fn deployment_path(namespace: &str, name: &str) -> crate::resources::ResourcePath {
    crate::resources::ResourcePath {
        group: "apps".into(),
        version: "v1".into(),
        namespace: Some(namespace.to_owned()),
        plural: "deployments".into(),
        name: Some(name.to_owned()),
        subresource: None,
    }
}

/// The URL fabric8 inside the driver sends its Deployment requests to.
fn deployments_url(namespace: &str) -> String {
    format!("https://kubernetes.default.svc/apis/apps/v1/namespaces/{namespace}/deployments")
}

/// How fabric8's `KubernetesClientException` reads a refused request.
fn fabric8_failure(method: &str, url: &str, message: &str) -> String {
    format!(
        "io.fabric8.kubernetes.client.KubernetesClientException: Failure executing: {method} at: {url}. Message: {message}."
    )
}

/// Whether the driver's service account (its pod's `serviceAccountName`,
/// else `default`) may `verb` the `apps` `resource` named `name` in its
/// namespace, as the API server authorizes the driver's requests (`rbac`);
/// the refusal's message otherwise.
fn driver_may(store: &Store, driver: &Value, verb: &str, resource: &str, name: &str) -> Result<(), String> {
    let namespace = driver["metadata"]["namespace"].as_str().unwrap_or_default();
    let account = driver["spec"]["serviceAccountName"].as_str().unwrap_or("default");
    let user = crate::rbac::service_account_token(namespace, account);
    let request = crate::rbac::Attributes {
        verb: verb.into(),
        group: "apps".into(),
        resource: resource.into(),
        namespace: Some(namespace.to_owned()),
        name: name.into(),
    };
    crate::rbac::authorize(store, Some(&user), &request).map_err(|refused| match refused {
        Answer::Json(_, body) => body["message"].as_str().unwrap_or_default().to_owned(),
        Answer::Text(_, text) => text,
    })
}
