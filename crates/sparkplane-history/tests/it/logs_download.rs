//! `logs`: Spark's `HistoryServerSuite` tests "download all logs for app with
//! multiple attempts" and "download one log for app with multiple attempts",
//! over the same logs (Spark's own, see `tests/data/spark-history/NOTICE.md`):
//! the archive holds each attempt's log under its file name, byte for byte.
//! Also Spark's answers when the application or attempt is unknown, and a
//! rolling log zipped as its directory and parts.

use std::path::{Path, PathBuf};

use sparkplane_eventlog::LogSource;
use sparkplane_history::download::zip_logs;
use sparkplane_history::zip::Crc32;
use sparkplane_history::{Download, Index, respond};

fn spark_events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events")
}

fn index_of(dir: &Path) -> Index {
    let index = Index::new(LogSource::Local(dir.to_path_buf()), 1 << 20);
    index.refresh().expect("the test logs list");
    index
}

/// The entries of a stored zip, walked by its local headers (name, bytes), each
/// checked against its header's CRC and against the central directory's count.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut out = Vec::new();
    let mut at = 0;
    while u32_at(at) == 0x0403_4B50 {
        assert_eq!(u16_at(at + 8), 0, "stored");
        let (crc, size, name_len, extra) =
            (u32_at(at + 14), u32_at(at + 18) as usize, u16_at(at + 26), u16_at(at + 28));
        let name = String::from_utf8(bytes[at + 30..at + 30 + name_len].to_vec()).expect("utf-8 name");
        let start = at + 30 + name_len + extra;
        let data = bytes[start..start + size].to_vec();
        let mut check = Crc32::new();
        check.update(&data);
        assert_eq!(check.value(), crc, "{name}: crc");
        out.push((name, data));
        at = start + size;
    }
    let end = bytes.len() - 22;
    assert_eq!(u32_at(end), 0x0605_4B50, "end of central directory last");
    assert_eq!(u16_at(end + 10), out.len(), "entries in the central directory");
    assert_eq!(u32_at(end + 16) as usize, at, "central directory right after the entries");
    out
}

fn download(index: &Index, url: &str) -> (Download, Vec<(String, Vec<u8>)>) {
    let response = respond(index, url, "");
    assert_eq!((response.status, response.content_type), (200, "application/octet-stream"), "{url}: {}", response.body);
    let download = response.download.expect("a download");
    let logs: Vec<_> =
        download.attempts.iter().map(|a| index.log_of(&download.app_id, a.as_deref()).expect("listed")).collect();
    let mut archive = zip_logs(&logs).expect("zips");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut archive.reader, &mut bytes).expect("streams");
    assert_eq!(bytes.len() as u64, archive.len, "the announced length");
    (download, unzip(&bytes))
}

fn file(name: &str) -> Vec<u8> {
    std::fs::read(spark_events().join(name)).expect("log")
}

#[test]
fn download_all_logs_for_app_with_multiple_attempts() {
    let index = index_of(&spark_events());
    let (download, entries) = download(&index, "/api/v1/applications/local-1430917381535/logs");
    assert_eq!(download.file_name, "eventLogs-local-1430917381535.zip");
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["local-1430917381535_2", "local-1430917381535_1"], "newest attempt first");
    for (name, bytes) in &entries {
        assert_eq!(bytes, &file(name), "{name}");
    }
}

#[test]
fn download_one_log_for_app_with_multiple_attempts() {
    let index = index_of(&spark_events());
    for attempt in ["1", "2"] {
        let url = format!("/api/v1/applications/local-1430917381535/{attempt}/logs");
        let (download, entries) = download(&index, &url);
        assert_eq!(download.file_name, format!("eventLogs-local-1430917381535-{attempt}.zip"));
        let name = format!("local-1430917381535_{attempt}");
        assert_eq!(entries, [(name.clone(), file(&name))], "{url}");
    }
    let (download, entries) = download(&index, "/api/v1/applications/local-1422981780767/logs");
    assert_eq!(download.file_name, "eventLogs-local-1422981780767.zip");
    assert_eq!(entries, [("local-1422981780767".to_owned(), file("local-1422981780767"))]);
}

