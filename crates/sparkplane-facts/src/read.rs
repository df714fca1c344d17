//! Where the export's logs come from, and reading one into the facts the
//! tables are built from.
//!
//! Owns: the [`Logs`] seam (list, then read one log into [`AppFacts`]), its
//! implementation over a log location ([`SourceLogs`]), the log key the
//! manifest files entries under ([`log_key`]), and the SQL executions of a log
//! ([`SqlExecutions`]), which neither the summary nor the replay keeps yet.
//! A log is read once, by the History Server's one pass (`index::read_once`,
//! through `pipeline::summarize_and_replay_batches`), which folds the listing's
//! `AppSummary` and the History Server's `AppDetail` from one parse; the few
//! SQL-execution lines are picked out on the way by name and read with the
//! engine's parser (the start) or their three fields (the end).
//! Must not: build rows or write anything.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use sparkplane_appstatus::replay::AppDetail;
use sparkplane_eventlog::parse::{SparkEvent, parse_event};
use sparkplane_eventlog::{AppLog, AppSummary, AppSummaryBuilder, LogSource, ReadError};
use sparkplane_history::index::read_once;
use sparkplane_history::pipeline::{BATCH_BYTES, summarize_and_replay_batches};
use sparkplane_workqueue::WorkQueue;

/// One log as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedLog {
    /// What the manifest keys it by ([`log_key`]).
    pub key: String,
    /// Its path or URL, for messages.
    pub name: String,
    /// Bytes stored.
    pub size: u64,
    /// Last modification, epoch milliseconds.
    pub modified_ms: Option<i64>,
    /// The listing's fingerprint of its files (names, sizes, times, ETags;
    /// the same in every process, see `sparkplane_eventlog::log_fingerprint`).
    pub fingerprint: u64,
}

/// One application's facts: the one event-log model, read from one pass.
#[derive(Debug, Clone)]
pub struct AppFacts {
    /// What listing, `analyze` and `cost` read.
    pub summary: AppSummary,
    /// What the History Server serves: jobs, stage attempts, executors.
    pub detail: AppDetail,
    /// SQL executions, by id.
    pub sql: Vec<SqlExecution>,
}

/// Where logs come from.
pub trait Logs: Sync {
    /// Every log at the location.
    fn list(&mut self) -> Result<Vec<ListedLog>, ReadError>;
    /// Reads one listed log, parsing on `workers` threads; why not, when it cannot be.
    fn read(&self, log: &ListedLog, workers: usize) -> Result<AppFacts, String>;
}

/// The manifest's key for a log: its name below the location, without
/// `.inprogress` (Spark drops it when the application ends; the log stays the same one).
pub fn log_key(root: &str, name: &str) -> String {
    let root = root.trim_end_matches('/');
    let relative = name.strip_prefix(root).map(|rest| rest.trim_start_matches('/')).unwrap_or(name);
    let relative = if relative.is_empty() { name.rsplit('/').next().unwrap_or(name) } else { relative };
    relative.strip_suffix(".inprogress").unwrap_or(relative).to_owned()
}

/// The logs at a location (a folder or object-store prefix).
#[derive(Debug)]
pub struct SourceLogs {
    source: LogSource,
    logs: BTreeMap<String, AppLog>,
}

impl SourceLogs {
    /// Logs at `source`; nothing is listed until [`Logs::list`].
    pub fn new(source: LogSource) -> SourceLogs {
        SourceLogs { source, logs: BTreeMap::new() }
    }
}

impl Logs for SourceLogs {
    fn list(&mut self) -> Result<Vec<ListedLog>, ReadError> {
        let root = self.source.describe();
        let mut listed = Vec::new();
        for log in self.source.app_logs()? {
            let key = log_key(&root, &log.name);
            listed.push(ListedLog {
                key: key.clone(),
                name: log.name.clone(),
                size: log.size,
                modified_ms: log.modified_ms,
                fingerprint: log.fingerprint,
            });
            self.logs.insert(key, log);
        }
        Ok(listed)
    }

