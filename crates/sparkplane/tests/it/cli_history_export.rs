//! `sparkplane history export` through the real binary, read back by real Spark
//! SQL (the managed 4.1 runtime, started once): the repository's event-log
//! test data and logs a Spark job of this test writes, exported to a folder;
//! rows per table equal the model's, per-team cost by day equals `sparkplane
//! cost`'s to the cent, the Spark SQL examples of docs/history-export.md run
//! and answer as expected, a rerun changes no file, and a run killed
//! mid-export leaves only complete files that the next run completes. Also: the
//! same export to S3 (SeaweedFS) writes the same bytes, and an unwritable
//! folder or unreachable store is exit 3 naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use sparkplane_eventlog::LogSource;
use sparkplane_storage::{Location, Store};
use sparkplane_testkit::S3Server;
use sparkplane_testkit::s3::{ACCESS_KEY, SECRET_KEY};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn spark_suite_logs() -> PathBuf {
    repo().join("crates/sparkplane-history/tests/data/spark-history/spark-events")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(repo()).args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `history export -o json` (and `--price-sheet` when given) and returns its report.
fn export(from: &Path, to: &str, sheet: Option<&Path>, env: &[(&str, &str)]) -> (Value, String) {
    let (from, mut args) = (from.display().to_string(), vec!["history", "export", "-o", "json"]);
    args.extend(["--from", from.as_str(), "--to", to]);
    let sheet = sheet.map(|s| s.display().to_string());
    if let Some(sheet) = &sheet {
        args.extend(["--price-sheet", sheet.as_str()]);
    }
    let r = run(&args, env);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    (serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON report ({e}): {}", r.stdout)), r.stderr)
}

/// The managed Spark 4.1 runtime's Python (PySpark).
fn spark_python() -> PathBuf {
    sparkplane_testkit::history::runtime_path("4.1", "python")
        .unwrap_or_else(|e| panic!("{e} (scripts/test.sh's need_runtime installs it, need_java installs Java 17)"))
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("mkdir");
        for entry in fs::read_dir(from).expect("read dir").flatten() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// Every value of a JSON event within a day of `start` (a time, not a
/// duration or a count) moved to `new_start + (t - start) * factor`.
fn shift_times(value: &mut Value, start: i64, new_start: i64, factor: f64) {
    match value {
        Value::Number(n) => {
            if let Some(t) = n.as_i64().filter(|t| (t - start).abs() < 86_400_000) {
                *value = json!(new_start + ((t - start) as f64 * factor).round() as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_times(v, start, new_start, factor)),
        Value::Object(map) => map.values_mut().for_each(|v| shift_times(v, start, new_start, factor)),
        _ => {}
    }
}

/// A copy of an uncompressed Spark log as if the application had started at
/// `new_start` and run `factor` times as long; its id is `local-<new_start>`.
fn shifted_copy(log: &Path, dir: &Path, new_start: i64, factor: f64) -> String {
    let text = fs::read_to_string(log).expect("log");
    let old_id = log.file_name().expect("name").to_string_lossy().into_owned();
    let start_line = text.lines().find(|l| l.contains("\"SparkListenerApplicationStart\"")).expect("app start");
    let start = serde_json::from_str::<Value>(start_line).expect("json")["Timestamp"].as_i64().expect("start");
    let new_id = format!("local-{new_start}");
    let mut out = String::new();
    for line in text.replace(&old_id, &new_id).lines() {
        let mut event: Value = serde_json::from_str(line).expect("a JSON event");
        shift_times(&mut event, start, new_start, factor);
        out.push_str(&event.to_string());
        out.push('\n');
    }
    fs::write(dir.join(&new_id), out).expect("write");
    new_id
}

/// Noon UTC on the first day of last month, epoch milliseconds.
fn last_month_ms() -> i64 {
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let first = today.first_of_month().checked_sub(jiff::Span::new().months(1)).expect("date");
    let noon = first.at(12, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).expect("UTC");
    noon.timestamp().as_millisecond()
}

/// The logs exported: Spark's `HistoryServerSuite` logs, sparkplane's event-log
/// fixtures (Spark 3.5.9 and 4.3.0 rolling zstd, codecs, an in-progress one),
/// two runs of a job that spills, by two teams, written now by Spark 4.1, a copy
/// of the payments run moved to last month and made twice as fast, and one file
/// that is not an event log. Returns the payments run's id.
fn write_logs(dir: &Path) -> String {
    copy_tree(&spark_suite_logs(), dir);
    let fixtures = repo().join("crates/sparkplane-eventlog/tests/fixtures");
    for set in ["spark-3.5.9", "spark-4.3.0", "trips-etl", "codecs"] {
        for entry in fs::read_dir(fixtures.join(set)).expect("fixtures").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("eventlog_v2_") || name.starts_with("local-") {
                copy_tree(&entry.path(), &dir.join(&name));
            }
        }
    }
    let fresh = tempfile::tempdir().expect("temp dir");
    let script = repo().join("crates/sparkplane/tests/data/history-export/write_logs.py");
    let out = Command::new(spark_python()).arg(&script).arg(fresh.path()).output().expect("PySpark runs");
    assert!(out.status.success(), "write_logs.py: {}", String::from_utf8_lossy(&out.stderr));
    let mut payments = None;
    for entry in fs::read_dir(fresh.path()).expect("fresh logs").flatten() {
        let text = fs::read_to_string(entry.path()).expect("uncompressed log");
        if text.contains("\"spark.sparkplane.team\":\"payments\"") {
            payments = Some(entry.path());
        }
        copy_tree(&entry.path(), &dir.join(entry.file_name()));
    }
    let payments = payments.expect("the payments run's log");
    shifted_copy(&payments, dir, last_month_ms(), 0.5);
    fs::write(dir.join("not-a-log"), "this is not an event log\n").expect("write");
    payments.file_name().expect("name").to_string_lossy().into_owned()
}

/// Rows per table as the one model counts them: the History Server's own
/// reading of each log (`index::summarize_and_replay`), SQL executions as the
/// summary counts their starts.
fn model_counts(dir: &Path) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for log in LogSource::Local(dir.to_path_buf()).app_logs().expect("lists") {
        let Ok((summary, Some(detail))) = sparkplane_history::index::summarize_and_replay(&log) else { continue };
        if summary.app_id.is_none() || summary.log.events == 0 {
            continue;
        }
        for (table, rows) in [
            ("applications", 1),
            ("jobs", detail.jobs.len() as u64),
            ("stages", detail.stages.len() as u64),
            ("executors", detail.executors.len() as u64),
            ("sql_executions", summary.lineage.sql_executions),
        ] {
            *counts.entry(table.to_owned()).or_default() += rows;
        }
    }
    counts
}

/// Every file below `root` with its size and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("dir").flatten() {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().expect("mtime")));
            }
        }
    }
    out
}

