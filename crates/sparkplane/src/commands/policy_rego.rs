//! `sparkplane policy test` and `policy export gatekeeper`: the Rego
//! policies of a platform as `opa test` runs their tests, and as
//! Gatekeeper ConstraintTemplates and Constraints.
//!
//! Owns: those commands' output and exit codes. Must not: read the policy
//! inputs itself (`policy_sources`, `sparkplane_policy::inputs`), run
//! or translate Rego (`sparkplane_policy::{rego, gatekeeper}`).

use std::path::PathBuf;

use sparkplane_documents::yaml::to_yaml_stream;
use sparkplane_policy::{self as policy, gatekeeper, inputs};

use super::policy::PolicySettings;
use super::policy_sources::read_rego_dirs;
use crate::exit::{CommandResult, Failure};
use crate::printer::{OutputFormat, Printer};

fn pretty(value: &serde_json::Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(value).unwrap_or_default())
}

/// Runs `policy test DIR…`: every `test_*` rule in the directories' Rego
/// files, as `opa test` runs them. Exit 1 when a test fails, 2 when a file
/// does not parse or compile or there are no tests.
pub fn test(dirs: &[PathBuf], printer: &Printer) -> CommandResult {
    let files = read_rego_dirs(dirs)?;
    let results = policy::rego::run_tests(&files).map_err(Failure::Invalid)?;
    if results.is_empty() {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Failure::invalid(
            "no-tests",
            "",
            format!("no `test_*` rules in {}", shown.join(", ")),
            "tests are rules named test_… (usually in *_test.rego files), e.g. `test_denies_latest if { count(deny) == 1 with input as {…} }`",
        ));
    }
    let rows = policy::report::test_rows(&results);
    printer.result(&rows, || policy::report::test_text(&results));
    let failed = policy::report::test_failures(&results);
    if failed.is_empty() { Ok(()) } else { Err(Failure::Failed(failed)) }
}

/// Runs `policy export gatekeeper`: the Rego policies (the environment's and
/// `--policy-dir`'s) as ConstraintTemplates and Constraints, validated and
/// compiled before they are printed.
pub fn export_gatekeeper(env: Option<&str>, settings: &PolicySettings, printer: &Printer) -> CommandResult {
    let config = super::policy::environment_policy(settings.platform_dir.as_deref(), env)?;
    let dirs = inputs::rego_dirs(&config, super::policy::rego_dirs(settings));
    let rego = inputs::load_rego(&read_rego_dirs(&dirs)?)?;
    let objects = gatekeeper::export_checked(rego.as_ref(), &dirs, &config, env)?;
    match printer.format {
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            printer.raw(&pretty(&list));
        }
        _ => printer.raw(&to_yaml_stream(objects.iter())),
    }
    Ok(())
}
