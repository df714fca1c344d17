//! The SQL tab at Spark's URLs: `SQL/` (every SQL execution with its
//! description, submission time, duration, status and jobs) and
//! `SQL/execution/?id=N` (one execution: its jobs, the physical plan drawn as
//! a graph with each operator's metrics, the operators' metrics as a table,
//! and `explain`'s text).
//!
//! Owns: the SQL tab's page bodies and the plan graph's layout (ADR 0068): a
//! layered tree laid out in Rust and drawn as inline SVG, root at the bottom
//! as Spark draws it, leaves in columns and each parent centred over its
//! children; no script. A plan larger than [`MAX_GRAPH_OPERATORS`] draws its
//! first operators (pre-order, from the root) and says so; the operator table
//! below lists every operator, [`OPERATOR_PAGE`] to a page (`op.page`,
//! `op.pageSize`, paged on the server as the task table is), so nothing is
//! hidden and the browser never parses more than a bounded page.
//!
//! Must not: read logs (the plans and metrics' spreads come from the one replay
//! model, [`sparkplane_appstatus::sql_executions`]), or compute a figure another page shows
//! differently: a metric reads as the REST API's `sql` gives it (Spark's
//! string, [`crate::api::sql::metric_string`]). Numbers carry their raw value
//! (a metric's total) in `data-v`, as every page does.

use std::fmt::Write;

use crate::ui::{AppView, Page, Params, Tab, date, duration, esc, esc_attr, num};
use std::collections::BTreeMap;

use crate::api::sql::metric_string;
use sparkplane_appstatus::sql_executions::{MetricSpread, PlanMetric, PlanOperator, SqlExecution, SqlExecutions};

/// The most operators the graph draws; the table lists every one.
pub const MAX_GRAPH_OPERATORS: usize = 1500;
/// Operators per page of the operator table unless `op.pageSize` says
/// otherwise, and the most a page lists.
pub const OPERATOR_PAGE: usize = 200;
const MAX_OPERATOR_PAGE: usize = 10_000;
/// Metric lines shown inside an operator's box (the table has all).
const BOX_METRICS: usize = 4;
const BOX_WIDTH: i64 = 240;
const COLUMN: i64 = BOX_WIDTH + 24;
const LINE: i64 = 15;
const LEVEL_GAP: i64 = 36;
/// Characters of a name or metric shown in a box (the full text is its tooltip).
const BOX_CHARS: usize = 34;

/// `RUNNING`, `FAILED` or `COMPLETED`: the model's status of an execution
/// ([`SqlExecution::status`]), which the REST API answers too.
pub fn status(view: &AppView, execution: &SqlExecution) -> &'static str {
    execution.status(|id| view.detail.jobs.get(&id).is_some_and(|j| j.status == "FAILED"))
}

/// `SQL/`: every SQL execution of the application, newest first as Spark lists them.
pub fn executions_page(view: &AppView, _params: &Params) -> Page {
    let sql = &view.detail.sql;
    let mut body = String::new();
    if sql.executions.is_empty() {
        body.push_str("<p class=\"muted\">This application ran no SQL or DataFrame action.</p>");
        return Page::ok(Tab::Sql, "SQL", body);
    }
    let _ = write!(
        body,
        "<p><span data-v=\"{n}\" data-count=\"executions\">{n}</span> {}</p><table>\
         <thead><tr><th>ID</th><th>Description</th><th>Submitted</th><th>Duration</th><th>Status</th>\
         <th>Succeeded jobs</th><th>Failed jobs</th><th>Running jobs</th></tr></thead><tbody>",
        crate::ui::plural(sql.executions.len(), "execution", "executions"),
        n = sql.executions.len()
    );
    for e in sql.executions.values().rev() {
        let link = esc_attr(&view.link(&format!("SQL/execution/?id={}", e.id)));
        let description = if e.description.is_empty() { "(no description)" } else { &e.description };
        let _ = write!(
            body,
            "<tr data-execution=\"{id}\"><td class=\"n\" data-v=\"{id}\"><a href=\"{link}\">{id}</a></td>\
             <td><a href=\"{link}\">{}</a></td><td>{}</td>{}<td class=\"{st}\">{st}</td>{}</tr>",
            esc(description),
            e.submission_time.map(date).unwrap_or_default(),
            duration_cell(e),
            job_cells(view, e),
            id = e.id,
            st = status(view, e),
        );
    }
    body.push_str("</tbody></table>");
    Page::ok(Tab::Sql, "SQL", body)
}

