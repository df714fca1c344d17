//! A stateful fake Kubernetes API server for sparkplane's tests, the
//! spark-submit conformance harness and submission benchmarks.
//!
//! [`FakeApiServer::start`] binds 127.0.0.1 on a free port and serves plain
//! HTTP until dropped. It answers like the real API server closely enough for
//! both fabric8 (inside spark-submit) and kube-rs: create, get, list with
//! label and field selectors, replace, the four patch types (server-side apply
//! with managed fields and conflicts in `apply` and `managed_fields`,
//! strategic merge patch for built-in kinds), graceful deletion with
//! finalizers (`deletion`) and an asynchronous garbage collector (`gc`),
//! list pagination with continue tokens (`pagination`), the Eviction
//! subresource with PodDisruptionBudgets (`eviction`), `dryRun=All`,
//! watches streaming from a resource version, pod logs (followed until the
//! pod ends) and discovery. Every request is recorded. Faults are scripted
//! with [`Behaviour`].
//!
//! It owns answering requests and its threads only (the HTTP server is
//! `sparkplane_http`'s, ADR 0088); the semantics live in `store`, paths and
//! discovery in `resources` (stored CustomResourceDefinitions add their
//! resources to it), selectors in `selector`, ValidatingAdmissionPolicy in
//! `admission` (CEL, with the limits its documentation lists), a stored
//! CRD's structural schema (pruning, defaults, validation, CEL rules) in
//! `schema`, list merge keys in `list_types`, and, once
//! [`FakeApiServer::install_kueue`] installed it, a stand-in for Kueue's
//! admission of Workloads in `kueue` (ADR 0073). What it does not do:
//! authentication (a service account's token is taken at its word; RBAC for
//! it is `rbac`), webhooks, schema validation of built-in kinds, namespace
//! existence checks.

mod admission;
mod answer;
mod apply;
mod cluster;
mod deletion;
mod deployment;
mod eviction;
mod gc;
mod jobs;
mod kueue;
mod list_types;
mod managed_fields;
mod pagination;
mod process;
mod protobuf;
mod quota;
mod rbac;
mod resources;
mod scheduler;
mod schema;
mod selector;
mod simulation;
mod spark;
mod statefulset;
mod store;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_http::{BodyWriter, HttpServer, Options, Reply, Request, Responder};

use crate::resources::{CustomResource, ResourcePath, Route};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Answer, Store, WriteOptions, status};

pub use crate::cluster::{Cluster, DriverRule, DriverRun, ImageProgram, Node, Timings};

/// Evaluates a ValidatingAdmissionPolicy expression over an object as the
/// fake's admission does (`object`, no `oldObject`): `Ok(true)` when the
/// object complies, an error when the expression does not compile or run.
pub fn evaluate_admission_expression(expression: &str, object: &Value) -> Result<bool, String> {
    admission::evaluate(expression, object, None)
}
pub use crate::resources::{KNOWN, KnownResource, schemaless_crd};

/// One request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method (`GET`, `POST`, …).
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query parameters (decoded; the last one wins when repeated).
    pub query: BTreeMap<String, String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// `User-Agent`, if sent (tells the clients of one run apart).
    pub user_agent: Option<String>,
    /// The body parsed as JSON, or as YAML for apply patches; None when empty or unreadable.
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// The request as one JSON object (for `--record`).
    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "contentType": self.content_type,
            "userAgent": self.user_agent,
            "body": self.body,
        })
    }
}

/// How driver pods move on by themselves once created: a shorthand for a
/// [`Cluster`] without limits whose drivers start after `step`, run for
/// `step` and end in `final_phase` (used when no cluster is set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodScript {
    /// Time from creation to Running, and from Running to the final phase.
    pub step: Duration,
    /// The final phase: `Succeeded` or `Failed`.
    pub final_phase: String,
    /// The log the driver writes (set when it starts running).
    pub log: String,
}

/// Scripted behaviour and faults; [`Default`] is a well-behaved server.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Pods labelled `spark-role=driver` advance Pending → Running → final by themselves.
    pub advance_driver_pods: Option<PodScript>,
    /// This many upcoming requests fail with 500 InternalError (counted down).
    pub fail_next: u32,
    /// Only requests with this method count for `fail_next` (any method when None).
    pub fail_method: Option<String>,
    /// Watches are closed by the server after sending this many events.
    pub drop_watches_after: Option<usize>,
    /// Every answer waits this long first (slow API server).
    pub latency: Option<Duration>,
    /// This many upcoming pod creates lose a race (counted down): just
    /// before each, another client (field manager `racer`) creates the same
    /// pod, so the create answers 409 AlreadyExists.
    pub lose_create_races: u32,
    /// This many upcoming pod watch events are dropped from the watch they
    /// were about to be sent on (counted down): a gap no resumed watch
    /// replays, so that client learns of those changes only by reading again.
    pub lose_pod_watch_events: u32,
    /// Writes that lose a race with another client (see [`WriteRace`]).
    pub write_race: Option<WriteRace>,
}

/// Another client's write that lands between a client's read of an object
/// and its own write: just before each of the next `times` writes (PUT or
/// PATCH, not dry runs) to `path`, a client with field manager `racer`
/// sends `patch` as a JSON merge patch to `racer_path`. A write that carries
/// the resourceVersion it read is then refused (409 Conflict); one that
/// does not is applied over the racer's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRace {
    /// The request path whose writes lose, e.g.
    /// `/apis/sparkplane.dev/v1alpha1/namespaces/data/sparkjobs/etl/status`.
    pub path: String,
    /// How many of them lose (counted down).
    pub times: u32,
    /// Where the racer writes: the object's path or its `/status`.
    pub racer_path: String,
    /// The racer's merge patch.
    pub patch: Value,
}

