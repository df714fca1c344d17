//! One application's rows of the five fleet tables, and where its files go.
//!
//! Owns: each table's columns (names, types, order: the schema documented in
//! docs/history-export.md, version [`crate::SCHEMA_VERSION`]), the Hive
//! partition path (`date=<start date, UTC>/team=<team>`, escaped as Hive and
//! Spark escape partition values) and the file name. Must not: read logs,
//! price by its own rules (the cost columns are `app_cost`'s) or encode files.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow_array::types::Int64Type;
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{Field, Schema};
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_analysis::fleet::FleetRecord;
use sparkplane_appstatus::replay::{AppDetail, Executor, Job, Stage};
use sparkplane_eventlog::Outcome;

use crate::read::{AppFacts, ListedLog, SqlExecution};

/// The tables, in the order files are written.
pub const TABLES: [&str; 5] = ["applications", "jobs", "stages", "executors", "sql_executions"];

/// The partition value of an application without a team.
pub const UNKNOWN_TEAM: &str = "unknown";

/// The partition value Hive and Spark read as NULL (an application without a start time).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// One application's rows, table by table, and where they go.
#[derive(Debug, Clone)]
pub struct Tables {
    /// `id` or `id/attempt`.
    pub app_key: String,
    /// The application had ended (not in progress, with an end event).
    pub completed: bool,
    /// Start date (UTC), `YYYY-MM-DD`.
    pub date: Option<String>,
    /// The team (`sparkplane.dev/team` label, else `spark.sparkplane.team`).
    pub team: Option<String>,
    /// `part-<id>[_<attempt>]`.
    file_stem: String,
    /// By table, in [`TABLES`] order.
    pub batches: Vec<(&'static str, RecordBatch)>,
}

impl Tables {
    /// Builds every table's rows of one application.
    pub fn build(facts: &AppFacts, log: &ListedLog, sheet: &PriceSheet) -> Result<Tables, String> {
        let summary = &facts.summary;
        let app_id = summary.app_id.clone().ok_or("no application id")?;
        let ids = Ids { app_id, attempt_id: summary.attempt_id.clone() };
        let record = FleetRecord::of(summary, sheet);
        let cost = &record.cost;
        let date = summary.start_time_ms.and_then(utc_date);
        let stem = match &ids.attempt_id {
            Some(attempt) => format!("part-{}_{}", file_safe(&ids.app_id), file_safe(attempt)),
            None => format!("part-{}", file_safe(&ids.app_id)),
        };
        let batches = vec![
            ("applications", applications(&ids, &record, log)?),
            ("jobs", jobs(&ids, &facts.detail)?),
            ("stages", stages(&ids, &facts.detail)?),
            ("executors", executors(&ids, &facts.detail)?),
            ("sql_executions", sql_executions(&ids, &facts.sql)?),
        ];
        Ok(Tables {
            app_key: cost.app.clone(),
            completed: record.completed,
            date,
            team: cost.team.clone(),
            file_stem: stem,
            batches,
        })
    }

    /// The tables that have rows (an application without SQL writes no `sql_executions` file).
    pub fn non_empty(&self) -> impl Iterator<Item = (&'static str, &RecordBatch)> {
        self.batches.iter().filter(|(_, b)| b.num_rows() > 0).map(|(t, b)| (*t, b))
    }

    /// `<table>/date=<date>/team=<team>/<stem>.parquet`.
    pub fn path(&self, table: &str) -> String {
        let date = self.date.as_deref().map_or_else(|| NULL_PARTITION.to_owned(), escape_partition);
        let team = escape_partition(self.team.as_deref().unwrap_or(UNKNOWN_TEAM));
        format!("{table}/date={date}/team={team}/{}.parquet", self.file_stem)
    }