fn duration_cell(e: &SqlExecution) -> String {
    match e.duration() {
        Some(ms) => num(ms, &duration(ms)).replacen("<td ", "<td data-key=\"duration\" ", 1),
        None => "<td class=\"n\">running</td>".to_owned(),
    }
}

/// The succeeded, failed and running job cells, each job linking to its page.
fn job_cells(view: &AppView, e: &SqlExecution) -> String {
    let mut cells = String::new();
    for wanted in ["SUCCEEDED", "FAILED", "RUNNING"] {
        let links: Vec<String> = e
            .job_ids
            .iter()
            .filter(|id| view.detail.jobs.get(id).map_or("UNKNOWN", |j| j.status) == wanted)
            .map(|id| {
                let href = esc_attr(&view.link(&format!("jobs/job/?id={id}")));
                format!("<a href=\"{href}\" data-job=\"{id}\">{id}</a>")
            })
            .collect();
        let _ = write!(cells, "<td data-jobs=\"{}\">{}</td>", wanted.to_ascii_lowercase(), links.join(" "));
    }
    cells
}

/// `SQL/execution/?id=N`: one execution, its jobs, plan graph and metrics.
pub fn execution_page(view: &AppView, id: i64, params: &Params) -> Page {
    let sql = &view.detail.sql;
    let Some(e) = sql.executions.get(&id) else {
        let known = sql.executions.len();
        return view
            .asked(404, &format!("Application {} has no SQL execution {id} ({known} known).", view.attempt.app_id));
    };
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>{}</p><table class=\"facts\"><tbody><tr><th>Submitted</th><td>{}</td></tr><tr><th>Duration</th>{}</tr>\
         <tr><th>Status</th><td class=\"{st}\">{st}</td></tr></tbody></table>",
        esc(&e.description),
        e.submission_time.map(date).unwrap_or_default(),
        duration_cell(e),
        st = status(view, e),
    );
    let _ = write!(
        body,
        "<table><thead><tr><th>Succeeded jobs</th><th>Failed jobs</th><th>Running jobs</th></tr></thead>\
         <tbody><tr>{}</tr></tbody></table>",
        job_cells(view, e)
    );
    if let Some(error) = e.error() {
        let _ = write!(body, "<h3>Error</h3><pre>{}</pre>", esc(error));
    }
    let pages = match OperatorPages::of(view, params, id, e.plan.len()) {
        Ok(pages) => pages,
        Err(page) => return page,
    };
    body.push_str("<h3>Plan</h3>");
    body.push_str(&graph(sql, e, &pages));
    body.push_str(&operator_table(sql, e, &pages));
    if !e.physical_plan_description.is_empty() {
        let _ = write!(
            body,
            "<details><summary>Physical plan (explain)</summary><pre>{}</pre></details>",
            esc(&e.physical_plan_description)
        );
    }
    if !e.details.is_empty() {
        let _ = write!(body, "<details><summary>Call site</summary><pre>{}</pre></details>", esc(&e.details));
    }
    Page::ok(Tab::Sql, format!("SQL execution {id}"), body)
}

