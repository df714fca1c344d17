//! The quality-gate check of one attempt in a cluster (ADR 0043, ADR 0063):
//! a ConfigMap holding the data-quality specs the job's `spec.qualityGates`
//! embed (`definition`, written by `sparkplane apply`), and either
//! - a batch/v1 Job whose pod runs `sparkplane dq check` over each of them
//!   with the native engine, one container per gate (`gate-<n>`), the specs
//!   mounted read-only at [`GATES_DIR`], 1 CPU and 2 GiB each; or, when a gate
//!   runs with the spark engine (`engine: spark`, or `auto` above its
//!   threshold, as the operator decided),
//! - the check application: a Pod whose Spark gates' containers run `dq check
//!   --engine spark`, each sized from its dataset's size by the one sizing
//!   model ([`spark_gate_spec`] → `sizing::size_job`), Spark running in the
//!   container on those cores.
//!
//! Both pods are held to Pod Security "restricted" with the driver's security
//! contexts, but as the sparkplane image's own user ([`GATE_UID`], ADR 0047)
//! and with a read-only root filesystem (scratch space in an `emptyDir` at
//! [`SCRATCH_DIR`]), as the chart runs that image; they pull the image under
//! the job's pull policy and pull secrets, and get the driver's environment
//! as the job declares it — a Secret stays a `secretKeyRef`, so no secret
//! value is written here. They do not restart (`backoffLimit: 0`,
//! `restartPolicy: Never`): whether a check that could not run is tried
//! again is the run's restart policy's call (the operator's `lifecycle`).
//! They run for at most [`RUN_LIMIT`] (`activeDeadlineSeconds`); with the
//! job's `ttlAfterFinished` (at least [`MIN_TTL`]) Kubernetes removes an
//! ended Job and its pod; the check application goes with the SparkJob.
//!
//! Owns: those objects, their names and the Spark gates' size table. Must
//! not: decide when they are created, which engine a gate runs with, or
//! what their outcome means (`sparkplane_lifecycle::lifecycle::gates`), nor evaluate a
//! check (`sparkplane-dq`).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, LocalObjectReference, Pod, PodSecurityContext,
    PodSpec, PodTemplateSpec, ResourceRequirements, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use sparkplane_api::dq::{DqEngine, DqSpec};

use super::common::{
    Names, RenderInput, RenderedObject, SparkRole, container_security_context, object_meta, pod_security_context,
    role_env,
};
use crate::resolved::ResolvedJob;

/// The user and group the check runs as: the sparkplane image's own
/// non-root user (ADR 0047), not Spark's.
pub const GATE_UID: i64 = 65532;
/// Where the gates' specs are mounted in the check's containers (also their working directory).
pub const GATES_DIR: &str = "/etc/sparkplane/quality-gates";
/// The `app.kubernetes.io/component` of the check's objects.
pub const COMPONENT: &str = "quality-gates";
/// CPU and memory each gate's container asks for (and its memory limit):
/// `dq check` reads the dataset in one streaming pass.
pub const GATE_CPU: &str = "1";
/// See [`GATE_CPU`].
pub const GATE_MEMORY: &str = "2Gi";
/// The longest a check Job may run (its `activeDeadlineSeconds`).
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(3600);
/// The shortest time an ended check Job is kept (its `ttlSecondsAfterFinished`
/// when the job sets `ttlAfterFinished`), so the operator reads its outcome
/// before Kubernetes removes it.
pub const MIN_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The names of one attempt's check: `<job>-<8 hex>-gates` for both the
/// Job and the ConfigMap (the prefix is the attempt's driver's).
pub fn check_name(job: &ResolvedJob) -> String {
    format!("{}-gates", Names::of(job).prefix)
}

/// The container of gate `index` (0-based, in `spec.qualityGates` order).
pub fn container_name(index: usize) -> String {
    format!("gate-{index}")
}

/// The file gate `index`'s spec is written to in the ConfigMap. The spec
/// is written as JSON, which every YAML reader (`dq check`'s) reads.
pub fn spec_file(index: usize) -> String {
    format!("gate-{index}.yaml")
}

/// Whether a location a spec names (a profile store, a quarantine folder)
/// lies outside the check's pod: an absolute path or an object-store URL.
/// A relative one would be beside the mounted spec, read-only and gone
/// with the pod.
fn outside_the_pod(location: &str) -> bool {
    location.starts_with('/') || location.contains("://")
}

