//! The accounting of an import: which input fields were not carried over and
//! why, which values were wrong, and where each was written.
//!
//! It owns the [`Ledger`] the mapping writes into, the [`ImportReport`] and
//! [`NotCarried`] types callers read, the wording of the reading problems
//! the typed reader finds (so they say what the import always said), and the
//! document order of the report. It must not decide what is carried: the
//! mapping modules do, and tell it.

use std::collections::BTreeMap;

use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::source::Span;
use sparkplane_documents::yaml::{FieldPath, IgnoredField, Node, NodeValue, PathSeg, ReadProblem, scalar_text};

/// The reason given for a field the import does not know.
pub const UNKNOWN: &str = "not a SparkApplication v1beta2 field sparkplane knows; nothing was carried over";
/// The reason given for a map entry written without a value.
const NO_VALUE: &str = "written without a value (null); nothing to carry over";

/// The result of an import.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportReport {
    /// The SparkJob document (`apiVersion`, `kind`, `metadata`, `spec`), ready to write as YAML.
    pub document: serde_json::Value,
    /// The kind that was imported: `SparkApplication` or `ScheduledSparkApplication`.
    pub source_kind: &'static str,
    /// Every input field not carried over, in document order.
    pub not_carried: Vec<NotCarried>,
}

/// One input field (or whole subtree) the SparkJob does not carry.
#[derive(Clone, Debug, PartialEq)]
pub struct NotCarried {
    /// Where it is in the input, e.g. `spec.driver.hostNetwork`.
    pub path: String,
    /// Why it was not carried, and what to do instead where there is something.
    pub reason: String,
    /// Where it was written.
    pub span: Span,
}

impl ImportReport {
    /// The fields not carried, as warnings (code `not-carried`) for the usual diagnostic output.
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics(
            self.not_carried
                .iter()
                .map(|n| {
                    Diagnostic::warning("not-carried", n.path.clone(), format!("not carried over: {}", n.reason))
                        .with_span(Some(n.span.clone()))
                })
                .collect(),
        )
    }
}

/// What the mapping found: the fields it deliberately did not carry, and the values it could not use.
pub struct Ledger<'a> {
    /// The input, for presence and spans.
    root: &'a Node,
    /// Whether a path is inside a Kubernetes object carried whole (read as the API server reads it).
    in_kubernetes_object: fn(&FieldPath) -> bool,
    /// Fields present in the input and not carried, with the reason (a later reason for the same path wins).
    skipped: BTreeMap<FieldPath, String>,
    /// Fields the typed reader did not know.
    unknown: Vec<FieldPath>,
    /// Values the typed reader could not read; kept until the end, since a field not carried anyway need not be readable.
    problems: Vec<ReadProblem>,
    /// Problems the mapping found in values it read.
    diags: Diagnostics,
}

impl<'a> Ledger<'a> {
    /// An empty ledger over the input document.
    pub fn new(root: &'a Node, in_kubernetes_object: fn(&FieldPath) -> bool) -> Self {
        Ledger {
            root,
            in_kubernetes_object,
            skipped: BTreeMap::new(),
            unknown: Vec::new(),
            problems: Vec::new(),
            diags: Diagnostics::new(),
        }
    }

