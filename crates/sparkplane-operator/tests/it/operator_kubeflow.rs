//! The operator serving Kubeflow's v1beta2 resources (`--kubeflow`) on the
//! fake API server with Kubeflow's own CRDs installed (charts/sparkplane/files/kubeflow,
//! from kubeflow/spark-operator): every SparkApplication and status write is
//! admitted, pruned and validated against Kubeflow's schema as a real API
//! server would, and the status the operator writes is checked against that
//! schema again here.

use crate::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;
use sparkplane_operator::kubeflow::KubeflowSettings;
use support::*;

const CRDS: [&str; 2] =
    ["sparkoperator.k8s.io_sparkapplications.yaml", "sparkoperator.k8s.io_scheduledsparkapplications.yaml"];

fn crd(file: &str) -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts/sparkplane/files/kubeflow").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new(file, text))
        .expect("Kubeflow's CRD parses");
    docs.iter().map(|d| d.to_json()).find(|d| d["kind"] == "CustomResourceDefinition").expect("a CRD")
}

/// Stores Kubeflow's two v1beta2 CRDs.
pub(crate) fn install_kubeflow_crds(fake: &FakeApiServer) {
    for file in CRDS {
        fake.insert(crd(file)).expect("Kubeflow's CRD is stored");
    }
}

/// Kubeflow's status schema of `file`'s CRD, as a JSON Schema validator.
fn status_schema(file: &str) -> jsonschema::Validator {
    let crd = crd(file);
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"];
    jsonschema::validator_for(schema).expect("Kubeflow's status schema compiles")
}

fn assert_valid_status(file: &str, status: &Value) {
    let validator = status_schema(file);
    let errors: Vec<String> = validator.iter_errors(status).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the status fails Kubeflow's schema: {errors:?}\n{status:#}");
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("sparkoperator.k8s.io", "v1beta2", kind), plural)
}

pub(crate) fn apps(fake: &FakeApiServer) -> Api<DynamicObject> {
    Api::namespaced_with(client(fake), "data", &resource("SparkApplication", "sparkapplications"))
}

fn schedules(fake: &FakeApiServer) -> Api<DynamicObject> {
    Api::namespaced_with(client(fake), "data", &resource("ScheduledSparkApplication", "scheduledsparkapplications"))
}

const OPT_IN: (&str, &str) = ("sparkplane.dev/operator", "sparkplane");

/// A SparkApplication as a Kubeflow user writes one, opted in, with an owner.
pub(crate) fn application(name: &str, spec_extra: Value) -> Value {
    let mut spec = json!({
        "type": "Scala", "mode": "cluster", "image": "registry.example.com/spark:3.5.3",
        "sparkVersion": "3.5.3", "mainClass": "org.apache.spark.examples.SparkPi",
        "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
        "driver": {"cores": 1, "memory": "512m", "serviceAccount": "spark"},
        "executor": {"instances": 1, "cores": 1, "memory": "512m"},
    });
    if let (Some(base), Some(more)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in more {
            base.insert(k.clone(), v.clone());
        }
    }
    json!({
        "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
        "metadata": {"name": name, "namespace": "data", "labels": {
            OPT_IN.0: OPT_IN.1, "sparkplane.dev/team": "data-eng", "sparkplane.dev/cost-center": "cc-42"}},
        "spec": spec,
    })
}

async fn create(api: &Api<DynamicObject>, object: Value) {
    let object: DynamicObject = serde_json::from_value(object).expect("an object");
    api.create(&PostParams::default(), &object).await.expect("created");
}

fn kubeflow_on(settings: &mut sparkplane_operator::OperatorSettings) {
    settings.kubeflow = Some(KubeflowSettings::default());
}

