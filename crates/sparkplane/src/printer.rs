//! Where output goes: results to stdout in the chosen format, progress and
//! warnings to stderr (silenced by `-q`), errors rendered for the reader
//! (source excerpts on a terminal, plain lines otherwise, JSON with `-o json`).

use std::io::{IsTerminal, Write};

use serde::Serialize;
use serde_json::Value;
use sparkplane_documents::{Diagnostic, Diagnostics, Severity};

use crate::exit::Failure;
use crate::report;

/// How results are written (`-o`). The printer owns it; the command line
/// parses `-o` straight into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables and text.
    Table,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// Output settings, decided once from the global flags and the terminal.
#[derive(Clone, Debug)]
pub struct Printer {
    /// Result format.
    pub format: OutputFormat,
    /// Only results and errors.
    pub quiet: bool,
    /// Colour on stderr.
    pub color: bool,
    /// Whether stderr is a terminal (source excerpts) or not (plain lines).
    pub stderr_tty: bool,
}

impl Printer {
    /// From the global flags (`-o`, `-q`, `--no-color`) and the environment.
    pub fn new(format: OutputFormat, quiet: bool, no_color: bool) -> Printer {
        let stderr_tty = std::io::stderr().is_terminal();
        let no_color = no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer { format, quiet, color: stderr_tty && !no_color, stderr_tty }
    }

    /// Writes text to stdout as it is.
    pub fn raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Writes a result: as JSON or YAML of `value`, or as the `table` text.
    pub fn result<T: Serialize>(&self, value: &T, table: impl FnOnce() -> String) {
        match self.format {
            OutputFormat::Json => {
                let text = serde_json::to_string_pretty(value).unwrap_or_default();
                self.raw(&format!("{text}\n"));
            }
            OutputFormat::Yaml => {
                let value = serde_json::to_value(value).unwrap_or(Value::Null);
                let text = sparkplane_documents::yaml::to_yaml(&value);
                self.raw(text.strip_prefix("---\n").unwrap_or(&text));
            }
            OutputFormat::Table => self.raw(&table()),
        }
    }

    /// A progress or status line on stderr (not with `-q`).
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Warnings on stderr (not with `-q`).
    pub fn warnings(&self, diagnostics: &Diagnostics) {
        if self.quiet {
            return;
        }
        for warning in diagnostics.warnings() {
            eprintln!("{}", self.render(warning));
        }
    }

    fn render(&self, diag: &Diagnostic) -> String {
        if self.stderr_tty { report::graphical(diag, self.color) } else { diag.to_plain() }
    }

    /// Reports a failure: to stdout as JSON with `-o json`, else to stderr.
    pub fn failure(&self, failure: &Failure) {
        let diagnostics: Vec<Diagnostic> = match failure {
            Failure::Invalid(d) | Failure::Failed(d) | Failure::Infrastructure(d) => d.0.clone(),
            Failure::File { path, error, help } => vec![
                Diagnostic::error("file", "", format!("cannot read {}: {error}", path.display()))
                    .with_help(help.clone()),
            ],
        };
        // A failed check (exit 1) has already printed its result document,
        // which carries the problems; stdout stays one JSON document.
        let result_printed = matches!(failure, Failure::Failed(_));
        if self.format == OutputFormat::Json && !result_printed {
            let json = serde_json::json!({
                "ok": false,
                "errors": diagnostics.iter().filter(|d| d.severity == Severity::Error).map(Diagnostic::to_json).collect::<Vec<_>>(),
                "warnings": diagnostics.iter().filter(|d| d.severity == Severity::Warning).map(Diagnostic::to_json).collect::<Vec<_>>(),
            });
            self.raw(&format!("{}\n", serde_json::to_string_pretty(&json).unwrap_or_default()));
            return;
        }
        for diag in &diagnostics {
            if diag.severity == Severity::Warning && self.quiet {
                continue;
            }
            eprintln!("{}", self.render(diag));
        }
        let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        if errors > 1 && !self.quiet {
            eprintln!("{errors} errors");
        }
    }
}
