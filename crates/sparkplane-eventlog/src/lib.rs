//! Spark event logs: reading, parsing, and the application model.
//!
//! The pipeline is `read` → `parse` → `model`: [`read`] finds and streams the
//! lines of a log (single file or rolling directory; uncompressed, zstd, lz4,
//! snappy or lzf, as Spark writes them),
//! [`parse`] turns one line into a typed [`SparkEvent`], and [`fold`] folds
//! events into one [`AppSummary`], the application [`model`]; [`lineage`] reads
//! SQL plans into the datasets the model holds, and [`attribution`] says whom
//! an application is charged to and reported as. Only `read` and [`source`] do
//! I/O (local files, or objects streamed from S3, GCS or Azure through
//! `sparkplane-storage`); the rest is pure and tested without files. Memory
//! stays bounded by the number of jobs, stages and executors, never by the
//! size of the log.
//!
//! Must not: derive anything from the model — findings, cost, tuning, reports
//! (`sparkplane-analysis`), OpenLineage events or traces and their sending
//! (`sparkplane-emit`). A reader that needs what the model drops (a trace's
//! task sample) folds beside it through [`LogFold`] and [`fold_log`], on the
//! same one pass.
//!
//! ```no_run
//! # fn main() -> Result<(), sparkplane_eventlog::ReadError> {
//! use std::path::Path;
//! let dir = Path::new("/tmp/spark-events");
//! if let Some(log) = sparkplane_eventlog::find_app_log(dir, "local-1700000000000") {
//!     let summary = sparkplane_eventlog::summarize(&log)?;
//!     println!("{:?}: {} tasks", summary.outcome, summary.tasks.total);
//! }
//! # Ok(())
//! # }
//! ```

pub mod attribution;
pub mod cause;
mod codec;
pub mod fold;
mod folder;
pub mod lineage;
pub mod model;
pub mod parse;
pub mod peak_memory;
pub mod read;
pub mod root_cause;
mod sketch;
pub mod source;
mod spare;
pub mod stage;
pub mod timing;

use std::path::Path;

pub use fold::AppSummaryBuilder;
pub use folder::reading_folders;
pub use model::{
    AppFacts, AppSummary, BytesMoved, ExecutorSpan, Executors, Failure, JobCounts, LogStats, Outcome, SparkConfig,
    StageAttemptCounts, StageAttemptState, StageCounts, StageStats, TaskCounts, TaskTimeDistribution, TaskTotals,
    WallTime, Warning,
};
pub use parse::{ParseError, SparkEvent, parse_event};
pub use peak_memory::PeakMemory;
pub use read::{Codec, EventLog, EventLogLines, Layout, Line, LogPart, ReadError, find_app_log, list_app_logs};
pub use source::{AppLog, LogFile, LogSource, log_fingerprint, summarize_dir, summarize_logs};
pub use sparkplane_storage::{Location, StorageError};
pub use timing::{JobTiming, Timing};

/// Reads the event log at `path` (a log file or a rolling `eventlog_v2_*`
/// directory) in one streaming pass and summarizes the application.
///
/// Fails only when the log cannot be opened at all (missing, unreadable, not
/// an event log, or compressed with a codec not supported yet). Everything
/// else — corrupt lines, missing fields, unreadable later parts, a cut-off
/// in-progress tail — ends up in [`AppSummary::warnings`].
pub fn summarize(path: &Path) -> Result<AppSummary, ReadError> {
    summarize_log(&EventLog::open(path)?)
}

/// Reads an event log already located — local or in object storage (see
/// [`LogSource`]) — in one streaming pass and summarizes the application.
/// Fails and warns as [`summarize`] does.
pub fn summarize_log(log: &EventLog) -> Result<AppSummary, ReadError> {
    let mut builder = AppSummaryBuilder::new();
    builder.set_in_progress(log.in_progress);
    fold_log(log, &mut builder)?;
    Ok(builder.finish())
}

/// As [`summarize_log`], for a listing record: only the events a record
/// needs are parsed ([`AppSummaryBuilder::for_listing`]), so the summary's
/// ids, start and end, outcome, configuration, executors, warnings and cost
/// are [`summarize_log`]'s, its job totals, stage and task figures not. A log
/// without an application end, whose executors' lifetimes end at its last
/// event, is read a second time for the times of the events the first
/// reading skipped ([`AppSummaryBuilder::for_listing_times`]).
pub fn summarize_log_for_listing(log: &EventLog) -> Result<AppSummary, ReadError> {
    let mut builder = AppSummaryBuilder::for_listing();
    builder.set_in_progress(log.in_progress);
    fold_log(log, &mut builder)?;
    if builder.needs_times() {
        builder = AppSummaryBuilder::for_listing_times();
        builder.set_in_progress(log.in_progress);
        fold_log(log, &mut builder)?;
    }
    Ok(builder.finish())
}

/// A fold over one streaming pass of an event log: the summary's builder, or
/// a builder that wraps it to keep what the model does not (the trace's, in
/// `sparkplane-emit`), so both come from the same one pass.
pub trait LogFold {
    /// A reading warning (a skipped part, bad bytes, a cut-off tail), where it happened.
    fn warn(&mut self, warning: Warning);
    /// One line of the log, as [`AppSummaryBuilder::push_line`] takes it.
    fn push_line(&mut self, file: &Path, line: u64, text: &str);
}

impl LogFold for AppSummaryBuilder {
    fn warn(&mut self, warning: Warning) {
        AppSummaryBuilder::warn(self, warning);
    }
    fn push_line(&mut self, file: &Path, line: u64, text: &str) {
        AppSummaryBuilder::push_line(self, file, line, text);
    }
}

/// Feeds every line of `log` to `fold`, and every reading warning (skipped
/// parts, bad bytes, a cut-off tail) where it happened. Fails as [`summarize`]
/// does: only when the log cannot be opened at all.
pub fn fold_log(log: &EventLog, fold: &mut impl LogFold) -> Result<(), ReadError> {
    let mut lines = log.lines()?;
    loop {
        for warning in lines.take_warnings() {
            fold.warn(warning);
        }
        let Some(line) = lines.next_line() else { break };
        fold.push_line(line.file, line.number, line.text);
    }
    for warning in lines.take_warnings() {
        fold.warn(warning);
    }
    Ok(())
}
