//! `sparkplane trace` and `exporter --otlp`: traces of real Spark 3.5.9 event
//! logs (the repository's fixtures), sent over OTLP/HTTP and OTLP/gRPC to a
//! receiver whose decoding no one here wrote (OpenTelemetry's generated Python
//! messages, see `sparkplane_testkit::OtlpReceiver`), and the bad inputs with
//! their exact messages and exit codes.
//!
//! Needs the venv `need_otlp_receiver` in scripts/common.sh installs.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sparkplane_testkit::OtlpReceiver;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures/spark-3.5.9")
}

/// job_fail.py: job 0 sums 10 numbers; job 1 raises ValueError on record 7 and fails.
fn failed_log() -> PathBuf {
    fixtures().join("eventlog_v2_local-1795265044180")
}

fn sparkplane(args: &[&str]) -> (Option<i32>, String, String) {
    let out = sparkplane_testkit::sparkplane_process().args(args).env("NO_COLOR", "1").output().expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn receiver() -> OtlpReceiver {
    OtlpReceiver::start().unwrap_or_else(|e| panic!("the OTLP receiver starts: {e}"))
}

/// An OTLP/JSON attribute list as a map of key to its one value (`intValue`s are strings in OTLP/JSON).
fn attrs(list: &Value) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for kv in list.as_array().into_iter().flatten() {
        let value = kv["value"].as_object().and_then(|v| v.values().next().cloned()).unwrap_or(Value::Null);
        map.insert(kv["key"].as_str().unwrap_or_default().to_owned(), value);
    }
    map
}

/// The spans of one resource, by name.
fn spans_by_name(resource_spans: &Value) -> BTreeMap<String, Value> {
    let spans = resource_spans["scopeSpans"][0]["spans"].as_array().expect("spans");
    spans.iter().map(|s| (s["name"].as_str().unwrap_or_default().to_owned(), s.clone())).collect()
}

fn ms(nanos: &Value) -> u64 {
    nanos.as_str().and_then(|s| s.parse::<u64>().ok()).expect("nanoseconds as a string") / 1_000_000
}

/// What the receiver decoded from one send of the failed application's trace.
fn check_failed_app(request: &Value) {
    let [resource_spans] = request["resourceSpans"].as_array().expect("resourceSpans").as_slice() else {
        panic!("one application: {request}");
    };
    let resource = attrs(&resource_spans["resource"]["attributes"]);
    assert_eq!(resource["service.name"], "sparkplane-eventlog-failing");
    assert_eq!(resource["spark.version"], "3.5.9");
    assert_eq!(resource["spark.app.id"], "local-1795265044180");
    assert_eq!(resource_spans["scopeSpans"][0]["scope"]["name"], "sparkplane");

    let spans = spans_by_name(resource_spans);
    let names: Vec<&str> = spans.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "job 0",
            "job 1",
            "sparkplane-eventlog-failing",
            "stage 0.0",
            "stage 1.0",
            "task 0",
            "task 1",
            "task 2",
            "task 3"
        ]
    );
    // Parent and child, and Spark's own timings (epoch ms as the log has them).
    // (span, parent, start, end)
    let expected = [
        ("sparkplane-eventlog-failing", None, 1_795_265_042_876, 1_795_265_048_290),
        ("job 0", Some("sparkplane-eventlog-failing"), 1_795_265_046_060, 1_795_265_047_716),
        ("stage 0.0", Some("job 0"), 1_795_265_046_081, 1_795_265_047_675),
        ("task 0", Some("stage 0.0"), 1_795_265_046_252, 1_795_265_047_608),
        ("task 1", Some("stage 0.0"), 1_795_265_046_318, 1_795_265_047_671),
        ("job 1", Some("sparkplane-eventlog-failing"), 1_795_265_047_772, 1_795_265_048_190),
        ("stage 1.0", Some("job 1"), 1_795_265_047_779, 1_795_265_048_188),
        ("task 2", Some("stage 1.0"), 1_795_265_047_786, 1_795_265_048_080),
    ];
    let trace_id = &spans["job 0"]["traceId"];
    for (name, parent, start, end) in expected {
        let span = &spans[name];
        assert_eq!(&span["traceId"], trace_id, "{name}");
        assert_eq!(span["kind"], "SPAN_KIND_INTERNAL", "{name}");
        match parent {
            Some(parent) => assert_eq!(span["parentSpanId"], spans[parent]["spanId"], "{name}'s parent is {parent}"),
            None => assert!(span.get("parentSpanId").is_none(), "the root has no parent: {span}"),
        }
        assert_eq!((ms(&span["startTimeUnixNano"]), ms(&span["endTimeUnixNano"])), (start, end), "{name}");
    }
    assert_eq!(spans["task 3"]["parentSpanId"], spans["stage 1.0"]["spanId"]);

    // The failure: error status on the application, the job, the stage and the task, and the exceptions.
    let root = &spans["sparkplane-eventlog-failing"];
    assert_eq!(root["status"]["code"], "STATUS_CODE_ERROR");
    let message = root["status"]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Job aborted due to stage failure: Task 1 in stage 1.0 failed 1 times"), "{message}");
    assert_eq!(attrs(&root["attributes"])["spark.app.outcome"], "failed");
    assert_eq!(spans["job 0"].get("status").and_then(|s| s.get("code")), None, "job 0 succeeded: status unset");
    let job = &spans["job 1"];
    assert_eq!(job["status"]["code"], "STATUS_CODE_ERROR");
    let [exception] = job["events"].as_array().expect("events").as_slice() else { panic!("one event: {job}") };
    assert_eq!(exception["name"], "exception");
    assert_eq!(ms(&exception["timeUnixNano"]), 1_795_265_048_190);
    let exception = attrs(&exception["attributes"]);
    let text = exception["exception.message"].as_str().unwrap_or_default();
    assert!(text.contains("ValueError: sparkplane fixture: bad record 7"), "{text}");
    assert_eq!(exception["spark.exception.root_cause"], "ValueError: sparkplane fixture: bad record 7");
    assert_eq!(spans["stage 1.0"]["status"]["code"], "STATUS_CODE_ERROR");
    let task = &spans["task 3"];
    assert_eq!(task["status"]["code"], "STATUS_CODE_ERROR");
    let task_exception = attrs(&task["events"][0]["attributes"]);
    assert_eq!(task_exception["exception.type"], "org.apache.spark.api.python.PythonException");
    let task_attrs = attrs(&task["attributes"]);
    assert_eq!(task_attrs["spark.executor.id"], "driver");
    assert_eq!(task_attrs["host.name"], "192.0.2.2");
    assert_eq!(task_attrs["spark.task.end_reason"], "ExceptionFailure");
    // The stage's metrics, as attributes (intValue is a string in OTLP/JSON).
    let stage = attrs(&spans["stage 0.0"]["attributes"]);
    assert_eq!(stage["spark.stage.name"], "sum at /tmp/el-real/job_fail.py:13");
    assert_eq!(stage["spark.stage.tasks.finished"], "2");
}

