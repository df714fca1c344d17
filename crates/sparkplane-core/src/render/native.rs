//! The native route: the objects `spark-submit --deploy-mode cluster` creates
//! — the driver Pod, the ConfigMap holding `spark.properties`, the headless
//! driver Service — plus the ConfigMap carrying the executor pod template and
//! the driver's least-privilege RBAC.
//!
//! It follows Spark's own conventions (container name, arguments, ports,
//! environment, volumes, mount paths). What sparkplane adds on purpose —
//! restricted security, `enableServiceLinks: false`, its labels, the RBAC
//! objects, an `activeDeadlineSeconds` from `timeouts.maxDuration` — is named
//! in [`DELIBERATE_DIFFERENCES`]. Owner references to the driver pod need its
//! uid, so `submit` adds them when it creates the objects.

use std::collections::BTreeMap;

use serde_json::Value;

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, KeyToPath,
    ObjectFieldSelector, Pod, ResourceRequirements, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sparkplane_api::job::AppType;

use super::common::{
    self, DRIVER_CONTAINER, IN_CLUSTER_MASTER, Names, RenderInput, RenderedObject, SparkRole, application, image,
    object_meta, pod_template, spark_properties,
};
use super::logging;

/// Port of the driver's RPC endpoint.
pub const DRIVER_PORT: i32 = 7078;
/// Port of the driver's block manager.
pub const BLOCK_MANAGER_PORT: i32 = 7079;
pub use super::common::UI_PORT;
/// Port of the Spark Connect server, which spark-submit exposes on the driver from Spark 4.1 on.
pub const SPARK_CONNECT_PORT: i32 = 15002;
/// Where the driver reads its properties.
pub const CONF_DIR: &str = "/opt/spark/conf";
/// Where the executor pod template is mounted in the driver.
pub const POD_TEMPLATE_DIR: &str = "/opt/spark/pod-template";
/// File name of the executor pod template.
pub const POD_TEMPLATE_FILE: &str = "pod-spec-template.yml";
/// Key of the executor pod template in its ConfigMap.
pub const POD_TEMPLATE_KEY: &str = "podspec-configmap-key";

/// One way sparkplane's native objects differ from what spark-submit
/// creates, on purpose. The spark-submit conformance test fails on any
/// difference not matched by an entry of [`DELIBERATE_DIFFERENCES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliberateDifference {
    /// Kind of the object (`*` for any).
    pub kind: &'static str,
    /// Field path, one pattern per segment (see [`Difference::path`]); `*`
    /// in a segment matches any characters. Fields below a matched path are
    /// covered; an empty path covers the whole object.
    pub path: &'static [&'static str],
    /// Covers only what sparkplane adds (fields or objects spark-submit does
    /// not send); a value spark-submit sends is never covered by this entry.
    pub added_only: bool,
    /// Why sparkplane differs.
    pub reason: &'static str,
}

impl DeliberateDifference {
    /// Whether this entry covers `difference` in an object of `kind`.
    pub fn matches(&self, kind: &str, difference: &Difference) -> bool {
        (self.kind == "*" || self.kind == kind)
            && (!self.added_only || difference.spark_submit.is_none())
            && self.path.len() <= difference.path.len()
            && self.path.iter().zip(&difference.path).all(|(pattern, segment)| glob(pattern, segment))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else { return false };
            (0..=rest.len()).filter(|i| rest.is_char_boundary(*i)).any(|i| glob(tail, &rest[i..]))
        }
    }
}

