//! Tuning advice from one application's [`AppSummary`]: `sparkplane analyze`.
//!
//! Owns: the rules that turn an application's figures into [`Finding`]s, their
//! thresholds (named constants, each saying why it sits where it does), and the
//! wording of each finding's evidence and fix.
//!
//! Must not: read files, parse events, or fold anything itself — it reads the one
//! event-log model ([`sparkplane_eventlog::model`]) and nothing else, so `analyze`, `run`'s summary
//! and the exporter agree on every number. It gives advice only: no finding is an
//! error, and nothing here decides an exit code.

use std::cmp::Reverse;

use serde::Serialize;
use sparkplane_eventlog::model::{AppFacts, AppSummary, Outcome, StageStats};

/// GC share of task time above which GC is worth a look: a healthy JVM with room in
/// its heap spends a few percent of task time collecting.
pub const GC_SHARE_WARN: f64 = 0.10;
/// GC share of task time above which the heap is clearly too small: a quarter of
/// every task is spent collecting rather than computing.
pub const GC_SHARE_CRITICAL: f64 = 0.25;
/// Least task time for a GC share to mean anything: below it, JVM warm-up and
/// class loading dominate and the share is noise.
pub const MIN_TASK_TIME_FOR_GC_MS: u64 = 30_000;
/// Memory spill (deserialized bytes) above which a stage is memory-starved even
/// without touching disk: sorting and aggregating that much twice costs real CPU.
pub const MEMORY_SPILL_WARN_BYTES: u64 = 1 << 30;
/// A stage's slowest task must be this many times its median to count as skewed:
/// ordinary variance (GC, locality, a slower node) stays well inside it.
pub const SKEW_MAX_OVER_MEDIAN: f64 = 5.0;
/// The slow tail must also last this long: a straggler of a few seconds costs little.
pub const SKEW_MIN_SLOW_TASK_MS: u64 = 30_000;
/// A stage's p99 task time this many times its median means many tasks, not one,
/// carry more data than the rest.
pub const SKEW_P99_OVER_MEDIAN: f64 = 3.0;
/// Median task time above which a stage's tasks count as long, so that cores left
/// idle by too few partitions waste real time.
pub const FEW_PARTITIONS_MIN_MEDIAN_MS: u64 = 30_000;
/// Median task time below which a task is mostly scheduling and launch overhead.
pub const MANY_PARTITIONS_MAX_MEDIAN_MS: u64 = 100;
/// Tasks a stage must have before tiny tasks matter: a few hundred short tasks
/// schedule in well under a second.
pub const MANY_PARTITIONS_MIN_TASKS: u64 = 2_000;
/// Executor utilisation (task time ÷ core time) below which most paid-for cores sat idle.
pub const IDLE_UTILISATION: f64 = 0.30;
/// Share of wall time with no task running above which the driver, not the
/// cluster, sets the pace.
pub const DRIVER_SHARE_WARN: f64 = 0.30;
/// Output bytes per writing task below which a stage writes small files: object
/// stores and Parquet readers work best with files of 128 MiB or more.
pub const SMALL_FILE_BYTES: u64 = 8 << 20;
/// Writing tasks a stage must have before small files matter: a few hundred small
/// files list and open quickly.
pub const SMALL_FILES_MIN_TASKS: u64 = 200;

/// File size the small-files fix aims for.
const TARGET_FILE_BYTES: u64 = 128 << 20;
/// Utilisation the idle-executors fix aims for: busy, with headroom for uneven stages.
const TARGET_UTILISATION: f64 = 0.7;
/// Partitions per core the partition fixes aim for: enough waves to even out task lengths.
const TARGET_PARTITIONS_PER_CORE: u64 = 3;
/// Task length the too-many-partitions fix aims for.
const TARGET_TASK_MS: u64 = 1_000;

/// How much a finding matters. Orders `Info < Warn < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wasted yet.
    Info,
    /// Time or money is being wasted.
    Warn,
    /// The application is failing or badly misconfigured.
    Critical,
}

impl Severity {
    /// The word used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Critical => "critical",
        }
    }
}

/// One piece of advice about an application.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable kebab-case id of the rule, e.g. `gc-pressure`.
    pub id: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// The numbers behind it, in words.
    pub evidence: String,
    /// What to change, and to what.
    pub fix: String,
    /// The stage it concerns, for per-stage rules.
    pub stage: Option<u32>,
}

/// Runs every rule over `app`; findings come sorted by severity (critical first),
/// then id, then stage.
pub fn analyze(app: &AppSummary) -> Vec<Finding> {
    let mut findings = Vec::new();
    gc_pressure(app, &mut findings);
    idle_executors(app, &mut findings);
    driver_bound(app, &mut findings);
    scheduling_gap(app, &mut findings);
    failed_tasks(app, &mut findings);
    speculative_tasks(app, &mut findings);
    for stage in &app.stage_stats {
        spill(app, stage, &mut findings);
        skew(stage, &mut findings);
        partitions(app, stage, &mut findings);
        small_files(stage, &mut findings);
    }
    findings.sort_by_key(|f| (Reverse(f.severity), f.id, f.stage));
    findings
}

