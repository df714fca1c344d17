//! Conformance of the native route with the real spark-submit.
//!
//! For every job of a matrix and for the oldest and the newest Spark line
//! (3.5 and 4.3; the lines between in an ignored test `scripts/compat.sh` runs), the
//! real spark-submit of the managed runtime is run in cluster mode with the
//! `job` route's own arguments (read from the rendered Job's submitter
//! container, its pod-template files and its `SPARK_CONF_DIR` (the log
//! layout, render::logging) from the rendered ConfigMap written to temporary
//! directories) against the fake API server. Each
//! object it sends — the driver Pod by POST, the Service and ConfigMaps by
//! server-side apply — is compared field by field with sparkplane's native
//! render of the same job with the driver's owner reference added
//! (`render::native::with_owner`). Only random values are normalised; every
//! remaining difference must be on `render::native::DELIBERATE_DIFFERENCES`.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::common::{IN_CLUSTER_MASTER, Names};
use sparkplane_core::render::job::{SUBMITTER_CONTAINER, TEMPLATE_DIR};
use sparkplane_core::render::native;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target, common};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob, SetFlag};
use sparkplane_core::sizing::{SizedJob, size_job};
use sparkplane_core::spark_lines;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_fakekube::{FakeApiServer, RecordedRequest};
use sparkplane_local::runtime;

/// The Spark lines CI compares (the oldest and the newest), with the release each one's runtime pins.
fn lines() -> Vec<(&'static str, &'static str)> {
    let (oldest, newest) = spark_lines::line_range();
    pinned([oldest.line, newest.line])
}

/// The lines between the oldest and the newest (`scripts/compat.sh` runs them).
fn middle_lines() -> Vec<(&'static str, &'static str)> {
    pinned(spark_lines::LINES[1..spark_lines::LINES.len() - 1].iter().map(|l| l.line))
}

fn pinned(lines: impl IntoIterator<Item = &'static str>) -> Vec<(&'static str, &'static str)> {
    lines
        .into_iter()
        .map(|line| (line, runtime::pinned_version(line).unwrap_or_else(|| panic!("Spark {line} is pinned"))))
        .collect()
}

/// One job of the matrix; `{version}` is replaced by the runtime's Spark version.
struct Case {
    name: &'static str,
    /// The oldest line the job runs on (its settings are that line's), or `None` for every line.
    since: Option<&'static str>,
    job: &'static str,
}

impl Case {
    /// Whether the case runs on `line`.
    fn runs_on(&self, line: &str) -> bool {
        self.since.is_none_or(|since| spark_lines::version_key(line) >= spark_lines::version_key(since))
    }
}

const CASES: &[Case] = &[
    Case {
        // The README's example job as the repository has it (its preset and environment from the
        // built-in catalog), on each line.
        since: None,
        name: "readme-example-trips-etl",
        job: "@examples/trips-etl/trips-etl.yaml",
    },
    Case {
        since: None,
        name: "python-minimal",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: py-min, namespace: data}
spec:
  type: Python
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/py, tag: "1.0"}
  mainApplicationFile: local:///opt/app/main.py
  arguments: ["--day", "2026-11-20", "a b"]
"#,
    },
    Case {
        since: None,
        name: "scala-resources-and-conf",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: jvm-etl, namespace: data, labels: {owner: data-eng}}
spec:
  type: Scala
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/jvm, tag: "2.1", pullPolicy: Always, pullSecrets: [regcred, other-cred]}
  mainClass: com.example.Etl
  mainApplicationFile: local:///opt/app/etl.jar
  arguments: ["s3a://in", "s3a://out"]
  sparkConf: {spark.sql.shuffle.partitions: "64", spark.serializer: org.apache.spark.serializer.KryoSerializer}
  hadoopConf: {fs.s3a.endpoint: "http://minio:9000"}
  deps: {jars: ["local:///opt/app/lib/dep.jar"], files: ["local:///opt/app/conf/app.conf"]}
  serviceAccount: spark-runner
  driver: {cores: 2, coreLimit: "2500m", memory: 3g, memoryOverhead: 1g, labels: {tier: driver}, annotations: {example.com/note: "driver pod"}}
  executor: {cores: 3, memory: 6g, memoryOverheadFactor: 0.2, instances: 4, labels: {tier: executor}, annotations: {example.com/note: executors}}
  eventLog: {dir: "s3a://spark-events/data", rolling: true}
