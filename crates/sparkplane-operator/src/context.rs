//! What every reconcile shares: the client, the caches the watches keep,
//! the operator's memory of what it admitted, prepared plans (and the
//! Kubeflow applications' conversions they were prepared from), metrics and
//! the channel that wakes jobs when room frees up.
//!
//! Owns: that shared state and its locking. Must not: decide, or import any
//! operator module but those below it (see the layers in `lib.rs`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use sparkplane_api::SparkJob;
use sparkplane_api::job::SparkJobStatus;
use sparkplane_core::sizing::SizedJob;
use sparkplane_lifecycle::queue::Waiting;
use sparkplane_lifecycle::{DriverView, ExecutorFacts, ExecutorParent, ExecutorView};
use sparkplane_lifecycle::{Platform, Prepared};
use tokio::sync::mpsc::UnboundedSender;

use super::converted::{self, Conversion, Conversions};
use super::kubeflow_state::App;
use super::metrics::Metrics;

/// How the operator was started.
#[derive(Clone, Debug)]
pub struct OperatorSettings {
    /// Only this namespace (None: every namespace).
    pub namespace: Option<String>,
    /// Reconciles at once.
    pub concurrency: u16,
    /// Where driver logs are archived before pods are removed (`s3://…`, a folder, …).
    pub log_store: Option<String>,
    /// Most applications running at once per namespace when its quota does not say (None: no cap).
    pub max_running_per_namespace: Option<u32>,
    /// Address of the metrics and health endpoints (`127.0.0.1:9090`), if any.
    pub metrics_address: Option<String>,
    /// Leader election (None: act at once, for a single replica).
    pub leader: Option<super::leader::LeaderSettings>,
    /// The API server URL, for messages.
    pub server: String,
    /// The longest an active run goes without a reconcile, and how often its
    /// driver is read from the API server rather than trusted from the pod
    /// watch ([`DEFAULT_RESYNC`] unless tuned).
    pub resync: std::time::Duration,
    /// Serve Kubeflow's v1beta2 resources that opted in (`--kubeflow`); None: SparkJobs only.
    pub kubeflow: Option<super::kubeflow_state::KubeflowSettings>,
    /// The built-in queue's shared pool (`--queue-pool`, `--queue-capacity`; the small-cluster
    /// mode, ADR 0073); None: each namespace's quota and cap alone admit.
    pub queue_pool: Option<super::pool::PoolCapacity>,
}

impl OperatorSettings {
    /// What the operator says it does as it starts: the kinds it reconciles
    /// (SparkJobs, and with `--kubeflow` Kubeflow's opted-in resources),
    /// where, at which API server, and who admits runs.
    pub fn describe(&self, admitter: super::Admitter) -> String {
        let scope =
            self.namespace.as_deref().map_or_else(|| "every namespace".to_owned(), |n| format!("namespace {n}"));
        let admitted_by = match (admitter, &self.queue_pool) {
            (super::Admitter::Kueue, _) => "Kueue admits runs".to_owned(),
            (super::Admitter::BuiltIn, None) => "its own queue admits runs".to_owned(),
            (super::Admitter::BuiltIn, Some(pool)) => {
                format!("its own queue admits runs from a pool every tenant shares ({})", pool.source())
            }
        };
        let kinds = if self.kubeflow.is_some() {
            format!(
                "SparkJobs, and Kubeflow SparkApplications, ScheduledSparkApplications and SparkConnects labelled {}={},",
                sparkplane_kubeflow::resource::OPERATOR,
                sparkplane_kubeflow::resource::SPARKPLANE
            )
        } else {
            "SparkJobs".to_owned()
        };
        format!("reconciling {kinds} in {scope} at {}; {admitted_by}", self.server)
    }
}

/// The default [`OperatorSettings::resync`].
pub const DEFAULT_RESYNC: std::time::Duration = std::time::Duration::from_secs(60);

/// What the operator admitted and has not seen end, per namespace: the
/// cache of SparkJobs lags behind the operator's own writes, and admission
/// must count a run from the moment its driver is created.
#[derive(Debug, Default)]
pub struct Ledger {
    admitted: BTreeMap<String, BTreeMap<String, SizedJob>>,
}

