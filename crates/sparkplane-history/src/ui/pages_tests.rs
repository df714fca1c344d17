//! The pages against the REST API: over Spark's own test log and a small
//! hostile one, each page's numbers (the raw `data-v` values) are the API's
//! answers for the same application, sorting and paging of the task table
//! happen on the server, and an unknown id says what was asked.

use serde_json::Value;

use crate::api::{self, Catalog};
use crate::ui::fixture::{OneApp, app_named, facts, spark_log};
use crate::ui::respond;

fn page(app: &OneApp, path: &str, query: &str) -> String {
    let html = respond(app, &facts, path, query);
    assert_eq!(html.status, 200, "{path}?{query}: {}", html.body);
    html.body
}

fn api_json(app: &OneApp, resource: &str, query: &str) -> Value {
    let path = format!("/api/v1/applications/{}/{resource}", app.attempt.app_id);
    let answer = api::respond(app, &path, query);
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    serde_json::from_str(&answer.body).expect("json")
}

/// The raw values of the cells marked `data-key="KEY"`, in page order.
fn keyed(html: &str, key: &str) -> Vec<i64> {
    let marker = format!("data-key=\"{key}\" class=\"n\" data-v=\"");
    html.split(&marker).skip(1).filter_map(|rest| rest.split('"').next()?.parse().ok()).collect()
}

/// The values of attribute `attr` in page order.
fn attr(html: &str, attr: &str) -> Vec<String> {
    let marker = format!("{attr}=\"");
    html.split(&marker).skip(1).filter_map(|rest| rest.split('"').next().map(str::to_owned)).collect()
}

fn ints(list: &Value, key: &str) -> Vec<i64> {
    list.as_array().into_iter().flatten().map(|v| v[key].as_i64().unwrap_or(0)).collect()
}

#[test]
fn every_tab_of_a_spark_log_answers_at_spark_urls_with_and_without_the_trailing_slash() {
    let app = spark_log();
    let base = "/history/app-20161116163331-0000";
    for path in [
        "/",
        "/jobs/",
        "/jobs",
        "/jobs/job/?id=0",
        "/stages/",
        "/stages/stage/?id=0&attempt=0",
        "/storage/",
        "/environment/",
        "/executors/",
        "/SQL/",
    ] {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        page(&app, &format!("{base}{path}"), query);
    }
}

#[test]
fn the_stage_list_and_a_job_show_the_apis_figures() {
    let app = spark_log();
    let stages = api_json(&app, "stages", "");
    let html = page(&app, "/history/app-20161116163331-0000/stages/", "");
    for key in
        ["inputBytes", "outputBytes", "shuffleReadBytes", "shuffleWriteBytes", "memoryBytesSpilled", "diskBytesSpilled"]
    {
        assert_eq!(keyed(&html, key), ints(&stages, key), "{key}");
    }
    let jobs = api_json(&app, "jobs", "");
    let html = page(&app, "/history/app-20161116163331-0000/jobs/", "");
    let done: Vec<i64> = attr(&html, "data-done").iter().filter_map(|v| v.parse().ok()).collect();
    assert_eq!(done, ints(&jobs, "numCompletedTasks"));
    let job = api_json(&app, "jobs/0", "");
    let html = page(&app, "/history/app-20161116163331-0000/jobs/job/", "id=0");
    for key in ["numTasks", "numCompletedTasks", "numFailedTasks", "numSkippedStages"] {
        assert_eq!(keyed(&html, key), [job[key].as_i64().unwrap_or(-1)], "{key}");
    }
}

