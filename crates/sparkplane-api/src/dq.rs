//! Data-quality specs (`kind: DataQuality`): a dataset and the checks it must
//! pass, referenced from a SparkJob's `spec.qualityGates` or used alone with
//! `sparkplane dq check`.
//!
//! Types only. Loading with spans and meaning checks live in `sparkplane-dq`'s
//! `spec` module; evaluation in its `engine`.
//!
//! A check is one entry of `checks` with a `name`, a `severity` and exactly
//! one check field (`rowCount`, `notNull`, …). Every check field is optional
//! in the type so that a misspelt one gets "did you mean" from the schema
//! checker; "exactly one" is checked when the spec is loaded.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::quantity::Duration;

/// A data-quality spec.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DqSpec {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `DataQuality`.
    pub kind: String,
    /// Name (also the profile store's folder) and description.
    pub metadata: DqMeta,
    /// The dataset checked.
    pub dataset: Dataset,
    /// The checks, evaluated together in one pass over the data.
    pub checks: Vec<Check>,
    /// Where profiles of past runs are kept: a folder relative to the spec
    /// file (default `.sparkplane/dq`), an absolute path or an object-store URL. Row-count change and drift compare with them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_store: Option<String>,
    /// What to do with data that fails an error-severity check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<Quarantine>,
    /// Which engine runs the checks: `native` (default, one process),
    /// `spark` (Spark SQL over Spark Connect) or `auto` (spark when the
    /// dataset's files add up to more than `sparkAbove`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<DqEngine>,
    /// `engine: auto`'s threshold: the dataset's size on disk (file sizes from
    /// the listing, no data read) above which Spark runs the checks; default 160Gi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_above: Option<crate::quantity::MemorySize>,
}

/// `engine: auto`'s default threshold, in bytes of the dataset's files: 160
/// GiB, where the native engine on the check Job's one CPU stops fitting half
/// of its one-hour deadline at the rate measured by bench/dq (97 MB/s on 10
/// GB, docs/benchmarks.md); on that machine Spark never beat the native
/// engine at any size (ADR 0075). One value for `dq check` and the
/// operator's cluster gate (ADR 0063).
pub const DEFAULT_SPARK_ABOVE: u64 = 160 * 1024 * 1024 * 1024;

impl DqSpec {
    /// `engine: auto`'s threshold: `sparkAbove`, else [`DEFAULT_SPARK_ABOVE`].
    pub fn spark_threshold(&self) -> u64 {
        self.spark_above.map_or(DEFAULT_SPARK_ABOVE, |s| s.bytes())
    }
}

/// The engine that runs a spec's checks.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DqEngine {
    /// sparkplane's own one-pass scan in this process (default).
    #[default]
    Native,
    /// Spark SQL through Spark Connect: one aggregation query for the
    /// scan-shareable checks, one query per uniqueness or referential check.
    Spark,
    /// `spark` when the dataset is larger than `sparkAbove`, else `native`.
    Auto,
}

/// Identity of a data-quality spec.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DqMeta {
    /// Name: lower-case letters, digits and '-'.
    pub name: String,
    /// One line saying what the data is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// File format of a dataset.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    /// Apache Parquet (default).
    #[default]
    Parquet,
    /// Comma-separated values with a header line.
    Csv,
    /// JSON lines: one object per line.
    Json,
}

/// How a dataset's folders are laid out.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Partitioning {
    /// Files anywhere under the path; folder names carry no columns (default).
    #[default]
    None,
    /// `key=value` folders (as Spark's `partitionBy` writes them) become columns.
    Hive,
}

/// A dataset: where and in which format.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dataset {
    /// A folder or file relative to the spec file, an absolute path, or an
    /// object-store URL (`s3://bucket/table/`, `s3a://…`, `gs://…`, `az://…`).
    pub path: String,
    /// File format (default parquet).
    #[serde(default)]
    pub format: DataFormat,
    /// Folder layout (default none).
    #[serde(default)]
    pub partitioning: Partitioning,
}

/// How bad a failed check is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckSeverity {
    /// Fails the gate (exit 1) and triggers quarantine (default).
    #[default]
    Error,
    /// Reported; the gate still passes.
    Warn,
}

/// One check: a name, a severity and exactly one check field.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    /// Name shown in results, unique in the spec.
    pub name: String,
    /// error (default) or warn.
    #[serde(default)]
    pub severity: CheckSeverity,
    /// Number of rows within bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<RowCountCheck>,
    /// Relative change of the row count against the previous run's profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count_change: Option<RowCountChangeCheck>,
    /// Expected columns and types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaCheck>,
    /// No nulls in a column, or at most a fraction of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_null: Option<NotNullCheck>,
    /// No two rows share the values of these columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique: Option<UniqueCheck>,
    /// Every non-null value is one of a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_values: Option<AcceptedValuesCheck>,
    /// Every non-null value within bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeCheck>,
    /// Every non-null string value matches a regular expression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<RegexCheck>,
    /// The newest timestamp is at most this old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freshness: Option<FreshnessCheck>,
    /// Every non-null value occurs in a column of another dataset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referential_integrity: Option<ReferentialIntegrityCheck>,
    /// The distribution of a numeric column against the previous run's profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftCheck>,
    /// A SQL predicate every row must satisfy (a NULL result passes, as in a
    /// SQL `CHECK` constraint): `sql: "amount >= 0"`, or
    /// `sql: {predicate: "amount >= 0", maxFailingFraction: 0.01}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<SqlCheck>,
}

