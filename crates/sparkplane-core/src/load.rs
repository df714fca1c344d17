//! Loading a job: the one step from its documents to a job every later stage
//! may trust — layers merged and schema-checked (`resolve`), then its meaning
//! checked (`validate`), every problem of both reported together.
//!
//! Owns: the order of those two steps and the decision (errors refuse, warnings
//! travel with the job). Must not: read files or apply policies — the CLI
//! reads, and policies judge the loaded job per environment (ADR 0028).

use crate::diagnostic::Diagnostics;
use crate::resolve::{ResolveRequest, resolve_layers};
use crate::resolved::ResolvedJob;
use crate::validate::validate;

/// Resolves a job's layers and validates the result for `request.target`.
/// On success the job's warnings (of both steps) are in
/// [`ResolvedJob::warnings`]; on failure every error and warning comes back,
/// sorted by location.
pub fn load(request: ResolveRequest<'_>) -> Result<ResolvedJob, Diagnostics> {
    let (mut resolved, mut diagnostics) = resolve_layers(request)?;
    diagnostics.extend(validate(&resolved, request.target));
    let diagnostics = diagnostics.deduplicated().sorted();
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    resolved.warnings = diagnostics;
    Ok(resolved)
}
