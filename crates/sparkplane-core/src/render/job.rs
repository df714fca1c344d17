//! The Job route: a batch/v1 Job (a CronJob when the job has a cron schedule)
//! whose pod runs the real `spark-submit` in cluster mode, the ConfigMap
//! carrying the driver and executor pod-template files it reads, the
//! submitter's own least-privilege identity, and the driver's RBAC.
//!
//! With a queue (and no cron schedule) the Job is written suspended, beside
//! the Workload that gates it (`kueue::job_workload`, issue #69).
//!
//! This module owns only the packaging around spark-submit: the submitter
//! pod, its RBAC and the Job/CronJob fields (deadline, TTL, backoff,
//! schedule). The submission itself — Spark properties, spark-submit's
//! arguments, pod templates, images, labels, security contexts, names and the
//! driver's RBAC — comes from [`super::common`], and resources from the
//! sizing model; this module must not derive any of them. No secret value is
//! written: environment variables that reference Secrets stay references in
//! the pod templates.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, KeyToPath, PodSpec, PodTemplateSpec,
    ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::common::{
    self, IN_CLUSTER_MASTER, Names, RenderInput, RenderedObject, SparkRole, container_security_context, image,
    object_meta, pod_security_context, spark_submit_args, standard_labels,
};
use super::logging;

/// The submitter container's name.
pub const SUBMITTER_CONTAINER: &str = "spark-submit";
/// spark-submit in Apache Spark's images.
pub const SPARK_SUBMIT: &str = "/opt/spark/bin/spark-submit";
/// Where the pod-template files are mounted in the submitter.
pub const TEMPLATE_DIR: &str = "/opt/spark/pod-templates";
/// The submitter's `SPARK_CONF_DIR`: the log layout, which spark-submit copies
/// into the driver's ConfigMap and the driver into its executors'.
pub const SUBMITTER_CONF_DIR: &str = "/opt/sparkplane/conf";
/// File name of the driver's pod template.
pub const DRIVER_TEMPLATE_FILE: &str = "driver-pod-template.yaml";
/// File name of the executors' pod template.
pub const EXECUTOR_TEMPLATE_FILE: &str = "executor-pod-template.yaml";
/// ConfigMap key of the driver's pod template.
pub const DRIVER_TEMPLATE_KEY: &str = "driver-podspec-configmap-key";
/// ConfigMap key of the executors' pod template.
pub const EXECUTOR_TEMPLATE_KEY: &str = "executor-podspec-configmap-key";
/// CPU the submitter asks for (spark-submit mostly waits on the driver).
pub const SUBMITTER_CPU: &str = "250m";
/// Memory of the submitter: spark-submit is a JVM that can use several hundred MiB.
pub const SUBMITTER_MEMORY: &str = "1Gi";

/// What spark-submit does to the API server in cluster mode, and so all the
/// submitter may do, in its own namespace only: create the driver pod, watch
/// it to completion and delete it on failure; server-side apply (Spark ≥ 3.4)
/// the driver's ConfigMaps, Service and on-demand claims, and clean them up.
pub const SUBMITTER_RULES: &[(&[&str], &[&str])] = &[
    (&["pods"], &["create", "delete", "get", "watch"]),
    (&["configmaps", "persistentvolumeclaims", "services"], &["create", "delete", "get", "patch"]),
];

/// What spark-submit adds from Spark 4.2 on, in the `networking.k8s.io`
/// group: it server-side applies the executors' NetworkPolicy
/// (`<prefix>-policy`, [`super::native::executor_network_policy`]) with the
/// driver's other objects, and deletes it when the submission fails.
pub const SUBMITTER_NETWORK_POLICY_RULES: &[(&[&str], &[&str])] =
    &[(&["networkpolicies"], &["create", "delete", "get", "patch"])];

/// Names of the objects only this route renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitterNames {
    /// The Job (`<job>-<hash>-submit`, new for every changed job) or the
    /// CronJob (`<job>`, stable so a changed schedule replaces the old one).
    pub workload: String,
    /// The ConfigMap of pod templates.
    pub templates: String,
    /// The submitter's service account, Role and RoleBinding.
    pub service_account: String,
}

