//! The local plan: a resolved, sized job as a `spark-submit --master local[N]`
//! invocation on this machine — the same Spark properties a cluster run gets
//! (minus what only Kubernetes reads), the driver's memory, the job's
//! arguments and dependencies, event logs into the local history directory
//! and the Spark UI on a given port.
//!
//! Pure: the caller supplies the machine's cores, the port, the paths and the
//! file-existence answers; running the plan is `sparkplane-local`'s job.

use std::collections::BTreeMap;

use sparkplane_api::job::AppType;

use crate::render::{RenderInput, common};
use crate::resolved::ResolvedJob;
use crate::sizing::SizedJob;
use sparkplane_documents::diagnostic::Diagnostic;

/// How many ports after the chosen one the Spark UI may move to when it is taken.
pub const PORT_RETRIES: u16 = 8;

/// What the plan needs to know about this machine and this run.
#[derive(Clone, Debug)]
pub struct LocalContext {
    /// Cores of this machine.
    pub machine_cores: u32,
    /// Port for the Spark UI and its REST API.
    pub ui_port: u16,
    /// Directory event logs are written to (absolute).
    pub event_log_dir: String,
    /// Directory of the job file, against which relative paths are read (absolute).
    pub job_dir: String,
    /// The run's id, recorded in the application's properties.
    pub run_id: String,
    /// The script that runs a `.sql` file statement by statement, on this machine.
    pub sql_runner: String,
}

/// How to start the job locally.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalPlan {
    /// `local[N]`.
    pub master: String,
    /// Task slots (N).
    pub slots: u32,
    /// Arguments after `spark-submit`.
    pub args: Vec<String>,
    /// The application file, as a local path when it is one (to check it exists).
    pub local_file: Option<String>,
    /// Spark properties passed with `--conf` (sorted).
    pub conf: BTreeMap<String, String>,
}

/// Properties only Kubernetes reads, or that the local run sets itself.
pub fn is_cluster_only(key: &str) -> bool {
    key.starts_with("spark.kubernetes.")
        || key.starts_with("spark.dynamicAllocation.")
        || key.starts_with("spark.decommission.")
        || key.starts_with("spark.storage.decommission.")
        || matches!(
            key,
            "spark.executor.instances"
                | "spark.executor.memoryOverhead"
                | "spark.driver.memoryOverhead"
                | "spark.executor.cores"
                | "spark.executor.memory"
                | "spark.eventLog.dir"
                | "spark.eventLog.enabled"
                | "spark.eventLog.rolling.enabled"
                | "spark.eventLog.rolling.maxFileSize"
                | "spark.eventLog.compress"
                | "spark.eventLog.compression.codec"
        )
}

/// A path for a local run: `local:///x` and `file:///x` become `/x`, a relative
/// path is read against the job's directory; remote URIs stay as they are.
pub fn local_path(uri: &str, job_dir: &str) -> (String, bool) {
    for scheme in ["local://", "file://"] {
        if let Some(path) = uri.strip_prefix(scheme) {
            return (path.to_owned(), true);
        }
    }
    if uri.contains("://") {
        return (uri.to_owned(), false);
    }
    if uri.starts_with('/') {
        (uri.to_owned(), true)
    } else {
        (format!("{}/{uri}", job_dir.trim_end_matches('/')), true)
    }
}

