//! The fleet's facts as Parquet, for the CLI rather than the History Server:
//! `sparkplane history export`'s tables that Spark, Trino or DuckDB query —
//! `applications`, `jobs`, `stages`, `executors` and `sql_executions`,
//! Hive-partitioned by the application's start date (UTC) and team
//! (`<table>/date=2026-11-25/team=payments/part-<app>.parquet`) —, the
//! `applications` table read back as the fleet's records (`cost --facts`,
//! `exporter --facts`: [`records`]), and the chargeback rows of
//! `cost --parquet` as one file ([`chargeback`]).
//!
//! Owns: the export workflow ([`export`]): list the logs, decide which to
//! (re)write from the target's manifest ([`manifest`]), read each once into the
//! one event-log model ([`read`]: the listing's `AppSummary` and the History
//! Server's `AppDetail` from one pass, through `sparkplane-history`'s reader),
//! turn it into rows ([`tables`]), encode them ([`encode`]) and put each file
//! where readers see all of it or nothing ([`sink`]). Its two seams are
//! [`read::Logs`] (where logs come from) and [`sink::Sink`] (where files go),
//! so the workflow is tested in memory.
//!
//! Must not: parse events itself (the engine and the replay do), price an
//! application by its own rules (`sparkplane_analysis::cost::app_cost` does),
//! print, or look at the clock (rows depend only on the logs, so a rerun
//! writes byte-identical files, and over unchanged logs writes nothing).

pub mod chargeback;
pub mod encode;
pub mod manifest;
pub mod read;
pub mod records;
pub mod repeat;
pub mod sink;
pub mod tables;

use std::collections::BTreeMap;

use serde::Serialize;
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_eventlog::{LogSource, ReadError};
use sparkplane_storage::{Location, StorageError, Store};

pub use manifest::{Decision, MANIFEST_FILE, Manifest, ManifestEntry, decide};
pub use read::{AppFacts, ListedLog, Logs, SourceLogs, SqlExecution};
pub use records::ExportedRecords;
pub use sink::{LocalDir, MemorySink, ObjectStoreSink, Sink, SinkError};
pub use tables::{TABLES, Tables};

/// The version of the tables' layout: bumped when a column is renamed,
/// retyped or removed (adding a nullable column at the end keeps it). Written in
/// the manifest and in every file's key-value metadata under [`SCHEMA_VERSION_KEY`].
pub const SCHEMA_VERSION: u32 = 1;

/// The Parquet key-value metadata key holding [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "sparkplane.schema_version";

/// Logs read together before their files are written; the manifest is saved
/// after at least this many (see [`export_into`]). What a crash loses from the
/// manifest is written again, identically, by the next run.
pub const CHUNK: usize = 64;

/// Threads that read and write applications at once, at least: writing is
/// mostly waiting for storage (a local file's fsync, an object's PUT), so more
/// threads than cores keep the disk or the network busy.
pub const WRITERS: usize = 8;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The log location could not be listed (`Invalid` when it does not exist, `Unreachable` when unreachable).
    #[error("{0}")]
    Source(ReadError),
    /// The target could not be read or written (`Unreachable`).
    #[error("{0}")]
    Target(SinkError),
    /// `--to` is not a path or a supported object-store URL (`Invalid`).
    #[error("{0}")]
    Location(StorageError),
    /// The target holds an export this version cannot continue (`Invalid`).
    #[error("{url}: {detail}")]
    Manifest { url: String, detail: String },
}

impl ExportError {
    /// How it ends a command: `Unreachable` for an unreachable or unwritable
    /// target or source, `Invalid` for a missing source or a target holding
    /// another export.
    pub fn category(&self) -> sparkplane_category::Category {
        match self {
            ExportError::Source(error) => error.category(),
            ExportError::Target(_) => sparkplane_category::Category::Unreachable,
            ExportError::Location(error) => error.category(),
            ExportError::Manifest { .. } => sparkplane_category::Category::Invalid,
        }
    }
}

