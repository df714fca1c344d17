//! One reconcile of a SparkJob: gather (caches first, the API only where a
//! cache may lag), decide (the core's pure state machine), act (create,
//! delete, archive, record), writing the status right after a driver is
//! created and at the end.
//!
//! Owns: the I/O of a reconcile and its bookkeeping (admission ledger,
//! queue, wake-ups, metrics). Must not: decide — every choice is the core's
//! (`sparkplane_lifecycle`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, LogParams, PostParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::reflector::ObjectRef;
use sparkplane_api::SparkJob;
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_kube::error::{KubeError, Operation};
use sparkplane_kube::submit::{self, Created, FIELD_MANAGER};
use sparkplane_lifecycle::lifecycle::{self, Action, Observed};
use sparkplane_lifecycle::queue::{Admission, Waiting};
use sparkplane_lifecycle::schedule::{self, RunView, ScheduleAction, ScheduleObserved};
use sparkplane_lifecycle::{
    DriverView, ExecutorView, Prepared, SCHEDULED_AT_ANNOTATION, SCHEDULED_BY_LABEL, TRIGGER_ANNOTATION, parse_time,
    plan,
};

use super::builtin_queue;
use super::context::{Context, owned_by};
use super::converted::converted;
use super::kubeflow_writes;
use super::writes::{delete_if_present, owner_of, publish, write_status};

fn target(job: &SparkJob) -> String {
    format!("{}/{}", job.namespace().unwrap_or_default(), job.name_any())
}

/// Reconciles one SparkJob.
pub async fn reconcile(job: Arc<SparkJob>, ctx: Arc<Context>) -> Result<Requeue, KubeError> {
    let started = Instant::now();
    ctx.prefill().await;
    let job = ctx.freshest(job);
    let result = if job.metadata.deletion_timestamp.is_some() {
        Ok(Requeue::await_change())
    } else if job.spec.schedule.is_some() && matches!(&*ctx.prepared(&job), Prepared::Ready(_)) {
        scheduled(&job, &ctx).await
    } else if let Prepared::Ready(plan) = &*ctx.prepared(&job)
        && let Some(server) = &plan.server
    {
        // A Spark Connect server: a StatefulSet kept running (ADR 0042).
        super::connect::reconcile(&job, &ctx, &ctx.prepared(&job), server).await
    } else {
        one_run(&job, &ctx).await
    };
    ctx.metrics.reconciled(started.elapsed().as_secs_f64(), result.is_ok());
    result
}

/// After an error: look again soon.
pub fn error_policy(job: Arc<SparkJob>, error: &KubeError, ctx: Arc<Context>) -> Requeue {
    tracing::warn!(job = %target(&job), %error, "reconcile failed; retrying");
    let _ = ctx;
    Requeue::requeue(Duration::from_secs(2))
}

/// Whether `job` (this uid) still exists and is not being deleted, read from the API.
async fn still_exists(ctx: &Context, job: &SparkJob) -> Result<bool, KubeError> {
    if converted(job) {
        return kubeflow_writes::still_exists(ctx, job).await;
    }
    let api: Api<SparkJob> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    ctx.metrics.request("get", "SparkJob");
    match api.get_opt(&job.name_any()).await {
        Ok(found) => Ok(found.is_some_and(|found| {
            found.metadata.deletion_timestamp.is_none() && found.metadata.uid == job.metadata.uid
        })),
        Err(e) => Err(KubeError::from_kube(e, Operation::new("get", "SparkJob", target(job)), &ctx.settings.server)),
    }
}

fn annotation<'a>(job: &'a SparkJob, key: &str) -> Option<&'a str> {
    job.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

