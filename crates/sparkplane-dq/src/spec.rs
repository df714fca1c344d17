//! Loading a `kind: DataQuality` document: the same YAML loader and strict
//! schema checker as SparkJobs (spans, "did you mean"), then the meaning
//! checks a schema cannot express (exactly one check field, unique check
//! names, valid regular expressions, fractions within 0..1).
//!
//! Sans-IO: the caller reads the file into a `Source`.

use std::collections::BTreeSet;

use sparkplane_api::dq::{Check, DqSpec, SqlCheck};
use sparkplane_documents::document::{expect_kind, read_checked};
use sparkplane_documents::schema::{self, Completeness, DocKind};
use sparkplane_documents::source::LineCol;
use sparkplane_documents::yaml::{FieldPath, Node, parse_single};
use sparkplane_documents::{Diagnostic, Diagnostics, Source, Span};

/// The `kind:` of a data-quality document.
pub const KIND: &str = "DataQuality";

/// The check fields, in the order results list them.
pub const CHECK_FIELDS: &[&str] = &[
    "rowCount",
    "rowCountChange",
    "schema",
    "notNull",
    "unique",
    "acceptedValues",
    "range",
    "regex",
    "freshness",
    "referentialIntegrity",
    "drift",
    "sql",
];

/// A spec that passed every check, with the warnings found on the way.
#[derive(Clone, Debug)]
pub struct LoadedSpec {
    /// The typed spec.
    pub spec: DqSpec,
    /// The parsed tree, for spans.
    pub doc: Node,
    /// Problems that do not stop the checks.
    pub warnings: Diagnostics,
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

/// Loads and checks a data-quality spec; every problem carries a span.
pub fn load_spec(source: &Source) -> Result<LoadedSpec, Diagnostics> {
    let doc = parse_single(source)?;
    expect_kind(
        &doc,
        KIND,
        "a data-quality spec starts with `apiVersion: sparkplane.dev/v1alpha1` and `kind: DataQuality`",
    )?;
    let problems = schema::schema(DocKind::DataQuality).check(&doc, Completeness::Complete);
    if problems.has_errors() {
        return Err(problems);
    }
    let spec: DqSpec = read_checked(&doc, "DataQuality spec", "see examples/trips-etl/trips-dq.yaml for every field")?;
    let mut problems = Diagnostics::new();
    check_meaning(&doc, &spec, &mut problems);
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    Ok(LoadedSpec { spec, doc, warnings: problems })
}

/// The datasets of `loaded` named relative to the spec's folder (its
/// `dataset.path` and each `referentialIntegrity.dataset.path`), as errors:
/// a spec checked away from its folder — by the operator's check Job in the
/// cluster, where the spec is a mounted file and the job's files are not —
/// cannot read them. `where_` says where the spec is checked, for the
/// message. Absolute paths and object-store URLs pass.
pub fn relative_datasets(loaded: &LoadedSpec, where_: &str) -> Diagnostics {
    let mut named: Vec<(String, &str)> = vec![("dataset.path".to_owned(), loaded.spec.dataset.path.as_str())];
    for (i, check) in loaded.spec.checks.iter().enumerate() {
        if let Some(r) = &check.referential_integrity {
            named.push((format!("checks[{i}].referentialIntegrity.dataset.path"), r.dataset.path.as_str()));
        }
    }
    let mut out = Diagnostics::new();
    for (at, text) in named {
        let relative = matches!(
            sparkplane_storage::Location::parse(text),
            Ok(sparkplane_storage::Location::Local(p)) if !p.is_absolute()
        );
        if relative {
            out.push(
                Diagnostic::error(
                    "relative-dataset",
                    at.as_str(),
                    format!("`{text}` is relative to the spec's folder, which {where_} does not have"),
                )
                .with_span(Some(loaded.doc.span_for(&path(&at))))
                .with_help(
                    "name the dataset as the job writes it there (an object-store URL such as \
                     s3a://bucket/table/), in a data-quality spec of that environment's overlay",
                ),
            );
        }
    }
    out
}

/// Which check fields an entry sets.
pub fn check_fields(check: &Check) -> Vec<&'static str> {
    let set = [
        check.row_count.is_some(),
        check.row_count_change.is_some(),
        check.schema.is_some(),
        check.not_null.is_some(),
        check.unique.is_some(),
        check.accepted_values.is_some(),
        check.range.is_some(),
        check.regex.is_some(),
        check.freshness.is_some(),
        check.referential_integrity.is_some(),
        check.drift.is_some(),
        check.sql.is_some(),
    ];
    CHECK_FIELDS.iter().zip(set).filter(|(_, on)| *on).map(|(name, _)| *name).collect()
}

