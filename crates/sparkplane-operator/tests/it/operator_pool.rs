//! The built-in queue's small-cluster mode on the simulated cluster (ADR
//! 0073): with `--queue-pool` every tenant's runs share the room the nodes
//! have left; two tenants weighted 2:1 (their Tenant files' `spec.queue.weight`)
//! waiting for a pool that holds one application at a time are admitted
//! 20 to 10 over 30 runs, as Kueue's stand-in test shows for Kueue mode; a
//! higher-priority run that comes last goes next; a run waiting for the
//! pool says so in its status and an Event, naming what the pool lacks.

use crate::support;

use std::time::{Duration, Instant};

use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use sparkplane_api::SparkJob;
use sparkplane_fakekube::{Cluster, DriverRule, DriverRun, FakeApiServer, Node, Timings};
use sparkplane_lifecycle::Platform;
use sparkplane_operator::pool::PoolCapacity;
use sparkplane_operator::{Metrics, OperatorSettings};
use support::{client, create, install_crd};

struct Operator {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<Result<(), sparkplane_kube::KubeError>>,
}

impl Operator {
    /// The operator with the built-in queue over every namespace, its pool
    /// the nodes' room, and the platform's tenants weighted as `weights` says.
    fn start(fake: &FakeApiServer, weights: &[(&str, u32)]) -> Operator {
        install_crd(fake);
        let mut platform = Platform::builtin().expect("catalog");
        for (namespace, weight) in weights {
            let tenant: sparkplane_api::tenant::Tenant = serde_json::from_value(json!({
                "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": namespace},
                "spec": {"team": namespace, "costCenter": "cc-1", "queue": {"clusterQueue": "shared", "weight": weight}},
            }))
            .expect("a Tenant");
            platform.catalog.add_tenant(tenant, &format!("tenants/{namespace}.yaml")).expect("added");
        }
        let settings =
            OperatorSettings { namespace: None, queue_pool: Some(PoolCapacity::Nodes), ..support::settings(fake) };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle =
            tokio::spawn(sparkplane_operator::run(client(fake), settings, platform, Metrics::new(), async move {
                let _ = stopped.await;
            }));
        Operator { stop: Some(stop), handle }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
        assert!(matches!(ended, Ok(Ok(Ok(())))), "the operator stops cleanly: {ended:?}");
    }
}

/// One node of `cores` CPUs; drivers succeed after `run`, without executors.
fn cluster(cores: u64, run: Duration) -> Cluster {
    Cluster {
        nodes: vec![Node::new("node-a", cores, 64)],
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(20) },
        default_run: DriverRun::succeeds(run, "ok\n"),
        ..Cluster::default()
    }
}

/// A run of a 1-CPU driver and one 1-CPU executor: 2 CPUs reserved.
fn job(namespace: &str, name: &str, extra: Value) -> SparkJob {
    let spec = json!({
        "team": namespace, "costCenter": "cc-1",
        "type": "Python", "mainApplicationFile": "local:///opt/app/main.py", "sparkVersion": "3.5.3",
        "image": {"repository": "registry.example.com/spark/py", "tag": "3.5.3"},
        "driver": {"cores": 1, "memory": "1g"},
        "executor": {"instances": 1, "memory": "1g", "cores": 1},
    });
    support::job_in(namespace, name, spec, extra)
}

fn status_of(fake: &FakeApiServer, namespace: &str, name: &str) -> Value {
    fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some(namespace), name).unwrap_or(Value::Null)["status"].clone()
}

