//! Clients no one here wrote agree with the fake API server: kubectl and the
//! Python Kubernetes client (PyPI `kubernetes`, pinned in scripts/common.sh)
//! create, list, read, patch (spec and status), apply, watch and delete a
//! SparkJob, and see a missing one as the real API server reports it; they
//! meet server-side apply's conflicts and field ownership, and a CRD's
//! pruning, defaults, CEL rules (transition rules too) and status
//! subresource as the API server applies them.
//!
//! Both tools are installed by `bash scripts/test.sh` (`need_kubectl`,
//! `need_python_clients`); a missing one fails the test with that hint.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

use crate::client_tools;
use client_tools::{Killed, kubectl_path, python_path, text};

const NAMESPACE: &str = "team-a";
const API_VERSION: &str = "sparkplane.dev/v1alpha1";
/// How long one client command may take before the test gives up on it.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);
/// How long a watch may take to show a change.
const EVENT_LIMIT: Duration = Duration::from_secs(15);

/// The SparkJob the kubectl tests create.
const JOB: &str = r#"apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: nightly
  labels:
    team: data
spec:
  type: Python
  sparkVersion: "3.5.1"
  image:
    repository: registry.example.com/data/etl
    tag: "1.0"
  mainApplicationFile: local:///opt/app/etl.py
  executor:
    instances: 2
"#;

/// A fake with the namespace the clients use, and its kubeconfig on disk.
struct Setup {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn setup() -> Setup {
    let fake = FakeApiServer::start().expect("the fake API server starts on 127.0.0.1");
    // The namespace exists, as in a cluster: kubectl asks for it when an object is missing.
    fake.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}))
        .expect("namespace stored");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(NAMESPACE)).expect("kubeconfig written");
    Setup { fake, dir, kubeconfig }
}

impl Setup {
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// `kubectl` against the fake, with its discovery cache in the temp dir.
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

    /// Runs kubectl, requiring success; its stdout.
    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = run(self.kubectl(args));
        assert!(out.status.success(), "kubectl {args:?} failed ({}): {}", out.status, text(&out.stderr));
        text(&out.stdout)
    }

    /// The SparkJob as the fake stores it.
    fn stored(&self, name: &str) -> Option<Value> {
        self.fake.object(API_VERSION, "SparkJob", Some(NAMESPACE), name)
    }

    fn stored_rv(&self, name: &str) -> u64 {
        let job = self.stored(name).unwrap_or_else(|| panic!("{name} is stored"));
        job["metadata"]["resourceVersion"].as_str().and_then(|rv| rv.parse().ok()).expect("numeric resourceVersion")
    }
}

/// Runs a command to its end, within [`COMMAND_LIMIT`].
fn run(mut command: Command) -> Output {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Killed(command.spawn().unwrap_or_else(|e| panic!("{command:?}: {e}")));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.0.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.0.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        match child.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => panic!("{command:?} still runs after {COMMAND_LIMIT:?}"),
            Err(e) => panic!("{command:?}: {e}"),
        }
    };
    Output { status, stdout: stdout.join().expect("stdout read"), stderr: stderr.join().expect("stderr read") }
}