#[derive(Default)]
struct State {
    store: Store,
    requests: Vec<RecordedRequest>,
    behaviour: Behaviour,
    /// The simulated cluster, when set.
    cluster: Option<Cluster>,
    /// Bumped whenever the cluster's description changes.
    cluster_generation: u64,
    /// The resource version when the simulation last began: pods created before stay as they are.
    cluster_since: u64,
    /// Whether Kueue is installed: its CRDs stored and its admission stand-in running (`kueue`).
    kueue: bool,
    /// Requests wait while the API is paused.
    paused: bool,
    shutdown: bool,
    /// Bumped by [`FakeApiServer::drop_watches`]; a watch ends when it changes.
    watch_epoch: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler thread must not take the whole fake down with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The largest request body the fake reads (a larger one is answered 413);
/// its header section is bounded by the server's `MAX_HEAD` (64 KiB).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The fake API server; stops when dropped, and by the time the drop
/// returns every thread it started has ended and its store is freed.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    server: Option<HttpServer>,
    /// The simulated cluster's thread.
    simulation: Option<std::thread::JoinHandle<()>>,
    port: u16,
}

impl std::fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApiServer").field("url", &self.url()).finish()
    }
}

impl FakeApiServer {
    /// Starts on a random free port of 127.0.0.1.
    pub fn start() -> std::io::Result<FakeApiServer> {
        FakeApiServer::start_on(0)
    }

