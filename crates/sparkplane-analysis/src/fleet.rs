//! One application as the fleet's facts record it: what `sparkplane cost`,
//! the exporter and the `applications` table of `history export` read of an
//! application, so each of them can take it from an export instead of
//! reading the application's log again.
//!
//! Owns: [`FleetRecord`] — the application's summary ([`AppSummary`])
//! reduced to one row, attributed and priced as `cost` prices it, with the
//! figures the exporter's metrics need — built from a summary by
//! [`FleetRecord::of`], and priced again at any price sheet by
//! [`FleetRecord::cost_at`] (the same arithmetic as [`crate::cost::app_cost`]);
//! and [`KnownRecords`], the seam through which a reader finds the record of
//! a log it would otherwise read ([`NoRecords`] when there is no export).
//!
//! Must not: read logs, read or write Parquet, or know an export's layout
//! (sparkplane-history's `export` writes these records as the
//! `applications` table and reads them back).

use std::collections::BTreeMap;

use sparkplane_core::render::common::SLO_MAX_DURATION_PROPERTY;
use sparkplane_eventlog::cause::FailureCause;
use sparkplane_eventlog::model::{AppSummary, Outcome, Warning};
use sparkplane_eventlog::source::{AppLog, in_window, on_all_cores, summary_of};

use crate::analyze::worst_stage_skew;
use crate::cost::{AppCost, PriceSheet, app_cost, price};

/// One application attempt's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRecord {
    /// Spark's application id.
    pub app_id: String,
    /// The attempt, when the cluster manager retried it.
    pub attempt_id: Option<String>,
    pub name: Option<String>,
    pub user: Option<String>,
    pub spark_version: Option<String>,
    /// Application start and end, epoch milliseconds.
    pub start_time_ms: Option<u64>,
    pub end_time_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub outcome: Outcome,
    /// Ended, and its log is no longer in progress: the record is final.
    pub completed: bool,
    /// The driver's exit code (Spark 4).
    pub exit_code: Option<i32>,
    /// Why it failed (the first failed job's message), and the cause read from it.
    pub failure: Option<String>,
    pub failure_cause: Option<FailureCause>,
    pub jobs: u64,
    pub jobs_failed: u64,
    pub stages: u64,
    pub stages_failed: u64,
    pub stages_skipped: u64,
    pub tasks: u64,
    pub tasks_failed: u64,
    pub tasks_killed: u64,
    /// Failed task attempts by cause.
    pub task_failures_by_cause: BTreeMap<FailureCause, u64>,
    pub task_time_ms: u64,
    pub cpu_time_ms: u64,
    pub gc_time_ms: u64,
    /// GC time over task time.
    pub gc_share: Option<f64>,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub shuffle_read_bytes: u64,
    pub shuffle_write_bytes: u64,
    pub memory_spill_bytes: u64,
    pub disk_spill_bytes: u64,
    pub executors: u64,
    pub max_concurrent_executors: u64,
    /// Task time over the executors' core time.
    pub executor_utilisation: Option<f64>,
    /// The largest task-time skew of a stage ([`worst_stage_skew`]).
    pub worst_stage_skew: Option<f64>,
    /// The job's duration objective, `spark.sparkplane.slo.maxDurationSeconds`.
    pub slo_max_duration_s: Option<f64>,
    /// Attribution, usage and cost as `sparkplane cost` reads them, priced at the sheet it was built with.
    pub cost: AppCost,
}

