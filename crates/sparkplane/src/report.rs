//! Showing diagnostics: with source context and colour on a terminal, as
//! plain `file:line:column: error: …` lines otherwise, and as JSON with `-o json`.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use sparkplane_documents::{Diagnostic, Severity};

/// A core diagnostic seen through miette's eyes.
struct Rendered<'a> {
    diag: &'a Diagnostic,
    source: Option<NamedSource<String>>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.diag.path.is_empty() {
            write!(f, "{}", self.diag.message)
        } else {
            write!(f, "{}: {}", self.diag.path, self.diag.message)
        }
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diag.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let mut help = self.diag.help.clone().unwrap_or_default();
        for (span, note) in &self.diag.related {
            if !help.is_empty() {
                help.push('\n');
            }
            help.push_str(&format!("{}: {note}", span.location()));
        }
        (!help.is_empty()).then(|| Box::new(help) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diag.span.as_ref()?;
        let len =
            span.end.saturating_sub(span.start).max(1).min(span.source.text.len().saturating_sub(span.start).max(1));
        let label = LabeledSpan::new_with_span(None, SourceSpan::new(span.start.into(), len));
        Some(Box::new(std::iter::once(label)))
    }
}

/// Renders a diagnostic with its source excerpt (for terminals).
pub fn graphical(diag: &Diagnostic, color: bool) -> String {
    let source = diag.span.as_ref().map(|s| NamedSource::new(&*s.source.name, s.source.text.to_string()));
    let rendered = Rendered { diag, source };
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(2);
    if handler.render_report(&mut out, &rendered).is_err() {
        return diag.to_plain();
    }
    out
}
