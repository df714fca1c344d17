//! object-store-stopped: the S3 server a job writes its output to is killed
//! while the job's write stage runs. The job must fail, in seconds, with a
//! storage cause that the event-log model and `analyze` name; nothing
//! half-written may be left as final output; and the storage and job-failed
//! alerts are judged on the event log's metrics.
//!
//! Owns: the job (a stage of slow tasks writing Parquet to `s3a://`), when
//! the store stops (once the first wave of tasks has committed its files, so
//! the write is truly half done), starting the store again on the same data
//! to see what was left, and the checks. The store is a throwaway SeaweedFS
//! (`sparkplane-seaweedfs`) with fresh keys; the S3A properties are
//! `sparkplane_local::s3a`'s, with its fail-fast retries. Must not: decide
//! the expectation.

use std::path::Path;
use std::time::{Duration, Instant};

use sparkplane_analysis::analyze::analyze;
use sparkplane_eventlog::cause::FailureCause;
use sparkplane_eventlog::summarize;
use sparkplane_local::s3a::{Retries, S3aEndpoint, S3aJars};
use sparkplane_seaweedfs::S3Server;
use sparkplane_storage::{Location, Store};

use super::{Spark, event_log, exporter_series, fresh_secret};
use crate::alerts;
use crate::catalog::Experiment;
use crate::outcome::{Check, Outcome};
use crate::{ChaosError, Settings};

/// The bucket and the output the job writes.
const BUCKET: &str = "lake";
const OUTPUT_KEY: &str = "trips";

/// Six tasks of three seconds on two one-core executors, each writing one
/// Parquet file: three waves, so a stop once the second wave starts finds the
/// first wave's task outputs committed (under `_temporary`; one or two,
/// depending on how close the two finish) and the rest unwritten. The schema
/// is given, so no job runs before the write.
const JOB: &str = r#"import os, sys, time
from pyspark.sql import SparkSession
marks, output = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("chaos-object-store-write").getOrCreate()
def slow(index, rows):
    open(os.path.join(marks, "started-%d-%d" % (index, os.getpid())), "w").close()
    time.sleep(3)
    for row in rows:
        yield (row, "trip-%d" % row)
rows = spark.sparkContext.parallelize(range(60000), 6).mapPartitionsWithIndex(slow)
started = time.monotonic()
try:
    spark.createDataFrame(rows, "trip long, label string").write.mode("overwrite").parquet(output)
except Exception as error:
    sys.stdout.write("CHAOS-FAILED seconds=%.1f error=%s\n" % (time.monotonic() - started, type(error).__name__))
    raise
sys.stdout.write("CHAOS-RESULT written\n")
spark.stop()
"#;

/// How long the job may take in all.
const LIMIT: Duration = Duration::from_secs(240);

/// Task starts seen before the store stops: the third means the first wave's
/// two tasks have committed their files.
const STOP_AFTER_STARTS: usize = 3;

/// The longest the job may go on after the stop for its failure to count as
/// fast (measured: 21.7 s on two cores shared with builds, with
/// `Retries::FailFast`: four attempts of each task, then the job's abort;
/// Hadoop's defaults retry for minutes).
const FAST: Duration = Duration::from_secs(60);

fn exit(code: Option<i32>) -> String {
    code.map_or_else(|| "by a signal or the time limit".to_string(), |c| c.to_string())
}

/// What the store holds under the output once it is back: keys relative to it, with sizes.
struct Leftovers {
    entries: Vec<(String, u64)>,
}

impl Leftovers {
    /// Objects a reader of the output would take as final: `_SUCCESS`, or
    /// any object with bytes outside `_temporary/` (S3A's empty folder
    /// markers are not output).
    fn published(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(key, size)| key == "_SUCCESS" || (!key.starts_with("_temporary/") && *size > 0))
            .map(|(key, _)| key.as_str())
            .collect()
    }

    /// Part files a task committed under `_temporary/<attempt>/task_…/` (written, never published).
    fn committed_parts(&self) -> usize {
        self.entries
            .iter()
            .filter(|(key, _)| {
                key.starts_with("_temporary/")
                    && key.contains("/task_")
                    && key.rsplit('/').next().is_some_and(|name| name.starts_with("part-"))
            })
            .count()
    }
}

