//! The Kubeflow route: a `sparkoperator.k8s.io/v1beta2` SparkApplication (a
//! ScheduledSparkApplication when the job has a cron schedule) for the
//! Kubeflow Spark Operator, plus the driver's least-privilege RBAC.
//!
//! This module owns only the packaging: which operator field carries which
//! part of the submission. Resources come from the sizing model; Spark
//! properties, labels, security contexts, pod shaping, images, names and RBAC
//! come from [`super::common`]. It must not derive any of those itself.
//!
//! Each setting is said once: what a typed SparkApplication field carries
//! (resources, image, dependencies, dynamic allocation, service account,
//! labels, annotations, node selectors, scheduler) is left out of `sparkConf`
//! (see [`typed_spark_keys`]). The role's pod template from `common` is split
//! the same way: what has a typed field (labels, env, mounts, tolerations,
//! affinity, …) moves there; the rest (sidecars, `enableServiceLinks`, the
//! service-account token, the driver's deadline, and the restricted security
//! contexts, which are kept in the template as well so it is a restricted pod
//! on its own) stays in the role's `template`.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use serde_json::Value;
use sparkplane_api::job::{AppType, RestartKind};
use sparkplane_api::kubeflow::{
    self, ApplicationType, ConcurrencyPolicy, DeployMode, DriverSpec, DynamicAllocation, ExecutorSpec, GpuSpec,
    RestartPolicy, RestartPolicyType, ScheduledSparkApplication, ScheduledSparkApplicationSpec, SparkApplication,
    SparkApplicationSpec, SparkPodSpec,
};

use super::common::{
    self, RenderInput, RenderedObject, SparkRole, application, object_meta, pod_resources, pod_template,
    spark_properties,
};
use super::logging;

/// Spark properties the SparkApplication states through typed fields; the
/// operator passes those to spark-submit itself.
const TYPED_KEYS: &[&str] = &[
    // metadata.name and metadata.namespace
    "spark.app.name",
    "spark.kubernetes.namespace",
    // image, imagePullPolicy, imagePullSecrets
    "spark.kubernetes.container.image",
    "spark.kubernetes.container.image.pullPolicy",
    "spark.kubernetes.container.image.pullSecrets",
    // driver.serviceAccount
    "spark.kubernetes.authenticate.driver.serviceAccountName",
    // driver and executor resources
    "spark.driver.cores",
    "spark.driver.memory",
    "spark.driver.memoryOverhead",
    "spark.kubernetes.driver.request.cores",
    "spark.kubernetes.driver.limit.cores",
    "spark.executor.cores",
    "spark.executor.memory",
    "spark.executor.memoryOverhead",
    "spark.kubernetes.executor.request.cores",
    "spark.kubernetes.executor.limit.cores",
    "spark.executor.instances",
    // dynamicAllocation
    "spark.dynamicAllocation.enabled",
    "spark.dynamicAllocation.minExecutors",
    "spark.dynamicAllocation.maxExecutors",
    "spark.dynamicAllocation.initialExecutors",
    "spark.dynamicAllocation.shuffleTracking.enabled",
    // deps
    "spark.jars",
    "spark.submit.pyFiles",
    "spark.files",
    "spark.archives",
    "spark.jars.packages",
    "spark.jars.excludes",
    "spark.jars.repositories",
    // driver.schedulerName and executor.schedulerName
    "spark.kubernetes.scheduler.name",
];

/// Prefixes of Spark properties the typed role fields state (nodeSelector, labels, annotations).
const TYPED_PREFIXES: &[&str] = &[
    "spark.kubernetes.node.selector.",
    "spark.kubernetes.driver.node.selector.",
    "spark.kubernetes.executor.node.selector.",
    "spark.kubernetes.driver.label.",
    "spark.kubernetes.executor.label.",
    "spark.kubernetes.driver.annotation.",
    "spark.kubernetes.executor.annotation.",
];