impl Ledger {
    /// Runs of `namespace` holding room.
    pub fn admitted(&self, namespace: &str) -> Vec<SizedJob> {
        self.admitted.get(namespace).map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Records that `job` holds `demand`.
    pub fn admit(&mut self, namespace: &str, job: &str, demand: SizedJob) {
        self.admitted.entry(namespace.to_owned()).or_default().insert(job.to_owned(), demand);
    }

    /// Every run holding room: namespace, name and what it holds.
    pub fn all(&self) -> Vec<(String, String, SizedJob)> {
        self.admitted
            .iter()
            .flat_map(|(ns, runs)| runs.iter().map(move |(job, demand)| (ns.clone(), job.clone(), demand.clone())))
            .collect()
    }

    /// Runs of `namespace` holding room, with their names.
    pub fn entries(&self, namespace: &str) -> Vec<(String, SizedJob)> {
        self.admitted
            .get(namespace)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Forgets `job`; true when it held room.
    pub fn release(&mut self, namespace: &str, job: &str) -> bool {
        self.admitted.get_mut(namespace).is_some_and(|m| m.remove(job).is_some())
    }
}

/// Shared by every reconcile.
pub struct Context {
    /// The API client.
    pub client: kube::Client,
    /// Settings.
    pub settings: OperatorSettings,
    /// Presets, environments and defaults.
    pub platform: Platform,
    /// Every SparkJob the operator watches.
    pub jobs: Store<SparkJob>,
    /// What the pods of each job show.
    pub pods: Arc<Mutex<PodIndex>>,
    /// Every ResourceQuota.
    pub quotas: Store<ResourceQuota>,
    /// Every PriorityClass (empty when the operator may not read them).
    pub priorities: Store<PriorityClass>,
    /// Publishes Events.
    pub recorder: super::events::EventWriter,
    /// Metrics.
    pub metrics: Metrics,
    /// Wakes a job (queue heads when room frees, parents when a run ends).
    pub wake: UnboundedSender<ObjectRef<SparkJob>>,
    /// Kubeflow's v1beta2 resources (`--kubeflow`), set once when they are served.
    pub kubeflow: std::sync::OnceLock<Arc<super::kubeflow_state::KubeflowState>>,
    /// Kueue mode (`--kueue`, ADR 0073): the Workloads' cache; None: the built-in queue admits.
    pub kueue: Option<super::kueue_cache::KueueCache>,
    /// The shared pool's nodes and pods (`--queue-pool` without `--queue-capacity`).
    pub pool: Option<Arc<Mutex<super::pool::PoolIndex>>>,
    /// What each tenant was given lately from the shared pool (its fair share).
    history: Mutex<sparkplane_lifecycle::queue::pool::History>,
    ledger: Mutex<Ledger>,
    /// Queued runs per namespace.
    pub waiting: Mutex<BTreeMap<String, BTreeMap<String, Waiting>>>,
    plans: Plans,
    /// Kubeflow applications' conversions, each with its plan (`--kubeflow`).
    conversions: Mutex<Conversions>,
    /// Serialises admission per namespace.
    admission: tokio::sync::Mutex<()>,
    prefilled: tokio::sync::OnceCell<()>,
    written: Mutex<StatusWrites>,
    /// When each active run's driver was last read from the API server (or created).
    checked: Mutex<HashMap<(String, String), std::time::Instant>>,
}

/// The status writes the job cache may not have seen yet, per job: the
/// resource versions the operator read the job at or wrote it to before its
/// last write, and that last write's answer — its status and resource
/// version only: the spec and metadata are the cache's, so a burst of
/// thousands of writes does not keep a second copy of every job.
#[derive(Debug, Default)]
pub struct StatusWrites {
    jobs: HashMap<(String, String), Written>,
}

#[derive(Debug)]
struct Written {
    superseded: Vec<String>,
    version: Option<String>,
    status: Option<Arc<SparkJobStatus>>,
}

impl StatusWrites {
    /// Records a status write: `read` is the job as the reconcile read it,
    /// `answer` what the API server returned.
    pub fn remember(&mut self, read: &SparkJob, answer: SparkJob) {
        let key = (read.namespace().unwrap_or_default(), read.name_any());
        let version = answer.resource_version();
        let status = answer.status.map(Arc::new);
        let written = self.jobs.entry(key).or_insert_with(|| Written {
            superseded: Vec::new(),
            version: version.clone(),
            status: status.clone(),
        });
        let older = [read.resource_version(), (written.version != version).then(|| written.version.take()).flatten()];
        for rv in older.into_iter().flatten() {
            if !written.superseded.contains(&rv) {
                written.superseded.push(rv);
            }
        }
        written.version = version;
        written.status = status;
    }

    /// The resourceVersion a status write after reading `read` must carry:
    /// this operator's own last write's, when it wrote since that read (the
    /// read is one of the versions that write superseded), else the read's.
    /// The API server refuses the write (409) if anyone else changed the job
    /// since: a decision made on what they changed is not written over it.
    pub fn version_for(&self, read: &SparkJob) -> Option<String> {
        let key = (read.namespace().unwrap_or_default(), read.name_any());
        let own = self
            .jobs
            .get(&key)
            .filter(|written| read.resource_version().is_some_and(|rv| written.superseded.contains(&rv)));
        match own {
            Some(written) => written.version.clone(),
            None => read.resource_version(),
        }
    }

    /// The newest copy of `job` known: the cache's, unless the cache still
    /// shows a version older than the last status write (then the cache's
    /// job with that write's status and version). Forgets the write once
    /// the cache shows it (or a newer change by anyone).
    pub fn freshest(&mut self, job: Arc<SparkJob>) -> Arc<SparkJob> {
        let key = (job.namespace().unwrap_or_default(), job.name_any());
        let Some(written) = self.jobs.get(&key) else { return job };
        if job.resource_version().is_some_and(|rv| written.superseded.contains(&rv)) {
            let mut newer = (*job).clone();
            newer.status = written.status.as_deref().cloned();
            newer.metadata.resource_version.clone_from(&written.version);
            return Arc::new(newer);
        }
        self.jobs.remove(&key);
        job
    }
}

impl Context {
    /// A context over the given caches.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: kube::Client,
        settings: OperatorSettings,
        platform: Platform,
        stores: (Store<SparkJob>, Arc<Mutex<PodIndex>>, Store<ResourceQuota>, Store<PriorityClass>),
        recorder: super::events::EventWriter,
        metrics: Metrics,
        wake: UnboundedSender<ObjectRef<SparkJob>>,
    ) -> Context {
        let (jobs, pods, quotas, priorities) = stores;
        Context {
            client,
            settings,
            platform,
            jobs,
            pods,
            quotas,
            priorities,
            recorder,
            metrics,
            wake,
            kueue: None,
            pool: None,
            history: Mutex::new(sparkplane_lifecycle::queue::pool::History::default()),
            kubeflow: std::sync::OnceLock::new(),
            ledger: Mutex::new(Ledger::default()),
            waiting: Mutex::new(BTreeMap::new()),
            plans: Plans::default(),
            conversions: Mutex::new(Conversions::default()),
            admission: tokio::sync::Mutex::new(()),
            prefilled: tokio::sync::OnceCell::new(),
            written: Mutex::new(StatusWrites::default()),
            checked: Mutex::new(HashMap::new()),
        }
    }

    /// The context keeping its plans in `plans`, which the job watch shares
    /// to forget a deleted job's.
    pub fn with_plans(mut self, plans: Plans) -> Context {
        self.plans = plans;
        self
    }

    /// The context in Kueue mode: runs are admitted by Kueue through their Workloads.
    pub fn with_kueue(mut self, cache: super::kueue_cache::KueueCache) -> Context {
        self.kueue = Some(cache);
        self
    }

    /// The context with the shared pool's index of nodes and pods (`--queue-pool`).
    pub fn with_pool(mut self, index: Arc<Mutex<super::pool::PoolIndex>>) -> Context {
        self.pool = Some(index);
        self
    }

    /// What tenants were given lately from the shared pool.
    pub fn history(&self) -> MutexGuard<'_, sparkplane_lifecycle::queue::pool::History> {
        self.history.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether an active run's driver is due to be read from the API server
    /// rather than trusted from the pod index: never read by this replica, or
    /// not for `every`. The index is fed by a watch; this bounds how long a
    /// missed event can leave a run's status behind its pod.
    pub fn driver_check_due(&self, namespace: &str, job: &str, every: std::time::Duration) -> bool {
        let checked = self.checked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        checked.get(&(namespace.to_owned(), job.to_owned())).is_none_or(|at| at.elapsed() >= every)
    }

    /// Records that a run's driver was just read from the API server (or created);
    /// `None` forgets the run (it ended).
    pub fn driver_checked(&self, namespace: &str, job: &str, at: Option<std::time::Instant>) {
        let mut checked = self.checked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (namespace.to_owned(), job.to_owned());
        match at {
            Some(at) => checked.insert(key, at),
            None => checked.remove(&key),
        };
    }

    /// Records a status write (see [`StatusWrites::remember`]).
    pub fn remember_write(&self, read: &SparkJob, answer: SparkJob) {
        self.written.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remember(read, answer);
    }

    /// The resourceVersion a status write after reading `read` carries (see [`StatusWrites::version_for`]).
    pub fn status_version(&self, read: &SparkJob) -> Option<String> {
        self.written.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).version_for(read)
    }

