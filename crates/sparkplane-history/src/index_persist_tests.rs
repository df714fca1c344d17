//! The index kept in the persisted index across restarts ([`Index::with_persisted`]):
//! what a restarted index answers before it lists, what its catch-up reads again,
//! and what happens to a store it cannot use.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::persist::{FILE_NAME, StoredEntry};
use crate::viewed::Viewed;
use sparkplane_access::rules::TeamAccess;
use sparkplane_access::{AccessRules, Identity, Viewer};
use sparkplane_eventlog::Outcome;

fn start_line(app: &str) -> String {
    format!(
        "{{\"Event\":\"SparkListenerApplicationStart\",\"App Name\":\"{app}\",\"App ID\":\"{app}\",\
         \"Timestamp\":1700000000000,\"User\":\"u\"}}\n"
    )
}

const END_LINE: &str = "{\"Event\":\"SparkListenerApplicationEnd\",\"Timestamp\":1700000060000}\n";

/// A folder `logs` with `app-1` and `app-2` (finished), `app-3` (in progress) and a log with no application.
fn fleet(root: &Path) -> std::path::PathBuf {
    let logs = root.join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    for app in ["app-1", "app-2"] {
        std::fs::write(logs.join(app), start_line(app) + END_LINE).expect("write");
    }
    std::fs::write(logs.join("app-3"), start_line("app-3")).expect("write");
    std::fs::write(logs.join("no-app"), "{\"Event\":\"SparkListenerLogStart\",\"Spark Version\":\"4.1.0\"}\n")
        .expect("write");
    logs
}

/// An index over `logs` kept in `store`, and the warnings opening it gave.
fn open(logs: &Path, store: &Path) -> (Index, Vec<String>) {
    Index::with_persisted(LogSource::Local(logs.to_path_buf()), 1 << 20, store)
}

fn ids(index: &Index) -> Vec<String> {
    index.attempts().into_iter().map(|a| a.app_id).collect()
}

/// Lists once with a fresh store and stops, as a first run of the server does.
fn first_run(logs: &Path, store: &Path) {
    let (index, warnings) = open(logs, store);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(!index.restored_pending(), "an empty store restores nothing");
    index.refresh().expect("lists");
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"]);
}

#[test]
fn a_restarted_index_answers_the_stored_records_before_it_lists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    first_run(&logs, &store);

    // Without the logs, only the store can answer.
    std::fs::rename(&logs, dir.path().join("away")).expect("rename");
    let (index, warnings) = open(&logs, &store);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(index.restored_pending());
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"]);
    let first = &index.entries()[0];
    assert_eq!(
        (first.outcome, first.attempt.completed, first.attempt.name.as_str()),
        (Outcome::Succeeded, true, "app-1")
    );
    assert_eq!(index.entries()[2].outcome, Outcome::Incomplete);
    let stats = index.stats();
    assert_eq!((stats.restored, stats.logs, stats.summarised, stats.refreshes), (3, 3, 0, 0));
    assert_eq!(index.skipped_logs().len(), 1, "the log without an application is remembered as left out");

    // The catch-up listing fails: the stored records keep being answered, and a detail says why it cannot be read.
    index.refresh().expect_err("the folder is gone");
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"]);
    assert!(index.detail("app-1", None).is_none());
    let log = logs.join("app-1").display().to_string();
    assert_eq!(
        index.why_unreadable("app-1", None),
        Some(format!(
            "its event log {log} is known from the persisted index and has not been read again since the restart"
        ))
    );
}

#[test]
fn unchanged_logs_are_not_read_again_after_a_restart_and_details_wait_for_the_listing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    first_run(&logs, &store);

    let (index, _) = open(&logs, &store);
    let index = Arc::new(index);
    // A detail asked for before the catch-up listing waits for it rather than failing.
    let asked = Instant::now();
    let waiting = {
        let index = Arc::clone(&index);
        std::thread::spawn(move || index.detail("app-2", None).is_some())
    };
    std::thread::sleep(Duration::from_millis(300));
    index.refresh().expect("lists");
    let detail = waiting.join().expect("the request thread");
    assert!(detail, "the detail is read once the log is listed");
    assert!(asked.elapsed() < FIRST_LISTING_WAIT);

    let stats = index.stats();
    assert_eq!((stats.summarised, stats.logs, stats.refreshes), (0, 3, 1), "no log was read to list it again");
    assert_eq!(stats.skipped.values().sum::<u64>(), 0, "the left-out log is not read again either");
    assert!(!index.restored_pending());
    assert!(index.log_of("app-1", None).is_some());
}

