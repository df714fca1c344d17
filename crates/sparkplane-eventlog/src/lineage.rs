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
//! [`Lineage`] merges the datasets of an application's executions.
//!
//! Must not: do I/O, know the event-log JSON or OpenLineage's event shape
//! (that is `openlineage`). Nodes it does not recognise are skipped, never an error.

use std::collections::BTreeMap;

use serde::Serialize;

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

/// What one plan reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanDatasets {
    /// Datasets scanned.
    pub inputs: Vec<Dataset>,
    /// Datasets written.
    pub outputs: Vec<Dataset>,
}

/// The datasets of a whole application: every SQL execution's, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// SQL executions seen (`SparkListenerSQLExecutionStart` events).
    pub sql_executions: u64,
    inputs: BTreeMap<(String, String), Dataset>,
    outputs: BTreeMap<(String, String), Dataset>,
}

impl Lineage {
    /// Adds one execution's datasets; a dataset seen before keeps its first schema
    /// unless that one was empty.
    pub fn add(&mut self, plan: PlanDatasets) {
        self.sql_executions += 1;
        for (into, datasets) in [(&mut self.inputs, plan.inputs), (&mut self.outputs, plan.outputs)] {
            for dataset in datasets {
                let key = (dataset.namespace.clone(), dataset.name.clone());
                match into.get_mut(&key) {
                    Some(known) => {
                        if known.fields.is_empty() {
                            known.fields = dataset.fields;
                        }
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
}

/// Write commands whose first argument is the path written.
const PATH_WRITES: &[&str] = &["InsertIntoHadoopFsRelationCommand", "SaveIntoDataSourceCommand"];

/// Write commands whose first argument is the table written.
const TABLE_WRITES: &[&str] = &[
    "CreateDataSourceTableAsSelectCommand",
    "CreateHiveTableAsSelectCommand",
    "OptimizedCreateHiveTableAsSelectCommand",
    "InsertIntoHiveTable",
];

/// The file formats Spark prints in a write command's arguments.
const FORMATS: &[&str] = &["parquet", "csv", "json", "orc", "text", "avro", "delta"];

/// The datasets `plan` (explain's formatted physical plan) reads and writes, in plan order.
pub fn plan_datasets(plan: &str) -> PlanDatasets {
    let mut found = PlanDatasets::default();
    for section in sections(plan) {
        let (head, body) = section;
        let node = head.trim();
        if let Some(rest) = node.strip_prefix("Scan ") {
            let mut words = rest.split_whitespace();
            let format = words.next().map(str::to_ascii_lowercase);
            let table = words.next().map(unquote);
            let fields = value_of(body, "ReadSchema").map(struct_fields).unwrap_or_default();
            let paths = value_of(body, "Location").map(location_paths).unwrap_or_default();
            if paths.is_empty() {
                if let Some(table) = table {
                    found.inputs.push(table_dataset(&table, format, fields));
                }
                continue;
            }
            for path in paths {
                found.inputs.push(Dataset { format: format.clone(), fields: fields.clone(), ..named(&path) });
            }
            continue;
        }
        let command = node.strip_prefix("Execute ").unwrap_or(node);
        let arguments = value_of(body, "Arguments").map(top_level_split).unwrap_or_default();
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
    found
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
            outputs: vec![],
        };
        lineage.add(scan("file:/d/raw/part-0.csv", "text"));
        lineage.add(scan("file:/d/raw", "csv"));
        lineage.add(scan("file:/d/rawer", "csv"));
        let names: Vec<&str> = lineage.inputs().iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["/d/raw", "/d/rawer"]);
        assert_eq!(lineage.sql_executions, 3);
    }
}