/// The named ```sql blocks of docs/history-export.md (`<!-- query: NAME -->` before each).
fn documented_queries() -> BTreeMap<String, String> {
    let docs = fs::read_to_string(repo().join("docs/history-export.md")).expect("docs");
    let mut queries = BTreeMap::new();
    for part in docs.split("<!-- query: ").skip(1) {
        let (name, rest) = part.split_once(" -->").expect("a named query");
        let sql = rest.split_once("```sql\n").expect("a sql block").1.split_once("```").expect("closed").0;
        queries.insert(name.to_owned(), sql.trim().to_owned());
    }
    queries
}

/// Runs `queries` (name → (export root, SQL)) in one Spark session, each
/// root's five tables registered as views first; rows as JSON objects.
fn spark_sql(queries: &BTreeMap<String, (PathBuf, String)>) -> BTreeMap<String, Vec<Value>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec: BTreeMap<&String, Value> =
        queries.iter().map(|(name, (root, sql))| (name, json!({"root": root, "sql": sql}))).collect();
    fs::write(dir.path().join("queries.json"), serde_json::to_string(&spec).expect("json")).expect("write");
    let script = r#"
import json, os, sys
from pyspark.sql import SparkSession
spec = json.load(open(sys.argv[1]))
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.driver.host", "127.0.0.1").config("spark.sql.session.timeZone", "UTC").getOrCreate())
out = {}
for name, q in spec.items():
    for table in ["applications", "jobs", "stages", "executors", "sql_executions"]:
        if os.path.isdir(q["root"] + "/" + table):
            spark.read.parquet(q["root"] + "/" + table).createOrReplaceTempView(table)
    out[name] = [json.loads(row) for row in spark.sql(q["sql"]).toJSON().collect()]
