//! Two operators on one simulated cluster with Kubeflow's own v1beta2 CRDs:
//! sparkplane's (`sparkplane operator --kubeflow`, the real binary) and a
//! stand-in for the Kubeflow Spark Operator written in this test.
//!
//! The stand-in is no Kubeflow code: it models a Kubeflow operator set up to
//! skip what sparkplane serves, by serving only SparkApplications WITHOUT the
//! opt-in label `sparkplane.dev/operator=sparkplane` (Kubeflow's own
//! controller skips by namespace only; docs/migrating-from-kubeflow.md). It
//! does what Kubeflow's controller does for an application that succeeds, as
//! far as the API server sees it: it creates a driver pod owned by the
//! application and labelled as Kubeflow's are, and writes the status in
//! Kubeflow's shape (`SUBMITTED`, `RUNNING`, `COMPLETED`, a UUID
//! `submissionID`, the web UI fields) as the pod goes. It sends its own
//! User-Agent, so the API server's request log tells its writes from
//! sparkplane's.
//!
//! Shown: no application is written by both operators (status writes and
//! driver pod creates per application, by client); sparkplane never names an
//! application it does not serve in any request; moving an application that
//! ended under the stand-in with `migrate kubeflow --apply` and back with
//! `--undo`, and one that ended under sparkplane the other way round, leaves
//! each one's status exactly as it was, with no second run.

use crate::kubeflow_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kubeflow_support::{CRD_FILES, KubeflowCluster, repo, state, status_errors};
use serde_json::{Value, json};
use sparkplane_fakekube::RecordedRequest;

const STAND_IN: &str = "kubeflow-stand-in/0.1";
const APPS: &str = "/apis/sparkoperator.k8s.io/v1beta2/namespaces/default/sparkapplications";
const OPT_IN: &str = "sparkplane.dev/operator";

/// The stand-in Kubeflow operator: polls the SparkApplications without the
/// opt-in label and moves each along, until dropped.
struct StandIn {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl StandIn {
    fn start(url: String) -> StandIn {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let mut serial = 0u32;
            while !flag.load(Ordering::SeqCst) {
                let list = call(&agent, "GET", &format!("{url}{APPS}?labelSelector={OPT_IN}!%3Dsparkplane"), None);
                for app in list["items"].as_array().cloned().unwrap_or_default() {
                    serial += 1;
                    step(&agent, &url, &app, serial);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        StandIn { stop, thread: Some(thread) }
    }
}

/// One request from the stand-in; the answer's JSON (Null when none).
fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<(&str, &Value)>) -> Value {
    let answer = match (method, body) {
        ("GET", _) => agent.get(url).header("User-Agent", STAND_IN).call(),
        ("POST", Some((kind, body))) => {
            agent.post(url).header("User-Agent", STAND_IN).header("Content-Type", kind).send(body.to_string())
        }
        ("PATCH", Some((kind, body))) => {
            agent.patch(url).header("User-Agent", STAND_IN).header("Content-Type", kind).send(body.to_string())
        }
        _ => panic!("the stand-in sends no {method} without a body"),
    };
    match answer {
        Ok(mut response) => response.body_mut().read_json::<Value>().unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What Kubeflow's controller does next for `app`, as the API server sees it.
fn step(agent: &ureq::Agent, url: &str, app: &Value, serial: u32) {
    let name = app["metadata"]["name"].as_str().unwrap_or_default();
    let status_url = format!("{url}{APPS}/{name}/status");
    let merge = "application/merge-patch+json";
    let driver = format!("{name}-driver");
    match state(app) {
        "" => {
            let submission = format!("6f1c2a9e-0000-4000-8000-{serial:012x}");
            let pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": driver, "namespace": "default",
                    "labels": {"spark-role": "driver", "spark-app-name": name,
                        "sparkoperator.k8s.io/app-name": name,
                        "sparkoperator.k8s.io/launched-by-spark-operator": "true",
                        "sparkoperator.k8s.io/submission-id": submission},
                    "ownerReferences": [{"apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
                        "name": name, "uid": app["metadata"]["uid"], "controller": true}]},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "spark-kubernetes-driver",
                    "image": app["spec"]["image"]}]},
            });
            call(agent, "POST", &format!("{url}/api/v1/namespaces/default/pods"), Some(("application/json", &pod)));
            let status = json!({"status": {
                "applicationState": {"state": "SUBMITTED"},
                "driverInfo": {"podName": driver, "webUIServiceName": format!("{name}-ui-svc"), "webUIPort": 4040,
                    "webUIAddress": "10.96.0.17:4040"},
                "sparkApplicationId": format!("spark-{serial:032x}"),
                "submissionID": submission,
                "lastSubmissionAttemptTime": now(),
                "submissionAttempts": 1, "executionAttempts": 1,
            }});
            call(agent, "PATCH", &status_url, Some((merge, &status)));
        }
        "SUBMITTED" | "RUNNING" => {
            let pod = call(agent, "GET", &format!("{url}/api/v1/namespaces/default/pods/{driver}"), None);
            let next = match pod["status"]["phase"].as_str() {
                Some("Running") if state(app) == "SUBMITTED" => json!({"applicationState": {"state": "RUNNING"}}),
                Some("Succeeded") => json!({"applicationState": {"state": "COMPLETED"}, "terminationTime": now()}),
                Some("Failed") => json!({"applicationState": {"state": "FAILED",
                    "errorMessage": "driver container failed with ExitCode: 1, Reason: Error"}, "terminationTime": now()}),
                _ => return,
            };
            call(agent, "PATCH", &status_url, Some((merge, &json!({ "status": next }))));
        }
        // Ended: Kubeflow's controller leaves it (until its time to live, none here).
        _ => {}
    }
}

