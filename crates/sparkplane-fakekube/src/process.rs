//! Containers run for real: a pod whose every container's image the
//! [`Cluster`] maps to a local program ([`Cluster::programs`]) is run as
//! local processes, one per container, as a kubelet would run them — the
//! program is the image's entrypoint, followed by the container's `command`
//! (its first word dropped: that is the entrypoint) or else its `args`; the
//! environment is the image's declared one ([`Cluster::image_env`]) under the
//! container's `env` (plain values, and `secretKeyRef`/`configMapKeyRef` read
//! from the stored Secrets and ConfigMaps, as the kubelet resolves them),
//! nothing of the test's own; ConfigMap and Secret volumes are
//! written as files into a directory of the pod's own, which stands for the
//! container's file system at the mount paths, and `workingDir` is taken
//! there. Standard output and error are the pod's log, the exit code the
//! container's termination.
//!
//! Owns: starting, polling, and killing those processes and their
//! directories. Must not: move the pod along (the simulation loop, `simulation.rs`,
//! writes every status from what [`Running::finished`] reports).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::store::Store;

type PodKey = (String, String);

/// One container's process.
#[derive(Debug)]
struct ContainerRun {
    name: String,
    child: Option<Child>,
    exit: Option<i32>,
    log: PathBuf,
}

/// One pod's processes and its directory.
#[derive(Debug)]
struct PodRun {
    uid: String,
    dir: PathBuf,
    containers: Vec<ContainerRun>,
}

/// A pod whose processes all ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// Namespace and name.
    pub key: PodKey,
    /// The pod's uid (a pod of the same name created since is another pod).
    pub uid: String,
    /// Each container's name and exit code (128 + the signal's number when a signal ended it), in the pod's order.
    pub exits: Vec<(String, i32)>,
    /// What the processes wrote, container after container.
    pub log: String,
}

/// The number in the next pod directory's name.
static NEXT_DIR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The processes running now, by pod.
#[derive(Debug, Default)]
pub struct Running {
    pods: BTreeMap<PodKey, PodRun>,
}

/// Whether `pod` runs as local processes in `cluster`: it has containers
/// and every one's image is mapped.
pub fn runs_locally(pod: &Value, cluster: &Cluster) -> bool {
    let containers = pod["spec"]["containers"].as_array().map(Vec::as_slice).unwrap_or_default();
    !containers.is_empty()
        && containers.iter().all(|c| c["image"].as_str().is_some_and(|image| cluster.program_for(image).is_some()))
}

/// `path` (absolute, as in a container) inside `root`, without leaving it.
fn inside(root: &Path, path: &str) -> PathBuf {
    let mut out = root.to_path_buf();
    for part in Path::new(path).components() {
        if let Component::Normal(part) = part {
            out.push(part);
        }
    }
    out
}

fn decode(secret_value: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(secret_value).ok()?;
    String::from_utf8(bytes).ok()
}

/// The files of a pod volume: a ConfigMap's `data`, a Secret's decoded `data`.
fn volume_files(store: &Store, namespace: &str, volume: &Value) -> Result<BTreeMap<String, String>, String> {
    let (plural, name, secret) = if let Some(name) = volume["configMap"]["name"].as_str() {
        ("configmaps", name, false)
    } else if let Some(name) = volume["secret"]["secretName"].as_str() {
        ("secrets", name, true)
    } else {
        return Ok(BTreeMap::new());
    };
    let object = store
        .stored("v1", plural, Some(namespace), name)
        .ok_or_else(|| format!("{} \"{name}\" not found", if secret { "secret" } else { "configmap" }))?;
    let data = object["data"].as_object().cloned().unwrap_or_default();
    let mut files = BTreeMap::new();
    for (key, value) in data {
        let text = value.as_str().unwrap_or_default();
        let text = if secret { decode(text).unwrap_or_default() } else { text.to_owned() };
        files.insert(key, text);
    }
    Ok(files)
}

/// A container's environment, references read from the store.
fn environment(store: &Store, namespace: &str, container: &Value) -> Result<Vec<(String, String)>, String> {
    let mut env = Vec::new();
    for var in container["env"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = var["name"].as_str().unwrap_or_default().to_owned();
        if let Some(value) = var["value"].as_str() {
            env.push((name, value.to_owned()));
            continue;
        }
        let from = &var["valueFrom"];
        let (plural, selector, secret) = if from["secretKeyRef"].is_object() {
            ("secrets", &from["secretKeyRef"], true)
        } else if from["configMapKeyRef"].is_object() {
            ("configmaps", &from["configMapKeyRef"], false)
        } else {
            continue;
        };
        let object_name = selector["name"].as_str().unwrap_or_default();
        let key = selector["key"].as_str().unwrap_or_default();
        let optional = selector["optional"] == true;
        let value = store
            .stored("v1", plural, Some(namespace), object_name)
            .and_then(|o| o["data"][key].as_str())
            .map(|v| if secret { decode(v).unwrap_or_default() } else { v.to_owned() });
        match value {
            Some(value) => env.push((name, value)),
            None if optional => {}
            None => {
                let kind = if secret { "secret" } else { "configmap" };
                return Err(format!("couldn't find key {key} in {kind} {namespace}/{object_name}"));
            }
        }
    }
    Ok(env)
}

