//! The History Server listing object storage (SeaweedFS, the testkit's; ADR
//! 0067): each rescan rereads only logs whose objects changed by name, size,
//! time or ETag — an object rewritten to the same size within the same second
//! is read again by its ETag alone —; and an object store that times out on a
//! page of its listing, the testkit's `FaultProxy` holding every request for
//! the listing's second page unanswered. The server keeps answering from the
//! last complete listing (a partial one would drop the applications on the
//! pages it missed), says which page failed and why in the error its rescan
//! warns with ([`IndexStats::last_refresh_error`]), counts it on `/metrics`,
//! and shows the log added meanwhile once the store answers again.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkplane_eventlog::{Location, LogSource};
use sparkplane_history::{Index, IndexStats, serve};
use sparkplane_storage::Store;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use sparkplane_testkit::{Fault, FaultProxy, S3Server};

const GOOD: &str = "local-1422981780767";

fn spark_log(app_id: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events").join(GOOD);
    std::fs::read_to_string(path).expect("log").replace(GOOD, app_id).into_bytes()
}

fn store(endpoint: &str, extra: &[(&str, &str)]) -> Store {
    let location = Location::parse("s3://history/logs").expect("url");
    let mut options =
        vec![("aws_endpoint", endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)];
    options.extend_from_slice(extra);
    Store::open_with(&location, &options).expect("store")
}

fn get(addr: std::net::SocketAddr, target: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut answer = agent.get(&format!("http://{addr}{target}")).call().expect("the server answers");
    (answer.status().as_u16(), answer.body_mut().read_to_string().expect("body"))
}

fn ids(addr: std::net::SocketAddr) -> Vec<String> {
    let (status, body) = get(addr, "/api/v1/applications");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mut ids: Vec<String> =
        list.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect();
    ids.sort();
    ids
}

fn metric(addr: std::net::SocketAddr, series: &str) -> f64 {
    let (_, text) = get(addr, "/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{series} missing from /metrics:\n{text}"))
}

/// Waits up to a minute for `done`, naming what it waited for if it never came.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < until, "waited a minute for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_listing_page_that_times_out_keeps_the_last_list_served_and_says_which_page() {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS for the store: {e}"));
    s3.create_bucket("history").expect("bucket");
    let direct = store(&s3.endpoint, &[]);
    let apps: Vec<String> = (1..=5).map(|i| format!("local-100000000005{i}")).collect();
    for app in &apps {
        direct.put(app, spark_log(app)).expect("upload");
    }
    // Pages of 2 keys: 5 logs list in 3 pages; a 1 s timeout per request.
    let proxy =
        FaultProxy::start(&s3.endpoint, Fault::Stall, |line| line.contains("continuation-token=")).expect("proxy");
    let paged = store(&proxy.endpoint, &[("timeout", "1s")]).with_list_page_size(2);
    let index = Arc::new(Index::new(LogSource::Remote(paged), 1 << 24));
    index.refresh().expect("the store lists");
    let server =
        serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&index), Duration::from_secs(1)).expect("serves");
    let addr = server.addr();
    assert_eq!(ids(addr), apps);

    proxy.arm();
    let added = "local-1000000000056";
    direct.put(added, spark_log(added)).expect("upload");
    wait_for("a rescan to stall on page 2", || proxy.requests().iter().any(|(_, failed)| *failed));
    // While the rescan waits on the stalled page, everything already listed answers.
    assert_eq!(ids(addr), apps);
    assert_eq!(get(addr, &format!("/api/v1/applications/{}/jobs", apps[4])).0, 200);

    wait_for("the failed rescan to be counted", || metric(addr, "sparkplane_history_scan_failures_total") >= 1.0);
    let IndexStats { last_refresh_error, .. } = index.stats();
    let said = last_refresh_error.expect("the failure is kept for the warning");
    let page =
        "s3://history/logs: object storage unreachable or failing: page 2 of the listing failed after 2 objects: ";
    assert!(said.starts_with(page), "{said}");
    assert!(said.contains("continuation-token=") && said.ends_with("operation timed out"), "{said}");
    // The last complete list, not the two applications of the page that came back.
    assert_eq!(ids(addr), apps);
    assert_eq!(metric(addr, "sparkplane_history_index_applications"), 5.0);

    proxy.disarm();
    wait_for("the added log after the store answers again", || ids(addr).len() == 6);
    assert_eq!(index.stats().last_refresh_error, None);
    assert_eq!(get(addr, &format!("/api/v1/applications/{added}/jobs")).0, 200);
    server.stop();
}

/// Two rescans of an unchanged prefix read nothing the second time; a log
/// rewritten to the same size with the same `Last-Modified` second (SeaweedFS
/// keeps seconds) is read again because its ETag changed, and its new content
/// is what the server answers.
#[test]
fn a_rescan_rereads_only_what_changed_by_name_size_time_or_etag() {
    let s3 = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS for the store: {e}"));
    s3.create_bucket("history").expect("bucket");
    let direct = store(&s3.endpoint, &[]);
    let (kept, rewritten) = ("local-1000000000061", "local-1000000000062");
    direct.put(kept, spark_log(kept)).expect("upload");
    let index = Index::new(LogSource::Remote(store(&s3.endpoint, &[])), 1 << 24);
    index.refresh().expect("lists");
    index.refresh().expect("lists again");
    assert_eq!(index.stats().summarised, 1, "the unchanged log is read once");

    // The same bytes but the application's name, to one of the same length.
    let renamed = String::from_utf8(spark_log(rewritten)).expect("utf-8").replace("Spark shell", "Spark SHELL");
    let same_second = (0..5).find_map(|_| {
        direct.put(rewritten, spark_log(rewritten)).expect("upload");
        index.refresh().expect("lists");
        let before = direct.head(rewritten).expect("head");
        direct.put(rewritten, renamed.clone().into_bytes()).expect("rewrite");
        let after = direct.head(rewritten).expect("head");
        assert_eq!(before.size, after.size);
        assert_ne!(before.e_tag, after.e_tag);
        (before.modified_ms == after.modified_ms).then_some(())
    });
    assert!(same_second.is_some(), "five rewrites in a row each crossed a second");
    let read_before = index.stats().summarised;
    index.refresh().expect("lists");
    assert_eq!(index.stats().summarised, read_before + 1, "only the rewritten log is read again");
    let app = sparkplane_history::respond(&index, &format!("/api/v1/applications/{rewritten}"), "");
    assert_eq!(app.status, 200, "{}", app.body);
    assert!(app.body.contains("\"name\": \"Spark SHELL\""), "{}", app.body);
}
