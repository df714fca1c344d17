//! Rendering: a resolved, sized job becomes Kubernetes objects for one of
//! three routes to the same driver.
//!
//! - `native`: what `spark-submit --deploy-mode cluster` itself creates
//!   (driver Pod, its ConfigMap, headless Service) plus least-privilege RBAC;
//! - `kubeflow`: a Kubeflow Spark Operator SparkApplication (or Scheduled…);
//! - `job`: a batch/v1 Job (CronJob when scheduled) running spark-submit.
//!
//! A `type: Connect` job is a server, not a run, and has one shape whatever
//! the route: `connect` (a StatefulSet of one in client mode, ADR 0039).
//!
//! Every route takes its Spark properties, labels, security contexts and pod
//! templates from `common`, its resources from the one sizing model, and
//! its JVMs' log layout from `logging`.

pub mod base;
pub mod check;
pub mod common;
pub mod connect;
pub mod job;
pub mod kubeflow;
pub mod kueue;
pub mod logging;
pub mod native;
pub mod quality_gates;
pub mod queue_routes;
pub mod scheduling;

use serde::Serialize;

pub use common::{RenderInput, RenderedObject};

/// Which route to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// spark-submit's own objects.
    Native,
    /// Kubeflow Spark Operator.
    Kubeflow,
    /// A Job or CronJob running spark-submit.
    Job,
}

impl Target {
    /// All targets.
    pub const ALL: [Target; 3] = [Target::Native, Target::Kubeflow, Target::Job];

    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Target::Native => "native",
            Target::Kubeflow => "kubeflow",
            Target::Job => "job",
        }
    }
}

/// Sizes `job` with the one sizing model and renders it for `target`: the
/// one path from a resolved job to its objects, for the CLI's commands and
/// the operator alike.
pub fn size_and_render(job: &crate::resolved::ResolvedJob, target: Target) -> Vec<RenderedObject> {
    let sized = crate::sizing::size_job(&job.job.spec);
    render(&RenderInput { job, sized: &sized }, target)
}

/// Renders a job for a target (a Connect server the same for every target);
/// objects come sorted (cluster-wide first, then by kind and name).
pub fn render(input: &RenderInput<'_>, target: Target) -> Vec<RenderedObject> {
    let mut objects = match target {
        _ if connect::is_connect(input) => connect::render_connect(input),
        Target::Native => native::render_native(input),
        Target::Kubeflow => kubeflow::render_kubeflow(input),
        Target::Job => job::render_job(input),
    };
    common::sort_objects(&mut objects);
    objects
}
