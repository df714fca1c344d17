//! `list`: every application in a namespace (or all), SparkJobs and
//! directly submitted drivers, each once. Owns [`Listed`], a row, [`merge`],
//! the one rule of which drivers are a SparkJob's row, and the rows as a
//! [`table`]. Must not: print.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde::Serialize;
use sparkplane_api::SparkJob;
use sparkplane_documents::table::Table;

use super::status::ManagedJob;
use super::{Application, ExecutorCounts, ManagedBy, age, application, executors_by_app, managed_drivers, owns, phase};
use crate::error::{KubeError, Operation};

/// One row of `list`: a SparkJob, or an application submitted directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The SparkJob's name, or the job's (`sparkplane.dev/job`, else the pod's).
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `operator` or `direct`.
    pub managed_by: ManagedBy,
    /// A SparkJob's state (`New` before the operator wrote one); a direct
    /// application's driver phase.
    pub state: String,
    /// Why: the SparkJob's reason, or why the driver ended or waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The attempt (0 before a SparkJob's first driver).
    pub attempt: u32,
    /// Executors by phase: a SparkJob's as the operator last recorded them,
    /// a direct application's counted from its executor pods.
    pub executors: ExecutorCounts,
    /// Creation time (RFC 3339) of the SparkJob or the driver pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The current driver pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_pod: Option<String>,
    /// That pod's phase, when it was listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Spark application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Short hash of the resolved spec the run started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
}

impl Listed {
    /// A SparkJob's row; `driver` is its current driver pod when listed.
    pub fn of_job(job: &SparkJob, driver: Option<&Pod>) -> Listed {
        let view = ManagedJob::of(job, driver.map(phase));
        let state = view.state().to_owned();
        let status = view.status;
        Listed {
            name: view.name,
            namespace: view.namespace,
            managed_by: ManagedBy::Operator,
            state,
            reason: status.reason,
            attempt: status.attempt.unwrap_or(0),
            executors: status.executors.map(ExecutorCounts::from).unwrap_or_default(),
            created: view.created,
            driver_pod: status.driver_pod,
            phase: view.driver_phase,
            app_id: status.application_id,
            spec_hash: status.spec_hash,
        }
    }

    /// A driver pod's row (its SparkJob is not listed: submitted directly,
    /// or its owner is gone and garbage collection has not removed it yet).
    pub fn of_application(app: Application) -> Listed {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Listed {
            name: app.name,
            namespace: app.namespace,
            managed_by: app.managed_by,
            state: app.phase.clone(),
            reason: app.reason,
            attempt: app.attempt,
            executors: app.executors,
            created: app.created,
            driver_pod: non_empty(app.driver_pod),
            phase: Some(app.phase),
            app_id: non_empty(app.app_id),
            spec_hash: non_empty(app.spec_hash),
        }
    }
}

/// The rows of `list`, each application once, sorted by namespace, name,
/// how it is managed, attempt and driver pod.
///
/// A SparkJob of `jobs` is listed when `selected` (the `(namespace, name)`
/// of those whose own labels match the selector; None: no selector) holds
/// it, or when it owns one of `drivers`; the drivers it owns are its row,
/// not rows of their own. Every other driver is a row, with its executors
/// counted from `executors` (executor pods by application id).
pub fn merge(
    jobs: &[SparkJob],
    selected: Option<&std::collections::BTreeSet<(String, String)>>,
    drivers: &[Pod],
    executors: &BTreeMap<String, Vec<Pod>>,
) -> Vec<Listed> {
    let mut claimed = vec![false; drivers.len()];
    let mut rows = Vec::new();
    for job in jobs {
        let mine: Vec<usize> = (0..drivers.len()).filter(|&i| owns(job, &drivers[i])).collect();
        let key = (job.metadata.namespace.clone().unwrap_or_default(), job.metadata.name.clone().unwrap_or_default());
        if !mine.is_empty() || selected.is_none_or(|s| s.contains(&key)) {
            let current = job.status.as_ref().and_then(|s| s.driver_pod.as_deref());
            let driver = mine.iter().map(|&i| &drivers[i]).find(|p| p.metadata.name.as_deref() == current);
            rows.push(Listed::of_job(job, driver));
            mine.iter().for_each(|&i| claimed[i] = true);
        }
    }
    for (pod, _) in drivers.iter().zip(&claimed).filter(|(_, claimed)| !**claimed) {
        let mut app = application(pod);
        app.executors = ExecutorCounts::of(executors.get(&app.app_id).into_iter().flatten());
        rows.push(Listed::of_application(app));
    }
    rows.sort_by(|a, b| {
        (a.namespace.as_str(), a.name.as_str(), a.managed_by, a.attempt, &a.driver_pod).cmp(&(
            b.namespace.as_str(),
            b.name.as_str(),
            b.managed_by,
            b.attempt,
            &b.driver_pod,
        ))
    });
    rows
}

