//! Whom an application is charged to and reported as: its job, team and cost
//! center, read from sparkplane's driver labels (`sparkplane.dev/…`, in the
//! model's [`SparkConfig::labels`](crate::model::SparkConfig::labels)) or,
//! where a run was not labelled, from Spark properties.
//!
//! Owns: the attribution keys every reader of the model names an application
//! by — cost and chargeback (`sparkplane-analysis`), OpenLineage's job and
//! namespace and a trace's attributes (`sparkplane-emit`) — so all of them
//! file one application under the same job and team.
//!
//! Must not: price or group anything, or read anything but the model.

use crate::model::AppSummary;

/// The job an application is charged and reported as: the `sparkplane.dev/job` label, else `spark.app.name`.
pub fn job_of(app: &AppSummary) -> Option<String> {
    label_or_property(app, sparkplane_api::labels::JOB, "spark.app.name").or_else(|| app.name.clone())
}

/// The application's team: the `sparkplane.dev/team` label, else `spark.sparkplane.team`.
pub fn team_of(app: &AppSummary) -> Option<String> {
    label_or_property(app, sparkplane_api::labels::TEAM, "spark.sparkplane.team")
}

/// The application's cost center: the `sparkplane.dev/cost-center` label, else `spark.sparkplane.costCenter`.
pub fn cost_center_of(app: &AppSummary) -> Option<String> {
    label_or_property(app, sparkplane_api::labels::COST_CENTER, "spark.sparkplane.costCenter")
}

/// The driver label `label`, else the Spark property `property`; blank values are no value.
pub fn label_or_property(app: &AppSummary, label: &str, property: &str) -> Option<String> {
    let config = &app.config;
    config.labels.get(label).or_else(|| config.properties.get(property)).filter(|v| !v.trim().is_empty()).cloned()
}
