//! The task-time sketch: a stage attempt's task run times kept in bounded,
//! deterministic memory, read back as a [`TaskTimeDistribution`].
//!
//! Owns: [`TaskTimeSketch`] and its bucket width [`TASK_TIME_SKETCH_GROWTH`].
//!
//! Must not: keep one entry per task — a stage holds at most about 2,300
//! buckets whatever its number of tasks — or know where durations come from.

use std::collections::BTreeMap;

use crate::stage::TaskTimeDistribution;

/// Width of one bucket of the task-time sketch: each bucket spans ×1.02, so a quantile
/// read from it is within 1% of the exact one while a stage keeps at most about
/// 2,300 buckets (every duration a `u64` of milliseconds can hold), never one per task.
pub const TASK_TIME_SKETCH_GROWTH: f64 = 1.02;

/// A bounded, deterministic quantile sketch of durations in milliseconds: counts per
/// log-spaced bucket (see [`TASK_TIME_SKETCH_GROWTH`]) plus the exact min and max.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskTimeSketch {
    /// Bucket index → count. Bucket 0 holds 0 ms; bucket `i ≥ 1` holds
    /// `[growth^(i-1), growth^i)`.
    buckets: BTreeMap<u16, u64>,
    count: u64,
    min_ms: u64,
    max_ms: u64,
}

impl TaskTimeSketch {
    pub(crate) fn add(&mut self, ms: u64) {
        let bucket = if ms == 0 {
            0
        } else {
            // ln(u64::MAX) / ln(1.02) ≈ 2,240, so the index always fits a u16.
            let index = ((ms as f64).ln() / TASK_TIME_SKETCH_GROWTH.ln()).floor() as u16;
            index.saturating_add(1)
        };
        *self.buckets.entry(bucket).or_insert(0) += 1;
        if self.count == 0 {
            (self.min_ms, self.max_ms) = (ms, ms);
        } else {
            self.min_ms = self.min_ms.min(ms);
            self.max_ms = self.max_ms.max(ms);
        }
        self.count += 1;
    }

    /// The nearest-rank `q`-quantile: the middle of the bucket holding rank ⌈q·n⌉,
    /// kept within the exact min and max (and exactly them at the first and last rank).
    fn quantile(&self, q: f64) -> u64 {
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count.max(1));
        // The extremes are known exactly; only ranks in between need the buckets.
        if rank == 1 {
            return self.min_ms;
        }
        if rank == self.count {
            return self.max_ms;
        }
        let mut seen = 0;
        for (&bucket, &count) in &self.buckets {
            seen += count;
            if seen >= rank {
                if bucket == 0 {
                    return 0;
                }
                let low = TASK_TIME_SKETCH_GROWTH.powi(i32::from(bucket) - 1);
                let middle = (low * (1.0 + TASK_TIME_SKETCH_GROWTH) / 2.0).round() as u64;
                return middle.clamp(self.min_ms, self.max_ms);
            }
        }
        self.max_ms
    }

    pub(crate) fn distribution(&self) -> Option<TaskTimeDistribution> {
        (self.count > 0).then(|| TaskTimeDistribution {
            count: self.count,
            min_ms: self.min_ms,
            median_ms: self.quantile(0.5),
            p99_ms: self.quantile(0.99),
            max_ms: self.max_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_time_sketch_is_bounded_and_within_one_percent() {
        let mut sketch = TaskTimeSketch::default();
        // A deterministic scramble of 1..=100_000 ms, fed three times.
        for round in 0..3u64 {
            for i in 0..100_000u64 {
                sketch.add((i * 7_919 + round) % 100_000 + 1);
            }
        }
        let d = sketch.distribution().expect("samples");
        assert_eq!((d.count, d.min_ms, d.max_ms), (300_000, 1, 100_000));
        assert!((d.median_ms as f64 - 50_000.0).abs() <= 500.0, "{d:?}");
        assert!((d.p99_ms as f64 - 99_000.0).abs() <= 990.0, "{d:?}");
        // ln(100_000) / ln(1.02) ≈ 581 buckets, whatever the number of tasks.
        assert!(sketch.buckets.len() < 600, "{}", sketch.buckets.len());

        let mut small = TaskTimeSketch::default();
        for ms in [0, 3, 7, 7, 1_000] {
            small.add(ms);
        }
        let d = small.distribution().expect("samples");
        assert_eq!((d.min_ms, d.median_ms, d.p99_ms, d.max_ms), (0, 7, 1_000, 1_000));
        assert_eq!(TaskTimeSketch::default().distribution(), None);
        let mut huge = TaskTimeSketch::default();
        huge.add(u64::MAX);
        assert_eq!(huge.distribution().map(|d| d.median_ms), Some(u64::MAX));
    }
}
