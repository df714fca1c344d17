//! Which local runs are running now and where their Spark UI listens: one
//! small file per running run, `<SPARKPLANE_HOME>/live/<run-id>.json`,
//! written (atomically) before Spark starts and removed when the run ends
//! ([`LiveMarker`]), so a door (`history serve`) can forward
//! `/jobs/<namespace>/<job>/` to the UI without reading every run's record.
//!
//! Owns: the marker's layout and its lifetime, and reading the markers
//! back ([`running`]): bounded (at most [`MAX_MARKERS`] files of at most
//! [`MAX_MARKER_BYTES`]), a marker whose process is gone left out, and an
//! address that is not this machine's loopback never returned (a marker is
//! a file anyone with the home's write access can edit; the door must not
//! become a way to reach other hosts).
//! Must not: serve or forward anything, or decide who may see a run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Markers read at most: more running runs than this on one machine are not a local workload.
pub const MAX_MARKERS: usize = 256;

/// A marker's largest size; a larger file is not one.
pub const MAX_MARKER_BYTES: u64 = 4096;

/// One running run, as its marker says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveRun {
    pub run_id: String,
    pub job: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Who started it (`$USER`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Its Spark UI ACL properties (`spark.ui.view.acls`, …), for the door's access decision.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acls: BTreeMap<String, String>,
    /// The Spark UI's address (loopback).
    pub ui: SocketAddr,
    /// The `sparkplane run` process: the marker stands while it lives.
    pub pid: u32,
}

/// The folder of the markers.
pub fn live_dir(home: &Path) -> PathBuf {
    home.join("live")
}

/// A written marker; dropping it removes the file.
#[derive(Debug)]
pub struct LiveMarker {
    path: PathBuf,
}

impl Drop for LiveMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `run`'s marker (a temporary file renamed into place: a reader never sees half of one).
pub fn mark(home: &Path, run: &LiveRun) -> std::io::Result<LiveMarker> {
    let dir = live_dir(home);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", run.run_id));
    let tmp = dir.join(format!(".{}.json.tmp", run.run_id));
    std::fs::write(&tmp, serde_json::to_vec(run).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(LiveMarker { path })
}

/// The running runs under `home`, by run id: markers that parse, whose
/// process is alive and whose UI is on loopback.
pub fn running(home: &Path) -> Vec<LiveRun> {
    let Ok(entries) = std::fs::read_dir(live_dir(home)) else { return Vec::new() };
    let mut runs: Vec<LiveRun> = entries
        .flatten()
        .filter(|e| {
            e.file_name().to_string_lossy().ends_with(".json") && !e.file_name().to_string_lossy().starts_with('.')
        })
        .take(MAX_MARKERS)
        .filter(|e| e.metadata().is_ok_and(|m| m.is_file() && m.len() <= MAX_MARKER_BYTES))
        .filter_map(|e| serde_json::from_slice::<LiveRun>(&std::fs::read(e.path()).ok()?).ok())
        .filter(|run| run.ui.ip().is_loopback() && crate::history::process_alive(run.pid))
        .collect();
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, ui: &str, pid: u32) -> LiveRun {
        LiveRun {
            run_id: id.to_owned(),
            job: "etl".to_owned(),
            namespace: "team-a".to_owned(),
            team: Some("a".to_owned()),
            user: None,
            acls: BTreeMap::from([("spark.ui.view.acls".to_owned(), "vic".to_owned())]),
            ui: ui.parse().expect("addr"),
            pid,
        }
    }

    #[test]
    fn a_marker_stands_while_it_is_held_and_its_process_lives() {
        let home = tempfile::tempdir().expect("home");
        let me = std::process::id();
        let marker = mark(home.path(), &run("etl-1", "127.0.0.1:4040", me)).expect("marks");
        assert_eq!(running(home.path()), vec![run("etl-1", "127.0.0.1:4040", me)]);
        drop(marker);
        assert_eq!(running(home.path()), Vec::new());
        assert!(std::fs::read_dir(live_dir(home.path())).expect("dir").next().is_none(), "no file left behind");
    }

    #[test]
    fn markers_of_gone_processes_other_hosts_or_any_other_shape_are_left_out() {
        let home = tempfile::tempdir().expect("home");
        let me = std::process::id();
        let _kept = mark(home.path(), &run("etl-1", "[::1]:4041", me)).expect("marks");
        // A process that has ended: the child below, reaped.
        let mut child = std::process::Command::new("true").spawn().expect("spawns");
        let gone = child.id();
        child.wait().expect("reaped");
        let _ended = mark(home.path(), &run("etl-2", "127.0.0.1:4042", gone)).expect("marks");
        // An edited marker pointing the door at another host.
        let _elsewhere = mark(home.path(), &run("etl-3", "10.0.0.7:4040", me)).expect("marks");
        let dir = live_dir(home.path());
        std::fs::write(dir.join("etl-4.json"), b"{not json").expect("writes");
        std::fs::write(dir.join("etl-5.json"), vec![b' '; MAX_MARKER_BYTES as usize + 1]).expect("writes");
        std::fs::create_dir(dir.join("etl-6.json")).expect("a folder");
        assert_eq!(running(home.path()), vec![run("etl-1", "[::1]:4041", me)]);
        assert_eq!(running(&home.path().join("nowhere")), Vec::new());
    }
}
