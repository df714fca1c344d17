//! Layering: a job's preset, its platform environment, the job itself, its
//! own environment overlay and `--set` flags are deep-merged, in that order of
//! precedence, into one complete SparkJob; every field remembers which layer
//! set it (`--explain`) and where it was written (for errors). Below them
//! all, a job that names no queue gets its tenant's (the platform's tenants
//! are in the catalog; ADR 0079), and the job keeps the platform namespace
//! its tenant names, where the door that reaches its UI runs (ADR 0095).
//!
//! Merge rules: mappings merge key by key; a list or a scalar replaces what a
//! lower layer had; an explicit `null` removes what a lower layer set.
//!
//! Owns: merging and the structural (schema) check of each layer and of the
//! merged document. Must not: check meaning — that is `validate`, run after
//! this by `load`, the one step every caller uses.

use std::collections::BTreeMap;

use sparkplane_api::SparkJob;

use crate::catalog::{Catalog, JobTenant};
pub use crate::resolved::{LayerKind, LayerLabel, Origin, ResolvedJob};
use crate::validate::ValidationTarget;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::schema::{self, Completeness, DocKind};
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::{FieldPath, Node, NodeValue, PathSeg, parse_single};

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
    /// What the job will be used for: decides which fields
    /// `load`'s validation requires; layering ignores it.
    pub target: ValidationTarget,
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

/// How to fix an unknown environment `name`: the nearest known name when one
/// is close (`prd` → `prod`) with the list, else the list and that a job's own
/// overlay of that name would do. The one wording `resolve`, `ci` and the
/// delivery commands use.
pub fn environment_help(name: &str, known: &[&str]) -> String {
    match schema::did_you_mean(name, known.iter().copied()) {
        Some(guess) => format!("did you mean `{guess}`? (known: {})", known.join(", ")),
        None => format!(
            "use one of: {} — or add a `{name}` overlay next to the job or in the platform directory",
            known.join(", ")
        ),
    }
}

/// Merges and schema-checks a job's layers, without checking its meaning.
/// Errors from every layer are reported together. `Ok` holds the merged job
/// and what was found on the way: warnings, and unknown-field errors, which
/// are set aside so that validation still runs and one run reports a typo
/// and, say, a conflict together. Callers want `load`, which
/// validates the result and decides.
pub fn resolve_layers(request: ResolveRequest<'_>) -> Result<(ResolvedJob, Diagnostics), Diagnostics> {
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
    let preset =
        preset_name.as_ref().and_then(|(name, span)| find_preset(request.catalog, name, span, &mut diagnostics));
    let platform_env =
        environment.as_ref().and_then(|(name, span)| find_environment(&request, name, span, &mut diagnostics));
    if diagnostics.errors().any(|d| d.code != "unknown-field") {
        return Err(diagnostics.sorted());
    }

    // The layers from lowest to highest: preset, platform environment, job, the job's environment, --set.
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
    let job_name = request.job.span.source.name.to_string();
    layers.push((LayerLabel { kind: LayerKind::Job, name: job_name }, request.job));
    if let (Some(t), Some(env)) = (job_env_template, request.job_environment) {
        layers.push((LayerLabel { kind: LayerKind::JobEnvironment, name: env.span.source.name.to_string() }, t));
    }
    for (flag, layer) in request.sets.iter().zip(&set_layers) {
        layers.push((LayerLabel { kind: LayerKind::Set, name: flag.text.clone() }, layer));
    }
    let (mut tree, mut provenance) = merge_layers(&request, &layers, environment.as_ref().map(|(env, _)| env.as_str()));
    let namespace = tree.get(&FieldPath::parse("metadata.namespace").unwrap_or_default()).and_then(Node::as_str);
    let namespace = namespace.map(str::to_owned);
    default_queue(request.catalog, &mut tree, &mut provenance, &mut diagnostics, namespace.as_deref());

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
    let platform_namespace =
        tenant_platform_namespace(request.catalog, namespace.as_deref(), job.spec.team.as_deref().unwrap_or_default());
    let resolved = ResolvedJob {
        job,
        tree,
        provenance,
        environment: environment.map(|(e, _)| e),
        preset: preset_name.map(|(p, _)| p.to_owned()),
        warnings: Diagnostics::new(),
        attempt: 1,
        platform_namespace,
    };
    Ok((resolved, diagnostics))
}

