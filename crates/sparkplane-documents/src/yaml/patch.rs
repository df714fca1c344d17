//! Editing a YAML file in place: set values at paths while keeping the
//! user's comments, order and layout. Existing scalars are replaced where
//! they stand; missing keys are added at the end of their block mapping.
//! The result is read back and checked before it is returned.

use serde_json::Value;

use super::emit::to_yaml;
use super::node::{Node, NodeValue, parse_single};
use super::path::FieldPath;
use crate::diagnostic::Diagnostic;
use crate::source::Source;

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// A value as YAML text without the document marker and final newline.
fn inline(value: &Value) -> String {
    let text = to_yaml(value);
    text.strip_prefix("---\n").unwrap_or(&text).trim_end_matches('\n').to_owned()
    // A scalar renders on one line (`---\n4096\n` → `4096`); mappings and lists on several.
}

fn block(key: &str, value: &Value, indent: usize) -> String {
    let mut map = serde_json::Map::new();
    map.insert(key.to_owned(), value.clone());
    let text = inline(&Value::Object(map));
    let pad = " ".repeat(indent);
    text.lines().map(|line| format!("{pad}{line}\n")).collect()
}

/// The byte offset just past the line on which `node`'s last value ends.
fn end_of_last_line(source: &str, node: &Node) -> usize {
    let mut last = node;
    loop {
        match &last.value {
            NodeValue::Map(entries) if !entries.is_empty() => last = &entries[entries.len() - 1].2,
            NodeValue::Seq(items) if !items.is_empty() => last = &items[items.len() - 1],
            _ => break,
        }
    }
    let from = last.span.end.min(source.len());
    // A scalar's end can sit at the start of the next line; step back over that.
    let from = if from > last.span.start && source[..from].ends_with('\n') { from - 1 } else { from };
    source[from..].find('\n').map(|i| from + i + 1).unwrap_or(source.len())
}

fn is_flow(source: &str, node: &Node) -> bool {
    source[node.span.start.min(source.len())..].starts_with(['{', '['])
}

fn plan(
    source: &Source,
    node: &Node,
    patch: &Value,
    path: &FieldPath,
    edits: &mut Vec<Edit>,
) -> Result<(), Diagnostic> {
    let text = &source.text;
    match (&node.value, patch) {
        (NodeValue::Map(entries), Value::Object(fields)) => {
            let mut missing = Vec::new();
            for (key, value) in fields {
                match entries.iter().find(|(k, _, _)| k == key) {
                    Some((_, _, child)) => plan(source, child, value, &path.key(key), edits)?,
                    None => missing.push((key, value)),
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            if is_flow(text, node) || entries.is_empty() {
                return Err(Diagnostic::error(
                    "cannot-patch",
                    path.to_string(),
                    "this mapping is written in flow style (`{…}`), which cannot be extended in place",
                )
                .with_span(Some(node.span.clone()))
                .with_help("rewrite it in block style (one `key: value` per line) and run again"));
            }
            let indent = entries[0].1.at.column.saturating_sub(1);
            let at = end_of_last_line(text, node);
            let body: String = missing.iter().map(|(k, v)| block(k, v, indent)).collect();
            edits.push(Edit { start: at, end: at, text: body });
            Ok(())
        }
        (NodeValue::Map(_) | NodeValue::Seq(_), _) => Err(Diagnostic::error(
            "cannot-patch",
            path.to_string(),
            format!("the file has a {} here, but the new value is {}", node.type_name(), patch),
        )
        .with_span(Some(node.span.clone()))
        .with_help("change this field by hand")),
        (_, Value::Object(_) | Value::Array(_)) if !matches!(node.value, NodeValue::Null) => Err(Diagnostic::error(
            "cannot-patch",
            path.to_string(),
            "the file has a single value here, but the new value is a mapping or list",
        )
        .with_span(Some(node.span.clone()))
        .with_help("change this field by hand")),
        _ => {
            let rendered = inline(patch);
            if rendered.contains('\n') {
                return Err(Diagnostic::error(
                    "cannot-patch",
                    path.to_string(),
                    "the new value does not fit on the line of the old one",
                )
                .with_span(Some(node.span.clone()))
                .with_help("change this field by hand"));
            }
            edits.push(Edit { start: node.span.start, end: node.span.end, text: rendered });
            Ok(())
        }
    }
}

fn leaves(value: &Value, path: FieldPath, out: &mut Vec<(FieldPath, Value)>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, path.key(k), out)),
        other => out.push((path, other.clone())),
    }
}

