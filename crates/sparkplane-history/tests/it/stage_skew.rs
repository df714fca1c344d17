//! The stage page over a stage with skew, beside Spark's own History Server,
//! on the oldest and the newest Spark line installed (`support::OLDEST_LINE`,
//! `support::NEWEST_LINE`; `sparkplane runtime install`, scripts/test.sh's
//! `need_runtime`) and in headless Chromium (`need_chromium`). Without them
//! the test fails saying so.
//!
//! The line's own pyspark writes `ui-skew` (`tests/data/parity/write_logs.py
//! skew`): one job that reads a text file, shuffles it by key and writes it
//! out, key 0 with ten times the rows of each other key, each row taking the
//! same time, so the reducing stage's task of partition 0 runs about ten
//! times its median. Both History Servers serve the log; Chromium opens our
//! page of every stage with Spark's additional metrics
//! (`task.metrics=all`) and every task on one page, and:
//! - the stage's records (input, output, shuffle read and write) are Spark's
//!   REST answer's for the stage;
//! - every task row's cells — index, id, attempt, Duration (run time), GC
//!   time, input, shuffle read and write, spill, and each metric column with
//!   its API path in `data-col` (records, scheduler delay, deserialization,
//!   result serialization, getting result, peak memory, blocked time, remote
//!   reads, shuffle write time, locality) — are Spark's `taskList` answer's
//!   for that task, and the task count is Spark's;
//! - the timeline puts the tasks that ran at once on one executor in
//!   different lanes (as many lanes as tasks ran at once by Spark's times:
//!   two slots), and each bar's phases are
//!   Spark's figures for that task (its computing time: run time less fetch
//!   wait and shuffle write time);
//! - a task search finds the skewed task by its index.
//!
//! A screenshot of the skewed stage's page is kept at
//! `$CARGO_TARGET_TMPDIR/ui-screenshots/skew-<line>/stage-<id>.png` (the path
//! is printed). `slow_`: a pyspark run and a JVM server per line.

use crate::support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use sparkplane_testkit::devtools::Browser;

const PAGE_LOAD: Duration = Duration::from_secs(60);

fn json(base: &str, path: &str) -> Value {
    let url = format!("{base}{path}");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(&url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 200, "{url}: {body:.400}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body:.300}"))
}

/// What our stage page shows, read from the DOM after load.
const FIGURES: &str = r#"(() => {
  const keyed = Object.fromEntries([...document.querySelectorAll('table.facts td[data-key]')]
    .map(td => [td.dataset.key, Number(td.dataset.v)]));
  const tasks = [...document.querySelectorAll('tr[data-task]')].map(tr => ({
    id: Number(tr.dataset.task),
    v: [...tr.querySelectorAll('td[data-v]:not([data-col])')].map(td => Number(td.dataset.v)),
    cols: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map(td =>
      [td.dataset.col, td.dataset.v === undefined ? td.textContent : Number(td.dataset.v)])),
  }));
  const bars = [...document.querySelectorAll('svg.task-timeline g[data-bar-task]')].map(g => ({
    task: Number(g.dataset.barTask), executor: g.dataset.executor, lane: Number(g.dataset.lane),
    phases: Object.fromEntries([...g.querySelectorAll('rect[data-phase]')].map(r => [r.dataset.phase, Number(r.dataset.ms)])),
    box: (b => ({x: b.x, y: b.y, w: b.width, h: b.height}))(g.getBoundingClientRect()),
  }));
  const count = document.querySelector('[data-count=tasks]');
  return {keyed, tasks, bars, count: count ? Number(count.dataset.v) : null,
          headers: [...document.querySelectorAll('table.tasks th')].map(th => th.textContent.replace(/[▲▼]/g, '').trim())};
})()"#;

/// A task's value at a dotted path of Spark's `TaskData`.
fn at(t: &Value, path: &str) -> Value {
    path.split('.').fold(t.clone(), |v, k| v[k].clone())
}

fn i(v: &Value) -> i64 {
    v.as_f64().map_or(-1, |f| f as i64)
}