#[test]
fn a_stage_shows_the_apis_summary_quantiles_and_totals() {
    let app = spark_log();
    let summary = api_json(&app, "stages/0/0/taskSummary", "quantiles=0,0.25,0.5,0.75,1.0");
    let html = page(&app, "/history/app-20161116163331-0000/stages/stage/", "id=0&attempt=0");
    // Spark's "Duration" is the executor's run time; the launch-to-finish time is ours, under its own label.
    for (metric, label) in [("executorRunTime", "<th>Duration</th>"), ("duration", "<th title=\"sparkplane's measure")]
    {
        let row = html
            .split(&format!("<tr data-metric=\"{metric}\">"))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap_or_else(|| panic!("{metric} row: {html}"));
        assert!(row.starts_with(label), "{metric}: {row}");
        let shown: Vec<i64> = attr(row, "data-v").iter().filter_map(|v| v.parse().ok()).collect();
        let expected: Vec<i64> =
            summary[metric].as_array().expect("quantiles").iter().map(|v| v.as_f64().unwrap_or(0.0) as i64).collect();
        assert_eq!(shown, expected, "{metric}");
    }
    assert!(html.contains("title=\"sparkplane&#39;s measure") || html.contains("title=\"sparkplane's measure"));
    assert!(html.contains(">Launch to finish</a></th>"), "the task table's own column: {html}");
    let detailed = api_json(&app, "stages/0/0", "details=true");
    let executors = detailed["executorSummary"].as_object().expect("executor summary");
    let task_time: Vec<i64> = executors.values().map(|e| e["taskTime"].as_i64().unwrap_or(-1)).collect();
    assert_eq!(keyed(&html, "executor.taskTime"), task_time, "per executor, in the API's order");
    let failed: Vec<i64> = executors.values().map(|e| e["failedTasks"].as_i64().unwrap_or(-1)).collect();
    assert_eq!(keyed(&html, "executor.failedTasks"), failed);
    let stage = api_json(&app, "stages/0/0", "details=false");
    for key in ["numTasks", "numCompleteTasks", "numFailedTasks", "executorRunTime", "jvmGcTime", "inputBytes"] {
        assert_eq!(keyed(&html, key), [stage[key].as_i64().unwrap_or(-1)], "{key}");
    }
}

#[test]
fn the_task_table_is_sorted_and_paged_on_the_server() {
    let app = spark_log();
    let all = api_json(&app, "stages/0/0/taskList", "length=1000");
    let total = all.as_array().map_or(0, Vec::len);
    let html = page(
        &app,
        "/history/app-20161116163331-0000/stages/stage/",
        "id=0&attempt=0&task.sort=Duration&task.desc=true&task.pageSize=5&task.page=2",
    );
    assert!(html.contains(&format!("<span data-total=\"{total}\">6–10 of {total}</span>")), "{html}");
    let rows: Vec<i64> = attr(&html, "data-task").iter().filter_map(|v| v.parse().ok()).collect();
    // Spark's Duration column: the executor's run time.
    let mut by_duration: Vec<(i64, i64)> = all
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (t["taskMetrics"]["executorRunTime"].as_i64().unwrap_or(-1), t["taskId"].as_i64().unwrap_or(0)))
        .collect();
    by_duration.sort_unstable_by(|a, b| b.cmp(a));
    let expected: Vec<i64> = by_duration[5..10].iter().map(|(_, id)| *id).collect();
    assert_eq!(rows, expected);
    assert!(html.contains("aria-sort=\"descending\""), "the sorted column says so");
    assert!(html.contains("rel=\"prev\"") && html.contains("rel=\"next\""), "{html}");
    let bad = respond(&app, &facts, "/history/app-20161116163331-0000/stages/stage/", "id=0&task.sort=Nope");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("task.sort=&quot;Nope&quot; is not a column"), "{}", bad.body);
}

