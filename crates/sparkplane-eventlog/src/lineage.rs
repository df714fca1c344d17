//! Datasets a Spark SQL plan reads and writes, from the plan's text.
//!
//! Owns: reading `explain`'s formatted physical plan (the
//! `physicalPlanDescription` of `SparkListenerSQLExecutionStart`) into
//! [`Dataset`]s — file scans (`Scan csv`, `Scan parquet …` with
//! `Location: InMemoryFileIndex [paths]` and `ReadSchema: struct<…>`) as
//! inputs, write commands (`InsertIntoHadoopFsRelationCommand <path>`,
//! `CreateDataSourceTableAsSelectCommand <table>`, …) as outputs — and naming
//! a dataset the way OpenLineage names datasets (namespace from the URI's
//! scheme and authority, name from its path; tables in `spark_catalog`).
//! JDBC reads (`Scan JDBCRelation(<dbtable>)`) and writes
//! (`SaveIntoDataSourceCommand` of `JdbcRelationProvider`, its `dbtable`
//! option) become [`JdbcTable`]s, named once their database is known
//! ([`jdbc`]): Spark redacts the `url` option in the log by default
//! (`spark.sql.redaction.options.regex`), so the caller usually supplies it.
//! Plan nodes that read or write data but are not recognised (DataSource V2
//! scans and writes, other providers' commands, JDBC queries) are collected
//! by name so the caller can warn about them.
//! [`Lineage`] merges the datasets of an application's executions.
//!
//! Must not: do I/O, know the event-log JSON or OpenLineage's event shape
//! (that is `sparkplane-emit`'s `openlineage`). Nodes it does not recognise are skipped, never an error.

pub mod jdbc;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use self::jdbc::JdbcDatabase;

/// One column of a dataset's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The column name.
    pub name: String,
    /// Spark's type name (`string`, `double`, `struct<…>`); `None` when the plan names only the column.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
}

/// A dataset, named as OpenLineage names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dataset {
    /// `file`, `s3://bucket`, `hdfs://host:port`, … or `spark_catalog` for a table.
    pub namespace: String,
    /// The path (an object key for object stores) or `database.table`.
    pub name: String,
    /// The file format the plan names (`csv`, `parquet`, …), lower case.
    pub format: Option<String>,
    /// The schema, when the plan records one; empty otherwise.
    pub fields: Vec<Field>,
}

/// A table read or written over JDBC, as the plan names it (`dbtable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcTable {
    /// The `dbtable` as Spark printed it (`sales.orders`).
    pub table: String,
    /// Its database, when the plan shows the URL (Spark redacts it by default).
    pub database: Option<JdbcDatabase>,
    /// The schema read, when the plan records one; empty otherwise.
    pub fields: Vec<Field>,
}

/// What one plan reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanDatasets {
    /// Datasets scanned.
    pub inputs: Vec<Dataset>,
    /// Datasets written.
    pub outputs: Vec<Dataset>,
    /// Tables read over JDBC.
    pub jdbc_inputs: Vec<JdbcTable>,
    /// Tables written over JDBC.
    pub jdbc_outputs: Vec<JdbcTable>,
    /// Nodes that read or write data but are not recognised, by name (`BatchScan local.db.t`).
    pub unrecognised: Vec<String>,
}

/// The datasets of an application once JDBC tables are named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedDatasets {
    /// Inputs, sorted by namespace and name.
    pub inputs: Vec<Dataset>,
    /// Outputs, sorted by namespace and name.
    pub outputs: Vec<Dataset>,
    /// JDBC tables read whose database is unknown (left out of `inputs`).
    pub unnamed_jdbc_inputs: Vec<String>,
    /// JDBC tables written whose database is unknown (left out of `outputs`).
    pub unnamed_jdbc_outputs: Vec<String>,
}

/// At most this many unrecognised node names are kept per application.
const MAX_UNRECOGNISED: usize = 50;

/// The datasets of a whole application: every SQL execution's, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// SQL executions seen (`SparkListenerSQLExecutionStart` events).
    pub sql_executions: u64,
    inputs: BTreeMap<(String, String), Dataset>,
    outputs: BTreeMap<(String, String), Dataset>,
    jdbc_inputs: BTreeMap<(Option<JdbcDatabase>, String), JdbcTable>,
    jdbc_outputs: BTreeMap<(Option<JdbcDatabase>, String), JdbcTable>,
    unrecognised: BTreeSet<String>,
}