    /// Starts on a given port of 127.0.0.1 (0 picks a free one).
    pub fn start_on(port: u16) -> std::io::Result<FakeApiServer> {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: Condvar::new() });
        let handler = {
            let shared = Arc::clone(&shared);
            move |request: Request, responder: Responder| serve(&shared, &request, responder)
        };
        let quick = Arc::clone(&shared);
        let options = Options::new("fakekube")
            .body_limit(MAX_BODY)
            .inline(move |request: &Request| answered_at_once(&quick, request));
        let server = sparkplane_http::start(listen_without_delay(port)?, options, handler)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let port = server.addr().port();
        let sim = Arc::clone(&shared);
        let simulation = std::thread::Builder::new().name("fakekube-cluster".into()).spawn(move || simulate(&sim))?;
        Ok(FakeApiServer { shared, server: Some(server), simulation: Some(simulation), port })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port served.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request so far, in the order received.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Stored objects, sorted by apiVersion, kind, namespace and name.
    pub fn objects(&self) -> Vec<Value> {
        let mut objects: Vec<Value> = self.shared.lock().store.objects.values().cloned().collect();
        let key = |v: &Value| {
            let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
            (s("/apiVersion"), s("/kind"), s("/metadata/namespace"), s("/metadata/name"))
        };
        objects.sort_by_key(key);
        objects
    }

    /// One stored object.
    pub fn object(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let state = self.shared.lock();
        let plural = state.store.plural_of(api_version, kind);
        let key = (api_version.to_owned(), plural, namespace.map(str::to_owned), name.to_owned());
        state.store.objects.get(&key).cloned()
    }

    /// Moves a pod to a phase (status and container states follow), bumping
    /// its resourceVersion and notifying watches. Does nothing for a missing pod.
    pub fn set_pod_phase(&self, namespace: &str, name: &str, phase: &str) {
        self.shared.lock().store.set_pod_phase(namespace, name, phase);
        self.shared.changed.notify_all();
    }

    /// Sets a pod's whole log (followers get what was added).
    pub fn set_pod_log(&self, namespace: &str, name: &str, log: &str) {
        self.shared.lock().store.logs.insert((namespace.to_owned(), name.to_owned()), log.to_owned());
        self.shared.changed.notify_all();
    }

    /// Closes every watch open now, as an API server restart or a broken
    /// connection would (the clients must watch again).
    pub fn drop_watches(&self) {
        self.shared.lock().watch_epoch += 1;
        self.shared.changed.notify_all();
    }

    /// Makes the fake a simulated cluster (or changes it): nodes, a
    /// scheduler, kubelets and Spark's driver move pods created from now on.
    pub fn set_cluster(&self, cluster: Cluster) {
        let mut state = self.shared.lock();
        if effective_cluster(&state).is_none() {
            state.cluster_since = state.store.rv;
        }
        state.cluster = Some(cluster);
        state.cluster_generation += 1;
        drop(state);
        self.shared.changed.notify_all();
    }

    /// Installs Kueue as its v0.19.2 release would: its CRDs (v1beta2) are
    /// stored and a stand-in for its admission (`kueue` module, ADR 0073)
    /// admits, keeps pending and preempts Workloads from then on.
    pub fn install_kueue(&self) {
        let mut state = self.shared.lock();
        let path = resources::ResourcePath {
            group: "apiextensions.k8s.io".into(),
            version: "v1".into(),
            namespace: None,
            plural: "customresourcedefinitions".into(),
            name: None,
            subresource: None,
        };
        for crd in kueue::CRDS {
            let crd: Value = serde_json::from_str(crd).unwrap_or(Value::Null);
            state.store.create(&path, crd, &WriteOptions::default());
        }
        state.kueue = true;
        drop(state);
        self.shared.changed.notify_all();
    }

    /// Node pressure on `node`: its kubelet evicts every unfinished pod
    /// (phase Failed, reason Evicted) and the node is tainted
    /// `node.kubernetes.io/memory-pressure:NoSchedule`, so nothing new lands
    /// there. Returns how many pods were evicted.
    pub fn evict_node(&self, node: &str) -> usize {
        let mut state = self.shared.lock();
        let evicted = simulation::Sim::evict(&mut state.store, node);
        if let Some(n) = state.cluster.as_mut().and_then(|c| c.nodes.iter_mut().find(|n| n.name == node)) {
            n.taints.push(("node.kubernetes.io/memory-pressure".into(), String::new(), "NoSchedule".into()));
        }
        state.cluster_generation += 1;
        drop(state);
        self.shared.changed.notify_all();
        evicted
    }

    /// The kubelet evicts one pod (phase Failed, reason Evicted), as it
    /// picks a victim under node pressure, without tainting its node.
    /// Returns false when the pod is missing or already finished.
    pub fn evict_pod(&self, namespace: &str, name: &str) -> bool {
        let evicted = simulation::Sim::evict_pod(&mut self.shared.lock().store, namespace, name);
        self.shared.changed.notify_all();
        evicted
    }

    /// The node leaves the cluster (shut down, or taken by the cloud): its
    /// Node object goes, and every pod bound to it is marked Failed with a
    /// `DisruptionTarget` condition and deleted, as Kubernetes' pod garbage
    /// collector does for pods on a node that no longer exists. Spark's
    /// driver stand-in replaces the executors it lost. Returns the deleted
    /// pods' names. Removing the last configured node leaves the unbounded
    /// default node.
    pub fn remove_node(&self, node: &str) -> Vec<String> {
        let mut state = self.shared.lock();
        let gone = simulation::Sim::lose_node(&mut state.store, node);
        if let Some(cluster) = state.cluster.as_mut() {
            cluster.nodes.retain(|n| n.name != node);
        }
        state.cluster_generation += 1;
        drop(state);
        self.shared.changed.notify_all();
        gone
    }

    /// Pauses the API: every request waits (connections stay open) until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.shared.lock().paused = true;
    }

    /// Ends a [`pause`](Self::pause): waiting requests are answered.
    pub fn resume(&self) {
        self.shared.lock().paused = false;
        self.shared.changed.notify_all();
    }

    /// Forgets the change history, as etcd's compaction does: a watch from
    /// an older resource version gets `410 Gone` (Expired) and must list again.
    pub fn compact(&self) {
        self.shared.lock().store.compact();
        self.shared.changed.notify_all();
    }

    /// Replaces the scripted behaviour.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        let mut state = self.shared.lock();
        if effective_cluster(&state).is_none() {
            state.cluster_since = state.store.rv;
        }
        state.behaviour = behaviour;
        drop(state);
        self.shared.changed.notify_all();
    }

    /// The scripted behaviour now, with its counters (`fail_next`,
    /// `lose_create_races`, `write_race.times`) as far as requests have used them up.
    pub fn behaviour(&self) -> Behaviour {
        self.shared.lock().behaviour.clone()
    }

    /// Stores an object directly (no request recorded), as if created earlier.
    pub fn insert(&self, object: Value) -> Option<Value> {
        let api_version = object["apiVersion"].as_str()?.to_owned();
        let kind = object["kind"].as_str()?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let mut state = self.shared.lock();
        let path = ResourcePath {
            group: group.to_owned(),
            version: version.to_owned(),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
            plural: state.store.plural_of(&api_version, kind),
            name: None,
            subresource: None,
        };
        let answer = state.store.create(&path, object, &WriteOptions::default());
        drop(state);
        self.shared.changed.notify_all();
        match answer {
            Answer::Json(201, v) => Some(v),
            _ => None,
        }
    }

    /// A kubeconfig that authenticates as a service account, whose requests
    /// the fake authorizes with the stored RBAC objects (an administrator's
    /// kubeconfig is [`FakeApiServer::kubeconfig`]).
    pub fn service_account_kubeconfig(&self, namespace: &str, service_account: &str) -> String {
        self.kubeconfig(namespace).replace(
            "token: fake-token",
            &format!("token: {}", rbac::service_account_token(namespace, service_account)),
        )
    }

    /// A kubeconfig pointing at [`url`](Self::url): plain HTTP, a token user, `namespace` as default.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {url}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\n",
            url = self.url()
        )
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.changed.notify_all();
        // Stops accepting, closes idle connections and waits for the handlers' threads (streams end
        // at their next check of `shutdown`), then for the simulation's: the
        // store is then held by `self.shared` alone and freed with it, here,
        // rather than by whichever thread ends last, while the caller has
        // moved on (a bench's next run on a fresh server would otherwise
        // share the machine with the freeing of the last one's gigabytes).
        drop(self.server.take());
        if let Some(simulation) = self.simulation.take() {
            let _ = simulation.join();
        }
    }
}

fn parse_body(text: &str) -> Option<Value> {
    if text.trim().is_empty() {
        return None;
    }
    serde_json::from_str(text).ok().or_else(|| {
        let source = sparkplane_documents::source::Source::new("body", text);
        sparkplane_documents::yaml::parse_single(&source).ok().map(|node| node.to_json())
    })
}

