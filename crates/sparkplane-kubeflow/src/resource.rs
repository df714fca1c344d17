//! A live Kubeflow resource (the v1beta2 kinds and the v1alpha1
//! `SparkConnect`), as the operator and `sparkplane migrate kubeflow`
//! read it from the cluster, through the one importer: the SparkJob it runs
//! as, the fields sparkplane cannot honour as conditions, or why it cannot be
//! converted at all (nothing is then submitted for it).
//!
//! The conditions are kept on the resource in the `sparkplane.dev/conditions`
//! annotation ([`CONDITIONS`]): Kubeflow's status schema has no `conditions`
//! and the API server prunes fields a status schema does not list.
//!
//! Owns: what of a live object goes into the conversion (its name,
//! namespace, labels and spec; the server's metadata and the status are not
//! the application's), and the condition list. Must not: read or write the
//! cluster, or convert anything itself (`import` does).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sparkplane_api::SparkJob;
use sparkplane_api::labels;
use sparkplane_documents::diagnostic::Diagnostics;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;

use crate::import::{NotCarried, import_kubeflow};

/// The annotation the conditions are kept in.
pub const CONDITIONS: &str = labels::CONDITIONS;
/// The label that hands a Kubeflow resource to sparkplane's operator.
pub const OPERATOR: &str = labels::OPERATOR;
/// The value of [`OPERATOR`] that does.
pub const SPARKPLANE: &str = "sparkplane";

/// A live SparkApplication, ScheduledSparkApplication or SparkConnect, as read from the API server.
#[derive(Clone, Copy, Debug)]
pub struct Live<'a> {
    /// `SparkApplication`, `ScheduledSparkApplication` or `SparkConnect`.
    pub kind: &'a str,
    /// `metadata.name`.
    pub name: &'a str,
    /// `metadata.namespace`.
    pub namespace: &'a str,
    /// `metadata.labels`.
    pub labels: &'a BTreeMap<String, String>,
    /// `spec`, as the API server stored it.
    pub spec: &'a serde_json::Value,
}

/// What a live resource runs as.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The SparkJob (name, namespace, labels, spec) the one pipeline plans.
    pub job: SparkJob,
    /// Every field not carried over, with why.
    pub not_carried: Vec<NotCarried>,
}

/// Whether a resource with these labels is sparkplane's to serve.
pub fn opted_in(labels: &BTreeMap<String, String>) -> bool {
    labels.get(OPERATOR).map(String::as_str) == Some(SPARKPLANE)
}

/// Converts a live resource with the one importer. Fails with every problem
/// (each with its field path) when it cannot be converted.
pub fn convert(live: &Live<'_>) -> Result<Converted, Diagnostics> {
    let document = serde_json::json!({
        "apiVersion": sparkplane_api::kubeflow::api_version_of(live.kind),
        "kind": live.kind,
        "metadata": {"name": live.name, "namespace": live.namespace, "labels": live.labels},
        "spec": live.spec,
    });
    let source = Source::new(format!("{} {}/{}", live.kind, live.namespace, live.name), "");
    let span = Span { source, start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
    let report = import_kubeflow(&Node::from_json(&document, &span))?;
    let job = serde_json::from_value(report.document).map_err(|e| {
        Diagnostics::from(sparkplane_documents::Diagnostic::error(
            "import-failed",
            "spec",
            format!("the converted SparkJob could not be read: {e}"),
        ))
    })?;
    Ok(Converted { job, not_carried: report.not_carried })
}

/// One condition, as Kubernetes writes conditions, with the field it is about.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `FieldNotHonoured` (the application runs without it) or `Converted`
    /// (status `False`: it cannot run, nothing is submitted).
    #[serde(rename = "type")]
    pub kind: String,
    /// `True` or `False`.
    pub status: String,
    /// One word.
    pub reason: String,
    /// The field and why, in a sentence.
    pub message: String,
    /// The field path, e.g. `spec.driver.securityContext`.
    pub field: String,
}

