//! What every route shares: object names, labels, restricted security
//! contexts, the job's Spark properties, driver and executor pod templates,
//! the driver's RBAC, the application's NetworkPolicies (its peers, and the
//! door to the driver's UI), and spark-submit's arguments.
//!
//! A route must take these from here, never derive its own, so the three
//! routes start the same driver. Resources come from the sizing model only.
//! The input, roles, names, standard labels and object metadata live one
//! step lower, in `base` (re-exported here), so the gang scheduling module
//! this one calls reads them without an import circle.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, Container, EnvVar, EnvVarSource, PodSecurityContext, PodSpec, PodTemplateSpec,
    SeccompProfile, SecretKeySelector, SecurityContext, ServiceAccount, Toleration,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sparkplane_api::job::{AppType, Dependencies, EnvVar as JobEnvVar, EventLog, RestartKind};

pub use super::base::{
    Names, RenderInput, RenderedObject, SparkRole, object_meta, pod_resources, role_spec, standard_labels,
};
use crate::resolved::ResolvedJob;

/// User id of the `spark` user in Apache Spark's images; pods run as it.
pub const SPARK_UID: i64 = 185;
/// Name Spark gives the driver container.
pub const DRIVER_CONTAINER: &str = "spark-kubernetes-driver";
/// Name Spark gives executor containers.
pub const EXECUTOR_CONTAINER: &str = "spark-kubernetes-executor";
/// The API server address pods use.
pub const IN_CLUSTER_MASTER: &str = "k8s://https://kubernetes.default.svc:443";

/// Orders objects as they should be applied: identities and permissions,
/// then configuration, then workloads; by name within a kind.
pub fn sort_objects(objects: &mut [RenderedObject]) {
    const ORDER: &[&str] = &[
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Service",
        // A gang's PodGroup is listed before the pods that join it.
        "PodGroup",
        "Pod",
        "Job",
        "CronJob",
        "SparkApplication",
        "ScheduledSparkApplication",
    ];
    let rank = |kind: &str| ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len());
    objects.sort_by(|a, b| rank(&a.kind).cmp(&rank(&b.kind)).then_with(|| a.name.cmp(&b.name)));
}

/// The service account the driver runs as: the job's, or the one sparkplane creates.
pub fn driver_service_account(input: &RenderInput<'_>) -> String {
    let spec = &input.job.job.spec;
    spec.driver
        .as_ref()
        .and_then(|d| d.service_account.clone())
        .or_else(|| spec.service_account.clone())
        .unwrap_or_else(|| Names::of(input.job).service_account)
}

/// Whether sparkplane creates the driver's service account and RBAC (it does
/// unless the job names an existing service account).
pub fn renders_rbac(input: &RenderInput<'_>) -> bool {
    let spec = &input.job.job.spec;
    spec.service_account.is_none() && spec.driver.as_ref().and_then(|d| d.service_account.as_ref()).is_none()
}

/// Pod-level security meeting Pod Security "restricted".
pub fn pod_security_context() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(SPARK_UID),
        run_as_group: Some(SPARK_UID),
        fs_group: Some(SPARK_UID),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
        ..Default::default()
    }
}

/// Container-level security meeting Pod Security "restricted".
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        privileged: Some(false),
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
        ..Default::default()
    }
}

/// The container image reference.
pub fn image(input: &RenderInput<'_>) -> String {
    input.job.job.spec.image.as_ref().and_then(|i| i.reference()).unwrap_or_default()
}

fn join(items: &[String]) -> Option<String> {
    if items.is_empty() { None } else { Some(items.join(",")) }
}

/// Spark property carrying `spec.slo.maxDuration` in seconds (read back by the exporter from event logs).
pub const SLO_MAX_DURATION_PROPERTY: &str = "spark.sparkplane.slo.maxDurationSeconds";
/// Spark property carrying `spec.slo.successRate`.
pub const SLO_SUCCESS_RATE_PROPERTY: &str = "spark.sparkplane.slo.successRate";

/// The property that turns on the executor metrics Spark's UI serves for
/// Prometheus ([`EXECUTOR_METRICS_PATH`]); a job that sets it to `false` in
/// `spec.sparkConf` turns off every metrics endpoint sparkplane adds.
pub const PROMETHEUS_ENABLED_PROPERTY: &str = "spark.ui.prometheus.enabled";
/// Where the driver's UI serves every executor's metrics (`metrics_executor_*`).
pub const EXECUTOR_METRICS_PATH: &str = "/metrics/executors/prometheus";
/// Where the driver's UI serves the driver's own metrics (PrometheusServlet
/// sink, `metrics_<namespace>_driver_*`). Spark's UI answers the bare path
/// with a redirect to this one, so scrapers are given it with the slash.
pub const DRIVER_METRICS_PATH: &str = "/metrics/prometheus/";
/// `spark.metrics.namespace`: the second word of every driver metric name.
/// Spark's default is the application id, which changes with each run and
/// would give each run its own metric names; one fixed word keeps them
/// queryable across runs (`metrics_spark_driver_…`).
pub const METRICS_NAMESPACE: &str = "spark";
/// The driver pod label a PodMonitor selects: present only when the driver serves metrics.
pub const METRICS_LABEL: &str = sparkplane_api::labels::METRICS;
/// The value of [`METRICS_LABEL`].
pub const METRICS_LABEL_VALUE: &str = "prometheus";
/// Name of the port of Spark's UI on the driver pod (Spark's own name for it).
pub const UI_PORT_NAME: &str = "spark-ui";
/// Port of Spark's UI on the driver pod (Spark's default `spark.ui.port`).
pub const UI_PORT: i32 = 4040;

