//! A `type: Connect` SparkJob on the `interactive` preset renders a Spark
//! Connect server (ADR 0039): its objects pass the offline API-server and
//! Pod Security "restricted" checks and Kubernetes' own strict schemas
//! (kubernetes-validate, 1.30 and 1.33), render byte-identically for every target, carry
//! the team's labels, reference the token's Secret without a value, and
//! admit the door (ADR 0095) to the server's UI and nothing else. A job
//! a Connect server cannot be is refused with the exact messages.

use std::path::PathBuf;

use serde_json::Value;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::check::check_objects;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::{parse_single, to_yaml_stream};

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: notebooks
  namespace: analytics
spec:
  team: analytics
  costCenter: cc-7
  preset: interactive
  type: Connect
  image: {repository: registry.example.com/spark/connect, tag: \"4.0.1\"}
  eventLog: {dir: \"s3a://spark-events/analytics\"}
";

fn resolve(text: &str, target: ValidationTarget) -> Result<ResolvedJob, String> {
    let catalog = Catalog::builtin().expect("built-in catalog is valid");
    let job = parse_single(&Source::new("notebooks.yaml", text)).expect("fixture parses");
    load(ResolveRequest { job: &job, job_environment: None, catalog: &catalog, environment: None, sets: &[], target })
        .map_err(|d| d.to_string())
}

fn rendered(text: &str, target: Target) -> Vec<RenderedObject> {
    let resolved = resolve(text, ValidationTarget::Cluster).unwrap_or_else(|e| panic!("resolves:\n{e}"));
    let sized = size_job(&resolved.job.spec);
    render::render(&RenderInput { job: &resolved, sized: &sized }, target)
}

fn find<'a>(objects: &'a [RenderedObject], kind: &str, name: &str) -> &'a Value {
    &objects.iter().find(|o| o.kind == kind && o.name == name).unwrap_or_else(|| panic!("no {kind}/{name}")).body
}

fn args(objects: &[RenderedObject]) -> Vec<String> {
    let container = &find(objects, "StatefulSet", "notebooks-connect")["spec"]["template"]["spec"]["containers"][0];
    serde_json::from_value(container["args"].clone()).expect("args")
}

#[test]
fn a_connect_job_renders_a_server_that_passes_the_checks_the_same_for_every_target() {
    let objects = rendered(JOB, Target::Native);
    let problems = check_objects(&objects);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let text = to_yaml_stream(objects.iter().map(|o| &o.body));
    for target in Target::ALL {
        let again = rendered(JOB, target);
        assert_eq!(to_yaml_stream(again.iter().map(|o| &o.body)), text, "{target:?} renders the same server");
    }
    let kinds: Vec<(&str, &str)> = objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("ServiceAccount", "notebooks-spark"),
            ("Role", "notebooks-spark"),
            ("RoleBinding", "notebooks-spark"),
            ("ConfigMap", "notebooks-connect-pod-templates"),
            ("Service", "notebooks-connect"),
            ("Service", "notebooks-connect-driver"),
            // Kinds `sort_objects` does not rank come last, by name.
            ("StatefulSet", "notebooks-connect"),
            ("NetworkPolicy", "notebooks-connect-clients"),
            ("NetworkPolicy", "notebooks-connect-ui-door"),
            ("NetworkPolicy", "notebooks-spark-peers"),
        ]
    );
    insta::assert_snapshot!("notebooks__connect", text);
}

