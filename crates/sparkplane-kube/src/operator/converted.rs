//! The SparkJob a Kubeflow SparkApplication runs as (`--kubeflow`, ADR 0077):
//! converting an application by the one importer and marking the result
//! with the application's identity and the `sparkplane.dev/converted-from`
//! annotation, and reading those marks back — whether a job is converted,
//! the owner reference of what its run creates and the subject of its
//! Events (both its SparkApplication).
//!
//! The converted job lives in memory only; the annotation is never
//! rendered (a job's annotations are not part of its document).
//!
//! Owns: the marks of a converted job. Must not: make requests, convert
//! other than through `sparkplane_kubeflow::resource::convert`, or decide.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use sparkplane_api::SparkJob;
use sparkplane_api::kubeflow::{API_VERSION, KIND_SPARK_APPLICATION};
use sparkplane_api::labels;
use sparkplane_documents::diagnostic::Diagnostics;
use sparkplane_kubeflow::resource::{Live, convert};

use super::kubeflow_state::App;

/// The SparkJob a SparkApplication converts into, marked as converted, with
/// the application's identity (uid, generation, creation time, version).
pub fn converted_job(app: &App) -> Result<SparkJob, Diagnostics> {
    let labels = app.metadata.labels.clone().unwrap_or_default();
    let spec = app.spec_value();
    let (namespace, name) = (app.namespace().unwrap_or_default(), app.name_any());
    let live = Live { kind: KIND_SPARK_APPLICATION, name: &name, namespace: &namespace, labels: &labels, spec: &spec };
    let mut job = convert(&live)?.job;
    mark(&mut job, app);
    Ok(job)
}

/// Gives `job` the identity of `app` and marks it as converted from a SparkApplication.
pub fn mark(job: &mut SparkJob, app: &App) {
    job.metadata.name = Some(app.name_any());
    job.metadata.namespace = app.namespace();
    job.metadata.uid.clone_from(&app.metadata.uid);
    job.metadata.generation = app.metadata.generation;
    job.metadata.creation_timestamp.clone_from(&app.metadata.creation_timestamp);
    job.metadata.resource_version.clone_from(&app.metadata.resource_version);
    job.metadata.labels.clone_from(&app.metadata.labels);
    job.metadata.annotations =
        Some([(labels::CONVERTED_FROM.to_owned(), KIND_SPARK_APPLICATION.to_owned())].into_iter().collect());
}

/// Whether `job` is the SparkJob a Kubeflow resource was converted into.
pub fn converted(job: &SparkJob) -> bool {
    converted_from(job).is_some()
}

fn converted_from(job: &SparkJob) -> Option<&str> {
    job.metadata.annotations.as_ref()?.get(labels::CONVERTED_FROM).map(String::as_str)
}

/// The owner reference (controller) of what a converted job's run creates:
/// its SparkApplication, which the driver then belongs to (and goes with).
pub fn owner_of(job: &SparkJob) -> Option<OwnerReference> {
    let kind = converted_from(job)?;
    Some(OwnerReference {
        api_version: API_VERSION.into(),
        kind: kind.into(),
        name: job.name_any(),
        uid: job.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// The subject of a converted job's Events: its SparkApplication.
pub fn object_ref(job: &SparkJob) -> Option<ObjectReference> {
    let kind = converted_from(job)?;
    Some(ObjectReference {
        api_version: Some(API_VERSION.into()),
        kind: Some(kind.into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        resource_version: job.metadata.resource_version.clone(),
        ..ObjectReference::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
            "metadata": {"name": "pi", "namespace": "data", "uid": "u-1", "generation": 3, "resourceVersion": "17",
                         "labels": {"sparkplane.dev/operator": "sparkplane"}},
            "spec": {"type": "Scala", "mode": "cluster", "image": "spark:3.5.1", "mainClass": "Pi",
                     "mainApplicationFile": "local:///opt/spark/examples.jar", "sparkVersion": "3.5.1",
                     "driver": {"cores": 1, "memory": "1g"}, "executor": {"instances": 1, "cores": 1, "memory": "1g"}},
        }))
        .expect("a SparkApplication")
    }

    #[test]
    fn a_marked_job_is_its_applications_in_identity_owner_and_events() {
        let mut job = SparkJob::new("other", sparkplane_api::SparkJobSpec::default());
        assert!(!converted(&job));
        assert!(owner_of(&job).is_none() && object_ref(&job).is_none(), "a SparkJob of its own has no marks");
        mark(&mut job, &app());
        assert!(converted(&job));
        assert_eq!(
            (job.name_any(), job.namespace(), job.metadata.generation, job.resource_version()),
            ("pi".to_owned(), Some("data".to_owned()), Some(3), Some("17".to_owned()))
        );
        let owner = owner_of(&job).expect("an owner");
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str(), owner.controller),
            ("SparkApplication", "pi", "u-1", Some(true))
        );
        let subject = object_ref(&job).expect("a subject");
        assert_eq!(
            (subject.kind.as_deref(), subject.namespace.as_deref(), subject.api_version.as_deref()),
            (Some("SparkApplication"), Some("data"), Some("sparkoperator.k8s.io/v1beta2"))
        );
    }

    #[test]
    fn a_converted_application_carries_the_marks() {
        let job = converted_job(&app()).expect("converts");
        assert!(converted(&job));
        assert_eq!(job.uid().as_deref(), Some("u-1"));
    }
}