/// A log left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedLog {
    /// The log's path or URL.
    pub log: String,
    /// What was wrong with it.
    pub reason: String,
}

/// What one export did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    /// Where the logs were read (path or URL).
    pub source: String,
    /// Where the tables went (path or URL).
    pub target: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Logs found at the source.
    pub listed: u64,
    /// Applications written for the first time.
    pub exported: u64,
    /// In-progress applications written again because their log changed.
    pub updated: u64,
    /// Logs left as they were: unchanged, or completed and already written.
    pub unchanged: u64,
    /// Logs that could not be read (not written; read again next time).
    pub skipped: Vec<SkippedLog>,
    /// Rows written by this run, per table.
    pub rows: BTreeMap<String, u64>,
    /// Parquet files written by this run.
    pub files_written: u64,
    /// Parquet files removed by this run (an updated application's table that moved or emptied).
    pub files_removed: u64,
}

impl ExportReport {
    /// What the export did, in the words `sparkplane history export` prints:
    /// a line of counts, and the files and rows it wrote when it wrote any.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "exported {} application(s) and updated {} in progress from {} to {} (schema version {}); {} unchanged, {} skipped\n",
            self.exported,
            self.updated,
            self.source,
            self.target,
            self.schema_version,
            self.unchanged,
            self.skipped.len()
        );
        if self.files_written > 0 {
            let rows: Vec<String> = self.rows.iter().map(|(table, rows)| format!("{table} {rows}")).collect();
            out.push_str(&format!("wrote {} file(s): rows {}\n", self.files_written, rows.join(", ")));
        }
        out
    }

    /// One warning for each of the first `max` skipped logs (`<log> was <what>: <reason>`), then
    /// one counting the rest.
    pub fn skipped_lines(&self, max: usize, what: &str) -> Vec<String> {
        let mut lines: Vec<String> =
            self.skipped.iter().take(max).map(|s| format!("warning: {} was {what}: {}", s.log, s.reason)).collect();
        if self.skipped.len() > max {
            lines.push(format!("warning: {} more event logs were {what}", self.skipped.len() - max));
        }
        lines
    }

    /// What `history serve --export-to` says after a run: `None` when it exported nothing.
    pub fn progress_line(&self) -> Option<String> {
        (self.exported + self.updated > 0).then(|| {
            format!(
                "exported {} application(s) and updated {} in progress to {}",
                self.exported, self.updated, self.target
            )
        })
    }
}

/// Exports the logs at `from` (a folder or object-store URL) to `to` (a
/// folder, created when missing, or an object-store URL), credentials from the
/// environment: what `sparkplane history export` runs. See [`export`].
pub fn export_location(from: &str, to: &str, sheet: &PriceSheet) -> Result<ExportReport, ExportError> {
    let source = LogSource::parse(from).map_err(ExportError::Source)?;
    let sink = open_target(to)?;
    let described = source.describe();
    let target = sink.describe("");
    if inside(&target, &described) {
        return Err(ExportError::Manifest {
            url: target.trim_end_matches('/').to_owned(),
            detail: format!(
                "is inside the logs at {described}: its files would be listed as event logs; put --to outside --from"
            ),
        });
    }
    let mut report = export(&mut SourceLogs::new(source), sink.as_ref(), sheet)?;
    report.source = described;
    report.target = sink.describe("").trim_end_matches('/').to_owned();
    Ok(report)
}

/// Whether the target (path or URL) is the log location or below it.
fn inside(target: &str, logs: &str) -> bool {
    let (target, logs) = (target.trim_end_matches('/'), logs.trim_end_matches('/'));
    target == logs || target.strip_prefix(logs).is_some_and(|rest| rest.starts_with('/'))
}

/// The sink for `--to`: a folder, or an object-store prefix with credentials from the environment.
pub fn open_target(to: &str) -> Result<Box<dyn Sink + Send>, ExportError> {
    let target = Location::parse(to).map_err(ExportError::Location)?;
    Ok(match &target {
        Location::Local(path) => Box::new(LocalDir::new(path)),
        Location::Remote { .. } => Box::new(ObjectStoreSink::new(Store::open(&target).map_err(ExportError::Location)?)),
    })
}

