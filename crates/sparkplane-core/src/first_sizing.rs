//! `sparkplane size`: a first sizing for a job from how much data it reads and
//! what kind of work it does, with every number explained.
//!
//! This module owns the recommendation model below and the parsing of data
//! sizes (`1TiB`, `500GB`). It must not compute pod resources itself: the
//! memory overhead comes from [`crate::sizing::overhead_for`] and the pods of
//! the recommended spec from [`crate::sizing::size_job`], so what `size`
//! prints is what `fit` and the renderers will use. It reads no event logs;
//! tuning from a measured run is `tune`'s job.
//!
//! # The model
//!
//! 1. **Partitions.** Input is split into tasks of a target size per workload
//!    ([`Workload::target_partition`]: ETL 128 MiB, the size of Spark's
//!    default input split; ML 64 MiB, as feature work is heavier per byte;
//!    streaming 32 MiB, to keep micro-batches short; interactive 64 MiB, for
//!    quick first results): `partitions = ⌈input ÷ target⌉`.
//! 2. **Executor cores.** At most 5 (beyond that, HDFS/S3 client throughput
//!    per JVM and GC pauses suffer): 4 for ETL, ML and interactive, 2 for
//!    streaming (small executors spread state and survive node loss better),
//!    fewer when the given node has fewer CPUs.
//! 3. **Executor heap** = cores × memory per core ([`Workload::memory_per_core`]:
//!    ETL 4 GiB, ML 8 GiB, streaming 2 GiB, interactive 4 GiB); when the pod
//!    would not fit the given node, cores are lowered to keep memory per core,
//!    and the heap is capped only when a single core's share does not fit.
//! 4. **Overhead** is Spark's rule via `overhead_for`, with the factor of the
//!    application type (0.1 JVM, 0.4 Python/R/SQL).
//! 5. **Executors.** Enough task slots to run all partitions in W waves:
//!    `executors = ⌈⌈partitions ÷ W⌉ ÷ cores⌉`, bounded to [2, 500]. Without a
//!    deadline W = 3 (a straggler then costs at most a third of a wave's
//!    share, and a partition more or less hardly matters). With a deadline,
//!    [`DEADLINE_SHARE`] of it is given to tasks, each task taking
//!    target ÷ [`Workload::throughput_per_core`] seconds (ETL 64 MiB/s,
//!    ML 16 MiB/s, streaming 32 MiB/s, interactive 64 MiB/s per core), and
//!    W = ⌊(deadline × share) ÷ task time⌋, at least 1.
//! 6. **Dynamic allocation** for ETL, ML and interactive: min 1, max =
//!    executors, shuffle tracking on; batch starts at full width, interactive
//!    at one executor. Streaming runs a fixed number.
//! 7. **Driver**: 1 core and 2 GiB, 4 GiB for ML (models and metrics are
//!    collected) and interactive (it plans every session's queries).
//! 8. **`spark.sql.shuffle.partitions`** = partitions rounded up to a multiple
//!    of all executor cores, so no wave runs part-empty.
//!
//! The throughputs are planning estimates for columnar input on cloud storage;
//! a measured run (`sparkplane tune`) replaces them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sparkplane_api::job::{AppType, DriverSpec, DynamicAllocation, ExecutorSpec, RoleSpec, SparkJobSpec};
use sparkplane_api::{CpuAmount, Duration, MemorySize};
use sparkplane_documents::table::Table;

use crate::sizing::{SizedJob, default_overhead_factor, largest_heap_within, overhead_for, size_job};

/// Fewest executors recommended: one executor is a single point of slowness.
pub const MIN_EXECUTORS: u32 = 2;
/// Most executors recommended; beyond this, split the job or tune from a measured run.
pub const MAX_EXECUTORS: u32 = 500;
/// Waves of tasks planned when there is no deadline.
pub const DEFAULT_WAVES: u64 = 3;
/// Share of a deadline planned for running tasks; the rest is for pod start,
/// scheduling, shuffle and stragglers.
pub const DEADLINE_SHARE: f64 = 0.5;
/// Largest executor recommended, in cores.
pub const MAX_EXECUTOR_CORES: u32 = 5;

const MIB: u64 = 1024 * 1024;

/// What kind of work a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Batch extract-transform-load: scans, joins, aggregations, writes.
    Etl,
    /// Feature engineering and model training.
    Ml,
    /// Structured Streaming micro-batches.
    Streaming,
    /// Notebooks, BI and Spark Connect sessions.
    Interactive,
}

impl Workload {
    /// The lowercase name (`etl`, `ml`, `streaming`, `interactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Etl => "etl",
            Workload::Ml => "ml",
            Workload::Streaming => "streaming",
            Workload::Interactive => "interactive",
        }
    }

    /// Input bytes per task.
    pub fn target_partition(self) -> MemorySize {
        MemorySize::from_mib(match self {
            Workload::Etl => 128,
            Workload::Ml | Workload::Interactive => 64,
            Workload::Streaming => 32,
        })
    }

    /// Cores per executor before any node limit.
    pub fn executor_cores(self) -> u32 {
        match self {
            Workload::Etl | Workload::Ml | Workload::Interactive => 4,
            Workload::Streaming => 2,
        }
    }

    /// Executor heap per core.
    pub fn memory_per_core(self) -> MemorySize {
        MemorySize::from_gib(match self {
            Workload::Etl | Workload::Interactive => 4,
            Workload::Ml => 8,
            Workload::Streaming => 2,
        })
    }

    /// Input MiB one core works through per second (a planning estimate).
    pub fn throughput_per_core(self) -> u64 {
        match self {
            Workload::Etl | Workload::Interactive => 64,
            Workload::Ml => 16,
            Workload::Streaming => 32,
        }
    }

    /// Whether executors scale with the backlog.
    pub fn dynamic_allocation(self) -> bool {
        !matches!(self, Workload::Streaming)
    }

    /// Driver heap.
    pub fn driver_memory(self) -> MemorySize {
        MemorySize::from_gib(match self {
            Workload::Etl | Workload::Streaming => 2,
            Workload::Ml | Workload::Interactive => 4,
        })
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "etl" => Ok(Workload::Etl),
            "ml" => Ok(Workload::Ml),
            "streaming" => Ok(Workload::Streaming),
            "interactive" => Ok(Workload::Interactive),
            _ => Err(format!("`{text}` is not a workload: use etl, ml, streaming or interactive")),
        }
    }
}

