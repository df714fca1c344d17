//! The spark engine's run: choose the engine, describe the dataset from its
//! metadata, plan with `spark_plan`, have a [`SparkSql`] host run the
//! statements, fold the answers into the native engine's [`Scan`], and
//! decide the checks with the same `evaluate` — so the gate table, JUnit,
//! Prometheus text and exit codes cannot differ between engines. Also counts
//! the scans of the dataset in a Spark event log.
//!
//! Owns: the engine choice (`engine: auto` and its threshold), the workflow
//! above and the scan count. Must not: start Spark or talk to it (the host
//! does, so this crate needs no process or network code), or print.

use std::collections::BTreeMap;

use sparkplane_api::dq::{DqEngine, DqSpec, QuarantineMode};
use sparkplane_category::Category;

use crate::dataset::{self, Root};
use crate::evaluate::SparkFigures;
use crate::spark_plan::{self, IntegerRange, Measure, Purpose, SparkPlan, SparkQuery, SparkSource};
use crate::stats::{Distinct, Scan};
use crate::{CheckOptions, DqError, DqReport};

pub use sparkplane_api::dq::DEFAULT_SPARK_ABOVE;

/// The engine a run uses: the spec's (or the command's override), with
/// `auto` decided by the dataset's size on disk.
pub fn choose(spec: &DqSpec, asked: Option<DqEngine>, dataset_bytes: u64) -> DqEngine {
    match asked.or(spec.engine).unwrap_or_default() {
        DqEngine::Auto => {
            if dataset_bytes > spec.spark_threshold() {
                DqEngine::Spark
            } else {
                DqEngine::Native
            }
        }
        other => other,
    }
}

/// The dataset's size from its listing (no file opened), for `auto`.
pub fn dataset_bytes(spec: &DqSpec, options: &CheckOptions) -> Result<u64, DqError> {
    let root = Root::open(&spec.dataset.path, &options.base_dir, &options.storage_options)?;
    let files = dataset::discover(&root, &spec.dataset, &options.selection)?;
    Ok(listed_bytes(&files))
}

/// The bytes of listed files, as their listing gave them.
fn listed_bytes(files: &[dataset::DataFile]) -> u64 {
    files.iter().map(|f| f.size).sum()
}

/// Why the host could not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SparkFailure {
    /// Spark refused or failed a statement; its message.
    Query(String),
    /// No Spark answers (exit 3).
    Unreachable(String),
    /// The endpoint refused the credentials or the request is wrong (exit 2).
    Refused(String),
}

/// Runs statements in one Spark session and answers the last one's rows,
/// each row its column values as JSON.
pub trait SparkSql {
    /// Runs `statements` in order; the last one's rows. `reads` is the bytes
    /// of the files they read, from the listing (a local Spark sizes its JIT
    /// by it: a server for a large scan runs the optimising tier).
    fn run(&mut self, statements: &[String], reads: u64) -> Result<Vec<Vec<serde_json::Value>>, SparkFailure>;
    /// The event logs of the runs so far, each its lines, when the host can
    /// read them (a local Spark); `None` for a server whose log is elsewhere.
    /// One log per Spark application: execution ids restart in each.
    fn event_logs(&mut self) -> Option<Vec<Vec<String>>> {
        None
    }
}

/// What the spark engine did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparkRun {
    /// Queries run (the shared aggregation, grouping and anti-join queries).
    pub queries: usize,
    /// Scans of the dataset the plan takes (the event log says how many it took).
    pub planned_scans: usize,
    /// The dataset as Spark reads it (for counting its scans in the event log).
    pub uri: String,
}

/// The dataset's location as Spark reads it: an absolute `file:` URI, or the
/// object-store URL with `s3://` spelt `s3a://` (Hadoop's connector).
fn spark_uri(root: &Root, text: &str) -> String {
    match root {
        Root::Local(path) => {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            format!("file:{}", absolute.display())
        }
        Root::Remote(_) => match text.strip_prefix("s3://") {
            Some(rest) => format!("s3a://{rest}"),
            None => text.to_owned(),
        },
    }
}

fn first_types(scan: &Scan) -> BTreeMap<String, String> {
    scan.columns.iter().filter_map(|(name, shape)| Some((name.clone(), shape.types.keys().next()?.clone()))).collect()
}

