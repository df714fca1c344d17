//! The admission export: the built-in policies that the API server can
//! check on a SparkJob by itself, as ValidatingAdmissionPolicies
//! (`admissionregistration.k8s.io/v1`, CEL), so a `kubectl apply` that
//! bypasses the CLI is still held to them — with no webhook to fail or slow
//! a submission.
//!
//! Owns: which built-in policies have a CEL form ([`ADMISSION_RULES`]), their
//! expressions, and the policy objects. Must not: give a policy a severity,
//! title or fix of its own — those are the catalogue's ([`crate::catalogue`]
//! with the environment's disabled ids and overrides), so the CLI and the
//! API server refuse the same things with the same words.
//!
//! The API server sees a SparkJob as it is stored, before presets and
//! environments fill it in, so each expression is the policy read on what
//! the object itself says, never stricter than the CLI on the resolved job:
//! a field a preset may fill (an image tag) passes when absent. Three
//! policies come out, because a binding gives one set of actions to all of
//! a policy's rules: `sparkplane-deny` and `sparkplane-warn` for every
//! namespace, `sparkplane-prod` for the namespaces a platform marks as
//! production (its binding, with the namespace selector, is the chart's).

use serde_json::{Value, json};
use sparkplane_api::layer::EnvironmentPolicy;

use crate::{EXECUTOR_CORES, IMAGE_DIGEST_IN_PROD, IMAGE_TAG, OWNERSHIP, Policy, PolicySeverity, catalogue};

/// Where a rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdmissionScope {
    /// Every namespace.
    All,
    /// Production namespaces only (the `sparkplane-prod` policy).
    Prod,
}

/// One built-in policy's CEL form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionRule {
    /// The built-in policy's id.
    pub policy: &'static str,
    /// Where it applies.
    pub scope: AdmissionScope,
    /// A CEL expression over `object` (the SparkJob) that is true when the
    /// object complies.
    pub expression: &'static str,
}

/// The policy objects' API version.
pub const API_VERSION: &str = "admissionregistration.k8s.io/v1";

/// Names of the three policies.
pub const DENY_POLICY: &str = "sparkplane-deny";
/// Warnings for every namespace.
pub const WARN_POLICY: &str = "sparkplane-warn";
/// Rules for production namespaces.
pub const PROD_POLICY: &str = "sparkplane-prod";

/// The built-in policies the API server can check on a stored SparkJob.
/// The expression for `executor-cores` names [`MAX_EXECUTOR_CORES`] (a test
/// keeps the two equal).
pub const ADMISSION_RULES: &[AdmissionRule] = &[
    AdmissionRule {
        policy: OWNERSHIP,
        scope: AdmissionScope::All,
        // Not blank: at least one character that is not white space.
        expression: "has(object.spec.team) && object.spec.team.matches('[^[:space:]]') \
                     && has(object.spec.costCenter) && object.spec.costCenter.matches('[^[:space:]]')",
    },
    AdmissionRule {
        policy: IMAGE_TAG,
        scope: AdmissionScope::All,
        expression: "!has(object.spec.image) || has(object.spec.image.digest) \
                     || !has(object.spec.image.tag) || object.spec.image.tag != 'latest'",
    },
    AdmissionRule {
        policy: EXECUTOR_CORES,
        scope: AdmissionScope::All,
        expression: "!has(object.spec.executor) || !has(object.spec.executor.cores) \
                     || has(object.spec.executor.gpu) || object.spec.executor.cores <= 5",
    },
    // A job that says it is for prod is held to prod's rule wherever it is
    // stored; the prod policy also holds every job in a prod namespace.
    AdmissionRule {
        policy: IMAGE_DIGEST_IN_PROD,
        scope: AdmissionScope::All,
        expression: "!has(object.spec.environment) || object.spec.environment != 'prod' \
                     || (has(object.spec.image) && has(object.spec.image.digest))",
    },
    AdmissionRule {
        policy: IMAGE_DIGEST_IN_PROD,
        scope: AdmissionScope::Prod,
        expression: "has(object.spec.image) && has(object.spec.image.digest)",
    },
];

/// The message a refused object gets: the policy's id, what it asks and how
/// to comply, as `sparkplane policy check` words them.
pub fn message(policy: &Policy) -> String {
    format!("{}: {}; {}", policy.id, policy.title, policy.fix)
}

