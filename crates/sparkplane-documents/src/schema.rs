//! The structure every document must have, taken from the api types' JSON
//! Schemas (the same schemas the CRD carries), and a checker that walks a
//! loaded YAML tree against one and reports every problem at once: unknown
//! fields (with "did you mean"), wrong types, values outside an enum, bad
//! quantities, missing required fields.
//!
//! It owns structure only; meaning (names, bounds, conflicts) is `validate`'s.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde_json::{Map, Value, json};
use sparkplane_api::{CpuAmount, Duration, MemorySize};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::yaml::{FieldPath, Node, NodeValue};

/// Which kind of document a schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    /// `kind: SparkJob`.
    SparkJob,
    /// `kind: Preset`.
    Preset,
    /// `kind: Environment`.
    Environment,
    /// `kind: NodePools`.
    NodePools,
    /// `kind: DataQuality`.
    DataQuality,
    /// `kind: Tenant`.
    Tenant,
}

impl DocKind {
    /// The `kind:` value.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::SparkJob => "SparkJob",
            DocKind::Preset => "Preset",
            DocKind::Environment => "Environment",
            DocKind::NodePools => "NodePools",
            DocKind::DataQuality => "DataQuality",
            DocKind::Tenant => "Tenant",
        }
    }
}

/// Whether required fields are enforced: layers (presets, overlays, a job
/// before its preset is applied) are partial; a resolved job is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completeness {
    /// Required fields may be missing.
    Partial,
    /// Required fields must be present.
    Complete,
}

/// A self-contained schema: the root plus its `$defs`.
pub struct DocSchema {
    root: Value,
    defs: Map<String, Value>,
}

fn schema_value<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Splits a generated schema into root and defs, and makes it strict: an
/// object with listed properties accepts no others (as `kubectl --validate=strict`).
fn prepare(mut root: Value) -> DocSchema {
    let defs = root.as_object_mut().and_then(|o| o.remove("$defs")).and_then(|d| match d {
        Value::Object(map) => Some(map),
        _ => None,
    });
    let mut defs = defs.unwrap_or_default();
    strictify(&mut root);
    for def in defs.values_mut() {
        strictify(def);
    }
    DocSchema { root, defs }
}

fn strictify(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in map.values_mut() {
                strictify(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strictify),
        _ => {}
    }
}

fn kind_header(kind: DocKind, metadata: Value, body: (&str, Value), required_body: bool) -> Value {
    let mut required = vec!["apiVersion", "kind", "metadata"];
    if required_body {
        required.push(body.0);
    }
    json!({
        "type": "object",
        "required": required,
        "properties": {
            "apiVersion": {"type": "string", "enum": [sparkplane_api::API_VERSION]},
            "kind": {"type": "string", "enum": [kind.name()]},
            "metadata": metadata,
            body.0: body.1,
        }
    })
}

/// The schema of a document kind (built once).
pub fn schema(kind: DocKind) -> &'static DocSchema {
    static JOB: OnceLock<DocSchema> = OnceLock::new();
    static PRESET: OnceLock<DocSchema> = OnceLock::new();
    static ENVIRONMENT: OnceLock<DocSchema> = OnceLock::new();
    static NODES: OnceLock<DocSchema> = OnceLock::new();
    static DATA_QUALITY: OnceLock<DocSchema> = OnceLock::new();
    static TENANT: OnceLock<DocSchema> = OnceLock::new();
    match kind {
        DocKind::SparkJob => JOB.get_or_init(|| {
            let mut spec = schema_value::<sparkplane_api::SparkJobSpec>();
            let defs = spec.as_object_mut().and_then(|o| o.remove("$defs")).unwrap_or(Value::Null);
            let metadata = json!({
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "description": "Job name: lower-case letters, digits and '-'."},
                    "namespace": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
                }
            });
            let mut root = kind_header(kind, metadata, ("spec", spec), true);
            if let Some(map) = root.as_object_mut() {
                map.insert("$defs".into(), defs);
            }
            prepare(root)
        }),
        DocKind::Preset => {
            PRESET.get_or_init(|| prepare(with_constants(schema_value::<sparkplane_api::Preset>(), kind)))
        }
        DocKind::Environment => {
            ENVIRONMENT.get_or_init(|| prepare(with_constants(schema_value::<sparkplane_api::Environment>(), kind)))
        }
        DocKind::NodePools => {
            NODES.get_or_init(|| prepare(with_constants(schema_value::<sparkplane_api::NodePools>(), kind)))
        }
        DocKind::DataQuality => {
            DATA_QUALITY.get_or_init(|| prepare(with_constants(schema_value::<sparkplane_api::DqSpec>(), kind)))
        }
        DocKind::Tenant => {
            TENANT.get_or_init(|| prepare(with_constants(schema_value::<sparkplane_api::tenant::Tenant>(), kind)))
        }
    }
}

