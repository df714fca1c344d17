//! An application's SQL executions as Spark's SQL tab shows them: each
//! execution's description, times, outcome, jobs, and its physical plan as a
//! tree of operators with their SQL metrics.
//!
//! Owns: folding the SQL listener events (`SparkListenerSQLExecutionStart`,
//! `…End`, `…SQLAdaptiveExecutionUpdate`, `…SQLAdaptiveSQLMetricUpdates`,
//! `…DriverAccumUpdates`), the `spark.sql.execution.id` of job starts and the
//! SQL accumulators of completed stages into [`SqlExecutions`], part of the one
//! replay model (`AppDetail::sql` in the `replay` module), and an execution's
//! status as Spark decides it ([`SqlExecution::status`]), which the SQL pages
//! and the REST API both read.
//!
//! A metric's value is what Spark's SQL listener totals: the sum of its task
//! updates (read from the final accumulator value each completed stage
//! reports, so the tasks' SQL updates need not be kept) plus the driver's
//! update. Must not: do I/O, parse task events (replay does), or format
//! anything for a page (the `ui::sql` module does).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The SQL listener events' class prefix.
const SQL_UI: &str = "org.apache.spark.sql.execution.ui.";

/// One SQL metric of an operator, as `sparkPlanInfo` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanMetric {
    pub name: String,
    pub accumulator_id: i64,
    /// `sum`, `size`, `timing`, `nsTiming`, `average` (Spark's metric types).
    pub metric_type: String,
}

/// One operator of a physical plan, its children by index into [`SqlExecution::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOperator {
    pub name: String,
    /// `simpleString`: the operator with its arguments, one line.
    pub simple_string: String,
    pub metrics: Vec<PlanMetric>,
    pub children: Vec<usize>,
    /// For a `ReusedExchange`, the operator whose output it reuses (an
    /// exchange met earlier in the plan): its subtree is not repeated here,
    /// as Spark's plan graph draws it once.
    pub reuses: Option<usize>,
}

/// One SQL execution (one DataFrame or SQL action).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlExecution {
    pub id: i64,
    pub description: String,
    /// The call site Spark logs as `details`.
    pub details: String,
    /// `explain`'s formatted plan (the final one when adaptive execution re-planned).
    pub physical_plan_description: String,
    /// The operators in pre-order, the root first (empty when the log had no `sparkPlanInfo`).
    pub plan: Vec<PlanOperator>,
    pub submission_time: Option<i64>,
    pub completion_time: Option<i64>,
    /// `errorMessage` of its end event: empty when it succeeded (Spark 3.4
    /// on), absent from older Spark's events and while it runs.
    pub error_message: Option<String>,
    pub job_ids: BTreeSet<i64>,
    /// Driver-side metric updates, by accumulator id.
    pub driver_updates: BTreeMap<i64, i64>,
}

impl SqlExecution {
    /// Duration in ms once ended.
    pub fn duration(&self) -> Option<i64> {
        Some(self.completion_time? - self.submission_time?)
    }

    /// `RUNNING`, `COMPLETED` or `FAILED`, as Spark's SQL tab and REST API
    /// decide it: by the end event's `errorMessage`, empty when the execution
    /// succeeded (Spark 3.4 on); for an end event without one (older Spark)
    /// or no end yet, by its jobs: FAILED when one failed (`job_failed`).
    pub fn status(&self, job_failed: impl Fn(i64) -> bool) -> &'static str {
        match (&self.error_message, self.completion_time) {
            (Some(error), _) if error.is_empty() => "COMPLETED",
            (Some(_), _) => "FAILED",
            (None, None) => "RUNNING",
            (None, Some(_)) if self.job_ids.iter().any(|&id| job_failed(id)) => "FAILED",
            (None, Some(_)) => "COMPLETED",
        }
    }

    /// The end event's error, when it names one (an empty one means none).
    pub fn error(&self) -> Option<&str> {
        self.error_message.as_deref().filter(|e| !e.is_empty())
    }
}

/// The SQL executions of one application and the SQL accumulator totals.
#[derive(Debug, Clone, Default)]
pub struct SqlExecutions {
    pub executions: BTreeMap<i64, SqlExecution>,
    /// Accumulator id → its value as the latest completed stage reported it
    /// (the sum of the updates of that stage's and earlier stages' tasks).
    stage_totals: BTreeMap<i64, i64>,
}