impl SubmitterNames {
    /// The names for a job.
    pub fn of(input: &RenderInput<'_>) -> SubmitterNames {
        let job = input.job;
        let base = if is_scheduled(input) { job.name().to_owned() } else { Names::of(job).prefix };
        SubmitterNames {
            workload: if is_scheduled(input) { base.clone() } else { format!("{base}-submit") },
            templates: format!("{base}-pod-templates"),
            service_account: format!("{}-submitter", job.name()),
        }
    }
}

fn is_scheduled(input: &RenderInput<'_>) -> bool {
    input.job.job.spec.schedule.as_ref().is_some_and(|s| s.cron.is_some())
}

fn seconds(duration: sparkplane_api::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The ConfigMap holding both pod-template files and the log layout.
pub fn templates_config_map(input: &RenderInput<'_>) -> ConfigMap {
    let names = SubmitterNames::of(input);
    let mut data = BTreeMap::new();
    data.insert(DRIVER_TEMPLATE_KEY.to_owned(), common::pod_template_file(input, SparkRole::Driver));
    data.insert(EXECUTOR_TEMPLATE_KEY.to_owned(), common::pod_template_file(input, SparkRole::Executor));
    data.insert(logging::LOG4J2_FILE.to_owned(), logging::log4j2_properties(input.job));
    ConfigMap { metadata: object_meta(input, &names.templates, "submitter"), data: Some(data), ..Default::default() }
}

/// spark-submit's arguments, reading the pod templates from their mount.
pub fn submit_args(input: &RenderInput<'_>) -> Vec<String> {
    let driver = format!("{TEMPLATE_DIR}/{DRIVER_TEMPLATE_FILE}");
    let executor = format!("{TEMPLATE_DIR}/{EXECUTOR_TEMPLATE_FILE}");
    spark_submit_args(input, IN_CLUSTER_MASTER, Some((&driver, &executor)))
}

/// The submitter's pod: spark-submit, its templates, restricted security.
pub fn submitter_pod(input: &RenderInput<'_>) -> PodTemplateSpec {
    let names = SubmitterNames::of(input);
    let spec = &input.job.job.spec;
    let quantity = |text: &str| Quantity(text.to_owned());
    let container = Container {
        name: SUBMITTER_CONTAINER.into(),
        image: Some(image(input)),
        image_pull_policy: spec.image.as_ref().and_then(|i| i.pull_policy).map(|p| p.as_str().to_owned()),
        command: Some(vec![SPARK_SUBMIT.into()]),
        args: Some(submit_args(input)),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), quantity(SUBMITTER_CPU)),
                ("memory".to_owned(), quantity(SUBMITTER_MEMORY)),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), quantity(SUBMITTER_MEMORY))])),
            ..Default::default()
        }),
        security_context: Some(container_security_context()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "pod-templates".into(),
                mount_path: TEMPLATE_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount {
                name: "spark-conf".into(),
                mount_path: SUBMITTER_CONF_DIR.into(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() },
        ]),
        env: Some(vec![EnvVar {
            name: "SPARK_CONF_DIR".into(),
            value: Some(SUBMITTER_CONF_DIR.into()),
            value_from: None,
        }]),
        ..Default::default()
    };
    let items = [(DRIVER_TEMPLATE_KEY, DRIVER_TEMPLATE_FILE), (EXECUTOR_TEMPLATE_KEY, EXECUTOR_TEMPLATE_FILE)]
        .into_iter()
        .map(|(key, path)| KeyToPath { key: key.into(), path: path.into(), mode: None })
        .collect();
    let pull_secrets = spec.image.as_ref().map(|i| i.pull_secret_refs()).filter(|refs| !refs.is_empty());
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(standard_labels(input.job, "submitter")), ..Default::default() }),
        spec: Some(PodSpec {
            service_account_name: Some(names.service_account),
            // spark-submit talks to the API server.
            automount_service_account_token: Some(true),
            enable_service_links: Some(false),
            restart_policy: Some("Never".into()),
            security_context: Some(pod_security_context()),
            image_pull_secrets: pull_secrets,
            containers: vec![container],
            volumes: Some(vec![
                Volume {
                    name: "pod-templates".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: names.templates.clone(),
                        items: Some(items),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Volume {
                    name: "spark-conf".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: names.templates,
                        items: Some(vec![KeyToPath {
                            key: logging::LOG4J2_FILE.into(),
                            path: logging::LOG4J2_FILE.into(),
                            mode: None,
                        }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Volume { name: "tmp".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Default::default() },
            ]),
            ..Default::default()
        }),
    }
}

/// The Job's spec: the submitter pod, the run's deadline, TTL and retries.
pub fn job_spec(input: &RenderInput<'_>) -> JobSpec {
    let spec = &input.job.job.spec;
    JobSpec {
        template: submitter_pod(input),
        backoff_limit: Some(count(common::retries(input))),
        active_deadline_seconds: spec.timeouts.as_ref().and_then(|t| t.max_duration).map(seconds),
        ttl_seconds_after_finished: spec.ttl_after_finished.map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX)),
        ..Default::default()
    }
}

