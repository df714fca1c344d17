//! Deletion, garbage collection, pagination and eviction as clients no one
//! here wrote see them (kubectl and the Python Kubernetes client, PyPI
//! `kubernetes`, pinned in scripts/common.sh): a deleted pod terminates for
//! its grace period and goes when its containers stopped; finalizers hold
//! objects; foreground, background and orphan propagation; dependents of a
//! missing owner are collected; `--chunk-size` and `limit`/`_continue` page
//! through lists and an expired continue token answers 410; `kubectl drain`
//! waits for a PodDisruptionBudget.
//!
//! Both tools are installed by `bash scripts/test.sh` (`need_kubectl`,
//! `need_python_clients`); a missing one fails the test with that hint.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::{Cluster, FakeApiServer, ImageProgram, Node, Timings};

use crate::client_tools;
use client_tools::{Killed, kubectl_path, python_path, text};

const NAMESPACE: &str = "team-a";
/// How long one client command may take before the test gives up on it.
const COMMAND_LIMIT: Duration = Duration::from_secs(90);

struct Setup {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn setup() -> Setup {
    let fake = FakeApiServer::start().expect("the fake API server starts on 127.0.0.1");
    fake.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}))
        .expect("namespace stored");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(NAMESPACE)).expect("kubeconfig written");
    Setup { fake, dir, kubeconfig }
}

impl Setup {
    fn kubectl(&self, args: &[&str]) -> Command {
        let mut command = Command::new(kubectl_path());
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args);
        command
    }

    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = run(self.kubectl(args));
        assert!(out.status.success(), "kubectl {args:?} failed ({}): {}", out.status, text(&out.stderr));
        text(&out.stdout)
    }

    fn apply_yaml(&self, name: &str, yaml: &str) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml).expect("written");
        self.kubectl_ok(&["create", "-f", path.to_str().expect("UTF-8")]);
    }

    fn object(&self, kind: &str, name: &str) -> Option<Value> {
        self.fake.object("v1", kind, Some(NAMESPACE), name)
    }

    /// Waits until `check` holds, failing with `what` after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, check: impl Fn(&Setup) -> bool) -> Duration {
        let started = Instant::now();
        while !check(self) {
            assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        started.elapsed()
    }
}

fn drain_pipe(pipe: Option<Box<dyn Read + Send>>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Starts a command with its output collected; [`finish`] waits for it.
fn spawn(mut command: Command) -> (Killed, std::thread::JoinHandle<Vec<u8>>, std::thread::JoinHandle<Vec<u8>>) {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Killed(command.spawn().unwrap_or_else(|e| panic!("{command:?}: {e}")));
    let stdout = drain_pipe(child.0.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain_pipe(child.0.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    (child, stdout, stderr)
}

fn finish(
    started: (Killed, std::thread::JoinHandle<Vec<u8>>, std::thread::JoinHandle<Vec<u8>>),
    limit: Duration,
) -> Output {
    let (mut child, stdout, stderr) = started;
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => panic!("still runs after {limit:?}"),
            Err(e) => panic!("{e}"),
        }
    };
    Output { status, stdout: stdout.join().expect("stdout read"), stderr: stderr.join().expect("stderr read") }
}

fn run(command: Command) -> Output {
    finish(spawn(command), COMMAND_LIMIT)
}

/// A shell image the simulated kubelet runs as local `/bin/sh` processes.
fn shell_cluster() -> Cluster {
    Cluster {
        programs: vec![ImageProgram { image: "example.com/shell".into(), program: "/bin/sh".into() }],
        ..Cluster::default()
    }
}

fn shell_pod(name: &str, script: &str, grace: Option<u64>) -> String {
    let grace = grace.map(|g| format!("  terminationGracePeriodSeconds: {g}\n")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{grace}  restartPolicy: Never\n  containers:\n  - name: main\n    image: example.com/shell:1\n    command: [sh, -c]\n    args: [\"{script}\"]\n"
    )
}

fn running(s: &Setup, name: &str) -> bool {
    s.object("Pod", name).is_some_and(|p| p["status"]["phase"] == "Running")
}

/// `kubectl delete pod --wait=false` answers at once and leaves the pod
/// terminating (deletionTimestamp set, still listed) until its container,
/// which ignores SIGTERM, is killed when the grace period ends; a waiting
/// `kubectl delete pod` of a container that exits on SIGTERM returns as
/// soon as it exited, long before its 30 s grace period.
#[test]
fn a_deleted_pod_terminates_for_its_grace_period_and_goes_when_its_containers_stopped() {
    let s = setup();
    s.fake.set_cluster(shell_cluster());
    s.apply_yaml("stubborn.yaml", &shell_pod("stubborn", "trap '' TERM; while :; do sleep 0.1; done", Some(3)));
    s.apply_yaml("polite.yaml", &shell_pod("polite", "trap 'exit 0' TERM; while :; do sleep 0.1; done", None));
    s.wait_for("both pods run", Duration::from_secs(20), |s| running(s, "stubborn") && running(s, "polite"));

    let asked = Instant::now();
    assert_eq!(s.kubectl_ok(&["delete", "pod", "stubborn", "--wait=false"]), "pod \"stubborn\" deleted\n");
    let shown: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "pod", "stubborn", "-o", "json"])).expect("pod JSON");
    assert!(shown["metadata"]["deletionTimestamp"].is_string(), "{shown}");
    assert_eq!(shown["metadata"]["deletionGracePeriodSeconds"], 3);
    // Still listed (the fake serves no server-side Table, so kubectl's STATUS column is not there to say "Terminating").
    let columns = "custom-columns=NAME:.metadata.name,GRACE:.metadata.deletionGracePeriodSeconds";
    let listed = s.kubectl_ok(&["get", "pods", "--no-headers", "-o", columns]);
    assert_eq!(listed.split_whitespace().collect::<Vec<_>>(), ["polite", "<none>", "stubborn", "3"], "{listed}");
    let gone = s.wait_for("the stubborn pod goes", Duration::from_secs(15), |s| s.object("Pod", "stubborn").is_none());
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "killed only when 3 s of grace ran out, not after {waited:?} ({gone:?})"
    );

    let asked = Instant::now();
    assert_eq!(s.kubectl_ok(&["delete", "pod", "polite"]), "pod \"polite\" deleted\n");
    let took = asked.elapsed();
    assert!(s.object("Pod", "polite").is_none(), "kubectl's waiting delete returns once the pod is gone");
    assert!(took < Duration::from_secs(10), "the container exits on SIGTERM: no need for 30 s ({took:?})");
    // kubectl sends its DeleteOptions in the body.
    let deletes: Vec<Value> = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| json!([r.path, r.body.as_ref().map(|b| b["propagationPolicy"].clone())]))
        .collect();
    assert_eq!(
        deletes,
        [
            json!(["/api/v1/namespaces/team-a/pods/stubborn", "Background"]),
            json!(["/api/v1/namespaces/team-a/pods/polite", "Background"])
        ]
    );
}

