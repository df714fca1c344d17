//! The web UI over logs written by the test's own Spark jobs, as a browser
//! shows it, for each Spark line the runtime manager installs (CI: the oldest
//! and newest, 3.5 and 4.3; the lines between by scripts/compat.sh;
//! `sparkplane runtime install`, scripts/test.sh's `need_runtime`; headless
//! Chromium: `need_chromium`). Without them the test fails saying so.
//!
//! The line's own pyspark writes the four applications
//! (`tests/data/parity/write_logs.py`; `succeeded` and `failed` taken from the
//! parity logs every suite of the run shares, testkit's `spark_logs`, and
//! `sql` and `many` written here): a succeeded one on
//! two executors whose second job reuses a shuffle (a skipped stage) and that
//! caches an RDD; a failed one whose task raises; and SQL with sort-merge
//! joins and aggregations under adaptive execution (reused, skipped stages),
//! one query of which fails in its tasks, with Spark keeping the driver's log
//! (`spark.driver.log.persistToDfs`); and 105 jobs in a log that rolled
//! over into several parts (more than one page of Spark's job and stage
//! tables: the second pages are compared at Spark's paging parameters).
//!
//! sparkplane's History Server serves them, and Spark's own History Server of
//! the same line serves the same logs. Headless Chromium, driven over the
//! DevTools protocol (`sparkplane_testkit::devtools`), opens every page of
//! every application — each job, each stage attempt, each SQL execution, each
//! tab — and for each page: no script error and no failed request; every
//! figure the page shows (the raw values in `data-v`) equals the REST API's
//! answer for the same application, both ours and Spark's own History
//! Server's (a differential test: the same figure under the same label read
//! from Spark's `jobs`, `jobs/<id>`, `stages`, `stages/<id>/<attempt>` with its
//! `taskSummary` quantiles and `taskList`, `allexecutors`, `environment`,
//! `storage/rdd` and `sql` answers); where Spark's UI computes the number
//! itself (a job's and a stage attempt's Duration, the progress counts, sizes
//! with its rounding and units in its jobs, stages and SQL tables, the
//! summaries of a job's, a stage's and an SQL execution's page, and the
//! application list's Duration, Started and Completed), Spark's page at the
//! same URL is opened in the same browser and each cell read by its column
//! header equals ours as text (`spark_pages`); every link on it answers 200; and
//! a screenshot is kept under `$CARGO_TARGET_TMPDIR/ui-screenshots/spark-<line>/`.
//! Every URL Spark's own pages link to for these applications answers 200 from
//! ours too. sparkplane's own value is checked where it shows (the failure's
//! root cause with a link to the stage's exception and the driver's log Spark
//! kept, `analyze`'s findings, the critical path in the stage timeline), the
//! pages are used by keyboard alone (skip link, focus ring, sorting the task
//! table), and the dark theme follows the browser. `slow_`: each line takes
//! a few minutes (four applications, two with executor JVMs, a JVM server).

mod spark_pages;

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sparkplane_testkit::devtools::Browser;

const PAGE_LOAD: Duration = Duration::from_secs(60);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `GET base + path`: status and body.
fn get(base: &str, path: &str) -> (u16, String) {
    let url = format!("{base}{path}");
    let mut response = agent().get(&url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap_or_default())
}

fn json(base: &str, path: &str) -> Value {
    let (status, body) = get(base, path);
    assert_eq!(status, 200, "{base}{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{base}{path}: {e}: {body:.300}"))
}

/// What the rendered page shows, read from the DOM after load.
const FIGURES: &str = r#"(() => {
  const row = el => { const tr = el.closest('tr'); return tr ? Object.assign({}, tr.dataset) : {}; };
  const values = el => [...el.querySelectorAll('td[data-v]')].map(td => Number(td.dataset.v));
  return {
    keyed: [...document.querySelectorAll('td[data-key]')].map(td =>
      ({key: td.dataset.key, v: td.dataset.v === undefined ? null : Number(td.dataset.v), row: row(td)})),
    progress: [...document.querySelectorAll('.progress')].map(p =>
      ({done: Number(p.dataset.done), total: Number(p.dataset.total), row: row(p)})),
    quantiles: Object.fromEntries([...document.querySelectorAll('tr[data-metric]')].map(tr => [tr.dataset.metric, values(tr)])),
    tasks: [...document.querySelectorAll('tr[data-task]')].map(tr => ({id: Number(tr.dataset.task),
      v: [...tr.querySelectorAll('td[data-v]:not([data-col])')].map(td => Number(td.dataset.v))})),
    metrics: [...document.querySelectorAll('td[data-metric][data-operator]')].map(td =>
      ({op: td.dataset.operator, name: td.dataset.metric, v: Number(td.dataset.v)})),
    counts: Object.fromEntries([...document.querySelectorAll('[data-count]')].map(e => [e.dataset.count, Number(e.dataset.v)])),
    executions: [...document.querySelectorAll('tr[data-execution]')].map(tr => ({
      id: Number(tr.dataset.execution),
      duration: (td => td ? Number(td.dataset.v) : null)(tr.querySelector('td[data-key=duration]')),
      succeeded: [...tr.querySelectorAll('td[data-jobs=succeeded] a')].map(a => Number(a.dataset.job)),
      failed: [...tr.querySelectorAll('td[data-jobs=failed] a')].map(a => Number(a.dataset.job))})),
    sections: Object.fromEntries([...document.querySelectorAll('details[data-section]')].map(d =>
      [d.dataset.section, d.querySelectorAll('tbody tr').length])),
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    text: document.body.innerText,
  };
})()"#;

