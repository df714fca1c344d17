//! The `sparkplane` binary: parse the command line, run the command, map the
//! outcome to an exit code. All logic lives in the library crates.

mod cli;
mod commands;
mod events;
mod exit;
mod printer;
mod report;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints usage errors itself; --help and --version are successes.
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            };
        }
    };
    let printer = printer::Printer::new(cli.global.output, cli.global.quiet, cli.global.no_color);
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // Clients log every failed request themselves; sparkplane reports the failure that
    // matters once, with its URL and what to do. Their logs show from -vv (or SPARKPLANE_LOG).
    let filter = if cli.global.verbose >= 2 {
        level.to_owned()
    } else {
        format!("{level},kube_client=off,kube_runtime=off,object_store=off,reqwest=off,hyper_util=off")
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPARKPLANE_LOG").unwrap_or_else(|_| filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(printer.color)
        .without_time()
        .init();
    match commands::run(&cli, &printer) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            printer.failure(&failure);
            failure.exit_code()
        }
    }
}