fn gc_pressure(app: &AppSummary, out: &mut Vec<Finding>) {
    let m = &app.metrics;
    let Some(share) = m.gc_share else { return };
    if m.task_time_ms < MIN_TASK_TIME_FOR_GC_MS || share <= GC_SHARE_WARN {
        return;
    }
    let severity = if share > GC_SHARE_CRITICAL { Severity::Critical } else { Severity::Warn };
    let worst = app.stage_stats.iter().filter(|s| s.task_time_ms > 0).max_by(|a, b| {
        let share = |s: &StageStats| s.gc_time_ms as f64 / s.task_time_ms as f64;
        share(a).total_cmp(&share(b)).then(b.stage_id.cmp(&a.stage_id))
    });
    let mut evidence =
        format!("GC took {} of task time ({} of {})", percent(share), duration(m.gc_time_ms), duration(m.task_time_ms));
    if let Some(s) = worst {
        evidence.push_str(&format!(
            "; worst in stage {} at {}",
            s.stage_id,
            percent(s.gc_time_ms as f64 / s.task_time_ms as f64)
        ));
    }
    out.push(Finding {
        id: "gc-pressure",
        severity,
        title: "Tasks spend much of their time in garbage collection".into(),
        evidence,
        fix: format!("{}, or {}", raise_memory(app), fewer_cores(app)),
        stage: None,
    });
}

fn idle_executors(app: &AppSummary, out: &mut Vec<Finding>) {
    let Some(utilisation) = app.executors.utilisation else { return };
    if utilisation >= IDLE_UTILISATION {
        return;
    }
    let offered = app.executors.core_seconds;
    let used = utilisation * offered;
    let evidence = format!(
        "executors were busy {} of their core time ({} used of {} offered by {} executor{})",
        percent(utilisation),
        core_time(used),
        core_time(offered),
        app.executors.count,
        plural(app.executors.count)
    );
    let fix = if is_local(app) {
        let cores = app.executors.max_concurrent_cores.max(1);
        let target = scale_down(cores, utilisation);
        format!("run with fewer local cores: lower local[{cores}] to local[{target}] (spark.master)")
    } else if app.config.dynamic_allocation == Some(true) {
        "executors idle under dynamic allocation: lower spark.dynamicAllocation.executorIdleTimeout (e.g. to 30s) \
         and cap spec.dynamicAllocation.maxExecutors"
            .to_string()
    } else {
        let instances = app.config.executor_instances.map(u64::from).unwrap_or(app.executors.max_concurrent.max(1));
        let target = scale_down(instances, utilisation);
        format!(
            "lower spec.executor.instances from {instances} to {target}, or set spec.dynamicAllocation.enabled: true \
             (with shuffleTracking: true) so idle executors are released"
        )
    };
    out.push(Finding {
        id: "idle-executors",
        severity: Severity::Warn,
        title: "Most executor cores sat idle".into(),
        evidence,
        fix,
        stage: None,
    });
}

/// Executor-side wall time this many times the ideal (perfect scheduling on the
/// same cores) means much of it was lost to stragglers, uneven waves or waiting
/// for executors, not to work.
pub const SCHEDULING_GAP_RATIO: f64 = 1.5;
/// The lost time must also be this long to be worth a finding.
pub const SCHEDULING_GAP_MIN_MS: u64 = 60_000;

fn scheduling_gap(app: &AppSummary, out: &mut Vec<Finding>) {
    let (Some(wall), Some(timing)) = (app.wall_time, app.timing.as_ref()) else { return };
    // Compare what executors could influence: wall time minus driver-only time.
    let actual = wall.total_ms.saturating_sub(timing.driver_only_ms);
    let ideal = timing.ideal_ms.saturating_sub(timing.driver_only_ms);
    if ideal == 0 || timing.cores == 0 {
        return;
    }
    let lost = actual.saturating_sub(ideal);
    if (actual as f64) <= SCHEDULING_GAP_RATIO * ideal as f64 || lost < SCHEDULING_GAP_MIN_MS {
        return;
    }
    let floor = timing.critical_path_ms.saturating_sub(timing.driver_only_ms);
    let fix = if ideal <= floor.saturating_add(floor / 10) {
        "the critical path bounds this run: more executors will not help; shorten the slowest task of each stage on          it (split skewed keys, raise spark.sql.shuffle.partitions, enable AQE skew join)"
    } else {
        "stragglers and uneven task waves: enable AQE (spark.sql.adaptive.enabled) to coalesce and split partitions,          make partition counts a multiple of the executor cores, and check that executors start promptly (dynamic          allocation ramp-up, image pull, node scaling)"
    };
    out.push(Finding {
        id: "scheduling-gap",
        severity: Severity::Warn,
        title: "Tasks ran far longer than their work needed on these cores".into(),
        evidence: format!(
            "tasks kept {} cores for {}; perfect scheduling would take {} (critical path with unlimited executors: {}), \
             so {} was lost",
            timing.cores,
            duration(actual),
            duration(ideal),
            duration(floor),
            duration(lost)
        ),
        fix: fix.into(),
        stage: None,
    });
}

fn driver_bound(app: &AppSummary, out: &mut Vec<Finding>) {
    let Some(wall) = app.wall_time else { return };
    let Some(share) = wall.driver_share else { return };
    if share <= DRIVER_SHARE_WARN {
        return;
    }
    out.push(Finding {
        id: "driver-bound",
        severity: Severity::Warn,
        title: "No task was running for much of the application's life".into(),
        evidence: format!(
            "no task ran for {} of wall time ({} of {}); tasks ran for {}",
            percent(share),
            duration(wall.driver_only_ms),
            duration(wall.total_ms),
            duration(wall.tasks_running_ms)
        ),
        fix: "move driver-side work to executors: avoid collect()/toPandas() of large results, Python loops on the \
              driver and per-file listing (use a table format or fewer, larger input files); if the driver itself is \
              slow, raise spec.driver.cores and spec.driver.memory"
            .into(),
        stage: None,
    });
}

