//! Writes the fuzzers' seed corpus (scripts/fuzz.sh runs it) from real event logs,
//! read with this crate's own reader so every codec Spark writes is unpacked:
//!
//! - `OUT/parse_line/`: each distinct line of the logs, one file per line;
//! - `OUT/read_log/`: each log part as it is on disk, prefixed with the byte that
//!   selects its codec in the `read_log` target, and each log uncompressed (prefix 0).
//!
//! Usage: `cargo run -p sparkplane-eventlog --example fuzz_seeds -- OUT LOG...`
//! (a LOG is a log file or an `eventlog_v2_*` directory).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sparkplane_eventlog::{Codec, EventLog};

/// The `read_log` target's codec selector (its first input byte) for a part's codec.
fn selector(codec: Option<Codec>) -> u8 {
    match codec {
        None => 0,
        Some(Codec::Zstd) => 1,
        Some(Codec::Lz4) => 2,
        Some(Codec::Snappy) => 3,
        Some(Codec::Lzf) => 4,
    }
}

/// FNV-1a, for stable file names.
fn name(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(dir.join(name(bytes)), bytes)
}

fn seed(out: &Path, logs: &[PathBuf]) -> Result<usize, String> {
    let (lines_dir, logs_dir) = (out.join("parse_line"), out.join("read_log"));
    for dir in [&lines_dir, &logs_dir] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut lines = BTreeSet::new();
    let mut written = 0;
    for path in logs {
        let log = EventLog::open(path).map_err(|e| e.to_string())?;
        for part in &log.parts {
            let raw = std::fs::read(&part.path).map_err(|e| format!("cannot read {}: {e}", part.path.display()))?;
            let mut seed = vec![selector(part.codec)];
            seed.extend_from_slice(&raw);
            write(&logs_dir, &seed).map_err(|e| e.to_string())?;
            written += 1;
        }
        let mut reader = log.lines().map_err(|e| e.to_string())?;
        let mut whole = vec![0u8];
        while let Some(line) = reader.next_line() {
            whole.extend_from_slice(line.text.as_bytes());
            whole.push(b'\n');
            lines.insert(line.text.to_owned());
        }
        write(&logs_dir, &whole).map_err(|e| e.to_string())?;
        written += 1;
    }
    for line in &lines {
        write(&lines_dir, line.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(written + lines.len())
}

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some((out, logs)) = args.split_first().filter(|(_, logs)| !logs.is_empty()) else {
        eprintln!("usage: fuzz_seeds OUT LOG...");
        return ExitCode::from(2);
    };
    match seed(out, logs) {
        Ok(count) => {
            println!("{count} seeds in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
