//! Reading logs from disk: layouts, codecs, in-progress tails, and finding a log by app id.

use crate::common;

use common::*;
use sparkplane_eventlog::{Codec, EventLog, Layout, Outcome, ReadError, find_app_log, summarize};

const APP: &str = "local-1700000000000";
const T0: i64 = 1_700_000_000_000;

fn small_app() -> Vec<String> {
    let m = Metrics { run_ms: 100, output: 10, ..Metrics::default() };
    vec![
        log_start("4.0.1"),
        environment(&[("spark.master", "local[2]")]),
        app_start("small", APP, T0),
        executor_added("driver", T0, 2),
        job_start(0, T0 + 100, &[0]),
        stage_submitted(0, 0, 2, T0 + 110),
        task_end(0, 0, success(), T0 + 300, m),
        task_end(0, 1, success(), T0 + 400, m),
        stage_completed(0, 0, 2, T0 + 400, None),
        job_succeeded(0, T0 + 410),
        app_end(T0 + 1000),
    ]
}

#[test]
fn plain_single_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), APP, log(&small_app()).as_bytes());
    let s = summarize(&path).expect("readable");
    assert_eq!(s.warnings, vec![]);
    assert_eq!((s.outcome, s.tasks.succeeded, s.metrics.output_bytes), (Outcome::Succeeded, 2, 20));
    assert!(!s.log.in_progress);
}

#[test]
fn zstd_single_file_with_crlf_and_blank_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = small_app().join("\r\n\n");
    let path = write(dir.path(), &format!("{APP}.zstd"), &zstd(&format!("{text}\r\n")));
    let log = EventLog::open(&path).expect("opens");
    assert_eq!((log.layout, log.log_name.as_str()), (Layout::SingleFile, APP));
    assert_eq!(log.parts[0].codec, Some(Codec::Zstd));
    let s = summarize(&path).expect("readable");
    assert_eq!(s.warnings, vec![]);
    assert_eq!((s.outcome, s.log.lines), (Outcome::Succeeded, 11));
}

#[test]
fn truncated_in_progress_log_ignores_its_last_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = log(&small_app()[..7]);
    let cut_line = &small_app()[7];
    text.push_str(&cut_line[..cut_line.len() / 2]);
    let path = write(dir.path(), &format!("{APP}.inprogress"), text.as_bytes());
    let s = summarize(&path).expect("readable");
    assert!(s.log.in_progress);
    assert_eq!(s.outcome, Outcome::Incomplete);
    assert_eq!((s.tasks.total, s.jobs.running, s.stages.active), (1, 1, 1));
    assert_eq!(s.duration_ms, Some(300));
    assert_eq!(s.warnings.len(), 1, "{:#?}", s.warnings);
    let w = &s.warnings[0];
    assert_eq!(w.line, Some(8));
    assert!(w.file.as_deref().is_some_and(|f| f.ends_with(".inprogress")));
    assert!(w.message.contains("cut-off last line of an in-progress log"), "{}", w.message);
}

#[test]
fn finished_log_without_final_newline_keeps_its_last_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), APP, small_app().join("\n").as_bytes());
    let s = summarize(&path).expect("readable");
    assert_eq!((s.outcome, s.warnings.len()), (Outcome::Succeeded, 0));
}

#[test]
fn truncated_zstd_stream_of_an_in_progress_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let compressed = zstd(&log(&small_app()));
    let path = write(dir.path(), &format!("{APP}.zstd.inprogress"), &compressed[..compressed.len() * 2 / 3]);
    let s = summarize(&path).expect("readable");
    assert_eq!(s.outcome, Outcome::Incomplete);
    assert!(!s.warnings.is_empty());
    assert!(s.warnings.iter().any(|w| w.message.contains("still being written")), "{:#?}", s.warnings);
}

#[test]
fn garbage_in_a_zstd_file_is_a_warning_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), &format!("{APP}.zstd"), b"definitely not zstd");
    let s = summarize(&path).expect("opened; the damage is reported as a warning");
    assert_eq!(s.warnings.len(), 1, "{:#?}", s.warnings);
    assert!(s.warnings[0].message.contains("the rest of this file is skipped"));
}