    /// Each table's schema (what a table of no rows has).
    pub fn schemas() -> Result<Vec<(&'static str, Schema)>, String> {
        let ids = Ids { app_id: String::new(), attempt_id: None };
        let detail = AppDetail::default();
        let summary = sparkplane_eventlog::AppSummaryBuilder::new().finish();
        let record = FleetRecord::of(&summary, &PriceSheet::opencost_defaults());
        let log = ListedLog { key: String::new(), name: String::new(), size: 0, modified_ms: None, fingerprint: 0 };
        let one = |batch: RecordBatch| batch.schema().as_ref().clone();
        Ok(vec![
            ("applications", one(applications(&ids, &record, &log)?)),
            ("jobs", one(jobs(&ids, &detail)?)),
            ("stages", one(stages(&ids, &detail)?)),
            ("executors", one(executors(&ids, &detail)?)),
            ("sql_executions", one(sql_executions(&ids, &[])?)),
        ])
    }
}

/// The start date, UTC.
fn utc_date(epoch_ms: u64) -> Option<String> {
    let ms = i64::try_from(epoch_ms).ok()?;
    let timestamp = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(timestamp.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
}

/// A partition value as Hive and Spark write it in a path: `%XX` for the
/// characters their `escapePathName` escapes.
pub fn escape_partition(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let escaped = c.is_ascii_control()
            || matches!(c, '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^');
        if escaped {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// An id as a file name: letters, digits, `.`, `-` and `_` kept, anything else `_`.
fn file_safe(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

/// The application's ids, the first columns of every table.
struct Ids {
    app_id: String,
    attempt_id: Option<String>,
}

/// Columns of one table, built in order; each field's type is its array's.
struct Columns {
    rows: usize,
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

fn ms(value: Option<u64>) -> Option<i64> {
    value.and_then(|v| i64::try_from(v).ok())
}

fn u(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn between(start: Option<i64>, end: Option<i64>) -> Option<i64> {
    Some(end? - start?).filter(|d| *d >= 0)
}

impl Columns {
    /// Starts a table of `rows` rows with `app_id` and `attempt_id`.
    fn new(ids: &Ids, rows: usize) -> Columns {
        let mut columns = Columns { rows, fields: Vec::new(), arrays: Vec::new() };
        columns.text("app_id", (0..rows).map(|_| ids.app_id.clone()));
        columns.opt_text("attempt_id", (0..rows).map(|_| ids.attempt_id.clone()));
        columns
    }

    fn push(&mut self, name: &str, nullable: bool, array: ArrayRef) {
        self.fields.push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
    }

    fn text(&mut self, name: &str, values: impl IntoIterator<Item = String>) {
        self.push(name, false, Arc::new(StringArray::from_iter_values(values)));
    }

    fn opt_text(&mut self, name: &str, values: impl IntoIterator<Item = Option<String>>) {
        self.push(name, true, Arc::new(values.into_iter().collect::<StringArray>()));
    }

    fn int(&mut self, name: &str, values: impl IntoIterator<Item = i64>) {
        self.push(name, false, Arc::new(Int64Array::from_iter_values(values)));
    }

    fn opt_int(&mut self, name: &str, values: impl IntoIterator<Item = Option<i64>>) {
        self.push(name, true, Arc::new(values.into_iter().collect::<Int64Array>()));
    }

    fn float(&mut self, name: &str, values: impl IntoIterator<Item = f64>) {
        self.push(name, false, Arc::new(Float64Array::from_iter_values(values)));
    }

    fn opt_float(&mut self, name: &str, values: impl IntoIterator<Item = Option<f64>>) {
        self.push(name, true, Arc::new(values.into_iter().collect::<Float64Array>()));
    }

    /// A list of strings per row (never null when written; nullable for files written before the column).
    fn text_list(&mut self, name: &str, values: impl IntoIterator<Item = Vec<String>>) {
        let mut lists = ListBuilder::new(StringBuilder::new());
        for list in values {
            for item in list {
                lists.values().append_value(item);
            }
            lists.append(true);
        }
        self.push(name, true, Arc::new(lists.finish()));
    }

    /// A map of string to count per row, keys in order (nullable as `text_list`).
    fn count_map(&mut self, name: &str, values: impl IntoIterator<Item = Vec<(String, i64)>>) {
        let mut maps = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
        for map in values {
            for (key, count) in map {
                maps.keys().append_value(key);
                maps.values().append_value(count);
            }
            // Appending a map entry to the builder cannot fail for a valid row.
            let _ = maps.append(true);
        }
        self.push(name, true, Arc::new(maps.finish()));
    }

    fn boolean(&mut self, name: &str, values: impl IntoIterator<Item = bool>) {
        self.push(name, false, Arc::new(values.into_iter().map(Some).collect::<BooleanArray>()));
    }

    /// A UTC timestamp in milliseconds.
    fn time(&mut self, name: &str, values: impl IntoIterator<Item = Option<i64>>) {
        let array = values.into_iter().collect::<TimestampMillisecondArray>().with_timezone("UTC");
        self.push(name, true, Arc::new(array));
    }

    fn int_list(&mut self, name: &str, values: impl IntoIterator<Item = Vec<i64>>) {
        let lists = values.into_iter().map(|list| Some(list.into_iter().map(Some).collect::<Vec<_>>()));
        self.push(name, false, Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(lists)));
    }

    fn batch(self) -> Result<RecordBatch, String> {
        debug_assert!(self.arrays.iter().all(|a| a.len() == self.rows));
        RecordBatch::try_new(Arc::new(Schema::new(self.fields)), self.arrays).map_err(|e| e.to_string())
    }
}

pub(crate) fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::Incomplete => "incomplete",
    }
}

/// One row: the application as listing, `analyze`, `cost` and the exporter
/// see it (`FleetRecord`). The columns after `log_bytes` came later and are
/// nullable for the files written before them; `export::records` reads the
/// row back.
fn applications(ids: &Ids, app: &FleetRecord, log: &ListedLog) -> Result<RecordBatch, String> {
    let cost = &app.cost;
    let mut c = Columns::new(ids, 1);
    c.opt_text("name", [app.name.clone()]);
    c.opt_text("user", [app.user.clone()]);
    c.opt_text("spark_version", [app.spark_version.clone()]);
    c.time("start_time", [ms(app.start_time_ms)]);
    c.time("end_time", [ms(app.end_time_ms)]);
    c.opt_int("duration_ms", [ms(app.duration_ms)]);
    c.text("outcome", [outcome(app.outcome).to_owned()]);
    c.boolean("completed", [app.completed]);
    c.opt_int("exit_code", [app.exit_code.map(i64::from)]);
    c.opt_text("failure", [app.failure.clone()]);
    c.opt_text("job", [cost.job.clone()]);
    c.opt_text("cost_center", [cost.cost_center.clone()]);
    c.opt_text("namespace", [cost.namespace.clone()]);
    c.opt_text("node_pool", [cost.node_pool.clone()]);
    c.boolean("spot", [cost.spot]);
    c.boolean("session", [cost.session]);
    c.int("jobs", [u(app.jobs)]);
    c.int("jobs_failed", [u(app.jobs_failed)]);
    c.int("stages", [u(app.stages)]);
    c.int("stages_failed", [u(app.stages_failed)]);
    c.int("stages_skipped", [u(app.stages_skipped)]);
    c.int("tasks", [u(app.tasks)]);
    c.int("tasks_failed", [u(app.tasks_failed)]);
    c.int("tasks_killed", [u(app.tasks_killed)]);
    c.int("task_time_ms", [u(app.task_time_ms)]);
    c.int("cpu_time_ms", [u(app.cpu_time_ms)]);
    c.int("gc_time_ms", [u(app.gc_time_ms)]);
    c.int("input_bytes", [u(app.input_bytes)]);
    c.int("output_bytes", [u(app.output_bytes)]);
    c.int("shuffle_read_bytes", [u(app.shuffle_read_bytes)]);
    c.int("shuffle_write_bytes", [u(app.shuffle_write_bytes)]);
    c.int("memory_spill_bytes", [u(app.memory_spill_bytes)]);
    c.int("disk_spill_bytes", [u(app.disk_spill_bytes)]);
    c.int("executors", [u(app.executors)]);
    c.int("max_concurrent_executors", [u(app.max_concurrent_executors)]);
    c.float("core_hours", [cost.core_hours]);
    c.float("gib_hours", [cost.gib_hours]);
    c.float("gpu_hours", [cost.gpu_hours]);
    c.float("cost_usd", [cost.cost]);
    c.text("log", [log.key.clone()]);
    c.int("log_bytes", [u(log.size)]);
    c.opt_text("charged_team", [cost.team.clone()]);
    c.opt_int("executor_memory_mib", [Some(u(cost.executor_memory.mib()))]);
    c.opt_float("executor_gpus", [Some(cost.executor_gpus)]);
    c.text_list("cost_notes", [cost.notes.clone()]);
    c.opt_text("failure_cause", [app.failure_cause.map(|cause| cause.as_str().to_owned())]);
    let by_cause = app.task_failures_by_cause.iter().map(|(cause, n)| (cause.as_str().to_owned(), u(*n))).collect();
    c.count_map("task_failures_by_cause", [by_cause]);
    c.opt_float("gc_share", [app.gc_share]);
    c.opt_float("executor_utilisation", [app.executor_utilisation]);
    c.opt_float("worst_stage_skew", [app.worst_stage_skew]);
    c.opt_float("slo_max_duration_s", [app.slo_max_duration_s]);
    c.batch()
}

/// One row per job, as the History Server's `jobs` answers.
fn jobs(ids: &Ids, detail: &AppDetail) -> Result<RecordBatch, String> {
    let jobs: Vec<&Job> = detail.jobs.values().collect();
    let mut c = Columns::new(ids, jobs.len());
    c.int("job_id", jobs.iter().map(|j| j.id));
    c.text("name", jobs.iter().map(|j| j.name.clone()));
    c.opt_text("description", jobs.iter().map(|j| j.description.clone()));
    c.opt_text("job_group", jobs.iter().map(|j| j.job_group.clone()));
    c.text("status", jobs.iter().map(|j| j.status.to_owned()));
    c.time("submission_time", jobs.iter().map(|j| j.submission_time));
    c.time("completion_time", jobs.iter().map(|j| j.completion_time));
    c.opt_int("duration_ms", jobs.iter().map(|j| between(j.submission_time, j.completion_time)));
    c.int_list("stage_ids", jobs.iter().map(|j| j.stage_ids.clone()));
    c.int("tasks", jobs.iter().map(|j| j.num_tasks));
    c.int("completed_tasks", jobs.iter().map(|j| j.completed_tasks));
    c.int("failed_tasks", jobs.iter().map(|j| j.failed_tasks));
    c.int("killed_tasks", jobs.iter().map(|j| j.killed_tasks));
    c.int("skipped_tasks", jobs.iter().map(|j| j.skipped_tasks));
    c.int("completed_stages", jobs.iter().map(|j| j.completed_stages.len() as i64));
    c.int("failed_stages", jobs.iter().map(|j| j.failed_stages));
    c.int("skipped_stages", jobs.iter().map(|j| j.skipped_stages));
    c.batch()
}

/// One row per stage attempt, as the History Server's `stages` answers.
fn stages(ids: &Ids, detail: &AppDetail) -> Result<RecordBatch, String> {
    let stages: Vec<&Stage> = detail.stages.values().collect();
    let mut c = Columns::new(ids, stages.len());
    c.int("stage_id", stages.iter().map(|s| s.stage_id));
    c.int("stage_attempt_id", stages.iter().map(|s| s.attempt_id));
    c.text("name", stages.iter().map(|s| s.name.clone()));
    c.text("status", stages.iter().map(|s| s.status.to_owned()));
    c.int_list("job_ids", stages.iter().map(|s| s.job_ids.iter().copied().collect()));
    c.int("tasks", stages.iter().map(|s| s.num_tasks));
    c.int("completed_tasks", stages.iter().map(|s| s.complete_tasks));
    c.int("failed_tasks", stages.iter().map(|s| s.failed_tasks));
    c.int("killed_tasks", stages.iter().map(|s| s.killed_tasks));
    c.time("submission_time", stages.iter().map(|s| s.submission_time));
    c.time("first_task_launched_time", stages.iter().map(|s| s.first_task_launched_time));
    c.time("completion_time", stages.iter().map(|s| s.completion_time));
    c.opt_int("duration_ms", stages.iter().map(|s| between(s.submission_time, s.completion_time)));
    let m = |f: fn(&Stage) -> i64| stages.iter().map(move |s| f(s)).collect::<Vec<_>>();
    c.int("executor_run_time_ms", m(|s| s.metrics.executor_run_time));
    c.int("executor_cpu_time_ns", m(|s| s.metrics.executor_cpu_time));
    c.int("jvm_gc_time_ms", m(|s| s.metrics.jvm_gc_time));
    c.int("input_bytes", m(|s| s.metrics.input_bytes));
    c.int("input_records", m(|s| s.metrics.input_records));
    c.int("output_bytes", m(|s| s.metrics.output_bytes));
    c.int("output_records", m(|s| s.metrics.output_records));
    c.int("shuffle_read_bytes", m(|s| s.metrics.shuffle_remote_bytes_read + s.metrics.shuffle_local_bytes_read));
    c.int("shuffle_read_records", m(|s| s.metrics.shuffle_records_read));
    c.int("shuffle_write_bytes", m(|s| s.metrics.shuffle_bytes_written));
    c.int("shuffle_write_records", m(|s| s.metrics.shuffle_records_written));
    c.int("memory_spill_bytes", m(|s| s.metrics.memory_bytes_spilled));
    c.int("disk_spill_bytes", m(|s| s.metrics.disk_bytes_spilled));
    c.int("peak_execution_memory", m(|s| s.metrics.peak_execution_memory));
    c.opt_text("failure_reason", stages.iter().map(|s| s.failure_reason.clone()));
    c.batch()
}

/// One row per executor (the driver included), as `allexecutors` answers.
fn executors(ids: &Ids, detail: &AppDetail) -> Result<RecordBatch, String> {
    let executors: Vec<&Executor> = detail.executors.values().collect();
    let mut c = Columns::new(ids, executors.len());
    c.text("executor_id", executors.iter().map(|e| e.id.clone()));
    c.text("host_port", executors.iter().map(|e| e.host_port.clone()));
    c.boolean("is_active", executors.iter().map(|e| e.is_active));
    c.int("total_cores", executors.iter().map(|e| e.total_cores));
    c.int("max_memory", executors.iter().map(|e| e.max_memory));
    c.time("add_time", executors.iter().map(|e| e.add_time));
    c.time("remove_time", executors.iter().map(|e| e.remove_time));
    c.opt_text("remove_reason", executors.iter().map(|e| e.remove_reason.clone()));
    c.int("completed_tasks", executors.iter().map(|e| e.completed_tasks));
    c.int("failed_tasks", executors.iter().map(|e| e.failed_tasks));
    c.int("total_duration_ms", executors.iter().map(|e| e.total_duration));
    c.int("total_gc_time_ms", executors.iter().map(|e| e.total_gc_time));
    c.int("total_input_bytes", executors.iter().map(|e| e.total_input_bytes));
    c.int("total_shuffle_read_bytes", executors.iter().map(|e| e.total_shuffle_read));
    c.int("total_shuffle_write_bytes", executors.iter().map(|e| e.total_shuffle_write));
    c.opt_int("peak_jvm_heap_bytes", executors.iter().map(|e| e.peak.map(|p| p.get("JVMHeapMemory"))));
    c.opt_int("peak_jvm_off_heap_bytes", executors.iter().map(|e| e.peak.map(|p| p.get("JVMOffHeapMemory"))));
    c.batch()
}

/// One row per SQL execution.
fn sql_executions(ids: &Ids, sql: &[SqlExecution]) -> Result<RecordBatch, String> {
    let mut c = Columns::new(ids, sql.len());
    c.int("execution_id", sql.iter().map(|e| e.execution_id));
    c.text("description", sql.iter().map(|e| e.description.clone()));
    c.text("status", sql.iter().map(|e| e.status().to_owned()));
    c.time("start_time", sql.iter().map(|e| e.start_ms));
    c.time("end_time", sql.iter().map(|e| e.end_ms));
    c.opt_int("duration_ms", sql.iter().map(|e| between(e.start_ms, e.end_ms)));
    c.opt_text("error_message", sql.iter().map(|e| e.error_message.clone().filter(|m| !m.is_empty())));
    c.batch()
}

#[cfg(test)]
mod tests {
    use arrow_schema::{DataType, TimeUnit};

    use super::*;

    /// The Spark SQL type a reader sees for an Arrow type the tables use.
    fn spark_type(data_type: &DataType) -> String {
        match data_type {
            DataType::Utf8 => "string".to_owned(),
            DataType::Int64 => "bigint".to_owned(),
            DataType::Float64 => "double".to_owned(),
            DataType::Boolean => "boolean".to_owned(),
            DataType::Timestamp(TimeUnit::Millisecond, Some(_)) => "timestamp".to_owned(),
            DataType::List(item) => format!("array<{}>", spark_type(item.data_type())),
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(fields) if fields.len() == 2 => {
                    format!("map<{},{}>", spark_type(fields[0].data_type()), spark_type(fields[1].data_type()))
                }
                other => panic!("a map's entries are a two-field struct, not {other:?}"),
            },
            other => panic!("no Spark type written down for {other:?}"),
        }
    }

    /// docs/history-export.md lists every table's columns, in order, with the
    /// type Spark reads them as and whether they may be null.
    #[test]
    fn the_documented_schema_is_the_written_one() {
        let docs = include_str!("../../../docs/history-export.md");
        for (table, schema) in Tables::schemas().expect("schemas") {
            let heading = format!("### `{table}`\n");
            let start = docs.find(&heading).unwrap_or_else(|| panic!("docs/history-export.md has no {heading}"));
            let section = &docs[start + heading.len()..];
            let section = &section[..section.find("\n### ").unwrap_or(section.len())];
            let documented: Vec<String> = section
                .lines()
                .filter(|l| l.starts_with("| `"))
                .map(|l| l.split('|').take(4).collect::<Vec<_>>().join("|"))
                .collect();
            let written: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| {
                    let null = if f.is_nullable() { "yes" } else { "no" };
                    format!("| `{}` | {} | {null} ", f.name(), spark_type(f.data_type()))
                })
                .collect();
            assert_eq!(documented, written, "{table}: the docs' rows (left) against the schema (right)");
        }
    }
}