#[test]
fn every_column_sorts_the_task_table_as_the_apis_figures_order_ascending_and_descending() {
    let app = spark_log();
    let all = api_json(&app, "stages/0/0/taskList", "length=1000");
    let tasks = all.as_array().cloned().unwrap_or_default();
    assert!(tasks.len() > 7, "the fixture's stage has tasks to page over");
    // The API's field each column sorts by (ties by task id); a missing duration or metric sorts first.
    let columns: [(&str, &[&str]); 9] = [
        ("Index", &["index"]),
        ("Task ID", &["taskId"]),
        ("Attempt", &["attempt"]),
        ("Status", &["status"]),
        ("Executor ID", &["executorId"]),
        ("Host", &["host"]),
        ("Duration", &["taskMetrics", "executorRunTime"]),
        ("Launch to finish", &["duration"]),
        ("GC Time", &["taskMetrics", "jvmGcTime"]),
    ];
    for (column, path) in columns {
        let key = |t: &Value| {
            let v = path.iter().try_fold(t, |v, k| v.get(*k));
            (v.and_then(Value::as_i64).unwrap_or(-1), v.and_then(Value::as_str).unwrap_or("").to_owned())
        };
        let mut order: Vec<((i64, String), i64)> =
            tasks.iter().map(|t| (key(t), t["taskId"].as_i64().unwrap_or(0))).collect();
        order.sort();
        for desc in [false, true] {
            let mut ids: Vec<i64> = order.iter().map(|(_, id)| *id).collect();
            if desc {
                ids.reverse();
            }
            let want = ids[3..6].to_vec();
            let query = format!(
                "id=0&attempt=0&task.sort={}&task.desc={desc}&task.pageSize=3&task.page=2",
                form_urlencoded::byte_serialize(column.as_bytes()).collect::<String>()
            );
            let html = page(&app, "/history/app-20161116163331-0000/stages/stage/", &query);
            let rows: Vec<i64> = attr(&html, "data-task").iter().filter_map(|v| v.parse().ok()).collect();
            assert_eq!(rows, want, "{column}, descending {desc}");
        }
    }
}

#[test]
fn executors_show_the_apis_task_gc_and_memory_figures() {
    let app = spark_log();
    let all = api_json(&app, "allexecutors", "");
    let html = page(&app, "/history/app-20161116163331-0000/executors/", "");
    for key in
        ["totalCores", "failedTasks", "completedTasks", "totalTasks", "totalDuration", "totalGCTime", "totalInputBytes"]
    {
        assert_eq!(keyed(&html, key), ints(&all, key), "{key}");
    }
    let env = api_json(&app, "environment", "");
    let html = page(&app, "/history/app-20161116163331-0000/environment/", "");
    let n = env["sparkProperties"].as_array().map_or(0, Vec::len);
    assert!(html.contains(&format!("<summary>Spark properties ({n})</summary>")), "{html}");
}

