//! Typed values read straight from a YAML tree: a serde `Deserializer` over
//! [`Node`] for documents sparkplane reads leniently and must account for
//! field by field (an imported Kubeflow application).
//!
//! It owns three things the plain `to_json` + `serde_json` route loses:
//! - every problem carries the field path and span of the value it is about,
//!   and reading goes on after a problem (the value is left out and read
//!   again), so a file gets every mistake at once;
//! - every field the target type does not know is returned with its path and
//!   the span of its key, so a caller can report what it did not read;
//! - a number or boolean read where text is expected is its text as written
//!   (`3.10` stays `3.10`), as YAML authors expect of Kubernetes string maps.
//!
//! A `null` value reads as an absent one where the type allows (an `Option`,
//! an empty list or mapping). It must not validate meaning: callers do.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use super::node::{Node, NodeValue};
use super::path::{FieldPath, PathSeg};
use crate::source::Span;

/// A field the target type did not read.
#[derive(Clone, Debug, PartialEq)]
pub struct IgnoredField {
    /// Where it is.
    pub path: FieldPath,
    /// Its key's span (the value's for a list item).
    pub span: Span,
}

/// A value that could not be read.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadProblem {
    /// `bad-value` (wrong type or value) or `missing-field`.
    pub code: &'static str,
    /// The value's path (for a missing field, the field's).
    pub path: FieldPath,
    /// The value's span (for a missing field, the enclosing mapping's).
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The value left out of the result because of it (for a missing field, the enclosing mapping).
    pub left_out: FieldPath,
}

/// What [`read_node`] found.
#[derive(Debug)]
pub struct Read<T> {
    /// The value, with every unreadable part left out; None when the value itself is unreadable.
    pub value: Option<T>,
    /// Every field the type did not read, in document order.
    pub ignored: Vec<IgnoredField>,
    /// Every value that could not be read.
    pub problems: Vec<ReadProblem>,
}

/// Reads `node`, found at `at`, as a `T`; see the module documentation.
pub fn read_node<T: DeserializeOwned>(node: &Node, at: &FieldPath) -> Read<T> {
    read_node_with(node, at, &|_| false)
}

/// [`read_node`], except that below the paths `strict` accepts text is read
/// only from strings and a list item or required mapping is never null (as
/// the Kubernetes API server reads its own objects).
pub fn read_node_with<T: DeserializeOwned>(
    node: &Node,
    at: &FieldPath,
    strict: &dyn Fn(&FieldPath) -> bool,
) -> Read<T> {
    let mut pruned = BTreeSet::new();
    let mut problems = Vec::new();
    loop {
        let state = State { pruned: &pruned, ignored: RefCell::new(Vec::new()), strict };
        let result = T::deserialize(NodeDe { node, path: at.clone(), key_span: None, state: &state });
        let ignored = state.ignored.into_inner();
        match result {
            Ok(value) => return Read { value: Some(value), ignored, problems },
            Err(err) => {
                let problem = err.into_problem(node, at);
                let prune = problem.left_out.clone();
                problems.push(problem);
                // Each round leaves out one more value, so this ends; the value itself failing ends it at once.
                if prune == *at || !prune.starts_with(at) || !pruned.insert(prune) {
                    return Read { value: None, ignored, problems };
                }
            }
        }
    }
}

/// The text of a scalar as written (so `3.10` stays `3.10`), or None for null, lists and mappings.
pub fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
            let raw = node.span.source.text.get(node.span.start..node.span.end).unwrap_or("").trim();
            Some(if raw.is_empty() || raw.starts_with(['"', '\'']) {
                display_scalar(&node.value)
            } else {
                raw.to_owned()
            })
        }
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => None,
    }
}

fn display_scalar(value: &NodeValue) -> String {
    match value {
        NodeValue::Int(i) => i.to_string(),
        NodeValue::Float(f) => f.to_string(),
        NodeValue::Bool(b) => b.to_string(),
        NodeValue::Str(s) => s.clone(),
        _ => String::new(),
    }
}

/// What one reading round shares.
struct State<'a> {
    /// Values left out because an earlier round could not read them.
    pruned: &'a BTreeSet<FieldPath>,
    ignored: RefCell<Vec<IgnoredField>>,
    /// Where values are read as the Kubernetes API server reads them.
    strict: &'a dyn Fn(&FieldPath) -> bool,
}

