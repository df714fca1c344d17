//! A micro-measure of the writes the operator sends an application (not a
//! test, not a benchmark the docs quote), where the simulated API server
//! keeps `metadata.managedFields`: N applications created by one manager,
//! then for each an annotation merge patch and four status merge patches
//! (submitted, running with its driver and executors, an executor more,
//! completed) by another, over HTTP. Run for Kubeflow's spark-pi
//! SparkApplication with Kubeflow's CRD installed and for a SparkJob of
//! the same size (built in), so the two kinds' cost per write sit side by
//! side. For before/after numbers and for profiling under `perf`:
//!
//! `cargo run --release -p sparkplane-fakekube --example managed_fields -- 2000`

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

mod support;
use support::{repo, yaml};

/// The SparkJob the bench creates, with the operator's usual status fields.
fn spark_job() -> Value {
    json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
        "metadata": {"name": "template", "namespace": "default", "labels": {"team": "team-a"}},
        "spec": {"team": "team-a", "costCenter": "cc-1", "type": "Python", "sparkVersion": "3.5.7",
            "mainApplicationFile": "local:///opt/app/nightly.py",
            "image": {"repository": "registry.example.com/team-a/nightly", "tag": "1.0.0"},
            "eventLog": {"dir": "s3a://spark-events/team-a"}, "restartPolicy": {"type": "OnFailure", "retries": 1}}})
}

/// The status patches of one run, in the kind's shape.
fn statuses(kubeflow: bool) -> Vec<Value> {
    let state = |s: &str, extra: Value| {
        let mut status = if kubeflow {
            json!({"applicationState": {"state": s}, "driverInfo": {}, "submissionAttempts": 1, "executionAttempts": 1})
        } else {
            json!({"state": s, "attempt": 1, "conditions": [{"type": s, "status": "True", "reason": s}]})
        };
        if let (Some(status), Some(extra)) = (status.as_object_mut(), extra.as_object()) {
            status.extend(extra.clone());
        }
        json!({ "status": status })
    };
    vec![
        state(
            "SUBMITTED",
            json!({"sparkApplicationId": "spark-1", "lastSubmissionAttemptTime": "2026-01-01T00:00:00Z"}),
        ),
        state(
            "RUNNING",
            json!({"driverInfo": {"podName": "d", "webUIPort": 4040}, "executorState": {"e-1": "RUNNING"}}),
        ),
        state("RUNNING", json!({"executorState": {"e-1": "RUNNING", "e-2": "PENDING"}})),
        state(
            "COMPLETED",
            json!({"executorState": {"e-1": "COMPLETED", "e-2": "COMPLETED"},
            "terminationTime": "2026-01-01T00:01:00Z"}),
        ),
    ]
}

struct Timing {
    create: Duration,
    annotate: Duration,
    status: Duration,
}

fn run(fake: &FakeApiServer, template: &Value, plural: &str, n: usize) -> Timing {
    let api_version = template["apiVersion"].as_str().unwrap_or_default();
    let kubeflow = plural == "sparkapplications";
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let base = format!("{}/apis/{api_version}/namespaces/default/{plural}", fake.url());
    let send = |method: &str, url: &str, manager: &str, kind: &str, body: &Value| {
        let url = format!("{url}?fieldManager={manager}");
        let answer = match method {
            "POST" => agent.post(&url).header("Content-Type", kind).send(body.to_string()),
            _ => agent.patch(&url).header("Content-Type", kind).send(body.to_string()),
        };
        let mut answer = answer.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let code = answer.status().as_u16();
        if !matches!(code, 200 | 201) {
            panic!("{method} {url}: {code} {}", answer.body_mut().read_to_string().unwrap_or_default());
        }
    };
    let started = Instant::now();
    for i in 0..n {
        let mut object = template.clone();
        object["metadata"]["name"] = json!(format!("app-{i}"));
        send("POST", &base, "bench", "application/json", &object);
    }
    let create = started.elapsed();
    let started = Instant::now();
    for i in 0..n {
        let patch = json!({"metadata": {"annotations": {"sparkplane.dev/conditions": format!("[{{\"n\":{i}}}]")}}});
        send("PATCH", &format!("{base}/app-{i}"), "sparkplane", "application/merge-patch+json", &patch);
    }
    let annotate = started.elapsed();
    let started = Instant::now();
    for patch in statuses(kubeflow) {
        for i in 0..n {
            send("PATCH", &format!("{base}/app-{i}/status"), "sparkplane", "application/merge-patch+json", &patch);
        }
    }
    Timing { create, annotate, status: started.elapsed() / 4 }
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let fake = FakeApiServer::start().expect("starts");
    let crd = repo().join("charts/sparkplane/files/kubeflow/sparkoperator.k8s.io_sparkapplications.yaml");
    fake.insert(yaml(&crd).remove(0)).expect("CRD stored");
    let example = yaml(&repo().join("crates/sparkplane/tests/data/kubeflow-examples/spark-pi.yaml")).remove(0);

    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    for (name, template, plural) in
        [("SparkJob", spark_job(), "sparkjobs"), ("SparkApplication", example, "sparkapplications")]
    {
        let t = run(&fake, &template, plural, n);
        println!(
            "n={n} {name:<16} create {:>5.0} us, annotation patch {:>5.0} us, status patch {:>5.0} us (over HTTP, per write)",
            per(t.create),
            per(t.annotate),
            per(t.status)
        );
    }
}
