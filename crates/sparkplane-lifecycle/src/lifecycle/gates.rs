//! The quality-gate part of a run (ADR 0043, ADR 0063): once the driver of a
//! job that declares `spec.qualityGates` succeeds, the run enters `Checking`
//! and the operator creates the attempt's check (`render::quality_gates`);
//! the run is `Succeeded` only when that check ends well, and
//! `status.qualityGates` records `passed`, `failed` or `error` with a message.
//!
//! Which check ([`engines`]): a gate whose spec says `engine: spark`, or
//! `auto` with a dataset larger than its threshold (`sparkAbove`, default
//! 160 GiB) by the listing the operator gathered ([`Observed::gate_bytes`]),
//! runs with the spark engine, so the check is the check application (a Pod
//! owned by the SparkJob, one container per gate, each Spark gate sized from
//! its dataset's size); otherwise the check Job runs every gate with the
//! native engine. An `auto` gate whose dataset could not be listed runs
//! natively (the engine `dq check` uses on data it cannot size is not
//! Spark's either). The operator lists only when the run is `Checking`
//! without a check and a gate needs a size, so a run whose gates are all
//! native creates its Job at once, as before.
//!
//! How a check ends:
//! - The Job completed (the application's Pod succeeded): every gate passed.
//! - The Job (Pod) failed: each gate's container exit code says how it went, as
//!   `dq check`'s exit codes do — 0 passed, 1 a check failed, anything else
//!   (2 an unreadable spec or dataset, 3 unreachable storage, a container
//!   that never ran) could not check. A failed blocking gate fails the run
//!   (`QualityGatesFailed`, never retried: the data was judged). A blocking
//!   gate whose spec or data could not be read (exit 2) is
//!   `QualityGatesInvalid`, not retried either: a new attempt reruns the
//!   application but reads the same spec. Any other blocking gate that could
//!   not be checked is `QualityGatesError`, an infrastructure failure the
//!   restart policy may retry with a new attempt. A non-blocking gate only
//!   warns.
//! - Every wait has a deadline: its pod must start within
//!   `timeouts.driverStart` of entering `Checking` (image pull, a missing
//!   Secret, no node or quota for it) and end within [`CHECK_RUN_LIMIT`]
//!   after that, else `QualityGatesError`. The Job or Pod itself carries the
//!   run limit as `activeDeadlineSeconds`, so a real cluster stops a hung check.
//! - A gate `apply` did not embed (`definition`) cannot be checked at all:
//!   `QualityGatesInvalid` at once, with the fix.
//!
//! Owns: those rules and the messages they write. Must not: read the API or
//! the clock (everything is in [`Observed`](super::Observed)).

use jiff::Timestamp;
use sparkplane_api::dq::DqEngine;
use sparkplane_api::job::{GatesOutcome, JobState};

use super::{Action, Draft, fail, finished};
use crate::cause::Cause;
use crate::plan::{Plan, PlannedGate};
use crate::{after, human, parse_time, rfc3339};
use sparkplane_core::render::quality_gates::{GateEngine, spark_gate_size};

/// What the operator sees of the current attempt's check Job, or of its
/// check application's Pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GateCheckView {
    /// The Job's (or the Pod's) name.
    pub name: String,
    /// The check application's Pod (ADR 0063) rather than the check Job.
    pub application: bool,
    /// `Some(true)` once it is `Complete` (the Pod `Succeeded`), `Some(false)`
    /// once `Failed`; None while it runs.
    pub finished: Option<bool>,
    /// The containers of its pod that ended: name and exit code.
    pub exits: Vec<(String, i32)>,
    /// A container of its pod that cannot start: reason and message.
    pub waiting: Option<(String, String)>,
    /// Whether its pod started: a container runs or ran.
    pub started: bool,
}

/// The reason the status carries while the gates are checked.
pub const CHECKING: &str = "CheckingQualityGates";
/// The reason of the Event that says which engine each gate got, when a gate runs on Spark.
pub const SPARK_CHECK: &str = "QualityGatesOnSpark";
/// How often a run in `Checking` is looked at when no event wakes it.
pub const CHECK_RECHECK: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a started check may run: the check Job's `activeDeadlineSeconds`
/// (`render::quality_gates`), and the decision's deadline after its start
/// deadline. `dq check` reads each dataset in one streaming pass; an hour is
/// far beyond what a healthy check takes.
pub const CHECK_RUN_LIMIT: std::time::Duration = sparkplane_core::render::quality_gates::RUN_LIMIT;