/// Whether a Spark property is stated by a typed SparkApplication field, and so
/// is left out of `sparkConf`. `spark.hadoop.*` properties move to `hadoopConf`
/// separately (see [`spark_and_hadoop_conf`]). GPU properties
/// (`spark.*.resource.gpu.*`) stay: the typed `gpu` only sets the pod's limit.
pub fn typed_spark_keys(key: &str) -> bool {
    TYPED_KEYS.contains(&key) || TYPED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// `sparkConf` and `hadoopConf` of the SparkApplication: the job's Spark
/// properties without those typed fields state, with the job's Hadoop
/// properties (still in effect) moved to `hadoopConf`.
pub fn spark_and_hadoop_conf(input: &RenderInput<'_>) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut spark = spark_properties(input);
    spark.retain(|k, _| !typed_spark_keys(k));
    let mut hadoop = BTreeMap::new();
    for (key, value) in &input.job.job.spec.hadoop_conf {
        let property = format!("spark.hadoop.{key}");
        // A sparkConf entry of the same name overrides it; then it stays in sparkConf.
        if spark.get(&property) == Some(value) {
            spark.remove(&property);
            hadoop.insert(key.clone(), value.clone());
        }
    }
    (spark, hadoop)
}

/// A role's operator fields, taken from the sized pod and `common`'s pod template.
struct RolePod {
    pod: SparkPodSpec,
    core_request: Option<String>,
    priority_class_name: Option<String>,
}

fn role_pod(input: &RenderInput<'_>, role: SparkRole) -> RolePod {
    let sized = pod_resources(input, role);
    let spec = &input.job.job.spec;
    let job_volumes: BTreeSet<&str> = spec.volumes.iter().map(|v| v.name.as_str()).collect();
    let mut template: PodTemplateSpec = pod_template(input, role);
    let mut pod = SparkPodSpec {
        cores: Some(i32::try_from(sized.spark_cores).unwrap_or(i32::MAX)),
        core_limit: sized.cpu_limit.map(|c| c.to_kubernetes()),
        memory: Some(sized.heap.to_spark()),
        memory_overhead: Some(sized.overhead.to_spark()),
        gpu: sized.gpu.as_ref().map(|g| GpuSpec { name: g.name.clone(), quantity: i64::from(g.amount) }),
        ..Default::default()
    };
    if let Some(meta) = template.metadata.take() {
        pod.labels = meta.labels.unwrap_or_default();
        pod.annotations = meta.annotations.unwrap_or_default();
    }
    // The Kubeflow operator makes the gang itself from `batchScheduler`.
    for key in super::scheduling::gang_annotations(input, role).keys() {
        pod.annotations.remove(key);
    }
    let mut priority_class_name = None;
    if let Some(spec_pod) = template.spec.as_mut() {
        pod.pod_security_context = spec_pod.security_context.clone();
        pod.node_selector = spec_pod.node_selector.take().unwrap_or_default();
        pod.tolerations = spec_pod.tolerations.take().unwrap_or_default();
        pod.affinity = spec_pod.affinity.take();
        pod.scheduler_name = spec_pod.scheduler_name.take();
        pod.service_account = spec_pod.service_account_name.take();
        priority_class_name = spec_pod.priority_class_name.take();
        // Pull secrets are the application's `imagePullSecrets`.
        spec_pod.image_pull_secrets = None;
        if let Some(volumes) = spec_pod.volumes.as_mut() {
            volumes.retain(|v| !job_volumes.contains(v.name.as_str()));
        }
        if spec_pod.volumes.as_ref().is_some_and(Vec::is_empty) {
            spec_pod.volumes = None;
        }
        if let Some(container) = spec_pod.containers.first_mut() {
            pod.security_context = container.security_context.clone();
            pod.env = container.env.take().unwrap_or_default();
            let (typed, own): (Vec<_>, Vec<_>) = container
                .volume_mounts
                .take()
                .unwrap_or_default()
                .into_iter()
                .partition(|m| job_volumes.contains(m.name.as_str()));
            pod.volume_mounts = typed;
            container.volume_mounts = (!own.is_empty()).then_some(own);
        }
    }
    pod.template = Some(template);
    let core_request = Some(sized.cpu_request.to_kubernetes());
    RolePod { pod, core_request, priority_class_name }
}

fn restart_policy(input: &RenderInput<'_>) -> Option<RestartPolicy> {
    let policy = input.job.job.spec.restart_policy.as_ref()?;
    let kind = policy.kind.map(|k| match k {
        RestartKind::Never => RestartPolicyType::Never,
        // Kubeflow cannot tell the application's failures from the infrastructure's.
        RestartKind::OnFailure | RestartKind::OnInfrastructureFailure => RestartPolicyType::OnFailure,
        RestartKind::Always => RestartPolicyType::Always,
    });
    if kind == Some(RestartPolicyType::Never) {
        return Some(RestartPolicy { kind, ..Default::default() });
    }
    let count = Some(i32::try_from(common::retries(input)).unwrap_or(i32::MAX));
    // The operator waits a fixed interval; exponential growth has no operator field.
    let interval =
        policy.backoff.as_ref().and_then(|b| b.initial).map(|d| i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX));
    Some(RestartPolicy {
        kind,
        on_failure_retries: count,
        on_failure_retry_interval: interval,
        on_submission_failure_retries: count,
        on_submission_failure_retry_interval: interval,
    })
}

