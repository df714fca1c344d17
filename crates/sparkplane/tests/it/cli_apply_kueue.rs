//! `sparkplane apply` of a job meant for Kueue (ADR 0073), against the
//! simulated cluster with Kueue's CRDs installed: a LocalQueue or a
//! WorkloadPriorityClass the cluster does not have, and dynamic allocation
//! without a maximum, are refused with the field path, the place in the
//! file, exit 2 and nothing stored — the words the operator in Kueue mode
//! uses for the same job applied with kubectl (operator_kueue.rs in the
//! kube crate checks its Events).

// This file starts no operator (cluster_support::operator).
#[allow(dead_code)]
use crate::cluster_support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: nightly, namespace: data}
spec:
  team: data
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/nightly.py
  image: {repository: registry.example.com/data/nightly, tag: \"1.0.0\"}
  timeouts: {maxDuration: 2h}
";

struct Kueue {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
    /// How many requests the setup sent.
    setup: usize,
}

impl Kueue {
    /// Kueue installed, the LocalQueue `team` in namespace `data` and the WorkloadPriorityClass `batch`.
    fn start() -> Kueue {
        let fake = FakeApiServer::start().expect("the simulated cluster starts");
        fake.install_kueue();
        // Through the API, as kubectl would create them (Kueue's CRDs name the plurals).
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let kueue = |path: &str, body: Value| {
            let url = format!("{}/apis/kueue.x-k8s.io/v1beta2/{path}", fake.url());
            let answer = agent.post(&url).send_json(&body).expect("the fake answers");
            assert_eq!(answer.status().as_u16(), 201, "{path}");
        };
        kueue(
            "namespaces/data/localqueues",
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
                   "metadata": {"name": "team", "namespace": "data"}, "spec": {"clusterQueue": "shared"}}),
        );
        kueue(
            "workloadpriorityclasses",
            json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
                   "metadata": {"name": "batch"}, "value": 10}),
        );
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("data")).expect("kubeconfig");
        let setup = fake.requests().len();
        Kueue { fake, dir, setup }
    }

    fn write(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{JOB}{extra}")).expect("write");
        path
    }

    fn apply(&self, file: &str) -> cluster_support::Run {
        let cmd = cluster_support::command(self.dir.path(), &self.dir.path().join("kubeconfig"));
        cluster_support::run(cmd, &["apply", file], Duration::from_secs(60))
    }

    fn stored(&self, name: &str) -> Option<Value> {
        self.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data"), name)
    }

    /// The requests `sparkplane` sent.
    fn sent(&self) -> Vec<sparkplane_fakekube::RecordedRequest> {
        self.fake.requests().split_off(self.setup)
    }

    fn writes(&self) -> Vec<String> {
        self.sent().into_iter().filter(|r| r.method != "GET").map(|r| format!("{} {}", r.method, r.path)).collect()
    }
}

#[test]
fn a_queue_and_a_priority_class_the_cluster_does_not_have_are_refused_at_their_lines_and_nothing_is_stored() {
    let kueue = Kueue::start();
    kueue.write("nightly.yaml", "  queue: nowhere\n  priorityClassName: vip\n");
    let run = kueue.apply("nightly.yaml");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "nightly.yaml:12:10: error: spec.queue: there is no Kueue LocalQueue `nowhere` in namespace `data`
  help: name a LocalQueue of the namespace (`kubectl get localqueues -n data`), or create it with `sparkplane tenant render` (a tenant's `spec.queue`); is Kueue installed?
nightly.yaml:13:22: error: spec.priorityClassName: there is no Kueue WorkloadPriorityClass `vip`
  help: name one of `kubectl get workloadpriorityclasses`, or declare it in the platform's Queues file (`spec.priorityClasses`)
2 errors
"
    );
    assert!(kueue.stored("nightly").is_none(), "nothing stored");
    assert_eq!(kueue.writes(), Vec::<String>::new(), "no write was sent");

    // The queue exists; the priority class still does not.
    kueue.write("nightly.yaml", "  queue: team\n  priorityClassName: vip\n");
    let run = kueue.apply("nightly.yaml");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "nightly.yaml:13:22: error: spec.priorityClassName: there is no Kueue WorkloadPriorityClass `vip`\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("spec.queue"), "{}", run.stderr);
    assert!(kueue.stored("nightly").is_none());

    // Both exist: stored as written.
    kueue.write("nightly.yaml", "  queue: team\n  priorityClassName: batch\n");
    let run = kueue.apply("nightly.yaml");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with("sparkjob data/nightly applied (spec "), "{}", run.stdout);
    let stored = kueue.stored("nightly").expect("stored");
    assert_eq!(
        (stored["spec"]["queue"].clone(), stored["spec"]["priorityClassName"].clone()),
        (json!("team"), json!("batch"))
    );
}

