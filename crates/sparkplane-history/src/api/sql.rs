//! `sql` and `sql/{executionId}`: Spark's `ExecutionData`, an SQL
//! execution with its jobs by outcome and, with `details`, its plan as
//! Spark's SQL tab draws it (`nodes` and `edges`).
//!
//! Owns: that shape, its parameters (`details` and `planDescription`, true
//! unless given otherwise; `offset` and `length`, all executions when
//! `length` is not positive), the plan graph as Spark builds it from the
//! plan (node ids in its visit order, `WholeStageCodegen` as a cluster whose
//! operators carry its id, `InputAdapter` and the query-stage wrappers left
//! out, a reused exchange an edge to the exchange it reuses) and a metric's
//! value as Spark's SQL listener writes it (`SQLMetrics.stringValue`'s units
//! and formats). Must not: decide an execution's status (the replay's SQL
//! model does, [`SqlExecution::status`]) or total a metric (it does too).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Query, Response, json, not_found};
use crate::time::format_gmt;
use crate::units::{bytes, grouped};
use sparkplane_appstatus::replay::AppDetail;
use sparkplane_appstatus::sql_executions::{MetricSpread, PlanMetric, PlanOperator, SqlExecution, scala_hash_order};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExecutionJson {
    id: i64,
    status: &'static str,
    description: String,
    plan_description: String,
    submission_time: String,
    duration: i64,
    running_job_ids: Vec<i64>,
    success_job_ids: Vec<i64>,
    failed_job_ids: Vec<i64>,
    nodes: Vec<NodeJson>,
    edges: Vec<EdgeJson>,
    /// Spark 4.2 on: the start event's query id, absent when the log has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    query_id: Option<String>,
    /// Spark 4.2 on: the end event's message, `""` for a success, absent while it runs or when the log has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    /// Spark 4.2 on: the execution this one ran under, absent when the log has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    root_execution_id: Option<i64>,
    /// Spark 4.3 on: the session's SQL configurations that differ from their defaults.
    modified_configs: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeJson {
    node_id: i64,
    node_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    whole_stage_codegen_id: Option<i64>,
    metrics: Vec<MetricJson>,
    /// Spark 4.3 on: the operator with its arguments (`simpleString`).
    desc: String,
}

#[derive(Serialize)]
struct MetricJson {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EdgeJson {
    from_id: i64,
    to_id: i64,
}

/// What `details` and `planDescription` ask for (each true unless given and not `true`, as Spark reads a boolean).
struct Shown {
    details: bool,
    plan_description: bool,
}

impl Shown {
    fn of(query: &Query) -> Shown {
        let flag = |key: &str| query.get(key).is_none_or(|v| v.eq_ignore_ascii_case("true"));
        Shown { details: flag("details"), plan_description: flag("planDescription") }
    }
}

/// `sql`: the executions in id order, `length` of them from `offset` when `length` is positive.
pub(super) fn sql_list(d: &AppDetail, now_ms: i64, query: &Query) -> Result<Response, Response> {
    let offset = usize::try_from(query.int("offset", 0)?).unwrap_or(0);
    let length = query.int("length", -1)?;
    let shown = Shown::of(query);
    let all = d.sql.executions.values();
    let chosen: Vec<&SqlExecution> = match usize::try_from(length) {
        Ok(n) if n > 0 => all.skip(offset).take(n).collect(),
        _ => all.collect(),
    };
    Ok(json(&chosen.into_iter().map(|e| execution_json(d, e, now_ms, &shown)).collect::<Vec<_>>()))
}

/// `sql/{id}`: one execution; Spark's route takes digits only, anything else is a 404 naming the path.
pub(super) fn one_sql(d: &AppDetail, now_ms: i64, path: &str, id: &str, query: &Query) -> Result<Response, Response> {
    let Some(execution_id) = id.parse::<i64>().ok().filter(|_| id.bytes().all(|b| b.is_ascii_digit())) else {
        return Err(not_found(path.to_owned()));
    };
    match d.sql.executions.get(&execution_id) {
        Some(e) => Ok(json(&execution_json(d, e, now_ms, &Shown::of(query)))),
        None => Err(not_found(format!("unknown query execution id: {execution_id}"))),
    }
}

fn execution_json(d: &AppDetail, e: &SqlExecution, now_ms: i64, shown: &Shown) -> ExecutionJson {
    let job_status = |id: i64| d.jobs.get(&id).map_or("UNKNOWN", |j| j.status);
    // The order of Spark's `Map[Int, _]` of the execution's jobs (Scala 2.13's hash trie).
    let jobs = scala_hash_order(&e.job_ids.iter().copied().collect::<Vec<_>>());
    let with = |status: &str| jobs.iter().copied().filter(|&id| job_status(id) == status).collect::<Vec<_>>();
    let submitted = e.submission_time.unwrap_or(-1);
    let (nodes, edges) = if shown.details { graph_json(d, e) } else { (Vec::new(), Vec::new()) };
    ExecutionJson {
        id: e.id,
        status: e.status(|id| job_status(id) == "FAILED"),
        description: e.description.clone(),
        plan_description: if shown.plan_description { e.physical_plan_description.clone() } else { String::new() },
        submission_time: format_gmt(submitted),
        duration: e.completion_time.unwrap_or(now_ms).saturating_sub(submitted),
        running_job_ids: with("RUNNING"),
        success_job_ids: with("SUCCEEDED"),
        failed_job_ids: with("FAILED"),
        nodes,
        edges,
        query_id: e.query_id.clone(),
        error_message: e.error_message.clone(),
        root_execution_id: e.root_execution_id,
        modified_configs: e.modified_configs.clone(),
    }
}

/// One node of Spark's plan graph: an operator, or a `WholeStageCodegen` cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    pub id: i64,
    /// Index of the operator in [`SqlExecution::plan`].
    pub operator: usize,
    /// The cluster's id when the node is inside a `WholeStageCodegen` cluster.
    pub cluster: Option<i64>,
}

/// Spark's plan graph of `plan`: its nodes in id order and its edges (child → parent) in the order Spark adds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<(i64, i64)>,
}