/// One run of `job` (a SparkJob, or the SparkJob a Kubeflow SparkApplication converts into).
pub(super) async fn one_run(job: &SparkJob, ctx: &Context) -> Result<Requeue, KubeError> {
    let namespace = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let status = job.status.clone().unwrap_or_default();

    // Gather: the plan (and Kueue's word on it), the pods, the driver's log, the quality-gate check.
    let (prepared, kueue) = prepare(ctx, job, &status).await?;
    let spec_hash = match &*prepared {
        Prepared::Ready(p) => Some(p.spec_hash.clone()),
        Prepared::Refused { .. } => None,
    };
    let Some(pods) = gather_pods(ctx, job, &status, spec_hash.as_deref()).await? else {
        return Ok(Requeue::await_change());
    };
    let driver_log = failed_driver_log(ctx, &namespace, &status, pods.driver.as_ref()).await;
    let trigger = annotation(job, TRIGGER_ANNOTATION);
    let (gate_check, gate_log, gate_bytes) = observe_gates(ctx, job, &status, &prepared).await?;

    // Admission is decided for one job at a time, against the ledger of runs already admitted.
    let needs_admission = needs_admission(&status, spec_hash.as_deref(), trigger);
    let guard = if needs_admission { Some(ctx.admission_lock().await) } else { None };
    let admission = match (&*prepared, needs_admission, kueue.as_ref().and_then(|k| k.admission.clone())) {
        (_, _, Some(kueue)) => kueue,
        (Prepared::Ready(plan), true, None) => builtin_queue::admission(ctx, job, &status, plan),
        _ => Admission::Admit,
    };

    // Decide.
    let pods_left = pods.driver.is_some() || pods.executors.states.pending + pods.executors.states.running > 0;
    let observed = Observed {
        now: jiff::Timestamp::now(),
        generation: job.metadata.generation.unwrap_or_default(),
        status: &status,
        prepared: &prepared,
        driver: pods.driver.as_ref(),
        driver_gone: pods.driver_gone,
        executors: pods.executors,
        driver_log: driver_log.as_deref(),
        admission,
        trigger,
        archive_logs: ctx.settings.log_store.is_some(),
        taken: &pods.taken,
        gate_check: gate_check.as_ref(),
        gate_log: gate_log.as_deref(),
        gate_bytes: gate_bytes.as_deref(),
    };
    let decision = lifecycle::decide(&observed);
    tracing::debug!(
        job = %target(job),
        from = ?status.state,
        to = ?decision.status.state,
        driver = ?pods.driver.as_ref().map(|d| d.phase),
        from_index = pods.indexed,
        actions = decision.actions.len(),
        "decided"
    );
    let mut next = decision.status.clone();
    book(ctx, job, &namespace, &name, &status, &next, &prepared, &decision.actions);
    drop(guard);

    // Act.
    let placement = kueue.as_ref().and_then(|k| k.placement.as_ref());
    for action in &decision.actions {
        act(ctx, job, &status, &mut next, action, placement).await?;
    }
    write_status(ctx, job, &status, &next).await?;
    if let Some(gathered) = &kueue {
        super::kueue::act(ctx, job, gathered, &next, pods_left).await?;
    }
    // A scheduled run that ended wakes its parent, only now that the end is
    // written: woken earlier, the parent still saw the run active and a
    // Forbid backlog waited for its next look.
    if let Some(parent) = parent_to_wake(job, &status, &next) {
        let _ = ctx.wake.send(ObjectRef::new(parent).within(&namespace));
    }
    let requeue = requeue_after(decision.requeue_after, next.state, ctx.settings.resync);
    Ok(requeue.map_or_else(Requeue::await_change, Requeue::requeue))
}

/// The job's plan, and in Kueue mode (ADR 0073) what its Workload says:
/// whether it is admitted; a queue or priority class that does not exist
/// refuses the job.
async fn prepare(
    ctx: &Context,
    job: &SparkJob,
    status: &SparkJobStatus,
) -> Result<(Arc<Prepared>, Option<super::kueue::Gathered>), KubeError> {
    let prepared = ctx.prepared(job);
    let kueue = match (&ctx.kueue, &*prepared) {
        (Some(cache), Prepared::Ready(plan)) => Some(super::kueue::gather(ctx, cache, job, plan, status).await?),
        _ => None,
    };
    match kueue.as_ref().and_then(|k| k.refused.clone()) {
        Some(message) => {
            let refused = Prepared::Refused { cause: sparkplane_lifecycle::Cause::InvalidSpec, message };
            Ok((Arc::new(refused), kueue))
        }
        None => Ok((prepared, kueue)),
    }
}

