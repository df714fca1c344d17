//! The store against a real S3 server (SeaweedFS from the testkit) and the
//! local filesystem: the same calls, the same answers.

use std::io::Read;

use sparkplane_category::Category;
use sparkplane_storage::{Location, StorageError, Store};
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};
use sparkplane_testkit::{Fault, FaultProxy, S3Server};

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
    assert_eq!(missing.category(), Category::Invalid);
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
    assert_eq!(error.category(), Category::Unreachable);
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
    assert_eq!(error.category(), Category::Unreachable, "{error}");
    assert!(error.to_string().contains("s3://lake/x"), "{error}");
    assert!(!error.to_string().contains("wrong"), "{error}");
}

/// Object storage is listed page by page: with pages of 2 keys, 5 objects take
/// 3 ListObjectsV2 requests (seen by the proxy in front of SeaweedFS), and the
/// listing equals the one-page listing, each entry with its ETag.
#[test]
fn a_listing_of_several_pages_equals_the_one_page_listing_with_etags() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("lake").unwrap();
    let direct = s3(&server, "s3://lake/logs");
    for i in 0..5 {
        direct.put(&format!("app-{i}"), format!("content {i}").into_bytes()).unwrap();
    }
    s3(&server, "s3://lake/logs2").put("not-below", b"x".to_vec()).unwrap();
    let proxy = FaultProxy::start(&server.endpoint, Fault::SlowDown, |_| false).unwrap();
    let paged = s3_at(&proxy.endpoint, "s3://lake/logs").with_list_page_size(2);
    let listed = paged.list().unwrap();
    assert_eq!(listed, direct.list().unwrap());
    let keys: Vec<&str> = listed.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["app-0", "app-1", "app-2", "app-3", "app-4"]);
    assert!(listed.iter().all(|e| e.e_tag.as_deref().is_some_and(|t| !t.is_empty())), "{listed:?}");
    let lists = proxy.requests().into_iter().filter(|(line, _)| line.contains("list-type=2")).count();
    assert_eq!(lists, 3, "{:?}", proxy.requests());
}

/// The ETag tells a rewritten object from the old one even when size (and,
/// within the store's clock, modification time) are the same.
#[test]
fn rewriting_an_object_to_the_same_size_changes_its_etag() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("lake").unwrap();
    let store = s3(&server, "s3://lake");
    store.put("log", b"aaaa".to_vec()).unwrap();
    let before = store.head("log").unwrap();
    store.put("log", b"bbbb".to_vec()).unwrap();
    let after = store.head("log").unwrap();
    assert_eq!((before.size, after.size), (4, 4));
    assert!(before.e_tag.is_some() && after.e_tag.is_some(), "{before:?} {after:?}");
    assert_ne!(before.e_tag, after.e_tag);
    store.put("log", b"aaaa".to_vec()).unwrap();
    assert_eq!(store.head("log").unwrap().e_tag, before.e_tag, "same content, same ETag");
}

/// Page 2 of a listing fails (503 from the proxy, after object_store's
/// retries): the listing fails as a whole, naming the page and how far it got;
/// once the store answers again the same call lists everything.
#[test]
fn a_failing_later_page_fails_the_listing_naming_the_page() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("lake").unwrap();
    let direct = s3(&server, "s3://lake/logs");
    for i in 0..5 {
        direct.put(&format!("app-{i}"), b"x".to_vec()).unwrap();
    }
    let proxy =
        FaultProxy::start(&server.endpoint, Fault::SlowDown, |line| line.contains("continuation-token=")).unwrap();
    let paged = s3_at(&proxy.endpoint, "s3://lake/logs").with_list_page_size(2);
    proxy.arm();
    let error = paged.list().unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(
            "s3://lake/logs: object storage unreachable or failing: page 2 of the listing failed after 2 objects: "
        ),
        "{text}"
    );
    assert_eq!(error.category(), Category::Unreachable);
    assert!(proxy.requests().iter().any(|(_, failed)| *failed));
    proxy.disarm();
    assert_eq!(paged.list().unwrap().len(), 5);
}

/// Page 2 of a listing gets no answer at all (the proxy holds the request):
/// with a 1 s request timeout each attempt times out, object_store retries it
/// three times, and the listing fails naming the page — in seconds, not the
/// default two minutes per attempt — then lists whole once the store answers.
#[test]
fn a_later_page_that_times_out_fails_the_listing_naming_the_page() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("lake").unwrap();
    let direct = s3(&server, "s3://lake/logs");
    for i in 0..5 {
        direct.put(&format!("app-{i}"), b"x".to_vec()).unwrap();
    }
    let proxy = FaultProxy::start(&server.endpoint, Fault::Stall, |line| line.contains("continuation-token=")).unwrap();
    let paged = s3_with(&proxy.endpoint, "s3://lake/logs", &[("timeout", "1s")]).with_list_page_size(2);
    proxy.arm();
    let error = paged.list().unwrap_err();
    let text = error.to_string();
    let page = "s3://lake/logs: object storage unreachable or failing: page 2 of the listing failed after 2 objects: ";
    assert!(text.starts_with(page), "{text}");
    assert!(text.contains("after 3 retries") && text.contains("timed out"), "{text}");
    assert_eq!(error.category(), Category::Unreachable);
    let stalled =
        proxy.requests().iter().filter(|(line, failed)| *failed && line.contains("continuation-token=")).count();
    assert_eq!(stalled, 4, "the first try and three retries: {:?}", proxy.requests());
    proxy.disarm();
    assert_eq!(paged.list().unwrap().len(), 5);
}

/// A client setting that is not one fails when the store is opened, naming the location.
#[test]
fn a_bad_client_setting_is_a_bad_location() {
    let location = Location::parse("s3://lake/logs").unwrap();
    let error = Store::open_with(&location, &[("timeout", "soon")]).unwrap_err();
    assert!(error.to_string().starts_with("s3://lake/logs: cannot configure the object store: "), "{error}");
    assert_eq!(error.category(), Category::Invalid);
}

fn s3_at(endpoint: &str, url: &str) -> Store {
    s3_with(endpoint, url, &[])
}

fn s3_with(endpoint: &str, url: &str, extra: &[(&str, &str)]) -> Store {
    let location = Location::parse(url).unwrap();
    let mut options =
        vec![("aws_endpoint", endpoint), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)];
    options.extend_from_slice(extra);
    Store::open_with(&location, &options).unwrap()
}

/// Each bucket is a collection the server grows volumes for: the third bucket's
/// multipart write must succeed as the first one's does (with room for only 8
/// volumes the second bucket got one, and its parts failed with 500).
#[test]
fn every_bucket_of_one_server_takes_multipart_writes() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    let data: Vec<u8> = (0..11 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    for bucket in ["backups", "scratch", "lake"] {
        server.create_bucket(bucket).unwrap();
        let store = s3(&server, &format!("s3://{bucket}/drill"));
        for n in 0..4 {
            let key = format!("tables/part-{n}.parquet");
            let written = store
                .put_from(&key, &mut &data[..], 5 * 1024 * 1024)
                .unwrap_or_else(|e| panic!("{bucket}/{key}: {e}\n{}", server.log_tail()));
            assert_eq!(written, data.len() as u64);
        }
        assert_eq!(&store.get("tables/part-3.parquet").unwrap()[..], &data[..], "{bucket}");
    }
}
