//! The operator bench's Kubeflow mode (issue #38, `OPERATOR_BENCH_KIND=kubeflow`):
//! the same applications as Kubeflow's v1beta2 SparkApplications, served by
//! `sparkplane operator --kubeflow`, measured in the same run as the SparkJobs.
//!
//! Owns: the SparkApplication the bench creates, Kubeflow's CRDs in the fake
//! and the side-by-side table. Must not: measure (the bench's one loop does).

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

/// The SparkApplication a Kubeflow user writes for the bench's SparkJob
/// (`JOB` in operator.rs): the same image, file, Spark version, event log and
/// retries, the sizes the SparkJob gets from its presets (1 core and 1 GiB
/// for the driver and each of 2 executors) written out, and the opt-in and
/// owner labels `sparkplane migrate kubeflow --apply` adds. `sparkplane
/// import kubeflow` converts it with no field left behind.
pub fn template(namespace: &str) -> Value {
    json!({
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "template", "namespace": namespace, "labels": {
            "sparkplane.dev/operator": "sparkplane", "sparkplane.dev/team": "team-a",
            "sparkplane.dev/cost-center": "cc-1"}},
        "spec": {
            "type": "Python", "mode": "cluster", "sparkVersion": "3.5.7",
            "mainApplicationFile": "local:///opt/app/nightly.py",
            "image": "registry.example.com/team-a/nightly:1.0.0",
            "sparkConf": {"spark.eventLog.enabled": "true", "spark.eventLog.dir": "s3a://spark-events/team-a"},
            "restartPolicy": {"type": "OnFailure", "onFailureRetries": 1},
            "driver": {"cores": 1, "memory": "1024m"},
            "executor": {"instances": 2, "cores": 1, "memory": "1024m"},
        },
    })
}

/// Stores Kubeflow's two v1beta2 CRDs as the chart carries them
/// (charts/sparkplane/files/kubeflow: upstream's schemas, descriptions
/// removed): every SparkApplication and status write is admitted, pruned
/// and validated against Kubeflow's schema, as a real API server does.
pub fn install_crds(fake: &FakeApiServer) -> Result<(), String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../charts/sparkplane/files/kubeflow");
    for file in ["sparkoperator.k8s.io_sparkapplications.yaml", "sparkoperator.k8s.io_scheduledsparkapplications.yaml"]
    {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let docs = sparkplane_documents::yaml::parse_documents(&sparkplane_documents::Source::new(file, text))
            .map_err(|e| format!("{file}: {e:?}"))?;
        let crd = docs
            .iter()
            .map(|d| d.to_json())
            .find(|d| d["kind"] == "CustomResourceDefinition")
            .ok_or_else(|| format!("{file}: no CRD"))?;
        fake.insert(crd).ok_or_else(|| format!("{file}: the CRD was not stored"))?;
    }
    Ok(())
}

/// `state` of a SparkApplication's Kubeflow status as the bench counts it:
/// Succeeded or Failed once it ended.
pub fn ended(app: &Value) -> Option<&'static str> {
    match app["status"]["applicationState"]["state"].as_str() {
        Some("COMPLETED") => Some("Succeeded"),
        Some("FAILED") => Some("Failed"),
        _ => None,
    }
}

/// One run's figures, for the side-by-side table.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub to_driver_per_minute: f64,
    pub to_end_per_minute: f64,
    pub cpu_ms_per_job: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub requests_per_job: f64,
    pub succeeded: usize,
}

/// SparkJobs against SparkApplications, the same run: each figure and the
/// SparkApplications' as a share of the SparkJobs' (goal: within 10 %).
pub fn print_side_by_side(jobs: &Summary, apps: &Summary) {
    let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:+.1} %", (a / b - 1.0) * 100.0) } else { "-".to_owned() };
    let opt = |v: Option<f64>, unit: &str| v.map_or("unknown".to_owned(), |v| format!("{v:.1}{unit}"));
    let opt_ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => ratio(a, b),
        _ => "-".to_owned(),
    };
    println!("\n## SparkJobs and SparkApplications (--kubeflow), same run\n");
    println!("| measure | SparkJobs | SparkApplications | SparkApplications vs SparkJobs |");
    println!("|---|---|---|---|");
    println!(
        "| created → driver pod created, apps/min | {:.0} | {:.0} | {} |",
        jobs.to_driver_per_minute,
        apps.to_driver_per_minute,
        ratio(apps.to_driver_per_minute, jobs.to_driver_per_minute)
    );
    println!(
        "| created → ended, apps/min | {:.0} | {:.0} | {} |",
        jobs.to_end_per_minute,
        apps.to_end_per_minute,
        ratio(apps.to_end_per_minute, jobs.to_end_per_minute)
    );
    println!("| succeeded | {} | {} | |", jobs.succeeded, apps.succeeded);
    println!(
        "| operator CPU per application | {} | {} | {} |",
        opt(jobs.cpu_ms_per_job, " ms"),
        opt(apps.cpu_ms_per_job, " ms"),
        opt_ratio(apps.cpu_ms_per_job, jobs.cpu_ms_per_job)
    );
    println!(
        "| operator peak RSS | {} | {} | {} |",
        opt(jobs.peak_rss_mib, " MiB"),
        opt(apps.peak_rss_mib, " MiB"),
        opt_ratio(apps.peak_rss_mib, jobs.peak_rss_mib)
    );
    println!(
        "| API requests per application | {:.2} | {:.2} | {} |",
        jobs.requests_per_job,
        apps.requests_per_job,
        ratio(apps.requests_per_job, jobs.requests_per_job)
    );
}