/// The SparkApplication spec of the job (also the template of a scheduled one).
pub fn application_spec(input: &RenderInput<'_>) -> SparkApplicationSpec {
    let spec = &input.job.job.spec;
    let (spark_conf, hadoop_conf) = spark_and_hadoop_conf(input);
    let (main_file, arguments) = application(input);
    let image = common::image(input);
    let executors = input.sized.executors;
    let properties = spark_properties(input);

    let driver = role_pod(input, SparkRole::Driver);
    let executor = role_pod(input, SparkRole::Executor);

    let dynamic_allocation = executors.dynamic.then(|| DynamicAllocation {
        enabled: Some(true),
        initial_executors: Some(i32::try_from(executors.initial).unwrap_or(i32::MAX)),
        min_executors: Some(i32::try_from(executors.min).unwrap_or(i32::MAX)),
        max_executors: Some(i32::try_from(executors.max).unwrap_or(i32::MAX)),
        shuffle_tracking_enabled: properties
            .get("spark.dynamicAllocation.shuffleTracking.enabled")
            .map(|v| v == "true"),
        shuffle_tracking_timeout: None,
    });

    SparkApplicationSpec {
        app_type: spec.app_type.map(|t| match t {
            AppType::Scala => ApplicationType::Scala,
            // A Connect job never gets here (`render::connect` renders it); its driver is a JVM.
            AppType::Java | AppType::Connect => ApplicationType::Java,
            AppType::R => ApplicationType::R,
            // SQL runs through sparkplane's Python runner script.
            AppType::Python | AppType::Sql => ApplicationType::Python,
        }),
        mode: Some(DeployMode::Cluster),
        image: (!image.is_empty()).then_some(image),
        image_pull_policy: spec.image.as_ref().and_then(|i| i.pull_policy).map(|p| p.as_str().to_owned()),
        image_pull_secrets: spec.image.as_ref().map(|i| i.pull_secrets.clone()).unwrap_or_default(),
        main_class: spec.main_class.clone(),
        main_application_file: (!main_file.is_empty()).then_some(main_file),
        arguments,
        spark_version: spec.spark_version.clone(),
        spark_conf,
        hadoop_conf,
        volumes: spec.volumes.clone(),
        spark_config_map: Some(spark_conf_config_map_name(input)),
        driver: DriverSpec {
            pod: driver.pod,
            core_request: driver.core_request,
            priority_class_name: driver.priority_class_name,
            ..Default::default()
        },
        executor: ExecutorSpec {
            instances: (!executors.dynamic).then(|| i32::try_from(executors.initial).unwrap_or(i32::MAX)),
            core_request: executor.core_request,
            priority_class_name: executor.priority_class_name,
            pod: executor.pod,
            ..Default::default()
        },
        deps: spec.deps.as_ref().map(|d| kubeflow::Dependencies {
            jars: d.jars.clone(),
            files: d.files.clone(),
            py_files: d.py_files.clone(),
            packages: d.packages.clone(),
            exclude_packages: d.exclude_packages.clone(),
            repositories: d.repositories.clone(),
            archives: d.archives.clone(),
        }),
        restart_policy: restart_policy(input),
        time_to_live_seconds: spec.ttl_after_finished.map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        dynamic_allocation,
        ..Default::default()
    }
}

