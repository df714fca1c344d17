//! A job file: the one SparkJob a file holds and the companions written
//! beside it — the v1 ConfigMaps and ServiceAccounts its pods read, which
//! `sparkplane import kubeflow` keeps next to the SparkJob it converts
//! (ADR 0071, ADR 0081).
//!
//! Owns: the one split of a file's documents into the job and its
//! companions ([`read_job_file`]), which kinds may be companions, the checks a
//! companion passes before anything is rendered or applied (well-formed as
//! the API server reads it, in the job's namespace, written once, not a name
//! sparkplane renders), and a companion as an object in the namespace the job
//! goes to ([`with_companions`]). `render`, `validate` and `apply` read a job
//! file through here; every other command reads one document. A Secret is
//! refused, and no message about a file that holds one can quote it.
//!
//! Must not: read files (the caller hands in the text), resolve or validate
//! the job (`load` does, with the document this returns), or change a
//! companion beyond its namespace and the metadata the API server writes.

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use serde_json::Value;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::source::{Source, Span};
use sparkplane_documents::yaml::{
    FieldPath, IgnoredField, Node, NodeValue, ReadProblem, parse_documents, parse_single, read_node_with, scalar_text,
};

use crate::names::{is_dns1123_label, is_dns1123_subdomain, is_label_key, is_label_value};
use crate::render::RenderedObject;
use crate::render::common::sort_objects;

/// The kinds a job file may hold beside its SparkJob, all of apiVersion `v1`,
/// in the order they are applied (an identity before what a pod reads).
pub const COMPANION_KINDS: [&str; 2] = ["ServiceAccount", "ConfigMap"];

/// Metadata the API server writes: an object exported with `kubectl get -o
/// yaml` carries it, and sending it back is refused or conflicts.
const SERVER_WRITTEN: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The most a ConfigMap's `data` and `binaryData` values may hold together (the API server's limit).
pub const MAX_CONFIG_MAP_BYTES: usize = 1024 * 1024;

const WHAT_A_JOB_FILE_HOLDS: &str = "a job file holds one SparkJob and, beside it, the v1 ConfigMaps and \
                                     ServiceAccounts its pods read";

/// A job file's documents: the SparkJob and its companions.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFile {
    /// The SparkJob document, as `load` takes it.
    pub job: Node,
    /// The companions, in the order they are applied: ServiceAccounts, then ConfigMaps, each by name.
    pub companions: Vec<Companion>,
}

/// A v1 ConfigMap or ServiceAccount written beside the SparkJob.
#[derive(Clone, Debug, PartialEq)]
pub struct Companion {
    /// `ConfigMap` or `ServiceAccount`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// Where its name is written.
    pub span: Span,
    /// `metadata.namespace` as written, and where.
    written_namespace: Option<(String, Span)>,
    /// The object as written, without the metadata the API server writes.
    body: Value,
}

impl Companion {
    /// The object as it goes to `namespace`, the one its job goes to.
    pub fn object(&self, namespace: &str) -> RenderedObject {
        let mut body = self.body.clone();
        // The reader checked `metadata` is a mapping holding the name.
        if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("namespace".into(), Value::from(namespace));
        }
        RenderedObject {
            api_version: "v1".into(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            namespace: Some(namespace.to_owned()),
            body,
        }
    }

