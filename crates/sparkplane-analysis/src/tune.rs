//! Tuning a job spec from its past runs: `sparkplane tune`.
//!
//! Owns: the rules that turn the [`AppSummary`]s of a job's earlier runs into a
//! [`TuneProposal`] — a list of [`Change`]s to the job's `SparkJob` spec, each with
//! its reason, the range of the figure behind it across the runs, a confidence, and
//! a partial `{spec: …}` patch in the spellings the spec uses — and the rule that
//! says which applications are runs of a job ([`is_run_of`]).
//!
//! Must not: read files or YAML, or size pods by its own arithmetic. Every memory
//! figure goes through sparkplane-core's one sizing model
//! ([`sparkplane_core::sizing`]): the proposed spec is sized with [`size_job`] and
//! new heaps are found with [`largest_heap_within`], so `tune`, `size`, `fit` and the
//! renderers can never disagree about what a pod asks for. It reads only what the
//! event-log model ([`sparkplane_eventlog::model`]) holds and never invents a figure the logs do
//! not carry: memory is lowered only from measured peak executor memory
//! ([`sparkplane_eventlog::peak_memory`]) in every run considered, never below a floor and always
//! with headroom that shrinks as more runs agree.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};
use sparkplane_api::MemorySize;
use sparkplane_api::job::{DynamicAllocation, ExecutorSpec, SparkJobSpec};
use sparkplane_core::sizing::{
    DEFAULT_HEAP, MIN_OVERHEAD, PodResources, default_overhead_factor, largest_heap_within, size_job,
};
use sparkplane_eventlog::model::AppSummary;

use crate::analyze::bytes;
use crate::analyze::{GC_SHARE_CRITICAL, GC_SHARE_WARN, IDLE_UTILISATION, MIN_TASK_TIME_FOR_GC_MS, analyze};

/// GC share below which the heap has room to spare: only below it, with peak-memory
/// figures in every run, is memory lowered.
pub const GC_SHARE_LOW: f64 = 0.02;
/// Smallest executor heap `tune` lowers to: Spark's own default.
pub const MIN_EXECUTOR_HEAP: MemorySize = DEFAULT_HEAP;
/// At most this share of the heap (or overhead) is taken away in one step, so a run at the
/// new size is measured before going further.
pub const MAX_LOWERING_STEP: f64 = 0.5;
/// A lowering must save at least this share of the heap (or overhead) to be worth a change.
pub const MIN_LOWERING_SAVING: f64 = 0.25;
/// Headroom over the highest measured peak, by how many runs the peak rests on: one run may
/// have been a light one, five agreeing runs are a pattern.
pub const LOWERING_HEADROOM: [(usize, f64); 3] = [(1, 1.5), (2, 1.35), (HIGH_CONFIDENCE_RUNS, 1.25)];
/// Pod-memory growth when runs spilled to disk or GC took more than [`GC_SHARE_WARN`]
/// of task time: half as much again is the usual first step before measuring again.
pub const MEMORY_GROWTH: f64 = 1.5;
/// Pod-memory growth when GC took more than [`GC_SHARE_CRITICAL`] of task time.
pub const MEMORY_GROWTH_CRITICAL: f64 = 2.0;
/// Largest executor heap `tune` proposes: above 31 GiB the JVM loses compressed
/// object pointers, so a bigger heap holds little more, and pods that large rarely
/// pack well onto nodes. Past it, more partitions are the better fix.
pub const MAX_EXECUTOR_HEAP: MemorySize = MemorySize::from_gib(31);
/// Proposed heaps are rounded up to this step so the spec reads `6656Mi`, not `6631Mi`.
const HEAP_STEP_MIB: u64 = 256;
/// Shuffle bytes each partition should read: large enough that per-task overhead is
/// small, small enough that a task's data sorts in memory.
pub const TARGET_PARTITION_BYTES: u64 = 128 << 20;
/// Spark's default `spark.sql.shuffle.partitions`.
pub const DEFAULT_SHUFFLE_PARTITIONS: u64 = 200;
/// Share of executor core time the executor counts aim to keep busy: headroom for
/// uneven stages (the same target as `analyze`'s idle-executors fix).
pub const TARGET_UTILISATION: f64 = 0.7;
/// Runs needed for high confidence.
pub const HIGH_CONFIDENCE_RUNS: usize = 5;
/// Coefficient of variation of task time across runs below which runs count as consistent.
pub const CONSISTENT_CV: f64 = 0.3;

const SHUFFLE_PARTITIONS: &str = "spark.sql.shuffle.partitions";
const AQE_KEYS: [&str; 3] = [
    "spark.sql.adaptive.enabled",
    "spark.sql.adaptive.coalescePartitions.enabled",
    "spark.sql.adaptive.skewJoin.enabled",
];

/// How far a proposal can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// One run: the figures may be a one-off.
    Low,
    /// Two to four runs, or more runs whose figures disagree.
    Medium,
    /// Five or more runs with consistent task time.
    High,
}

impl Confidence {
    /// The word used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// The range a figure took across the runs considered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounds {
    /// What was measured, e.g. `GC share of task time`.
    pub figure: String,
    /// Smallest value over the runs, in words.
    pub min: String,
    /// Largest value over the runs, in words.
    pub max: String,
}

/// One proposed edit of the job spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The field, as a SparkJob path: `spec.executor.memory`,
    /// `spec.sparkConf."spark.sql.shuffle.partitions"`.
    pub path: String,
    /// The value the spec has now, as the spec spells it; `None` when unset.
    pub from: Option<String>,
    /// The proposed value, as the spec spells it.
    pub to: String,
    /// Why, with the evidence from the runs.
    pub why: String,
    /// The range of the figure behind the change across the runs.
    pub bounds: Option<Bounds>,
}

/// What `tune` proposes for a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TuneProposal {
    /// The edits, in a fixed order (memory, executors, dynamic allocation, Spark properties).
    pub changes: Vec<Change>,
    /// How far the proposal can be trusted.
    pub confidence: Confidence,
    /// Why the confidence is what it is.
    pub confidence_why: String,
    /// Runs the proposal is based on.
    pub runs_considered: usize,
    /// Rules that looked and left a field alone, and why (e.g. a cap reached, data missing).
    pub notes: Vec<String>,
    /// The changes as a partial `{"spec": …}` document, for `patch_yaml`.
    pub patch: Value,
}

/// Whether `app` is a run of the job named `job`: its `sparkplane.dev/job` label, or
/// its `spark.app.name` (local runs set it to the job name), names the job, or its
/// `spark.sparkplane.run.id` starts with the job name.
pub fn is_run_of(app: &AppSummary, job: &str) -> bool {
    let config = &app.config;
    config.labels.get(sparkplane_api::labels::JOB).is_some_and(|v| v == job)
        || config.properties.get("spark.app.name").or(config.app_name.as_ref()).is_some_and(|v| v == job)
        || config.properties.get("spark.sparkplane.run.id").is_some_and(|v| v.starts_with(job))
}

/// A proposal being built: the spec as changed so far, and the changes with their patch values.
struct Draft {
    spec: SparkJobSpec,
    changes: Vec<Change>,
    patch: Map<String, Value>,
    notes: Vec<String>,
}

