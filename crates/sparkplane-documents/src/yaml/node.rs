//! A YAML tree in which every value keeps the span it was written at.
//!
//! Aliases are expanded into copies of their anchor, within limits: at most
//! [`MAX_ALIAS_VALUES`] values copied from aliases per file and at most
//! [`MAX_DEPTH`] levels of nesting, so a "billion laughs" file is an error
//! with a location rather than exhausted memory.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};

use super::path::{FieldPath, PathSeg};
use crate::diagnostic::Diagnostic;
use crate::source::{LineCol, Source, Span};

/// A YAML value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where it was written.
    pub span: Span,
}

/// The value of a node, resolved with YAML 1.2's core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order; each key keeps its own span.
    Map(Vec<(String, Span, Node)>),
}

impl Node {
    /// The value at `path`, if present.
    pub fn get(&self, path: &FieldPath) -> Option<&Node> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.value) {
                (PathSeg::Key(key), NodeValue::Map(entries)) => &entries.iter().find(|(k, _, _)| k == key)?.2,
                (PathSeg::Index(i), NodeValue::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The span of the key at the end of `path` (falls back to the value's span).
    pub fn key_span(&self, path: &FieldPath) -> Option<Span> {
        let (last, parent) = path.0.split_last()?;
        let parent = self.get(&FieldPath(parent.to_vec()))?;
        match (last, &parent.value) {
            (PathSeg::Key(key), NodeValue::Map(entries)) => {
                entries.iter().find(|(k, _, _)| k == key).map(|(_, span, _)| span.clone())
            }
            _ => self.get(path).map(|n| n.span.clone()),
        }
    }

    /// The best span for a problem at `path`: the value when present, else
    /// the nearest enclosing value that is.
    pub fn span_for(&self, path: &FieldPath) -> Span {
        let mut segs = path.0.clone();
        loop {
            if let Some(node) = self.get(&FieldPath(segs.clone())) {
                return node.span.clone();
            }
            if segs.pop().is_none() {
                return self.span.clone();
            }
        }
    }

    /// The mapping entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(String, Span, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Int(_) => "integer",
            NodeValue::Float(_) => "number",
            NodeValue::Str(_) => "string",
            NodeValue::Seq(_) => "list",
            NodeValue::Map(_) => "mapping",
        }
    }

    /// The value as JSON (mapping keys sorted; spans dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                Value::Object(entries.iter().map(|(k, _, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// A node built from JSON, every part of it spanning `span` (used for
    /// values that come from flags rather than files).
    pub fn from_json(value: &serde_json::Value, span: &Span) -> Node {
        use serde_json::Value;
        let value = match value {
            Value::Null => NodeValue::Null,
            Value::Bool(b) => NodeValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => NodeValue::Int(i),
                None => NodeValue::Float(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => NodeValue::Str(s.clone()),
            Value::Array(items) => NodeValue::Seq(items.iter().map(|v| Node::from_json(v, span)).collect()),
            Value::Object(map) => {
                NodeValue::Map(map.iter().map(|(k, v)| (k.clone(), span.clone(), Node::from_json(v, span))).collect())
            }
        };
        Node { value, span: span.clone() }
    }
}

/// Maps the parser's character positions to byte offsets of the source.
struct Locator<'a> {
    source: &'a Source,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    fn new(source: &'a Source) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.text.match_indices('\n').map(|(i, _)| i + 1));
        Self { source, line_starts }
    }

    fn byte_offset(&self, line: usize, col: usize) -> usize {
        let start = self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.source.text.len());
        let rest = &self.source.text[start..];
        start + rest.char_indices().nth(col).map(|(i, _)| i).unwrap_or(rest.len())
    }

    fn span(&self, span: YamlSpan) -> Span {
        let start = self.byte_offset(span.start.line(), span.start.col());
        let end = self.byte_offset(span.end.line(), span.end.col()).max(start);
        Span {
            source: self.source.clone(),
            start,
            end,
            at: LineCol { line: span.start.line().max(1), column: span.start.col() + 1 },
        }
    }

    fn point(&self, line: usize, col: usize) -> Span {
        let start = self.byte_offset(line, col);
        Span { source: self.source.clone(), start, end: start, at: LineCol { line: line.max(1), column: col + 1 } }
    }
}

/// The most values aliases may copy into one file's tree (each value of a
/// copied mapping or list counts). Real files copy a few hundred at most.
pub const MAX_ALIAS_VALUES: usize = 10_000;
/// The deepest nesting of mappings and lists, aliases expanded.
pub const MAX_DEPTH: usize = 100;

