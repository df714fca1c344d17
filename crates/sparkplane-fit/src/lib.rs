//! sparkplane-fit: whether a sized job can be scheduled on the cluster's
//! node shapes and within its namespace's quota, and, when it cannot, why
//! (with numbers) and what to change. Split from `sparkplane-core`, where
//! nothing else used it (ADR 0089); `fit`, `ci`, `size`, the quota-fit
//! policy and the operator's namespace queue call it.
//!
//! This crate owns node-pool eligibility (node selectors; taints and
//! tolerations with Kubernetes' matching rules), per-node packing of driver
//! and executor pods, placement of the most executors a job may run under
//! each pool's `maxNodes`, the ResourceQuota check, the check against a Kueue
//! ClusterQueue's quota (`sparkplane_core::queues::never_admitted` says what
//! is short), and the conversion of `kubectl get nodes` output into node
//! pools.
//!
//! It must not derive pod resources: those come from [`sparkplane_core::sizing`] as a
//! [`SizedJob`]. It must not read files or talk to a cluster: callers pass
//! node pools, quotas and `kubectl` output in as typed values or parsed
//! documents.
//!
//! The model: a node of a pool offers *allocatable − reserved* (reserved is
//! what DaemonSets and system pods take on every node); every pod needs its
//! own resources plus the pool's `podOverhead`. Capacities round down and
//! demands round up, so a job never looks like it fits when it does not.
//!
//! Layout: `model` (the figures answered with), `eligibility` (selectors,
//! taints), `pools` (pools into numbers), `packing` (pods per node,
//! placement), `explain` (why not, what to change), `quota`, `kubectl`
//! (nodes into pools), `document` (pools and quotas from parsed documents),
//! `text` (the report as `fit` prints it); this crate's root runs the check.

mod document;
mod eligibility;
mod explain;
mod kubectl;
mod model;
mod packing;
mod pools;
mod quota;
mod text;
mod units;

use k8s_openapi::api::core::v1::ResourceQuota;
use sparkplane_api::NodePool;
use sparkplane_api::job::SparkJobSpec;
use sparkplane_api::queues::ClusterQueueSpec;

use sparkplane_core::sizing::SizedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Severity};

pub use document::{pools_from_document, quota_from_document};
pub use eligibility::tolerates;
use eligibility::*;
use explain::*;
pub use kubectl::pools_from_kubectl_nodes;
pub use model::*;
use packing::*;
use pools::*;
pub use pools::{general_pool, pod_room};
use quota::*;

// ---------------------------------------------------------------------------
// The check.

/// Checks that the job `sized` from `spec` fits `pools` and, when given, `quota`.
///
/// `spec` supplies the scheduling constraints (job and role node selectors
/// and tolerations) and the spellings to suggest fixes in; `sized` the pod
/// resources. Pools whose quantities cannot be read are reported and left out.
pub fn check_fit(
    spec: &SparkJobSpec,
    sized: &SizedJob,
    pools: &[NodePool],
    quota: Option<&ResourceQuota>,
) -> FitReport {
    let mut problems = Vec::new();
    let shapes: Vec<Shape> =
        pools.iter().enumerate().filter_map(|(i, pool)| read_shape(i, pool, &mut problems)).collect();
    if pools.is_empty() {
        problems.push(
            Diagnostic::error("no-node-pools", "", "no node pools were given, so nothing can be placed")
                .with_help("pass a NodePools file or the output of `kubectl get nodes -o yaml`"),
        );
    }
    let driver_constraints = constraints(spec, Role::Driver);
    let executor_constraints = constraints(spec, Role::Executor);
    let driver = role_fit(Role::Driver, &sized.driver, &driver_constraints, &shapes);
    let executor = role_fit(Role::Executor, &sized.executor, &executor_constraints, &shapes);
    problems.extend(explain_role(Role::Driver, spec, &sized.driver, &driver, &driver_constraints, &shapes));
    problems.extend(explain_role(Role::Executor, spec, &sized.executor, &executor, &executor_constraints, &shapes));
    let (placement, placement_problem) = place(sized, &driver, &executor, &shapes);
    problems.extend(placement_problem);
    let quota = quota
        .map(|q| {
            let overheads = (quota_overhead(&driver, &shapes), quota_overhead(&executor, &shapes));
            check_quota(q, sized, (&overheads.0, &overheads.1), &mut problems)
        })
        .unwrap_or_default();
    let fits = !problems.iter().any(|p| p.severity == Severity::Error);
    FitReport { fits, driver, executor, placement, quota, cluster_queue: None, problems }
}

/// Adds to `report` whether the Kueue ClusterQueue `cq` could ever admit
/// the job `sized` (`queues::never_admitted`): when no flavor's quota, with
/// all it may borrow, holds the driver and the most executors at once, the
/// job does not fit — which resource of which flavor is short, by how much.
pub fn check_cluster_queue(report: &mut FitReport, sized: &SizedJob, cq: &ClusterQueueSpec) {
    let never = sparkplane_core::queues::never_admitted(sized, cq);
    if let Some(never) = &never {
        report.problems.push(Diagnostic::error("never-admitted", "spec.executor", never.reason.clone()).with_help(
            "run fewer or smaller executors (spec.executor, spec.dynamicAllocation.maxExecutors), or give the \
             ClusterQueue more nominal quota or borrowing limit in the Queues file",
        ));
        report.fits = false;
    }
    report.cluster_queue = Some(QueueFit {
        name: cq.name.clone(),
        admissible: never.is_none(),
        short: never.map(|n| n.short).unwrap_or_default(),
    });
}

