//! Import of whole files: YAML streams of several documents (`---`), one or
//! many files, as a team keeps its Kubeflow applications in Git beside the
//! ConfigMaps, Secrets and ServiceAccounts they use.
//!
//! It owns what happens to each document: a `SparkApplication`,
//! `ScheduledSparkApplication` or `SparkConnect` is converted (by the parent
//! module), a v1 `ConfigMap` or `ServiceAccount` (or a document already
//! sparkplane's) is kept as it was written, and every other document is left
//! out and listed with why; input without any Kubeflow application is an
//! error, since the wrong file was named. A `Secret` is always
//! left out, listed by its name and key names only: its values never reach
//! the output (see ADR 0071). It also numbers the documents of a file, so an
//! error says which one it is in. It must not read files (the caller hands it
//! their text), and it must not write anything when one document fails: the
//! whole import fails, with every problem found.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sparkplane_api::kubeflow;

use super::{ImportReport, import_kubeflow};
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::source::{Source, Span};
use sparkplane_documents::yaml::{FieldPath, Node, NodeValue, parse_documents, scalar_text};

/// Why a Secret is never written.
const SECRET_LEFT: &str = "a Secret's values never leave the input: the SparkJob refers to it by name, so keep the \
                           Secret that is already in the cluster (or apply it from this file, or create it with \
                           `kubectl create secret`)";

/// Every document of every input file, in order, with what the import did with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// One entry per document that holds something, in file and document order.
    pub items: Vec<Item>,
    /// Problems that do not stop the import (the same object written twice).
    pub notes: Diagnostics,
}

/// One input document.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Its position: 1 for the first document of its file that holds something.
    pub document: usize,
    /// Its `kind` as written (empty when there is none).
    pub kind: String,
    /// `namespace/name`, or `name`, as written.
    pub name: String,
    /// Where the document starts.
    pub span: Span,
    /// What the import did with it.
    pub outcome: Outcome,
}

/// What the import did with a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A Kubeflow application, converted into a SparkJob.
    Converted(ImportReport),
    /// Written to the output as it was in the input.
    Kept(serde_json::Value),
    /// Not written, with why; for a Secret, the names of its keys (never their values).
    Left {
        /// Why it was left out, and what to do with it.
        reason: String,
        /// A Secret's key names (from `data` and `stringData`), sorted.
        keys: Vec<String>,
    },
}

impl Imported {
    /// The output stream: each SparkJob and each kept object, in input order.
    pub fn documents(&self) -> Vec<&serde_json::Value> {
        self.items
            .iter()
            .filter_map(|item| match &item.outcome {
                Outcome::Converted(report) => Some(&report.document),
                Outcome::Kept(object) => Some(object),
                Outcome::Left { .. } => None,
            })
            .collect()
    }

    /// What was not carried over, each document left out, and the notes, as warnings.
    pub fn warnings(&self) -> Diagnostics {
        let mut out = Diagnostics::new();
        for item in &self.items {
            match &item.outcome {
                Outcome::Converted(report) => out.extend(report.warnings()),
                Outcome::Kept(_) => {}
                Outcome::Left { reason, keys } => {
                    let mut message = format!("{} `{}` left out of the output: {reason}", item.kind, item.name);
                    if !keys.is_empty() {
                        let _ = write!(message, " (keys: {})", keys.join(", "));
                    }
                    out.push(Diagnostic::warning("left-out", "", message).with_span(Some(item.span.clone())));
                }
            }
        }
        out.extend(self.notes.clone());
        out
    }

