//! Reading an export back: its `applications` rows as the fleet records
//! `sparkplane cost` and the exporter read (`sparkplane_analysis::fleet`), so
//! neither reads a log again whose facts are already exported.
//!
//! Owns: decoding an `applications` file into [`FleetRecord`]s
//! ([`read_applications`], the inverse of `tables`' row), and
//! [`ExportedRecords`]: an export's manifest, answering for a listed log
//! with its exported record when the manifest holds the log exactly as it is
//! now (same size, modification time and fingerprint), else nothing, so the
//! caller reads the log. Must not: write anything, decide what is exported,
//! or read logs.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sparkplane_analysis::cost::{AppCost, UNATTRIBUTED};
use sparkplane_analysis::fleet::{FleetRecord, KnownRecords};
use sparkplane_api::MemorySize;
use sparkplane_eventlog::cause::FailureCause;
use sparkplane_eventlog::{AppLog, Outcome};

use crate::manifest::{MANIFEST_FILE, Manifest, ManifestEntry};
use crate::read::log_key;
use crate::sink::Sink;
use crate::tables::outcome;
use crate::{ExportError, open_target};

/// An export, opened to answer for the logs it holds.
pub struct ExportedRecords {
    sink: Box<dyn Sink + Send>,
    manifest: Manifest,
    /// The log location its keys are relative to (as `LogSource::describe` writes it).
    root: String,
}

impl ExportedRecords {
    /// The export at `at` (a folder or object-store URL, credentials from the
    /// environment) of the logs at `root`. A target that holds no export, or
    /// one of another schema version, is an error (exit 2); one that cannot be
    /// read, exit 3.
    pub fn open(at: &str, root: &str) -> Result<ExportedRecords, ExportError> {
        let sink = open_target(at)?;
        let manifest = Manifest::load(sink.as_ref())?;
        if manifest.is_new() {
            return Err(ExportError::Manifest {
                url: sink.describe(MANIFEST_FILE),
                detail:
                    "does not exist: no sparkplane export is there; give the folder or prefix `history export --to` \
                         wrote"
                        .to_owned(),
            });
        }
        Ok(ExportedRecords { sink, manifest, root: root.to_owned() })
    }

    /// Logs the export holds.
    pub fn len(&self) -> usize {
        self.manifest.logs.len()
    }

    /// True when the export holds no log.
    pub fn is_empty(&self) -> bool {
        self.manifest.logs.is_empty()
    }

    /// The export's path or URL.
    pub fn describe(&self) -> String {
        self.sink.describe("").trim_end_matches('/').to_owned()
    }

    /// The manifest's entry for `log` when it was exported as it is now.
    fn entry(&self, log: &AppLog) -> Option<&ManifestEntry> {
        let entry = self.manifest.logs.get(&log_key(&self.root, &log.name))?;
        let unchanged = entry.size == log.size
            && entry.modified_ms == log.modified_ms
            && entry.fingerprint == Some(log.fingerprint);
        unchanged.then_some(entry)
    }
}

impl KnownRecords for ExportedRecords {
    /// The exported record of `log`, when the export holds the log as it is
    /// now and its `applications` file reads whole with every column a record
    /// needs; otherwise `None`, and the caller reads the log.
    fn record(&self, log: &AppLog) -> Option<FleetRecord> {
        let entry = self.entry(log)?;
        let file = entry.files.iter().find(|f| f.starts_with("applications/"))?;
        let bytes = self.sink.read(file).ok()??;
        let mut records = read_applications(&bytes).ok()?;
        (records.len() == 1).then(|| records.remove(0))
    }
}

/// The rows of one `applications` file. A file written before a column a
/// record needs existed, or not an `applications` file, is an error naming the column.
pub fn read_applications(bytes: &[u8]) -> Result<Vec<FleetRecord>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.to_vec()))
        .and_then(|builder| builder.build())
        .map_err(|e| e.to_string())?;
    let mut records = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        for row in 0..batch.num_rows() {
            records.push(record(&Row { batch: &batch, row })?);
        }
    }
    Ok(records)
}

