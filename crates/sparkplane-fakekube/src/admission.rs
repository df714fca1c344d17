//! ValidatingAdmissionPolicy, as the API server applies it to a write:
//! every stored policy (`admissionregistration.k8s.io/v1`) whose
//! `matchConstraints.resourceRules` match the request, bound by a stored
//! binding whose `matchResources.namespaceSelector` selects the object's
//! namespace, has each `validations[].expression` evaluated with CEL over
//! `object` and `oldObject`. A binding with the `Deny` action refuses the
//! write (422 Invalid, the API server's wording); `Warn` and `Audit` let it
//! through.
//!
//! What it does not do (said in docs/guide.md too): parameters (`paramKind`,
//! `paramRef`), `matchConditions`, `variables`, `auditAnnotations`,
//! `messageExpression`, `excludeResourceRules`, object selectors, type
//! checking and cost limits, and Kubernetes' CEL libraries beyond the
//! standard ones (`quantity()`, `url()`, `isSorted()` …). Integers reach CEL
//! as `int`, as the API server gives them for a schema's integer fields.
//! CEL itself is the `cel` crate's, not Kubernetes' cel-go.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::answer::{Answer, status};
use crate::resources::ResourcePath;

/// The objects admission reads: policies, bindings and namespaces.
pub struct Policies<'a> {
    /// `validatingadmissionpolicies`.
    pub policies: Vec<&'a Value>,
    /// `validatingadmissionpolicybindings`.
    pub bindings: Vec<&'a Value>,
    /// The namespace object of the write, if any.
    pub namespace: Option<&'a Value>,
}

/// A write being admitted.
pub struct Request<'a> {
    /// Where it goes.
    pub path: &'a ResourcePath,
    /// `CREATE` or `UPDATE`.
    pub operation: &'a str,
    /// The object after the write.
    pub object: &'a Value,
    /// The object before it (updates).
    pub old: Option<&'a Value>,
}

/// `Ok` to let the write through, or the refusal.
pub fn admit(policies: &Policies<'_>, request: &Request<'_>) -> Result<(), Answer> {
    for policy in &policies.policies {
        if !matches_resource(&policy["spec"]["matchConstraints"], request) {
            continue;
        }
        let Some(policy_name) = policy["metadata"]["name"].as_str() else { continue };
        let bindings = policies.bindings.iter().filter(|b| b["spec"]["policyName"].as_str() == Some(policy_name));
        for binding in bindings {
            if !selects(&binding["spec"]["matchResources"]["namespaceSelector"], policies.namespace) {
                continue;
            }
            let actions: Vec<&str> = binding["spec"]["validationActions"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !actions.contains(&"Deny") {
                continue;
            }
            let binding_name = binding["metadata"]["name"].as_str().unwrap_or_default();
            let fail_closed = policy["spec"]["failurePolicy"].as_str() != Some("Ignore");
            let validations = policy["spec"]["validations"].as_array().map(Vec::as_slice).unwrap_or_default();
            for validation in validations {
                let expression = validation["expression"].as_str().unwrap_or_default();
                let failure = match evaluate(expression, request.object, request.old) {
                    Ok(true) => continue,
                    Ok(false) => validation["message"]
                        .as_str()
                        .map_or_else(|| format!("failed expression: {expression}"), str::to_owned),
                    Err(error) if fail_closed => format!("expression '{expression}' resulted in error: {error}"),
                    Err(_) => continue,
                };
                return Err(refusal(request, policy_name, binding_name, &failure));
            }
        }
    }
    Ok(())
}

fn refusal(request: &Request<'_>, policy: &str, binding: &str, message: &str) -> Answer {
    let name = request.object["metadata"]["name"].as_str().unwrap_or_default();
    let path = request.path;
    let resource = if path.group.is_empty() { path.plural.clone() } else { format!("{}.{}", path.plural, path.group) };
    let cause = format!("ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {message}");
    // One cause with an empty field: kubectl prints `The <plural> "<name>" is invalid: : <cause>`.
    status(
        422,
        "Invalid",
        format!("{resource} \"{name}\" is invalid: : {cause}"),
        json!({"name": name, "group": path.group, "kind": path.plural,
               "causes": [{"reason": "FieldValueInvalid", "message": cause, "field": ""}]}),
    )
}

fn matches_resource(constraints: &Value, request: &Request<'_>) -> bool {
    let rules = constraints["resourceRules"].as_array().map(Vec::as_slice).unwrap_or_default();
    let has = |list: &Value, wanted: &str| {
        list.as_array().is_some_and(|l| l.iter().any(|v| v.as_str() == Some("*") || v.as_str() == Some(wanted)))
    };
    rules.iter().any(|rule| {
        has(&rule["apiGroups"], &request.path.group)
            && has(&rule["apiVersions"], &request.path.version)
            && has(&rule["operations"], request.operation)
            && has(&rule["resources"], &request.path.plural)
    }) && selects(&constraints["namespaceSelector"], None)
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects an
/// object's labels; an absent or empty selector selects everything.
pub fn selects(selector: &Value, object: Option<&Value>) -> bool {
    let empty = serde_json::Map::new();
    let labels = object.and_then(|o| o["metadata"]["labels"].as_object()).unwrap_or(&empty);
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let wanted = selector["matchLabels"].as_object().into_iter().flatten();
    if wanted.into_iter().any(|(k, v)| label(k) != v.as_str()) {
        return false;
    }
    let expressions = selector["matchExpressions"].as_array().map(Vec::as_slice).unwrap_or_default();
    expressions.iter().all(|e| {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        match e["operator"].as_str() {
            Some("In") => label(key).is_some_and(|v| values.contains(&v)),
            Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
            Some("Exists") => label(key).is_some(),
            Some("DoesNotExist") => label(key).is_none(),
            _ => false,
        }
    })
}

/// Evaluates one validation expression over `object` (and `oldObject`); it must give a bool.
pub fn evaluate(expression: &str, object: &Value, old: Option<&Value>) -> Result<bool, String> {
    let program = cel::Program::compile(expression).map_err(|e| format!("compilation failed: {e}"))?;
    let mut context = cel::Context::default();
    context.add_variable_from_value("object", to_cel(object));
    context.add_variable_from_value("oldObject", old.map_or(cel::Value::Null, to_cel));
    match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("the expression gave {other:?}, not a bool")),
        Err(e) => Err(e.to_string()),
    }
}