/// Spark's rolling layout with two zstd parts numbered 9 and 10: read numerically, not as text.
#[test]
fn rolling_directory_of_two_zstd_parts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(format!("eventlog_v2_{APP}"));
    std::fs::create_dir(&dir).expect("mkdir");
    let lines = small_app();
    write(&dir, &format!("events_9_{APP}.zstd"), &zstd(&log(&lines[..6])));
    write(&dir, &format!("events_10_{APP}.zstd"), &zstd(&log(&lines[6..])));
    write(&dir, &format!(".events_9_{APP}.zstd.crc"), b"crc");
    write(&dir, &format!("appstatus_{APP}"), b"");

    let log = EventLog::open(&dir).expect("opens");
    assert_eq!((log.layout, log.log_name.as_str(), log.in_progress), (Layout::Rolling, APP, false));
    let names: Vec<String> = log
        .parts
        .iter()
        .map(|p| p.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        .collect();
    assert_eq!(names, vec![format!("events_9_{APP}.zstd"), format!("events_10_{APP}.zstd")]);

    let s = summarize(&dir).expect("readable");
    assert_eq!(s.warnings, vec![]);
    assert_eq!((s.outcome, s.jobs.succeeded, s.tasks.succeeded, s.log.lines), (Outcome::Succeeded, 1, 2, 11));
    let single = {
        let path = write(tmp.path(), APP, log_text(&lines).as_bytes());
        summarize(&path).expect("readable")
    };
    assert_eq!((s.metrics, s.stages, s.executors.clone()), (single.metrics, single.stages, single.executors));

    // The same directory while the app still runs: the marker says so.
    std::fs::rename(dir.join(format!("appstatus_{APP}")), dir.join(format!("appstatus_{APP}.inprogress"))).expect("mv");
    assert!(EventLog::open(&dir).expect("opens").in_progress);
}

fn log_text(lines: &[String]) -> String {
    log(lines)
}

#[test]
fn compacted_rolling_log_starts_at_the_compact_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(format!("eventlog_v2_{APP}"));
    std::fs::create_dir(&dir).expect("mkdir");
    let lines = small_app();
    write(&dir, &format!("events_1_{APP}.zstd"), &zstd("stale\n"));
    write(&dir, &format!("events_2_{APP}.zstd"), &zstd("stale\n"));
    write(&dir, &format!("events_2_{APP}.zstd.compact"), &zstd(&log(&lines[..6])));
    write(&dir, &format!("events_3_{APP}.zstd"), &zstd(&log(&lines[6..])));
    write(&dir, &format!("appstatus_{APP}"), b"");
    let log = EventLog::open(&dir).expect("opens");
    assert_eq!(log.parts.len(), 2);
    assert!(log.parts[0].path.to_string_lossy().ends_with(".compact"));
    let s = summarize(&dir).expect("readable");
    assert_eq!((s.outcome, s.tasks.total), (Outcome::Succeeded, 2));
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].message.contains("compacted"));
}

#[test]
fn every_spark_codec_is_read_and_garbage_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    for codec in ["lz4", "snappy", "lzf"] {
        let path = write(dir.path(), &format!("{APP}.{codec}.inprogress"), b"\x00\x01");
        let s = summarize(&path).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert_eq!(s.warnings.len(), 1, "{codec}: {:?}", s.warnings);
        assert!(s.warnings[0].file.as_deref().is_some_and(|f| f.ends_with(&format!("{APP}.{codec}.inprogress"))));
        assert!(s.warnings[0].message.contains(&format!("corrupt {codec} stream")), "{}", s.warnings[0]);
    }
}

#[test]
fn missing_paths_and_empty_directories_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(summarize(&dir.path().join("nope")), Err(ReadError::Io { .. })));
    assert!(matches!(summarize(dir.path()), Err(ReadError::NotAnEventLog { .. })));
}

