//! What the tests over Spark's own fresh event logs share: writing the logs
//! with a managed Spark line's pyspark (`tests/data/parity/write_logs.py`, run
//! by the runtime's own Python: `sparkplane runtime install 3.5|4.1`, which
//! scripts/test.sh's `need_runtime` does) and serving them with
//! `sparkplane history serve`'s server on 127.0.0.1 and a free port.
//!
//! Each test binary that declares `mod support;` uses a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use sparkplane_eventlog::LogSource;
use sparkplane_history::{HistoryServer, Index, serve};

/// The Spark lines the tests run on, oldest and newest installed (the
/// runtime manager's lines: `sparkplane runtime install`); a new newest line
/// is this one row.
pub const OLDEST_LINE: &str = "3.5";
pub const NEWEST_LINE: &str = "4.3";

/// Fields a newer line's History Server answers and an older one's does not,
/// with the line that added them: the executor metrics Spark 4.0 added;
/// 4.2's log source of an attempt and an SQL execution's error message, query
/// id and root execution; 4.3's exit code, the modified SQL configurations
/// and a plan node's `desc`. Ours answers them all, as Spark 4.3's does
/// (`/version`); an answer recorded from an older server lacks them.
pub const ADDED_SINCE: [(&str, &str); 10] = [
    ("ConcurrentGCCount", "4.0"),
    ("ConcurrentGCTime", "4.0"),
    ("logSourceName", "4.2"),
    ("logSourceFullPath", "4.2"),
    ("errorMessage", "4.2"),
    ("queryId", "4.2"),
    ("rootExecutionId", "4.2"),
    ("exitCode", "4.3"),
    ("modifiedConfigs", "4.3"),
    ("desc", "4.3"),
];

/// A line as (major, minor), to order lines.
fn line_number(line: &str) -> (u32, u32) {
    let mut parts = line.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The fields of [`ADDED_SINCE`] Spark `server_line`'s History Server does not answer.
pub fn newer_than(server_line: &str) -> Vec<&'static str> {
    ADDED_SINCE.iter().filter(|(_, added)| line_number(added) > line_number(server_line)).map(|(f, _)| *f).collect()
}

/// Runs `write_logs.py` with Spark `line`'s Python into `dir`: the named
/// applications (`succeeded`, `lz4`, `failed`, `sql`, `skew`, `in-progress`), or the
/// parity test's four when `apps` is empty, with `env` added to its
/// environment. Its status is the caller's to judge (the in-progress
/// application ends the script with its JVM killed).
pub fn write_spark_logs(line: &str, dir: &Path, apps: &[&str], env: &[(&str, &Path)]) -> Output {
    let python = sparkplane_testkit::history::runtime_path(line, "python").unwrap_or_else(|e| panic!("{e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/parity/write_logs.py");
    let mut command = Command::new(&python);
    command.arg(&script).arg(dir).args(apps);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the runtime's python runs")
}

/// sparkplane's History Server over the logs in `dir`, listed once.
pub fn serve_logs(dir: &Path) -> HistoryServer {
    let index = Arc::new(Index::new(LogSource::Local(dir.to_path_buf()), 256 << 20));
    index.refresh().expect("the logs list");
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
    serve(any_port, index, Duration::from_secs(3600)).expect("sparkplane serves")
}