#[test]
fn the_driver_runs_connects_server_class_in_client_mode_with_the_presets_dynamic_allocation() {
    let objects = rendered(JOB, Target::Native);
    let set = find(&objects, "StatefulSet", "notebooks-connect");
    assert_eq!(set["spec"]["replicas"], 1);
    assert_eq!(set["spec"]["serviceName"], "notebooks-connect-driver");
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], serde_json::json!(["/opt/spark/bin/spark-submit"]));
    let args = args(&objects);
    let head: Vec<&str> = args.iter().take(8).map(String::as_str).collect();
    assert_eq!(
        head,
        [
            "--master",
            "k8s://https://kubernetes.default.svc:443",
            "--deploy-mode",
            "client",
            "--name",
            "notebooks",
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer"
        ]
    );
    assert_eq!(args.last().map(String::as_str), Some("spark-internal"));
    for wanted in [
        "spark.dynamicAllocation.enabled=true",
        "spark.dynamicAllocation.minExecutors=1",
        "spark.dynamicAllocation.maxExecutors=10",
        "spark.dynamicAllocation.shuffleTracking.enabled=true",
        "spark.connect.grpc.binding.port=15002",
        "spark.driver.host=notebooks-connect-0.notebooks-connect-driver.analytics.svc",
        "spark.kubernetes.driver.pod.name=notebooks-connect-0",
        "spark.kubernetes.executor.label.sparkplane.dev/team=analytics",
        "spark.kubernetes.executor.label.sparkplane.dev/cost-center=cc-7",
        "spark.scheduler.mode=FAIR",
    ] {
        assert!(args.iter().any(|a| a == wanted), "missing --conf {wanted} in {args:?}");
    }
    // The preset's SparkConnectPlugin would start a second server on the same port.
    assert!(!args.iter().any(|a| a.starts_with("spark.plugins=")), "{args:?}");
    // Probes on the gRPC port, which the server binds last.
    assert_eq!(container["startupProbe"]["tcpSocket"]["port"], 15002);
    // interactive's `timeouts.driverStart: 5m` is the start budget: 60 × 5 s.
    assert_eq!(container["startupProbe"]["failureThreshold"], 60);
    assert_eq!(set["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert!(set["spec"]["template"]["spec"].get("activeDeadlineSeconds").is_none());
}

#[test]
fn the_server_logs_through_the_one_json_layout() {
    let objects = rendered(JOB, Target::Native);
    let templates = find(&objects, "ConfigMap", "notebooks-connect-pod-templates");
    let layout = templates["data"]["log4j2.properties"].as_str().expect("the log layout");
    assert!(layout.contains(r#""sparkjob":"notebooks","team":"analytics""#), "{layout}");
    let pod = &find(&objects, "StatefulSet", "notebooks-connect")["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let conf_dir = container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "SPARK_CONF_DIR"))
        .and_then(|e| e["value"].as_str())
        .expect("SPARK_CONF_DIR");
    let mount = container["volumeMounts"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["mountPath"] == conf_dir))
        .expect("a volume at SPARK_CONF_DIR");
    let volume = pod["volumes"].as_array().and_then(|vs| vs.iter().find(|v| v["name"] == mount["name"])).expect("it");
    assert_eq!(volume["configMap"]["name"], "notebooks-connect-pod-templates");
    assert_eq!(
        volume["configMap"]["items"],
        serde_json::json!([{"key": "log4j2.properties", "path": "log4j2.properties"}])
    );
}

#[test]
fn the_token_is_a_secret_reference_and_no_value_is_written_anywhere() {
    let objects = rendered(JOB, Target::Native);
    let container = &find(&objects, "StatefulSet", "notebooks-connect")["spec"]["template"]["spec"]["containers"][0];
    let env: Vec<&Value> = container["env"].as_array().expect("env").iter().collect();
    let token = env.iter().find(|e| e["name"] == "SPARK_CONNECT_AUTHENTICATE_TOKEN").expect("token variable");
    assert_eq!(
        token["valueFrom"],
        serde_json::json!({"secretKeyRef": {"name": "notebooks-connect-token", "key": "token", "optional": false}})
    );
    assert!(token.get("value").is_none());
    assert!(objects.iter().all(|o| o.kind != "Secret"), "sparkplane never writes the token's Secret");
    let text = to_yaml_stream(objects.iter().map(|o| &o.body));
    assert!(!text.contains("authenticate.token"), "the token never travels as a property");

    // A job that names its own Secret keeps it, and gets no second variable.
    let own = JOB.to_owned()
        + "  env:\n  - name: SPARK_CONNECT_AUTHENTICATE_TOKEN\n    secretKeyRef: {name: vault-connect, key: t}\n";
    let objects = rendered(&own, Target::Native);
    let container = &find(&objects, "StatefulSet", "notebooks-connect")["spec"]["template"]["spec"]["containers"][0];
    let tokens: Vec<&Value> = container["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter(|e| e["name"] == "SPARK_CONNECT_AUTHENTICATE_TOKEN")
        .collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["valueFrom"]["secretKeyRef"]["name"], "vault-connect");
}

#[test]
fn the_door_reaches_the_servers_ui_and_only_it_from_its_own_pods_in_its_own_namespace() {
    let objects = rendered(JOB, Target::Native);
    let policy = find(&objects, "NetworkPolicy", "notebooks-connect-ui-door");
    // The server's driver pod only (the clients policy's selector), the UI port only, and one peer that
    // needs both the door's namespace and the door's label.
    assert_eq!(
        policy["spec"],
        serde_json::json!({
            "podSelector": {"matchLabels": {"sparkplane.dev/connect": "server", "sparkplane.dev/job": "notebooks"}},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "sparkplane-system"}},
                    "podSelector": {"matchLabels": {"sparkplane.dev/door": "true"}}
                }],
                "ports": [{"port": 4040, "protocol": "TCP"}]
            }]
        })
    );
    let set = find(&objects, "StatefulSet", "notebooks-connect");
    let ports = &set["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert!(
        ports.as_array().is_some_and(|p| p.iter().any(|p| p["name"] == "spark-ui" && p["containerPort"] == 4040)),
        "the door's port is the server's UI: {ports}"
    );
    // Only this policy names the door.
    let naming_the_door: Vec<&str> = objects
        .iter()
        .filter(|o| o.kind == "NetworkPolicy" && o.body.to_string().contains("sparkplane.dev/door"))
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(naming_the_door, ["notebooks-connect-ui-door"]);
}

