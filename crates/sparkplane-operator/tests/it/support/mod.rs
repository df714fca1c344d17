//! What the operator's end-to-end tests share: a client for the fake API
//! server, an operator started and stopped in-process, SparkJobs to create,
//! and waiting for a status.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::JobState;
use sparkplane_fakekube::{Behaviour, FakeApiServer, PodScript};
use sparkplane_lifecycle::Platform;
use sparkplane_operator::{Metrics, OperatorSettings};

pub fn client(fake: &FakeApiServer) -> kube::Client {
    if std::env::var("OPERATOR_TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(std::env::var("OPERATOR_TEST_LOG").unwrap_or_default()))
            .with_test_writer()
            .try_init();
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = kube::Config::new(fake.url().parse().expect("url"));
    kube::Client::try_from(config).expect("client")
}

pub struct Operator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), sparkplane_kube::KubeError>>,
    pub metrics: Metrics,
}

impl Operator {
    pub fn start(fake: &FakeApiServer, tweak: impl FnOnce(&mut OperatorSettings)) -> Operator {
        install_crd(fake);
        let mut settings = settings(fake);
        tweak(&mut settings);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics = Metrics::new();
        let platform = Platform::builtin().expect("catalog");
        let handle =
            tokio::spawn(sparkplane_operator::run(client(fake), settings, platform, metrics.clone(), async move {
                let _ = stopped.await;
            }));
        Operator { stop: Some(stop), handle, metrics }
    }

    /// Kills the operator where it stands, mid-reconcile or not, as a
    /// crashed or OOM-killed process would end: no graceful shutdown.
    pub async fn kill(self) {
        self.handle.abort();
        let _ = self.handle.await;
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "the operator stops cleanly: {ended:?}");
    }
}

/// Stores the SparkJob CRD `sparkplane crd` prints (as the chart installs
/// it), so SparkJobs are pruned, defaulted and validated against its schema
/// as a real API server does: a status field the operator writes that the
/// CRD lacks would vanish. Stored once; later calls leave it.
pub fn install_crd(fake: &FakeApiServer) {
    let crd = serde_json::to_value(sparkplane_api::crd::crd()).expect("the CRD serializes");
    let _ = fake.insert(crd);
}

/// Driver pods run `step_ms` after creation, then end in `phase` with `log`.
pub fn drivers_end(fake: &FakeApiServer, step_ms: u64, phase: &str, log: &str) {
    fake.set_behaviour(Behaviour {
        advance_driver_pods: Some(PodScript {
            step: Duration::from_millis(step_ms),
            final_phase: phase.into(),
            log: log.into(),
        }),
        ..Behaviour::default()
    });
}

pub fn job(name: &str, extra: Value) -> SparkJob {
    let spec = json!({
        "team": "data-eng", "costCenter": "cc-42", "type": "Python",
        "mainApplicationFile": "local:///opt/app/main.py", "sparkVersion": "3.5.3",
        "image": {"repository": "registry.example.com/spark/py", "tag": "3.5.3"},
        "eventLog": {"enabled": true, "dir": "s3a://spark-events/data-eng"},
        "executor": {"instances": 2, "memory": "2g", "cores": 1},
    });
    job_in("data", name, spec, extra)
}

/// The operator's settings the tests start from: namespace `data`, the
/// built-in queue without the shared pool, no leader election.
pub fn settings(fake: &FakeApiServer) -> OperatorSettings {
    OperatorSettings {
        namespace: Some("data".into()),
        concurrency: 8,
        log_store: None,
        max_running_per_namespace: None,
        metrics_address: None,
        leader: None,
        server: fake.url(),
        resync: sparkplane_operator::context::DEFAULT_RESYNC,
        kubeflow: None,
        queue_pool: None,
    }
}

/// A SparkJob `namespace/name` of `spec` with `extra`'s fields set over it.
pub fn job_in(namespace: &str, name: &str, mut spec: Value, extra: Value) -> SparkJob {
    if let (Some(base), Some(more)) = (spec.as_object_mut(), extra.as_object()) {
        base.extend(more.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
        "metadata": {"name": name, "namespace": namespace}, "spec": spec,
    }))
    .expect("a SparkJob")
}

/// Creates `job` in its namespace (`data` when it names none).
pub async fn create(fake: &FakeApiServer, job: &SparkJob) {
    let api: Api<SparkJob> = Api::namespaced(client(fake), job.metadata.namespace.as_deref().unwrap_or("data"));
    api.create(&PostParams::default(), job).await.expect("created");
}

/// Polls until the job's status satisfies `done`; panics with the last status after `limit`.
pub async fn wait_for(fake: &FakeApiServer, name: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let job = fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data"), name).unwrap_or(Value::Null);
        if done(&job["status"]) {
            return job;
        }
        if started.elapsed() >= limit {
            for r in fake.requests().iter().filter(|r| !r.path.contains("leases")) {
                eprintln!("{} {} {:?}", r.method, r.path, r.query);
            }
        }
        assert!(started.elapsed() < limit, "{name} did not get there in {limit:?}; status now: {:#}", job["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn state_is(state: JobState) -> impl Fn(&Value) -> bool {
    move |status| status["state"] == state.as_str()
}

pub fn transitions(job: &Value) -> Vec<String> {
    job["status"]["transitions"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| format!("{}/{}", t["state"].as_str().unwrap_or(""), t["reason"].as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

pub fn driver_creates(fake: &FakeApiServer) -> usize {
    fake.requests().iter().filter(|r| r.method == "POST" && r.path == "/api/v1/namespaces/data/pods").count()
}

pub async fn patch_spec(fake: &FakeApiServer, name: &str, spec: Value) {
    let api: Api<SparkJob> = Api::namespaced(client(fake), "data");
    api.patch(name, &kube::api::PatchParams::default(), &kube::api::Patch::Merge(json!({"spec": spec})))
        .await
        .expect("patched");
}