/// One row of a batch, read by column name.
struct Row<'a> {
    batch: &'a RecordBatch,
    row: usize,
}

impl Row<'_> {
    fn column(&self, name: &str) -> Result<&dyn Array, String> {
        self.batch.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| format!("has no column `{name}`"))
    }

    fn text(&self, name: &str) -> Result<Option<String>, String> {
        let column = self.column(name)?;
        let strings = column.as_string_opt::<i32>().ok_or_else(|| format!("`{name}` is not text"))?;
        Ok(strings.is_valid(self.row).then(|| strings.value(self.row).to_owned()))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, String> {
        let column = self.column(name)?;
        let ints = column.as_primitive_opt::<Int64Type>().ok_or_else(|| format!("`{name}` is not a bigint"))?;
        Ok(ints.is_valid(self.row).then(|| ints.value(self.row)))
    }

    fn count(&self, name: &str) -> Result<u64, String> {
        Ok(self.int(name)?.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
    }

    fn float(&self, name: &str) -> Result<Option<f64>, String> {
        let column = self.column(name)?;
        let floats = column.as_primitive_opt::<Float64Type>().ok_or_else(|| format!("`{name}` is not a double"))?;
        Ok(floats.is_valid(self.row).then(|| floats.value(self.row)))
    }

    fn boolean(&self, name: &str) -> Result<bool, String> {
        let column = self.column(name)?;
        let flags = column.as_boolean_opt().ok_or_else(|| format!("`{name}` is not a boolean"))?;
        Ok(flags.is_valid(self.row) && flags.value(self.row))
    }

    fn time(&self, name: &str) -> Result<Option<u64>, String> {
        let column = self.column(name)?;
        let times = column
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or_else(|| format!("`{name}` is not a timestamp"))?;
        Ok(times.is_valid(self.row).then(|| times.value(self.row)).and_then(|v| u64::try_from(v).ok()))
    }

    /// A column that came later: present in the files a record can be read from.
    fn required<T>(&self, name: &str, value: Option<T>) -> Result<T, String> {
        value.ok_or_else(|| format!("has no value in `{name}` (written before the column was)"))
    }

    fn text_list(&self, name: &str) -> Result<Vec<String>, String> {
        let column = self.column(name)?;
        let lists = column.as_list_opt::<i32>().ok_or_else(|| format!("`{name}` is not a list"))?;
        let list = self.required(name, lists.is_valid(self.row).then(|| lists.value(self.row)))?;
        let items = list.as_string_opt::<i32>().ok_or_else(|| format!("`{name}` is not a list of text"))?;
        Ok(items.iter().map(|item| item.unwrap_or_default().to_owned()).collect())
    }

    fn cause_counts(&self, name: &str) -> Result<BTreeMap<FailureCause, u64>, String> {
        let column = self.column(name)?;
        let maps = column.as_map_opt().ok_or_else(|| format!("`{name}` is not a map"))?;
        let entries = self.required(name, maps.is_valid(self.row).then(|| maps.value(self.row)))?;
        let keys = entries.column(0).as_string_opt::<i32>().ok_or_else(|| format!("`{name}`'s keys are not text"))?;
        let counts = entries
            .column(1)
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| format!("`{name}`'s values are not bigint"))?;
        let mut out = BTreeMap::new();
        for (key, count) in keys.iter().zip(counts.iter()) {
            out.insert(cause(name, key.unwrap_or_default())?, count.map_or(0, |n| u64::try_from(n).unwrap_or(0)));
        }
        Ok(out)
    }
}

fn cause(column: &str, text: &str) -> Result<FailureCause, String> {
    FailureCause::ALL
        .into_iter()
        .find(|c| c.as_str() == text)
        .ok_or_else(|| format!("`{column}` holds `{text}`, not a failure cause this sparkplane knows"))
}