/// The local links of a page (not `#…` in the page, not another host's), without their fragment.
fn local_links(figures: &Value) -> Vec<String> {
    figures["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|h| h.starts_with('/'))
        .map(|h| h.split('#').next().unwrap_or_default().to_owned())
        .collect()
}

fn int(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or(0)
}

/// The keyed cells of the page whose row matches `row` (every given attribute equal), as key → value.
fn keyed_in_row(figures: &Value, row: &[(&str, &str)]) -> BTreeMap<String, Option<i64>> {
    figures["keyed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|k| row.iter().all(|(attr, want)| k["row"][*attr].as_str() == Some(*want)))
        .map(|k| (k["key"].as_str().unwrap_or_default().to_owned(), k["v"].as_f64().map(|v| v as i64)))
        .collect()
}

/// Compares the page's figures with the answers of the REST API at `base`
/// (`who`: ours, or Spark's own History Server's for the same application),
/// by the page's kind; returns what differs.
fn compare_with_api(base: &str, who: &str, app: &str, rel: &str, figures: &Value, out: &mut Vec<String>) {
    let api = |resource: &str| json(base, &format!("/api/v1/applications/{app}/{resource}"));
    let mut expect = |what: String, shown: Option<i64>, answered: i64| {
        if shown != Some(answered) {
            out.push(format!("{app}/{rel}: {what}: page {shown:?}, {who} {answered}"));
        }
    };
    let (path, query) = rel.split_once('?').unwrap_or((rel, ""));
    let param = |key: &str| {
        form_urlencoded_get(query, key).and_then(|v| v.parse::<i64>().ok()).unwrap_or_else(|| panic!("{rel}: {key}"))
    };
    match path {
        "jobs/" => {
            let jobs = api("jobs");
            expect("jobs".into(), figures["counts"]["jobs"].as_i64(), jobs.as_array().map_or(0, Vec::len) as i64);
            // The jobs on this page of the list (which rows a page holds is compared with Spark's page).
            for job in jobs.as_array().into_iter().flatten() {
                let id = int(job, "jobId").to_string();
                let bar = figures["progress"].as_array().into_iter().flatten().find(|p| p["row"]["job"] == id.as_str());
                let Some(bar) = bar.cloned() else { continue };
                expect(format!("job {id} bar done"), bar["done"].as_i64(), int(job, "numCompletedTasks"));
                expect(
                    format!("job {id} bar total"),
                    bar["total"].as_i64(),
                    int(job, "numTasks") - int(job, "numSkippedTasks"),
                );
            }
        }
        "jobs/job/" => {
            let job = api(&format!("jobs/{}", param("id")));
            let facts = keyed_in_row(figures, &[]);
            for key in [
                "numTasks",
                "numCompletedTasks",
                "numFailedTasks",
                "numKilledTasks",
                "numSkippedTasks",
                "numCompletedStages",
                "numSkippedStages",
                "numFailedStages",
            ] {
                expect(key.into(), facts.get(key).copied().flatten(), int(&job, key));
            }
            let bar = figures["progress"].get(0).cloned().unwrap_or(Value::Null);
            expect("the job's bar done".into(), bar["done"].as_i64(), int(&job, "numCompletedTasks"));
            expect(
                "the job's bar total".into(),
                bar["total"].as_i64(),
                int(&job, "numTasks") - int(&job, "numSkippedTasks"),
            );
            stage_rows(figures, &api("stages"), &format!("{app}/{rel}"), who, out);
        }
        "stages/" => {
            let stages = api("stages");
            expect("stages".into(), figures["counts"]["stages"].as_i64(), stages.as_array().map_or(0, Vec::len) as i64);
            stage_rows(figures, &stages, &format!("{app}/{rel}"), who, out);
        }
        "stages/stage/" => {
            stage_page(&api, who, figures, (param("id"), param("attempt")), &format!("{app}/{rel}"), out)
        }
        "executors/" => {
            for e in api("allexecutors").as_array().into_iter().flatten() {
                let id = e["id"].as_str().unwrap_or_default();
                let shown = keyed_in_row(figures, &[("executor", id)]);
                for key in [
                    "totalCores",
                    "activeTasks",
                    "failedTasks",
                    "completedTasks",
                    "totalTasks",
                    "totalDuration",
                    "totalGCTime",
                    "totalInputBytes",
                    "totalShuffleRead",
                    "totalShuffleWrite",
                ] {
                    expect(format!("executor {id} {key}"), shown.get(key).copied().flatten(), int(e, key));
                }
                if let Some(peak) = e["peakMemoryMetrics"]["JVMHeapMemory"].as_i64() {
                    expect(format!("executor {id} JVMHeapMemory"), shown.get("JVMHeapMemory").copied().flatten(), peak);
                }
            }
        }
        "environment/" => {
            let env = api("environment");
            for key in ["sparkProperties", "hadoopProperties", "systemProperties", "classpathEntries"] {
                let n = env[key].as_array().map_or(0, Vec::len) as i64;
                expect(format!("{key} rows"), figures["sections"][key].as_i64(), n);
            }
        }
        "storage/" => {
            let rdds = api("storage/rdd");
            expect(
                "cached RDDs".into(),
                figures["counts"]["rdds"].as_i64(),
                rdds.as_array().map_or(0, Vec::len) as i64,
            );
        }
        _ => {}
    }
}

/// `query`'s first value of `key`.
fn form_urlencoded_get(query: &str, key: &str) -> Option<String> {
    query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| v.to_owned())
}

/// Each stage row's keyed figures against the stage list of `who`'s API.
fn stage_rows(figures: &Value, stages: &Value, page: &str, who: &str, out: &mut Vec<String>) {
    let rows: BTreeSet<(String, String)> = figures["keyed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| Some((k["row"]["stage"].as_str()?.to_owned(), k["row"]["attempt"].as_str()?.to_owned())))
        .collect();
    assert!(!rows.is_empty(), "{page}: no stage row");
    for (stage, attempt) in rows {
        let answered = stages
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["stageId"].as_i64() == stage.parse().ok() && s["attemptId"].as_i64() == attempt.parse().ok())
            .unwrap_or_else(|| panic!("{page}: stage {stage}.{attempt} is not in {who}'s list"));
        let shown = keyed_in_row(figures, &[("stage", &stage), ("attempt", &attempt)]);
        // Duration as Spark's stage tables compute it: from the first task's launch to the completion.
        let at = |key: &str| answered[key].as_str().and_then(sparkplane_history::time::parse_date);
        if let (Some(launched), Some(completed)) = (at("firstTaskLaunchedTime"), at("completionTime"))
            && shown.get("duration").copied().flatten() != Some(completed - launched)
        {
            out.push(format!(
                "{page}: stage {stage}.{attempt} duration: page {:?}, from the first launch to the end {}",
                shown.get("duration"),
                completed - launched
            ));
        }
        for key in [
            "inputBytes",
            "outputBytes",
            "shuffleReadBytes",
            "shuffleWriteBytes",
            "memoryBytesSpilled",
            "diskBytesSpilled",
        ] {
            if shown.get(key).copied().flatten() != Some(int(answered, key)) {
                out.push(format!(
                    "{page}: stage {stage}.{attempt} {key}: page {:?}, {who} {}",
                    shown.get(key),
                    answered[key]
                ));
            }
        }
    }
}

/// A stage page: its totals, summary quantiles, figures per executor and task rows against the API.
fn stage_page(
    api: &dyn Fn(&str) -> Value,
    who: &str,
    figures: &Value,
    (id, attempt): (i64, i64),
    page: &str,
    out: &mut Vec<String>,
) {
    let stage = api(&format!("stages/{id}/{attempt}?details=true"));
    let facts = keyed_in_row(figures, &[]);
    for key in [
        "numTasks",
        "numCompleteTasks",
        "numFailedTasks",
        "numKilledTasks",
        "executorRunTime",
        "jvmGcTime",
        "inputBytes",
        "outputBytes",
        "shuffleReadBytes",
        "shuffleWriteBytes",
        "memoryBytesSpilled",
        "diskBytesSpilled",
    ] {
        if facts.get(key).copied().flatten() != Some(int(&stage, key)) {
            out.push(format!("{page}: {key}: page {:?}, {who} {}", facts.get(key), stage[key]));
        }
    }
    for (executor, summary) in stage["executorSummary"].as_object().into_iter().flatten() {
        let shown = keyed_in_row(figures, &[("executor", executor)]);
        for key in
            ["taskTime", "succeededTasks", "failedTasks", "killedTasks", "inputBytes", "shuffleRead", "shuffleWrite"]
        {
            if shown.get(&format!("executor.{key}")).copied().flatten() != Some(int(summary, key)) {
                out.push(format!(
                    "{page}: executor {executor} {key}: page {:?}, {who} {}",
                    shown.get(&format!("executor.{key}")),
                    summary[key]
                ));
            }
        }
    }
    if int(&stage, "numCompleteTasks") > 0 {
        let q = api(&format!("stages/{id}/{attempt}/taskSummary?quantiles=0,0.25,0.5,0.75,1.0"));
        for (metric, path) in [
            ("executorRunTime", vec!["executorRunTime"]),
            ("duration", vec!["duration"]),
            ("jvmGcTime", vec!["jvmGcTime"]),
            ("executorDeserializeTime", vec!["executorDeserializeTime"]),
            ("inputMetrics.bytesRead", vec!["inputMetrics", "bytesRead"]),
            ("shuffleReadMetrics.readBytes", vec!["shuffleReadMetrics", "readBytes"]),
            ("shuffleWriteMetrics.writeBytes", vec!["shuffleWriteMetrics", "writeBytes"]),
        ] {
            let answered: Vec<i64> = path
                .iter()
                .try_fold(&q, |v, k| v.get(*k))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| v.as_f64().unwrap_or(-1.0) as i64)
                .collect();
            let shown: Vec<i64> = figures["quantiles"][metric]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_f64().unwrap_or(-2.0) as i64)
                .collect();
            if shown != answered {
                out.push(format!("{page}: quantiles of {metric}: page {shown:?}, {who} {answered:?}"));
            }
        }
    }
    let tasks = api(&format!("stages/{id}/{attempt}/taskList?length=100000"));
    let by_id: BTreeMap<i64, &Value> = tasks.as_array().into_iter().flatten().map(|t| (int(t, "taskId"), t)).collect();
    let rows = figures["tasks"].as_array().cloned().unwrap_or_default();
    assert!(!rows.is_empty() || by_id.is_empty(), "{page}: the task table is empty");
    for row in rows {
        let shown: Vec<i64> =
            row["v"].as_array().into_iter().flatten().map(|v| v.as_f64().unwrap_or(-1.0) as i64).collect();
        let t = by_id
            .get(&row["id"].as_i64().unwrap_or(-1))
            .unwrap_or_else(|| panic!("{page}: task {} not in {who}'s list", row["id"]));
        let m = &t["taskMetrics"];
        let nested = |g: &str, k: &str| m[g][k].as_i64().unwrap_or(0);
        let mut answered = vec![int(t, "index"), int(t, "taskId"), int(t, "attempt")];
        // Spark's Duration (the executor's run time), then ours from launch to finish.
        answered.extend(m["executorRunTime"].as_i64());
        answered.extend(t["duration"].as_i64());
        answered.extend([
            m["jvmGcTime"].as_i64().unwrap_or(0),
            nested("inputMetrics", "bytesRead"),
            nested("shuffleReadMetrics", "remoteBytesRead") + nested("shuffleReadMetrics", "localBytesRead"),
            nested("shuffleWriteMetrics", "bytesWritten"),
            m["diskBytesSpilled"].as_i64().unwrap_or(0),
        ]);
        if shown != answered {
            out.push(format!("{page}: task {}: page {shown:?}, {who} {answered:?}", t["taskId"]));
        }
    }
}