/// Whether the job's driver serves Prometheus metrics: yes unless its
/// `spec.sparkConf` sets [`PROMETHEUS_ENABLED_PROPERTY`] to `false`.
pub fn serves_metrics(job: &ResolvedJob) -> bool {
    job.job.spec.spark_conf.get(PROMETHEUS_ENABLED_PROPERTY).is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

/// The Spark properties that make the driver serve Prometheus metrics on its
/// UI port: executor metrics at [`EXECUTOR_METRICS_PATH`] and, through
/// Spark's PrometheusServlet sink, the driver's own at
/// [`DRIVER_METRICS_PATH`] under the fixed [`METRICS_NAMESPACE`]. Empty when
/// the job turns metrics off. The one owner of these properties: every
/// render target and the local run take them from [`spark_properties`].
pub fn metrics_properties(job: &ResolvedJob) -> BTreeMap<String, String> {
    if !serves_metrics(job) {
        return BTreeMap::new();
    }
    let sink = "spark.metrics.conf.*.sink.prometheusServlet";
    BTreeMap::from([
        (PROMETHEUS_ENABLED_PROPERTY.to_owned(), "true".to_owned()),
        (format!("{sink}.class"), "org.apache.spark.metrics.sink.PrometheusServlet".to_owned()),
        (format!("{sink}.path"), DRIVER_METRICS_PATH.trim_end_matches('/').to_owned()),
        ("spark.metrics.namespace".to_owned(), METRICS_NAMESPACE.to_owned()),
    ])
}

/// The job's Spark properties: everything spark-submit is told with `--conf`.
/// Resources are written explicitly from the sizing model (overhead included),
/// so Spark's arithmetic and sparkplane's cannot drift apart.
pub fn spark_properties(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    let job = input.job;
    let spec = &job.job.spec;
    let mut conf = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        conf.insert(k.to_owned(), v);
    };
    set("spark.app.name", job.name().to_owned());
    set("spark.kubernetes.namespace", job.namespace().to_owned());
    let image = image(input);
    if !image.is_empty() {
        set("spark.kubernetes.container.image", image);
    }
    if let Some(img) = &spec.image {
        if let Some(policy) = img.pull_policy {
            set("spark.kubernetes.container.image.pullPolicy", policy.as_str().to_owned());
        }
        if let Some(secrets) = join(&img.pull_secrets) {
            set("spark.kubernetes.container.image.pullSecrets", secrets);
        }
    }
    set("spark.kubernetes.authenticate.driver.serviceAccountName", driver_service_account(input));
    for role in [SparkRole::Driver, SparkRole::Executor] {
        role_properties(input, role, &mut set);
    }
    executor_count_properties(input, &mut set);
    if let Some(deps) = &spec.deps {
        dependency_properties(deps, &mut set);
    }
    for (k, v) in &spec.node_selector {
        set(&format!("spark.kubernetes.node.selector.{k}"), v.clone());
    }
    if let Some(scheduler) = &spec.scheduler_name {
        set("spark.kubernetes.scheduler.name", scheduler.clone());
    }
    if let Some(log) = &spec.event_log {
        event_log_properties(log, &mut set);
    }
    if let Some(timeouts) = &spec.timeouts
        && let Some(t) = timeouts.executor_start
    {
        // Pending executor pods are replaced after this long (Spark ≥ 3.3).
        set("spark.kubernetes.allocation.executor.timeout", format!("{}s", t.as_secs().max(1)));
    }
    if let Some(slo) = &spec.slo {
        // Recorded in the event log's environment, so the exporter can measure each run against its objective.
        if let Some(max) = slo.max_duration {
            set(SLO_MAX_DURATION_PROPERTY, max.as_secs().to_string());
        }
        if let Some(rate) = slo.success_rate {
            set(SLO_SUCCESS_RATE_PROPERTY, rate.to_string());
        }
    }
    for (k, v) in metrics_properties(job) {
        set(&k, v);
    }
    for (k, v) in super::scheduling::gang_properties(input) {
        set(&k, v);
    }
    for (k, v) in &spec.hadoop_conf {
        set(&format!("spark.hadoop.{k}"), v.clone());
    }
    for (k, v) in &spec.spark_conf {
        set(k, v.clone());
    }
    conf
}

/// Setting one Spark property.
type Set<'s> = dyn FnMut(&str, String) + 's;

/// A driver's or executors' properties: resources from the sizing model,
/// GPUs, node selectors, annotations and labels.
fn role_properties(input: &RenderInput<'_>, role: SparkRole, set: &mut Set<'_>) {
    let r = role.as_str();
    let pod = pod_resources(input, role);
    set(&format!("spark.{r}.cores"), pod.spark_cores.to_string());
    set(&format!("spark.{r}.memory"), pod.heap.to_spark());
    set(&format!("spark.{r}.memoryOverhead"), pod.overhead.to_spark());
    set(&format!("spark.kubernetes.{r}.request.cores"), pod.cpu_request.to_kubernetes());
    if let Some(limit) = pod.cpu_limit {
        set(&format!("spark.kubernetes.{r}.limit.cores"), limit.to_kubernetes());
    }
    if let Some(gpu) = &pod.gpu {
        set(&format!("spark.{r}.resource.gpu.amount"), gpu.amount.to_string());
        if let Some((vendor, _)) = gpu.name.split_once('/') {
            set(&format!("spark.{r}.resource.gpu.vendor"), vendor.to_owned());
        }
        if let Some(script) = &gpu.discovery_script {
            set(&format!("spark.{r}.resource.gpu.discoveryScript"), script.clone());
        }
    }
    if let Some(role_spec) = role_spec(input, role) {
        for (k, v) in &role_spec.node_selector {
            set(&format!("spark.kubernetes.{r}.node.selector.{k}"), v.clone());
        }
        for (k, v) in &role_spec.annotations {
            set(&format!("spark.kubernetes.{r}.annotation.{k}"), v.clone());
        }
    }
    for (k, v) in pod_labels(input, role) {
        set(&format!("spark.kubernetes.{r}.label.{k}"), v);
    }
}