#[test]
fn kubectl_creates_lists_reads_patches_applies_and_deletes_a_sparkjob() {
    let s = setup();
    let version: Value = serde_json::from_str(&s.kubectl_ok(&["version", "-o", "json"])).expect("version JSON");
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.33.0", "{version}");
    eprintln!("kubectl client: {}", version["clientVersion"]["gitVersion"]);

    // kubectl's default validation downloads the OpenAPI v3 documents the
    // fake serves and, seeing fieldValidation there, leaves it to the server.
    let job = s.write("job.yaml", JOB);
    let job = job.to_str().expect("UTF-8 path");
    assert_eq!(s.kubectl_ok(&["create", "-f", job]), "sparkjob.sparkplane.dev/nightly created\n");
    let created = s.stored("nightly").expect("created in the fake");
    assert_eq!(created["spec"]["image"], json!({"repository": "registry.example.com/data/etl", "tag": "1.0"}));
    assert_eq!((&created["metadata"]["namespace"], &created["metadata"]["generation"]), (&json!(NAMESPACE), &json!(1)));

    let list: Value = serde_json::from_str(&s.kubectl_ok(&["get", "sparkjobs", "-o", "json"])).expect("list JSON");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    // As stored, less managedFields, which kubectl leaves out unless asked (--show-managed-fields).
    let mut shown = created.clone();
    let managed = shown["metadata"].as_object_mut().and_then(|m| m.remove("managedFields"));
    assert_eq!(managed.map(|m| m[0]["manager"].clone()), Some(json!("kubectl-create")));
    assert_eq!(items[0], shown, "kubectl lists the object as stored");
    // The short name from the CRD resolves through discovery.
    assert_eq!(s.kubectl_ok(&["get", "sj", "-o", "jsonpath={.items[*].metadata.name}"]), "nightly");
    assert_eq!(s.kubectl_ok(&["get", "sparkjob", "nightly", "-o", "jsonpath={.spec.image.tag}"]), "1.0");

    // A merge patch of the spec: nested fields merge, the generation and resourceVersion move on.
    let rv = s.stored_rv("nightly");
    let patch = r#"{"spec":{"image":{"tag":"1.1"},"executor":{"instances":4}}}"#;
    assert_eq!(
        s.kubectl_ok(&["patch", "sparkjob", "nightly", "--type", "merge", "-p", patch]),
        "sparkjob.sparkplane.dev/nightly patched\n"
    );
    let patched = s.stored("nightly").expect("still stored");
    assert_eq!(patched["spec"]["image"], json!({"repository": "registry.example.com/data/etl", "tag": "1.1"}));
    assert_eq!((&patched["spec"]["executor"]["instances"], &patched["metadata"]["generation"]), (&json!(4), &json!(2)));
    assert!(s.stored_rv("nightly") > rv, "resourceVersion grew: {patched}");
    let sent = s.fake.requests().into_iter().rfind(|r| r.method == "PATCH").expect("a PATCH was sent");
    assert_eq!(
        (sent.path.as_str(), sent.content_type.as_deref()),
        ("/apis/sparkplane.dev/v1alpha1/namespaces/team-a/sparkjobs/nightly", Some("application/merge-patch+json"))
    );

    // The status subresource: status changes, the spec and generation do not.
    let rv = s.stored_rv("nightly");
    let status = r#"{"status":{"state":"Running","observedGeneration":2}}"#;
    assert_eq!(
        s.kubectl_ok(&["patch", "sparkjob", "nightly", "--subresource=status", "--type", "merge", "-p", status]),
        "sparkjob.sparkplane.dev/nightly patched\n"
    );
    let with_status = s.stored("nightly").expect("still stored");
    assert_eq!(with_status["status"], json!({"state": "Running", "observedGeneration": 2}));
    assert_eq!((&with_status["spec"], &with_status["metadata"]["generation"]), (&patched["spec"], &json!(2)));
    assert!(s.stored_rv("nightly") > rv, "resourceVersion grew: {with_status}");
    let sent = s.fake.requests().into_iter().rfind(|r| r.method == "PATCH").expect("a PATCH was sent");
    assert_eq!(sent.path, "/apis/sparkplane.dev/v1alpha1/namespaces/team-a/sparkjobs/nightly/status");

    // Server-side apply of the file with a new tag: the merge patch above
    // made kubectl-patch the tag's and the instances' manager, so kubectl
    // (another manager) must force; then applied, status kept.
    let applied = s.write("applied.yaml", &JOB.replace("tag: \"1.0\"", "tag: \"2.0\""));
    let applied = applied.to_str().expect("UTF-8 path");
    let refused = run(s.kubectl(&["apply", "--server-side", "-f", applied]));
    assert!(
        text(&refused.stderr).starts_with("error: Apply failed with 2 conflicts: conflicts with \"kubectl-patch\"")
    );
    assert_eq!(
        s.kubectl_ok(&["apply", "--server-side", "--force-conflicts", "-f", applied]),
        "sparkjob.sparkplane.dev/nightly serverside-applied\n"
    );
    let sent = s.fake.requests().into_iter().rfind(|r| r.method == "PATCH").expect("a PATCH was sent");
    assert_eq!(
        (sent.content_type.as_deref(), sent.query.get("fieldManager").map(String::as_str)),
        (Some("application/apply-patch+yaml"), Some("kubectl"))
    );
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "sparkjob",
            "nightly",
            "-o",
            "jsonpath={.spec.image.tag} {.spec.executor.instances} {.status.state} {.metadata.generation}"
        ]),
        // The applied file names `instances: 2`, so the apply sets it back.
        "2.0 2 Running 3"
    );

    assert_eq!(s.kubectl_ok(&["delete", "sparkjob", "nightly"]), "sparkjob.sparkplane.dev \"nightly\" deleted\n");
    assert_eq!(s.stored("nightly"), None);
    let after = run(s.kubectl(&["get", "sparkjobs"]));
    assert!(after.status.success());
    assert_eq!(
        (text(&after.stdout), text(&after.stderr)),
        (String::new(), "No resources found in team-a namespace.\n".into())
    );
}

#[test]
fn kubectl_watch_sees_changes_made_after_it_started() {
    let s = setup();
    let job = s.write("job.yaml", JOB);
    s.kubectl_ok(&["create", "-f", job.to_str().expect("UTF-8 path")]);

    let mut command = s.kubectl(&["get", "sparkjobs", "--watch", "--output-watch-events", "-o", "json"]);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut watcher = Killed(command.spawn().expect("kubectl --watch starts"));
    let stdout = watcher.0.stdout.take().expect("stdout piped");
    let (send, events) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for event in serde_json::Deserializer::from_reader(stdout).into_iter::<Value>() {
            let Ok(event) = event else { break };
            if send.send(event).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| -> Value {
        events
            .recv_timeout(EVENT_LIMIT)
            .unwrap_or_else(|_| panic!("kubectl --watch showed no {what} within {EVENT_LIMIT:?}"))
    };
    let brief = |event: &Value| {
        let object = &event["object"];
        (
            event["type"].as_str().unwrap_or_default().to_owned(),
            object["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            object["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_owned(),
            object["spec"]["executor"]["instances"].as_u64(),
        )
    };

    let rv = s.stored_rv("nightly");
    assert_eq!(brief(&next("existing object")), ("ADDED".into(), "nightly".into(), rv.to_string(), Some(2)));

    s.kubectl_ok(&[
        "patch",
        "sparkjob",
        "nightly",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"executor":{"instances":3}}}"#,
    ]);
    let rv = s.stored_rv("nightly");
    assert_eq!(brief(&next("patch")), ("MODIFIED".into(), "nightly".into(), rv.to_string(), Some(3)));

    s.kubectl_ok(&["delete", "sparkjob", "nightly"]);
    let (kind, name, deleted_rv, instances) = brief(&next("deletion"));
    assert_eq!((kind.as_str(), name.as_str(), instances), ("DELETED", "nightly", Some(3)));
    assert!(
        deleted_rv.parse::<u64>().expect("numeric resourceVersion") > rv,
        "the deletion has its own resourceVersion"
    );

    // Nothing else happened, so nothing else is shown.
    assert!(events.recv_timeout(Duration::from_millis(500)).is_err(), "no further events");
    drop(watcher);
}

