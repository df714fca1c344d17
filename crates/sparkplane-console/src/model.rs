//! What the console shows, as values: the rows of SparkJobs a viewer may see
//! (team, namespace, state, attempt, why it waits, its link, its driver
//! log's page and command, a Connect server's endpoint), the quota use of
//! each namespace the viewer may see, the running jobs whose driver UI the
//! door forwards to, and a driver log as a page shows it ([`DriverLog`]).
//!
//! Owns: turning a [`Snapshot`] of the cluster into those values for one
//! viewer (each row asked of `sparkplane_access::decide`, a hidden one left
//! out as if it did not exist), which status says a job waits and why (the
//! operator's `status.reason` and `status.message`: its own queue's position,
//! cap and quota, Kueue's admission, a retry's time, a suspension), the
//! driver UI's `host:port` of a running job, derived from its namespace and
//! the driver Service the render names, never from a field that could point
//! elsewhere, and what of a driver log is read for a page: only a driver pod
//! that is a Kubernetes name, only an archive where the operator writes them
//! ([`archive_in_layout`]), at most the log's last [`LOG_LIMIT_BYTES`]
//! ([`Tail`]). Must not: read the cluster (the gather and the driver log's
//! read do), write HTML (the page does), or decide access itself.

use std::collections::{BTreeSet, VecDeque};

use k8s_openapi::api::core::v1::ResourceQuota;
use sparkplane_access::{AccessRules, AppFacts, Viewer, decide};
use sparkplane_api::job::{AppType, JobState};
use sparkplane_api::{SparkJob, labels};
use sparkplane_history::LiveApp;
use sparkplane_lifecycle::admission::WAITING_FOR_ADMISSION;
use sparkplane_lifecycle::queue::QUOTA_WAIT;

/// Spark's UI port on the driver, as the render publishes it on the driver's Services.
pub use sparkplane_core::render::common::UI_PORT;

/// What the gather last read from the cluster.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub jobs: Vec<SparkJob>,
    pub quotas: Vec<ResourceQuota>,
    /// Why the last gather failed, when it did (this snapshot is then the last good one).
    pub stale: Option<String>,
}

/// Why a job is not running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wait {
    /// The operator's own queue: its position, the namespace's cap, or its ResourceQuota (the message says which).
    Queue(String),
    /// Kueue has not admitted (or has evicted) its Workload.
    Kueue(String),
    /// The last attempt failed; the next starts at the time given.
    Retry(Option<String>),
    /// `spec.suspend` holds it.
    Suspended,
    /// Anything else the operator says (the reason, then its message).
    Other(String, String),
}

impl Wait {
    /// The sentence a row shows.
    pub fn describe(&self) -> String {
        match self {
            Wait::Queue(message) => format!("queue: {message}"),
            Wait::Kueue(message) => format!("Kueue admission: {message}"),
            Wait::Retry(Some(at)) => format!("retrying at {at}"),
            Wait::Retry(None) => "retrying".to_owned(),
            Wait::Suspended => "suspended (spec.suspend)".to_owned(),
            Wait::Other(reason, message) if message.is_empty() => reason.clone(),
            Wait::Other(reason, message) => format!("{reason}: {message}"),
        }
    }
}

/// One SparkJob as a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub namespace: String,
    pub name: String,
    pub team: Option<String>,
    /// `status.state`, or `Pending` before the operator wrote one.
    pub state: String,
    pub attempt: Option<u32>,
    pub wait: Option<Wait>,
    /// The job's link on the door: its live UI while it runs, its history after.
    pub link: String,
    /// Its driver log's page on the console (`/console/jobs/<namespace>/<name>/log`).
    pub log_link: String,
    /// The command that prints its driver's log.
    pub log_command: String,
    /// A Connect server's endpoint (`sc://…`), as the operator wrote it from the render's client Service.
    pub connect: Option<String>,
    pub running: bool,
}

/// One namespace's quota use: `(quota, resource, used, hard)`, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRow {
    pub namespace: String,
    pub quota: String,
    pub resource: String,
    pub used: String,
    pub hard: String,
}

/// What one viewer sees.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Sorted by team, namespace, name.
    pub jobs: Vec<JobRow>,
    pub quotas: Vec<QuotaRow>,
    /// The teams of the rows the viewer sees (before the team filter): the filter's choices.
    pub teams: Vec<String>,
    pub stale: Option<String>,
}