/// Checks `doc` against `T`'s strict schema (every problem at once, each with
/// its span), then reads it as a `T`. `what` names the kind of file: a
/// document that carries a `kind` must carry that one (a Tenant handed over as
/// a budget file is refused, not read for the fields it shares), and the rare
/// problem the schema lets through is worded with it.
pub fn load_typed<T: JsonSchema + serde::de::DeserializeOwned>(doc: &Node, what: &str) -> Result<T, Diagnostics> {
    if doc.get(&FieldPath::parse("kind").unwrap_or_default()).is_some() {
        crate::document::expect_kind(doc, what, &format!("this option reads a {what} file: pass one, or drop `kind`"))?;
    }
    let problems = schema_of::<T>().check(doc, Completeness::Complete);
    if problems.has_errors() {
        return Err(problems);
    }
    let mut value = doc.to_json();
    if let Some(map) = value.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    serde_json::from_value(value).map_err(|e| {
        Diagnostic::error("invalid-document", "", format!("not a {what}: {e}")).with_span(Some(doc.span.clone())).into()
    })
}

/// The strict schema of a type defined outside the api crate (price sheets,
/// budgets, SLO lists), for files that have no `kind` of their own. A mapping
/// document may also carry `apiVersion` and `kind`, which such readers ignore.
pub fn schema_of<T: JsonSchema>() -> DocSchema {
    let mut root = schema_value::<T>();
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("apiVersion".into(), json!({"type": "string"}));
        props.insert("kind".into(), json!({"type": "string"}));
    }
    prepare(root)
}

/// Pins `apiVersion` and `kind` of a generated document schema.
fn with_constants(mut root: Value, kind: DocKind) -> Value {
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("apiVersion".into(), json!({"type": "string", "enum": [sparkplane_api::API_VERSION]}));
        props.insert("kind".into(), json!({"type": "string", "enum": [kind.name()]}));
    }
    root
}

