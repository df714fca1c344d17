//! A job loaded and rendered: the step `render`, `policy check`, `run`,
//! `submit` and the operator share before their policy gate and their I/O.
//!
//! Owns: loading a job file for a cluster and rendering it with the one
//! sizing model. Must not: apply policies or write anything; it imports no
//! other command, so the commands that use it form no circle.

use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;

use crate::exit::Failure;
use crate::workspace::{JobSettings, resolve_job};

/// Loads (resolves, then validates for a cluster), sizes and renders a job.
pub fn render_objects(settings: &JobSettings, target: Target) -> Result<(ResolvedJob, Vec<RenderedObject>), Failure> {
    let resolved = resolve_job(settings, ValidationTarget::Cluster)?;
    let objects = render_resolved(&resolved, target);
    Ok((resolved, objects))
}

/// Sizes and renders an already loaded job (e.g. `submit`'s, after its
/// namespace and attempt are settled).
pub fn render_resolved(resolved: &ResolvedJob, target: Target) -> Vec<RenderedObject> {
    let sized = size_job(&resolved.job.spec);
    render::render(&RenderInput { job: resolved, sized: &sized }, target)
}