/// The part of a node pods may use (allocatable − reserved), to keep executors within.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeLimit {
    /// CPU.
    pub cpu: CpuAmount,
    /// Memory.
    pub memory: MemorySize,
}

/// What `sparkplane size` is asked.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SizeRequest {
    /// Bytes the job reads (per micro-batch for streaming).
    pub input_bytes: u64,
    /// What kind of work it does.
    pub workload: Workload,
    /// When it must be done by, from start (the trigger interval for streaming).
    pub deadline: Option<Duration>,
    /// Application language; sets the memory overhead factor.
    pub app_type: AppType,
    /// A node each executor must fit on.
    pub node: Option<NodeLimit>,
}

impl SizeRequest {
    /// A request for a Python job with no deadline and no node limit.
    pub fn new(input_bytes: u64, workload: Workload) -> Self {
        Self { input_bytes, workload, deadline: None, app_type: AppType::Python, node: None }
    }
}

/// A recommended value and the reasoning behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explained<T> {
    /// The value.
    pub value: T,
    /// Why, with the numbers that led to it.
    pub why: String,
}

fn explained<T>(value: T, why: impl Into<String>) -> Explained<T> {
    Explained { value, why: why.into() }
}

/// The recommendation of `sparkplane size`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// The workload sized for.
    pub workload: Workload,
    /// The application type assumed (it sets the memory overhead).
    pub app_type: AppType,
    /// Input partitions (tasks of the first stage).
    pub partitions: Explained<u64>,
    /// Waves of tasks planned.
    pub waves: Explained<u64>,
    /// Cores per executor.
    pub executor_cores: Explained<u32>,
    /// Executor heap.
    pub executor_memory: Explained<MemorySize>,
    /// Executor memory overhead (Spark's rule).
    pub executor_overhead: Explained<MemorySize>,
    /// Executors (the maximum under dynamic allocation).
    pub executors: Explained<u32>,
    /// Whether dynamic allocation is on.
    pub dynamic_allocation: Explained<bool>,
    /// Driver cores.
    pub driver_cores: Explained<u32>,
    /// Driver heap.
    pub driver_memory: Explained<MemorySize>,
    /// `spark.sql.shuffle.partitions`.
    pub shuffle_partitions: Explained<u64>,
    /// Time the tasks take at the planned throughput (excluding start-up).
    pub task_time: Explained<Duration>,
    /// What the recommendation could not satisfy.
    pub warnings: Vec<String>,
    /// The pods of the recommended spec, from the one sizing model.
    pub sized: SizedJob,
}

fn fmt_mem(memory: MemorySize) -> String {
    if memory.mib().is_multiple_of(1024) {
        format!("{} GiB", memory.mib() / 1024)
    } else {
        format!("{} MiB", memory.mib())
    }
}

fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            let text = format!("{value:.1}");
            return format!("{} {unit}", text.trim_end_matches(".0"));
        }
    }
    format!("{bytes} B")
}

fn seconds(secs: f64) -> Duration {
    Duration::from_secs(secs.ceil().max(0.0) as u64)
}

/// Executors of `cores` cores (heap = cores × `per_core`) that fit on one node.
fn executors_per_node(node: NodeLimit, per_core: MemorySize, factor: f64, cores: u32) -> u64 {
    let heap = MemorySize::from_mib(u64::from(cores) * per_core.mib());
    let pod = heap.saturating_add(overhead_for(heap, None, factor).0);
    let by_cpu = node.cpu.millis() / (u64::from(cores) * 1000);
    let by_memory = node.memory.mib() / pod.mib().max(1);
    by_cpu.min(by_memory)
}

/// Task slots (cores in use) per node with executors of `cores` cores.
fn slots_per_node(node: NodeLimit, per_core: MemorySize, factor: f64, cores: u32) -> u64 {
    u64::from(cores) * executors_per_node(node, per_core, factor, cores)
}

/// The executor core count (2..=5; 1 only when no larger count fits) that
/// uses the most of a node, preferring `preferred` and then larger counts on
/// ties; None when nothing fits. Single-core executors are a last resort: each
/// is a JVM of its own, and broadcasts and caches are not shared.
fn best_packing(node: NodeLimit, per_core: MemorySize, factor: f64, preferred: u32) -> Option<(u32, u64)> {
    let pick = |range: std::ops::RangeInclusive<u32>| {
        range
            .map(|c| (c, slots_per_node(node, per_core, factor, c)))
            .filter(|(_, slots)| *slots > 0)
            .max_by_key(|(c, slots)| (*slots, *c == preferred, *c))
            .map(|(c, _)| (c, executors_per_node(node, per_core, factor, c)))
    };
    pick(2..=MAX_EXECUTOR_CORES).or_else(|| pick(1..=1))
}

