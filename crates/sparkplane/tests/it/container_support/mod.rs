//! What the container tests share (slow suites: each runs the real image
//! under podman): the image `scripts/image.sh` builds from the binary under
//! test, built once per binary, commit and image recipe — cached and locked
//! under the target directory, so every test process of a run reuses one
//! build — podman with the containers.conf `need_containers` writes, and a
//! pod's container run under podman as its Kubernetes spec says: the user,
//! the read-only root, the dropped capabilities, no privilege escalation,
//! each emptyDir as a tmpfs of its size, its env, command and args.
//!
//! Owns: that cache and the spec → podman translation. Must not: start a
//! cluster or the servers a component talks to.

#![allow(dead_code)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The flags every container of the chart runs with, as podman spells
/// them: what the chart's securityContext says (uid/gid 65532, read-only
/// root — and no tmpfs podman would add on its own — all capabilities
/// dropped, no privilege escalation), on the host's network.
pub const RESTRICTED: &[&str] = &[
    "--user",
    "65532:65532",
    "--read-only",
    "--read-only-tmpfs=false",
    "--cap-drop=ALL",
    "--security-opt",
    "no-new-privileges",
    "--network",
    "host",
];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A container tool on PATH; a missing one fails the test naming its setup.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "{name} is not installed: the container tests need it; run scripts/test.sh \
             (scripts/common.sh need_containers installs podman, buildah, skopeo, umoci, runc and docker-registry)"
        )
    })
}

/// The containers.conf `need_containers` writes (runc, cgroupfs, ulimits this host allows).
pub fn containers_conf() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let conf = home.join(".cache/sparkplane/tools/containers/containers.conf");
    assert!(
        conf.is_file(),
        "{} is missing: run scripts/test.sh (scripts/common.sh need_containers writes it)",
        conf.display()
    );
    conf
}

/// podman with the project's containers.conf.
pub fn podman() -> Command {
    let mut cmd = Command::new(tool("podman"));
    cmd.env("CONTAINERS_CONF", containers_conf());
    cmd
}

/// Runs `cmd`, failing the test with its output when it does not succeed.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The image built from the binary under test.
#[derive(Clone, Debug)]
pub struct Image {
    /// The local name podman runs (`localhost/sparkplane-test:<key>`).
    pub local: String,
    /// The repository it was built as.
    pub repository: String,
    /// The manifest digest (`sha256:…`) of its OCI archive.
    pub digest: String,
    /// The OCI archive.
    pub archive: PathBuf,
    /// image.json as scripts/image.sh wrote it.
    pub meta: Value,
}

impl Image {
    /// `repository@digest`, the reference the chart is installed with.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }
}

fn sha256_file(path: &Path) -> String {
    let mut file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    format!("{:x}", hasher.finalize())
}

/// The directory cached images live in, beside the binary's profile folder.
pub fn cache_root() -> PathBuf {
    let binary = sparkplane_testkit::cli::binary();
    binary.parent().and_then(Path::parent).expect("the target directory").join("container-image")
}

/// The image of this binary, commit and recipe: built by scripts/image.sh
/// the first time any test of the run asks, then reused (under a lock).
pub fn image() -> Image {
    tool("podman");
    tool("skopeo");
    let binary = sparkplane_testkit::cli::binary();
    let head = String::from_utf8_lossy(
        &Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo()).output().expect("git").stdout,
    )
    .trim()
    .to_owned();
    let mut key = Sha256::new();
    key.update(sha256_file(&binary));
    key.update(head);
    key.update(sha256_file(&repo().join("scripts/image.sh")));
    key.update(sha256_file(&repo().join("Containerfile")));
    let key = format!("{:x}", key.finalize())[..16].to_owned();
    let root = cache_root();
    std::fs::create_dir_all(&root).expect("cache dir");
    let lock = std::fs::File::create(root.join(".lock")).expect("lock file");
    // SAFETY: flock(2) on a descriptor this function owns; released when `lock` is dropped.
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    assert_eq!(locked, 0, "lock {}", root.display());
    let dir = root.join(&key);
    let local = format!("localhost/sparkplane-test:{key}");
    let meta_path = dir.join("image.json");
    let present = podman().args(["image", "exists", &local]).status().is_ok_and(|s| s.success());
    if !(meta_path.is_file() && present) {
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(repo().join("scripts/image.sh"))
            .arg("--binary")
            .arg(&binary)
            .args(["--tag", &local, "--out"])
            .arg(&dir)
            .env("CONTAINERS_CONF", containers_conf())
            .output()
            .expect("scripts/image.sh runs");
        assert!(
            out.status.success(),
            "scripts/image.sh failed ({}): {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("built {local} in {:.1}s", started.elapsed().as_secs_f64());
        // Older builds (another binary or commit) go, so a long-lived target directory does not fill up.
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != key && !name.starts_with('.') {
                let _ = std::fs::remove_dir_all(entry.path());
                let _ = podman().args(["rmi", "--force", &format!("localhost/sparkplane-test:{name}")]).output();
            }
        }
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).expect("image.json")).expect("image.json is JSON");
    drop(lock);
    Image {
        local,
        repository: meta["repository"].as_str().expect("repository").to_owned(),
        digest: meta["digest"].as_str().expect("digest").to_owned(),
        archive: PathBuf::from(meta["archive"].as_str().expect("archive")),
        meta,
    }
}

