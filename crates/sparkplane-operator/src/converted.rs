//! The SparkJob a Kubeflow SparkApplication or SparkConnect runs as
//! (`--kubeflow`, ADR 0077): converting a resource by the one importer and
//! marking the result with the resource's identity and the
//! `sparkplane.dev/converted-from` annotation (its kind), and reading those
//! marks back — whether a job is converted and from what, the owner
//! reference of what its run creates and the subject of its Events (both
//! the Kubeflow resource).
//!
//! The converted job lives in memory only; the annotation is never
//! rendered (a job's annotations are not part of its document).
//!
//! A conversion is kept, with the plan prepared from it, while the
//! application's spec text and labels stay the same (`Conversions`, at most
//! [`KEPT_CONVERSIONS`]): a reconcile converts and plans an unchanged
//! application once, not at every look.
//!
//! Owns: the marks of a converted job and the memory of conversions. Must
//! not: make requests, convert other than through
//! `sparkplane_kubeflow::resource::convert`, prepare a plan (the context
//! does) or decide.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use kube::ResourceExt;
use sparkplane_api::SparkJob;
use sparkplane_api::kubeflow::{KIND_SPARK_CONNECT, api_version_of};
use sparkplane_api::labels;
use sparkplane_documents::diagnostic::Diagnostics;
use sparkplane_kubeflow::resource::{Condition, Live, convert, not_converted, not_honoured};
use sparkplane_lifecycle::Prepared;

use super::kubeflow_state::{App, Cached, Conn};

/// The most conversions kept: more than the applications a busy operator
/// has in flight (the benchmark's 10,000 at once), few enough that the
/// memory stays bounded (each is a SparkJob of a few kilobytes).
pub const KEPT_CONVERSIONS: usize = 16_384;

/// What a SparkApplication converts into: the SparkJob, marked as converted
/// with the application's identity as it was converted (re-`mark` it with
/// the application at hand), or why it cannot be converted; and the
/// conditions either way (fields not honoured, or the problems).
#[derive(Debug)]
pub struct Conversion {
    /// The converted job, or the problems.
    pub job: Result<SparkJob, Diagnostics>,
    /// The conditions the conversion implies.
    pub conditions: Vec<Condition>,
}

impl Conversion {
    /// The problems of a conversion that failed, one a line (`path: message (fix: help)`).
    pub fn problems(&self) -> Option<String> {
        let diagnostics = self.job.as_ref().err()?;
        Some(not_converted(diagnostics).iter().map(|c| c.message.clone()).collect::<Vec<_>>().join("\n"))
    }
}

/// Converts a SparkApplication by the one importer.
pub fn conversion(app: &App) -> Conversion {
    conversion_of(app)
}

/// Converts a SparkConnect by the one importer (into a `type: Connect` SparkJob).
pub fn connect_conversion(conn: &Conn) -> Conversion {
    conversion_of(conn)
}

fn conversion_of<S>(resource: &Cached<S>) -> Conversion
where
    Cached<S>: Resource<DynamicType = ()>,
{
    let labels = resource.metadata.labels.clone().unwrap_or_default();
    let spec = resource.spec_value();
    let (namespace, name) = (resource.namespace().unwrap_or_default(), resource.name_any());
    let kind = Cached::<S>::kind(&());
    let live = Live { kind: &kind, name: &name, namespace: &namespace, labels: &labels, spec: &spec };
    match convert(&live) {
        Ok(converted) => {
            let mut job = converted.job;
            mark(&mut job, resource);
            Conversion { conditions: not_honoured(&converted.not_carried), job: Ok(job) }
        }
        Err(diagnostics) => Conversion { conditions: not_converted(&diagnostics), job: Err(diagnostics) },
    }
}

/// The conversions kept, by application uid, each with what it was made
/// from (the spec text, shared with the application cache, and the labels)
/// and the plan prepared from it.
#[derive(Debug, Default)]
pub struct Conversions {
    entries: HashMap<String, Kept>,
}

#[derive(Debug)]
struct Kept {
    spec: Arc<str>,
    labels: Option<BTreeMap<String, String>>,
    conversion: Arc<Conversion>,
    prepared: Arc<Prepared>,
}

impl Conversions {
    /// The kept conversion of `app` and its plan, when `app`'s spec and
    /// labels are those it was made from.
    pub fn get(&mut self, app: &App) -> Option<(Arc<Conversion>, Arc<Prepared>)> {
        let kept = self.entries.get_mut(app.metadata.uid.as_deref()?)?;
        if *kept.spec != *app.spec || kept.labels != app.metadata.labels {
            return None;
        }
        // The same text: keep the cache's copy, so an older one can go.
        kept.spec = Arc::clone(&app.spec);
        Some((Arc::clone(&kept.conversion), Arc::clone(&kept.prepared)))
    }

    /// Keeps the conversion of `app` and its plan (replacing an older one);
    /// when [`KEPT_CONVERSIONS`] are kept already, one of them goes.
    pub fn keep(&mut self, app: &App, conversion: Arc<Conversion>, prepared: Arc<Prepared>) {
        let Some(uid) = app.metadata.uid.clone() else { return };
        if self.entries.len() >= KEPT_CONVERSIONS
            && !self.entries.contains_key(&uid)
            && let Some(any) = self.entries.keys().next().cloned()
        {
            self.entries.remove(&any);
        }
        let kept = Kept { spec: Arc::clone(&app.spec), labels: app.metadata.labels.clone(), conversion, prepared };
        self.entries.insert(uid, kept);
    }