#[test]
fn both_protocols_deliver_the_same_spans_and_a_resend_the_same_ids() {
    let receiver = receiver();
    let log = failed_log();
    let log = log.to_str().expect("utf-8 path");
    let http = format!("{}/v1/traces", receiver.http_url);
    let (code, out, err) = sparkplane(&["trace", log, "--tasks", "5", "--otlp", &receiver.http_url]);
    assert_eq!((code, out.as_str()), (Some(0), ""), "{err}");
    assert_eq!(err, format!("sent 9 spans of 1 applications to {http} (OTLP/http)\n"));
    let grpc = &receiver.grpc_url;
    let (code, _, err) = sparkplane(&["trace", log, "--tasks", "5", "--otlp", grpc, "--protocol", "grpc"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, format!("sent 9 spans of 1 applications to {grpc} (OTLP/grpc)\n"));
    let (code, _, err) = sparkplane(&["trace", log, "--tasks", "5", "--otlp", &http]);
    assert_eq!(code, Some(0), "{err}");

    let received = receiver.received();
    let transports: Vec<&str> = received.iter().map(|r| r["transport"].as_str().unwrap_or_default()).collect();
    assert_eq!(transports, ["http", "grpc", "http"]);
    for request in &received {
        check_failed_app(request);
    }
    // Same trace and span ids, same everything, whichever way and however often it is sent.
    assert_eq!(received[0]["resourceSpans"], received[1]["resourceSpans"]);
    assert_eq!(received[0]["resourceSpans"], received[2]["resourceSpans"]);
}

#[test]
fn without_otlp_the_trace_is_printed() {
    let log = failed_log();
    let (code, out, err) = sparkplane(&["trace", log.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("trace ") && lines[0].ends_with(" (local-1795265044180)"), "{out}");
    let spans: Vec<&str> =
        lines.iter().filter_map(|l| l.split("  span ").next().filter(|_| l.contains("  span "))).collect();
    assert_eq!(
        spans,
        [
            "  sparkplane-eventlog-failing  +0 ms  5414 ms  ERROR Job aborted due to stage failure: Task 1 in stage 1.0 \
             failed 1 times, most recent failure: Lost task 1.0 in stage 1.0 (TID 3) (192.0.2.2 executor driver): \
             org.apache.spark.api.python.PythonException: Traceback (most recent call last):",
            "    job 0  +3184 ms  1656 ms",
            "      stage 0.0  +3205 ms  1594 ms",
            "    job 1  +4896 ms  418 ms  ERROR Job aborted due to stage failure: Task 1 in stage 1.0 failed 1 times, \
             most recent failure: Lost task 1.0 in stage 1.0 (TID 3) (192.0.2.2 executor driver): \
             org.apache.spark.api.python.PythonException: Traceback (most recent call last):",
            "      stage 1.0  +4903 ms  409 ms  ERROR stage 1.0 failed",
        ]
    );
    // -o json: the typed trace, ids included; the slowest task (0: 1356 ms launch to finish) and the failed one.
    let (code, out, _) = sparkplane(&["-o", "json", "trace", log.to_str().unwrap(), "--tasks", "1"]);
    assert_eq!(code, Some(0));
    let traces: Value = serde_json::from_str(&out).expect("JSON");
    let spans = traces[0]["spans"].as_array().expect("spans");
    let paths: Vec<&str> = spans.iter().map(|s| s["path"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        paths,
        [
            "app",
            "app/job/0",
            "app/job/0/stage/0.0",
            "app/job/0/stage/0.0/task/0",
            "app/job/1",
            "app/job/1/stage/1.0",
            "app/job/1/stage/1.0/task/3"
        ]
    );
}

#[test]
fn an_unreachable_endpoint_exits_3_naming_it() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = failed_log();
    let url = format!("http://127.0.0.1:{port}");
    let (code, out, err) = sparkplane(&["trace", log.to_str().unwrap(), "--otlp", &url]);
    assert_eq!((code, out.as_str()), (Some(3), ""), "{err}");
    assert_eq!(
        err,
        format!(
            "error: --otlp: cannot send traces to {url}/v1/traces (OTLP/http): io: Connection refused (os error \
             111) after 3 attempts\n  help: check the URL and protocol, and that the collector is up and listens there\n"
        )
    );
    let (code, out, err) = sparkplane(&["trace", log.to_str().unwrap(), "--otlp", &url, "--protocol", "grpc"]);
    assert_eq!((code, out.as_str()), (Some(3), ""), "{err}");
    assert!(err.starts_with(&format!("error: --otlp: cannot send traces to {url} (OTLP/grpc): ")), "{err}");
    assert!(err.contains("Connection refused") && err.contains("after 3 attempts"), "{err}");
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let log = failed_log();
    let log = log.to_str().unwrap();
    // (arguments, first line of stderr)
    let table: &[(&[&str], &str)] = &[
        (
            &["trace", log, "--otlp", "collector:4318"],
            "error: --otlp: `collector:4318` is not an OTLP endpoint: it must start with http://",
        ),
        (
            &["trace", log, "--otlp", "https://collector:4318"],
            "error: --otlp: `https://collector:4318` is not an OTLP endpoint: https:// is not supported yet \
             (sparkplane sends OTLP over plain http://)",
        ),
        (
            &["trace", log, "--otlp", "http://collector:4317/v1/traces", "--protocol", "grpc"],
            "error: --otlp: `http://collector:4317/v1/traces` is not an OTLP endpoint: a gRPC endpoint is a host \
             and port, without a path",
        ),
    ];
    for (args, first) in table {
        let (code, out, err) = sparkplane(args);
        assert_eq!((code, out.as_str()), (Some(2), ""), "{args:?}: {err}");
        assert_eq!(err.lines().next(), Some(*first), "{args:?}");
    }
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = sparkplane(&["trace", empty.path().to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (Some(2), ""), "{err}");
    assert!(err.starts_with("error: no Spark application could be read from "), "{err}");
}

/// The exporter process, killed and reaped on drop.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_exporter_sends_each_finished_application_once() {
    let receiver = receiver();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _exporter = Exporter(
        sparkplane_testkit::sparkplane_process()
            .args(["exporter", "--history"])
            .arg(fixtures())
            .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1", "--otlp", &receiver.grpc_url])
            .args(["--otlp-protocol", "grpc"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the exporter starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.received().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    // Three more scans: nothing is sent again.
    std::thread::sleep(Duration::from_secs(3));
    let received = receiver.received();
    let [request] = received.as_slice() else { panic!("one request: {received:?}") };
    let mut apps: Vec<String> = request["resourceSpans"]
        .as_array()
        .expect("resourceSpans")
        .iter()
        .map(|r| attrs(&r["resource"]["attributes"])["spark.app.id"].as_str().unwrap_or_default().to_owned())
        .collect();
    apps.sort();
    // The killed application's log is still in progress: no trace for it.
    assert_eq!(apps, ["local-1795265030698", "local-1795265044180"]);
}
