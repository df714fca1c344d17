//! `import kubeflow` on the Kubeflow Spark Operator's own examples
//! (tests/data/kubeflow-examples, copied unchanged; see its README): each file
//! converts and its SparkJob validates, the pod-template example keeps its
//! ConfigMaps and lists its Secrets by key name only, a directory is read in
//! sorted order, and bad input fails with the file, document, line and field,
//! exit 2, and nothing written.

use std::path::{Path, PathBuf};

use sparkplane_testkit::sparkplane;

const EXAMPLES: &str = "crates/sparkplane/tests/data/kubeflow-examples";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = sparkplane().current_dir(repo()).args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Imports one example with `-o json`, checks every document was converted or
/// kept, and validates each SparkJob with `sparkplane validate`.
fn converts_and_validates(example: &str) -> serde_json::Value {
    let path = format!("{EXAMPLES}/{example}");
    let r = run(&["import", "kubeflow", &path, "-o", "json"]);
    assert_eq!(r.code, Some(0), "{example}: {}", r.stderr);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let items = json["items"].as_array().expect("items");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut jobs = 0;
    for item in items.iter().filter(|i| i["outcome"] == "converted") {
        jobs += 1;
        assert_eq!(item["file"], path.as_str());
        let job = dir.path().join(format!("{}.yaml", item["document"]));
        std::fs::write(&job, sparkplane_documents::yaml::to_yaml(&item["sparkJob"])).expect("write");
        let v = run(&["validate", job.to_str().expect("utf-8")]);
        assert_eq!(v.code, Some(0), "{example}: the imported SparkJob is valid: {}{}", v.stdout, v.stderr);
    }
    assert_eq!(jobs, 1, "{example}: one application per example file");
    assert!(r.stderr.contains("1 converted"), "{}", r.stderr);
    json
}

macro_rules! example_converts {
    ($($test:ident => $file:literal,)*) => {$(
        #[test]
        fn $test() {
            converts_and_validates($file);
        }
    )*};
}

example_converts! {
    example_spark_pi => "spark-pi.yaml",
    example_spark_pi_configmap => "spark-pi-configmap.yaml",
    example_spark_pi_custom_resource => "spark-pi-custom-resource.yaml",
    example_spark_pi_dynamic_allocation => "spark-pi-dynamic-allocation.yaml",
    example_spark_pi_emptydir => "spark-pi-emptydir.yaml",
    example_spark_pi_kube_scheduler => "spark-pi-kube-scheduler.yaml",
    example_spark_pi_prometheus_servlet => "spark-pi-prometheus-servlet.yaml",
    example_spark_pi_python => "spark-pi-python.yaml",
    example_spark_pi_scheduled => "spark-pi-scheduled.yaml",
    example_spark_pi_ttl => "spark-pi-ttl.yaml",
    example_spark_pi_volcano => "spark-pi-volcano.yaml",
    example_spark_pi_yunikorn => "spark-pi-yunikorn.yaml",
    example_spark_connect => "sparkconnect/spark-connect.yaml",
}

#[test]
fn example_pod_template_keeps_its_configmaps_and_lists_its_secrets_without_values() {
    let json = converts_and_validates("spark-pi-pod-template.yaml");
    let outcomes: Vec<(u64, &str, &str, &str)> = json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["document"].as_u64().unwrap_or(0),
                i["kind"].as_str().unwrap_or(""),
                i["name"].as_str().unwrap_or(""),
                i["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, "ConfigMap", "default/test-configmap", "kept"),
            (2, "Secret", "default/test-secret", "left"),
            (3, "ConfigMap", "default/test-configmap-2", "kept"),
            (4, "Secret", "default/test-secret-2", "left"),
            (5, "SparkApplication", "default/spark-pi-pod-template", "converted"),
        ]
    );
    assert_eq!(json["items"][1]["keys"], serde_json::json!(["KEY2"]));

    let path = format!("{EXAMPLES}/spark-pi-pod-template.yaml");
    let r = run(&["import", "kubeflow", &path]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let docs: Vec<serde_json::Value> =
        sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new("stdout", r.stdout.as_str()))
            .expect("a YAML stream")
            .iter()
            .map(|n| n.to_json())
            .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, ["ConfigMap", "ConfigMap", "SparkJob"]);
    assert_eq!(docs[0]["data"]["KEY1"], "VALUE1", "a ConfigMap is kept as written");
    let env = &docs[2]["spec"]["driver"]["podTemplate"]["spec"]["containers"][0]["env"];
    assert_eq!(env[2]["valueFrom"]["secretKeyRef"]["name"], "test-secret", "the job still refers to the Secret: {env}");
    assert!(
        r.stderr
            .contains("spark-pi-pod-template.yaml:25:1: warning: Secret `default/test-secret` left out of the output"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(keys: KEY4)"), "{}", r.stderr);
    assert!(r.stderr.contains("1 converted, 2 kept as written, 2 left out (listed above)"), "{}", r.stderr);
    for secret_value in ["VALUE2", "VALUE4"] {
        for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr), ("-o json", &json.to_string())] {
            assert!(!text.contains(secret_value), "a Secret's value is on {stream}: {text}");
        }
    }
}

