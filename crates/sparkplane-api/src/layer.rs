//! Presets and environment overlays: named, partial SparkJobs that are layered
//! under (presets) or over (environments) a job.
//!
//! Both carry a `template` shaped like a SparkJob (`metadata` with namespace,
//! labels and annotations; `spec`), in the way a Deployment carries a pod
//! template. Every field of the template is optional.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::job::SparkJobSpec;

/// Identity of a preset or environment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayerMeta {
    /// Name: `etl-small`, `prod`, …
    pub name: String,
    /// One line saying what the layer is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The part of a SparkJob's metadata a layer may set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateMeta {
    /// Namespace jobs land in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels added to the job.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the job.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A partial SparkJob.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobTemplate {
    /// Metadata merged into the job's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMeta>,
    /// Spec fields merged into the job's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<SparkJobSpec>,
}

/// A golden-path preset (`kind: Preset`): the platform's tested defaults for a class of workload.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Preset {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Preset`.
    pub kind: String,
    /// Name and description.
    pub metadata: LayerMeta,
    /// The partial job the preset contributes.
    pub template: JobTemplate,
}

/// An environment overlay (`kind: Environment`): what changes between dev, staging and prod.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Environment`.
    pub kind: String,
    /// Name and description.
    pub metadata: LayerMeta,
    /// The partial job the environment contributes.
    pub template: JobTemplate,
    /// How the platform's policies apply to jobs deployed to this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<EnvironmentPolicy>,
}

/// A policy severity, as configuration spells it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicySeverityName {
    /// Refuse the job.
    Deny,
    /// Report and go on.
    Warn,
}

/// Per-environment policy configuration (`policy:` in an Environment).
///
/// Only platform environments carry it: a job's own `<job>.<env>.yaml` cannot
/// loosen the rules it is checked against.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentPolicy {
    /// Directories of Rego policies (`*.rego`, `*_test.rego` skipped) evaluated
    /// beside the built-ins; relative paths are relative to the platform
    /// directory, or to the current directory for the built-in environments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rego_dirs: Vec<String>,
    /// Policy ids (built-in or Rego) not evaluated here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled: Vec<String>,
    /// Policy ids whose severity differs here (`budget-critical: deny`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub severity_overrides: BTreeMap<String, PolicySeverityName>,
    /// Approvals of the exact resolved spec a deploy needs (`approval-required`); 0 or unset: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_approvals: Option<u32>,
    /// Registries or repository prefixes images may come from; empty allows any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_registries: Vec<String>,
    /// Whether job names must start with `<team>-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_team_prefix: Option<bool>,
    /// The longest `spec.timeouts.maxDuration` a job may ask for here
    /// (`max-duration`); unset: 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<crate::Duration>,
}
