//! The Kubeflow Spark Operator's `sparkoperator.k8s.io/v1beta2` API:
//! `SparkApplication` and `ScheduledSparkApplication`, as typed data; and its
//! `sparkoperator.k8s.io/v1alpha1` `SparkConnect` (a Spark Connect server).
//!
//! sparkplane reads these (`sparkplane import kubeflow`) and writes them (the
//! `kubeflow` render target). The types follow the operator's published Go
//! types field for field, with Kubernetes parts as k8s-openapi types, every
//! optional field skipped when unset and every map a `BTreeMap` so output is
//! deterministic. They hold no behaviour: converting to and from a SparkJob
//! is the core's job, and nothing here validates what the operator would.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, EnvFromSource, EnvVar, HostAlias, Lifecycle, PodDNSConfig, PodSecurityContext,
    PodTemplateSpec, SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::IngressTLS;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// The operator's API group.
pub const GROUP: &str = "sparkoperator.k8s.io";
/// `apiVersion` of every object of this API.
pub const API_VERSION: &str = "sparkoperator.k8s.io/v1beta2";
/// `kind` of a one-off application.
pub const KIND_SPARK_APPLICATION: &str = "SparkApplication";
/// `kind` of a scheduled application.
pub const KIND_SCHEDULED_SPARK_APPLICATION: &str = "ScheduledSparkApplication";

/// What a `SparkApplication` asks the operator to run: everything a
/// `spark-submit` command line carries, plus pod shaping.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "sparkoperator.k8s.io",
    version = "v1beta2",
    kind = "SparkApplication",
    plural = "sparkapplications",
    shortname = "sparkapp",
    namespaced,
    status = "SparkApplicationStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct SparkApplicationSpec {
    /// Application language.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub app_type: Option<ApplicationType>,
    /// Major Python version of the image (`"2"` or `"3"`); long obsolete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python_version: Option<String>,
    /// Deploy mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<DeployMode>,
    /// User to impersonate (`spark-submit --proxy-user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_user: Option<String>,
    /// Image of driver and executors, unless a role overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Pull policy: `Always`, `IfNotPresent` or `Never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Names of image pull secrets (plain strings, not references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    /// Entry class of JVM applications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_class: Option<String>,
    /// The application's jar, Python or R file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_application_file: Option<String>,
    /// Arguments of the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<String>,
    /// Spark version the application uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_version: Option<String>,
    /// Spark properties, as `--conf` would pass them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spark_conf: BTreeMap<String, String>,
    /// Hadoop properties; the operator prefixes each with `spark.hadoop.`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hadoop_conf: BTreeMap<String, String>,
    /// ConfigMap of Spark configuration files, mounted with `SPARK_CONF_DIR` pointing at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_config_map: Option<String>,
    /// ConfigMap of Hadoop configuration files, mounted with `HADOOP_CONF_DIR` pointing at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hadoop_config_map: Option<String>,
    /// Volumes driver and executors may mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// The driver.
    #[serde(default)]
    pub driver: DriverSpec,
    /// The executors.
    #[serde(default)]
    pub executor: ExecutorSpec,
    /// Dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deps: Option<Dependencies>,
    /// When the operator restarts the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Node selector of every pod (exclusive with the role-level one; being deprecated).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Legacy retry count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_retries: Option<i32>,
    /// Legacy retry interval, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<i64>,
    /// Memory overhead factor of both roles, as a decimal string (`"0.2"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_overhead_factor: Option<String>,
    /// Prometheus JMX-exporter wiring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
    /// Batch scheduler integration (`volcano`, `yunikorn`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_scheduler: Option<String>,
    /// Batch scheduler options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_scheduler_options: Option<BatchSchedulerConfiguration>,
    /// Seconds the finished object is kept before the operator deletes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_live_seconds: Option<i64>,
    /// Service and Ingress of the Spark UI.
    #[serde(rename = "sparkUIOptions", skip_serializing_if = "Option::is_none")]
    pub spark_ui_options: Option<SparkUiConfiguration>,
    /// Services and Ingresses for other driver ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub driver_ingress_options: Vec<DriverIngressConfiguration>,
    /// Dynamic allocation of executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_allocation: Option<DynamicAllocation>,
    /// Keep the application from starting (newer operator releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Application language.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplicationType {
    /// Java.
    Java,
    /// Scala.
    Scala,
    /// PySpark.
    Python,
    /// SparkR.
    R,
}