/// How many executors: dynamic allocation's bounds (with shuffle tracking)
/// or a fixed count; PySpark and off-heap memory from the sizing model.
fn executor_count_properties(input: &RenderInput<'_>, set: &mut Set<'_>) {
    let spec = &input.job.job.spec;
    let executors = input.sized.executors;
    if executors.dynamic {
        set("spark.dynamicAllocation.enabled", "true".into());
        set("spark.dynamicAllocation.minExecutors", executors.min.to_string());
        set("spark.dynamicAllocation.maxExecutors", executors.max.to_string());
        set("spark.dynamicAllocation.initialExecutors", executors.initial.to_string());
        // Kubernetes has no external shuffle service, so Spark refuses dynamic
        // allocation without shuffle tracking: on unless the job turns it off.
        let tracking = spec.dynamic_allocation.as_ref().and_then(|d| d.shuffle_tracking).unwrap_or(true);
        set("spark.dynamicAllocation.shuffleTracking.enabled", tracking.to_string());
    } else {
        set("spark.executor.instances", executors.initial.to_string());
    }
    if input.sized.executor.pyspark.mib() > 0 {
        set("spark.executor.pyspark.memory", input.sized.executor.pyspark.to_spark());
    }
    if input.sized.executor.off_heap.mib() > 0 {
        set("spark.memory.offHeap.enabled", "true".into());
        set("spark.memory.offHeap.size", input.sized.executor.off_heap.to_spark());
    }
}

/// The job's jars, Python files, files, archives and packages.
fn dependency_properties(deps: &Dependencies, set: &mut Set<'_>) {
    for (key, items) in [
        ("spark.jars", &deps.jars),
        ("spark.submit.pyFiles", &deps.py_files),
        ("spark.files", &deps.files),
        ("spark.archives", &deps.archives),
        ("spark.jars.packages", &deps.packages),
        ("spark.jars.excludes", &deps.exclude_packages),
        ("spark.jars.repositories", &deps.repositories),
    ] {
        if let Some(value) = join(items) {
            set(key, value);
        }
    }
}

/// Where and how the event log is written.
fn event_log_properties(log: &EventLog, set: &mut Set<'_>) {
    let enabled = log.enabled.unwrap_or(true);
    set("spark.eventLog.enabled", enabled.to_string());
    if enabled {
        if let Some(dir) = &log.dir {
            set("spark.eventLog.dir", dir.clone());
        }
        if let Some(rolling) = log.rolling {
            set("spark.eventLog.rolling.enabled", rolling.to_string());
        }
        if let Some(size) = log.max_file_size {
            set("spark.eventLog.rolling.maxFileSize", size.to_spark());
        }
        if let Some(codec) = log.codec {
            match codec.spark_name() {
                Some(name) => {
                    set("spark.eventLog.compress", "true".into());
                    set("spark.eventLog.compression.codec", name.into());
                }
                None => set("spark.eventLog.compress", "false".into()),
            }
        }
    }
}

/// Labels of a role's pods: the standard ones plus the role's own.
pub fn pod_labels(input: &RenderInput<'_>, role: SparkRole) -> BTreeMap<String, String> {
    let mut labels = standard_labels(input.job, role.as_str());
    if role == SparkRole::Driver && serves_metrics(input.job) {
        labels.insert(METRICS_LABEL.to_owned(), METRICS_LABEL_VALUE.to_owned());
    }
    if let Some(role_spec) = role_spec(input, role) {
        labels.extend(role_spec.labels.clone());
    }
    labels
}

/// A job environment variable as a Kubernetes one.
pub fn env_var(var: &JobEnvVar) -> EnvVar {
    let value_from = if let Some(r) = &var.secret_key_ref {
        Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: r.name.clone(), key: r.key.clone(), optional: r.optional }),
            ..Default::default()
        })
    } else {
        var.config_map_key_ref.as_ref().map(|r| EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: r.name.clone(),
                key: r.key.clone(),
                optional: r.optional,
            }),
            ..Default::default()
        })
    };
    EnvVar { name: var.name.clone(), value: var.value.clone(), value_from }
}

/// The environment of a role's container: job-wide, then the role's own (which wins).
pub fn role_env(input: &RenderInput<'_>, role: SparkRole) -> Vec<EnvVar> {
    let spec = &input.job.job.spec;
    let mut vars: BTreeMap<String, EnvVar> = BTreeMap::new();
    let role_vars = role_spec(input, role).map(|r| r.env.as_slice()).unwrap_or_default();
    for var in spec.env.iter().chain(role_vars) {
        vars.insert(var.name.clone(), env_var(var));
    }
    vars.into_values().collect()
}

