//! The CI report: what one `sparkplane ci` run found, as typed data that
//! `sparkplane release --ci-report FILE` reads back.
//!
//! Owns: the report's shape and its JSON form (camelCase keys, RFC 3339
//! timestamps, `apiVersion`/`kind` so a reader can refuse what it does not
//! know), the overall outcome computed from the checks, and reading a report
//! back with an error that says what is wrong.
//! Must not: run checks, encode JUnit or SARIF (those are views of this
//! report, written elsewhere), or do I/O.
//!
//! Stability: fields are only ever added (as optional ones); a change that
//! would break a reader gets a new `apiVersion`.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The `apiVersion` this module writes and reads.
pub const API_VERSION: &str = "sparkplane.dev/v1alpha1";
/// The `kind` this module writes and reads.
pub const KIND: &str = "CiReport";

/// The result of one CI run of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CiReport {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// The job's `metadata.name`, or the file's stem when the file did not load.
    pub job: String,
    /// The job file, as given on the command line.
    pub job_file: String,
    /// The environments checked, in the order checked.
    pub environments: Vec<String>,
    /// The sparkplane version that ran the checks.
    pub tool_version: String,
    /// When the run started.
    #[serde(with = "rfc3339")]
    pub started_at: Timestamp,
    /// When the run finished.
    #[serde(with = "rfc3339")]
    pub finished_at: Timestamp,
    /// Fail when any check failed, error when none failed but one could not run,
    /// else pass (skipped checks do not fail a run).
    pub outcome: Outcome,
    /// Every check, in the order run.
    pub checks: Vec<Check>,
}

/// One check of a CI run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    /// Stable name, e.g. `validate`, `sql`, `policy`, `fit`, `unit-tests`, `local-run`.
    pub name: String,
    /// The environment it checked; none for checks that do not depend on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// How it went.
    pub outcome: Outcome,
    /// Why it was skipped, or a one-line summary of what it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// What it found: errors (a failed check has at least one), warnings, notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Finding>,
}

/// How a check or a run went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Everything it checked is fine.
    Pass,
    /// Not run, with a reason (nothing to check, or a check it depends on failed).
    Skip,
    /// It found a problem in the job (exit 1).
    Fail,
    /// It could not run: something it needs on this machine is missing or unreachable (exit 3).
    Error,
}

impl Outcome {
    /// The word used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Skip => "skip",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem (or note) a check found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Finding {
    /// Error, warning or note.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `unknown-field`, `sql-syntax`, a policy's name.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The field path in the job document, when there is one (e.g. `spec.executor.memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Where it was written, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails its check.
    Error,
    /// Reported; the check still passes.
    Warning,
    /// Information (e.g. the output of a passing check).
    Note,
}

/// A place in a file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Location {
    /// The file, as the job names it (relative to the working directory where it can be).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl CiReport {
    /// The run's outcome from its checks: fail over error over pass; skips count as pass.
    pub fn outcome_of(checks: &[Check]) -> Outcome {
        if checks.iter().any(|c| c.outcome == Outcome::Fail) {
            Outcome::Fail
        } else if checks.iter().any(|c| c.outcome == Outcome::Error) {
            Outcome::Error
        } else {
            Outcome::Pass
        }
    }

    /// Whether every check passed or was skipped.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    /// The report as pretty JSON, ending in a newline.
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and enums always serializes.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a report written by [`CiReport::to_json`]. Refuses other kinds and
    /// versions, and a stored outcome that disagrees with the checks (a report
    /// edited by hand to say pass).
    pub fn from_json(text: &str) -> Result<CiReport, ReadError> {
        let report: CiReport = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            // serde_json ends its message with the place, which the error already leads with.
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
            ReadError::Malformed { line: e.line(), column: e.column(), message }
        })?;
        if report.api_version != API_VERSION || report.kind != KIND {
            return Err(ReadError::Kind { api_version: report.api_version, kind: report.kind });
        }
        let computed = CiReport::outcome_of(&report.checks);
        if computed != report.outcome {
            return Err(ReadError::Inconsistent { stored: report.outcome, computed });
        }
        Ok(report)
    }
}

/// Why a CI report could not be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReadError {
    /// Not JSON of the report's shape.
    #[error("{line}:{column}: not a CI report: {message}; write it with `sparkplane ci --format json`")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// Another kind or version.
    #[error(
        "apiVersion {api_version:?} kind {kind:?} is not a CI report this sparkplane reads (expected apiVersion {API_VERSION:?} kind {KIND:?})"
    )]
    Kind {
        /// The `apiVersion` found.
        api_version: String,
        /// The `kind` found.
        kind: String,
    },
    /// The stored outcome is not the one its checks give.
    #[error("outcome is {stored} but its checks give {computed}; the report was edited after `sparkplane ci` wrote it")]
    Inconsistent {
        /// The `outcome` found.
        stored: Outcome,
        /// The outcome the checks give.
        computed: Outcome,
    },
}

