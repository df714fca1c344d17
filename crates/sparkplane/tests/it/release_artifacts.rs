//! sparkplane's own release (ADR 0048) from one command, scripts/release.sh
//! (slow suite: it builds the image with podman). The artifacts are read
//! back with tools no one here wrote: `sha256sum -c`, OpenSSL's ECDSA
//! verification of every signature, tar for the chart's Chart.yaml and
//! values.yaml, skopeo for the OCI archive. The crate SBOM lists every
//! package of Cargo.lock with its version; a tarball with one byte changed is
//! refused (exit 1, the file named). Bad input: a dirty work tree is refused
//! (exit 2) unless --allow-dirty, which marks the version; a version that is
//! not the workspace's is exit 2; a missing podman is exit 3 with how to
//! install it. The binary is the one under test (`--binary`) without its
//! symbol table (`strip --strip-all` of a copy: about 100 MB instead of the
//! debug build's 210 MB for release.sh to compress into the tarball and the
//! image); a release build is `scripts/release.sh VERSION --key KEY` alone.

use crate::container_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use container_support::{containers_conf, ok, repo, tool};
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn keygen(dir: &Path) -> PathBuf {
    let out = sparkplane_testkit::sparkplane()
        .args(["release", "keygen", "--out"])
        .arg(dir.join("keys"))
        .output()
        .expect("keygen runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("keys/release.key")
}

/// The xtask the workspace build made (scripts/test.sh builds every target
/// once, with the workspace's features): release.sh's own `cargo build -p
/// xtask` would rebuild half the tree with xtask's features inside the test.
fn built_xtask() -> PathBuf {
    let xtask = container_support::cache_root().parent().expect("target").join("debug/xtask");
    assert!(
        xtask.is_file(),
        "{} is missing: build it first (cargo build -p xtask; scripts/test.sh builds it)",
        xtask.display()
    );
    xtask
}

fn release_sh(script: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .env("SPARKPLANE_XTASK", built_xtask())
        .output()
        .expect("release.sh runs")
}

/// [`release_sh`] of a [`small_repo`], with `target` as its (empty) target folder.
fn small_release_sh(script: &Path, target: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("release.sh runs")
}

/// The version release.sh released (its last `==> released V (` line): the
/// workspace's, marked `-dirty.g<12 hex of the commit>` when the tree had
/// changes (other work may commit meanwhile, so the commit is not compared).
fn released_version(stderr: &str) -> String {
    let v = stderr
        .lines()
        .find_map(|l| l.strip_prefix("==> released ").and_then(|r| r.split_once(" (")).map(|(v, _)| v.to_owned()))
        .unwrap_or_else(|| panic!("release.sh names what it released: {stderr}"));
    let clean = ok(Command::new("git").args(["status", "--porcelain"]).current_dir(repo())).trim().is_empty();
    match v.strip_prefix(&format!("{VERSION}-dirty.g")) {
        Some(hex) => assert!(!clean && hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{v}"),
        None => assert_eq!(v, VERSION),
    }
    v
}

/// A copy of the binary under test without its symbol table (`strip
/// --strip-all`), the same program in half the bytes to package.
fn stripped_binary(dir: &Path) -> PathBuf {
    let binary = dir.join("sparkplane");
    std::fs::copy(sparkplane_testkit::cli::binary(), &binary).expect("copy the binary under test");
    ok(Command::new("strip").arg("--strip-all").arg(&binary));
    binary
}

/// (name, version) of every package in Cargo.lock, read line by line.
fn locked_crates() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(repo().join("Cargo.lock")).expect("Cargo.lock");
    let mut out = BTreeSet::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            out.insert((n, v.trim_matches('"').to_owned()));
        }
    }
    out
}

