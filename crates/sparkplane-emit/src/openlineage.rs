//! OpenLineage run events for an application, from its [`AppSummary`].
//!
//! Owns: the shape of the events `sparkplane lineage` emits (OpenLineage 2-0-2
//! `RunEvent`s: START, then COMPLETE or FAIL), the deterministic run id (a
//! UUID hashed from the application id, so a resend updates the same run), the
//! job's namespace and name (the team and job sparkplane charges the
//! application to, as [`sparkplane_eventlog::attribution`] reads them for cost too), the facets (schema, error
//! message, job type, processing engine) and the warnings about lineage a log
//! cannot give.
//!
//! Must not: do I/O or read the plans itself — datasets come from
//! [`sparkplane_eventlog::lineage`] through the model; sending is `openlineage_send`'s.

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sparkplane_eventlog::attribution::{job_of, team_of};
use sparkplane_eventlog::lineage::{Dataset, JdbcDatabase};
use sparkplane_eventlog::model::{AppSummary, Outcome};

/// Who produced the events (OpenLineage's `producer`, a URI).
pub const PRODUCER: &str = concat!("https://example.invalid/sparkplane/v", env!("CARGO_PKG_VERSION"));

/// The run event schema the events follow.
pub const RUN_EVENT_SCHEMA: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const SCHEMA_FACET: &str = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
const ERROR_FACET: &str =
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
const JOB_TYPE_FACET: &str = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
const ENGINE_FACET: &str =
    "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet";

/// The job namespace of applications without a team.
pub const DEFAULT_NAMESPACE: &str = "sparkplane";

/// One OpenLineage run event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// `START`, `COMPLETE` or `FAIL`.
    pub event_type: &'static str,
    /// When it happened (the application's start or end), RFC 3339 in UTC.
    pub event_time: String,
    /// The run.
    pub run: Run,
    /// The job.
    pub job: Job,
    /// Datasets read.
    pub inputs: Vec<DatasetRef>,
    /// Datasets written.
    pub outputs: Vec<DatasetRef>,
    /// [`PRODUCER`].
    pub producer: &'static str,
    /// [`RUN_EVENT_SCHEMA`].
    #[serde(rename = "schemaURL")]
    pub schema_url: &'static str,
}

/// A run: its id and facets.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// A UUID derived from the application id.
    pub run_id: String,
    /// Run facets by name.
    pub facets: serde_json::Map<String, Value>,
}

/// A job: namespace, name and facets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// The team, else [`DEFAULT_NAMESPACE`].
    pub namespace: String,
    /// The `sparkplane.dev/job` label, else the application name.
    pub name: String,
    /// Job facets by name.
    pub facets: serde_json::Map<String, Value>,
}

/// A dataset in an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetRef {
    /// OpenLineage namespace.
    pub namespace: String,
    /// OpenLineage name.
    pub name: String,
    /// Dataset facets by name (the schema, when the plan records one).
    pub facets: serde_json::Map<String, Value>,
}

/// One application's lineage: its events and what the log could not say.
#[derive(Debug, Clone, PartialEq)]
pub struct AppLineage {
    /// The events, in order (START first).
    pub events: Vec<RunEvent>,
    /// Why the lineage is thinner than it could be, each naming the log.
    pub warnings: Vec<String>,
}

