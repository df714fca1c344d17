//! Layering: a job's preset, its platform environment, the job itself, its
//! own environment overlay and `--set` flags are deep-merged, in that order of
//! precedence, into one complete SparkJob; every field remembers which layer
//! set it (`--explain`) and where it was written (for errors).
//!
//! Merge rules: mappings merge key by key; a list or a scalar replaces what a
//! lower layer had; an explicit `null` removes what a lower layer set.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};
use sparkplane_api::SparkJob;

use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::schema::{self, Completeness, DocKind};
use crate::source::{LineCol, Source, Span};
use crate::validate::{self, ValidationTarget};
use crate::yaml::{FieldPath, Node, NodeValue, PathSeg, parse_single};

/// Where a layer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// A golden-path preset.
    Preset,
    /// The platform's environment overlay.
    PlatformEnvironment,
    /// The job file.
    Job,
    /// The job's own environment overlay.
    JobEnvironment,
    /// A `--set` flag.
    Set,
    /// Another command-line flag (`--env`).
    Flag,
}

/// A label for a layer as `--explain` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerLabel {
    /// Which kind of layer.
    pub kind: LayerKind,
    /// Its name: preset name, environment name, or file.
    pub name: String,
}

impl fmt::Display for LayerLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LayerKind::Preset => write!(f, "preset {}", self.name),
            LayerKind::PlatformEnvironment => write!(f, "platform environment {}", self.name),
            LayerKind::Job => write!(f, "job {}", self.name),
            LayerKind::JobEnvironment => write!(f, "job environment {}", self.name),
            LayerKind::Set => write!(f, "--set {}", self.name),
            LayerKind::Flag => f.write_str(&self.name),
        }
    }
}

/// Which layer set a field, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// The layer.
    pub layer: LayerLabel,
    /// Where the value was written.
    pub span: Span,
}

/// A `--set path=value` flag.
#[derive(Clone, Debug, PartialEq)]
pub struct SetFlag {
    /// Field path (a leading `spec.` may be left out).
    pub path: FieldPath,
    /// The value, parsed as YAML.
    pub value: Node,
    /// The flag as written.
    pub text: String,
}

impl SetFlag {
    /// Parses `path=value`; the value is read as YAML (`4`, `true`, `[a, b]`, `"4"`).
    pub fn parse(text: &str) -> Result<SetFlag, Diagnostic> {
        let source = Source::new("--set", text);
        let whole = Span { source: source.clone(), start: 0, end: text.len(), at: LineCol { line: 1, column: 1 } };
        let fail = |message: String| {
            Diagnostic::error("bad-set", "", message)
                .with_span(Some(whole.clone()))
                .with_help("write --set path=value, e.g. --set spec.executor.instances=4 or --set 'spec.sparkConf.\"spark.sql.shuffle.partitions\"=400'")
        };
        let (path_text, value_text) = text.split_once('=').ok_or_else(|| fail(format!("`{text}` has no `=`")))?;
        let mut path = FieldPath::parse(path_text.trim()).map_err(fail)?;
        if path.0.iter().any(|seg| matches!(seg, PathSeg::Index(_))) {
            return Err(Diagnostic::error(
                "bad-set",
                "",
                format!("`{}` sets one item of a list, but lists are replaced whole", path_text.trim()),
            )
            .with_span(Some(whole.clone()))
            .with_help("give the whole list: --set 'spec.arguments=[--day, 2026-11-20]'"));
        }
        if !matches!(path.0.first(), Some(PathSeg::Key(k)) if ["apiVersion", "kind", "metadata", "spec"].contains(&k.as_str()))
        {
            path.0.insert(0, PathSeg::Key("spec".into()));
        }
        let value_source = Source::new(format!("--set {}", path_text.trim()), value_text);
        let value = if value_text.trim().is_empty() {
            Node {
                value: NodeValue::Null,
                span: Span { source: value_source, start: 0, end: 0, at: LineCol { line: 1, column: 1 } },
            }
        } else {
            parse_single(&value_source)
                .map_err(|d| fail(format!("the value of `{text}` is not valid YAML: {}", d.message)))?
        };
        Ok(SetFlag { path, value, text: text.to_owned() })
    }

    /// The flag as a one-path document to merge.
    fn as_layer(&self) -> Node {
        let mut node = self.value.clone();
        for seg in self.path.0.iter().rev() {
            let span = node.span.clone();
            node = match seg {
                PathSeg::Key(key) => Node { value: NodeValue::Map(vec![(key.clone(), span.clone(), node)]), span },
                PathSeg::Index(_) => node,
            };
        }
        node
    }
}