/// A condition per field sparkplane does not honour.
pub fn not_honoured(not_carried: &[NotCarried]) -> Vec<Condition> {
    not_carried
        .iter()
        .map(|n| Condition {
            kind: "FieldNotHonoured".into(),
            status: "True".into(),
            reason: "NotCarried".into(),
            message: format!("{}: {}", n.path, n.reason),
            field: n.path.clone(),
        })
        .collect()
}

/// A condition per error that stops the conversion.
pub fn not_converted(diagnostics: &Diagnostics) -> Vec<Condition> {
    diagnostics
        .errors()
        .map(|d| {
            let mut message = if d.path.is_empty() { d.message.clone() } else { format!("{}: {}", d.path, d.message) };
            if let Some(help) = &d.help {
                message.push_str(&format!(" (fix: {help})"));
            }
            Condition {
                kind: "Converted".into(),
                status: "False".into(),
                reason: "InvalidSpec".into(),
                message,
                field: d.path.clone(),
            }
        })
        .collect()
}

/// The annotation's text: the conditions as a JSON list (None when there are none).
pub fn annotation(conditions: &[Condition]) -> Option<String> {
    (!conditions.is_empty()).then(|| serde_json::to_string(conditions).unwrap_or_default())
}

/// The conditions an annotation holds (none when it is absent or not ours).
pub fn read_annotation(text: Option<&str>) -> Vec<Condition> {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
}

/// One Event's note for a list of conditions: each field and why, one a line.
pub fn event_note(conditions: &[Condition]) -> String {
    conditions.iter().map(|c| c.message.as_str()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_live_application_converts_with_its_labels_and_the_fields_it_loses() {
        let labels = labels(&[(OPERATOR, SPARKPLANE), (labels::TEAM, "data-eng"), (labels::COST_CENTER, "cc-1")]);
        let spec = json!({
            "type": "Scala", "mode": "cluster", "image": "spark:4.0.1", "sparkVersion": "4.0.1",
            "mainClass": "org.apache.spark.examples.SparkPi",
            "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
            "driver": {"cores": 1, "memory": "512m", "securityContext": {"runAsUser": 185}},
            "executor": {"instances": 1, "cores": 1, "memory": "512m"},
        });
        let live = Live { kind: "SparkApplication", name: "pi", namespace: "data", labels: &labels, spec: &spec };
        let converted = convert(&live).expect("converts");
        assert_eq!(converted.job.metadata.name.as_deref(), Some("pi"));
        assert_eq!(converted.job.metadata.namespace.as_deref(), Some("data"));
        assert_eq!(converted.job.spec.team.as_deref(), Some("data-eng"));
        assert_eq!(converted.job.spec.cost_center.as_deref(), Some("cc-1"));
        let conditions = not_honoured(&converted.not_carried);
        assert_eq!(conditions.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(), ["spec.driver.securityContext"]);
        assert!(conditions[0].message.starts_with("spec.driver.securityContext: "), "{:?}", conditions[0]);
        let text = annotation(&conditions).expect("an annotation");
        assert_eq!(read_annotation(Some(&text)), conditions);
        assert!(opted_in(&labels));
        assert!(!opted_in(&BTreeMap::new()));
    }

    #[test]
    fn an_application_that_cannot_be_read_names_each_field() {
        let spec = json!({"type": "Scala", "mainApplicationFile": "local:///a.jar",
                          "driver": {"memory": "lots"}, "executor": {"instances": "many"}});
        let labels = BTreeMap::new();
        let live = Live { kind: "SparkApplication", name: "pi", namespace: "data", labels: &labels, spec: &spec };
        let errors = convert(&live).expect_err("refused");
        let conditions = not_converted(&errors);
        let fields: Vec<&str> = conditions.iter().map(|c| c.field.as_str()).collect();
        assert!(fields.contains(&"spec.driver.memory"), "{fields:?}");
        assert!(fields.contains(&"spec.executor.instances"), "{fields:?}");
        assert!(conditions.iter().all(|c| c.kind == "Converted" && c.status == "False"), "{conditions:?}");
        assert!(event_note(&conditions).contains("spec.driver.memory: "), "{}", event_note(&conditions));
        assert_eq!(annotation(&[]), None);
        assert_eq!(read_annotation(Some("not json")), Vec::new());
    }
}