impl GateCheckView {
    /// How messages name it after "the quality-gate check": `Job <name>` or `application <name>`.
    fn what(&self) -> String {
        if self.application { format!("application {}", self.name) } else { format!("Job {}", self.name) }
    }

    /// The `kubectl logs` argument that shows its containers' output.
    fn logs(&self) -> String {
        if self.application { format!("pod/{}", self.name) } else { format!("job/{}", self.name) }
    }
}

/// The engine each gate of `gates` runs with, given its dataset's size in
/// bytes as the operator listed it (`bytes[n]` for `gates[n]`; None: not
/// listed, or it could not be): `spark` always (sized by the size, the
/// smallest size when unknown); `auto` spark above its threshold, native at
/// or below it and when the size is unknown; `native` native.
pub fn engines(gates: &[PlannedGate], bytes: &[Option<u64>]) -> Vec<GateEngine> {
    gates
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let size = bytes.get(i).copied().flatten();
            match g.engine {
                DqEngine::Native => GateEngine::Native,
                DqEngine::Spark => GateEngine::Spark { bytes: size },
                DqEngine::Auto => match size {
                    Some(b) if b > g.spark_above => GateEngine::Spark { bytes: size },
                    _ => GateEngine::Native,
                },
            }
        })
        .collect()
}

/// The engines of the plan's gates when they can be decided now: at once
/// when no gate needs its dataset's size, else once the operator listed.
fn decided(d: &Draft<'_>, plan: &Plan) -> Option<Vec<GateEngine>> {
    if plan.quality_gates.iter().any(PlannedGate::needs_size) {
        d.o.gate_bytes.map(|bytes| engines(&plan.quality_gates, bytes))
    } else {
        Some(vec![GateEngine::Native; plan.quality_gates.len()])
    }
}

/// What the status says while the gates are checked with `engines`.
fn checking_message(plan: &Plan, engines: &[GateEngine]) -> String {
    let n = plan.quality_gates.len();
    if engines.iter().all(|e| *e == GateEngine::Native) {
        return format!("the application completed; checking its {n} quality gate(s) with `sparkplane dq check`");
    }
    let each: Vec<String> = plan
        .quality_gates
        .iter()
        .zip(engines)
        .map(|(g, e)| match e {
            GateEngine::Native => format!("`{}` with the native engine", g.spec),
            GateEngine::Spark { bytes } => {
                let (cores, gib) = spark_gate_size(*bytes);
                let size = bytes.map_or_else(|| "size unknown".to_owned(), |b| format!("{} listed", bytes_text(b)));
                format!("`{}` on Spark ({size}: {cores} cores, {gib} GiB heap)", g.spec)
            }
        })
        .collect();
    format!("the application completed; checking its {n} quality gate(s) in a check application: {}", each.join(", "))
}

/// A size in bytes as people read it (binary units, one decimal).
fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// How one gate's container ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GateEnd {
    Passed,
    Failed,
    /// `dq check` exited 2: the spec or the data it names could not be read.
    Invalid,
    Unchecked(Option<i32>),
}

/// After the driver succeeded: true when the run goes on to its gates
/// (the caller then stops), false when it has none.
pub(super) fn begin(d: &mut Draft<'_>, plan: &Plan) -> bool {
    if plan.quality_gates.is_empty() {
        return false;
    }
    d.status.quality_gates = None;
    d.status.quality_gates_message = None;
    if let Some((index, gate)) = plan.quality_gates.iter().enumerate().find(|(_, g)| !g.embedded) {
        let message = format!(
            "spec.qualityGates[{index}] (`{}`) carries no data-quality spec (`definition`), so it cannot be checked in \
             the cluster: apply the job with `sparkplane apply`, which embeds each gate's spec",
            gate.spec
        );
        record(d, GatesOutcome::Error, &message);
        fail(d, plan, Cause::QualityGatesInvalid, message, None);
        return true;
    }
    let attempt = d.status.attempt.unwrap_or(1);
    match decided(d, plan) {
        Some(engines) => {
            let message = checking_message(plan, &engines);
            d.actions.push(Action::CheckGates { attempt, engines });
            d.enter(JobState::Checking, CHECKING, message);
            d.wake_in(CHECK_RECHECK);
        }
        None => {
            let n = plan.quality_gates.len();
            d.enter(
                JobState::Checking,
                CHECKING,
                format!("the application completed; listing the datasets of its {n} quality gate(s) to size the check"),
            );
            d.wake_in(super::CACHE_RECHECK);
        }
    }
    true
}