/// Keeps the first schema seen unless it was empty or had no types and `new` has them.
fn better_fields(known: &mut Vec<Field>, new: Vec<Field>) {
    let typed = |fields: &[Field]| fields.iter().any(|f| f.data_type.is_some());
    if known.is_empty() || (!typed(known) && typed(&new)) {
        *known = new;
    }
}

impl Lineage {
    /// Adds one execution's datasets; a dataset seen before keeps its first schema
    /// unless that one was empty (or untyped and the new one is typed).
    pub fn add(&mut self, plan: PlanDatasets) {
        self.sql_executions += 1;
        for (into, datasets) in [(&mut self.inputs, plan.inputs), (&mut self.outputs, plan.outputs)] {
            for dataset in datasets {
                let key = (dataset.namespace.clone(), dataset.name.clone());
                match into.get_mut(&key) {
                    Some(known) => {
                        better_fields(&mut known.fields, dataset.fields);
                        if known.format.is_none() {
                            known.format = dataset.format;
                        }
                    }
                    None => {
                        into.insert(key, dataset);
                    }
                }
            }
        }
        for (into, tables) in [(&mut self.jdbc_inputs, plan.jdbc_inputs), (&mut self.jdbc_outputs, plan.jdbc_outputs)] {
            for table in tables {
                match into.get_mut(&(table.database.clone(), table.table.clone())) {
                    Some(known) => better_fields(&mut known.fields, table.fields),
                    None => {
                        into.insert((table.database.clone(), table.table.clone()), table);
                    }
                }
            }
        }
        for name in plan.unrecognised {
            if self.unrecognised.len() < MAX_UNRECOGNISED {
                self.unrecognised.insert(name);
            }
        }
    }

    /// Inputs, sorted by namespace and name. A file inside a directory the application
    /// also reads (Spark's schema inference samples one file of a CSV or JSON directory
    /// before the real scan) is the same data and left out.
    pub fn inputs(&self) -> Vec<&Dataset> {
        let all: Vec<&Dataset> = self.inputs.values().collect();
        all.iter()
            .filter(|d| {
                !all.iter().any(|dir| {
                    dir.namespace == d.namespace
                        && d.name.len() > dir.name.len()
                        && d.name.starts_with(&dir.name)
                        && (dir.name.ends_with('/') || d.name[dir.name.len()..].starts_with('/'))
                })
            })
            .copied()
            .collect()
    }

    /// Outputs, sorted by namespace and name.
    pub fn outputs(&self) -> Vec<&Dataset> {
        self.outputs.values().collect()
    }

    /// Plan nodes that read or write data but were not recognised, sorted (at most 50).
    pub fn unrecognised(&self) -> Vec<&str> {
        self.unrecognised.iter().map(String::as_str).collect()
    }

    /// Every dataset, JDBC tables named in the database their plan showed,
    /// else in `jdbc` (the one the caller says the application used); tables
    /// with neither are listed as unnamed instead.
    pub fn named(&self, jdbc: Option<&JdbcDatabase>) -> NamedDatasets {
        let mut named = NamedDatasets::default();
        let resolve = |tables: &BTreeMap<(Option<JdbcDatabase>, String), JdbcTable>,
                       files: Vec<&Dataset>,
                       unnamed: &mut Vec<String>| {
            let mut all: BTreeMap<(String, String), Dataset> =
                files.into_iter().map(|d| ((d.namespace.clone(), d.name.clone()), d.clone())).collect();
            for table in tables.values() {
                let Some(database) = table.database.as_ref().or(jdbc) else {
                    unnamed.push(table.table.clone());
                    continue;
                };
                let dataset = Dataset {
                    namespace: database.namespace(),
                    name: database.dataset_name(&table.table),
                    format: Some("jdbc".into()),
                    fields: table.fields.clone(),
                };
                match all.get_mut(&(dataset.namespace.clone(), dataset.name.clone())) {
                    Some(known) => better_fields(&mut known.fields, dataset.fields),
                    None => {
                        all.insert((dataset.namespace.clone(), dataset.name.clone()), dataset);
                    }
                }
            }
            unnamed.sort();
            unnamed.dedup();
            all.into_values().collect::<Vec<_>>()
        };
        named.inputs = resolve(&self.jdbc_inputs, self.inputs(), &mut named.unnamed_jdbc_inputs);
        named.outputs = resolve(&self.jdbc_outputs, self.outputs(), &mut named.unnamed_jdbc_outputs);
        named
    }
}