#[test]
fn example_prometheus_is_not_yaml_and_is_refused_with_its_line_and_column() {
    // Kubeflow's file keeps a `{IMAGE_REGISTRY}` placeholder unquoted, which YAML reads as a mapping.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.yaml");
    let path = format!("{EXAMPLES}/spark-pi-prometheus.yaml");
    let r = run(&["import", "kubeflow", &path, "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{path}:25:26: error: malformed YAML: while parsing a block mapping, did not find expected key"
        )),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn a_directory_is_read_in_sorted_order_and_one_bad_file_fails_it_whole() {
    let r = run(&["import", "kubeflow", EXAMPLES, "-o", "json"]);
    assert_eq!(r.code, Some(2), "Kubeflow's folder holds the prometheus example, which is not YAML: {}", r.stderr);
    // With -o json the failure is the one JSON document on stdout, and no item of the other files is in it.
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let error = &json["errors"][0];
    assert!(error["file"].as_str().is_some_and(|f| f.ends_with("spark-pi-prometheus.yaml")), "{json}");
    assert_eq!((&error["line"], &error["column"]), (&serde_json::json!(25), &serde_json::json!(26)), "{json}");
    assert_eq!(json["ok"], false);
    assert!(json.get("items").is_none(), "no partial output: {json}");

    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("apps");
    std::fs::create_dir_all(copy.join("sparkconnect")).expect("mkdir");
    for entry in walk(&repo().join(EXAMPLES)) {
        let relative = entry.strip_prefix(repo().join(EXAMPLES)).expect("under");
        if relative.to_str() != Some("spark-pi-prometheus.yaml") && relative.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&entry, copy.join(relative)).expect("copy");
        }
    }
    std::fs::write(copy.join("notes.txt"), "not read").expect("write");
    let out = dir.path().join("all.yaml");
    std::fs::write(&out, "earlier content\n").expect("write");
    let r = run(&["import", "kubeflow", copy.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("14 converted, 2 kept as written, 2 left out"), "{}", r.stderr);
    assert!(
        r.stderr.contains("warning: metadata.name: SparkJob `default/spark-pi` is written twice in the output"),
        "two of Kubeflow's examples share a name: {}",
        r.stderr
    );
    let written = std::fs::read_to_string(&out).expect("written");
    let names: Vec<&str> =
        written.lines().filter_map(|l| l.strip_prefix("  name: ")).filter(|n| n.starts_with("spark")).collect();
    assert_eq!(names.first(), Some(&"spark-pi-configmap"), "sorted by path: {names:?}");
    assert_eq!(names.last(), Some(&"spark-connect"), "sparkconnect/ sorts last: {names:?}");
    for secret_value in ["VALUE2", "VALUE4"] {
        assert!(!written.contains(secret_value) && !r.stderr.contains(secret_value));
    }
}

#[test]
fn a_bad_application_in_a_stream_names_file_document_line_and_field_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("apps.yaml");
    let out = dir.path().join("jobs.yaml");
    std::fs::write(&out, "earlier content\n").expect("write");
    std::fs::write(
        &app,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: spark}\n---\n# the application\n---\napiVersion: sparkoperator.k8s.io/v1beta2\nkind: SparkApplication\nmetadata: {name: pi}\nspec:\n  type: Scala\n  mainApplicationFile: local:///pi.jar\n  driver: {cores: 1, memory: lots}\n  executor: {instances: 1}\n",
    )
    .expect("write");
    let r = run(&["import", "kubeflow", app.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.contains("apps.yaml:13:"), "{}", r.stderr);
    assert!(first.contains("error: spec.driver.memory: "), "{}", r.stderr);
    assert!(first.ends_with(&format!("(document 2 of {})", app.display())), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&out).expect("kept"), "earlier content\n", "nothing half-written");
    assert!(!dir.path().join("jobs.sparkplane-tmp").exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