/// An entry covering what sparkplane adds only.
const fn added(kind: &'static str, path: &'static [&'static str], reason: &'static str) -> DeliberateDifference {
    DeliberateDifference { kind, path, added_only: true, reason }
}

/// An entry covering any difference at `path`, what spark-submit sends included.
const fn differs(kind: &'static str, path: &'static [&'static str], reason: &'static str) -> DeliberateDifference {
    DeliberateDifference { kind, path, added_only: false, reason }
}

/// Where sparkplane's native objects differ from spark-submit's on purpose,
/// and why: the one allow-list of the spark-submit conformance test.
pub const DELIBERATE_DIFFERENCES: &[DeliberateDifference] = &[
    added(
        "ServiceAccount",
        &[],
        "the driver's least-privilege identity, rendered instead of assumed (none when the job names its own account)",
    ),
    added("Role", &[], "the driver's least-privilege permissions, in its namespace only"),
    added("RoleBinding", &[], "binds the driver's Role to its ServiceAccount"),
    added(
        "NetworkPolicy",
        &[],
        "`<run>-peers` admits traffic into the driver and executors only from pods of the same application (spark-app-selector): Spark's RPC ports are unauthenticated by default, and a tenant's default-deny needs this one rule; `<run>-ui-door` admits the door (the pods with the door's label in the door's namespace, ADR 0095) to the driver's UI port only, so the History Server can forward the running application's UI",
    ),
    added(
        "*",
        &["metadata", "labels"],
        "the job's standard labels (app.kubernetes.io/*, sparkplane.dev/*) on every object, for ownership, cost attribution and idempotent submission",
    ),
    added(
        "ConfigMap",
        &["data", "spark.properties", "spark.kubernetes.executor.podNamePrefix"],
        "executor pods are named `<job>-<spec hash>-exec-N` from the run's stable names; without it Spark picks a random prefix",
    ),
    differs(
        "ConfigMap",
        &["data", "spark.properties", "spark.kubernetes.driver.podTemplateFile"],
        "names the driver template file of the `job` route's submitter pod; the native route builds the driver pod itself, so the file does not exist there (the driver never reads it)",
    ),
];

/// Which allow-list entry covers a difference in an object of `kind`, if any.
pub fn deliberate_difference(kind: &str, difference: &Difference) -> Option<&'static DeliberateDifference> {
    DELIBERATE_DIFFERENCES.iter().find(|d| d.matches(kind, difference))
}

/// Which allow-list entry covers a whole object of `kind` that sparkplane
/// renders and spark-submit does not send, if any.
pub fn deliberate_object(kind: &str) -> Option<&'static DeliberateDifference> {
    DELIBERATE_DIFFERENCES.iter().find(|d| d.path.is_empty() && (d.kind == "*" || d.kind == kind))
}

/// One field where two objects differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Where: map keys as they are; list items as `[name]` when every item
    /// of the list has a `name`, else `[index]`.
    pub path: Vec<String>,
    /// The value spark-submit sent (None when absent).
    pub spark_submit: Option<Value>,
    /// The value sparkplane renders (None when absent).
    pub sparkplane: Option<Value>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_else(|| "(absent)".into());
        let mut path = String::new();
        for segment in &self.path {
            if !segment.starts_with('[') && !path.is_empty() {
                path.push('.');
            }
            path.push_str(segment);
        }
        write!(f, "{path}: spark-submit={} sparkplane={}", show(&self.spark_submit), show(&self.sparkplane))
    }
}

fn named_items(items: &[Value]) -> Option<BTreeMap<String, &Value>> {
    let mut map = BTreeMap::new();
    for item in items {
        let name = item.get("name")?.as_str()?;
        if map.insert(name.to_owned(), item).is_some() {
            return None;
        }
    }
    Some(map)
}

fn diff_into(a: Option<&Value>, b: Option<&Value>, path: &mut Vec<String>, out: &mut Vec<Difference>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                path.push(key.clone());
                diff_into(x.get(key), y.get(key), path, out);
                path.pop();
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => match (named_items(x), named_items(y)) {
            (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for key in keys {
                    path.push(format!("[{key}]"));
                    diff_into(x.get(key).copied(), y.get(key).copied(), path, out);
                    path.pop();
                }
            }
            _ => {
                for i in 0..x.len().max(y.len()) {
                    path.push(format!("[{i}]"));
                    diff_into(x.get(i), y.get(i), path, out);
                    path.pop();
                }
            }
        },
        (a, b) if a == b => {}
        (a, b) => out.push(Difference { path: path.clone(), spark_submit: a.cloned(), sparkplane: b.cloned() }),
    }
}

