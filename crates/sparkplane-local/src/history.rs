//! The local run history: one JSON record per run under
//! `<SPARKPLANE_HOME>/runs/<run-id>/run.json`, written before Spark starts and
//! again when it ends, always atomically. A record left `running` whose
//! process is gone reads back as `interrupted`, so no run is silently lost.
//! Also how runs read as text: a run's summary ([`RunRecord::summary_text`],
//! what `run` and `runs show` print) and the list ([`runs_table`]).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How a run ended (or that it has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Spark is running.
    Running,
    /// The application succeeded.
    Succeeded,
    /// The application failed.
    Failed,
    /// The user stopped it (Ctrl-C); Spark was shut down cleanly.
    Cancelled,
    /// The process died without recording an end (killed, machine restarted).
    Interrupted,
    /// Spark could not be started.
    NotStarted,
}

impl RunState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
            RunState::NotStarted => "not-started",
        }
    }
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// `<job>-<yyyymmdd-hhmmss>-<4 hex>`.
    pub run_id: String,
    /// Job name.
    pub job: String,
    /// The job file.
    pub job_file: String,
    /// Short hash of the resolved spec.
    pub spec_hash: String,
    /// Environment applied.
    pub environment: Option<String>,
    /// Preset applied.
    pub preset: Option<String>,
    /// Spark version of the runtime used.
    pub spark_version: Option<String>,
    /// `local[N]`.
    pub master: String,
    /// State.
    pub state: RunState,
    /// Start, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// End, milliseconds since the Unix epoch.
    pub ended_ms: Option<u64>,
    /// Process id of spark-submit while running.
    pub pid: Option<u32>,
    /// Exit code of spark-submit.
    pub exit_code: Option<i32>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    /// The Spark application id.
    pub app_id: Option<String>,
    /// The Spark UI while it runs.
    pub ui_url: Option<String>,
    /// The driver's log.
    pub driver_log: String,
    /// The application's event log, once known.
    pub event_log: Option<String>,
    /// The end-of-run summary (from the event log).
    pub summary: Option<RunFigures>,
    /// How the job's quality gates ended after the run, once checked. Left
    /// out of records written before runs recorded it (and of runs that did
    /// not get that far), which read back as None; promotion reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_gates: Option<GateOutcome>,
    /// An interactive Spark Connect session (`connect`, `sql`) rather than a
    /// job's run: `runs list` leaves sessions out unless asked. Left out of
    /// job runs' records; see [`RunRecord::is_session`] for older records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interactive: bool,
    /// The release whose shadow run (`promote --shadow`) this was: its
    /// outputs went to a shadow location, so it is no run of the job in its
    /// environment (promotion's source run). Left out of other records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_of: Option<String>,
}

/// How a run's quality gates (`spec.qualityGates`) ended: the one outcome
/// type, shared with the operator's status (`status.qualityGates`).
pub use sparkplane_api::job::GatesOutcome as GateOutcome;

/// Key figures of a finished run, from its event log: what `run` prints and
/// the record keeps under `summary`.
///
/// The fields are in alphabetical order of their JSON names: records written
/// before this type existed were a JSON map with sorted keys, and this order
/// writes the same bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunFigures {
    /// Core-seconds the executors held.
    pub core_seconds: f64,
    /// What the same work costs on a cluster at OpenCost's default prices.
    pub cost_usd: f64,
    /// Wall time of the application, when it ended.
    pub duration_ms: Option<u64>,
    /// Share of task time spent in garbage collection (0–1).
    pub gc_share: f64,
    /// GiB-seconds the executors held.
    pub gib_seconds: f64,
    /// Bytes read.
    pub input_bytes: u64,
    /// Spark jobs.
    pub jobs: u64,
    /// Spark jobs that failed.
    pub jobs_failed: u64,
    /// `succeeded`, `failed` or `incomplete` (lower-case [`sparkplane_eventlog::Outcome`]).
    pub outcome: String,
    /// Bytes written.
    pub output_bytes: u64,
    /// Shuffle bytes read and written.
    pub shuffle_bytes: u64,
    /// Bytes spilled to memory and disk.
    pub spill_bytes: u64,
    /// Stages.
    pub stages: u64,
    /// Stages that failed.
    pub stages_failed: u64,
    /// Task time, all tasks.
    pub task_time_ms: u64,
    /// Tasks.
    pub tasks: u64,
    /// Tasks that failed.
    pub tasks_failed: u64,
    /// Share of executor core time spent running tasks (0–1).
    pub utilisation: f64,
    /// Warnings the event log's analysis raised.
    pub warnings: u64,
}