impl SqlExecutions {
    /// The execution that ran job `job_id` (Spark's job page: "Associated SQL Query"), if any.
    pub fn of_job(&self, job_id: i64) -> Option<i64> {
        self.executions.iter().find(|(_, e)| e.job_ids.contains(&job_id)).map(|(id, _)| *id)
    }

    /// Folds an event if it is one this model reads; `name` is its `"Event"`.
    pub fn apply(&mut self, name: &str, event: &Value) {
        match name.strip_prefix(SQL_UI) {
            Some("SparkListenerSQLExecutionStart") => self.start(event),
            Some("SparkListenerSQLExecutionEnd") => {
                if let Some(e) = self.executions.get_mut(&int(event, "executionId")) {
                    e.completion_time = event.get("time").and_then(Value::as_i64);
                    e.error_message = event.get("errorMessage").and_then(Value::as_str).map(str::to_owned);
                }
            }
            Some("SparkListenerSQLAdaptiveExecutionUpdate") => {
                if let Some(e) = self.executions.get_mut(&int(event, "executionId")) {
                    e.physical_plan_description = string(event, "physicalPlanDescription");
                    e.plan = event.get("sparkPlanInfo").map(flatten_plan).unwrap_or_default();
                }
            }
            Some("SparkListenerDriverAccumUpdates") => self.driver_updates(event),
            _ => match name {
                "SparkListenerJobStart" => self.job_start(event),
                "SparkListenerStageCompleted" => self.stage_completed(event),
                _ => {}
            },
        }
    }

    fn start(&mut self, event: &Value) {
        let id = int(event, "executionId");
        let execution = SqlExecution {
            id,
            description: string(event, "description"),
            details: string(event, "details"),
            physical_plan_description: string(event, "physicalPlanDescription"),
            plan: event.get("sparkPlanInfo").map(flatten_plan).unwrap_or_default(),
            submission_time: event.get("time").and_then(Value::as_i64),
            ..SqlExecution::default()
        };
        self.executions.insert(id, execution);
    }

    fn driver_updates(&mut self, event: &Value) {
        let Some(e) = self.executions.get_mut(&int(event, "executionId")) else { return };
        for pair in event.get("accumUpdates").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(id), Some(value)) = (pair.get(0).and_then(Value::as_i64), pair.get(1).and_then(Value::as_i64))
            {
                e.driver_updates.insert(id, value);
            }
        }
    }

    fn job_start(&mut self, event: &Value) {
        let execution = event
            .get("Properties")
            .and_then(|p| p.get("spark.sql.execution.id"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok());
        if let Some(e) = execution.and_then(|id| self.executions.get_mut(&id)) {
            e.job_ids.insert(int(event, "Job ID"));
        }
    }

    fn stage_completed(&mut self, event: &Value) {
        let list = event.get("Stage Info").and_then(|i| i.get("Accumulables")).and_then(Value::as_array);
        for a in list.into_iter().flatten() {
            if a.get("Metadata").and_then(Value::as_str) != Some("sql") {
                continue;
            }
            let value = match a.get("Value") {
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => s.parse::<i64>().ok(),
                _ => None,
            };
            if let Some(value) = value {
                let slot = self.stage_totals.entry(int(a, "ID")).or_insert(value);
                *slot = (*slot).max(value);
            }
        }
    }

    /// A metric's total: its tasks' sum plus the driver's update; `None` when
    /// nothing updated it (Spark then shows no value). Spark starts size and
    /// timing metrics below zero until first set, so negative totals count as none.
    pub fn metric_value(&self, execution: &SqlExecution, accumulator_id: i64) -> Option<i64> {
        let tasks = self.stage_totals.get(&accumulator_id).copied().filter(|v| *v >= 0);
        let driver = execution.driver_updates.get(&accumulator_id).copied().filter(|v| *v >= 0);
        match (tasks, driver) {
            (None, None) => None,
            (t, d) => Some(t.unwrap_or(0) + d.unwrap_or(0)),
        }
    }

    /// A rough size in memory, for the detail cache's budget.
    pub fn approx_bytes(&self) -> u64 {
        let plans: usize = self
            .executions
            .values()
            .map(|e| e.physical_plan_description.len() + e.plan.len() * 256 + e.driver_updates.len() * 32)
            .sum();
        (plans + self.stage_totals.len() * 32) as u64
    }
}

