//! The HTML report generator (`report_html`): its structure on a real Spark log,
//! escaping of hostile log text, the critical-path marks, and determinism.

use std::path::Path;

use serde_json::{Value, json};
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_analysis::report_html;
use sparkplane_eventlog::{AppSummary, AppSummaryBuilder, summarize};

fn fixture(relative: &str) -> AppSummary {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures").join(relative);
    summarize(&path).expect("the fixture reads")
}

fn fold(events: &[Value]) -> AppSummary {
    let mut builder = AppSummaryBuilder::new();
    for (i, event) in events.iter().enumerate() {
        builder.push_line(Path::new("app.log"), i as u64 + 1, &event.to_string());
    }
    builder.finish()
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

/// The value of `attribute` on the element whose id is `id`.
fn attribute_of(html: &str, id: &str, attribute: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[at..tag_end];
    let start = tag.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].to_owned())
}

const T0: i64 = 1_700_000_000_000;

/// An application whose names are hostile HTML, with a job of two parallel stages and a join.
fn hostile_app() -> AppSummary {
    let stage = |id: u32, name: &str, parents: Vec<u32>, submitted: i64| {
        json!({"Stage ID": id, "Stage Attempt ID": 0, "Stage Name": name, "Number of Tasks": 1,
               "Submission Time": submitted, "Parent IDs": parents})
    };
    let task = |stage: u32, launch: i64, run: i64| {
        json!({"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": 0,
               "Task End Reason": {"Reason": "Success"},
               "Task Info": {"Executor ID": "1", "Launch Time": launch, "Finish Time": launch + run},
               "Task Metrics": {"Executor Run Time": run, "JVM GC Time": 0}})
    };
    let mut events = vec![
        json!({"Event": "SparkListenerLogStart", "Spark Version": "3.5.1"}),
        json!({"Event": "SparkListenerApplicationStart", "App Name": "<script>alert(\"x\")</script> & 'co'",
               "App ID": "spark-1", "Timestamp": T0, "User": "u"}),
        json!({"Event": "SparkListenerExecutorAdded", "Timestamp": T0 + 1_000, "Executor ID": "1",
               "Executor Info": {"Host": "<img src=x>", "Total Cores": 2}}),
        json!({"Event": "SparkListenerExecutorAdded", "Timestamp": T0 + 2_000, "Executor ID": "2",
               "Executor Info": {"Host": "h", "Total Cores": 2}}),
        json!({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": T0 + 3_000, "Stage IDs": [0, 1, 2]}),
    ];
    // Stage 0 (slow, 30 s) and stage 1 (fast, 5 s) run side by side; stage 2 joins them.
    for (id, name, parents, submitted, run) in [
        (0, "map at <b>job.py</b>:3", vec![], 3_000, 30_000),
        (1, "scan \"a\" & 'b'", vec![], 3_000, 5_000),
        (2, "join at job.py:9", vec![0, 1], 34_000, 10_000),
    ] {
        let info = stage(id, name, parents, T0 + submitted);
        events.push(json!({"Event": "SparkListenerStageSubmitted", "Stage Info": info}));
        events.push(task(id, T0 + submitted + 500, run));
        let mut done = info.clone();
        done["Completion Time"] = json!(T0 + submitted + 500 + run);
        events.push(json!({"Event": "SparkListenerStageCompleted", "Stage Info": done}));
    }
    events.push(json!({"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": T0 + 45_000,
                       "Job Result": {"Result": "JobSucceeded"}}));
    events.push(json!({"Event": "SparkListenerExecutorRemoved", "Timestamp": T0 + 46_000, "Executor ID": "2",
                       "Removed Reason": "idle </title><script>"}));
    events.push(json!({"Event": "SparkListenerApplicationEnd", "Timestamp": T0 + 50_000}));
    fold(&events)
}

#[test]
fn a_real_log_renders_every_chart_with_one_bar_per_stage_attempt_and_one_lane_per_executor() {
    let app = fixture("spark-3.5.9/eventlog_v2_local-1795265030698");
    let html = report_html(&app, &PriceSheet::opencost_defaults());
    // job_ok.py: 6 stages of which 1 skipped, so 5 stage attempts ran; local mode: one executor, the driver.
    assert_eq!(app.stage_stats.len(), 5);
    assert_eq!(app.executors.timeline.len(), 1);
    assert_eq!(count(&html, "class=\"stage-bar"), 5, "{html}");
    assert_eq!(attribute_of(&html, "stage-gantt", "data-bars").as_deref(), Some("5"));
    assert_eq!(count(&html, "class=\"executor-lane\""), 1);
    assert_eq!(attribute_of(&html, "executor-timeline", "data-lanes").as_deref(), Some("1"));
    assert!(html.contains("data-executor=\"driver\""));
    let with_times = app.stage_stats.iter().filter(|s| s.task_time.is_some()).count();
    assert_eq!(count(&html, "class=\"task-dist\""), with_times);
    // The app name, in the title and the heading.
    let name = app.name.clone().expect("the log names the app");
    assert!(html.contains(&format!("<h1 id=\"app-name\">{name}</h1>")), "{name}");
    assert!(html.contains(&format!("<title>{name} · sparkplane report</title>")));
    // Stage names come from the log.
    let first = app.stage_stats[0].name.clone().expect("Spark names its stages");
    assert!(html.contains(&first.replace('&', "&amp;")), "{first}");
    // Critical stages are marked, and at least one stage of each job is on the path.
    let critical = app.timing.as_ref().map(|t| t.critical_stages.clone()).unwrap_or_default();
    assert!(!critical.is_empty());
    assert_eq!(count(&html, "data-critical=\"true\""), critical.len());
    // Cost: the engine's total, split into the parts that have a price.
    assert!(html.contains("id=\"cost-breakdown\""));
    assert!(html.contains("data-part=\"cpu\"") && html.contains("data-part=\"memory\""));
    assert!(!html.contains("class=\"cost-part cost-gpu\""), "no GPUs, so no GPU bar");
}

#[test]
fn the_report_is_self_contained() {
    let html = report_html(&fixture("spark-4.3.0/eventlog_v2_local-1795265657108"), &PriceSheet::opencost_defaults());
    // Log text may mention URLs, escaped; what matters is that nothing is loaded or linked: escaped
    // text never holds a literal `<` or `"`, so these only match real markup.
    for forbidden in
        ["<script", "<link", "<img", "<iframe", "<object", "<embed", "src=\"", "href=\"", "@import", "url("]
    {
        assert!(!html.contains(forbidden), "the report contains {forbidden}");
    }
    assert!(html.starts_with("<!DOCTYPE html>\n") && html.ends_with("</html>\n"));
    // The failed job says why, and the findings table lists the failed tasks.
    assert!(html.contains("<span class=\"outcome-failed\">failed</span>"), "{html}");
    assert!(html.contains("<p class=\"meta outcome-failed\">job 1 failed: ValueError"), "{html}");
    assert!(html.contains("data-id=\"failed-tasks\""), "{html}");
}

#[test]
fn log_text_is_escaped_everywhere() {
    let html = report_html(&hostile_app(), &PriceSheet::opencost_defaults());
    for raw in ["<script>", "<b>job.py</b>", "<img src=x>", "</title><script>", "\"a\" & 'b'"] {
        assert!(!html.contains(raw), "unescaped {raw}");
    }
    assert!(
        html.contains("<h1 id=\"app-name\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;</h1>")
    );
    assert!(html.contains("map at &lt;b&gt;job.py&lt;/b&gt;:3"));
    assert!(html.contains("idle &lt;/title&gt;&lt;script&gt;"));
    assert!(html.contains("on &lt;img src=x&gt;"));
    // Whatever the log says, there is never a script element.
    assert_eq!(count(&html, "<script"), 0);
}

#[test]
fn the_critical_path_marks_the_slow_branch_of_a_join() {
    let app = hostile_app();
    assert_eq!(app.timing.as_ref().map(|t| t.critical_stages.clone()), Some(vec![0, 2]));
    let html = report_html(&app, &PriceSheet::opencost_defaults());
    assert_eq!(attribute_of(&html, "stage-gantt", "data-critical").as_deref(), Some("2"));
    assert!(html.contains("class=\"stage-bar critical\" data-stage=\"0\" data-attempt=\"0\" data-critical=\"true\""));
    assert!(html.contains("class=\"stage-bar\" data-stage=\"1\" data-attempt=\"0\" data-critical=\"false\""));
    assert!(html.contains("class=\"stage-bar critical\" data-stage=\"2\" data-attempt=\"0\" data-critical=\"true\""));
    // Two executors: two lanes; the cores line climbs to the peak of 4.
    assert_eq!(attribute_of(&html, "executor-timeline", "data-lanes").as_deref(), Some("2"));
    assert!(html.contains("cores (peak 4)"));
}

#[test]
fn task_time_rows_carry_the_models_distribution() {
    let app = fixture("spark-3.5.9/eventlog_v2_local-1795265030698");
    let html = report_html(&app, &PriceSheet::opencost_defaults());
    for stage in &app.stage_stats {
        let Some(t) = stage.task_time else { continue };
        let row = format!(
            "data-stage=\"{}\" data-attempt=\"{}\" data-min-ms=\"{}\" data-median-ms=\"{}\" data-p99-ms=\"{}\" \
             data-max-ms=\"{}\"",
            stage.stage_id, stage.attempt_id, t.min_ms, t.median_ms, t.p99_ms, t.max_ms
        );
        assert!(html.contains(&row), "{row}");
    }
}

#[test]
fn the_same_model_gives_the_same_bytes() {
    let app = fixture("spark-3.5.9/eventlog_v2_local-1795265065682");
    let sheet = PriceSheet::opencost_defaults();
    let first = report_html(&app, &sheet);
    assert_eq!(first, report_html(&app, &sheet));
    assert_eq!(first, report_html(&fixture("spark-3.5.9/eventlog_v2_local-1795265065682"), &sheet));
    // The killed run is incomplete, and says so.
    assert!(first.contains("<span class=\"outcome-incomplete\">incomplete"), "{first}");
}

#[test]
fn a_log_without_times_still_renders_each_section() {
    let app = fold(&[json!({"Event": "SparkListenerLogStart", "Spark Version": "3.5.1"})]);
    let html = report_html(&app, &PriceSheet::opencost_defaults());
    for id in ["executor-timeline", "stage-gantt", "task-time-distributions", "cost-breakdown"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("<h1 id=\"app-name\">Spark application</h1>"));
    assert_eq!(count(&html, "class=\"stage-bar"), 0);
}