    /// How many documents were converted, kept and left out.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for item in &self.items {
            match item.outcome {
                Outcome::Converted(_) => counts.0 += 1,
                Outcome::Kept(_) => counts.1 += 1,
                Outcome::Left { .. } => counts.2 += 1,
            }
        }
        counts
    }

    /// How many input fields, over all converted documents, were not carried over.
    pub fn not_carried(&self) -> usize {
        self.items
            .iter()
            .map(|item| match &item.outcome {
                Outcome::Converted(report) => report.not_carried.len(),
                _ => 0,
            })
            .sum()
    }

    /// The line `import kubeflow` ends with: how many documents were
    /// converted, kept and left out, and how many fields were not carried over.
    pub fn summary(&self) -> String {
        let (converted, kept, left) = self.counts();
        let fields = self.not_carried();
        format!(
            "{converted} converted, {kept} kept as written, {left} left out{}; {fields} field{} not carried over{}",
            if left == 0 { "" } else { " (listed above)" },
            if fields == 1 { "" } else { "s" },
            if fields == 0 { "" } else { " (listed above)" }
        )
    }

    /// A JSON view: per document its file, position, kind, name, and what became of it.
    pub fn to_json(&self) -> serde_json::Value {
        let items: Vec<serde_json::Value> = self
            .items
            .iter()
            .map(|item| {
                let mut entry = serde_json::json!({
                    "file": item.span.source.name.to_string(),
                    "document": item.document,
                    "line": item.span.at.line,
                    "kind": item.kind,
                    "name": item.name,
                });
                match &item.outcome {
                    Outcome::Converted(report) => {
                        entry["outcome"] = "converted".into();
                        entry["sparkJob"] = report.document.clone();
                        entry["notCarried"] = report
                            .not_carried
                            .iter()
                            .map(|n| serde_json::json!({"path": n.path, "reason": n.reason, "line": n.span.at.line, "column": n.span.at.column}))
                            .collect();
                    }
                    Outcome::Kept(object) => {
                        entry["outcome"] = "kept".into();
                        entry["object"] = object.clone();
                    }
                    Outcome::Left { reason, keys } => {
                        entry["outcome"] = "left".into();
                        entry["reason"] = reason.clone().into();
                        if !keys.is_empty() {
                            entry["keys"] = serde_json::json!(keys);
                        }
                    }
                }
                entry
            })
            .collect();
        serde_json::json!({ "items": items })
    }
}

/// Imports every document of `sources` (each a whole file, in the order given).
///
/// Fails with every problem found, each with its file, line, field path and
/// (when its file holds more than one document) the document's position: a
/// file that is not YAML, a document that is not a Kubernetes object, a
/// Kubeflow application that cannot be converted, or no document at all.
pub fn import_kubeflow_files(sources: &[Source]) -> Result<Imported, Diagnostics> {
    let mut items = Vec::new();
    let mut problems = Diagnostics::new();
    for source in sources {
        let segments = Segments::of(&source.text);
        // Every span of this file points into a copy with the Secrets' text blanked, so
        // no rendering of a problem (a terminal quotes the lines around it) shows a value.
        let shown = segments.without_secrets(source);
        let hide = |diag: Diagnostic| segments.locate(hidden(diag, shown.as_ref()));
        let docs = match parse_documents(source) {
            Ok(docs) => docs,
            Err(diag) => {
                problems.push(hide(diag));
                continue;
            }
        };
        // An empty document (`---` then nothing, or comments only) is no object: kubectl skips it too.
        for doc in docs.iter().filter(|d| d.value != NodeValue::Null && segments.holds_content(d.span.start)) {
            match one(doc, segments.document_at(doc.span.start)) {
                Ok(mut item) => {
                    if let Some(shown) = &shown {
                        item.span.source = shown.clone();
                        if let Outcome::Converted(report) = &mut item.outcome {
                            report.not_carried.iter_mut().for_each(|n| n.span.source = shown.clone());
                        }
                    }
                    items.push(item);
                }
                Err(diags) => problems.extend(Diagnostics(diags.0.into_iter().map(hide).collect())),
            }
        }
    }
    if items.is_empty() && !problems.has_errors() {
        let names: Vec<&str> = sources.iter().map(|s| &*s.name).collect();
        problems.push(
            Diagnostic::error("empty-document", "", format!("no documents in {}", names.join(", ")))
                .with_help("import a file (or a directory of `.yaml` files) holding Kubeflow SparkApplications"),
        );
    }
    if !problems.has_errors() && !items.is_empty() && !items.iter().any(|i| matches!(i.outcome, Outcome::Converted(_)))
    {
        problems.push(nothing_to_import(sources, &items));
    }
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    let notes = duplicates(&items);
    Ok(Imported { items, notes })
}

