//! Which pools a role may run on: node selectors, and taints against
//! tolerations by Kubernetes' matching rules. Must not: count resources.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Taint, Toleration};
use sparkplane_api::NodePool;
use sparkplane_api::job::SparkJobSpec;

use super::model::*;

/// Whether `toleration` tolerates `taint`, by Kubernetes' rules: an effect,
/// when set, must match; a key, when set, must match (an empty key with
/// `Exists` tolerates every taint); `Exists` matches any value, `Equal` (the
/// default) the same value.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    pub(super) fn set(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|s| !s.is_empty())
    }
    if set(&toleration.effect).is_some_and(|effect| effect != taint.effect) {
        return false;
    }
    if set(&toleration.key).is_some_and(|key| key != taint.key) {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("") {
        "Exists" => true,
        "" | "Equal" => toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// Whether a taint keeps pods that do not tolerate it off a node
/// (`PreferNoSchedule` only discourages).
pub(super) fn taint_repels(taint: &Taint) -> bool {
    matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
}

pub(super) fn taint_text(taint: &Taint) -> String {
    match taint.value.as_deref().filter(|v| !v.is_empty()) {
        Some(value) => format!("{}={value}:{}", taint.key, taint.effect),
        None => format!("{}:{}", taint.key, taint.effect),
    }
}

// ---------------------------------------------------------------------------
// Eligibility.

/// A role's scheduling constraints: the job's merged with the role's.
pub(super) struct Constraints {
    /// label → (value, whether the role's own selector set it)
    pub(super) selector: BTreeMap<String, (String, bool)>,
    pub(super) tolerations: Vec<Toleration>,
}

pub(super) fn constraints(spec: &SparkJobSpec, role: Role) -> Constraints {
    let mut selector: BTreeMap<String, (String, bool)> =
        spec.node_selector.iter().map(|(k, v)| (k.clone(), (v.clone(), false))).collect();
    let mut tolerations = spec.tolerations.clone();
    if let Some(role_spec) = role.role_spec(spec) {
        selector.extend(role_spec.node_selector.iter().map(|(k, v)| (k.clone(), (v.clone(), true))));
        tolerations.extend(role_spec.tolerations.iter().cloned());
    }
    Constraints { selector, tolerations }
}

/// Why a pool refuses a role's pods (empty when it accepts them).
pub(super) fn refusals(pool: &NodePool, constraints: &Constraints, role: Role) -> Vec<String> {
    let mut out = Vec::new();
    for (key, (want, _)) in &constraints.selector {
        match pool.labels.get(key) {
            Some(have) if have == want => {}
            Some(have) => out.push(format!("node selector wants {key}={want}, nodes have {key}={have}")),
            None => out.push(format!("node selector wants {key}={want}, nodes have no {key} label")),
        }
    }
    for taint in pool.taints.iter().filter(|t| taint_repels(t)) {
        if !constraints.tolerations.iter().any(|t| tolerates(t, taint)) {
            out.push(format!("taint {} is not tolerated by the {}", taint_text(taint), role.as_str()));
        }
    }
    out
}