"#,
    },
    Case {
        since: None,
        name: "scheduling-secrets-and-volumes",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: py-sched, namespace: team-a}
spec:
  type: Python
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/py, tag: "1.0"}
  mainApplicationFile: local:///opt/app/main.py
  env:
    - {name: MODE, value: batch}
    - {name: DB_PASSWORD, secretKeyRef: {name: db, key: password}}
    - {name: FEATURE, configMapKeyRef: {name: flags, key: feature, optional: true}}
  volumes:
    - {name: scratch, emptyDir: {sizeLimit: 10Gi}}
    - {name: creds, secret: {secretName: gcs-key}}
    - {name: data, persistentVolumeClaim: {claimName: shared-data}}
  nodeSelector: {pool: spark}
  tolerations: [{key: dedicated, operator: Equal, value: spark, effect: NoSchedule}]
  priorityClassName: batch-low
  driver:
    memory: 2g
    nodeSelector: {zone: a}
    volumeMounts: [{name: creds, mountPath: /var/secrets/gcs, readOnly: true}]
    env: [{name: ROLE, value: driver}]
  executor:
    memory: 4g
    instances: 2
    tolerations: [{key: spot, operator: Exists, effect: NoSchedule}]
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: data, mountPath: /data}, {name: creds, mountPath: /var/secrets/gcs, readOnly: true}]
  timeouts: {maxDuration: 3h, executorStart: 5m}
"#,
    },
    Case {
        since: None,
        name: "pod-templates-dynamic-allocation-gpu",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: py-gpu, namespace: ml}
spec:
  type: Python
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/gpu, tag: "3"}
  mainApplicationFile: local:///opt/app/train.py
  deps: {pyFiles: ["local:///opt/app/lib.zip"]}
  dynamicAllocation: {enabled: true, minExecutors: 1, maxExecutors: 8, initialExecutors: 2}
  driver:
    cores: 1
    memory: 2g
    podTemplate:
      metadata: {labels: {from-template: "yes"}, annotations: {template/note: driver}}
      spec:
        hostname: driver-host
        containers:
          - name: spark-kubernetes-driver
            workingDir: /opt/app
          - name: sidecar
            image: registry.example.com/tools/proxy:1
  executor:
    cores: 4
    memory: 12g
    pysparkMemory: 2g
    offHeapMemory: 1g
    gpu: {name: nvidia.com/gpu, amount: 1}
    podTemplate:
      metadata: {labels: {from-template: "yes"}}
      spec:
        terminationGracePeriodSeconds: 30
        containers: [{name: spark-kubernetes-executor}]
"#,
    },
    Case {
        since: None,
        name: "java-template-pull-secrets-driver-gpu",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: java-gpu, namespace: ml}
spec:
  type: Java
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/java, tag: "5", pullSecrets: [regcred]}
  mainClass: com.example.Train
  mainApplicationFile: local:///opt/app/train.jar
  dynamicAllocation: {enabled: true, minExecutors: 0, maxExecutors: 4, shuffleTracking: true}
  driver:
    cores: 2
    memory: 1536m
    gpu: {name: nvidia.com/gpu, amount: 1}
    podTemplate:
      spec:
        imagePullSecrets: [{name: template-cred}]
        containers: [{name: spark-kubernetes-driver}]
  executor: {cores: 2, memory: 3g, memoryOverhead: 512m, instances: 1}
"#,
    },
    Case {
        // What Spark 4.2 added on Kubernetes, in the job's own settings: executors through a
        // Deployment, recovery-mode executors, the executors' deletion cost, executor and PVC
        // resizing. Every submission of 4.2 and later also applies the executors' NetworkPolicy.
        since: Some("4.2"),
        name: "spark-4-2-kubernetes-features",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: k8s-42, namespace: data}
spec:
  type: Python
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/py, tag: "4.2"}
  mainApplicationFile: local:///opt/app/main.py
  sparkConf:
    spark.kubernetes.allocation.pods.allocator: deployment
    spark.kubernetes.allocation.recoveryMode.enabled: "true"
    spark.kubernetes.executor.podDeletionCost: "5"
    spark.kubernetes.executor.resizeFactor: "0.2"
    spark.kubernetes.executor.resizeInterval: 60s
    spark.kubernetes.executor.resizeThreshold: "0.8"
    spark.kubernetes.executor.pvc.resizeFactor: "0.5"
    spark.kubernetes.executor.pvc.resizeInterval: 10min
    spark.kubernetes.executor.pvc.resizeThreshold: "0.9"
  executor: {instances: 3, memory: 2g}