#[test]
fn kubectl_logs_tail_gets_the_last_lines_as_from_the_api_server() {
    let s = setup();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etl-driver", "namespace": NAMESPACE},
                     "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "spark"}]}});
    s.fake.insert(pod).expect("pod stored");
    s.fake.set_pod_log(NAMESPACE, "etl-driver", "one\ntwo\nthree\nfour\n");
    assert_eq!(s.kubectl_ok(&["logs", "etl-driver"]), "one\ntwo\nthree\nfour\n");
    assert_eq!(s.kubectl_ok(&["logs", "etl-driver", "--tail=2"]), "three\nfour\n");
    assert_eq!(s.kubectl_ok(&["logs", "etl-driver", "--tail=9"]), "one\ntwo\nthree\nfour\n");
    // kubectl sends no tailLines for --tail=-1 (all): the whole log.
    assert_eq!(s.kubectl_ok(&["logs", "etl-driver", "--tail=-1"]), "one\ntwo\nthree\nfour\n");
    let asked: Vec<_> = s.fake.requests().into_iter().filter(|r| r.path.ends_with("/etl-driver/log")).collect();
    assert_eq!(
        asked.iter().map(|r| r.query.get("tailLines").cloned()).collect::<Vec<_>>(),
        [None, Some("2".to_owned()), Some("9".to_owned()), None]
    );

    // The Python client's read_namespaced_pod_log(tail_lines=…) gets the same.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/log_client.py");
    let mut command = Command::new(python_path());
    command.arg(&script).arg(&s.kubeconfig).arg(NAMESPACE).arg("etl-driver");
    let out = run(command);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{} failed ({}):\n{stdout}\n{}", script.display(), out.status, text(&out.stderr));
    let answers: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    assert_eq!(
        answers,
        [
            json!({"tail": null, "log": "one\ntwo\nthree\nfour\n"}),
            json!({"tail": 1, "log": "four\n"}),
            json!({"tail": 3, "log": "two\nthree\nfour\n"}),
        ]
    );
}

