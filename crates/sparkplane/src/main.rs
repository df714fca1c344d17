//! The `sparkplane` binary: parse the command line, run the command, map the
//! outcome to an exit code. All logic lives in the library crates.

mod cli;
mod commands;
mod events;
mod examples;
mod exit;
mod interrupt;
mod printer;
mod report;
mod workspace;

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints usage errors itself; --help and --version are successes.
            let err = suggest_subcommand(err);
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

/// A mistyped subcommand's suggestion by the project's one rule for "did you
/// mean" (`sparkplane_documents::schema::did_you_mean`: edit distance counting a
/// swap of two letters as one edit), not clap's Jaro similarity, which ranks
/// `runs` above `run` for `rnu`. clap's own suggestion stays when the rule
/// finds no near name.
fn suggest_subcommand(mut err: clap::Error) -> clap::Error {
    if err.kind() != ErrorKind::InvalidSubcommand {
        return err;
    }
    let Some(ContextValue::String(typed)) = err.get(ContextKind::InvalidSubcommand) else { return err };
    let typed = typed.clone();
    // The level the word was typed at: follow the arguments before it down the subcommands.
    let mut command = cli::Cli::command();
    for arg in std::env::args().skip(1).take_while(|arg| *arg != typed) {
        if let Some(sub) = command.find_subcommand(&arg).cloned() {
            command = sub;
        }
    }
    let names: Vec<&str> = command.get_subcommands().map(clap::Command::get_name).collect();
    if let Some(near) = sparkplane_documents::schema::did_you_mean(&typed, names.iter().copied()) {
        err.insert(ContextKind::SuggestedSubcommand, ContextValue::Strings(vec![near.to_owned()]));
    }
    err
}
