//! Event logs read from a real S3 server (SeaweedFS, started by the testkit on
//! 127.0.0.1) give exactly what the same logs give when read from disk: the
//! committed real Spark logs for every codec, the rolling layout, a log in
//! progress, a directory of many applications, and a log larger than one
//! ranged request.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sparkplane_eventlog::{
    AppSummary, EventLog, Location, LogSource, ReadError, summarize, summarize_log, summarize_logs,
};
use sparkplane_storage::Store;
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn options(server: &S3Server) -> [(&'static str, &str); 3] {
    [
        ("aws_endpoint", server.endpoint.as_str()),
        ("aws_access_key_id", ACCESS_KEY),
        ("aws_secret_access_key", SECRET_KEY),
    ]
}

fn source(server: &S3Server, url: &str) -> LogSource {
    let location = Location::parse(url).expect("a valid URL");
    LogSource::open_with(&location, &options(server)).expect("opens")
}

fn store(server: &S3Server, url: &str) -> Store {
    Store::open_with(&Location::parse(url).expect("a valid URL"), &options(server)).expect("opens")
}

/// Uploads every file under `dir` (hidden `.crc` files too, as Hadoop leaves them) below `prefix`.
fn upload(store: &Store, dir: &Path, prefix: &str) {
    for entry in fs::read_dir(dir).expect("fixture dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = format!("{prefix}/{name}");
        if entry.path().is_dir() {
            upload(store, &entry.path(), &key);
        } else {
            store.put(&key, fs::read(entry.path()).expect("fixture reads")).expect("upload");
        }
    }
}

/// The summary with warnings naming `from` rewritten to name `to`, so a local
/// and a remote read of the same log compare equal when everything else is.
fn relocated(mut summary: AppSummary, from: &str, to: &str) -> AppSummary {
    for warning in &mut summary.warnings {
        if let Some(file) = &mut warning.file {
            *file = file.replacen(from, to, 1);
        }
    }
    summary
}

/// Every log under a local fixture directory and its copy at `url`: same layout,
/// same summary. Returns how many of them hold Spark events (the fixture
/// directories also hold the jobs' scripts, which both reads list alike).
fn assert_same_as_local(server: &S3Server, local_dir: &Path, url: &str) -> usize {
    let local_logs = LogSource::Local(local_dir.to_owned()).app_logs().expect("local listing");
    let remote = source(server, url);
    let remote_logs = remote.app_logs().expect("remote listing");
    // Logs are named by the normalised URL (`s3a://` reads as `s3://`).
    let normalised = remote.describe();
    assert_eq!(normalised, url.replacen("s3a://", "s3://", 1));
    let local_names: Vec<String> =
        local_logs.iter().map(|l| l.name.replacen(&local_dir.display().to_string(), &normalised, 1)).collect();
    let remote_names: Vec<String> = remote_logs.iter().map(|l| l.name.clone()).collect();
    assert_eq!(remote_names, local_names);
    let mut with_events = 0;
    for (local, remote) in local_logs.iter().zip(&remote_logs) {
        assert_eq!(remote.size, local.size, "{}", remote.name);
        let (local_log, remote_log) = (local.open().expect("local opens"), remote.open().expect("remote opens"));
        assert_eq!(
            (&remote_log.log_name, remote_log.layout, remote_log.in_progress, remote_log.parts.len()),
            (&local_log.log_name, local_log.layout, local_log.in_progress, local_log.parts.len()),
            "{}",
            remote.name
        );
        let codecs = |log: &EventLog| log.parts.iter().map(|p| p.codec).collect::<Vec<_>>();
        assert_eq!(codecs(&remote_log), codecs(&local_log), "{}", remote.name);
        let expected = relocated(summarize(Path::new(&local.name)).expect("local reads"), &local.name, &remote.name);
        let got = remote.summarize().unwrap_or_else(|e| panic!("{}: {e}", remote.name));
        assert_eq!(got, expected, "{}", remote.name);
        with_events += usize::from(got.log.events > 0);
        // Opening one log by its own URL gives the same as finding it in the listing.
        let direct = summarize_log(&source(server, &remote.name).event_log().expect("opens by URL")).expect("reads");
        assert_eq!(direct, expected, "{}", remote.name);
    }
    with_events
}

#[test]
fn every_codec_and_the_rolling_layout_read_the_same_from_s3_as_from_disk() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("logs").expect("bucket");
    let lake = store(&server, "s3://logs");
    for dir in ["codecs", "spark-3.5.9", "spark-4.3.0"] {
        upload(&lake, &fixtures().join(dir), &format!("events/{dir}"));
    }
    // codecs/: zstd, lz4, snappy and lzf single files and a rolling lz4 log.
    assert_eq!(assert_same_as_local(&server, &fixtures().join("codecs"), "s3a://logs/events/codecs"), 5);
    // Rolling zstd logs: finished, failed, and killed while running (still `.inprogress`).
    assert_eq!(assert_same_as_local(&server, &fixtures().join("spark-3.5.9"), "s3://logs/events/spark-3.5.9"), 3);
    assert_eq!(assert_same_as_local(&server, &fixtures().join("spark-4.3.0"), "s3://logs/events/spark-4.3.0"), 2);

    let killed = source(&server, "s3://logs/events/spark-3.5.9/eventlog_v2_local-1795265065682").event_log().unwrap();
    assert!(killed.in_progress, "the appstatus marker still ends in .inprogress");

    // The whole directory, summarised in parallel, in name order.
    let remote = source(&server, "s3://logs/events/spark-3.5.9").app_logs().unwrap();
    let local = LogSource::Local(fixtures().join("spark-3.5.9")).app_logs().unwrap();
    let (remote_apps, _) = summarize_logs(&remote, None);
    let (local_apps, _) = summarize_logs(&local, None);
    let ids = |apps: &[AppSummary]| apps.iter().map(|a| a.app_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&remote_apps), ids(&local_apps));
    assert_eq!(remote_apps.len(), 3);
}