/// Binds 127.0.0.1:`port` with `TCP_NODELAY`, which Linux passes on to every
/// accepted connection. The real API server (Go's net/http) sends without
/// delay too; without it, separate header and body writes meet the
/// client's delayed ACK and every answer waits about 40 ms.
fn listen_without_delay(port: u16) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// A header's value as text; bytes that are not UTF-8 are replaced, not the header dropped.
fn header(request: &Request, name: &str) -> Option<String> {
    request.headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// What a request asks for, once parsed.
struct Parsed {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    content_type: Option<String>,
    user_agent: Option<String>,
    body: Option<Value>,
    /// An apply's 403 should it create the object (see [`WriteOptions::create_forbidden`]).
    create_forbidden: Option<Answer>,
}

/// Whether a request is answered from the store at once, so the HTTP server
/// may call [`serve`] on the connection's own thread: everything but a watch,
/// a followed log, and any request while the API is paused or slowed.
fn answered_at_once(shared: &Shared, request: &Request) -> bool {
    let flag = |name: &str| {
        form_urlencoded::parse(request.query.as_bytes())
            .any(|(key, value)| key == name && (value == "true" || value == "1"))
    };
    if flag("watch") || flag("follow") {
        return false;
    }
    let state = shared.lock();
    !state.paused && state.behaviour.latency.is_none()
}

fn serve(shared: &Arc<Shared>, request: &Request, responder: Responder) {
    let (path, query_text) = (&request.path, &request.query);
    let query: BTreeMap<String, String> = form_urlencoded::parse(query_text.as_bytes()).into_owned().collect();
    let content_type = header(request, "Content-Type");
    let body = if content_type.as_deref().is_some_and(|t| t.starts_with(protobuf::CONTENT_TYPE)) {
        match protobuf::decode(&request.body) {
            Ok(object) => Some(object),
            Err(why) => {
                respond(responder, status(415, "UnsupportedMediaType", why, json!({})));
                return;
            }
        }
    } else {
        parse_body(&String::from_utf8_lossy(&request.body))
    };
    let mut parsed = Parsed {
        method: request.method_name().to_ascii_uppercase(),
        path: path.to_owned(),
        query,
        content_type,
        user_agent: header(request, "User-Agent"),
        body,
        create_forbidden: None,
    };
    let (latency, fail) = {
        let mut state = shared.lock();
        while state.paused && !state.shutdown {
            state = shared.changed.wait_timeout(state, POLL).map(|(s, _)| s).unwrap_or_else(|e| e.into_inner().0);
        }
        state.requests.push(RecordedRequest {
            method: parsed.method.clone(),
            path: parsed.path.clone(),
            query: parsed.query.clone(),
            content_type: parsed.content_type.clone(),
            user_agent: parsed.user_agent.clone(),
            body: parsed.body.clone(),
        });
        let behaviour = &mut state.behaviour;
        let counts = behaviour.fail_method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(&parsed.method));
        let fail = behaviour.fail_next > 0 && counts;
        if fail {
            behaviour.fail_next -= 1;
        }
        (behaviour.latency, fail)
    };
    if let Some(latency) = latency {
        std::thread::sleep(latency);
    }
    if fail {
        let answer = status(500, "InternalError", "Internal error occurred: injected by the fake".into(), json!({}));
        respond(responder, answer);
        return;
    }
    let token = header(request, "Authorization")
        .and_then(|h| h.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).map(|_| h[7..].trim().to_owned()));
    let user = rbac::user(&shared.lock().store, token.as_deref(), header(request, "Impersonate-User").as_deref());
    let user = match user {
        Ok(user) => user,
        Err(refused) => {
            respond(responder, refused);
            return;
        }
    };
    let flag = |name: &str| parsed.query.get(name).is_some_and(|v| v == "true" || v == "1");
    if let Some(attributes) = rbac::attributes(&parsed.method, &parsed.path, flag("watch")) {
        let denied = rbac::authorize(&shared.lock().store, user.as_deref(), &attributes).err();
        if let Some(answer) = denied {
            respond(responder, answer);
            return;
        }
    }
    if let Some(create) = rbac::create_on_apply(&parsed.method, &parsed.path, parsed.content_type.as_deref()) {
        parsed.create_forbidden = rbac::authorize_create_on_apply(&shared.lock().store, user.as_deref(), &create).err();
    }
    match route(&parsed, || shared.lock().store.custom_resources()) {
        Some(Handling::Watch(path)) => watch(shared, responder, &path, &parsed),
        Some(Handling::FollowLog(..)) if tail_lines(&parsed).is_err() => {
            let given = parsed.query.get("tailLines").cloned().unwrap_or_default();
            let message = format!("tailLines: Invalid value: \"{given}\": must be a number greater than or equal to 0");
            respond(responder, status(400, "BadRequest", message, json!({})));
        }
        Some(Handling::FollowLog(namespace, name)) if flag("follow") => {
            follow_log(shared, responder, &namespace, &name, tail_lines(&parsed).ok().flatten())
        }
        Some(Handling::FollowLog(namespace, name)) => {
            let state = shared.lock();
            let answer = match state.store.pod(&namespace, &name) {
                Some(_) => {
                    let log = state.store.logs.get(&(namespace.clone(), name.clone())).cloned().unwrap_or_default();
                    let from = tail_start(&log, tail_lines(&parsed).ok().flatten());
                    Answer::Text(200, log[from..].to_owned())
                }
                None => {
                    status(404, "NotFound", format!("pods \"{name}\" not found"), json!({"name": name, "kind": "pods"}))
                }
            };
            drop(state);
            respond(responder, answer);
        }
        Some(Handling::Answer(answer)) => respond(responder, answer),
        None => {
            let answer = handle(shared, &parsed);
            respond(responder, answer);
        }
    }
}

enum Handling {
    Watch(ResourcePath),
    FollowLog(String, String),
    Answer(Answer),
}

