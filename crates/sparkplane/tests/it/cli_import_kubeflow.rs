//! `import kubeflow` on the Kubeflow Spark Operator's own examples
//! (tests/data/kubeflow-examples, copied unchanged; see its README): each file
//! converts and its SparkJob validates, and what the import writes is a job
//! file `validate`, `render` and `apply` (on the simulated cluster) take as it
//! is, the ConfigMaps kept beside the job rendered and applied with it
//! (ADR 0081); the pod-template example keeps its ConfigMaps and lists its
//! Secrets by key name only, a directory is read in sorted order, and bad
//! input fails with the file, document, line and field, exit 2, and nothing
//! written — a job file with two SparkJobs, a Secret or another kind too.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sparkplane_testkit::sparkplane;

use crate::kubeflow_support::{KubeflowCluster, contained};

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
            output_validates_renders_and_applies($file);
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

/// The pod-template example's output holds its two ConfigMaps beside the
/// SparkJob: `render` prints them with the job's objects, before the pods that
/// read them, and `apply` stores them where the job goes; a command that reads
/// one document still refuses the file as it always did.
#[test]
fn example_pod_template_output_renders_and_applies_its_configmaps_with_the_job() {
    let checked = output_validates_renders_and_applies("spark-pi-pod-template.yaml");
    let titles: Vec<String> = checked.kept.iter().map(title).collect();
    assert_eq!(titles, ["ConfigMap default/test-configmap", "ConfigMap default/test-configmap-2"]);
    let stored = checked.cluster.object("ConfigMap", "default", "test-configmap").expect("applied");
    assert_eq!(stored["data"], json!({"KEY1": "VALUE1"}));
    let stored = checked.cluster.object("ConfigMap", "default", "test-configmap-2").expect("applied");
    assert_eq!(stored["data"], json!({"KEY3": "VALUE3"}));
    assert!(checked.cluster.object("Secret", "default", "test-secret").is_none(), "a Secret is never applied");
    let pod = checked.rendered.iter().position(|o| o["kind"] == "Pod").expect("a driver pod is rendered");
    for name in ["test-configmap", "test-configmap-2"] {
        let at = checked.rendered.iter().position(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name);
        assert!(at.is_some_and(|at| at < pod), "{name} is rendered before the pod that reads it");
    }
    let file = checked.job_file.to_str().expect("utf-8");
    let one = checked.cluster.sparkplane(&["resolve", file]);
    assert_eq!(one.code, Some(2), "{}", one.stderr);
    assert!(one.stderr.contains(&format!("{file} holds 3 YAML documents; one is expected")), "{}", one.stderr);
}

/// `imported` with `added` written after it into `name` in the cluster's
/// folder: the file, its name as messages show it, and the line of the added
/// document's `kind` (its `---`, `apiVersion`, then `kind`).
fn job_file_with(cluster: &KubeflowCluster, name: &str, imported: &str, added: &str) -> (PathBuf, String, usize) {
    let file = cluster.dir.path().join(name);
    std::fs::write(&file, format!("{imported}{added}")).expect("write");
    let shown = file.display().to_string();
    (file, shown, imported.lines().count() + 3)
}

/// Two SparkJobs in one file (two applications imported together) are
/// refused by each of the three commands, at the second one's `kind`.
#[test]
fn a_job_file_with_two_sparkjobs_is_refused_at_the_second() {
    let cluster = KubeflowCluster::start(300);
    let first = import_output(&cluster, "spark-pi-configmap.yaml");
    let second = import_output(&cluster, "spark-pi.yaml");
    let (file, shown, line) = job_file_with(&cluster, "two.yaml", &first, &second);
    refused_by_every_job_file_command(
        &cluster,
        &file,
        &format!(
            "{shown}:{line}:7: error: kind: document 2 is a second SparkJob (`default/spark-pi`); a job file holds \
             one\n  help: put each SparkJob in a file of its own, with the ConfigMaps and ServiceAccounts it uses \
             (`sparkplane import kubeflow APP.yaml --out JOB.yaml` imports one application)\n  note: {shown}:3:7: \
             the first SparkJob\n"
        ),
    );
}