/// The SQL tab against Spark's History Server's `sql` answers (ours equal them:
/// `spark_history_parity`); true when an execution's operator row counts were compared.
fn compare_sql_with_spark(spark: &str, app: &str, rel: &str, figures: &Value, out: &mut Vec<String>) -> bool {
    let page = format!("{app}/{rel}");
    if rel == "SQL/" {
        let theirs = json(spark, &format!("/api/v1/applications/{app}/sql?details=false&length=10000"));
        let theirs = theirs.as_array().cloned().unwrap_or_default();
        let shown = figures["executions"].as_array().cloned().unwrap_or_default();
        if shown.len() != theirs.len() {
            out.push(format!("{page}: {} executions, Spark's API {}", shown.len(), theirs.len()));
        }
        for e in theirs {
            let Some(row) = shown.iter().find(|r| r["id"] == e["id"]) else {
                out.push(format!("{page}: execution {} missing", e["id"]));
                continue;
            };
            for (ours, key) in [("succeeded", "successJobIds"), ("failed", "failedJobIds")] {
                let mut want: Vec<i64> = e[key].as_array().into_iter().flatten().filter_map(Value::as_i64).collect();
                let mut got: Vec<i64> = row[ours].as_array().into_iter().flatten().filter_map(Value::as_i64).collect();
                want.sort_unstable();
                got.sort_unstable();
                if want != got {
                    out.push(format!("{page}: execution {} {key}: page {got:?}, Spark's API {want:?}", e["id"]));
                }
            }
            if row["duration"].as_i64() != e["duration"].as_i64() {
                out.push(format!(
                    "{page}: execution {} duration: page {}, Spark's API {}",
                    e["id"], row["duration"], e["duration"]
                ));
            }
        }
    } else if let Some(id) = rel.strip_prefix("SQL/execution/?id=") {
        let theirs = json(spark, &format!("/api/v1/applications/{app}/sql/{id}?details=true"));
        // Row counts per operator: Spark's graph and our table read the same plan and the same accumulators.
        let rows = |op: &str, v: i64| (op.to_owned(), v);
        let mut want: Vec<(String, i64)> = theirs["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| {
                let name = n["nodeName"].as_str().unwrap_or_default().to_owned();
                n["metrics"].as_array().cloned().unwrap_or_default().into_iter().filter_map(move |m| {
                    let value = m["value"].as_str()?.replace(',', "");
                    (m["name"] == "number of output rows")
                        .then(|| value.parse::<i64>().ok().map(|v| rows(&name, v)))
                        .flatten()
                })
            })
            .collect();
        let mut got: Vec<(String, i64)> = figures["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["name"] == "number of output rows")
            .map(|m| rows(m["op"].as_str().unwrap_or_default(), m["v"].as_f64().unwrap_or(-1.0) as i64))
            .collect();
        want.sort();
        got.sort();
        if want != got {
            out.push(format!("{page}: output rows per operator: page {got:?}, Spark's API {want:?}"));
        }
        return !want.is_empty();
    }
    false
}