fn source(root: &Root, text: &str, format: sparkplane_api::dq::DataFormat, scan: &Scan) -> SparkSource {
    // CSV columns are read by position: the schema lists them in the files' order.
    let types = first_types(scan);
    let schema = match format {
        sparkplane_api::dq::DataFormat::Parquet => Vec::new(),
        _ => scan.column_order.iter().filter_map(|name| Some((name.clone(), types.get(name)?.clone()))).collect(),
    };
    SparkSource { uri: spark_uri(root, text), format, schema }
}

/// What the Parquet footers of `opened` say of each integer column of
/// `columns` (its Spark type byte, short, int or long): the smallest and the
/// largest value over every row group, and the files' rows. A column is left
/// out when a row group holding values of it has no minimum and maximum, or
/// they are not integers; CSV and JSON files (no footer) give nothing.
fn integer_ranges(
    opened: &[dataset::OpenedFile],
    columns: &BTreeMap<String, String>,
) -> BTreeMap<String, IntegerRange> {
    use parquet::file::statistics::Statistics;
    let mut found: BTreeMap<&str, Option<(i64, i64)>> = BTreeMap::new();
    let mut rows = 0u64;
    for file in opened {
        let Some(footer) = file.metadata() else { return BTreeMap::new() };
        for group in footer.row_groups() {
            let group_rows = u64::try_from(group.num_rows()).unwrap_or(0);
            rows += group_rows;
            for chunk in group.columns() {
                let [name] = chunk.column_path().parts() else { continue };
                let Some((name, _)) = columns.get_key_value(name.as_str()).filter(|(_, t)| spark_plan::is_integer(t))
                else {
                    continue;
                };
                let stats = chunk.statistics();
                let bounds = match stats {
                    Some(Statistics::Int32(s)) => {
                        s.min_opt().zip(s.max_opt()).map(|(a, b)| (i64::from(*a), i64::from(*b)))
                    }
                    Some(Statistics::Int64(s)) => s.min_opt().copied().zip(s.max_opt().copied()),
                    _ => None,
                };
                let all_null = stats.and_then(Statistics::null_count_opt) == Some(group_rows);
                let range = found.entry(name.as_str()).or_insert(Some((i64::MAX, i64::MIN)));
                match (bounds, &range) {
                    (Some((low, high)), Some((min, max))) => *range = Some(((*min).min(low), (*max).max(high))),
                    (None, _) if all_null => {}
                    _ => *range = None,
                }
            }
        }
    }
    found
        .into_iter()
        .filter_map(|(name, range)| {
            let (min, max) = range.filter(|(min, max)| min <= max)?;
            Some((name.to_owned(), IntegerRange { min, max, rows }))
        })
        .collect()
}