#[test]
fn dynamic_allocation_without_a_maximum_is_refused_before_the_cluster_is_asked() {
    let kueue = Kueue::start();
    kueue.write("elastic.yaml", "  queue: team\n  dynamicAllocation: {enabled: true, minExecutors: 1}\n");
    let run = kueue.apply("elastic.yaml");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "elastic.yaml:13:3: error: spec.dynamicAllocation.maxExecutors: dynamic allocation has no upper bound, so quotas and costs cannot be checked
  help: add `maxExecutors:` under spec.dynamicAllocation
"
    );
    assert!(kueue.stored("elastic").is_none());
    assert_eq!(kueue.sent().len(), 0, "refused before any request");
}

#[test]
fn a_job_that_names_no_queue_is_left_to_the_operator() {
    // Without spec.queue the job is not known to be for Kueue: apply does not look its references up.
    let kueue = Kueue::start();
    kueue.write("plain.yaml", "  priorityClassName: vip\n");
    let run = kueue.apply("plain.yaml");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(kueue.stored("nightly").is_some());
    let kueue_reads = kueue.sent().into_iter().filter(|r| r.path.contains("kueue.x-k8s.io")).count();
    assert_eq!(kueue_reads, 0);
}

/// Two tenants of team `data` in the platform directory: `data` (its LocalQueue `team`) and `data-ml` (`ml-q`).
fn two_tenants(dir: &std::path::Path) {
    let tenants = dir.join("platform/tenants");
    std::fs::create_dir_all(&tenants).expect("mkdir");
    for (name, queue) in [("data", "team"), ("data-ml", "ml-q")] {
        let text = format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: {name}}}\nspec:\n  team: data\n  \
             costCenter: cc-1\n  queue: {{name: {queue}, clusterQueue: shared}}\n"
        );
        std::fs::write(tenants.join(format!("{name}.yaml")), text).expect("tenant");
    }
}

#[test]
fn a_job_that_names_no_namespace_takes_the_queue_of_the_tenant_of_the_namespace_it_is_applied_to() {
    let kueue = Kueue::start();
    two_tenants(kueue.dir.path());
    // The job names no namespace and no queue; its team has two tenants, so only the namespace says which.
    let path = kueue.dir.path().join("nightly.yaml");
    std::fs::write(&path, JOB.replace("{name: nightly, namespace: data}", "{name: nightly}")).expect("write");
    let apply = |more: &[&str]| {
        let cmd = cluster_support::command(kueue.dir.path(), &kueue.dir.path().join("kubeconfig"));
        let mut args = vec!["apply", "nightly.yaml", "--platform-dir", "platform"];
        args.extend_from_slice(more);
        cluster_support::run(cmd, &args, Duration::from_secs(60))
    };
    // -n data-ml: that tenant's queue, which the namespace does not have yet: refused, nothing stored.
    let run = apply(&["-n", "data-ml"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("error: spec.queue: there is no Kueue LocalQueue `ml-q` in namespace `data-ml`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("all belong to team"), "the namespace settled the tenant: {}", run.stderr);
    assert_eq!(kueue.writes(), Vec::<String>::new(), "no write was sent");
    // Once it exists, the job is stored in data-ml waiting in ml-q.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{}/apis/kueue.x-k8s.io/v1beta2/namespaces/data-ml/localqueues", kueue.fake.url());
    let body = json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue",
                      "metadata": {"name": "ml-q", "namespace": "data-ml"}, "spec": {"clusterQueue": "shared"}});
    assert_eq!(agent.post(&url).send_json(&body).expect("answers").status().as_u16(), 201);
    let run = apply(&["-n", "data-ml"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let stored = kueue.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-ml"), "nightly").expect("stored");
    assert_eq!(stored["spec"]["queue"], "ml-q", "{stored:#}");
    // Without -n, the kubeconfig context's namespace (data) says the tenant: its queue `team`.
    let run = apply(&[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(kueue.stored("nightly").expect("stored")["spec"]["queue"], "team");
}