    /// The newest copy of `job` this operator knows: the cache's, unless
    /// the cache still shows a version older than this operator's own last
    /// status write (its watch event not in yet) — deciding on that stale
    /// status would undo the write (a Failed job seen as still running).
    pub fn freshest(&self, job: Arc<SparkJob>) -> Arc<SparkJob> {
        self.written.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).freshest(job)
    }

    /// The ledger of admitted runs.
    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The pod index.
    pub fn pod_index(&self) -> MutexGuard<'_, PodIndex> {
        self.pods.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queued runs.
    pub fn waiting(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Waiting>>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admission is decided one job at a time.
    pub async fn admission_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.admission.lock().await
    }

    /// The prepared plan of a job, computed again only when what it is
    /// made from changes (the job document: spec, labels, name, namespace).
    /// Keyed by content rather than `metadata.generation`, so a server that
    /// does not bump the generation cannot leave a stale plan in place.
    pub fn prepared(&self, job: &SparkJob) -> Arc<Prepared> {
        use std::hash::{Hash, Hasher};
        // A converted job's plan was prepared with its conversion (`converted`).
        if converted::converted(job)
            && let Some(plan) = self.conversions().plan_of(job)
        {
            return plan;
        }
        let uid = job
            .metadata
            .uid
            .clone()
            .unwrap_or_else(|| format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any()));
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        sparkplane_lifecycle::plan::job_document(job).to_string().hash(&mut hasher);
        job.spec.suspend.hash(&mut hasher);
        let digest = hasher.finish();
        let mut plans = self.plans.lock();
        if let Some((d, plan)) = plans.get(&uid)
            && *d == digest
        {
            return Arc::clone(plan);
        }
        let plan = Arc::new(sparkplane_lifecycle::plan::prepare(job, &self.platform));
        plans.insert(uid, (digest, Arc::clone(&plan)));
        plan
    }

    /// A Kubeflow application's conversion and the plan of the job it
    /// converts into (a refusal when it cannot be converted), converted and
    /// prepared again only when its spec text or labels change. Kept until
    /// the application is seen ended (one that ended is seldom looked at again).
    pub fn converted(&self, app: &App) -> (Arc<Conversion>, Arc<Prepared>) {
        let ended = app.status.as_ref().and_then(|s| s.application_state.as_ref()).is_some_and(|s| {
            s.state == sparkplane_kubeflow::status::COMPLETED || s.state == sparkplane_kubeflow::status::FAILED
        });
        let kept = self.conversions().get(app);
        if let Some(kept) = kept {
            if ended {
                self.conversions().forget(app.metadata.uid.as_deref().unwrap_or_default());
            }
            return kept;
        }
        let conversion = Arc::new(converted::conversion(app));
        let prepared = match (&conversion.job, conversion.problems()) {
            (Ok(job), _) => self.prepared(job),
            (Err(_), message) => Arc::new(Prepared::Refused {
                cause: sparkplane_lifecycle::Cause::InvalidSpec,
                message: message.unwrap_or_default(),
            }),
        };
        if !ended {
            self.conversions().keep(app, Arc::clone(&conversion), Arc::clone(&prepared));
        }
        (conversion, prepared)
    }

    fn conversions(&self) -> MutexGuard<'_, Conversions> {
        self.conversions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Once, before the first decision: the ledger and the queues from the
    /// jobs' statuses, so that an operator that restarts admits nothing twice.
    /// The job cache is complete by then: the controller starts reconciling
    /// only once its store is ready (and nothing else may wait on that; see
    /// `run`).
    pub async fn prefill(&self) {
        self.prefilled
            .get_or_init(|| async {
                // No decision on an index that has not seen the pods yet: a
                // driver created before a restart would look missing, and the
                // run would be submitted (a 409 then) instead of adopted.
                let waiting_since = std::time::Instant::now();
                let mut warned = 0;
                loop {
                    let listed = self.pod_index().listed();
                    if listed {
                        break;
                    }
                    let waited = waiting_since.elapsed().as_secs() / 30;
                    if waited > warned {
                        warned = waited;
                        tracing::warn!(seconds = waited * 30, "still waiting for the first list of pods");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                for job in self.jobs.state() {
                    let Some(status) = job.status.as_ref() else { continue };
                    let namespace = job.namespace().unwrap_or_default();
                    let name = job.name_any();
                    match status.state {
                        Some(state) if state.is_active() => self.hold_room(&job),
                        Some(sparkplane_api::job::JobState::Queued) => {
                            let queued_at = status
                                .queued_at
                                .as_deref()
                                .and_then(sparkplane_lifecycle::parse_time)
                                .unwrap_or_else(jiff::Timestamp::now);
                            let entry = Waiting { name: name.clone(), priority: 0, queued_at };
                            self.waiting().entry(namespace).or_default().insert(name, entry);
                        }
                        _ => {}
                    }
                }
            })
            .await;
    }

    /// Records in the ledger that `job` (running when the operator started)
    /// holds the room its plan admits; a job whose plan is refused holds none.
    pub fn hold_room(&self, job: &SparkJob) {
        if let Prepared::Ready(plan) = &*self.prepared(job) {
            self.ledger().admit(&job.namespace().unwrap_or_default(), &job.name_any(), plan.admission.clone());
        }
    }
}

/// Prepared plans by job uid (with the digest of what each was prepared
/// from), shared by the context, which fills it, and the SparkJob watch,
/// which forgets a deleted job's: without that, every job the operator ever
/// saw (each scheduled run is a job of its own) kept its plan until restart.
#[derive(Clone, Debug, Default)]
pub struct Plans(Arc<Mutex<PlanMap>>);

/// A job's uid to the digest of what its plan was prepared from, and the plan.
type PlanMap = HashMap<String, (u64, Arc<Prepared>)>;

impl Plans {
    fn lock(&self) -> MutexGuard<'_, PlanMap> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets the plan of the deleted job `uid`.
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }
}