/// What to resolve.
#[derive(Clone, Copy, Debug)]
pub struct ResolveRequest<'a> {
    /// The job document.
    pub job: &'a Node,
    /// The job's own environment overlay (`<job>.<env>.yaml`), when there is one.
    pub job_environment: Option<&'a Node>,
    /// Presets and platform environments.
    pub catalog: &'a Catalog,
    /// `--env`; when absent, the job's `spec.environment`.
    pub environment: Option<&'a str>,
    /// `--set` flags, in order.
    pub sets: &'a [SetFlag],
    /// What the job will be used for (decides which fields are required).
    pub target: ValidationTarget,
}

/// A complete, validated job with the provenance of every field.
#[derive(Clone, Debug)]
pub struct ResolvedJob {
    /// The typed job.
    pub job: SparkJob,
    /// The merged document, every value with the span it was written at.
    pub tree: Node,
    /// Which layer set each leaf field.
    pub provenance: BTreeMap<FieldPath, Origin>,
    /// The environment applied.
    pub environment: Option<String>,
    /// The preset applied.
    pub preset: Option<String>,
    /// Warnings found on the way.
    pub warnings: Diagnostics,
    /// Which attempt of this resolved job the rendered objects are for: 1
    /// unless `submit --rerun` starts another. Not part of the spec hash.
    pub attempt: u32,
}

impl ResolvedJob {
    /// The job name.
    pub fn name(&self) -> &str {
        self.job.metadata.name.as_deref().unwrap_or_default()
    }