impl FleetRecord {
    /// The record of one application's summary, priced at `sheet`.
    pub fn of(app: &AppSummary, sheet: &PriceSheet) -> FleetRecord {
        let failure = app.failure.as_ref();
        FleetRecord {
            app_id: app.app_id.clone().unwrap_or_default(),
            attempt_id: app.attempt_id.clone(),
            name: app.name.clone(),
            user: app.user.clone(),
            spark_version: app.spark_version.clone(),
            start_time_ms: app.start_time_ms,
            end_time_ms: app.end_time_ms,
            duration_ms: app.duration_ms,
            outcome: app.outcome,
            completed: !app.log.in_progress && app.end_time_ms.is_some(),
            exit_code: app.exit_code,
            failure: failure.map(|f| f.message.clone()),
            failure_cause: failure.map(|f| f.cause),
            jobs: app.jobs.total,
            jobs_failed: app.jobs.failed,
            stages: app.stages.total,
            stages_failed: app.stages.failed,
            stages_skipped: app.stages.skipped,
            tasks: app.tasks.total,
            tasks_failed: app.tasks.failed,
            tasks_killed: app.tasks.killed,
            task_failures_by_cause: app.tasks.failed_by_cause.clone(),
            task_time_ms: app.metrics.task_time_ms,
            cpu_time_ms: app.metrics.cpu_time_ms,
            gc_time_ms: app.metrics.gc_time_ms,
            gc_share: app.metrics.gc_share,
            input_bytes: app.metrics.input_bytes,
            output_bytes: app.metrics.output_bytes,
            shuffle_read_bytes: app.metrics.shuffle_read_bytes,
            shuffle_write_bytes: app.metrics.shuffle_write_bytes,
            memory_spill_bytes: app.metrics.memory_spill_bytes,
            disk_spill_bytes: app.metrics.disk_spill_bytes,
            executors: app.executors.count,
            max_concurrent_executors: app.executors.max_concurrent,
            executor_utilisation: app.executors.utilisation,
            worst_stage_skew: worst_stage_skew(app),
            slo_max_duration_s: slo_max_duration_seconds(app),
            cost: app_cost(app, sheet),
        }
    }

    /// What the application cost at `sheet`: its usage as recorded, priced
    /// again ([`price`], the arithmetic [`app_cost`] prices a summary with), so
    /// a record gives the figure its summary would at any price sheet.
    pub fn cost_at(&self, sheet: &PriceSheet) -> AppCost {
        let mut cost = self.cost.clone();
        cost.cost = price(&cost, sheet);
        cost
    }

    /// Where the `--since` window looks: the end, or the start of an application without one.
    pub fn when_ms(&self) -> Option<u64> {
        self.end_time_ms.or(self.start_time_ms)
    }
}

