//! Prints the summary of one event log as JSON, with the time it took:
//! `cargo run --release -p sparkplane-eventlog --example summarize -- <log file or eventlog_v2_ dir>`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: summarize <event log file or eventlog_v2_* directory>");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    match sparkplane_eventlog::summarize(&path) {
        Ok(summary) => {
            let elapsed = started.elapsed();
            match serde_json::to_string_pretty(&summary) {
                Ok(json) => println!("{json}"),
                Err(error) => eprintln!("cannot print the summary: {error}"),
            }
            eprintln!("summarized {} lines in {:.3} s", summary.log.lines, elapsed.as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