/// A job's team: `spec.team`, else its `sparkplane.dev/team` label.
pub fn team_of(job: &SparkJob) -> Option<String> {
    let label = || job.metadata.labels.as_ref().and_then(|l| l.get(labels::TEAM)).cloned();
    job.spec.team.clone().or_else(label).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// What `decide` reads about a job: its team and namespace.
fn facts(namespace: &str, team: Option<String>) -> AppFacts {
    AppFacts { team, namespace: Some(namespace.to_owned()), ..AppFacts::default() }
}

fn state(job: &SparkJob) -> Option<JobState> {
    job.status.as_ref().and_then(|s| s.state)
}

/// Whether the job's driver runs (its UI answers).
pub fn is_running(job: &SparkJob) -> bool {
    matches!(state(job), Some(JobState::Running | JobState::DriverRunning))
}

/// Why the job waits, from what the operator wrote (None: it does not wait).
pub fn wait_of(job: &SparkJob) -> Option<Wait> {
    let status = job.status.as_ref()?;
    let reason = status.reason.clone().unwrap_or_default();
    let message = status.message.clone().unwrap_or_default();
    match status.state? {
        JobState::Queued if reason == QUOTA_WAIT => Some(Wait::Queue(message)),
        JobState::Queued if reason == WAITING_FOR_ADMISSION => {
            Some(Wait::Kueue(message.strip_prefix("Kueue: ").unwrap_or(&message).to_owned()))
        }
        JobState::Queued => Some(Wait::Other(reason, message)),
        JobState::Retrying => Some(Wait::Retry(status.next_retry_at.clone())),
        JobState::Suspended => Some(Wait::Suspended),
        // The driver pod exists but does not run: the scheduler or the kubelet holds it (Unschedulable, ImagePullBackOff).
        JobState::Submitted if !reason.is_empty() && reason != "Submitted" => Some(Wait::Other(reason, message)),
        _ => None,
    }
}

/// The job's name and namespace, when both are Kubernetes names (anything else is not shown).
fn identity(job: &SparkJob) -> Option<(&str, &str)> {
    let namespace = job.metadata.namespace.as_deref()?;
    let name = job.metadata.name.as_deref()?;
    (is_dns_label(namespace) && is_dns_subdomain(name)).then_some((namespace, name))
}

fn row(job: &SparkJob, namespace: &str, name: &str, team: Option<String>) -> JobRow {
    let status = job.status.as_ref();
    JobRow {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        team,
        state: state(job).map_or("Pending", JobState::as_str).to_owned(),
        attempt: status.and_then(|s| s.attempt),
        wait: wait_of(job),
        link: sparkplane_history::live::job_path(namespace, name),
        log_link: format!("/console/jobs/{namespace}/{name}/{LOG_PAGE}"),
        log_command: format!("sparkplane logs {name} -n {namespace}"),
        connect: status.and_then(|s| s.connect.as_ref()).and_then(|c| c.endpoint.clone()),
        running: is_running(job),
    }
}

/// What `viewer` sees of `snapshot` under `rules`, the rows of `team` only when given.
pub fn view(snapshot: &Snapshot, rules: &AccessRules, viewer: &Viewer, team: Option<&str>) -> View {
    let mut jobs = Vec::new();
    let mut teams = BTreeSet::new();
    for job in &snapshot.jobs {
        let Some((namespace, name)) = identity(job) else { continue };
        let job_team = team_of(job);
        if !decide(rules, viewer, &facts(namespace, job_team.clone())).visible() {
            continue;
        }
        if let Some(t) = &job_team {
            teams.insert(t.clone());
        }
        if team.is_some_and(|want| job_team.as_deref() != Some(want)) {
            continue;
        }
        jobs.push(row(job, namespace, name, job_team));
    }
    jobs.sort_by(|a, b| (&a.team, &a.namespace, &a.name).cmp(&(&b.team, &b.namespace, &b.name)));
    View {
        jobs,
        quotas: quotas(snapshot, rules, viewer),
        teams: teams.into_iter().collect(),
        stale: snapshot.stale.clone(),
    }
}

/// One job as `viewer` sees it: None when there is none, or it is hidden (the same answer).
pub fn job(snapshot: &Snapshot, rules: &AccessRules, viewer: &Viewer, namespace: &str, name: &str) -> Option<JobRow> {
    let job = visible_job(snapshot, rules, viewer, namespace, name)?;
    Some(row(job, namespace, name, team_of(job)))
}

/// The SparkJob of that namespace and name when `viewer` may see it: None
/// when there is none, or it is hidden (the same answer), as for its page;
/// what its driver log's page reads.
pub fn visible_job<'s>(
    snapshot: &'s Snapshot,
    rules: &AccessRules,
    viewer: &Viewer,
    namespace: &str,
    name: &str,
) -> Option<&'s SparkJob> {
    let job = snapshot.jobs.iter().find(|j| identity(j) == Some((namespace, name)))?;
    decide(rules, viewer, &facts(namespace, team_of(job))).visible().then_some(job)
}

