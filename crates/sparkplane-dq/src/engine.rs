//! The scan: every check that can share a pass over the data is evaluated in
//! ONE pass over record batches, reading only the columns the checks name.
//! Parquet files are split into row groups; row groups are spread over the
//! machine's cores; a row group whose statistics already prove a column's
//! not-null and range checks is not decoded for that column.
//!
//! Owns: turning files into per-column and per-check accumulators (`Scan`).
//! Must not: decide pass or fail (that is `evaluate`), or write anything.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::file::statistics::Statistics;
use serde::{Deserialize, Serialize};
use sparkplane_api::dq::{Check, DataFormat, DqSpec};

use crate::DqError;
use crate::dataset::{self, DataFile, OpenedFile, Unit};
use crate::sketch::{self, Histogram, HyperLogLog};
use crate::sql::Predicate;

/// Most failing values remembered per check, as examples in the result.
pub const EXAMPLES: usize = 5;
/// Default size of an exact uniqueness set before it turns approximate.
pub const DEFAULT_EXACT_DISTINCT: u64 = 10_000_000;

/// What the scan must compute for one column.
#[derive(Clone, Debug, Default)]
struct ColumnPlan {
    /// Min, max, mean, stddev (range, freshness, drift and the profile).
    numeric: bool,
    /// A histogram (drift).
    histogram: bool,
    /// Only not-null and range checks use it: row-group statistics may answer.
    stats_only: bool,
}

/// Per-column accumulator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    /// Rows of files that have the column.
    pub rows: u64,
    /// Null values (a file without the column counts all its rows as null).
    pub nulls: u64,
    /// Smallest numeric value (timestamps and dates in seconds since 1970).
    pub min: Option<f64>,
    /// Largest numeric value.
    pub max: Option<f64>,
    /// Non-null numeric values seen by decoding (not from statistics).
    pub scanned: u64,
    /// Mean of the scanned values.
    pub mean: f64,
    /// Sum of squared deviations of the scanned values (for stddev).
    pub m2: f64,
    /// Whether some row groups were answered from statistics only (mean,
    /// stddev and histogram then cover the decoded ones).
    pub from_statistics: bool,
    /// Histogram of the scanned values, when a drift check needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

impl ColumnStats {
    fn merge(&mut self, other: &ColumnStats) {
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.min = opt_fold(self.min, other.min, f64::min);
        self.max = opt_fold(self.max, other.max, f64::max);
        if other.scanned > 0 {
            let n = self.scanned + other.scanned;
            let delta = other.mean - self.mean;
            self.mean += delta * other.scanned as f64 / n as f64;
            self.m2 += other.m2 + delta * delta * self.scanned as f64 * other.scanned as f64 / n as f64;
            self.scanned = n;
        }
        self.from_statistics |= other.from_statistics;
        if let Some(theirs) = &other.histogram {
            self.histogram.get_or_insert_with(Histogram::default).merge(theirs);
        }
    }

    fn add_slice(&mut self, values: &[f64], histogram: bool) {
        let Some(summary) = Summary::of(values) else { return };
        if histogram {
            self.histogram.get_or_insert_with(Histogram::default).add_all(values.iter().copied());
        }
        let batch = ColumnStats {
            scanned: values.len() as u64,
            mean: summary.mean,
            m2: summary.m2,
            min: summary.min,
            max: summary.max,
            ..ColumnStats::default()
        };
        let hist = self.histogram.take();
        self.merge(&batch);
        self.histogram = hist;
    }
}

/// Lanes of the one-pass numeric kernel: independent accumulators the
/// compiler keeps in SIMD registers.
const LANES: usize = 8;

/// Min, max, mean and sum of squared deviations of a slice, in one pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Smallest value (NaN ignored; `None` when all are NaN).
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
}

impl Summary {
    /// One pass, `LANES` accumulators wide: sums are taken around the first
    /// value (shifted data keeps the one-pass variance accurate when values
    /// are large compared with their spread). `None` for an empty slice.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let shift = *values.first()?;
        let mut lo = [f64::INFINITY; LANES];
        let mut hi = [f64::NEG_INFINITY; LANES];
        let mut s1 = [0.0f64; LANES];
        let mut s2 = [0.0f64; LANES];
        let chunks = values.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for lane in 0..LANES {
                let v = chunk[lane];
                lo[lane] = if v < lo[lane] { v } else { lo[lane] };
                hi[lane] = if v > hi[lane] { v } else { hi[lane] };
                let d = v - shift;
                s1[lane] += d;
                s2[lane] += d * d;
            }
        }
        for (lane, v) in rest.iter().enumerate() {
            lo[lane] = if *v < lo[lane] { *v } else { lo[lane] };
            hi[lane] = if *v > hi[lane] { *v } else { hi[lane] };
            let d = v - shift;
            s1[lane] += d;
            s2[lane] += d * d;
        }
        let n = values.len() as f64;
        let (sum1, sum2): (f64, f64) = (s1.iter().sum(), s2.iter().sum());
        let min = lo.iter().copied().fold(f64::INFINITY, f64::min);
        let max = hi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let all_nan = min == f64::INFINITY && max == f64::NEG_INFINITY;
        Some(Summary {
            min: (!all_nan).then_some(min),
            max: (!all_nan).then_some(max),
            mean: shift + sum1 / n,
            m2: (sum2 - sum1 * sum1 / n).max(0.0),
        })
    }
}