/// Sets `value` at `keys` in `map`, making the mappings on the way.
fn insert(map: &mut Map<String, Value>, keys: &[&str], value: Value) {
    match keys {
        [] => {}
        [last] => {
            map.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let child = map.entry((*first).to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(child) = child {
                insert(child, rest, value);
            }
        }
    }
}

impl Draft {
    /// Records a change whose patch value sits at `keys` under `spec`.
    fn change(
        &mut self,
        keys: &[&str],
        path: String,
        from: Option<String>,
        value: Value,
        why: String,
        bounds: Option<Bounds>,
    ) {
        let to = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        insert(&mut self.patch, keys, value);
        self.changes.push(Change { path, from, to, why, bounds });
    }

    fn executor(&mut self) -> &mut ExecutorSpec {
        self.spec.executor.get_or_insert_with(ExecutorSpec::default)
    }

    fn dynamic_allocation(&mut self) -> &mut DynamicAllocation {
        self.spec.dynamic_allocation.get_or_insert_with(DynamicAllocation::default)
    }
}

/// Proposes changes to `spec` from `runs`, the job's earlier runs (the caller picks
/// them, e.g. with [`is_run_of`]). With no runs, or runs that show nothing to
/// change, the proposal has no changes and its notes say why.
pub fn tune(spec: &SparkJobSpec, runs: &[AppSummary]) -> TuneProposal {
    let mut draft = Draft { spec: spec.clone(), changes: Vec::new(), patch: Map::new(), notes: Vec::new() };
    let (confidence, confidence_why) = confidence(runs);
    if runs.is_empty() {
        draft.notes.push("no runs of the job were given, so there is nothing to learn from".into());
    } else {
        if runs.iter().any(|r| r.config.master.as_deref().is_some_and(|m| m.starts_with("local"))) {
            draft.notes.push(
                "some runs were local (the driver ran the tasks); their figures stand in for the executors'".into(),
            );
        }
        memory(&mut draft, runs);
        overhead(&mut draft, runs);
        executors(&mut draft, runs);
        dynamic_allocation(&mut draft, runs);
        shuffle_partitions(&mut draft, runs);
        adaptive(&mut draft, runs);
        if draft.changes.is_empty() {
            draft.notes.push(format!(
                "the {} run{} show{} nothing to change",
                runs.len(),
                plural(runs.len()),
                if runs.len() == 1 { "s" } else { "" }
            ));
        }
    }
    let patch = if draft.changes.is_empty() {
        Value::Object(Map::new())
    } else {
        let mut root = Map::new();
        root.insert("spec".into(), Value::Object(draft.patch));
        Value::Object(root)
    };
    TuneProposal {
        changes: draft.changes,
        confidence,
        confidence_why,
        runs_considered: runs.len(),
        notes: draft.notes,
        patch,
    }
}

fn confidence(runs: &[AppSummary]) -> (Confidence, String) {
    match runs.len() {
        0 => (Confidence::Low, "no runs".into()),
        1 => (Confidence::Low, "one run: its figures may be a one-off".into()),
        n if n < HIGH_CONFIDENCE_RUNS => {
            (Confidence::Medium, format!("{n} runs; {HIGH_CONFIDENCE_RUNS} give high confidence"))
        }
        n => {
            let times: Vec<f64> = runs.iter().map(|r| r.metrics.task_time_ms as f64).collect();
            let mean = times.iter().sum::<f64>() / n as f64;
            let variance = times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n as f64;
            let cv = if mean > 0.0 { variance.sqrt() / mean } else { f64::INFINITY };
            if cv < CONSISTENT_CV {
                (Confidence::High, format!("{n} runs with consistent task time (coefficient of variation {cv:.2})"))
            } else {
                (
                    Confidence::Medium,
                    format!(
                        "{n} runs, but their task time varies (coefficient of variation {}, {CONSISTENT_CV} or more)",
                        if cv.is_finite() { format!("{cv:.2}") } else { "undefined: no task time".into() }
                    ),
                )
            }
        }
    }
}

/// The range of `figure` over the runs that have it.
fn bounds(
    runs: &[AppSummary],
    figure: &str,
    value: impl Fn(&AppSummary) -> Option<f64>,
    show: impl Fn(f64) -> String,
) -> Option<Bounds> {
    let values: Vec<f64> = runs.iter().filter_map(value).collect();
    let min = values.iter().copied().reduce(f64::min)?;
    let max = values.iter().copied().reduce(f64::max)?;
    Some(Bounds { figure: figure.into(), min: show(min), max: show(max) })
}

/// GC share of a run, when it ran long enough for the share to mean anything.
fn gc_share(run: &AppSummary) -> Option<f64> {
    (run.metrics.task_time_ms >= MIN_TASK_TIME_FOR_GC_MS).then_some(run.metrics.gc_share).flatten()
}

/// Raise executor memory when runs spilled to disk or spent too long in GC.
fn memory(draft: &mut Draft, runs: &[AppSummary]) {
    let spilled = runs.iter().filter(|r| r.metrics.disk_spill_bytes > 0).count();
    let worst_gc = runs.iter().filter_map(gc_share).reduce(f64::max);
    let gc_high = runs.iter().filter(|r| gc_share(r).is_some_and(|s| s > GC_SHARE_WARN)).count();
    let growth = match worst_gc {
        Some(gc) if gc > GC_SHARE_CRITICAL => MEMORY_GROWTH_CRITICAL,
        Some(gc) if gc > GC_SHARE_WARN => MEMORY_GROWTH,
        _ if spilled > 0 => MEMORY_GROWTH,
        _ => {
            let calm = worst_gc.is_some_and(|gc| gc < GC_SHARE_LOW)
                && runs.iter().all(|r| r.metrics.disk_spill_bytes == 0 && r.metrics.memory_spill_bytes == 0);
            if calm {
                lower_memory(draft, runs);
            }
            return;
        }
    };
    let before = size_job(&draft.spec).executor;
    let heap_now = before.heap;
    if heap_now >= MAX_EXECUTOR_HEAP {
        draft.notes.push(format!(
            "executor memory is already {heap_now}, at or above the {MAX_EXECUTOR_HEAP} cap; give each task less \
             data (more partitions) instead"
        ));
        return;
    }
    let target_pod = MemorySize::from_mib((before.pod_memory.mib() as f64 * growth).ceil() as u64);
    let role = draft.spec.executor.as_ref().map(|e| e.role.clone()).unwrap_or_default();
    let factor = role.memory_overhead_factor.unwrap_or_else(|| default_overhead_factor(draft.spec.app_type));
    // Heap budget: the target pod less the parts that do not grow with the heap.
    let others = before.pyspark.mib() + before.off_heap.mib();
    let budget = MemorySize::from_mib(target_pod.mib().saturating_sub(others));
    let Some(fitting) = largest_heap_within(budget, role.memory_overhead, factor) else {
        draft.notes.push("no heap fits the raised pod memory under the sizing model; memory left alone".into());
        return;
    };
    // Round up so the pod reaches the target; the step is small against the growth.
    let mut heap = MemorySize::from_mib(fitting.mib().div_ceil(HEAP_STEP_MIB) * HEAP_STEP_MIB).max(heap_now);
    let mut capped = String::new();
    if heap > MAX_EXECUTOR_HEAP {
        heap = MAX_EXECUTOR_HEAP;
        capped = format!(
            "; capped at {MAX_EXECUTOR_HEAP} (the JVM loses compressed pointers above it), so also give each task \
             less data"
        );
    }
    if heap <= heap_now {
        return;
    }
    let from = draft.spec.executor.as_ref().and_then(|e| e.role.memory).map(MemorySize::to_kubernetes);
    draft.executor().role.memory = Some(heap);
    let after = size_job(&draft.spec).executor;
    let mut reasons = Vec::new();
    if spilled > 0 {
        let most = runs.iter().map(|r| r.metrics.disk_spill_bytes).max().unwrap_or(0);
        reasons.push(format!(
            "{spilled} of {} run{} spilled to disk (up to {})",
            runs.len(),
            plural(runs.len()),
            bytes(most)
        ));
    }
    if let Some(gc) = worst_gc.filter(|_| gc_high > 0) {
        reasons.push(format!(
            "GC took more than {} of task time in {gc_high} run{} (up to {})",
            percent(GC_SHARE_WARN),
            plural(gc_high),
            percent(gc)
        ));
    }
    let why = format!(
        "{}; grow each executor pod {growth}× from {} to {} (heap {} + overhead {}){capped}",
        reasons.join(" and "),
        before.pod_memory,
        after.pod_memory,
        after.heap,
        after.overhead
    );
    let bounds = if gc_high > 0 {
        bounds(runs, "GC share of task time", gc_share, percent)
    } else {
        bounds(runs, "bytes spilled to disk", |r| Some(r.metrics.disk_spill_bytes as f64), |b| bytes(b as u64))
    };
    draft.change(
        &["executor", "memory"],
        "spec.executor.memory".into(),
        from,
        Value::String(heap.to_kubernetes()),
        why,
        bounds,
    );
}

/// The headroom lowering keeps over the measured peak with `runs` runs.
pub fn lowering_headroom(runs: usize) -> f64 {
    LOWERING_HEADROOM.iter().rev().find(|(at_least, _)| runs >= *at_least).map_or(LOWERING_HEADROOM[0].1, |h| h.1)
}

/// `bytes` as whole MiB rounded up to [`HEAP_STEP_MIB`].
fn mib_step_up(bytes: f64) -> MemorySize {
    let mib = (bytes / f64::from(1u32 << 20)).ceil().max(0.0) as u64;
    MemorySize::from_mib(mib.div_ceil(HEAP_STEP_MIB) * HEAP_STEP_MIB)
}

/// Whether a run shows any sign of running short of memory: an executor killed for it, or a
/// failure whose cause is an `OutOfMemoryError`.
fn short_of_memory(run: &AppSummary) -> bool {
    let killed = run.executors.timeline.iter().any(|e| e.removed_reason.as_deref().is_some_and(killed_for_memory));
    let oom = run.failure.as_ref().is_some_and(|f| {
        [Some(f.message.as_str()), f.root_cause.as_deref(), f.stage_failure.as_deref()]
            .into_iter()
            .flatten()
            .any(|text| text.contains("OutOfMemoryError"))
    });
    killed || oom
}

/// Lower executor memory (and an explicit overhead) to the measured peaks plus headroom, when
/// every run measured them and none spilled, felt GC pressure or ran short of memory (the
/// caller checked spill and GC). Bounds: never below [`MIN_EXECUTOR_HEAP`] / Spark's minimum
/// overhead, never more than [`MAX_LOWERING_STEP`] of the current size in one step, and the
/// new pod must still hold the largest resident set measured, with the same headroom.
fn lower_memory(draft: &mut Draft, runs: &[AppSummary]) {
    let Some(heap_peaks) = measured_heap_peaks(draft, runs) else { return };
    let peak_heap = heap_peaks.iter().copied().max().unwrap_or(0);
    let headroom = lowering_headroom(runs.len());
    let before = size_job(&draft.spec).executor;
    let heap_now = before.heap;
    let floor = MIN_EXECUTOR_HEAP.max(MemorySize::from_mib(
        ((heap_now.mib() as f64 * (1.0 - MAX_LOWERING_STEP)).ceil() as u64).div_ceil(HEAP_STEP_MIB) * HEAP_STEP_MIB,
    ));
    let heap = mib_step_up(peak_heap as f64 * headroom).max(floor);
    let worth = (heap_now.mib() as f64 * (1.0 - MIN_LOWERING_SAVING)).floor() as u64;
    if heap.mib() > worth {
        draft.notes.push(format!(
            "the executor heap peaked at {} in {} run{}; with {headroom}× headroom that needs {heap} of the {heap_now} \
             heap, a saving under {}, so memory is left alone",
            bytes(peak_heap),
            runs.len(),
            plural(runs.len()),
            percent(MIN_LOWERING_SAVING)
        ));
        return;
    }
    let original = draft.spec.clone();
    let from = draft.spec.executor.as_ref().and_then(|e| e.role.memory).map(MemorySize::to_kubernetes);
    draft.executor().role.memory = Some(heap);

    // An explicit overhead is lowered from the measured memory outside the heap; otherwise
    // the sizing model derives it from the new heap.
    let non_heap_peak = runs
        .iter()
        .map(|r| r.peak_memory.and_then(|p| p.non_heap_bytes()))
        .collect::<Option<Vec<u64>>>()
        .and_then(|v| v.into_iter().max());
    let overhead_change = lower_overhead(draft, non_heap_peak, headroom);
    let after = size_job(&draft.spec).executor;

    // The new pod must still hold what was measured outside the heap and in all, with headroom.
    let short = pod_too_small(&after, runs, non_heap_peak, headroom);
    if let Some(short) = short {
        draft.spec = original;
        draft.notes.push(format!(
            "the heap peaked at {} of {heap_now}, but {short}: a {} pod would leave less than {headroom}× headroom, \
             so memory is left alone",
            bytes(peak_heap),
            after.pod_memory
        ));
        return;
    }

    let samples: u64 = runs.iter().filter_map(|r| r.peak_memory.map(|p| p.samples)).sum();
    let floor_note = if heap == floor && heap > mib_step_up(peak_heap as f64 * headroom) {
        format!(
            "; held at {floor} ({} at most per step, never below {MIN_EXECUTOR_HEAP}): run again and tune to go lower",
            percent(MAX_LOWERING_STEP)
        )
    } else {
        String::new()
    };
    let why = format!(
        "the executor heap peaked at {} (JVMHeapMemory, {samples} sample{}) over {} run{} asking for {heap_now}, with \
         nothing spilled, GC under {} and no executor short of memory; {heap} leaves {headroom}× headroom for {} \
         run{}, so each executor pod shrinks from {} to {} (heap {} + overhead {}){floor_note}",
        bytes(peak_heap),
        plural(samples as usize),
        runs.len(),
        plural(runs.len()),
        percent(GC_SHARE_LOW),
        runs.len(),
        plural(runs.len()),
        before.pod_memory,
        after.pod_memory,
        after.heap,
        after.overhead
    );
    let heap_bounds = bounds(
        runs,
        "peak executor heap (JVMHeapMemory)",
        |r| r.peak_memory.and_then(|p| p.jvm_heap_bytes).map(|b| b as f64),
        |b| bytes(b as u64),
    );
    draft.change(
        &["executor", "memory"],
        "spec.executor.memory".into(),
        from,
        Value::String(heap.to_kubernetes()),
        why,
        heap_bounds,
    );
    if let Some(change) = overhead_change {
        record_overhead_change(draft, runs, change, headroom);
    }
}

/// Every run's executor heap peak; None, with a note saying why memory is
/// left alone, when a run ran short of memory or carries no peak figures.
fn measured_heap_peaks(draft: &mut Draft, runs: &[AppSummary]) -> Option<Vec<u64>> {
    if runs.iter().any(short_of_memory) {
        draft.notes.push("an executor ran short of memory in some run, so memory is not lowered".into());
        return None;
    }
    let heap_peaks: Vec<Option<u64>> = runs.iter().map(|r| r.peak_memory.and_then(|p| p.jvm_heap_bytes)).collect();
    let missing = heap_peaks.iter().filter(|p| p.is_none()).count();
    if missing > 0 {
        draft.notes.push(format!(
            "GC stayed under {} and nothing spilled, so the heap may be larger than needed; memory is left alone \
             because {missing} of {} run{} carry no peak-memory figures (Spark samples executor memory at \
             heartbeats; set spark.executor.metrics.pollingInterval, e.g. 1s, and \
             spark.eventLog.logStageExecutorMetrics=true to log them)",
            percent(GC_SHARE_LOW),
            runs.len(),
            plural(runs.len())
        ));
        return None;
    }
    Some(heap_peaks.into_iter().flatten().collect())
}

/// An explicit executor overhead lowered from the measured memory outside
/// the heap (otherwise the sizing model derives it from the new heap):
/// (was, now, the peak it came from) when that saves enough.
fn lower_overhead(
    draft: &mut Draft,
    non_heap_peak: Option<u64>,
    headroom: f64,
) -> Option<(MemorySize, MemorySize, u64)> {
    let explicit = draft.spec.executor.as_ref().and_then(|e| e.role.memory_overhead);
    if let (Some(current), Some(peak)) = (explicit, non_heap_peak) {
        let step_floor = MemorySize::from_mib((current.mib() as f64 * (1.0 - MAX_LOWERING_STEP)).ceil() as u64);
        let lowered = mib_step_up(peak as f64 * headroom).max(MIN_OVERHEAD).max(step_floor);
        if (lowered.mib() as f64) <= current.mib() as f64 * (1.0 - MIN_LOWERING_SAVING) {
            draft.executor().role.memory_overhead = Some(lowered);
            return Some((current, lowered, peak));
        }
    }
    None
}

/// What the lowered pod could not hold, with headroom: the memory measured
/// outside the heap, or the largest resident set.
fn pod_too_small(
    after: &PodResources,
    runs: &[AppSummary],
    non_heap_peak: Option<u64>,
    headroom: f64,
) -> Option<String> {
    let outside_heap = after.overhead.mib() + after.pyspark.mib() + after.off_heap.mib();
    let needs_outside = non_heap_peak.map(|p| mib_step_up(p as f64 * headroom));
    let rss_peak = runs.iter().filter_map(|r| r.peak_memory.and_then(|p| p.container_rss_bytes())).max();
    let needs_pod = rss_peak.map(|p| mib_step_up(p as f64 * headroom));
    match (needs_outside, needs_pod) {
        (Some(need), _) if outside_heap < need.mib() => {
            Some(format!("memory outside the heap peaked at {}", bytes(non_heap_peak.unwrap_or(0))))
        }
        (_, Some(need)) if after.pod_memory < need => {
            Some(format!("the executor's resident memory peaked at {}", bytes(rss_peak.unwrap_or(0))))
        }
        _ => None,
    }
}

/// The lowered overhead as a change, with why and the measured bounds.
fn record_overhead_change(
    draft: &mut Draft,
    runs: &[AppSummary],
    (current, lowered, peak): (MemorySize, MemorySize, u64),
    headroom: f64,
) {
    let why = format!(
        "memory outside the heap (JVM off-heap, buffer pools, Python and other processes) peaked at {} over {} \
         run{}; {lowered} leaves {headroom}× headroom (was {current}, never below {MIN_OVERHEAD})",
        bytes(peak),
        runs.len(),
        plural(runs.len())
    );
    let bounds = bounds(
        runs,
        "peak memory outside the heap",
        |r| r.peak_memory.and_then(|p| p.non_heap_bytes()).map(|b| b as f64),
        |b| bytes(b as u64),
    );
    draft.change(
        &["executor", "memoryOverhead"],
        "spec.executor.memoryOverhead".into(),
        Some(current.to_kubernetes()),
        Value::String(lowered.to_kubernetes()),
        why,
        bounds,
    );
}

/// Whether an executor removal reason says the container was killed for memory.
fn killed_for_memory(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    reason.contains("oomkilled") || reason.contains("exit code 137") || reason.contains("exceeding memory limits")
}

/// Raise memory overhead when executor containers were killed for exceeding their limit:
/// the heap did not run out (that is an `OutOfMemoryError`), the memory outside it did.
fn overhead(draft: &mut Draft, runs: &[AppSummary]) {
    let killed = |r: &AppSummary| {
        r.executors.timeline.iter().filter(|e| e.removed_reason.as_deref().is_some_and(killed_for_memory)).count()
    };
    let total: usize = runs.iter().map(killed).sum();
    if total == 0 {
        return;
    }
    let before = size_job(&draft.spec).executor;
    let raised = MemorySize::from_mib((before.overhead.mib() as f64 * MEMORY_GROWTH).ceil() as u64);
    let raised = MemorySize::from_mib(raised.mib().div_ceil(HEAP_STEP_MIB) * HEAP_STEP_MIB);
    let from = draft.spec.executor.as_ref().and_then(|e| e.role.memory_overhead).map(MemorySize::to_kubernetes);
    draft.executor().role.memory_overhead = Some(raised);
    let after = size_job(&draft.spec).executor;
    let why = format!(
        "{total} executor container{} {} killed for exceeding the pod's memory limit (memory outside the heap: \
         Python workers, native buffers, netty); raise the overhead from {} to {}, so each executor pod grows from {} \
         to {}",
        plural(total),
        if total == 1 { "was" } else { "were" },
        before.overhead,
        after.overhead,
        before.pod_memory,
        after.pod_memory
    );
    let bounds = bounds(runs, "executors killed for memory", |r| Some(killed(r) as f64), |n| format!("{n:.0}"));
    draft.change(
        &["executor", "memoryOverhead"],
        "spec.executor.memoryOverhead".into(),
        from,
        Value::String(raised.to_kubernetes()),
        why,
        bounds,
    );
}

/// Executors a run needed to keep [`TARGET_UTILISATION`] of their cores busy while
/// tasks ran: Σ task time ÷ (time with tasks running × cores per executor × target).
fn executors_needed(run: &AppSummary, cores_per_executor: u32) -> Option<u64> {
    let wall = run.wall_time?;
    let running_ms = if wall.tasks_running_ms > 0 { wall.tasks_running_ms } else { wall.total_ms };
    if running_ms == 0 || run.metrics.task_time_ms == 0 {
        return None;
    }
    let busy = run.metrics.task_time_ms as f64 / (running_ms as f64 * f64::from(cores_per_executor.max(1)));
    Some(((busy / TARGET_UTILISATION).ceil() as u64).max(1))
}

fn most_needed(runs: &[AppSummary], cores: u32) -> Option<u64> {
    runs.iter().filter_map(|r| executors_needed(r, cores)).max()
}

/// Lower executor instances when most of the cores paid for sat idle.
fn executors(draft: &mut Draft, runs: &[AppSummary]) {
    let utilisations: Vec<f64> = runs.iter().filter_map(|r| r.executors.utilisation).collect();
    let Some(highest) = utilisations.iter().copied().reduce(f64::max) else { return };
    if highest >= IDLE_UTILISATION {
        return;
    }
    let sized = size_job(&draft.spec);
    let Some(needed) = most_needed(runs, sized.executor.spark_cores) else { return };
    let current = u64::from(sized.executors.initial);
    let needed = u32::try_from(needed).unwrap_or(u32::MAX);
    if u64::from(needed) >= current {
        return;
    }
    let from = draft.spec.executor.as_ref().and_then(|e| e.instances).map(|n| n.to_string());
    draft.executor().instances = Some(needed);
    let why = format!(
        "executors were busy at most {} of their core time in {} run{} (under {}); the busiest run needed {needed} \
         executor{} of {} core{} to keep {} of them busy, not {current}",
        percent(highest),
        runs.len(),
        plural(runs.len()),
        percent(IDLE_UTILISATION),
        plural(needed as usize),
        sized.executor.spark_cores,
        plural(sized.executor.spark_cores as usize),
        percent(TARGET_UTILISATION)
    );
    let bounds = bounds(runs, "executor utilisation", |r| r.executors.utilisation, percent);
    draft.change(&["executor", "instances"], "spec.executor.instances".into(), from, Value::from(needed), why, bounds);
}

/// Dynamic-allocation bounds, for jobs that use it: max from the most executors a run
/// needed, min 1, shuffle tracking on (Kubernetes has no external shuffle service).
fn dynamic_allocation(draft: &mut Draft, runs: &[AppSummary]) {
    let current = draft.spec.dynamic_allocation.clone().unwrap_or_default();
    if current.enabled != Some(true) {
        return;
    }
    let cores = size_job(&draft.spec).executor.spark_cores;
    if let Some(needed) = most_needed(runs, cores) {
        let needed = u32::try_from(needed).unwrap_or(u32::MAX).max(1);
        if current.max_executors != Some(needed) {
            let why = format!(
                "the busiest of {} run{} needed {needed} executor{} of {cores} core{} to keep {} of them busy while \
                 tasks ran (Σ task time ÷ (task wall time × cores per executor))",
                runs.len(),
                plural(runs.len()),
                plural(needed as usize),
                plural(cores as usize),
                percent(TARGET_UTILISATION)
            );
            let bounds = bounds(
                runs,
                "executors needed",
                |r| executors_needed(r, cores).map(|n| n as f64),
                |n| format!("{n:.0}"),
            );
            draft.dynamic_allocation().max_executors = Some(needed);
            draft.change(
                &["dynamicAllocation", "maxExecutors"],
                "spec.dynamicAllocation.maxExecutors".into(),
                current.max_executors.map(|n| n.to_string()),
                Value::from(needed),
                why,
                bounds,
            );
        }
    }
    // Spark refuses to start when the initial executors exceed the maximum.
    let max = draft.spec.dynamic_allocation.as_ref().and_then(|d| d.max_executors).unwrap_or(u32::MAX);
    let instances = draft.spec.executor.as_ref().and_then(|e| e.instances);
    if let Some(n) = instances.filter(|n| *n > max) {
        draft.executor().instances = Some(max);
        draft.change(
            &["executor", "instances"],
            "spec.executor.instances".into(),
            Some(n.to_string()),
            Value::from(max),
            format!("dynamic allocation starts this many executors, which may not exceed maxExecutors ({max})"),
            None,
        );
    }
    if let Some(n) = current.initial_executors.filter(|n| *n > max) {
        draft.dynamic_allocation().initial_executors = Some(max);
        draft.change(
            &["dynamicAllocation", "initialExecutors"],
            "spec.dynamicAllocation.initialExecutors".into(),
            Some(n.to_string()),
            Value::from(max),
            format!("initial executors may not exceed maxExecutors ({max})"),
            None,
        );
    }
    if current.min_executors != Some(1) {
        draft.dynamic_allocation().min_executors = Some(1);
        draft.change(
            &["dynamicAllocation", "minExecutors"],
            "spec.dynamicAllocation.minExecutors".into(),
            current.min_executors.map(|n| n.to_string()),
            Value::from(1),
            "keep one executor between stages so short gaps do not cost a pod start; dynamic allocation adds the rest"
                .into(),
            None,
        );
    }
    if current.shuffle_tracking != Some(true) {
        draft.dynamic_allocation().shuffle_tracking = Some(true);
        draft.change(
            &["dynamicAllocation", "shuffleTracking"],
            "spec.dynamicAllocation.shuffleTracking".into(),
            current.shuffle_tracking.map(|b| b.to_string()),
            Value::Bool(true),
            "Kubernetes has no external shuffle service: without shuffle tracking, removing an executor loses its \
             shuffle files"
                .into(),
            None,
        );
    }
}

/// Largest shuffle a single stage of a run read.
fn largest_shuffle(run: &AppSummary) -> u64 {
    run.stage_stats.iter().map(|s| s.shuffle_read_bytes).max().unwrap_or(0)
}

/// Shuffle partitions from the largest shuffle read ÷ [`TARGET_PARTITION_BYTES`],
/// rounded up to a whole number of waves over the job's cores.
fn shuffle_partitions(draft: &mut Draft, runs: &[AppSummary]) {
    let largest = runs.iter().map(largest_shuffle).max().unwrap_or(0);
    if largest == 0 {
        return;
    }
    let sized = size_job(&draft.spec);
    let cores = u64::from(sized.executor.spark_cores) * u64::from(sized.executors.max.max(1));
    let target = largest.div_ceil(TARGET_PARTITION_BYTES).max(1).div_ceil(cores) * cores;
    let from = draft.spec.spark_conf.get(SHUFFLE_PARTITIONS).cloned();
    let current = from.as_deref().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(DEFAULT_SHUFFLE_PARTITIONS);
    if target == current {
        return;
    }
    let why = format!(
        "the largest shuffle a stage read was {} (over {} run{}); at {} per partition that is {} partition{}, \
         rounded up to a multiple of the job's {cores} core{} (was {current}{})",
        bytes(largest),
        runs.len(),
        plural(runs.len()),
        bytes(TARGET_PARTITION_BYTES),
        largest.div_ceil(TARGET_PARTITION_BYTES),
        plural(largest.div_ceil(TARGET_PARTITION_BYTES) as usize),
        plural(cores as usize),
        if from.is_none() { ", Spark's default" } else { "" }
    );
    let bounds = bounds(runs, "largest stage shuffle read", |r| Some(largest_shuffle(r) as f64), |b| bytes(b as u64));
    draft.spec.spark_conf.insert(SHUFFLE_PARTITIONS.into(), target.to_string());
    draft.change(
        &["sparkConf", SHUFFLE_PARTITIONS],
        format!("spec.sparkConf.\"{SHUFFLE_PARTITIONS}\""),
        from,
        Value::String(target.to_string()),
        why,
        bounds,
    );
}

/// Turn on adaptive query execution when `analyze` found skew or too many partitions.
fn adaptive(draft: &mut Draft, runs: &[AppSummary]) {
    let mut found = BTreeSet::new();
    let mut evidence = None;
    for run in runs {
        for finding in analyze(run) {
            if matches!(finding.id, "skew" | "too-many-partitions") {
                found.insert(finding.id);
                evidence.get_or_insert(finding.evidence);
            }
        }
    }
    let Some(evidence) = evidence else { return };
    let ids: Vec<&str> = found.into_iter().collect();
    for key in AQE_KEYS {
        let from = draft.spec.spark_conf.get(key).cloned();
        if from.as_deref().map(str::trim) == Some("true") {
            continue;
        }
        let what = match key {
            "spark.sql.adaptive.enabled" => "adaptive execution re-plans each stage from the sizes it sees",
            "spark.sql.adaptive.coalescePartitions.enabled" => "merges tiny shuffle partitions after the fact",
            _ => "splits skewed join partitions",
        };
        let why = format!("runs had {} findings (e.g. {evidence}); {what}", ids.join(" and "));
        draft.spec.spark_conf.insert(key.into(), "true".into());
        draft.change(
            &["sparkConf", key],
            format!("spec.sparkConf.\"{key}\""),
            from,
            Value::String("true".into()),
            why,
            None,
        );
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn percent(share: f64) -> String {
    let pct = share * 100.0;
    if pct > 0.0 && pct < 1.0 { format!("{pct:.1}%") } else { format!("{pct:.0}%") }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;
    use sparkplane_api::job::{AppType, RoleSpec};

    use sparkplane_eventlog::peak_memory::PeakMemory;

    use super::*;

    /// A healthy run of `etl` on two 4-core executors: one stage of 16 one-minute tasks in
    /// two full waves, GC at 1.7% of task time, nothing spilled, no shuffle.
    fn healthy_run() -> AppSummary {
        crate::test_support::healthy_app()
    }

    /// The job spec the runs came from: a Scala job with two 4-core, 4 GiB executors.
    fn spec() -> SparkJobSpec {
        SparkJobSpec {
            app_type: Some(AppType::Scala),
            executor: Some(ExecutorSpec {
                role: RoleSpec { cores: Some(4), memory: Some(MemorySize::from_gib(4)), ..Default::default() },
                instances: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// `spec` with `patch` merged in, read back as a typed spec.
    fn patched(spec: &SparkJobSpec, patch: &Value) -> SparkJobSpec {
        fn merge(into: &mut Value, patch: &Value) {
            match (into, patch) {
                (Value::Object(into), Value::Object(patch)) => {
                    for (key, value) in patch {
                        merge(into.entry(key.clone()).or_insert(Value::Null), value);
                    }
                }
                (into, patch) => *into = patch.clone(),
            }
        }
        let mut value = serde_json::to_value(spec).expect("a spec serializes");
        if let Some(spec_patch) = patch.get("spec") {
            merge(&mut value, spec_patch);
        }
        serde_json::from_value(value).expect("the patch keeps the spec valid")
    }

    /// The patched spec sizes, through the one sizing model, to what the changes say.
    fn assert_patch_matches_changes(spec: &SparkJobSpec, proposal: &TuneProposal) {
        let new = patched(spec, &proposal.patch);
        let sized = size_job(&new);
        for change in &proposal.changes {
            let actual = match change.path.as_str() {
                "spec.executor.memory" => sized.executor.heap.to_kubernetes(),
                "spec.executor.memoryOverhead" => sized.executor.overhead.to_kubernetes(),
                "spec.executor.instances" => sized.executors.initial.to_string(),
                "spec.dynamicAllocation.maxExecutors" => sized.executors.max.to_string(),
                "spec.dynamicAllocation.minExecutors" => sized.executors.min.to_string(),
                "spec.dynamicAllocation.initialExecutors" => sized.executors.initial.to_string(),
                "spec.dynamicAllocation.shuffleTracking" => {
                    new.dynamic_allocation.as_ref().and_then(|d| d.shuffle_tracking).unwrap_or_default().to_string()
                }
                path => {
                    let key = path
                        .strip_prefix("spec.sparkConf.\"")
                        .and_then(|k| k.strip_suffix('"'))
                        .unwrap_or_else(|| panic!("unexpected path {path}"));
                    new.spark_conf[key].clone()
                }
            };
            assert_eq!(actual, change.to, "{}", change.path);
        }
    }

    fn paths(proposal: &TuneProposal) -> Vec<&str> {
        proposal.changes.iter().map(|c| c.path.as_str()).collect()
    }

    type Mutation = fn(&mut AppSummary);
    /// Expected changes: path and proposed value.
    type Expected = &'static [(&'static str, &'static str)];

    #[test]
    fn each_rule_proposes_its_change() {
        const CASES: &[(&str, Mutation, Expected)] = &[
            ("nothing to change", |_| {}, &[]),
            (
                // 4 GiB heap + 409 MiB overhead = 4505 MiB; ×1.5 = 6758 MiB = 6144 MiB heap + 614 MiB overhead.
                "spill raises memory",
                |r| r.metrics.disk_spill_bytes = 3 << 30,
                &[("spec.executor.memory", "6Gi")],
            ),
            (
                "GC over 10% raises memory by half",
                |r| r.metrics.gc_share = Some(0.15),
                &[("spec.executor.memory", "6Gi")],
            ),
            (
                // ×2 = 9010 MiB: heap 8191 → rounded up to 8192 MiB.
                "GC over 25% doubles pod memory",
                |r| r.metrics.gc_share = Some(0.30),
                &[("spec.executor.memory", "8Gi")],
            ),
            (
                // 96 s of task time over 120 s of running tasks on 4 cores at 70% busy: 1 executor.
                "low utilisation lowers instances",
                |r| {
                    r.executors.utilisation = Some(0.1);
                    r.metrics.task_time_ms = 96_000;
                },
                &[("spec.executor.instances", "1")],
            ),
            (
                // 10 GiB ÷ 128 MiB = 80 partitions, a multiple of the 8 cores.
                "shuffle bytes set partitions",
                |r| r.stage_stats[0].shuffle_read_bytes = 10 << 30,
                &[("spec.sparkConf.\"spark.sql.shuffle.partitions\"", "80")],
            ),
            (
                // 100 MiB is one partition's worth, rounded up to the 8 cores.
                "small shuffles round to the cores",
                |r| r.stage_stats[0].shuffle_read_bytes = 100 << 20,
                &[("spec.sparkConf.\"spark.sql.shuffle.partitions\"", "8")],
            ),
            (
                "skew turns on adaptive execution",
                |r| {
                    if let Some(t) = r.stage_stats[0].task_time.as_mut() {
                        t.max_ms = 600_000;
                    }
                },
                &[
                    ("spec.sparkConf.\"spark.sql.adaptive.enabled\"", "true"),
                    ("spec.sparkConf.\"spark.sql.adaptive.coalescePartitions.enabled\"", "true"),
                    ("spec.sparkConf.\"spark.sql.adaptive.skewJoin.enabled\"", "true"),
                ],
            ),
            (
                "containers killed for memory raise the overhead",
                |r| r.executors.timeline[0].removed_reason = Some("Container killed: OOMKilled (exit code 137)".into()),
                // 409 MiB × 1.5 = 614 → 768 MiB.
                &[("spec.executor.memoryOverhead", "768Mi")],
            ),
        ];
        for (name, mutate, expected) in CASES {
            let mut run = healthy_run();
            mutate(&mut run);
            let proposal = tune(&spec(), &[run]);
            let got: Vec<(&str, &str)> = proposal.changes.iter().map(|c| (c.path.as_str(), c.to.as_str())).collect();
            assert_eq!(&got, expected, "{name}");
            assert_patch_matches_changes(&spec(), &proposal);
            for change in &proposal.changes {
                assert!(!change.why.is_empty(), "{name}: {} has no reason", change.path);
            }
            if expected.is_empty() {
                assert_eq!(proposal.patch, json!({}), "{name}");
                assert!(proposal.notes.iter().any(|n| n.contains("nothing to change")), "{name}: {:?}", proposal.notes);
            }
        }
    }

    #[test]
    fn a_quiet_run_says_memory_is_left_alone_for_want_of_peak_figures() {
        let proposal = tune(&spec(), &[healthy_run()]);
        assert!(proposal.notes.iter().any(|n| n.contains("no peak-memory figures")), "{:?}", proposal.notes);
    }

    /// `healthy_run` whose executors' heap peaked at `heap_mib` MiB over 40 samples.
    fn measured_run(heap_mib: u64) -> AppSummary {
        let mut run = healthy_run();
        run.peak_memory =
            Some(PeakMemory { jvm_heap_bytes: Some(heap_mib << 20), samples: 40, ..PeakMemory::default() });
        run
    }

    fn changes(proposal: &TuneProposal) -> Vec<(&str, Option<&str>, &str)> {
        proposal.changes.iter().map(|c| (c.path.as_str(), c.from.as_deref(), c.to.as_str())).collect()
    }

    #[test]
    fn an_over_provisioned_history_lowers_the_heap_with_headroom_that_shrinks_with_more_runs() {
        // The 4 GiB heap peaked at 1.5 GiB (1536 MiB). One run: ×1.5 = 2304 MiB, already a 256 MiB step.
        let one = tune(&spec(), &[measured_run(1536)]);
        assert_eq!(changes(&one), [("spec.executor.memory", Some("4Gi"), "2304Mi")]);
        assert_eq!(one.patch, json!({"spec": {"executor": {"memory": "2304Mi"}}}));
        assert_eq!(one.confidence, Confidence::Low);
        assert_patch_matches_changes(&spec(), &one);
        let why = &one.changes[0].why;
        assert!(why.contains("peaked at 1.5 GiB") && why.contains("1.5× headroom for 1 run"), "{why}");
        // Pod: 4096 + 409 → 2304 + 384 (Spark's minimum overhead).
        assert!(why.contains("from 4505Mi to 2688Mi"), "{why}");
        let bounds = one.changes[0].bounds.clone().expect("bounds");
        assert_eq!((bounds.min.as_str(), bounds.max.as_str()), ("1.5 GiB", "1.5 GiB"));
        // Three runs, the highest peak counts: 1.35 × 1536 = 2073.6 → 2304 MiB; medium confidence.
        let three = tune(&spec(), &[measured_run(1200), measured_run(1536), measured_run(1400)]);
        assert_eq!(changes(&three), [("spec.executor.memory", Some("4Gi"), "2304Mi")]);
        assert_eq!(three.confidence, Confidence::Medium);
        let bounds = three.changes[0].bounds.clone().expect("bounds");
        assert_eq!((bounds.min.as_str(), bounds.max.as_str()), ("1.2 GiB", "1.5 GiB"));
        // Five consistent runs: 1.25 × 1536 = 1920 → 2048 MiB; high confidence.
        let five: Vec<AppSummary> = (0..5).map(|_| measured_run(1536)).collect();
        let five = tune(&spec(), &five);
        assert_eq!(changes(&five), [("spec.executor.memory", Some("4Gi"), "2Gi")]);
        assert_eq!(five.confidence, Confidence::High);
        assert_patch_matches_changes(&spec(), &five);
    }

    #[test]
    fn lowering_is_bounded_by_half_a_step_and_a_floor() {
        let mut big = spec();
        if let Some(e) = big.executor.as_mut() {
            e.role.memory = Some(MemorySize::from_gib(16));
        }
        // 300 MiB × 1.5 would be 512 MiB; at most half of 16 GiB goes in one step.
        let proposal = tune(&big, &[measured_run(300)]);
        assert_eq!(changes(&proposal), [("spec.executor.memory", Some("16Gi"), "8Gi")]);
        assert!(proposal.changes[0].why.contains("held at 8Gi"), "{}", proposal.changes[0].why);
        // From 1536 MiB, the floor is Spark's default heap, not the 512 MiB the peak would allow.
        let heap = |mib| {
            let mut s = spec();
            if let Some(e) = s.executor.as_mut() {
                e.role.memory = Some(MemorySize::from_mib(mib));
            }
            s
        };
        let proposal = tune(&heap(1536), &[measured_run(300)]);
        assert_eq!(changes(&proposal), [("spec.executor.memory", Some("1536Mi"), "1Gi")]);
        assert!(proposal.changes[0].why.contains("held at 1Gi"), "{}", proposal.changes[0].why);
        assert_patch_matches_changes(&heap(1536), &proposal);
        // From 1280 MiB the floor saves only 20%: not worth a change.
        let proposal = tune(&heap(1280), &[measured_run(300)]);
        assert_eq!(changes(&proposal), Vec::<(&str, Option<&str>, &str)>::new());
        assert!(proposal.notes.iter().any(|n| n.contains("a saving under 25%")), "{:?}", proposal.notes);
        // A peak near the heap leaves nothing worth saving.
        let proposal = tune(&spec(), &[measured_run(2500)]);
        assert!(proposal.changes.is_empty(), "{:?}", proposal.changes);
    }

    #[test]
    fn spill_gc_pressure_or_a_memory_kill_never_lower_memory() {
        type Case = (&'static str, fn(&mut AppSummary));
        const CASES: &[Case] = &[
            ("spilled to disk", |r| r.metrics.disk_spill_bytes = 1 << 20),
            ("spilled in memory", |r| r.metrics.memory_spill_bytes = 1 << 20),
            ("GC at 5%", |r| r.metrics.gc_share = Some(0.05)),
            ("GC at 15%", |r| r.metrics.gc_share = Some(0.15)),
            ("killed for memory", |r| r.executors.timeline[0].removed_reason = Some("OOMKilled".into())),
            ("heap OOM", |r| {
                r.failure = Some(sparkplane_eventlog::model::Failure {
                    job_id: 0,
                    message: "Job aborted".into(),
                    root_cause: Some("java.lang.OutOfMemoryError: Java heap space".into()),
                    stage_id: None,
                    stage_attempt_id: None,
                    stage_failure: None,
                    cause: sparkplane_eventlog::cause::FailureCause::OutOfMemory,
                })
            }),
        ];
        for (name, mutate) in CASES {
            // One pressured run among four calm ones is enough to hold memory.
            let mut runs: Vec<AppSummary> = (0..5).map(|_| measured_run(1024)).collect();
            mutate(&mut runs[2]);
            let proposal = tune(&spec(), &runs);
            for change in &proposal.changes {
                if change.path == "spec.executor.memory" || change.path == "spec.executor.memoryOverhead" {
                    let from = change.from.as_deref().map(|f| f.parse::<MemorySize>().expect("a size"));
                    let to = change.to.parse::<MemorySize>().expect("a size");
                    assert!(from.is_none_or(|f| to > f), "{name}: {} lowered to {}", change.path, change.to);
                }
            }
        }
    }

    #[test]
    fn an_explicit_overhead_is_lowered_from_what_was_measured_outside_the_heap() {
        let mut with_overhead = spec();
        if let Some(e) = with_overhead.executor.as_mut() {
            e.role.memory_overhead = Some(MemorySize::from_gib(2));
        }
        let mut run = measured_run(1536);
        if let Some(p) = run.peak_memory.as_mut() {
            p.jvm_off_heap_bytes = Some(200 << 20);
            p.buffer_pools_bytes = Some(100 << 20);
        }
        // 300 MiB × 1.5 = 450 → 512 MiB, but at most half of 2 GiB goes in one step: 1 GiB.
        let proposal = tune(&with_overhead, &[run.clone()]);
        assert_eq!(
            changes(&proposal),
            [("spec.executor.memory", Some("4Gi"), "2304Mi"), ("spec.executor.memoryOverhead", Some("2Gi"), "1Gi")]
        );
        assert_eq!(proposal.patch, json!({"spec": {"executor": {"memory": "2304Mi", "memoryOverhead": "1Gi"}}}));
        assert_patch_matches_changes(&with_overhead, &proposal);
    }

    #[test]
    fn the_pod_must_still_hold_the_resident_memory_measured() {
        let mut run = measured_run(1536);
        if let Some(p) = run.peak_memory.as_mut() {
            // The JVM process's resident set peaked at 3.5 GiB (native memory the heap figure misses).
            p.jvm_rss_bytes = Some(3584 << 20);
        }
        let proposal = tune(&spec(), &[run]);
        assert!(proposal.changes.is_empty(), "{:?}", proposal.changes);
        assert!(proposal.notes.iter().any(|n| n.contains("resident memory peaked at 3.5 GiB")), "{:?}", proposal.notes);
    }

    #[test]
    fn runs_without_peak_figures_hold_memory_even_beside_measured_ones() {
        let proposal = tune(&spec(), &[measured_run(1024), healthy_run()]);
        assert!(proposal.changes.is_empty(), "{:?}", proposal.changes);
        assert!(
            proposal.notes.iter().any(|n| n.contains("1 of 2 runs carry no peak-memory figures")),
            "{:?}",
            proposal.notes
        );
    }

    #[test]
    fn memory_growth_is_capped() {
        let mut big = spec();
        if let Some(e) = big.executor.as_mut() {
            e.role.memory = Some(MemorySize::from_gib(24));
        }
        let mut run = healthy_run();
        run.metrics.gc_share = Some(0.4);
        let proposal = tune(&big, &[run.clone()]);
        assert_eq!(paths(&proposal), ["spec.executor.memory"]);
        assert_eq!(proposal.changes[0].to, "31Gi");
        assert!(proposal.changes[0].why.contains("capped"), "{}", proposal.changes[0].why);
        assert_patch_matches_changes(&big, &proposal);
        // At the cap, nothing more is proposed and the notes say so.
        let at_cap = patched(&big, &proposal.patch);
        let again = tune(&at_cap, &[run]);
        assert_eq!(paths(&again), Vec::<&str>::new());
        assert!(again.notes.iter().any(|n| n.contains("cap")), "{:?}", again.notes);
    }

    #[test]
    fn python_jobs_size_memory_with_their_overhead_factor_and_keep_pyspark_memory() {
        let mut py = spec();
        py.app_type = Some(AppType::Python);
        if let Some(e) = py.executor.as_mut() {
            e.pyspark_memory = Some(MemorySize::from_gib(1));
        }
        let before = size_job(&py).executor.pod_memory;
        let mut run = healthy_run();
        run.metrics.disk_spill_bytes = 1;
        let proposal = tune(&py, &[run]);
        assert_eq!(paths(&proposal), ["spec.executor.memory"]);
        assert_patch_matches_changes(&py, &proposal);
        let after = size_job(&patched(&py, &proposal.patch)).executor.pod_memory;
        assert!(after.mib() as f64 >= before.mib() as f64 * MEMORY_GROWTH, "{before} → {after}");
        assert!((after.mib() as f64) < before.mib() as f64 * MEMORY_GROWTH + HEAP_STEP_MIB as f64 * 1.4);
    }

    #[test]
    fn dynamic_allocation_bounds_follow_the_busiest_run() {
        let mut da = spec();
        da.dynamic_allocation =
            Some(DynamicAllocation { enabled: Some(true), max_executors: Some(20), ..Default::default() });
        // 960 s of tasks over 120 s on 4 cores = 2 busy executors; at 70%: 3.
        let proposal = tune(&da, &[healthy_run()]);
        let got: Vec<(&str, Option<&str>, &str)> =
            proposal.changes.iter().map(|c| (c.path.as_str(), c.from.as_deref(), c.to.as_str())).collect();
        assert_eq!(
            got,
            [
                ("spec.dynamicAllocation.maxExecutors", Some("20"), "3"),
                ("spec.dynamicAllocation.minExecutors", None, "1"),
                ("spec.dynamicAllocation.shuffleTracking", None, "true"),
            ]
        );
        assert_patch_matches_changes(&da, &proposal);
        // Initial executors above the new maximum come down with it.
        let mut wide = da.clone();
        if let Some(e) = wide.executor.as_mut() {
            e.instances = Some(8);
        }
        let lowered = tune(&wide, &[healthy_run()]);
        assert_eq!(paths(&lowered)[..2], ["spec.dynamicAllocation.maxExecutors", "spec.executor.instances"]);
        assert_patch_matches_changes(&wide, &lowered);
        let sized = size_job(&patched(&wide, &lowered.patch));
        assert!(sized.executors.initial <= sized.executors.max);
        assert_eq!(
            proposal.patch,
            json!({"spec": {"dynamicAllocation": {"maxExecutors": 3, "minExecutors": 1, "shuffleTracking": true}}})
        );
    }

    #[test]
    fn confidence_grows_with_consistent_runs() {
        let runs: Vec<AppSummary> = (0..6)
            .map(|i| {
                let mut r = healthy_run();
                r.metrics.task_time_ms += i * 10_000;
                r
            })
            .collect();
        assert_eq!(tune(&spec(), &runs[..1]).confidence, Confidence::Low);
        assert_eq!(tune(&spec(), &runs[..2]).confidence, Confidence::Medium);
        assert_eq!(tune(&spec(), &runs[..4]).confidence, Confidence::Medium);
        let five = tune(&spec(), &runs[..5]);
        assert_eq!((five.confidence, five.runs_considered), (Confidence::High, 5));
        let mut erratic = runs.clone();
        erratic[0].metrics.task_time_ms = 10_000_000;
        let erratic = tune(&spec(), &erratic);
        assert_eq!(erratic.confidence, Confidence::Medium, "{}", erratic.confidence_why);
    }

    #[test]
    fn bounds_span_the_runs() {
        let runs: Vec<AppSummary> = [0.12, 0.18, 0.15]
            .into_iter()
            .map(|gc| {
                let mut r = healthy_run();
                r.metrics.gc_share = Some(gc);
                r
            })
            .collect();
        let proposal = tune(&spec(), &runs);
        let bounds = proposal.changes[0].bounds.clone().expect("bounds");
        assert_eq!((bounds.min.as_str(), bounds.max.as_str()), ("12%", "18%"));
    }

    #[test]
    fn no_runs_propose_nothing() {
        let proposal = tune(&spec(), &[]);
        assert_eq!((proposal.changes.len(), proposal.runs_considered), (0, 0));
        assert_eq!(proposal.patch, json!({}));
    }

    #[test]
    fn runs_are_matched_by_label_app_name_or_run_id() {
        let run = healthy_run();
        assert!(is_run_of(&run, "etl"));
        assert!(!is_run_of(&run, "other"));
        let mut labelled = healthy_run();
        labelled.config.properties.remove("spark.app.name");
        labelled.config.app_name = None;
        labelled.config.labels.insert("sparkplane.dev/job".into(), "nightly".into());
        assert!(is_run_of(&labelled, "nightly"));
        let mut local = labelled.clone();
        local.config.labels.clear();
        local.config.properties.insert("spark.sparkplane.run.id".into(), "nightly-20261121-1".into());
        assert!(is_run_of(&local, "nightly"));
    }

    #[test]
    fn a_real_spark_run_gives_a_low_confidence_proposal_that_sizes_as_it_says() {
        let log = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../sparkplane-eventlog/tests/fixtures/spark-3.5.9/eventlog_v2_local-1795265030698");
        let run = sparkplane_eventlog::summarize(&log).expect("the fixture reads");
        let small = SparkJobSpec {
            app_type: Some(AppType::Python),
            executor: Some(ExecutorSpec {
                role: RoleSpec { cores: Some(2), memory: Some(MemorySize::from_gib(1)), ..Default::default() },
                instances: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        let proposal = tune(&small, std::slice::from_ref(&run));
        assert_eq!((proposal.confidence, proposal.runs_considered), (Confidence::Low, 1));
        assert_patch_matches_changes(&small, &proposal);
        // job_ok.py shuffles a few KiB: one partition's worth, rounded up to the job's 2 cores.
        assert_eq!(
            proposal.changes.iter().map(|c| (c.path.as_str(), c.to.as_str())).collect::<Vec<_>>(),
            [("spec.sparkConf.\"spark.sql.shuffle.partitions\"", "2")]
        );
        // Tiny local jobs have too little task time for GC to mean anything, and nothing spilled.
        assert!(proposal.changes.iter().all(|c| c.path != "spec.executor.memory"));
    }
}
