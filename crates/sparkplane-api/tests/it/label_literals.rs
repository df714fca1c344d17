//! One owner for sparkplane's label keys (issue #64): the `managed-by` value
//! and every `app.kubernetes.io/*` and `sparkplane.dev/` label or annotation
//! key appear as string literals in the workspace's code only in
//! `sparkplane_api::labels` (`crates/sparkplane-api/src/labels.rs`); every
//! other place names them through its constants.
//!
//! The scan reads `crates/*/src/**/*.rs` and leaves out unit-test code —
//! files named `tests.rs` or `*_tests.rs`, files under a `tests/` folder,
//! items under `#[cfg(test)]` — because tests keep the literal strings on
//! purpose: a renamed constant that changed the wire format fails them.
//! Comments are not code. Not label keys, so not found: an API version
//! (`sparkplane.dev/v1alpha1`), an address (`https://sparkplane.dev/docs`),
//! a condition type (`sparkplane.dev/Server`, capitalised), and the bare
//! prefix `sparkplane.dev/` (also the API group's). The value `sparkplane`
//! is found where it stands on one line with `MANAGED_BY` or `APP_PART_OF`,
//! the keys it is the value of; elsewhere it is the program's name.

use std::collections::BTreeSet;
use std::path::Path;

use crate::source_scan::{Token, cfg_test_attribute, end_of_test_code, is_unit_test_file, lex, rust_files};

/// The one file allowed to spell the keys, relative to the workspace.
const OWNER: &str = "crates/sparkplane-api/src/labels.rs";

/// Files of prose a user reads and copies, not code that writes or reads a
/// label: `--help`'s example commands (`sparkplane list -l sparkplane.dev/team=…`),
/// kept as static text like README's.
const PROSE: &[&str] = &["crates/sparkplane/src/examples.rs"];

#[test]
fn label_keys_and_the_managed_by_value_are_literals_only_in_sparkplane_api_labels() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&crates).unwrap_or_else(|e| panic!("{}: {e}", crates.display()));
    for entry in entries {
        let src = entry.unwrap_or_else(|e| panic!("{}: {e}", crates.display())).path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    files.sort();
    for prose in PROSE {
        assert!(crates.join("..").join(prose).is_file(), "{prose}, left out of the scan, is not a file");
    }
    let mut outside = Vec::new();
    let mut in_owner = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&crates).unwrap_or_else(|_| panic!("{} is outside crates/", file.display()));
        let relative = format!("crates/{}", relative.to_string_lossy().replace('\\', "/"));
        if is_unit_test_file(Path::new(&relative)) || PROSE.contains(&relative.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let sites = literal_sites(&text);
        if relative == OWNER {
            in_owner = sites;
            continue;
        }
        outside.extend(sites.into_iter().map(|site| format!("{relative}:{}: {}", site.line, site.found)));
    }
    // The owner's literals are seen too, and allowed: a scan that read nothing would find nothing either.
    assert!(
        in_owner.iter().any(|site| site.found == "app.kubernetes.io/managed-by")
            && in_owner.iter().any(|site| site.found == "sparkplane.dev/job"),
        "the scan did not see the keys in {OWNER}: {in_owner:?}"
    );
    assert!(
        outside.is_empty(),
        "label keys or the managed-by value written as literals outside {OWNER} (name them through \
         sparkplane_api::labels's constants):\n{}",
        outside.join("\n")
    );
}

/// A literal found: the line it is on and the key (or value) it spells.
#[derive(Debug, PartialEq, Eq)]
struct Site {
    line: usize,
    found: String,
}

/// The label keys and managed-by values spelt in string literals of `src`,
/// outside comments and `#[cfg(test)]` items, in order.
fn literal_sites(src: &str) -> Vec<Site> {
    let tokens = lex(src);
    let value_lines: BTreeSet<usize> = tokens
        .iter()
        .filter(|t| matches!(&t.token, Token::Ident(name) if name == "MANAGED_BY" || name == "APP_PART_OF"))
        .map(|t| t.line)
        .collect();
    let mut sites = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some((after, inner)) = cfg_test_attribute(&tokens, i) {
            i = end_of_test_code(&tokens, after, inner);
            continue;
        }
        if let Token::Str(text) = &tokens[i].token {
            for (offset, key) in keys_in(text) {
                sites.push(Site { line: tokens[i].line + text[..offset].matches('\n').count(), found: key });
            }
            if text == "sparkplane" && value_lines.contains(&tokens[i].line) {
                sites.push(Site { line: tokens[i].line, found: "\"sparkplane\" as a label's value".to_owned() });
            }
        }
        i += 1;
    }
    sites
}