/// The run id of an application: a version-8 (hash-based) UUID from SHA-256 of the
/// application id and attempt, so the same application always gets the same run.
pub fn run_id(app_key: &str) -> String {
    let digest = Sha256::digest(format!("sparkplane/openlineage/run/{app_key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The events for `app`; warnings name it by its application id (else its name).
/// `jdbc` is the database the application's JDBC tables live in when the log
/// does not say (Spark redacts JDBC URLs in event logs by default).
pub fn app_lineage(app: &AppSummary, jdbc: Option<&JdbcDatabase>) -> AppLineage {
    let mut warnings = Vec::new();
    let log = format!("application {}", app.app_id.as_deref().or(app.name.as_deref()).unwrap_or("(unnamed)"));
    let Some(start_ms) = app.start_time_ms else {
        warnings.push(format!("{log}: the log has no application start, so it gives no lineage events"));
        return AppLineage { events: Vec::new(), warnings };
    };
    let lineage = &app.lineage;
    let named = lineage.named(jdbc);
    let inputs: Vec<DatasetRef> = named.inputs.iter().map(dataset_ref).collect();
    let outputs: Vec<DatasetRef> = named.outputs.iter().map(dataset_ref).collect();
    let unrecognised = lineage.unrecognised();
    let unnamed = !named.unnamed_jdbc_inputs.is_empty() || !named.unnamed_jdbc_outputs.is_empty();
    if lineage.sql_executions == 0 {
        warnings.push(format!(
            "{log}: the log has no SQL execution plans, so its lineage has no input or output datasets \
             (DataFrame and SQL actions record plans; RDD-only jobs do not)"
        ));
    } else if inputs.is_empty() && outputs.is_empty() && unrecognised.is_empty() && !unnamed {
        warnings.push(format!(
            "{log}: its {} SQL execution plans name no file or table sparkplane recognises, so its lineage \
             has no input or output datasets",
            lineage.sql_executions
        ));
    }
    if unnamed {
        let mut tables = Vec::new();
        if !named.unnamed_jdbc_inputs.is_empty() {
            tables.push(format!("reads {}", named.unnamed_jdbc_inputs.join(", ")));
        }
        if !named.unnamed_jdbc_outputs.is_empty() {
            tables.push(format!("writes {}", named.unnamed_jdbc_outputs.join(", ")));
        }
        warnings.push(format!(
            "{log}: {} over JDBC, but the log does not say which database (Spark redacts JDBC URLs in event \
             logs), so these tables are left out of its lineage: name the database with --jdbc-url \
             jdbc:postgresql://HOST:PORT/DATABASE",
            tables.join(" and ")
        ));
    }
    if !unrecognised.is_empty() {
        warnings.push(format!(
            "{log}: its lineage misses what these plan nodes read or write, which sparkplane does not recognise: \
             {} (sparkplane reads file scans and writes, spark_catalog tables and JDBC tables; Delta Lake, \
             Iceberg and other DataSource V2 tables are not read yet)",
            unrecognised.join("; ")
        ));
    }
    let app_key = app.key().unwrap_or_else(|| format!("unnamed@{start_ms}"));
    let mut job_facets = serde_json::Map::new();
    job_facets.insert(
        "jobType".into(),
        json!({"_producer": PRODUCER, "_schemaURL": JOB_TYPE_FACET,
               "processingType": "BATCH", "integration": "SPARK", "jobType": "APPLICATION"}),
    );
    let job = Job {
        namespace: team_of(app).unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
        name: job_of(app).unwrap_or_else(|| app_key.clone()),
        facets: job_facets,
    };
    let mut run_facets = serde_json::Map::new();
    if let Some(version) = &app.spark_version {
        run_facets.insert(
            "processing_engine".into(),
            json!({"_producer": PRODUCER, "_schemaURL": ENGINE_FACET, "name": "spark", "version": version}),
        );
    }
    let event = |event_type: &'static str, at_ms: u64, facets: serde_json::Map<String, Value>| RunEvent {
        event_type,
        event_time: time(at_ms),
        run: Run { run_id: run_id(&app_key), facets },
        job: job.clone(),
        inputs: inputs.clone(),
        outputs: outputs.clone(),
        producer: PRODUCER,
        schema_url: RUN_EVENT_SCHEMA,
    };
    let mut events = vec![event("START", start_ms, run_facets.clone())];
    match (app.outcome, app.end_time_ms) {
        (Outcome::Succeeded, Some(end)) => events.push(event("COMPLETE", end, run_facets)),
        (Outcome::Failed, Some(end)) => {
            let (message, language) = error_message(app);
            let mut facets = run_facets;
            facets.insert(
                "errorMessage".into(),
                json!({"_producer": PRODUCER, "_schemaURL": ERROR_FACET,
                       "message": message, "programmingLanguage": language}),
            );
            events.push(event("FAIL", end, facets));
        }
        _ => warnings.push(format!(
            "{log}: the application has no end in the log (still running, or killed), so only its START event is given"
        )),
    }
    AppLineage { events, warnings }
}

fn dataset_ref(dataset: &Dataset) -> DatasetRef {
    let mut facets = serde_json::Map::new();
    if !dataset.fields.is_empty() {
        facets.insert(
            "schema".into(),
            json!({"_producer": PRODUCER, "_schemaURL": SCHEMA_FACET, "fields": dataset.fields}),
        );
    }
    DatasetRef { namespace: dataset.namespace.clone(), name: dataset.name.clone(), facets }
}

/// Why the application failed, and the language the error came from.
fn error_message(app: &AppSummary) -> (String, &'static str) {
    let message = match &app.failure {
        Some(failure) => match &failure.root_cause {
            Some(root) if root != &failure.message => format!("{} (root cause: {root})", failure.message),
            _ => failure.message.clone(),
        },
        None => match app.exit_code {
            Some(code) => format!("the driver exited with code {code}"),
            None => "the application failed".to_string(),
        },
    };
    let python = ["Traceback", "PythonException", "PYTHON_EXCEPTION"].iter().any(|m| message.contains(m));
    (message, if python { "PYTHON" } else { "JAVA" })
}

/// Epoch milliseconds as RFC 3339 in UTC with milliseconds.
fn time(ms: u64) -> String {
    let ts = i64::try_from(ms).ok().and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
    ts.map_or_else(|| "1970-01-01T00:00:00.000Z".to_string(), |ts| format!("{ts:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_eventlog::AppSummaryBuilder;
    use sparkplane_eventlog::parse::parse_event;

    fn app(lines: &[&str]) -> AppSummary {
        let mut builder = AppSummaryBuilder::new();
        for line in lines {
            if let Ok(Some(event)) = parse_event(line) {
                builder.apply(&event);
            }
        }
        builder.finish()
    }

    const START: &str = r#"{"Event":"SparkListenerApplicationStart","App Name":"etl","App ID":"local-1","Timestamp":1795448790416,"User":"u"}"#;
    const END: &str = r#"{"Event":"SparkListenerApplicationEnd","Timestamp":1795448832000}"#;
    const SQL: &str = r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","executionId":0,"description":"d","physicalPlanDescription":"(1) Scan csv \nLocation: InMemoryFileIndex [file:/in]\nReadSchema: struct<a:int>\n","time":1795448800000}"#;

    #[test]
    fn start_and_complete_with_the_datasets() {
        let lineage = app_lineage(&app(&[START, SQL, END]), None);
        assert_eq!(lineage.warnings, Vec::<String>::new());
        let types: Vec<&str> = lineage.events.iter().map(|e| e.event_type).collect();
        assert_eq!(types, ["START", "COMPLETE"]);
        let complete = &lineage.events[1];
        assert_eq!(complete.event_time, "2026-11-23T15:47:12.000Z");
        assert_eq!(lineage.events[0].event_time, "2026-11-23T15:46:30.416Z");
        assert_eq!((complete.job.namespace.as_str(), complete.job.name.as_str()), ("sparkplane", "etl"));
        assert_eq!(complete.inputs[0].name, "/in");
        assert_eq!(complete.inputs[0].facets["schema"]["fields"], json!([{"name": "a", "type": "int"}]));
        assert_eq!(complete.run.run_id, lineage.events[0].run.run_id);
    }

    #[test]
    fn the_run_id_is_a_stable_uuid_of_the_application() {
        let id = run_id("local-1");
        assert_eq!(id, run_id("local-1"));
        assert_ne!(id, run_id("local-2"));
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "8");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }

    #[test]
    fn a_log_without_plans_warns_and_an_open_one_only_starts() {
        let lineage = app_lineage(&app(&[START]), None);
        assert_eq!(lineage.events.len(), 1);
        assert!(lineage.events[0].inputs.is_empty());
        assert_eq!(
            lineage.warnings,
            [
                "application local-1: the log has no SQL execution plans, so its lineage has no input or output datasets \
                 (DataFrame and SQL actions record plans; RDD-only jobs do not)",
                "application local-1: the application has no end in the log (still running, or killed), so only its START event is given"
            ]
        );
    }

    fn sql(plan: &str) -> String {
        json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", "executionId": 1,
               "description": "d", "physicalPlanDescription": plan, "time": 1795448800000u64})
        .to_string()
    }

    #[test]
    fn jdbc_tables_need_their_database_and_unknown_nodes_are_named() {
        let read = sql("(1) Scan JDBCRelation(sales.orders) [numPartitions=1] \nReadSchema: struct<id:int>\n");
        let write = sql(
            "(2) SaveIntoDataSourceCommand\nArguments: org.apache.spark.sql.execution.datasources.jdbc.JdbcRelationProvider@1, [url=*********(redacted), dbtable=sales.totals], Overwrite\n",
        );
        let v2 = sql("(1) BatchScan local.db.trips\nOutput [1]: [a#1]\n");
        let app = app(&[START, &read, &write, &v2, SQL, END]);
        let lineage = app_lineage(&app, None);
        assert_eq!(
            lineage.warnings,
            [
                "application local-1: reads sales.orders and writes sales.totals over JDBC, but the log does not say \
                 which database (Spark redacts JDBC URLs in event logs), so these tables are left out of its lineage: \
                 name the database with --jdbc-url jdbc:postgresql://HOST:PORT/DATABASE",
                "application local-1: its lineage misses what these plan nodes read or write, which sparkplane \
                 does not recognise: BatchScan local.db.trips (sparkplane reads file scans and writes, \
                 spark_catalog tables and JDBC tables; Delta Lake, Iceberg and other DataSource V2 tables are not read yet)"
            ]
        );
        let names = |events: &[RunEvent]| -> Vec<String> {
            let end = &events[1];
            end.inputs.iter().chain(&end.outputs).map(|d| format!("{} {}", d.namespace, d.name)).collect()
        };
        assert_eq!(names(&lineage.events), ["file /in"]);
        let database = JdbcDatabase::parse("jdbc:postgresql://db:5432/shop?user=dbuser&password=hunter2").unwrap();
        let lineage = app_lineage(&app, Some(&database));
        assert_eq!(lineage.warnings.len(), 1, "{:?}", lineage.warnings);
        assert_eq!(
            names(&lineage.events),
            ["file /in", "postgres://db:5432 shop.sales.orders", "postgres://db:5432 shop.sales.totals"]
        );
        assert_eq!(lineage.events[1].inputs[1].facets["schema"]["fields"], json!([{"name": "id", "type": "int"}]));
        let text = serde_json::to_string(&lineage.events).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("dbuser"), "{text}");
    }
}