/// Runs a spec with Spark: the same report `check` gives, and what Spark did.
pub fn check(spec: &DqSpec, options: &CheckOptions, sql: &mut dyn SparkSql) -> Result<(DqReport, SparkRun), DqError> {
    if !options.selection.is_empty() {
        return Err(DqError::Selection(
            "a partition selection is not supported by the spark engine yet; run it with `--engine native`".to_owned(),
        ));
    }
    let base = &options.base_dir;
    let root = Root::open(&spec.dataset.path, base, &options.storage_options)?;
    let files = dataset::discover(&root, &spec.dataset, &options.selection)?;
    let predicates = crate::sql::compile_checks(spec)?;
    let (mut scan, opened) = crate::engine::describe_files(&files, spec.dataset.format)?;
    // The footers' ranges are all the plan needs of the opened files: let them go before the references are read.
    let ranges = integer_ranges(&opened, &first_types(&scan));
    drop(opened);
    if !files.is_empty() {
        crate::engine::unknown_sql_columns(&scan, &predicates)?;
    }
    let mut refs = BTreeMap::new();
    let mut missing_refs = BTreeMap::new();
    let data_bytes = listed_bytes(&files);
    let mut reads = data_bytes;
    for (i, check) in spec.checks.iter().enumerate() {
        if let Some(r) = &check.referential_integrity {
            let ref_root = Root::open(&r.dataset.path, base, &options.storage_options)?;
            let ref_files = dataset::discover(&ref_root, &r.dataset, &dataset::Selection::new())?;
            let ref_scan = crate::engine::describe(&ref_files, r.dataset.format)?;
            let column = r.ref_column.as_deref().unwrap_or(&r.column);
            if ref_scan.columns.contains_key(column) {
                // Spark reads it for the anti-join.
                reads += listed_bytes(&ref_files);
                refs.insert(i, source(&ref_root, &r.dataset.path, r.dataset.format, &ref_scan));
            } else {
                missing_refs.insert(i, format!("column `{column}` not found in {}", ref_root.display()));
            }
        }
    }
    let data = source(&root, &spec.dataset.path, spec.dataset.format, &scan);
    let uri = data.uri.clone();
    let columns = first_types(&scan);
    let plan = spark_plan::plan(&spark_plan::PlanInput {
        spec,
        columns: &columns,
        data,
        refs,
        predicates: &predicates,
        ranges: &ranges,
        profile: options.write_profile,
    });
    let mut run = SparkRun { uri, ..SparkRun::default() };
    let mut failing_rows = 0;
    // A dataset without files has nothing for Spark to read (and no schema it could infer).
    if !files.is_empty() {
        let rows = sql.run(&plan.statements(), reads).map_err(|e| spark_error(e, &root))?;
        failing_rows = fold(&plan, &rows, &mut scan)?;
        run.queries = plan.queries.len();
        run.planned_scans = plan.planned_scans();
    }
    // Failing rows are written by Spark below; copying or moving files is the storage layer's, as in the native engine.
    let spark_writes = spec.quarantine.as_ref().is_some_and(|q| q.mode == QuarantineMode::FailingRows);
    let file_options = CheckOptions { quarantine: options.quarantine && !spark_writes, ..options.clone() };
    let mut report = crate::finish(spec, &file_options, &root, &files, scan, &missing_refs, &predicates)?;
    if !report.passed
        && options.quarantine
        && spark_writes
        && let Some(q) = &spec.quarantine
    {
        let target = Root::open(&q.location, base, &options.storage_options)?;
        let folder = format!("{}/{}", spec.metadata.name, dataset::selection_label(&options.selection));
        let uri = format!("{}/{folder}", spark_uri(&target, &q.location).trim_end_matches('/'));
        let shown = target.describe(&folder);
        if let Some(statements) = plan.quarantine_statements(&uri).filter(|_| !files.is_empty()) {
            sql.run(&statements, data_bytes).map_err(|e| quarantine_error(e, &shown))?;
            run.queries += 1;
            run.planned_scans += 1;
        }
        report.quarantine = Some(format!(
            "wrote {failing_rows} failing rows as Parquet with Spark to {shown}; the source is untouched"
        ));
    }
    let scans = if run.queries == 0 {
        None
    } else {
        sql.event_logs().map(|logs| logs.iter().map(|log| count_scans(log.iter().map(String::as_str), &run.uri)).sum())
    };
    report.spark = Some(SparkFigures { queries: run.queries, planned_scans: run.planned_scans, scans });
    Ok((report, run))
}

fn quarantine_error(failure: SparkFailure, shown: &str) -> DqError {
    let (message, category) = match failure {
        SparkFailure::Query(m) => (m, Category::Failed),
        SparkFailure::Unreachable(m) => (m, Category::Unreachable),
        SparkFailure::Refused(m) => (m, Category::Invalid),
    };
    DqError::Spark {
        message: format!("quarantine with Spark to {shown} did not finish (the source is untouched): {message}"),
        category,
    }
}

fn spark_error(failure: SparkFailure, root: &Root) -> DqError {
    match failure {
        SparkFailure::Query(message) => {
            let message = format!("Spark could not check {}: {message}", root.display());
            DqError::Spark { message, category: Category::Failed }
        }
        SparkFailure::Unreachable(message) => DqError::Spark { message, category: Category::Unreachable },
        SparkFailure::Refused(message) => DqError::Spark { message, category: Category::Invalid },
    }
}

fn as_u64(value: Option<&serde_json::Value>) -> u64 {
    value.and_then(serde_json::Value::as_u64).unwrap_or(0)
}