#[test]
fn clients_are_admitted_from_the_teams_namespaces_only_and_the_server_is_attributed_to_its_team() {
    let objects = rendered(JOB, Target::Native);
    let policy = find(&objects, "NetworkPolicy", "notebooks-connect-clients");
    assert_eq!(
        policy["spec"],
        serde_json::json!({
            "podSelector": {"matchLabels": {"sparkplane.dev/connect": "server", "sparkplane.dev/job": "notebooks"}},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "analytics"}}},
                    {"namespaceSelector": {"matchLabels": {"sparkplane.dev/team": "analytics"}}}
                ],
                "ports": [{"port": 15002, "protocol": "TCP"}, {"port": 4040, "protocol": "TCP"}]
            }]
        })
    );
    for object in &objects {
        let labels = &object.body["metadata"]["labels"];
        assert_eq!(labels["sparkplane.dev/team"], "analytics", "{}/{}", object.kind, object.name);
        assert_eq!(labels["sparkplane.dev/cost-center"], "cc-7", "{}/{}", object.kind, object.name);
    }
    let pod_labels = &find(&objects, "StatefulSet", "notebooks-connect")["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pod_labels["sparkplane.dev/team"], "analytics");
    assert_eq!(pod_labels["spark-role"], "driver");
    let service = find(&objects, "Service", "notebooks-connect");
    assert_eq!(service["spec"]["ports"][0]["port"], 15002);
    assert_eq!(service["spec"]["selector"], policy["spec"]["podSelector"]["matchLabels"]);
}

#[test]
fn a_suspended_server_keeps_its_objects_with_no_replica() {
    let objects = rendered(&(JOB.to_owned() + "  suspend: true\n"), Target::Native);
    assert_eq!(find(&objects, "StatefulSet", "notebooks-connect")["spec"]["replicas"], 0);
}

#[test]
fn what_a_connect_server_cannot_be_is_refused_with_the_exact_messages() {
    let bad = JOB.replace("preset: interactive", "preset: interactive\n  sparkVersion: \"3.5.7\"")
        + "  mainApplicationFile: local:///opt/app/main.py\n  schedule: {cron: \"@daily\"}\n  sparkConf:\n    spark.connect.authenticate.token: abc\n";
    let text = resolve(&bad, ValidationTarget::Cluster).expect_err("refused");
    for wanted in [
        "a Connect server has no application file: its driver is Spark's SparkConnectServer",
        "Spark `3.5.7` has no Spark Connect server (it ships with Spark 4)",
        "a Connect server runs until it is stopped; it cannot run on a schedule",
        "`spark.connect.authenticate.token` would write the token into the pod's arguments",
    ] {
        assert!(text.contains(wanted), "missing `{wanted}` in:\n{text}");
    }
    assert!(text.contains("notebooks.yaml:"), "errors point at the file:\n{text}");
    assert!(!text.contains("abc"), "the inline token is not echoed:\n{text}");

    let inline = JOB.to_owned() + "  env:\n  - name: SPARK_CONNECT_AUTHENTICATE_TOKEN\n    value: abc\n";
    let text = resolve(&inline, ValidationTarget::Cluster).expect_err("refused");
    assert!(
        text.contains("`SPARK_CONNECT_AUTHENTICATE_TOKEN` must come from a Secret, never a value in the job"),
        "{text}"
    );

    let text = resolve(JOB, ValidationTarget::Local).expect_err("refused");
    assert!(text.contains("start one on this machine with `sparkplane connect --preset interactive`"), "{text}");
}

/// Kubernetes' own schemas, strict, from the pinned kubernetes-validate that
/// `scripts/test.sh` installs (`need_helm`).
#[test]
fn the_objects_pass_kubernetes_strict_schemas() {
    let python =
        std::env::var_os("HOME").map(PathBuf::from).expect("HOME").join(".cache/sparkplane/tools/helm/bin/python");
    assert!(python.is_file(), "kubernetes-validate missing: run scripts/test.sh (need_helm)");
    let objects = rendered(JOB, Target::Native);
    let file = std::env::temp_dir().join(format!("sparkplane-connect-render-{}.yaml", std::process::id()));
    std::fs::write(&file, to_yaml_stream(objects.iter().map(|o| &o.body))).expect("write");
    let script = "import sys, yaml, kubernetes_validate\nproblems = []\nfor d in [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]:\n    for v in ('1.30.0', '1.33.0'):\n        try:\n            kubernetes_validate.validate(d, v, strict=True)\n        except Exception as e:\n            problems.append(f\"{d['kind']} on {v}: {e}\")\nprint(len([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))\nprint('\\n'.join(problems))\nsys.exit(1 if problems else 0)\n";
    let out = std::process::Command::new(python).args(["-c", script]).arg(&file).output().expect("python");
    std::fs::remove_file(&file).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.trim(), objects.len().to_string(), "every object was validated");
}
