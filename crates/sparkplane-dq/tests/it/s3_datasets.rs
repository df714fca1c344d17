//! Datasets, profiles and quarantine in S3 (a real SeaweedFS server from the
//! testkit): the same spec over the same data gives the same report locally
//! and in S3; missing datasets, corrupt objects and a missing quarantine
//! bucket give errors that name the object and leave the data intact.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use sparkplane_category::Category;
use sparkplane_documents::Source;
use sparkplane_dq::dataset::parse_selection;
use sparkplane_dq::{CheckOptions, DqError, DqReport, Status};
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

const NOW: f64 = 1_795_000_000.0;

fn parquet_bytes(columns: Vec<(&str, ArrayRef)>, row_group_rows: usize) -> Vec<u8> {
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(row_group_rows)).build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).expect("writer");
    writer.write(&batch).expect("write");
    writer.into_inner().expect("close")
}

/// `(key, bytes)` of a small hive-partitioned dataset: two days, several row
/// groups per file, a refund without a refund id and a negative amount on day 2.
fn dataset_files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (day, base) in [("2026-11-19", 0i64), ("2026-11-20", 100)] {
        let ids: Vec<i64> = (base..base + 40).collect();
        let amounts: Vec<Option<f64>> = ids
            .iter()
            .map(|i| match i {
                105 => Some(-3.0),
                107 => None,
                _ => Some(*i as f64 * 1.5),
            })
            .collect();
        let status: Vec<&str> = ids.iter().map(|i| if i % 10 == 3 { "refunded" } else { "paid" }).collect();
        let refund: Vec<Option<String>> =
            ids.iter().map(|i| (i % 10 == 3 && *i != 113).then(|| format!("r{i}"))).collect();
        let bytes = parquet_bytes(
            vec![
                ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
                ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
                ("status", Arc::new(StringArray::from(status)) as ArrayRef),
                ("refund_id", Arc::new(StringArray::from(refund)) as ArrayRef),
            ],
            16,
        );
        out.push((format!("date={day}/part-0.parquet"), bytes));
    }
    out.push(("_SUCCESS".to_owned(), Vec::new()));
    out.push(("date=2026-11-20/.part-0.parquet.crc".to_owned(), b"crc".to_vec()));
    out
}

fn write_local(root: &Path, files: &[(String, Vec<u8>)]) {
    for (key, bytes) in files {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
}

fn storage_options(server: &S3Server) -> Vec<(String, String)> {
    vec![
        ("aws_endpoint".to_owned(), server.endpoint.clone()),
        ("aws_access_key_id".to_owned(), ACCESS_KEY.to_owned()),
        ("aws_secret_access_key".to_owned(), SECRET_KEY.to_owned()),
    ]
}

fn bucket(server: &S3Server, url: &str) -> Store {
    let pairs = storage_options(server);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Store::open_with(&Location::parse(url).expect("url"), &pairs).expect("store")
}

fn upload(store: &Store, files: &[(String, Vec<u8>)]) {
    for (key, bytes) in files {
        store.put(key, bytes.clone()).expect("put");
    }
}

fn spec(dataset: &str, profiles: &str, quarantine: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: payments}}\n\
         dataset: {{path: '{dataset}', partitioning: hive}}\nprofileStore: '{profiles}'\n{quarantine}checks:\n\
         \x20 - name: rows\n    rowCount: {{min: 1}}\n\
         \x20 - name: rows-stable\n    rowCountChange: {{maxPercent: 10}}\n\
         \x20 - name: amount-known\n    notNull: {{column: amount, maxFraction: 0.05}}\n\
         \x20 - name: ids-unique\n    unique: {{columns: [id]}}\n\
         \x20 - name: amount-drift\n    drift: {{column: amount}}\n\
         \x20 - name: refunds-have-ids\n    sql: \"amount >= 0 AND (status <> 'refunded' OR refund_id IS NOT NULL)\"\n"
    )
}

fn options(base: &Path, server: &S3Server, partition: &[&str]) -> CheckOptions {
    CheckOptions {
        base_dir: base.to_owned(),
        selection: parse_selection(&partition.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>()).expect("sel"),
        threads: 2,
        now_secs: NOW,
        write_profile: true,
        quarantine: true,
        storage_options: storage_options(server),
    }
}

fn run(text: &str, options: &CheckOptions) -> Result<DqReport, DqError> {
    let loaded = sparkplane_dq::load_spec(&Source::new("dq.yaml", text.to_owned())).expect("spec loads");
    sparkplane_dq::check(&loaded.spec, options)
}

fn start() -> S3Server {
    S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"))
}