/// What the pods of a run show: its driver (of this spec) and executors,
/// the drivers with its label that it does not own, whether its driver is
/// gone, and whether the driver came from the pod index.
struct RunPods {
    driver: Option<DriverView>,
    executors: ExecutorView,
    taken: Vec<DriverView>,
    driver_gone: bool,
    indexed: bool,
}

/// The pods of the run, from the index; its driver also from the API when
/// the index may lag. None when the driver is gone because the job itself
/// is (nothing to decide).
async fn gather_pods(
    ctx: &Context,
    job: &SparkJob,
    status: &SparkJobStatus,
    spec_hash: Option<&str>,
) -> Result<Option<RunPods>, KubeError> {
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    let uid = job.metadata.uid.as_deref();
    let (driver, executors) = ctx.pod_index().view(&namespace, &name, uid, spec_hash);
    let taken = ctx.pod_index().taken(&namespace, &name, uid);
    // (The index's lock is never held across an await: the pod watch takes it on a runtime thread.)
    let indexed = status.driver_pod.as_deref().is_some_and(|pod| {
        driver.as_ref().is_some_and(|d| d.name == pod) || ctx.pod_index().driver(&namespace, &name, uid, pod).is_some()
    });
    let mut pods = RunPods { driver, executors, taken, driver_gone: false, indexed };
    // Also from the API once per resync period while the run is active (the
    // resync requeue comes a little before it is due, hence half): the index
    // is only as current as the pod watch, and a run must not wait on an
    // event that never arrives (the chaos test found runs left DriverRunning
    // behind a Succeeded pod).
    let active = status.state.is_some_and(JobState::is_active);
    let due = active && ctx.driver_check_due(&namespace, &name, ctx.settings.resync / 2);
    let Some(pod) = driver_to_read(status, indexed, due) else { return Ok(Some(pods)) };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("get", "Pod");
    match api.get_opt(pod).await {
        // A pod of that name someone else owns is not this run's driver.
        Ok(Some(found)) if owned_by(&found, uid) => pods.driver = Some(DriverView::of(&found)),
        Ok(_) => pods.driver_gone = true,
        Err(e) => return Err(KubeError::from_kube(e, Operation::new("get", "Pod", pod), &ctx.settings.server)),
    }
    ctx.driver_checked(&namespace, &name, Some(Instant::now()));
    // A driver gone is a failure only for a job that still exists: the
    // cache may show a job already deleted (a run Replace deleted, whose
    // pods went with it), and a DriverLost for it would be an Event and a
    // failure count about nothing.
    if pods.driver_gone && !still_exists(ctx, job).await? {
        return Ok(None);
    }
    Ok(Some(pods))
}

/// The driver pod to read from the API rather than trust from the index:
/// an active run's, when the index does not hold it or a check is `due`.
fn driver_to_read(status: &SparkJobStatus, indexed: bool, due: bool) -> Option<&str> {
    let active = status.state.is_some_and(JobState::is_active);
    status.driver_pod.as_deref().filter(|_| active && (!indexed || due))
}

/// The tail of a failed driver's log, for the cause of its failure (read
/// once: not when the exit is already known).
async fn failed_driver_log(
    ctx: &Context,
    namespace: &str,
    status: &SparkJobStatus,
    driver: Option<&DriverView>,
) -> Option<String> {
    match driver {
        Some(d) if d.phase == sparkplane_lifecycle::PodPhase::Failed && status.driver_exit.is_none() => {
            let lines = i64::from(sparkplane_lifecycle::cause::DRIVER_LOG_READ_LINES);
            read_log(ctx, namespace, &d.name, Some(lines)).await
        }
        _ => None,
    }
}

