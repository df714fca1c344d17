//! The experiments on the simulated cluster with the operator: a node lost
//! with executors on it, a node drained under a PodDisruptionBudget, the
//! driver evicted, the API server paused, the operator killed.
//!
//! Owns: the lab each of them runs in — the simulated cluster
//! (`sparkplane-fakekube`) on 127.0.0.1 and the operator in-process, SparkJobs
//! created through the API, what is seen of pods and statuses, the
//! operator's metrics as series for the alert check. Each experiment (its
//! own module) breaks its part and observes the result. Must not: decide
//! what should happen (the catalog's). No real cluster is involved.

mod api_paused;
mod driver_evicted;
mod node_drained;
mod node_lost;
mod operator_killed;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_fakekube::{Cluster, FakeApiServer};
use sparkplane_kube::KubeError;
use sparkplane_lifecycle::Platform;
use sparkplane_operator::{Metrics, OperatorSettings};

use crate::alerts::{self, Series};
use crate::catalog::Experiment;
use crate::outcome::{Check, Outcome};
use crate::{ChaosError, Settings};

/// The namespace every experiment's SparkJobs live in.
const NAMESPACE: &str = "data";

/// How long an experiment waits for a state before it records what it saw instead.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs one experiment on the simulated cluster.
pub fn run(experiment: Experiment, settings: &Settings) -> Result<Outcome, ChaosError> {
    let started = Instant::now();
    let mut outcome = Outcome::begin(experiment);
    let observed = match experiment {
        Experiment::NodeLost => node_lost::run()?,
        Experiment::NodeDrained => node_drained::run()?,
        Experiment::DriverEvicted => driver_evicted::run()?,
        Experiment::ApiServerPaused => api_paused::run()?,
        Experiment::OperatorKilled => operator_killed::run()?,
        other => return Err(ChaosError::Invalid(format!("{} does not run on the simulated cluster", other.name()))),
    };
    outcome.checks = observed.checks;
    outcome.alerts = alerts::check(settings.promtool.as_deref(), &observed.series, experiment.expectation().alerts)?;
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// What one experiment saw: its checks and the series its metrics produced.
struct Observed {
    checks: Vec<Check>,
    series: Vec<Series>,
}

fn infrastructure(what: &str) -> impl FnOnce(String) -> ChaosError + '_ {
    move |error| ChaosError::Infrastructure(format!("{what}: {error}"))
}

fn text<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

/// An operator running in the lab's runtime.
struct RunningOperator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), KubeError>>,
    metrics: Metrics,
}

/// The simulated cluster, a client for it and the operator.
struct Lab {
    runtime: tokio::runtime::Runtime,
    fake: FakeApiServer,
    client: kube::Client,
    operator: Option<RunningOperator>,
}

