//! What the cluster commands (`submit`, `status | logs | list | delete`,
//! `operator`) share: connecting to a cluster, kube errors as failures, and
//! the views of an application and of a SparkJob.
//!
//! Owns: those shared pieces, so no command imports another. Must not: talk
//! to the API except through `sparkplane_kube`.

use sparkplane_api::job::Transition;
use sparkplane_documents::Diagnostic;
use sparkplane_kube::apps::{self, Application, ExecutorCounts, ManagedJob};
use sparkplane_kube::{KubeError, Settings, Target as ClusterTarget};

use super::Table;
use crate::exit::Failure;

/// A kube error as a failure: exit 3 when the cluster or network must be
/// fixed, exit 2 when the input must.
pub fn kube_failure(error: &KubeError) -> Failure {
    let (code, path) = match error {
        KubeError::NoConfig { .. } => ("kube-config", String::new()),
        KubeError::UnknownContext { .. } => ("kube-context", String::new()),
        KubeError::Unreachable { .. } => ("kube-unreachable", String::new()),
        KubeError::Refused { .. } => ("kube-refused", String::new()),
        KubeError::Invalid { fields, .. } => ("kube-invalid", fields.join(", ")),
        KubeError::NotFound { .. } => ("kube-not-found", String::new()),
        KubeError::Server { .. } => ("kube-server", String::new()),
    };
    Failure::of(error.category(), Diagnostic::error(code, path, error.to_string()).with_help(error.help()).into())
}

/// How long ago an RFC 3339 time was, as kubectl shows ages: `42s`, `5m`, `3h`, `2d`.
pub fn age(created: &str) -> String {
    let Ok(then) = created.parse::<k8s_openapi::jiff::Timestamp>() else { return "-".to_owned() };
    let seconds = (k8s_openapi::jiff::Timestamp::now().as_second() - then.as_second()).max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Reads the kubeconfig (or in-cluster configuration) for `target`.
pub fn cluster_settings(target: &ClusterTarget) -> Result<Settings, Failure> {
    sparkplane_kube::kubeconfig::load(target).map_err(|e| kube_failure(&e))
}

/// Runs one command's requests on a single-threaded runtime, kube errors as failures.
pub fn block_on<T>(
    settings: &Settings,
    work: impl AsyncFnOnce(kube::Client, String) -> Result<T, sparkplane_kube::KubeError>,
) -> Result<T, Failure> {
    let runtime = sparkplane_kube::runtime().map_err(|e| kube_failure(&e))?;
    runtime
        .block_on(async {
            let client = sparkplane_kube::kubeconfig::client(settings)?;
            work(client, settings.server()).await
        })
        .map_err(|e| kube_failure(&e))
}

/// `status`'s table for one application.
pub fn application_table(app: &Application) -> String {
    let mut rows = vec![
        ("name", app.name.clone()),
        ("namespace", app.namespace.clone()),
        ("driver", app.driver_pod.clone()),
        ("phase", app.phase.clone()),
        ("attempt", app.attempt.to_string()),
        ("executors", app.executors.summary()),
        ("app id", app.app_id.clone()),
        ("spec hash", app.spec_hash.clone()),
    ];
    if let Some(created) = &app.created {
        rows.push(("age", age(created)));
    }
    if let Some(reason) = &app.reason {
        rows.push(("reason", reason.clone()));
    }
    if app.managed_by == apps::ManagedBy::Operator {
        rows.push(("managed", format!("operator (a driver pod of SparkJob {})", app.name)));
    }
    rows.iter().map(|(k, v)| format!("{:<10} {v}\n", format!("{k}:"))).collect()
}

/// `key:` padded so values line up, then the value.
fn field(key: &str, value: &str) -> String {
    format!("{:<12} {value}\n", format!("{key}:"))
}

/// A SparkJob's status as `status` prints it.
pub fn job_table(job: &ManagedJob) -> String {
    let s = &job.status;
    let mut out = String::new();
    out.push_str(&field("name", &job.name));
    out.push_str(&field("namespace", &job.namespace));
    out.push_str(&field("managed", "operator (SparkJob)"));
    if let Some(parent) = &job.scheduled_by {
        out.push_str(&field("run of", &format!("SparkJob {parent} (scheduled)")));
    }
    out.push_str(&field("state", job.state()));
    for (key, value) in [("reason", &s.reason), ("message", &s.message)] {
        if let Some(value) = value {
            out.push_str(&field(key, value));
        }
    }
    if job.suspend {
        out.push_str(&field("suspended", "yes (spec.suspend)"));
    }
    if let Some(attempt) = s.attempt {
        let retries = s.retries.map_or_else(String::new, |r| format!(" (retries used: {r})"));
        out.push_str(&field("attempt", &format!("{attempt}{retries}")));
    }
    if let Some(pod) = &s.driver_pod {
        let phase = job.driver_phase.as_deref().map_or_else(|| "gone".to_owned(), str::to_owned);
        out.push_str(&field("driver", &format!("{pod} ({phase})")));
    }
    if let Some(executors) = s.executors {
        out.push_str(&field("executors", &ExecutorCounts::from(executors).summary()));
    }
    for (key, value) in [("app id", &s.application_id), ("spec hash", &s.spec_hash)] {
        if let Some(value) = value {
            out.push_str(&field(key, value));
        }
    }
    if let Some(created) = &job.created {
        out.push_str(&field("age", &age(created)));
    }
    for (key, value) in [
        ("queued", &s.queued_at),
        ("submitted", &s.submitted_at),
        ("started", &s.started_at),
        ("finished", &s.finished_at),
        ("next retry", &s.next_retry_at),
    ] {
        if let Some(value) = value {
            out.push_str(&field(key, value));
        }
    }
    if let Some(exit) = &s.driver_exit {
        if let Some(code) = exit.exit_code {
            out.push_str(&field("exit code", &code.to_string()));
        }
        if !exit.log_tail.is_empty() {
            out.push_str("log tail:\n");
            out.extend(exit.log_tail.iter().map(|line| format!("  {line}\n")));
        }
    }
    if let Some(url) = &s.log_archive {
        out.push_str(&field("log archive", url));
    }
    if let Some(cron) = &job.cron {
        out.push_str(&field("schedule", cron));
    }
    if let Some(schedule) = &s.schedule {
        for (key, value) in [("last run", &schedule.last_schedule_time), ("next run", &schedule.next_schedule_time)] {
            if let Some(value) = value {
                out.push_str(&field(key, value));
            }
        }
        if !schedule.active.is_empty() {
            out.push_str(&field("active runs", &schedule.active.join(", ")));
        }
        if !schedule.skipped.is_empty() {
            out.push_str("skipped:\n");
            out.extend(transition_rows(&schedule.skipped));
        }
    }
    if !s.transitions.is_empty() {
        out.push_str("transitions:\n");
        out.extend(transition_rows(&s.transitions));
    }
    out
}

/// Transitions as an indented table, oldest first.
fn transition_rows(transitions: &[Transition]) -> Vec<String> {
    let mut table = Table::new(&["TIME", "STATE", "REASON", "MESSAGE"]);
    for t in transitions {
        table.row(vec![
            t.time.clone(),
            t.state.clone(),
            t.reason.clone().unwrap_or_else(|| "-".into()),
            t.message.clone().unwrap_or_default(),
        ]);
    }
    table.render().lines().map(|line| format!("  {line}\n")).collect()
}