#[test]
fn a_failed_stage_shows_its_escaped_failure_and_the_driver_log_link_state() {
    let app = app_named("a");
    let html = page(&app, "/history/app-1/stages/stage/", "id=1&attempt=0");
    assert!(html.contains("<pre class=\"FAILED\">Job aborted: &lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("The log store holds no driver log"), "{html}");
    assert!(html.contains("href=\"http://h:8042/logs/stderr\">stderr</a>"), "executor log links: {html}");
    let html = page(&app, "/history/app-1/executors/", "");
    assert_eq!(keyed(&html, "spill"), [3 * (4096 + 2048)], "the executor's tasks' spill");
}

#[test]
fn an_unknown_job_stage_or_attempt_says_what_was_asked_and_links_back() {
    let app = spark_log();
    let cases = [
        (
            "/history/app-20161116163331-0000/stages/stage/",
            "id=9",
            404,
            "Application app-20161116163331-0000 has no stage 9 (1 stage attempt known).",
        ),
        (
            "/history/app-20161116163331-0000/stages/stage/",
            "id=0&attempt=3",
            404,
            "Stage 0 has no attempt 3; its attempts are 0.",
        ),
        (
            "/history/app-20161116163331-0000/jobs/job/",
            "id=5",
            404,
            "Application app-20161116163331-0000 has no job 5 (1 known).",
        ),
        ("/history/app-20161116163331-0000/stages/stage/", "", 400, "Missing parameter id (e.g. ?id=0)."),
        (
            "/history/app-20161116163331-0000/storage/rdd/",
            "id=2",
            404,
            "Application app-20161116163331-0000 has no cached RDD 2.",
        ),
    ];
    for (path, query, status, said) in cases {
        let html = respond(&app, &facts, path, query);
        assert_eq!(html.status, status, "{path}?{query}");
        assert!(html.body.contains(said), "{path}?{query}: {}", html.body);
        assert!(html.body.contains("Back to the jobs of app-20161116163331-0000"), "{}", html.body);
    }
    assert!(app.attempts().len() == 1);
}

#[test]
fn a_stages_duration_runs_from_its_first_tasks_launch_as_sparks_stage_tables_show_it() {
    // Stage 0: submitted at 1003, first task launched at 1000, completed at 1700; stage 1:
    // launched at 1020, completed at 1900 (the fixture's times). Spark counts from the launch,
    // not the submission (which counts the wait for a slot): 700 and 880 ms, shown "0.7 s", "0.9 s".
    let app = app_named("etl");
    let stages = api_json(&app, "stages", "");
    let launched = |id: i64| {
        stages.as_array().into_iter().flatten().find(|s| s["stageId"] == id).map(|s| {
            let at = |key: &str| crate::time::parse_date(s[key].as_str().unwrap_or_default()).unwrap_or(-1);
            at("completionTime") - at("firstTaskLaunchedTime")
        })
    };
    assert_eq!((launched(0), launched(1)), (Some(700), Some(880)), "{stages}");
    for (path, query) in [("/history/app-1/stages/", ""), ("/history/app-1/jobs/job/", "id=0")] {
        let html = page(&app, path, query);
        let mut shown = keyed(&html, "duration");
        shown.sort_unstable();
        assert_eq!(shown, [700, 880], "{path}: {html}");
        assert!(html.contains("data-key=\"duration\" class=\"n\" data-v=\"700\">0.7 s</td>"), "{path}");
        assert!(html.contains("data-key=\"duration\" class=\"n\" data-v=\"880\">0.9 s</td>"), "{path}");
    }
}

#[test]
fn counts_of_one_are_singular() {
    let app = app_named("etl");
    let executors = api_json(&app, "allexecutors", "").as_array().map_or(0, Vec::len);
    let html = page(&app, "/history/app-1/executors/", "");
    let word = if executors == 1 { "executor" } else { "executors" };
    assert!(html.contains(&format!("data-v=\"{executors}\">{executors}</span> {word}</p>")), "{html}");
    let stages = page(&app, "/history/app-1/stages/", "");
    assert!(stages.contains(">2</span> stage attempts</p>"), "{stages}");
    let one = respond(&app, &facts, "/history/app-1/stages/stage/", "id=7");
    assert!(one.body.contains("(2 stage attempts known)"), "{}", one.body);
    assert_eq!(crate::ui::plural(1, "executor", "executors"), "executor");
    assert_eq!(crate::ui::plural(0, "executor", "executors"), "executors");
}

/// The cells of the task table's columns with an API path, per task: `(task id, path, data-v or text)`.
fn task_cols(html: &str) -> Vec<(i64, String, String)> {
    let mut out = Vec::new();
    for row in html.split("<tr data-task=\"").skip(1) {
        let id: i64 = row.split('"').next().and_then(|v| v.parse().ok()).unwrap_or(-1);
        let row = row.split("</tr>").next().unwrap_or_default();
        for cell in row.split("<td data-col=\"").skip(1) {
            let path = cell.split('"').next().unwrap_or_default().to_owned();
            let tag = cell.split('>').next().unwrap_or_default();
            let value = match tag.split("data-v=\"").nth(1) {
                Some(v) => v.split('"').next().unwrap_or_default().to_owned(),
                None => cell.split('>').nth(1).and_then(|c| c.split('<').next()).unwrap_or_default().to_owned(),
            };
            out.push((id, path, value));
        }
    }
    out
}

#[test]
fn a_stage_shows_its_records_metric_columns_and_locality_as_the_api_answers_them() {
    let app = spark_log();
    let stage = api_json(&app, "stages/0/0", "details=false");
    let all = api_json(&app, "stages/0/0/taskList", "length=1000");
    let html = page(
        &app,
        "/history/app-20161116163331-0000/stages/stage/",
        "id=0&attempt=0&task.metrics=all&task.pageSize=1000",
    );
    for key in ["inputRecords", "outputRecords", "shuffleReadRecords", "shuffleWriteRecords"] {
        assert_eq!(keyed(&html, key), [stage[key].as_i64().unwrap_or(-1)], "{key}");
    }
    let cells = task_cols(&html);
    let paths: std::collections::BTreeSet<&str> = cells.iter().map(|(_, p, _)| p.as_str()).collect();
    for path in [
        "taskLocality",
        "schedulerDelay",
        "gettingResultTime",
        "taskMetrics.executorDeserializeTime",
        "taskMetrics.resultSerializationTime",
        "taskMetrics.peakExecutionMemory",
        "taskMetrics.inputMetrics.recordsRead",
        "taskMetrics.outputMetrics.recordsWritten",
        "taskMetrics.shuffleReadMetrics.fetchWaitTime",
        "taskMetrics.shuffleReadMetrics.recordsRead",
        "taskMetrics.shuffleReadMetrics.remoteBytesRead",
        "taskMetrics.shuffleWriteMetrics.writeTime",
        "taskMetrics.shuffleWriteMetrics.recordsWritten",
        "taskMetrics.memoryBytesSpilled",
    ] {
        assert!(paths.contains(path), "{path} is a column: {paths:?}");
    }
    let tasks = all.as_array().cloned().unwrap_or_default();
    assert_eq!(cells.len(), tasks.len() * paths.len(), "a cell per task and column");
    for (id, path, value) in &cells {
        let t = tasks.iter().find(|t| t["taskId"] == *id).unwrap_or_else(|| panic!("task {id}"));
        let answered = path.split('.').try_fold(t, |v, k| v.get(k)).unwrap_or(&Value::Null);
        let want = answered.as_str().map_or_else(|| answered.to_string(), str::to_owned);
        assert_eq!(value, &want, "task {id} {path}");
    }
    // Spark's additional metrics are shown when asked, as Spark's checkboxes show them.
    let plain = page(&app, "/history/app-20161116163331-0000/stages/stage/", "id=0&attempt=0");
    assert!(!plain.contains("<td data-col=\"schedulerDelay\"") && plain.contains("data-metrics=\"all\""), "{plain}");
    assert!(plain.contains("<td data-col=\"taskLocality\">"), "locality is a default column");
    let bad = respond(&app, &facts, "/history/app-20161116163331-0000/stages/stage/", "id=0&task.metrics=some");
    assert_eq!(bad.status, 400);
    assert!(
        bad.body.contains(
            "task.metrics=&quot;some&quot; is not a choice; task.metrics=all shows Spark&#39;s additional metrics."
        ) || bad.body.contains(
            "task.metrics=&quot;some&quot; is not a choice; task.metrics=all shows Spark's additional metrics."
        ),
        "{}",
        bad.body
    );
}

#[test]
fn every_metric_column_sorts_the_task_table_as_the_apis_figure_orders() {
    let app = spark_log();
    let all = api_json(&app, "stages/0/0/taskList", "length=1000");
    let tasks = all.as_array().cloned().unwrap_or_default();
    for (column, path) in [
        ("Locality Level", "taskLocality"),
        ("Scheduler Delay", "schedulerDelay"),
        ("Task Deserialization Time", "taskMetrics.executorDeserializeTime"),
        ("Result Serialization Time", "taskMetrics.resultSerializationTime"),
        ("Getting Result Time", "gettingResultTime"),
        ("Peak Execution Memory", "taskMetrics.peakExecutionMemory"),
        ("Input Records", "taskMetrics.inputMetrics.recordsRead"),
        ("Shuffle Read Blocked Time", "taskMetrics.shuffleReadMetrics.fetchWaitTime"),
        ("Shuffle Write Time", "taskMetrics.shuffleWriteMetrics.writeTime"),
        ("Spill (Memory)", "taskMetrics.memoryBytesSpilled"),
    ] {
        let key = |t: &Value| {
            let v = path.split('.').try_fold(t, |v, k| v.get(k));
            (v.and_then(Value::as_i64).unwrap_or(-1), v.and_then(Value::as_str).unwrap_or("").to_owned())
        };
        let mut order: Vec<((i64, String), i64)> =
            tasks.iter().map(|t| (key(t), t["taskId"].as_i64().unwrap_or(0))).collect();
        order.sort();
        for desc in [false, true] {
            let mut ids: Vec<i64> = order.iter().map(|(_, id)| *id).collect();
            if desc {
                ids.reverse();
            }
            let query = format!(
                "id=0&attempt=0&task.sort={}&task.desc={desc}&task.pageSize=1000",
                form_urlencoded::byte_serialize(column.as_bytes()).collect::<String>()
            );
            let html = page(&app, "/history/app-20161116163331-0000/stages/stage/", &query);
            let rows: Vec<i64> = attr(&html, "data-task").iter().filter_map(|v| v.parse().ok()).collect();
            assert_eq!(rows, ids, "{column}, descending {desc}");
        }
    }
}

#[test]
fn the_task_search_keeps_the_tasks_whose_fields_hold_the_text_and_the_tables_order() {
    let app = spark_log();
    let all = api_json(&app, "stages/0/0/taskList", "length=1000");
    let tasks = all.as_array().cloned().unwrap_or_default();
    let holds = |t: &Value, needle: &str| {
        ["index", "taskId", "attempt", "status", "taskLocality", "executorId", "host"]
            .iter()
            .any(|k| t[*k].to_string().trim_matches('"').to_lowercase().contains(needle))
    };
    for needle in ["failed", "13"] {
        let mut want: Vec<(i64, i64)> = tasks
            .iter()
            .filter(|t| holds(t, &needle.to_lowercase()))
            .map(|t| (-t["taskMetrics"]["executorRunTime"].as_i64().unwrap_or(-1), -t["taskId"].as_i64().unwrap_or(0)))
            .collect();
        want.sort_unstable();
        let want: Vec<i64> = want.iter().map(|(_, id)| -id).collect();
        assert!(!want.is_empty() && want.len() < tasks.len(), "{needle:?} keeps some tasks: {want:?}");
        let query = format!("id=0&attempt=0&task.sort=Duration&task.desc=true&task.search={}", needle.to_uppercase());
        let html = page(&app, "/history/app-20161116163331-0000/stages/stage/", &query);
        let rows: Vec<i64> = attr(&html, "data-task").iter().filter_map(|v| v.parse().ok()).collect();
        assert_eq!(rows, want, "{needle:?}");
        assert!(html.contains(&format!("data-count=\"tasks\" data-v=\"{}\"", want.len())), "{needle}");
        assert!(html.contains(&format!("of {} matching", tasks.len())), "says it is a search");
        // The search form keeps the order; the pager and headers keep the search.
        assert!(html.contains("<input type=\"hidden\" name=\"task.sort\" value=\"Duration\">"), "{html}");
        assert!(html.contains(&format!("task.search={}", needle.to_uppercase())), "links keep the search");
    }
}

#[test]
fn failed_and_killed_tasks_count_as_ended_when_none_succeeded() {
    let mut lines = crate::ui::fixture::hostile_lines("a");
    // Stage 1's one task failed; a second one, killed, is added beside it.
    let end = lines.iter().position(|l| l.contains("ExceptionFailure")).expect("the failed task's end");
    let info = r#""Task Info":{"Task ID":3,"Index":1,"Attempt":0,"Launch Time":1030,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":FINISH,"Accumulables":[]}"#;
    lines.insert(
        end + 1,
        format!(
            r#"{{"Event":"SparkListenerTaskEnd","Stage ID":1,"Stage Attempt ID":0,"Task Type":"ResultTask","Task End Reason":{{"Reason":"TaskKilled","Kill Reason":"stage cancelled"}},{}}}"#,
            info.replace("FINISH", "1800")
        ),
    );
    lines.insert(
        end,
        format!(
            r#"{{"Event":"SparkListenerTaskStart","Stage ID":1,"Stage Attempt ID":0,{}}}"#,
            info.replace("FINISH", "0")
        ),
    );
    let app = crate::ui::fixture::app_of("app-1", "a", &lines);
    let stage = api_json(&app, "stages/1/0", "");
    assert_eq!((stage["numFailedTasks"].as_i64(), stage["numKilledTasks"].as_i64()), (Some(1), Some(1)), "{stage}");
    let html = page(&app, "/history/app-1/stages/stage/", "id=1&attempt=0");
    assert!(
        html.contains("data-ended=\"2\">2 tasks of this stage attempt ended (1 failed, 1 killed), none succeeded"),
        "{html}"
    );
    assert!(!html.contains("has ended yet"), "{html}");
    // Both are drawn in the timeline, marked by how they ended.
    for (task, status) in [(2, "FAILED"), (3, "KILLED")] {
        assert!(
            html.contains(&format!("data-bar-task=\"{task}\"")) && html.contains(&format!("data-status=\"{status}\"")),
            "{html}"
        );
    }
}

#[test]
fn tasks_running_at_once_on_one_executor_never_share_a_lane() {
    use crate::ui::stages::lanes;
    // (executor, launch, finish)
    type Spans<'a> = &'a [(&'a str, i64, i64)];
    let cases: [(Spans, &[usize]); 4] = [
        (&[], &[]),
        // Two slots: the third task takes the lane the shorter first one freed.
        (&[("1", 0, 10), ("1", 0, 5), ("1", 5, 9)], &[1, 0, 0]),
        // A task launched as another finishes reuses its lane; other executors start at lane 0.
        (&[("1", 0, 10), ("1", 10, 20), ("2", 0, 30), ("2", 1, 2)], &[0, 0, 0, 1]),
        // Given out of order, decided in launch order.
        (&[("1", 5, 9), ("1", 0, 10), ("1", 0, 5)], &[0, 1, 0]),
    ];
    for (tasks, want) in cases {
        assert_eq!(lanes(tasks), want, "{tasks:?}");
    }
}

#[test]
fn the_task_timeline_cuts_each_bar_into_sparks_phases() {
    let app = spark_log();
    let all = api_json(&app, "stages/0/0/taskList", "length=1000");
    let html = page(&app, "/history/app-20161116163331-0000/stages/stage/", "id=0&attempt=0&task.pageSize=1000");
    let t = &all[0];
    let id = t["taskId"].as_i64().unwrap_or(-1);
    let bar = html
        .split(&format!("<g data-bar-task=\"{id}\""))
        .nth(1)
        .and_then(|g| g.split("</g>").next())
        .unwrap_or_else(|| panic!("task {id}'s bar: {html}"));
    let phase = |name: &str| {
        bar.split(&format!("data-phase=\"{name}\" data-ms=\""))
            .nth(1)
            .and_then(|r| r.split('"').next()?.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let m = &t["taskMetrics"];
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    let write = n(&m["shuffleWriteMetrics"]["writeTime"]) / 1_000_000;
    let fetch = n(&m["shuffleReadMetrics"]["fetchWaitTime"]);
    assert_eq!(phase("scheduler-delay"), n(&t["schedulerDelay"]));
    assert_eq!(phase("deserialization"), n(&m["executorDeserializeTime"]));
    assert_eq!(phase("computing"), (n(&m["executorRunTime"]) - fetch - write).max(0));
    assert_eq!(phase("serialization"), n(&m["resultSerializationTime"]));
    assert_eq!(phase("getting-result"), n(&t["gettingResultTime"]));
    for label in ["Scheduler delay", "Executor computing time", "Shuffle write time", "Getting result time"] {
        assert!(html.contains(label), "the legend names {label}");
    }
}

/// An application of `n` succeeded jobs of one stage each (job and stage `j` at time `10 * j`).
fn jobs_app(n: i64) -> crate::ui::fixture::OneApp {
    let mut lines = vec![
        r#"{"Event":"SparkListenerApplicationStart","App Name":"many","App ID":"app-many","Timestamp":1,"User":"u"}"#
            .to_owned(),
    ];
    for j in 0..n {
        let t = 10 * j + 2;
        let info = format!(r#""Stage ID":{j},"Stage Attempt ID":0,"Stage Name":"count {j}","Number of Tasks":1"#);
        lines.push(format!(
            r#"{{"Event":"SparkListenerJobStart","Job ID":{j},"Submission Time":{t},"Stage Infos":[{{{info}}}],"Stage IDs":[{j}]}}"#
        ));
        lines.push(format!(
            r#"{{"Event":"SparkListenerStageSubmitted","Stage Info":{{{info},"Submission Time":{t}}}}}"#
        ));
        lines.push(format!(
            r#"{{"Event":"SparkListenerStageCompleted","Stage Info":{{{info},"Submission Time":{t},"Completion Time":{}}}}}"#,
            t + 5
        ));
        lines.push(format!(
            r#"{{"Event":"SparkListenerJobEnd","Job ID":{j},"Completion Time":{},"Job Result":{{"Result":"JobSucceeded"}}}}"#,
            t + 6
        ));
    }
    lines.push(format!(r#"{{"Event":"SparkListenerApplicationEnd","Timestamp":{}}}"#, 10 * n + 10));
    crate::ui::fixture::app_of("app-many", "many", &lines)
}

fn ids(html: &str, attribute: &str) -> Vec<i64> {
    attr(html, attribute).iter().filter_map(|v| v.parse().ok()).collect()
}

#[test]
fn the_job_and_stage_lists_page_their_tables_at_sparks_parameters_newest_first() {
    let app = jobs_app(120);
    let base = "/history/app-many";
    // Spark's 100 rows a page, newest first; its paging parameters open the rest.
    let first = page(&app, &format!("{base}/jobs/"), "");
    assert_eq!(ids(&first, "data-job"), (20..120).rev().collect::<Vec<_>>());
    assert!(first.contains("1–100 of 120"), "{first}");
    assert!(first.contains("completedJob.page=2&amp;completedJob.pageSize=100#succeeded\" rel=\"next\""), "{first}");
    let second = page(&app, &format!("{base}/jobs/"), "completedJob.page=2&completedJob.pageSize=100");
    assert_eq!(ids(&second, "data-job"), (0..20).rev().collect::<Vec<_>>());
    assert!(second.contains("101–120 of 120") && !second.contains("rel=\"next\""), "{second}");
    assert!(second.contains("completedJob.page=1&amp;completedJob.pageSize=100#succeeded\" rel=\"prev\""), "{second}");
    let sized = page(&app, &format!("{base}/jobs/"), "completedJob.page=3&completedJob.pageSize=7");
    assert_eq!(ids(&sized, "data-job"), (99..106).rev().collect::<Vec<_>>());
    // Past the end: no row, and the way back.
    let past = page(&app, &format!("{base}/jobs/"), "completedJob.page=99");
    assert!(ids(&past, "data-job").is_empty() && past.contains("rel=\"prev\""), "{past}");
    // The stages list pages the same way, at its own parameters.
    let stages = page(&app, &format!("{base}/stages/"), "completedStage.page=2");
    assert_eq!(ids(&stages, "data-stage"), (0..20).rev().collect::<Vec<_>>());
    // A table of one page has no pager.
    let small = page(&jobs_app(3), &format!("{base}/jobs/"), "");
    assert_eq!(ids(&small, "data-job"), [2, 1, 0]);
    assert!(!small.contains("completedJob.page="), "{small}");

    // Bad input: the page says which parameter, as the task table's does.
    let bad = respond(&app, &facts, &format!("{base}/jobs/"), "completedJob.page=two");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Parameter completedJob.page must be a whole number"), "{}", bad.body);
    let bad = respond(&app, &facts, &format!("{base}/stages/"), "completedStage.pageSize=-");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("completedStage.pageSize"), "{}", bad.body);
}
