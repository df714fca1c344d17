//! The one sizing model: what each driver and executor pod of a job asks of
//! Kubernetes, computed the way Spark computes it.
//!
//! `size`, `fit`, every renderer and (later) `tune` and the operator call
//! [`size_job`]; nothing else derives pod resources. Pod memory is
//! heap + overhead + PySpark memory + off-heap, where overhead is the explicit
//! `memoryOverhead` or max(384 MiB, factor × heap), the factor being 0.1 for
//! JVM applications and 0.4 for Python, R and SQL ones (Spark's defaults).

use serde::Serialize;
use sparkplane_api::job::{AppType, Gpu, RoleSpec, SparkJobSpec};
use sparkplane_api::{CpuAmount, MemorySize};

/// Spark's default heap for driver and executor (`1g`).
pub const DEFAULT_HEAP: MemorySize = MemorySize::from_mib(1024);
/// Spark's minimum memory overhead (384 MiB).
pub const MIN_OVERHEAD: MemorySize = MemorySize::from_mib(384);
/// Spark's overhead factor for JVM applications.
pub const JVM_OVERHEAD_FACTOR: f64 = 0.1;
/// Spark's overhead factor on Kubernetes for Python, R and SQL applications.
pub const NON_JVM_OVERHEAD_FACTOR: f64 = 0.4;
/// Spark's default number of executors on Kubernetes (`spark.executor.instances`).
pub const DEFAULT_EXECUTORS: u32 = 2;

/// How the memory overhead was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "camelCase")]
pub enum OverheadRule {
    /// Set explicitly with `memoryOverhead`.
    Explicit,
    /// max(384 MiB, factor × heap).
    Factor {
        /// The factor used.
        factor: f64,
        /// Whether the 384 MiB floor won.
        floor_applied: bool,
    },
}

/// What one pod of a role asks for.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodResources {
    /// Spark task slots (`spark.{driver,executor}.cores`).
    pub spark_cores: u32,
    /// Kubernetes CPU request.
    pub cpu_request: CpuAmount,
    /// Kubernetes CPU limit, when set.
    pub cpu_limit: Option<CpuAmount>,
    /// JVM heap.
    pub heap: MemorySize,
    /// Memory overhead.
    pub overhead: MemorySize,
    /// How the overhead was chosen.
    pub overhead_rule: OverheadRule,
    /// PySpark worker memory (executors only).
    pub pyspark: MemorySize,
    /// Off-heap memory (executors only).
    pub off_heap: MemorySize,
    /// Container memory request and limit: heap + overhead + PySpark + off-heap.
    pub pod_memory: MemorySize,
    /// GPUs or other extended resources.
    pub gpu: Option<Gpu>,
}

/// How many executors a job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorCount {
    /// Whether dynamic allocation is on.
    pub dynamic: bool,
    /// Executors at start.
    pub initial: u32,
    /// Fewest executors.
    pub min: u32,
    /// Most executors (what quotas must allow).
    pub max: u32,
}

/// A job's pod resources, computed once.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SizedJob {
    /// The driver pod.
    pub driver: PodResources,
    /// Each executor pod.
    pub executor: PodResources,
    /// Executor counts.
    pub executors: ExecutorCount,
}

/// Totals over a job's pods at its largest (driver + `max` executors).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobTotals {
    /// Pods.
    pub pods: u32,
    /// CPU requested.
    pub cpu_request: CpuAmount,
    /// CPU limit, when every pod has one.
    pub cpu_limit: Option<CpuAmount>,
    /// Memory requested (and limited).
    pub memory: MemorySize,
    /// Extended resources, by name.
    pub gpus: Vec<(String, u64)>,
}

/// The overhead factor Spark uses for a role when none is set.
pub fn default_overhead_factor(app_type: Option<AppType>) -> f64 {
    match app_type {
        Some(t) if t.is_jvm() => JVM_OVERHEAD_FACTOR,
        // Spark treats Python, R and SQL-through-Python as non-JVM; an unknown type is
        // sized conservatively.
        _ => NON_JVM_OVERHEAD_FACTOR,
    }
}

/// Memory overhead for `heap` under Spark's rule.
pub fn overhead_for(heap: MemorySize, explicit: Option<MemorySize>, factor: f64) -> (MemorySize, OverheadRule) {
    if let Some(explicit) = explicit {
        return (explicit, OverheadRule::Explicit);
    }
    // Spark truncates factor × heap to whole MiB.
    let by_factor = MemorySize::from_mib((factor * heap.mib() as f64) as u64);
    if by_factor >= MIN_OVERHEAD {
        (by_factor, OverheadRule::Factor { factor, floor_applied: false })
    } else {
        (MIN_OVERHEAD, OverheadRule::Factor { factor, floor_applied: true })
    }
}