/// Builds the graph as Spark's `SparkPlanGraph` does, depth first from the
/// root, without recursion (a plan may be thousands deep).
pub fn plan_graph(plan: &[PlanOperator]) -> PlanGraph {
    let mut graph = PlanGraph::default();
    if plan.is_empty() {
        return graph;
    }
    // Exchanges and subqueries met so far (by operator index) → their node id.
    let mut shared: BTreeMap<usize, i64> = BTreeMap::new();
    // (operator, parent node, enclosing cluster)
    let mut stack: Vec<(usize, Option<i64>, Option<i64>)> = vec![(0, None, None)];
    let mut next_id = 0i64;
    let same_as = |a: usize, b: usize| {
        let (x, y) = (&plan[a], &plan[b]);
        x.name == y.name && x.simple_string == y.simple_string && ids(&x.metrics) == ids(&y.metrics)
    };
    while let Some((at, parent, cluster)) = stack.pop() {
        let Some(op) = plan.get(at) else { continue };
        let first = op.children.first().copied();
        let edge_to = |graph: &mut PlanGraph, from: i64| {
            if let Some(p) = parent {
                graph.edges.push((from, p));
            }
        };
        let seen = |target: usize| shared.iter().find(|(k, _)| same_as(**k, target)).map(|(_, id)| *id);
        match op.name.as_str() {
            name if name.starts_with("WholeStageCodegen") => {
                let id = next_id;
                next_id += 1;
                graph.nodes.push(GraphNode { id, operator: at, cluster: None });
                if let Some(child) = first {
                    stack.push((child, parent, Some(id)));
                }
            }
            "InputAdapter" => stack.extend(first.map(|c| (c, parent, None))),
            "BroadcastQueryStage" | "ShuffleQueryStage" | "TableCacheQueryStage" | "ResultQueryStage" => {
                if let Some(child) = first {
                    match seen(child) {
                        Some(id) => edge_to(&mut graph, id),
                        None => stack.push((child, parent, None)),
                    }
                }
            }
            "Subquery" | "SubqueryBroadcast" if cluster.is_some() => stack.push((at, parent, None)),
            "Subquery" | "SubqueryBroadcast" if seen(at).is_some() => {
                if let Some(id) = seen(at) {
                    edge_to(&mut graph, id);
                }
            }
            "ReusedSubquery" => stack.extend(first.map(|c| (c, parent, cluster))),
            "ReusedExchange" if op.reuses.is_some() || first.and_then(seen).is_some() => {
                let target = op.reuses.and_then(|r| shared.get(&r).copied()).or_else(|| first.and_then(seen));
                if let Some(id) = target {
                    edge_to(&mut graph, id);
                }
            }
            name => {
                let id = next_id;
                next_id += 1;
                graph.nodes.push(GraphNode { id, operator: at, cluster });
                if name.contains("Exchange") || name.contains("Subquery") {
                    shared.insert(at, id);
                }
                edge_to(&mut graph, id);
                for &child in op.children.iter().rev() {
                    stack.push((child, Some(id), cluster));
                }
            }
        }
    }
    graph
}

