//! `sparkplane backup render|run|verify`: a platform's backup as CronJobs,
//! one backup from here, and a restore-and-compare of the latest one.
//!
//! Owns reading the Backup file, mapping outcomes to exit codes and printing.
//! Must not: check Backup documents (`sparkplane_backup::document`) or plan, run
//! or verify backups (`sparkplane_backup`).

use std::path::Path;

use sparkplane_backup::document::{LoadedBackup, check_for_cluster, load_backup};
use sparkplane_backup::{BackupError, render, run, verify};
use sparkplane_documents::{Diagnostic, Diagnostics};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::read_source;

pub(super) fn read(path: &Path, printer: &Printer) -> Result<(LoadedBackup, sparkplane_documents::Source), Failure> {
    let source = read_source(path)?;
    let loaded = load_backup(&source)?;
    printer.warnings(&loaded.warnings);
    Ok((loaded, source))
}

pub(super) fn failure(error: &BackupError) -> Failure {
    let diagnostics: Diagnostics = Diagnostic::error("backup", "", error.to_string()).with_help(error.help()).into();
    Failure::of(error.category(), diagnostics)
}

/// `backup render FILE [--out-dir DIR]`.
pub fn render(file: &Path, out_dir: Option<&Path>, printer: &Printer) -> CommandResult {
    let (loaded, source) = read(file, printer)?;
    check_for_cluster(&source, &loaded.backup)?;
    let objects = render::render(&loaded.backup);
    super::manifests::emit(&objects, out_dir, printer)
}

/// `backup run FILE`.
pub fn run(file: &Path, printer: &Printer) -> CommandResult {
    let (loaded, _) = read(file, printer)?;
    let (outcome, push) = run::run_and_push(&loaded.backup);
    if let Some(e) = push {
        // The backup's own outcome decides the exit code; a missed push is reported, and alerts on staleness catch it.
        printer.status(&format!("warning: {e}"));
    }
    let report = outcome.map_err(|e| failure(&e))?;
    for source in &report.empty_sources {
        printer.status(&format!("warning: source {source} has no objects; check its URL"));
    }
    printer.result(&report, || report.text());
    Ok(())
}

/// `backup verify FILE`: exit 1 naming everything missing or corrupt.
pub fn verify(file: &Path, printer: &Printer) -> CommandResult {
    let (loaded, _) = read(file, printer)?;
    let report = verify::verify(&loaded.backup).map_err(|e| failure(&e))?;
    printer.result(&report, || report.text());
    if report.problems.is_empty() {
        return Ok(());
    }
    let mut problems = Diagnostics::new();
    for problem in &report.problems {
        problems.push(
            Diagnostic::error("backup-corrupt", "", problem.clone())
                .with_help("see docs/runbooks/restore.md; run a new backup, then verify again"),
        );
    }
    Err(Failure::Failed(problems))
}
