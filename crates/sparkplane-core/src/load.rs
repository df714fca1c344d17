//! Loading a job: the one step from its documents to a job every later stage
//! may trust — layers merged and schema-checked (`resolve`), then its meaning
//! checked (`validate`), every problem of both reported together. A SparkJob
//! resource read from a cluster is loaded the same way ([`resolve_resource`]),
//! from the document [`job_document`] makes of it, so the operator and the
//! CLI have one path.
//!
//! Owns: the order of those two steps and the decision (errors refuse, warnings
//! travel with the job). Must not: read files or apply policies — the CLI
//! reads, and policies judge the loaded job per environment (ADR 0028).

use serde_json::{Value, json};
use sparkplane_api::SparkJob;

use crate::catalog::Catalog;
use crate::resolve::{ResolveRequest, resolve_layers};
use crate::resolved::ResolvedJob;
use crate::validate::{ValidationTarget, validate};
use sparkplane_documents::diagnostic::Diagnostics;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;

/// Resolves a job's layers and validates the result for `request.target`.
/// On success the job's warnings (of both steps) are in
/// [`ResolvedJob::warnings`]; on failure every error and warning comes back,
/// sorted by location.
pub fn load(request: ResolveRequest<'_>) -> Result<ResolvedJob, Diagnostics> {
    let (mut resolved, mut diagnostics) = resolve_layers(request)?;
    diagnostics.extend(validate(&resolved, request.target));
    let diagnostics = diagnostics.deduplicated().sorted();
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    resolved.warnings = diagnostics;
    Ok(resolved)
}

/// The document the core resolves for a resource: apiVersion, kind, name,
/// namespace, labels and spec. Status, annotations and what the API server
/// writes (uid, resourceVersion, managedFields, …) are not part of the job,
/// and neither is `spec.suspend` (holding a run does not make it another
/// application), so none of them changes the spec hash or the names.
pub fn job_document(job: &SparkJob) -> Value {
    let mut metadata = json!({ "name": job.metadata.name, "namespace": job.metadata.namespace });
    if let Some(labels) = job.metadata.labels.as_ref().filter(|l| !l.is_empty()) {
        metadata["labels"] = json!(labels);
    }
    json!({
        "apiVersion": sparkplane_api::API_VERSION,
        "kind": "SparkJob",
        "metadata": metadata,
        "spec": serde_json::to_value(sparkplane_api::SparkJobSpec { suspend: None, ..job.spec.clone() })
            .unwrap_or(Value::Null),
    })
}

fn node_of(job: &SparkJob) -> Node {
    let name = format!(
        "sparkjob {}/{}",
        job.metadata.namespace.as_deref().unwrap_or("default"),
        job.metadata.name.as_deref().unwrap_or_default()
    );
    let source = Source::new(name, "");
    let span = Span { source, start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
    Node::from_json(&job_document(job), &span)
}

/// Resolves a resource as `render` resolves a file: its preset and
/// environment (`spec.environment`) from the platform catalog, validated for
/// a cluster.
pub fn resolve_resource(job: &SparkJob, catalog: &Catalog) -> Result<ResolvedJob, Diagnostics> {
    let node = node_of(job);
    load(ResolveRequest {
        job: &node,
        job_environment: None,
        catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
}
