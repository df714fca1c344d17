//! The page at `/` as a browser shows it: sparkplane's History Server is
//! started over Spark's test logs in team folders, and headless Chromium
//! (`need_chromium` in scripts/common.sh installs it; without it this test
//! fails and says so) loads the page, runs its script and dumps the DOM: every
//! application is a row with team, outcome, Spark's columns (started,
//! completed, duration, Spark user, last updated, its event log's Download,
//! the dates as `/api/v1/applications` gives them, the download a zip) and
//! cost and a link to its report; `?q=` filters the rows in the browser; the linked report
//! renders. The server binds 127.0.0.1 on a free port and stops with the test.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sparkplane_eventlog::LogSource;
use sparkplane_history::Index;

use sparkplane_testkit::chromium::binary as chromium;

/// The DOM of `url` after its scripts ran, from headless Chromium (fresh profile, no other network).
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    while child.try_wait().expect("chromium can be waited on").is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("headless chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out: Output = child.wait_with_output().expect("chromium's output");
    assert!(out.status.success(), "chromium failed on {url}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn http_get_bytes(url: &str) -> Vec<u8> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut answer = agent.get(url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(answer.status().as_u16(), 200, "{url}");
    answer.body_mut().read_to_vec().unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn http_get(url: &str) -> String {
    String::from_utf8(http_get_bytes(url)).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The rows of the application table, each as its cells' text, and whether it is hidden.
fn rows(dom: &str) -> Vec<(Vec<String>, bool)> {
    let body = dom.split("<tbody>").nth(1).and_then(|b| b.split("</tbody>").next()).unwrap_or_default();
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let hidden = row.split('>').next().is_some_and(|open| open.contains("hidden"));
            let cells = row
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = cell.split_once('>').map_or("", |(_, rest)| rest);
                    let inner = inner.split("</td>").next().unwrap_or_default();
                    // Text without tags (the report cell is a link).
                    let mut text = String::new();
                    let mut in_tag = false;
                    for c in inner.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text
                })
                .collect();
            (cells, hidden)
        })
        .collect()
}

#[test]
fn chromium_shows_the_searchable_list_and_opens_a_report() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events");
    let root = tempfile::tempdir().expect("temp dir");
    for (team, log) in
        [("team-a", "local-1422981780767"), ("team-b", "app-20161116163331-0000"), ("team-b", "local-1430917381534")]
    {
        std::fs::create_dir_all(root.path().join(team)).expect("mkdir");
        std::fs::copy(data.join(log), root.path().join(team).join(log)).expect("copy");
    }
    let index = Index::new(LogSource::Local(root.path().to_path_buf()), 16 << 20);
    index.refresh().expect("lists");
    let addr = "127.0.0.1:0".parse().expect("address");
    let server = sparkplane_history::serve(addr, Arc::new(index), Duration::from_secs(3600)).expect("listens");
    let base = format!("http://{}", server.addr());

    let dom = dump_dom(&format!("{base}/"));
    assert!(dom.contains("<p id=\"count\">3 applications</p>"), "{dom}");
    let shown = rows(&dom);
    // Application, name, team, outcome, started, completed, duration, Spark user, last updated,
    // event log, cost, report — newest first.
    let summary: Vec<(String, String, String, String)> =
        shown.iter().map(|(c, _)| (c[0].clone(), c[2].clone(), c[3].clone(), c[6].clone())).collect();
    // Durations rounded as Spark's list rounds them: 10,671 and 10,505 ms are "11 s", 9,011 ms "9 s".
    assert_eq!(
        summary,
        [
            ("app-20161116163331-0000".into(), "team-b".into(), "succeeded".into(), "11 s".into()),
            ("local-1430917381534".into(), "team-b".into(), "succeeded".into(), "11 s".into()),
            ("local-1422981780767".into(), "team-a".into(), "failed".into(), "9 s".into()),
        ],
        "{dom}"
    );
    assert!(shown.iter().all(|(cells, hidden)| !hidden && cells[10].parse::<f64>().is_ok()), "{shown:?}");
    // Spark's columns against the API's answer: started, completed (endTime), Spark user and last
    // updated (lastUpdated) as Spark's list writes a date, to the second (in GMT here).
    let listed: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/api/v1/applications"))).expect("the API's list is JSON");
    let listed = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), shown.len(), "{listed:?}");
    let as_listed =
        |gmt: &serde_json::Value| gmt.as_str().unwrap_or_default().get(..19).unwrap_or_default().replace('T', " ");
    for (cells, _) in &shown {
        let app = listed.iter().find(|a| a["id"] == cells[0].as_str()).unwrap_or_else(|| panic!("{} listed", cells[0]));
        let attempt = &app["attempts"][0];
        let want = [
            as_listed(&attempt["startTime"]),
            as_listed(&attempt["endTime"]),
            attempt["sparkUser"].as_str().unwrap_or_default().to_owned(),
            as_listed(&attempt["lastUpdated"]),
            "Download".to_owned(),
        ];
        let got = [&cells[4], &cells[5], &cells[7], &cells[8], &cells[9]].map(String::clone);
        assert_eq!(got, want, "{}: {cells:?} against {attempt}", cells[0]);
        assert!(want.iter().all(|w| !w.is_empty()), "{want:?}");
        // The download is Spark's `logs` zip, served here.
        let link = format!("href=\"/api/v1/applications/{}/logs\" download", cells[0].replace('-', "%2D"));
        assert!(dom.contains(&link), "{link} missing: {dom}");
        let zip = http_get_bytes(&format!("{base}/api/v1/applications/{}/logs", cells[0]));
        assert!(zip.starts_with(b"PK\x03\x04"), "{}: not a zip", cells[0]);
    }
    for (id, _, _, _) in &summary {
        let link = format!("href=\"/report/{}\"", id.replace('-', "%2D"));
        assert!(dom.contains(&link), "{link} missing: {dom}");
    }

    // The search box, filled from `?q=`, hides what does not match.
    let dom = dump_dom(&format!("{base}/?q=team-b"));
    assert!(dom.contains("<p id=\"count\">2 applications</p>"), "{dom}");
    let visible: Vec<String> =
        rows(&dom).into_iter().filter(|(_, hidden)| !hidden).map(|(c, _)| c[0].clone()).collect();
    assert_eq!(visible, ["app-20161116163331-0000", "local-1430917381534"]);
    let dom = dump_dom(&format!("{base}/?q=failed"));
    assert!(dom.contains("<p id=\"count\">1 application</p>"), "{dom}");
    let visible: Vec<String> =
        rows(&dom).into_iter().filter(|(_, hidden)| !hidden).map(|(c, _)| c[0].clone()).collect();
    assert_eq!(visible, ["local-1422981780767"], "its last job failed");

    // The linked report renders in the browser.
    let report = dump_dom(&format!("{base}/report/local%2D1430917381534"));
    assert!(report.contains("sparkplane report") && report.contains("local-1430917381534"), "{report}");
    assert!(report.contains("<svg"), "the report's charts are drawn: {report}");
    // Served, it leads back to the application's pages and the list, and both answer.
    let back = "<a href=\"/history/local%2D1430917381534/jobs/\">← This application's pages</a>";
    assert!(report.contains(back) && report.contains("<a href=\"/\">All applications</a>"), "{report}");
    let pages = dump_dom(&format!("{base}/history/local%2D1430917381534/jobs/"));
    assert!(pages.contains("data-count=\"jobs\""), "the link back opens the jobs page: {pages:.400}");
    server.stop();
}