/// The name of the job's ConfigMap of Spark configuration files (`spec.sparkConfigMap`).
pub fn spark_conf_config_map_name(input: &RenderInput<'_>) -> String {
    format!("{}-spark-conf", input.job.name())
}

/// The ConfigMap the operator mounts as `SPARK_CONF_DIR` in the driver and
/// executors (`spec.sparkConfigMap`): the log layout (render::logging).
pub fn spark_conf_config_map(input: &RenderInput<'_>) -> ConfigMap {
    let data = BTreeMap::from([(logging::LOG4J2_FILE.to_owned(), logging::log4j2_properties(input.job))]);
    ConfigMap {
        metadata: object_meta(input, &spark_conf_config_map_name(input), "driver"),
        data: Some(data),
        ..Default::default()
    }
}

/// The SparkApplication, or the ScheduledSparkApplication when the job has a cron schedule.
pub fn application_object(input: &RenderInput<'_>) -> RenderedObject {
    let spec = &input.job.job.spec;
    let mut metadata = object_meta(input, input.job.name(), "application");
    // Not under dynamic allocation, which Kueue's SparkApplication integration refuses (issue #69).
    metadata.labels.get_or_insert_with(Default::default).extend(super::queue_routes::kubeflow_queue_label(input.job));
    let mut app_spec = application_spec(input);
    app_spec.batch_scheduler = super::scheduling::gang(input).map(|g| g.scheduler_name().to_owned());
    // Kubeflow's Volcano and YuniKorn plugins put the application in this queue.
    if let Some(queue) = super::queue_routes::gang_queue(input.job) {
        app_spec.batch_scheduler_options =
            Some(kubeflow::BatchSchedulerConfiguration { queue: Some(queue), ..Default::default() });
    }
    let body = match spec.schedule.as_ref().and_then(|s| s.cron.clone().map(|cron| (s, cron))) {
        Some((schedule, cron)) => {
            let scheduled = ScheduledSparkApplication {
                metadata,
                spec: ScheduledSparkApplicationSpec {
                    schedule: cron,
                    time_zone: schedule.time_zone.clone(),
                    template: app_spec,
                    suspend: spec.suspend,
                    concurrency_policy: schedule.concurrency_policy.map(|p| match p {
                        sparkplane_api::job::ConcurrencyPolicy::Allow => ConcurrencyPolicy::Allow,
                        sparkplane_api::job::ConcurrencyPolicy::Forbid => ConcurrencyPolicy::Forbid,
                        sparkplane_api::job::ConcurrencyPolicy::Replace => ConcurrencyPolicy::Replace,
                    }),
                    successful_run_history_limit: schedule
                        .successful_history_limit
                        .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                    failed_run_history_limit: schedule
                        .failed_history_limit
                        .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                },
                status: None,
            };
            serde_json::to_value(&scheduled)
        }
        None => {
            app_spec.suspend = spec.suspend;
            serde_json::to_value(&SparkApplication { metadata, spec: app_spec, status: None })
        }
    };
    RenderedObject::from_custom(body.unwrap_or(Value::Null))
}

