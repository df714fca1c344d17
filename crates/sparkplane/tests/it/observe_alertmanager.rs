//! `sparkplane observe alertmanager` checked by Alertmanager's own tools
//! (Debian prometheus-alertmanager 0.25, installed by `need_alertmanager`):
//! `amtool check-config` accepts the file, `amtool config routes test` sends
//! every team's every severity to the receivers its Tenant file names, and a
//! real Alertmanager started on 127.0.0.1 applies the inhibition rules.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use sparkplane_testkit::sparkplane;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const ML: &str = r##"apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: ml}
spec:
  team: ml
  costCenter: cc-7
  apiServerCidrs: [10.0.0.1/32]
  alerting:
    receivers:
      - name: genie
        opsgenie: {apiKey: {file: /etc/alertmanager/opsgenie-ml}}
      - name: mail
        email: {to: ml-oncall@example.com}
      - name: hook
        webhook:
          url: https://hooks.example.com/ml
          bearerToken: {secret: {name: ml-hook, key: token}}
    critical: [genie]
    warning: [mail]
    info: [hook]
"##;

const ANALYTICS: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: analytics}
spec: {team: analytics, costCenter: cc-9, apiServerCidrs: [10.0.0.1/32]}
";

/// Tenants: the example data-eng (PagerDuty + Slack), ml (Opsgenie, email, webhook) and analytics (none).
fn tenants() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(repo().join("examples/tenants/data-eng.yaml"), dir.path().join("data-eng.yaml")).expect("copy");
    std::fs::write(dir.path().join("ml.yaml"), ML).expect("ml");
    std::fs::write(dir.path().join("analytics.yaml"), ANALYTICS).expect("analytics");
    dir
}