fn as_f64(value: Option<&serde_json::Value>) -> Option<f64> {
    match value? {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_texts(value: Option<&serde_json::Value>) -> Vec<String> {
    let items = value.and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    items.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

/// Folds the answer rows (`[q, json]`, see [`SparkPlan::statements`]) into
/// `scan`; answers the rows failing any row-level error check (0 unless the
/// spec quarantines failing rows).
pub fn fold(plan: &SparkPlan, rows: &[Vec<serde_json::Value>], scan: &mut Scan) -> Result<u64, DqError> {
    let mut quarantine_rows = 0;
    let bad = |why: String| DqError::Spark {
        message: format!("Spark's answer cannot be read: {why}"),
        category: Category::Unreachable,
    };
    let mut numbers: BTreeMap<String, (u64, Option<f64>)> = BTreeMap::new();
    let mut measured = false;
    for row in rows {
        let q = row.first().and_then(serde_json::Value::as_u64).ok_or_else(|| bad(format!("{row:?}")))?;
        let text = row.get(1).and_then(serde_json::Value::as_str).ok_or_else(|| bad(format!("{row:?}")))?;
        let doc: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| bad(format!("{e}: {text}")))?;
        let query = plan.queries.get(q as usize).ok_or_else(|| bad(format!("no query {q}")))?;
        match &query.purpose {
            Purpose::Shared(measures) => match doc.get(spark_plan::EXAMPLE_CHECK).and_then(serde_json::Value::as_u64) {
                Some(i) => {
                    let value = doc.get(spark_plan::EXAMPLE_VALUE).and_then(serde_json::Value::as_str);
                    let value = value.ok_or_else(|| bad(format!("an example without its value: {text}")))?;
                    scan.checks.entry(i as usize).or_default().examples.insert(value.to_owned());
                }
                None => {
                    measured = true;
                    quarantine_rows = fold_measures(measures, &doc, scan, &mut numbers);
                }
            },
            Purpose::Unique(i) => {
                let distinct = Distinct::counted(as_u64(doc.get("distinct_keys")), as_u64(doc.get("keyed")));
                scan.distinct.insert(*i, distinct);
            }
            Purpose::Orphans(i) => {
                let entry = scan.checks.entry(*i).or_default();
                entry.failing = as_u64(doc.get("failing"));
                entry.examples = as_texts(doc.get("examples")).into_iter().collect();
            }
            Purpose::Histogram(column) => {
                let keys = doc.get("keys").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
                let counts = doc.get("counts").and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
                let buckets: BTreeMap<i64, u64> =
                    keys.iter().zip(&counts).filter_map(|(k, n)| Some((k.as_i64()?, n.as_u64()?))).collect();
                if buckets.len() != keys.len() || keys.len() != counts.len() {
                    return Err(bad(format!("histogram of `{column}`: {text}")));
                }
                let histogram = (!buckets.is_empty()).then_some(crate::sketch::Histogram { buckets });
                scan.stats.entry(column.clone()).or_default().histogram = histogram;
            }
        }
    }
    // A grouped aggregation over no rows answers no row: every count is 0, as a global one's would be.
    if let (false, Some(SparkQuery { purpose: Purpose::Shared(measures), .. })) = (measured, plan.queries.first()) {
        quarantine_rows = fold_measures(measures, &serde_json::Map::new(), scan, &mut numbers);
    }
    for check in scan.checks.values_mut() {
        // The examples query keeps the smallest few per check; the set is ordered, so these are the first.
        while check.examples.len() > crate::stats::EXAMPLES {
            check.examples.pop_last();
        }
    }
    let rows = scan.rows;
    for stats in scan.stats.values_mut() {
        stats.rows = rows;
    }
    for (column, (count, variance)) in numbers {
        let stats = scan.stats.entry(column).or_default();
        stats.scanned = count;
        stats.m2 = variance.unwrap_or(0.0) * count.saturating_sub(1) as f64;
    }
    Ok(quarantine_rows)
}

/// Folds the shared aggregation's measures' row into `scan`; answers the
/// rows failing any row-level error check.
fn fold_measures(
    measures: &[Measure],
    doc: &serde_json::Map<String, serde_json::Value>,
    scan: &mut Scan,
    numbers: &mut BTreeMap<String, (u64, Option<f64>)>,
) -> u64 {
    let mut quarantine_rows = 0;
    for (k, measure) in measures.iter().enumerate() {
        let v = doc.get(&format!("m{k}"));
        match measure {
            Measure::Rows => scan.rows = as_u64(v),
            Measure::Nulls(c) => scan.stats.entry(c.clone()).or_default().nulls = as_u64(v),
            Measure::Numbers(c) => numbers.entry(c.clone()).or_default().0 = as_u64(v),
            Measure::Min(c) => scan.stats.entry(c.clone()).or_default().min = as_f64(v),
            Measure::Max(c) => scan.stats.entry(c.clone()).or_default().max = as_f64(v),
            Measure::Mean(c) => scan.stats.entry(c.clone()).or_default().mean = as_f64(v).unwrap_or(0.0),
            Measure::Variance(c) => numbers.entry(c.clone()).or_default().1 = as_f64(v),
            Measure::Checked(i) => scan.checks.entry(*i).or_default().checked = as_u64(v),
            Measure::Failing(i) => scan.checks.entry(*i).or_default().failing = as_u64(v),
            Measure::QuarantineRows => quarantine_rows = as_u64(v),
        }
    }
    quarantine_rows
}

/// Scans of the dataset at `uri` in a Spark event log's lines: for each SQL
/// execution, its last physical plan (the start event's, or the adaptive
/// executor's last update), and in it each file-scan node (`(n) Scan parquet`,
/// `csv`, `json`) whose `Location` lists the dataset or a path below it.
pub fn count_scans<'a>(lines: impl Iterator<Item = &'a str>, uri: &str) -> usize {
    let mut plans: BTreeMap<u64, String> = BTreeMap::new();
    for line in lines {
        if !line.contains("SparkListenerSQLExecutionStart") && !line.contains("SparkListenerSQLAdaptiveExecutionUpdate")
        {
            continue;
        }
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let (Some(id), Some(plan)) = (
            event.get("executionId").and_then(serde_json::Value::as_u64),
            event.get("physicalPlanDescription").and_then(serde_json::Value::as_str),
        ) else {
            continue;
        };
        plans.insert(id, plan.to_owned());
    }
    plans.values().map(|plan| scans_in_plan(plan, uri)).sum()
}

fn scans_in_plan(plan: &str, uri: &str) -> usize {
    let below = format!("{}/", uri.trim_end_matches('/'));
    let mut count = 0;
    let mut in_scan = false;
    for line in plan.lines() {
        if line.starts_with('(') {
            let head = line.split_once(") ").map(|(_, rest)| rest).unwrap_or_default();
            in_scan = ["Scan parquet", "Scan csv", "Scan json"].iter().any(|s| head.starts_with(s));
        } else if in_scan && let Some(rest) = line.strip_prefix("Location: ") {
            let listed = rest.split_once('[').map(|(_, l)| l.trim_end_matches(']')).unwrap_or_default();
            let ours = listed
                .split(", ")
                .any(|p| p.trim_end_matches('/') == uri.trim_end_matches('/') || p.starts_with(&below));
            count += usize::from(ours);
            in_scan = false;
        }
    }
    count
}

/// The field paths a spec cannot run with `engine` at, with why and what to
/// use: empty for `native`.
pub fn refused(spec: &DqSpec, engine: DqEngine) -> Vec<(String, String)> {
    if engine == DqEngine::Native {
        return Vec::new();
    }
    spark_plan::inexpressible(spec)
}

/// The spec's locations in object storage (the dataset, referenced
/// datasets, the quarantine location), each with its field path: what a
/// local Spark, which has no S3 connector, cannot read or write.
pub fn object_store_locations(spec: &DqSpec) -> Vec<(String, String)> {
    use sparkplane_storage::Location;
    let remote = |text: &str| matches!(Location::parse(text), Ok(Location::Remote { .. }));
    let mut out = Vec::new();
    if remote(&spec.dataset.path) {
        out.push(("dataset.path".to_owned(), spec.dataset.path.clone()));
    }
    for (i, check) in spec.checks.iter().enumerate() {
        if let Some(r) = check.referential_integrity.as_ref().filter(|r| remote(&r.dataset.path)) {
            out.push((format!("checks[{i}].referentialIntegrity.dataset.path"), r.dataset.path.clone()));
        }
    }
    if let Some(q) = spec.quarantine.as_ref().filter(|q| remote(&q.location)) {
        out.push(("quarantine.location".to_owned(), q.location.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_api::quantity::MemorySize;

    /// Writes `batches` as one Parquet file of row groups of 3 rows, without
    /// statistics for the column `nostats`.
    fn parquet(path: &std::path::Path, batches: &[arrow_array::RecordBatch]) {
        use parquet::file::properties::{EnabledStatistics, WriterProperties};
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(3))
            .set_column_statistics_enabled("nostats".into(), EnabledStatistics::None)
            .build();
        let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
        let mut writer = parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), Some(props))
            .unwrap_or_else(|e| panic!("{e}"));
        for batch in batches {
            writer.write(batch).unwrap_or_else(|e| panic!("{e}"));
        }
        writer.close().unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn integer_ranges_come_from_every_footer_and_leave_out_what_they_cannot_bound() {
        use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let batch = |id: Vec<Option<i64>>, small: Vec<i32>, nostats: Vec<i64>| {
            let n = small.len();
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(id)) as ArrayRef),
                ("small", Arc::new(Int32Array::from(small)) as ArrayRef),
                ("nostats", Arc::new(Int64Array::from(nostats)) as ArrayRef),
                ("amount", Arc::new(Float64Array::from(vec![1.5; n])) as ArrayRef),
                ("name", Arc::new(StringArray::from(vec!["a"; n])) as ArrayRef),
            ])
            .unwrap_or_else(|e| panic!("{e}"))
        };
        // Two row groups in the first file, the second with no id at all.
        parquet(
            &dir.path().join("a.parquet"),
            &[
                batch(vec![Some(5), None, Some(-3)], vec![7, 9, 8], vec![1, 2, 3]),
                batch(vec![None; 3], vec![1, 1, 1], vec![4; 3]),
            ],
        );
        parquet(&dir.path().join("b.parquet"), &[batch(vec![Some(100), Some(2)], vec![-4, 2], vec![5, 6])]);
        let root = Root::open(&dir.path().display().to_string(), dir.path(), &[]).unwrap_or_else(|e| panic!("{e}"));
        let dataset: sparkplane_api::dq::Dataset =
            serde_json::from_value(serde_json::json!({"path": dir.path()})).unwrap_or_else(|e| panic!("{e}"));
        let files = dataset::discover(&root, &dataset, &dataset::Selection::new()).unwrap_or_else(|e| panic!("{e}"));
        let (scan, opened) = crate::engine::describe_files(&files, sparkplane_api::dq::DataFormat::Parquet)
            .unwrap_or_else(|e| panic!("{e}"));
        let columns = first_types(&scan);
        let range = |min, max| IntegerRange { min, max, rows: 8 };
        assert_eq!(
            integer_ranges(&opened, &columns),
            BTreeMap::from([("id".to_owned(), range(-3, 100)), ("small".to_owned(), range(-4, 9))]),
            "columns: {columns:?}"
        );
        // A column Spark reads as something else than an integer has no range, whatever its footer says.
        let as_text: BTreeMap<String, String> = [("id".to_owned(), "string".to_owned())].into();
        assert_eq!(integer_ranges(&opened, &as_text), BTreeMap::new());
    }

    #[test]
    fn auto_picks_spark_above_the_threshold_and_an_override_wins() {
        let mut spec = DqSpec { engine: Some(DqEngine::Auto), ..DqSpec::default() };
        assert_eq!(choose(&spec, None, DEFAULT_SPARK_ABOVE), DqEngine::Native);
        assert_eq!(choose(&spec, None, DEFAULT_SPARK_ABOVE + 1), DqEngine::Spark);
        spec.spark_above = Some(MemorySize::from_mib(1));
        assert_eq!(choose(&spec, None, 1024 * 1024 + 1), DqEngine::Spark);
        assert_eq!(choose(&spec, Some(DqEngine::Native), u64::MAX), DqEngine::Native);
        assert_eq!(choose(&DqSpec::default(), None, u64::MAX), DqEngine::Native, "native unless asked");
    }

    fn event(kind: &str, id: u64, plan: &str) -> String {
        serde_json::json!({"Event": kind, "executionId": id, "physicalPlanDescription": plan}).to_string()
    }

    #[test]
    fn scans_are_counted_from_each_executions_last_plan() {
        let scan = |n: u32, what: &str, path: &str| {
            format!(
                "({n}) Scan {what} \nOutput [1]: [a#1]\nLocation: InMemoryFileIndex [{path}]\nReadSchema: struct<a:int>\n\n"
            )
        };
        let start = "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart";
        let update = "org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate";
        let lines = [
            event(start, 1, "(1) Execute SetCommand\nArguments: x\n"),
            // The initial plan, then the adaptive executor's final one: counted once.
            event(start, 2, &format!("{}{}", scan(1, "parquet", "file:/d/trips"), scan(2, "parquet", "file:/d/trips"))),
            event(
                update,
                2,
                &format!(
                    "{}{}{}",
                    scan(1, "parquet", "file:/d/trips"),
                    scan(2, "parquet", "file:/d/trips"),
                    scan(3, "json", "file:/d/zones")
                ),
            ),
            // A sibling folder whose name starts the same is another dataset; a file below is ours.
            event(
                start,
                3,
                &format!(
                    "{}{}",
                    scan(1, "csv", "file:/d/trips_old"),
                    scan(2, "csv", "file:/d/trips/part-0.csv, file:/d/trips/part-1.csv")
                ),
            ),
            "{\"Event\":\"SparkListenerJobStart\"}".to_owned(),
        ];
        assert_eq!(count_scans(lines.iter().map(String::as_str), "file:/d/trips"), 3);
        assert_eq!(count_scans(lines.iter().map(String::as_str), "file:/d/zones"), 1);
    }

    #[test]
    fn answers_fold_into_the_native_scan() {
        let spec: DqSpec = serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "DataQuality", "metadata": {"name": "t"},
            "dataset": {"path": "d"},
            "checks": [
                {"name": "r", "range": {"column": "amount", "min": 0}},
                {"name": "u", "unique": {"columns": ["id"]}},
                {"name": "fk", "referentialIntegrity": {"column": "id", "dataset": {"path": "z"}}}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let columns: BTreeMap<String, String> =
            [("id".to_owned(), "long".to_owned()), ("amount".to_owned(), "double".to_owned())].into();
        let source =
            SparkSource { uri: "file:/d".into(), format: sparkplane_api::dq::DataFormat::Parquet, schema: vec![] };
        let predicates = BTreeMap::new();
        let plan = spark_plan::plan(&spark_plan::PlanInput {
            spec: &spec,
            columns: &columns,
            data: source.clone(),
            refs: [(2, source)].into(),
            predicates: &predicates,
            ranges: &BTreeMap::new(),
            profile: true,
        });
        let shared = r#"{"m0":4,"m1":1,"m2":3,"m3":-2.0,"m4":7.5,"m5":2.0,"m6":"NaN","m7":3,"m8":1,"m9":0,"m10":4}"#;
        // The shared query's example rows come before or after its measures' row.
        let example = |v: &str| serde_json::json!(format!(r#"{{"ex_check":0,"ex_value":"{v}"}}"#));
        let rows = vec![
            vec![serde_json::json!(0), example("-2")],
            vec![serde_json::json!(0), serde_json::json!(shared)],
            vec![serde_json::json!(0), example("-1")],
            vec![serde_json::json!(1), serde_json::json!(r#"{"keyed":4,"distinct_keys":3}"#)],
            vec![serde_json::json!(2), serde_json::json!(r#"{"failing":1,"examples":["9"]}"#)],
        ];
        let mut scan = Scan::default();
        fold(&plan, &rows, &mut scan).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scan.rows, 4);
        let amount = &scan.stats["amount"];
        assert_eq!(
            (amount.rows, amount.nulls, amount.min, amount.max, amount.scanned),
            (4, 1, Some(-2.0), Some(7.5), 3)
        );
        assert_eq!((scan.checks[&0].checked, scan.checks[&0].failing), (3, 1));
        assert_eq!(scan.checks[&0].examples.iter().collect::<Vec<_>>(), ["-1", "-2"]);
        assert_eq!((scan.distinct[&1].count(), scan.distinct[&1].keyed_rows), (3, 4));
        assert_eq!((scan.checks[&2].checked, scan.checks[&2].failing), (4, 1));
        // No measures' row (a grouped aggregation over no rows answers none): every count is 0.
        let mut empty = Scan::default();
        fold(&plan, &rows[3..], &mut empty).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((empty.rows, empty.stats["amount"].nulls, empty.checks[&0].failing), (0, 0, 0));
        let bad = fold(&plan, &[vec![serde_json::json!(9), serde_json::json!("{}")]], &mut scan).err();
        assert_eq!(bad.map(|e| e.to_string()).as_deref(), Some("Spark's answer cannot be read: no query 9"));
    }
}