/// `sql: "predicate"` or `sql: {predicate, maxFailingRows, maxFailingFraction}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(untagged)]
pub enum SqlCheck {
    /// Just the predicate: any failing row fails the check.
    Predicate(String),
    /// The predicate with how many failing rows are tolerated.
    Detailed(SqlPredicateCheck),
}

/// `sql: {predicate, maxFailingRows, maxFailingFraction}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlPredicateCheck {
    /// A boolean SQL expression over the dataset's columns.
    pub predicate: String,
    /// Most rows allowed to fail (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failing_rows: Option<u64>,
    /// Largest fraction of rows allowed to fail, 0 to 1 (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failing_fraction: Option<f64>,
}

impl SqlCheck {
    /// The predicate text.
    pub fn predicate(&self) -> &str {
        match self {
            SqlCheck::Predicate(p) => p,
            SqlCheck::Detailed(d) => &d.predicate,
        }
    }

    /// Most failing rows allowed.
    pub fn max_failing_rows(&self) -> Option<u64> {
        match self {
            SqlCheck::Predicate(_) => None,
            SqlCheck::Detailed(d) => d.max_failing_rows,
        }
    }

    /// Largest failing fraction allowed.
    pub fn max_failing_fraction(&self) -> Option<f64> {
        match self {
            SqlCheck::Predicate(_) => None,
            SqlCheck::Detailed(d) => d.max_failing_fraction,
        }
    }
}

/// `rowCount: {min, max}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RowCountCheck {
    /// Fewest rows allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Most rows allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

/// `rowCountChange: {maxPercent}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RowCountChangeCheck {
    /// Largest change, up or down, in percent of the previous run's count.
    pub max_percent: f64,
}

/// What to do about columns the schema check does not list.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnexpectedColumns {
    /// Allowed silently.
    Ignore,
    /// Reported as a warning (default).
    #[default]
    Warn,
    /// Fail the check.
    Error,
}

/// `schema: {columns: {name: type}, unexpectedColumns}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemaCheck {
    /// Column name to type, in Spark's words: string, long, int, short, byte,
    /// double, float, boolean, date, timestamp, binary, decimal.
    pub columns: BTreeMap<String, String>,
    /// Columns not listed: ignore, warn (default) or error.
    #[serde(default)]
    pub unexpected_columns: UnexpectedColumns,
}

/// `notNull: {column, maxFraction}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotNullCheck {
    /// The column.
    pub column: String,
    /// Largest fraction of nulls allowed, 0 to 1 (default 0: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_fraction: Option<f64>,
}

/// `unique: {columns, approximateAbove}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UniqueCheck {
    /// The columns whose values together must be unique.
    pub columns: Vec<String>,
    /// Above this many distinct keys, switch from an exact hash set to an
    /// approximate (HyperLogLog) count and say so (default 10,000,000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_above: Option<u64>,
}

/// `acceptedValues: {column, values}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptedValuesCheck {
    /// The column (compared as text).
    pub column: String,
    /// The values allowed.
    pub values: Vec<String>,
}

/// `range: {column, min, max}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RangeCheck {
    /// A numeric column.
    pub column: String,
    /// Smallest value allowed (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value allowed (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// `regex: {column, pattern}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegexCheck {
    /// A string column.
    pub column: String,
    /// Rust `regex` syntax; must match the whole value (anchors are added).
    pub pattern: String,
}

/// `freshness: {column, maxAge}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreshnessCheck {
    /// A timestamp or date column.
    pub column: String,
    /// Largest age of the newest value, e.g. `36h`.
    pub max_age: Duration,
}

/// `referentialIntegrity: {column, dataset, refColumn}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReferentialIntegrityCheck {
    /// The column of the checked dataset.
    pub column: String,
    /// The dataset holding the keys.
    pub dataset: Dataset,
    /// Its key column (default: the same name as `column`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_column: Option<String>,
}

/// `drift: {column, maxPsi}`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftCheck {
    /// A numeric column.
    pub column: String,
    /// Largest population stability index against the previous profile
    /// (default 0.2; 0.1–0.25 is commonly read as a moderate shift).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_psi: Option<f64>,
}

/// What quarantine does with failing data. Data is never deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum QuarantineMode {
    /// Copy the checked files (the partition) under the quarantine location.
    CopyPartition,
    /// Copy, verify the copies (listing and sizes), and only then remove the
    /// source files, leaving a `_QUARANTINED` note saying where they went; any
    /// failure leaves the source intact.
    MovePartition,
    /// Write the rows that fail row-level checks as Parquet under the location.
    FailingRows,
}

/// `quarantine: {mode, location}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quarantine {
    /// copy-partition, move-partition or failing-rows.
    pub mode: QuarantineMode,
    /// A folder relative to the spec file, an absolute path, or an
    /// object-store URL (`s3://bucket/prefix`, `gs://…`, `az://…`).
    pub location: String,
}
