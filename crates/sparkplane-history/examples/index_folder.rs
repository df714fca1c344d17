//! Lists a folder of event logs as `sparkplane history serve` does before it
//! binds (`Index::refresh`: a log of 64 MiB or more is replayed in the same
//! pass), then asks for each application's stages, and prints the time each
//! step took, and the memory the listing keeps: for profiling the listing and the one-pass replay without the
//! HTTP server (`perf record`, `valgrind --tool=callgrind`).
//!
//!     cargo run --release -p sparkplane-history --example index_folder -- DIR

use std::time::Instant;

use sparkplane_eventlog::LogSource;
use sparkplane_history::{Catalog, DEFAULT_CACHE_BYTES, Index};

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: index_folder DIR");
        std::process::exit(2);
    };
    let started = Instant::now();
    let index = Index::new(LogSource::Local(dir.into()), DEFAULT_CACHE_BYTES);
    if let Err(error) = index.refresh() {
        eprintln!("{error}");
        std::process::exit(3);
    }
    let listed = started.elapsed();
    // What the listing keeps, before any request: the memory per listed application.
    let kept = memory("VmRSS");
    let attempts = index.attempts();
    let stages: usize = attempts
        .iter()
        .take(1)
        .filter_map(|a| index.detail(&a.app_id, a.attempt_id.as_deref()))
        .map(|d| d.stages.len())
        .sum();
    println!(
        "{} applications listed in {:.3} s; {} stages of the first in {:.3} s; RSS once listed {}, peak {}",
        attempts.len(),
        listed.as_secs_f64(),
        stages,
        started.elapsed().as_secs_f64(),
        kept,
        memory("VmHWM"),
    );
}

/// A line of /proc/self/status (Linux), e.g. `VmRSS`, as written there; `?` elsewhere.
fn memory(key: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with(&format!("{key}:")));
    line.map_or_else(|| "?".to_owned(), |l| l[key.len() + 1..].trim().to_owned())
}