/// The Job, or the CronJob when the job has a cron schedule.
pub fn workload(input: &RenderInput<'_>) -> RenderedObject {
    let names = SubmitterNames::of(input);
    let spec = &input.job.job.spec;
    let mut metadata = object_meta(input, &names.workload, "submitter");
    // A Job with a queue is gated by its own Workload (issue #69): no label for Kueue's Job integration.
    metadata.labels.get_or_insert_with(Default::default).extend(super::queue_routes::job_queue_label(input.job));
    let mut job = job_spec(input);
    match spec.schedule.as_ref().and_then(|s| s.cron.clone().map(|cron| (s, cron))) {
        Some((schedule, cron)) => RenderedObject::from_resource(&CronJob {
            metadata,
            spec: Some(CronJobSpec {
                schedule: cron,
                time_zone: schedule.time_zone.clone(),
                concurrency_policy: schedule.concurrency_policy.map(|p| p.as_str().to_owned()),
                starting_deadline_seconds: schedule.starting_deadline.map(seconds),
                successful_jobs_history_limit: schedule.successful_history_limit.map(count),
                failed_jobs_history_limit: schedule.failed_history_limit.map(count),
                suspend: spec.suspend,
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(standard_labels(input.job, "submitter")),
                        ..Default::default()
                    }),
                    spec: Some(job),
                },
            }),
            status: None,
        }),
        None => {
            // Created suspended until Kueue admits its Workload; the operator in Kueue mode unsuspends it.
            job.suspend = if super::queue_routes::job_gated(input.job) { Some(true) } else { spec.suspend };
            RenderedObject::from_resource(&Job { metadata, spec: Some(job), status: None })
        }
    }
}

/// The submitter's ServiceAccount, Role and RoleBinding ([`SUBMITTER_RULES`],
/// and [`SUBMITTER_NETWORK_POLICY_RULES`] on the lines whose spark-submit
/// applies the executors' NetworkPolicy), in its namespace only.
pub fn submitter_rbac(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    let mut objects =
        common::rbac_objects(input, &SubmitterNames::of(input).service_account, "submitter", SUBMITTER_RULES);
    if crate::spark_lines::applies_executor_network_policy(input.job.job.spec.spark_version.as_deref()) {
        common::grant_in_group(&mut objects, "networking.k8s.io", SUBMITTER_NETWORK_POLICY_RULES);
    }
    objects
}

