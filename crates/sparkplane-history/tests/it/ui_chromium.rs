//! An application's pages at Spark's URLs as a browser shows them:
//! sparkplane's History Server is started over Spark's own test logs (a
//! failed application, two with SQL executions, Spark 4.1's log with cached
//! RDDs), and headless Chromium (`need_chromium` in scripts/common.sh installs
//! it; without it this test fails and says so) loads every tab of each
//! application: no script error is logged, every link on a page answers 200
//! from the server, the figures shown are the REST API's, an unknown id
//! answers 404 with a page saying what was asked, and a screenshot of each
//! page is kept under the target directory
//! (`$CARGO_TARGET_TMPDIR/ui-screenshots/`) as the test's artifact.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkplane_eventlog::LogSource;
use sparkplane_history::Index;

use sparkplane_testkit::chromium::binary as chromium;

/// What Chromium made of a page: its DOM after load and what it logged (console messages included).
struct Loaded {
    dom: String,
    log: String,
}

/// Loads `url` in headless Chromium (fresh profile, no other network): the
/// DOM, and with `screenshot` a PNG of the page at 1280 px wide.
fn load(url: &str, screenshot: Option<&Path>) -> Loaded {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--enable-logging=stderr",
        "--log-level=0",
        "--window-size=1280,1600",
        // Headless stops loading after this long and dumps or shoots what it has.
        "--timeout=20000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(png) => command.arg(format!("--screenshot={}", png.display())),
        None => command.arg("--dump-dom"),
    };
    // Into files, not pipes: a page's DOM or Chromium's log can outgrow a pipe's buffer while we wait.
    let (dom_path, log_path) = (profile.path().join("dom.html"), profile.path().join("chromium.log"));
    let (dom_file, log_file) =
        (std::fs::File::create(&dom_path).expect("dom file"), std::fs::File::create(&log_path).expect("log file"));
    let mut child = command.arg(url).stdout(dom_file).stderr(log_file).spawn().expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium can be waited on") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("headless chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "chromium failed on {url}: {log}");
    Loaded { dom: std::fs::read_to_string(&dom_path).unwrap_or_default(), log }
}

/// The script errors Chromium logged (uncaught exceptions, console errors).
fn script_errors(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect()
}

/// `GET path` from the server: status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// Every `href` of a page that points at this server (not `#…`, not an executor's log host).
fn local_links(dom: &str) -> Vec<String> {
    dom.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with('/'))
        .map(|h| h.replace("&amp;", "&"))
        .map(|h| h.split('#').next().unwrap_or_default().to_owned())
        .collect()
}

/// A log of one SQL execution whose plan is a union of 3,000 filtered scans (6,001 operators).
fn write_large_plan_log(path: &Path) {
    let scans: Vec<serde_json::Value> = (0..3000)
        .map(|i| {
            serde_json::json!({"nodeName": "Filter", "simpleString": format!("Filter (id#{i} > 0)"), "children": [
                {"nodeName": "Scan parquet", "simpleString": format!("FileScan parquet t{i}"), "children": [],
                 "metrics": [{"name": "number of output rows", "accumulatorId": 10_000 + i, "metricType": "sum"}]}],
              "metrics": [{"name": "number of output rows", "accumulatorId": 20_000 + i, "metricType": "sum"}]})
        })
        .collect();
    let plan = serde_json::json!({"nodeName": "Union", "simpleString": "Union", "metrics": [], "children": scans});
    let start = serde_json::json!({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart",
        "executionId": 0, "description": "a union of 3,000 tables", "details": "", "physicalPlanDescription": "",
        "sparkPlanInfo": plan, "time": 1_700_000_000_100i64});
    let lines = [
        r#"{"Event":"SparkListenerApplicationStart","App Name":"plan","App ID":"local-1700000000000","Timestamp":1700000000000,"User":"u"}"#.to_owned(),
        start.to_string(),
        r#"{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd","executionId":0,"time":1700000009000}"#.to_owned(),
        r#"{"Event":"SparkListenerApplicationEnd","Timestamp":1700000010000}"#.to_owned(),
    ];
    std::fs::write(path, lines.join("\n") + "\n").expect("write the log");
}

fn serve_test_logs() -> (tempfile::TempDir, sparkplane_history::HistoryServer) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let root = tempfile::tempdir().expect("temp dir");
    for log in [
        "spark-history/spark-events/local-1422981780767",
        "spark-history/spark-events/local-1642039451826",
        "spark-history/spark-events/app-20200706201101-0003",
        "block-updates/local-1795503675548",
    ] {
        let name = Path::new(log).file_name().expect("name");
        std::fs::copy(data.join(log), root.path().join(name)).expect("copy");
    }
    write_large_plan_log(&root.path().join("local-1700000000000"));
    let index = Index::new(LogSource::Local(root.path().to_path_buf()), 64 << 20);
    index.refresh().expect("lists");
    let addr = "127.0.0.1:0".parse().expect("address");
    let server = sparkplane_history::serve(addr, Arc::new(index), Duration::from_secs(3600)).expect("listens");
    (root, server)
}

#[test]
fn chromium_detects_a_script_error_so_its_silence_means_none() {
    let loaded = load("data:text/html,<p>x</p><script>notDefinedAnywhere()</script>", None);
    assert!(!script_errors(&loaded.log).is_empty(), "a thrown error is logged: {}", loaded.log);
}

