//! The Stages tab at Spark's URLs: `stages/` (every stage attempt by status
//! with durations, input, output, shuffle and spill) and
//! `stages/stage/?id=N&attempt=M` (one stage attempt: its figures, the
//! failure with a link to the driver's log, the summary quantiles of task
//! metrics as Spark shows them, the figures per executor, the accumulators, an event timeline of the
//! shown tasks, and the task table sorted and paged on the server with
//! Spark's `task.sort`, `task.desc`, `task.page` and `task.pageSize`).
//!
//! Owns: those pages' bodies and the task table's order. Must not: compute a
//! figure the REST API answers (stage figures, quantiles and task rows are the
//! API's, [`AppView::api`] and `api::task_value`), or read logs.

use std::cmp::Ordering;
use std::fmt::Write;

use serde_json::Value;

use crate::ui::{
    AppView, Page, Params, Tab, api_date, bytes_cell, count_cell, duration, esc, esc_attr, int, log_link, log_links,
    ms_cell, pager, progress, text,
};
use sparkplane_appstatus::tasks::{Task, TaskHead};

/// Spark's stage groups, in the page's order.
const GROUPS: [(&str, &str); 5] = [
    ("ACTIVE", "Active stages"),
    ("PENDING", "Pending stages"),
    ("COMPLETE", "Completed stages"),
    ("SKIPPED", "Skipped stages"),
    ("FAILED", "Failed stages"),
];

/// Tasks per page unless `task.pageSize` says otherwise (Spark's default), and the most a page shows.
const TASK_PAGE: usize = 100;
const MAX_TASK_PAGE: usize = 10_000;

/// `stages/`: every stage attempt by status.
pub fn stages_page(view: &AppView, _params: &Params) -> Result<Page, Page> {
    let all = view.api("stages", "")?;
    let all = all.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut body = format!(
        "<p><span data-count=\"stages\" data-v=\"{n}\">{n}</span> {}</p>",
        crate::ui::plural(all.len(), "stage attempt", "stage attempts"),
        n = all.len()
    );
    for (status, title) in GROUPS {
        let group: Vec<&Value> = all.iter().filter(|s| text(s, "status") == status).collect();
        if !group.is_empty() {
            let _ = write!(body, "<h3 id=\"{}\">{title} ({})</h3>", status.to_ascii_lowercase(), group.len());
            body.push_str(&stage_table(view, &group));
        }
    }
    Ok(Page::ok(Tab::Stages, "Stages", body))
}

/// A stage attempt's duration in ms as Spark's stage tables show it, from the
/// one model: from its first task's launch (not its submission, which counts
/// the wait for a slot) to its completion, or to now while it runs; `None`
/// (Spark's "Unknown") when no task was launched.
fn stage_duration(view: &AppView, id: i64, attempt: i64) -> Option<i64> {
    let s = view.detail.stage_attempts(id).into_iter().find(|s| s.attempt_id == attempt)?;
    let launched = s.first_task_launched_time?;
    let now = view.catalog.now_ms();
    let finished = s.completion_time.unwrap_or(now);
    Some(if finished > launched { finished.saturating_sub(launched) } else { now.saturating_sub(launched) })
}

