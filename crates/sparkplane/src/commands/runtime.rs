//! `sparkplane runtime install|list|remove`: the managed local Spark runtimes.
//!
//! Thin: the work is `sparkplane_local::runtime`'s. This module shows install
//! progress (a spinner on a terminal, one status line per step otherwise),
//! formats results through the `Printer`, and turns runtime errors into
//! `Failure`s. It must not decide anything about runtimes itself.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_local::java;
use sparkplane_local::runtime::{self, Category, InstallEvent, Runtime, RuntimeError, RuntimeInfo, RuntimeStatus};
use sparkplane_local::workflow::{LocalRunEvent, LocalRunObserver};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// The failure a runtime error ends a command with: exit 2 when the request
/// cannot be met (an unsupported line), exit 3 when the machine lacks something.
pub fn failure(err: &RuntimeError) -> Failure {
    let diagnostics: Diagnostics = Diagnostic::error(err.code(), "", err.to_string()).into();
    match err.category() {
        Category::Usage => Failure::Invalid(diagnostics),
        Category::Environment => Failure::Infrastructure(diagnostics),
    }
}

fn home() -> Result<PathBuf, Failure> {
    runtime::default_home().map_err(|e| failure(&e))
}

fn elapsed_text(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{:.1}s", elapsed.as_secs_f64()) }
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

/// Shows an install's events: on a spinner when stderr is a terminal, as
/// status lines otherwise; nothing with `-q`. Also shows the install `run`
/// starts when the job's runtime is missing.
pub struct InstallDisplay<'a> {
    printer: &'a Printer,
    bar: Option<ProgressBar>,
    heading: String,
    started: bool,
}

impl<'a> InstallDisplay<'a> {
    /// A display whose `heading` is printed once work begins.
    pub fn new(printer: &'a Printer, heading: String) -> InstallDisplay<'a> {
        InstallDisplay { printer, bar: None, heading, started: false }
    }

    /// A line that stays: above the spinner, or a status line.
    fn say(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => self.printer.status(text),
        }
    }

    /// Prints the heading and starts the spinner once work begins.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        self.printer.status(&self.heading);
        if self.printer.stderr_tty && !self.printer.quiet {
            // `wide_msg` cuts pip's long lines to the terminal's width, so the spinner stays on one line.
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
    }

    fn step(&mut self, text: &str) {
        self.start();
        match &self.bar {
            Some(bar) => bar.set_message(text.to_owned()),
            None => self.printer.status(&format!("  {text}")),
        }
    }

    /// Shows one event.
    pub fn event(&mut self, event: InstallEvent) {
        match event {
            InstallEvent::AlreadyInstalled | InstallEvent::Done => {}
            InstallEvent::WaitingForLock => {
                self.say("waiting for another sparkplane to finish installing or removing this runtime")
            }
            InstallEvent::Repairing { problem } => {
                self.start();
                self.say(&format!("repairing the runtime: {problem}"));
            }
            InstallEvent::CreatingVenv => self.step("creating a Python environment"),
            InstallEvent::Downloading(line) | InstallEvent::Installing(line) => self.step(&line),
        }
    }

    /// Clears the spinner.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The heading of an install of `line` (pyspark `version`) into `dir`.
pub fn install_heading(line: &str, version: &str, dir: &Path) -> String {
    format!("installing Spark {line} (pyspark {version}) into {}", dir.display())
}

/// The line after an install that did work.
pub fn installed_text(line: &str, version: &str, elapsed: Duration) -> String {
    format!("installed Spark {line} (pyspark {version}) in {}", elapsed_text(elapsed))
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

/// Shows a runtime install's progress as `runtime install` does, and warnings.
pub struct InstallObserver<'a> {
    printer: &'a Printer,
    install: Option<InstallDisplay<'a>>,
}

impl<'a> InstallObserver<'a> {
    /// An observer printing through `printer`.
    pub fn new(printer: &'a Printer) -> Self {
        InstallObserver { printer, install: None }
    }
}

impl LocalRunObserver for InstallObserver<'_> {
    fn event(&mut self, event: LocalRunEvent<'_>) {
        match event {
            LocalRunEvent::Warning(warning) => self.printer.status(&format!("warning: {warning}")),
            LocalRunEvent::InstallStarting { line, version, dir } => {
                let heading = install_heading(line, version, dir);
                self.install = Some(InstallDisplay::new(self.printer, heading));
            }
            LocalRunEvent::Install(event) => {
                if let Some(display) = &mut self.install {
                    display.event(event);
                }
            }
            LocalRunEvent::InstallEnded => {
                if let Some(mut display) = self.install.take() {
                    display.finish();
                }
            }
            LocalRunEvent::Installed { line, version, elapsed } => {
                self.printer.status(&installed_text(line, version, elapsed));
            }
            _ => {}
        }
    }
}