json.dump(out, open(sys.argv[2], "w"))
"#;
    fs::write(dir.path().join("run.py"), script).expect("write");
    let out = Command::new(spark_python())
        .arg(dir.path().join("run.py"))
        .arg(dir.path().join("queries.json"))
        .arg(dir.path().join("answers.json"))
        .output()
        .expect("PySpark runs");
    assert!(out.status.success(), "Spark SQL failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&fs::read(dir.path().join("answers.json")).expect("answers")).expect("json")
}

fn cents(usd: f64) -> i64 {
    (usd * 100.0).round() as i64
}

/// A price sheet large enough that the test logs' costs run to many cents.
fn price_sheet(dir: &Path) -> PathBuf {
    let path = dir.join("prices.yaml");
    fs::write(&path, "coreHour: 120.0\ngibHour: 7.5\ngpuHour: 0\nspotMultiplier: 1\n").expect("write");
    path
}

/// `cost --by KEY -o json` over `logs`: key → cents.
fn cost_by(logs: &Path, by: &str, sheet: &Path) -> BTreeMap<String, i64> {
    let (logs, sheet) = (logs.display().to_string(), sheet.display().to_string());
    let r = run(&["cost", &logs, "--by", by, "--price-sheet", &sheet, "-o", "json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("json");
    let rows = report["rows"].as_array().expect("rows");
    rows.iter()
        .map(|row| (row["key"].as_str().expect("key").to_owned(), cents(row["cost"].as_f64().expect("cost"))))
        .collect()
}

/// Copies of `many` Spark logs with ids of their own, for the kill test.
fn many_logs(dir: &Path, many: usize) {
    let source = spark_suite_logs().join("local-1422981780767");
    let text = fs::read_to_string(&source).expect("log");
    fs::create_dir_all(dir).expect("mkdir");
    for i in 0..many {
        let id = format!("local-14229817{i:05}");
        fs::write(dir.join(&id), text.replace("local-1422981780767", &id)).expect("write");
    }
}

/// The Parquet files readers see below `root` (hidden and `_` names are not data), each read whole.
fn visible_parquet(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for (path, _) in snapshot(root) {
        let relative = path.strip_prefix(root).expect("below").to_string_lossy().into_owned();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let bytes = fs::read(&path).expect("read");
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path).expect("open"))
            .unwrap_or_else(|e| panic!("{relative} is not a complete Parquet file: {e}"))
            .build()
            .expect("reader");
        for batch in reader {
            batch.unwrap_or_else(|e| panic!("{relative}: {e}"));
        }
        out.insert(relative, bytes);
    }
    out
}