/// The uncompressed text of the zstd codec fixture.
fn plain_log() -> Vec<u8> {
    let file = fs::File::open(fixtures().join("codecs/local-1795266977692.zstd")).expect("fixture");
    let mut text = Vec::new();
    zstd::stream::read::Decoder::new(file).expect("zstd").read_to_end(&mut text).expect("decompresses");
    text
}

#[test]
fn a_cut_off_in_progress_log_and_a_log_larger_than_one_request_read_the_same() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("b").expect("bucket");
    let lake = store(&server, "s3://b");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = plain_log();

    // Spark still writing: the last line is cut in the middle.
    let cut = &text[..text.len() - 40];
    fs::write(dir.path().join("local-1.inprogress"), cut).unwrap();
    // Far larger than one ranged request (8 MiB): the same application's lines
    // repeated, so lines straddle every chunk boundary.
    let mut big = Vec::new();
    while big.len() < 20 * 1024 * 1024 {
        big.extend_from_slice(&text);
    }
    fs::write(dir.path().join("local-2"), &big).unwrap();
    upload(&lake, dir.path(), "spark-events");

    for name in ["local-1.inprogress", "local-2"] {
        let local_path = dir.path().join(name);
        let url = format!("s3://b/spark-events/{name}");
        let expected = relocated(summarize(&local_path).unwrap(), &local_path.display().to_string(), &url);
        let got = summarize_log(&source(&server, &url).event_log().unwrap()).unwrap();
        assert_eq!(got, expected, "{name}");
        assert!(got.log.lines > 50, "{name}: {} lines", got.log.lines);
    }
    let cut_off =
        summarize_log(&source(&server, "s3://b/spark-events/local-1.inprogress").event_log().unwrap()).unwrap();
    assert!(cut_off.log.in_progress);
    let last = cut_off.warnings.last().expect("a warning about the cut-off line").to_string();
    assert!(
        last.starts_with("s3://b/spark-events/local-1.inprogress:")
            && last.ends_with("ignored the cut-off last line of an in-progress log"),
        "{last}"
    );
}

#[test]
fn a_missing_prefix_says_so_with_exit_code_2() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("b").expect("bucket");
    let error = source(&server, "s3://b/no/such/prefix").app_logs().unwrap_err();
    assert_eq!(error.to_string(), "s3://b/no/such/prefix: not found");
    assert_eq!(error.category(), sparkplane_category::Category::Invalid);
    let error = source(&server, "s3://b/no/such/eventlog_v2_x").event_log().unwrap_err();
    assert_eq!(error.to_string(), "s3://b/no/such/eventlog_v2_x: not found");
    assert!(matches!(error, ReadError::Storage(_)), "{error:?}");
}

#[test]
fn a_prefix_without_event_log_parts_is_not_an_event_log() {
    // A real bucket name (3 to 63 characters): SeaweedFS lists nothing in a one-letter bucket.
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("parts").expect("bucket");
    let bucket = store(&server, "s3://parts");
    bucket.put("eventlog_v2_x/readme.txt", b"hello".to_vec()).unwrap();
    let error = source(&server, "s3://parts/eventlog_v2_x").event_log().unwrap_err();
    assert_eq!(
        error.to_string(),
        "s3://parts/eventlog_v2_x is not a Spark event log: the directory holds no events_<N>_<appId> files"
    );
    assert_eq!(error.category(), sparkplane_category::Category::Invalid);
}

#[test]
fn an_unreachable_endpoint_is_exit_code_3_and_names_no_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let location = Location::parse("s3://b/spark-events").unwrap();
    let options =
        [("aws_endpoint", endpoint.as_str()), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)];
    let error = LogSource::open_with(&location, &options).unwrap().app_logs().unwrap_err();
    assert_eq!(error.category(), sparkplane_category::Category::Unreachable, "{error}");
    let message = error.to_string();
    assert!(message.starts_with("s3://b/spark-events: object storage unreachable"), "{message}");
    assert!(!message.contains(SECRET_KEY), "{message}");
}