/// Every page of `app` at Spark's URLs, relative to `/history/{app}/`.
fn pages_of(ours: &str, app: &str) -> Vec<String> {
    let mut pages: Vec<String> =
        ["jobs/", "stages/", "storage/", "environment/", "executors/", "SQL/"].map(str::to_owned).to_vec();
    for job in json(ours, &format!("/api/v1/applications/{app}/jobs")).as_array().into_iter().flatten() {
        pages.push(format!("jobs/job/?id={}", job["jobId"]));
    }
    for s in json(ours, &format!("/api/v1/applications/{app}/stages")).as_array().into_iter().flatten() {
        pages.push(format!("stages/stage/?id={}&attempt={}", s["stageId"], s["attemptId"]));
    }
    for rdd in json(ours, &format!("/api/v1/applications/{app}/storage/rdd")).as_array().into_iter().flatten() {
        pages.push(format!("storage/rdd/?id={}", rdd["id"]));
    }
    pages
}

/// The `/history/{app}/…` URLs Spark's own History Server links to from its
/// pages of `app`, as a browser asks for them (spaces encoded): its pages are
/// crawled once per page (path, `id` and `attempt`), and every link found is kept,
/// its sorting and paging variants included.
fn spark_urls(spark: &str, app: &str) -> BTreeSet<String> {
    let prefix = format!("/history/{app}/");
    let page_of = |href: &str| {
        let (path, query) = href.split_once('?').unwrap_or((href, ""));
        let keep: Vec<&str> = query.split('&').filter(|p| p.starts_with("id=") || p.starts_with("attempt=")).collect();
        format!("{path}?{}", keep.join("&"))
    };
    let mut links = BTreeSet::new();
    let mut crawled = BTreeSet::new();
    let mut queue = vec![format!("{prefix}jobs/")];
    while let Some(path) = queue.pop() {
        if !crawled.insert(page_of(&path)) {
            continue;
        }
        let (status, body) = get(spark, &path);
        assert_eq!(status, 200, "Spark's own {path}");
        for href in body.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()) {
            let href = href.replace("&amp;", "&").replace(' ', "%20");
            let href = href.split('#').next().unwrap_or_default().to_owned();
            if href.starts_with(&prefix) && links.insert(href.clone()) {
                queue.push(href);
            }
        }
    }
    links
}