/// `dq check`'s arguments for one gate: profiles are stored only where a
/// later check can read them, quarantine only into a location outside the pod.
pub fn check_args(index: usize, spec: &DqSpec) -> Vec<String> {
    let mut args = vec!["dq".to_owned(), "check".to_owned(), spec_file(index)];
    if !spec.profile_store.as_deref().is_some_and(outside_the_pod) {
        args.push("--no-profile".to_owned());
    }
    if !spec.quarantine.as_ref().is_some_and(|q| outside_the_pod(&q.location)) {
        args.push("--no-quarantine".to_owned());
    }
    args
}

/// How one gate is checked: with the native engine (in the check Job, or
/// beside Spark gates in the check application), or with the spark engine
/// in the check application, sized from its dataset's size on disk (None:
/// the operator could not list it, and the smallest size is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateEngine {
    /// `dq check --engine native`.
    Native,
    /// `dq check --engine spark`, in a container sized by [`spark_gate_spec`].
    Spark {
        /// The dataset's bytes, from its listing.
        bytes: Option<u64>,
    },
}

/// The check application's names: `<job>-<8 hex>-dq` for its Pod and its
/// ConfigMap (the prefix is the attempt's driver's, as the check Job's).
pub fn application_name(job: &ResolvedJob) -> String {
    format!("{}-dq", Names::of(job).prefix)
}

/// The CPU cores and JVM heap a Spark gate's container gets for a dataset of
/// `bytes` (a row of [`SPARK_GATE_SIZES`]): the first row whose limit is at
/// least the dataset's size, the last one beyond.
pub fn spark_gate_size(bytes: Option<u64>) -> (u32, u64) {
    let bytes = bytes.unwrap_or(0);
    let row = SPARK_GATE_SIZES.iter().find(|(limit, _, _)| bytes <= *limit).unwrap_or(&SPARK_GATE_SIZES[2]);
    (row.1, row.2)
}

/// Dataset size (bytes, at most) → Spark cores and heap (GiB) of a Spark
/// gate's container. Spark scans about one file split per core at a time;
/// the heap holds the aggregation's buffers and, per check, the distinct
/// failing values the examples are taken from (ADR 0060), which grow with
/// the data. ADR 0063 says where the rows come from.
pub const SPARK_GATE_SIZES: [(u64, u32, u64); 3] = [(10 << 30, 2, 4), (100 << 30, 4, 8), (u64::MAX, 8, 16)];

/// The job spec a Spark gate's container is sized from by the one sizing
/// model (`sizing::size_job`): the job's own spec (its preset and
/// environment already merged in) with the driver's cores and heap taken
/// from [`spark_gate_size`] and no executors — the check's Spark runs in
/// the container, `local[N]` on its cores.
pub fn spark_gate_spec(job: &ResolvedJob, bytes: Option<u64>) -> sparkplane_api::SparkJobSpec {
    let (cores, gib) = spark_gate_size(bytes);
    let mut spec = job.job.spec.clone();
    let driver = spec.driver.get_or_insert_with(Default::default);
    driver.role.cores = Some(cores);
    driver.role.core_request = None;
    driver.role.core_limit = None;
    driver.role.memory = Some(sparkplane_api::quantity::MemorySize::from_gib(gib));
    driver.role.memory_overhead = None;
    driver.role.gpu = None;
    spec.app_type = Some(sparkplane_api::job::AppType::Python);
    spec.executor.get_or_insert_with(Default::default).instances = Some(0);
    spec.dynamic_allocation = None;
    spec
}

/// The Spark line a Spark gate runs on: the job's (`3.5.7` → `3.5`), so the
/// check reads the data with the Spark that wrote it; 4.1 when it names none.
pub fn spark_line(job: &ResolvedJob) -> String {
    let version = job.job.spec.spark_version.as_deref().unwrap_or("4.1");
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => "4.1".to_owned(),
    }
}

/// The ConfigMap holding every gate's spec, as `name`.
fn specs_config_map(input: &RenderInput<'_>, name: &str, definitions: &[&DqSpec]) -> ConfigMap {
    let data: BTreeMap<String, String> = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| (spec_file(i), serde_json::to_string_pretty(d).unwrap_or_default()))
        .collect();
    ConfigMap { metadata: object_meta(input, name, COMPONENT), data: Some(data), ..ConfigMap::default() }
}