/// A role's pod template: the user's fragment underneath, then sparkplane's
/// shaping (security, scheduling, volumes, env) on top. The first container
/// is the Spark container (Spark's convention for templates).
pub fn pod_template(input: &RenderInput<'_>, role: SparkRole) -> PodTemplateSpec {
    let spec = &input.job.job.spec;
    let role_spec = role_spec(input, role);
    let mut template = role_spec.and_then(|r| r.pod_template.as_deref().cloned()).unwrap_or_default();
    let container_name = match role {
        SparkRole::Driver => DRIVER_CONTAINER,
        SparkRole::Executor => EXECUTOR_CONTAINER,
    };

    let meta = template.metadata.get_or_insert_with(Default::default);
    meta.labels.get_or_insert_with(Default::default).extend(pod_labels(input, role));
    if let Some(r) = role_spec
        && !r.annotations.is_empty()
    {
        meta.annotations.get_or_insert_with(Default::default).extend(r.annotations.clone());
    }
    let gang = super::scheduling::gang_annotations(input, role);
    if !gang.is_empty() {
        meta.annotations.get_or_insert_with(Default::default).extend(gang);
    }

    let pod = template.spec.get_or_insert_with(PodSpec::default);
    let mut security = pod.security_context.take().unwrap_or_default();
    let restricted = pod_security_context();
    security.run_as_non_root = Some(true);
    security.run_as_user = security.run_as_user.or(restricted.run_as_user);
    security.run_as_group = security.run_as_group.or(restricted.run_as_group);
    security.fs_group = security.fs_group.or(restricted.fs_group);
    security.seccomp_profile = restricted.seccomp_profile;
    pod.security_context = Some(security);
    pod.enable_service_links = Some(false);
    if role == SparkRole::Driver {
        // The driver's deadline is the run's: `timeouts.maxDuration`.
        if let Some(max) = spec.timeouts.as_ref().and_then(|t| t.max_duration) {
            pod.active_deadline_seconds = Some(i64::try_from(max.as_secs()).unwrap_or(i64::MAX));
        }
    }
    // Only the driver talks to the API server (it creates executors).
    pod.automount_service_account_token = Some(role == SparkRole::Driver);
    if role == SparkRole::Driver {
        pod.service_account_name = Some(driver_service_account(input));
    }
    if let Some(class) = &spec.priority_class_name {
        pod.priority_class_name = Some(class.clone());
    }
    if let Some(scheduler) = &spec.scheduler_name {
        pod.scheduler_name = Some(scheduler.clone());
    }
    if let Some(gang) = super::scheduling::gang(input) {
        pod.scheduler_name = Some(gang.scheduler_name().to_owned());
    }
    let mut selector: BTreeMap<String, String> = pod.node_selector.take().unwrap_or_default();
    selector.extend(spec.node_selector.clone());
    if let Some(r) = role_spec {
        selector.extend(r.node_selector.clone());
    }
    pod.node_selector = (!selector.is_empty()).then_some(selector);
    let mut tolerations: Vec<Toleration> = pod.tolerations.take().unwrap_or_default();
    tolerations.extend(spec.tolerations.iter().cloned());
    if let Some(r) = role_spec {
        tolerations.extend(r.tolerations.iter().cloned());
    }
    pod.tolerations = (!tolerations.is_empty()).then_some(tolerations);
    if let Some(affinity) = role_spec.and_then(|r| r.affinity.clone()).or_else(|| spec.affinity.clone()) {
        pod.affinity = Some(affinity);
    }
    // Image pull secrets travel as `spark.kubernetes.container.image.pullSecrets`
    // only: Spark appends that list to a template's own, so naming them here
    // too would list every secret twice in each driver and executor pod.
    let mounts = role_spec.map(|r| r.volume_mounts.clone()).unwrap_or_default();
    let mounted: Vec<_> = spec.volumes.iter().filter(|v| mounts.iter().any(|m| m.name == v.name)).cloned().collect();
    if !mounted.is_empty() {
        pod.volumes.get_or_insert_with(Vec::new).extend(mounted);
    }

    if pod.containers.is_empty() {
        pod.containers.push(Container { name: container_name.to_owned(), ..Default::default() });
    }
    let container = &mut pod.containers[0];
    if container.name.is_empty() {
        container.name = container_name.to_owned();
    }
    let mut csc = container.security_context.take().unwrap_or_default();
    let restricted = container_security_context();
    csc.allow_privilege_escalation = Some(false);
    csc.privileged = Some(false);
    csc.run_as_non_root = Some(true);
    csc.capabilities = restricted.capabilities;
    csc.seccomp_profile = restricted.seccomp_profile;
    container.security_context = Some(csc);
    let env = role_env(input, role);
    if !env.is_empty() {
        container.env.get_or_insert_with(Vec::new).extend(env);
    }
    if !mounts.is_empty() {
        container.volume_mounts.get_or_insert_with(Vec::new).extend(mounts);
    }
    // Every other container (sidecars, init containers) is held to the same bar.
    for extra in pod.containers.iter_mut().skip(1).chain(pod.init_containers.iter_mut().flatten()) {
        let mut csc = extra.security_context.take().unwrap_or_default();
        csc.allow_privilege_escalation = Some(false);
        csc.privileged = Some(false);
        csc.run_as_non_root = Some(true);
        csc.capabilities = container_security_context().capabilities;
        csc.seccomp_profile = container_security_context().seccomp_profile;
        extra.security_context = Some(csc);
    }
    template
}

/// What the driver may do, in its own namespace only: (resources, verbs) of the core API group.
pub const DRIVER_RULES: &[(&[&str], &[&str])] = &[
    (&["pods"], &["create", "delete", "deletecollection", "get", "list", "patch", "watch"]),
    (&["configmaps", "persistentvolumeclaims"], &["create", "delete", "deletecollection", "get", "list", "watch"]),
    (&["services"], &["create", "delete", "get", "list", "watch"]),
];

/// A job's namespaced identity: ServiceAccount, Role with `rules` (core API
/// group) and the RoleBinding between them, all named `name` with the job's
/// labels. The account does not mount its token by default; pods that need it say so.
pub fn rbac_objects(
    input: &RenderInput<'_>,
    name: &str,
    component: &str,
    rules: &[(&[&str], &[&str])],
) -> Vec<RenderedObject> {
    rbac_objects_in(object_meta(input, name, component), rules)
}

/// The one RBAC builder, for jobs and tenants alike: ServiceAccount, Role
/// (core API group `rules`) and RoleBinding, each with `meta` (name,
/// namespace, labels).
pub fn rbac_objects_in(meta: ObjectMeta, rules: &[(&[&str], &[&str])]) -> Vec<RenderedObject> {
    let name = meta.name.clone().unwrap_or_default();
    let namespace = meta.namespace.clone();
    let account =
        ServiceAccount { metadata: meta.clone(), automount_service_account_token: Some(false), ..Default::default() };
    let rules = rules
        .iter()
        .map(|(resources, verbs)| PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        })
        .collect();
    let role = Role { metadata: meta.clone(), rules: Some(rules) };
    let binding = RoleBinding {
        metadata: meta,
        role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name: name.clone() },
        subjects: Some(vec![Subject { kind: "ServiceAccount".into(), name, namespace, ..Default::default() }]),
    };
    vec![
        RenderedObject::from_resource(&account),
        RenderedObject::from_resource(&role),
        RenderedObject::from_resource(&binding),
    ]
}