/// Tab, Enter and Shift+Tab through a page: the skip link comes first and is
/// shown when focused, Enter on it moves focus to the content, every control
/// focused shows a focus ring, and the task table is sorted by keyboard alone.
fn keyboard(browser: &mut Browser, ours: &str, app: &str, stage: &str) {
    browser.navigate(&format!("{ours}/history/{app}/jobs/"), PAGE_LOAD);
    browser.press("Tab", false);
    let first = browser
        .evaluate("(() => { const e = document.activeElement; const r = e.getBoundingClientRect(); \
                   return {cls: e.className, left: r.left, top: r.top, outline: getComputedStyle(e).outlineStyle}; })()")
        .expect("the focused element");
    assert_eq!(first["cls"], "skip", "the first Tab stop is the skip link: {first}");
    assert!(first["left"].as_f64().unwrap_or(-1.0) >= 0.0, "the skip link is shown once focused: {first}");
    browser.press("Enter", false);
    let at = browser.evaluate("document.activeElement.id").expect("focus after the skip link");
    assert_eq!(at, "main", "Enter on the skip link moves focus to the content");
    // Every control that takes focus shows where it is.
    let mut stops = BTreeSet::new();
    for _ in 0..400 {
        browser.press("Tab", false);
        let focused = browser
            .evaluate("(() => { const e = document.activeElement; if (e === document.body) return null; \
                       const s = getComputedStyle(e); const t = e.closest('svg') ? 'svg' : e.tagName; \
                       return {tag: t, href: e.getAttribute('href'), outline: s.outlineStyle, width: s.outlineWidth}; })()")
            .expect("the focused element");
        if focused.is_null() {
            break;
        }
        assert_ne!(focused["outline"], "none", "a focused control shows a focus ring: {focused}");
        stops.insert(format!(
            "{}:{}",
            focused["tag"].as_str().unwrap_or_default(),
            focused["href"].as_str().unwrap_or_default()
        ));
    }
    assert!(
        stops.iter().any(|s| s.starts_with("svg:") && s.contains("stages/stage/")),
        "the timeline's bars are reachable: {stops:?}"
    );
    assert!(stops.iter().any(|s| s.contains("jobs/job/?id=")), "the jobs are reachable: {stops:?}");

    // On a stage page: Tab to the task table's Duration header and press Enter: the table is sorted by it.
    browser.navigate(&format!("{ours}/history/{app}/stages/stage/?{stage}"), PAGE_LOAD);
    let mut sorted = false;
    for _ in 0..400 {
        browser.press("Tab", false);
        let text = browser.evaluate("document.activeElement.textContent").unwrap_or(Value::Null);
        if text.as_str().is_some_and(|t| t.trim() == "Duration") {
            browser.press("Enter", false);
            browser.wait_for_load(PAGE_LOAD);
            let url = browser.evaluate("location.href").expect("the address");
            assert!(url.as_str().is_some_and(|u| u.contains("task.sort=Duration")), "{url}");
            let sort = browser
                .evaluate("[...document.querySelectorAll('th[aria-sort]')].filter(t => t.getAttribute('aria-sort') !== 'none').map(t => t.textContent.trim() + ':' + t.getAttribute('aria-sort'))")
                .expect("the sorted column");
            assert_eq!(sort, serde_json::json!(["Duration ▲:ascending"]), "the table says how it is sorted");
            sorted = true;
            break;
        }
    }
    assert!(sorted, "the task table's Duration header was reached by Tab");
}

/// Copies the shared parity logs' `succeeded` (local-cluster, rolling: the `eventlog_v2_app-*`
/// folder) and `failed` (local-cluster, one plain `app-*` file) applications into `logs`; the
/// other two (`lz4`, `in-progress`) ran in `local[2]` and are named `local-*`.
fn copy_succeeded_and_failed(line: &str, logs: &Path) {
    let shared = sparkplane_testkit::spark_logs::parity_logs(line).unwrap_or_else(|e| panic!("{e}"));
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(&shared).unwrap_or_else(|e| panic!("{}: {e}", shared.display())) {
        let from = entry.unwrap_or_else(|e| panic!("{}: {e}", shared.display())).path();
        let name = from.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with("eventlog_v2_app-") && from.is_dir() {
            let to = logs.join(&name);
            std::fs::create_dir_all(&to).expect("mkdir");
            for part in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
                let part = part.expect("a part of the rolling log").path();
                std::fs::copy(&part, to.join(part.file_name().expect("a file name"))).expect("copy a part");
            }
            copied.push(name);
        } else if name.starts_with("app-") && from.is_file() {
            std::fs::copy(&from, logs.join(&name)).expect("copy the log");
            copied.push(name);
        }
    }
    assert_eq!(
        copied.len(),
        2,
        "the shared logs of {line} in {} hold succeeded and failed: {copied:?}",
        shared.display()
    );
}