impl DocSchema {
    /// Checks `doc` and returns every structural problem.
    pub fn check(&self, doc: &Node, completeness: Completeness) -> Diagnostics {
        let mut out = Diagnostics::new();
        let checker = Checker { schema: self, completeness };
        checker.check(doc, &self.root, &FieldPath::root(), &mut out);
        out
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { break };
            let name = reference.trim_start_matches("#/$defs/");
            match self.defs.get(name) {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// The property names a mapping at `path` may have, for help texts.
    pub fn fields_at(&self, path: &FieldPath) -> Vec<String> {
        let mut schema = self.resolve(&self.root);
        for seg in &path.0 {
            schema = self.resolve(non_null_branch(schema).unwrap_or(schema));
            let next = match seg {
                crate::yaml::PathSeg::Key(key) => {
                    schema.get("properties").and_then(|p| p.get(key)).or_else(|| schema.get("additionalProperties"))
                }
                crate::yaml::PathSeg::Index(_) => schema.get("items"),
            };
            match next {
                Some(next) => schema = next,
                None => return Vec::new(),
            }
        }
        let schema = self.resolve(non_null_branch(schema).unwrap_or(schema));
        let schema = self.resolve(schema);
        schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
    }
}

/// For `anyOf: [X, {type: null}]` (how an `Option<X>` is described), X.
fn non_null_branch(schema: &Value) -> Option<&Value> {
    let branches = schema.get("anyOf")?.as_array()?;
    let mut rest = branches.iter().filter(|b| b.get("type").and_then(Value::as_str) != Some("null"));
    let first = rest.next()?;
    if rest.next().is_none() { Some(first) } else { None }
}

struct Checker<'a> {
    schema: &'a DocSchema,
    completeness: Completeness,
}

fn type_matches(ty: &str, node: &Node) -> bool {
    matches!(
        (ty, &node.value),
        ("null", NodeValue::Null)
            | ("boolean", NodeValue::Bool(_))
            | ("integer", NodeValue::Int(_))
            | ("number", NodeValue::Int(_) | NodeValue::Float(_))
            | ("string", NodeValue::Str(_))
            | ("array", NodeValue::Seq(_))
            | ("object", NodeValue::Map(_))
    )
}

fn type_word(ty: &str) -> &str {
    match ty {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        other => other,
    }
}

/// The closest candidate to `word`, when close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(distance, c)| {
            *distance <= (c.len().max(3) / 3).max(1) || (c.len() > 3 && lower.contains(&c.to_ascii_lowercase()))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// The file name in `names` nearest to `name`, at most two edits away (a
/// typo, `.yml` for `.yaml`). Stricter than [`did_you_mean`]: file names in
/// one folder share prefixes and extensions (`trips-dq.yaml`,
/// `trips-etl.yaml`), so a share of the length would offer another file.
pub fn near_file_name<'a>(name: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

impl Checker<'_> {
    fn check(&self, node: &Node, schema: &Value, path: &FieldPath, out: &mut Diagnostics) {
        let schema = self.schema.resolve(schema);
        if matches!(node.value, NodeValue::Null) {
            // An explicit null means "not set" (and, in a layer, "unset the layer below").
            return;
        }
        if let Some(branch) = non_null_branch(schema) {
            return self.check(node, branch, path, out);
        }
        if let Some(format) = quantity_kind(schema) {
            return self.check_quantity(node, format, path, out);
        }
        if let Some(options) = const_options(schema) {
            self.check_enum(node, &options, path, out);
            return;
        }
        if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
            return self.check_tagged(node, branches, path, out);
        }
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            let passes = branches.iter().any(|b| {
                let mut trial = Diagnostics::new();
                self.check(node, b, path, &mut trial);
                trial.is_empty()
            });
            if !passes {
                out.push(
                    Diagnostic::error(
                        "wrong-type",
                        path.to_string(),
                        format!("{} is not an accepted value here", describe(node)),
                    )
                    .with_span(Some(node.span.clone())),
                );
            }
            return;
        }
        if let Some(expected) = schema.get("type") {
            let types: Vec<&str> = match expected {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| type_matches(t, node)) {
                let wanted: Vec<&str> = types.iter().filter(|t| **t != "null").map(|t| type_word(t)).collect();
                let mut diag = Diagnostic::error(
                    "wrong-type",
                    path.to_string(),
                    format!("expected {}, found {}", wanted.join(" or "), describe(node)),
                )
                .with_span(Some(node.span.clone()));
                if types.contains(&"string")
                    && matches!(node.value, NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_))
                {
                    let text = &node.span.source.text[node.span.start..node.span.end];
                    diag = diag.with_help(format!("quote it so YAML keeps it as text: \"{}\"", text.trim()));
                }
                out.push(diag);
                return;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !self.check_enum(node, options, path, out)
        {
            return;
        }
        if let (Some(min), Some(value)) = (schema.get("minimum").and_then(Value::as_f64), node.to_json().as_f64())
            && value < min
        {
            out.push(
                Diagnostic::error("bad-value", path.to_string(), format!("{value} is below the minimum of {min}"))
                    .with_span(Some(node.span.clone())),
            );
        }
        match &node.value {
            NodeValue::Map(entries) => self.check_map(node, entries, schema, path, out),
            NodeValue::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, item_schema, &path.index(i), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// A `oneOf` (how an externally tagged enum is described: one mapping
    /// per variant, keyed by its name): checks the node against the variant
    /// its key names, so the problem is reported where it is.
    fn check_tagged(&self, node: &Node, branches: &[Value], path: &FieldPath, out: &mut Diagnostics) {
        let branches: Vec<&Value> = branches.iter().map(|b| self.schema.resolve(b)).collect();
        let tags: Vec<&str> = branches
            .iter()
            .filter_map(|b| b.get("properties").and_then(Value::as_object))
            .flat_map(|p| p.keys().map(String::as_str))
            .collect();
        if let NodeValue::Map(entries) = &node.value {
            let named = branches
                .iter()
                .find(|b| entries.iter().any(|(k, _, _)| b.get("properties").and_then(|p| p.get(k)).is_some()));
            if let Some(branch) = named {
                return self.check(node, branch, path, out);
            }
        }
        let passes = branches.iter().any(|b| {
            let mut trial = Diagnostics::new();
            self.check(node, b, path, &mut trial);
            trial.is_empty()
        });
        if passes {
            return;
        }
        let mut diag = Diagnostic::error(
            "wrong-type",
            path.to_string(),
            format!("{} is not an accepted value here", describe(node)),
        )
        .with_span(Some(node.span.clone()));
        if !tags.is_empty() {
            let first_key = node.as_map().and_then(|e| e.first()).map(|(k, _, _)| k.as_str());
            diag = match first_key.and_then(|k| did_you_mean(k, tags.iter().copied())) {
                Some(guess) => diag.with_help(format!("did you mean `{guess}`?")),
                None => diag.with_help(format!("write a mapping with one of: {}", tags.join(", "))),
            };
        }
        out.push(diag);
    }

    /// Reports a value outside `options`; returns whether it was inside.
    fn check_enum(&self, node: &Node, options: &[Value], path: &FieldPath, out: &mut Diagnostics) -> bool {
        if options.contains(&node.to_json()) {
            return true;
        }
        let names: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
        let mut diag = Diagnostic::error(
            "bad-value",
            path.to_string(),
            format!("{} is not one of: {}", describe(node), names.join(", ")),
        )
        .with_span(Some(node.span.clone()));
        if let Some(guess) = node.as_str().and_then(|s| did_you_mean(s, names.iter().copied())) {
            diag = diag.with_help(format!("did you mean `{guess}`?"));
        }
        out.push(diag);
        false
    }

    fn check_map(
        &self,
        node: &Node,
        entries: &[(String, crate::Span, Node)],
        schema: &Value,
        path: &FieldPath,
        out: &mut Diagnostics,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        // Required fields an unknown key was taken for (its did-you-mean): one mistake, one error.
        let mut guessed: Vec<&str> = Vec::new();
        for (key, key_span, value) in entries {
            let child = path.key(key);
            match props.and_then(|p| p.get(key)) {
                Some(prop) => self.check(value, prop, &child, out),
                None => match additional {
                    Some(Value::Bool(false)) => {
                        let names: Vec<&str> =
                            props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                        let mut diag =
                            Diagnostic::error("unknown-field", child.to_string(), format!("unknown field `{key}`"))
                                .with_span(Some(key_span.clone()));
                        diag = match did_you_mean(key, names.iter().copied()) {
                            Some(guess) => {
                                guessed.push(guess);
                                diag.with_help(format!("did you mean `{guess}`?"))
                            }
                            None if names.len() <= 12 => {
                                diag.with_help(format!("fields allowed here: {}", names.join(", ")))
                            }
                            None => diag.with_help(format!(
                                "see `sparkplane crd` for the fields allowed under `{}`",
                                if path.0.is_empty() { "the document".to_owned() } else { path.to_string() }
                            )),
                        };
                        out.push(diag);
                    }
                    Some(extra @ Value::Object(_)) => self.check(value, extra, &child, out),
                    _ => {}
                },
            }
        }
        if self.completeness == Completeness::Complete {
            for required in
                schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
            {
                let present = entries.iter().any(|(k, _, v)| k == required && !matches!(v.value, NodeValue::Null));
                if !present && !guessed.contains(&required) {
                    out.push(
                        Diagnostic::error(
                            "missing-field",
                            path.key(required).to_string(),
                            format!("required field `{required}` is missing"),
                        )
                        .with_span(Some(node.span.clone()))
                        .with_help(format!(
                            "add `{required}:` under `{}`",
                            if path.0.is_empty() { "the document root".to_owned() } else { path.to_string() }
                        )),
                    );
                }
            }
        }
    }

    fn check_quantity(&self, node: &Node, kind: QuantityKind, path: &FieldPath, out: &mut Diagnostics) {
        let text = match &node.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Int(i) if kind == QuantityKind::Cpu => {
                // Whole cores may be written as a number.
                if *i < 0 {
                    self.bad(node, path, "a CPU amount cannot be negative", out);
                }
                return;
            }
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            _ => return self.bad(node, path, &format!("expected a {}, found {}", kind.word(), describe(node)), out),
        };
        let result = match kind {
            QuantityKind::Memory => text.parse::<MemorySize>().map(|_| ()),
            QuantityKind::Cpu => text.parse::<CpuAmount>().map(|_| ()),
            QuantityKind::Duration => text.parse::<Duration>().map(|_| ()),
        };
        match result {
            Err(err) => self.bad(node, path, &err.0, out),
            Ok(()) if !matches!(node.value, NodeValue::Str(_)) => self.bad(
                node,
                path,
                &format!("expected a {} written as text, found {}", kind.word(), describe(node)),
                out,
            ),
            Ok(()) => {}
        }
    }

    fn bad(&self, node: &Node, path: &FieldPath, message: &str, out: &mut Diagnostics) {
        out.push(
            Diagnostic::error("bad-quantity", path.to_string(), message.to_owned()).with_span(Some(node.span.clone())),
        );
    }
}

