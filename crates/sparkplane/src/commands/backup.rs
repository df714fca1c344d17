//! `sparkplane backup render|run|verify`: a platform's backup as CronJobs,
//! one backup from here, and a restore-and-compare of the latest one.
//!
//! Owns reading the Backup file, mapping outcomes to exit codes and printing.
//! Must not: check Backup documents (`sparkplane_backup::document`) or plan, run
//! or verify backups (`sparkplane_backup`).

use std::path::Path;

use sparkplane_backup::document::{LoadedBackup, check_for_cluster, load_backup};
use sparkplane_backup::{BackupError, metrics, render, run, verify};
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

fn epoch_seconds(t: jiff::Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// `backup run FILE`.
pub fn run(file: &Path, printer: &Printer) -> CommandResult {
    let (loaded, _) = read(file, printer)?;
    let backup = &loaded.backup;
    let started = jiff::Timestamp::now();
    let outcome = run::run(backup, started);
    let pushgateway = backup.spec.metrics.as_ref().map(|m| m.pushgateway.as_str());
    let late_after = sparkplane_backup::document::late_after(backup);
    let exposition = match &outcome {
        Ok(report) => metrics::success(&report.manifest, epoch_seconds(jiff::Timestamp::now()), late_after),
        Err(_) => metrics::failure(&backup.metadata.name, epoch_seconds(jiff::Timestamp::now()), late_after),
    };
    if let Some(url) = pushgateway
        && let Err(e) = metrics::push(url, &backup.metadata.name, &exposition)
    {
        // The backup's own outcome decides the exit code; a missed push is reported, and alerts on staleness catch it.
        printer.status(&format!("warning: {e}"));
    }
    let report = outcome.map_err(|e| failure(&e))?;
    for source in &report.empty_sources {
        printer.status(&format!("warning: source {source} has no objects; check its URL"));
    }
    printer.result(&report, || {
        let m = &report.manifest;
        let mut text = format!("backup {} run {} complete: {}\n", m.backup, m.id, report.manifest_url);
        if let Some(dump) = &m.metastore {
            let rows: u64 = dump.tables.values().sum();
            text.push_str(&format!(
                "  metastore {}: {} bytes, {} tables, {rows} rows, sha256 {}\n",
                dump.database,
                dump.size,
                dump.tables.len(),
                dump.sha256
            ));
        }
        text.push_str(&format!(
            "  objects: {} copied, {} reused from earlier runs ({} bytes in all, {} written)\n",
            report.copied, report.reused, m.total_bytes, m.written_bytes
        ));
        if !report.removed_runs.is_empty() {
            text.push_str(&format!("  retention removed runs {}\n", report.removed_runs.join(", ")));
        }
        text.push_str(&format!("  took {:.1}s\n", m.duration_ms as f64 / 1000.0));
        text
    });
    Ok(())
}

/// `backup verify FILE`: exit 1 naming everything missing or corrupt.
pub fn verify(file: &Path, printer: &Printer) -> CommandResult {
    let (loaded, _) = read(file, printer)?;
    let report = verify::verify(&loaded.backup).map_err(|e| failure(&e))?;
    printer.result(&report, || {
        let mut text = format!("backup run {} ({})\n", report.id, report.manifest_url);
        if report.tables > 0 {
            text.push_str(&format!(
                "  metastore: restored {} tables, {} rows; the Hive query lists {} tables\n",
                report.tables,
                report.rows,
                report.hive_tables.len()
            ));
        }
        text.push_str(&format!("  objects: {} checked, {} bytes read back\n", report.objects, report.bytes));
        if report.problems.is_empty() {
            text.push_str("  ok: everything is there and matches the manifest\n");
        }
        text
    });
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