/// Write commands whose first argument is the path written.
const PATH_WRITES: &[&str] = &["InsertIntoHadoopFsRelationCommand"];

/// Write commands whose first argument is the table written.
const TABLE_WRITES: &[&str] = &[
    "CreateDataSourceTableAsSelectCommand",
    "CreateHiveTableAsSelectCommand",
    "OptimizedCreateHiveTableAsSelectCommand",
    "InsertIntoHiveTable",
];

/// The write command of `DataFrameWriter.save` for sources that are not files
/// (its arguments: the provider, the options, the save mode).
const PROVIDER_WRITE: &str = "SaveIntoDataSourceCommand";

/// Spark's JDBC provider class, as the write command prints it (`…JdbcRelationProvider@1a2b`).
const JDBC_PROVIDER: &str = "org.apache.spark.sql.execution.datasources.jdbc.JdbcRelationProvider";

/// Spark's own DataSource V2 write nodes (Iceberg, Delta and other catalogs'
/// tables are written through them); not read yet, so reported as unrecognised.
const V2_WRITES: &[&str] = &[
    "AppendData",
    "AppendDataExecV1",
    "OverwriteByExpression",
    "OverwriteByExpressionExecV1",
    "OverwritePartitionsDynamic",
    "CreateTableAsSelect",
    "AtomicCreateTableAsSelect",
    "ReplaceTableAsSelect",
    "AtomicReplaceTableAsSelect",
    "ReplaceData",
    "WriteDelta",
    "WriteToDataSourceV2",
];

/// Scans of data that lives in the application, not in a dataset.
const IN_MEMORY_SCANS: &[&str] = &["existingrdd", "onerowrelation", "rdd"];

/// The file formats Spark prints in a write command's arguments.
const FORMATS: &[&str] = &["parquet", "csv", "json", "orc", "text", "avro", "delta"];

/// `Scan JDBCRelation(sales.orders) [numPartitions=1]  [codegen id : 1]` → the head without the codegen stage.
fn without_codegen(node: &str) -> &str {
    match node.rfind("[codegen id") {
        Some(at) => node[..at].trim_end(),
        None => node,
    }
}