/// Sizes a job for `input` by the model in the module documentation, one
/// numbered step after another.
pub fn recommend(input: &SizeRequest) -> Recommendation {
    let workload = input.workload;
    let mut warnings = Vec::new();
    let factor = default_overhead_factor(Some(input.app_type));

    // 1. Partitions.
    let target = workload.target_partition();
    let partitions = input.input_bytes.div_ceil(target.bytes()).max(1);
    let partitions = explained(
        partitions,
        format!(
            "{} ÷ {} per task ({workload}) = {partitions} partitions",
            fmt_bytes(input.input_bytes),
            fmt_mem(target)
        ),
    );

    // 2. and 3. Executor cores and heap, kept within the node.
    let shape = executor_shape(input, factor, &mut warnings);
    let (cores, heap) = (shape.cores, shape.heap);

    // 4. Overhead, by Spark's rule.
    let (overhead, _) = overhead_for(heap, None, factor);
    let executor_overhead = explained(
        overhead,
        format!(
            "max(384 MiB, {factor} × {}) for {:?} applications = {}",
            fmt_mem(heap),
            input.app_type,
            fmt_mem(overhead)
        ),
    );

    // 5. Waves and executors.
    let plan = executor_count(input, partitions.value, cores, &mut warnings);
    let (count, total_slots) = (plan.count, plan.total_slots);

    // 6. Dynamic allocation.
    let dynamic = workload.dynamic_allocation();
    let dynamic_why = if dynamic {
        format!(
            "{workload} varies in width: min 1, max {count}, starting at {}, with shuffle tracking",
            if workload == Workload::Interactive { "1".to_string() } else { count.to_string() }
        )
    } else {
        format!("streaming runs a fixed {count} executors: state stays put between micro-batches")
    };

    // 7. Driver.
    let driver_memory = workload.driver_memory();
    let driver_why = match workload {
        Workload::Ml => "4 GiB: ML drivers collect models and metrics",
        Workload::Interactive => "4 GiB: the driver plans every session's queries",
        Workload::Etl | Workload::Streaming => "2 GiB: the driver only plans and tracks tasks",
    };

    // 8. Shuffle partitions.
    let shuffle = partitions.value.div_ceil(total_slots) * total_slots;
    let shuffle_partitions = explained(
        shuffle,
        format!(
            "{} partitions rounded up to a multiple of {count} executors × {cores} cores = {shuffle}",
            partitions.value
        ),
    );

    let mut recommendation = Recommendation {
        workload,
        app_type: input.app_type,
        partitions,
        waves: plan.waves,
        executor_cores: explained(cores, shape.cores_why),
        executor_memory: explained(heap, shape.heap_why),
        executor_overhead,
        executors: explained(count, plan.executors_why),
        dynamic_allocation: explained(dynamic, dynamic_why),
        driver_cores: explained(1, "1 core: the driver schedules, it does not compute"),
        driver_memory: explained(driver_memory, driver_why),
        shuffle_partitions,
        task_time: plan.task_time,
        warnings,
        // Filled in below from the spec the fields above make.
        sized: size_job(&SparkJobSpec::default()),
    };
    recommendation.sized = size_job(&recommendation.to_spec());
    recommendation
}

/// Steps 2 and 3: an executor's cores and heap, each with why.
struct ExecutorShape {
    cores: u32,
    cores_why: String,
    heap: MemorySize,
    heap_why: String,
}

impl ExecutorShape {
    /// `cores` at the workload's memory per core.
    fn of(cores: u32, cores_why: String, per_core: MemorySize, workload: Workload) -> ExecutorShape {
        let heap = MemorySize::from_mib(u64::from(cores) * per_core.mib());
        let heap_why = format!("{cores} cores × {} per core ({workload}) = {}", fmt_mem(per_core), fmt_mem(heap));
        ExecutorShape { cores, cores_why, heap, heap_why }
    }
}

/// Steps 2 and 3: the workload's executor cores and heap, then kept within
/// the node when one is given (packed, at most its CPUs, within its memory).
fn executor_shape(input: &SizeRequest, factor: f64, warnings: &mut Vec<String>) -> ExecutorShape {
    let workload = input.workload;
    let per_core = workload.memory_per_core();
    let cores = workload.executor_cores().min(MAX_EXECUTOR_CORES);
    let why = format!("{cores} cores per executor for {workload} (at most {MAX_EXECUTOR_CORES})");
    let shape = ExecutorShape::of(cores, why, per_core, workload);
    match input.node {
        Some(node) => shape_within_node(shape, node, workload, factor, warnings),
        None => shape,
    }
}

