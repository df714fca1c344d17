//! Arbitrary bytes as an event-log file on disk, read by the real line reader
//! (`summarize`: open, decode, split lines, parse, fold). The first byte picks
//! the file name's codec extension so the decoders are fuzzed too; the rest is
//! the file. Nothing may panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// Extensions the reader maps to codecs (none first: the codec-free path).
const EXTENSIONS: [&str; 5] = ["", ".zstd", ".lz4", ".snappy", ".lzf"];

/// One scratch directory per fuzzing process, removed when it exits normally.
fn scratch() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().to_path_buf();
        Some((dir, path))
    })
    .as_ref()
    .map(|(_, path)| path)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let Some(dir) = scratch() else { return };
    let extension = EXTENSIONS[usize::from(selector) % EXTENSIONS.len()];
    let path = dir.join(format!("local-1700000000000{extension}"));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    if let Ok(app) = sparkplane_eventlog::summarize(&path) {
        let _ = sparkplane_analysis::analyze::analyze(&app);
    }
    let _ = std::fs::remove_file(&path);
});