/// One document.
fn one(doc: &Node, document: usize) -> Result<Item, Diagnostics> {
    let root = FieldPath::root();
    let text = |path: &FieldPath| doc.get(path).and_then(scalar_text);
    let api_version = text(&root.key("apiVersion")).unwrap_or_default();
    let kind = text(&root.key("kind")).unwrap_or_default();
    let metadata = root.key("metadata");
    let name = match (text(&metadata.key("namespace")), text(&metadata.key("name"))) {
        (Some(ns), Some(name)) => format!("{ns}/{name}"),
        (None, Some(name)) => name,
        (_, None) => String::new(),
    };
    let item = |outcome: Outcome| {
        let mut span = doc.span.clone();
        if matches!(outcome, Outcome::Left { .. }) {
            // Where it starts: a listing points at the document, it does not draw all of it.
            span.end = span.start;
        }
        Item { document, kind: kind.clone(), name: name.clone(), span, outcome }
    };
    let kubeflow_kind = matches!(
        kind.as_str(),
        kubeflow::KIND_SPARK_APPLICATION | kubeflow::KIND_SCHEDULED_SPARK_APPLICATION | kubeflow::KIND_SPARK_CONNECT
    );
    if doc.as_map().is_none() || kubeflow_kind || api_version.starts_with("sparkoperator.k8s.io/") {
        return import_kubeflow(doc).map(|report| item(Outcome::Converted(report)));
    }
    if kind.is_empty() || api_version.is_empty() {
        let (field, what) = if kind.is_empty() { ("kind", "kind") } else { ("apiVersion", "apiVersion") };
        return Err(Diagnostic::error("missing-field", field, format!("no `{what}`: this is not a Kubernetes object"))
            .with_span(Some(doc.span.clone()))
            .with_help("every document needs `apiVersion` and `kind`, as `kubectl apply` requires; remove the document or complete it")
            .into());
    }
    let outcome = match (api_version.as_str(), kind.as_str()) {
        ("v1", "ConfigMap" | "ServiceAccount") => Outcome::Kept(doc.to_json()),
        // An application already moved to sparkplane, beside ones still to move.
        (v, _) if v.starts_with("sparkplane.dev/") => Outcome::Kept(doc.to_json()),
        ("v1", "Secret") => Outcome::Left { reason: SECRET_LEFT.to_owned(), keys: secret_keys(doc) },
        _ => Outcome::Left {
            reason: format!(
                "`import kubeflow` converts Spark applications and keeps the v1 ConfigMaps and ServiceAccounts \
                 beside them; a `{api_version}` {kind} is neither, so apply it from this file as before"
            ),
            keys: Vec::new(),
        },
    };
    Ok(item(outcome))
}

/// The error for input that holds documents but no Kubeflow application: the
/// wrong file was named (or a SparkJob, which is already sparkplane's).
fn nothing_to_import(sources: &[Source], items: &[Item]) -> Diagnostic {
    let names: Vec<&str> = sources.iter().map(|s| &*s.name).collect();
    let found: Vec<String> = items.iter().take(5).map(|i| format!("{} `{}`", i.kind, i.name)).collect();
    let more =
        if items.len() > found.len() { format!(" and {} more", items.len() - found.len()) } else { String::new() };
    Diagnostic::error(
        "no-application",
        "kind",
        format!("no SparkApplication, ScheduledSparkApplication or SparkConnect in {}", names.join(", ")),
    )
    .with_span(Some(items[0].span.clone()))
    .with_help(format!(
        "found {}{more}; a SparkJob (`sparkplane.dev`) is already sparkplane's and needs no import",
        found.join(", ")
    ))
}

