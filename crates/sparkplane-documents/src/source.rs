//! Source texts and locations inside them.
//!
//! The core never reads files: callers hand it `Source`s (a name and a text),
//! and every value loaded from one keeps a `Span` pointing back into it.

use std::sync::Arc;

/// A named text the core was given: a file's path and contents, an embedded
/// preset, or a `--set` flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// What to call it in messages: a path, `<preset etl-small>`, `--set`.
    pub name: Arc<str>,
    /// The whole text.
    pub text: Arc<str>,
}

impl Source {
    /// A source named `name` holding `text`.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        Self { name: name.into(), text: text.into() }
    }
}

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LineCol {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

/// A region of a source: where a value was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The source it is in.
    pub source: Source,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset past the last byte (≥ start).
    pub end: usize,
    /// Line and column of `start`.
    pub at: LineCol,
}

impl Span {
    /// `file:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.source.name, self.at.line, self.at.column)
    }

    /// The text of the line the span starts on.
    pub fn line_text(&self) -> &str {
        self.source.text.lines().nth(self.at.line.saturating_sub(1)).unwrap_or("")
    }
}