/// Deploy mode.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployMode {
    /// The driver runs in a pod of its own.
    #[serde(rename = "cluster")]
    Cluster,
    /// The driver runs in the submitting process.
    #[serde(rename = "client")]
    Client,
    /// The driver runs in a pod the user created.
    #[serde(rename = "in-cluster-client")]
    InClusterClient,
}

/// What driver and executor pods have in common.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SparkPodSpec {
    /// A pod template Spark merges its pod into (Spark ≥ 3.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
    /// Spark cores (`spark.{driver,executor}.cores`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores: Option<i32>,
    /// CPU limit of the pod (`1200m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_limit: Option<String>,
    /// Heap, in Spark's spelling (`512m`, `4g`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Memory overhead, in Spark's spelling (MiB when unitless).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_overhead: Option<String>,
    /// GPUs of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuSpec>,
    /// Image of this role, overriding the application's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// ConfigMaps mounted at paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_maps: Vec<NamePath>,
    /// Secrets mounted at paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretInfo>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Environment variables as a map (deprecated; use `env`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, String>,
    /// Sources of whole sets of environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Environment variables from Secret keys (deprecated; use `env`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_secret_key_refs: BTreeMap<String, NameKey>,
    /// Pod labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Pod annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Mounts of the application's volumes into the Spark container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
    /// Pod affinity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Pod tolerations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Pod security context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,
    /// Security context of the Spark container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    /// Scheduler of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<String>,
    /// Containers beside the Spark container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<Container>,
    /// Init containers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Host networking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// Node selector of the pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// DNS settings of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<PodDNSConfig>,
    /// Grace period of the pod's termination, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Service account of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// Extra `/etc/hosts` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_aliases: Vec<HostAlias>,
    /// One process namespace for all containers of the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_process_namespace: Option<bool>,
}