/// Writes Kubeflow's spark-pi example as application `name`, labelled `labels`, and applies it with kubectl.
fn apply_app(cluster: &KubeflowCluster, name: &str, labels: Value) {
    let path = repo().join("crates/sparkplane/tests/data/kubeflow-examples/spark-pi.yaml");
    let text = std::fs::read_to_string(&path).expect("the example");
    let docs = sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new("spark-pi.yaml", text))
        .expect("the example parses");
    let mut app = docs.iter().map(|d| d.to_json()).find(|d| d["kind"] == "SparkApplication").expect("an application");
    app["metadata"]["name"] = json!(name);
    app["metadata"]["labels"] = labels;
    let file = cluster.dir.path().join(format!("{name}.json"));
    std::fs::write(&file, app.to_string()).expect("write");
    let out = cluster.kubectl(&["apply", "-f", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "kubectl apply {name}: {}", String::from_utf8_lossy(&out.stderr));
}

fn completed(cluster: &KubeflowCluster, name: &str) -> Value {
    cluster.wait("SparkApplication", "default", name, Duration::from_secs(90), |a| state(a) == "COMPLETED")
}

/// `migrate kubeflow` of the applications labelled `app=<name>`, expecting `outcome` for it.
fn migrate(cluster: &KubeflowCluster, name: &str, flag: &str, outcome: &str) {
    let selector = format!("app={name}");
    let mut args = vec!["migrate", "kubeflow", "-n", "default", "-l", &selector, flag, "-o", "json"];
    if flag == "--apply" {
        args.extend(["--team", "data-eng", "--cost-center", "cc-42"]);
    }
    let run = cluster.sparkplane(&args);
    assert_eq!(run.code, Some(0), "migrate {flag}: {}{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let items = report["items"].as_array().expect("items");
    assert!(items.len() == 1 && items[0]["name"] == name && items[0]["outcome"] == outcome, "{report:#}");
}

/// Who a request came from: the stand-in, kubectl, or sparkplane (the
/// operator and the `migrate` command: kube-rs sends no User-Agent).
fn client(request: &RecordedRequest) -> &'static str {
    match request.user_agent.as_deref() {
        Some(agent) if agent == STAND_IN => "kubeflow-stand-in",
        Some(agent) if agent.starts_with("kubectl") => "kubectl",
        _ => "sparkplane",
    }
}

