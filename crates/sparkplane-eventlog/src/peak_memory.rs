//! The executors' peak memory, from the executor metrics Spark writes into event logs.
//!
//! Owns: [`PeakMemory`] (the largest figure any executor reached over the whole
//! application) and the fold that keeps it, fed from `SparkListenerTaskEnd`'s
//! "Task Executor Metrics" (Spark 3.0+), `SparkListenerStageExecutorMetrics`
//! (with `spark.eventLog.logStageExecutorMetrics`) and each task's "Peak Execution
//! Memory".
//!
//! Must not: guess a figure the log does not carry. Spark writes 0 for a metric it
//! did not sample (no heartbeat or poll fell inside a short task; process-tree
//! metrics off), so 0 means "not measured" and such figures stay `None`. Memory is
//! a handful of maxima, whatever the size of the log.

use serde::Serialize;

use crate::parse::ExecutorMetrics;

/// The largest memory figures any executor reached, in bytes; `None` where the log
/// never carried a measured (non-zero) value. In local mode the driver is the executor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeakMemory {
    /// Peak JVM heap in use (`JVMHeapMemory`).
    pub jvm_heap_bytes: Option<u64>,
    /// Peak JVM memory outside the heap (`JVMOffHeapMemory`).
    pub jvm_off_heap_bytes: Option<u64>,
    /// Peak Spark execution memory on the heap (`OnHeapExecutionMemory`).
    pub on_heap_execution_bytes: Option<u64>,
    /// Peak Spark execution memory off the heap (`OffHeapExecutionMemory`).
    pub off_heap_execution_bytes: Option<u64>,
    /// Peak Spark storage memory on the heap (`OnHeapStorageMemory`).
    pub on_heap_storage_bytes: Option<u64>,
    /// Peak direct plus mapped buffer pools (`DirectPoolMemory` + `MappedPoolMemory`, each at its peak).
    pub buffer_pools_bytes: Option<u64>,
    /// Peak resident set of the executor's JVM (`ProcessTreeJVMRSSMemory`).
    pub jvm_rss_bytes: Option<u64>,
    /// Peak resident set of its Python workers (`ProcessTreePythonRSSMemory`).
    pub python_rss_bytes: Option<u64>,
    /// Peak resident set of its other child processes (`ProcessTreeOtherRSSMemory`).
    pub other_rss_bytes: Option<u64>,
    /// Largest "Peak Execution Memory" of one task.
    pub task_peak_execution_bytes: Option<u64>,
    /// Executor-metric samples with a measured heap: how much the peaks rest on.
    pub samples: u64,
}

impl PeakMemory {
    /// Whether the log carried any measured figure at all.
    pub fn is_measured(&self) -> bool {
        self.jvm_heap_bytes.is_some() || self.task_peak_execution_bytes.is_some() || self.jvm_rss_bytes.is_some()
    }

    /// Memory outside the heap at its peak: JVM off-heap, buffer pools, off-heap execution and
    /// the Python and other child processes' resident sets. Each term is its own peak, so the
    /// sum is an upper bound of what was ever resident at once. `None` without any of them.
    pub fn non_heap_bytes(&self) -> Option<u64> {
        let parts = [
            self.jvm_off_heap_bytes,
            self.buffer_pools_bytes,
            self.off_heap_execution_bytes,
            self.python_rss_bytes,
            self.other_rss_bytes,
        ];
        parts.iter().flatten().copied().reduce(u64::saturating_add)
    }

    /// The whole container's resident memory at its peak (JVM + Python + other RSS, each at its
    /// peak); `None` unless the JVM's process-tree RSS was measured.
    pub fn container_rss_bytes(&self) -> Option<u64> {
        let jvm = self.jvm_rss_bytes?;
        Some(jvm.saturating_add(self.python_rss_bytes.unwrap_or(0)).saturating_add(self.other_rss_bytes.unwrap_or(0)))
    }