/// A temporary directory the container's user (65532) can read.
pub fn shared_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    readable(dir.path());
    dir
}

/// Opens `path` (a directory) to every user, as a volume's files are to the pod.
pub fn readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The podman flags a container's securityContext (over its pod's) stands
/// for. Anything the translation does not know fails the test, so a chart
/// change cannot slip past the container tests.
pub fn security_flags(pod: &Value, container: &Value) -> Vec<String> {
    let pod_sc = &pod["securityContext"];
    let sc = &container["securityContext"];
    let field = |name: &str| if sc[name].is_null() { pod_sc[name].clone() } else { sc[name].clone() };
    let user = field("runAsUser").as_i64().expect("runAsUser is set");
    let group = field("runAsGroup").as_i64().expect("runAsGroup is set");
    assert!(user != 0 && field("runAsNonRoot") == Value::Bool(true), "runs as non-root: {sc}");
    assert_ne!(sc["privileged"], Value::Bool(true), "privileged: {sc}");
    assert!(sc["capabilities"]["add"].is_null(), "capabilities added: {sc}");
    let mut flags = vec!["--user".to_owned(), format!("{user}:{group}")];
    if sc["readOnlyRootFilesystem"] == Value::Bool(true) {
        flags.extend(["--read-only".to_owned(), "--read-only-tmpfs=false".to_owned()]);
    }
    if sc["capabilities"]["drop"] == serde_json::json!(["ALL"]) {
        flags.push("--cap-drop=ALL".to_owned());
    }
    if sc["allowPrivilegeEscalation"] == Value::Bool(false) {
        flags.extend(["--security-opt".to_owned(), "no-new-privileges".to_owned()]);
    }
    let seccomp = field("seccompProfile");
    assert!(seccomp.is_null() || seccomp["type"] == "RuntimeDefault", "seccomp {seccomp}");
    flags.extend(["--network".to_owned(), "host".to_owned()]);
    flags
}

/// `--tmpfs` flags for the container's emptyDir mounts, each the size of its
/// sizeLimit (`64Mi` → `64m`), writable by the pod's user as an emptyDir is.
pub fn empty_dir_flags(pod: &Value, container: &Value) -> Vec<String> {
    let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
    let mut flags = Vec::new();
    for mount in container["volumeMounts"].as_array().cloned().unwrap_or_default() {
        let Some(volume) = volumes.iter().find(|v| v["name"] == mount["name"]) else { continue };
        if volume["emptyDir"].is_null() {
            continue;
        }
        let size = volume["emptyDir"]["sizeLimit"].as_str().map(|s| s.trim_end_matches("i").to_lowercase());
        let mut options = format!("{}:rw,mode=1777", mount["mountPath"].as_str().expect("mountPath"));
        if let Some(size) = size {
            options.push_str(&format!(",size={size}"));
        }
        flags.extend(["--tmpfs".to_owned(), options]);
    }
    flags
}

/// A container started with `podman run -d`; removed when dropped.
pub struct Container {
    pub name: String,
}

impl Container {
    /// Starts `image` with `flags` (before the image) and `args` (after it).
    pub fn start(image: &Image, flags: &[String], args: &[String]) -> Container {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("sparkplane-test-{}-{n}", std::process::id());
        ok(podman().args(["run", "-d", "--name", &name]).args(flags).arg(&image.local).args(args));
        Container { name }
    }

