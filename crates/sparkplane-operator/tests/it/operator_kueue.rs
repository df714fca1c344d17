//! The operator in Kueue mode on the simulated cluster, with Kueue's own
//! CRDs installed and the fake's stand-in for Kueue's admission (ADR 0073):
//! a run that is not admitted has no pod and says why in Kueue's words;
//! admission places the pods on the flavor's nodes; a higher priority
//! preempts a running lower one, which stops, shows `Preempted` and runs
//! again later; a dynamic-allocation run never has more executors than were
//! admitted, however many Spark asks for; teams weighted 2:1 on one
//! ClusterQueue are admitted 2:1. The Job route's gate (issue #69): a Job
//! `render --target job` wrote suspended is unsuspended once its own
//! Workload is admitted, whose quota is its driver's and executors'
//! requests; one that does not fit stays suspended; one evicted is
//! suspended, its driver stopped, its quota released, and runs again. A
//! Kubeflow application with dynamic allocation waits in the LocalQueue its
//! label names and runs within what Kueue admitted (`--kueue --kubeflow`).

use crate::support;

use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_api::job::JobState;
use sparkplane_fakekube::{Cluster, DriverRule, DriverRun, FakeApiServer, Node, Timings};
use sparkplane_lifecycle::Platform;
use sparkplane_operator::{Admitter, Metrics, OperatorSettings};
use support::{client, create, install_crd, state_is, transitions, wait_for};

struct Operator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), sparkplane_kube::KubeError>>,
    metrics: Metrics,
}

impl Operator {
    /// The operator in Kueue mode over every namespace.
    fn start(fake: &FakeApiServer) -> Operator {
        Operator::start_with(fake, Platform::builtin().expect("catalog"))
    }

    /// The same with `platform`'s catalog (its tenants, say).
    fn start_with(fake: &FakeApiServer, platform: Platform) -> Operator {
        Operator::start_tweaked(fake, platform, |_| {})
    }

    /// The same, also serving Kubeflow's resources (`--kueue --kubeflow`).
    fn start_kubeflow(fake: &FakeApiServer) -> Operator {
        Operator::start_tweaked(fake, Platform::builtin().expect("catalog"), |s| {
            s.kubeflow = Some(sparkplane_operator::kubeflow::KubeflowSettings::default());
        })
    }

    fn start_tweaked(fake: &FakeApiServer, platform: Platform, tweak: impl FnOnce(&mut OperatorSettings)) -> Operator {
        install_crd(fake);
        let mut settings = OperatorSettings { namespace: None, ..support::settings(fake) };
        tweak(&mut settings);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics = Metrics::new();
        let handle = tokio::spawn(sparkplane_operator::run_with(
            client(fake),
            settings,
            platform,
            metrics.clone(),
            Admitter::Kueue,
            async move {
                let _ = stopped.await;
            },
        ));
        Operator { stop: Some(stop), handle, metrics }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "the operator stops cleanly: {ended:?}");
    }
}

/// Creates a Kueue object through the API (its CRD's schema applies).
async fn kueue(fake: &FakeApiServer, kind: &str, body: Value) {
    let ar = sparkplane_kube::kueue::resource(kind);
    let api: Api<DynamicObject> = match body["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client(fake), ns, &ar),
        None => Api::all_with(client(fake), &ar),
    };
    let mut body = body;
    body["apiVersion"] = json!("kueue.x-k8s.io/v1beta2");
    body["kind"] = json!(kind);
    let object: DynamicObject = serde_json::from_value(body).expect("object");
    api.create(&PostParams::default(), &object).await.unwrap_or_else(|e| panic!("{kind}: {e}"));
}

/// A ClusterQueue of one flavor with `cpu` CPUs, preempting lower priorities.
async fn cluster_queue(fake: &FakeApiServer, name: &str, flavor: &str, cpu: &str, afs: bool) {
    let mut spec = json!({
        "namespaceSelector": {},
        "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [
            {"name": flavor, "resources": [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": "256Gi"}]}
        ]}],
        "preemption": {"withinClusterQueue": "LowerPriority"},
    });
    if afs {
        spec["admissionScope"] = json!({"admissionMode": "UsageBasedAdmissionFairSharing"});
    }
    kueue(fake, "ClusterQueue", json!({"metadata": {"name": name}, "spec": spec})).await;
}

async fn local_queue(fake: &FakeApiServer, namespace: &str, name: &str, cq: &str, weight: Option<u32>) {
    let mut spec = json!({"clusterQueue": cq});
    if let Some(w) = weight {
        spec["fairSharing"] = json!({"weight": w.to_string()});
    }
    kueue(fake, "LocalQueue", json!({"metadata": {"name": name, "namespace": namespace}, "spec": spec})).await;
}

/// A job of 1 driver CPU and `executors` of 1 CPU each.
fn job(namespace: &str, name: &str, extra: Value) -> SparkJob {
    let spec = json!({
        "team": namespace, "costCenter": "cc-42",
        "type": "Python", "mainApplicationFile": "local:///opt/app/main.py", "sparkVersion": "3.5.3",
        "image": {"repository": "registry.example.com/spark/py", "tag": "3.5.3"},
        "queue": "team",
        "driver": {"cores": 1, "memory": "1g"},
        "executor": {"instances": 2, "memory": "1g", "cores": 1},
    });
    support::job_in(namespace, name, spec, extra)
}