    /// The input document.
    pub fn root(&self) -> &'a Node {
        self.root
    }

    /// Whether the input has a value (null included) at `path`.
    pub fn present(&self, path: &FieldPath) -> bool {
        self.root.get(path).is_some()
    }

    /// The scalar at `path` as written, if there is one.
    pub fn text(&self, path: &FieldPath) -> Option<String> {
        self.root.get(path).and_then(scalar_text)
    }

    /// The keys of the mapping at `path`, in document order.
    pub fn keys(&self, path: &FieldPath) -> Vec<String> {
        self.root
            .get(path)
            .and_then(Node::as_map)
            .map(|entries| entries.iter().map(|(k, _, _)| k.clone()).collect())
            .unwrap_or_default()
    }

    /// Records a field as not carried, when the input has it.
    pub fn skip(&mut self, path: &FieldPath, reason: impl Into<String>) {
        if self.present(path) {
            self.skipped.insert(path.clone(), reason.into());
        }
    }

    /// A problem with the value at `path`.
    pub fn error(&mut self, code: &'static str, path: &FieldPath, message: impl Into<String>, help: impl Into<String>) {
        let span = self.root.span_for(path);
        self.diags.push(Diagnostic::error(code, path.to_string(), message).with_help(help).with_span(Some(span)));
    }

    /// Records a field the import does not know.
    pub fn unknown(&mut self, path: FieldPath) {
        self.unknown.push(path);
    }

    /// Whether the typed reader left the value at `path` out (it could not read it).
    pub fn left_out(&self, path: &FieldPath) -> bool {
        self.problems.iter().any(|p| p.left_out == *path)
    }

    /// Takes in what the typed reader found.
    pub fn read(&mut self, ignored: Vec<IgnoredField>, problems: Vec<ReadProblem>) {
        self.unknown.extend(ignored.into_iter().map(|i| i.path));
        self.problems.extend(problems);
    }

    /// Every problem, sorted, when there is one; otherwise every field not carried, in document order.
    pub fn finish(self) -> Result<Vec<NotCarried>, Diagnostics> {
        let Ledger { root, in_kubernetes_object, mut skipped, unknown, problems, diags: found } = self;
        // A map entry without a value (`team:`) is left out, as the operator's own maps would; it is reported.
        let null = |p: &ReadProblem| root.get(&p.path).is_some_and(|n| n.value == NodeValue::Null);
        let required = |p: &ReadProblem| problems.iter().any(|m| m.code == "missing-field" && m.path == p.path);
        let entry =
            |p: &ReadProblem| matches!(p.path.0.last(), Some(PathSeg::Key(_))) && !in_kubernetes_object(&p.path);
        let (empty, problems): (Vec<ReadProblem>, Vec<ReadProblem>) =
            problems.iter().cloned().partition(|p| p.code == "bad-value" && null(p) && entry(p) && !required(p));
        for problem in empty {
            skipped.entry(problem.path).or_insert_with(|| NO_VALUE.to_owned());
        }
        // The reader's problems first: it reads a value before the mapping judges it.
        let mut diags = Diagnostics::new();
        let under_skipped = |path: &FieldPath| skipped.keys().any(|s| path.starts_with(s));
        let problems: Vec<ReadProblem> = problems.into_iter().filter(|p| !under_skipped(&p.path)).collect();
        for problem in &problems {
            // A required field written as null is reported once, as missing.
            let missing = |p: &ReadProblem| p.code == "missing-field" && p.path == problem.path;
            let null = root.get(&problem.path).is_some_and(|n| n.value == NodeValue::Null);
            if problem.code == "missing-field" || !null || !problems.iter().any(missing) {
                diags.push(worded(root, problem.clone()));
            }
        }
        diags.extend(found);
        // The mapping and the reader may find the same problem (a missing key of a reference).
        let mut seen = std::collections::BTreeSet::new();
        diags.0.retain(|d| seen.insert((d.code, d.path.clone(), d.message.clone())));
        if diags.has_errors() {
            return Err(diags.sorted());
        }
        let unknown: Vec<FieldPath> = unknown.into_iter().filter(|p| !under_skipped(p)).collect();
        let mut reasons = skipped;
        for path in unknown {
            reasons.entry(path).or_insert_with(|| UNKNOWN.to_owned());
        }
        let mut out = Vec::new();
        in_document_order(root, root, &FieldPath::root(), &reasons, &mut out);
        Ok(out)
    }
}