    /// `Kind name`, for messages.
    pub fn title(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

fn text_at(doc: &Node, at: &str) -> Option<String> {
    doc.get(&path(at)).and_then(scalar_text)
}

/// `namespace/name`, or `name`, as written.
fn written_name(doc: &Node) -> String {
    match (text_at(doc, "metadata.namespace"), text_at(doc, "metadata.name")) {
        (Some(namespace), Some(name)) => format!("{namespace}/{name}"),
        (None, Some(name)) => name,
        (_, None) => "(no name)".into(),
    }
}

/// Splits a job file into its SparkJob and the companions beside it.
///
/// A file of one document is the job whatever it holds (`load` says what is
/// wrong with it), as it always was. A file of several holds exactly one
/// `kind: SparkJob`, and each other document is a v1 ConfigMap or
/// ServiceAccount that the API server would accept, written once, in the
/// job's namespace when both name one. Every problem is reported at once,
/// each at the value it is about, with how to fix it: a second SparkJob, a
/// Secret, any other kind, a companion that is not well-formed.
pub fn read_job_file(source: &Source) -> Result<JobFile, Diagnostics> {
    let docs: Vec<Node> = parse_documents(source)?.into_iter().filter(|d| d.value != NodeValue::Null).collect();
    if docs.len() < 2 {
        let job = match docs.into_iter().next() {
            Some(job) => job,
            None => parse_single(source)?,
        };
        return Ok(JobFile { job, companions: Vec::new() });
    }
    let mut problems = Diagnostics::new();
    let mut jobs: Vec<(usize, &Node)> = Vec::new();
    let mut companions = Vec::new();
    let mut secrets = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let number = i + 1;
        let api_version = text_at(doc, "apiVersion").unwrap_or_default();
        let kind = text_at(doc, "kind").unwrap_or_default();
        if doc.as_map().is_none() {
            problems.push(
                Diagnostic::error(
                    "not-an-object",
                    "",
                    format!("document {number} is a {}, not a Kubernetes object", doc.type_name()),
                )
                .with_span(Some(doc.span.clone()))
                .with_help(format!("remove it: {WHAT_A_JOB_FILE_HOLDS}")),
            );
            continue;
        }
        match (api_version.as_str(), kind.as_str()) {
            (_, "SparkJob") => jobs.push((number, doc)),
            ("", _) | (_, "") => {
                let field = if kind.is_empty() { "kind" } else { "apiVersion" };
                problems.push(
                    Diagnostic::error(
                        "missing-field",
                        field,
                        format!("document {number} has no `{field}`: it is not a Kubernetes object"),
                    )
                    .with_span(Some(doc.span_for(&path(field))))
                    .with_help(format!("complete it or remove it: {WHAT_A_JOB_FILE_HOLDS}")),
                );
            }
            (_, "Secret") => {
                let end = docs.get(i + 1).map_or(source.text.len(), |next| next.span.start);
                secrets.push((doc.span.start, end));
                problems.push(
                    Diagnostic::error(
                        "secret-in-job-file",
                        "kind",
                        format!("document {number} is a Secret (`{}`); a job file never holds one", written_name(doc)),
                    )
                    .with_span(Some(doc.span_for(&path("kind"))))
                    .with_help(
                        "remove it from this file and keep the Secret in the cluster (apply it from a file of its \
                         own, or `kubectl create secret`): the SparkJob refers to it by name, and sparkplane never \
                         prints or applies a Secret's values (ADR 0071)",
                    ),
                );
            }
            ("v1", "ConfigMap" | "ServiceAccount") => match companion(doc, &kind, number) {
                Ok(found) => companions.push(found),
                Err(found) => problems.extend(found),
            },
            (api_version, kind) => problems.push(
                Diagnostic::error(
                    "unexpected-kind",
                    "kind",
                    format!(
                        "document {number} is a `{api_version}` {kind} (`{}`); {WHAT_A_JOB_FILE_HOLDS}",
                        written_name(doc)
                    ),
                )
                .with_span(Some(doc.span_for(&path("kind"))))
                .with_help(format!("move the {kind} to a file of its own and apply it as before (`kubectl apply -f`)")),
            ),
        }
    }
    let job = match jobs.as_slice() {
        [] => {
            problems.push(
                Diagnostic::error(
                    "no-job",
                    "",
                    format!("{} holds {} documents and no SparkJob", source.name, docs.len()),
                )
                .with_span(Some(docs[0].span_for(&path("kind"))))
                .with_help(format!(
                    "{WHAT_A_JOB_FILE_HOLDS}; a Kubeflow SparkApplication becomes one with `sparkplane import kubeflow`"
                )),
            );
            None
        }
        [(_, first), others @ ..] => {
            for (number, other) in others {
                problems.push(
                    Diagnostic::error(
                        "many-jobs",
                        "kind",
                        format!(
                            "document {number} is a second SparkJob (`{}`); a job file holds one",
                            written_name(other)
                        ),
                    )
                    .with_span(Some(other.span_for(&path("kind"))))
                    .with_related(Some(first.span_for(&path("kind"))), "the first SparkJob")
                    .with_help(
                        "put each SparkJob in a file of its own, with the ConfigMaps and ServiceAccounts it uses \
                         (`sparkplane import kubeflow APP.yaml --out JOB.yaml` imports one application)",
                    ),
                );
            }
            Some((*first).clone())
        }
    };
    if let Some(job) = &job {
        problems.extend(placed_once(job, &companions));
    }
    match job {
        Some(job) if !problems.has_errors() => {
            companions.sort_by(|a, b| rank(&a.kind).cmp(&rank(&b.kind)).then_with(|| a.name.cmp(&b.name)));
            Ok(JobFile { job, companions })
        }
        _ => Err(without_secrets(problems, source, &secrets).sorted()),
    }
}

fn rank(kind: &str) -> usize {
    COMPANION_KINDS.iter().position(|k| *k == kind).unwrap_or(COMPANION_KINDS.len())
}

/// A companion in another namespace than the job's, or written twice.
fn placed_once(job: &Node, companions: &[Companion]) -> Diagnostics {
    let mut problems = Diagnostics::new();
    let job_namespace = text_at(job, "metadata.namespace");
    for (i, companion) in companions.iter().enumerate() {
        if let (Some(job_namespace), Some((namespace, span))) = (&job_namespace, &companion.written_namespace)
            && namespace != job_namespace
        {
            problems.push(
                Diagnostic::error(
                    "other-namespace",
                    "metadata.namespace",
                    format!(
                        "{} is in namespace `{namespace}` and the SparkJob in `{job_namespace}`; a pod reads only \
                         its own namespace's",
                        companion.title()
                    ),
                )
                .with_span(Some(span.clone()))
                .with_related(Some(job.span_for(&path("metadata.namespace"))), "the SparkJob's namespace")
                .with_help(format!(
                    "write `namespace: {job_namespace}`, or remove it: a companion goes where its job goes"
                )),
            );
        }
        if let Some(first) = companions[..i].iter().find(|c| c.kind == companion.kind && c.name == companion.name) {
            problems.push(
                Diagnostic::error(
                    "same-object",
                    "metadata.name",
                    format!("{} is written twice in this file", companion.title()),
                )
                .with_span(Some(companion.span.clone()))
                .with_related(Some(first.span.clone()), "first written here")
                .with_help("remove one of them, or rename it (metadata.name) and the references to it"),
            );
        }
    }
    problems
}

/// Reads a v1 `kind` (ConfigMap or ServiceAccount) as the API server would.
fn companion(doc: &Node, kind: &str, number: usize) -> Result<Companion, Diagnostics> {
    let root = FieldPath::root();
    let strict = |_: &FieldPath| true;
    let mut problems = Diagnostics::new();
    let (ignored, unread, sizes) = if kind == "ConfigMap" {
        let read = read_node_with::<ConfigMap>(doc, &root, &strict);
        let sizes = read.value.as_ref().map(config_map_problems).unwrap_or_default();
        (read.ignored, read.problems, sizes)
    } else {
        let read = read_node_with::<ServiceAccount>(doc, &root, &strict);
        (read.ignored, read.problems, Vec::new())
    };
    problems.extend(read_problems(&unread, &ignored, kind));
    for (at, message, help) in sizes {
        let span = doc.key_span(&at).unwrap_or_else(|| doc.span_for(&at));
        problems.push(Diagnostic::error("bad-value", at.to_string(), message).with_span(Some(span)).with_help(help));
    }
    let name_path = path("metadata.name");
    let name = text_at(doc, "metadata.name").unwrap_or_default();
    if doc.get(&name_path).is_none() {
        problems.push(
            Diagnostic::error("missing-field", "metadata.name", format!("document {number}, a {kind}, has no name"))
                .with_span(Some(doc.span_for(&name_path)))
                .with_help(format!("write `metadata.name`, the name the SparkJob refers to this {kind} by")),
        );
    } else if !is_dns1123_subdomain(&name) {
        problems.push(
            Diagnostic::error("bad-value", "metadata.name", format!("`{name}` is not a valid {kind} name"))
                .with_span(Some(doc.span_for(&name_path)))
                .with_help("use lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit (253 at most)"),
        );
    }
    if let Some(namespace) = text_at(doc, "metadata.namespace").filter(|n| !is_dns1123_label(n)) {
        problems.push(
            Diagnostic::error("bad-value", "metadata.namespace", format!("`{namespace}` is not a valid namespace"))
                .with_span(Some(doc.span_for(&path("metadata.namespace"))))
                .with_help("use lower-case letters, digits and `-` (63 at most), or leave it out"),
        );
    }
    for (key, key_span, value) in doc.get(&path("metadata.labels")).and_then(Node::as_map).unwrap_or_default() {
        let text = scalar_text(value).unwrap_or_default();
        let (what, span) = if !is_label_key(key) {
            (format!("`{key}` is not a valid label key"), key_span)
        } else if !is_label_value(&text) {
            (format!("`{text}` is not a valid label value"), &value.span)
        } else {
            continue;
        };
        problems.push(
            Diagnostic::error("bad-value", path("metadata.labels").key(key).to_string(), what)
                .with_span(Some(span.clone()))
                .with_help(
                    "a label is at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or \
                     digit (a key may have a DNS prefix and `/`)",
                ),
        );
    }
    if problems.has_errors() {
        return Err(problems);
    }
    let mut body = doc.to_json();
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in SERVER_WRITTEN {
            metadata.remove(key);
        }
    }
    let written_namespace = text_at(doc, "metadata.namespace").map(|n| (n, doc.span_for(&path("metadata.namespace"))));
    Ok(Companion { kind: kind.to_owned(), name, span: doc.span_for(&name_path), written_namespace, body })
}

