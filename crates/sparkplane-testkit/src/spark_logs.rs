//! Fresh Spark event logs that several test binaries compare History Servers
//! on: the parity applications (`crates/sparkplane-history/tests/data/parity/write_logs.py`
//! without names: succeeded, lz4 (then SQL joins and aggregations), failed
//! with a killed sibling task, in progress) written by a managed runtime line's own pyspark, once per test
//! run and line, and shared read-only by every test that asks in that run.
//! Writing them starts several Spark JVMs (about a minute on this machine);
//! two suites (`spark_history_parity`, `cli_analyze_counts`) need the same
//! four per line.
//!
//! A run is nextest's (`NEXTEST_RUN_ID`, the same in every test process of
//! one `cargo nextest run`); under plain `cargo test` it is the process, so
//! nothing is shared between binaries there. Owns: where the shared logs
//! live, one writer at a time (a file lock), and writing again until the
//! failed application shows its killed sibling. Must not: be modified by a
//! test (each caller only reads; copy the folder to change it).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// How many logs the parity applications leave.
pub const PARITY_LOGS: usize = 4;

/// How often the logs are written before they are used without a killed
/// sibling (whether the failing job's other task ends killed is up to
/// Spark's timing; the tests that need it check it on the servers' answers).
const WRITES: usize = 3;

/// Shared folders of runs older than this are removed by the next run.
const KEPT: Duration = Duration::from_secs(24 * 3600);

/// The parity applications' logs of Spark `line` (`3.5`, `4.1`) for this
/// test run: written on the first call, the same folder after. Callers
/// must not change what is in it.
pub fn parity_logs(line: &str) -> Result<PathBuf, String> {
    let runs = std::env::temp_dir().join("sparkplane-parity-logs");
    let run = std::env::var("NEXTEST_RUN_ID").unwrap_or_else(|_| format!("process-{}", std::process::id()));
    let root = runs.join(&run);
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    remove_old_runs(&runs, &run);
    let lock_path = root.join(format!("{line}.lock"));
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock().map_err(|e| format!("lock {}: {e}", lock_path.display()))?;
    let logs = root.join(line);
    if logs.is_dir() {
        return Ok(logs);
    }
    let staging = root.join(format!("{line}.writing"));
    for attempt in 1..=WRITES {
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        write_parity_logs(line, &staging)?;
        if attempt == WRITES || has_killed_task(&staging) {
            break;
        }
    }
    std::fs::rename(&staging, &logs).map_err(|e| format!("{} -> {}: {e}", staging.display(), logs.display()))?;
    Ok(logs)
}

/// Runs `write_logs.py` with `line`'s Python into `dir`; the script kills its
/// own JVM at the end (the in-progress application), so its status is not
/// judged: what it must leave is [`PARITY_LOGS`] logs.
fn write_parity_logs(line: &str, dir: &Path) -> Result<(), String> {
    let python = crate::history::runtime_path(line, "python")?;
    let script = crate::repo_root().join("crates/sparkplane-history/tests/data/parity/write_logs.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(dir)
        .output()
        .map_err(|e| format!("{} {}: {e}", python.display(), script.display()))?;
    let written = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    if written != PARITY_LOGS {
        return Err(format!(
            "write_logs.py ({line}) left {written} logs, not {PARITY_LOGS}: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// Whether a plain (uncompressed, single-file) log in `dir` records a task
/// that ended killed: the failed application's log is one.
fn has_killed_task(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries
        .flatten()
        .filter(|e| e.path().is_file())
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|text| text.contains("\"Reason\":\"TaskKilled\"")))
}

/// Removes the shared folders of other runs last changed over [`KEPT`] ago.
fn remove_old_runs(runs: &Path, current: &str) {
    let Ok(entries) = std::fs::read_dir(runs) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|changed| now.duration_since(changed).is_ok_and(|age| age > KEPT));
        if old && entry.file_name() != current {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