fn failed_tasks(app: &AppSummary, out: &mut Vec<Finding>) {
    let failed = app.tasks.failed;
    if failed == 0 {
        return;
    }
    let worst =
        app.stage_stats.iter().filter(|s| s.failed_tasks > 0).max_by_key(|s| (s.failed_tasks, Reverse(s.stage_id)));
    let mut evidence = format!(
        "{failed} of {} task attempt{} failed ({})",
        app.tasks.total,
        plural(app.tasks.total),
        percent(failed as f64 / app.tasks.total.max(1) as f64)
    );
    if let Some(s) = worst {
        if s.failed_tasks == failed {
            evidence.push_str(&format!("; all in stage {}", s.stage_id));
        } else {
            evidence.push_str(&format!("; most in stage {} ({})", s.stage_id, s.failed_tasks));
        }
    }
    if !app.tasks.failed_by_cause.is_empty() {
        let causes: Vec<String> =
            app.tasks.failed_by_cause.iter().map(|(cause, n)| format!("{} {n}", cause.as_str())).collect();
        evidence.push_str(&format!("; by cause: {}", causes.join(", ")));
    }
    let cause = app.failure.as_ref().map(|f| f.root_cause.clone().unwrap_or_else(|| f.message.clone()));
    if let Some(cause) = &cause {
        evidence.push_str(&format!("; the application failed with: {cause}"));
    }
    let storage = app.failure.as_ref().is_some_and(|f| f.cause == sparkplane_eventlog::cause::FailureCause::Storage);
    let fix = match &cause {
        Some(cause) if cause.contains("OutOfMemoryError") => raise_memory(app),
        Some(_) if storage => "the object store failed the tasks' requests (cause storage): check that it is up and \
                               reachable from the executors, and the job's credentials and endpoint \
                               (docs/runbooks/s3-connectivity.md), then rerun; the job's code is not at fault"
            .to_string(),
        Some(_) => "fix the error the tasks raise (above) in the job's code or input data, then rerun; retrying \
                    will not help"
            .to_string(),
        None => "the retries succeeded, but each failure cost a task's time: check the failed attempts' errors \
                 (Spark UI, executor logs); if executors were lost or killed, raise spec.executor.memoryOverhead"
            .to_string(),
    };
    let severity = if app.failure.is_some() { Severity::Critical } else { Severity::Warn };
    out.push(Finding {
        id: "failed-tasks",
        severity,
        title: "Task attempts failed".into(),
        evidence,
        fix,
        stage: worst.map(|s| s.stage_id),
    });
}

fn speculative_tasks(app: &AppSummary, out: &mut Vec<Finding>) {
    let speculative: u64 = app.stage_stats.iter().map(|s| s.speculative_tasks).sum();
    if speculative == 0 {
        return;
    }
    let stages = app.stage_stats.iter().filter(|s| s.speculative_tasks > 0).count() as u64;
    out.push(Finding {
        id: "speculative-tasks",
        severity: Severity::Info,
        title: "Spark launched speculative copies of slow tasks".into(),
        evidence: format!(
            "{speculative} speculative task attempt{} in {stages} stage{}; {} attempt{} killed in all",
            plural(speculative),
            plural(stages),
            app.tasks.killed,
            plural(app.tasks.killed)
        ),
        fix: "speculation hides slow tasks rather than fixing them: look for skew or a slow node (see the skew \
              findings); if copies are wasted work, raise spark.speculation.multiplier (default 1.5) to 3"
            .into(),
        stage: None,
    });
}

fn spill(app: &AppSummary, s: &StageStats, out: &mut Vec<Finding>) {
    if s.disk_spill_bytes == 0 && s.memory_spill_bytes <= MEMORY_SPILL_WARN_BYTES {
        return;
    }
    let evidence = format!(
        "stage {} spilled {} to disk and {} from memory over {} task{}",
        s.stage_id,
        bytes(s.disk_spill_bytes),
        bytes(s.memory_spill_bytes),
        s.tasks,
        plural(s.tasks)
    );
    let partitions = stage_partitions(s).saturating_mul(2).max(1);
    out.push(Finding {
        id: "spill",
        severity: Severity::Warn,
        title: format!("Stage {} spilled to disk", s.stage_id),
        evidence,
        fix: format!(
            "give each task less data: raise spec.sparkConf.\"spark.sql.shuffle.partitions\" (this stage had {} \
             partitions; try {partitions}), or {}",
            stage_partitions(s),
            raise_memory(app)
        ),
        stage: Some(s.stage_id),
    });
}

/// How skewed a stage is: its slowest task over its median task, counted only
/// when the slowest task ran longer than [`SKEW_MIN_SLOW_TASK_MS`] (shorter
/// stragglers cost little whatever the ratio).
pub fn stage_skew(s: &StageStats) -> Option<f64> {
    let t = s.task_time?;
    (t.max_ms > SKEW_MIN_SLOW_TASK_MS).then(|| t.max_ms as f64 / t.median_ms.max(1) as f64)
}

/// The worst [`stage_skew`] over an application's stage attempts; `None` when
/// no stage had a slow enough task to count.
pub fn worst_stage_skew(app: &AppSummary) -> Option<f64> {
    app.stage_stats.iter().filter_map(stage_skew).reduce(f64::max)
}