/// What the typed reader found: values it could not read and fields a v1 `kind` does not have.
fn read_problems(problems: &[ReadProblem], ignored: &[IgnoredField], kind: &str) -> Diagnostics {
    let mut out = Diagnostics::new();
    for problem in problems {
        out.push(
            Diagnostic::error(problem.code, problem.path.to_string(), problem.message.clone())
                .with_span(Some(problem.span.clone()))
                .with_help(problem.help.clone()),
        );
    }
    for field in ignored {
        let key = field.path.0.last().map(|seg| match seg {
            sparkplane_documents::yaml::PathSeg::Key(key) => key.clone(),
            sparkplane_documents::yaml::PathSeg::Index(i) => format!("[{i}]"),
        });
        out.push(
            Diagnostic::error(
                "unknown-field",
                field.path.to_string(),
                format!("unknown field `{}`: a v1 {kind} has no such field", key.unwrap_or_default()),
            )
            .with_span(Some(field.span.clone()))
            .with_help("remove it or fix its spelling; the API server refuses fields it does not know"),
        );
    }
    out
}

/// A ConfigMap's keys and size as the API server checks them: `(path, what is wrong, how to fix it)`.
fn config_map_problems(config_map: &ConfigMap) -> Vec<(FieldPath, String, String)> {
    let mut out = Vec::new();
    let data = config_map.data.iter().flatten().map(|(key, value)| ("data", key, value.len()));
    let binary = config_map.binary_data.iter().flatten().map(|(key, value)| ("binaryData", key, value.0.len()));
    let mut total = 0usize;
    for (field, key, size) in data.chain(binary) {
        total += size;
        let at = FieldPath::root().key(field).key(key);
        if !is_config_map_key(key) {
            out.push((
                at,
                format!("`{key}` is not a valid ConfigMap key"),
                "use letters, digits, `-`, `_` and `.` (253 at most, not `.` or `..`)".to_owned(),
            ));
        } else if field == "binaryData" && config_map.data.as_ref().is_some_and(|d| d.contains_key(key)) {
            out.push((
                at,
                format!("`{key}` is a key of both `data` and `binaryData`"),
                "keep it in one of the two".to_owned(),
            ));
        }
    }
    if total > MAX_CONFIG_MAP_BYTES {
        out.push((
            FieldPath::root().key("data"),
            format!("the ConfigMap holds {total} bytes; the API server stores at most {MAX_CONFIG_MAP_BYTES}"),
            "split it into several ConfigMaps, or keep large files in object storage".to_owned(),
        ));
    }
    out
}

