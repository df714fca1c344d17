//! `sparkplane analyze PATH --html FILE` through the real binary, on a committed real
//! Spark event log, with the report opened in headless Chromium: the rendered DOM must
//! hold the charts (one bar per stage attempt, one lane per executor) and the app name,
//! and a screenshot must show them. Chromium is installed by scripts/test.sh
//! (`need_chromium`); without it these tests fail and say so, they never skip.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use sparkplane_testkit::sparkplane;

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures").join(relative)
}

use sparkplane_testkit::chromium::binary as chromium;

/// Runs headless Chromium on `page` with `args` (no network, a fresh profile), and returns its output.
fn headless(page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir().expect("a profile directory");
    let mut cmd = std::process::Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args)
    .arg(format!("file://{}", page.display()));
    let mut child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("chromium starts");
    // A hung browser must fail the test, not the CI job's time limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().expect("chromium can be waited on").is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("headless chromium did not finish within 90 s on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().expect("chromium's output");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Writes the report of `log` to `dir/report.html` with the real binary and returns its path.
fn write_report(dir: &Path, log: &Path) -> PathBuf {
    let report = dir.join("report.html");
    let out = sparkplane().arg("analyze").arg(log).arg("--html").arg(&report).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("wrote the HTML report to {}", report.display())), "{stderr}");
    // The findings still go to stdout as without --html.
    assert!(String::from_utf8_lossy(&out.stdout).contains("Critical path"));
    report
}

/// Elements of `class` (exact attribute value, or the first of several classes) in `dom`.
fn count_class(dom: &str, class: &str) -> usize {
    dom.matches(&format!("class=\"{class}\"")).count() + dom.matches(&format!("class=\"{class} ")).count()
}

#[test]
fn chromium_renders_the_charts_of_a_real_spark_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    // job_ok.py on Spark 3.5.9: 4 jobs, 6 stages of which 1 skipped, so 5 stage attempts; local mode: 1 executor.
    let report = write_report(dir.path(), &fixture("spark-3.5.9/eventlog_v2_local-1795265030698"));
    let out = headless(&report, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<svg id=\"stage-gantt\""), "{dom}");
    assert_eq!(count_class(&dom, "stage-bar"), 5, "{dom}");
    assert!(dom.contains("<svg id=\"executor-timeline\""));
    assert_eq!(count_class(&dom, "executor-lane"), 1);
    assert!(dom.contains("<polyline class=\"cores-line\""));
    assert_eq!(count_class(&dom, "task-dist"), 5);
    assert!(dom.contains("<svg id=\"cost-breakdown\""));
    assert!(dom.contains("<h1 id=\"app-name\">sparkplane-eventlog-fixture</h1>"), "{dom}");
    assert!(dom.contains("data-critical=\"true\""));
}

#[test]
fn the_screenshot_shows_a_drawn_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = write_report(dir.path(), &fixture("spark-4.3.0/eventlog_v2_local-1795265657108"));
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html>\n<html><body></body></html>\n").expect("a blank page");
    let screenshot = |page: &Path, png: &Path| -> Vec<u8> {
        headless(page, &[&format!("--screenshot={}", png.display()), "--window-size=1100,1600"]);
        let bytes = std::fs::read(png).expect("chromium wrote the screenshot");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
        assert_eq!((width, height), (1100, 1600));
        bytes
    };
    let drawn = screenshot(&report, &dir.path().join("report.png"));
    let empty = screenshot(&blank, &dir.path().join("blank.png"));
    // A blank page of the same size compresses to almost nothing; text and charts do not.
    assert!(
        drawn.len() > 10 * empty.len(),
        "the report's screenshot ({} bytes) is hardly bigger than a blank page's ({} bytes)",
        drawn.len(),
        empty.len()
    );
}

#[test]
fn an_unreadable_log_writes_no_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.html");
    let out = sparkplane().args(["analyze", "no/such/log", "--html"]).arg(&report).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: cannot read event log no/such/log"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).expect("the directory lists").count(), 0, "nothing written");
}

#[test]
fn a_report_path_in_a_missing_directory_is_an_input_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("missing/report.html");
    let log = fixture("spark-3.5.9/eventlog_v2_local-1795265030698");
    let out = sparkplane().arg("analyze").arg(&log).arg("--html").arg(&report).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "error: --html: cannot write the HTML report {}: No such file or directory (os error 2)\n  help: pass \
             --html a file in an existing, writable directory\n",
            report.display()
        )
    );
    assert!(out.stdout.is_empty(), "no findings printed when the report fails");
    assert_eq!(std::fs::read_dir(dir.path()).expect("the directory lists").count(), 0, "nothing written");
}

#[test]
fn an_existing_report_is_replaced_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("report.html"), "old").expect("an old report");
    let report = write_report(dir.path(), &fixture("spark-3.5.9/eventlog_v2_local-1795265044180"));
    let text = std::fs::read_to_string(&report).expect("the report reads");
    assert!(text.starts_with("<!DOCTYPE html>") && text.ends_with("</html>\n"));
    // Only the report: no temporary file left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).expect("the directory lists").count(), 1);
}
