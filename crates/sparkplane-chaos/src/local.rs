//! The experiments on a real Spark in `local-cluster` mode: an executor
//! killed mid-stage, the object store stopped mid-write, the metastore stopped.
//!
//! Owns: finding the Spark and Java to run with (through the managed
//! runtime's own functions), starting a PySpark job in `local-cluster[2,1,1024]`
//! mode with event logs on, finding its executor processes, and the series
//! the exporter computes from its event log. Each experiment (breaking its
//! part, observing the result) is in its own module. A job's marker lines
//! (`CHAOS-RESULT`, `CHAOS-FAILED`) are each one `sys.stdout.write` with its
//! newline: Spark runs the driver's Python unbuffered, so `print` writes the
//! text and the newline apart, and a JVM log line on the same output could
//! land between them (`rows=600` then `26/11/26 … INFO …` on one line).
//! Must not: decide what should happen (the catalog's).

mod executor_killed;
mod metastore_stopped;
mod object_store_stopped;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sparkplane_analysis::cost::PriceSheet;
use sparkplane_local::java::check_java;
use sparkplane_local::runtime::{default_home, locate};
use sparkplane_local::s3a::s3a_jars;
use sparkplane_observe::exporter::Exporter;

use crate::alerts::Series;
use crate::catalog::Experiment;
use crate::outcome::Outcome;
use crate::{ChaosError, Settings};

/// The Spark line the local experiments run on.
const SPARK_LINE: &str = "3.5";
/// The master: two workers with one core and 1 GiB each, every executor its own JVM.
const MASTER: &str = "local-cluster[2,1,1024]";

/// Runs one local experiment.
pub fn run(experiment: Experiment, settings: &Settings) -> Result<Outcome, ChaosError> {
    match experiment {
        Experiment::ExecutorKilled => {
            let started = Instant::now();
            let spark = Spark::find(settings)?;
            let work = WorkDir::new(settings, experiment)?;
            let mut outcome = executor_killed::run(&spark, work.path(), settings)?;
            outcome.seconds = started.elapsed().as_secs_f64();
            Ok(outcome)
        }
        Experiment::MetastoreStopped => {
            let started = Instant::now();
            let spark = Spark::find(settings)?;
            let work = WorkDir::new(settings, experiment)?;
            let mut outcome = metastore_stopped::run(&spark, work.path(), settings)?;
            outcome.seconds = started.elapsed().as_secs_f64();
            Ok(outcome)
        }
        Experiment::ObjectStoreStopped => {
            let started = Instant::now();
            // The jars first: the one part only this experiment needs, and the message says how to install it.
            let jars = s3a_jars().map_err(|e| ChaosError::Infrastructure(e.to_string()))?;
            let spark = Spark::find(settings)?;
            let work = WorkDir::new(settings, experiment)?;
            let mut outcome = object_store_stopped::run(&spark, jars, work.path(), settings)?;
            outcome.seconds = started.elapsed().as_secs_f64();
            Ok(outcome)
        }
        _ => Err(ChaosError::Invalid(format!("{} does not run on local Spark", experiment.name()))),
    }
}

