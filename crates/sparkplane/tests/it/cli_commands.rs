//! Every command through the real binary, as a user runs it from the
//! repository root: outputs, files written, exit codes.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sparkplane_testkit::sparkplane;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn sparkplane_in_repo() -> Command {
    let mut cmd = sparkplane();
    cmd.current_dir(repo());
    cmd
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = sparkplane_in_repo().args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    let source = sparkplane_documents::Source::new("stdout", text);
    sparkplane_documents::yaml::parse_documents(&source).expect("valid YAML").iter().map(|n| n.to_json()).collect()
}

const JOB: &str = "examples/trips-etl/trips-etl.yaml";

#[test]
fn resolve_applies_every_layer() {
    let r = run(&["resolve", JOB, "--env", "prod", "--set", "executor.instances=6"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let job = &yaml_docs(&r.stdout)[0];
    assert_eq!(job["metadata"]["namespace"], "data-eng-prod", "job environment overlay");
    assert_eq!(job["metadata"]["labels"]["sparkplane.dev/env"], "prod", "platform environment");
    assert_eq!(job["spec"]["sparkVersion"], "3.5.7", "preset");
    assert_eq!(job["spec"]["executor"]["memory"], "6Gi", "job, normalised");
    assert_eq!(job["spec"]["executor"]["instances"], 6, "--set wins");
    assert_eq!(job["spec"]["environment"], "prod");
    assert!(job.get("status").is_none());
}

#[test]
fn resolve_explain_names_the_layer_and_position_of_each_field() {
    let r = run(&["resolve", JOB, "--env", "prod", "--explain", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("JSON");
    let row =
        |path: &str| rows.iter().find(|r| r["path"] == path).unwrap_or_else(|| panic!("{path} in {rows:?}")).clone();
    assert_eq!(row("spec.sparkVersion")["layer"], "preset etl-small");
    assert!(row("spec.sparkVersion")["location"].as_str().unwrap().starts_with("<builtin presets/etl-small.yaml>:"));
    assert_eq!(row("metadata.namespace")["layer"], "job environment examples/trips-etl/trips-etl.prod.yaml");
    assert_eq!(row("metadata.namespace")["location"], "examples/trips-etl/trips-etl.prod.yaml:10:16");
    assert_eq!(row("spec.executor.memory")["layer"], "job examples/trips-etl/trips-etl.yaml");
    assert_eq!(row("spec.environment")["layer"], "--env prod");
    let table = run(&["resolve", JOB, "--env", "prod", "--explain"]);
    assert!(table.stdout.starts_with("FIELD "), "{}", table.stdout);
}

#[test]
fn validate_reports_ok_and_cluster_requirements() {
    let r = run(&["validate", JOB, "--env", "prod", "--cluster"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "examples/trips-etl/trips-etl.yaml is valid for prod (0 warnings)\n");
    let r = run(&["validate", JOB, "--env", "prod", "--cluster", "--set", "eventLog.dir=", "-o", "json"]);
    assert_eq!(r.code, Some(2));
    let json: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(json["errors"][0]["path"], "spec.eventLog.dir");
}

#[test]
fn size_recommends_and_explains() {
    let r = run(&["size", "--input-size", "200GiB", "--workload", "etl", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rec: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(rec["partitions"]["value"], 1600, "200 GiB / 128 MiB");
    assert!(rec["executors"]["why"].as_str().unwrap().contains("partitions"));
    let table = run(&["size", "--input-size", "200GiB"]);
    assert!(table.stdout.contains("executor.memory"), "{}", table.stdout);
    let bad = run(&["size", "--input-size", "lots"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.starts_with("error: --input-size: "), "{}", bad.stderr);
    let bad = run(&["size", "--input-size", "1TiB", "--deadline", "soon"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("`soon` is not a duration"), "{}", bad.stderr);
}

#[test]
fn size_keeps_executors_within_a_node_shape() {
    let free = run(&["size", "--input-size", "200GiB", "-o", "json"]);
    let free: serde_json::Value = serde_json::from_str(&free.stdout).expect("JSON");
    let r = run(&["size", "--input-size", "200GiB", "--nodes", "presets/nodes/standard.yaml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // The largest untainted pool is `general`: 7.5 CPU and 31 GiB for pods.
    assert!(r.stdout.contains("per node of pool general (7500m CPU, 31Gi free for pods)"), "{}", r.stdout);
    let json = run(&["size", "--input-size", "200GiB", "--nodes", "presets/nodes/standard.yaml", "-o", "json"]);
    let bound: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let pod_mib = |rec: &serde_json::Value| {
        let text = rec["sized"]["executor"]["podMemory"].as_str().unwrap().to_owned();
        text.parse::<sparkplane_api::MemorySize>().unwrap().mib()
    };
    assert!(pod_mib(&bound) <= 31 * 1024, "the executor pod fits the node: {}", bound["sized"]["executor"]);
    // Unbound, ETL takes 4-core executors: one per node (22.4 GiB), 4 of 7 slots used.
    // On this node 5-core executors (28 GiB) use 5: packing picks them.
    assert_eq!(free["executorCores"]["value"], 4);
    assert_eq!(bound["executorCores"]["value"], 5, "{}", bound["executorCores"]["why"]);
    assert!(r.stdout.contains("1 executor(s) per node"), "{}", r.stdout);
    let bad = run(&["size", "--input-size", "1TiB", "--nodes", JOB]);
    assert_eq!(bad.code, Some(2));
}

#[test]
fn size_write_patches_the_job_keeping_comments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let job = dir.path().join("trips-etl.yaml");
    std::fs::copy(repo().join(JOB), &job).expect("copy");
    let r = run(&["size", "--input-size", "200GiB", "--write", job.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let text = std::fs::read_to_string(&job).expect("read");
    assert!(text.contains("# Wider rows than the preset assumes: more heap per executor."), "comments kept");
    assert!(text.contains("    memory: 16Gi"), "{text}");
    let resolved = run(&["resolve", job.to_str().unwrap(), "-o", "json"]);
    assert_eq!(resolved.code, Some(0), "the patched job still resolves: {}", resolved.stderr);
    let json: serde_json::Value = serde_json::from_str(&resolved.stdout).expect("JSON");
    assert_eq!(json["spec"]["executor"]["cores"], 4);
    let rec: serde_json::Value =
        serde_json::from_str(&run(&["size", "--input-size", "200GiB", "-o", "json"]).stdout).expect("JSON");
    let partitions = rec["shufflePartitions"]["value"].as_u64().expect("in the recommendation");
    assert!(partitions >= 1600, "at least one shuffle partition per input partition");
    assert_eq!(json["spec"]["sparkConf"]["spark.sql.shuffle.partitions"], partitions.to_string());
}

#[test]
fn fit_passes_and_fails_with_numbers() {
    let nodes = "presets/nodes/standard.yaml";
    let r = run(&["fit", JOB, "--env", "prod", "--nodes", nodes]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.ends_with("The job fits.\n"), "{}", r.stdout);
    let r = run(&["fit", JOB, "--nodes", nodes, "--set", "executor.memory=40g"]);
    assert_eq!(r.code, Some(1), "a job that does not fit is a failed check: {}", r.stderr);
    assert!(r.stdout.contains("The job does NOT fit."), "{}", r.stdout);
    assert!(r.stderr.contains("executor needs"), "{}", r.stderr);
    assert!(r.stderr.contains("GiB"), "{}", r.stderr);
}

#[test]
fn fit_reads_quotas_and_kubectl_node_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let quota = dir.path().join("quota.yaml");
    std::fs::write(
        &quota,
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: data-eng}\nspec:\n  hard: {requests.cpu: \"4\", requests.memory: 16Gi, pods: \"20\"}\n",
    )
    .expect("write");
    let nodes = dir.path().join("nodes.yaml");
    std::fs::write(
        &nodes,
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: n1, labels: {node.kubernetes.io/instance-type: m6i.2xlarge}}\n  status: {allocatable: {cpu: 7910m, memory: 31Gi, pods: \"110\"}}\n- apiVersion: v1\n  kind: Node\n  metadata: {name: n2, labels: {node.kubernetes.io/instance-type: m6i.2xlarge}}\n  status: {allocatable: {cpu: 7910m, memory: 31Gi, pods: \"110\"}}\n",
    )
    .expect("write");
    let r = run(&["fit", JOB, "--nodes", nodes.to_str().unwrap(), "--quota", quota.to_str().unwrap(), "-o", "json"]);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON report");
    assert_eq!(report["driver"]["pools"][0]["pool"], "m6i.2xlarge");
    let cpu =
        report["quota"].as_array().unwrap().iter().find(|q| q["resource"] == "requests.cpu").expect("cpu row").clone();
    assert_eq!(cpu["ok"], false, "dev allows 4 executors x 2 CPU + driver > 4 CPU: {cpu}");
    assert_eq!(r.code, Some(1));
    let bad = run(&["fit", JOB, "--nodes", JOB]);
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr.contains("expected `kind: NodePools` or kubectl's node list, found `SparkJob`"),
        "{}",
        bad.stderr
    );
    let bad = run(&["fit", JOB, "--nodes", "presets/nodes/standard.yaml", "--quota", JOB]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("expected a `kind: ResourceQuota` object"), "{}", bad.stderr);
}

#[test]
fn render_every_target_to_stdout_and_files() {
    for (target, kinds) in [
        (
            "native",
            vec![
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "ConfigMap",
                "ConfigMap",
                "Service",
                "Pod",
                "NetworkPolicy",
                "NetworkPolicy",
            ],
        ),
        (
            "kubeflow",
            vec![
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "ConfigMap",
                "ScheduledSparkApplication",
                "NetworkPolicy",
                "NetworkPolicy",
            ],
        ),
        (
            "job",
            vec![
                "ServiceAccount",
                "ServiceAccount",
                "Role",
                "Role",
                "RoleBinding",
                "RoleBinding",
                "ConfigMap",
                "CronJob",
                "NetworkPolicy",
                "NetworkPolicy",
            ],
        ),
    ] {
        let r = run(&["render", JOB, "--env", "prod", "--target", target]);
        assert_eq!(r.code, Some(0), "{target}: {}", r.stderr);
        let docs = yaml_docs(&r.stdout);
        let got: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(got, kinds, "{target}");
        assert!(!r.stdout.contains("secret-access-key\n") || !r.stdout.contains("AWS_SECRET_ACCESS_KEY=")); // referenced, never inlined
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("deploy");
    let r = run(&["render", JOB, "--target", "native", "--out-dir", out.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files.len(), 9, "{files:?}");
    assert!(files.iter().any(|f| f.starts_with("pod-trips-etl-") && f.ends_with("-driver.yaml")), "{files:?}");
    // A changed job renames its per-run objects; the stale ones are removed, others' files are kept.
    let other = out.join("configmap-someone-else.yaml");
    std::fs::write(&other, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: someone-else\n  namespace: data-eng\n  labels: {app.kubernetes.io/managed-by: sparkplane, sparkplane.dev/job: other}\n").unwrap();
    let r = run(&[
        "render",
        JOB,
        "--target",
        "native",
        "--out-dir",
        out.to_str().unwrap(),
        "--set",
        "executor.instances=3",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut after: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    after.sort();
    assert_eq!(after.len(), 10, "9 objects of the new render and the other job's file: {after:?}");
    assert!(
        after.iter().all(|f| {
            !files.contains(f) || !(f.contains("-driver") || f.ends_with("-peers.yaml") || f.ends_with("-ui-door.yaml"))
        }),
        "stale per-run objects removed: {after:?}"
    );
    assert!(other.exists());
    assert!(r.stdout.contains("removed ") && r.stdout.contains("(no longer rendered)"), "{}", r.stdout);
    let json = run(&["render", JOB, "--target", "kubeflow", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON List");
    assert_eq!(list["kind"], "List");
    // RBAC, the ConfigMap of the log layout, the application and its NetworkPolicies (peers, the door's).
    assert_eq!(list["items"].as_array().unwrap().len(), 7);
}

#[test]
fn render_is_byte_identical_across_runs() {
    let a = run(&["render", JOB, "--env", "prod", "--target", "native"]).stdout;
    let b = run(&["render", JOB, "--env", "prod", "--target", "native"]).stdout;
    assert_eq!(a, b);
    let changed = run(&["render", JOB, "--env", "prod", "--target", "native", "--set", "executor.instances=5"]).stdout;
    assert_ne!(a, changed, "a changed job gets new names");
}

#[test]
fn presets_list_and_show() {
    let r = run(&["presets", "list", "-o", "json"]);
    assert_eq!(r.code, Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("JSON");
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cost-optimized", "etl-large", "etl-medium", "etl-small", "interactive", "ml-gpu", "streaming"]);
    let show = run(&["presets", "show", "ml-gpu"]);
    assert!(show.stdout.contains("kind: Preset") && show.stdout.contains("nvidia.com/gpu"), "{}", show.stdout);
    let bad = run(&["presets", "show", "etl-mediun"]);
    assert_eq!(bad.code, Some(2));
    assert_eq!(bad.stderr, "error: there is no preset `etl-mediun`\n  help: did you mean `etl-medium`?\n");
}

#[test]
fn a_platform_directory_adds_and_replaces_presets() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("presets")).unwrap();
    std::fs::write(
        dir.path().join("presets/etl-small.yaml"),
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Preset\nmetadata: {name: etl-small, description: ours}\ntemplate:\n  spec:\n    sparkVersion: \"4.0.1\"\n",
    )
    .unwrap();
    let r = sparkplane_in_repo()
        .args(["resolve", JOB, "-o", "json"])
        .env("SPARKPLANE_PLATFORM_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let job: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(job["spec"]["sparkVersion"], "4.0.1");
    std::fs::write(dir.path().join("presets/broken.yaml"), "apiVersion: sparkplane.dev/v1alpha1\nkind: Preset\nmetadata: {name: broken}\ntemplate: {spec: {executr: {}}}\n").unwrap();
    let r = sparkplane_in_repo().args(["presets", "list"]).env("SPARKPLANE_PLATFORM_DIR", dir.path()).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("broken.yaml:4:19: error: template.spec.executr: unknown field `executr`"), "{err}");
}

#[test]
fn import_kubeflow_lists_what_it_cannot_carry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("spark-pi.yaml");
    let r = run(&["import", "kubeflow", "examples/kubeflow/spark-pi.yaml", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for field in [
        "spec.pythonVersion",
        "spec.driver.hostNetwork",
        "spec.monitoring",
        "spec.restartPolicy.onSubmissionFailureRetries",
    ] {
        assert!(r.stderr.contains(&format!("warning: {field}: not carried over")), "{field}: {}", r.stderr);
    }
    assert!(r.stderr.contains("6 fields not carried over"), "{}", r.stderr);
    let imported = run(&["validate", out.to_str().unwrap()]);
    assert_eq!(imported.code, Some(0), "the imported job is valid: {}", imported.stderr);
    let bad = run(&["import", "kubeflow", JOB]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("SparkApplication"), "{}", bad.stderr);
}

#[test]
fn import_kubeflow_refuses_a_bad_application_with_every_mistake_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("app.yaml");
    let out = dir.path().join("job.yaml");
    std::fs::write(
        &app,
        "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: SparkApplication\nmetadata: {name: pi}\nspec:\n  type: Scala\n  driver: {cores: 0.5}\n  executor:\n    instances: \"2\"\n    tolerations: [{key: 1}]\n",
    )
    .unwrap();
    let r = run(&["import", "kubeflow", app.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    for line in [
        "app.yaml:6:19: error: spec.driver.cores: Spark cores must be whole, not 0.5",
        "app.yaml:8:16: error: spec.executor.instances: expected a whole number, found a string",
        "app.yaml:9:25: error: spec.executor.tolerations[0].key: expected a string, found a integer",
        "3 errors",
    ] {
        assert!(r.stderr.contains(line), "{line}\n{}", r.stderr);
    }
    assert!(!out.exists(), "nothing is written for a refused import");
}

#[test]
fn crd_completion_help_and_version() {
    let crd = run(&["crd"]);
    let doc = &yaml_docs(&crd.stdout)[0];
    assert_eq!(doc["kind"], "CustomResourceDefinition");
    assert_eq!(doc["metadata"]["name"], "sparkjobs.sparkplane.dev");
    let schema = &doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert!(
        schema["executor"]["properties"]["memory"]["pattern"].is_string(),
        "memory sizes are validated by the API server too"
    );
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&["completion", shell]);
        assert_eq!(r.code, Some(0));
        assert!(r.stdout.contains("sparkplane") && r.stdout.contains("render"), "{shell}");
    }
    let help = run(&["help", "fit"]);
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("--nodes <FILE>") && help.stdout.contains("Examples:"), "{}", help.stdout);
    // A subcommand's own examples (they were looked up by the first word only, so these never showed).
    let help = run(&["help", "policy", "test"]);
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("sparkplane policy test policies"), "{}", help.stdout);
    assert!(!help.stdout.contains("--format sarif"), "only policy test's examples: {}", help.stdout);
    // A group shows each of its subcommands' examples.
    let help = run(&["help", "policy"]);
    assert!(help.stdout.contains("sparkplane policy test policies") && help.stdout.contains("--format sarif"));
    let version = run(&["--version"]);
    assert_eq!(version.stdout, format!("sparkplane {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn analyze_reports_findings_from_a_real_event_log() {
    let failed = "crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9/eventlog_v2_local-1795265044180";
    let r = run(&["analyze", failed, "-o", "json"]);
    assert_eq!(r.code, Some(0), "findings are advice: {}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let failed_tasks = findings.iter().find(|f| f["id"] == "failed-tasks").expect("a failed-tasks finding");
    assert_eq!(failed_tasks["severity"], "critical");
    assert!(failed_tasks["evidence"].as_str().unwrap().contains("ValueError"), "{failed_tasks}");
    // Timing: the floor (critical path) sits between driver-only time and the wall time.
    let (wall, timing) = (&report["wallTime"], &report["timing"]);
    let (total, driver) = (wall["totalMs"].as_u64().unwrap(), wall["driverOnlyMs"].as_u64().unwrap());
    let critical = timing["criticalPathMs"].as_u64().unwrap();
    assert!(driver < critical && critical <= timing["idealMs"].as_u64().unwrap() && critical <= total, "{report}");
    let table = run(&["analyze", failed]);
    let mut lines = table.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            "Failed: 2 jobs (1 failed), 2 stages (1 failed, 0 skipped), 4 tasks (1 failed, 0 killed); read 0 B, \
             wrote 0 B, shuffle read 0 B, shuffle write 0 B."
        ),
        "{}",
        table.stdout
    );
    assert!(lines.next().is_some_and(|l| l.starts_with("Ran ") && l.contains("Critical path")), "{}", table.stdout);
    assert!(lines.next().is_some_and(|l| l.starts_with("SEVERITY")), "{}", table.stdout);
    let bad = run(&["analyze", "no/such/log"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("cannot read event log no/such/log"), "{}", bad.stderr);
}

#[test]
fn cost_attributes_real_runs_and_enforces_budgets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9");
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_dir() {
            let target = dir.path().join(entry.file_name());
            std::fs::create_dir_all(&target).unwrap();
            for file in std::fs::read_dir(entry.path()).unwrap() {
                let file = file.unwrap();
                std::fs::copy(file.path(), target.join(file.file_name())).unwrap();
            }
        }
    }
    let logs = dir.path().to_str().unwrap();
    let r = run(&["cost", logs, "--by", "app", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(report["apps"], 3, "{report}");
    assert!(report["rows"].as_array().unwrap().iter().all(|row| row["coreHours"].as_f64().unwrap() > 0.0));
    let csv = run(&["cost", logs, "--by", "team", "--csv"]);
    assert!(csv.stdout.starts_with("key,apps,coreHours,gibHours,gpuHours,costUsd,share\n"), "{}", csv.stdout);
    assert!(csv.stdout.contains("\ndata-platform,1,"), "{}", csv.stdout);
    let config = tempfile::tempdir().expect("tempdir");
    let budgets = config.path().join("budgets.yaml");
    std::fs::write(&budgets, "teams:\n  data-platform: {monthly: 0.000001}\n").unwrap();
    let r = run(&["cost", logs, "--budget", budgets.to_str().unwrap()]);
    assert_eq!(r.code, Some(1), "a critical budget fails the check: {}", r.stderr);
    assert!(r.stderr.contains("budget-critical") || r.stderr.contains("monthly budget"), "{}", r.stderr);
    let prices = config.path().join("prices.yaml");
    std::fs::write(&prices, "coreHour: 0.05\ngibHour: 0.005\ngpuHour: 1\nspotMultiplyer: 0.3\n").unwrap();
    let bad = run(&["cost", logs, "--price-sheet", prices.to_str().unwrap()]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("spotMultiplyer"), "{}", bad.stderr);
}

#[test]
fn runs_and_runtimes_refuse_unknown_names() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = sparkplane_in_repo().args(["runs", "show", "nope"]).env("SPARKPLANE_HOME", home.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: there is no run `nope`: `sparkplane runs list` shows them\n"
    );
    let out =
        sparkplane_in_repo().args(["runs", "list", "-o", "json"]).env("SPARKPLANE_HOME", home.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let out =
        sparkplane_in_repo().args(["runtime", "install", "2.4"]).env("SPARKPLANE_HOME", home.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Spark `2.4` is not supported") && err.contains("3.5, 4.0, 4.1"), "{err}");
    assert!(!home.path().join("runtimes/2.4").exists(), "nothing half-installed");
}

#[test]
fn observe_rules_pass_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slos = dir.path().join("slos.yaml");
    std::fs::write(&slos, "- {name: trips-etl, scope: {job: trips-etl}, objective: 0.99}\n").unwrap();
    let r = run(&["observe", "rules", "--slo", slos.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, &r.stdout).unwrap();
    let check = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool is installed (scripts/test.sh installs Debian's prometheus)");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    assert!(r.stdout.contains("SparkSloErrorBudgetBurn") && r.stdout.contains("runbook_url"), "{}", r.stdout);
    let object = run(&["observe", "rules", "--format", "prometheusrule", "--namespace", "monitoring"]);
    let doc = &yaml_docs(&object.stdout)[0];
    assert_eq!(doc["kind"], "PrometheusRule");
    assert_eq!(doc["metadata"]["namespace"], "monitoring");
    std::fs::write(&slos, "x: 1\n").unwrap();
    let bad = run(&["observe", "rules", "--slo", slos.to_str().unwrap()]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("is not a list of SLOs"), "{}", bad.stderr);
}

#[test]
fn the_exporter_serves_registered_metrics_and_stops_on_ctrl_c() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let history = repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9");
    let mut child = sparkplane_testkit::sparkplane_process()
        .current_dir(repo())
        .args(["exporter", "--history"])
        .arg(&history)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let body = loop {
        if let Ok(mut response) = ureq::get(format!("http://127.0.0.1:{port}/metrics")).call() {
            break response.body_mut().read_to_string().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "the exporter never answered");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(body.contains("sparkplane_exporter_up 1"), "{body}");
    assert!(body.contains("sparkplane_app_outcome_total{"), "{body}");
    for line in body.lines().filter(|l| l.starts_with("# TYPE ")) {
        let family = line.split_whitespace().nth(2).unwrap();
        let known = sparkplane_observe::registry::lookup(family)
            .or_else(|| sparkplane_observe::registry::lookup(&format!("{family}_total")));
        assert!(known.is_some(), "{family} is not in the registry");
    }
    // SAFETY: sends SIGINT to the exporter we started, as Ctrl-C would.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let bad = run(&["exporter", "--history", "no/such/dir"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
}

#[test]
fn dashboards_and_their_bundle() {
    let r = run(&["observe", "dashboards"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let dashboards: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("a JSON array");
    let uids: Vec<&str> = dashboards.iter().map(|d| d["uid"].as_str().unwrap()).collect();
    assert_eq!(uids, ["sparkplane-data-engineer", "sparkplane-platform", "sparkplane-finops", "sparkplane-tenants"]);
    let bundle = run(&["observe", "dashboards", "--bundle", "--namespace", "monitoring"]);
    let docs = yaml_docs(&bundle.stdout);
    assert_eq!(docs.len(), 5);
    assert!(
        docs.iter().filter(|d| d["kind"] == "ConfigMap").all(|d| d["metadata"]["labels"]["grafana_dashboard"] == "1")
    );
    assert_eq!(docs.last().unwrap()["kind"], "PrometheusRule");
    assert!(docs.last().unwrap()["metadata"]["labels"].get("release").is_none());
    let released = run(&["observe", "dashboards", "--bundle", "--release", "kube-prometheus-stack"]);
    assert_eq!(released.code, Some(0), "{}", released.stderr);
    let rule = yaml_docs(&released.stdout).pop().expect("documents");
    assert_eq!(rule["metadata"]["labels"]["release"], "kube-prometheus-stack");
    let rules = run(&["observe", "rules", "--format", "prometheusrule", "--release", "monitoring"]);
    assert_eq!(rules.code, Some(0), "{}", rules.stderr);
    assert_eq!(yaml_docs(&rules.stdout)[0]["metadata"]["labels"]["release"], "monitoring");
    let without_bundle = run(&["observe", "dashboards", "--release", "x"]);
    assert_eq!(without_bundle.code, Some(2), "--release needs --bundle: {}", without_bundle.stderr);
}

#[test]
fn the_readmes_two_commands_and_ci_are_committed_executable() {
    // README tells a new user to run ./scripts/example.sh and ./scripts/test.sh; a commit that stores them
    // as 644 breaks both on a fresh clone while the author's working copy still runs them.
    let out = std::process::Command::new("git")
        .current_dir(repo())
        .args(["ls-files", "-s", "scripts/example.sh", "scripts/test.sh", ".ci/run"])
        .output()
        .expect("git runs");
    let listing = String::from_utf8_lossy(&out.stdout);
    let modes: Vec<(&str, &str)> =
        listing.lines().filter_map(|l| Some((l.split_whitespace().next()?, l.split('\t').nth(1)?))).collect();
    assert_eq!(modes.len(), 3, "{listing}");
    for (mode, path) in modes {
        assert_eq!(mode, "100755", "{path} must be committed executable (git update-index --chmod=+x {path})");
    }
}