/// Per application: which clients wrote its status, and which created a driver pod it owns.
fn writers(requests: &[RecordedRequest]) -> BTreeMap<String, (BTreeSet<&'static str>, BTreeSet<&'static str>)> {
    let mut out: BTreeMap<String, (BTreeSet<&'static str>, BTreeSet<&'static str>)> = BTreeMap::new();
    for r in requests.iter().filter(|r| matches!(r.method.as_str(), "PATCH" | "PUT" | "POST")) {
        if let Some(name) = r.path.strip_prefix(&format!("{APPS}/")).and_then(|p| p.strip_suffix("/status")) {
            out.entry(name.to_owned()).or_default().0.insert(client(r));
        }
        let body = r.body.as_ref().unwrap_or(&Value::Null);
        let owner = &body["metadata"]["ownerReferences"][0];
        if r.method == "POST" && r.path.ends_with("/pods") && owner["kind"] == "SparkApplication" {
            let name = owner["name"].as_str().unwrap_or_default().to_owned();
            out.entry(name).or_default().1.insert(client(r));
        }
    }
    out
}

/// Every path sparkplane sent that names the application `name`.
fn sparkplane_requests_naming(requests: &[RecordedRequest], name: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| client(r) == "sparkplane")
        .filter(|r| r.path == format!("{APPS}/{name}") || r.path.starts_with(&format!("{APPS}/{name}/")))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Driver pods owned by the application `name`.
