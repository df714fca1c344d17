//! `submit`, `status`, `logs`, `list` and `delete` end to end: the real
//! binary against the stateful fake API server (`sparkplane-fakekube`),
//! reached through a kubeconfig the test writes. Each test starts its own
//! server on a free port of 127.0.0.1 and stops it when done.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use sparkplane_fakekube::{Behaviour, FakeApiServer, PodScript};

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/team-a/probe, tag: \"1.0.0\"}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  timeouts: {maxDuration: 2h}
";

struct Cluster {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let fake = FakeApiServer::start().expect("fake API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("team-a")).expect("kubeconfig");
        std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
        Cluster { fake, dir }
    }

    fn job(&self) -> PathBuf {
        self.dir.path().join("job.yaml")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn cmd(&self) -> Command {
        sparkplane(&self.dir.path().join("kubeconfig"), self.dir.path())
    }

    fn pods(&self) -> Vec<Value> {
        self.fake.objects().into_iter().filter(|o| o["kind"] == "Pod").collect()
    }

    fn driver(&self) -> Value {
        let pods = self.pods();
        assert_eq!(pods.len(), 1, "one driver pod: {pods:#?}");
        pods.into_iter().next().unwrap_or_default()
    }
}

fn sparkplane(kubeconfig: &Path, home: &Path) -> Command {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("the binary runs")
}

/// The rendered native objects, as `sparkplane render --target native -o json` prints them.
fn rendered(cluster: &Cluster) -> Vec<Value> {
    let output = run(cluster.cmd().args(["render", "--target", "native", "-o", "json"]).arg(cluster.job()));
    assert!(output.status.success(), "{}", stderr(&output));
    let list: Value = serde_json::from_slice(&output.stdout).expect("JSON list");
    list["items"].as_array().cloned().unwrap_or_default()
}

/// A stored object without what the server adds.
fn without_server_fields(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for key in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "ownerReferences"] {
            meta.remove(key);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    object
}

#[test]
fn submit_stores_exactly_the_rendered_objects_with_owner_references_in_spark_submits_order() {
    let cluster = Cluster::start();
    let expected = rendered(&cluster);
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()));
    assert!(output.status.success(), "{}", stderr(&output));
    let driver = cluster.driver();
    let uid = driver["metadata"]["uid"].as_str().expect("uid").to_owned();
    let pod_name = driver["metadata"]["name"].as_str().expect("name").to_owned();
    assert!(stdout(&output).contains(&format!("submitted team-a-probe (attempt 1): driver pod team-a/{pod_name}")));
    // RBAC (3), two ConfigMaps, the Service, the driver pod, and the NetworkPolicies (peers, the door's).
    assert_eq!(expected.len(), 9);
    for object in &expected {
        let (api_version, kind, name) = (
            object["apiVersion"].as_str().unwrap_or(""),
            object["kind"].as_str().unwrap_or(""),
            object["metadata"]["name"].as_str().unwrap_or(""),
        );
        let stored = cluster
            .fake
            .object(api_version, kind, Some("team-a"), name)
            .unwrap_or_else(|| panic!("{kind} {name} stored"));
        match kind {
            "ConfigMap" | "Service" | "NetworkPolicy" => {
                let owners = &stored["metadata"]["ownerReferences"];
                assert_eq!(owners[0]["uid"], Value::String(uid.clone()), "{kind} {name} is owned by the driver");
                assert_eq!(owners[0]["name"], Value::String(pod_name.clone()));
                assert_eq!(owners[0]["kind"], "Pod");
            }
            _ => assert!(stored["metadata"].get("ownerReferences").is_none(), "{kind} {name} has no owner"),
        }
        let mut stored = without_server_fields(stored);
        if kind == "Service" {
            // The API server allocates and defaults these.
            for key in
                ["clusterIPs", "sessionAffinity", "type", "internalTrafficPolicy", "ipFamilies", "ipFamilyPolicy"]
            {
                if object["spec"].get(key).is_none() {
                    stored["spec"].as_object_mut().map(|s| s.remove(key));
                }
            }
        }
        assert_eq!(&stored, object, "{kind} {name} stored as rendered");
    }
    let writes: Vec<(String, String)> = cluster
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method.clone(), r.path.rsplit('/').nth(1).unwrap_or_default().to_owned()))
        .collect();
    let kinds: Vec<&str> = writes.iter().map(|(m, p)| if m == "POST" { "pods" } else { p.as_str() }).collect();
    assert_eq!(
        kinds,
        [
            "serviceaccounts",
            "roles",
            "rolebindings",
            "pods",
            "configmaps",
            "configmaps",
            "services",
            "networkpolicies",
            "networkpolicies"
        ],
        "RBAC, then the driver, then what it owns: {writes:?}"
    );
    for request in cluster.fake.requests().iter().filter(|r| r.method != "GET") {
        assert_eq!(request.query.get("fieldManager").map(String::as_str), Some("sparkplane"), "{}", request.path);
    }
}