/// What the pods of one job show: its drivers (every attempt) and the facts
/// of its executors, each with the driver it names (its owner pod, or its
/// application when a ReplicaSet controls it: ADR 0105).
#[derive(Debug, Default)]
pub struct JobPods {
    drivers: Named<Driver>,
    executors: Named<(Option<ExecutorParent<u64>>, ExecutorFacts)>,
}

/// Pods by name, in a plain vector: a job has a driver or two and at most
/// a few hundred executors, and a map's nodes (a B-tree leaf is room for
/// eleven) made the index 3.7 KiB a job at 10,000 jobs.
#[derive(Debug)]
struct Named<T>(Vec<(Box<str>, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<T> Named<T> {
    fn insert(&mut self, name: String, value: T) {
        match self.0.iter_mut().find(|(n, _)| **n == *name) {
            Some((_, slot)) => *slot = value,
            None => {
                self.0.push((name.into_boxed_str(), value));
                self.0.shrink_to_fit();
            }
        }
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| &**n != name);
    }

    fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }

    fn values(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|(_, v)| v)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A driver pod as indexed: its view, its own uid and the SparkJob that
/// controls it (as digests: the index holds tens of thousands of pods).
#[derive(Debug)]
struct Driver {
    view: DriverView,
    uid: Option<u64>,
    job: Option<u64>,
}

impl Driver {
    /// Whether an executor naming `parent` is this driver's.
    fn is_parent(&self, parent: Option<&ExecutorParent<u64>>) -> bool {
        let app = self.view.app_id.as_deref().map(uid_digest);
        parent.is_some_and(|p| p.is_of(self.uid.as_ref(), app.as_ref()))
    }
}

/// A short, stable digest of a uid.
fn uid_digest(uid: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    uid.hash(&mut hasher);
    hasher.finish()
}

/// The uid of the resource a driver runs for: a SparkJob, or a Kubeflow
/// SparkApplication the operator serves (`--kubeflow`).
fn run_owner_uid(pod: &Pod) -> Option<&str> {
    owner_uid(pod, "SparkJob").or_else(|| owner_uid(pod, sparkplane_api::kubeflow::KIND_SPARK_APPLICATION))
}

/// The uid of the `kind` that owns `pod` (its controller when several do).
fn owner_uid<'a>(pod: &'a Pod, kind: &str) -> Option<&'a str> {
    let owners = pod.metadata.owner_references.as_ref()?;
    let of_kind = || owners.iter().filter(|o| o.kind == kind);
    of_kind().find(|o| o.controller == Some(true)).or_else(|| of_kind().next()).map(|o| o.uid.as_str())
}