/// JSON to CEL as the API server converts a structural object: integers
/// are `int`, other numbers `double`, objects maps with string keys.
pub(crate) fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(s.clone().into()),
        Value::Array(items) => cel::Value::List(items.iter().map(to_cel).collect::<Vec<_>>().into()),
        Value::Object(map) => {
            let entries: HashMap<String, cel::Value> = map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::Map(entries.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> ResourcePath {
        match crate::resources::route("/apis/sparkplane.dev/v1alpha1/namespaces/data-eng/sparkjobs") {
            crate::resources::Route::Resource(p) => p,
            other => panic!("not a resource path: {other:?}"),
        }
    }

    fn policy() -> Value {
        json!({
            "metadata": {"name": "p"},
            "spec": {
                "matchConstraints": {"resourceRules": [{
                    "apiGroups": ["sparkplane.dev"], "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["sparkjobs"],
                }]},
                "validations": [
                    {"expression": "has(object.spec.team)", "message": "a team, please"},
                    {"expression": "!has(object.spec.executor) || object.spec.executor.cores <= 5"},
                ],
            },
        })
    }

    fn binding(actions: &[&str], selector: Value) -> Value {
        json!({"metadata": {"name": "b"}, "spec": {
            "policyName": "p", "validationActions": actions, "matchResources": {"namespaceSelector": selector},
        }})
    }

    fn job(spec: Value) -> Value {
        json!({"kind": "SparkJob", "metadata": {"name": "j", "namespace": "data-eng"}, "spec": spec})
    }

    fn run(binding: &Value, namespace: Option<&Value>, object: &Value) -> Result<(), String> {
        let policy = policy();
        let policies = Policies { policies: vec![&policy], bindings: vec![binding], namespace };
        let path = path();
        let request = Request { path: &path, operation: "CREATE", object, old: None };
        admit(&policies, &request).map_err(|answer| match answer {
            Answer::Json(code, body) => format!("{code} {}", body["message"].as_str().unwrap_or_default()),
            Answer::Text(code, text) => format!("{code} {text}"),
        })
    }

    #[test]
    fn a_deny_binding_refuses_with_the_api_servers_words() {
        let deny = binding(&["Deny"], json!({}));
        assert_eq!(run(&deny, None, &job(json!({"team": "a", "executor": {"cores": 4}}))), Ok(()));
        assert_eq!(
            run(&deny, None, &job(json!({"executor": {"cores": 4}}))),
            Err("422 sparkjobs.sparkplane.dev \"j\" is invalid: : ValidatingAdmissionPolicy 'p' with binding 'b' denied request: a team, please".into())
        );
        let refused = run(&deny, None, &job(json!({"team": "a", "executor": {"cores": 8}})));
        assert!(
            refused.as_ref().is_err_and(|e| e.ends_with(
                "denied request: failed expression: !has(object.spec.executor) || object.spec.executor.cores <= 5"
            )),
            "{refused:?}"
        );
    }

    #[test]
    fn warn_and_unselected_namespaces_let_the_write_through() {
        let bad = job(json!({}));
        assert_eq!(run(&binding(&["Warn", "Audit"], json!({})), None, &bad), Ok(()));
        let prod_only = binding(&["Deny"], json!({"matchLabels": {"sparkplane.dev/environment": "prod"}}));
        let dev = json!({"metadata": {"name": "data-eng", "labels": {"sparkplane.dev/environment": "dev"}}});
        let prod = json!({"metadata": {"name": "data-eng", "labels": {"sparkplane.dev/environment": "prod"}}});
        assert_eq!(run(&prod_only, Some(&dev), &bad), Ok(()));
        assert!(run(&prod_only, Some(&prod), &bad).is_err());
    }

    #[test]
    fn an_expression_that_errors_fails_closed() {
        let deny = binding(&["Deny"], json!({}));
        let refused = run(&deny, None, &job(json!({"team": "a", "executor": {"cores": "many"}})));
        assert!(refused.as_ref().is_err_and(|e| e.contains("resulted in error")), "{refused:?}");
    }

    #[test]
    fn selectors_take_match_labels_and_expressions() {
        let ns = json!({"metadata": {"labels": {"env": "prod", "team": "a"}}});
        assert!(selects(&json!({}), Some(&ns)));
        assert!(selects(
            &json!({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}),
            Some(&ns)
        ));
        assert!(!selects(
            &json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}),
            Some(&ns)
        ));
        assert!(selects(&json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}), Some(&ns)));
        assert!(!selects(&json!({"matchLabels": {"team": "b"}}), Some(&ns)));
        assert!(!selects(&json!({"matchLabels": {"team": "a"}}), None));
    }
}
