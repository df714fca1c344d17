//! The Connect route: a `type: Connect` SparkJob becomes a long-running Spark
//! Connect server (ADR 0039). Its driver is a StatefulSet of one running
//! `spark-submit --deploy-mode client` with Spark's `SparkConnectServer`, so
//! the driver is the pod Kubernetes keeps running and Spark creates the
//! executors on Kubernetes from the job's pod template, scaling them with
//! dynamic allocation. Beside it: the headless Service executors reach the
//! driver through, a Service for clients (gRPC 15002 and the Spark UI), the
//! executors' pod-template ConfigMap, the driver's RBAC, and three
//! NetworkPolicies (the application's peers, clients from the team's
//! namespaces only, and the door to the UI, ADR 0095).
//!
//! This module owns only the server's packaging: the StatefulSet, its
//! probes, its Services, the client-mode driver properties and the client
//! NetworkPolicy. Spark properties, labels, security contexts, pod templates,
//! names, RBAC, the peers and the door's policies come from [`super::common`], resources
//! from the sizing model, and which properties a Connect server owns from
//! [`crate::spark_connect`]. No secret value is written: the token is an
//! environment variable read from a Secret by reference.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, KeyToPath, Probe,
    ResourceRequirements, SecretKeySelector, Service, ServicePort, ServiceSpec, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::common::{
    self, APP_SELECTOR_LABEL, IN_CLUSTER_MASTER, Names, RenderInput, RenderedObject, SPARK_ROLE_LABEL, SparkRole,
    image, object_meta, pod_template, spark_properties,
};
use super::job::SUBMITTER_CONF_DIR;
use super::logging::{LOG4J2_FILE, log4j2_properties};
use super::native::{BLOCK_MANAGER_PORT, DRIVER_PORT, UI_PORT};
use crate::spark_connect::{self, GRPC_PORT, TOKEN_ENV, TOKEN_SECRET_KEY};

/// spark-submit in Apache Spark's images.
pub const SPARK_SUBMIT: &str = "/opt/spark/bin/spark-submit";
/// Where the executors' pod template is mounted in the driver.
pub const TEMPLATE_DIR: &str = "/opt/spark/pod-templates";
/// File (and ConfigMap key) of the executors' pod template.
pub const EXECUTOR_TEMPLATE_FILE: &str = "executor-pod-template.yaml";
/// Spark's scratch space in the driver.
pub const LOCAL_DIR: &str = "/var/data/spark-local";
/// Label on the server's driver pod; with `sparkplane.dev/job` it selects it.
pub const SERVER_LABEL: &str = sparkplane_api::labels::CONNECT_SERVER;
/// How long the server gets to answer on its gRPC port after a start before
/// the kubelet restarts it, when the job sets no `timeouts.driverStart`.
pub const DEFAULT_START_SECONDS: i32 = 300;
/// How long Spark gets to close its event log and sessions on a stop.
pub const TERMINATION_GRACE_SECONDS: i64 = 60;

/// Names of the server's objects: stable for the job (not per spec), so a
/// changed spec rolls the one server instead of starting a second.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectNames {
    /// The StatefulSet and the client Service: `<job>-connect`.
    pub server: String,
    /// Its one pod: `<job>-connect-0`.
    pub driver_pod: String,
    /// The headless Service governing the StatefulSet (executors → driver).
    pub driver_service: String,
    /// The executors' pod-template ConfigMap.
    pub templates: String,
    /// The NetworkPolicy admitting clients.
    pub clients_policy: String,
    /// The NetworkPolicy admitting the door to the UI.
    pub door_policy: String,
}

impl ConnectNames {
    /// The names for a job.
    pub fn of(input: &RenderInput<'_>) -> ConnectNames {
        let server = format!("{}-connect", input.job.name());
        ConnectNames {
            driver_pod: format!("{server}-0"),
            driver_service: format!("{server}-driver"),
            templates: format!("{server}-pod-templates"),
            clients_policy: format!("{server}-clients"),
            door_policy: format!("{server}-ui-door"),
            server,
        }
    }
}

/// Whether the job is a Connect server.
pub fn is_connect(input: &RenderInput<'_>) -> bool {
    input.job.job.spec.app_type == Some(sparkplane_api::job::AppType::Connect)
}

/// The labels that pick the server's driver pod (StatefulSet and Service selectors).
pub fn driver_selector(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (sparkplane_api::labels::JOB.to_owned(), input.job.name().to_owned()),
        (SERVER_LABEL.to_owned(), "server".to_owned()),
    ])
}

