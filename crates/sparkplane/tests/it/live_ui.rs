//! The live Spark UI through the door (issue #65): a real local Spark
//! application (`sparkplane run`, the managed 3.5 runtime scripts/test.sh
//! installs) is opened in headless Chromium at `history serve`'s
//! `/jobs/<namespace>/<job>/` while it runs — jobs, stages, one stage,
//! executors, SQL, one query, environment: no script error, no failed
//! request, no link or redirect that leaves the door — and, once it has
//! ended, the same URLs lead to the History Server's pages of that run.
//! Hostile requests on the way: a climbing path, an absolute-form target
//! naming the driver itself, a job that is not running, a kill link with
//! kill links off.
//!
//! Without an installed runtime or Chromium this test fails saying what to install.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sparkplane_testkit::devtools::Browser;
use sparkplane_testkit::process::StopOnDrop;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Waits (at most `limit`) for `ready`, saying `what` when it never comes.
fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not happen within {} s", limit.as_secs());
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One raw HTTP/1.1 exchange (no redirect followed): status line and headers, body.
fn raw(port: u16, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("sends");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

fn get(port: u16, path: &str) -> (String, String) {
    raw(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"))
}

const JOB: &str = "live-etl";
const NAMESPACE: &str = "team-a";

fn write_job(dir: &Path) -> std::path::PathBuf {
    let (ready, gate) = (dir.join("ready"), dir.join("gate"));
    let script = format!(
        "import os, time\n\
         from pyspark.sql import SparkSession\n\
         spark = SparkSession.builder.getOrCreate()\n\
         spark.range(0, 200000).selectExpr('id % 7 AS k', 'id AS v').groupBy('k').sum('v').collect()\n\
         open({ready:?}, 'w').close()\n\
         deadline = time.time() + 300\n\
         while not os.path.exists({gate:?}) and time.time() < deadline:\n    time.sleep(0.2)\n\
         spark.stop()\n",
        ready = ready.display().to_string(),
        gate = gate.display().to_string(),
    );
    std::fs::write(dir.join(format!("{JOB}.py")), script).expect("script");
    let path = dir.join(format!("{JOB}.yaml"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {{name: {JOB}, namespace: {NAMESPACE}}}\n\
             spec:\n  team: alpha\n  type: Python\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: {JOB}.py\n  \
             driver: {{memory: 1g}}\n"
        ),
    )
    .expect("job file");
    path
}

/// Starts `history serve` over `home`'s event logs and live runs; returns once it serves.
fn serve(home: &Path, port: u16, index: &Path, extra: &[&str]) -> StopOnDrop {
    let mut child = sparkplane_testkit::sparkplane_process()
        .args(["history", "serve", "--interval", "1", "--listen", &format!("127.0.0.1:{port}"), "--logs"])
        .arg(home.join("history"))
        .arg("--index-dir")
        .arg(index)
        .arg("--live-runs")
        .arg(home)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let said = sparkplane_testkit::process::said_until(
        &mut child,
        "serving Spark's History Server API",
        Duration::from_secs(60),
    )
    .unwrap_or_else(|said| panic!("the server ended before serving: {said:?}"));
    assert!(
        said.iter().any(|l| l.starts_with("live Spark UIs of the runs in ") && l.ends_with(" while they run")),
        "{said:?}"
    );
    StopOnDrop::new(child)
}

/// Loads `url` and checks what a page of the door must hold: no script
/// error, no failed request, every link, script, style, image and form
/// under `within` (the job's link while it runs; the door once it ended).
fn check_page(browser: &mut Browser, url: &str, within: &str) {
    let load = browser.navigate(url, Duration::from_secs(60));
    assert!(load.script_errors.is_empty(), "{url}: {:?}", load.script_errors);
    assert!(load.failed_requests.is_empty(), "{url}: {:?}", load.failed_requests);
    let landed = browser.evaluate("location.href").expect("href");
    assert!(landed.as_str().is_some_and(|h| h.starts_with(within)), "{url} left {within} for {landed}");
    let leaving = browser
        .evaluate(&format!(
            "[...document.querySelectorAll('a[href], link[href], script[src], img[src], form[action]')]\
             .map(e => e.getAttribute('href') ?? e.getAttribute('src') ?? e.getAttribute('action'))\
             .map(v => new URL(v, document.baseURI).href)\
             .filter(u => !u.startsWith('javascript:') && !u.startsWith({within:?}))"
        ))
        .expect("links");
    assert_eq!(leaving, serde_json::json!([]), "{url}: links that leave {within}");
}

#[test]
fn a_running_applications_ui_through_the_door_then_its_history_at_the_same_link() {
    let runtimes = crate::run_local::installed_runtimes();
    let home = tempfile::tempdir().expect("home");
    std::os::unix::fs::symlink(runtimes, home.path().join("runtimes")).expect("runtimes link");
    std::fs::create_dir_all(home.path().join("history")).expect("events");
    let jobs = tempfile::tempdir().expect("jobs");
    let job = write_job(jobs.path());
    let index = tempfile::tempdir().expect("index");
    let port = free_port();
    let _server = serve(home.path(), port, index.path(), &[]);
    let origin = format!("http://127.0.0.1:{port}");
    let base = format!("/jobs/{NAMESPACE}/{JOB}");

    // Before the run: the job's link says nothing runs and nothing is listed.
    let (head, body) = get(port, &format!("{base}/"));
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(body, format!("no application of job {JOB} in namespace {NAMESPACE} is running or listed\n"));

    let run = sparkplane_testkit::sparkplane_process()
        .args(["run"])
        .arg(&job)
        .env("SPARKPLANE_HOME", home.path())
        .env_remove("SPARK_HOME")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sparkplane run starts");
    let mut run = StopOnDrop::new(run);
    wait_for("the job's first query", Duration::from_secs(240), || jobs.path().join("ready").exists());

    // Spark's own redirect of its root is kept under the door.
    let (head, _) = get(port, &format!("{base}/"));
    assert!(head.starts_with("HTTP/1.1 302"), "{head}");
    assert!(head.contains(&format!("\r\nLocation: {base}/jobs/")), "{head}");

    // `sparkplane ui` gives the link a user opens: the job file's namespace and name at this door.
    let ui = sparkplane_testkit::sparkplane().args(["ui", "--door", &origin]).arg(&job).output().expect("ui runs");
    assert_eq!(String::from_utf8_lossy(&ui.stdout), format!("{origin}{base}/\n"), "{ui:?}");
    let mut browser = Browser::start();
    check_page(&mut browser, &format!("{origin}{base}/"), &format!("{origin}{base}/"));
    for page in [
        "jobs/",
        "jobs/job/?id=0",
        "stages/",
        "stages/stage/?id=0&attempt=0",
        "executors/",
        "SQL/",
        "SQL/execution/?id=0",
        "environment/",
    ] {
        check_page(&mut browser, &format!("{origin}{base}/{page}"), &format!("{origin}{base}/"));
    }
    // The pages are the live driver's: Spark's UI names its application and draws its jobs table.
    browser.navigate(&format!("{origin}{base}/jobs/"), Duration::from_secs(60));
    let title = browser.evaluate("document.title").expect("title");
    assert!(title.as_str().is_some_and(|t| t.contains(JOB)), "{title}");
    let rows = browser.evaluate("document.querySelectorAll('#completedJob-table tbody tr').length").expect("rows");
    assert!(rows.as_u64().is_some_and(|n| n >= 1), "completed jobs shown: {rows}");
    // The executors page's table is filled by a script from the driver's REST API, under the door.
    let executors = browser.navigate(&format!("{origin}{base}/executors/"), Duration::from_secs(60));
    assert!(executors.script_errors.is_empty(), "{:?}", executors.script_errors);
    let driver = browser.evaluate("document.body.innerText.includes('driver')").expect("text");
    assert_eq!(driver, serde_json::json!(true));

    // Hostile requests while it runs.
    let (head, _) = get(port, &format!("{base}/../../../etc/passwd"));
    assert!(head.starts_with("HTTP/1.1 400"), "a climbing path: {head}");
    let (head, _) = get(port, &format!("{base}/%2e%2e/%2e%2e/api/v1/applications"));
    assert!(head.starts_with("HTTP/1.1 400"), "an encoded climb: {head}");
    // An absolute-form target is this server's path, never a proxy request to the host it names.
    let (head, body) = raw(
        port,
        "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert_eq!(body, "not found: /latest/meta-data/\n");
    let (head, _) = get(port, "/jobs/team-a/not-running/jobs/");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    // The application's own History Server URLs are its live UI while it runs (the door asked its driver
    // for its id): Spark's scripts and pages answer there, and every link stays under them.
    let (_, apps) = get(port, &format!("{base}/api/v1/applications"));
    let apps: serde_json::Value = serde_json::from_str(&apps).expect("the driver's applications");
    let id = apps[0]["id"].as_str().expect("an application id").to_owned();
    let history = format!("/history/{id}/");
    wait_for("the door to learn the application's id", Duration::from_secs(30), || {
        get(port, &format!("{history}static/webui.js")).0.starts_with("HTTP/1.1 200")
    });
    check_page(&mut browser, &format!("{origin}{history}jobs/"), &format!("{origin}{history}"));
    let title = browser.evaluate("document.title").expect("title");
    assert!(title.as_str().is_some_and(|t| t.contains(JOB) && t.contains("Spark Jobs")), "{title}");

    // The run ends: the same link serves the History Server's pages of it.
    std::fs::write(jobs.path().join("gate"), b"").expect("gate");
    wait_for("the run's end", Duration::from_secs(120), || matches!(run.child().try_wait(), Ok(Some(_))));
    let status = run.child().wait().expect("run status");
    assert!(status.success(), "sparkplane run: {status}");
    assert!(std::fs::read_dir(home.path().join("live")).expect("live dir").next().is_none(), "the marker is gone");
    let deadline = Instant::now() + Duration::from_secs(60);
    let location = loop {
        let (head, body) = get(port, &format!("{base}/stages/"));
        let location = head.lines().find_map(|l| l.strip_prefix("Location: ")).unwrap_or_default().to_owned();
        if head.starts_with("HTTP/1.1 302") && location.starts_with("/history/local-") {
            break location;
        }
        if Instant::now() > deadline {
            let (_, listed) = get(port, "/api/v1/applications");
            panic!("the ended run's page is not the History Server's: {head}\n{body}\nlisted: {listed}");
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(location.ends_with("/stages/"), "{location}");
    assert!(location.starts_with(&history), "{location} is the application the door forwarded to while it ran");
    // Its History Server URLs are the History Server's again: Spark's driver scripts are not there.
    let (head, _) = get(port, &format!("{history}static/webui.js"));
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    for page in ["jobs/", "stages/", "executors/", "SQL/", "environment/"] {
        let (head, _) = get(port, &format!("{base}/{page}"));
        let to = head.lines().find_map(|l| l.strip_prefix("Location: ")).unwrap_or_default().to_owned();
        assert!(to.starts_with("/history/local-") && to.ends_with(page), "{page}: {head}");
        check_page(&mut browser, &format!("{origin}{base}/{page}"), &origin);
        let landed = browser.evaluate("location.pathname").expect("path");
        assert_eq!(landed.as_str(), Some(to.as_str()));
    }
}

/// A request's head as it reached a stand-in driver, lower-cased, and its connection.
fn request_head(mut stream: std::net::TcpStream) -> (std::net::TcpStream, String) {
    stream.set_nonblocking(false).expect("blocking");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).expect("reads") == 1 {
        head.push(byte[0]);
    }
    (stream, String::from_utf8_lossy(&head).to_lowercase())
}

#[test]
fn kill_links_off_are_refused_before_anything_is_forwarded() {
    // A live run stood in for by its marker and a listener that counts what reaches it.
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join("history")).expect("events");
    let driver = TcpListener::bind("127.0.0.1:0").expect("a driver port");
    let ui = driver.local_addr().expect("addr");
    std::fs::create_dir_all(home.path().join("live")).expect("live");
    let marker = serde_json::json!({"runId": "r1", "job": JOB, "namespace": NAMESPACE, "ui": ui.to_string(), "pid": std::process::id()});
    std::fs::write(home.path().join("live/r1.json"), marker.to_string()).expect("marker");
    let index = tempfile::tempdir().expect("index");
    let port = free_port();
    let _server = serve(home.path(), port, index.path(), &["--live-ui-kill", "off"]);
    driver.set_nonblocking(true).expect("nonblocking");
    for kill in ["jobs/job/kill/?id=0", "stages/stage/kill/?id=0&terminate=true"] {
        let request = format!(
            "POST /jobs/{NAMESPACE}/{JOB}/{kill} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let (head, body) = raw(port, &request);
        assert!(head.starts_with("HTTP/1.1 403"), "{head}");
        assert_eq!(body, "stopping jobs and stages from the live UI is off at this door (--live-ui-kill off)\n");
    }
    // Only the door's own question for the application's id reached the driver (left unanswered).
    while let Ok((stream, _)) = driver.accept() {
        let (_, head) = request_head(stream);
        assert!(head.starts_with("get /api/v1/applications http/1.1\r\n"), "a refused kill reached the driver: {head}");
    }
    // Anything else is forwarded to the driver the marker names.
    let door = std::thread::spawn(move || get(port, &format!("/jobs/{NAMESPACE}/{JOB}/jobs/")));
    driver.set_nonblocking(false).expect("blocking");
    let (mut stream, head) = loop {
        let (stream, head) = request_head(driver.accept().expect("the page reaches the driver").0);
        if !head.starts_with("get /api/v1/applications ") {
            break (stream, head);
        }
    };
    assert!(head.starts_with("get /jobs/ http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nx-forwarded-context: /jobs/{NAMESPACE}/{JOB}\r\n")), "{head}");
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").expect("answers");
    drop(stream);
    let (head, body) = door.join().expect("door");
    assert!(head.starts_with("HTTP/1.1 200") && body == "ok", "{head}{body}");
}