/// The largest heap whose pod memory (heap plus overhead by Spark's rule, see
/// [`overhead_for`]) stays within `budget`; None when even the overhead alone
/// does not.
pub fn largest_heap_within(
    budget: MemorySize,
    explicit_overhead: Option<MemorySize>,
    factor: f64,
) -> Option<MemorySize> {
    let fits = |heap: u64| {
        let heap = MemorySize::from_mib(heap);
        heap.saturating_add(overhead_for(heap, explicit_overhead, factor).0) <= budget
    };
    if !fits(0) {
        return None;
    }
    // Pod memory grows with the heap, so the largest fitting heap is found by bisection.
    let (mut low, mut high) = (0, budget.mib());
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if fits(mid) { low = mid } else { high = mid - 1 }
    }
    Some(MemorySize::from_mib(low))
}

fn role_pod(
    role: Option<&RoleSpec>,
    app_type: Option<AppType>,
    pyspark: Option<MemorySize>,
    off_heap: Option<MemorySize>,
) -> PodResources {
    let default_role = RoleSpec::default();
    let role = role.unwrap_or(&default_role);
    let spark_cores = role.cores.unwrap_or(1).max(1);
    let heap = role.memory.unwrap_or(DEFAULT_HEAP);
    let factor = role.memory_overhead_factor.unwrap_or_else(|| default_overhead_factor(app_type));
    let (overhead, overhead_rule) = overhead_for(heap, role.memory_overhead, factor);
    let pyspark = pyspark.unwrap_or_default();
    let off_heap = off_heap.unwrap_or_default();
    PodResources {
        spark_cores,
        cpu_request: role.core_request.unwrap_or(CpuAmount::from_cores(u64::from(spark_cores))),
        cpu_limit: role.core_limit,
        heap,
        overhead,
        overhead_rule,
        pyspark,
        off_heap,
        pod_memory: heap.saturating_add(overhead).saturating_add(pyspark).saturating_add(off_heap),
        gpu: role.gpu.clone(),
    }
}

/// Executor counts as Spark reads them: without dynamic allocation,
/// `instances` (default 2); with it, initial = max(initial, min, instances).
pub fn executor_count(spec: &SparkJobSpec) -> ExecutorCount {
    let instances = spec.executor.as_ref().and_then(|e| e.instances);
    let da = spec.dynamic_allocation.as_ref().filter(|da| da.enabled == Some(true));
    match da {
        None => {
            let n = instances.unwrap_or(DEFAULT_EXECUTORS);
            ExecutorCount { dynamic: false, initial: n, min: n, max: n }
        }
        Some(da) => {
            let min = da.min_executors.unwrap_or(0);
            let initial = da.initial_executors.unwrap_or(0).max(min).max(instances.unwrap_or(0));
            let max = da.max_executors.unwrap_or(initial.max(min));
            ExecutorCount { dynamic: true, initial, min, max }
        }
    }
}

/// Sizes a job: the driver pod, each executor pod and the executor counts.
pub fn size_job(spec: &SparkJobSpec) -> SizedJob {
    let executor = spec.executor.as_ref();
    SizedJob {
        driver: role_pod(spec.driver.as_ref().map(|d| &d.role), spec.app_type, None, None),
        executor: role_pod(
            executor.map(|e| &e.role),
            spec.app_type,
            executor.and_then(|e| e.pyspark_memory),
            executor.and_then(|e| e.off_heap_memory),
        ),
        executors: executor_count(spec),
    }
}

