//! Queues as the real schedulers apply them (issue #69, ADR 0099): every
//! route (native, Kubeflow, Job) under every scheduler (none, Kueue,
//! Volcano, YuniKorn) with dynamic allocation off, on, and on with a
//! minimum of 0 executors renders a set that is valid against the pinned
//! upstream CRDs and schemas (`kueue_schemas`: Kueue v0.19.2, Volcano
//! v1.15.1, YuniKorn v1.9.0, and the Kubeflow Spark Operator's CRD the chart
//! carries) and obeys each of the issue's rules, one named assertion
//! (`rule1_…` to `rule6_…`) each, so a failure names the rule it breaks.
//! Then what the command line says about them: `render` warns (exit 0) where
//! a scheduler will not enforce what the job names, `render`/`validate`
//! refuse (exit 2) a queue the gang scheduler cannot name, and `tenant render
//! --queues` notes on stderr the scheduler configuration its objects need.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use sparkplane_core::queues::demand;
use sparkplane_core::render::queue_routes::notes;
use sparkplane_core::render::{RenderInput, RenderedObject, Target, render};
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::sizing::size_job;
use sparkplane_documents::Diagnostics;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;

use crate::kueue_schemas::{assert_valid, resolve, yunikorn_problems};

const JOB: &str = r#"apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: etl, namespace: data}
spec:
  team: data
  costCenter: cc-1
  type: Scala
  mainClass: x.Main
  mainApplicationFile: local:///opt/app.jar
  sparkVersion: "3.5.3"
  image: {repository: registry.example.com/data/etl, tag: "3.5.3"}
  driver: {cores: 1, memory: 1g}
  timeouts: {maxDuration: 2h}
"#;

/// The tenant's queue the job waits in, and its names under Volcano and YuniKorn.
const QUEUE: &str = "team-a";
const VOLCANO_QUEUE: &str = "data-team-a";
const YUNIKORN_QUEUE: &str = "root.data.team-a";

const KUEUE_LABEL: &str = "kueue.x-k8s.io/queue-name";
const GATES_JOB: &str = "sparkplane.dev/gates-job";
const TASK_GROUP_NAME: &str = "yunikorn.apache.org/task-group-name";
const TASK_GROUPS: &str = "yunikorn.apache.org/task-groups";
const YUNIKORN_QUEUE_KEY: &str = "yunikorn.apache.org/queue";
const EXECUTOR_ANNOTATION: &str = "spark.kubernetes.executor.annotation.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheduler {
    None,
    Kueue,
    Volcano,
    YuniKorn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Allocation {
    Off,
    On,
    MinZero,
}

/// One cell of the table: the job, what was rendered and what `render` says.
struct Case {
    target: Target,
    scheduler: Scheduler,
    allocation: Allocation,
    resolved: ResolvedJob,
    objects: Vec<RenderedObject>,
    notes: Diagnostics,
}

impl Case {
    fn new(target: Target, scheduler: Scheduler, allocation: Allocation) -> Case {
        let mut extra = String::new();
        if scheduler != Scheduler::None {
            extra.push_str(&format!("  queue: {QUEUE}\n"));
        }
        match scheduler {
            Scheduler::Volcano => extra.push_str("  scheduling: {gang: Volcano}\n"),
            Scheduler::YuniKorn => extra.push_str("  scheduling: {gang: YuniKorn}\n"),
            Scheduler::None | Scheduler::Kueue => {}
        }
        extra.push_str(match allocation {
            Allocation::Off => "  executor: {cores: 2, memory: 2g, instances: 3}\n",
            Allocation::On => {
                "  executor: {cores: 2, memory: 2g}\n  dynamicAllocation: {enabled: true, minExecutors: 2, maxExecutors: 6}\n"
            }
            Allocation::MinZero => {
                "  executor: {cores: 2, memory: 2g}\n  dynamicAllocation: {enabled: true, minExecutors: 0, maxExecutors: 4}\n"
            }
        });
        let resolved = resolve(&format!("{JOB}{extra}"));
        let sized = size_job(&resolved.job.spec);
        let objects = render(&RenderInput { job: &resolved, sized: &sized }, target);
        let notes = notes(&resolved, target);
        Case { target, scheduler, allocation, resolved, objects, notes }
    }