/// Exports every application at `logs` that the target's manifest does not
/// already hold as it is (see [`decide`]) into `sink`, pricing each with
/// `sheet`. Each application's files are written atomically, then the
/// manifest (see [`export_into`]); a run that finds nothing to do writes
/// nothing. A log that cannot be read is skipped and reported, not fatal.
pub fn export(logs: &mut dyn Logs, sink: &dyn Sink, sheet: &PriceSheet) -> Result<ExportReport, ExportError> {
    let mut manifest = Manifest::load(sink)?;
    export_into(&mut manifest, logs, sink, sheet)
}

/// As [`export`], with the target's manifest already loaded: a long-running
/// exporter ([`repeat::ExportLoop`]) keeps it in memory between runs. The
/// manifest is saved once at least [`CHUNK`] logs — and an eighth of those it
/// lists — were written since the last save (so saving stays linear in the
/// fleet's size), and at the end.
pub fn export_into(
    manifest: &mut Manifest,
    logs: &mut dyn Logs,
    sink: &dyn Sink,
    sheet: &PriceSheet,
) -> Result<ExportReport, ExportError> {
    let listed = logs.list().map_err(ExportError::Source)?;
    let mut report = ExportReport { schema_version: SCHEMA_VERSION, listed: listed.len() as u64, ..Default::default() };
    let mut todo = Vec::new();
    for log in listed {
        match decide(manifest.logs.get(&log.key), &log) {
            Decision::Write | Decision::Rewrite => todo.push(log),
            Decision::Unchanged | Decision::Final => report.unchanged += 1,
        }
    }
    if manifest.is_new() {
        // The first write doubles as the check that the target is writable at all.
        manifest.save(sink)?;
    }
    let logs: &dyn Logs = logs;
    let mut unsaved = 0;
    for chunk in todo.chunks(CHUNK) {
        // Read, build and write each application on its own thread; record them in order.
        let written = read::on_threads(chunk, WRITERS, |log, workers| {
            let tables = logs.read(log, workers).and_then(|facts| Tables::build(&facts, log, sheet))?;
            Ok(write_files(sink, &tables).map(|files| (tables, files)))
        });
        for (log, result) in chunk.iter().zip(written) {
            match result {
                Ok(written) => {
                    let (tables, files) = written?;
                    record_app(sink, manifest, log, &tables, files, &mut report)?;
                }
                Err(reason) => report.skipped.push(SkippedLog { log: log.name.clone(), reason }),
            }
        }
        unsaved += chunk.len();
        if manifest.is_dirty() && unsaved >= CHUNK.max(manifest.logs.len() / 8) {
            manifest.save(sink)?;
            unsaved = 0;
        }
    }
    if manifest.is_dirty() {
        manifest.save(sink)?;
    }
    Ok(report)
}

/// Writes one application's files (each atomically); their paths.
fn write_files(sink: &dyn Sink, tables: &Tables) -> Result<Vec<(String, u64)>, ExportError> {
    let mut files = Vec::new();
    for (table, batch) in tables.non_empty() {
        let path = tables.path(table);
        let bytes = encode::parquet(table, batch).map_err(|detail| {
            ExportError::Target(SinkError { url: sink.describe(&path), detail: format!("cannot encode: {detail}") })
        })?;
        sink.write_atomically(&path, bytes).map_err(ExportError::Target)?;
        files.push((path, batch.num_rows() as u64));
    }
    Ok(files)
}