fn run(line: &str) {
    let run_started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, driver_logs) = (dir.path().join("logs"), dir.path().join("driver-logs"));
    std::fs::create_dir_all(&logs).expect("mkdir");
    std::fs::create_dir_all(&driver_logs).expect("mkdir");
    // `succeeded` and `failed` are the parity applications every suite of this run shares (testkit's
    // spark_logs, written once a run and line); only `sql`, with its driver's log, is written here.
    copy_succeeded_and_failed(line, &logs);
    let written = support::write_spark_logs(line, &logs, &["sql", "many"], &[("SPARKPLANE_DRIVER_LOGS", &driver_logs)]);
    let count = std::fs::read_dir(&logs).map(|d| d.count()).unwrap_or(0);
    assert!(
        written.status.success() && count == 4,
        "write_logs.py ({line}) left {count} logs: {}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert!(rolled_over(&logs) >= 2, "{line}: ui-many's rolling log has several parts");
    let server = support::serve_logs(&logs);
    let ours = format!("http://{}", server.addr());
    let home = sparkplane_testkit::history::runtime_path(line, "sparkHome").unwrap_or_else(|e| panic!("{e}"));
    let mut spark_server =
        sparkplane_testkit::HistoryServer::start_from(&home, &logs).unwrap_or_else(|e| panic!("{e}"));
    spark_server.wait_until_answering(Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    let spark = spark_server.base_url.clone();
    let deadline = Instant::now() + Duration::from_secs(90);
    while json(&spark, "/api/v1/applications").as_array().map_or(0, Vec::len) < 4 {
        assert!(Instant::now() < deadline, "Spark {line}'s History Server did not list the four applications");
        std::thread::sleep(Duration::from_millis(300));
    }

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ui-screenshots/spark-{line}"));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let mut browser = Browser::start();
    let mut differences = Vec::new();
    let mut checked: BTreeSet<String> = BTreeSet::new();
    let mut pages_seen = 0;
    let mut plans_compared = 0;
    let apps: Vec<(String, String)> = json(&ours, "/api/v1/applications")
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["id"].as_str().unwrap_or_default().to_owned(), a["name"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(apps.len(), 4, "{apps:?}");
    let mut texts: BTreeMap<(String, String), Value> = BTreeMap::new();
    // Cells compared with Spark's rendered pages, by page kind.
    let mut rendered: BTreeMap<String, usize> = BTreeMap::new();
    // The application list: ours and Spark's (filled by its script from its REST API), dates in UTC.
    browser.call("Emulation.setTimezoneOverride", serde_json::json!({"timezoneId": "UTC"})).expect("UTC");
    browser.navigate(&format!("{ours}/"), PAGE_LOAD);
    let our_list = browser.evaluate(spark_pages::TABLES).expect("our list");
    browser.navigate(&format!("{spark}/"), PAGE_LOAD);
    assert_eq!(browser.evaluate(spark_pages::LIST_READY), Ok(Value::Bool(true)), "Spark's list shows its rows");
    let spark_list = browser.evaluate(spark_pages::TABLES).expect("Spark's list");
    let mut spent = [Duration::ZERO; 2];
    let before_pages = run_started.elapsed();
    let loop_started = Instant::now();
    rendered.insert(
        "list".into(),
        spark_pages::compare("the application list", "app", &spark_list, &our_list, &mut differences),
    );
    for (app, name) in &apps {
        // Every URL Spark's own pages link to for this application answers 200 from ours.
        let spark_links = spark_urls(&spark, app);
        assert!(spark_links.len() > 5, "Spark's pages of {app} link to its pages: {spark_links:?}");
        for url in &spark_links {
            let (status, body) = get(&ours, url);
            assert_eq!(status, 200, "Spark's URL {url} on ours: {body:.400}");
        }
        let mut pages = pages_of(&ours, app);
        if name == "ui-many" {
            pages = many_jobs_pages(pages);
        }
        let executions = figures_of(&mut browser, &ours, app, "SQL/")["executions"].clone();
        for e in executions.as_array().into_iter().flatten() {
            pages.push(format!("SQL/execution/?id={}", e["id"]));
        }
        for rel in pages {
            let url = format!("{ours}/history/{app}/{rel}");
            let load = browser.navigate(&url, PAGE_LOAD);
            assert!(load.script_errors.is_empty(), "{url}: script errors {:?}", load.script_errors);
            assert!(load.failed_requests.is_empty(), "{url}: failed requests {:?}", load.failed_requests);
            let figures = browser.evaluate(FIGURES).unwrap_or_else(|e| panic!("{url}: {e}"));
            let our_tables = spark_pages::rendered_counterpart(&rel)
                .then(|| browser.evaluate(spark_pages::TABLES).unwrap_or_else(|e| panic!("{url}: {e}")));
            compare_with_api(&ours, "our API", app, &rel, &figures, &mut differences);
            let started = Instant::now();
            compare_with_api(&spark, "Spark's API", app, &rel, &figures, &mut differences);
            spent[0] += started.elapsed();
            if compare_sql_with_spark(&spark, app, &rel, &figures, &mut differences) {
                plans_compared += 1;
            }
            for link in local_links(&figures) {
                if checked.insert(link.clone()) {
                    let (status, _) = get(&ours, &link);
                    assert_eq!(status, 200, "{link}, linked from {url}");
                }
            }
            let png =
                shots.join(format!("{name}-{}.png", rel.replace(['/', '?', '&', '='], "_").trim_end_matches('_')));
            browser.screenshot(&png);
            assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 2000), "{} was written", png.display());
            if let Some(our_tables) = our_tables {
                // Spark's own page at the same URL, as its UI renders it.
                let started = Instant::now();
                let theirs = format!("{spark}/history/{app}/{rel}");
                // These pages' tables and summaries are Spark's server's HTML; its scripts (the
                // timelines, the stage page's task table from its REST API) are not waited for,
                // but where its script builds the table (Spark 4.3's SQL pages) it is.
                browser.navigate_without_scripts(&theirs, PAGE_LOAD);
                if browser.evaluate(spark_pages::SCRIPT_BUILT) == Ok(Value::Bool(true)) {
                    // Spark 4.3's SQL pages: the table is its script's, over its REST API.
                    browser.navigate(&theirs, PAGE_LOAD);
                    assert_eq!(
                        browser.evaluate(spark_pages::SCRIPT_TABLE_READY),
                        Ok(Value::Bool(true)),
                        "{theirs}: Spark's script shows its table"
                    );
                }
                let spark_tables = browser.evaluate(spark_pages::TABLES).unwrap_or_else(|e| panic!("{theirs}: {e}"));
                spent[1] += started.elapsed();
                let kind = rel.split('?').next().unwrap_or_default().to_owned();
                *rendered.entry(kind).or_default() += spark_pages::compare(
                    &format!("{app}/{rel}"),
                    spark_pages::row_kind(&rel),
                    &spark_tables,
                    &our_tables,
                    &mut differences,
                );
            }
            texts.insert((name.clone(), rel), figures);
            pages_seen += 1;
        }
    }
    eprintln!(
        "{line}: logs and servers {before_pages:.1?}, pages {:.1?} (of which Spark's REST answers {:.1?}, \
         Spark's rendered pages {:.1?}); cells compared with Spark's pages: {rendered:?}",
        loop_started.elapsed(),
        spent[0],
        spent[1]
    );
    assert!(
        differences.is_empty(),
        "{} figures differ from the REST APIs (ours and Spark's) or from Spark's rendered pages:\n{}",
        differences.len(),
        differences.join("\n")
    );
    for kind in ["list", "jobs/", "jobs/job/", "stages/", "stages/stage/", "SQL/", "SQL/execution/"] {
        assert!(
            rendered.get(kind).is_some_and(|n| *n > 0),
            "{line}: no cell of a {kind} page was compared with Spark's rendered page: {rendered:?}"
        );
    }
    assert!(pages_seen > 30 && checked.len() > 60, "{pages_seen} pages, {} links checked", checked.len());
    assert!(
        plans_compared >= 2,
        "the joins' and aggregations' row counts were compared with Spark's ({plans_compared})"
    );
    sparkplane_value(line, &texts, &driver_logs);

    // Keyboard, on the SQL application (a failed stage, a timeline) and its first stage.
    let (sql_app, _) = apps.iter().find(|(_, n)| n == "ui-sql").expect("the SQL application");
    keyboard(&mut browser, &ours, sql_app, "id=0&attempt=0");

    // The dark theme follows the browser.
    let background =
        |browser: &mut Browser| browser.evaluate("getComputedStyle(document.body).backgroundColor").expect("colour");
    browser.navigate(&format!("{ours}/history/{sql_app}/jobs/"), PAGE_LOAD);
    let light = background(&mut browser);
    browser.prefer_dark(true);
    browser.navigate(&format!("{ours}/history/{sql_app}/jobs/"), PAGE_LOAD);
    assert_eq!(light, "rgb(255, 255, 255)");
    assert_eq!(background(&mut browser), "rgb(22, 24, 28)", "dark when the browser prefers it");
    browser.screenshot(&shots.join("ui-sql-jobs-dark.png"));
    drop(browser);
    spark_server.kill();
    server.stop();
}