/// The datasets `plan` (explain's formatted physical plan) reads and writes, in plan order.
pub fn plan_datasets(plan: &str) -> PlanDatasets {
    let mut found = PlanDatasets::default();
    for section in sections(plan) {
        let (head, body) = section;
        let node = without_codegen(head.trim());
        if let Some(relation) = node.strip_prefix("Scan JDBCRelation(") {
            let fields = value_of(body, "ReadSchema").map(struct_fields).unwrap_or_default();
            match jdbc_relation(relation) {
                JdbcRelation::Table(table) => found.jdbc_inputs.push(JdbcTable { table, database: None, fields }),
                JdbcRelation::Query(alias) => found.unrecognised.push(format!("Scan JDBCRelation((query) {alias})")),
            }
            continue;
        }
        if let Some(rest) = node.strip_prefix("Scan ") {
            let mut words = rest.split_whitespace();
            let format = words.next().map(str::to_ascii_lowercase);
            let table = words.next().filter(|w| !w.starts_with('[')).map(unquote);
            let fields = value_of(body, "ReadSchema").map(struct_fields).unwrap_or_default();
            let paths = value_of(body, "Location").map(location_paths).unwrap_or_default();
            if paths.is_empty() {
                match (table, &format) {
                    (Some(table), _) => found.inputs.push(table_dataset(&table, format, fields)),
                    (None, Some(f)) if IN_MEMORY_SCANS.contains(&f.as_str()) || FORMATS.contains(&f.as_str()) => {}
                    (None, _) => found.unrecognised.push(node.to_string()),
                }
                continue;
            }
            for path in paths {
                found.inputs.push(Dataset { format: format.clone(), fields: fields.clone(), ..named(&path) });
            }
            continue;
        }
        let command = node.strip_prefix("Execute ").unwrap_or(node);
        let command_name = command.split_whitespace().next().unwrap_or("");
        if ["BatchScan", "MicroBatchScan", "ContinuousScan"].contains(&command_name)
            || V2_WRITES.contains(&command_name)
        {
            found.unrecognised.push(node.to_string());
            continue;
        }
        let arguments = value_of(body, "Arguments").map(top_level_split).unwrap_or_default();
        if command == PROVIDER_WRITE {
            // `Execute SaveIntoDataSourceCommand` has no arguments; the command's own node below it has them.
            if !arguments.is_empty() {
                provider_write(&arguments, &mut found);
            }
            continue;
        }
        let known = PATH_WRITES.contains(&command) || TABLE_WRITES.contains(&command);
        if !known && is_other_write(command) {
            found.unrecognised.push(command.to_string());
            continue;
        }
        let Some(first) = arguments.first() else { continue };
        let format = arguments
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .find(|a| FORMATS.contains(&a.as_str()) || a.ends_with("fileformat"))
            .map(|a| a.trim_end_matches("fileformat").to_string());
        let fields = arguments.last().map(|last| column_names(last)).unwrap_or_default();
        if PATH_WRITES.contains(&command) {
            found.outputs.push(Dataset { format, fields, ..named(first) });
        } else if TABLE_WRITES.contains(&command) {
            found.outputs.push(table_dataset(&unquote(first), format, fields));
        }
    }
    found.unrecognised.dedup();
    found
}

/// Commands (other than the ones read above) whose name says they write data:
/// `InsertIntoDataSourceCommand`, or another library's `…MergeIntoCommand`.
fn is_other_write(command: &str) -> bool {
    command.ends_with("Command")
        && ["Insert", "Write", "Merge", "Save", "Update", "Delete"].iter().any(|verb| command.contains(verb))
}

enum JdbcRelation {
    /// `dbtable`.
    Table(String),
    /// A `query` read (Spark wraps it as `(query) SPARK_GEN_SUBQ_n`): its alias.
    Query(String),
}

/// `sales.orders) [numPartitions=1]` (after `JDBCRelation(`) → the table, or the alias of a query.
fn jdbc_relation(after_open: &str) -> JdbcRelation {
    let mut depth = 1i32;
    let mut end = after_open.len();
    for (at, c) in after_open.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = at;
                    break;
                }
            }
            _ => {}
        }
    }
    let inner = after_open[..end].trim();
    if inner.starts_with('(') {
        let alias = inner.rsplit(')').next().unwrap_or("").trim();
        JdbcRelation::Query(if alias.is_empty() { "?".into() } else { alias.to_string() })
    } else {
        JdbcRelation::Table(inner.to_string())
    }
}

/// `SaveIntoDataSourceCommand <provider>@hash, [k=v, …], <mode>`: a JDBC write
/// names its `dbtable` (and its `url` unless redacted); other providers are reported unrecognised.
fn provider_write(arguments: &[String], found: &mut PlanDatasets) {
    let provider = arguments.first().map_or("", |p| p.split('@').next().unwrap_or(p));
    if provider != JDBC_PROVIDER {
        found.unrecognised.push(format!("{PROVIDER_WRITE} {provider}"));
        return;
    }
    let options = arguments.get(1).map(|o| options(o)).unwrap_or_default();
    let option = |key: &str| options.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str());
    let Some(table) = option("dbtable") else {
        found.unrecognised.push(format!("{PROVIDER_WRITE} {provider} (no dbtable)"));
        return;
    };
    // A redacted URL (`*********(redacted)`) or one sparkplane cannot read names no database.
    let database = option("url").and_then(|url| JdbcDatabase::parse(url).ok());
    found.jdbc_outputs.push(JdbcTable { table: table.to_string(), database, fields: Vec::new() });
}