    fn dynamic(&self) -> bool {
        self.allocation != Allocation::Off
    }

    fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o.kind == kind).map(|o| &o.body).collect()
    }

    fn one(&self, kind: &str) -> &Value {
        let all = self.all(kind);
        assert_eq!(all.len(), 1, "{self:?}: one {kind}");
        all[0]
    }

    fn has_note(&self, code: &str) -> bool {
        self.notes.0.iter().any(|d| d.code == code)
    }

    /// Every pod as it will be created, with its role and annotations: the
    /// driver Pod, the pod-template files in ConfigMaps, and the executors'
    /// annotations Spark takes from `spark.kubernetes.executor.annotation.*`.
    fn pods(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let annotations = |pod: &Value| -> BTreeMap<String, String> {
            serde_json::from_value(pod["metadata"]["annotations"].clone()).unwrap_or_default()
        };
        let role = |pod: &Value| pod["metadata"]["labels"]["spark-role"].as_str().unwrap_or_default().to_owned();
        let mut out = Vec::new();
        for pod in self.all("Pod") {
            out.push((role(pod), annotations(pod)));
        }
        for map in self.all("ConfigMap") {
            for (key, text) in map["data"].as_object().into_iter().flatten() {
                let Some(text) = text.as_str() else { continue };
                if key == "spark.properties" {
                    let executor: BTreeMap<String, String> = text
                        .lines()
                        .filter_map(|l| l.strip_prefix(EXECUTOR_ANNOTATION)?.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    out.push(("executor".to_owned(), executor));
                } else if text.contains("kind: Pod") {
                    // The Job route's `driver-…`/`executor-…` templates; the native route's executor template.
                    let pod = parse_single(&Source::new(key.clone(), text)).expect("a pod template").to_json();
                    let role = if key.starts_with("driver") { "driver" } else { "executor" };
                    out.push((role.to_owned(), annotations(&pod)));
                }
            }
        }
        out
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} × {:?} × dynamic allocation {:?}", self.target, self.scheduler, self.allocation)
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Every object a scheduler's CRD or schema describes passes it, strictly.
fn valid_against_the_pinned_crds(case: &Case) {
    for workload in case.all("Workload") {
        assert_valid("kueue/workloads.json", workload);
    }
    for group in case.all("PodGroup") {
        assert_valid("volcano/podgroups.json", group);
    }
    let kubeflow = repo("charts/sparkplane/files/kubeflow/sparkoperator.k8s.io_sparkapplications.yaml");
    for app in case.all("SparkApplication") {
        assert_valid(&kubeflow.display().to_string(), app);
    }
    for (role, annotations) in case.pods() {
        let problems = yunikorn_problems(&annotations);
        assert!(problems.is_empty(), "{case:?}: the {role}'s YuniKorn annotations: {problems:#?}");
    }
}

/// Rule 1: a SparkApplication under dynamic allocation carries no Kueue
/// queue label (Kueue's SparkApplication webhook refuses the pair), and
/// `render` warns at `spec.dynamicAllocation.enabled`; without dynamic
/// allocation it carries the queue.
fn rule1_kubeflow_with_dynamic_allocation_is_not_left_to_kueue(case: &Case) {
    let warned = case.has_note("kueue-dynamic-allocation");
    if case.target != Target::Kubeflow || case.scheduler == Scheduler::None {
        assert!(!warned, "{case:?}: rule 1 warns only on the Kubeflow route with a queue");
        return;
    }
    let label = &case.one("SparkApplication")["metadata"]["labels"][KUEUE_LABEL];
    if case.dynamic() {
        assert_eq!(*label, Value::Null, "{case:?}: rule 1: no queue label under dynamic allocation");
        let note = case.notes.warnings().find(|d| d.code == "kueue-dynamic-allocation").expect("rule 1's warning");
        assert_eq!(note.path, "spec.dynamicAllocation.enabled", "{case:?}");
    } else {
        assert_eq!(*label, QUEUE, "{case:?}: rule 1: Kueue admits it in its queue");
        assert!(!warned, "{case:?}");
    }
}

/// Thousandths of a CPU or memory quantity as Kueue's Workload writes them (`1500m`, `2`, `2867Mi`).
fn milli(resource: &str, text: &str) -> u128 {
    let number = |t: &str| t.parse::<u128>().unwrap_or_else(|_| panic!("{resource} `{text}`"));
    match (resource, text) {
        ("cpu", t) if t.ends_with('m') => number(&t[..t.len() - 1]),
        ("cpu", t) => number(t) * 1000,
        ("memory", t) => number(t.strip_suffix("Mi").expect("MiB")) * 1024 * 1024 * 1000,
        _ => panic!("{resource}"),
    }
}

/// Rule 2: a Job with a queue is suspended and unlabelled, and gated by a
/// Workload of its own named as the Job, whose pod sets add up to the
/// driver's and the most executors' requests from the one sizing model, all
/// or nothing; without a queue there is no Workload and no suspension.
fn rule2_kueue_counts_the_job_routes_driver_and_executors(case: &Case) {
    let workloads = case.all("Workload");
    if case.target != Target::Job {
        assert!(workloads.is_empty(), "{case:?}: rule 2: only the Job route writes a Workload");
        return;
    }
    let job = case.one("Job");
    if case.scheduler == Scheduler::None {
        assert!(workloads.is_empty(), "{case:?}: rule 2: no queue, no gate");
        assert_eq!(job["spec"].get("suspend"), None, "{case:?}");
        return;
    }
    assert_eq!(job["spec"]["suspend"], true, "{case:?}: rule 2: the Job waits for its Workload");
    assert_eq!(job["metadata"]["labels"][KUEUE_LABEL], Value::Null, "{case:?}: rule 2: not Kueue's Job integration");
    let gate = case.one("Workload");
    assert_eq!(gate["metadata"]["name"], job["metadata"]["name"], "{case:?}");
    assert_eq!(gate["metadata"]["labels"][GATES_JOB], job["metadata"]["name"], "{case:?}");
    assert_eq!((&gate["spec"]["queueName"], &gate["metadata"]["labels"][KUEUE_LABEL]), (&QUEUE.into(), &QUEUE.into()));
    let mut counted: BTreeMap<String, u128> = BTreeMap::new();
    for set in gate["spec"]["podSets"].as_array().expect("pod sets") {
        assert_eq!(set.get("minCount"), None, "{case:?}: rule 2: all or nothing");
        let count = u128::from(set["count"].as_u64().expect("count") as u32);
        let requests = set["template"]["spec"]["containers"][0]["resources"]["requests"].as_object().expect("requests");
        for (resource, amount) in requests {
            *counted.entry(resource.clone()).or_default() += count * milli(resource, amount.as_str().unwrap_or(""));
        }
    }
    let sized = demand(&size_job(&case.resolved.job.spec));
    for resource in ["cpu", "memory"] {
        assert_eq!(counted.get(resource), sized.get(resource), "{case:?}: rule 2: Kueue counts {resource} as sized");
    }
    assert!(!case.has_note("kueue-counts-submitter"), "{case:?}: a gated Job needs no warning");
}

/// Rule 3: with YuniKorn every pod names the tenant's queue as YuniKorn
/// names it (`root.<namespace>.<queue>`; the SparkApplication's
/// `batchSchedulerOptions.queue` on the Kubeflow route); no one else names it.
fn rule3_yunikorn_places_the_job_in_the_tenants_queue(case: &Case) {
    let pods = case.pods();
    let named: Vec<&String> = pods.iter().filter_map(|(_, a)| a.get(YUNIKORN_QUEUE_KEY)).collect();
    if case.scheduler != Scheduler::YuniKorn {
        assert!(named.is_empty(), "{case:?}: rule 3: only YuniKorn's pods name a YuniKorn queue");
        return;
    }
    if case.target == Target::Kubeflow {
        let app = case.one("SparkApplication");
        assert_eq!(app["spec"]["batchSchedulerOptions"]["queue"], YUNIKORN_QUEUE, "{case:?}: rule 3");
        return;
    }
    for role in ["driver", "executor"] {
        let of_role: Vec<_> = pods.iter().filter(|(r, _)| r == role).collect();
        assert!(!of_role.is_empty(), "{case:?}: a {role}");
        for (_, annotations) in of_role {
            assert_eq!(
                annotations.get(YUNIKORN_QUEUE_KEY).map(String::as_str),
                Some(YUNIKORN_QUEUE),
                "{case:?}: rule 3"
            );
        }
    }
}

/// Rule 4: every task group a pod names is one the driver's `task-groups`
/// lists; with a minimum of 0 executors there is no executor group, and
/// the executors name none.
fn rule4_every_task_group_a_pod_names_is_listed(case: &Case) {
    let pods = case.pods();
    let listed: Vec<String> = pods
        .iter()
        .filter_map(|(_, a)| a.get(TASK_GROUPS))
        .flat_map(|text| serde_json::from_str::<Vec<Value>>(text).expect("task-groups is JSON"))
        .filter_map(|group| group["name"].as_str().map(str::to_owned))
        .collect();
    let named: Vec<(&String, &String)> =
        pods.iter().filter_map(|(role, a)| a.get(TASK_GROUP_NAME).map(|g| (role, g))).collect();
    if case.scheduler != Scheduler::YuniKorn || case.target == Target::Kubeflow {
        // Kubeflow's operator makes YuniKorn's task groups itself from `batchScheduler`.
        assert!(named.is_empty() && listed.is_empty(), "{case:?}: rule 4: no task groups here");
        return;
    }
    assert!(!named.is_empty(), "{case:?}: the driver names its group");
    for (role, group) in &named {
        assert!(listed.contains(group), "{case:?}: rule 4: the {role} names `{group}`, task-groups lists {listed:?}");
    }
    if case.allocation == Allocation::MinZero {
        assert!(named.iter().all(|(role, _)| *role == "driver"), "{case:?}: rule 4: executors name no group");
    }
}

/// Rule 5: a Volcano PodGroup is in the tenant's queue as Volcano names it
/// (`<namespace>-<queue>`; the SparkApplication's `batchSchedulerOptions.queue`,
/// from which Kubeflow's operator makes the PodGroup).
fn rule5_volcano_pod_groups_are_in_the_tenants_queue(case: &Case) {
    let groups = case.all("PodGroup");
    if case.scheduler != Scheduler::Volcano {
        assert!(groups.is_empty(), "{case:?}: rule 5: a PodGroup only for Volcano");
        return;
    }
    if case.target == Target::Kubeflow {
        let app = case.one("SparkApplication");
        assert_eq!(app["spec"]["batchSchedulerOptions"]["queue"], VOLCANO_QUEUE, "{case:?}: rule 5");
        return;
    }
    let group = case.one("PodGroup");
    assert_eq!(group["spec"]["queue"], VOLCANO_QUEUE, "{case:?}: rule 5: not Volcano's `default` queue");
}

#[test]
fn every_route_under_every_scheduler_is_valid_upstream_and_obeys_the_six_rules() {
    let mut cases = 0;
    for target in Target::ALL {
        for scheduler in [Scheduler::None, Scheduler::Kueue, Scheduler::Volcano, Scheduler::YuniKorn] {
            for allocation in [Allocation::Off, Allocation::On, Allocation::MinZero] {
                let case = Case::new(target, scheduler, allocation);
                assert!(!case.notes.has_errors(), "{case:?}: {:?}", case.notes);
                valid_against_the_pinned_crds(&case);
                rule1_kubeflow_with_dynamic_allocation_is_not_left_to_kueue(&case);
                rule2_kueue_counts_the_job_routes_driver_and_executors(&case);
                rule3_yunikorn_places_the_job_in_the_tenants_queue(&case);
                rule4_every_task_group_a_pod_names_is_listed(&case);
                rule5_volcano_pod_groups_are_in_the_tenants_queue(&case);
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 36);
    // Rule 6 is about the platform's queues, not a job: `tenant render --queues` below.
}

/// The rule checks fail on what the issue found: an executor naming a
/// group task-groups does not list (rule 4), a PodGroup in Volcano's
/// `default` queue (rule 5).
#[test]
fn the_rule_checks_catch_what_the_issue_found() {
    let mut yunikorn = Case::new(Target::Native, Scheduler::YuniKorn, Allocation::MinZero);
    for object in &mut yunikorn.objects {
        if let Some(text) = object.body["data"]["spark.properties"].as_str() {
            let text = format!("{text}{EXECUTOR_ANNOTATION}{TASK_GROUP_NAME}=spark-executor\n");
            object.body["data"]["spark.properties"] = Value::String(text);
        }
    }
    let caught = catch_unwind(AssertUnwindSafe(|| rule4_every_task_group_a_pod_names_is_listed(&yunikorn)));
    assert!(caught.is_err(), "rule 4 refuses an executor group task-groups does not list");
    let mut volcano = Case::new(Target::Job, Scheduler::Volcano, Allocation::Off);
    for object in volcano.objects.iter_mut().filter(|o| o.kind == "PodGroup") {
        object.body["spec"].as_object_mut().expect("spec").remove("queue");
    }
    let caught = catch_unwind(AssertUnwindSafe(|| rule5_volcano_pod_groups_are_in_the_tenants_queue(&volcano)));
    assert!(caught.is_err(), "rule 5 refuses a PodGroup without the tenant's queue");
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

/// Rule 6: the ClusterQueues' admission scope and weights need Kueue's own
/// configuration, a team's Volcano queue must exist, and YuniKorn's
/// placement rules must honour the queue its pods name — `tenant render
/// --queues` says each on stderr, with the configuration keys.
fn rule6_tenant_render_says_what_each_scheduler_must_be_configured_with(stderr: &str, namespace: &str, queue: &str) {
    let note = |start: &str| {
        stderr.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("rule 6: no `{start}` note:\n{stderr}"))
    };
    let admission = note("note: Kueue: ClusterQueue analytics, ml orders its LocalQueues by admission fair sharing");
    for key in
        ["kueue-manager-config", "admissionFairSharing:", "usageHalfLifeTime", "AdmissionFairSharing feature gate"]
    {
        assert!(admission.contains(key), "rule 6: `{key}` in {admission}");
    }
    // Only analytics has a weight (examples/platform/queues.yaml).
    let weights = note("note: Kueue: ClusterQueue analytics shares its cohort by fairSharing.weight");
    assert!(weights.contains("`fairSharing:` section (preemptionStrategies"), "rule 6: {weights}");
    let volcano = note("note: Volcano:");
    assert!(
        volcano.contains(&format!("Volcano Queue `{namespace}-{queue}`")) && volcano.contains("Open"),
        "rule 6: {volcano}"
    );
    let yunikorn = note("note: YuniKorn:");
    assert!(yunikorn.contains(&format!("`root.{namespace}.{queue}`")), "rule 6: {yunikorn}");
    for key in ["yunikorn.apache.org/queue", "yunikorn-configs", "placementrules", "`provided` rule"] {
        assert!(yunikorn.contains(key), "rule 6: `{key}` in {yunikorn}");
    }
}

#[test]
fn tenant_render_with_queues_notes_the_scheduler_configuration_its_objects_need() {
    let tenant = std::fs::read_to_string(repo("examples/tenants/data-eng.yaml")).expect("the example tenant");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("data-eng.yaml");
    std::fs::write(&file, format!("{tenant}  queue: {{name: etl, clusterQueue: analytics, weight: 2}}\n"))
        .expect("write");
    let queues = repo("examples/platform/queues.yaml").display().to_string();
    let file = file.display().to_string();
    let out = run(dir.path(), &["tenant", "render", "--queues", &queues, &file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    rule6_tenant_render_says_what_each_scheduler_must_be_configured_with(&stderr, "data-eng", "etl");
    // Notes go to stderr: stdout stays the objects, for kubectl.
    assert!(!text(&out.stdout).contains("note:"), "{}", text(&out.stdout));
    // -q keeps them back.
    let quiet = run(dir.path(), &["-q", "tenant", "render", "--queues", &queues, &file]);
    assert_eq!((quiet.status.code(), text(&quiet.stderr)), (Some(0), String::new()));
    // Without a queue or a Queues file there is nothing to configure.
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, &tenant).expect("write");
    let out = run(dir.path(), &["tenant", "render", &plain.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("note:"), "{}", text(&out.stderr));
}

/// The job with `queue` and `extra` (its lines from 14 on: `queue` at 14, `executor` at 15, `extra` from 16).
fn job_file(dir: &Path, queue: &str, extra: &str) -> String {
    let path = dir.join("job.yaml");
    std::fs::write(&path, format!("{JOB}  queue: {queue}\n  executor: {{cores: 2, memory: 2g}}\n{extra}"))
        .expect("job");
    path.display().to_string()
}

#[test]
fn render_warns_where_kueue_would_not_admit_the_kubeflow_route_and_still_renders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let job = job_file(dir.path(), QUEUE, "  dynamicAllocation: {enabled: true, minExecutors: 1, maxExecutors: 4}\n");
    let out = run(dir.path(), &["render", &job, "--target", "kubeflow", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr.lines().find(|l| l.contains("warning: spec.dynamicAllocation.enabled:")).unwrap_or_default();
    assert!(line.starts_with(&format!("{job}:16:")), "the file, line and column of the field: {stderr}");
    assert!(line.contains("Kueue's SparkApplication integration refuses dynamic allocation"), "{stderr}");
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let app =
        list["items"].as_array().into_iter().flatten().find(|o| o["kind"] == "SparkApplication").expect("rendered");
    assert_eq!(app["metadata"]["labels"][KUEUE_LABEL], Value::Null);
    // The native route says nothing: the operator's Workload admits dynamic allocation.
    let out = run(dir.path(), &["render", &job, "--target", "native", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("dynamicAllocation"), "{}", text(&out.stderr));
    // A CronJob's runs: Kueue gates only their start, and render says so at spec.schedule.cron.
    let cron = job_file(dir.path(), QUEUE, "  schedule: {cron: \"0 2 * * *\"}\n");
    let out = run(dir.path(), &["render", &cron, "--target", "job", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning: spec.schedule.cron: the CronJob's runs wait in `team-a`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn render_and_validate_refuse_a_queue_the_gang_scheduler_cannot_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let job = job_file(dir.path(), "team.a", "  scheduling: {gang: YuniKorn}\n");
    for args in [vec!["render", job.as_str(), "--target", "native"], vec!["validate", job.as_str()]] {
        let out = run(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.starts_with(&format!("{job}:14:"))
                && l.contains(
                    "error: spec.queue: YuniKorn queue `root.data.team.a` is not one queue under root.<namespace>"
                )),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing rendered");
    }
}
