//! sparkplane's own value on the pages, against the one model: the failure's
//! root cause and `analyze`'s findings as the event-log crate computes them,
//! the critical path of its timing marked in the stage timeline, a failed
//! stage linked to its exception, its failed tasks and the driver's log, the
//! job's bar of task progress as the API counts it, and the bounds.

use serde_json::Value;
use sparkplane_analysis::analyze::analyze;

use crate::api;
use crate::ui::fixture::{OneApp, app_of, facts, hostile_lines, summary};
use crate::ui::{esc, esc_attr, respond};

fn page(app: &OneApp, path: &str, query: &str) -> String {
    let html = respond(app, &facts, path, query);
    assert_eq!(html.status, 200, "{path}?{query}: {}", html.body);
    html.body
}

fn api_json(app: &OneApp, resource: &str) -> Value {
    let answer = api::respond(app, &format!("/api/v1/applications/app-1/{resource}"), "");
    assert_eq!(answer.status, 200, "{resource}: {}", answer.body);
    serde_json::from_str(&answer.body).expect("json")
}

#[test]
fn the_jobs_page_shows_why_it_failed_and_each_finding_with_its_fix_as_analyze_finds_them() {
    let lines = hostile_lines("a");
    let app = app_of("app-1", "a", &lines);
    let model = summary(&lines);
    let findings = analyze(&model);
    assert!(!findings.is_empty(), "the fixture's failed task is a finding");
    let html = page(&app, "/history/app-1/jobs/", "");
    assert!(html.contains(&format!("Findings ({})", findings.len())), "{html}");
    for f in &findings {
        assert!(html.contains(&format!("data-finding=\"{}\"", f.id)), "{}: {html}", f.id);
        assert!(html.contains(&format!("Fix: {}", esc(&f.fix))), "{}: {html}", f.id);
        assert!(html.contains(&esc(&f.evidence)), "{}: {html}", f.id);
    }
    let failure = model.failure.expect("the fixture's job failed");
    let stage = failure.stage_id.expect("in a stage");
    assert!(html.contains("The application failed"), "{html}");
    let link = format!("/history/app%2D1/stages/stage/?id={stage}&attempt=0#failure");
    assert!(html.contains(&format!("href=\"{}\" data-failed-stage=\"{stage}\"", esc_attr(&link))), "{html}");
    assert!(html.contains(&format!("data-cause=\"{}\"", failure.cause.as_str())), "{html}");
    assert!(!html.contains("<script>alert"), "log text is escaped: {html}");
    assert!(html.contains("href=\"/report/app%2D1\">report</a>"), "the whole report is linked: {html}");
}

#[test]
fn the_timeline_marks_the_critical_path_the_timing_computes_and_links_each_stage() {
    let lines = hostile_lines("a");
    let app = app_of("app-1", "a", &lines);
    let timing = summary(&lines).timing.expect("a duration, so a timing");
    assert!(!timing.critical_stages.is_empty());
    let html = page(&app, "/history/app-1/jobs/", "");
    assert!(html.contains(&format!("data-critical-path-ms=\"{}\"", timing.critical_path_ms)), "{html}");
    assert!(html.contains(&format!("data-ideal-ms=\"{}\"", timing.ideal_ms)), "{html}");
    assert!(html.contains("data-bars=\"2\""), "both stage attempts are drawn: {html}");
    let marked = html.matches("data-critical=\"true\" aria-label=\"Stage").count();
    assert_eq!(marked, timing.critical_stages.len(), "{html}");
    for id in [0, 1] {
        let bar = format!("<a href=\"/history/app%2D1/stages/stage/?id={id}&amp;attempt=0\" data-stage=\"{id}\"");
        assert!(html.contains(&bar), "{bar}: {html}");
    }
    // The stage list and a critical stage's page say so; a stage off the path does not.
    let stages = page(&app, "/history/app-1/stages/", "");
    assert_eq!(stages.matches("class=\"crit-tag\" data-critical=\"true\"").count(), timing.critical_stages.len());
    for id in [0u32, 1] {
        let stage = page(&app, "/history/app-1/stages/stage/", &format!("id={id}&attempt=0"));
        assert_eq!(stage.contains("class=\"crit-note\""), timing.critical_stages.contains(&id), "stage {id}");
    }
    // A job's page draws its own stages' timeline.
    let job = page(&app, "/history/app-1/jobs/job/", "id=0");
    assert!(job.contains("<h3 id=\"timeline\">Stage timeline</h3>") && job.contains("data-bars=\"2\""), "{job}");
}