    /// The namespace (Kubernetes' `default` when none is set).
    pub fn namespace(&self) -> &str {
        self.job.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// A stable hash of the resolved job: same input, same hash.
    pub fn spec_hash(&self) -> String {
        let canonical = serde_json::to_vec(&self.job).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 8 hex digits of [`Self::spec_hash`], used as a name suffix.
    pub fn short_hash(&self) -> String {
        self.spec_hash()[..8].to_owned()
    }

    /// The hash per-run names derive from: the spec hash for the first
    /// attempt, and for attempt `n > 1` the hash of the spec hash and `n`, so
    /// every attempt gets new, deterministic names of the same length.
    pub fn run_hash(&self) -> String {
        let spec = self.spec_hash();
        if self.attempt <= 1 {
            return spec;
        }
        let digest = Sha256::digest(format!("{spec}/attempt-{}", self.attempt).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Where the value at `path` was written, when known.
    pub fn span_of(&self, path: &FieldPath) -> Option<Span> {
        self.tree.get(path).map(|n| n.span.clone())
    }
}

/// Merges `over` into `base`, recording the origin of every value `over` sets.
fn merge(
    base: &mut Node,
    over: &Node,
    path: &FieldPath,
    label: &LayerLabel,
    provenance: &mut BTreeMap<FieldPath, Origin>,
) {
    match (&mut base.value, &over.value) {
        (NodeValue::Map(entries), NodeValue::Map(over_entries)) => {
            for (key, key_span, value) in over_entries {
                let child = path.key(key);
                if matches!(value.value, NodeValue::Null) {
                    entries.retain(|(k, _, _)| k != key);
                    provenance.retain(|p, _| !p.starts_with(&child));
                    continue;
                }
                match entries.iter_mut().find(|(k, _, _)| k == key) {
                    Some((_, existing_span, existing)) => {
                        *existing_span = key_span.clone();
                        merge(existing, value, &child, label, provenance);
                    }
                    None => {
                        let mut fresh = Node { value: NodeValue::Map(Vec::new()), span: value.span.clone() };
                        if matches!(value.value, NodeValue::Map(_)) {
                            merge(&mut fresh, value, &child, label, provenance);
                        } else {
                            fresh = value.clone();
                            record(&child, value, label, provenance);
                        }
                        entries.push((key.clone(), key_span.clone(), fresh));
                    }
                }
            }
            if over_entries.is_empty() {
                provenance
                    .entry(path.clone())
                    .or_insert_with(|| Origin { layer: label.clone(), span: over.span.clone() });
            }
        }
        _ => {
            provenance.retain(|p, _| !p.starts_with(path));
            *base = over.clone();
            record(path, over, label, provenance);
        }
    }
}

fn record(path: &FieldPath, node: &Node, label: &LayerLabel, provenance: &mut BTreeMap<FieldPath, Origin>) {
    match &node.value {
        NodeValue::Map(entries) if !entries.is_empty() => {
            for (key, _, value) in entries {
                record(&path.key(key), value, label, provenance);
            }
        }
        _ => {
            provenance.insert(path.clone(), Origin { layer: label.clone(), span: node.span.clone() });
        }
    }
}

/// The template of a preset or environment document (its partial job).
fn template(doc: &Node) -> Option<&Node> {
    doc.get(&FieldPath::parse("template").ok()?)
}

fn string_at<'a>(node: Option<&'a Node>, path: &str) -> Option<(&'a str, Span)> {
    let node = node?.get(&FieldPath::parse(path).ok()?)?;
    node.as_str().map(|s| (s, node.span.clone()))
}

/// Resolves, schema-checks and validates a job. Errors from every layer are
/// reported together.
pub fn resolve(request: ResolveRequest<'_>) -> Result<ResolvedJob, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    // Each layer must be well-formed on its own, so errors point at the layer that has them.
    diagnostics.extend(schema::schema(DocKind::SparkJob).check(request.job, Completeness::Partial));
    if let Some(env) = request.job_environment {
        diagnostics.extend(schema::schema(DocKind::Environment).check(env, Completeness::Partial));
    }
    if diagnostics.errors().any(|d| d.code != "unknown-field") {
        return Err(diagnostics.sorted());
    }

    let set_layers: Vec<Node> = request.sets.iter().map(SetFlag::as_layer).collect();
    let job_env_template = request.job_environment.and_then(template);

    // The preset is named by the highest layer that names one.
    let preset_name = set_layers
        .iter()
        .rev()
        .find_map(|l| string_at(Some(l), "spec.preset"))
        .or_else(|| string_at(job_env_template, "spec.preset"))
        .or_else(|| string_at(Some(request.job), "spec.preset"));
    let environment = match request.environment {
        Some(env) => Some((env.to_owned(), None)),
        None => string_at(Some(request.job), "spec.environment").map(|(e, span)| (e.to_owned(), Some(span))),
    };

    let preset = match &preset_name {
        Some((name, span)) => match request.catalog.preset(name) {
            Some(doc) => Some(doc),
            None => {
                let known: Vec<&str> = request.catalog.preset_names().collect();
                let mut diag =
                    Diagnostic::error("unknown-preset", "spec.preset", format!("there is no preset `{name}`"))
                        .with_span(Some(span.clone()));
                diag = match schema::did_you_mean(name, known.iter().copied()) {
                    Some(guess) => {
                        diag.with_help(format!("did you mean `{guess}`? (`sparkplane presets list` shows them all)"))
                    }
                    None => diag.with_help(format!("use one of: {}", known.join(", "))),
                };
                diagnostics.push(diag);
                None
            }
        },
        None => None,
    };
    let platform_env = match &environment {
        Some((name, span)) => {
            let found = request.catalog.environment(name);
            if found.is_none() && request.job_environment.is_none() {
                let known: Vec<&str> = request.catalog.environment_names().collect();
                diagnostics.push(
                    Diagnostic::error(
                        "unknown-environment",
                        "spec.environment",
                        format!("there is no environment `{name}`"),
                    )
                    .with_span(span.clone())
                    .with_help(format!(
                        "use one of: {} — or add a `{name}` overlay next to the job or in the platform directory",
                        known.join(", ")
                    )),
                );
            }
            found
        }
        None => None,
    };
    if diagnostics.errors().any(|d| d.code != "unknown-field") {
        return Err(diagnostics.sorted());
    }

    let root_span = request.job.span.clone();
    let mut tree = Node { value: NodeValue::Map(Vec::new()), span: root_span };
    let mut provenance = BTreeMap::new();
    let root = FieldPath::root();
    let job_name = request.job.span.source.name.to_string();
    let mut layers: Vec<(LayerLabel, &Node)> = Vec::new();
    if let (Some(doc), Some((name, _))) = (preset, &preset_name)
        && let Some(t) = template(doc)
    {
        layers.push((LayerLabel { kind: LayerKind::Preset, name: name.to_string() }, t));
    }
    if let (Some(doc), Some((name, _))) = (platform_env, &environment)
        && let Some(t) = template(doc)
    {
        layers.push((LayerLabel { kind: LayerKind::PlatformEnvironment, name: name.clone() }, t));
    }
    layers.push((LayerLabel { kind: LayerKind::Job, name: job_name }, request.job));
    if let (Some(t), Some(env)) = (job_env_template, request.job_environment) {
        layers.push((LayerLabel { kind: LayerKind::JobEnvironment, name: env.span.source.name.to_string() }, t));
    }
    for (flag, layer) in request.sets.iter().zip(&set_layers) {
        layers.push((LayerLabel { kind: LayerKind::Set, name: flag.text.clone() }, layer));
    }
    for (label, layer) in &layers {
        merge(&mut tree, layer, &root, label, &mut provenance);
    }
    if let Some((env, _)) = &environment {
        // The environment applied is part of the resolved job.
        let span = tree.span.clone();
        let flag = Node { value: NodeValue::Str(env.clone()), span };
        let doc = Node {
            value: NodeValue::Map(vec![(
                "spec".into(),
                flag.span.clone(),
                Node {
                    value: NodeValue::Map(vec![("environment".into(), flag.span.clone(), flag.clone())]),
                    span: flag.span.clone(),
                },
            )]),
            span: flag.span.clone(),
        };
        if request.environment.is_some() {
            merge(
                &mut tree,
                &doc,
                &root,
                &LayerLabel { kind: LayerKind::Flag, name: format!("--env {env}") },
                &mut provenance,
            );
        }
    }

    diagnostics.extend(schema::schema(DocKind::SparkJob).check(&tree, Completeness::Complete));
    // Unknown fields do not stop the meaning checks: they are set aside so one
    // run reports a typo and, say, a conflict together.
    let only_unknown = diagnostics.errors().all(|d| d.code == "unknown-field");
    if diagnostics.has_errors() && !only_unknown {
        return Err(diagnostics.deduplicated().sorted());
    }
    let mut readable = tree.clone();
    for unknown in diagnostics.errors().filter_map(|d| FieldPath::parse(&d.path).ok()) {
        remove_path(&mut readable, &unknown);
    }
    let job: SparkJob = match serde_json::from_value(readable.to_json()) {
        Ok(job) => job,
        Err(err) => {
            diagnostics.push(
                Diagnostic::error("invalid-document", "", format!("the resolved job could not be read: {err}"))
                    .with_span(Some(tree.span.clone())),
            );
            return Err(diagnostics);
        }
    };
    let mut resolved = ResolvedJob {
        job,
        tree,
        provenance,
        environment: environment.map(|(e, _)| e),
        preset: preset_name.map(|(p, _)| p.to_owned()),
        warnings: Diagnostics::new(),
        attempt: 1,
    };
    diagnostics.extend(validate::validate(&resolved, request.target));
    let diagnostics = diagnostics.deduplicated().sorted();
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    resolved.warnings = diagnostics;
    Ok(resolved)
}

/// Removes the value at `path` from a tree (used to set aside unknown fields).
fn remove_path(tree: &mut Node, path: &FieldPath) {
    let Some((PathSeg::Key(last), parent)) = path.0.split_last() else { return };
    let mut node = tree;
    for seg in parent {
        let next = match (seg, &mut node.value) {
            (PathSeg::Key(key), NodeValue::Map(entries)) => {
                entries.iter_mut().find(|(k, _, _)| k == key).map(|(_, _, v)| v)
            }
            (PathSeg::Index(i), NodeValue::Seq(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return,
        }
    }
    if let NodeValue::Map(entries) = &mut node.value {
        entries.retain(|(k, _, _)| k != last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_flags_parse_values_as_yaml_and_refuse_list_items() {
        let flag = SetFlag::parse("executor.instances=4").unwrap();
        assert_eq!(flag.path.to_string(), "spec.executor.instances");
        assert_eq!(flag.value.value, NodeValue::Int(4));
        let flag = SetFlag::parse("spec.arguments=[a, \"b c\"]").unwrap();
        assert_eq!(flag.value.to_json(), serde_json::json!(["a", "b c"]));
        let flag = SetFlag::parse("metadata.labels.team=").unwrap();
        assert_eq!(flag.value.value, NodeValue::Null, "an empty value unsets");
        let err = SetFlag::parse("spec.arguments[1]=x").unwrap_err();
        assert!(err.message.contains("lists are replaced whole"), "{}", err.message);
        assert!(SetFlag::parse("no-equals").unwrap_err().message.contains("has no `=`"));
    }
}