    /// Folds in one sample of an executor's metrics.
    pub fn observe(&mut self, m: &ExecutorMetrics) {
        raise(&mut self.jvm_heap_bytes, m.jvm_heap);
        raise(&mut self.jvm_off_heap_bytes, m.jvm_off_heap);
        raise(&mut self.on_heap_execution_bytes, m.on_heap_execution);
        raise(&mut self.off_heap_execution_bytes, m.off_heap_execution);
        raise(&mut self.on_heap_storage_bytes, m.on_heap_storage);
        raise(&mut self.buffer_pools_bytes, m.direct_pool.max(0).saturating_add(m.mapped_pool.max(0)));
        raise(&mut self.jvm_rss_bytes, m.process_tree_jvm_rss);
        raise(&mut self.python_rss_bytes, m.process_tree_python_rss);
        raise(&mut self.other_rss_bytes, m.process_tree_other_rss);
        if m.jvm_heap > 0 {
            self.samples += 1;
        }
    }

    /// Folds in one task's "Peak Execution Memory".
    pub fn observe_task_peak(&mut self, bytes: i64) {
        raise(&mut self.task_peak_execution_bytes, bytes);
    }

    /// Folds another executor's (or the driver's) peaks into these.
    pub fn merge(&mut self, other: &PeakMemory) {
        let pairs = [
            (&mut self.jvm_heap_bytes, other.jvm_heap_bytes),
            (&mut self.jvm_off_heap_bytes, other.jvm_off_heap_bytes),
            (&mut self.on_heap_execution_bytes, other.on_heap_execution_bytes),
            (&mut self.off_heap_execution_bytes, other.off_heap_execution_bytes),
            (&mut self.on_heap_storage_bytes, other.on_heap_storage_bytes),
            (&mut self.buffer_pools_bytes, other.buffer_pools_bytes),
            (&mut self.jvm_rss_bytes, other.jvm_rss_bytes),
            (&mut self.python_rss_bytes, other.python_rss_bytes),
            (&mut self.other_rss_bytes, other.other_rss_bytes),
            (&mut self.task_peak_execution_bytes, other.task_peak_execution_bytes),
        ];
        for (mine, theirs) in pairs {
            if let Some(value) = theirs {
                raise(mine, i64::try_from(value).unwrap_or(i64::MAX));
            }
        }
        self.samples = self.samples.saturating_add(other.samples);
    }
}

/// Keeps the larger of `peak` and `value`; zero and negative values are "not measured".
fn raise(peak: &mut Option<u64>, value: i64) {
    let Ok(value) = u64::try_from(value) else { return };
    if value > 0 {
        *peak = Some(peak.map_or(value, |p| p.max(value)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_not_measurements_and_peaks_only_rise() {
        let mut peak = PeakMemory::default();
        peak.observe(&ExecutorMetrics::default());
        assert!(!peak.is_measured());
        assert_eq!((peak.non_heap_bytes(), peak.container_rss_bytes(), peak.samples), (None, None, 0));
        peak.observe(&ExecutorMetrics { jvm_heap: 500, jvm_off_heap: 40, direct_pool: 5, ..Default::default() });
        peak.observe(&ExecutorMetrics {
            jvm_heap: 300,
            jvm_off_heap: 60,
            process_tree_jvm_rss: 900,
            ..Default::default()
        });
        peak.observe_task_peak(-1);
        peak.observe_task_peak(70);
        assert_eq!(peak.jvm_heap_bytes, Some(500));
        assert_eq!(peak.non_heap_bytes(), Some(60 + 5));
        assert_eq!(peak.container_rss_bytes(), Some(900));
        assert_eq!((peak.task_peak_execution_bytes, peak.samples), (Some(70), 2));
        let mut driver = PeakMemory::default();
        driver.observe(&ExecutorMetrics { jvm_heap: 800, process_tree_python_rss: 100, ..Default::default() });
        peak.merge(&driver);
        assert_eq!((peak.jvm_heap_bytes, peak.python_rss_bytes, peak.samples), (Some(800), Some(100), 3));
        assert_eq!(peak.container_rss_bytes(), Some(1_000));
    }
}
