//! Every check passing and failing on Parquet written by arrow-rs, plus CSV,
//! JSON lines, empty and corrupt datasets, schema changes across partitions,
//! profiles (row-count change, drift), statistics pruning and quarantine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use sparkplane_documents::Source;
use sparkplane_dq::dataset::parse_selection;
use sparkplane_dq::{CheckOptions, DqError, DqReport, Status};

const NOW: f64 = 1_795_000_000.0;

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>, row_group_rows: Option<usize>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    let mut props = WriterProperties::builder();
    if let Some(rows) = row_group_rows {
        props = props.set_max_row_group_row_count(Some(rows));
    }
    let file = std::fs::File::create(path).expect("create");
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props.build())).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

fn strs(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn f64s(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

fn i64s(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

/// A small clean dataset: 6 rows in two hive partitions.
fn good_dataset(root: &Path) {
    let ts = |s: i64| Some((NOW as i64 - s) * 1_000_000);
    for (day, ids, fares, zones, ages) in [
        (
            "2026-11-19",
            [1i64, 2, 3],
            [Some(10.0), Some(12.5), Some(7.0)],
            ["north", "harbor", "north"],
            [7200, 7000, 6000],
        ),
        (
            "2026-11-20",
            [4, 5, 6],
            [Some(8.0), Some(30.0), Some(11.0)],
            ["airport", "north", "midtown"],
            [3600, 600, 60],
        ),
    ] {
        write_parquet(
            &root.join(format!("date={day}/part-0.parquet")),
            vec![
                ("trip_id", i64s(&ids)),
                ("fare", f64s(&fares)),
                ("zone", strs(&zones.map(Some))),
                ("code", strs(&ids.map(|i| if i == 5 { Some("T-005") } else { Some("T-00X") }).map(|s| s))),
                ("ts", Arc::new(TimestampMicrosecondArray::from(ages.map(ts).to_vec())) as ArrayRef),
            ],
            None,
        );
    }
}

fn spec_text(dataset: &str, extra: &str, checks: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: t}}\n\
         dataset: {{path: {dataset}, partitioning: hive{extra}}}\nchecks:\n{checks}"
    )
}

fn options(base: &Path) -> CheckOptions {
    CheckOptions {
        base_dir: base.to_owned(),
        selection: Default::default(),
        threads: 2,
        now_secs: NOW,
        write_profile: true,
        quarantine: true,
        storage_options: Vec::new(),
    }
}