impl Running {
    /// Starts the containers of `pod` (which [`runs_locally`]). An error is
    /// what the kubelet reports as `CreateContainerConfigError` (a missing
    /// ConfigMap, Secret or key); nothing runs then.
    pub fn start(&mut self, store: &Store, pod: &Value, cluster: &Cluster) -> Result<(), String> {
        let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
        let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
        self.kill(&(namespace.clone(), name.clone()));
        // Everything is checked before anything is written or started.
        let volumes: BTreeMap<String, BTreeMap<String, String>> = pod["spec"]["volumes"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|v| Ok((v["name"].as_str().unwrap_or_default().to_owned(), volume_files(store, &namespace, v)?)))
            .collect::<Result<_, String>>()?;
        let containers = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
        let envs: Vec<Vec<(String, String)>> =
            containers.iter().map(|c| environment(store, &namespace, c)).collect::<Result<_, String>>()?;

        // Unique in the process: two fakes (tests run in parallel) may run pods of the same name.
        let seq = NEXT_DIR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("fakekube-{}-{seq}-{name}", std::process::id()));
        let io = |e: std::io::Error| format!("{}: {e}", dir.display());
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut run = PodRun { uid, dir: dir.clone(), containers: Vec::new() };
        for (container, env) in containers.iter().zip(envs) {
            let container_name = container["name"].as_str().unwrap_or_default().to_owned();
            let root = dir.join(&container_name);
            for mount in container["volumeMounts"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let files = mount["name"].as_str().and_then(|n| volumes.get(n));
                let at = inside(&root, mount["mountPath"].as_str().unwrap_or("/"));
                std::fs::create_dir_all(&at).map_err(io)?;
                for (file, text) in files.into_iter().flatten() {
                    std::fs::write(at.join(file), text).map_err(io)?;
                }
            }
            let working = inside(&root, container["workingDir"].as_str().unwrap_or("/"));
            std::fs::create_dir_all(&working).map_err(io)?;
            let image = container["image"].as_str().unwrap_or_default();
            let program = cluster.program_for(image).ok_or_else(|| format!("no program for image {image}"))?;
            let words = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            };
            let command = words(&container["command"]);
            let mut argv: Vec<String> = command.into_iter().skip(1).collect();
            argv.extend(words(&container["args"]));
            let log = dir.join(format!("{container_name}.log"));
            let out = File::create(&log).map_err(io)?;
            let err = out.try_clone().map_err(io)?;
            let child = Command::new(program)
                .args(&argv)
                .current_dir(&working)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", &root)
                .envs(cluster.env_for(image).iter().cloned())
                .envs(env)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn();
            match child {
                Ok(child) => {
                    run.containers.push(ContainerRun { name: container_name, child: Some(child), exit: None, log })
                }
                // A program that cannot start is a container that failed at once, as a bad entrypoint does.
                Err(e) => {
                    let _ = std::fs::write(&log, format!("exec {}: {e}\n", program.display()));
                    run.containers.push(ContainerRun { name: container_name, child: None, exit: Some(128), log });
                }
            }
        }
        self.pods.insert((namespace, name), run);
        Ok(())
    }

    /// Whether any process still runs.
    pub fn busy(&self) -> bool {
        !self.pods.is_empty()
    }

    /// The pods all of whose processes have ended since the last call; their directories are removed.
    pub fn finished(&mut self) -> Vec<Ended> {
        let mut done = Vec::new();
        for (key, run) in &mut self.pods {
            for container in &mut run.containers {
                if let Some(child) = container.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    // Killed by a signal: 128 + its number, as container runtimes report it.
                    container.exit = Some(status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(9)));
                    container.child = None;
                }
            }
            if run.containers.iter().all(|c| c.exit.is_some()) {
                done.push(key.clone());
            }
        }
        done.into_iter()
            .filter_map(|key| {
                let run = self.pods.remove(&key)?;
                let log: String =
                    run.containers.iter().map(|c| std::fs::read_to_string(&c.log).unwrap_or_default()).collect();
                let exits = run.containers.iter().map(|c| (c.name.clone(), c.exit.unwrap_or(-1))).collect();
                let _ = std::fs::remove_dir_all(&run.dir);
                Some(Ended { key, uid: run.uid, exits, log })
            })
            .collect()
    }

    /// Sends the stop signal (SIGTERM, through `kill`, as the container
    /// runtime does) to every process of the pod `key` still running; false
    /// when the pod runs none. Their exit is reported by [`Running::finished`].
    pub fn stop(&mut self, key: &PodKey) -> bool {
        let Some(run) = self.pods.get(key) else {
            return false;
        };
        for child in run.containers.iter().filter_map(|c| c.child.as_ref()) {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        true
    }

    /// Kills (SIGKILL) every process of the pod `key` still running, as the
    /// kubelet does when the grace period ran out; their end is reported by
    /// [`Running::finished`] (exit 137).
    pub fn kill_running(&mut self, key: &PodKey) {
        if let Some(run) = self.pods.get_mut(key) {
            for child in run.containers.iter_mut().filter_map(|c| c.child.as_mut()) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Whether the pod `key` runs local processes.
    pub fn runs(&self, key: &PodKey) -> bool {
        self.pods.contains_key(key)
    }

    /// Kills the processes of the pod `key` (deleted or replaced) and removes its directory.
    pub fn kill(&mut self, key: &PodKey) {
        if let Some(mut run) = self.pods.remove(key) {
            for container in &mut run.containers {
                if let Some(child) = container.child.as_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
            let _ = std::fs::remove_dir_all(&run.dir);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let keys: Vec<PodKey> = self.pods.keys().cloned().collect();
        for key in keys {
            self.kill(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ImageProgram;
    use crate::store::WriteOptions;
    use serde_json::json;

    fn cluster() -> Cluster {
        Cluster { programs: vec![ImageProgram { image: "sh".into(), program: "/bin/sh".into() }], ..Cluster::default() }
    }

    fn create(store: &mut Store, object: Value) {
        let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let path = crate::resources::ResourcePath {
            group: group.into(),
            version: version.into(),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
            plural: store.plural_of(&api_version, &kind),
            name: None,
            subresource: None,
        };
        store.create(&path, object, &WriteOptions::default());
    }

    fn wait(running: &mut Running) -> Ended {
        let started = std::time::Instant::now();
        loop {
            if let Some(ended) = running.finished().pop() {
                return ended;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(20), "the process did not end");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn a_container_runs_with_its_env_over_its_images_volumes_and_working_dir_and_ends_with_its_exit_code() {
        let mut store = Store::default();
        create(
            &mut store,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "specs", "namespace": "d"},
                   "data": {"gate.txt": "from the configmap\n"}}),
        );
        create(
            &mut store,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "d"},
                   "data": {"key": base64::engine::general_purpose::STANDARD.encode("s3cr3t")}}),
        );
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d", "uid": "u1"},
            "spec": {
                "volumes": [{"name": "specs", "configMap": {"name": "specs"}}],
                "containers": [{
                    "name": "c", "image": "sh:5",
                    "command": ["/bin/sh", "-c"],
                    "args": ["cat gate.txt; echo \"$PLAIN $FROM_SECRET $DECLARED\"; echo oops >&2; exit 3"],
                    "workingDir": "/etc/specs",
                    "volumeMounts": [{"name": "specs", "mountPath": "/etc/specs"}],
                    "env": [{"name": "PLAIN", "value": "plain"},
                            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "key"}}}],
                }],
            },
        });
        // The image declares two variables; the container's own `PLAIN` wins over the image's.
        let env = vec![("PLAIN".to_owned(), "image's".to_owned()), ("DECLARED".to_owned(), "by the image".to_owned())];
        let cluster = Cluster { image_env: vec![("sh".to_owned(), env)], ..cluster() };
        assert!(runs_locally(&pod, &cluster));
        let mut running = Running::default();
        running.start(&store, &pod, &cluster).expect("starts");
        assert!(running.busy());
        let ended = wait(&mut running);
        assert_eq!(ended.key, ("d".to_owned(), "p".to_owned()));
        assert_eq!(ended.exits, [("c".to_owned(), 3)]);
        assert_eq!(ended.log, "from the configmap\nplain s3cr3t by the image\noops\n");
        assert!(!running.busy());
    }

    #[test]
    fn a_missing_secret_key_is_a_config_error_and_unmapped_images_do_not_run() {
        let store = Store::default();
        let pod = json!({
            "metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [{"name": "c", "image": "sh",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "key"}}}]}]},
        });
        let mut running = Running::default();
        assert_eq!(running.start(&store, &pod, &cluster()), Err("couldn't find key key in secret d/creds".to_owned()));
        assert!(!running.busy());
        let mixed = json!({"spec": {"containers": [{"name": "a", "image": "sh"}, {"name": "b", "image": "busybox"}]}});
        assert!(!runs_locally(&mixed, &cluster()));
        assert!(!runs_locally(&json!({"spec": {}}), &cluster()));
    }

    #[test]
    fn a_killed_pod_leaves_no_process_or_directory() {
        let store = Store::default();
        let pod = json!({"metadata": {"name": "p", "namespace": "d", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "sh", "args": ["-c", "sleep 30"]}]}});
        let mut running = Running::default();
        running.start(&store, &pod, &cluster()).expect("starts");
        let dir = running.pods.values().next().map(|r| r.dir.clone()).expect("a pod run");
        assert!(dir.is_dir());
        running.kill(&("d".into(), "p".into()));
        assert!(!running.busy() && !dir.exists());
        assert!(running.finished().is_empty());
    }
}