#[test]
fn release_sh_writes_every_artifact_checksummed_signed_and_verifiable() {
    tool("podman");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = keygen(dir.path());
    let out_dir = dir.path().join("release");
    let binary = stripped_binary(dir.path());
    let args = [
        VERSION,
        "--key",
        key.to_str().expect("utf-8"),
        "--allow-dirty",
        "--binary",
        binary.to_str().expect("utf-8"),
        "--out",
        out_dir.to_str().expect("utf-8"),
    ];
    let out = release_sh(&repo().join("scripts/release.sh"), &args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = released_version(&String::from_utf8_lossy(&out.stderr));
    let names: BTreeSet<String> = std::fs::read_dir(&out_dir)
        .expect("the release folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let artifacts = [
        format!("sparkplane-{v}-linux-x86_64.tar.gz"),
        format!("sparkplane-{v}-image.oci.tar"),
        format!("sparkplane-{v}.tgz"),
        format!("sparkplane-{v}.crates.cdx.json"),
        format!("sparkplane-{v}-image.cdx.json"),
        "SHA256SUMS".to_owned(),
    ];
    let mut expected: BTreeSet<String> = artifacts.iter().flat_map(|a| [a.clone(), format!("{a}.sig")]).collect();
    expected.insert("release.pub".to_owned());
    assert_eq!(names, expected);

    // sha256sum reads the checksums; OpenSSL verifies every signature with the key keygen made.
    let sums = ok(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&out_dir));
    assert_eq!(sums.lines().count(), 5, "{sums}");
    let public = dir.path().join("keys/release.pub");
    for artifact in &artifacts {
        let der = dir.path().join("sig.der");
        let text = std::fs::read_to_string(out_dir.join(format!("{artifact}.sig"))).expect("sig");
        let decoded = Command::new("base64")
            .arg("-d")
            .stdin(std::fs::File::open(out_dir.join(format!("{artifact}.sig"))).expect("sig"))
            .output()
            .expect("base64");
        assert!(decoded.status.success(), "{artifact}.sig is base64: {text}");
        std::fs::write(&der, decoded.stdout).expect("der");
        let verified = ok(Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(&public)
            .arg("-signature")
            .arg(&der)
            .arg(out_dir.join(artifact)));
        assert_eq!(verified, "Verified OK\n", "{artifact}");
    }

    // The chart: version and appVersion are the release's, the image pinned by the archive's digest.
    let chart = format!("sparkplane-{v}.tgz");
    let chart_yaml = ok(Command::new("tar").arg("-xzOf").arg(out_dir.join(&chart)).arg("sparkplane/Chart.yaml"));
    // Helm writes Chart.yaml anew when it packages: read its lines, quotes or not.
    let field = |name: &str| {
        chart_yaml
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .map(|x| x.trim_matches(['"', '\'']).to_owned())
    };
    assert_eq!((field("version"), field("appVersion")), (Some(v.clone()), Some(v.clone())), "{chart_yaml}");
    let values = ok(Command::new("tar").arg("-xzOf").arg(out_dir.join(&chart)).arg("sparkplane/values.yaml"));
    let archive = format!("oci-archive:{}", out_dir.join(format!("sparkplane-{v}-image.oci.tar")).display());
    let inspect: Value =
        serde_json::from_str(&ok(Command::new(tool("skopeo")).args(["inspect", &archive]))).expect("json");
    let digest = inspect["Digest"].as_str().expect("digest");
    assert!(
        values.contains(&format!("  digest: \"{digest}\"\n")) && values.contains(&format!("  tag: \"{v}\"\n")),
        "{values}"
    );
    assert_eq!(inspect["Labels"]["org.opencontainers.image.version"], v.as_str());

    // The crate SBOM: every package of Cargo.lock with its version; the image SBOM names the digest.
    let sbom: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join(format!("sparkplane-{v}.crates.cdx.json"))).expect("sbom"),
    )
    .expect("json");
    let listed: BTreeSet<(String, String)> = sbom["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (c["name"].as_str().unwrap_or_default().to_owned(), c["version"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(listed, locked_crates());
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["metadata"]["component"]["version"], v.as_str());
    let image_sbom = std::fs::read_to_string(out_dir.join(format!("sparkplane-{v}-image.cdx.json"))).expect("sbom");
    let image_sbom: Value = serde_json::from_str(&image_sbom).expect("json");
    assert_eq!(image_sbom["metadata"]["component"]["version"], digest);
    let packages: Vec<&str> =
        image_sbom["components"].as_array().expect("components").iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(packages.contains(&"libc6") && packages.contains(&"postgresql-client-15"), "{packages:?}");

    // One byte changed in the tarball: the check refuses it, naming the file.
    let tampered = dir.path().join("tampered");
    ok(Command::new("cp").arg("-r").arg(&out_dir).arg(&tampered));
    let tarball = tampered.join(format!("sparkplane-{v}-linux-x86_64.tar.gz"));
    let mut bytes = std::fs::read(&tarball).expect("tarball");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&tarball, bytes).expect("tampered tarball");
    let xtask = built_xtask();
    let check = Command::new(&xtask).args(["verify", "--key"]).arg(&public).arg(&out_dir).output().expect("xtask");
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    let check = Command::new(&xtask).args(["verify", "--key"]).arg(&public).arg(&tampered).output().expect("xtask");
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.starts_with(&format!("xtask: sparkplane-{v}-linux-x86_64.tar.gz: its SHA-256 is "))
            && stderr.contains(", SHA256SUMS says "),
        "{stderr}"
    );
    let c = Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&tampered).output().expect("sha256sum");
    assert_eq!(c.status.code(), Some(1));

    run_the_install_page(&out_dir, &v, &public, digest);
}