/// The Spark property that picks the driver's executor pods allocator.
pub const ALLOCATOR_PROPERTY: &str = "spark.kubernetes.allocation.pods.allocator";
/// Its value for Spark 4.2's `DeploymentPodsAllocator` (SPARK-54173), which
/// Spark compares exactly (any other spelling is read as a class name).
pub const DEPLOYMENT_ALLOCATOR: &str = "deployment";

/// The allocators Spark knows by name (`deployment` from 4.2). Spark compares
/// the property's value with each exactly and reads any other value as the
/// class name of an allocator: `Deployment` would fail the driver at start.
pub const NAMED_ALLOCATORS: &[&str] = &["direct", "statefulset", DEPLOYMENT_ALLOCATOR];

/// What Spark 4.2's Deployment allocator calls in the `apps` group, and
/// nothing more: it creates one Deployment of executors per resource
/// profile, scales it through its `scale` subresource (fabric8's `scale(n)`:
/// a GET, then a PUT, then a GET of the Deployment) and deletes it when the
/// driver stops (ADR 0105).
pub const DEPLOYMENT_ALLOCATOR_RULES: &[(&[&str], &[&str])] =
    &[(&["deployments"], &["create", "delete", "get"]), (&["deployments/scale"], &["get", "update"])];

/// Whether a job's Spark properties pick the Deployment allocator.
pub fn uses_deployment_allocator(spark_conf: &BTreeMap<String, String>) -> bool {
    spark_conf.get(ALLOCATOR_PROPERTY).is_some_and(|v| v == DEPLOYMENT_ALLOCATOR)
}

/// The ServiceAccount, Role and RoleBinding the driver needs ([`DRIVER_RULES`],
/// and [`DEPLOYMENT_ALLOCATOR_RULES`] in the `apps` group only when the job
/// picks the Deployment allocator): nothing cluster-wide. Empty when the job
/// brings its own service account.
pub fn driver_rbac(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    if !renders_rbac(input) {
        return Vec::new();
    }
    let mut objects = rbac_objects(input, &driver_service_account(input), "rbac", DRIVER_RULES);
    if uses_deployment_allocator(&input.job.job.spec.spark_conf) {
        grant_in_group(&mut objects, "apps", DEPLOYMENT_ALLOCATOR_RULES);
    }
    objects
}

/// Adds `rules` in the API group `group` to each Role among `objects` (what
/// [`rbac_objects`] made, whose rules are the core group's).
pub fn grant_in_group(objects: &mut [RenderedObject], group: &str, rules: &[(&[&str], &[&str])]) {
    let granted: Vec<serde_json::Value> = rules
        .iter()
        .map(|(resources, verbs)| PolicyRule {
            api_groups: Some(vec![group.to_owned()]),
            resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
            verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        })
        .filter_map(|rule| serde_json::to_value(rule).ok())
        .collect();
    for role in objects.iter_mut().filter(|o| o.kind == "Role") {
        if let Some(existing) = role.body["rules"].as_array_mut() {
            existing.extend(granted.iter().cloned());
        }
    }
}

/// The label Spark puts on the driver and executor pods of an application,
/// valued with the application id.
pub const APP_SELECTOR_LABEL: &str = "spark-app-selector";
/// The label Spark puts on every driver and executor pod (`driver` or `executor`).
pub const SPARK_ROLE_LABEL: &str = "spark-role";

/// Which pods make up one application, for its NetworkPolicy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peers {
    /// Exactly this run: `spark-app-selector` is the run's application id
    /// (the native route sets it).
    Application,
    /// Every run of the job: the job and Kubeflow routes leave the application
    /// id to spark-submit, which draws it when the driver starts, so the
    /// policy can only name the job (`sparkplane.dev/job`) and Spark's pods
    /// (`spark-role`, which the submitter pod does not carry).
    Job,
}

impl Peers {
    /// The first part of the names of the application's NetworkPolicies:
    /// the run's prefix (`<job>-<8 hex>`), or `<job>-spark` for every run.
    fn policy_stem(self, input: &RenderInput<'_>) -> String {
        match self {
            Peers::Application => Names::of(input.job).prefix,
            Peers::Job => format!("{}-spark", input.job.name()),
        }
    }

    /// Every pod of the application: driver and executors.
    fn pods(self, input: &RenderInput<'_>) -> LabelSelector {
        match self {
            Peers::Application => LabelSelector {
                match_labels: Some(BTreeMap::from([(APP_SELECTOR_LABEL.to_owned(), Names::of(input.job).app_id)])),
                ..Default::default()
            },
            Peers::Job => LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    sparkplane_api::labels::JOB.to_owned(),
                    input.job.name().to_owned(),
                )])),
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: SPARK_ROLE_LABEL.to_owned(),
                    operator: "Exists".to_owned(),
                    values: None,
                }]),
            },
        }
    }

    /// The application's driver only: its pods' label and `spark-role: driver`
    /// (executors carry `spark-role: executor`).
    fn driver(self, input: &RenderInput<'_>) -> LabelSelector {
        let role = (SPARK_ROLE_LABEL.to_owned(), SparkRole::Driver.as_str().to_owned());
        let labels = match self {
            Peers::Application => BTreeMap::from([(APP_SELECTOR_LABEL.to_owned(), Names::of(input.job).app_id), role]),
            Peers::Job => BTreeMap::from([(sparkplane_api::labels::JOB.to_owned(), input.job.name().to_owned()), role]),
        };
        LabelSelector { match_labels: Some(labels), ..Default::default() }
    }
}

