//! The store against a real S3 server (SeaweedFS from the testkit) and the
//! local filesystem: the same calls, the same answers.

use std::io::Read;

use sparkplane_storage::{Location, StorageError, Store};
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

fn s3(server: &S3Server, url: &str) -> Store {
    let location = Location::parse(url).unwrap();
    Store::open_with(
        &location,
        &[("aws_endpoint", &server.endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)],
    )
    .unwrap()
}

fn exercise(store: &Store) {
    store.put("logs/app-1.zstd", b"first".to_vec()).unwrap();
    store.put("logs/eventlog_v2_app-2/events_1_app-2", b"second".to_vec()).unwrap();
    store.put("other.txt", b"x".to_vec()).unwrap();

    let logs = store.child("logs");
    let keys: Vec<(String, u64)> = logs.list().unwrap().into_iter().map(|e| (e.key, e.size)).collect();
    assert_eq!(keys, [("app-1.zstd".to_owned(), 5), ("eventlog_v2_app-2/events_1_app-2".to_owned(), 6)]);

    // A location that is one object lists as that object.
    let single = logs.child("app-1.zstd");
    let entries = single.list().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].key.as_str(), entries[0].size), ("", 5));
    assert!(entries[0].modified_ms > 1_700_000_000_000, "{entries:?}");

    assert_eq!(&logs.get("app-1.zstd").unwrap()[..], b"first");
    assert_eq!(&logs.get_range("app-1.zstd", 1..4).unwrap()[..], b"irs");

    store.copy_to("other.txt", &store.child("quarantine"), "other.txt").unwrap();
    assert_eq!(&store.get("quarantine/other.txt").unwrap()[..], b"x");
    assert_eq!(&store.get("other.txt").unwrap()[..], b"x", "a copy leaves the source in place");

    let missing = store.get("nope").unwrap_err();
    assert!(matches!(missing, StorageError::NotFound { .. }), "{missing:?}");
    assert_eq!(missing.to_string(), format!("{}: not found", store.location().join("nope")));
    assert_eq!(missing.exit_code(), 2);
    let empty = store.child("empty-prefix").list().unwrap_err();
    assert_eq!(empty.to_string(), format!("{}: not found", store.location().join("empty-prefix")));
}

#[test]
fn s3_and_local_answer_alike() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("lake").unwrap();
    exercise(&s3(&server, "s3a://lake/team-a/"));

    let dir = tempfile::tempdir().unwrap();
    exercise(&Store::open(&Location::Local(dir.path().to_path_buf())).unwrap());
}

#[test]
fn the_reader_streams_a_large_object_in_chunks() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("big").unwrap();
    let store = s3(&server, "s3://big");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    store.put("blob", data.clone()).unwrap();
    let mut reader = store.reader("blob", 256 * 1024).unwrap();
    assert_eq!(reader.size(), data.len() as u64);
    let mut back = Vec::new();
    reader.read_to_end(&mut back).unwrap();
    assert!(back == data, "streamed bytes differ from what was written");
}

#[test]
fn an_unreachable_endpoint_is_an_infrastructure_error_without_secrets() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let location = Location::parse("s3://lake/logs").unwrap();
    let store = Store::open_with(
        &location,
        &[("aws_endpoint", &endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)],
    )
    .unwrap();
    let error = store.list().unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("s3://lake/logs: object storage unreachable or failing: "), "{text}");
    assert_eq!(error.exit_code(), 3);
    assert!(!text.contains(SECRET_KEY), "{text}");
}

#[test]
fn wrong_credentials_are_denied_with_a_hint() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS: {e}"));
    server.create_bucket("lake").unwrap();
    let location = Location::parse("s3://lake").unwrap();
    let store = Store::open_with(
        &location,
        &[("aws_endpoint", &server.endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", "wrong")],
    )
    .unwrap();
    let error = store.put("x", b"x".to_vec()).unwrap_err();
    assert_eq!(error.exit_code(), 3, "{error}");
    assert!(error.to_string().contains("s3://lake/x"), "{error}");
    assert!(!error.to_string().contains("wrong"), "{error}");
}