/// A secret for a throwaway server (a password, an S3 secret key), new each run: 32 hex digits.
pub(crate) fn fresh_secret() -> Result<String, ChaosError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| ChaosError::Infrastructure(format!("cannot read /dev/urandom: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The Spark and Java a local experiment runs with.
pub(crate) struct Spark {
    spark_submit: PathBuf,
    spark_home: PathBuf,
    python: Option<PathBuf>,
    java_home: Option<PathBuf>,
}

impl Spark {
    /// The caller's SPARK_HOME when given, else the managed runtime of [`SPARK_LINE`]; Java checked against it.
    fn find(settings: &Settings) -> Result<Spark, ChaosError> {
        let home = default_home().map_err(|e| ChaosError::Infrastructure(e.to_string()))?;
        let located = locate(&home, SPARK_LINE, settings.spark_home.as_deref())
            .map_err(|e| ChaosError::Infrastructure(format!("{e} (the local experiments need Spark {SPARK_LINE})")))?;
        let java_home = settings.java_home.clone().or_else(|| std::env::var_os("JAVA_HOME").map(PathBuf::from));
        check_java(SPARK_LINE, java_home.as_deref(), std::env::var_os("PATH").as_deref())
            .map_err(|e| ChaosError::Infrastructure(e.to_string()))?;
        Ok(Spark {
            spark_submit: located.spark_submit,
            spark_home: located.spark_home,
            python: located.python,
            java_home: settings.java_home.clone(),
        })
    }

    /// Starts `script` with spark-submit in [`MASTER`] mode, event logs into
    /// `events`, output into `log`, and the Spark properties in `properties`
    /// (a `--properties-file`, so no secret is on the command line) when given.
    fn submit(
        &self,
        script: &Path,
        args: &[String],
        events: &Path,
        log: &Path,
        properties: Option<&Path>,
    ) -> Result<Job, ChaosError> {
        let infra = |what: &str, e: std::io::Error| ChaosError::Infrastructure(format!("cannot {what}: {e}"));
        std::fs::create_dir_all(events).map_err(|e| infra("make the event-log folder", e))?;
        let out = std::fs::File::create(log).map_err(|e| infra("create the driver log", e))?;
        let err = out.try_clone().map_err(|e| infra("share the driver log", e))?;
        let mut command = Command::new(&self.spark_submit);
        command
            .args(["--master", MASTER, "--conf", "spark.eventLog.enabled=true"])
            .args(["--conf", &format!("spark.eventLog.dir={}", events.display())])
            .args(["--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=512m"])
            .args(["--conf", "spark.task.maxFailures=4"]);
        if let Some(properties) = properties {
            command.arg("--properties-file").arg(properties);
        }
        command.arg(script).args(args).env("SPARK_HOME", &self.spark_home).stdin(Stdio::null()).stdout(out).stderr(err);
        if let Some(python) = &self.python {
            command.env("PYSPARK_PYTHON", python);
        }
        if let Some(java_home) = &self.java_home {
            command.env("JAVA_HOME", java_home);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(|e| infra(&format!("start {}", self.spark_submit.display()), e))?;
        Ok(Job { child: Some(child), log: log.to_owned() })
    }
}

/// A running spark-submit; dropped, its whole process group is killed.
pub(crate) struct Job {
    child: Option<Child>,
    log: PathBuf,
}

/// How a job ended.
pub(crate) struct JobEnd {
    /// spark-submit's exit code (None: killed by a signal or timed out).
    pub code: Option<i32>,
    /// Wall time from start.
    pub elapsed: Duration,
    /// The driver's output.
    pub output: String,
}

impl Job {
    /// The spark-submit process id (the driver JVM: spark-submit execs it).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// Waits for the job to end, at most `limit` after `started`.
    pub fn wait(mut self, started: Instant, limit: Duration) -> JobEnd {
        let mut code = None;
        if let Some(child) = self.child.as_mut() {
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        code = status.code();
                        self.child = None;
                        break;
                    }
                    Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(200)),
                    _ => break,
                }
            }
        }
        let elapsed = started.elapsed();
        drop_group(&mut self.child);
        let output = std::fs::read_to_string(&self.log).unwrap_or_default();
        JobEnd { code, elapsed, output }
    }
}

fn drop_group(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: killpg only signals the process group this job leads.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        drop_group(&mut self.child);
    }
}

/// An executor JVM: its process id and Spark's executor id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExecutorProcess {
    pub pid: u32,
    pub executor_id: String,
}

