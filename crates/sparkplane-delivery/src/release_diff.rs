//! A field-level diff between two releases' resolved specs: which leaf
//! fields were added, removed or changed, by path (`spec.executor.instances`,
//! `spec.arguments[1]`), in path order.
//!
//! Owns: flattening a spec into leaf paths and comparing two, and the diff
//! as `releases --diff` shows it. Must not read stores or print.

use std::collections::BTreeMap;

use serde_json::Value;

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Only in the second spec.
    Added {
        /// The field path.
        path: String,
        /// Its value, as JSON.
        value: String,
    },
    /// Only in the first spec.
    Removed {
        /// The field path.
        path: String,
        /// Its value, as JSON.
        value: String,
    },
    /// In both, with different values.
    Changed {
        /// The field path.
        path: String,
        /// The first spec's value, as JSON.
        from: String,
        /// The second spec's value, as JSON.
        to: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added { path, value } => write!(f, "+ {path}: {value}"),
            Change::Removed { path, value } => write!(f, "- {path}: {value}"),
            Change::Changed { path, from, to } => write!(f, "~ {path}: {from} -> {to}"),
        }
    }
}

impl Change {
    /// The change as `releases --diff -o json` gives it.
    pub fn to_json(&self) -> Value {
        match self {
            Change::Added { path, value } => serde_json::json!({"op": "added", "path": path, "to": value}),
            Change::Removed { path, value } => serde_json::json!({"op": "removed", "path": path, "from": value}),
            Change::Changed { path, from, to } => {
                serde_json::json!({"op": "changed", "path": path, "from": from, "to": to})
            }
        }
    }
}

/// The changes from release `a` to release `b` as text: a line each, or
/// that their specs are the same.
pub fn text(a: &str, b: &str, changes: &[Change]) -> String {
    if changes.is_empty() {
        return format!("{a} and {b} have the same spec\n");
    }
    changes.iter().map(|c| format!("{c}\n")).collect()
}

fn flatten(value: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let next = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                flatten(child, &next, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                flatten(child, &format!("{path}[{i}]"), out);
            }
        }
        leaf => {
            out.insert(path.to_owned(), leaf.to_string());
        }
    }
}

/// The leaf fields that differ between `a` and `b`, in path order.
pub fn diff(a: &Value, b: &Value) -> Vec<Change> {
    let (mut left, mut right) = (BTreeMap::new(), BTreeMap::new());
    flatten(a, "", &mut left);
    flatten(b, "", &mut right);
    let mut paths: Vec<&String> = left.keys().chain(right.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| match (left.get(path), right.get(path)) {
            (Some(from), Some(to)) if from != to => {
                Some(Change::Changed { path: path.clone(), from: from.clone(), to: to.clone() })
            }
            (Some(value), None) => Some(Change::Removed { path: path.clone(), value: value.clone() }),
            (None, Some(value)) => Some(Change::Added { path: path.clone(), value: value.clone() }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changed_added_and_removed_leaves_by_path() {
        let a = json!({"spec": {"executor": {"instances": 2}, "arguments": ["--in", "a"], "suspend": false}});
        let b =
            json!({"spec": {"executor": {"instances": 4, "memory": "6g"}, "arguments": ["--in"], "suspend": false}});
        let lines: Vec<String> = diff(&a, &b).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            ["- spec.arguments[1]: \"a\"", "~ spec.executor.instances: 2 -> 4", "+ spec.executor.memory: \"6g\""]
        );
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn the_diff_reads_as_a_line_per_change_or_says_the_specs_are_the_same() {
        let changes = diff(&json!({"a": 1, "b": 2}), &json!({"a": 3, "c": 4}));
        assert_eq!(text("r1", "r2", &changes), "~ a: 1 -> 3\n- b: 2\n+ c: 4\n");
        assert_eq!(text("r1", "r1", &[]), "r1 and r1 have the same spec\n");
        let ops: Vec<Value> = changes.iter().map(Change::to_json).collect();
        assert_eq!(ops[0], json!({"op": "changed", "path": "a", "from": "1", "to": "3"}));
        assert_eq!(ops[1], json!({"op": "removed", "path": "b", "from": "2"}));
        assert_eq!(ops[2], json!({"op": "added", "path": "c", "to": "4"}));
    }
}