/// One `applications` row as the record it was written from.
fn record(r: &Row<'_>) -> Result<FleetRecord, String> {
    let app_id = r.text("app_id")?.ok_or("has no `app_id`")?;
    let attempt_id = r.text("attempt_id")?;
    let outcome_text = r.text("outcome")?.unwrap_or_default();
    let outcome = [Outcome::Succeeded, Outcome::Failed, Outcome::Incomplete]
        .into_iter()
        .find(|o| outcome(*o) == outcome_text)
        .ok_or_else(|| format!("`outcome` holds `{outcome_text}`"))?;
    let failure_cause = r.text("failure_cause")?.map(|text| cause("failure_cause", &text)).transpose()?;
    let memory_mib = r.int("executor_memory_mib")?;
    let cost = AppCost {
        app: match &attempt_id {
            Some(attempt) => format!("{app_id}/{attempt}"),
            None if app_id.is_empty() => UNATTRIBUTED.to_owned(),
            None => app_id.clone(),
        },
        job: r.text("job")?,
        team: r.text("charged_team")?,
        cost_center: r.text("cost_center")?,
        namespace: r.text("namespace")?,
        node_pool: r.text("node_pool")?,
        spot: r.boolean("spot")?,
        start_time_ms: r.time("start_time")?,
        end_time_ms: r.time("end_time")?,
        executor_memory: MemorySize::from_mib(
            u64::try_from(r.required("executor_memory_mib", memory_mib)?).unwrap_or(0),
        ),
        executor_gpus: r.required("executor_gpus", r.float("executor_gpus")?)?,
        core_hours: r.float("core_hours")?.unwrap_or(0.0),
        gib_hours: r.float("gib_hours")?.unwrap_or(0.0),
        gpu_hours: r.float("gpu_hours")?.unwrap_or(0.0),
        cost: r.float("cost_usd")?.unwrap_or(0.0),
        notes: r.text_list("cost_notes")?,
        session: r.boolean("session")?,
    };
    Ok(FleetRecord {
        app_id,
        attempt_id,
        name: r.text("name")?,
        user: r.text("user")?,
        spark_version: r.text("spark_version")?,
        start_time_ms: cost.start_time_ms,
        end_time_ms: cost.end_time_ms,
        duration_ms: r.int("duration_ms")?.and_then(|v| u64::try_from(v).ok()),
        outcome,
        completed: r.boolean("completed")?,
        exit_code: r.int("exit_code")?.and_then(|v| i32::try_from(v).ok()),
        failure: r.text("failure")?,
        failure_cause,
        jobs: r.count("jobs")?,
        jobs_failed: r.count("jobs_failed")?,
        stages: r.count("stages")?,
        stages_failed: r.count("stages_failed")?,
        stages_skipped: r.count("stages_skipped")?,
        tasks: r.count("tasks")?,
        tasks_failed: r.count("tasks_failed")?,
        tasks_killed: r.count("tasks_killed")?,
        task_failures_by_cause: r.cause_counts("task_failures_by_cause")?,
        task_time_ms: r.count("task_time_ms")?,
        cpu_time_ms: r.count("cpu_time_ms")?,
        gc_time_ms: r.count("gc_time_ms")?,
        gc_share: r.float("gc_share")?,
        input_bytes: r.count("input_bytes")?,
        output_bytes: r.count("output_bytes")?,
        shuffle_read_bytes: r.count("shuffle_read_bytes")?,
        shuffle_write_bytes: r.count("shuffle_write_bytes")?,
        memory_spill_bytes: r.count("memory_spill_bytes")?,
        disk_spill_bytes: r.count("disk_spill_bytes")?,
        executors: r.count("executors")?,
        max_concurrent_executors: r.count("max_concurrent_executors")?,
        executor_utilisation: r.float("executor_utilisation")?,
        worst_stage_skew: r.float("worst_stage_skew")?,
        slo_max_duration_s: r.float("slo_max_duration_s")?,
        cost,
    })
}

#[cfg(test)]
mod tests {
    use sparkplane_analysis::cost::PriceSheet;