#[test]
fn every_tab_of_each_application_renders_without_script_errors_and_its_links_resolve() {
    let (_root, server) = serve_test_logs();
    let addr = server.addr();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let apps = ["local-1422981780767", "local-1642039451826", "app-20200706201101-0003", "local-1795503675548"];
    let mut checked_links = std::collections::BTreeSet::new();
    for app in apps {
        let pages = [
            "jobs/".to_owned(),
            "jobs/job/?id=0".to_owned(),
            "stages/".to_owned(),
            "stages/stage/?id=0&attempt=0".to_owned(),
            "stages/stage/?id=0&attempt=0&task.sort=Duration&task.desc=true&task.pageSize=5".to_owned(),
            "executors/".to_owned(),
            "environment/".to_owned(),
            "storage/".to_owned(),
            "SQL/".to_owned(),
        ];
        for rel in pages {
            let path = format!("/history/{app}/{rel}");
            let (status, _) = get(addr, &path);
            assert_eq!(status, 200, "{path}");
            let url = format!("http://{addr}{path}");
            let loaded = load(&url, None);
            assert!(loaded.dom.contains("<nav aria-label=\"Application\">"), "{path}: {}", loaded.dom);
            assert!(script_errors(&loaded.log).is_empty(), "{path}: {:?}", script_errors(&loaded.log));
            for link in local_links(&loaded.dom) {
                if checked_links.insert(link.clone()) {
                    let (status, _) = get(addr, &link);
                    assert_eq!(status, 200, "{link}, linked from {path}");
                }
            }
            let name = format!("{app}-{}.png", rel.replace(['/', '?', '&', '='], "_").trim_end_matches('_'));
            let png = shots.join(name);
            let _ = std::fs::remove_file(&png);
            load(&url, Some(&png));
            assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000), "{} was written", png.display());
        }
    }
    assert!(checked_links.len() > 40, "links were followed: {checked_links:?}");
    server.stop();
}

#[test]
fn the_numbers_chromium_shows_are_the_rest_apis_and_the_sql_tab_draws_its_plan() {
    let (_root, server) = serve_test_logs();
    let addr = server.addr();
    let (_, jobs) = get(addr, "/api/v1/applications/local-1422981780767/jobs");
    let jobs: serde_json::Value = serde_json::from_str(&jobs).expect("json");
    let dom = load(&format!("http://{addr}/history/local-1422981780767/jobs/"), None).dom;
    let n = jobs.as_array().map_or(0, Vec::len);
    assert!(dom.contains(&format!("data-count=\"jobs\" data-v=\"{n}\"")), "{dom}");
    let failed = jobs.as_array().into_iter().flatten().filter(|j| j["status"] == "FAILED").count();
    assert!(dom.contains(&format!("Failed jobs ({failed})")), "{dom}");

    let (_, executors) = get(addr, "/api/v1/applications/local-1642039451826/allexecutors");
    let executors: serde_json::Value = serde_json::from_str(&executors).expect("json");
    let dom = load(&format!("http://{addr}/history/local-1642039451826/executors/"), None).dom;
    for e in executors.as_array().into_iter().flatten() {
        let gc = e["totalGCTime"].as_i64().expect("gc");
        let id = e["id"].as_str().expect("id");
        let row = dom
            .split(&format!("<tr data-executor=\"{id}\">"))
            .nth(1)
            .expect("row")
            .split("</tr>")
            .next()
            .expect("row end");
        assert!(row.contains(&format!("data-key=\"totalGCTime\" class=\"n\" data-v=\"{gc}\"")), "{row}");
    }

    let dom = load(&format!("http://{addr}/history/local-1642039451826/SQL/"), None).dom;
    let first = dom.split("SQL/execution/?id=").nth(1).and_then(|r| r.split('"').next()).expect("an execution link");
    let dom = load(&format!("http://{addr}/history/local-1642039451826/SQL/execution/?id={first}"), None).dom;
    assert!(dom.contains("<svg") && dom.contains("aria-label=\"Physical plan\""), "{dom}");
    assert!(dom.contains("data-metric="), "operator metrics shown: {dom}");

    // A plan of 6,001 operators: the browser gets a bounded drawing and the table's first page, and renders it.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let url = format!("http://{addr}/history/local-1700000000000/SQL/execution/?id=0");
    let loaded = load(&url, None);
    assert!(script_errors(&loaded.log).is_empty(), "{:?}", script_errors(&loaded.log));
    assert_eq!(loaded.dom.matches("<rect ").count(), 1500, "the graph is bounded");
    assert!(loaded.dom.contains("The graph draws the first 1500 of 6001 operators"), "and says so");
    assert!(loaded.dom.contains("<tr id=\"op-199\">") && !loaded.dom.contains("<tr id=\"op-200\">"), "one page");
    let last = load(&format!("{url}&op.page=31"), None);
    assert!(last.dom.contains("<tr id=\"op-6000\">"), "the table's pages list every operator");
    let png = shots.join("large-plan-SQL_execution_id_0.png");
    load(&url, Some(&png));
    assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000), "{} was written", png.display());

    let (status, body) = get(addr, "/history/local-1642039451826/stages/stage/?id=999&attempt=0");
    assert_eq!(status, 404);
    assert!(body.contains("has no stage 999"), "{body}");
    assert!(body.contains("Back to the jobs of local-1642039451826"), "{body}");
    let (status, body) = get(addr, "/history/app-nope/jobs/");
    assert_eq!(status, 404);
    assert!(body.contains("No application app-nope is known to this History Server."), "{body}");
    server.stop();
}