fn ids(metrics: &[PlanMetric]) -> Vec<i64> {
    metrics.iter().map(|m| m.accumulator_id).collect()
}

/// The cluster id Spark reads from a `WholeStageCodegen (N)` name.
fn codegen_id(name: &str) -> Option<i64> {
    name.trim().strip_prefix("WholeStageCodegen (")?.strip_suffix(')')?.parse().ok()
}

fn graph_json(d: &AppDetail, e: &SqlExecution) -> (Vec<NodeJson>, Vec<EdgeJson>) {
    let graph = plan_graph(&e.plan);
    let cluster_names: BTreeMap<i64, &str> = graph
        .nodes
        .iter()
        .filter(|n| e.plan[n.operator].name.starts_with("WholeStageCodegen"))
        .map(|n| (n.id, e.plan[n.operator].name.as_str()))
        .collect();
    // Every metric once (a running execution's are aggregated on each call).
    let spreads = d.sql.spreads(e);
    // Newest id first, as Spark lists them.
    let nodes = graph
        .nodes
        .iter()
        .rev()
        .map(|n| {
            let op = &e.plan[n.operator];
            let metrics = op
                .metrics
                .iter()
                .filter_map(|m| {
                    let spread = spreads.get(&m.accumulator_id)?;
                    Some(MetricJson { name: m.name.trim().to_owned(), value: metric_string(&m.metric_type, spread) })
                })
                .collect();
            NodeJson {
                node_id: n.id,
                node_name: op.name.trim().to_owned(),
                whole_stage_codegen_id: n.cluster.and_then(|c| cluster_names.get(&c)).and_then(|name| codegen_id(name)),
                metrics,
                desc: op.simple_string.clone(),
            }
        })
        .collect();
    let edges = graph.edges.iter().map(|&(from_id, to_id)| EdgeJson { from_id, to_id }).collect();
    (nodes, edges)
}

/// A metric's value as Spark's SQL listener writes it (`stringValue`): a
/// `sum` as its total grouped by thousands; any other type as its one value
/// when it has at most one (0 when none), else with the spread of its task
/// values and the stage attempt and task of the largest (`(driver)` when the
/// driver's update was larger). `size`, `timing` and `nsTiming` state their
/// total first: `total (min, med, max (stageId: taskId))` then `10.0 MiB
/// (1.0 MiB, 2.0 MiB, 4.0 MiB (stage 3.0: task 12))`; an `average` states
/// none: `(min, med, max (stageId: taskId)):` then `(0.5, 1.2, 3 (stage 3.0:
/// task 12))`. An `nsTiming` value is cut to whole milliseconds one by one
/// (its total from the nanoseconds' sum).
pub fn metric_string(metric_type: &str, s: &MetricSpread) -> String {
    const SPREAD: &str = "(min, med, max (stageId: taskId))";
    let task = match s.max_task {
        Some(t) => format!("(stage {}.{}: task {})", t.stage_id, t.stage_attempt, t.task_id),
        None => "(driver)".to_owned(),
    };
    let one = |v: i64| match metric_type {
        "nsTiming" => metric_value("timing", v / 1_000_000),
        kind => metric_value(kind, v),
    };
    match metric_type {
        "sum" => grouped(s.total),
        _ if s.count <= 1 => one(s.min),
        "average" => format!("{SPREAD}:\n({}, {}, {} {task})", one(s.min), one(s.median), one(s.max)),
        _ => format!("total {SPREAD}\n{} ({}, {}, {} {task})", one(s.total), one(s.min), one(s.median), one(s.max)),
    }
}