/// A Secret's key names from `data` and `stringData`; the values are not read.
fn secret_keys(doc: &Node) -> Vec<String> {
    let mut keys: Vec<String> = ["data", "stringData"]
        .iter()
        .filter_map(|field| doc.get(&FieldPath::root().key(field)).and_then(Node::as_map))
        .flat_map(|entries| entries.iter().map(|(key, _, _)| key.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Notes for two documents that write the same object: applying the output keeps the last.
fn duplicates(items: &[Item]) -> Diagnostics {
    let mut seen: BTreeMap<(String, String), &Item> = BTreeMap::new();
    let mut notes = Diagnostics::new();
    for item in items {
        let kind = match &item.outcome {
            Outcome::Converted(_) => "SparkJob",
            Outcome::Kept(_) => item.kind.as_str(),
            Outcome::Left { .. } => continue,
        };
        let key = (kind.to_owned(), item.name.clone());
        if let Some(first) = seen.insert(key, item) {
            notes.push(
                Diagnostic::warning(
                    "same-object",
                    "metadata.name",
                    format!("{kind} `{}` is written twice in the output; applying it keeps only this one", item.name),
                )
                .with_span(Some(item.span.clone()))
                .with_related(Some(first.span.clone()), "also written from here")
                .with_help("rename one of them (metadata.name), or import them one at a time"),
            );
        }
    }
    notes
}

/// The documents of one file as its text splits them at `---` lines, for
/// numbering: the n-th segment that holds more than comments is document n.
struct Segments {
    /// Byte offset where each segment starts (after its `---`), and whether it holds content.
    starts: Vec<(usize, bool)>,
    /// Whether the file holds more than one document.
    many: bool,
}

impl Segments {
    fn of(text: &str) -> Self {
        let content = |line: &str| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#') && line != "..."
        };
        let mut starts = vec![(0, false)];
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let bare = line.trim_end();
            let marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
            if marker {
                // `--- {a: 1}` starts a document on the marker's own line.
                starts.push((offset + 3, content(&bare[3..])));
            } else if content(bare)
                && let Some(last) = starts.last_mut()
            {
                last.1 = true;
            }
            offset += line.len();
        }
        let many = starts.iter().filter(|s| s.1).count() > 1;
        Segments { starts, many }
    }

    /// The segment holding a byte offset.
    fn segment(&self, offset: usize) -> usize {
        self.starts.iter().rposition(|(start, _)| *start <= offset).unwrap_or(0)
    }

    /// Whether the segment holding `offset` has more than comments.
    fn holds_content(&self, offset: usize) -> bool {
        self.starts[self.segment(offset)].1
    }

    /// The document position of a byte offset (1-based).
    fn document_at(&self, offset: usize) -> usize {
        self.starts[..=self.segment(offset)].iter().filter(|s| s.1).count().max(1)
    }

    /// The source with the text of every document that declares `kind: Secret`
    /// blanked (same byte offsets, newlines kept), or `None` when there is none.
    fn without_secrets(&self, source: &Source) -> Option<Source> {
        let text = &*source.text;
        let mut out = String::with_capacity(text.len());
        let mut any = false;
        for (i, (start, _)) in self.starts.iter().enumerate() {
            let start = (*start).min(text.len());
            let end = self.starts.get(i + 1).map_or(text.len(), |s| s.0.min(text.len()));
            let part = text.get(start..end)?;
            let secret = part.lines().any(|l| {
                let l = l.trim();
                l == "kind: Secret" || l == "kind: \"Secret\"" || l == "kind: 'Secret'" || l.contains("kind: Secret,")
            });
            if secret {
                any = true;
                out.extend(part.chars().map(|c| if c == '\n' { "\n".to_owned() } else { " ".repeat(c.len_utf8()) }));
            } else {
                out.push_str(part);
            }
        }
        // The first segment starts at 0 and the rest tile the text, so the copy has its length.
        (any && out.len() == text.len()).then(|| Source::new(source.name.clone(), out))
    }

    /// Adds the document's position to a problem's message when the file holds several.
    fn locate(&self, mut diag: Diagnostic) -> Diagnostic {
        if let Some(span) = diag.span.as_ref().filter(|_| self.many) {
            let document = self.document_at(span.start);
            let _ = write!(diag.message, " (document {document} of {})", span.source.name);
        }
        diag
    }
}

/// A problem whose spans point into `shown` (the file with its Secrets blanked) when there is one.
fn hidden(mut diag: Diagnostic, shown: Option<&Source>) -> Diagnostic {
    if let Some(shown) = shown {
        let name = shown.name.clone();
        let spans = diag.span.iter_mut().chain(diag.related.iter_mut().map(|(span, _)| span));
        spans.filter(|span| span.source.name == name).for_each(|span| span.source = shown.clone());
    }
    diag
}
