//! What the workspace's source scans share (`label_literals`, `crate_weight`):
//! the Rust files of a folder, which files hold only unit tests, and enough of
//! Rust's lexical grammar to tell code from comments, literals and
//! `#[cfg(test)]` items. Owns no rule about what it finds.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, in no particular order.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// A file that holds only unit tests: `tests.rs`, `*_tests.rs`, or one under
/// a `tests/` folder below `src/`.
pub fn is_unit_test_file(relative: &Path) -> bool {
    let name = relative.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let folders = relative.parent().map(|p| p.components().collect::<Vec<_>>()).unwrap_or_default();
    let under_tests = folders.iter().skip_while(|c| c.as_os_str() != "src").any(|c| c.as_os_str() == "tests");
    name == "tests.rs" || name.ends_with("_tests.rs") || under_tests
}

/// At `i`, `#[cfg(test)]` (or the inner `#![cfg(test)]`): the index after it
/// and whether it is inner.
pub fn cfg_test_attribute(tokens: &[Lexed], i: usize) -> Option<(usize, bool)> {
    let is = |at: usize, want: &Token| tokens.get(at).is_some_and(|t| &t.token == want);
    if !is(i, &Token::Punct('#')) {
        return None;
    }
    let inner = is(i + 1, &Token::Punct('!'));
    let start = if inner { i + 2 } else { i + 1 };
    let attribute = [
        Token::Punct('['),
        Token::Ident("cfg".to_owned()),
        Token::Punct('('),
        Token::Ident("test".to_owned()),
        Token::Punct(')'),
        Token::Punct(']'),
    ];
    attribute.iter().enumerate().all(|(k, want)| is(start + k, want)).then_some((start + attribute.len(), inner))
}

/// The index after the test code starting at `from`: for an outer attribute
/// the item it is on (up to its `;` or the `}` closing its body), for an
/// inner one the rest of the enclosing block or file. Brackets are counted
/// on tokens, so one in a string or character literal does not count.
pub fn end_of_test_code(tokens: &[Lexed], from: usize, inner: bool) -> usize {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().skip(from) {
        match t.token {
            Token::Punct('{' | '(' | '[') => depth += 1,
            Token::Punct(close @ ('}' | ')' | ']')) => {
                if depth == 0 {
                    return j; // the enclosing block ends
                }
                depth -= 1;
                if depth == 0 && close == '}' && !inner {
                    return j + 1;
                }
            }
            Token::Punct(';') if depth == 0 && !inner => return j + 1,
            _ => {}
        }
    }
    tokens.len()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Token {
    Ident(String),
    Punct(char),
    /// A string literal's text between its quotes, as written (escapes kept).
    Str(String),
    Char,
}

#[derive(Debug)]
pub struct Lexed {
    pub token: Token,
    pub line: usize,
}

/// Rust source as tokens, comments dropped: enough of Rust's lexical
/// grammar to tell code from comments and literals (nested block comments,
/// escapes, raw strings, character literals beside lifetimes).
pub fn lex(src: &str) -> Vec<Lexed> {
    let chars: Vec<char> = src.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while let Some(c) = at(i) {
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            while let Some(c) = at(i) {
                if c == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    i += 2;
                } else if c == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = i + 1;
            i = start;
            while let Some(c) = at(i) {
                match c {
                    '\\' => i += 2,
                    '"' => break,
                    _ => i += 1,
                }
            }
            let text: String = chars[start..i.min(chars.len())].iter().collect();
            out.push(Lexed { token: Token::Str(text.clone()), line });
            line += text.matches('\n').count();
            i += 1;
        } else if c == '\'' {
            if at(i + 1) == Some('\\') {
                i += 3; // the quote, the backslash and the escaped character
                while at(i).is_some_and(|c| c != '\'') {
                    i += 1;
                }
                out.push(Lexed { token: Token::Char, line });
                i += 1;
            } else if at(i + 2) == Some('\'') {
                out.push(Lexed { token: Token::Char, line });
                i += 3;
            } else {
                out.push(Lexed { token: Token::Punct('\''), line }); // a lifetime or a label
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == Some('"') {
                let start = i + hashes + 1;
                let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let end = (start..chars.len()).find(|&j| chars[j..].starts_with(&close)).unwrap_or(chars.len());
                let text: String = chars[start..end].iter().collect();
                out.push(Lexed { token: Token::Str(text.clone()), line });
                line += text.matches('\n').count();
                i = end + close.len();
            } else {
                out.push(Lexed { token: Token::Ident(word), line });
            }
        } else {
            out.push(Lexed { token: Token::Punct(c), line });
            i += 1;
        }
    }
    out
}

#[test]
fn unit_test_files_are_told_by_name_and_folder() {
    for path in
        ["crates/a/src/tests.rs", "crates/a/src/x/managed_fields_tests.rs", "crates/a/src/import/tests/kinds.rs"]
    {
        assert!(is_unit_test_file(Path::new(path)), "{path}");
    }
    for path in ["crates/a/src/lib.rs", "crates/a/src/contests.rs", "crates/a/src/tests_support/x.rs"] {
        assert!(!is_unit_test_file(Path::new(path)), "{path}");
    }
}