/// `--grace-period=0 --force` removes a terminating pod at once.
#[test]
fn a_forced_delete_with_grace_period_zero_removes_a_pod_at_once() {
    let s = setup();
    s.fake.set_cluster(shell_cluster());
    s.apply_yaml("stubborn.yaml", &shell_pod("stubborn", "trap '' TERM; while :; do sleep 0.1; done", Some(60)));
    s.wait_for("the pod runs", Duration::from_secs(20), |s| running(s, "stubborn"));
    s.kubectl_ok(&["delete", "pod", "stubborn", "--wait=false"]);
    assert!(s.object("Pod", "stubborn").is_some_and(|p| p["metadata"]["deletionTimestamp"].is_string()));
    let out = run(s.kubectl(&["delete", "pod", "stubborn", "--grace-period=0", "--force"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(s.object("Pod", "stubborn").is_none(), "gone at once");
}

fn config_map(name: &str, owner: Option<(&str, &str, bool)>, finalizers: &[&str]) -> Value {
    let mut map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NAMESPACE}, "data": {"k": "v"}});
    if let Some((owner_name, uid, block)) = owner {
        map["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": owner_name,
                                                     "uid": uid, "blockOwnerDeletion": block}]);
    }
    if !finalizers.is_empty() {
        map["metadata"]["finalizers"] = json!(finalizers);
    }
    map
}

fn uid(object: &Value) -> String {
    object["metadata"]["uid"].as_str().expect("uid").to_owned()
}