/// Where in the spec file a place inside a SQL predicate is: the predicate's
/// own line and column when the YAML value is on one line (quoted or
/// plain), else the value's start.
pub fn sql_span(doc: &Node, field: &str, at: Option<(usize, usize)>) -> Span {
    let span = doc.span_for(&path(field));
    let Some((line, column)) = at else { return span };
    let raw = span.source.text.get(span.start..span.end).unwrap_or_default();
    if line != 1 || raw.contains('\n') {
        return span;
    }
    let quote = usize::from(raw.starts_with('"') || raw.starts_with('\''));
    let shift = quote + column.saturating_sub(1);
    let offset: usize = raw.chars().take(shift).map(char::len_utf8).sum();
    Span {
        start: span.start + offset,
        end: span.end.max(span.start + offset),
        at: LineCol { line: span.at.line, column: span.at.column + shift },
        source: span.source.clone(),
    }
}

/// A diagnostic for a check that does not fit the dataset ([`crate::DqError::Spec`]), pointing into the spec.
pub fn spec_diagnostic(doc: &Node, field: &str, at: Option<(usize, usize)>, message: &str, help: &str) -> Diagnostic {
    let at_field = match doc.get(&path(&format!("{field}.predicate"))) {
        Some(_) => format!("{field}.predicate"),
        None => field.to_owned(),
    };
    Diagnostic::error("bad-sql", at_field.clone(), message.to_owned())
        .with_span(Some(sql_span(doc, &at_field, at)))
        .with_help(help.to_owned())
}

fn check_meaning(doc: &Node, spec: &DqSpec, out: &mut Diagnostics) {
    let mut error = |at: &str, code: &'static str, message: String, help: String| {
        out.push(Diagnostic::error(code, at, message).with_span(Some(doc.span_for(&path(at)))).with_help(help));
    };
    if !sparkplane_core::names::is_dns1123_label(&spec.metadata.name) {
        error(
            "metadata.name",
            "bad-name",
            format!("`{}` is not a valid name", spec.metadata.name),
            "use lower-case letters, digits and '-', starting with a letter (it names the profile folder)".into(),
        );
    }
    if spec.dataset.path.trim().is_empty() {
        error("dataset.path", "bad-value", "the dataset path is empty".into(), "give a folder or file".into());
    }
    if spec.checks.is_empty() {
        error("checks", "no-checks", "the spec has no checks".into(), "add at least one entry under `checks:`".into());
    }
    let mut names = BTreeSet::new();
    let mut sql_problems = Vec::new();
    for (i, check) in spec.checks.iter().enumerate() {
        let at = format!("checks[{i}]");
        if !names.insert(check.name.as_str()) {
            error(
                &format!("{at}.name"),
                "duplicate-check",
                format!("two checks are named `{}`", check.name),
                "give each check its own name; results and metrics are keyed by it".into(),
            );
        }
        check_one_field(&at, check, &mut error);
        check_bounds(&at, check, &mut error);
        check_patterns(&at, check, &mut error);
        if let Some(sql) = &check.sql {
            sql_problems.extend(check_sql(doc, &at, sql, &mut error));
        }
    }
    for problem in sql_problems {
        out.push(problem);
    }
    if let Some(engine) = spec.engine
        && engine != sparkplane_api::dq::DqEngine::Native
    {
        let name = if engine == sparkplane_api::dq::DqEngine::Spark { "spark" } else { "auto" };
        for (at, why) in crate::spark_plan::inexpressible(spec) {
            out.push(engine_refusal(doc, &at, name, &why));
        }
    }
}

