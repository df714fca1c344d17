//! The Stages tab at Spark's URLs: `stages/` (every stage attempt by status
//! with durations, input, output, shuffle and spill) and
//! `stages/stage/?id=N&attempt=M` (one stage attempt: its figures and
//! records, the failure with a link to the driver's log, the summary
//! quantiles of task metrics as Spark shows them, the figures per executor,
//! the accumulators, an event timeline of the shown tasks with a lane per
//! task running at once on an executor and each bar cut into Spark's phases,
//! and the task table with locality, records and, with `task.metrics=all`,
//! Spark's additional metric columns, searched (`task.search`), sorted and
//! paged on the server with Spark's `task.sort`, `task.desc`, `task.page`
//! and `task.pageSize`; ADR 0101).
//!
//! Owns: those pages' bodies, the task table's order and search, and the
//! timeline's lanes and phases. Must not: compute a
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
const GROUPS: [(&str, &str, &str); 5] = [
    ("ACTIVE", "Active stages", "activeStage"),
    ("PENDING", "Pending stages", "pendingStage"),
    ("COMPLETE", "Completed stages", "completedStage"),
    ("SKIPPED", "Skipped stages", "skippedStage"),
    ("FAILED", "Failed stages", "failedStage"),
];

/// Tasks per page unless `task.pageSize` says otherwise (Spark's default), and the most a page shows.
const TASK_PAGE: usize = 100;
const MAX_TASK_PAGE: usize = 10_000;