/// One stage of the skew application: our page against Spark's answers; the differences found.
fn stage(browser: &mut Browser, ours: &str, spark: &str, app: &str, id: i64, out: &mut Vec<String>) -> Value {
    let api = |base: &str, resource: &str| json(base, &format!("/api/v1/applications/{app}/{resource}"));
    let theirs = api(spark, &format!("stages/{id}/0"));
    let theirs = if theirs.is_array() { theirs[0].clone() } else { theirs };
    let tasks = api(spark, &format!("stages/{id}/0/taskList?length=100000"));
    let tasks = tasks.as_array().cloned().unwrap_or_default();
    let url = format!("{ours}/history/{app}/stages/stage/?id={id}&attempt=0&task.metrics=all&task.pageSize=1000");
    let load = browser.navigate(&url, PAGE_LOAD);
    assert!(load.script_errors.is_empty() && load.failed_requests.is_empty(), "{url}: {load:?}");
    let page = browser.evaluate(FIGURES).unwrap_or_else(|e| panic!("{url}: {e}"));
    let here = format!("{app} stage {id}");
    for key in ["inputRecords", "outputRecords", "shuffleReadRecords", "shuffleWriteRecords", "numTasks"] {
        if i(&page["keyed"][key]) != i(&theirs[key]) {
            out.push(format!("{here}: {key}: page {}, Spark {}", page["keyed"][key], theirs[key]));
        }
    }
    if i(&page["count"]) != tasks.len() as i64 {
        out.push(format!("{here}: {} tasks shown, Spark lists {}", page["count"], tasks.len()));
    }
    let by_id: BTreeMap<i64, &Value> = tasks.iter().map(|t| (i(&t["taskId"]), t)).collect();
    let rows = page["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), tasks.len(), "{here}: every task on one page");
    for row in &rows {
        let t = by_id.get(&i(&row["id"])).unwrap_or_else(|| panic!("{here}: task {} not Spark's", row["id"]));
        let m = &t["taskMetrics"];
        let read = at(m, "shuffleReadMetrics.remoteBytesRead").as_i64().unwrap_or(0)
            + at(m, "shuffleReadMetrics.localBytesRead").as_i64().unwrap_or(0);
        let want: Vec<i64> = vec![
            i(&t["index"]),
            i(&t["taskId"]),
            i(&t["attempt"]),
            i(&m["executorRunTime"]),
            i(&t["duration"]),
            i(&m["jvmGcTime"]),
            i(&at(m, "inputMetrics.bytesRead")),
            read,
            i(&at(m, "shuffleWriteMetrics.bytesWritten")),
            i(&m["diskBytesSpilled"]),
        ];
        let shown: Vec<i64> = row["v"].as_array().into_iter().flatten().map(i).collect();
        if shown != want {
            out.push(format!("{here}: task {}: page {shown:?}, Spark {want:?}", t["taskId"]));
        }
        let cols = row["cols"].as_object().cloned().unwrap_or_default();
        assert!(cols.len() >= 14, "{here}: the metric columns are shown: {cols:?}");
        for (path, value) in cols {
            let spark_value = at(t, &path);
            let same = if path == "taskLocality" { value == spark_value } else { i(&value) == i(&spark_value) };
            if !same {
                out.push(format!("{here}: task {} {path}: page {value}, Spark {spark_value}", t["taskId"]));
            }
        }
    }
    // The timeline: its phases are Spark's figures, and tasks at once on one executor are in different lanes.
    let bars = page["bars"].as_array().cloned().unwrap_or_default();
    assert_eq!(bars.len(), tasks.len(), "{here}: a bar per ended task");
    for bar in &bars {
        let t = by_id[&i(&bar["task"])];
        let m = &t["taskMetrics"];
        let write_ms = i(&at(m, "shuffleWriteMetrics.writeTime")) / 1_000_000;
        let fetch = i(&at(m, "shuffleReadMetrics.fetchWaitTime"));
        let computing = (i(&m["executorRunTime"]) - fetch - write_ms).max(0);
        for (phase, want) in [
            ("scheduler-delay", i(&t["schedulerDelay"])),
            ("deserialization", i(&m["executorDeserializeTime"])),
            ("shuffle-read", fetch),
            ("computing", computing),
            ("shuffle-write", write_ms),
            ("serialization", i(&m["resultSerializationTime"])),
            ("getting-result", i(&t["gettingResultTime"])),
        ] {
            let shown = bar["phases"].get(phase).map_or(0, i);
            if shown != want {
                out.push(format!("{here}: task {} phase {phase}: bar {shown} ms, Spark's figures {want}", t["taskId"]));
            }
        }
    }
    let launched = |t: &Value| sparkplane_history::time::parse_date(t["launchTime"].as_str().unwrap_or_default());
    for (a, b) in bars.iter().flat_map(|a| bars.iter().map(move |b| (a, b))) {
        let (ta, tb) = (by_id[&i(&a["task"])], by_id[&i(&b["task"])]);
        if i(&a["task"]) >= i(&b["task"]) || ta["executorId"] != tb["executorId"] {
            continue;
        }
        let (sa, sb) = (launched(ta).unwrap_or(0), launched(tb).unwrap_or(0));
        let overlap = sa < sb + i(&tb["duration"]) && sb < sa + i(&ta["duration"]);
        if overlap {
            assert_ne!(a["lane"], b["lane"], "{here}: tasks {} and {} ran at once in one lane", a["task"], b["task"]);
            assert_ne!(a["box"]["y"], b["box"]["y"], "{here}: drawn at one height: {a} {b}");
        }
    }
    serde_json::json!({"tasks": tasks, "bars": bars})
}

fn run(line: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    let written = support::write_spark_logs(line, &logs, &["skew"], &[]);
    let count = std::fs::read_dir(&logs).map(|d| d.count()).unwrap_or(0);
    assert!(
        written.status.success() && count == 1,
        "write_logs.py skew ({line}) left {count} logs: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    let server = support::serve_logs(&logs);
    let ours = format!("http://{}", server.addr());
    let home = sparkplane_testkit::history::runtime_path(line, "sparkHome").unwrap_or_else(|e| panic!("{e}"));
    let mut spark_server =
        sparkplane_testkit::HistoryServer::start_from(&home, &logs).unwrap_or_else(|e| panic!("{e}"));
    spark_server.wait_until_answering(Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    let spark = spark_server.base_url.clone();
    let deadline = Instant::now() + Duration::from_secs(90);
    while json(&spark, "/api/v1/applications").as_array().map_or(0, Vec::len) < 1 {
        assert!(Instant::now() < deadline, "Spark {line}'s History Server did not list the application");
        std::thread::sleep(Duration::from_millis(300));
    }
    let app = json(&ours, "/api/v1/applications")[0]["id"].as_str().unwrap_or_default().to_owned();
    let stages = json(&spark, &format!("/api/v1/applications/{app}/stages"));
    let ids: Vec<i64> = stages.as_array().into_iter().flatten().map(|s| i(&s["stageId"])).collect();
    assert!(ids.len() >= 3, "{line}: the skew application's stages: {ids:?}");

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ui-screenshots/skew-{line}"));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let mut browser = Browser::start();
    let mut differences = Vec::new();
    let mut skewed = None;
    for id in &ids {
        let seen = stage(&mut browser, &ours, &spark, &app, *id, &mut differences);
        // The reducing stage: eight tasks reading the shuffle, one of them about ten times the median.
        let mut run_times: Vec<i64> = seen["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| i(&at(t, "taskMetrics.shuffleReadMetrics.recordsRead")) > 0)
            .map(|t| i(&t["taskMetrics"]["executorRunTime"]))
            .collect();
        if run_times.len() == 8 {
            run_times.sort_unstable();
            skewed = Some((*id, run_times, seen));
        }
    }
    assert!(
        differences.is_empty(),
        "{line}: {} figures differ from Spark's:\n{}",
        differences.len(),
        differences.join("\n")
    );
    let (id, run_times, seen) = skewed.unwrap_or_else(|| panic!("{line}: no stage read the shuffle in 8 tasks"));
    let (median, max) = (run_times[3], run_times[7]);
    assert!(max >= 5 * median.max(1), "{line}: stage {id} is skewed (run times {run_times:?})");
    let lanes: std::collections::BTreeSet<i64> =
        seen["bars"].as_array().into_iter().flatten().map(|b| i(&b["lane"])).collect();
    // As many lanes as tasks ran at once by Spark's times (a task launched as another finished takes its
    // lane): two slots, and Spark may record a launch a few ms before the finish of the task it replaced.
    let mut edges: Vec<(i64, i64)> = seen["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| {
            let launch =
                sparkplane_history::time::parse_date(t["launchTime"].as_str().unwrap_or_default()).unwrap_or(0);
            [(launch, 1), (launch + i(&t["duration"]), -1)]
        })
        .collect();
    edges.sort_unstable_by_key(|&(at, step)| (at, step));
    let at_once = edges
        .iter()
        .scan(0, |running, (_, step)| {
            *running += step;
            Some(*running)
        })
        .max()
        .unwrap_or(0);
    assert!(at_once >= 2, "{line}: the two slots ran tasks at once: {edges:?}");
    assert_eq!(lanes.len() as i64, at_once, "{line}: a lane per task running at once: {lanes:?}");

    // The skewed stage as a person sees it, kept as an artifact.
    let url = format!("{ours}/history/{app}/stages/stage/?id={id}&attempt=0&task.metrics=all");
    browser.navigate(&url, PAGE_LOAD);
    let png = shots.join(format!("stage-{id}.png"));
    browser.screenshot(&png);
    assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 2000), "{} was written", png.display());
    println!("the skewed stage's page: {}", png.display());

    // The task search finds the skewed task (partition 0 of the reducing stage) by its index.
    let slowest = seen["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by_key(|t| i(&t["taskMetrics"]["executorRunTime"]))
        .cloned()
        .unwrap_or(Value::Null);
    // What the search matches, from Spark's answers: the text in a task's index, id, attempt, status,
    // locality, executor or host, case aside.
    let tasks = seen["tasks"].as_array().cloned().unwrap_or_default();
    let matching = |needle: &str| -> Vec<i64> {
        let mut ids: Vec<i64> = tasks
            .iter()
            .filter(|t| {
                [
                    &t["index"],
                    &t["taskId"],
                    &t["attempt"],
                    &t["status"],
                    &t["taskLocality"],
                    &t["executorId"],
                    &t["host"],
                ]
                .iter()
                .any(|v| v.to_string().trim_matches('"').to_lowercase().contains(needle))
            })
            .map(|t| i(&t["taskId"]))
            .collect();
        ids.sort_unstable();
        ids
    };
    let sorted = format!("{ours}/history/{app}/stages/stage/?id={id}&attempt=0&task.sort=Duration&task.desc=true");
    browser.navigate(&sorted, PAGE_LOAD);
    let locality = slowest["taskLocality"].as_str().unwrap_or_default().to_lowercase();
    let typed = browser
        .evaluate(&format!(
            "(() => {{ const box = document.querySelector('form.task-search input[name=\"task.search\"]'); \
             box.value = {}; box.form.submit(); return true; }})()",
            Value::from(locality.clone())
        ))
        .expect("the search form");
    assert_eq!(typed, true);
    browser.wait_for_load(PAGE_LOAD);
    let rows = "[...document.querySelectorAll('tr[data-task]')].map(tr => Number(tr.dataset.task))";
    let after = browser.evaluate(&format!("({{href: location.href, rows: {rows}}})")).expect("the searched page");
    let mut shown: Vec<i64> = after["rows"].as_array().into_iter().flatten().map(i).collect();
    assert!(after["href"].as_str().is_some_and(|h| h.contains("task.sort=Duration")), "the order is kept: {after}");
    assert_eq!(shown.first(), slowest["taskId"].as_i64().as_ref(), "{line}: sorted by Duration, descending: {after}");
    shown.sort_unstable();
    assert_eq!(shown, matching(&locality), "{line}: searching {locality:?}");
    let needle = i(&slowest["taskId"]).to_string();
    browser.navigate(&format!("{ours}/history/{app}/stages/stage/?id={id}&attempt=0&task.search={needle}"), PAGE_LOAD);
    let mut shown: Vec<i64> =
        browser.evaluate(rows).expect("the rows").as_array().into_iter().flatten().map(i).collect();
    shown.sort_unstable();
    assert!(shown.contains(&i(&slowest["taskId"])) && shown.len() < tasks.len(), "{line}: {needle}: {shown:?}");
    assert_eq!(shown, matching(&needle), "{line}: searching {needle:?}");
    drop(browser);
    spark_server.kill();
    server.stop();
}

#[test]
fn slow_a_skewed_stage_shows_sparks_records_and_task_columns_and_lanes_on_the_oldest_line() {
    run(support::OLDEST_LINE);
}

#[test]
fn slow_a_skewed_stage_shows_sparks_records_and_task_columns_and_lanes_on_the_newest_line() {
    run(support::NEWEST_LINE);
}