/// Values outside `lo..=hi` (NaN counts as outside).
fn count_outside(values: &[f64], lo: f64, hi: f64) -> usize {
    values.iter().map(|v| usize::from(!(*v >= lo && *v <= hi))).sum()
}

fn opt_fold(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Per-check accumulator for row-level checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckStats {
    /// Rows that fail the check.
    pub failing: u64,
    /// A few failing values (sorted, at most `EXAMPLES`).
    pub examples: BTreeSet<String>,
    /// Rows the check looked at (non-null values).
    pub checked: u64,
}

impl CheckStats {
    fn merge(&mut self, other: &CheckStats) {
        self.failing += other.failing;
        self.checked += other.checked;
        for e in &other.examples {
            if self.examples.len() < EXAMPLES || e < self.examples.iter().next_back().unwrap_or(e) {
                self.examples.insert(e.clone());
                while self.examples.len() > EXAMPLES {
                    self.examples.pop_last();
                }
            }
        }
    }

    fn example(&mut self, value: impl FnOnce() -> String) {
        if self.examples.len() < EXAMPLES {
            self.examples.insert(value());
        }
    }
}

/// Distinct keys of a uniqueness check: exact (a set of 64-bit key hashes)
/// up to a limit, then a HyperLogLog estimate.
#[derive(Clone, Debug, Default)]
pub struct Distinct {
    exact: HashSet<u64>,
    approximate: Option<HyperLogLog>,
    /// Rows whose key had no null.
    pub keyed_rows: u64,
}

impl Distinct {
    fn add(&mut self, hash: u64, limit: u64) {
        self.keyed_rows += 1;
        match &mut self.approximate {
            Some(hll) => hll.add(hash),
            None => {
                self.exact.insert(hash);
                if self.exact.len() as u64 > limit {
                    self.turn_approximate();
                }
            }
        }
    }

    fn turn_approximate(&mut self) {
        let mut hll = HyperLogLog::default();
        for h in self.exact.drain() {
            hll.add(h);
        }
        self.exact.shrink_to_fit();
        self.approximate = Some(hll);
    }

    fn merge(&mut self, mut other: Distinct, limit: u64) {
        self.keyed_rows += other.keyed_rows;
        if self.approximate.is_none() && other.approximate.is_none() {
            if self.exact.len() < other.exact.len() {
                std::mem::swap(&mut self.exact, &mut other.exact);
            }
            self.exact.extend(other.exact.drain());
            if self.exact.len() as u64 > limit {
                self.turn_approximate();
            }
            return;
        }
        if self.approximate.is_none() {
            self.turn_approximate();
        }
        if other.approximate.is_none() {
            other.turn_approximate();
        }
        if let (Some(mine), Some(theirs)) = (&mut self.approximate, &other.approximate) {
            mine.merge(theirs);
        }
    }

    /// Distinct keys (estimated when `is_approximate`).
    pub fn count(&self) -> u64 {
        match &self.approximate {
            Some(hll) => hll.estimate().min(self.keyed_rows),
            None => self.exact.len() as u64,
        }
    }

    /// Whether the count is a HyperLogLog estimate.
    pub fn is_approximate(&self) -> bool {
        self.approximate.is_some()
    }
}

/// How a column looks across the dataset's files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnShape {
    /// Type (in Spark's words) to the files that have it with that type.
    pub types: BTreeMap<String, Vec<String>>,
    /// Whether the column comes from `key=value` folders.
    pub partition: bool,
}

/// What one pass over the dataset found.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Files read.
    pub files: usize,
    /// Bytes of the files read.
    pub bytes: u64,
    /// Rows.
    pub rows: u64,
    /// Row groups answered partly or wholly from statistics.
    pub row_groups_pruned: u64,
    /// Every column of the dataset and its types per file.
    pub columns: BTreeMap<String, ColumnShape>,
    /// Statistics of the columns the checks use.
    pub stats: BTreeMap<String, ColumnStats>,
    /// Row-level results, by check index.
    pub checks: BTreeMap<usize, CheckStats>,
    /// Uniqueness results, by check index.
    pub distinct: BTreeMap<usize, Distinct>,
    /// Partition values seen (`key=value` folders), for quarantine.
    pub partitions: BTreeSet<String>,
}

/// The keys of a referenced dataset, hashed, for referential integrity.
pub type KeySet = HashSet<u64>;

