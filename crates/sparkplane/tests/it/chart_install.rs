//! The platform chart as a platform engineer installs it: Helm's own
//! library (PyPI helm-sdkpy, Helm v4's Go library; installed by
//! scripts/common.sh's need_helm) lints it, installs and upgrades it into the
//! simulated cluster (sparkplane-fakekube), and the objects it creates are
//! held to Kubernetes' own schemas (PyPI kubernetes-validate, strict), to
//! sparkplane's offline checks (Pod Security "restricted", no secret values),
//! and to what they claim: the operator runs from its Deployment's own
//! arguments, and the admission policies refuse what they say.
//!
//! What differs from a cluster: the operator runs as a process of the test
//! (no image is pulled), with its metrics on 127.0.0.1:0 rather than the
//! Deployment's 0.0.0.0:8080; the fake evaluates the policies' CEL with the
//! `cel` crate (see its admission module for what it does not model).

#[allow(dead_code)]
use crate::kubeflow_support;

mod console;
mod door;
mod signin;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_core::render::RenderedObject;
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::parse_documents;
use sparkplane_fakekube::{Cluster, FakeApiServer};

const NAMESPACE: &str = "sparkplane-system";
const RELEASE: &str = "sparkplane";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn chart() -> PathBuf {
    repo().join("charts/sparkplane")
}

fn tools_python() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let python = home.join(".cache/sparkplane/tools/helm/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the chart tests need Helm's library; run scripts/test.sh (need_helm installs it)",
        python.display()
    );
    python
}