/// Whether `pod` is a driver the SparkJob with `job_uid` created: a pod with
/// the job's label but another controller — a direct `sparkplane submit`,
/// or an earlier SparkJob of the same name whose pods the garbage collector
/// has not removed yet — is never adopted.
pub fn owned_by(pod: &Pod, job_uid: Option<&str>) -> bool {
    job_uid.is_none_or(|uid| run_owner_uid(pod) == Some(uid))
}

/// The pods of every job, as compact views rather than whole Pod objects,
/// kept current from the pod watch: tens of thousands of pods cost a few
/// hundred bytes each.
#[derive(Debug, Default)]
pub struct PodIndex {
    jobs: HashMap<(String, String), JobPods>,
    /// Filled during a relist, swapped in when it is done.
    relist: Option<HashMap<(String, String), JobPods>>,
    /// Whether a first complete list of pods has arrived.
    listed: bool,
}

fn key_of(pod: &Pod) -> Option<(String, String)> {
    let job = pod.labels().get(sparkplane_api::labels::JOB)?.clone();
    Some((pod.namespace().unwrap_or_default(), job))
}

fn insert(jobs: &mut HashMap<(String, String), JobPods>, pod: &Pod) {
    let Some(key) = key_of(pod) else { return };
    let name = pod.name_any();
    let entry = jobs.entry(key).or_default();
    match pod.labels().get("spark-role").map(String::as_str) {
        Some("driver") => {
            let driver = Driver {
                view: DriverView::of(pod),
                uid: pod.metadata.uid.as_deref().map(uid_digest),
                job: run_owner_uid(pod).map(uid_digest),
            };
            entry.drivers.insert(name, driver);
        }
        Some("executor") => {
            // The driver pod owns the executors of Spark's default allocator; a
            // ReplicaSet of the driver's Deployment those of Spark 4.2's Deployment allocator.
            let parent = ExecutorParent::of(pod).map(|p| p.map(|id| uid_digest(&id)));
            entry.executors.insert(name, (parent, ExecutorFacts::of(pod)));
        }
        _ => {}
    }
}

