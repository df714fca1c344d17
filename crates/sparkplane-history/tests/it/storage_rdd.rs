//! `storage/rdd` of a log with block updates, and the executors' storage
//! figures, compared as JSON values with what Spark 4.1.4's own History
//! Server answered over the same log (`tests/data/block-updates`, see its
//! `NOTICE.md`).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_eventlog::LogSource;
use sparkplane_history::{Index, respond};

const APP: &str = "local-1795503675548";

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/block-updates")
}

/// The index over a copy of the log, and the folder holding it (removed when dropped).
fn index() -> (Index, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(data().join(APP), dir.path().join(APP)).expect("copy the log");
    let index = Index::new(LogSource::Local(dir.path().to_path_buf()), 64 * 1024 * 1024);
    index.refresh().expect("lists");
    (index, dir)
}

fn spark(name: &str) -> Value {
    let path = data().join(format!("spark-4.1.4_{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn get(index: &Index, resource: &str) -> (u16, Value) {
    let response = respond(index, &format!("/api/v1/applications/{APP}/{resource}"), "");
    let value = serde_json::from_str(&response.body).unwrap_or(Value::String(response.body.clone()));
    (response.status, value)
}

fn assert_same(what: &str, ours: &Value, theirs: &Value) {
    assert_eq!(
        ours,
        theirs,
        "{what}\nours:    {}\nSpark's: {}",
        serde_json::to_string_pretty(ours).unwrap_or_default(),
        serde_json::to_string_pretty(theirs).unwrap_or_default()
    );
}

#[test]
fn cached_rdds_are_answered_as_spark_4_answers_them() {
    let (index, _dir) = index();
    for (resource, file) in
        [("storage/rdd", "storage_rdd"), ("storage/rdd/1", "storage_rdd_1"), ("storage/rdd/4", "storage_rdd_4")]
    {
        let (status, ours) = get(&index, resource);
        assert_eq!(status, 200, "{resource}: {ours}");
        assert_same(resource, &ours, &spark(file));
    }
}

#[test]
fn an_unpersisted_rdd_is_spark_s_404() {
    let (index, _dir) = index();
    let (status, body) = get(&index, "storage/rdd/6");
    assert_eq!((status, body), (404, Value::String("no rdd found w/ id 6".to_owned())));
}

/// Block updates also give each executor its RDD blocks and storage memory used.
#[test]
fn executors_count_rdd_blocks_and_storage_memory_as_spark_4() {
    let (index, _dir) = index();
    let (status, ours) = get(&index, "allexecutors");
    assert_eq!(status, 200);
    let theirs = spark("allexecutors");
    for field in ["rddBlocks", "memoryUsed", "diskUsed", "memoryMetrics", "maxMemory"] {
        assert_same(field, &ours[0][field], &theirs[0][field]);
    }
    assert_eq!(theirs[0]["rddBlocks"], 7, "the log caches 7 partitions");
}