/// Whether `key` may name an entry of a ConfigMap.
fn is_config_map_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && !key.starts_with("..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `problems` with every span into `source` pointing at a copy whose
/// `secrets` (byte ranges) are blanked, newlines kept: a message drawn with
/// the lines around it never shows a Secret's value, and every line and
/// column stays what it was.
fn without_secrets(mut problems: Diagnostics, source: &Source, secrets: &[(usize, usize)]) -> Diagnostics {
    if secrets.is_empty() {
        return problems;
    }
    let mut text = String::with_capacity(source.text.len());
    for (i, c) in source.text.char_indices() {
        if c != '\n' && secrets.iter().any(|(start, end)| (*start..*end).contains(&i)) {
            // As many spaces as the character has bytes, so every offset stays where it was.
            text.push_str(&" ".repeat(c.len_utf8()));
        } else {
            text.push(c);
        }
    }
    let shown = Source::new(source.name.clone(), text);
    for problem in &mut problems.0 {
        let spans = problem.span.iter_mut().chain(problem.related.iter_mut().map(|(span, _)| span));
        spans.filter(|span| span.source == *source).for_each(|span| span.source = shown.clone());
    }
    problems
}

/// The rendered objects with the companions, placed in `namespace` (the one
/// the job goes to), beside them, in the order `render` sorts objects. A
/// companion of the same kind and name as an object sparkplane renders for
/// the job is an error: applying both would keep only one.
pub fn with_companions(
    mut objects: Vec<RenderedObject>,
    companions: &[Companion],
    namespace: &str,
) -> Result<Vec<RenderedObject>, Diagnostics> {
    let mut problems = Diagnostics::new();
    for companion in companions {
        let clash = objects.iter().any(|o| {
            o.kind == companion.kind
                && o.name == companion.name
                && o.namespace.as_deref().is_none_or(|n| n == namespace)
        });
        if clash {
            problems.push(
                Diagnostic::error(
                    "rendered-name",
                    "metadata.name",
                    format!("{} is also an object sparkplane renders for this job", companion.title()),
                )
                .with_span(Some(companion.span.clone()))
                .with_help(format!("rename the {} (and the references to it)", companion.kind)),
            );
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    objects.extend(companions.iter().map(|c| c.object(namespace)));
    sort_objects(&mut objects);
    Ok(objects)
}

#[cfg(test)]
#[path = "job_file_tests.rs"]
mod tests;