/// A run in Checking: its quality-gate check, read from the API, or the
/// sizes of its gates' datasets before it exists (ADR 0043, ADR 0063).
async fn observe_gates(
    ctx: &Context,
    job: &SparkJob,
    status: &SparkJobStatus,
    prepared: &Prepared,
) -> Result<super::gates::Observation, KubeError> {
    match (status.state, prepared) {
        (Some(JobState::Checking), Prepared::Ready(plan)) => {
            let attempt = status.attempt.unwrap_or(1);
            let namespace = job.namespace().unwrap_or_default();
            super::gates::observe(ctx, job, &namespace, attempt, &plan.quality_gates).await
        }
        _ => Ok((None, None, None)),
    }
}

/// Whether the run's admission is to be decided: it waits (new, queued,
/// retrying, suspended), its spec changed since its run started, or a new
/// trigger asks for a run.
fn needs_admission(status: &SparkJobStatus, spec_hash: Option<&str>, trigger: Option<&str>) -> bool {
    matches!(status.state, None | Some(JobState::Queued | JobState::Retrying | JobState::Suspended))
        || spec_hash != status.spec_hash.as_deref()
        || trigger.is_some_and(|t| status.last_trigger.as_deref() != Some(t))
}

/// Does one decided action, keeping `next` (the status to write) in step:
/// a driver created is written at once, so a restarted operator never
/// submits twice.
async fn act(
    ctx: &Context,
    job: &SparkJob,
    status: &SparkJobStatus,
    next: &mut SparkJobStatus,
    action: &Action,
    placement: Option<&sparkplane_core::render::kueue::Admitted>,
) -> Result<(), KubeError> {
    let (namespace, name) = (job.namespace().unwrap_or_default(), job.name_any());
    match action {
        Action::Submit { attempt } => {
            let pod = match submit_attempt(ctx, job, &namespace, *attempt, placement).await {
                Ok(pod) => pod,
                Err(error) => {
                    // Nothing holds room: give it back and try again.
                    ctx.ledger().release(&namespace, &name);
                    return Err(error);
                }
            };
            next.driver_pod = pod.metadata.name.clone();
            next.application_id = pod.labels().get("spark-app-selector").cloned();
            ctx.driver_checked(&namespace, &name, Some(Instant::now()));
            ctx.metrics.submitted();
            if *attempt == 1
                && let Some(created) = job.metadata.creation_timestamp.as_ref()
            {
                ctx.metrics.to_driver(seconds_since(created.0));
            }
            write_status(ctx, job, status, next).await?;
        }
        Action::Complete { attempt, pod } => complete_attempt(ctx, job, &namespace, *attempt, pod).await?,
        Action::CheckGates { attempt, engines } => {
            // Written first: creating the check is idempotent and the decision creates it again while it is
            // missing, so a create that fails leaves the run Checking, where its deadline applies, not Running.
            write_status(ctx, job, status, next).await?;
            super::gates::create(ctx, job, &namespace, *attempt, engines).await?;
        }
        Action::ArchiveLog { pod } => {
            if let Some(url) = archive(ctx, job, pod).await {
                next.log_archive = Some(url);
            }
        }
        Action::DeleteDriver { pod } => {
            let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
            delete_if_present(ctx, &pods, "Pod", &namespace, pod).await?;
        }
        Action::Event { warning, reason, message } => publish(ctx, job, *warning, reason, message).await,
    }
    Ok(())
}

/// The schedule (a SparkJob) to wake because its run `job` just ended.
fn parent_to_wake<'a>(job: &'a SparkJob, old: &SparkJobStatus, new: &SparkJobStatus) -> Option<&'a str> {
    let ended = new.state != old.state && new.state.is_some_and(JobState::is_final);
    job.labels().get(SCHEDULED_BY_LABEL).map(String::as_str).filter(|_| ended)
}

