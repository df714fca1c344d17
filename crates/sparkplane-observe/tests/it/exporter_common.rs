//! Helpers shared by the exporter tests (included with `#[path]`; as its own test target it holds no tests): the real fixtures in a temporary
//! directory, and a small reader of the OpenMetrics text.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

/// sparkplane-eventlog's Spark 3.5.9 logs (one succeeded, one failed, one killed
/// and still in progress), copied so a test may change them.
pub fn copy_fixtures() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures/spark-3.5.9");
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(&src).expect("fixtures") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with("eventlog_v2_") {
            continue; // the PySpark scripts that wrote them
        }
        let to = dir.path().join(&name);
        std::fs::create_dir(&to).expect("mkdir");
        for file in std::fs::read_dir(entry.path()).expect("log dir") {
            let file = file.expect("file");
            std::fs::copy(file.path(), to.join(file.file_name())).expect("copy");
        }
    }
    dir
}

/// Every sample line as `series{labels}` → value, the label text as written.
pub fn parse_samples(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = match line.rfind('}') {
            Some(end) => (&line[..=end], line[end + 1..].trim()),
            None => line.split_once(' ').unwrap_or_else(|| panic!("sample without value: {line}")),
        };
        let value: f64 = value.split(' ').next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        samples.insert(series.to_owned(), value);
    }
    samples
}

/// The label names of one sample line, in order.
pub fn label_names(line: &str) -> Vec<&str> {
    let Some(start) = line.find('{') else { return Vec::new() };
    let mut names = Vec::new();
    let mut rest = &line[start + 1..];
    while let Some(eq) = rest.find("=\"") {
        names.push(rest[..eq].trim_start_matches(','));
        // Skip the quoted value (escapes: \\ \" \n).
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    end = Some(eq + 2 + i + 1);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        rest = &rest[end..];
        if rest.starts_with('}') {
            break;
        }
    }
    names
}
