//! Spark lines and pins: which Spark versions sparkplane runs, the pyspark
//! release installed for each line, and the oldest Python it accepts.
//!
//! Owns: [`PINNED`], [`line_of`], [`pinned_version`] and the Python floors.
//! Must not: touch the disk; these are pure functions of the pin table.

use super::error::RuntimeError;

/// The supported Spark lines and the pyspark release installed for each.
pub const PINNED: &[(&str, &str)] = &[("3.5", "3.5.9"), ("4.0", "4.0.5"), ("4.1", "4.1.4")];

/// The oldest Python each pinned pyspark release accepts (its `Requires-Python`).
pub(super) const MIN_PYTHON: &[(&str, (u32, u32))] = &[("3.5", (3, 8)), ("4.0", (3, 9)), ("4.1", (3, 10))];

pub(super) fn supported_lines() -> String {
    PINNED.iter().map(|(line, _)| *line).collect::<Vec<_>>().join(", ")
}

/// The supported line of a Spark version: `"3.5.7"`, `"3.5"` and `"3.5.0-rc1"`
/// give `"3.5"`. Anything else is an error listing the supported lines.
pub fn line_of(spark_version: &str) -> Result<&'static str, RuntimeError> {
    let unsupported =
        || RuntimeError::UnsupportedLine { requested: spark_version.to_owned(), supported: supported_lines() };
    let text = spark_version.trim();
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major_len = digits(text);
    let rest = text[major_len..].strip_prefix('.').ok_or_else(unsupported)?;
    let minor_len = digits(rest);
    let tail = &rest[minor_len..];
    // After major.minor: nothing, a patch number, or a pre-release suffix.
    let tail_ok = tail.is_empty()
        || tail.starts_with('-')
        || tail.strip_prefix('.').is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    if major_len == 0 || minor_len == 0 || !tail_ok {
        return Err(unsupported());
    }
    // Compare numerically, so "03.5" is the 3.5 line and "3.50" is not.
    let key = (text[..major_len].parse::<u64>().ok(), rest[..minor_len].parse::<u64>().ok());
    PINNED.iter().map(|(line, _)| *line).find(|line| version_key(line) == key).ok_or_else(unsupported)
}

/// Whether `text` looks like a line, `<digits>.<digits>`, and so is safe as a directory name.
pub(super) fn is_line_shaped(text: &str) -> bool {
    text.split_once('.').is_some_and(|(major, minor)| {
        [major, minor].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

pub(super) fn version_key(line: &str) -> (Option<u64>, Option<u64>) {
    let mut parts = line.split('.');
    (parts.next().and_then(|p| p.parse().ok()), parts.next().and_then(|p| p.parse().ok()))
}

/// The pyspark release pinned for a supported line (`"3.5"` → `"3.5.9"`).
pub fn pinned_version(line: &str) -> Option<&'static str> {
    PINNED.iter().find(|(l, _)| *l == line).map(|(_, version)| *version)
}

pub(super) fn min_python(line: &str) -> (u32, u32) {
    MIN_PYTHON.iter().find(|(l, _)| *l == line).map_or((3, 10), |(_, v)| *v)
}