/// Waits until every one of `jobs` (namespace, name) has a status with `reason`.
async fn wait_all(fake: &FakeApiServer, jobs: &[(String, String)], reason: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !jobs.iter().all(|(ns, name)| status_of(fake, ns, name)["reason"] == reason) {
        let behind: Vec<_> = jobs.iter().filter(|(ns, n)| status_of(fake, ns, n)["reason"] != reason).take(3).collect();
        assert!(Instant::now() < deadline, "not all {reason}: {behind:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The drivers the operator created, in order, as `namespace/job`.
fn drivers(fake: &FakeApiServer) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/pods"))
        .filter_map(|r| r.body)
        .filter(|b| b["metadata"]["labels"]["spark-role"] == "driver")
        .map(|b| {
            let ns = b["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
            format!("{ns}/{}", b["metadata"]["labels"]["sparkplane.dev/job"].as_str().unwrap_or_default())
        })
        .collect()
}

async fn wait_drivers(fake: &FakeApiServer, count: usize, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    while drivers(fake).len() < count {
        assert!(Instant::now() < deadline, "{} of {count} runs admitted: {:?}", drivers(fake).len(), drivers(fake));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drivers(fake)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_weighted_two_to_one_on_one_pool_are_admitted_two_to_one() {
    let fake = FakeApiServer::start().expect("fake");
    // One CPU: no run (2 CPUs) fits the pool yet; each waits without holding back the others.
    fake.set_cluster(cluster(1, Duration::from_millis(50)));
    let operator = Operator::start(&fake, &[("team-a", 2), ("team-b", 1)]);
    let mut all = Vec::new();
    for i in 0..20 {
        for ns in ["team-a", "team-b"] {
            create(&fake, &job(ns, &format!("j{i:02}"), json!({}))).await;
            all.push((ns.to_owned(), format!("j{i:02}")));
        }
    }
    wait_all(&fake, &all, "PoolTooSmall").await;
    let status = status_of(&fake, "team-a", "j00");
    assert_eq!(status["state"], "Queued");
    assert_eq!(
        status["message"],
        "the driver and its first executors need 2 cpu (it holds 1 in all) but the shared pool (the nodes' allocatable less what running pods request) is smaller; it waits for the pool to grow and holds back no other application"
    );
    assert!(drivers(&fake).is_empty(), "no pod before the pool has room");
    // Three CPUs: one run (2) at a time.
    fake.set_cluster(cluster(3, Duration::from_millis(50)));
    let order: Vec<String> = wait_drivers(&fake, 30, Duration::from_secs(180)).await.into_iter().take(30).collect();
    let a = order.iter().filter(|d| d.starts_with("team-a/")).count();
    assert_eq!((a, 30 - a), (20, 10), "{order:?}");
    // Within a tenant, first queued first.
    let of_a: Vec<&String> = order.iter().filter(|d| d.starts_with("team-a/")).collect();
    assert_eq!(of_a[..3], ["team-a/j00", "team-a/j01", "team-a/j02"]);
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_higher_priority_run_that_comes_last_goes_next_and_a_waiting_run_says_what_the_pool_lacks() {
    let fake = FakeApiServer::start().expect("fake");
    let mut cluster = cluster(3, Duration::from_millis(50));
    // The first run holds the pool until it is suspended.
    cluster.drivers = vec![DriverRule { job: "long".into(), attempt: None, run: DriverRun::forever() }];
    fake.set_cluster(cluster);
    let classes: Api<k8s_openapi::api::scheduling::v1::PriorityClass> = Api::all(client(&fake));
    let urgent = serde_json::from_value(json!({"metadata": {"name": "urgent"}, "value": 1000})).expect("class");
    classes.create(&PostParams::default(), &urgent).await.expect("class created");
    let operator = Operator::start(&fake, &[("team-a", 1), ("team-b", 1)]);
    create(&fake, &job("team-a", "long", json!({}))).await;
    wait_drivers(&fake, 1, Duration::from_secs(30)).await;
    for (ns, name) in [("team-a", "a1"), ("team-b", "b1"), ("team-a", "a2"), ("team-b", "b2")] {
        create(&fake, &job(ns, name, json!({}))).await;
    }
    // While `long` runs, the pool's next run says what the pool lacks, the other whom it waits behind;
    // the runs behind them wait in their own namespace's order.
    let heads = [("team-a", "a1"), ("team-b", "b1")].map(|(ns, n)| (ns.to_owned(), n.to_owned()));
    wait_all(&fake, &heads, "PoolWait").await;
    let first = status_of(&fake, "team-b", "b1");
    assert_eq!(first["state"], "Queued");
    assert!(
        first["message"].as_str().is_some_and(|m| m.starts_with(
            "waiting for room in the shared pool (the nodes' allocatable less what running pods request): cpu needs 2, 1 free"
        )),
        "team-b runs nothing, team-a runs `long`: b1 goes first; {first:#}"
    );
    // a1, reconciled before b1 existed, was first then; its next look (within 10 s) says whom it waits behind.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let behind = status_of(&fake, "team-a", "a1");
        let says = |m: &str| {
            m.starts_with("queued for the shared pool behind 1 application(s)") && m.ends_with("next is team-b/b1")
        };
        if behind["message"].as_str().is_some_and(says) {
            break;
        }
        assert!(Instant::now() < deadline, "{behind:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = [("team-a", "a2"), ("team-b", "b2")].map(|(ns, n)| (ns.to_owned(), n.to_owned()));
    wait_all(&fake, &second, "QuotaWait").await;
    assert_eq!(
        status_of(&fake, "team-a", "a2")["message"],
        "queued behind 1 other application(s) of this namespace; next is a1"
    );
    let events: Vec<Value> = fake
        .objects()
        .into_iter()
        .filter(|o| o["kind"] == "Event" && o["reason"] == "PoolWait")
        .filter(|o| o["regarding"]["name"] == "b1" || o["involvedObject"]["name"] == "b1")
        .collect();
    assert!(
        events.iter().any(|e| e["note"].as_str().or(e["message"].as_str()).is_some_and(|m| m.contains("shared pool"))),
        "{events:#?}"
    );
    // An urgent run, created last, goes next when `long` ends; then the rest by share and time.
    create(&fake, &job("team-b", "hot", json!({"priorityClassName": "urgent"}))).await;
    let hot = [("team-b".to_owned(), "hot".to_owned())];
    wait_all(&fake, &hot, "PoolWait").await;
    assert!(drivers(&fake).len() == 1, "nothing running is stopped for it: {:?}", drivers(&fake));
    let jobs: Api<SparkJob> = Api::namespaced(client(&fake), "team-a");
    let suspend = kube::api::Patch::Merge(json!({"spec": {"suspend": true}}));
    jobs.patch("long", &kube::api::PatchParams::default(), &suspend).await.expect("long suspended");
    let order = wait_drivers(&fake, 6, Duration::from_secs(60)).await;
    assert_eq!(order[..2], ["team-a/long", "team-b/hot"], "{order:?}");
    assert_eq!(order.len(), 6, "{order:?}");
    operator.stop().await;
}