#[test]
fn changed_new_and_deleted_logs_are_caught_up_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    first_run(&logs, &store);

    // While the server is stopped: app-3 finishes, app-1 is deleted, app-4 arrives.
    std::fs::write(logs.join("app-3"), start_line("app-3") + END_LINE).expect("write");
    std::fs::remove_file(logs.join("app-1")).expect("delete");
    std::fs::write(logs.join("app-4"), start_line("app-4")).expect("write");
    let (index, _) = open(&logs, &store);
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"], "before the listing: as stored");
    index.refresh().expect("lists");
    assert_eq!(ids(&index), ["app-2", "app-3", "app-4"]);
    assert_eq!(index.stats().summarised, 2, "app-3 (changed) and app-4 (new) are read; app-2 is not");
    let app_3 = index.entries().into_iter().find(|e| e.attempt.app_id == "app-3").expect("app-3");
    assert!(app_3.attempt.completed && app_3.outcome == Outcome::Succeeded);
    drop(index);

    // What the catch-up wrote is what the next restart restores; nothing is read again.
    let (index, _) = open(&logs, &store);
    assert_eq!(ids(&index), ["app-2", "app-3", "app-4"]);
    assert!(index.entries()[1].attempt.completed);
    index.refresh().expect("lists");
    assert_eq!(index.stats().summarised, 0);
}

/// A store rebuilt empty: every log is read as on a first run, and kept for the next start.
fn assert_rebuilt(index: Index, logs: &Path, store: &Path) {
    assert!(!index.restored_pending() && index.entries().is_empty());
    index.refresh().expect("lists");
    assert_eq!(index.stats().summarised, 3);
    drop(index);
    let (index, warnings) = open(logs, store);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"]);
}

#[test]
fn a_corrupt_store_is_set_aside_and_rebuilt_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    first_run(&logs, &store);
    let file = store.join(FILE_NAME);
    let mut bytes = std::fs::read(&file).expect("read");
    bytes.truncate(bytes.len() / 3);
    bytes.iter_mut().skip(64).take(4096).for_each(|b| *b = 0xA5);
    std::fs::write(&file, &bytes).expect("write");

    let (index, warnings) = open(&logs, &store);
    let shown = file.display().to_string();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("the persisted index {shown} cannot be read ("))
            && warnings[0].ends_with("); it is rebuilt from the logs"),
        "{warnings:?}"
    );
    assert_eq!(std::fs::read(store.join(format!("{FILE_NAME}.unreadable"))).expect("set aside"), bytes);
    assert_rebuilt(index, &logs, &store);
}

#[test]
fn a_store_of_another_format_version_is_rebuilt_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    first_run(&logs, &store);
    let file = store.join(FILE_NAME);
    {
        let db = redb::Database::create(&file).expect("open");
        let txn = db.begin_write().expect("txn");
        txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta"))
            .expect("meta")
            .insert("format_version", "0".as_bytes())
            .expect("insert");
        txn.commit().expect("commit");
    }
    let (index, warnings) = open(&logs, &store);
    assert_eq!(
        warnings,
        [format!(
            "the persisted index {} was written in format version \"0\", this sparkplane reads version {}; it is \
             rebuilt from the logs",
            file.display(),
            persist::FORMAT_VERSION
        )]
    );
    assert_rebuilt(index, &logs, &store);
}

/// A finished log of `app`, run by `ann` with `team`'s driver label and shared with `vic` by Spark's view ACL.
fn team_log(app: &str, team: &str) -> String {
    let properties =
        format!("{{\"spark.kubernetes.driver.label.sparkplane.dev/team\":\"{team}\",\"spark.ui.view.acls\":\"vic\"}}");
    start_line(app).replace("\"User\":\"u\"", "\"User\":\"ann\"")
        + &format!("{{\"Event\":\"SparkListenerEnvironmentUpdate\",\"Spark Properties\":{properties}}}\n")
        + END_LINE
}