impl PodIndex {
    /// Applies one watch event.
    pub fn apply(&mut self, event: &watcher::Event<Pod>) {
        match event {
            watcher::Event::Apply(pod) => insert(&mut self.jobs, pod),
            watcher::Event::Delete(pod) => {
                if let Some(key) = key_of(pod) {
                    let name = pod.name_any();
                    if let Some(entry) = self.jobs.get_mut(&key) {
                        entry.drivers.remove(&name);
                        entry.executors.remove(&name);
                        if entry.drivers.is_empty() && entry.executors.is_empty() {
                            self.jobs.remove(&key);
                        }
                    }
                }
            }
            watcher::Event::Init => self.relist = Some(HashMap::new()),
            watcher::Event::InitApply(pod) => match self.relist.as_mut() {
                Some(jobs) => insert(jobs, pod),
                None => insert(&mut self.jobs, pod),
            },
            watcher::Event::InitDone => {
                if let Some(jobs) = self.relist.take() {
                    self.jobs = jobs;
                }
                self.listed = true;
            }
        }
    }

    /// Whether the index holds a complete list of pods (it is empty before).
    pub fn listed(&self) -> bool {
        self.listed
    }

    /// The newest driver of `job` (the SparkJob with `job_uid`) with
    /// `spec_hash` (the highest attempt), and the executors that driver
    /// controls. Pods that carry the job's label but belong to another owner
    /// are not the job's (see [`owned_by`]).
    pub fn view(
        &self,
        namespace: &str,
        job: &str,
        job_uid: Option<&str>,
        spec_hash: Option<&str>,
    ) -> (Option<DriverView>, ExecutorView) {
        let Some(pods) = self.jobs.get(&(namespace.to_owned(), job.to_owned())) else {
            return (None, ExecutorView::default());
        };
        let job_uid = job_uid.map(uid_digest);
        let driver = pods
            .drivers
            .values()
            .filter(|d| job_uid.is_none() || d.job == job_uid)
            .filter(|d| spec_hash.is_none() || d.view.spec_hash.as_deref() == spec_hash)
            .max_by_key(|d| d.view.attempt);
        let executors = match driver {
            Some(d) => ExecutorView::from_facts(pods.executors.values().filter_map(|(parent, facts)| {
                (d.is_parent(parent.as_ref()) && facts.attempt == d.view.attempt).then_some(facts)
            })),
            None => ExecutorView::default(),
        };
        (driver.map(|d| d.view.clone()), executors)
    }

