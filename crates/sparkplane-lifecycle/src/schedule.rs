//! Jobs with `spec.schedule`: which runs to start, stop and forget.
//!
//! A scheduled SparkJob does not run itself; it starts runs — child
//! SparkJobs it owns, named `<job>-<minutes since the epoch of the tick>` as
//! a CronJob names its Jobs, so a tick can never start two runs. Missed
//! ticks are caught up in order: every tick within `startingDeadline` of now
//! (at most [`MAX_CATCH_UP`] per look), or only the latest when the job sets
//! no deadline (as Kubernetes does). Concurrency: `Allow` starts every due
//! tick, `Forbid` starts the oldest due tick once no run is active (so a
//! backlog drains one run after another), `Replace` deletes the active runs
//! (an Event says why) and starts the latest due tick. A changed schedule
//! applies at the next look; a job with an active run looks again within
//! [`ACTIVE_LOOK`]. A new `sparkplane.dev/trigger` value starts a manual run
//! at once; under `Forbid` due ticks wait for it like for any active run,
//! under `Replace` it is the newest start: it replaces the active runs, and a
//! tick due in the same look is recorded as taken by it, not started too.
//!
//! Owns: tick arithmetic (croner over jiff, in the job's time zone), run
//! names, history limits. Must not: read the clock or the API.

use std::time::Duration;

use croner::Cron;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};
use sparkplane_api::SparkJob;
use sparkplane_api::job::{
    ConcurrencyPolicy, JobState, MAX_TRANSITIONS, Schedule, ScheduleStatus, SparkJobStatus, Transition,
};

use super::{SCHEDULED_AT_ANNOTATION, SCHEDULED_BY_LABEL, STARTED_BY_ANNOTATION, parse_time, rfc3339, until};

/// The most missed ticks started in one look.
pub const MAX_CATCH_UP: usize = 10;
/// Successful runs kept when the schedule does not say.
pub const DEFAULT_SUCCESSFUL_HISTORY: u32 = 3;
/// Failed runs kept when the schedule does not say.
pub const DEFAULT_FAILED_HISTORY: u32 = 1;
/// How soon a job with an active run looks again.
pub const ACTIVE_LOOK: Duration = Duration::from_secs(10);

/// One run a scheduled job started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunView {
    /// The child SparkJob's name.
    pub name: String,
    /// The tick it was started for.
    pub scheduled_at: Option<Timestamp>,
    /// Its state.
    pub state: Option<JobState>,
}

/// What the decision looks at.
#[derive(Clone, Debug)]
pub struct ScheduleObserved<'a> {
    /// Now.
    pub now: Timestamp,
    /// The job's name.
    pub job: &'a str,
    /// When the job was created (the first tick is after it).
    pub created: Timestamp,
    /// `metadata.generation`.
    pub generation: i64,
    /// The status as last written.
    pub status: &'a SparkJobStatus,
    /// `spec.schedule`.
    pub schedule: &'a Schedule,
    /// `spec.suspend`.
    pub suspend: bool,
    /// The runs it owns.
    pub runs: Vec<RunView>,
    /// The `sparkplane.dev/trigger` annotation.
    pub trigger: Option<&'a str>,
}

/// A run to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    /// The run's name.
    pub name: String,
    /// The tick (now, for a manual run).
    pub at: Timestamp,
    /// Started by `sparkplane trigger`.
    pub manual: bool,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleAction {
    /// Create a run.
    Start(Start),
    /// Delete a run (replaced, or past the history limit).
    Delete {
        /// The run.
        name: String,
        /// Why, for the Event.
        reason: String,
    },
    /// Record an Event on the scheduled job.
    Event {
        /// Warning or Normal.
        warning: bool,
        /// One word.
        reason: String,
        /// A sentence.
        message: String,
    },
}

/// The answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleDecision {
    /// The status to write.
    pub status: SparkJobStatus,
    /// Actions in order.
    pub actions: Vec<ScheduleAction>,
    /// When to look again.
    pub requeue_after: Option<Duration>,
}

/// A schedule's cron expression and time zone.
pub fn parse(schedule: &Schedule) -> Result<(Cron, TimeZone), String> {
    let text = schedule.cron.as_deref().ok_or("spec.schedule.cron is missing")?;
    let cron: Cron = sparkplane_core::cron::parse(text).map_err(|e| format!("spec.schedule.cron `{text}`: {e}"))?;
    let zone = match schedule.time_zone.as_deref() {
        None | Some("UTC") | Some("Etc/UTC") => TimeZone::UTC,
        Some(name) => {
            TimeZone::get(name).map_err(|e| format!("spec.schedule.timeZone `{name}` is not a known time zone: {e}"))?
        }
    };
    Ok((cron, zone))
}

/// Ticks after `from` up to and including `to`, oldest first, at most `limit`
/// (the newest ones when there are more).
pub fn ticks(cron: &Cron, zone: &TimeZone, from: Timestamp, to: Timestamp, limit: usize) -> Vec<Timestamp> {
    let mut out = std::collections::VecDeque::new();
    let mut cursor = from.to_zoned(zone.clone());
    // Bounded: a minute schedule over a year of downtime is 525,600 ticks.
    for _ in 0..600_000 {
        let Ok(next) = cron.find_next_occurrence(&cursor, false) else { break };
        if next.timestamp() > to {
            break;
        }
        out.push_back(next.timestamp());
        if out.len() > limit {
            out.pop_front();
        }
        cursor = next;
    }
    out.into()
}

/// The run name for a tick: `<job>-<minutes since the epoch>`.
pub fn run_name(job: &str, tick: Timestamp) -> String {
    format!("{job}-{}", tick.as_second().div_euclid(60))
}