/// A reading problem on its way up to [`read_node`], located by the innermost value that knows where it is.
#[derive(Debug)]
pub struct DeError {
    code: &'static str,
    message: String,
    help: Option<String>,
    /// The value the problem is about, once known.
    at: Option<(FieldPath, Span)>,
    /// A missing field's name: reported at the field, left out at its mapping.
    missing: Option<&'static str>,
}

impl DeError {
    fn bad(message: impl Into<String>, help: impl Into<String>) -> Self {
        DeError { code: "bad-value", message: message.into(), help: Some(help.into()), at: None, missing: None }
    }

    fn locate(mut self, path: &FieldPath, span: &Span) -> Self {
        if self.at.is_none() {
            self.at = Some((path.clone(), span.clone()));
        }
        self
    }

    /// The problem as reported, with the value to leave out in the next round.
    fn into_problem(self, root: &Node, at: &FieldPath) -> ReadProblem {
        let (left_out, mut span) = self.at.unwrap_or_else(|| (at.clone(), root.span.clone()));
        let path = match self.missing {
            Some(field) => {
                // A field written with a value that could not be read counts as missing: point at that value.
                let below = FieldPath(left_out.0.get(at.0.len()..).unwrap_or_default().to_vec()).key(field);
                if let Some(node) = root.get(&below) {
                    span = node.span.clone();
                }
                left_out.key(field)
            }
            None => left_out.clone(),
        };
        let help = self.help.unwrap_or_else(|| format!("fix `{}`", path_tail(&path)));
        ReadProblem { code: self.code, path, span, message: self.message, help, left_out }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { code: "bad-value", message: msg.to_string(), help: None, at: None, missing: None }
    }

    fn missing_field(field: &'static str) -> Self {
        DeError {
            code: "missing-field",
            message: format!("no `{field}`"),
            help: Some(format!("add `{field}:`")),
            at: None,
            missing: Some(field),
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let options = one_of(expected);
        DeError::bad(format!("`{variant}` is not one of {options}"), format!("write {options}"))
    }
}

/// `A, B or C`.
fn one_of(options: &[&str]) -> String {
    match options.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The last key of a path (the whole path when it ends in an index), for messages.
fn path_tail(path: &FieldPath) -> String {
    match path.0.last() {
        Some(PathSeg::Key(key)) => key.clone(),
        _ => path.to_string(),
    }
}

/// One value being read.
struct NodeDe<'a> {
    node: &'a Node,
    path: FieldPath,
    key_span: Option<&'a Span>,
    state: &'a State<'a>,
}

impl<'a> NodeDe<'a> {
    fn wrong(&self, expected: &str, help: String) -> DeError {
        DeError::bad(format!("expected {expected}, found a {}", self.node.type_name()), help)
            .locate(&self.path, &self.node.span)
    }

    fn whole(&self) -> Result<i64, DeError> {
        match self.node.value {
            NodeValue::Int(i) => Ok(i),
            NodeValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(self.wrong("a whole number", "write a whole number without quotes".into())),
        }
    }

    fn strict(&self) -> bool {
        (self.state.strict)(&self.path)
    }

    /// Help for a value that should be a single one.
    fn single_help(&self) -> String {
        match self.path.0.last() {
            Some(PathSeg::Index(_)) => "write each item as a plain value".into(),
            _ => "write a single value".into(),
        }
    }

    /// Help for a value that should be a list or mapping.
    fn whole_help(&self, what: &str) -> String {
        match self.path.0.last() {
            Some(PathSeg::Index(_)) => format!("write each item as {what}"),
            _ => format!("write `{}` as {what}", path_tail(&self.path)),
        }
    }

    fn finish<T>(&self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|e| e.locate(&self.path, &self.node.span))
    }
}