/// The embedded definitions of the job's gates, or None when it declares
/// none or one is not embedded.
fn definitions<'a>(input: &RenderInput<'a>) -> Option<Vec<&'a DqSpec>> {
    let spec = &input.job.job.spec;
    let definitions: Option<Vec<&DqSpec>> = spec.quality_gates.iter().map(|g| g.definition.as_deref()).collect();
    definitions.filter(|d| !d.is_empty())
}

/// One gate's container: `sparkplane` with `args`, the specs mounted
/// read-only, the driver's environment, `resources`.
fn gate_container(
    input: &RenderInput<'_>,
    index: usize,
    image: &str,
    args: Vec<String>,
    resources: ResourceRequirements,
) -> Container {
    let env = role_env(input, SparkRole::Driver);
    let image_spec = input.job.job.spec.image.as_ref();
    let mut mounts = vec![VolumeMount {
        name: "gates".into(),
        mount_path: GATES_DIR.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    }];
    mounts.push(VolumeMount { name: "scratch".into(), mount_path: SCRATCH_DIR.into(), ..VolumeMount::default() });
    Container {
        name: container_name(index),
        image: Some(image.to_owned()),
        image_pull_policy: image_spec.and_then(|im| im.pull_policy).map(|p| p.as_str().to_owned()),
        command: Some(vec!["sparkplane".to_owned()]),
        args: Some(args),
        working_dir: Some(GATES_DIR.to_owned()),
        env: (!env.is_empty()).then_some(env),
        volume_mounts: Some(mounts),
        resources: Some(resources),
        security_context: Some(SecurityContext {
            read_only_root_filesystem: Some(true),
            ..container_security_context()
        }),
        ..Container::default()
    }
}

/// Where a check's writable scratch space (an `emptyDir`) is mounted: the
/// root filesystem is read-only, and a Spark gate's Spark keeps its
/// temporary files and event log there.
pub const SCRATCH_DIR: &str = "/tmp";

/// The native engine's container resources ([`GATE_CPU`], [`GATE_MEMORY`]).
fn native_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(GATE_CPU.to_owned())),
            ("memory".to_owned(), Quantity(GATE_MEMORY.to_owned())),
        ])),
        limits: Some(BTreeMap::from([("memory".to_owned(), Quantity(GATE_MEMORY.to_owned()))])),
        ..ResourceRequirements::default()
    }
}

/// A Spark gate's container resources: the driver pod of [`spark_gate_spec`]
/// as the one sizing model sizes it (heap + overhead as memory request and
/// limit, its cores as CPU request).
pub fn spark_resources(job: &ResolvedJob, bytes: Option<u64>) -> ResourceRequirements {
    let sized = crate::sizing::size_job(&spark_gate_spec(job, bytes)).driver;
    let memory = Quantity(format!("{}Mi", sized.pod_memory.mib()));
    let mut limits = BTreeMap::from([("memory".to_owned(), memory.clone())]);
    if let Some(limit) = sized.cpu_limit {
        limits.insert("cpu".to_owned(), Quantity(limit.to_kubernetes()));
    }
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(sized.cpu_request.to_kubernetes())),
            ("memory".to_owned(), memory),
        ])),
        limits: Some(limits),
        ..ResourceRequirements::default()
    }
}

/// The pod of a check: restricted, as the sparkplane image's user, never
/// restarted, at most [`RUN_LIMIT`], on the job's nodes, under its priority.
fn check_pod(input: &RenderInput<'_>, name: &str, containers: Vec<Container>) -> PodSpec {
    let spec = &input.job.job.spec;
    let pull_secrets: Vec<LocalObjectReference> =
        spec.image.as_ref().map(|im| im.pull_secret_refs()).unwrap_or_default();
    PodSpec {
        restart_policy: Some("Never".into()),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(GATE_UID),
            run_as_group: Some(GATE_UID),
            fs_group: Some(GATE_UID),
            ..pod_security_context()
        }),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
        node_selector: (!spec.node_selector.is_empty()).then(|| spec.node_selector.clone()),
        tolerations: (!spec.tolerations.is_empty()).then(|| spec.tolerations.clone()),
        containers,
        volumes: Some(vec![
            Volume {
                name: "gates".into(),
                config_map: Some(ConfigMapVolumeSource { name: name.to_owned(), ..ConfigMapVolumeSource::default() }),
                ..Volume::default()
            },
            Volume { name: "scratch".into(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() },
        ]),
        ..PodSpec::default()
    }
}

