//! Deciding each check from a `Scan` (and the previous run's profile), and
//! the profile this run leaves for the next.
//!
//! Sans-IO: the clock comes in as `now_secs`, the baseline as a value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sparkplane_api::dq::{
    CheckSeverity, DqSpec, DriftCheck, FreshnessCheck, NotNullCheck, RangeCheck, ReferentialIntegrityCheck,
    RowCountChangeCheck, RowCountCheck, SchemaCheck, SqlCheck, UnexpectedColumns, UniqueCheck,
};

use crate::sketch;
use crate::stats::{ColumnStats, Scan};

/// Version of the profile format; a profile of another version is not used as a baseline.
pub const PROFILE_VERSION: u32 = 1;
/// Default largest population stability index of a drift check.
pub const DEFAULT_MAX_PSI: f64 = 0.2;

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check holds.
    Pass,
    /// The check does not hold (fails the gate when its severity is error).
    Fail,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Which check field (`rowCount`, `notNull`, …).
    pub kind: String,
    /// error or warn.
    pub severity: CheckSeverity,
    /// pass or fail.
    pub status: Status,
    /// What was observed, in a sentence.
    pub message: String,
    /// The measured value the check compared (rows, fraction, PSI, …), when one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// Rows failing a row-level check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_rows: Option<u64>,
    /// A few failing values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// The whole run's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DqReport {
    /// The spec's name.
    pub spec: String,
    /// `all` or the partition selection.
    pub selection: String,
    /// Whether every error-severity check passed.
    pub passed: bool,
    /// Files read.
    pub files: usize,
    /// Bytes of the files read.
    pub bytes: u64,
    /// Rows.
    pub rows: u64,
    /// Parquet row groups answered (partly) from statistics.
    pub row_groups_pruned: u64,
    /// Check results in spec order.
    pub checks: Vec<CheckResult>,
    /// What happened to the data on failure, when quarantine is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<String>,
    /// What Spark did, when the spark engine ran the checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark: Option<SparkFigures>,
}

/// The spark engine's queries and scans of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SparkFigures {
    /// Spark queries run (the shared aggregation, grouping and anti-join queries).
    pub queries: usize,
    /// Scans of the dataset the plan takes.
    pub planned_scans: usize,
    /// Scans of the dataset counted in the run's Spark event log; absent
    /// for a `--connect` endpoint, whose server's log is not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scans: Option<usize>,
}

impl DqReport {
    /// Failed checks of error severity.
    pub fn errors(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.status == Status::Fail && c.severity == CheckSeverity::Error)
    }
}

/// Per-column statistics kept from one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnProfile {
    /// Rows of files that have the column.
    pub count: u64,
    /// Nulls.
    pub nulls: u64,
    /// Smallest value (numeric columns; dates/timestamps in seconds since 1970).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Mean of decoded values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Standard deviation of decoded values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stddev: Option<f64>,
    /// Median, from the histogram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// 99th percentile, from the histogram.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    /// Distinct keys (uniqueness checks on this column alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct: Option<u64>,
    /// Histogram (drift checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<sketch::Histogram>,
}

/// What one run leaves for the next: row count and the checked columns' statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// `PROFILE_VERSION`.
    pub version: u32,
    /// The spec's name.
    pub spec: String,
    /// `all` or the partition selection.
    pub selection: String,
    /// Rows.
    pub rows: u64,
    /// Columns the checks touched.
    pub columns: BTreeMap<String, ColumnProfile>,
}

fn column_profile(stats: &ColumnStats) -> ColumnProfile {
    let scanned = stats.scanned > 0;
    ColumnProfile {
        count: stats.rows,
        nulls: stats.nulls,
        min: stats.min,
        max: stats.max,
        mean: scanned.then_some(stats.mean),
        stddev: (stats.scanned > 1).then(|| (stats.m2 / (stats.scanned - 1) as f64).sqrt()),
        p50: stats.histogram.as_ref().and_then(|h| h.quantile(0.5)),
        p99: stats.histogram.as_ref().and_then(|h| h.quantile(0.99)),
        distinct: None,
        histogram: stats.histogram.clone(),
    }
}