/// The `CoarseGrainedExecutorBackend` processes descended from `root` (in
/// `local-cluster` mode the workers inside the driver JVM start them as its children).
pub(crate) fn executor_processes(root: u32) -> Vec<ExecutorProcess> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut parents = std::collections::BTreeMap::new();
    let mut commands = std::collections::BTreeMap::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces) end at its last ')'.
        let Some(ppid) = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)) else {
            continue;
        };
        let Ok(ppid) = ppid.parse::<u32>() else { continue };
        parents.insert(pid, ppid);
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            commands.insert(pid, cmdline);
        }
    }
    let descends = |mut pid: u32| {
        for _ in 0..16 {
            match parents.get(&pid) {
                Some(&parent) if parent == root => return true,
                Some(&parent) if parent > 1 => pid = parent,
                _ => return false,
            }
        }
        false
    };
    let mut found = Vec::new();
    for (&pid, cmdline) in &commands {
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if !args.iter().any(|a| a.ends_with(b"CoarseGrainedExecutorBackend")) || !descends(pid) {
            continue;
        }
        let id = args.iter().position(|a| *a == b"--executor-id").and_then(|i| args.get(i + 1));
        if let Some(id) = id {
            found.push(ExecutorProcess { pid, executor_id: String::from_utf8_lossy(id).into_owned() });
        }
    }
    found
}

/// The one event log in `events` (the experiment's own folder).
pub(crate) fn event_log(events: &Path) -> Option<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(events).ok()?.flatten().map(|e| e.path()).collect();
    logs.sort();
    logs.pop()
}

/// The series the exporter computes from the event logs in `events`, as
/// experiment series: counters (`…_total`) were 0 before the application,
/// gauges are held at their value. Only the per-application families.
pub(crate) fn exporter_series(events: &Path) -> Vec<Series> {
    let mut exporter = Exporter::new(events, PriceSheet::opencost_defaults());
    exporter.scan();
    exposition_series(&exporter.encode(), "sparkplane_app_")
}

/// The samples of a Prometheus exposition whose names start with `prefix`, as series.
pub(crate) fn exposition_series(text: &str, prefix: &str) -> Vec<Series> {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| {
            let (selector, value) = line.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let name = selector.split('{').next().unwrap_or(selector);
            if name.ends_with("_created") || name.ends_with("_bucket") {
                return None;
            }
            let before = if name.ends_with("_total") { 0.0 } else { value };
            Some(Series::step(selector, before, value))
        })
        .collect()
}

/// A folder for the experiment's files: in the caller's, or a temporary one removed afterwards.
pub(crate) struct WorkDir {
    path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl WorkDir {
    /// `<work_dir>/<experiment>` when the caller gave a work folder (so experiments never share files).
    fn new(settings: &Settings, experiment: Experiment) -> Result<WorkDir, ChaosError> {
        match &settings.work_dir {
            Some(path) => {
                let path = &path.join(experiment.name());
                std::fs::create_dir_all(path)
                    .map_err(|e| ChaosError::Invalid(format!("cannot make the work folder {}: {e}", path.display())))?;
                let path = std::path::absolute(path)
                    .map_err(|e| ChaosError::Invalid(format!("cannot resolve {}: {e}", path.display())))?;
                Ok(WorkDir { path, _temp: None })
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("sparkplane-chaos-")
                    .tempdir()
                    .map_err(|e| ChaosError::Infrastructure(format!("cannot make a temporary folder: {e}")))?;
                Ok(WorkDir { path: temp.path().to_owned(), _temp: Some(temp) })
            }
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_samples_become_series_counters_from_zero() {
        let text = "# HELP sparkplane_app_failures_total x\n# TYPE sparkplane_app_failures_total counter\n\
                    sparkplane_app_failures_total{cause=\"storage\",namespace=\"data\"} 1\n\
                    sparkplane_app_failures_total_created{cause=\"storage\"} 17\n\
                    sparkplane_app_duration_seconds{sparkjob=\"x\"} 12.5\nsparkplane_exporter_up 1\n";
        assert_eq!(
            exposition_series(text, "sparkplane_app_"),
            vec![
                Series::step("sparkplane_app_failures_total{cause=\"storage\",namespace=\"data\"}", 0.0, 1.0),
                Series::step("sparkplane_app_duration_seconds{sparkjob=\"x\"}", 12.5, 12.5),
            ]
        );
    }

    #[test]
    fn no_executor_descends_from_a_process_without_children() {
        assert_eq!(executor_processes(std::process::id()), vec![]);
    }
}
