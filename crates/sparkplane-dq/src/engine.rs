//! The scan: every check that can share a pass over the data is evaluated in
//! ONE pass over record batches, reading only the columns the checks name.
//! Parquet files are split into row groups; row groups are spread over the
//! machine's cores; a row group whose statistics already prove a column's
//! not-null and range checks is not decoded for that column.
//!
//! Owns: the plan (which columns to read, what to compute for each) and
//! turning files into the accumulators of `stats` ([`Scan`]); the
//! referenced datasets' keys ([`read_keys`]).
//! Must not: decide pass or fail (that is `evaluate`), interpret Arrow values
//! itself (that is `columns`), or write anything.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::file::statistics::Statistics;
use sparkplane_api::dq::{Check, DataFormat, DqSpec};
use sparkplane_workqueue::WorkQueue;

use crate::DqError;
use crate::columns::{for_each_text, hash_rows, numeric, partition_type, spark_type};
use crate::dataset::{self, DataFile, OpenedFile, Unit};
use crate::sql::Predicate;
use crate::stats::{CheckStats, ColumnStats, DEFAULT_EXACT_DISTINCT, Distinct, KeySet, Scan, count_outside};

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
    let (mut out, opened) = describe_files(files, format)?;
    let mut units = Vec::new();
    for (i, o) in opened.iter().enumerate() {
        match o.metadata() {
            Some(meta) => {
                for rg in 0..meta.num_row_groups() {
                    units.push(Unit { file: i, row_group: Some(rg) });
                }
            }
            None => units.push(Unit { file: i, row_group: None }),
        }
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
    // Each thread keeps the distinct keys of the units it scanned; the first error stops the scan (later units
    // are not needed to report it).
    let (scanned, distinct_parts) =
        WorkQueue::on_threads(threads).try_map_with(&units, BTreeMap::<usize, Distinct>::new, |distinct, unit| {
            scan_unit(&plan, &files[unit.file], &opened[unit.file], unit, format, distinct, &limits)
        })?;
    for unit in scanned {
        out.rows += unit.rows;
        out.row_groups_pruned += u64::from(unit.pruned);
        for (name, stats) in unit.stats {
            out.stats.entry(name).or_default().merge(&stats);
        }
        for (i, stats) in unit.checks {
            out.checks.entry(i).or_default().merge(&stats);
        }
    }
    for part in distinct_parts {
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

/// What the dataset's metadata says, no data read: files, bytes, every
/// column's types per file (Parquet footers; the inferred schema of CSV and
/// JSON files) and the partition folders.
pub fn describe(files: &[DataFile], format: DataFormat) -> Result<Scan, DqError> {
    describe_files(files, format).map(|(scan, _)| scan)
}

/// [`describe`], and the files opened for it (their footers).
pub(crate) fn describe_files(files: &[DataFile], format: DataFormat) -> Result<(Scan, Vec<OpenedFile>), DqError> {
    let mut out = Scan { files: files.len(), ..Scan::default() };
    let mut opened = Vec::with_capacity(files.len());
    let mut partition_values: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for file in files {
        out.bytes += file.size;
        let o = dataset::open(file, format)?;
        let name = file.quarantine_key();
        for field in o.schema.fields() {
            if !out.columns.contains_key(field.name()) {
                out.column_order.push(field.name().clone());
            }
            let shape = out.columns.entry(field.name().clone()).or_default();
            shape.types.entry(spark_type(field.data_type())).or_default().push(name.clone());
        }
        for (k, v) in &file.partition {
            partition_values.entry(k.clone()).or_default().insert(v);
        }
        if !file.partition.is_empty() {
            out.partitions.insert(file.partition.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("/"));
        }
        opened.push(o);
    }
    for (key, values) in &partition_values {
        let shape = out.columns.entry(key.clone()).or_default();
        shape.partition = true;
        shape.types.entry(partition_type(values).to_owned()).or_default().push("(partition folders)".into());
    }
    Ok((out, opened))
}

/// A SQL predicate naming a column the dataset does not have is a spec error (exit 2), found before any data is read.
pub(crate) fn unknown_sql_columns(scan: &Scan, predicates: &BTreeMap<usize, Predicate>) -> Result<(), DqError> {
    for (i, predicate) in predicates {
        if let Some((column, at)) = predicate.unknown_column(&|c| scan.columns.contains_key(c)) {
            let known: Vec<&str> = scan.columns.keys().map(String::as_str).collect();
            let hint = sparkplane_documents::schema::did_you_mean(column, known.iter().copied())
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
    let (read, group_rows) = columns_to_read(plan, opened, unit, &mut result);
    if read.is_empty() && group_rows.is_some() {
        result.rows = group_rows.unwrap_or(0);
        return Ok(result);
    }
    let mut scratch = Vec::new();
    let mut keys = KeyHashes::default();
    dataset::read_unit(file, opened, unit, format, &read, |batch| {
        let rows = batch.num_rows();
        result.rows += rows as u64;
        let columns: BTreeMap<&str, ArrayRef> =
            read.iter().map(|name| (name.as_str(), column_array(batch, file, name, rows))).collect();
        let scan = BatchScan { plan, file, columns: &columns, rows };
        scan.fold_columns(&mut result, &mut scratch);
        for (i, check) in plan.spec.checks.iter().enumerate() {
            scan.text_checks(i, check, &mut result);
            scan.predicate(i, &mut result)?;
            if let Some(u) = &check.unique {
                let limit = limits.get(&i).copied().unwrap_or(DEFAULT_EXACT_DISTINCT);
                scan.unique(&u.columns, distinct, (i, limit), &mut keys);
            }
            scan.referential(i, check, &mut result, &mut keys);
        }
        Ok(())
    })?;
    Ok(result)
}

/// The columns of `unit` that must be decoded: in a Parquet row group, a
/// column whose statistics prove its not-null and range checks is not
/// (its figures go into `result`, which is marked pruned). Answers the
/// columns and the row group's rows (None outside a row group).
fn columns_to_read(
    plan: &Plan<'_>,
    opened: &OpenedFile,
    unit: &Unit,
    result: &mut UnitResult,
) -> (Vec<String>, Option<u64>) {
    let (Some(meta), Some(rg)) = (opened.metadata(), unit.row_group) else {
        return (plan.columns.keys().cloned().collect(), None);
    };
    let mut read: Vec<String> = Vec::new();
    let group = meta.row_group(rg);
    let rows = u64::try_from(group.num_rows()).unwrap_or(0);
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
                // Checks look at non-null values, as when the values are decoded.
                let values = rows.saturating_sub(stats.nulls);
                result.stats.insert(name.clone(), stats);
                for (i, check) in plan.spec.checks.iter().enumerate() {
                    if column_of(check).contains(&name.as_str()) {
                        result.checks.entry(i).or_default().checked += values;
                    }
                }
            }
            None => read.push(name.clone()),
        }
    }
    (read, Some(rows))
}

/// The hashes of a batch's keys and whether each row has one (no null),
/// kept across batches so that their buffers are allocated once.
#[derive(Default)]
struct KeyHashes {
    hashes: Vec<u64>,
    valid: Vec<bool>,
}

/// One decoded batch of a unit, and the plan its checks follow.
struct BatchScan<'s, 'p> {
    plan: &'s Plan<'p>,
    file: &'s DataFile,
    columns: &'s BTreeMap<&'s str, ArrayRef>,
    rows: usize,
}

impl BatchScan<'_, '_> {
    /// Each planned column's rows, nulls and numeric figures, and the range
    /// checks on the same decoded values, in the same pass over the batch.
    fn fold_columns(&self, result: &mut UnitResult, scratch: &mut Vec<f64>) {
        let rows = self.rows;
        for (name, array) in self.columns {
            let Some(column_plan) = self.plan.columns.get(*name) else { continue };
            let stats = result.stats.entry((*name).to_owned()).or_default();
            stats.rows += rows as u64;
            // Logical nulls: a column of type Null (a CSV column with no values) has no validity buffer.
            stats.nulls += array.logical_null_count() as u64;
            if column_plan.numeric
                && let Some(values) = numeric(array.as_ref(), scratch)
            {
                stats.add_slice(values, column_plan.histogram);
                for (i, lo, hi) in self.plan.ranges.get(*name).into_iter().flatten() {
                    let entry = result.checks.entry(*i).or_default();
                    entry.checked += values.len() as u64;
                    let bad = count_outside(values, *lo, *hi);
                    if bad > 0 {
                        entry.failing += bad as u64;
                        for v in values.iter().filter(|v| !(**v >= *lo && **v <= *hi)) {
                            entry.example(|| v.to_string());
                        }
                    }
                }
            }
        }
    }

    /// Check `i`'s accepted values or regular expression over its column's texts.
    fn text_checks(&self, i: usize, check: &Check, result: &mut UnitResult) {
        let plan = self.plan;
        let columns = self.columns;
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
                        if entry.wants(text) {
                            entry.example(|| text.to_owned());
                        }
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
                        if entry.wants(text) {
                            entry.example(|| text.to_owned());
                        }
                    }
                }
            });
        }
    }

    /// Check `i`'s SQL predicate over the batch's rows, when it has one.
    fn predicate(&self, i: usize, result: &mut UnitResult) -> Result<(), DqError> {
        let Some(predicate) = self.plan.predicates.get(&i) else { return Ok(()) };
        let (rows, columns) = (self.rows, self.columns);
        let verdict = predicate.evaluate(rows, &|name| columns.get(name).cloned()).map_err(|e| DqError::Spec {
            field: format!("checks[{i}].sql"),
            at: None,
            message: format!("cannot evaluate `{}` on {}: {e}", predicate.sql, self.file.location()),
            help: "compare columns with values of their own type (strings in single quotes, numbers bare)".to_owned(),
        })?;
        let entry = result.checks.entry(i).or_default();
        entry.checked += rows as u64;
        let bad = verdict.false_count();
        if bad > 0 {
            entry.failing += bad as u64;
            let used = predicate.columns();
            for row in (0..rows).filter(|r| verdict.is_valid(*r) && !verdict.value(*r)) {
                entry.example(|| row_text(columns, &used, row));
            }
        }
        Ok(())
    }

    /// Check `i`'s uniqueness: its keys into its distinct count (up to
    /// `limit` exactly), once every key column is in the batch.
    fn unique(
        &self,
        key_columns: &[String],
        distinct: &mut BTreeMap<usize, Distinct>,
        (i, limit): (usize, u64),
        keys: &mut KeyHashes,
    ) {
        let arrays: Vec<&ArrayRef> = key_columns.iter().filter_map(|c| self.columns.get(c.as_str())).collect();
        if arrays.len() == key_columns.len() {
            hash_rows(&arrays, self.rows, &mut keys.hashes, &mut keys.valid);
            let d = distinct.entry(i).or_default();
            for (h, ok) in keys.hashes.iter().zip(&keys.valid) {
                if *ok {
                    d.add(*h, limit);
                }
            }
        }
    }

    /// Check `i`'s referential integrity: each value's key among the referenced dataset's.
    fn referential(&self, i: usize, check: &Check, result: &mut UnitResult, keys: &mut KeyHashes) {
        if let Some(r) = &check.referential_integrity
            && let Some(array) = self.columns.get(r.column.as_str())
            && let Some(known) = self.plan.refs.get(&i)
        {
            hash_rows(&[array], self.rows, &mut keys.hashes, &mut keys.valid);
            let entry = result.checks.entry(i).or_default();
            for (row, (h, ok)) in keys.hashes.iter().zip(&keys.valid).enumerate() {
                if *ok {
                    entry.checked += 1;
                    if !known.contains(h) {
                        entry.failing += 1;
                        for_each_text(&array.slice(row, 1), |_, t| {
                            entry.example(|| t.unwrap_or_default().to_owned());
                        });
                    }
                }
            }
        }
    }
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
