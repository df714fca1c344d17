//! What one pass over a dataset found: the per-column, per-check and
//! uniqueness accumulators the scan fills and `evaluate` reads, and the
//! one-pass numeric kernel behind them.
//!
//! Owns: [`Scan`] and its parts ([`ColumnStats`], [`CheckStats`],
//! [`Distinct`], [`ColumnShape`]), merging them across row groups, and
//! [`Summary`] (min, max, mean and spread of a slice in one pass).
//! Must not: read files, plan what to compute (that is `engine`), or decide
//! pass or fail (that is `evaluate`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use crate::sketch::{Histogram, HyperLogLog};

/// Most failing values remembered per check, as examples in the result.
pub const EXAMPLES: usize = 5;
/// Default size of an exact uniqueness set before it turns approximate.
pub const DEFAULT_EXACT_DISTINCT: u64 = 10_000_000;

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
    pub(crate) fn merge(&mut self, other: &ColumnStats) {
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

    pub(crate) fn add_slice(&mut self, values: &[f64], histogram: bool) {
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
pub(crate) fn count_outside(values: &[f64], lo: f64, hi: f64) -> usize {
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
    /// The smallest distinct failing values (sorted, at most `EXAMPLES`).
    pub examples: BTreeSet<String>,
    /// Rows the check looked at (non-null values).
    pub checked: u64,
}

impl CheckStats {
    pub(crate) fn merge(&mut self, other: &CheckStats) {
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

    /// Whether `text` would be kept as an example: the examples are the
    /// `EXAMPLES` smallest distinct failing values (byte order), whatever the
    /// order the rows come in, so every engine and thread count agrees.
    pub(crate) fn wants(&self, text: &str) -> bool {
        self.examples.len() < EXAMPLES || self.examples.last().is_some_and(|last| text < last.as_str())
    }

    pub(crate) fn example(&mut self, value: impl FnOnce() -> String) {
        let text = value();
        if self.wants(&text) {
            self.examples.insert(text);
            while self.examples.len() > EXAMPLES {
                self.examples.pop_last();
            }
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
    /// An exact count computed elsewhere (the spark engine's grouping query).
    counted: Option<u64>,
}

impl Distinct {
    /// An exact result counted by another engine: `distinct` keys among
    /// `keyed_rows` rows without a null in the key.
    pub fn counted(distinct: u64, keyed_rows: u64) -> Distinct {
        Distinct { keyed_rows, counted: Some(distinct), ..Distinct::default() }
    }

    pub(crate) fn add(&mut self, hash: u64, limit: u64) {
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

    pub(crate) fn merge(&mut self, mut other: Distinct, limit: u64) {
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
        if let Some(n) = self.counted {
            return n;
        }
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
    /// The files' column names in the order the files hold them (first seen first).
    pub column_order: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch;

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