/// Which typed quantity a schema describes (recognised by the api types' descriptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QuantityKind {
    Memory,
    Cpu,
    Duration,
}

impl QuantityKind {
    fn word(self) -> &'static str {
        match self {
            QuantityKind::Memory => "memory size",
            QuantityKind::Cpu => "CPU amount",
            QuantityKind::Duration => "duration",
        }
    }
}

/// Recognises the api's quantity types by the patterns their schemas carry.
fn quantity_kind(schema: &Value) -> Option<QuantityKind> {
    let own = schema.get("pattern").and_then(Value::as_str);
    let branch = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|bs| bs.iter().find_map(|b| b.get("pattern").and_then(Value::as_str)));
    match own.or(branch)? {
        sparkplane_api::quantity::MEMORY_PATTERN => Some(QuantityKind::Memory),
        sparkplane_api::quantity::CPU_PATTERN => Some(QuantityKind::Cpu),
        sparkplane_api::quantity::DURATION_PATTERN => Some(QuantityKind::Duration),
        _ => None,
    }
}

/// For `oneOf: [{const: A}, {const: B}]` (how documented enums are described), [A, B].
fn const_options(schema: &Value) -> Option<Vec<Value>> {
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf"))?.as_array()?;
    branches.iter().map(|b| b.get("const").cloned()).collect()
}

