//! The Executors tab at Spark's URL `executors/`: every executor (the driver
//! too, removed ones included) with its cores, tasks (failed ones counted),
//! task time and GC time, input and shuffle, peak JVM and execution memory,
//! why it was removed, and its logs' links where the log store has them.
//!
//! Owns: that page's body. Must not: compute an executor's figures (they are
//! the REST API's `allexecutors` answer) or read logs.

use std::fmt::Write;

use serde_json::Value;

use crate::ui::{AppView, Page, Tab, api_date, bytes_cell, count_cell, esc, esc_attr, int, log_links, ms_cell, text};

/// `executors/`.
pub fn executors_page(view: &AppView) -> Result<Page, Page> {
    let all = view.api("allexecutors", "")?;
    let all = all.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut body = format!(
        "<p><span data-count=\"executors\" data-v=\"{n}\">{n}</span> {}</p>",
        crate::ui::plural(all.len(), "executor", "executors"),
        n = all.len()
    );
    body.push_str(
        "<table class=\"executors\"><thead><tr><th>Executor</th><th>Address</th><th>Status</th><th>Cores</th>\
         <th>Active tasks</th><th>Failed tasks</th><th>Complete tasks</th><th>Total tasks</th><th>Task time</th>\
         <th>GC time</th><th>Input</th><th>Shuffle read</th><th>Shuffle write</th><th>Peak JVM heap</th>\
         <th>Peak execution memory (on heap)</th><th>Spill</th><th>Logs</th></tr></thead><tbody>",
    );
    for e in all {
        body.push_str(&executor_row(view, e));
    }
    body.push_str("</tbody></table>");
    Ok(Page::ok(Tab::Executors, "Executors", body))
}

fn executor_row(view: &AppView, e: &Value) -> String {
    let id = text(e, "id");
    let peak = |key: &str| e.get("peakMemoryMetrics").map(|p| int(p, key));
    let status = if e.get("isActive").and_then(Value::as_bool).unwrap_or(false) { "Active" } else { "Dead" };
    let removed = e.get("removeReason").and_then(Value::as_str).map_or(String::new(), |r| {
        format!("<br><span class=\"muted\">removed {}: {}</span>", api_date(e, "removeTime"), esc(r))
    });
    let logs = log_links(e.get("executorLogs"));
    // Spill is not in Spark's executor summary; the one model sums it over the executor's tasks.
    let spill = spilled(view, id);
    let opt = |v: Option<i64>| v.map_or_else(|| "<td class=\"n muted\">-</td>".to_owned(), bytes_cell);
    let mut row = format!(
        "<tr data-executor=\"{}\"><td>{}</td><td>{}</td><td class=\"{}\">{status}{removed}</td>",
        esc_attr(id),
        esc(id),
        esc(text(e, "hostPort")),
        status.to_ascii_uppercase()
    );
    for (key, cell) in [
        ("totalCores", count_cell(int(e, "totalCores"))),
        ("activeTasks", count_cell(int(e, "activeTasks"))),
        ("failedTasks", count_cell(int(e, "failedTasks"))),
        ("completedTasks", count_cell(int(e, "completedTasks"))),
        ("totalTasks", count_cell(int(e, "totalTasks"))),
        ("totalDuration", ms_cell(int(e, "totalDuration"))),
        ("totalGCTime", ms_cell(int(e, "totalGCTime"))),
        ("totalInputBytes", bytes_cell(int(e, "totalInputBytes"))),
        ("totalShuffleRead", bytes_cell(int(e, "totalShuffleRead"))),
        ("totalShuffleWrite", bytes_cell(int(e, "totalShuffleWrite"))),
        ("JVMHeapMemory", opt(peak("JVMHeapMemory"))),
        ("OnHeapExecutionMemory", opt(peak("OnHeapExecutionMemory"))),
        ("spill", bytes_cell(spill)),
    ] {
        row.push_str(&cell.replacen("<td ", &format!("<td data-key=\"{key}\" "), 1));
    }
    let _ = write!(row, "<td>{}</td></tr>", logs.join(" "));
    row
}

/// Memory and disk bytes spilled by the executor's tasks, over every stage.
fn spilled(view: &AppView, id: &str) -> i64 {
    view.detail
        .stages
        .values()
        .filter_map(|s| s.executor_summary.get(id))
        .map(|s| s.metrics.memory_bytes_spilled + s.metrics.disk_bytes_spilled)
        .sum()
}
