//! The one sizing model: what each driver and executor pod of a job asks of
//! Kubernetes, computed the way Spark computes it.
//!
//! Owns: turning a job into pod resources — from a SparkJob spec
//! ([`size_job`]) or from a running application's Spark properties
//! ([`size_properties`], which reads the properties as Spark does and then sizes
//! through the same code). `size`, `fit`, every renderer, `tune`, `cost` and the
//! operator call these; nothing else derives pod resources, and this module
//! must not render, validate or do I/O.
//!
//! The model is Spark's (`BasicDriverFeatureStep` and `BasicExecutorFeatureStep`
//! on Kubernetes): the driver pod is heap + overhead; an executor pod is
//! heap + overhead + off-heap (when `spark.memory.offHeap.enabled`) + PySpark
//! memory (only for Python applications). The overhead is the explicit
//! `memoryOverhead`, or max(384 MiB, factor × heap) truncated to whole MiB,
//! the factor being 0.1 for JVM applications and 0.4 for Python, R and SQL
//! ones (Spark's defaults). Spark never adds off-heap or PySpark memory to the
//! driver pod.

use std::collections::BTreeMap;

use serde::Serialize;
use sparkplane_api::job::{AppType, DriverSpec, DynamicAllocation, ExecutorSpec, Gpu, RoleSpec, SparkJobSpec};
use sparkplane_api::{CpuAmount, MemorySize, SparkSizeUnit};

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
    /// PySpark worker memory (executors of Python applications only: Spark
    /// adds `spark.executor.pyspark.memory` to no other pod).
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

/// Whether Spark treats the application as a Python one, and so adds
/// `spark.executor.pyspark.memory` to its executor pods (Spark does so only
/// when `spark.kubernetes.resource.type` is `python`). sparkplane submits
/// Python and SQL jobs, and jobs without a type, as Python applications.
pub fn is_python_app(app_type: Option<AppType>) -> bool {
    matches!(app_type, None | Some(AppType::Python | AppType::Sql))
}

/// Memory overhead for `heap` under Spark's rule.
pub fn overhead_for(heap: MemorySize, explicit: Option<MemorySize>, factor: f64) -> (MemorySize, OverheadRule) {
    overhead_with_floor(heap, explicit, factor, MIN_OVERHEAD)
}

/// Memory overhead for `heap` under Spark's rule with the floor `floor`
/// (384 MiB unless Spark 4's `spark.{driver,executor}.minMemoryOverhead` says otherwise).
fn overhead_with_floor(
    heap: MemorySize,
    explicit: Option<MemorySize>,
    factor: f64,
    floor: MemorySize,
) -> (MemorySize, OverheadRule) {
    if let Some(explicit) = explicit {
        return (explicit, OverheadRule::Explicit);
    }
    // Spark truncates factor × heap to whole MiB.
    let by_factor = MemorySize::from_mib((factor * heap.mib() as f64) as u64);
    if by_factor >= floor {
        (by_factor, OverheadRule::Factor { factor, floor_applied: false })
    } else {
        (floor, OverheadRule::Factor { factor, floor_applied: true })
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
    min_overhead: MemorySize,
) -> PodResources {
    let default_role = RoleSpec::default();
    let role = role.unwrap_or(&default_role);
    let spark_cores = role.cores.unwrap_or(1).max(1);
    let heap = role.memory.unwrap_or(DEFAULT_HEAP);
    let factor = role.memory_overhead_factor.unwrap_or_else(|| default_overhead_factor(app_type));
    let (overhead, overhead_rule) = overhead_with_floor(heap, role.memory_overhead, factor, min_overhead);
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
    size_with_floors(spec, [MIN_OVERHEAD; 2])
}

/// [`size_job`] with the overhead floor of the driver and of the executors.
fn size_with_floors(spec: &SparkJobSpec, [driver_floor, executor_floor]: [MemorySize; 2]) -> SizedJob {
    let executor = spec.executor.as_ref();
    // Spark adds PySpark memory to Python applications' executors only, and
    // off-heap memory and PySpark memory never to the driver.
    let pyspark = executor.and_then(|e| e.pyspark_memory).filter(|_| is_python_app(spec.app_type));
    SizedJob {
        driver: role_pod(spec.driver.as_ref().map(|d| &d.role), spec.app_type, None, None, driver_floor),
        executor: role_pod(
            executor.map(|e| &e.role),
            spec.app_type,
            pyspark,
            executor.and_then(|e| e.off_heap_memory),
            executor_floor,
        ),
        executors: executor_count(spec),
    }
}

/// A job sized from a Spark application's properties, and why any figure may
/// be off: properties that could not be read and the defaults used instead.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertySizing {
    /// The pods, as Spark sized them.
    pub sized: SizedJob,
    /// The application type the properties say (it chooses the default
    /// overhead factor and whether PySpark memory counts).
    pub app_type: AppType,
    /// One line per property that could not be read.
    pub notes: Vec<String>,
}

