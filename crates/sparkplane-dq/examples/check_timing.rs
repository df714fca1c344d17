//! Runs a data-quality spec's checks with the native engine as `sparkplane
//! dq check SPEC --no-profile --threads N` does (no profile written, nothing
//! quarantined), RUNS times in one process, and prints each run's wall time:
//! for timing the one-pass scan (`engine::scan`) without building the CLI.
//!
//!     cargo run --release -p sparkplane-dq --example check_timing -- SPEC [THREADS] [RUNS]
//!
//! THREADS defaults to the machine's cores, as `dq check` does.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sparkplane_documents::Source;
use sparkplane_dq::run::SpecRun;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(spec) = args.next() else {
        eprintln!("usage: check_timing SPEC [THREADS] [RUNS]");
        std::process::exit(2);
    };
    let threads = args.next().and_then(|t| t.parse().ok());
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(1);
    let text = std::fs::read_to_string(&spec).unwrap_or_else(|error| fail(&format!("{spec}: {error}")));
    let loaded = sparkplane_dq::load_spec(&Source::new(spec.clone(), text))
        .unwrap_or_else(|problems| fail(&format!("{spec}: {problems:?}")));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    let run = SpecRun { spec: PathBuf::from(&spec), threads, ..SpecRun::default() };
    let options = run.options(now).unwrap_or_else(|message| fail(&message));
    for _ in 0..runs {
        let started = Instant::now();
        let report = sparkplane_dq::check(&loaded.spec, &options).unwrap_or_else(|error| fail(&error.to_string()));
        println!(
            "{:.3} s: {} rows, {} files, {} checks, passed {}, {} threads",
            started.elapsed().as_secs_f64(),
            report.rows,
            report.files,
            report.checks.len(),
            report.passed,
            options.threads,
        );
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(3);
}