    /// The executor pods the driver `driver` of `job` controls, by name with
    /// their phase (Kubeflow's `status.executorState` lists them by name).
    pub fn executors_of(
        &self,
        namespace: &str,
        job: &str,
        driver: &str,
    ) -> Vec<(String, sparkplane_lifecycle::PodPhase)> {
        let Some(pods) = self.jobs.get(&(namespace.to_owned(), job.to_owned())) else { return Vec::new() };
        let Some(owner) = pods.drivers.get(driver) else { return Vec::new() };
        pods.executors
            .0
            .iter()
            .filter(|(_, (parent, _))| owner.is_parent(parent.as_ref()))
            .map(|(name, (_, facts))| (name.to_string(), facts.phase))
            .collect()
    }

    /// Driver pods with `job`'s label that the SparkJob with `job_uid` does not own.
    pub fn taken(&self, namespace: &str, job: &str, job_uid: Option<&str>) -> Vec<DriverView> {
        let (Some(pods), Some(uid)) = (self.jobs.get(&(namespace.to_owned(), job.to_owned())), job_uid) else {
            return Vec::new();
        };
        let uid = Some(uid_digest(uid));
        pods.drivers.values().filter(|d| d.job != uid).map(|d| d.view.clone()).collect()
    }

    /// A driver pod of `job` (the SparkJob with `job_uid`) by name.
    pub fn driver(&self, namespace: &str, job: &str, job_uid: Option<&str>, pod: &str) -> Option<DriverView> {
        let driver = self.jobs.get(&(namespace.to_owned(), job.to_owned()))?.drivers.get(pod)?;
        (job_uid.is_none() || driver.job == job_uid.map(uid_digest)).then(|| driver.view.clone())
    }

    /// Pods indexed (drivers and executors).
    pub fn len(&self) -> usize {
        self.jobs.values().map(|j| j.drivers.len() + j.executors.len()).sum()
    }