fn skew(s: &StageStats, out: &mut Vec<Finding>) {
    let Some(t) = s.task_time else { return };
    let median = t.median_ms.max(1) as f64;
    let straggler = t.max_ms as f64 > SKEW_MAX_OVER_MEDIAN * median && t.max_ms > SKEW_MIN_SLOW_TASK_MS;
    let heavy_tail = t.p99_ms as f64 > SKEW_P99_OVER_MEDIAN * median && t.p99_ms > SKEW_MIN_SLOW_TASK_MS;
    if !straggler && !heavy_tail {
        return;
    }
    out.push(Finding {
        id: "skew",
        severity: Severity::Warn,
        title: format!("Stage {} has tasks far slower than the rest", s.stage_id),
        evidence: format!(
            "stage {}: the slowest of {} task{} ran {} ({:.0}× the median {}); p99 {}",
            s.stage_id,
            t.count,
            plural(t.count),
            duration(t.max_ms),
            t.max_ms as f64 / median,
            duration(t.median_ms),
            duration(t.p99_ms)
        ),
        fix: "spread the hot keys: set spec.sparkConf.\"spark.sql.adaptive.enabled\" and \
              \"spark.sql.adaptive.skewJoin.enabled\" to \"true\" (Spark 3+), or salt the skewed key / repartition on \
              a column with more distinct values"
            .into(),
        stage: Some(s.stage_id),
    });
}

fn partitions(app: &AppSummary, s: &StageStats, out: &mut Vec<Finding>) {
    let Some(t) = s.task_time else { return };
    let tasks = stage_partitions(s);
    let cores = app.executors.max_concurrent_cores;
    if cores > 0 && tasks < cores && t.median_ms >= FEW_PARTITIONS_MIN_MEDIAN_MS {
        let target = cores * TARGET_PARTITIONS_PER_CORE;
        out.push(Finding {
            id: "too-few-partitions",
            severity: Severity::Warn,
            title: format!("Stage {} had fewer tasks than cores", s.stage_id),
            evidence: format!(
                "stage {} ran {tasks} task{} (median {}) on {cores} cores, so {} cores sat idle",
                s.stage_id,
                plural(tasks),
                duration(t.median_ms),
                cores - tasks
            ),
            fix: format!(
                "raise the stage's partition count to about {target} ({TARGET_PARTITIONS_PER_CORE} per core): \
                 spec.sparkConf.\"spark.sql.shuffle.partitions\" for shuffles, repartition({target}) or smaller \
                 spark.sql.files.maxPartitionBytes for file reads"
            ),
            stage: Some(s.stage_id),
        });
    }
    if tasks > MANY_PARTITIONS_MIN_TASKS && t.median_ms < MANY_PARTITIONS_MAX_MEDIAN_MS {
        let work_ms = t.median_ms.max(1).saturating_mul(tasks);
        let target = work_ms.div_ceil(TARGET_TASK_MS).max(cores * TARGET_PARTITIONS_PER_CORE).max(1);
        out.push(Finding {
            id: "too-many-partitions",
            severity: Severity::Warn,
            title: format!("Stage {} had many tiny tasks", s.stage_id),
            evidence: format!(
                "stage {} ran {tasks} tasks with a median of {}: scheduling costs about as much as the work",
                s.stage_id,
                duration(t.median_ms)
            ),
            fix: format!(
                "lower the partition count to about {target}: spec.sparkConf.\"spark.sql.shuffle.partitions\", or \
                 set \"spark.sql.adaptive.coalescePartitions.enabled\" to \"true\"; for file reads raise \
                 spark.sql.files.maxPartitionBytes"
            ),
            stage: Some(s.stage_id),
        });
    }
}

fn small_files(s: &StageStats, out: &mut Vec<Finding>) {
    let Some(per_task) = s.output_bytes_per_task() else { return };
    if s.output_tasks <= SMALL_FILES_MIN_TASKS || per_task >= SMALL_FILE_BYTES {
        return;
    }
    let target = s.output_bytes.div_ceil(TARGET_FILE_BYTES).max(1);
    out.push(Finding {
        id: "small-output-files",
        severity: Severity::Warn,
        title: format!("Stage {} wrote many small files", s.stage_id),
        evidence: format!(
            "stage {}: {} tasks wrote {} in all, {} per task",
            s.stage_id,
            s.output_tasks,
            bytes(s.output_bytes),
            bytes(per_task)
        ),
        fix: format!(
            "write fewer, larger files: coalesce({target}) before the write (about {} each), or set \
             \"spark.sql.adaptive.advisoryPartitionSizeInBytes\" to 128m with adaptive execution on",
            bytes(TARGET_FILE_BYTES)
        ),
        stage: Some(s.stage_id),
    });
}

/// The stage's partition count: declared, else the task attempts seen.
fn stage_partitions(s: &StageStats) -> u64 {
    s.num_tasks.map(u64::from).unwrap_or(s.tasks)
}

fn is_local(app: &AppSummary) -> bool {
    app.config.master.as_deref().is_some_and(|m| m.trim().starts_with("local"))
}

/// Advice to give tasks more heap: the driver's in local mode, the executors' otherwise.
fn raise_memory(app: &AppSummary) -> String {
    let (field, current) = if is_local(app) {
        ("spec.driver.memory (local mode runs tasks in the driver)", app.config.driver_memory.as_deref())
    } else {
        ("spec.executor.memory", app.config.executor_memory.as_deref())
    };
    match current.and_then(memory_mib) {
        Some(mib) => {
            let raised = (mib + mib / 2).div_ceil(512) * 512;
            format!("raise {field} from {} to {}", current.unwrap_or_default().trim(), spark_memory(raised))
        }
        None => format!("raise {field} by half"),
    }
}

/// Advice to run fewer tasks per executor so each gets more heap.
fn fewer_cores(app: &AppSummary) -> String {
    match app.config.executor_cores {
        Some(cores) if cores > 1 && !is_local(app) => {
            format!("lower spec.executor.cores from {cores} to {} so each task gets more heap", cores.div_ceil(2))
        }
        _ => "run fewer tasks at once per JVM so each gets more heap".into(),
    }
}