/// The run name for a manual trigger: `<job>-m<8 hex of the trigger value>`.
pub fn manual_run_name(job: &str, trigger: &str) -> String {
    let digest = Sha256::digest(trigger.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{job}-m{hex}")
}

/// The child SparkJob for a run: the scheduled job's spec without the
/// schedule, labelled with its parent, annotated with its tick and origin.
/// The owner reference is the caller's to add (it needs the parent's uid).
pub fn run_job(parent: &SparkJob, start: &Start) -> SparkJob {
    let mut spec = parent.spec.clone();
    spec.schedule = None;
    spec.suspend = None;
    let mut job = SparkJob::new(&start.name, spec);
    job.metadata.namespace.clone_from(&parent.metadata.namespace);
    let mut labels = parent.metadata.labels.clone().unwrap_or_default();
    labels.insert(SCHEDULED_BY_LABEL.into(), parent.metadata.name.clone().unwrap_or_default());
    job.metadata.labels = Some(labels);
    let started_by = if start.manual { "manual" } else { "schedule" };
    job.metadata.annotations = Some(
        [
            (SCHEDULED_AT_ANNOTATION.to_owned(), rfc3339(start.at)),
            (STARTED_BY_ANNOTATION.to_owned(), started_by.to_owned()),
        ]
        .into_iter()
        .collect(),
    );
    job
}

fn event(warning: bool, reason: &str, message: String) -> ScheduleAction {
    ScheduleAction::Event { warning, reason: reason.to_owned(), message }
}

/// Decides what a scheduled job starts, stops and forgets now.
pub fn decide(o: &ScheduleObserved<'_>) -> ScheduleDecision {
    let mut status = o.status.clone();
    status.observed_generation = Some(o.generation);
    let (cron, zone) = match parse(o.schedule) {
        Ok(parsed) => parsed,
        Err(message) => return invalid_spec(status, message),
    };
    let mut sched = status.schedule.take().unwrap_or_default();
    let active: Vec<&RunView> = o.runs.iter().filter(|r| r.state.is_none_or(|s| !s.is_final())).collect();
    let mut actions = Vec::new();
    // A manual run, suspended or not.
    let manual = manual_start(o, &mut status, &mut actions);
    let (state, reason, message) = if o.suspend {
        (JobState::Suspended, "Suspended", "spec.suspend is true: no runs are started".to_owned())
    } else {
        scheduled_starts(o, (&cron, &zone), &active, manual.as_deref(), &mut sched, &mut actions)
    };
    actions.extend(history_deletes(o.schedule, &o.runs));
    let now_active = active_after(&active, &actions);
    let watching = !now_active.is_empty();
    sched.active = now_active;
    let next = if o.suspend {
        None
    } else {
        cron.find_next_occurrence(&o.now.to_zoned(zone.clone()), false).ok().map(|z| z.timestamp())
    };
    sched.next_schedule_time = next.map(rfc3339);
    record_state(&mut status, &mut actions, o.now, (state, reason, message));
    status.schedule = Some(sched);
    ScheduleDecision { status, actions, requeue_after: requeue_after(o.now, next, watching) }
}

/// A schedule that cannot be read: the job fails, with one Event the first time.
fn invalid_spec(mut status: SparkJobStatus, message: String) -> ScheduleDecision {
    let mut actions = Vec::new();
    if status.state != Some(JobState::Failed) {
        actions.push(event(true, "InvalidSpec", message.clone()));
    }
    status.state = Some(JobState::Failed);
    status.reason = Some("InvalidSpec".into());
    status.message = Some(message);
    ScheduleDecision { status, actions, requeue_after: None }
}

/// A new `sparkplane.dev/trigger` value starts a manual run (recorded as
/// `lastTrigger`); returns its name.
fn manual_start(
    o: &ScheduleObserved<'_>,
    status: &mut SparkJobStatus,
    actions: &mut Vec<ScheduleAction>,
) -> Option<String> {
    let trigger = o.trigger.filter(|trigger| status.last_trigger.as_deref() != Some(*trigger))?;
    status.last_trigger = Some(trigger.to_owned());
    let start = Start { name: manual_run_name(o.job, trigger), at: o.now, manual: true };
    actions.push(event(false, "ManualRun", format!("started {} by `sparkplane trigger`", start.name)));
    let name = start.name.clone();
    actions.push(ScheduleAction::Start(start));
    Some(name)
}

/// The runs a job that is not suspended starts for its due ticks, and the
/// state that says so.
fn scheduled_starts(
    o: &ScheduleObserved<'_>,
    (cron, zone): (&Cron, &TimeZone),
    active: &[&RunView],
    manual: Option<&str>,
    sched: &mut ScheduleStatus,
    actions: &mut Vec<ScheduleAction>,
) -> (JobState, &'static str, String) {
    let last = last_started(o.job, sched.last_schedule_time.as_deref().and_then(parse_time), &o.runs);
    if let Some(last) = last {
        sched.last_schedule_time = Some(rfc3339(last));
    }
    let last = last.unwrap_or(o.created);
    let policy = o.schedule.concurrency_policy.unwrap_or(ConcurrencyPolicy::Allow);
    let (from, limit) = catch_up_window(o.now, last, o.schedule.starting_deadline);
    record_missed(sched, &ticks(cron, zone, last, from, MAX_CATCH_UP), o.now);
    let due = not_started(o.job, &o.runs, ticks(cron, zone, from, o.now, limit));
    if policy == ConcurrencyPolicy::Replace {
        actions.extend(replace_active(active, replaced_by(manual, due.last())));
        if let (Some(run), Some(latest)) = (manual, due.last()) {
            actions.push(event(
                false,
                "TickReplaced",
                format!(
                    "the tick at {} was not started: the manual run {run} runs in its place (concurrencyPolicy Replace)",
                    rfc3339(*latest)
                ),
            ));
            sched.last_schedule_time = Some(rfc3339(*latest));
        }
    }
    let chosen = chosen_ticks(policy, &due, active.is_empty(), manual.is_some());
    for tick in &chosen {
        let start = Start { name: run_name(o.job, *tick), at: *tick, manual: false };
        actions.push(event(
            false,
            "ScheduledRun",
            format!("started {} for the tick at {}", start.name, rfc3339(*tick)),
        ));
        actions.push(ScheduleAction::Start(start));
    }
    if let Some(latest) = chosen.last() {
        sched.last_schedule_time = Some(rfc3339(*latest));
    }
    scheduled_state(policy, due.len(), chosen.len(), o.schedule.cron.as_deref().unwrap_or_default())
}

/// The last tick started: the later of the status's `lastScheduleTime` and
/// the newest tick whose run exists (a run named for its tick, so a manual
/// run or one another operator started is not a tick). A status write lost
/// after its run was created is so recovered from the runs, and the same
/// look twice starts nothing twice.
pub fn last_started(job: &str, recorded: Option<Timestamp>, runs: &[RunView]) -> Option<Timestamp> {
    let newest_run = runs.iter().filter_map(|r| r.scheduled_at.filter(|tick| r.name == run_name(job, *tick))).max();
    recorded.max(newest_run)
}

/// Where catching up starts and how many ticks it may start: every tick
/// within `startingDeadline` of now (at most [`MAX_CATCH_UP`]), or only the
/// latest since the last one when there is no deadline.
fn catch_up_window(now: Timestamp, last: Timestamp, deadline: Option<sparkplane_api::Duration>) -> (Timestamp, usize) {
    match deadline {
        Some(deadline) => {
            let window = now
                .checked_sub(jiff::SignedDuration::from_millis(deadline.as_millis().try_into().unwrap_or(i64::MAX)))
                .unwrap_or(Timestamp::MIN);
            (last.max(window), MAX_CATCH_UP)
        }
        None => (last, 1),
    }
}

/// Ticks missed by more than the deadline are recorded as skipped (the
/// newest [`MAX_TRANSITIONS`] records kept).
fn record_missed(sched: &mut ScheduleStatus, missed: &[Timestamp], now: Timestamp) {
    let Some(newest) = missed.last() else { return };
    sched.skipped.push(Transition {
        state: "Skipped".into(),
        reason: Some("MissedDeadline".into()),
        message: Some(format!(
            "{} tick(s) up to {} were missed by more than startingDeadline",
            missed.len(),
            rfc3339(*newest)
        )),
        time: rfc3339(now),
    });
    let excess = sched.skipped.len().saturating_sub(MAX_TRANSITIONS);
    sched.skipped.drain(..excess);
}

/// Due ticks without a run yet: a tick's run name is fixed, so a tick whose
/// run exists has been started.
fn not_started(job: &str, runs: &[RunView], due: Vec<Timestamp>) -> Vec<Timestamp> {
    due.into_iter().filter(|t| !runs.iter().any(|r| r.name == run_name(job, *t))).collect()
}

/// The due ticks a concurrency policy starts: `Allow` all, `Forbid` the
/// oldest once nothing runs, `Replace` the latest unless a manual run takes
/// its place (the newest start wins: one run at a time, always).
fn chosen_ticks(policy: ConcurrencyPolicy, due: &[Timestamp], none_active: bool, manual: bool) -> Vec<Timestamp> {
    match policy {
        ConcurrencyPolicy::Allow => due.to_vec(),
        ConcurrencyPolicy::Forbid if none_active && !manual => due.first().copied().into_iter().collect(),
        ConcurrencyPolicy::Forbid => Vec::new(),
        ConcurrencyPolicy::Replace if manual && !due.is_empty() => Vec::new(),
        ConcurrencyPolicy::Replace => due.last().copied().into_iter().collect(),
    }
}

/// Under `Replace`, what replaces the active runs: a manual run started in
/// this look, else the latest due tick; nothing when neither.
fn replaced_by(manual: Option<&str>, latest_due: Option<&Timestamp>) -> Option<String> {
    match (manual, latest_due) {
        (Some(run), _) => Some(format!("the manual run {run}")),
        (None, Some(latest)) => Some(format!("the tick at {}", rfc3339(*latest))),
        (None, None) => None,
    }
}

/// Deletes every active run `by` replaces, each after the Event that says
/// why (the run and its status go with the delete).
fn replace_active(active: &[&RunView], by: Option<String>) -> Vec<ScheduleAction> {
    let Some(by) = by else { return Vec::new() };
    active
        .iter()
        .flat_map(|run| {
            [
                event(
                    false,
                    "Replaced",
                    format!("deleted the active run {}: {by} replaces it (concurrencyPolicy Replace)", run.name),
                ),
                ScheduleAction::Delete { name: run.name.clone(), reason: "Replaced".into() },
            ]
        })
        .collect()
}

/// The state of a job that is not suspended: `Waiting` while `Forbid` holds
/// due ticks back, else `Scheduled`.
fn scheduled_state(
    policy: ConcurrencyPolicy,
    due: usize,
    chosen: usize,
    cron: &str,
) -> (JobState, &'static str, String) {
    let waiting = due - chosen.min(due);
    if waiting > 0 && policy == ConcurrencyPolicy::Forbid {
        (
            JobState::Scheduled,
            "Waiting",
            format!("{waiting} due run(s) wait for the active run to end (concurrencyPolicy Forbid)"),
        )
    } else {
        (JobState::Scheduled, "Scheduled", format!("runs on `{cron}`"))
    }
}

/// History limits: the oldest finished runs beyond them go, successful
/// ones first.
fn history_deletes(schedule: &Schedule, runs: &[RunView]) -> Vec<ScheduleAction> {
    let keep = |state: JobState| match state {
        JobState::Succeeded => schedule.successful_history_limit.unwrap_or(DEFAULT_SUCCESSFUL_HISTORY),
        _ => schedule.failed_history_limit.unwrap_or(DEFAULT_FAILED_HISTORY),
    };
    let mut deletes = Vec::new();
    for final_state in [JobState::Succeeded, JobState::Failed] {
        let mut done: Vec<&RunView> = runs.iter().filter(|r| r.state == Some(final_state)).collect();
        done.sort_by(|a, b| b.scheduled_at.cmp(&a.scheduled_at).then(b.name.cmp(&a.name)));
        for run in done.iter().skip(usize::try_from(keep(final_state)).unwrap_or(usize::MAX)) {
            deletes.push(ScheduleAction::Delete { name: run.name.clone(), reason: "HistoryLimit".into() });
        }
    }
    deletes
}

/// The runs active after the actions: those active now that are not
/// replaced, and those started; sorted, each once.
fn active_after(active: &[&RunView], actions: &[ScheduleAction]) -> Vec<String> {
    let replaced: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            ScheduleAction::Delete { name, reason } if reason == "Replaced" => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut now_active: Vec<String> =
        active.iter().map(|r| r.name.clone()).filter(|n| !replaced.contains(&n.as_str())).collect();
    now_active.extend(actions.iter().filter_map(|a| match a {
        ScheduleAction::Start(s) => Some(s.name.clone()),
        _ => None,
    }));
    now_active.sort();
    now_active.dedup();
    now_active
}

/// Writes the state; a change of state or reason is also an Event and a
/// transition (the newest [`MAX_TRANSITIONS`] kept).
fn record_state(
    status: &mut SparkJobStatus,
    actions: &mut Vec<ScheduleAction>,
    now: Timestamp,
    (state, reason, message): (JobState, &str, String),
) {
    if status.state != Some(state) || status.reason.as_deref() != Some(reason) {
        actions.push(event(false, reason, message.clone()));
        status.transitions.push(Transition {
            state: state.as_str().into(),
            reason: Some(reason.into()),
            message: Some(message.clone()),
            time: rfc3339(now),
        });
        let excess = status.transitions.len().saturating_sub(MAX_TRANSITIONS);
        status.transitions.drain(..excess);
    }
    status.state = Some(state);
    status.reason = Some(reason.into());
    status.message = Some(message);
}

/// When to look again: at the next tick, and soon while a run is active (a
/// Forbid backlog waits on it, `active` must drop it once it ends); never
/// sooner than 100 ms. A run that ends wakes its parent; this look is the
/// safety net for a wake-up lost with a replica that stopped, or a run
/// another replica ended.
fn requeue_after(now: Timestamp, next: Option<Timestamp>, watching: bool) -> Option<Duration> {
    let mut requeue = next.map(|at| until(now, at));
    if watching {
        requeue = Some(requeue.map_or(ACTIVE_LOOK, |r| r.min(ACTIVE_LOOK)));
    }
    requeue.map(|r| r.max(Duration::from_millis(100)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAST_9: &str = "2026-11-22T09:00:00Z";

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn schedule(cron: &str, policy: ConcurrencyPolicy, deadline: Option<u64>) -> Schedule {
        Schedule {
            cron: Some(cron.into()),
            concurrency_policy: Some(policy),
            starting_deadline: deadline.map(sparkplane_api::Duration::from_secs),
            ..Schedule::default()
        }
    }

    fn starts(decision: &ScheduleDecision) -> Vec<String> {
        decision
            .actions
            .iter()
            .filter_map(|a| match a {
                ScheduleAction::Start(s) => Some(s.name.clone()),
                _ => None,
            })
            .collect()
    }

    fn observed<'a>(
        schedule: &'a Schedule,
        status: &'a SparkJobStatus,
        now: &str,
        runs: Vec<RunView>,
    ) -> ScheduleObserved<'a> {
        ScheduleObserved {
            now: at(now),
            job: "nightly",
            created: at("2026-11-22T00:00:00Z"),
            generation: 1,
            status,
            schedule,
            suspend: false,
            runs,
            trigger: None,
        }
    }

    fn last(time: &str) -> SparkJobStatus {
        SparkJobStatus {
            schedule: Some(ScheduleStatus { last_schedule_time: Some(time.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn three_missed_runs_are_caught_up_in_order_within_the_deadline() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Allow, Some(4 * 3600));
        let status = last("2026-11-22T09:00:00Z");
        let d = decide(&observed(&s, &status, "2026-11-22T12:30:00Z", vec![]));
        let names: Vec<String> = ["10:00", "11:00", "12:00"]
            .iter()
            .map(|t| run_name("nightly", at(&format!("2026-11-22T{t}:00Z"))))
            .collect();
        assert_eq!(starts(&d), names);
        let sched = d.status.schedule.expect("schedule status");
        assert_eq!(sched.last_schedule_time.as_deref(), Some("2026-11-22T12:00:00Z"));
        assert_eq!(sched.next_schedule_time.as_deref(), Some("2026-11-22T13:00:00Z"));
        assert_eq!(sched.active, {
            let mut n = names.clone();
            n.sort();
            n
        });
        // The three runs are active: it looks again soon, not at 13:00.
        assert_eq!(d.requeue_after, Some(ACTIVE_LOOK));
    }

    #[test]
    fn without_a_deadline_only_the_latest_missed_tick_runs() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Allow, None);
        let status = last("2026-11-22T09:00:00Z");
        let d = decide(&observed(&s, &status, "2026-11-22T12:30:00Z", vec![]));
        assert_eq!(starts(&d), [run_name("nightly", at("2026-11-22T12:00:00Z"))]);
    }

    #[test]
    fn ticks_older_than_the_deadline_are_skipped_and_recorded() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Allow, Some(5400));
        let status = last("2026-11-22T06:00:00Z");
        let d = decide(&observed(&s, &status, "2026-11-22T12:29:00Z", vec![]));
        assert_eq!(
            starts(&d),
            [run_name("nightly", at("2026-11-22T11:00:00Z")), run_name("nightly", at("2026-11-22T12:00:00Z"))]
        );
        let skipped = &d.status.schedule.expect("status").skipped;
        assert_eq!(skipped.len(), 1);
        assert_eq!(
            skipped[0].message.as_deref(),
            Some("4 tick(s) up to 2026-11-22T10:00:00Z were missed by more than startingDeadline")
        );
    }

    #[test]
    fn forbid_drains_a_backlog_one_run_at_a_time() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Forbid, Some(4 * 3600));
        let status = last("2026-11-22T09:00:00Z");
        let first = decide(&observed(&s, &status, "2026-11-22T12:30:00Z", vec![]));
        let ten = run_name("nightly", at("2026-11-22T10:00:00Z"));
        assert_eq!(starts(&first), std::slice::from_ref(&ten));
        assert_eq!(first.status.reason.as_deref(), Some("Waiting"));
        // While 10:00 runs, nothing starts.
        let running = vec![RunView {
            name: ten.clone(),
            scheduled_at: Some(at("2026-11-22T10:00:00Z")),
            state: Some(JobState::Running),
        }];
        let second = decide(&observed(&s, &first.status, "2026-11-22T12:31:00Z", running));
        assert!(starts(&second).is_empty());
        // Once it ends, 11:00 starts.
        let done = vec![RunView {
            name: ten,
            scheduled_at: Some(at("2026-11-22T10:00:00Z")),
            state: Some(JobState::Succeeded),
        }];
        let third = decide(&observed(&s, &second.status, "2026-11-22T12:40:00Z", done));
        assert_eq!(starts(&third), [run_name("nightly", at("2026-11-22T11:00:00Z"))]);
    }

    #[test]
    fn replace_stops_the_active_run_and_starts_the_latest_tick() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Replace, Some(3600));
        let status = last("2026-11-22T11:00:00Z");
        let old = run_name("nightly", at("2026-11-22T11:00:00Z"));
        let runs = vec![RunView {
            name: old.clone(),
            scheduled_at: Some(at("2026-11-22T11:00:00Z")),
            state: Some(JobState::Running),
        }];
        let d = decide(&observed(&s, &status, "2026-11-22T12:00:30Z", runs));
        let new = run_name("nightly", at("2026-11-22T12:00:00Z"));
        // The Event says why the run went (it and its status are deleted), then the new run starts.
        assert_eq!(
            d.actions[..4],
            [
                ScheduleAction::Event {
                    warning: false,
                    reason: "Replaced".into(),
                    message: format!(
                        "deleted the active run {old}: the tick at 2026-11-22T12:00:00Z replaces it (concurrencyPolicy Replace)"
                    ),
                },
                ScheduleAction::Delete { name: old.clone(), reason: "Replaced".into() },
                ScheduleAction::Event {
                    warning: false,
                    reason: "ScheduledRun".into(),
                    message: format!("started {new} for the tick at 2026-11-22T12:00:00Z"),
                },
                ScheduleAction::Start(Start { name: new.clone(), at: at("2026-11-22T12:00:00Z"), manual: false }),
            ]
        );
        assert_eq!(d.status.schedule.expect("status").active, [new]);
        // No tick due: the running run stays.
        let runs = vec![RunView {
            name: old.clone(),
            scheduled_at: Some(at("2026-11-22T11:00:00Z")),
            state: Some(JobState::Running),
        }];
        let quiet = decide(&observed(&s, &status, "2026-11-22T11:30:00Z", runs));
        assert!(quiet.actions.iter().all(|a| !matches!(a, ScheduleAction::Delete { .. })), "{:?}", quiet.actions);
    }

    #[test]
    fn under_replace_a_manual_run_in_the_same_look_as_a_tick_is_the_only_start() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Replace, Some(3600));
        let status = last("2026-11-22T11:00:00Z");
        let old = run_name("nightly", at("2026-11-22T11:00:00Z"));
        let running = || {
            vec![RunView {
                name: old.clone(),
                scheduled_at: Some(at("2026-11-22T11:00:00Z")),
                state: Some(JobState::Running),
            }]
        };
        let mut o = observed(&s, &status, "2026-11-22T12:00:30Z", running());
        o.trigger = Some("2026-11-22T12:00:20Z");
        let d = decide(&o);
        let manual = manual_run_name("nightly", "2026-11-22T12:00:20Z");
        assert_eq!(starts(&d), std::slice::from_ref(&manual), "one start: the manual run");
        let deleted: Vec<&ScheduleAction> =
            d.actions.iter().filter(|a| matches!(a, ScheduleAction::Delete { .. })).collect();
        assert_eq!(deleted, [&ScheduleAction::Delete { name: old.clone(), reason: "Replaced".into() }]);
        let messages: Vec<&str> = d
            .actions
            .iter()
            .filter_map(|a| match a {
                ScheduleAction::Event { reason, message, .. } if reason.contains("Replaced") => Some(message.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            messages,
            [
                format!(
                    "deleted the active run {old}: the manual run {manual} replaces it (concurrencyPolicy Replace)"
                ),
                format!(
                    "the tick at 2026-11-22T12:00:00Z was not started: the manual run {manual} runs in its place (concurrencyPolicy Replace)"
                ),
            ]
        );
        let sched = d.status.schedule.clone().expect("status");
        assert_eq!(sched.active, std::slice::from_ref(&manual));
        // The tick counts as taken: the next look starts nothing more.
        let runs = vec![RunView { name: manual.clone(), scheduled_at: None, state: Some(JobState::Running) }];
        let next = decide(&observed(&s, &d.status, "2026-11-22T12:01:00Z", runs));
        assert!(starts(&next).is_empty(), "{:?}", next.actions);
        // A trigger with no tick due replaces the active run too.
        let mut quiet = observed(&s, &status, "2026-11-22T11:30:00Z", running());
        quiet.trigger = Some("2026-11-22T11:30:00Z");
        let q = decide(&quiet);
        assert_eq!(starts(&q), [manual_run_name("nightly", "2026-11-22T11:30:00Z")]);
        assert!(q.actions.contains(&ScheduleAction::Delete { name: old, reason: "Replaced".into() }));
    }

    #[test]
    fn a_job_with_an_active_run_looks_again_soon_and_drops_the_run_once_it_ended() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Allow, Some(3600));
        let status = last("2026-11-22T12:00:00Z");
        let run = |state| RunView {
            name: run_name("nightly", at("2026-11-22T12:00:00Z")),
            scheduled_at: Some(at("2026-11-22T12:00:00Z")),
            state: Some(state),
        };
        let running = decide(&observed(&s, &status, "2026-11-22T12:30:00Z", vec![run(JobState::Running)]));
        assert_eq!(running.status.schedule.as_ref().expect("status").active, [run(JobState::Running).name]);
        assert_eq!(running.requeue_after, Some(ACTIVE_LOOK), "not only at 13:00");
        let ended = decide(&observed(&s, &running.status, "2026-11-22T12:30:10Z", vec![run(JobState::Succeeded)]));
        assert!(ended.status.schedule.as_ref().expect("status").active.is_empty());
        assert_eq!(ended.requeue_after, Some(Duration::from_secs(1790)));
        // Suspended, a run still active is looked at too.
        let mut o = observed(&s, &status, "2026-11-22T12:30:00Z", vec![run(JobState::Running)]);
        o.suspend = true;
        assert_eq!(decide(&o).requeue_after, Some(ACTIVE_LOOK));
    }

    #[test]
    fn a_trigger_starts_one_manual_run_and_history_is_limited() {
        let s =
            Schedule { successful_history_limit: Some(1), ..schedule("0 3 * * *", ConcurrencyPolicy::Forbid, None) };
        let status = last("2026-11-22T03:00:00Z");
        let runs: Vec<RunView> = (1..=3)
            .map(|h| RunView {
                name: format!("nightly-r{h}"),
                scheduled_at: Some(at(&format!("2026-11-2{h}T03:00:00Z"))),
                state: Some(JobState::Succeeded),
            })
            .collect();
        let mut o = observed(&s, &status, "2026-11-22T10:00:00Z", runs);
        o.trigger = Some("2026-11-22T10:00:00Z");
        let d = decide(&o);
        assert_eq!(starts(&d), [manual_run_name("nightly", "2026-11-22T10:00:00Z")]);
        assert_eq!(d.status.last_trigger.as_deref(), Some("2026-11-22T10:00:00Z"));
        let deleted: Vec<&str> = d
            .actions
            .iter()
            .filter_map(|a| match a {
                ScheduleAction::Delete { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["nightly-r2", "nightly-r1"]);
        // The same trigger again starts nothing.
        let again = decide(&ScheduleObserved { status: &d.status, ..o.clone() });
        assert!(starts(&again).is_empty());
    }

    #[test]
    fn time_zones_and_bad_schedules() {
        let s = Schedule {
            time_zone: Some("Europe/Berlin".into()),
            ..schedule("0 3 * * *", ConcurrencyPolicy::Allow, None)
        };
        let status = last("2026-11-21T02:00:00Z");
        let d = decide(&observed(&s, &status, "2026-11-22T02:30:00Z", vec![]));
        // 03:00 in Berlin (UTC+1 in November) is 02:00 UTC.
        assert_eq!(starts(&d), [run_name("nightly", at("2026-11-22T02:00:00Z"))]);
        let bad = Schedule { time_zone: Some("Mars/Olympus".into()), ..s.clone() };
        let d = decide(&observed(&bad, &status, "2026-11-22T02:30:00Z", vec![]));
        assert_eq!(d.status.state, Some(JobState::Failed));
        assert!(
            d.status
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("spec.schedule.timeZone `Mars/Olympus` is not a known time zone"))
        );
    }

    #[test]
    fn suspended_schedules_start_nothing_but_manual_runs() {
        let s = schedule("* * * * *", ConcurrencyPolicy::Allow, Some(600));
        let status = last("2026-11-22T09:00:00Z");
        let mut o = observed(&s, &status, "2026-11-22T09:05:00Z", vec![]);
        o.suspend = true;
        let d = decide(&o);
        assert!(starts(&d).is_empty());
        assert_eq!(d.status.state, Some(JobState::Suspended));
        assert_eq!(d.requeue_after, None);
    }

    #[test]
    fn an_invalid_schedule_fails_the_job_with_one_event_the_first_time() {
        // (state before, Events written)
        let table = [(None, 1), (Some(JobState::Scheduled), 1), (Some(JobState::Failed), 0)];
        for (before, events) in table {
            let status = SparkJobStatus { state: before, ..Default::default() };
            let d = invalid_spec(status, "spec.schedule.cron is missing".into());
            assert_eq!(d.actions.len(), events, "{before:?}");
            assert_eq!(d.status.state, Some(JobState::Failed));
            assert_eq!(d.status.reason.as_deref(), Some("InvalidSpec"));
            assert_eq!(d.status.message.as_deref(), Some("spec.schedule.cron is missing"));
            assert_eq!(d.requeue_after, None);
        }
    }

    #[test]
    fn only_a_new_trigger_value_starts_a_manual_run() {
        // (trigger, last trigger recorded, run started)
        let table = [
            (None, None, false),
            (None, Some("t1"), false),
            (Some("t1"), None, true),
            (Some("t2"), Some("t1"), true),
            (Some("t1"), Some("t1"), false),
        ];
        let s = schedule("0 * * * *", ConcurrencyPolicy::Allow, None);
        for (trigger, before, started) in table {
            let mut status = SparkJobStatus { last_trigger: before.map(str::to_owned), ..Default::default() };
            let recorded = status.clone();
            let mut o = observed(&s, &recorded, "2026-11-22T10:00:00Z", vec![]);
            o.trigger = trigger;
            let mut actions = Vec::new();
            let manual = manual_start(&o, &mut status, &mut actions);
            let expected = trigger.filter(|_| started).map(|t| manual_run_name("nightly", t));
            assert_eq!(manual, expected, "{trigger:?} after {before:?}");
            assert_eq!(actions.len(), if started { 2 } else { 0 });
            assert_eq!(status.last_trigger.as_deref(), if started { trigger } else { before });
        }
    }

    #[test]
    fn the_catch_up_window_is_the_deadline_or_only_the_latest_tick() {
        let now = at("2026-11-22T12:00:00Z");
        // (last tick, deadline in seconds, from, limit)
        let table = [
            ("2026-11-22T09:00:00Z", None, "2026-11-22T09:00:00Z", 1),
            ("2026-11-22T09:00:00Z", Some(3600), "2026-11-22T11:00:00Z", MAX_CATCH_UP),
            ("2026-11-22T11:30:00Z", Some(3600), "2026-11-22T11:30:00Z", MAX_CATCH_UP),
            ("2026-11-22T09:00:00Z", Some(0), "2026-11-22T12:00:00Z", MAX_CATCH_UP),
        ];
        for (last, deadline, from, limit) in table {
            let window = catch_up_window(now, at(last), deadline.map(sparkplane_api::Duration::from_secs));
            assert_eq!(window, (at(from), limit), "{last} {deadline:?}");
        }
        // A deadline longer than the epoch is old starts at the last tick.
        let far = catch_up_window(now, at(LAST_9), Some(sparkplane_api::Duration::from_millis(u64::MAX)));
        assert_eq!(far, (at(LAST_9), MAX_CATCH_UP));
    }

    #[test]
    fn missed_ticks_are_recorded_once_a_look_and_the_record_is_bounded() {
        let now = at("2026-11-22T12:00:00Z");
        // (records before, ticks missed, records after, newest message)
        let table = [
            (0, 0, 0, None),
            (0, 1, 1, Some("1 tick(s) up to 2026-11-22T10:00:00Z were missed by more than startingDeadline")),
            (0, 3, 1, Some("3 tick(s) up to 2026-11-22T12:00:00Z were missed by more than startingDeadline")),
            (
                MAX_TRANSITIONS,
                2,
                MAX_TRANSITIONS,
                Some("2 tick(s) up to 2026-11-22T11:00:00Z were missed by more than startingDeadline"),
            ),
        ];
        for (before, missed, after, newest) in table {
            let old = Transition { state: "Skipped".into(), reason: None, message: None, time: "old".into() };
            let mut sched = ScheduleStatus { skipped: vec![old; before], ..Default::default() };
            let missed: Vec<Timestamp> = (0..missed).map(|h| at(&format!("2026-11-22T{:02}:00:00Z", 10 + h))).collect();
            record_missed(&mut sched, &missed, now);
            assert_eq!(sched.skipped.len(), after, "{before} + {}", missed.len());
            assert_eq!(sched.skipped.last().and_then(|t| t.message.as_deref()), newest);
            if newest.is_some() {
                let last = sched.skipped.last().expect("a record");
                assert_eq!(last.reason.as_deref(), Some("MissedDeadline"));
                assert_eq!(last.time, "2026-11-22T12:00:00Z");
            }
        }
    }

    #[test]
    fn a_tick_whose_run_exists_is_not_due_again() {
        let ten = at("2026-11-22T10:00:00Z");
        let eleven = at("2026-11-22T11:00:00Z");
        let run = |tick| RunView { name: run_name("nightly", tick), scheduled_at: Some(tick), state: None };
        // (runs, still due)
        let table = [
            (vec![], vec![ten, eleven]),
            (vec![run(ten)], vec![eleven]),
            (vec![run(ten), run(eleven)], vec![]),
            (vec![RunView { name: "other-29428260".into(), scheduled_at: None, state: None }], vec![ten, eleven]),
        ];
        for (runs, due) in table {
            assert_eq!(not_started("nightly", &runs, vec![ten, eleven]), due, "{runs:?}");
        }
    }

    #[test]
    fn the_last_tick_started_is_the_later_of_the_status_and_the_newest_tick_run() {
        let (ten, eleven, noon) = (at("2026-11-22T10:00:00Z"), at("2026-11-22T11:00:00Z"), at("2026-11-22T12:00:00Z"));
        let run = |tick| RunView { name: run_name("nightly", tick), scheduled_at: Some(tick), state: None };
        let manual = RunView { name: manual_run_name("nightly", "t1"), scheduled_at: Some(noon), state: None };
        let foreign = RunView { name: "nightly-1764409500000".into(), scheduled_at: Some(noon), state: None };
        let unknown = RunView { name: run_name("nightly", noon), scheduled_at: None, state: None };
        // (recorded, runs, last started)
        let table = [
            (None, vec![], None),
            (Some(ten), vec![], Some(ten)),
            (None, vec![run(ten)], Some(ten)),
            (Some(ten), vec![run(eleven), run(ten)], Some(eleven)),
            (Some(noon), vec![run(ten), run(eleven)], Some(noon)),
            (Some(ten), vec![manual.clone(), foreign.clone(), unknown.clone()], Some(ten)),
            (None, vec![manual, foreign, unknown], None),
        ];
        for (recorded, runs, last) in table {
            assert_eq!(last_started("nightly", recorded, &runs), last, "{recorded:?} {runs:?}");
        }
    }

    #[test]
    fn a_status_write_lost_after_its_run_was_created_starts_nothing_again() {
        let s = schedule("0 * * * *", ConcurrencyPolicy::Allow, None);
        let eleven = at("2026-11-22T11:00:00Z");
        let status = last("2026-11-22T10:00:00Z");
        let runs = vec![RunView {
            name: run_name("nightly", eleven),
            scheduled_at: Some(eleven),
            state: Some(JobState::Running),
        }];
        let d = decide(&observed(&s, &status, "2026-11-22T11:30:00Z", runs));
        assert!(starts(&d).is_empty(), "{:?}", d.actions);
        let sched = d.status.schedule.expect("a schedule status");
        assert_eq!(sched.last_schedule_time.as_deref(), Some("2026-11-22T11:00:00Z"));
        assert_eq!(sched.active, vec![run_name("nightly", eleven)]);
    }

    #[test]
    fn each_concurrency_policy_chooses_its_ticks() {
        let ticks = [at("2026-11-22T10:00:00Z"), at("2026-11-22T11:00:00Z"), at("2026-11-22T12:00:00Z")];
        use ConcurrencyPolicy::{Allow, Forbid, Replace};
        // (policy, ticks due, nothing active, a manual run this look, the due ticks chosen)
        let table: [(ConcurrencyPolicy, usize, bool, bool, &[usize]); 12] = [
            (Allow, 3, true, false, &[0, 1, 2]),
            (Allow, 3, false, true, &[0, 1, 2]),
            (Allow, 0, true, false, &[]),
            (Forbid, 3, true, false, &[0]),
            (Forbid, 3, false, false, &[]),
            (Forbid, 3, true, true, &[]),
            (Forbid, 0, true, false, &[]),
            (Replace, 3, true, false, &[2]),
            (Replace, 3, false, false, &[2]),
            (Replace, 3, false, true, &[]),
            (Replace, 0, false, true, &[]),
            (Replace, 0, false, false, &[]),
        ];
        for (policy, due, none_active, manual, chosen) in table {
            let chosen: Vec<Timestamp> = chosen.iter().map(|i| ticks[*i]).collect();
            assert_eq!(
                chosen_ticks(policy, &ticks[..due], none_active, manual),
                chosen,
                "{policy:?} {due} {none_active} {manual}"
            );
        }
    }

    #[test]
    fn under_replace_the_newest_start_replaces_every_active_run() {
        let tick = at("2026-11-22T12:00:00Z");
        // (manual run, latest due tick, replaced by)
        let table = [
            (Some("nightly-m1"), Some(tick), Some("the manual run nightly-m1")),
            (Some("nightly-m1"), None, Some("the manual run nightly-m1")),
            (None, Some(tick), Some("the tick at 2026-11-22T12:00:00Z")),
            (None, None, None),
        ];
        for (manual, latest, by) in table {
            assert_eq!(replaced_by(manual, latest.as_ref()).as_deref(), by, "{manual:?} {latest:?}");
        }
        let runs: Vec<RunView> =
            ["a", "b"].iter().map(|n| RunView { name: (*n).into(), scheduled_at: None, state: None }).collect();
        let active: Vec<&RunView> = runs.iter().collect();
        assert!(replace_active(&active, None).is_empty());
        assert!(replace_active(&[], Some("the manual run m".into())).is_empty());
        assert_eq!(
            replace_active(&active, Some("the manual run m".into())),
            [
                event(
                    false,
                    "Replaced",
                    "deleted the active run a: the manual run m replaces it (concurrencyPolicy Replace)".into()
                ),
                ScheduleAction::Delete { name: "a".into(), reason: "Replaced".into() },
                event(
                    false,
                    "Replaced",
                    "deleted the active run b: the manual run m replaces it (concurrencyPolicy Replace)".into()
                ),
                ScheduleAction::Delete { name: "b".into(), reason: "Replaced".into() },
            ]
        );
    }

    #[test]
    fn a_job_waits_only_while_forbid_holds_due_ticks_back() {
        use ConcurrencyPolicy::{Allow, Forbid, Replace};
        // (policy, due, chosen, reason, message)
        let table = [
            (Forbid, 3, 1, "Waiting", "2 due run(s) wait for the active run to end (concurrencyPolicy Forbid)"),
            (Forbid, 1, 0, "Waiting", "1 due run(s) wait for the active run to end (concurrencyPolicy Forbid)"),
            (Forbid, 1, 1, "Scheduled", "runs on `0 * * * *`"),
            (Forbid, 0, 0, "Scheduled", "runs on `0 * * * *`"),
            (Replace, 3, 1, "Scheduled", "runs on `0 * * * *`"),
            (Allow, 2, 2, "Scheduled", "runs on `0 * * * *`"),
        ];
        for (policy, due, chosen, reason, message) in table {
            let got = scheduled_state(policy, due, chosen, "0 * * * *");
            assert_eq!(got, (JobState::Scheduled, reason, message.to_owned()), "{policy:?} {due} {chosen}");
        }
    }

    #[test]
    fn history_limits_delete_the_oldest_finished_runs() {
        let run = |name: &str, day: u32, state| RunView {
            name: name.into(),
            scheduled_at: Some(at(&format!("2026-11-{day:02}T03:00:00Z"))),
            state: Some(state),
        };
        let runs = vec![
            run("s1", 1, JobState::Succeeded),
            run("s3", 3, JobState::Succeeded),
            run("s2", 2, JobState::Succeeded),
            run("f1", 1, JobState::Failed),
            run("f2", 2, JobState::Failed),
            run("r4", 4, JobState::Running),
        ];
        // (successful limit, failed limit, deleted in order)
        let table: [(Option<u32>, Option<u32>, &[&str]); 5] = [
            (None, None, &["f1"]),
            (Some(1), None, &["s2", "s1", "f1"]),
            (Some(0), Some(0), &["s3", "s2", "s1", "f2", "f1"]),
            (Some(5), Some(5), &[]),
            (Some(3), Some(2), &[]),
        ];
        for (successful, failed, deleted) in table {
            let s = Schedule {
                successful_history_limit: successful,
                failed_history_limit: failed,
                ..schedule("0 3 * * *", ConcurrencyPolicy::Allow, None)
            };
            let got = history_deletes(&s, &runs);
            let want: Vec<ScheduleAction> = deleted
                .iter()
                .map(|n| ScheduleAction::Delete { name: (*n).into(), reason: "HistoryLimit".into() })
                .collect();
            assert_eq!(got, want, "{successful:?} {failed:?}");
        }
    }

    #[test]
    fn active_runs_are_those_not_replaced_and_those_started() {
        let runs: Vec<RunView> =
            ["b", "a"].iter().map(|n| RunView { name: (*n).into(), scheduled_at: None, state: None }).collect();
        let active: Vec<&RunView> = runs.iter().collect();
        let start = |name: &str| ScheduleAction::Start(Start { name: name.into(), at: at(LAST_9), manual: false });
        let delete = |name: &str, reason: &str| ScheduleAction::Delete { name: name.into(), reason: reason.into() };
        // (actions, active after)
        let table: [(Vec<ScheduleAction>, &[&str]); 5] = [
            (vec![], &["a", "b"]),
            (vec![start("c")], &["a", "b", "c"]),
            (vec![delete("a", "Replaced"), start("c")], &["b", "c"]),
            (vec![delete("a", "HistoryLimit")], &["a", "b"]),
            (vec![start("a")], &["a", "b"]),
        ];
        for (actions, after) in table {
            assert_eq!(active_after(&active, &actions), after, "{actions:?}");
        }
    }

    #[test]
    fn a_change_of_state_or_reason_is_an_event_and_a_transition() {
        let now = at("2026-11-22T12:00:00Z");
        // (state before, reason before, state, reason, recorded)
        let table = [
            (None, None, JobState::Scheduled, "Scheduled", true),
            (Some(JobState::Scheduled), Some("Scheduled"), JobState::Scheduled, "Scheduled", false),
            (Some(JobState::Scheduled), Some("Scheduled"), JobState::Scheduled, "Waiting", true),
            (Some(JobState::Scheduled), Some("Suspended"), JobState::Suspended, "Suspended", true),
        ];
        for (state_before, reason_before, state, reason, recorded) in table {
            let mut status =
                SparkJobStatus { state: state_before, reason: reason_before.map(str::to_owned), ..Default::default() };
            let mut actions = Vec::new();
            record_state(&mut status, &mut actions, now, (state, reason, "why".to_owned()));
            assert_eq!(actions.len(), usize::from(recorded), "{state_before:?} {reason_before:?} → {reason}");
            assert_eq!(status.transitions.len(), usize::from(recorded));
            assert_eq!(
                (status.state, status.reason.as_deref(), status.message.as_deref()),
                (Some(state), Some(reason), Some("why"))
            );
        }
        // The transitions kept are bounded.
        let old = Transition { state: "Scheduled".into(), reason: None, message: None, time: "old".into() };
        let mut status = SparkJobStatus { transitions: vec![old; MAX_TRANSITIONS], ..Default::default() };
        record_state(&mut status, &mut Vec::new(), now, (JobState::Scheduled, "Scheduled", "why".into()));
        assert_eq!(status.transitions.len(), MAX_TRANSITIONS);
        assert_eq!(status.transitions.last().map(|t| t.time.as_str()), Some("2026-11-22T12:00:00Z"));
    }

    #[test]
    fn it_looks_again_at_the_next_tick_and_soon_while_a_run_is_active() {
        let now = at("2026-11-22T12:00:00Z");
        let secs = Duration::from_secs;
        // (next tick, a run active, look again after)
        let table = [
            (None, false, None),
            (None, true, Some(ACTIVE_LOOK)),
            (Some("2026-11-22T13:00:00Z"), false, Some(secs(3600))),
            (Some("2026-11-22T13:00:00Z"), true, Some(ACTIVE_LOOK)),
            (Some("2026-11-22T12:00:05Z"), true, Some(secs(5))),
            (Some("2026-11-22T12:00:00Z"), false, Some(Duration::from_millis(100))),
        ];
        for (next, watching, requeue) in table {
            assert_eq!(requeue_after(now, next.map(at), watching), requeue, "{next:?} {watching}");
        }
    }
}