/// The job name Spark Connect sessions are recorded under in the run history.
pub const SESSION_JOB: &str = "sparkplane-connect";

impl RunRecord {
    /// Whether this is an interactive session rather than a job's run: tagged
    /// so, or (recorded before sessions were tagged) of the session job name.
    pub fn is_session(&self) -> bool {
        self.interactive || self.job == SESSION_JOB
    }

    /// Wall time so far or in all.
    pub fn duration_ms(&self) -> u64 {
        self.ended_ms.unwrap_or_else(now_ms).saturating_sub(self.started_ms)
    }
}

/// A duration as the summary says it: `42.0s`, or `3m07s` from a minute on.
fn seconds_text(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if s >= 60.0 { format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64) } else { format!("{s:.1}s") }
}

/// Bytes in binary units with one decimal (`1.5 GiB`; whole bytes as `12 B`).
fn bytes_text(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} {}", units[unit]) } else { format!("{value:.1} {}", units[unit]) }
}

impl RunRecord {
    /// The human summary of a run: how it ended and how long it took, then
    /// (from its event log) the work, data, time and usage, and its logs.
    pub fn summary_text(&self) -> String {
        let mut out = format!(
            "run {} {} in {} ({} on {}, spec {})\n",
            self.run_id,
            self.state.as_str(),
            seconds_text(self.duration_ms()),
            self.job,
            self.master,
            self.spec_hash
        );
        if let Some(failure) = &self.failure {
            out.push_str(&format!("  reason:     {failure}\n"));
        }
        if let Some(s) = &self.summary {
            out.push_str(&format!(
                "  work:       {} jobs ({} failed) · {} stages ({} failed) · {} tasks ({} failed)\n",
                s.jobs, s.jobs_failed, s.stages, s.stages_failed, s.tasks, s.tasks_failed
            ));
            out.push_str(&format!(
                "  data:       input {} · output {} · shuffle {} · spill {}\n",
                bytes_text(s.input_bytes as f64),
                bytes_text(s.output_bytes as f64),
                bytes_text(s.shuffle_bytes as f64),
                bytes_text(s.spill_bytes as f64)
            ));
            out.push_str(&format!(
                "  time:       GC {:.1}% of task time · executor utilisation {:.0}%\n",
                s.gc_share * 100.0,
                s.utilisation * 100.0
            ));
            out.push_str(&format!(
                "  usage:      {:.1} core-seconds · {:.1} GiB-seconds · ${:.4} at OpenCost default prices\n",
                s.core_seconds, s.gib_seconds, s.cost_usd
            ));
        }
        if let Some(log) = &self.event_log {
            out.push_str(&format!("  event log:  {log}\n"));
        }
        out.push_str(&format!("  driver log: {}\n", self.driver_log));
        out
    }
}