/// A metric's value as Spark's SQL listener writes it when one value was
/// reported (every task's sum for a `sum` metric): a `sum` grouped by
/// thousands, a `size` in Spark's byte units, a `timing` (ms) or `nsTiming`
/// (ns) as Spark's short duration, an `average` (kept ×10) to one decimal.
pub fn metric_value(metric_type: &str, value: i64) -> String {
    match metric_type {
        "size" => bytes(value),
        "timing" => short_duration(value),
        "nsTiming" => short_duration(value / 1_000_000),
        "average" => match value.max(0) {
            tenths if tenths % 10 == 0 => grouped(tenths / 10),
            tenths => format!("{}.{}", grouped(tenths / 10), tenths % 10),
        },
        _ => grouped(value),
    }
}

/// Milliseconds as Spark's `msDurationToString`: `850 ms`, `1.3 s`, `2.5 m`,
/// `1.25 h` (halves rounded up, as Java's formatter rounds).
fn short_duration(ms: i64) -> String {
    const SECOND: i64 = 1000;
    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;
    // `ms / unit` to `places` decimals, half up, as digits.
    let fixed = |unit: i64, places: u32| {
        let scale = 10i128.pow(places);
        let scaled = (2 * i128::from(ms) * scale + i128::from(unit)).div_euclid(2 * i128::from(unit));
        format!("{}.{:0width$}", scaled / scale, scaled % scale, width = places as usize)
    };
    match ms {
        t if t < SECOND => format!("{t} ms"),
        t if t < MINUTE => format!("{} s", fixed(SECOND, 1)),
        t if t < HOUR => format!("{} m", fixed(MINUTE, 1)),
        _ => format!("{} h", fixed(HOUR, 2)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use super::*;
    use crate::api::fixture::{OneApp, answer};
    use crate::api::respond;
    use sparkplane_appstatus::replay::DetailBuilder;

    fn node(name: &str, metrics: Value, children: Vec<Value>) -> Value {
        json!({"nodeName": name, "simpleString": format!("{name} (args)"), "metadata": {}, "metrics": metrics,
               "children": children})
    }

    fn metric(name: &str, id: i64, kind: &str) -> Value {
        json!({"name": name, "accumulatorId": id, "metricType": kind})
    }

    /// Adaptive execution's final plan of an aggregation over a shuffle, as Spark 4.1 logs it
    /// (the result stage Spark 4 wraps the root in, a query stage, an input adapter: none a node).
    fn aggregation() -> Value {
        let range = node("Range", json!([metric("number of output rows", 14, "sum")]), vec![]);
        let map = node("WholeStageCodegen (1)", json!([metric("duration", 13, "timing")]), vec![range]);
        let exchange = node("Exchange", json!([metric("data size", 12, "size")]), vec![map]);
        let stage = node("ShuffleQueryStage", json!([]), vec![exchange]);
        let adapter = node("InputAdapter", json!([]), vec![stage]);
        let aggregate = node(
            "HashAggregate",
            json!([
                metric("number of output rows", 10, "sum"),
                metric("time in aggregation build", 11, "timing"),
                metric("avg hash probes per key", 15, "average")
            ]),
            vec![adapter],
        );
        let reduce = node("WholeStageCodegen (2)", json!([]), vec![aggregate]);
        let result = node("ResultQueryStage", json!([]), vec![reduce]);
        node("AdaptiveSparkPlan", json!([]), vec![result])
    }

    /// One application with execution 0 (`plan`, ended with `error`) of job 0, and execution 1 running.
    fn app(plan: Value, error: Option<&str>) -> OneApp {
        let start = |id: i64, plan: &Value| {
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", "executionId": id,
                   "rootExecutionId": id, "description": format!("query {id}"), "details": "d",
                   "physicalPlanDescription": "== Physical Plan ==", "sparkPlanInfo": plan, "time": 10 + id})
            .to_string()
        };
        let mut end = json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd",
                             "executionId": 0, "time": 60});
        if let Some(error) = error {
            end["errorMessage"] = json!(error);
        }
        let lines = [
            r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1,"User":"u"}"#.to_owned(),
            start(0, &plan),
            r#"{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":12,"Stage Infos":[{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":1}],"Stage IDs":[0],"Properties":{"spark.sql.execution.id":"0"}}"#.to_owned(),
            r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task Type":"ResultTask","Task End Reason":{"Reason":"Success"},"Task Info":{"Task ID":3,"Index":0,"Attempt":0,"Launch Time":13,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":40,"Failed":false,"Killed":false,"Accumulables":[{"ID":10,"Name":"number of output rows","Update":"1234","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":11,"Name":"time in aggregation build","Update":"1250","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":12,"Name":"data size","Update":"4096","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":13,"Name":"duration","Update":"61000","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":15,"Name":"avg hash probes per key","Update":"12345","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"}]}}"#.to_owned(),
            r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":50,"Job Result":{"Result":"JobSucceeded"}}"#.to_owned(),
            end.to_string(),
            start(1, &node("LocalTableScan", json!([]), vec![])),
        ];
        let mut builder = DetailBuilder::new();
        for (n, line) in lines.iter().enumerate() {
            builder.push_line(n as u64 + 1, line);
        }
        OneApp(Arc::new(builder.finish()))
    }

    #[test]
    fn an_execution_answers_sparks_fields_with_its_graph_as_spark_builds_it() {
        let one = answer(&app(aggregation(), Some("")), "sql/0");
        assert_eq!(one["status"], "COMPLETED", "an empty error message is a success: {one}");
        // Spark 4.3's fields, in its order (no `queryId`: this start event has none, as before Spark 3.5).
        let fields = [
            "id",
            "status",
            "description",
            "planDescription",
            "submissionTime",
            "duration",
            "runningJobIds",
            "successJobIds",
            "failedJobIds",
            "nodes",
            "edges",
            "errorMessage",
            "rootExecutionId",
            "modifiedConfigs",
        ];
        assert_eq!(one.as_object().map(|o| o.len()), Some(fields.len()), "{one}");
        assert_eq!((one["errorMessage"].clone(), one["rootExecutionId"].clone()), (json!(""), json!(0)));
        assert_eq!(one["modifiedConfigs"], json!({}), "none in the start event: an empty map, as Spark's");
        assert_eq!(one["nodes"][0]["desc"], "Range (args)", "a node's desc is its operator's simpleString");
        let body = respond(&app(aggregation(), Some("")), "/api/v1/applications/app-1/sql/0", "").body;
        let at: Vec<usize> = fields.iter().filter_map(|f| body.find(&format!("\n  \"{f}\": "))).collect();
        assert!(at.len() == fields.len() && at.is_sorted(), "in Spark's order: {body}");
        assert_eq!(one["id"], 0);
        assert_eq!(
            (one["submissionTime"].as_str(), one["duration"].as_i64()),
            (Some("1970-01-01T00:00:00.010GMT"), Some(50))
        );
        assert_eq!(
            (one["description"].as_str(), one["planDescription"].as_str()),
            (Some("query 0"), Some("== Physical Plan =="))
        );
        assert_eq!(one["successJobIds"], json!([0]));
        assert_eq!((one["runningJobIds"].clone(), one["failedJobIds"].clone()), (json!([]), json!([])));
        // Newest node first; InputAdapter and the query stage are not nodes; the codegen clusters
        // are, and the operators inside one carry its id.
        let names: Vec<(i64, &str, Option<i64>)> = one["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                (
                    n["nodeId"].as_i64().unwrap_or(-1),
                    n["nodeName"].as_str().unwrap_or(""),
                    n["wholeStageCodegenId"].as_i64(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (5, "Range", Some(1)),
                (4, "WholeStageCodegen (1)", None),
                (3, "Exchange", None),
                (2, "HashAggregate", Some(2)),
                (1, "WholeStageCodegen (2)", None),
                (0, "AdaptiveSparkPlan", None)
            ]
        );
        assert!(
            one["nodes"][0].get("wholeStageCodegenId").is_some()
                && one["nodes"][1].get("wholeStageCodegenId").is_none()
        );
        assert_eq!(one["edges"], json!([{"fromId": 2, "toId": 0}, {"fromId": 3, "toId": 2}, {"fromId": 5, "toId": 3}]));
        // Metric values as Spark's listener writes one task's value; a metric nothing updated is left out.
        assert_eq!(one["nodes"][0]["metrics"], json!([]), "Range's rows were never reported");
        assert_eq!(one["nodes"][1]["metrics"], json!([{"name": "duration", "value": "1.0 m"}]));
        assert_eq!(one["nodes"][2]["metrics"], json!([{"name": "data size", "value": "4.0 KiB"}]));
        assert_eq!(
            one["nodes"][3]["metrics"],
            json!([{"name": "number of output rows", "value": "1,234"},
                   {"name": "time in aggregation build", "value": "1.3 s"},
                   {"name": "avg hash probes per key", "value": "1,234.5"}])
        );
    }

    #[test]
    fn the_list_takes_sparks_parameters_and_a_missing_execution_is_named() {
        let app = app(aggregation(), Some("[DIVIDE_BY_ZERO] boom"));
        let list = answer(&app, "sql");
        assert_eq!(list.as_array().map(Vec::len), Some(2));
        assert_eq!((list[0]["id"].clone(), list[0]["status"].clone()), (json!(0), json!("FAILED")));
        assert_eq!((list[1]["status"].clone(), list[1]["duration"].clone()), (json!("RUNNING"), json!(100 - 11)));
        assert!(!list[0]["nodes"].as_array().is_some_and(Vec::is_empty));
        let bare = answer(&app, "sql?details=false&planDescription=false");
        assert_eq!((bare[0]["nodes"].clone(), bare[0]["edges"].clone()), (json!([]), json!([])));
        assert_eq!(bare[0]["planDescription"], "");
        assert_eq!(answer(&app, "sql?details=FALSE")[0]["planDescription"], "== Physical Plan ==");
        assert_eq!(answer(&app, "sql?details=no")[0]["nodes"], json!([]), "not `true` is false, as Spark reads it");
        let ids = |route: &str| -> Vec<i64> {
            answer(&app, route).as_array().into_iter().flatten().filter_map(|e| e["id"].as_i64()).collect()
        };
        assert_eq!(ids("sql?offset=1&length=1"), [1]);
        assert_eq!(ids("sql?offset=5&length=1"), Vec::<i64>::new());
        assert_eq!(ids("sql?offset=1"), [0, 1], "without a positive length, every execution");
        assert_eq!(answer(&app, "sql/1?details=false")["status"], "RUNNING");
        let asked = |route: &str| respond(&app, &format!("/api/v1/applications/app-1/{route}"), "");
        let unknown = asked("sql/7");
        assert_eq!((unknown.status, unknown.body.as_str()), (404, "unknown query execution id: 7"));
        for bad in ["sql/x", "sql/-1", "sql/1.0"] {
            assert_eq!(asked(bad).status, 404, "{bad}: Spark's route takes digits only");
        }
        let bad_length = respond(&app, "/api/v1/applications/app-1/sql", "length=many");
        assert_eq!(bad_length.status, 404, "an int Spark cannot read");
    }

    #[test]
    fn a_reused_exchange_is_an_edge_to_the_exchange_it_reuses() {
        let exchange = node(
            "Exchange",
            json!([metric("shuffle records written", 30, "sum")]),
            vec![node("Range", json!([]), vec![])],
        );
        let reused = node("ReusedExchange", json!([]), vec![exchange.clone()]);
        let join = node("SortMergeJoin", json!([]), vec![exchange, reused]);
        let app = app(join, None);
        let graph = plan_graph(&app.0.sql.executions[&0].plan);
        assert_eq!(graph.nodes.iter().map(|n| n.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(graph.edges, [(1, 0), (2, 1), (1, 0)]);
        // No error message (Spark before 3.4) and no failed job: COMPLETED.
        assert_eq!(answer(&app, "sql/0")["status"], "COMPLETED");
    }

    fn spread(values: &[i64], kind: &str, at: Option<(i64, i64, i64)>) -> MetricSpread {
        let max_task = at.map(|(stage_id, stage_attempt, task_id)| sparkplane_appstatus::sql_executions::TaskRef {
            stage_id,
            stage_attempt,
            task_id,
        });
        MetricSpread::of(kind, &mut values.to_vec(), 0, max_task)
    }

    #[test]
    fn a_metric_of_many_tasks_reads_as_sparks_string_value() {
        const MIB: i64 = 1 << 20;
        let at = Some((3, 0, 12));
        let cases = [
            // Spread over tasks: total, then min, median, max and where the max came from.
            (
                "size",
                spread(&[MIB, 2 * MIB, 4 * MIB, 3 * MIB], "size", at),
                // Spark's units switch at twice the unit: 1 MiB is "1024.0 KiB".
                "total (min, med, max (stageId: taskId))\n10.0 MiB (1024.0 KiB, 3.0 MiB, 4.0 MiB (stage 3.0: task 12))",
            ),
            (
                "timing",
                spread(&[5, 1_250, 0, -1], "timing", Some((7, 1, 99))),
                "total (min, med, max (stageId: taskId))\n1.3 s (0 ms, 5 ms, 1.3 s (stage 7.1: task 99))",
            ),
            (
                "nsTiming",
                spread(&[1_999_999, 2_000_001], "nsTiming", at),
                "total (min, med, max (stageId: taskId))\n4 ms (1 ms, 2 ms, 2 ms (stage 3.0: task 12))",
            ),
            (
                "average",
                spread(&[0, 15, 20, 125], "average", at),
                "(min, med, max (stageId: taskId)):\n(1.5, 2, 12.5 (stage 3.0: task 12))",
            ),
            // The driver's update was the largest.
            (
                "size",
                spread(&[100, 2048], "size", None),
                "total (min, med, max (stageId: taskId))\n2.1 KiB (100.0 B, 2.0 KiB, 2.0 KiB (driver))",
            ),
            // A sum is its total, whatever the spread.
            ("sum", spread(&[1_000, 2_000_000, -1], "sum", at), "2,000,999"),
            // One task (or the driver alone): the value alone.
            ("size", spread(&[3 * MIB], "size", at), "3.0 MiB"),
            ("timing", spread(&[-1, 850], "timing", at), "850 ms"),
            ("nsTiming", spread(&[2_500_000_000], "nsTiming", at), "2.5 s"),
            ("average", spread(&[0, 125], "average", at), "12.5"),
            // No value it counts: 0 in its unit.
            ("size", spread(&[-1], "size", at), "0.0 B"),
            ("timing", spread(&[], "timing", None), "0 ms"),
            ("average", spread(&[0], "average", None), "0"),
            ("sum", spread(&[], "sum", None), "0"),
        ];
        for (kind, s, shown) in cases {
            assert_eq!(metric_string(kind, &s), shown, "{kind} {s:?}");
        }
    }

    #[test]
    fn values_read_as_sparks_listener_writes_them() {
        let cases = [
            ("sum", 1_234_567, "1,234,567"),
            ("sum", 0, "0"),
            ("size", 100, "100.0 B"),
            ("size", 3 << 20, "3.0 MiB"),
            ("timing", 850, "850 ms"),
            ("timing", 1_250, "1.3 s"),
            ("timing", 1_249, "1.2 s"),
            ("timing", 90_000, "1.5 m"),
            ("timing", 4_500_000, "1.25 h"),
            ("nsTiming", 2_500_000_000, "2.5 s"),
            ("average", 125, "12.5"),
            ("average", 10, "1"),
            ("average", 0, "0"),
        ];
        for (kind, value, shown) in cases {
            assert_eq!(metric_value(kind, value), shown, "{kind} {value}");
        }
        assert_eq!(grouped(-1_234_567), "-1,234,567");
        assert_eq!(codegen_id("WholeStageCodegen (12)"), Some(12));
        assert_eq!(codegen_id("WholeStageCodegen"), None);
    }
}
