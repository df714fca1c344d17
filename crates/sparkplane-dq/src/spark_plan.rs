//! The spark engine's planner: which Spark SQL query each check of a spec
//! goes into, and the text of those queries.
//!
//! Every scan-shareable check of the dataset (row count, not-null, range,
//! accepted values, regex, freshness, custom SQL predicates, and the
//! referential check's count of keyed rows) is one column group of ONE
//! aggregation query; each uniqueness check is one grouping query over its
//! column set (over buckets of Spark's bitmaps for one dense integer column,
//! ADR 0075 addendum); each referential-integrity check is one anti-join against the
//! referenced dataset. The measures mean what the native engine's
//! accumulators mean (`stats`): the same rows checked, the same failing
//! rows, the examples as the `EXAMPLES` smallest distinct failing values
//! rendered as the native engine renders them, so `evaluate` decides both
//! engines' results with one code path.
//!
//! Owns: the plan and the SQL text, including quoting every identifier and
//! literal that comes from the spec or the data (hostile names and values
//! must not change the query's meaning). Must not: run anything, read files,
//! or decide pass or fail.

use std::collections::BTreeMap;

use sparkplane_api::dq::{Check, DataFormat, DqSpec};

use crate::sql::{Arith, Compare, Expr, Function, Literal, Predicate};
use crate::stats::EXAMPLES;

/// The temporary view the checked dataset is read through.
pub const DATA_VIEW: &str = "sparkplane_dq_data";

/// `name` as a Spark SQL identifier: in backticks, backticks doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `text` as a Spark SQL string literal. Spark reads backslash escapes in
/// string literals (unless `spark.sql.parser.escapedStringLiterals`), so
/// backslashes and quotes are escaped, and control characters written as
/// escapes (`\n`, `\uXXXX`) so no literal spans a line.
pub fn quote_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A double as a Spark SQL expression of type DOUBLE (never a decimal literal).
fn double(v: f64) -> String {
    if v.is_nan() {
        "CAST('NaN' AS DOUBLE)".to_owned()
    } else if v.is_infinite() {
        format!("CAST('{}Infinity' AS DOUBLE)", if v < 0.0 { "-" } else { "" })
    } else {
        format!("CAST('{v:?}' AS DOUBLE)")
    }
}

/// Where a dataset is, as Spark reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkSource {
    /// A URI Spark reads (`file:/abs/path`, `s3a://bucket/key`).
    pub uri: String,
    /// File format.
    pub format: DataFormat,
    /// Columns and their Spark types, for CSV and JSON (the native engine's
    /// inference, so both engines read the same types); empty for Parquet,
    /// whose footers say.
    pub schema: Vec<(String, String)>,
}

impl SparkSource {
    /// The statement that makes `view` read this dataset. Malformed lines
    /// fail the query (`FAILFAST`), as they fail the native engine.
    pub fn view(&self, view: &str) -> String {
        let (using, mut options) = match self.format {
            DataFormat::Parquet => ("parquet", vec![("mergeSchema", "true"), ("pathGlobFilter", "*.parquet")]),
            DataFormat::Csv => ("csv", vec![("header", "true"), ("mode", "FAILFAST"), ("pathGlobFilter", "*.csv")]),
            DataFormat::Json => ("json", vec![("mode", "FAILFAST"), ("pathGlobFilter", "*.{json,jsonl,ndjson}")]),
        };
        options.insert(0, ("path", self.uri.as_str()));
        let options: Vec<String> = options.iter().map(|(k, v)| format!("{k} {}", quote_str(v))).collect();
        let columns = if self.schema.is_empty() {
            String::new()
        } else {
            let list: Vec<String> =
                self.schema.iter().map(|(name, t)| format!("{} {}", quote_ident(name), ddl_type(t))).collect();
            format!(" ({})", list.join(", "))
        };
        format!(
            "CREATE OR REPLACE TEMPORARY VIEW {}{columns} USING {using} OPTIONS ({})",
            quote_ident(view),
            options.join(", ")
        )
    }
}

/// A Spark type name (`long`, `string`, `decimal(10,2)`) in DDL; anything
/// the native engine names that Spark would not parse is read as text.
fn ddl_type(spark_type: &str) -> &str {
    match spark_type {
        "string" | "byte" | "short" | "int" | "long" | "float" | "double" | "boolean" | "date" | "timestamp"
        | "binary" => spark_type,
        t if t.starts_with("decimal(") && t.chars().all(|c| c.is_ascii_alphanumeric() || "(),".contains(c)) => t,
        _ => "string",
    }
}

/// What the plan needs to know about the data, from metadata only.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    /// The spec.
    pub spec: &'a DqSpec,
    /// Every column of the dataset and its Spark type (the first type when files disagree).
    pub columns: &'a BTreeMap<String, String>,
    /// The checked dataset.
    pub data: SparkSource,
    /// Referenced datasets by check index, when their column was found.
    pub refs: BTreeMap<usize, SparkSource>,
    /// The parsed `sql` predicates by check index.
    pub predicates: &'a BTreeMap<usize, Predicate>,
    /// What the dataset's Parquet footers say of its integer columns (none for CSV and JSON).
    pub ranges: &'a BTreeMap<String, IntegerRange>,
    /// Whether the run writes its profile: the numeric columns' means and
    /// variances are measured only for it (nothing else reads them, and
    /// Spark updates a mean and a variance per row and column).
    pub profile: bool,
}

/// An integer column's smallest and largest value in a dataset's files, from
/// their footers, and the rows of those files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntegerRange {
    /// The smallest value.
    pub min: i64,
    /// The largest value.
    pub max: i64,
    /// Rows of the files.
    pub rows: u64,
}

/// Whether `spark_type` is one of Spark's integer types.
pub fn is_integer(spark_type: &str) -> bool {
    matches!(spark_type, "byte" | "short" | "int" | "long")
}

/// Spark's bitmap functions keep one bitmap of this many bits per bucket of
/// keys (`bitmap_bucket_number`): 4 KiB each, however few keys it holds.
const BITMAP_BITS: i128 = 32_768;

/// The most buckets a uniqueness check is counted in by bitmaps (256 MiB of
/// bitmaps); below it, at most one bucket per 1,024 rows (16 on small data),
/// so the bitmaps stay smaller than the keys they replace.
const BITMAP_BUCKETS_MAX: i128 = 65_536;

/// How many of Spark's bitmap buckets the values `min..=max` fall in:
/// value `v` is in bucket `(v - 1) / 32768 + 1` when positive and `v / 32768`
/// otherwise (division towards zero, as Java's).
pub fn bitmap_buckets(min: i64, max: i64) -> i128 {
    let bucket = |v: i64| {
        let v = i128::from(v);
        if v > 0 { (v - 1) / BITMAP_BITS + 1 } else { v / BITMAP_BITS }
    };
    bucket(max) - bucket(min) + 1
}