/// Every value `state` took on the SparkApplication, from the watch's point
/// of view: polled until `done`, each change recorded once.
pub(crate) async fn follow(
    fake: &FakeApiServer,
    kind: &str,
    name: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> (Value, Vec<String>) {
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let object = fake.object("sparkoperator.k8s.io/v1beta2", kind, Some("data"), name).unwrap_or(Value::Null);
        let state = object["status"]["applicationState"]["state"].as_str().unwrap_or("").to_owned();
        if object["status"].is_object() && seen.last() != Some(&state) {
            seen.push(state);
        }
        if done(&object["status"]) {
            return (object, seen);
        }
        assert!(started.elapsed() < limit, "{name} did not get there in {limit:?}; status now: {:#}", object["status"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn state_of(status: &Value) -> &str {
    status["applicationState"]["state"].as_str().unwrap_or("")
}

fn events_of(fake: &FakeApiServer, name: &str) -> Vec<(String, String, String)> {
    fake.objects()
        .iter()
        .filter(|o| o["kind"] == "Event" && o["regarding"]["name"] == name)
        .map(|o| {
            (
                o["type"].as_str().unwrap_or_default().to_owned(),
                o["reason"].as_str().unwrap_or_default().to_owned(),
                o["note"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_runs_to_completed_with_kubeflows_status() {
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(&fake, 200, "Succeeded", "done\n");
    let operator = Operator::start(&fake, kubeflow_on);
    create(&apps(&fake), application("pi", json!({}))).await;
    let (done, states) =
        follow(&fake, "SparkApplication", "pi", Duration::from_secs(30), |s| state_of(s) == "COMPLETED").await;
    let status = &done["status"];
    assert_valid_status(CRDS[0], status);
    assert_eq!(states.last().map(String::as_str), Some("COMPLETED"));
    assert!(states.iter().all(|s| ["", "SUBMITTED", "RUNNING", "COMPLETED"].contains(&s.as_str())), "{states:?}");
    assert_eq!(status["executionAttempts"], 1);
    assert_eq!(status["submissionAttempts"], 1);
    for field in ["lastSubmissionAttemptTime", "terminationTime", "sparkApplicationId", "submissionID"] {
        assert!(status[field].is_string(), "{field}: {status:#}");
    }
    let driver = status["driverInfo"]["podName"].as_str().expect("the driver pod").to_owned();
    let pod = fake.object("v1", "Pod", Some("data"), &driver).expect("the driver pod exists");
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].as_str(), owner["name"].as_str(), owner["apiVersion"].as_str()),
        (Some("SparkApplication"), Some("pi"), Some("sparkoperator.k8s.io/v1beta2")),
        "the driver belongs to the SparkApplication"
    );
    assert_eq!(driver_creates(&fake), 1);
    let reasons: BTreeSet<String> = events_of(&fake, "pi").into_iter().map(|(_, r, _)| r).collect();
    assert!(reasons.contains("Submitted") && reasons.contains("Succeeded"), "{reasons:?}");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_without_the_opt_in_is_never_touched() {
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(&fake, 100, "Succeeded", "done\n");
    let operator = Operator::start(&fake, kubeflow_on);
    let mut theirs = application("theirs", json!({}));
    theirs["metadata"]["labels"].as_object_mut().map(|l| l.remove(OPT_IN.0));
    create(&apps(&fake), theirs).await;
    create(&apps(&fake), application("ours", json!({}))).await;
    follow(&fake, "SparkApplication", "ours", Duration::from_secs(30), |s| state_of(s) == "COMPLETED").await;
    let theirs =
        fake.object("sparkoperator.k8s.io/v1beta2", "SparkApplication", Some("data"), "theirs").expect("stored");
    assert!(theirs["status"].is_null(), "no status written: {:#}", theirs["status"]);
    assert!(events_of(&fake, "theirs").is_empty());
    let listed: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("sparkapplications") && r.method == "GET")
        .map(|r| r.query.get("labelSelector").cloned().unwrap_or_default())
        .collect();
    assert!(!listed.is_empty() && listed.iter().all(|s| s == "sparkplane.dev/operator=sparkplane"), "{listed:?}");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_application_ends_failed_after_its_retries_as_kubeflow_describes() {
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(
        &fake,
        150,
        "Failed",
        "Exception in thread \"main\" java.nio.file.NoSuchFileException: /non-existent.jar\n",
    );
    let operator = Operator::start(&fake, kubeflow_on);
    // Kubeflow's test/e2e/bad_examples/fail-application.yaml, opted in.
    let spec = json!({
        "mainClass": "non-existent", "mainApplicationFile": "local:///non-existent.jar",
        "restartPolicy": {"type": "OnFailure", "onFailureRetries": 3, "onFailureRetryInterval": 1},
    });
    create(&apps(&fake), application("fail-application", spec)).await;
    let (done, states) =
        follow(&fake, "SparkApplication", "fail-application", Duration::from_secs(60), |s| state_of(s) == "FAILED")
            .await;
    let status = &done["status"];
    assert_valid_status(CRDS[0], status);
    assert_eq!(status["executionAttempts"], 4, "onFailureRetries + 1: {status:#}");
    let message = status["applicationState"]["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("driver container failed"), "{message}");
    let allowed = ["", "SUBMITTED", "RUNNING", "FAILING", "PENDING_RERUN"];
    assert!(states[..states.len() - 1].iter().all(|s| allowed.contains(&s.as_str())), "{states:?}");
    assert_eq!(states.iter().filter(|s| *s == "FAILING").count(), 3, "three retries: {states:?}");
    assert_eq!(driver_creates(&fake), 4);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_that_cannot_be_converted_gets_an_event_and_a_condition_and_nothing_is_submitted() {
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(&fake, 100, "Succeeded", "done\n");
    let operator = Operator::start(&fake, kubeflow_on);
    // Admitted by Kubeflow's schema (a memory is a string there), unreadable as a size.
    create(&apps(&fake), application("bad", json!({"driver": {"cores": 1, "memory": "lots"}}))).await;
    let (done, _) =
        follow(&fake, "SparkApplication", "bad", Duration::from_secs(20), |s| state_of(s) == "FAILED").await;
    assert_valid_status(CRDS[0], &done["status"]);
    let message = done["status"]["applicationState"]["errorMessage"].as_str().unwrap_or_default();
    assert!(message.starts_with("InvalidSpec: ") && message.contains("spec.driver.memory"), "{message}");
    let conditions: Vec<Value> = serde_json::from_str(
        done["metadata"]["annotations"]["sparkplane.dev/conditions"].as_str().expect("the conditions annotation"),
    )
    .expect("a JSON list");
    assert!(
        conditions
            .iter()
            .any(|c| c["field"] == "spec.driver.memory" && c["type"] == "Converted" && c["status"] == "False"),
        "{conditions:#?}"
    );
    let events = events_of(&fake, "bad");
    assert!(events.iter().any(|(t, _, note)| t == "Warning" && note.contains("spec.driver.memory")), "{events:?}");
    assert_eq!(driver_creates(&fake), 0, "nothing submitted");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_sparkplane_cannot_honour_is_a_warning_and_a_condition_and_the_run_goes_on() {
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(&fake, 100, "Succeeded", "done\n");
    let operator = Operator::start(&fake, kubeflow_on);
    let spec = json!({"driver": {"cores": 1, "memory": "512m", "serviceAccount": "spark", "hostNetwork": true}});
    create(&apps(&fake), application("host-net", spec)).await;
    let (done, _) =
        follow(&fake, "SparkApplication", "host-net", Duration::from_secs(30), |s| state_of(s) == "COMPLETED").await;
    let conditions: Vec<Value> = serde_json::from_str(
        done["metadata"]["annotations"]["sparkplane.dev/conditions"].as_str().expect("annotation"),
    )
    .expect("JSON");
    assert!(
        conditions.iter().any(|c| c["field"] == "spec.driver.hostNetwork" && c["type"] == "FieldNotHonoured"),
        "{conditions:#?}"
    );
    let events = events_of(&fake, "host-net");
    assert!(
        events
            .iter()
            .any(|(t, r, note)| t == "Warning" && r == "FieldNotHonoured" && note.contains("spec.driver.hostNetwork")),
        "{events:?}"
    );
    assert_eq!(driver_creates(&fake), 1);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_write_keeps_to_kubeflows_schema_and_labels_alone() {
    // The opt-in label can be removed and the status stays (an undo loses nothing).
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(&fake, 100, "Succeeded", "done\n");
    let operator = Operator::start(&fake, kubeflow_on);
    create(&apps(&fake), application("pi", json!({}))).await;
    let (done, _) =
        follow(&fake, "SparkApplication", "pi", Duration::from_secs(30), |s| state_of(s) == "COMPLETED").await;
    let patch = json!({"metadata": {"labels": {OPT_IN.0: null}}});
    apps(&fake).patch("pi", &PatchParams::default(), &Patch::Merge(patch)).await.expect("label removed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = fake.object("sparkoperator.k8s.io/v1beta2", "SparkApplication", Some("data"), "pi").expect("stored");
    assert_eq!(after["status"], done["status"], "the status is the application's, whoever serves it");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_with_missed_runs_starts_one_run_for_the_latest_tick_and_keeps_its_name() {
    let fake = FakeApiServer::start().expect("fake");
    install_kubeflow_crds(&fake);
    drivers_end(&fake, 100, "Succeeded", "done\n");
    // Kubeflow's spark-pi-scheduled example (every 5 minutes there; every minute here), whose
    // operator last ran it 5 minutes ago: the ticks since were missed while no operator ran.
    let now = jiff::Timestamp::now();
    let last = now.checked_sub(jiff::SignedDuration::from_mins(5)).expect("time");
    let last = jiff::Timestamp::from_second(last.as_second() / 60 * 60).expect("a minute");
    let template = application("unused", json!({}))["spec"].clone();
    let scheduled = json!({
        "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "ScheduledSparkApplication",
        "metadata": {"name": "spark-pi-scheduled", "namespace": "data", "labels": {
            OPT_IN.0: OPT_IN.1, "sparkplane.dev/team": "data-eng", "sparkplane.dev/cost-center": "cc-42"}},
        "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Allow", "template": template},
    });
    create(&schedules(&fake), scheduled).await;
    // Its status as the operator that served it last wrote it, through the status subresource.
    let status = json!({"status": {
        "scheduleState": "Scheduled",
        "lastRun": sparkplane_lifecycle::rfc3339(last),
        "lastRunName": format!("spark-pi-scheduled-{}", last.as_second() / 60),
        "nextRun": sparkplane_lifecycle::rfc3339(last.checked_add(jiff::SignedDuration::from_mins(1)).expect("time")),
    }});
    schedules(&fake)
        .patch_status("spark-pi-scheduled", &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("the status is written");
    let operator = Operator::start(&fake, kubeflow_on);
    let (done, _) = follow(&fake, "ScheduledSparkApplication", "spark-pi-scheduled", Duration::from_secs(40), |s| {
        s["pastSuccessfulRunNames"].as_array().is_some_and(|n| !n.is_empty())
    })
    .await;
    let status = &done["status"];
    assert_valid_status(CRDS[1], status);
    let latest_missed = jiff::Timestamp::from_second(now.as_second() / 60 * 60).expect("a minute");
    let run = format!("spark-pi-scheduled-{}", latest_missed.as_second() / 60);
    // Runs for the missed ticks: one, the latest's (a tick that came during the test may have started another).
    let runs: Vec<String> = fake
        .objects()
        .iter()
        .filter(|o| {
            o["kind"] == "SparkApplication"
                && o["metadata"]["labels"]["sparkoperator.k8s.io/scheduled-app-name"] == "spark-pi-scheduled"
        })
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let minute = |name: &str| name.rsplit('-').next().and_then(|m| m.parse::<i64>().ok()).unwrap_or(0);
    let for_missed: Vec<&String> = runs.iter().filter(|r| minute(r) <= latest_missed.as_second() / 60).collect();
    assert_eq!(for_missed, [&run], "one run for the missed ticks: {runs:?}");
    assert_eq!(status["pastSuccessfulRunNames"][0], run.as_str(), "{status:#}");
    assert!(status["pastFailedRunNames"].is_null(), "{status:#}");
    assert_eq!(status["scheduleState"], "Scheduled");
    let last_run_name = status["lastRunName"].as_str().unwrap_or_default();
    assert!(runs.iter().any(|r| r == last_run_name) && minute(last_run_name) >= minute(&run), "{status:#}");
    let last_run = status["lastRun"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).expect("lastRun");
    let next_run = status["nextRun"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()).expect("nextRun");
    assert_eq!(next_run.as_second() - last_run.as_second(), 60, "{status:#}");
    // The run is a SparkApplication of the template, owned by the schedule, served like any other.
    let app = fake.object("sparkoperator.k8s.io/v1beta2", "SparkApplication", Some("data"), &run).expect("the run");
    assert_eq!(app["metadata"]["ownerReferences"][0]["kind"], "ScheduledSparkApplication");
    assert_eq!(app["metadata"]["labels"][OPT_IN.0], OPT_IN.1, "the schedule's labels come along, the opt-in too");
    assert_eq!(app["status"]["applicationState"]["state"], "COMPLETED");
    assert_eq!(app["spec"]["mainClass"], "org.apache.spark.examples.SparkPi");
    operator.stop().await;
}
