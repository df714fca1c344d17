//! Deterministic YAML output: keys sorted, block style, multi-line strings as
//! literal blocks, strings that would read as another type quoted.

use std::borrow::Cow;

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::Value;

fn to_node(value: &Value) -> Yaml<'static> {
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Yaml::Value(Scalar::Integer(i)),
            (None, Some(f)) => Yaml::Value(Scalar::FloatingPoint(f.into())),
            (None, None) => Yaml::Value(Scalar::String(Cow::Owned(n.to_string()))),
        },
        Value::String(s) => Yaml::Value(Scalar::String(Cow::Owned(s.clone()))),
        Value::Array(items) => Yaml::Sequence(items.iter().map(to_node).collect()),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Mapping::new();
            for key in keys {
                out.insert(Yaml::Value(Scalar::String(Cow::Owned(key.clone()))), to_node(&map[key]));
            }
            Yaml::Mapping(out)
        }
    }
}

/// One YAML document (starting with `---`, ending with a newline).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    let node = to_node(value);
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline(true);
    // Writing into a String cannot fail.
    let _ = emitter.dump(&node);
    out.push('\n');
    out
}

/// A stream of YAML documents.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    values.into_iter().map(to_yaml).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::yaml::parse_single;

    #[test]
    fn output_is_sorted_and_round_trips() {
        let value = serde_json::json!({
            "z": 1, "a": {"y": "true", "b": "123", "c": "multi\nline\n", "d": "", "e": [1, "x: y"]}
        });
        let text = to_yaml(&value);
        assert!(text.starts_with("---\na:\n"), "{text}");
        assert!(text.find("\nz: 1").unwrap() > text.find("a:").unwrap());
        let back = parse_single(&Source::new("out", text.as_str())).unwrap().to_json();
        assert_eq!(back, value, "{text}");
    }
}