/// Whether a uniqueness check on the integer column with `range` counts its
/// distinct keys by bitmaps (only the buckets shuffled: about a fifth of the
/// grouping's time on the benchmark's 12.5M dense ids, docs/benchmarks.md)
/// rather than by grouping every key: only when the keys are dense enough
/// that the bitmaps are smaller than the keys.
fn counted_by_bitmaps(range: &IntegerRange) -> bool {
    let allowed = (i128::from(range.rows) / 1024).clamp(16, BITMAP_BUCKETS_MAX);
    range.min <= range.max && bitmap_buckets(range.min, range.max) <= allowed
}

/// One value the shared aggregation computes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Rows of the dataset.
    Rows,
    /// Nulls of a column.
    Nulls(String),
    /// Non-null numeric values of a column.
    Numbers(String),
    /// Smallest numeric value (timestamps and dates in seconds since 1970).
    Min(String),
    /// Largest numeric value.
    Max(String),
    /// Mean of the numeric values.
    Mean(String),
    /// Sample variance of the numeric values.
    Variance(String),
    /// Rows a row-level check looked at.
    Checked(usize),
    /// Rows failing a row-level check.
    Failing(usize),
    /// Rows failing any row-level error check (what `failing-rows` quarantine writes).
    QuarantineRows,
}

/// What a query answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    /// The one aggregation: in the row without `ex_check`, each column
    /// `m<k>` is `measures[k]`; each other row is one of the
    /// [`EXAMPLES`] smallest distinct failing values (`ex_value`) of the
    /// row-level check whose index is `ex_check`.
    Shared(Vec<Measure>),
    /// A uniqueness check (by index): columns `keyed` and `distinct_keys`.
    Unique(usize),
    /// A referential-integrity check (by index): columns `failing` and `examples`.
    Orphans(usize),
    /// A drift check's column: its non-null numeric values counted per
    /// native histogram bucket (`sketch::bucket_of`), columns `keys` and `counts`.
    Histogram(String),
}

/// One planned query.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkQuery {
    /// What its one row means.
    pub purpose: Purpose,
    /// The SELECT, answering one row.
    pub sql: String,
}

/// Everything the spark engine runs for one spec.
#[derive(Clone, Debug, PartialEq)]
pub struct SparkPlan {
    /// Session settings and views, before the queries.
    pub setup: Vec<String>,
    /// The queries, the shared aggregation first.
    pub queries: Vec<SparkQuery>,
    /// Which rows `failing-rows` quarantine writes (a WHERE condition), when
    /// the spec quarantines failing rows.
    pub failing_rows: Option<String>,
}

impl SparkPlan {
    /// Scans of the checked dataset the plan takes: one per query.
    pub fn planned_scans(&self) -> usize {
        self.queries.len()
    }

    /// The statements that write the failing rows as Parquet under `target`
    /// (a folder URI Spark writes; replaced whole) with Spark, reading the
    /// dataset only: the setup, then one `INSERT OVERWRITE DIRECTORY`.
    pub fn quarantine_statements(&self, target: &str) -> Option<Vec<String>> {
        let condition = self.failing_rows.as_ref()?;
        let mut out = self.setup.clone();
        out.push(format!(
            "INSERT OVERWRITE DIRECTORY {} USING parquet SELECT * FROM {} WHERE {condition}",
            quote_str(target),
            quote_ident(DATA_VIEW)
        ));
        Some(out)
    }

    /// The statements to run in one session: the setup, then one SELECT
    /// answering every query's row as `(q, to_json(row))`, `q` the query's
    /// index. Each query still scans on its own; one statement saves a
    /// round trip per query.
    pub fn statements(&self) -> Vec<String> {
        let mut out = self.setup.clone();
        let parts: Vec<String> = self
            .queries
            .iter()
            .enumerate()
            .map(|(i, q)| format!("SELECT {i} AS q, to_json(struct(*)) AS r FROM ({}) AS t{i}", q.sql))
            .collect();
        if !parts.is_empty() {
            out.push(parts.join("\nUNION ALL\n"));
        }
        out
    }
}

/// The checks the spark engine cannot express the way the native engine
/// decides them, as `(field path, why)`; a spec with any is refused for
/// `engine: spark` and `auto` before anything runs.
pub fn inexpressible(spec: &DqSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, check) in spec.checks.iter().enumerate() {
        if let Some(r) = &check.regex
            && let Some(construct) = regex_only_in_rust(&r.pattern)
        {
            out.push((
                format!("checks[{i}].regex.pattern"),
                format!("`{construct}` means something else in Java's regular expressions, which Spark uses"),
            ));
        }
    }
    out
}

/// A construct of Rust's regex syntax that Java's reads differently.
fn regex_only_in_rust(pattern: &str) -> Option<&'static str> {
    ["[[:", "(?P<", "(?U", "(?u", "(?-u", "(?x", "\\<", "\\>", "\\b{", "\\pN", "\\pL", "(?R"]
        .into_iter()
        .find(|c| pattern.contains(c))
}

/// The numeric value of a column of `spark_type` as the native engine reads
/// it (`columns::numeric`): numbers as doubles, dates and timestamps in
/// seconds since 1970; `None` for types it does not read as numbers.
fn numeric_expr(column: &str, spark_type: &str) -> Option<String> {
    let c = column;
    match spark_type {
        "byte" | "short" | "int" | "long" | "float" | "double" => Some(format!("CAST({c} AS DOUBLE)")),
        "date" => Some(format!("(CAST(unix_date({c}) AS DOUBLE) * 86400.0)")),
        "timestamp" | "timestamp_ntz" => Some(format!("(CAST(unix_micros(CAST({c} AS TIMESTAMP)) AS DOUBLE) * 1e-6)")),
        _ => None,
    }
}

/// A double rendered as Rust's `f64` Display renders it for the values data
/// usually holds: integral values without `.0`, others as Java prints them.
fn rust_number(x: &str) -> String {
    format!(
        "CASE WHEN {x} = floor({x}) AND abs({x}) < 1e15 THEN CAST(CAST({x} AS BIGINT) AS STRING) ELSE CAST({x} AS STRING) END"
    )
}

/// The text of a value of `spark_type` as the native engine renders it for
/// accepted values, regex and referential examples (`columns::for_each_text`);
/// `None` for types it does not render (they are not checked).
fn text_expr(column: &str, spark_type: &str) -> Option<String> {
    let c = column;
    match spark_type {
        "string" => Some(c.to_owned()),
        "boolean" | "byte" | "short" | "int" | "long" | "date" => Some(format!("CAST({c} AS STRING)")),
        "float" | "double" => Some(rust_number(&format!("CAST({c} AS DOUBLE)"))),
        _ => None,
    }
}

/// A value as arrow's display shows it in a failing row's text (`a=1 b=NULL`).
fn display_expr(column: &str, spark_type: &str) -> String {
    match spark_type {
        "timestamp" | "timestamp_ntz" => format!("date_format({column}, \"yyyy-MM-dd'T'HH:mm:ss\")"),
        _ => format!("CAST({column} AS STRING)"),
    }
}

/// The column of the shared query's rows naming the check an example is of
/// (absent in the measures' row), and the example's text.
pub const EXAMPLE_CHECK: &str = "ex_check";
/// See [`EXAMPLE_CHECK`].
pub const EXAMPLE_VALUE: &str = "ex_value";
/// Inner names of the shared query: a check's failure flag (a prefix), and
/// the generated columns the failing values are grouped by.
const FLAG: &str = "sparkplane_dq_fails_";
const GEN_CHECK: &str = "sparkplane_dq_check";
const GEN_VALUE: &str = "sparkplane_dq_value";