/// The application type Spark properties describe: `spark.kubernetes.resource.type`
/// when set (spark-submit sets it for Kubernetes applications), else Python when
/// the properties show PySpark (`spark.submit.pyFiles`, `spark.yarn.isPython`, the
/// Python runner), else a JVM application.
pub fn app_type_of(props: &BTreeMap<String, String>) -> AppType {
    // A value shorter than the class name cannot hold it (and is not searched: each search first builds a searcher).
    const PYTHON_RUNNER: &str = "org.apache.spark.deploy.PythonRunner";
    let resource_type = props.get("spark.kubernetes.resource.type").map(|t| t.trim().to_ascii_lowercase());
    match resource_type.as_deref() {
        Some("python") => return AppType::Python,
        Some("r") => return AppType::R,
        Some("java") => return AppType::Scala,
        _ => {}
    }
    // PySpark always sets spark.submit.pyFiles (empty when there are none).
    let python = props.contains_key("spark.submit.pyFiles")
        || props.get("spark.yarn.isPython").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || props.values().any(|v| v.len() >= PYTHON_RUNNER.len() && v.contains(PYTHON_RUNNER));
    if python { AppType::Python } else { AppType::Scala }
}

/// Reads Spark properties as Spark reads them, noting each one it cannot read.
struct PropertyReader<'a> {
    props: &'a BTreeMap<String, String>,
    notes: Vec<String>,
}

impl PropertyReader<'_> {
    fn size(&mut self, key: &str, bare: SparkSizeUnit) -> Option<MemorySize> {
        let value = self.props.get(key)?;
        match MemorySize::from_spark_property(value, bare) {
            Ok(size) => Some(size),
            Err(why) => {
                self.note(format!("{key} = {value:?} is not a size ({why}); Spark's default used"));
                None
            }
        }
    }

    fn parsed<T: std::str::FromStr>(&mut self, key: &str, what: &str, ok: impl Fn(&T) -> bool) -> Option<T> {
        let value = self.props.get(key)?;
        match value.trim().parse::<T>() {
            Ok(parsed) if ok(&parsed) => Some(parsed),
            _ => {
                self.note(format!("{key} = {value:?} is not {what}; ignored"));
                None
            }
        }
    }

    /// Notes a property once, though both roles may read it.
    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    fn flag(&self, key: &str) -> bool {
        self.props.get(key).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// A role's settings: `spark.{role}.*` and `spark.kubernetes.{role}.*`.
    fn role(&mut self, keys: &RoleKeys) -> RoleSpec {
        // Spark's precedence: the role's own factor, then the application-wide
        // `spark.kubernetes.memoryOverheadFactor` (which a cluster-mode driver
        // sets for its executors), then the default for the application type.
        let mut factor = None;
        for key in [keys.overhead_factor, "spark.kubernetes.memoryOverheadFactor"] {
            factor = self.parsed::<f64>(key, "a factor", |f| f.is_finite() && *f >= 0.0);
            if factor.is_some() {
                break;
            }
        }
        let gpu = self.parsed::<u32>(keys.gpu_amount, "a whole number", |_| true);
        let gpu = gpu.filter(|n| *n > 0).map(|amount| {
            let vendor = self.props.get(keys.gpu_vendor).map(|v| v.trim());
            Gpu {
                name: vendor.filter(|v| !v.is_empty()).map_or_else(|| "gpu".to_owned(), |v| format!("{v}/gpu")),
                amount,
                discovery_script: self.props.get(keys.gpu_script).cloned(),
            }
        });
        RoleSpec {
            cores: self.parsed(keys.cores, "a whole number of cores", |n: &u32| *n > 0),
            core_request: self.parsed(keys.request_cores, "a CPU amount", |_| true),
            core_limit: self.parsed(keys.limit_cores, "a CPU amount", |_| true),
            memory: self.size(keys.memory, SparkSizeUnit::Mib),
            memory_overhead: self.size(keys.memory_overhead, SparkSizeUnit::Mib),
            memory_overhead_factor: factor,
            gpu,
            ..RoleSpec::default()
        }
    }
}

