//! `cost` and `render` agree on pod memory: a SparkJob is rendered natively,
//! its driver's `spark.properties` become an application's properties as its
//! event log would carry them, and the memory `cost` charges for the driver and
//! for each executor must be what the rendered driver Pod asks for and what
//! the sizing model (and so `size`, `fit` and quotas) says an executor pod
//! asks for — and what Spark's feature steps would request, worked out by hand
//! for each case.

use sparkplane_analysis::cost::{PriceSheet, app_cost};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};
use sparkplane_core::load::load;
use sparkplane_core::render::native::driver_properties;
use sparkplane_core::render::{RenderInput, Target, render};
use sparkplane_core::resolve::ResolveRequest;
use sparkplane_core::sizing;
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::java_properties::to_text as properties_text;
use sparkplane_documents::yaml::parse_single;
use sparkplane_eventlog::{AppSummaryBuilder, ExecutorSpan};

const HOUR_MS: u64 = 3_600_000;

struct Case {
    name: &'static str,
    /// `spec.type`, `spec.driver` and `spec.executor` of the job.
    spec: &'static str,
    /// Spark's driver pod memory, MiB: heap + overhead.
    driver_mib: u64,
    /// Spark's executor pod memory, MiB: heap + overhead + off-heap + PySpark (Python only).
    executor_mib: u64,
    /// GPUs per executor.
    executor_gpus: f64,
}

const CASES: &[Case] = &[
    Case {
        name: "off-heap counts for executors only",
        spec: "type: Scala\n  mainClass: com.example.Main\n  mainApplicationFile: local:///opt/app.jar\n  \
               driver: {memory: 2g}\n  executor: {memory: 4g, offHeapMemory: 2g}",
        // 2048 + max(384, 204); 4096 + max(384, 409) + 2048.
        driver_mib: 2048 + 384,
        executor_mib: 4096 + 409 + 2048,
        executor_gpus: 0.0,
    },
    Case {
        name: "PySpark memory counts for a Python application's executors",
        spec: "type: Python\n  mainApplicationFile: local:///opt/app.py\n  \
               executor: {memory: 8g, pysparkMemory: 1g}",
        // Default 1g driver heap + 0.4 × 1024; 8192 + 0.4 × 8192 + 1024.
        driver_mib: 1024 + 409,
        executor_mib: 8192 + 3276 + 1024,
        executor_gpus: 0.0,
    },
    Case {
        name: "PySpark memory does not count for a JVM application",
        spec: "type: Scala\n  mainClass: com.example.Main\n  mainApplicationFile: local:///opt/app.jar\n  \
               executor: {memory: 4g, pysparkMemory: 1g}",
        driver_mib: 1024 + 384,
        executor_mib: 4096 + 409,
        executor_gpus: 0.0,
    },
    Case {
        name: "overhead factors",
        spec: "type: Scala\n  mainClass: com.example.Main\n  mainApplicationFile: local:///opt/app.jar\n  \
               driver: {memory: 4g, memoryOverheadFactor: 0.3}\n  executor: {memory: 8g, memoryOverheadFactor: 0.2}",
        driver_mib: 4096 + 1228,
        executor_mib: 8192 + 1638,
        executor_gpus: 0.0,
    },
    Case {
        name: "explicit overheads",
        spec: "type: Python\n  mainApplicationFile: local:///opt/app.py\n  \
               driver: {memory: 2g, memoryOverhead: 512m}\n  executor: {memory: 8g, memoryOverhead: 1g}",
        driver_mib: 2048 + 512,
        executor_mib: 8192 + 1024,
        executor_gpus: 0.0,
    },
    Case {
        name: "GPUs",
        spec: "type: Scala\n  mainClass: com.example.Main\n  mainApplicationFile: local:///opt/app.jar\n  \
               executor: {memory: 4g, gpu: {name: nvidia.com/gpu, amount: 2}}",
        driver_mib: 1024 + 384,
        executor_mib: 4096 + 409,
        executor_gpus: 2.0,
    },
    Case {
        name: "everything at once",
        spec: "type: Python\n  mainApplicationFile: local:///opt/app.py\n  \
               driver: {memory: 3g}\n  \
               executor: {memory: 6g, memoryOverheadFactor: 0.25, pysparkMemory: 512m, offHeapMemory: 1g, \
               gpu: {name: nvidia.com/gpu, amount: 1}}",
        driver_mib: 3072 + 1228,
        executor_mib: 6144 + 1536 + 512 + 1024,
        executor_gpus: 1.0,
    },
];

