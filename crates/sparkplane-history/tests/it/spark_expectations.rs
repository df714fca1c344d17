//! Behaviour around Spark's `HistoryServerSuite` cases (those are in
//! `spark_suite.rs`): error statuses and texts, query values Spark cannot
//! convert, attempts, and answers of Spark 4.1.4's own History Server over
//! the suite's logs (`tests/data/spark-history`, origin and license in
//! `NOTICE.md`), compared as JSON values.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_eventlog::LogSource;
use sparkplane_history::{Index, respond};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history")
}

fn index() -> Index {
    let index = Index::new(LogSource::Local(data().join("spark-events")), 64 * 1024 * 1024);
    index.refresh().expect("the test logs list");
    index
}

fn expected(name: &str) -> Value {
    let path = data().join("expectations").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn get(index: &Index, url: &str) -> (u16, Value) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let response = respond(index, path, query);
    let value = serde_json::from_str(&response.body).unwrap_or(Value::String(response.body.clone()));
    (response.status, value)
}

fn get_ok(index: &Index, url: &str) -> Value {
    let (status, value) = get(index, url);
    assert_eq!(status, 200, "{url}: {value}");
    value
}

fn assert_same(url: &str, ours: Value, theirs: Value) {
    assert_eq!(
        ours,
        theirs,
        "{url}\nours:   {}\nSpark's: {}",
        serde_json::to_string_pretty(&ours).unwrap_or_default(),
        serde_json::to_string_pretty(&theirs).unwrap_or_default()
    );
}

/// `applications/{app}/{attempt}` is Spark's `ApplicationAttemptInfo`: the
/// attempt's entry in the application's `attempts`, alone.
#[test]
fn one_attempt_json_is_its_entry_in_the_application() {
    let index = index();
    let app = get_ok(&index, "/api/v1/applications/local-1430917381535");
    for attempt in ["1", "2"] {
        let url = format!("/api/v1/applications/local-1430917381535/{attempt}");
        let entry = app["attempts"].as_array().and_then(|a| a.iter().find(|x| x["attemptId"] == attempt)).cloned();
        assert_same(&url, get_ok(&index, &url), entry.unwrap_or_default());
    }
    assert_eq!(
        get(&index, "/api/v1/applications/local-1430917381535/3"),
        (404, Value::String("unknown app local-1430917381535, attempt 3".into()))
    );
    assert_eq!(
        get(&index, "/api/v1/applications/local-1422981780767/1"),
        (404, Value::String("unknown app local-1422981780767, attempt 1".into()))
    );
}

#[test]
fn unknown_ids_answer_404_with_sparks_text() {
    let index = index();
    assert_eq!(get(&index, "/api/v1/applications/nope"), (404, Value::String("unknown app: nope".into())));
    assert_eq!(get(&index, "/api/v1/applications/nope/jobs"), (404, Value::String("no such app: nope".into())));
    let app = "/api/v1/applications/local-1422981780767";
    assert_eq!(get(&index, &format!("{app}/jobs/9")), (404, Value::String("unknown job: 9".into())));
    assert_eq!(get(&index, &format!("{app}/stages/9")), (404, Value::String("unknown stage: 9".into())));
    assert_eq!(
        get(&index, &format!("{app}/stages/1/3")),
        (404, Value::String("unknown attempt for stage 1.  Found attempts: [0]".into()))
    );
    // A multi-attempt application's detail needs its attempt id, as in Spark.
    let multi = "/api/v1/applications/local-1430917381535";
    assert_eq!(get(&index, &format!("{multi}/jobs")).0, 404);
    assert_eq!(get_ok(&index, &format!("{multi}/1/jobs")), Value::Array(vec![]));
}

#[test]
fn bad_parameters_answer_400_with_sparks_text() {
    let index = index();
    assert_eq!(
        get(&index, "/api/v1/applications?minDate=2015-02-1x"),
        (400, Value::String("Couldn't parse date: 2015-02-1x".into()))
    );
    let summary = "/api/v1/applications/local-1422981780767/stages/1/0/taskSummary?quantiles=0.5,x";
    assert_eq!(
        get(&index, summary),
        (400, Value::String("Bad value for parameter \"quantiles\".  Expected a double, got \"x\"".into()))
    );
}

#[test]
fn limit_and_status_filter_the_list() {
    let index = index();
    let one = get_ok(&index, "/api/v1/applications?limit=1");
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(one[0]["id"], "local-1642039451826", "latest end first (as Spark 4.1.4 answers)");
    assert_eq!(get_ok(&index, "/api/v1/applications?status=running"), Value::Array(vec![]));
    // 18 logs, two of them the attempts of one application: 16 applications, as Spark 4.1.4 lists them.
    assert_eq!(get_ok(&index, "/api/v1/applications?status=completed").as_array().map(Vec::len), Some(16));
}

/// Answers of Spark 4.1.4's own History Server over the same logs (see NOTICE.md).
fn live(name: &str) -> Value {
    expected(&format!("spark-4.1.4/{name}"))
}

