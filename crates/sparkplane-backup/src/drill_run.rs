//! `sparkplane dr drill` as one workflow: the latest backup restored into a
//! fresh target and checked, the job run on the restored data (with the
//! restored metastore as its catalog when the drill serves one), its quality
//! gates, the scratch database and bucket cleaned up, and the verdict
//! ([`crate::drill::decide`]).
//!
//! Owns: the order of those steps (the scratch database dropped and the
//! scratch bucket emptied even when a step failed, unless kept), when the job
//! is not run (the restore found a problem), the recovery point read from the
//! manifest, what a gate's result means (a gate that is not blocking passes,
//! `QualityGate::is_blocking` being the one default), and the S3 endpoint the
//! local Spark reaches the target through. Must not: restore, run Spark,
//! check data, read the clock or print — the caller's [`DrillHost`] does (the
//! CLI; tests a fake).

use sparkplane_api::backup::{Backup, StoreRef};
use sparkplane_api::job::QualityGate;
use sparkplane_documents::Diagnostic;

use crate::BackupError;
use crate::drill::{self, DrillFacts, DrillVerdict, GateResult, JobRun};
use crate::scratch::Scratch;
use crate::verify::VerifyReport;

/// The restored run's manifest gives a start that is no time (exit 1: restore from another run).
#[derive(Clone, Debug)]
pub struct DamagedManifest(pub Diagnostic);

/// The I/O a drill needs, behind one interface.
pub trait DrillHost {
    /// The host's error; the workflow's own refusals convert into it.
    type Error: From<BackupError> + From<DamagedManifest>;
    /// Now, in ms since the epoch.
    fn now_ms(&mut self) -> i64;
    /// Restores the latest backup into the scratch target and checks every
    /// copy; the metastore stays up as a scratch database when `serve_catalog`.
    fn restore(&mut self, serve_catalog: bool) -> Result<VerifyReport, Self::Error>;
    /// Moves the restored catalog's tables onto the restored copies.
    fn relocate(&mut self, database: &str) -> Result<(), Self::Error>;
    /// Runs the job on the restored data (with `catalog` as its metastore);
    /// `Err(cause)` when Spark failed.
    fn run_job(&mut self, catalog: Option<&str>) -> Result<Result<(), String>, Self::Error>;
    /// Checks one gate on the job's output; `Err(messages)` when a blocking gate failed.
    fn check_gate(&mut self, gate: &QualityGate) -> Result<Result<(), Vec<String>>, Self::Error>;
    /// Drops the scratch database.
    fn drop_scratch_database(&mut self, database: &str) -> Result<(), Self::Error>;
    /// Empties the scratch bucket; the objects deleted (None when the restore went to a folder).
    fn empty_scratch_bucket(&mut self) -> Result<Option<usize>, Self::Error>;
}

/// What a drill is asked for.
#[derive(Clone, Copy, Debug)]
pub struct DrillPlan<'a> {
    /// The Backup (its objectives).
    pub backup: &'a Backup,
    /// The job's quality gates, in its order.
    pub gates: &'a [QualityGate],
    /// The job's catalog is the restored metastore (a scratch bucket, and a Backup with a metastore).
    pub serves_catalog: bool,
    /// Leave the scratch bucket's objects and the scratch database in place.
    pub keep_scratch: bool,
}

/// How a drill ended.
#[derive(Clone, Debug)]
pub struct DrillEnd {
    /// The verdict.
    pub verdict: DrillVerdict,
    /// The scratch database that was the job's catalog.
    pub catalog: Option<String>,
    /// Objects deleted from the scratch bucket (None: a folder, or kept).
    pub deleted: Option<usize>,
}

/// The S3 endpoint a local Spark reaches the target through: its own, else
/// AWS's for its region, else AWS's global one.
pub fn s3a_endpoint(target: &StoreRef) -> String {
    target.endpoint.clone().unwrap_or_else(|| match &target.region {
        Some(region) => format!("https://s3.{region}.amazonaws.com"),
        None => "https://s3.amazonaws.com".into(),
    })
}

/// Runs the drill: restore, job, gates, clean-up, verdict.
pub fn drill<H: DrillHost>(plan: &DrillPlan<'_>, host: &mut H) -> Result<DrillEnd, H::Error> {
    let started_ms = host.now_ms();
    let drilled = restore_and_run(plan, started_ms, host);
    let emptied = if plan.keep_scratch { Ok(None) } else { host.empty_scratch_bucket() };
    let (verdict, catalog) = drilled?;
    let deleted = emptied?;
    Ok(DrillEnd { verdict, catalog, deleted })
}

