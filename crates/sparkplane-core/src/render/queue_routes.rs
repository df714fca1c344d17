//! A job's queue as each scheduler reads it, per route (issue #69, ADR 0099).
//!
//! The job's queue is `spec.queue`: the one resolve step gives a job that
//! names none its tenant's (`TenantQueue::local_queue`, ADR 0079). From
//! there one function, [`scheduler_queue`], names it for each scheduler:
//!
//! - **Kueue**: the LocalQueue itself, in the job's namespace;
//! - **Volcano**: the cluster-wide Volcano `Queue` `<namespace>-<queue>`,
//!   the PodGroup's `spec.queue` (or the SparkApplication's
//!   `batchSchedulerOptions.queue`);
//! - **YuniKorn**: the queue `root.<namespace>.<queue>`, on every pod as
//!   `yunikorn.apache.org/queue` (or the SparkApplication's
//!   `batchSchedulerOptions.queue`), placed by YuniKorn's `provided` rule.
//!
//! And what each route writes so Kueue enforces what it says:
//!
//! - **Kubeflow** under dynamic allocation carries no
//!   `kueue.x-k8s.io/queue-name` ([`kubeflow_queue_label`]): Kueue's
//!   SparkApplication webhook refuses that combination, and with Kueue's
//!   Spark integration off the label admits nothing; [`notes`] says so.
//! - **Job** with a queue and no cron schedule is gated by a Workload of
//!   its own ([`job_gated`]): the Job is written suspended and unlabelled,
//!   so Kueue's Job integration (which would count only the spark-submit
//!   pod) leaves it alone, and the Workload `render::kueue` builds from the
//!   one sizing model counts the driver and executors; the operator in
//!   Kueue mode is to unsuspend the Job when that Workload is admitted
//!   (not built yet: until then the Job waits suspended). A
//!   CronJob keeps the label: Kueue gates each run's start only, which
//!   [`notes`] says.
//!
//! A leaf of `render`: the routes, `scheduling`, `kueue` and `queues` ask
//! it; it asks none of them.
//!
//! Owns: that mapping and those rules, and what `render` and `validate`
//! say about them ([`notes`], [`check`]). Must not: size (the one sizing
//! model does), render objects (the routes do, asking this module), or
//! read the cluster.

use std::collections::BTreeMap;

use sparkplane_api::job::GangScheduler;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::source::Span;
use sparkplane_documents::yaml::FieldPath;

use super::Target;
use crate::names::{is_dns1123_subdomain, is_label_value};
use crate::resolved::ResolvedJob;
use crate::sizing::size_job;

/// A scheduler that reads a job's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueScheduler {
    /// Kueue: a LocalQueue of the job's namespace.
    Kueue,
    /// Volcano: a cluster-wide `Queue`.
    Volcano,
    /// YuniKorn: a queue path under `root`.
    YuniKorn,
}

impl From<GangScheduler> for QueueScheduler {
    fn from(gang: GangScheduler) -> Self {
        match gang {
            GangScheduler::Volcano => QueueScheduler::Volcano,
            GangScheduler::YuniKorn => QueueScheduler::YuniKorn,
        }
    }
}

/// The one mapping: the queue `queue` of namespace `namespace` (a job's
/// `spec.queue`, its tenant's LocalQueue by default) as `scheduler` names it.
pub fn scheduler_queue(scheduler: QueueScheduler, namespace: &str, queue: &str) -> String {
    match scheduler {
        QueueScheduler::Kueue => queue.to_owned(),
        QueueScheduler::Volcano => format!("{namespace}-{queue}"),
        QueueScheduler::YuniKorn => format!("root.{namespace}.{queue}"),
    }
}

/// The job's queue as its gang scheduler names it; None without a gang or a queue.
pub fn gang_queue(job: &ResolvedJob) -> Option<String> {
    let gang = job.job.spec.scheduling.as_ref().and_then(|s| s.gang)?;
    let queue = job.job.spec.queue.as_deref()?;
    Some(scheduler_queue(gang.into(), job.namespace(), queue))
}

/// Why a mapped name cannot be used by its scheduler, if it cannot:
/// Volcano's `Queue` is an object, named as a DNS-1123 subdomain; each part
/// of a YuniKorn queue path is 1 to 64 of `a-z A-Z 0-9 _ : # / @ -`
/// (yunikorn-core v1.9.0, `configs.QueueNameRegExp`), so a queue with a
/// `.` would name a different, deeper queue.
pub fn unusable(scheduler: QueueScheduler, name: &str) -> Option<String> {
    let yunikorn_part =
        |p: &str| (1..=64).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric() || "_:#/@-".contains(c));
    match scheduler {
        QueueScheduler::Kueue => None,
        QueueScheduler::Volcano if !is_dns1123_subdomain(name) => {
            Some(format!("Volcano queue `{name}` is not a valid Queue name (a DNS-1123 subdomain)"))
        }
        QueueScheduler::YuniKorn if name.split('.').count() != 3 || !name.split('.').all(yunikorn_part) => {
            Some(format!(
                "YuniKorn queue `{name}` is not one queue under root.<namespace> (each part 1 to 64 letters, digits or `_:#/@-`, no `.`)"
            ))
        }
        _ => None,
    }
}

/// Whether dynamic allocation is on for `job`, as the one sizing model reads it.
pub fn dynamic(job: &ResolvedJob) -> bool {
    size_job(&job.job.spec).executors.dynamic
}