    fn read(&self, log: &ListedLog, workers: usize) -> Result<AppFacts, String> {
        let app_log = self.logs.get(&log.key).ok_or_else(|| "was not listed".to_owned())?;
        let facts = read_log(app_log, workers)?;
        check_readable(&facts.summary)?;
        Ok(facts)
    }
}

/// Why a log that opened is still not an application's log.
pub fn check_readable(summary: &AppSummary) -> Result<(), String> {
    if summary.log.events == 0 {
        return Err("holds no Spark events".to_owned());
    }
    if summary.app_id.is_none() {
        let mut message = "no SparkListenerApplicationStart event could be read".to_owned();
        if let Some(first) = summary.warnings.first() {
            message.push_str(&format!(" ({})", first.message));
        }
        return Err(message);
    }
    Ok(())
}

/// Reads one log in one pass into its summary, detail and SQL executions
/// (the History Server's one pass, `index::read_once`, with the SQL lines picked out on the way).
fn read_log(log: &AppLog, workers: usize) -> Result<AppFacts, String> {
    let mut sql = SqlExecutions::default();
    let read = read_once(log, workers, |line| sql.push_line(line)).map_err(|e| e.to_string())?;
    let (summary, detail) = read.ok_or_else(|| "the replay failed (a reader thread panicked)".to_owned())?;
    Ok(AppFacts { summary, detail, sql: sql.finish() })
}

/// Reads a log already in memory (`name` for messages) as a listed log is
/// read: one pass, one parse per line, on the calling thread.
pub fn facts_from_text(name: &str, text: &str, in_progress: bool) -> Result<AppFacts, String> {
    let mut summary = AppSummaryBuilder::new();
    summary.set_in_progress(in_progress);
    let mut sql = SqlExecutions::default();
    let file = std::path::Path::new(name);
    let mut lines = text.lines().zip(1u64..);
    let folded = summarize_and_replay_batches(
        |batch| {
            for (line, number) in lines.by_ref() {
                sql.push_line(line);
                batch.push_from(file, number, line);
                if batch.bytes() >= BATCH_BYTES {
                    return true;
                }
            }
            false
        },
        1,
        summary,
    );
    let (detail, summary) = folded.ok_or_else(|| "the replay failed".to_owned())?;
    let facts = AppFacts { summary: summary.finish(), detail, sql: sql.finish() };
    check_readable(&facts.summary)?;
    Ok(facts)
}

/// One SQL execution (a DataFrame or SQL action).
#[derive(Debug, Clone, PartialEq)]
pub struct SqlExecution {
    pub execution_id: i64,
    /// What Spark calls the action (`count at …`, the query text of `spark-sql`).
    pub description: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// The error of a failed execution (Spark 3.4+ write it; empty means none).
    pub error_message: Option<String>,
}

impl SqlExecution {
    /// `RUNNING` without an end, `FAILED` with an error message, else `COMPLETED` (Spark's words).
    pub fn status(&self) -> &'static str {
        match (&self.end_ms, self.error_message.as_deref()) {
            (None, _) => "RUNNING",
            (Some(_), Some(error)) if !error.is_empty() => "FAILED",
            _ => "COMPLETED",
        }
    }
}

/// `SparkListenerSQLExecutionEnd`'s fields the table keeps.
#[derive(Deserialize)]
struct SqlExecutionEnd<'a> {
    #[serde(rename = "Event", borrow)]
    event: Cow<'a, str>,
    #[serde(rename = "executionId")]
    execution_id: i64,
    #[serde(default)]
    time: Option<i64>,
    #[serde(rename = "errorMessage", default)]
    error_message: Option<String>,
}

/// Folds a log's SQL-execution events.
#[derive(Debug, Default)]
pub struct SqlExecutions {
    by_id: BTreeMap<i64, SqlExecution>,
}

/// The part of the SQL execution events' class names no other event has.
const SQL_EVENT: &str = "SparkListenerSQLExecution";