/// The names of one role's properties, written out: a listing of 100,000
/// logs sizes each application, and building each name per lookup was an
/// allocation, twenty-odd times per log.
struct RoleKeys {
    overhead_factor: &'static str,
    gpu_amount: &'static str,
    gpu_vendor: &'static str,
    gpu_script: &'static str,
    cores: &'static str,
    request_cores: &'static str,
    limit_cores: &'static str,
    memory: &'static str,
    memory_overhead: &'static str,
    min_overhead: &'static str,
}

/// Spelled out by a macro so that each name is the role's prefix and the setting, as Spark spells them.
macro_rules! role_keys {
    ($role:literal) => {
        RoleKeys {
            overhead_factor: concat!("spark.", $role, ".memoryOverheadFactor"),
            gpu_amount: concat!("spark.", $role, ".resource.gpu.amount"),
            gpu_vendor: concat!("spark.", $role, ".resource.gpu.vendor"),
            gpu_script: concat!("spark.", $role, ".resource.gpu.discoveryScript"),
            cores: concat!("spark.", $role, ".cores"),
            request_cores: concat!("spark.kubernetes.", $role, ".request.cores"),
            limit_cores: concat!("spark.kubernetes.", $role, ".limit.cores"),
            memory: concat!("spark.", $role, ".memory"),
            memory_overhead: concat!("spark.", $role, ".memoryOverhead"),
            min_overhead: concat!("spark.", $role, ".minMemoryOverhead"),
        }
    };
}

const DRIVER_KEYS: RoleKeys = role_keys!("driver");
const EXECUTOR_KEYS: RoleKeys = role_keys!("executor");

