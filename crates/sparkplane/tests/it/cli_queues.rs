//! Queues across teams on the command line (ADR 0073, 0079): a job without
//! `spec.queue` rendered with a platform directory whose `tenants/` holds its
//! tenant waits in the tenant's LocalQueue (and `resolve --explain` says so);
//! `tenant render --queues` writes the team's LocalQueue and the platform's
//! ClusterQueues, refusing bad files at their line and column with exit 2;
//! `fit --queues` explains a job its ClusterQueue could never admit (exit 1).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: nightly, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/nightly.py
  image: {repository: registry.example.com/data/nightly, tag: \"1.0.0\"}
  driver: {cores: 1, memory: 2g}
  executor: {instances: 2, cores: 2, memory: 4g}
  timeouts: {maxDuration: 2h}
";

const TENANT: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: team-a}
spec:
  team: team-a
  costCenter: cc-1
  queue: {name: team-a-q, clusterQueue: analytics, weight: 2}
";

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// A folder with the job (`job.yaml`) and a platform directory (`platform/tenants/team-a.yaml`).
fn workspace(job: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("platform/tenants")).expect("mkdir");
    std::fs::write(dir.path().join("platform/tenants/team-a.yaml"), TENANT).expect("tenant");
    std::fs::write(dir.path().join("job.yaml"), job).expect("job");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    sparkplane_testkit::sparkplane()
        .current_dir(dir)
        .args(args)
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .output()
        .expect("sparkplane runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The queue Kueue reads for each rendered Job: its label, or — when a
/// Workload gates it (issue #69: Kueue counts the driver and executors, not
/// the spark-submit pod) — the gating Workload's, the Job suspended and unlabelled.
fn rendered_queue_labels(out: &Output) -> Vec<Value> {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let items: Vec<&Value> = list["items"].as_array().into_iter().flatten().collect();
    let label = |o: &Value| o["metadata"]["labels"]["kueue.x-k8s.io/queue-name"].clone();
    items
        .iter()
        .filter(|o| o["kind"] == "Job")
        .map(|job| {
            let gate = items.iter().find(|o| {
                o["kind"] == "Workload"
                    && o["metadata"]["labels"]["sparkplane.dev/gates-job"] == job["metadata"]["name"]
            });
            match gate {
                Some(workload) => {
                    assert_eq!((job["spec"]["suspend"].clone(), label(job)), (Value::Bool(true), Value::Null));
                    label(workload)
                }
                None => label(job),
            }
        })
        .collect()
}

#[test]
fn render_with_the_platforms_tenants_puts_a_job_without_a_queue_in_its_tenants() {
    let dir = workspace(JOB);
    let args = ["render", "job.yaml", "--target", "job", "-o", "json", "--platform-dir", "platform"];
    assert_eq!(rendered_queue_labels(&run(dir.path(), &args)), [serde_json::json!("team-a-q")]);
    // An explicit queue wins.
    let own = workspace(&JOB.replace("  timeouts:", "  queue: adhoc\n  timeouts:"));
    assert_eq!(rendered_queue_labels(&run(own.path(), &args)), [serde_json::json!("adhoc")]);
    // Without the platform directory no tenant is known: no queue label.
    let out = run(dir.path(), &["render", "job.yaml", "--target", "job", "-o", "json"]);
    assert_eq!(rendered_queue_labels(&out), [Value::Null]);
    // `resolve --explain` names the tenant as the layer that set it.
    let out = run(dir.path(), &["resolve", "job.yaml", "--explain", "--platform-dir", "platform"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout).lines().find(|l| l.contains("spec.queue")).map(str::to_owned).unwrap_or_default();
    assert!(line.contains("team-a-q") && line.contains("tenant team-a"), "{}", text(&out.stdout));
}

#[test]
fn a_bad_tenant_in_the_platform_directory_is_refused_at_its_line_and_column() {
    let dir = workspace(JOB);
    std::fs::write(dir.path().join("platform/tenants/team-a.yaml"), TENANT.replace("weight: 2", "wieght: 2"))
        .expect("tenant");
    let out = run(dir.path(), &["render", "job.yaml", "--platform-dir", "platform"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("platform/tenants/team-a.yaml:7:52: error: spec.queue.wieght: unknown field `wieght`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing rendered");
}

const QUEUES: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Queues
metadata: {name: shared}
spec:
  flavors:
    - name: on-demand
  clusterQueues:
    - name: analytics
      cohort: shared
      fairSharingWeight: 3
      quotas:
        - flavor: on-demand
          resources:
            cpu: {nominal: \"10\", borrowingLimit: \"4\", lendingLimit: \"2\"}
            memory: {nominal: 40Gi}
";

/// `tenant render` of `platform/tenants/team-a.yaml` with `queues` as `queues.yaml` (and any more arguments).
fn tenant_render(queues: &str, more: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = workspace(JOB);
    std::fs::write(dir.path().join("queues.yaml"), queues).expect("queues");
    let mut args = vec!["tenant", "render", "platform/tenants/team-a.yaml", "--queues", "queues.yaml"];
    args.extend_from_slice(more);
    let out = run(dir.path(), &args);
    (dir, out)
}

#[test]
fn tenant_render_with_the_platforms_queues_writes_the_cluster_queues_then_the_teams_local_queue() {
    let (_dir, out) = tenant_render(QUEUES, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let items = list["items"].as_array().expect("items");
    let kinds: Vec<&str> = items.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(kinds[..2], ["ResourceFlavor", "ClusterQueue"], "the platform's objects first: {kinds:?}");
    assert!(kinds.contains(&"Namespace") && kinds.contains(&"LocalQueue"), "{kinds:?}");
    let cq = &items[1];
    assert_eq!(cq["metadata"]["name"], "analytics");
    assert_eq!(cq["spec"]["cohortName"], "shared");
    assert_eq!(cq["spec"]["fairSharing"], serde_json::json!({"weight": "3"}));
    assert_eq!(
        cq["spec"]["resourceGroups"],
        serde_json::json!([{"coveredResources": ["cpu", "memory"], "flavors": [{"name": "on-demand", "resources": [
            {"name": "cpu", "nominalQuota": "10", "borrowingLimit": "4", "lendingLimit": "2"},
            {"name": "memory", "nominalQuota": "40Gi"},
        ]}]}])
    );
    let lq = items.iter().find(|o| o["kind"] == "LocalQueue").expect("the LocalQueue");
    assert_eq!(lq["metadata"]["name"], "team-a-q");
    assert_eq!(lq["metadata"]["namespace"], "team-a");
    assert_eq!(lq["spec"], serde_json::json!({"clusterQueue": "analytics", "fairSharing": {"weight": "2"}}));
}

/// `tenant render --queues` of a bad file: exit 2, `expected` on stderr, nothing written to `--out-dir`.
fn refused(queues: &str, tenant: Option<&str>, expected: &str) {
    let dir = workspace(JOB);
    if let Some(t) = tenant {
        std::fs::write(dir.path().join("platform/tenants/team-a.yaml"), t).expect("tenant");
    }
    std::fs::write(dir.path().join("queues.yaml"), queues).expect("queues");
    let out = run(
        dir.path(),
        &["tenant", "render", "platform/tenants/team-a.yaml", "--queues", "queues.yaml", "--out-dir", "out"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(expected), "{}", text(&out.stderr));
    assert!(!dir.path().join("out").exists(), "nothing written");
    assert!(out.stdout.is_empty());
}

#[test]
fn tenant_render_refuses_a_bad_queues_file_or_an_undeclared_cluster_queue_at_its_line_and_column() {
    refused(
        &QUEUES.replace("      cohort: shared", "      cohrt: shared"),
        None,
        "queues.yaml:9:7: error: spec.clusterQueues[0].cohrt: unknown field `cohrt`",
    );
    refused(
        &QUEUES.replace("nominal: \"10\"", "nominal: \"-4\""),
        None,
        "queues.yaml:14:28: error: spec.clusterQueues[0].quotas[0].resources.cpu.nominal: `-4` is not a quantity of zero or more",
    );
    refused(
        QUEUES,
        Some(&TENANT.replace("clusterQueue: analytics", "clusterQueue: nowhere")),
        "platform/tenants/team-a.yaml:7:41: error: spec.queue.clusterQueue: tenant `team-a` names ClusterQueue `nowhere`, which the queues file does not declare",
    );
    refused(
        QUEUES,
        Some(&TENANT.replace("weight: 2", "weight: 0")),
        "platform/tenants/team-a.yaml:7:60: error: spec.queue.weight: a weight of 0 gives the team no share of its ClusterQueue",
    );
}

/// `fit` of the job with `executors` executors of 2 CPUs against `platform/`'s tenant and `QUEUES`.
fn fit(executors: u32, more: &[&str]) -> Output {
    let dir = workspace(&JOB.replace("instances: 2", &format!("instances: {executors}")));
    std::fs::write(dir.path().join("queues.yaml"), QUEUES).expect("queues");
    let nodes = example("presets/nodes/standard.yaml");
    let mut args = vec!["fit", "job.yaml", "--platform-dir", "platform", "--queues", "queues.yaml", "--nodes"];
    let nodes = nodes.display().to_string();
    args.push(&nodes);
    args.extend_from_slice(more);
    run(dir.path(), &args)
}

#[test]
fn fit_says_which_resource_of_which_flavor_its_cluster_queue_is_short_of_and_fails() {
    // 1 + 8 x 2 = 17 CPUs; analytics (the tenant's LocalQueue feeds it) has 10 and may borrow 4.
    let out = fit(8, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ClusterQueue analytics can never admit the job:"), "{stdout}");
    let row = stdout.lines().find(|l| l.starts_with("on-demand")).unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["on-demand", "cpu", "17", "14", "3", "nominal", "+", "borrowing", "limit"], "{stdout}");
    assert!(stdout.contains("The job does NOT fit."), "{stdout}");
    assert!(
        text(&out.stderr).contains(
            "error: spec.executor: ClusterQueue analytics can never admit the job (driver and 8 executors at once): flavor on-demand: cpu: needs 17, at most 14 (nominal + borrowing limit), short by 3"
        ),
        "{}",
        text(&out.stderr)
    );
    // The same as JSON.
    let out = fit(8, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["fits"], false);
    assert_eq!(
        report["clusterQueue"],
        serde_json::json!({"name": "analytics", "admissible": false, "short": [{
            "flavor": "on-demand", "resource": "cpu", "needs": "17", "atMost": "14", "shortBy": "3",
            "limit": "nominal + borrowing limit",
        }]})
    );
}

#[test]
fn fit_passes_a_job_its_cluster_queue_can_admit_and_refuses_an_unknown_queue() {
    // 1 + 6 x 2 = 13 CPUs: within 10 + 4.
    let out = fit(6, &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ClusterQueue analytics: its quota can admit the job."),
        "{}",
        text(&out.stdout)
    );
    let out = fit(6, &["--cluster-queue", "nowhere"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("error: --cluster-queue: the queues file declares no ClusterQueue `nowhere`"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("help: pass --cluster-queue with one of: analytics"), "{}", text(&out.stderr));
}

/// A second tenant of team-a (namespace `team-a-ml`, LocalQueue `ml-q` feeding ClusterQueue `ml`), so a job
/// that names no namespace is only placed by `-n`.
const ML_TENANT: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: team-a-ml}
spec:
  team: team-a
  costCenter: cc-1
  queue: {name: ml-q, clusterQueue: ml}
";

fn two_tenants_without_a_namespace() -> tempfile::TempDir {
    let dir = workspace(&JOB.replace("{name: nightly, namespace: team-a}", "{name: nightly}"));
    std::fs::write(dir.path().join("platform/tenants/team-a-ml.yaml"), ML_TENANT).expect("tenant");
    std::fs::write(dir.path().join("queues.yaml"), QUEUES).expect("queues");
    dir
}

#[test]
fn render_dash_n_puts_the_job_in_that_namespace_and_its_tenants_queue() {
    let dir = two_tenants_without_a_namespace();
    let args = ["render", "job.yaml", "--target", "job", "-o", "json", "--platform-dir", "platform"];
    // No namespace anywhere and two tenants of its team: a warning, and no tenant's queue.
    let out = run(dir.path(), &args);
    assert_eq!(rendered_queue_labels(&out), [Value::Null]);
    assert!(
        text(&out.stderr)
            .contains("tenants team-a, team-a-ml all belong to team `team-a` and the job names no namespace"),
        "{}",
        text(&out.stderr)
    );
    for (namespace, queue) in [("team-a-ml", "ml-q"), ("team-a", "team-a-q")] {
        let out = run(dir.path(), &[&args[..], &["-n", namespace]].concat());
        assert_eq!(rendered_queue_labels(&out), [serde_json::json!(queue)], "-n {namespace}");
        assert!(!text(&out.stderr).contains("all belong to team"), "{}", text(&out.stderr));
        let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let namespaces: Vec<&Value> =
            list["items"].as_array().into_iter().flatten().map(|o| &o["metadata"]["namespace"]).collect();
        assert!(!namespaces.is_empty() && namespaces.iter().all(|n| *n == namespace), "{namespaces:?}");
    }
    // A namespace no tenant has: no tenant's queue, and no warning either (the namespace is known).
    let out = run(dir.path(), &[&args[..], &["-n", "elsewhere"]].concat());
    assert_eq!(rendered_queue_labels(&out), [Value::Null]);
}

#[test]
fn fit_dash_n_checks_the_cluster_queue_of_that_namespaces_tenant() {
    let dir = two_tenants_without_a_namespace();
    let nodes = example("presets/nodes/standard.yaml").display().to_string();
    let args = ["fit", "job.yaml", "--platform-dir", "platform", "--queues", "queues.yaml", "--nodes", &nodes];
    // Without -n the tenant is not known: which ClusterQueue is not known either (exit 2).
    let out = run(dir.path(), &args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("which ClusterQueue admits the job is not known"), "{}", text(&out.stderr));
    // -n team-a: team-a's LocalQueue feeds analytics, which can admit it.
    let out = run(dir.path(), &[&args[..], &["-n", "team-a"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ClusterQueue analytics: its quota can admit the job."),
        "{}",
        text(&out.stdout)
    );
    // -n team-a-ml: that tenant's ClusterQueue `ml`, which the queues file does not declare (exit 2).
    let out = run(dir.path(), &[&args[..], &["-n", "team-a-ml"]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("error: spec.queue: the queues file declares no ClusterQueue `ml`"),
        "{}",
        text(&out.stderr)
    );
}