/// `stages/`: every stage attempt by status, newest first, a page of each
/// group's table at a time (as the jobs list, [`crate::ui::TablePage`]).
pub fn stages_page(view: &AppView, params: &Params) -> Result<Page, Page> {
    let all = view.api("stages", "")?;
    let all = all.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut body = format!(
        "<p><span data-count=\"stages\" data-v=\"{n}\">{n}</span> {}</p>",
        crate::ui::plural(all.len(), "stage attempt", "stage attempts"),
        n = all.len()
    );
    for (status, title, prefix) in GROUPS {
        let group: Vec<&Value> = all.iter().filter(|s| text(s, "status") == status).collect();
        if !group.is_empty() {
            let anchor = status.to_ascii_lowercase();
            let page = crate::ui::TablePage::of(params, view, prefix, group.len())?;
            let _ = write!(body, "<h3 id=\"{anchor}\">{title} ({})</h3>", group.len());
            body.push_str(&page.pager(view, "stages/", prefix, &anchor));
            body.push_str(&stage_table(view, page.rows(&group)));
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
        // Spark's bar counts failed and killed tasks beside the succeeded ones.
        let ended: Vec<String> = [("numFailedTasks", "failed"), ("numKilledTasks", "killed")]
            .into_iter()
            .filter(|(key, _)| int(s, key) > 0)
            .map(|(key, word)| format!("{} {word}", int(s, key)))
            .collect();
        let note = if ended.is_empty() { String::new() } else { format!(" ({})", ended.join(", ")) };
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
    body.push_str(&summary(view, stage, &s)?);
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
        ("inputRecords", "Input records", 'c'),
        ("outputBytes", "Output", 'b'),
        ("outputRecords", "Output records", 'c'),
        ("shuffleReadBytes", "Shuffle read", 'b'),
        ("shuffleReadRecords", "Shuffle read records", 'c'),
        ("shuffleWriteBytes", "Shuffle write", 'b'),
        ("shuffleWriteRecords", "Shuffle write records", 'c'),
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

/// The summary metrics of the stage's successful tasks: min, quartiles and
/// max, as Spark shows them; without a successful task, how many ended
/// (failed and killed tasks count as ended, as in Spark's counts).
fn summary(view: &AppView, stage: &sparkplane_appstatus::replay::Stage, s: &Value) -> Result<String, Page> {
    let (id, attempt) = (stage.stage_id, stage.attempt_id);
    let q = match view.api(&format!("stages/{id}/{attempt}/taskSummary"), "quantiles=0,0.25,0.5,0.75,1.0") {
        Ok(q) => q,
        // No successful task reported metrics: no table, as in Spark.
        Err(page) if page.status == 404 => {
            let (failed, killed) = (int(s, "numFailedTasks"), int(s, "numKilledTasks"));
            let ended = int(s, "numCompleteTasks") + failed + killed;
            return Ok(if ended == 0 {
                "<p class=\"muted\" data-ended=\"0\">No task of this stage attempt has ended yet.</p>".to_owned()
            } else {
                format!(
                    "<p class=\"muted\" data-ended=\"{ended}\">{ended} {} of this stage attempt ended ({failed} failed, \
                     {killed} killed), none succeeded: the summary metrics are of successful tasks.</p>",
                    crate::ui::plural(usize::try_from(ended).unwrap_or(0), "task", "tasks")
                )
            });
        }
        Err(page) => return Err(page),
    };
    let mut out = String::from(
        "<h3>Summary metrics of the successful tasks</h3><table class=\"summary\"><thead><tr><th>Metric</th>\
         <th>Min</th><th>25th percentile</th><th>Median</th><th>75th percentile</th><th>Max</th></tr></thead><tbody>",
    );
    // Spark's "Duration" is the executor's run time; the launch-to-finish time is ours, under its own label.
    let rows: [(&str, &[&str], char); 22] = [
        ("Duration", &["executorRunTime"], 't'),
        (LAUNCH_TO_FINISH, &["duration"], 't'),
        ("Scheduler delay", &["schedulerDelay"], 't'),
        ("Task deserialization time", &["executorDeserializeTime"], 't'),
        ("GC time", &["jvmGcTime"], 't'),
        ("Result serialization time", &["resultSerializationTime"], 't'),
        ("Getting result time", &["gettingResultTime"], 't'),
        ("Peak execution memory", &["peakExecutionMemory"], 'b'),
        ("Input size", &["inputMetrics", "bytesRead"], 'b'),
        ("Input records", &["inputMetrics", "recordsRead"], 'c'),
        ("Output size", &["outputMetrics", "bytesWritten"], 'b'),
        ("Output records", &["outputMetrics", "recordsWritten"], 'c'),
        ("Shuffle read blocked time", &["shuffleReadMetrics", "fetchWaitTime"], 't'),
        ("Shuffle read size", &["shuffleReadMetrics", "readBytes"], 'b'),
        ("Shuffle read records", &["shuffleReadMetrics", "readRecords"], 'c'),
        ("Shuffle remote reads", &["shuffleReadMetrics", "remoteBytesRead"], 'b'),
        ("Shuffle write time", &["shuffleWriteMetrics", "writeTime"], 'n'),
        ("Shuffle write size", &["shuffleWriteMetrics", "writeBytes"], 'b'),
        ("Shuffle write records", &["shuffleWriteMetrics", "writeRecords"], 'c'),
        ("Spill (memory)", &["memoryBytesSpilled"], 'b'),
        ("Spill (disk)", &["diskBytesSpilled"], 'b'),
        ("Result size", &["resultSize"], 'b'),
    ];
    for (label, path, kind) in rows {
        let values = path.iter().try_fold(&q, |v, k| v.get(*k)).and_then(Value::as_array);
        let Some(values) = values else { continue };
        let title =
            if label == LAUNCH_TO_FINISH { format!(" title=\"{LAUNCH_TO_FINISH_TIP}\"") } else { String::new() };
        let _ = write!(out, "<tr data-metric=\"{}\"><th{title}>{label}</th>", path.join("."));
        for v in values {
            let raw = v.as_f64().unwrap_or(0.0) as i64;
            out.push_str(&match kind {
                'b' => bytes_cell(raw),
                'c' => count_cell(raw),
                'n' => crate::ui::num(raw, &duration(raw / 1_000_000)),
                _ => ms_cell(raw),
            });
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

/// How a task-table column reads its value and shows it.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A column the tasks' heads order (the cell is written by [`task_row`]).
    Head,
    /// A time in ms, a size in bytes, a count, or a time in ns shown in ms (Spark's shuffle write time).
    Ms,
    Bytes,
    Count,
    Nanos,
}

/// A task-table column: Spark's title (the `task.sort` name; [`LAUNCH_TO_FINISH`]
/// is ours), where its value is in the API's `TaskData` (`""` for the columns
/// [`task_row`] writes itself), how it reads, and whether Spark shows it only
/// when asked (its "additional metrics": here with `task.metrics=all`).
struct Column {
    title: &'static str,
    path: &'static str,
    kind: Kind,
    optional: bool,
}

const fn col(title: &'static str, path: &'static str, kind: Kind, optional: bool) -> Column {
    Column { title, path, kind, optional }
}

/// The task table's columns in Spark's order. The ones with a path carry it
/// as `data-col` on their cells; the others are the table's first columns,
/// whose cells carry `data-v` alone.
const COLUMNS: [Column; 29] = [
    col("Index", "", Kind::Head, false),
    col("Task ID", "", Kind::Head, false),
    col("Attempt", "", Kind::Head, false),
    col("Status", "", Kind::Head, false),
    col("Locality Level", "taskLocality", Kind::Head, false),
    col("Executor ID", "", Kind::Head, false),
    col("Host", "", Kind::Head, false),
    col("Launch Time", "", Kind::Head, false),
    col("Duration", "", Kind::Head, false),
    col(LAUNCH_TO_FINISH, "", Kind::Head, false),
    col("Scheduler Delay", "schedulerDelay", Kind::Ms, true),
    col("Task Deserialization Time", "taskMetrics.executorDeserializeTime", Kind::Ms, true),
    col("GC Time", "", Kind::Head, false),
    col("Result Serialization Time", "taskMetrics.resultSerializationTime", Kind::Ms, true),
    col("Getting Result Time", "gettingResultTime", Kind::Ms, true),
    col("Peak Execution Memory", "taskMetrics.peakExecutionMemory", Kind::Bytes, true),
    col("Input Size", "", Kind::Head, false),
    col("Input Records", "taskMetrics.inputMetrics.recordsRead", Kind::Count, false),
    col("Output Size", "taskMetrics.outputMetrics.bytesWritten", Kind::Bytes, false),
    col("Output Records", "taskMetrics.outputMetrics.recordsWritten", Kind::Count, false),
    col("Shuffle Read Blocked Time", "taskMetrics.shuffleReadMetrics.fetchWaitTime", Kind::Ms, true),
    col("Shuffle Read", "", Kind::Head, false),
    col("Shuffle Read Records", "taskMetrics.shuffleReadMetrics.recordsRead", Kind::Count, false),
    col("Shuffle Remote Reads", "taskMetrics.shuffleReadMetrics.remoteBytesRead", Kind::Bytes, true),
    col("Shuffle Write Time", "taskMetrics.shuffleWriteMetrics.writeTime", Kind::Nanos, false),
    col("Shuffle Write", "", Kind::Head, false),
    col("Shuffle Write Records", "taskMetrics.shuffleWriteMetrics.recordsWritten", Kind::Count, false),
    col("Spill (Memory)", "taskMetrics.memoryBytesSpilled", Kind::Bytes, false),
    col("Spill (Disk)", "", Kind::Head, false),
];

/// The value at a dotted `path` of a task's API answer.
fn at_path<'a>(t: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(t, |v, k| v.get(k))
}

/// A task's value for a metric column, from the model (the API's `TaskData`
/// reads the same fields); `None` for a column of the heads.
fn metric_of(title: &str, t: &Task) -> Option<i64> {
    let m = t.metrics.as_ref();
    let read = |f: fn(&sparkplane_appstatus::tasks::Metrics) -> i64| m.map_or(-1, f);
    Some(match title {
        "Duration" => read(|m| m.executor_run_time),
        "Scheduler Delay" => crate::api::scheduler_delay(t),
        "Task Deserialization Time" => read(|m| m.executor_deserialize_time),
        "GC Time" => read(|m| m.jvm_gc_time),
        "Result Serialization Time" => read(|m| m.result_serialization_time),
        "Getting Result Time" => crate::api::fetching_time(&t.head()),
        "Peak Execution Memory" => read(|m| m.peak_execution_memory),
        "Input Size" => read(|m| m.input_bytes),
        "Input Records" => read(|m| m.input_records),
        "Output Size" => read(|m| m.output_bytes),
        "Output Records" => read(|m| m.output_records),
        "Shuffle Read Blocked Time" => read(|m| m.shuffle_fetch_wait_time),
        "Shuffle Read" => read(|m| m.shuffle_read_bytes()),
        "Shuffle Read Records" => read(|m| m.shuffle_records_read),
        "Shuffle Remote Reads" => read(|m| m.shuffle_remote_bytes_read),
        "Shuffle Write Time" => read(|m| m.shuffle_write_time),
        "Shuffle Write" => read(|m| m.shuffle_bytes_written),
        "Shuffle Write Records" => read(|m| m.shuffle_records_written),
        "Spill (Memory)" => read(|m| m.memory_bytes_spilled),
        "Spill (Disk)" => read(|m| m.disk_bytes_spilled),
        _ => return None,
    })
}

/// The order of `column` (a [`COLUMNS`] title); ties by task id.
fn compare(column: &str, a: &Task, b: &Task) -> Ordering {
    let by = if column == "Locality Level" {
        a.locality.cmp(&b.locality)
    } else {
        match (metric_of(column, a), metric_of(column, b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => return compare_heads(column, &a.head(), &b.head()).unwrap_or(Ordering::Equal),
        }
    };
    by.then(a.task_id.cmp(&b.task_id))
}

/// The order of `column` read from the tasks' heads (ties by task id), or
/// `None` for a column that needs the whole task (a metric, the locality).
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

/// Whether a task matches the task search (`task.search`, as Spark's table
/// search box filters its rows): the text, case aside, is in its index, id,
/// attempt, status, locality, executor id or host.
fn matches(t: &Task, needle: &str) -> bool {
    let fields = [t.index.to_string(), t.task_id.to_string(), t.attempt.to_string()];
    fields
        .iter()
        .map(String::as_str)
        .chain([t.status, t.locality.as_str(), t.executor_id.as_str(), t.host.as_str()])
        .any(|f| f.to_lowercase().contains(needle))
}

/// The ids of one page of the stage's tasks (those matching `search`, when
/// given) in `column`'s order, and how many there are. Only the shown page
/// needs its order: it is selected, then sorted. A column the heads hold is
/// picked from the heads unless a search needs the whole tasks; otherwise
/// from the tasks decoded without their accumulator updates.
fn page_ids(
    stage: &sparkplane_appstatus::replay::Stage,
    column: &str,
    desc: bool,
    search: Option<&str>,
    (offset, size): (usize, usize),
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
    if search.is_none() && compare_heads(column, &TaskHead::default(), &TaskHead::default()).is_some() {
        let heads = stage.tasks.heads();
        let total = heads.len();
        let cmp = |a: &TaskHead, b: &TaskHead| flip(compare_heads(column, a, b).unwrap_or(Ordering::Equal));
        return (pick(heads, offset, size, cmp).iter().map(|h| h.task_id).collect(), total);
    }
    let all = stage.tasks.tasks_without_accumulables();
    let found: Vec<&Task> = all.iter().filter(|t| search.is_none_or(|s| matches(t, s))).collect();
    let total = found.len();
    let cmp = |a: &&Task, b: &&Task| flip(compare(column, a, b));
    (pick(found, offset, size, cmp).iter().map(|t| t.task_id).collect(), total)
}

/// The task table: the tasks matching `task.search`, sorted by `task.sort`
/// (descending with `task.desc=true`), one page of `task.pageSize`, Spark's
/// additional metric columns with `task.metrics=all`.
fn task_table(view: &AppView, stage: &sparkplane_appstatus::replay::Stage, params: &Params) -> Result<String, Page> {
    let column = params.get("task.sort").unwrap_or("Index");
    if !COLUMNS.iter().any(|c| c.title == column) {
        let titles: Vec<&str> = COLUMNS.iter().map(|c| c.title).collect();
        return Err(
            view.asked(400, &format!("task.sort={column:?} is not a column; the columns are {}.", titles.join(", ")))
        );
    }
    let all_metrics = match params.get("task.metrics") {
        None => false,
        Some("all") => true,
        Some(other) => {
            return Err(view.asked(
                400,
                &format!("task.metrics={other:?} is not a choice; task.metrics=all shows Spark's additional metrics."),
            ));
        }
    };
    let search = params.get("task.search").map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    let desc = params.get("task.desc") == Some("true");
    let size = params
        .int("task.pageSize", view)?
        .map_or(TASK_PAGE, |n| usize::try_from(n).unwrap_or(1).clamp(1, MAX_TASK_PAGE));
    let page = params.int("task.page", view)?.map_or(1, |n| usize::try_from(n).unwrap_or(1).max(1));
    let offset = (page - 1).saturating_mul(size);
    let (ids, total) = page_ids(stage, column, desc, search.as_deref(), (offset, size));
    let offset = offset.min(total);
    let tasks = stage.tasks.whole(&ids);
    let shown: Vec<&Task> = tasks.iter().collect();
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let link = |offset: usize, column: &str, desc: bool, all_metrics: bool| {
        let mut href = format!(
            "stages/stage/?id={}&attempt={}&task.sort={}&task.desc={desc}&task.page={}&task.pageSize={size}",
            stage.stage_id,
            stage.attempt_id,
            enc(column),
            offset / size + 1
        );
        if all_metrics {
            href.push_str("&task.metrics=all");
        }
        if let Some(s) = params.get("task.search").filter(|s| !s.trim().is_empty()) {
            let _ = write!(href, "&task.search={}", enc(s));
        }
        view.link(&format!("{href}#tasks"))
    };
    let of_all = match &search {
        Some(s) => format!(" of {} matching &quot;{}&quot;", stage.tasks.len(), esc(s)),
        None => String::new(),
    };
    let mut out =
        format!("<h3 id=\"tasks\">Tasks (<span data-count=\"tasks\" data-v=\"{total}\">{total}</span>{of_all})</h3>");
    out.push_str(&timeline(&shown));
    out.push_str(&search_form(view, stage, params, column, desc, size, all_metrics));
    let toggle = if all_metrics {
        format!(
            "<a href=\"{}\" data-metrics=\"less\">Hide additional metrics</a>",
            esc_attr(&link(offset, column, desc, false))
        )
    } else {
        format!(
            "<a href=\"{}\" data-metrics=\"all\" title=\"Spark's additional metrics: scheduler delay, deserialization, \
             result serialization, getting result, peak execution memory, shuffle read blocked time and remote reads\">\
             Show additional metrics</a>",
            esc_attr(&link(offset, column, desc, true))
        )
    };
    let _ = write!(out, "<p>{toggle}</p>");
    out.push_str(&pager(offset, shown.len(), total, size, &|o| link(o, column, desc, all_metrics)));
    out.push_str("<table class=\"tasks\"><thead><tr>");
    for c in COLUMNS.iter().filter(|c| all_metrics || !c.optional) {
        let (sort, arrow) = match (c.title == column, desc) {
            (true, false) => ("ascending", " ▲"),
            (true, true) => ("descending", " ▼"),
            _ => ("none", ""),
        };
        let _ = write!(
            out,
            "<th aria-sort=\"{sort}\"{}><a href=\"{}\">{}{arrow}</a></th>",
            if c.title == LAUNCH_TO_FINISH { format!(" title=\"{LAUNCH_TO_FINISH_TIP}\"") } else { String::new() },
            esc_attr(&link(0, c.title, c.title == column && !desc, all_metrics)),
            c.title
        );
    }
    out.push_str("<th>Errors</th></tr></thead><tbody>");
    for t in &shown {
        out.push_str(&task_row(&crate::api::task_value(t, &view.detail), all_metrics));
    }
    out.push_str("</tbody></table>");
    Ok(out)
}

/// The task search: a form that keeps the table's order, page size and columns.
fn search_form(
    view: &AppView,
    stage: &sparkplane_appstatus::replay::Stage,
    params: &Params,
    column: &str,
    desc: bool,
    size: usize,
    all_metrics: bool,
) -> String {
    let hidden =
        |name: &str, value: &str| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc_attr(value));
    let mut out = format!(
        "<form class=\"task-search\" method=\"get\" action=\"{}#tasks\" role=\"search\">{}{}{}{}{}",
        esc_attr(&view.link("stages/stage/")),
        hidden("id", &stage.stage_id.to_string()),
        hidden("attempt", &stage.attempt_id.to_string()),
        hidden("task.sort", column),
        hidden("task.desc", if desc { "true" } else { "false" }),
        hidden("task.pageSize", &size.to_string()),
    );
    if all_metrics {
        out.push_str(&hidden("task.metrics", "all"));
    }
    let _ = write!(
        out,
        "<label>Search tasks <input type=\"search\" name=\"task.search\" value=\"{}\" \
         placeholder=\"index, id, status, locality, executor or host\"></label> <button type=\"submit\">Search</button></form>",
        esc_attr(params.get("task.search").unwrap_or_default())
    );
    out
}

/// A cell of a column with a path: its value from the task's API answer (empty
/// when the task reported no metrics), the path in `data-col`.
fn path_cell(t: &Value, c: &Column) -> String {
    let Some(raw) = at_path(t, c.path).and_then(Value::as_i64) else {
        return format!("<td data-col=\"{}\"></td>", c.path);
    };
    let cell = match c.kind {
        Kind::Ms => ms_cell(raw),
        Kind::Bytes => bytes_cell(raw),
        Kind::Count => count_cell(raw),
        Kind::Nanos => crate::ui::num(raw, &duration(raw / 1_000_000)),
        Kind::Head => count_cell(raw),
    };
    cell.replacen("<td ", &format!("<td data-col=\"{}\" ", c.path), 1)
}

fn task_row(t: &Value, all_metrics: bool) -> String {
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
    let id = int(t, "taskId");
    let mut out = format!("<tr data-task=\"{id}\" id=\"task-{id}\">");
    for c in COLUMNS.iter().filter(|c| all_metrics || !c.optional) {
        let cell = match c.title {
            "Index" => count_cell(int(t, "index")),
            "Task ID" => count_cell(id),
            "Attempt" => count_cell(int(t, "attempt")),
            "Status" => format!("<td class=\"{status}\">{status}</td>"),
            "Locality Level" => format!("<td data-col=\"taskLocality\">{}</td>", esc(text(t, "taskLocality"))),
            "Executor ID" => format!("<td>{} {}</td>", esc(text(t, "executorId")), logs.join(" ")),
            "Host" => format!("<td>{}</td>", esc(text(t, "host"))),
            "Launch Time" => format!("<td>{}</td>", api_date(t, "launchTime")),
            "Duration" => {
                m.get("executorRunTime").and_then(Value::as_i64).map_or_else(|| "<td></td>".to_owned(), ms_cell)
            }
            LAUNCH_TO_FINISH => {
                t.get("duration").and_then(Value::as_i64).map_or_else(|| "<td></td>".to_owned(), ms_cell)
            }
            "GC Time" => ms_cell(int(&m, "jvmGcTime")),
            "Input Size" => bytes_cell(nested("inputMetrics", "bytesRead")),
            "Shuffle Read" => bytes_cell(
                nested("shuffleReadMetrics", "remoteBytesRead") + nested("shuffleReadMetrics", "localBytesRead"),
            ),
            "Shuffle Write" => bytes_cell(nested("shuffleWriteMetrics", "bytesWritten")),
            "Spill (Disk)" => bytes_cell(int(&m, "diskBytesSpilled")),
            _ => path_cell(t, c),
        };
        out.push_str(&cell);
    }
    let _ = write!(out, "<td>{error}</td></tr>");
    out
}

/// A task's phases as Spark's stage timeline draws them, in its order, in ms:
/// scheduler delay, task deserialization, shuffle read (its fetch wait),
/// executor computing (the run time less the shuffle's read and write),
/// shuffle write, result serialization and getting the result.
pub fn phases(t: &Task) -> [(&'static str, i64); 7] {
    let m = t.metrics.unwrap_or_default();
    let shuffle_write = m.shuffle_write_time / 1_000_000;
    [
        ("scheduler-delay", crate::api::scheduler_delay(t)),
        ("deserialization", m.executor_deserialize_time),
        ("shuffle-read", m.shuffle_fetch_wait_time),
        ("computing", (m.executor_run_time - m.shuffle_fetch_wait_time - shuffle_write).max(0)),
        ("shuffle-write", shuffle_write),
        ("serialization", m.result_serialization_time),
        ("getting-result", crate::api::fetching_time(&t.head())),
    ]
}

/// The colour and legend of each phase.
const PHASES: [(&str, &str, &str); 7] = [
    ("scheduler-delay", "#80b1d3", "Scheduler delay"),
    ("deserialization", "#fb8072", "Task deserialization time"),
    ("shuffle-read", "#fdb462", "Shuffle read time"),
    ("computing", "#b3de69", "Executor computing time"),
    ("shuffle-write", "#ffed6f", "Shuffle write time"),
    ("serialization", "#bc80bd", "Result serialization time"),
    ("getting-result", "#8dd3c7", "Getting result time"),
];

/// Each task's lane on its executor: the first lane whose last task ended
/// by the task's launch (tasks running at once on one executor never share
/// a lane). Returns the lane of each task, in `tasks`' order.
pub fn lanes(tasks: &[(&str, i64, i64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by_key(|&i| (tasks[i].1, tasks[i].2, i));
    let mut ends: std::collections::BTreeMap<&str, Vec<i64>> = std::collections::BTreeMap::new();
    let mut lane = vec![0; tasks.len()];
    for i in order {
        let (executor, launch, finish) = tasks[i];
        let lanes = ends.entry(executor).or_default();
        let free = lanes.iter().position(|&end| end <= launch);
        let k = free.unwrap_or(lanes.len());
        if k == lanes.len() {
            lanes.push(finish);
        } else {
            lanes[k] = finish;
        }
        lane[i] = k;
    }
    lane
}

/// The event timeline of the shown tasks, as Spark's stage page draws it: a
/// row per executor with a lane per task running at once on it, each ended
/// task (succeeded, failed or killed) a bar from launch to finish cut into
/// its phases ([`phases`]), with a legend.
fn timeline(tasks: &[&Task]) -> String {
    let ended: Vec<&Task> = tasks.iter().copied().filter(|t| t.finish_time > 0).collect();
    let (Some(start), Some(end)) =
        (ended.iter().map(|t| t.launch_time).min(), ended.iter().map(|t| t.finish_time).max())
    else {
        return String::new();
    };
    let span = (end - start).max(1) as f64;
    let spans: Vec<(&str, i64, i64)> =
        ended.iter().map(|t| (t.executor_id.as_str(), t.launch_time, t.finish_time)).collect();
    let lane = lanes(&spans);
    let mut executors: Vec<&str> = spans.iter().map(|s| s.0).collect();
    executors.sort_unstable();
    executors.dedup();
    // Each executor's first row and its number of lanes.
    let mut first_row = Vec::with_capacity(executors.len());
    let mut rows = 0usize;
    for e in &executors {
        first_row.push(rows);
        let n = spans.iter().zip(&lane).filter(|(s, _)| s.0 == *e).map(|(_, l)| l + 1).max().unwrap_or(1);
        rows += n;
    }
    let (width, row, left) = (800.0, 14usize, 80.0);
    let height = rows * row + 8 + executors.len() * 4;
    let mut svg = format!(
        "<details open><summary>Event timeline of these {} tasks ({} from first launch to last finish)</summary>\
         <svg class=\"task-timeline\" role=\"img\" aria-label=\"Task timeline\" width=\"{}\" height=\"{height}\" \
         data-tasks=\"{}\" data-lanes=\"{rows}\">",
        ended.len(),
        duration(end - start),
        width as i64 + left as i64,
        ended.len()
    );
    let y_of = |executor: usize, lane: usize| (first_row[executor] + lane) * row + executor * 4 + 2;
    for (i, e) in executors.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"11\" fill=\"currentColor\">{}</text>",
            y_of(i, 0) + 9,
            esc(e)
        );
    }
    for (t, lane) in ended.iter().zip(&lane) {
        let e = executors.binary_search(&t.executor_id.as_str()).unwrap_or(0);
        let y = y_of(e, *lane);
        let mut x = left + (t.launch_time - start) as f64 / span * width;
        let total = (t.finish_time - t.launch_time) as f64;
        let outline = if t.status == "SUCCESS" { "none" } else { "var(--bad)" };
        let _ = write!(
            svg,
            "<g data-bar-task=\"{}\" data-executor=\"{}\" data-lane=\"{lane}\" data-status=\"{}\" stroke=\"{outline}\">\
             <title>task {} (index {}) on executor {}: {}, {}</title>",
            t.task_id,
            esc_attr(&t.executor_id),
            t.status,
            t.task_id,
            t.index,
            esc(&t.executor_id),
            t.status,
            duration(t.finish_time - t.launch_time)
        );
        let bar = (total / span * width).max(1.0);
        let parts = phases(t);
        let sum: i64 = parts.iter().map(|p| p.1).sum();
        for ((name, ms), (_, colour, _)) in parts.iter().zip(PHASES.iter()) {
            if *ms <= 0 {
                continue;
            }
            let w = bar * *ms as f64 / sum.max(1) as f64;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"10\" fill=\"{colour}\" data-phase=\"{name}\" data-ms=\"{ms}\"></rect>"
            );
            x += w;
        }
        if sum <= 0 {
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{bar:.1}\" height=\"10\" fill=\"var(--bar)\"></rect>"
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg><p class=\"legend\">");
    for (_, colour, label) in PHASES {
        let _ = write!(
            svg,
            "<span><svg width=\"10\" height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"{colour}\"></rect></svg> {label}</span> "
        );
    }
    svg.push_str("</p></details>");
    svg
}
