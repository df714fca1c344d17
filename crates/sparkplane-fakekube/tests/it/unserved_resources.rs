//! A resource no built-in and no stored CRD serves is the API server's
//! 404, as kubectl and the Python Kubernetes client report it; once its
//! CRD is stored, both reach it. Both tools are installed by `bash
//! scripts/test.sh` (`need_kubectl`, `need_python_clients`).

use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

#[allow(dead_code)] // Killed is for the tests that keep a client running.
use crate::client_tools;
use client_tools::{kubectl_path, python_path, text};

const PYTHON: &str = r#"
import json, sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
try:
    items = client.CustomObjectsApi().list_namespaced_custom_object("example.com", "v1", "ns", "widgets")["items"]
    print(json.dumps({"items": len(items)}))
except client.exceptions.ApiException as e:
    print(json.dumps({"status": e.status, "body": json.loads(e.body)}))
"#;

#[test]
fn kubectl_and_the_python_client_get_404_for_a_resource_without_its_crd() {
    let fake = FakeApiServer::start().expect("starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig("ns")).expect("kubeconfig written");
    let kubectl = |args: &[&str]| {
        let out = Command::new(kubectl_path())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl runs");
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let python = || {
        let out = Command::new(python_path()).arg("-c").arg(PYTHON).arg(&kubeconfig).output().expect("python runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_str::<Value>(text(&out.stdout).trim()).expect("one JSON line")
    };
    let path = "/apis/example.com/v1/namespaces/ns/widgets";
    assert_eq!(
        kubectl(&["get", "--raw", path]),
        (
            Some(1),
            String::new(),
            "Error from server (NotFound): the server could not find the requested resource\n".into()
        )
    );
    let (code, _, stderr) = kubectl(&["get", "widgets.example.com"]);
    assert_eq!((code, stderr.trim_end()), (Some(1), "error: the server doesn't have a resource type \"widgets\""));
    assert_eq!(
        python(),
        json!({"status": 404, "body": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server could not find the requested resource", "reason": "NotFound", "details": {}, "code": 404}})
    );

    fake.insert(sparkplane_fakekube::schemaless_crd("example.com", "widgets", "widget", "Widget")).expect("CRD stored");
    assert_eq!(python(), json!({"items": 0}));
    let (code, _, stderr) = kubectl(&["get", "--raw", path]);
    assert_eq!(code, Some(0), "{stderr}");
}