/// The columns a check reads (as the native engine's `column_of`).
fn check_columns(check: &Check) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let single = [
        check.not_null.as_ref().map(|c| c.column.as_str()),
        check.accepted_values.as_ref().map(|c| c.column.as_str()),
        check.range.as_ref().map(|c| c.column.as_str()),
        check.regex.as_ref().map(|c| c.column.as_str()),
        check.freshness.as_ref().map(|c| c.column.as_str()),
        check.referential_integrity.as_ref().map(|c| c.column.as_str()),
        check.drift.as_ref().map(|c| c.column.as_str()),
    ];
    out.extend(single.into_iter().flatten());
    if let Some(u) = &check.unique {
        out.extend(u.columns.iter().map(String::as_str));
    }
    out
}

/// The shared aggregation's measures and their SQL, in order.
struct Shared {
    measures: Vec<Measure>,
    sql: Vec<String>,
    /// Row-failure conditions of error-severity checks (the native `failing-rows` mask).
    errors: Vec<String>,
    /// Row-level checks by index: the failure condition, and the failing value's text.
    failures: BTreeMap<usize, (String, String)>,
}

impl Shared {
    fn add(&mut self, measure: Measure, sql: String) {
        if !self.measures.contains(&measure) {
            self.measures.push(measure);
            self.sql.push(sql);
        }
    }

    /// A row-level check: rows checked, rows failing (counted from the
    /// check's flag, computed once per row below the aggregation), and its
    /// failing values grouped for the examples.
    fn row_level(&mut self, i: usize, checked: String, condition: &str, text: &str) {
        self.add(Measure::Checked(i), checked);
        self.add(Measure::Failing(i), format!("count_if({FLAG}{i})"));
        self.failures.insert(i, (condition.to_owned(), text.to_owned()));
    }

    /// The one aggregation. Without row-level checks, one global
    /// aggregation answering one row. With them, each row of the data also
    /// gives one row per check it fails (`inline_outer` over the checks'
    /// values, and a filter keeping the measures' row and the failing
    /// values; a row failing none gives just the measures' row), the
    /// aggregation groups by (check, value) — the measures' row is the group
    /// with no check — and a window keeps the [`EXAMPLES`] smallest values of
    /// each check. Every aggregate's state is fixed-width, so Spark hashes
    /// and spills it as any grouping; no set of failing values is held whole
    /// (a `collect_set` would hold every distinct one). No expression in the
    /// scan's stage may be one Spark cannot compile (a lambda such as
    /// `filter(array, x -> …)` is not): one such expression takes the whole
    /// stage — reading, flags, generator and partial aggregation — out of
    /// whole-stage code generation (the benchmark's 1 GB shared query took
    /// 12.5 s with the lambda, 8.9 s without; ADR 0075, addendum of
    /// 2026-11-27).
    fn sql(&self) -> String {
        let data = quote_ident(DATA_VIEW);
        if self.failures.is_empty() {
            let columns: Vec<String> = self.sql.iter().enumerate().map(|(k, sql)| format!("{sql} AS m{k}")).collect();
            return format!("SELECT {} FROM {data}", columns.join(", "));
        }
        let flags: Vec<String> = self
            .failures
            .iter()
            .map(|(i, (condition, _))| format!("coalesce({condition}, FALSE) AS {FLAG}{i}"))
            .collect();
        let any: Vec<String> = self.failures.keys().map(|i| format!("{FLAG}{i}")).collect();
        let entries: Vec<String> = self
            .failures
            .iter()
            .map(|(i, (_, text))| {
                format!("named_struct('i', {i}, 'v', CASE WHEN {FLAG}{i} THEN CAST({text} AS STRING) END)")
            })
            .collect();
        // A failing row gives the measures' row (no check) and one entry per check, the
        // passing checks' without a value: the WHERE below drops those.
        let failing = format!(
            "CASE WHEN {} THEN array(CAST(NULL AS STRUCT<i: INT, v: STRING>), {}) END",
            any.join(" OR "),
            entries.join(", ")
        );
        let measures: Vec<String> = self.sql.iter().enumerate().map(|(k, sql)| format!("{sql} AS m{k}")).collect();
        let grouped = format!(
            "SELECT {GEN_CHECK}, {GEN_VALUE}, {} FROM (SELECT *, {} FROM {data}) AS x LATERAL VIEW inline_outer({failing}) AS {GEN_CHECK}, {GEN_VALUE} WHERE {GEN_CHECK} IS NULL OR {GEN_VALUE} IS NOT NULL GROUP BY {GEN_CHECK}, {GEN_VALUE}",
            measures.join(", "),
            flags.join(", ")
        );
        let kept: Vec<String> =
            (0..self.sql.len()).map(|k| format!("IF({GEN_CHECK} IS NULL, m{k}, NULL) AS m{k}")).collect();
        format!(
            "SELECT {GEN_CHECK} AS {EXAMPLE_CHECK}, {GEN_VALUE} AS {EXAMPLE_VALUE}, {} FROM (SELECT *, row_number() OVER (PARTITION BY {GEN_CHECK} ORDER BY {GEN_VALUE}) AS sparkplane_dq_rank FROM ({grouped}) AS g) AS w WHERE {GEN_CHECK} IS NULL OR sparkplane_dq_rank <= {EXAMPLES}",
            kept.join(", ")
        )
    }
}

/// Plans the queries of a spec. Checks on columns the dataset lacks get no
/// measures: `evaluate` fails them with the native engine's message.
pub fn plan(input: &PlanInput<'_>) -> SparkPlan {
    let spec = input.spec;
    let ty = |name: &str| input.columns.get(name).map(String::as_str);
    let mut shared = Shared { measures: Vec::new(), sql: Vec::new(), errors: Vec::new(), failures: BTreeMap::new() };
    shared.add(Measure::Rows, "count(*)".to_owned());
    let mut queries = Vec::new();
    for (i, check) in spec.checks.iter().enumerate() {
        let before = shared.measures.len();
        plan_check(input, i, check, &mut shared, &mut queries);
        let error = check.severity == sparkplane_api::dq::CheckSeverity::Error;
        if error && check.not_null.as_ref().is_some_and(|n| n.max_fraction.unwrap_or(0.0) == 0.0) {
            let column = check.not_null.as_ref().map(|n| n.column.as_str()).unwrap_or_default();
            // A column the data lacks is null in every row, as the native mask has it.
            shared.errors.push(if ty(column).is_some() {
                format!("{} IS NULL", quote_ident(column))
            } else {
                "TRUE".to_owned()
            });
        } else if error
            && check.referential_integrity.is_none()
            && shared.measures[before..].contains(&Measure::Failing(i))
            && let Some((condition, _)) = shared.failures.get(&i)
        {
            shared.errors.push(format!("({condition})"));
        }
    }
    let failing_rows = match &spec.quarantine {
        Some(q) if q.mode == sparkplane_api::dq::QuarantineMode::FailingRows => {
            let condition = if shared.errors.is_empty() { "FALSE".to_owned() } else { shared.errors.join(" OR ") };
            shared.add(Measure::QuarantineRows, format!("count_if({condition})"));
            Some(condition)
        }
        _ => None,
    };
    let sql = shared.sql();
    queries.insert(0, SparkQuery { purpose: Purpose::Shared(shared.measures), sql });
    let mut setup = vec![
        // The native engine reads naive timestamps as UTC and divides by zero to NULL.
        "SET spark.sql.session.timeZone=UTC".to_owned(),
        "SET spark.sql.ansi.enabled=false".to_owned(),
        input.data.view(DATA_VIEW),
    ];
    setup.extend(input.refs.iter().map(|(i, source)| source.view(&ref_view(*i))));
    SparkPlan { setup, queries, failing_rows }
}