/// Exports `from` to `to` and kills the export once it has saved its manifest
/// with some applications in it; returns how many applications it recorded.
fn export_killed_midway(from: &Path, to: &Path) -> usize {
    let mut child = sparkplane_testkit::sparkplane_process()
        .args(["history", "export", "--from"])
        .arg(from)
        .arg("--to")
        .arg(to)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let manifest = to.join("_sparkplane_export.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let recorded = fs::read_to_string(&manifest).map(|t| t.matches("\"app\":").count()).unwrap_or(0);
        if recorded > 0 {
            child.kill().expect("kill");
            let _ = child.wait();
            let recorded = fs::read_to_string(&manifest).map(|t| t.matches("\"app\":").count()).unwrap_or(0);
            return recorded;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the export ended ({status}) before it could be killed midway: give it more logs");
        }
        assert!(Instant::now() < deadline, "the export saved no manifest entry in 120 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn an_export_read_by_spark_sql_matches_the_model_and_cost_and_a_rerun_writes_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, facts) = (work.path().join("logs"), work.path().join("facts"));
    let payments_id = write_logs(&logs);
    let sheet = price_sheet(work.path());
    let target = facts.display().to_string();

    let (report, stderr) = export(&logs, &target, Some(&sheet), &[]);
    let not_a_log = logs.join("not-a-log").display().to_string();
    assert!(
        stderr.contains(&format!("warning: {not_a_log} was skipped: holds no Spark events")),
        "the malformed log is named: {stderr}"
    );
    assert_eq!(report["skipped"].as_array().map(Vec::len), Some(1), "{report}");
    let model = model_counts(&logs);
    assert_eq!(report["exported"].as_u64(), Some(model["applications"]));

    // A rerun over the same logs writes nothing: same files, same times.
    let before = snapshot(&facts);
    let (again, _) = export(&logs, &target, Some(&sheet), &[]);
    assert_eq!((again["exported"].as_u64(), again["filesWritten"].as_u64()), (Some(0), Some(0)), "{again}");
    assert_eq!(snapshot(&facts), before, "the rerun changed the target");

    // A run killed midway, then finished.
    let many = work.path().join("many");
    many_logs(&many, 400);
    let (partial, finished) = (work.path().join("partial"), work.path().join("clean"));
    let recorded = export_killed_midway(&many, &partial);
    let seen_after_kill = visible_parquet(&partial);
    let apps_after_kill = seen_after_kill.keys().filter(|k| k.starts_with("applications/")).count();
    assert!(recorded > 0 && apps_after_kill < 400, "killed midway: {recorded} recorded, {apps_after_kill} written");

    let mut queries: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    for table in ["applications", "jobs", "stages", "executors", "sql_executions"] {
        queries.insert(format!("count-{table}"), (facts.clone(), format!("SELECT count(*) AS n FROM {table}")));
    }
    queries.insert("killed-apps".into(), (partial.clone(), "SELECT count(*) AS n FROM applications".into()));
    queries.insert(
        "logs-by-day".into(),
        (facts.clone(), "SELECT CAST(date AS STRING) AS date, team, log FROM applications".into()),
    );
    for (name, sql) in documented_queries() {
        queries.insert(name, (facts.clone(), sql));
    }
    let answers = spark_sql(&queries);

    // Rows per table: the model's.
    for table in ["applications", "jobs", "stages", "executors", "sql_executions"] {
        assert_eq!(answers[&format!("count-{table}")][0]["n"].as_u64(), Some(model[table]), "{table}");
        assert_eq!(report["rows"][table].as_u64(), Some(model[table]), "{table}");
    }
    // Readers of the killed run's folder saw whole applications only.
    assert_eq!(answers["killed-apps"][0]["n"].as_u64(), Some(apps_after_kill as u64));

    // The next run finishes it: the same files a run never killed writes.
    let (resumed, _) = export(&many, &partial.display().to_string(), None, &[]);
    assert_eq!(resumed["exported"].as_u64(), Some(400 - recorded as u64), "{resumed}");
    export(&many, &finished.display().to_string(), None, &[]);
    let leftovers: Vec<_> =
        snapshot(&partial).into_keys().filter(|p| p.to_string_lossy().ends_with(".inflight")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert_eq!(visible_parquet(&partial), visible_parquet(&finished));

    check_cost_by_day(&answers["logs-by-day"], &answers["team-cost-by-day"], &logs, &sheet, work.path());
    check_documented_answers(&answers, &logs, &sheet, &payments_id);
}

/// Per team and day, the export's cost equals `sparkplane cost --by team` over that day's logs, to the cent.
fn check_cost_by_day(logs_by_day: &[Value], by_day: &[Value], logs: &Path, sheet: &Path, work: &Path) {
    let mut days: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in logs_by_day {
        let day = row["date"].as_str().unwrap_or("none").to_owned();
        days.entry(day).or_default().push(row["log"].as_str().expect("log").to_owned());
    }
    let mut exported: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for row in by_day {
        let day = row["date"].as_str().unwrap_or("none").to_owned();
        let team = match row["team"].as_str().expect("team") {
            "unknown" => "(unattributed)".to_owned(),
            team => team.to_owned(),
        };
        exported.entry(day).or_default().insert(team, cents(row["usd"].as_f64().expect("usd")));
    }
    assert_eq!(days.keys().collect::<Vec<_>>(), exported.keys().collect::<Vec<_>>());
    assert!(days.len() > 10, "the test data spans many days: {days:?}");
    let mut teams_seen = BTreeSet::new();
    for (day, names) in &days {
        let folder = work.join("days").join(day);
        for name in names {
            let found =
                [name.clone(), format!("{name}.inprogress")].into_iter().map(|n| logs.join(n)).find(|p| p.exists());
            let found = found.unwrap_or_else(|| panic!("no log {name}"));
            copy_tree(&found, &folder.join(found.file_name().expect("name")));
        }
        let cost = cost_by(&folder, "team", sheet);
        assert_eq!(cost, exported[day], "{day}: `cost --by team` (left) against the export (right)");
        teams_seen.extend(cost.into_keys());
    }
    assert!(teams_seen.contains("payments") && teams_seen.contains("search"), "{teams_seen:?}");
}

/// The docs' queries answer what the test logs hold.
fn check_documented_answers(answers: &BTreeMap<String, Vec<Value>>, logs: &Path, sheet: &Path, payments: &str) {
    // Only the payments job got slower: last month's copy ran twice as fast.
    let slower = &answers["slower-this-month"];
    assert_eq!(slower.len(), 1, "{slower:?}");
    assert_eq!((slower[0]["team"].as_str(), slower[0]["job"].as_str()), (Some("payments"), Some("daily-agg")));
    assert_eq!(slower[0]["ratio"].as_f64(), Some(2.0), "{slower:?} ({payments})");

    // The sort of the job spills in all three of its runs.
    let spilling = &answers["stages-spilling-everywhere"];
    let ours: Vec<&Value> =
        spilling.iter().filter(|r| r["name"].as_str().is_some_and(|n| n.contains("write_logs.py"))).collect();
    assert_eq!(ours.len(), 1, "{spilling:?}");
    assert!(ours[0]["name"].as_str().is_some_and(|n| n.starts_with("collect at ")), "{ours:?}");
    assert_eq!((ours[0]["apps"].as_u64(), ours[0]["apps_spilling"].as_u64()), (Some(3), Some(3)));
    assert!(ours[0]["disk_spill_bytes"].as_u64() > Some(0), "{ours:?}");

    // Each cost center's weeks add up to what `cost --by cost-center` says it spent.
    let mut by_center: BTreeMap<String, f64> = BTreeMap::new();
    for row in &answers["cost-center-by-week"] {
        *by_center.entry(row["cost_center"].as_str().expect("center").to_owned()).or_default() +=
            row["usd"].as_f64().expect("usd");
    }
    let weekly: BTreeMap<String, i64> = by_center.into_iter().map(|(k, v)| (k, cents(v))).collect();
    let cost = cost_by(logs, "cost-center", sheet);
    assert_eq!(weekly.keys().collect::<Vec<_>>(), cost.keys().collect::<Vec<_>>());
    for (center, total) in &cost {
        // Weeks are rounded one by one: at most half a cent each away from the total.
        let weeks = answers["cost-center-by-week"].iter().filter(|r| r["cost_center"] == center.as_str()).count();
        assert!((weekly[center] - total).abs() <= weeks as i64 / 2 + 1, "{center}: {} vs {total}", weekly[center]);
    }
    assert!(cost.contains_key("cc-7") && cost.contains_key("cc-9"), "{cost:?}");
}

#[test]
fn an_unwritable_folder_or_unreachable_store_is_exit_3_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("file"), "x").expect("write");
    let target = dir.path().join("file/facts");
    let from = spark_suite_logs().display().to_string();
    let r = run(&["history", "export", "--from", &from, "--to", &target.display().to_string()], &[]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "error: --to: {}: Not a directory (os error 20)",
            target.join("_sparkplane_export.json").display()
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("help: check that it names a folder this user can write"), "{}", r.stderr);
    assert_eq!(r.stdout, "");

    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_REGION", "us-east-1"),
    ];
    let r = run(&["history", "export", "--from", &from, "--to", "s3://facts/fleet"], &env);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(r.stderr.starts_with("error: --to: s3://facts/fleet/_sparkplane_export.json: "), "{}", r.stderr);
    assert!(r.stderr.contains("object storage unreachable"), "{}", r.stderr);
    assert!(!r.stderr.contains(SECRET_KEY), "{}", r.stderr);
}

