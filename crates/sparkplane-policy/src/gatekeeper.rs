//! The Gatekeeper export: every Rego policy as a ConstraintTemplate
//! (`templates.gatekeeper.sh/v1`) and a Constraint per rule kind it
//! declares (`deny`, `warn`), carrying the same Rego the CLI evaluates, for
//! in-cluster enforcement.
//!
//! Owns: the shim that lets one Rego file serve both places, the object
//! shapes, and the checks a policy can fail — a template name Gatekeeper
//! accepts, and Rego compiled and evaluated once with regorus — before
//! anything is returned. The shapes themselves are fixed here and checked
//! against the ConstraintTemplate CRD's schema in the tests (jsonschema is a
//! dev-dependency only).
//! Must not read files or write output ([`export_checked`] takes the
//! policies the caller read).
//!
//! The shim: the user's file goes into the template's `libs` with its
//! package renamed under `lib.` (Gatekeeper's rule for libraries); the
//! template's own Rego builds the sparkplane input shape from the admission
//! review — `{"objects": [input.review.object], "environment":
//! input.parameters.environment, "admission": true}`, no `job`, no `tenant` —
//! and evaluates the rule the Constraint's `parameters.rule` names (`deny`
//! or `warn`) `with input as` that shape, reporting each finding as
//! `violation[{"msg": msg}]`. Rules over `input.objects` therefore hold in
//! both places; rules over `input.job` only in the CLI.
//!
//! Gatekeeper gives one `enforcementAction` per Constraint, so a policy
//! declaring both `deny` and `warn` gets one template and two Constraints of
//! its kind: `<id>` (rule `deny`, action `deny`) and `<id>-warn` (rule
//! `warn`, action `warn`) — the same split the CLI's verdict makes. An
//! environment's severity override applies to every rule of the policy, as
//! in the CLI; `dryrun` is for audit rollouts and is not emitted.

use regorus::Engine;
use serde_json::{Value, json};

use sparkplane_api::layer::EnvironmentPolicy;

use crate::PolicySeverity;
use crate::rego::{RegoPolicies, RegoPolicy};
use crate::tenant::ROLE_LABEL;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};

/// The ConstraintTemplate API version.
pub const TEMPLATE_API_VERSION: &str = "templates.gatekeeper.sh/v1";
/// The Constraint API group and version.
pub const CONSTRAINT_API_VERSION: &str = "constraints.gatekeeper.sh/v1beta1";
/// Gatekeeper's admission target.
pub const TARGET: &str = "admission.k8s.gatekeeper.sh";

/// The template kind of a policy: `Sparkplane` + the id in CamelCase.
pub fn kind_of(id: &str) -> String {
    let mut kind = String::from("Sparkplane");
    for word in id.split('-') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            kind.push(first.to_ascii_uppercase());
            kind.extend(chars);
        }
    }
    kind
}

/// The policy's file with its package moved under `lib.`.
fn as_library(rego: &RegoPolicy) -> String {
    let mut done = false;
    let mut out = String::with_capacity(rego.text.len() + 8);
    for line in rego.text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !done && trimmed.starts_with("package ") {
            out.push_str(&format!("package lib.{}\n", rego.package));
            done = true;
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The template's own Rego: the shim around the library, evaluating the
/// declared rule the Constraint's `parameters.rule` names.
fn shim(template: &str, rego: &RegoPolicy) -> String {
    let mut out = format!(
        r#"package {template}

import rego.v1

import data.lib.{package} as policy

# The sparkplane input shape, built from the admission review: the object
# under review is the one rendered object; there is no resolved job here.
sparkplane_input := {{
	"objects": [input.review.object],
	"environment": object.get(sparkplane_parameters, "environment", null),
	"admission": true,
}}

sparkplane_parameters := object.get(input, "parameters", {{}})

# Which of the policy's rules this Constraint enforces: `deny` or `warn`.
sparkplane_rule := object.get(sparkplane_parameters, "rule", "{default}")
"#,
        package = rego.package,
        default = if rego.has_deny { "deny" } else { "warn" },
    );
    for (declared, rule) in [(rego.has_deny, "deny"), (rego.has_warn, "warn")] {
        if declared {
            out.push_str(&format!(
                r#"
violation contains {{"msg": msg}} if {{
	sparkplane_rule == "{rule}"
	shim := sparkplane_input
	findings := policy.{rule} with input as shim
	some finding in findings
	msg := sprintf("[{id}] %s", [sparkplane_message(finding)])
}}
"#,
                id = rego.policy.id,
            ));
        }
    }
    out.push_str(
        r#"
sparkplane_message(finding) := finding if is_string(finding)

sparkplane_message(finding) := object.get(finding, "msg", object.get(finding, "message", sprintf("%v", [finding]))) if {
	is_object(finding)
}
"#,
    );
    out
}

/// The rules a policy declares, each with the `enforcementAction` its
/// Constraint gets: the rule's own kind, or the environment's override for
/// the whole policy.
fn rule_actions(rego: &RegoPolicy, overridden: Option<PolicySeverity>) -> Vec<(&'static str, &'static str)> {
    let action = |own: PolicySeverity| match overridden.unwrap_or(own) {
        PolicySeverity::Deny => "deny",
        PolicySeverity::Warn => "warn",
    };
    let mut rules = Vec::new();
    if rego.has_deny {
        rules.push(("deny", action(PolicySeverity::Deny)));
    }
    if rego.has_warn {
        rules.push(("warn", action(PolicySeverity::Warn)));
    }
    rules
}

/// A driver pod as Spark creates it, used to run each template's Rego once.
fn sample_review(rule: &str) -> Value {
    json!({"review": {"object": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "sample-driver", "namespace": "sample", "labels": {ROLE_LABEL: "driver"}},
        "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "registry.example.com/sample:1.0"}]},
    }}, "parameters": {"environment": "prod", "rule": rule}})
}

