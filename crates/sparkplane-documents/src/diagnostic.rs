//! Problems found in user input, each with where it is, what is wrong and
//! how to fix it. Every stage reports all it finds at once as `Diagnostics`.

use std::fmt;

use serde::Serialize;

use crate::source::Span;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the command.
    Error,
    /// Reported; the command goes on.
    Warning,
}

/// One problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `unknown-field`.
    pub code: &'static str,
    /// Field path in the document, e.g. `spec.executor.memory` (empty for the whole document).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where it was written, when known.
    pub span: Option<Span>,
    /// Other places involved (e.g. the other side of a conflict), with a note each.
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            path: path.into(),
            message: message.into(),
            help: None,
            span: None,
            related: Vec::new(),
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, path, message) }
    }

    /// Adds how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds where it was written.
    pub fn with_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    /// Adds another place involved.
    pub fn with_related(mut self, span: Option<Span>, note: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.related.push((span, note.into()));
        }
        self
    }

    /// `file:line:column`, or the source-less path.
    pub fn location(&self) -> Option<String> {
        self.span.as_ref().map(Span::location)
    }

    /// A plain, one-problem-per-paragraph rendering (no colour, no source excerpt).
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if let Some(location) = self.location() {
            out.push_str(&location);
            out.push_str(": ");
        }
        out.push_str(level);
        out.push_str(": ");
        if !self.path.is_empty() {
            out.push_str(&self.path);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        if let Some(help) = &self.help {
            out.push_str("\n  help: ");
            out.push_str(help);
        }
        for (span, note) in &self.related {
            out.push_str(&format!("\n  note: {}: {note}", span.location()));
        }
        out
    }

    /// A JSON-ready view.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "help": self.help,
            "file": self.span.as_ref().map(|s| s.source.name.to_string()),
            "line": self.span.as_ref().map(|s| s.at.line),
            "column": self.span.as_ref().map(|s| s.at.column),
            "related": self.related.iter().map(|(s, note)| serde_json::json!({
                "file": s.source.name.to_string(), "line": s.at.line, "column": s.at.column, "note": note
            })).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain())
    }
}

/// All problems a stage found, errors and warnings. A stage fails when any is an error.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// No problems.
    pub fn new() -> Self {
        Self(Vec::new())
    }
    /// Adds one.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }
    /// Adds all of another.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    /// Whether any is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }
    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Warning)
    }
    /// Sorted by file, line and column, for stable output.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.span.as_ref().map(|s| (s.source.name.to_string(), s.at)).unwrap_or_default();
            key(a).cmp(&key(b)).then_with(|| a.path.cmp(&b.path))
        });
        self
    }
    /// Without repeats: the same problem found at the same place by two stages is reported once.
    pub fn deduplicated(self) -> Self {
        let mut seen = std::collections::BTreeSet::new();
        Self(
            self.0
                .into_iter()
                .filter(|d| seen.insert((d.code, d.path.clone(), d.location(), d.message.clone())))
                .collect(),
        )
    }

    /// Fails with these diagnostics when any is an error, else returns `value`
    /// (the warnings are dropped: callers that show warnings read them first).
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.has_errors() { Err(self) } else { Ok(value) }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&d.to_plain())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d])
    }
}
