//! The driver and executor of an imported application: the operator's
//! `SparkPodSpec` and each role's own fields, as SparkJob role fields.
//!
//! It owns which pod fields a SparkJob role carries, which it refuses and why
//! (restricted Pod Security, no container lists, settings that belong in a
//! pod template), and the environment (`env`, the deprecated `envVars` and
//! `envSecretKeyRefs`). Fields a SparkJob holds once for all pods (image,
//! scheduler, priority class, service account) are handed back for the
//! application to settle, since they need both roles.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k8s;
use sparkplane_api::job::{EnvVar, Gpu, KeyRef, RoleSpec};
use sparkplane_api::kubeflow::{self, SparkPodSpec};
use sparkplane_api::{CpuAmount, MemorySize, SparkSizeUnit};

use super::conf::{Draft, spark_memory};
use super::report::Ledger;
use sparkplane_documents::yaml::{FieldPath, NodeValue};

const USE_POD_TEMPLATE: &str = "pod-level setting with no SparkJob field; put it in the role's podTemplate";
const RESTRICTED: &str = "sparkplane renders the restricted Pod Security profile on every pod (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp)";

/// A value written at a path.
pub type At<T> = Option<(T, FieldPath)>;

/// One role's fields that need the other role to decide where they go.
#[derive(Default)]
pub struct RoleShared {
    /// The role's image.
    pub image: At<String>,
    /// The role's scheduler.
    pub scheduler_name: At<String>,
    /// The role's priority class.
    pub priority_class_name: At<String>,
    /// The role's service account.
    pub service_account: At<String>,
}

/// A value with the path it was written at, when written.
fn at<T>(value: Option<T>, path: FieldPath) -> At<T> {
    value.map(|v| (v, path))
}

/// Reads the driver into the draft.
pub fn driver(ledger: &mut Ledger<'_>, p: &FieldPath, spec: kubeflow::DriverSpec, draft: &mut Draft) -> RoleShared {
    let kubeflow::DriverSpec {
        pod,
        pod_name: _,
        core_request,
        java_options,
        lifecycle: _,
        kubernetes_master: _,
        service_annotations,
        service_labels,
        ports: _,
        priority_class_name,
    } = spec;
    let (mut role, mut shared) = pod_fields(ledger, p, pod);
    role.core_request = cpu(ledger, &p.key("coreRequest"), core_request);
    shared.priority_class_name = at(priority_class_name, p.key("priorityClassName"));
    for field in ["lifecycle", "ports"] {
        ledger.skip(&p.key(field), USE_POD_TEMPLATE);
    }
    let implied = &mut draft.implied_conf;
    if let Some(options) = java_options {
        implied.insert("spark.driver.extraJavaOptions".into(), (options, p.key("javaOptions")));
    }
    ledger.skip(&p.key("podName"), "only used in the operator's in-cluster-client mode");
    ledger.skip(&p.key("kubernetesMaster"), "the driver of a SparkJob always uses the in-cluster API server");
    for (field, prefix, map) in
        [("serviceAnnotations", "annotation", service_annotations), ("serviceLabels", "label", service_labels)]
    {
        for (key, value) in map {
            let path = p.key(field).key(&key);
            implied.insert(format!("spark.kubernetes.driver.service.{prefix}.{key}"), (value, path));
        }
    }
    draft.driver.role = role;
    shared
}

/// Reads the executors into the draft.
pub fn executor(ledger: &mut Ledger<'_>, p: &FieldPath, spec: kubeflow::ExecutorSpec, draft: &mut Draft) -> RoleShared {
    let kubeflow::ExecutorSpec {
        pod,
        instances,
        core_request,
        java_options,
        lifecycle: _,
        delete_on_termination,
        ports: _,
        priority_class_name,
    } = spec;
    let (mut role, mut shared) = pod_fields(ledger, p, pod);
    role.core_request = cpu(ledger, &p.key("coreRequest"), core_request);
    shared.priority_class_name = at(priority_class_name, p.key("priorityClassName"));
    for field in ["lifecycle", "ports"] {
        ledger.skip(&p.key(field), USE_POD_TEMPLATE);
    }
    let implied = &mut draft.implied_conf;
    if let Some(options) = java_options {
        implied.insert("spark.executor.extraJavaOptions".into(), (options, p.key("javaOptions")));
    }
    if let Some(delete) = delete_on_termination {
        implied.insert(
            "spark.kubernetes.executor.deleteOnTermination".into(),
            (delete.to_string(), p.key("deleteOnTermination")),
        );
    }
    draft.executor.instances = whole(ledger, &p.key("instances"), instances.map(i64::from));
    draft.executor.role = role;
    shared
}