fn record(d: &mut Draft<'_>, outcome: GatesOutcome, message: &str) {
    d.status.quality_gates = Some(outcome);
    d.status.quality_gates_message = Some(message.to_owned());
}

/// When the run entered `Checking` (the last such transition).
fn checking_since(d: &Draft<'_>) -> Timestamp {
    d.status
        .transitions
        .iter()
        .rev()
        .find(|t| t.state == JobState::Checking.as_str())
        .and_then(|t| parse_time(&t.time))
        .unwrap_or(d.o.now)
}

/// A run in `Checking`: waits for the check Job, then records its outcome.
pub(super) fn checking(d: &mut Draft<'_>, plan: &Plan) {
    let o = d.o;
    let attempt = d.status.attempt.unwrap_or(1);
    let Some(check) = o.gate_check else {
        let start_by = after(checking_since(d), plan.driver_start);
        if o.now >= start_by {
            let message = format!(
                "no quality-gate check Job was found within timeouts.driverStart ({}): it could not be created (the \
                 operator's log says why), or it was deleted",
                human(plan.driver_start)
            );
            record(d, GatesOutcome::Error, &message);
            fail(d, plan, Cause::QualityGatesError, message, None);
            return;
        }
        // Not created yet, or not visible yet: creating is idempotent.
        if let Some(engines) = decided(d, plan) {
            let message = checking_message(plan, &engines);
            // Said once as an Event too when a gate runs on Spark: the status message is overwritten by the outcome.
            let on_spark = engines.iter().any(|e| matches!(e, GateEngine::Spark { .. }));
            if on_spark && d.status.message.as_deref() != Some(message.as_str()) {
                d.actions.push(Action::Event { warning: false, reason: SPARK_CHECK.into(), message: message.clone() });
            }
            d.actions.push(Action::CheckGates { attempt, engines });
            d.note(CHECKING, message);
        }
        d.wake_in(super::CACHE_RECHECK);
        return;
    };
    match check.finished {
        None => waiting(d, plan, check),
        Some(true) => {
            let message = format!("{} quality gate(s) passed ({})", plan.quality_gates.len(), check.what());
            record(d, GatesOutcome::Passed, &message);
            d.status.finished_at = Some(rfc3339(o.now));
            d.enter(JobState::Succeeded, "Succeeded", "the application completed and its quality gates passed".into());
            finished(d, plan);
        }
        Some(false) => judged(d, plan, check),
    }
}

/// A check that has not ended: waited for until its deadline — its pod's
/// start within `timeouts.driverStart`, then its run within [`CHECK_RUN_LIMIT`].
fn waiting(d: &mut Draft<'_>, plan: &Plan, check: &GateCheckView) {
    let start_by = after(checking_since(d), plan.driver_start);
    if check.started {
        let end_by = after(start_by, CHECK_RUN_LIMIT);
        if d.o.now >= end_by {
            let message = format!(
                "the quality-gate check {} did not finish within {} of its start deadline \
                 (`kubectl logs {} --all-containers` shows where it stands)",
                check.what(),
                human(CHECK_RUN_LIMIT),
                check.logs()
            );
            record(d, GatesOutcome::Error, &message);
            fail(d, plan, Cause::QualityGatesError, message, None);
            return;
        }
        d.wake_at(after(d.o.now, CHECK_RECHECK).min(end_by));
        return;
    }
    let what = match &check.waiting {
        Some((reason, detail)) => {
            format!("the quality-gate check {} cannot start its pod ({reason}: {detail})", check.what())
        }
        None => format!(
            "the quality-gate check {} has no running pod (not scheduled yet, or refused by a quota or an \
             admission policy: `kubectl describe {}` says which)",
            check.what(),
            check.logs()
        ),
    };
    if d.o.now >= start_by {
        let message = format!("{what} within timeouts.driverStart ({})", human(plan.driver_start));
        record(d, GatesOutcome::Error, &message);
        fail(d, plan, Cause::QualityGatesError, message, None);
        return;
    }
    if check.waiting.is_some() {
        d.note(CHECKING, format!("{what}; the check fails at {} unless that changes", rfc3339(start_by)));
    }
    d.wake_at(after(d.o.now, CHECK_RECHECK).min(start_by));
}

