//! Showing progress: a local run's — a live line on a terminal, a plain line
//! every ten seconds otherwise (also with `-q` and `-o json`, on stderr, so
//! logs of unattended runs still show that work is moving) — and a runtime
//! install's — a spinner on a terminal, one status line per step otherwise,
//! nothing with `-q`.
//!
//! Owns: how progress looks. Must not: decide anything about runs or
//! runtimes (`sparkplane_local` does).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sparkplane_local::progress::Progress;
use sparkplane_local::runtime::InstallEvent;
use sparkplane_local::runtime::view::{install_heading, installed_text};
use sparkplane_local::workflow::{LocalRunEvent, LocalRunObserver};

use crate::printer::Printer;

/// A run's progress display.
pub struct Display {
    bar: Option<ProgressBar>,
    last_plain: Option<Duration>,
}

fn elapsed_text(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{secs}s") }
}

impl Display {
    /// A live display on a terminal (`live`), else plain periodic lines.
    pub fn new(_printer: &Printer, live: bool) -> Display {
        let bar = live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message("starting Spark");
            bar
        });
        Display { bar, last_plain: None }
    }

    /// Shows the latest progress.
    pub fn update(&mut self, progress: Option<&Progress>, elapsed: Duration) {
        let text = match progress {
            Some(p) => format!("{} · {}", p.line(), elapsed_text(elapsed)),
            None => format!("starting Spark · {}", elapsed_text(elapsed)),
        };
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => {
                let due = self.last_plain.is_none_or(|last| elapsed.saturating_sub(last) >= Duration::from_secs(10));
                if due {
                    self.last_plain = Some(elapsed);
                    eprintln!("{text}");
                }
            }
        }
    }

    /// Clears the live line.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
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