/// Requests answered without touching the store, or streamed.
fn route(parsed: &Parsed, custom: impl Fn() -> Vec<CustomResource>) -> Option<Handling> {
    let flag = |name: &str| parsed.query.get(name).is_some_and(|v| v == "true" || v == "1");
    if let Some(document) = resources::openapi_v3(&parsed.path, &custom) {
        return Some(Handling::Answer(Answer::Json(200, document)));
    }
    match resources::route(&parsed.path) {
        Route::Version => Some(Handling::Answer(Answer::Json(200, resources::version_info()))),
        Route::CoreVersions => Some(Handling::Answer(Answer::Json(200, resources::core_versions()))),
        Route::Groups => Some(Handling::Answer(Answer::Json(200, resources::group_list(&custom())))),
        Route::Group(g) => Some(Handling::Answer(match resources::group(&g, &custom()) {
            Some(v) => Answer::Json(200, v),
            None => status(404, "NotFound", "the server could not find the requested resource".into(), json!({})),
        })),
        Route::ResourceList { group, version } => {
            Some(Handling::Answer(match resources::resource_list(&group, &version, &custom()) {
                Some(v) => Answer::Json(200, v),
                None => status(404, "NotFound", "the server could not find the requested resource".into(), json!({})),
            }))
        }
        Route::Unknown => Some(Handling::Answer(status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            json!({}),
        ))),
        Route::Resource(path) => {
            // A group, version or resource nothing serves (no built-in, no stored CRD): the API server's 404.
            if path.known().is_none()
                && !custom()
                    .iter()
                    .any(|r| r.group == path.group && r.version == path.version && r.plural == path.plural)
            {
                return Some(Handling::Answer(status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource".into(),
                    json!({}),
                )));
            }
            if parsed.method == "GET" && path.name.is_none() && flag("watch") {
                return Some(Handling::Watch(path));
            }
            if parsed.method == "GET" && path.plural == "pods" && path.subresource.as_deref() == Some("log") {
                let namespace = path.namespace.clone().unwrap_or_default();
                return path.name.clone().map(|name| Handling::FollowLog(namespace, name));
            }
            None
        }
    }
}

/// Store operations.
fn handle(shared: &Arc<Shared>, parsed: &Parsed) -> Answer {
    let Route::Resource(path) = resources::route(&parsed.path) else {
        return status(404, "NotFound", "the server could not find the requested resource".into(), json!({}));
    };
    let options = WriteOptions {
        dry_run: parsed.query.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: parsed.query.get("fieldManager").cloned(),
        force: parsed.query.get("force").is_some_and(|v| v == "true"),
        user_agent: parsed.user_agent.clone(),
        create_forbidden: parsed.create_forbidden.clone(),
    };
    let selectors = || {
        let labels = LabelSelector::parse(parsed.query.get("labelSelector").map(String::as_str).unwrap_or_default());
        let fields = FieldSelector::parse(parsed.query.get("fieldSelector").map(String::as_str).unwrap_or_default());
        (labels, fields)
    };
    let body = || parsed.body.clone().unwrap_or(Value::Null);
    let mut state = shared.lock();
    if parsed.method == "POST"
        && path.plural == "pods"
        && path.group.is_empty()
        && !options.dry_run
        && state.behaviour.lose_create_races > 0
    {
        state.behaviour.lose_create_races -= 1;
        let racer = WriteOptions { field_manager: Some("racer".into()), ..WriteOptions::default() };
        state.store.create(&path, body(), &racer);
    }
    if parsed.method == "POST" && path.plural == "pods" && path.group.is_empty() && !options.dry_run {
        let namespace = path.namespace.clone().unwrap_or_default();
        if let Err(refused) = quota::admit(&state.store, &namespace, &body()) {
            return refused;
        }
    }
    if matches!(parsed.method.as_str(), "PUT" | "PATCH") && !options.dry_run {
        race(&mut state, &parsed.path);
    }
    let store = &mut state.store;
    let answer = match (parsed.method.as_str(), path.name.clone()) {
        ("GET", None) => match selectors() {
            (Some(labels), Some(fields)) => {
                let page = pagination::Page {
                    limit: parsed.query.get("limit").and_then(|l| l.parse().ok()),
                    token: parsed.query.get("continue").filter(|c| !c.is_empty()).cloned(),
                    request: format!(
                        "{} {:?} {:?}",
                        parsed.path,
                        parsed.query.get("labelSelector"),
                        parsed.query.get("fieldSelector")
                    ),
                    unfiltered: parsed.query.get("labelSelector").is_none_or(String::is_empty)
                        && parsed.query.get("fieldSelector").is_none_or(String::is_empty),
                };
                store.list_page(&path, &labels, &fields, &page)
            }
            _ => status(400, "BadRequest", "unable to parse the label or field selector".into(), json!({})),
        },
        ("GET", Some(name)) => store.get(&path, &name),
        ("POST", None) => store.create(&path, body(), &options),
        ("POST", Some(name)) if path.plural == "pods" && path.subresource.as_deref() == Some("eviction") => {
            eviction::evict(store, &path, &name, &body())
        }
        ("PUT", Some(name)) => store.replace(&path, &name, body(), &options),
        ("PATCH", Some(name)) => {
            let content_type = parsed.content_type.clone().unwrap_or_default();
            store.patch(&path, &name, &content_type, body(), &options)
        }
        ("DELETE", Some(name)) => store.delete_with(&path, &name, &delete_options(parsed, options.dry_run)),
        (method, _) => {
            status(405, "MethodNotAllowed", format!("{method} is not supported on {}", parsed.path), json!({}))
        }
    };
    drop(state);
    shared.changed.notify_all();
    answer
}

