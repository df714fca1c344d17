//! Faults the History Server meets in a fleet: a log truncated mid-line
//! (finished and in progress), a log deleted after it was listed, and object
//! storage that stops answering its listing. In each case the server keeps
//! answering for everything else, and says what it skipped: in the listing
//! state ([`Index::entries`]' warnings, [`IndexStats`]), in the 404's text,
//! and on its own `/metrics`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sparkplane_eventlog::{Location, LogSource};
use sparkplane_history::{Index, respond, serve};
use sparkplane_storage::Store;
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

const GOOD: &str = "local-1422981780767";

fn spark_log() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events").join(GOOD);
    std::fs::read_to_string(path).expect("log")
}

/// The real log under another application id, cut in the middle of a line two thirds of the way in.
fn cut_copy(app_id: &str) -> String {
    let log = spark_log().replace(GOOD, app_id);
    let mut at = log.len() * 2 / 3;
    while !log.is_char_boundary(at) || log.as_bytes()[at - 1] == b'\n' || log.as_bytes()[at] == b'\n' {
        at += 1;
    }
    log[..at].to_owned()
}

fn ids(index: &Index) -> Vec<String> {
    let list = respond(index, "/api/v1/applications", "");
    assert_eq!(list.status, 200, "{}", list.body);
    let list: serde_json::Value = serde_json::from_str(&list.body).expect("json");
    list.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect()
}

fn get(addr: std::net::SocketAddr, target: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut answer = agent.get(&format!("http://{addr}{target}")).call().expect("the server answers");
    (answer.status().as_u16(), answer.body_mut().read_to_string().expect("body"))
}

/// The value of an unlabelled series on `/metrics`.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{series} missing from /metrics:\n{text}"))
}

#[test]
fn logs_cut_mid_line_are_served_with_what_was_read_and_counted_as_partial() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(GOOD), spark_log()).expect("write");
    std::fs::write(dir.path().join("local-1000000000011"), cut_copy("local-1000000000011")).expect("write");
    std::fs::write(dir.path().join("local-1000000000012.inprogress"), cut_copy("local-1000000000012")).expect("write");
    let index = Arc::new(Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 24));
    index.refresh().expect("the folder lists");

    assert_eq!(ids(&index), [GOOD, "local-1000000000012", "local-1000000000011"]);
    for app in [GOOD, "local-1000000000011", "local-1000000000012"] {
        let jobs = respond(index.as_ref(), &format!("/api/v1/applications/{app}/jobs"), "");
        assert_eq!(jobs.status, 200, "{app}: {}", jobs.body);
    }
    let warned: Vec<(String, Vec<String>)> =
        index.entries().into_iter().map(|e| (e.attempt.app_id, e.warnings)).collect();
    // Each cut log says what was skipped: the finished one its cut line, the
    // one in progress (still being written, so a cut tail is expected there)
    // the tail it ignored, as Spark does.
    let said = |text: &str| vec![text.to_owned()];
    assert_eq!(
        warned,
        [
            ("local-1000000000011".to_owned(), said("line is not a JSON object (cut off or corrupt); line skipped")),
            ("local-1000000000012".to_owned(), said("ignored the cut-off last line of an in-progress log")),
            (GOOD.to_owned(), vec![])
        ]
    );
    assert_eq!(index.stats().partial, 2);

    let server =
        serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&index), Duration::from_secs(3600)).expect("serves");
    let (status, text) = get(server.addr(), "/metrics");
    assert_eq!(status, 200);
    assert_eq!(metric(&text, "sparkplane_history_logs_partial"), 2.0);
    assert_eq!(metric(&text, "sparkplane_history_index_applications"), 3.0);
    server.stop();
}

#[test]
fn a_log_deleted_after_listing_answers_404_naming_it_and_leaves_the_list_at_the_next_scan() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gone = "local-1000000000021";
    std::fs::write(dir.path().join(GOOD), spark_log()).expect("write");
    std::fs::write(dir.path().join(gone), spark_log().replace(GOOD, gone)).expect("write");
    let index = Arc::new(Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 24));
    index.refresh().expect("the folder lists");
    let server =
        serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&index), Duration::from_secs(3600)).expect("serves");
    let addr = server.addr();

    std::fs::remove_file(dir.path().join(gone)).expect("delete");
    let (status, body) = get(addr, &format!("/api/v1/applications/{gone}/jobs"));
    let log = dir.path().join(gone).display().to_string();
    assert_eq!(status, 404);
    assert!(body.starts_with(&format!("no such app: {gone} (its event log {log} cannot be read: ")), "{body}");
    assert!(body.ends_with("; the next scan updates the list)"), "{body}");
    // Spark's 503 for the zip of a log that cannot be read.
    assert_eq!(get(addr, &format!("/api/v1/applications/{gone}/logs")).0, 503);
    // Everything else keeps answering.
    assert_eq!(get(addr, &format!("/api/v1/applications/{GOOD}/jobs")).0, 200);
    assert_eq!(get(addr, "/api/v1/applications").0, 200);
    let (_, text) = get(addr, "/metrics");
    assert_eq!(metric(&text, "sparkplane_history_unreadable_details_total"), 1.0);

    index.refresh().expect("lists again");
    assert_eq!(ids(&index), [GOOD]);
    let (status, body) = get(addr, &format!("/api/v1/applications/{gone}/jobs"));
    assert_eq!((status, body.as_str()), (404, format!("no such app: {gone}").as_str()));
    server.stop();
}