/// Every ```sh block of docs/install.md, in order, as one bash script, on a
/// copy of the release folder: `$REGISTRY` a docker-registry on 127.0.0.1
/// (insecure in a registries.conf: it speaks HTTP), the cluster the
/// simulated one, `helm` the shim handing install/upgrade to Helm's library.
fn run_the_install_page(release: &Path, v: &str, public: &Path, digest: &str) {
    let page = std::fs::read_to_string(repo().join("docs/install.md")).expect("docs/install.md");
    let mut script = String::from("set -euo pipefail\n");
    let mut inside = false;
    for line in page.lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, text) => script.push_str(&format!("{text}\n")),
            _ => {}
        }
    }
    assert!(script.lines().count() > 20, "the page's commands: {script}");
    let dir = tempfile::tempdir().expect("temp dir");
    ok(Command::new("cp").arg("-r").arg(release).arg(dir.path().join(format!("sparkplane-{v}"))));
    let port = container_support::free_port();
    let _registry = container_support::Registry::start(dir.path(), port);
    // The user's registries.conf (under $HOME, which is the test's folder) marks the registry as plain HTTP.
    let registries = dir.path().join(".config/containers/registries.conf");
    std::fs::create_dir_all(registries.parent().expect("parent")).expect("mkdir");
    std::fs::write(&registries, format!("[[registry]]\nlocation = \"127.0.0.1:{port}\"\ninsecure = true\n"))
        .expect("conf");
    let fake = sparkplane_fakekube::FakeApiServer::start().expect("the simulated cluster starts");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig("default")).expect("kubeconfig");
    let shims = dir.path().join("bin");
    std::fs::create_dir(&shims).expect("mkdir");
    let helm = shims.join("helm");
    std::fs::write(
        &helm,
        format!(
            "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
            container_support::helm_python().display(),
            repo().join("crates/sparkplane/tests/install_docs/helm_cli.py").display()
        ),
    )
    .expect("shim");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let registry = format!("127.0.0.1:{port}/platform");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("VERSION", v)
        .env("RELEASE_PUB", public)
        .env("REGISTRY", &registry)
        .env("KUBECONFIG", &kubeconfig)
        .env("PATH", format!("{}:{}", shims.display(), std::env::var("PATH").unwrap_or_default()))
        .env("CONTAINERS_CONF", containers_conf())
        .env("HOME", dir.path())
        .env("HELM_CACHE_HOME", dir.path().join("helm-cache"))
        .env("HELM_CONFIG_HOME", dir.path().join("helm-config"))
        .env("HELM_DATA_HOME", dir.path().join("helm-data"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("bash runs the page");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let reference = format!("{registry}/sparkplane@{digest}");
    assert!(stdout.lines().any(|l| l == digest), "skopeo shows the pushed digest: {stdout}");
    assert!(stdout.contains(&format!("{reference}\n")), "the chart runs the pushed image: {stdout}");
    assert!(stdout.contains(&format!("sparkplane-{v}\n")), "the chart's version label: {stdout}");
    // The tarball holds the binary it was given (the one under test, unmarked).
    assert!(stdout.contains(&format!("sparkplane {VERSION}\ncommit:")), "{stdout}");
    let operator =
        fake.object("apps/v1", "Deployment", Some("sparkplane-system"), "sparkplane-operator").expect("installed");
    assert_eq!(operator["spec"]["template"]["spec"]["containers"][0]["image"], reference.as_str());
    let _ = container_support::podman().args(["rmi", &format!("ghcr.io/sparkplane/sparkplane:{v}")]).output();
}

/// A git repository of its own holding release.sh, common.sh and a
/// Cargo.toml of `version`, committed; release.sh's path in it. Its runs
/// get a target folder of their own (`small_release_sh`), so what common.sh
/// says of the shared one (its size) is not in the output they compare.
fn small_repo(dir: &Path, version: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("scripts")).expect("mkdir");
    for script in ["release.sh", "common.sh"] {
        std::fs::copy(repo().join("scripts").join(script), dir.join("scripts").join(script)).expect("copy");
    }
    std::fs::write(dir.join("Cargo.toml"), format!("[workspace.package]\nversion = \"{version}\"\n")).expect("toml");
    let git = |args: &[&str]| {
        ok(Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid"))
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "release test"]);
    dir.join("scripts/release.sh")
}