impl SizedJob {
    /// Totals with the most executors running.
    pub fn totals(&self) -> JobTotals {
        let n = u64::from(self.executors.max);
        let cpu = self.driver.cpu_request.millis() + n * self.executor.cpu_request.millis();
        let cpu_limit = match (self.driver.cpu_limit, self.executor.cpu_limit) {
            (Some(d), Some(e)) => Some(CpuAmount::from_millis(d.millis() + n * e.millis())),
            _ => None,
        };
        let mut gpus: Vec<(String, u64)> = Vec::new();
        for (gpu, count) in [(&self.driver.gpu, 1), (&self.executor.gpu, n)] {
            if let Some(gpu) = gpu {
                let amount = u64::from(gpu.amount) * count;
                match gpus.iter_mut().find(|(name, _)| *name == gpu.name) {
                    Some((_, total)) => *total += amount,
                    None => gpus.push((gpu.name.clone(), amount)),
                }
            }
        }
        gpus.sort();
        JobTotals {
            pods: 1 + self.executors.max,
            cpu_request: CpuAmount::from_millis(cpu),
            cpu_limit,
            memory: MemorySize::from_mib(self.driver.pod_memory.mib() + n * self.executor.pod_memory.mib()),
            gpus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_api::job::{DriverSpec, DynamicAllocation, ExecutorSpec};

    fn mem(text: &str) -> MemorySize {
        text.parse().unwrap()
    }

    #[test]
    fn overhead_follows_sparks_rule() {
        // 10% of 1 GiB is below the floor.
        assert_eq!(
            overhead_for(mem("1g"), None, 0.1),
            (mem("384m"), OverheadRule::Factor { factor: 0.1, floor_applied: true })
        );
        assert_eq!(overhead_for(mem("8g"), None, 0.1).0, mem("819m"));
        assert_eq!(overhead_for(mem("8g"), None, 0.4).0, mem("3276m"));
        assert_eq!(overhead_for(mem("8g"), Some(mem("1g")), 0.4), (mem("1g"), OverheadRule::Explicit));
    }

    #[test]
    fn python_executor_pod_memory_adds_every_part() {
        let spec = SparkJobSpec {
            app_type: Some(AppType::Python),
            executor: Some(ExecutorSpec {
                role: RoleSpec { cores: Some(4), memory: Some(mem("8g")), ..Default::default() },
                instances: Some(5),
                pyspark_memory: Some(mem("1g")),
                off_heap_memory: Some(mem("2g")),
            }),
            ..Default::default()
        };
        let sized = size_job(&spec);
        assert_eq!(sized.executor.overhead, mem("3276m"));
        assert_eq!(sized.executor.pod_memory, MemorySize::from_mib(8192 + 3276 + 1024 + 2048));
        assert_eq!(sized.executor.cpu_request, CpuAmount::from_cores(4));
        // The driver keeps Spark's defaults: 1g heap and the 0.4 factor (409m beats the 384m floor).
        assert_eq!(sized.driver.overhead, mem("409m"));
        assert_eq!(sized.driver.pod_memory, mem("1433m"));
        let totals = sized.totals();
        assert_eq!(totals.pods, 6);
        assert_eq!(totals.cpu_request, CpuAmount::from_cores(21));
    }

    #[test]
    fn jvm_jobs_use_the_smaller_factor_and_core_requests_override_cores() {
        let spec = SparkJobSpec {
            app_type: Some(AppType::Scala),
            driver: Some(DriverSpec {
                role: RoleSpec {
                    cores: Some(2),
                    core_request: Some("1500m".parse().unwrap()),
                    core_limit: Some("2".parse().unwrap()),
                    memory: Some(mem("10g")),
                    ..Default::default()
                },
                service_account: None,
            }),
            ..Default::default()
        };
        let sized = size_job(&spec);
        assert_eq!(sized.driver.overhead, mem("1024m"));
        assert_eq!(sized.driver.cpu_request.millis(), 1500);
        assert_eq!(sized.driver.cpu_limit.map(CpuAmount::millis), Some(2000));
        assert_eq!(sized.executors, ExecutorCount { dynamic: false, initial: 2, min: 2, max: 2 });
    }

    #[test]
    fn largest_heap_within_is_the_largest_heap_that_fits() {
        for (budget, explicit, factor, expected) in [
            (7680, None, 0.1, Some(6982)),
            (7680, None, 0.4, Some(5486)),
            (1000, None, 0.1, Some(616)),
            (384, None, 0.1, Some(0)),
            (383, None, 0.1, None),
            (4096, Some(1024), 0.4, Some(3072)),
            (512, Some(1024), 0.4, None),
        ] {
            let got = largest_heap_within(MemorySize::from_mib(budget), explicit.map(MemorySize::from_mib), factor);
            assert_eq!(got.map(MemorySize::mib), expected, "budget {budget} factor {factor}");
            if let Some(heap) = got {
                let over =
                    |h: MemorySize| h.saturating_add(overhead_for(h, explicit.map(MemorySize::from_mib), factor).0);
                assert!(over(heap).mib() <= budget);
                assert!(over(MemorySize::from_mib(heap.mib() + 1)).mib() > budget);
            }
        }
    }

    #[test]
    fn dynamic_allocation_counts() {
        let spec = SparkJobSpec {
            executor: Some(ExecutorSpec { instances: Some(3), ..Default::default() }),
            dynamic_allocation: Some(DynamicAllocation {
                enabled: Some(true),
                min_executors: Some(1),
                max_executors: Some(10),
                initial_executors: Some(2),
                shuffle_tracking: Some(true),
            }),
            ..Default::default()
        };
        assert_eq!(executor_count(&spec), ExecutorCount { dynamic: true, initial: 3, min: 1, max: 10 });
    }
}