/// Counts one written application, removes the files an earlier export of it
/// wrote that this one did not, and records it in the manifest (in memory).
fn record_app(
    sink: &dyn Sink,
    manifest: &mut Manifest,
    log: &ListedLog,
    tables: &Tables,
    written: Vec<(String, u64)>,
    report: &mut ExportReport,
) -> Result<(), ExportError> {
    let mut files = Vec::new();
    for (path, rows) in written {
        let table = path.split('/').next().unwrap_or_default();
        *report.rows.entry(table.to_owned()).or_default() += rows;
        report.files_written += 1;
        files.push(path);
    }
    let previous = manifest.logs.get(&log.key);
    if previous.is_some() {
        report.updated += 1
    } else {
        report.exported += 1
    }
    let stale: Vec<String> =
        previous.map(|p| p.files.iter().filter(|f| !files.contains(f)).cloned().collect()).unwrap_or_default();
    for path in stale {
        sink.remove(&path).map_err(ExportError::Target)?;
        report.files_removed += 1;
    }
    manifest.record(log, tables.completed, tables.app_key.clone(), files);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow_array::{Array, Float64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use sparkplane_analysis::cost::app_cost;

    use super::*;
    use crate::read::facts_from_text;

    #[test]
    fn a_reports_lines_name_the_first_skipped_logs_count_the_rest_and_say_nothing_when_idle() {
        let skip = |n: usize| SkippedLog { log: format!("s3://logs/app-{n}"), reason: "truncated".into() };
        let report =
            ExportReport { skipped: (1..=3).map(skip).collect(), target: "/facts".into(), ..Default::default() };
        assert_eq!(
            report.skipped_lines(2, "not exported"),
            [
                "warning: s3://logs/app-1 was not exported: truncated",
                "warning: s3://logs/app-2 was not exported: truncated",
                "warning: 1 more event logs were not exported",
            ]
        );
        assert_eq!(report.skipped_lines(3, "skipped").len(), 3);
        assert_eq!(report.progress_line(), None);
        let wrote = ExportReport { exported: 2, updated: 1, ..report };
        assert_eq!(
            wrote.progress_line().as_deref(),
            Some("exported 2 application(s) and updated 1 in progress to /facts")
        );
    }

    /// Spark's own test log with SQL (6 jobs, 2 SQL executions), given a team.
    fn spark_log() -> String {
        include_str!("../../sparkplane-history/tests/data/spark-history/spark-events/local-1642039451826").replacen(
            "\"Spark Properties\":{",
            "\"Spark Properties\":{\"spark.sparkplane.team\":\"pay/ments\",",
            1,
        )
    }

    /// A small log of Spark's (3 jobs, no SQL, no team).
    fn small_log() -> String {
        include_str!("../../sparkplane-history/tests/data/spark-history/spark-events/local-1422981780767").to_owned()
    }

    /// Logs in memory: (key, text, in progress), listed with a size and time the test sets.
    #[derive(Default)]
    struct MemoryLogs {
        logs: BTreeMap<String, (String, bool, i64)>,
    }

    impl MemoryLogs {
        fn put(&mut self, key: &str, text: String, in_progress: bool, modified_ms: i64) {
            self.logs.insert(key.to_owned(), (text, in_progress, modified_ms));
        }
    }

    impl Logs for MemoryLogs {
        fn list(&mut self) -> Result<Vec<ListedLog>, ReadError> {
            Ok(self
                .logs
                .iter()
                .map(|(key, (text, _, modified))| ListedLog {
                    key: key.clone(),
                    name: format!("/logs/{key}"),
                    size: text.len() as u64,
                    modified_ms: Some(*modified),
                    fingerprint: sparkplane_eventlog::log_fingerprint([sparkplane_eventlog::LogFile {
                        name: key,
                        size: text.len() as u64,
                        modified_ms: Some(*modified),
                        e_tag: None,
                    }]),
                })
                .collect())
        }

        fn read(&self, log: &ListedLog, _workers: usize) -> Result<AppFacts, String> {
            let (text, in_progress, _) = self.logs.get(&log.key).ok_or("gone")?;
            facts_from_text(&log.name, text, *in_progress)
        }
    }

    fn listed(key: &str, text: &str) -> ListedLog {
        let size = text.len() as u64;
        ListedLog { key: key.into(), name: format!("/logs/{key}"), size, modified_ms: Some(1), fingerprint: size }
    }

    /// Rows of a Parquet file (which must be complete to be read).
    fn rows(bytes: &[u8]) -> usize {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.to_vec()))
            .expect("a complete Parquet file")
            .build()
            .expect("reader");
        reader.map(|b| b.expect("batch").num_rows()).sum()
    }

    #[test]
    fn tables_hold_one_row_per_record_of_the_model_under_the_apps_date_and_team() {
        let text = spark_log();
        let facts = facts_from_text("/logs/local-1642039451826", &text, false).expect("reads");
        let sheet = PriceSheet::opencost_defaults();
        let tables = Tables::build(&facts, &listed("local-1642039451826", &text), &sheet).expect("builds");
        let count = |table: &str| tables.batches.iter().find(|(t, _)| *t == table).map(|(_, b)| b.num_rows());
        assert_eq!(count("applications"), Some(1));
        // The log holds 6 job starts and 2 SQL executions.
        assert_eq!(count("jobs"), Some(6));
        assert_eq!(count("sql_executions"), Some(2));
        assert_eq!(count("stages"), Some(facts.detail.stages.len()));
        assert_eq!(count("executors"), Some(facts.detail.executors.len()));
        assert!(tables.completed);
        // Started 2022-01-13 01:44 UTC; the team's `/` is escaped as Spark escapes partition values.
        assert_eq!(tables.path("jobs"), "jobs/date=2022-01-13/team=pay%2Fments/part-local-1642039451826.parquet");

        let (_, apps) = &tables.batches[0];
        let cost = apps.column_by_name("cost_usd").expect("cost").as_any().downcast_ref::<Float64Array>().expect("f64");
        assert_eq!(cost.value(0), app_cost(&facts.summary, &sheet).cost, "the cost is `cost`'s, unrounded");
        let outcome = apps.column_by_name("outcome").expect("outcome").as_any().downcast_ref::<StringArray>();
        assert_eq!(outcome.expect("text").value(0), "succeeded");
    }

    #[test]
    fn every_table_starts_with_the_application_ids_and_schemas_match_the_rows() {
        let text = spark_log();
        let facts = facts_from_text("/logs/x", &text, false).expect("reads");
        let tables = Tables::build(&facts, &listed("x", &text), &PriceSheet::opencost_defaults()).expect("builds");
        let schemas = Tables::schemas().expect("schemas");
        assert_eq!(schemas.iter().map(|(t, _)| *t).collect::<Vec<_>>(), TABLES);
        for ((table, batch), (_, schema)) in tables.batches.iter().zip(&schemas) {
            assert_eq!(batch.schema().as_ref(), schema, "{table}: the empty table's schema is the full one's");
            let names: Vec<&str> = schema.fields().iter().take(2).map(|f| f.name().as_str()).collect();
            assert_eq!(names, ["app_id", "attempt_id"], "{table}");
        }
    }

    #[test]
    fn a_target_inside_the_logs_is_refused() {
        assert!(inside("/data/logs/facts/", "/data/logs"));
        assert!(inside("s3://b/logs", "s3://b/logs/"));
        assert!(!inside("/data/logs-facts", "/data/logs"));
        assert!(!inside("/data/facts", "/data/logs"));
    }

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(tables::escape_partition("payments"), "payments");
        assert_eq!(tables::escape_partition("a/b:c=d%e"), "a%2Fb%3Ac%3Dd%25e");
        assert_eq!(tables::escape_partition("ml team"), "ml team");
    }

    #[test]
    fn an_export_writes_each_application_once_and_a_rerun_writes_nothing() {
        let mut logs = MemoryLogs::default();
        logs.put("local-1642039451826", spark_log(), false, 10);
        logs.put("local-1422981780767", small_log(), false, 10);
        logs.put("garbage", "not an event log\n".into(), false, 10);
        let sink = MemorySink::default();
        let sheet = PriceSheet::opencost_defaults();
        let report = export(&mut logs, &sink, &sheet).expect("exports");
        assert_eq!((report.listed, report.exported, report.updated, report.unchanged), (3, 2, 0, 0));
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].log, "/logs/garbage");
        assert_eq!(report.skipped[0].reason, "holds no Spark events");
        assert_eq!(report.rows["jobs"], 6 + 3);
        assert_eq!(report.rows["sql_executions"], 2);
        // Five tables of the one, four of the other (no SQL executions: no empty file).
        assert_eq!(report.files_written, 9);
        let files = sink.files();
        assert!(files.contains_key("applications/date=2015-02-03/team=unknown/part-local-1422981780767.parquet"));
        let writes = sink.writes();

        let again = export(&mut logs, &sink, &sheet).expect("exports");
        assert_eq!((again.exported, again.updated, again.unchanged, again.files_written), (0, 0, 2, 0));
        assert_eq!(sink.writes(), writes, "nothing written, not even the manifest");
        assert_eq!(sink.files(), files);

        // The files are complete Parquet with the schema version in their metadata.
        let bytes = &files["jobs/date=2022-01-13/team=pay%2Fments/part-local-1642039451826.parquet"];
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.clone())).expect("parquet");
        let metadata = reader.metadata().file_metadata().key_value_metadata().expect("metadata").clone();
        assert!(metadata.iter().any(|kv| kv.key == SCHEMA_VERSION_KEY && kv.value.as_deref() == Some("1")));
        assert_eq!(rows(bytes), 6);
    }

    #[test]
    fn an_in_progress_application_is_written_again_when_its_log_changes_and_a_completed_one_is_not() {
        let full = small_log();
        let cut: String = full.lines().take(30).map(|l| format!("{l}\n")).collect();
        let mut logs = MemoryLogs::default();
        logs.put("running", cut, true, 10);
        logs.put("done", spark_log(), false, 10);
        let sink = MemorySink::default();
        let sheet = PriceSheet::opencost_defaults();
        let first = export(&mut logs, &sink, &sheet).expect("exports");
        assert_eq!(first.exported, 2);
        let manifest = Manifest::load(&sink).expect("manifest");
        assert!(!manifest.logs["running"].completed && manifest.logs["done"].completed);
        let jobs_path = "jobs/date=2015-02-03/team=unknown/part-local-1422981780767.parquet";
        let jobs_before = rows(&sink.get(jobs_path).expect("jobs of the running app"));

        // The running application ends; the completed one's log is touched.
        logs.put("running", full, false, 20);
        logs.put("done", spark_log(), false, 20);
        let second = export(&mut logs, &sink, &sheet).expect("exports");
        assert_eq!((second.exported, second.updated, second.unchanged), (0, 1, 1));
        let jobs_after = rows(&sink.get(jobs_path).expect("jobs"));
        assert!(jobs_after > jobs_before, "{jobs_before} → {jobs_after}");
        assert_eq!(jobs_after, 3);
        assert!(Manifest::load(&sink).expect("manifest").logs["running"].completed);
    }

    #[test]
    fn a_failed_write_leaves_only_complete_files_and_the_next_run_finishes() {
        let mut logs = MemoryLogs::default();
        logs.put("a", spark_log(), false, 10);
        logs.put("b", small_log(), false, 10);
        let sheet = PriceSheet::opencost_defaults();
        let clean = MemorySink::default();
        export(&mut logs, &clean, &sheet).expect("exports");

        // The manifest, then three table files, then the store goes away.
        let sink = MemorySink::failing_after(4);
        let error = export(&mut logs, &sink, &sheet).expect_err("the fifth write fails");
        assert_eq!(error.category(), sparkplane_category::Category::Unreachable);
        assert!(error.to_string().starts_with("memory://") && error.to_string().ends_with("injected write failure"));
        let partial = sink.files();
        assert_eq!(partial.len(), 4);
        for (path, bytes) in &partial {
            if path.ends_with(".parquet") {
                assert_eq!(bytes, &clean.files()[path], "{path} is complete");
            }
        }
        sink.heal();
        let report = export(&mut logs, &sink, &sheet).expect("finishes");
        assert_eq!(report.exported, 2, "nothing was recorded before the failure");
        assert_eq!(sink.files(), clean.files());
    }
}
