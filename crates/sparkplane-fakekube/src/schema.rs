//! CRD admission, as the API server does it for a custom resource whose
//! CustomResourceDefinition is stored: fields the version's structural
//! `openAPIV3Schema` does not name are pruned (unless
//! `x-kubernetes-preserve-unknown-fields`), `default`s fill missing fields
//! (and nulls the schema does not allow; such a null without a default is
//! dropped), then the object is validated — types, `nullable`, `enum`, `required`,
//! `pattern`, bounds, lengths and item counts, and the CEL rules of
//! `x-kubernetes-validations` with `self` (and `oldSelf` on updates) — and
//! refused with 422 Invalid in the API server's words
//! (`spec.executor.instances: Invalid value: "string": spec.executor.instances
//! in body must be of type integer: "string"`). With the status subresource
//! on, a create drops `status` (the store keeps the rest of the split:
//! status ignored on the main resource, everything else on `/status`).
//!
//! Updates ratchet, as the API server does since Kubernetes 1.30
//! (`CRDValidationRatcheting`, KEP-4008, on by default from 1.30, GA in
//! 1.33): a field whose value equals the stored one (compared by key from
//! the root, as a whole subtree) reports none of its errors, its CEL rules'
//! included, except the transition rules (those using `oldSelf`), which run
//! there as anywhere. So a write to `/status` or of metadata does not walk
//! the stored, unchanged spec again; only its transition rules run.
//!
//! A rule's failure is worded by its `messageExpression`, `message`,
//! `fieldPath` and `reason` as the API server words it.
//!
//! What it does not do: `format`, `anyOf`/`oneOf`/`allOf`/`not`,
//! `optionalOldSelf`, CEL cost limits and Kubernetes' CEL libraries,
//! conversion between versions; ratcheting inside a list whose items
//! changed (list items are not correlated with the stored ones, so a
//! changed list is validated whole), and the `Warning` header the API
//! server sends for a CEL rule it ratcheted (none arises while the stored
//! object was admitted by the same schema; ratcheted schema errors it drops
//! silently, as here).
//!
//! A version's schema is compiled once ([`Compiled`], kept by the store
//! until the CRD changes): properties by name, the properties with
//! defaults, patterns compiled; admission walks the object and looks the
//! schema up, so its cost follows the object, not the schema's size.
//!
//! Owns: schema admission. Must not: store, or merge objects.

use serde_json::{Map, Value, json};

use crate::answer::{Answer, status};

/// One served version of a stored CRD.
#[derive(Clone, Debug)]
pub struct CrdVersion<'a> {
    /// `spec.names.kind`.
    pub kind: String,
    /// `spec.group`.
    pub group: String,
    /// The version's `schema.openAPIV3Schema`.
    pub schema: &'a Value,
    /// Whether the version has the status subresource.
    pub status_subresource: bool,
}

/// The stored CRD's version serving a resource, if any.
pub fn crd_version<'a>(
    mut crds: impl Iterator<Item = &'a Value>,
    group: &str,
    version: &str,
    plural: &str,
) -> Option<CrdVersion<'a>> {
    let crd = crds.find(|crd| crd["spec"]["group"] == group && crd["spec"]["names"]["plural"] == plural)?;
    let served = crd["spec"]["versions"].as_array()?.iter().find(|v| v["name"] == version)?;
    let schema = &served["schema"]["openAPIV3Schema"];
    schema.is_object().then(|| CrdVersion {
        kind: crd["spec"]["names"]["kind"].as_str().unwrap_or_default().to_owned(),
        group: group.to_owned(),
        schema,
        status_subresource: served["subresources"]["status"].is_object(),
    })
}

/// One validation error, as `field.Error` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Error {
    field: String,
    reason: &'static str,
    /// The text after `<field>: `.
    detail: String,
}

/// A CRD version's schema compiled once (`Store` keeps it until the CRD
/// changes): each node's properties by name, the properties that have a
/// default, patterns compiled, so admission walks the object and looks
/// the schema up, never walking the schema for each object.
#[derive(Debug)]
pub struct Compiled {
    root: Node,
    /// Whether the schema has any `x-kubernetes-validations` rule.
    any_rules: bool,
}

impl Compiled {
    /// Compiles a version's `openAPIV3Schema`.
    pub fn new(schema: &Value) -> Compiled {
        Compiled { root: Node::new(schema), any_rules: has_rules(schema) }
    }
}

/// One schema node, as admission reads it.
#[derive(Debug, Default)]
struct Node {
    /// `type`.
    kind: Option<String>,
    nullable: bool,
    int_or_string: bool,
    preserve_unknown: bool,
    embedded: bool,
    /// Whether `properties` is an object.
    has_properties: bool,
    /// `properties`, compiled.
    compiled: std::collections::HashMap<String, Node>,
    /// The names of `properties` whose schema has a `default`, in their order.
    defaulted: Vec<String>,
    /// `additionalProperties: true`.
    additional_any: bool,
    /// `additionalProperties` when it is a schema.
    additional: Option<Box<Node>>,
    /// `items` when it is a schema.
    items: Option<Box<Node>>,
    /// `default`, when the node has the key (null included).
    default: Option<Value>,
    enumeration: Option<Vec<Value>>,
    required: Vec<String>,
    max_length: Option<u64>,
    min_length: Option<u64>,
    /// The pattern and its regex (None when it does not compile: then not checked).
    pattern: Option<(String, Option<regex::Regex>)>,
    minimum: Option<(f64, Value)>,
    exclusive_minimum: bool,
    maximum: Option<(f64, Value)>,
    exclusive_maximum: bool,
    max_items: Option<u64>,
    min_items: Option<u64>,
    /// `x-kubernetes-validations`.
    rules: Vec<Value>,
    /// Whether this node or one below it (by properties or
    /// additionalProperties) has a transition rule (one using `oldSelf`):
    /// those run in unchanged subtrees too.
    transition_below: bool,
}