"#,
    },
    Case {
        // What Spark 4.3 added: the driver Service publishing not-ready addresses, and the
        // containers' privilege escalation set by Spark rather than by the pod templates alone.
        since: Some("4.3"),
        name: "spark-4-3-kubernetes-settings",
        job: r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: k8s-43, namespace: data}
spec:
  type: Python
  sparkVersion: "{version}"
  image: {repository: registry.example.com/spark/py, tag: "4.3"}
  mainApplicationFile: local:///opt/app/main.py
  sparkConf:
    spark.kubernetes.driver.service.publishNotReadyAddresses: "true"
    spark.kubernetes.driver.securityContext.allowPrivilegeEscalation: "false"
    spark.kubernetes.executor.securityContext.allowPrivilegeEscalation: "false"
"#,
    },
];

/// A case's job on Spark `version`: its text with the version put in, or the repository's file it
/// names (`@path`) with `spec.sparkVersion` set, resolved with the built-in presets and environments.
fn case_job(case: &Case, version: &str) -> (ResolvedJob, SizedJob) {
    let Some(file) = case.job.strip_prefix('@') else { return job(&case.job.replace("{version}", version)) };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let node = parse_single(&Source::new(file, text.as_str())).unwrap_or_else(|d| panic!("{file} parses: {d}"));
    let catalog = Catalog::builtin().unwrap_or_else(|d| panic!("the built-in catalog: {d}"));
    let sets = [SetFlag::parse(&format!("spec.sparkVersion=\"{version}\"")).unwrap_or_else(|d| panic!("{d}"))];
    let resolved = load(ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &sets,
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("{file} resolves on Spark {version}:\n{d}"));
    let sized = size_job(&resolved.job.spec);
    (resolved, sized)
}

/// A resolved, sized job.
fn job(text: &str) -> (ResolvedJob, SizedJob) {
    let node = parse_single(&Source::new("job.yaml", text)).unwrap_or_else(|d| panic!("fixture parses: {d}"));
    let catalog = Catalog::empty();
    let resolved = load(ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("fixture resolves:\n{d}"));
    let sized = size_job(&resolved.job.spec);
    (resolved, sized)
}

/// The managed runtime of a line, or a failure that says how to install it.
fn spark_submit(line: &str, version: &str) -> runtime::Located {
    let home = runtime::default_home().unwrap_or_else(|e| panic!("{e}"));
    runtime::locate(&home, version, None).unwrap_or_else(|e| {
        panic!(
            "the conformance tests need the managed Spark {line} runtime: {e}\n\
             install it with `sparkplane runtime install {line}` (scripts/test.sh does)"
        )
    })
}

/// What one spark-submit run sent.
struct Submission {
    requests: Vec<RecordedRequest>,
    /// The objects sent, by (kind, name), as sent.
    objects: Vec<Value>,
    /// The uid the fake gave the driver pod.
    pod_uid: String,
    tmp: tempfile::TempDir,
}

/// What the `job` route's submitter pod runs: spark-submit's arguments, the
/// files of its template volume and of its `SPARK_CONF_DIR` volume (path
/// relative to the mount, content), read from the rendered Job and ConfigMap
/// themselves.
struct JobRoute {
    args: Vec<String>,
    mount_path: String,
    files: Vec<(String, String)>,
    conf_files: Vec<(String, String)>,
}

/// The files of the ConfigMap volume mounted at `path` in the submitter.
fn mounted_files(objects: &[RenderedObject], pod: &Value, container: &Value, path: &str) -> Vec<(String, String)> {
    let mount = container["volumeMounts"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["mountPath"] == path))
        .unwrap_or_else(|| panic!("a volume is mounted at {path}: {container:#}"));
    let volume = pod["volumes"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["name"] == mount["name"]))
        .unwrap_or_else(|| panic!("the volume at {path}: {pod:#}"));
    let config_map = objects
        .iter()
        .find(|o| o.kind == "ConfigMap" && volume["configMap"]["name"] == o.name.as_str())
        .unwrap_or_else(|| panic!("the ConfigMap at {path}: {volume:#}"));
    volume["configMap"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let key = item["key"].as_str().unwrap_or_default();
            let text = config_map.body["data"][key].as_str().unwrap_or_else(|| panic!("ConfigMap key {key}"));
            (item["path"].as_str().unwrap_or_default().to_owned(), text.to_owned())
        })
        .collect()
}