/// Every field where what spark-submit sent differs from sparkplane's
/// object, sorted by path. Lists of named items (containers, env, volumes,
/// mounts, ports) are compared by name, other lists by position.
pub fn differences(spark_submit: &Value, sparkplane: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    diff_into(Some(spark_submit), Some(sparkplane), &mut Vec::new(), &mut out);
    out
}

fn quantity(text: String) -> Quantity {
    Quantity(text)
}

/// The driver's `spark.properties`: the job's properties plus what spark-submit adds for a cluster-mode driver.
pub fn driver_properties(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    let names = Names::of(input.job);
    let mut conf = spark_properties(input);
    let resource_type = match input.job.job.spec.app_type {
        Some(AppType::Scala) | Some(AppType::Java) => "java",
        Some(AppType::R) => "r",
        _ => "python",
    };
    let additions = [
        ("spark.app.id", names.app_id.clone()),
        ("spark.driver.blockManager.port", BLOCK_MANAGER_PORT.to_string()),
        ("spark.driver.host", format!("{}.{}.svc", names.driver_service, input.job.namespace())),
        ("spark.driver.port", DRIVER_PORT.to_string()),
        ("spark.kubernetes.driver.pod.name", names.driver_pod.clone()),
        ("spark.kubernetes.executor.podNamePrefix", names.prefix.clone()),
        ("spark.kubernetes.executor.podTemplateFile", format!("{POD_TEMPLATE_DIR}/{POD_TEMPLATE_FILE}")),
        ("spark.kubernetes.resource.type", resource_type.to_owned()),
        ("spark.kubernetes.submitInDriver", "true".to_owned()),
        ("spark.master", IN_CLUSTER_MASTER.to_owned()),
        ("spark.submit.deployMode", "cluster".to_owned()),
    ];
    for (k, v) in additions {
        conf.insert(k.to_owned(), v);
    }
    // What spark-submit adds for every cluster-mode application: Spark's
    // default overhead factor for the application type unless the job set
    // one (inert here, as the overhead is explicit), the Python files (empty
    // when none), and for JVM applications the application jar on `spark.jars`.
    let jvm = resource_type == "java";
    conf.entry("spark.kubernetes.memoryOverheadFactor".to_owned())
        .or_insert_with(|| if jvm { "0.1" } else { "0.4" }.to_owned());
    conf.entry("spark.submit.pyFiles".to_owned()).or_default();
    if jvm && let Some(jar) = spec_main_file(input) {
        let jars = conf.entry("spark.jars".to_owned()).or_default();
        if !jars.split(',').any(|j| j == jar) {
            if !jars.is_empty() {
                jars.push(',');
            }
            jars.push_str(&jar);
        }
    }
    conf
}

fn spec_main_file(input: &RenderInput<'_>) -> Option<String> {
    input.job.job.spec.main_application_file.clone().filter(|f| !f.is_empty())
}

/// Whether the job's Spark version is 4.1 or later (spark-submit then exposes the Spark Connect port).
fn exposes_spark_connect(input: &RenderInput<'_>) -> bool {
    let Some(version) = input.job.job.spec.spark_version.as_deref() else { return false };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (4, 1),
        (Some(major), None) => major > 4,
        _ => false,
    }
}