impl Node {
    fn new(schema: &Value) -> Node {
        let flag = |key: &str| schema[key] == json!(true);
        let properties = schema["properties"].as_object();
        // In the properties' own order, as defaults were filled before.
        let defaulted = properties
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.get("default").is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let compiled: std::collections::HashMap<String, Node> =
            properties.into_iter().flatten().map(|(k, v)| (k.clone(), Node::new(v))).collect();
        let sub = |key: &str| schema[key].is_object().then(|| Box::new(Node::new(&schema[key])));
        let bound = |key: &str| schema[key].as_f64().map(|n| (n, schema[key].clone()));
        let additional: Option<Box<Node>> = sub("additionalProperties");
        let rules: Vec<Value> = schema["x-kubernetes-validations"].as_array().cloned().unwrap_or_default();
        let transition_below = rules.iter().any(is_transition)
            || compiled.values().any(|n: &Node| n.transition_below)
            || additional.as_ref().is_some_and(|n| n.transition_below);
        Node {
            kind: schema["type"].as_str().map(str::to_owned),
            nullable: flag("nullable"),
            int_or_string: flag("x-kubernetes-int-or-string"),
            preserve_unknown: flag("x-kubernetes-preserve-unknown-fields"),
            embedded: flag("x-kubernetes-embedded-resource"),
            has_properties: properties.is_some(),
            compiled,
            defaulted,
            additional_any: schema["additionalProperties"] == json!(true),
            additional,
            items: sub("items"),
            default: schema.get("default").cloned(),
            enumeration: schema["enum"].as_array().cloned(),
            required: schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            max_length: schema["maxLength"].as_u64(),
            min_length: schema["minLength"].as_u64(),
            pattern: schema["pattern"].as_str().map(|p| (p.to_owned(), regex::Regex::new(p).ok())),
            minimum: bound("minimum"),
            exclusive_minimum: flag("exclusiveMinimum"),
            maximum: bound("maximum"),
            exclusive_maximum: flag("exclusiveMaximum"),
            max_items: schema["maxItems"].as_u64(),
            min_items: schema["minItems"].as_u64(),
            rules,
            transition_below,
        }
    }

    /// The schema of property `key` (None when `properties` does not name it).
    fn property(&self, key: &str) -> Option<&Node> {
        self.compiled.get(key)
    }
}

/// Prunes, defaults and validates `object` (an update's `old` feeds the
/// transition rules); the admitted object or the refusal. Compiles the
/// schema first (the tests' way in; the store keeps compiled schemas for
/// [`admit_compiled`]).
#[cfg(test)]
pub fn admit(crd: &CrdVersion<'_>, object: Value, old: Option<&Value>, create: bool) -> Result<Value, Answer> {
    admit_compiled(crd, &Compiled::new(crd.schema), object, old, create)
}

/// [`admit`] with the version's schema compiled already.
pub fn admit_compiled(
    crd: &CrdVersion<'_>,
    compiled: &Compiled,
    mut object: Value,
    old: Option<&Value>,
    create: bool,
) -> Result<Value, Answer> {
    if create
        && crd.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    let schema = &compiled.root;
    prune(&mut object, schema, true);
    default(&mut object, schema);
    let mut errors = Vec::new();
    let mut rule_errors = Vec::new();
    validate(&object, old, schema, "", &mut Found { errors: &mut errors, rules: &mut rule_errors }, true);
    // Rules run on an object the schema admits; otherwise the API server says they did not run.
    if errors.iter().any(|e| BLOCKING.contains(&e.reason)) {
        if compiled.any_rules {
            errors.push(Error {
                field: "<nil>".into(),
                reason: "FieldValueInvalid",
                detail: "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
            });
        }
    } else {
        errors.extend(rule_errors);
    }
    if errors.is_empty() {
        return Ok(object);
    }
    let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let shown: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.detail)).collect();
    let listed = if shown.len() == 1 { shown[0].clone() } else { format!("[{}]", shown.join(", ")) };
    let causes: Vec<Value> =
        errors.iter().map(|e| json!({"reason": e.reason, "message": e.detail, "field": e.field})).collect();
    Err(status(
        422,
        "Invalid",
        format!("{}.{} \"{name}\" is invalid: {listed}", crd.kind, crd.group),
        json!({"name": name, "group": crd.group, "kind": crd.kind, "causes": causes}),
    ))
}

fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => map.iter().any(|(k, v)| k == "x-kubernetes-validations" || has_rules(v)),
        Value::Array(items) => items.iter().any(has_rules),
        _ => false,
    }
}

/// Error reasons after which the CEL rules are not run.
const BLOCKING: &[&str] = &[
    "FieldValueNotSupported",
    "FieldValueRequired",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
];

/// Where validation puts what it finds: schema errors, and the rules' apart.
struct Found<'a> {
    errors: &'a mut Vec<Error>,
    rules: &'a mut Vec<Error>,
}

/// Drops the fields the schema does not name.
fn prune(value: &mut Value, schema: &Node, root: bool) {
    if schema.int_or_string {
        return;
    }
    match value {
        Value::Object(map) => {
            let keep_unknown = schema.preserve_unknown || schema.additional_any;
            let embedded = root || schema.embedded;
            map.retain(|key, _| {
                keep_unknown
                    || schema.property(key).is_some()
                    || schema.additional.is_some()
                    || (embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
            });
            for (key, child) in map.iter_mut() {
                if embedded && key == "metadata" {
                    continue;
                }
                match (schema.property(key), &schema.additional) {
                    (Some(sub), _) => prune(child, sub, false),
                    (None, Some(additional)) => prune(child, additional, false),
                    (None, None) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = &schema.items {
                for item in items {
                    prune(item, sub, false);
                }
            }
        }
        _ => {}
    }
}

/// Fills missing fields that have a `default`. A `null` where the schema
/// does not allow one (no `nullable: true`) counts as missing: it takes the
/// default, or goes when there is none, as the API server prunes such nulls
/// before defaulting.
fn default(value: &mut Value, schema: &Node) {
    match value {
        Value::Object(map) => {
            if schema.has_properties {
                map.retain(|key, child| {
                    !(child.is_null() && schema.property(key).is_some_and(|sub| !sub.nullable && sub.default.is_none()))
                });
                for key in &schema.defaulted {
                    let Some(sub) = schema.property(key) else { continue };
                    let missing = map.get(key).is_none_or(|v| v.is_null() && !sub.nullable);
                    if missing && let Some(d) = &sub.default {
                        map.insert(key.clone(), d.clone());
                    }
                }
                for (key, child) in map.iter_mut() {
                    if let Some(sub) = schema.property(key) {
                        default(child, sub);
                    }
                }
            } else if let Some(additional) = &schema.additional {
                if !additional.nullable {
                    match &additional.default {
                        Some(d) => map.values_mut().filter(|v| v.is_null()).for_each(|v| *v = d.clone()),
                        None => map.retain(|_, v| !v.is_null()),
                    }
                }
                for child in map.values_mut() {
                    default(child, additional);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = &schema.items {
                for item in items {
                    default(item, sub);
                }
            }
        }
        _ => {}
    }
}

/// The JSON type name the API server reports (`integer` for whole numbers).
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(wanted: &str, value: &Value) -> bool {
    let actual = type_name(value);
    actual == wanted || (wanted == "number" && actual == "integer")
}

/// Go's `%v` of a value in `Invalid value: …`: strings quoted, numbers and booleans bare.
fn shown(value: &Value) -> String {
    value.to_string()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The schema every node without one of its own validates against: nothing.
static EMPTY: std::sync::LazyLock<Node> = std::sync::LazyLock::new(Node::default);

fn validate(value: &Value, old: Option<&Value>, schema: &Node, path: &str, found: &mut Found<'_>, root: bool) {
    let errors = &mut *found.errors;
    let invalid = |errors: &mut Vec<Error>, what: &Value, message: String| {
        errors.push(Error {
            field: path.to_owned(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {}: {message}", shown(what)),
        });
    };
    if value.is_null() && schema.nullable {
        return;
    }
    if schema.int_or_string {
        if !(value.is_string() || type_name(value) == "integer") {
            let detail = format!(
                "Invalid value: {:?}: {path} in body must be of type integer,string: {:?}",
                type_name(value),
                type_name(value)
            );
            errors.push(Error { field: path.to_owned(), reason: "FieldValueTypeInvalid", detail });
        }
        return;
    }
    if let Some(wanted) = schema.kind.as_deref()
        && !type_matches(wanted, value)
    {
        let detail = format!(
            "Invalid value: {:?}: {path} in body must be of type {wanted}: {:?}",
            type_name(value),
            type_name(value)
        );
        errors.push(Error { field: path.to_owned(), reason: "FieldValueTypeInvalid", detail });
        check_enum(value, schema, path, errors);
        return;
    }
    check_enum(value, schema, path, errors);
    match value {
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(max) = schema.max_length.filter(|m| length > *m) {
                errors.push(Error {
                    field: path.to_owned(),
                    reason: "FieldValueTooLong",
                    detail: format!("Too long: may not be more than {max} bytes"),
                });
            }
            if let Some(min) = schema.min_length.filter(|m| length < *m) {
                invalid(errors, value, format!("{path} in body should be at least {min} chars long"));
            }
            if let Some((pattern, Some(re))) = &schema.pattern
                && !re.is_match(text)
            {
                invalid(errors, value, format!("{path} in body should match '{pattern}'"));
            }
        }
        Value::Number(n) => check_bounds(value, n.as_f64().unwrap_or(f64::NAN), schema, path, errors),
        Value::Array(items) => {
            if let Some(max) = schema.max_items.filter(|m| items.len() as u64 > *m) {
                errors.push(Error {
                    field: path.to_owned(),
                    reason: "FieldValueTooMany",
                    detail: format!("Too many: {}: must have at most {max} items", items.len()),
                });
            }
            if let Some(min) = schema.min_items.filter(|m| (items.len() as u64) < *m) {
                invalid(errors, value, format!("{path} in body should have at least {min} items"));
            }
            let item_schema = schema.items.as_deref().unwrap_or(&EMPTY);
            for (i, item) in items.iter().enumerate() {
                validate(item, None, item_schema, &format!("{path}[{i}]"), found, false);
            }
        }
        Value::Object(map) => validate_object(map, old, schema, path, found, root),
        _ => {}
    }
    check_rules(value, old, schema, path, found.rules, false);
}

fn check_enum(value: &Value, schema: &Node, path: &str, errors: &mut Vec<Error>) {
    let Some(allowed) = &schema.enumeration else { return };
    if allowed.contains(value) {
        return;
    }
    let listed: Vec<String> = allowed.iter().map(shown).collect();
    errors.push(Error {
        field: path.to_owned(),
        reason: "FieldValueNotSupported",
        detail: format!("Unsupported value: {}: supported values: {}", shown(value), listed.join(", ")),
    });
}

fn check_bounds(value: &Value, n: f64, schema: &Node, path: &str, errors: &mut Vec<Error>) {
    let mut fail = |message: String| {
        errors.push(Error {
            field: path.to_owned(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {}: {message}", shown(value)),
        });
    };
    if let Some((min, shown_min)) = &schema.minimum {
        let exclusive = schema.exclusive_minimum;
        if n < *min || (exclusive && n == *min) {
            let relation = if exclusive { "greater than" } else { "greater than or equal to" };
            fail(format!("{path} in body should be {relation} {shown_min}"));
        }
    }
    if let Some((max, shown_max)) = &schema.maximum {
        let exclusive = schema.exclusive_maximum;
        if n > *max || (exclusive && n == *max) {
            let relation = if exclusive { "less than" } else { "less than or equal to" };
            fail(format!("{path} in body should be {relation} {shown_max}"));
        }
    }
}

fn validate_object(
    map: &Map<String, Value>,
    old: Option<&Value>,
    schema: &Node,
    path: &str,
    found: &mut Found<'_>,
    root: bool,
) {
    for required in &schema.required {
        if !map.contains_key(required) {
            found.errors.push(Error {
                field: join(path, required),
                reason: "FieldValueRequired",
                detail: "Required value".into(),
            });
        }
    }
    for (key, child) in map {
        if (root || schema.embedded) && key == "metadata" {
            continue;
        }
        let sub = match (schema.property(key), &schema.additional) {
            (Some(sub), _) => sub,
            (None, Some(additional)) => additional,
            (None, None) => continue,
        };
        let old_child = old.and_then(|o| o.get(key));
        // The root's apiVersion and kind are not ratcheted (the API server cannot correlate them).
        if old_child == Some(child) && !(root && matches!(key.as_str(), "apiVersion" | "kind")) {
            // Unchanged: its errors are ratcheted; only transition rules run.
            if sub.transition_below {
                unchanged(child, sub, &join(path, key), found.rules);
            }
            continue;
        }
        validate(child, old_child, sub, &join(path, key), found, false);
    }
}

/// The transition rules of a subtree equal to the stored one (`old` is
/// `value`), where [`validate`] would run them: every other error there is
/// ratcheted. Nothing runs under a value of the wrong type (validation
/// stops there) or in list items (not correlated with the stored ones).
fn unchanged(value: &Value, schema: &Node, path: &str, rules: &mut Vec<Error>) {
    if (value.is_null() && schema.nullable) || schema.int_or_string {
        return;
    }
    if schema.kind.as_deref().is_some_and(|wanted| !type_matches(wanted, value)) {
        return;
    }
    if let Value::Object(map) = value {
        for (key, child) in map {
            if schema.embedded && key == "metadata" {
                continue;
            }
            let sub = match (schema.property(key), &schema.additional) {
                (Some(sub), _) => sub,
                (None, Some(additional)) => additional,
                (None, None) => continue,
            };
            if sub.transition_below {
                unchanged(child, sub, &join(path, key), rules);
            }
        }
    }
    check_rules(value, Some(value), schema, path, rules, true);
}

/// Whether a rule is a transition rule (its expression uses `oldSelf`).
fn is_transition(rule: &Value) -> bool {
    rule["rule"].as_str().is_some_and(|r| r.contains("oldSelf"))
}

/// The `x-kubernetes-validations` rules at this node. A failure says the
/// rule's `messageExpression` (when it gives a non-empty string), else its
/// `message`, else `failed rule: <rule>`; at the node's path, or under it by
/// the rule's `fieldPath`; as the error its `reason` names (Invalid unless
/// Forbidden, Required or Duplicate).
/// With `only_transition`, the other rules are skipped (ratcheted).
fn check_rules(
    value: &Value,
    old: Option<&Value>,
    schema: &Node,
    path: &str,
    errors: &mut Vec<Error>,
    only_transition: bool,
) {
    for rule in &schema.rules {
        let expression = rule["rule"].as_str().unwrap_or_default();
        let transition = expression.contains("oldSelf");
        if (transition && old.is_none()) || (only_transition && !transition) {
            // Transition rules run on updates only.
            continue;
        }
        let message = match evaluate(expression, value, old) {
            Ok(true) => continue,
            Ok(false) => rule["messageExpression"]
                .as_str()
                .and_then(|e| evaluate_message(e, value, old))
                .or_else(|| rule["message"].as_str().map(|m| m.trim().to_owned()))
                .unwrap_or_else(|| format!("failed rule: {}", expression.trim())),
            Err(error) => format!("rule compile or evaluation error: {error}"),
        };
        let field = match rule["fieldPath"].as_str().map(|f| f.trim_start_matches('.')).filter(|f| !f.is_empty()) {
            Some(under) => join(path, under),
            None => path.to_owned(),
        };
        // The value shown is the schema's type (`"object"`, `"string"`), as Kubernetes 1.33 words it.
        let shown_type = schema.kind.as_deref().unwrap_or_else(|| type_name(value));
        let (reason, detail) = match rule["reason"].as_str() {
            Some("FieldValueForbidden") => ("FieldValueForbidden", format!("Forbidden: {message}")),
            Some("FieldValueRequired") => ("FieldValueRequired", format!("Required value: {message}")),
            Some("FieldValueDuplicate") => ("FieldValueDuplicate", format!("Duplicate value: {shown_type:?}")),
            _ => ("FieldValueInvalid", format!("Invalid value: {shown_type:?}: {message}")),
        };
        errors.push(Error { field, reason, detail });
    }
}

/// A rule's `messageExpression`: its string, trimmed, when it gives a
/// non-empty one on a single line; else `None` (the API server then falls
/// back to the rule's message).
fn evaluate_message(expression: &str, value: &Value, old: Option<&Value>) -> Option<String> {
    let program = cel::Program::compile(expression).ok()?;
    let mut context = cel::Context::default();
    context.add_variable_from_value("self", crate::admission::to_cel(value));
    if let Some(old) = old {
        context.add_variable_from_value("oldSelf", crate::admission::to_cel(old));
    }
    match program.execute(&context) {
        Ok(cel::Value::String(text)) => {
            let text = text.trim();
            (!text.is_empty() && !text.contains('\n')).then(|| text.to_owned())
        }
        _ => None,
    }
}

/// Runs one rule with `self` (and `oldSelf`).
fn evaluate(expression: &str, value: &Value, old: Option<&Value>) -> Result<bool, String> {
    let program = cel::Program::compile(expression).map_err(|e| e.to_string())?;
    let mut context = cel::Context::default();
    context.add_variable_from_value("self", crate::admission::to_cel(value));
    if let Some(old) = old {
        context.add_variable_from_value("oldSelf", crate::admission::to_cel(old));
    }
    match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("the rule gave {other:?}, not a bool")),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SCHEMA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["image"], "properties": {
                "image": {"type": "string", "pattern": "^[a-z]"},
                "mode": {"type": "string", "enum": ["cluster", "client"], "default": "cluster"},
                "executor": {"type": "object", "properties": {"instances": {"type": "integer", "minimum": 1}}},
                "conf": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            }, "x-kubernetes-validations": [{"rule": "self.image != 'forbidden'", "message": "not that image"}]},
            "status": {"type": "object", "properties": {"state": {"type": "string"}}},
        }})
    });

    fn crd() -> CrdVersion<'static> {
        CrdVersion {
            kind: "SparkJob".into(),
            group: "sparkplane.dev".into(),
            status_subresource: true,
            schema: &SCHEMA,
        }
    }

    fn message(answer: Answer) -> String {
        match answer {
            Answer::Json(code, body) => format!("{code} {}", body["message"].as_str().unwrap_or_default()),
            Answer::Text(code, text) => format!("{code} {text}"),
        }
    }

    #[test]
    fn unknown_fields_are_pruned_and_defaults_filled() {
        let object = json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "metadata": {"name": "x", "labels": {"a": "b"}},
            "spec": {"image": "img", "unknown": 1, "conf": {"k": "v"}, "extra": {"any": {"thing": 1}}},
            "status": {"state": "Running"}, "top": true});
        let admitted = admit(&crd(), object, None, true).expect("valid");
        assert_eq!(
            admitted,
            json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "metadata": {"name": "x", "labels": {"a": "b"}},
                   "spec": {"image": "img", "mode": "cluster", "conf": {"k": "v"}, "extra": {"any": {"thing": 1}}}})
        );
    }

    #[test]
    fn a_wrong_type_is_refused_in_the_api_servers_words() {
        let object = json!({"metadata": {"name": "x"}, "spec": {"image": "img", "executor": {"instances": "two"}}});
        assert_eq!(
            message(admit(&crd(), object, None, true).expect_err("refused")),
            "422 SparkJob.sparkplane.dev \"x\" is invalid: [spec.executor.instances: Invalid value: \"string\": \
             spec.executor.instances in body must be of type integer: \"string\", <nil>: Invalid value: \"null\": \
             some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]"
        );
        let object = json!({"metadata": {"name": "x"}, "spec": {"mode": "local", "executor": {"instances": 0}}});
        assert_eq!(
            message(admit(&crd(), object, None, true).expect_err("refused")),
            "422 SparkJob.sparkplane.dev \"x\" is invalid: [spec.image: Required value, \
             spec.executor.instances: Invalid value: 0: spec.executor.instances in body should be greater than or equal to 1, \
             spec.mode: Unsupported value: \"local\": supported values: \"cluster\", \"client\", \
             <nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; \
             correct the existing errors to complete validation]"
        );
    }

    #[test]
    fn a_null_the_schema_does_not_allow_takes_the_default_or_goes() {
        let object = json!({"metadata": {"name": "x"},
            "spec": {"image": "img", "mode": null, "executor": null, "conf": {"k": null, "j": "v"}}});
        let admitted = admit(&crd(), object, None, true).expect("valid");
        assert_eq!(admitted["spec"], json!({"image": "img", "mode": "cluster", "conf": {"j": "v"}}));
    }

    #[test]
    fn transition_rules_compare_with_the_stored_object_on_updates_only() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "size": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "self >= oldSelf", "message": "may only grow"},
                {"rule": "self <= 100"},
            ]},
        }}}});
        let crd = CrdVersion {
            kind: "Volume".into(),
            group: "example.dev".into(),
            status_subresource: false,
            schema: &schema,
        };
        let job = |size: i64| json!({"metadata": {"name": "v"}, "spec": {"size": size}});
        assert!(admit(&crd, job(5), None, true).is_ok(), "no oldSelf on a create");
        assert!(admit(&crd, job(6), Some(&job(5)), false).is_ok());
        assert_eq!(
            message(admit(&crd, job(4), Some(&job(5)), false).expect_err("refused")),
            "422 Volume.example.dev \"v\" is invalid: spec.size: Invalid value: \"integer\": may only grow"
        );
        assert_eq!(
            message(admit(&crd, job(101), None, true).expect_err("refused")),
            "422 Volume.example.dev \"v\" is invalid: spec.size: Invalid value: \"integer\": failed rule: self <= 100"
        );
        let unset = json!({"metadata": {"name": "v"}, "spec": {}});
        assert!(admit(&crd, job(4), Some(&unset), false).is_ok(), "no old value: the transition rule is skipped");
    }

    #[test]
    fn a_rule_words_its_failure_by_message_expression_field_path_and_reason() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
        "properties": {"ports": {"type": "array", "items": {"type": "string"}}, "name": {"type": "string"}},
        "x-kubernetes-validations": [
            {"rule": "self.ports.size() <= 2", "messageExpression": "'at most 2 ports, not ' + string(self.ports.size())",
             "fieldPath": ".ports", "reason": "FieldValueForbidden"},
            {"rule": "self.name != 'x'", "messageExpression": "''", "message": " no x ", "reason": "FieldValueRequired"},
            {"rule": "self.name != 'x'", "reason": "FieldValueDuplicate"},
        ]}}});
        let crd =
            CrdVersion { kind: "Box".into(), group: "example.dev".into(), status_subresource: false, schema: &schema };
        let object = json!({"metadata": {"name": "b"}, "spec": {"ports": ["a", "b", "c"], "name": "x"}});
        let refused = admit(&crd, object, None, true).expect_err("refused");
        let Answer::Json(422, body) = refused else { panic!("422: {refused:?}") };
        assert_eq!(
            body["message"],
            "Box.example.dev \"b\" is invalid: [spec.ports: Forbidden: at most 2 ports, not 3, \
             spec: Required value: no x, spec: Duplicate value: \"object\"]"
        );
        let reasons: Vec<&str> =
            body["details"]["causes"].as_array().into_iter().flatten().filter_map(|c| c["reason"].as_str()).collect();
        assert_eq!(reasons, ["FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"]);
    }

    #[test]
    fn cel_rules_run_with_self() {
        let object = json!({"metadata": {"name": "x"}, "spec": {"image": "forbidden"}});
        assert_eq!(
            message(admit(&crd(), object, None, true).expect_err("refused")),
            "422 SparkJob.sparkplane.dev \"x\" is invalid: spec: Invalid value: \"object\": not that image"
        );
    }

    /// Updates ratchet (KEP-4008): a status write over a stored spec is
    /// admitted whatever the spec holds, its status still validated in the
    /// same words; a spec write is validated where it changed, and a
    /// changed object's own checks and rules run over its unchanged fields.
    #[test]
    fn updates_ratchet_the_errors_of_unchanged_fields_only() {
        // Stored before the schema said so (an old CRD version, or kubectl's --validate=false of a looser one).
        let stored = json!({"metadata": {"name": "x"},
            "spec": {"image": "forbidden", "mode": "cluster", "executor": {"instances": 0}}});
        let with_status = |status: Value| {
            let mut new = stored.clone();
            new["status"] = status;
            new
        };
        let cases: [(&str, Value, Result<(), &str>); 5] = [
            ("a status write over the stored spec", with_status(json!({"state": "Running"})), Ok(())),
            (
                "an invalid status",
                with_status(json!({"state": 3})),
                Err("422 SparkJob.sparkplane.dev \"x\" is invalid: [status.state: Invalid value: \"integer\": \
                     status.state in body must be of type string: \"integer\", <nil>: Invalid value: \"null\": \
                     some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]"),
            ),
            (
                "a changed field of the spec",
                json!({"metadata": {"name": "x"}, "spec": {"image": "forbidden", "executor": {"instances": -1}}}),
                // A bound is not blocking: the spec's rule runs too, over its unchanged image.
                Err("422 SparkJob.sparkplane.dev \"x\" is invalid: [spec.executor.instances: Invalid value: -1: \
                     spec.executor.instances in body should be greater than or equal to 1, \
                     spec: Invalid value: \"object\": not that image]"),
            ),
            (
                "the spec changed beside an unchanged invalid field: the spec's rule runs, the field's bound is ratcheted",
                json!({"metadata": {"name": "x"}, "spec": {"image": "forbidden", "mode": "client", "executor": {"instances": 0}}}),
                Err("422 SparkJob.sparkplane.dev \"x\" is invalid: spec: Invalid value: \"object\": not that image"),
            ),
            (
                "the image changed to a valid one",
                json!({"metadata": {"name": "x"}, "spec": {"image": "img", "executor": {"instances": 0}}}),
                Ok(()),
            ),
        ];
        for (what, new, expected) in cases {
            let got = admit(&crd(), new, Some(&stored), false).map(|_| ()).map_err(message);
            assert_eq!(got, expected.map_err(str::to_owned), "{what}");
        }
        // A create has nothing to ratchet against.
        assert!(admit(&crd(), stored.clone(), None, true).is_err());
    }

    /// Transition rules are not ratcheted: they run in an unchanged subtree too.
    #[test]
    fn transition_rules_run_over_unchanged_fields() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"lease": {"type": "object",
                "properties": {"holder": {"type": "string"}},
                "x-kubernetes-validations": [{"rule": "self.holder != oldSelf.holder", "message": "must move on"}]}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        }});
        let crd =
            CrdVersion { kind: "Lease".into(), group: "example.dev".into(), status_subresource: true, schema: &schema };
        let stored = json!({"metadata": {"name": "l"}, "spec": {"lease": {"holder": "a"}}});
        let mut status_write = stored.clone();
        status_write["status"] = json!({"ready": true});
        assert_eq!(
            admit(&crd, status_write, Some(&stored), false).map(|_| ()).map_err(message),
            Err("422 Lease.example.dev \"l\" is invalid: spec.lease: Invalid value: \"object\": must move on"
                .to_owned())
        );
        let moved = json!({"metadata": {"name": "l"}, "spec": {"lease": {"holder": "b"}}});
        assert!(admit(&crd, moved, Some(&stored), false).is_ok());
    }

    /// For objects the schema admits, ratcheting changes nothing: each
    /// Kubeflow example, stored, takes a status write (and a label) the same
    /// with the stored spec as with no stored object to compare with.
    #[test]
    fn a_status_write_over_an_admitted_kubeflow_spec_is_admitted_as_without_ratcheting() {
        let mut apps = 0;
        each_kubeflow_example(|crd, compiled, path, app| {
            let Ok(stored) = admit_compiled(crd, compiled, app, None, true) else { return };
            for status in [
                json!({"applicationState": {"state": "RUNNING"}, "driverInfo": {"podName": "d"}}),
                json!({"applicationState": {"state": 7}}),
                json!({"applicationState": {"state": "RUNNING"}, "executorState": {"e-1": ["RUNNING"]}}),
            ] {
                let mut new = stored.clone();
                new["status"] = status;
                new["metadata"]["labels"]["sparkplane.dev/operator"] = json!("sparkplane");
                let ratcheted = admit_compiled(crd, compiled, new.clone(), Some(&stored), false).map_err(message);
                let whole = admit_compiled(crd, compiled, new, Some(&json!({})), false).map_err(message);
                assert_eq!(ratcheted, whole, "{}", path.display());
            }
            apps += 1;
        });
        assert!(apps >= 10, "the examples were admitted: {apps}");
    }

    /// The schema walk admission did before it was compiled (pruning and
    /// defaults straight off the schema's JSON), kept to check the compiled
    /// one gives the same objects.
    mod reference {
        use serde_json::{Value, json};

        pub fn prune(value: &mut Value, schema: &Value, root: bool) {
            if schema["x-kubernetes-int-or-string"] == json!(true) {
                return;
            }
            match value {
                Value::Object(map) => {
                    let properties = schema["properties"].as_object();
                    let additional = &schema["additionalProperties"];
                    let keep_unknown =
                        schema["x-kubernetes-preserve-unknown-fields"] == json!(true) || *additional == json!(true);
                    let embedded = root || schema["x-kubernetes-embedded-resource"] == json!(true);
                    map.retain(|key, _| {
                        keep_unknown
                            || properties.is_some_and(|p| p.contains_key(key))
                            || additional.is_object()
                            || (embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                    });
                    for (key, child) in map.iter_mut() {
                        if embedded && key == "metadata" {
                            continue;
                        }
                        match properties.and_then(|p| p.get(key)) {
                            Some(sub) => prune(child, sub, false),
                            None if additional.is_object() => prune(child, additional, false),
                            None => {}
                        }
                    }
                }
                Value::Array(items) if schema["items"].is_object() => {
                    for item in items {
                        prune(item, &schema["items"], false);
                    }
                }
                _ => {}
            }
        }

        pub fn default(value: &mut Value, schema: &Value) {
            match value {
                Value::Object(map) => {
                    if let Some(properties) = schema["properties"].as_object() {
                        map.retain(|key, child| {
                            !(child.is_null()
                                && properties
                                    .get(key)
                                    .is_some_and(|sub| sub["nullable"] != json!(true) && sub.get("default").is_none()))
                        });
                        for (key, sub) in properties {
                            let missing = map.get(key).is_none_or(|v| v.is_null() && sub["nullable"] != json!(true));
                            if missing && let Some(d) = sub.get("default") {
                                map.insert(key.clone(), d.clone());
                            }
                        }
                        for (key, child) in map.iter_mut() {
                            if let Some(sub) = properties.get(key) {
                                default(child, sub);
                            }
                        }
                    } else if schema["additionalProperties"].is_object() {
                        let additional = &schema["additionalProperties"];
                        if additional["nullable"] != json!(true) {
                            match additional.get("default") {
                                Some(d) => map.values_mut().filter(|v| v.is_null()).for_each(|v| *v = d.clone()),
                                None => map.retain(|_, v| !v.is_null()),
                            }
                        }
                        for child in map.values_mut() {
                            default(child, additional);
                        }
                    }
                }
                Value::Array(items) if schema["items"].is_object() => {
                    for item in items {
                        default(item, &schema["items"]);
                    }
                }
                _ => {}
            }
        }
    }

    fn repo_file(path: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
    }

    /// The file's YAML documents (none for the one example that is a template, not YAML).
    fn documents(path: &std::path::Path) -> Vec<Value> {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let source = sparkplane_documents::Source::new(path.display().to_string(), text);
        let docs = sparkplane_documents::yaml::parse_documents(&source).unwrap_or_default();
        docs.iter().map(|d| d.to_json()).collect()
    }

    /// Kubeflow's vendored SparkApplication CRD (its served version's
    /// schema, compiled) and every SparkApplication of the vendored Kubeflow
    /// examples, given to `each` in file order with the file it came from.
    fn each_kubeflow_example(mut each: impl FnMut(&CrdVersion<'_>, &Compiled, &std::path::Path, Value)) {
        let file = "charts/sparkplane/files/kubeflow/sparkoperator.k8s.io_sparkapplications.yaml";
        let crd_object =
            documents(&repo_file(file)).into_iter().find(|d| d["kind"] == "CustomResourceDefinition").expect("CRD");
        let schema = &crd_object["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let compiled = Compiled::new(schema);
        let crd = CrdVersion {
            kind: "SparkApplication".into(),
            group: "sparkoperator.k8s.io".into(),
            schema,
            status_subresource: true,
        };
        let dir = repo_file("crates/sparkplane/tests/data/kubeflow-examples");
        let mut files: Vec<_> =
            std::fs::read_dir(&dir).expect("examples").filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
            for app in documents(path).into_iter().filter(|d| d["kind"] == "SparkApplication") {
                each(&crd, &compiled, path, app);
            }
        }
    }

    /// Every vendored Kubeflow example (and each with unknown fields and
    /// nulls added, so pruning and defaulting have work) is pruned and
    /// defaulted by the compiled schema exactly as the schema walk did, and
    /// admitted as before.
    #[test]
    fn the_compiled_kubeflow_schema_prunes_and_defaults_the_examples_as_the_schema_walk_did() {
        let mut apps = 0;
        each_kubeflow_example(|crd, compiled, path, app| {
            let schema = crd.schema;
            let mut noisy = app.clone();
            noisy["spec"]["unknownField"] = json!({"a": 1});
            noisy["spec"]["driver"]["notAField"] = json!(true);
            noisy["spec"]["mode"] = Value::Null;
            noisy["spec"]["sparkConf"] = json!({"spark.a": "1", "spark.b": null});
            noisy["spec"]["restartPolicy"] = json!({"type": null, "extra": 2});
            noisy["status"] = json!({"applicationState": {"state": "RUNNING", "other": 1}});
            for object in [app, noisy] {
                let mut expected = object.clone();
                reference::prune(&mut expected, schema, true);
                reference::default(&mut expected, schema);
                let mut got = object.clone();
                prune(&mut got, &compiled.root, true);
                default(&mut got, &compiled.root);
                assert_eq!(got, expected, "{}", path.display());
                // Admission is that, then validation: what it admits is the same object.
                if let Ok(admitted) = admit_compiled(crd, compiled, object, None, false) {
                    assert_eq!(admitted, expected, "{}", path.display());
                }
            }
            apps += 1;
        });
        assert!(apps >= 10, "the examples were read: {apps}");
    }
}