    use super::*;
    use crate::read::{ListedLog, facts_from_text};
    use crate::tables::Tables;
    use crate::{encode, export};

    fn listed(key: &str, text: &str) -> ListedLog {
        let size = text.len() as u64;
        ListedLog { key: key.into(), name: format!("/logs/{key}"), size, modified_ms: Some(1), fingerprint: size }
    }

    /// Every log of Spark's test suite with an application: its exported row
    /// reads back as the record it was written from, field for field.
    #[test]
    fn an_applications_row_reads_back_as_the_record_it_was_written_from() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sparkplane-history/tests/data/spark-history/spark-events");
        let sheet = PriceSheet::opencost_defaults();
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("Spark's test logs").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
            let Ok(facts) = facts_from_text(&name, &text, false) else { continue };
            let tables = Tables::build(&facts, &listed(&name, &text), &sheet).expect("builds");
            let (table, batch) = &tables.batches[0];
            let bytes = encode::parquet(table, batch).expect("encodes");
            let read = read_applications(&bytes).expect("reads");
            assert_eq!(read, [FleetRecord::of(&facts.summary, &sheet)], "{name}");
            checked += 1;
        }
        assert!(checked >= 10, "only {checked} logs checked");
    }

    #[test]
    fn a_file_written_before_a_column_a_record_needs_is_named_as_such() {
        let text = include_str!("../../sparkplane-history/tests/data/spark-history/spark-events/local-1422981780767");
        let facts = facts_from_text("x", text, false).expect("reads");
        let tables = Tables::build(&facts, &listed("x", text), &PriceSheet::opencost_defaults()).expect("builds");
        let (_, batch) = &tables.batches[0];
        let at = batch.schema().index_of("cost_notes").expect("the column");
        let mut older = batch.clone();
        older.remove_column(at);
        let bytes = encode::parquet("applications", &older).expect("encodes");
        assert_eq!(read_applications(&bytes).expect_err("cannot make a record"), "has no column `cost_notes`");
    }

    #[test]
    fn a_target_without_an_export_is_refused_and_one_with_answers_only_for_unchanged_logs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (logs, to) = (dir.path().join("logs"), dir.path().join("facts"));
        std::fs::create_dir(&logs).expect("mkdir");
        let to_text = to.display().to_string();
        let error = ExportedRecords::open(&to_text, &logs.display().to_string()).err().expect("no export there");
        assert_eq!(error.category(), sparkplane_category::Category::Invalid);
        assert!(error.to_string().ends_with("_sparkplane_export.json: does not exist: no sparkplane export is there; give the folder or prefix `history export --to` wrote"), "{error}");

        let spark = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sparkplane-history/tests/data/spark-history/spark-events");
        for app in ["local-1422981780767", "local-1425081759269"] {
            std::fs::copy(spark.join(app), logs.join(app)).expect("copy");
        }
        let source = sparkplane_eventlog::LogSource::Local(logs.clone());
        let sheet = PriceSheet::opencost_defaults();
        export(&mut crate::SourceLogs::new(source.clone()), &crate::LocalDir::new(&to), &sheet).expect("exports");
        let records = ExportedRecords::open(&to_text, &source.describe()).expect("an export");
        assert_eq!(records.len(), 2);
        let listed = source.app_logs().expect("lists");
        let kept: Vec<FleetRecord> = listed.iter().filter_map(|log| records.record(log)).collect();
        let expected: Vec<FleetRecord> =
            listed.iter().map(|log| FleetRecord::of(&log.summarize().expect("reads"), &sheet)).collect();
        assert_eq!(kept, expected);

        // A log that grew since it was exported is read again, not answered from the export.
        let grown = logs.join("local-1425081759269");
        let mut text = std::fs::read_to_string(&grown).expect("read");
        text.push('\n');
        std::fs::write(&grown, text).expect("write");
        let listed = source.app_logs().expect("lists");
        let answered: Vec<bool> = listed.iter().map(|log| records.record(log).is_some()).collect();
        assert_eq!(answered, [true, false]);
    }
}