/// `runs list`'s table: a row per run, in the order given.
pub fn runs_table(runs: &[RunRecord]) -> String {
    let mut t = sparkplane_documents::table::Table::new(&["RUN", "JOB", "STATE", "STARTED", "DURATION", "ENV"]);
    for r in runs {
        t.row(vec![
            r.run_id.clone(),
            r.job.clone(),
            r.state.as_str().to_owned(),
            rfc3339(r.started_ms),
            seconds_text(r.duration_ms()),
            r.environment.clone().unwrap_or_default(),
        ]);
    }
    t.render()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// `2026-11-21T12:34:56Z` for a time in milliseconds since the epoch (UTC),
/// to the second. The calendar is jiff's; a time past jiff's last instant
/// (the end of year 9999) reads as that instant.
pub fn rfc3339(ms: u64) -> String {
    let seconds = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    let at = jiff::Timestamp::from_second(seconds).unwrap_or(jiff::Timestamp::MAX);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new run id for `job`, unique per start.
pub fn new_run_id(job: &str, now_ms: u64) -> String {
    let stamp = rfc3339(now_ms).replace(['-', ':'], "").replace('T', "-").trim_end_matches('Z').to_owned();
    let salt = (now_ms % 1000) as u32 ^ std::process::id();
    format!("{job}-{stamp}-{:04x}", salt & 0xffff)
}

/// The directory of all runs.
pub fn runs_dir(home: &Path) -> PathBuf {
    home.join("runs")
}

/// The directory of one run.
pub fn run_dir(home: &Path, run_id: &str) -> PathBuf {
    runs_dir(home).join(run_id)
}

/// Writes a record atomically (a temporary file renamed over the old one).
pub fn write(home: &Path, record: &RunRecord) -> std::io::Result<()> {
    let dir = run_dir(home, &record.run_id);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join("run.json.tmp");
    let text = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join("run.json"))
}

/// Whether a process is alive: it exists and is not a zombie (dead, not yet reaped).
pub fn process_alive(pid: u32) -> bool {
    // On Linux a zombie still answers signal 0; its state in /proc says what it is.
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        if matches!(state, Some('Z' | 'X')) {
            return false;
        }
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // Signal 0 checks existence without delivering anything.
    // SAFETY: kill with signal 0 has no effect on the target; it only reports whether it exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A record as it stands now: `running` with its process gone is `interrupted`.
fn settle(mut record: RunRecord) -> RunRecord {
    if record.state == RunState::Running && !record.pid.is_some_and(process_alive) {
        record.state = RunState::Interrupted;
        record.failure.get_or_insert_with(|| "the run's process ended without recording an outcome".into());
    }
    record
}

/// Every run, newest first. Unreadable records are skipped (and named in the second list).
pub fn list(home: &Path) -> (Vec<RunRecord>, Vec<String>) {
    let mut runs = Vec::new();
    let mut unreadable = Vec::new();
    let Ok(entries) = std::fs::read_dir(runs_dir(home)) else { return (runs, unreadable) };
    for entry in entries.flatten() {
        let path = entry.path().join("run.json");
        match std::fs::read_to_string(&path).map(|t| serde_json::from_str::<RunRecord>(&t)) {
            Ok(Ok(record)) => runs.push(settle(record)),
            Ok(Err(_)) | Err(_) => {
                if entry.path().is_dir() {
                    unreadable.push(path.display().to_string());
                }
            }
        }
    }
    runs.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then_with(|| b.run_id.cmp(&a.run_id)));
    (runs, unreadable)
}

/// The run whose id is `id`, or the only one starting with it.
pub fn find(home: &Path, id: &str) -> Result<RunRecord, String> {
    let (runs, _) = list(home);
    if let Some(run) = runs.iter().find(|r| r.run_id == id) {
        return Ok(run.clone());
    }
    let matching: Vec<&RunRecord> = runs.iter().filter(|r| r.run_id.starts_with(id)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("there is no run `{id}`: `sparkplane runs list` shows them")),
        many => Err(format!(
            "`{id}` matches {} runs ({}…): give more of the id",
            many.len(),
            many.iter().take(3).map(|r| r.run_id.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, state: RunState, pid: Option<u32>, started: u64) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            job: "j".into(),
            job_file: "j.yaml".into(),
            spec_hash: "abcd1234".into(),
            environment: Some("local".into()),
            preset: None,
            spark_version: None,
            master: "local[2]".into(),
            state,
            started_ms: started,
            ended_ms: None,
            pid,
            exit_code: None,
            failure: None,
            app_id: None,
            ui_url: None,
            driver_log: "driver.log".into(),
            event_log: None,
            summary: None,
            quality_gates: None,
            interactive: false,
            shadow_of: None,
        }
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_264_496_000), "2026-11-21T12:34:56Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        // Milliseconds are cut, not rounded; the day ends at 23:59:59, never 24:00.
        assert_eq!(rfc3339(1_795_305_599_999), "2026-11-21T23:59:59Z");
        assert_eq!(rfc3339(1_795_305_600_000), "2026-11-22T00:00:00Z");
        // 2026 has no 29 February: the day after the 28th is 1 March.
        assert_eq!(rfc3339(1_772_323_200_000), "2026-03-01T00:00:00Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-30T22:00:00Z");
        let id = new_run_id("trips", 1_795_264_496_000);
        assert!(id.starts_with("trips-20261121-123456-"), "{id}");
    }

    /// A record as `run` wrote it when the summary was a `json!` map.
    const RECORD_WITH_MAP_SUMMARY: &str = r#"{
  "runId": "trips-20261121-123456-0a1b",
  "job": "trips",
  "jobFile": "jobs/trips.yaml",
  "specHash": "abcd1234",
  "environment": "local",
  "preset": null,
  "sparkVersion": "3.5.9",
  "master": "local[2]",
  "state": "succeeded",
  "startedMs": 1795264496000,
  "endedMs": 1795264512345,
  "pid": null,
  "exitCode": 0,
  "failure": null,
  "appId": "local-1795264497000",
  "uiUrl": null,
  "driverLog": "/home/u/.sparkplane/runs/trips-20261121-123456-0a1b/driver.log",
  "eventLog": "/home/u/.sparkplane/runs/trips-20261121-123456-0a1b/events/local-1795264497000",
  "summary": {
    "coreSeconds": 24.5,
    "costUsd": 0.000123,
    "durationMs": 15234,
    "gcShare": 0.0,
    "gibSeconds": 11.75,
    "inputBytes": 1048576,
    "jobs": 3,
    "jobsFailed": 0,
    "outcome": "succeeded",
    "outputBytes": 2048,
    "shuffleBytes": 4096,
    "spillBytes": 0,
    "stages": 4,
    "stagesFailed": 0,
    "taskTimeMs": 9000,
    "tasks": 12,
    "tasksFailed": 0,
    "utilisation": 0.37,
    "warnings": 1
  }
}"#;

    #[test]
    fn records_written_with_a_map_summary_read_and_write_back_unchanged() {
        let record: RunRecord = serde_json::from_str(RECORD_WITH_MAP_SUMMARY).expect("an existing record reads");
        let figures = record.summary.as_ref().expect("its summary reads");
        assert_eq!((figures.jobs, figures.tasks, figures.input_bytes), (3, 12, 1_048_576));
        assert_eq!(figures.utilisation, 0.37);
        assert_eq!(figures.outcome, "succeeded");
        assert_eq!(serde_json::to_string_pretty(&record).ok().as_deref(), Some(RECORD_WITH_MAP_SUMMARY));
    }

    #[test]
    fn a_record_keeps_its_quality_gates_and_one_without_reads_as_none() {
        let old: RunRecord = serde_json::from_str(RECORD_WITH_MAP_SUMMARY).expect("reads");
        assert_eq!(old.quality_gates, None);
        let mut gated = old.clone();
        gated.quality_gates = Some(GateOutcome::Failed);
        let text = serde_json::to_string_pretty(&gated).expect("writes");
        assert!(text.ends_with("  \"qualityGates\": \"failed\"\n}"), "{text}");
        assert_eq!(serde_json::from_str::<RunRecord>(&text).expect("reads back"), gated);
    }

    #[test]
    fn sessions_are_tagged_and_older_untagged_sessions_are_known_by_name() {
        let job = record("j-1", RunState::Succeeded, None, 1);
        assert!(!job.is_session());
        let text = serde_json::to_string(&job).expect("writes");
        assert!(!text.contains("interactive"), "a job's record has no tag: {text}");
        let tagged = RunRecord { interactive: true, ..job.clone() };
        let text = serde_json::to_string(&tagged).expect("writes");
        assert!(text.contains("\"interactive\":true"), "{text}");
        assert!(serde_json::from_str::<RunRecord>(&text).expect("reads").is_session());
        let older = RunRecord { job: SESSION_JOB.into(), ..job };
        assert!(older.is_session());
    }

    #[test]
    fn records_round_trip_and_dead_runs_read_as_interrupted() {
        let home = tempfile::tempdir().unwrap();
        write(home.path(), &record("a-1", RunState::Succeeded, None, 1)).unwrap();
        // A pid that cannot exist: the run was killed without recording its end.
        write(home.path(), &record("a-2", RunState::Running, Some(u32::MAX - 7), 2)).unwrap();
        write(home.path(), &record("b-3", RunState::Running, Some(std::process::id()), 3)).unwrap();
        std::fs::create_dir_all(runs_dir(home.path()).join("broken")).unwrap();
        std::fs::write(runs_dir(home.path()).join("broken/run.json"), "{not json").unwrap();
        let (runs, unreadable) = list(home.path());
        let states: Vec<(&str, RunState)> = runs.iter().map(|r| (r.run_id.as_str(), r.state)).collect();
        assert_eq!(states, [("b-3", RunState::Running), ("a-2", RunState::Interrupted), ("a-1", RunState::Succeeded)]);
        assert_eq!(unreadable.len(), 1);
        assert_eq!(find(home.path(), "a-1").unwrap().run_id, "a-1");
        assert_eq!(find(home.path(), "b").unwrap().run_id, "b-3");
        assert!(find(home.path(), "a").unwrap_err().contains("matches 2 runs"));
        assert!(find(home.path(), "zzz").unwrap_err().contains("there is no run"));
    }

    #[test]
    fn a_runs_summary_says_how_it_ended_then_its_figures_and_logs() {
        let mut run = record("j-1", RunState::Failed, None, 1_795_264_496_000);
        run.ended_ms = Some(1_795_264_496_000 + 187_400);
        run.failure = Some("exit code 1".into());
        run.event_log = Some("/tmp/events/app-1".into());
        run.summary = Some(RunFigures {
            jobs: 3,
            jobs_failed: 1,
            stages: 5,
            tasks: 40,
            tasks_failed: 2,
            input_bytes: 1536,
            output_bytes: 10,
            shuffle_bytes: 3 * 1024 * 1024 * 1024 / 2,
            gc_share: 0.123,
            utilisation: 0.5,
            core_seconds: 12.34,
            gib_seconds: 5.0,
            cost_usd: 0.00012,
            ..RunFigures::default()
        });
        assert_eq!(
            run.summary_text(),
            "run j-1 failed in 3m07s (j on local[2], spec abcd1234)\n  reason:     exit code 1\n  \
             work:       3 jobs (1 failed) · 5 stages (0 failed) · 40 tasks (2 failed)\n  \
             data:       input 1.5 KiB · output 10 B · shuffle 1.5 GiB · spill 0 B\n  \
             time:       GC 12.3% of task time · executor utilisation 50%\n  \
             usage:      12.3 core-seconds · 5.0 GiB-seconds · $0.0001 at OpenCost default prices\n  \
             event log:  /tmp/events/app-1\n  driver log: driver.log\n"
        );
        run.ended_ms = Some(1_795_264_496_000 + 42_000);
        assert_eq!(
            runs_table(&[run]),
            "RUN  JOB  STATE   STARTED               DURATION  ENV\nj-1  j    failed  2026-11-21T12:34:56Z  42.0s     local\n"
        );
    }
}