/// The quota use of each namespace the viewer may see: one its Tenant's groups
/// (or the platform's admins) see, as `decide` answers for a job of no team label there.
fn quotas(snapshot: &Snapshot, rules: &AccessRules, viewer: &Viewer) -> Vec<QuotaRow> {
    let mut rows = Vec::new();
    for quota in &snapshot.quotas {
        let (Some(namespace), Some(name)) = (quota.metadata.namespace.as_deref(), quota.metadata.name.as_deref())
        else {
            continue;
        };
        if !decide(rules, viewer, &facts(namespace, None)).visible() {
            continue;
        }
        let Some(status) = &quota.status else { continue };
        for (resource, hard) in status.hard.iter().flatten() {
            let used = status.used.as_ref().and_then(|u| u.get(resource)).map_or("0", |q| q.0.as_str());
            rows.push(QuotaRow {
                namespace: namespace.to_owned(),
                quota: name.to_owned(),
                resource: resource.clone(),
                used: used.to_owned(),
                hard: hard.0.clone(),
            });
        }
    }
    rows.sort_by(|a, b| (&a.namespace, &a.quota, &a.resource).cmp(&(&b.namespace, &b.quota, &b.resource)));
    rows
}

/// The driver Service of a native run, from its driver pod's name: the
/// render names both from the run's prefix (`<prefix>-driver`,
/// `<prefix>-driver-svc`, `sparkplane_core::render` `Names::of`).
pub fn driver_service(driver_pod: &str) -> Option<String> {
    let service = format!("{}-driver-svc", driver_pod.strip_suffix("-driver")?);
    is_dns_label(&service).then_some(service)
}

/// The Service whose UI port reaches a Connect server's driver: its client
/// Service, `<job>-connect` (`sparkplane_core::render::connect` `ConnectNames`).
pub fn connect_service(job: &str) -> Option<String> {
    let service = format!("{job}-connect");
    is_dns_label(&service).then_some(service)
}

/// The running jobs whose driver UI the door may forward to: each one's
/// namespace, name and team, and its driver Service's in-cluster name
/// `<service>.<namespace>.svc:4040`. Only the namespace (a DNS label) and a
/// Service name the render gives (a DNS label) make the host, so it is a
/// Service of the job's own namespace whatever the object says.
pub fn live_apps(snapshot: &Snapshot) -> Vec<LiveApp> {
    let mut apps: Vec<LiveApp> = snapshot
        .jobs
        .iter()
        .filter(|job| is_running(job))
        .filter_map(|job| {
            let (namespace, name) = identity(job)?;
            let service = if job.spec.app_type == Some(AppType::Connect) {
                connect_service(name)?
            } else {
                driver_service(job.status.as_ref()?.driver_pod.as_deref()?)?
            };
            let ui = format!("{service}.{namespace}.svc:{UI_PORT}").parse().ok()?;
            let acls = job.spec.spark_conf.iter().filter(|(key, _)| sparkplane_access::app::is_acl_property(key));
            Some(LiveApp {
                namespace: namespace.to_owned(),
                job: name.to_owned(),
                team: team_of(job),
                owner: None,
                acls: acls.map(|(key, value)| (key.clone(), value.clone())).collect(),
                ui,
            })
        })
        .collect();
    apps.sort_by(|a, b| (&a.namespace, &a.job).cmp(&(&b.namespace, &b.job)));
    apps
}

