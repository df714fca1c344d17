//! A task end read once for both the History Server's detail and the summary
//! (`TaskEndDetail::summary_event`) must fold into the same summary as the
//! summary's own reading of the line (`parse_event`), on every real log in the
//! fixtures (written by Spark 3.5.9 and 4.x; see tests/fixtures/README.md).

use std::path::{Path, PathBuf};

use sparkplane_eventlog::parse::task_detail::{TaskDetailEvent, parse_task_detail};
use sparkplane_eventlog::parse::{SparkEvent, parse_event};
use sparkplane_eventlog::{AppSummaryBuilder, EventLog, list_app_logs};

fn fixture_logs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut logs = Vec::new();
    for dir in ["spark-3.5.9", "spark-4.3.0", "codecs", "trips-etl"] {
        logs.extend(list_app_logs(&root.join(dir)).expect("lists the fixtures"));
    }
    logs
}

#[test]
fn a_task_end_read_once_folds_as_the_summarys_own_reading() {
    let mut task_ends = 0;
    for path in fixture_logs() {
        let log = EventLog::open(&path).expect("opens");
        let mut lines = log.lines().expect("reads");
        let (mut own, mut shared) = (AppSummaryBuilder::new(), AppSummaryBuilder::new());
        while let Some(line) = lines.next_line() {
            own.push_line(line.file, line.number, line.text);
            let Ok(Some(TaskDetailEvent::End(end))) = parse_task_detail(line.text) else {
                shared.push_line(line.file, line.number, line.text);
                continue;
            };
            // Every task end Spark wrote is taken from the detail's reading, not read again.
            let event = end.summary_event(line.text).unwrap_or_else(|| panic!("{}:{}", path.display(), line.number));
            let Ok(Some(SparkEvent::TaskEnd(expected))) = parse_event(line.text) else { panic!("not a task end") };
            assert_eq!(event, expected, "{}:{}", path.display(), line.number);
            shared.push_parsed(line.file, line.number, Some(&SparkEvent::TaskEnd(event.into_owned())));
            task_ends += 1;
        }
        assert_eq!(shared.finish(), own.finish(), "{}", path.display());
    }
    assert!(task_ends > 100, "the fixtures hold task ends ({task_ends})");
}

#[test]
fn a_task_end_the_summary_might_read_otherwise_is_left_to_it() {
    let line = |head: &str, reason: &str, metrics: &str| {
        format!(
            r#"{head}"Stage Attempt ID":0,"Task End Reason":{reason},"Task Info":{{"Task ID":1,"Index":0,"Attempt":0,"Executor ID":"1","Host":"h","Launch Time":1,"Finish Time":2}},"Task Executor Metrics":{metrics}}}"#
        )
    };
    let spark = r#"{"Event":"SparkListenerTaskEnd","Stage ID":1,"#;
    let cases = [
        // As Spark writes it: taken.
        (line(spark, r#"{"Reason":"Success"}"#, r#"{"JVMHeapMemory":5}"#), true),
        // "Stage ID" not where Spark writes it (the summary requires it; the detail reads 0 when absent).
        (line(r#"{"Stage ID":1,"Event":"SparkListenerTaskEnd","#, r#"{"Reason":"Success"}"#, "{}"), false),
        (line(r#"{"Event":"SparkListenerTaskEnd","Stage ID":-1,"#, r#"{"Reason":"Success"}"#, "{}"), false),
        (line(spark, "null", "{}"), false),
        (line(spark, r#"{"Class Name":"E"}"#, "{}"), false),
        (line(spark, r#"{"Reason":"Success"}"#, r#"{"JVMHeapMemory":null}"#), false),
        (line(spark, r#"{"Reason":"Success"}"#, r#"{"JVMHeapMemory":1,"JVMHeapMemory":2}"#), false),
    ];
    for (text, taken) in cases {
        let Ok(Some(TaskDetailEvent::End(end))) = parse_task_detail(&text) else { panic!("the detail reads {text}") };
        assert_eq!(end.summary_event(&text).is_some(), taken, "{text}");
    }
}