#[test]
fn access_facts_survive_a_restart_shared_as_they_were_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (dir.path().join("logs"), dir.path().join("index"));
    std::fs::create_dir(&logs).expect("mkdir");
    for (app, team) in [("app-1", "team-a"), ("app-2", "team-a"), ("app-3", "team-b")] {
        std::fs::write(logs.join(app), team_log(app, team)).expect("write");
    }
    let facts_of = |index: &Index| -> Vec<(String, sparkplane_access::AppFacts)> {
        index.entries().into_iter().map(|e| (e.attempt.app_id, e.facts.facts.clone())).collect()
    };
    let (index, _) = open(&logs, &store);
    index.refresh().expect("lists");
    let listed = facts_of(&index);
    let first = &listed[0].1;
    assert_eq!((first.team.as_deref(), first.owner.as_deref()), (Some("team-a"), Some("ann")));
    assert_eq!(first.view.users, BTreeSet::from(["vic".to_owned()]));
    drop(index);

    // Without the logs, only the store can say whose each application is.
    std::fs::rename(&logs, dir.path().join("away")).expect("rename");
    let (index, warnings) = open(&logs, &store);
    assert!(warnings.is_empty() && index.restored_pending(), "{warnings:?}");
    assert_eq!(facts_of(&index), listed);
    let entries = index.entries();
    assert!(Arc::ptr_eq(&entries[0].facts, &entries[1].facts), "equal facts are kept once after a restart too");
    assert!(!Arc::ptr_eq(&entries[0].facts, &entries[2].facts));
    // A team's user sees its applications before any log is read again.
    let team_a = TeamAccess {
        team: "team-a".to_owned(),
        namespace: "ns-a".to_owned(),
        change: BTreeSet::from(["a-dev".to_owned()]),
        view: BTreeSet::new(),
    };
    let rules = AccessRules { teams: vec![team_a], ..AccessRules::default() };
    let amy = Viewer::Person(Identity::new("amy", ["a-dev"]));
    let seen: Vec<String> = Viewed::new(&index, &rules, &amy).attempts().into_iter().map(|a| a.app_id).collect();
    assert_eq!(seen, ["app-1", "app-2"]);
}

#[test]
fn a_store_written_before_access_facts_is_relisted_not_misread() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    // A version-3 store, as the release before access facts wrote it: each record ends with its warnings.
    let facts = persist::encode_facts(&sparkplane_access::AppFacts::default());
    let record = StoredEntry {
        size: 10,
        modified_ms: Some(5),
        fingerprint: 7,
        app_id: "app-1",
        attempt_id: None,
        name: "app-1",
        start_ms: 1_700_000_000_000,
        end_ms: 1_700_000_060_000,
        last_updated_ms: 5,
        user: "u",
        completed: true,
        spark_version: "4.1.0",
        exit_code: None,
        outcome: Outcome::Succeeded,
        team: Some("team-a"),
        cost_usd: 0.5,
        warnings: Vec::new(),
        facts: &facts,
    };
    let mut version_3 = Vec::new();
    record.encode(&mut version_3);
    version_3.truncate(version_3.len() - 4 - facts.len());
    assert!(StoredEntry::decode(&version_3).is_err(), "a record without facts does not read as one with none");
    let file = store.join(FILE_NAME);
    std::fs::create_dir_all(&store).expect("mkdir");
    {
        let db = redb::Database::create(&file).expect("create");
        let txn = db.begin_write().expect("txn");
        {
            let mut meta = txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("meta")).expect("meta");
            meta.insert("format_version", "3".as_bytes()).expect("insert");
            meta.insert("location", LogSource::Local(logs.clone()).describe().as_bytes()).expect("insert");
            let mut apps = txn.open_table(redb::TableDefinition::<&str, &[u8]>::new("apps")).expect("apps");
            apps.insert(logs.join("app-1").display().to_string().as_str(), version_3.as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let (index, warnings) = open(&logs, &store);
    assert_eq!(
        warnings,
        [format!(
            "the persisted index {} was written in format version \"3\", this sparkplane reads version {}; it is \
             rebuilt from the logs",
            file.display(),
            crate::persist::FORMAT_VERSION
        )]
    );
    assert_rebuilt(index, &logs, &store);
}

#[test]
fn a_store_in_use_leaves_the_server_running_without_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    let (holder, _) = open(&logs, &store);
    holder.refresh().expect("lists");

    let (index, warnings) = open(&logs, &store);
    assert_eq!(
        warnings,
        [format!(
            "the persisted index {} is in use by another server; serving without it (a restart reads every log again)",
            store.join(FILE_NAME).display()
        )]
    );
    assert!(index.persisted_path().is_none() && !index.restored_pending());
    // As `history serve` does without restored records: list, then serve.
    index.refresh().expect("lists");
    let server =
        crate::serve("127.0.0.1:0".parse().expect("addr"), Arc::new(index), Duration::from_secs(3600)).expect("serves");
    let url = format!("http://{}/api/v1/applications", server.addr());
    let body = ureq::get(&url).call().expect("answers").body_mut().read_to_string().expect("body");
    let apps: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mut ids: Vec<&str> = apps.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["app-1", "app-2", "app-3"], "{body}");
    server.stop();
    drop(holder);
}