/// Compiles a template's Rego and libraries with regorus and evaluates its
/// `violation` over a sample driver pod once per rule it serves.
fn compile_check(template: &Value, rules: &[&str]) -> Result<(), String> {
    let target = &template["spec"]["targets"][0];
    let name = template["metadata"]["name"].as_str().unwrap_or("template");
    let mut engine = Engine::new();
    for (i, lib) in target["libs"].as_array().into_iter().flatten().enumerate() {
        engine
            .add_policy(format!("{name}/libs[{i}]"), lib.as_str().unwrap_or_default().to_owned())
            .map_err(|e| format!("{e:#}"))?;
    }
    let package = engine
        .add_policy(format!("{name}/rego"), target["rego"].as_str().unwrap_or_default().to_owned())
        .map_err(|e| format!("{e:#}"))?;
    for rule in rules {
        engine.set_input(regorus::Value::from(sample_review(rule)));
        engine.eval_rule(format!("{package}.violation")).map_err(|e| format!("{e:#}"))?;
    }
    Ok(())
}

/// The longest name Gatekeeper accepts for a template (a CRD's kind, lower case).
pub const MAX_TEMPLATE_NAME: usize = 63;

/// What a policy id can get wrong in its template: Gatekeeper names the
/// template after its kind in lower case, in at most [`MAX_TEMPLATE_NAME`]
/// characters. The problems as `path: what` lines. (The template's shape is
/// fixed by this module and checked against the ConstraintTemplate schema in
/// its tests.)
pub fn template_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let name = template["metadata"]["name"].as_str().unwrap_or_default();
    if name.chars().count() > MAX_TEMPLATE_NAME {
        problems.push(format!("/metadata/name: \"{name}\" is longer than {MAX_TEMPLATE_NAME} characters"));
    }
    let kind = template["spec"]["crd"]["spec"]["names"]["kind"].as_str().unwrap_or_default();
    if name != kind.to_ascii_lowercase() {
        problems.push(format!("/metadata/name: must be `{}` (the kind in lower case)", kind.to_ascii_lowercase()));
    }
    problems
}

/// The enforcement actions a Constraint may take.
pub const ENFORCEMENT_ACTIONS: &[&str] = &["deny", "dryrun", "warn"];

/// Checks a Constraint against what Gatekeeper derives from its template:
/// the template's kind, a DNS-subdomain name and a known
/// `enforcementAction`. The problems as `path: what` lines. (Its
/// `spec.parameters` are built from the template's own rule list; the tests
/// check them against the template's `openAPIV3Schema`.)
pub fn constraint_problems(constraint: &Value, template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let kind = &template["spec"]["crd"]["spec"]["names"]["kind"];
    if constraint["kind"] != *kind {
        problems.push(format!("/kind: must be {kind} (the template's kind)"));
    }
    if constraint["apiVersion"] != CONSTRAINT_API_VERSION {
        problems.push(format!("/apiVersion: must be `{CONSTRAINT_API_VERSION}`"));
    }
    let name = constraint["metadata"]["name"].as_str().unwrap_or_default();
    let dns = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !dns {
        problems.push(format!("/metadata/name: `{name}` is not a DNS subdomain"));
    }
    let action = constraint["spec"]["enforcementAction"].as_str().unwrap_or_default();
    if !ENFORCEMENT_ACTIONS.contains(&action) {
        problems.push(format!("/spec/enforcementAction: `{action}` is not one of {}", ENFORCEMENT_ACTIONS.join(", ")));
    }
    problems
}

/// Exports the Rego policies `config` evaluates (disabled ones stay out) as
/// [`export`] of the Rego policies an environment's configuration (and
/// `--policy-dir`) names — loaded from `dirs`, None when they hold none —,
/// once the configuration's policy ids are checked against them: no
/// policies is the error, naming where none were found.
pub fn export_checked(
    rego: Option<&RegoPolicies>,
    dirs: &[std::path::PathBuf],
    config: &EnvironmentPolicy,
    environment: Option<&str>,
) -> Result<Vec<Value>, Diagnostics> {
    let Some(rego) = rego else {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        let at = if shown.is_empty() { String::new() } else { format!(" in {}", shown.join(", ")) };
        return Err(Diagnostic::error("no-policies", "", format!("no Rego policies to export{at}"))
            .with_help("pass --policy-dir DIR (e.g. policies/), or --env ENV whose environment lists regoDirs")
            .into());
    };
    let problems =
        crate::check_config(config, Some(rego), &format!("environment `{}`", environment.unwrap_or("(none)")));
    if problems.has_errors() {
        return Err(problems);
    }
    export(rego, config, environment)
}