fn job_route(input: &RenderInput<'_>) -> JobRoute {
    let objects = render::render(input, Target::Job);
    let job = objects.iter().find(|o| o.kind == "Job").unwrap_or_else(|| panic!("the job route renders a Job"));
    let pod = &job.body["spec"]["template"]["spec"];
    let container = pod["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == SUBMITTER_CONTAINER))
        .unwrap_or_else(|| panic!("the Job runs {SUBMITTER_CONTAINER}: {pod:#}"));
    let args: Vec<String> =
        serde_json::from_value(container["args"].clone()).unwrap_or_else(|e| panic!("the submitter's args: {e}"));
    let conf_dir = container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "SPARK_CONF_DIR"))
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("the submitter sets SPARK_CONF_DIR: {container:#}"));
    JobRoute {
        args,
        mount_path: TEMPLATE_DIR.to_owned(),
        files: mounted_files(&objects, pod, container, TEMPLATE_DIR),
        conf_files: mounted_files(&objects, pod, container, conf_dir),
    }
}

/// Runs the real spark-submit with the job route's arguments against a fresh fake.
fn submit(line: &str, version: &str, input: &RenderInput<'_>) -> Submission {
    let located = spark_submit(line, version);
    let server = FakeApiServer::start().unwrap_or_else(|e| panic!("fake API server: {e}"));
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let templates = tmp.path().to_string_lossy().into_owned();
    let route = job_route(input);
    for (file, text) in &route.files {
        std::fs::write(tmp.path().join(file), text).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }
    // The submitter's conf directory (the log layout): spark-submit copies its files into the driver's ConfigMap.
    let conf_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    for (file, text) in &route.conf_files {
        std::fs::write(conf_dir.path().join(file), text).unwrap_or_else(|e| panic!("write {file}: {e}"));
    }
    let master = format!("k8s://{}", server.url());
    let mut args: Vec<String> = route
        .args
        .into_iter()
        .map(|a| a.replace(IN_CLUSTER_MASTER, &master).replace(&route.mount_path, &templates))
        .collect();
    // Return once the driver is created instead of watching it (the harness's only addition).
    let at = args.len() - input.job.job.spec.arguments.len() - 1;
    args.insert(at, "--conf".into());
    args.insert(at + 1, "spark.kubernetes.submission.waitAppCompletion=false".into());
    let started = Instant::now();
    let output = Command::new(&located.spark_submit)
        .args(&args)
        .env("SPARK_HOME", &located.spark_home)
        // The submitter pod runs as Spark's `spark` user.
        .env("SPARK_USER", "spark")
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("SPARK_CONF_DIR", conf_dir.path())
        .env_remove("HADOOP_CONF_DIR")
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", located.spark_submit.display()));
    let requests = server.requests();
    assert!(
        output.status.success(),
        "spark-submit {version} failed ({}) after {:?}:\n{}\nrequests: {:#?}",
        output.status,
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr),
        requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>()
    );
    let objects: Vec<Value> = requests
        .iter()
        .filter(|r| r.method == "POST" || r.method == "PATCH" || r.method == "PUT")
        .filter_map(|r| {
            let mut body = r.body.clone()?;
            // fabric8 names the namespace in the path only; the stored object carries it.
            if body["metadata"]["namespace"].is_null()
                && let Some(ns) = r.path.split("/namespaces/").nth(1).and_then(|rest| rest.split('/').next())
            {
                body["metadata"]["namespace"] = json!(ns);
            }
            Some(body)
        })
        .collect();
    let pod_name = objects
        .iter()
        .find(|o| o["kind"] == "Pod")
        .and_then(|p| p["metadata"]["name"].as_str())
        .unwrap_or_else(|| panic!("spark-submit {version} sent no driver pod: {requests:#?}"))
        .to_owned();
    let namespace = input.job.namespace();
    let pod = server.object("v1", "Pod", Some(namespace), &pod_name).unwrap_or_else(|| panic!("driver pod stored"));
    let pod_uid = pod["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    Submission { requests, objects, pod_uid, tmp }
}