/// The entries of `reasons` at or below `path`, in the order the input has them.
fn in_document_order(
    root: &Node,
    node: &Node,
    path: &FieldPath,
    reasons: &BTreeMap<FieldPath, String>,
    out: &mut Vec<NotCarried>,
) {
    if let Some(reason) = reasons.get(path) {
        let span = match path.0.last() {
            Some(PathSeg::Key(_)) => root.key_span(path).unwrap_or_else(|| node.span.clone()),
            _ => node.span.clone(),
        };
        out.push(NotCarried { path: path.to_string(), reason: reason.clone(), span });
        return;
    }
    // Paths under `path` sort right after it, so the first one at or after it tells whether any is below.
    if !reasons.range(path.clone()..).next().is_some_and(|(p, _)| p.starts_with(path)) {
        return;
    }
    match &node.value {
        NodeValue::Map(entries) => {
            for (key, _, child) in entries {
                in_document_order(root, child, &path.key(key), reasons, out);
            }
        }
        NodeValue::Seq(items) => {
            for (i, child) in items.iter().enumerate() {
                in_document_order(root, child, &path.index(i), reasons, out);
            }
        }
        _ => {}
    }
}

/// A reading problem as the import words it.
fn worded(root: &Node, problem: ReadProblem) -> Diagnostic {
    let ReadProblem { code, mut path, mut span, mut message, mut help, .. } = problem;
    let problem_path = path.clone();
    let keys: Vec<&str> = path
        .0
        .iter()
        .map(|seg| match seg {
            PathSeg::Key(key) => key.as_str(),
            PathSeg::Index(_) => "[]",
        })
        .collect();
    let parent = |back: usize| keys.len().checked_sub(back).and_then(|i| keys.get(i)).copied().unwrap_or_default();
    let up = |path: &FieldPath| FieldPath(path.0[..path.0.len().saturating_sub(1)].to_vec());
    match (code, parent(1), parent(2), parent(3)) {
        ("bad-value", "cores", _, _) => {
            if let Some(NodeValue::Float(f)) = root.get(&path).map(|n| &n.value) {
                message = format!("Spark cores must be whole, not {f}");
                help = "write whole cores and put a fractional CPU request in `coreRequest` (e.g. `500m`)".into();
            }
        }
        ("bad-value", "type", "spec" | "template", _) if root.get(&path).and_then(scalar_text).is_some() => {
            let written = root.get(&path).and_then(scalar_text).unwrap_or_default();
            message = format!("`{written}` is not an application type");
            help = "write Python, Scala, Java or R".into();
        }
        ("bad-value", "env", _, _) if message.starts_with("expected a list,") => {
            message = "expected a list of environment variables".into();
            help = "write `env:` as a list of `{name, value}` or `{name, valueFrom}` entries".into();
        }
        (
            "bad-value",
            "arguments" | "imagePullSecrets" | "jars" | "files" | "pyFiles" | "archives" | "packages"
            | "excludePackages" | "repositories",
            _,
            _,
        ) if message.starts_with("expected a list,") => {
            message = message.replacen("expected a list,", "expected a list of strings,", 1);
        }
        ("missing-field", _, "gpu", _) => {
            path = up(&path);
            message = "a GPU needs `name` and `quantity`".into();
            help = "write e.g. `gpu: {name: nvidia.com/gpu, quantity: 1}`".into();
        }
        ("missing-field", "name" | "key", "secretKeyRef" | "configMapKeyRef", _)
        | ("missing-field", "name" | "key", _, "envSecretKeyRefs") => {
            path = up(&path);
            message = "a key reference needs `name` and `key`".into();
            help = "write `{name: <object>, key: <key>}`".into();
        }
        ("missing-field", "name", "[]", "env") => {
            path = up(&path);
            message = "an environment variable without a `name`".into();
            help = "add `name:`".into();
        }
        ("missing-field", "schedule", "spec", _) => {
            help = "add a cron expression, e.g. `schedule: \"0 2 * * *\"`".into();
        }
        ("missing-field", "template", "spec", _) => {
            message = "no `template` mapping".into();
            help = "a ScheduledSparkApplication needs `spec.template`, the SparkApplication spec of each run".into();
        }
        _ => {}
    }
    if path != problem_path {
        span = root.span_for(&path);
    }
    Diagnostic::error(code, path.to_string(), message).with_help(help).with_span(Some(span))
}