/// The check's ConfigMap and Job for the attempt `input.job.attempt`, or
/// nothing when the job declares no gates or a gate has no embedded
/// definition (the operator reports that instead of running a partial check).
pub fn render(input: &RenderInput<'_>, image: &str) -> Vec<RenderedObject> {
    let spec = &input.job.job.spec;
    let Some(definitions) = definitions(input) else { return Vec::new() };
    let name = check_name(input.job);
    let config_map = specs_config_map(input, &name, &definitions);
    let containers: Vec<Container> = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut args = check_args(i, d);
            // An `auto` gate is here because the operator chose the native engine for it (ADR 0063).
            if d.engine == Some(DqEngine::Auto) {
                args.extend(["--engine".to_owned(), "native".to_owned()]);
            }
            gate_container(input, i, image, args, native_resources())
        })
        .collect();
    let mut labels = object_meta(input, &name, COMPONENT);
    labels.name = None;
    labels.namespace = None;
    let job = Job {
        metadata: object_meta(input, &name, COMPONENT),
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            active_deadline_seconds: Some(RUN_LIMIT.as_secs() as i64),
            ttl_seconds_after_finished: spec
                .ttl_after_finished
                .map(|ttl| i32::try_from(ttl.to_std().max(MIN_TTL).as_secs()).unwrap_or(i32::MAX)),
            template: PodTemplateSpec { metadata: Some(labels), spec: Some(check_pod(input, &name, containers)) },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    vec![RenderedObject::from_resource(&config_map), RenderedObject::from_resource(&job)]
}

/// The check application of the attempt `input.job.attempt` (ADR 0063): its
/// ConfigMap and its Pod, one container per gate — `dq check --engine spark`
/// for a Spark gate, its Spark running in the container (`local[N]` on the
/// cores the one sizing model gives it for its dataset's size), `dq check
/// --engine native` for the others — under the job's priority class and at
/// most [`RUN_LIMIT`] (`activeDeadlineSeconds`). Nothing when the job declares
/// no gates, a gate has no embedded definition, or `engines` does not say how
/// each gate is checked.
pub fn render_application(input: &RenderInput<'_>, image: &str, engines: &[GateEngine]) -> Vec<RenderedObject> {
    let Some(definitions) = definitions(input).filter(|d| d.len() == engines.len()) else { return Vec::new() };
    let name = application_name(input.job);
    let config_map = specs_config_map(input, &name, &definitions);
    let line = spark_line(input.job);
    let containers: Vec<Container> = definitions
        .iter()
        .zip(engines)
        .enumerate()
        .map(|(i, (d, engine))| {
            let mut args = check_args(i, d);
            match engine {
                GateEngine::Native => {
                    args.extend(["--engine".to_owned(), "native".to_owned()]);
                    gate_container(input, i, image, args, native_resources())
                }
                GateEngine::Spark { bytes } => {
                    args.extend(["--engine".to_owned(), "spark".to_owned(), "--spark".to_owned(), line.clone()]);
                    gate_container(input, i, image, args, spark_resources(input.job, *bytes))
                }
            }
        })
        .collect();
    let mut pod_spec = check_pod(input, &name, containers);
    pod_spec.active_deadline_seconds = Some(RUN_LIMIT.as_secs() as i64);
    pod_spec.priority_class_name.clone_from(&input.job.job.spec.priority_class_name);
    let pod =
        Pod { metadata: object_meta(input, &name, APPLICATION_COMPONENT), spec: Some(pod_spec), ..Pod::default() };
    vec![RenderedObject::from_resource(&config_map), RenderedObject::from_resource(&pod)]
}