/// The driver.
///
/// Read without `#[serde(flatten)]`, through a flat twin (`role_wire!`), so a
/// reader sees every key: flattening buffers the shared fields, which loses
/// unknown keys and the reader's own handling of values.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", from = "DriverWire")]
pub struct DriverSpec {
    /// What the driver shares with executors.
    #[serde(flatten)]
    pub pod: SparkPodSpec,
    /// Name of a user-created driver pod (in-cluster-client mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// CPU request (`spark.kubernetes.driver.request.cores`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_request: Option<String>,
    /// Extra JVM options (`spark.driver.extraJavaOptions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub java_options: Option<String>,
    /// Lifecycle hooks of the Spark container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// API server URL the driver uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_master: Option<String>,
    /// Annotations of the driver's headless service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
    /// Labels of the driver's headless service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_labels: BTreeMap<String, String>,
    /// Extra container ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Priority class of the driver pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// The executors (read through a flat twin, as the driver).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", from = "ExecutorWire")]
pub struct ExecutorSpec {
    /// What executors share with the driver.
    #[serde(flatten)]
    pub pod: SparkPodSpec,
    /// Number of executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<i32>,
    /// CPU request (`spark.kubernetes.executor.request.cores`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_request: Option<String>,
    /// Extra JVM options (`spark.executor.extraJavaOptions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub java_options: Option<String>,
    /// Lifecycle hooks of the Spark container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// Delete executor pods when they end (`spark.kubernetes.executor.deleteOnTermination`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_on_termination: Option<bool>,
    /// Extra container ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Priority class of executor pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// Declares the flat twin a role is read through: the fields of
/// [`SparkPodSpec`] and the role's own side by side. Converting it builds the
/// `SparkPodSpec` field by field, so a field added there and not here does not
/// compile.
macro_rules! role_wire {
    ($wire:ident => $role:ident { $($field:ident: $ty:ty,)* }) => {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct $wire {
            template: Option<PodTemplateSpec>,
            cores: Option<i32>,
            core_limit: Option<String>,
            memory: Option<String>,
            memory_overhead: Option<String>,
            gpu: Option<GpuSpec>,
            image: Option<String>,
            config_maps: Vec<NamePath>,
            secrets: Vec<SecretInfo>,
            env: Vec<EnvVar>,
            env_vars: BTreeMap<String, String>,
            env_from: Vec<EnvFromSource>,
            env_secret_key_refs: BTreeMap<String, NameKey>,
            labels: BTreeMap<String, String>,
            annotations: BTreeMap<String, String>,
            volume_mounts: Vec<VolumeMount>,
            affinity: Option<Affinity>,
            tolerations: Vec<Toleration>,
            pod_security_context: Option<PodSecurityContext>,
            security_context: Option<SecurityContext>,
            scheduler_name: Option<String>,
            sidecars: Vec<Container>,
            init_containers: Vec<Container>,
            host_network: Option<bool>,
            node_selector: BTreeMap<String, String>,
            dns_config: Option<PodDNSConfig>,
            termination_grace_period_seconds: Option<i64>,
            service_account: Option<String>,
            host_aliases: Vec<HostAlias>,
            share_process_namespace: Option<bool>,
            $($field: $ty,)*
        }

        impl From<$wire> for $role {
            fn from(w: $wire) -> Self {
                let pod = SparkPodSpec {
                    template: w.template,
                    cores: w.cores,
                    core_limit: w.core_limit,
                    memory: w.memory,
                    memory_overhead: w.memory_overhead,
                    gpu: w.gpu,
                    image: w.image,
                    config_maps: w.config_maps,
                    secrets: w.secrets,
                    env: w.env,
                    env_vars: w.env_vars,
                    env_from: w.env_from,
                    env_secret_key_refs: w.env_secret_key_refs,
                    labels: w.labels,
                    annotations: w.annotations,
                    volume_mounts: w.volume_mounts,
                    affinity: w.affinity,
                    tolerations: w.tolerations,
                    pod_security_context: w.pod_security_context,
                    security_context: w.security_context,
                    scheduler_name: w.scheduler_name,
                    sidecars: w.sidecars,
                    init_containers: w.init_containers,
                    host_network: w.host_network,
                    node_selector: w.node_selector,
                    dns_config: w.dns_config,
                    termination_grace_period_seconds: w.termination_grace_period_seconds,
                    service_account: w.service_account,
                    host_aliases: w.host_aliases,
                    share_process_namespace: w.share_process_namespace,
                };
                $role { pod, $($field: w.$field,)* }
            }
        }
    };
}

role_wire!(DriverWire => DriverSpec {
    pod_name: Option<String>,
    core_request: Option<String>,
    java_options: Option<String>,
    lifecycle: Option<Lifecycle>,
    kubernetes_master: Option<String>,
    service_annotations: BTreeMap<String, String>,
    service_labels: BTreeMap<String, String>,
    ports: Vec<Port>,
    priority_class_name: Option<String>,
});

role_wire!(ExecutorWire => ExecutorSpec {
    instances: Option<i32>,
    core_request: Option<String>,
    java_options: Option<String>,
    lifecycle: Option<Lifecycle>,
    delete_on_termination: Option<bool>,
    ports: Vec<Port>,
    priority_class_name: Option<String>,
});

/// GPUs of a pod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GpuSpec {
    /// Extended resource name, e.g. `nvidia.com/gpu`.
    pub name: String,
    /// Devices per pod.
    pub quantity: i64,
}

/// A ConfigMap mounted at a path.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamePath {
    /// ConfigMap name.
    pub name: String,
    /// Mount path.
    pub path: String,
}

/// A Secret mounted at a path.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// Secret name.
    pub name: String,
    /// Mount path.
    pub path: String,
    /// `GCPServiceAccount`, `HadoopDelegationToken` or `Generic`.
    pub secret_type: String,
}

/// A key of a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NameKey {
    /// Secret name.
    pub name: String,
    /// Key within it.
    pub key: String,
}

/// A container port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Port name.
    pub name: String,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// Port number.
    pub container_port: i32,
}

/// Dependencies of the application.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dependencies {
    /// Jars (`spark.jars`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jars: Vec<String>,
    /// Files (`spark.files`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Python files (`spark.submit.pyFiles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub py_files: Vec<String>,
    /// Maven coordinates (`spark.jars.packages`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Maven coordinates to exclude (`spark.jars.excludes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_packages: Vec<String>,
    /// Extra Maven repositories (`spark.jars.repositories`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<String>,
    /// Archives (`spark.archives`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archives: Vec<String>,
}

/// When the operator restarts an application.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestartPolicy {
    /// `Never`, `OnFailure` or `Always`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RestartPolicyType>,
    /// Retries of a failed submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_submission_failure_retries: Option<i32>,
    /// Retries of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure_retries: Option<i32>,
    /// Seconds between submission retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_submission_failure_retry_interval: Option<i64>,
    /// Seconds between run retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure_retry_interval: Option<i64>,
}

/// Restart policy kind.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicyType {
    /// Never restart.
    Never,
    /// Restart after a failure.
    OnFailure,
    /// Restart after any end.
    Always,
}