    /// Whether no pod is indexed.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(rv: &str, state: &str) -> SparkJob {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": "etl", "namespace": "data", "resourceVersion": rv},
            "spec": {},
            "status": {"state": state},
        }))
        .expect("a SparkJob")
    }

    fn state(job: &SparkJob) -> Option<&str> {
        job.status.as_ref().and_then(|s| s.state).map(|s| s.as_str())
    }

    #[test]
    fn the_start_line_says_what_is_reconciled_where_and_who_admits() {
        let mut settings = OperatorSettings {
            namespace: None,
            concurrency: 1,
            log_store: None,
            max_running_per_namespace: None,
            metrics_address: None,
            leader: None,
            server: "https://k:6443".into(),
            resync: DEFAULT_RESYNC,
            kubeflow: None,
            queue_pool: None,
        };
        assert_eq!(
            settings.describe(crate::Admitter::BuiltIn),
            "reconciling SparkJobs in every namespace at https://k:6443; its own queue admits runs"
        );
        settings.namespace = Some("data".into());
        settings.queue_pool = Some(crate::pool::PoolCapacity::Nodes);
        assert!(settings.describe(crate::Admitter::BuiltIn).ends_with(
            "in namespace data at https://k:6443; its own queue admits runs from a pool every tenant shares (the \
             nodes' allocatable less what running pods request)"
        ));
        settings.kubeflow = Some(Default::default());
        let line = settings.describe(crate::Admitter::Kueue);
        assert!(line.starts_with("reconciling SparkJobs, and Kubeflow SparkApplications"), "{line}");
        assert!(line.ends_with("; Kueue admits runs"), "{line}");
    }

    #[test]
    fn a_stale_cache_gives_way_to_the_last_write_until_it_catches_up() {
        let mut writes = StatusWrites::default();
        // Read at 10, wrote Submitted (11), then DriverRunning (12) from the same stale read.
        writes.remember(&job("10", "Queued"), job("11", "Submitted"));
        writes.remember(&job("10", "Queued"), job("12", "DriverRunning"));
        for stale in ["10", "11"] {
            assert_eq!(
                state(&writes.freshest(Arc::new(job(stale, "Queued")))),
                Some("DriverRunning"),
                "cache at {stale}"
            );
        }
        // The cache caught up: it is used, and the write is forgotten.
        let caught_up = writes.freshest(Arc::new(job("12", "DriverRunning")));
        assert_eq!(caught_up.resource_version().as_deref(), Some("12"));
        assert!(writes.jobs.is_empty());
        assert_eq!(state(&writes.freshest(Arc::new(job("10", "Queued")))), Some("Queued"), "nothing remembered now");
        // One write: the cache showing its answer is caught up too.
        writes.remember(&job("20", "Running"), job("21", "Succeeded"));
        writes.freshest(Arc::new(job("21", "Succeeded")));
        assert!(writes.jobs.is_empty(), "the answer's own version is not stale");
    }

    /// Two writes from one read: the second carries the first's answer's
    /// version (else the API server would refuse it as stale); a read
    /// newer than the writes carries its own.
    #[test]
    fn a_status_write_carries_the_version_it_was_decided_on() {
        let mut writes = StatusWrites::default();
        assert_eq!(writes.version_for(&job("10", "Queued")).as_deref(), Some("10"), "nothing written yet");
        writes.remember(&job("10", "Queued"), job("11", "Submitted"));
        assert_eq!(writes.version_for(&job("10", "Queued")).as_deref(), Some("11"), "its own write since the read");
        writes.remember(&job("10", "Queued"), job("12", "DriverRunning"));
        assert_eq!(writes.version_for(&job("11", "Submitted")).as_deref(), Some("12"));
        assert_eq!(writes.version_for(&job("15", "Submitted")).as_deref(), Some("15"), "someone changed it since");
    }

    #[test]
    fn a_newer_change_by_anyone_wins_over_the_remembered_write() {
        let mut writes = StatusWrites::default();
        writes.remember(&job("10", "Queued"), job("11", "Submitted"));
        let edited = writes.freshest(Arc::new(job("15", "Submitted")));
        assert_eq!(edited.resource_version().as_deref(), Some("15"));
        assert!(writes.jobs.is_empty());
    }
}