fn run_text(base: &Path, text: &str) -> Result<DqReport, DqError> {
    let loaded = sparkplane_dq::load_spec(&Source::new("dq.yaml", text.to_owned()))
        .map_err(|d| DqError::Selection(d.0.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; ")))?;
    sparkplane_dq::check(&loaded.spec, &options(base))
}

fn one(base: &Path, check: &str) -> sparkplane_dq::CheckResult {
    let text = spec_text("data", "", &format!("  - name: c\n{check}"));
    let report = run_text(base, &text).unwrap_or_else(|e| panic!("{e}"));
    report.checks.into_iter().next().expect("one check")
}

#[test]
fn every_check_passes_and_fails_on_arrow_written_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_dataset(&dir.path().join("data"));
    // (check, expected status, a fragment the message must contain)
    let cases: &[(&str, Status, &str)] = &[
        ("    rowCount: {min: 6, max: 6}\n", Status::Pass, "6 rows"),
        ("    rowCount: {min: 7}\n", Status::Fail, "6 rows; expected at least 7"),
        (
            "    schema: {columns: {trip_id: long, fare: double, zone: string, code: string, ts: timestamp, date: date}}\n",
            Status::Pass,
            "6 expected columns",
        ),
        ("    schema: {columns: {trip_id: long}}\n", Status::Pass, "note: unexpected column `code`"),
        (
            "    schema: {columns: {trip_id: int}, unexpectedColumns: ignore}\n",
            Status::Fail,
            "`trip_id` is long, expected int",
        ),
        (
            "    schema: {columns: {trip_id: long}, unexpectedColumns: error}\n",
            Status::Fail,
            "unexpected column `code`",
        ),
        ("    notNull: {column: fare}\n", Status::Pass, "0 nulls in 6 rows"),
        ("    notNull: {column: nope}\n", Status::Fail, "column `nope` not found"),
        ("    unique: {columns: [trip_id]}\n", Status::Pass, "6 distinct keys in 6 rows (exact)"),
        ("    unique: {columns: [zone]}\n", Status::Fail, "2 duplicate keys in 6 rows (exact)"),
        ("    unique: {columns: [zone, trip_id]}\n", Status::Pass, "6 distinct keys"),
        (
            "    acceptedValues: {column: zone, values: [north, harbor, airport, midtown]}\n",
            Status::Pass,
            "all 6 values",
        ),
        (
            "    acceptedValues: {column: zone, values: [north, harbor]}\n",
            Status::Fail,
            "2 of 6 values are not accepted",
        ),
        ("    acceptedValues: {column: date, values: ['2026-11-19', '2026-11-20']}\n", Status::Pass, "all 6"),
        ("    range: {column: fare, min: 0, max: 100}\n", Status::Pass, "observed 7..30"),
        ("    range: {column: fare, max: 20}\n", Status::Fail, "1 of 6 values are out of range"),
        ("    range: {column: zone, min: 0}\n", Status::Fail, "column `zone` is not numeric"),
        ("    regex: {column: code, pattern: 'T-00[0-9X]'}\n", Status::Pass, "all 6 values"),
        ("    regex: {column: code, pattern: 'T-00X'}\n", Status::Fail, "1 of 6 values do not match"),
        ("    freshness: {column: ts, maxAge: 2m}\n", Status::Pass, "newest value is 1m old"),
        ("    freshness: {column: ts, maxAge: 30s}\n", Status::Fail, "newest value is 1m old; allowed 30s"),
    ];
    for (check, status, fragment) in cases {
        let result = one(dir.path(), check);
        assert_eq!(result.status, *status, "{check}: {}", result.message);
        assert!(result.message.contains(fragment), "{check}: {:?} lacks {fragment:?}", result.message);
    }
    let failing = one(dir.path(), "    acceptedValues: {column: zone, values: [north, harbor]}\n");
    assert_eq!(failing.examples, vec!["airport", "midtown"]);
    assert_eq!(failing.failing_rows, Some(2));
}

#[test]
fn null_fractions_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet(
        &dir.path().join("data/a.parquet"),
        vec![("x", f64s(&[Some(1.0), None, Some(3.0), Some(4.0)]))],
        None,
    );
    let pass = one(dir.path(), "    notNull: {column: x, maxFraction: 0.25}\n");
    assert_eq!(pass.status, Status::Pass, "{}", pass.message);
    let fail = one(dir.path(), "    notNull: {column: x, maxFraction: 0.2}\n");
    assert_eq!(fail.status, Status::Fail);
    assert_eq!(fail.message, "1 of 4 rows are null (25.00%); allowed 20.00%");
}

#[test]
fn referential_integrity_against_another_dataset() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet(
        &dir.path().join("data/a.parquet"),
        vec![("zone", strs(&[Some("n"), Some("s"), Some("x"), None]))],
        None,
    );
    write_parquet(&dir.path().join("zones/z.parquet"), vec![("name", strs(&[Some("n"), Some("s")]))], None);
    let fail = one(dir.path(), "    referentialIntegrity: {column: zone, dataset: {path: zones}, refColumn: name}\n");
    assert_eq!(fail.status, Status::Fail);
    assert_eq!(fail.message, "1 of 3 values are not in the referenced dataset");
    assert_eq!(fail.examples, vec!["x"]);
    let missing = one(dir.path(), "    referentialIntegrity: {column: zone, dataset: {path: zones}}\n");
    assert!(missing.message.starts_with("column `zone` not found in"), "{}", missing.message);
}

