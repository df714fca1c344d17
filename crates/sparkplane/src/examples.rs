//! The examples `sparkplane help <command>` prints after a command's help.
//!
//! Owns: reading them from `help_examples.txt` — content, kept in the form
//! help prints it (`## PATH`, then `# what it does` and the command line for
//! each example) — and finding a command's. Must not: print or render help
//! (`commands::help` does).

/// The examples, as written.
const EXAMPLES: &str = include_str!("help_examples.txt");

/// One example: what it does, and the command line.
pub type Example = (&'static str, &'static str);

/// Every command path with its examples, in the file's order. A `# what`
/// line without a command line under it is left out (the tests refuse one).
fn all() -> Vec<(&'static str, Vec<Example>)> {
    let mut paths: Vec<(&'static str, Vec<Example>)> = Vec::new();
    let mut what: Option<&'static str> = None;
    for line in EXAMPLES.lines() {
        if let Some(path) = line.strip_prefix("## ") {
            paths.push((path.trim(), Vec::new()));
            what = None;
        } else if let Some(said) = line.strip_prefix("# ") {
            what = Some(said.trim());
        } else if let (Some((_, examples)), Some(said)) = (paths.last_mut(), what.take()) {
            examples.push((said, line.trim()));
        }
    }
    paths
}

/// The examples of a command path: its own, and for a command with
/// subcommands (`policy`) those of each of them (`policy check`, …).
pub fn examples_for(path: &str) -> Vec<Example> {
    let below = format!("{path} ");
    all()
        .into_iter()
        .filter(|(name, _)| *name == path || name.starts_with(&below))
        .flat_map(|(_, examples)| examples)
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_path_is_a_command_and_every_example_has_its_command_line() {
        let paths = all();
        assert!(paths.len() >= 30, "{} paths read", paths.len());
        for (path, examples) in &paths {
            let mut command = crate::cli::Cli::command();
            let mut current = &mut command;
            for name in path.split(' ') {
                current = current.find_subcommand_mut(name).unwrap_or_else(|| panic!("`{path}` is not a command"));
            }
            assert!(!examples.is_empty(), "`{path}` has no examples");
            for (what, how) in examples {
                assert!(!what.is_empty() && how.contains("sparkplane "), "`{path}`: {what:?} / {how:?}");
            }
        }
        // A description never lacks its command line: as many `# ` lines after the first `##` as examples.
        let body = &EXAMPLES[EXAMPLES.find("\n## ").expect("a path")..];
        let described = body.lines().filter(|l| l.starts_with("# ")).count();
        assert_eq!(described, paths.iter().map(|(_, e)| e.len()).sum::<usize>());
    }

    #[test]
    fn a_group_has_its_subcommands_examples_and_a_command_only_its_own() {
        let policy = examples_for("policy");
        assert!(policy.iter().any(|(_, how)| how.starts_with("sparkplane policy check")), "{policy:?}");
        assert!(policy.iter().any(|(_, how)| how.starts_with("sparkplane policy test")), "{policy:?}");
        let test = examples_for("policy test");
        assert_eq!(test, [("Run the Rego policy tests, as in CI", "sparkplane policy test policies")]);
        assert!(examples_for("no-such-command").is_empty());
    }
}