fn drivers_of(cluster: &KubeflowCluster, name: &str) -> Vec<String> {
    cluster
        .fake
        .objects()
        .iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "driver")
        .filter(|o| o["metadata"]["ownerReferences"][0]["name"] == name)
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn two_operators_never_serve_one_application_and_a_move_and_its_undo_lose_no_status() {
    let cluster = KubeflowCluster::start(300);
    let _stand_in = StandIn::start(cluster.fake.url());
    let _operator = cluster.operator("default");
    let ours = |app: &str| {
        json!({"app": app, OPT_IN: "sparkplane", "sparkplane.dev/team": "data-eng",
        "sparkplane.dev/cost-center": "cc-42"})
    };

    // Two applications Kubeflow serves and one a team already moved, side by side.
    apply_app(&cluster, "pi-kf-a", json!({"app": "pi-kf-a"}));
    apply_app(&cluster, "pi-kf-b", json!({"app": "pi-kf-b"}));
    apply_app(&cluster, "pi-sp-c", ours("pi-sp-c"));
    let mut ended = BTreeMap::new();
    for name in ["pi-kf-a", "pi-kf-b", "pi-sp-c"] {
        let app = completed(&cluster, name);
        let errors = status_errors(CRD_FILES[0], &app["status"]);
        assert!(errors.is_empty(), "{name}: the status fails Kubeflow's schema: {errors:?}");
        ended.insert(name, app["status"].clone());
    }
    assert!(
        ended["pi-kf-b"]["submissionID"].as_str().is_some_and(|id| id.starts_with("6f1c2a9e-")),
        "the stand-in ran pi-kf-b: {:#}",
        ended["pi-kf-b"]
    );
    assert_eq!(ended["pi-kf-b"]["driverInfo"]["webUIServiceName"], "pi-kf-b-ui-svc");

    // pi-kf-b, ended under the stand-in, moves to sparkplane. The barrier: a
    // new application sparkplane serves, created after the move, run to its end.
    migrate(&cluster, "pi-kf-b", "--apply", "moved");
    apply_app(&cluster, "pi-sp-barrier-1", ours("pi-sp-barrier-1"));
    completed(&cluster, "pi-sp-barrier-1");
    let moved = cluster.object("SparkApplication", "default", "pi-kf-b").expect("stored");
    assert_eq!(moved["metadata"]["labels"][OPT_IN], "sparkplane");
    assert_eq!(moved["status"], ended["pi-kf-b"], "moved: the status stays as the stand-in wrote it");

    // ... and back.
    migrate(&cluster, "pi-kf-b", "--undo", "returned");
    apply_app(&cluster, "pi-kf-barrier-2", json!({"app": "pi-kf-barrier-2"}));
    completed(&cluster, "pi-kf-barrier-2");
    let back = cluster.object("SparkApplication", "default", "pi-kf-b").expect("stored");
    assert!(back["metadata"]["labels"].get(OPT_IN).is_none(), "{:#}", back["metadata"]);
    assert_eq!(back["status"], ended["pi-kf-b"], "moved back: the status is the same");

    // pi-sp-c, ended under sparkplane, goes to the stand-in and comes back.
    migrate(&cluster, "pi-sp-c", "--undo", "returned");
    apply_app(&cluster, "pi-kf-barrier-3", json!({"app": "pi-kf-barrier-3"}));
    completed(&cluster, "pi-kf-barrier-3");
    assert_eq!(cluster.object("SparkApplication", "default", "pi-sp-c").expect("stored")["status"], ended["pi-sp-c"]);
    migrate(&cluster, "pi-sp-c", "--apply", "moved");
    apply_app(&cluster, "pi-sp-barrier-4", ours("pi-sp-barrier-4"));
    completed(&cluster, "pi-sp-barrier-4");
    assert_eq!(
        cluster.object("SparkApplication", "default", "pi-sp-c").expect("stored")["status"],
        ended["pi-sp-c"],
        "there and back: the status sparkplane wrote is the same"
    );

    // Who wrote what, from the API server's request log.
    let requests = cluster.fake.requests();
    let by_app = writers(&requests);
    let expect = |status: &[&'static str], pods: &[&'static str]| {
        (status.iter().copied().collect::<BTreeSet<_>>(), pods.iter().copied().collect::<BTreeSet<_>>())
    };
    let kubeflow = expect(&["kubeflow-stand-in"], &["kubeflow-stand-in"]);
    let sparkplane = expect(&["sparkplane"], &["sparkplane"]);
    let wanted: BTreeMap<String, _> = [
        ("pi-kf-a", &kubeflow),
        ("pi-kf-b", &kubeflow),
        ("pi-kf-barrier-2", &kubeflow),
        ("pi-kf-barrier-3", &kubeflow),
        ("pi-sp-barrier-1", &sparkplane),
        ("pi-sp-barrier-4", &sparkplane),
        ("pi-sp-c", &sparkplane),
    ]
    .into_iter()
    .map(|(name, w)| (name.to_owned(), w.clone()))
    .collect();
    assert_eq!(by_app, wanted, "status writers and driver creators per application");
    for name in ["pi-kf-a", "pi-kf-b", "pi-sp-c"] {
        assert_eq!(drivers_of(&cluster, name).len(), 1, "{name} ran once: {:?}", drivers_of(&cluster, name));
    }
    // sparkplane never named an application it did not serve. pi-kf-b only in
    // metadata patches: the labels of --apply and --undo, and while it was
    // served the operator's conditions annotation (the fields of Kubeflow's
    // example it does not honour) — never its status, never a driver.
    assert_eq!(sparkplane_requests_naming(&requests, "pi-kf-a"), Vec::<String>::new());
    assert_eq!(sparkplane_requests_naming(&requests, "pi-kf-barrier-2"), Vec::<String>::new());
    let b = sparkplane_requests_naming(&requests, "pi-kf-b");
    assert!(b.iter().all(|r| r == &format!("PATCH {APPS}/pi-kf-b")), "{b:?}");
    let patches: Vec<&Value> = requests
        .iter()
        .filter(|r| client(r) == "sparkplane" && r.path == format!("{APPS}/pi-kf-b"))
        .filter_map(|r| r.body.as_ref())
        .collect();
    let label_patches = patches.iter().filter(|p| p["metadata"]["labels"].is_object()).count();
    assert_eq!(label_patches, 2, "--apply and --undo: {patches:?}");
    for patch in &patches {
        let metadata = patch["metadata"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>());
        let annotations = patch["metadata"]["annotations"].as_object().map(|a| a.keys().cloned().collect::<Vec<_>>());
        let allowed = patch.as_object().is_some_and(|p| p.len() == 1)
            && (metadata == Some(vec!["labels".to_owned()])
                || (metadata == Some(vec!["annotations".to_owned()])
                    && annotations == Some(vec!["sparkplane.dev/conditions".to_owned()])));
        assert!(allowed, "a patch of pi-kf-b beyond labels and the conditions record: {patch}");
    }
    // Every list or watch of SparkApplications the operator sent selects the opt-in.
    let unselected: Vec<String> = requests
        .iter()
        .filter(|r| client(r) == "sparkplane" && r.method == "GET" && r.path == APPS)
        .filter(|r| r.query.get("watch").is_some_and(|w| w == "true" || w == "1"))
        .filter(|r| r.query.get("labelSelector").map(String::as_str) != Some("sparkplane.dev/operator=sparkplane"))
        .map(|r| format!("{:?}", r.query))
        .collect();
    assert!(unselected.is_empty(), "watches without the opt-in selector: {unselected:?}");
}