/// Every label key in a literal's text, with its offset: `app.kubernetes.io/`
/// or `sparkplane.dev/` and a lower-case name, unless it is an API version or
/// an address's path.
fn keys_in(text: &str) -> Vec<(usize, String)> {
    let mut keys = Vec::new();
    for prefix in ["app.kubernetes.io/", "sparkplane.dev/"] {
        for (at, _) in text.match_indices(prefix) {
            let rest = &text[at + prefix.len()..];
            let name_len = rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            let name = &rest[..name_len.unwrap_or(rest.len())];
            let address = text[..at].ends_with('/');
            if name.starts_with(|c: char| c.is_ascii_lowercase()) && !address && !is_api_version(name) {
                keys.push((at, format!("{prefix}{name}")));
            }
        }
    }
    keys.sort();
    keys
}

/// `v1`, `v1alpha1`, `v2beta3`: a Kubernetes API version.
fn is_api_version(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('v') else { return false };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (major, stage) = rest.split_at(digits);
    let minor = stage.strip_prefix("alpha").or_else(|| stage.strip_prefix("beta"));
    !major.is_empty()
        && (stage.is_empty() || minor.is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit())))
}

fn found(src: &str) -> Vec<(usize, String)> {
    literal_sites(src).into_iter().map(|site| (site.line, site.found)).collect()
}

#[test]
fn the_scan_finds_a_key_in_code_in_any_literal() {
    let src = r##"use sparkplane_api::labels;
fn labels(job: &str) -> Value {
    let selector = format!("app.kubernetes.io/managed-by=sparkplane,sparkplane.dev/job={job}");
    json!({"sparkplane.dev/team": "data-eng", labels::JOB: job})
}
const HELP: &str = r#"label it "sparkplane.dev/cost-center""#;
const LONG: &str = "one line,
then spark.kubernetes.driver.label.sparkplane.dev/environment=prod";
fn parts<'a>(x: &'a str) -> (&'a str, char, char) { ("app.kubernetes.io/name", '"', '\'') }
"##;
    assert_eq!(
        found(src),
        [
            (3, "app.kubernetes.io/managed-by".to_owned()),
            (3, "sparkplane.dev/job".to_owned()),
            (4, "sparkplane.dev/team".to_owned()),
            (6, "sparkplane.dev/cost-center".to_owned()),
            (8, "sparkplane.dev/environment".to_owned()),
            (9, "app.kubernetes.io/name".to_owned()),
        ]
    );
}

#[test]
fn the_scan_finds_the_managed_by_value_beside_its_key() {
    let src = "let a = json!({labels::MANAGED_BY: \"sparkplane\"});\n\
               let b = (APP_PART_OF.to_owned(), \"sparkplane\".to_owned());\n\
               pub const FIELD_MANAGER: &str = \"sparkplane\";\n\
               let c = json!({labels::MANAGED_BY: labels::SPARKPLANE});\n";
    let value = "\"sparkplane\" as a label's value".to_owned();
    assert_eq!(found(src), [(1, value.clone()), (2, value)]);
}

#[test]
fn the_scan_skips_comments_and_test_code() {
    let src = r#"//! Writes `sparkplane.dev/job` on every object.
/// The "app.kubernetes.io/managed-by" label.
fn a() {} // "sparkplane.dev/team"
/* a block /* nested "sparkplane.dev/team" */ still a comment "sparkplane.dev/team" */
#[cfg(test)]
mod tests {
    const BRACE: &str = "}";
    fn open() -> char { '{' }
    #[test]
    fn t() { assert_eq!(labels["app.kubernetes.io/managed-by"], "sparkplane"); }
}
#[cfg(test)]
fn helper() -> &'static str { "sparkplane.dev/job" }
#[cfg(test)]
#[path = "x_tests.rs"]
mod x;
fn after() -> &'static str { "sparkplane.dev/preset" }
"#;
    assert_eq!(found(src), [(17, "sparkplane.dev/preset".to_owned())]);
    let inner = "#![cfg(test)]\nconst A: &str = \"sparkplane.dev/job\";\n";
    assert_eq!(found(inner), []);
}

#[test]
fn the_scan_leaves_api_versions_addresses_and_conditions_alone() {
    let src = r#"const API_VERSION: &str = "sparkplane.dev/v1alpha1";
const OTHERS: [&str; 3] = ["sparkplane.dev/v1", "sparkplane.dev/v2beta1", "https://sparkplane.dev/docs/policies"];
const SERVER_CONDITION: &str = "sparkplane.dev/Server";
let kept = v.starts_with("sparkplane.dev/");
const GROUP: &str = "sparkjobs.sparkplane.dev";
const NOT_A_VERSION: &str = "sparkplane.dev/vault";
"#;
    assert_eq!(found(src), [(6, "sparkplane.dev/vault".to_owned())]);
}
