//! `sparkplane runtime install|list|remove`: the managed local Spark runtimes.
//!
//! Thin: the work is `sparkplane_local::runtime`'s. This module formats
//! results through the `Printer` (install progress is shown by
//! `progress::InstallDisplay`) and turns runtime errors into `Failure`s. It
//! must not decide anything about runtimes itself.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sparkplane_documents::Diagnostic;
use sparkplane_local::java;
use sparkplane_local::runtime::{self, InstallEvent, Runtime, RuntimeError, RuntimeInfo, RuntimeStatus};

use super::progress::{InstallDisplay, install_heading, installed_text};
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

fn size_text(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    const MIB: f64 = KIB * 1024.0;
    const GIB: f64 = MIB * 1024.0;
    let bytes = bytes as f64;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else if bytes >= MIB {
        format!("{:.0} MiB", bytes / MIB)
    } else {
        format!("{:.0} KiB", bytes / KIB)
    }
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Installed {
    line: String,
    version: String,
    /// `installed` or `already installed`.
    status: &'static str,
    path: PathBuf,
    spark_home: PathBuf,
    python: PathBuf,
    installed_at: String,
}

/// Runs `runtime install LINE`.
pub fn install(line: &str, printer: &Printer) -> CommandResult {
    let home = home()?;
    let (installed, fresh) = install_and_report(&home, line, printer)?;
    let row = Installed {
        path: runtime::runtime_dir(&home, &installed.line),
        status: if fresh { "installed" } else { "already installed" },
        line: installed.line,
        version: installed.pyspark_version,
        spark_home: installed.spark_home,
        python: installed.python,
        installed_at: installed.installed_at,
    };
    printer.result(&row, || {
        format!("Spark {} (pyspark {}) is {} in {}\n", row.line, row.version, row.status, row.path.display())
    });
    warn_about_java(&row.line, printer);
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    line: String,
    version: Option<String>,
    /// `ok`, `broken`, or `available` (supported, not installed).
    status: &'static str,
    path: Option<PathBuf>,
    size_bytes: Option<u64>,
    problem: Option<String>,
}

impl From<RuntimeInfo> for Row {
    fn from(info: RuntimeInfo) -> Row {
        Row {
            line: info.line,
            version: info.version,
            status: match info.status {
                RuntimeStatus::Ok => "ok",
                RuntimeStatus::Broken => "broken",
            },
            path: Some(info.path),
            size_bytes: Some(info.size_bytes),
            problem: info.problem,
        }
    }
}

/// Runs `runtime list`: the installed runtimes, then the supported lines not installed.
pub fn list(printer: &Printer) -> CommandResult {
    let home = home()?;
    let installed = runtime::list(&home).map_err(|e| failure(&e))?;
    let available: Vec<Row> = runtime::PINNED
        .iter()
        .filter(|(line, _)| !installed.iter().any(|r| r.line == *line))
        .map(|(line, version)| Row {
            line: (*line).to_owned(),
            version: Some((*version).to_owned()),
            status: "available",
            path: None,
            size_bytes: None,
            problem: None,
        })
        .collect();
    let rows: Vec<Row> = installed.into_iter().map(Row::from).chain(available).collect();
    printer.result(&rows, || {
        let mut table = super::Table::new(&["LINE", "VERSION", "STATUS", "SIZE", "PATH"]);
        for row in &rows {
            table.row(vec![
                row.line.clone(),
                row.version.clone().unwrap_or_else(|| "-".to_owned()),
                row.status.to_owned(),
                row.size_bytes.map_or_else(|| "-".to_owned(), size_text),
                row.path.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
            ]);
        }
        table.render()
    });
    for row in rows.iter().filter(|r| r.status == "broken") {
        let problem = row.problem.as_deref().unwrap_or("incomplete");
        printer.status(&format!(
            "Spark {} runtime is broken ({problem}): `sparkplane runtime install {}` repairs it",
            row.line, row.line
        ));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Removed {
    line: String,
    removed: bool,
    version: Option<String>,
    path: Option<PathBuf>,
    freed_bytes: u64,
}

/// Runs `runtime remove LINE`; removing a line that is not installed is not an error.
pub fn remove(line: &str, printer: &Printer) -> CommandResult {
    let home = home()?;
    let removed = runtime::remove(&home, line).map_err(|e| failure(&e))?;
    let result = match removed {
        Some(info) => Removed {
            line: info.line,
            removed: true,
            version: info.version,
            path: Some(info.path),
            freed_bytes: info.size_bytes,
        },
        None => Removed {
            line: runtime::line_of(line).map_or_else(|_| line.to_owned(), str::to_owned),
            removed: false,
            version: None,
            path: None,
            freed_bytes: 0,
        },
    };
    printer.result(&result, || {
        if result.removed {
            let version = result.version.as_deref().map(|v| format!(" (pyspark {v})")).unwrap_or_default();
            format!("removed the Spark {} runtime{version}, freeing {}\n", result.line, size_text(result.freed_bytes))
        } else {
            format!("Spark {} is not installed; nothing to remove\n", result.line)
        }
    });
    Ok(())
}