/// When to look at the run again: when the decision asks, and — a
/// level-triggered safety net — within `resync` while it is active (a watch
/// event lost in transit must not leave a finished driver's job Submitted
/// for ever); the sooner of the two.
fn requeue_after(decided: Option<Duration>, state: Option<JobState>, resync: Duration) -> Option<Duration> {
    let resync = state.is_some_and(JobState::is_active).then_some(resync);
    match (decided, resync) {
        (Some(after), Some(resync)) => Some(after.min(resync)),
        (after, resync) => after.or(resync),
    }
}

/// Keeps the ledger, the queue, the metrics and the wake-ups in step with a decision.
#[allow(clippy::too_many_arguments)]
fn book(
    ctx: &Context,
    job: &SparkJob,
    namespace: &str,
    name: &str,
    old: &SparkJobStatus,
    new: &SparkJobStatus,
    prepared: &Prepared,
    actions: &[Action],
) {
    let key = format!("{namespace}/{name}");
    ctx.metrics.state(&key, new.state);
    ctx.metrics.namespace_seen(namespace);
    let submitting = actions.iter().any(|a| matches!(a, Action::Submit { .. }));
    let queued = new.state == Some(JobState::Queued);
    {
        let mut waiting = ctx.waiting();
        let ns = waiting.entry(namespace.to_owned()).or_default();
        if queued && !submitting {
            let queued_at = new.queued_at.as_deref().and_then(parse_time).unwrap_or_else(jiff::Timestamp::now);
            let priority = builtin_queue::priority_of(ctx, job);
            ns.insert(name.to_owned(), Waiting { name: name.to_owned(), priority, queued_at });
        } else {
            ns.remove(name);
        }
        ctx.metrics.queue_depth(namespace, ns.len());
        ctx.metrics.oldest_unadmitted(namespace, ns.values().map(|w| w.queued_at).min());
    }
    // The LocalQueue as the job resolved (its own, a layer's or its tenant's).
    let queue = match prepared {
        Prepared::Ready(plan) => plan.queue.as_deref(),
        _ => job.spec.queue.as_deref(),
    };
    if submitting
        && old.state == Some(JobState::Queued)
        && let Some(queued) = old.queued_at.as_deref().and_then(parse_time)
    {
        let queue = if ctx.kueue.is_some() { sparkplane_kube::kueue::queue_of(queue) } else { "builtin".to_owned() };
        ctx.metrics.admitted_after(namespace, &queue, seconds_since(queued));
    }
    // Only an eviction takes a run from active back to Queued (Kueue mode).
    if old.state.is_some_and(JobState::is_active) && new.state == Some(JobState::Queued) && ctx.kueue.is_some() {
        let reason = new.reason.as_deref().unwrap_or("Evicted");
        ctx.metrics.preempted(namespace, &sparkplane_kube::kueue::queue_of(queue), reason);
    }
    if submitting && let Prepared::Ready(plan) = prepared {
        ctx.ledger().admit(namespace, name, plan.admission.clone());
        builtin_queue::charge(ctx, namespace, &plan.admission);
    }
    let holds = new.state.is_some_and(JobState::is_active);
    if !holds {
        ctx.driver_checked(namespace, name, None);
    }
    let released = !holds && ctx.ledger().release(namespace, name);
    if released {
        builtin_queue::wake_queue_heads(ctx, namespace);
    }
    if new.state != old.state
        && new.state.is_some_and(JobState::is_final)
        && let Some(created) = job.metadata.creation_timestamp.as_ref()
    {
        ctx.metrics.to_finished(seconds_since(created.0));
    }
    if new.state != old.state
        && new.state == Some(JobState::DriverRunning)
        && new.attempt == Some(1)
        && let Some(created) = job.metadata.creation_timestamp.as_ref()
    {
        ctx.metrics.to_running(seconds_since(created.0));
    }
    if new.state != old.state && new.state.is_some_and(|s| matches!(s, JobState::Failed | JobState::Retrying)) {
        ctx.metrics.failed(new.reason.as_deref().unwrap_or("Unknown"));
        if let Some(cause) = sparkplane_lifecycle::cause::application_cause_of(new) {
            ctx.metrics.driver_failed(namespace, cause);
        }
    }
}