/// An anchored node, with how many values it holds and how deep it nests.
struct Anchor {
    node: Node,
    values: usize,
    height: usize,
}

fn count_values(node: &Node) -> usize {
    1 + match &node.value {
        NodeValue::Seq(items) => items.iter().map(count_values).sum(),
        NodeValue::Map(entries) => entries.iter().map(|(_, _, v)| count_values(v)).sum(),
        _ => 0,
    }
}

fn height(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(height).max().unwrap_or(0),
        NodeValue::Map(entries) => 1 + entries.iter().map(|(_, _, v)| height(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Builds nodes from the parser's events.
struct Builder<'a> {
    locator: Locator<'a>,
    anchors: HashMap<usize, Anchor>,
    /// Values copied from aliases so far.
    copied: usize,
}

type Events<'input> = std::iter::Peekable<Parser<'input, saphyr_parser::StrInput<'input>>>;

impl Builder<'_> {
    fn syntax_error(&self, err: &saphyr_parser::ScanError) -> Diagnostic {
        let mark = err.marker();
        Diagnostic::error("yaml-syntax", "", format!("malformed YAML: {}", err.info()))
            .with_span(Some(self.locator.point(mark.line(), mark.col())))
            .with_help(
                "fix the YAML syntax at this position (indentation, a missing `:`, an unclosed quote or bracket)",
            )
    }

    fn next(&self, events: &mut Events<'_>) -> Result<(Event<'static>, YamlSpan), Diagnostic> {
        match events.next() {
            Some(Ok((event, span))) => Ok((into_static(event), span)),
            Some(Err(err)) => Err(self.syntax_error(&err)),
            None => Err(Diagnostic::error("yaml-syntax", "", "malformed YAML: unexpected end of input")),
        }
    }

    fn too_deep(&self, span: Span) -> Diagnostic {
        Diagnostic::error(
            "yaml-too-deep",
            "",
            format!("mappings and lists nest more than {MAX_DEPTH} levels deep here"),
        )
        .with_span(Some(span))
        .with_help("flatten the document; no sparkplane file needs this much nesting")
    }

    /// Builds the node that starts with `first`, `depth` levels down.
    fn node(
        &mut self,
        first: (Event<'static>, YamlSpan),
        events: &mut Events<'_>,
        depth: usize,
    ) -> Result<Node, Diagnostic> {
        let (event, yspan) = first;
        let span = self.locator.span(yspan);
        if depth > MAX_DEPTH && matches!(event, Event::SequenceStart(..) | Event::MappingStart(..)) {
            return Err(self.too_deep(span));
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(&text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let end = scalar_end(&self.locator.source.text, span.start, span.end, style);
                (Node { value, span: Span { end, ..span } }, anchor)
            }
            Event::Alias(id) => {
                let anchor = self.anchors.get(&id).ok_or_else(|| {
                    Diagnostic::error("yaml-syntax", "", "malformed YAML: alias to an unknown anchor")
                        .with_span(Some(span.clone()))
                })?;
                if depth + anchor.height > MAX_DEPTH + 1 {
                    return Err(self.too_deep(span));
                }
                self.copied = self.copied.saturating_add(anchor.values);
                if self.copied > MAX_ALIAS_VALUES {
                    return Err(Diagnostic::error(
                        "yaml-alias-limit",
                        "",
                        format!(
                            "aliases in this file expand to more than {MAX_ALIAS_VALUES} values; this one alone copies {}",
                            anchor.values
                        ),
                    )
                    .with_span(Some(span))
                    .with_help(
                        "write the values out instead of nesting anchors in anchors; sparkplane refuses files whose aliases expand this far (a \"billion laughs\" file)",
                    ));
                }
                return Ok(anchor.node.clone());
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                let end = loop {
                    let next = self.next(events)?;
                    if matches!(next.0, Event::SequenceEnd) {
                        break next.1;
                    }
                    items.push(self.node(next, events, depth + 1)?);
                };
                let span = Span { end: self.locator.span(end).end.max(span.start), ..span };
                (Node { value: NodeValue::Seq(items), span }, anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(String, Span, Node)> = Vec::new();
                let end = loop {
                    let next = self.next(events)?;
                    if matches!(next.0, Event::MappingEnd) {
                        break next.1;
                    }
                    let key = self.node(next, events, depth + 1)?;
                    let key_text = match &key.value {
                        NodeValue::Str(s) => s.clone(),
                        NodeValue::Int(i) => i.to_string(),
                        NodeValue::Float(f) => f.to_string(),
                        NodeValue::Bool(b) => b.to_string(),
                        NodeValue::Null => "null".to_owned(),
                        NodeValue::Seq(_) | NodeValue::Map(_) => {
                            return Err(Diagnostic::error(
                                "yaml-syntax",
                                "",
                                "a mapping key must be a plain value, not a list or mapping",
                            )
                            .with_span(Some(key.span))
                            .with_help("write the key as a string"));
                        }
                    };
                    let next = self.next(events)?;
                    let value = self.node(next, events, depth + 1)?;
                    if let Some((_, first, _)) = entries.iter().find(|(k, _, _)| *k == key_text) {
                        return Err(Diagnostic::error(
                            "duplicate-key",
                            "",
                            format!("the key `{key_text}` appears twice in one mapping"),
                        )
                        .with_span(Some(key.span))
                        .with_related(Some(first.clone()), "first written here")
                        .with_help("keep one of the two; YAML does not say which would win"));
                    }
                    entries.push((key_text, key.span, value));
                };
                let span = Span { end: self.locator.span(end).end.max(span.start), ..span };
                (Node { value: NodeValue::Map(entries), span }, anchor)
            }
            _ => {
                return Err(
                    Diagnostic::error("yaml-syntax", "", "malformed YAML: unexpected event").with_span(Some(span))
                );
            }
        };
        if anchor > 0 {
            let anchored = Anchor { values: count_values(&node), height: height(&node), node: node.clone() };
            self.anchors.insert(anchor, anchored);
        }
        Ok(node)
    }
}

fn into_static(event: Event<'_>) -> Event<'static> {
    match event {
        Event::Scalar(text, style, anchor, tag) => {
            Event::Scalar(Cow::Owned(text.into_owned()), style, anchor, tag.map(|t| Cow::Owned(t.into_owned())))
        }
        Event::SequenceStart(anchor, tag) => Event::SequenceStart(anchor, tag.map(|t| Cow::Owned(t.into_owned()))),
        Event::MappingStart(anchor, tag) => Event::MappingStart(anchor, tag.map(|t| Cow::Owned(t.into_owned()))),
        Event::Nothing => Event::Nothing,
        Event::StreamStart => Event::StreamStart,
        Event::StreamEnd => Event::StreamEnd,
        Event::DocumentStart(explicit) => Event::DocumentStart(explicit),
        Event::DocumentEnd => Event::DocumentEnd,
        Event::Alias(id) => Event::Alias(id),
        Event::SequenceEnd => Event::SequenceEnd,
        Event::MappingEnd => Event::MappingEnd,
    }
}

/// Where a single-line scalar's text really ends: the parser's span of a
/// quoted scalar can run on over a trailing comment, and a plain one over
/// trailing spaces. Block scalars (`|`, `>`) and multi-line ones keep their span.
fn scalar_end(text: &str, start: usize, end: usize, style: ScalarStyle) -> usize {
    let Some(region) = text.get(start..end) else { return end };
    let line = region.split('\n').next().unwrap_or(region);
    let own = match style {
        ScalarStyle::DoubleQuoted => {
            let mut escaped = false;
            line.char_indices().skip(1).find_map(|(i, c)| {
                let close = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                close.then_some(i + 1)
            })
        }
        ScalarStyle::SingleQuoted => {
            let bytes = line.as_bytes();
            let mut i = 1;
            let mut found = None;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    found = Some(i + 1);
                    break;
                }
                i += 1;
            }
            found
        }
        ScalarStyle::Plain if !region.contains('\n') => {
            let cut = line.find(" #").unwrap_or(line.len());
            Some(line[..cut].trim_end().len())
        }
        _ => None,
    };
    own.map_or(end, |len| (start + len).min(end))
}

/// Resolves a scalar with the core schema; quoted scalars and `!!str` stay strings.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> NodeValue {
    if style != ScalarStyle::Plain || tag == Some("str") {
        return NodeValue::Str(text.to_owned());
    }
    match Scalar::parse_from_cow(Cow::Borrowed(text)) {
        Scalar::Null => NodeValue::Null,
        Scalar::Boolean(b) => NodeValue::Bool(b),
        Scalar::Integer(i) => NodeValue::Int(i),
        Scalar::FloatingPoint(f) => NodeValue::Float(f.into_inner()),
        Scalar::String(s) => NodeValue::Str(s.into_owned()),
    }
}

/// Parses every document of a YAML stream. An empty stream has no documents.
pub fn parse_documents(source: &Source) -> Result<Vec<Node>, Diagnostic> {
    let mut builder = Builder { locator: Locator::new(source), anchors: HashMap::new(), copied: 0 };
    let mut events: Events<'_> = Parser::new_from_str(&source.text).peekable();
    let mut docs = Vec::new();
    loop {
        let (event, span) = builder.next(&mut events)?;
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                let next = builder.next(&mut events)?;
                if matches!(next.0, Event::DocumentEnd) {
                    continue;
                }
                docs.push(builder.node(next, &mut events, 1)?);
            }
            _ => {
                return Err(Diagnostic::error("yaml-syntax", "", "malformed YAML: unexpected content")
                    .with_span(Some(builder.locator.span(span))));
            }
        }
    }
    Ok(docs)
}