/// The measures and queries of check `i`.
fn plan_check(input: &PlanInput<'_>, i: usize, check: &Check, shared: &mut Shared, queries: &mut Vec<SparkQuery>) {
    let ty = |name: &str| input.columns.get(name).map(String::as_str);
    {
        for name in check_columns(check) {
            if ty(name).is_some() {
                let c = quote_ident(name);
                shared.add(Measure::Nulls(name.to_owned()), format!("count(*) - count({c})"));
            }
        }
        let numeric_of = |name: &str| ty(name).and_then(|t| numeric_expr(&quote_ident(name), t));
        let numeric_column = check.range.as_ref().map(|r| &r.column).or(check.freshness.as_ref().map(|f| &f.column));
        let numeric_column = numeric_column.or(check.drift.as_ref().map(|d| &d.column));
        if let Some(name) = numeric_column
            && let Some(n) = numeric_of(name)
        {
            shared.add(Measure::Numbers(name.clone()), format!("count({n})"));
            shared.add(Measure::Min(name.clone()), format!("min({n})"));
            shared.add(Measure::Max(name.clone()), format!("max({n})"));
            if input.profile {
                shared.add(Measure::Mean(name.clone()), format!("avg({n})"));
                shared.add(Measure::Variance(name.clone()), format!("var_samp({n})"));
            }
        }
        if let Some(r) = &check.range
            && let Some(n) = numeric_of(&r.column)
        {
            let lo = double(r.min.unwrap_or(f64::NEG_INFINITY));
            let hi = double(r.max.unwrap_or(f64::INFINITY));
            let condition = format!("NOT ({n} >= {lo} AND {n} <= {hi})");
            shared.row_level(i, format!("count({n})"), &condition, &rust_number(&n));
        }
        if let Some(a) = &check.accepted_values
            && let Some(t) = ty(&a.column).and_then(|t| text_expr(&quote_ident(&a.column), t))
        {
            let condition = if a.values.is_empty() {
                format!("{t} IS NOT NULL")
            } else {
                let list: Vec<String> = a.values.iter().map(|v| quote_str(v)).collect();
                format!("{t} NOT IN ({})", list.join(", "))
            };
            shared.row_level(i, format!("count({t})"), &condition, &t);
        }
        if let Some(r) = &check.regex
            && let Some(t) = ty(&r.column).and_then(|t| text_expr(&quote_ident(&r.column), t))
        {
            // The native engine matches the whole value; `(?U)` gives Java's \d \w \s \b Rust's Unicode meaning.
            let pattern = quote_str(&format!("(?U)\\A(?:{})\\z", r.pattern));
            shared.row_level(i, format!("count({t})"), &format!("NOT ({t} RLIKE {pattern})"), &t);
        }
        if let Some(p) = input.predicates.get(&i) {
            let predicate = render(&p.expr, input.columns);
            let condition = format!("NOT coalesce({predicate}, TRUE)");
            let parts: Vec<String> = p
                .columns()
                .iter()
                .map(|name| {
                    let shown = ty(name).map(|t| display_expr(&quote_ident(name), t)).unwrap_or("NULL".to_owned());
                    format!("concat({}, coalesce({shown}, 'NULL'))", quote_str(&format!("{name}=")))
                })
                .collect();
            shared.row_level(i, "count(*)".to_owned(), &condition, &format!("concat_ws(' ', {})", parts.join(", ")));
        }
        if let Some(u) = &check.unique
            && u.columns.iter().all(|c| ty(c).is_some())
        {
            let keys: Vec<String> = u.columns.iter().map(|c| quote_ident(c)).collect();
            let not_null: Vec<String> = keys.iter().map(|k| format!("{k} IS NOT NULL")).collect();
            let bitmaps = match u.columns.as_slice() {
                [column] if ty(column).is_some_and(is_integer) => {
                    input.ranges.get(column).is_some_and(counted_by_bitmaps)
                }
                _ => false,
            };
            let sql = if bitmaps {
                // One bitmap per bucket of keys; the distinct keys are the bits set in them.
                let key = &keys[0];
                format!(
                    "SELECT coalesce(sum(n), 0) AS keyed, coalesce(sum(bitmap_count(b)), 0) AS distinct_keys FROM (SELECT count(*) AS n, bitmap_construct_agg(bitmap_bit_position(CAST({key} AS BIGINT))) AS b FROM {} WHERE {key} IS NOT NULL GROUP BY bitmap_bucket_number(CAST({key} AS BIGINT))) AS g",
                    quote_ident(DATA_VIEW),
                )
            } else {
                format!(
                    "SELECT coalesce(sum(n), 0) AS keyed, count(*) AS distinct_keys FROM (SELECT count(*) AS n FROM {} WHERE {} GROUP BY {}) AS g",
                    quote_ident(DATA_VIEW),
                    not_null.join(" AND "),
                    keys.join(", ")
                )
            };
            queries.push(SparkQuery { purpose: Purpose::Unique(i), sql });
        }
        if let Some(d) = &check.drift
            && let Some(n) = numeric_of(&d.column)
            && !queries.iter().any(|q| q.purpose == Purpose::Histogram(d.column.clone()))
        {
            queries.push(SparkQuery { purpose: Purpose::Histogram(d.column.clone()), sql: histogram_sql(&n) });
        }
        if let Some(r) = &check.referential_integrity
            && let Some(t) = ty(&r.column)
            && input.refs.contains_key(&i)
        {
            let c = format!("d.{}", quote_ident(&r.column));
            shared.add(Measure::Checked(i), format!("count({})", quote_ident(&r.column)));
            let ref_column = quote_ident(r.ref_column.as_deref().unwrap_or(&r.column));
            let text = text_expr(&c, t).unwrap_or_else(|| "CAST(NULL AS STRING)".to_owned());
            // Orphans grouped by value (a spilling aggregation), the smallest few kept by rank:
            // no set of every orphan value is held.
            queries.push(SparkQuery {
                purpose: Purpose::Orphans(i),
                sql: format!(
                    "SELECT coalesce(sum(n), 0) AS failing, array_sort(collect_list(IF(sparkplane_dq_rank <= {EXAMPLES}, t, NULL))) AS examples FROM (SELECT t, n, row_number() OVER (ORDER BY t) AS sparkplane_dq_rank FROM (SELECT {text} AS t, count(*) AS n FROM {} AS d LEFT ANTI JOIN (SELECT DISTINCT {ref_column} AS k FROM {} WHERE {ref_column} IS NOT NULL) AS r ON {c} = r.k WHERE {c} IS NOT NULL GROUP BY {text}) AS g) AS w",
                    quote_ident(DATA_VIEW),
                    quote_ident(&ref_view(i)),
                ),
            });
        }
    }
}

