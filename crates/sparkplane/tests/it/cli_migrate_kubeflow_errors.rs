//! `sparkplane migrate kubeflow` given bad input, on the simulated cluster
//! with Kubeflow's CRDs: flags that contradict each other, a namespace that
//! is no name, a selector the API server cannot parse, a cluster nobody
//! answers at, and an `--apply` where one resource cannot move. Each ends with
//! the exit code the guide gives (2 invalid input, 3 unreachable, 1 something
//! could not move), an error that names the flag or server and how to fix it,
//! and nothing written that was not meant to be: the request log shows no
//! write, and what could not move keeps its labels.

use crate::cluster_support;
use crate::kubeflow_support;

use kubeflow_support::{KubeflowCluster, spark_pi};
use serde_json::{Value, json};

const OPT_IN: &str = "sparkplane.dev/operator";

/// Applies `yaml` with kubectl, as a user would.
fn kubectl_apply(cluster: &KubeflowCluster, file: &str, yaml: &str) {
    let path = cluster.dir.path().join(file);
    std::fs::write(&path, yaml).expect("write");
    let out = cluster.kubectl(&["apply", "-f", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "kubectl apply: {}", String::from_utf8_lossy(&out.stderr));
}

/// The SparkApplication `name`'s labels as the cluster holds them.
fn labels_of(cluster: &KubeflowCluster, name: &str) -> Value {
    let app = cluster.object("SparkApplication", "default", name).expect("the application exists");
    app["metadata"]["labels"].clone()
}

/// The requests the CLI made that change something.
fn writes(cluster: &KubeflowCluster) -> Vec<String> {
    cluster
        .fake
        .requests()
        .into_iter()
        .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// `migrate kubeflow ARGS` on a fresh cluster, held to exit 2 with no
/// request made; its standard error.
fn refused_before_any_request(args: &[&str]) -> String {
    let cluster = KubeflowCluster::start(200);
    cluster.fake.clear_requests();
    let run = cluster.sparkplane(&[&["migrate", "kubeflow"][..], args].concat());
    assert_eq!(run.code, Some(2), "{args:?}: {}{}", run.stdout, run.stderr);
    assert!(cluster.fake.requests().is_empty(), "{args:?}: a request was made: {:?}", writes(&cluster));
    run.stderr
}

#[test]
fn apply_and_undo_together_are_refused_before_any_request() {
    let stderr = refused_before_any_request(&["--apply", "--undo"]);
    assert!(stderr.contains("'--apply' cannot be used with '--undo'"), "{stderr}");
}

#[test]
fn an_owner_without_apply_is_refused_naming_the_flag_it_needs() {
    let stderr = refused_before_any_request(&["--team", "data-eng"]);
    assert!(stderr.contains("--apply"), "the error names the flag --team needs: {stderr}");
}

#[test]
fn a_namespace_that_is_no_name_is_refused_before_any_request() {
    let stderr = refused_before_any_request(&["-n", "Data_Eng"]);
    assert!(stderr.contains("--namespace"), "the error names the flag: {stderr}");
    assert!(stderr.contains("`Data_Eng`"), "the error quotes the value: {stderr}");
    assert!(stderr.contains("data-eng"), "the help suggests a valid name: {stderr}");
}

#[test]
fn a_selector_the_api_server_cannot_parse_exits_2_naming_the_flag_and_moves_nothing() {
    let cluster = KubeflowCluster::start(200);
    kubectl_apply(&cluster, "app.yaml", &spark_pi("nightly", "default", json!({"app": "nightly"})).to_string());
    cluster.fake.clear_requests();
    let run = cluster.sparkplane(&["migrate", "kubeflow", "-n", "default", "-l", "app in (nightly", "--apply"]);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("--selector"), "the error names the flag: {}", run.stderr);
    assert!(run.stderr.contains("`app in (nightly`"), "the error quotes the selector: {}", run.stderr);
    assert!(run.stderr.contains("key in (a,b)"), "the help shows the syntax: {}", run.stderr);
    assert!(!run.stderr.contains("sparkplane render"), "no help about jobs for a selector: {}", run.stderr);
    assert_eq!(writes(&cluster), Vec::<String>::new(), "nothing is written");
    assert!(labels_of(&cluster, "nightly").get(OPT_IN).is_none(), "the application did not move");
}

#[test]
fn an_unreachable_cluster_exits_3_naming_the_server_and_what_to_check() {
    let cluster = KubeflowCluster::start(200);
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let kubeconfig = cluster.dir.path().join("unreachable.kubeconfig");
    let text = std::fs::read_to_string(&cluster.kubeconfig).expect("kubeconfig");
    std::fs::write(&kubeconfig, text.replace(&cluster.fake.url(), &format!("http://127.0.0.1:{port}"))).expect("write");
    let cmd = cluster_support::command(cluster.dir.path(), &kubeconfig);
    let run = cluster_support::run(cmd, &["migrate", "kubeflow"], std::time::Duration::from_secs(120));
    assert_eq!(run.code, Some(3), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!("cannot reach the Kubernetes API at http://127.0.0.1:{port}")),
        "the error names the server: {}",
        run.stderr
    );
    assert!(run.stderr.contains("kubectl config view --minify"), "the help says what to check: {}", run.stderr);
    assert!(run.stdout.is_empty(), "no partial listing: {}", run.stdout);
}

#[test]
fn apply_moves_what_can_move_and_exits_1_leaving_the_rest_as_it_was() {
    let cluster = KubeflowCluster::start(200);
    let owned = json!({"sparkplane.dev/team": "data-eng", "sparkplane.dev/cost-center": "cc-42"});
    let apps = format!(
        "{}\n---\n{}",
        spark_pi("owned", "default", owned),
        spark_pi("ownerless", "default", json!({"app": "pi"}))
    );
    kubectl_apply(&cluster, "apps.yaml", &apps);
    let run = cluster.sparkplane(&["migrate", "kubeflow", "-n", "default", "--apply"]);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("SparkApplication default/owned (new): moved to sparkplane"), "{}", run.stdout);
    assert!(run.stdout.contains("SparkApplication default/ownerless (new): cannot move"), "{}", run.stdout);
    assert!(run.stderr.contains("some resources could not move"), "{}", run.stderr);
    assert!(run.stderr.contains("--team and --cost-center"), "the help names the fix: {}", run.stderr);
    assert_eq!(labels_of(&cluster, "owned")[OPT_IN], "sparkplane", "what could move moved");
    assert_eq!(labels_of(&cluster, "ownerless"), json!({"app": "pi"}), "what could not move keeps exactly its labels");
}