/// The fields both roles have: those SparkJob keeps per role, and those it keeps once (returned).
fn pod_fields(ledger: &mut Ledger<'_>, p: &FieldPath, pod: SparkPodSpec) -> (RoleSpec, RoleShared) {
    let SparkPodSpec {
        template,
        cores,
        core_limit,
        memory,
        memory_overhead,
        gpu,
        image,
        config_maps: _,
        secrets: _,
        env,
        env_vars,
        env_from: _,
        env_secret_key_refs,
        labels,
        annotations,
        volume_mounts,
        affinity,
        tolerations,
        pod_security_context: _,
        security_context: _,
        scheduler_name,
        sidecars: _,
        init_containers: _,
        host_network: _,
        node_selector,
        dns_config: _,
        termination_grace_period_seconds: _,
        service_account,
        host_aliases: _,
        share_process_namespace: _,
    } = pod;
    let mut role = RoleSpec::default();
    match whole(ledger, &p.key("cores"), cores.map(i64::from)) {
        Some(0) => ledger.error("bad-value", &p.key("cores"), "cores must be at least 1", "write `cores: 1` or more"),
        cores => role.cores = cores,
    }
    role.core_limit = cpu(ledger, &p.key("coreLimit"), core_limit);
    role.memory = memory_size(ledger, &p.key("memory"), memory);
    role.memory_overhead = memory_size(ledger, &p.key("memoryOverhead"), memory_overhead);
    if let Some(kubeflow::GpuSpec { name, quantity }) = gpu
        && let Some(amount) = whole(ledger, &p.key("gpu").key("quantity"), Some(quantity))
    {
        role.gpu = Some(Gpu { name, amount, discovery_script: None });
    }
    let shared = RoleShared {
        image: at(image, p.key("image")),
        scheduler_name: at(scheduler_name, p.key("schedulerName")),
        priority_class_name: None,
        service_account: at(service_account, p.key("serviceAccount")),
    };
    role.env = environment(ledger, p, env, env_vars, env_secret_key_refs);
    role.labels = labels;
    role.annotations = annotations;
    role.volume_mounts = volume_mounts;
    role.affinity = affinity;
    role.tolerations = tolerations;
    role.node_selector = node_selector;
    role.pod_template = template.map(Box::new);

    for field in ["podSecurityContext", "securityContext"] {
        ledger.skip(&p.key(field), RESTRICTED);
    }
    ledger.skip(
        &p.key("hostNetwork"),
        "host networking is not allowed under the restricted Pod Security profile sparkplane renders",
    );
    for field in ["sidecars", "initContainers"] {
        ledger.skip(
            &p.key(field),
            "SparkJob has no container lists; add the containers to the role's podTemplate (after the Spark container)",
        );
    }
    for field in ["configMaps", "secrets"] {
        ledger.skip(
            &p.key(field),
            "mount it as a volume instead: a configMap or secret entry in spec.volumes and a volumeMount on the role",
        );
    }
    ledger.skip(
        &p.key("envFrom"),
        "SparkJob env holds single variables; list each key as an env entry with secretKeyRef or configMapKeyRef",
    );
    for field in ["dnsConfig", "terminationGracePeriodSeconds", "hostAliases", "shareProcessNamespace"] {
        ledger.skip(&p.key(field), USE_POD_TEMPLATE);
    }
    (role, shared)
}