#[test]
fn a_partition_selection_reads_only_that_partition() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_dataset(&dir.path().join("data"));
    let text = spec_text("data", "", "  - name: rows\n    rowCount: {min: 1}\n");
    let loaded = sparkplane_dq::load_spec(&Source::new("dq.yaml", text)).expect("spec");
    let mut opts = options(dir.path());
    opts.selection = parse_selection(&["date=2026-11-20".to_owned()]).expect("selection");
    let report = sparkplane_dq::check(&loaded.spec, &opts).expect("check");
    assert_eq!((report.rows, report.files, report.selection.as_str()), (3, 1, "date=2026-11-20"));
    opts.selection = parse_selection(&["day=1".to_owned()]).expect("selection");
    let err = sparkplane_dq::check(&loaded.spec, &opts).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("partition key `day` is not in the dataset (keys: date)"));
}

#[test]
fn csv_and_json_lines_datasets() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("csv")).expect("mkdir");
    std::fs::write(dir.path().join("csv/a.csv"), "id,fare\n1,2.5\n2,\n3,-1\n").expect("csv");
    std::fs::create_dir_all(dir.path().join("json")).expect("mkdir");
    std::fs::write(dir.path().join("json/a.jsonl"), "{\"id\":1,\"zone\":\"n\"}\n{\"id\":1,\"zone\":\"q\"}\n")
        .expect("json");
    let csv = run_text(
        dir.path(),
        &spec_text(
            "csv",
            ", format: csv",
            "  - name: nn\n    notNull: {column: fare}\n  - name: r\n    range: {column: fare, min: 0}\n",
        ),
    )
    .expect("csv run");
    assert_eq!(csv.rows, 3);
    assert_eq!(csv.checks[0].message, "1 of 3 rows are null (33.33%); allowed 0.00%");
    assert_eq!(csv.checks[1].failing_rows, Some(1));
    let json = run_text(
        dir.path(),
        &spec_text(
            "json",
            ", format: json",
            "  - name: u\n    unique: {columns: [id]}\n  - name: z\n    regex: {column: zone, pattern: '[a-p]'}\n",
        ),
    )
    .expect("json run");
    assert_eq!(json.checks[0].message, "1 duplicate keys in 2 rows (exact)");
    assert_eq!(json.checks[1].examples, vec!["q"]);
}

#[test]
fn an_empty_dataset_has_no_rows_and_fails_only_row_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("data/date=2026-11-20")).expect("mkdir");
    std::fs::write(dir.path().join("data/_SUCCESS"), "").expect("marker");
    let report = run_text(
        dir.path(),
        &spec_text(
            "data",
            "",
            "  - name: rows\n    rowCount: {min: 1}\n  - name: grew\n    rowCountChange: {maxPercent: 10}\n",
        ),
    )
    .expect("run");
    assert_eq!((report.rows, report.files), (0, 0));
    assert_eq!(report.checks[0].message, "0 rows; expected at least 1");
    assert_eq!(report.checks[1].status, Status::Pass);
    assert!(!report.passed);
}

#[test]
fn a_corrupt_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    good_dataset(&dir.path().join("data"));
    let bad = dir.path().join("data/date=2026-11-20/part-1.parquet");
    std::fs::write(&bad, b"PAR1 this is not parquet").expect("write");
    let err = run_text(dir.path(), &spec_text("data", "", "  - name: rows\n    rowCount: {min: 1}\n"));
    match err {
        Err(DqError::Corrupt { path, .. }) => assert_eq!(path, bad.display().to_string()),
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
    // Truncated: a real file cut in half.
    let good = dir.path().join("data/date=2026-11-19/part-0.parquet");
    let bytes = std::fs::read(&good).expect("read");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).expect("write");
    let err = run_text(dir.path(), &spec_text("data", "", "  - name: rows\n    rowCount: {min: 1}\n")).err();
    assert!(matches!(&err, Some(DqError::Corrupt { path, .. }) if *path == bad.display().to_string()), "{err:?}");
}

