//! `sparkplane migrate kubeflow`: which Kubeflow resources of the cluster
//! move to sparkplane's operator, what each conversion loses, and with
//! `--apply` or `--undo` the move or its undo.
//!
//! Owns: turning flags into a request and the report into output. Must not:
//! decide what moves (`sparkplane_kubeflow::migrate` does) or make requests
//! (`migrate_host` does, for the workflow).

use sparkplane_core::names::{is_dns1123_label, to_dns1123_label};
use sparkplane_documents::Diagnostic;
use sparkplane_kube::{KubeError, Target as ClusterTarget};
use sparkplane_kubeflow::migrate::{Entry, Mode, Outcome, Request, any_refused, migrate};

use super::kube_view::{cluster_settings, kube_failure};
use super::migrate_host::Host;
use crate::cli::{Cli, MigrateKubeflowArgs};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::load_catalog;

/// Runs `migrate kubeflow`.
pub fn kubeflow(args: &MigrateKubeflowArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let mode = match (args.apply, args.undo) {
        (true, _) => Mode::Apply,
        (_, true) => Mode::Undo,
        _ => Mode::List,
    };
    if let Some(namespace) = args.namespace.as_deref().filter(|n| !is_dns1123_label(n)) {
        return Err(Failure::Invalid(
            Diagnostic::error("invalid-namespace", "--namespace", format!("`{namespace}` is not a namespace name"))
                .with_help(format!(
                    "a namespace is lower-case letters, digits and `-`, at most 63 characters, e.g. `{}`",
                    to_dns1123_label(namespace)
                ))
                .into(),
        ));
    }
    let request = Request {
        namespace: args.namespace.clone(),
        selector: args.selector.clone(),
        mode,
        team: args.team.clone(),
        cost_center: args.cost_center.clone(),
    };
    let catalog = load_catalog(cli.global.platform_dir.as_deref())?;
    let cluster =
        cluster_settings(&ClusterTarget { context: args.context.clone(), namespace: args.namespace.clone() })?;
    let mut host = Host::new(&cluster, catalog).map_err(|e| kube_failure(&e))?;
    let entries = migrate(&mut host, &request).map_err(|e| migrate_failure(&e, args.selector.as_deref()))?;
    printer.result(&serde_json::json!({ "items": entries }), || table(&entries));
    let moved = entries.iter().filter(|e| matches!(e.outcome, Outcome::Moved | Outcome::Returned)).count();
    match mode {
        Mode::List => {
            printer.status(&format!("{} listed; nothing changed (--apply moves, --undo hands back)", entries.len()))
        }
        Mode::Apply => printer.status(&format!("{moved} moved to sparkplane's operator")),
        Mode::Undo => printer.status(&format!("{moved} handed back to the Kubeflow operator")),
    }
    if mode == Mode::Apply && any_refused(&entries) {
        return Err(Failure::Failed(
            Diagnostic::error("migrate-refused", "", "some resources could not move; each one's line says why")
                .with_help(
                    "fix what each line names (for a missing owner, --team and --cost-center), then run --apply again",
                )
                .into(),
        ));
    }
    Ok(())
}

/// A request's failure as the command ends: a list the API server refused
/// while a selector was given is the selector's fault (the server parses
/// it), said as such; anything else as every cluster command says it.
fn migrate_failure(error: &KubeError, selector: Option<&str>) -> Failure {
    match (error, selector) {
        (KubeError::Invalid { operation, message, .. }, Some(selector)) if operation.verb == "list" => {
            Failure::Invalid(
                Diagnostic::error(
                    "invalid-selector",
                    "--selector",
                    format!("the Kubernetes API could not parse the label selector `{selector}`: {message}"),
                )
                .with_help(
                    "write requirements joined by commas: key=value, key!=value, key in (a,b), key notin (a,b), \
                     key (it exists) or !key (it does not)",
                )
                .into(),
            )
        }
        _ => kube_failure(error),
    }
}

/// One line per resource, each field the conversion loses indented below it.
fn table(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let (what, why) = match &e.outcome {
            Outcome::WouldMove => ("would move to sparkplane", String::new()),
            Outcome::Moved => ("moved to sparkplane", String::new()),
            Outcome::WouldReturn => ("would go back to Kubeflow", String::new()),
            Outcome::Returned => ("went back to Kubeflow", String::new()),
            Outcome::Stays(why) => ("stays", why.clone()),
            Outcome::CannotMove(why) => ("cannot move", why.clone()),
        };
        let state = if e.state.is_empty() { "new" } else { e.state.as_str() };
        out.push_str(&format!("{} {}/{} ({state}): {what}", e.kind, e.namespace, e.name));
        if !why.is_empty() {
            out.push_str(&format!(": {why}"));
        }
        out.push('\n');
        for lost in &e.not_carried {
            out.push_str(&format!("    not carried: {lost}\n"));
        }
        for note in &e.notes {
            out.push_str(&format!("    note: {note}\n"));
        }
    }
    if entries.is_empty() {
        out.push_str("no SparkApplication, ScheduledSparkApplication or SparkConnect found\n");
    }
    out
}