struct Platform {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Platform {
    fn start() -> Platform {
        let fake = FakeApiServer::start().expect("the simulated cluster starts");
        fake.set_cluster(Cluster::default());
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("default")).expect("kubeconfig");
        Platform { fake, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// The Helm driver's JSON answer.
    fn helm(&self, args: &[&str]) -> Value {
        let out = std::process::Command::new(tools_python())
            .arg(repo().join("crates/sparkplane/tests/chart/helm_driver.py"))
            .args(args)
            // Helm's caches and config under the test's own directory.
            .env("HOME", self.dir.path())
            .env("HELM_CACHE_HOME", self.dir.path().join("helm-cache"))
            .env("HELM_CONFIG_HOME", self.dir.path().join("helm-config"))
            .env("HELM_DATA_HOME", self.dir.path().join("helm-data"))
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .expect("the Helm driver runs");
        assert!(out.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("the driver prints JSON")
    }

    fn release(&self, action: &str, chart: &Path, values: &Value) -> Value {
        let kubeconfig = self.kubeconfig();
        let chart = chart.display().to_string();
        let values = values.to_string();
        self.helm(&[action, &kubeconfig.display().to_string(), NAMESPACE, RELEASE, &chart, &values])
    }

    fn install(&self, values: &Value) -> Vec<Value> {
        let answer = self.release("install", &chart(), values);
        manifest_of(&answer)
    }

    fn kubectl(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .env("HOME", self.dir.path())
            .output()
            .expect("kubectl runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// The SparkJob the tests apply (GOOD's).
    fn job(&self) -> Option<Value> {
        self.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng"), "data-eng-daily")
    }

    /// That SparkJob's Kueue Workload (Kueue mode).
    fn workload(&self) -> Option<Value> {
        self.fake
            .objects()
            .into_iter()
            .find(|o| o["kind"] == "Workload" && o["metadata"]["labels"]["sparkplane.dev/job"] == "data-eng-daily")
    }

    /// Waits until that SparkJob has ended, and holds it to Succeeded.
    fn wait_until_succeeded(&self) -> Value {
        let done = wait_for("the job to end", || {
            self.job().filter(|j| j["status"]["state"] == "Succeeded" || j["status"]["state"] == "Failed")
        });
        assert_eq!(done["status"]["state"], "Succeeded", "{}", done["status"]);
        done
    }

    fn stored(&self, object: &Value) -> Option<Value> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let namespace = object["metadata"]["namespace"].as_str();
        self.fake.object(
            &text(&object["apiVersion"]),
            &text(&object["kind"]),
            namespace,
            &text(&object["metadata"]["name"]),
        )
    }
}

/// The first place two JSON values differ, numbers compared as numbers
/// (Helm's templates read YAML integers as floats).
fn difference(left: &Value, right: &Value, at: &str) -> Option<String> {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                difference(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"))
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| difference(x, y, &format!("{at}[{i}]")))
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{at}: {a} != {b}")),
    }
}

/// The release's objects, from the manifest Helm rendered.
fn manifest_of(answer: &Value) -> Vec<Value> {
    assert!(answer.get("error").is_none(), "Helm failed: {}", answer["error"]);
    assert_eq!(answer["info"]["status"], "deployed", "{}", answer["info"]);
    let manifest = answer["manifest"].as_str().expect("a manifest");
    parse_documents(&Source::new("manifest", manifest.to_owned()))
        .expect("the manifest parses")
        .iter()
        .map(|d| d.to_json())
        .filter(|o| o.is_object())
        .collect()
}

fn kinds(objects: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!("{}/{}", o["kind"].as_str().unwrap_or_default(), o["metadata"]["name"].as_str().unwrap_or_default())
        })
        .collect();
    kinds.sort();
    kinds
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in {:?}", kinds(objects)))
}

fn sparkplane_json(args: &[&str]) -> Value {
    let out = sparkplane_testkit::sparkplane()
        .current_dir(repo())
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .args(args)
        .args(["-o", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// prometheus-operator's CRDs, as far as discovery needs them (kube-prometheus-stack installs the real ones).
fn prometheus_operator_crds(platform: &Platform) {
    for (plural, singular, kind) in [
        ("servicemonitors", "servicemonitor", "ServiceMonitor"),
        ("prometheusrules", "prometheusrule", "PrometheusRule"),
    ] {
        platform.fake.insert(sparkplane_fakekube::schemaless_crd("monitoring.coreos.com", plural, singular, kind));
    }
}

#[test]
fn the_chart_lints_clean_and_a_first_install_creates_the_whole_platform() {
    let platform = Platform::start();
    let lint = platform.helm(&["lint", &chart().display().to_string()]);
    let serious: Vec<&Value> = lint["Messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["Severity"].as_i64().unwrap_or(0) >= 2)
        .collect();
    assert!(serious.is_empty() && lint["Errors"].is_null(), "helm lint: {lint}");

    let objects = platform.install(&json!({
        "eventLogs": {"location": "s3a://spark-events", "credentialsSecret": "spark-events-s3"},
        "history": {"signIn": {"oidc": {
            "issuer": "https://login.example.com/realms/data", "clientId": "sparkplane-history",
            "clientSecret": {"existingSecret": "history-oidc"}, "publicUrl": "https://spark.example.com",
        }}},
    }));
    let expected = [
        "ClusterRole/sparkplane-history-console",
        "ClusterRole/sparkplane-operator",
        "ClusterRole/sparkplane-operator-cluster",
        "ClusterRoleBinding/sparkplane-history-console",
        "ClusterRoleBinding/sparkplane-operator",
        "ClusterRoleBinding/sparkplane-operator-cluster",
        "ConfigMap/sparkplane-dashboard-data-engineer",
        "ConfigMap/sparkplane-dashboard-finops",
        "ConfigMap/sparkplane-dashboard-platform",
        "ConfigMap/sparkplane-dashboard-tenants",
        "CustomResourceDefinition/sparkjobs.sparkplane.dev",
        "Deployment/sparkplane-exporter",
        "Deployment/sparkplane-history",
        "Deployment/sparkplane-operator",
        "PodDisruptionBudget/sparkplane-operator",
        "Role/sparkplane-operator-lease",
        "RoleBinding/sparkplane-operator-lease",
        "Service/sparkplane-exporter",
        "Service/sparkplane-history",
        "Service/sparkplane-operator-metrics",
        "ServiceAccount/sparkplane-history",
        "ServiceAccount/sparkplane-operator",
        "ServiceAccount/sparkplane-reader",
        "ValidatingAdmissionPolicy/sparkplane-deny",
        "ValidatingAdmissionPolicy/sparkplane-prod",
        "ValidatingAdmissionPolicy/sparkplane-warn",
        "ValidatingAdmissionPolicyBinding/sparkplane-deny",
        "ValidatingAdmissionPolicyBinding/sparkplane-prod",
        "ValidatingAdmissionPolicyBinding/sparkplane-warn",
    ];
    assert_eq!(kinds(&objects), expected, "no ServiceMonitor or PrometheusRule without prometheus-operator");
    for object in &objects {
        assert!(platform.stored(object).is_some(), "not in the cluster: {}", object["metadata"]["name"]);
    }

    // Helm keeps the release (chart and manifest) in one Secret, which the API server caps at 1 MiB.
    let record = platform
        .fake
        .object("v1", "Secret", Some(NAMESPACE), "sh.helm.release.v1.sparkplane.v1")
        .expect("Helm's record");
    let stored = record["data"]["release"].as_str().map_or(0, |b| b.len() / 4 * 3);
    assert!(stored < 384 * 1024, "the release record is {stored} bytes; keep it well under the 1 MiB limit");

    // The CRD is `sparkplane crd`, with the chart's labels and the keep annotation.
    let crd = platform.stored(find(&objects, "CustomResourceDefinition", "sparkjobs.sparkplane.dev")).expect("stored");
    assert_eq!(crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
    let printed = sparkplane_json(&["crd"]);
    assert_eq!(
        difference(&crd["spec"], &printed["spec"], "spec"),
        None,
        "the installed CRD is what `sparkplane crd` prints"
    );
    assert_eq!(crd["spec"]["versions"][0]["name"], "v1alpha1");

    // The operator: two replicas electing a leader, restricted, with probes and the PDB.
    let operator = find(&objects, "Deployment", "sparkplane-operator");
    assert_eq!(operator["spec"]["replicas"], 2);
    let container = &operator["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    // Quality gates are checked with the operator's own image (ADR 0043).
    let image = container["image"].as_str().expect("the operator's image");
    let gate_image = format!("--quality-gate-image={image}");
    assert_eq!(
        args,
        [
            "operator",
            "--leader-elect",
            "--metrics-address=0.0.0.0:8080",
            "--concurrency=32",
            "--resync=60s",
            "--driver-start-timeout=10m",
            gate_image.as_str(),
        ]
    );
    assert!(image.starts_with("ghcr.io/sparkplane/sparkplane:"), "{image}");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(find(&objects, "PodDisruptionBudget", "sparkplane-operator")["spec"]["minAvailable"], 1);

    // The readers take credentials from the named Secret only.
    let exporter = find(&objects, "Deployment", "sparkplane-exporter");
    let reader = &exporter["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(reader["envFrom"], json!([{"secretRef": {"name": "spark-events-s3"}}]));
    assert_eq!(reader["args"][1], "--history=s3a://spark-events");

    // Dashboards carry the binary's JSON for Grafana's sidecar.
    let dashboard = find(&objects, "ConfigMap", "sparkplane-dashboard-platform");
    assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
    let json_text = dashboard["data"]["sparkplane-platform.json"].as_str().expect("dashboard JSON");
    let parsed: Value = serde_json::from_str(json_text).expect("valid JSON");
    assert_eq!(parsed["uid"], "sparkplane-platform");
}

#[test]
fn with_prometheus_operator_the_rules_and_service_monitors_come_along() {
    let platform = Platform::start();
    prometheus_operator_crds(&platform);
    let objects = platform.install(&json!({
        "eventLogs": {"location": "s3a://spark-events"},
        "monitoring": {"release": "kps"},
        "history": {"signIn": {"mode": "none"}},
    }));
    let rule = find(&objects, "PrometheusRule", "sparkplane");
    assert_eq!(rule["metadata"]["labels"]["release"], "kps");
    let printed = sparkplane_json(&["observe", "rules", "--format", "prometheusrule"]);
    assert_eq!(
        difference(&rule["spec"], &printed["spec"], "spec"),
        None,
        "the chart's PrometheusRule is `observe rules`' own"
    );
    for name in ["sparkplane-operator", "sparkplane-exporter"] {
        let monitor = find(&objects, "ServiceMonitor", name);
        assert_eq!(monitor["metadata"]["labels"]["release"], "kps");
        assert!(platform.stored(monitor).is_some());
    }
}

/// Every object of an install that uses every template, for Kubernetes' schemas and sparkplane's own checks.
fn everything(platform: &Platform) -> Vec<Value> {
    prometheus_operator_crds(platform);
    platform.install(&json!({
        "eventLogs": {"location": "s3a://spark-events", "credentialsSecret": "spark-events-s3"},
        "operator": {"watchNamespaces": ["data-eng", "analytics"], "logStore": "s3://spark-logs/drivers",
                     "maxRunningPerNamespace": 20, "credentialsSecret": "operator-s3"},
        "platform": {"presets": {"etl-huge": "apiVersion: sparkplane.dev/v1alpha1\nkind: Preset\n"}, "tenants": {"data-eng": TENANT}},
        "history": {"implementation": "spark", "spark": {"properties": {"spark.history.retainedApplications": "100"}},
                    "signIn": {"mode": "none"}},
        "gatekeeper": {"enabled": false},
    }))
}

#[test]
fn every_object_passes_kubernetes_schemas_strictly_and_sparkplanes_checks() {
    let platform = Platform::start();
    let objects = everything(&platform);
    let own: Vec<&Value> = objects
        .iter()
        .filter(|o| !o["apiVersion"].as_str().unwrap_or_default().starts_with("monitoring.coreos.com/"))
        .collect();
    let write = |name: &str, objects: &[&Value]| {
        let text: String =
            objects.iter().map(|o| format!("---\n{}\n", serde_json::to_string(o).unwrap_or_default())).collect();
        platform.write(name, &text).display().to_string()
    };
    // ValidatingAdmissionPolicy v1 exists from 1.30, the chart's kubeVersion; the rest is checked on 1.29 too.
    let versions = "1.30.0,1.31.0,1.32.0,1.33.0,1.34.0,1.35.0,1.36.0,1.37.0";
    let all = write("all.yaml", &own);
    let report = platform.helm(&["validate", versions, &all]);
    assert_eq!(report["problems"], json!([]), "{report}");
    assert_eq!(report["documents"].as_u64(), Some(own.len() as u64));
    let older: Vec<&Value> = own
        .iter()
        .copied()
        .filter(|o| !o["kind"].as_str().unwrap_or_default().starts_with("ValidatingAdmissionPolicy"))
        .collect();
    let report = platform.helm(&["validate", "1.29.0", &write("older.yaml", &older)]);
    assert_eq!(report["problems"], json!([]), "{report}");

    let rendered: Vec<RenderedObject> = objects
        .iter()
        .map(|o| RenderedObject {
            api_version: o["apiVersion"].as_str().unwrap_or_default().to_owned(),
            kind: o["kind"].as_str().unwrap_or_default().to_owned(),
            name: o["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            namespace: o["metadata"]["namespace"].as_str().map(str::to_owned),
            body: o.clone(),
        })
        .collect();
    let problems = sparkplane_core::render::check::check_objects(&rendered);
    assert!(problems.is_empty(), "{problems:#?}");

    // Namespaced mode: one operator per namespace, bound only there; its Lease beside it.
    let names = kinds(&objects);
    for ns in ["data-eng", "analytics"] {
        let deployment = find(&objects, "Deployment", &format!("sparkplane-operator-{ns}"));
        let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
        assert!(
            args.contains(&format!("\"--namespace={ns}\"")) && args.contains(&format!("\"--lease-namespace={ns}\"")),
            "{args}"
        );
        assert!(
            args.contains("--platform-dir=/etc/sparkplane/platform") && args.contains("--max-running-per-namespace=20")
        );
        let bindings: Vec<&Value> =
            objects.iter().filter(|o| o["kind"] == "RoleBinding" && o["metadata"]["namespace"] == ns).collect();
        assert_eq!(bindings.len(), 2, "the operator's and the lease's RoleBinding in {ns}");
    }
    assert!(!names.contains(&"ClusterRoleBinding/sparkplane-operator".to_owned()), "nothing cluster-wide: {names:?}");
    assert!(names.contains(&"ClusterRoleBinding/sparkplane-operator-cluster".to_owned()));
    let platform_map = find(&objects, "ConfigMap", "sparkplane-platform");
    assert!(platform_map["data"]["preset-etl-huge.yaml"].as_str().is_some_and(|t| t.contains("kind: Preset")));
    assert_eq!(platform_map["data"]["tenant-data-eng.yaml"], TENANT);
}

#[test]
fn a_values_file_with_an_unknown_key_or_a_wrong_type_fails_with_the_keys_path_and_installs_nothing() {
    let platform = Platform::start();
    let unknown = platform.release("install", &chart(), &json!({"operator": {"replicaz": 2}}));
    let message = unknown["error"].as_str().expect("refused");
    assert!(message.contains("/operator") && message.contains("replicaz"), "{message}");
    let wrong = platform.release("install", &chart(), &json!({"operator": {"replicas": "two"}}));
    let message = wrong["error"].as_str().expect("refused");
    assert!(message.contains("/operator/replicas") && message.contains("integer"), "{message}");
    let bad_action = platform.release("install", &chart(), &json!({"admission": {"denyActions": ["Block"]}}));
    assert!(bad_action["error"].as_str().is_some_and(|m| m.contains("/admission/denyActions/0")), "{bad_action}");
    assert_nothing_installed(&platform);
}

struct OperatorPod(Child);

impl Drop for OperatorPod {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lays out the ConfigMap volume mounted at `mount` as the kubelet would (each item's key at its path),
/// from the ConfigMap stored in the cluster, and answers the directory.
fn mount_config_map(platform: &Platform, deployment: &Value, mount: &str) -> PathBuf {
    let pod = &deployment["spec"]["template"]["spec"];
    let volume_name = pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["mountPath"] == mount)
        .and_then(|m| m["name"].as_str())
        .expect("a volume mounted there");
    let volume =
        pod["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == volume_name).expect("the volume");
    let name = volume["configMap"]["name"].as_str().expect("a ConfigMap volume");
    let map = platform.fake.object("v1", "ConfigMap", Some(NAMESPACE), name).expect("the ConfigMap is installed");
    let dir = platform.dir.path().join(format!("mount-{volume_name}"));
    for item in volume["configMap"]["items"].as_array().into_iter().flatten() {
        let key = item["key"].as_str().expect("key");
        let path = dir.join(item["path"].as_str().expect("path"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, map["data"][key].as_str().expect("the key is in the ConfigMap")).expect("write");
    }
    dir
}

/// Starts `sparkplane` with the operator Deployment's own arguments and environment.
fn run_operator(platform: &Platform, deployment: &Value, pod: &str) -> OperatorPod {
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|a| {
            if a.starts_with("--metrics-address=") {
                "--metrics-address=127.0.0.1:0".to_owned()
            } else if let Some(mount) = a.strip_prefix("--platform-dir=") {
                format!("--platform-dir={}", mount_config_map(platform, deployment, mount).display())
            } else {
                a.to_owned()
            }
        })
        .collect();
    let mut command = sparkplane_testkit::sparkplane_process();
    command.args(&args);
    for env in container["env"].as_array().into_iter().flatten() {
        let name = env["name"].as_str().unwrap_or_default();
        let value = match env["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.name") => pod.to_owned(),
            Some("metadata.namespace") => NAMESPACE.to_owned(),
            _ => env["value"].as_str().unwrap_or_default().to_owned(),
        };
        command.env(name, value);
    }
    // The operator authenticates as the chart's ServiceAccount: the simulated cluster authorizes every
    // call it makes with the chart's RBAC, so a missing permission fails the test.
    let service_account = deployment["spec"]["template"]["spec"]["serviceAccountName"].as_str().unwrap_or_default();
    let kubeconfig = platform
        .write(&format!("kubeconfig-{pod}"), &platform.fake.service_account_kubeconfig(NAMESPACE, service_account));
    let child = command
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", platform.dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(platform.dir.path().join(format!("{pod}.log"))).expect("log file"))
        .spawn()
        .expect("the operator starts");
    OperatorPod(child)
}

fn wait_for(what: &str, mut check: impl FnMut() -> Option<Value>) -> Value {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const GOOD: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: data-eng-daily, namespace: data-eng}
spec:
  team: data-eng
  costCenter: cc-1042
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/daily.py
  image: {repository: registry.example.com/data-eng/daily, tag: \"1.4.0\"}
";

#[test]
fn the_operator_runs_from_its_deployment_and_admission_refuses_what_the_policies_refuse() {
    let platform = Platform::start();
    let objects = platform.install(&json!({}));
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let _leader = run_operator(&platform, &deployment, "sparkplane-operator-0");
    let _standby = run_operator(&platform, &deployment, "sparkplane-operator-1");

    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    // No team: refused by the API server, with the policy's own words.
    let no_team = platform.write("no-team.yaml", &GOOD.replace("  team: data-eng\n", ""));
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &no_team.display().to_string()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("ValidatingAdmissionPolicy 'sparkplane-deny' with binding 'sparkplane-deny' denied request: team-and-cost-center: jobs name their team and cost center; set spec.team and spec.costCenter"),
        "{stderr}"
    );
    let latest = platform.write("latest.yaml", &GOOD.replace("tag: \"1.4.0\"", "tag: latest"));
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &latest.display().to_string()]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("denied request: image-tag: "), "{stderr}");
    assert!(platform.job().is_none());

    // A good job is let in and the operator runs it.
    let good = platform.write("good.yaml", GOOD);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let done = platform.wait_until_succeeded();
    assert_eq!(done["status"]["attempt"], 1);
    let lease = platform
        .fake
        .object("coordination.k8s.io/v1", "Lease", Some(NAMESPACE), "sparkplane-operator")
        .expect("a Lease");
    let holder = lease["spec"]["holderIdentity"].as_str().unwrap_or_default().to_owned();
    assert!(holder.starts_with("sparkplane-operator-"), "{lease}");

    // A prod namespace wants a digest, even though the job does not say prod.
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "payments"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = platform.kubectl(&["label", "namespace", "payments", "sparkplane.dev/environment=prod"]);
    assert_eq!(code, Some(0), "{stderr}");
    let prod = platform.write("prod.yaml", &GOOD.replace("namespace: data-eng", "namespace: payments"));
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &prod.display().to_string()]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("ValidatingAdmissionPolicy 'sparkplane-prod' with binding 'sparkplane-prod' denied request: image-digest-in-prod: "),
        "{stderr}"
    );
    let pinned = platform.write(
        "pinned.yaml",
        &GOOD.replace("namespace: data-eng", "namespace: payments").replace(
            "tag: \"1.4.0\"}",
            "tag: \"1.4.0\", digest: \"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
        ),
    );
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &pinned.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn an_upgrade_keeps_sparkjobs_and_their_status() {
    let platform = Platform::start();
    // Version N: the chart as first released (charts/sparkplane/ci/upgrade-from names its commit).
    let from = std::fs::read_to_string(chart().join("ci/upgrade-from")).expect("ci/upgrade-from");
    let from =
        from.lines().find(|l| !l.trim().is_empty() && !l.starts_with('#')).expect("a revision").trim().to_owned();
    let old = platform.dir.path().join("old");
    std::fs::create_dir_all(&old).expect("mkdir");
    let archive = std::process::Command::new("git")
        .current_dir(repo())
        .args(["archive", "--format=tar", &from, "charts/sparkplane"])
        .output()
        .expect("git runs");
    assert!(archive.status.success(), "git archive {from}: {}", String::from_utf8_lossy(&archive.stderr));
    let mut untar =
        std::process::Command::new("tar").current_dir(&old).arg("-x").stdin(Stdio::piped()).spawn().expect("tar runs");
    std::io::Write::write_all(untar.stdin.as_mut().expect("stdin"), &archive.stdout).expect("tar input");
    drop(untar.stdin.take());
    assert!(untar.wait().expect("tar").success());

    let first = platform.release("install", &old.join("charts/sparkplane"), &json!({}));
    let objects = manifest_of(&first);
    let crd_uid = platform.stored(find(&objects, "CustomResourceDefinition", "sparkjobs.sparkplane.dev")).expect("CRD")
        ["metadata"]["uid"]
        .clone();
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let good = platform.write("good.yaml", GOOD);
    {
        let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
        let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
        assert_eq!(code, Some(0), "{stderr}");
        platform.wait_until_succeeded();
    }
    let before = platform.job().expect("job");

    let upgraded = platform.release("upgrade", &chart(), &json!({"operator": {"replicas": 3}}));
    let objects = manifest_of(&upgraded);
    assert_eq!(upgraded["version"], 2);
    let crd = platform.stored(find(&objects, "CustomResourceDefinition", "sparkjobs.sparkplane.dev")).expect("CRD");
    assert_eq!(crd["metadata"]["uid"], crd_uid, "the CRD is updated in place, never replaced");
    assert_eq!(
        platform.stored(find(&objects, "Deployment", "sparkplane-operator")).expect("stored")["spec"]["replicas"],
        3
    );
    let after = platform.job().expect("kept");
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    assert_eq!(after["status"], before["status"], "status is kept");

    // The upgraded operator picks the job up where it was: nothing is run again.
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    std::thread::sleep(Duration::from_secs(2));
    let later = platform.job().expect("kept");
    assert_eq!(later["status"]["attempt"], before["status"]["attempt"]);
    assert_eq!(later["status"]["state"], "Succeeded");
}

#[test]
fn in_namespaced_mode_each_operator_works_only_where_it_is_bound() {
    let platform = Platform::start();
    let objects = platform.install(&json!({"operator": {"watchNamespaces": ["data-eng"], "replicas": 1}}));
    for ns in ["data-eng", "analytics"] {
        let (code, _, stderr) = platform.kubectl(&["create", "namespace", ns]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let deployment = find(&objects, "Deployment", "sparkplane-operator-data-eng").clone();
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-data-eng-0");
    let good = platform.write("good.yaml", GOOD);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    platform.wait_until_succeeded();
    // Its Lease lives in the namespace it watches.
    assert!(platform.fake.object("coordination.k8s.io/v1", "Lease", Some("data-eng"), "sparkplane-operator").is_some());
    // The same ServiceAccount cannot touch a namespace the chart did not list. (Asked directly: kubectl
    // sends no bearer token over the fake's plain HTTP; kube-rs, the operator's client, does.)
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut answer = agent
        .get(format!("{}/api/v1/namespaces/analytics/pods", platform.fake.url()))
        .header("Authorization", "Bearer system:serviceaccount:sparkplane-system:sparkplane-operator")
        .call()
        .expect("the fake answers");
    assert_eq!(answer.status().as_u16(), 403);
    let status: Value = serde_json::from_str(&answer.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"system:serviceaccount:sparkplane-system:sparkplane-operator\" cannot list resource \"pods\" in API group \"\" in the namespace \"analytics\""
    );
}

/// A container of the chart run as a process: its args, with the listen address moved to 127.0.0.1 on a free port.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_container(deployment: &Value, listen_flag: &str) -> (Process, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|a| if a.starts_with(listen_flag) { format!("{listen_flag}127.0.0.1:{port}") } else { a.to_owned() })
        .collect();
    assert!(args.iter().any(|a| a.starts_with(listen_flag)), "{args:?} has no {listen_flag}");
    let child = sparkplane_testkit::sparkplane_process()
        .args(&args)
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    (Process(child), port)
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut answer = agent.get(format!("http://127.0.0.1:{port}{path}")).call().ok()?;
    Some((answer.status().as_u16(), answer.body_mut().read_to_string().unwrap_or_default()))
}

#[test]
fn the_exporter_and_history_server_run_from_their_deployments_and_answer_their_probes() {
    let platform = Platform::start();
    let logs =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events");
    let logs = logs.canonicalize().expect("Spark's test event logs");
    let objects = platform.install(
        &json!({"eventLogs": {"location": logs.display().to_string()}, "history": {"signIn": {"mode": "none"}}}),
    );

    let history = find(&objects, "Deployment", "sparkplane-history");
    let probe = history["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .expect("a readiness probe")
        .to_owned();
    let (_history, port) = run_container(history, "--listen=");
    let started = Instant::now();
    let version = loop {
        if let Some((200, body)) = get(port, &probe) {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the History Server never answered {probe}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(serde_json::from_str::<Value>(&version).is_ok_and(|v| v["spark"].is_string()), "{version}");
    let apps = wait_for("the History Server to list the logs", || {
        get(port, "/api/v1/applications")
            .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
            .filter(|apps| apps.as_array().is_some_and(|a| !a.is_empty()))
    });
    assert!(apps[0]["id"].is_string());

    let exporter = find(&objects, "Deployment", "sparkplane-exporter");
    let probe = exporter["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]
        .as_str()
        .expect("a readiness probe")
        .to_owned();
    let (_exporter, port) = run_container(exporter, "--listen=");
    let metrics = wait_for("the exporter's metrics", || {
        get(port, &probe)
            .filter(|(code, body)| *code == 200 && body.contains("sparkplane_"))
            .map(|(_, body)| json!(body))
    });
    assert!(metrics.as_str().is_some_and(|m| m.contains("# TYPE")), "{metrics}");
}

#[test]
fn with_history_implementation_spark_sparks_own_history_server_runs_from_the_deployment() {
    let platform = Platform::start();
    let logs =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events");
    let logs = logs.canonicalize().expect("Spark's test event logs");
    let objects = platform.install(&json!({
        "eventLogs": {"location": logs.display().to_string()},
        "history": {"implementation": "spark", "spark": {"properties": {"spark.history.fs.update.interval": "1s"}},
                    "signIn": {"mode": "none"}},
    }));
    let container = &find(&objects, "Deployment", "sparkplane-history")["spec"]["template"]["spec"]["containers"][0];
    let home =
        sparkplane_testkit::history::spark_home().expect("the pinned Spark runtime (scripts/test.sh installs it)");
    let command: Vec<String> = container["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|c| c.replacen("/opt/spark", &home.display().to_string(), 1))
        .collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let options = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "SPARK_HISTORY_OPTS")
        .and_then(|e| e["value"].as_str())
        .expect("SPARK_HISTORY_OPTS")
        .replace("-Dspark.history.ui.port=18080", &format!("-Dspark.history.ui.port={port}"));
    assert!(options.contains("-Dspark.history.fs.update.interval=1s"), "{options}");
    let (program, args) = command.split_first().expect("a command");
    let child = std::process::Command::new(program)
        .args(args)
        .env("SPARK_HOME", &home)
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("SPARK_DAEMON_MEMORY", "512m")
        .env("SPARK_HISTORY_OPTS", format!("{options} -Dspark.ui.bindAddress=127.0.0.1"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spark-class starts");
    let _spark = Process(child);
    let probe = container["readinessProbe"]["httpGet"]["path"].as_str().expect("a probe").to_owned();
    let started = Instant::now();
    loop {
        if let Some((200, _)) = get(port, &probe) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "Spark's History Server never answered {probe}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let apps = wait_for("Spark's History Server to list the logs", || {
        get(port, "/api/v1/applications")
            .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
            .filter(|apps| apps.as_array().is_some_and(|a| !a.is_empty()))
    });
    assert!(apps[0]["id"].is_string());
}

#[test]
fn the_crd_also_applies_without_helm_with_kubectls_client_side_apply() {
    let platform = Platform::start();
    let out = sparkplane_testkit::sparkplane().arg("crd").output().expect("runs");
    let crd = platform.write("crd.yaml", &String::from_utf8_lossy(&out.stdout));
    // Client-side apply keeps the whole object in an annotation the API server caps at 256 KiB.
    let (code, stdout, stderr) = platform.kubectl(&["apply", "-f", &crd.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "customresourcedefinition.apiextensions.k8s.io/sparkjobs.sparkplane.dev created\n");
    let stored = platform
        .fake
        .object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "sparkjobs.sparkplane.dev")
        .expect("stored");
    assert!(stored["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());
}

const PRESET: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Preset
metadata:
  name: etl-huge
  description: A platform's own preset, from the chart's values.
template:
  metadata:
    labels:
      sparkplane.dev/preset: etl-huge
  spec:
    sparkVersion: \"3.5.7\"
    driver: {cores: 1, memory: 2g}
    executor: {cores: 4, memory: 16g, instances: 2}
";

#[test]
fn the_operator_reads_the_platforms_presets_from_the_charts_config_map() {
    let platform = Platform::start();
    let objects = platform.install(&json!({"platform": {"presets": {"etl-huge": PRESET}}}));
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let job = platform.write("huge.yaml", &GOOD.replace("  type: Python\n", "  type: Python\n  preset: etl-huge\n"));
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &job.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    platform.wait_until_succeeded();
    let drivers: Vec<Value> = platform
        .fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["sparkplane.dev/job"] == "data-eng-daily")
        .collect();
    assert!(!drivers.is_empty(), "a driver was created");
    assert!(drivers.iter().all(|p| p["metadata"]["labels"]["sparkplane.dev/preset"] == "etl-huge"), "{drivers:?}");
}

#[test]
fn with_gatekeeper_enabled_the_exported_templates_and_constraints_are_installed_unchanged() {
    let platform = Platform::start();
    let exported = std::fs::read_to_string(chart().join("files/generated/gatekeeper.yaml")).expect("the export");
    let exported: Vec<Value> = parse_documents(&Source::new("gatekeeper.yaml", exported))
        .expect("parses")
        .iter()
        .map(|d| d.to_json())
        .filter(|o| o.is_object())
        .collect();
    // Gatekeeper's CRDs, as far as discovery needs them: ConstraintTemplate, and the constraint kind each template declares.
    let mut kinds = vec![("templates.gatekeeper.sh", "v1", "ConstraintTemplate")];
    kinds.extend(
        exported
            .iter()
            .filter(|o| o["apiVersion"].as_str().is_some_and(|v| v.starts_with("constraints.")))
            .map(|o| ("constraints.gatekeeper.sh", "v1beta1", o["kind"].as_str().unwrap_or_default())),
    );
    for (group, version, kind) in &kinds {
        let plural = format!("{}s", kind.to_ascii_lowercase());
        platform.fake.insert(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": "Cluster", "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": version, "served": true, "storage": true}]},
        }));
    }
    assert!(kinds.len() >= 3, "templates and their constraints: {kinds:?}");
    let objects = platform.install(&json!({"gatekeeper": {"enabled": true}}));
    for object in &exported {
        let name = object["metadata"]["name"].as_str().expect("a name");
        let installed = find(&objects, object["kind"].as_str().expect("a kind"), name);
        assert_eq!(installed, object, "{name} is the export, unchanged");
        assert!(platform.stored(object).is_some(), "{name} is in the cluster");
    }
}

/// A refused install left nothing behind: no object in the release's namespace and no CRD.
/// The rendered History Server Deployment `history` passes the render's own checks, Pod Security "restricted" among them.
fn assert_restricted_history(history: &Value) {
    let rendered = RenderedObject {
        api_version: "apps/v1".to_owned(),
        kind: "Deployment".to_owned(),
        name: "sparkplane-history".to_owned(),
        namespace: Some(NAMESPACE.to_owned()),
        body: history.clone(),
    };
    let problems = sparkplane_core::render::check::check_objects(&[rendered]);
    assert!(problems.is_empty(), "{problems:#?}");
}

fn assert_nothing_installed(platform: &Platform) {
    let stored: Vec<String> = platform
        .fake
        .objects()
        .iter()
        .filter(|o| o["metadata"]["namespace"] == NAMESPACE || o["kind"] == "CustomResourceDefinition")
        .map(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]))
        .collect();
    assert!(stored.is_empty(), "nothing half-installed: {stored:?}");
}

/// `sparkplane ARGS` as a container of `deployment`'s pod runs it (without the test's platform folder), its
/// stderr into the file `stderr`; stopped when the returned process is dropped. With the pod's ServiceAccount
/// token mounted (`automountServiceAccountToken`) it reaches the simulated cluster as that ServiceAccount,
/// which the cluster authorizes with the chart's RBAC; without it, it finds no cluster at all.
fn spawn_as_pod(platform: &Platform, deployment: &Value, args: &[String], stderr: &Path) -> Process {
    let pod = &deployment["spec"]["template"]["spec"];
    let mut command = sparkplane_testkit::sparkplane_process();
    command.args(args).env("HOME", platform.dir.path()).env_remove("KUBERNETES_SERVICE_HOST");
    if pod["automountServiceAccountToken"] == true {
        let service_account = pod["serviceAccountName"].as_str().expect("the pod's ServiceAccount");
        let kubeconfig = platform.write(
            &format!("kubeconfig-{service_account}"),
            &platform.fake.service_account_kubeconfig(NAMESPACE, service_account),
        );
        command.env("KUBECONFIG", kubeconfig);
    } else {
        command.env("KUBECONFIG", platform.dir.path().join("no-service-account-token"));
    }
    let child = command
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).expect("stderr file"))
        .spawn()
        .expect("starts");
    Process(child)
}

/// The History Server container as the chart runs it, its `--index-dir` moved to `index` (the mounted
/// volume) and its listen address to a free port; what it said on stderr once its list answered.
fn run_history_with_index(platform: &Platform, deployment: &Value, index: &Path) -> String {
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let args: Vec<String> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|a| match a {
            _ if a.starts_with("--listen=") => format!("--listen=127.0.0.1:{port}"),
            _ if a.starts_with("--index-dir=") => format!("--index-dir={}", index.display()),
            _ => a.to_owned(),
        })
        .collect();
    let stderr = index.with_extension(format!("{port}.stderr"));
    let _history = spawn_as_pod(platform, deployment, &args, &stderr);
    wait_for("the History Server to list the logs", || {
        get(port, "/api/v1/applications")
            .and_then(|(_, body)| serde_json::from_str::<Value>(&body).ok())
            .filter(|apps| apps.as_array().is_some_and(|a| !a.is_empty()))
    });
    std::fs::read_to_string(&stderr).expect("stderr")
}

#[test]
fn the_history_servers_persisted_index_is_on_a_volume_of_its_own_and_a_restart_answers_from_it_without_a_warning() {
    let platform = Platform::start();
    let logs =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events");
    let logs = logs.canonicalize().expect("Spark's test event logs");
    let location = json!({"location": logs.display().to_string()});
    let objects = platform.install(&json!({"eventLogs": location, "history": {"signIn": {"mode": "none"}}}));
    let history = find(&objects, "Deployment", "sparkplane-history");
    let pod = &history["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let at = "/var/lib/sparkplane/history-index";
    assert!(container["args"].as_array().expect("args").contains(&json!(format!("--index-dir={at}"))), "{container:#}");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true, "the root stays read-only");
    let mount = container["volumeMounts"].as_array().expect("mounts").iter().find(|m| m["mountPath"] == at);
    let volume_name = mount.expect("the index folder is a mount")["name"].clone();
    let volume = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == volume_name).expect("volume");
    assert_eq!(volume["emptyDir"], json!({"sizeLimit": "1Gi"}), "{volume}");
    assert!(history["spec"].get("strategy").is_none(), "an emptyDir rolls as any Deployment: {}", history["spec"]);

    // Started as the chart starts it, twice over the same volume: no warning either time, and the second
    // answers from the index the first filled.
    let dir = tempfile::tempdir().expect("temp dir");
    let index = dir.path().join("history-index");
    std::fs::create_dir(&index).expect("the volume");
    let first = run_history_with_index(&platform, history, &index);
    assert!(!first.contains("warning"), "{first}");
    assert!(index.join("index.redb").is_file(), "{first}");
    let second = run_history_with_index(&platform, history, &index);
    assert!(!second.contains("warning"), "{second}");
    assert!(second.contains("applications from the persisted index"), "{second}");

    // A claim of the operator's: the index outlives the pod, and the Deployment replaces its pod rather than
    // rolling (one writer per index).
    let objects = platform.release(
        "upgrade",
        &chart(),
        &json!({"eventLogs": location, "history": {"index": {"existingClaim": "history-index"}, "signIn": {"mode": "none"}}}),
    );
    let objects = manifest_of(&objects);
    let history = find(&objects, "Deployment", "sparkplane-history");
    let volumes = history["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes").clone();
    let claimed = volumes.iter().find(|v| v["name"] == volume_name).expect("volume");
    assert_eq!(claimed["persistentVolumeClaim"], json!({"claimName": "history-index"}), "{claimed}");
    assert_eq!(history["spec"]["strategy"], json!({"type": "Recreate"}));

    // Spark's own History Server has no such index.
    let objects = manifest_of(&platform.release(
        "upgrade",
        &chart(),
        &json!({"eventLogs": location, "history": {"implementation": "spark", "signIn": {"mode": "none"}}}),
    ));
    let spark = find(&objects, "Deployment", "sparkplane-history");
    let volumes = spark["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes").clone();
    assert!(volumes.iter().all(|v| v["name"] != volume_name), "{volumes:?}");
}

/// The rules of a ClusterRole that name Kueue's group.
fn kueue_rules(objects: &[Value], role: &str) -> Vec<Value> {
    group_rules(objects, role, "kueue.x-k8s.io")
}

/// The rules of a ClusterRole that name the API group `group`.
fn group_rules(objects: &[Value], role: &str, group: &str) -> Vec<Value> {
    let rules = find(objects, "ClusterRole", role)["rules"].as_array().cloned().unwrap_or_default();
    rules.into_iter().filter(|r| r["apiGroups"].as_array().is_some_and(|g| g.contains(&json!(group)))).collect()
}

/// Kueue's objects a team needs, created as an admin with kubectl.
const KUEUE_SETUP: &str = "apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: default-flavor}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: shared}
spec:
  namespaceSelector: {}
  resourceGroups:
  - coveredResources: [cpu, memory]
    flavors:
    - name: default-flavor
      resources:
      - {name: cpu, nominalQuota: \"64\"}
      - {name: memory, nominalQuota: 512Gi}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: default, namespace: data-eng}
spec: {clusterQueue: shared}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: WorkloadPriorityClass
metadata: {name: nightly}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: nightly}
value: 100
";

#[test]
fn with_kueue_enabled_the_operator_runs_with_kueue_and_holds_only_what_kueue_mode_calls() {
    let platform = Platform::start();
    platform.fake.install_kueue();
    // Off by default: no flag, no rule naming Kueue.
    let objects = platform.install(&json!({"operator": {"replicas": 1}}));
    let args = find(&objects, "Deployment", "sparkplane-operator")["spec"]["template"]["spec"]["containers"][0]["args"]
        .clone();
    assert!(!args.to_string().contains("--kueue"), "{args}");
    assert_eq!(kueue_rules(&objects, "sparkplane-operator"), Vec::<Value>::new());
    assert_eq!(kueue_rules(&objects, "sparkplane-operator-cluster"), Vec::<Value>::new());
    assert_eq!(
        group_rules(&objects, "sparkplane-operator", "batch"),
        [json!({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "create"]})]
    );

    // Enabled: the flag, and exactly the calls Kueue mode makes (sparkplane_operator::kueue).
    let objects = manifest_of(&platform.release(
        "upgrade",
        &chart(),
        &json!({"operator": {"replicas": 1}, "kueue": {"enabled": true}}),
    ));
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(args.as_array().is_some_and(|a| a.contains(&json!("--kueue"))), "{args}");
    assert_eq!(
        kueue_rules(&objects, "sparkplane-operator"),
        [
            json!({"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads"], "verbs": ["list", "watch", "create", "patch", "delete"]}),
            json!({"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloads/status"], "verbs": ["patch"]}),
            json!({"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues"], "verbs": ["get"]}),
        ]
    );
    assert_eq!(
        kueue_rules(&objects, "sparkplane-operator-cluster"),
        [
            json!({"apiGroups": ["kueue.x-k8s.io"], "resources": ["workloadpriorityclasses", "resourceflavors"], "verbs": ["get"]})
        ]
    );
    // The Job route's gate: gated Jobs watched and (un)suspended, in Kueue mode only.
    assert_eq!(
        group_rules(&objects, "sparkplane-operator", "batch"),
        [
            json!({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "create"]}),
            json!({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list", "watch", "patch"]}),
        ]
    );

    // The operator, authorized by those rules alone, runs a job Kueue admits: its Workload carries the
    // priority class's value, and ends Finished with the run.
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let setup = platform.write("kueue.yaml", KUEUE_SETUP);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &setup.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    let good = platform.write("good.yaml", &format!("{GOOD}  priorityClassName: nightly\n"));
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let done = platform.wait_until_succeeded();
    let seen: Vec<String> = done["status"]["transitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| format!("{}/{}", t["state"].as_str().unwrap_or_default(), t["reason"].as_str().unwrap_or_default()))
        .collect();
    assert!(seen.contains(&"Queued/WaitingForAdmission".to_owned()), "{seen:?}");
    // The Workload is finished by the reconcile that sees the ended run, so
    // it may trail the SparkJob's status by one reconcile.
    let workload = wait_for("the run's Workload to be Finished", || {
        platform
            .workload()
            .filter(|w| w["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Finished"))
    });
    assert_eq!(workload["spec"]["priority"], 100, "{workload:#}");
    let finished = workload["status"]["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Finished");
    assert_eq!(finished.map(|c| c["reason"].clone()), Some(json!("Succeeded")), "{workload:#}");
}

/// The built-in queue's small-cluster mode (ADR 0073): `operator.queuePool`
/// gives the operator `--queue-pool` and, for the nodes' pool only, the
/// cluster-wide reads of nodes and pods it makes; with a fixed capacity,
/// `--queue-capacity` and no such rule. The operator, authorized by the
/// chart's rules alone, runs a job through the pool.
#[test]
fn with_the_queue_pool_the_operator_shares_the_nodes_room_and_reads_only_nodes_and_pods_more() {
    let platform = Platform::start();
    // A node the pool is made of (the default simulated cluster stores no Node).
    platform
        .fake
        .set_cluster(Cluster { nodes: vec![sparkplane_fakekube::Node::new("node-a", 8, 32)], ..Cluster::default() });
    let node_rule = json!({"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list", "watch"]});
    let cluster_rules = |objects: &[Value]| group_rules(objects, "sparkplane-operator-cluster", "");
    let args_of = |objects: &[Value]| -> Vec<Value> {
        find(objects, "Deployment", "sparkplane-operator")["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    // Off by default: neither flag nor rule.
    let objects = platform.install(&json!({"operator": {"replicas": 1}}));
    assert!(!args_of(&objects).iter().any(|a| a.as_str().is_some_and(|a| a.starts_with("--queue-"))));
    assert_eq!(cluster_rules(&objects), Vec::<Value>::new());
    // A fixed capacity: the flag, no rule.
    let fixed = json!({"operator": {"replicas": 1, "queuePool": {"enabled": true, "capacity": "cpu=16,memory=64Gi"}}});
    let objects = manifest_of(&platform.release("upgrade", &chart(), &fixed));
    assert!(args_of(&objects).contains(&json!("--queue-capacity=cpu=16,memory=64Gi")), "{:?}", args_of(&objects));
    assert_eq!(cluster_rules(&objects), Vec::<Value>::new());
    // The nodes' room: the flag and the reads.
    let nodes = json!({"operator": {"replicas": 1, "queuePool": {"enabled": true}}});
    let objects = manifest_of(&platform.release("upgrade", &chart(), &nodes));
    assert!(args_of(&objects).contains(&json!("--queue-pool")), "{:?}", args_of(&objects));
    assert_eq!(cluster_rules(&objects), [node_rule]);
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    let good = platform.write("good.yaml", GOOD);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while platform.job().is_none_or(|j| j["status"]["state"] != "Succeeded") {
        assert!(Instant::now() < deadline, "{:#}", platform.job().unwrap_or_default()["status"]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The data-eng team's Tenant file, as the platform team keeps it (`sparkplane tenant render` reads it):
/// its jobs wait in the LocalQueue `data-eng-batch`.
const TENANT: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: data-eng}
spec:
  team: data-eng
  costCenter: cc-1042
  namespace: data-eng
  queue: {name: data-eng-batch, clusterQueue: shared}
  alerting:
    receivers:
      - name: chat
        slack:
          channel: \"#data-eng\"
          apiUrl: {secret: {name: data-eng-slack, key: webhook-url}}
    warning: [chat]
";

#[test]
fn the_platforms_tenants_reach_the_operator_and_a_job_without_a_queue_waits_in_its_tenants() {
    let platform = Platform::start();
    platform.fake.install_kueue();
    let values =
        json!({"operator": {"replicas": 1}, "kueue": {"enabled": true}, "platform": {"tenants": {"data-eng": TENANT}}});
    let objects = platform.install(&values);
    // The tenant's file, as written, under the operator's platform directory's tenants/.
    let map = find(&objects, "ConfigMap", "sparkplane-platform");
    assert_eq!(map["data"]["tenant-data-eng.yaml"], TENANT, "{map:#}");
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let pod = &deployment["spec"]["template"]["spec"];
    let args = &pod["containers"][0]["args"];
    assert!(args.as_array().is_some_and(|a| a.contains(&json!("--platform-dir=/etc/sparkplane/platform"))), "{args}");
    let items = &pod["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "platform").expect("volume")["configMap"]
        ["items"];
    assert_eq!(items, &json!([{"key": "tenant-data-eng.yaml", "path": "tenants/data-eng.yaml"}]));
    // Kueue's objects for the team: its LocalQueue is the tenant's, and there is no `default` one, so a job
    // that fell back to Kueue's default queue would be refused rather than run.
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let setup = KUEUE_SETUP.replace(
        "metadata: {name: default, namespace: data-eng}",
        "metadata: {name: data-eng-batch, namespace: data-eng}",
    );
    let setup = platform.write("kueue.yaml", &setup);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &setup.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    // GOOD names no queue: applied with kubectl, the operator gives it the tenant's.
    assert!(!GOOD.contains("queue"));
    let good = platform.write("good.yaml", GOOD);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    platform.wait_until_succeeded();
    let workload = platform.workload().expect("the run's Workload");
    assert_eq!(workload["spec"]["queueName"], "data-eng-batch", "{workload:#}");
    assert_eq!(workload["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "data-eng-batch", "{workload:#}");
}

#[test]
fn with_volcano_enabled_the_operator_may_create_a_gangs_pod_group_and_only_then() {
    let platform = Platform::start();
    // Volcano's own PodGroup CRD (v1.15.1), as its release installs it.
    let crd = std::fs::read_to_string(repo().join("crates/sparkplane-fakekube/tests/data/volcano/podgroups.json"))
        .expect("Volcano's CRD");
    platform.fake.insert(serde_json::from_str(&crd).expect("JSON")).expect("the CRD is stored");
    let volcano_rules = |objects: &[Value]| -> Vec<Value> {
        let rules =
            find(objects, "ClusterRole", "sparkplane-operator")["rules"].as_array().cloned().unwrap_or_default();
        rules.into_iter().filter(|r| r["apiGroups"] == json!(["scheduling.volcano.sh"])).collect()
    };
    let objects = platform.install(&json!({"operator": {"replicas": 1}}));
    assert_eq!(volcano_rules(&objects), Vec::<Value>::new());
    let objects = manifest_of(&platform.release(
        "upgrade",
        &chart(),
        &json!({"operator": {"replicas": 1}, "volcano": {"enabled": true}}),
    ));
    assert_eq!(
        volcano_rules(&objects),
        [json!({"apiGroups": ["scheduling.volcano.sh"], "resources": ["podgroups"], "verbs": ["create", "patch"]})]
    );
    // The operator, authorized by the chart's rules, runs a Volcano gang job: its PodGroup is applied.
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    let gang = platform.write("gang.yaml", &format!("{GOOD}  scheduling: {{gang: Volcano}}\n"));
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &gang.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    platform.wait_until_succeeded();
    let applied = platform.fake.requests().into_iter().any(|r| {
        r.method == "PATCH"
            && r.path.starts_with("/apis/scheduling.volcano.sh/v1beta1/namespaces/data-eng/podgroups/")
            && r.body.as_ref().is_some_and(|b| b["spec"]["minMember"] == 1)
    });
    assert!(applied, "the run's PodGroup was applied");
}

/// Kubeflow's CRD in the chart's `files/kubeflow/FILE`, as vendored.
fn kubeflow_crd(file: &str) -> Value {
    let path = chart().join("files/kubeflow").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_documents(&Source::new(file, text))
        .expect("Kubeflow's CRD parses")
        .iter()
        .map(|d| d.to_json())
        .find(|d| d["kind"] == "CustomResourceDefinition")
        .expect("a CRD")
}

const KUBEFLOW_CRDS: [(&str, &str); 3] = [
    ("sparkapplications.sparkoperator.k8s.io", "sparkoperator.k8s.io_sparkapplications.yaml"),
    ("scheduledsparkapplications.sparkoperator.k8s.io", "sparkoperator.k8s.io_scheduledsparkapplications.yaml"),
    ("sparkconnects.sparkoperator.k8s.io", "sparkoperator.k8s.io_sparkconnects.yaml"),
];

#[test]
fn with_kubeflow_enabled_and_its_crds_installed_the_operator_runs_a_sparkapplication_with_the_charts_rbac() {
    let platform = Platform::start();
    // Off by default: no Kubeflow CRD, flag or rule.
    let objects = platform.install(&json!({"operator": {"replicas": 1}}));
    assert!(
        !objects
            .iter()
            .any(|o| o["kind"] == "CustomResourceDefinition" && o["spec"]["group"] == "sparkoperator.k8s.io")
    );
    let args =
        &find(&objects, "Deployment", "sparkplane-operator")["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(!args.to_string().contains("--kubeflow"), "{args}");
    assert_eq!(group_rules(&objects, "sparkplane-operator", "sparkoperator.k8s.io"), Vec::<Value>::new());

    // Enabled with the CRDs: Kubeflow's own schemas, kept on uninstall, the flag and the rules it needs.
    let objects = manifest_of(&platform.release(
        "upgrade",
        &chart(),
        &json!({"operator": {"replicas": 1}, "kubeflow": {"enabled": true, "installCRDs": true}}),
    ));
    for (name, file) in KUBEFLOW_CRDS {
        let shipped = find(&objects, "CustomResourceDefinition", name);
        assert_eq!(
            difference(&kubeflow_crd(file)["spec"], &shipped["spec"], "spec"),
            None,
            "{name}: Kubeflow's schema, unchanged"
        );
        assert_eq!(shipped["metadata"]["annotations"]["helm.sh/resource-policy"], "keep", "{name}");
        let (code, stdout, stderr) = platform.kubectl(&["get", "crd", name, "-o", "name"]);
        assert_eq!(code, Some(0), "{name} is stored: {stderr}");
        assert_eq!(stdout.trim(), format!("customresourcedefinition.apiextensions.k8s.io/{name}"));
    }
    let deployment = find(&objects, "Deployment", "sparkplane-operator").clone();
    let args = &deployment["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(args.as_array().is_some_and(|a| a.contains(&json!("--kubeflow"))), "{args}");
    assert_eq!(group_rules(&objects, "sparkplane-operator", "sparkoperator.k8s.io").len(), 3);

    // The operator, authorized by the chart's rules alone, runs a SparkApplication applied with kubectl.
    let (code, _, stderr) = platform.kubectl(&["create", "namespace", "data-eng"]);
    assert_eq!(code, Some(0), "{stderr}");
    let _operator = run_operator(&platform, &deployment, "sparkplane-operator-0");
    let labels = json!({"sparkplane.dev/operator": "sparkplane", "sparkplane.dev/team": "data-eng",
        "sparkplane.dev/cost-center": "cc-1042"});
    let app = platform.write("spark-pi.json", &kubeflow_support::spark_pi("spark-pi", "data-eng", labels).to_string());
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &app.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let done = wait_for("the SparkApplication to end", || {
        platform
            .fake
            .object("sparkoperator.k8s.io/v1beta2", "SparkApplication", Some("data-eng"), "spark-pi")
            .filter(|a| matches!(a["status"]["applicationState"]["state"].as_str(), Some("COMPLETED" | "FAILED")))
    });
    assert_eq!(done["status"]["applicationState"]["state"], "COMPLETED", "{:#}", done["status"]);

    // And Kubeflow's SparkConnect example, opted in: the server's objects applied and its status written.
    let server =
        platform.write("spark-connect.json", &kubeflow_support::spark_connect("notebooks", "data-eng").to_string());
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &server.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let served = wait_for("the SparkConnect's status", || {
        platform
            .fake
            .object("sparkoperator.k8s.io/v1alpha1", "SparkConnect", Some("data-eng"), "notebooks")
            .filter(|c| c["status"]["state"].is_string())
    });
    assert!(
        platform.fake.object("apps/v1", "StatefulSet", Some("data-eng"), "notebooks-connect").is_some(),
        "{:#}",
        served["status"]
    );
}

#[test]
fn with_kubeflows_crds_already_installed_the_chart_leaves_them_to_their_owner() {
    let platform = Platform::start();
    // Kubeflow's CRDs as its own chart or kubectl put them there, before sparkplane.
    let mut theirs = kubeflow_crd(KUBEFLOW_CRDS[0].1);
    theirs["metadata"]["labels"] = json!({"app.kubernetes.io/name": "spark-operator"});
    let file = platform.write("theirs.json", &theirs.to_string());
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &file.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");

    let objects = platform.install(&json!({"kubeflow": {"enabled": true, "installCRDs": true}}));
    let shipped: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition" && o["spec"]["group"] == "sparkoperator.k8s.io")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        shipped,
        [KUBEFLOW_CRDS[1].0, KUBEFLOW_CRDS[2].0],
        "only the CRDs nobody installed come with the release"
    );
    let stored = platform
        .fake
        .object("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, KUBEFLOW_CRDS[0].0)
        .expect("theirs is still there");
    assert_eq!(stored["metadata"]["labels"], json!({"app.kubernetes.io/name": "spark-operator"}), "left as it was");
    assert!(stored["metadata"]["annotations"]["meta.helm.sh/release-name"].is_null(), "not adopted by the release");
}