#[test]
fn a_schema_change_across_partitions_is_reported_with_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet(&dir.path().join("data/d=1/a.parquet"), vec![("fare", f64s(&[Some(1.5)])), ("id", i64s(&[1]))], None);
    write_parquet(
        &dir.path().join("data/d=2/b.parquet"),
        vec![("fare", Arc::new(Int32Array::from(vec![2])) as ArrayRef), ("id", i64s(&[2])), ("extra", i64s(&[0]))],
        None,
    );
    let report = run_text(
        dir.path(),
        &spec_text(
            "data",
            "",
            "  - name: s\n    schema: {columns: {fare: double, id: long}}\n  - name: r\n    range: {column: fare, min: 0}\n  - name: u\n    unique: {columns: [id]}\n",
        ),
    )
    .expect("run");
    assert_eq!(
        report.checks[0].message,
        "`fare` changes type across files: double in d=1/a.parquet, int in d=2/b.parquet; unexpected column `extra`"
    );
    // The other checks still read both files' values.
    assert_eq!(report.checks[1].message, "all 2 values are in range; observed 1.5000..2");
    assert_eq!(report.checks[2].message, "2 distinct keys in 2 rows (exact)");
}

#[test]
fn profiles_give_row_count_change_and_drift_a_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let checks = "  - name: change\n    rowCountChange: {maxPercent: 30}\n  - name: drift\n    drift: {column: v, maxPsi: 0.2}\n";
    let text = spec_text("data", "", checks);
    let values = |n: usize, shift: f64| f64s(&(0..n).map(|i| Some((i % 100) as f64 + shift)).collect::<Vec<_>>());
    write_parquet(&dir.path().join("data/a.parquet"), vec![("v", values(1000, 0.0))], None);
    let first = run_text(dir.path(), &text).expect("first");
    assert!(first.checks.iter().all(|c| c.message.starts_with("no baseline")), "{:?}", first.checks);
    let profile = dir.path().join(".sparkplane/dq/t/all/profile.json");
    assert!(profile.is_file());

    // Same data again: no change, PSI ~0.
    let second = run_text(dir.path(), &text).expect("second");
    assert!(second.passed, "{:?}", second.checks);
    assert_eq!(second.checks[0].observed, Some(0.0));

    // 50% more rows, shifted values: both fail, and the failing run's profile is not stored.
    write_parquet(&dir.path().join("data/a.parquet"), vec![("v", values(1500, 60.0))], None);
    let before = std::fs::read_to_string(&profile).expect("profile");
    let third = run_text(dir.path(), &text).expect("third");
    assert_eq!(third.checks[0].message, "1500 rows vs 1000 in the previous run (all): +50.0%; allowed ±30%");
    assert_eq!(third.checks[1].status, Status::Fail);
    assert!(third.checks[1].observed.unwrap_or(0.0) > 1.0);
    assert_eq!(std::fs::read_to_string(&profile).expect("profile"), before);
}

#[test]
fn a_partition_run_uses_the_previous_partition_as_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_parquet(&dir.path().join("data/date=2026-11-19/a.parquet"), vec![("v", i64s(&[1, 2, 3, 4]))], None);
    write_parquet(&dir.path().join("data/date=2026-11-20/a.parquet"), vec![("v", i64s(&[1]))], None);
    let text = spec_text("data", "", "  - name: change\n    rowCountChange: {maxPercent: 50}\n");
    let loaded = sparkplane_dq::load_spec(&Source::new("dq.yaml", text)).expect("spec");
    let mut opts = options(dir.path());
    opts.selection = parse_selection(&["date=2026-11-19".to_owned()]).expect("sel");
    assert!(sparkplane_dq::check(&loaded.spec, &opts).expect("day 1").passed);
    opts.selection = parse_selection(&["date=2026-11-20".to_owned()]).expect("sel");
    let day2 = sparkplane_dq::check(&loaded.spec, &opts).expect("day 2");
    assert_eq!(day2.checks[0].message, "1 rows vs 4 in the previous run (date=2026-11-19): -75.0%; allowed ±50%");
}

