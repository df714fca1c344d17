//! Escaping text for XML and HTML: the one escaper behind JUnit reports
//! (`core::junit`), the event-log HTML report and the History Server's page.
//!
//! Owns: which characters are written as references and what becomes of
//! characters markup cannot carry. Must not: build documents (callers write
//! their own elements) or know which format it serves — the output is valid
//! in XML 1.0 and in HTML alike.
//!
//! The rules, the same in both modes:
//! - `&`, `<`, `>`, `"` and `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;` and
//!   `&#39;` (the numeric form: `&apos;` is not HTML 4, `&#39;` is read
//!   everywhere).
//! - Carriage return becomes `&#13;`, so XML's line-end normalization cannot
//!   turn `\r\n` into `\n`.
//! - Every other control character (C0 except tab and line feed, DEL, C1)
//!   and the non-characters U+FFFE and U+FFFF become U+FFFD, the replacement
//!   character: XML 1.0 cannot carry most of them and HTML calls them parse
//!   errors; replacing rather than dropping shows the reader something was
//!   there.
//!
//! The modes differ only in tab and line feed: [`text`] (element content)
//! keeps them as they are; [`attribute`] (a quoted attribute value) writes
//! `&#9;` and `&#10;`, because XML turns literal ones in attributes into
//! spaces.

/// Where escaped text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Text,
    Attribute,
}

/// Escapes `raw` for element content.
pub fn text(raw: &str) -> String {
    escape(raw, Mode::Text)
}

/// Escapes `raw` for a double- or single-quoted attribute value.
pub fn attribute(raw: &str) -> String {
    escape(raw, Mode::Attribute)
}

fn escape(raw: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => out.push_str("&#13;"),
            '\t' if mode == Mode::Attribute => out.push_str("&#9;"),
            '\n' if mode == Mode::Attribute => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_character_class_escapes_the_same_way_in_both_modes_except_tab_and_line_feed() {
        // (raw, as text, as attribute)
        let table = [
            ("plain ünïcödé ✓", "plain ünïcödé ✓", "plain ünïcödé ✓"),
            ("a & b", "a &amp; b", "a &amp; b"),
            ("<b>", "&lt;b&gt;", "&lt;b&gt;"),
            ("\"q\"", "&quot;q&quot;", "&quot;q&quot;"),
            ("it's", "it&#39;s", "it&#39;s"),
            ("&amp;", "&amp;amp;", "&amp;amp;"),
            ("a\tb", "a\tb", "a&#9;b"),
            ("a\nb", "a\nb", "a&#10;b"),
            ("a\r\nb", "a&#13;\nb", "a&#13;&#10;b"),
            ("nul\u{0}", "nul\u{FFFD}", "nul\u{FFFD}"),
            ("bell\u{7}esc\u{1b}", "bell\u{FFFD}esc\u{FFFD}", "bell\u{FFFD}esc\u{FFFD}"),
            ("del\u{7f}", "del\u{FFFD}", "del\u{FFFD}"),
            ("c1\u{85}\u{9f}", "c1\u{FFFD}\u{FFFD}", "c1\u{FFFD}\u{FFFD}"),
            ("non\u{FFFE}\u{FFFF}", "non\u{FFFD}\u{FFFD}", "non\u{FFFD}\u{FFFD}"),
            ("", "", ""),
        ];
        for (raw, as_text, as_attribute) in table {
            assert_eq!(text(raw), as_text, "text of {raw:?}");
            assert_eq!(attribute(raw), as_attribute, "attribute of {raw:?}");
        }
    }

    #[test]
    fn escaped_text_holds_no_markup_and_no_character_xml_forbids() {
        let every: String = (0u32..0x300).chain([0xFFFE, 0xFFFF]).filter_map(char::from_u32).collect();
        for out in [text(&every), attribute(&every)] {
            assert!(!out.contains('<') && !out.contains('>') && !out.contains('"') && !out.contains('\''));
            assert!(out.chars().all(|c| !c.is_control() || c == '\t' || c == '\n'), "{out:?}");
            assert!(!out.contains('\u{FFFE}') && !out.contains('\u{FFFF}'));
        }
        assert!(!attribute(&every).contains(['\t', '\n']));
    }
}