/// Every object of the Job route: both identities, the templates and the Job or CronJob.
pub fn render_job(input: &RenderInput<'_>) -> Vec<RenderedObject> {
    let names = SubmitterNames::of(input);
    let mut objects = common::driver_rbac(input);
    objects.extend(submitter_rbac(input));
    objects.push(RenderedObject::from_resource(&templates_config_map(input)));
    objects.push(workload(input));
    objects.push(common::peers_network_policy(input, common::Peers::Job));
    objects.push(common::door_network_policy(input, common::Peers::Job));
    objects.extend(super::scheduling::gang_objects(input));
    objects.extend(super::kueue::job_workload(input.job, &names.workload));
    objects
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::load::load;
    use crate::render::check::check_objects;
    use crate::resolve::ResolveRequest;
    use crate::resolved::ResolvedJob;
    use crate::sizing::{SizedJob, size_job};
    use crate::validate::ValidationTarget;
    use serde_json::Value;
    use sparkplane_documents::source::Source;
    use sparkplane_documents::yaml::parse_single;

    /// A job touching every part of the submission.
    pub(crate) const JOB: &str = r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: etl, namespace: data, labels: {team-label: a}}
spec:
  type: Python
  sparkVersion: "3.5.3"
  image: {repository: registry.example.com/spark/py, tag: "3.5.3", pullPolicy: IfNotPresent, pullSecrets: [regcred]}
  mainApplicationFile: s3a://bucket/etl.py
  arguments: ["--day", "1"]
  sparkConf: {spark.sql.shuffle.partitions: "200"}
  hadoopConf: {fs.s3a.endpoint: s3.example.com}
  deps: {pyFiles: ["s3a://bucket/lib.zip"]}
  env: [{name: DB_PASSWORD, secretKeyRef: {name: db, key: password}}]
  volumes: [{name: scratch, emptyDir: {}}]
  nodeSelector: {pool: spark}
  tolerations: [{key: dedicated, operator: Equal, value: spark, effect: NoSchedule}]
  driver: {cores: 1, memory: 2g, labels: {tier: driver}}
  executor:
    cores: 4
    coreLimit: "4"
    memory: 8g
    instances: 3
    pysparkMemory: 1g
    volumeMounts: [{name: scratch, mountPath: /scratch}]
    gpu: {name: nvidia.com/gpu, amount: 1}
  restartPolicy: {type: OnFailure, retries: 2, backoff: {initial: 30s}}
  timeouts: {maxDuration: 2h}
  ttlAfterFinished: 1d
