//! metastore-stopped: the PostgreSQL database behind a Hive metastore stops
//! while a job runs. The running job, which does not need the metastore,
//! must finish; a new job that reads a table must fail fast, naming the
//! metastore; and the metastore alert is judged on the metrics of both
//! sources that see failures: the exporter's series of the event logs, and
//! the series the operator exports for the failed driver.
//!
//! The new job fails at table lookup, before any Spark job, so its event log
//! records no failure; only its driver's exit code and log do. No operator
//! runs here, so the experiment applies the operator's own steps to the real
//! driver's output: the last [`DRIVER_LOG_READ_LINES`] lines, [`log_tail`],
//! [`application_cause`] (the message rules `analyze` uses), and the
//! operator's `Metrics` (`namespace_seen`, `driver_failed`) for the series.
//!
//! Owns: the three applications (one writes a table through the catalog while
//! the database is up, one runs a stage of slow tasks, one reads the table
//! once the database is down), when the database stops, and the checks.
//! The database is a throwaway PostgreSQL this experiment starts
//! (`sparkplane-postgres`); the catalog's Spark properties are
//! `sparkplane_local::metastore`'s. Must not: decide the expectation, or
//! classify a driver's log other than the operator does.

use std::path::Path;
use std::time::{Duration, Instant};

use sparkplane_analysis::cost::UNATTRIBUTED;
use sparkplane_eventlog::cause::{FailureCause, of_message};
use sparkplane_eventlog::summarize;
use sparkplane_lifecycle::Cause;
use sparkplane_lifecycle::cause::{DRIVER_LOG_READ_LINES, application_cause, log_tail};
use sparkplane_local::metastore::{PostgresMetastore, postgres_jdbc_jar};
use sparkplane_operator::Metrics;
use sparkplane_postgres::PostgresServer;

use super::{Spark, exporter_series, exposition_series, fresh_secret};
use crate::alerts::{self, Series};
use crate::catalog::Experiment;
use crate::outcome::{Check, Outcome};
use crate::{ChaosError, Settings};

/// Writes the table the new job reads, through the metastore.
const WRITE: &str = r#"import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("chaos-metastore-write").getOrCreate()
spark.range(1000).withColumnRenamed("id", "trip").write.mode("overwrite").saveAsTable("trips")
sys.stdout.write("CHAOS-RESULT rows=%d\n" % spark.table("trips").count())
spark.stop()
"#;

/// Six tasks of five seconds on two one-core executors, touching no table:
/// three waves, so the database stops mid-stage.
const RUNNING: &str = r#"import os, sys, time
from pyspark.sql import SparkSession
marks = sys.argv[1]
spark = SparkSession.builder.appName("chaos-metastore-running").getOrCreate()
def slow(index, rows):
    open(os.path.join(marks, "started-%d-%d" % (index, os.getpid())), "w").close()
    time.sleep(5)
    return [sum(1 for _ in rows)]
total = sum(spark.sparkContext.parallelize(range(600), 6).mapPartitionsWithIndex(slow).collect())
sys.stdout.write("CHAOS-RESULT rows=%d\n" % total)
spark.stop()
"#;

/// Reads the table: needs the metastore. Times the lookup and prints how it failed.
const READ: &str = r#"import sys, time
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName("chaos-metastore-read").getOrCreate()
started = time.monotonic()
try:
    rows = spark.table("trips").count()
except Exception as error:
    first = (str(error).strip().splitlines() or [""])[0]
    sys.stdout.write("CHAOS-FAILED seconds=%.1f error=%s: %s\n" % (time.monotonic() - started, type(error).__name__, first))
    raise
sys.stdout.write("CHAOS-RESULT rows=%d\n" % rows)
"#;

/// How long each application may take.
const LIMIT: Duration = Duration::from_secs(240);

/// The longest a table lookup may take to fail for the failure to count as
/// fast (measured: about 4.5 s with [`sparkplane_local::metastore`]'s timeouts).
const FAST: Duration = Duration::from_secs(30);

/// The line of `output` that starts with `prefix`.
fn line<'a>(output: &'a str, prefix: &str) -> Option<&'a str> {
    output.lines().find(|l| l.starts_with(prefix))
}

