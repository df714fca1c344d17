//! `sparkplane dr drill`: a disaster-recovery drill. The latest backup is
//! restored into a fresh target (the metastore dump into the scratch
//! database, checked and dropped as `backup verify` does; every object copy
//! into a restore folder, checksums checked), the job is re-pointed at the
//! restored data by its `--set` flags, run locally, and passed through its
//! quality gates; the measured RTO and RPO are held to the Backup's objectives.
//!
//! Thin: this module reads the clock and calls the restore
//! (`sparkplane_backup::verify::verify_into`), the local run
//! (`sparkplane_local::workflow::run_local`) and the gates (`dq::run_gates`);
//! the verdict is `sparkplane_backup::drill::decide`'s. Must not decide.

use std::path::PathBuf;

use sparkplane_backup::drill::{self, DrillFacts, GateResult, JobRun};
use sparkplane_backup::verify;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_local::workflow::{LocalRunEvent, LocalRunObserver, LocalRunSettings, run_local};

use crate::events::Events;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// What `dr drill` does, in plain terms.
#[derive(Clone, Debug)]
pub struct DrillSettings {
    /// The Backup file.
    pub backup: PathBuf,
    /// The job, its environment and its `--set` flags (with `{restored}` not yet replaced).
    pub job: JobSettings,
    /// Where the objects are restored: a folder that does not exist or is empty; default a new one under TMPDIR.
    pub restore_dir: Option<PathBuf>,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// Where the run's gates send their CDEvents.
    pub events: Events,
}

fn invalid(code: &'static str, message: String, help: &str) -> Failure {
    Failure::Invalid(Diagnostic::error(code, "", message).with_help(help).into())
}

/// Shows a drill's run: warnings and the starting line; Spark's output stays in its log.
struct Quiet<'a> {
    printer: &'a Printer,
}

impl LocalRunObserver for Quiet<'_> {
    fn event(&mut self, event: LocalRunEvent<'_>) {
        match event {
            LocalRunEvent::Warning(warning) => self.printer.status(&format!("warning: {warning}")),
            LocalRunEvent::Starting { job, run_id, master, spark, .. } => {
                self.printer.status(&format!("drill: running {job} as {run_id} on {master} with {spark}"))
            }
            _ => {}
        }
    }
}

fn restore_dir(asked: Option<&PathBuf>) -> Result<PathBuf, Failure> {
    let dir = match asked {
        Some(dir) => dir.clone(),
        None => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            std::env::temp_dir().join(format!("sparkplane-drill-{}-{nanos}", std::process::id()))
        }
    };
    let fresh = match std::fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            return Err(invalid(
                "drill-restore-dir",
                format!("{}: {e}", dir.display()),
                "give a folder this user can write to",
            ));
        }
    };
    if !fresh {
        return Err(invalid(
            "drill-restore-dir",
            format!("restore folder {} is not empty", dir.display()),
            "a drill restores into a fresh target: give a new or empty folder with --restore-dir",
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| {
        invalid("drill-restore-dir", format!("{}: {e}", dir.display()), "give a folder this user can write to")
    })?;
    // Absolute, so the job (whose working directory is its own folder) finds it.
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// Runs `dr drill`: exit 0 green and within the objectives, 1 naming each failure, 2 bad input, 3 unreachable.
pub fn drill(settings: &DrillSettings, printer: &Printer) -> CommandResult {
    let (loaded, _) = super::backup::read(&settings.backup, printer)?;
    let backup = &loaded.backup;
    let dir = restore_dir(settings.restore_dir.as_ref())?;
    let sets = drill::repoint(&settings.job.sets, &dir.to_string_lossy())
        .map_err(|m| invalid("drill-not-repointed", m, "see `sparkplane dr drill --help`"))?;
    let job = JobSettings { sets, ..settings.job.clone() };
    // Bad job input is found before anything is restored.
    let resolved = resolve_job(&job, ValidationTarget::Local)?;
    printer.warnings(&resolved.warnings);
    let environment = job.env.as_deref().unwrap_or("local");
    let local =
        LocalRunSettings::from_environment(&job.path, environment, false).map_err(|e| super::run::failure(&e))?;

    let started = jiff::Timestamp::now();
    printer.status(&format!("drill: restoring the latest backup of {} into {}", backup.metadata.name, dir.display()));
    let restored = verify::verify_into(backup, Some(&dir)).map_err(|e| super::backup::failure(&e))?;
    let recovery_point = restored.started.parse::<jiff::Timestamp>().map_err(|e| {
        Failure::Failed(
            Diagnostic::error(
                "drill-manifest",
                "",
                format!("backup run {}: started `{}`: {e}", restored.id, restored.started),
            )
            .with_help("the manifest is damaged; restore from another run")
            .into(),
        )
    })?;

    let mut gates = Vec::new();
    let job_run = if !restored.findings.is_empty() {
        JobRun::NotRun
    } else {
        let outcome = run_local(&resolved, &local, &mut Quiet { printer }).map_err(|e| super::run::failure(&e))?;
        let record = &outcome.record;
        if outcome.succeeded() {
            let context = super::dq::Gates { events: &settings.events, environment, job: &record.job };
            for gate in &resolved.job.spec.quality_gates {
                let checked = super::dq::run_gates(&job.path, std::slice::from_ref(gate), &context, printer);
                let (passed, detail) = match checked {
                    Ok(()) if gate.blocking == Some(false) => {
                        (true, "non-blocking: its failures only warn".to_string())
                    }
                    Ok(()) => (true, "passed".to_string()),
                    Err(Failure::Failed(found)) => {
                        (false, found.0.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("; "))
                    }
                    Err(other) => return Err(other),
                };
                gates.push(GateResult { name: gate.spec.clone(), passed, detail });
            }
            JobRun::Succeeded { finished_ms: jiff::Timestamp::now().as_millisecond() }
        } else {
            JobRun::Failed(format!(
                "run {} {}: {}",
                record.run_id,
                record.state.as_str(),
                record.failure.clone().unwrap_or_default()
            ))
        }
    };
    let objectives = backup.spec.objectives.as_ref();
    let verdict = drill::decide(&DrillFacts {
        backup_id: restored.id.clone(),
        started_ms: started.as_millisecond(),
        recovery_point_ms: recovery_point.as_millisecond(),
        restore: restored.findings.clone(),
        job: job_run,
        gates,
        rto_target_ms: objectives.and_then(|o| o.rto).map(|d| d.as_millis()),
        rpo_target_ms: objectives.and_then(|o| o.rpo).map(|d| d.as_millis()),
    });
    if let Some(path) = &settings.junit {
        std::fs::write(path, verdict.to_junit().to_xml()).map_err(|e| Failure::File {
            path: path.clone(),
            error: e.to_string(),
            help: "check that the JUnit file's folder exists and is writable".into(),
        })?;
    }
    let report = serde_json::json!({ "restoreDir": dir, "verdict": verdict });
    printer.result(&report, || format!("{}  restored into {}\n", verdict.to_text(), dir.display()));
    if verdict.green {
        return Ok(());
    }
    let failures: Diagnostics = Diagnostics(
        verdict
            .failures
            .iter()
            .map(|f| {
                Diagnostic::error("drill-failed", "", f.line())
                    .with_help("see docs/runbooks/restore.md and the guide's Backup and disaster recovery chapter")
            })
            .collect(),
    );
    Err(Failure::Failed(failures))
}