fn int(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn string(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A `sparkPlanInfo` tree as operators in pre-order, without recursion (a
/// plan may be thousands of operators deep in unions or projections). A
/// `ReusedExchange` of an exchange met before is a leaf naming that exchange,
/// as Spark's plan graph points it there instead of repeating its subtree.
fn flatten_plan(root: &Value) -> Vec<PlanOperator> {
    let mut out: Vec<PlanOperator> = Vec::new();
    // Exchanges flattened so far, by what names one (its text and its metrics'
    // accumulator ids, unique to it; no deep comparison of hostile trees), for ReusedExchange.
    let mut exchanges: Vec<((String, Vec<i64>), usize)> = Vec::new();
    let identity = |node: &Value| {
        let ids = node.get("metrics").and_then(Value::as_array).into_iter().flatten();
        (string(node, "simpleString"), ids.map(|m| int(m, "accumulatorId")).collect::<Vec<_>>())
    };
    // (node, index of its parent in `out`)
    let mut stack: Vec<(&Value, Option<usize>)> = vec![(root, None)];
    while let Some((node, parent)) = stack.pop() {
        let index = out.len();
        let name = string(node, "nodeName");
        let first_child = node.get("children").and_then(Value::as_array).and_then(|c| c.first());
        let reuses = (name == "ReusedExchange")
            .then(|| {
                let wanted = identity(first_child?);
                exchanges.iter().find(|(seen, _)| *seen == wanted).map(|(_, at)| *at)
            })
            .flatten();
        if name.contains("Exchange") && name != "ReusedExchange" {
            exchanges.push((identity(node), index));
        }
        let metrics = node
            .get("metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| PlanMetric {
                name: string(m, "name"),
                accumulator_id: int(m, "accumulatorId"),
                metric_type: string(m, "metricType"),
            })
            .collect();
        out.push(PlanOperator {
            name,
            simple_string: string(node, "simpleString"),
            metrics,
            children: Vec::new(),
            reuses,
        });
        if let Some(p) = parent {
            out[p].children.push(index);
        }
        if reuses.is_some() {
            continue;
        }
        let children = node.get("children").and_then(Value::as_array);
        // Reversed onto the stack so the first child is visited (and numbered) first.
        for child in children.into_iter().flatten().rev() {
            stack.push((child, Some(index)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn plan() -> Value {
        json!({"nodeName": "HashAggregate", "simpleString": "HashAggregate(keys=[k])", "metrics": [
            {"name": "number of output rows", "accumulatorId": 10, "metricType": "sum"},
            {"name": "time in aggregation build", "accumulatorId": 11, "metricType": "timing"}],
          "children": [
            {"nodeName": "Exchange", "simpleString": "Exchange hashpartitioning(k)", "metrics": [
                {"name": "data size", "accumulatorId": 12, "metricType": "size"}],
             "children": [{"nodeName": "Scan a", "simpleString": "Scan a", "metrics": [], "children": []}]},
            {"nodeName": "Scan b", "simpleString": "Scan b", "metrics": [], "children": []}]})
    }

    fn fold(events: &[Value]) -> SqlExecutions {
        let mut sql = SqlExecutions::default();
        for e in events {
            sql.apply(e["Event"].as_str().unwrap_or_default(), e);
        }
        sql
    }

    #[test]
    fn an_execution_keeps_its_plan_jobs_times_and_metric_totals() {
        let sql = fold(&[
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", "executionId": 3,
                   "description": "count at x.py:1", "details": "d", "physicalPlanDescription": "== Physical Plan ==",
                   "sparkPlanInfo": plan(), "time": 1000}),
            json!({"Event": "SparkListenerJobStart", "Job ID": 7, "Properties": {"spark.sql.execution.id": "3"}}),
            json!({"Event": "SparkListenerJobStart", "Job ID": 8, "Properties": {}}),
            json!({"Event": "SparkListenerStageCompleted", "Stage Info": {"Accumulables": [
                {"ID": 10, "Name": "number of output rows", "Value": "40", "Metadata": "sql"},
                {"ID": 12, "Name": "data size", "Value": 2048, "Metadata": "sql"},
                {"ID": 11, "Name": "time", "Value": -1, "Metadata": "sql"},
                {"ID": 99, "Name": "internal.metrics.x", "Value": 5, "Internal": true}]}}),
            json!({"Event": "SparkListenerStageCompleted", "Stage Info": {"Accumulables": [
                {"ID": 10, "Name": "number of output rows", "Value": "55", "Metadata": "sql"}]}}),
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerDriverAccumUpdates", "executionId": 3,
                   "accumUpdates": [[12, 100]]}),
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd", "executionId": 3,
                   "time": 1500}),
        ]);
        let e = &sql.executions[&3];
        assert_eq!(e.description, "count at x.py:1");
        assert_eq!(e.job_ids.iter().copied().collect::<Vec<_>>(), [7]);
        assert_eq!(e.duration(), Some(500));
        let names: Vec<&str> = e.plan.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["HashAggregate", "Exchange", "Scan a", "Scan b"]);
        assert_eq!(e.plan[0].children, [1, 3]);
        assert_eq!(e.plan[1].children, [2]);
        assert_eq!(sql.metric_value(e, 10), Some(55));
        assert_eq!(sql.metric_value(e, 12), Some(2148));
        assert_eq!(sql.metric_value(e, 11), None);
        assert_eq!(sql.metric_value(e, 99), None);
    }

    #[test]
    fn adaptive_execution_replaces_the_plan_and_a_failed_one_keeps_its_error() {
        let sql = fold(&[
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", "executionId": 0,
                   "sparkPlanInfo": plan(), "time": 1}),
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate",
                   "executionId": 0, "physicalPlanDescription": "final",
                   "sparkPlanInfo": {"nodeName": "AdaptiveSparkPlan", "simpleString": "AdaptiveSparkPlan isFinalPlan=true",
                                     "metrics": [], "children": []}}),
            json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd", "executionId": 0,
                   "time": 9, "errorMessage": "boom"}),
        ]);
        let e = &sql.executions[&0];
        assert_eq!(e.plan.len(), 1);
        assert_eq!(e.physical_plan_description, "final");
        assert_eq!(e.error_message.as_deref(), Some("boom"));
    }

    /// A start line for execution `id` (the plan does not matter to the status) and `jobs` of it.
    fn started(id: i64, jobs: &[i64]) -> Vec<String> {
        let mut lines = vec![format!(
            r#"{{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","executionId":{id},"rootExecutionId":{id},"description":"d","details":"","physicalPlanDescription":"","sparkPlanInfo":{{"nodeName":"LocalTableScan","simpleString":"LocalTableScan","children":[],"metadata":{{}},"metrics":[]}},"time":1}}"#
        )];
        for job in jobs {
            lines.push(format!(
                r#"{{"Event":"SparkListenerJobStart","Job ID":{job},"Submission Time":2,"Stage Infos":[],"Stage IDs":[],"Properties":{{"spark.sql.execution.id":"{id}"}}}}"#
            ));
        }
        lines
    }

    /// The status of execution `id` after `lines`, jobs failed as `failed` says.
    fn status_after(lines: &[String], id: i64, failed: &[i64]) -> &'static str {
        let mut sql = SqlExecutions::default();
        for line in lines {
            let event: Value = serde_json::from_str(line).expect("a JSON event");
            sql.apply(event["Event"].as_str().unwrap_or_default(), &event);
        }
        sql.executions[&id].status(|job| failed.contains(&job))
    }

    #[test]
    fn the_status_is_sparks_on_every_line_an_empty_error_message_is_success() {
        // Real end events, verbatim, of each line. Spark 3.5.9 (tests/fixtures/trips-etl of the
        // event-log crate), 4.0.5 (write_logs.py's `sql` application) and 4.1.4 (sparkplane-observe's
        // Connect log) write an empty `errorMessage` for a query that succeeded: COMPLETED, not FAILED.
        let spark_3_5 = r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":0,"time":1795448813985,"errorMessage":""}"#;
        let spark_4_1 = r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":0,"time":1795480351579,"errorMessage":""}"#;
        let spark_4_0 = r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":7,"time":1795889208863,"errorMessage":""}"#;
        for (line, id, end) in [("3.5.9", 0, spark_3_5), ("4.0.5", 7, spark_4_0), ("4.1.4", 0, spark_4_1)] {
            let mut lines = started(id, &[0]);
            assert_eq!(status_after(&lines, id, &[]), "RUNNING", "{line}: before its end");
            lines.push(end.to_owned());
            assert_eq!(status_after(&lines, id, &[]), "COMPLETED", "{line}");
            // The end event decides, not the jobs: a query may succeed with a job of it failed.
            assert_eq!(status_after(&lines, id, &[0]), "COMPLETED", "{line}: the error message decides");
        }
        // A query whose tasks fail (tests/data/parity/write_logs.py's `sql` application, written by
        // pyspark 3.5.9, 4.0.5 and 4.1.4 for issue #66; their History Servers answered FAILED with
        // job 9 failed): each line's end event, verbatim.
        let failed_ends = [
            (
                "3.5.9",
                8,
                r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":8,"time":1795888069374,"errorMessage":"Job aborted due to stage failure: Task 0 in stage 24.0 failed 1 times, most recent failure: Lost task 0.0 in stage 24.0 (TID 12) (192.0.2.2 executor driver): java.lang.RuntimeException: ui: bad customer 7\n\tat org.apache.spark.sql.catalyst.expressions.GeneratedClass$GeneratedIteratorForCodegenStage1.project_doConsume_0$(Unknown Source)\n\tat org.apache.spark.sql.catalyst.expressions.GeneratedClass$GeneratedIteratorForCodegenStage1.processNext(Unknown Source)\n\tat org.apache.spark.sql.execution.BufferedRowIterator.hasNext(BufferedRowIterator.java:43)\n\tat org.apache.spark.sql.execution.WholeStageCodegenEvaluatorFactory$WholeStageCodegenPartitionEvaluator$$anon$1.hasNext(WholeStageCodegenEvaluatorFactory.scala:43)\n\tat org.apache.spark.sql.execution.SparkPlan.$anonfun$getByteArrayRdd$1(SparkPlan.scala:388)\n\tat org.apache.spark.rdd.RDD.$anonfun$mapPartitionsInternal$2(RDD.scala:893)\n\tat org.apache.spark.rdd.RDD.$anonfun$mapPartitionsInternal$2$adapted(RDD.scala:893)\n\tat org.apache.spark.rdd.MapPartitionsRDD.compute(MapPartitionsRDD.scala:52)\n\tat org.apache.spark.rdd.RDD.computeOrReadCheckpoint(RDD.scala:367)\n\tat org.apache.spark.rdd.RDD.iterator(RDD.scala:331)\n\tat org.apache.spark.scheduler.ResultTask.runTask(ResultTask.scala:93)\n\tat org.apache.spark.TaskContext.runTaskWithListeners(TaskContext.scala:166)\n\tat org.apache.spark.scheduler.Task.run(Task.scala:141)\n\tat org.apache.spark.executor.Executor$TaskRunner.$anonfun$run$4(Executor.scala:621)\n\tat org.apache.spark.util.SparkErrorUtils.tryWithSafeFinally(SparkErrorUtils.scala:64)\n\tat org.apache.spark.util.SparkErrorUtils.tryWithSafeFinally$(SparkErrorUtils.scala:61)\n\tat org.apache.spark.util.Utils$.tryWithSafeFinally(Utils.scala:94)\n\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:624)\n\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)\n\tat java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)\n\tat java.base/java.lang.Thread.run(Thread.java:840)\n\nDriver stacktrace:"}"#,
            ),
            (
                "4.0.5",
                9,
                r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":9,"time":1795889213675,"errorMessage":"[USER_RAISED_EXCEPTION] ui: bad customer 7 SQLSTATE: P0001"}"#,
            ),
            (
                "4.1.4",
                9,
                r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":9,"time":1795888107500,"errorMessage":"[USER_RAISED_EXCEPTION] ui: bad customer 7 SQLSTATE: P0001"}"#,
            ),
        ];
        for (line, id, end) in failed_ends {
            let mut lines = started(id, &[9]);
            lines.push(end.to_owned());
            assert_eq!(status_after(&lines, id, &[9]), "FAILED", "{line}");
            assert_eq!(status_after(&lines, id, &[]), "FAILED", "{line}: the error message decides");
        }
        // Spark 4.1.4's end of a query that failed in analysis (no job): FAILED, with its error.
        let failed_4_1 = r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":1,"time":1795480352670,"errorMessage":"[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. Verify the spelling and correctness of the schema and catalog.\nIf you did not qualify the name with a schema, verify the current_schema() output, or qualify the name with the correct schema and catalog.\nTo tolerate the error on drop use DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01; line 1 pos 14;\n'Project [*]\n+- 'UnresolvedRelation [nope], [], false\n"}"#;
        let mut lines = started(1, &[]);
        lines.push(failed_4_1.to_owned());
        assert_eq!(status_after(&lines, 1, &[]), "FAILED");
        let mut sql = SqlExecutions::default();
        for line in &lines {
            let event: Value = serde_json::from_str(line).expect("a JSON event");
            sql.apply(event["Event"].as_str().unwrap_or_default(), &event);
        }
        assert!(sql.executions[&1].error().is_some_and(|e| e.starts_with("[TABLE_OR_VIEW_NOT_FOUND]")));
        // Spark before 3.4 wrote no `errorMessage` (Spark's own 3.3.0 log, sparkplane-history's
        // tests/data/spark-history/spark-events/local-1642039451826): its jobs decide.
        let legacy = r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":0,"time":1642039497259}"#;
        let mut lines = started(0, &[0, 1]);
        lines.push(legacy.to_owned());
        assert_eq!(status_after(&lines, 0, &[]), "COMPLETED");
        assert_eq!(status_after(&lines, 0, &[1]), "FAILED", "a failed job fails an execution that names no error");
        let mut sql = SqlExecutions::default();
        for line in &lines {
            let event: Value = serde_json::from_str(line).expect("a JSON event");
            sql.apply(event["Event"].as_str().unwrap_or_default(), &event);
        }
        assert_eq!(sql.executions[&0].error(), None);
    }

    #[test]
    fn a_reused_exchange_points_at_the_exchange_it_reuses_instead_of_repeating_it() {
        let exchange = json!({"nodeName": "Exchange", "simpleString": "Exchange hashpartitioning(k)", "metrics": [
            {"name": "shuffle records written", "accumulatorId": 30, "metricType": "sum"}],
          "children": [{"nodeName": "HashAggregate", "simpleString": "HashAggregate(keys=[k])", "metrics": [
            {"name": "number of output rows", "accumulatorId": 31, "metricType": "sum"}], "children": [
              {"nodeName": "Range", "simpleString": "Range (0, 9)", "metrics": [], "children": []}]}]});
        let join = json!({"nodeName": "SortMergeJoin", "simpleString": "SortMergeJoin [k]", "metrics": [], "children": [
            exchange.clone(),
            {"nodeName": "ReusedExchange", "simpleString": "ReusedExchange [k], Exchange hashpartitioning(k)",
             "metrics": [], "children": [exchange]}]});
        let ops = flatten_plan(&join);
        let names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["SortMergeJoin", "Exchange", "HashAggregate", "Range", "ReusedExchange"]);
        assert_eq!(ops[4].reuses, Some(1), "it names the exchange met first");
        assert!(ops[4].children.is_empty(), "and does not repeat its subtree");
        assert_eq!(ops[0].children, [1, 4]);
        // A ReusedExchange whose exchange was not met before is kept whole, as Spark's graph keeps it.
        let alone = json!({"nodeName": "ReusedExchange", "simpleString": "ReusedExchange", "metrics": [],
            "children": [{"nodeName": "Exchange", "simpleString": "Exchange x", "metrics": [], "children": []}]});
        let ops = flatten_plan(&alone);
        assert_eq!((ops.len(), ops[0].reuses), (2, None));
    }

    #[test]
    fn a_plan_thousands_deep_is_flattened_without_recursion() {
        let mut node = json!({"nodeName": "Scan", "simpleString": "Scan", "metrics": [], "children": []});
        for _ in 0..5000 {
            // Moved in by hand: `json!` would serialize `node` again, recursively.
            let mut parent = serde_json::Map::new();
            parent.insert("nodeName".to_owned(), json!("Project"));
            parent.insert("simpleString".to_owned(), json!("Project"));
            parent.insert("metrics".to_owned(), json!([]));
            parent.insert("children".to_owned(), Value::Array(vec![node]));
            node = Value::Object(parent);
        }
        let ops = flatten_plan(&node);
        assert_eq!(ops.len(), 5001);
        assert_eq!(ops[4999].children, [5000]);
        // serde_json's Value drops recursively; let it go on a thread with room.
        std::thread::Builder::new().stack_size(64 << 20).spawn(move || drop(node)).expect("thread").join().ok();
    }
}
