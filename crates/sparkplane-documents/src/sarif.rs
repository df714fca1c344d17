//! SARIF 2.1.0, the one writer of it: code-scanning services read a policy
//! verdict (`policy check --format sarif`) or a CI run (`ci --sarif`) as the
//! results of one analysis tool.
//!
//! Owns: the typed subset of the SARIF object model sparkplane writes (a log
//! with one run, its tool's rules and its results with physical locations)
//! and its JSON form. Callers say what each rule and result is; they never
//! build SARIF JSON by hand.
//! Must not: decide what passes or fails, or do I/O.

use serde::Serialize;

/// The schema a log names in `$schema`.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF log (`sarifLog`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Log {
    /// The schema URI.
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    /// Always `2.1.0`.
    pub version: &'static str,
    /// The runs (sparkplane writes one).
    pub runs: Vec<Run>,
}

/// One run of one tool (`run`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The tool.
    pub tool: Tool,
    /// How the run went (sparkplane writes one invocation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invocations: Vec<Invocation>,
    /// What it found.
    pub results: Vec<SarifResult>,
}

/// The tool (`tool`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tool {
    /// Its driver.
    pub driver: Driver,
}

/// The tool's driver (`toolComponent`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    /// `sparkplane`.
    pub name: String,
    /// Where its rules are documented.
    pub information_uri: String,
    /// Its version.
    pub version: String,
    /// The rules its results refer to, by index.
    pub rules: Vec<Rule>,
}

/// A rule (`reportingDescriptor`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// A name for people in Pascal case, different from the id (SARIF1001); none to leave it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One line.
    pub short_description: Message,
    /// Why it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_description: Option<Message>,
    /// How to fix what it finds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<Message>,
    /// Its level when a result does not say.
    pub default_configuration: Configuration,
}

/// A rule's default configuration (`reportingConfiguration`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Configuration {
    /// Its level.
    pub level: Level,
}

/// A plain-text message (`message`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    /// The text.
    pub text: String,
}

impl Message {
    /// A message of `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }
}

/// A result's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fails.
    Error,
    /// Reported.
    Warning,
    /// Information.
    Note,
}

/// What the tool found (`result`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's index in the driver's rules.
    pub rule_index: usize,
    /// How bad.
    pub level: Level,
    /// What is wrong.
    pub message: Message,
    /// Where (one physical location).
    pub locations: Vec<Location>,
    /// Extra facts, e.g. the environment a result was found for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A location (`location`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// The file and region.
    pub physical_location: PhysicalLocation,
}

/// A file and a region in it (`physicalLocation`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    /// The file.
    pub artifact_location: ArtifactLocation,
    /// The place in it.
    pub region: Region,
}

/// A file (`artifactLocation`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArtifactLocation {
    /// Its URI (a relative path as given).
    pub uri: String,
}

/// A place in a file (`region`), 1-based.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// Line.
    pub start_line: u32,
    /// Column.
    pub start_column: u32,
}

/// How the run went (`invocation`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// Whether the tool ran to the end (false when a check could not run).
    pub execution_successful: bool,
    /// When it started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time_utc: Option<String>,
    /// When it ended (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time_utc: Option<String>,
}

impl Location {
    /// `uri` at 1-based `line` and `column` (0 is raised to 1: SARIF regions start at 1).
    pub fn at(uri: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: uri.into() },
                region: Region { start_line: line.max(1), start_column: column.max(1) },
            },
        }
    }
}

/// A line or column as SARIF's integer (a file of more than 4 billion lines is held to the last one).
pub fn number(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Log {
    /// A log of one run of sparkplane with `rules`, `results` and `invocations`.
    pub fn sparkplane(
        information_uri: &str,
        rules: Vec<Rule>,
        results: Vec<SarifResult>,
        invocations: Vec<Invocation>,
    ) -> Self {
        Log {
            schema: SCHEMA,
            version: "2.1.0",
            runs: vec![Run {
                tool: Tool {
                    driver: Driver {
                        name: "sparkplane".into(),
                        information_uri: information_uri.into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        rules,
                    },
                },
                invocations,
                results,
            }],
        }
    }

    /// The log as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        // Strings, numbers and enums: serialization cannot fail.
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_has_the_shape_and_names_sarif_uses() {
        let rule = Rule {
            id: "sql".into(),
            name: Some("SparkSql".into()),
            short_description: Message::new("Spark SQL parses"),
            full_description: None,
            help: None,
            default_configuration: Configuration { level: Level::Error },
        };
        let result = SarifResult {
            rule_id: "sql".into(),
            rule_index: 0,
            level: Level::Error,
            message: Message::new("bad"),
            locations: vec![Location::at("q.sql", 0, 3)],
            properties: None,
        };
        let json = Log::sparkplane("https://x.invalid", vec![rule], vec![result], vec![]).to_json();
        assert_eq!(json["$schema"], SCHEMA);
        assert_eq!(json["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"], "error");
        let region = &json["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
        assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(1), Some(3)));
        assert!(json["runs"][0].get("invocations").is_none());
    }
}