/// A Secret written back beside the job (import leaves it out) is refused,
/// and its value is in no message.
#[test]
fn a_job_file_with_a_secret_is_refused_without_its_value() {
    let cluster = KubeflowCluster::start(300);
    let output = import_output(&cluster, "spark-pi-pod-template.yaml");
    let secret = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: test-secret\n  namespace: default\nstringData:\n  KEY2: VALUE2\n";
    let (file, shown, line) = job_file_with(&cluster, "with-secret.yaml", &output, secret);
    refused_by_every_job_file_command(
        &cluster,
        &file,
        &format!(
            "{shown}:{line}:7: error: kind: document 4 is a Secret (`default/test-secret`); a job file never holds \
             one\n  help: remove it from this file and keep the Secret in the cluster (apply it from a file of its \
             own, or `kubectl create secret`): the SparkJob refers to it by name, and sparkplane never prints or \
             applies a Secret's values (ADR 0071)\n"
        ),
    );
}

/// Any kind but a v1 ConfigMap or ServiceAccount beside the job is refused with where it is and what to do.
#[test]
fn a_job_file_with_another_kind_is_refused_with_what_to_do() {
    let cluster = KubeflowCluster::start(300);
    let output = import_output(&cluster, "spark-pi-pod-template.yaml");
    let role = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: spark-role\n  namespace: default\nrules: []\n";
    let (file, shown, line) = job_file_with(&cluster, "with-role.yaml", &output, role);
    refused_by_every_job_file_command(
        &cluster,
        &file,
        &format!(
            "{shown}:{line}:7: error: kind: document 4 is a `rbac.authorization.k8s.io/v1` Role \
             (`default/spark-role`); a job file holds one SparkJob and, beside it, the v1 ConfigMaps and \
             ServiceAccounts its pods read\n  help: move the Role to a file of its own and apply it as before \
             (`kubectl apply -f`)\n"
        ),
    );
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
    let left: Vec<_> =
        std::fs::read_dir(dir.path()).expect("the folder").map(|e| e.expect("entry").file_name()).collect();
    assert!(left.iter().all(|name| !name.to_string_lossy().ends_with("tmp")), "a temporary file is left: {left:?}");
}

/// Kubeflow's examples name no owner, which a built-in deny policy asks of
/// every job: these flags give one without touching the file.
const OWNER: [&str; 4] = ["--set", "spec.team=data-eng", "--set", "spec.costCenter=cc-42"];

/// What [`output_validates_renders_and_applies`] found.
struct Checked {
    cluster: KubeflowCluster,
    job_file: PathBuf,
    /// The documents the import kept beside the SparkJob, as it wrote them.
    kept: Vec<Value>,
    /// `render`'s objects.
    rendered: Vec<Value>,
}

fn title(object: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    format!(
        "{} {}/{}",
        text(&object["kind"]),
        text(&object["metadata"]["namespace"]),
        text(&object["metadata"]["name"])
    )
}

fn documents(name: &str, text: &str) -> Vec<Value> {
    sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new(name, text))
        .expect("a YAML stream")
        .iter()
        .map(|d| d.to_json())
        .collect()
}