/// A role's environment: `env` (plain values and Secret/ConfigMap keys) and the deprecated maps.
fn environment(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    env: Vec<k8s::EnvVar>,
    env_vars: BTreeMap<String, String>,
    refs: BTreeMap<String, kubeflow::NameKey>,
) -> Vec<EnvVar> {
    let mut out = Vec::new();
    // Items the reader could not read are not in `env`; the others keep their place in the input.
    let list = p.key("env");
    let count = ledger.root().get(&list).map_or(0, |n| match &n.value {
        NodeValue::Seq(items) => items.len(),
        _ => 0,
    });
    let places: Vec<usize> = (0..count).filter(|i| !ledger.left_out(&list.index(*i))).collect();
    for (i, var) in places.into_iter().zip(env) {
        if let Some(var) = env_var(ledger, &list.index(i), var) {
            out.push(var);
        }
    }
    for (name, value) in env_vars {
        out.push(EnvVar { name, value: Some(value), secret_key_ref: None, config_map_key_ref: None });
    }
    for (name, kubeflow::NameKey { name: object, key }) in refs {
        let key_ref = KeyRef { name: object, key, optional: None };
        out.push(EnvVar { name, value: None, secret_key_ref: Some(key_ref), config_map_key_ref: None });
    }
    out
}

fn env_var(ledger: &mut Ledger<'_>, p: &FieldPath, var: k8s::EnvVar) -> Option<EnvVar> {
    if ledger.root().get(p).is_some_and(|n| n.value == NodeValue::Null) {
        ledger.skip(p, "an empty entry (null); nothing to carry over");
        return None;
    }
    let k8s::EnvVar { name, value, value_from } = var;
    let k8s::EnvVarSource { config_map_key_ref, field_ref: _, resource_field_ref: _, secret_key_ref } =
        value_from.unwrap_or_default();
    // Any other source (fieldRef, resourceFieldRef, ones newer Kubernetes adds) leaves the variable out, as written.
    let from_path = p.key("valueFrom");
    let other = ledger.keys(&from_path).into_iter().find(|k| !matches!(k.as_str(), "secretKeyRef" | "configMapKeyRef"));
    if let Some(kind) = other {
        ledger.skip(p, format!("valueFrom.{kind} has no SparkJob equivalent (env carries plain values, secretKeyRef and configMapKeyRef)"));
        return None;
    }
    if ledger.text(&p.key("name")).is_none() {
        ledger.error("missing-field", p, "an environment variable without a `name`", "add `name:`");
        return None;
    }
    let secret =
        secret_key_ref.and_then(|r| key_ref(ledger, &from_path.key("secretKeyRef"), r.name, r.key, r.optional));
    let config =
        config_map_key_ref.and_then(|r| key_ref(ledger, &from_path.key("configMapKeyRef"), r.name, r.key, r.optional));
    Some(EnvVar { name, value, secret_key_ref: secret, config_map_key_ref: config })
}

fn key_ref(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    name: String,
    key: String,
    optional: Option<bool>,
) -> Option<KeyRef> {
    if ledger.text(&p.key("name")).is_none() || ledger.text(&p.key("key")).is_none() {
        ledger.error(
            "missing-field",
            p,
            "a key reference needs `name` and `key`",
            "write `{name: <object>, key: <key>}`",
        );
        return None;
    }
    Some(KeyRef { name, key, optional })
}

/// A whole number that must fit a `u32`.
pub fn whole(ledger: &mut Ledger<'_>, path: &FieldPath, value: Option<i64>) -> Option<u32> {
    let value = value?;
    match u32::try_from(value) {
        Ok(value) => Some(value),
        Err(_) => {
            ledger.error(
                "bad-value",
                path,
                format!("`{value}` is out of range"),
                "write a number from 0 to 4294967295",
            );
            None
        }
    }
}

/// A role memory field: the operator passes them to spark-submit as `spark.{role}.memory*`, read in MiB.
fn memory_size(ledger: &mut Ledger<'_>, path: &FieldPath, text: Option<String>) -> Option<MemorySize> {
    match spark_memory(&text?, SparkSizeUnit::Mib) {
        Ok(size) => Some(size),
        Err(message) => {
            ledger.error("bad-quantity", path, message, "write a memory size such as `512m`, `4g` or `4Gi`");
            None
        }
    }
}

fn cpu(ledger: &mut Ledger<'_>, path: &FieldPath, text: Option<String>) -> Option<CpuAmount> {
    match text?.parse::<CpuAmount>() {
        Ok(cpu) => Some(cpu),
        Err(err) => {
            ledger.error("bad-quantity", path, err.0, "write cores (`2`, `1.5`) or millicores (`500m`)");
            None
        }
    }
}