/// Java properties text as a map (comments skipped, escapes undone, continuation lines joined).
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if current.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!')) {
            continue;
        }
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            current.push_str(&line[..line.len() - 1]);
            continue;
        }
        current.push_str(line);
        logical.push(std::mem::take(&mut current));
    }
    let unescape = |s: &str| {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('f') => out.push('\u{c}'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(ch);
                    }
                }
                Some(other) => out.push(other),
                None => {}
            }
        }
        out
    };
    let mut map = BTreeMap::new();
    for entry in logical {
        let mut split = None;
        let mut escaped = false;
        for (i, c) in entry.char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            match c {
                '\\' => escaped = true,
                '=' | ':' | ' ' | '\t' => {
                    split = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let (key, value) = match split {
            Some(i) => {
                let rest = entry[i..].trim_start_matches([' ', '\t']);
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest).trim_start_matches([' ', '\t']);
                (&entry[..i], rest)
            }
            None => (entry.as_str(), ""),
        };
        map.insert(unescape(key), unescape(value));
    }
    map
}

/// Replaces every random token of spark-submit's objects with sparkplane's
/// deterministic one (generated names, app id, local-dir UUID, the test's
/// master URL and template directory), and expands spark.properties into a map.
fn normalise(
    objects: &[Value],
    names: &Names,
    native_pod: &Value,
    submission: &Submission,
    master: &str,
) -> Vec<Value> {
    let pod = objects.iter().find(|o| o["kind"] == "Pod").cloned().unwrap_or(Value::Null);
    let mut tokens: Vec<(String, String)> = Vec::new();
    if let Some(prefix) = pod["metadata"]["name"].as_str().and_then(|n| n.strip_suffix("-driver")) {
        tokens.push((prefix.to_owned(), names.prefix.clone()));
    }
    if let Some(app_id) = pod["metadata"]["labels"]["spark-app-selector"].as_str() {
        tokens.push((app_id.to_owned(), names.app_id.clone()));
    }
    for object in objects.iter().filter(|o| o["kind"] == "ConfigMap") {
        if object["data"].get("spark.properties").is_some()
            && let Some(name) = object["metadata"]["name"].as_str()
        {
            tokens.push((name.to_owned(), names.driver_config_map.clone()));
        }
    }
    let local_dir = |pod: &Value| -> Option<String> {
        // By name: spark-submit puts the Spark container after a template's other containers.
        pod["spec"]["containers"].as_array()?.iter().find(|c| c["name"] == common::DRIVER_CONTAINER)?["volumeMounts"]
            .as_array()?
            .iter()
            .find(|m| m["name"] == "spark-local-dir-1")
            .and_then(|m| m["mountPath"].as_str().map(str::to_owned))
    };
    if let (Some(theirs), Some(ours)) = (local_dir(&pod), local_dir(native_pod)) {
        tokens.push((theirs, ours));
    }
    tokens.push((master.to_owned(), IN_CLUSTER_MASTER.to_owned()));
    tokens.push((submission.tmp.path().to_string_lossy().into_owned(), TEMPLATE_DIR.to_owned()));
    // Longest first, so a prefix never shadows a longer token containing it.
    tokens.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
    objects
        .iter()
        .map(|o| {
            let text = o.to_string();
            let replaced = tokens.iter().fold(text, |t, (from, to)| t.replace(from.as_str(), to.as_str()));
            let mut object: Value = serde_json::from_str(&replaced).unwrap_or(Value::Null);
            expand_properties(&mut object);
            if let Some(props) = object.pointer_mut("/data/spark.properties").and_then(Value::as_object_mut) {
                // Set by spark-submit at submission time; random.
                props.remove("spark.app.submitTime");
                // Added by this harness only.
                props.remove("spark.kubernetes.submission.waitAppCompletion");
                // The test's API server; the Job route's submitter uses the in-cluster one.
                if props.get("spark.master").and_then(Value::as_str) == Some(master) {
                    props.insert("spark.master".into(), json!(IN_CLUSTER_MASTER));
                }
            }
            object
        })
        .collect()
}

