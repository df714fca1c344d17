//! `sparkplane migrate kubeflow`: which Kubeflow resources of the cluster
//! move to sparkplane's operator, what each conversion loses, and with
//! `--apply` or `--undo` the move or its undo.
//!
//! Owns: turning flags into a request and the report into output. Must not:
//! decide what moves (`sparkplane_kubeflow::migrate` does) or make requests
//! (`migrate_host` does, for the workflow).

use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;
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
    let entries = migrate(&mut host, &request).map_err(|e| kube_failure(&e))?;
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
    }
    if entries.is_empty() {
        out.push_str("no SparkApplication or ScheduledSparkApplication found\n");
    }
    out
}
