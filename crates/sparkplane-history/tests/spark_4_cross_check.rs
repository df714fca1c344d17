//! sparkplane's History Server and Spark's own (pyspark 4.1.4's, the pinned
//! 4.1 runtime, installed by scripts/test.sh) over the same Spark 4 event
//! logs, written fresh by a real local Spark run at the start of the test
//! (`tests/data/cross-check/write_logs.py`): a zstd rolling log, an lz4
//! single-file log, a failed application (one job fails) and one left in
//! progress (its JVM killed mid-run). Their answers for the application
//! list, and per application the jobs, stages, executors, all executors and
//! one task list, must be equal as JSON values.
//!
//! Normalised, and only this: `lastUpdated`/`lastUpdatedEpoch` (each server
//! reads the files' times when it lists them), and the driver's
//! `totalDuration` of the in-progress application, which both compute as the
//! time since it started at the moment of the request: ours must be within
//! 10 s after Spark's. Spark's History Server is
//! started on 127.0.0.1 on a free port and killed when the test ends. It
//! takes about a minute (four Spark applications, then a JVM server).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sparkplane_eventlog::LogSource;
use sparkplane_history::{Index, respond};

/// Runs the log-writing script with the 4.1 runtime's Python into `dir`.
fn write_logs(dir: &Path) {
    let python = sparkplane_testkit::history::runtime_path("4.1", "python").unwrap_or_else(|e| panic!("{e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cross-check/write_logs.py");
    let output = Command::new(&python).arg(&script).arg(dir).output().expect("the runtime's python runs");
    // The script kills its own JVM at the end (the in-progress application), so its status is not checked;
    // what it must leave is four applications.
    let logs = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(logs, 4, "write_logs.py left {logs} logs: {}", String::from_utf8_lossy(&output.stderr));
}

/// Drops `lastUpdated` and `lastUpdatedEpoch` everywhere.
fn normalise(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("lastUpdated");
            map.remove("lastUpdatedEpoch");
            map.values_mut().for_each(normalise);
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn differences(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) => {
            for (key, want) in t {
                match o.get(key) {
                    Some(got) => differences(&format!("{path}.{key}"), got, want, out),
                    None => out.push(format!("{path}.{key}: missing, Spark has {want}")),
                }
            }
            out.extend(o.keys().filter(|k| !t.contains_key(*k)).map(|k| format!("{path}.{k}: not in Spark's answer")));
        }
        (Value::Array(o), Value::Array(t)) if o.len() == t.len() => {
            for (i, (got, want)) in o.iter().zip(t).enumerate() {
                differences(&format!("{path}[{i}]"), got, want, out);
            }
        }
        _ if ours != theirs => out.push(format!("{path}: ours {ours}, Spark's {theirs}")),
        _ => {}
    }
}

fn spark_get(base: &str, path: &str) -> Value {
    let url = format!("{base}/{path}");
    let mut response = ureq::get(&url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    response.body_mut().read_json::<Value>().unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn ours_get(index: &Index, path: &str) -> Value {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let response = respond(index, &format!("/api/v1/{route}"), query);
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn answers_equal_spark_4_history_servers_on_fresh_spark_4_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs: PathBuf = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("mkdir");
    write_logs(&logs);

    let home = sparkplane_testkit::history::runtime_path("4.1", "sparkHome").unwrap_or_else(|e| panic!("{e}"));
    let mut spark = sparkplane_testkit::HistoryServer::start_from(&home, &logs).unwrap_or_else(|e| panic!("{e}"));
    spark.wait_until_answering(Duration::from_secs(90)).unwrap_or_else(|e| panic!("{e}"));
    let base = spark.api();
    let deadline = Instant::now() + Duration::from_secs(60);
    while spark_get(&base, "applications").as_array().map_or(0, Vec::len) < 4 {
        assert!(Instant::now() < deadline, "Spark's History Server did not list the four applications");
        std::thread::sleep(Duration::from_millis(300));
    }

    let index = Index::new(LogSource::Local(logs.clone()), 64 << 20);
    index.refresh().expect("the fresh logs list");

    let list = spark_get(&base, "applications");
    let ids: Vec<String> =
        list.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect();
    let mut paths = vec!["applications".to_owned(), "applications?status=running".to_owned()];
    for id in &ids {
        let app = format!("applications/{id}");
        paths.extend([
            app.clone(),
            format!("{app}/jobs"),
            format!("{app}/stages"),
            format!("{app}/executors"),
            format!("{app}/allexecutors"),
            format!("{app}/stages/0/0/taskList"),
        ]);
    }
    let running: Vec<String> = spark_get(&base, "applications?status=running")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(running.len(), 1, "one application was left in progress");
    let mut report = Vec::new();
    for path in &paths {
        let (mut theirs, mut ours) = (spark_get(&base, path), ours_get(&index, path));
        normalise(&mut theirs);
        normalise(&mut ours);
        if running.iter().any(|id| path.starts_with(&format!("applications/{id}/")) && path.ends_with("executors")) {
            let driver = |v: &mut Value| -> Option<i64> {
                let d = v.as_array_mut()?.iter_mut().find(|e| e["id"] == "driver")?;
                let duration = d["totalDuration"].as_i64();
                d["totalDuration"] = Value::Null;
                duration
            };
            let (o, t) = (driver(&mut ours), driver(&mut theirs));
            let gap = o.zip(t).map(|(o, t)| o - t);
            assert!(
                gap.is_some_and(|g| (0..10_000).contains(&g)),
                "{path}: driver totalDuration ours {o:?}, Spark's {t:?}"
            );
        }
        let mut out = Vec::new();
        differences("", &ours, &theirs, &mut out);
        report.extend(out.into_iter().map(|d| format!("{path}: {d}")));
    }
    assert!(
        report.is_empty(),
        "{} differences from Spark 4.1.4's History Server:\n{}",
        report.len(),
        report.join("\n")
    );
}