/// The stage table of the stages list and a job's page: one row per stage attempt (API JSON).
pub fn stage_table(view: &AppView, stages: &[&Value]) -> String {
    let mut out = String::from(
        "<table class=\"stages\"><thead><tr><th>Stage</th><th>Description</th><th>Submitted</th><th>Duration</th>\
         <th>Tasks: succeeded/total</th><th>Input</th><th>Output</th><th>Shuffle read</th><th>Shuffle write</th>\
         <th>Spill (memory)</th><th>Spill (disk)</th><th>Status</th></tr></thead><tbody>",
    );
    for s in stages {
        let (id, attempt) = (int(s, "stageId"), int(s, "attemptId"));
        let link = esc_attr(&view.link(&format!("stages/stage/?id={id}&attempt={attempt}")));
        let label = if attempt > 0 { format!("{id} (retry {attempt})") } else { id.to_string() };
        let status = text(s, "status");
        let failure = s.get("failureReason").and_then(Value::as_str).map_or(String::new(), |f| {
            let exception = esc_attr(&view.link(&format!("stages/stage/?id={id}&attempt={attempt}#failure")));
            format!(
                "<br><span class=\"FAILED\">{}</span> <a href=\"{exception}\" data-exception=\"{id}\">exception and driver log</a>",
                esc(f.lines().next().unwrap_or_default())
            )
        });
        let critical = critical_tag(view, id, status);
        let note = match int(s, "numFailedTasks") {
            0 => String::new(),
            n => format!(" ({n} failed)"),
        };
        let _ = write!(
            out,
            "<tr data-stage=\"{id}\" data-attempt=\"{attempt}\"><td class=\"n\" data-v=\"{id}\"><a href=\"{link}\">{label}</a>{critical}</td>\
             <td><a href=\"{link}\">{}</a></td><td>{}</td>{}{}{}{}{}{}{}{}<td class=\"{status}\">{status}{failure}</td></tr>",
            esc(s.get("description").and_then(Value::as_str).unwrap_or_else(|| text(s, "name"))),
            api_date(s, "submissionTime"),
            stage_duration(view, id, attempt).map_or_else(
                || "<td class=\"n muted\" data-key=\"duration\">Unknown</td>".to_owned(),
                |ms| keyed(ms_cell(ms), "duration")
            ),
            progress(int(s, "numCompleteTasks"), int(s, "numActiveTasks"), int(s, "numTasks"), &note),
            keyed(bytes_cell(int(s, "inputBytes")), "inputBytes"),
            keyed(bytes_cell(int(s, "outputBytes")), "outputBytes"),
            keyed(bytes_cell(int(s, "shuffleReadBytes")), "shuffleReadBytes"),
            keyed(bytes_cell(int(s, "shuffleWriteBytes")), "shuffleWriteBytes"),
            keyed(bytes_cell(int(s, "memoryBytesSpilled")), "memoryBytesSpilled"),
            keyed(bytes_cell(int(s, "diskBytesSpilled")), "diskBytesSpilled"),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The "critical path" mark of a stage that ran and is on some job's critical path.
fn critical_tag(view: &AppView, id: i64, status: &str) -> String {
    let on_path = status != "SKIPPED" && view.detail.insight.as_ref().is_some_and(|i| i.is_critical(id));
    if on_path {
        "<br><span class=\"crit-tag\" data-critical=\"true\" title=\"This stage's slowest task bounds its job: \
         more executors cannot make it shorter\">critical path</span>"
            .to_owned()
    } else {
        String::new()
    }
}

/// A number cell marked with the API field it shows (`data-key`), for tests and scripts.
fn keyed(cell: String, key: &str) -> String {
    cell.replacen("<td ", &format!("<td data-key=\"{key}\" "), 1)
}

/// `stages/stage/?id=N&attempt=M`: one stage attempt.
pub fn stage_page(view: &AppView, params: &Params) -> Result<Page, Page> {
    let id = params.required_int("id", view)?;
    let attempts = view.detail.stage_attempts(id);
    if attempts.is_empty() {
        let known = view.detail.stages.len();
        return Err(view.asked(
            404,
            &format!(
                "Application {} has no stage {id} ({known} {} known).",
                view.attempt.app_id,
                crate::ui::plural(known, "stage attempt", "stage attempts")
            ),
        ));
    }
    let attempt = params.int("attempt", view)?.unwrap_or(0);
    let Some(stage) = attempts.iter().find(|s| s.attempt_id == attempt) else {
        let ids: Vec<String> = attempts.iter().map(|s| s.attempt_id.to_string()).collect();
        return Err(
            view.asked(404, &format!("Stage {id} has no attempt {attempt}; its attempts are {}.", ids.join(", ")))
        );
    };
    let s = view.api(&format!("stages/{id}/{attempt}"), "details=false")?;
    let mut body = stage_facts(view, &s);
    if stage.failure_reason.is_some() || stage.failed_tasks > 0 {
        body.push_str(&failure(view, stage, &s)?);
    }
    body.push_str(&summary(view, id, attempt)?);
    body.push_str(&by_executor(stage));
    body.push_str(&accumulators(&s));
    body.push_str(&task_table(view, stage, params)?);
    let title = if attempt > 0 { format!("Stage {id} (attempt {attempt})") } else { format!("Stage {id}") };
    Ok(Page::ok(Tab::Stages, title, body))
}

fn stage_facts(view: &AppView, s: &Value) -> String {
    let status = text(s, "status");
    let mut out = format!(
        "<p>{}</p><table class=\"facts\"><tbody><tr><th>Status</th><td class=\"{status}\">{status}</td></tr>\
         <tr><th>Submitted</th><td>{}</td></tr>",
        esc(s.get("description").and_then(Value::as_str).unwrap_or_else(|| text(s, "name"))),
        api_date(s, "submissionTime")
    );
    for (key, label, kind) in [
        ("numTasks", "Tasks", 'c'),
        ("numCompleteTasks", "Succeeded tasks", 'c'),
        ("numFailedTasks", "Failed tasks", 'c'),
        ("numKilledTasks", "Killed tasks", 'c'),
        ("executorRunTime", "Executor run time (all tasks)", 't'),
        ("jvmGcTime", "GC time (all tasks)", 't'),
        ("inputBytes", "Input", 'b'),
        ("outputBytes", "Output", 'b'),
        ("shuffleReadBytes", "Shuffle read", 'b'),
        ("shuffleWriteBytes", "Shuffle write", 'b'),
        ("memoryBytesSpilled", "Spill (memory)", 'b'),
        ("diskBytesSpilled", "Spill (disk)", 'b'),
        ("peakExecutionMemory", "Peak execution memory", 'b'),
    ] {
        let v = int(s, key);
        let cell = match kind {
            'b' => bytes_cell(v),
            't' => ms_cell(v),
            _ => count_cell(v),
        };
        let _ = write!(out, "<tr><th>{label}</th>{}</tr>", keyed(cell, key));
    }
    out.push_str("</tbody></table>");
    let jobs: Vec<String> = view
        .detail
        .stage_attempts(int(s, "stageId"))
        .first()
        .map(|st| st.job_ids.iter().copied().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|j| format!("<a href=\"{}\">job {j}</a>", esc_attr(&view.link(&format!("jobs/job/?id={j}")))))
        .collect();
    if !jobs.is_empty() {
        let _ = write!(out, "<p>Part of {}</p>", jobs.join(", "));
    }
    if view.detail.insight.as_ref().is_some_and(|i| i.is_critical(int(s, "stageId"))) && text(s, "status") != "SKIPPED"
    {
        out.push_str(
            "<p class=\"crit-note\" data-critical=\"true\"><span class=\"crit-tag\">critical path</span> This stage is on \
             its job's critical path: its slowest task bounds the job, so more executors cannot make it shorter; \
             splitting that task's work can (see the task table sorted by duration).</p>",
        );
    }
    out
}

/// The failure of a stage attempt, or its failed tasks: the stage's
/// exception, the root cause and kind sparkplane read from it when it failed
/// the application, each failed task's error (linked to its row, failed tasks
/// first), and the driver's log as the log store or Spark kept it.
fn failure(view: &AppView, stage: &sparkplane_appstatus::replay::Stage, s: &Value) -> Result<String, Page> {
    let mut out = String::from("<h3 id=\"failure\">Failure</h3>");
    if let Some(reason) = s.get("failureReason").and_then(Value::as_str) {
        let _ = write!(out, "<pre class=\"FAILED\">{}</pre>", esc(reason));
    }
    let app_failure = view.detail.insight.as_ref().and_then(|i| i.failure.as_ref());
    if let Some(f) = app_failure.filter(|f| f.stage_id.map(i64::from) == Some(stage.stage_id)) {
        let root = f.root_cause.as_deref().unwrap_or(&f.message);
        let _ = write!(
            out,
            "<p data-root-cause=\"{}\">This stage failed job {} and the application ({}). Root cause: <code>{}</code></p>",
            f.cause.as_str(),
            f.job_id,
            f.cause.what(),
            esc(root)
        );
    }
    let failed: Vec<sparkplane_appstatus::tasks::Task> = stage.tasks.with_status("FAILED");
    if !failed.is_empty() {
        let _ = write!(out, "<p>Failed task attempts ({}):</p><ul class=\"failed-tasks\">", failed.len());
        for t in failed.iter().take(MAX_FAILED_SHOWN) {
            let href = view.link(&format!(
                "stages/stage/?id={}&attempt={}&task.sort=Status&task.pageSize={TASK_PAGE}#task-{}",
                stage.stage_id, stage.attempt_id, t.task_id
            ));
            let error = t.error_message.as_deref().unwrap_or("(no error message logged)");
            let _ = write!(
                out,
                "<li data-failed-task=\"{id}\"><a href=\"{}\">task {id}</a> (index {}, attempt {}) on executor {}: \
                 <details><summary>{}</summary><pre>{}</pre></details></li>",
                esc_attr(&href),
                t.index,
                t.attempt,
                esc(&t.executor_id),
                esc(error.lines().next().unwrap_or_default()),
                esc(error),
                id = t.task_id,
            );
        }
        out.push_str("</ul>");
        if failed.len() > MAX_FAILED_SHOWN {
            let _ = write!(
                out,
                "<p class=\"muted\">{} more in the task table (sorted by status, failed first).</p>",
                failed.len() - MAX_FAILED_SHOWN
            );
        }
    }
    out.push_str(&driver_log(view)?);
    Ok(out)
}

/// Failed task attempts listed in a stage's failure section (the task table has every one).
const MAX_FAILED_SHOWN: usize = 10;

/// The driver's log: the links the cluster manager logged (`Driver Logs`),
/// else the file Spark kept with `spark.driver.log.persistToDfs.enabled`
/// (`{spark.driver.log.dfsDir}/{app id}_driver.log`, as Spark's History
/// Server names it), else a line saying there is none.
fn driver_log(view: &AppView) -> Result<String, Page> {
    let links = view.detail.executors.get("driver").map(|e| e.logs.clone()).unwrap_or_default();
    if !links.is_empty() {
        let links: Vec<String> = links.iter().map(|(k, v)| log_link(&format!("driver {k}"), v)).collect();
        return Ok(format!("<p data-driver-log=\"links\">Driver log: {}</p>", links.join(" · ")));
    }
    let env = view.api("environment", "")?;
    let property = |key: &str| {
        env.get("sparkProperties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|pair| pair.get(0).and_then(Value::as_str) == Some(key))
            .and_then(|pair| pair.get(1).and_then(Value::as_str))
            .map(str::to_owned)
    };
    let persisted = property("spark.driver.log.persistToDfs.enabled").is_some_and(|v| v.trim() == "true");
    match property("spark.driver.log.dfsDir").filter(|_| persisted) {
        Some(dir) => Ok(format!(
            "<p data-driver-log=\"persisted\">Driver log: Spark kept it at <code>{}/{}_driver.log</code> \
             (<code>spark.driver.log.dfsDir</code>).</p>",
            esc(dir.trim_end_matches('/')),
            esc(&view.attempt.app_id)
        )),
        None => {
            Ok("<p class=\"muted\" data-driver-log=\"none\">The log store holds no driver log for this application \
                    (Spark logs its links on YARN and Kubernetes, or keeps it with \
                    <code>spark.driver.log.persistToDfs.enabled</code>).</p>"
                .to_owned())
        }
    }
}

/// The summary metrics of the stage's successful tasks: min, quartiles and max, as Spark shows them.
fn summary(view: &AppView, id: i64, attempt: i64) -> Result<String, Page> {
    let q = match view.api(&format!("stages/{id}/{attempt}/taskSummary"), "quantiles=0,0.25,0.5,0.75,1.0") {
        Ok(q) => q,
        // No successful task reported metrics yet: no table, as in Spark.
        Err(page) if page.status == 404 => {
            return Ok("<p class=\"muted\">No task of this stage attempt has finished yet.</p>".to_owned());
        }
        Err(page) => return Err(page),
    };
    let mut out = String::from(
        "<h3>Summary metrics of the successful tasks</h3><table class=\"summary\"><thead><tr><th>Metric</th>\
         <th>Min</th><th>25th percentile</th><th>Median</th><th>75th percentile</th><th>Max</th></tr></thead><tbody>",
    );
    // Spark's "Duration" is the executor's run time; the launch-to-finish time is ours, under its own label.
    let rows: [(&str, &[&str], char); 13] = [
        ("Duration", &["executorRunTime"], 't'),
        (LAUNCH_TO_FINISH, &["duration"], 't'),
        ("Scheduler delay", &["schedulerDelay"], 't'),
        ("Task deserialization time", &["executorDeserializeTime"], 't'),
        ("GC time", &["jvmGcTime"], 't'),
        ("Result serialization time", &["resultSerializationTime"], 't'),
        ("Getting result time", &["gettingResultTime"], 't'),
        ("Peak execution memory", &["peakExecutionMemory"], 'b'),
        ("Input size", &["inputMetrics", "bytesRead"], 'b'),
        ("Output size", &["outputMetrics", "bytesWritten"], 'b'),
        ("Shuffle read size", &["shuffleReadMetrics", "readBytes"], 'b'),
        ("Shuffle write size", &["shuffleWriteMetrics", "writeBytes"], 'b'),
        ("Spill (disk)", &["diskBytesSpilled"], 'b'),
    ];
    for (label, path, kind) in rows {
        let values = path.iter().try_fold(&q, |v, k| v.get(*k)).and_then(Value::as_array);
        let Some(values) = values else { continue };
        let title =
            if label == LAUNCH_TO_FINISH { format!(" title=\"{LAUNCH_TO_FINISH_TIP}\"") } else { String::new() };
        let _ = write!(out, "<tr data-metric=\"{}\"><th{title}>{label}</th>", path.join("."));
        for v in values {
            let raw = v.as_f64().unwrap_or(0.0) as i64;
            out.push_str(&if kind == 'b' { bytes_cell(raw) } else { ms_cell(raw) });
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

/// The stage's figures per executor (Spark's "Aggregated metrics by executor"), as the API's `executorSummary`.
fn by_executor(stage: &sparkplane_appstatus::replay::Stage) -> String {
    if stage.executor_summary.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Aggregated metrics by executor</h3><table class=\"by-executor\"><thead><tr><th>Executor</th>\
         <th>Task time</th><th>Succeeded tasks</th><th>Failed tasks</th><th>Killed tasks</th><th>Input</th>\
         <th>Shuffle read</th><th>Shuffle write</th><th>Spill (memory)</th><th>Spill (disk)</th></tr></thead><tbody>",
    );
    for (id, summary) in &stage.executor_summary {
        let e = crate::api::executor_stage_value(summary);
        let _ = write!(out, "<tr data-executor=\"{}\"><td>{}</td>", esc_attr(id), esc(id));
        // Keys marked `executor.…`, apart from the stage's own totals above.
        out.push_str(&keyed(ms_cell(int(&e, "taskTime")), "executor.taskTime"));
        for key in ["succeededTasks", "failedTasks", "killedTasks"] {
            out.push_str(&keyed(count_cell(int(&e, key)), &format!("executor.{key}")));
        }
        for key in ["inputBytes", "shuffleRead", "shuffleWrite", "memoryBytesSpilled", "diskBytesSpilled"] {
            out.push_str(&keyed(bytes_cell(int(&e, key)), &format!("executor.{key}")));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The stage's named accumulators (Spark lists them under the summary).
fn accumulators(s: &Value) -> String {
    let list = s.get("accumulatorUpdates").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("<h3>Accumulators</h3><table><thead><tr><th>Accumulable</th><th>Value</th></tr></thead><tbody>");
    for a in list {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td></tr>", esc(text(a, "name")), esc(text(a, "value")));
    }
    out.push_str("</tbody></table>");
    out
}

/// sparkplane's own measure of a task, beside Spark's "Duration" (the executor's run time).
const LAUNCH_TO_FINISH: &str = "Launch to finish";
const LAUNCH_TO_FINISH_TIP: &str = "sparkplane's measure: from the task's launch to its finish, scheduling, \
     deserialization and fetching its result included. Spark's Duration is the executor's run time.";

/// A task table column: its label and `task.sort` name (Spark's column titles,
/// and [`LAUNCH_TO_FINISH`], ours).
const COLUMNS: [&str; 14] = [
    "Index",
    "Task ID",
    "Attempt",
    "Status",
    "Executor ID",
    "Host",
    "Launch Time",
    "Duration",
    LAUNCH_TO_FINISH,
    "GC Time",
    "Input Size",
    "Shuffle Read",
    "Shuffle Write",
    "Spill (Disk)",
];

/// The order of `column` (a [`COLUMNS`] name); ties by task id.
fn compare(column: &str, a: &Task, b: &Task) -> Ordering {
    let metric = |t: &Task, f: fn(&sparkplane_appstatus::tasks::Metrics) -> i64| t.metrics.as_ref().map_or(-1, f);
    let by = match column {
        "Duration" => metric(a, |m| m.executor_run_time).cmp(&metric(b, |m| m.executor_run_time)),
        "GC Time" => metric(a, |m| m.jvm_gc_time).cmp(&metric(b, |m| m.jvm_gc_time)),
        "Input Size" => metric(a, |m| m.input_bytes).cmp(&metric(b, |m| m.input_bytes)),
        "Shuffle Read" => metric(a, |m| m.shuffle_read_bytes()).cmp(&metric(b, |m| m.shuffle_read_bytes())),
        "Shuffle Write" => metric(a, |m| m.shuffle_bytes_written).cmp(&metric(b, |m| m.shuffle_bytes_written)),
        "Spill (Disk)" => metric(a, |m| m.disk_bytes_spilled).cmp(&metric(b, |m| m.disk_bytes_spilled)),
        _ => return compare_heads(column, &a.head(), &b.head()).unwrap_or(Ordering::Equal),
    };
    by.then(a.task_id.cmp(&b.task_id))
}

/// The order of `column` read from the tasks' heads (ties by task id), or
/// `None` for a metric column, which needs the whole task.
fn compare_heads(column: &str, a: &TaskHead, b: &TaskHead) -> Option<Ordering> {
    let by = match column {
        "Index" => a.index.cmp(&b.index),
        "Task ID" => Ordering::Equal,
        "Attempt" => a.attempt.cmp(&b.attempt),
        "Status" => a.status.cmp(b.status),
        "Executor ID" => a.executor_id.cmp(b.executor_id),
        "Host" => a.host.cmp(b.host),
        "Launch Time" => a.launch_time.cmp(&b.launch_time),
        LAUNCH_TO_FINISH => a.duration().unwrap_or(-1).cmp(&b.duration().unwrap_or(-1)),
        _ => return None,
    };
    Some(by.then(a.task_id.cmp(&b.task_id)))
}

/// The ids of one page of the stage's tasks in `column`'s order, and how
/// many tasks there are. Only the shown page needs its order: it is
/// selected, then sorted. A column the heads hold is picked from the heads;
/// a metric column from the tasks decoded without their accumulator updates.
fn page_ids(
    stage: &sparkplane_appstatus::replay::Stage,
    column: &str,
    desc: bool,
    offset: usize,
    size: usize,
) -> (Vec<i64>, usize) {
    fn pick<T>(mut order: Vec<T>, offset: usize, size: usize, cmp: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
        let total = order.len();
        let end = offset.saturating_add(size).min(total);
        if end < total && end > 0 {
            order.select_nth_unstable_by(end - 1, &cmp);
            order.truncate(end);
        }
        order.sort_unstable_by(&cmp);
        order.into_iter().skip(offset).collect()
    }
    let flip = |o: Ordering| if desc { o.reverse() } else { o };
    // A column the heads order (any but a metric) is picked from the heads alone.
    if compare_heads(column, &TaskHead::default(), &TaskHead::default()).is_some() {
        let heads = stage.tasks.heads();
        let total = heads.len();
        let cmp = |a: &TaskHead, b: &TaskHead| flip(compare_heads(column, a, b).unwrap_or(Ordering::Equal));
        return (pick(heads, offset, size, cmp).iter().map(|h| h.task_id).collect(), total);
    }
    let all = stage.tasks.tasks_without_accumulables();
    let cmp = |a: &&Task, b: &&Task| flip(compare(column, a, b));
    (pick(all.iter().collect(), offset, size, cmp).iter().map(|t| t.task_id).collect(), all.len())
}

/// The task table: sorted by `task.sort` (descending with `task.desc=true`), one page of `task.pageSize`.
fn task_table(view: &AppView, stage: &sparkplane_appstatus::replay::Stage, params: &Params) -> Result<String, Page> {
    let column = params.get("task.sort").unwrap_or("Index");
    if !COLUMNS.contains(&column) {
        return Err(
            view.asked(400, &format!("task.sort={column:?} is not a column; the columns are {}.", COLUMNS.join(", ")))
        );
    }
    let desc = params.get("task.desc") == Some("true");
    let size = params
        .int("task.pageSize", view)?
        .map_or(TASK_PAGE, |n| usize::try_from(n).unwrap_or(1).clamp(1, MAX_TASK_PAGE));
    let page = params.int("task.page", view)?.map_or(1, |n| usize::try_from(n).unwrap_or(1).max(1));
    let offset = (page - 1).saturating_mul(size);
    let (ids, total) = page_ids(stage, column, desc, offset, size);
    let offset = offset.min(total);
    let tasks = stage.tasks.whole(&ids);
    let shown: Vec<&Task> = tasks.iter().collect();
    let link = |offset: usize, column: &str, desc: bool| {
        view.link(&format!(
            "stages/stage/?id={}&attempt={}&task.sort={}&task.desc={desc}&task.page={}&task.pageSize={size}#tasks",
            stage.stage_id,
            stage.attempt_id,
            form_urlencoded::byte_serialize(column.as_bytes()).collect::<String>(),
            offset / size + 1
        ))
    };
    let mut out = format!("<h3 id=\"tasks\">Tasks ({total})</h3>");
    out.push_str(&timeline(&shown));
    out.push_str(&pager(offset, shown.len(), total, size, &|o| link(o, column, desc)));
    out.push_str("<table class=\"tasks\"><thead><tr>");
    for c in COLUMNS {
        let (sort, arrow) = match (c == column, desc) {
            (true, false) => ("ascending", " ▲"),
            (true, true) => ("descending", " ▼"),
            _ => ("none", ""),
        };
        let _ = write!(
            out,
            "<th aria-sort=\"{sort}\"{}><a href=\"{}\">{c}{arrow}</a></th>",
            if c == LAUNCH_TO_FINISH { format!(" title=\"{LAUNCH_TO_FINISH_TIP}\"") } else { String::new() },
            esc_attr(&link(0, c, c == column && !desc))
        );
    }
    out.push_str("<th>Errors</th></tr></thead><tbody>");
    for t in &shown {
        out.push_str(&task_row(&crate::api::task_value(t, &view.detail)));
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

fn task_row(t: &Value) -> String {
    let m = t.get("taskMetrics").cloned().unwrap_or(Value::Null);
    let nested = |group: &str, key: &str| m.get(group).map_or(0, |g| int(g, key));
    let status = text(t, "status");
    let logs = log_links(t.get("executorLogs"));
    let error = t.get("errorMessage").and_then(Value::as_str).map_or(String::new(), |e| {
        format!(
            "<details><summary>{}</summary><pre>{}</pre></details>",
            esc(e.lines().next().unwrap_or_default()),
            esc(e)
        )
    });
    format!(
        "<tr data-task=\"{id}\" id=\"task-{id}\">{}{}{}<td class=\"{status}\">{status}</td><td>{} {}</td><td>{}</td><td>{}</td>{}{}{}{}{}{}{}<td>{error}</td></tr>",
        count_cell(int(t, "index")),
        count_cell(int(t, "taskId")),
        count_cell(int(t, "attempt")),
        esc(text(t, "executorId")),
        logs.join(" "),
        esc(text(t, "host")),
        api_date(t, "launchTime"),
        m.get("executorRunTime").and_then(Value::as_i64).map_or_else(|| "<td></td>".to_owned(), ms_cell),
        t.get("duration").and_then(Value::as_i64).map_or_else(|| "<td></td>".to_owned(), ms_cell),
        ms_cell(int(&m, "jvmGcTime")),
        bytes_cell(nested("inputMetrics", "bytesRead")),
        bytes_cell(nested("shuffleReadMetrics", "remoteBytesRead") + nested("shuffleReadMetrics", "localBytesRead")),
        bytes_cell(nested("shuffleWriteMetrics", "bytesWritten")),
        bytes_cell(int(&m, "diskBytesSpilled")),
        id = int(t, "taskId"),
    )
}

/// The event timeline of the shown tasks: a bar per task from launch to finish, on executor rows.
fn timeline(tasks: &[&Task]) -> String {
    let ended: Vec<&&Task> = tasks.iter().filter(|t| t.finish_time > 0).collect();
    let (Some(start), Some(end)) =
        (ended.iter().map(|t| t.launch_time).min(), ended.iter().map(|t| t.finish_time).max())
    else {
        return String::new();
    };
    let span = (end - start).max(1) as f64;
    let mut executors: Vec<&str> = ended.iter().map(|t| t.executor_id.as_str()).collect();
    executors.sort_unstable();
    executors.dedup();
    let (width, row) = (800.0, 14);
    let height = executors.len() as i64 * row + 20;
    let mut svg = format!(
        "<details><summary>Event timeline of these {} tasks ({} from first launch to last finish)</summary>\
         <svg role=\"img\" aria-label=\"Task timeline\" width=\"{}\" height=\"{height}\" data-tasks=\"{}\">",
        ended.len(),
        duration(end - start),
        width as i64 + 80,
        ended.len()
    );
    for (i, e) in executors.iter().enumerate() {
        let _ = write!(svg, "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>", i as i64 * row + 11, esc(e));
    }
    for t in ended {
        let y = executors.binary_search(&t.executor_id.as_str()).unwrap_or(0) as i64 * row + 2;
        let x = 80.0 + (t.launch_time - start) as f64 / span * width;
        let w = ((t.finish_time - t.launch_time) as f64 / span * width).max(1.0);
        let fill = if t.status == "SUCCESS" { "var(--bar)" } else { "var(--bad)" };
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"10\" fill=\"{fill}\"><title>task {} on {}: {}, {}</title></rect>",
            t.task_id,
            esc(&t.executor_id),
            t.status,
            duration(t.finish_time - t.launch_time)
        );
    }
    svg.push_str("</svg></details>");
    svg
}