/// The most parts of a rolling log in `logs` (its `eventlog_v2_*` folder's `events_<n>_*` files).
fn rolled_over(logs: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(logs) else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("eventlog_v2_"))
        .map(|e| {
            std::fs::read_dir(e.path())
                .map(|parts| {
                    parts
                        .filter_map(Result::ok)
                        .filter(|p| p.file_name().to_string_lossy().starts_with("events_"))
                        .count()
                })
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// The pages of `ui-many` (105 jobs of one stage each) opened: every kind of
/// page once — the lists, the first and last job and stage — and the second
/// page of the jobs and stages lists at Spark's own paging parameters (100 rows a page).
fn many_jobs_pages(all: Vec<String>) -> Vec<String> {
    let mut pages: Vec<String> = all.iter().filter(|p| !p.contains('?')).cloned().collect();
    for kind in ["jobs/job/?", "stages/stage/?"] {
        let of_kind: Vec<&String> = all.iter().filter(|p| p.starts_with(kind)).collect();
        assert!(of_kind.len() >= 105, "ui-many has 105 of {kind}: {}", of_kind.len());
        pages.extend(of_kind.first().map(|p| (*p).clone()));
        pages.extend(of_kind.last().map(|p| (*p).clone()));
    }
    pages.push("jobs/?completedJob.page=2&completedJob.pageSize=100".into());
    pages.push("stages/?completedStage.page=2&completedStage.pageSize=100".into());
    pages
}

/// The figures of one page, loaded.
fn figures_of(browser: &mut Browser, ours: &str, app: &str, rel: &str) -> Value {
    let url = format!("{ours}/history/{app}/{rel}");
    browser.navigate(&url, PAGE_LOAD);
    browser.evaluate(FIGURES).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// What sparkplane adds, as the pages showed it: the failures' root causes
/// linked to the stage's exception and the driver's log, the findings, the
/// critical path in the timeline, and the cases the logs are for.
fn sparkplane_value(line: &str, pages: &BTreeMap<(String, String), Value>, driver_logs: &Path) {
    let text = |app: &str, rel: &str| {
        pages.get(&(app.to_owned(), rel.to_owned())).map(|p| p["text"].as_str().unwrap_or_default().to_owned())
    };
    let jobs = |app: &str| text(app, "jobs/").unwrap_or_else(|| panic!("{line}: no jobs page of {app}"));
    // The failed application: why it failed, linked to its stage's exception.
    let failed = jobs("parity-failed");
    assert!(
        failed.contains("The application failed") && failed.contains("parity: bad partition 1"),
        "{line}: {failed}"
    );
    let failed_stage = pages
        .iter()
        .filter(|((app, rel), _)| app == "parity-failed" && rel.starts_with("stages/stage/"))
        .find(|(_, p)| p["text"].as_str().is_some_and(|t| t.contains("Failed task attempts")))
        .unwrap_or_else(|| panic!("{line}: no stage page of parity-failed lists its failed task"));
    let stage_text = failed_stage.1["text"].as_str().unwrap_or_default();
    assert!(
        stage_text.contains("Root cause") && stage_text.contains("ValueError: parity: bad partition 1"),
        "{line}: {stage_text}"
    );
    assert!(stage_text.contains("The log store holds no driver log"), "{line}: parity-failed kept none: {stage_text}");
    // The SQL application's failed query: Spark kept the driver's log, and the page names it.
    let sql_failed = pages
        .iter()
        .filter(|((app, rel), _)| app == "ui-sql" && rel.starts_with("stages/stage/"))
        .find_map(|(_, p)| p["text"].as_str().filter(|t| t.contains("Spark kept it at")))
        .unwrap_or_else(|| panic!("{line}: no failed stage of ui-sql names the driver's log"));
    let path =
        sql_failed.split("Spark kept it at ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or_default();
    let path = path.strip_prefix("file://").unwrap_or(path);
    assert!(path.starts_with(&driver_logs.display().to_string()), "{line}: {path} is in {}", driver_logs.display());
    let log = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{line}: the driver's log {path}: {e}"));
    assert!(log.contains("ui: bad customer 7"), "{line}: the driver's log holds the exception");
    assert!(sql_failed.contains("ui: bad customer 7"), "{line}: the stage shows the exception");
    // Findings and the timing with the critical path, on every jobs page.
    for app in ["parity-succeeded", "parity-failed", "ui-sql"] {
        let page = jobs(app);
        assert!(page.contains("Findings ("), "{line} {app}: {page}");
        assert!(page.contains("critical path") && page.contains("Stage timeline"), "{line} {app}: {page}");
    }
    // The cases the logs are for: a skipped stage, a cached RDD, joins and aggregations with their metrics.
    let stages = text("parity-succeeded", "stages/").unwrap_or_default();
    assert!(stages.contains("Skipped stages ("), "{line}: {stages}");
    let sql_ops: BTreeSet<String> = pages
        .iter()
        .filter(|((app, rel), _)| app == "ui-sql" && rel.starts_with("SQL/execution/"))
        .flat_map(|(_, p)| p["metrics"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["op"].as_str().map(str::to_owned))
        .collect();
    for op in ["SortMergeJoin", "HashAggregate", "Exchange"] {
        assert!(sql_ops.iter().any(|o| o.starts_with(op)), "{line}: no {op} with metrics in {sql_ops:?}");
    }
}

#[test]
fn slow_every_page_of_spark_3_5_applications_renders_with_the_apis_figures_and_resolving_links() {
    run("3.5");
}

#[test]
fn slow_every_page_of_spark_4_3_applications_renders_with_the_apis_figures_and_resolving_links() {
    run("4.3");
}

// Lines between the oldest and the newest: scripts/compat.sh runs them
// (`--run-ignored all`), CI proves the oldest and the newest line only.
#[test]
#[ignore = "a middle Spark line: scripts/compat.sh runs it"]
fn slow_every_page_of_spark_4_0_applications_renders_with_the_apis_figures_and_resolving_links() {
    run("4.0");
}

#[test]
#[ignore = "a middle Spark line: scripts/compat.sh runs it"]
fn slow_every_page_of_spark_4_1_applications_renders_with_the_apis_figures_and_resolving_links() {
    run("4.1");
}

#[test]
#[ignore = "a middle Spark line: scripts/compat.sh runs it"]
fn slow_every_page_of_spark_4_2_applications_renders_with_the_apis_figures_and_resolving_links() {
    run("4.2");
}
