//! `sparkplane help <command>`: the command's help followed by its
//! examples (the table of examples is `crate::examples`).

use clap::CommandFactory;

use crate::cli::Cli;
use crate::examples::examples_for;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// Runs `help`.
pub fn run(path: &[String], printer: &Printer) -> CommandResult {
    let mut command = Cli::command();
    if path.is_empty() {
        printer.raw(&format!("{}\n", command.render_long_help()));
        return Ok(());
    }
    let mut current = &mut command;
    for name in path {
        let names: Vec<String> = current.get_subcommands().map(|c| c.get_name().to_owned()).collect();
        current = match current.find_subcommand_mut(name) {
            Some(sub) => sub,
            None => {
                let mut diag =
                    sparkplane_documents::Diagnostic::error("usage", "", format!("there is no command `{name}`"));
                diag = match sparkplane_documents::schema::did_you_mean(name, names.iter().map(String::as_str)) {
                    Some(guess) => diag.with_help(format!("did you mean `{guess}`?")),
                    None => diag.with_help(format!("commands: {}", names.join(", "))),
                };
                return Err(Failure::Invalid(diag.into()));
            }
        };
    }
    let usage_name = format!("sparkplane {}", path.join(" "));
    let mut help = current.clone().bin_name(usage_name).render_long_help().to_string();
    let examples = examples_for(&path.join(" "));
    if !examples.is_empty() {
        help.push_str("\nExamples:\n");
        for (what, how) in examples {
            help.push_str(&format!("  # {what}\n  {how}\n\n"));
        }
    }
    printer.raw(&help);
    Ok(())
}