fn describe(node: &Node) -> String {
    match &node.value {
        NodeValue::Str(s) => format!("`{s}`"),
        NodeValue::Int(i) => format!("the number {i}"),
        NodeValue::Float(f) => format!("the number {f}"),
        NodeValue::Bool(b) => format!("`{b}`"),
        other => type_word(match other {
            NodeValue::Seq(_) => "array",
            NodeValue::Map(_) => "object",
            _ => "null",
        })
        .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::yaml::parse_single;

    fn check(text: &str, completeness: Completeness) -> Diagnostics {
        let node = parse_single(&Source::new("job.yaml", text)).unwrap();
        schema(DocKind::SparkJob).check(&node, completeness)
    }

    const HEAD: &str = "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata:\n  name: a\n";

    #[test]
    fn a_near_file_name_is_a_typo_away_not_a_sibling_with_the_same_prefix() {
        let names = ["trips-dq.yaml", "trips-etl.yaml", "report.sql"];
        assert_eq!(near_file_name("trips-etl.yml", names), Some("trips-etl.yaml"));
        assert_eq!(near_file_name("trip-etl.yaml", names), Some("trips-etl.yaml"));
        assert_eq!(near_file_name("trips-dq.yml", names), Some("trips-dq.yaml"));
        assert_eq!(near_file_name("trips-qa.yaml", ["trips-etl.yaml"]), None);
        assert_eq!(near_file_name("nightly.yaml", names), None);
    }

    #[test]
    fn a_good_document_passes() {
        let text = format!(
            "{HEAD}spec:\n  type: Python\n  executor:\n    memory: 4g\n    instances: 3\n    coreRequest: 500m\n  tolerations:\n  - key: k\n    operator: Exists\n  timeouts:\n    maxDuration: 2h\n"
        );
        let d = check(&text, Completeness::Complete);
        assert!(d.is_empty(), "{d}");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_locations() {
        let text = format!(
            "{HEAD}spec:\n  executr:\n    memory: 4g\n  driver:\n    memory: 4 bananas\n    cores: two\n  type: Pyton\n  tolerations:\n  - keyy: k\n  timeouts:\n    maxDuration: 10\n"
        );
        let d = check(&text, Completeness::Complete);
        let got: Vec<(String, &str, usize)> =
            d.0.iter().map(|d| (d.path.clone(), d.code, d.span.as_ref().unwrap().at.line)).collect();
        assert_eq!(
            got,
            vec![
                ("spec.executr".into(), "unknown-field", 6),
                ("spec.driver.memory".into(), "bad-quantity", 9),
                ("spec.driver.cores".into(), "wrong-type", 10),
                ("spec.type".into(), "bad-value", 11),
                ("spec.tolerations[0].keyy".into(), "unknown-field", 13),
                ("spec.timeouts.maxDuration".into(), "bad-quantity", 15),
            ]
        );
        assert_eq!(d.0[0].help.as_deref(), Some("did you mean `executor`?"));
        assert_eq!(d.0[3].help.as_deref(), Some("did you mean `Python`?"));
        assert_eq!(d.0[4].help.as_deref(), Some("did you mean `key`?"));
        assert!(d.0[1].message.contains("unknown unit"), "{}", d.0[1].message);
    }

    #[test]
    fn required_fields_only_when_complete() {
        let text = "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {}\n";
        assert!(check(text, Completeness::Partial).is_empty());
        let d = check(text, Completeness::Complete);
        let paths: Vec<&str> = d.0.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, vec!["metadata.name", "spec"]);
    }

    #[test]
    fn numbers_where_text_is_expected_get_a_quoting_hint() {
        let d = check(&format!("{HEAD}spec:\n  sparkVersion: 3.5\n"), Completeness::Partial);
        assert_eq!(d.0[0].help.as_deref(), Some("quote it so YAML keeps it as text: \"3.5\""));
        let d = check(&format!("{HEAD}spec:\n  driver:\n    memory: 4096\n"), Completeness::Partial);
        assert!(d.0[0].message.contains("has no unit"), "{}", d.0[0].message);
    }

    #[test]
    fn wrong_kind_and_version_are_named() {
        let d = check("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", Completeness::Partial);
        assert_eq!(d.0.len(), 2);
        assert!(d.0[0].message.contains("sparkplane.dev/v1alpha1"), "{}", d.0[0].message);
    }

    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Watch {
        name: String,
        scope: Scope,
        objective: f64,
    }

    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    enum Scope {
        Job(String),
        Team(String),
    }

    #[test]
    fn typed_files_get_every_problem_with_its_location() {
        let text = "- name: a\n  scope: {job: 3}\n  objectiv: 0.9\n- name: b\n  scope: {jobb: x}\n  objective: high\n";
        let node = parse_single(&Source::new("w.yaml", text)).unwrap();
        let err = load_typed::<Vec<Watch>>(&node, "list").err().unwrap();
        let got: Vec<_> = err
            .0
            .iter()
            .map(|d| (d.path.as_str(), d.code, d.span.as_ref().map(|s| (s.at.line, s.at.column))))
            .collect();
        assert_eq!(
            got,
            [
                ("[0].scope.job", "wrong-type", Some((2, 16))),
                ("[0].objectiv", "unknown-field", Some((3, 3))),
                ("[1].scope", "wrong-type", Some((5, 10))),
                ("[1].objective", "wrong-type", Some((6, 14))),
            ]
        );
        assert_eq!(
            err.0[1].help.as_deref(),
            Some("did you mean `objective`?"),
            "no second error for the missing field"
        );
        assert_eq!(err.0[2].help.as_deref(), Some("did you mean `job`?"));
        let good = parse_single(&Source::new("w.yaml", "- {name: a, scope: {team: t}, objective: 0.9}\n")).unwrap();
        assert_eq!(load_typed::<Vec<Watch>>(&good, "list").map(|w| w.len()).ok(), Some(1));
    }

    #[test]
    fn a_typed_file_of_another_kind_is_refused_at_its_kind() {
        let text = "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nname: a\nscope: {team: t}\nobjective: 0.9\n";
        let node = parse_single(&Source::new("b.yaml", text)).unwrap();
        let err = load_typed::<Watch>(&node, "Budgets").err().unwrap();
        let got: Vec<_> = err
            .0
            .iter()
            .map(|d| (d.code, d.path.as_str(), d.message.as_str(), d.span.as_ref().map(|s| s.at.line)))
            .collect();
        assert_eq!(got, [("wrong-kind", "kind", "expected `kind: Budgets`, found `Tenant`", Some(2))]);
        let named = text.replace("kind: Tenant", "kind: Budgets");
        assert!(load_typed::<Watch>(&parse_single(&Source::new("b.yaml", named.as_str())).unwrap(), "Budgets").is_ok());
        let kindless = text.replace("kind: Tenant\n", "");
        assert!(
            load_typed::<Watch>(&parse_single(&Source::new("b.yaml", kindless.as_str())).unwrap(), "Budgets").is_ok()
        );
    }

    #[test]
    fn lists_fields_at_a_path() {
        let fields = schema(DocKind::SparkJob).fields_at(&FieldPath::parse("spec.dynamicAllocation").unwrap());
        assert!(fields.contains(&"maxExecutors".to_owned()), "{fields:?}");
    }
}