/// The shape packed onto `node`, lowered to its whole CPUs, then to what its
/// memory holds (warning when not even one core's share fits).
fn shape_within_node(
    mut shape: ExecutorShape,
    node: NodeLimit,
    workload: Workload,
    factor: f64,
    warnings: &mut Vec<String>,
) -> ExecutorShape {
    let per_core = workload.memory_per_core();
    let node_cores = u32::try_from(node.cpu.millis() / 1000).unwrap_or(u32::MAX).max(1);
    let cores = shape.cores;
    // Pack the node: the core count (1..=5) whose executors leave the most
    // task slots per node wins; on a tie, the workload's own count, then more
    // cores (fewer JVMs).
    if let Some((best, per_node)) = best_packing(node, per_core, factor, cores)
        && best != cores
    {
        let default_slots = slots_per_node(node, per_core, factor, cores);
        let slots = u64::from(best) * per_node;
        let why = if default_slots == 0 {
            format!(
                "{best} cores per executor: the {workload} default of {cores} does not fit the node's {}; {per_node} per node use {slots} task slots",
                fmt_mem(node.memory)
            )
        } else {
            format!(
                "{best} cores per executor: {per_node} per node use {slots} task slots, where the {workload} default of {cores} uses {default_slots}"
            )
        };
        shape = ExecutorShape::of(best, why, per_core, workload);
    }
    if shape.cores > node_cores {
        let why = format!("{}, lowered to the node's {node_cores} whole CPUs", shape.cores_why);
        shape = ExecutorShape::of(node_cores, why, per_core, workload);
    }
    match largest_heap_within(node.memory, None, factor) {
        Some(most) if shape.heap > most => {
            let fitting_cores = most.mib() / per_core.mib();
            if fitting_cores >= 1 {
                let cores = u32::try_from(fitting_cores).unwrap_or(shape.cores).min(shape.cores);
                let why = format!(
                    "{}, lowered to {cores} so that {} per core fits the node's {}",
                    shape.cores_why,
                    fmt_mem(per_core),
                    fmt_mem(node.memory)
                );
                shape = ExecutorShape::of(cores, why, per_core, workload);
            } else {
                // Round down to 128 MiB steps so the heap reads as a plain number.
                let rounded = most.mib() / 128 * 128;
                let heap = MemorySize::from_mib(if rounded > 0 { rounded } else { most.mib() });
                shape = ExecutorShape {
                    cores: 1,
                    cores_why: format!("{}, lowered to 1: not even one core's share fits the node", shape.cores_why),
                    heap,
                    heap_why: format!(
                        "{} (the most whose pod fits the node's {}), below the {} per core {workload} wants",
                        fmt_mem(heap),
                        fmt_mem(node.memory),
                        fmt_mem(per_core)
                    ),
                };
                warnings.push(format!(
                    "the node's {} holds less than one {workload} core's {}; expect spills, or use a larger node",
                    fmt_mem(node.memory),
                    fmt_mem(per_core)
                ));
            }
        }
        Some(_) => {}
        None => warnings.push(format!(
            "the node's {} cannot hold even an executor's minimum overhead; use a larger node",
            fmt_mem(node.memory)
        )),
    }
    shape
}

/// Step 5: waves, the executor count and the task time it gives, each with why.
struct ExecutorPlan {
    waves: Explained<u64>,
    count: u32,
    executors_why: String,
    total_slots: u64,
    task_time: Explained<Duration>,
}

/// Step 5: how many waves the deadline allows (or the default), the
/// executors that run `partitions` in them, and the task time that takes
/// (warning when it misses the deadline's share).
fn executor_count(input: &SizeRequest, partitions: u64, cores: u32, warnings: &mut Vec<String>) -> ExecutorPlan {
    let workload = input.workload;
    let target = workload.target_partition();
    let task_secs = target.mib() as f64 / workload.throughput_per_core() as f64;
    let task_why = format!(
        "{} per task at {} MiB/s per core ({workload}) ≈ {task_secs:.1} s",
        fmt_mem(target),
        workload.throughput_per_core()
    );
    let (waves, waves_why, budget_secs) = match input.deadline {
        Some(deadline) => {
            let budget = deadline.as_millis() as f64 / 1000.0 * DEADLINE_SHARE;
            let waves = ((budget / task_secs).floor() as u64).max(1);
            let why = format!(
                "deadline {deadline}: {:.0}% of it ({budget:.0} s) for tasks of {task_why} allows {waves} waves",
                DEADLINE_SHARE * 100.0
            );
            (waves, why, Some(budget))
        }
        None => (DEFAULT_WAVES, format!("no deadline: {DEFAULT_WAVES} waves, the default"), None),
    };
    let slots = partitions.div_ceil(waves);
    let wanted = slots.div_ceil(u64::from(cores));
    let count = u32::try_from(wanted).unwrap_or(u32::MAX).clamp(MIN_EXECUTORS, MAX_EXECUTORS);
    let mut executors_why =
        format!("⌈{partitions} partitions ÷ {waves} waves⌉ = {slots} task slots ÷ {cores} cores = {wanted} executors");
    if u64::from(count) != wanted {
        executors_why.push_str(&format!(", bounded to [{MIN_EXECUTORS}, {MAX_EXECUTORS}]: {count}"));
    }
    let total_slots = u64::from(count) * u64::from(cores);
    let actual_waves = partitions.div_ceil(total_slots);
    let task_total = actual_waves as f64 * task_secs;
    if let (Some(budget), Some(deadline)) = (budget_secs, input.deadline)
        && task_total > budget
    {
        warnings.push(format!(
            "even {count} executors need about {} of task time, more than the {:.0}% of the deadline {deadline} \
             planned for tasks; expect to miss it, or split the job",
            seconds(task_total),
            DEADLINE_SHARE * 100.0
        ));
    }
    // Said as the product it is: waves × one wave's time = the value (each wave's tasks run side by side).
    let task_time = explained(
        seconds(task_total),
        format!(
            "{actual_waves} waves × {task_secs:.1} s a wave ({} per task at {} MiB/s per core, {workload}) = {}; \
             start-up, shuffle and stragglers not included",
            fmt_mem(target),
            workload.throughput_per_core(),
            seconds(task_total)
        ),
    );
    ExecutorPlan { waves: explained(waves, waves_why), count, executors_why, total_slots, task_time }
}