#[test]
fn finds_logs_in_either_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    assert_eq!(find_app_log(d, APP), None);

    write(d, "local-17000000000001", b"");
    write(d, &format!("{APP}.zstd.inprogress"), b"");
    assert_eq!(find_app_log(d, APP), Some(d.join(format!("{APP}.zstd.inprogress"))));

    write(d, &format!("{APP}.zstd"), b"");
    assert_eq!(find_app_log(d, APP), Some(d.join(format!("{APP}.zstd"))), "finished beats in progress");

    let rolling = d.join(format!("eventlog_v2_{APP}"));
    std::fs::create_dir(&rolling).expect("mkdir");
    write(&rolling, &format!("appstatus_{APP}.inprogress"), b"");
    assert_eq!(find_app_log(d, APP), Some(rolling.clone()), "rolling beats single file");

    write(d, &format!("{APP}_2.lz4"), b"");
    assert_eq!(find_app_log(d, APP), Some(d.join(format!("{APP}_2.lz4"))), "the latest attempt wins");

    assert_eq!(find_app_log(d, "local-17"), None);
    assert_eq!(find_app_log(&d.join("missing"), APP), None);
}

/// Lines as (text, number) and warnings as (line, message).
type LinesAndWarnings = (Vec<(String, u64)>, Vec<(Option<u64>, String)>);

/// Every line and warning of the log at `path`.
fn lines_and_warnings(path: &std::path::Path) -> LinesAndWarnings {
    let log = EventLog::open(path).expect("opens");
    let mut lines = log.lines().expect("reads");
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line() {
        seen.push((line.text.to_owned(), line.number));
    }
    let warnings = lines.take_warnings().into_iter().map(|w| (w.line, w.message)).collect();
    (seen, warnings)
}

#[test]
fn a_small_plain_file_read_whole_gives_the_lines_and_warnings_a_stream_gives() {
    // Small plain files are read whole and their lines sliced from the text; zstd files and plain files past
    // 256 KiB are read a line at a time. Both must agree on every line, number and warning.
    let contents: [&[u8]; 6] = [
        b"{\"a\":1}\r\n\n   \n{\"b\":2}\r\n\t\r\n{\"c\":3}",
        b"{\"a\":1}\n{\"b\":2}\n",
        b"\n\n{\"only\":true}\r",
        b"{\"ok\":1}\n{\"bad\":\"\xff\xfe\"}\n{\"after\":2}\n{\"cut\":",
        "{\"ünï\":\"cödé\"}\n{\"cut\":".as_bytes(),
        b"",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (n, content) in contents.iter().enumerate() {
        for suffix in ["", ".inprogress"] {
            let whole = write(dir.path(), &format!("local-{n}{suffix}"), content);
            let streamed = write(dir.path(), &format!("local-{n}.zstd{suffix}"), &zstd_bytes(content));
            assert_eq!(lines_and_warnings(&whole), lines_and_warnings(&streamed), "content {n}{suffix}");
            // Past the whole-file limit, a plain file is streamed too: the same lines after the padding.
            let mut padded = vec![b'\n'; 300_000];
            padded.extend_from_slice(content);
            let big = write(dir.path(), &format!("local-big-{n}{suffix}"), &padded);
            let (lines, warnings) = lines_and_warnings(&big);
            let shifted = |number: u64| number - 300_000;
            let (expected_lines, expected_warnings) = lines_and_warnings(&whole);
            assert_eq!(lines.into_iter().map(|(t, l)| (t, shifted(l))).collect::<Vec<_>>(), expected_lines);
            assert_eq!(warnings.into_iter().map(|(l, m)| (l.map(shifted), m)).collect::<Vec<_>>(), expected_warnings);
        }
    }
    // The cut-off last line is warned of only while in progress, and the bad bytes either way.
    let (_, warnings) = lines_and_warnings(&dir.path().join("local-3.inprogress"));
    assert_eq!(warnings.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [Some(2), Some(4)]);
    assert!(warnings[0].1.starts_with("line is not UTF-8"), "{warnings:?}");
}

/// `bytes` as a zstd stream (not necessarily text).
fn zstd_bytes(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("zstd in memory")
}
