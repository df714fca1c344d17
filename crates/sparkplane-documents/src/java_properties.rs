//! Java `.properties` text, as `java.util.Properties.load` reads it back.
//!
//! Owns: the one writer of that format (Spark's `spark.properties` in the
//! driver's ConfigMap, `--properties-file` files of local runs, the
//! metastore's properties). Must not: decide which properties there are.

use std::collections::BTreeMap;

/// One `key=value` line per entry, sorted by key. Escaped: `\`, line breaks
/// and tabs everywhere; in a key also spaces and `=:#!` (which would end the
/// key or start a comment); in a value a leading space (which the loader would
/// skip) and a leading `=:#!`.
pub fn to_text(properties: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (key, value) in properties {
        out.push_str(&escape(key, true));
        out.push('=');
        out.push_str(&escape(value, false));
        out.push('\n');
    }
    out
}

fn escape(text: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '=' | ':' | '#' | '!' if is_key || i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_line_breaks_are_escaped_as_java_reads_them() {
        let mut conf = BTreeMap::new();
        conf.insert("a key".to_owned(), "v=1:x".to_owned());
        conf.insert("spark.x".to_owned(), " lead\nnext\\".to_owned());
        conf.insert("a b:c".to_owned(), "x y".to_owned());
        conf.insert("z".to_owned(), "#not a comment\tend".to_owned());
        assert_eq!(
            to_text(&conf),
            "a\\ b\\:c=x y\na\\ key=v=1:x\nspark.x=\\ lead\\nnext\\\\\nz=\\#not a comment\\tend\n"
        );
    }
}