/// The driver's Spark properties: the job's ([`spark_properties`]) without
/// what the server owns ([`spark_connect::server_properties`]), plus what a
/// client-mode driver in a pod needs: its stable address for executors, its
/// ports, its own pod's name (executors are owned by it and go with it), and
/// the executors' pod template.
pub fn driver_properties(input: &RenderInput<'_>) -> BTreeMap<String, String> {
    let names = ConnectNames::of(input);
    let mut conf = spark_connect::server_properties(spark_properties(input), "0.0.0.0", GRPC_PORT);
    let namespace = input.job.namespace();
    let mut set = |k: &str, v: String| {
        conf.insert(k.to_owned(), v);
    };
    set("spark.submit.deployMode", "client".into());
    set("spark.driver.host", format!("{}.{}.{namespace}.svc", names.driver_pod, names.driver_service));
    set("spark.driver.bindAddress", "0.0.0.0".into());
    set("spark.driver.port", DRIVER_PORT.to_string());
    set("spark.driver.blockManager.port", BLOCK_MANAGER_PORT.to_string());
    set("spark.ui.port", UI_PORT.to_string());
    set("spark.kubernetes.driver.pod.name", names.driver_pod.clone());
    set("spark.kubernetes.executor.podNamePrefix", Names::of(input.job).prefix);
    set("spark.kubernetes.executor.podTemplateFile", format!("{TEMPLATE_DIR}/{EXECUTOR_TEMPLATE_FILE}"));
    set("spark.local.dir", LOCAL_DIR.into());
    conf
}

/// spark-submit's arguments: client mode against the in-cluster API server,
/// Spark's Connect server class, every property as `--conf` (sorted), and
/// `spark-internal` (the server's class is on Spark's own classpath).
pub fn submit_args(input: &RenderInput<'_>) -> Vec<String> {
    let mut args = vec![
        "--master".to_owned(),
        IN_CLUSTER_MASTER.to_owned(),
        "--deploy-mode".to_owned(),
        "client".to_owned(),
        "--name".to_owned(),
        input.job.name().to_owned(),
        "--class".to_owned(),
        spark_connect::SERVER_CLASS.to_owned(),
    ];
    for (k, v) in driver_properties(input) {
        args.push("--conf".into());
        args.push(format!("{k}={v}"));
    }
    args.push("spark-internal".into());
    args
}

