//! Spark lines and pins as the runtimes see them: [`line_of`] with the
//! runtime's error, and the pins and Python floors read from the one line
//! table, `sparkplane_core::spark_lines::LINES`.
//!
//! Owns: [`PINNED`], [`line_of`], [`pinned_version`] and the Python floors.
//! Must not: touch the disk, or hold a line of its own (add lines to the table).

use sparkplane_core::spark_lines::{self, LINES};

use super::error::RuntimeError;

/// The supported Spark lines and the pyspark release installed for each,
/// as pairs (the table's rows).
pub const PINNED: &[(&str, &str)] = &pinned();

const fn pinned() -> [(&'static str, &'static str); LINES.len()] {
    let mut out = [("", ""); LINES.len()];
    let mut i = 0;
    while i < LINES.len() {
        out[i] = (LINES[i].line, LINES[i].pyspark);
        i += 1;
    }
    out
}

pub(super) fn supported_lines() -> String {
    spark_lines::supported_lines()
}

/// The supported line of a Spark version: `"3.5.7"`, `"3.5"` and `"3.5.0-rc1"`
/// give `"3.5"`. Anything else is an error listing the supported lines.
pub fn line_of(spark_version: &str) -> Result<&'static str, RuntimeError> {
    spark_lines::line_of(spark_version).map(|l| l.line).ok_or_else(|| RuntimeError::UnsupportedLine {
        requested: spark_version.to_owned(),
        supported: supported_lines(),
    })
}

/// Whether `text` looks like a line, `<digits>.<digits>`, and so is safe as a directory name.
pub(super) fn is_line_shaped(text: &str) -> bool {
    text.split_once('.').is_some_and(|(major, minor)| {
        [major, minor].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

pub(super) fn version_key(line: &str) -> (Option<u64>, Option<u64>) {
    spark_lines::version_key(line)
}

/// The pyspark release pinned for a supported line (`"3.5"` → `"3.5.9"`).
pub fn pinned_version(line: &str) -> Option<&'static str> {
    spark_lines::row(line).map(|l| l.pyspark)
}

pub(super) fn min_python(line: &str) -> (u32, u32) {
    spark_lines::row(line).map_or((3, 10), |l| l.min_python)
}