/// The profile of a scan.
pub fn profile(spec: &DqSpec, selection: &str, scan: &Scan) -> Profile {
    let mut columns: BTreeMap<String, ColumnProfile> =
        scan.stats.iter().map(|(name, stats)| (name.clone(), column_profile(stats))).collect();
    for (i, check) in spec.checks.iter().enumerate() {
        if let (Some(u), Some(d)) = (&check.unique, scan.distinct.get(&i))
            && let [column] = u.columns.as_slice()
            && let Some(p) = columns.get_mut(column)
        {
            p.distinct = Some(d.count());
        }
    }
    Profile {
        version: PROFILE_VERSION,
        spec: spec.metadata.name.clone(),
        selection: selection.to_owned(),
        rows: scan.rows,
        columns,
    }
}

/// Inputs to evaluation besides the scan.
pub struct EvalContext<'a> {
    /// Now, in seconds since 1970 (for freshness).
    pub now_secs: f64,
    /// The previous run's profile, if any.
    pub baseline: Option<&'a Profile>,
    /// `all` or the partition selection.
    pub selection: &'a str,
    /// Referenced columns that were not found in their dataset, by check index.
    pub missing_refs: &'a BTreeMap<usize, String>,
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.4}") }
}

fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

/// Decides every check of `spec` from `scan`.
pub fn evaluate(spec: &DqSpec, scan: &Scan, ctx: &EvalContext<'_>) -> DqReport {
    let checks = spec.checks.iter().enumerate().map(|(i, check)| evaluate_one(i, check, scan, ctx)).collect();
    let mut report = DqReport {
        spec: spec.metadata.name.clone(),
        selection: ctx.selection.to_owned(),
        passed: true,
        files: scan.files,
        bytes: scan.bytes,
        rows: scan.rows,
        row_groups_pruned: scan.row_groups_pruned,
        checks,
        quarantine: None,
        spark: None,
    };
    let passed = report.errors().next().is_none();
    report.passed = passed;
    report
}

fn evaluate_one(i: usize, check: &sparkplane_api::dq::Check, scan: &Scan, ctx: &EvalContext<'_>) -> CheckResult {
    let kind = crate::spec::check_fields(check).first().copied().unwrap_or("none");
    let mut result = CheckResult {
        name: check.name.clone(),
        kind: kind.to_owned(),
        severity: check.severity,
        status: Status::Pass,
        message: String::new(),
        observed: None,
        failing_rows: None,
        examples: Vec::new(),
    };
    let judge = Judge { i, scan, ctx };
    let r = &mut result;
    if let Some(rows) = &check.row_count {
        judge.row_count(r, rows);
    } else if let Some(change) = &check.row_count_change {
        judge.row_count_change(r, change);
    } else if let Some(schema) = &check.schema {
        judge.schema(r, schema);
    } else if let Some(nn) = &check.not_null {
        judge.not_null(r, nn);
    } else if let Some(u) = &check.unique {
        judge.unique(r, u);
    } else if let Some(a) = &check.accepted_values {
        judge.row_level_on(r, &a.column, "are not accepted", "are accepted");
    } else if let Some(range) = &check.range {
        judge.range(r, range);
    } else if let Some(regex) = &check.regex {
        judge.row_level_on(r, &regex.column, "do not match", "match");
    } else if let Some(f) = &check.freshness {
        judge.freshness(r, f);
    } else if let Some(reference) = &check.referential_integrity {
        judge.referential_integrity(r, reference);
    } else if let Some(sql) = &check.sql {
        judge.sql(r, sql);
    } else if let Some(d) = &check.drift {
        judge.drift(r, d);
    }
    result
}

/// Marks `result` failed with `message`.
fn fail(result: &mut CheckResult, message: String) {
    result.status = Status::Fail;
    result.message = message;
}

/// What one check is judged against: its index (the key of its row-level
/// figures, distinct counts and missing references), the scan and the run's
/// context. One method per kind of check, each filling the check's result.
struct Judge<'a, 'c> {
    i: usize,
    scan: &'a Scan,
    ctx: &'a EvalContext<'c>,
}

