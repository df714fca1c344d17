//! `sparkplane cost --parquet FILE` through the real binary: the file read back
//! with the parquet crate holds the same rows as the JSON report, in typed
//! columns; a file that cannot be written is exit 2 with nothing left behind.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// Real Spark 3.5.9 logs: one succeeded, one failed, one killed while running (no end).
fn logs() -> String {
    repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9").display().to_string()
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let mut cmd = sparkplane_testkit::sparkplane();
    let out = cmd.current_dir(repo()).env("NO_COLOR", "1").args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn read_parquet(path: &Path) -> RecordBatch {
    let file = File::open(path).expect("the Parquet file exists");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).expect("valid Parquet").build().expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
    assert_eq!(batches.len(), 1);
    batches.into_iter().next().expect("one batch")
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> &'a T {
    batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_any().downcast_ref::<T>().expect(name)
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

#[test]
fn parquet_rows_match_the_json_report_in_typed_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("costs.parquet");
    // Something old in its place: replaced whole.
    std::fs::write(&target, b"stale").unwrap();
    let r = run(&["cost", &logs(), "--by", "app", "-o", "json", "--parquet", target.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("wrote 3 row(s) to {}", target.display())), "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    let rows = report["rows"].as_array().expect("rows");

    let batch = read_parquet(&target);
    let types: Vec<(String, DataType, bool)> =
        batch.schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable())).collect();
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let expected = [
        ("group_by", DataType::Utf8, false),
        ("key", DataType::Utf8, false),
        ("apps", DataType::UInt64, false),
        ("core_hours", DataType::Float64, false),
        ("gib_hours", DataType::Float64, false),
        ("gpu_hours", DataType::Float64, false),
        ("cost_usd", DataType::Float64, false),
        ("share", DataType::Float64, false),
        ("first_start", utc.clone(), true),
        ("last_end", utc, true),
    ];
    let expected: Vec<(String, DataType, bool)> = expected.into_iter().map(|(n, t, o)| (n.to_owned(), t, o)).collect();
    assert_eq!(types, expected);
    assert_eq!(batch.num_rows(), rows.len());
    assert_eq!(batch.num_rows(), 3);

    let (group_by, key) = (column::<StringArray>(&batch, "group_by"), column::<StringArray>(&batch, "key"));
    let apps = column::<UInt64Array>(&batch, "apps");
    let [core, gib, gpu, cost, share] =
        ["core_hours", "gib_hours", "gpu_hours", "cost_usd", "share"].map(|n| column::<Float64Array>(&batch, n));
    let (start, end) = (
        column::<TimestampMillisecondArray>(&batch, "first_start"),
        column::<TimestampMillisecondArray>(&batch, "last_end"),
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(group_by.value(i), "app");
        assert_eq!(key.value(i), row["key"].as_str().unwrap(), "row {i}: same order as the JSON");
        assert_eq!(apps.value(i), row["apps"].as_u64().unwrap());
        assert_eq!(core.value(i), row["coreHours"].as_f64().unwrap(), "row {i}");
        assert_eq!(gib.value(i), row["gibHours"].as_f64().unwrap(), "row {i}");
        assert_eq!(gpu.value(i), row["gpuHours"].as_f64().unwrap(), "row {i}");
        // JSON shows dollars to the cent and shares to four places; Parquet keeps full precision.
        assert_eq!(round(cost.value(i), 2), row["cost"].as_f64().unwrap(), "row {i}");
        assert_eq!(round(share.value(i), 4), row["share"].as_f64().unwrap(), "row {i}");
        // Spark's local app ids are a clock reading taken within seconds of the application's start.
        let id_ms: i64 = key.value(i).trim_start_matches("local-").parse().expect("a local app id");
        let near = id_ms - 10_000..id_ms + 10_000;
        assert!(near.contains(&start.value(i)), "row {i}: start {} vs id {id_ms}", start.value(i));
        if key.value(i) == "local-1795265065682" {
            assert!(end.is_null(i), "the killed application never ended");
        } else {
            assert!(end.value(i) > start.value(i), "row {i}");
        }
    }
    let total: f64 = (0..batch.num_rows()).map(|i| cost.value(i)).sum();
    assert_eq!(round(total, 2), report["totalCost"].as_f64().unwrap());
}

#[test]
fn grouped_rows_span_their_applications() {
    let dir = tempfile::tempdir().expect("tempdir");
    let by_app = dir.path().join("apps.parquet");
    let by_team = dir.path().join("teams.parquet");
    assert_eq!(run(&["cost", &logs(), "--by", "app", "-q", "--parquet", by_app.to_str().unwrap()]).code, Some(0));
    let r = run(&["cost", &logs(), "--by", "team", "--csv", "--parquet", by_team.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.starts_with("key,apps,"), "CSV still goes to stdout: {}", r.stdout);
    let (apps, teams) = (read_parquet(&by_app), read_parquet(&by_team));
    assert_eq!(column::<StringArray>(&teams, "group_by").value(0), "team");
    let team_apps: u64 = column::<UInt64Array>(&teams, "apps").values().iter().sum();
    assert_eq!(team_apps, 3);
    // The earliest start over the teams is the earliest over the applications.
    let earliest =
        |batch: &RecordBatch| column::<TimestampMillisecondArray>(batch, "first_start").iter().flatten().min();
    assert_eq!(earliest(&teams), earliest(&apps));
    assert!(earliest(&apps).is_some());
}

#[test]
fn an_unwritable_target_is_exit_2_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-dir/costs.parquet");
    let r = run(&["cost", &logs(), "--parquet", missing.to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().filter(|l| !l.starts_with("warning:")).collect::<Vec<_>>(),
        [
            format!(
                "error: --parquet: cannot write {}: No such file or directory (os error 2); nothing was written",
                missing.display()
            )
            .as_str(),
            "  help: give --parquet a file path in an existing, writable directory",
        ]
    );
    assert_eq!(r.stdout, "", "no report is printed when its file cannot be written");
    assert!(!dir.path().join("no-such-dir").exists());

    // A directory where the file should go: the rename fails, the temporary file is removed.
    let occupied = dir.path().join("costs.parquet");
    std::fs::create_dir(&occupied).unwrap();
    let r = run(&["cost", &logs(), "--parquet", occupied.to_str().unwrap()]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("error: --parquet: cannot write {}: ", occupied.display())), "{}", r.stderr);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["costs.parquet"], "only the directory that was there");
    assert_eq!(std::fs::read_dir(&occupied).unwrap().count(), 0);
}
