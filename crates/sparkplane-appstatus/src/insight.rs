//! What sparkplane adds to an application's web pages beyond Spark's own
//! figures: `analyze`'s findings with their fixes, the critical path and ideal
//! run time, and why the application failed (its root cause and kind).
//!
//! Owns: [`Insight`], the small part of the event-log crate's one model
//! ([`AppSummary`]) the pages keep beside a replayed detail, and
//! [`Insight::of`], which takes it from a summary folded in the same pass as
//! the detail (the index's `summarize_and_replay`), so no log is read twice
//! for it.
//!
//! Must not: compute a finding, a critical path or a failure cause itself
//! (`sparkplane_analysis::analyze`, `timing` and the model's `failure` do), or
//! keep the whole summary (it holds the configuration; the detail cache's
//! budget counts what is kept here).

use sparkplane_analysis::analyze::{Finding, analyze};
use sparkplane_eventlog::{AppSummary, Failure, Timing};

/// sparkplane's own reading of one application, for its pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Insight {
    /// `analyze`'s findings, critical first, each with its fix.
    pub findings: Vec<Finding>,
    /// The critical path, ideal run time and the stages on the path; `None` without a duration.
    pub timing: Option<Timing>,
    /// Why the application failed (the first failed job, its stage, root cause and kind).
    pub failure: Option<Failure>,
    /// Wall time from start to end (or to the last event), ms.
    pub duration_ms: Option<u64>,
}

impl Insight {
    /// The insight of the application `summary` describes.
    pub fn of(summary: &AppSummary) -> Insight {
        Insight {
            findings: analyze(summary),
            timing: summary.timing.clone(),
            failure: summary.failure.clone(),
            duration_ms: summary.duration_ms,
        }
    }

    /// Whether `stage` is on some job's critical path.
    pub fn is_critical(&self, stage: i64) -> bool {
        let Ok(stage) = u32::try_from(stage) else { return false };
        self.timing.as_ref().is_some_and(|t| t.critical_stages.binary_search(&stage).is_ok())
    }

    /// A rough size in memory, for the detail cache's budget.
    pub fn approx_bytes(&self) -> u64 {
        let findings: usize = self.findings.iter().map(|f| 64 + f.title.len() + f.evidence.len() + f.fix.len()).sum();
        let timing = self.timing.as_ref().map_or(0, |t| 64 + t.jobs.len() * 24 + t.critical_stages.len() * 4);
        let failure = self.failure.as_ref().map_or(0, |f| {
            128 + f.message.len()
                + f.root_cause.as_ref().map_or(0, String::len)
                + f.stage_failure.as_ref().map_or(0, String::len)
        });
        (64 + findings + timing + failure) as u64
    }
}
