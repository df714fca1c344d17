//! The operator bench's Kueue mode (`OPERATOR_BENCH_ADMISSION=kueue`,
//! issue #39): the same SparkJobs against `sparkplane operator --kueue` on
//! a fresh simulated cluster with Kueue's CRDs and the fake's admission
//! stand-in (ADR 0073), after the plain run, and both side by side.
//!
//! Owns: what Kueue needs in the bench's cluster and the side-by-side
//! table. Must not: measure differently from the plain run (operator.rs).

use serde_json::{Value, json};
use sparkplane_fakekube::FakeApiServer;

use super::kubeflow::Summary;

/// Kueue installed with room for every run at once: one ResourceFlavor, a
/// ClusterQueue whose quota holds `jobs` runs of up to 64 CPUs and 256 GiB
/// each, and the LocalQueue `default` of `namespace` (the queue of a job
/// that names none).
pub fn install(fake: &FakeApiServer, namespace: &str, jobs: usize) -> Result<(), String> {
    fake.install_kueue();
    let cpu = (jobs.max(1) * 64).to_string();
    let memory = format!("{}Gi", jobs.max(1) * 256);
    let objects = [
        json!({"kind": "ResourceFlavor", "metadata": {"name": "default-flavor"}, "spec": {}}),
        json!({"kind": "ClusterQueue", "metadata": {"name": "bench"}, "spec": {
            "namespaceSelector": {},
            "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{"name": "default-flavor", "resources": [
                {"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": memory}]}]}],
        }}),
        json!({"kind": "LocalQueue", "metadata": {"name": "default", "namespace": namespace}, "spec": {"clusterQueue": "bench"}}),
    ];
    for mut object in objects {
        object["apiVersion"] = Value::from("kueue.x-k8s.io/v1beta2");
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        fake.insert(object).ok_or_else(|| format!("the {kind} was not stored"))?;
    }
    Ok(())
}

/// The plain run against the Kueue run, the same jobs in the same bench.
pub fn print_side_by_side(plain: &Summary, kueue: &Summary) {
    let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:+.1} %", (a / b - 1.0) * 100.0) } else { "-".to_owned() };
    let opt = |v: Option<f64>, unit: &str| v.map_or("unknown".to_owned(), |v| format!("{v:.1}{unit}"));
    let opt_ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => ratio(a, b),
        _ => "-".to_owned(),
    };
    println!("\n## The built-in queue and Kueue admission (--kueue), same run\n");
    println!("| measure | built-in queue | Kueue mode | Kueue vs built-in |");
    println!("|---|---|---|---|");
    let rows = [
        ("created → driver pod created, apps/min", plain.to_driver_per_minute, kueue.to_driver_per_minute),
        ("created → Succeeded, apps/min", plain.to_end_per_minute, kueue.to_end_per_minute),
        ("API requests per application", plain.requests_per_job, kueue.requests_per_job),
    ];
    for (what, a, b) in rows {
        println!("| {what} | {a:.1} | {b:.1} | {} |", ratio(b, a));
    }
    println!("| succeeded | {} | {} | |", plain.succeeded, kueue.succeeded);
    println!(
        "| operator CPU per application | {} | {} | {} |",
        opt(plain.cpu_ms_per_job, " ms"),
        opt(kueue.cpu_ms_per_job, " ms"),
        opt_ratio(kueue.cpu_ms_per_job, plain.cpu_ms_per_job)
    );
    println!(
        "| operator peak RSS | {} | {} | {} |",
        opt(plain.peak_rss_mib, " MiB"),
        opt(kueue.peak_rss_mib, " MiB"),
        opt_ratio(kueue.peak_rss_mib, plain.peak_rss_mib)
    );
}