/// The failed checks `dq check` reported for gate `index` in the check's log:
/// its `error: <spec file>: …` lines, the spec file name dropped.
fn reported(log: &str, index: usize) -> Vec<String> {
    let file = format!("{}: ", sparkplane_core::render::quality_gates::spec_file(index));
    log.lines().filter_map(|l| l.strip_prefix("error: ")?.strip_prefix(&file)).map(str::to_owned).collect()
}

fn end_of(check: &GateCheckView, index: usize) -> GateEnd {
    let container = sparkplane_core::render::quality_gates::container_name(index);
    match check.exits.iter().find(|(name, _)| *name == container).map(|(_, code)| *code) {
        Some(0) => GateEnd::Passed,
        Some(1) => GateEnd::Failed,
        Some(2) => GateEnd::Invalid,
        code => GateEnd::Unchecked(code),
    }
}

fn judged(d: &mut Draft<'_>, plan: &Plan, check: &GateCheckView) {
    let log = d.o.gate_log.unwrap_or_default();
    let ends: Vec<(usize, &PlannedGate, GateEnd)> =
        plan.quality_gates.iter().enumerate().map(|(i, g)| (i, g, end_of(check, i))).collect();
    let failed: Vec<String> = ends
        .iter()
        .filter(|(_, g, end)| g.blocking && *end == GateEnd::Failed)
        .map(|(i, g, _)| {
            let checks = reported(log, *i);
            if checks.is_empty() {
                format!("quality gate `{}` failed", g.spec)
            } else {
                format!("quality gate `{}` failed: {}", g.spec, checks.join("; "))
            }
        })
        .collect();
    let invalid: Vec<String> = ends
        .iter()
        .filter(|(_, g, end)| g.blocking && *end == GateEnd::Invalid)
        .map(|(i, g, _)| {
            let errors = reported(log, *i);
            let why = if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) };
            format!("quality gate `{}` could not read its spec or data (`dq check` exited with 2){why}", g.spec)
        })
        .collect();
    let unchecked: Vec<String> = ends
        .iter()
        .filter_map(|(_, g, end)| match end {
            GateEnd::Unchecked(code) if g.blocking => Some(match code {
                Some(code) => format!("quality gate `{}` could not be checked (`dq check` exited with {code})", g.spec),
                None => format!("quality gate `{}` was not checked (its container did not run)", g.spec),
            }),
            _ => None,
        })
        .collect();
    let see = format!("(`kubectl logs {} --all-containers` shows the check)", check.logs());
    if !failed.is_empty() {
        let message = format!("{} {see}", failed.join("; "));
        record(d, GatesOutcome::Failed, &message);
        fail(d, plan, Cause::QualityGatesFailed, message, None);
    } else if !invalid.is_empty() {
        let message = format!("{} {see}", invalid.join("; "));
        record(d, GatesOutcome::Error, &message);
        fail(d, plan, Cause::QualityGatesInvalid, message, None);
    } else if !unchecked.is_empty() {
        let message = format!("{} {see}", unchecked.join("; "));
        record(d, GatesOutcome::Error, &message);
        fail(d, plan, Cause::QualityGatesError, message, None);
    } else {
        // Only gates that do not block failed.
        let warned: Vec<&str> = ends
            .iter()
            .filter(|(_, g, end)| !g.blocking && *end != GateEnd::Passed)
            .map(|(_, g, _)| g.spec.as_str())
            .collect();
        let message = format!(
            "the blocking quality gates passed; non-blocking gate(s) {} did not ({})",
            warned.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
            check.what()
        );
        record(d, GatesOutcome::Passed, &message);
        d.status.finished_at = Some(rfc3339(d.o.now));
        d.enter(
            JobState::Succeeded,
            "Succeeded",
            "the application completed and its blocking quality gates passed".into(),
        );
        d.actions.push(Action::Event { warning: true, reason: "QualityGateWarning".into(), message });
        finished(d, plan);
    }
}