/// One grouping query counting the non-null values of the numeric
/// expression `n` per bucket of the native engine's histogram: the bucket
/// is the value's sign, binary exponent and top 7 mantissa bits
/// (`sketch::bucket_of`, computed there from the IEEE bits), here from
/// `log2` corrected to the exact power of two, since Spark SQL cannot read a
/// double's bits. Zero and NaN are bucket 0; subnormals and infinities
/// follow the bit layout.
fn histogram_sql(n: &str) -> String {
    let key = "CASE WHEN v = 0 OR isnan(v) THEN 0 \
               WHEN a = double('Infinity') THEN sgn * 262017 \
               WHEN a < pow(2, -1022) THEN sgn * (CAST(floor(a * pow(2, 1000) * pow(2, 29)) AS BIGINT) + 1) \
               ELSE sgn * ((e + 1023) * 128 + CAST(floor((a / pow(2, e) - 1) * 128) AS BIGINT) + 1) END";
    let exponent = "e0 + CASE WHEN pow(2, e0 + 1) <= a THEN 1 WHEN pow(2, e0) > a THEN -1 ELSE 0 END";
    format!(
        "SELECT collect_list(k) AS keys, collect_list(n) AS counts FROM (SELECT k, count(*) AS n FROM \
         (SELECT {key} AS k FROM (SELECT v, a, sgn, {exponent} AS e FROM \
         (SELECT v, abs(v) AS a, CASE WHEN v < 0 THEN -1 ELSE 1 END AS sgn, floor(log2(abs(v))) AS e0 FROM \
         (SELECT {n} AS v FROM {}) AS d WHERE v IS NOT NULL) AS s) AS x) AS b GROUP BY k) AS h",
        quote_ident(DATA_VIEW)
    )
}

/// The view of check `i`'s referenced dataset.
pub fn ref_view(i: usize) -> String {
    format!("sparkplane_dq_ref_{i}")
}

/// Whether an expression gives whole numbers (for `/`, which the native
/// engine computes as integer division when both sides are integers).
fn integral(expr: &Expr, columns: &BTreeMap<String, String>) -> bool {
    match expr {
        Expr::Column(name, _) => columns.get(name).is_some_and(|t| is_integer(t)),
        Expr::Literal(Literal::Int(_)) => true,
        Expr::Negate(e) => integral(e, columns),
        Expr::Arith(_, a, b) => integral(a, columns) && integral(b, columns),
        Expr::Call(Function::Length, _) => true,
        Expr::Call(Function::Coalesce, args) => args.iter().all(|a| integral(a, columns)),
        _ => false,
    }
}