#[test]
fn kubectl_reports_a_missing_sparkjob_as_the_api_server_does() {
    let s = setup();
    let out = run(s.kubectl(&["get", "sparkjob", "missing"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "Error from server (NotFound): sparkjobs.sparkplane.dev \"missing\" not found\n");
}

/// Optimistic concurrency as the API server does it, through kubectl: a
/// `replace` that carries the resourceVersion read before someone else's
/// change is refused with 409 and the API server's words, and changes
/// nothing; the same replace from the current version goes through. (The
/// operator's status writes rely on this: `operator_races` in sparkplane-kube.)
#[test]
fn kubectl_replace_from_a_stale_resource_version_is_refused_with_409() {
    let s = setup();
    let job = s.write("job.yaml", JOB);
    s.kubectl_ok(&["create", "-f", job.to_str().expect("UTF-8 path")]);
    let read = s.kubectl_ok(&["get", "sparkjob", "nightly", "-o", "json"]);
    s.kubectl_ok(&[
        "patch",
        "sparkjob",
        "nightly",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"executor":{"instances":5}}}"#,
    ]);
    let before = s.stored("nightly").expect("stored");
    let mut stale: Value = serde_json::from_str(&read).expect("JSON");
    stale["spec"]["executor"]["instances"] = json!(9);
    let stale_file = s.write("stale.json", &stale.to_string());
    let out = run(s.kubectl(&["replace", "-f", stale_file.to_str().expect("UTF-8 path")]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stale_path = stale_file.to_str().expect("UTF-8 path");
    assert_eq!(
        text(&out.stderr),
        format!(
            "Error from server (Conflict): error when replacing \"{stale_path}\": Operation cannot be fulfilled on \
             sparkjobs.sparkplane.dev \"nightly\": the object has been modified; please apply your changes to the \
             latest version and try again\n"
        )
    );
    assert_eq!(s.stored("nightly"), Some(before.clone()), "a refused replace changes nothing");
    // As kubectl shows it (no managedFields), from the current version.
    let mut current = before;
    if let Some(metadata) = current["metadata"].as_object_mut() {
        metadata.remove("managedFields");
    }
    current["spec"]["executor"]["instances"] = json!(9);
    let current_file = s.write("current.json", &current.to_string());
    s.kubectl_ok(&["replace", "-f", current_file.to_str().expect("UTF-8 path")]);
    assert_eq!(s.stored("nightly").expect("stored")["spec"]["executor"]["instances"], json!(9));
}

/// The managed fields the fake stores for `manager`, as `fieldsV1`.
fn owned_by(object: &Value, manager: &str, operation: &str) -> Option<Value> {
    object["metadata"]["managedFields"].as_array().and_then(|entries| {
        entries.iter().find(|e| e["manager"] == manager && e["operation"] == operation).map(|e| e["fieldsV1"].clone())
    })
}

/// Server-side apply as the API server does it: each manager owns what it
/// applied; applying another value for a field someone else owns is a 409
/// naming them (kubectl prints the API server's message), `--force-conflicts`
/// takes the field over, and the same value is shared without a conflict.
#[test]
fn kubectl_server_side_apply_conflicts_name_the_other_manager_until_forced() {
    let s = setup();
    let job = s.write("job.yaml", JOB);
    let job = job.to_str().expect("UTF-8 path");
    assert_eq!(
        s.kubectl_ok(&["apply", "--server-side", "--field-manager=alice", "-f", job]),
        "sparkjob.sparkplane.dev/nightly serverside-applied\n"
    );
    let stored = s.stored("nightly").expect("created by the apply");
    assert_eq!(
        owned_by(&stored, "alice", "Apply"),
        Some(json!({"f:metadata": {"f:labels": {"f:team": {}}}, "f:spec": {
            "f:executor": {"f:instances": {}}, "f:image": {"f:repository": {}, "f:tag": {}},
            "f:mainApplicationFile": {}, "f:sparkVersion": {}, "f:type": {},
        }})),
        "{stored}"
    );

    let five = s.write("five.yaml", &JOB.replace("instances: 2", "instances: 5"));
    let five = five.to_str().expect("UTF-8 path");
    let refused = run(s.kubectl(&["apply", "--server-side", "--field-manager=bob", "-f", five]));
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"alice\": .spec.executor.instances\n\
             Please review the fields above--they currently have other managers."
        ),
        "{stderr}"
    );
    assert_eq!(s.stored("nightly").expect("kept")["spec"]["executor"]["instances"], 2, "nothing changed");

    s.kubectl_ok(&["apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", five]);
    let stored = s.stored("nightly").expect("kept");
    assert_eq!(stored["spec"]["executor"]["instances"], 5);
    let alice = owned_by(&stored, "alice", "Apply").expect("alice still owns the rest");
    assert_eq!(alice["f:spec"].get("f:executor"), None, "the field changed hands: {alice}");
    let bob = owned_by(&stored, "bob", "Apply").expect("bob owns what he applied");
    assert_eq!(bob["f:spec"]["f:executor"], json!({"f:instances": {}}));
    assert_eq!(bob["f:spec"]["f:image"], alice["f:spec"]["f:image"], "same values are shared, not conflicts");

    // An update (a merge patch, manager kubectl-patch) takes what it changes; applying over it conflicts.
    s.kubectl_ok(&["patch", "sparkjob", "nightly", "--type", "merge", "-p", r#"{"spec":{"image":{"tag":"1.1"}}}"#]);
    let refused = run(s.kubectl(&["apply", "--server-side", "--field-manager=alice", "-f", job]));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.starts_with(
            "error: Apply failed with 2 conflicts: conflicts with \"bob\":\n- .spec.executor.instances\n\
             conflicts with \"kubectl-patch\" using sparkplane.dev/v1alpha1:\n- .spec.image.tag\n"
        ),
        "{stderr}"
    );
}

/// `kubectl apply --server-side` of a file without a field the same manager
/// applied before removes it, unless another manager owns it too.
#[test]
fn kubectl_server_side_apply_of_a_file_without_a_field_removes_it() {
    let s = setup();
    let scheduled = format!("{JOB}  suspend: true\n  schedule:\n    cron: \"0 * * * *\"\n");
    let with = s.write("with.yaml", &scheduled);
    s.kubectl_ok(&["apply", "--server-side", "--field-manager=alice", "-f", with.to_str().expect("UTF-8 path")]);
    let stored = s.stored("nightly").expect("applied");
    assert_eq!((&stored["spec"]["schedule"]["cron"], &stored["spec"]["suspend"]), (&json!("0 * * * *"), &json!(true)));
    // Another manager applies the label too (same value: shared).
    let label =
        "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata:\n  name: nightly\n  labels:\n    team: data\n";
    let label = s.write("label.yaml", label);
    s.kubectl_ok(&["apply", "--server-side", "--field-manager=labeller", "-f", label.to_str().expect("UTF-8 path")]);

    let without = JOB.replace("  labels:\n    team: data\n", "");
    let without = s.write("without.yaml", &without);
    s.kubectl_ok(&["apply", "--server-side", "--field-manager=alice", "-f", without.to_str().expect("UTF-8 path")]);
    let stored = s.stored("nightly").expect("still there");
    assert_eq!(stored["spec"].get("schedule"), None, "schedule went: {stored}");
    assert_eq!(stored["spec"].get("suspend"), None, "suspend went: {stored}");
    assert_eq!(stored["metadata"]["labels"], json!({"team": "data"}), "the labeller still owns the label");
    assert_eq!(stored["spec"]["executor"]["instances"], 2, "what alice still applies stays");
}

/// Lists of Kubernetes' own kinds merge by their keys (containers by name)
/// under server-side apply, and kubectl's default patch (strategic merge)
/// merges them the same way; custom resources refuse strategic merge patch.
#[test]
fn kubectl_merges_keyed_lists_by_their_keys_and_custom_resources_refuse_strategic_patches() {
    let s = setup();
    let deployment = |container: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: {container}\n        image: {image}\n"
        )
    };
    let app = s.write("app.yaml", &deployment("app", "app:1"));
    let sidecar = s.write("sidecar.yaml", &deployment("proxy", "proxy:1"));
    s.kubectl_ok(&["apply", "--server-side", "--field-manager=team", "-f", app.to_str().expect("UTF-8 path")]);
    s.kubectl_ok(&["apply", "--server-side", "--field-manager=mesh", "-f", sidecar.to_str().expect("UTF-8 path")]);
    let images = |s: &Setup| {
        s.kubectl_ok(&["get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}"])
    };
    assert_eq!(images(&s), "app:1 proxy:1", "one list, an item per manager");

    s.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"proxy","image":"proxy:2"}]}}}}"#,
    ]);
    assert_eq!(images(&s), "app:1 proxy:2", "a strategic merge patch merges containers by name");
    let sent = s.fake.requests().into_iter().rfind(|r| r.method == "PATCH").expect("a PATCH was sent");
    assert_eq!(sent.content_type.as_deref(), Some("application/strategic-merge-patch+json"));

    // The mesh stops applying its sidecar: only its container goes.
    let empty = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";
    let empty = s.write("empty.yaml", empty);
    s.kubectl_ok(&["apply", "--server-side", "--field-manager=mesh", "-f", empty.to_str().expect("UTF-8 path")]);
    assert_eq!(images(&s), "app:1 proxy:2", "kubectl-patch owns the proxy's image now, so the item stays");

    let job = s.write("job.yaml", JOB);
    s.kubectl_ok(&["create", "-f", job.to_str().expect("UTF-8 path")]);
    let refused = run(s.kubectl(&["patch", "sparkjob", "nightly", "-p", r#"{"spec":{"image":{"tag":"9"}}}"#]));
    assert_eq!(refused.status.code(), Some(1));
    // kubectl names the patch type and kind before the API server's 415 message.
    assert_eq!(
        text(&refused.stderr),
        "error: application/strategic-merge-patch+json is not supported by sparkplane.dev/v1alpha1, Kind=SparkJob: \
         the body of the request was in an unknown format - accepted media types include: \
         application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n"
    );
}

/// With the SparkJob CRD stored (as `sparkplane crd` prints it), the API
/// server's CRD admission applies: an unknown field is pruned, a wrong type
/// is refused with Kubernetes' message (kubectl prints it), and the status
/// subresource splits writes: status sent to the main resource is dropped.
#[test]
fn kubectl_sees_sparkjobs_pruned_and_validated_against_the_crd_schema() {
    let s = setup();
    let crd = serde_json::to_value(sparkplane_api::crd::crd()).expect("the CRD serializes");
    s.fake.insert(crd).expect("CRD stored");

    let unknown = format!("{JOB}  colour: blue\n  executor2: {{}}\nstatus:\n  state: Succeeded\n");
    let unknown = s.write("unknown.yaml", &unknown.replace("    instances: 2\n", "    instances: 2\n    flavour: x\n"));
    s.kubectl_ok(&["create", "-f", unknown.to_str().expect("UTF-8 path")]);
    let stored = s.stored("nightly").expect("created");
    assert_eq!(stored["spec"].get("colour"), None, "unknown fields are pruned: {stored}");
    assert_eq!(stored["spec"].get("executor2"), None, "{stored}");
    assert_eq!(stored["spec"]["executor"], json!({"instances": 2}), "nested unknown fields too");
    assert_eq!(stored.get("status"), None, "status is the status subresource's");

    let wrong =
        s.write("wrong.yaml", &JOB.replace("name: nightly", "name: wrong").replace("instances: 2", "instances: two"));
    let refused = run(s.kubectl(&["create", "-f", wrong.to_str().expect("UTF-8 path")]));
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr),
        "The SparkJob \"wrong\" is invalid: spec.executor.instances: Invalid value: \"string\": \
         spec.executor.instances in body must be of type integer: \"string\"\n"
    );
    assert_eq!(s.stored("wrong"), None, "nothing stored");
}