/// Parses a YAML text that must hold exactly one document.
pub fn parse_single(source: &Source) -> Result<Node, Diagnostic> {
    let mut docs = parse_documents(source)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        0 => Err(Diagnostic::error("empty-document", "", format!("{} is empty", source.name))
            .with_span(Some(Locator::new(source).point(1, 0)))
            .with_help("write one document, starting with `apiVersion: sparkplane.dev/v1alpha1`")),
        n => Err(Diagnostic::error(
            "many-documents",
            "",
            format!("{} holds {n} YAML documents; one is expected", source.name),
        )
        .with_span(Some(docs[1].span.clone()))
        .with_help("keep one document per file")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, Diagnostic> {
        parse_single(&Source::new("t.yaml", text))
    }

    #[test]
    fn keeps_spans_and_types() {
        let node = parse("a: 1\nb:\n  c: \"2\"\n  d: [x, 1.5, true, null]\n").unwrap();
        let c = node.get(&FieldPath::parse("b.c").unwrap()).unwrap();
        assert_eq!(c.value, NodeValue::Str("2".into()));
        assert_eq!((c.span.at.line, c.span.at.column), (3, 6));
        assert_eq!(&c.span.source.text[c.span.start..c.span.end], "\"2\"");
        let d = node.get(&FieldPath::parse("b.d[1]").unwrap()).unwrap();
        assert_eq!(d.value, NodeValue::Float(1.5));
        assert_eq!(node.key_span(&FieldPath::parse("b.c").unwrap()).unwrap().at.column, 3);
        assert_eq!(node.to_json()["b"]["d"][2], serde_json::json!(true));
    }

    #[test]
    fn multibyte_columns_map_to_bytes() {
        let node = parse("name: \"héllo\"\nnext: ünïcode\n").unwrap();
        let next = node.get(&FieldPath::parse("next").unwrap()).unwrap();
        assert_eq!(&next.span.source.text[next.span.start..next.span.end], "ünïcode");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.code, "duplicate-key");
        assert_eq!(err.span.unwrap().at.line, 3);
        assert_eq!(err.related[0].0.at.line, 1);
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(err.code, "yaml-syntax");
        assert!(err.span.is_some());
        let err = parse("a: \"unclosed\n").unwrap_err();
        assert!(err.message.starts_with("malformed YAML"), "{}", err.message);
    }

    /// Nine levels of ten aliases each: 10^9 strings if expanded.
    pub(crate) fn billion_laughs() -> String {
        let mut text = String::from("a0: &a0 [lol]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn alias_expansion_is_capped_with_a_location() {
        let start = std::time::Instant::now();
        let err = parse(&billion_laughs()).unwrap_err();
        assert_eq!(err.code, "yaml-alias-limit");
        assert_eq!(err.message, "aliases in this file expand to more than 10000 values; this one alone copies 2111");
        let at = err.span.unwrap().at;
        assert_eq!((at.line, at.column), (5, 25));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        // Anchors used within the limit still expand.
        let node = parse("a: &x [1, 2]\nb: [*x, *x, *x]\n").unwrap();
        assert_eq!(node.to_json()["b"][2][1], 2);
    }

    #[test]
    fn nesting_is_capped_with_and_without_aliases() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let err = parse(&deep).unwrap_err();
        assert_eq!(err.code, "yaml-too-deep");
        assert_eq!(err.span.unwrap().at.column, MAX_DEPTH + 1);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let half = MAX_DEPTH / 2 + 1;
        let nested =
            format!("a: &x {}{}\nb: {}*x{}\n", "[".repeat(half), "]".repeat(half), "[".repeat(half), "]".repeat(half));
        assert_eq!(parse(&nested).unwrap_err().code, "yaml-too-deep");
    }

    #[test]
    fn aliases_are_expanded_and_empty_files_refused() {
        let node = parse("a: &x {k: v}\nb: *x\n").unwrap();
        assert_eq!(node.to_json()["b"]["k"], "v");
        assert_eq!(parse("").unwrap_err().code, "empty-document");
        assert_eq!(parse("a: 1\n---\nb: 2\n").unwrap_err().code, "many-documents");
    }
}
