//! `sparkplane policy test` and `policy export gatekeeper`: the Rego
//! policies of a platform as `opa test` runs their tests, and as
//! Gatekeeper ConstraintTemplates and Constraints.
//!
//! Owns: those commands' output and exit codes. Must not: read the policy
//! inputs itself (`policy_sources`, `sparkplane_policy::inputs`), run
//! or translate Rego (`sparkplane_policy::{rego, gatekeeper}`).

use std::path::PathBuf;

use sparkplane_documents::yaml::to_yaml_stream;
use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_policy::rego::TestOutcome;
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
        return Err(Failure::Invalid(
            Diagnostic::error("no-tests", "", format!("no `test_*` rules in {}", shown.join(", ")))
                .with_help("tests are rules named test_… (usually in *_test.rego files), e.g. `test_denies_latest if { count(deny) == 1 with input as {…} }`")
                .into(),
        ));
    }
    let failed: Vec<_> = results.iter().filter(|r| r.outcome != TestOutcome::Pass).collect();
    let rows: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let (outcome, error) = match &r.outcome {
                TestOutcome::Pass => ("pass", None),
                TestOutcome::Fail => ("fail", None),
                TestOutcome::Error(e) => ("error", Some(e.clone())),
            };
            serde_json::json!({"file": r.file, "test": format!("data.{}.{}", r.package, r.name), "outcome": outcome, "error": error})
        })
        .collect();
    printer.result(&rows, || {
        let mut out = String::new();
        for r in &results {
            let label = match &r.outcome {
                TestOutcome::Pass => "PASS".to_owned(),
                TestOutcome::Fail => "FAIL".to_owned(),
                TestOutcome::Error(e) => format!("ERROR ({e})"),
            };
            out.push_str(&format!("{}: data.{}.{}: {label}\n", r.file, r.package, r.name));
        }
        out.push_str(&format!(
            "{} passed, {} failed ({} tests)\n",
            results.len() - failed.len(),
            failed.len(),
            results.len()
        ));
        out
    });
    if failed.is_empty() {
        return Ok(());
    }
    let diagnostics = failed
        .iter()
        .map(|r| {
            Diagnostic::error("rego-test", "", format!("{}: data.{}.{} failed", r.file, r.package, r.name))
                .with_help("the rule was false or undefined; see the test's inputs")
        })
        .collect();
    Err(Failure::Failed(Diagnostics(diagnostics)))
}

/// Runs `policy export gatekeeper`: the Rego policies (the environment's and
/// `--policy-dir`'s) as ConstraintTemplates and Constraints, validated and
/// compiled before they are printed.
pub fn export_gatekeeper(env: Option<&str>, settings: &PolicySettings, printer: &Printer) -> CommandResult {
    let config = super::policy::environment_policy(settings.platform_dir.as_deref(), env)?;
    let dirs = inputs::rego_dirs(&config, super::policy::rego_dirs(settings));
    let Some(rego) = inputs::load_rego(&read_rego_dirs(&dirs)?)? else {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(Failure::Invalid(
            Diagnostic::error(
                "no-policies",
                "",
                format!(
                    "no Rego policies to export{}",
                    if shown.is_empty() { String::new() } else { format!(" in {}", shown.join(", ")) }
                ),
            )
            .with_help("pass --policy-dir DIR (e.g. policies/), or --env ENV whose environment lists regoDirs")
            .into(),
        ));
    };
    let problems = policy::check_config(&config, Some(&rego), &format!("environment `{}`", env.unwrap_or("(none)")));
    if problems.has_errors() {
        return Err(Failure::Invalid(problems));
    }
    let objects = gatekeeper::export(&rego, &config, env).map_err(Failure::Invalid)?;
    match printer.format {
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            printer.raw(&pretty(&list));
        }
        _ => printer.raw(&to_yaml_stream(objects.iter())),
    }
    Ok(())
}
