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
//! A rule's failure is worded by its `messageExpression`, `message`,
//! `fieldPath` and `reason` as the API server words it.
//!
//! What it does not do: `format`, `anyOf`/`oneOf`/`allOf`/`not`,
//! `optionalOldSelf`, CEL cost limits and Kubernetes' CEL libraries,
//! ratcheting, conversion between versions.
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

/// Prunes, defaults and validates `object` (an update's `old` feeds the
/// transition rules); the admitted object or the refusal.
pub fn admit(crd: &CrdVersion<'_>, mut object: Value, old: Option<&Value>, create: bool) -> Result<Value, Answer> {
    if create
        && crd.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    prune(&mut object, crd.schema, true);
    default(&mut object, crd.schema);
    let mut errors = Vec::new();
    let mut rule_errors = Vec::new();
    validate(&object, old, crd.schema, "", &mut Found { errors: &mut errors, rules: &mut rule_errors }, true);
    // Rules run on an object the schema admits; otherwise the API server says they did not run.
    if errors.iter().any(|e| BLOCKING.contains(&e.reason)) {
        if has_rules(crd.schema) {
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

fn preserves_unknown(schema: &Value) -> bool {
    schema["x-kubernetes-preserve-unknown-fields"] == json!(true)
}

/// Drops the fields the schema does not name.
fn prune(value: &mut Value, schema: &Value, root: bool) {
    if schema["x-kubernetes-int-or-string"] == json!(true) {
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            let additional = &schema["additionalProperties"];
            let keep_unknown = preserves_unknown(schema) || *additional == json!(true);
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

/// Fills missing fields that have a `default`. A `null` where the schema
/// does not allow one (no `nullable: true`) counts as missing: it takes the
/// default, or goes when there is none, as the API server prunes such nulls
/// before defaulting.
fn default(value: &mut Value, schema: &Value) {
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

fn validate(value: &Value, old: Option<&Value>, schema: &Value, path: &str, found: &mut Found<'_>, root: bool) {
    let errors = &mut *found.errors;
    let invalid = |errors: &mut Vec<Error>, what: &Value, message: String| {
        errors.push(Error {
            field: path.to_owned(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {}: {message}", shown(what)),
        });
    };
    if value.is_null() && schema["nullable"] == json!(true) {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == json!(true) {
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
    if let Some(wanted) = schema["type"].as_str()
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
            if let Some(max) = schema["maxLength"].as_u64().filter(|m| length > *m) {
                errors.push(Error {
                    field: path.to_owned(),
                    reason: "FieldValueTooLong",
                    detail: format!("Too long: may not be more than {max} bytes"),
                });
            }
            if let Some(min) = schema["minLength"].as_u64().filter(|m| length < *m) {
                invalid(errors, value, format!("{path} in body should be at least {min} chars long"));
            }
            if let Some(pattern) = schema["pattern"].as_str()
                && regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(text))
            {
                invalid(errors, value, format!("{path} in body should match '{pattern}'"));
            }
        }
        Value::Number(n) => check_bounds(value, n.as_f64().unwrap_or(f64::NAN), schema, path, errors),
        Value::Array(items) => {
            if let Some(max) = schema["maxItems"].as_u64().filter(|m| items.len() as u64 > *m) {
                errors.push(Error {
                    field: path.to_owned(),
                    reason: "FieldValueTooMany",
                    detail: format!("Too many: {}: must have at most {max} items", items.len()),
                });
            }
            if let Some(min) = schema["minItems"].as_u64().filter(|m| (items.len() as u64) < *m) {
                invalid(errors, value, format!("{path} in body should have at least {min} items"));
            }
            for (i, item) in items.iter().enumerate() {
                validate(item, None, &schema["items"], &format!("{path}[{i}]"), found, false);
            }
        }
        Value::Object(map) => validate_object(map, old, schema, path, found, root),
        _ => {}
    }
    check_rules(value, old, schema, path, found.rules);
}

fn check_enum(value: &Value, schema: &Value, path: &str, errors: &mut Vec<Error>) {
    let Some(allowed) = schema["enum"].as_array() else { return };
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

fn check_bounds(value: &Value, n: f64, schema: &Value, path: &str, errors: &mut Vec<Error>) {
    let mut fail = |message: String| {
        errors.push(Error {
            field: path.to_owned(),
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {}: {message}", shown(value)),
        });
    };
    if let Some(min) = schema["minimum"].as_f64() {
        let exclusive = schema["exclusiveMinimum"] == json!(true);
        if n < min || (exclusive && n == min) {
            let relation = if exclusive { "greater than" } else { "greater than or equal to" };
            fail(format!("{path} in body should be {relation} {}", schema["minimum"]));
        }
    }
    if let Some(max) = schema["maximum"].as_f64() {
        let exclusive = schema["exclusiveMaximum"] == json!(true);
        if n > max || (exclusive && n == max) {
            let relation = if exclusive { "less than" } else { "less than or equal to" };
            fail(format!("{path} in body should be {relation} {}", schema["maximum"]));
        }
    }
}

fn validate_object(
    map: &Map<String, Value>,
    old: Option<&Value>,
    schema: &Value,
    path: &str,
    found: &mut Found<'_>,
    root: bool,
) {
    for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !map.contains_key(required) {
            found.errors.push(Error {
                field: join(path, required),
                reason: "FieldValueRequired",
                detail: "Required value".into(),
            });
        }
    }
    let properties = schema["properties"].as_object();
    for (key, child) in map {
        if (root || schema["x-kubernetes-embedded-resource"] == json!(true)) && key == "metadata" {
            continue;
        }
        let sub = match properties.and_then(|p| p.get(key)) {
            Some(sub) => sub,
            None if schema["additionalProperties"].is_object() => &schema["additionalProperties"],
            None => continue,
        };
        let old_child = old.and_then(|o| o.get(key));
        validate(child, old_child, sub, &join(path, key), found, false);
    }
}

/// The `x-kubernetes-validations` rules at this node. A failure says the
/// rule's `messageExpression` (when it gives a non-empty string), else its
/// `message`, else `failed rule: <rule>`; at the node's path, or under it by
/// the rule's `fieldPath`; as the error its `reason` names (Invalid unless
/// Forbidden, Required or Duplicate).
fn check_rules(value: &Value, old: Option<&Value>, schema: &Value, path: &str, errors: &mut Vec<Error>) {
    for rule in schema["x-kubernetes-validations"].as_array().into_iter().flatten() {
        let expression = rule["rule"].as_str().unwrap_or_default();
        let transition = expression.contains("oldSelf");
        if transition && old.is_none() {
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
        let shown_type = schema["type"].as_str().unwrap_or_else(|| type_name(value));
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
}