impl Judge<'_, '_> {
    /// Why `column` cannot be checked (it is not in the data), with the nearest name.
    fn missing(&self, column: &str) -> Option<String> {
        let scan = self.scan;
        (!scan.columns.contains_key(column)).then(|| {
            let known: Vec<&str> = scan.columns.keys().map(String::as_str).collect();
            let hint = sparkplane_documents::schema::did_you_mean(column, known.iter().copied())
                .map(|g| format!("; did you mean `{g}`?"))
                .unwrap_or_default();
            if scan.files == 0 {
                format!("column `{column}` not found: the dataset has no files")
            } else {
                format!("column `{column}` not found (columns: {}){hint}", known.join(", "))
            }
        })
    }

    /// A row-level check's result from the scan's count of failing values and examples.
    fn row_level(&self, result: &mut CheckResult, what: &str, ok: &str) {
        let stats = self.scan.checks.get(&self.i).cloned().unwrap_or_default();
        result.failing_rows = Some(stats.failing);
        result.observed = Some(stats.failing as f64);
        result.examples = stats.examples.into_iter().collect();
        if stats.failing > 0 {
            result.status = Status::Fail;
            result.message = format!("{} of {} values {what}", stats.failing, stats.checked);
        } else {
            result.message = format!("all {} values {ok}", stats.checked);
        }
    }

    /// `acceptedValues` and `regex`: a row-level check of `column`, failed when the column is missing.
    fn row_level_on(&self, result: &mut CheckResult, column: &str, what: &str, ok: &str) {
        match self.missing(column) {
            Some(m) => fail(result, m),
            None => self.row_level(result, what, ok),
        }
    }