/// ConstraintTemplates followed by their Constraints, matching Spark pods
/// (label `spark-role`) in namespaces sparkplane onboarded
/// (`app.kubernetes.io/managed-by: sparkplane`). Each declared rule gets a
/// Constraint: `deny` rules are enforced (`enforcementAction: deny`), `warn`
/// rules only warned about, unless the environment overrides the policy's
/// severity (then every rule gets the override, as in the CLI).
pub fn export(
    rego: &RegoPolicies,
    config: &EnvironmentPolicy,
    environment: Option<&str>,
) -> Result<Vec<Value>, Diagnostics> {
    let catalogue = crate::catalogue(config, Some(rego));
    let mut templates = Vec::new();
    let mut constraints = Vec::new();
    let mut problems = Diagnostics::new();
    for policy in rego.policies() {
        let Some(effective) = catalogue.iter().find(|p| p.id == policy.policy.id) else { continue };
        let overridden = config.severity_overrides.contains_key(effective.id.as_ref()).then_some(effective.severity);
        let rules = rule_actions(policy, overridden);
        let kind = kind_of(&policy.policy.id);
        let name = kind.to_ascii_lowercase();
        let template = json!({
            "apiVersion": TEMPLATE_API_VERSION,
            "kind": "ConstraintTemplate",
            "metadata": {
                "name": name,
                "labels": {(sparkplane_api::labels::MANAGED_BY): sparkplane_api::labels::SPARKPLANE},
                "annotations": {
                    "description": effective.title,
                    (sparkplane_api::labels::POLICY): effective.id,
                    (sparkplane_api::labels::SOURCE): policy.file,
                },
            },
            "spec": {
                "crd": {"spec": {
                    "names": {"kind": kind},
                    "validation": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "environment": {"type": "string"},
                            "rule": {"type": "string", "enum": rules.iter().map(|(rule, _)| *rule).collect::<Vec<_>>()},
                        },
                    }},
                }},
                "targets": [{
                    "target": TARGET,
                    "rego": shim(&name, policy),
                    "libs": [as_library(policy)],
                }],
            },
        });
        let mut found = template_problems(&template);
        let served: Vec<&str> = rules.iter().map(|(rule, _)| *rule).collect();
        if let Err(err) = compile_check(&template, &served) {
            found.push(format!("the exported Rego does not evaluate with regorus: {err}"));
        }
        for problem in found {
            problems.push(
                Diagnostic::error("gatekeeper-export", "", format!("{}: {problem}", policy.file))
                    .with_help("this is a bug in the export or a policy the shim cannot wrap; check the policy follows the documented conventions"),
            );
        }
        let both = rules.len() > 1;
        for (rule, action) in &rules {
            let mut parameters = json!({"rule": rule});
            if let Some(env) = environment {
                parameters["environment"] = json!(env);
            }
            let constraint_name =
                if both && *rule == "warn" { format!("{}-warn", effective.id) } else { effective.id.to_string() };
            let constraint = json!({
                "apiVersion": CONSTRAINT_API_VERSION,
                "kind": kind,
                "metadata": {"name": constraint_name, "labels": {(sparkplane_api::labels::MANAGED_BY): sparkplane_api::labels::SPARKPLANE}},
                "spec": {
                    "enforcementAction": action,
                    "match": {
                        "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
                        "namespaceSelector": {"matchLabels": {(sparkplane_api::labels::MANAGED_BY): sparkplane_api::labels::SPARKPLANE}},
                        "labelSelector": {"matchExpressions": [{"key": ROLE_LABEL, "operator": "Exists"}]},
                    },
                    "parameters": parameters,
                },
            });
            for problem in constraint_problems(&constraint, &template) {
                problems.push(
                    Diagnostic::error(
                        "gatekeeper-export",
                        "",
                        format!("{}: Constraint {constraint_name}: {problem}", policy.file),
                    )
                    .with_help("this is a bug in the export; please report it with the policy file"),
                );
            }
            constraints.push(constraint);
        }
        templates.push(template);
    }
    if problems.has_errors() {
        return Err(problems);
    }
    templates.extend(constraints);
    Ok(templates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_policies_there_is_nothing_to_export_and_the_error_says_where_none_were() {
        let config = EnvironmentPolicy::default();
        let none = export_checked(None, &[std::path::PathBuf::from("policies")], &config, Some("prod"))
            .expect_err("no policies");
        assert_eq!(
            (none.0[0].code, none.0[0].message.as_str()),
            ("no-policies", "no Rego policies to export in policies")
        );
        let nowhere = export_checked(None, &[], &config, None).expect_err("no policies");
        assert_eq!(nowhere.0[0].message, "no Rego policies to export");
    }
}