#[test]
fn an_export_to_s3_writes_the_same_files_and_a_rerun_writes_none() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh's need_seaweedfs): {e}"));
    server.create_bucket("facts").expect("bucket");
    let env = [
        ("AWS_ENDPOINT_URL", server.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_REGION", "us-east-1"),
    ];
    let (report, _) = export(&spark_suite_logs(), "s3://facts/fleet", None, &env);
    assert_eq!(report["exported"].as_u64(), Some(18), "{report}");
    let (again, _) = export(&spark_suite_logs(), "s3://facts/fleet", None, &env);
    assert_eq!((again["unchanged"].as_u64(), again["filesWritten"].as_u64()), (Some(18), Some(0)), "{again}");

    let local = tempfile::tempdir().expect("temp dir");
    export(&spark_suite_logs(), &local.path().display().to_string(), None, &[]);
    let options = [
        ("aws_endpoint", server.endpoint.as_str()),
        ("aws_access_key_id", ACCESS_KEY),
        ("aws_secret_access_key", SECRET_KEY),
    ];
    let store = Store::open_with(&Location::parse("s3://facts/fleet").expect("url"), &options).expect("store");
    let in_s3: BTreeMap<String, Vec<u8>> = store
        .list()
        .expect("lists")
        .into_iter()
        .map(|entry| {
            let bytes = store.get(&entry.key).expect("get").to_vec();
            (entry.key, bytes)
        })
        .collect();
    let on_disk: BTreeMap<String, Vec<u8>> = snapshot(local.path())
        .into_keys()
        .map(|p| {
            (p.strip_prefix(local.path()).expect("below").to_string_lossy().into_owned(), fs::read(&p).expect("read"))
        })
        .collect();
    assert_eq!(in_s3.keys().collect::<Vec<_>>(), on_disk.keys().collect::<Vec<_>>());
    assert!(in_s3 == on_disk, "the same bytes in S3 as on disk");
}