/// `CHAOS-FAILED seconds=4.4 error=…`: the seconds and the error.
fn failed_line(output: &str) -> Option<(f64, &str)> {
    let rest = line(output, "CHAOS-FAILED seconds=")?.strip_prefix("CHAOS-FAILED seconds=")?;
    let (seconds, error) = rest.split_once(" error=")?;
    Some((seconds.parse().ok()?, error))
}

/// The last `Caused by:` line in `output` that comes from the database
/// driver (the innermost cause of the lookup's failure), else the last one.
fn root_cause(output: &str) -> Option<&str> {
    let causes: Vec<&str> = output.lines().filter_map(|l| l.trim().strip_prefix("Caused by: ")).collect();
    causes.iter().rev().find(|c| c.starts_with("org.postgresql.")).or(causes.last()).copied()
}

fn exit(code: Option<i32>) -> String {
    code.map_or_else(|| "by a signal or the time limit".to_string(), |c| c.to_string())
}

pub(super) fn run(spark: &Spark, work: &Path, settings: &Settings) -> Result<Outcome, ChaosError> {
    let infra = |what: &str, e: std::io::Error| ChaosError::Infrastructure(format!("cannot {what}: {e}"));
    let driver_jar = postgres_jdbc_jar().map_err(|e| ChaosError::Infrastructure(e.to_string()))?;
    let mut server = PostgresServer::start_with_password(&fresh_secret()?)
        .map_err(|e| ChaosError::Infrastructure(format!("cannot start PostgreSQL for the metastore: {e}")))?;
    server
        .psql("postgres", "CREATE DATABASE metastore")
        .map_err(|e| ChaosError::Infrastructure(format!("cannot create the metastore database: {}", e.trim())))?;
    let metastore = PostgresMetastore {
        host: server.host.clone(),
        port: server.port,
        database: "metastore".into(),
        user: sparkplane_postgres::SUPERUSER.into(),
        password: server.password().to_string(),
        driver_jar,
        warehouse: work.join("warehouse"),
    };
    let properties = work.join("metastore.properties");
    metastore.write_properties_file(&properties).map_err(|e| infra("write the metastore properties", e))?;
    let events = work.join("events");
    let marks = work.join("marks");
    std::fs::create_dir_all(&marks).map_err(|e| infra("make the marks folder", e))?;
    let script = |name: &str, text: &str| {
        let path = work.join(name);
        std::fs::write(&path, text).map(|()| path).map_err(|e| infra("write a job", e))
    };
    let (write, running, read) = (script("write.py", WRITE)?, script("running.py", RUNNING)?, script("read.py", READ)?);

    // 1. While the database is up, a table is written through the catalog.
    let started = Instant::now();
    let written = spark.submit(&write, &[], &events, &work.join("write.log"), Some(&properties))?.wait(started, LIMIT);

    // 2. A job that needs no table starts; once its stage runs, the database stops.
    let started = Instant::now();
    let job = spark.submit(&running, &[marks.display().to_string()], &events, &work.join("running.log"), None)?;
    let mut stopped_at = None;
    while started.elapsed() < LIMIT {
        if std::fs::read_dir(&marks).map(|d| d.count()).unwrap_or(0) > 0 {
            server.stop_now();
            stopped_at = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let database_down = !server.is_running();

    // 3. A new job that reads the table starts while the first still runs.
    let read_started = Instant::now();
    let reader = spark.submit(&read, &[], &events, &work.join("read.log"), Some(&properties))?;
    let read_end = reader.wait(read_started, LIMIT);
    let running_end = job.wait(started, LIMIT);

    let mut outcome = Outcome::begin(Experiment::MetastoreStopped);
    let checks = &mut outcome.checks;
    let result = line(&written.output, "CHAOS-RESULT").unwrap_or("no result line");
    checks.push(Check::new(
        "while PostgreSQL was up, a job wrote a table through the metastore",
        written.code == Some(0) && result == "CHAOS-RESULT rows=1000",
        format!("exit {}, {result}, {:.1} s", exit(written.code), written.elapsed.as_secs_f64()),
    ));
    checks.push(Check::new(
        "PostgreSQL was stopped (immediate shutdown) while the running job's stage ran",
        stopped_at.is_some() && database_down,
        match stopped_at {
            Some(at) => format!("stopped {:.1} s after the running job started", at.as_secs_f64()),
            None => "no task of the running job was seen starting".to_string(),
        },
    ));
    let result = line(&running_end.output, "CHAOS-RESULT").unwrap_or("no result line");
    let after_stop = stopped_at.is_some_and(|at| running_end.elapsed > at);
    checks.push(Check::new(
        "the running job, which needs no table, finished with every row after the stop",
        running_end.code == Some(0) && result == "CHAOS-RESULT rows=600" && after_stop,
        format!("exit {}, {result}, ended at {:.1} s", exit(running_end.code), running_end.elapsed.as_secs_f64()),
    ));
    checks.push(Check::new(
        "the new job that reads a table failed",
        read_end.code.is_some_and(|c| c != 0) && line(&read_end.output, "CHAOS-RESULT").is_none(),
        format!("exit {}", exit(read_end.code)),
    ));
    let failed = failed_line(&read_end.output);
    let cause = failed.map(|(_, error)| of_message(error));
    checks.push(Check::new(
        "its failure names the metastore (the cause `analyze` uses)",
        cause == Some(FailureCause::Metastore),
        match failed {
            Some((_, error)) => format!(
                "cause {}: {error}; root cause: {}",
                cause.map_or("none", FailureCause::as_str),
                root_cause(&read_end.output).unwrap_or("none")
            ),
            None => "no CHAOS-FAILED line".to_string(),
        },
    ));
    checks.push(Check::new(
        format!("it failed fast: the table lookup gave up within {} s", FAST.as_secs()),
        failed.is_some_and(|(seconds, _)| seconds <= FAST.as_secs_f64()),
        match failed {
            Some((seconds, _)) => format!(
                "lookup failed after {seconds:.1} s; the application ended {:.1} s after its start",
                read_end.elapsed.as_secs_f64()
            ),
            None => format!("no failed lookup; the application ended after {:.1} s", read_end.elapsed.as_secs_f64()),
        },
    ));
    let driver = driver_cause(read_end.code, &read_end.output);
    checks.push(seen_by_check(driver.as_ref(), &events));

    let mut series = exporter_series(&events);
    series.extend(operator_series(driver.as_ref().map(|d| d.cause)));
    outcome.alerts =
        alerts::check(settings.promtool.as_deref(), &series, Experiment::MetastoreStopped.expectation().alerts)?;
    Ok(outcome)
}

/// What the operator makes of a failed driver: the log tail it keeps and the
/// application cause it counts.
struct DriverFailure {
    tail: Vec<String>,
    cause: FailureCause,
}

/// The operator's reading of a driver that ended with `code` and wrote
/// `output`: a driver that exited non-zero is `DriverFailed`; the operator
/// reads the last [`DRIVER_LOG_READ_LINES`] lines of its log, keeps their
/// [`log_tail`] and classifies it with [`application_cause`]. None for a
/// driver that succeeded (or was killed without an exit code).
fn driver_cause(code: Option<i32>, output: &str) -> Option<DriverFailure> {
    code.filter(|c| *c != 0)?;
    let lines: Vec<&str> = output.lines().collect();
    let read = lines[lines.len().saturating_sub(usize::from(DRIVER_LOG_READ_LINES))..].join("\n");
    let tail = log_tail(&read);
    let cause = application_cause(Cause::DriverFailed, &tail)?;
    Some(DriverFailure { tail, cause })
}

/// The `sparkplane_operator_driver_failures_total` series the operator
/// exports for this failure, from the operator's own `Metrics`: every
/// cause's series of the namespace at 0 once it reconciles a job there, the
/// driver's cause counted once. The namespace is the one the exporter gives
/// a local application (none is set), so both sources' series meet in it.
fn operator_series(cause: Option<FailureCause>) -> Vec<Series> {
    let metrics = Metrics::new();
    metrics.namespace_seen(UNATTRIBUTED);
    if let Some(cause) = cause {
        metrics.driver_failed(UNATTRIBUTED, cause);
    }
    // Counters step up from 0 at the fault (exposition_series's rule).
    exposition_series(&metrics.render(), "sparkplane_operator_driver_failures_total")
}

/// Which source the alert reads saw the reading application fail on the
/// metastore: the operator's classification of its driver's log must; what
/// the event-log model records (the exporter's source) is reported beside it.
fn seen_by_check(driver: Option<&DriverFailure>, events: &Path) -> Check {
    let apps: Vec<_> = std::fs::read_dir(events)
        .map(|d| d.flatten().filter_map(|e| summarize(&e.path()).ok()).collect())
        .unwrap_or_default();
    let reader = apps.iter().find(|app| app.name.as_deref() == Some("chaos-metastore-read"));
    let model = match reader {
        Some(app) => format!(
            "the event-log model: outcome {:?}, cause {}, {} Spark jobs, exit code {}",
            app.outcome,
            app.failure.as_ref().map_or("none", |f| f.cause.as_str()),
            app.jobs.total,
            app.exit_code.map_or_else(|| "not recorded".to_string(), |c| c.to_string())
        ),
        None => format!("the event-log model: no event log of chaos-metastore-read among {} applications", apps.len()),
    };
    let operator = match driver {
        Some(d) => format!(
            "the operator's reading of the driver log: cause {} ({} tail lines, first: {})",
            d.cause.as_str(),
            d.tail.len(),
            d.tail.first().map_or("none", String::as_str)
        ),
        None => "the operator's reading of the driver log: no failed driver".to_string(),
    };
    Check::new(
        "a source the alert reads saw the new job fail on the metastore: the operator's classification of its \
         failed driver's log (the rules `analyze` uses)",
        driver.is_some_and(|d| d.cause == FailureCause::Metastore),
        format!("{operator}; {model}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_failure_line_and_the_root_cause() {
        let output = "x\nCHAOS-FAILED seconds=4.4 error=AnalysisException: org.apache.hadoop.hive.ql.metadata.\
                      HiveException: Unable to instantiate SessionHiveMetaStoreClient\n\
                      Caused by: java.net.ConnectException: Connection refused\n\
                      \tCaused by: org.postgresql.util.PSQLException: Connection to 127.0.0.1:5 refused.\n\
                      Caused by: org.apache.spark.SparkException: Could not find AppClient.\n";
        let (seconds, error) = failed_line(output).expect("a failure line");
        assert_eq!(seconds, 4.4);
        assert!(error.starts_with("AnalysisException: "), "{error}");
        assert_eq!(of_message(error), FailureCause::Metastore);
        assert_eq!(root_cause(output), Some("org.postgresql.util.PSQLException: Connection to 127.0.0.1:5 refused."));
        assert_eq!(failed_line("CHAOS-RESULT rows=3"), None);
        assert_eq!(root_cause("Caused by: a.B: x\nCaused by: c.D: y\n"), Some("c.D: y"));
    }

    #[test]
    fn a_failed_driver_is_read_as_the_operator_reads_it() {
        let mut output = String::from(
            "Traceback (most recent call last):\npyspark.errors.exceptions.captured.AnalysisException: \
             org.apache.hadoop.hive.ql.metadata.HiveException: Unable to instantiate SessionHiveMetaStoreClient\n",
        );
        for i in 0..40 {
            output.push_str(&format!("24/11/24 09:00:{i:02} INFO ShutdownHookManager: line {i}\n"));
        }
        let failed = driver_cause(Some(1), &output).expect("a failed driver");
        assert_eq!(failed.cause, FailureCause::Metastore);
        assert!(failed.tail[0].contains("HiveException"), "{:?}", failed.tail);
        assert!(driver_cause(Some(0), &output).is_none(), "a driver that exited 0 did not fail");
        assert!(driver_cause(None, &output).is_none(), "killed without an exit code");
        assert_eq!(driver_cause(Some(1), "ValueError: bad row\n").map(|d| d.cause), Some(FailureCause::Other));
    }

    #[test]
    fn the_operator_series_step_the_drivers_cause_from_zero() {
        let series = operator_series(Some(FailureCause::Metastore));
        assert_eq!(series.len(), FailureCause::ALL.len(), "{series:?}");
        let metastore =
            format!("sparkplane_operator_driver_failures_total{{namespace=\"{UNATTRIBUTED}\",cause=\"metastore\"}}");
        for s in &series {
            let after = if s.selector == metastore { 1.0 } else { 0.0 };
            assert_eq!((s.before, s.after), (0.0, after), "{s:?}");
        }
        assert!(operator_series(None).iter().all(|s| s.after == 0.0));
    }
}