#[test]
fn submitting_twice_keeps_one_driver_and_says_so() {
    let cluster = Cluster::start();
    let first = run(cluster.cmd().arg("submit").arg(cluster.job()));
    assert!(first.status.success(), "{}", stderr(&first));
    let writes_before = cluster.fake.requests().iter().filter(|r| r.method != "GET").count();
    let second = run(cluster.cmd().arg("submit").arg(cluster.job()));
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains("team-a-probe is already submitted (attempt 1"), "{}", stderr(&second));
    assert!(stdout(&second).contains("phase:"), "{}", stdout(&second));
    assert_eq!(cluster.pods().len(), 1);
    let writes_after = cluster.fake.requests().iter().filter(|r| r.method != "GET").count();
    assert_eq!(writes_before, writes_after, "the second submit sends no write");
}

#[test]
fn rerun_starts_a_second_attempt_with_new_names() {
    let cluster = Cluster::start();
    assert!(run(cluster.cmd().arg("submit").arg(cluster.job())).status.success());
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--rerun"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("(attempt 2)"), "{}", stdout(&output));
    let pods = cluster.pods();
    assert_eq!(pods.len(), 2);
    let attempts: Vec<&str> =
        pods.iter().map(|p| p["metadata"]["labels"]["sparkplane.dev/attempt"].as_str().unwrap_or("1")).collect();
    assert!(attempts.contains(&"1") && attempts.contains(&"2"), "{attempts:?}");
    let configmaps = cluster.fake.objects().into_iter().filter(|o| o["kind"] == "ConfigMap").count();
    assert_eq!(configmaps, 4, "each attempt has its own ConfigMaps");
}

fn script(final_phase: &str, log: &str) -> Behaviour {
    Behaviour {
        advance_driver_pods: Some(PodScript {
            step: Duration::from_millis(300),
            final_phase: final_phase.to_owned(),
            log: log.to_owned(),
        }),
        ..Behaviour::default()
    }
}

#[test]
fn wait_streams_the_log_and_exits_0_when_the_driver_succeeds() {
    let cluster = Cluster::start();
    cluster.fake.set_behaviour(script("Succeeded", "starting\nPi is roughly 3.1416\n"));
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("Pi is roughly 3.1416"), "{}", stdout(&output));
    assert!(stderr(&output).contains("team-a-probe: driver Running"), "{}", stderr(&output));
    assert!(stderr(&output).contains("team-a-probe succeeded"), "{}", stderr(&output));
}

#[test]
fn wait_exits_1_when_the_driver_fails() {
    let cluster = Cluster::start();
    cluster.fake.set_behaviour(script("Failed", "Traceback: boom\n"));
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait"));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).contains("Traceback: boom"), "{}", stdout(&output));
    assert!(stderr(&output).contains("team-a-probe ended Failed"), "{}", stderr(&output));
}

