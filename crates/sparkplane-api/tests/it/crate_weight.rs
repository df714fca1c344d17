//! No crate carries more than [`MAX_LINES`] lines of non-test code (issue
//! #64): past that, a crate holds more than one concept and is split by
//! concept (ARCHITECTURE.md, "Crates and the direction of their
//! dependencies").
//!
//! A crate's weight is every line — comments and blank lines included, as
//! a reader pays for them — of `src/**/*.rs`, except unit-test code: items
//! under `#[cfg(test)]` (or the rest of a block after `#![cfg(test)]`), the
//! files such an item declares (`#[cfg(test)] mod x;`, `#[path]` followed),
//! and files named as unit tests (`tests.rs`, `*_tests.rs`, under `src/**/tests/`).
//! Content a crate reads with `include_str!` (the CLI's help examples,
//! schemas, dashboards) is data, not code, and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::source_scan::{Token, cfg_test_attribute, end_of_test_code, is_unit_test_file, lex, rust_files};

/// The most non-test lines a crate may have.
const MAX_LINES: usize = 10_000;

/// Crates still over [`MAX_LINES`] while their split is under way (issue
/// #64 stays open for each), with the figure they may not grow past. A
/// crate that drops under the limit must leave this list (the test says so).
/// Empty since the CLI crate's split ended.
const STILL_OVER: &[(&str, usize)] = &[];

#[test]
fn no_crate_is_over_ten_thousand_non_test_lines() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut weights = BTreeMap::new();
    let entries = std::fs::read_dir(&crates).unwrap_or_else(|e| panic!("{}: {e}", crates.display()));
    for entry in entries {
        let dir = entry.unwrap_or_else(|e| panic!("{}: {e}", crates.display())).path();
        let src = dir.join("src");
        if src.is_dir() {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            weights.insert(name, crate_weight(&src));
        }
    }
    // The scan read the workspace: the API crate itself has non-test lines.
    assert!(weights.get("sparkplane-api").is_some_and(|w| *w > 1_000), "the scan read too little: {weights:?}");
    let mut heavy = Vec::new();
    for (name, lines) in &weights {
        let ceiling = STILL_OVER.iter().find(|(over, _)| over == name).map_or(MAX_LINES, |(_, at)| *at);
        if *lines > ceiling {
            heavy.push(format!("{name}: {lines} non-test lines (may have {ceiling})"));
        } else if ceiling > MAX_LINES && *lines <= MAX_LINES {
            heavy.push(format!("{name}: {lines} non-test lines, under {MAX_LINES}: take it out of STILL_OVER"));
        }
    }
    assert!(
        heavy.is_empty(),
        "crates over {MAX_LINES} non-test lines — split each by concept (ARCHITECTURE.md, an ADR):\n{}",
        heavy.join("\n")
    );
}

/// The non-test lines of the `.rs` files under `src`.
fn crate_weight(src: &Path) -> usize {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut lines = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (count, declared) = non_test_lines(&text);
        lines.insert(file.clone(), count);
        for (module, path) in declared {
            test_only.extend(module_files(file, &module, path.as_deref()));
        }
    }
    lines
        .iter()
        .filter(|(file, _)| {
            let relative = file.strip_prefix(src.join("..")).unwrap_or(file);
            !test_only.contains(*file) && !is_unit_test_file(relative)
        })
        .map(|(_, count)| count)
        .sum()
}

/// A file's lines outside `#[cfg(test)]` items, and the out-of-line modules
/// those items declare (`#[cfg(test)] mod name;`, with its `#[path]` if any).
fn non_test_lines(text: &str) -> (usize, Vec<(String, Option<String>)>) {
    let total = text.lines().count();
    let tokens = lex(text);
    let mut test_lines = BTreeSet::new();
    let mut declared = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some((after, inner)) = cfg_test_attribute(&tokens, i) else {
            i += 1;
            continue;
        };
        let end = end_of_test_code(&tokens, after, inner);
        if let Some(module) = declared_module(&tokens[after..end]) {
            declared.push(module);
        }
        let last = tokens.get(end.saturating_sub(1)).map_or(tokens[i].line, |t| t.line);
        test_lines.extend(tokens[i].line..=last);
        i = end.max(i + 1);
    }
    (total.saturating_sub(test_lines.len()), declared)
}

/// `#[path = "…"]`* `mod name ;` — an out-of-line module and its path attribute.
fn declared_module(item: &[crate::source_scan::Lexed]) -> Option<(String, Option<String>)> {
    let tokens: Vec<&Token> = item.iter().map(|t| &t.token).collect();
    if tokens.last() != Some(&&Token::Punct(';')) {
        return None;
    }
    let mut path = None;
    for (k, token) in tokens.iter().enumerate() {
        if **token == Token::Ident("path".to_owned())
            && let (Some(Token::Punct('=')), Some(Token::Str(p))) = (tokens.get(k + 1), tokens.get(k + 2))
        {
            path = Some(p.clone());
        }
    }
    let at = tokens.iter().position(|t| **t == Token::Ident("mod".to_owned()))?;
    match tokens.get(at + 1) {
        Some(Token::Ident(name)) if at + 3 == tokens.len() => Some((name.clone(), path)),
        _ => None,
    }
}

/// The files an out-of-line module declared in `parent` may be.
fn module_files(parent: &Path, module: &str, path: Option<&str>) -> Vec<PathBuf> {
    let dir = parent.parent().unwrap_or(parent);
    if let Some(path) = path {
        return vec![dir.join(path)];
    }
    let stem = parent.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let base = if matches!(stem.as_str(), "lib" | "main" | "mod") { dir.to_path_buf() } else { dir.join(stem) };
    vec![base.join(format!("{module}.rs")), base.join(module).join("mod.rs")]
}

#[test]
fn test_items_and_the_files_they_declare_do_not_weigh() {
    let src = "//! A module.\n\
               pub fn a() {}\n\
               \n\
               #[cfg(test)]\n\
               mod tests {\n\
               \x20   const BRACE: &str = \"}\";\n\
               \x20   #[test]\n\
               \x20   fn t() {}\n\
               }\n\
               #[cfg(test)]\n\
               #[path = \"x_tests.rs\"]\n\
               mod x;\n\
               #[cfg(test)]\n\
               mod y;\n\
               pub fn b() {}\n";
    let (count, declared) = non_test_lines(src);
    assert_eq!(count, 4, "the doc line, a, the blank line and b");
    assert_eq!(declared, [("x".to_owned(), Some("x_tests.rs".to_owned())), ("y".to_owned(), None)]);
    let lib = Path::new("/w/crates/c/src/lib.rs");
    assert_eq!(
        module_files(lib, "y", None),
        [Path::new("/w/crates/c/src/y.rs"), Path::new("/w/crates/c/src/y/mod.rs")]
    );
    let nested = Path::new("/w/crates/c/src/index.rs");
    assert_eq!(module_files(nested, "x", Some("x_tests.rs")), [Path::new("/w/crates/c/src/x_tests.rs")]);
    assert_eq!(module_files(nested, "y", None)[0], Path::new("/w/crates/c/src/index/y.rs"));
}
