//! What every renderer reads and builds on: the input (a resolved job and
//! its sizes), a rendered object, the two Spark roles and a role's spec and
//! pod size, the names of a run's objects, and the labels and metadata every
//! object of a job carries.
//!
//! Owns: those types and the rules for names, standard labels and object
//! metadata. Must not: import any other render module — every route and
//! `common` builds on this one, so it sits below them all (the gang
//! scheduling module reads it without a circle through `common`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;
use sparkplane_api::job::RoleSpec;

use crate::resolved::ResolvedJob;
use crate::sizing::{PodResources, SizedJob};

/// What renderers get: the resolved job and its sizes.
#[derive(Clone, Copy, Debug)]
pub struct RenderInput<'a> {
    /// The resolved job.
    pub job: &'a ResolvedJob,
    /// Its pod resources (from `sizing::size_job`).
    pub sized: &'a SizedJob,
}

/// One rendered Kubernetes object, kept as JSON built from its typed form.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RenderedObject {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (None for cluster-wide objects).
    pub namespace: Option<String>,
    /// The whole object.
    pub body: Value,
}

impl RenderedObject {
    /// Wraps a typed Kubernetes object.
    pub fn from_resource<K>(object: &K) -> RenderedObject
    where
        K: k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Serialize,
    {
        let meta = object.metadata();
        RenderedObject {
            api_version: K::API_VERSION.to_owned(),
            kind: K::KIND.to_owned(),
            name: meta.name.clone().unwrap_or_default(),
            namespace: meta.namespace.clone(),
            body: serde_json::to_value(object).unwrap_or(Value::Null),
        }
    }

    /// Wraps an object that has no k8s-openapi type (custom resources); its
    /// body must carry apiVersion, kind and metadata.
    pub fn from_custom(body: Value) -> RenderedObject {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        RenderedObject {
            api_version: text(&body["apiVersion"]).unwrap_or_default(),
            kind: text(&body["kind"]).unwrap_or_default(),
            name: text(&body["metadata"]["name"]).unwrap_or_default(),
            namespace: text(&body["metadata"]["namespace"]),
            body,
        }
    }

    /// A file name for `--out-dir`: `<kind>-<name>.yaml`, lower-case.
    pub fn file_name(&self) -> String {
        format!("{}-{}.yaml", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// The driver or an executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparkRole {
    /// The driver.
    Driver,
    /// An executor.
    Executor,
}

impl SparkRole {
    /// `driver` or `executor`, as Spark spells it in property names.
    pub fn as_str(self) -> &'static str {
        match self {
            SparkRole::Driver => "driver",
            SparkRole::Executor => "executor",
        }
    }
}

/// Names of the objects a job renders; stable for the same resolved job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// `<job>-<8 hex>`: the prefix of per-run objects and executor pods.
    pub prefix: String,
    /// The driver pod.
    pub driver_pod: String,
    /// The headless driver service.
    pub driver_service: String,
    /// The ConfigMap holding spark.properties.
    pub driver_config_map: String,
    /// The ConfigMap holding the executor pod template.
    pub pod_template_config_map: String,
    /// The driver's service account (when sparkplane creates it).
    pub service_account: String,
    /// The Spark application id.
    pub app_id: String,
}

impl Names {
    /// The names for a resolved job.
    pub fn of(job: &ResolvedJob) -> Names {
        let hash = job.run_hash();
        let short = &hash[..8];
        let prefix = format!("{}-{short}", job.name());
        Names {
            driver_pod: format!("{prefix}-driver"),
            driver_service: format!("{prefix}-driver-svc"),
            driver_config_map: format!("spark-drv-{short}-conf-map"),
            pod_template_config_map: format!("{prefix}-driver-podspec-conf-map"),
            service_account: format!("{}-spark", job.name()),
            app_id: format!("spark-{}", &hash[..32]),
            prefix,
        }
    }
}

/// Labels every object of the job carries (the job's own labels, then the standard ones).
pub fn standard_labels(job: &ResolvedJob, component: &str) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = job.job.metadata.labels.clone().unwrap_or_default();
    let spec = &job.job.spec;
    labels.insert(sparkplane_api::labels::APP_NAME.into(), "spark".into());
    labels.insert(sparkplane_api::labels::APP_INSTANCE.into(), job.name().to_owned());
    labels.insert(sparkplane_api::labels::APP_COMPONENT.into(), component.to_owned());
    labels.insert(sparkplane_api::labels::MANAGED_BY.into(), sparkplane_api::labels::SPARKPLANE.into());
    if let Some(version) = &spec.spark_version {
        labels.insert(sparkplane_api::labels::APP_VERSION.into(), version.clone());
    }
    labels.insert(sparkplane_api::labels::JOB.into(), job.name().to_owned());
    labels.insert(sparkplane_api::labels::SPEC_HASH.into(), job.short_hash());
    if job.attempt > 1 {
        labels.insert(sparkplane_api::labels::ATTEMPT.into(), job.attempt.to_string());
    }
    if let Some(team) = &spec.team {
        labels.insert(sparkplane_api::labels::TEAM.into(), team.clone());
    }
    if let Some(cc) = &spec.cost_center {
        labels.insert(sparkplane_api::labels::COST_CENTER.into(), cc.clone());
    }
    if let Some(env) = &job.environment {
        labels.insert(sparkplane_api::labels::ENVIRONMENT.into(), env.clone());
    }
    if let Some(preset) = &job.preset {
        labels.insert(sparkplane_api::labels::PRESET.into(), preset.clone());
    }
    labels
}

/// Metadata for an object of the job.
pub fn object_meta(input: &RenderInput<'_>, name: &str, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(input.job.namespace().to_owned()),
        labels: Some(standard_labels(input.job, component)),
        ..Default::default()
    }
}

/// The job's role spec (driver or executor), if any.
pub fn role_spec<'a>(input: &RenderInput<'a>, role: SparkRole) -> Option<&'a RoleSpec> {
    let spec = &input.job.job.spec;
    match role {
        SparkRole::Driver => spec.driver.as_ref().map(|d| &d.role),
        SparkRole::Executor => spec.executor.as_ref().map(|e| &e.role),
    }
}

/// The sized pod of a role.
pub fn pod_resources<'a>(input: &RenderInput<'a>, role: SparkRole) -> &'a PodResources {
    match role {
        SparkRole::Driver => &input.sized.driver,
        SparkRole::Executor => &input.sized.executor,
    }
}