fn pods(fake: &FakeApiServer, job: &str, role: &str) -> Vec<Value> {
    fake.objects()
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["sparkplane.dev/job"] == job)
        .filter(|o| o["metadata"]["labels"]["spark-role"] == role)
        .filter(|o| !o["metadata"]["deletionTimestamp"].is_string())
        .collect()
}

fn workload_of(fake: &FakeApiServer, namespace: &str, job: &str) -> Value {
    fake.objects()
        .into_iter()
        .find(|o| {
            o["kind"] == "Workload"
                && o["metadata"]["namespace"] == namespace
                && o["metadata"]["labels"]["sparkplane.dev/job"] == job
        })
        .unwrap_or(Value::Null)
}

fn condition(object: &Value, kind: &str) -> Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .cloned()
        .unwrap_or(Value::Null)
}

fn nodes(cores: u64) -> Cluster {
    Cluster {
        nodes: vec![Node::new("node-a", cores, 64)],
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(50) },
        executors: true,
        default_run: DriverRun::succeeds(Duration::from_millis(200), "done\n"),
        ..Cluster::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_kueue_has_not_admitted_has_no_pod_and_says_why_in_kueues_words() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(nodes(16));
    fake.install_kueue();
    cluster_queue(&fake, "small", "default", "2", false).await;
    local_queue(&fake, "data", "team", "small", None).await;
    let operator = Operator::start(&fake);
    // Driver and two executors: 3 CPUs; the queue has 2.
    create(&fake, &job("data", "big", json!({}))).await;
    let queued = wait_for(&fake, "big", Duration::from_secs(20), |s| {
        s["reason"] == "WaitingForAdmission" && s["message"].as_str().is_some_and(|m| m.starts_with("Kueue: "))
    })
    .await;
    assert_eq!(queued["status"]["state"], "Queued");
    assert_eq!(
        queued["status"]["message"],
        "Kueue: couldn't assign flavors to pod set executor: insufficient unused quota for cpu in flavor default, 1 more needed"
    );
    // The Workload came first, from the sizing model, owned by the SparkJob.
    let workload = workload_of(&fake, "data", "big");
    assert_eq!(workload["spec"]["queueName"], "team");
    assert_eq!(workload["spec"]["podSets"][1]["count"], 2);
    assert_eq!(workload["metadata"]["ownerReferences"][0]["kind"], "SparkJob");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pods_created = fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/pods")).count();
    assert_eq!(pods_created, 0, "no pod before admission");
    // Made once: a reconcile before the watch shows it (woken by the job's own status write) does not create it again.
    let creates = fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/workloads")).count();
    assert_eq!(creates, 1);

    // A queue that does not exist refuses the job, with the field and an Event in apply's words.
    create(&fake, &job("data", "lost", json!({"queue": "nowhere"}))).await;
    let refused = wait_for(&fake, "lost", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(refused["status"]["reason"], "InvalidSpec");
    let message = refused["status"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.starts_with("spec.queue: there is no Kueue LocalQueue `nowhere` in namespace `data`"), "{message}");
    assert_event_says(&fake, "lost", "spec.queue: there is no Kueue LocalQueue `nowhere` in namespace `data`");
    assert!(workload_of(&fake, "data", "lost").is_null(), "no Workload for a refused job");
    // A priority class that does not exist likewise.
    create(&fake, &job("data", "vip", json!({"priorityClassName": "vip"}))).await;
    let refused = wait_for(&fake, "vip", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert!(
        refused["status"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("spec.priorityClassName: there is no Kueue WorkloadPriorityClass `vip`")),
        "{:#}",
        refused["status"]
    );
    assert_event_says(&fake, "vip", "spec.priorityClassName: there is no Kueue WorkloadPriorityClass `vip`");
    // Dynamic allocation without a maximum: refused in `sparkplane apply`'s words, and no Workload.
    let unbounded =
        json!({"executor": {"memory": "1g", "cores": 1}, "dynamicAllocation": {"enabled": true, "minExecutors": 1}});
    create(&fake, &job("data", "unbounded", unbounded)).await;
    let refused = wait_for(&fake, "unbounded", Duration::from_secs(20), state_is(JobState::Failed)).await;
    assert_eq!(refused["status"]["reason"], "InvalidSpec");
    let said = "spec.dynamicAllocation.maxExecutors: dynamic allocation has no upper bound, so quotas and costs cannot be checked";
    assert!(refused["status"]["message"].as_str().is_some_and(|m| m.contains(said)), "{:#}", refused["status"]);
    assert_event_says(&fake, "unbounded", said);
    assert!(workload_of(&fake, "data", "unbounded").is_null(), "no Workload for a refused job");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_names_no_queue_waits_in_its_tenants_and_an_explicit_queue_wins() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(nodes(16));
    fake.install_kueue();
    cluster_queue(&fake, "shared", "default", "8", false).await;
    local_queue(&fake, "data", "team-a-q", "shared", None).await;
    local_queue(&fake, "data", "adhoc", "shared", None).await;
    // The platform directory's tenant (as `--platform-dir` with tenants/ loads it): its queue is `team-a-q`.
    let mut platform = Platform::builtin().expect("catalog");
    let tenant: sparkplane_api::tenant::Tenant = serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "team-a"},
        "spec": {"team": "data", "namespace": "data", "costCenter": "cc-1", "queue": {"name": "team-a-q", "clusterQueue": "shared"}},
    }))
    .expect("a Tenant");
    platform.catalog.add_tenant(tenant, "tenants/team-a.yaml").expect("added");
    let operator = Operator::start_with(&fake, platform);
    let mut defaulted = job("data", "defaulted", json!({}));
    defaulted.spec.queue = None;
    create(&fake, &defaulted).await;
    create(&fake, &job("data", "explicit", json!({"queue": "adhoc"}))).await;
    for name in ["defaulted", "explicit"] {
        wait_for(&fake, name, Duration::from_secs(30), state_is(JobState::Succeeded)).await;
    }
    let workload = workload_of(&fake, "data", "defaulted");
    assert_eq!(workload["spec"]["queueName"], "team-a-q", "{workload:#}");
    assert_eq!(workload["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a-q");
    assert_eq!(condition(&workload, "Admitted")["status"], "True", "admitted through the tenant's LocalQueue");
    assert_eq!(workload_of(&fake, "data", "explicit")["spec"]["queueName"], "adhoc");
    // The LocalQueue looked up before the Workload was made is the tenant's: no `default` was asked for.
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/localqueues/"))
        .map(|r| r.path.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    assert!(asked.iter().all(|q| q == "team-a-q" || q == "adhoc") && !asked.is_empty(), "{asked:?}");
    let metrics = operator.metrics.render();
    assert!(
        metrics.contains("sparkplane_operator_admission_wait_seconds_count{namespace=\"data\",queue=\"team-a-q\"} 1"),
        "{metrics}"
    );
    operator.stop().await;
}

/// An InvalidSpec Event about SparkJob `job` says `text`.
fn assert_event_says(fake: &FakeApiServer, job: &str, text: &str) {
    let events: Vec<Value> = fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Event" && o["reason"] == "InvalidSpec")
        .filter(|o| o["regarding"]["name"] == job || o["involvedObject"]["name"] == job)
        .collect();
    assert!(
        events.iter().any(|e| e["note"].as_str().or(e["message"].as_str()).is_some_and(|m| m.contains(text))),
        "no InvalidSpec Event on {job} says {text:?}: {events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_puts_the_pods_on_the_flavors_nodes() {
    let fake = FakeApiServer::start().expect("fake");
    let mut spot = Node::new("spot-1", 16, 64);
    spot.labels.insert("pool".into(), "spot".into());
    spot.taints.push(("spot".into(), "true".into(), "NoSchedule".into()));
    fake.set_cluster(Cluster {
        nodes: vec![Node::new("general-1", 16, 64), spot],
        default_run: DriverRun::succeeds(Duration::from_millis(1500), "ok\n"),
        ..nodes(16)
    });
    fake.install_kueue();
    kueue(
        &fake,
        "ResourceFlavor",
        json!({"metadata": {"name": "spot"}, "spec": {
            "nodeLabels": {"pool": "spot"},
            "tolerations": [{"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        }}),
    )
    .await;
    cluster_queue(&fake, "shared", "spot", "8", false).await;
    local_queue(&fake, "data", "team", "shared", None).await;
    let operator = Operator::start(&fake);
    create(&fake, &job("data", "placed", json!({}))).await;
    // While it runs: every pod on the flavor's node, by its labels and tolerations.
    let deadline = Instant::now() + Duration::from_secs(20);
    let executors = loop {
        let executors = pods(&fake, "placed", "executor");
        if executors.len() == 2 && executors.iter().all(|e| e["spec"]["nodeName"].is_string()) {
            break executors;
        }
        assert!(Instant::now() < deadline, "{executors:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let driver = pods(&fake, "placed", "driver").pop().expect("the driver");
    assert_eq!(driver["spec"]["nodeSelector"]["pool"], "spot");
    assert_eq!(driver["spec"]["tolerations"][0]["key"], "spot");
    assert_eq!(driver["spec"]["nodeName"], "spot-1");
    for executor in &executors {
        assert_eq!(executor["spec"]["nodeSelector"]["pool"], "spot", "{executor:#}");
        assert_eq!(executor["spec"]["nodeName"], "spot-1", "{executor:#}");
    }
    let done = wait_for(&fake, "placed", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    let seen = transitions(&done);
    assert_eq!(seen[..3], ["Queued/Created", "Queued/WaitingForAdmission", "Submitted/Submitted"], "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("Succeeded/Succeeded"));
    // The Workload ended with the run, so Kueue frees its quota. The operator marks it Finished right after it
    // writes the job's Succeeded, so the test may look in between: it waits for it (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let finished = loop {
        let finished = condition(&workload_of(&fake, "data", "placed"), "Finished");
        if !finished.is_null() || Instant::now() > deadline {
            break finished;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(finished["reason"], "Succeeded", "{finished}");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_higher_priority_run_preempts_a_lower_one_which_stops_shows_preempted_and_runs_again() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        drivers: vec![
            // The low job's first attempt runs until stopped; its second succeeds.
            DriverRule { job: "low".into(), attempt: Some(1), run: DriverRun::forever() },
            DriverRule { job: "*".into(), attempt: None, run: DriverRun::succeeds(Duration::from_millis(600), "ok\n") },
        ],
        ..nodes(16)
    });
    fake.install_kueue();
    kueue(&fake, "WorkloadPriorityClass", json!({"metadata": {"name": "batch"}, "value": 10})).await;
    kueue(&fake, "WorkloadPriorityClass", json!({"metadata": {"name": "urgent"}, "value": 1000})).await;
    cluster_queue(&fake, "shared", "default", "3", false).await;
    local_queue(&fake, "data", "team", "shared", None).await;
    let operator = Operator::start(&fake);
    create(&fake, &job("data", "low", json!({"priorityClassName": "batch"}))).await;
    wait_for(&fake, "low", Duration::from_secs(20), state_is(JobState::Running)).await;
    assert_eq!(workload_of(&fake, "data", "low")["spec"]["priority"], 10, "the class's value");
    create(&fake, &job("data", "high", json!({"priorityClassName": "urgent"}))).await;

    // The low run stops: its driver is deleted, its executors follow, no retry is used.
    let preempted = wait_for(&fake, "low", Duration::from_secs(20), |s| {
        s["transitions"].as_array().is_some_and(|t| t.iter().any(|t| t["reason"] == "Preempted"))
    })
    .await;
    let stopped = Instant::now();
    let preemption = preempted["status"]["transitions"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["reason"] == "Preempted"))
        .cloned()
        .expect("the transition");
    assert_eq!(preemption["state"], "Queued");
    let high_uid = workload_of(&fake, "data", "high")["metadata"]["uid"].as_str().expect("uid").to_owned();
    assert_eq!(
        preemption["message"],
        format!(
            "Preempted to accommodate a workload (UID: {high_uid}, JobUID: UNKNOWN) due to prioritization in the ClusterQueue; preemptor path: /shared; preemptee path: /shared; the driver was stopped and the run is queued again (not counted as a failure)"
        )
    );
    assert!(preempted["status"]["retries"].is_null(), "{:#}", preempted["status"]);
    while !(pods(&fake, "low", "driver").is_empty() && pods(&fake, "low", "executor").is_empty()) {
        assert!(stopped.elapsed() < Duration::from_secs(10), "the low run's pods are still there");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The Event and the metric name the preemption.
    let events: Vec<Value> =
        fake.objects().into_iter().filter(|o| o["kind"] == "Event" && o["reason"] == "Preempted").collect();
    assert!(!events.is_empty());
    let high = wait_for(&fake, "high", Duration::from_secs(20), state_is(JobState::Succeeded)).await;
    assert!(!transitions(&high).iter().any(|t| t.contains("Preempted")));
    // Then the low one is admitted again and runs its second attempt to the end.
    let again = wait_for(&fake, "low", Duration::from_secs(30), state_is(JobState::Succeeded)).await;
    assert_eq!(again["status"]["attempt"], 2);
    assert!(again["status"]["retries"].is_null(), "a preemption is not a failure: {:#}", again["status"]);
    let metrics = operator.metrics.render();
    assert!(
        metrics.contains(
            "sparkplane_operator_preemptions_total{namespace=\"data\",queue=\"team\",reason=\"Preempted\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("sparkplane_operator_admission_wait_seconds_count{namespace=\"data\",queue=\"team\"} 3"),
        "{metrics}"
    );
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_allocation_run_never_has_more_executors_than_were_admitted() {
    let (fake, operator) = room_for_three_of_six().await;
    let spec = json!({"executor": {"memory": "1g", "cores": 1}, "dynamicAllocation": {"enabled": true, "minExecutors": 1, "maxExecutors": 6}});
    create(&fake, &job("data", "elastic", spec)).await;
    let (most, _) = run_to_success(&fake, "elastic").await;
    let workload = workload_of(&fake, "data", "elastic");
    assert_eq!(workload["spec"]["podSets"][1]["count"], 6, "maxExecutors reserved");
    assert_eq!(workload["spec"]["podSets"][1]["minCount"], 1);
    assert_eq!(workload["status"]["admission"]["podSetAssignments"][1]["count"], 3, "Kueue admitted 3");
    let properties: String = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/configmaps") || r.path.contains("/configmaps/"))
        .filter_map(|r| r.body)
        .filter_map(|b| b["data"]["spark.properties"].as_str().map(str::to_owned))
        .collect();
    assert!(properties.contains("spark.dynamicAllocation.maxExecutors=3\n"), "{properties}");
    assert_eq!(most, 3, "Spark asked for 20; the admitted 3 ran, never more");
    operator.stop().await;
}

/// Spark 4.2's Deployment allocator (ADR 0105) in Kueue mode: the
/// executors come from the driver's Deployment, its replicas what Kueue
/// admitted (Spark asks for more), and the operator counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_allocator_run_has_the_admitted_executors_through_its_deployment() {
    let (fake, operator) = room_for_three_of_six().await;
    let spec = json!({
        "sparkVersion": "4.2.1", "image": {"repository": "registry.example.com/spark/py", "tag": "4.2.1"},
        "executor": {"memory": "1g", "cores": 1},
        "dynamicAllocation": {"enabled": true, "minExecutors": 1, "maxExecutors": 6},
        "sparkConf": {"spark.kubernetes.allocation.pods.allocator": "deployment",
                      "spark.kubernetes.executor.podDeletionCost": "0"},
    });
    create(&fake, &job("data", "deployed", spec)).await;
    let (most, counted) = run_to_success(&fake, "deployed").await;
    let workload = workload_of(&fake, "data", "deployed");
    assert_eq!(workload["status"]["admission"]["podSetAssignments"][1]["count"], 3, "Kueue admitted 3");
    assert_eq!(most, 3, "Spark asked for 20; the admitted 3 ran, never more");
    assert_eq!(counted, 3, "the operator counted the ReplicaSet's executors");
    // Every executor came from the Deployment's ReplicaSet, none from the driver directly.
    let posted_pods = fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/pods")).count();
    assert_eq!(posted_pods, 1, "the operator's driver only");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_teams_weighted_two_to_one_on_one_queue_are_admitted_two_to_one() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster { default_run: DriverRun::succeeds(Duration::from_millis(50), "ok\n"), ..nodes(64) });
    fake.install_kueue();
    local_queue(&fake, "team-a", "team", "shared", Some(2)).await;
    local_queue(&fake, "team-b", "team", "shared", Some(1)).await;
    let operator = Operator::start(&fake);
    for i in 0..20 {
        for ns in ["team-a", "team-b"] {
            create(
                &fake,
                &job(ns, &format!("j{i:02}"), json!({"executor": {"instances": 1, "memory": "1g", "cores": 1}})),
            )
            .await;
        }
    }
    // Every run's Workload waits for the ClusterQueue, which does not exist yet.
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.objects().iter().filter(|o| o["kind"] == "Workload").count() < 40 {
        assert!(Instant::now() < deadline, "the operator made every Workload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One run at a time fits: driver and one executor, 2 CPUs.
    cluster_queue(&fake, "shared", "default", "2", true).await;
    let drivers = |fake: &FakeApiServer| -> Vec<String> {
        fake.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/pods"))
            .filter(|r| r.body.as_ref().is_some_and(|b| b["metadata"]["labels"]["spark-role"] == "driver"))
            .map(|r| r.path.split('/').nth(4).unwrap_or_default().to_owned())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while drivers(&fake).len() < 30 {
        assert!(Instant::now() < deadline, "{} runs admitted", drivers(&fake).len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Admission order: the driver pods the operator created, one run at a time.
    let order: Vec<String> = drivers(&fake).into_iter().take(30).collect();
    assert_eq!(order.len(), 30);
    let a = order.iter().filter(|ns| *ns == "team-a").count();
    assert_eq!((a, 30 - a), (20, 10), "{order:?}");
    operator.stop().await;
}

/// The Job route's objects for `job` (`render --target job`), created through the API as `kubectl
/// apply` would (each kind's schema applies; the Workload's is Kueue's own CRD).
async fn apply_job_route(fake: &FakeApiServer, job: &SparkJob) -> sparkplane_core::resolved::ResolvedJob {
    let platform = Platform::builtin().expect("catalog");
    let resolved = sparkplane_core::load::resolve_resource(job, &platform.catalog).expect("resolves");
    let objects = sparkplane_core::render::size_and_render(&resolved, sparkplane_core::render::Target::Job);
    for object in objects {
        let (group, version) = object.api_version.rsplit_once('/').unwrap_or(("", &object.api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &object.kind);
        let ar = kube::api::ApiResource::from_gvk(&gvk);
        let namespace = object.namespace.as_deref().unwrap_or("data");
        let api: Api<DynamicObject> = Api::namespaced_with(client(fake), namespace, &ar);
        let body: DynamicObject = serde_json::from_value(object.body.clone()).expect("object");
        api.create(&PostParams::default(), &body)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", object.kind, object.name));
    }
    resolved
}

fn stored(fake: &FakeApiServer, kind: &str, namespace: &str, name: &str) -> Value {
    fake.objects()
        .into_iter()
        .find(|o| o["kind"] == kind && o["metadata"]["namespace"] == namespace && o["metadata"]["name"] == name)
        .unwrap_or(Value::Null)
}

async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> Option<Value>) -> Value {
    let started = Instant::now();
    loop {
        if let Some(found) = done() {
            return found;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Millicores of a Kubernetes CPU quantity as Kueue writes it (`3`, `2500m`).
fn millicores(text: &str) -> u64 {
    match text.strip_suffix('m') {
        Some(m) => m.parse().expect("millicores"),
        None => text.parse::<u64>().expect("cores") * 1000,
    }
}

/// MiB of a memory quantity as Kueue writes it (`1408Mi`, `3Gi`, bytes).
fn mebibytes(text: &str) -> u64 {
    if let Some(m) = text.strip_suffix("Mi") {
        m.parse().expect("MiB")
    } else if let Some(g) = text.strip_suffix("Gi") {
        g.parse::<u64>().expect("GiB") * 1024
    } else {
        text.parse::<u64>().expect("bytes") / (1 << 20)
    }
}

/// The submitter's spark-submit, standing in as a program that ends at once with 0.
fn submitter_succeeds(cluster: &mut Cluster, dir: &std::path::Path) {
    submitter_runs(cluster, dir, "exit 0");
}

/// The submitter's spark-submit, standing in as a shell script.
fn submitter_runs(cluster: &mut Cluster, dir: &std::path::Path, script_body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("spark-submit");
    std::fs::write(&script, format!("#!/bin/sh\n{script_body}\n")).expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    cluster
        .programs
        .push(sparkplane_fakekube::ImageProgram { image: "registry.example.com/spark/py".into(), program: script });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_route_run_is_unsuspended_once_admitted_and_its_quota_is_its_driver_and_executors() {
    let fake = FakeApiServer::start().expect("fake");
    let dir = tempfile::tempdir().expect("dir");
    let mut cluster = nodes(16);
    submitter_succeeds(&mut cluster, dir.path());
    fake.set_cluster(cluster);
    fake.install_kueue();
    cluster_queue(&fake, "team-cq", "default", "8", false).await;
    local_queue(&fake, "data", "team", "team-cq", None).await;
    let operator = Operator::start(&fake);
    let spark_job = job("data", "etl", json!({"executor": {"instances": 3, "memory": "2g", "cores": 1}}));
    let resolved = apply_job_route(&fake, &spark_job).await;
    let batch_job = sparkplane_core::render::job::SubmitterNames::of(&sparkplane_core::render::common::RenderInput {
        job: &resolved,
        sized: &sparkplane_core::sizing::size_job(&resolved.job.spec),
    })
    .workload;
    // Created suspended (the operator may have unsuspended it since).
    let created: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/jobs"))
        .filter_map(|r| r.body)
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!((&created[0]["metadata"]["name"], &created[0]["spec"]["suspend"]), (&json!(batch_job), &json!(true)));

    // Kueue's stand-in admits the Workload; the operator unsuspends the Job, whose pod then runs.
    let admitted = wait_until(Duration::from_secs(20), "the Job unsuspended", || {
        let job = stored(&fake, "Job", "data", &batch_job);
        (job["spec"]["suspend"] == false).then_some(job)
    })
    .await;
    assert_eq!(admitted["metadata"]["name"], batch_job.as_str());
    let workload = stored(&fake, "Workload", "data", &batch_job);
    assert_eq!(condition(&workload, "Admitted")["status"], "True", "{workload:#}");
    // The quota Kueue counted is the driver's and the executors' requests, as the sizing model gives them.
    let sized = sparkplane_core::sizing::size_job(&resolved.job.spec);
    let want_cpu =
        sized.driver.cpu_request.millis() + u64::from(sized.executors.max) * sized.executor.cpu_request.millis();
    let want_memory = sized.driver.pod_memory.mib() + u64::from(sized.executors.max) * sized.executor.pod_memory.mib();
    let assignments = workload["status"]["admission"]["podSetAssignments"].as_array().cloned().unwrap_or_default();
    let counts: Vec<(String, u64)> = assignments
        .iter()
        .map(|p| (p["name"].as_str().unwrap_or_default().to_owned(), p["count"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(counts, [("driver".to_owned(), 1), ("executor".to_owned(), u64::from(sized.executors.max))]);
    let cpu: u64 = assignments.iter().map(|p| millicores(p["resourceUsage"]["cpu"].as_str().unwrap_or("0"))).sum();
    let memory: u64 = assignments.iter().map(|p| mebibytes(p["resourceUsage"]["memory"].as_str().unwrap_or("0"))).sum();
    assert_eq!((cpu, memory), (want_cpu, want_memory), "{workload:#}");
    // Not the submitter pod's 250m/1Gi.
    assert!(cpu > 250 && memory > 1024);
    // Adopted by its Job (an owner, not its controller), so it goes with the Job.
    let owner = &workload["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["name"], &owner["uid"]),
        (&json!("Job"), &json!(batch_job), &admitted["metadata"]["uid"])
    );
    assert_ne!(owner["controller"], true);
    // The Event on the Job says who admitted it.
    let started = fake.objects().into_iter().any(|o| {
        o["kind"] == "Event"
            && o["regarding"]["name"] == batch_job.as_str()
            && o["reason"] == "Started"
            && o["note"] == "Admitted by ClusterQueue team-cq"
    });
    assert!(started, "a Started Event on the Job");

    // spark-submit ends; the Job completes, and its Workload is Finished so Kueue frees the quota.
    let finished = wait_until(Duration::from_secs(20), "the Workload finished", || {
        let w = stored(&fake, "Workload", "data", &batch_job);
        (condition(&w, "Finished")["status"] == "True").then_some(w)
    })
    .await;
    assert_eq!(condition(&finished, "Finished")["reason"], "Succeeded");
    assert_eq!(condition(&finished, "Finished")["message"], "Reached expected number of succeeded pods");

    // The Job deleted: its Workload goes too.
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client(&fake), "data");
    jobs.delete(&batch_job, &Default::default()).await.expect("deleted");
    wait_until(Duration::from_secs(20), "the Workload deleted", || {
        stored(&fake, "Workload", "data", &batch_job).is_null().then_some(Value::Null)
    })
    .await;
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_route_run_that_does_not_fit_stays_suspended_with_kueues_reason() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(nodes(16));
    fake.install_kueue();
    cluster_queue(&fake, "small", "default", "2", false).await;
    local_queue(&fake, "data", "team", "small", None).await;
    let operator = Operator::start(&fake);
    // Driver and two executors: 3 CPUs; the queue has 2.
    let resolved = apply_job_route(&fake, &job("data", "big", json!({}))).await;
    let sized = sparkplane_core::sizing::size_job(&resolved.job.spec);
    let batch_job = sparkplane_core::render::job::SubmitterNames::of(&sparkplane_core::render::common::RenderInput {
        job: &resolved,
        sized: &sized,
    })
    .workload;
    let pending = wait_until(Duration::from_secs(20), "Kueue's Pending reason", || {
        let w = stored(&fake, "Workload", "data", &batch_job);
        (condition(&w, "QuotaReserved")["reason"] == "Pending").then_some(w)
    })
    .await;
    let short =
        sized.driver.cpu_request.millis() + u64::from(sized.executors.max) * sized.executor.cpu_request.millis() - 2000;
    assert_eq!(
        condition(&pending, "QuotaReserved")["message"],
        format!(
            "couldn't assign flavors to pod set executor: insufficient unused quota for cpu in flavor default, {} more needed",
            short / 1000
        )
    );
    // Adopted, and still suspended a while later: no pod of the Job.
    wait_until(Duration::from_secs(20), "the Workload adopted", || {
        let w = stored(&fake, "Workload", "data", &batch_job);
        (w["metadata"]["ownerReferences"][0]["kind"] == "Job").then_some(w)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(stored(&fake, "Job", "data", &batch_job)["spec"]["suspend"], true);
    let job_pods = fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["job-name"] == batch_job.as_str())
        .count();
    assert_eq!(job_pods, 0, "no pod of a Job Kueue has not admitted");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_job_route_run_is_suspended_its_driver_stopped_its_quota_released_and_it_runs_again() {
    let fake = FakeApiServer::start().expect("fake");
    let dir = tempfile::tempdir().expect("dir");
    let mut cluster = Cluster {
        drivers: vec![
            // The driver spark-submit started for the Job runs until stopped; the urgent job's ends.
            DriverRule { job: "etl".into(), attempt: None, run: DriverRun::forever() },
            DriverRule { job: "*".into(), attempt: None, run: DriverRun::succeeds(Duration::from_millis(600), "ok\n") },
        ],
        ..nodes(16)
    };
    // spark-submit waits for its application; the second time it ends.
    let marker = dir.path().join("submitted-once");
    submitter_runs(
        &mut cluster,
        dir.path(),
        &format!("if [ -e {m} ]; then exit 0; fi; touch {m}; sleep 60", m = marker.display()),
    );
    fake.set_cluster(cluster);
    fake.install_kueue();
    kueue(&fake, "WorkloadPriorityClass", json!({"metadata": {"name": "urgent"}, "value": 1000})).await;
    cluster_queue(&fake, "shared", "default", "3", false).await;
    local_queue(&fake, "data", "team", "shared", None).await;
    let operator = Operator::start(&fake);
    let resolved = apply_job_route(&fake, &job("data", "etl", json!({}))).await;
    let sized = sparkplane_core::sizing::size_job(&resolved.job.spec);
    let input = sparkplane_core::render::common::RenderInput { job: &resolved, sized: &sized };
    let batch_job = sparkplane_core::render::job::SubmitterNames::of(&input).workload;
    wait_until(Duration::from_secs(20), "the Job unsuspended", || {
        let job = stored(&fake, "Job", "data", &batch_job);
        (job["spec"]["suspend"] == false && job["status"]["active"] == 1).then_some(job)
    })
    .await;
    // The driver spark-submit makes, from the rendered driver pod template (labels and all).
    let template =
        sparkplane_core::render::common::pod_template(&input, sparkplane_core::render::common::SparkRole::Driver);
    let mut driver = serde_json::to_value(template).expect("the driver's template");
    assert_eq!(driver["metadata"]["labels"]["sparkplane.dev/spec-hash"], resolved.short_hash().as_str(), "{driver:#}");
    // Spark labels the pods it makes with their role.
    driver["metadata"]["labels"]["spark-role"] = json!("driver");
    // spark-submit fills in the image of the template's container.
    if driver["spec"]["containers"].as_array().is_none_or(Vec::is_empty) {
        driver["spec"]["containers"] = json!([{"name": "spark-kubernetes-driver"}]);
    }
    driver["spec"]["containers"][0]["image"] = json!("registry.example.com/spark/py:3.5.3");
    driver["apiVersion"] = json!("v1");
    driver["kind"] = json!("Pod");
    driver["metadata"]["name"] = json!("etl-driver");
    driver["metadata"]["namespace"] = json!("data");
    let pods_api: Api<DynamicObject> = Api::namespaced_with(
        client(&fake),
        "data",
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
    );
    pods_api.create(&PostParams::default(), &serde_json::from_value(driver).expect("pod")).await.expect("driver");
    wait_until(Duration::from_secs(20), "the driver running", || {
        let d = stored(&fake, "Pod", "data", "etl-driver");
        (d["status"]["phase"] == "Running").then_some(d)
    })
    .await;

    // A run of a higher priority needs the whole queue: Kueue's stand-in evicts the Job's Workload.
    create(&fake, &job("data", "urgent", json!({"priorityClassName": "urgent"}))).await;
    let stopped = wait_until(Duration::from_secs(20), "the Job suspended again", || {
        let job = stored(&fake, "Job", "data", &batch_job);
        (job["spec"]["suspend"] == true).then_some(job)
    })
    .await;
    assert_eq!(stopped["metadata"]["name"], batch_job.as_str());
    let event = fake
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Event" && o["regarding"]["name"] == batch_job.as_str() && o["reason"] == "Stopped")
        .expect("a Stopped Event on the Job");
    let urgent_uid = workload_of(&fake, "data", "urgent")["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    assert_eq!(event["type"], "Warning");
    assert!(
        event["note"].as_str().is_some_and(
            |n| n.starts_with("Preempted: Preempted to accommodate a workload (UID: ") && n.contains(&urgent_uid)
        ),
        "{event:#}"
    );
    // Its driver (spark-submit's application) is stopped, and the quota goes back: the urgent run runs to its end.
    wait_until(Duration::from_secs(20), "the driver gone", || {
        stored(&fake, "Pod", "data", "etl-driver").is_null().then_some(Value::Null)
    })
    .await;
    wait_for(&fake, "urgent", Duration::from_secs(30), state_is(JobState::Succeeded)).await;
    let released = condition(&stored(&fake, "Workload", "data", &batch_job), "Requeued");
    assert_eq!((&released["status"], &released["reason"]), (&json!("True"), &json!("Preempted")), "{released:#}");

    // Then the Job's Workload is admitted again, the Job resumed, and it ends, its Workload Finished.
    let finished = wait_until(Duration::from_secs(30), "the Workload finished", || {
        let w = stored(&fake, "Workload", "data", &batch_job);
        (condition(&w, "Finished")["status"] == "True").then_some(w)
    })
    .await;
    assert_eq!(condition(&finished, "Finished")["reason"], "Succeeded");
    let started = fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Event" && o["regarding"]["name"] == batch_job.as_str() && o["reason"] == "Started")
        .count();
    assert_eq!(started, 2, "unsuspended twice: at each admission");
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeflow_application_with_dynamic_allocation_waits_in_its_queue_label_and_runs_within_the_admitted_bound() {
    let fake = FakeApiServer::start().expect("fake");
    // Spark would like 20 executors.
    fake.set_cluster(Cluster {
        executor_demand: Some(20),
        default_run: DriverRun::succeeds(Duration::from_millis(1500), "ok\n"),
        ..nodes(64)
    });
    fake.install_kueue();
    crate::operator_kubeflow::install_kubeflow_crds(&fake);
    // Room for the driver and 3 executors of the 6 the application may have.
    cluster_queue(&fake, "shared", "default", "4", false).await;
    local_queue(&fake, "data", "team", "shared", None).await;
    let operator = Operator::start_kubeflow(&fake);
    let apps = crate::operator_kubeflow::apps(&fake);
    let mut app = crate::operator_kubeflow::application(
        "elastic",
        json!({"executor": {"instances": 1, "cores": 1, "memory": "512m"},
               "dynamicAllocation": {"enabled": true, "initialExecutors": 1, "minExecutors": 1, "maxExecutors": 6}}),
    );
    app["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = json!("team");
    apps.create(&PostParams::default(), &serde_json::from_value(app).expect("app")).await.expect("created");
    let mut most = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        most = most.max(pods(&fake, "elastic", "executor").len());
        let app = fake
            .object("sparkoperator.k8s.io/v1beta2", "SparkApplication", Some("data"), "elastic")
            .unwrap_or(Value::Null);
        if app["status"]["applicationState"]["state"] == "COMPLETED" {
            break;
        }
        assert!(Instant::now() < deadline, "{:#}", app["status"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Its Workload waits in the LocalQueue its label names, owned by the application, sized by maxExecutors.
    let workload = workload_of(&fake, "data", "elastic");
    assert_eq!(workload["spec"]["queueName"], "team", "{workload:#}");
    assert_eq!(workload["metadata"]["ownerReferences"][0]["kind"], "SparkApplication");
    assert_eq!(workload["spec"]["podSets"][1]["count"], 6, "maxExecutors reserved");
    assert_eq!(workload["spec"]["podSets"][1]["minCount"], 1);
    assert_eq!(workload["status"]["admission"]["podSetAssignments"][1]["count"], 3, "Kueue admitted 3");
    assert_eq!(condition(&workload, "Finished")["status"], "True", "the quota freed at the end");
    let properties: String = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/configmaps") || r.path.contains("/configmaps/"))
        .filter_map(|r| r.body)
        .filter_map(|b| b["data"]["spark.properties"].as_str().map(str::to_owned))
        .collect();
    assert!(properties.contains("spark.dynamicAllocation.maxExecutors=3\n"), "{properties}");
    assert_eq!(most, 3, "Spark asked for 20; the admitted 3 ran, never more");
    // Kueue's label stays off the pods (Kueue's pod integration would admit each again).
    let driver = fake
        .objects()
        .into_iter()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "driver")
        .expect("the driver");
    assert!(driver["metadata"]["labels"].get("kueue.x-k8s.io/queue-name").is_none(), "{:#}", driver["metadata"]);

    // An application whose queue label names no LocalQueue is refused, its status and a Warning Event saying why.
    let mut lost = crate::operator_kubeflow::application("lost", json!({}));
    lost["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] = json!("nowhere");
    apps.create(&PostParams::default(), &serde_json::from_value(lost).expect("app")).await.expect("created");
    let (refused, _) =
        crate::operator_kubeflow::follow(&fake, "SparkApplication", "lost", Duration::from_secs(20), |s| {
            s["applicationState"]["state"] == "FAILED"
        })
        .await;
    let message = refused["status"]["applicationState"]["errorMessage"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("spec.queue: there is no Kueue LocalQueue `nowhere` in namespace `data`"), "{refused:#}");
    let warned = fake.objects().into_iter().any(|o| {
        o["kind"] == "Event"
            && o["type"] == "Warning"
            && o["regarding"]["name"] == "lost"
            && o["note"].as_str().is_some_and(|n| n.contains("there is no Kueue LocalQueue `nowhere`"))
    });
    assert!(warned, "a Warning Event on the application");
    assert!(workload_of(&fake, "data", "lost").is_null(), "no Workload for a refused application");
    operator.stop().await;
}

/// A fake where Spark asks for 20 executors and Kueue has room for the driver
/// and 3 executors (LocalQueue `team` in `data`), and an operator on it.
async fn room_for_three_of_six() -> (FakeApiServer, Operator) {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        executor_demand: Some(20),
        default_run: DriverRun::succeeds(Duration::from_millis(1500), "ok\n"),
        ..nodes(64)
    });
    fake.install_kueue();
    cluster_queue(&fake, "shared", "default", "4", false).await;
    local_queue(&fake, "data", "team", "shared", None).await;
    let operator = Operator::start(&fake);
    (fake, operator)
}

/// Waits (30 s at most) for SparkJob `data/name` to succeed: the most executor
/// pods seen at once, and the most running executors its status counted.
async fn run_to_success(fake: &FakeApiServer, name: &str) -> (usize, u64) {
    let (mut most, mut counted) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        most = most.max(pods(fake, name, "executor").len());
        let job = fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data"), name).unwrap_or(Value::Null);
        counted = counted.max(job["status"]["executors"]["running"].as_u64().unwrap_or(0));
        if job["status"]["state"] == "Succeeded" {
            return (most, counted);
        }
        assert!(Instant::now() < deadline, "{:#}", job["status"]);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