/// The racer's write of [`Behaviour::write_race`], when a write to `path` is due to lose.
fn race(state: &mut State, path: &str) {
    let Some(race) = state.behaviour.write_race.as_mut().filter(|r| r.times > 0 && r.path == path) else { return };
    race.times -= 1;
    let (racer_path, patch) = (race.racer_path.clone(), race.patch.clone());
    if let Route::Resource(target) = resources::route(&racer_path) {
        let racer = WriteOptions { field_manager: Some("racer".into()), ..WriteOptions::default() };
        let name = target.name.clone().unwrap_or_default();
        state.store.patch(&target, &name, "application/merge-patch+json", patch, &racer);
    }
}

/// A DELETE's options, from the query or the `DeleteOptions` body.
fn delete_options(parsed: &Parsed, dry_run: bool) -> store::DeleteOptions {
    let body = parsed.body.clone().unwrap_or(Value::Null);
    store::DeleteOptions {
        propagation: parsed
            .query
            .get("propagationPolicy")
            .cloned()
            .or_else(|| body["propagationPolicy"].as_str().map(str::to_owned)),
        grace_period: parsed
            .query
            .get("gracePeriodSeconds")
            .and_then(|g| g.parse().ok())
            .or_else(|| body["gracePeriodSeconds"].as_i64()),
        dry_run: dry_run || body["dryRun"].as_array().is_some_and(|d| d.iter().any(|v| v == "All")),
    }
}

/// The cluster the simulation acts as: the one set, else the one
/// [`Behaviour::advance_driver_pods`] describes.
fn effective_cluster(state: &State) -> Option<Cluster> {
    if let Some(cluster) = &state.cluster {
        return Some(cluster.clone());
    }
    let script = state.behaviour.advance_driver_pods.as_ref()?;
    let exit_code = if script.final_phase == "Succeeded" { 0 } else { 1 };
    Some(Cluster {
        timings: Timings { schedule: Duration::ZERO, start: script.step },
        default_run: DriverRun {
            runs_for: Some(script.step),
            exit_code,
            log: script.log.clone(),
            peak_memory_bytes: None,
        },
        ..Cluster::default()
    })
}

/// The simulated cluster's thread: ticks whenever the store changes or a
/// step falls due, until the server stops.
fn simulate(shared: &Arc<Shared>) {
    let mut sim = simulation::Sim::default();
    let mut sets = statefulset::StatefulSets::default();
    let mut deployments = deployment::Deployments::default();
    let mut jobs = jobs::Jobs::default();
    let mut collector = gc::Collector::default();
    let mut kueue_admission = kueue::Kueue::default();
    let mut state = shared.lock();
    // Rounds run back to back while each one changes the store (bounded, so a controller that writes every round cannot spin).
    let mut eager = 0;
    loop {
        if state.shutdown {
            return;
        }
        let mut wait = POLL;
        let before = state.store.rv;
        // The controller manager's part: garbage collection and budget status, with or without a cluster.
        if collector.tick(&mut state.store) {
            wait = Duration::ZERO;
        }
        // Kueue's controller, when installed: admission of Workloads.
        if state.kueue && kueue_admission.tick(&mut state.store) {
            wait = Duration::ZERO;
        }
        eviction::refresh(&mut state.store);
        if state.store.rv != before {
            shared.changed.notify_all();
        }
        let Some(cluster) = effective_cluster(&state) else {
            sim = simulation::Sim::default();
            if wait.is_zero() {
                continue;
            }
            state = shared.changed.wait_timeout(state, wait).map(|(s, _)| s).unwrap_or_else(|e| e.into_inner().0);
            continue;
        };
        {
            let (generation, since) = (state.cluster_generation, state.cluster_since);
            let before = state.store.rv;
            sets.tick(&mut state.store);
            deployments.tick(&mut state.store);
            jobs.tick(&mut state.store);
            let next = sim.tick(&mut state.store, &cluster, (generation, since), Instant::now());
            if state.store.rv != before {
                shared.changed.notify_all();
            }
            if let Some(next) = next {
                wait = wait.min(next.saturating_duration_since(Instant::now()));
            }
        }
        // What this round wrote (deleted pods, finished runs) is for the next round to read now, not a poll later.
        eager = if state.store.rv != before && eager < 8 { eager + 1 } else { 0 };
        if eager > 0 {
            wait = Duration::ZERO;
        }
        if wait.is_zero() {
            continue;
        }
        state = shared.changed.wait_timeout(state, wait).map(|(s, _)| s).unwrap_or_else(|e| e.into_inner().0);
    }
}

fn respond(responder: Responder, answer: Answer) {
    let (code, body, content_type) = match answer {
        Answer::Json(code, value) => (code, value.to_string(), "application/json"),
        Answer::Text(code, text) => (code, text, "text/plain"),
    };
    responder.send(Reply::text(code, content_type, body));
}

/// A streamed answer: chunked transfer, each piece sent at once; the
/// connection closes after it.
struct Stream {
    writer: BodyWriter,
}

impl Stream {
    fn open(responder: Responder, content_type: &str) -> Option<Stream> {
        let headers = [("Connection", "close"), ("Cache-Control", "no-cache, private")];
        Some(Stream { writer: responder.stream(200, content_type, &headers) })
    }

    fn send(&mut self, data: &[u8]) -> bool {
        self.writer.write_all(data).is_ok()
    }

    /// The last chunk goes when the writer does.
    fn end(self) {}
}

/// How long a stream waits before checking its deadline and the server again.
const POLL: Duration = Duration::from_millis(200);

/// How often an idle watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(1);

/// One event of a watch, its object shared with the store's history.
struct WatchEvent {
    kind: &'static str,
    object: Arc<Value>,
}

