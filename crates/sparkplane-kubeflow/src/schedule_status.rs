//! A schedule's status in the Kubeflow operator's v1beta2 shape, and back:
//! what the operator writes to a `ScheduledSparkApplication` after the one
//! schedule decision (`sparkplane_lifecycle::schedule::decide`), and the
//! status it decides on, read from there.
//!
//! `lastRun` is the tick of the latest run started (Kubeflow writes the time
//! it started it: the two differ by the operator's delay), `nextRun` the next
//! tick; `lastRunName` names the newest run, and `pastSuccessfulRunNames` and
//! `pastFailedRunNames` the runs kept after they ended, newest first (kept
//! current as runs end; Kubeflow updates them when it starts the next run).
//! Runs are named `<schedule>-<minutes since the epoch of the tick>`, the name
//! Kubeflow gives with `--scheduled-spark-application-timestamp-precision
//! minutes`. `scheduleState` is `Scheduled`, or `FailedValidation` with
//! `reason` when the schedule cannot be read.
//!
//! Owns: that mapping. Must not: decide which runs start or go.

use sparkplane_api::job::{JobState, ScheduleStatus, SparkJobStatus};
use sparkplane_api::kubeflow::ScheduledSparkApplicationStatus;
use sparkplane_lifecycle::schedule::RunView;

use crate::status::{COMPLETED, FAILED, NEW};

/// Kubeflow's schedule states.
pub const SCHEDULED: &str = "Scheduled";
/// The schedule cannot be read (its cron expression, its time zone, or its template).
pub const FAILED_VALIDATION: &str = "FailedValidation";

/// The state a run is in, from its SparkApplication's Kubeflow state: ended
/// well, ended badly, or not ended.
pub fn run_state(kubeflow_state: &str) -> JobState {
    match kubeflow_state {
        COMPLETED => JobState::Succeeded,
        FAILED => JobState::Failed,
        NEW => JobState::Queued,
        _ => JobState::Running,
    }
}

/// The newest first: by tick, then by name.
fn newest_first(runs: &mut [&RunView]) {
    runs.sort_by(|a, b| b.scheduled_at.cmp(&a.scheduled_at).then_with(|| b.name.cmp(&a.name)));
}

/// The status to write for what the schedule decision left (`decided`),
/// given the runs that exist after its actions (started ones included,
/// deleted ones not).
pub fn scheduled_status(decided: &SparkJobStatus, runs: &[RunView]) -> ScheduledSparkApplicationStatus {
    let schedule = decided.schedule.clone().unwrap_or_default();
    let mut all: Vec<&RunView> = runs.iter().collect();
    newest_first(&mut all);
    let names = |state: JobState| -> Vec<String> {
        all.iter().filter(|r| r.state == Some(state)).map(|r| r.name.clone()).collect()
    };
    let invalid = decided.state == Some(JobState::Failed);
    ScheduledSparkApplicationStatus {
        last_run: schedule.last_schedule_time,
        next_run: schedule.next_schedule_time,
        last_run_name: all.first().map(|r| r.name.clone()),
        past_successful_run_names: names(JobState::Succeeded),
        past_failed_run_names: names(JobState::Failed),
        schedule_state: Some(if invalid { FAILED_VALIDATION } else { SCHEDULED }.to_owned()),
        reason: if invalid { decided.message.clone() } else { None },
    }
}

