//! CSV text as RFC 4180 writes it.
//!
//! Owns: the one CSV writer (`sql -o csv`, `cost --csv`): a field is quoted
//! when it holds a comma, a quote or a line break, with quotes doubled; lines
//! end with `\n`. Must not: decide columns or number formats.

/// One field, quoted when it needs it.
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// One line of fields, each quoted when it needs it, ended by `\n`.
pub fn line<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = fields.into_iter().map(field).collect::<Vec<_>>().join(",");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\r"), "\"cr\r\"");
        assert_eq!(field(""), "");
        assert_eq!(line(["k", "a,b", ""]), "k,\"a,b\",\n");
    }
}