/// Sets every leaf of `patch` (a JSON tree) in the YAML text of `source`,
/// keeping everything else as written. Fails without changing anything when
/// a value cannot be placed, or when the result would not read back as patched.
pub fn patch_yaml(source: &Source, patch: &Value) -> Result<String, Diagnostic> {
    let root = parse_single(source)?;
    let mut edits = Vec::new();
    plan(source, &root, patch, &FieldPath::root(), &mut edits)?;
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.start));
    let mut text = source.text.to_string();
    for edit in edits {
        text.replace_range(edit.start..edit.end, &edit.text);
    }
    let patched = parse_single(&Source::new(source.name.clone(), text.as_str()))
        .map_err(|d| Diagnostic::error("cannot-patch", "", format!("patching would break the file: {}", d.message)))?;
    let mut expected = Vec::new();
    leaves(patch, FieldPath::root(), &mut expected);
    for (path, value) in expected {
        if patched.get(&path).map(Node::to_json) != Some(value.clone()) {
            return Err(Diagnostic::error(
                "cannot-patch",
                path.to_string(),
                "the patched file would not read back with the new value",
            )
            .with_help("change this field by hand"));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values_and_adds_keys_keeping_comments() {
        let text = "# my job\nmetadata:\n  name: a # keep me\nspec:\n  # resources\n  executor:\n    memory: 4g   # old\n    cores: 2\n  type: Python\n";
        let patch = serde_json::json!({"spec": {"executor": {"memory": "16Gi", "instances": 5}, "dynamicAllocation": {"enabled": true, "maxExecutors": 10}}});
        let out = patch_yaml(&Source::new("job.yaml", text), &patch).unwrap();
        assert_eq!(
            out,
            "# my job\nmetadata:\n  name: a # keep me\nspec:\n  # resources\n  executor:\n    memory: 16Gi   # old\n    cores: 2\n    instances: 5\n  type: Python\n  dynamicAllocation:\n    enabled: true\n    maxExecutors: 10\n"
        );
    }

    #[test]
    fn quoted_keys_and_flow_mappings() {
        let text = "spec:\n  sparkConf:\n    spark.sql.shuffle.partitions: \"200\"\n";
        let patch = serde_json::json!({"spec": {"sparkConf": {"spark.sql.shuffle.partitions": "800"}}});
        let out = patch_yaml(&Source::new("job.yaml", text), &patch).unwrap();
        assert_eq!(out, "spec:\n  sparkConf:\n    spark.sql.shuffle.partitions: \"800\"\n");
        let flow = "spec: {type: Python}\n";
        let err = patch_yaml(&Source::new("job.yaml", flow), &serde_json::json!({"spec": {"driver": {"cores": 1}}}))
            .unwrap_err();
        assert_eq!(err.code, "cannot-patch");
        assert!(err.help.unwrap().contains("block style"));
    }

    #[test]
    fn trailing_comments_after_quoted_values_are_kept() {
        let text =
            "spec:\n  sparkConf:\n    spark.sql.shuffle.partitions: \"200\" # tuned in May\n    other: 'x'  # keep\n";
        let patch = serde_json::json!({"spec": {"sparkConf": {"spark.sql.shuffle.partitions": "64", "other": "y"}}});
        let out = patch_yaml(&Source::new("job.yaml", text), &patch).unwrap();
        assert_eq!(
            out,
            "spec:\n  sparkConf:\n    spark.sql.shuffle.partitions: \"64\" # tuned in May\n    other: y  # keep\n"
        );
    }

    #[test]
    fn shape_mismatches_change_nothing() {
        let text = "spec:\n  executor: 4\n";
        let err = patch_yaml(&Source::new("job.yaml", text), &serde_json::json!({"spec": {"executor": {"cores": 1}}}))
            .unwrap_err();
        assert_eq!(err.path, "spec.executor");
    }
}