/// RFC 3339 timestamps through jiff's `Display`/`FromStr` (jiff's serde
/// feature is not enabled in the workspace).
mod rfc3339 {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(at)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, outcome: Outcome) -> Check {
        Check {
            name: name.into(),
            environment: Some("dev".into()),
            outcome,
            summary: None,
            duration_ms: 3,
            diagnostics: Vec::new(),
        }
    }

    fn report(checks: Vec<Check>) -> CiReport {
        CiReport {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            job: "trips-etl".into(),
            job_file: "examples/trips-etl/job.yaml".into(),
            environments: vec!["dev".into()],
            tool_version: "0.1.0".into(),
            started_at: "2026-11-23T14:00:00Z".parse().unwrap(),
            finished_at: "2026-11-23T14:00:02.5Z".parse().unwrap(),
            outcome: CiReport::outcome_of(&checks),
            checks,
        }
    }

    #[test]
    fn the_outcome_is_fail_over_error_over_pass_and_skips_pass() {
        use Outcome::*;
        assert_eq!(CiReport::outcome_of(&[]), Pass);
        assert_eq!(CiReport::outcome_of(&[check("a", Pass), check("b", Skip)]), Pass);
        assert_eq!(CiReport::outcome_of(&[check("a", Error), check("b", Pass)]), Error);
        assert_eq!(CiReport::outcome_of(&[check("a", Error), check("b", Fail)]), Fail);
    }

    #[test]
    fn the_json_form_is_camel_case_and_reads_back_equal() {
        let mut failing = check("sql", Outcome::Fail);
        failing.diagnostics.push(Finding {
            severity: Severity::Error,
            code: "sql-syntax".into(),
            message: "Expected: an expression, found: FROM".into(),
            help: None,
            field: None,
            location: Some(Location { file: "q.sql".into(), line: 2, column: 8 }),
        });
        let report = report(vec![check("validate", Outcome::Pass), failing]);
        let json = report.to_json();
        assert_eq!(
            json,
            r#"{
  "apiVersion": "sparkplane.dev/v1alpha1",
  "kind": "CiReport",
  "job": "trips-etl",
  "jobFile": "examples/trips-etl/job.yaml",
  "environments": [
    "dev"
  ],
  "toolVersion": "0.1.0",
  "startedAt": "2026-11-23T14:00:00Z",
  "finishedAt": "2026-11-23T14:00:02.5Z",
  "outcome": "fail",
  "checks": [
    {
      "name": "validate",
      "environment": "dev",
      "outcome": "pass",
      "durationMs": 3
    },
    {
      "name": "sql",
      "environment": "dev",
      "outcome": "fail",
      "durationMs": 3,
      "diagnostics": [
        {
          "severity": "error",
          "code": "sql-syntax",
          "message": "Expected: an expression, found: FROM",
          "location": {
            "file": "q.sql",
            "line": 2,
            "column": 8
          }
        }
      ]
    }
  ]
}
"#
        );
        assert_eq!(CiReport::from_json(&json), Ok(report));
    }

    #[test]
    fn a_report_edited_to_pass_another_kind_or_bad_json_is_refused_with_why() {
        let json = report(vec![check("policy", Outcome::Fail)])
            .to_json()
            .replace("\"outcome\": \"fail\",\n  \"checks\"", "\"outcome\": \"pass\",\n  \"checks\"");
        assert_eq!(
            CiReport::from_json(&json).unwrap_err().to_string(),
            "outcome is pass but its checks give fail; the report was edited after `sparkplane ci` wrote it"
        );
        let json = report(vec![]).to_json().replace("CiReport", "Release");
        assert_eq!(
            CiReport::from_json(&json).unwrap_err().to_string(),
            "apiVersion \"sparkplane.dev/v1alpha1\" kind \"Release\" is not a CI report this sparkplane reads (expected apiVersion \"sparkplane.dev/v1alpha1\" kind \"CiReport\")"
        );
        assert_eq!(
            CiReport::from_json("{\"apiVersion\": 1}").unwrap_err().to_string(),
            "1:16: not a CI report: invalid type: integer `1`, expected a string; write it with `sparkplane ci --format json`"
        );
    }
}