/// A quality gate's `sql` check is a predicate or an object; the CRD
/// `sparkplane crd` prints once claimed `type: object` for it (kube's
/// rewrite of the untagged enum), so an API server refused the string form.
#[test]
fn kubectl_stores_a_quality_gate_sql_check_in_either_form_under_the_crd() {
    let s = setup();
    let crd = serde_json::to_value(sparkplane_api::crd::crd()).expect("the CRD serializes");
    s.fake.insert(crd).expect("CRD stored");
    let gate = "  qualityGates:\n  - spec: dq/trips.yaml\n    definition:\n      apiVersion: sparkplane.dev/v1alpha1\n      kind: DqSpec\n      metadata:\n        name: trips\n      dataset:\n        path: s3://bucket/trips/\n      checks:\n      - name: positive\n        sql: amount >= 0\n      - name: mostly\n        sql:\n          predicate: fare > 0\n          maxFailingRows: 3\n";
    let job = s.write("gated.yaml", &format!("{JOB}{gate}"));
    s.kubectl_ok(&["create", "-f", job.to_str().expect("UTF-8 path")]);
    let stored = s.stored("nightly").expect("created");
    let checks = &stored["spec"]["qualityGates"][0]["definition"]["checks"];
    assert_eq!(checks[0]["sql"], "amount >= 0", "{stored}");
    assert_eq!(checks[1]["sql"], json!({"predicate": "fare > 0", "maxFailingRows": 3}));
}

/// A CRD written for these tests (no project's): defaults at several
/// depths, a CEL rule over two fields, one worded by `messageExpression`,
/// `fieldPath` and `reason`, transition rules (`oldSelf`), a rule without a
/// message, and the status subresource.
const WIDGET_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.dev
spec:
  group: example.dev
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: self.minReplicas <= self.maxReplicas
              message: minReplicas must not exceed maxReplicas
            - rule: "!has(self.ports) || self.ports.size() <= 2"
              messageExpression: "'at most 2 ports, not ' + string(self.ports.size())"
              fieldPath: .ports
              reason: FieldValueForbidden
            properties:
              minReplicas:
                type: integer
                default: 1
              maxReplicas:
                type: integer
                default: 3
              storageClass:
                type: string
                default: standard
                x-kubernetes-validations:
                - rule: self == oldSelf
                  message: storageClass is immutable
              size:
                type: integer
                x-kubernetes-validations:
                - rule: self >= oldSelf
                  message: size may only grow
                - rule: self <= 100
              ports:
                type: array
                items:
                  type: object
                  properties:
                    name:
                      type: string
                    protocol:
                      type: string
                      default: TCP
          status:
            type: object
            properties:
              ready:
                type: boolean
"#;

fn widget(name: &str, spec: &str) -> String {
    format!("apiVersion: example.dev/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n{spec}")
}

impl Setup {
    /// The Widget CRD created with kubectl, as a cluster administrator would.
    fn create_widget_crd(&self) {
        let crd = self.write("widget-crd.yaml", WIDGET_CRD);
        assert_eq!(
            self.kubectl_ok(&["create", "-f", crd.to_str().expect("UTF-8 path")]),
            "customresourcedefinition.apiextensions.k8s.io/widgets.example.dev created\n"
        );
    }

    fn widget(&self, name: &str) -> Option<Value> {
        self.fake.object("example.dev/v1", "Widget", Some(NAMESPACE), name)
    }

    /// Runs kubectl expecting a refusal: exit code 1, nothing on stdout; its stderr.
    fn kubectl_refused(&self, args: &[&str]) -> String {
        let out = run(self.kubectl(args));
        assert_eq!(out.status.code(), Some(1), "kubectl {args:?}: {}", text(&out.stdout));
        assert_eq!(text(&out.stdout), "", "kubectl {args:?}");
        text(&out.stderr)
    }
}

