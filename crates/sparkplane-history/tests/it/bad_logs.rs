//! Bad input: a corrupt or cut-off log is listed with what could be read and
//! its warnings; a log nothing could be read from is left out with why, and
//! is neither read again nor counted again on the next rescan unless it
//! changes; the list never fails because of one log.

use std::path::Path;

use serde_json::Value;
use sparkplane_eventlog::LogSource;
use sparkplane_history::{Index, respond};

fn spark_log() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events/local-1422981780767");
    std::fs::read_to_string(path).expect("log")
}

/// A folder of bad logs beside one good one.
fn bad_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let real = spark_log();
    std::fs::write(dir.path().join("local-1422981780767"), &real).expect("write");
    // The start of a real log, a garbage line, and a line cut in half.
    let cut: String = real.lines().take(30).collect::<Vec<_>>().join("\n");
    let corrupt = cut.replace("local-1422981780767", "local-1000000000001")
        + "\nnot json at all\n{\"Event\":\"SparkListenerTaskEnd\",\"Sta";
    std::fs::write(dir.path().join("local-1000000000001"), corrupt).expect("write");
    // Not lz4-java's block stream at all.
    std::fs::write(dir.path().join("local-1000000000003.lz4"), b"\x00\x01garbage").expect("write");
    // A log that stops before the application starts.
    std::fs::write(
        dir.path().join("local-1000000000004"),
        "{\"Event\":\"SparkListenerLogStart\",\"Spark Version\":\"4.0.1\"}\n",
    )
    .expect("write");
    dir
}

fn skipped(index: &Index) -> Vec<(String, &'static str, String)> {
    index
        .skipped_logs()
        .into_iter()
        .map(|(name, s)| (name.rsplit('/').next().unwrap_or_default().to_owned(), s.reason, s.message))
        .collect()
}

#[test]
fn corrupt_logs_are_listed_with_what_could_be_read_and_unreadable_ones_left_out_with_why() {
    let dir = bad_folder();
    let index = Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 20);
    index.refresh().expect("the folder lists");

    let list = respond(&index, "/api/v1/applications", "");
    assert_eq!(list.status, 200, "{}", list.body);
    let list: Value = serde_json::from_str(&list.body).expect("json");
    let ids: Vec<&str> = list.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, ["local-1422981780767", "local-1000000000001"]);

    let partial: Vec<(String, Vec<String>)> = index
        .entries()
        .into_iter()
        .filter(|e| !e.warnings.is_empty())
        .map(|e| (e.attempt.app_id, e.warnings))
        .collect();
    assert_eq!(
        partial,
        [(
            "local-1000000000001".to_owned(),
            vec![
                "line is not a JSON object (cut off or corrupt); line skipped".to_owned(),
                "line is not a JSON object (cut off or corrupt); line skipped".to_owned(),
            ]
        )]
    );
    assert_eq!(
        skipped(&index),
        [
            (
                "local-1000000000003.lz4".to_owned(),
                "no_application_start",
                "no SparkListenerApplicationStart event could be read (cannot read past this line (corrupt lz4 \
                 stream at byte 0: a block does not start with \"LZ4Block\" (not lz4-java's block stream)); the \
                 rest of this file is skipped)"
                    .to_owned()
            ),
            (
                "local-1000000000004".to_owned(),
                "no_application_start",
                "no SparkListenerApplicationStart event could be read".to_owned()
            ),
        ]
    );
    assert_eq!(index.stats().skipped.get("no_application_start"), Some(&2));
}

#[test]
fn a_left_out_log_is_not_read_or_counted_again_until_it_changes() {
    let dir = bad_folder();
    let index = Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 20);
    index.refresh().expect("lists");
    let first = index.stats();
    index.refresh().expect("lists again");
    let second = index.stats();
    assert_eq!((second.summarised, second.skipped.clone()), (first.summarised, first.skipped.clone()));
    assert_eq!(second.refreshes, 2);

    // The stopped log grows into a real one: listed now, no longer left out.
    let grown = spark_log().replace("local-1422981780767", "local-1000000000004");
    std::fs::write(dir.path().join("local-1000000000004"), grown).expect("write");
    index.refresh().expect("lists a third time");
    assert!(index.entries().iter().any(|e| e.attempt.app_id == "local-1000000000004"));
    assert_eq!(skipped(&index).len(), 1, "{:?}", skipped(&index));

    // A removed log is forgotten.
    std::fs::remove_file(dir.path().join("local-1000000000003.lz4")).expect("remove");
    index.refresh().expect("lists a fourth time");
    assert!(skipped(&index).is_empty());
}