/// kubectl's three cascades over ConfigMaps that own ConfigMaps, a
/// finalizer that holds an object until it is removed, and a dependent whose
/// owner no longer exists.
#[test]
fn finalizers_hold_objects_and_kubectl_cascades_foreground_background_and_orphan() {
    let s = setup();
    let limit = Duration::from_secs(10);
    // A finalizer holds an object: deleted, it is only marked until kubectl removes the finalizer.
    s.fake.insert(config_map("held", None, &["example.com/hold"])).expect("stored");
    assert_eq!(s.kubectl_ok(&["delete", "configmap", "held", "--wait=false"]), "configmap \"held\" deleted\n");
    let held = s.object("ConfigMap", "held").expect("held by its finalizer");
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    s.kubectl_ok(&[
        "patch",
        "configmap",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    assert!(s.object("ConfigMap", "held").is_none(), "the last finalizer gone, the object goes");

    // Foreground: the owner waits, marked, with foregroundDeletion, for its blocking child.
    let owner = s.fake.insert(config_map("owner", None, &[])).expect("stored");
    s.fake.insert(config_map("child", Some(("owner", &uid(&owner), true)), &["example.com/hold"])).expect("stored");
    s.kubectl_ok(&["delete", "configmap", "owner", "--cascade=foreground", "--wait=false"]);
    s.wait_for("the child is marked", limit, |s| {
        s.object("ConfigMap", "child").is_some_and(|c| c["metadata"]["deletionTimestamp"].is_string())
    });
    let waiting = s.object("ConfigMap", "owner").expect("the owner waits for its child");
    assert_eq!(waiting["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(waiting["metadata"]["deletionTimestamp"].is_string());
    s.kubectl_ok(&["patch", "configmap", "child", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    s.wait_for("owner and child go", limit, |s| {
        s.object("ConfigMap", "owner").is_none() && s.object("ConfigMap", "child").is_none()
    });

    // Background (kubectl's default): the owner goes now, the collector takes the child after.
    let owner = s.fake.insert(config_map("owner", None, &[])).expect("stored");
    s.fake.insert(config_map("child", Some(("owner", &uid(&owner), false)), &[])).expect("stored");
    s.kubectl_ok(&["delete", "configmap", "owner"]);
    s.wait_for("the child is collected", limit, |s| s.object("ConfigMap", "child").is_none());

    // Orphan: the child stays, without its owner reference.
    let owner = s.fake.insert(config_map("owner", None, &[])).expect("stored");
    s.fake.insert(config_map("child", Some(("owner", &uid(&owner), true)), &[])).expect("stored");
    s.kubectl_ok(&["delete", "configmap", "owner", "--cascade=orphan"]);
    s.wait_for("the owner goes", limit, |s| s.object("ConfigMap", "owner").is_none());
    let orphan: Value =
        serde_json::from_str(&s.kubectl_ok(&["get", "configmap", "child", "-o", "json"])).expect("JSON");
    assert!(orphan["metadata"].get("ownerReferences").is_none(), "{orphan}");

    // A dependent of an owner that no longer exists (same name, another uid) is collected.
    s.fake.insert(config_map("owner", None, &[])).expect("stored");
    s.fake
        .insert(config_map("stale", Some(("owner", "00000000-dead-4000-8000-000000000000", false)), &[]))
        .expect("stored");
    s.wait_for("the dangling dependent is collected", limit, |s| s.object("ConfigMap", "stale").is_none());
    assert!(s.object("ConfigMap", "owner").is_some() && s.object("ConfigMap", "child").is_some());
}

/// `kubectl get --chunk-size=N` pages through a longer list with `limit`
/// and `continue`, and prints every item once, in order.
#[test]
fn kubectl_chunk_size_pages_through_a_longer_list() {
    let s = setup();
    let names: Vec<String> = (0..7).map(|i| format!("map-{i}")).collect();
    for name in &names {
        s.fake.insert(config_map(name, None, &[])).expect("stored");
    }
    s.fake.clear_requests();
    let shown = s.kubectl_ok(&["get", "configmaps", "--chunk-size=3", "-o", "name"]);
    let expected: Vec<String> = names.iter().map(|n| format!("configmap/{n}")).collect();
    assert_eq!(shown.lines().collect::<Vec<_>>(), expected);
    let pages: Vec<(Option<String>, bool)> = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v1/namespaces/team-a/configmaps")
        .map(|r| (r.query.get("limit").cloned(), r.query.contains_key("continue")))
        .collect();
    let three = Some("3".to_owned());
    assert_eq!(pages, [(three.clone(), false), (three.clone(), true), (three, true)]);
}

/// The Python client's `limit`/`_continue`: later pages come from the first
/// page's snapshot; once the history is compacted the token answers 410
/// Expired with the API server's message and a token for the rest.
#[test]
fn the_python_client_pages_with_limit_and_continue_and_an_expired_token_gets_410() {
    let s = setup();
    for name in ["a", "b", "c", "d", "e"] {
        s.fake.insert(config_map(name, None, &[])).expect("stored");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pages_client.py");
    let mut command = Command::new(python_path());
    command.arg(&script).arg(&s.kubeconfig).arg(NAMESPACE);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Killed(command.spawn().unwrap_or_else(|e| panic!("{}: {e}", script.display())));
    let mut stdin = child.0.stdin.take().expect("stdin");
    let stderr = drain_pipe(child.0.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    let mut next = |what: &str| -> Value {
        let line = lines.next().and_then(Result::ok).unwrap_or_else(|| panic!("no {what} from the script"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    };
    let mut go_on = || {
        stdin.write_all(b"\n").and_then(|()| stdin.flush()).expect("the script reads on");
    };

    let first = next("first page");
    assert_eq!(first["names"], json!(["a", "b"]), "{first}");
    assert_eq!(first["remaining"], 3);
    // Between pages: "c" goes and "cc" comes; the second page is still the first page's snapshot.
    let path = "/api/v1/namespaces/team-a/configmaps/c";
    assert_eq!(ureq::delete(&format!("{}{path}", s.fake.url())).call().expect("deleted").status(), 200);
    s.fake.insert(config_map("cc", None, &[])).expect("stored");
    go_on();
    let second = next("second page");
    assert_eq!((&second["names"], &second["resourceVersion"]), (&json!(["c", "d"]), &first["resourceVersion"]));

    s.fake.compact();
    go_on();
    let expired = next("expired token");
    assert_eq!(expired["status"], 410);
    assert_eq!(expired["body"]["reason"], "Expired");
    assert_eq!(
        expired["body"]["message"],
        "The provided continue parameter is too old to display a consistent list result. You can start a new list \
         without the continue parameter, or use the continue token in this response to retrieve the remainder of the \
         results. Continuing with the provided token results in an inconsistent list - objects that were created, \
         modified, or deleted between the time the first chunk was returned and now may show up in the list."
    );
    let rest = next("the rest, from the current state");
    assert_eq!(rest["names"], json!(["e"]));
    drop(lines);
    let status = child.0.wait().expect("the script ends");
    let stderr = text(&stderr.join().expect("stderr"));
    assert!(status.success(), "{} failed ({status}): {stderr}", script.display());
}

fn drain_cluster() -> Cluster {
    Cluster {
        nodes: vec![Node::new("node-1", 8, 32), Node::new("node-2", 8, 32)],
        timings: Timings { schedule: Duration::ZERO, start: Duration::from_millis(50) },
        ..Cluster::default()
    }
}

fn web_pod(name: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "web"}},
           "spec": {"nodeName": node, "containers": [{"name": "web", "image": "example.com/web:1"}]}})
}

/// `kubectl drain` evicts through the Eviction API: the budget lets one of
/// two pods go; the other is refused with 429 (kubectl retries every 5 s)
/// until a replacement runs elsewhere; with too short a `--timeout` the
/// drain gives up.
#[test]
fn kubectl_drain_waits_for_a_pod_disruption_budget_and_evicts_once_it_allows() {
    let s = setup();
    s.fake.set_cluster(drain_cluster());
    s.fake.insert(web_pod("web-1", "node-1")).expect("stored");
    s.fake.insert(web_pod("web-2", "node-1")).expect("stored");
    s.fake
        .insert(json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": "web", "namespace": NAMESPACE},
                       "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}))
        .expect("stored");
    s.wait_for("both pods run", Duration::from_secs(10), |s| running(s, "web-1") && running(s, "web-2"));
    let pdb =
        || s.kubectl_ok(&["get", "pdb", "web", "-o", "jsonpath={.status.currentHealthy} {.status.disruptionsAllowed}"]);
    s.wait_for("the budget's status", Duration::from_secs(10), |_| pdb() == "2 1");

    let short = run(s.kubectl(&["drain", "node-1", "--force", "--timeout=3s"]));
    assert!(!short.status.success(), "one pod cannot go within 3 s: {}", text(&short.stdout));
    let said = text(&short.stderr);
    assert!(said.contains("Cannot evict pod as it would violate the pod's disruption budget."), "{said}");
    let left: Vec<bool> = ["web-1", "web-2"].iter().map(|n| s.object("Pod", n).is_some()).collect();
    assert_eq!(left.iter().filter(|l| **l).count(), 1, "exactly one pod was evicted: {left:?}");
    let node = s.fake.object("v1", "Node", None, "node-1").expect("node");
    assert_eq!(node["spec"]["unschedulable"], true, "drain cordons the node");

    let drain = spawn(s.kubectl(&["drain", "node-1", "--force", "--timeout=60s"]));
    std::thread::sleep(Duration::from_secs(2));
    s.fake.insert(web_pod("web-3", "node-2")).expect("stored");
    let out = finish(drain, COMMAND_LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("node/node-1 drained"), "{}", text(&out.stdout));
    assert!(s.object("Pod", "web-1").is_none() && s.object("Pod", "web-2").is_none());
    assert!(running(&s, "web-3"));
    let evictions = s.fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/eviction")).count();
    assert!(evictions >= 3, "one allowed, at least one refused, one allowed: {evictions}");
}