#[test]
fn a_dirty_work_tree_is_refused_with_exit_2_unless_allow_dirty_which_marks_the_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = small_repo(&dir.path().join("repo"), VERSION);
    let key = keygen(dir.path());
    std::fs::write(
        dir.path().join("repo/Cargo.toml"),
        format!("[workspace.package]\nversion = \"{VERSION}\"\n# edited\n"),
    )
    .expect("edit");
    let head = ok(Command::new("git").args(["rev-parse", "HEAD"]).current_dir(dir.path().join("repo")));
    let short = &head.trim()[..12];
    let target = dir.path().join("target");
    let out = small_release_sh(&script, &target, &[VERSION, "--key", key.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "release.sh: the work tree has 1 uncommitted changes (first: 'Cargo.toml'): commit them, or pass \
             --allow-dirty to release a marked version ({VERSION}-dirty.g{short})\n"
        )
    );
    assert!(out.stdout.is_empty());

    // --allow-dirty goes on with the marked version (and here stops at a folder that exists: nothing is overwritten).
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).expect("mkdir");
    std::fs::write(existing.join("keep.txt"), "kept").expect("file");
    let out = small_release_sh(
        &script,
        &target,
        &[VERSION, "--key", key.to_str().expect("utf-8"), "--allow-dirty", "--out", existing.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "==> the work tree has changes: releasing {VERSION}-dirty.g{short}\nrelease.sh: {} exists; a release folder \
             is never overwritten: remove it or pass another --out\n",
            existing.display()
        )
    );
    assert_eq!(std::fs::read_to_string(existing.join("keep.txt")).expect("kept"), "kept");
}

#[test]
fn a_version_that_is_not_the_workspaces_is_exit_2_and_a_missing_podman_exit_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = small_repo(&dir.path().join("repo"), VERSION);
    let key = keygen(dir.path());
    let target = dir.path().join("target");
    let out = small_release_sh(&script, &target, &["9.9.9", "--key", key.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "release.sh: VERSION 9.9.9 is not the workspace version {VERSION}: set [workspace.package] version in \
             Cargo.toml (and commit it) first\n"
        )
    );

    let bin = tempfile::tempdir().expect("temp dir");
    for name in ["bash", "dirname", "sed"] {
        std::os::unix::fs::symlink(tool(name), bin.path().join(name)).expect("symlink");
    }
    let out = Command::new(bin.path().join("bash"))
        .arg(&script)
        .args([VERSION, "--key", key.to_str().expect("utf-8")])
        .env("PATH", bin.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "release.sh: podman is not installed: run 'source scripts/common.sh && need_containers' (Debian: apt-get \
         install podman buildah skopeo umoci runc docker-registry), then run this again.\n"
    );
}

#[test]
fn an_xtask_that_is_not_an_executable_file_is_exit_2_before_anything_is_built() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = small_repo(&dir.path().join("repo"), VERSION);
    let key = keygen(dir.path());
    let target = dir.path().join("target");
    let missing = dir.path().join("no-such-xtask");
    let out_dir = dir.path().join("release");
    let out = Command::new("bash")
        .arg(&script)
        .args([VERSION, "--key", key.to_str().expect("utf-8"), "--out", out_dir.to_str().expect("utf-8")])
        .env("CONTAINERS_CONF", containers_conf())
        .env("CARGO_TARGET_DIR", &target)
        .env("SPARKPLANE_XTASK", &missing)
        .output()
        .expect("release.sh runs");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "release.sh: SPARKPLANE_XTASK={} is not an executable file: build it first (cargo build -p xtask)\n",
            missing.display()
        )
    );
    assert!(out.stdout.is_empty());
    assert!(!out_dir.exists(), "nothing is written");
    assert!(!target.exists(), "nothing is built");
}