/// Dynamic allocation of executors.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DynamicAllocation {
    /// Turns it on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Executors at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_executors: Option<i32>,
    /// Fewest executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_executors: Option<i32>,
    /// Most executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_executors: Option<i32>,
    /// Shuffle tracking (the operator defaults it to true when dynamic allocation is on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_tracking_enabled: Option<bool>,
    /// Milliseconds an executor holding shuffle data is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_tracking_timeout: Option<i64>,
}

/// Prometheus JMX-exporter wiring.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// Expose driver metrics.
    #[serde(default)]
    pub expose_driver_metrics: bool,
    /// Expose executor metrics.
    #[serde(default)]
    pub expose_executor_metrics: bool,
    /// Content of a `metrics.properties`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_properties: Option<String>,
    /// Path of a `metrics.properties` in the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_properties_file: Option<String>,
    /// The JMX exporter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSpec>,
}

/// The Prometheus JMX exporter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusSpec {
    /// Path of the exporter jar in the image.
    pub jmx_exporter_jar: String,
    /// Port of the exporter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Name of that port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// Path of the exporter's configuration in the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Content of the exporter's configuration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
}

/// Batch scheduler options.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchSchedulerConfiguration {
    /// Queue of the application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Priority class of the pod group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Resources the scheduler reserves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Quantity>,
}

/// Service and Ingress of the Spark UI.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SparkUiConfiguration {
    /// Service port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_port: Option<i32>,
    /// Service port name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_port_name: Option<String>,
    /// Service type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Service annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
    /// Service labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_labels: BTreeMap<String, String>,
    /// Ingress annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ingress_annotations: BTreeMap<String, String>,
    /// Ingress TLS.
    #[serde(rename = "ingressTLS", default, skip_serializing_if = "Vec::is_empty")]
    pub ingress_tls: Vec<IngressTLS>,
}

/// Service and Ingress of another driver port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriverIngressConfiguration {
    /// Service port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_port: Option<i32>,
    /// Service port name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_port_name: Option<String>,
    /// Service type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    /// Service annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_annotations: BTreeMap<String, String>,
    /// Service labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_labels: BTreeMap<String, String>,
    /// URL format of the Ingress.
    #[serde(rename = "ingressURLFormat", skip_serializing_if = "Option::is_none")]
    pub ingress_url_format: Option<String>,
    /// Ingress annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ingress_annotations: BTreeMap<String, String>,
    /// Ingress TLS.
    #[serde(rename = "ingressTLS", default, skip_serializing_if = "Vec::is_empty")]
    pub ingress_tls: Vec<IngressTLS>,
}

/// What the operator observed of an application (read only).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SparkApplicationStatus {
    /// Spark's application id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_application_id: Option<String>,
    /// Id of the current submission.
    #[serde(rename = "submissionID", skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    /// When the last submission was attempted (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_submission_attempt_time: Option<String>,
    /// When the application ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_time: Option<String>,
    /// The driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_info: Option<DriverInfo>,
    /// Overall state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_state: Option<ApplicationState>,
    /// State of each executor pod, by pod name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub executor_state: BTreeMap<String, String>,
    /// Runs attempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_attempts: Option<i32>,
    /// Submissions attempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_attempts: Option<i32>,
}

/// Overall state of an application.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationState {
    /// `SUBMITTED`, `RUNNING`, `COMPLETED`, `FAILED`, …
    #[serde(default)]
    pub state: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// What the operator knows of the driver.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct DriverInfo {
    /// Service of the Spark UI.
    #[serde(rename = "webUIServiceName", skip_serializing_if = "Option::is_none")]
    pub web_ui_service_name: Option<String>,
    /// Cluster address of the Spark UI.
    #[serde(rename = "webUIAddress", skip_serializing_if = "Option::is_none")]
    pub web_ui_address: Option<String>,
    /// Port of the Spark UI.
    #[serde(rename = "webUIPort", skip_serializing_if = "Option::is_none")]
    pub web_ui_port: Option<i32>,
    /// Ingress of the Spark UI.
    #[serde(rename = "webUIIngressName", skip_serializing_if = "Option::is_none")]
    pub web_ui_ingress_name: Option<String>,
    /// Address of that Ingress.
    #[serde(rename = "webUIIngressAddress", skip_serializing_if = "Option::is_none")]
    pub web_ui_ingress_address: Option<String>,
    /// Driver pod name.
    #[serde(rename = "podName", skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
}