/// The job's duration objective in seconds, as the application's properties
/// record it (`spark.sparkplane.slo.maxDurationSeconds`, which sparkplane
/// renders from `spec.slo.maxDuration`): positive and finite, else `None`.
pub fn slo_max_duration_seconds(app: &AppSummary) -> Option<f64> {
    app.config
        .properties
        .get(SLO_MAX_DURATION_PROPERTY)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// Records kept elsewhere (an export of the logs), asked for a log before it is read.
pub trait KnownRecords: Sync {
    /// The record of `log` when one is kept for the log exactly as it is now
    /// (same size, modification time and fingerprint); `None` when the log
    /// must be read.
    fn record(&self, log: &AppLog) -> Option<FleetRecord>;
}

/// No records: every log is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRecords;

impl KnownRecords for NoRecords {
    fn record(&self, _log: &AppLog) -> Option<FleetRecord> {
        None
    }
}

/// The records of a set of logs, and how they were come by.
#[derive(Debug, Default)]
pub struct Records {
    /// In the order of the logs, inside the window.
    pub records: Vec<FleetRecord>,
    /// Logs skipped: unreadable, or holding no Spark events.
    pub warnings: Vec<Warning>,
    /// Records taken as kept, without reading their logs.
    pub kept: usize,
    /// Logs read.
    pub read: usize,
}

/// Every log's record on as many threads as the machine has cores: the one
/// `known` keeps for the log as it is now, else the log's summary reduced
/// ([`FleetRecord::of`], priced at `sheet`). Applications that ended — or,
/// without an end, started — before `since_ms` are left out, as
/// [`sparkplane_eventlog::summarize_logs`] leaves them out; so are unreadable logs, each
/// named in a warning.
pub fn read_records(logs: &[AppLog], since_ms: Option<u64>, sheet: &PriceSheet, known: &dyn KnownRecords) -> Records {
    let results = on_all_cores(logs.iter().collect(), 1, |log| match known.record(log) {
        Some(record) => Ok((record, true)),
        None => summary_of(log).map(|summary| (FleetRecord::of(&summary, sheet), false)),
    });
    let mut out = Records::default();
    for (log, result) in logs.iter().zip(results) {
        match result {
            Some(Ok((record, kept))) => {
                if kept {
                    out.kept += 1;
                } else {
                    out.read += 1;
                }
                if in_window(since_ms, record.when_ms()) {
                    out.records.push(record);
                }
            }
            Some(Err(warning)) => {
                out.read += 1;
                out.warnings.push(warning);
            }
            None => {
                let message = "was not read (a reader thread failed)".to_string();
                out.warnings.push(Warning::in_file(std::path::Path::new(&log.name), message));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use sparkplane_eventlog::fold::AppSummaryBuilder;

    fn summarize_str(log: &str) -> AppSummary {
        let mut builder = AppSummaryBuilder::new();
        for (i, line) in log.lines().enumerate() {
            builder.push_line(Path::new("app.log"), i as u64 + 1, line);
        }
        builder.finish()
    }

    const ONE_APP: &str = concat!(
        r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-2","Timestamp":1000,"User":"u"}"#,
        "\n",
        r#"{"Event":"SparkListenerApplicationEnd","Timestamp":5000}"#,
        "\n",
    );

    /// Keeps a record for the log named `kept` only.
    struct KeepsOne(FleetRecord);

    impl KnownRecords for KeepsOne {
        fn record(&self, log: &AppLog) -> Option<FleetRecord> {
            log.name.ends_with("/kept").then(|| self.0.clone())
        }
    }

    #[test]
    fn a_kept_record_is_taken_without_reading_its_log_and_the_other_logs_are_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Not an event log: were it read, it would be skipped with a warning.
        std::fs::write(dir.path().join("kept"), "not an event log\n").expect("write");
        std::fs::write(dir.path().join("read"), ONE_APP).expect("write");
        let logs = sparkplane_eventlog::LogSource::Local(dir.path().to_path_buf()).app_logs().expect("lists");
        let sheet = PriceSheet::opencost_defaults();
        let mut kept = FleetRecord::of(&summarize_str(ONE_APP), &sheet);
        kept.app_id = "app-kept".to_owned();
        let known = KeepsOne(kept.clone());

        let records = read_records(&logs, None, &sheet, &known);
        assert_eq!((records.kept, records.read, records.warnings.len()), (1, 1, 0), "{:?}", records.warnings);
        assert_eq!(records.records, [kept, FleetRecord::of(&summarize_str(ONE_APP), &sheet)]);
        let windowed = read_records(&logs, Some(6000), &sheet, &known);
        assert_eq!((windowed.records.len(), windowed.kept, windowed.read), (0, 1, 1), "both ended before the window");

        let all_read = read_records(&logs, None, &sheet, &NoRecords);
        assert_eq!((all_read.kept, all_read.read, all_read.records.len()), (0, 2, 1));
        assert!(all_read.warnings[0].message.contains("holds no Spark events"), "{:?}", all_read.warnings);
    }

    #[test]
    fn a_record_priced_again_at_another_sheet_costs_what_its_summary_costs_there() {
        let log = concat!(
            r#"{"Event":"SparkListenerApplicationStart","App Name":"etl","App ID":"app-1","Timestamp":0,"User":"u"}"#,
            "\n",
            r#"{"Event":"SparkListenerEnvironmentUpdate","Spark Properties":{"spark.executor.memory":"4g","spark.sparkplane.team":"ml","spark.kubernetes.node.selector.karpenter.sh/capacity-type":"spot","spark.sparkplane.slo.maxDurationSeconds":"60"},"JVM Information":{},"System Properties":{},"Classpath Entries":{}}"#,
            "\n",
            r#"{"Event":"SparkListenerExecutorAdded","Timestamp":0,"Executor ID":"1","Executor Info":{"Host":"h","Total Cores":4,"Log Urls":{}}}"#,
            "\n",
            r#"{"Event":"SparkListenerApplicationEnd","Timestamp":7200000}"#,
            "\n",
        );
        let summary = summarize_str(log);
        let defaults = PriceSheet::opencost_defaults();
        let record = FleetRecord::of(&summary, &defaults);
        assert_eq!(record.cost, app_cost(&summary, &defaults));
        assert!(record.completed && record.cost.spot && record.cost.core_hours > 0.0, "{record:?}");
        assert_eq!(record.cost.team.as_deref(), Some("ml"));
        assert_eq!(record.slo_max_duration_s, Some(60.0));
        let dearer = PriceSheet { core_hour: 1.0, gib_hour: 0.5, spot_multiplier: 0.5, ..defaults };
        assert_eq!(record.cost_at(&dearer), app_cost(&summary, &dearer), "priced again, to the last bit");
        assert_eq!(record.when_ms(), Some(7_200_000));
    }
}