fn expand_properties(object: &mut Value) {
    if let Some(text) = object.pointer("/data/spark.properties").and_then(Value::as_str) {
        let map: serde_json::Map<String, Value> =
            parse_properties(text).into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        object["data"]["spark.properties"] = Value::Object(map);
    }
}

/// The native render as `submit` creates it: owner references added, properties expanded.
fn native_objects(input: &RenderInput<'_>, pod_uid: &str) -> Vec<RenderedObject> {
    let names = Names::of(input.job);
    let mut objects = native::with_owner(native::render_native(input), &names.driver_pod, pod_uid);
    for object in &mut objects {
        expand_properties(&mut object.body);
    }
    objects
}

/// The native object playing the same part as one spark-submit sent.
fn counterpart<'a>(sent: &Value, native: &'a [RenderedObject]) -> Option<&'a RenderedObject> {
    let kind = sent["kind"].as_str().unwrap_or_default();
    let name = sent["metadata"]["name"].as_str().unwrap_or_default();
    native.iter().find(|o| o.kind == kind && o.name == name)
}

/// Compares one case on one line; answers the differences not on the allow-list.
fn compare(case: &Case, line: &str, version: &str) -> Vec<String> {
    let (resolved, sized) = case_job(case, version);
    let input = RenderInput { job: &resolved, sized: &sized };
    let submission = submit(line, version, &input);
    let names = Names::of(&resolved);
    let native = native_objects(&input, &submission.pod_uid);
    let native_pod = native.iter().find(|o| o.kind == "Pod").map(|o| o.body.clone()).unwrap_or(Value::Null);
    let master = submission
        .requests
        .first()
        .map(|_| ())
        .and_then(|_| {
            submission.objects.iter().find_map(|o| {
                o.pointer("/data/spark.properties")
                    .and_then(Value::as_str)
                    .and_then(|t| parse_properties(t).get("spark.master").cloned())
            })
        })
        .unwrap_or_default();
    let sent = normalise(&submission.objects, &names, &native_pod, &submission, &master);
    let mut report = Vec::new();
    let mut matched = Vec::new();
    for object in &sent {
        let kind = object["kind"].as_str().unwrap_or("?").to_owned();
        let name = object["metadata"]["name"].as_str().unwrap_or("?").to_owned();
        let Some(ours) = counterpart(object, &native) else {
            report.push(format!("{kind}/{name}: sent by spark-submit, not rendered by sparkplane"));
            continue;
        };
        matched.push((ours.kind.clone(), ours.name.clone()));
        for d in native::differences(object, &ours.body) {
            match native::deliberate_difference(&kind, &d) {
                None => report.push(format!("{kind}/{name} {d}")),
                Some(_) => eprintln!("[{} on Spark {version}] allowed: {kind}/{name} {d}", case.name),
            }
        }
    }
    for ours in &native {
        if !matched.contains(&(ours.kind.clone(), ours.name.clone())) && native::deliberate_object(&ours.kind).is_none()
        {
            report.push(format!("{}/{}: rendered by sparkplane, not sent by spark-submit", ours.kind, ours.name));
        }
    }
    report.into_iter().map(|r| format!("[{} on Spark {version}] {r}", case.name)).collect()
}

#[test]
fn native_render_equals_what_spark_submit_creates_on_spark_3_5() {
    compare_on(&pinned(["3.5"]));
}

#[test]
fn native_render_equals_what_spark_submit_creates_on_spark_4_3() {
    compare_on(&pinned(["4.3"]));
}

#[test]
#[ignore = "a line between the oldest and the newest: scripts/compat.sh runs it (--run-ignored all)"]
fn native_render_equals_what_spark_submit_creates_on_spark_4_0() {
    compare_on(&pinned(["4.0"]));
}

#[test]
#[ignore = "a line between the oldest and the newest: scripts/compat.sh runs it (--run-ignored all)"]
fn native_render_equals_what_spark_submit_creates_on_spark_4_1() {
    compare_on(&pinned(["4.1"]));
}

#[test]
#[ignore = "a line between the oldest and the newest: scripts/compat.sh runs it (--run-ignored all)"]
fn native_render_equals_what_spark_submit_creates_on_spark_4_2() {
    compare_on(&pinned(["4.2"]));
}