fn seconds_since(at: jiff::Timestamp) -> f64 {
    jiff::Timestamp::now().duration_since(at).as_secs_f64().max(0.0)
}

/// The native objects of one attempt, rendered by the one render path.
fn attempt_objects(
    ctx: &Context,
    job: &SparkJob,
    attempt: u32,
    placement: Option<&sparkplane_core::render::kueue::Admitted>,
) -> Result<Vec<sparkplane_core::render::RenderedObject>, KubeError> {
    let resolved = plan::resolve_resource(job, &ctx.platform.catalog).map_err(|d| KubeError::Invalid {
        operation: Operation::new("render", "SparkJob", target(job)),
        message: d.0.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; "),
        fields: Vec::new(),
    })?;
    Ok(match placement {
        // As Kueue admitted it: its flavor's placement, at most its executors (ADR 0073).
        Some(admitted) => {
            let mut run = resolved;
            run.attempt = attempt.max(1);
            sparkplane_core::render::kueue::render_admitted(&run, admitted)
        }
        None => plan::render_resolved(&resolved, attempt),
    })
}

async fn submit_attempt(
    ctx: &Context,
    job: &SparkJob,
    namespace: &str,
    attempt: u32,
    placement: Option<&sparkplane_core::render::kueue::Admitted>,
) -> Result<Pod, KubeError> {
    let objects = attempt_objects(ctx, job, attempt, placement)?;
    for object in &objects {
        let verb = if object.kind == "Pod" { "create" } else { "apply" };
        ctx.metrics.request(verb, &object.kind);
    }
    let owner = owner_of(job);
    let partial = submit::Partial::Complete;
    match submit::create(&ctx.client, &ctx.settings.server, namespace, &objects, Some(&owner), false, partial).await? {
        Created::New { driver, .. } => Ok(*driver),
        Created::Existing(pod) if owned_by(&pod, owner.uid.as_str().into()) => Ok(*pod),
        // The attempt's name is taken by a pod this job does not own: one of
        // an earlier SparkJob of the same name that the garbage collector has
        // not removed yet, or a direct submission. Never adopt it; try again
        // (the error requeues the job) until it is gone.
        Created::Existing(pod) => Err(KubeError::Server {
            server: ctx.settings.server.clone(),
            operation: Operation::new("create", "Pod", format!("{namespace}/{}", pod.name_any())),
            code: 409,
            message: format!(
                "the pod {} has this attempt's name but does not belong to SparkJob {} (uid {}); the attempt starts once it is gone",
                pod.name_any(),
                job.name_any(),
                owner.uid
            ),
        }),
    }
}

/// Applies what an adopted driver owns, in case its creation was cut short.
async fn complete_attempt(
    ctx: &Context,
    job: &SparkJob,
    namespace: &str,
    attempt: u32,
    pod: &str,
) -> Result<(), KubeError> {
    let objects = attempt_objects(ctx, job, attempt, None)?;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("get", "Pod");
    let driver = match pods.get_opt(pod).await {
        Ok(Some(driver)) => driver,
        // Gone meanwhile: the next reconcile sees that.
        Ok(None) => return Ok(()),
        Err(e) => {
            return Err(KubeError::from_kube(
                e,
                Operation::new("get", "Pod", format!("{namespace}/{pod}")),
                &ctx.settings.server,
            ));
        }
    };
    for object in objects.iter().filter(|o| o.kind != "Pod" && !submit::BEFORE_DRIVER.contains(&o.kind.as_str())) {
        ctx.metrics.request("apply", &object.kind);
    }
    submit::complete(&ctx.client, &ctx.settings.server, namespace, &objects, &driver, false).await
}