    /// What it wrote so far (stdout and stderr).
    pub fn logs(&self) -> String {
        let out = podman().args(["logs", &self.name]).output().expect("podman logs");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// Whether it still runs.
    pub fn running(&self) -> bool {
        let out = podman().args(["inspect", "--format", "{{.State.Running}}", &self.name]).output().expect("inspect");
        String::from_utf8_lossy(&out.stdout).trim() == "true"
    }

    /// SIGTERM, as the kubelet stops a pod (SIGKILL after `grace`); its exit code.
    pub fn stop(&self, grace: Duration) -> i64 {
        ok(podman().args(["stop", "--time", &grace.as_secs().to_string(), &self.name]));
        self.exit_code()
    }

    /// Its exit code once ended.
    pub fn exit_code(&self) -> i64 {
        let out = ok(podman().args(["inspect", "--format", "{{.State.ExitCode}}", &self.name]));
        out.trim().parse().expect("an exit code")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ =
            podman().args(["rm", "-f", "--time", "0", &self.name]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// `podman run --rm` to the end: its output.
pub fn run(image: &Image, flags: &[String], args: &[String]) -> Output {
    podman().args(["run", "--rm"]).args(flags).arg(&image.local).args(args).output().expect("podman run")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// GET `url` until it answers 200 within `within`; its body.
pub fn wait_for_200(url: &str, within: Duration, container: &Container) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(mut response) = ureq::get(url).call()
            && response.status() == 200
        {
            return response.body_mut().read_to_string().unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline && container.running(),
            "{url} never answered 200 within {within:?}; the container's log:\n{}",
            container.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The Python of the helm venv `need_helm` installs (Helm v4's own library).
pub fn helm_python() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let python = home.join(".cache/sparkplane/tools/helm/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the chart tests need Helm's library; run scripts/test.sh (need_helm installs it)",
        python.display()
    );
    python
}

/// `helm install` of `chart` (a folder or a packaged .tgz) as release
/// `sparkplane` into `namespace` of the cluster `kubeconfig` names, with
/// `values`, through Helm's own library: the objects it installed.
pub fn helm_install(kubeconfig: &Path, namespace: &str, chart: &Path, values: &Value, home: &Path) -> Vec<Value> {
    let out = Command::new(helm_python())
        .arg(repo().join("crates/sparkplane/tests/chart/helm_driver.py"))
        .arg("install")
        .arg(kubeconfig)
        .args([namespace, "sparkplane"])
        .arg(chart)
        .arg(values.to_string())
        .env("HOME", home)
        .env("HELM_CACHE_HOME", home.join("helm-cache"))
        .env("HELM_CONFIG_HOME", home.join("helm-config"))
        .env("HELM_DATA_HOME", home.join("helm-data"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("the Helm driver runs");
    assert!(out.status.success(), "helm install: {}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).expect("the driver prints JSON");
    assert!(answer.get("error").is_none(), "Helm failed: {}", answer["error"]);
    assert_eq!(answer["info"]["status"], "deployed", "{}", answer["info"]);
    let manifest = answer["manifest"].as_str().expect("a manifest");
    sparkplane_documents::yaml::parse_documents(&sparkplane_documents::source::Source::new(
        "manifest",
        manifest.to_owned(),
    ))
    .expect("the manifest parses")
    .iter()
    .map(|d| d.to_json())
    .filter(|o| o.is_object())
    .collect()
}

/// The pod template of the Deployment `name` among `objects`, and its container `container`.
pub fn deployment_pod(objects: &[Value], name: &str, container: &str) -> (Value, Value) {
    let deployment = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("the chart installs Deployment {name}"));
    let pod = deployment["spec"]["template"]["spec"].clone();
    let c = pod["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .unwrap_or_else(|| panic!("{name} has container {container}"))
        .clone();
    (pod, c)
}

/// The container's args with every `0.0.0.0:<port>` listen address moved
/// to 127.0.0.1 on `port` (the host's network is shared by parallel tests).
pub fn args_on_port(container: &Value, port: u16) -> Vec<String> {
    container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .map(|a| match a.split_once("0.0.0.0:") {
            Some((flag, _)) => format!("{flag}127.0.0.1:{port}"),
            None => a.to_owned(),
        })
        .collect()
}

/// docker-registry serving `dir` on 127.0.0.1:`port`; stopped when dropped.
pub struct Registry(std::process::Child);

impl Registry {
    pub fn start(dir: &Path, port: u16) -> Registry {
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: false}}\n\
                 http:\n  addr: 127.0.0.1:{port}\n",
                dir.join("data").display()
            ),
        )
        .expect("registry config");
        let child = Command::new(tool("docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let registry = Registry(child);
        let started = Instant::now();
        while ureq::get(&format!("http://127.0.0.1:{port}/v2/")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the registry never answered /v2/");
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