/// The type of an Arrow column in Spark's words.
pub fn spark_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int8 => "byte".into(),
        DataType::Int16 => "short".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "long".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "long".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Dictionary(_, value) => spark_type(value),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// The type Spark infers for a partition folder value.
pub fn partition_type(values: &BTreeSet<&str>) -> &'static str {
    let all = |f: fn(&str) -> bool| !values.is_empty() && values.iter().all(|v| f(v));
    if all(|v| v.parse::<i32>().is_ok()) {
        "int"
    } else if all(|v| v.parse::<i64>().is_ok()) {
        "long"
    } else if all(|v| v.len() == 10 && civil_days(v).is_some()) {
        "date"
    } else {
        "string"
    }
}

/// 1970-01-01, the day Arrow's `Date32` counts from.
const EPOCH: jiff::civil::Date = jiff::civil::date(1970, 1, 1);

/// Days since 1970-01-01 of a `YYYY-MM-DD` date; None when it is not one or
/// names a day the calendar does not have (2026-02-31). The calendar is jiff's.
pub fn civil_days(text: &str) -> Option<i64> {
    let date = jiff::civil::Date::strptime("%Y-%m-%d", text).ok()?;
    EPOCH.until(date).ok().map(|span| i64::from(span.get_days()))
}

/// `YYYY-MM-DD` of days since 1970-01-01; the bare number of days when the
/// date falls outside the years -9999..=9999 jiff (and Spark) can write.
pub fn civil_date(days: i64) -> String {
    let date = jiff::Span::new().try_days(days).ok().and_then(|span| EPOCH.checked_add(span).ok());
    match date {
        Some(date) => date.strftime("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}

/// The plan of one scan: which columns to read and what to compute.
struct Plan<'a> {
    spec: &'a DqSpec,
    columns: BTreeMap<String, ColumnPlan>,
    refs: &'a BTreeMap<usize, KeySet>,
    regexes: BTreeMap<usize, regex::Regex>,
    accepted: BTreeMap<usize, HashSet<&'a str>>,
    predicates: &'a BTreeMap<usize, Predicate>,
    /// Range checks by column: (check index, min, max).
    ranges: BTreeMap<&'a str, Vec<(usize, f64, f64)>>,
}

fn column_of(check: &Check) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(c) = &check.not_null {
        out.push(c.column.as_str());
    }
    if let Some(c) = &check.unique {
        out.extend(c.columns.iter().map(String::as_str));
    }
    if let Some(c) = &check.accepted_values {
        out.push(&c.column);
    }
    if let Some(c) = &check.range {
        out.push(&c.column);
    }
    if let Some(c) = &check.regex {
        out.push(&c.column);
    }
    if let Some(c) = &check.freshness {
        out.push(&c.column);
    }
    if let Some(c) = &check.referential_integrity {
        out.push(&c.column);
    }
    if let Some(c) = &check.drift {
        out.push(&c.column);
    }
    out
}

impl<'a> Plan<'a> {
    fn new(
        spec: &'a DqSpec,
        refs: &'a BTreeMap<usize, KeySet>,
        predicates: &'a BTreeMap<usize, Predicate>,
    ) -> Plan<'a> {
        let mut columns: BTreeMap<String, ColumnPlan> = BTreeMap::new();
        let mut regexes = BTreeMap::new();
        let mut accepted = BTreeMap::new();
        for (i, check) in spec.checks.iter().enumerate() {
            let stats_only = check.not_null.is_some() || check.range.is_some();
            for name in column_of(check) {
                let plan =
                    columns.entry(name.to_owned()).or_insert(ColumnPlan { stats_only: true, ..ColumnPlan::default() });
                plan.stats_only &= stats_only;
                plan.numeric |= check.range.is_some() || check.freshness.is_some() || check.drift.is_some();
                plan.histogram |= check.drift.is_some();
            }
            if let Some(r) = &check.regex
                && let Ok(re) = regex::Regex::new(&format!("^(?:{})$", r.pattern))
            {
                regexes.insert(i, re);
            }
            if let Some(a) = &check.accepted_values {
                accepted.insert(i, a.values.iter().map(String::as_str).collect());
            }
            if let Some(p) = predicates.get(&i) {
                for name in p.columns() {
                    columns.entry(name).or_default().stats_only = false;
                }
            }
        }
        let mut ranges: BTreeMap<&str, Vec<(usize, f64, f64)>> = BTreeMap::new();
        for (i, check) in spec.checks.iter().enumerate() {
            if let Some(r) = &check.range {
                let bounds = (i, r.min.unwrap_or(f64::NEG_INFINITY), r.max.unwrap_or(f64::INFINITY));
                ranges.entry(r.column.as_str()).or_default().push(bounds);
            }
        }
        Plan { spec, columns, refs, regexes, accepted, predicates, ranges }
    }
}

