//! Mergeable summaries the engine keeps per column: a log-bucket histogram
//! (for quantiles and drift), a HyperLogLog distinct-count estimate, and the
//! population stability index between two histograms.
//!
//! Sans-IO and deterministic: merging is addition, so the result does not
//! depend on how files were split across threads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Mantissa bits kept per bucket: 2^7 buckets per power of two, so a bucket
/// spans at most 1/128 (0.8%) of its values.
const KEPT_MANTISSA_BITS: u32 = 7;
const SHIFT: u32 = 52 - KEPT_MANTISSA_BITS;

/// A histogram over f64 with buckets of bounded relative width: the bucket of
/// a value is its sign, exponent and top mantissa bits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bucket key (see `bucket_of`) to count; sparse and sorted.
    pub buckets: BTreeMap<i64, u64>,
}

/// The bucket of `value`: ordered like the values (negative keys for
/// negative values, 0 for zero).
pub fn bucket_of(value: f64) -> i64 {
    if value == 0.0 || value.is_nan() {
        return 0;
    }
    let key = ((value.abs().to_bits() >> SHIFT) as i64) + 1;
    if value < 0.0 { -key } else { key }
}

/// The smallest value of a bucket (its lower edge in absolute value).
pub fn bucket_value(key: i64) -> f64 {
    if key == 0 {
        return 0.0;
    }
    let magnitude = f64::from_bits((key.unsigned_abs() - 1) << SHIFT);
    if key < 0 { -magnitude } else { magnitude }
}

impl Histogram {
    /// Adds a value.
    #[inline]
    pub fn add(&mut self, value: f64) {
        *self.buckets.entry(bucket_of(value)).or_insert(0) += 1;
    }

    /// Adds many values, counting runs of the same bucket before touching the map.
    pub fn add_all(&mut self, values: impl Iterator<Item = f64>) {
        let mut current = None;
        let mut run = 0u64;
        for value in values {
            let key = bucket_of(value);
            if current == Some(key) {
                run += 1;
            } else {
                if let Some(k) = current {
                    *self.buckets.entry(k).or_insert(0) += run;
                }
                current = Some(key);
                run = 1;
            }
        }
        if let Some(k) = current {
            *self.buckets.entry(k).or_insert(0) += run;
        }
    }

    /// Adds another histogram.
    pub fn merge(&mut self, other: &Histogram) {
        for (key, count) in &other.buckets {
            *self.buckets.entry(*key).or_insert(0) += count;
        }
    }

    /// Number of values.
    pub fn total(&self) -> u64 {
        self.buckets.values().sum()
    }

    /// The value at quantile `q` (0..=1), to the bucket's resolution.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * (total - 1) as f64).round() as u64).min(total - 1);
        let mut seen = 0;
        for (key, count) in &self.buckets {
            seen += count;
            if seen > rank {
                return Some(bucket_value(*key));
            }
        }
        self.buckets.keys().next_back().map(|k| bucket_value(*k))
    }
}

/// Population stability index of `current` against `baseline`, over ten bins
/// cut at the baseline's deciles (bucket keys, so both sides are binned the
/// same way). Empty bins count as 0.0001 of the values to keep the log finite.
pub fn psi(baseline: &Histogram, current: &Histogram) -> Option<f64> {
    let (base_total, cur_total) = (baseline.total(), current.total());
    if base_total == 0 || cur_total == 0 {
        return None;
    }
    // Bin edges: the bucket keys at the baseline's deciles.
    let mut edges: Vec<i64> = Vec::new();
    let mut seen = 0u64;
    let mut next = 1u64;
    for (key, count) in &baseline.buckets {
        seen += count;
        while next < 10 && seen * 10 >= next * base_total {
            if edges.last() != Some(key) {
                edges.push(*key);
            }
            next += 1;
        }
    }
    let bin = |key: i64| edges.partition_point(|edge| *edge < key);
    let mut base = vec![0u64; edges.len() + 1];
    let mut cur = vec![0u64; edges.len() + 1];
    for (key, count) in &baseline.buckets {
        base[bin(*key)] += count;
    }
    for (key, count) in &current.buckets {
        cur[bin(*key)] += count;
    }
    let floor = 0.0001;
    let value = base
        .iter()
        .zip(&cur)
        .map(|(b, c)| {
            let p = (*b as f64 / base_total as f64).max(floor);
            let q = (*c as f64 / cur_total as f64).max(floor);
            (q - p) * (q / p).ln()
        })
        .sum();
    Some(value)
}

/// Registers of a HyperLogLog with 2^14 registers (standard error about 0.8%).
const HLL_BITS: u32 = 14;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

/// A HyperLogLog distinct-count estimate over 64-bit hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct HyperLogLog {
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    fn default() -> Self {
        Self { registers: vec![0; HLL_REGISTERS] }
    }
}

impl HyperLogLog {
    /// Adds a 64-bit hash (of a well-mixed hash function).
    #[inline]
    pub fn add(&mut self, hash: u64) {
        let index = (hash >> (64 - HLL_BITS)) as usize;
        let rest = (hash << HLL_BITS) | (1 << (HLL_BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if let Some(register) = self.registers.get_mut(index)
            && *register < rank
        {
            *register = rank;
        }
    }

    /// Adds another estimate.
    pub fn merge(&mut self, other: &HyperLogLog) {
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// The estimated number of distinct hashes added.
    pub fn estimate(&self) -> u64 {
        let m = HLL_REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        if raw <= 2.5 * m && zeros > 0 { (m * (m / zeros as f64).ln()).round() as u64 } else { raw.round() as u64 }
    }
}

/// A fast, well-mixed 64-bit hash of bytes (FNV-1a folded through a
/// splitmix64 finaliser). Deterministic across runs and machines.
#[inline]
pub fn hash_bytes(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    mix(h)
}

/// splitmix64's finaliser: spreads the bits of `x`.
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_order_and_bounded_width() {
        let values = [-1000.0, -2.5, -0.001, 0.0, 0.001, 1.0, 1.005, 2.0, 1e9];
        let keys: Vec<i64> = values.iter().map(|v| bucket_of(*v)).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
        for v in [1.0, 3.7, 12345.6, 0.25] {
            let low = bucket_value(bucket_of(v));
            assert!(low <= v && (v - low) / v < 1.0 / 128.0 + 1e-12, "{v} -> {low}");
        }
    }

    #[test]
    fn quantiles_are_within_a_bucket() {
        let mut h = Histogram::default();
        h.add_all((1..=1000).map(f64::from));
        let median = h.quantile(0.5).unwrap_or_default();
        assert!((median - 500.0).abs() / 500.0 < 0.01, "{median}");
    }

    #[test]
    fn psi_is_zero_for_the_same_data_and_large_for_a_shift() {
        let mut a = Histogram::default();
        a.add_all((0..10_000).map(|i| f64::from(i % 100)));
        let mut shifted = Histogram::default();
        shifted.add_all((0..10_000).map(|i| f64::from(i % 100) + 50.0));
        assert!(psi(&a, &a).unwrap_or(1.0) < 1e-9);
        assert!(psi(&a, &shifted).unwrap_or(0.0) > 1.0);
    }

    #[test]
    fn hyperloglog_is_within_three_percent() {
        let mut hll = HyperLogLog::default();
        for i in 0..200_000u64 {
            hll.add(mix(i));
            hll.add(mix(i)); // duplicates do not count
        }
        let estimate = hll.estimate() as f64;
        assert!((estimate - 200_000.0).abs() / 200_000.0 < 0.03, "{estimate}");
    }
}