/// The ValidatingAdmissionPolicies for this environment's configuration
/// (disabled ids left out, severity overrides applied), in a stable order:
/// deny, warn, prod. A policy with no rules left is not emitted.
pub fn export(config: &EnvironmentPolicy) -> Vec<Value> {
    let policies = catalogue(config, None);
    let mut deny = Vec::new();
    let mut warn = Vec::new();
    let mut prod = Vec::new();
    for rule in ADMISSION_RULES {
        let Some(policy) = policies.iter().find(|p| p.id == rule.policy) else { continue };
        let validation = json!({
            "expression": rule.expression,
            "message": message(policy),
            "reason": "Invalid",
        });
        match (rule.scope, policy.severity) {
            (AdmissionScope::Prod, _) => prod.push(validation),
            (AdmissionScope::All, PolicySeverity::Deny) => deny.push(validation),
            (AdmissionScope::All, PolicySeverity::Warn) => warn.push(validation),
        }
    }
    [(DENY_POLICY, deny), (WARN_POLICY, warn), (PROD_POLICY, prod)]
        .into_iter()
        .filter(|(_, validations)| !validations.is_empty())
        .map(|(name, validations)| policy_object(name, validations))
        .collect()
}

fn policy_object(name: &str, validations: Vec<Value>) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": {
                (sparkplane_api::labels::MANAGED_BY): sparkplane_api::labels::SPARKPLANE,
                (sparkplane_api::labels::APP_PART_OF): sparkplane_api::labels::SPARKPLANE,
            },
        },
        "spec": {
            // An error evaluating a rule refuses the object rather than let it through.
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [{
                    "apiGroups": ["sparkplane.dev"],
                    "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["sparkjobs"],
                }],
            },
            "validations": validations,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_EXECUTOR_CORES;
    use sparkplane_api::layer::PolicySeverityName;

    fn names(objects: &[Value]) -> Vec<&str> {
        objects.iter().filter_map(|o| o["metadata"]["name"].as_str()).collect()
    }

    #[test]
    fn every_rule_names_a_builtin_policy_and_the_core_limit() {
        for rule in ADMISSION_RULES {
            assert!(crate::policy(rule.policy).is_some(), "{} is not a built-in policy", rule.policy);
        }
        let cores = ADMISSION_RULES.iter().find(|r| r.policy == EXECUTOR_CORES).map(|r| r.expression);
        assert!(cores.is_some_and(|e| e.ends_with(&format!("<= {MAX_EXECUTOR_CORES}"))), "{cores:?}");
    }

    #[test]
    fn rules_go_to_the_policy_of_their_severity_and_scope() {
        let objects = export(&EnvironmentPolicy::default());
        assert_eq!(names(&objects), [DENY_POLICY, WARN_POLICY, PROD_POLICY]);
        let messages = |i: usize| -> Vec<String> {
            objects[i]["spec"]["validations"]
                .as_array()
                .map(|v| v.iter().filter_map(|x| x["message"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        let ids = |i: usize| -> Vec<String> {
            messages(i).iter().map(|m| m.split(':').next().unwrap_or_default().to_owned()).collect()
        };
        assert_eq!(ids(0), [OWNERSHIP, IMAGE_TAG, IMAGE_DIGEST_IN_PROD]);
        assert_eq!(ids(1), [EXECUTOR_CORES]);
        assert_eq!(ids(2), [IMAGE_DIGEST_IN_PROD]);
        assert_eq!(
            messages(1)[0],
            "executor-cores: executors use at most 5 cores; use at most 5 cores per executor and more executors"
        );
    }

    #[test]
    fn the_environment_disables_and_moves_rules_as_the_cli_does() {
        let config = EnvironmentPolicy {
            disabled: vec![IMAGE_TAG.into(), IMAGE_DIGEST_IN_PROD.into()],
            severity_overrides: [(EXECUTOR_CORES.to_owned(), PolicySeverityName::Deny)].into_iter().collect(),
            ..EnvironmentPolicy::default()
        };
        let objects = export(&config);
        assert_eq!(names(&objects), [DENY_POLICY]);
        let validations = objects[0]["spec"]["validations"].as_array().map(Vec::len);
        assert_eq!(validations, Some(2));
    }
}