/// Reads `files` once and accumulates everything the checks of `spec` need.
/// `refs` holds the keys of referenced datasets by check index.
pub fn scan(
    files: &[DataFile],
    format: DataFormat,
    spec: &DqSpec,
    refs: &BTreeMap<usize, KeySet>,
    predicates: &BTreeMap<usize, Predicate>,
    threads: usize,
) -> Result<Scan, DqError> {
    let plan = Plan::new(spec, refs, predicates);
    let mut out = Scan { files: files.len(), ..Scan::default() };
    let mut opened = Vec::with_capacity(files.len());
    let mut units = Vec::new();
    let mut partition_values: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (i, file) in files.iter().enumerate() {
        out.bytes += file.size;
        let o = dataset::open(file, format)?;
        let name = file.quarantine_key();
        for field in o.schema.fields() {
            let shape = out.columns.entry(field.name().clone()).or_default();
            shape.types.entry(spark_type(field.data_type())).or_default().push(name.clone());
        }
        for (k, v) in &file.partition {
            partition_values.entry(k.clone()).or_default().insert(v);
        }
        if !file.partition.is_empty() {
            out.partitions.insert(file.partition.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("/"));
        }
        match o.metadata() {
            Some(meta) => {
                for rg in 0..meta.num_row_groups() {
                    units.push(Unit { file: i, row_group: Some(rg) });
                }
            }
            None => units.push(Unit { file: i, row_group: None }),
        }
        opened.push(o);
    }
    for (key, values) in &partition_values {
        let shape = out.columns.entry(key.clone()).or_default();
        shape.partition = true;
        shape.types.entry(partition_type(values).to_owned()).or_default().push("(partition folders)".into());
    }
    if !files.is_empty() {
        unknown_sql_columns(&out, predicates)?;
    }

    let limits: BTreeMap<usize, u64> = spec
        .checks
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.unique.as_ref().map(|u| (i, u.approximate_above.unwrap_or(DEFAULT_EXACT_DISTINCT))))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<UnitResult, DqError>>>> = Mutex::new((0..units.len()).map(|_| None).collect());
    let workers = threads.clamp(1, units.len().max(1));
    let distinct_parts: Mutex<Vec<BTreeMap<usize, Distinct>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut distinct: BTreeMap<usize, Distinct> = BTreeMap::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(index) else { break };
                    let file = &files[unit.file];
                    let result = scan_unit(&plan, file, &opened[unit.file], unit, format, &mut distinct, &limits);
                    let failed = result.is_err();
                    if let Ok(mut slots) = results.lock() {
                        slots[index] = Some(result);
                    }
                    if failed {
                        // Stop early: later units are not needed to report the error.
                        next.store(units.len(), Ordering::Relaxed);
                    }
                }
                if let Ok(mut parts) = distinct_parts.lock() {
                    parts.push(distinct);
                }
            });
        }
    });
    let slots = results.into_inner().unwrap_or_default();
    for slot in slots.into_iter().flatten() {
        let unit = slot?;
        out.rows += unit.rows;
        out.row_groups_pruned += u64::from(unit.pruned);
        for (name, stats) in unit.stats {
            out.stats.entry(name).or_default().merge(&stats);
        }
        for (i, stats) in unit.checks {
            out.checks.entry(i).or_default().merge(&stats);
        }
    }
    for part in distinct_parts.into_inner().unwrap_or_default() {
        for (i, d) in part {
            let limit = limits.get(&i).copied().unwrap_or(DEFAULT_EXACT_DISTINCT);
            match out.distinct.get_mut(&i) {
                Some(mine) => mine.merge(d, limit),
                None => {
                    out.distinct.insert(i, d);
                }
            }
        }
    }
    for (i, _) in limits {
        out.distinct.entry(i).or_default();
    }
    Ok(out)
}

/// A SQL predicate naming a column the dataset does not have is a spec error (exit 2), found before any data is read.
fn unknown_sql_columns(scan: &Scan, predicates: &BTreeMap<usize, Predicate>) -> Result<(), DqError> {
    for (i, predicate) in predicates {
        if let Some((column, at)) = predicate.unknown_column(&|c| scan.columns.contains_key(c)) {
            let known: Vec<&str> = scan.columns.keys().map(String::as_str).collect();
            let hint = sparkplane_core::schema::did_you_mean(column, known.iter().copied())
                .map(|g| format!("write `{g}`"))
                .unwrap_or_else(|| "use one of the dataset's columns".to_owned());
            return Err(DqError::Spec {
                field: format!("checks[{i}].sql"),
                at,
                message: format!("column `{column}` is not in the dataset (columns: {})", known.join(", ")),
                help: format!("{hint}; quote names with spaces or capitals as \"Name\""),
            });
        }
    }
    Ok(())
}