/// `[url=…, dbtable=sales.totals, user=etl]` → the pairs.
fn options(list: &str) -> Vec<(String, String)> {
    let Some(inner) = list.trim().strip_prefix('[').and_then(|s| s.strip_suffix(']')) else { return Vec::new() };
    split_at_depth_zero(inner, ',')
        .into_iter()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

/// The per-node sections after the plan's tree: `(N) Node …` then `Key: value` lines.
fn sections(plan: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut current: Option<(&str, usize)> = None;
    let mut offset = 0;
    for line in plan.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(head) = node_header(line) else { continue };
        if let Some((name, body_start)) = current.take() {
            out.push((name, &plan[body_start..start]));
        }
        current = Some((head, offset));
    }
    if let Some((name, body_start)) = current {
        out.push((name, &plan[body_start..]));
    }
    out
}

/// `(12) Scan csv ` → `Scan csv`; lines of the tree (`+- Scan csv (1)`) are not headers.
fn node_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('(')?;
    let close = rest.find(')')?;
    rest[..close].bytes().all(|b| b.is_ascii_digit()).then(|| rest[close + 1..].trim())
}

/// The value of `Key: value` (or `Key [n]: value`) in a node's section.
fn value_of<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?;
        let (before, value) = rest.split_once(':')?;
        let before = before.trim();
        (before.is_empty() || (before.starts_with('[') && before.ends_with(']'))).then(|| value.trim())
    })
}

/// `InMemoryFileIndex [file:/a, file:/b]` (or `…(2 paths)[…]`) → the paths; Spark cuts
/// long lists with `...`, and a cut-off path is left out.
fn location_paths(location: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (location.find('['), location.rfind(']')) else { return Vec::new() };
    if close <= open {
        return Vec::new();
    }
    location[open + 1..close]
        .split(", ")
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.ends_with("..."))
        .map(str::to_string)
        .collect()
}

/// `struct<a:string,b:decimal(10,2),c:struct<d:int>>` → its top-level fields.
pub fn struct_fields(schema: &str) -> Vec<Field> {
    let Some(inner) = schema.trim().strip_prefix("struct<").and_then(|s| s.strip_suffix('>')) else {
        return Vec::new();
    };
    split_at_depth_zero(inner, ',')
        .into_iter()
        .filter_map(|field| {
            let (name, data_type) = field.split_once(':')?;
            Some(Field { name: unquote(name), data_type: Some(data_type.trim().to_string()) })
        })
        .collect()
}

/// `[a, b, c]` of plain column names → fields without types; anything else → none.
fn column_names(list: &str) -> Vec<Field> {
    let Some(inner) = list.trim().strip_prefix('[').and_then(|s| s.strip_suffix(']')) else { return Vec::new() };
    let names: Vec<&str> = inner.split(", ").map(str::trim).filter(|n| !n.is_empty()).collect();
    if names.iter().any(|n| n.contains(['#', '=', '(', '[', ' '])) {
        return Vec::new();
    }
    names.into_iter().map(|n| Field { name: unquote(n), data_type: None }).collect()
}

/// Splits a write command's `Arguments:` at commas outside brackets.
fn top_level_split(arguments: &str) -> Vec<String> {
    split_at_depth_zero(arguments, ',').into_iter().map(|a| a.trim().to_string()).collect()
}

