//! A server-side apply is authorized as `patch`; when it creates the object
//! it names, the API server also requires `create` on that resource and
//! name (its patch handler wraps the create path's validation in that
//! check, `handlers/patch.go` with `withAuthorization`). kubectl and the
//! Python Kubernetes client, authenticated as a service account, see the
//! fake refuse and allow exactly that.
//!
//! Both tools are installed by `bash scripts/test.sh` (`need_kubectl`,
//! `need_python_clients`); a missing one fails the test with that hint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

#[allow(dead_code)] // Killed is for the tests that keep a client running.
use crate::client_tools;
use client_tools::{kubectl_path, python_path, text};

const NAMESPACE: &str = "team-a";
const ACCOUNT: &str = "deployer";

struct Setup {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

/// A fake with the namespace, the service account bound to the Role
/// `writer` (rules set by [`Setup::grant`]), and the account's kubeconfig.
fn setup() -> Setup {
    let fake = FakeApiServer::start().expect("the fake API server starts on 127.0.0.1");
    fake.insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}))
        .expect("namespace stored");
    fake.insert(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "writer", "namespace": NAMESPACE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "writer"},
        "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}],
    }))
    .expect("binding stored");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.service_account_kubeconfig(NAMESPACE, ACCOUNT)).expect("kubeconfig written");
    // kubectl (client-go) sends no bearer token over plain HTTP: it acts as the account by impersonation.
    std::fs::write(dir.path().join("admin-kubeconfig"), fake.kubeconfig(NAMESPACE)).expect("kubeconfig written");
    Setup { fake, dir, kubeconfig }
}

impl Setup {
    /// The Role `writer` grants these verbs on ConfigMaps (replacing what it granted).
    fn grant(&self, verbs: &[&str]) {
        let key = ("rbac.authorization.k8s.io/v1", "Role", Some(NAMESPACE), "writer");
        if self.fake.object(key.0, key.1, key.2, key.3).is_some() {
            let admin = ureq::patch(&format!(
                "{}/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/roles/writer",
                self.fake.url()
            ))
            .header("Content-Type", "application/merge-patch+json")
            .send(json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]}).to_string());
            assert!(admin.is_ok(), "the Role is changed: {admin:?}");
            return;
        }
        self.fake
            .insert(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "writer", "namespace": NAMESPACE},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}],
            }))
            .expect("role stored");
    }

    fn config_map(&self, name: &str) -> Option<Value> {
        self.fake.object("v1", "ConfigMap", Some(NAMESPACE), name)
    }

    /// `kubectl apply --server-side` of a ConfigMap as the service account.
    fn kubectl_apply(&self, name: &str) -> Output {
        let file = self.dir.path().join(format!("{name}.yaml"));
        let manifest = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  mode: kubectl\n");
        std::fs::write(&file, manifest).expect("manifest written");
        let mut command = Command::new(kubectl_path());
        command
            .arg("--kubeconfig")
            .arg(self.dir.path().join("admin-kubeconfig"))
            .arg(format!("--as=system:serviceaccount:{NAMESPACE}:{ACCOUNT}"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(["apply", "--server-side", "-f"])
            .arg(&file);
        run(command)
    }

    /// `tests/clients/apply_create_client.py`'s one line: the apply's status (and body when refused).
    fn python_apply(&self, name: &str) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/apply_create_client.py");
        let mut command = Command::new(python_path());
        command.arg(&script).arg(&self.kubeconfig).arg(NAMESPACE).arg(name);
        let out = run(command);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{} failed ({}):\n{stdout}\n{}", script.display(), out.status, text(&out.stderr));
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{stdout}: {e}"))
    }
}

fn run(mut command: Command) -> Output {
    command.stdin(Stdio::null());
    command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// The API server's 403 for an apply that would create `name` without `create`:
/// the create-on-patch check's message, `<resource> "<name>" is forbidden: <reason>`,
/// with RBAC's reason empty for a request no rule allows.
fn refused_create(name: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 403, "reason": "Forbidden",
        "message": format!("configmaps \"{name}\" is forbidden: "),
        "details": {"name": name, "group": "", "kind": "configmaps"},
    })
}

#[test]
fn kubectl_server_side_apply_creates_only_with_both_patch_and_create() {
    let s = setup();
    s.grant(&["patch"]);
    let refused = s.kubectl_apply("settings");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert_eq!(text(&refused.stderr), "Error from server (Forbidden): configmaps \"settings\" is forbidden: \n");
    assert_eq!(s.config_map("settings"), None, "nothing is created");

    // An object that exists needs only patch.
    s.fake
        .insert(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "existing", "namespace": NAMESPACE}}),
        )
        .expect("stored");
    let patched = s.kubectl_apply("existing");
    assert!(patched.status.success(), "{}", text(&patched.stderr));
    assert_eq!(text(&patched.stdout), "configmap/existing serverside-applied\n");
    assert_eq!(s.config_map("existing").map(|c| c["data"]["mode"].clone()), Some(json!("kubectl")));

    // create alone is not enough either: the request itself is a patch.
    s.grant(&["create"]);
    let refused = s.kubectl_apply("settings");
    assert_eq!(
        text(&refused.stderr),
        "Error from server (Forbidden): configmaps \"settings\" is forbidden: User \"system:serviceaccount:team-a:deployer\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"team-a\"\n"
    );
    assert_eq!(s.config_map("settings"), None);

    s.grant(&["patch", "create"]);
    let created = s.kubectl_apply("settings");
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert_eq!(text(&created.stdout), "configmap/settings serverside-applied\n");
    let stored = s.config_map("settings").expect("created");
    assert_eq!(stored["data"]["mode"], "kubectl");
    assert_eq!(stored["metadata"]["managedFields"][0]["operation"], "Apply");
}

#[test]
fn the_python_client_sees_an_apply_that_would_create_refused_without_create() {
    let s = setup();
    s.grant(&["patch"]);
    assert_eq!(s.python_apply("py-settings"), json!({"status": 403, "body": refused_create("py-settings")}));
    assert_eq!(s.config_map("py-settings"), None, "nothing is created");
    // A dry run is refused the same way: the check runs before anything would be stored.
    let dry = ureq::patch(&format!(
        "{}/api/v1/namespaces/{NAMESPACE}/configmaps/py-settings?fieldManager=x&dryRun=All",
        s.fake.url()
    ))
    .header("Authorization", &format!("Bearer system:serviceaccount:{NAMESPACE}:{ACCOUNT}"))
    .header("Content-Type", "application/apply-patch+yaml")
    .config()
    .http_status_as_error(false)
    .build()
    .send("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"py-settings\"}}");
    assert_eq!(dry.map(|r| r.status().as_u16()).ok(), Some(403));

    s.grant(&["patch", "create"]);
    assert_eq!(s.python_apply("py-settings"), json!({"status": 201}));
    assert_eq!(s.config_map("py-settings").map(|c| c["data"]["mode"].clone()), Some(json!("py")));
    assert_eq!(s.python_apply("py-settings"), json!({"status": 200}), "applying again updates");
}