    /// The plan kept for a converted job, when it is the job kept (the same
    /// spec and labels): no document to serialise and hash again.
    pub fn plan_of(&self, job: &SparkJob) -> Option<Arc<Prepared>> {
        let kept = self.entries.get(job.metadata.uid.as_deref()?)?;
        let same =
            kept.conversion.job.as_ref().is_ok_and(|k| k.spec == job.spec && k.metadata.labels == job.metadata.labels);
        same.then(|| Arc::clone(&kept.prepared))
    }

    /// Forgets the conversion of an application (ended, or gone).
    pub fn forget(&mut self, uid: &str) {
        self.entries.remove(uid);
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Gives `job` the identity of `resource` and marks it as converted from its kind.
pub fn mark<S>(job: &mut SparkJob, resource: &Cached<S>)
where
    Cached<S>: Resource<DynamicType = ()>,
{
    job.metadata.name = Some(resource.name_any());
    job.metadata.namespace = resource.namespace();
    job.metadata.uid.clone_from(&resource.metadata.uid);
    job.metadata.generation = resource.metadata.generation;
    job.metadata.creation_timestamp.clone_from(&resource.metadata.creation_timestamp);
    job.metadata.resource_version.clone_from(&resource.metadata.resource_version);
    // Kueue's queue label is the job's `spec.queue` (the importer's); on the run's pods it would ask
    // Kueue's pod integration to admit each pod again.
    job.metadata.labels = resource.metadata.labels.clone().map(|mut l| {
        l.remove(labels::KUEUE_QUEUE_NAME);
        l
    });
    job.metadata.annotations =
        Some([(labels::CONVERTED_FROM.to_owned(), Cached::<S>::kind(&()).into_owned())].into_iter().collect());
}

/// Whether `job` is the SparkJob a Kubeflow resource was converted into.
pub fn converted(job: &SparkJob) -> bool {
    converted_from(job).is_some()
}

/// The kind of Kubeflow resource `job` was converted from.
pub fn converted_from(job: &SparkJob) -> Option<&str> {
    job.metadata.annotations.as_ref()?.get(labels::CONVERTED_FROM).map(String::as_str)
}

/// Whether `job` is the SparkJob a SparkConnect was converted into.
pub fn from_spark_connect(job: &SparkJob) -> bool {
    converted_from(job) == Some(KIND_SPARK_CONNECT)
}

/// The owner reference (controller) of what a converted job's run creates:
/// its Kubeflow resource, which the driver (or the server's objects) then
/// belongs to and goes with.
pub fn owner_of(job: &SparkJob) -> Option<OwnerReference> {
    let kind = converted_from(job)?;
    Some(OwnerReference {
        api_version: api_version_of(kind).into(),
        kind: kind.into(),
        name: job.name_any(),
        uid: job.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// The subject of a converted job's Events: its Kubeflow resource.
pub fn object_ref(job: &SparkJob) -> Option<ObjectReference> {
    let kind = converted_from(job)?;
    Some(ObjectReference {
        api_version: Some(api_version_of(kind).into()),
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
        let conversion = conversion(&app());
        let job = conversion.job.as_ref().expect("converts");
        assert!(converted(job));
        assert_eq!(job.uid().as_deref(), Some("u-1"));
        assert!(conversion.conditions.is_empty() && conversion.problems().is_none());
    }

    fn plan() -> Arc<Prepared> {
        Arc::new(Prepared::Refused { cause: sparkplane_lifecycle::Cause::InvalidSpec, message: "kept".into() })
    }

    #[test]
    fn a_conversion_is_kept_while_the_spec_text_and_labels_stay_the_same() {
        let mut kept = Conversions::default();
        let first = app();
        assert!(kept.get(&first).is_none(), "nothing kept yet");
        let (conversion, prepared) = (Arc::new(conversion(&first)), plan());
        kept.keep(&first, Arc::clone(&conversion), Arc::clone(&prepared));
        // The same spec read again (a status write, a new resource version): the same conversion and plan.
        let mut again = app();
        again.metadata.resource_version = Some("18".into());
        let (hit, hit_plan) = kept.get(&again).expect("kept");
        assert!(Arc::ptr_eq(&hit, &conversion) && Arc::ptr_eq(&hit_plan, &prepared));
        assert!(Arc::ptr_eq(&kept.entries["u-1"].spec, &again.spec), "the cache's copy of the text is kept");
        // The converted job finds its plan by uid while it is the job kept.
        let mut job = hit.job.as_ref().expect("converts").clone();
        mark(&mut job, &again);
        assert!(kept.plan_of(&job).is_some_and(|p| Arc::ptr_eq(&p, &prepared)));
        job.spec.main_class = Some("Other".into());
        assert!(kept.plan_of(&job).is_none(), "another spec is not the job kept");
        // A changed spec or label is converted again.
        let mut changed = app();
        changed.spec = Arc::from(changed.spec.replace("spark:3.5.1", "spark:3.5.2"));
        assert!(kept.get(&changed).is_none());
        let mut relabelled = app();
        relabelled.metadata.labels.get_or_insert_default().insert("team".into(), "b".into());
        assert!(kept.get(&relabelled).is_none());
        kept.forget("u-1");
        assert!(kept.is_empty() && kept.get(&first).is_none());
    }

    #[test]
    fn at_most_kept_conversions_are_kept() {
        let mut kept = Conversions::default();
        let conversion = Arc::new(conversion(&app()));
        for i in 0..KEPT_CONVERSIONS + 10 {
            let mut one = app();
            one.metadata.uid = Some(format!("u-{i}"));
            kept.keep(&one, Arc::clone(&conversion), plan());
            kept.keep(&one, Arc::clone(&conversion), plan());
        }
        assert_eq!(kept.len(), KEPT_CONVERSIONS);
        let mut last = app();
        last.metadata.uid = Some(format!("u-{}", KEPT_CONVERSIONS + 9));
        assert!(kept.get(&last).is_some(), "the newest is kept");
    }
}