/// Without `lastUpdated`, and without the fields Spark added after 4.1 (`support::ADDED_SINCE`),
/// which Spark 4.1.4's recorded answers cannot have.
fn without_last_updated(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("lastUpdated");
        map.remove("lastUpdatedEpoch");
        for field in crate::support::newer_than("4.1") {
            map.remove(field);
        }
    }
    value
}

#[test]
fn one_attempt_json_as_spark_4_answers_it() {
    let index = index();
    let url = "/api/v1/applications/local-1430917381535/1";
    assert_same(
        url,
        without_last_updated(get_ok(&index, url)),
        without_last_updated(live("one_app_attempt_json.json")),
    );
}

/// Values Spark's REST layer cannot convert (an unknown enum value, an `int`
/// that is not one) are 404 in Spark 4.1.4, not 400, and an id that is not a
/// number is a 404 naming the path; `sortBy` is case-insensitive and any
/// number is a quantile. Each case was answered so by Spark 4.1.4's History
/// Server over the same log.
#[test]
fn query_values_spark_cannot_convert_are_404_as_spark_4_answers() {
    let index = index();
    let app = "/api/v1/applications/local-1422981780767";
    for url in [
        "/api/v1/applications?limit=many".to_owned(),
        "/api/v1/applications?limit=99999999999".to_owned(),
        "/api/v1/applications?status=running&status=bogus".to_owned(),
        format!("{app}/jobs?status=bogus"),
        format!("{app}/stages?status=bogus"),
        format!("{app}/stages?taskStatus=bogus&details=true"),
        format!("{app}/stages/1/0/taskList?offset=x"),
        format!("{app}/stages/1/0/taskList?length=x"),
        format!("{app}/stages/1/0/taskList?status=bogus"),
        format!("{app}/stages/1/0/taskList?sortBy=bogus"),
    ] {
        assert_eq!(get(&index, &url).0, 404, "{url}");
    }
    assert_eq!(get(&index, &format!("{app}/jobs/x")), (404, Value::String(format!("{app}/jobs/x"))));

    let ids =
        |v: Value| -> Vec<i64> { v.as_array().into_iter().flatten().filter_map(|t| t["taskId"].as_i64()).collect() };
    let list = format!("{app}/stages/1/0/taskList");
    let increasing = ids(get_ok(&index, &format!("{list}?sortBy=INCREASING_RUNTIME")));
    assert_eq!(ids(get_ok(&index, &format!("{list}?sortBy=increasing_runtime"))), increasing);
    assert_eq!(ids(get_ok(&index, &format!("{list}?sortBy=Runtime"))), increasing);
    let decreasing = ids(get_ok(&index, &format!("{list}?sortBy=DECREASING_RUNTIME")));
    assert_eq!(ids(get_ok(&index, &format!("{list}?sortBy=-RUNTIME"))), decreasing);
    assert_eq!(decreasing.first(), Some(&9), "Spark 4.1.4 lists task 9 first");
    assert_eq!(increasing.first(), Some(&10), "Spark 4.1.4 lists task 10 first");

    // Spark 4.1.4 answered duration 456.0 above 1 and 450.0 below 0 for this stage.
    let summary = format!("{app}/stages/1/0/taskSummary?quantiles=1.5,-0.5");
    let answer = get_ok(&index, &summary);
    assert_eq!(answer["quantiles"], serde_json::json!([1.5, -0.5]));
    assert_eq!(answer["duration"], serde_json::json!([456.0, 450.0]));
    assert_eq!(
        get(&index, &format!("{app}/stages/1/0/taskSummary?quantiles=")),
        (400, Value::String("Bad value for parameter \"quantiles\".  Expected a double, got \"\"".into()))
    );
}

#[test]
fn stage_task_summary_json_as_spark_4_answers_it() {
    let index = index();
    let url = "/api/v1/applications/local-1422981780767/stages/1/0/taskSummary";
    assert_same(url, get_ok(&index, url), live("stage_task_summary_json.json"));
}

/// One stage attempt carries its tasks and executor summaries unless
/// `details=false` (Spark's default differs from the stage list's), as Spark
/// 4.1.4 answers it (with the two executor metrics Spark 4 added).
#[test]
fn one_stage_attempt_json_as_spark_4_answers_it() {
    let index = index();
    let url = "/api/v1/applications/local-1422981780767/stages/1/0";
    assert_same(url, get_ok(&index, url), live("one_stage_attempt_json.json"));
    let brief = get_ok(&index, &format!("{url}?details=false"));
    assert!(brief.get("tasks").is_none() && brief.get("executorSummary").is_none(), "{brief}");
    let list = get_ok(&index, "/api/v1/applications/local-1422981780767/stages/1");
    let ids: Vec<&String> = list[0]["tasks"].as_object().map(|t| t.keys().collect()).unwrap_or_default();
    assert_eq!(ids, ["10", "11", "12", "13", "14", "15", "8", "9"], "every task of the stage, keyed by id");
}