macro_rules! whole_number {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let n = self.whole()?;
            self.finish(visitor.visit_i64(n))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            NodeValue::Null => visitor.visit_unit(),
            NodeValue::Bool(b) => visitor.visit_bool(*b),
            NodeValue::Int(i) => visitor.visit_i64(*i),
            NodeValue::Float(f) => visitor.visit_f64(*f),
            NodeValue::Str(s) => visitor.visit_str(s),
            NodeValue::Seq(items) => visitor.visit_seq(SeqDe::new(items, &self)),
            NodeValue::Map(entries) => visitor.visit_map(MapDe::new(entries, &self)),
        };
        self.finish(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            NodeValue::Bool(b) => self.finish(visitor.visit_bool(b)),
            _ => Err(self.wrong("true or false", "write `true` or `false` without quotes".into())),
        }
    }

    whole_number!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            NodeValue::Int(i) => self.finish(visitor.visit_f64(i as f64)),
            NodeValue::Float(f) => self.finish(visitor.visit_f64(f)),
            _ => Err(self.wrong("a number", "write a number without quotes".into())),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match (&self.node.value, scalar_text(self.node)) {
            (NodeValue::Str(s), _) => self.finish(visitor.visit_str(s)),
            (_, Some(_)) if self.strict() => {
                Err(self.wrong("a string", "quote the value: Kubernetes reads only a string here".into()))
            }
            (_, Some(text)) => self.finish(visitor.visit_str(&text)),
            (_, None) => Err(self.wrong("a string", self.single_help())),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match scalar_text(self.node) {
            Some(text) => self.finish(visitor.visit_bytes(text.as_bytes())),
            None => Err(self.wrong("a string", self.single_help())),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            NodeValue::Null => self.finish(visitor.visit_none()),
            _ => {
                let (path, span) = (self.path.clone(), self.node.span.clone());
                visitor.visit_some(self).map_err(|e| e.locate(&path, &span))
            }
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.value {
            NodeValue::Null => self.finish(visitor.visit_unit()),
            _ => Err(self.wrong("nothing (null)", "leave the value empty".into())),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        let (path, span) = (self.path.clone(), self.node.span.clone());
        visitor.visit_newtype_struct(self).map_err(|e| e.locate(&path, &span))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            NodeValue::Seq(items) => self.finish(visitor.visit_seq(SeqDe::new(items, &self))),
            NodeValue::Null if !self.strict() => self.finish(visitor.visit_seq(SeqDe::new(&[], &self))),
            _ => Err(self.wrong("a list", self.whole_help("a list: `[a, b]`"))),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            NodeValue::Map(entries) => self.finish(visitor.visit_map(MapDe::new(entries, &self))),
            NodeValue::Null if !self.strict() => self.finish(visitor.visit_map(MapDe::new(&[], &self))),
            _ => Err(self.wrong("a mapping", self.whole_help("a mapping of fields"))),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            NodeValue::Str(_) | NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) if !self.strict() => {
                let text = scalar_text(self.node).unwrap_or_default();
                let variant: de::value::StrDeserializer<'_, DeError> = text.as_str().into_deserializer();
                self.finish(visitor.visit_enum(variant))
            }
            NodeValue::Str(s) => {
                let variant: de::value::StrDeserializer<'_, DeError> = s.as_str().into_deserializer();
                self.finish(visitor.visit_enum(variant))
            }
            NodeValue::Map(entries) if entries.len() == 1 => {
                let (key, key_span, value) = &entries[0];
                let inner =
                    NodeDe { node: value, path: self.path.key(key), key_span: Some(key_span), state: self.state };
                self.finish(visitor.visit_enum(EnumDe { key, inner }))
            }
            _ => Err(self.wrong("a string", self.single_help())),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.key_span.cloned().unwrap_or_else(|| self.node.span.clone());
        self.state.ignored.borrow_mut().push(IgnoredField { path: self.path.clone(), span });
        visitor.visit_unit()
    }
}

struct SeqDe<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: FieldPath,
    state: &'a State<'a>,
}

impl<'a> SeqDe<'a> {
    fn new(items: &'a [Node], parent: &NodeDe<'a>) -> Self {
        SeqDe { items: items.iter().enumerate(), path: parent.path.clone(), state: parent.state }
    }
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        for (i, node) in self.items.by_ref() {
            let path = self.path.index(i);
            if self.state.pruned.contains(&path) {
                continue;
            }
            return seed.deserialize(NodeDe { node, path, key_span: None, state: self.state }).map(Some);
        }
        Ok(None)
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (String, Span, Node)>,
    next: Option<&'a (String, Span, Node)>,
    path: FieldPath,
    state: &'a State<'a>,
}

impl<'a> MapDe<'a> {
    fn new(entries: &'a [(String, Span, Node)], parent: &NodeDe<'a>) -> Self {
        MapDe { entries: entries.iter(), next: None, path: parent.path.clone(), state: parent.state }
    }
}