#[test]
fn a_failed_stage_links_its_exception_failed_tasks_and_says_where_the_driver_log_is() {
    let app = app_of("app-1", "a", &hostile_lines("a"));
    let stages = page(&app, "/history/app-1/stages/", "");
    assert!(
        stages.contains("href=\"/history/app%2D1/stages/stage/?id=1&amp;attempt=0#failure\" data-exception=\"1\""),
        "the failed stage's row links its exception: {stages}"
    );
    let html = page(&app, "/history/app-1/stages/stage/", "id=1&attempt=0");
    assert!(html.contains("<h3 id=\"failure\">Failure</h3>"), "{html}");
    assert!(html.contains("data-root-cause=\"other\""), "the cause sparkplane read: {html}");
    assert!(html.contains("<li data-failed-task=\"2\">"), "{html}");
    let to_row = "/history/app%2D1/stages/stage/?id=1&attempt=0&task.sort=Status&task.pageSize=100#task-2";
    assert!(html.contains(&esc_attr(to_row)), "the failed task links its row: {html}");
    let sorted = page(&app, "/history/app-1/stages/stage/", "id=1&attempt=0&task.sort=Status&task.pageSize=100");
    assert!(sorted.contains("<tr data-task=\"2\" id=\"task-2\">"), "the linked row is on that page: {sorted}");
    assert!(html.contains("data-driver-log=\"none\""), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
}

#[test]
fn the_driver_log_the_cluster_manager_logged_is_linked_as_spark_gives_it_to_the_driver() {
    let mut lines = hostile_lines("a");
    // Spark gives the start event's Driver Logs to the driver its block manager announced first (YARN, Kubernetes).
    lines.insert(
        0,
        r#"{"Event":"SparkListenerBlockManagerAdded","Block Manager ID":{"Executor ID":"driver","Host":"d","Port":1},"Maximum Memory":100,"Timestamp":999}"#
            .to_owned(),
    );
    lines[1] = lines[1].replacen(
        "\"Timestamp\":1000",
        "\"Timestamp\":1000,\"Driver Logs\":{\"stdout\":\"http://nm:8042/driver/stdout\",\"stderr\":\"javascript:alert(1)\"}",
        1,
    );
    let app = app_of("app-1", "a", &lines);
    let executors = api_json(&app, "allexecutors");
    let driver = executors.as_array().into_iter().flatten().find(|e| e["id"] == "driver").expect("the driver");
    assert_eq!(
        driver["executorLogs"],
        serde_json::json!({"stdout": "http://nm:8042/driver/stdout", "stderr": "javascript:alert(1)"}),
        "as Spark's History Server answers it"
    );
    let html = page(&app, "/history/app-1/stages/stage/", "id=1&attempt=0");
    assert!(html.contains("<a href=\"http://nm:8042/driver/stdout\">driver stdout</a>"), "{html}");
    assert!(html.contains("driver stderr <code>javascript:alert(1)</code>"), "not a link: {html}");

    // Without links, the file Spark kept with spark.driver.log.persistToDfs.enabled.
    let mut lines = hostile_lines("a");
    lines[1] = lines[1].replacen(
        "\"spark.x\"",
        "\"spark.driver.log.persistToDfs.enabled\":\"true\",\"spark.driver.log.dfsDir\":\"hdfs:///logs/driver/\",\"spark.x\"",
        1,
    );
    let html = page(&app_of("app-1", "a", &lines), "/history/app-1/stages/stage/", "id=1&attempt=0");
    assert!(
        html.contains("data-driver-log=\"persisted\">Driver log: Spark kept it at <code>hdfs:///logs/driver/app-1_driver.log</code>"),
        "{html}"
    );
}

#[test]
fn the_job_page_has_a_bar_of_task_progress_counted_as_the_api_counts() {
    let app = app_of("app-1", "a", &hostile_lines("a"));
    let job = api_json(&app, "jobs/0");
    let html = page(&app, "/history/app-1/jobs/job/", "id=0");
    let int = |k: &str| job[k].as_i64().unwrap_or(-1);
    let (done, total) = (int("numCompletedTasks"), int("numTasks") - int("numSkippedTasks"));
    let bar = format!(
        "<tr><th>Task progress</th><td><div class=\"progress\" role=\"img\" aria-label=\"{done} of {total} tasks done\" data-done=\"{done}\" data-total=\"{total}\">"
    );
    assert!(html.contains(&bar), "{bar}: {html}");
    assert!(html.contains(&format!("<b>{done}/{total} ({} failed)</b>", int("numFailedTasks"))), "{html}");
}

#[test]
fn the_timeline_draws_at_most_its_bound_and_says_so() {
    let mut lines = vec![
        r#"{"Event":"SparkListenerApplicationStart","App Name":"many","App ID":"app-1","Timestamp":1000,"User":"u"}"#
            .to_owned(),
    ];
    let ids: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    lines.push(format!(
        r#"{{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":1001,"Stage Infos":[],"Stage IDs":[{}]}}"#,
        ids.join(",")
    ));
    for i in 0..600 {
        let info = format!(
            r#""Stage ID":{i},"Stage Attempt ID":0,"Stage Name":"s{i}","Number of Tasks":0,"Submission Time":{}"#,
            1002 + i
        );
        lines.push(format!(r#"{{"Event":"SparkListenerStageSubmitted","Stage Info":{{{info}}}}}"#));
        lines.push(format!(
            r#"{{"Event":"SparkListenerStageCompleted","Stage Info":{{{info},"Completion Time":{}}}}}"#,
            1100 + i
        ));
    }
    lines.push(
        r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":2000,"Job Result":{"Result":"JobSucceeded"}}"#
            .to_owned(),
    );
    lines.push(r#"{"Event":"SparkListenerApplicationEnd","Timestamp":2001}"#.to_owned());
    let html = page(&app_of("app-1", "many", &lines), "/history/app-1/jobs/", "");
    let bound = crate::ui::timeline::MAX_BARS;
    assert!(html.contains(&format!("data-bars=\"{bound}\"")), "{html:.2000}");
    assert!(html.contains(&format!("The timeline draws the first {bound} of 600 stage attempts")), "and says so");
}

#[test]
fn the_critical_path_sentence_says_what_its_numbers_say() {
    let lines = hostile_lines("a");
    let app = app_of("app-1", "a", &lines);
    let model = summary(&lines);
    let timing = model.timing.clone().expect("a timing");
    let wall = i64::try_from(model.duration_ms.expect("a duration")).unwrap_or(-1);
    let path = i64::try_from(timing.critical_path_ms).unwrap_or(-1);
    assert!(wall > path, "the fixture ran longer than its critical path: {wall} {path}");
    let html = page(&app, "/history/app-1/jobs/", "");
    let line = html.split("<p class=\"timing\"").nth(1).and_then(|p| p.split("</p>").next()).expect("the timing line");
    let expected = format!(
        "critical path</span> {} (driver alone {}): no number of executors makes the run shorter than that; the other {} \
         of its wall time is what more executors or better scheduling could save",
        crate::ui::duration(path),
        crate::ui::duration(i64::try_from(timing.driver_only_ms).unwrap_or(-1)),
        crate::ui::duration(wall - path)
    );
    assert!(line.contains(&expected), "{expected}\n{line}");
    assert!(line.contains(&format!("Wall time {};", crate::ui::duration(wall))), "{line}");
    assert!(
        line.contains("<span title=\"sparkplane's measure: the time with no task running"),
        "its label says what it is: {line}"
    );
}