/// Every application in `namespace` (all namespaces when None): SparkJobs
/// and directly submitted drivers, each once (see [`merge`]). With a label
/// `selector`, the drivers that match it, and the SparkJobs that match it
/// or own such a driver.
pub async fn list(
    client: &kube::Client,
    server: &str,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> Result<Vec<Listed>, KubeError> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let selector = selector.map(str::trim).filter(|s| !s.is_empty());
    let labels = match selector {
        Some(extra) => format!("{},{extra}", managed_drivers()),
        None => managed_drivers(),
    };
    let drivers = api
        .list(&ListParams::default().labels(&labels))
        .await
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "Pod", namespace.unwrap_or("(all)")), server))?;
    let executors = executors_by_app(client, server, namespace, None).await?;
    let jobs = crate::jobs::list(client, server, namespace, None).await?;
    let selected = match selector {
        Some(labels) => Some(
            crate::jobs::list(client, server, namespace, Some(labels))
                .await?
                .into_iter()
                .map(|j| (j.metadata.namespace.unwrap_or_default(), j.metadata.name.unwrap_or_default()))
                .collect(),
        ),
        None => None,
    };
    Ok(merge(&jobs, selected.as_ref(), &drivers.items, &executors))
}

/// `list`'s table (age now), or that `namespace` (None: the cluster) has
/// no application.
pub fn table(rows: &[Listed], namespace: Option<&str>) -> String {
    if rows.is_empty() {
        return match namespace {
            Some(ns) => format!("no sparkplane applications in namespace {ns}\n"),
            None => "no sparkplane applications\n".to_owned(),
        };
    }
    let mut table = Table::new(&["NAME", "NAMESPACE", "MANAGED", "STATE", "ATTEMPT", "EXECUTORS", "AGE", "REASON"]);
    for app in rows {
        table.row(vec![
            app.name.clone(),
            app.namespace.clone(),
            app.managed_by.as_str().to_owned(),
            app.state.clone(),
            if app.attempt == 0 { "-".to_owned() } else { app.attempt.to_string() },
            app.executors.summary(),
            app.created.as_deref().map_or_else(|| "-".to_owned(), age),
            app.reason.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{Value, json};

    use super::super::fixtures::{driver, executor, job, names};
    use super::super::{ExecutorCounts, ManagedBy};
    use super::{merge, table};

    #[test]
    fn a_sparkjob_and_its_driver_are_one_row_beside_a_direct_application_of_the_same_name() {
        let jobs = [job(
            "nightly",
            "u-1",
            json!({"state": "Running", "reason": "Running", "attempt": 2, "driverPod": "nightly-2-driver",
                   "applicationId": "spark-nightly-2-driver", "executors": {"pending": 0, "running": 3, "succeeded": 0, "failed": 1}}),
        )];
        let drivers = [
            driver("nightly-1-driver", "nightly", "Failed", Some(("nightly", "u-1"))),
            driver("nightly-2-driver", "nightly", "Running", Some(("nightly", "u-1"))),
            driver("nightly-x-driver", "nightly", "Succeeded", None),
            driver("adhoc-driver", "adhoc", "Pending", None),
        ];
        let executors =
            BTreeMap::from([("spark-adhoc-driver".to_owned(), vec![executor("spark-adhoc-driver", "Running")])]);
        let rows = merge(&jobs, None, &drivers, &executors);
        assert_eq!(
            names(&rows),
            [
                ("adhoc".to_owned(), ManagedBy::Direct, "Pending".to_owned()),
                ("nightly".to_owned(), ManagedBy::Direct, "Succeeded".to_owned()),
                ("nightly".to_owned(), ManagedBy::Operator, "Running".to_owned()),
            ]
        );
        let operator = &rows[2];
        assert_eq!(operator.attempt, 2);
        assert_eq!(operator.driver_pod.as_deref(), Some("nightly-2-driver"));
        assert_eq!(operator.phase.as_deref(), Some("Running"), "the current driver's phase, not attempt 1's");
        assert_eq!(operator.executors, ExecutorCounts { running: 3, failed: 1, ..ExecutorCounts::default() });
        assert_eq!(operator.reason.as_deref(), Some("Running"));
        assert_eq!(operator.created.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(rows[0].executors.running, 1);
        assert_eq!(rows[0].attempt, 1);
    }

    #[test]
    fn a_sparkjob_without_status_is_new_with_attempt_0() {
        let rows = merge(&[job("fresh", "u-f", Value::Null)], None, &[], &BTreeMap::new());
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].state.as_str(), rows[0].attempt, rows[0].driver_pod.as_deref()), ("New", 0, None));
        let json = serde_json::to_value(&rows[0]).expect("json");
        assert_eq!(json["managedBy"], "operator");
        assert!(json.get("phase").is_none() && json.get("reason").is_none(), "{json}");
    }

    #[test]
    fn with_a_selector_a_job_is_listed_when_it_matches_or_owns_a_matching_driver() {
        let jobs = [
            job("labelled", "u-l", Value::Null),
            job("owner", "u-o", json!({"state": "Running"})),
            job("other", "u-x", Value::Null),
        ];
        let selected = BTreeSet::from([("team-a".to_owned(), "labelled".to_owned())]);
        let drivers = [driver("owner-driver", "owner", "Running", Some(("owner", "u-o")))];
        let rows = merge(&jobs, Some(&selected), &drivers, &BTreeMap::new());
        assert_eq!(
            names(&rows),
            [
                ("labelled".to_owned(), ManagedBy::Operator, "New".to_owned()),
                ("owner".to_owned(), ManagedBy::Operator, "Running".to_owned()),
            ]
        );
    }

    #[test]
    fn a_driver_whose_sparkjob_is_gone_is_a_row_of_its_own_marked_operator() {
        // Same name, new uid: the job was deleted and created again; the old driver awaits garbage collection.
        let jobs = [job("nightly", "u-new", json!({"state": "Queued", "reason": "QuotaWait"}))];
        let drivers = [driver("nightly-old-driver", "nightly", "Running", Some(("nightly", "u-old")))];
        let rows = merge(&jobs, None, &drivers, &BTreeMap::new());
        assert_eq!(
            names(&rows),
            [
                ("nightly".to_owned(), ManagedBy::Operator, "Queued".to_owned()),
                ("nightly".to_owned(), ManagedBy::Operator, "Running".to_owned()),
            ]
        );
        assert_eq!(rows[0].driver_pod, None);
        assert_eq!(rows[1].driver_pod.as_deref(), Some("nightly-old-driver"));
    }

    #[test]
    fn the_table_says_an_empty_namespace_and_shows_attempt_0_and_unknown_ages_as_dashes() {
        assert_eq!(table(&[], Some("team-a")), "no sparkplane applications in namespace team-a\n");
        assert_eq!(table(&[], None), "no sparkplane applications\n");
        let mut fresh = job("fresh", "u-f", Value::Null);
        fresh.metadata.creation_timestamp = None;
        let rows = merge(&[fresh], None, &[], &BTreeMap::new());
        assert_eq!(
            table(&rows, Some("team-a")),
            "NAME   NAMESPACE  MANAGED   STATE  ATTEMPT  EXECUTORS  AGE  REASON\n\
             fresh  team-a     operator  New    -        0          -    -\n"
        );
    }
}
