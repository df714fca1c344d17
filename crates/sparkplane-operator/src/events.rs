//! Kubernetes Events for SparkJob transitions: one `events.k8s.io/v1` Event
//! created per transition, nothing kept.
//!
//! Owns: the Event object the operator writes. Must not: decide when one is
//! due (the reconcile does).
//!
//! kube-runtime's `Recorder` keeps every Event it sent for six minutes to
//! fold repeats into a series, and scans that whole cache on each publish.
//! The operator's Events are one per transition and never repeat, so the
//! cache only cost memory and time: at 10,000 jobs about 40,000 cached
//! Events, each publish scanning them all (the throughput benchmark found
//! the per-job CPU doubling from 1,000 to 10,000 jobs).

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

/// Writes Events as one controller instance.
#[derive(Clone)]
pub struct EventWriter {
    client: kube::Client,
    controller: String,
    instance: String,
}

impl EventWriter {
    /// Events reported by `controller`, as `instance` (the controller's name when None).
    pub fn new(client: kube::Client, controller: &str, instance: Option<&str>) -> EventWriter {
        EventWriter { client, controller: controller.to_owned(), instance: instance.unwrap_or(controller).to_owned() }
    }

    /// Creates one Event about `regarding`, in its namespace.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        warning: bool,
        reason: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".to_owned());
        let now = k8s_openapi::jiff::Timestamp::now();
        let event = event(regarding, &self.controller, &self.instance, warning, reason, note, now);
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        api.create(&PostParams::default(), &event).await.map(|_| ())
    }
}

/// The Event object: named after what it regards and the time in
/// nanoseconds (hex), as Kubernetes' own recorders name theirs.
pub fn event(
    regarding: &ObjectReference,
    controller: &str,
    instance: &str,
    warning: bool,
    reason: &str,
    note: &str,
    at: k8s_openapi::jiff::Timestamp,
) -> Event {
    let subject = regarding.name.as_deref().unwrap_or(controller);
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{subject}.{:x}", at.as_nanosecond())),
            namespace: regarding.namespace.clone(),
            ..ObjectMeta::default()
        },
        action: Some("Reconcile".to_owned()),
        reason: Some(reason.to_owned()),
        // The Events API takes at most 1 kB of note.
        note: Some(note.chars().take(1000).collect()),
        type_: Some(if warning { "Warning" } else { "Normal" }.to_owned()),
        event_time: Some(MicroTime(at)),
        regarding: Some(regarding.clone()),
        reporting_controller: Some(controller.to_owned()),
        reporting_instance: Some(instance.to_owned()),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_its_subject_time_reporter_and_bounds_its_note() {
        let regarding = ObjectReference {
            kind: Some("SparkJob".into()),
            name: Some("nightly".into()),
            namespace: Some("data".into()),
            ..ObjectReference::default()
        };
        let at = k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("time");
        let long = "x".repeat(1500);
        let e = event(&regarding, "sparkplane-operator", "replica-a", true, "DriverFailed", &long, at);
        assert_eq!(e.metadata.name.as_deref(), Some("nightly.17979cfe362a0000"));
        assert_eq!(e.metadata.namespace.as_deref(), Some("data"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.reason.as_deref(), Some("DriverFailed"));
        assert_eq!(e.note.as_deref().map(str::len), Some(1000));
        assert_eq!(e.reporting_controller.as_deref(), Some("sparkplane-operator"));
        assert_eq!(e.reporting_instance.as_deref(), Some("replica-a"));
        assert_eq!(e.regarding, Some(regarding.clone()));
        let normal = event(&regarding, "sparkplane-operator", "sparkplane-operator", false, "Submitted", "ok", at);
        assert_eq!(normal.type_.as_deref(), Some("Normal"));
        assert_eq!(normal.note.as_deref(), Some("ok"));
    }
}