#[derive(Clone, Debug, Default)]
struct UnitResult {
    rows: u64,
    pruned: bool,
    stats: BTreeMap<String, ColumnStats>,
    checks: BTreeMap<usize, CheckStats>,
}

/// Whether a row group's statistics prove every not-null and range check on `column`.
fn proven_by_statistics(spec: &DqSpec, column: &str, stats: &Statistics, rows: u64) -> Option<ColumnStats> {
    let nulls = stats.null_count_opt()?;
    let (min, max) = match stats {
        Statistics::Int32(s) => (f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)),
        Statistics::Int64(s) => (*s.min_opt()? as f64, *s.max_opt()? as f64),
        Statistics::Float(s) => (f64::from(*s.min_opt()?), f64::from(*s.max_opt()?)),
        Statistics::Double(s) => (*s.min_opt()?, *s.max_opt()?),
        _ => return None,
    };
    if min.is_nan() || max.is_nan() {
        return None;
    }
    for check in &spec.checks {
        if let Some(nn) = &check.not_null
            && nn.column == column
            && nulls > 0
            && nn.max_fraction.unwrap_or(0.0) == 0.0
        {
            return None;
        }
        if let Some(nn) = &check.not_null
            && nn.column == column
            && nn.max_fraction.unwrap_or(0.0) > 0.0
            && nulls > 0
        {
            // A fraction is decided over the whole dataset: count from statistics.
        }
        if let Some(r) = &check.range
            && r.column == column
            && (r.min.is_some_and(|lo| min < lo) || r.max.is_some_and(|hi| max > hi))
        {
            return None;
        }
    }
    Some(ColumnStats { rows, nulls, min: Some(min), max: Some(max), from_statistics: true, ..ColumnStats::default() })
}