/// The NetworkPolicy that admits traffic into an application's driver and
/// executors only from pods of that same application. Spark's RPC and block
/// transfer ports are unauthenticated unless `spark.authenticate` is set, so
/// without it any pod that can reach an executor can run code in it. With a
/// tenant's default-deny (`sparkplane tenant render`) this is the one rule
/// that lets driver and executors talk; policies add up, so it isolates one
/// application from the tenant's others. Ingress only: egress is the
/// tenant's to decide, and an egress rule here would cut DNS and storage in a
/// namespace with no tenant policies.
pub fn peers_network_policy(input: &RenderInput<'_>, peers: Peers) -> RenderedObject {
    let name = format!("{}-peers", peers.policy_stem(input));
    let selector = peers.pods(input);
    RenderedObject::from_resource(&NetworkPolicy {
        metadata: object_meta(input, &name, "network"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector.clone()),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer { pod_selector: Some(selector), ..Default::default() }]),
                ports: None,
            }]),
            egress: None,
        }),
    })
}

/// The value of [`DOOR_LABEL`] on the door's pods.
pub const DOOR_LABEL_VALUE: &str = "true";
/// The label of the door's pods (the chart puts it on its History Server's pod).
pub const DOOR_LABEL: &str = sparkplane_api::labels::DOOR;

/// The door's pods as one NetworkPolicy peer: pods labelled [`DOOR_LABEL`]
/// in the door's namespace ([`ResolvedJob::door_namespace`]). Both
/// selectors are in the one peer, so a pod must match both (two peers would
/// admit either: any pod of that namespace, or a pod with the label in any
/// namespace).
///
/// [`ResolvedJob::door_namespace`]: crate::resolved::ResolvedJob::door_namespace
pub fn door_peer(input: &RenderInput<'_>) -> NetworkPolicyPeer {
    let selector = |key: &str, value: &str| LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])),
        ..Default::default()
    };
    NetworkPolicyPeer {
        namespace_selector: Some(selector(sparkplane_api::labels::NAMESPACE_NAME, input.job.door_namespace())),
        pod_selector: Some(selector(DOOR_LABEL, DOOR_LABEL_VALUE)),
        ip_block: None,
    }
}

/// The NetworkPolicy `name` that lets the door — the History Server that
/// forwards a running application's Spark UI (ADR 0095) — reach the pods of
/// `driver` on the UI port ([`UI_PORT`], TCP) and on no other port. Its own
/// policy rather than a rule of the peers policy: a policy's rules hold for
/// every pod it selects, and the peers policy selects the executors too.
/// Policies add up, so this opens nothing else. Ingress only, as the peers policy.
pub fn door_network_policy_for(input: &RenderInput<'_>, name: &str, driver: LabelSelector) -> RenderedObject {
    RenderedObject::from_resource(&NetworkPolicy {
        metadata: object_meta(input, name, "network"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(driver),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![door_peer(input)]),
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(UI_PORT)),
                    protocol: Some("TCP".to_owned()),
                    end_port: None,
                }]),
            }]),
            egress: None,
        }),
    })
}

/// The door's NetworkPolicy for a driver of `peers` ([`door_network_policy_for`]):
/// `<run>-ui-door` for exactly this run, `<job>-spark-ui-door` for every run of the job.
pub fn door_network_policy(input: &RenderInput<'_>, peers: Peers) -> RenderedObject {
    door_network_policy_for(input, &format!("{}-ui-door", peers.policy_stem(input)), peers.driver(input))
}

/// A role's pod template as the YAML file Spark reads (`spark.kubernetes.*.podTemplateFile`).
pub fn pod_template_file(input: &RenderInput<'_>, role: SparkRole) -> String {
    let template = pod_template(input, role);
    let pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": serde_json::to_value(template.metadata.unwrap_or_default()).unwrap_or_default(),
        "spec": serde_json::to_value(template.spec.unwrap_or_default()).unwrap_or_default(),
    });
    let text = sparkplane_documents::yaml::to_yaml(&pod);
    text.strip_prefix("---\n").unwrap_or(&text).to_owned()
}

/// How many times a failed run is retried: 0 under `Never` or no policy,
/// else `retries` (0 when unset).
pub fn retries(input: &RenderInput<'_>) -> u32 {
    match input.job.job.spec.restart_policy.as_ref() {
        Some(policy)
            if matches!(
                policy.kind,
                Some(RestartKind::OnFailure | RestartKind::OnInfrastructureFailure | RestartKind::Always)
            ) =>
        {
            policy.retries.unwrap_or(0)
        }
        _ => 0,
    }
}

/// Spark's main class for a non-JVM application, as spark-submit picks it.
pub fn runner_class(app_type: Option<AppType>) -> Option<&'static str> {
    match app_type {
        Some(AppType::Python) | Some(AppType::Sql) => Some("org.apache.spark.deploy.PythonRunner"),
        Some(AppType::R) => Some("org.apache.spark.deploy.RRunner"),
        _ => None,
    }
}

/// Where a SQL job's runner script lives in the image; it runs the `.sql`
/// file given as its first argument, statement by statement.
pub const SQL_RUNNER: &str = "local:///opt/sparkplane/run_sql.py";

/// The application resource and arguments spark-submit is given: for SQL
/// jobs, the runner script with the `.sql` file as first argument.
pub fn application(input: &RenderInput<'_>) -> (String, Vec<String>) {
    let spec = &input.job.job.spec;
    let file = spec.main_application_file.clone().unwrap_or_default();
    match spec.app_type {
        Some(AppType::Sql) => {
            let mut args = vec![file];
            args.extend(spec.arguments.iter().cloned());
            (SQL_RUNNER.to_owned(), args)
        }
        _ => (file, spec.arguments.clone()),
    }
}