impl Recommendation {
    /// How many of the recommended executor pods fit on one node with `room`
    /// (the lower of the CPU and memory counts).
    pub fn executors_per_node(&self, room: NodeLimit) -> u64 {
        let pod = &self.sized.executor;
        let by_cpu = room.cpu.millis() / pod.cpu_request.millis().max(1);
        let by_memory = room.memory.mib() / pod.pod_memory.mib().max(1);
        by_cpu.min(by_memory)
    }

    /// The recommendation as `size` prints it: each setting, its value and
    /// why; the pods it makes; with `pool` (its name and the room a pod has
    /// on its nodes), how many executors fit a node; then the warnings.
    pub fn text(&self, pool: Option<(&str, NodeLimit)>) -> String {
        let mut t = Table::new(&["SETTING", "VALUE", "WHY"]);
        let mut row = |name: &str, value: String, why: &str| t.row(vec![name.to_owned(), value, why.to_owned()]);
        row("partitions", self.partitions.value.to_string(), &self.partitions.why);
        row("waves", self.waves.value.to_string(), &self.waves.why);
        row("executor.cores", self.executor_cores.value.to_string(), &self.executor_cores.why);
        row("executor.memory", self.executor_memory.value.to_kubernetes(), &self.executor_memory.why);
        row("executor overhead", self.executor_overhead.value.to_kubernetes(), &self.executor_overhead.why);
        row("executors", self.executors.value.to_string(), &self.executors.why);
        row("dynamicAllocation", self.dynamic_allocation.value.to_string(), &self.dynamic_allocation.why);
        row("driver.cores", self.driver_cores.value.to_string(), &self.driver_cores.why);
        row("driver.memory", self.driver_memory.value.to_kubernetes(), &self.driver_memory.why);
        row("spark.sql.shuffle.partitions", self.shuffle_partitions.value.to_string(), &self.shuffle_partitions.why);
        row("compute time, all waves", self.task_time.value.to_string(), &self.task_time.why);
        let mut out = t.render();
        let e = &self.sized.executor;
        out.push_str(&format!(
            "\nexecutor pod: {} CPU, {} memory (heap {} + overhead {}); driver pod: {} CPU, {} memory\n",
            e.cpu_request,
            e.pod_memory,
            e.heap,
            e.overhead,
            self.sized.driver.cpu_request,
            self.sized.driver.pod_memory
        ));
        if let Some((pool, room)) = pool {
            out.push_str(&format!(
                "{} executor(s) per node of pool {pool} ({} CPU, {} free for pods)\n",
                self.executors_per_node(room),
                room.cpu,
                room.memory
            ));
        }
        for warning in &self.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out
    }

    /// The recommended settings as a partial SparkJob spec (with the assumed
    /// application type, so that sizing it gives [`Recommendation::sized`]).
    pub fn to_spec(&self) -> SparkJobSpec {
        let role = |cores: u32, memory: MemorySize| RoleSpec {
            cores: Some(cores),
            memory: Some(memory),
            ..Default::default()
        };
        let count = self.executors.value;
        let dynamic = self.dynamic_allocation.value;
        let initial = if self.workload == Workload::Interactive { 1 } else { count };
        SparkJobSpec {
            app_type: Some(self.app_type),
            driver: Some(DriverSpec {
                role: role(self.driver_cores.value, self.driver_memory.value),
                service_account: None,
            }),
            executor: Some(ExecutorSpec {
                role: role(self.executor_cores.value, self.executor_memory.value),
                instances: (!dynamic).then_some(count),
                ..Default::default()
            }),
            dynamic_allocation: Some(if dynamic {
                DynamicAllocation {
                    enabled: Some(true),
                    min_executors: Some(1),
                    max_executors: Some(count),
                    initial_executors: Some(initial),
                    shuffle_tracking: Some(true),
                }
            } else {
                DynamicAllocation { enabled: Some(false), ..Default::default() }
            }),
            spark_conf: BTreeMap::from([(
                "spark.sql.shuffle.partitions".to_string(),
                self.shuffle_partitions.value.to_string(),
            )]),
            ..Default::default()
        }
    }

    /// The settings to merge into a job: `{spec: {driver, executor,
    /// dynamicAllocation, sparkConf}}`, in Kubernetes spellings (`16Gi`). The
    /// application type is left to the job.
    pub fn to_patch(&self) -> serde_json::Value {
        let mut spec = serde_json::to_value(self.to_spec()).unwrap_or_default();
        if let Some(map) = spec.as_object_mut() {
            map.remove("type");
        }
        serde_json::json!({ "spec": spec })
    }
}

