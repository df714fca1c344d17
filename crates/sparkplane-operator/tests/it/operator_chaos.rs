//! Chaos, counted: 1,000 SparkJobs on the simulated cluster while the API
//! server answers 500s, loses pod-creation races (409 AlreadyExists), drops
//! every watch, loses pod watch events outright, and the operator is killed
//! three times mid-flight and started again. Every job must end Succeeded
//! with exactly one driver pod, and every final status must agree with the
//! pods. Slow (about a minute): its name starts with `slow_`.

use crate::support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::{Behaviour, Cluster, DriverRun, FakeApiServer, Timings};
use support::{Operator, client, job};

const JOBS: usize = 1_000;

/// The operator's settings here: a short resync, so runs whose driver's end
/// was lost on the watch are found within seconds.
fn settings(s: &mut sparkplane_operator::OperatorSettings) {
    s.concurrency = 16;
    s.resync = Duration::from_secs(10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_a_thousand_jobs_survive_faults_and_three_operator_kills() {
    let fake = FakeApiServer::start().expect("fake");
    fake.set_cluster(Cluster {
        timings: Timings { schedule: Duration::from_millis(20), start: Duration::from_millis(50) },
        default_run: DriverRun::succeeds(Duration::from_millis(300), "done\n"),
        ..Cluster::default()
    });
    let mut operator = Operator::start(&fake, settings);
    let names: Vec<String> = (0..JOBS).map(|i| format!("chaos-{i:04}")).collect();
    // Jobs arrive over about ten seconds, under the same faults as the operator.
    let creator = {
        let client = client(&fake);
        let names = names.clone();
        tokio::spawn(async move {
            let api: kube::Api<sparkplane_api::SparkJob> = kube::Api::namespaced(client, "data");
            for name in names {
                loop {
                    match api.create(&Default::default(), &job(&name, json!({}))).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(e)) if e.code == 409 => break,
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    let mut kills = 0;
    let mut rounds = 0u32;
    let (mut last_done, mut last_progress) = (0, Instant::now());
    let (mut injected_500s, mut lost_races, mut lost_events) = (0u32, 0u32, 0u32);
    let mut asked = Behaviour::default();
    let finished = |fake: &FakeApiServer| {
        fake.objects()
            .iter()
            .filter(|o| {
                o["kind"] == "SparkJob" && matches!(o["status"]["state"].as_str(), Some("Succeeded" | "Failed"))
            })
            .count()
    };
    loop {
        let done = finished(&fake);
        if done == JOBS {
            break;
        }
        if done != last_done {
            last_done = done;
            last_progress = Instant::now();
        }
        if last_progress.elapsed() > Duration::from_secs(150) {
            let stuck: Vec<String> = fake
                .objects()
                .iter()
                .filter(|o| o["kind"] == "SparkJob")
                .filter(|o| !matches!(o["status"]["state"].as_str(), Some("Succeeded" | "Failed")))
                .map(|o| {
                    let pod = o["status"]["driverPod"].as_str().and_then(|p| fake.object("v1", "Pod", Some("data"), p));
                    let pod_status = pod.map(|p| p["status"].clone()).unwrap_or(Value::Null);
                    format!("{}: {}\n  driver: {pod_status}", o["metadata"]["name"], o["status"])
                })
                .collect();
            panic!("only {done} of {JOBS} finished, none for 150 s; stuck: {stuck:#?}");
        }
        rounds += 1;
        if rounds.is_multiple_of(50) {
            eprintln!("{:>4} s: {done} of {JOBS} finished, {kills} kills", started.elapsed().as_secs());
        }
        let left = fake.behaviour();
        injected_500s += asked.fail_next - left.fail_next;
        lost_races += asked.lose_create_races - left.lose_create_races;
        lost_events += asked.lose_pod_watch_events - left.lose_pod_watch_events;
        // Faults, renewed every round: lost creation races; three 500s every
        // fifth round (about six a second: once the jobs are nearly done the
        // operator sends few requests, and 500s renewed every round would
        // then answer all of them, an API that is down rather than flaky);
        // a pod watch event lost every tenth round, which only the
        // resync recovers; every watch dropped every third round.
        asked = Behaviour {
            fail_next: if rounds.is_multiple_of(5) { 3 } else { 0 },
            lose_create_races: 2,
            lose_pod_watch_events: u32::from(rounds.is_multiple_of(10)),
            ..Behaviour::default()
        };
        fake.set_behaviour(asked.clone());
        if rounds.is_multiple_of(3) {
            fake.drop_watches();
        }
        // Three kills, spread over the run while jobs are in flight.
        if kills < 3 && done >= (kills + 1) * JOBS / 4 {
            operator.kill().await;
            kills += 1;
            operator = Operator::start(&fake, settings);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    creator.await.expect("every job created");
    assert_eq!(kills, 3, "the operator was killed three times");
    // The faults happened, not only were scheduled.
    assert!(injected_500s >= 20, "only {injected_500s} requests answered 500");
    assert!(lost_races >= 10, "only {lost_races} pod creations lost a race");
    assert!(lost_events >= 3, "only {lost_events} pod watch events were lost");
    eprintln!(
        "{JOBS} jobs in {:?}: {injected_500s} 500s, {lost_races} lost races, {lost_events} lost pod events, 3 kills",
        started.elapsed()
    );
    fake.set_behaviour(Behaviour::default());

    let objects = fake.objects();
    let mut drivers: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for pod in objects.iter().filter(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "driver") {
        let job = pod["metadata"]["labels"]["sparkplane.dev/job"].as_str().unwrap_or_default().to_owned();
        drivers.entry(job).or_default().push(pod);
    }
    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    let mut untrue = Vec::new();
    for name in &names {
        let Some(job) = objects.iter().find(|o| o["kind"] == "SparkJob" && o["metadata"]["name"] == name.as_str())
        else {
            lost.push(name.clone());
            continue;
        };
        let status = &job["status"];
        let pods = drivers.get(name).cloned().unwrap_or_default();
        if pods.len() != 1 {
            duplicated.push(format!("{name}: {} driver pods, status {status}", pods.len()));
            continue;
        }
        let pod = pods[0];
        let agrees = status["state"] == "Succeeded"
            && status["attempt"] == 1
            && status["driverPod"] == pod["metadata"]["name"]
            && pod["status"]["phase"] == "Succeeded"
            && pod["metadata"]["labels"]["sparkplane.dev/attempt"].as_str().unwrap_or("1") == "1";
        if !agrees {
            untrue.push(format!("{name}: status {} / pod {}", status, pod["status"]["phase"]));
        }
    }
    assert!(lost.is_empty(), "lost jobs: {lost:?}");
    assert!(duplicated.is_empty(), "duplicate drivers: {duplicated:?}");
    assert!(untrue.is_empty(), "{} statuses disagree with the pods, e.g. {:?}", untrue.len(), untrue.first());
    let faults = fake.requests().len();
    assert!(faults > JOBS, "the run went through the API ({faults} requests)");
    operator.stop().await;
}