#[test]
fn the_same_spec_gives_the_same_report_locally_and_in_s3() {
    let server = start();
    server.create_bucket("lake").expect("bucket");
    let files = dataset_files();
    upload(&bucket(&server, "s3://lake/payments"), &files);
    let dir = tempfile::tempdir().expect("tempdir");
    write_local(&dir.path().join("payments"), &files);

    for partition in [&[][..], &["date=2026-11-20"][..]] {
        let opts = options(dir.path(), &server, partition);
        let local = run(&spec("payments", "profiles-local", ""), &opts).expect("local");
        let remote = run(&spec("s3a://lake/payments/", "s3://lake/profiles", ""), &opts).expect("s3");
        assert_eq!(remote, local, "selection {partition:?}");
        let sql = &remote.checks[5];
        assert_eq!(sql.status, Status::Fail);
        assert_eq!(sql.failing_rows, Some(2), "{}", sql.message);
        assert_eq!(sql.examples.len(), 2, "{:?}", sql.examples);
        assert!(sql.examples.contains(&"amount=-3.0 refund_id=NULL status=paid".to_owned()), "{:?}", sql.examples);
    }
    // A passing spec stores its profile in S3; the next partition compares with it.
    let passing = |dataset: &str, profiles: &str| {
        spec(dataset, profiles, "").replace("amount >= 0 AND ", "").replace("refund_id IS NOT NULL", "TRUE")
    };
    let opts = options(dir.path(), &server, &["date=2026-11-19"]);
    assert!(run(&passing("s3://lake/payments", "s3://lake/profiles2"), &opts).expect("day 1").passed);
    let listed = bucket(&server, "s3://lake/profiles2").list().expect("profiles listed");
    let keys: Vec<&str> = listed.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["payments/date=2026-11-19/profile.json"]);
    let opts = options(dir.path(), &server, &["date=2026-11-20"]);
    let day2 = run(&passing("s3://lake/payments", "s3://lake/profiles2"), &opts).expect("day 2");
    assert_eq!(day2.checks[1].message, "40 rows vs 40 in the previous run (date=2026-11-19): +0.0%");
    assert!(day2.checks[4].message.starts_with("PSI "), "{}", day2.checks[4].message);
}

#[test]
fn csv_and_json_lines_objects_are_read_like_local_files() {
    let server = start();
    server.create_bucket("text").expect("bucket");
    let files = vec![
        ("csv/d=1/a.csv".to_owned(), b"id,fare\n1,2.5\n2,\n3,-1\n".to_vec()),
        ("json/d=1/a.jsonl".to_owned(), b"{\"id\":1,\"fare\":2.5}\n{\"id\":2}\n{\"id\":3,\"fare\":-1}\n".to_vec()),
    ];
    upload(&bucket(&server, "s3://text"), &files);
    let dir = tempfile::tempdir().expect("tempdir");
    write_local(dir.path(), &files);
    for (folder, format) in [("csv", "csv"), ("json", "json")] {
        let text = |path: &str| {
            format!(
                "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: t}}\n\
                 dataset: {{path: '{path}', format: {format}, partitioning: hive}}\nchecks:\n\
                 \x20 - name: fare\n    sql: \"fare >= 0\"\n  - name: known\n    notNull: {{column: fare}}\n"
            )
        };
        let opts = options(dir.path(), &server, &["d=1"]);
        let local = run(&text(folder), &opts).expect("local");
        let remote = run(&text(&format!("s3://text/{folder}")), &opts).expect("remote");
        assert_eq!(remote, local, "{format}");
        assert_eq!(remote.checks[0].message, "1 of 3 rows fail `fare >= 0` (33.33%)");
    }
}

#[test]
fn a_missing_dataset_and_a_corrupt_object_are_named() {
    let server = start();
    server.create_bucket("lake").expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = options(dir.path(), &server, &[]);
    let err = run(&spec("s3://lake/nothing-here", "p", ""), &opts).expect_err("missing");
    assert_eq!(err.to_string(), "dataset s3://lake/nothing-here not found: no object or prefix with that name");
    assert_eq!(err.category(), Category::Invalid);

    let store = bucket(&server, "s3://lake/t");
    upload(&store, &dataset_files());
    store.put("date=2026-11-20/part-1.parquet", b"PAR1 not parquet at all PAR1".to_vec()).expect("put");
    let err = run(&spec("s3://lake/t", "p", ""), &opts).expect_err("corrupt");
    match &err {
        DqError::Corrupt { path, .. } => assert_eq!(path, "s3://lake/t/date=2026-11-20/part-1.parquet"),
        other => panic!("expected a corrupt object, got {other:?}"),
    }
    assert_eq!(err.category(), Category::Failed);
}

fn keys(store: &Store) -> Vec<(String, u64)> {
    store.list().map(|l| l.into_iter().map(|e| (e.key, e.size)).collect()).unwrap_or_default()
}