/// Parses a data size such as `1TiB`, `500GB`, `1.5 TB` or `20g`: `B`;
/// decimal `KB`, `MB`, `GB`, `TB`, `PB`; binary `KiB`, `MiB`, `GiB`, `TiB`,
/// `PiB`; and Spark's binary `k`, `m`, `g`, `t`, `p`. Units are read in any
/// case. Fractions round up to a whole byte.
pub fn parse_data_size(text: &str) -> Result<u64, String> {
    const ACCEPTED: &str = "B, KB/MB/GB/TB/PB (powers of 1000), KiB/MiB/GiB/TiB/PiB or k/m/g/t/p (powers of 1024)";
    let trimmed = text.trim();
    let end = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(end);
    let unit = unit.trim();
    if number.is_empty() {
        return Err(format!("`{text}` is not a data size: write a number and a unit, e.g. `500GB`, `1TiB` or `20g`"));
    }
    if unit.is_empty() {
        return Err(format!("`{text}` has no unit: write e.g. `{number}GB` or `{number}GiB` ({ACCEPTED})"));
    }
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "pb" => 1_000_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => MIB,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "p" | "pib" => 1 << 50,
        _ => {
            return Err(format!("`{text}` has an unknown unit `{unit}`: use {ACCEPTED}"));
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let valid = !whole.is_empty()
        && (!number.contains('.') || !fraction.is_empty())
        && fraction.len() <= 9
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(format!("`{text}` is not a data size: `{number}` is not a number"));
    }
    let too_large = || format!("`{text}` is too large");
    let denominator = 10u128.pow(fraction.len() as u32);
    let numerator = whole
        .parse::<u128>()
        .ok()
        .and_then(|w| w.checked_mul(denominator))
        .and_then(|w| w.checked_add(if fraction.is_empty() { 0 } else { fraction.parse::<u128>().ok()? }))
        .ok_or_else(too_large)?;
    let bytes = numerator.checked_mul(u128::from(scale)).ok_or_else(too_large)?.div_ceil(denominator);
    u64::try_from(bytes).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const TIB: u64 = 1 << 40;

    fn request(input: u64, workload: Workload) -> SizeRequest {
        SizeRequest::new(input, workload)
    }

    #[test]
    fn node_shapes_choose_the_core_count_that_packs_best() {
        // 7.5 CPU and 31 GiB for pods; Python ETL needs 4 GiB heap + 40 % per core.
        let node = NodeLimit { cpu: CpuAmount::from_millis(7500), memory: MemorySize::from_gib(31) };
        let mut req = SizeRequest::new(200 * 1024 * 1024 * 1024, Workload::Etl);
        req.node = Some(node);
        let rec = recommend(&req);
        // Memory-bound at 5.6 GiB per core: five slots per node is the most; 5-core executors get them.
        assert_eq!(rec.executor_cores.value, 5, "{}", rec.executor_cores.why);
        assert_eq!(slots_per_node(node, MemorySize::from_gib(4), 0.4, 5), 5);
        assert_eq!(slots_per_node(node, MemorySize::from_gib(4), 0.4, 4), 4);
        assert!(rec.sized.executor.pod_memory <= node.memory);
        // A JVM job (0.1 overhead) is CPU-bound there: the default 4 cores already fills the node's 7 slots best.
        req.app_type = AppType::Scala;
        let rec = recommend(&req);
        assert_eq!(rec.executor_cores.value, 3, "{}", rec.executor_cores.why);
    }

    #[test]
    fn the_compute_time_row_says_the_product_it_shows() {
        let rec = recommend(&request(200 * GIB, Workload::Etl));
        assert_eq!(rec.task_time.value.to_string(), "6s");
        assert_eq!(
            rec.task_time.why,
            "3 waves × 2.0 s a wave (128 MiB per task at 64 MiB/s per core, etl) = 6s; start-up, shuffle and \
             stragglers not included"
        );
    }

    #[test]
    fn data_sizes_in_every_accepted_spelling() {
        for (text, bytes) in [
            ("1TiB", TIB),
            ("1tib", TIB),
            ("500GB", 500_000_000_000),
            ("500gb", 500_000_000_000),
            ("1.5 TB", 1_500_000_000_000),
            ("20g", 20 * GIB),
            ("20G", 20 * GIB),
            ("512MiB", 512 * MIB),
            ("512m", 512 * MIB),
            ("1k", 1024),
            ("1KB", 1000),
            ("1KiB", 1024),
            ("2PB", 2_000_000_000_000_000),
            ("1p", 1 << 50),
            ("100B", 100),
            ("0.5KiB", 512),
            ("1.0001KB", 1001),
            (" 3 GiB ", 3 * GIB),
            // Units are read in any case: `Tb` is terabytes, not terabits.
            ("1Tb", 1_000_000_000_000),
        ] {
            assert_eq!(parse_data_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn bad_data_sizes_say_what_is_accepted() {
        for (text, expected) in [
            ("500", "`500` has no unit: write e.g. `500GB` or `500GiB`"),
            ("GB", "`GB` is not a data size: write a number and a unit"),
            ("", "is not a data size"),
            ("5 bananas", "`5 bananas` has an unknown unit `bananas`: use B, KB/MB/GB/TB/PB"),
            ("-5GB", "is not a data size"),
            ("1.GB", "`1.` is not a number"),
            ("1.2.3GB", "`1.2.3` is not a number"),
            ("1.0000000001GB", "is not a number"),
            ("99999999999999PB", "is too large"),
        ] {
            let err = parse_data_size(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn workloads_parse_by_name() {
        for workload in [Workload::Etl, Workload::Ml, Workload::Streaming, Workload::Interactive] {
            assert_eq!(workload.as_str().parse::<Workload>(), Ok(workload));
            assert_eq!(workload.as_str().to_uppercase().parse::<Workload>(), Ok(workload));
        }
        assert_eq!(
            "batch".parse::<Workload>(),
            Err("`batch` is not a workload: use etl, ml, streaming or interactive".into())
        );
    }

    #[test]
    fn one_tib_of_etl_without_a_deadline() {
        let rec = recommend(&request(TIB, Workload::Etl));
        // 1 TiB / 128 MiB = 8192 partitions; 3 waves → 2731 slots → 683 executors, capped at 500.
        assert_eq!(rec.partitions.value, 8192);
        assert_eq!(rec.waves.value, 3);
        assert_eq!(rec.executor_cores.value, 4);
        assert_eq!(rec.executor_memory.value, MemorySize::from_gib(16));
        // Python: 0.4 × 16 GiB.
        assert_eq!(rec.executor_overhead.value, MemorySize::from_mib(6553));
        assert_eq!(rec.executors.value, 500);
        assert_eq!(
            rec.executors.why,
            "⌈8192 partitions ÷ 3 waves⌉ = 2731 task slots ÷ 4 cores = 683 executors, bounded to [2, 500]: 500"
        );
        assert_eq!(rec.partitions.why, "1 TiB ÷ 128 MiB per task (etl) = 8192 partitions");
        // 2000 slots: 8192 → 10000, five waves.
        assert_eq!(rec.shuffle_partitions.value, 10_000);
        assert!(rec.dynamic_allocation.value);
        assert_eq!(rec.driver_memory.value, MemorySize::from_gib(2));
        assert_eq!(rec.task_time.value, Duration::from_secs(10));
        assert!(rec.warnings.is_empty());
    }

    #[test]
    fn a_deadline_sets_the_waves() {
        let mut req = request(TIB, Workload::Etl);
        req.deadline = Some(Duration::from_secs(3600));
        let rec = recommend(&req);
        // Half of an hour for 2 s tasks = 900 waves → 10 slots → 3 executors.
        assert_eq!(rec.waves.value, 900);
        assert_eq!(
            rec.waves.why,
            "deadline 1h: 50% of it (1800 s) for tasks of 128 MiB per task at 64 MiB/s per core (etl) ≈ 2.0 s allows 900 waves"
        );
        assert_eq!(rec.executors.value, 3);
        // 8192 partitions over 12 slots = 683 waves × 2 s.
        assert_eq!(rec.task_time.value, Duration::from_secs(1366));
        assert!(rec.warnings.is_empty());

        // A deadline no number of executors can meet is said so.
        req.deadline = Some(Duration::from_secs(4));
        let rec = recommend(&req);
        assert_eq!(rec.waves.value, 1);
        assert_eq!(rec.executors.value, MAX_EXECUTORS);
        assert_eq!(rec.warnings.len(), 1, "{:?}", rec.warnings);
        assert!(rec.warnings[0].starts_with("even 500 executors need about 10s of task time"), "{}", rec.warnings[0]);
    }

    #[test]
    fn small_inputs_get_the_minimum_and_workloads_differ() {
        for (workload, cores, heap_gib, driver_gib, dynamic, executors) in [
            (Workload::Etl, 4, 16, 2, true, 2),
            (Workload::Ml, 4, 32, 4, true, 2),
            (Workload::Streaming, 2, 4, 2, false, 2),
            (Workload::Interactive, 4, 16, 4, true, 2),
        ] {
            let rec = recommend(&request(10 * MIB, workload));
            assert_eq!(rec.partitions.value, 1, "{workload}");
            assert_eq!(rec.executor_cores.value, cores, "{workload}");
            assert_eq!(rec.executor_memory.value, MemorySize::from_gib(heap_gib), "{workload}");
            assert_eq!(rec.driver_memory.value, MemorySize::from_gib(driver_gib), "{workload}");
            assert_eq!(rec.dynamic_allocation.value, dynamic, "{workload}");
            assert_eq!(rec.executors.value, executors, "{workload}");
            assert_eq!(rec.shuffle_partitions.value, u64::from(executors * cores), "{workload}");
        }
        assert_eq!(recommend(&request(0, Workload::Etl)).partitions.value, 1);
    }

    #[test]
    fn streaming_partitions_and_waves() {
        let mut req = request(10 * GIB, Workload::Streaming);
        req.deadline = Some(Duration::from_secs(60));
        let rec = recommend(&req);
        // 10 GiB / 32 MiB = 320; 30 s / 1 s tasks = 30 waves → 11 slots → 6 executors of 2 cores.
        assert_eq!(rec.partitions.value, 320);
        assert_eq!(rec.waves.value, 30);
        assert_eq!(rec.executors.value, 6);
        assert_eq!(rec.shuffle_partitions.value, 324);
        let patch = rec.to_patch();
        assert_eq!(patch["spec"]["executor"]["instances"], 6);
        assert_eq!(patch["spec"]["dynamicAllocation"], serde_json::json!({"enabled": false}));
    }

    #[test]
    fn the_node_bounds_cores_and_memory() {
        // A standard node: 7.5 CPU and 31 GiB for pods.
        let node = NodeLimit { cpu: CpuAmount::from_millis(7500), memory: MemorySize::from_gib(31) };
        let mut req = request(TIB, Workload::Ml);
        req.node = Some(node);
        let rec = recommend(&req);
        // ML wants 4 × 8 GiB = 32 GiB + 0.4 overhead: too big. 31 GiB holds a
        // heap of 22.1 GiB, i.e. 2 cores at 8 GiB.
        assert_eq!(rec.executor_cores.value, 2);
        assert_eq!(rec.executor_memory.value, MemorySize::from_gib(16));
        assert!(
            rec.executor_cores
                .why
                .starts_with("2 cores per executor: the ml default of 4 does not fit the node's 31 GiB"),
            "{}",
            rec.executor_cores.why
        );
        assert!(rec.sized.executor.pod_memory <= node.memory);

        // Few CPUs bound the cores first.
        req.node = Some(NodeLimit { cpu: CpuAmount::from_millis(3900), memory: MemorySize::from_gib(64) });
        req.workload = Workload::Etl;
        let rec = recommend(&req);
        assert_eq!(rec.executor_cores.value, 3);
        assert_eq!(rec.executor_memory.value, MemorySize::from_gib(12));

        // A node smaller than one core's share: one core, the heap that fits, and a warning.
        req.node = Some(NodeLimit { cpu: CpuAmount::from_millis(2000), memory: MemorySize::from_gib(4) });
        req.workload = Workload::Ml;
        let rec = recommend(&req);
        assert_eq!(rec.executor_cores.value, 1);
        // 4096 MiB holds 2926 MiB of heap at 0.4 → 2816 MiB in 128 MiB steps.
        assert_eq!(rec.executor_memory.value, MemorySize::from_mib(2816));
        assert!(rec.sized.executor.pod_memory <= MemorySize::from_gib(4));
        assert_eq!(rec.warnings.len(), 1);

        req.node = Some(NodeLimit { cpu: CpuAmount::from_millis(2000), memory: MemorySize::from_mib(256) });
        let rec = recommend(&req);
        assert!(rec.warnings.iter().any(|w| w.contains("cannot hold even an executor's minimum overhead")));
    }

    #[test]
    fn the_recommendation_is_sized_by_the_one_sizing_model() {
        for app_type in [AppType::Python, AppType::Scala] {
            for workload in [Workload::Etl, Workload::Ml, Workload::Streaming, Workload::Interactive] {
                let mut req = request(300 * GIB, workload);
                req.app_type = app_type;
                let rec = recommend(&req);
                let pod = &rec.sized.executor;
                assert_eq!(pod.pod_memory, rec.executor_memory.value.saturating_add(rec.executor_overhead.value));
                assert_eq!(pod.heap, rec.executor_memory.value);
                assert_eq!(rec.sized.executors.max, rec.executors.value);
                assert_eq!(rec.sized.driver.heap, rec.driver_memory.value);

                // The patch, applied to a job of the assumed type, sizes the same.
                let mut spec: SparkJobSpec = serde_json::from_value(rec.to_patch()["spec"].clone()).unwrap();
                assert_eq!(spec.app_type, None, "the patch leaves the type to the job");
                spec.app_type = Some(app_type);
                assert_eq!(size_job(&spec), rec.sized, "{workload} {app_type:?}");
            }
        }
        // JVM overhead is the smaller factor.
        let mut req = request(TIB, Workload::Etl);
        req.app_type = AppType::Scala;
        assert_eq!(recommend(&req).executor_overhead.value, MemorySize::from_mib(1638));
    }

    #[test]
    fn the_patch_uses_kubernetes_spellings() {
        let rec = recommend(&request(TIB, Workload::Ml));
        assert_eq!(
            rec.to_patch(),
            serde_json::json!({"spec": {
                "driver": {"cores": 1, "memory": "4Gi"},
                "executor": {"cores": 4, "memory": "32Gi"},
                "dynamicAllocation": {
                    "enabled": true, "minExecutors": 1, "maxExecutors": 500,
                    "initialExecutors": 500, "shuffleTracking": true
                },
                "sparkConf": {"spark.sql.shuffle.partitions": "18000"}
            }})
        );
        let rec = recommend(&request(TIB, Workload::Interactive));
        assert_eq!(rec.to_patch()["spec"]["dynamicAllocation"]["initialExecutors"], 1);
    }

    #[test]
    fn every_number_is_explained_and_serializes() {
        let rec = recommend(&request(TIB, Workload::Etl));
        let value = serde_json::to_value(&rec).unwrap();
        for key in [
            "partitions",
            "waves",
            "executorCores",
            "executorMemory",
            "executorOverhead",
            "executors",
            "dynamicAllocation",
            "driverCores",
            "driverMemory",
            "shufflePartitions",
            "taskTime",
        ] {
            let why = value[key]["why"].as_str().unwrap_or_default();
            assert!(!why.is_empty(), "{key} has no explanation");
        }
        assert_eq!(value["executorMemory"]["value"], "16Gi");
        assert_eq!(value["workload"], "etl");
        assert_eq!(rec.executor_overhead.why, "max(384 MiB, 0.4 × 16 GiB) for Python applications = 6553 MiB");
    }

    #[test]
    fn the_text_lists_each_setting_with_why_the_pods_and_the_executors_per_node_of_the_pool() {
        let rec = recommend(&SizeRequest::new(100 << 30, Workload::Etl));
        let room = NodeLimit { cpu: CpuAmount::from_cores(16), memory: MemorySize::from_gib(64) };
        let text = rec.text(Some(("general", room)));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("SETTING") && lines[0].ends_with("WHY"), "{text}");
        assert!(lines[1].starts_with("partitions "), "{text}");
        assert!(
            lines[1].contains(&rec.partitions.value.to_string()) && lines[1].ends_with(&rec.partitions.why),
            "{text}"
        );
        assert_eq!(lines[12], "", "a blank line after the eleven settings:\n{text}");
        assert!(lines[13].starts_with("executor pod: 4 CPU, "), "{text}");
        assert_eq!(
            lines[14],
            format!(
                "{} executor(s) per node of pool general (16 CPU, 64Gi free for pods)",
                rec.executors_per_node(room)
            )
        );
        assert!(!rec.text(None).contains("per node of pool"));
    }
}