/// Checks only the quota: the job at its largest (driver and most executors)
/// against `quota`, without node pools (so without pool pod overhead). The
/// same check [`check_fit`] makes; the quota-fit policy uses it.
pub fn check_quota_fit(sized: &SizedJob, quota: &ResourceQuota) -> (Vec<QuotaRow>, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let none = PodDemand::default();
    let rows = check_quota(quota, sized, (&none, &none), &mut problems);
    (rows, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{Taint, Toleration};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use sparkplane_api::job::{RoleSpec, SparkJobSpec};
    use sparkplane_api::{MemorySize, NodePool};

    use k8s_openapi::api::core::v1::{ResourceQuotaSpec, ResourceQuotaStatus};
    use serde_json::json;
    use sparkplane_api::job::{AppType, DriverSpec, DynamicAllocation, ExecutorSpec, Gpu};
    use sparkplane_api::{NodePools, Preset};

    use sparkplane_core::sizing::size_job;
    use sparkplane_documents::source::Source;

    fn mem(text: &str) -> MemorySize {
        text.parse().unwrap()
    }

    fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
        pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
    }

    fn pool(name: &str, allocatable: &[(&str, &str)], reserved: &[(&str, &str)]) -> NodePool {
        NodePool {
            name: name.to_string(),
            allocatable: quantities(allocatable),
            reserved: quantities(reserved),
            ..Default::default()
        }
    }

    #[test]
    fn a_general_job_lands_on_the_roomiest_untainted_pool_or_the_roomiest_of_all() {
        let small = pool("small", &[("cpu", "4"), ("memory", "16Gi")], &[]);
        let big = pool("big", &[("cpu", "8"), ("memory", "64Gi")], &[]);
        let mut gpu = pool("gpu", &[("cpu", "16"), ("memory", "128Gi")], &[]);
        gpu.taints = vec![taint("gpu", None, "NoSchedule")];
        let chosen = |pools: &[NodePool]| general_pool(pools).expect("valid").map(|(name, _)| name);
        assert_eq!(chosen(&[small.clone(), gpu.clone(), big]), Some("big".to_owned()));
        assert_eq!(chosen(&[gpu.clone()]), Some("gpu".to_owned()));
        assert_eq!(chosen(&[]), None);
        let bad = pool("bad", &[("cpu", "lots")], &[]);
        assert!(general_pool(&[bad]).is_err());
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint { key: key.into(), value: value.map(Into::into), effect: effect.into(), time_added: None }
    }

    fn toleration(key: Option<&str>, operator: Option<&str>, value: Option<&str>, effect: Option<&str>) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: operator.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        }
    }

    fn executor_job(app_type: AppType, cores: u32, memory: &str, instances: u32) -> SparkJobSpec {
        SparkJobSpec {
            app_type: Some(app_type),
            executor: Some(ExecutorSpec {
                role: RoleSpec { cores: Some(cores), memory: Some(mem(memory)), ..Default::default() },
                instances: Some(instances),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn fit(spec: &SparkJobSpec, pools: &[NodePool], quota: Option<&ResourceQuota>) -> FitReport {
        check_fit(spec, &size_job(spec), pools, quota)
    }

    fn codes(report: &FitReport) -> Vec<&'static str> {
        report.problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn tolerations_match_taints_by_kubernetes_rules() {
        let gpu = taint("nvidia.com/gpu", Some("present"), "NoSchedule");
        let bare = taint("dedicated", None, "NoExecute");
        for (toleration, taint, expected) in [
            (toleration(Some("nvidia.com/gpu"), Some("Exists"), None, Some("NoSchedule")), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), Some("Exists"), None, None), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), Some("Exists"), None, Some("NoExecute")), &gpu, false),
            (toleration(Some("nvidia.com/gpu"), Some("Equal"), Some("present"), None), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), None, Some("present"), Some("NoSchedule")), &gpu, true),
            (toleration(Some("nvidia.com/gpu"), Some("Equal"), Some("absent"), None), &gpu, false),
            (toleration(Some("nvidia.com/gpu"), Some("Equal"), None, None), &gpu, false),
            (toleration(Some("other"), Some("Exists"), None, None), &gpu, false),
            (toleration(None, Some("Exists"), None, None), &gpu, true),
            (toleration(Some(""), Some("Exists"), None, Some("NoSchedule")), &gpu, true),
            (toleration(None, Some("Exists"), None, Some("NoExecute")), &gpu, false),
            (toleration(Some("nvidia.com/gpu"), Some("Gt"), Some("present"), None), &gpu, false),
            (toleration(Some("dedicated"), Some("Equal"), None, None), &bare, true),
            (toleration(Some("dedicated"), None, Some(""), Some("NoExecute")), &bare, true),
            (toleration(Some("dedicated"), Some("Equal"), Some("x"), None), &bare, false),
        ] {
            assert_eq!(tolerates(&toleration, taint), expected, "{toleration:?} vs {taint:?}");
        }
    }

    #[test]
    fn memory_shortfall_names_the_numbers_and_a_fix_that_works() {
        let pools = [pool("general", &[("cpu", "8"), ("memory", "8Gi")], &[("memory", "512Mi")])];
        // Scala: overhead 10%; 8.5g heap + 870m overhead = 9.3 GiB.
        let mut spec = executor_job(AppType::Scala, 2, "8704m", 2);
        let report = fit(&spec, &pools, None);
        assert!(!report.fits);
        assert!(report.driver.fits);
        assert_eq!(codes(&report), ["does-not-fit"]);
        let problem = &report.problems[0];
        assert_eq!(problem.path, "spec.executor.memory");
        assert_eq!(
            problem.message,
            "executor needs 9.3 GiB memory (heap 8.5 GiB + overhead 870 MiB); the largest eligible node has 7.5 GiB \
             free for pods (pool general: 8 GiB allocatable − 512 MiB reserved)"
        );
        assert_eq!(
            problem.help.as_deref(),
            Some("lower spec.executor.memory to at most 6.8g or use a pool with more memory")
        );
        let row = &report.executor.pools[0];
        assert!(row.eligible && !row.fits);
        assert_eq!(row.per_node, 0);
        assert_eq!(row.shortfalls, ["needs 9.3 GiB memory, nodes have 7.5 GiB free for pods"]);

        // Following the help makes it fit.
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.memory = Some(mem("6.8g"));
        }
        let report = fit(&spec, &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(report.executor.pools[0].per_node, 1);
    }

    #[test]
    fn python_overhead_and_pod_overhead_count_toward_memory() {
        let mut general = pool("general", &[("cpu", "16"), ("memory", "16Gi")], &[]);
        general.pod_overhead = quantities(&[("memory", "256Mi"), ("cpu", "250m")]);
        // Python: 10g heap + 4g overhead = 14 GiB, + 256 MiB pod overhead.
        let spec = executor_job(AppType::Python, 4, "10g", 1);
        let report = fit(&spec, std::slice::from_ref(&general), None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(report.executor.pools[0].needs.memory, mem("14592m"));
        assert_eq!(report.executor.pools[0].needs.cpu.millis(), 4250);
        general.allocatable = quantities(&[("cpu", "16"), ("memory", "14Gi")]);
        let report = fit(&spec, &[general], None);
        let problem = &report.problems[0];
        assert!(
            problem.message.contains("(heap 10 GiB + overhead 4 GiB + pod overhead 256 MiB)"),
            "{}",
            problem.message
        );
        assert!(
            problem.message.contains("has 14 GiB free for pods (pool general: 14 GiB allocatable)"),
            "{}",
            problem.message
        );
        // 14336 − 256 = 14080 for heap + overhead at 0.4 → 10057 MiB = 9.8g.
        assert_eq!(
            problem.help.as_deref(),
            Some("lower spec.executor.memory to at most 9.8g or use a pool with more memory")
        );
    }

    #[test]
    fn cpu_shortfall_suggests_cores_or_a_core_request() {
        let pools = [pool("small", &[("cpu", "4"), ("memory", "32Gi")], &[("cpu", "500m")])];
        let spec = executor_job(AppType::Scala, 5, "4g", 2);
        let report = fit(&spec, &pools, None);
        let problem = &report.problems[0];
        assert_eq!(problem.path, "spec.executor.cores");
        assert_eq!(
            problem.message,
            "executor needs 5 CPU (5 cores); the largest eligible node has 3.5 CPU free for pods (pool small: 4 CPU \
             allocatable − 0.5 CPU reserved)"
        );
        assert_eq!(problem.help.as_deref(), Some("lower spec.executor.cores to at most 3 or use a pool with more CPU"));

        let mut spec = spec;
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.core_request = Some("3800m".parse().unwrap());
        }
        let report = fit(&spec, &pools, None);
        let problem = &report.problems[0];
        assert_eq!(problem.path, "spec.executor.coreRequest");
        assert!(problem.message.contains("needs 3.8 CPU (coreRequest 3800m)"), "{}", problem.message);
        assert_eq!(
            problem.help.as_deref(),
            Some("set spec.executor.coreRequest to at most 3500m or use a pool with more CPU")
        );
    }

    #[test]
    fn executors_per_node_is_the_least_over_each_resource() {
        let standard = pool(
            "standard",
            &[("cpu", "8"), ("memory", "32Gi"), ("pods", "58")],
            &[("cpu", "500m"), ("memory", "1Gi"), ("pods", "8")],
        );
        for (cores, core_request, memory, per_node, limited_by) in [
            (4, None, "8g", 1, "cpu"),
            (4, Some("3500m"), "8g", 2, "cpu"),
            (2, None, "4g", 3, "cpu"),
            (1, None, "10g", 2, "memory"),
            (1, Some("10m"), "100m", 50, "pods"),
        ] {
            let mut spec = executor_job(AppType::Python, cores, memory, 2);
            if let Some(executor) = spec.executor.as_mut() {
                executor.role.core_request = core_request.map(|c| c.parse().unwrap());
            }
            let report = fit(&spec, std::slice::from_ref(&standard), None);
            let row = &report.executor.pools[0];
            assert_eq!((row.per_node, row.limited_by.as_deref()), (per_node, Some(limited_by)), "{cores} {memory}");
            assert_eq!(row.usable.cpu.millis(), 7500);
            assert_eq!(row.usable.memory, mem("31g"));
        }
    }

    #[test]
    fn node_selectors_and_taints_decide_eligibility() {
        let mut spot = pool("spot", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        spot.labels.insert("capacity".into(), "spot".into());
        spot.taints.push(taint("spot", Some("true"), "NoSchedule"));
        let mut on_demand = pool("on-demand", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        on_demand.labels.insert("capacity".into(), "on-demand".into());
        on_demand.taints.push(taint("soft", None, "PreferNoSchedule"));
        let pools = [spot, on_demand];

        let mut spec = executor_job(AppType::Python, 2, "4g", 2);
        spec.node_selector.insert("capacity".into(), "spot".into());
        let report = fit(&spec, &pools, None);
        assert_eq!(codes(&report), ["no-eligible-pool", "no-eligible-pool"]);
        let executor_problem = &report.problems[1];
        assert_eq!(executor_problem.path, "spec.nodeSelector");
        assert_eq!(
            executor_problem.message,
            "no node pool accepts the executor (spot: taint spot=true:NoSchedule is not tolerated by the executor; \
             on-demand: node selector wants capacity=spot, nodes have capacity=on-demand)"
        );

        // Tolerating the taint for the executors only; the driver goes on demand.
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.tolerations.push(toleration(Some("spot"), Some("Exists"), None, None));
        }
        spec.node_selector.clear();
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.node_selector.insert("capacity".into(), "spot".into());
        }
        let report = fit(&spec, &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        let eligible =
            |fit: &RoleFit| fit.pools.iter().filter(|p| p.eligible).map(|p| p.pool.clone()).collect::<Vec<_>>();
        assert_eq!(eligible(&report.driver), ["on-demand"]);
        assert_eq!(eligible(&report.executor), ["spot"]);

        // A role selector that matches nothing points at the role's selector.
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.node_selector.insert("zone".into(), "a".into());
        }
        let report = fit(&spec, &pools, None);
        assert_eq!(report.problems[0].path, "spec.executor.nodeSelector");
    }

    #[test]
    fn gpu_jobs_say_when_no_pool_has_gpus_or_none_accepts_them() {
        let general = pool("general", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        let mut gpu_pool = pool("gpu", &[("cpu", "16"), ("memory", "64Gi"), ("nvidia.com/gpu", "1")], &[]);
        gpu_pool.taints.push(taint("nvidia.com/gpu", Some("present"), "NoSchedule"));
        let mut spec = executor_job(AppType::Scala, 4, "8g", 1);
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.gpu = Some(Gpu { name: "nvidia.com/gpu".into(), amount: 1, discovery_script: None });
        }

        let report = fit(&spec, std::slice::from_ref(&general), None);
        assert_eq!(codes(&report), ["does-not-fit"]);
        assert_eq!(report.problems[0].path, "spec.executor.gpu");
        assert_eq!(report.problems[0].message, "executor needs 1 nvidia.com/gpu, but no node pool has nvidia.com/gpu");

        let pools = [general.clone(), gpu_pool.clone()];
        let report = fit(&spec, &pools, None);
        assert_eq!(codes(&report), ["does-not-fit"]);
        assert_eq!(
            report.problems[0].message,
            "executor needs 1 nvidia.com/gpu; the pools that have nvidia.com/gpu do not accept it (gpu: taint \
             nvidia.com/gpu=present:NoSchedule is not tolerated by the executor)"
        );
        assert!(report.problems[0].help.as_deref().unwrap_or_default().contains("spec.executor.tolerations"));

        if let Some(executor) = spec.executor.as_mut() {
            executor.role.tolerations.push(toleration(
                Some("nvidia.com/gpu"),
                Some("Exists"),
                None,
                Some("NoSchedule"),
            ));
        }
        let report = fit(&spec, &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(
            report.executor.pools.iter().filter(|p| p.fits).map(|p| p.pool.as_str()).collect::<Vec<_>>(),
            ["gpu"]
        );
        assert_eq!(report.executor.pools[1].limited_by.as_deref(), Some("nvidia.com/gpu"));

        if let Some(executor) = spec.executor.as_mut() {
            executor.role.gpu = Some(Gpu { name: "nvidia.com/gpu".into(), amount: 2, discovery_script: None });
        }
        let report = fit(&spec, &pools, None);
        assert_eq!(report.problems[0].path, "spec.executor.gpu.amount");
        assert_eq!(
            report.problems[0].message,
            "executor needs 2 nvidia.com/gpu; the largest eligible node has 1 (pool gpu: 1 nvidia.com/gpu allocatable)"
        );
    }

    #[test]
    fn no_single_pool_with_every_resource_is_explained_per_pool() {
        let cpu_rich = pool("cpu-rich", &[("cpu", "16"), ("memory", "8Gi")], &[]);
        let mem_rich = pool("mem-rich", &[("cpu", "2"), ("memory", "64Gi")], &[]);
        let spec = executor_job(AppType::Scala, 4, "16g", 1);
        let report = fit(&spec, &[cpu_rich, mem_rich], None);
        assert_eq!(codes(&report), ["does-not-fit"]);
        assert_eq!(report.problems[0].path, "spec.executor");
        assert_eq!(
            report.problems[0].message,
            "no eligible pool has room for the executor (cpu-rich: needs 17.6 GiB memory, nodes have 8 GiB free for \
             pods; mem-rich: needs 4 CPU, nodes have 2 CPU free for pods)"
        );
    }

    #[test]
    fn placement_respects_max_nodes_and_the_drivers_room() {
        let mut standard = pool("standard", &[("cpu", "8"), ("memory", "32Gi")], &[("cpu", "500m"), ("memory", "1Gi")]);
        standard.max_nodes = Some(3);
        // 2 executors per node (3.5 CPU each); the driver (1 CPU) displaces one executor on its node.
        let mut spec = executor_job(AppType::Python, 4, "8g", 5);
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.core_request = Some("3500m".parse().unwrap());
        }
        let report = fit(&spec, &[standard.clone()], None);
        assert!(report.fits, "{:?}", report.problems);
        assert_eq!(
            report.placement,
            Placement { executors: 5, capacity: Some(5), driver_pool: Some("standard".into()), fits: true }
        );

        spec.dynamic_allocation = Some(DynamicAllocation {
            enabled: Some(true),
            min_executors: Some(1),
            max_executors: Some(8),
            ..Default::default()
        });
        let report = fit(&spec, &[standard.clone()], None);
        assert!(!report.fits);
        assert_eq!(codes(&report), ["exceeds-pool-capacity"]);
        assert_eq!(report.problems[0].path, "spec.dynamicAllocation.maxExecutors");
        assert_eq!(
            report.problems[0].message,
            "the job may run 8 executors, but the eligible pools hold at most 5 beside the driver (standard: 2 per node × 3 nodes)"
        );
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some(
                "lower spec.dynamicAllocation.maxExecutors to at most 5, or raise maxNodes of a pool that fits executors"
            )
        );

        // A pool the driver can use but executors cannot keeps the executors' room whole.
        let mut small = pool("small", &[("cpu", "2"), ("memory", "8Gi")], &[]);
        small.max_nodes = Some(1);
        let report = fit(&spec, &[standard.clone(), small], None);
        assert_eq!(report.placement.capacity, Some(6));
        assert_eq!(report.placement.driver_pool.as_deref(), Some("small"));

        // A pool without maxNodes holds any number.
        standard.max_nodes = None;
        let report = fit(&spec, &[standard], None);
        assert!(report.fits);
        assert_eq!(report.placement.capacity, None);
    }

    fn quota(hard: &[(&str, &str)], used: &[(&str, &str)]) -> ResourceQuota {
        ResourceQuota {
            spec: Some(ResourceQuotaSpec { hard: Some(quantities(hard)), ..Default::default() }),
            status: (!used.is_empty()).then(|| ResourceQuotaStatus { used: Some(quantities(used)), hard: None }),
            ..Default::default()
        }
    }

    #[test]
    fn quota_rows_compare_the_job_at_its_largest_with_what_is_left() {
        let pools = [pool("big", &[("cpu", "64"), ("memory", "256Gi"), ("nvidia.com/gpu", "8")], &[])];
        // Scala driver 1 CPU / 1408 MiB; executors 4 CPU / 8g + 819m = 9011 MiB, one GPU each.
        let mut spec = executor_job(AppType::Scala, 4, "8g", 3);
        if let Some(executor) = spec.executor.as_mut() {
            executor.role.gpu = Some(Gpu { name: "nvidia.com/gpu".into(), amount: 1, discovery_script: None });
        }
        let q = quota(
            &[
                ("requests.cpu", "20"),
                ("limits.memory", "64Gi"),
                ("pods", "10"),
                ("requests.nvidia.com/gpu", "4"),
                ("count/services", "5"),
                ("requests.storage", "1Ti"),
            ],
            &[("requests.cpu", "10"), ("pods", "7"), ("requests.nvidia.com/gpu", "2")],
        );
        let report = fit(&spec, &pools, Some(&q));
        let rows: Vec<(&str, &str, &str, bool)> =
            report.quota.iter().map(|r| (r.resource.as_str(), r.needed.as_str(), r.available.as_str(), r.ok)).collect();
        assert_eq!(
            rows,
            [
                ("limits.memory", "28441Mi", "64Gi", true),
                ("pods", "4", "3", false),
                ("requests.cpu", "13", "10", false),
                ("requests.nvidia.com/gpu", "3", "2", false),
            ]
        );
        assert_eq!(codes(&report), ["exceeds-quota", "exceeds-quota", "exceeds-quota"]);
        let cpu = &report.problems[1];
        assert_eq!(cpu.path, "spec.executor.instances");
        assert_eq!(
            cpu.message,
            "the job needs 13 CPU of requests.cpu at its largest (driver 1 CPU + 3 executors × 4 CPU), but the quota \
             leaves 10 CPU (hard 20 CPU − used 10 CPU)"
        );
        assert_eq!(
            cpu.help.as_deref(),
            Some("lower spec.executor.instances to at most 2, or ask for more requests.cpu quota")
        );
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some("lower spec.executor.instances to at most 2, or ask for more pods quota")
        );
        assert!(!report.fits);
    }

    #[test]
    fn quota_without_room_for_one_executor_or_with_limits_unset() {
        let pools = [pool("big", &[("cpu", "64"), ("memory", "256Gi")], &[])];
        let spec = executor_job(AppType::Scala, 4, "8g", 3);
        let report = fit(&spec, &pools, Some(&quota(&[("cpu", "4")], &[])));
        assert_eq!(
            report.problems[0].help.as_deref(),
            Some("even the driver and 1 executor(s) need 5 CPU; make the pods smaller or ask for more cpu quota")
        );

        let report = fit(&spec, &pools, Some(&quota(&[("limits.cpu", "100")], &[])));
        assert!(report.fits, "a missing limit is a warning");
        assert!(report.quota.is_empty());
        assert_eq!(codes(&report), ["quota-needs-limits"]);

        let report = fit(&spec, &pools, Some(&quota(&[("memory", "lots")], &[])));
        assert_eq!(codes(&report), ["bad-quota"]);
        assert_eq!(report.problems[0].path, "quota.spec.hard.memory");
        assert!(report.problems[0].message.contains("`lots` is not a Kubernetes quantity"));

        // Used above hard leaves nothing rather than wrapping around.
        let report = fit(&spec, &pools, Some(&quota(&[("pods", "2")], &[("pods", "5")])));
        assert_eq!(report.quota[0].available, "0");
    }

    #[test]
    fn unreadable_or_missing_pools_are_errors() {
        let bad = pool("bad", &[("cpu", "eight"), ("memory", "32Gi")], &[("memory", "1GB")]);
        let no_memory = pool("no-memory", &[("cpu", "8")], &[]);
        let good = pool("good", &[("cpu", "8"), ("memory", "32Gi")], &[]);
        let spec = executor_job(AppType::Scala, 2, "2g", 1);
        let report = fit(&spec, &[bad, no_memory, good], None);
        assert!(!report.fits);
        let paths: Vec<&str> = report.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["pools[0].allocatable.cpu", "pools[0].reserved.memory", "pools[1].allocatable"]);
        assert!(report.problems[0].message.starts_with("pool bad: `eight` is not a Kubernetes quantity"));
        assert_eq!(report.problems[2].message, "pool no-memory: allocatable does not say how much memory a node has");
        // The readable pool is still checked.
        assert_eq!(report.executor.pools.len(), 1);
        assert!(report.executor.fits);

        let report = fit(&spec, &[], None);
        assert_eq!(codes(&report), ["no-node-pools"]);
    }

    #[test]
    fn report_serializes_for_json_and_yaml_output() {
        let pools = [pool("general", &[("cpu", "8"), ("memory", "8Gi")], &[("memory", "512Mi")])];
        let spec = executor_job(AppType::Scala, 2, "8704m", 2);
        let value = serde_json::to_value(fit(&spec, &pools, None)).unwrap();
        assert_eq!(value["fits"], json!(false));
        assert_eq!(value["executor"]["pools"][0]["usable"], json!({"cpu": "8", "memory": "7680Mi"}));
        assert_eq!(value["executor"]["pools"][0]["perNode"], json!(0));
        assert_eq!(value["driver"]["pools"][0]["limitedBy"], json!("memory"));
        assert_eq!(value["problems"][0]["code"], json!("does-not-fit"));
        assert_eq!(value["problems"][0]["path"], json!("spec.executor.memory"));
        assert_eq!(value["problems"][0]["severity"], json!("error"));
        assert_eq!(value["placement"]["fits"], json!(false));
        assert_eq!(value["quota"], json!([]));
    }

    fn kubectl_node(
        name: &str,
        instance: Option<&str>,
        zone: &str,
        memory: &str,
        extra: serde_json::Value,
    ) -> serde_json::Value {
        let mut labels = json!({"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone, "team": "data"});
        if let Some(instance) = instance {
            labels["node.kubernetes.io/instance-type"] = json!(instance);
        }
        let mut node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {},
            "status": {"allocatable": {"cpu": "7910m", "memory": memory, "pods": "58", "ephemeral-storage": "95551679124"}}
        });
        if let Some(map) = extra.as_object() {
            for (k, v) in map {
                match k.as_str() {
                    "taints" => node["spec"]["taints"] = v.clone(),
                    "labels" => {
                        for (lk, lv) in v.as_object().into_iter().flatten() {
                            node["metadata"]["labels"][lk] = lv.clone();
                        }
                    }
                    "allocatable" => {
                        for (ak, av) in v.as_object().into_iter().flatten() {
                            node["status"]["allocatable"][ak] = av.clone();
                        }
                    }
                    _ => {}
                }
            }
        }
        node
    }

    #[test]
    fn kubectl_nodes_group_into_pools() {
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                kubectl_node("ip-1", Some("m6i.2xlarge"), "eu-west-1a", "31554752Ki", json!({})),
                kubectl_node("ip-2", Some("m6i.2xlarge"), "eu-west-1b", "31554744Ki", json!({})),
                kubectl_node("ip-3", Some("m6i.2xlarge"), "eu-west-1a", "31554752Ki",
                    json!({"labels": {"karpenter.sh/capacity-type": "spot"}})),
                kubectl_node("ip-4", Some("g5.4xlarge"), "eu-west-1a", "63000000Ki", json!({
                    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule", "timeAdded": null}],
                    "allocatable": {"nvidia.com/gpu": "1"}
                })),
                kubectl_node("worker-7", None, "eu-west-1c", "16Gi", json!({})),
            ]
        });
        let pools = pools_from_kubectl_nodes(&list).unwrap();
        let summary: Vec<(&str, Option<u32>)> = pools.iter().map(|p| (p.name.as_str(), p.max_nodes)).collect();
        assert_eq!(
            summary,
            [("g5.4xlarge", Some(1)), ("m6i.2xlarge", Some(2)), ("m6i.2xlarge-2", Some(1)), ("worker-7", Some(1))]
        );
        let general = &pools[1];
        assert_eq!(general.allocatable["memory"], Quantity("31554744Ki".into()), "the least of the group");
        assert_eq!(general.allocatable["cpu"], Quantity("7910m".into()));
        assert!(!general.labels.contains_key("kubernetes.io/hostname"));
        assert!(!general.labels.contains_key("topology.kubernetes.io/zone"), "zones differ within the pool");
        assert_eq!(general.labels.get("team").map(String::as_str), Some("data"));
        assert_eq!(pools[2].labels.get("karpenter.sh/capacity-type").map(String::as_str), Some("spot"));
        assert_eq!(pools[2].labels.get("topology.kubernetes.io/zone").map(String::as_str), Some("eu-west-1a"));
        assert_eq!(pools[0].taints, [taint("nvidia.com/gpu", Some("present"), "NoSchedule")]);
        assert_eq!(pools[0].allocatable["nvidia.com/gpu"], Quantity("1".into()));

        // The pools feed `check_fit` directly.
        let spec = executor_job(AppType::Python, 2, "4g", 2);
        let report = check_fit(&spec, &size_job(&spec), &pools, None);
        assert!(report.fits, "{:?}", report.problems);
        assert!(!report.executor.pools[0].eligible, "the GPU pool is tainted");
        assert_eq!(report.executor.pools[1].usable.cpu.millis(), 7910);

        let single = kubectl_node("solo", None, "a", "8Gi", json!({}));
        assert_eq!(pools_from_kubectl_nodes(&single).unwrap()[0].name, "solo");
        let node_list = json!({"kind": "NodeList", "items": []});
        assert_eq!(pools_from_kubectl_nodes(&node_list), Ok(Vec::new()));
    }

    #[test]
    fn kubectl_output_that_is_not_nodes_is_refused() {
        let mut no_allocatable = kubectl_node("n1", None, "a", "8Gi", json!({}));
        no_allocatable["status"] = json!({});
        let mut bad_quantity = kubectl_node("n2", None, "a", "8Gi", json!({}));
        bad_quantity["status"]["allocatable"]["cpu"] = json!("lots");
        for (value, expected) in [
            (json!({"kind": "PodList", "items": []}), "found kind PodList"),
            (json!({"items": []}), "has no `kind`"),
            (json!({"kind": "List"}), "the List has no `items` list"),
            (
                json!({"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}}]}),
                "items[0] is a Pod, not a Node",
            ),
            (json!({"kind": "List", "items": [{"kind": "Node", "metadata": {}}]}), "items[0] has no metadata.name"),
            (
                json!({"kind": "List", "items": [{"kind": "Node", "metadata": {"name": 5}}]}),
                "items[0] is not a valid Node",
            ),
            (json!({"kind": "List", "items": [no_allocatable]}), "node n1 has no status.allocatable"),
            (
                json!({"kind": "List", "items": [bad_quantity]}),
                "node n2: status.allocatable.cpu: `lots` is not a Kubernetes quantity",
            ),
        ] {
            let err = pools_from_kubectl_nodes(&value).unwrap_err();
            assert!(err.contains(expected), "{err}");
        }
    }

    // -----------------------------------------------------------------------
    // The shipped presets fit the shipped node shapes.

    const NODE_POOLS: &str = include_str!("../../../presets/nodes/standard.yaml");

    /// The built-in presets (as the binary embeds them), by name.
    fn presets() -> impl Iterator<Item = (&'static str, &'static str)> {
        sparkplane_core::catalog::BUILTIN_PRESETS.iter().map(|(file, text)| {
            let name = file.trim_start_matches("presets/").trim_end_matches(".yaml");
            (name, *text)
        })
    }

    fn load(name: &str, text: &str) -> serde_json::Value {
        match sparkplane_documents::yaml::parse_single(&Source::new(name, text)) {
            Ok(node) => node.to_json(),
            Err(err) => panic!("{name}: {err}"),
        }
    }

    fn standard_pools() -> Vec<NodePool> {
        let pools: NodePools = serde_json::from_value(load("presets/nodes/standard.yaml", NODE_POOLS)).unwrap();
        assert_eq!(pools.kind, "NodePools");
        pools.pools
    }

    #[test]
    fn standard_node_pools_have_the_documented_shapes() {
        let pools = standard_pools();
        let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["general", "general-spot", "gpu"]);
        let spec = SparkJobSpec::default();
        let report = check_fit(&spec, &size_job(&spec), &pools, None);
        let usable: Vec<(u64, u64, Option<u64>)> = report
            .executor
            .pools
            .iter()
            .map(|p| (p.usable.cpu.millis(), p.usable.memory.mib(), p.usable.extended.get("nvidia.com/gpu").copied()))
            .collect();
        assert_eq!(usable, [(7500, 31 * 1024, None), (7500, 31 * 1024, None), (15_000, 62 * 1024, Some(1))]);
    }

    #[test]
    fn every_preset_fits_its_node_shape() {
        let names: Vec<&str> = presets().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            ["etl-small", "etl-medium", "etl-large", "streaming", "ml-gpu", "interactive", "cost-optimized"]
        );
        let pools = standard_pools();
        for (name, text) in presets() {
            let document = load(name, text);
            // The whole document is a valid Preset (unknown fields are refused).
            let preset: Preset = serde_json::from_value(document.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(preset.metadata.name, name);
            let spec: SparkJobSpec =
                serde_json::from_value(document["template"]["spec"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let sized = size_job(&spec);
            // ml-gpu's executors go to the GPU pool, every other preset stays on the 8 vCPU / 32 GiB shape.
            let shapes: Vec<NodePool> = if name == "ml-gpu" {
                pools.clone()
            } else {
                pools.iter().filter(|p| p.name != "gpu").cloned().collect()
            };
            let report = check_fit(&spec, &sized, &shapes, None);
            assert!(report.fits, "{name}: {:#?}", report.problems);
            assert!(report.problems.is_empty(), "{name}: {:#?}", report.problems);
            let executor_pools: Vec<&str> =
                report.executor.pools.iter().filter(|p| p.fits).map(|p| p.pool.as_str()).collect();
            let expected: &[&str] = match name {
                "ml-gpu" => &["gpu"],
                "cost-optimized" => &["general-spot"],
                _ => &["general"],
            };
            assert_eq!(executor_pools, expected, "{name}");
            // The packing each preset's comments promise.
            let per_node = report.executor.pools.iter().find(|p| p.fits).map(|p| p.per_node);
            let promised = match name {
                "etl-medium" | "etl-large" | "interactive" => 2,
                "etl-small" | "streaming" | "cost-optimized" => 3,
                _ => 1,
            };
            assert_eq!(per_node, Some(promised), "{name}: executors per node");
            let driver_pools: Vec<&str> =
                report.driver.pools.iter().filter(|p| p.fits).map(|p| p.pool.as_str()).collect();
            assert_eq!(driver_pools, ["general"], "{name}: the driver stays on on-demand, untainted nodes");
        }
    }

    #[test]
    fn preset_fields_all_exist_in_the_spec() {
        // `driver` and `executor` flatten RoleSpec, so serde would drop an unknown
        // field there silently: check every key survives a round trip.
        fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
            if let Some(map) = value.as_object() {
                for (k, v) in map {
                    let path = format!("{prefix}.{k}");
                    out.push(path.clone());
                    // Spark and Hadoop properties are free-form; only their keys count.
                    if !matches!(k.as_str(), "sparkConf" | "hadoopConf") {
                        keys(v, &path, out);
                    }
                }
            } else if let Some(items) = value.as_array() {
                for (i, v) in items.iter().enumerate() {
                    keys(v, &format!("{prefix}[{i}]"), out);
                }
            }
        }
        for (name, text) in presets() {
            let document = load(name, text);
            let spec: SparkJobSpec = serde_json::from_value(document["template"]["spec"].clone()).unwrap();
            let (mut written, mut kept) = (Vec::new(), Vec::new());
            keys(&document["template"]["spec"], "spec", &mut written);
            keys(&serde_json::to_value(&spec).unwrap(), "spec", &mut kept);
            for key in written {
                assert!(kept.contains(&key), "{name}: {key} is not a SparkJob field");
            }
        }
    }

    #[test]
    fn preset_spark_conf_leaves_typed_fields_alone() {
        const OWNED: &[&str] = &[
            "spark.driver.memory",
            "spark.driver.cores",
            "spark.driver.memoryOverhead",
            "spark.driver.memoryOverheadFactor",
            "spark.executor.memory",
            "spark.executor.cores",
            "spark.executor.instances",
            "spark.executor.memoryOverhead",
            "spark.executor.memoryOverheadFactor",
            "spark.executor.pyspark.memory",
            "spark.kubernetes.driver.request.cores",
            "spark.kubernetes.driver.limit.cores",
            "spark.kubernetes.executor.request.cores",
            "spark.kubernetes.executor.limit.cores",
        ];
        const OWNED_PREFIXES: &[&str] = &[
            "spark.dynamicAllocation.",
            "spark.memory.offHeap.",
            "spark.eventLog.",
            "spark.driver.resource.",
            "spark.executor.resource.",
        ];
        for (name, text) in presets() {
            let document = load(name, text);
            let conf = document["template"]["spec"]["sparkConf"].as_object().cloned().unwrap_or_default();
            assert!(!conf.is_empty(), "{name} has no sparkConf");
            for (key, value) in conf {
                assert!(!OWNED.contains(&key.as_str()), "{name}: {key} belongs in a typed field");
                assert!(!OWNED_PREFIXES.iter().any(|p| key.starts_with(p)), "{name}: {key} belongs in a typed field");
                assert!(value.is_string(), "{name}: {key} must be a quoted string");
            }
            let version = document["template"]["spec"]["sparkVersion"].as_str().unwrap_or_default();
            assert!(version.starts_with("3.5.") || version.starts_with("4."), "{name}: sparkVersion {version}");
            assert!(
                document["template"]["spec"].get("type").is_none(),
                "{name}: presets leave the app type to the job"
            );
        }
    }

    #[test]
    fn environments_are_valid_overlays() {
        let names: Vec<&str> = sparkplane_core::catalog::BUILTIN_ENVIRONMENTS.iter().map(|(file, _)| *file).collect();
        assert_eq!(
            names,
            ["environments/dev.yaml", "environments/local.yaml", "environments/staging.yaml", "environments/prod.yaml"]
        );
        for (file, text) in sparkplane_core::catalog::BUILTIN_ENVIRONMENTS {
            let name = file.trim_start_matches("environments/").trim_end_matches(".yaml");
            let env: sparkplane_api::Environment =
                serde_json::from_value(load(name, text)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((env.kind.as_str(), env.metadata.name.as_str()), ("Environment", name));
            let labels = env.template.metadata.map(|m| m.labels).unwrap_or_default();
            assert_eq!(labels.get("sparkplane.dev/env").map(String::as_str), Some(name));
            // Cluster environments keep their event logs apart; `run` writes local ones itself.
            let dir = env.template.spec.and_then(|s| s.event_log).and_then(|e| e.dir);
            let expected = (name != "local").then(|| format!("s3a://spark-events/{name}"));
            assert_eq!(dir, expected);
        }
    }

    #[test]
    fn drivers_with_gpus_are_checked_too() {
        let pools = [pool("general", &[("cpu", "8"), ("memory", "32Gi")], &[])];
        let spec = SparkJobSpec {
            driver: Some(DriverSpec {
                role: RoleSpec {
                    gpu: Some(Gpu { name: "amd.com/gpu".into(), amount: 1, discovery_script: None }),
                    ..Default::default()
                },
                service_account: None,
            }),
            ..Default::default()
        };
        let report = fit(&spec, &pools, None);
        assert_eq!(report.problems[0].path, "spec.driver.gpu");
        assert_eq!(report.problems[0].message, "driver needs 1 amd.com/gpu, but no node pool has amd.com/gpu");
        assert!(!report.placement.fits);
    }
}