/// The status a ScheduledSparkApplication's `status` describes, for the
/// schedule decision: when the last run was started and the state the
/// decision leaves a schedule in while nothing changes (so a status read
/// back is no transition).
pub fn schedule_run_status(app: &ScheduledSparkApplicationStatus, suspend: bool) -> SparkJobStatus {
    let (state, reason, message) = match app.schedule_state.as_deref() {
        Some(FAILED_VALIDATION) => (JobState::Failed, "InvalidSpec", app.reason.clone()),
        _ if suspend => (JobState::Suspended, "Suspended", None),
        Some(SCHEDULED) => (JobState::Scheduled, "Scheduled", None),
        _ => return SparkJobStatus::default(),
    };
    SparkJobStatus {
        state: Some(state),
        reason: Some(reason.to_owned()),
        message,
        schedule: Some(ScheduleStatus {
            last_schedule_time: app.last_run.clone(),
            next_schedule_time: app.next_run.clone(),
            ..ScheduleStatus::default()
        }),
        ..SparkJobStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use sparkplane_api::job::{ConcurrencyPolicy, Schedule};
    use sparkplane_lifecycle::schedule::{ScheduleAction, ScheduleObserved, decide, run_name};

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    /// Kubeflow's scheduled example as the import converts it: every minute,
    /// one kept run of each outcome, Allow.
    fn schedule() -> Schedule {
        Schedule {
            cron: Some("* * * * *".into()),
            concurrency_policy: Some(ConcurrencyPolicy::Allow),
            successful_history_limit: Some(1),
            failed_history_limit: Some(1),
            ..Schedule::default()
        }
    }

    fn observe<'a>(
        status: &'a SparkJobStatus,
        schedule: &'a Schedule,
        now: &str,
        runs: Vec<RunView>,
    ) -> ScheduleObserved<'a> {
        ScheduleObserved {
            now: at(now),
            job: "spark-pi-scheduled",
            created: at("2026-11-25T09:00:00Z"),
            generation: 1,
            status,
            schedule,
            suspend: false,
            runs,
            trigger: None,
        }
    }

    fn started(d: &sparkplane_lifecycle::schedule::ScheduleDecision) -> Vec<(String, Timestamp)> {
        d.actions
            .iter()
            .filter_map(|a| match a {
                ScheduleAction::Start(s) => Some((s.name.clone(), s.at)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn missed_runs_start_one_run_for_the_latest_tick_with_kubeflows_minute_names() {
        // The operator was away from 10:00 to 10:05: five ticks missed.
        let written = ScheduledSparkApplicationStatus {
            last_run: Some("2026-11-25T10:00:00Z".into()),
            next_run: Some("2026-11-25T10:01:00Z".into()),
            schedule_state: Some(SCHEDULED.into()),
            ..ScheduledSparkApplicationStatus::default()
        };
        let s = schedule();
        let status = schedule_run_status(&written, false);
        let d = decide(&observe(&status, &s, "2026-11-25T10:05:30Z", vec![]));
        let runs = started(&d);
        let tick = at("2026-11-25T10:05:00Z");
        assert_eq!(runs, [(run_name("spark-pi-scheduled", tick), tick)], "one run, as Kubeflow starts one");
        assert_eq!(runs[0].0, format!("spark-pi-scheduled-{}", tick.as_second() / 60), "Kubeflow's minutes precision");
        let run = RunView { name: runs[0].0.clone(), scheduled_at: Some(tick), state: Some(JobState::Queued) };
        let out = scheduled_status(&d.status, std::slice::from_ref(&run));
        assert_eq!(out.last_run.as_deref(), Some("2026-11-25T10:05:00Z"));
        assert_eq!(out.next_run.as_deref(), Some("2026-11-25T10:06:00Z"));
        assert_eq!(out.last_run_name.as_deref(), Some(run.name.as_str()));
        assert!(out.past_successful_run_names.is_empty() && out.past_failed_run_names.is_empty());
        assert_eq!(out.schedule_state.as_deref(), Some(SCHEDULED));
        // The run completes: it is the one past successful run, and reading back decides nothing new.
        let done = RunView { state: Some(JobState::Succeeded), ..run };
        let out = scheduled_status(&d.status, std::slice::from_ref(&done));
        assert_eq!(out.past_successful_run_names, std::slice::from_ref(&done.name));
        let again = decide(&observe(&schedule_run_status(&out, false), &s, "2026-11-25T10:05:40Z", vec![done.clone()]));
        assert!(started(&again).is_empty(), "{:?}", again.actions);
        assert!(again.actions.is_empty(), "no Event either: {:?}", again.actions);
        assert_eq!(scheduled_status(&again.status, &[done]), out);
    }

    #[test]
    fn older_runs_past_the_history_limit_are_deleted_and_the_names_keep_the_newest() {
        let s = schedule();
        let ticks = ["2026-11-25T10:01:00Z", "2026-11-25T10:02:00Z", "2026-11-25T10:03:00Z"].map(at);
        let runs: Vec<RunView> = ticks
            .iter()
            .zip([JobState::Failed, JobState::Succeeded, JobState::Succeeded])
            .map(|(t, state)| RunView {
                name: run_name("spark-pi-scheduled", *t),
                scheduled_at: Some(*t),
                state: Some(state),
            })
            .collect();
        let written = ScheduledSparkApplicationStatus {
            last_run: Some("2026-11-25T10:03:00Z".into()),
            schedule_state: Some(SCHEDULED.into()),
            ..ScheduledSparkApplicationStatus::default()
        };
        let d = decide(&observe(&schedule_run_status(&written, false), &s, "2026-11-25T10:03:30Z", runs.clone()));
        let deleted: Vec<&str> = d
            .actions
            .iter()
            .filter_map(|a| match a {
                ScheduleAction::Delete { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, [runs[1].name.as_str()], "one successful run kept: the older one goes");
        let left: Vec<RunView> = runs.iter().filter(|r| !deleted.contains(&r.name.as_str())).cloned().collect();
        let out = scheduled_status(&d.status, &left);
        assert_eq!(out.past_successful_run_names, [runs[2].name.clone()]);
        assert_eq!(out.past_failed_run_names, [runs[0].name.clone()]);
        assert_eq!(out.last_run_name.as_deref(), Some(runs[2].name.as_str()));
    }

    #[test]
    fn a_schedule_that_cannot_be_read_fails_validation_with_its_reason() {
        let mut s = schedule();
        s.cron = Some("every tuesday".into());
        let d = decide(&observe(&SparkJobStatus::default(), &s, "2026-11-25T10:00:00Z", vec![]));
        let out = scheduled_status(&d.status, &[]);
        assert_eq!(out.schedule_state.as_deref(), Some(FAILED_VALIDATION));
        assert!(out.reason.as_deref().is_some_and(|r| r.contains("every tuesday")), "{out:?}");
        let again = decide(&observe(&schedule_run_status(&out, false), &s, "2026-11-25T10:01:00Z", vec![]));
        assert!(again.actions.is_empty(), "{:?}", again.actions);
        assert_eq!(run_state(COMPLETED), JobState::Succeeded);
        assert_eq!(run_state("RUNNING"), JobState::Running);
    }
}