impl SqlExecutions {
    /// Reads one line if it is a SQL execution's start or end; other lines cost one substring search.
    pub fn push_line(&mut self, line: &str) {
        if !line.contains(SQL_EVENT) {
            return;
        }
        if let Ok(Some(SparkEvent::SqlExecutionStart(start))) = parse_event(line) {
            let entry = self.entry(start.execution_id);
            entry.description = start.description.into_owned();
            entry.start_ms = start.time;
            return;
        }
        if let Ok(end) = serde_json::from_str::<SqlExecutionEnd<'_>>(line)
            && end.event.ends_with("SparkListenerSQLExecutionEnd")
        {
            let entry = self.entry(end.execution_id);
            entry.end_ms = end.time;
            entry.error_message = end.error_message;
        }
    }

    fn entry(&mut self, execution_id: i64) -> &mut SqlExecution {
        self.by_id.entry(execution_id).or_insert_with(|| SqlExecution {
            execution_id,
            description: String::new(),
            start_ms: None,
            end_ms: None,
            error_message: None,
        })
    }

    /// The executions, by id.
    pub fn finish(self) -> Vec<SqlExecution> {
        self.by_id.into_values().collect()
    }
}

/// Runs `work` over each log on at least `threads` threads and as many as
/// the machine has cores (each log parsed on one; a lone log on all cores);
/// results in the order of `logs`. More threads than cores pay off when
/// `work` also waits on storage (a file's fsync, an object's PUT). A log
/// whose thread panicked is read again here, after the others.
pub fn on_threads<T: Send>(logs: &[ListedLog], threads: usize, work: impl Fn(&ListedLog, usize) -> T + Sync) -> Vec<T> {
    let cores = sparkplane_workqueue::cores();
    let threads = threads.max(cores).min(logs.len());
    if threads <= 1 {
        return logs.iter().map(|log| work(log, cores)).collect();
    }
    let done = WorkQueue::on_threads(threads).map(logs, |log| work(log, 1));
    done.into_iter().zip(logs).map(|(result, log)| result.unwrap_or_else(|| work(log, 1))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_are_relative_and_survive_the_end_of_an_application() {
        assert_eq!(log_key("/logs", "/logs/local-1.inprogress"), "local-1");
        assert_eq!(log_key("/logs/", "/logs/local-1"), "local-1");
        assert_eq!(log_key("/logs", "/logs/team-a/eventlog_v2_local-2"), "team-a/eventlog_v2_local-2");
        assert_eq!(log_key("s3://b/p", "s3://b/p/app.zstd.inprogress"), "app.zstd");
        // The location is one log itself.
        assert_eq!(log_key("/logs/local-1", "/logs/local-1"), "local-1");
    }

    #[test]
    fn sql_executions_are_read_from_their_start_and_end() {
        let mut sql = SqlExecutions::default();
        let lines = [
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","executionId":1,"description":"count at a.py:3","details":"","physicalPlanDescription":"p","time":100}"#,
            r#"{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":101,"Stage Infos":[],"Stage IDs":[]}"#,
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":1,"time":160,"errorMessage":""}"#,
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","executionId":2,"description":"select boom","physicalPlanDescription":"p","time":200}"#,
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":2,"time":230,"errorMessage":"[DIVIDE_BY_ZERO]"}"#,
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","executionId":3,"description":"still going","physicalPlanDescription":"p","time":300}"#,
            r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":0,"time":1}"#,
        ];
        for line in lines {
            sql.push_line(line);
        }
        let executions = sql.finish();
        let found: Vec<_> = executions
            .iter()
            .map(|e| (e.execution_id, e.status(), e.start_ms, e.end_ms, e.description.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                // An end without its start (a log cut at the front) still counts.
                (0, "COMPLETED", None, Some(1), ""),
                (1, "COMPLETED", Some(100), Some(160), "count at a.py:3"),
                (2, "FAILED", Some(200), Some(230), "select boom"),
                (3, "RUNNING", Some(300), None, "still going"),
            ]
        );
    }
}