fn split_at_depth_zero(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut quoted) = (0i32, 0, false);
    for (at, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '<' | '(' | '[' | '{' if !quoted => depth += 1,
            '>' | ')' | ']' | '}' if !quoted => depth -= 1,
            c if c == separator && depth == 0 && !quoted => {
                parts.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// `` `spark_catalog`.`default`.`t` `` → `spark_catalog.default.t`.
fn unquote(name: &str) -> String {
    name.trim().replace('`', "")
}

fn table_dataset(table: &str, format: Option<String>, fields: Vec<Field>) -> Dataset {
    let name = table.strip_prefix("spark_catalog.").unwrap_or(table).to_string();
    Dataset { namespace: "spark_catalog".to_string(), name, format, fields }
}

/// A path or URI named as OpenLineage names file datasets: `file` and the absolute
/// path locally; `s3://bucket` and the key in object stores (`s3a`/`s3n` are `s3`);
/// `scheme://authority` and the path elsewhere.
pub fn named(uri: &str) -> Dataset {
    let uri = uri.trim();
    let dataset = |namespace: String, name: &str| Dataset {
        namespace,
        name: if name.is_empty() { "/".to_string() } else { name.to_string() },
        format: None,
        fields: Vec::new(),
    };
    let Some((scheme, rest)) = uri.split_once(':') else { return dataset("file".into(), uri) };
    if scheme == "file" || scheme.is_empty() {
        let path = rest.trim_start_matches("//");
        // file:///a and file:/a both name /a.
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        return dataset("file".into(), &path);
    }
    let Some(after) = rest.strip_prefix("//") else { return dataset("file".into(), uri) };
    let (authority, path) = after.split_once('/').map_or((after, ""), |(a, p)| (a, p));
    let scheme = match scheme {
        "s3a" | "s3n" => "s3",
        other => other,
    };
    if matches!(scheme, "s3" | "gs" | "wasbs" | "abfss" | "abfs" | "wasb") {
        dataset(format!("{scheme}://{authority}"), path.trim_end_matches('/'))
    } else {
        dataset(format!("{scheme}://{authority}"), &format!("/{}", path.trim_end_matches('/')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV_TO_PARQUET: &str = "== Physical Plan ==\nAdaptiveSparkPlan (4)\n+- Execute InsertIntoHadoopFsRelationCommand (3)\n   +- WriteFiles (2)\n      +- Scan csv  (1)\n\n\n(1) Scan csv \nOutput [2]: [trip_id#17, fare#21]\nBatched: false\nLocation: InMemoryFileIndex [file:/tmp/te/data/raw/trips]\nReadSchema: struct<trip_id:string,fare:decimal(10,2),tags:array<string>>\n\n(2) WriteFiles\nInput [2]: [trip_id#17, fare#21]\n\n(3) Execute InsertIntoHadoopFsRelationCommand\nInput: []\nArguments: file:/tmp/te/data/curated/trips, false, [pickup_date#66], Parquet, [__partition_columns=[\"pickup_date\"], path=data/curated/trips], Overwrite, [trip_id, fare]\n\n(4) AdaptiveSparkPlan\nOutput: []\nArguments: isFinalPlan=false\n\n";

    fn field(name: &str, data_type: Option<&str>) -> Field {
        Field { name: name.into(), data_type: data_type.map(str::to_string) }
    }

    #[test]
    fn a_csv_scan_and_a_parquet_write() {
        let found = plan_datasets(CSV_TO_PARQUET);
        assert_eq!(
            found.inputs,
            vec![Dataset {
                namespace: "file".into(),
                name: "/tmp/te/data/raw/trips".into(),
                format: Some("csv".into()),
                fields: vec![
                    field("trip_id", Some("string")),
                    field("fare", Some("decimal(10,2)")),
                    field("tags", Some("array<string>"))
                ],
            }]
        );
        assert_eq!(
            found.outputs,
            vec![Dataset {
                namespace: "file".into(),
                name: "/tmp/te/data/curated/trips".into(),
                format: Some("parquet".into()),
                fields: vec![field("trip_id", None), field("fare", None)],
            }]
        );
    }

    #[test]
    fn tables_and_several_paths() {
        let plan = "(1) Scan parquet spark_catalog.default.trips\nOutput [1]: [a#1]\nLocation: InMemoryFileIndex [s3a://lake/x/p=1, s3a://lake/x/p=2, ...]\nReadSchema: struct<a:int>\n\n(2) Scan hive default.zones\nOutput [1]: [z#2]\n\n(3) Execute CreateDataSourceTableAsSelectCommand\nInput: []\nArguments: `spark_catalog`.`default`.`daily`, ErrorIfExists, [a, z]\n";
        let found = plan_datasets(plan);
        let names: Vec<(&str, &str)> = found.inputs.iter().map(|d| (d.namespace.as_str(), d.name.as_str())).collect();
        assert_eq!(names, vec![("s3://lake", "x/p=1"), ("s3://lake", "x/p=2"), ("spark_catalog", "default.zones")]);
        assert_eq!(found.outputs[0].namespace, "spark_catalog");
        assert_eq!(found.outputs[0].name, "default.daily");
        assert_eq!(found.outputs[0].fields, vec![field("a", None), field("z", None)]);
    }

    #[test]
    fn a_plan_without_files_has_no_datasets() {
        let plan = "== Physical Plan ==\n* Range (1)\n\n(1) Range [codegen id : 1]\nOutput [1]: [id#0L]\nArguments: Range (0, 10, step=1, splits=Some(2))\n";
        assert_eq!(plan_datasets(plan), PlanDatasets::default());
        assert_eq!(plan_datasets(""), PlanDatasets::default());
    }

    #[test]
    fn names_follow_openlineage() {
        let pair = |uri: &str| {
            let d = named(uri);
            (d.namespace, d.name)
        };
        assert_eq!(pair("file:/tmp/a"), ("file".into(), "/tmp/a".into()));
        assert_eq!(pair("file:///tmp/a/"), ("file".into(), "/tmp/a/".into()));
        assert_eq!(pair("s3a://lake/raw/trips/"), ("s3://lake".into(), "raw/trips".into()));
        assert_eq!(pair("gs://b/k"), ("gs://b".into(), "k".into()));
        assert_eq!(pair("hdfs://nn:8020/data/x"), ("hdfs://nn:8020".into(), "/data/x".into()));
        assert_eq!(pair("/plain/path"), ("file".into(), "/plain/path".into()));
    }

    #[test]
    fn nested_struct_fields_stay_whole() {
        assert_eq!(
            struct_fields("struct<a:struct<b:int,c:map<string,int>>,`d e`:string>"),
            vec![field("a", Some("struct<b:int,c:map<string,int>>")), field("d e", Some("string"))]
        );
        assert_eq!(struct_fields("struct<>"), vec![]);
        assert_eq!(struct_fields("not a schema"), vec![]);
    }

    #[test]
    fn a_sampled_file_inside_a_read_directory_is_the_same_input() {
        let mut lineage = Lineage::default();
        let scan = |path: &str, format: &str| PlanDatasets {
            inputs: vec![Dataset { format: Some(format.into()), ..named(path) }],
            ..PlanDatasets::default()
        };
        lineage.add(scan("file:/d/raw/part-0.csv", "text"));
        lineage.add(scan("file:/d/raw", "csv"));
        lineage.add(scan("file:/d/rawer", "csv"));
        let names: Vec<&str> = lineage.inputs().iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["/d/raw", "/d/rawer"]);
        assert_eq!(lineage.sql_executions, 3);
    }

    /// The JDBC write and its nested read, as Spark 3.5.9 logged them (crates/sparkplane/tests/it/cli_lineage.rs runs the job).
    const JDBC_WRITE: &str = "== Physical Plan ==\nExecute SaveIntoDataSourceCommand (1)\n   +- SaveIntoDataSourceCommand (2)\n         +- Aggregate (4)\n            +- LogicalRelation (3)\n\n\n(1) Execute SaveIntoDataSourceCommand\nOutput: []\n\n(2) SaveIntoDataSourceCommand\nArguments: org.apache.spark.sql.execution.datasources.jdbc.JdbcRelationProvider@647837c9, [url=*********(redacted), driver=org.postgresql.Driver, dbtable=sales.totals, user=postgres, password=*********(redacted)], Overwrite\n\n(3) LogicalRelation\nArguments: JDBCRelation(sales.orders) [numPartitions=1], [id#0, customer#1, amount#2], false\n\n(4) Aggregate\nArguments: [customer#1], [customer#1, sum(amount#2) AS total#10]\n\n";
    const JDBC_READ: &str = "== Physical Plan ==\nDeserializeToObject (2)\n+- * Scan JDBCRelation(sales.orders) [numPartitions=1]  (1)\n\n\n(1) Scan JDBCRelation(sales.orders) [numPartitions=1]  [codegen id : 1]\nOutput [3]: [id#0, customer#1, amount#2]\nReadSchema: struct<id:int,customer:string,amount:decimal(10,2)>\n\n(2) DeserializeToObject\nInput [3]: [id#0, customer#1, amount#2]\n";
    const JDBC_QUERY: &str = "(1) Scan JDBCRelation((select id from sales.orders where amount > 8) SPARK_GEN_SUBQ_0) [numPartitions=1] \nOutput: []\nReadSchema: struct<>\n";

    #[test]
    fn jdbc_reads_and_writes_name_their_tables_but_not_the_redacted_url() {
        let write = plan_datasets(JDBC_WRITE);
        assert_eq!(write.inputs, vec![], "the logical relation is read by the nested execution's scan");
        assert_eq!(write.outputs, vec![], "the provider is not a path");
        assert_eq!(
            write.jdbc_outputs,
            vec![JdbcTable { table: "sales.totals".into(), database: None, fields: vec![] }]
        );
        assert_eq!(write.unrecognised, Vec::<String>::new());
        let read = plan_datasets(JDBC_READ);
        assert_eq!(
            read.jdbc_inputs,
            vec![JdbcTable {
                table: "sales.orders".into(),
                database: None,
                fields: vec![
                    field("id", Some("int")),
                    field("customer", Some("string")),
                    field("amount", Some("decimal(10,2)"))
                ],
            }]
        );
        assert_eq!(read.inputs, vec![], "no spark_catalog table from the JDBC relation's words");
        let query = plan_datasets(JDBC_QUERY);
        assert_eq!(query.jdbc_inputs, vec![]);
        assert_eq!(query.unrecognised, vec!["Scan JDBCRelation((query) SPARK_GEN_SUBQ_0)".to_string()]);
    }

    #[test]
    fn a_jdbc_url_the_plan_shows_names_the_write_without_its_credentials() {
        // What Spark 3.5.9 logged with spark.sql.redaction.options.regex turned off for `url`.
        let plan = JDBC_WRITE.replace(
            "url=*********(redacted)",
            "url=jdbc:postgresql://127.0.0.1:55432/shop?ApplicationName=lin&user=postgres&sslpassword=hunter2",
        );
        let mut lineage = Lineage::default();
        lineage.add(plan_datasets(&plan));
        lineage.add(plan_datasets(JDBC_READ));
        let named = lineage.named(None);
        let names: Vec<(&str, &str)> = named.outputs.iter().map(|d| (d.namespace.as_str(), d.name.as_str())).collect();
        assert_eq!(names, vec![("postgres://127.0.0.1:55432", "shop.sales.totals")]);
        assert_eq!(named.unnamed_jdbc_inputs, vec!["sales.orders".to_string()], "a scan never shows the URL");
        assert!(!format!("{named:?}").contains("hunter2"));
        let given = JdbcDatabase::parse("jdbc:postgresql://db.internal:5432/shop?password=hunter2").unwrap();
        let named = lineage.named(Some(&given));
        assert_eq!(named.inputs[0].namespace, "postgres://db.internal:5432", "the caller's database names the read");
        assert_eq!(named.inputs[0].name, "shop.sales.orders");
        assert_eq!(named.inputs[0].fields.len(), 3);
        assert_eq!(named.outputs[0].namespace, "postgres://127.0.0.1:55432", "the plan's URL wins for the write");
        assert!(named.unnamed_jdbc_inputs.is_empty() && named.unnamed_jdbc_outputs.is_empty());
    }

    #[test]
    fn nodes_that_move_data_but_are_not_read_are_named_for_a_warning() {
        let plan = "(1) BatchScan local.db.trips [codegen id : 1]\nOutput [1]: [a#1]\n\n(2) AppendData\nArguments: x\n\n(3) Execute InsertIntoDataSourceCommand\nOutput: []\n\n(4) SaveIntoDataSourceCommand\nArguments: com.example.SomeProvider@1a2b, [path=/x], Append\n\n(5) Scan ExistingRDD\nOutput [1]: [b#2]\n\n(6) Execute SetCommand\nArguments: x\n\n(7) Scan OneRowRelation\nOutput: []\n";
        let found = plan_datasets(plan);
        assert_eq!(
            found.unrecognised,
            vec![
                "BatchScan local.db.trips",
                "AppendData",
                "InsertIntoDataSourceCommand",
                "SaveIntoDataSourceCommand com.example.SomeProvider"
            ]
        );
        assert_eq!((found.inputs.len(), found.outputs.len()), (0, 0));
    }
}