#[test]
fn server_dry_run_stores_nothing_and_prints_the_objects() {
    let cluster = Cluster::start();
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--dry-run=server"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(cluster.fake.objects().iter().all(|o| o["kind"] == "Namespace" || o["metadata"]["namespace"] != "team-a"));
    assert!(cluster.pods().is_empty());
    let writes: Vec<_> = cluster.fake.requests().into_iter().filter(|r| r.method != "GET").collect();
    assert_eq!(writes.len(), 9);
    assert!(writes.iter().all(|r| r.query.get("dryRun").map(String::as_str) == Some("All")));
    assert!(stdout(&output).contains("kind: Pod"), "{}", stdout(&output));
    assert!(stderr(&output).contains("nothing was stored"), "{}", stderr(&output));
}

#[test]
fn client_dry_run_sends_nothing() {
    let cluster = Cluster::start();
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--dry-run=client"));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("kind: Pod"));
    assert!(cluster.fake.requests().is_empty());
}

#[test]
fn status_logs_list_and_delete() {
    let cluster = Cluster::start();
    assert!(run(cluster.cmd().arg("submit").arg(cluster.job())).status.success());
    let driver = cluster.driver();
    let pod = driver["metadata"]["name"].as_str().expect("name").to_owned();
    cluster.fake.set_pod_phase("team-a", &pod, "Running");
    // A line in sparkplane's log layout (render::logging) between two plain ones.
    let json_line = r#"{"time":"2026-11-24T00:12:42.207Z","level":"ERROR","logger":"org.apache.spark.SparkContext","thread":"main","message":"Error initializing SparkContext.","exception":"java.io.IOException: no space\n\tat a.B.c(B.java:1)\n","app":"spark-1","executor":"driver","sparkjob":"probe","team":"team-a","attempt":1}"#;
    cluster.fake.set_pod_log("team-a", &pod, &format!("line one\n{json_line}\nline two\n"));

    let output = run(cluster.cmd().args(["status", "team-a-probe", "-o", "json"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let status: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(status["phase"], "Running");
    assert_eq!(status["driverPod"], Value::String(pod.clone()));
    assert_eq!(status["attempt"], 1);

    let output = run(cluster.cmd().arg("status").arg(cluster.job()));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains(&format!("driver:    {pod}")), "{}", stdout(&output));

    let output = run(cluster.cmd().args(["logs", "team-a-probe"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "line one\n2026-11-24T00:12:42.207Z ERROR org.apache.spark.SparkContext: Error initializing SparkContext.\n    \
         java.io.IOException: no space\n    at a.B.c(B.java:1)\nline two\n"
    );
    let output = run(cluster.cmd().args(["logs", "team-a-probe", "--raw"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), format!("line one\n{json_line}\nline two\n"));

    let output = run(cluster.cmd().args(["list"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("team-a-probe") && l.contains("Running")), "{text}");

    let output = run(cluster.cmd().args(["list", "-A", "-l", "sparkplane.dev/team=other", "-o", "json"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(serde_json::from_slice::<Value>(&output.stdout).expect("JSON"), Value::Array(vec![]));

    let output = run(cluster.cmd().args(["delete", "team-a-probe"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains(&format!("deleted team-a/Pod/{pod}")), "{}", stdout(&output));
    assert!(cluster.pods().is_empty());
    // Deleted with background propagation: as on a real cluster, the garbage collector removes what the pod
    // owned after the delete has answered, so the test waits for it (bounded) rather than reading at once.
    let kinds_left = || -> Vec<String> {
        cluster
            .fake
            .objects()
            .iter()
            .filter(|o| o["metadata"]["namespace"] == "team-a")
            .map(|o| o["kind"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let owned = |kinds: &[String]| kinds.iter().any(|k| k == "ConfigMap" || k == "Service" || k == "NetworkPolicy");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut left = kinds_left();
    while owned(&left) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = kinds_left();
    }
    assert!(!owned(&left), "owned objects go by cascade within 20 s: {left:?}");
    assert!(stdout(&output).contains("its ConfigMaps, Service and NetworkPolicy are removed"), "{}", stdout(&output));
    assert!(left.iter().any(|k| k == "ServiceAccount"), "RBAC stays without --all: {left:?}");

    let output = run(cluster.cmd().args(["status", "team-a-probe"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no sparkplane driver pod for team-a-probe in namespace team-a"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unreachable_api_server_is_exit_3_with_the_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u, namespace: team-a}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: t}}\n"
    );
    std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
    std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
    let output =
        run(sparkplane(&dir.path().join("kubeconfig"), dir.path()).arg("submit").arg(dir.path().join("job.yaml")));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("cannot reach the Kubernetes API at http://127.0.0.1:{port}")),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("check that"), "{}", stderr(&output));
}

#[test]
fn an_invalid_job_is_exit_2_and_sends_nothing() {
    let cluster = Cluster::start();
    let bad = cluster.write("bad.yaml", &JOB.replace("type: Python", "type: Pyhton"));
    let output = run(cluster.cmd().arg("submit").arg(&bad));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("spec.type"), "{}", stderr(&output));
    assert!(cluster.fake.requests().is_empty(), "no request for an invalid job");
}

#[test]
fn a_denied_job_is_exit_1_and_sends_nothing_unless_audited() {
    let cluster = Cluster::start();
    let denied = cluster.write("denied.yaml", &JOB.replace("tag: \"1.0.0\"", "tag: latest"));
    let output = run(cluster.cmd().arg("submit").arg(&denied));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("latest"), "{}", stderr(&output));
    assert!(cluster.fake.requests().is_empty(), "no request for a denied job");

    let output = run(cluster.cmd().arg("submit").arg(&denied).args(["--policy-mode", "audit"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("audit mode"), "{}", stderr(&output));
    assert_eq!(cluster.pods().len(), 1);
}

#[test]
fn an_unknown_context_is_exit_2_naming_it() {
    let cluster = Cluster::start();
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).args(["--context", "nope"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("the kubeconfig has no context `nope`"), "{}", stderr(&output));
    assert!(cluster.fake.requests().is_empty());
}

// --wait under faults of the API server. Under every fault there is never a
// second driver pod, and the outcome reported is the driver's own (exit 0/1)
// or an infrastructure error naming the server (exit 3).

/// Waits (up to 20 s) until the fake holds a driver pod; answers its name.
fn driver_created(fake: &FakeApiServer) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pod = fake
            .objects()
            .into_iter()
            .find(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["spark-role"] == "driver");
        if let Some(pod) = pod {
            return pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no driver pod was created");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn watches(fake: &FakeApiServer) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.query.get("watch").is_some_and(|w| w == "true" || w == "1"))
        .count()
}

#[test]
fn wait_resumes_dropped_watches_and_reports_the_drivers_failure() {
    let cluster = Cluster::start();
    let mut behaviour = script("Failed", "Traceback: boom\n");
    // Every watch is closed by the server after one event.
    behaviour.drop_watches_after = Some(1);
    cluster.fake.set_behaviour(behaviour);
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait"));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("team-a-probe ended Failed"), "{}", stderr(&output));
    assert!(stdout(&output).contains("Traceback: boom"), "{}", stdout(&output));
    assert_eq!(cluster.pods().len(), 1, "one driver pod");
    assert!(watches(&cluster.fake) >= 3, "the dropped watches were re-established: {} watches", watches(&cluster.fake));
}

#[test]
fn wait_rides_out_500s_mid_wait_and_reports_the_drivers_success() {
    let cluster = Cluster::start();
    let mut behaviour = script("Succeeded", "done\n");
    if let Some(s) = behaviour.advance_driver_pods.as_mut() {
        s.step = Duration::from_secs(2);
    }
    cluster.fake.set_behaviour(behaviour.clone());
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait")));
        driver_created(&cluster.fake);
        // Once the driver exists, the watches break and the next three reads fail with 500.
        cluster.fake.set_behaviour(Behaviour { fail_next: 3, fail_method: Some("GET".into()), ..behaviour.clone() });
        cluster.fake.drop_watches();
        let output = waiting.join().expect("the submit thread");
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(stderr(&output).contains("team-a-probe succeeded"), "{}", stderr(&output));
        assert!(stdout(&output).contains("done"), "the log is still shown: {}", stdout(&output));
    });
    assert_eq!(cluster.fake.behaviour().fail_next, 0, "every injected 500 was served");
    assert_eq!(cluster.pods().len(), 1, "one driver pod");
}

#[test]
fn wait_ends_with_exit_3_and_the_url_when_the_api_server_keeps_failing() {
    let cluster = Cluster::start();
    let mut behaviour = script("Succeeded", "done\n");
    if let Some(s) = behaviour.advance_driver_pods.as_mut() {
        s.step = Duration::from_secs(60);
    }
    cluster.fake.set_behaviour(behaviour.clone());
    let started = std::time::Instant::now();
    let output = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait")));
        driver_created(&cluster.fake);
        // From now on every read fails with 500, and the open watches break.
        cluster.fake.set_behaviour(Behaviour { fail_next: u32::MAX, fail_method: Some("GET".into()), ..behaviour });
        cluster.fake.drop_watches();
        waiting.join().expect("the submit thread")
    });
    assert!(started.elapsed() < Duration::from_secs(40), "gave up in {:?}: {}", started.elapsed(), stderr(&output));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains(&format!("the Kubernetes API at {} failed to watch Pod team-a/", cluster.fake.url())),
        "{text}"
    );
    assert!(text.contains("(500): Internal error occurred: injected by the fake"), "{text}");
    assert!(!text.contains("succeeded") && !text.contains("ended Failed"), "no outcome is claimed: {text}");
    assert!(!text.contains("kube_client"), "the client's own request logs stay out of the way: {text}");
    assert_eq!(cluster.pods().len(), 1, "one driver pod");
}

#[test]
fn a_500_on_the_driver_create_is_exit_3_with_the_url_and_leaves_no_driver() {
    let cluster = Cluster::start();
    cluster.fake.set_behaviour(Behaviour { fail_next: 1, fail_method: Some("POST".into()), ..script("Succeeded", "") });
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait"));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("the Kubernetes API at {} failed to create Pod team-a/", cluster.fake.url())),
        "{}",
        stderr(&output)
    );
    assert!(cluster.pods().is_empty(), "no driver pod: {:#?}", cluster.pods());
}

#[test]
fn wait_is_right_on_a_slow_api_server() {
    let cluster = Cluster::start();
    let mut behaviour = script("Succeeded", "slow but fine\n");
    behaviour.latency = Some(Duration::from_millis(150));
    cluster.fake.set_behaviour(behaviour);
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("slow but fine"), "{}", stdout(&output));
    assert!(stderr(&output).contains("team-a-probe succeeded"), "{}", stderr(&output));
    assert_eq!(cluster.pods().len(), 1, "one driver pod");
}

#[test]
fn losing_the_create_race_follows_the_winners_driver_without_a_second_one() {
    let cluster = Cluster::start();
    cluster.fake.set_behaviour(Behaviour { lose_create_races: 1, ..script("Failed", "the winner's log\n") });
    let output = run(cluster.cmd().arg("submit").arg(cluster.job()).arg("--wait"));
    assert_eq!(output.status.code(), Some(1), "the winner's driver failed: {}", stderr(&output));
    assert!(stderr(&output).contains("team-a-probe is already submitted (attempt 1"), "{}", stderr(&output));
    assert!(stderr(&output).contains("team-a-probe ended Failed"), "{}", stderr(&output));
    assert!(stdout(&output).contains("the winner's log"), "{}", stdout(&output));
    assert_eq!(cluster.fake.behaviour().lose_create_races, 0, "the race happened");
    let driver = cluster.driver();
    assert!(
        driver["metadata"]["managedFields"].to_string().contains("racer"),
        "the one driver is the winner's: {driver:#}"
    );
    let creates = cluster.fake.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(creates, 1, "one create, answered 409; nothing retried");
    let applied_configmaps =
        cluster.fake.requests().iter().filter(|r| r.method == "PATCH" && r.path.contains("/configmaps/")).count();
    assert_eq!(applied_configmaps, 0, "the loser applies nothing of its own to the winner's driver");
}