/// A check sets exactly one of the check fields.
fn check_one_field(at: &str, check: &Check, error: &mut impl FnMut(&str, &'static str, String, String)) {
    let fields = check_fields(check);
    match fields.len() {
        1 => {}
        0 => error(
            at,
            "no-check-field",
            format!("check `{}` says nothing to check", check.name),
            format!("add exactly one of: {}", CHECK_FIELDS.join(", ")),
        ),
        _ => error(
            &format!("{at}.{}", fields[1]),
            "many-check-fields",
            format!("check `{}` sets {}; a check has exactly one", check.name, fields.join(" and ")),
            "split it into one check per field".into(),
        ),
    }
}

/// The numbers a check is held to: fractions between 0 and 1, `min` not
/// above `max`, a positive PSI, a change that is not negative.
fn check_bounds(at: &str, check: &Check, error: &mut impl FnMut(&str, &'static str, String, String)) {
    if let Some(not_null) = &check.not_null
        && let Some(fraction) = not_null.max_fraction
        && !(0.0..=1.0).contains(&fraction)
    {
        error(
            &format!("{at}.notNull.maxFraction"),
            "bad-value",
            format!("{fraction} is not a fraction between 0 and 1"),
            "write e.g. 0.01 for at most 1% nulls".into(),
        );
    }
    if let Some(range) = &check.range {
        if range.min.is_none() && range.max.is_none() {
            error(
                &format!("{at}.range"),
                "bad-value",
                "a range needs `min`, `max` or both".into(),
                "add e.g. `min: 0`".into(),
            );
        }
        if let (Some(min), Some(max)) = (range.min, range.max)
            && min > max
        {
            error(&format!("{at}.range.max"), "bad-value", format!("max {max} is below min {min}"), "swap them".into());
        }
    }
    if let Some(rows) = &check.row_count
        && let (Some(min), Some(max)) = (rows.min, rows.max)
        && min > max
    {
        error(&format!("{at}.rowCount.max"), "bad-value", format!("max {max} is below min {min}"), "swap them".into());
    }
    if let Some(drift) = &check.drift
        && drift.max_psi.is_some_and(|p| p <= 0.0)
    {
        error(
            &format!("{at}.drift.maxPsi"),
            "bad-value",
            "maxPsi must be above 0".into(),
            "0.2 is a common threshold".into(),
        );
    }
    if let Some(change) = &check.row_count_change
        && change.max_percent < 0.0
    {
        error(
            &format!("{at}.rowCountChange.maxPercent"),
            "bad-value",
            "maxPercent must not be negative".into(),
            "write e.g. 30 for ±30%".into(),
        );
    }
}

/// A regular expression that compiles and key columns that are given.
fn check_patterns(at: &str, check: &Check, error: &mut impl FnMut(&str, &'static str, String, String)) {
    if let Some(regex) = &check.regex
        && let Err(e) = regex::Regex::new(&regex.pattern)
    {
        let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
        error(
            &format!("{at}.regex.pattern"),
            "bad-regex",
            format!("`{}` is not a valid regular expression: {first}", regex.pattern),
            "use Rust regex syntax (https://docs.rs/regex); quote the pattern in single quotes in YAML".into(),
        );
    }
    if let Some(unique) = &check.unique
        && unique.columns.is_empty()
    {
        error(
            &format!("{at}.unique.columns"),
            "bad-value",
            "no columns given".into(),
            "list the key columns, e.g. `columns: [trip_id]`".into(),
        );
    }
}

/// A `sql` check: its predicate parses (a problem pointing into the SQL
/// text, returned) and its failing fraction is between 0 and 1.
fn check_sql(
    doc: &Node,
    at: &str,
    sql: &SqlCheck,
    error: &mut impl FnMut(&str, &'static str, String, String),
) -> Option<Diagnostic> {
    let field = match sql {
        sparkplane_api::dq::SqlCheck::Predicate(_) => format!("{at}.sql"),
        sparkplane_api::dq::SqlCheck::Detailed(_) => format!("{at}.sql.predicate"),
    };
    if let Some(fraction) = sql.max_failing_fraction()
        && !(0.0..=1.0).contains(&fraction)
    {
        error(
            &format!("{at}.sql.maxFailingFraction"),
            "bad-value",
            format!("{fraction} is not a fraction between 0 and 1"),
            "write e.g. 0.01 for at most 1% failing rows".into(),
        );
    }
    crate::sql::parse(sql.predicate()).err().map(|e| {
        Diagnostic::error("bad-sql", field.clone(), format!("`{}`: {}", sql.predicate(), e.message))
            .with_span(Some(sql_span(doc, &field, e.at)))
            .with_help(e.help)
    })
}

/// A check the spark engine cannot run, at its field, naming the engine that can.
pub fn engine_refusal(doc: &Node, at: &str, engine: &str, why: &str) -> Diagnostic {
    Diagnostic::error("engine-cannot-check", at, format!("`engine: {engine}` cannot run this: {why}"))
        .with_span(Some(doc.span_for(&path(at))))
        .with_help("run this spec with `engine: native` (or move the check to a spec of its own with `engine: native`)")
}

/// A location in object storage the local Spark of `line` cannot reach
/// (it has no S3 connector), at its field, naming what can.
pub fn location_refusal(doc: &Node, at: &str, url: &str, line: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        "engine-cannot-read",
        at,
        format!("`engine: spark` on the local Spark {line} cannot read {url}: {why}"),
    )
    .with_span(Some(doc.span_for(&path(at))))
    .with_help(
        "run it on the local Spark 3.5 (`--spark 3.5`; its S3A jars come from scripts/common.sh `need_s3a`), \
             with `--engine native` (it reads object storage itself), or pass `--connect sc://…` to a Spark Connect \
             server that reads s3a:// paths",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedSpec, Diagnostics> {
        load_spec(&Source::new("dq.yaml", text))
    }

    const HEAD: &str =
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {name: t}\ndataset: {path: d}\n";

    #[test]
    fn a_good_spec_loads() {
        let spec = load(&format!("{HEAD}checks:\n  - name: rows\n    rowCount: {{min: 1}}\n")).map(|s| s.spec);
        assert_eq!(spec.as_ref().map(|s| s.checks.len()).ok(), Some(1), "{:?}", spec.err());
    }

    #[test]
    fn a_misspelt_check_field_gets_did_you_mean_with_its_location() {
        let err = load(&format!("{HEAD}checks:\n  - name: rows\n    rowCont: {{min: 1}}\n"));
        let diags = err.err().map(|d| d.0).unwrap_or_default();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].message, "unknown field `rowCont`");
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `rowCount`?"));
        assert_eq!(diags[0].location().as_deref(), Some("dq.yaml:7:5"));
    }

    #[test]
    fn two_check_fields_in_one_entry_are_refused() {
        let err = load(&format!("{HEAD}checks:\n  - name: x\n    rowCount: {{min: 1}}\n    notNull: {{column: a}}\n"));
        let diags = err.err().map(|d| d.0).unwrap_or_default();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "check `x` sets rowCount and notNull; a check has exactly one");
        assert_eq!(diags[0].location().as_deref(), Some("dq.yaml:8:14"));
    }

    #[test]
    fn bad_regex_and_duplicate_names_are_all_reported() {
        let err = load(&format!(
            "{HEAD}checks:\n  - name: x\n    regex: {{column: a, pattern: '(['}}\n  - name: x\n    rowCount: {{min: 1}}\n"
        ));
        let diags = err.err().map(|d| d.0).unwrap_or_default();
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["bad-regex", "duplicate-check"]);
    }

    #[test]
    fn unsupported_sql_is_refused_at_its_place_inside_the_predicate() {
        let err = load(&format!("{HEAD}checks:\n  - name: s\n    sql: \"amount > foo(1)\"\n"));
        let diags = err.err().map(|d| d.0).unwrap_or_default();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].code, "bad-sql");
        assert_eq!(diags[0].path, "checks[0].sql");
        assert_eq!(diags[0].message, "`amount > foo(1)`: the function `foo` is not supported in a check predicate");
        assert_eq!(diags[0].location().as_deref(), Some("dq.yaml:7:20"));
        assert!(diags[0].help.as_deref().is_some_and(|h| h.contains("length/lower/upper/trim/abs/coalesce")));
        // The long form, with a plain (unquoted) scalar.
        let err =
            load(&format!("{HEAD}checks:\n  - name: s\n    sql: {{predicate: t.a > 1, maxFailingFraction: 2}}\n"));
        let diags = err.err().map(|d| d.0).unwrap_or_default();
        let found: Vec<(&str, Option<String>)> = diags.iter().map(|d| (d.code, d.location())).collect();
        assert_eq!(
            found,
            vec![("bad-sql", Some("dq.yaml:7:22".to_owned())), ("bad-value", Some("dq.yaml:7:51".to_owned()))]
        );
    }

    #[test]
    fn a_sql_check_with_thresholds_loads() {
        let spec = load(&format!(
            "{HEAD}checks:\n  - name: s\n    sql: {{predicate: \"a >= 0\", maxFailingRows: 3}}\n  - name: t\n    sql: b IS NULL\n"
        ))
        .map(|s| s.spec);
        let checks = spec.map(|s| s.checks).unwrap_or_default();
        let sql: Vec<(&str, Option<u64>)> =
            checks.iter().filter_map(|c| c.sql.as_ref()).map(|s| (s.predicate(), s.max_failing_rows())).collect();
        assert_eq!(sql, vec![("a >= 0", Some(3)), ("b IS NULL", None)]);
    }

    #[test]
    fn wrong_kind_is_named() {
        let err = load("apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\n");
        let diags = err.err().map(|d| d.0).unwrap_or_default();
        assert_eq!(diags[0].message, "expected `kind: DataQuality`, found `SparkJob`");
    }
}