/// The `app.kubernetes.io/component` of the check application's Pod.
pub const APPLICATION_COMPONENT: &str = "quality-gates-spark";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::check::check_objects;
    use crate::sizing::size_job;
    use sparkplane_api::job::QualityGate;

    fn definition(profile_store: Option<&str>) -> DqSpec {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "DataQuality", "metadata": {"name": "trips-daily"},
            "dataset": {"path": "s3://lake/curated/trips", "format": "parquet"},
            "checks": [{"name": "rows", "rowCount": {"min": 1}}],
            "profileStore": profile_store,
        }))
        .expect("a spec")
    }

    fn resolved(gates: Vec<QualityGate>) -> ResolvedJob {
        let catalog = crate::catalog::Catalog::builtin().expect("catalog");
        let job: sparkplane_api::SparkJob = serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": "trips", "namespace": "data"},
            "spec": {
                "team": "t", "costCenter": "c", "type": "Python", "mainApplicationFile": "local:///opt/app/main.py",
                "sparkVersion": "3.5.3",
                "image": {"repository": "registry.example.com/spark/py", "tag": "3.5.3", "pullPolicy": "Always",
                          "pullSecrets": ["registry"]},
                "env": [{"name": "AWS_SECRET_ACCESS_KEY", "secretKeyRef": {"name": "lake", "key": "secret"}}],
                "eventLog": {"enabled": false},
            },
        }))
        .expect("a job");
        let mut job = job;
        job.spec.quality_gates = gates;
        crate::load::resolve_resource(&job, &catalog).expect("resolves")
    }

    fn gate(definition: Option<DqSpec>) -> QualityGate {
        QualityGate { spec: "dq.yaml".into(), blocking: None, definition: definition.map(Box::new) }
    }

    #[test]
    fn one_container_per_gate_restricted_with_secret_references_only() {
        let job = resolved(vec![gate(Some(definition(None))), gate(Some(definition(Some("s3://lake/profiles"))))]);
        let sized = size_job(&job.job.spec);
        let objects = render(&RenderInput { job: &job, sized: &sized }, "ghcr.io/sparkplane/sparkplane:0.1.0");
        assert_eq!(
            objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect::<Vec<_>>(),
            [("ConfigMap", check_name(&job).as_str()), ("Job", check_name(&job).as_str())]
        );
        assert!(check_name(&job).starts_with("trips-") && check_name(&job).ends_with("-gates"));
        assert_eq!(check_objects(&objects), Vec::<String>::new(), "restricted and valid");
        let cm = &objects[0].body;
        let text = cm["data"]["gate-0.yaml"].as_str().expect("the spec");
        assert!(text.contains("\"path\": \"s3://lake/curated/trips\""), "{text}");
        let pod = &objects[1].body["spec"]["template"]["spec"];
        assert_eq!(objects[1].body["spec"]["backoffLimit"], 0);
        assert_eq!(objects[1].body["spec"]["activeDeadlineSeconds"], 3600);
        assert!(objects[1].body["spec"]["ttlSecondsAfterFinished"].is_null(), "kept while the SparkJob keeps its pods");
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(pod["imagePullSecrets"][0]["name"], "registry");
        assert_eq!(objects[1].body["spec"]["template"]["metadata"]["labels"]["sparkplane.dev/job"], "trips");
        let containers = pod["containers"].as_array().expect("containers");
        assert_eq!(containers.len(), 2);
        assert_eq!(
            containers[0]["args"],
            serde_json::json!(["dq", "check", "gate-0.yaml", "--no-profile", "--no-quarantine"])
        );
        assert_eq!(containers[1]["args"], serde_json::json!(["dq", "check", "gate-1.yaml", "--no-quarantine"]));
        assert_eq!(containers[0]["imagePullPolicy"], "Always");
        assert_eq!(containers[0]["workingDir"], GATES_DIR);
        assert_eq!(containers[0]["env"][0]["valueFrom"]["secretKeyRef"]["name"], "lake");
        assert!(containers[0]["env"][0]["value"].is_null(), "a reference, never a value");
    }

    #[test]
    fn an_ended_check_is_kept_at_least_five_minutes_under_the_jobs_ttl() {
        for (ttl, kept) in [(0, 300), (60, 300), (7200, 7200)] {
            let mut job = resolved(vec![gate(Some(definition(None)))]);
            job.job.spec.ttl_after_finished = Some(sparkplane_api::Duration::from_secs(ttl));
            let sized = size_job(&job.job.spec);
            let objects = render(&RenderInput { job: &job, sized: &sized }, "img");
            assert_eq!(objects[1].body["spec"]["ttlSecondsAfterFinished"], kept, "ttlAfterFinished {ttl}s");
        }
    }

    #[test]
    fn a_spark_gate_gets_the_cores_and_heap_of_its_datasets_row() {
        const GIB: u64 = 1 << 30;
        // (listed bytes) → (cores, heap GiB)
        let table = [
            (None, (2, 4)),
            (Some(0), (2, 4)),
            (Some(10 * GIB), (2, 4)),
            (Some(10 * GIB + 1), (4, 8)),
            (Some(100 * GIB), (4, 8)),
            (Some(100 * GIB + 1), (8, 16)),
            (Some(u64::MAX), (8, 16)),
        ];
        for (bytes, want) in table {
            assert_eq!(spark_gate_size(bytes), want, "{bytes:?}");
        }
    }

    #[test]
    fn the_check_application_runs_spark_gates_sized_by_the_one_sizing_model() {
        let mut spark = definition(None);
        spark.engine = Some(DqEngine::Spark);
        let mut auto = definition(None);
        auto.engine = Some(DqEngine::Auto);
        let job = resolved(vec![gate(Some(spark)), gate(Some(auto))]);
        let sized = size_job(&job.job.spec);
        let input = RenderInput { job: &job, sized: &sized };
        let engines = [GateEngine::Spark { bytes: Some(20 << 30) }, GateEngine::Native];
        let objects = render_application(&input, "ghcr.io/sparkplane/sparkplane:0.1.0", &engines);
        let name = application_name(&job);
        assert!(name.starts_with("trips-") && name.ends_with("-dq"), "{name}");
        assert_eq!(
            objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect::<Vec<_>>(),
            [("ConfigMap", name.as_str()), ("Pod", name.as_str())]
        );
        assert_eq!(check_objects(&objects), Vec::<String>::new(), "restricted and valid");
        let pod = &objects[1].body;
        assert_eq!(pod["metadata"]["labels"]["app.kubernetes.io/component"], APPLICATION_COMPONENT);
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["activeDeadlineSeconds"], 3600);
        assert_eq!(pod["spec"]["volumes"][0]["configMap"]["name"], name.as_str());
        let containers = pod["spec"]["containers"].as_array().expect("containers");
        // The Spark gate: `dq check --engine spark` on the job's Spark line, sized for 20 GiB (4 cores, 8 GiB heap).
        assert_eq!(
            containers[0]["args"],
            serde_json::json!([
                "dq",
                "check",
                "gate-0.yaml",
                "--no-profile",
                "--no-quarantine",
                "--engine",
                "spark",
                "--spark",
                "3.5"
            ])
        );
        let sized = crate::sizing::size_job(&spark_gate_spec(&job, Some(20 << 30))).driver;
        assert_eq!(sized.heap.mib(), 8 * 1024, "the row's heap");
        let memory = format!("{}Mi", sized.pod_memory.mib());
        assert!(sized.pod_memory.mib() > 8 * 1024, "heap plus the model's overhead");
        assert_eq!(containers[0]["resources"]["requests"]["cpu"], "4");
        assert_eq!(containers[0]["resources"]["requests"]["memory"], memory.as_str());
        assert_eq!(containers[0]["resources"]["limits"]["memory"], memory.as_str());
        // The `auto` gate the operator found small runs natively in the same pod, as in the check Job.
        assert_eq!(
            containers[1]["args"],
            serde_json::json!(["dq", "check", "gate-1.yaml", "--no-profile", "--no-quarantine", "--engine", "native"])
        );
        assert_eq!(containers[1]["resources"]["requests"]["cpu"], GATE_CPU);
        assert_eq!(containers[1]["resources"]["limits"]["memory"], GATE_MEMORY);
        // Engines that do not match the gates render nothing: the operator reports that instead.
        assert!(render_application(&input, "img", &engines[..1]).is_empty());
    }

    #[test]
    fn nothing_without_gates_or_with_a_gate_not_embedded() {
        for gates in [vec![], vec![gate(Some(definition(None))), gate(None)]] {
            let job = resolved(gates);
            let sized = size_job(&job.job.spec);
            assert!(render(&RenderInput { job: &job, sized: &sized }, "img").is_empty());
        }
    }
}