/// A metric's value as Spark's SQL tab words it (the REST API's string,
/// [`metric_string`]: a spread over tasks on two lines), and its total for
/// sorting; `None` when nothing updated it.
fn metric_shown(spreads: &BTreeMap<i64, MetricSpread>, m: &PlanMetric) -> Option<(i64, String)> {
    let spread = spreads.get(&m.accumulator_id)?;
    Some((spread.total, metric_string(&m.metric_type, spread)))
}

/// Which operators the table's shown page lists, and the link to any
/// operator's row (on this page or another).
struct OperatorPages {
    execution: i64,
    offset: usize,
    end: usize,
    size: usize,
    total: usize,
    /// `op.pageSize` was given, so links carry it on.
    sized: bool,
}

impl OperatorPages {
    /// Reads `op.page` (from 1) and `op.pageSize` (clamped to 1..=[`MAX_OPERATOR_PAGE`]);
    /// a value that is not a whole number is the 400 page saying so.
    fn of(view: &AppView, params: &Params, execution: i64, total: usize) -> Result<OperatorPages, Page> {
        let given = params.int("op.pageSize", view)?;
        let size = given.map_or(OPERATOR_PAGE, |n| usize::try_from(n).unwrap_or(1).clamp(1, MAX_OPERATOR_PAGE));
        let page = params.int("op.page", view)?.map_or(1, |n| usize::try_from(n).unwrap_or(1).max(1));
        let offset = (page - 1).saturating_mul(size).min(total);
        Ok(OperatorPages { execution, offset, end: (offset + size).min(total), size, total, sized: given.is_some() })
    }

    /// The link to the page starting at `offset`, ending at `anchor`.
    fn page_link(&self, offset: usize, anchor: &str) -> String {
        let size = if self.sized { format!("&op.pageSize={}", self.size) } else { String::new() };
        format!("?id={}&op.page={}{size}#{anchor}", self.execution, offset / self.size + 1)
    }

    /// The link to operator `index`'s row: its anchor on this page, else its page.
    fn row_link(&self, index: usize) -> String {
        if (self.offset..self.end).contains(&index) {
            format!("#op-{index}")
        } else {
            self.page_link(index / self.size * self.size, &format!("op-{index}"))
        }
    }
}

/// Each operator's metrics: one page of the plan's operators (every
/// operator is on some page).
fn operator_table(sql: &SqlExecutions, e: &SqlExecution, pages: &OperatorPages) -> String {
    let spreads = sql.spreads(e);
    let mut out = format!("<h3 id=\"operators\">Operators ({})</h3>", pages.total);
    if pages.total > pages.size {
        out.push_str(&crate::ui::pager(pages.offset, pages.end - pages.offset, pages.total, pages.size, &|o| {
            pages.page_link(o, "operators")
        }));
    }
    out.push_str(
        "<table class=\"operators\"><thead><tr><th>#</th><th>Operator</th><th>Metric</th>\
         <th>Value</th></tr></thead><tbody>",
    );
    for (index, op) in e.plan.iter().enumerate().take(pages.end).skip(pages.offset) {
        let rows = op.metrics.len().max(1);
        let _ = write!(
            out,
            "<tr id=\"op-{index}\"><td class=\"n\" rowspan=\"{rows}\">{index}</td><td rowspan=\"{rows}\" title=\"{}\">{}</td>",
            esc_attr(&op.simple_string),
            esc(&op.name)
        );
        if let (Some(at), true) = (op.reuses, op.metrics.is_empty()) {
            let _ = write!(
                out,
                "<td colspan=\"2\" data-reuses=\"{at}\">reuses the output of <a href=\"{}\">operator {at}</a> \
                 ({})</td></tr>",
                esc_attr(&pages.row_link(at)),
                esc(e.plan.get(at).map_or("", |o| o.name.as_str()))
            );
        } else if op.metrics.is_empty() {
            out.push_str("<td class=\"muted\">none</td><td></td></tr>");
        }
        for (i, m) in op.metrics.iter().enumerate() {
            if i > 0 {
                out.push_str("<tr>");
            }
            let cell = match metric_shown(&spreads, m) {
                Some((v, text)) => num(v, &text).replacen(
                    "<td ",
                    &format!(
                        "<td style=\"white-space:pre-line\" data-metric=\"{}\" data-accumulator=\"{}\" data-operator=\"{}\" ",
                        esc_attr(&m.name),
                        m.accumulator_id,
                        esc_attr(&op.name)
                    ),
                    1,
                ),
                None => "<td class=\"n muted\">-</td>".to_owned(),
            };
            let _ = write!(out, "<td>{}</td>{cell}</tr>", esc(&m.name));
        }
    }
    out.push_str("</tbody></table>");
    out
}