/// CRD defaulting and `x-kubernetes-validations` as kubectl meets them: a
/// created object comes back with its schema's defaults (in nested objects
/// and list items too); a CEL rule's failure is refused with the API
/// server's message (`spec: Invalid value: "object": <the rule's message>`,
/// `failed rule: <rule>` without one, a `messageExpression`'s text under
/// the rule's `fieldPath` as its `reason`) and nothing is stored; transition
/// rules compare with the stored object on updates.
#[test]
fn kubectl_sees_crd_defaults_filled_and_cel_rules_enforced() {
    let s = setup();
    s.create_widget_crd();

    let plain =
        s.write("plain.yaml", &widget("w", "  size: 10\n  ports:\n  - name: http\n  - name: dns\n    protocol: UDP\n"));
    assert_eq!(s.kubectl_ok(&["create", "-f", plain.to_str().expect("UTF-8 path")]), "widget.example.dev/w created\n");
    let read: Value = serde_json::from_str(&s.kubectl_ok(&["get", "widget", "w", "-o", "json"])).expect("JSON");
    assert_eq!(
        read["spec"],
        json!({"minReplicas": 1, "maxReplicas": 3, "storageClass": "standard", "size": 10,
               "ports": [{"name": "http", "protocol": "TCP"}, {"name": "dns", "protocol": "UDP"}]}),
        "defaults filled where the file had nothing: {read}"
    );

    // A rule over two fields, one of them defaulted: minReplicas 5 against the default maxReplicas 3.
    let bad = s.write("bad.yaml", &widget("bad", "  minReplicas: 5\n"));
    let bad = bad.to_str().expect("UTF-8 path");
    for verb in ["create", "apply"] {
        assert_eq!(
            s.kubectl_refused(&[verb, "-f", bad]),
            "The Widget \"bad\" is invalid: spec: Invalid value: \"object\": minReplicas must not exceed maxReplicas\n",
            "kubectl {verb}"
        );
    }
    assert_eq!(s.widget("bad"), None, "nothing stored");
    let big = s.write("big.yaml", &widget("big", "  size: 101\n"));
    assert_eq!(
        s.kubectl_refused(&["create", "-f", big.to_str().expect("UTF-8 path")]),
        "The Widget \"big\" is invalid: spec.size: Invalid value: \"integer\": failed rule: self <= 100\n"
    );
    assert_eq!(s.widget("big"), None, "nothing stored");
    let ports = "  ports:\n  - name: a\n  - name: b\n  - name: c\n";
    let many = s.write("many.yaml", &widget("many", ports));
    assert_eq!(
        s.kubectl_refused(&["create", "-f", many.to_str().expect("UTF-8 path")]),
        "The Widget \"many\" is invalid: spec.ports: Forbidden: at most 2 ports, not 3\n",
        "messageExpression, fieldPath and reason"
    );
    assert_eq!(s.widget("many"), None, "nothing stored");

    // Transition rules: checked against the stored object, on updates.
    let rv = s.widget("w").expect("stored")["metadata"]["resourceVersion"].clone();
    let patch = |p: &str| s.kubectl_refused(&["patch", "widget", "w", "--type", "merge", "-p", p]);
    assert_eq!(
        patch(r#"{"spec":{"storageClass":"fast"}}"#),
        "The Widget \"w\" is invalid: spec.storageClass: Invalid value: \"string\": storageClass is immutable\n"
    );
    assert_eq!(
        patch(r#"{"spec":{"size":5}}"#),
        "The Widget \"w\" is invalid: spec.size: Invalid value: \"integer\": size may only grow\n"
    );
    assert_eq!(s.widget("w").expect("stored")["metadata"]["resourceVersion"], rv, "refused updates change nothing");
    s.kubectl_ok(&["patch", "widget", "w", "--type", "merge", "-p", r#"{"spec":{"size":20}}"#]);
    assert_eq!(
        s.kubectl_ok(&["get", "widget", "w", "-o", "jsonpath={.spec.size} {.spec.storageClass}"]),
        "20 standard"
    );
}

/// The status subresource's split, shown with kubectl (1.24+ sends
/// `--subresource=status` to `/status`): on the object, a status change is
/// dropped and the spec change kept (the generation moves on; a label
/// change does not move it); on `/status`, everything but status is dropped
/// and the generation stays.
#[test]
fn kubectl_writes_status_only_through_the_status_subresource() {
    let s = setup();
    s.create_widget_crd();
    let w = s.write("w.yaml", &widget("w", "  size: 10\n"));
    s.kubectl_ok(&["create", "-f", w.to_str().expect("UTF-8 path")]);
    let fields = |s: &Setup| {
        s.kubectl_ok(&[
            "get",
            "widget",
            "w",
            "-o",
            "jsonpath={.spec.size} {.status.ready} {.metadata.labels.tier} {.metadata.generation}",
        ])
    };
    assert_eq!(fields(&s), "10   1");

    // The object: spec kept, status ignored.
    s.kubectl_ok(&["patch", "widget", "w", "--type", "merge", "-p", r#"{"spec":{"size":20},"status":{"ready":true}}"#]);
    assert_eq!(fields(&s), "20   2", "the spec changed, the status was dropped, the generation moved on");
    assert_eq!(s.widget("w").expect("stored").get("status"), None);
    s.kubectl_ok(&["label", "widget", "w", "tier=gold"]);
    assert_eq!(fields(&s), "20  gold 2", "metadata does not move the generation");

    // `/status`: status kept, the rest ignored.
    let status = r#"{"spec":{"size":50},"metadata":{"labels":{"tier":"silver"}},"status":{"ready":true}}"#;
    assert_eq!(
        s.kubectl_ok(&["patch", "widget", "w", "--subresource=status", "--type", "merge", "-p", status]),
        "widget.example.dev/w patched\n"
    );
    assert_eq!(fields(&s), "20 true gold 2", "only the status changed; the generation stayed");
    let sent = s.fake.requests().into_iter().rfind(|r| r.method == "PATCH").expect("a PATCH was sent");
    assert_eq!(sent.path, "/apis/example.dev/v1/namespaces/team-a/widgets/w/status");

    // The object again: a status-only change is no change.
    let rv = s.widget("w").expect("stored")["metadata"]["resourceVersion"].clone();
    s.kubectl_ok(&["patch", "widget", "w", "--type", "merge", "-p", r#"{"status":{"ready":false}}"#]);
    assert_eq!(fields(&s), "20 true gold 2");
    let stored = s.widget("w").expect("stored");
    assert_eq!(stored["metadata"]["resourceVersion"], rv, "a write that changes nothing is not stored: {stored}");

    // A replace of `/status` with a body whose spec differs: only the status is taken.
    let mut whole: Value = serde_json::from_str(&s.kubectl_ok(&["get", "widget", "w", "-o", "json"])).expect("JSON");
    whole["spec"]["size"] = json!(99);
    whole["status"]["ready"] = json!(false);
    let whole = s.write("whole.json", &whole.to_string());
    s.kubectl_ok(&["replace", "--subresource=status", "-f", whole.to_str().expect("UTF-8 path")]);
    assert_eq!(fields(&s), "20 false gold 2");
}

/// Validation ratcheting (Kubernetes 1.30+, KEP-4008) as kubectl meets it:
/// a status of the wrong type is refused in the API server's words; once
/// the CRD is tightened under a stored Widget (size at most 5, the Widget's
/// is 10), its unchanged size no longer blocks a status write, a label or a
/// change to another spec field, while a changed size must meet the new
/// bound.
#[test]
fn kubectl_meets_validation_ratcheting_of_unchanged_fields() {
    let s = setup();
    s.create_widget_crd();
    let w = s.write("w.yaml", &widget("w", "  size: 10\n"));
    s.kubectl_ok(&["create", "-f", w.to_str().expect("UTF-8 path")]);
    let status =
        |p: &str| ["patch", "widget", "w", "--subresource=status", "--type", "merge", "-p", p].map(str::to_owned);
    let args = status(r#"{"status":{"ready":"yes"}}"#);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        s.kubectl_refused(&args),
        "The Widget \"w\" is invalid: \n\
         * status.ready: Invalid value: \"string\": status.ready in body must be of type boolean: \"string\"\n\
         * <nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; \
         correct the existing errors to complete validation\n"
    );

    let tightened = WIDGET_CRD.replace(
        "              size:\n                type: integer\n",
        "              size:\n                type: integer\n                maximum: 5\n",
    );
    assert_ne!(tightened, WIDGET_CRD);
    let tightened = s.write("widget-crd-2.yaml", &tightened);
    assert_eq!(
        s.kubectl_ok(&["replace", "-f", tightened.to_str().expect("UTF-8 path")]),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.dev replaced\n"
    );
    assert_eq!(s.kubectl_ok(&["label", "widget", "w", "tier=gold"]), "widget.example.dev/w labeled\n");
    let args = status(r#"{"status":{"ready":true}}"#);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(s.kubectl_ok(&args), "widget.example.dev/w patched\n");
    let spec = |p: &str| ["patch", "widget", "w", "--type", "merge", "-p", p].map(str::to_owned);
    let args = spec(r#"{"spec":{"minReplicas":2}}"#);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(s.kubectl_ok(&args), "widget.example.dev/w patched\n");
    let args = spec(r#"{"spec":{"size":12}}"#);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(
        s.kubectl_refused(&args),
        "The Widget \"w\" is invalid: spec.size: Invalid value: 12: spec.size in body should be less than or equal to 5\n"
    );
    assert_eq!(
        s.kubectl_ok(&[
            "get",
            "widget",
            "w",
            "-o",
            "jsonpath={.spec.size} {.spec.minReplicas} {.status.ready} {.metadata.labels.tier}"
        ]),
        "10 2 true gold"
    );
}

#[test]
fn the_python_client_creates_lists_patches_watches_and_deletes_a_sparkjob() {
    let s = setup();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/sparkjob_client.py");
    let mut command = Command::new(python_path());
    command.arg(&script).arg(&s.kubeconfig).arg(NAMESPACE);
    let out = run(command);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{} failed ({}):\n{stdout}\n{}", script.display(), out.status, text(&out.stderr));
    let mut steps: Vec<Value> =
        stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))).collect();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        names,
        [
            "client",
            "create",
            "list",
            "patch",
            "patch_status",
            "get",
            "watch_replay",
            "watch_live",
            "delete",
            "missing",
            "list_after_delete"
        ]
    );
    for step in &mut steps {
        step.as_object_mut().map(|o| o.remove("step"));
    }
    eprintln!("Python kubernetes client: {}", steps[0]["version"]);
    assert_eq!(steps[0], json!({"version": "37.0.2"}), "the version scripts/common.sh pins");

    // Resource versions count on from the namespace's, the last change before the script.
    let namespace = s.fake.object("v1", "Namespace", None, NAMESPACE).expect("namespace stored");
    let base: u64 = namespace["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok()).expect("numeric");
    let rv = |n: u64| (base + n).to_string();
    let uid = steps[1]["uid"].clone();
    assert!(uid.as_str().is_some_and(|u| !u.is_empty()), "{}", steps[1]);
    let job = |rv: String, generation: u64, tag: &str, instances: u64, state: Value, observed: Value| {
        json!({
            "name": "py-etl", "namespace": NAMESPACE, "resourceVersion": rv, "generation": generation,
            "repository": "registry.example.com/data/etl", "tag": tag, "instances": instances,
            "state": state, "observedGeneration": observed,
        })
    };
    let mut created = job(rv(1), 1, "1.0", 2, Value::Null, Value::Null);
    created["uid"] = uid.clone();
    assert_eq!(steps[1], created);
    assert_eq!(steps[2], json!({"kind": "SparkJobList", "apiVersion": API_VERSION, "names": ["py-etl"]}));
    assert_eq!(steps[3], job(rv(2), 2, "1.1", 2, Value::Null, Value::Null), "merge patch keeps the repository");
    assert_eq!(steps[4], job(rv(3), 2, "1.1", 2, json!("Running"), json!(2)), "status patch keeps the generation");
    assert_eq!(steps[5], job(rv(3), 2, "1.1", 2, json!("Running"), json!(2)));
    assert_eq!(steps[6], json!({"events": [["MODIFIED", rv(2), null], ["MODIFIED", rv(3), "Running"]]}));
    assert_eq!(steps[7], json!({"events": [["ADDED", rv(3), 2], ["MODIFIED", rv(4), 4], ["DELETED", rv(5), 4]]}));
    assert_eq!(
        steps[8],
        json!({"answer": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                          "details": {"name": "py-etl", "group": "sparkplane.dev", "kind": "sparkjobs", "uid": uid}}})
    );
    assert_eq!(
        steps[9],
        json!({"status": 404, "reason": "Not Found", "body": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "sparkjobs.sparkplane.dev \"missing\" not found", "reason": "NotFound",
            "details": {"name": "missing", "group": "sparkplane.dev", "kind": "sparkjobs"}, "code": 404,
        }})
    );
    assert_eq!(steps[10], json!({"names": []}));
    assert_eq!(s.stored("py-etl"), None);

    // What the client sent: merge patches (spec and status), watches with the asked-for timeouts.
    let requests = s.fake.requests();
    let patches: Vec<(String, Option<String>)> =
        requests.iter().filter(|r| r.method == "PATCH").map(|r| (r.path.clone(), r.content_type.clone())).collect();
    let item = "/apis/sparkplane.dev/v1alpha1/namespaces/team-a/sparkjobs/py-etl";
    let merge = Some("application/merge-patch+json".to_owned());
    assert_eq!(
        patches,
        [(item.to_owned(), merge.clone()), (format!("{item}/status"), merge.clone()), (item.to_owned(), merge)]
    );
    let watches: Vec<(Option<&str>, Option<&str>)> = requests
        .iter()
        .filter(|r| r.query.get("watch").is_some_and(|w| w == "true"))
        .map(|r| {
            (r.query.get("resourceVersion").map(String::as_str), r.query.get("timeoutSeconds").map(String::as_str))
        })
        .collect();
    assert_eq!(watches, [(Some(rv(1).as_str()), Some("1")), (None, Some("10"))]);
}

/// Server-side apply through the Python client (`tests/clients/apply_client.py`):
/// bob applying another value for alice's field gets the API server's 409
/// naming alice, with a `FieldManagerConflict` cause; `force=True` moves the
/// field to bob; when alice stops sending it, it stays (bob owns it).
#[test]
fn the_python_client_meets_apply_conflicts_naming_the_other_manager_until_forced() {
    let s = setup();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/apply_client.py");
    let mut command = Command::new(python_path());
    command.arg(&script).arg(&s.kubeconfig).arg(NAMESPACE);
    let out = run(command);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{} failed ({}):\n{stdout}\n{}", script.display(), out.status, text(&out.stderr));
    let steps: Vec<Value> =
        stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))).collect();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap_or_default()).collect();
    assert_eq!(names, ["alice", "bob", "bob_forced", "alice_without"], "{stdout}");
    let rest = json!({"f:image": {"f:repository": {}, "f:tag": {}}, "f:mainApplicationFile": {}, "f:sparkVersion": {}, "f:type": {}});
    let mut all = rest.clone();
    all["f:executor"] = json!({"f:instances": {}});
    assert_eq!((&steps[0]["instances"], &steps[0]["owners"]), (&json!(2), &json!({"alice/Apply": all})));
    assert_eq!(
        steps[1],
        json!({"step": "bob", "status": 409, "body": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 409, "reason": "Conflict",
            "message": "Apply failed with 1 conflict: conflict with \"alice\": .spec.executor.instances",
            "details": {"name": "py-apply", "kind": "SparkJob", "causes": [{
                "reason": "FieldManagerConflict", "message": "conflict with \"alice\"", "field": ".spec.executor.instances"}]},
        }})
    );
    let forced = json!({"alice/Apply": rest, "bob/Apply": all});
    assert_eq!((&steps[2]["instances"], &steps[2]["owners"]), (&json!(5), &forced), "the field moved to bob");
    assert_eq!((&steps[3]["instances"], &steps[3]["owners"]), (&json!(5), &forced), "bob's field stays");
    let stored = s.stored("py-apply").expect("stored");
    assert_eq!(stored["spec"]["executor"]["instances"], 5);
}