/// Whether the Job route is gated by a Workload of its own: a queue, and no
/// cron schedule (a CronJob's runs are Jobs made later, each labelled for
/// Kueue's Job integration instead).
pub fn job_gated(job: &ResolvedJob) -> bool {
    job.job.spec.queue.is_some() && job.job.spec.schedule.as_ref().and_then(|s| s.cron.as_ref()).is_none()
}

/// The `kueue.x-k8s.io/queue-name` label of an object Kueue admits itself
/// (a SparkApplication, a Job, a Workload) when the job names a queue. Not
/// on pods: Kueue's pod integration would admit each one a second time.
pub fn queue_label(job: &ResolvedJob) -> BTreeMap<String, String> {
    job.job.spec.queue.iter().map(|q| (sparkplane_api::labels::KUEUE_QUEUE_NAME.to_owned(), q.clone())).collect()
}

/// The `kueue.x-k8s.io/queue-name` label of the Kubeflow route's
/// SparkApplication: the queue, except under dynamic allocation, which
/// Kueue's SparkApplication integration does not admit.
pub fn kubeflow_queue_label(job: &ResolvedJob) -> BTreeMap<String, String> {
    if dynamic(job) { BTreeMap::new() } else { queue_label(job) }
}

/// The `kueue.x-k8s.io/queue-name` label of the Job route's Job or CronJob:
/// the queue on a CronJob, none on a Job its own Workload gates.
pub fn job_queue_label(job: &ResolvedJob) -> BTreeMap<String, String> {
    if job_gated(job) { BTreeMap::new() } else { queue_label(job) }
}

/// What `render --target <target>` says about `job`'s queue: warnings
/// where a scheduler will not enforce what the job names (the Kubeflow
/// route under dynamic allocation; a CronJob, whose runs Kueue counts only
/// as their spark-submit pod), each at the field that decides it, and
/// [`check`]'s errors.
pub fn notes(job: &ResolvedJob, target: Target) -> Diagnostics {
    let mut out = Diagnostics::new();
    let Some(queue) = job.job.spec.queue.as_deref() else { return out };
    if target == Target::Kubeflow && dynamic(job) {
        out.push(
            Diagnostic::warning(
                "kueue-dynamic-allocation",
                "spec.dynamicAllocation.enabled",
                format!(
                    "the SparkApplication is written without `kueue.x-k8s.io/queue-name: {queue}`: Kueue's SparkApplication integration refuses dynamic allocation, so Kueue does not admit this application"
                ),
            )
            .with_help("render --target native (the operator's Workload admits dynamic allocation within maxExecutors), or turn dynamic allocation off")
            .with_span(written_at(job, "spec.dynamicAllocation.enabled")),
        );
    }
    if target == Target::Job && !job_gated(job) {
        out.push(
            Diagnostic::warning(
                "kueue-counts-submitter",
                "spec.schedule.cron",
                format!(
                    "the CronJob's runs wait in `{queue}`, but Kueue's Job integration counts only the spark-submit pod, not the driver and executors it starts"
                ),
            )
            .with_help("use a ScheduledSparkJob with the operator in Kueue mode, whose runs Kueue admits at their full size")
            .with_span(written_at(job, "spec.schedule.cron")),
        );
    }
    let yunikorn = job.job.spec.scheduling.as_ref().and_then(|s| s.gang) == Some(GangScheduler::YuniKorn);
    let name = scheduler_queue(QueueScheduler::YuniKorn, job.namespace(), queue);
    if target == Target::Kubeflow && yunikorn && !is_label_value(&name) {
        // Kubeflow's YuniKorn plugin copies batchSchedulerOptions.queue into the pods' `queue` label.
        out.push(
            Diagnostic::error("scheduler-queue", "spec.queue", format!("YuniKorn queue `{name}` cannot be the `queue` label Kubeflow's operator puts on the pods (at most 63 characters: letters, digits, `-`, `_`, `.`)"))
                .with_span(written_at(job, "spec.queue")),
        );
    }
    out.extend(check(job));
    out
}

/// Where the value at `path` was written (its file, line and column), if in a file.
fn written_at(job: &ResolvedJob, path: &str) -> Option<Span> {
    job.provenance.get(&FieldPath::parse(path).ok()?).map(|origin| origin.span.clone())
}

/// [`notes`] for `target` (None: [`check`] alone, for `validate`, which
/// renders no route) added to `job`'s warnings, as `render` and `validate`
/// print them; all of them as the error when one is an error.
pub fn add_notes(job: &mut ResolvedJob, target: Option<Target>) -> Result<(), Diagnostics> {
    let said = target.map_or_else(|| check(job), |target| notes(job, target));
    job.warnings.extend(said);
    if job.warnings.has_errors() { Err(job.warnings.clone().sorted()) } else { Ok(()) }
}

/// Whatever the route: an error at `spec.queue` when the job's gang
/// scheduler cannot name its queue ([`unusable`]).
pub fn check(job: &ResolvedJob) -> Diagnostics {
    let mut out = Diagnostics::new();
    let (Some(queue), Some(gang)) =
        (job.job.spec.queue.as_deref(), job.job.spec.scheduling.as_ref().and_then(|s| s.gang))
    else {
        return out;
    };
    let scheduler = QueueScheduler::from(gang);
    if let Some(problem) = unusable(scheduler, &scheduler_queue(scheduler, job.namespace(), queue)) {
        let at = written_at(job, "spec.queue");
        out.push(Diagnostic::error("scheduler-queue", "spec.queue", problem).with_span(at).with_help(
            "name a queue of at most 64 characters without `.` (spec.queue, or the tenant's spec.queue.name)",
        ));
    }
    out
}

#[cfg(test)]
#[path = "queue_routes_tests.rs"]
mod tests;