/// Where each drawn operator's box sits.
struct Layout {
    /// (x, y, height) per drawn operator, by index.
    boxes: Vec<(i64, i64, i64)>,
    width: i64,
    height: i64,
}

fn box_height(op: &PlanOperator) -> i64 {
    LINE * (2 + op.metrics.len().min(BOX_METRICS) as i64) + 8
}

/// Lays out the first `drawn` operators (pre-order, so they are the root's
/// connected top part): leaves take columns left to right, a parent sits
/// centred over its drawn children, each level is as tall as its tallest box,
/// and the root's level is at the bottom. Iterative, linear in `drawn`.
fn layout(plan: &[PlanOperator], drawn: usize) -> Layout {
    let mut depth = vec![0usize; drawn];
    for i in 0..drawn {
        for &c in plan[i].children.iter().filter(|&&c| c < drawn) {
            depth[c] = depth[i] + 1;
        }
    }
    // Columns: children come after their parent in pre-order, so a reverse pass sees children first.
    let mut column = vec![0f64; drawn];
    let mut next_leaf = 0f64;
    let mut leaf_order: Vec<usize> = (0..drawn).filter(|&i| !plan[i].children.iter().any(|&c| c < drawn)).collect();
    leaf_order.sort_unstable();
    for i in leaf_order {
        column[i] = next_leaf;
        next_leaf += 1.0;
    }
    for i in (0..drawn).rev() {
        let kids: Vec<usize> = plan[i].children.iter().copied().filter(|&c| c < drawn).collect();
        if let (Some(first), Some(last)) = (kids.first(), kids.last()) {
            column[i] = (column[*first] + column[*last]) / 2.0;
        }
    }
    let levels = depth.iter().copied().max().map_or(0, |d| d + 1);
    let mut level_height = vec![0i64; levels];
    for i in 0..drawn {
        level_height[depth[i]] = level_height[depth[i]].max(box_height(&plan[i]));
    }
    // The deepest level on top: its y is 0.
    let mut top = vec![0i64; levels];
    let mut y = 8;
    for d in (0..levels).rev() {
        top[d] = y;
        y += level_height[d] + LEVEL_GAP;
    }
    let boxes =
        (0..drawn).map(|i| ((column[i] * COLUMN as f64) as i64 + 8, top[depth[i]], box_height(&plan[i]))).collect();
    Layout { boxes, width: next_leaf as i64 * COLUMN + 16, height: y }
}

fn clipped(text: &str) -> String {
    if text.chars().count() <= BOX_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(BOX_CHARS - 1).collect();
    short.push('…');
    short
}