async fn read_log(ctx: &Context, namespace: &str, pod: &str, tail: Option<i64>) -> Option<String> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("get", "Pod/log");
    let params = LogParams { tail_lines: tail, ..LogParams::default() };
    match pods.logs(pod, &params).await {
        Ok(text) => Some(text),
        Err(error) => {
            tracing::info!(pod, %error, "the driver log could not be read");
            None
        }
    }
}

/// Copies a driver's log to the log store: `<store>/<namespace>/<job>/<pod>.log`.
async fn archive(ctx: &Context, job: &SparkJob, pod: &str) -> Option<String> {
    let store_url = ctx.settings.log_store.clone()?;
    let namespace = job.namespace().unwrap_or_default();
    let log = read_log(ctx, &namespace, pod, None).await?;
    let key = sparkplane_kube::logstore::key(&namespace, &job.name_any(), pod);
    let written = tokio::task::spawn_blocking(move || sparkplane_kube::logstore::put(&store_url, &key, log)).await;
    match written {
        Ok(Ok(url)) => Some(url),
        Ok(Err(message)) => {
            publish(
                ctx,
                job,
                true,
                "LogArchiveFailed",
                &format!("the driver log of {pod} was not archived: {message}"),
            )
            .await;
            None
        }
        Err(_) => None,
    }
}