/// The tests above name their lines: a new line needs its own test (and the previous newest
/// line's test ignored), which this says when the line table changes.
#[test]
fn the_tests_above_cover_every_line_and_ci_runs_the_oldest_and_the_newest() {
    let all: Vec<&str> = spark_lines::LINES.iter().map(|l| l.line).collect();
    assert_eq!(all, ["3.5", "4.0", "4.1", "4.2", "4.3"], "add a conformance test for the new line");
    let ci: Vec<&str> = lines().iter().map(|(line, _)| *line).collect();
    let middle: Vec<&str> = middle_lines().iter().map(|(line, _)| *line).collect();
    assert_eq!((ci, middle), (vec!["3.5", "4.3"], vec!["4.0", "4.1", "4.2"]));
}

/// Every case that runs on a line of `lines`, on that line, two spark-submits at a time.
fn compare_on(lines: &[(&'static str, &'static str)]) {
    let work: Mutex<Vec<(&Case, &str, &str)>> = Mutex::new(
        CASES
            .iter()
            .flat_map(|c| {
                lines.iter().filter(|(line, _)| c.runs_on(line)).map(move |&(line, version)| (c, line, version))
            })
            .collect(),
    );
    let runs = work.lock().map(|w| w.len()).unwrap_or_default();
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let next = work.lock().unwrap_or_else(|e| e.into_inner()).pop();
                    let Some((case, line, version)) = next else { break };
                    let found = std::panic::catch_unwind(|| compare(case, line, version)).unwrap_or_else(|_| {
                        vec![format!("[{} on Spark {version}] the comparison panicked (see above)", case.name)]
                    });
                    failures.lock().unwrap_or_else(|e| e.into_inner()).extend(found);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!("{runs} spark-submit runs compared in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "{} difference(s) between spark-submit and sparkplane's native render that are not on \
         render::native::DELIBERATE_DIFFERENCES:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_driver_pod_is_posted_then_its_objects_applied_with_owner_references() {
    let (line, version) = lines()[0];
    let text = CASES[1].job.replace("{version}", version);
    let (resolved, sized) = job(&text);
    let input = RenderInput { job: &resolved, sized: &sized };
    let submission = submit(line, version, &input);
    let writes: Vec<(&str, &str, Option<&str>)> = submission
        .requests
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| {
            (
                r.method.as_str(),
                r.path.rsplit('/').nth(if r.method == "POST" { 0 } else { 1 }).unwrap_or(""),
                r.content_type.as_deref(),
            )
        })
        .collect();
    assert_eq!(writes.first().map(|w| (w.0, w.1)), Some(("POST", "pods")), "{writes:?}");
    let applied: Vec<&RecordedRequest> = submission.requests.iter().filter(|r| r.method == "PATCH").collect();
    assert!(!applied.is_empty(), "{writes:?}");
    for request in applied {
        assert!(
            request.content_type.as_deref().is_some_and(|c| c.starts_with("application/apply-patch+yaml")),
            "{request:?}"
        );
        assert!(request.query.contains_key("fieldManager"), "{request:?}");
        let body = request.body.clone().unwrap_or(Value::Null);
        assert_eq!(
            body["metadata"]["ownerReferences"][0]["uid"],
            json!(submission.pod_uid),
            "owned by the driver pod: {body}"
        );
    }
}

/// hostPath is the `host-path-volumes` policy's (ADR 0028): the job
/// validates, and the policy refuses it where the environment keeps it on.
#[test]
fn host_path_volumes_are_refused_by_policy_instead() {
    let (_, version) = lines()[0];
    let text = CASES[1].job.replace("{version}", version).replace(
        "  arguments:",
        "  volumes: [{name: host, hostPath: {path: /var/run}}]\n  driver: {volumeMounts: [{name: host, mountPath: /host}]}\n  arguments:",
    );
    let node = parse_single(&Source::new("job.yaml", text.as_str())).unwrap_or_else(|d| panic!("fixture parses: {d}"));
    let catalog = Catalog::empty();
    let resolved = load(ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("a hostPath volume validates:\n{d}"));
    let sized = size_job(&resolved.job.spec);
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    let violations = sparkplane_policy::evaluate(&resolved, &objects, &Default::default());
    let host_path: Vec<&str> = violations
        .iter()
        .filter(|v| v.policy.id == sparkplane_policy::HOST_PATH_VOLUMES)
        .map(|v| v.path.as_str())
        .collect();
    assert_eq!(host_path, ["spec.volumes[0].hostPath"], "{violations:?}");
}