/// The plan as inline SVG: a box per operator (name, then its first metrics),
/// an edge from each child up to its parent, each box linking to its table row.
fn graph(sql: &SqlExecutions, e: &SqlExecution, pages: &OperatorPages) -> String {
    if e.plan.is_empty() {
        return "<p class=\"muted\">The log holds no plan for this execution.</p>".to_owned();
    }
    let drawn = e.plan.len().min(MAX_GRAPH_OPERATORS);
    let spreads = sql.spreads(e);
    let l = layout(&e.plan, drawn);
    let mut svg = String::with_capacity(drawn * 400);
    if drawn < e.plan.len() {
        let _ = write!(
            svg,
            "<p class=\"muted\" data-graph-bounded=\"{drawn}\">The graph draws the first {drawn} of {} operators \
             (from the root); the table below lists every one.</p>",
            e.plan.len()
        );
    }
    let _ = write!(
        svg,
        "<div class=\"plan\" style=\"overflow:auto;max-height:80vh;border:1px solid var(--line)\">\
         <svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Physical plan\" width=\"{}\" height=\"{}\" \
         data-operators=\"{drawn}\"><g fill=\"none\" stroke=\"var(--muted)\">",
        l.width, l.height
    );
    for (i, op) in e.plan.iter().enumerate().take(drawn) {
        let (px, py, _) = l.boxes[i];
        for &c in op.children.iter().filter(|&&c| c < drawn) {
            let (cx, cy, ch) = l.boxes[c];
            let half = BOX_WIDTH / 2;
            let _ = write!(svg, "<path d=\"M{} {}V{}H{}V{}\"/>", cx + half, cy + ch, py - LEVEL_GAP / 2, px + half, py);
        }
    }
    svg.push_str("</g>");
    for (i, op) in e.plan.iter().enumerate().take(drawn) {
        let (x, y, h) = l.boxes[i];
        let _ = write!(
            svg,
            "<a href=\"{}\"><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_WIDTH}\" height=\"{h}\" rx=\"4\" \
             fill=\"var(--head)\" stroke=\"var(--line)\"/><text x=\"{}\" y=\"{}\" font-weight=\"600\">{}</text>",
            esc_attr(&pages.row_link(i)),
            esc(&op.simple_string),
            x + 6,
            y + LINE + 2,
            esc(&clipped(&op.name))
        );
        if let Some(at) = op.reuses {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"12\">reuses operator {at}</text>",
                x + 6,
                y + LINE * 2 + 2
            );
        }
        for (k, m) in op.metrics.iter().take(BOX_METRICS).enumerate() {
            // A spread's second line: its values and the task of the largest.
            let value =
                metric_shown(&spreads, m).map(|(_, text)| text.rsplit('\n').next().unwrap_or_default().to_owned());
            let line = format!("{}: {}", m.name, value.as_deref().unwrap_or("-"));
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>",
                x + 6,
                y + LINE * (k as i64 + 2) + 2,
                esc(&clipped(&line))
            );
        }
        svg.push_str("</a>");
    }
    svg.push_str("</svg></div>");
    svg
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ui::fixture::{OneApp, facts, replay};
    use crate::ui::respond;
    use crate::units::grouped;

    fn sql_app(plan: serde_json::Value) -> OneApp {
        sql_app_ending(plan, None)
    }

    /// [`sql_app`] whose execution ends with `error` as its `errorMessage` (none: Spark before 3.4).
    fn sql_app_ending(plan: serde_json::Value, error: Option<&str>) -> OneApp {
        let mut end = serde_json::json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd",
            "executionId": 4, "time": 1_700_000_002_500i64});
        if let Some(error) = error {
            end["errorMessage"] = serde_json::json!(error);
        }
        let start = serde_json::json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart",
            "executionId": 4, "description": "join <b>x</b>", "details": "d", "physicalPlanDescription": "== Plan <&> ==",
            "sparkPlanInfo": plan, "time": 1_700_000_000_000i64});
        let lines = vec![
            r#"{"Event":"SparkListenerApplicationStart","App Name":"sql","App ID":"app-1","Timestamp":1700000000000,"User":"u"}"#.to_owned(),
            start.to_string(),
            r#"{"Event":"SparkListenerJobStart","Job ID":2,"Submission Time":1700000000001,"Stage Infos":[{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":3}],"Stage IDs":[0],"Properties":{"spark.sql.execution.id":"4"}}"#.to_owned(),
            r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task Type":"ResultTask","Task End Reason":{"Reason":"Success"},"Task Info":{"Task ID":10,"Index":0,"Attempt":0,"Launch Time":13,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":40,"Failed":false,"Killed":false,"Accumulables":[{"ID":10,"Name":"number of output rows","Update":"1000000","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":12,"Name":"data size","Update":"2048","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":13,"Name":"avg","Update":"15","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"}]}}"#.to_owned(),
            r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task Type":"ResultTask","Task End Reason":{"Reason":"Success"},"Task Info":{"Task ID":11,"Index":1,"Attempt":0,"Launch Time":13,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":40,"Failed":false,"Killed":false,"Accumulables":[{"ID":10,"Name":"number of output rows","Update":"200000","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":12,"Name":"data size","Update":"4096","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":13,"Name":"avg","Update":"0","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"}]}}"#.to_owned(),
            r#"{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task Type":"ResultTask","Task End Reason":{"Reason":"Success"},"Task Info":{"Task ID":12,"Index":2,"Attempt":0,"Launch Time":13,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":40,"Failed":false,"Killed":false,"Accumulables":[{"ID":10,"Name":"number of output rows","Update":"34567","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":12,"Name":"data size","Update":"2048","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"},{"ID":13,"Name":"avg","Update":"25","Value":"0","Internal":true,"Count Failed Values":true,"Metadata":"sql"}]}}"#.to_owned(),
            r#"{"Event":"SparkListenerJobEnd","Job ID":2,"Completion Time":1700000000400,"Job Result":{"Result":"JobSucceeded"}}"#.to_owned(),
            end.to_string(),
            r#"{"Event":"SparkListenerApplicationEnd","Timestamp":1700000003000}"#.to_owned(),
        ];
        let detail = replay(&lines);
        OneApp {
            attempt: crate::api::AttemptInfo {
                app_id: "app-1".to_owned(),
                attempt_id: None,
                name: "sql".to_owned(),
                start_ms: 1_700_000_000_000,
                end_ms: 1_700_000_003_000,
                last_updated_ms: 1_700_000_003_000,
                user: "u".to_owned(),
                completed: true,
                spark_version: "4.1.1".to_owned(),
                exit_code: None,
            },
            detail: Arc::new(detail),
        }
    }

    fn small_plan() -> serde_json::Value {
        serde_json::json!({"nodeName": "HashAggregate", "simpleString": "HashAggregate(keys=[k])", "metrics": [
            {"name": "number of output rows", "accumulatorId": 10, "metricType": "sum"}],
          "children": [{"nodeName": "Exchange", "simpleString": "Exchange <x>", "metrics": [
            {"name": "data size", "accumulatorId": 12, "metricType": "size"},
            {"name": "avg", "accumulatorId": 13, "metricType": "average"}], "children": []}]})
    }

    #[test]
    fn the_list_shows_each_execution_with_duration_status_and_job_links() {
        let app = sql_app(small_plan());
        let html = respond(&app, &facts, "/history/app-1/SQL/", "");
        assert_eq!(html.status, 200, "{}", html.body);
        let b = &html.body;
        assert!(b.contains("href=\"/history/app%2D1/SQL/execution/?id=4\">join &lt;b&gt;x&lt;/b&gt;</a>"), "{b}");
        assert!(b.contains("<td data-key=\"duration\" class=\"n\" data-v=\"2500\">3 s</td>"), "{b}");
        assert!(b.contains("<td class=\"COMPLETED\">COMPLETED</td>"), "{b}");
        assert!(b.contains(">1</span> execution</p>"), "one execution, not \"1 executions\": {b}");
        assert!(
            b.contains(
                "<td data-jobs=\"succeeded\"><a href=\"/history/app%2D1/jobs/job/?id=2\" data-job=\"2\">2</a></td>"
            ),
            "{b}"
        );
        assert!(b.contains("2023-11-14 22:13:20"), "{b}");
    }

    #[test]
    fn an_empty_error_message_is_a_success_and_a_named_one_a_failure_with_its_error() {
        // Spark 3.4 on ends every execution with an `errorMessage`, empty when it succeeded.
        let ok = sql_app_ending(small_plan(), Some(""));
        for (path, query) in [("/history/app-1/SQL/", ""), ("/history/app-1/SQL/execution/", "id=4")] {
            let html = respond(&ok, &facts, path, query);
            assert!(html.body.contains("<td class=\"COMPLETED\">COMPLETED</td>"), "{path}: {}", html.body);
            assert!(!html.body.contains("<td class=\"FAILED\">"), "{path}: {}", html.body);
            assert!(!html.body.contains("<h3>Error</h3>"), "{path}: no empty error box: {}", html.body);
        }
        let failed = sql_app_ending(small_plan(), Some("[DIVIDE_BY_ZERO] <boom>"));
        let html = respond(&failed, &facts, "/history/app-1/SQL/execution/", "id=4");
        assert!(html.body.contains("<td class=\"FAILED\">FAILED</td>"), "{}", html.body);
        assert!(html.body.contains("<h3>Error</h3><pre>[DIVIDE_BY_ZERO] &lt;boom&gt;</pre>"), "{}", html.body);
        let list = respond(&failed, &facts, "/history/app-1/SQL/", "");
        assert!(list.body.contains("<td class=\"FAILED\">FAILED</td>"), "{}", list.body);
    }

    #[test]
    fn an_execution_draws_its_plan_with_sparks_metric_strings_and_escapes_log_text() {
        let app = sql_app(small_plan());
        let html = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=4");
        assert_eq!(html.status, 200, "{}", html.body);
        let b = &html.body;
        assert!(b.contains("data-operators=\"2\""), "{b}");
        assert!(b.contains("data-metric=\"number of output rows\" data-accumulator=\"10\" data-operator=\"HashAggregate\" class=\"n\" data-v=\"1234567\">1,234,567</td>"), "{b}");
        // Spread over three tasks: Spark's string, its two lines kept apart, the total to sort by.
        assert!(
            b.contains(
                "data-v=\"8192\">total (min, med, max (stageId: taskId))\n8.0 KiB (2.0 KiB, 2.0 KiB, 4.0 KiB (stage 0.0: \
                 task 11))</td>"
            ),
            "{b}"
        );
        assert!(b.contains("style=\"white-space:pre-line\" data-metric=\"data size\""), "{b}");
        assert!(
            b.contains("data-v=\"40\">(min, med, max (stageId: taskId)):\n(1.5, 2.5, 2.5 (stage 0.0: task 12))</td>"),
            "{b}"
        );
        assert!(b.contains("number of output rows: 1,234,567</text>"), "{b}");
        // The graph's box shows the values line.
        assert!(b.contains("data size: 8.0 KiB (2.0 KiB, 2.0"), "{b}");
        assert!(b.contains("<title>Exchange &lt;x&gt;</title>"), "{b}");
        assert!(b.contains("== Plan &lt;&amp;&gt; =="), "{b}");
        assert!(b.contains("<a href=\"#op-1\">"), "{b}");
        assert!(!b.contains("<script"), "the page needs no script");
    }

    #[test]
    fn a_job_links_to_the_sql_execution_that_ran_it() {
        let app = sql_app(small_plan());
        let link = "<a href=\"/history/app%2D1/SQL/execution/?id=4\" data-sql-execution=\"4\">";
        let jobs = respond(&app, &facts, "/history/app-1/jobs/", "");
        let row =
            jobs.body.split("<tr data-job=\"2\">").nth(1).and_then(|r| r.split("</tr>").next()).unwrap_or_default();
        assert!(row.contains(&format!("{link}SQL query 4</a>")), "{}", jobs.body);
        let job = respond(&app, &facts, "/history/app-1/jobs/job/", "id=2");
        assert!(job.body.contains(&format!("<th>Associated SQL query</th><td>{link}4</a>")), "{}", job.body);
    }

    #[test]
    fn an_unknown_or_malformed_execution_id_says_what_was_asked() {
        let app = sql_app(small_plan());
        let html = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=9");
        assert_eq!(html.status, 404);
        assert!(html.body.contains("Application app-1 has no SQL execution 9 (1 known)."), "{}", html.body);
        assert!(html.body.contains("href=\"/history/app%2D1/jobs/\">Back to the jobs of app-1"), "{}", html.body);
        let html = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=x");
        assert_eq!(html.status, 400);
    }

    #[test]
    fn a_plan_of_thousands_of_operators_draws_a_bounded_graph_and_lists_every_operator() {
        // A union of 3,000 scans, each under a filter: 6,001 operators.
        let scans: Vec<serde_json::Value> = (0..3000)
            .map(|i| serde_json::json!({"nodeName": "Filter", "simpleString": format!("Filter {i}"), "metrics": [],
                "children": [{"nodeName": "Scan", "simpleString": format!("Scan t{i}"), "metrics": [], "children": []}]}))
            .collect();
        let plan = serde_json::json!({"nodeName": "Union", "simpleString": "Union", "metrics": [], "children": scans});
        let app = sql_app(plan);
        let html = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=4");
        assert_eq!(html.status, 200);
        let b = &html.body;
        assert!(b.contains(&format!("data-operators=\"{MAX_GRAPH_OPERATORS}\"")), "the graph is bounded");
        assert!(b.contains("The graph draws the first 1500 of 6001 operators"), "and says so");
        assert_eq!(b.matches("<rect ").count(), MAX_GRAPH_OPERATORS);
        // The table: the first page of operators, and every operator on some page.
        assert!(b.contains("Operators (6001)") && b.contains("1–200 of 6001"), "{}", &b[b.len() - 2000..]);
        assert!(b.contains("<tr id=\"op-199\">") && !b.contains("<tr id=\"op-200\">"), "one page is sent");
        assert!(b.contains("href=\"?id=4&amp;op.page=2#operators\" rel=\"next\""), "the next page");
        // A box of the graph links to its row, on this page or on the page holding it.
        assert!(b.contains("<a href=\"#op-10\"><title>"), "a row on this page");
        assert!(b.contains("<a href=\"?id=4&amp;op.page=6#op-1000\"><title>"), "a row on page 6");
        let last = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=4&op.page=31");
        assert!(last.body.contains("<tr id=\"op-6000\">") && last.body.contains("6001–6001 of 6001"));
        assert!(!last.body.contains("<tr id=\"op-5999\">") && last.body.contains("rel=\"prev\""));
        let sized = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=4&op.page=2&op.pageSize=3000");
        assert!(sized.body.contains("3001–6000 of 6001") && sized.body.contains("<tr id=\"op-5999\">"));
        assert!(sized.body.contains("href=\"?id=4&amp;op.page=3&amp;op.pageSize=3000#operators\""), "the size is kept");
        let past = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=4&op.page=99");
        assert_eq!(past.status, 200, "a page past the end is empty, not an error");
        assert!(!past.body.contains("<tr id=\"op-") && past.body.contains("rel=\"prev\""), "{}", past.body);
        let bad = respond(&app, &facts, "/history/app-1/SQL/execution/", "id=4&op.page=two");
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("Parameter op.page must be a whole number"), "{}", bad.body);
    }

    #[test]
    fn the_layout_centres_parents_over_children_with_the_root_at_the_bottom() {
        let app = sql_app(small_plan());
        let e = &app.detail.sql.executions[&4];
        let l = layout(&e.plan, e.plan.len());
        let (root, child) = (l.boxes[0], l.boxes[1]);
        assert_eq!(root.0, child.0, "a single child sits right above its parent");
        assert!(child.1 + child.2 < root.1, "the child is above the root");
        assert_eq!(grouped(-1_234_567), "-1,234,567");
    }
}