"#;

    /// The same job on a schedule.
    pub(crate) fn scheduled() -> String {
        format!(
            "{JOB}  suspend: true\n  schedule: {{cron: \"0 2 * * *\", timeZone: Europe/Berlin, concurrencyPolicy: Forbid, startingDeadline: 10m, successfulHistoryLimit: 3, failedHistoryLimit: 1}}\n"
        )
    }

    /// A resolved, validated job and its sizes.
    pub(crate) fn job(text: &str) -> (ResolvedJob, SizedJob) {
        let node = parse_single(&Source::new("job.yaml", text)).expect("fixture parses");
        let catalog = Catalog::empty();
        let resolved = load(ResolveRequest {
            job: &node,
            job_environment: None,
            catalog: &catalog,
            environment: None,
            sets: &[],
            target: ValidationTarget::Any,
        })
        .unwrap_or_else(|d| panic!("fixture resolves: {d}"));
        let sized = size_job(&resolved.job.spec);
        (resolved, sized)
    }

    fn find<'a>(objects: &'a [RenderedObject], kind: &str) -> &'a RenderedObject {
        objects.iter().find(|o| o.kind == kind).unwrap_or_else(|| panic!("no {kind}"))
    }

    fn at<'a>(object: &'a RenderedObject, pointer: &str) -> &'a Value {
        object.body.pointer(pointer).unwrap_or(&Value::Null)
    }

    #[test]
    fn the_job_runs_spark_submit_in_cluster_mode_with_the_sized_resources() {
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let objects = render_job(&input);
        let job = find(&objects, "Job");
        assert!(job.name.starts_with("etl-") && job.name.ends_with("-submit"), "{}", job.name);
        let container = at(job, "/spec/template/spec/containers/0");
        assert_eq!(container["command"], serde_json::json!([SPARK_SUBMIT]));
        let args: Vec<&str> = container["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(&args[..6], ["--master", IN_CLUSTER_MASTER, "--deploy-mode", "cluster", "--name", "etl"]);
        assert_eq!(args[args.len() - 3..], ["s3a://bucket/etl.py", "--day", "1"]);
        let conf = |key: &str| args.iter().find_map(|a| a.strip_prefix(&format!("{key}="))).map(str::to_owned);
        assert_eq!(
            conf("spark.kubernetes.driver.podTemplateFile").as_deref(),
            Some("/opt/spark/pod-templates/driver-pod-template.yaml")
        );
        assert_eq!(
            conf("spark.kubernetes.executor.podTemplateFile").as_deref(),
            Some("/opt/spark/pod-templates/executor-pod-template.yaml")
        );
        // Resources are the sizing model's, not re-derived.
        assert_eq!(conf("spark.executor.memory"), Some(sized.executor.heap.to_spark()));
        assert_eq!(conf("spark.executor.memoryOverhead"), Some(sized.executor.overhead.to_spark()));
        assert_eq!(conf("spark.driver.memory"), Some(sized.driver.heap.to_spark()));
        assert_eq!(conf("spark.executor.cores"), Some(sized.executor.spark_cores.to_string()));
        assert_eq!(conf("spark.executor.instances"), Some(sized.executors.initial.to_string()));
        // The templates are mounted from their ConfigMap.
        let names = SubmitterNames::of(&input);
        assert_eq!(at(job, "/spec/template/spec/volumes/0/configMap/name"), names.templates.as_str());
        assert_eq!(at(job, "/spec/template/spec/containers/0/volumeMounts/0/mountPath"), TEMPLATE_DIR);
        assert_eq!(at(job, "/spec/template/spec/serviceAccountName"), names.service_account.as_str());
        let templates = find(&objects, "ConfigMap");
        assert_eq!(templates.name, names.templates);
        let driver_template = at(templates, &format!("/data/{DRIVER_TEMPLATE_KEY}")).as_str().unwrap_or_default();
        assert!(driver_template.contains("activeDeadlineSeconds: 7200"), "{driver_template}");
        assert!(driver_template.contains("secretKeyRef"), "{driver_template}");
        // Job fields from the job's policy.
        assert_eq!(at(job, "/spec/backoffLimit"), 2);
        assert_eq!(at(job, "/spec/activeDeadlineSeconds"), 7200);
        assert_eq!(at(job, "/spec/ttlSecondsAfterFinished"), 86_400);
    }

    #[test]
    fn spark_submit_reads_the_log_layout_from_its_conf_dir() {
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let templates = templates_config_map(&input);
        assert!(templates.data.as_ref().is_some_and(|d| d.contains_key(logging::LOG4J2_FILE)));
        let pod = serde_json::to_value(submitter_pod(&input)).expect("json");
        let container = &pod["spec"]["containers"][0];
        assert_eq!(container["env"], serde_json::json!([{"name": "SPARK_CONF_DIR", "value": SUBMITTER_CONF_DIR}]));
        assert_eq!(container["volumeMounts"][1]["mountPath"], SUBMITTER_CONF_DIR);
        assert_eq!(pod["spec"]["volumes"][1]["configMap"]["items"][0]["key"], logging::LOG4J2_FILE);
    }

    #[test]
    fn every_pod_is_restricted_and_no_secret_value_is_written() {
        for text in [JOB.to_owned(), scheduled()] {
            let (resolved, sized) = job(&text);
            let input = RenderInput { job: &resolved, sized: &sized };
            let objects = render_job(&input);
            assert_eq!(check_objects(&objects), Vec::<String>::new());
            let pod = submitter_pod(&input).spec.unwrap_or_default();
            assert_eq!(pod.security_context, Some(pod_security_context()));
            assert_eq!(pod.containers[0].security_context, Some(container_security_context()));
            let text = serde_json::to_string(&objects.iter().map(|o| &o.body).collect::<Vec<_>>()).unwrap_or_default();
            assert!(!text.contains("\"value\":\"password\""));
        }
    }

    #[test]
    fn a_scheduled_job_is_a_cron_job() {
        let (resolved, sized) = job(&scheduled());
        let input = RenderInput { job: &resolved, sized: &sized };
        let objects = render_job(&input);
        assert!(objects.iter().all(|o| o.kind != "Job"));
        let cron = find(&objects, "CronJob");
        assert_eq!(cron.name, "etl");
        assert_eq!(at(cron, "/spec/schedule"), "0 2 * * *");
        assert_eq!(at(cron, "/spec/timeZone"), "Europe/Berlin");
        assert_eq!(at(cron, "/spec/concurrencyPolicy"), "Forbid");
        assert_eq!(at(cron, "/spec/startingDeadlineSeconds"), 600);
        assert_eq!(at(cron, "/spec/successfulJobsHistoryLimit"), 3);
        assert_eq!(at(cron, "/spec/failedJobsHistoryLimit"), 1);
        assert_eq!(at(cron, "/spec/suspend"), true);
        assert_eq!(at(cron, "/spec/jobTemplate/spec/backoffLimit"), 2);
        assert_eq!(at(cron, "/spec/jobTemplate/spec/template/spec/containers/0/command/0"), SPARK_SUBMIT);
        assert_eq!(find(&objects, "ConfigMap").name, "etl-pod-templates");
    }

    #[test]
    fn from_spark_4_2_the_submitter_may_apply_the_executors_network_policy_and_nothing_more() {
        let rules_of = |version: &str| {
            let (resolved, sized) = job(&JOB.replace("3.5.3", version));
            let input = RenderInput { job: &resolved, sized: &sized };
            let objects = render_job(&input);
            let role = objects.iter().find(|o| o.kind == "Role" && o.name == "etl-submitter").expect("submitter role");
            role.body["rules"].as_array().cloned().unwrap_or_default()
        };
        let core = rules_of("3.5.3");
        assert_eq!(core.len(), 2, "{core:?}");
        for version in ["4.0.5", "4.1.4"] {
            assert_eq!(rules_of(version), core, "Spark {version}'s spark-submit applies no NetworkPolicy");
        }
        for version in ["4.2.1", "4.3.0"] {
            let rules = rules_of(version);
            assert_eq!(rules[..2], core[..], "{version}");
            assert_eq!(
                rules[2..],
                [
                    serde_json::json!({"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create", "delete", "get", "patch"]})
                ],
                "{version}"
            );
        }
    }

    #[test]
    fn the_submitter_gets_least_privilege_in_its_namespace() {
        let (resolved, sized) = job(JOB);
        let input = RenderInput { job: &resolved, sized: &sized };
        let objects = render_job(&input);
        let kinds: Vec<(&str, &str)> = objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect();
        assert!(kinds.contains(&("ServiceAccount", "etl-submitter")), "{kinds:?}");
        // The driver's own identity comes from common.
        assert!(kinds.contains(&("ServiceAccount", "etl-spark")), "{kinds:?}");
        assert!(objects.iter().all(|o| o.namespace.as_deref() == Some("data")));
        assert!(objects.iter().all(|o| !o.kind.starts_with("Cluster")));
        let role = objects.iter().find(|o| o.kind == "Role" && o.name == "etl-submitter").expect("submitter role");
        assert_eq!(
            role.body["rules"],
            serde_json::json!([
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "watch"]},
                {"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims", "services"], "verbs": ["create", "delete", "get", "patch"]},
            ])
        );
        let binding = objects.iter().find(|o| o.kind == "RoleBinding" && o.name == "etl-submitter").expect("binding");
        assert_eq!(binding.body["subjects"][0]["namespace"], "data");
        assert_eq!(binding.body["roleRef"]["name"], "etl-submitter");
    }

    #[test]
    fn retries_follow_the_restart_policy() {
        let (resolved, sized) = job(&JOB.replace("type: OnFailure, retries: 2, ", "type: Never, "));
        let input = RenderInput { job: &resolved, sized: &sized };
        assert_eq!(common::retries(&input), 0);
        assert_eq!(job_spec(&input).backoff_limit, Some(0));
    }
}
