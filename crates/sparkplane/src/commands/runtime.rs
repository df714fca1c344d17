//! `sparkplane runtime install|list|remove`: the managed local Spark runtimes.
//!
//! Thin: the work and its views are `sparkplane_local::runtime`'s
//! (`runtime::view`). This module prints them through the `Printer` (install
//! progress is shown by `progress::InstallDisplay`) and turns runtime errors
//! into `Failure`s. It must not decide anything about runtimes itself.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sparkplane_documents::Diagnostic;
use sparkplane_local::java;
use sparkplane_local::runtime::view::{self, install_heading, installed_text};
use sparkplane_local::runtime::{self, InstallEvent, Runtime, RuntimeError};

use super::progress::InstallDisplay;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// The failure a runtime error ends a command with: exit 2 when the request
/// cannot be met (an unsupported line), exit 3 when the machine lacks something.
pub fn failure(err: &RuntimeError) -> Failure {
    Failure::coded(err.category(), err.code(), err)
}

fn home() -> Result<PathBuf, Failure> {
    runtime::default_home().map_err(|e| failure(&e))
}

/// Installs the runtime of a Spark line (or version) into `home`, showing
/// progress; installing an installed line shows nothing and returns it (and
/// `false`: nothing was installed).
fn install_and_report(home: &Path, spark_version: &str, printer: &Printer) -> Result<(Runtime, bool), Failure> {
    let line = runtime::line_of(spark_version).map_err(|e| failure(&e))?;
    let version = runtime::pinned_version(line).unwrap_or("?");
    let heading = install_heading(line, version, &runtime::runtime_dir(home, line));
    let mut display = InstallDisplay::new(printer, heading);
    let mut already = false;
    let started = Instant::now();
    let result = runtime::install(home, spark_version, &runtime::default_python(), &mut |event| {
        already |= event == InstallEvent::AlreadyInstalled;
        display.event(event);
    });
    display.finish();
    let installed = result.map_err(|e| failure(&e))?;
    if !already {
        printer.status(&installed_text(line, version, started.elapsed()));
    }
    Ok((installed, !already))
}

/// Warns when the Java on this machine cannot run (or is not supported for) the line.
fn warn_about_java(line: &str, printer: &Printer) {
    let java_home = std::env::var_os("JAVA_HOME").map(PathBuf::from);
    let path = std::env::var_os("PATH");
    let warning = match java::check_java(line, java_home.as_deref(), path.as_deref()) {
        Ok(info) => info.warning.map(|w| Diagnostic::warning("java-unofficial", "", w)),
        Err(e) => Some(Diagnostic::warning(e.code(), "", format!("the runtime is installed, but {e}"))),
    };
    if let Some(warning) = warning {
        printer.warnings(&warning.into());
    }
}

/// Runs `runtime install LINE`.
pub fn install(line: &str, printer: &Printer) -> CommandResult {
    let home = home()?;
    let (installed, fresh) = install_and_report(&home, line, printer)?;
    let row = view::Installed::of(&home, installed, fresh);
    printer.result(&row, || row.text());
    warn_about_java(row.line(), printer);
    Ok(())
}

/// Runs `runtime list`: the installed runtimes, then the supported lines not installed.
pub fn list(printer: &Printer) -> CommandResult {
    let home = home()?;
    let rows = view::rows(runtime::list(&home).map_err(|e| failure(&e))?);
    printer.result(&rows, || view::table(&rows));
    for note in view::broken_notes(&rows) {
        printer.status(&note);
    }
    Ok(())
}

/// Runs `runtime remove LINE`; removing a line that is not installed is not an error.
pub fn remove(line: &str, printer: &Printer) -> CommandResult {
    let home = home()?;
    let removed = view::Removed::of(line, runtime::remove(&home, line).map_err(|e| failure(&e))?);
    printer.result(&removed, || removed.text());
    Ok(())
}