pub(super) fn run(spark: &Spark, jars: S3aJars, work: &Path, settings: &Settings) -> Result<Outcome, ChaosError> {
    let infra = |what: &str, e: std::io::Error| ChaosError::Infrastructure(format!("cannot {what}: {e}"));
    let (access_key, secret_key) = ("chaos".to_string(), fresh_secret()?);
    let mut server = S3Server::start_with_keys(&access_key, &secret_key)
        .map_err(|e| ChaosError::Infrastructure(format!("cannot start SeaweedFS for the object store: {e}")))?;
    server
        .create_bucket(BUCKET)
        .map_err(|e| ChaosError::Infrastructure(format!("cannot create the bucket {BUCKET}: {e}")))?;
    let endpoint = S3aEndpoint {
        endpoint: server.endpoint.clone(),
        access_key: access_key.clone(),
        secret_key: secret_key.clone(),
        jars,
        retries: Retries::FailFast,
    };
    let properties = work.join("s3a.properties");
    endpoint.write_properties_file(&properties).map_err(|e| infra("write the S3A properties", e))?;
    let events = work.join("events");
    let marks = work.join("marks");
    std::fs::create_dir_all(&marks).map_err(|e| infra("make the marks folder", e))?;
    let script = work.join("object_store_write.py");
    std::fs::write(&script, JOB).map_err(|e| infra("write the job", e))?;
    let output = format!("s3a://{BUCKET}/{OUTPUT_KEY}");

    // The job writes; once the second wave of tasks starts, the store is killed.
    let started = Instant::now();
    let args = [marks.display().to_string(), output.clone()];
    let job = spark.submit(&script, &args, &events, &work.join("driver.log"), Some(&properties))?;
    let mut stopped_at = None;
    while started.elapsed() < LIMIT {
        if std::fs::read_dir(&marks).map(|d| d.count()).unwrap_or(0) >= STOP_AFTER_STARTS {
            server.stop_now();
            stopped_at = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let store_down = !server.is_running();
    let end = job.wait(started, LIMIT);

    // The store comes back on the same data: what did the job leave?
    let restarted = server.restart();
    let listed = match &restarted {
        Ok(()) => list_output(&server.endpoint, &access_key, &secret_key),
        Err(e) => Err(format!("SeaweedFS did not come back: {e}")),
    };

    let mut outcome = Outcome::begin(Experiment::ObjectStoreStopped);
    let checks = &mut outcome.checks;
    checks.push(Check::new(
        "the S3 server (SeaweedFS) was killed while the job's write stage ran",
        stopped_at.is_some() && store_down,
        match stopped_at {
            Some(at) => {
                format!("killed {:.1} s after the job started, at its task start {STOP_AFTER_STARTS}", at.as_secs_f64())
            }
            None => "no task of the job was seen starting".to_string(),
        },
    ));
    let failed_line = end.output.lines().find(|l| l.starts_with("CHAOS-FAILED")).unwrap_or("no CHAOS-FAILED line");
    checks.push(Check::new(
        "the job failed",
        end.code.is_some_and(|c| c != 0) && !end.output.lines().any(|l| l.starts_with("CHAOS-RESULT")),
        format!("exit {}, {failed_line}", exit(end.code)),
    ));
    let after_stop = stopped_at.map(|at| end.elapsed.saturating_sub(at));
    checks.push(Check::new(
        format!("it failed fast: within {} s of the stop", FAST.as_secs()),
        end.code.is_some() && after_stop.is_some_and(|d| d <= FAST),
        match after_stop {
            Some(d) => {
                format!("ended {:.1} s after the stop ({:.1} s in all)", d.as_secs_f64(), end.elapsed.as_secs_f64())
            }
            None => format!("no stop; ended after {:.1} s", end.elapsed.as_secs_f64()),
        },
    ));
    checks.push(cause_check(&events));
    let leftovers = listed.map(|entries| Leftovers { entries });
    checks.push(match &leftovers {
        Ok(leftovers) => {
            let published = leftovers.published();
            Check::new(
                "nothing half-written is left as final output: no _SUCCESS, no data file outside _temporary/",
                published.is_empty(),
                if published.is_empty() {
                    format!("{} objects under {output}/, all under _temporary/ or empty", leftovers.entries.len())
                } else {
                    format!("published: {}", published.join(", "))
                },
            )
        }
        Err(e) => Check::new("nothing half-written is left as final output", false, e.clone()),
    });
    let committed = leftovers.as_ref().map(Leftovers::committed_parts);
    checks.push(Check::new(
        "the stop came mid-write: task files committed before it sit unpublished under _temporary/",
        committed.as_ref().is_ok_and(|n| *n > 0),
        match committed {
            Ok(n) => format!("{n} committed task files under {output}/_temporary/"),
            Err(e) => e.clone(),
        },
    ));
    checks.push(secret_check(&secret_key, &events, &end.output));

    let series = exporter_series(&events);
    outcome.alerts =
        alerts::check(settings.promtool.as_deref(), &series, Experiment::ObjectStoreStopped.expectation().alerts)?;
    Ok(outcome)
}

/// Every object under the output, with its size, read through S3 (not Spark).
fn list_output(endpoint: &str, access_key: &str, secret_key: &str) -> Result<Vec<(String, u64)>, String> {
    let location = Location::parse(&format!("s3://{BUCKET}/{OUTPUT_KEY}/")).map_err(|e| e.to_string())?;
    let store = Store::open_with(
        &location,
        &[
            ("aws_endpoint", endpoint),
            ("aws_access_key_id", access_key),
            ("aws_secret_access_key", secret_key),
            ("aws_region", "us-east-1"),
            ("aws_allow_http", "true"),
        ],
    )
    .map_err(|e| format!("cannot open {location}: {e}"))?;
    match store.list() {
        Ok(entries) => Ok(entries.into_iter().map(|e| (e.key, e.size)).collect()),
        Err(sparkplane_storage::StorageError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(format!("cannot list {location}: {e}")),
    }
}

/// The event-log model's cause of the application's failure, and `analyze`'s finding.
fn cause_check(events: &Path) -> Check {
    let what = "its failure has a storage cause, as the event-log model and `analyze` name it";
    let Some(app) = event_log(events).and_then(|log| summarize(&log).ok()) else {
        return Check::new(what, false, "no readable event log");
    };
    let Some(failure) = &app.failure else {
        return Check::new(what, false, format!("outcome {:?}, no failed job recorded", app.outcome));
    };
    let finding = analyze(&app).into_iter().find(|f| f.id == "failed-tasks");
    let names_storage = finding.as_ref().is_some_and(|f| names_storage(&f.evidence));
    Check::new(
        what,
        failure.cause == FailureCause::Storage && names_storage,
        format!(
            "cause {}; root cause: {}; analyze: {}",
            failure.cause.as_str(),
            failure.root_cause.as_deref().unwrap_or(&failure.message),
            finding.map_or_else(|| "no failed-tasks finding".to_string(), |f| f.evidence)
        ),
    )
}

/// Whether `analyze`'s failed-tasks evidence counts task failures with the
/// storage cause (`…; by cause: executor_lost 1, storage 9, other 1; …`).
fn names_storage(evidence: &str) -> bool {
    evidence
        .split("by cause: ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .is_some_and(|causes| causes.split(", ").any(|cause| cause.starts_with("storage ")))
}

/// The secret key must not appear in the event log or the driver's output.
fn secret_check(secret: &str, events: &Path, output: &str) -> Check {
    let in_log =
        event_log(events).and_then(|log| std::fs::read_to_string(log).ok()).is_some_and(|t| t.contains(secret));
    let in_output = output.contains(secret);
    Check::new(
        "the secret key is in neither the event log nor the driver's output",
        !in_log && !in_output,
        match (in_log, in_output) {
            (false, false) => "absent from both (Spark redacts fs.s3a.secret.key)".to_string(),
            (true, _) => "found in the event log".to_string(),
            (false, true) => "found in the driver's output".to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(keys: &[(&str, u64)]) -> Leftovers {
        Leftovers { entries: keys.iter().map(|(k, s)| (k.to_string(), *s)).collect() }
    }

    #[test]
    fn only_objects_outside_temporary_count_as_published() {
        let aborted = leftovers(&[
            ("", 0),
            ("_temporary/0/task_1_m_000000/part-00000-a.snappy.parquet", 86_098),
            ("_temporary/0/task_1_m_000001/part-00001-a.snappy.parquet", 86_101),
            ("_temporary/0/_temporary/attempt_1_m_000002_2", 0),
        ]);
        assert_eq!(aborted.published(), Vec::<&str>::new());
        assert_eq!(aborted.committed_parts(), 2);
        let finished = leftovers(&[("_SUCCESS", 0), ("part-00000-a.snappy.parquet", 86_098), ("folder", 0)]);
        assert_eq!(finished.published(), vec!["_SUCCESS", "part-00000-a.snappy.parquet"]);
        assert_eq!(finished.committed_parts(), 0);
    }

    #[test]
    fn the_storage_cause_is_found_wherever_analyze_lists_it() {
        assert!(names_storage("13 task attempts failed; by cause: storage 9; the application failed with: x"));
        assert!(names_storage("11 of 13 failed; by cause: executor_lost 1, storage 9, other 1; the application …"));
        assert!(!names_storage(
            "2 of 3 failed; by cause: executor_lost 1, other 1; the application failed with: storage"
        ));
        assert!(!names_storage("2 of 3 failed; the application failed with: S3A storage 1"));
    }

    #[test]
    fn a_secret_in_the_output_is_caught() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(secret_check("f00d", dir.path(), "nothing here").held);
        let leaked = secret_check("f00d", dir.path(), "spark.hadoop.fs.s3a.secret.key=f00d");
        assert!(!leaked.held && leaked.seen == "found in the driver's output", "{leaked:?}");
    }
}