/// `target ≈ n × utilisation ÷ TARGET_UTILISATION`, at least 1 and at most `n`.
fn scale_down(n: u64, utilisation: f64) -> u64 {
    // The nudge keeps float noise (10 × 0.07 ÷ 0.7 = 1.0000000000000002) from adding one.
    ((n as f64 * utilisation / TARGET_UTILISATION - 1e-9).ceil() as u64).clamp(1, n.max(1))
}

/// A Spark memory string (`4g`, `4096m`, `512k`, `2t`, a plain number of MiB) in MiB.
fn memory_mib(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let text = text.strip_suffix('b').unwrap_or(&text);
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let value: u64 = digits.parse().ok()?;
    match &text[digits.len()..] {
        "" | "m" => Some(value),
        "k" => Some(value / 1024),
        "g" => value.checked_mul(1024),
        "t" => value.checked_mul(1024 * 1024),
        _ => None,
    }
}

/// MiB as Spark spells memory: whole GiB as `6g`, else `6656m`.
fn spark_memory(mib: u64) -> String {
    if mib.is_multiple_of(1024) { format!("{}g", mib / 1024) } else { format!("{mib}m") }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn percent(share: f64) -> String {
    let pct = share * 100.0;
    if pct > 0.0 && pct < 1.0 { format!("{pct:.1}%") } else { format!("{pct:.0}%") }
}

/// An application's outcome and counts in one sentence, as `analyze` opens
/// its report: `Succeeded: 3 jobs (0 failed), 5 stages (0 failed, 1 skipped),
/// 13 tasks (0 failed, 0 killed); read 0 B, wrote 0 B, shuffle read 6.0 KiB,
/// shuffle write 6.0 KiB.`
pub fn describe_facts(facts: &AppFacts) -> String {
    let outcome = match facts.outcome {
        Outcome::Succeeded => "Succeeded",
        Outcome::Failed => "Failed",
        Outcome::Incomplete => "Incomplete (no application end in the log: running, killed or cut short)",
    };
    let (jobs, stages, tasks, b) = (&facts.jobs, &facts.stages, &facts.tasks, &facts.bytes);
    format!(
        "{outcome}: {} job{} ({} failed), {} stage{} ({} failed, {} skipped), {} task{} ({} failed, {} killed); \
         read {}, wrote {}, shuffle read {}, shuffle write {}.",
        jobs.total,
        plural(jobs.total),
        jobs.failed,
        stages.total,
        plural(stages.total),
        stages.failed,
        stages.skipped,
        tasks.total,
        plural(tasks.total),
        tasks.failed,
        tasks.killed,
        bytes(b.read),
        bytes(b.written),
        bytes(b.shuffle_read),
        bytes(b.shuffle_written),
    )
}

/// Milliseconds in words: `850 ms`, `4.2 s`, `178 s`, `12.5 min`, `1.2 h`.
/// A duration in words, at a precision that suits its size (`850 ms`, `4.2 s`, `3.5 min`).
pub fn duration(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..10_000 => format!("{s:.1} s"),
        10_000..600_000 => format!("{s:.0} s"),
        600_000..7_200_000 => format!("{:.1} min", s / 60.0),
        _ => format!("{:.1} h", s / 3600.0),
    }
}

/// Core-seconds in words.
fn core_time(core_seconds: f64) -> String {
    if core_seconds < 120.0 {
        format!("{core_seconds:.1} core-s")
    } else if core_seconds < 7_200.0 {
        format!("{:.1} core-min", core_seconds / 60.0)
    } else {
        format!("{:.1} core-h", core_seconds / 3600.0)
    }
}