impl Lab {
    /// Starts the simulated cluster described by `cluster` (no operator yet).
    fn start(cluster: Cluster) -> Result<Lab, ChaosError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| infrastructure("cannot start an async runtime")(e.to_string()))?;
        let fake =
            FakeApiServer::start().map_err(|e| infrastructure("cannot start the simulated cluster")(e.to_string()))?;
        fake.set_cluster(cluster);
        let uri = fake.url().parse().map_err(text).map_err(infrastructure("the simulated cluster's address"))?;
        let connect = sparkplane_kube::Settings {
            config: kube::Config::new(uri),
            namespace: NAMESPACE.to_owned(),
            namespace_explicit: true,
        };
        let client = {
            let _inside = runtime.enter();
            sparkplane_kube::kubeconfig::client(&connect)
                .map_err(|e| infrastructure("cannot make a client for the simulated cluster")(e.to_string()))?
        };
        Ok(Lab { runtime, fake, client, operator: None })
    }

    /// Starts an operator (fresh metrics, as a restarted process has) watching the namespace.
    fn start_operator(&mut self) -> Result<(), ChaosError> {
        let settings = OperatorSettings {
            namespace: Some(NAMESPACE.to_owned()),
            concurrency: 8,
            log_store: None,
            max_running_per_namespace: None,
            metrics_address: None,
            leader: None,
            server: self.fake.url(),
            resync: Duration::from_secs(10),
            kubeflow: None,
            queue_pool: None,
        };
        let platform = Platform::builtin().map_err(|e| infrastructure("the built-in platform")(e.to_string()))?;
        let metrics = Metrics::new();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = self.runtime.spawn(sparkplane_operator::run(
            self.client.clone(),
            settings,
            platform,
            metrics.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        self.operator = Some(RunningOperator { stop: Some(stop), handle, metrics });
        Ok(())
    }

    /// Kills the operator where it stands, as a crashed process ends: no
    /// graceful shutdown. Returns its metrics' last exposition.
    fn kill_operator(&mut self) -> String {
        let Some(operator) = self.operator.take() else { return String::new() };
        let text = operator.metrics.render();
        operator.handle.abort();
        let _ = self.runtime.block_on(operator.handle);
        text
    }

    /// Whether an operator task is alive (what a scrape of its `up` would say).
    fn operator_up(&self) -> bool {
        self.operator.as_ref().is_some_and(|o| !o.handle.is_finished())
    }

    /// The running operator's metrics exposition (empty without one).
    fn metrics(&self) -> String {
        self.operator.as_ref().map(|o| o.metrics.render()).unwrap_or_default()
    }

    /// Stops the operator gracefully.
    fn stop_operator(&mut self) {
        if let Some(mut operator) = self.operator.take() {
            if let Some(stop) = operator.stop.take() {
                let _ = stop.send(());
            }
            let handle = operator.handle;
            let _ = self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), handle).await });
        }
    }

    /// Creates a SparkJob `name` with `executors` executors and `extra` spec fields, through the API.
    fn create(&self, name: &str, executors: u32, extra: Value) -> Result<(), ChaosError> {
        let mut spec = json!({
            "team": "data-eng", "costCenter": "cc-42", "type": "Python",
            "mainApplicationFile": "local:///opt/app/main.py", "sparkVersion": "3.5.3",
            "image": {"repository": "registry.example.com/spark/py", "tag": "3.5.3"},
            "executor": {"instances": executors, "memory": "2g", "cores": 1},
        });
        if let (Some(base), Some(more)) = (spec.as_object_mut(), extra.as_object()) {
            base.extend(more.clone());
        }
        let job: SparkJob = serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": spec,
        }))
        .map_err(|e| ChaosError::Invalid(format!("the experiment's SparkJob {name}: {e}")))?;
        let api: kube::Api<SparkJob> = kube::Api::namespaced(self.client.clone(), NAMESPACE);
        self.runtime
            .block_on(api.create(&kube::api::PostParams::default(), &job))
            .map_err(|e| infrastructure("cannot create a SparkJob on the simulated cluster")(e.to_string()))?;
        Ok(())
    }

    /// A SparkJob as stored now (Null when missing).
    fn job(&self, name: &str) -> Value {
        self.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some(NAMESPACE), name).unwrap_or(Value::Null)
    }

    /// Every pod stored now.
    fn pods(&self) -> Vec<Value> {
        self.fake.objects().into_iter().filter(|o| o["kind"] == "Pod").collect()
    }

    /// The driver pods of SparkJob `job`.
    fn drivers(&self, job: &str) -> Vec<Value> {
        self.pods()
            .into_iter()
            .filter(|p| {
                p["metadata"]["labels"]["spark-role"] == "driver"
                    && p["metadata"]["labels"][sparkplane_api::labels::JOB] == job
            })
            .collect()
    }

    /// The running executors of driver pod `driver`.
    fn running_executors(&self, driver: &str) -> Vec<Value> {
        self.pods()
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["spark-role"] == "executor" && p["status"]["phase"] == "Running")
            .filter(|p| p["metadata"]["ownerReferences"][0]["name"] == driver)
            .collect()
    }

    /// Pod creations the operator sent (executors are the driver stand-in's, not requests).
    fn pod_creations(&self) -> usize {
        let path = format!("/api/v1/namespaces/{NAMESPACE}/pods");
        self.fake.requests().iter().filter(|r| r.method == "POST" && r.path == path).count()
    }

    /// Polls until `done` holds or `limit` passes; whether it held.
    fn wait_until(&self, limit: Duration, mut done: impl FnMut(&Lab) -> bool) -> bool {
        let started = Instant::now();
        loop {
            if done(self) {
                return true;
            }
            if started.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until every job in `names` has ended (Succeeded or Failed); whether they did.
    fn wait_finished(&self, names: &[String]) -> bool {
        self.wait_until(PATIENCE, |lab| names.iter().all(|n| is_final(&lab.job(n))))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop_operator();
    }
}

fn is_final(job: &Value) -> bool {
    matches!(job["status"]["state"].as_str(), Some("Succeeded" | "Failed"))
}

/// A job's state and reason, `Succeeded/Succeeded`.
fn state(job: &Value) -> String {
    let s = |k: &str| job["status"][k].as_str().unwrap_or("none").to_owned();
    format!("{}/{}", s("state"), s("reason"))
}

/// A job's transitions, `state/reason` each.
fn transitions(job: &Value) -> Vec<String> {
    job["status"]["transitions"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| format!("{}/{}", t["state"].as_str().unwrap_or(""), t["reason"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

/// `name` of each job with `what`, joined: `a: x, b: y`.
fn each(names: &[String], what: impl Fn(&str) -> String) -> String {
    names.iter().map(|n| format!("{n}: {}", what(n))).collect::<Vec<_>>().join(", ")
}

/// The samples of a Prometheus/OpenMetrics exposition: selector → value.
fn samples(exposition: &str) -> BTreeMap<String, f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (selector, value) = line.rsplit_once(' ')?;
            Some((selector.trim().to_owned(), value.trim().parse::<f64>().ok()?))
        })
        .collect()
}

/// Every series of two expositions, each with its value before and after
/// the fault (0 where a series did not exist yet or any more).
fn series(before: &str, after: &str) -> Vec<Series> {
    let (before, after) = (samples(before), samples(after));
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let value = |m: &BTreeMap<String, f64>| m.get(name).copied().unwrap_or(0.0);
            Series::step(name.clone(), value(&before), value(&after))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expositions_become_series_stepping_at_the_fault() {
        let before = "# HELP x a counter.\n# TYPE x counter\nx_total{cause=\"Evicted\"} 1\ny 4\n# EOF\n";
        let after = "x_total{cause=\"Evicted\"} 3\nz_bucket{le=\"+Inf\"} 2\n# EOF\n";
        assert_eq!(
            series(before, after),
            vec![
                Series::step("x_total{cause=\"Evicted\"}", 1.0, 3.0),
                Series::step("y", 4.0, 0.0),
                Series::step("z_bucket{le=\"+Inf\"}", 0.0, 2.0),
            ]
        );
    }
}