#[test]
fn quarantine_copies_moves_and_extracts_rows_in_s3() {
    let server = start();
    server.create_bucket("lake").expect("bucket");
    server.create_bucket("quarantine").expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let files = dataset_files();
    let data_keys = |store: &Store| -> Vec<(String, u64)> {
        keys(store).into_iter().filter(|(k, _)| k.ends_with(".parquet") && !k.contains("/.")).collect()
    };
    for (i, mode) in ["copy-partition", "move-partition", "failing-rows"].iter().enumerate() {
        let source = bucket(&server, &format!("s3://lake/run{i}"));
        upload(&source, &files);
        let before = data_keys(&source);
        let quarantine = format!("quarantine: {{mode: {mode}, location: 's3://quarantine/dq'}}\n");
        let opts = options(dir.path(), &server, &["date=2026-11-20"]);
        let report = run(&spec(&format!("s3://lake/run{i}"), "p", &quarantine), &opts).expect("run");
        assert!(!report.passed);
        let target = bucket(&server, "s3://quarantine/dq/payments/date=2026-11-20");
        let day2: Vec<(String, u64)> =
            before.iter().filter(|(k, _)| k.starts_with("date=2026-11-20")).cloned().collect();
        match *mode {
            "copy-partition" => {
                assert_eq!(data_keys(&source), before, "a copy leaves the source alone");
                assert_eq!(keys(&target), day2);
                assert_eq!(
                    report.quarantine.as_deref(),
                    Some(
                        format!("copied 1 files ({} bytes) to s3://quarantine/dq/payments/date=2026-11-20", day2[0].1)
                            .as_str()
                    )
                );
            }
            "move-partition" => {
                let day1: Vec<(String, u64)> =
                    before.iter().filter(|(k, _)| k.starts_with("date=2026-11-19")).cloned().collect();
                assert_eq!(data_keys(&source), day1, "only the checked partition moved");
                assert_eq!(keys(&target), day2, "its copy is complete");
                let note = source.get("date=2026-11-20/_QUARANTINED").expect("note");
                let note = String::from_utf8_lossy(&note);
                assert!(note.contains("moved to: s3://quarantine/dq/payments/date=2026-11-20"), "{note}");
            }
            _ => {
                assert_eq!(data_keys(&source), before);
                let written = keys(&target);
                assert_eq!(written.len(), 1, "{written:?}");
                assert_eq!(written[0].0, "date=2026-11-20/part-0.failing.parquet");
                // The failing rows are a dataset of their own: exactly the two rows the SQL check rejects.
                let count = "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {name: q}\n\
                             dataset: {path: 's3://quarantine/dq/payments'}\nchecks:\n\
                             \x20 - name: rows\n    rowCount: {min: 2, max: 2}\n";
                let opts = options(dir.path(), &server, &[]);
                assert!(run(count, &opts).expect("read failing rows").passed);
                let _ = target.delete("date=2026-11-20/part-0.failing.parquet");
            }
        }
        for (key, _) in keys(&target) {
            let _ = target.delete(&key);
        }
    }
}

/// SeaweedFS creates a bucket on the first PUT into it, so a missing bucket
/// is not a fault it can show; a quarantine folder that cannot be created
/// (a file stands where its folder must go) is.
#[test]
fn a_quarantine_that_cannot_be_written_leaves_the_s3_source_intact() {
    let server = start();
    server.create_bucket("lake").expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("blocked")).expect("mkdir");
    std::fs::write(dir.path().join("blocked/payments"), b"in the way").expect("file");
    let source = bucket(&server, "s3://lake/t");
    upload(&source, &dataset_files());
    let before = keys(&source);
    let quarantine = "quarantine: {mode: move-partition, location: blocked}\n";
    let err = run(&spec("s3://lake/t", "p", quarantine), &options(dir.path(), &server, &[])).expect_err("fails");
    let text = err.to_string();
    let shown = dir.path().join("blocked/payments/all").display().to_string();
    assert!(
        text.starts_with(&format!(
            "quarantine stopped after copying 0 of 2 files to {shown}; nothing was removed from the source: "
        )),
        "{text}"
    );
    assert!(!text.contains(SECRET_KEY), "{text}");
    assert_eq!(err.category(), Category::Invalid, "{text}");
    assert_eq!(keys(&source), before, "the source is intact, no note written");
    assert!(matches!(err, DqError::Quarantine { .. }), "{err:?}");
}

#[test]
fn a_local_dataset_quarantines_to_s3_and_back() {
    let server = start();
    server.create_bucket("held").expect("bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    write_local(&dir.path().join("payments"), &dataset_files());
    let quarantine = "quarantine: {mode: copy-partition, location: 's3://held/x'}\n";
    let report =
        run(&spec("payments", "p", quarantine), &options(dir.path(), &server, &["date=2026-11-20"])).expect("run");
    assert!(!report.passed);
    let copied = keys(&bucket(&server, "s3://held/x/payments/date=2026-11-20"));
    let size = std::fs::metadata(dir.path().join("payments/date=2026-11-20/part-0.parquet")).expect("meta").len();
    assert_eq!(copied, [("date=2026-11-20/part-0.parquet".to_owned(), size)]);
}