/// Fault injected for real: SeaweedFS (the testkit's) is killed after the
/// first listing, so the next listing's request fails; the server keeps
/// answering from the last good list, says why on `/metrics` and in
/// [`Index::stats`], and catches up once the store is back.
#[test]
fn object_storage_that_stops_answering_its_listing_keeps_the_last_good_list_served() {
    let mut s3 = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS for the store: {e}"));
    s3.create_bucket("history").expect("bucket");
    let options = [
        ("aws_endpoint", s3.endpoint.as_str()),
        ("aws_access_key_id", ACCESS_KEY),
        ("aws_secret_access_key", SECRET_KEY),
    ];
    let location = Location::parse("s3://history/logs").expect("url");
    let store = Store::open_with(&location, &options).expect("store");
    for app in [GOOD, "local-1000000000031"] {
        store.put(&format!("logs/{app}"), spark_log().replace(GOOD, app).into_bytes()).expect("upload");
    }
    let index = Arc::new(Index::new(LogSource::open_with(&location, &options).expect("source"), 1 << 24));
    index.refresh().expect("the store lists");
    let server =
        serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&index), Duration::from_secs(3600)).expect("serves");
    let addr = server.addr();

    s3.stop_now();
    let error = index.refresh().expect_err("the store is down");
    let stats = index.stats();
    assert_eq!(stats.refresh_failures, 1);
    assert_eq!(stats.last_refresh_error.as_deref(), Some(error.to_string().as_str()));
    assert_eq!(ids(&index), [GOOD, "local-1000000000031"]);
    assert_eq!(get(addr, "/api/v1/applications").0, 200);
    let (_, text) = get(addr, "/metrics");
    assert_eq!(metric(&text, "sparkplane_history_scan_failures_total"), 1.0);
    assert_eq!(metric(&text, "sparkplane_history_index_applications"), 2.0);

    s3.restart().expect("SeaweedFS restarts");
    store
        .put("logs/local-1000000000032", spark_log().replace(GOOD, "local-1000000000032").into_bytes())
        .expect("upload");
    index.refresh().expect("the store lists again");
    assert_eq!(index.stats().last_refresh_error, None);
    assert_eq!(ids(&index).len(), 3);
    server.stop();
}

/// A rolling log (Spark's `eventlog_v2_*` directory) loses its second part
/// after it was listed. A replay would lay out the one part left and serve
/// half the application as if whole; the index sees the log shrank since it
/// was listed, answers 404 naming why, and the other application keeps answering.
#[test]
fn a_rolling_log_whose_part_is_deleted_after_listing_answers_404_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = "local-1000000000041";
    std::fs::write(dir.path().join(GOOD), spark_log()).expect("write");
    let rolling = dir.path().join(format!("eventlog_v2_{app}"));
    std::fs::create_dir(&rolling).expect("mkdir");
    let log = spark_log().replace(GOOD, app);
    let lines: Vec<&str> = log.lines().collect();
    let half = lines.len() / 2;
    std::fs::write(rolling.join(format!("events_1_{app}")), lines[..half].join("\n") + "\n").expect("write");
    std::fs::write(rolling.join(format!("events_2_{app}")), lines[half..].join("\n") + "\n").expect("write");
    std::fs::write(rolling.join(format!("appstatus_{app}")), "").expect("write");
    let index = Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 24);
    index.refresh().expect("the folder lists");
    assert_eq!(ids(&index).len(), 2);

    let first = std::fs::metadata(rolling.join(format!("events_1_{app}"))).expect("part 1").len();
    let listed = first + std::fs::metadata(rolling.join(format!("events_2_{app}"))).expect("part 2").len();
    std::fs::remove_file(rolling.join(format!("events_2_{app}"))).expect("delete");
    let jobs = respond(&index, &format!("/api/v1/applications/{app}/jobs"), "");
    assert_eq!(jobs.status, 404, "{}", jobs.body);
    let named = format!("no such app: {app} (its event log {} cannot be read: ", rolling.display());
    assert!(jobs.body.starts_with(&named), "{}", jobs.body);
    let why = format!("it holds {first} bytes now, {listed} when it was listed (part of it was deleted); ");
    assert!(jobs.body.contains(&why), "{}", jobs.body);
    assert_eq!(respond(&index, &format!("/api/v1/applications/{GOOD}/jobs"), "").status, 200);
    assert_eq!(index.stats().unreadable_details, 1);
}