/// Bytes in binary units: `512 B`, `3.2 MiB`, `1.5 GiB` (also used by `tune`).
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use sparkplane_eventlog::model::{StageAttemptState, TaskTimeDistribution};

    use crate::test_support::healthy_app;

    /// A log cut off mid-run: job 0 ran stage 0, and stage 1 twice (attempt 0
    /// failed on a fetch failure, attempt 1 completed); job 1 reused stage 0's
    /// output (stage 2 skipped) and ran stage 3, where one task failed and its
    /// sibling was killed; job 2 is running stage 4 while stage 5 waits.
    fn retried_skipped_and_cut_off() -> AppSummary {
        use serde_json::json;
        let t0 = crate::test_support::T0;
        let info = |stage: u32, attempt: u32, failed: bool| {
            let mut info = json!({"Stage ID": stage, "Stage Attempt ID": attempt, "Number of Tasks": 2,
                                  "Submission Time": t0, "Completion Time": t0 + 10});
            if failed {
                info["Failure Reason"] = json!("fetch failed");
            }
            info
        };
        let task = |stage: u32, attempt: u32, reason: &str, bytes: i64| {
            json!({"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": attempt,
                   "Task End Reason": {"Reason": reason},
                   "Task Info": {"Executor ID": "1", "Launch Time": t0, "Finish Time": t0 + 5, "Speculative": false},
                   "Task Metrics": {"Executor Run Time": 5, "Input Metrics": {"Bytes Read": bytes},
                                    "Output Metrics": {"Bytes Written": 2 * bytes},
                                    "Shuffle Read Metrics": {"Remote Bytes Read": 3 * bytes, "Local Bytes Read": 0},
                                    "Shuffle Write Metrics": {"Shuffle Bytes Written": 4 * bytes}}})
        };
        let mut events = vec![json!({"Event": "SparkListenerApplicationStart", "App Name": "a", "App ID": "app-1",
                                     "Timestamp": t0, "User": "u"})];
        let ran = |events: &mut Vec<serde_json::Value>, stage, attempt, failed, reasons: &[&str]| {
            events.push(json!({"Event": "SparkListenerStageSubmitted", "Stage Info": info(stage, attempt, false)}));
            for reason in reasons {
                events.push(task(stage, attempt, reason, 100));
            }
            events.push(json!({"Event": "SparkListenerStageCompleted", "Stage Info": info(stage, attempt, failed)}));
        };
        events.push(json!({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": t0, "Stage IDs": [0, 1]}));
        ran(&mut events, 0, 0, false, &["Success", "Success"]);
        ran(&mut events, 1, 0, true, &["FetchFailed"]);
        ran(&mut events, 1, 1, false, &["Success", "Success"]);
        events.push(json!({"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": t0 + 20,
                           "Job Result": {"Result": "JobSucceeded"}}));
        events.push(json!({"Event": "SparkListenerJobStart", "Job ID": 1, "Submission Time": t0, "Stage IDs": [2, 3]}));
        ran(&mut events, 3, 0, true, &["ExceptionFailure", "TaskKilled"]);
        events.push(json!({"Event": "SparkListenerJobEnd", "Job ID": 1, "Completion Time": t0 + 30,
                           "Job Result": {"Result": "JobFailed", "Exception": {"Message": "boom"}}}));
        events.push(json!({"Event": "SparkListenerJobStart", "Job ID": 2, "Submission Time": t0, "Stage IDs": [4, 5]}));
        events.push(json!({"Event": "SparkListenerStageSubmitted", "Stage Info": info(4, 0, false)}));
        let mut builder = sparkplane_eventlog::AppSummaryBuilder::new();
        for (i, event) in events.iter().enumerate() {
            builder.push_line(Path::new("app.log"), i as u64 + 1, &event.to_string());
        }
        builder.finish()
    }

    #[test]
    fn facts_count_stage_attempts_skipped_and_waiting_stages_as_the_history_server_lists_them() {
        let app = retried_skipped_and_cut_off();
        assert!(app.warnings.is_empty(), "{:?}", app.warnings);
        let facts = app.facts();
        assert_eq!(facts.outcome, Outcome::Incomplete);
        assert_eq!((facts.jobs.total, facts.jobs.succeeded, facts.jobs.failed, facts.jobs.running), (3, 1, 1, 1));
        let s = facts.stages;
        // Stage 0, stage 1 twice, stage 2 (skipped), stage 3, stage 4 (running), stage 5 (waiting).
        assert_eq!((s.total, s.completed, s.failed, s.skipped, s.active), (7, 2, 2, 1, 2));
        let t = &facts.tasks;
        assert_eq!((t.total, t.succeeded, t.failed, t.killed), (7, 4, 2, 1));
        assert_eq!(
            (facts.bytes.read, facts.bytes.written, facts.bytes.shuffle_read, facts.bytes.shuffle_written),
            (700, 1400, 2100, 2800)
        );
        assert_eq!(
            describe_facts(&facts),
            "Incomplete (no application end in the log: running, killed or cut short): 3 jobs (1 failed), \
             7 stages (2 failed, 1 skipped), 7 tasks (2 failed, 1 killed); read 700 B, wrote 1.4 KiB, \
             shuffle read 2.1 KiB, shuffle write 2.7 KiB."
        );
    }

    #[test]
    fn facts_of_a_finished_application_say_succeeded_in_the_singular_where_it_is_one() {
        let facts = healthy_app().facts();
        assert_eq!(facts.outcome, Outcome::Succeeded);
        assert_eq!(
            describe_facts(&facts),
            "Succeeded: 1 job (0 failed), 1 stage (0 failed, 0 skipped), 16 tasks (0 failed, 0 killed); \
             read 0 B, wrote 0 B, shuffle read 0 B, shuffle write 0 B."
        );
    }

    fn stage0(app: &mut AppSummary) -> &mut StageStats {
        &mut app.stage_stats[0]
    }

    fn times(app: &mut AppSummary) -> &mut TaskTimeDistribution {
        stage0(app).task_time.as_mut().expect("the healthy app's stage has task times")
    }

    #[test]
    fn the_healthy_app_is_modelled_and_has_no_findings() {
        let app = healthy_app();
        assert_eq!(app.warnings, vec![]);
        assert_eq!(app.stage_stats.len(), 1);
        let s = &app.stage_stats[0];
        assert_eq!(
            (s.stage_id, s.attempt_id, s.state, s.num_tasks, s.tasks),
            (0, 0, StageAttemptState::Completed, Some(16), 16)
        );
        let t = s.task_time.expect("task times");
        assert_eq!((t.count, t.min_ms, t.median_ms, t.p99_ms, t.max_ms), (16, 60_000, 60_000, 60_000, 60_000));
        assert_eq!((s.task_time_ms, s.gc_time_ms), (960_000, 16_000));
        assert_eq!(app.executors.max_concurrent_cores, 8);
        let wall = app.wall_time.expect("wall time");
        assert_eq!((wall.total_ms, wall.tasks_running_ms, wall.driver_only_ms), (130_000, 120_000, 10_000));
        // One job, one stage of one-minute tasks: the chain is one task long; 16 tasks on 8 cores take two.
        let timing = app.timing.as_ref().expect("timing");
        assert_eq!((timing.critical_path_ms, timing.ideal_ms, timing.cores), (70_000, 130_000, 8));
        assert_eq!(timing.predicted_ms(16), 70_000);
        assert_eq!(analyze(&app), vec![]);
    }

    type Mutation = fn(&mut AppSummary);

    /// Each rule: a summary just inside its threshold (no finding) and one just past it.
    const RULES: &[(&str, Mutation, Mutation, Severity)] = &[
        (
            "gc-pressure",
            |a| a.metrics.gc_share = Some(GC_SHARE_WARN),
            |a| a.metrics.gc_share = Some(0.11),
            Severity::Warn,
        ),
        (
            "gc-pressure",
            |a| {
                a.metrics.gc_share = Some(0.5);
                a.metrics.task_time_ms = MIN_TASK_TIME_FOR_GC_MS - 1;
            },
            |a| a.metrics.gc_share = Some(0.26),
            Severity::Critical,
        ),
        (
            "spill",
            |a| stage0(a).memory_spill_bytes = MEMORY_SPILL_WARN_BYTES,
            |a| stage0(a).disk_spill_bytes = 1,
            Severity::Warn,
        ),
        (
            "spill",
            |a| stage0(a).memory_spill_bytes = MEMORY_SPILL_WARN_BYTES,
            |a| stage0(a).memory_spill_bytes = MEMORY_SPILL_WARN_BYTES + 1,
            Severity::Warn,
        ),
        // Healthy: 10 s driver-only, 960 s of tasks on 8 cores = 120 s ideal; 1.5× that is 180 s.
        (
            "scheduling-gap",
            |a| a.wall_time.as_mut().expect("timed").total_ms = 190_000,
            |a| a.wall_time.as_mut().expect("timed").total_ms = 190_001,
            Severity::Warn,
        ),
        ("skew", |a| times(a).max_ms = 300_000, |a| times(a).max_ms = 300_001, Severity::Warn),
        ("skew", |a| times(a).p99_ms = 180_000, |a| times(a).p99_ms = 180_001, Severity::Warn),
        (
            "skew",
            |a| {
                // Far above the median, but too short to matter.
                *times(a) = TaskTimeDistribution { count: 16, min_ms: 1, median_ms: 2, p99_ms: 29_000, max_ms: 30_000 };
            },
            |a| *times(a) = TaskTimeDistribution { count: 16, min_ms: 1, median_ms: 2, p99_ms: 29_000, max_ms: 30_001 },
            Severity::Warn,
        ),
        ("too-few-partitions", |a| stage0(a).num_tasks = Some(8), |a| stage0(a).num_tasks = Some(7), Severity::Warn),
        (
            "too-few-partitions",
            |a| {
                stage0(a).num_tasks = Some(7);
                times(a).median_ms = FEW_PARTITIONS_MIN_MEDIAN_MS - 1;
            },
            |a| {
                stage0(a).num_tasks = Some(7);
                times(a).median_ms = FEW_PARTITIONS_MIN_MEDIAN_MS;
            },
            Severity::Warn,
        ),
        (
            "too-many-partitions",
            |a| {
                stage0(a).num_tasks = Some(2_000);
                *times(a) = TaskTimeDistribution { count: 2_000, min_ms: 40, median_ms: 50, p99_ms: 60, max_ms: 70 };
            },
            |a| {
                stage0(a).num_tasks = Some(2_001);
                *times(a) = TaskTimeDistribution { count: 2_001, min_ms: 40, median_ms: 50, p99_ms: 60, max_ms: 70 };
            },
            Severity::Warn,
        ),
        (
            "idle-executors",
            |a| a.executors.utilisation = Some(IDLE_UTILISATION),
            |a| a.executors.utilisation = Some(0.29),
            Severity::Warn,
        ),
        (
            "driver-bound",
            |a| a.wall_time.as_mut().expect("wall").driver_share = Some(DRIVER_SHARE_WARN),
            |a| a.wall_time.as_mut().expect("wall").driver_share = Some(0.31),
            Severity::Warn,
        ),
        (
            "failed-tasks",
            |a| stage0(a).killed_tasks = 1,
            |a| {
                a.tasks.failed = 1;
                stage0(a).failed_tasks = 1;
            },
            Severity::Warn,
        ),
        ("speculative-tasks", |a| stage0(a).killed_tasks = 1, |a| stage0(a).speculative_tasks = 1, Severity::Info),
        (
            "small-output-files",
            |a| {
                stage0(a).output_tasks = 200;
                stage0(a).output_bytes = 200 << 20;
            },
            |a| {
                stage0(a).output_tasks = 201;
                stage0(a).output_bytes = 201 << 20;
            },
            Severity::Warn,
        ),
        (
            "small-output-files",
            |a| {
                stage0(a).output_tasks = 1_000;
                stage0(a).output_bytes = 1_000 * SMALL_FILE_BYTES;
            },
            |a| {
                stage0(a).output_tasks = 1_000;
                stage0(a).output_bytes = 1_000 * SMALL_FILE_BYTES - 1;
            },
            Severity::Warn,
        ),
    ];

    #[test]
    fn each_rule_fires_just_past_its_threshold_and_not_before() {
        for (index, (id, pass, fail, severity)) in RULES.iter().enumerate() {
            let mut passing = healthy_app();
            pass(&mut passing);
            let found = analyze(&passing);
            assert!(found.iter().all(|f| f.id != *id), "row {index}: {id} fired on the passing fixture: {found:#?}");

            let mut failing = healthy_app();
            fail(&mut failing);
            let found = analyze(&failing);
            let finding = found.iter().find(|f| f.id == *id);
            let finding = finding.unwrap_or_else(|| panic!("row {index}: {id} did not fire: {found:#?}"));
            assert_eq!(finding.severity, *severity, "row {index}: {finding:#?}");
            assert!(!finding.evidence.is_empty() && !finding.fix.is_empty(), "row {index}: {finding:#?}");
        }
    }

    #[test]
    fn evidence_and_fixes_carry_the_numbers() {
        let mut app = healthy_app();
        app.metrics.gc_time_ms = 41_000;
        app.metrics.task_time_ms = 178_000;
        app.metrics.gc_share = Some(41.0 / 178.0);
        let found = analyze(&app);
        let gc = found.iter().find(|f| f.id == "gc-pressure").expect("gc finding");
        assert!(gc.evidence.starts_with("GC took 23% of task time (41 s of 178 s)"), "{}", gc.evidence);
        assert_eq!(
            gc.fix,
            "raise spec.executor.memory from 4g to 6g, or lower spec.executor.cores from 4 to 2 so each task gets \
             more heap"
        );

        let mut app = healthy_app();
        app.executors.utilisation = Some(0.2);
        let idle = analyze(&app).into_iter().find(|f| f.id == "idle-executors").expect("idle finding");
        assert!(idle.fix.starts_with("lower spec.executor.instances from 2 to 1"), "{}", idle.fix);
    }

    #[test]
    fn findings_sort_by_severity_then_id_then_stage() {
        let mut app = healthy_app();
        let mut second = app.stage_stats[0].clone();
        second.stage_id = 1;
        app.stage_stats.push(second);
        for s in &mut app.stage_stats {
            s.disk_spill_bytes = 1;
            s.speculative_tasks = 1;
        }
        app.metrics.gc_share = Some(0.3);
        app.executors.utilisation = Some(0.1);
        let order: Vec<(Severity, &str, Option<u32>)> =
            analyze(&app).iter().map(|f| (f.severity, f.id, f.stage)).collect();
        assert_eq!(
            order,
            vec![
                (Severity::Critical, "gc-pressure", None),
                (Severity::Warn, "idle-executors", None),
                (Severity::Warn, "spill", Some(0)),
                (Severity::Warn, "spill", Some(1)),
                (Severity::Info, "speculative-tasks", None),
            ]
        );
    }

    #[test]
    fn a_storage_failure_points_at_the_store_not_the_code() {
        let failed = |cause: sparkplane_eventlog::cause::FailureCause| {
            let mut app = healthy_app();
            app.tasks.failed = 4;
            stage0(&mut app).failed_tasks = 4;
            app.failure = Some(sparkplane_eventlog::model::Failure {
                job_id: 1,
                message: "Job aborted due to stage failure".into(),
                root_cause: Some("java.net.ConnectException: Connection refused".into()),
                stage_id: Some(0),
                stage_attempt_id: Some(0),
                stage_failure: None,
                cause,
            });
            analyze(&app).into_iter().find(|f| f.id == "failed-tasks").expect("a failed-tasks finding").fix
        };
        let storage = failed(sparkplane_eventlog::cause::FailureCause::Storage);
        assert!(storage.starts_with("the object store failed the tasks' requests (cause storage)"), "{storage}");
        assert!(storage.contains("docs/runbooks/s3-connectivity.md"), "{storage}");
        let other = failed(sparkplane_eventlog::cause::FailureCause::Other);
        assert!(other.starts_with("fix the error the tasks raise"), "{other}");
    }

    #[test]
    fn words() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(4_240), "4.2 s");
        assert_eq!(duration(41_000), "41 s");
        assert_eq!(duration(178_000), "178 s");
        assert_eq!(duration(750_000), "12.5 min");
        assert_eq!(duration(9_000_000), "2.5 h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
        assert_eq!(bytes(1536 << 20), "1.5 GiB");
        assert_eq!(memory_mib("4g"), Some(4096));
        assert_eq!(memory_mib("4096m"), Some(4096));
        assert_eq!(memory_mib("2gb"), Some(2048));
        assert_eq!(memory_mib(" 512 "), Some(512));
        assert_eq!(memory_mib("lots"), None);
        assert_eq!(spark_memory(6144), "6g");
        assert_eq!(spark_memory(1536), "1536m");
        assert_eq!(scale_down(10, 0.07), 1);
        assert_eq!(scale_down(10, 0.29), 5);
    }

    fn fixture_findings(app_id: &str) -> Vec<Finding> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures");
        let log = ["spark-3.5.9", "spark-4.3.0"]
            .iter()
            .find_map(|version| sparkplane_eventlog::find_app_log(&fixtures.join(version), app_id))
            .unwrap_or_else(|| panic!("fixture {app_id} is missing"));
        let app = sparkplane_eventlog::summarize(&log).expect("fixture reads");
        analyze(&app)
    }

    /// The real logs are tiny local[2] PySpark apps: seconds of JVM and Python start-up
    /// around a few short tasks, so they are driver-bound, and the failing ones fail tasks.
    #[test]
    fn real_logs() {
        for (app_id, fails) in [
            ("local-1795265030698", false),
            ("local-1795265641966", false),
            ("local-1795265044180", true),
            ("local-1795265657108", true),
        ] {
            let found = fixture_findings(app_id);
            let ids: Vec<&str> = found.iter().map(|f| f.id).collect();
            assert!(ids.contains(&"driver-bound"), "{app_id}: {found:#?}");
            assert_eq!(ids.contains(&"failed-tasks"), fails, "{app_id}: {found:#?}");
            for absent in ["gc-pressure", "spill", "skew", "too-many-partitions", "small-output-files"] {
                assert!(!ids.contains(&absent), "{app_id}: {found:#?}");
            }
            if fails {
                let failed = found.iter().find(|f| f.id == "failed-tasks").expect("failed-tasks");
                assert_eq!(failed.severity, Severity::Critical);
                assert!(failed.evidence.contains("ValueError"), "{}", failed.evidence);
            } else {
                assert!(found.iter().all(|f| f.severity != Severity::Critical), "{app_id}: {found:#?}");
            }
        }
        // The killed app's log is cut off mid-job: still analysed, without panicking.
        let _ = fixture_findings("local-1795265065682");
    }
}
