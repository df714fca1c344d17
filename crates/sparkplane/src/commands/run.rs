//! `sparkplane run`: the job on this machine, on an embedded Spark.
//!
//! Thin: this module resolves the job, puts it through the policy gate, hands
//! it to `sparkplane_local::workflow::run_local` (Java, runtime, plan, Spark,
//! summary, run history), shows that workflow's events, prints the run's
//! summary and passes a succeeded run through the job's quality gates. It must
//! not decide anything about the run itself.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::cdevents::{Outcome, Step};
use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_local::history::{GateOutcome, RunRecord};
use sparkplane_local::workflow::{LocalRunError, LocalRunEvent, LocalRunObserver, LocalRunSettings, run_local};

use crate::events::{Events, Pending};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// What `run` does, in plain terms.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// The job and its layers (`--env` is always set; it defaults to `local`).
    pub job: JobSettings,
    /// `--follow`: the driver's log on the terminal while it runs.
    pub follow: bool,
    /// `--policy-mode audit`: deny violations are reported, not enforced.
    pub audit: bool,
    /// What the policies are checked against.
    pub policy: super::policy::PolicySettings,
    /// Where the run's CDEvents go (taskrun started/finished, its gates' suites).
    pub events: Events,
}

pub(super) fn failure(err: &LocalRunError) -> Failure {
    Failure::of(err.category(), err.diagnostic().into())
}

/// Shows a run's events: warnings and status lines through the printer, an
/// install's progress as `runtime install` shows it, Spark's progress live on
/// a terminal (periodic lines otherwise). Ctrl-C stops Spark once it starts
/// (before that, during an install, it ends sparkplane as usual).
struct RunDisplay<'a> {
    printer: &'a Printer,
    follow: bool,
    cancel: Arc<AtomicBool>,
    install: super::progress::InstallObserver<'a>,
    progress: Option<super::progress::Display>,
    events: &'a Events,
    started: Pending,
}

impl LocalRunObserver for RunDisplay<'_> {
    fn event(&mut self, event: LocalRunEvent<'_>) {
        match event {
            event @ (LocalRunEvent::Warning(_)
            | LocalRunEvent::InstallStarting { .. }
            | LocalRunEvent::Install(_)
            | LocalRunEvent::InstallEnded
            | LocalRunEvent::Installed { .. }) => self.install.event(event),
            LocalRunEvent::Starting { job, run_id, master, spark, ui_url } => {
                self.started = self.events.send_in_background(vec![Step::RunStarted {
                    run: run_id.to_owned(),
                    job: job.to_owned(),
                    uri: Some(ui_url.to_owned()),
                }]);
                // Ctrl-C asks Spark to stop; a second one is not needed (the runner escalates after a grace period).
                let cancel = Arc::clone(&self.cancel);
                let _ = ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst));
                self.printer.status(&format!("running {job} as {run_id} on {master} with {spark}; Spark UI {ui_url}"));
                let live = std::io::stderr().is_terminal() && !self.follow;
                self.progress = Some(super::progress::Display::new(self.printer, live));
            }
            LocalRunEvent::Progress { progress, elapsed } => {
                if let Some(display) = &mut self.progress {
                    display.update(progress, elapsed);
                }
            }
            LocalRunEvent::DriverOutput(line) => {
                let _ = std::io::stderr().write_all(line);
            }
            LocalRunEvent::SparkEnded => {
                if let Some(mut display) = self.progress.take() {
                    display.finish();
                }
            }
        }
    }
}

/// Writes how the quality gates ended into the run's record: `promote`
/// reads it to know the source environment's last run passed them.
fn record_gates(home: &std::path::Path, record: &RunRecord, checked: &CommandResult, printer: &Printer) {
    let mut record = record.clone();
    record.quality_gates = Some(match checked {
        Ok(()) => GateOutcome::Passed,
        Err(Failure::Failed(_)) => GateOutcome::Failed,
        Err(_) => GateOutcome::Error,
    });
    if let Err(e) = sparkplane_local::history::write(home, &record) {
        printer.status(&format!("warning: the quality gates' outcome is not in the run history: {e}"));
    }
}

/// Runs `run`.
pub fn run(settings: &RunSettings, printer: &Printer) -> CommandResult {
    let resolved = resolve_job(&settings.job, ValidationTarget::Local)?;
    printer.warnings(&resolved.warnings);
    let sized = size_job(&resolved.job.spec);
    // The same policy gate as render and submit, over what a cluster deploy would create;
    // the `local` environment's configuration turns off what only matters on a cluster.
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    super::policy::enforce_with(&resolved, &objects, &settings.policy, printer, settings.audit)?;

    let environment = settings.job.env.as_deref().unwrap_or(sparkplane_core::catalog::LOCAL_ENVIRONMENT);
    let local = LocalRunSettings::from_environment(&settings.job.path, environment, settings.follow)
        .map_err(|e| failure(&e))?;
    let cancel = Arc::clone(&local.cancel);
    let mut display = RunDisplay {
        printer,
        follow: settings.follow,
        cancel,
        install: super::progress::InstallObserver::new(printer),
        progress: None,
        events: &settings.events,
        started: Pending::none(),
    };
    let result = run_local(&resolved, &local, &mut display);
    let started = std::mem::replace(&mut display.started, Pending::none());
    started.finish(printer);
    let outcome = result.map_err(|e| failure(&e))?;

    let record = &outcome.record;
    super::runs::print_summary(record, printer);
    // A run that never started sent no start; its end is not a taskrun either.
    if record.state != sparkplane_local::history::RunState::NotStarted {
        settings.events.emit(
            &[Step::RunFinished {
                run: record.run_id.clone(),
                job: record.job.clone(),
                outcome: if outcome.succeeded() { Outcome::Success } else { Outcome::Failure },
                errors: record.failure.clone(),
            }],
            printer,
        );
    }
    if outcome.succeeded() {
        // A succeeded job still fails the run when a blocking quality gate on its output fails.
        let gates = super::dq::Gates { events: &settings.events, environment, job: &record.job };
        let checked = super::dq::run_gates(&settings.job.path, &resolved.job.spec.quality_gates, &gates, printer);
        record_gates(&local.home, record, &checked, printer);
        checked
    } else {
        Err(Failure::Failed(Diagnostics::from(Diagnostic::error(
            "run-failed",
            "",
            format!("run {} {}: {}", record.run_id, record.state.as_str(), record.failure.clone().unwrap_or_default()),
        ))))
    }
}