/// The preset `name` from the catalog, or None with an error (and the
/// nearest name) in `diagnostics`.
fn find_preset<'c>(catalog: &'c Catalog, name: &str, span: &Span, diagnostics: &mut Diagnostics) -> Option<&'c Node> {
    if let Some(doc) = catalog.preset(name) {
        return Some(doc);
    }
    let known: Vec<&str> = catalog.preset_names().collect();
    let diag = Diagnostic::error("unknown-preset", "spec.preset", format!("there is no preset `{name}`"))
        .with_span(Some(span.clone()));
    diagnostics.push(match schema::did_you_mean(name, known.iter().copied()) {
        Some(guess) => diag.with_help(format!("did you mean `{guess}`? (`sparkplane presets list` shows them all)")),
        None => diag.with_help(format!("use one of: {}", known.join(", "))),
    });
    None
}

/// The platform environment `name` from the catalog; an error in
/// `diagnostics` when there is none and the job has no environment file of
/// its own either.
fn find_environment<'c>(
    request: &ResolveRequest<'c>,
    name: &str,
    span: &Option<Span>,
    diagnostics: &mut Diagnostics,
) -> Option<&'c Node> {
    let found = request.catalog.environment(name);
    if found.is_none() && request.job_environment.is_none() {
        let known: Vec<&str> = request.catalog.environment_names().collect();
        diagnostics.push(
            Diagnostic::error("unknown-environment", "spec.environment", format!("there is no environment `{name}`"))
                .with_span(span.clone())
                .with_help(environment_help(name, &known)),
        );
    }
    found
}

/// `layers` merged in order into one tree with the origin of every value;
/// then `--env` (when given as a flag) as the environment of the resolved job.
fn merge_layers(
    request: &ResolveRequest<'_>,
    layers: &[(LayerLabel, &Node)],
    environment: Option<&str>,
) -> (Node, BTreeMap<FieldPath, Origin>) {
    let mut tree = Node { value: NodeValue::Map(Vec::new()), span: request.job.span.clone() };
    let mut provenance = BTreeMap::new();
    let root = FieldPath::root();
    for (label, layer) in layers {
        merge(&mut tree, layer, &root, label, &mut provenance);
    }
    if let Some(env) = environment
        && request.environment.is_some()
    {
        // The environment applied is part of the resolved job.
        let span = tree.span.clone();
        let flag = Node { value: NodeValue::Str(env.to_owned()), span };
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
        let label = LayerLabel { kind: LayerKind::Flag, name: format!("--env {env}") };
        merge(&mut tree, &doc, &root, &label, &mut provenance);
    }
    (tree, provenance)
}

