//! The air-gapped path (slow suite): the image's OCI archive pushed with
//! skopeo to a registry on 127.0.0.1 (Debian's docker-registry, started here
//! on a free port and stopped when the test ends), pulled back by digest
//! with podman and run, and the chart installed from that digest into the
//! simulated cluster with Helm's own library — every container of it names
//! `127.0.0.1:<port>/sparkplane@<digest>`.

use crate::container_support;

use std::process::Command;

use container_support::{RESTRICTED, Registry, free_port, helm_install, image, ok, podman, repo, tool};
use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

#[test]
fn the_archive_goes_through_a_local_registry_by_digest_and_the_chart_installs_from_it() {
    let image = image();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _registry = Registry::start(dir.path(), port);
    let repository = format!("127.0.0.1:{port}/sparkplane");

    // Push the archive as a user loads it into a private registry.
    ok(Command::new(tool("skopeo"))
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci-archive:{}", image.archive.display()))
        .arg(format!("docker://{repository}:{}", env!("CARGO_PKG_VERSION"))));
    let pushed: Value = serde_json::from_str(&ok(Command::new(tool("skopeo")).args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{repository}:{}", env!("CARGO_PKG_VERSION")),
    ])))
    .expect("json");
    assert_eq!(pushed["Digest"], image.digest.as_str(), "the registry keeps the archive's digest");

    // Pull by digest and run it as the chart does.
    let by_digest = format!("{repository}@{}", image.digest);
    ok(podman().args(["pull", "--quiet", "--tls-verify=false", &by_digest]));
    let out = podman()
        .args(["run", "--rm"])
        .args(RESTRICTED)
        .args([by_digest.as_str(), "version", "-o", "json"])
        .output()
        .expect("podman run");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let version: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    let _ = podman().args(["rmi", &by_digest]).output();

    // The chart from that digest on the simulated cluster: every container names it.
    let fake = FakeApiServer::start().expect("the simulated cluster starts");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig("default")).expect("kubeconfig");
    let values = json!({
        "image": {"repository": repository, "digest": image.digest},
        "eventLogs": {"location": "s3://spark-events/"},
        "history": {"signIn": {"mode": "none"}},
    });
    let objects =
        helm_install(&kubeconfig, "sparkplane-system", &repo().join("charts/sparkplane"), &values, dir.path());
    let mut images = Vec::new();
    for object in objects.iter().filter(|o| o["kind"] == "Deployment") {
        for container in object["spec"]["template"]["spec"]["containers"].as_array().expect("containers") {
            images.push(container["image"].as_str().expect("image").to_owned());
            // Every container runs as the container tests run it (the flags its securityContext stands for).
            let pod = &object["spec"]["template"]["spec"];
            assert_eq!(container_support::security_flags(pod, container), RESTRICTED, "{}", object["metadata"]["name"]);
        }
    }
    assert_eq!(images, vec![by_digest.clone(); 3], "operator, exporter and History Server");
    let operator = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "sparkplane-operator")
        .expect("operator");
    let args = operator["spec"]["template"]["spec"]["containers"][0]["args"].as_array().expect("args");
    assert!(args.contains(&json!(format!("--quality-gate-image={by_digest}"))), "{args:?}");
    assert!(
        fake.object("apps/v1", "Deployment", Some("sparkplane-system"), "sparkplane-operator").is_some(),
        "installed in the cluster"
    );
}