fn scan_unit(
    plan: &Plan<'_>,
    file: &DataFile,
    opened: &OpenedFile,
    unit: &Unit,
    format: DataFormat,
    distinct: &mut BTreeMap<usize, Distinct>,
    limits: &BTreeMap<usize, u64>,
) -> Result<UnitResult, DqError> {
    let mut result = UnitResult::default();
    let mut read: Vec<String> = Vec::new();
    let mut group_rows = None;
    if let (Some(meta), Some(rg)) = (opened.metadata(), unit.row_group) {
        let group = meta.row_group(rg);
        let rows = u64::try_from(group.num_rows()).unwrap_or(0);
        group_rows = Some(rows);
        for (name, column_plan) in &plan.columns {
            let index = opened.schema.index_of(name).ok();
            let proven = match (column_plan.stats_only && !column_plan.histogram, index) {
                (true, Some(i)) if i < group.num_columns() => {
                    group.column(i).statistics().and_then(|s| proven_by_statistics(plan.spec, name, s, rows))
                }
                _ => None,
            };
            match proven {
                Some(stats) => {
                    result.pruned = true;
                    result.stats.insert(name.clone(), stats);
                    for (i, check) in plan.spec.checks.iter().enumerate() {
                        if column_of(check).contains(&name.as_str()) {
                            result.checks.entry(i).or_default().checked += rows;
                        }
                    }
                }
                None => read.push(name.clone()),
            }
        }
    } else {
        read.extend(plan.columns.keys().cloned());
    }
    if read.is_empty() && group_rows.is_some() {
        result.rows = group_rows.unwrap_or(0);
        return Ok(result);
    }
    let mut scratch = Vec::new();
    let mut hashes: Vec<u64> = Vec::new();
    let mut valid: Vec<bool> = Vec::new();
    dataset::read_unit(file, opened, unit, format, &read, |batch| {
        let rows = batch.num_rows();
        result.rows += rows as u64;
        let columns: BTreeMap<&str, ArrayRef> =
            read.iter().map(|name| (name.as_str(), column_array(batch, file, name, rows))).collect();
        for (name, array) in &columns {
            let Some(column_plan) = plan.columns.get(*name) else { continue };
            let stats = result.stats.entry((*name).to_owned()).or_default();
            stats.rows += rows as u64;
            stats.nulls += array.null_count() as u64;
            if column_plan.numeric
                && let Some(values) = numeric(array.as_ref(), &mut scratch)
            {
                stats.add_slice(values, column_plan.histogram);
                // Range checks on the same decoded values, in the same pass over the batch.
                for (i, lo, hi) in plan.ranges.get(*name).into_iter().flatten() {
                    let entry = result.checks.entry(*i).or_default();
                    entry.checked += values.len() as u64;
                    let bad = count_outside(values, *lo, *hi);
                    if bad > 0 {
                        entry.failing += bad as u64;
                        for v in values.iter().filter(|v| !(**v >= *lo && **v <= *hi)).take(EXAMPLES) {
                            entry.example(|| v.to_string());
                        }
                    }
                }
            }
        }
        for (i, check) in plan.spec.checks.iter().enumerate() {
            if let Some(a) = &check.accepted_values
                && let Some(array) = columns.get(a.column.as_str())
                && let Some(allowed) = plan.accepted.get(&i)
            {
                let entry = result.checks.entry(i).or_default();
                for_each_text(array.as_ref(), |_, text| {
                    if let Some(text) = text {
                        entry.checked += 1;
                        if !allowed.contains(text) {
                            entry.failing += 1;
                            entry.example(|| text.to_owned());
                        }
                    }
                });
            }
            if let Some(r) = &check.regex
                && let Some(array) = columns.get(r.column.as_str())
                && let Some(re) = plan.regexes.get(&i)
            {
                let entry = result.checks.entry(i).or_default();
                for_each_text(array.as_ref(), |_, text| {
                    if let Some(text) = text {
                        entry.checked += 1;
                        if !re.is_match(text) {
                            entry.failing += 1;
                            entry.example(|| text.to_owned());
                        }
                    }
                });
            }
            if let Some(predicate) = plan.predicates.get(&i) {
                let verdict =
                    predicate.evaluate(rows, &|name| columns.get(name).cloned()).map_err(|e| DqError::Spec {
                        field: format!("checks[{i}].sql"),
                        at: None,
                        message: format!("cannot evaluate `{}` on {}: {e}", predicate.sql, file.location()),
                        help: "compare columns with values of their own type (strings in single quotes, numbers bare)"
                            .to_owned(),
                    })?;
                let entry = result.checks.entry(i).or_default();
                entry.checked += rows as u64;
                let bad = verdict.false_count();
                if bad > 0 {
                    entry.failing += bad as u64;
                    let used = predicate.columns();
                    for row in (0..rows).filter(|r| verdict.is_valid(*r) && !verdict.value(*r)).take(EXAMPLES) {
                        if entry.examples.len() >= EXAMPLES {
                            break;
                        }
                        entry.example(|| row_text(&columns, &used, row));
                    }
                }
            }
            if let Some(u) = &check.unique {
                let arrays: Vec<&ArrayRef> = u.columns.iter().filter_map(|c| columns.get(c.as_str())).collect();
                if arrays.len() == u.columns.len() {
                    hash_rows(&arrays, rows, &mut hashes, &mut valid);
                    let limit = limits.get(&i).copied().unwrap_or(DEFAULT_EXACT_DISTINCT);
                    let d = distinct.entry(i).or_default();
                    for (h, ok) in hashes.iter().zip(&valid) {
                        if *ok {
                            d.add(*h, limit);
                        }
                    }
                }
            }
            if let Some(r) = &check.referential_integrity
                && let Some(array) = columns.get(r.column.as_str())
                && let Some(keys) = plan.refs.get(&i)
            {
                hash_rows(&[array], rows, &mut hashes, &mut valid);
                let entry = result.checks.entry(i).or_default();
                for (row, (h, ok)) in hashes.iter().zip(&valid).enumerate() {
                    if *ok {
                        entry.checked += 1;
                        if !keys.contains(h) {
                            entry.failing += 1;
                            if entry.examples.len() < EXAMPLES {
                                for_each_text(&array.slice(row, 1), |_, t| {
                                    entry.example(|| t.unwrap_or_default().to_owned());
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(result)
}

/// `a=1 b=NULL` for one row of the named columns (examples of failing rows;
/// space-separated, as examples themselves are listed with commas).
fn row_text(columns: &BTreeMap<&str, ArrayRef>, names: &BTreeSet<String>, row: usize) -> String {
    let options = arrow_cast::display::FormatOptions::default().with_null("NULL");
    names
        .iter()
        .filter_map(|name| {
            let array = columns.get(name.as_str())?;
            let formatter = arrow_cast::display::ArrayFormatter::try_new(array.as_ref(), &options).ok()?;
            Some(format!("{name}={}", formatter.value(row)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The array of `name` in a batch: the file's column, a partition value
/// repeated, or all nulls when the file lacks the column.
fn column_array(batch: &RecordBatch, file: &DataFile, name: &str, rows: usize) -> ArrayRef {
    if let Some(array) = batch.column_by_name(name) {
        return array.clone();
    }
    if let Some(value) = file.partition.get(name) {
        return std::sync::Arc::new(arrow_array::StringArray::from_iter_values(std::iter::repeat_n(value, rows)));
    }
    arrow_array::new_null_array(&DataType::Null, rows)
}

/// The non-null values of a numeric, date or timestamp column as f64
/// (dates and timestamps in seconds since 1970); `None` for other types.
pub fn numeric<'a>(array: &'a dyn Array, scratch: &'a mut Vec<f64>) -> Option<&'a [f64]> {
    macro_rules! fill {
        ($t:ty, $scale:expr) => {{
            let a = array.as_primitive::<$t>();
            scratch.clear();
            if a.null_count() == 0 {
                scratch.extend(a.values().iter().map(|v| *v as f64 * $scale));
            } else {
                scratch.extend(a.iter().flatten().map(|v| v as f64 * $scale));
            }
            Some(scratch.as_slice())
        }};
    }
    match array.data_type() {
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if a.null_count() == 0 {
                Some(a.values().as_ref())
            } else {
                scratch.clear();
                scratch.extend(a.iter().flatten());
                Some(scratch.as_slice())
            }
        }
        DataType::Float32 => fill!(Float32Type, 1.0),
        DataType::Int8 => fill!(Int8Type, 1.0),
        DataType::Int16 => fill!(Int16Type, 1.0),
        DataType::Int32 => fill!(Int32Type, 1.0),
        DataType::Int64 => fill!(Int64Type, 1.0),
        DataType::UInt8 => fill!(UInt8Type, 1.0),
        DataType::UInt16 => fill!(UInt16Type, 1.0),
        DataType::UInt32 => fill!(UInt32Type, 1.0),
        DataType::UInt64 => fill!(UInt64Type, 1.0),
        DataType::Date32 => fill!(Date32Type, 86_400.0),
        DataType::Date64 => fill!(Date64Type, 1e-3),
        DataType::Timestamp(TimeUnit::Second, _) => fill!(TimestampSecondType, 1.0),
        DataType::Timestamp(TimeUnit::Millisecond, _) => fill!(TimestampMillisecondType, 1e-3),
        DataType::Timestamp(TimeUnit::Microsecond, _) => fill!(TimestampMicrosecondType, 1e-6),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => fill!(TimestampNanosecondType, 1e-9),
        _ => None,
    }
}

/// Calls `f(row, text)` for each row of a column as text (strings as they
/// are; numbers, booleans and dates formatted); nothing for other types.
pub fn for_each_text(array: &dyn Array, mut f: impl FnMut(usize, Option<&str>)) {
    macro_rules! formatted {
        ($t:ty, $fmt:expr) => {{
            let a = array.as_primitive::<$t>();
            for (row, v) in a.iter().enumerate() {
                match v {
                    Some(v) => f(row, Some($fmt(v).as_str())),
                    None => f(row, None),
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().enumerate().for_each(|(r, v)| f(r, v)),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().enumerate().for_each(|(r, v)| f(r, v)),
        DataType::Utf8View => array.as_string_view().iter().enumerate().for_each(|(r, v)| f(r, v)),
        DataType::Dictionary(key, value) if **key == DataType::Int32 && **value == DataType::Utf8 => {
            let dict = array.as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            for (row, key) in dict.keys().iter().enumerate() {
                f(row, key.and_then(|k| usize::try_from(k).ok()).map(|k| values.value(k)));
            }
        }
        DataType::Boolean => {
            array.as_boolean().iter().enumerate().for_each(|(r, v)| f(r, v.map(|b| if b { "true" } else { "false" })))
        }
        DataType::Int8 => formatted!(Int8Type, |v: i8| v.to_string()),
        DataType::Int16 => formatted!(Int16Type, |v: i16| v.to_string()),
        DataType::Int32 => formatted!(Int32Type, |v: i32| v.to_string()),
        DataType::Int64 => formatted!(Int64Type, |v: i64| v.to_string()),
        DataType::Float32 => formatted!(Float32Type, |v: f32| v.to_string()),
        DataType::Float64 => formatted!(Float64Type, |v: f64| v.to_string()),
        DataType::Date32 => formatted!(Date32Type, |v: i32| civil_date(i64::from(v))),
        _ => {}
    }
}

/// Hashes each row's values of `arrays` into `hashes` (`valid` false where
/// any value is null). Integers hash by value whatever their width, so a
/// column written as int in one file and long in another keeps its keys.
pub fn hash_rows(arrays: &[&ArrayRef], rows: usize, hashes: &mut Vec<u64>, valid: &mut Vec<bool>) {
    hashes.clear();
    hashes.resize(rows, 0);
    valid.clear();
    valid.resize(rows, true);
    for (seed, array) in arrays.iter().enumerate() {
        let seed = seed as u64;
        macro_rules! ints {
            ($t:ty) => {{
                let a = array.as_primitive::<$t>();
                for (row, v) in a.iter().enumerate() {
                    match v {
                        Some(v) => hashes[row] = sketch::mix(hashes[row] ^ sketch::mix((v as i64 as u64) ^ seed)),
                        None => valid[row] = false,
                    }
                }
            }};
        }
        match array.data_type() {
            DataType::Int8 => ints!(Int8Type),
            DataType::Int16 => ints!(Int16Type),
            DataType::Int32 => ints!(Int32Type),
            DataType::Int64 => ints!(Int64Type),
            DataType::Date32 => ints!(Date32Type),
            DataType::Float64 => {
                for (row, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
                    match v {
                        Some(v) => hashes[row] = sketch::mix(hashes[row] ^ sketch::mix(v.to_bits() ^ seed)),
                        None => valid[row] = false,
                    }
                }
            }
            _ => for_each_text(array.as_ref(), |row, text| match text {
                Some(t) => hashes[row] = sketch::mix(hashes[row] ^ sketch::hash_bytes(t.as_bytes(), seed)),
                None => valid[row] = false,
            }),
        }
        if matches!(array.data_type(), DataType::Null) {
            valid.iter_mut().for_each(|v| *v = false);
        }
    }
}

/// Reads the keys of one column of a referenced dataset.
pub fn read_keys(files: &[DataFile], format: DataFormat, column: &str) -> Result<(KeySet, bool), DqError> {
    let mut keys = KeySet::new();
    let mut found = false;
    let mut hashes = Vec::new();
    let mut valid = Vec::new();
    for file in files {
        let opened = dataset::open(file, format)?;
        found |= opened.schema.index_of(column).is_ok() || file.partition.contains_key(column);
        let units: Vec<Unit> = match opened.metadata() {
            Some(meta) => (0..meta.num_row_groups()).map(|rg| Unit { file: 0, row_group: Some(rg) }).collect(),
            None => vec![Unit { file: 0, row_group: None }],
        };
        for unit in units {
            dataset::read_unit(file, &opened, &unit, format, &[column.to_owned()], |batch| {
                let array = column_array(batch, file, column, batch.num_rows());
                hash_rows(&[&array], batch.num_rows(), &mut hashes, &mut valid);
                keys.extend(hashes.iter().zip(&valid).filter(|(_, ok)| **ok).map(|(h, _)| *h));
                Ok(())
            })?;
        }
    }
    Ok((keys, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for text in ["1970-01-01", "2000-02-29", "2026-11-20", "1969-12-31"] {
            let days = civil_days(text).unwrap_or(i64::MIN);
            assert_eq!(civil_date(days), text);
        }
        assert_eq!(civil_days("2026-11-20"), Some(20_777));
        assert_eq!(civil_days("1969-12-31"), Some(-1));
    }

    #[test]
    fn impossible_dates_are_not_dates() {
        for text in ["2026-02-31", "2026-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-11-2x", "20261120"] {
            assert_eq!(civil_days(text), None, "{text}");
        }
        assert_eq!(civil_days("2024-02-29"), Some(19_782));
        // A partition folder `date=2026-02-31` is a string to Spark, not a date.
        let set = |v: &[&'static str]| v.iter().copied().collect::<BTreeSet<&str>>();
        assert_eq!(partition_type(&set(&["2026-02-28", "2026-02-31"])), "string");
        assert_eq!(partition_type(&set(&["2026-02-28", "2024-02-29"])), "date");
    }

    #[test]
    fn days_outside_the_calendar_are_written_as_a_count() {
        assert_eq!(civil_date(-719_528), "0000-01-01");
        assert_eq!(civil_date(i64::from(i32::MAX)), "2147483647");
    }

    #[test]
    fn partition_types_follow_spark_inference() {
        let set = |v: &[&'static str]| v.iter().copied().collect::<BTreeSet<&str>>();
        assert_eq!(partition_type(&set(&["2026-11-20", "2026-11-21"])), "date");
        assert_eq!(partition_type(&set(&["1", "22"])), "int");
        assert_eq!(partition_type(&set(&["9999999999"])), "long");
        assert_eq!(partition_type(&set(&["north", "1"])), "string");
    }

    #[test]
    fn the_one_pass_summary_matches_the_two_pass_definitions() {
        for len in [1usize, 7, 8, 9, 1000, 4099] {
            let values: Vec<f64> = (0..len).map(|i| 1e9 + ((i * 7919) % 1013) as f64 * 0.5).collect();
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let m2: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s = Summary::of(&values).unwrap_or(Summary { min: None, max: None, mean: 0.0, m2: 0.0 });
            assert_eq!((s.min, s.max), (Some(min), Some(max)), "{len}");
            assert!((s.mean - mean).abs() < 1e-6, "{len}: {} vs {mean}", s.mean);
            assert!((s.m2 - m2).abs() <= 1e-9 * m2.max(1.0), "{len}: {} vs {m2}", s.m2);
        }
        assert_eq!(Summary::of(&[]), None);
        let nan = Summary::of(&[f64::NAN, f64::NAN]).map(|s| (s.min, s.max));
        assert_eq!(nan, Some((None, None)));
        assert_eq!(count_outside(&[-1.0, 0.0, 5.0, 10.0, 11.0, f64::NAN], 0.0, 10.0), 3);
    }

    #[test]
    fn distinct_turns_approximate_above_its_limit() {
        let mut d = Distinct::default();
        for i in 0..5_000u64 {
            d.add(sketch::mix(i), 1_000);
        }
        assert!(d.is_approximate());
        let n = d.count() as f64;
        assert!((n - 5_000.0).abs() / 5_000.0 < 0.05, "{n}");
    }
}