/// A job that names no queue (`spec.queue`) in any layer gets its tenant's
/// (ADR 0079): the platform's tenant ([`Catalog::tenant_of`]) whose
/// namespace is the job's (`namespace`), or of its team when it names no
/// namespace, when that tenant's file names a queue. The value is recorded
/// as set by the tenant, so `--explain` shows where it came from. A team
/// with several tenants and a job that names no namespace is a warning: no
/// queue is chosen.
fn default_queue(
    catalog: &Catalog,
    tree: &mut Node,
    provenance: &mut BTreeMap<FieldPath, Origin>,
    diagnostics: &mut Diagnostics,
    namespace: Option<&str>,
) {
    let at = |path: &str| FieldPath::parse(path).ok().and_then(|p| tree.get(&p));
    if at("spec.queue").is_some() {
        return;
    }
    let team = at("spec.team").and_then(Node::as_str).unwrap_or_default();
    let tenant = match catalog.tenant_of(namespace, team) {
        JobTenant::One(tenant) => tenant,
        JobTenant::Unknown => return,
        JobTenant::Ambiguous(several) => {
            let names: Vec<&str> = several.iter().map(|t| t.metadata.name.as_str()).collect();
            diagnostics.push(
                Diagnostic::warning(
                    "ambiguous-tenant",
                    "spec.queue",
                    format!(
                        "tenants {} all belong to team `{team}` and the job names no namespace: no tenant's queue is its default",
                        names.join(", ")
                    ),
                )
                .with_span(Some(tree.span.clone()))
                .with_help("set metadata.namespace to the tenant's namespace, or spec.queue"),
            );
            return;
        }
    };
    let Some(queue) = &tenant.spec.queue else { return };
    let origin = catalog.tenant_origin(&tenant.metadata.name).unwrap_or("tenant");
    let source = Source::new(format!("{origin} (spec.queue)"), "");
    let span = Span { source, start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
    let value = Node { value: NodeValue::Str(queue.local_queue().to_owned()), span: span.clone() };
    let layer = SetFlag { path: FieldPath::parse("spec.queue").unwrap_or_default(), value, text: String::new() };
    let label = LayerLabel { kind: LayerKind::Tenant, name: tenant.metadata.name.clone() };
    merge(tree, &layer.as_layer(), &FieldPath::root(), &label, provenance);
}

/// The platform namespace the job's tenant names (`spec.platformNamespace`),
/// the tenant found by the rule its queue is found by ([`Catalog::tenant_of`]);
/// None when there is no one tenant or it names none.
fn tenant_platform_namespace(catalog: &Catalog, namespace: Option<&str>, team: &str) -> Option<String> {
    match catalog.tenant_of(namespace, team) {
        JobTenant::One(tenant) => tenant.spec.platform_namespace.clone(),
        JobTenant::Unknown | JobTenant::Ambiguous(_) => None,
    }
}

/// Settles the namespace a resolved job goes to (`-n` as `flag`, else the
/// job's own, else the kubeconfig context's: [`ResolvedJob::settle_namespace`])
/// and, when no layer named its queue, gives it the queue of the tenant of
/// that namespace — the default [`resolve_layers`] gave by the job's own
/// namespace, or by its team when it named none, is taken back first. So a
/// namespace given only on the command line finds its tenant by the same
/// rule ([`Catalog::tenant_of`]) as one written in the job (ADR 0079). The
/// platform namespace (where the door is, ADR 0095) is taken from that
/// tenant again too.
pub fn settle_namespace(resolved: &mut ResolvedJob, catalog: &Catalog, flag: Option<&str>, context: Option<&str>) {
    let before = resolved.job.metadata.namespace.clone();
    resolved.settle_namespace(flag, context);
    let team = resolved.job.spec.team.clone().unwrap_or_default();
    resolved.platform_namespace = tenant_platform_namespace(catalog, resolved.job.metadata.namespace.as_deref(), &team);
    let queue = FieldPath::parse("spec.queue").unwrap_or_default();
    let by_tenant = resolved.provenance.get(&queue).is_none_or(|o| o.layer.kind == LayerKind::Tenant);
    if resolved.job.metadata.namespace == before || !by_tenant {
        return;
    }
    remove_path(&mut resolved.tree, &queue);
    resolved.provenance.remove(&queue);
    resolved.job.spec.queue = None;
    // A team's several tenants no longer leave the queue open once the namespace is known.
    resolved.warnings.0.retain(|d| d.code != "ambiguous-tenant");
    let namespace = resolved.job.metadata.namespace.clone();
    default_queue(catalog, &mut resolved.tree, &mut resolved.provenance, &mut resolved.warnings, namespace.as_deref());
    resolved.job.spec.queue = resolved.tree.get(&queue).and_then(Node::as_str).map(str::to_owned);
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