/// The restore and the job on it, decided; the scratch database dropped again unless kept.
fn restore_and_run<H: DrillHost>(
    plan: &DrillPlan<'_>,
    started_ms: i64,
    host: &mut H,
) -> Result<(DrillVerdict, Option<String>), H::Error> {
    let restored = host.restore(plan.serves_catalog)?;
    let catalog = restored.scratch_database.clone();
    let verdict = run_on_restore(plan, started_ms, &restored, host);
    let dropped = match &catalog {
        Some(db) if !plan.keep_scratch => host.drop_scratch_database(db),
        _ => Ok(()),
    };
    let verdict = verdict?;
    dropped?;
    Ok((verdict, catalog))
}

/// The job on a restore, its gates and the verdict.
fn run_on_restore<H: DrillHost>(
    plan: &DrillPlan<'_>,
    started_ms: i64,
    restored: &VerifyReport,
    host: &mut H,
) -> Result<DrillVerdict, H::Error> {
    let recovery_point = restored.started.parse::<jiff::Timestamp>().map_err(|e| {
        DamagedManifest(
            Diagnostic::error(
                "drill-manifest",
                "",
                format!("backup run {}: started `{}`: {e}", restored.id, restored.started),
            )
            .with_help("the manifest is damaged; restore from another run"),
        )
    })?;
    let mut gates = Vec::new();
    let job = if !restored.findings.is_empty() {
        JobRun::NotRun
    } else {
        let catalog = restored.scratch_database.as_deref();
        if let Some(database) = catalog {
            // The restored catalog's tables point at the restored copies, not the lake.
            host.relocate(database)?;
        }
        match host.run_job(catalog)? {
            Err(cause) => JobRun::Failed(cause),
            Ok(()) => {
                for gate in plan.gates {
                    let (passed, detail) = match host.check_gate(gate)? {
                        Ok(()) if !gate.is_blocking() => (true, "non-blocking: its failures only warn".to_owned()),
                        Ok(()) => (true, "passed".to_owned()),
                        Err(found) => (false, found.join("; ")),
                    };
                    gates.push(GateResult { name: gate.spec.clone(), passed, detail });
                }
                JobRun::Succeeded { finished_ms: host.now_ms() }
            }
        }
    };
    let objectives = plan.backup.spec.objectives.as_ref();
    Ok(drill::decide(&DrillFacts {
        backup_id: restored.id.clone(),
        started_ms,
        recovery_point_ms: recovery_point.as_millisecond(),
        restore: restored.findings.clone(),
        job,
        gates,
        rto_target_ms: objectives.and_then(|o| o.rto).map(|d| d.as_millis()),
        rpo_target_ms: objectives.and_then(|o| o.rpo).map(|d| d.as_millis()),
    }))
}

/// The drill's report: where it restored, what was cleaned up, and the verdict.
pub fn report_json(end: &DrillEnd, scratch: &Scratch, keep_scratch: bool) -> serde_json::Value {
    let DrillEnd { verdict, catalog, deleted } = end;
    match scratch {
        Scratch::Folder(dir) => serde_json::json!({ "restoreDir": dir, "verdict": verdict }),
        Scratch::Bucket { url, .. } => serde_json::json!({
            "restoreBucket": url,
            "scratchObjectsDeleted": deleted,
            "scratchDatabase": catalog,
            "scratchDatabaseDropped": catalog.is_some() && !keep_scratch,
            "verdict": verdict,
        }),
    }
}

/// The same as text: the verdict, then where it restored and what became of the scratch.
pub fn report_text(end: &DrillEnd, scratch: &Scratch, keep_scratch: bool) -> String {
    let after = match (scratch, end.deleted) {
        (Scratch::Bucket { .. }, Some(n)) => format!(" ({n} objects deleted afterwards)"),
        (Scratch::Bucket { .. }, None) => " (kept)".to_owned(),
        (Scratch::Folder(_), _) => String::new(),
    };
    let database = match &end.catalog {
        Some(db) if keep_scratch => format!("; the job's catalog was scratch database {db} (kept)"),
        Some(db) => format!("; the job's catalog was scratch database {db} (dropped afterwards)"),
        None => String::new(),
    };
    format!("{}  restored into {}{after}{database}\n", end.verdict.to_text(), scratch.describe())
}

#[cfg(test)]
#[path = "drill_run_tests.rs"]
mod tests;
