//! What the cluster commands (`submit`, `status | logs | list | delete`,
//! `operator`) share: connecting to a cluster, kube errors as failures, and
//! the views of an application.
//!
//! Owns: those shared pieces, so no command imports another. Must not: talk
//! to the API except through `sparkplane_kube`.

use sparkplane_core::Diagnostic;
use sparkplane_kube::apps::{self, Application};
use sparkplane_kube::{KubeError, Settings, Target as ClusterTarget};

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
    let diagnostic = Diagnostic::error(code, path, error.to_string()).with_help(error.help());
    if error.is_infrastructure() {
        Failure::Infrastructure(diagnostic.into())
    } else {
        Failure::Invalid(diagnostic.into())
    }
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