/// The token variable: the job's own (a Secret reference; validation refuses
/// a value), or the job's token Secret ([`spark_connect::token_secret_name`]).
/// Never optional: a server without its token must not start.
fn token_var(input: &RenderInput<'_>) -> Option<EnvVar> {
    if spark_connect::token_env(&input.job.job.spec).is_some() {
        // `pod_template` already carries it from the job's env.
        return None;
    }
    Some(EnvVar {
        name: TOKEN_ENV.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: spark_connect::token_secret_name(input.job.name()),
                key: TOKEN_SECRET_KEY.to_owned(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
    })
}

fn tcp_probe(period: i32, failures: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction { port: IntOrString::Int(i32::from(GRPC_PORT)), host: None }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn driver_resources(input: &RenderInput<'_>) -> ResourceRequirements {
    let sized = &input.sized.driver;
    let quantity = |text: String| Quantity(text);
    let memory = format!("{}Mi", sized.pod_memory.mib());
    let mut requests = BTreeMap::from([
        ("cpu".to_owned(), quantity(sized.cpu_request.to_kubernetes())),
        ("memory".to_owned(), quantity(memory.clone())),
    ]);
    let mut limits = BTreeMap::from([("memory".to_owned(), quantity(memory))]);
    if let Some(limit) = sized.cpu_limit {
        limits.insert("cpu".to_owned(), quantity(limit.to_kubernetes()));
    }
    if let Some(gpu) = &sized.gpu {
        limits.insert(gpu.name.clone(), quantity(gpu.amount.to_string()));
        requests.insert(gpu.name.clone(), quantity(gpu.amount.to_string()));
    }
    ResourceRequirements { requests: Some(requests), limits: Some(limits), ..Default::default() }
}

/// The StatefulSet of one that runs the server's driver. Its pod is the
/// driver's pod template ([`pod_template`]: restricted security, the job's
/// scheduling, env and volumes) with spark-submit as its command, the
/// server's ports and probes, and the token from its Secret. Suspended jobs
/// keep the object with no replica.
pub fn stateful_set(input: &RenderInput<'_>) -> StatefulSet {
    let names = ConnectNames::of(input);
    let spec = &input.job.job.spec;
    let mut template = pod_template(input, SparkRole::Driver);
    let labels = template.metadata.get_or_insert_with(ObjectMeta::default).labels.get_or_insert_with(BTreeMap::new);
    labels.extend(driver_selector(input));
    labels.insert(SPARK_ROLE_LABEL.to_owned(), "driver".to_owned());
    // The tenant's policies let Spark pods (those carrying this label) reach
    // each other and the API server; Spark draws the application id itself
    // at each start, so the value names the rendered server instead.
    labels.insert(APP_SELECTOR_LABEL.to_owned(), Names::of(input.job).prefix);

    let pod = template.spec.get_or_insert_with(Default::default);
    // A StatefulSet's pod must restart in place and cannot carry a deadline.
    pod.restart_policy = Some("Always".into());
    pod.active_deadline_seconds = None;
    pod.termination_grace_period_seconds = Some(TERMINATION_GRACE_SECONDS);
    if let Some(img) = &spec.image
        && !img.pull_secrets.is_empty()
    {
        pod.image_pull_secrets.get_or_insert_with(Vec::new).extend(img.pull_secret_refs());
    }
    let volumes = pod.volumes.get_or_insert_with(Vec::new);
    volumes.push(Volume {
        name: "pod-templates".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: names.templates.clone(),
            items: Some(vec![KeyToPath {
                key: EXECUTOR_TEMPLATE_FILE.into(),
                path: EXECUTOR_TEMPLATE_FILE.into(),
                mode: None,
            }]),
            ..Default::default()
        }),
        ..Default::default()
    });
    // The log layout (render::logging) as the server's conf directory; the driver hands it on to its executors.
    volumes.push(Volume {
        name: "spark-conf".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: names.templates.clone(),
            items: Some(vec![KeyToPath { key: LOG4J2_FILE.into(), path: LOG4J2_FILE.into(), mode: None }]),
            ..Default::default()
        }),
        ..Default::default()
    });
    for name in ["spark-local", "tmp"] {
        volumes.push(Volume {
            name: name.into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        });
    }

    let start_seconds = spec
        .timeouts
        .as_ref()
        .and_then(|t| t.driver_start)
        .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX))
        .unwrap_or(DEFAULT_START_SECONDS);
    let container = &mut pod.containers[0];
    container.image = Some(image(input));
    container.image_pull_policy = spec.image.as_ref().and_then(|i| i.pull_policy).map(|p| p.as_str().to_owned());
    container.command = Some(vec![SPARK_SUBMIT.into()]);
    container.args = Some(submit_args(input));
    let port = |name: &str, port: i32| ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    container.ports = Some(vec![
        port("driver-rpc-port", DRIVER_PORT),
        port("blockmanager", BLOCK_MANAGER_PORT),
        port("spark-ui", UI_PORT),
        port("spark-connect", i32::from(GRPC_PORT)),
    ]);
    let env = container.env.get_or_insert_with(Vec::new);
    env.push(EnvVar { name: "SPARK_USER".into(), value: Some("spark".into()), value_from: None });
    env.push(EnvVar { name: "SPARK_CONF_DIR".into(), value: Some(SUBMITTER_CONF_DIR.into()), value_from: None });
    env.extend(token_var(input));
    container.resources = Some(driver_resources(input));
    // The server binds its gRPC port last, once its session is up (ADR 0022):
    // an accepted connection means it answers.
    container.startup_probe = Some(tcp_probe(5, (start_seconds / 5).max(1)));
    container.readiness_probe = Some(tcp_probe(10, 3));
    container.liveness_probe = Some(tcp_probe(20, 3));
    let mounts = container.volume_mounts.get_or_insert_with(Vec::new);
    mounts.push(VolumeMount {
        name: "pod-templates".into(),
        mount_path: TEMPLATE_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    });
    mounts.push(VolumeMount {
        name: "spark-conf".into(),
        mount_path: SUBMITTER_CONF_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    });
    mounts.push(VolumeMount { name: "spark-local".into(), mount_path: LOCAL_DIR.into(), ..Default::default() });
    mounts.push(VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() });

    StatefulSet {
        metadata: object_meta(input, &names.server, "connect-server"),
        spec: Some(StatefulSetSpec {
            replicas: Some(if spec.suspend == Some(true) { 0 } else { 1 }),
            service_name: Some(names.driver_service),
            selector: LabelSelector { match_labels: Some(driver_selector(input)), ..Default::default() },
            template,
            ..Default::default()
        }),
        status: None,
    }
}

