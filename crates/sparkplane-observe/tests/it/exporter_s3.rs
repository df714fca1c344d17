//! The exporter over an S3 prefix (a real S3 server, SeaweedFS from the testkit):
//! the same metrics as over the same logs on disk, finished logs listed but never
//! read again, and new or changed logs picked up by their key, size and
//! modification time.

use crate::exporter_common;

use std::path::Path;

use exporter_common::{copy_fixtures, parse_samples};
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_eventlog::{Location, LogSource};
use sparkplane_observe::exporter::Exporter;
use sparkplane_storage::Store;
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

const OK: &str = "eventlog_v2_local-1795265030698";
const KILLED: &str = "eventlog_v2_local-1795265065682";

fn options(server: &S3Server) -> [(&'static str, &str); 3] {
    [
        ("aws_endpoint", server.endpoint.as_str()),
        ("aws_access_key_id", ACCESS_KEY),
        ("aws_secret_access_key", SECRET_KEY),
    ]
}

fn upload_dir(store: &Store, dir: &Path, prefix: &str) {
    for file in std::fs::read_dir(dir).expect("dir").flatten() {
        let key = format!("{prefix}/{}", file.file_name().to_string_lossy());
        store.put(&key, std::fs::read(file.path()).expect("reads")).expect("upload");
    }
}

#[test]
fn the_exporter_reads_an_s3_prefix_incrementally() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    server.create_bucket("history").expect("bucket");
    let url = "s3://history/spark-events";
    let location = Location::parse(url).expect("URL");
    let store = Store::open_with(&location, &options(&server)).expect("store");
    let local = copy_fixtures();
    for log in [OK, KILLED] {
        upload_dir(&store, &local.path().join(log), log);
    }
    // The same two logs on disk, for the expected metrics.
    let expected_dir = tempfile::tempdir().expect("tempdir");
    for log in [OK, KILLED] {
        let to = expected_dir.path().join(log);
        std::fs::create_dir(&to).expect("mkdir");
        for file in std::fs::read_dir(local.path().join(log)).expect("dir").flatten() {
            std::fs::copy(file.path(), to.join(file.file_name())).expect("copy");
        }
    }

    let source = LogSource::open_with(&location, &options(&server)).expect("opens");
    let mut exporter = Exporter::with_source(source, PriceSheet::opencost_defaults());
    let mut on_disk = Exporter::new(expected_dir.path(), PriceSheet::opencost_defaults());
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_265_065_682 + 3_600_000);
    let report = exporter.scan_at(now);
    on_disk.scan_at(now);
    assert_eq!((report.logs, report.read, report.finished, report.errors), (2, 2, 1, 0), "{report:?}");
    assert_eq!(report.listing_error, None);
    // Series within a family come in hash order; compare them as a map.
    let samples = parse_samples(&exporter.encode());
    assert_eq!(samples, parse_samples(&on_disk.encode()), "S3 and disk give the same series and values");
    assert_eq!(samples.get("sparkplane_exporter_log_errors_total"), Some(&0.0));
    let names: Vec<&String> = exporter.logs().keys().collect();
    assert_eq!(names, [&format!("{url}/{OK}"), &format!("{url}/{KILLED}")]);

    // Nothing changed: one listing, no log read — not even the one in progress.
    let report = exporter.scan_at(now);
    assert_eq!((report.read, exporter.reads()), (0, 2), "{report:?}");

    // A new application appears under the prefix: read, and only it.
    let copy = "eventlog_v2_local-1795265099999";
    upload_dir(&store, &local.path().join(OK), copy);
    let report = exporter.scan_at(now);
    assert_eq!((report.logs, report.read, report.finished, exporter.reads()), (3, 1, 1, 3), "{report:?}");
    let samples = parse_samples(&exporter.encode());
    let ok = "sparkplane_app_outcome_total{sparkjob=\"sparkplane-eventlog-fixture\",team=\"data-platform\",\
              cost_center=\"(unattributed)\",namespace=\"(unattributed)\",outcome=\"succeeded\"}";
    assert_eq!(samples.get(ok), Some(&2.0), "{samples:#?}");

    // The application in progress ends: its status marker loses `.inprogress`
    // (on S3 a copy and a delete). Read once more, then never again.
    let marker = format!("{KILLED}/appstatus_local-1795265065682");
    store.copy_to(&format!("{marker}.inprogress"), &store, &marker).expect("copy");
    store.delete(&format!("{marker}.inprogress")).expect("delete");
    let report = exporter.scan_at(now);
    assert_eq!((report.read, report.finished, exporter.reads()), (1, 1, 4), "{report:?}");
    assert!(exporter.logs().values().all(|state| state.finished && state.summary.is_none()));
    let report = exporter.scan_at(now);
    assert_eq!((report.read, exporter.reads()), (0, 4), "{report:?}");

    // A finished log rewritten in place is still not read again: finished is final.
    upload_dir(&store, &local.path().join(OK), OK);
    assert_eq!(exporter.scan_at(now).read, 0);
}

#[test]
fn an_unreachable_store_is_down_not_fatal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let location = Location::parse("s3://history/spark-events").expect("URL");
    let options =
        [("aws_endpoint", endpoint.as_str()), ("aws_access_key_id", ACCESS_KEY), ("aws_secret_access_key", SECRET_KEY)];
    let mut exporter =
        Exporter::with_source(LogSource::open_with(&location, &options).unwrap(), PriceSheet::opencost_defaults());
    let report = exporter.scan();
    let error = report.listing_error.expect("a listing error");
    assert!(
        error.starts_with(
            "cannot list s3://history/spark-events: s3://history/spark-events: object storage unreachable"
        ),
        "{error}"
    );
    assert!(!error.contains(SECRET_KEY), "{error}");
    assert_eq!(parse_samples(&exporter.encode()).get("sparkplane_exporter_up"), Some(&0.0));
}