#[test]
fn a_deferred_write_is_answered_at_once_and_a_crash_before_it_leaves_the_last_write_usable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    first_run(&logs, &store);

    // app-1 is deleted and app-4 arrives; the listing is answered before it is written, and the process ends then.
    std::fs::remove_file(logs.join("app-1")).expect("delete");
    std::fs::write(logs.join("app-4"), start_line("app-4") + END_LINE).expect("write");
    let (index, _) = open(&logs, &store);
    index.refresh_deferring_write().expect("lists");
    assert_eq!(ids(&index), ["app-2", "app-3", "app-4"], "answered before the write");
    assert!(index.write_is_deferred());
    drop(index);

    // The store is as the first run wrote it: answered at once, then caught up from the logs.
    let (index, warnings) = open(&logs, &store);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(index.restored_pending());
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"]);
    index.refresh_deferring_write().expect("lists");
    assert_eq!(ids(&index), ["app-2", "app-3", "app-4"]);
    assert_eq!(index.stats().summarised, 1, "only the new log is read");

    // Another change before the write: both are written by it, in one transaction.
    std::fs::remove_file(logs.join("app-2")).expect("delete");
    index.refresh_deferring_write().expect("lists");
    index.write_deferred();
    assert!(!index.write_is_deferred());
    assert_eq!(index.stats().last_store_error, None);
    drop(index);
    let (index, _) = open(&logs, &store);
    assert_eq!(ids(&index), ["app-3", "app-4"]);
    assert_eq!(index.skipped_logs().len(), 1, "the log without an application is still remembered as left out");
    index.refresh().expect("lists");
    assert_eq!(index.stats().summarised, 0, "nothing is read again after the deferred write");
}

#[test]
fn a_first_listing_served_before_its_write_is_written_by_the_server_and_restored_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (logs, store) = (fleet(dir.path()), dir.path().join("index"));
    let (index, _) = open(&logs, &store);
    // As `history serve` does on a first start: list, serve, and write from the scan thread.
    index.refresh_deferring_write().expect("lists");
    assert!(index.write_is_deferred());
    let index = Arc::new(index);
    let server = crate::serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&index), Duration::from_secs(3600))
        .expect("serves");
    let url = format!("http://{}/api/v1/applications", server.addr());
    let body = ureq::get(&url).call().expect("answers").body_mut().read_to_string().expect("body");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).expect("json").as_array().map(Vec::len), Some(3));
    let deadline = Instant::now() + Duration::from_secs(30);
    while index.write_is_deferred() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!index.write_is_deferred(), "the scan thread wrote the first listing");
    server.stop();
    drop(index);

    let (index, _) = open(&logs, &store);
    assert!(index.restored_pending());
    assert_eq!(ids(&index), ["app-1", "app-2", "app-3"]);
    assert_eq!(index.skipped_logs().len(), 1);
    index.refresh().expect("lists");
    assert_eq!(index.stats().summarised, 0);
}