impl WatchEvent {
    /// The line the API server writes: `{"type": …, "object": …}` and a newline.
    fn line(&self) -> Option<String> {
        #[derive(serde::Serialize)]
        struct Line<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            object: &'a Value,
        }
        let mut line = serde_json::to_string(&Line { kind: self.kind, object: &self.object }).ok()?;
        line.push('\n');
        Some(line)
    }
}

fn watch(shared: &Arc<Shared>, responder: Responder, path: &ResourcePath, parsed: &Parsed) {
    let labels = LabelSelector::parse(parsed.query.get("labelSelector").map(String::as_str).unwrap_or_default());
    let fields = FieldSelector::parse(parsed.query.get("fieldSelector").map(String::as_str).unwrap_or_default());
    let (Some(labels), Some(fields)) = (labels, fields) else {
        respond(responder, status(400, "BadRequest", "unable to parse the label or field selector".into(), json!({})));
        return;
    };
    let timeout = parsed.query.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).unwrap_or(1800);
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let start: Option<u64> = parsed.query.get("resourceVersion").and_then(|rv| rv.parse().ok()).filter(|rv| *rv > 0);
    let bookmarks = parsed.query.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let (mut cursor, mut pending, limit, epoch, kind) = {
        let state = shared.lock();
        let limit = state.behaviour.drop_watches_after;
        let epoch = state.watch_epoch;
        let kind = state.store.kind_for(path);
        if let Some(rv) = start
            && rv < state.store.oldest_watchable()
        {
            // Compacted away: the API server streams one ERROR event with 410 and ends the watch.
            let oldest = state.store.oldest_watchable();
            drop(state);
            if let Some(mut stream) = Stream::open(responder, "application/json") {
                let gone = json!({"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": format!("too old resource version: {rv} ({oldest})"), "reason": "Expired", "code": 410,
                }});
                stream.send(format!("{gone}\n").as_bytes());
                stream.end();
            }
            return;
        }
        let (cursor, pending) = match start {
            Some(rv) => (rv, Vec::new()),
            None => {
                let added: Vec<WatchEvent> = state
                    .store
                    .matching(path, &labels, &fields)
                    .into_iter()
                    .map(|(_, object)| WatchEvent { kind: "ADDED", object: Arc::new(object) })
                    .collect();
                (state.store.rv, added)
            }
        };
        (cursor, pending, limit, epoch, kind)
    };
    let Some(mut stream) = Stream::open(responder, "application/json") else {
        return;
    };
    let mut sent = 0usize;
    let api_version = path.api_version();
    let mut last_bookmark = Instant::now();
    let mut bookmarked = cursor;
    loop {
        for event in pending.drain(..) {
            if limit.is_some_and(|n| sent >= n) {
                stream.end();
                return;
            }
            let Some(line) = event.line() else { return };
            if !stream.send(line.as_bytes()) {
                return;
            }
            sent += 1;
        }
        if limit.is_some_and(|n| sent >= n) || Instant::now() >= deadline {
            stream.end();
            return;
        }
        let mut state = shared.lock();
        loop {
            if state.shutdown || state.watch_epoch != epoch {
                drop(state);
                stream.end();
                return;
            }
            // Shared, not copied: the lock is held only to pick the events out.
            let mut fresh: Vec<WatchEvent> = state
                .store
                .events_after(cursor)
                .iter()
                .filter(|e| {
                    e.api_version == api_version
                        && e.plural == path.plural
                        && (path.namespace.is_none() || e.namespace == path.namespace)
                        && labels.matches(&e.object)
                        && fields.matches(&e.object)
                })
                .map(|e| WatchEvent { kind: e.kind, object: Arc::clone(&e.object) })
                .collect();
            if path.plural == "pods" && state.behaviour.lose_pod_watch_events > 0 {
                let lost = fresh.len().min(state.behaviour.lose_pod_watch_events as usize);
                fresh.drain(..lost);
                state.behaviour.lose_pod_watch_events -= lost as u32;
            }
            cursor = state.store.rv;
            if !fresh.is_empty() {
                pending = fresh;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            if bookmarks && cursor > bookmarked && last_bookmark.elapsed() >= BOOKMARK_EVERY {
                // Nothing for this watch lately: tell the client how far it has seen.
                pending = vec![WatchEvent {
                    kind: "BOOKMARK",
                    object: Arc::new(json!({
                        "kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": cursor.to_string()},
                    })),
                }];
                bookmarked = cursor;
                last_bookmark = Instant::now();
                break;
            }
            state = shared.changed.wait_timeout(state, POLL).map(|(s, _)| s).unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// A log request's `tailLines`: none, or a count of lines from the end (not a
/// number, or below 0, is the API server's 400).
fn tail_lines(parsed: &Parsed) -> Result<Option<usize>, ()> {
    parsed.query.get("tailLines").map(|v| v.parse::<usize>().map_err(|_| ())).transpose()
}

/// Where the last `lines` lines of `log` start (a final line without its
/// newline counts), as the kubelet cuts a log for `tailLines`; 0 for all.
fn tail_start(log: &str, lines: Option<usize>) -> usize {
    let Some(lines) = lines else { return 0 };
    let body = log.strip_suffix('\n').unwrap_or(log);
    if lines == 0 {
        return log.len();
    }
    body.rmatch_indices('\n').nth(lines - 1).map_or(0, |(at, _)| at + 1)
}

fn follow_log(shared: &Arc<Shared>, responder: Responder, namespace: &str, name: &str, tail: Option<usize>) {
    if shared.lock().store.pod(namespace, name).is_none() {
        let answer =
            status(404, "NotFound", format!("pods \"{name}\" not found"), json!({"name": name, "kind": "pods"}));
        respond(responder, answer);
        return;
    }
    let Some(mut stream) = Stream::open(responder, "text/plain") else {
        return;
    };
    let key = (namespace.to_owned(), name.to_owned());
    let mut offset = tail_start(&shared.lock().store.logs.get(&key).cloned().unwrap_or_default(), tail);
    loop {
        let mut state = shared.lock();
        let log = state.store.logs.get(&key).cloned().unwrap_or_default();
        let ended = state.shutdown || state.store.pod_ended(namespace, name);
        if log.len() > offset && log.is_char_boundary(offset) {
            drop(state);
            if !stream.send(&log.as_bytes()[offset..]) {
                return;
            }
            offset = log.len();
            continue;
        }
        if ended {
            drop(state);
            stream.end();
            return;
        }
        state = shared.changed.wait_timeout(state, POLL).map(|(s, _)| s).unwrap_or_else(|e| e.into_inner().0);
        drop(state);
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn tail_lines_keep_the_last_lines_as_the_kubelet_does() {
        for (log, lines, tail) in [
            ("a\nb\nc\n", None, "a\nb\nc\n"),
            ("a\nb\nc\n", Some(2), "b\nc\n"),
            ("a\nb\nc\n", Some(3), "a\nb\nc\n"),
            ("a\nb\nc\n", Some(9), "a\nb\nc\n"),
            ("a\nb\nc", Some(1), "c"),
            ("a\nb\nc\n", Some(0), ""),
            ("", Some(5), ""),
        ] {
            assert_eq!(&log[super::tail_start(log, lines)..], tail, "{log:?} {lines:?}");
        }
    }
    use super::{FakeApiServer, listen_without_delay};
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Whether everything a dropped server held is freed within two seconds.
    fn freed(weak: &std::sync::Weak<super::Shared>) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if weak.upgrade().is_none() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn a_dropped_server_closes_the_connections_still_open_and_frees_its_store() {
        let fake = FakeApiServer::start().expect("starts");
        let weak = Arc::downgrade(&fake.shared);
        let mut watch = std::net::TcpStream::connect(("127.0.0.1", fake.port())).expect("connects");
        write!(watch, "GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n").expect("sends");
        let mut head = [0u8; 12];
        watch.read_exact(&mut head).expect("the watch answers");
        // A keep-alive connection left idle by a client that is still there.
        let mut idle = std::net::TcpStream::connect(("127.0.0.1", fake.port())).expect("connects");
        write!(idle, "GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: x\r\n\r\n").expect("sends");
        idle.read_exact(&mut head).expect("the list answers");
        assert_eq!(&head[..9], b"HTTP/1.1 ");
        drop(fake);
        assert!(freed(&weak), "the store outlived its server while a client kept a connection open");
        idle.set_read_timeout(Some(Duration::from_secs(2))).expect("sets a timeout");
        let mut rest = Vec::new();
        idle.read_to_end(&mut rest).expect("the server closed the idle connection");
    }

    #[test]
    fn a_dropped_server_has_ended_its_threads_and_freed_its_store_when_the_drop_returns() {
        let fake = FakeApiServer::start().expect("starts");
        let weak = Arc::downgrade(&fake.shared);
        let cluster = super::Cluster {
            nodes: vec![super::Node::new("node-0", 8, 32)],
            default_run: super::DriverRun::succeeds(Duration::from_secs(60), "started\n"),
            ..super::Cluster::default()
        };
        fake.set_cluster(cluster);
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "driver", "namespace": "default", "labels": {"spark-role": "driver"}},
            "spec": {"containers": [{"name": "spark", "image": "spark:3.5.7"}]},
        });
        fake.insert(pod).expect("stores the driver pod");
        let open = |request: &str| {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", fake.port())).expect("connects");
            write!(stream, "{request} HTTP/1.1\r\nHost: x\r\n\r\n").expect("sends");
            stream
        };
        let mut head = [0u8; 12];
        // A watch, a followed log of a driver that runs for a minute, and a request waiting out a pause.
        let mut watch = open("GET /api/v1/namespaces/default/pods?watch=true");
        watch.read_exact(&mut head).expect("the watch answers");
        let deadline = Instant::now() + Duration::from_secs(10);
        while fake.object("v1", "Pod", Some("default"), "driver").is_some_and(|p| p["status"]["phase"] != "Running") {
            assert!(Instant::now() < deadline, "the simulated cluster never started the driver");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut log = open("GET /api/v1/namespaces/default/pods/driver/log?follow=true");
        log.read_exact(&mut head).expect("the followed log answers");
        fake.pause();
        let _waiting = open("GET /api/v1/namespaces/default/pods");
        std::thread::sleep(Duration::from_millis(50));
        drop(fake);
        // At once, not eventually: a thread still finishing would hold the store.
        assert!(weak.upgrade().is_none(), "a thread of the dropped server still held its store when the drop returned");
        watch.set_read_timeout(Some(Duration::from_secs(2))).expect("sets a timeout");
        let mut rest = Vec::new();
        watch.read_to_end(&mut rest).expect("the server closed the watch");
        log.set_read_timeout(Some(Duration::from_secs(2))).expect("sets a timeout");
        log.read_to_end(&mut rest).expect("the server closed the followed log");
    }

    #[test]
    fn accepted_connections_send_without_delay() {
        let listener = listen_without_delay(0).expect("binds 127.0.0.1");
        let address = listener.local_addr().expect("address");
        let _client = std::net::TcpStream::connect(address).expect("connects");
        let (accepted, _) = listener.accept().expect("accepts");
        assert!(socket2::SockRef::from(&accepted).tcp_nodelay().expect("reads TCP_NODELAY"));
        assert!(address.ip().is_loopback());
    }
}