#[test]
fn unknown_applications_and_attempts_answer_404_with_sparks_text() {
    let index = index_of(&spark_events());
    for (url, text) in [
        // As Spark 4.1.4's History Server answers: it retried with attempt 1.
        ("/api/v1/applications/nope/logs", "no such app: nope/1"),
        ("/api/v1/applications/local-1430917381535/3/logs", "no such app: local-1430917381535/3"),
        ("/api/v1/applications/local-1422981780767/1/logs", "no such app: local-1422981780767/1"),
        // Other resources name the attempt the same way.
        ("/api/v1/applications/local-1430917381535/3/jobs", "no such app: local-1430917381535/3"),
    ] {
        let response = respond(&index, url, "");
        assert_eq!((response.status, response.body.as_str(), response.download), (404, text, None), "{url}");
    }
}

#[test]
fn an_app_listed_only_with_attempts_other_than_1_is_404_for_all_its_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(spark_events().join("local-1430917381535_2"), dir.path().join("local-1430917381535_2"))
        .expect("copy");
    let index = index_of(dir.path());
    let response = respond(&index, "/api/v1/applications/local-1430917381535/logs", "");
    assert_eq!((response.status, response.body.as_str()), (404, "no such app: local-1430917381535/1"));
    assert_eq!(respond(&index, "/api/v1/applications/local-1430917381535/2/logs", "").status, 200);
}

#[test]
fn a_rolling_log_is_zipped_as_its_directory_and_parts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rolling = dir.path().join("eventlog_v2_local-1422981780767");
    std::fs::create_dir(&rolling).expect("mkdir");
    let log = String::from_utf8(file("local-1422981780767")).expect("text");
    let lines: Vec<&str> = log.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    std::fs::write(rolling.join("events_1_local-1422981780767"), first.join("\n") + "\n").expect("write");
    std::fs::write(rolling.join("events_2_local-1422981780767"), second.join("\n") + "\n").expect("write");
    std::fs::write(rolling.join("appstatus_local-1422981780767"), "").expect("write");
    let index = index_of(dir.path());
    let (_, entries) = download(&index, "/api/v1/applications/local-1422981780767/logs");
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "eventlog_v2_local-1422981780767/",
            "eventlog_v2_local-1422981780767/events_1_local-1422981780767",
            "eventlog_v2_local-1422981780767/events_2_local-1422981780767",
        ]
    );
    let joined: Vec<u8> = entries[1..].iter().flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(String::from_utf8(joined).expect("text"), lines.join("\n") + "\n");
}

/// Through the server: Spark's headers on the zip, and Spark's 503 text when a
/// listed log can no longer be read (the rescan interval is long here, so the
/// vanished log is still listed).
#[test]
fn the_server_streams_the_zip_with_sparks_headers_and_answers_503_for_a_vanished_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["local-1430917381535_1", "local-1422981780767"] {
        std::fs::copy(spark_events().join(name), dir.path().join(name)).expect("copy");
    }
    let index = std::sync::Arc::new(index_of(dir.path()));
    let addr = "127.0.0.1:0".parse().expect("address");
    let server = sparkplane_history::serve(addr, index, std::time::Duration::from_secs(3600)).expect("listens");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = |path: &str| format!("http://{}{path}", server.addr());

    let mut reply = agent.get(&url("/api/v1/applications/local-1430917381535/1/logs")).call().expect("answers");
    assert_eq!(reply.status().as_u16(), 200);
    let header = |name: &str| reply.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(header("content-type").as_deref(), Some("application/octet-stream"));
    assert_eq!(
        header("content-disposition").as_deref(),
        Some("attachment; filename=eventLogs-local-1430917381535-1.zip")
    );
    let length = header("content-length");
    let bytes = reply.body_mut().read_to_vec().expect("body");
    assert_eq!(length, Some(bytes.len().to_string()));
    assert_eq!(unzip(&bytes), [("local-1430917381535_1".to_owned(), file("local-1430917381535_1"))]);

    std::fs::remove_file(dir.path().join("local-1422981780767")).expect("remove");
    let mut reply = agent.get(&url("/api/v1/applications/local-1422981780767/logs")).call().expect("answers");
    assert_eq!(reply.status().as_u16(), 503);
    assert_eq!(
        reply.body_mut().read_to_string().expect("text"),
        "Event logs are not available for app: local-1422981780767."
    );
    server.stop();
}