/// A `SparkApplication` created from a template on a cron schedule.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "sparkoperator.k8s.io",
    version = "v1beta2",
    kind = "ScheduledSparkApplication",
    plural = "scheduledsparkapplications",
    shortname = "scheduledsparkapp",
    namespaced,
    status = "ScheduledSparkApplicationStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledSparkApplicationSpec {
    /// Cron schedule (five fields, `@daily`, or the operator's `@every 5m`).
    pub schedule: String,
    /// IANA time zone of the schedule (newer operator releases; default: the operator's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The application each run creates.
    pub template: SparkApplicationSpec,
    /// Suspend further runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// What to do when a run is still going at the next tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    /// Successful runs kept (operator default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successful_run_history_limit: Option<i32>,
    /// Failed runs kept (operator default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_run_history_limit: Option<i32>,
}

/// Concurrency policy of a schedule.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    /// Runs may overlap.
    Allow,
    /// Skip a tick while a run is going.
    Forbid,
    /// Stop the running one and start anew.
    Replace,
}

/// What the operator observed of a schedule (read only).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledSparkApplicationStatus {
    /// When the last run started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// When the next run starts (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
    /// Name of the last run's SparkApplication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_name: Option<String>,
    /// Names of kept successful runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_successful_run_names: Vec<String>,
    /// Names of kept failed runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_failed_run_names: Vec<String>,
    /// `Validating`, `Scheduled` or `FailedValidation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_state: Option<String>,
    /// Why the schedule is in that state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_operators_spelling() {
        let json = serde_json::json!({
            "apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "SparkApplication",
            "metadata": {"name": "pi", "namespace": "jobs"},
            "spec": {
                "type": "Scala",
                "mode": "cluster",
                "sparkVersion": "3.5.3",
                "image": "spark:3.5.3",
                "imagePullSecrets": ["regcred"],
                "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
                "sparkUIOptions": {"servicePort": 4040},
                "driver": {"cores": 1, "coreRequest": "500m", "memory": "512m", "serviceAccount": "spark",
                           "gpu": {"name": "nvidia.com/gpu", "quantity": 1}},
                "executor": {"instances": 2, "memory": "1g", "deleteOnTermination": false},
                "restartPolicy": {"type": "OnFailure", "onFailureRetries": 3, "onFailureRetryInterval": 10},
                "dynamicAllocation": {"enabled": true, "shuffleTrackingEnabled": true}
            }
        });
        let app: SparkApplication = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(app.spec.app_type, Some(ApplicationType::Scala));
        assert_eq!(app.spec.mode, Some(DeployMode::Cluster));
        assert_eq!(app.spec.driver.pod.cores, Some(1));
        assert_eq!(app.spec.driver.core_request.as_deref(), Some("500m"));
        assert_eq!(app.spec.driver.pod.gpu.as_ref().map(|g| g.quantity), Some(1));
        assert_eq!(app.spec.executor.delete_on_termination, Some(false));
        assert_eq!(app.spec.restart_policy.as_ref().and_then(|r| r.kind), Some(RestartPolicyType::OnFailure));
        assert_eq!(serde_json::to_value(&app).unwrap(), json);
    }

    #[test]
    fn scheduled_application_wraps_a_template() {
        let json = serde_json::json!({
            "apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "ScheduledSparkApplication",
            "metadata": {"name": "nightly"},
            "spec": {
                "schedule": "0 2 * * *",
                "timeZone": "Europe/Berlin",
                "concurrencyPolicy": "Forbid",
                "template": {"type": "Python", "driver": {}, "executor": {}}
            }
        });
        let app: ScheduledSparkApplication = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(app.spec.concurrency_policy, Some(ConcurrencyPolicy::Forbid));
        assert_eq!(app.spec.template.app_type, Some(ApplicationType::Python));
        assert_eq!(serde_json::to_value(&app).unwrap(), json);
    }
}

/// `apiVersion` of the operator's `SparkConnect` (operator v2.3 and later).
pub const API_VERSION_V1ALPHA1: &str = "sparkoperator.k8s.io/v1alpha1";
/// `kind` of a Spark Connect server.
pub const KIND_SPARK_CONNECT: &str = "SparkConnect";

/// The `apiVersion` Kubeflow serves `kind` at: `v1alpha1` for a
/// SparkConnect, `v1beta2` for the two application kinds.
pub fn api_version_of(kind: &str) -> &'static str {
    if kind == KIND_SPARK_CONNECT { API_VERSION_V1ALPHA1 } else { API_VERSION }
}