#[test]
fn row_group_statistics_answer_proven_range_and_not_null_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 10_000;
    write_parquet(
        &dir.path().join("data/a.parquet"),
        vec![("v", f64s(&(0..n).map(|i| Some(i as f64)).collect::<Vec<_>>()))],
        Some(1000),
    );
    let text = spec_text(
        "data",
        "",
        "  - name: r\n    range: {column: v, min: 0, max: 9998.5}\n  - name: nn\n    notNull: {column: v}\n",
    );
    let report = run_text(dir.path(), &text).expect("run");
    // Nine of ten row groups are proven by their statistics; the last holds 9999 and is decoded.
    assert_eq!(report.row_groups_pruned, 9);
    assert_eq!(report.rows, 10_000);
    assert_eq!(report.checks[0].failing_rows, Some(1));
    assert_eq!(report.checks[0].examples, vec!["9999"]);
    assert_eq!(report.checks[1].message, "0 nulls in 10000 rows (0.00%)");
}

#[test]
fn uniqueness_turns_approximate_above_its_bound_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ids: Vec<i64> = (0..20_000).collect();
    write_parquet(&dir.path().join("data/a.parquet"), vec![("id", i64s(&ids))], None);
    let result = one(dir.path(), "    unique: {columns: [id], approximateAbove: 1000}\n");
    assert_eq!(result.status, Status::Pass, "{}", result.message);
    assert!(result.message.contains("approximate (HyperLogLog"), "{}", result.message);
}

fn failing_spec(mode: &str) -> String {
    spec_text(
        "data",
        "",
        &format!("  - name: r\n    range: {{column: fare, max: 20}}\nquarantine: {{mode: {mode}, location: q}}\n"),
    )
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(root).map(Path::to_path_buf).unwrap_or(path));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn quarantine_copies_moves_or_extracts_and_loses_nothing() {
    for mode in ["copy-partition", "move-partition", "failing-rows"] {
        let dir = tempfile::tempdir().expect("tempdir");
        good_dataset(&dir.path().join("data"));
        let before = files_under(&dir.path().join("data"));
        let report = run_text(dir.path(), &failing_spec(mode)).expect("run");
        assert!(!report.passed);
        let after = files_under(&dir.path().join("data"));
        let quarantined = files_under(&dir.path().join("q/t/all"));
        match mode {
            "copy-partition" => {
                assert_eq!(after, before);
                assert_eq!(quarantined, before);
            }
            "move-partition" => {
                assert_eq!(quarantined, before, "every file has its copy");
                let notes =
                    vec![PathBuf::from("date=2026-11-19/_QUARANTINED"), PathBuf::from("date=2026-11-20/_QUARANTINED")];
                assert_eq!(after, notes, "the sources moved; a note in each partition folder says where");
                let note = std::fs::read_to_string(dir.path().join("data/date=2026-11-20/_QUARANTINED")).expect("note");
                assert!(note.contains("failed: r") && note.contains("q/t/all"), "{note}");
            }
            _ => {
                assert_eq!(after, before);
                assert_eq!(quarantined, vec![PathBuf::from("date=2026-11-20/part-0.failing.parquet")]);
                let bad = run_text(
                    &dir.path().join("q/t"),
                    &spec_text("all", "", "  - name: rows\n    rowCount: {min: 1, max: 1}\n"),
                )
                .expect("read quarantine");
                assert!(bad.passed, "exactly the one failing row: {:?}", bad.checks);
            }
        }
        assert!(report.quarantine.is_some());
    }
}
