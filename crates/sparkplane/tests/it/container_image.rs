//! The image (ADR 0047) as scripts/image.sh builds it (slow suite: podman
//! builds it, skopeo reads it): a second build from the same commit and
//! binary has the same digest; `skopeo inspect` of the OCI archive shows the
//! non-root user, the entrypoint, the OCI labels and no shell in any layer;
//! podman runs it restricted; a machine without podman is told how to get
//! it (exit 3). The image is built from the binary under test (the debug
//! build nextest made); `scripts/release.sh` builds it from the release one.

use crate::container_support;

use std::collections::BTreeSet;
use std::process::Command;

use container_support::{RESTRICTED, image, ok, repo, tool};
use serde_json::Value;

#[test]
fn a_second_build_from_the_same_commit_has_the_same_digest() {
    let first = image();
    let out = tempfile::tempdir().expect("temp dir");
    let binary = sparkplane_testkit::cli::binary();
    let printed = ok(Command::new("bash")
        .arg(repo().join("scripts/image.sh"))
        .arg("--binary")
        .arg(&binary)
        .args(["--tag", "localhost/sparkplane-test:second-build", "--out"])
        .arg(out.path())
        .env("CONTAINERS_CONF", container_support::containers_conf()));
    let second: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("image.json")).expect("image.json"))
            .expect("json");
    assert_eq!(second["digest"], first.meta["digest"], "same commit and binary, same manifest digest");
    assert_eq!(second["id"], first.meta["id"], "same config digest");
    assert_eq!(printed.trim(), format!("localhost/sparkplane-test@{}", first.digest));
    let _ = container_support::podman().args(["rmi", "localhost/sparkplane-test:second-build"]).output();
}

fn skopeo_json(args: &[&str]) -> Value {
    let text = ok(Command::new(tool("skopeo")).args(args));
    serde_json::from_str(&text).expect("skopeo prints JSON")
}

#[test]
fn skopeo_inspect_shows_the_non_root_user_the_entrypoint_the_labels_and_no_shell() {
    let image = image();
    let archive = format!("oci-archive:{}", image.archive.display());
    let inspect = skopeo_json(&["inspect", &archive]);
    assert_eq!(inspect["Digest"], image.digest.as_str());
    assert_eq!(inspect["Os"], "linux");
    let labels = &inspect["Labels"];
    let revision = String::from_utf8_lossy(
        &Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo()).output().expect("git").stdout,
    )
    .trim()
    .to_owned();
    assert_eq!(labels["org.opencontainers.image.revision"], revision.as_str());
    assert_eq!(labels["org.opencontainers.image.version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(labels["org.opencontainers.image.licenses"], "Apache-2.0");
    assert_eq!(labels["org.opencontainers.image.source"], "https://example.invalid/sparkplane");
    assert!(labels["org.opencontainers.image.created"].as_str().is_some_and(|c| c.ends_with('Z')), "{labels}");

    let config = skopeo_json(&["inspect", "--config", &archive]);
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"], serde_json::json!(["/usr/local/bin/sparkplane"]));
    assert_eq!(config["config"]["WorkingDir"], "/home/nonroot");
    let env: Vec<&str> = config["config"]["Env"].as_array().expect("Env").iter().filter_map(Value::as_str).collect();
    assert!(env.contains(&"PATH=/usr/local/bin"), "{env:?}");

    // Every file of every layer: the binary and PostgreSQL's client tools are the only programs, and no shell.
    let files = layer_files(&image.archive);
    let programs: BTreeSet<&str> =
        files.iter().filter(|f| f.starts_with("usr/local/bin/") || f.contains("bin/")).map(String::as_str).collect();
    assert_eq!(
        programs,
        BTreeSet::from([
            "usr/local/bin/pg_dump",
            "usr/local/bin/pg_restore",
            "usr/local/bin/psql",
            "usr/local/bin/sparkplane"
        ]),
    );
    for shell in ["sh", "bash", "dash", "ash", "busybox"] {
        assert!(!files.iter().any(|f| f.rsplit('/').next() == Some(shell)), "{shell} is in the image");
    }
    assert!(files.contains("etc/passwd") && files.contains("etc/ssl/certs/ca-certificates.crt"));
    assert!(files.contains("usr/share/zoneinfo/Europe/Berlin"));
    assert!(files.contains("usr/share/doc/libc6/copyright"), "glibc's licence goes with it");

    // Asked for a shell, the runtime finds none.
    let out = container_support::podman()
        .args(["run", "--rm"])
        .args(RESTRICTED)
        .args(["--entrypoint", "/bin/sh", &image.local, "-c", "id"])
        .output()
        .expect("podman run");
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/bin/sh") && stderr.contains("no such file or directory"), "{stderr}");
}

/// The paths of every layer of the OCI archive, read with tar.
fn layer_files(archive: &std::path::Path) -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    ok(Command::new("tar").arg("-xf").arg(archive).arg("-C").arg(dir.path()));
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("index.json")).expect("index")).expect("json");
    let blob = |digest: &str| dir.path().join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(blob(index["manifests"][0]["digest"].as_str().expect("manifest"))).expect("manifest"),
    )
    .expect("json");
    let mut files = BTreeSet::new();
    for layer in manifest["layers"].as_array().expect("layers") {
        let listing = ok(Command::new("tar").arg("-tzf").arg(blob(layer["digest"].as_str().expect("digest"))));
        files.extend(listing.lines().map(|l| l.trim_start_matches("./").trim_end_matches('/').to_owned()));
    }
    files
}

#[test]
fn the_image_runs_restricted_and_prints_its_version() {
    let image = image();
    let flags: Vec<String> = RESTRICTED.iter().map(|s| (*s).to_owned()).collect();
    let out = container_support::run(&image, &flags, &["version".into(), "-o".into(), "json".into()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let version: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["commit"], image.meta["revision"]);
}

#[test]
fn without_podman_image_sh_says_how_to_install_it_with_exit_3() {
    // A PATH with bash and what the script needs before its check, but no podman.
    let bin = tempfile::tempdir().expect("temp dir");
    for name in ["bash", "dirname", "cat", "sed"] {
        std::os::unix::fs::symlink(tool(name), bin.path().join(name)).expect("symlink");
    }
    let out = Command::new(bin.path().join("bash"))
        .arg(repo().join("scripts/image.sh"))
        .env("PATH", bin.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "image.sh: podman is not installed: run 'source scripts/common.sh && need_containers' (Debian: apt-get install \
         podman buildah skopeo umoci runc docker-registry), then run this again.\n"
    );
    assert!(out.stdout.is_empty());
}