async fn scheduled(job: &SparkJob, ctx: &Context) -> Result<Requeue, KubeError> {
    let namespace = job.namespace().unwrap_or_default();
    let name = job.name_any();
    let status = job.status.clone().unwrap_or_default();
    let Some(schedule_spec) = job.spec.schedule.as_ref() else { return Ok(Requeue::await_change()) };
    let runs: Vec<RunView> = ctx
        .jobs
        .state()
        .iter()
        .filter(|j| j.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|j| j.labels().get(SCHEDULED_BY_LABEL) == Some(&name))
        // A run's own last status write, when the cache has not caught up.
        .map(|j| ctx.freshest(Arc::clone(j)))
        .map(|j| RunView {
            name: j.name_any(),
            scheduled_at: annotation(&j, SCHEDULED_AT_ANNOTATION).and_then(parse_time),
            state: j.status.as_ref().and_then(|s| s.state),
        })
        .collect();
    let observed = ScheduleObserved {
        now: jiff::Timestamp::now(),
        job: &name,
        created: job.metadata.creation_timestamp.as_ref().map_or_else(jiff::Timestamp::now, |t| t.0),
        generation: job.metadata.generation.unwrap_or_default(),
        status: &status,
        schedule: schedule_spec,
        suspend: job.spec.suspend.unwrap_or(false),
        runs,
        trigger: annotation(job, TRIGGER_ANNOTATION),
    };
    let decision = schedule::decide(&observed);
    ctx.metrics.state(&format!("{namespace}/{name}"), decision.status.state);
    let api: Api<SparkJob> = Api::namespaced(ctx.client.clone(), &namespace);
    for action in &decision.actions {
        match action {
            ScheduleAction::Start(start) => {
                let mut run = schedule::run_job(job, start);
                run.metadata.owner_references = Some(vec![owner_of(job)]);
                ctx.metrics.request("create", "SparkJob");
                let params = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..PostParams::default() };
                match api.create(&params, &run).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => {
                        return Err(KubeError::from_kube(
                            e,
                            Operation::new("create", "SparkJob", format!("{namespace}/{}", start.name)),
                            &ctx.settings.server,
                        ));
                    }
                }
            }
            ScheduleAction::Delete { name: run, .. } => {
                delete_if_present(ctx, &api, "SparkJob", &namespace, run).await?;
            }
            ScheduleAction::Event { warning, reason, message } => publish(ctx, job, *warning, reason, message).await,
        }
    }
    write_status(ctx, job, &status, &decision.status).await?;
    Ok(decision.requeue_after.map_or_else(Requeue::await_change, Requeue::requeue))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: Option<JobState>) -> SparkJobStatus {
        SparkJobStatus { state, ..SparkJobStatus::default() }
    }

    #[test]
    fn admission_is_decided_for_a_waiting_run_a_changed_spec_or_a_new_trigger() {
        let running = SparkJobStatus {
            spec_hash: Some("h1".into()),
            last_trigger: Some("t1".into()),
            ..status(Some(JobState::DriverRunning))
        };
        assert!(!needs_admission(&running, Some("h1"), None), "running, same spec, no trigger");
        assert!(!needs_admission(&running, Some("h1"), Some("t1")), "the trigger already served");
        assert!(needs_admission(&running, Some("h2"), None), "the spec changed");
        assert!(needs_admission(&running, None, None), "the plan is refused now");
        assert!(needs_admission(&running, Some("h1"), Some("t2")), "a new trigger");
        for waiting in [None, Some(JobState::Queued), Some(JobState::Retrying), Some(JobState::Suspended)] {
            let waiting = SparkJobStatus { spec_hash: Some("h1".into()), ..status(waiting) };
            assert!(needs_admission(&waiting, Some("h1"), None), "{:?}", waiting.state);
        }
        let done = SparkJobStatus { spec_hash: Some("h1".into()), ..status(Some(JobState::Succeeded)) };
        assert!(!needs_admission(&done, Some("h1"), None));
    }

    #[test]
    fn an_active_runs_driver_is_read_from_the_api_when_the_index_lacks_it_or_a_check_is_due() {
        let with_driver = |state| SparkJobStatus { driver_pod: Some("etl-driver".into()), ..status(Some(state)) };
        let running = with_driver(JobState::DriverRunning);
        assert_eq!(driver_to_read(&running, true, false), None, "indexed and not due: the index is trusted");
        assert_eq!(driver_to_read(&running, false, false), Some("etl-driver"), "not in the index");
        assert_eq!(driver_to_read(&running, true, true), Some("etl-driver"), "due");
        assert_eq!(driver_to_read(&with_driver(JobState::Succeeded), false, true), None, "an ended run");
        assert_eq!(driver_to_read(&status(Some(JobState::DriverRunning)), false, true), None, "no driver yet");
    }

    #[test]
    fn a_scheduled_run_wakes_its_parent_only_when_it_just_ended() {
        let mut run = SparkJob::new("nightly-1", sparkplane_api::SparkJobSpec::default());
        let (running, failed) = (status(Some(JobState::DriverRunning)), status(Some(JobState::Failed)));
        assert_eq!(parent_to_wake(&run, &running, &failed), None, "not a scheduled run");
        run.metadata.labels = Some([(SCHEDULED_BY_LABEL.to_owned(), "nightly".to_owned())].into_iter().collect());
        assert_eq!(parent_to_wake(&run, &running, &failed), Some("nightly"));
        assert_eq!(parent_to_wake(&run, &failed, &failed), None, "ended before");
        assert_eq!(parent_to_wake(&run, &status(Some(JobState::Queued)), &running), None, "still active");
    }

    #[test]
    fn an_active_run_is_looked_at_again_within_the_resync_period() {
        let resync = Duration::from_secs(60);
        let (active, done) = (Some(JobState::DriverRunning), Some(JobState::Succeeded));
        assert_eq!(requeue_after(None, active, resync), Some(resync));
        assert_eq!(requeue_after(Some(Duration::from_secs(5)), active, resync), Some(Duration::from_secs(5)));
        assert_eq!(requeue_after(Some(Duration::from_secs(600)), active, resync), Some(resync), "the sooner");
        assert_eq!(requeue_after(None, done, resync), None, "an ended run waits for a change");
        assert_eq!(requeue_after(Some(Duration::from_secs(600)), done, resync), Some(Duration::from_secs(600)));
    }
}