/// spark-submit's arguments for a cluster-mode submission to `master`, with
/// every property as `--conf` (sorted) and the pod-template files at the given paths.
pub fn spark_submit_args(input: &RenderInput<'_>, master: &str, templates: Option<(&str, &str)>) -> Vec<String> {
    let spec = &input.job.job.spec;
    let mut args = vec![
        "--master".to_owned(),
        master.to_owned(),
        "--deploy-mode".to_owned(),
        "cluster".to_owned(),
        "--name".to_owned(),
        input.job.name().to_owned(),
    ];
    if let Some(class) = &spec.main_class {
        args.push("--class".into());
        args.push(class.clone());
    }
    let mut conf = spark_properties(input);
    if let Some((driver, executor)) = templates {
        conf.insert("spark.kubernetes.driver.podTemplateFile".into(), driver.to_owned());
        conf.insert("spark.kubernetes.executor.podTemplateFile".into(), executor.to_owned());
    }
    for (k, v) in conf {
        args.push("--conf".into());
        args.push(format!("{k}={v}"));
    }
    let (resource, app_args) = application(input);
    args.push(resource);
    args.extend(app_args);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_plan::{LocalContext, plan_local};
    use crate::render::job::tests::{JOB, job};
    use crate::render::{Target, render};

    const METRICS_ON: &[(&str, &str)] = &[
        ("spark.ui.prometheus.enabled", "true"),
        ("spark.metrics.conf.*.sink.prometheusServlet.class", "org.apache.spark.metrics.sink.PrometheusServlet"),
        ("spark.metrics.conf.*.sink.prometheusServlet.path", "/metrics/prometheus"),
        ("spark.metrics.namespace", "spark"),
    ];

    /// Every `key=value` a rendered object hands Spark, wherever the target keeps them.
    fn rendered_properties(objects: &[RenderedObject]) -> Vec<String> {
        let mut found = Vec::new();
        for object in objects {
            let text = serde_json::to_string(&object.body).unwrap_or_default();
            for (k, v) in METRICS_ON {
                // `--conf k=v` (Job), a `k=v` line of spark.properties (native), `sparkConf: {k: v}` (Kubeflow).
                if text.contains(&format!("{k}={v}")) || text.contains(&format!("\"{k}\":\"{v}\"")) {
                    found.push((*k).to_owned());
                }
            }
        }
        found.sort();
        found.dedup();
        found
    }

    fn driver_labels(objects: &[RenderedObject]) -> String {
        objects.iter().map(|o| serde_json::to_string(&o.body).unwrap_or_default()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn every_target_and_the_local_run_serve_prometheus_metrics_by_default() {
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let properties = spark_properties(&input);
        for (k, v) in METRICS_ON {
            assert_eq!(properties.get(*k).map(String::as_str), Some(*v), "{k}");
        }
        assert_eq!(
            properties.get("spark.kubernetes.driver.label.sparkplane.dev/metrics").map(String::as_str),
            Some("prometheus")
        );
        assert!(!properties.contains_key("spark.kubernetes.executor.label.sparkplane.dev/metrics"));
        let mut expected: Vec<String> = METRICS_ON.iter().map(|(k, _)| (*k).to_owned()).collect();
        expected.sort();
        for target in Target::ALL {
            let objects = render(&input, target);
            assert_eq!(rendered_properties(&objects), expected, "{}", target.name());
            // On the driver pod (native), its template (Kubeflow), or its template file (Job, YAML).
            let text = driver_labels(&objects);
            assert!(
                text.contains("\"sparkplane.dev/metrics\":\"prometheus\"")
                    || text.contains("sparkplane.dev/metrics: prometheus"),
                "{}",
                target.name()
            );
        }
        let ctx = LocalContext {
            machine_cores: 2,
            ui_port: 4040,
            event_log_dir: "/tmp/events".into(),
            job_dir: "/jobs".into(),
            run_id: "r".into(),
            sql_runner: "/lib/run_sql.py".into(),
        };
        let plan = plan_local(&resolved, &sized, &ctx).expect("a local plan");
        for (k, v) in METRICS_ON {
            assert!(plan.args.contains(&format!("{k}={v}")), "local run lacks {k}: {:?}", plan.args);
        }
    }

    /// Whether `selector` (matchLabels only, as every selector of the door's policies) picks a pod with `labels`.
    fn selects(selector: &serde_json::Value, labels: &BTreeMap<String, String>) -> bool {
        assert!(selector.get("matchExpressions").is_none(), "{selector}");
        let wanted = selector["matchLabels"].as_object().expect("matchLabels");
        !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
    }

    /// Whether a rule of a NetworkPolicy admits anything from a peer that names the door's label.
    fn names_the_door(rule: &serde_json::Value) -> bool {
        rule["from"].as_array().into_iter().flatten().any(|peer| peer.to_string().contains(DOOR_LABEL))
    }

    #[test]
    fn every_target_admits_the_door_to_the_drivers_ui_port_only_and_to_no_executor() {
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let names = Names::of(&resolved);
        // The pods as Spark labels them: the job's pod labels, the application id and the role.
        let pod = |role: SparkRole| {
            let mut labels = pod_labels(&input, role);
            labels.insert(APP_SELECTOR_LABEL.to_owned(), names.app_id.clone());
            labels.insert(SPARK_ROLE_LABEL.to_owned(), role.as_str().to_owned());
            labels
        };
        let (driver, executor) = (pod(SparkRole::Driver), pod(SparkRole::Executor));
        // One peer holding both selectors: a pod of the door's namespace AND with the door's label.
        let door = serde_json::json!([{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "sparkplane-system"}},
            "podSelector": {"matchLabels": {"sparkplane.dev/door": "true"}}
        }]);
        let expected = [
            (Target::Native, format!("{}-ui-door", names.prefix)),
            (Target::Kubeflow, "etl-spark-ui-door".to_owned()),
            (Target::Job, "etl-spark-ui-door".to_owned()),
        ];
        for (target, name) in expected {
            let objects = render(&input, target);
            let policies: Vec<&RenderedObject> = objects.iter().filter(|o| o.kind == "NetworkPolicy").collect();
            let door_rules: Vec<(&str, &serde_json::Value)> = policies
                .iter()
                .flat_map(|p| {
                    let rules = p.body["spec"]["ingress"].as_array().into_iter().flatten();
                    rules.filter(|rule| names_the_door(rule)).map(|rule| (p.name.as_str(), rule))
                })
                .collect();
            assert_eq!(door_rules.len(), 1, "{}: one rule admits the door: {door_rules:?}", target.name());
            let (policy_name, rule) = door_rules[0];
            assert_eq!(policy_name, name, "{}", target.name());
            assert_eq!(rule["from"], door, "{}", target.name());
            assert_eq!(rule["ports"], serde_json::json!([{"port": 4040, "protocol": "TCP"}]), "{}", target.name());
            let policy = &policies.iter().find(|p| p.name == name).expect("the door's policy").body;
            assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Ingress"]), "{}", target.name());
            assert!(policy["spec"].get("egress").is_none(), "{}", target.name());
            assert_eq!(policy["spec"]["ingress"].as_array().map(Vec::len), Some(1), "{}", target.name());
            assert_eq!(policy["metadata"]["namespace"], "data", "{}", target.name());
            let selector = &policy["spec"]["podSelector"];
            assert!(selects(selector, &driver), "{}: the driver is selected: {selector}", target.name());
            assert!(!selects(selector, &executor), "{}: no executor is selected: {selector}", target.name());
            // The application's own policy still admits its own pods only, from its own namespace.
            let peers = policies.iter().find(|p| p.name.ends_with("-peers")).expect("the peers policy");
            for peer in peers.body["spec"]["ingress"][0]["from"].as_array().expect("peers") {
                assert!(peer.get("namespaceSelector").is_none(), "{}: {peer}", target.name());
            }
            assert_eq!(policies.len(), 2, "{}", target.name());
        }
        // The native driver pod as rendered is the one the native policy selects.
        let objects = render(&input, Target::Native);
        let pod = objects.iter().find(|o| o.kind == "Pod").expect("the driver pod");
        let labels: BTreeMap<String, String> =
            serde_json::from_value(pod.body["metadata"]["labels"].clone()).expect("labels");
        let policy = objects.iter().find(|o| o.name == format!("{}-ui-door", names.prefix)).expect("the policy");
        assert!(selects(&policy.body["spec"]["podSelector"], &labels), "{labels:?}");
        let ports = &pod.body["spec"]["containers"][0]["ports"];
        assert!(
            ports.as_array().is_some_and(|p| p.iter().any(|p| p["name"] == UI_PORT_NAME && p["containerPort"] == 4040)),
            "the policy's port is the driver's UI: {ports}"
        );
    }

    #[test]
    fn the_drivers_role_grants_deployments_only_as_spark_s_deployment_allocator_calls_them() {
        let core = serde_json::json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "watch"]},
            {"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims"], "verbs": ["create", "delete", "deletecollection", "get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "delete", "get", "list", "watch"]},
        ]);
        let mut with_apps = core.as_array().cloned().unwrap_or_default();
        with_apps.push(serde_json::json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "delete", "get"]}));
        with_apps.push(
            serde_json::json!({"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update"]}),
        );
        let allocator = |value: &str| {
            JOB.replace("sparkVersion: \"3.5.3\"", "sparkVersion: \"4.2.1\"").replace(
                "spark.sql.shuffle.partitions: \"200\"",
                &format!("spark.sql.shuffle.partitions: \"200\", spark.kubernetes.allocation.pods.allocator: {value}"),
            )
        };
        // Another spelling (`Deployment`) is refused by validation: Spark would read it as a class name.
        for (text, rules) in [
            (JOB.to_owned(), &core),
            (allocator("deployment"), &serde_json::Value::Array(with_apps)),
            (allocator("statefulset"), &core),
        ] {
            let (resolved, sized) = job(&text);
            let input = RenderInput { job: &resolved, sized: &sized };
            let account = driver_service_account(&input);
            for target in Target::ALL {
                let objects = render(&input, target);
                let role = objects.iter().find(|o| o.kind == "Role" && o.name == account).expect("the driver's Role");
                assert_eq!(&role.body["rules"], rules, "{} with {:?}", target.name(), resolved.job.spec.spark_conf);
            }
        }
    }

    #[test]
    fn the_door_is_in_the_namespace_the_jobs_tenant_names() {
        let (mut resolved, sized) = job(JOB);
        assert_eq!(resolved.door_namespace(), "sparkplane-system");
        resolved.platform_namespace = Some("platform".to_owned());
        let input = RenderInput { job: &resolved, sized: &sized };
        for target in Target::ALL {
            let objects = render(&input, target);
            let policy = objects.iter().find(|o| o.name.ends_with("-ui-door")).expect("the door's policy");
            assert_eq!(
                policy.body["spec"]["ingress"][0]["from"][0]["namespaceSelector"],
                serde_json::json!({"matchLabels": {"kubernetes.io/metadata.name": "platform"}}),
                "{}",
                target.name()
            );
        }
    }

    #[test]
    fn a_job_that_turns_prometheus_off_gets_no_endpoint_and_no_metrics_label() {
        let (resolved, sized) =
            job(&JOB.replace("spark.sql.shuffle.partitions: \"200\"", "spark.ui.prometheus.enabled: \"false\""));
        let input = RenderInput { job: &resolved, sized: &sized };
        assert!(!serves_metrics(&resolved));
        assert!(metrics_properties(&resolved).is_empty());
        let properties = spark_properties(&input);
        assert_eq!(properties.get(PROMETHEUS_ENABLED_PROPERTY).map(String::as_str), Some("false"));
        assert!(!properties.keys().any(|k| k.starts_with("spark.metrics.")), "{properties:?}");
        for target in Target::ALL {
            assert!(!driver_labels(&render(&input, target)).contains(METRICS_LABEL), "{}", target.name());
        }
    }
}