fn job_yaml(spec: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {{name: agree, namespace: data}}\nspec:\n  \
         sparkVersion: \"3.5.3\"\n  image: {{repository: registry.example.com/spark, tag: \"3.5.3\"}}\n  {spec}\n"
    )
}

fn span(id: &str) -> ExecutorSpan {
    ExecutorSpan {
        id: id.to_owned(),
        host: None,
        cores: Some(1),
        added_ms: 0,
        removed_ms: None,
        removed_reason: None,
        lifetime_ms: HOUR_MS,
    }
}

#[test]
fn cost_charges_the_memory_render_asks_for() {
    for case in CASES {
        let name = case.name;
        let text = job_yaml(case.spec);
        let node = parse_single(&Source::new("job.yaml", text.as_str())).unwrap_or_else(|e| panic!("{name}: {e}"));
        let catalog = Catalog::empty();
        let resolved = load(ResolveRequest {
            job: &node,
            job_environment: None,
            catalog: &catalog,
            environment: None,
            sets: &[],
            target: ValidationTarget::Any,
        })
        .unwrap_or_else(|d| panic!("{name}: {d}"));
        let sized = size_job(&resolved.job.spec);
        let input = RenderInput { job: &resolved, sized: &sized };
        let objects = render(&input, Target::Native);

        // What render asks for: the driver Pod's memory, and the properties it hands Spark.
        let pod = objects.iter().find(|o| o.kind == "Pod").unwrap_or_else(|| panic!("{name}: no driver Pod"));
        let limit = pod.body.pointer("/spec/containers/0/resources/limits/memory").and_then(|v| v.as_str());
        let limit = limit.unwrap_or_else(|| panic!("{name}: the driver Pod has no memory limit"));
        let quantity: KubeQuantity = limit.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        let rendered_driver_mib = quantity.scaled_magnitude(0, Rounding::Down).expect("fits") / (1024 * 1024);
        let properties = driver_properties(&input);
        let config_map =
            objects.iter().find(|o| o.kind == "ConfigMap" && o.body.pointer("/data/spark.properties").is_some());
        let written = config_map.and_then(|c| c.body.pointer("/data/spark.properties")).and_then(|v| v.as_str());
        assert_eq!(written, Some(properties_text(&properties).as_str()), "{name}: spark.properties");

        // Spark's numbers, the sizing model's and render's agree.
        assert_eq!(rendered_driver_mib, u128::from(case.driver_mib), "{name}: rendered driver Pod");
        assert_eq!(sized.driver.pod_memory.mib(), case.driver_mib, "{name}: sized driver");
        assert_eq!(sized.executor.pod_memory.mib(), case.executor_mib, "{name}: sized executor");
        let from_properties = sizing::size_properties(&properties);
        assert!(from_properties.notes.is_empty(), "{name}: {:?}", from_properties.notes);
        assert_eq!(from_properties.sized.driver.pod_memory, sized.driver.pod_memory, "{name}: driver from properties");
        assert_eq!(
            from_properties.sized.executor.pod_memory, sized.executor.pod_memory,
            "{name}: executor from properties"
        );

        // What cost charges for an application with these properties: an
        // executor for an hour, and (as in local mode) the driver for an hour.
        let mut app = AppSummaryBuilder::new().finish();
        app.config.properties = properties.clone();
        app.executors.timeline = vec![span("1")];
        let executor = app_cost(&app, &PriceSheet::opencost_defaults());
        assert!(executor.notes.is_empty(), "{name}: {:?}", executor.notes);
        assert_eq!(executor.executor_memory.mib(), case.executor_mib, "{name}: cost's executor memory");
        assert!((executor.gib_hours * 1024.0 - case.executor_mib as f64).abs() < 1e-6, "{name}: executor GiB-hours");
        assert!((executor.gpu_hours - case.executor_gpus).abs() < 1e-9, "{name}: GPU-hours");
        app.executors.timeline = vec![span("driver")];
        let driver = app_cost(&app, &PriceSheet::opencost_defaults());
        assert!((driver.gib_hours * 1024.0 - case.driver_mib as f64).abs() < 1e-6, "{name}: cost's driver memory");
    }
}
