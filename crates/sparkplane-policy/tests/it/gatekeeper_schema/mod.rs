//! The Gatekeeper export checked against the ConstraintTemplate v1 schema:
//! `template.schema.json` is the CRD's `openAPIV3Schema` (apiVersion, kind,
//! metadata; spec.crd.spec.names.kind/shortNames,
//! spec.crd.spec.validation.{legacySchema, openAPIV3Schema};
//! spec.targets[].{target, rego, libs}), made strict: where the API server
//! would prune an unknown field silently, this refuses it, so a misspelt
//! field cannot vanish on apply.
//!
//! The export builds these shapes itself, so the check belongs to the tests
//! (jsonschema is a dev-dependency); what a policy id can get wrong is
//! checked by the export (`gatekeeper::template_problems`).

use serde_json::Value;
use sparkplane_policy::gatekeeper;

const TEMPLATE_SCHEMA: &str = include_str!("template.schema.json");

/// A template's problems under the ConstraintTemplate schema and the
/// export's own rules, as `path: what` lines.
pub fn schema_problems(template: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(TEMPLATE_SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut problems: Vec<String> =
        validator.iter_errors(template).map(|e| format!("{}: {e}", e.instance_path())).collect();
    for problem in gatekeeper::template_problems(template) {
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    problems
}

/// A Constraint's problems: the export's own checks, and `spec.parameters`
/// under the template's `openAPIV3Schema`.
pub fn constraint_problems(constraint: &Value, template: &Value) -> Vec<String> {
    let mut problems = gatekeeper::constraint_problems(constraint, template);
    let schema = &template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"];
    if let Some(parameters) = constraint["spec"].get("parameters") {
        let validator = jsonschema::validator_for(schema).expect("the parameter schema compiles");
        problems
            .extend(validator.iter_errors(parameters).map(|e| format!("/spec/parameters{}: {e}", e.instance_path())));
    }
    problems
}

#[test]
fn a_policy_id_too_long_for_a_template_name_is_refused_in_the_schema_s_words() {
    use sparkplane_api::layer::EnvironmentPolicy;
    use sparkplane_policy::rego::{RegoFile, RegoPolicies};

    let package = "a_policy_whose_name_goes_on_and_on_and_on_past_what_gatekeeper_takes";
    let text = format!(
        "package sparkplane.{package}\n\nimport rego.v1\n\ndeny contains msg if {{\n\tsome o in input.objects\n\tmsg := o.kind\n}}\n"
    );
    let rego = RegoPolicies::load(&[RegoFile::new("policies/long.rego", text)]).expect("loads");
    let err = gatekeeper::export(&rego, &EnvironmentPolicy::default(), None).expect_err("the name is too long");
    let name = gatekeeper::kind_of(&package.replace('_', "-")).to_ascii_lowercase();
    let limit = serde_json::json!({"type": "string", "maxLength": gatekeeper::MAX_TEMPLATE_NAME});
    let validator = jsonschema::validator_for(&limit).expect("compiles");
    let said: Vec<String> = validator.iter_errors(&Value::from(name.as_str())).map(|e| e.to_string()).collect();
    assert_eq!(said.len(), 1);
    let expected = format!("policies/long.rego: /metadata/name: {}", said[0]);
    assert!(err.to_string().contains(&expected), "{err}\nexpected: {expected}");
}
