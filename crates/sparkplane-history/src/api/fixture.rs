//! Test fixtures of the API's answers: a catalog of one application
//! replayed by [`sparkplane_appstatus::replay`] from lines written here, and the answer to
//! a route of it as JSON.

use std::sync::Arc;

use serde_json::Value;

use super::{AttemptInfo, Catalog, respond};
use sparkplane_appstatus::replay::{AppDetail, DetailBuilder};

/// One application, replayed from `lines`, as the only attempt.
pub(super) struct OneApp(pub(super) Arc<AppDetail>);

impl Catalog for OneApp {
    fn attempts(&self) -> Vec<AttemptInfo> {
        vec![AttemptInfo {
            app_id: "app-1".to_owned(),
            attempt_id: None,
            name: "a".to_owned(),
            start_ms: 1,
            end_ms: 100,
            last_updated_ms: 100,
            user: "u".to_owned(),
            completed: true,
            spark_version: "4.1.1".to_owned(),
            exit_code: None,
        }]
    }
    fn detail(&self, app_id: &str, _: Option<&str>) -> Option<Arc<AppDetail>> {
        (app_id == "app-1").then(|| Arc::clone(&self.0))
    }
    fn now_ms(&self) -> i64 {
        100
    }
}

pub(super) fn task(event: &str, id: i64, reason: Option<&str>) -> String {
    let end = reason.map_or(String::new(), |r| {
        let heap = 100 * (id + 1);
        format!(r#","Task End Reason":{r},"Task Metrics":{{}},"Task Executor Metrics":{{"JVMHeapMemory":{heap}}}"#)
    });
    format!(
        r#"{{"Event":"{event}","Stage ID":1,"Stage Attempt ID":0{end},"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":10,"Executor ID":"1","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":{},"Accumulables":[]}}}}"#,
        if reason.is_some() { 20 } else { 0 }
    )
}

/// A failed job whose stage 0 was never submitted (skipped: its shuffle
/// output was reused) and whose stage 1 ran two tasks on executor 1: one
/// failed, and its sibling was killed when the job failed. Executor 2's
/// node was excluded for stage 1, where it ran nothing.
pub(super) fn failed_job_with_skipped_stage_and_killed_sibling() -> OneApp {
    let mut lines = vec![
        r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1,"User":"u"}"#.to_owned(),
        r#"{"Event":"SparkListenerExecutorAdded","Timestamp":2,"Executor ID":"1","Executor Info":{"Host":"h","Total Cores":2,"Log Urls":{}}}"#.to_owned(),
        r#"{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":3,"Stage Infos":[{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"map","Number of Tasks":2},{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":2}],"Stage IDs":[0,1]}"#.to_owned(),
        r#"{"Event":"SparkListenerExecutorAdded","Timestamp":2,"Executor ID":"2","Executor Info":{"Host":"h2","Total Cores":2,"Log Urls":{}}}"#.to_owned(),
        r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":2,"Submission Time":4}}"#.to_owned(),
        r#"{"Event":"org.apache.spark.scheduler.SparkListenerNodeExcludedForStage","time":5,"hostId":"h2","executorFailures":2,"stageId":1,"stageAttemptId":0}"#.to_owned(),
    ];
    lines.push(task("SparkListenerTaskStart", 0, None));
    lines.push(task("SparkListenerTaskStart", 1, None));
    lines.push(task(
        "SparkListenerTaskEnd",
        0,
        Some(r#"{"Reason":"ExceptionFailure","Class Name":"E","Description":"bad record"}"#),
    ));
    lines.push(task("SparkListenerTaskEnd", 1, Some(r#"{"Reason":"TaskKilled","Kill Reason":"Stage cancelled"}"#)));
    lines.extend([
        r#"{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":1,"Stage Attempt ID":0,"Stage Name":"reduce","Number of Tasks":2,"Submission Time":4,"Completion Time":30,"Failure Reason":"Job aborted"}}"#.to_owned(),
        r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":31,"Job Result":{"Result":"JobFailed"}}"#.to_owned(),
    ]);
    let mut builder = DetailBuilder::new();
    for (n, line) in lines.iter().enumerate() {
        builder.push_line(n as u64 + 1, line);
    }
    let detail = builder.finish();
    assert!(detail.warnings.is_empty(), "{:?}", detail.warnings);
    OneApp(Arc::new(detail))
}

pub(super) fn answer(catalog: &OneApp, route: &str) -> Value {
    let (route, query) = route.split_once('?').unwrap_or((route, ""));
    let response = respond(catalog, &format!("/api/v1/applications/app-1/{route}"), query);
    assert_eq!(response.status, 200, "{route}: {}", response.body);
    serde_json::from_str(&response.body).expect("JSON")
}