/// The version alone (`v1beta2`, `v1alpha1`) of [`api_version_of`].
pub fn version_of(kind: &str) -> &'static str {
    api_version_of(kind).rsplit_once('/').map_or("", |(_, version)| version)
}

/// The resource (plural) name of `kind` in the API's paths.
pub fn plural_of(kind: &str) -> &'static str {
    match kind {
        KIND_SCHEDULED_SPARK_APPLICATION => "scheduledsparkapplications",
        KIND_SPARK_CONNECT => "sparkconnects",
        _ => "sparkapplications",
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn each_kind_has_its_version_and_plural() {
        let table = [
            (KIND_SPARK_APPLICATION, "sparkoperator.k8s.io/v1beta2", "v1beta2", "sparkapplications"),
            (KIND_SCHEDULED_SPARK_APPLICATION, "sparkoperator.k8s.io/v1beta2", "v1beta2", "scheduledsparkapplications"),
            (KIND_SPARK_CONNECT, "sparkoperator.k8s.io/v1alpha1", "v1alpha1", "sparkconnects"),
        ];
        for (kind, api_version, version, plural) in table {
            assert_eq!(
                (api_version_of(kind), version_of(kind), plural_of(kind)),
                (api_version, version, plural),
                "{kind}"
            );
        }
    }
}

/// What a `SparkConnect` (`sparkoperator.k8s.io/v1alpha1`) asks the operator
/// to run: a long-running Spark Connect server and its executors. Field for
/// field as the operator's `api/v1alpha1/sparkconnect_types.go` publishes
/// them; `sparkVersion`, `server` and `executor` are required there.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "sparkoperator.k8s.io",
    version = "v1alpha1",
    kind = "SparkConnect",
    plural = "sparkconnects",
    shortname = "sparkconn",
    namespaced,
    status = "SparkConnectStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct SparkConnectSpec {
    /// Spark version of the server.
    #[serde(default)]
    pub spark_version: String,
    /// Image of server and executors, unless a role's template overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Hadoop properties, passed as `spark.hadoop.*`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hadoop_conf: BTreeMap<String, String>,
    /// Spark properties, passed as `--conf`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spark_conf: BTreeMap<String, String>,
    /// The server (its driver).
    #[serde(default)]
    pub server: ConnectServerSpec,
    /// The executors.
    #[serde(default)]
    pub executor: ConnectExecutorSpec,
    /// Dynamic allocation of executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_allocation: Option<DynamicAllocation>,
    /// When the operator restarts the server's pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<ConnectRestartPolicy>,
}

/// The server's pod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectServerSpec {
    /// `spark.driver.cores`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores: Option<i32>,
    /// Memory of the server (`spark.driver.memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// A pod template for what Spark's properties cannot say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
    /// The Service exposing the server (the operator creates a default one without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<k8s_openapi::api::core::v1::Service>,
}

/// The executors' pods.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectExecutorSpec {
    /// `spark.executor.cores`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cores: Option<i32>,
    /// Memory of each executor (`spark.executor.memory`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// A pod template for what Spark's properties cannot say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<PodTemplateSpec>,
    /// Number of executors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<i32>,
}

/// When the operator restarts a Spark Connect server's pod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectRestartPolicy {
    /// `Never`, `Always` or `OnFailure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy_type: Option<RestartPolicyType>,
    /// Restarts after failures before giving up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure_retries: Option<i32>,
    /// Seconds between restarts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure_retry_interval: Option<i64>,
}

/// Observed state of a `SparkConnect`, written by the operator: field for
/// field the status schema of Kubeflow's `sparkconnects` CRD at the commit
/// `charts/sparkplane/files/kubeflow` pins (no field it does not list: the
/// API server would prune it).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SparkConnectStatus {
    /// Conditions, one per `type` (a map list): Kubeflow's `ServerPodReady`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `Provisioning`, `Ready`, `NotReady` or `Failed` (empty when new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The server's pod, its IP and its Service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<SparkConnectServerStatus>,
    /// Executor pods by phase, in lower case (`running: 2`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub executors: BTreeMap<String, i64>,
    /// When the operator first served the resource (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the operator last changed this status (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
}

/// Where the server runs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SparkConnectServerStatus {
    /// The server's pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// Its IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    /// The Service exposing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}