/// A predicate as Spark SQL, from the parsed tree (never the user's text):
/// every column quoted, every literal escaped, each node in parentheses.
pub fn render(expr: &Expr, columns: &BTreeMap<String, String>) -> String {
    let r = |e: &Expr| render(e, columns);
    match expr {
        Expr::Column(name, _) => quote_ident(name),
        Expr::Literal(Literal::Null) => "NULL".to_owned(),
        Expr::Literal(Literal::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Expr::Literal(Literal::Int(i)) => format!("({i})"),
        Expr::Literal(Literal::Float(f)) => double(*f),
        Expr::Literal(Literal::Text(t)) => quote_str(t),
        Expr::Not(e) => format!("(NOT {})", r(e)),
        Expr::Negate(e) => format!("(- {})", r(e)),
        Expr::And(a, b) => format!("({} AND {})", r(a), r(b)),
        Expr::Or(a, b) => format!("({} OR {})", r(a), r(b)),
        Expr::Compare(op, a, b) => {
            let op = match op {
                Compare::Eq => "=",
                Compare::NotEq => "<>",
                Compare::Lt => "<",
                Compare::LtEq => "<=",
                Compare::Gt => ">",
                Compare::GtEq => ">=",
            };
            format!("({} {op} {})", r(a), r(b))
        }
        Expr::Arith(op, a, b) => {
            let op = match op {
                Arith::Add => "+",
                Arith::Sub => "-",
                Arith::Mul => "*",
                Arith::Div if integral(a, columns) && integral(b, columns) => "div",
                Arith::Div => "/",
                Arith::Rem => "%",
            };
            format!("({} {op} {})", r(a), r(b))
        }
        Expr::IsNull(e, true) => format!("({} IS NULL)", r(e)),
        Expr::IsNull(e, false) => format!("({} IS NOT NULL)", r(e)),
        Expr::IsBool(e, target, negated) => {
            let holds =
                if *target { format!("coalesce({}, FALSE)", r(e)) } else { format!("(NOT coalesce({}, TRUE))", r(e)) };
            if *negated { format!("(NOT {holds})") } else { format!("({holds})") }
        }
        Expr::InList(_, list, negated) if list.is_empty() => if *negated { "TRUE" } else { "FALSE" }.to_owned(),
        Expr::InList(e, list, negated) => {
            let items: Vec<String> = list.iter().map(r).collect();
            format!("({} {}IN ({}))", r(e), if *negated { "NOT " } else { "" }, items.join(", "))
        }
        Expr::Like { expr, pattern, negated, case_insensitive } => format!(
            "(CAST({} AS STRING) {}{} CAST({} AS STRING))",
            r(expr),
            if *negated { "NOT " } else { "" },
            if *case_insensitive { "ILIKE" } else { "LIKE" },
            r(pattern)
        ),
        Expr::Call(f, args) => {
            let list: Vec<String> = args.iter().map(r).collect();
            let first = list.first().cloned().unwrap_or_else(|| "NULL".to_owned());
            match f {
                Function::Length => format!("char_length(CAST({first} AS STRING))"),
                Function::Lower => format!("lower(CAST({first} AS STRING))"),
                Function::Upper => format!("upper(CAST({first} AS STRING))"),
                Function::Trim => format!("trim(CAST({first} AS STRING))"),
                Function::Abs => format!("abs(CAST({first} AS DOUBLE))"),
                Function::Coalesce => format!("coalesce({})", list.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::ast::{Expr as Ast, SelectItem, SetExpr, Statement, Value};
    use sqlparser::dialect::DatabricksDialect;
    use sqlparser::parser::Parser;

    const HOSTILE: &[&str] = &[
        "plain",
        "a`b",
        "``",
        "x' OR '1'='1",
        "back\\slash\\",
        "quote\"d",
        "semi; DROP TABLE t; --",
        "*/ /* ",
        "new\nline\ttab\r",
        "ünï cödé 🚀",
        "",
    ];

    /// Reads `SELECT <ident> AS x, <literal> AS y` back with a Spark-dialect parser.
    fn read_back(sql: &str) -> (String, String) {
        let parsed = Parser::parse_sql(&DatabricksDialect {}, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let [Statement::Query(query)] = parsed.as_slice() else { panic!("{sql}: {parsed:?}") };
        let SetExpr::Select(select) = query.body.as_ref() else { panic!("{sql}") };
        let [
            SelectItem::ExprWithAlias { expr: Ast::Identifier(ident), .. },
            SelectItem::ExprWithAlias { expr: Ast::Value(value), .. },
        ] = select.projection.as_slice()
        else {
            panic!("{sql}: {:?}", select.projection)
        };
        let Value::SingleQuotedString(text) = &value.value else { panic!("{sql}: {value:?}") };
        (ident.value.clone(), text.clone())
    }

    #[test]
    fn hostile_names_and_values_stay_one_identifier_and_one_literal() {
        for text in HOSTILE {
            if text.is_empty() {
                continue;
            }
            let sql = format!("SELECT {} AS x, {} AS y", quote_ident(text), quote_str(text));
            assert_eq!(read_back(&sql), ((*text).to_owned(), (*text).to_owned()), "{sql}");
        }
    }

    #[test]
    fn quoting_is_exact() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_str("it's \\ \"x\"\n\u{1}"), "'it\\'s \\\\ \\\"x\\\"\\n\\u0001'");
        assert_eq!(double(0.5), "CAST('0.5' AS DOUBLE)");
        assert_eq!(double(f64::NEG_INFINITY), "CAST('-Infinity' AS DOUBLE)");
        assert_eq!(double(1e300), "CAST('1e300' AS DOUBLE)");
    }

    fn spec(checks: &str) -> DqSpec {
        let text = format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: t}}\ndataset: {{path: d}}\nchecks:\n{checks}"
        );
        crate::load_spec(&sparkplane_documents::Source::new("dq.yaml", text))
            .map(|l| l.spec)
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn columns() -> BTreeMap<String, String> {
        [("id", "long"), ("amount", "double"), ("zone", "string"), ("ts", "timestamp"), ("we`ird", "string")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect()
    }

    fn planned(spec: &DqSpec) -> SparkPlan {
        planned_with(spec, &BTreeMap::new())
    }

    fn planned_with(spec: &DqSpec, ranges: &BTreeMap<String, IntegerRange>) -> SparkPlan {
        planned_as(spec, ranges, true)
    }

    fn planned_as(spec: &DqSpec, ranges: &BTreeMap<String, IntegerRange>, profile: bool) -> SparkPlan {
        let predicates = crate::sql::compile_checks(spec).unwrap_or_else(|e| panic!("{e}"));
        let columns = columns();
        let refs = spec
            .checks
            .iter()
            .enumerate()
            .filter(|(_, c)| c.referential_integrity.is_some())
            .map(|(i, _)| {
                (
                    i,
                    SparkSource {
                        uri: format!("file:/ref{i}"),
                        format: DataFormat::Json,
                        schema: vec![("id".into(), "long".into())],
                    },
                )
            })
            .collect();
        let data = SparkSource { uri: "file:/data/trips".into(), format: DataFormat::Parquet, schema: Vec::new() };
        plan(&PlanInput { spec, columns: &columns, data, refs, predicates: &predicates, ranges, profile })
    }

    #[test]
    fn bitmap_buckets_are_sparks_buckets_and_never_overflow() {
        for (min, max, buckets) in [
            (0, 0, 1),
            (1, 32_768, 1),
            (0, 32_768, 2),
            (1, 32_769, 2),
            (-32_767, 0, 1),
            (-32_768, 0, 2),
            (-32_768, 32_768, 3),
            (0, 12_499_999, 383),
            (i64::MIN, i64::MIN, 1),
            (i64::MAX, i64::MAX, 1),
            (i64::MIN, i64::MAX, (1 << 49) + 1),
        ] {
            assert_eq!(bitmap_buckets(min, max), buckets, "{min}..={max}");
        }
    }

    #[test]
    fn a_dense_integer_key_is_counted_by_bitmaps_and_any_other_by_grouping() {
        let unique_sql = |check: &str, ranges: &[(&str, i64, i64, u64)]| {
            let ranges: BTreeMap<String, IntegerRange> = ranges
                .iter()
                .map(|(c, min, max, rows)| ((*c).to_owned(), IntegerRange { min: *min, max: *max, rows: *rows }))
                .collect();
            let plan = planned_with(&spec(&format!("  - {check}")), &ranges);
            plan.queries.iter().find(|q| matches!(q.purpose, Purpose::Unique(_))).map(|q| q.sql.clone())
        };
        let bitmaps = "SELECT coalesce(sum(n), 0) AS keyed, coalesce(sum(bitmap_count(b)), 0) AS distinct_keys FROM \
                       (SELECT count(*) AS n, bitmap_construct_agg(bitmap_bit_position(CAST(`id` AS BIGINT))) AS b \
                       FROM `sparkplane_dq_data` WHERE `id` IS NOT NULL GROUP BY bitmap_bucket_number(CAST(`id` AS \
                       BIGINT))) AS g";
        let grouping = "SELECT coalesce(sum(n), 0) AS keyed, count(*) AS distinct_keys FROM (SELECT count(*) AS n \
                        FROM `sparkplane_dq_data` WHERE `id` IS NOT NULL GROUP BY `id`) AS g";
        let id = "{name: u, unique: {columns: [id]}}";
        for (label, check, ranges, sql) in [
            // The benchmark's ids: 383 buckets for 12.5M rows.
            ("dense ids", id, vec![("id", 0, 12_499_999, 12_500_000)], Some(bitmaps.to_owned())),
            ("negative dense ids", id, vec![("id", -5_000_000, 5_000_000, 10_000_000)], Some(bitmaps.to_owned())),
            // Small data may use 16 buckets whatever its rows.
            ("small data, 16 buckets", id, vec![("id", 1, 16 * 32_768, 10)], Some(bitmaps.to_owned())),
            ("small data, 17 buckets", id, vec![("id", 1, 16 * 32_768 + 1, 10)], Some(grouping.to_owned())),
            // One bucket per 1,024 rows at most: 1,000,000 rows may span 976.
            ("976 buckets", id, vec![("id", 1, 976 * 32_768, 1_000_000)], Some(bitmaps.to_owned())),
            ("977 buckets", id, vec![("id", 1, 977 * 32_768, 1_000_000)], Some(grouping.to_owned())),
            // Never more than 65,536 buckets (256 MiB of bitmaps), however many rows.
            ("a wide range of many rows", id, vec![("id", 1, 65_537 * 32_768, u64::MAX)], Some(grouping.to_owned())),
            (
                "ids spread over the whole range",
                id,
                vec![("id", i64::MIN, i64::MAX, 1_000_000_000)],
                Some(grouping.to_owned()),
            ),
            ("no footer (CSV, JSON, no statistics)", id, vec![], Some(grouping.to_owned())),
            ("the range of another column", id, vec![("amount", 0, 10, 10)], Some(grouping.to_owned())),
        ] {
            assert_eq!(unique_sql(check, &ranges), sql, "{label}");
        }
        // A text key, or several columns, are grouped even with a range in hand.
        let text = unique_sql("{name: u, unique: {columns: [zone]}}", &[("zone", 0, 1, 10)]).unwrap_or_default();
        assert!(text.ends_with("GROUP BY `zone`) AS g") && !text.contains("bitmap"), "{text}");
        let pair = unique_sql("{name: u, unique: {columns: [id, zone]}}", &[("id", 0, 1, 10)]).unwrap_or_default();
        assert!(pair.ends_with("GROUP BY `id`, `zone`) AS g") && !pair.contains("bitmap"), "{pair}");
    }

    #[test]
    fn scan_shareable_checks_share_one_query_and_each_grouping_or_join_check_gets_its_own() {
        let spec = spec(
            "  - {name: rows, rowCount: {min: 1}}\n  - {name: nn, notNull: {column: id}}\n  - {name: r, range: {column: amount, min: 0}}\n  - {name: a, acceptedValues: {column: zone, values: [n, s]}}\n  - {name: re, regex: {column: zone, pattern: '[a-z]+'}}\n  - {name: f, freshness: {column: ts, maxAge: 1d}}\n  - {name: q, sql: 'amount >= 0'}\n  - {name: u, unique: {columns: [id]}}\n  - {name: u2, unique: {columns: [id, zone]}}\n  - {name: fk, referentialIntegrity: {column: id, dataset: {path: z, format: json}}}\n  - {name: gone, notNull: {column: nope}}\n",
        );
        let plan = planned(&spec);
        let purposes: Vec<&str> = plan
            .queries
            .iter()
            .map(|q| match q.purpose {
                Purpose::Shared(_) => "shared",
                Purpose::Unique(_) => "unique",
                Purpose::Orphans(_) => "orphans",
                Purpose::Histogram(_) => "histogram",
            })
            .collect();
        assert_eq!(purposes, ["shared", "unique", "unique", "orphans"]);
        assert_eq!(plan.planned_scans(), 4);
        let Purpose::Shared(measures) = &plan.queries[0].purpose else { panic!() };
        let s = |c: &str| c.to_owned();
        assert_eq!(
            measures,
            &vec![
                Measure::Rows,
                Measure::Nulls(s("id")),
                Measure::Nulls(s("amount")),
                Measure::Numbers(s("amount")),
                Measure::Min(s("amount")),
                Measure::Max(s("amount")),
                Measure::Mean(s("amount")),
                Measure::Variance(s("amount")),
                Measure::Checked(2),
                Measure::Failing(2),
                Measure::Nulls(s("zone")),
                Measure::Checked(3),
                Measure::Failing(3),
                Measure::Checked(4),
                Measure::Failing(4),
                Measure::Nulls(s("ts")),
                Measure::Numbers(s("ts")),
                Measure::Min(s("ts")),
                Measure::Max(s("ts")),
                Measure::Mean(s("ts")),
                Measure::Variance(s("ts")),
                Measure::Checked(6),
                Measure::Failing(6),
                Measure::Checked(9),
            ],
            "a column missing from the data (`nope`) gets no measure"
        );
        assert_eq!(
            plan.queries[1].sql,
            "SELECT coalesce(sum(n), 0) AS keyed, count(*) AS distinct_keys FROM (SELECT count(*) AS n FROM `sparkplane_dq_data` WHERE `id` IS NOT NULL GROUP BY `id`) AS g"
        );
        assert!(plan.queries[3].sql.contains("LEFT ANTI JOIN (SELECT DISTINCT `id` AS k FROM `sparkplane_dq_ref_9` WHERE `id` IS NOT NULL) AS r ON d.`id` = r.k WHERE d.`id` IS NOT NULL"), "{}", plan.queries[3].sql);
        assert_eq!(
            plan.setup,
            [
                "SET spark.sql.session.timeZone=UTC",
                "SET spark.sql.ansi.enabled=false",
                "CREATE OR REPLACE TEMPORARY VIEW `sparkplane_dq_data` USING parquet OPTIONS (path 'file:/data/trips', mergeSchema 'true', pathGlobFilter '*.parquet')",
                "CREATE OR REPLACE TEMPORARY VIEW `sparkplane_dq_ref_9` (`id` long) USING json OPTIONS (path 'file:/ref9', mode 'FAILFAST', pathGlobFilter '*.{json,jsonl,ndjson}')",
            ]
        );
        let statements = plan.statements();
        assert_eq!(statements.len(), 5);
        assert!(
            statements[4].starts_with(
                "SELECT 0 AS q, to_json(struct(*)) AS r FROM (SELECT sparkplane_dq_check AS ex_check, sparkplane_dq_value AS ex_value, IF(sparkplane_dq_check IS NULL, m0, NULL) AS m0, "
            ),
            "{}",
            statements[4]
        );
        // No query holds a whole set of values: examples are ranked within groups.
        for query in &plan.queries {
            assert!(!query.sql.contains("collect_set"), "{}", query.sql);
        }
        assert!(plan.queries[0].sql.ends_with("WHERE sparkplane_dq_check IS NULL OR sparkplane_dq_rank <= 5"));
        assert!(plan.queries[3].sql.contains("array_sort(collect_list(IF(sparkplane_dq_rank <= 5, t, NULL)))"));
        assert_eq!(statements[4].matches("UNION ALL").count(), 3);
    }

    #[test]
    fn means_and_variances_are_measured_only_for_a_profile() {
        let spec = spec(
            "  - {name: r, range: {column: amount, max: 10}}\n  - {name: f, freshness: {column: ts, maxAge: 1h}}\n",
        );
        let measures = |profile: bool| match planned_as(&spec, &BTreeMap::new(), profile).queries[0].purpose.clone() {
            Purpose::Shared(m) => m,
            other => panic!("{other:?}"),
        };
        let moment = |m: &Measure| matches!(m, Measure::Mean(_) | Measure::Variance(_));
        let (with, without) = (measures(true), measures(false));
        assert_eq!(with.iter().filter(|m| moment(m)).count(), 4, "{with:?}");
        let rest: Vec<&Measure> = with.iter().filter(|m| !moment(m)).collect();
        assert_eq!(without.iter().collect::<Vec<_>>(), rest, "the same measures less the moments");
    }

    #[test]
    fn row_level_checks_compile_to_the_native_meaning() {
        let spec = spec(
            "  - {name: a, acceptedValues: {column: \"we`ird\", values: [\"it's\"]}}\n  - {name: re, regex: {column: zone, pattern: '\\d+'}}\n  - {name: r, range: {column: amount, max: 10}}\n",
        );
        let sql = &planned(&spec).queries[0].sql;
        for part in [
            "coalesce(`we``ird` NOT IN ('it\\'s'), FALSE) AS sparkplane_dq_fails_0",
            "count_if(sparkplane_dq_fails_0) AS m3",
            "coalesce(NOT (`zone` RLIKE '(?U)\\\\A(?:\\\\d+)\\\\z'), FALSE) AS sparkplane_dq_fails_1",
            "count_if(sparkplane_dq_fails_1) AS m6",
            "coalesce(NOT (CAST(`amount` AS DOUBLE) >= CAST('-Infinity' AS DOUBLE) AND CAST(`amount` AS DOUBLE) <= CAST('10.0' AS DOUBLE)), FALSE) AS sparkplane_dq_fails_2",
            "named_struct('i', 0, 'v', CASE WHEN sparkplane_dq_fails_0 THEN CAST(`we``ird` AS STRING) END)",
            "LATERAL VIEW inline_outer(CASE WHEN sparkplane_dq_fails_0 OR sparkplane_dq_fails_1 OR sparkplane_dq_fails_2 THEN ",
            "WHERE sparkplane_dq_check IS NULL OR sparkplane_dq_value IS NOT NULL GROUP BY sparkplane_dq_check, sparkplane_dq_value",
        ] {
            assert!(sql.contains(part), "{part}\n in {sql}");
        }
        // Nothing Spark cannot code-generate (a lambda) in the scan's stage.
        assert!(!sql.contains("->"), "{sql}");
    }

    #[test]
    fn predicates_render_from_the_parsed_tree() {
        let columns = columns();
        let cases = [
            ("amount >= 0 AND zone <> 'x'", "((`amount` >= (0)) AND (`zone` <> 'x'))"),
            ("id / 2 > 1", "((`id` div (2)) > (1))"),
            ("amount / 2 > 1", "((`amount` / (2)) > (1))"),
            ("zone NOT IN ('a', 'b''c')", "(`zone` NOT IN ('a', 'b\\'c'))"),
            ("(amount > 0) IS NOT TRUE", "(NOT coalesce((`amount` > (0)), FALSE))"),
            ("zone ILIKE 'a%'", "(CAST(`zone` AS STRING) ILIKE CAST('a%' AS STRING))"),
            (
                "length(zone) = 2 OR abs(amount) < 1.5",
                "((char_length(CAST(`zone` AS STRING)) = (2)) OR (abs(CAST(`amount` AS DOUBLE)) < CAST('1.5' AS DOUBLE)))",
            ),
            ("\"we`ird\" IS NULL", "(`we``ird` IS NULL)"),
            ("-amount < 0", "((- `amount`) < (0))"),
        ];
        for (sql, expected) in cases {
            let p = crate::sql::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            assert_eq!(render(&p.expr, &columns), expected, "{sql}");
        }
    }

    #[test]
    fn failing_rows_quarantine_writes_the_rows_of_row_level_error_checks() {
        let mut spec = spec(
            "  - {name: nn, notNull: {column: id}}\n  - {name: some, notNull: {column: zone, maxFraction: 0.1}}\n  - {name: gone, notNull: {column: nope}}\n  - {name: r, range: {column: amount, max: 10}, severity: warn}\n  - {name: q, sql: 'amount > 0'}\n  - {name: u, unique: {columns: [id]}}\n",
        );
        assert_eq!(planned(&spec).failing_rows, None, "no failing-rows quarantine, no condition");
        spec.quarantine = Some(sparkplane_api::dq::Quarantine {
            mode: sparkplane_api::dq::QuarantineMode::FailingRows,
            location: "q".into(),
        });
        let plan = planned(&spec);
        assert_eq!(
            plan.failing_rows.as_deref(),
            Some("`id` IS NULL OR TRUE OR (NOT coalesce((`amount` > (0)), TRUE))")
        );
        let Purpose::Shared(measures) = &plan.queries[0].purpose else { panic!() };
        assert_eq!(measures.last(), Some(&Measure::QuarantineRows));
        let statements = plan.quarantine_statements("file:/q/t/all").unwrap_or_default();
        assert_eq!(statements.len(), 4);
        assert_eq!(
            statements[3],
            "INSERT OVERWRITE DIRECTORY 'file:/q/t/all' USING parquet SELECT * FROM `sparkplane_dq_data` WHERE `id` IS NULL OR TRUE OR (NOT coalesce((`amount` > (0)), TRUE))"
        );
    }

    #[test]
    fn checks_spark_cannot_decide_the_same_way_are_named() {
        let spec = spec(
            "  - {name: d, drift: {column: amount}}\n  - {name: p, regex: {column: zone, pattern: '[[:alpha:]]+'}}\n  - {name: ok, regex: {column: zone, pattern: '\\w+'}}\n",
        );
        let found: Vec<String> = inexpressible(&spec).into_iter().map(|(at, _)| at).collect();
        assert_eq!(found, ["checks[1].regex.pattern"], "drift runs on Spark as a grouping query");
    }

    #[test]
    fn drift_is_one_histogram_query_per_column_with_the_columns_numeric_measures_shared() {
        let spec = spec(
            "  - {name: d, drift: {column: amount}}\n  - {name: d2, drift: {column: amount, maxPsi: 0.5}}\n  - {name: gone, drift: {column: nope}}\n",
        );
        let plan = planned(&spec);
        let histograms: Vec<&Purpose> =
            plan.queries.iter().map(|q| &q.purpose).filter(|p| matches!(p, Purpose::Histogram(_))).collect();
        assert_eq!(histograms, [&Purpose::Histogram("amount".to_owned())], "one per column; none for a missing one");
        let Purpose::Shared(measures) = &plan.queries[0].purpose else { panic!() };
        assert!(measures.contains(&Measure::Numbers("amount".to_owned())), "{measures:?}");
        assert!(plan.queries[1].sql.contains("(SELECT CAST(`amount` AS DOUBLE) AS v FROM `sparkplane_dq_data`)"));
    }

    /// `histogram_sql`'s bucket arithmetic, done as Spark does it (Java's
    /// `log2` is `ln(x) / ln(2)`, inexact at some powers of two), equals the
    /// native bucket taken from the bits.
    #[test]
    fn the_histogram_bucket_arithmetic_equals_the_native_bucket() {
        let spark_bucket = |v: f64| -> i64 {
            if v == 0.0 || v.is_nan() {
                return 0;
            }
            let (a, sgn) = (v.abs(), if v < 0.0 { -1 } else { 1 });
            if a == f64::INFINITY {
                return sgn * 262_017;
            }
            if a < 2f64.powi(-1022) {
                return sgn * ((a * 2f64.powi(1000) * 2f64.powi(29)).floor() as i64 + 1);
            }
            let e0 = (a.ln() / 2f64.ln()).floor() as i64;
            let e = e0
                + if 2f64.powf((e0 + 1) as f64) <= a {
                    1
                } else if 2f64.powf(e0 as f64) > a {
                    -1
                } else {
                    0
                };
            sgn * ((e + 1023) * 128 + ((a / 2f64.powf(e as f64) - 1.0) * 128.0).floor() as i64 + 1)
        };
        let mut values =
            vec![0.0, -0.0, 1.0, -1.0, 0.25, 3.0, 1000.0, 1e-300, 5e-324, 2.2e-308, f64::MAX, f64::MIN_POSITIVE];
        values.extend([f64::INFINITY, f64::NEG_INFINITY, 1_795_000_000.0, -2.5, 150.25, 1.0 + 1.0 / 128.0]);
        values.extend((-1074..1024).map(|e| 2f64.powi(e)));
        values.extend((-1074..1023).map(|e| 2f64.powi(e) * (1.0 + 127.0 / 128.0)));
        values.extend((1..5000).map(|i| i as f64 * 0.37 - 900.0));
        for v in values {
            assert_eq!(spark_bucket(v), crate::sketch::bucket_of(v), "{v:e}");
        }
    }
}
