//! The steps every loader of a sparkplane kind shares (Tenant, Backup,
//! DataQuality): the `kind` checked first, the schema-checked tree read into
//! its type, and the one supported `apiVersion`.
//!
//! Owns those three steps and their messages. Must not check a kind's
//! structure (that is the `schema` module's) or its meaning (each kind's module).

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::yaml::{FieldPath, Node};

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

/// The document's `kind` is `kind`, else a `wrong-kind` error at it with `help`.
pub fn expect_kind(doc: &Node, kind: &str, help: &str) -> Result<(), Diagnostics> {
    let found = doc.get(&path("kind")).and_then(Node::as_str);
    if found == Some(kind) {
        return Ok(());
    }
    let found = found.map(|k| format!("`{k}`")).unwrap_or_else(|| "none".into());
    Err(Diagnostic::error("wrong-kind", "kind", format!("expected `kind: {kind}`, found {found}"))
        .with_span(Some(doc.span_for(&path("kind"))))
        .with_help(help)
        .into())
}

/// A tree the schema has passed, read as `T`. A serde error here is one the
/// schema let through; it points at the document, names `what` (`a Tenant`
/// reads "not a valid Tenant") and sends the reader to `example`.
pub fn read_checked<T: DeserializeOwned>(doc: &Node, what: &str, example: &str) -> Result<T, Diagnostics> {
    serde_json::from_value(doc.to_json()).map_err(|e| {
        Diagnostic::error("invalid-document", "", format!("not a valid {what}: {e}"))
            .with_span(Some(doc.span.clone()))
            .with_help(example)
            .into()
    })
}

/// A `bad-value` error at `apiVersion` unless it is the one sparkplane reads.
pub fn check_api_version(doc: &Node, api_version: &str, out: &mut Diagnostics) {
    if api_version != sparkplane_api::API_VERSION {
        out.push(
            Diagnostic::error("bad-value", "apiVersion", format!("apiVersion `{api_version}` is not supported"))
                .with_span(Some(doc.span_for(&path("apiVersion"))))
                .with_help(format!("write `apiVersion: {}`", sparkplane_api::API_VERSION)),
        );
    }
}