    /// `rowCount`: the rows between `min` and `max`.
    fn row_count(&self, result: &mut CheckResult, rows: &RowCountCheck) {
        let scan = self.scan;
        result.observed = Some(scan.rows as f64);
        let low = rows.min.is_some_and(|m| scan.rows < m);
        let high = rows.max.is_some_and(|m| scan.rows > m);
        let bounds = match (rows.min, rows.max) {
            (Some(a), Some(b)) => format!("{a}..{b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => "any".into(),
        };
        if low || high {
            fail(result, format!("{} rows; expected {bounds}", scan.rows));
        } else {
            result.message = format!("{} rows (expected {bounds})", scan.rows);
        }
    }

    /// `rowCountChange`: the rows' change since the previous run within `maxPercent`.
    fn row_count_change(&self, result: &mut CheckResult, change: &RowCountChangeCheck) {
        let (scan, ctx) = (self.scan, self.ctx);
        match ctx.baseline {
            None => result.message = "no baseline: the first run's profile becomes the baseline".into(),
            Some(base) if base.rows == 0 => {
                result.message = format!("previous run ({}) had no rows; change not defined", base.selection)
            }
            Some(base) => {
                let percent = (scan.rows as f64 - base.rows as f64) / base.rows as f64 * 100.0;
                result.observed = Some(percent);
                let text = format!(
                    "{} rows vs {} in the previous run ({}): {percent:+.1}%",
                    scan.rows, base.rows, base.selection
                );
                if percent.abs() > change.max_percent {
                    fail(result, format!("{text}; allowed ±{}%", fmt_num(change.max_percent)));
                } else {
                    result.message = text;
                }
            }
        }
    }

    /// `schema`: every expected column with its type; other columns as `unexpectedColumns` says.
    fn schema(&self, result: &mut CheckResult, schema: &SchemaCheck) {
        let scan = self.scan;
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        for (column, expected) in &schema.columns {
            let expected = expected.to_ascii_lowercase();
            match scan.columns.get(column) {
                None => problems.push(format!("`{column}` is missing")),
                Some(shape) => {
                    let matches = |t: &str| t == expected || (expected == "decimal" && t.starts_with("decimal("));
                    if shape.types.len() > 1 {
                        let by_type: Vec<String> = shape
                            .types
                            .iter()
                            .map(|(t, files)| format!("{t} in {}", files.first().cloned().unwrap_or_default()))
                            .collect();
                        problems.push(format!("`{column}` changes type across files: {}", by_type.join(", ")));
                    } else if let Some(found) = shape.types.keys().find(|t| !matches(t.as_str())) {
                        problems.push(format!("`{column}` is {found}, expected {expected}"));
                    }
                }
            }
        }
        for (column, shape) in &scan.columns {
            if !schema.columns.contains_key(column) && !shape.partition {
                match schema.unexpected_columns {
                    UnexpectedColumns::Error => problems.push(format!("unexpected column `{column}`")),
                    UnexpectedColumns::Warn => warnings.push(format!("unexpected column `{column}`")),
                    UnexpectedColumns::Ignore => {}
                }
            }
            if shape.types.len() > 1 && !schema.columns.contains_key(column) {
                warnings.push(format!("`{column}` changes type across files"));
            }
        }
        if problems.is_empty() {
            result.message = if warnings.is_empty() {
                format!("{} expected columns present with their types", schema.columns.len())
            } else {
                format!("columns as expected; note: {}", warnings.join("; "))
            };
        } else {
            problems.extend(warnings);
            fail(result, problems.join("; "));
        }
    }

    /// `notNull`: the share of nulls within `maxFraction`.
    fn not_null(&self, result: &mut CheckResult, nn: &NotNullCheck) {
        let scan = self.scan;
        if let Some(m) = self.missing(&nn.column) {
            fail(result, m);
        } else {
            let stats = scan.stats.get(&nn.column).cloned().unwrap_or_default();
            let fraction = if scan.rows == 0 { 0.0 } else { stats.nulls as f64 / scan.rows as f64 };
            let allowed = nn.max_fraction.unwrap_or(0.0);
            result.observed = Some(fraction);
            result.failing_rows = Some(stats.nulls);
            if fraction > allowed {
                fail(
                    result,
                    format!(
                        "{} of {} rows are null ({}); allowed {}",
                        stats.nulls,
                        scan.rows,
                        pct(fraction),
                        pct(allowed)
                    ),
                );
            } else {
                result.message = format!("{} nulls in {} rows ({})", stats.nulls, scan.rows, pct(fraction));
            }
        }
    }

    /// `unique`: no duplicate keys (within an estimate's error when approximate).
    fn unique(&self, result: &mut CheckResult, u: &UniqueCheck) {
        let (i, scan) = (self.i, self.scan);
        if let Some(m) = u.columns.iter().find_map(|c| self.missing(c)) {
            fail(result, m);
        } else if let Some(d) = scan.distinct.get(&i) {
            let distinct = d.count();
            let duplicates = d.keyed_rows.saturating_sub(distinct);
            let how = if d.is_approximate() {
                format!(
                    "approximate (HyperLogLog, ±2%): more than {} distinct keys",
                    u.approximate_above.unwrap_or(crate::stats::DEFAULT_EXACT_DISTINCT)
                )
            } else {
                "exact".to_owned()
            };
            result.observed = Some(duplicates as f64);
            // An estimate within its error of "all distinct" is not a failure.
            let tolerance = if d.is_approximate() { (d.keyed_rows as f64 * 0.02) as u64 } else { 0 };
            if duplicates > tolerance {
                result.failing_rows = Some(duplicates);
                fail(result, format!("{duplicates} duplicate keys in {} rows ({how})", d.keyed_rows));
            } else {
                result.message = format!("{distinct} distinct keys in {} rows ({how})", d.keyed_rows);
            }
        }
    }

    /// `range`: a numeric column's values in range, with the bounds observed.
    fn range(&self, result: &mut CheckResult, r: &RangeCheck) {
        let scan = self.scan;
        match self.missing(&r.column) {
            Some(m) => fail(result, m),
            None => {
                let stats = scan.stats.get(&r.column).cloned().unwrap_or_default();
                if stats.min.is_none() && stats.rows > stats.nulls {
                    fail(result, format!("column `{}` is not numeric", r.column));
                } else {
                    self.row_level(result, "are out of range", "are in range");
                    if let (Some(lo), Some(hi)) = (stats.min, stats.max) {
                        result.message = format!("{}; observed {}..{}", result.message, fmt_num(lo), fmt_num(hi));
                    }
                }
            }
        }
    }

    /// `freshness`: the newest timestamp no older than `maxAge`.
    fn freshness(&self, result: &mut CheckResult, f: &FreshnessCheck) {
        let (scan, ctx) = (self.scan, self.ctx);
        match self.missing(&f.column) {
            Some(m) => fail(result, m),
            None => match scan.stats.get(&f.column).and_then(|s| s.max) {
                None => fail(result, format!("no timestamps in `{}`", f.column)),
                Some(newest) => {
                    let age = ctx.now_secs - newest;
                    result.observed = Some(age);
                    let age_text = sparkplane_api::Duration::from_secs(age.max(0.0) as u64).to_string();
                    if age > f.max_age.as_millis() as f64 / 1000.0 {
                        fail(result, format!("newest value is {age_text} old; allowed {}", f.max_age));
                    } else {
                        result.message = format!("newest value is {age_text} old (allowed {})", f.max_age);
                    }
                }
            },
        }
    }

    /// `referentialIntegrity`: every value found in the referenced dataset.
    fn referential_integrity(&self, result: &mut CheckResult, r: &ReferentialIntegrityCheck) {
        let (i, ctx) = (self.i, self.ctx);
        if let Some(m) = self.missing(&r.column) {
            fail(result, m);
        } else if let Some(m) = ctx.missing_refs.get(&i) {
            fail(result, m.clone());
        } else {
            self.row_level(result, "are not in the referenced dataset", "are in the referenced dataset");
        }
    }

    /// `sql`: the rows failing the predicate within the allowed count or share.
    fn sql(&self, result: &mut CheckResult, sql: &SqlCheck) {
        let (i, scan) = (self.i, self.scan);
        let stats = scan.checks.get(&i).cloned().unwrap_or_default();
        let fraction = if stats.checked == 0 { 0.0 } else { stats.failing as f64 / stats.checked as f64 };
        result.failing_rows = Some(stats.failing);
        result.observed = Some(stats.failing as f64);
        result.examples = stats.examples.into_iter().collect();
        let rows_ok = stats.failing <= sql.max_failing_rows().unwrap_or(0);
        let fraction_ok = sql.max_failing_fraction().is_some_and(|f| fraction <= f);
        let allowed = match (sql.max_failing_rows(), sql.max_failing_fraction()) {
            (None, None) => String::new(),
            (Some(n), None) => format!("; allowed {n}"),
            (None, Some(f)) => format!("; allowed {}", pct(f)),
            (Some(n), Some(f)) => format!("; allowed {n} or {}", pct(f)),
        };
        let text = format!(
            "{} of {} rows fail `{}` ({}){allowed}",
            stats.failing,
            stats.checked,
            sql.predicate(),
            pct(fraction)
        );
        if stats.failing > 0 && !rows_ok && !fraction_ok {
            fail(result, text);
        } else if stats.failing == 0 {
            result.message = format!("all {} rows satisfy `{}`", stats.checked, sql.predicate());
        } else {
            result.message = text;
        }
    }

    /// `drift`: the column's distribution against the previous run's, by PSI.
    fn drift(&self, result: &mut CheckResult, d: &DriftCheck) {
        let (scan, ctx) = (self.scan, self.ctx);
        let max = d.max_psi.unwrap_or(DEFAULT_MAX_PSI);
        match self.missing(&d.column) {
            Some(m) => fail(result, m),
            None => {
                let current = scan.stats.get(&d.column).and_then(|s| s.histogram.clone()).unwrap_or_default();
                let base = ctx.baseline.and_then(|b| b.columns.get(&d.column)).and_then(|c| c.histogram.as_ref());
                match (ctx.baseline, base) {
                    (None, _) => result.message = "no baseline: the first run's profile becomes the baseline".into(),
                    (Some(b), None) => {
                        result.message = format!(
                            "no baseline: the previous profile ({}) has no histogram of `{}`",
                            b.selection, d.column
                        )
                    }
                    (Some(b), Some(base)) => match sketch::psi(base, &current) {
                        None => result.message = "no numeric values to compare".into(),
                        Some(psi) => {
                            result.observed = Some(psi);
                            let text = format!("PSI {psi:.4} against the previous run ({})", b.selection);
                            if psi > max {
                                fail(result, format!("{text}; allowed {max}"));
                            } else {
                                result.message = text;
                            }
                        }
                    },
                }
            }
        }
    }
}