impl<'de> de::MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for entry in self.entries.by_ref() {
            if self.state.pruned.contains(&self.path.key(&entry.0)) {
                continue;
            }
            self.next = Some(entry);
            let key: de::value::StrDeserializer<'_, DeError> = entry.0.as_str().into_deserializer();
            let path = self.path.key(&entry.0);
            return seed.deserialize(key).map(Some).map_err(|e| e.locate(&path, &entry.1));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.next.take() {
            Some((key, key_span, node)) => {
                seed.deserialize(NodeDe { node, path: self.path.key(key), key_span: Some(key_span), state: self.state })
            }
            None => Err(de::Error::custom("a value was read before its key")),
        }
    }
}

struct EnumDe<'a> {
    key: &'a str,
    inner: NodeDe<'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'a> {
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, NodeDe<'a>), DeError> {
        let key: de::value::StrDeserializer<'_, DeError> = self.key.into_deserializer();
        let variant = seed.deserialize(key)?;
        Ok((variant, self.inner))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::source::Source;
    use crate::yaml::parse_single;

    #[derive(Deserialize, Debug, Default, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Pod {
        name: Option<String>,
        cores: Option<i32>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
        #[serde(default)]
        args: Vec<String>,
        on: Option<bool>,
        gpu: Option<Gpu>,
        kind: Option<Kind>,
    }

    #[derive(Deserialize, Debug, Default, PartialEq)]
    struct Gpu {
        name: String,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    enum Kind {
        Java,
        Python,
    }

    fn read(text: &str) -> Read<Pod> {
        let node = parse_single(&Source::new("pod.yaml", text)).expect("parses");
        read_node(&node, &FieldPath::root().key("spec"))
    }

    #[test]
    fn scalars_read_as_text_keep_their_spelling_and_nulls_are_absent() {
        let got = read("name: 3.10\nlabels: {v: 1.0, on: true}\nargs: [1, x]\ncores: 2.0\nkind: Python\ngpu: null\n");
        assert_eq!(got.problems, []);
        let pod = got.value.expect("reads");
        assert_eq!(pod.name.as_deref(), Some("3.10"));
        assert_eq!(pod.labels, BTreeMap::from([("on".into(), "true".into()), ("v".into(), "1.0".into())]));
        assert_eq!(pod.args, ["1", "x"]);
        assert_eq!(pod.cores, Some(2));
        assert_eq!(pod.kind, Some(Kind::Python));
        assert_eq!(pod.gpu, None);
    }

    #[test]
    fn every_problem_is_found_with_its_path_and_the_rest_is_read() {
        let got = read("name: ok\ncores: \"2\"\non: yes please\nargs: {a: 1}\ngpu: {}\nkind: Rust\nlabels: {a: [1]}\n");
        let found: Vec<_> =
            got.problems.iter().map(|p| (p.code, p.path.to_string(), p.span.at.line, p.message.as_str())).collect();
        assert_eq!(
            found,
            [
                ("bad-value", "spec.cores".to_owned(), 2, "expected a whole number, found a string"),
                ("bad-value", "spec.on".to_owned(), 3, "expected true or false, found a string"),
                ("bad-value", "spec.args".to_owned(), 4, "expected a list, found a mapping"),
                ("missing-field", "spec.gpu.name".to_owned(), 5, "no `name`"),
                ("bad-value", "spec.kind".to_owned(), 6, "`Rust` is not one of Java or Python"),
                ("bad-value", "spec.labels.a".to_owned(), 7, "expected a string, found a list"),
            ]
        );
        assert_eq!(got.value.and_then(|p| p.name).as_deref(), Some("ok"));
    }

    #[test]
    fn unknown_fields_are_returned_with_the_span_of_their_key() {
        let got = read("name: a\nnmae: b\ngpu: {name: x, count: 2}\n");
        let ignored: Vec<_> =
            got.ignored.iter().map(|i| (i.path.to_string(), i.span.at.line, i.span.at.column)).collect();
        assert_eq!(ignored, [("spec.nmae".to_owned(), 2, 1), ("spec.gpu.count".to_owned(), 3, 16)]);
    }

    #[test]
    fn a_value_of_the_wrong_shape_at_the_top_is_one_problem() {
        let got = read("- a\n");
        assert!(got.value.is_none());
        assert_eq!(got.problems.len(), 1);
        assert_eq!(got.problems[0].message, "expected a mapping, found a list");
    }
}