/// Spark's `spark-app-name` label value: the application name lower-cased,
/// other characters than `a-z 0-9 - .` replaced by `-`, cut to 63 characters
/// and trimmed to start and end with a letter or digit.
fn app_name_label(name: &str) -> String {
    let mapped: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' { c } else { '-' })
        .take(63)
        .collect();
    mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

fn spark_labels(input: &RenderInput<'_>, role: &str) -> BTreeMap<String, String> {
    let names = Names::of(input.job);
    let mut labels = BTreeMap::new();
    labels.insert("spark-app-name".to_owned(), app_name_label(input.job.name()));
    labels.insert(common::APP_SELECTOR_LABEL.to_owned(), names.app_id);
    labels.insert("spark-role".to_owned(), role.to_owned());
    if let Some(v) = &input.job.job.spec.spark_version {
        labels.insert("spark-version".to_owned(), v.clone());
    }
    labels
}

/// The driver pod.
pub fn driver_pod(input: &RenderInput<'_>) -> Pod {
    let names = Names::of(input.job);
    let spec = &input.job.job.spec;
    let template = pod_template(input, SparkRole::Driver);
    let mut metadata = template.metadata.unwrap_or_default();
    metadata.name = Some(names.driver_pod.clone());
    metadata.namespace = Some(input.job.namespace().to_owned());
    metadata.labels.get_or_insert_with(Default::default).extend(spark_labels(input, "driver"));
    let mut pod_spec = template.spec.unwrap_or_default();
    pod_spec.restart_policy = Some("Never".into());
    // spark-submit sets the deprecated field beside serviceAccountName.
    pod_spec.service_account.clone_from(&pod_spec.service_account_name);
    // Spark appends `spark.kubernetes.container.image.pullSecrets` to the template's own.
    if let Some(img) = &spec.image
        && !img.pull_secrets.is_empty()
    {
        pod_spec.image_pull_secrets.get_or_insert_with(Vec::new).extend(img.pull_secret_refs());
    }

    let local_dir = format!("/var/data/spark-{}", &input.job.short_hash());
    pod_spec.volumes.get_or_insert_with(Vec::new).extend(driver_volumes(&names));
    let template_container = pod_spec.containers.first().cloned().unwrap_or_default();
    let container = driver_container(input, &names, template_container, local_dir);
    if pod_spec.containers.is_empty() {
        pod_spec.containers.push(container);
    } else {
        pod_spec.containers[0] = container;
    }
    Pod { metadata, spec: Some(pod_spec), status: None }
}

/// The volume holding the driver's `spark.properties` (and the log layout).
const DRIVER_CONF_VOLUME: &str = "spark-conf-volume-driver";

/// The driver's volumes as spark-submit makes them: a local dir, its conf
/// directory and the executors' pod template.
fn driver_volumes(names: &Names) -> Vec<Volume> {
    let conf_volume = DRIVER_CONF_VOLUME;
    vec![
        Volume {
            name: "spark-local-dir-1".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
        Volume {
            name: conf_volume.into(),
            config_map: Some(ConfigMapVolumeSource {
                name: names.driver_config_map.clone(),
                // spark-submit mounts each file of its conf directory beside the properties; the driver
                // hands them on to its executors' ConfigMap, so both log through the one layout. Sorted by
                // key, as spark-submit lists them.
                items: Some(
                    [logging::LOG4J2_FILE, "spark.properties"]
                        .into_iter()
                        .map(|key| KeyToPath { key: key.into(), path: key.into(), mode: Some(0o644) })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: "pod-template-volume".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: names.pod_template_config_map.clone(),
                items: Some(vec![KeyToPath {
                    key: POD_TEMPLATE_KEY.into(),
                    path: POD_TEMPLATE_FILE.into(),
                    mode: None,
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

/// The driver container, over the template's first container: image,
/// spark-submit's arguments, ports, environment, resources from the sizing
/// model and mounts.
fn driver_container(input: &RenderInput<'_>, names: &Names, mut container: Container, local_dir: String) -> Container {
    let spec = &input.job.job.spec;
    let conf_volume = DRIVER_CONF_VOLUME;
    container.name = DRIVER_CONTAINER.into();
    container.image = Some(image(input));
    container.image_pull_policy =
        Some(spec.image.as_ref().and_then(|i| i.pull_policy).map(|p| p.as_str()).unwrap_or("IfNotPresent").to_owned());
    let mut args = vec!["driver".to_owned(), "--properties-file".to_owned(), format!("{CONF_DIR}/spark.properties")];
    let main_class = spec.main_class.clone().or_else(|| common::runner_class(spec.app_type).map(str::to_owned));
    if let Some(class) = main_class {
        args.push("--class".into());
        args.push(class);
    }
    let (resource, app_args) = application(input);
    args.push(resource);
    args.extend(app_args);
    container.args = Some(args);
    let port = |name: &str, port: i32| ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let mut ports = vec![
        port("driver-rpc-port", DRIVER_PORT),
        port("blockmanager", BLOCK_MANAGER_PORT),
        port(common::UI_PORT_NAME, UI_PORT),
    ];
    if exposes_spark_connect(input) {
        ports.push(port("spark-connect", SPARK_CONNECT_PORT));
    }
    container.ports = Some(ports);
    let mut env: Vec<EnvVar> = container.env.take().unwrap_or_default();
    let plain = |name: &str, value: String| EnvVar { name: name.into(), value: Some(value), value_from: None };
    env.push(plain("SPARK_USER", "spark".into()));
    env.push(plain("SPARK_APPLICATION_ID", names.app_id.clone()));
    env.push(EnvVar {
        name: "SPARK_DRIVER_BIND_ADDRESS".into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: "status.podIP".into() }),
            ..Default::default()
        }),
    });
    env.push(plain("SPARK_LOCAL_DIRS", local_dir.clone()));
    env.push(plain("SPARK_CONF_DIR", CONF_DIR.into()));
    container.env = Some(env);
    container.resources = Some(driver_resources(&input.sized.driver));
    let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
    mounts.push(VolumeMount { name: "spark-local-dir-1".into(), mount_path: local_dir, ..Default::default() });
    mounts.push(VolumeMount { name: conf_volume.into(), mount_path: CONF_DIR.into(), ..Default::default() });
    mounts.push(VolumeMount {
        name: "pod-template-volume".into(),
        mount_path: POD_TEMPLATE_DIR.into(),
        ..Default::default()
    });
    container
}

/// The driver's requests and limits, as spark-submit writes them from the sizing model.
fn driver_resources(sized: &crate::sizing::PodResources) -> ResourceRequirements {
    // spark-submit writes pod memory in MiB (`4096Mi`), whatever its size.
    let memory = format!("{}Mi", sized.pod_memory.mib());
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_owned(), quantity(sized.cpu_request.to_kubernetes()));
    requests.insert("memory".to_owned(), quantity(memory.clone()));
    let mut limits = BTreeMap::new();
    limits.insert("memory".to_owned(), quantity(memory));
    if let Some(limit) = sized.cpu_limit {
        limits.insert("cpu".to_owned(), quantity(limit.to_kubernetes()));
    }
    if let Some(gpu) = &sized.gpu {
        limits.insert(gpu.name.clone(), quantity(gpu.amount.to_string()));
    }
    ResourceRequirements { requests: Some(requests), limits: Some(limits), ..Default::default() }
}

/// Spark 4.3's setting for the driver Service's `publishNotReadyAddresses`.
pub const PUBLISH_NOT_READY: &str = "spark.kubernetes.driver.service.publishNotReadyAddresses";

/// The headless service executors reach the driver through. Like
/// spark-submit's, it selects on every label Spark gives the driver (its own
/// and the job's driver labels), is single-stack IPv4 and names no protocol;
/// from 4.2 its `spark-connect` port says `appProtocol: grpc`, and from 4.3
/// it sets `publishNotReadyAddresses` (the line table's columns).
pub fn driver_service(input: &RenderInput<'_>) -> Service {
    let names = Names::of(input.job);
    let mut selector = common::pod_labels(input, SparkRole::Driver);
    selector.extend(spark_labels(input, "driver"));
    let port = |name: &str, port: i32| ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        ..Default::default()
    };
    let mut ports = vec![
        port("driver-rpc-port", DRIVER_PORT),
        port("blockmanager", BLOCK_MANAGER_PORT),
        port(common::UI_PORT_NAME, UI_PORT),
    ];
    let line = input.job.job.spec.spark_version.as_deref().and_then(crate::spark_lines::line_of);
    if exposes_spark_connect(input) {
        let mut connect = port("spark-connect", SPARK_CONNECT_PORT);
        connect.app_protocol = line.and_then(|l| l.connect_port_app_protocol).map(str::to_owned);
        ports.push(connect);
    }
    // From 4.3, spark-submit writes the setting's value, `false` unless the job sets it.
    let publish_not_ready = line.filter(|l| l.service_publish_not_ready_addresses).map(|_| {
        input.job.job.spec.spark_conf.get(PUBLISH_NOT_READY).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    });
    let mut metadata = object_meta(input, &names.driver_service, "driver");
    // spark-submit labels the Service with the application id.
    metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(common::APP_SELECTOR_LABEL.to_owned(), names.app_id.clone());
    Service {
        metadata,
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            ip_families: Some(vec!["IPv4".into()]),
            ip_family_policy: Some("SingleStack".into()),
            selector: Some(selector),
            ports: Some(ports),
            publish_not_ready_addresses: publish_not_ready,
            ..Default::default()
        }),
        status: None,
    }
}

/// The ConfigMap holding `spark.properties`.
pub fn driver_config_map(input: &RenderInput<'_>) -> ConfigMap {
    let names = Names::of(input.job);
    let mut data = BTreeMap::new();
    data.insert(
        "spark.properties".to_owned(),
        sparkplane_documents::java_properties::to_text(&driver_properties(input)),
    );
    // What spark-submit copies from its conf directory: the log layout (render::logging).
    data.insert(logging::LOG4J2_FILE.to_owned(), logging::log4j2_properties(input.job));
    // spark-submit writes the namespace beside the properties file.
    data.insert("spark.kubernetes.namespace".to_owned(), input.job.namespace().to_owned());
    ConfigMap {
        metadata: object_meta(input, &names.driver_config_map, "driver"),
        data: Some(data),
        immutable: Some(true),
        ..Default::default()
    }
}

/// The ConfigMap holding the executor pod template (as YAML).
pub fn pod_template_config_map(input: &RenderInput<'_>) -> ConfigMap {
    let names = Names::of(input.job);
    let mut data = BTreeMap::new();
    data.insert(POD_TEMPLATE_KEY.to_owned(), common::pod_template_file(input, SparkRole::Executor));
    ConfigMap {
        metadata: object_meta(input, &names.pod_template_config_map, "executor"),
        data: Some(data),
        immutable: Some(true),
        ..Default::default()
    }
}

/// Kinds that outlive one run (the job's identity), so never owned by its driver pod.
const UNOWNED_KINDS: &[&str] = &["Pod", "ServiceAccount", "Role", "RoleBinding"];

/// The rendered objects as `submit` creates them once the driver pod exists:
/// every per-run object (ConfigMaps, Service) gets spark-submit's owner
/// reference to the driver pod, so deleting the pod deletes them. The pod
/// itself and the job's RBAC objects are left as they are.
pub fn with_owner(mut objects: Vec<RenderedObject>, pod_name: &str, pod_uid: &str) -> Vec<RenderedObject> {
    let reference = serde_json::json!([{
        "apiVersion": "v1",
        "kind": "Pod",
        "name": pod_name,
        "uid": pod_uid,
        "controller": true,
    }]);
    for object in objects.iter_mut().filter(|o| !UNOWNED_KINDS.contains(&o.kind.as_str())) {
        if let Some(meta) = object.body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.insert("ownerReferences".to_owned(), reference.clone());
        }
    }
    objects
}

/// The NetworkPolicy spark-submit applies from Spark 4.2 on, for the lines
/// whose row says so ([`crate::spark_lines::applies_executor_network_policy`]):
/// `<prefix>-policy`, labelled with the application id, selecting the
/// application's executors and admitting into them only pods of the same
/// application. As spark-submit sends it: no `policyTypes` (the API server
/// derives `Ingress`). The `-peers` policy admits the same traffic and more
/// (into the driver too); policies add up, so this one opens nothing.
pub fn executor_network_policy(input: &RenderInput<'_>) -> Option<NetworkPolicy> {
    if !crate::spark_lines::applies_executor_network_policy(input.job.job.spec.spark_version.as_deref()) {
        return None;
    }
    let names = Names::of(input.job);
    let app = || (common::APP_SELECTOR_LABEL.to_owned(), names.app_id.clone());
    let mut metadata = object_meta(input, &format!("{}-policy", names.prefix), "network");
    metadata.labels.get_or_insert_with(Default::default).extend([app()]);
    let executors = BTreeMap::from([("spark-role".to_owned(), "executor".to_owned()), app()]);
    Some(NetworkPolicy {
        metadata,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(executors), ..Default::default() }),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([app()])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ports: None,
            }]),
            ..Default::default()
        }),
    })
}