/// Plans a local run; fails when the job cannot run here as written.
pub fn plan_local(job: &ResolvedJob, sized: &SizedJob, ctx: &LocalContext) -> Result<LocalPlan, Diagnostic> {
    let spec = &job.job.spec;
    let input = RenderInput { job, sized };
    let executors = sized.executors.initial.max(1);
    let wanted = sized.executor.spark_cores.saturating_mul(executors).max(1);
    let slots = wanted.min(ctx.machine_cores.max(1));

    let mut conf: BTreeMap<String, String> =
        common::spark_properties(&input).into_iter().filter(|(k, _)| !is_cluster_only(k)).collect();
    conf.insert("spark.ui.enabled".into(), "true".into());
    conf.insert("spark.ui.port".into(), ctx.ui_port.to_string());
    // If another process takes the port first, Spark tries the next ones (progress follows it).
    conf.insert("spark.port.maxRetries".into(), PORT_RETRIES.to_string());
    conf.insert("spark.eventLog.enabled".into(), "true".into());
    conf.insert("spark.eventLog.dir".into(), format!("file://{}", ctx.event_log_dir));
    conf.insert("spark.eventLog.rolling.enabled".into(), "true".into());
    conf.insert("spark.eventLog.compress".into(), "true".into());
    conf.insert("spark.eventLog.compression.codec".into(), "zstd".into());
    conf.insert("spark.sparkplane.run.id".into(), ctx.run_id.clone());
    conf.insert("spark.sparkplane.spec.hash".into(), job.short_hash());
    // Kubernetes properties are dropped here, so the job's attribution travels in sparkplane's own keys.
    conf.insert("spark.sparkplane.namespace".into(), job.namespace().to_owned());
    if let Some(team) = &spec.team {
        conf.insert("spark.sparkplane.team".into(), team.clone());
    }
    if let Some(cc) = &spec.cost_center {
        conf.insert("spark.sparkplane.costCenter".into(), cc.clone());
    }

    let mut args = vec![
        "--master".to_owned(),
        format!("local[{slots}]"),
        "--name".to_owned(),
        job.name().to_owned(),
        // In local mode every task runs in the driver JVM, so the driver is sized as the job's executors together.
        "--driver-memory".to_owned(),
        local_driver_memory(sized, slots).to_spark(),
    ];
    if let Some(class) = &spec.main_class {
        args.push("--class".into());
        args.push(class.clone());
    }
    // Dependencies that are local paths are read against the job's directory.
    let deps = ["spark.jars", "spark.submit.pyFiles", "spark.files", "spark.archives"];
    for key in deps {
        if let Some(value) = conf.get_mut(key) {
            *value = value
                .split(',')
                .map(|item| {
                    let (path, is_local) = local_path(item, &ctx.job_dir);
                    if is_local { path } else { item.to_owned() }
                })
                .collect::<Vec<_>>()
                .join(",");
        }
    }
    for (k, v) in &conf {
        args.push("--conf".into());
        args.push(format!("{k}={v}"));
    }
    let (resource, app_args) = match spec.app_type {
        // A SQL job runs the runner script with the `.sql` file as its first argument.
        Some(AppType::Sql) => {
            let sql = local_path(spec.main_application_file.as_deref().unwrap_or_default(), &ctx.job_dir).0;
            (ctx.sql_runner.clone(), std::iter::once(sql).chain(spec.arguments.iter().cloned()).collect())
        }
        _ => common::application(&input),
    };
    let (file, is_local) = local_path(&resource, &ctx.job_dir);
    let local_file = is_local.then(|| file.clone());
    args.push(file);
    args.extend(app_args);
    Ok(LocalPlan { master: format!("local[{slots}]"), slots, args, local_file, conf })
}

/// The driver heap of a local run: the larger of the driver's heap and the
/// executor heap per core times the slots used (all tasks share the driver JVM).
pub fn local_driver_memory(sized: &SizedJob, slots: u32) -> sparkplane_api::MemorySize {
    let executor = &sized.executor;
    let per_slot = executor.heap.mib() / u64::from(executor.spark_cores.max(1));
    let tasks = sparkplane_api::MemorySize::from_mib(per_slot * u64::from(slots));
    sized.driver.heap.max(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_for_a_local_run() {
        assert_eq!(local_path("local:///opt/app/x.py", "/jobs"), ("/opt/app/x.py".into(), true));
        assert_eq!(local_path("file:///tmp/x.py", "/jobs"), ("/tmp/x.py".into(), true));
        assert_eq!(local_path("etl.py", "/jobs/a/"), ("/jobs/a/etl.py".into(), true));
        assert_eq!(local_path("s3a://b/x.py", "/jobs"), ("s3a://b/x.py".into(), false));
    }

    #[test]
    fn cluster_only_properties_are_dropped() {
        assert!(is_cluster_only("spark.kubernetes.namespace"));
        assert!(is_cluster_only("spark.dynamicAllocation.enabled"));
        assert!(!is_cluster_only("spark.sql.shuffle.partitions"));
        assert!(!is_cluster_only("spark.app.name"));
    }
}
