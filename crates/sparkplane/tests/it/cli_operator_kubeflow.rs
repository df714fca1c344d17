//! Kubeflow's own examples (tests/data/kubeflow-examples, copied unchanged
//! from kubeflow/spark-operator; see its README) on the simulated cluster
//! with Kubeflow's own CRDs installed: each file is applied as it is with
//! kubectl, handed to sparkplane's operator (`operator --kubeflow`) with
//! `migrate kubeflow --apply`, and served: the driver objects (for the
//! SparkConnect example, the Connect server's) the operator creates are the
//! ones `sparkplane render` makes for the SparkJob `import kubeflow` converts
//! the live resource into, and the status it ends with validates against
//! Kubeflow's CRD schema. One test per example.

use crate::kubeflow_support;

use std::time::Duration;

use kubeflow_support::{CRD_FILES, KubeflowCluster, contained, repo, state, status_errors};
use serde_json::Value;
use sparkplane_fakekube::{Cluster, DriverRun, Node};

const EXAMPLES: &str = "crates/sparkplane/tests/data/kubeflow-examples";

/// The SparkApplications (or ScheduledSparkApplications) a file holds, by name.
fn names_of(example: &str, kind: &str) -> Vec<String> {
    let path = repo().join(EXAMPLES).join(example);
    let text = std::fs::read_to_string(&path).expect("the example");
    sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new(example, text))
        .expect("the example parses")
        .iter()
        .map(|d| d.to_json())
        .filter(|d| d["kind"] == kind)
        .map(|d| d["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Applies `example` unchanged and moves what it holds to sparkplane.
fn apply_and_move(cluster: &KubeflowCluster, example: &str) {
    let path = repo().join(EXAMPLES).join(example);
    let out = cluster.kubectl(&["apply", "-f", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "kubectl apply {example}: {}", String::from_utf8_lossy(&out.stderr));
    let moved = cluster.sparkplane(&[
        "migrate",
        "kubeflow",
        "-n",
        "default",
        "--apply",
        "--team",
        "data-eng",
        "--cost-center",
        "cc-42",
        "-o",
        "json",
    ]);
    assert_eq!(moved.code, Some(0), "migrate --apply: {}{}", moved.stdout, moved.stderr);
    let report: Value = serde_json::from_str(&moved.stdout).expect("JSON");
    let items = report["items"].as_array().expect("items");
    assert!(!items.is_empty() && items.iter().all(|i| i["outcome"] == "moved"), "{report:#}");
}

/// The native objects `render` makes for the SparkJob that `import kubeflow`
/// converts the live `kind` `name` into.
fn rendered_from_live(cluster: &KubeflowCluster, kind: &str, name: &str) -> Vec<Value> {
    let live = cluster.kubectl(&["get", kind, name, "-n", "default", "-o", "yaml"]);
    assert!(live.status.success(), "kubectl get: {}", String::from_utf8_lossy(&live.stderr));
    let live_file = cluster.dir.path().join(format!("{name}.live.yaml"));
    std::fs::write(&live_file, &live.stdout).expect("write");
    let job_file = cluster.dir.path().join(format!("{name}.sparkjob.yaml"));
    let imported = cluster.sparkplane(&[
        "import",
        "kubeflow",
        live_file.to_str().expect("utf-8"),
        "--out",
        job_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(imported.code, Some(0), "import the live object: {}", imported.stderr);
    let rendered = cluster.sparkplane(&["render", job_file.to_str().expect("utf-8")]);
    assert_eq!(rendered.code, Some(0), "render: {}", rendered.stderr);
    sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new("render", rendered.stdout))
        .expect("a YAML stream")
        .iter()
        .map(|d| d.to_json())
        .collect()
}

/// Every rendered object exists as rendered (the API server's additions aside),
/// and the driver pod belongs to the application.
fn assert_same_objects(cluster: &KubeflowCluster, expected: &[Value], owner_kind: &str, owner: &str) {
    assert_same_objects_owning(cluster, expected, "Pod", owner_kind, owner);
}

/// Every rendered object exists as rendered (the API server's additions
/// aside), and the `owned` one (the driver pod, a server's StatefulSet)
/// belongs to the Kubeflow resource.
fn assert_same_objects_owning(
    cluster: &KubeflowCluster,
    expected: &[Value],
    owned: &str,
    owner_kind: &str,
    owner: &str,
) {
    assert!(expected.iter().any(|o| o["kind"] == owned), "a {owned} is rendered");
    for object in expected {
        let (api_version, kind) = (object["apiVersion"].as_str().unwrap_or(""), object["kind"].as_str().unwrap_or(""));
        let name = object["metadata"]["name"].as_str().unwrap_or("");
        let actual = cluster.fake.object(api_version, kind, Some("default"), name).unwrap_or_else(|| {
            let made: Vec<Value> = cluster.fake.objects().into_iter().filter(|o| o["kind"] == kind).collect();
            let names: Vec<&str> = made.iter().filter_map(|o| o["metadata"]["name"].as_str()).collect();
            panic!(
                "the operator created no {kind} {name}; there are {names:?}\nrendered:\n{object:#}\nmade:\n{made:#?}"
            )
        });
        if let Err(difference) = contained(object, &actual, kind) {
            panic!("{kind} {name} differs from sparkplane's render: {difference}");
        }
        if kind == owned {
            let reference = &actual["metadata"]["ownerReferences"][0];
            assert_eq!((reference["kind"].as_str(), reference["name"].as_str()), (Some(owner_kind), Some(owner)));
        }
    }
}

fn served_like_native(example: &str) {
    let cluster = KubeflowCluster::start(300);
    let _operator = cluster.operator("default");
    apply_and_move(&cluster, example);
    let names = names_of(example, "SparkApplication");
    assert_eq!(names.len(), 1, "{example}: one application");
    let done =
        cluster.wait("SparkApplication", "default", &names[0], Duration::from_secs(90), |a| state(a) == "COMPLETED");
    let errors = status_errors(CRD_FILES[0], &done["status"]);
    assert!(errors.is_empty(), "{example}: the status fails Kubeflow's schema: {errors:?}\n{:#}", done["status"]);
    assert_eq!(done["status"]["executionAttempts"], 1);
    assert!(done["status"]["driverInfo"]["podName"].is_string(), "{:#}", done["status"]);
    let expected = rendered_from_live(&cluster, "sparkapplication", &names[0]);
    assert_same_objects(&cluster, &expected, "SparkApplication", &names[0]);
}

macro_rules! example_served {
    ($($test:ident => $file:literal,)*) => {$(
        #[test]
        fn $test() {
            served_like_native($file);
        }
    )*};
}

example_served! {
    example_spark_pi => "spark-pi.yaml",
    example_spark_pi_configmap => "spark-pi-configmap.yaml",
    example_spark_pi_custom_resource => "spark-pi-custom-resource.yaml",
    example_spark_pi_dynamic_allocation => "spark-pi-dynamic-allocation.yaml",
    example_spark_pi_emptydir => "spark-pi-emptydir.yaml",
    example_spark_pi_kube_scheduler => "spark-pi-kube-scheduler.yaml",
    example_spark_pi_pod_template => "spark-pi-pod-template.yaml",
    example_spark_pi_prometheus_servlet => "spark-pi-prometheus-servlet.yaml",
    example_spark_pi_python => "spark-pi-python.yaml",
    example_spark_pi_ttl => "spark-pi-ttl.yaml",
    example_spark_pi_volcano => "spark-pi-volcano.yaml",
    example_spark_pi_yunikorn => "spark-pi-yunikorn.yaml",
}

/// The scheduled example runs `@every 3m` (the cron `*/3 * * * *`): moved
/// from an operator that last ran it 10 minutes ago (its status written as
/// that operator left it), sparkplane starts the one run the missed ticks are
/// owed, for the latest tick, a SparkApplication of the template served like
/// any other.
#[test]
fn example_spark_pi_scheduled() {
    let example = "spark-pi-scheduled.yaml";
    let cluster = KubeflowCluster::start(300);
    let path = repo().join(EXAMPLES).join(example);
    let out = cluster.kubectl(&["apply", "-f", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "kubectl apply: {}", String::from_utf8_lossy(&out.stderr));
    let name = names_of(example, "ScheduledSparkApplication").remove(0);
    // Every 3 minutes on the clock; a test that starts just before a tick waits for it, so no tick
    // passes while it runs.
    const PERIOD: i64 = 180;
    let mut now = jiff::Timestamp::now().as_second();
    if now % PERIOD > PERIOD - 20 {
        std::thread::sleep(Duration::from_secs((PERIOD - now % PERIOD + 1).unsigned_abs()));
        now = jiff::Timestamp::now().as_second();
    }
    let last = (now - 600) / PERIOD * PERIOD;
    let at = |s: i64| jiff::Timestamp::from_second(s).expect("time").strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let status = serde_json::json!({"status": {"scheduleState": "Scheduled", "lastRun": at(last), "nextRun": at(last + PERIOD)}});
    let patched = cluster.kubectl(&[
        "patch",
        "scheduledsparkapplication",
        &name,
        "-n",
        "default",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
    assert!(
        patched.status.success(),
        "kubectl patch --subresource=status: {}",
        String::from_utf8_lossy(&patched.stderr)
    );
    let _operator = cluster.operator("default");
    let moved = cluster.sparkplane(&[
        "migrate",
        "kubeflow",
        "-n",
        "default",
        "--apply",
        "--team",
        "data-eng",
        "--cost-center",
        "cc-42",
        "-o",
        "json",
    ]);
    assert_eq!(moved.code, Some(0), "{}{}", moved.stdout, moved.stderr);
    let scheduled = cluster.wait("ScheduledSparkApplication", "default", &name, Duration::from_secs(90), |s| {
        s["status"]["pastSuccessfulRunNames"].as_array().is_some_and(|n| !n.is_empty())
    });
    let errors = status_errors(CRD_FILES[1], &scheduled["status"]);
    assert!(errors.is_empty(), "the status fails Kubeflow's schema: {errors:?}\n{:#}", scheduled["status"]);
    // The missed ticks are owed one run, for the latest tick when the operator decided: on a loaded
    // machine a tick may pass before it does (then that later tick is the latest), but no run is ever
    // made for a tick before `latest_missed` — the ticks missed while the other operator had it.
    let latest_missed = now / PERIOD * PERIOD;
    let tick_of = |run: &str| run.strip_prefix(&format!("{name}-")).and_then(|m| m.parse::<i64>().ok()).map(|m| m * 60);
    let past: Vec<&str> = scheduled["status"]["pastSuccessfulRunNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        past.iter().all(|run| tick_of(run).is_some_and(|t| t >= latest_missed && t % PERIOD == 0)),
        "a run for a tick before the latest missed one ({latest_missed}): {:#}",
        scheduled["status"]
    );
    let run = scheduled["status"]["lastRunName"].as_str().unwrap_or_default().to_owned();
    assert_eq!(past.first().copied(), Some(run.as_str()), "{:#}", scheduled["status"]);
    // `lastRun` moved on from what the other operator wrote to the tick of the run sparkplane started,
    // and `nextRun` is the tick after it or later.
    let run_tick = tick_of(&run).expect("a run named for its tick");
    assert_eq!(scheduled["status"]["lastRun"], at(run_tick).as_str(), "{:#}", scheduled["status"]);
    let next = scheduled["status"]["nextRun"].as_str().unwrap_or_default();
    assert!(next >= at(run_tick + PERIOD).as_str(), "nextRun {next} is before the tick after the last run");
    let expected = rendered_from_live(&cluster, "sparkapplication", &run);
    assert_same_objects(&cluster, &expected, "SparkApplication", &run);
}

/// `spark-pi-prometheus.yaml` is not valid YAML as published (an unquoted
/// `{IMAGE_REGISTRY}` placeholder): kubectl refuses it and nothing is stored.
#[test]
fn example_spark_pi_prometheus_is_refused_by_kubectl_as_published() {
    let cluster = KubeflowCluster::start(300);
    let path = repo().join(EXAMPLES).join("spark-pi-prometheus.yaml");
    let out = cluster.kubectl(&["apply", "-f", path.to_str().expect("utf-8")]);
    assert!(!out.status.success(), "kubectl refuses it");
    assert!(cluster.object("SparkApplication", "default", "spark-pi").is_none());
}

/// A simulated cluster whose server JVMs run until stopped.
fn serving_cluster() -> KubeflowCluster {
    let cluster = KubeflowCluster::start(300);
    cluster.fake.set_cluster(Cluster {
        nodes: (0..4).map(|i| Node::new(&format!("node-{i}"), 64, 256)).collect(),
        default_run: DriverRun::forever(),
        ..Cluster::default()
    });
    cluster
}

/// `sparkconnect/spark-connect.yaml` is a `SparkConnect` (v1alpha1), a
/// Spark Connect server: applied unchanged with Kubeflow's CRD for it,
/// moved, it is served as the Connect server `sparkplane render` makes for
/// the `type: Connect` SparkJob `import kubeflow` converts it into (its
/// StatefulSet owned by the SparkConnect), and its status is Kubeflow's
/// `Ready` with the server's pod and Service, validating against Kubeflow's
/// schema; the fields the conversion does not carry are named in a Warning
/// Event and the conditions annotation.
#[test]
fn example_spark_connect() {
    let cluster = serving_cluster();
    let _operator = cluster.operator("default");
    apply_and_move(&cluster, "sparkconnect/spark-connect.yaml");
    let name = names_of("sparkconnect/spark-connect.yaml", "SparkConnect").remove(0);
    let ready =
        cluster.wait("SparkConnect", "default", &name, Duration::from_secs(90), |c| c["status"]["state"] == "Ready");
    let status = &ready["status"];
    let errors = status_errors(CRD_FILES[2], status);
    assert!(errors.is_empty(), "the status fails Kubeflow's schema: {errors:?}\n{status:#}");
    assert_eq!(status["server"]["podName"], format!("{name}-connect-0"), "{status:#}");
    assert_eq!(status["server"]["serviceName"], format!("{name}-connect"), "{status:#}");
    assert!(status["server"]["podIp"].is_string() && status["startTime"].is_string(), "{status:#}");
    let condition = |kind: &str| {
        status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == kind).cloned().unwrap_or_default()
    };
    assert_eq!(
        (condition("ServerPodReady")["status"].as_str(), condition("ServerPodReady")["reason"].as_str()),
        (Some("True"), Some("ServerPodReady")),
        "{status:#}"
    );
    assert_eq!(condition("sparkplane.dev/Server")["reason"], "Serving", "{status:#}");
    assert_eq!(
        condition("sparkplane.dev/Server")["message"],
        format!("serving at sc://{name}-connect.default.svc:15002"),
        "{status:#}"
    );
    let expected = rendered_from_live(&cluster, "sparkconnect", &name);
    assert_same_objects_owning(&cluster, &expected, "StatefulSet", "SparkConnect", &name);
    // What the conversion does not carry (the example's pod templates set what sparkplane owns) is named.
    let annotations = &ready["metadata"]["annotations"];
    let conditions: Vec<Value> =
        serde_json::from_str(annotations["sparkplane.dev/conditions"].as_str().unwrap_or("[]")).expect("JSON");
    let notes: Vec<String> = cluster
        .fake
        .objects()
        .iter()
        .filter(|o| {
            o["kind"] == "Event" && o["regarding"]["kind"] == "SparkConnect" && o["reason"] == "FieldNotHonoured"
        })
        .filter(|o| o["type"] == "Warning")
        .filter_map(|o| o["note"].as_str().map(str::to_owned))
        .collect();
    assert!(!conditions.is_empty(), "the example's server template sets fields sparkplane owns: {annotations:#}");
    for field in conditions.iter().filter_map(|c| c["field"].as_str()) {
        assert!(notes.iter().any(|n| n.contains(field)), "a Warning Event names {field}: {notes:?}");
    }
}

/// Bad input past the schema: a SparkConnect whose server memory is no
/// quantity (Kubeflow's schema takes any string there) cannot be converted;
/// the operator writes Kubeflow's `Failed` with the field path in its
/// condition, and applies nothing.
#[test]
fn a_spark_connect_that_cannot_be_converted_fails_with_its_field_path_and_nothing_is_applied() {
    let cluster = serving_cluster();
    let _operator = cluster.operator("default");
    let mut server = kubeflow_support::spark_connect("broken", "default");
    server["spec"]["executor"]["memory"] = serde_json::json!("lots");
    let file = cluster.dir.path().join("broken.json");
    std::fs::write(&file, server.to_string()).expect("write");
    let out = cluster.kubectl(&["apply", "-f", file.to_str().expect("utf-8")]);
    assert!(out.status.success(), "the schema takes it: {}", String::from_utf8_lossy(&out.stderr));
    let failed = cluster
        .wait("SparkConnect", "default", "broken", Duration::from_secs(60), |c| c["status"]["state"] == "Failed");
    let errors = status_errors(CRD_FILES[2], &failed["status"]);
    assert!(errors.is_empty(), "{errors:?}");
    let ours = failed["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "sparkplane.dev/Server")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ours["reason"], "InvalidSpec", "{:#}", failed["status"]);
    assert!(ours["message"].as_str().is_some_and(|m| m.contains("spec.executor.memory")), "{:#}", failed["status"]);
    assert!(cluster.fake.objects().iter().all(|o| o["kind"] != "StatefulSet" && o["kind"] != "Pod"), "nothing applied");
}

/// Bad input the API server stops: a SparkApplication that fails Kubeflow's
/// schema (here `spec.type` outside its enum) is refused on apply with the
/// field path, nothing is stored, and the operator (running, opted-in
/// selector) never sees it or submits anything.
#[test]
fn an_application_failing_kubeflows_schema_is_refused_with_its_field_path_and_nothing_runs() {
    let cluster = KubeflowCluster::start(300);
    let _operator = cluster.operator("default");
    let path = repo().join(EXAMPLES).join("spark-pi.yaml");
    let text = std::fs::read_to_string(&path).expect("the example");
    let docs = sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new("spark-pi.yaml", text))
        .expect("the example parses");
    let mut app = docs.iter().map(|d| d.to_json()).find(|d| d["kind"] == "SparkApplication").expect("an application");
    app["metadata"]["labels"] = serde_json::json!({"sparkplane.dev/operator": "sparkplane",
        "sparkplane.dev/team": "data-eng", "sparkplane.dev/cost-center": "cc-42"});
    app["spec"]["type"] = serde_json::json!("Kotlin");
    let file = cluster.dir.path().join("bad.json");
    std::fs::write(&file, app.to_string()).expect("write");
    let out = cluster.kubectl(&["apply", "-f", file.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "refused: {stderr}");
    assert!(stderr.contains("spec.type") && stderr.contains("Kotlin"), "{stderr}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(cluster.object("SparkApplication", "default", "spark-pi").is_none(), "nothing stored");
    assert!(cluster.fake.objects().iter().all(|o| o["kind"] != "Pod"), "nothing submitted");
}