/// Every native object.
pub fn render_native(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    let mut objects = common::driver_rbac(input);
    objects.push(RenderedObject::from_resource(&driver_config_map(input)));
    objects.push(RenderedObject::from_resource(&pod_template_config_map(input)));
    objects.push(RenderedObject::from_resource(&driver_service(input)));
    objects.push(RenderedObject::from_resource(&driver_pod(input)));
    objects.push(common::peers_network_policy(input, common::Peers::Application));
    objects.push(common::door_network_policy(input, common::Peers::Application));
    objects.extend(executor_network_policy(input).map(|policy| RenderedObject::from_resource(&policy)));
    objects.extend(super::scheduling::gang_objects(input));
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_spark_4_2_the_executors_network_policy_is_rendered_as_spark_submit_sends_it() {
        use crate::render::job::tests::{JOB, job};
        for version in ["3.5.3", "4.0.5", "4.1.4"] {
            let (resolved, sized) = job(&JOB.replace("3.5.3", version));
            let input = RenderInput { job: &resolved, sized: &sized };
            assert!(executor_network_policy(&input).is_none(), "{version}");
            assert!(!render_native(&input).iter().any(|o| o.name.ends_with("-policy")), "{version}");
        }
        for version in ["4.2.1", "4.3.0"] {
            let (resolved, sized) = job(&JOB.replace("3.5.3", version));
            let input = RenderInput { job: &resolved, sized: &sized };
            let names = Names::of(&resolved);
            let owned = with_owner(render_native(&input), &names.driver_pod, "uid-1");
            let policies: Vec<&RenderedObject> = owned.iter().filter(|o| o.kind == "NetworkPolicy").collect();
            assert_eq!(policies.len(), 3, "{version}: peers, ui-door and Spark's own");
            let policy =
                policies.iter().find(|o| o.name == format!("{}-policy", names.prefix)).expect("Spark's policy");
            assert_eq!(policy.body["metadata"]["labels"]["spark-app-selector"], names.app_id.as_str());
            assert_eq!(policy.body["metadata"]["ownerReferences"][0]["name"], names.driver_pod.as_str());
            assert_eq!(
                policy.body["spec"],
                serde_json::json!({
                    "podSelector": {"matchLabels": {"spark-app-selector": names.app_id, "spark-role": "executor"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"spark-app-selector": names.app_id}}}]}],
                }),
                "{version}: no policyTypes, as spark-submit sends it"
            );
        }
    }

    #[test]
    fn per_run_objects_are_owned_by_the_driver_pod_and_rbac_is_not() {
        use crate::render::job::tests::{JOB, job};
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let owned = with_owner(render_native(&input), "etl-driver", "uid-1");
        let kinds: Vec<(&str, bool)> =
            owned.iter().map(|o| (o.kind.as_str(), o.body["metadata"].get("ownerReferences").is_some())).collect();
        assert_eq!(
            kinds,
            [
                ("ServiceAccount", false),
                ("Role", false),
                ("RoleBinding", false),
                ("ConfigMap", true),
                ("ConfigMap", true),
                ("Service", true),
                ("Pod", false),
                ("NetworkPolicy", true),
                ("NetworkPolicy", true),
            ]
        );
        let service = owned.iter().find(|o| o.kind == "Service").map(|o| &o.body).cloned().unwrap_or_default();
        assert_eq!(
            service["metadata"]["ownerReferences"],
            serde_json::json!([{"apiVersion": "v1", "kind": "Pod", "name": "etl-driver", "uid": "uid-1", "controller": true}])
        );
    }

    #[test]
    fn the_driver_mounts_the_log_layout_beside_its_properties() {
        use crate::render::job::tests::{JOB, job};
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let config_map = driver_config_map(&input);
        let layout = config_map.data.as_ref().and_then(|d| d.get(logging::LOG4J2_FILE)).expect("the layout");
        assert_eq!(layout, &logging::log4j2_properties(&resolved));
        let pod = driver_pod(&input);
        let volume =
            pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).find(|v| v.name == "spark-conf-volume-driver");
        let keys: Vec<&str> = volume
            .and_then(|v| v.config_map.as_ref())
            .and_then(|c| c.items.as_ref())
            .map(|items| items.iter().map(|i| i.key.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(keys, [logging::LOG4J2_FILE, "spark.properties"]);
    }

    #[test]
    fn the_spark_connect_port_follows_the_jobs_spark_version() {
        use crate::render::job::tests::{JOB, job};
        let ports = |version: &str| {
            let (resolved, sized) =
                job(&JOB.replace("sparkVersion: \"3.5.3\"", &format!("sparkVersion: \"{version}\"")));
            let input = RenderInput { job: &resolved, sized: &sized };
            let pod = driver_pod(&input);
            let service = driver_service(&input);
            let pod_ports: Vec<i32> = pod
                .spec
                .map(|s| s.containers[0].ports.clone().unwrap_or_default())
                .unwrap_or_default()
                .iter()
                .map(|p| p.container_port)
                .collect();
            let service_ports: Vec<i32> =
                service.spec.and_then(|s| s.ports).unwrap_or_default().iter().map(|p| p.port).collect();
            (pod_ports, service_ports)
        };
        let without = vec![DRIVER_PORT, BLOCK_MANAGER_PORT, UI_PORT];
        let with = vec![DRIVER_PORT, BLOCK_MANAGER_PORT, UI_PORT, SPARK_CONNECT_PORT];
        assert_eq!(ports("3.5.3"), (without.clone(), without.clone()));
        assert_eq!(ports("4.0.1"), (without.clone(), without));
        assert_eq!(ports("4.1.0"), (with.clone(), with.clone()));
        assert_eq!(ports("4.2.0"), (with.clone(), with));
    }

    #[test]
    fn the_drivers_service_says_grpc_from_4_2_and_publishes_not_ready_addresses_from_4_3() {
        use crate::render::job::tests::{JOB, job};
        let service = |version: &str, conf: &str| {
            let text = JOB.replace("sparkVersion: \"3.5.3\"", &format!("sparkVersion: \"{version}\"")).replace(
                "spark.sql.shuffle.partitions: \"200\"",
                &format!("spark.sql.shuffle.partitions: \"200\"{conf}"),
            );
            let (resolved, sized) = job(&text);
            let input = RenderInput { job: &resolved, sized: &sized };
            let spec = driver_service(&input).spec.unwrap_or_default();
            let connect = spec.ports.unwrap_or_default().into_iter().find(|p| p.port == SPARK_CONNECT_PORT);
            (connect.map(|p| p.app_protocol), spec.publish_not_ready_addresses)
        };
        let grpc = Some(Some("grpc".to_owned()));
        assert_eq!(service("3.5.3", ""), (None, None));
        assert_eq!(service("4.1.4", ""), (Some(None), None));
        assert_eq!(service("4.2.1", ""), (grpc.clone(), None));
        assert_eq!(service("4.3.0", ""), (grpc.clone(), Some(false)));
        let published = format!(", {PUBLISH_NOT_READY}: \"true\"");
        assert_eq!(service("4.3.0", &published), (grpc, Some(true)));
    }

    #[test]
    fn the_app_name_label_is_sanitised_as_spark_does() {
        assert_eq!(app_name_label("etl"), "etl");
        assert_eq!(app_name_label("My_ETL job."), "my-etl-job");
        assert_eq!(app_name_label(&"a".repeat(70)).len(), 63);
    }
}