/// What `import kubeflow` writes for `example` (into the cluster's folder).
fn import_output(cluster: &KubeflowCluster, example: &str) -> String {
    let out = cluster.dir.path().join(format!("{}.imported.yaml", example.replace('/', "-")));
    let path = repo().join(EXAMPLES).join(example);
    let r = cluster.sparkplane(&[
        "import",
        "kubeflow",
        path.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, Some(0), "{example}: {}", r.stderr);
    std::fs::read_to_string(&out).expect("written")
}

/// `import kubeflow EXAMPLE --out job.yaml`, then `validate`, `render` and
/// `apply` (on the simulated cluster) of job.yaml as written: each succeeds,
/// and every document the import kept beside the SparkJob is checked,
/// rendered in the job's namespace, and stored with the job.
fn output_validates_renders_and_applies(example: &str) -> Checked {
    let cluster = KubeflowCluster::start(300);
    let written = import_output(&cluster, example);
    let job_file = cluster.dir.path().join("job.yaml");
    std::fs::write(&job_file, &written).expect("write");
    let file = job_file.to_str().expect("utf-8");
    let (jobs, kept): (Vec<Value>, Vec<Value>) =
        documents("job.yaml", &written).into_iter().partition(|d| d["kind"] == "SparkJob");
    assert_eq!(jobs.len(), 1, "{example}: one SparkJob");
    let namespace = jobs[0]["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
    let name = jobs[0]["metadata"]["name"].as_str().expect("a name").to_owned();
    let mut beside: Vec<(String, String)> = kept
        .iter()
        .map(|k| (k["kind"].as_str().unwrap_or("").into(), k["metadata"]["name"].as_str().unwrap_or("").into()))
        .collect();
    beside.sort();

    let valid = cluster.sparkplane(&["validate", file, "-o", "json"]);
    assert_eq!(valid.code, Some(0), "{example}: validate: {}{}", valid.stdout, valid.stderr);
    let summary: Value = serde_json::from_str(&valid.stdout).expect("JSON");
    let mut checked: Vec<(String, String)> = summary["companions"]
        .as_array()
        .expect("companions")
        .iter()
        .map(|c| (c["kind"].as_str().unwrap_or("").into(), c["name"].as_str().unwrap_or("").into()))
        .collect();
    checked.sort();
    assert_eq!(checked, beside, "{example}: validate checks what is beside the job");

    let render = |args: &[&str]| cluster.sparkplane(&[&["render", file][..], args, &OWNER[..]].concat());
    let rendered = render(&[]);
    assert_eq!(rendered.code, Some(0), "{example}: render: {}", rendered.stderr);
    assert_eq!(render(&[]).stdout, rendered.stdout, "{example}: render is deterministic");
    let objects = documents("render", &rendered.stdout);
    assert!(objects.len() > kept.len(), "{example}: the job's own objects are rendered");
    for document in &kept {
        let mut expected = document.clone();
        expected["metadata"]["namespace"] = json!(namespace);
        let found = objects.iter().filter(|o| title(o) == title(&expected)).collect::<Vec<_>>();
        assert_eq!(
            found,
            [&expected],
            "{example}: {} is rendered as written, in the job's namespace",
            title(&expected)
        );
    }

    let applied = cluster.sparkplane(&[&["apply", file, "-o", "json"][..], &OWNER[..]].concat());
    assert_eq!(applied.code, Some(0), "{example}: apply: {}{}", applied.stdout, applied.stderr);
    let result: Value = serde_json::from_str(&applied.stdout).expect("JSON");
    assert_eq!(result["companions"].as_array().map(Vec::len), Some(kept.len()), "{result:#}");
    let job = cluster.fake.object(sparkplane_api::API_VERSION, "SparkJob", Some(&namespace), &name);
    assert!(job.is_some(), "{example}: the SparkJob {namespace}/{name} is stored");
    for document in &kept {
        let kind = document["kind"].as_str().unwrap_or("");
        let object_name = document["metadata"]["name"].as_str().unwrap_or("");
        let stored = cluster.fake.object("v1", kind, Some(&namespace), object_name);
        let stored = stored.unwrap_or_else(|| panic!("{example}: {kind} {object_name} is applied with the job"));
        let mut expected = document.clone();
        expected["metadata"]["namespace"] = json!(namespace);
        if let Err(difference) = contained(&expected, &stored, kind) {
            panic!("{example}: {kind} {object_name} is stored as written: {difference}");
        }
    }
    Checked { cluster, job_file, kept, rendered: objects }
}

/// `validate`, `render` and `apply` of `file` each exit 2 with exactly
/// `expected` on stderr and nothing on stdout, and nothing reaches the cluster.
fn refused_by_every_job_file_command(cluster: &KubeflowCluster, file: &Path, expected: &str) {
    let file = file.to_str().expect("utf-8");
    for command in ["validate", "render", "apply"] {
        let r = cluster.sparkplane(&[command, file]);
        assert_eq!(r.code, Some(2), "{command}: {}", r.stderr);
        assert_eq!(r.stderr, expected, "{command}");
        assert_eq!(r.stdout, "", "{command}");
    }
    let stored: Vec<String> = cluster
        .fake
        .objects()
        .iter()
        .filter(|o| o["kind"] == "SparkJob" || o["metadata"]["name"].as_str().is_some_and(|n| n.starts_with("test-")))
        .map(title)
        .collect();
    assert!(stored.is_empty(), "nothing is applied: {stored:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