/// Sizes an application from its Spark properties (an event log's, or those a
/// renderer wrote), reading each property as Spark does — bare numbers are MiB
/// for `spark.{driver,executor}.memory`, `*.memoryOverhead` and
/// `spark.executor.pyspark.memory`, bytes for `spark.memory.offHeap.size`,
/// which counts only when `spark.memory.offHeap.enabled` is true — and then
/// through the same model as [`size_job`]. A property that cannot be read is
/// noted and Spark's default used in its place.
pub fn size_properties(props: &BTreeMap<String, String>) -> PropertySizing {
    let app_type = app_type_of(props);
    let mut read = PropertyReader { props, notes: Vec::new() };
    let driver = read.role(&DRIVER_KEYS);
    let executor = read.role(&EXECUTOR_KEYS);
    let pyspark_memory = read.size("spark.executor.pyspark.memory", SparkSizeUnit::Mib);
    let off_heap_memory = if read.flag("spark.memory.offHeap.enabled") {
        read.size("spark.memory.offHeap.size", SparkSizeUnit::Bytes)
    } else {
        None
    };
    let instances = read.parsed("spark.executor.instances", "a whole number", |_: &u32| true);
    let dynamic_allocation = read.flag("spark.dynamicAllocation.enabled").then(|| DynamicAllocation {
        enabled: Some(true),
        min_executors: read.parsed("spark.dynamicAllocation.minExecutors", "a whole number", |_| true),
        max_executors: read.parsed("spark.dynamicAllocation.maxExecutors", "a whole number", |_| true),
        initial_executors: read.parsed("spark.dynamicAllocation.initialExecutors", "a whole number", |_| true),
        shuffle_tracking: None,
    });
    // Spark 4 makes the 384 MiB floor a setting of each role.
    let floors = [&DRIVER_KEYS, &EXECUTOR_KEYS]
        .map(|keys| read.size(keys.min_overhead, SparkSizeUnit::Mib).unwrap_or(MIN_OVERHEAD));
    let spec = SparkJobSpec {
        app_type: Some(app_type),
        driver: Some(DriverSpec { role: driver, service_account: None }),
        executor: Some(ExecutorSpec { role: executor, instances, pyspark_memory, off_heap_memory }),
        dynamic_allocation,
        ..SparkJobSpec::default()
    };
    PropertySizing { sized: size_with_floors(&spec, floors), app_type, notes: read.notes }
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

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn pyspark_memory_counts_for_python_executors_only() {
        let spec = |app_type| SparkJobSpec {
            app_type,
            executor: Some(ExecutorSpec { pyspark_memory: Some(mem("1g")), ..Default::default() }),
            ..Default::default()
        };
        for app_type in [None, Some(AppType::Python), Some(AppType::Sql)] {
            assert_eq!(size_job(&spec(app_type)).executor.pyspark, mem("1g"), "{app_type:?}");
        }
        for app_type in [AppType::Scala, AppType::Java, AppType::R] {
            let sized = size_job(&spec(Some(app_type)));
            assert_eq!(sized.executor.pyspark, MemorySize::default(), "{app_type:?}");
            assert_eq!(sized.executor.pod_memory, sized.executor.heap.saturating_add(sized.executor.overhead));
        }
    }

    #[test]
    fn properties_size_pods_as_spark_does() {
        let sized = size_properties(&props(&[
            ("spark.kubernetes.resource.type", "python"),
            ("spark.driver.memory", "2048"),
            ("spark.driver.memoryOverhead", "512m"),
            ("spark.driver.cores", "2"),
            ("spark.executor.memory", "8g"),
            ("spark.executor.cores", "4"),
            ("spark.kubernetes.executor.request.cores", "3500m"),
            ("spark.executor.pyspark.memory", "1g"),
            ("spark.memory.offHeap.enabled", "true"),
            ("spark.memory.offHeap.size", "1073741824"),
            ("spark.executor.resource.gpu.amount", "1"),
            ("spark.executor.resource.gpu.vendor", "nvidia.com"),
            ("spark.executor.instances", "3"),
        ]));
        assert!(sized.notes.is_empty(), "{:?}", sized.notes);
        assert_eq!(sized.app_type, AppType::Python);
        let (driver, executor) = (&sized.sized.driver, &sized.sized.executor);
        // The driver pod is heap + overhead: no off-heap, no PySpark memory.
        assert_eq!((driver.heap, driver.overhead, driver.pod_memory), (mem("2g"), mem("512m"), mem("2560m")));
        assert_eq!(driver.spark_cores, 2);
        assert_eq!(executor.overhead, mem("3276m"));
        assert_eq!(executor.off_heap, mem("1g"));
        assert_eq!(executor.pod_memory, MemorySize::from_mib(8192 + 3276 + 1024 + 1024));
        assert_eq!(executor.cpu_request.millis(), 3500);
        assert_eq!(executor.gpu.as_ref().map(|g| (g.name.as_str(), g.amount)), Some(("nvidia.com/gpu", 1)));
        assert_eq!(sized.sized.executors.max, 3);
    }

    #[test]
    fn property_factors_follow_sparks_precedence() {
        let overhead = |pairs: &[(&str, &str)]| {
            let sized = size_properties(&props(pairs)).sized;
            (sized.driver.overhead.mib(), sized.executor.overhead.mib())
        };
        let heaps = [("spark.driver.memory", "10g"), ("spark.executor.memory", "10g")];
        // JVM default 0.1, Python default 0.4.
        assert_eq!(overhead(&heaps), (1024, 1024));
        assert_eq!(overhead(&[heaps[0], heaps[1], ("spark.submit.pyFiles", "")]), (4096, 4096));
        // The application-wide factor, then each role's own.
        let k8s = ("spark.kubernetes.memoryOverheadFactor", "0.2");
        assert_eq!(overhead(&[heaps[0], heaps[1], k8s]), (2048, 2048));
        assert_eq!(overhead(&[heaps[0], heaps[1], k8s, ("spark.executor.memoryOverheadFactor", "0.3")]), (2048, 3072));
        // Spark 4's minimum overhead raises the floor.
        let min = [("spark.driver.minMemoryOverhead", "1g"), ("spark.executor.minMemoryOverhead", "500")];
        assert_eq!(overhead(&min), (1024, 500));
    }

    #[test]
    fn unreadable_properties_fall_back_to_sparks_defaults_with_a_note() {
        let sized = size_properties(&props(&[
            ("spark.executor.memory", "big"),
            ("spark.executor.memoryOverheadFactor", "-1"),
            ("spark.executor.resource.gpu.amount", "0.5"),
            ("spark.memory.offHeap.enabled", "true"),
            ("spark.memory.offHeap.size", "2 gigs"),
        ]));
        assert_eq!(sized.sized.executor.pod_memory, MemorySize::from_mib(1024 + 384));
        assert_eq!(sized.sized.executor.gpu, None);
        assert_eq!(sized.notes.len(), 4, "{:?}", sized.notes);
        assert!(sized.notes[0].contains("spark.executor.memoryOverheadFactor"), "{:?}", sized.notes);
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
