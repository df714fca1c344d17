//! The quality-gate check of one attempt in a cluster (ADR 0043): a
//! ConfigMap holding the data-quality specs the job's `spec.qualityGates`
//! embed (`definition`, written by `sparkplane apply`), and a batch/v1 Job
//! whose pod runs `sparkplane dq check` over each of them, one container per
//! gate (`gate-<n>`), the specs mounted read-only at [`GATES_DIR`].
//!
//! The pod is held to Pod Security "restricted" with the driver's security
//! contexts, but as the sparkplane image's own user ([`GATE_UID`], ADR 0047)
//! and with a read-only root filesystem, as the chart runs that image; it pulls its image under the job's pull policy and
//! pull secrets, and gets the driver's environment as the job declares it —
//! a Secret stays a `secretKeyRef`, so no secret value is written here. It
//! does not restart (`backoffLimit: 0`, `restartPolicy: Never`): whether a
//! check that could not run is tried again is the run's restart policy's
//! call (the operator's `lifecycle`). It runs for at most [`RUN_LIMIT`]
//! (`activeDeadlineSeconds`), and with the job's `ttlAfterFinished` (at least
//! [`MIN_TTL`]) Kubernetes removes it and its pod after it ended.
//!
//! Owns: those two objects and their names. Must not: decide when they are
//! created or what their outcome means (`operator::lifecycle`), nor evaluate
//! a check (`sparkplane-dq`).

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, LocalObjectReference, PodSecurityContext, PodSpec, PodTemplateSpec,
    ResourceRequirements, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use sparkplane_api::dq::DqSpec;

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

/// The check's ConfigMap and Job for the attempt `input.job.attempt`, or
/// nothing when the job declares no gates or a gate has no embedded
/// definition (the operator reports that instead of running a partial check).
pub fn render(input: &RenderInput<'_>, image: &str) -> Vec<RenderedObject> {
    let spec = &input.job.job.spec;
    let definitions: Option<Vec<&DqSpec>> = spec.quality_gates.iter().map(|g| g.definition.as_deref()).collect();
    let Some(definitions) = definitions.filter(|d| !d.is_empty()) else { return Vec::new() };
    let name = check_name(input.job);

    let data: BTreeMap<String, String> = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| (spec_file(i), serde_json::to_string_pretty(d).unwrap_or_default()))
        .collect();
    let config_map =
        ConfigMap { metadata: object_meta(input, &name, COMPONENT), data: Some(data), ..ConfigMap::default() };

    let image_spec = spec.image.as_ref();
    let env = role_env(input, SparkRole::Driver);
    let resources = ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(GATE_CPU.to_owned())),
            ("memory".to_owned(), Quantity(GATE_MEMORY.to_owned())),
        ])),
        limits: Some(BTreeMap::from([("memory".to_owned(), Quantity(GATE_MEMORY.to_owned()))])),
        ..ResourceRequirements::default()
    };
    let containers: Vec<Container> = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| Container {
            name: container_name(i),
            image: Some(image.to_owned()),
            image_pull_policy: image_spec.and_then(|im| im.pull_policy).map(|p| p.as_str().to_owned()),
            command: Some(vec!["sparkplane".to_owned()]),
            args: Some(check_args(i, d)),
            working_dir: Some(GATES_DIR.to_owned()),
            env: (!env.is_empty()).then(|| env.clone()),
            volume_mounts: Some(vec![VolumeMount {
                name: "gates".into(),
                mount_path: GATES_DIR.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            }]),
            resources: Some(resources.clone()),
            security_context: Some(SecurityContext {
                read_only_root_filesystem: Some(true),
                ..container_security_context()
            }),
            ..Container::default()
        })
        .collect();
    let pull_secrets: Vec<LocalObjectReference> = image_spec.map(|im| im.pull_secret_refs()).unwrap_or_default();
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
            template: PodTemplateSpec {
                metadata: Some(labels),
                spec: Some(PodSpec {
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
                    volumes: Some(vec![Volume {
                        name: "gates".into(),
                        config_map: Some(ConfigMapVolumeSource {
                            name: name.clone(),
                            ..ConfigMapVolumeSource::default()
                        }),
                        ..Volume::default()
                    }]),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    vec![RenderedObject::from_resource(&config_map), RenderedObject::from_resource(&job)]
}

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
        let platform = crate::operator::Platform::builtin().expect("catalog");
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
        crate::operator::plan::resolve_resource(&job, &platform.catalog).expect("resolves")
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
    fn nothing_without_gates_or_with_a_gate_not_embedded() {
        for gates in [vec![], vec![gate(Some(definition(None))), gate(None)]] {
            let job = resolved(gates);
            let sized = size_job(&job.job.spec);
            assert!(render(&RenderInput { job: &job, sized: &sized }, "img").is_empty());
        }
    }
}