fn generate(dir: &Path) -> (PathBuf, String) {
    let out = sparkplane()
        .args(["observe", "alertmanager", "--tenants"])
        .arg(dir)
        .args(["--smtp-smarthost", "smtp.example.com:587", "--smtp-from", "alerts@example.com"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, &out.stdout).expect("write config");
    (path, stderr)
}

fn amtool(args: &[&str]) -> (bool, String) {
    let out = Process::new("amtool").args(args).output().expect("amtool runs (need_alertmanager installs it)");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn amtool_accepts_the_configuration_and_routes_every_team_and_severity_as_declared() {
    let dir = tenants();
    let (config, stderr) = generate(dir.path());
    assert!(
        stderr.contains("team `analytics` declares no alert receivers: its alerts go to the platform route"),
        "{stderr}"
    );
    let file = format!("--config.file={}", config.display());
    let (ok, text) = amtool(&["check-config", &config.to_string_lossy()]);
    assert!(ok, "{text}");
    let table = [
        ("data-eng", "critical", "data-eng/pager,data-eng/chat"),
        ("data-eng", "warning", "data-eng/chat"),
        ("data-eng", "info", "null"),
        ("ml", "critical", "ml/genie"),
        ("ml", "warning", "ml/mail"),
        ("ml", "info", "ml/hook"),
        ("analytics", "critical", "platform"),
        ("analytics", "warning", "platform"),
        ("nobody", "critical", "platform"),
    ];
    for (team, severity, receivers) in table {
        let team_label = format!("team={team}");
        let severity_label = format!("severity={severity}");
        let verify = format!("--verify.receivers={receivers}");
        let (ok, text) = amtool(&["config", "routes", "test", &file, &verify, &team_label, &severity_label]);
        assert!(ok, "{team} {severity}: {text}");
    }
    // The test itself can fail: a wrong expectation is refused by amtool.
    let (ok, _) =
        amtool(&["config", "routes", "test", &file, "--verify.receivers=ml/hook", "team=ml", "severity=critical"]);
    assert!(!ok);
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(text.contains("api_key_file: /etc/alertmanager/opsgenie-ml"), "{text}");
    assert!(text.contains("credentials_file: /etc/alertmanager/secrets/ml-hook/token"), "{text}");
    assert!(text.contains("smtp_smarthost: \"smtp.example.com:587\""), "{text}");
}

struct Alertmanager {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn start_alertmanager(config: &Path) -> Alertmanager {
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = Process::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", data.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Alertmanager starts (need_alertmanager installs it)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ureq::get(&format!("{url}/-/ready")).call().is_err() {
        assert!(Instant::now() < deadline, "Alertmanager did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    Alertmanager { child, url, _data: data }
}

fn alert(name: &str, severity: &str, sparkjob: Option<&str>) -> serde_json::Value {
    let mut labels =
        serde_json::json!({"alertname": name, "severity": severity, "team": "data-eng", "namespace": "data-eng"});
    if let Some(job) = sparkjob {
        labels["sparkjob"] = job.into();
    }
    serde_json::json!({"labels": labels})
}

#[test]
fn a_real_alertmanager_silences_an_applications_warnings_under_its_critical_and_job_alerts_under_exporter_down() {
    let dir = tenants();
    let (config, _) = generate(dir.path());
    let am = start_alertmanager(&config);
    let alerts = serde_json::json!([
        alert("SparkJobHighFailureRate", "critical", Some("orders")),
        alert("SparkJobFailed", "warning", Some("orders")),
        alert("SparkJobFailed", "warning", Some("trips")),
        alert("SparkplaneExporterDown", "critical", None),
        alert("SparkJobLargeSpill", "warning", Some("trips")),
        alert("SparkDriverPodNotReady", "warning", Some("trips")),
        // Not computed from the exporter: only the critical-over-warning rule applies.
        alert("SparkDriverCrashLooping", "critical", Some("orders")),
        alert("SparkExecutorPodsPending", "warning", Some("orders")),
    ]);
    ureq::post(&format!("{}/api/v2/alerts", am.url)).send_json(&alerts).expect("alerts accepted");
    // Inhibition is evaluated when alerts are listed; give the dispatcher a moment.
    let deadline = Instant::now() + Duration::from_secs(20);
    // Alertmanager applies the inhibitions one by one: wait until all of them hold (or the deadline).
    let expected: Vec<(String, String, String)> = [
        ("SparkDriverCrashLooping", "orders", "active"),
        ("SparkDriverPodNotReady", "trips", "active"),
        ("SparkExecutorPodsPending", "orders", "suppressed"),
        ("SparkJobFailed", "orders", "suppressed"),
        ("SparkJobFailed", "trips", "suppressed"),
        ("SparkJobHighFailureRate", "orders", "suppressed"),
        ("SparkJobLargeSpill", "trips", "suppressed"),
        ("SparkplaneExporterDown", "-", "active"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    let state = loop {
        let body: serde_json::Value = ureq::get(&format!("{}/api/v2/alerts", am.url))
            .call()
            .and_then(|mut r| r.body_mut().read_json())
            .expect("alerts listed");
        let mut state: Vec<(String, String, String)> = body
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or_default().to_owned(),
                    a["labels"]["sparkjob"].as_str().unwrap_or("-").to_owned(),
                    a["status"]["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        state.sort();
        if state == expected || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(state, expected);
}

#[test]
fn a_receiver_with_an_unknown_name_or_an_inline_credential_is_refused_with_its_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = ML
        .replace("critical: [genie]", "critical: [genie, pagr]")
        .replace("https://hooks.example.com/ml", "https://user:pw@hooks.example.com/ml");
    std::fs::write(dir.path().join("ml.yaml"), bad).expect("write");
    let out = sparkplane().args(["observe", "alertmanager", "--tenants"]).arg(dir.path()).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing is written on error");
    assert!(stderr.contains("ml.yaml:16:"), "the webhook URL's line: {stderr}");
    assert!(stderr.contains("the webhook URL carries credentials"), "{stderr}");
    assert!(stderr.contains("ml.yaml:18:"), "the critical list's line: {stderr}");
    assert!(stderr.contains("no receiver is named `pagr`"), "{stderr}");
    assert!(stderr.contains("name one of: genie, mail, hook"), "{stderr}");
    assert!(!stderr.contains("user:pw"), "the credential is not echoed: {stderr}");
}

/// prometheus-operator v0.93.0's AlertmanagerConfig v1alpha1 schema, made
/// strict: an object with declared properties takes no others, as the API
/// server's strict field validation (`kubectl apply --validate=strict`) refuses them.
fn alertmanager_config_schema() -> serde_json::Value {
    fn strict(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), false.into());
                }
                map.values_mut().for_each(strict);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strict),
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/prometheus-operator/alertmanagerconfig-v1alpha1.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("schema JSON");
    strict(&mut schema);
    schema
}

#[test]
fn alertmanager_config_resources_are_valid_for_the_prometheus_operator_and_refuse_file_references() {
    let dir = tenants();
    // ml's Opsgenie key is a file: not possible in a resource.
    let out = sparkplane()
        .args(["observe", "alertmanager", "--format", "alertmanagerconfig", "--tenants"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("tenant `ml`: receiver `genie`: opsgenie.apiKey is a file reference; an AlertmanagerConfig takes Kubernetes Secrets only"),
        "{stderr}"
    );

    let ml = ML.replace("{file: /etc/alertmanager/opsgenie-ml}", "{secret: {name: ml-opsgenie, key: api-key}}");
    std::fs::write(dir.path().join("ml.yaml"), ml).expect("ml");
    let out = sparkplane()
        .args(["observe", "alertmanager", "--format", "alertmanagerconfig", "-o", "json", "--tenants"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("team `analytics` declares no alert receivers"), "{stderr}");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON List");
    let items = list["items"].as_array().expect("items");
    let namespaces: Vec<&str> = items.iter().filter_map(|o| o["metadata"]["namespace"].as_str()).collect();
    assert_eq!(namespaces, ["data-eng", "ml"]);
    let validator = jsonschema::validator_for(&alertmanager_config_schema()).expect("the schema compiles");
    for item in items {
        let errors: Vec<String> = validator.iter_errors(item).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", item["metadata"]["namespace"]);
    }
    // The strict schema can fail: a misspelt field is refused.
    let mut wrong = items[0].clone();
    wrong["spec"]["route"]["groupby"] = serde_json::json!(["team"]);
    assert!(!validator.is_valid(&wrong));
    let ml = &items[1]["spec"];
    assert_eq!(
        ml["receivers"][2]["webhookConfigs"][0]["httpConfig"]["authorization"]["credentials"],
        serde_json::json!({"name": "ml-hook", "key": "token"})
    );
    assert_eq!(ml["route"]["matchers"][0], serde_json::json!({"name": "team", "value": "ml", "matchType": "="}));
}

#[test]
fn a_team_with_receivers_in_two_tenants_is_refused() {
    let dir = tenants();
    let twin = ML.replace("metadata: {name: ml}", "metadata: {name: ml-two}");
    std::fs::write(dir.path().join("ml-two.yaml"), twin).expect("write");
    let out = sparkplane()
        .args(["observe", "alertmanager", "--tenants"])
        .arg(dir.path())
        .args(["--smtp-smarthost", "smtp.example.com:587", "--smtp-from", "a@example.com"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("team `ml` declares alert receivers in tenants `ml` and `ml-two`; declare them in one"),
        "{stderr}"
    );
}

#[test]
fn an_email_receiver_without_an_smtp_relay_is_refused_and_nothing_is_written() {
    let dir = tenants();
    let out = sparkplane().args(["observe", "alertmanager", "--tenants"]).arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: a tenant has an email receiver but no SMTP relay is given\n  help: pass --smtp-smarthost HOST:PORT \
         and --smtp-from ADDRESS\n"
    );
}