/// Every Kubeflow object: the driver's RBAC (when sparkplane creates its
/// service account) and the (Scheduled)SparkApplication.
pub fn render_kubeflow(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    let mut objects = common::driver_rbac(input);
    objects.push(RenderedObject::from_resource(&spark_conf_config_map(input)));
    objects.push(application_object(input));
    objects.push(common::peers_network_policy(input, common::Peers::Job));
    objects.push(common::door_network_policy(input, common::Peers::Job));
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::check::check_objects;
    use crate::render::common::{container_security_context, pod_security_context};
    use crate::render::job::tests::{JOB, job, scheduled};

    fn rendered(text: &str) -> Vec<RenderedObject> {
        let (resolved, sized) = job(text);
        render_kubeflow(&RenderInput { job: &resolved, sized: &sized })
    }

    fn app(objects: &[RenderedObject]) -> SparkApplication {
        let body = objects.iter().find(|o| o.kind == "SparkApplication").map(|o| o.body.clone());
        serde_json::from_value(body.unwrap_or_default()).expect("a SparkApplication")
    }

    #[test]
    fn resources_are_the_sizing_models() {
        let (resolved, sized) = job(JOB);
        let spec = application_spec(&RenderInput { job: &resolved, sized: &sized });
        for (pod, core_request, sized) in [
            (&spec.driver.pod, &spec.driver.core_request, &sized.driver),
            (&spec.executor.pod, &spec.executor.core_request, &sized.executor),
        ] {
            assert_eq!(pod.cores, Some(sized.spark_cores as i32));
            assert_eq!(core_request.as_deref(), Some(sized.cpu_request.to_kubernetes().as_str()));
            assert_eq!(pod.core_limit, sized.cpu_limit.map(|c| c.to_kubernetes()));
            assert_eq!(pod.memory, Some(sized.heap.to_spark()));
            assert_eq!(pod.memory_overhead, Some(sized.overhead.to_spark()));
            assert_eq!(pod.gpu.as_ref().map(|g| g.quantity), sized.gpu.as_ref().map(|g| i64::from(g.amount)));
        }
        assert_eq!(spec.executor.pod.memory.as_deref(), Some("8192m"));
        assert_eq!(spec.executor.pod.core_limit.as_deref(), Some("4"));
        assert_eq!(spec.executor.instances, Some(3));
        // PySpark memory has no typed field; Spark adds it to the pod from sparkConf.
        assert_eq!(spec.spark_conf.get("spark.executor.pyspark.memory"), Some(&sized.executor.pyspark.to_spark()));
        assert_eq!(spec.driver.pod.service_account.as_deref(), Some("etl-spark"));
        assert_eq!(spec.mode, Some(DeployMode::Cluster));
        assert_eq!(spec.app_type, Some(ApplicationType::Python));
        assert_eq!(spec.image.as_deref(), Some("registry.example.com/spark/py:3.5.3"));
        assert_eq!(spec.image_pull_secrets, ["regcred"]);
        let policy = spec.restart_policy.clone().unwrap_or_default();
        assert_eq!(
            (policy.kind, policy.on_failure_retries, policy.on_failure_retry_interval),
            (Some(RestartPolicyType::OnFailure), Some(2), Some(30))
        );
        assert_eq!(spec.time_to_live_seconds, Some(86_400));
    }

    #[test]
    fn every_pod_spec_is_restricted() {
        for text in [JOB.to_owned(), scheduled()] {
            let objects = rendered(&text);
            assert_eq!(check_objects(&objects), Vec::<String>::new());
        }
        let spec = app(&rendered(JOB)).spec;
        for pod in [&spec.driver.pod, &spec.executor.pod] {
            let restricted_pod = pod.pod_security_context.clone().unwrap_or_default();
            assert_eq!(restricted_pod.run_as_non_root, pod_security_context().run_as_non_root);
            assert_eq!(restricted_pod.seccomp_profile, pod_security_context().seccomp_profile);
            assert_eq!(pod.security_context, Some(container_security_context()));
            let template = pod.template.as_ref().and_then(|t| t.spec.clone()).unwrap_or_default();
            assert_eq!(template.enable_service_links, Some(false));
            assert_eq!(template.security_context, pod.pod_security_context);
        }
        // Typed fields carry what has one; the template keeps only the rest.
        let executor = &spec.executor.pod;
        assert_eq!(executor.volume_mounts.len(), 1);
        assert_eq!(executor.env.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["DB_PASSWORD"]);
        assert!(executor.env[0].value.is_none());
        assert_eq!(executor.node_selector.get("pool").map(String::as_str), Some("spark"));
        assert_eq!(executor.tolerations.len(), 1);
        assert_eq!(executor.labels.get("app.kubernetes.io/component").map(String::as_str), Some("executor"));
        let template = executor.template.as_ref().and_then(|t| t.spec.clone()).unwrap_or_default();
        assert!(template.node_selector.is_none() && template.tolerations.is_none() && template.volumes.is_none());
        let driver_template = spec.driver.pod.template.as_ref().and_then(|t| t.spec.clone()).unwrap_or_default();
        assert_eq!(driver_template.active_deadline_seconds, Some(7200));
    }

    #[test]
    fn no_spark_property_is_said_twice() {
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let spec = application_spec(&input);
        for key in spec.spark_conf.keys() {
            assert!(!typed_spark_keys(key), "`{key}` is in sparkConf and carried by a typed field");
        }
        for key in [
            "spark.executor.memory",
            "spark.driver.cores",
            "spark.executor.instances",
            "spark.kubernetes.container.image",
            "spark.submit.pyFiles",
            "spark.hadoop.fs.s3a.endpoint",
        ] {
            assert!(!spec.spark_conf.contains_key(key), "{key}");
        }
        assert_eq!(spec.hadoop_conf.get("fs.s3a.endpoint").map(String::as_str), Some("s3.example.com"));
        assert_eq!(spec.spark_conf.get("spark.sql.shuffle.partitions").map(String::as_str), Some("200"));
        // Nothing is lost either: every property is in sparkConf, in hadoopConf or typed.
        for (key, value) in spark_properties(&input) {
            let hadoop = key.strip_prefix("spark.hadoop.").and_then(|k| spec.hadoop_conf.get(k));
            assert!(
                spec.spark_conf.get(&key) == Some(&value) || hadoop == Some(&value) || typed_spark_keys(&key),
                "{key}"
            );
        }
    }

    #[test]
    fn a_scheduled_job_is_a_scheduled_spark_application() {
        let objects = rendered(&scheduled());
        assert!(objects.iter().all(|o| o.kind != "SparkApplication"));
        let body = objects.iter().find(|o| o.kind == "ScheduledSparkApplication").map(|o| o.body.clone());
        let scheduled: ScheduledSparkApplication = serde_json::from_value(body.unwrap_or_default()).expect("scheduled");
        assert_eq!(scheduled.spec.schedule, "0 2 * * *");
        assert_eq!(scheduled.spec.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(scheduled.spec.concurrency_policy, Some(ConcurrencyPolicy::Forbid));
        assert_eq!(scheduled.spec.successful_run_history_limit, Some(3));
        assert_eq!(scheduled.spec.failed_run_history_limit, Some(1));
        assert_eq!(scheduled.spec.suspend, Some(true));
        assert_eq!(scheduled.spec.template.suspend, None);
        assert_eq!(scheduled.spec.template.executor.instances, Some(3));
        assert_eq!(scheduled.metadata.name.as_deref(), Some("etl"));
        assert_eq!(scheduled.metadata.namespace.as_deref(), Some("data"));
    }

    #[test]
    fn the_drivers_rbac_comes_along() {
        let objects = rendered(JOB);
        let kinds: Vec<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "ConfigMap",
                "SparkApplication",
                "NetworkPolicy",
                "NetworkPolicy"
            ]
        );
        let own_account = JOB.replace("  driver: {cores: 1,", "  serviceAccount: spark\n  driver: {cores: 1,");
        let kinds: Vec<String> = rendered(&own_account).into_iter().map(|o| o.kind).collect();
        assert_eq!(kinds, ["ConfigMap", "SparkApplication", "NetworkPolicy", "NetworkPolicy"]);
    }

    #[test]
    fn the_operator_mounts_the_log_layout_as_the_conf_dir() {
        let objects = rendered(JOB);
        let config_map = objects.iter().find(|o| o.kind == "ConfigMap").expect("a ConfigMap");
        assert_eq!(app(&objects).spec.spark_config_map.as_deref(), Some(config_map.name.as_str()));
        let layout = config_map.body["data"][logging::LOG4J2_FILE].as_str().expect("the layout");
        assert!(layout.contains(r#""sparkjob":"etl""#), "{layout}");
    }
}