fn service_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// The headless Service that governs the StatefulSet: the driver's stable
/// name for its executors. It publishes the pod before it is ready, because
/// executors must reach the driver while the server is still starting.
pub fn driver_service(input: &RenderInput<'_>) -> Service {
    let names = ConnectNames::of(input);
    Service {
        metadata: object_meta(input, &names.driver_service, "driver"),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            publish_not_ready_addresses: Some(true),
            selector: Some(driver_selector(input)),
            ports: Some(vec![
                service_port("driver-rpc-port", DRIVER_PORT),
                service_port("blockmanager", BLOCK_MANAGER_PORT),
            ]),
            ..Default::default()
        }),
        status: None,
    }
}

/// The Service clients use: `sc://<job>-connect.<namespace>.svc:15002`, and the UI.
pub fn client_service(input: &RenderInput<'_>) -> Service {
    let names = ConnectNames::of(input);
    Service {
        metadata: object_meta(input, &names.server, "connect-server"),
        spec: Some(ServiceSpec {
            selector: Some(driver_selector(input)),
            ports: Some(vec![
                ServicePort {
                    app_protocol: Some("grpc".into()),
                    ..service_port("spark-connect", i32::from(GRPC_PORT))
                },
                service_port("spark-ui", UI_PORT),
            ]),
            ..Default::default()
        }),
        status: None,
    }
}

/// The executors' pod template, as the file the driver reads, and the log layout.
pub fn templates_config_map(input: &RenderInput<'_>) -> ConfigMap {
    let names = ConnectNames::of(input);
    let data = BTreeMap::from([
        (EXECUTOR_TEMPLATE_FILE.to_owned(), common::pod_template_file(input, SparkRole::Executor)),
        (LOG4J2_FILE.to_owned(), log4j2_properties(input.job)),
    ]);
    ConfigMap { metadata: object_meta(input, &names.templates, "executor"), data: Some(data), ..Default::default() }
}

/// Where clients may come from: the job's own namespace, and the namespaces
/// of the job's team (every tenant namespace carries `sparkplane.dev/team`,
/// so these are the team's tenants and nothing else).
pub fn client_namespaces(input: &RenderInput<'_>) -> Vec<LabelSelector> {
    let selector = |key: &str, value: &str| LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])),
        ..Default::default()
    };
    let mut selectors = vec![selector(sparkplane_api::labels::NAMESPACE_NAME, input.job.namespace())];
    if let Some(team) = &input.job.job.spec.team {
        selectors.push(selector(sparkplane_api::labels::TEAM, team));
    }
    selectors
}

/// The NetworkPolicy admitting clients to the server's gRPC port and UI from
/// the team's namespaces only ([`client_namespaces`]). Ingress only, as the
/// peers policy (ADR 0011).
pub fn clients_network_policy(input: &RenderInput<'_>) -> RenderedObject {
    let names = ConnectNames::of(input);
    let port = |number: i32| NetworkPolicyPort {
        port: Some(IntOrString::Int(number)),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    RenderedObject::from_resource(&NetworkPolicy {
        metadata: object_meta(input, &names.clients_policy, "network"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(driver_selector(input)), ..Default::default() }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(
                    client_namespaces(input)
                        .into_iter()
                        .map(|namespaces| NetworkPolicyPeer {
                            namespace_selector: Some(namespaces),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ports: Some(vec![port(i32::from(GRPC_PORT)), port(UI_PORT)]),
            }]),
            egress: None,
        }),
    })
}

/// Every object of a Connect server.
pub fn render_connect(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    let mut objects = common::driver_rbac(input);
    objects.push(RenderedObject::from_resource(&templates_config_map(input)));
    objects.push(RenderedObject::from_resource(&driver_service(input)));
    objects.push(RenderedObject::from_resource(&client_service(input)));
    objects.push(RenderedObject::from_resource(&stateful_set(input)));
    objects.push(common::peers_network_policy(input, common::Peers::Job));
    objects.push(clients_network_policy(input));
    // The clients policy admits the team's namespaces, not the door's: the door has its own, to the UI only.
    let driver = LabelSelector { match_labels: Some(driver_selector(input)), ..Default::default() };
    objects.push(common::door_network_policy_for(input, &ConnectNames::of(input).door_policy, driver));
    objects
}
