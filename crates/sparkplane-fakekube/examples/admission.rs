//! A micro-measure of CRD admission (not a test, not a benchmark the docs
//! quote): stores N of Kubeflow's spark-pi SparkApplications with Kubeflow's
//! CRD installed, then writes each one's status through `/status`, beside
//! the same number of plain ConfigMaps (no schema) as the anchor, and
//! prints the time per object. For profiling under `perf`:
//!
//! `cargo run -p sparkplane-fakekube --example admission -- 2000`

use std::time::Instant;

use serde_json::json;
use sparkplane_fakekube::FakeApiServer;

mod support;
use support::{repo, yaml};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let fake = FakeApiServer::start().expect("starts");
    for file in ["sparkoperator.k8s.io_sparkapplications.yaml", "sparkoperator.k8s.io_scheduledsparkapplications.yaml"]
    {
        let crd = yaml(&repo().join("charts/sparkplane/files/kubeflow").join(file)).remove(0);
        fake.insert(crd).expect("CRD stored");
    }
    let example = yaml(&repo().join("crates/sparkplane/tests/data/kubeflow-examples/spark-pi.yaml")).remove(0);

    let started = Instant::now();
    for i in 0..n {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i}"), "namespace": "default"}, "data": {"a": "b"}});
        fake.insert(cm).expect("stored");
    }
    let anchor = started.elapsed();

    let started = Instant::now();
    for i in 0..n {
        let mut app = example.clone();
        app["metadata"]["name"] = json!(format!("app-{i}"));
        fake.insert(app).expect("admitted");
    }
    let created = started.elapsed();

    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let status = json!({"status": {"applicationState": {"state": "RUNNING"}, "driverInfo": {"podName": "d"},
        "executorState": {"e-1": "RUNNING"}, "submissionAttempts": 1, "executionAttempts": 1}});
    let started = Instant::now();
    for i in 0..n {
        let url = format!(
            "{}/apis/sparkoperator.k8s.io/v1beta2/namespaces/default/sparkapplications/app-{i}/status",
            fake.url()
        );
        let answer = agent.patch(&url).header("Content-Type", "application/merge-patch+json").send(status.to_string());
        assert_eq!(answer.map(|r| r.status().as_u16()).ok(), Some(200));
    }
    let patched = started.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "n={n} configmap insert {:.0} us, sparkapplication insert {:.0} us, status patch over HTTP {:.0} us",
        per(anchor),
        per(created),
        per(patched)
    );
}
