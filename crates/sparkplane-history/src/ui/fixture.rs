//! Test fixtures of the pages: a catalog of one application replayed by
//! [`sparkplane_appstatus::replay`] from a log (a real Spark log from Spark's own History
//! Server tests, or a small one written here with hostile text).

use std::sync::Arc;

use std::path::Path;

use sparkplane_eventlog::{AppSummary, AppSummaryBuilder, Outcome};

use crate::api::{AttemptInfo, Catalog};
use crate::ui::AppFacts;
use sparkplane_appstatus::insight::Insight;
use sparkplane_appstatus::replay::{AppDetail, DetailBuilder};

/// One application as the only attempt of a catalog.
pub struct OneApp {
    pub attempt: AttemptInfo,
    pub detail: Arc<AppDetail>,
}

impl Catalog for OneApp {
    fn attempts(&self) -> Vec<AttemptInfo> {
        vec![self.attempt.clone()]
    }
    fn detail(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Arc<AppDetail>> {
        (app_id == self.attempt.app_id && attempt_id == self.attempt.attempt_id.as_deref())
            .then(|| Arc::clone(&self.detail))
    }
    fn now_ms(&self) -> i64 {
        self.attempt.end_ms
    }
}

/// Replays `lines` into the detail the REST API answers from (without sparkplane's insight).
pub fn replay(lines: &[String]) -> AppDetail {
    let mut builder = DetailBuilder::new();
    for (n, line) in lines.iter().enumerate() {
        builder.push_line(n as u64 + 1, line);
    }
    builder.finish()
}

/// The event-log crate's summary of `lines`, as the index folds it beside the detail.
pub fn summary(lines: &[String]) -> AppSummary {
    let mut builder = AppSummaryBuilder::new();
    for (n, line) in lines.iter().enumerate() {
        builder.push_line(Path::new("log"), n as u64 + 1, line);
    }
    builder.finish()
}

/// As the index gives a detail: replayed, with the insight of its summary.
pub fn replay_with_insight(lines: &[String]) -> AppDetail {
    let mut detail = replay(lines);
    detail.insight = Some(Insight::of(&summary(lines)));
    detail
}

/// One application of `lines`, as the index serves it.
pub fn app_of(app_id: &str, name: &str, lines: &[String]) -> OneApp {
    app(app_id, name, lines)
}

fn app(app_id: &str, name: &str, lines: &[String]) -> OneApp {
    let detail = replay_with_insight(lines);
    let (start, end) = (detail.app_start.unwrap_or(0), detail.app_end.unwrap_or(0));
    OneApp {
        attempt: AttemptInfo {
            app_id: app_id.to_owned(),
            attempt_id: None,
            name: name.to_owned(),
            start_ms: start,
            end_ms: end,
            last_updated_ms: end,
            user: "u".to_owned(),
            completed: true,
            spark_version: "4.1.1".to_owned(),
            exit_code: None,
        },
        detail: Arc::new(detail),
    }
}

/// The listing's facts every fixture application has.
pub fn facts(_app: &str, _attempt: Option<&str>) -> Option<AppFacts> {
    Some(AppFacts { outcome: Outcome::Failed, team: Some("<b>data</b>".to_owned()), cost_usd: 0.125 })
}

/// Spark's own History Server test log `app-20161116163331-0000` (Spark
/// 2.1: one job of one stage, 24 task attempts of which 8 failed on excluded
/// executors, four executors).
pub fn spark_log() -> OneApp {
    let text = include_str!("../../tests/data/spark-history/spark-events/app-20161116163331-0000");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    app("app-20161116163331-0000", "Spark shell", &lines)
}

/// A small application whose names, descriptions and errors are hostile
/// HTML: `name` is the application's name; job 0 failed in stage 1 (whose
/// stage 0 ran), a task of stage 1 failed with a `<script>` in its error.
pub fn app_named(name: &str) -> OneApp {
    app("app-1", name, &hostile_lines(name))
}

/// The event lines of [`app_named`].
pub fn hostile_lines(name: &str) -> Vec<String> {
    let hostile = "<script>alert('x')</script>";
    let task = |event: &str, id: i64, stage: i64, end: &str| {
        format!(
            r#"{{"Event":"{event}","Stage ID":{stage},"Stage Attempt ID":0{end},"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":{},"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":{},"Accumulables":[]}}}}"#,
            1_000 + id * 10,
            if end.is_empty() { 0 } else { 1_500 + id * 100 }
        )
    };
    let metrics = r#","Task Metrics":{"Executor Run Time":300,"JVM GC Time":20,"Memory Bytes Spilled":4096,"Disk Bytes Spilled":2048,"Input Metrics":{"Bytes Read":1000,"Records Read":10}}"#;
    let ok = format!(r#","Task End Reason":{{"Reason":"Success"}}{metrics}"#);
    let failed = format!(
        r#","Task End Reason":{{"Reason":"ExceptionFailure","Class Name":"java.lang.RuntimeException","Description":"{hostile}","Stack Trace":[],"Full Stack Trace":"java.lang.RuntimeException: {hostile}\n\tat X.y(X.scala:1)"}}{metrics}"#
    );
    let name_json = serde_json::to_string(name).unwrap_or_default();
    let mut lines = vec![
        format!(r#"{{"Event":"SparkListenerApplicationStart","App Name":{name_json},"App ID":"app-1","Timestamp":1000,"User":"u"}}"#),
        format!(r#"{{"Event":"SparkListenerEnvironmentUpdate","JVM Information":{{"Java Version":"17"}},"Spark Properties":{{"spark.app.name":{name_json},"spark.x":"{hostile}"}}}}"#),
        r#"{"Event":"SparkListenerExecutorAdded","Timestamp":1001,"Executor ID":"1","Executor Info":{"Host":"h","Total Cores":2,"Log Urls":{"stdout":"http://h:8042/logs/stdout","stderr":"http://h:8042/logs/stderr"}}}"#.to_owned(),
        format!(r#"{{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":1002,"Stage Infos":[{{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"map {hostile}","Number of Tasks":2}},{{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":1}}],"Stage IDs":[0,1],"Properties":{{"spark.job.description":"{hostile}"}}}}"#),
        r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"map","Number of Tasks":2,"Submission Time":1003}}"#.to_owned(),
    ];
    lines.push(task("SparkListenerTaskStart", 0, 0, ""));
    lines.push(task("SparkListenerTaskStart", 1, 0, ""));
    lines.push(task("SparkListenerTaskEnd", 0, 0, &ok));
    lines.push(task("SparkListenerTaskEnd", 1, 0, &ok));
    lines.push(r#"{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"map","Number of Tasks":2,"Submission Time":1003,"Completion Time":1700}}"#.to_owned());
    lines.push(r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":1,"Submission Time":1701}}"#.to_owned());
    lines.push(task("SparkListenerTaskStart", 2, 1, ""));
    lines.push(task("SparkListenerTaskEnd", 2, 1, &failed));
    lines.push(format!(r#"{{"Event":"SparkListenerStageCompleted","Stage Info":{{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":1,"Submission Time":1701,"Completion Time":1900,"Failure Reason":"Job aborted: {hostile}"}}}}"#));
    lines.push(
        r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":1901,"Job Result":{"Result":"JobFailed"}}"#
            .to_owned(),
    );
    lines.push(r#"{"Event":"SparkListenerApplicationEnd","Timestamp":2000}"#.to_owned());
    lines
}