/// Applications the export's manifest lists (saved once their files are all written).
fn exported_apps(root: &Path) -> usize {
    fs::read_to_string(root.join("_sparkplane_export.json")).map(|t| t.matches("\"app\":").count()).unwrap_or(0)
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

#[test]
fn serve_with_export_to_keeps_the_export_up_to_date_and_writes_unchanged_logs_once() {
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, facts) = (work.path().join("logs"), work.path().join("facts"));
    fs::create_dir_all(&logs).expect("mkdir");
    for name in ["local-1422981780767", "local-1425081759269"] {
        fs::copy(spark_suite_logs().join(name), logs.join(name)).expect("copy");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = sparkplane_testkit::sparkplane_process()
        .args(["history", "serve", "--logs"])
        .arg(&logs)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--interval", "1", "--export-to"])
        .arg(&facts)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let _server = sparkplane_testkit::StopOnDrop::new(child);
    wait_for("the first export", Duration::from_secs(60), || exported_apps(&facts) == 2);

    fs::copy(spark_suite_logs().join("local-1430917381534"), logs.join("local-1430917381534")).expect("copy");
    let took = wait_for("the added log's export", Duration::from_secs(10), || exported_apps(&facts) == 3);
    assert!(took < Duration::from_secs(5), "within the 1 s interval and one export: {took:?}");

    // Unchanged logs are not written again, run after run.
    let before = snapshot(&facts);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(snapshot(&facts), before);
}

/// Spark's own test logs, three of them given a team (one also a cost center and spot executors), so
/// every grouping has more than one row.
fn facts_test_logs(dir: &Path) {
    copy_tree(&spark_suite_logs(), dir);
    let properties = [
        ("local-1422981780767", r#""spark.sparkplane.team":"payments","#),
        ("local-1425081759269", r#""spark.sparkplane.team":"ml","spark.sparkplane.costCenter":"cc-7","#),
        (
            "local-1426533911241",
            r#""spark.sparkplane.team":"ml","spark.kubernetes.executor.node.selector.karpenter.sh/capacity-type":"spot","#,
        ),
    ];
    for (log, added) in properties {
        let path = dir.join(log);
        let text = fs::read_to_string(&path).expect("log");
        fs::write(&path, text.replacen("\"Spark Properties\":{", &format!("\"Spark Properties\":{{{added}"), 1))
            .expect("write");
    }
}

/// Overwrites a log (each file of a rolling one) with bytes that are no event log, keeping its size and
/// modification time, so a listing sees it unchanged and a read would find nothing.
fn garble(path: &Path) {
    if path.is_dir() {
        for entry in fs::read_dir(path).expect("read dir").flatten() {
            garble(&entry.path());
        }
        return;
    }
    let modified = fs::metadata(path).and_then(|m| m.modified()).expect("mtime");
    let size = fs::metadata(path).expect("size").len();
    fs::write(path, vec![b'x'; usize::try_from(size).expect("size")]).expect("overwrite");
    fs::File::options().write(true).open(path).and_then(|f| f.set_modified(modified)).expect("set mtime");
}

/// The exporter's metrics once it has scanned `logs` (with `--facts` when given), as a set of lines
/// without the scan's time stamp; and what it said at start.
fn exporter_metrics(logs: &Path, facts: Option<&Path>) -> (BTreeSet<String>, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let mut command = sparkplane_testkit::sparkplane_process();
    command.args(["exporter", "--history"]).arg(logs).args(["--listen", &format!("127.0.0.1:{port}")]);
    command.args(["--interval", "3600"]);
    if let Some(facts) = facts {
        command.arg("--facts").arg(facts);
    }
    let stderr = std::env::temp_dir().join(format!("sparkplane-exporter-facts-{port}.log"));
    command.stdout(std::process::Stdio::null()).stderr(fs::File::create(&stderr).expect("stderr file"));
    let mut child = command.spawn().expect("the exporter starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let answer = ureq::get(format!("http://127.0.0.1:{port}/metrics")).call().ok();
        if let Some(body) = answer.and_then(|mut r| r.body_mut().read_to_string().ok())
            && body.contains("sparkplane_exporter_up 1")
        {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the exporter did not serve: {}",
            fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    let said = fs::read_to_string(&stderr).unwrap_or_default();
    let _ = fs::remove_file(&stderr);
    (
        body.lines()
            .filter(|l| !l.starts_with("sparkplane_exporter_last_scan_timestamp_seconds"))
            .map(str::to_owned)
            .collect(),
        said,
    )
}

#[test]
fn cost_and_the_exporter_read_the_exported_facts_instead_of_the_logs_and_answer_as_the_logs_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, facts) = (dir.path().join("logs"), dir.path().join("facts"));
    facts_test_logs(&logs);
    let (report, _) = export(&logs, &facts.display().to_string(), None, &[]);
    let sheet = price_sheet(dir.path());
    let (logs_arg, facts_arg, sheet_arg) =
        (logs.display().to_string(), facts.display().to_string(), sheet.display().to_string());
    let groupings = ["team", "app", "cost-center", "job"];
    let cost = |by: &str, extra: &[&str]| {
        let mut args = vec!["cost", logs_arg.as_str(), "--by", by, "-o", "json"];
        args.extend(extra);
        let r = run(&args, &[]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r
    };
    // The answers from the logs, as they are: default prices and a price sheet of the test's own.
    let from_logs: Vec<(String, String)> =
        groupings.iter().map(|by| (cost(by, &[]).stdout, cost(by, &["--price-sheet", &sheet_arg]).stdout)).collect();
    let (metrics_from_logs, _) = exporter_metrics(&logs, None);
    assert!(metrics_from_logs.iter().any(|l| l.starts_with("sparkplane_app_cost_usd_total{")), "{metrics_from_logs:?}");

    // Every log exported as completed is overwritten: same size and time, no longer an event log.
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(facts.join("_sparkplane_export.json")).expect("manifest"))
            .expect("JSON");
    let completed: Vec<&String> = manifest["logs"]
        .as_object()
        .expect("logs")
        .iter()
        .filter(|(_, entry)| entry["completed"] == true)
        .map(|(key, _)| key)
        .collect();
    assert!(completed.len() >= 10, "{report}");
    for key in &completed {
        garble(&logs.join(key.as_str()));
    }
    let listed = LogSource::Local(logs.clone()).app_logs().expect("lists").len();
    // Read now, they are nothing: the same question without the facts gets another answer.
    let garbled = cost("app", &[]);
    assert_ne!(garbled.stdout, from_logs[1].0);
    assert!(garbled.stderr.contains("holds no Spark events; skipped"), "{}", garbled.stderr);

    let said = format!(
        "{} application(s) from the facts exported to {facts_arg}, {} log(s) read",
        manifest["logs"].as_object().expect("logs").len(),
        listed - manifest["logs"].as_object().expect("logs").len()
    );
    for (by, (default_prices, own_prices)) in groupings.iter().zip(&from_logs) {
        let r = cost(by, &["--facts", &facts_arg]);
        assert_eq!(&r.stdout, default_prices, "--by {by}: {}", r.stderr);
        assert!(r.stderr.contains(&said), "{}", r.stderr);
        let r = cost(by, &["--facts", &facts_arg, "--price-sheet", &sheet_arg]);
        assert_eq!(&r.stdout, own_prices, "--by {by} at the test's prices: repriced from the exported hours");
    }
    let (metrics, said) = exporter_metrics(&logs, Some(&facts));
    let missing: Vec<&String> = metrics_from_logs.difference(&metrics).collect();
    let extra: Vec<&String> = metrics.difference(&metrics_from_logs).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "from the logs only: {missing:#?}\nfrom the facts only: {extra:#?}"
    );
    assert!(
        said.contains(&format!("{} finished application(s) counted from the facts exported to", completed.len())),
        "{said}"
    );

    // A folder without an export is refused, naming the manifest it looked for.
    let r = run(&["cost", &logs_arg, "--facts", &logs_arg], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("_sparkplane_export.json: does not exist: no sparkplane export is there"),
        "{}",
        r.stderr
    );
}