/// A DNS-1123 label (a namespace's, a Service's name): 1–63 of `a-z`, `0-9`,
/// `-`, starting and ending with a letter or digit.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 subdomain (a SparkJob's name): labels joined by dots, at most 253 bytes.
pub fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

/// The last segment of a job's driver log page: `/console/jobs/<namespace>/<name>/log`.
pub const LOG_PAGE: &str = "log";

/// The most of a driver log a page shows: its last 2 MiB.
pub const LOG_LIMIT_BYTES: usize = 2 << 20;

/// The driver pod whose log the console may ask the API server for:
/// `status.driverPod` when it is a Kubernetes name (a pod's: a DNS-1123
/// subdomain), else none, so no value of a SparkJob becomes another path.
pub fn driver_pod(job: &SparkJob) -> Option<&str> {
    job.status.as_ref()?.driver_pod.as_deref().filter(|pod| is_dns_subdomain(pod))
}

/// Whether `archive` (a SparkJob's `status.logArchive`) is where the
/// operator writes a driver log of that job: `<store>/<namespace>/<job>/<pod>.log`
/// (`sparkplane_kube::logstore::key`), `<pod>` a Kubernetes name. The door
/// reads no other file or object a status names.
pub fn archive_in_layout(archive: &str, namespace: &str, name: &str) -> bool {
    let Some(pod) = sparkplane_kube::logstore::pod_of(archive) else { return false };
    is_dns_label(namespace)
        && is_dns_subdomain(name)
        && is_dns_subdomain(pod)
        && archive.ends_with(&format!("/{}", sparkplane_kube::logstore::key(namespace, name, pod)))
}

/// The end of a log, line by line, in at most `limit` bytes (each line
/// counted with its newline): the oldest lines leave as newer ones come, and
/// a line longer than the whole limit keeps its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    limit: usize,
    lines: VecDeque<String>,
    bytes: usize,
    cut_lines: u64,
    cut_bytes: u64,
    pushed: u64,
}

impl Tail {
    /// An empty tail that keeps at most `limit` bytes (at least 1).
    pub fn new(limit: usize) -> Tail {
        Tail { limit: limit.max(1), lines: VecDeque::new(), bytes: 0, cut_lines: 0, cut_bytes: 0, pushed: 0 }
    }

    /// Adds the log's next line (without its newline).
    pub fn push(&mut self, line: &str) {
        self.pushed += 1;
        let cost = line.len() + 1;
        if cost > self.limit {
            self.cut_lines += self.lines.len() as u64 + 1;
            self.cut_bytes += self.bytes as u64;
            self.lines.clear();
            let mut start = line.len() - (self.limit - 1);
            while !line.is_char_boundary(start) {
                start += 1;
            }
            self.cut_bytes += start as u64;
            self.lines.push_back(line[start..].to_owned());
            self.bytes = line.len() - start + 1;
            return;
        }
        while self.bytes + cost > self.limit {
            let Some(oldest) = self.lines.pop_front() else { break };
            self.bytes -= oldest.len() + 1;
            self.cut_lines += 1;
            self.cut_bytes += oldest.len() as u64 + 1;
        }
        self.lines.push_back(line.to_owned());
        self.bytes += cost;
    }

    /// The lines kept, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    /// The lines kept, each ended by a newline.
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.bytes);
        for line in &self.lines {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// How many lines were left out, wholly or in part (0: the log is whole).
    pub fn cut_lines(&self) -> u64 {
        self.cut_lines
    }

    /// How many bytes were left out.
    pub fn cut_bytes(&self) -> u64 {
        self.cut_bytes
    }

    /// How many lines were pushed, kept or not.
    pub fn pushed(&self) -> u64 {
        self.pushed
    }
}

/// A job's driver log as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverLog {
    /// The log's end: where it comes from (a sentence), and its lines.
    Read { source: String, tail: Tail },
    /// There is no log to show: why, and what to do about it.
    Missing { message: String, help: String },
    /// The cluster or the log store could not be read (`timed_out`: it did not answer in time).
    Failed { timed_out: bool, message: String },
    /// As many driver logs are being read as the console reads at once.
    Busy,
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
