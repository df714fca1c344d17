//! The operator bench's Kubeflow mode (issue #38, `OPERATOR_BENCH_KIND=kubeflow`):
//! the same applications as Kubeflow's v1beta2 SparkApplications, served by
//! `sparkplane operator --kubeflow`, measured in the same run as the SparkJobs.
//!
//! Owns: the SparkApplication the bench creates, Kubeflow's CRDs in the fake,
//! a run's figures ([`Summary`], also as the JSON a run's process hands the
//! bench) and the side-by-side table. Must not: measure (the bench's one
//! loop does).

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
    /// SparkJobs or SparkApplications.
    pub kind: &'static str,
    /// CPU of the bench's own process (the simulated API server and the
    /// bench's client) over the run, per application.
    pub bench_cpu_ms_per_job: Option<f64>,
    /// The machine's one-minute load average when the run started and ended.
    pub load: (Option<f64>, Option<f64>),
}

const JOBS: &str = "SparkJobs";
const APPLICATIONS: &str = "SparkApplications";

impl Summary {
    /// The figures as JSON, for the bench that started this run's process.
    pub fn to_json(self) -> Value {
        json!({
            "kind": self.kind,
            "toDriverPerMinute": self.to_driver_per_minute,
            "toEndPerMinute": self.to_end_per_minute,
            "cpuMsPerJob": self.cpu_ms_per_job,
            "peakRssMib": self.peak_rss_mib,
            "requestsPerJob": self.requests_per_job,
            "succeeded": self.succeeded,
            "benchCpuMsPerJob": self.bench_cpu_ms_per_job,
            "load": [self.load.0, self.load.1],
        })
    }

    /// Figures read back from [`Summary::to_json`]; None when the kind is
    /// unknown or a figure every run has is missing (a rate that was not a
    /// number, NaN, is written as null and comes back as NaN).
    pub fn from_json(v: &Value) -> Option<Summary> {
        let kind = match v["kind"].as_str()? {
            JOBS => JOBS,
            APPLICATIONS => APPLICATIONS,
            _ => return None,
        };
        let rate = |field: &str| match &v[field] {
            Value::Null => Some(f64::NAN),
            n => n.as_f64(),
        };
        Some(Summary {
            kind,
            to_driver_per_minute: rate("toDriverPerMinute")?,
            to_end_per_minute: rate("toEndPerMinute")?,
            cpu_ms_per_job: v["cpuMsPerJob"].as_f64(),
            peak_rss_mib: v["peakRssMib"].as_f64(),
            requests_per_job: rate("requestsPerJob")?,
            succeeded: usize::try_from(v["succeeded"].as_u64()?).ok()?,
            bench_cpu_ms_per_job: v["benchCpuMsPerJob"].as_f64(),
            load: (v["load"][0].as_f64(), v["load"][1].as_f64()),
        })
    }
}

/// One figure of a run, for the table of means.
type Figure = dyn Fn(&Summary) -> Option<f64>;

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:+.1} %", (a / b - 1.0) * 100.0),
        _ => "-".to_owned(),
    }
}

fn one(v: Option<f64>, unit: &str) -> String {
    v.map_or("unknown".to_owned(), |v| format!("{v:.1}{unit}"))
}

/// Every run in the order it ran (SparkJobs, SparkApplications,
/// SparkApplications, SparkJobs, repeated), then each SparkApplications run
/// against the SparkJobs run beside it (1 with 2, 4 with 3, …) and the two
/// kinds' means: the SparkApplications' figures as a share of the
/// SparkJobs' (goal: within 10 %).
pub fn print_side_by_side(runs: &[Summary]) {
    println!("\n## SparkJobs and SparkApplications (--kubeflow), same bench, in the order run\n");
    println!(
        "| run | kind | created → driver pod, apps/min | created → ended, apps/min | succeeded | operator CPU/app | API server + bench CPU/app | operator peak RSS | API requests/app | load average start → end |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (i, r) in runs.iter().enumerate() {
        println!(
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {:.2} | {} → {} |",
            i + 1,
            r.kind,
            r.to_driver_per_minute,
            r.to_end_per_minute,
            r.succeeded,
            one(r.cpu_ms_per_job, " ms"),
            one(r.bench_cpu_ms_per_job, " ms"),
            one(r.peak_rss_mib, " MiB"),
            r.requests_per_job,
            one(r.load.0, ""),
            one(r.load.1, ""),
        );
    }
    println!("\n| pair (runs) | SparkJobs apps/min | SparkApplications apps/min | SparkApplications vs SparkJobs |");
    println!("|---|---|---|---|");
    for (i, pair) in runs.chunks(2).enumerate() {
        let [a, b] = pair else { continue };
        let (jobs, apps, runs) =
            if a.kind == JOBS { (a, b, (2 * i + 1, 2 * i + 2)) } else { (b, a, (2 * i + 2, 2 * i + 1)) };
        println!(
            "| {} with {} | {:.0} | {:.0} | {} |",
            runs.0,
            runs.1,
            jobs.to_driver_per_minute,
            apps.to_driver_per_minute,
            ratio(Some(apps.to_driver_per_minute), Some(jobs.to_driver_per_minute))
        );
    }
    let of =
        |kind_is_jobs: bool, f: &Figure| mean(runs.iter().filter(|r| (r.kind == JOBS) == kind_is_jobs).filter_map(f));
    println!("\n| measure (mean of the runs) | SparkJobs | SparkApplications | SparkApplications vs SparkJobs |");
    println!("|---|---|---|---|");
    let rows: [(&str, &str, &Figure); 6] = [
        ("created → driver pod created, apps/min", "", &|r| Some(r.to_driver_per_minute)),
        ("created → ended, apps/min", "", &|r| Some(r.to_end_per_minute)),
        ("operator CPU per application", " ms", &|r| r.cpu_ms_per_job),
        ("API server + bench CPU per application", " ms", &|r| r.bench_cpu_ms_per_job),
        ("operator peak RSS", " MiB", &|r| r.peak_rss_mib),
        ("API requests per application", "", &|r| Some(r.requests_per_job)),
    ];
    for (what, unit, f) in rows {
        let (jobs, apps) = (of(true, f), of(false, f));
        println!("| {what} | {} | {} | {} |", one(jobs, unit), one(apps, unit), ratio(apps, jobs));
    }
}