/// Two CRDs of one group that serve different versions (as Kubeflow's
/// SparkApplication at v1beta2 and SparkConnect at v1alpha1 do): kubectl
/// and the Python client find both through discovery — the group lists
/// every version, in the API server's order, the first preferred — and
/// reach a resource of the older version.
#[test]
fn kubectl_and_the_python_client_find_every_version_a_groups_crds_serve() {
    let s = setup();
    let crd = |plural: &str, kind: &str, version: &str| {
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.example.dev")},
            "spec": {"group": "example.dev", "scope": "Namespaced",
                "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "listKind": format!("{kind}List")},
                "versions": [{"name": version, "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
    };
    for (plural, kind, version) in [("gadgets", "Gadget", "v1alpha1"), ("gizmos", "Gizmo", "v1beta2")] {
        let file = s.write(&format!("{plural}.json"), &crd(plural, kind, version).to_string());
        s.kubectl_ok(&["create", "-f", file.to_str().expect("UTF-8 path")]);
    }
    let versions = s.kubectl_ok(&["api-versions"]);
    let ours: Vec<&str> = versions.lines().filter(|l| l.starts_with("example.dev/")).collect();
    assert_eq!(ours, ["example.dev/v1alpha1", "example.dev/v1beta2"], "kubectl sorts them by name");
    let gadget = s.write(
        "gadget.yaml",
        &format!("apiVersion: example.dev/v1alpha1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: {NAMESPACE}\nspec: {{size: 3}}\n"),
    );
    assert_eq!(s.kubectl_ok(&["apply", "-f", gadget.to_str().expect("UTF-8 path")]), "gadget.example.dev/g1 created\n");
    assert_eq!(s.kubectl_ok(&["get", "gadgets", "-n", NAMESPACE, "-o", "name"]), "gadget.example.dev/g1\n");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/discovery_client.py");
    let mut command = Command::new(python_path());
    command.arg(&script).arg(&s.kubeconfig).args(["example.dev", "v1alpha1", "Gadget", NAMESPACE]);
    let out = run(command);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{} failed ({}):\n{stdout}\n{}", script.display(), out.status, text(&out.stderr));
    let steps: Vec<Value> =
        stdout.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))).collect();
    assert_eq!(
        steps,
        [
            json!({"step": "group", "versions": ["v1beta2", "v1alpha1"], "preferred": "v1beta2"}),
            json!({"step": "list", "count": 1}),
        ]
    );
}
